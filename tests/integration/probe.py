#!/usr/bin/env python3
"""probe against devices whose answers the test knows: in a network namespace of its own
(prb-it-PID, addresses of 198.18.0.0/24 on its loopback, ports 23001-23099), two `mamori lure`
BusyBox devices (one accepting Mirai's 2nd pair, one a pair past --max-attempts), a telnet device
that records every byte it gets after its shell prompt, HTTP devices with Basic and Digest auth
(checked here with hashlib), an open page, a strong password and a closed port.  Asserts exactly
which accept a dictionary pair, that at most --max-attempts logins reach each device (counted by
the devices), that nothing is sent after a successful login, that no password is written
anywhere, the round's records in the sink, and the audit line.  Needs root (namespaces); every
process and the namespace are removed, also on failure."""
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

M = os.environ.get("MAMORI", "build/mamori")
ROOT = os.environ.get("MAMORI_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
NS = f"prb-it-{os.getpid()}"
SSHD = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "--inside" else (
    sys.argv[2] if len(sys.argv) > 2 else "build/tests/sshd_stub")
MAX_ATT = 5
STRONG = "Zq9-strong-Xk"  # a password no dictionary has


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.v = {}

    def add(self, key, n=1):
        with self.lock:
            self.v[key] = self.v.get(key, 0) + n

    def get(self, key):
        with self.lock:
            return self.v.get(key, 0)


C = Counter()


def serve(addr, port, handler):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)

    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return s


def recv_line(c, buf):
    while b"\n" not in buf[0]:
        d = c.recv(4096)
        if not d:
            return None
        buf[0] += d
    line, buf[0] = buf[0].split(b"\n", 1)
    return line.rstrip(b"\r")


def strip_iac(b):
    return re.sub(rb"\xff[\xfb-\xfe].", b"", b)


def telnet_recorder(c):
    """Accepts admin/admin (Mirai's 4th pair): prompt, then option requests in the same write as
    the shell prompt, then waits for anything at all (there must be nothing)."""
    buf = [b""]
    c.settimeout(10)
    try:
        c.sendall(b"\xff\xfd\x1f\xff\xfb\x01(none) login: ")
        while True:
            user = recv_line(c, buf)
            if user is None:
                return
            c.sendall(b"Password: ")
            pw = recv_line(c, buf)
            if pw is None:
                return
            user, pw = strip_iac(user), strip_iac(pw)
            C.add("recorder-logins")
            if (user, pw) == (b"admin", b"admin"):
                break
            c.sendall(b"\r\nLogin incorrect\r\n(none) login: ")
        c.sendall(b"\r\n\r\nBusyBox v1.19.4 (2013-05-21) built-in shell (ash)\r\n"
                  b"Enter 'help' for a list of built-in commands.\r\n\r\n\xff\xfd\x18# ")
        t0 = time.time()
        after = b""
        try:
            while time.time() - t0 < 3:
                d = c.recv(4096)
                if not d:
                    break
                after += d
        except (socket.timeout, ConnectionResetError):
            pass
        C.add("recorder-after", len(after) + len(buf[0]))
        C.add("recorder-closed-in-ms", int((time.time() - t0) * 1000))
        C.add("recorder-done")
    finally:
        c.close()


def http_handler(kind, accept):
    """kind: 'basic', 'digest' or 'open'; accept: (user, pass) or None."""
    realm, nonce = "IPCam-" + kind, hashlib.md5(kind.encode()).hexdigest()

    def ok_digest(h):
        f = dict(re.findall(r'(\w+)="?([^",]*)"?', h[len("Digest "):]))
        if not accept or f.get("username") != accept[0] or f.get("nonce") != nonce:
            return False
        ha1 = hashlib.md5(f"{accept[0]}:{realm}:{accept[1]}".encode()).hexdigest()
        ha2 = hashlib.md5(f"GET:{f['uri']}".encode()).hexdigest()
        want = hashlib.md5(f"{ha1}:{nonce}:{f['nc']}:{f['cnonce']}:auth:{ha2}".encode()).hexdigest()
        return f.get("response") == want and f.get("qop") == "auth"

    def handle(c):
        buf, accepted_here = b"", False
        c.settimeout(10)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
                C.add(kind + "-ua:" + hdr.get("user-agent", ""))
                auth = hdr.get("authorization")
                if accepted_here:
                    C.add(kind + "-after")  # a request after the 200 that accepted a login
                if auth:
                    C.add(kind + "-attempts")
                good = kind == "open" or (auth and accept and (
                    (kind == "basic" and auth == "Basic " + base64.b64encode(
                        f"{accept[0]}:{accept[1]}".encode()).decode()) or
                    (kind == "digest" and ok_digest(auth))))
                if good:
                    if auth:
                        C.add(kind + "-accepted")
                        accepted_here = True
                    body = b"<html><head><title>Camera Admin</title></head></html>"
                    c.sendall(b"HTTP/1.1 200 OK\r\nServer: Boa/0.94.14rc21\r\nContent-Length: " +
                              str(len(body)).encode() + b"\r\n\r\n" + body)
                    continue
                chal = (f'Basic realm="{realm}"' if kind == "basic" else
                        f'Digest realm="{realm}", qop="auth", nonce="{nonce}", opaque="x1"')
                c.sendall(f"HTTP/1.1 401 Unauthorized\r\nServer: Boa/0.94.14rc21\r\n"
                          f"WWW-Authenticate: {chal}\r\nContent-Length: 0\r\n\r\n".encode())
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass
        finally:
            c.close()

    return handle


def rate_check(tmp, optout, audit):
    """--rate: the accept times of 80 open pages (one connection each) on 80 addresses, as the
    server sees them, span what the token bucket allows (a burst of rate/20 + 1, then 1/rate)."""
    times, lock = [], threading.Lock()

    def page(c):
        with lock:
            times.append(time.monotonic())
        try:
            c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        finally:
            c.close()

    srv = serve("0.0.0.0", 23090, page)
    tf = os.path.join(tmp, "rate-targets.txt")
    with open(tf, "w") as f:
        f.write("198.18.1.1-198.18.1.80\n")
    rate, n = 40, 80
    r = subprocess.run([M, "probe", "--target-file", tf, "--ports", "23090/http", "--rate", str(rate),
                        "--allow-testbed", "--db", "-", "--audit", audit, "--optout", optout, "-q"],
                       capture_output=True, text=True, timeout=60)
    srv.close()
    check(r.returncode == 0 and len(r.stdout.splitlines()) == n, f"rate run: {r.stderr}")
    check(len(times) == n, f"{len(times)} connections for {n} targets")
    span, want = max(times) - min(times), (n - (rate // 20 + 1)) / rate
    # never faster than asked (the safety side); not much slower (a loaded machine may lag a little)
    check(want * 0.97 <= span <= want * 1.25,
          f"{n} connections at --rate {rate} took {span:.2f} s, want {want:.2f} s")
    print(f"rate: {n} connections at --rate {rate} in {span:.3f} s (token bucket: {want:.3f} s)")


def lure(tmp, name, addr, port, userdb_lines):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    udb = os.path.join(d, "userdb.txt")
    with open(udb, "w") as f:
        f.write("\n".join(userdb_lines) + "\n")
    p = subprocess.Popen([M, "lure", "--listen", f"{addr}:{port}", "--persona", "router-mips",
                          "--userdb", udb, "--events", os.path.join(d, "lure.json"), "--db", "-",
                          "--files", "-", "--rate", "0", "-q"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                         env=dict(os.environ, MAMORI_DATA=os.path.join(ROOT, "data")))
    line = p.stderr.readline()
    if " on " not in line:
        fail(f"lure did not start: {line}{p.stderr.read()}")
    return p, os.path.join(d, "lure.json")


def events(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f]


def inside():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for i in range(10, 23):
        subprocess.run(["ip", "addr", "add", f"198.18.0.{i}/32", "dev", "lo"], check=True)
    subprocess.run(["ip", "addr", "add", "198.18.1.0/24", "dev", "lo"], check=True)
    tmp = tempfile.mkdtemp(prefix="mamori-prb-")
    procs = []
    try:
        run_inside(tmp, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def run_inside(tmp, procs):
    p1, ev1 = lure(tmp, "vizxv", "198.18.0.10", 23001, ["root:x:vizxv"])
    p2, ev2 = lure(tmp, "late", "198.18.0.11", 23002, ["root:x:12345"])  # Mirai's 15th pair
    procs += [p1, p2]
    ssh_logs = {}
    for ip, pw in (("198.18.0.21", "admin"), ("198.18.0.22", STRONG)):
        ssh_logs[ip] = os.path.join(tmp, f"ssh-{ip}.log")
        p = subprocess.Popen([SSHD, ip, "23022", "admin", pw, ssh_logs[ip], "3"],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        check(p.stdout.readline().strip() == "listening", f"sshd_stub on {ip} did not start")
    serve("198.18.0.12", 23003, telnet_recorder)
    serve("198.18.0.13", 23080, http_handler("basic", ("admin", "admin")))
    serve("198.18.0.14", 23081, http_handler("digest", ("root", "admin")))
    serve("198.18.0.15", 23082, http_handler("open", None))
    serve("198.18.0.16", 23083, http_handler("strong", ("admin", STRONG)))
    # 198.18.0.17:23004: nothing listens (RST); .19 has opted out, .20 is blocklisted
    for ip in ("198.18.0.19", "198.18.0.20"):
        serve(ip, 23001, lambda c, ip=ip: (C.add("touched-" + ip), c.close()))
    targets = [("198.18.0.10", 23001), ("198.18.0.11", 23002), ("198.18.0.12", 23003),
               ("198.18.0.13", 23080), ("198.18.0.14", 23081), ("198.18.0.15", 23082),
               ("198.18.0.16", 23083), ("198.18.0.17", 23004), ("198.18.0.21", 23022),
               ("198.18.0.22", 23022)]
    scan = os.path.join(tmp, "scan.csv")
    with open(scan, "w") as f:  # ZMap's CSV: saddr, sport is the port that answered
        f.write("saddr,daddr,sport,dport,success\n")
        for ip, port in targets:
            f.write(f"{ip},198.19.255.1,{port},40000,1\n")
        f.write("198.18.0.18,198.19.255.1,23001,40000,0\n")  # a RST: not probed
        f.write("198.18.0.19,198.19.255.1,23001,40000,1\n")
        f.write("198.18.0.20,198.19.255.1,23001,40000,1\n")
    optout, block = os.path.join(tmp, "optout.txt"), os.path.join(tmp, "block.txt")
    with open(optout, "w") as f:
        f.write("# opted out\n198.18.0.19\n")
    with open(block, "w") as f:
        f.write("198.18.0.20/32\n")
    out, sink, audit = (os.path.join(tmp, n) for n in ("out.jsonl", "sink.jsonl", "audit.jsonl"))
    ports = "23001/telnet,23002/telnet,23003/telnet,23080/http,23081/http,23082/http,23083/http,23004/telnet,23022/ssh"
    t0 = time.time()
    r = subprocess.run([M, "probe", "--input", scan, "--ports", ports, "--allow-testbed",
                        "--max-attempts", str(MAX_ATT), "--read-timeout", "3", "--output", out,
                        "--db", "-", "--sink", f"jsonl:{sink}", "--audit", audit, "--round", "prb-it",
                        "--contact", "survey@example.org, opt out: https://example.org/optout",
                        "--optout", optout, "--blocklist", block],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, MAMORI_DATA=os.path.join(ROOT, "data")))
    took = time.time() - t0
    check(r.returncode == 0, f"probe exit {r.returncode}: {r.stderr}")
    check("2 host:port targets excluded" in r.stderr, f"probe's stderr: {r.stderr}")
    check(not C.get("touched-198.18.0.19") and not C.get("touched-198.18.0.20"),
          f"opt-out or blocklisted address touched: {C.v}")
    res = {(o["ip"], o["port"]): o for o in map(json.loads, open(out))}
    check(len(res) == len(targets), f"{len(res)} results for {len(targets)} targets: {sorted(res)}")
    if os.environ.get("PRB_DEBUG"):
        for k, o in sorted(res.items(), key=lambda x: x[1]["timestamp"]):
            print(o["timestamp"], k, o["status"], o["attempts"], o["connections"])
    accepted = {k for k, o in res.items() if o["login_accepted"]}
    want = {("198.18.0.10", 23001), ("198.18.0.12", 23003), ("198.18.0.13", 23080),
            ("198.18.0.14", 23081), ("198.18.0.21", 23022)}
    check(accepted == want, f"accepted {sorted(accepted)}, want {sorted(want)}")
    # the pair's place in Mirai's list is the number of attempts
    for k, n in {("198.18.0.10", 23001): 2, ("198.18.0.12", 23003): 4, ("198.18.0.13", 23080): 4,
                 ("198.18.0.14", 23081): 3, ("198.18.0.21", 23022): 4}.items():
        check(res[k]["attempts"] == n and res[k]["credential_class"] == "mirai-default" and
              res[k]["credential_dict"] == "mirai", f"{k}: {res[k]}")
    for k in [("198.18.0.11", 23002), ("198.18.0.16", 23083), ("198.18.0.22", 23022)]:
        check(res[k]["attempts"] == MAX_ATT and res[k]["status"] == "success" and
              res[k]["credential_class"] is None, f"{k}: {res[k]}")
    check(res[("198.18.0.15", 23082)]["device"].get("auth") == "none" and
          res[("198.18.0.15", 23082)]["attempts"] == 0, f"open page: {res[('198.18.0.15', 23082)]}")
    check(res[("198.18.0.17", 23004)]["status"] == "connection-refused", f"closed: {res[('198.18.0.17', 23004)]}")
    h = res[("198.18.0.13", 23080)]
    check(h["device"].get("server") == "Boa/0.94.14rc21" and h["device"].get("realm") == "IPCam-basic",
          f"http hints: {h}")
    check("BusyBox" in res[("198.18.0.12", 23003)]["banner"] or
          "login" in res[("198.18.0.12", 23003)]["banner"], f"banner: {res[('198.18.0.12', 23003)]}")
    # the same devices from ZMap's JSON lines (-O json), one a non-success; the pair's place again
    js = os.path.join(tmp, "scan.json")
    with open(js, "w") as f:
        f.write('{"saddr": "198.18.0.13", "sport": 23080, "success": true}\n'
                '{"saddr": "198.18.0.14", "sport": 23081, "success": 1, "classification": "synack"}\n'
                '{"saddr": "198.18.0.16", "sport": 23083, "success": false}\n')
    r = subprocess.run([M, "probe", "--input", js, "--ports", ports, "--allow-testbed", "--db", "-",
                        "--audit", audit, "--optout", optout, "-q"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, MAMORI_DATA=os.path.join(ROOT, "data")))
    jr = [json.loads(l) for l in r.stdout.splitlines()]
    check(r.returncode == 0 and sorted((o["ip"], o["attempts"], o["login_accepted"]) for o in jr) ==
          [("198.18.0.13", 4, True), ("198.18.0.14", 3, True)], f"JSON input: {r.stderr} {jr}")
    rate_check(tmp, optout, audit)
    # what the devices saw: at most MAX_ATT logins each, nothing after a success
    p1.send_signal(signal.SIGTERM)
    p2.send_signal(signal.SIGTERM)
    p1.wait(timeout=20)
    p2.wait(timeout=20)
    e1, e2 = events(ev1), events(ev2)
    logins1 = [e for e in e1 if e["eventid"].startswith("cowrie.login")]
    check([(e["username"], e["password"], e["eventid"]) for e in logins1] ==
          [("root", "xc3511", "cowrie.login.failed"), ("root", "vizxv", "cowrie.login.success")],
          f"lure 1 logins {logins1}")
    check(not [e for e in e1 if e["eventid"] == "cowrie.command.input"], "a command after the login")
    logins2 = [e for e in e2 if e["eventid"].startswith("cowrie.login")]
    check(len(logins2) == MAX_ATT and all(e["eventid"] == "cowrie.login.failed" for e in logins2),
          f"lure 2: {len(logins2)} logins, want {MAX_ATT}")
    sess2 = {e["session"] for e in e2 if e["eventid"] == "cowrie.session.connect"}
    check(len(sess2) == res[("198.18.0.11", 23002)]["connections"] >= 2,
          f"lure 2 closes after 3 tries: {len(sess2)} sessions, probe says {res[('198.18.0.11', 23002)]}")
    deadline = time.time() + 10  # the recorder's thread says when its connection ended
    while not C.get("recorder-done") and time.time() < deadline:
        time.sleep(0.01)
    check(C.get("recorder-done") == 1, "the recorder's connection did not end")
    check(C.get("recorder-logins") == 4, f"recorder logins {C.get('recorder-logins')}")
    check(C.get("recorder-after") == 0, f"{C.get('recorder-after')} bytes sent after the shell prompt")
    check(C.get("recorder-closed-in-ms") < 2000, f"closed {C.get('recorder-closed-in-ms')} ms after login")
    for kind, n in [("basic", 8), ("digest", 6), ("strong", MAX_ATT), ("open", 0)]:  # 2 runs
        check(C.get(kind + "-attempts") == n, f"{kind}: {C.get(kind + '-attempts')} logins, want {n}")
        check(C.get(kind + "-after") == 0, f"{kind}: a request after the login was accepted")
    check(C.get("basic-ua:mamori-probe/0.1.0 (survey@example.org, opt out: https://example.org/optout)") == 5 and
          C.get("basic-ua:mamori-probe/0.1.0 (research survey; no contact given)") == 5,
          f"User-Agent: {C.v}")
    # SSH: root x3 on one connection (the device hangs up after 3), admin on a new one; nothing
    # after the login; the strong one: MAX_ATT tries in all
    deadline = time.time() + 10
    while time.time() < deadline and not all(
            open(ssh_logs[ip]).read().count("closed") == want_conns
            for ip, want_conns in (("198.18.0.21", 2), ("198.18.0.22", 2))):
        time.sleep(0.01)
    l21 = open(ssh_logs["198.18.0.21"]).read().split("\n")
    check([l for l in l21 if l.startswith(("try", "ok", "after"))] ==
          ["try root"] * 3 + ["try admin", "ok admin"], f"ssh 21 saw {l21}")
    check(res[("198.18.0.21", 23022)]["banner"].startswith("SSH-2.0-"), f"ssh banner {res[('198.18.0.21', 23022)]}")
    l22 = open(ssh_logs["198.18.0.22"]).read()
    check(l22.count("try ") == MAX_ATT and "ok " not in l22, f"ssh 22 saw {l22}")
    # no password anywhere (the accepted ones and the strong one)
    for path in (out, sink, audit):
        text = open(path).read()
        for pw in ("vizxv", "xc3511", STRONG, "12345"):
            check(pw not in text, f"{path} holds a password ({pw})")
    recs = [json.loads(l) for l in open(sink)]
    kinds = [x["kind"] for x in recs]
    check(kinds.count("survey_probe") == len(targets), f"sink kinds {kinds}")
    check(kinds.count("survey_round") == 2, f"sink rounds: {kinds}")
    a = [json.loads(l) for l in open(audit)]
    check(len(a) == 3 and a[0]["tool"] == "probe" and a[0]["dict_size"] == 62, f"audit {a}")
    print(f"ok: probe {len(targets)} targets in {took:.2f} s; accepted exactly {len(want)}; "
          f"attempts capped at {MAX_ATT}; nothing sent after a login")


def man_matches_help():
    """The option table is the one source of --help; the man page must list the same options."""
    h = subprocess.run([M, "probe", "--help"], capture_output=True, text=True, check=True).stdout
    helped = set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z-]*)", h, re.M))
    man = open(os.path.join(ROOT, "doc/mamori-probe.1")).read()
    opts = man.split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
    tp = [l for i, l in enumerate(opts.split("\n")) if i and opts.split("\n")[i - 1] == ".TP"]
    listed = {o.replace("\\-", "-") for l in tp for o in re.findall(r"\\-\\-((?:[a-z]|\\-)+)", l)}
    check(helped == listed, f"--help and the man page differ: only in help {helped - listed}, "
          f"only in the man page {listed - helped}")


def bad_inputs():
    """Bad input: exit 2, one line naming FILE:LINE (or the option), and no run (no audit line)."""
    tmp = tempfile.mkdtemp(prefix="mamori-prb-bad-")
    try:
        def f(name, text):
            path = os.path.join(tmp, name)
            with open(path, "w") as fh:
                fh.write(text)
            return path
        audit = os.path.join(tmp, "audit.jsonl")
        good = f("good.csv", "saddr,sport,success\n198.18.0.1,23,1\n")
        cases = [
            (["--input", f("port.csv", "saddr,sport,success\n198.18.0.1,99999,1\n"), "--allow-testbed"],
             "port.csv:2: '99999' is not a port"),
            (["--input", f("ip.csv", "saddr,sport,success\n198.18.0.1,23,1\nnot-an-ip,23,1\n"),
              "--allow-testbed"], "ip.csv:3: 'not-an-ip' is not an address"),
            (["--input", f("special.csv", "saddr,sport,success\n10.1.2.3,23,1\n")],
             "special.csv:2: 10.1.2.3: inside the special-purpose range 10.0.0.0/8"),
            (["--input", good], "good.csv:2: 198.18.0.1: inside 198.18.0.0/15, the testbed's range"),
            (["--input", f("bad.json", '{"saddr": "198.18.0.1", "sport": 23}\n[1]\n'), "--allow-testbed"],
             "bad.json:2: not a JSON object"),
            (["--input", f("fields.csv", "saddr,sport\n198.18.0.1\n"), "--allow-testbed"],
             "fields.csv:2: 1 fields, the header has 2"),
            (["--input", good, "--allow-testbed", "--dictionary", f("d.txt", "root:x\nnocolon\n")],
             "d.txt:2: not user:password"),
            (["--ports", "443", "--allow-testbed", "198.18.0.1"], "--ports: 443 has no protocol"),
            (["--ports", "23/gopher", "198.18.0.1"], "--ports: 'gopher' is not telnet, ssh or http"),
            (["198.18.0.1", "--allow-testbed"], "explicit targets need --ports"),
            ([], "no targets"),
            (["--input", good, "--allow-testbed", "--round", "../x"], "--round: '../x' cannot name a directory"),
            (["--input", good, "--allow-testbed", "--rate", "fast"], "--rate"),
        ]
        for args, needle in cases:
            r = subprocess.run([M, "probe", "--audit", audit, "--db", "-", "-q", *args],
                               capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, MAMORI_DATA=os.path.join(ROOT, "data")))
            err = r.stderr.strip()
            check(r.returncode == 2 and needle in err and "\n" not in err and err.startswith("mamori: "),
                  f"{args}: exit {r.returncode}, stderr {err!r}, want one line with {needle!r}")
            check(not os.path.exists(audit), f"{args}: a refused run wrote an audit line")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if "--inside" not in sys.argv:
        man_matches_help()
        bad_inputs()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        sys.exit(77)
    if "--inside" in sys.argv:
        inside()
        return
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        r = subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__),
                            "--inside", os.path.abspath(SSHD)], timeout=240)
        sys.exit(r.returncode)
    finally:
        subprocess.run(["ip", "netns", "del", NS])


if __name__ == "__main__":
    main()
