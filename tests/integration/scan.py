#!/usr/bin/env python3
"""mamori scan on namespaces it creates (needs root): it finds exactly the listening (address, port)
pairs the fixture was told to open, no more (RSTs, a blackholed host, a blocklisted and an opted-out
listener are not hits); a capture proves no probe reached a blocklisted or opted-out address and
every allowed (address, port) got exactly one; Debian's zmap on the same namespaces finds the same
open set; a run without targets, or inside 198.18.0.0/15 without --allow-testbed, or whose audit
line cannot be written, is refused and sends nothing; the audit line says who scanned what."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from scanlib import Fixture, check, hosts, results  # noqa: E402

PORTS = [22, 23, 80, 8080]
NET = "198.18.1.0/24"
LISTEN = [("198.18.1.10", 23), ("198.18.1.10", 80), ("198.18.1.11", 22), ("198.18.1.200", 8080),
          ("198.18.1.77", 23),                       # blocklisted (198.18.1.64/28)
          ("198.18.1.99", 80),                       # opted out
          ("198.18.1.250", 23)]                      # blackholed: no answer at all
BLOCK, OPTOUT, HOLE = "198.18.1.64/28", "198.18.1.99", "198.18.1.250"
blocked = set(hosts("198.18.1.0", 64, 79)) | {OPTOUT}
truth = {(a, p) for a, p in LISTEN if a not in blocked and a != HOLE}

fx = Fixture("scs1", LISTEN, blackholed=[HOLE])
t = fx.tmp
open(os.path.join(t, "block.txt"), "w").write(f"# test blocklist\n{BLOCK}\n")
os.makedirs(os.path.join(t, "var"))
open(os.path.join(t, "var", "optout.txt"), "w").write(f"{OPTOUT}   # asked by mail\n")
ports = ",".join(map(str, PORTS))

# refusals first, under a capture: none of them may send a packet
cap = fx.capture("refused.pcap")
r = fx.scan("-p", ports, check=False)
check(r.returncode == 2 and "no targets given" in r.stderr, f"no targets: {r.returncode} {r.stderr}")
r = fx.scan("-p", ports, NET, check=False)
check(r.returncode == 2 and "--allow-testbed" in r.stderr, f"testbed flag: {r.returncode} {r.stderr}")
r = fx.scan("-p", ports, "--allow-testbed", "10.0.0.0/24", check=False)
check(r.returncode == 2 and "10.0.0.0/8" in r.stderr, f"special range: {r.stderr}")
open(os.path.join(t, "bad.txt"), "w").write("198.18.1.1\n198.18.1.300\n")
r = fx.scan("-p", ports, "--allow-testbed", "-f", os.path.join(t, "bad.txt"), check=False)
check(r.returncode == 2 and "bad.txt:2: 198.18.1.300" in r.stderr, f"bad file: {r.stderr}")
r = fx.scan("-p", ports, "--allow-testbed", NET, "--audit", "/dev/full", check=False)
check(r.returncode == 1 and "audit" in r.stderr and "refused" in r.stderr, f"audit: {r.stderr}")
check(not os.path.exists(os.path.join(t, "audit.jsonl")), "a refused run wrote an audit line")
check(cap.stop() == [], "a refused run sent probes")

# the scan, JSON lines and every reply, under a capture
cap = fx.capture("scan.pcap")
out = os.path.join(t, "all.json")
fx.scan("-p", ports, "--allow-testbed", NET, "-b", os.path.join(t, "block.txt"), "-O", "json",
        "--output-all", "-o", out, "--cooldown", "1", "--contact", "survey@example.org",
        "--round", "r1", "-q")
syns = cap.stop()
rows = results(out)
hits = {(x["saddr"], x["sport"]) for x in rows if x["success"] and not x["repeat"]}
check(hits == truth, f"hits {sorted(hits)} != truth {sorted(truth)}")
fields = ["saddr", "daddr", "sport", "dport", "seqnum", "acknum", "window", "ttl",
          "classification", "success", "repeat", "timestamp"]
check(all(list(x) == fields for x in rows), f"fields: {list(rows[0])}")
check({x["classification"] for x in rows} == {"synack", "rst"}, "classes")
allowed = {(a, p) for a in hosts("198.18.1.0", 0, 255) if a not in blocked for p in PORTS}
rsts = {(x["saddr"], x["sport"]) for x in rows if x["classification"] == "rst"}
check(rsts == allowed - truth - {(HOLE, p) for p in PORTS}, "an RST from every closed port, none else")
probed = [(d, p) for _, d, p, _, _, _ in syns]
check(not {d for d, _ in probed} & blocked, f"probes reached blocked/opted-out addresses: "
      f"{sorted({d for d, _ in probed} & blocked)}")
check(len(probed) == len(set(probed)) and set(probed) == allowed,
      f"each allowed pair probed once: {len(probed)} probes, {len(set(probed))} distinct, "
      f"{len(allowed)} allowed")
audit = [json.loads(l) for l in open(os.path.join(t, "audit.jsonl"))]
check(len(audit) == 1 and audit[0]["tool"] == "scan" and audit[0]["ports"] == ports and
      audit[0]["contact"] == "survey@example.org" and audit[0]["uid"] == os.getuid() and
      audit[0]["rate"] == 10000 and audit[0]["target_count"] == 256 - 17, f"audit: {audit}")

# the default CSV holds the successes only (zmap's default filter)
out = os.path.join(t, "hits.csv")
fx.scan("-p", ports, "--allow-testbed", NET, "-b", os.path.join(t, "block.txt"), "-o", out,
        "--cooldown", "1", "-q", "--seed", "7")
rows = results(out, "csv")
check({(x["saddr"], int(x["sport"])) for x in rows} == truth and
      all(x["success"] == "1" and x["repeat"] == "0" for x in rows), f"csv: {rows}")

# Debian's zmap on the same namespaces: one run per port, no zmap.conf, an empty blocklist
empty = os.path.join(t, "empty")
open(empty, "w").close()
zhits = set()
for p in PORTS:
    r = fx.ipc("zmap", "-C", "/dev/null", "-b", empty, "-p", str(p), "-i", "tb0", "-G", fx.gw_mac,
               "-S", "198.19.255.1", "-r", "10000", "-c", "1", "-O", "csv", "-f",
               "saddr,sport,success,repeat", "-q", NET)
    for line in r.stdout.splitlines()[1:]:
        a, sp, ok, rep = line.split(",")
        if ok == "1" and rep == "0":
            zhits.add((a, int(sp)))
zmap_truth = {(a, p) for a, p in LISTEN if a != HOLE}  # zmap was given no blocklist
check(zhits == zmap_truth, f"zmap {sorted(zhits)} != {sorted(zmap_truth)}")
check(zhits - {(a, p) for a, p in zhits if a in blocked} == hits, "zmap and mamori differ")
print("ok: scan finds the truth, zmap agrees, blocklist and opt-out never probed, refusals send nothing")
