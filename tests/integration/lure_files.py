#!/usr/bin/env python3
"""mamori lure's file store as a whole: --files-cap bounds what the directory
holds (files past it are still logged with their SHA-256 and size, no longer
stored, and one warning says so), and the staging files a `kill -9` leaves
behind are finished at the next start (stored under their SHA-256, or removed
when they are probes or already stored)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import Honeypot, Telnet, mirai_login, scratch, sha256

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL:", what, file=sys.stderr)


def content(i, n=400):
    return (f"file {i} ".encode() * n)[:n]


def put(t, path, data, token):
    """Writes data to path with echo -ne (the dropper's way) and waits for the prompt."""
    esc = "".join("\\x%02x" % c for c in data)
    chunks = [esc[i:i + 3000] for i in range(0, len(esc), 3000)]
    for i, c in enumerate(chunks):
        line = f"echo -ne '{c}' {'>>' if i else '>'} {path}"
        if i == len(chunks) - 1:  # the token on the same line: the file is still being written
            line += f"; /bin/busybox {token}"
        t.send(line)
    t.read_until(f"{token}: applet not found".encode())


def stored(d):
    return {f: os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)}


def test_cap():
    cap = 1000
    hp = Honeypot("--files-cap", str(cap))
    t = Telnet(hp.port)
    check(mirai_login(t, "root", "xc3511"), "cap: login")
    for i in range(5):  # 5 x 400 bytes against a 1000-byte cap: two fit
        put(t, f"/tmp/f{i}", content(i), f"TOKEN{i}")
    t.send("exit")
    t.read_eof()
    t.close()
    rc = hp.stop()
    check(rc == 0, f"cap: exit status {rc}")
    files = stored(hp.files)
    check(sum(files.values()) <= cap, f"cap: directory holds {sum(files.values())} > {cap}")
    check(sorted(files) == sorted([sha256(content(0)), sha256(content(1))]),
          f"cap: stored {files}")
    evs = [e for e in hp.read_events() if e.get("shasum")]
    check([e["shasum"] for e in evs] == [sha256(content(i)) for i in range(5)],
          f"cap: file events {[e.get('shasum') for e in evs]}")
    check(["outfile" in e for e in evs] == [True, True, False, False, False],
          f"cap: outfile present {[('outfile' in e) for e in evs]}")
    warn = [l for l in hp.summary.splitlines() if "--files-cap" in l and "no longer stored" in l]
    check(len(warn) == 1, f"cap: {len(warn)} warnings in {hp.summary!r}")
    rows = hp.query("SELECT count(*) FROM lure_downloads WHERE kind='file'")
    check(rows == [(5,)], f"cap: download rows {rows}")


def test_kill9_staging():
    d = scratch()
    hp = Honeypot(tmp=d)
    files = hp.files
    # an earlier run's leftovers: a probe-sized one, one that is stored already
    kept = content(9, 300)
    with open(os.path.join(files, sha256(kept)), "wb") as f:
        f.write(kept)
    with open(os.path.join(files, ".part-000000000000-1"), "wb") as f:
        f.write(b"kami/tmp")
    with open(os.path.join(files, ".part-000000000000-2"), "wb") as f:
        f.write(kept)
    t = Telnet(hp.port)
    check(mirai_login(t, "root", "xc3511"), "kill -9: login")
    payload = content(7, 5000)
    put(t, "/tmp/dropper", payload, "TOKENK")  # staged; no later line has left it alone yet
    old = {".part-000000000000-1", ".part-000000000000-2"}
    parts = [f for f in os.listdir(files) if f.startswith(".part-") and f not in old]
    check(len(parts) == 1 and os.path.getsize(os.path.join(files, parts[0])) == len(payload),
          f"kill -9: staging file before the kill: {stored(files)}")
    hp.proc.kill()
    hp.proc.wait()
    t.close()
    hp2 = Honeypot(tmp=d)
    left = {f: n for f, n in stored(files).items() if f.startswith(".part-")}
    check(not left, f"kill -9: staging files left after restart: {left}")
    want = {sha256(payload): len(payload), sha256(kept): len(kept)}
    check(stored(files) == want, f"kill -9: directory {stored(files)} != {want}")
    path = os.path.join(files, sha256(payload))
    check(os.path.exists(path) and open(path, "rb").read() == payload,
          "kill -9: the staged file was not finished under its SHA-256")
    check(hp2.stop() == 0, "kill -9: exit status")
    check("3 staging files left by an earlier run: 1 stored, 2 removed" in hp2.summary,
          f"kill -9: summary {hp2.summary!r}")


def test_shared_dir():
    """Two lure processes (two personas) share one directory: the second one's
    start must not take the first one's live staging file for a leftover."""
    d = scratch()
    a = Honeypot(tmp=d)
    t = Telnet(a.port)
    check(mirai_login(t, "root", "xc3511"), "shared: login")
    first, second = content(5, 600), content(6, 600)
    put(t, "/tmp/dropper", first, "TOKENA")  # staged, still being written
    b = Honeypot(persona="router-mips", tmp=d)
    # the next line appends to it (a dropper's way), with the token on the same line
    t.send("echo -ne '" + "".join("\\x%02x" % c for c in second) + "' >> /tmp/dropper; "
           "/bin/busybox TOKENC")
    t.read_until(b"TOKENC: applet not found")
    t.send("exit")
    t.read_eof()
    t.close()
    check(a.stop() == 0 and b.stop() == 0, "shared: exit status")
    files = stored(a.files)
    for name in files:
        with open(os.path.join(a.files, name), "rb") as f:
            check(sha256(f.read()) == name, f"shared: {name} does not hold its SHA-256's content")
    check(sha256(first + second) in files, f"shared: the whole dropper not stored: {files}")
    check("1 staging files left alone: another mamori lure uses" in b.summary,
          f"shared: second start's summary {b.summary!r}")


if __name__ == "__main__":
    test_cap()
    test_kill9_staging()
    test_shared_dir()
    if errors:
        sys.exit(f"{len(errors)} failures")
    print("lure_files: all checks passed")
