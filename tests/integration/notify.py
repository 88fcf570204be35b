#!/usr/bin/env python3
"""notify: findings grouped exactly by owner, against ground truth the test
knows without mamori.  Infected hosts are the capture's Mirai sources (TCP
SYNs whose sequence number is the destination address, found here by reading
the pcap in Python) and the honeypot's attacker and loader addresses; the
survey rows are two probe rounds and a scan put in the schema's tables.
Every owner's package counts exactly the hosts of its prefixes (longest
prefix wins; the rest go to the AS or "unknown"), a second round says which
devices were fixed (probed without a login, or closed in that round's scan)
and which were not tested again, a device's banner text is data (a formula
is neutralised in CSV), the letters name every host and never a password,
notices are stored once per round, and bad owners files, templates, rounds
and databases fail with one line naming what is wrong."""
import csv
import ipaddress
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

M = os.environ["MAMORI"]
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def mirai_sources(path, darknet):
    """IPv4 sources of well-formed TCP SYNs (no ACK) with seq == destination, to the darknet."""
    data = open(path, "rb").read()
    endian = "<" if struct.unpack("<I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, set()
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        f = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(f) < 54 or f[12:14] != b"\x08\x00" or f[14] >> 4 != 4:
            continue
        ihl, total = (f[14] & 15) * 4, struct.unpack(">H", f[16:18])[0]
        if f[23] != 6 or ihl < 20 or total < ihl + 20 or 14 + total > len(f):
            continue  # not TCP, or malformed as a telescope counts it
        tcp = f[14 + ihl:]
        if (tcp[12] >> 4) * 4 < 20 or ihl + (tcp[12] >> 4) * 4 > total:
            continue
        src, dst = f[26:30], f[30:34]
        if ipaddress.ip_address(dst) not in darknet or tcp[13] & 0x12 != 0x02:
            continue
        if tcp[4:8] == dst:
            out.add(str(ipaddress.ip_address(src)))
    return out


def run(*args, ok=True):
    p = subprocess.run([M, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        sys.exit(f"mamori {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p


def fill_survey(db):
    c = sqlite3.connect(db)
    rounds = [("r1", "probe", 1000, 2000), ("r2", "scan", 3000, 3500), ("r2", "probe", 4000, 5000)]
    for r, tool, s, e in rounds:
        c.execute("INSERT INTO survey_rounds VALUES(?,?,?,?,'198.18.0.0/20','survey@test.example',"
                  "100,62,10,3)", (r, tool, s * 10**6, e * 10**6))
    f = "INSERT INTO survey_findings VALUES(?,?,?,?,?,'success','login: ',?,?,?,'mirai.tsv',3)"
    evil = "=HYPERLINK(\"http://198.18.9.9\")"
    r1 = [("198.18.0.10", 23, "telnet", 1, "BusyBox"), ("198.18.0.11", 23, "telnet", 1, evil),
          ("198.18.1.20", 80, "http", 1, "GoAhead-Webs"), ("198.18.4.5", 22, "ssh", 1, "dropbear"),
          ("198.18.8.1", 23, "telnet", 1, "BusyBox"), ("198.18.0.12", 23, "telnet", 0, "BusyBox"),
          ("198.18.0.11", 2323, "telnet", 1, "BusyBox")]  # a second port: one host, not two
    for ip, port, proto, ok, dev in r1:
        c.execute(f, ("r1", ip, port, proto, 1500 * 10**6, dev, ok, "mirai-default" if ok else None))
    # r2: .10 refused now (fixed), .11 still accepts, 198.18.1.20 closed in the scan (fixed),
    # 198.18.4.5 open but not probed (not re-tested), 198.18.8.1 still accepts, .12 accepts now
    for ip, port in [("198.18.0.10", 23), ("198.18.0.11", 23), ("198.18.0.11", 2323), ("198.18.4.5", 22),
                     ("198.18.8.1", 23), ("198.18.0.12", 23)]:
        c.execute("INSERT INTO survey_open VALUES('r2',?,?,?,40000,1,2,65535,64,'synack',1)",
                  (ip, port, 3100 * 10**6))
    for ip, port, proto, ok, dev in [("198.18.0.10", 23, "telnet", 0, "BusyBox"),
                                     ("198.18.0.11", 23, "telnet", 1, evil),
                                     ("198.18.0.11", 2323, "telnet", 1, "BusyBox"),
                                     ("198.18.8.1", 23, "telnet", 1, "BusyBox"),
                                     ("198.18.0.12", 23, "telnet", 1, "BusyBox")]:
        c.execute(f, ("r2", ip, port, proto, 4500 * 10**6, dev, ok, "mirai-default" if ok else None))
    for t, v in [("attacker-ip", "203.0.113.7"), ("loader-ip", "203.0.113.8")]:
        c.execute("INSERT OR REPLACE INTO indicators VALUES(?,?,'lure',?,?,1)",
                  (t, v, 1474329700 * 10**6, 1474329800 * 10**6))
    c.commit()
    c.close()


OWNERS = [("198.18.0.0/22", "Example Net A", 64500, "abuse@a.example"),
          ("198.18.4.0/22", "Example Net B", 64501, "abuse@b.example"),
          ("198.18.0.8/29", "Small Reseller", 64502, "noc@c.example"),  # inside A: longer wins
          ("0.0.0.0/1", "Low Half", 64510, "abuse@low.example"),
          ("128.0.0.0/1", "High Half", 64511, "abuse@high.example")]


def owner_of(ip):
    a = ipaddress.ip_address(ip)
    best = None
    for p, isp, asn, abuse in OWNERS:
        n = ipaddress.ip_network(p)
        if a in n and (best is None or n.prefixlen > best[0]):
            best = (n.prefixlen, isp)
    return best[1] if best else "unknown"


def main():
    with tempfile.TemporaryDirectory() as t:
        cap, db = os.path.join(t, "s.pcap"), os.path.join(t, "s.db")
        run("synth", "-q", "--out", cap, "--darknet", "198.18.0.0/16", "--packets", "20000",
            "--seed", "7")
        run("observe", "-q", "--no-geo", "--darknet", "198.18.0.0/16", "--read", cap, "--db", db)
        fill_survey(db)
        owners = os.path.join(t, "owners.csv")
        with open(owners, "w") as f:
            f.write("# test owners\nprefix,isp,asn,abuse\n")
            for p, isp, asn, abuse in OWNERS:
                f.write(f'{p},"{isp}",AS{asn},{abuse}\n')
        mirai = mirai_sources(cap, ipaddress.ip_network("198.18.0.0/16"))
        truth = json.load(open(cap + ".truth.json"))
        fp = {x["name"]: x["sources"] for x in truth["fingerprints"]}
        check(len(mirai) == fp["mirai"], f"the test's Mirai sources {len(mirai)} != synth truth {fp['mirai']}")

        out = os.path.join(t, "pk")
        p = run("notify", "--db", db, "--owners", owners, "--no-geo", "--out", out,
                "--since", "2016-01-01", "--until", "2017-01-01", "--format", "json")
        idx = json.loads(p.stdout)
        check(idx["round"] == "r2" and idx["previous_round"] == "r1", f"rounds {idx['round']} {idx['previous_round']}")
        want = {}
        def add(ip, kind):
            want.setdefault(owner_of(ip), {}).setdefault(kind, set()).add(ip)
        for ip in ("198.18.0.11", "198.18.8.1", "198.18.0.12"):
            add(ip, "vulnerable")
        for ip in ("198.18.0.10", "198.18.1.20"):
            add(ip, "fixed")
        add("198.18.4.5", "not-retested")
        for ip in mirai | {"203.0.113.7", "203.0.113.8"}:
            add(ip, "infected")
        got = {}
        for o in idx["owners"]:
            pk = json.load(open(os.path.join(out, o["package"], "findings.json")))
            check(pk["owner"] == o["owner"] and pk["abuse"] == o["abuse"], f"package of {o['owner']}")
            kinds = {}
            for x in pk["findings"]:
                kinds.setdefault(x["kind"], set()).add(x["ip"])
            got[o["owner"]] = kinds
            for k, n in o["counts"].items():
                check(n == len(kinds.get(k, ())), f"{o['owner']}: count {k} {n} != {len(kinds.get(k, ()))} listed")
            rows = list(csv.DictReader(open(os.path.join(out, o["package"], "findings.csv"))))
            check(sorted(r["ip"] for r in rows) == sorted(x["ip"] for x in pk["findings"]),
                  f"{o['owner']}: CSV and JSON list other hosts")
            for r in rows:
                check(not r["device"].startswith("="), f"CSV cell not neutralised: {r['device']!r}")
            for lang in ("en", "ja"):
                letter = open(os.path.join(out, o["package"], f"letter.{lang}.txt"), encoding="utf-8").read()
                for ip in set().union(*kinds.values()):
                    check(ip in letter, f"{o['owner']} letter.{lang} lacks {ip}")
                check("{{" not in letter and "xc3511" not in letter, f"{o['owner']} letter.{lang}: placeholder or password")
                check(o["abuse"] is None or o["abuse"] in letter, f"letter.{lang} not addressed to {o['abuse']}")
        check(got == want, f"grouping:\n got {got}\nwant {want}")
        index_rows = list(csv.DictReader(open(os.path.join(out, "index.csv"), encoding="utf-8")))
        check([(r["owner"], r["package"], int(r["vulnerable"]), int(r["infected"]), int(r["fixed"]))
               for r in index_rows] ==
              [(o["owner"], o["package"], o["counts"]["vulnerable"], o["counts"]["infected"],
                o["counts"]["fixed"]) for o in idx["owners"]], "index.csv does not list index.json's owners")
        check(any(x["seen_by"] == "honeypot-loader" for o in idx["owners"]
                  for x in json.load(open(os.path.join(out, o["package"], "findings.json")))["findings"]),
              "the honeypot's loader is not reported")

        # notices: one per finding, replaced (not doubled) by a second run of the round
        c = sqlite3.connect(db)
        total = sum(len(v) for k in want.values() for v in k.values()) + 1  # .11's second port
        n1 = c.execute("SELECT count(*) FROM survey_notices WHERE round='r2'").fetchone()[0]
        run("notify", "--db", db, "--owners", owners, "--no-geo", "--out", out, "-q",
            "--since", "2016-01-01", "--until", "2017-01-01")
        n2 = c.execute("SELECT count(*) FROM survey_notices WHERE round='r2'").fetchone()[0]
        check(n1 == total and n2 == total, f"notices {n1}, then {n2}, want {total}")
        check(c.execute("SELECT count(*) FROM survey_notices WHERE owner='Small Reseller'"
                        " AND ip='198.18.0.11'").fetchone()[0] == 2, "the longest prefix did not win")
        # the survey view (report, and the dashboard's /api/v1/survey) groups the notices by owner
        rep = json.loads(run("report", "--db", db, "--format", "json").stdout)["survey"]
        view = {}
        for x in rep["notices"]:
            if x["round"] == "r2":
                view.setdefault(x["owner"], {})[x["kind"]] = x["hosts"]
        check(view == {o: {k: len(v) for k, v in kinds.items()} for o, kinds in want.items()},
              f"survey view {view}")
        check([(x["round"], x["tool"]) for x in rep["rounds"]] == [("r1", "probe"), ("r2", "scan"), ("r2", "probe")],
              f"survey rounds {rep['rounds']}")
        # round r1 alone: five vulnerable, nothing fixed
        p = run("notify", "--db", db, "--owners", owners, "--no-geo", "--no-infected", "--round", "r1",
                "--out", os.path.join(t, "r1"), "--format", "json")
        r1 = json.loads(p.stdout)
        check(sum(o["counts"]["vulnerable"] for o in r1["owners"]) == 5 and
              sum(o["counts"]["fixed"] for o in r1["owners"]) == 0, f"round r1: {r1['owners']}")

        # an owner name longer than a package keeps (UTF-8, cut at a whole character) is
        # still one owner with every host, named in valid JSON; an escape in a contact
        # does not reach the letter (review: one package per finding, "owner" missing)
        name = "株式会社" * 11 + "テスト"
        long_owners = os.path.join(t, "long.csv")
        open(long_owners, "w", encoding="utf-8").write(
            f'prefix,isp,asn,abuse\n198.18.0.0/15,"{name}",64599,"abuse@x.example\x1b]0;t\x07"\n')
        p = run("notify", "--db", db, "--owners", long_owners, "--no-geo", "--no-infected",
                "--round", "r1", "--out", os.path.join(t, "long"), "--format", "json")
        lo = json.loads(p.stdout)["owners"]
        check(len(lo) == 1 and lo[0]["counts"]["vulnerable"] == 5, f"a long owner name: {lo}")
        pk = json.load(open(os.path.join(t, "long", lo[0]["package"], "findings.json")))
        check(pk.get("owner") and name.startswith(pk["owner"]) and len(pk["owner"]) > 40,
              f"a long owner name in JSON: {pk.get('owner')!r}")
        letter = open(os.path.join(t, "long", lo[0]["package"], "letter.en.txt"), encoding="utf-8").read()
        check("\x1b" not in letter and "\x07" not in letter and pk["owner"] in letter,
              "a control character from the owners file reached the letter")

        # bad input: one line naming the problem, exit 1 or 2
        bad = os.path.join(t, "bad.csv")
        open(bad, "w").write("prefix,isp\n198.18.0.0/22,A\n198.18.0.1/22,B\n")
        tpl = os.path.join(t, "tpl")
        os.mkdir(tpl)
        open(os.path.join(tpl, "letter.en.txt"), "w").write("Dear {{owner}},\n{{pasword}}\n")
        for args, want_msg, code in [
            (["--owners", bad], "bad.csv:3: '198.18.0.1/22' is not a prefix", 1),
            (["--owners", os.path.join(t, "none.csv")], "none.csv: No such file", 1),
            (["--templates", tpl], "letter.en.txt:2: unknown placeholder {{pasword}}", 1),
            (["--round", "r9"], "no probe round 'r9'", 1),
            (["--round", "../x"], "cannot name a package directory", 2),
            (["--since", "yesterday"], "--since: 'yesterday' is not", 2),
        ]:
            p = run("notify", "--db", db, "--no-geo", "--out", os.path.join(t, "x"), *args, ok=False)
            lines = p.stderr.strip().splitlines()
            check(p.returncode == code and len(lines) == 1 and want_msg in p.stderr,
                  f"{args}: exit {p.returncode}, stderr {p.stderr!r}")
        # a round name in the database is checked as --round is: it must not lead the
        # default var/notify/ROUND out of var/notify (review: it wrote ../../esc)
        c.execute("INSERT INTO survey_rounds VALUES('../../esc','probe',9000000000,9100000000,"
                  "'t','x',1,62,1,1)")
        c.commit()
        cwd = os.path.join(t, "cwd", "a")
        os.makedirs(cwd)
        p = subprocess.run([M, "notify", "--db", db, "--no-geo", "-q"], cwd=cwd, capture_output=True, text=True)
        check(p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and
              "cannot name a package directory" in p.stderr and
              not os.path.exists(os.path.join(t, "esc")) and not os.path.exists(os.path.join(t, "cwd", "esc")),
              f"a round from the database escaped --out: {p.returncode} {p.stderr!r}")
        p = run("notify", "--db", os.path.join(t, "missing.db"), ok=False)
        check(p.returncode == 1 and "missing.db" in p.stderr and not os.path.exists(os.path.join(t, "missing.db")),
              f"missing database: {p.returncode} {p.stderr!r}")
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print("notify: ok")


main()
