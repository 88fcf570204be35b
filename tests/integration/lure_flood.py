#!/usr/bin/env python3
"""mamori lure under a loopback flood: thousands of connections from 200
loopback sources as fast as one client process can open them, a mix of
complete bot sessions, idle (half-open) ones that never speak, half-closed
ones (a broken NAWS and half a username, then FIN), malformed
byte streams (broken telnet subnegotiations, IAC floods, NULs, 100 KB lines)
and resets.  Afterwards the process is alive, its memory is bounded, every
completed session is in the event log with its command, and a clean stop
logs every session it had."""
import os
import random
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import Honeypot, rss_kib

TOTAL = int(os.environ.get("FLOOD_CONNECTIONS", "4000"))
INFLIGHT = 400
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL:", what, file=sys.stderr)


def malformed(rng):
    parts = [
        b"\xff\xfa\x1f" + bytes(rng.randrange(256) for _ in range(200)),  # SB NAWS never ended
        b"\xff" * rng.randrange(1, 3000),
        b"\x00" * 500 + b"\r\x00\r\n",
        b"A" * 100000,
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000))),
        b"\xff\xfb\x18\xff\xfa\x18\x00" + b"x" * 300 + b"\xff\xf0",  # TTYPE IS, oversized
        b"\xff\xfb\x27\xff\xfa\x27\x00" + b"\x00V\x01v" * 100 + b"\xff\xf0",  # NEW-ENVIRON
        b"root\r\nxc3511\r\n" + b"echo " + b"$" * 5000 + b"\r\n" + b"(((((((((((((((((((((\r\n",
    ]
    return b"".join(rng.sample(parts, 3))


def main():
    rng = random.Random(2016)
    # under AddressSanitizer, freed memory sits in a 256 MB quarantine; a small one keeps RSS
    # about the honeypot (the bound below is the same for both builds)
    asan = os.environ.get("ASAN_OPTIONS")
    env = {"ASAN_OPTIONS": asan + ":quarantine_size_mb=16"} if asan else None
    hp = Honeypot("--login-timeout", "120", "--idle-timeout", "120", env=env)
    base = rss_kib(hp.proc.pid)
    sel = selectors.DefaultSelector()
    kinds = ["complete"] * 4 + ["idle"] * 2 + ["malformed"] * 2 + ["reset", "halfclosed"]
    started = finished = 0
    completed, idle_socks = {}, []
    t0 = time.monotonic()
    while finished < TOTAL:
        while started < TOTAL and started - finished < INFLIGHT:
            kind = kinds[started % len(kinds)]
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((f"127.0.1.{started % 200 + 1}", 0))
            s.connect_ex(("127.0.0.1", hp.port))
            sel.register(s, selectors.EVENT_WRITE, {"kind": kind, "n": started, "data": b""})
            started += 1
        for key, ev in sel.select(timeout=10):
            s, st = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE and "sent" not in st:
                st["sent"] = True
                try:
                    if st["kind"] == "complete":
                        s.sendall(b"root\r\nxc3511\r\necho flood-%d\r\nexit\r\n" % st["n"])
                    elif st["kind"] == "malformed":
                        s.setblocking(True)
                        s.settimeout(5)
                        s.sendall(malformed(rng))
                        raise ConnectionResetError  # hang up without waiting for answers
                    elif st["kind"] == "halfclosed":
                        # half a login, then our side closes: the server reads EOF
                        # while its answer is still owed, and must clean up
                        s.sendall(b"\xff\xfb\x1f\xff\xfa\x1f\x00")
                        s.sendall(b"roo")
                        s.shutdown(socket.SHUT_WR)
                    elif st["kind"] == "reset":
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        raise ConnectionResetError
                    elif st["kind"] == "idle":
                        sel.unregister(s)
                        idle_socks.append(s)
                        finished += 1
                        continue
                    sel.modify(s, selectors.EVENT_READ, st)
                except OSError:
                    sel.unregister(s)
                    s.close()
                    finished += 1
                continue
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if d:
                st["data"] += d
                continue
            sel.unregister(s)
            if st["kind"] == "complete":
                completed[s.getsockname()] = (st["n"], b"flood-%d" % st["n"] in st["data"])
            s.close()
            finished += 1
        if time.monotonic() - t0 > 300:
            check(False, f"flood did not finish: {finished}/{TOTAL}")
            break
    elapsed = time.monotonic() - t0
    alive = hp.proc.poll() is None
    peak = rss_kib(hp.proc.pid) if alive else 0
    print(f"flood: {TOTAL} connections in {elapsed:.1f} s ({TOTAL / elapsed:.0f}/s), "
          f"{len(idle_socks)} idle held, RSS {base} -> {peak} KiB")
    check(alive, "lure died under the flood")
    check(peak < 128 * 1024, f"RSS {peak} KiB over 128 MiB")
    ok = [k for k, (n, got) in completed.items() if got]
    check(len(ok) == len(completed) and len(completed) >= TOTAL * 0.35,
          f"completed sessions: {len(ok)} of {len(completed)} got their output")
    for s in idle_socks:
        s.close()
    check(hp.stop() == 0, f"exit status; {hp.summary}")
    evs = hp.read_events()
    cmds = {(e["src_ip"], e["src_port"]): e["input"] for e in evs
            if e["eventid"] == "cowrie.command.input" and e["input"].startswith("echo flood-")}
    missing = [k for k in ok if cmds.get(k) != "echo flood-%d" % completed[k][0]]
    check(not missing, f"{len(missing)} completed sessions not logged, e.g. {missing[:3]}")
    connects = sum(e["eventid"] == "cowrie.session.connect" for e in evs)
    closed = sum(e["eventid"] == "cowrie.session.closed" for e in evs)
    check(connects == closed and connects > 0, f"connect {connects} != closed {closed}")
    print(f"flood: {connects} sessions logged, {len(ok)} complete bot sessions verified; {hp.summary.strip()}")


if __name__ == "__main__":
    main()
    if errors:
        sys.exit(f"{len(errors)} failures")
    print("lure_flood: all checks passed")
