#!/usr/bin/env python3
"""mamori scan's checkpoint, --resume and shards on namespaces it creates (needs root).

A run stopped by --max-runtime part-way leaves a checkpoint that says it is not complete; --resume
from it finishes the scan: together the two runs find exactly the listening pairs of the truth, and
the capture shows every (address, port) probed exactly once across them (none twice, none skipped).
Two shards of one seed partition the probes (a capture again), and a resume with other targets is
refused. --seed reproduces the probe order."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from scanlib import Fixture, check, hosts, results  # noqa: E402

NET = "198.18.4.0/23"
PORTS = [23, 80, 2323]
LISTEN = [("198.18.4.3", 23), ("198.18.4.200", 80), ("198.18.5.17", 2323), ("198.18.5.254", 23),
          ("198.18.5.100", 80)]
truth = set(LISTEN)
allowed = {(a, p) for a in hosts("198.18.4.0", 0, 255) + hosts("198.18.5.0", 0, 255) for p in PORTS}
ports = ",".join(map(str, PORTS))

fx = Fixture("scs2", LISTEN)
t = fx.tmp
ck = os.path.join(t, "scan.ckpt")
out = os.path.join(t, "out.json")
common = ["-p", ports, "--allow-testbed", NET, "-O", "json", "-o", out, "--cooldown", "0.5", "-q"]

cap = fx.capture("resume.pcap")
r = fx.scan(*common, "--rate", "1000", "--max-runtime", "0.6", "--checkpoint", ck)
text = open(ck).read()
check("complete 0" in text, "the interrupted run's checkpoint says complete:\n" + text)
lane = int(text.split("lane 0 ")[1].split()[0])
check(300 < lane < 1000, f"the interrupted run walked {lane} positions at 1000 pps for 0.6 s")
r = fx.scan(*common, "--rate", "5000", "--resume", ck)
check("complete 1" in open(ck).read(), "the resumed run did not complete")
syns = cap.stop()
probed = [(d, p) for _, d, p, _, _, _ in syns]
dups = len(probed) - len(set(probed))
check(dups == 0, f"{dups} probes sent twice across the resume")
check(set(probed) == allowed, f"{len(allowed - set(probed))} pairs never probed")
hits = {(x["saddr"], x["sport"]) for x in results(out)}
check(hits == truth, f"after resume {sorted(hits)} != {sorted(truth)}")
r = fx.scan(*common, "--resume", ck)
check("complete" in r.stderr, "resuming a complete scan: " + r.stderr)

other = ["-p", ports, "--allow-testbed", "198.18.4.0/24", "-o", os.path.join(t, "x"), "-q"]
r = fx.scan(*other, "--resume", ck, check=False)
check(r.returncode == 2 and "other targets" in r.stderr, f"foreign checkpoint: {r.stderr}")

# shards: same seed, two runs (other thread counts), a partition of the probes and of the hits
hits, parts = set(), []
for i in range(2):
    o = os.path.join(t, f"shard{i}.json")
    cap = fx.capture(f"shard{i}.pcap")
    fx.scan("-p", ports, "--allow-testbed", NET, "-O", "json", "-o", o, "--cooldown", "0.5", "-q",
            "--seed", "42", "--shards", "2", "--shard", str(i), "--threads", str(1 + i))
    parts.append([(d, p) for _, d, p, _, _, _ in cap.stop()])
    hits |= {(x["saddr"], x["sport"]) for x in results(o)}
a, b = set(parts[0]), set(parts[1])
check(len(parts[0]) == len(a) and len(parts[1]) == len(b) and not a & b and a | b == allowed,
      f"shards: {len(a)} + {len(b)} probes, {len(a & b)} shared, {len(allowed - a - b)} missing")
check(abs(len(a) - len(b)) < len(allowed) // 10, f"shards unbalanced: {len(a)} vs {len(b)}")
check(hits == truth, f"shards' hits {sorted(hits)}")

# --seed reproduces the order
orders = []
for _ in range(2):
    cap = fx.capture("seed.pcap")
    fx.scan("-p", ports, "--allow-testbed", NET, "-o", os.path.join(t, "s.csv"), "--cooldown", "0",
            "-q", "--seed", "99")
    orders.append([(d, p) for _, d, p, _, _, _ in cap.stop()])
check(orders[0] == orders[1] and len(orders[0]) == len(allowed), "--seed does not reproduce the order")
check(orders[0] != sorted(orders[0]), "the order is not permuted")
print("ok: resume probes each pair once and finds the truth, shards partition, seeds reproduce")
