#!/usr/bin/env bash
# A capture truncated while observe reads it through the mapping (logrotate's
# copytruncate): exit 1 with one line naming the file, "shrank" and the new
# size, no crash, and nothing accepted before the cut is lost: the database
# equals the one observe makes from a copy cut at that size beforehand (a file
# damaged at its end, which keeps every complete record).  The cut happens
# mid-run through pcapfile's test hook MAMORI_TEST_SHRINK_AT (no sleeps), with
# one reader: two shards run unsynchronised, so which records one has passed
# when the other cuts is not fixed (tests/unit/test_pcapfile.c's shrunk_file
# cuts under two readers in two threads).
. "$(dirname "$0")/lib.sh"
PT="python3 $ROOT/tests/integration/pcaptool.py"
"$M" synth -q --out "$T/s.pcap" --darknet "$DN" --packets 200000 --seed 9 --duration 1800
size=$(stat -c %s "$T/s.pcap")
at=$((size / 2 + 5)) # inside a record (synth is deterministic; the cut copy says so below)
[ "$size" -ge $((8 << 20)) ] || fail "capture of $size bytes too small to be mapped"
$PT cut "$T/s.pcap" "$T/cut.pcap" $at
want=$($PT count "$T/cut.pcap")
O=("$M" observe -q --no-geo --threads 1 --darknet "$DN")
set +e
"${O[@]}" --read "$T/cut.pcap" --db "$T/cut.db" 2>"$T/cut.err"
MAMORI_TEST_SHRINK_AT=$at "${O[@]}" --read "$T/s.pcap" --db "$T/s.db" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "exit $rc (want 1): $(cat "$T/err")"
[ "$(stat -c %s "$T/s.pcap")" = "$at" ] || fail "the test hook did not cut the file"
grep -q "Sanitizer\|runtime error" "$T/err" && fail "sanitizer report: $(cat "$T/err")"
# one line of error, then the run's summary line (as for any damaged capture)
[ "$(grep -vc '^mamori: observed ' "$T/err")" -eq 1 ] || fail "want one error line: $(cat "$T/err")"
line="^mamori: $T/s.pcap: file shrank to $at bytes while being read (at byte [0-9]*)$"
head -1 "$T/err" | grep -q "$line" || fail "message: $(cat "$T/err")"
m=$(head -1 "$T/err" | sed 's/.*(at byte \([0-9]*\))$/\1/')
grep -q "truncated record at byte $m\$" "$T/cut.err" ||
    fail "at byte $m, the copy cut beforehand: $(cat "$T/cut.err")"
for db in s cut; do
    "$M" report --db "$T/$db.db" --format json --top 0 >"$T/$db.json"
done
got=$(python3 -c '
import json, sys; t = json.load(open(sys.argv[1]))["totals"]
print(t["packets"] + t["malformed"] + t["non_ip"] + t["outside"])' "$T/s.json")
[ "$got" = "$want" ] || fail "$got frames stored, $want records lie wholly before the cut"
cmp -s "$T/s.json" "$T/cut.json" ||
    fail "report differs from the copy cut beforehand: $(diff "$T/s.json" "$T/cut.json" | head -5)"
echo ok
