#!/usr/bin/env bash
# survey_demo — the vulnerable-device survey end to end, for `make demo`: a testbed of emulated IoT
# devices in network namespaces (198.18.0.0/20, nothing outside them is touched), then two survey
# rounds — scan, probe with Mirai's 62 default pairs, notify per ISP — with a third of the devices
# that accepted a default password "fixed" between them, all into the demo's database, so that
# report and the dashboard show the survey beside the darknet and the honeypot.  The testbed is
# taken down at the end, also on failure or Ctrl-C.
#   tools/survey_demo.sh MAMORI DEMO_DIR
set -euo pipefail
M=$(realpath "$1")
D=$2
DB=$D/mamori.db
TB=$D/testbed
NAME=mdemo
RANGE=198.18.0.0/20
PORTS=22,23,80,2323
SAFE=(--allow-testbed --audit "$D/audit.jsonl" --optout "$D/optout.txt" --contact "mamori demo <survey@example.net>")
mkdir -p "$D"
: >"$D/optout.txt"
cleanup() { "$M" testbed down --name "$NAME" --dir "$TB" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$M" testbed down --name "$NAME" --dir "$TB" >/dev/null 2>&1 || true
"$M" testbed up --name "$NAME" --devices 80 --seed 2016 --range "$RANGE" --dir "$TB"
CLIENT=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["client_ns"])' "$TB/truth.json")

for round in r1 r2; do
    echo "survey round $round: scan, probe, notify"
    ip netns exec "$CLIENT" "$M" scan -q "${SAFE[@]}" --ports "$PORTS" --rate 20000 --cooldown 1 \
        --round "$round" --db "$DB" --output "$D/scan-$round.csv" "$RANGE"
    ip netns exec "$CLIENT" "$M" probe -q "${SAFE[@]}" --input "$D/scan-$round.csv" --round "$round" \
        --max-attempts 62 --db "$DB" --output "$D/probe-$round.jsonl"
    "$M" notify --db "$DB" --owners "$TB/owners.csv" --round "$round" --since 2016-01-01 \
        --until 2017-01-01 --out "$D/notify/$round" >"$D/notify-$round.txt"
    head -n 8 "$D/notify-$round.txt"
    echo "  ... (the whole list: $D/notify-$round.txt; the packages: $D/notify/$round/)"
    if [ "$round" = r1 ]; then
        # the owners act on the first notices: a third of the vulnerable devices get new passwords
        mapfile -t fixed < <(python3 -c '
import json, sys
hits = [json.loads(l) for l in open(sys.argv[1])]
hits = sorted({(h["ip"], h["port"]) for h in hits if h.get("login_accepted")})
for ip, port in hits[::3]:
    print(f"{ip}:{port}")' "$D/probe-$round.jsonl")
        [ ${#fixed[@]} -eq 0 ] || "$M" testbed fix --name "$NAME" --dir "$TB" "${fixed[@]}"
    fi
done
