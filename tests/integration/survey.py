#!/usr/bin/env python3
"""The survey end to end on a testbed (needs root: network namespaces; CI is root): scan finds
exactly the (address, port) pairs the testbed's truth says listen, probe finds exactly the devices
whose accepted pair is in the dictionary (Mirai's 62, all tried: --max-attempts 62) and none
other, notify groups them exactly by the testbed's owners, and a second round after `testbed fix`
reports those devices fixed and the others still open; every run is in the audit log.  Nothing leaves the namespaces the testbed creates (198.18.0.0/15 only), and the
testbed is taken down at the end, also on failure."""
import csv
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

M = os.environ["MAMORI"]
ROOT = os.environ["MAMORI_SOURCE_ROOT"]
NAME = f"svy{os.getpid() % 100000}"
RANGE = "198.18.32.0/20"  # the bar: a /20 testbed
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def run(*args, ns=None, ok=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [M, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if ok and p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}")
    return p


def mirai_pairs():
    pairs = set()
    for line in open(os.path.join(ROOT, "data/credentials/mirai.tsv"), encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        user, pw = line.rstrip("\n").split("\t")[:2]
        pairs.add((user, pw))
    return pairs


def owner_of(owners, ip):
    a, best = ipaddress.ip_address(ip), None
    for o in owners:
        n = ipaddress.ip_network(o["prefix"])
        if a in n and (best is None or n.prefixlen > best[0]):
            best = (n.prefixlen, o["isp"])
    return best[1] if best else "unknown"


def survey_round(t, truth, rnd, safe):
    ns, db = truth["client_ns"], os.path.join(t, "s.db")
    scan_out, probe_out = os.path.join(t, f"scan-{rnd}.csv"), os.path.join(t, f"probe-{rnd}.jsonl")
    ports = sorted({s["port"] for h in truth["hosts"] for s in h.get("services", [])})
    run("scan", "-q", *safe, "--ports", ",".join(map(str, ports)), "--rate", "20000", "--cooldown",
        "1", "--round", rnd, "--db", db, "--output", scan_out, truth["range"], ns=ns)
    run("probe", "-q", *safe, "--input", scan_out, "--round", rnd, "--db", db, "--output",
        probe_out, "--max-attempts", "62", "--host-timeout", "60", ns=ns)
    run("notify", "-q", "--db", db, "--owners", os.path.join(t, "tb", "owners.csv"), "--no-geo",
        "--no-infected", "--round", rnd, "--out", os.path.join(t, "notify", rnd))
    opened = {(r["saddr"], int(r["sport"])) for r in csv.DictReader(open(scan_out))
              if r.get("success", "1") in ("1", "true", "True")}
    probes = [json.loads(l) for l in open(probe_out)]
    accepted = {(p["ip"], p["port"]) for p in probes if p.get("login_accepted")}
    index = json.load(open(os.path.join(t, "notify", rnd, "index.json")))
    return opened, accepted, probes, index


def main():
    if os.geteuid() != 0:
        print("survey: skipped (needs root for network namespaces)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as t:
        tb = os.path.join(t, "tb")
        safe = ["--allow-testbed", "--audit", os.path.join(t, "audit.jsonl"), "--optout",
                os.path.join(t, "optout.txt")]
        open(os.path.join(t, "optout.txt"), "w").close()
        try:
            run("testbed", "up", "--name", NAME, "--devices", "60", "--seed", "10", "--range", RANGE,
                "--dir", tb)
            truth = json.load(open(os.path.join(tb, "truth.json")))
            owners = truth["owners"]
            dictionary = mirai_pairs()
            listening = {(h["ip"], s["port"]) for h in truth["hosts"] if h["state"] == "up"
                         for s in h.get("services", [])}

            def weak(truth):
                return {(h["ip"], s["port"]) for h in truth["hosts"] for s in h.get("services", [])
                        if any((c["username"], c["password"]) in dictionary for c in s.get("accepts", []))}

            vulnerable = weak(truth)
            check(len(vulnerable) >= 5 and len(listening - vulnerable) >= 5,
                  f"testbed mix: {len(vulnerable)} weak of {len(listening)} services")
            opened, accepted, probes, index = survey_round(t, truth, "r1", safe)
            check(opened == listening, f"scan: missing {sorted(listening - opened)}, extra {sorted(opened - listening)}")
            check(accepted == vulnerable, f"probe: missing {sorted(vulnerable - accepted)}, extra {sorted(accepted - vulnerable)}")
            check(all("password" not in p and "xc3511" not in json.dumps(p) for p in probes),
                  "probe output names a password")
            want = {}
            for ip, port in vulnerable:
                want.setdefault(owner_of(owners, ip), set()).add((ip, port))
            got = {}
            for o in index["owners"]:
                pk = json.load(open(os.path.join(t, "notify", "r1", o["package"], "findings.json")))
                got[o["owner"]] = {(x["ip"], x["port"]) for x in pk["findings"] if x["kind"] == "vulnerable"}
            check(got == want, f"notify r1 by owner:\n got {got}\nwant {want}")

            fixed = sorted(vulnerable)[::3]
            run("testbed", "fix", "--name", NAME, "--dir", tb, *[f"{ip}:{port}" for ip, port in fixed])
            truth2 = json.load(open(os.path.join(tb, "truth.json")))
            check(weak(truth2) == vulnerable - set(fixed), "testbed fix: truth not updated")
            opened2, accepted2, _, index2 = survey_round(t, truth2, "r2", safe)
            check(opened2 == listening, "scan r2: the open set changed")
            check(accepted2 == vulnerable - set(fixed), f"probe r2: {sorted(accepted2)}")
            check(index2["previous_round"] == "r1", f"notify r2 previous {index2['previous_round']}")
            kinds = {}
            for o in index2["owners"]:
                pk = json.load(open(os.path.join(t, "notify", "r2", o["package"], "findings.json")))
                for x in pk["findings"]:
                    kinds.setdefault(x["kind"], set()).add((x["ip"], x["port"]))
            check(kinds.get("fixed", set()) == set(fixed), f"fixed {kinds.get('fixed')} != {set(fixed)}")
            check(kinds.get("vulnerable", set()) == vulnerable - set(fixed), f"still open {kinds.get('vulnerable')}")
            audit = [json.loads(l) for l in open(os.path.join(t, "audit.jsonl"))]
            check(len(audit) == 4 and {a["tool"] for a in audit} == {"scan", "probe"},
                  f"audit log: {len(audit)} lines")
        finally:
            run("testbed", "down", "--name", NAME, "--dir", tb, ok=False)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        check(NAME not in left, f"namespaces left: {left}")
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print(f"survey: ok ({len(listening)} services, {len(vulnerable)} weak, {len(fixed)} fixed)")


main()
