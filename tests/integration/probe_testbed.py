#!/usr/bin/env python3
"""probe end to end on a testbed: `mamori testbed up --name prbN` (generated devices: telnet with
Mirai's defaults, with other published defaults, with strong passwords, HTTP admin pages with
default and changed pairs, SSH when the testbed serves it, closed hosts, filtered addresses),
then `mamori probe` in the client namespace over every listening service plus closed and filtered
addresses, with Mirai's 62 pairs (all of them: --max-attempts 62).  From the truth file alone the
test knows which services accept a pair of that dictionary: probe must report exactly those as
accepted and no other, each with class mirai-default, closed ports as connection-refused and
filtered ones as connection-timeout.  The testbed is taken down also on failure."""
import json
import os
import subprocess
import sys
import tempfile
import shutil
import time

M = os.environ.get("MAMORI", "build/mamori")
ROOT = os.environ.get("MAMORI_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
NAME = f"prb{os.getpid() % 100000}"
ENV = dict(os.environ, MAMORI_DATA=os.path.join(ROOT, "data"))


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def mirai_pairs():
    pairs = []
    for line in open(os.path.join(ROOT, "data/credentials/mirai.tsv")):
        if line.startswith("#") or not line.strip("\n"):
            continue
        f = line.rstrip("\n").split("\t")
        pairs.append((f[0], f[1]))
    return pairs


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        sys.exit(77)
    r = subprocess.run([M, "testbed", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        print("SKIP: this build has no mamori testbed")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="mamori-prbtb-")
    tbdir = os.path.join(tmp, "tb")
    try:
        run(tmp, tbdir)
    finally:
        subprocess.run([M, "testbed", "down", "--name", NAME, "--dir", tbdir],
                       capture_output=True, env=ENV, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    check(NAME + "-" not in left, f"namespaces left: {left}")


def run(tmp, tbdir):
    t0 = time.time()
    r = subprocess.run([M, "testbed", "up", "--name", NAME, "--dir", tbdir, "--devices", "160", "--range", "198.18.96.0/22",
                        "--seed", "7"], capture_output=True, text=True, env=ENV, timeout=300)
    check(r.returncode == 0, f"testbed up: {r.stderr}")
    truth = json.load(open(os.path.join(tbdir, "truth.json")))
    up_s = time.time() - t0
    pairs = mirai_pairs()
    check(len(pairs) == 62, f"{len(pairs)} Mirai pairs")  # 61 distinct: the source lists one twice
    dict_pairs = set(pairs)
    want, services, closed, filtered = set(), [], [], []
    for h in truth["hosts"]:
        if h["state"] == "filtered":
            filtered.append(h["ip"])
            continue
        if not h.get("services"):
            closed.append(h["ip"])
        for s in h.get("services", []):
            services.append((h["ip"], s["port"], s["protocol"]))
            if {(a["username"], a["password"]) for a in s["accepts"]} & dict_pairs:
                want.add((h["ip"], s["port"]))
    check(want and len(want) < len(services), f"a truth to test on: {len(want)} of {len(services)}")
    scan = os.path.join(tmp, "scan.csv")
    with open(scan, "w") as f:  # as a scan reports them (ZMap's fields: sport is the port)
        f.write("saddr,daddr,sport,dport,classification,success\n")
        for ip, port, _ in services:
            f.write(f"{ip},{truth['client_ip']},{port},41000,synack,1\n")
        for ip in closed[:5] + filtered[:5]:
            f.write(f"{ip},{truth['client_ip']},23,41000,synack,1\n")
    ports = ",".join(sorted({f"{p}/{proto}" for _, p, proto in services}))
    out = os.path.join(tmp, "probe.jsonl")
    t1 = time.time()
    r = subprocess.run(["ip", "netns", "exec", truth["client_ns"], M, "probe", "--input", scan,
                        "--ports", ports, "--allow-testbed", "--max-attempts", "62",
                        "--concurrency", "512", "--per-host", "2", "--rate", "0",
                        "--connect-timeout", "1", "--read-timeout", "3", "--output", out,
                        "--db", os.path.join(tmp, "m.db"), "--round", NAME,
                        "--audit", os.path.join(tmp, "audit.jsonl"),
                        "--optout", "/dev/null", "--blocklist", "/dev/null",
                        "--contact", "prb e2e test", "-q"],
                       capture_output=True, text=True, env=ENV, timeout=300)
    probe_s = time.time() - t1
    check(r.returncode == 0, f"probe: {r.returncode} {r.stderr}")
    res = {(o["ip"], o["port"]): o for o in map(json.loads, open(out))}
    check(len(res) == len(services) + len(closed[:5]) + len(filtered[:5]),
          f"{len(res)} results for {len(services)} services and {len(closed[:5]) + len(filtered[:5])} others")
    got = {k for k, o in res.items() if o["login_accepted"]}
    check(got == want, f"accepted: {len(got)}; missed {sorted(want - got)[:5]}, "
          f"extra {sorted(got - want)[:5]}")
    check(all(res[k]["credential_class"] == "mirai-default" for k in got), "credential class")
    for ip, port, proto in services:
        o = res[(ip, port)]
        check(o["protocol"] == proto and o["status"] == "success", f"{ip}:{port}: {o}")
    for ip in closed[:5]:
        check(res[(ip, 23)]["status"] == "connection-refused", f"closed {ip}: {res[(ip, 23)]}")
    for ip in filtered[:5]:
        check(res[(ip, 23)]["status"] == "connection-timeout", f"filtered {ip}: {res[(ip, 23)]}")
    by = {}
    for ip, port, proto in services:
        by.setdefault(proto, [0, 0])
        by[proto][0] += 1
        by[proto][1] += (ip, port) in want
    print(f"ok: testbed up in {up_s:.1f} s; probe checked {len(res)} in {probe_s:.1f} s; "
          f"accepted exactly the {len(want)} services whose pair is Mirai's "
          f"({', '.join(f'{p} {a}/{n}' for p, (n, a) in sorted(by.items()))})")


if __name__ == "__main__":
    main()
