#!/usr/bin/env bash
# observe --threads 2 (two aggregators split by source, each reading the whole
# file) stores exactly what --threads 1 stores: the same report over the whole
# run and over single intervals, the same summary line, the same per-source
# event rows; also with geo/ASN enrichment, an event window shorter than the
# run, two files in a row and a damaged file.  And one thread still matches
# synth's ground truth.
. "$(dirname "$0")/lib.sh"
"$M" synth -q --out "$T/t.pcap" --darknet "$DN" --packets 120000 --seed 21 --duration 1800
"$M" synth -q --out "$T/u.pcap" --darknet "$DN" --packets 30000 --seed 22 --duration 600 \
    --start 2016-09-20T00:40:00Z
head -c 1500000 "$T/u.pcap" >"$T/cut.pcap" # ends inside a record

GEO=--no-geo
[ -f "$ROOT/node_modules/@ip-location-db/asn/asn-ipv4.csv" ] && GEO="--geo-dir $ROOT/node_modules/@ip-location-db"

run() { # name threads observe-args...
    local name=$1 n=$2
    shift 2
    set +e
    MAMORI_STATS=1 "$M" observe -q --threads "$n" --darknet "$DN" --db "$T/$name-$n.db" "$@" \
        2>"$T/$name-$n.err"
    echo "exit $?" >>"$T/$name-$n.err"
    set -e
    grep -q "threads=$n " "$T/$name-$n.err" || fail "$name: --threads $n not used: $(cat "$T/$name-$n.err")"
    "$M" report --db "$T/$name-$n.db" --format json --top 0 >"$T/$name-$n.json"
    for w in 2016-09-20T00:00:00Z 2016-09-20T00:17:00Z 2016-09-20T00:29:00Z 2016-09-20T00:44:00Z; do
        "$M" report --db "$T/$name-$n.db" --format json --top 0 --from "$w" --to "$(($(date -d "$w" +%s) + 60))"
    done >"$T/$name-$n.iv.json"
    # what differs by design: the run's speed; the rest of the lines must match
    sed -e 's/[0-9.]* Mframes\/s/R Mframes\/s/' -e 's/shard_cpu_s=[^ ]*//' \
        -e 's/writer_cpu_s=[^ ]*//' -e 's/last_packet_to_exit_s=[^ ]*//' -e 's/threads=[0-9]*//' \
        -e "s/-$n\.db/.db/" "$T/$name-$n.err" >"$T/$name-$n.txt"
}

same() { # name observe-args...
    local name=$1
    shift
    run "$name" 1 "$@"
    run "$name" 2 "$@"
    cmp -s "$T/$name-1.json" "$T/$name-2.json" || {
        diff <(python3 -m json.tool "$T/$name-1.json") <(python3 -m json.tool "$T/$name-2.json") >"$T/diff" || true
        head -20 "$T/diff" >&2
        fail "$name: report differs between one and two threads"
    }
    cmp -s "$T/$name-1.iv.json" "$T/$name-2.iv.json" || fail "$name: per-interval reports differ"
    cmp -s "$T/$name-1.txt" "$T/$name-2.txt" || {
        diff "$T/$name-1.txt" "$T/$name-2.txt" >&2 || true
        fail "$name: observe's summary differs"
    }
    python3 - "$T/$name-1.json" <<'PY' || fail "$name: the comparison would prove nothing"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["totals"]["packets"] > 0 and r["top_sources"] and r["ports"], r["totals"]
PY
}

same plain --no-geo --read "$T/t.pcap"
check_truth "$T/plain-1.json" "$T/t.pcap.truth.json"
check_truth "$T/plain-2.json" "$T/t.pcap.truth.json"
grep -q "event_rows=[1-9]" "$T/plain-1.txt" || fail "no per-source events counted"
same geo $GEO --read "$T/t.pcap"
same window --no-geo --event-window 300 --interval 30 --read "$T/t.pcap"
same two --no-geo --read "$T/u.pcap" --read "$T/t.pcap"
same cut --no-geo --read "$T/t.pcap" --read "$T/cut.pcap"
grep -q "damaged capture" "$T/cut-2.txt" || fail "the damaged file was not reported"
grep -q "exit 1" "$T/cut-2.txt" || fail "a damaged file must fail the run"

# --max-sources splits per-interval detail by shard, so by default it keeps one thread
MAMORI_STATS=1 "$M" observe -q --no-geo --max-sources 50 --darknet "$DN" --read "$T/u.pcap" \
    --db "$T/m.db" 2>"$T/m.err"
grep -q "threads=1 " "$T/m.err" || fail "--max-sources should keep one thread: $(cat "$T/m.err")"
echo "threads: ok"
