#!/usr/bin/env python3
"""mamori lure under a CPU-heavy session: about 40 KB of attacker input build a
1 MB file and a script that runs `grep -i` with a 4 KB pattern over it, then
ask for that script in loops, line after line.  While it runs, new clients
get their login prompt within a second and sessions already at the shell
answer within a second; SIGTERM ends the process within a second, with every
session logged.  (Before the work budget this one session held the event
loop for minutes and SIGTERM waited for it.)"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import Honeypot, Telnet, cpu_seconds, mirai_login

LIMIT = 1.0  # seconds: a greeting, an answer, a stop
HELD = 40    # sessions at the shell prompt during the attack
PROBES = 8   # new connections timed during the attack
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL:", what, file=sys.stderr)



def attack_lines():
    """The attacker's input: a 1 MB file of 'a', a script grepping it with a
    4 KB pattern that almost matches everywhere ('aaa...ab'), then loops of it."""
    lines = ["cd /tmp", "echo -n " + "a" * 3000 + " > a"]
    for _ in range(3):  # 3000 -> 1 MiB (the redirection cap) in three steps of x8
        lines.append("cat a a a a a a a a > b; cat b > a; rm b")
    pattern = "a" * 3999 + "b"
    lines.append("echo -n 'grep -i ' > s")
    lines += [f"echo -n {pattern[i:i + 2000]} >> s" for i in range(0, 4000, 2000)]
    lines.append("echo ' /tmp/a' >> s")
    lines.append("wc -c a; wc -c s; X=RT; echo STA$X")  # the echoed input is not START
    lines += ["while true; do sh s; done"] * 1200
    return lines


def main():
    hp = Honeypot("--rate", "0", "--fs-cap", str(8 << 20), "--idle-timeout", "600")
    held = []
    for i in range(HELD):
        t = Telnet(hp.port, source=f"127.0.3.{i + 1}")
        check(mirai_login(t, "root", "xc3511"), f"held session {i}: login")
        held.append(t)
    bot = Telnet(hp.port, source="127.0.2.1")
    check(mirai_login(bot, "root", "xc3511"), "attacker: login")
    lines = attack_lines()
    data = "".join(l + "\r\n" for l in lines).encode()
    print(f"attack: {len(data)} bytes of input, {len(lines)} command lines")
    bot.s.sendall(data)
    try:
        _, out = bot.read_until(b"\r\nSTART", deadline=20)
    except (TimeoutError, EOFError):
        out = b"(nothing: the output of the set-up is stuck behind the attack)"
    check(b"1048576\r\n4016\r\nSTART" in out, f"attack set-up: {out[-200:]!r}")
    cpu0, t0 = cpu_seconds(hp.proc.pid), time.monotonic()

    greet = []
    for i in range(PROBES):
        start = time.monotonic()
        t = Telnet(hp.port, source=f"127.0.4.{i + 1}")
        try:
            t.read_until(b"login: ", deadline=2)
            greet.append(time.monotonic() - start)
        except (TimeoutError, EOFError):
            greet.append(float("inf"))
        t.close()
        if greet[-1] == float("inf"):
            break  # the loop is held: one probe shows it
    answer = []
    for i, t in enumerate(held):
        start = time.monotonic()
        t.send(f"echo alive-{i}")
        try:
            t.read_until(f"alive-{i}\r\n".encode(), deadline=2)
            answer.append(time.monotonic() - start)
        except (TimeoutError, EOFError):
            answer.append(float("inf"))
            break
    busy = (cpu_seconds(hp.proc.pid) - cpu0) / (time.monotonic() - t0)
    greet.sort()
    answer.sort()
    print(f"while attacked (honeypot CPU {busy:.0%}): greeting p50 {greet[len(greet) // 2] * 1e3:.0f} ms "
          f"max {greet[-1] * 1e3:.0f} ms; {HELD} held sessions answered, p50 "
          f"{answer[len(answer) // 2] * 1e3:.0f} ms max {answer[-1] * 1e3:.0f} ms")
    check(busy > 0.5, f"the attack was not running during the probes (CPU {busy:.0%})")
    check(greet[-1] < LIMIT, f"greeting took {greet[-1]:.2f} s while attacked")
    check(answer[-1] < LIMIT, f"a held session answered in {answer[-1]:.2f} s while attacked")

    start = time.monotonic()
    hp.proc.send_signal(signal.SIGTERM)
    try:
        rc = hp.proc.wait(timeout=LIMIT)
    except Exception:
        rc = None
    took = time.monotonic() - start
    print(f"SIGTERM to exit: {took * 1e3:.0f} ms")
    check(rc == 0, f"SIGTERM did not end the process within {LIMIT} s (rc {rc})")
    if rc is None:
        hp.proc.kill()
    rc = hp.stop()
    for t in held + [bot]:
        t.close()
    if rc == 0:
        evs = hp.read_events()
        connects = sum(e["eventid"] == "cowrie.session.connect" for e in evs)
        closed = sum(e["eventid"] == "cowrie.session.closed" for e in evs)
        check(connects == closed == HELD + 1 + len(greet),
              f"sessions: {connects} connect, {closed} closed")


if __name__ == "__main__":
    main()
    if errors:
        sys.exit(f"{len(errors)} failures")
    print("lure_cpu: all checks passed")
