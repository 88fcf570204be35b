#!/usr/bin/env python3
"""mamori serve: the API agrees with `report --format json`, the time series
shows synth's surge, bad requests get 400/404/405 with a reason, paths never
leave the web root (also percent-encoded or through a symlink), a missing
database is a 503 and the server keeps serving.  Loopback only."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import sqlite3
import tempfile
from datetime import datetime
import time

M = os.environ["MAMORI"]
DN = "198.18.0.0/16,2001:db8:1::/48"
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def start(db, web=None):
    args = [M, "serve", "--db", db, "--listen", "127.0.0.1:0"] + (["--web", web] if web else [])
    p = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()  # "mamori: serving http://127.0.0.1:PORT/ ..."
    if "serving http://127.0.0.1:" not in line:
        sys.exit(f"FAIL: serve did not start: {line}{p.stderr.read()}")
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    return p, port


def get(port, path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.putrequest(method, path, skip_accept_encoding=True)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type", ""), body


def main():
    tmp = tempfile.mkdtemp(prefix="mamori-serve-")
    cap, db = os.path.join(tmp, "t.pcap"), os.path.join(tmp, "t.db")
    subprocess.run([M, "synth", "-q", "--out", cap, "--darknet", DN, "--packets", "150000",
                    "--seed", "12"], check=True)
    root = os.environ.get("MAMORI_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
    geo_dir = os.path.join(root, "node_modules/@ip-location-db")
    have_geo = os.path.exists(os.path.join(geo_dir, "asn/asn-ipv4.csv"))
    geo = ["--geo-dir", geo_dir] if have_geo else ["--no-geo"]
    subprocess.run([M, "observe", "-q", "--darknet", DN, "--read", cap, "--db", db] + geo,
                   check=True, stderr=subprocess.DEVNULL)
    truth = json.load(open(cap + ".truth.json"))
    web = os.path.join(tmp, "web")
    os.makedirs(web)
    open(os.path.join(web, "index.html"), "w").write("<!doctype html><title>mamori</title>")
    open(os.path.join(tmp, "secret.txt"), "w").write("SECRET")
    os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(web, "link.txt"))
    p, port = start(db, web)
    try:
        report = json.loads(subprocess.run([M, "report", "--db", db, "--format", "json", "--top",
                                            "5"], check=True, capture_output=True).stdout)
        st, ctype, body = get(port, "/api/v1/summary?top=5")
        check(st == 200 and ctype == "application/json", f"summary: {st} {ctype}")
        check(json.loads(body) == report, "summary differs from report --format json --top 5")

        st, _, body = get(port, "/api/v1/top/ports?n=5")
        check(st == 200 and json.loads(body) == report["ports"], "top/ports differs from summary")

        st, _, body = get(port, "/api/v1/timeseries?proto=tcp&port=2323&res=60")
        ts = json.loads(body)
        surge = truth["surge"]["start"]
        before = [x["sources"] for x in ts["points"] if x["t"] < surge]
        during = [x["sources"] for x in ts["points"] if surge <= x["t"] < truth["surge"]["end"]]
        check(st == 200 and len(ts["points"]) == 60, f"timeseries: {st}, {len(ts['points'])} points")
        check(sum(during) / len(during) > 2 * sum(before) / len(before), "no surge in the series")
        check(len(ts["alerts"]) == 1 and ts["alerts"][0]["port"] == 2323, "surge alert marker")
        st, _, body = get(port, "/api/v1/timeseries?proto=tcp&port=2323&res=3600")
        hour = json.loads(body)["points"][0]
        check(hour["packets"] == sum(x["packets"] for x in ts["points"]),
              "hourly bucket is not the sum of its minutes")
        # the hour comes from its rollup; its distinct sources must equal report's union
        c = sqlite3.connect(db)
        rolled = c.execute("SELECT count(*) FROM rollup_buckets WHERE res = 3600").fetchone()[0]
        c.close()
        check(rolled == 1, f"{rolled} hourly rollups, want 1")
        by_report = json.loads(subprocess.run(
            [M, "report", "--db", db, "--format", "json", "--top", "0", "--from", hour["t"],
             "--to", str(int(datetime.fromisoformat(hour["t"].replace("Z", "+00:00")).timestamp())
                         + 3600)], check=True,
            capture_output=True).stdout)
        p2323 = [x for x in by_report["ports"] if x["port"] == 2323 and x["proto"] == "tcp"][0]
        check(hour["sources"] == p2323["sources"] and hour["packets"] == p2323["packets"],
              f"hourly rollup {hour} differs from report {p2323}")

        st, _, body = get(port, "/api/v1/geo?n=0")
        pts = json.loads(body)
        check(st == 200 and (len(pts) > 10 or not have_geo), f"geo: {st}, {len(pts)} points")
        check(all(-90 <= x["lat"] <= 90 and -180 <= x["lon"] <= 180 for x in pts), "geo range")
        check(all(x["class"] in ("tcp_syn", "backscatter", "udp", "icmp_request", "other")
                  for x in pts), "geo classes")
        check(sum(x["packets"] for x in pts) <= report["totals"]["packets"], "geo packets")

        st, ctype, body = get(port, "/metrics")
        line = [l for l in body.decode().splitlines() if l.startswith("mamori_packets_total ")]
        check(st == 200 and ctype.startswith("text/plain"), f"metrics: {st} {ctype}")
        check(line and int(line[0].split()[1]) == report["totals"]["packets"], "metrics packets")

        bad = ["/api/v1/summary?from=yesterday", "/api/v1/summary?x=1", "/api/v1/summary?top=-1",
               "/api/v1/timeseries?proto=icmp&port=1", "/api/v1/timeseries?proto=tcp&port=70000",
               "/api/v1/timeseries?proto=tcp&port=23&res=7", "/api/v1/timeseries?proto=tcp",
               "/api/v1/summary?from=2016-09-21&to=2016-09-20",
               "/api/v1/summary?" + "&".join(f"top={i}" for i in range(17)),
               "/api/v1/summary?from=" + "1" * 100]
        for path in bad:
            st, _, body = get(port, path)
            check(st == 400 and json.loads(body)["error"], f"{path[:60]}: {st}")
        for path in ["/api/v1/nope", "/api/v2/summary", "/api/v1/top/everything", "/nope.html"]:
            st, _, _ = get(port, path)
            check(st == 404, f"{path}: {st}")
        st, _, _ = get(port, "/api/v1/summary", "POST")
        check(st == 405, f"POST: {st}")
        st, _, _ = get(port, "/api/v1/summary?top=" + "9" * 40000)
        check(st in (400, 414, 431), f"oversized URL: {st}")

        st, ctype, body = get(port, "/")
        check(st == 200 and b"mamori" in body and ctype.startswith("text/html"), f"/: {st}")
        for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
                     "/%2E%2E%2Fsecret.txt", "/x/../../secret.txt", "/link.txt",
                     "/..\\secret.txt", "//etc/passwd"]:
            st, _, body = get(port, path)
            check(st in (400, 404) and b"SECRET" not in body and b"root:" not in body,
                  f"traversal {path}: {st} {body[:40]}")
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
        check(rc == 0, f"serve exit {rc} after SIGTERM")

    # a day closes: its rollup (made from hourly ones) must agree with the raw intervals
    cap_d, db_d = os.path.join(tmp, "d.pcap"), os.path.join(tmp, "d.db")
    subprocess.run([M, "synth", "-q", "--out", cap_d, "--darknet", DN, "--packets", "60000",
                    "--seed", "13", "--duration", str(26 * 3600), "--start",
                    "2016-09-20T00:00:00Z"], check=True)
    subprocess.run([M, "observe", "-q", "--no-geo", "--darknet", DN, "--read", cap_d, "--db", db_d],
                   check=True, stderr=subprocess.DEVNULL)
    c = sqlite3.connect(db_d)
    days = c.execute("SELECT count(*) FROM rollup_buckets WHERE res = 86400").fetchone()[0]
    c.close()
    check(days == 1, f"{days} daily rollups, want 1")
    pd, portd = start(db_d)
    try:
        day0, day1 = "2016-09-20T00:00:00Z", "2016-09-21T00:00:00Z"
        st, _, body = get(portd, f"/api/v1/timeseries?proto=tcp&port=23&res=86400&to={day1}")
        daily = json.loads(body)["points"]
        st, _, body = get(portd, f"/api/v1/timeseries?proto=tcp&port=23&res=3600&to={day1}")
        hourly = json.loads(body)["points"]
        by_report = json.loads(subprocess.run(
            [M, "report", "--db", db_d, "--format", "json", "--top", "0", "--from", day0, "--to",
             day1], check=True, capture_output=True).stdout)
        p23 = [x for x in by_report["ports"] if x["port"] == 23 and x["proto"] == "tcp"][0]
        check(len(daily) == 1 and len(hourly) == 24, f"{len(daily)} days, {len(hourly)} hours")
        check(daily[0]["packets"] == sum(h["packets"] for h in hourly) == p23["packets"],
              "daily rollup packets")
        check(daily[0]["sources"] == p23["sources"], f"daily sources {daily[0]} vs {p23}")
        # the summary reads whole rolled-up hours from rollups: the same numbers as from the
        # interval rows alone (a copy of the database without rollup marks)
        db_raw = os.path.join(tmp, "raw.db")
        shutil.copy(db_d, db_raw)
        c = sqlite3.connect(db_raw)
        c.execute("DELETE FROM rollup_buckets")
        c.commit()
        c.close()
        for frm, to in ((day0, day1), ("2016-09-20T23:30:00Z", "2016-09-21T01:00:00Z")):
            docs = [json.loads(subprocess.run(
                [M, "report", "--db", d, "--format", "json", "--top", "10", "--from", frm, "--to", to],
                check=True, capture_output=True).stdout) for d in (db_d, db_raw)]
            for k in ("totals", "ports", "backscatter_ports", "top_sources"):
                check(docs[0][k] == docs[1][k], f"{k} from rollups differs over {frm}..{to}")
    finally:
        pd.send_signal(signal.SIGTERM)
        pd.wait(timeout=30)

    # serve can run observe itself on the same database
    db2 = os.path.join(tmp, "own.db")
    args = [M, "serve", "--db", db2, "--listen", "127.0.0.1:0", "--darknet", DN, "--read", cap]
    p = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    want = truth["totals"]["packets"]
    got = None
    for _ in range(3000):  # bounded: observe of 150k packets takes well under a second
        st, _, body = get(port, "/metrics")
        if st == 200:
            got = [int(float(l.split()[1])) for l in body.decode().splitlines()
                   if l.startswith("mamori_packets_total ")][0]
            if got == want:
                break
        time.sleep(0.02)
    check(got == want, f"serve --darknet --read: {got} packets, truth {want}")
    p.send_signal(signal.SIGTERM)
    check(p.wait(timeout=30) == 0, "serve with its own observe: exit status")

    p, port = start(os.path.join(tmp, "missing.db"))
    try:
        for _ in range(3):  # and it keeps answering, with a plain reason: no path, no SQLite text
            st, _, body = get(port, "/api/v1/summary")
            check(st == 503 and json.loads(body)["error"] and b"missing.db" not in body
                  and tmp.encode() not in body, f"missing database: {st} {body[:80]}")
        st, _, _ = get(port, "/metrics")
        check(st == 503, f"metrics without database: {st}")
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
    shutil.rmtree(tmp)
    if errors:
        print("FAIL:\n  " + "\n  ".join(errors))
        return 1
    print("serve: API matches report, surge in the series, bad requests refused, root kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
