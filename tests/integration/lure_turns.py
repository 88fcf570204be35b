#!/usr/bin/env python3
"""mamori lure under many CPU-heavy sessions that each send one command line
at a time, the next one as soon as the prompt comes back (so none of them
has input waiting in the run queue): every line spends its whole work budget.
While they run, a new client gets its login prompt within a second, the
attackers still make progress, and SIGTERM ends the process within a second.
(Before, every session read in one loop turn ran its line in that turn, so
120 of them held the loop for seconds and new clients got no greeting.)"""
import os
import selectors
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import Honeypot, Telnet, cpu_seconds, mirai_login

LIMIT = 1.0     # seconds: a greeting, a stop
ATTACKERS = 120
PROBES = 5
LINE = b"while true; do cat /proc/cpuinfo /proc/mounts; done >/dev/null\r\n"
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL:", what, file=sys.stderr)



def main():
    hp = Honeypot("--rate", "0", "--idle-timeout", "600")
    bots = []
    for i in range(ATTACKERS):
        t = Telnet(hp.port, source=f"127.0.{9 + i // 60}.{i % 60 + 1}")
        check(mirai_login(t, "root", "xc3511"), f"attacker {i}: login")
        t.buf = b""
        bots.append(t)
    sel = selectors.DefaultSelector()
    for t in bots:
        t.s.setblocking(False)
        t.s.sendall(LINE)
        sel.register(t.s, selectors.EVENT_READ, t)
    lines, greet, probe = 0, [], None
    cpu0, t0 = cpu_seconds(hp.proc.pid), time.monotonic()
    next_probe = time.monotonic() + 0.5  # let the attack reach its pace
    # a probe that gets no greeting at all ends the run after its 3 s
    end = time.monotonic() + 0.5 + PROBES * (LIMIT + 0.2) + 3
    while len(greet) < PROBES and time.monotonic() < end:
        now = time.monotonic()
        if probe is None and now >= next_probe:
            probe = socket.create_connection(("127.0.0.1", hp.port), timeout=LIMIT)
            probe.setblocking(False)
            probe_start, probe_buf = now, b""
            sel.register(probe, selectors.EVENT_READ, None)
        if probe is not None and now - probe_start > 3:
            greet.append(float("inf"))
            break
        for key, _ in sel.select(0.02):
            if key.data is None:
                try:
                    probe_buf += probe.recv(4096)
                except BlockingIOError:
                    continue
                if b"login: " in probe_buf:
                    greet.append(time.monotonic() - probe_start)
                    sel.unregister(probe)
                    probe.close()
                    probe, next_probe = None, time.monotonic() + 0.2
                continue
            t = key.data
            try:
                d = t.s.recv(65536)
            except BlockingIOError:
                continue
            if not d:
                sel.unregister(t.s)
                continue
            t.buf = (t.buf + d)[-8:]
            if t.buf.endswith(b"# "):  # the prompt: the next heavy line
                t.buf = b""
                t.s.sendall(LINE)
                lines += 1
    busy = (cpu_seconds(hp.proc.pid) - cpu0) / (time.monotonic() - t0)
    greet.sort()
    print(f"{ATTACKERS} attackers ran {lines} heavy lines (honeypot CPU {busy:.0%}); greetings "
          + ", ".join(f"{g * 1e3:.0f}" for g in greet) + " ms")
    check(len(greet) == PROBES and greet[-1] < LIMIT,
          f"greetings while attacked: {greet} (want {PROBES} under {LIMIT} s)")
    check(lines > 0 and busy > 0.5, f"the attack was not running ({lines} lines, CPU {busy:.0%})")

    start = time.monotonic()
    hp.proc.send_signal(signal.SIGTERM)
    try:
        rc = hp.proc.wait(timeout=LIMIT)
    except Exception:
        rc = None
    print(f"SIGTERM to exit: {(time.monotonic() - start) * 1e3:.0f} ms")
    check(rc == 0, f"SIGTERM did not end the process within {LIMIT} s (rc {rc})")
    if probe is not None:
        probe.close()
    for t in bots:
        t.close()
    hp.stop()


if __name__ == "__main__":
    main()
    if errors:
        sys.exit(f"{len(errors)} failures")
    print("lure_turns: all checks passed")
