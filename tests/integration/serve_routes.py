#!/usr/bin/env python3
"""mamori serve: every line of the route table (GET /api/v1/routes) answers
through the HTTP server with its example query, no path is listed twice, the
README documents every path, and the names the API gives (/api/v1/names) are
the ones the data uses: synth's truth file names the same classes and
fingerprints.  Loopback only; the server is stopped also on failure."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import http.client

M = os.environ["MAMORI"]
ROOT = os.environ.get("MAMORI_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
DN = "198.18.0.0/16,2001:db8:1::/48"
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type", ""), body


def stream_head(port, path, deadline):
    """Status line and the stream's first bytes, then hang up."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    buf = b""
    while b": mamori live stream" not in buf and time.monotonic() < deadline:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf


def main():
    tmp = tempfile.mkdtemp(prefix="mamori-routes-")
    cap, db = os.path.join(tmp, "t.pcap"), os.path.join(tmp, "t.db")
    subprocess.run([M, "synth", "-q", "--out", cap, "--darknet", DN, "--packets", "20000",
                    "--seed", "5"], check=True)
    subprocess.run([M, "observe", "-q", "--no-geo", "--darknet", DN, "--read", cap, "--db", db],
                   check=True, stderr=subprocess.DEVNULL)
    p = subprocess.Popen([M, "serve", "--db", db, "--listen", "127.0.0.1:0"],
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        if "serving http://127.0.0.1:" not in line:
            sys.exit(f"FAIL: serve did not start: {line}")
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        # the live thread reads /metrics within a tick: poll with a deadline
        deadline = time.monotonic() + 10
        while get(port, "/metrics")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.05)

        st, ctype, body = get(port, "/api/v1/routes")
        check(st == 200 and ctype == "application/json", f"routes: {st} {ctype}")
        routes = json.loads(body)["routes"]
        paths = [r["path"] for r in routes]
        check(len(paths) == len(set(paths)), f"a path listed twice: {paths}")
        check(len(paths) >= 10, f"only {len(paths)} routes")
        readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
        for r in routes:
            path = r["path"]
            short = path.replace("/api/v1", "")  # the README's "/top/asns" shorthand
            check(f"`{path}" in readme or f"`{short}`" in readme, f"README lacks {path}")
            if path == "/api/v1/stream":
                head = stream_head(port, path + r["example"], time.monotonic() + 5)
                check(head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head,
                      f"{path}: {head[:80]!r}")
                continue
            st, ctype, body = get(port, path + r["example"])
            check(st == 200, f"{path}{r['example']}: {st} {body[:100]!r}")
            if path != "/metrics":
                check(ctype == "application/json", f"{path}: {ctype}")
                json.loads(body)
        st, _, _ = get(port, "/api/v1/no_such_route")
        check(st == 404, f"unknown route: {st}")

        # names: what the API says they are, what the data and synth's truth use
        names = json.loads(get(port, "/api/v1/names")[2])
        classes = [c["name"] for c in names["classes"]]
        fps = [f["name"] for f in names["fingerprints"]]
        check(len(set(classes)) == len(classes) and len(set(fps)) == len(fps), "a name twice")
        summary = json.loads(get(port, "/api/v1/summary?top=0")[2])
        truth = json.load(open(cap + ".truth.json"))
        check(list(summary["classes"]) == classes, f"classes {list(summary['classes'])} {classes}")
        check(set(truth["classes"]) == set(classes), f"truth classes {list(truth['classes'])}")
        seen = {f["name"] for f in summary["fingerprints"]}
        tfps = {f["name"] for f in truth["fingerprints"]}
        check(seen <= set(fps) and tfps <= set(fps), f"fingerprints {seen} / truth {tfps} not in {fps}")
        check(len(seen) >= 4, f"synth's capture shows only {seen}")
    finally:
        p.terminate()
        p.wait(timeout=10)
    if errors:
        print("FAIL:\n  " + "\n  ".join(errors))
        return 1
    print(f"serve routes: {len(routes)} routes answer, names agree with synth's truth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
