#!/usr/bin/env python3
"""Durability: after kill -9 the database opens clean with every committed
interval; SIGINT flushes the open interval.  observe reads a FIFO that this
test feeds, so the test knows exactly which records observe has been given.
Waits are on observable conditions (rows committed, the reader blocked in
read() with the pipe drained), bounded in time."""
import fcntl
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import time

M = os.environ["MAMORI"]
DN = "198.18.0.0/16"


def records(data):
    off = 24
    while off + 16 <= len(data):
        sec, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        yield off, sec, data[off:off + 16 + incl]
        off += 16 + incl


def wait_for(cond, what, limit=60.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.005)
    sys.exit(f"FAIL: timed out waiting for {what}")


def committed(db):
    if not os.path.exists(db):
        return 0
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        n = c.execute("SELECT count(*) FROM intervals").fetchone()[0]
        c.close()
        return n
    except sqlite3.Error:
        return 0


def drained_and_blocked(fd, pid):
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    if struct.unpack("i", buf)[0] != 0:
        return False
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split()[0] == "0"  # blocked in read(2)
    except OSError:
        return False


def frames_per_interval(db):
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = c.execute("SELECT start, packets + malformed + non_ip + outside FROM intervals"
                     " ORDER BY start").fetchall()
    c.close()
    return rows


def start_observe(tmp, name):
    fifo = os.path.join(tmp, name + ".fifo")
    db = os.path.join(tmp, name + ".db")
    os.mkfifo(fifo)
    proc = subprocess.Popen([M, "observe", "-q", "--no-geo", "--darknet", DN, "--read", fifo,
                             "--db", db], stderr=subprocess.PIPE, text=True)
    fd = os.open(fifo, os.O_WRONLY)
    return proc, fd, db


def main():
    tmp = tempfile.mkdtemp(prefix="mamori-dur-")
    cap = os.path.join(tmp, "c.pcap")
    subprocess.run([M, "synth", "-q", "--out", cap, "--darknet", DN, "--packets", "60000",
                    "--seed", "8", "--duration", "600", "--surge-factor", "0"], check=True)
    data = open(cap, "rb").read()
    recs = list(records(data))
    t0 = recs[0][1] - recs[0][1] % 60
    truth = {}
    for _, sec, _ in recs:
        truth[sec - sec % 60] = truth.get(sec - sec % 60, 0) + 1

    # kill -9 after five intervals closed: all five survive, intact
    proc, fd, db = start_observe(tmp, "kill")
    first_of_6th = next(i for i, r in enumerate(recs) if r[1] >= t0 + 300)
    os.write(fd, data[:24] + b"".join(r[2] for r in recs[:first_of_6th + 1]))
    wait_for(lambda: committed(db) >= 5, "five committed intervals")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    os.close(fd)
    got = frames_per_interval(db)
    want = [(t0 + 60 * i, truth[t0 + 60 * i]) for i in range(5)]
    if got != want:
        sys.exit(f"FAIL: after kill -9: {got}, want {want}")
    print(f"kill -9: {len(got)} committed intervals intact, {sum(n for _, n in got)} frames")

    # SIGINT in the middle of an interval: the open interval is flushed too
    proc, fd, db = start_observe(tmp, "int")
    upto = next(i for i, r in enumerate(recs) if r[1] >= t0 + 210)
    os.write(fd, data[:24] + b"".join(r[2] for r in recs[:upto]))
    wait_for(lambda: drained_and_blocked(fd, proc.pid), "observe to read every record")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    os.close(fd)
    if proc.returncode != 0 or "(interrupted)" not in err:
        sys.exit(f"FAIL: SIGINT exit {proc.returncode}: {err}")
    got = frames_per_interval(db)
    if len(got) != 4 or sum(n for _, n in got) != upto:
        sys.exit(f"FAIL: after SIGINT {got}: want 4 intervals and {upto} frames")
    print(f"SIGINT: open interval flushed, {upto} frames in {len(got)} intervals")
    subprocess.run(["rm", "-rf", tmp], check=True)


if __name__ == "__main__":
    main()
