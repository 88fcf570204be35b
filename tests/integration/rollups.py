#!/usr/bin/env python3
"""Stats rollups: a summary read from the hourly and daily rollups equals the
same summary unioned from the interval blobs alone (a copy of the database
with every rollup mark dropped), for fingerprints, ports, backscatter ports,
countries, ASNs, top sources and the total source union; over a whole day (the
day rollup), a window that is not hour-aligned (hours plus raw intervals) and
an hour that two runs share.  The second run appends inside an hour the first
one left open, so its rollup must fold the stored hour in once; --replace of
that run (from a file, and as a stream replacing interval by interval) must
leave the same numbers; the rollups are really there (one per
closed hour and day), and an old per-row layout is not needed to read them."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

M = os.environ["MAMORI"]
DN = "198.18.0.0/16,2001:db8:1::/48"
KEYS = ("totals", "fingerprints", "ports", "backscatter_ports", "countries", "asns",
        "top_sources")
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def report(db, frm, to, top="10"):
    out = subprocess.run([M, "report", "--db", db, "--format", "json", "--top", top, "--from", frm,
                          "--to", to], check=True, capture_output=True).stdout
    return json.loads(out)


def raw_copy(db, tmp, name):
    """The same database read from its intervals only: no bucket marked rolled."""
    path = os.path.join(tmp, name)
    shutil.copy(db, path)
    c = sqlite3.connect(path)
    c.execute("DELETE FROM rollup_buckets")
    c.commit()
    c.close()
    return path


def same(db, raw, windows, label):
    for frm, to in windows:
        a, b = report(db, frm, to), report(raw, frm, to)
        for k in KEYS:
            check(a[k] == b[k], f"{label}: {k} from rollups differs from intervals over {frm}..{to}")
        check(a["totals"]["packets"] > 0, f"{label}: empty window {frm}..{to}")


def main():
    tmp = tempfile.mkdtemp(prefix="mamori-rollups-")
    root = os.environ.get("MAMORI_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
    geo_dir = os.path.join(root, "node_modules/@ip-location-db")
    geo = (["--geo-dir", geo_dir] if os.path.exists(os.path.join(geo_dir, "asn/asn-ipv4.csv"))
           else ["--no-geo"])
    caps = []
    # two captures: 00:00..10:30 and 10:30..26:00, so the second run appends inside 10:00
    for i, (start, dur) in enumerate((("2016-09-20T00:00:00Z", 37800),
                                      ("2016-09-20T10:30:00Z", 55800))):
        cap = os.path.join(tmp, f"{i}.pcap")
        subprocess.run([M, "synth", "-q", "--out", cap, "--darknet", DN, "--packets",
                        str(20000 + 20000 * i), "--seed", str(21 + i), "--start", start,
                        "--duration", str(dur)], check=True)
        caps.append(cap)
    db = os.path.join(tmp, "r.db")
    for cap in caps:
        subprocess.run([M, "observe", "-q", "--darknet", DN, "--read", cap, "--db", db] + geo,
                       check=True, stderr=subprocess.DEVNULL)
    c = sqlite3.connect(db)
    hours = c.execute("SELECT count(*) FROM rollup_buckets WHERE res = 3600").fetchone()[0]
    days = c.execute("SELECT count(*) FROM rollup_buckets WHERE res = 86400").fetchone()[0]
    seam = c.execute("SELECT count(*) FROM rollup_buckets r JOIN stats_rollups s USING (res,"
                     " bucket) WHERE r.res = 3600 AND r.bucket = 1474365600").fetchone()[0]
    old = c.execute("SELECT count(*) FROM sqlite_master WHERE name = 'port_stats'").fetchone()[0]
    c.close()
    check(hours == 26 and days == 1, f"{hours} hourly and {days} daily rollups, want 26 and 1")
    check(seam == 1, "the hour both runs wrote (10:00) has no current rollup")
    check(old == 0, "per-row port_stats still written")

    windows = (("2016-09-20T00:00:00Z", "2016-09-21T00:00:00Z"),  # the day rollup
               ("2016-09-20T23:30:00Z", "2016-09-21T01:00:00Z"),  # half an hour raw, one rolled
               ("2016-09-20T10:00:00Z", "2016-09-20T11:00:00Z"),  # the hour two runs share
               ("2016-09-20T03:17:00Z", "2016-09-21T01:43:00Z"),  # neither end aligned
               ("2016-09-19T00:00:00Z", "2016-09-23T00:00:00Z"))  # everything
    raw = raw_copy(db, tmp, "raw.db")
    same(db, raw, windows, "append")
    whole = report(db, "2016-09-19T00:00:00Z", "2016-09-23T00:00:00Z", "0")
    check(whole["totals"]["sources"] > 0 and len(whole["fingerprints"]) > 0 and
          len(whole["ports"]) > 10, "the summary lists are empty")
    check(geo == ["--no-geo"] or len(whole["countries"]) > 0 and len(whole["asns"]) > 0,
          "no countries or ASNs with geo")

    # --replace of the second run deletes what it wrote (the shared hour and
    # day lose their marks) and writes it again: the same numbers
    before = [report(db, f, t) for f, t in windows]
    subprocess.run([M, "observe", "-q", "--darknet", DN, "--read", caps[1], "--db", db,
                    "--replace"] + geo, check=True, stderr=subprocess.DEVNULL)
    after = [report(db, f, t) for f, t in windows]
    for (f, t), a, b in zip(windows, before, after):
        for k in KEYS:
            check(a[k] == b[k], f"--replace changed {k} over {f}..{t}")
    same(db, raw_copy(db, tmp, "raw2.db"), windows, "replace")
    # read as a stream, each interval replaces what it overlaps as it goes,
    # while the hour in memory was loaded with those very intervals
    with open(caps[1], "rb") as f:
        subprocess.run([M, "observe", "-q", "--darknet", DN, "--read", "-", "--db", db,
                        "--replace"] + geo, check=True, stdin=f, stderr=subprocess.DEVNULL)
    after = [report(db, f, t) for f, t in windows]
    for (f, t), a, b in zip(windows, before, after):
        for k in KEYS:
            check(a[k] == b[k], f"stream --replace changed {k} over {f}..{t}")
    same(db, raw_copy(db, tmp, "raw3.db"), windows, "stream replace")

    # hours listing more than 1,000 sources (two of them, 15-second intervals
    # of 100 each): every source, and more than 1,000, from the hours'
    # rollups are the intervals' numbers (the rollups were cut at 1,000 a hour)
    cap = os.path.join(tmp, "busy.pcap")
    subprocess.run([M, "synth", "-q", "--out", cap, "--darknet", DN, "--packets", "100000",
                    "--seed", "23", "--start", "2016-09-25T00:00:00Z", "--duration", "7200"],
                   check=True)
    busy = os.path.join(tmp, "busy.db")
    subprocess.run([M, "observe", "-q", "--no-geo", "--interval", "15", "--darknet", DN, "--read",
                    cap, "--db", busy],
                   check=True, stderr=subprocess.DEVNULL)
    c = sqlite3.connect(busy)
    most = c.execute("SELECT min(n) FROM (SELECT count(DISTINCT ip) AS n FROM top_sources x"
                     " JOIN intervals i ON i.id = x.interval_id GROUP BY i.start - i.start % 3600)"
                     ).fetchone()[0]
    rolled = c.execute("SELECT count(*) FROM rollup_buckets WHERE res = 3600").fetchone()[0]
    c.close()
    check(most > 1000 and rolled == 2, f"busy hours: {rolled} rolled, fewest sources {most}")
    busy_raw = raw_copy(busy, tmp, "busy-raw.db")
    for top in ("0", "1500", "10"):
        for frm, to in (("2016-09-25T00:00:00Z", "2016-09-25T02:00:00Z"),
                        ("2016-09-25T00:00:00Z", "2016-09-25T01:00:00Z")):
            a, b = report(busy, frm, to, top), report(busy_raw, frm, to, top)
            check(a["top_sources"] == b["top_sources"],
                  f"--top {top}: top_sources from rollups ({len(a['top_sources'])}) differ from"
                  f" the intervals' ({len(b['top_sources'])}) over {frm}..{to}")
    # rollups an older mamori wrote (schema 5), cut at each hour's 1,000
    # busiest: read as they are, the top sources come from the intervals;
    # migrated (observe), the hours are whole again
    c = sqlite3.connect(busy)
    whole = c.execute("SELECT count(*) FROM top_rollups").fetchone()[0]
    c.execute("DELETE FROM top_rollups WHERE rowid NOT IN (SELECT rowid FROM (SELECT rowid,"
              " row_number() OVER (PARTITION BY bucket ORDER BY packets DESC) AS r"
              " FROM top_rollups) WHERE r <= 1000)")
    c.execute("DROP INDEX top_rollups_packets")
    c.execute("PRAGMA user_version=5")
    c.commit()
    cut = c.execute("SELECT count(*) FROM top_rollups").fetchone()[0]
    c.close()
    check(cut == 2000 and whole > 2000, f"{cut} rows left of two cut hours ({whole} whole)")
    empty = os.path.join(tmp, "empty.pcap")
    with open(empty, "wb") as f:
        f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    frm, to = "2016-09-25T00:00:00Z", "2016-09-25T02:00:00Z"
    for stage in ("schema 5", "migrated"):
        for top in ("0", "10"):
            check(report(busy, frm, to, top)["top_sources"] ==
                  report(busy_raw, frm, to, top)["top_sources"], f"{stage}: --top {top} over cut rollups")
        if stage == "schema 5":
            subprocess.run([M, "observe", "-q", "--no-geo", "--darknet", DN, "--read", empty, "--db",
                            busy], check=True, stderr=subprocess.DEVNULL)
    c = sqlite3.connect(busy)
    check(c.execute("SELECT count(*) FROM top_rollups").fetchone()[0] == whole,
          "migration did not rebuild the cut hours whole")
    c.close()

    shutil.rmtree(tmp)
    if errors:
        print("FAIL: " + "\n      ".join(errors))
        sys.exit(1)
    print("rollups: ok")


main()
