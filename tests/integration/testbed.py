#!/usr/bin/env python3
"""testbed — `mamori testbed` end to end (needs root: network namespaces; CI is root).

Brings a small spec up under the tbt prefix and checks it from the client namespace against what
the test wrote into the spec (the truth file is checked against the spec too): every listed
(address, port) accepts a connection, a closed port answers RST, a filtered address never answers,
telnet logins with an accepted pair reach a shell prompt and wrong pairs are refused, HTTP answers
401 (with its realm) without or with wrong credentials and 200 with the accepted pair, with the
right Server header and title; `fix` makes the old pair fail and the new one work while the
unfixed service keeps its pair; `down` leaves no namespace and no process; a bad spec fails with
FILE:LINE and leaves nothing; a failing device process fails `up` and leaves nothing; a
--foreground run ends clean on SIGTERM; a SIGKILLed supervisor takes its devices along and down
removes the rest; a killed device process is started again (--help vs the man page: manpages.py).

The client-side checks run in a child of this script inside NAME-c (`ip netns exec NAME-c python3
testbed.py --client ...`); every wait is on a condition with a bounded timeout."""
import base64
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

MAMORI = os.environ.get("MAMORI", "build/mamori")
SRC = os.environ.get("MAMORI_SOURCE_ROOT", ".")
# tbt is this test's namespace prefix; the pid keeps two runs (a developer's, CI's) apart
PREFIX = f"tbt{os.getpid()}-"

SPEC = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "testbed.spec")).read()
# what the spec says, written independently of the program: (ip, port) -> (proto, pairs, extra)
SERVICES = {
    ("198.18.0.10", 23): ("telnet", [("root", "xc3511")], {"persona": "router-mips"}),
    ("198.18.0.10", 2323): ("telnet", [("root", "xc3511")], {"persona": "router-mips"}),
    ("198.18.0.11", 23): ("telnet", [("admin", "admin"), ("root", "vizxv")], {"persona": "dvr-armv7"}),
    ("198.18.0.12", 2323): ("telnet", [("root", "Qk7bT2xvN9pLmW4z")], {"persona": "camera-arm"}),
    ("198.18.0.20", 80): ("http", [("admin", "admin")],
                          {"server": "GoAhead-Webs", "title": "NETSURVEILLANCE WEB",
                           "realm": "NETSURVEILLANCE WEB"}),
    ("198.18.0.130", 8080): ("http", [("admin", "Zt8eRw3Lq2Vn")],
                             {"server": "uc-httpd 1.0.0", "title": "WEB SERVICE", "realm": "DVR"}),
    ("198.18.0.11", 80): ("http", [("admin", "")],
                          {"server": "lighttpd/1.4.35", "title": "RT-N12", "realm": "RT-N12"}),
    ("198.18.0.30", 22): ("ssh", [("root", "toor"), ("admin", "Adm1n")], {}),
    ("198.18.0.131", 2222): ("ssh", [("support", "Kp4Lr8Zq2Wx6")], {}),
}
CLOSED = ["198.18.0.40"]
FILTERED = ["198.18.0.50", "198.18.0.150"]
OWNERS = [("198.18.0.0/25", 64500, "Example Cable", "abuse@cable.example.net"),
          ("198.18.0.128/25", 64501, "Example Fiber, Inc.", "abuse@fiber.example.net")]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(*args, timeout=60, **kw):
    return subprocess.run([MAMORI, "testbed", *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def netns_list():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [l.split()[0] for l in out.splitlines() if l.strip()]


def procs_with(text):
    """pids whose command line mentions text (our state directory: unique to this test)."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found.append((int(p), cmd))
    return found


# ---- the client side (runs inside NAME-c) -------------------------------------------------------

def tcp_state(ip, port, timeout=1.0):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((ip, port))
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return "error %s" % e
    finally:
        s.close()


def telnet_login(ip, port, user, password, timeout=5.0):
    """'shell' (a prompt after login), 'refused' (Login incorrect) or what happened."""
    s = socket.create_connection((ip, port), timeout)
    s.settimeout(0.5)
    buf = b""
    end = time.time() + timeout

    def wait_for(pats):
        nonlocal buf
        while time.time() < end:
            for p in pats:
                if re.search(p, buf):
                    return p
            try:
                d = s.recv(4096)
            except socket.timeout:
                continue
            if not d:
                return None
            buf += d
        return None

    try:
        if not wait_for([rb"ogin: ?$"]):
            return "no login prompt"
        s.sendall(user.encode() + b"\r\n")
        if not wait_for([rb"assword: ?$"]):
            return "no password prompt"
        buf = b""
        s.sendall(password.encode() + b"\r\n")
        got = wait_for([rb"ncorrect", rb"[#$] $"])
        return {rb"ncorrect": "refused", rb"[#$] $": "shell"}.get(got, "nothing: %r" % buf[-80:])
    finally:
        s.close()


def ssh_login(ip, port, user, password, tmp):
    """'shell' when the password is accepted (the device's forced command then ends the session),
    'refused' on "Permission denied"; OpenSSH's client with SSH_ASKPASS, so the check is the
    real client's."""
    askpass = os.path.join(tmp, "askpass.sh")
    if not os.path.exists(askpass):
        with open(askpass, "w") as f:
            f.write('#!/bin/sh\nprintf "%s\\n" "$TB_PASS"\n')
        os.chmod(askpass, 0o700)
    env = dict(os.environ, TB_PASS=password, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force")
    r = subprocess.run(["ssh", "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
                        "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=password",
                        "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
                        "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"{user}@{ip}", "true"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=20)
    if r.returncode == 255 and "Permission denied" in r.stderr:
        return "refused"
    if r.returncode != 255 and "not available" in r.stdout + r.stderr:
        return "shell"
    return f"ssh exit {r.returncode}: {r.stderr.strip()[-100:]}"


def login(ip, port, proto, u, p, tmp):
    if proto == "telnet":
        return telnet_login(ip, port, u, p)
    if proto == "ssh":
        return ssh_login(ip, port, u, p, tmp)
    return {200: "shell", 401: "refused"}.get(http_get(ip, port, f"{u}:{p}")[0], "?")


def http_get(ip, port, auth=None):
    s = socket.create_connection((ip, port), 5)
    hdr = f"GET / HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n"
    if auth is not None:
        hdr += "Authorization: Basic " + base64.b64encode(auth.encode()).decode() + "\r\n"
    s.sendall((hdr + "\r\n").encode())
    data = b""
    s.settimeout(5)
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    m = re.search(rb"<title>(.*?)</title>", body)
    return status, headers, m.group(1).decode() if m else None


def client(args):
    """Checks from inside the client namespace; prints one line per failure, exits 1 on any."""
    mode, path = args[0], args[1]
    exp = json.load(open(path))
    tmp = os.path.dirname(path)
    bad = []
    if mode == "all":
        for (ip, port), (proto, pairs, extra) in exp["services"]:
            st = tcp_state(ip, port)
            if st != "open":
                bad.append(f"{ip}:{port} {proto}: {st}")
                continue
            if proto == "telnet":
                for u, p in pairs:
                    r = telnet_login(ip, port, u, p)
                    if r != "shell":
                        bad.append(f"{ip}:{port} telnet {u}:{p}: {r}")
                r = telnet_login(ip, port, pairs[0][0], pairs[0][1] + "x")
                if r != "refused":
                    bad.append(f"{ip}:{port} telnet wrong pair: {r}")
            if proto == "ssh":
                pairs = [tuple(x) for x in pairs]
                for u, p in pairs + [(pairs[0][0], pairs[0][1] + "x"), ("nobody", pairs[0][1])]:
                    want = "shell" if (u, p) in pairs else "refused"
                    r = ssh_login(ip, port, u, p, tmp)
                    if r != want:
                        bad.append(f"{ip}:{port} ssh {u}:{p}: {r}, wanted {want}")
            if proto == "http":
                for auth, want in [(None, 401), (pairs[0][0] + ":wrong", 401),
                                   (f"{pairs[0][0]}:{pairs[0][1]}", 200)]:
                    status, h, title = http_get(ip, port, auth)
                    if status != want:
                        bad.append(f"{ip}:{port} http auth={auth}: {status}, wanted {want}")
                    if h.get("server") != extra["server"] or title != extra["title"]:
                        bad.append(f"{ip}:{port} http: server {h.get('server')!r} title {title!r}")
                    if want == 401 and h.get("www-authenticate") != f'Basic realm="{extra["realm"]}"':
                        bad.append(f"{ip}:{port} http: WWW-Authenticate {h.get('www-authenticate')!r}")
        for ip in exp["closed"]:
            for port in (23, 80, 4567):
                st = tcp_state(ip, port)
                if st != "refused":
                    bad.append(f"closed {ip}:{port}: {st}")
        for ip, port in exp["closed_ports"]:
            st = tcp_state(ip, port)
            if st != "refused":
                bad.append(f"unlisted port {ip}:{port}: {st}")
        for ip in exp["filtered"]:
            st = tcp_state(ip, 23, timeout=1.5)
            if st != "timeout":
                bad.append(f"filtered {ip}: {st} (wanted no answer)")
    elif mode == "login":  # [[ip, port, proto, user, pass, want], ...]
        for ip, port, proto, u, p, want in exp:
            r = login(ip, port, proto, u, p, tmp)
            if r != want:
                bad.append(f"{ip}:{port} {u}:{p}: {r}, wanted {want}")
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)


def in_client(name, mode, data, tmp):
    path = os.path.join(tmp, f"client-{mode}.json")
    json.dump(data, open(path, "w"))
    r = subprocess.run(["ip", "netns", "exec", f"{name}-c", sys.executable, __file__, "--client",
                        mode, path], capture_output=True, text=True, timeout=120)
    for l in (r.stdout + r.stderr).splitlines():
        check(False, f"client {mode}: {l}")
    check(r.returncode == 0, f"client {mode} exited {r.returncode}")


# ---- the checks ---------------------------------------------------------------------------------

def check_truth(t, name):
    check(t["name"] == name and t["range"] == "198.18.0.0/24", "truth: name and range")
    check(t["client_ns"] == f"{name}-c" and t["device_ns"] == f"{name}-d", "truth: namespaces")
    check((t["client_if"], t["client_ip"], t["gateway_ip"]) == ("tb0", "198.19.255.1", "198.19.255.2"),
          "truth: the link")
    link = json.loads(subprocess.run(["ip", "-n", f"{name}-d", "-j", "link", "show", "tb1"],
                                     capture_output=True, text=True).stdout)
    check(link and t["gateway_mac"] == link[0]["address"], "truth: gateway_mac is tb1's MAC")
    check([(o["prefix"], o["asn"], o["isp"], o["abuse"]) for o in t["owners"]] == OWNERS,
          "truth: owners")
    got = {}
    for h in t["hosts"]:
        if h["state"] == "filtered":
            check(h["ip"] in FILTERED and not h["services"], f"truth: filtered {h['ip']}")
            continue
        if not h["services"]:
            check(h["ip"] in CLOSED, f"truth: closed {h['ip']}")
        for s in h["services"]:
            extra = {k: s[k] for k in ("persona", "server", "title", "realm") if k in s}
            got[(h["ip"], s["port"])] = (s["protocol"], [(a["username"], a["password"]) for a in s["accepts"]], extra)
    check(got == SERVICES, f"truth: services {got}")
    check(len(t["hosts"]) == len({ip for ip, _ in SERVICES}) + len(CLOSED) + len(FILTERED), "truth: hosts")


def gone(name, tmp):
    return not [n for n in netns_list() if n in (f"{name}-c", f"{name}-d")] and not procs_with(tmp)


def wait_for(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def main_test(tmp):
    name, d = f"{PREFIX}1", os.path.join(tmp, "tb1")
    spec = os.path.join(tmp, "t.spec")
    open(spec, "w").write(SPEC)
    t0 = time.time()
    r = run("up", "--spec", spec, "--name", name, "--dir", d, "--json")
    check(r.returncode == 0, f"up: {r.returncode} {r.stderr.strip()}")
    if r.returncode:
        return
    summary = json.loads(r.stdout)
    print(f"up in {time.time() - t0:.2f} s: {summary}", flush=True)
    check(summary["hosts"] == 10 and summary["services"] == 9, f"up --json: counts {summary}")
    truth = json.load(open(os.path.join(d, "truth.json")))
    check_truth(truth, name)
    with open(os.path.join(d, "owners.csv"), newline="") as f:
        rows = list(csv.reader(f))
    check(rows == [["prefix", "isp", "asn", "abuse"]] + [[p, i, str(a), e] for p, a, i, e in OWNERS],
          f"owners.csv: {rows}")
    st = run("status", "--name", name, "--dir", d, "--json")
    s = json.loads(st.stdout)
    check(st.returncode == 0 and s["status"]["up"] and s["status"]["healthy"], "status: healthy")
    in_client(name, "all", {"services": [[list(k), v] for k, v in SERVICES.items()],
                            "closed": CLOSED, "filtered": FILTERED,
                            "closed_ports": [["198.18.0.10", 80], ["198.18.0.20", 23]]}, tmp)
    # fix one telnet port and one web page; the other port of .10 keeps its pair
    r = run("fix", "--name", name, "--dir", d, "198.18.0.10:23", "198.18.0.20", "198.18.0.30")
    check(r.returncode == 0, f"fix: {r.returncode} {r.stderr.strip()}")
    t2 = json.load(open(os.path.join(d, "truth.json")))
    new = {(h["ip"], s["port"]): s["accepts"] for h in t2["hosts"] for s in h["services"]}
    n23, n80, n22 = (new[k][0] for k in [("198.18.0.10", 23), ("198.18.0.20", 80), ("198.18.0.30", 22)])
    check(len(new[("198.18.0.30", 22)]) == 1, "fix: one account left on the SSH device")
    check(len(n23["password"]) >= 16 and n23["password"] != "xc3511", "fix: a strong password in truth")
    in_client(name, "login", [["198.18.0.10", 23, "telnet", "root", "xc3511", "refused"],
                              ["198.18.0.10", 23, "telnet", n23["username"], n23["password"], "shell"],
                              ["198.18.0.10", 2323, "telnet", "root", "xc3511", "shell"],
                              ["198.18.0.20", 80, "http", "admin", "admin", "refused"],
                              ["198.18.0.20", 80, "http", n80["username"], n80["password"], "shell"],
                              ["198.18.0.30", 22, "ssh", "root", "toor", "refused"],
                              ["198.18.0.30", 22, "ssh", "admin", "Adm1n", "refused"],
                              ["198.18.0.30", 22, "ssh", n22["username"], n22["password"], "shell"],
                              ["198.18.0.131", 2222, "ssh", "support", "Kp4Lr8Zq2Wx6", "shell"]], tmp)
    st = json.loads(run("status", "--name", name, "--dir", d, "--json").stdout)["status"]
    check(st["healthy"] and st["generation"] == 2, f"status after fix: {st}")
    r = run("fix", "--name", name, "--dir", d, "198.18.0.99")
    check(r.returncode != 0 and "198.18.0.99" in r.stderr, "fix of an unknown device fails")
    # a device process that dies is started again, and its device answers again
    lure = [p for p, cmd in procs_with(d) if " lure " in cmd and "dvr-armv7" in cmd]
    check(len(lure) == 1, f"one lure process for the dvr-armv7 group: {lure}")
    if lure:
        os.kill(lure[0], signal.SIGKILL)
        check(wait_for(lambda: [p for p, cmd in procs_with(d) if " lure " in cmd and "dvr-armv7" in cmd
                                and p != lure[0]], 10), "a killed device process is started again")
        in_client(name, "login", [["198.18.0.11", 23, "telnet", "root", "vizxv", "shell"]], tmp)
        check(run("status", "--name", name, "--dir", d).returncode == 0, "healthy after a restart")
    t0 = time.time()
    r = run("down", "--name", name)  # not told the state directory: found through NAME-d
    print(f"down in {time.time() - t0:.2f} s", flush=True)
    check(r.returncode == 0, f"down: {r.stderr.strip()}")
    check(gone(name, d), "down: no namespace and no process left")
    st = run("status", "--name", name, "--dir", d)
    check(st.returncode == 1 and "down" in st.stdout, "status after down says down")


def failure_tests(tmp):
    name, d = f"{PREFIX}2", os.path.join(tmp, "tb2")
    bad = os.path.join(tmp, "bad.spec")
    open(bad, "w").write(SPEC + 'telnet 198.18.0.60 23 persona=router-mips accept=root\n')
    r = run("up", "--spec", bad, "--name", name, "--dir", d)
    line = SPEC.count("\n") + 1
    check(r.returncode == 2 and r.stderr.startswith(f"mamori: {bad}:{line}: ") and
          r.stderr.count("\n") == 1, f"bad spec: {r.returncode} {r.stderr!r}")
    check(gone(name, d), "bad spec: nothing left")
    open(bad, "w").write(SPEC + 'closed 198.18.0.10\n')
    r = run("up", "--spec", bad, "--name", name, "--dir", d)
    check(r.returncode == 2 and f"{bad}:{line}: 198.18.0.10" in r.stderr, f"closed host with services: {r.stderr!r}")
    r = run("up", "--range", "10.0.0.0/24", "--name", name, "--dir", d)
    check(r.returncode == 2 and "198.18.0.0/15" in r.stderr and r.stderr.count("\n") == 1,
          f"range outside 198.18.0.0/15: {r.stderr!r}")
    # a device process that cannot start: up fails with its reason, nothing is left behind
    open(bad, "w").write(SPEC.replace("persona=camera-arm", "persona=no-such-persona"))
    r = run("up", "--spec", bad, "--name", name, "--dir", d)
    check(r.returncode == 1 and "no-such-persona" in r.stderr and r.stderr.count("\n") == 1,
          f"failing device: {r.returncode} {r.stderr!r}")
    check(gone(name, d), "failing device: nothing left")


def foreground_test(tmp):
    name, d = f"{PREFIX}3", os.path.join(tmp, "tb3")
    spec = os.path.join(tmp, "t.spec")
    p = subprocess.Popen([MAMORI, "testbed", "up", "--spec", spec, "--name", name, "--dir", d,
                          "--foreground"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    healthy = wait_for(lambda: run("status", "--name", name, "--dir", d).returncode == 0, 20)
    check(healthy, "foreground: healthy")
    check(len(procs_with(d)) >= 4, "foreground: supervisor and device processes run")
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    check(rc == 0, f"foreground: exit {rc} after SIGTERM: {p.stderr.read()!r}")
    check(gone(name, d), "foreground: nothing left after SIGTERM")


def crash_test(tmp):
    """A supervisor killed with SIGKILL takes its devices along; down removes the rest."""
    name, d = f"{PREFIX}4", os.path.join(tmp, "tb4")
    r = run("up", "--spec", os.path.join(tmp, "t.spec"), "--name", name, "--dir", d)
    check(r.returncode == 0, f"crash: up {r.stderr.strip()}")
    sup = int(open(os.path.join(d, "supervisor.pid")).read())
    os.kill(sup, signal.SIGKILL)
    check(wait_for(lambda: not [p for p, _ in procs_with(d)], 10), "crash: devices die with the supervisor")
    st = run("status", "--name", name, "--dir", d)
    check(st.returncode == 1 and "down" in st.stdout, f"crash: status says down: {st.stdout!r}")
    r = run("down", "--name", name, "--dir", d)
    check(r.returncode == 0 and gone(name, d), f"crash: down cleans up: {r.stderr.strip()}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        return client(sys.argv[2:])
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    tmp = tempfile.mkdtemp(prefix="tbt-")
    try:
        main_test(tmp)
        failure_tests(tmp)
        foreground_test(tmp)
        crash_test(tmp)
    finally:
        for i in (1, 2, 3, 4):
            run("down", "--name", f"{PREFIX}{i}", "--dir", os.path.join(tmp, f"tb{i}"))
        subprocess.run(["rm", "-rf", tmp])
    left = [n for n in netns_list() if n.startswith(PREFIX)]
    check(not left, f"namespaces left: {left}")
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
