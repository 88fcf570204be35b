#!/usr/bin/env python3
"""Demo: run `mamori lure` on loopback with each bundled persona and replay what
Mirai-family bots do to it (scanner logins with right and wrong passwords, the
Mirai loader, a Gafgyt loader), writing events and rows to the given places.
Loopback only; the URLs the bots name (198.18.0.0/15) are never contacted.
Usage: tools/lure_replay.py DB EVENTS_FILE FILES_DIR"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("MAMORI", os.path.join(ROOT, "build", "mamori"))
os.environ.setdefault("MAMORI_SOURCE_ROOT", ROOT)
import lurelib  # noqa: E402

XSS = '<img src=x onerror="document.body.dataset.xss=1">'


def main():
    db, events, files = sys.argv[1:4]
    runs = [("dvr-armv7", "root", "xc3511"), ("camera-arm", "root", "vizxv"),
            ("router-mips", "admin", "admin")]
    for persona, user, password in runs:
        hp = lurelib.Honeypot("--db", db, "--events", events, "--files", files, persona=persona)
        for wrong in ("letmein", "hunter2"):
            t = lurelib.Telnet(hp.port, source="127.0.0.7")
            lurelib.mirai_login(t, user, wrong)
            t.close()
        t = lurelib.Telnet(hp.port, source="127.0.0.8")
        seen = lurelib.mirai_loader(t, user, password)
        t.close()
        if persona == "dvr-armv7":
            t = lurelib.Telnet(hp.port, source="127.0.0.9")
            lurelib.gafgyt(t, "admin", "admin", "http://198.18.0.7/bins/x86")
            t.close()
            # what attackers type reaches the dashboard: it must stay text
            for _ in range(3):
                t = lurelib.Telnet(hp.port, source="127.0.0.10")
                lurelib.mirai_login(t, XSS, "x")
                t.close()
        hp.stop()
        print(f"lure {persona}: Mirai loader reached {seen['stages'][-1]} "
              f"(download by {seen['method']}, arch {seen['arch']})")


if __name__ == "__main__":
    main()
