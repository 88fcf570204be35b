#!/usr/bin/env python3
"""A second sink receives exactly what SQLite stores.

observe reads a synth capture with `--sink sqlite --sink jsonl:FILE`; every
interval's totals and sketch, every per-port, fingerprint, country and ASN
row, every top source, alert, DoS victim and per-source event in the JSON
lines equals what the database holds, and each interval line counts its rows
right.  A run with only `--sink jsonl:-` writes the same records to stdout and
no database; with a second sink that fails mid-run (/dev/full), SQLite
still holds every interval observe accepted.  lure, driven over loopback by a Mirai loader (a download) and
a scanner with a wrong password, gives the same sessions, logins, commands,
downloads and indicators (first/last seen, counts) through both sinks.  Bad
--sink arguments give one line and exit 2; a sink that cannot open stops the
run before anything is written.  The database is read with SQL, as a user of
the sqlite3 shell reads it (per-source events through mamori_events, per-key stats through
mamori_stats, with the extension built beside mamori)."""
import base64
import json
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import M as M_, ROOT, Honeypot, Telnet, mirai_loader, mirai_login, scratch  # noqa: E402

M = os.path.abspath(M_)
DN = "198.18.0.0/16,2001:db8:1::/48"
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL:", what, file=sys.stderr)


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(x) for x in f]


def b64(s):
    return base64.b64decode(s) if s is not None else None


def joined(v):
    return ",".join(str(x) for x in v)


def db_rows(db, sql):
    con = sqlite3.connect(db)
    try:
        return sorted(con.execute(sql).fetchall(), key=repr)
    finally:
        con.close()


def tables(db):
    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()


def shell_rows(db, sql):
    """Rows of mamori's virtual tables (mamori_events, mamori_stats): the sqlite3 shell with the
    extension built beside mamori (as a user reads them; Python's sqlite3 cannot load it)."""
    ext = os.path.join(os.path.dirname(M), "mamori_sqlite")
    cmd = ["sqlite3", "-cmd", ".load " + ext, "-json", db, sql]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode and "undefined symbol: __asan" in p.stderr:
        # a sanitizer build's extension: the shell needs the sanitizer runtime first
        rt = subprocess.run(["clang", "-print-file-name=libclang_rt.asan-x86_64.so"],
                            capture_output=True, text=True).stdout.strip()
        env = dict(os.environ, LD_PRELOAD=rt, ASAN_OPTIONS="detect_leaks=0")
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        raise SystemExit(f"FAIL: reading mamori_events: {p.stderr}")
    return [tuple(r.values()) for r in json.loads(p.stdout or "[]")]


def stats_rows(db):
    """Per-key stats stored as one blob per interval, as rows again: mamori_stats."""
    out = {k: [] for k in ("port", "fingerprint", "country", "asn")}
    for (start, kind, proto, port, name, asn, packets, nbytes, sources, dests, a,
         b) in shell_rows(db, "SELECT i.start, s.kind, s.proto, s.port, s.name, s.asn, s.packets,"
                          " s.bytes, s.sources, s.destinations, hex(s.src_sketch),"
                          " hex(s.dst_sketch) FROM mamori_stats s"
                          " JOIN intervals i ON i.id = s.interval_id"):
        src, dst = sk(bytes.fromhex(a or "")), sk(bytes.fromhex(b or ""))
        if kind in ("port", "backscatter_port"):
            out["port"].append((start, int(kind != "port"), proto, port, packets, nbytes, sources,
                                dests, src, dst))
        elif kind == "asn":
            out["asn"].append((start, asn, name or "", packets, nbytes, sources, src))
        else:
            out[kind].append((start, name, packets, nbytes, sources, src))
    return out


def sk(blob):
    """A sketch blob; an empty one is stored as b"E" or not at all."""
    return b"" if blob in (None, b"", b"E") else bytes(blob)


def same(what, db_side, json_side):
    a, b = sorted(db_side, key=repr), sorted(json_side, key=repr)
    check(a == b, f"{what}: {len(a)} rows in the database, {len(b)} in the JSON lines"
          + ("" if len(a) != len(b) else f"; first difference "
             f"{next(((x, y) for x, y in zip(a, b) if x != y), None)}"))
    check(len(a) > 0, f"{what}: no rows at all (the test would prove nothing)")
    print(f"{what}: {len(a)} rows alike", file=sys.stderr)


def observe_equal(db, recs):
    by = {}
    for r in recs:
        by.setdefault(r["kind"], []).append(r)
    iv = by.get("interval", [])
    CLS = ["tcp_syn", "backscatter", "udp", "icmp_request", "other"]
    same("intervals",
         db_rows(db, "SELECT i.start, i.end, packets, bytes, malformed, non_ip, outside,"
                 " iot_packets, late, bad_time, tcp_syn, backscatter, udp, icmp_request, other,"
                 " sources, first_us, last_us, s.sources_sketch FROM intervals i"
                 " JOIN interval_sketches s ON s.interval_id = i.id"),
         [(r["start"], r["end"], r["packets"], r["bytes"], r["malformed"], r["non_ip"],
           r["outside"], r["iot_packets"], r["late"], r["bad_time"], *[r[c] for c in CLS],
           r["sources"], r["first_us"], r["last_us"], b64(r["sources_sketch"])) for r in iv])
    J = " JOIN intervals i ON i.id = x.interval_id"
    if "port_stats" in tables(db):
        db_stats = {
            "port": [r[:-2] + (sk(r[-2]), sk(r[-1])) for r in db_rows(
                db, "SELECT i.start, x.backscatter, proto, port, x.packets, x.bytes, x.sources,"
                " dests, src_sketch, dst_sketch FROM port_stats x" + J)],
            "fingerprint": [r[:-1] + (sk(r[-1]),) for r in db_rows(
                db, "SELECT i.start, name, x.packets, x.bytes, x.sources, src_sketch"
                " FROM fingerprint_stats x" + J)],
            "country": [r[:-1] + (sk(r[-1]),) for r in db_rows(
                db, "SELECT i.start, cc, x.packets, x.bytes, x.sources, src_sketch"
                " FROM country_stats x" + J)],
            "asn": [r[:-1] + (sk(r[-1]),) for r in db_rows(
                db, "SELECT i.start, asn, name, x.packets, x.bytes, x.sources, src_sketch"
                " FROM asn_stats x" + J)]}
    else:
        db_stats = stats_rows(db)
    same("port rows", db_stats["port"],
         [(r["interval"], int(r["backscatter"]), r["proto"], r["port"], r["packets"], r["bytes"],
           r["sources"], r["dests"], sk(b64(r["src_sketch"])), sk(b64(r["dst_sketch"])))
          for r in by.get("port", [])])
    same("fingerprint rows", db_stats["fingerprint"],
         [(r["interval"], r["name"], r["packets"], r["bytes"], r["sources"],
           sk(b64(r["src_sketch"]))) for r in by.get("fingerprint", [])])
    same("country rows", db_stats["country"],
         [(r["interval"], r["cc"], r["packets"], r["bytes"], r["sources"],
           sk(b64(r["src_sketch"]))) for r in by.get("country", [])])
    same("ASN rows", db_stats["asn"],
         [(r["interval"], r["asn"], r["name"], r["packets"], r["bytes"], r["sources"],
           sk(b64(r["src_sketch"]))) for r in by.get("asn", [])])
    same("top sources",
         db_rows(db, "SELECT i.start, ip, x.packets, x.bytes, ports, fingerprints, cc, asn, lat,"
                 " lon FROM top_sources x" + J),
         [(r["interval"], r["ip"], r["packets"], r["bytes"], joined(r["ports"]),
           joined(r["fingerprints"]), r["cc"], r["asn"], r["lat"], r["lon"])
          for r in by.get("top_source", [])])
    same("alerts",
         db_rows(db, "SELECT i.start, kind, proto, port, at, x.sources, baseline FROM alerts x"
                 + J),
         [(r["interval"], r["type"], r["proto"], r["port"], r["at"], r["sources"], r["baseline"])
          for r in by.get("alert", [])])
    same("DoS victims",
         db_rows(db, "SELECT i.start, target, proto, x.packets, x.bytes, peak_60s, attackers,"
                 " ports, start_us, end_us FROM dos x" + J),
         [(r["interval"], r["target"], r["proto"], r["packets"], r["bytes"], r["peak_60s"],
           r["attackers"], r["ports"], r["start_us"], r["end_us"]) for r in by.get("dos", [])])
    ev_cols = ("window_start, window_end, ip, first_seen_us, last_seen_us, packets, bytes, ports,"
               " fingerprints, classes, cc, asn, lat, lon")
    if "source_events" in tables(db):
        db_ev = db_rows(db, "SELECT " + ev_cols + ", NULL, NULL FROM source_events")
        json_extra = lambda r: (None, None)  # noqa: E731 (the table kept neither)
    else:
        db_ev = shell_rows(db, "SELECT " + ev_cols + ", as_name, more_ports FROM mamori_events")
        json_extra = lambda r: (r["as_name"], int(r["more_ports"]))  # noqa: E731
    same("per-source events", db_ev,
         [(r["window_start"], r["window_end"], r["ip"], r["first_seen_us"], r["last_seen_us"],
           r["packets"], r["bytes"], joined(r["ports"]), joined(r["fingerprints"]),
           joined(r["classes"]), r["cc"], r["asn"], r["lat"], r["lon"], *json_extra(r))
          for r in by.get("event", [])])
    # each interval line counts the lines that follow it
    kinds = ["port", "fingerprint", "country", "asn", "top_source", "alert", "dos"]
    for r in iv:
        got = {k: sum(1 for x in by.get(k, []) if x["interval"] == r["start"]) for k in kinds}
        got["event"] = sum(1 for x in by.get("event", []) if x["window_end"] == r["end"]) \
            if r["events_from"] is not None else 0
        check(got == r["records"], f"interval {r['start']}: records {r['records']} != {got}")
    # live samples: best effort, and the database keeps the newest 2000
    smp = [(r["ts_us"], r["src"], r["lat"], r["lon"], r["cc"], r["proto"], r["port"], r["class"],
            r["fingerprint"]) for r in by.get("sample", [])]
    con = sqlite3.connect(db)
    dbs = con.execute("SELECT ts_us, src, lat, lon, cc, proto, port, class, fingerprint"
                      " FROM live_samples ORDER BY id").fetchall()
    con.close()
    check(smp and dbs == smp[-len(dbs):] and len(dbs) == min(len(smp), 2000),
          f"live samples: {len(dbs)} in the database, {len(smp)} in the JSON lines")
    return by


def prefix(kept, full):
    """kept is full's first intervals, the last of them perhaps cut short (a stop flushes the
    open interval with the packets read so far, as SIGINT does)."""
    n = len(kept)
    return 0 < n < len(full) and kept[:-1] == full[:n - 1] and kept[-1][0] == full[n - 1][0] \
        and kept[-1][2] <= full[n - 1][2]


def run(args, **kw):
    return subprocess.run([M, *args], capture_output=True, text=True, timeout=300, **kw)


def test_observe():
    d = scratch()
    cap = os.path.join(d, "c.pcap")
    run(["synth", "-q", "--out", cap, "--darknet", DN, "--packets", "60000", "--seed", "7"],
        check=True)
    geo = os.path.join(ROOT, "node_modules/@ip-location-db")
    enrich = ["--geo-dir", geo] if os.path.isdir(geo) else ["--no-geo"]
    db, jl = os.path.join(d, "a.db"), os.path.join(d, "a.jsonl")
    p = run(["observe", "-q", "--darknet", DN, "--read", cap, "--db", db, "--event-window", "900",
             "--sink", "sqlite", "--sink", "jsonl:" + jl, *enrich])
    check(p.returncode == 0, f"observe with two sinks: {p.returncode} {p.stderr}")
    by = observe_equal(db, lines(jl))
    if enrich[0] == "--no-geo":
        print("note: no geo data in node_modules: country and ASN rows not compared",
              file=sys.stderr)
    # and the truth: the JSON lines' totals are the capture's
    truth = json.load(open(cap + ".truth.json"))["totals"]
    check(sum(r["packets"] for r in by["interval"]) == truth["packets"],
          f"JSON lines packets != truth {truth['packets']}")
    # a sink that fails mid-run (a full disk): observe stops with its error, and SQLite holds
    # every interval observe accepted, the same as the run that went through (but the last,
    # flushed with what was read when the run stopped).  One aggregator
    # thread, so that every interval the summary counts was handed to the writer (with two, an
    # interval whose parts meet after the failure is dropped before the writer, uncounted by it)
    if os.path.exists("/dev/full"):
        db3 = os.path.join(d, "full.db")
        p = run(["observe", "-q", "--darknet", DN, "--read", cap, "--db", db3, "--event-window",
                 "900", "--threads", "1", "--sink", "sqlite", "--sink", "jsonl:/dev/full",
                 *enrich])
        said = re.search(r"observed (\d+) darknet packets in (\d+) intervals", p.stderr)
        check(p.returncode == 1 and "jsonl /dev/full: No space left on device" in p.stderr
              and said, f"jsonl:/dev/full: {p.returncode} {p.stderr}")
        cols = "start, end, packets, bytes, malformed, non_ip, outside, tcp_syn, udp, first_us"
        kept = db_rows(db3, f"SELECT {cols} FROM intervals ORDER BY start")
        full = db_rows(db, f"SELECT {cols} FROM intervals ORDER BY start")
        check(said and len(kept) == int(said[2]) and sum(r[2] for r in kept) == int(said[1])
              and prefix(kept, full),
              f"jsonl:/dev/full: {len(kept)} intervals kept of {said and said[2]} accepted")
    # a reader that leaves the pipe early: observe stops with the broken pipe, SQLite keeps
    # what it had accepted, whole intervals from the first on
    db4 = os.path.join(d, "pipe.db")
    p = subprocess.Popen([M, "observe", "-q", "--darknet", DN, "--read", cap, "--db", db4,
                          "--threads", "1", "--sink", "sqlite", "--sink", "jsonl:-", *enrich],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    rc = p.wait(timeout=120)
    kept = db_rows(db4, "SELECT start, end, packets FROM intervals ORDER BY start")
    full = db_rows(db, "SELECT start, end, packets FROM intervals ORDER BY start")
    check(json.loads(first)["kind"] in ("interval", "sample") and rc == 1 and "Broken pipe" in err and
          prefix(kept, full),
          f"jsonl:- closed early: exit {rc}, {len(kept)} intervals kept, stderr {err!r}")
    # only JSON lines, to stdout: the same records, no database
    db2 = os.path.join(d, "none.db")
    p = run(["observe", "-q", "--darknet", DN, "--read", cap, "--db", db2, "--event-window",
             "900", "--sink", "jsonl:-", *enrich])
    check(p.returncode == 0 and not os.path.exists(db2),
          f"jsonl:- alone: {p.returncode} {p.stderr}; database made: {os.path.exists(db2)}")
    out = [json.loads(x) for x in p.stdout.splitlines()]
    strip = [k for k in ("interval", "port", "asn", "event", "dos")]
    for k in strip:
        a = [r for r in out if r["kind"] == k]
        check(a == by[k], f"jsonl:- {k} records differ from the two-sink run's")


def lure_equal(db, recs):
    ses = [r for r in recs if r["kind"] == "session"]
    opens = {r["session"]: r for r in ses if r["step"] == "open"}
    closes = {r["session"]: r for r in ses if r["step"] == "close"}
    rebuilt = []
    for sid, o in opens.items():
        c = closes.get(sid, {})
        rebuilt.append((sid, o["sensor"], o["persona"], o["protocol"], o["src_ip"], o["src_port"],
                        o["dst_ip"], o["dst_port"], o["ts_us"], c.get("ts_us"),
                        c.get("username"), c.get("password"), int(c["login_ok"]) if c else None,
                        c.get("logins"), c.get("commands"), c.get("downloads"), c.get("term"),
                        c.get("width"), c.get("height"), c.get("bytes_in"), c.get("reason")))
    same("lure sessions", db_rows(db, "SELECT session, sensor, persona, protocol, src_ip,"
                                  " src_port, dst_ip, dst_port, start_us, end_us, username,"
                                  " password, login_ok, logins, commands, downloads, term, width,"
                                  " height, bytes_in, close_reason FROM lure_sessions"), rebuilt)
    same("lure logins", db_rows(db, "SELECT session, ts_us, username, password, success"
                                " FROM lure_logins"),
         [(r["session"], r["ts_us"], r["username"], r["password"], int(r["success"]))
          for r in ses if r["step"] == "login"])
    same("lure commands", db_rows(db, "SELECT session, ts_us, input FROM lure_commands"),
         [(r["session"], r["ts_us"], r["input"]) for r in ses if r["step"] == "command"])
    same("lure downloads", db_rows(db, "SELECT session, ts_us, kind, tool, url, host, path,"
                                   " sha256, size FROM lure_downloads"),
         [(r["session"], r["ts_us"], r["download"], r["tool"], r["url"], r["host"], r["path"],
           r["sha256"], r["size"]) for r in ses if r["step"] == "download"])
    ind = {}
    for r in recs:
        if r["kind"] != "indicator":
            continue
        k = (r["type"], r["value"])
        f, l, n, s = ind.get(k, (r["ts_us"], r["ts_us"], 0, r["source"]))
        ind[k] = (min(f, r["ts_us"]), max(l, r["ts_us"]), n + 1, s)
    same("indicators", db_rows(db, "SELECT type, value, source, first_seen_us, last_seen_us,"
                               " count FROM indicators"),
         [(t, v, s, f, l, n) for (t, v), (f, l, n, s) in ind.items()])


def test_lure():
    d = scratch()
    jl = os.path.join(d, "lure.jsonl")
    hp = Honeypot("--sink", "sqlite", "--sink", "jsonl:" + jl, tmp=d)
    t = Telnet(hp.port)
    mirai_loader(t, "root", "xc3511")
    t.close()
    t = Telnet(hp.port)
    check(not mirai_login(t, "root", "wrongpass"), "lure: bad credentials accepted")
    t.close()
    t = Telnet(hp.port)  # the same url again: an indicator seen twice
    mirai_loader(t, "root", "xc3511")
    t.close()
    check(hp.stop() == 0, f"lure exit status: {hp.summary}")
    recs = lines(jl)
    lure_equal(hp.db, recs)
    check(sum(1 for r in recs if r["kind"] == "session" and r["step"] == "open") == 3,
          "lure: three sessions opened")
    # the Cowrie log is lure's own and unchanged: one connect per session
    ev = hp.read_events()
    check(sum(1 for e in ev if e["eventid"] == "cowrie.session.connect") == 3,
          "lure: Cowrie events")
    # the router has neither wget nor tftp: the echo dropper builds a file (path, SHA-256, size)
    d = scratch()
    jl = os.path.join(d, "lure.jsonl")
    hp = Honeypot("--sink", "jsonl:" + jl, "--sink", "sqlite", tmp=d, persona="router-mips")
    t = Telnet(hp.port)
    mirai_loader(t, "admin", "admin")
    t.close()
    check(hp.stop() == 0, f"lure (router) exit status: {hp.summary}")
    recs = lines(jl)
    lure_equal(hp.db, recs)
    check(any(r.get("download") == "file" and r["sha256"] and r["size"] > 0 for r in recs),
          "lure (router): no file download among the records")


def one_line_error(args, want, code=2):
    p = run(args, cwd=scratch())
    err = p.stderr.strip().splitlines()
    check(p.returncode == code and len(err) == 1 and want in err[0],
          f"{args[-2:]}: exit {p.returncode}, stderr {p.stderr!r} (want one line with {want!r})")


def test_bad_args():
    d = scratch()
    cap = os.path.join(d, "c.pcap")
    run(["synth", "-q", "--out", cap, "--darknet", DN, "--packets", "10000", "--seed", "3"],
        check=True)
    base = ["observe", "-q", "--no-geo", "--darknet", DN, "--read", cap,
            "--db", os.path.join(d, "x.db")]
    one_line_error(base + ["--sink", "nope"], "no sink named 'nope'")
    one_line_error(base + ["--sink", ""], "NAME[:ARG]")
    one_line_error(base + ["--sink", ":x"], "NAME[:ARG]")
    one_line_error(base + ["--sink", "jsonl"], "jsonl:FILE")
    one_line_error(base + ["--sink", "sqlite:other.db"], "sqlite takes no argument")
    one_line_error(base + ["--sink", "sqlite", "--sink", "sqlite"], "given twice")
    db = os.path.join(d, "y.db")
    one_line_error(base[:-1] + [db, "--sink", "sqlite", "--sink",
                                "jsonl:" + os.path.join(d, "no/such/dir/x")], "no/such/dir", 1)
    check(db_rows(db, "SELECT count(*) FROM intervals") == [(0,)],
          "a sink that cannot open: intervals were written")
    lure = ["lure", "--listen", "127.0.0.1:0", "--events", "-", "--files", "-"]
    one_line_error(lure + ["--sink", "nope"], "no sink named 'nope'")
    one_line_error(lure + ["--db", "-", "--sink", "sqlite"], "no database")
    p = run(["observe", "--sink", "help"])
    check(p.returncode == 0 and "sqlite" in p.stdout and "jsonl" in p.stdout,
          f"--sink help: {p.returncode} {p.stdout!r}")
    p = run(["lure", "--sink", "help"])
    check(p.returncode == 0 and "jsonl" in p.stdout, f"lure --sink help: {p.stdout!r}")


def test_lost_records():
    """A jsonl sink that cannot write (/dev/full) loses lure's records: said on
    one line naming the sink and the error, and lure exits non-zero."""
    hp = Honeypot("--sink", "jsonl:/dev/full")
    for _ in range(3):
        t = Telnet(hp.port)
        check(mirai_login(t, "root", "xc3511"), "lure (/dev/full): login")
        t.close()
    rc = hp.stop()
    said = [ln for ln in hp.summary.splitlines() if "/dev/full" in ln]
    check(rc != 0, f"lure lost every record to /dev/full and exited 0: {hp.summary!r}")
    check(len(said) == 1 and "No space left on device" in said[0],
          f"lure (/dev/full): want one line naming the sink and the error: {hp.summary!r}")


def test_same_file():
    """One file given as two jsonl sinks (however spelled) is refused before
    anything is created; two processes appending to one file keep whole lines."""
    d = scratch()
    a, b = os.path.join(d, "a.pcap"), os.path.join(d, "b.pcap")
    run(["synth", "-q", "--out", a, "--darknet", DN, "--packets", "40000", "--seed", "5"],
        check=True)
    run(["synth", "-q", "--out", b, "--darknet", DN, "--packets", "40000", "--seed", "6"],
        check=True)
    jl, db = os.path.join(d, "t.jsonl"), os.path.join(d, "t.db")
    obs = ["observe", "-q", "--no-geo", "--darknet", DN, "--event-window", "900"]
    one_line_error(obs + ["--read", a, "--read", b, "--db", db, "--sink", "sqlite",
                          "--sink", "jsonl:" + jl, "--sink", "jsonl:" + os.path.join(d, ".", "t.jsonl")],
                   "the same file")
    check(not os.path.exists(jl) and not os.path.exists(db),
          "a refused duplicate sink: files were created")
    open(jl, "w").close()
    os.symlink(jl, os.path.join(d, "l.jsonl"))
    one_line_error(obs + ["--read", a, "--sink", "jsonl:" + jl,
                          "--sink", "jsonl:" + os.path.join(d, "l.jsonl")], "the same file")
    lure = ["lure", "--listen", "127.0.0.1:0", "--events", "-", "--files", "-", "--db", "-"]
    try:  # bounded: a lure that does not refuse would serve until stopped
        p = subprocess.run([M, *lure, "--sink", "jsonl:" + jl,
                            "--sink", "jsonl:" + os.path.join(d, "l.jsonl")],
                           capture_output=True, text=True, timeout=20)
        err = p.stderr.strip().splitlines()
        check(p.returncode == 2 and len(err) == 1 and "the same file" in err[0],
              f"lure, one file as two sinks: exit {p.returncode}, {p.stderr!r}")
    except subprocess.TimeoutExpired:
        check(False, "lure, one file as two sinks: not refused (still running after 20 s)")
    # two observes appending to one file at once: every line whole, every record there
    alone = {}
    for cap in (a, b):
        one = os.path.join(d, os.path.basename(cap) + ".jsonl")
        p = run(obs + ["--read", cap, "--sink", "jsonl:" + one])
        check(p.returncode == 0, f"observe {cap}: {p.stderr}")
        alone[cap] = os.path.getsize(one)
        # live samples are paced by the clock, not the capture: not counted
        alone[cap] = (alone[cap], sum(1 for r in lines(one) if r["kind"] != "sample"))
    check(min(v[0] for v in alone.values()) > 2 << 20,
          f"the captures' JSON lines should pass the 1 MiB buffer twice: {alone}")
    os.unlink(jl)
    procs = [subprocess.Popen([M, *obs, "--read", cap, "--sink", "jsonl:" + jl],
                              stderr=subprocess.PIPE, text=True) for cap in (a, b)]
    for p in procs:
        check(p.wait(timeout=300) == 0, f"concurrent observe: {p.stderr.read()}")
        p.stderr.close()
    n = bad = 0
    with open(jl, encoding="utf-8") as f:
        for line in f:
            n += 1
            try:
                n -= json.loads(line)["kind"] == "sample"
            except ValueError:
                bad += 1
    check(bad == 0 and n == sum(v[1] for v in alone.values()),
          f"two appenders: {bad} torn, {n} lines besides samples, want "
          f"{sum(v[1] for v in alone.values())} whole")


def test_refused_untouched():
    """observe refused (a --read that does not open, a bad --sink) leaves the
    database as it was: an old one not migrated, none created."""
    import gzip
    d = scratch()
    cap = os.path.join(d, "c.pcap")
    run(["synth", "-q", "--out", cap, "--darknet", DN, "--packets", "10000", "--seed", "4"],
        check=True)
    old = os.path.join(d, "old.db")
    con = sqlite3.connect(old)
    con.executescript(gzip.open(os.path.join(ROOT, "tests/fixtures/observe-schema3.sql.gz"),
                                "rt").read())
    con.commit()
    con.close()
    version = db_rows(old, "PRAGMA user_version")
    with open(old, "rb") as f:
        before = f.read()
    base = ["observe", "-q", "--no-geo", "--darknet", DN, "--read", cap]
    one_line_error(base + ["--read", os.path.join(d, "nosuch.pcap"), "--db", old],
                   "nosuch.pcap", 1)
    not_cap = os.path.join(d, "notes.txt")
    with open(not_cap, "w") as f:
        f.write("not a capture\n" * 10)
    one_line_error(base[:-2] + ["--read", not_cap, "--db", old], "notes.txt", 1)
    one_line_error(base + ["--db", old, "--sink", "sqlite:x"], "sqlite takes no argument")
    with open(old, "rb") as f:
        check(f.read() == before and db_rows(old, "PRAGMA user_version") == version,
              f"a refused observe changed the database (user_version {version})")
    new = os.path.join(d, "new.db")
    one_line_error(base + ["--db", new, "--sink", "sqlite:x"], "sqlite takes no argument")
    one_line_error(base + ["--db", new, "--read", os.path.join(d, "nosuch.pcap")], "nosuch", 1)
    check(not os.path.exists(new), "a refused observe created a database")


def test_summary_names_sinks():
    d = scratch()
    cap = os.path.join(d, "c.pcap")
    run(["synth", "-q", "--out", cap, "--darknet", DN, "--packets", "10000", "--seed", "4"],
        check=True)
    db, jl = os.path.join(d, "s.db"), os.path.join(d, "F.jsonl")
    p = run(["observe", "--no-geo", "--darknet", DN, "--read", cap, "--db", db,
             "--sink", "sqlite", "--sink", "jsonl:" + jl])
    last = [ln for ln in p.stderr.splitlines() if ln.startswith("mamori: observed")]
    check(p.returncode == 0 and len(last) == 1 and last[0].endswith(f"-> {db}, jsonl:{jl}"),
          f"summary should name both sinks: {p.stderr!r}")


test_observe()
test_lure()
test_bad_args()
test_lost_records()
test_same_file()
test_refused_untouched()
test_summary_names_sinks()
if errors:
    sys.exit(f"{len(errors)} failures")
print("sinks: ok")
