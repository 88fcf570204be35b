#!/usr/bin/env python3
"""mamori lure where a newcomer runs it: in a fresh directory with the default
paths (var/lure.json, var/mamori.db, var/lure-files are created, as --db
creates its directory), with `--db - --events -` (only the files directory)
and with nested paths; and installed (`meson install --destdir`, a prefix
that is not where it was configured to be) run from an empty directory under
/tmp with no MAMORI_DATA: it finds its personas and userdb next to itself.
A copy of the binary with no data next to it never reads ./data of the
directory it runs in (anyone may write one under /tmp): it says what is
missing and exits 1."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import M, Telnet, mirai_login, scratch

M = os.path.abspath(M)

MESON = os.environ.get("MESON", "meson")
BUILD = os.environ.get("MESON_BUILD_ROOT", os.path.dirname(os.path.abspath(M)))
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL:", what, file=sys.stderr)


def env_without_data():
    e = dict(os.environ)
    e.pop("MAMORI_DATA", None)
    return e


def start(binary, cwd, *args):
    """Starts lure on an ephemeral loopback port; returns (proc, port) or (proc, None)."""
    p = subprocess.Popen([binary, "lure", "--listen", "127.0.0.1:0", "--sensor", "t", *args],
                         cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                         env=env_without_data())
    line = p.stderr.readline()
    if " on " not in line:
        p.wait(timeout=30)
        return p, None, line + p.stderr.read()
    return p, int(line.split(" on ")[1].split(" ")[0].rsplit(":", 1)[1]), line


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def login(port, user, password):
    t = Telnet(port)
    ok = mirai_login(t, user, password)
    t.close()
    return ok


def test_fresh_directory():
    for args, made in [([], ["var/lure.json", "var/mamori.db", "var/lure-files"]),
                       (["--db", "-", "--events", "-"], ["var/lure-files"]),
                       (["--db", "x/y/m.db", "--events", "a/b/e.json", "--files", "c/d/f"],
                        ["x/y/m.db", "a/b/e.json", "c/d/f"])]:
        d = scratch()
        p, port, msg = start(M, d, *args)
        check(port is not None, f"fresh dir {args}: did not start: {msg.strip()}")
        if port:
            check(login(port, "root", "xc3511"), f"fresh dir {args}: default userdb login")
        check(stop(p) == 0, f"fresh dir {args}: exit status")
        for m in made:
            check(os.path.exists(os.path.join(d, m)), f"fresh dir {args}: {m} not created")
    d = scratch()
    with open(os.path.join(d, "file"), "w"):
        pass
    p, port, msg = start(M, d, "--db", "-", "--events", "-", "--files", "file/sub")
    check(port is None and p.returncode == 1 and msg.startswith("mamori: --files file/sub: ")
          and len(msg.strip().splitlines()) == 1, f"--files under a file: {msg!r}")


def test_installed():
    tmp = tempfile.mkdtemp(prefix="mamori-install-", dir="/tmp")
    try:
        dest = os.path.join(tmp, "dest")
        r = subprocess.run([MESON, "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                            "--quiet"], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"meson install: {r.stdout}{r.stderr}")
        found = [os.path.join(root, "mamori") for root, _, files in os.walk(dest)
                 if "mamori" in files and root.endswith("/bin")]
        check(len(found) == 1, f"installed binary: {found}")
        if len(found) != 1:
            return
        binary = found[0]
        share = os.path.join(os.path.dirname(os.path.dirname(binary)), "share", "mamori")
        # a userdb only the installed tree has, so a login proves which one was read
        with open(os.path.join(share, "lure", "userdb.txt"), "w") as f:
            f.write("installed:x:from-destdir\n")
        run = os.path.join(tmp, "run")
        os.mkdir(run)
        r = subprocess.run([binary, "lure", "--list-personas"], cwd=run, capture_output=True,
                           text=True, env=env_without_data(), timeout=30)
        names = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
        check(r.returncode == 0 and names == ["dvr-armv7", "router-mips", "camera-arm"]
              and "not found" not in r.stdout, f"installed --list-personas: {r.stdout}{r.stderr}")
        p, port, msg = start(binary, run, "--persona", "router-mips")
        check(port is not None, f"installed lure did not start: {msg.strip()}")
        if port:
            check(login(port, "installed", "from-destdir"), "installed userdb not used")
            check(not login(port, "root", "xc3511"), "a userdb other than the installed one used")
        check(stop(p) == 0, "installed: exit status")
        check(os.path.isdir(os.path.join(run, "var", "lure-files")), "installed: var/ not made")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_no_cwd_data():
    tmp = tempfile.mkdtemp(prefix="mamori-cwd-", dir="/tmp")
    try:
        os.mkdir(os.path.join(tmp, "bin"))
        binary = os.path.join(tmp, "bin", "mamori")
        shutil.copy(M, binary)  # a bare copy: no share/mamori beside it, not the build tree
        run = os.path.join(tmp, "run")
        for sub in ("data/personas", "data/lure"):
            os.makedirs(os.path.join(run, sub))
        # what a local user could leave in a shared directory
        src = os.path.join(os.path.dirname(__file__), "../../data/personas/dvr-armv7.persona")
        shutil.copy(src, os.path.join(run, "data/personas/dvr-armv7.persona"))
        with open(os.path.join(run, "data/lure/userdb.txt"), "w") as f:
            f.write("planted:x:from-cwd\n")
        p, port, msg = start(binary, run, "--db", "-", "--events", "-", "--files", "-")
        if port:
            check(not login(port, "planted", "from-cwd"), "./data's planted userdb was used")
        check(port is None and p.returncode == 1 and len(msg.strip().splitlines()) == 1,
              f"bare binary beside a planted ./data: {msg!r}")
        stop(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    test_fresh_directory()
    test_installed()
    test_no_cwd_data()
    if errors:
        sys.exit(f"{len(errors)} failures")
    print("lure_install: all checks passed")
