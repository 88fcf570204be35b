#!/usr/bin/env python3
"""Independent pcap helpers for the tests (no mamori code involved).

  pcaptool.py count FILE                 complete records in a classic pcap
  pcaptool.py cut FILE OUT BYTES         copy the first BYTES bytes
  pcaptool.py absurd FILE OUT N          keep N records, then one claiming a 2 GiB length
  pcaptool.py linktype FILE OUT DLT      same records, another link type
  pcaptool.py frames_by_minute FILE      JSON {minute_start: frames} of complete records
  pcaptool.py pcapng FILE OUT [TSRESOL [TSOFFSET]]
                                         the same records as pcapng (SHB, IDB, EPBs); with
                                         TSRESOL (if_tsresol byte) the timestamps are written
                                         in those units, TSOFFSET (if_tsoffset seconds) is set
  pcaptool.py retime FILE OUT I SEC USEC  record I gets that time (32-bit fields, as written)
  pcaptool.py shift FILE OUT SECONDS      every record's seconds moved (wrapping at 32 bits)
  pcaptool.py split FILE OUT1 OUT2 N      records before N to OUT1, the rest to OUT2
"""
import json
import struct
import sys


def records(data):
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        if off + 16 + incl > len(data):
            return
        yield off, sec, incl
        off += 16 + incl


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    if cmd == "count":
        print(sum(1 for _ in records(data)))
    elif cmd == "cut":
        open(sys.argv[3], "wb").write(data[:int(sys.argv[4])])
    elif cmd == "absurd":
        n = int(sys.argv[4])
        recs = list(records(data))[:n + 1]
        end = recs[n][0]
        bad = struct.pack("<IIII", 1474329600, 0, 0x7FFFFFFF, 0x7FFFFFFF)
        open(sys.argv[3], "wb").write(data[:end] + bad + b"\0" * 64)
    elif cmd == "linktype":
        out = bytearray(data)
        out[20:24] = struct.pack("<I", int(sys.argv[4]))
        open(sys.argv[3], "wb").write(out)
    elif cmd == "frames_by_minute":
        counts = {}
        for _, sec, _ in records(data):
            counts[sec - sec % 60] = counts.get(sec - sec % 60, 0) + 1
        print(json.dumps(counts))
    elif cmd == "pcapng":
        linktype = struct.unpack("<I", data[20:24])[0]

        def block(btype, body):
            body += b"\0" * (-len(body) % 4)
            n = 12 + len(body)
            return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

        opts = b""
        resol = int(sys.argv[4], 0) if len(sys.argv) > 4 else None
        if resol is not None:
            opts += struct.pack("<HHB", 9, 1, resol) + b"\0" * 3
        if len(sys.argv) > 5:
            opts += struct.pack("<HHq", 14, 8, int(sys.argv[5], 0))
        if opts:
            opts += struct.pack("<HH", 0, 0)
        out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
               block(1, struct.pack("<HHI", linktype, 0, 65535) + opts)]
        for off, sec, incl in records(data):
            usec, orig = struct.unpack("<II", data[off + 4:off + 8] + data[off + 12:off + 16])
            ts = sec * 1000000 + usec
            if resol is not None:  # the same microsecond count read in other units
                ts &= (1 << 64) - 1
            pkt = data[off + 16:off + 16 + incl]
            out.append(block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, incl, orig) + pkt))
        open(sys.argv[3], "wb").write(b"".join(out))
    elif cmd == "retime":
        i, sec, usec = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        off = list(records(data))[i][0]
        out = bytearray(data)
        out[off:off + 8] = struct.pack("<II", sec & 0xFFFFFFFF, usec & 0xFFFFFFFF)
        open(sys.argv[3], "wb").write(out)
    elif cmd == "shift":
        out = bytearray(data)
        for off, sec, _ in records(data):
            out[off:off + 4] = struct.pack("<I", (sec + int(sys.argv[4])) & 0xFFFFFFFF)
        open(sys.argv[3], "wb").write(out)
    elif cmd == "split":
        n = int(sys.argv[5])
        recs = list(records(data))
        cut = recs[n][0] if n < len(recs) else len(data)
        open(sys.argv[3], "wb").write(data[:cut])
        open(sys.argv[4], "wb").write(data[:24] + data[cut:])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
