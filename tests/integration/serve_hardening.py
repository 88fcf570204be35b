#!/usr/bin/env python3
"""mamori serve under hostile clients (issue 8, items 1-4), loopback only:
stream clients never hold up the API (2, then 300 of them, fed from one
event log, released when they hang up); slow clients from many loopback
addresses never keep /metrics out, a request head has a deadline for the whole
head, one address gets at most its share; expensive queries are bounded (503
with Retry-After beyond), identical ones share one answer, the cache follows
commits; bad requests always get a JSON 400 (invalid UTF-8, a body, 2000
arguments, an encoded NUL), a FIFO under --web is never opened."""
import http.client
import json
import os
import resource
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

M = os.environ["MAMORI"]
DN = "198.18.0.0/16,2001:db8:1::/48"
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
        print("  FAIL:", what, flush=True)


class Server:
    def __init__(self, tmp, db, *extra):
        self.err = open(os.path.join(tmp, f"serve-{time.monotonic_ns()}.err"), "w+")
        self.p = subprocess.Popen([M, "serve", "--db", db, "--listen", "127.0.0.1:0"] +
                                  list(extra), stderr=self.err)
        end = time.monotonic() + 20
        self.port = None
        while time.monotonic() < end and self.port is None and self.p.poll() is None:
            self.err.seek(0)
            for line in self.err.read().splitlines():
                if "serving http://127.0.0.1:" in line:
                    self.port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            self.err.seek(0)
            sys.exit(f"FAIL: serve {' '.join(extra)} did not start: {self.err.read()}")

    def stop(self, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None


def get(port, path, timeout=5, src="127.0.0.1", method="GET"):
    t = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                   source_address=(src, 0))
    try:
        c.putrequest(method, path, skip_accept_encoding=True)
        c.endheaders()
        r = c.getresponse()
        body = r.read()
        return r.status, dict(r.getheaders()), body, time.monotonic() - t
    except (OSError, http.client.HTTPException) as e:
        return None, {}, str(e).encode(), time.monotonic() - t
    finally:
        c.close()


def raw(port, data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    s.close()
    return out


def json_400(reply):
    head, _, body = reply.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 400"):
        return None
    try:
        return json.loads(body)["error"]
    except ValueError:
        return None


def quick(port, what, paths=("/metrics", "/api/v1/summary?top=3")):
    """The API answers in under a second while something else goes on."""
    for path in paths:
        st, _, _, dt = get(port, path, timeout=5)
        check(st == 200 and dt < 1.0, f"{what}: {path} {st} in {dt:.2f} s")


def open_streams(port, n, addrs):
    socks = []
    for i in range(n):
        s = socket.socket()
        s.bind((addrs[i % len(addrs)], 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    return socks


def read_until(socks, needle, deadline):
    """Reads each socket until needle has arrived (or it closed); returns how
    many got it and what each got."""
    got, done, buf = set(), set(), {s: b"" for s in socks}
    while len(done) < len(socks) and time.monotonic() < deadline:
        wait = [s for s in socks if s not in done]
        r, _, _ = select.select(wait, [], [], 0.2)
        for s in r:
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            buf[s] += d
            if needle in buf[s]:
                got.add(s)
            if not d or needle in buf[s]:
                done.add(s)
    return len(got), buf


def streams(tmp, db):
    # 1: two stream clients (two dashboard tabs with Live on), default limits
    srv = Server(tmp, db)
    try:
        two = open_streams(srv.port, 2, ["127.0.0.1"])
        n, _ = read_until(two, b"200 OK", time.monotonic() + 3)
        check(n == 2, f"{n} of 2 streams answered")
        quick(srv.port, "2 streams open")
        # one commit with more alerts than the live thread reads at one look
        # (200): the rest follow at the next looks, not at the next commit
        c = sqlite3.connect(db)
        c.executemany("INSERT INTO alerts(interval_id, kind, proto, port, at, sources, baseline)"
                      " VALUES(1, 'surge', 'udp', ?, 1474330000, 50, 1.0)",
                      [(40000 + i,) for i in range(250)])
        c.commit()
        c.close()
        n, buf = read_until(two, b'"port":40249', time.monotonic() + 5)
        check(n == 2, f"250 alerts in one commit: {n} of 2 streams got the last "
                      f"({[b.count(b'event: alert') for b in buf.values()]} alerts)")
        for s in two:
            s.close()
    finally:
        check(srv.stop() == 0, "serve with 2 streams: exit status")

    # 300 stream clients from 10 addresses, fed from one log
    srv = Server(tmp, db, "--max-streams", "300")
    try:
        addrs = [f"127.0.0.{i}" for i in range(2, 12)]
        t = time.monotonic()
        socks = open_streams(srv.port, 300, addrs)
        n, _ = read_until(socks, b": mamori live stream", time.monotonic() + 10)
        check(n == 300, f"{n} of 300 streams started ({time.monotonic() - t:.1f} s)")
        quick(srv.port, "300 streams open")
        st, hdr, body, _ = get(srv.port, "/api/v1/stream", src="127.0.0.20")
        check(st == 503 and "Retry-After" in hdr and json.loads(body)["error"],
              f"stream 301: {st} {body[:60]}")
        c = sqlite3.connect(db)
        c.execute("INSERT INTO live_samples(ts_us, src, lat, lon, cc, proto, port, class,"
                  " fingerprint) VALUES(1474330000000000, '203.0.113.9', 35.7, 139.7, 'JP',"
                  " 'tcp', 2323, 'tcp_syn', 'mirai')")
        c.commit()
        c.close()
        t = time.monotonic()
        n, _ = read_until(socks, b"203.0.113.9", time.monotonic() + 10)
        check(n == 300, f"{n} of 300 streams got the new sample ({time.monotonic() - t:.1f} s)")
        quick(srv.port, "300 streams fed")
        for s in socks:
            s.close()
        # hung-up clients release their slots: 300 new ones get in
        end, n = time.monotonic() + 15, 0
        while time.monotonic() < end:
            again = open_streams(srv.port, 20, addrs)
            n, buf = read_until(again, b"200 OK", time.monotonic() + 3)
            for s in again:
                s.close()
            if n == 20:
                break
            time.sleep(0.2)
        check(n == 20, f"after 300 streams hung up, only {n} of 20 new ones got in")
        quick(srv.port, "300 streams gone")
        socks = open_streams(srv.port, 50, addrs)  # serve stops with streams open
        read_until(socks, b": mamori", time.monotonic() + 5)
        t = time.monotonic()
        rc = srv.stop(timeout=10)
        check(rc == 0 and time.monotonic() - t < 5, f"stop with 50 streams: {rc}")
        for s in socks:
            s.close()
    finally:
        srv.stop()


def slow_clients(tmp, db):
    # 600 slow clients from 10 addresses, each trickling its request head
    srv = Server(tmp, db, "--header-timeout", "2", "--max-connections", "300")
    socks, lock = [], threading.Lock()
    try:
        addrs = [f"127.0.0.{i}" for i in range(30, 40)]
        for i in range(600):
            s = socket.socket()
            s.bind((addrs[i % len(addrs)], 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", srv.port))
            socks.append(s)
        stop = threading.Event()

        def trickle():  # one byte per client every 0.3 s, reconnecting what was closed
            head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
            pos = [0] * len(socks)
            while not stop.is_set():
                for i, s in enumerate(socks):
                    try:
                        s.send(head[pos[i]:pos[i] + 1])
                        pos[i] = (pos[i] + 1) % len(head)
                    except OSError:
                        s.close()
                        n = socket.socket()
                        n.bind((addrs[i % len(addrs)], 0))
                        n.setblocking(False)
                        n.connect_ex(("127.0.0.1", srv.port))
                        socks[i], pos[i] = n, 0
                stop.wait(0.3)

        th = threading.Thread(target=trickle, daemon=True)
        th.start()
        for _ in range(8):  # 4 s of flood: past the header deadline
            quick(srv.port, "600 slow clients", ("/metrics",))
            time.sleep(0.5)
        # a head that keeps trickling in is cut at the deadline, not kept alive by its bytes
        s = socket.socket()
        s.bind(("127.0.0.50", 0))
        s.connect(("127.0.0.1", srv.port))
        t, closed = time.monotonic(), False
        s.settimeout(0.3)
        while time.monotonic() - t < 6 and not closed:
            try:
                s.send(b"X")
                closed = s.recv(1024) == b""
            except socket.timeout:
                pass
            except OSError:
                closed = True
        dt = time.monotonic() - t
        check(closed and dt < 4, f"trickled head closed after {dt:.1f} s (deadline 2 s)")
        s.close()
        stop.set()
        th.join()
    finally:
        for s in socks:
            s.close()
        check(srv.stop() == 0, "serve after 600 slow clients: exit status")

    # slow readers: answers too big for the socket buffers (a 16 MiB file),
    # read a few bytes at a time, fill every slot (also the library's 32 above
    # --max-connections); once an answer has taken longer than
    # --header-timeout, it gives its slot to a newcomer
    big = os.path.join(tmp, "big")
    os.makedirs(big, exist_ok=True)
    with open(os.path.join(big, "big.bin"), "wb") as f:
        f.write(os.urandom(1 << 20) * 16)
    srv = Server(tmp, db, "--header-timeout", "2", "--max-connections", "8", "--web", big)
    readers = []
    try:
        for i in range(40):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.bind((f"127.0.0.{70 + i % 4}", 0))
            s.settimeout(1)
            try:
                s.connect(("127.0.0.1", srv.port))
                s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(1024)
            except OSError:
                pass
            readers.append(s)
        time.sleep(2.5)  # past the deadline: the server must notice on its own
        end, st = time.monotonic() + 5, None
        while st != 200 and time.monotonic() < end:
            st, _, _, dt = get(srv.port, "/metrics", timeout=1, src="127.0.0.80")
        check(st == 200, f"/metrics with 40 slow readers: {st}")
        quick(srv.port, "40 slow readers", ("/metrics",))
    finally:
        for s in readers:
            s.close()
        check(srv.stop() == 0, "serve after slow readers: exit status")

    # one address gets at most --max-per-address; others are not affected
    srv = Server(tmp, db, "--max-per-address", "16")
    try:
        many = []
        for _ in range(40):
            s = socket.socket()
            s.bind(("127.0.0.60", 0))
            s.connect(("127.0.0.1", srv.port))
            many.append(s)
        # the refused ones are closed at once: wait (bounded) until 24 have seen EOF
        closed, end = set(), time.monotonic() + 5
        while len(closed) < 40 - 16 and time.monotonic() < end:
            r, _, _ = select.select([s for s in many if s not in closed], [], [], 0.1)
            closed.update(s for s in r if s.recv(10, socket.MSG_PEEK) == b"")
        check(len(closed) == 40 - 16, f"{len(closed)} of 40 connections from one address refused")
        # and the other 16 are really open: each one is answered
        answered = 0
        for s in (s for s in many if s not in closed):
            s.settimeout(5)
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            answered += s.recv(12).startswith(b"HTTP/1.1 200")
        check(answered == 16, f"{answered} of the 16 admitted connections answered")
        quick(srv.port, "one address at its cap", ("/metrics",))
        for s in many:
            s.close()
    finally:
        check(srv.stop() == 0, "serve after the per-address cap: exit status")


def expensive(tmp, db):
    srv = Server(tmp, db, "--max-queries", "1")
    try:
        def flood(paths):
            out = [None] * len(paths)

            def one(i):
                out[i] = get(srv.port, paths[i], timeout=30)
            ts = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
            for t in ts:
                t.start()
            quick(srv.port, "query flood", ("/metrics",))
            for t in ts:
                t.join()
            return out

        # 60 different summaries: one runs, 8 wait, the rest are told to come back
        res = flood([f"/api/v1/summary?top={i}&from={1474329600 + i}" for i in range(60)])
        sts = [r[0] for r in res]
        busy = [r for r in res if r[0] == 503]
        check(all(s in (200, 503) for s in sts), f"query flood: statuses {set(sts)}")
        check(busy and all(r[1].get("Retry-After") and json.loads(r[2])["error"] for r in busy),
              f"query flood: {len(busy)} refused with 503 + Retry-After")
        check(sts.count(200) >= 9, f"query flood: only {sts.count(200)} answered")
        # 60 identical ones share one answer (or the cache): none refused
        res = flood(["/api/v1/summary?top=7&from=1474329000"] * 60)
        check(all(r[0] == 200 for r in res), f"identical flood: {[r[0] for r in res]}")
        check(len({r[2] for r in res}) == 1, "identical requests got different answers")
        # the same arguments spelled differently are the same answer
        a = get(srv.port, "/api/v1/summary?top=07&from=2016-09-20T00:00:00Z")
        b = get(srv.port, "/api/v1/summary?from=1474329600&top=7")
        check(a[0] == b[0] == 200 and a[2] == b[2], "normalised arguments differ")
        # a commit invalidates the cache: a new alert shows in the same URL at once
        path = "/api/v1/alerts?n=0"
        before = json.loads(get(srv.port, path)[2])
        c = sqlite3.connect(db)
        c.execute("INSERT INTO alerts(interval_id, kind, proto, port, at, sources, baseline)"
                  " VALUES(1, 'surge', 'tcp', 7547, 1474330000, 99, 1.5)")
        c.commit()
        c.close()
        end, after = time.monotonic() + 3, before
        while time.monotonic() < end and len(after) == len(before):
            after = json.loads(get(srv.port, path)[2])
            time.sleep(0.05)
        check(len(after) == len(before) + 1 and any(x["port"] == 7547 for x in after),
              f"cache after a commit: {len(before)} then {len(after)} alerts")
        m = [l for l in get(srv.port, "/metrics")[2].decode().splitlines()
             if l.startswith("mamori_alerts_total ")]
        check(m and int(m[0].split()[1]) == len(after), f"metrics after a commit: {m}")
    finally:
        check(srv.stop() == 0, "serve after the query flood: exit status")


def bad_requests(tmp, db, web):
    srv = Server(tmp, db, "--web", web)
    try:
        p = srv.port
        e = json_400(raw(p, b"GET /api/v1/summary?from=%ff%fe HTTP/1.1\r\nHost: x\r\n"
                            b"Connection: close\r\n\r\n"))
        check(e is not None and "\\xff\\xfe" in e, f"invalid UTF-8 value: {e}")
        e = json_400(raw(p, b"GET /api/v1/summary?%c3%28=1 HTTP/1.0\r\n\r\n"))
        check(e is not None and "\\xc3(" in e, f"invalid UTF-8 key: {e}")
        e = json_400(raw(p, b"GET /api/v1/summary HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                            b"\r\nhello"))
        check(e is not None and "body" in e, f"GET with a body: {e}")
        e = json_400(raw(p, b"GET /api/v1/summary HTTP/1.1\r\nHost: x\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
        check(e is not None, f"GET with a chunked body: {e}")
        r = raw(p, b"POST /api/v1/summary HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        check(r.startswith(b"HTTP/1.1 405"), f"POST with a body: {r[:40]}")
        for n in (17, 501, 2000):
            q = "&".join("top=1" for _ in range(n))
            e = json_400(raw(p, f"GET /api/v1/summary?{q} HTTP/1.0\r\n\r\n".encode()))
            check(e is not None and "too many" in e, f"{n} arguments: {e}")
        for path in (b"/index.html%00.js", b"/api/v1/summary?top=5%00", b"/%00",
                     b"/api/v1/summary?to%00p=1"):
            r = raw(p, b"GET " + path + b" HTTP/1.0\r\n\r\n")
            check(json_400(r) is not None and b"mamori-web" not in r, f"NUL {path}: {r[:40]}")
        # a raw NUL byte in the target: the library ends the C string there, so
        # the path or value would be cut short; and the arguments after it must
        # still be counted
        flood = "&".join("top=1" for _ in range(2000)).encode()
        for path in (b"/index.html\x00.js", b"/index.html\x00", b"/api/v1/summary?top=5\x00x",
                     b"/index.html\x00HTTP/1.0", b"/api/v1/summary\x00?" + flood):
            r = raw(p, b"GET " + path + b" HTTP/1.0\r\n\r\n")
            check(json_400(r) is not None and b"mamori-web" not in r,
                  f"raw NUL {path[:30]}: {r[:40]}")
        st, _, body, _ = get(p, "/index.html")
        check(st == 200 and b"mamori-web" in body, f"index.html: {st}")
        for path in ("/fifo", "/fifolink", "/sub/"):
            st, _, body, dt = get(p, path, timeout=3)
            check(st == 404 and dt < 1, f"non-regular {path}: {st} in {dt:.1f} s")
        quick(p, "after the FIFOs", ("/metrics", "/index.html"))
        # a good request keeps its connection: several answers on one socket
        c = http.client.HTTPConnection("127.0.0.1", p, timeout=5)
        kept = []
        for path in ("/metrics", "/api/v1/summary?top=2", "/index.html", "/api/v1/summary?top=2"):
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            kept.append((r.status, r.getheader("Connection"), c.sock.fileno() if c.sock else None))
        c.close()
        check(all(k[0] == 200 and k[1] != "close" and k[2] == kept[0][2] for k in kept),
              f"keep-alive: {kept}")
    finally:
        check(srv.stop() == 0, "serve after bad requests: exit status")


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:  # 600 client sockets and some
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    tmp = tempfile.mkdtemp(prefix="mamori-serve-h-")
    try:
        cap, db = os.path.join(tmp, "t.pcap"), os.path.join(tmp, "t.db")
        subprocess.run([M, "synth", "-q", "--out", cap, "--darknet", DN, "--packets", "60000",
                        "--seed", "8"], check=True)
        subprocess.run([M, "observe", "-q", "--no-geo", "--darknet", DN, "--read", cap, "--db",
                        db], check=True, stderr=subprocess.DEVNULL)
        web = os.path.join(tmp, "web")
        os.makedirs(os.path.join(web, "sub"))
        open(os.path.join(web, "index.html"), "w").write("<title>mamori-web</title>")
        os.mkfifo(os.path.join(web, "fifo"))
        os.mkfifo(os.path.join(web, "sub", "index.html"))
        os.symlink(os.path.join(web, "fifo"), os.path.join(web, "fifolink"))
        for name, fn in (("bad requests", lambda: bad_requests(tmp, db, web)),
                         ("streams", lambda: streams(tmp, db)),
                         ("slow clients", lambda: slow_clients(tmp, db)),
                         ("expensive requests", lambda: expensive(tmp, db))):
            t = time.monotonic()
            fn()
            print(f"{name}: {time.monotonic() - t:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        print("FAIL:\n  " + "\n  ".join(errors))
        return 1
    print("serve hardening: streams, slow clients, query floods and bad requests held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
