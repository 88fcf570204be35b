"""A minimal two-namespace fixture for the scan tests (needs root), until the testbed lands.

Namespaces <name>-c (the scanner, tb0 198.19.255.1) and <name>-d (the devices, tb1 198.19.255.2)
on one veth; <name>-d owns RANGE as a local route, so the kernel answers every address: a listening
socket gives a SYN-ACK, any other port an RST; BLACKHOLED addresses never answer (filtered), nor
does SILENT (routed there, dropped unanswered: rate tests scan it, so that the device side's
answers do not compete for the machine's two cores).
The truth is what the test asks the fixture to listen on, known before the scan runs. A capture of
the probes arriving in <name>-d (tcpdump, SYNs only) proves what the scanner sent and when.
Everything is removed on close, also when the test fails (atexit)."""
import atexit
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

MAMORI = os.path.abspath(os.environ.get("MAMORI", "build/mamori"))
RANGE = "198.18.0.0/20"
SILENT = "198.18.16.0/20"  # routed to the device side, which has no route for it: dropped unanswered

LISTENER = r"""
import socket, sys
socks = []
for spec in sys.argv[1:]:
    a, p = spec.rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND: a blackholed address is not local
    s.bind((a, int(p)))
    s.listen(4096)
    socks.append(s)
print("ready", flush=True)
sys.stdin.read()
"""


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


class Fixture:
    def __init__(self, name, listen, blackholed=()):
        self.name, self.c, self.d = name, name + "-c", name + "-d"
        self.tmp = tempfile.mkdtemp(prefix=name + ".")
        self.listen = sorted(set(listen))
        self.procs = []
        atexit.register(self.close)
        self.close_ns()
        for ns in (self.c, self.d):
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "tb0", "netns", self.c, "type", "veth", "peer", "name", "tb1",
           "netns", self.d)
        self.ipc("ip", "addr", "add", "198.19.255.1/30", "dev", "tb0")
        self.ipd("ip", "addr", "add", "198.19.255.2/30", "dev", "tb1")
        for ns, dev in ((self.c, "tb0"), (self.d, "tb1")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.ipc("ip", "route", "add", RANGE, "via", "198.19.255.2")
        self.ipc("ip", "route", "add", SILENT, "via", "198.19.255.2")
        self.ipd("ip", "route", "add", "local", RANGE, "dev", "lo")
        for a in blackholed:
            self.ipd("ip", "route", "add", "blackhole", a + "/32")
        # the device side's ARP entry is what the scanner (and zmap -G) need
        self.gw_mac = json.loads(sh("ip", "-n", self.d, "-j", "link", "show", "tb1").stdout)[0]["address"]
        if self.listen:
            p = subprocess.Popen(["ip", "netns", "exec", self.d, sys.executable, "-c", LISTENER] +
                                 [f"{a}:{port}" for a, port in self.listen],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.procs.append(p)
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("listeners did not start")

    def ipc(self, *a):
        return sh("ip", "netns", "exec", self.c, *a)

    def ipd(self, *a):
        return sh("ip", "netns", "exec", self.d, *a)

    def scan(self, *args, timeout=60, check=True):
        r = subprocess.run(["ip", "netns", "exec", self.c, MAMORI, "scan", "--db", "-",
                            "--audit", os.path.join(self.tmp, "audit.jsonl"), *args],
                           capture_output=True, text=True, timeout=timeout, cwd=self.tmp)
        if check and r.returncode != 0:
            raise AssertionError(f"mamori scan {args} failed ({r.returncode}): {r.stderr}")
        return r

    def capture(self, name):
        return Capture(self, os.path.join(self.tmp, name))

    def close_ns(self):
        for ns in (self.c, self.d):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def close(self):
        for p in self.procs:
            try:
                p.stdin.close()
                p.wait(timeout=5)
            except Exception:
                p.kill()
        self.procs = []
        self.close_ns()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Capture:
    """tcpdump in the device namespace: every SYN (no ACK) that arrives on tb1."""

    def __init__(self, fx, path):
        self.path = path
        self.p = subprocess.Popen(["ip", "netns", "exec", fx.d, "tcpdump", "-i", "tb1", "-Q", "in",
                                   "-n", "-s", "96", "-B", "65536", "-U", "--immediate-mode", "-w", path,
                                   "tcp[13] & 18 == 2"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()  # "listening on tb1 ..." once the socket is bound
        if "listening" not in line:
            raise RuntimeError("tcpdump: " + line)

    def stop(self):
        """The SYNs seen: [(ts_us, daddr, dport, saddr, sport, seq)]; fails on kernel drops."""
        self.p.send_signal(signal.SIGINT)
        err = self.p.stderr.read()
        self.p.wait(timeout=10)
        stats = {l.split(" ", 1)[1]: int(l.split(" ", 1)[0]) for l in err.splitlines()
                 if l.endswith(("captured", "received by filter", "dropped by kernel"))}
        if stats.get("packets dropped by kernel", 0) or \
                stats.get("packets captured") != stats.get("packets received by filter"):
            raise AssertionError(f"tcpdump lost packets: {stats}")
        return list(read_syns(self.path))


def read_syns(path):
    data = open(path, "rb").read()
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        f = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(f) < 54 or f[12:14] != b"\x08\x00":
            continue
        ihl = (f[14] & 15) * 4
        ip, tcp = f[14:], f[14 + ihl:]
        yield (sec * 1000000 + usec, ".".join(map(str, ip[16:20])), struct.unpack(">H", tcp[2:4])[0],
               ".".join(map(str, ip[12:16])), struct.unpack(">H", tcp[0:2])[0],
               struct.unpack(">I", tcp[4:8])[0])


def hosts(cidr_base, first, last):
    a, b, c, _ = cidr_base.split(".")
    return [f"{a}.{b}.{c}.{i}" for i in range(first, last + 1)]


def results(path, fmt="json"):
    """(saddr, sport) of every row of a scan output file, with its row."""
    rows = []
    with open(path) as f:
        if fmt == "json":
            rows = [json.loads(l) for l in f if l.strip()]
        else:
            lines = f.read().splitlines()
            head = lines[0].split(",")
            rows = [dict(zip(head, l.split(","))) for l in lines[1:]]
    return rows


def check(cond, msg):
    if not cond:
        print("FAIL:", msg, file=sys.stderr)
        sys.exit(1)
