#!/usr/bin/env bash
# Steady traffic (no surge in the plan) raises no surge alert, over three seeds.
. "$(dirname "$0")/lib.sh"
for seed in 3 4 5; do
    "$M" synth -q --out "$T/s$seed.pcap" --darknet "$DN" --packets 150000 --seed $seed \
        --surge-factor 0
    "$M" observe -q --no-geo --darknet "$DN" --read "$T/s$seed.pcap" --db "$T/s$seed.db"
    "$M" report --db "$T/s$seed.db" --format json --top 0 >"$T/s$seed.json"
    check_truth "$T/s$seed.json" "$T/s$seed.pcap.truth.json"
done
echo "steady: ok"
