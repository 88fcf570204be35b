#!/usr/bin/env bash
# Bad input: one line naming the file or argument, exit 1 or 2, never a crash,
# and a damaged capture keeps every complete record before the damage.
. "$(dirname "$0")/lib.sh"
PT="python3 $ROOT/tests/integration/pcaptool.py"

expect() { # expected-exit needle command...
    local want=$1 needle=$2
    shift 2
    set +e
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "exit $rc (want $want): $* : $(cat "$T/err")"
    grep -qF -- "$needle" "$T/err" || fail "stderr lacks '$needle': $* : $(cat "$T/err")"
    grep -q "Sanitizer\|runtime error" "$T/err" && fail "sanitizer report: $*"
    head -1 "$T/err" | grep -q '^mamori: ' || fail "stderr does not start with 'mamori: ': $*"
    return 0
}

one_line() {
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "want one line on stderr, got: $(cat "$T/err")"
}

"$M" synth -q --out "$T/ok.pcap" --darknet "$DN" --packets 20000 --seed 5 --duration 600
O=("$M" observe -q --no-geo --darknet "$DN")

expect 2 "--darknet" "$M" observe --read "$T/ok.pcap" --db "$T/x.db"; one_line
expect 2 "198.18.0.0/33" "$M" observe --darknet 198.18.0.0/33 --read "$T/ok.pcap"; one_line
expect 2 "10.0.0.1/8" "$M" observe --darknet 198.18.0.0/16,10.0.0.1/8 --read "$T/ok.pcap"; one_line
expect 2 "--interval" "${O[@]}" --interval 0 --read "$T/ok.pcap"; one_line
expect 2 "--read FILE or --interface" "${O[@]}"; one_line
expect 1 "$T/missing.pcap" "${O[@]}" --read "$T/missing.pcap" --db "$T/x.db"; one_line
: >"$T/empty.pcap"
expect 1 "$T/empty.pcap" "${O[@]}" --read "$T/empty.pcap" --db "$T/x.db"
echo "this is not a capture at all, just text" >"$T/text.pcap"
expect 1 "$T/text.pcap" "${O[@]}" --read "$T/text.pcap" --db "$T/x.db"
$PT linktype "$T/ok.pcap" "$T/usr.pcap" 147
expect 1 "unsupported link type 147" "${O[@]}" --read "$T/usr.pcap" --db "$T/x.db"
expect 1 "nosuchif0" "${O[@]}" --interface nosuchif0 --db "$T/x.db"
mkdir -p "$T/dir.db"
expect 1 "$T/dir.db" "${O[@]}" --read "$T/ok.pcap" --db "$T/dir.db"; one_line
expect 1 "/proc/mamori/x.db" "${O[@]}" --read "$T/ok.pcap" --db /proc/mamori/x.db; one_line
expect 1 "$T/nodb.db" "$M" report --db "$T/nodb.db"; one_line
echo "not a database, just words" >"$T/garbage.db"
expect 1 "$T/garbage.db" "${O[@]}" --read "$T/ok.pcap" --db "$T/garbage.db"; one_line
expect 1 "$T/garbage.db" "$M" report --db "$T/garbage.db"; one_line
[ "$(cat "$T/garbage.db")" = "not a database, just words" ] || fail "a non-database file was modified"
expect 2 "--format" "$M" report --db "$T/x.db" --format xml; one_line
expect 2 "--from" "$M" report --db "$T/x.db" --from yesterday; one_line
expect 2 "--from must be before --to" "$M" report --db "$T/x.db" --from 2016-09-21 --to 2016-09-20
one_line
expect 2 "--from must be before --to" "$M" report --db "$T/x.db" --from 1474329600 --to 1474329600
one_line
expect 2 "--packets" "$M" synth --out "$T/s.pcap" --darknet "$DN" --packets many; one_line
expect 2 "frobnicate" "$M" frobnicate; one_line

# A capture cut in the middle of a record: every complete record is kept.
size=$(stat -c %s "$T/ok.pcap")
cut=$((size * 2 / 3 + 7))
$PT cut "$T/ok.pcap" "$T/cut.pcap" $cut
want=$($PT count "$T/cut.pcap")
expect 1 "$T/cut.pcap" "${O[@]}" --read "$T/cut.pcap" --db "$T/cut.db"
grep -q "damaged capture after $want complete records" "$T/err" || fail "cut: $(cat "$T/err")"
got=$("$M" report --db "$T/cut.db" --format json | python3 -c '
import json, sys; t = json.load(sys.stdin)["totals"]
print(t["packets"] + t["malformed"] + t["non_ip"] + t["outside"])')
[ "$got" = "$want" ] || fail "cut capture: $got frames stored, $want complete records"

# A record that claims a 2 GiB length: the records before it are kept.
$PT absurd "$T/ok.pcap" "$T/absurd.pcap" 5000
expect 1 "$T/absurd.pcap" "${O[@]}" --read "$T/absurd.pcap" --db "$T/abs.db"
got=$("$M" report --db "$T/abs.db" --format json | python3 -c '
import json, sys; t = json.load(sys.stdin)["totals"]
print(t["packets"] + t["malformed"] + t["non_ip"] + t["outside"])')
[ "$got" = 5000 ] || fail "absurd length: $got frames stored, want 5000"

# A bad file among good ones: the good ones still count, the exit says something failed.
expect 1 "$T/text.pcap" "${O[@]}" --read "$T/ok.pcap" --read "$T/text.pcap" --db "$T/mix.db"
got=$("$M" report --db "$T/mix.db" --format json | python3 -c '
import json, sys; print(json.load(sys.stdin)["totals"]["packets"])')
[ "$got" -gt 0 ] || fail "good file before a bad one was lost"
echo "bad_input: ok"
