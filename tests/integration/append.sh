#!/usr/bin/env bash
# Re-running observe on more input appends; --from/--to select each part again.
. "$(dirname "$0")/lib.sh"
"$M" synth -q --out "$T/a.pcap" --darknet "$DN" --packets 120000 --seed 21 --duration 1800 \
    --start 2016-09-20T00:00:00Z
"$M" synth -q --out "$T/b.pcap" --darknet "$DN" --packets 120000 --seed 22 --duration 1800 \
    --start 2016-09-20T01:00:00Z
"$M" observe -q --no-geo --darknet "$DN" --read "$T/a.pcap" --db "$T/m.db"
"$M" observe -q --no-geo --darknet "$DN" --read "$T/b.pcap" --db "$T/m.db"
"$M" report --db "$T/m.db" --format json --top 0 --to 2016-09-20T00:30:00Z >"$T/ra.json"
"$M" report --db "$T/m.db" --format json --top 0 --from 2016-09-20T01:00:00Z >"$T/rb.json"
check_truth "$T/ra.json" "$T/a.pcap.truth.json"
check_truth "$T/rb.json" "$T/b.pcap.truth.json"
"$M" report --db "$T/m.db" --format json >"$T/all.json"
python3 - "$T/all.json" "$T/a.pcap.truth.json" "$T/b.pcap.truth.json" <<'PY'
import json, sys
r, a, b = (json.load(open(p)) for p in sys.argv[1:])
assert r["totals"]["packets"] == a["totals"]["packets"] + b["totals"]["packets"]
assert r["window"]["from"] == "2016-09-20T00:00:00Z" and r["window"]["to"] == "2016-09-20T01:30:00Z"
assert r["window"]["intervals"] == 60
for k, v in a["classes"].items():
    assert r["classes"][k] == v + b["classes"][k], k
print("append: totals and classes add up over both runs")
PY
echo "append: ok"
