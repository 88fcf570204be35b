#!/usr/bin/env python3
"""share anonymize end to end, checked against truth the test knows without mamori: the published
Crypto-PAn vectors (tests/fixtures/cryptopan-vectors.tsv) for every address the inputs hold, checksums
recomputed here in Python (IPv4 header, TCP/UDP/ICMPv6 over their pseudo-headers, ICMP), STIX SCO ids
recomputed with uuid.uuid5 over the canonical JSON of their id-contributing properties, and metrics on
a small input whose figures are computed by hand below.  Captures are built and parsed here (struct),
byte for byte: what anonymize must not change is compared too."""
import json
import os
import struct
import subprocess
import sys
import tempfile
import uuid

M = os.environ["MAMORI"]
ROOT = os.environ["MAMORI_SOURCE_ROOT"]
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def vectors():
    key, vec = None, {}
    for line in open(os.path.join(ROOT, "tests/fixtures/cryptopan-vectors.tsv")):
        if "key (32 bytes, hex):" in line:
            key = line.split(":", 1)[1].strip()
        elif line.strip() and not line.startswith("#"):
            a, b = line.split()
            vec[a] = b
    return key, vec


KEY, VEC = vectors()
V4 = [a for a in VEC if ":" not in a]


def run(tmp, *args, ok=True):
    p = subprocess.run([M, "share", "anonymize", "--key", os.path.join(tmp, "vec.key"), *args],
                       capture_output=True)
    if ok and p.returncode:
        sys.exit(f"anonymize {args}: exit {p.returncode}: {p.stderr.decode()}")
    return p


# ---- checksums, independently ----
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ok_sum(b):
    return csum(b) == 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def fmt4(b):
    return ".".join(str(x) for x in b)


def fmt6(b):
    import ipaddress
    return str(ipaddress.IPv6Address(b))


def fix(b, at, data):
    """b with a checksum at `at` computed over data (which holds b's field as zero)."""
    c = 0xFFFF - csum(data)
    return b[:at] + struct.pack("!H", c) + b[at + 2:]


def ipv4_pkt(src, dst, proto, l4, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0, 64, proto, 0, ip4(src), ip4(dst))
    h = fix(h, 10, h)
    return h + l4


def pseudo4(src, dst, proto, n):
    return ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, n)


def pseudo6(src, dst, proto, n):
    return ip6(src) + ip6(dst) + struct.pack("!IxxxB", n, proto)


def tcp(ps, sport, dport, payload=b""):
    t = struct.pack("!HHIIBBHHH", sport, dport, 1234, 0, 0x50, 0x02, 1024, 0, 0) + payload
    return fix(t, 16, ps(len(t)) + t)


def udp(ps, sport, dport, payload, zero=False):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return u if zero else fix(u, 6, ps(len(u)) + u)


def ipv6_pkt(src, dst, nh, l4):
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), nh, 64, ip6(src), ip6(dst)) + l4


def eth(et, p):
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + struct.pack("!H", et) + p


def frames():
    """(frame, snaplen or None, description) — the truth of what each holds."""
    a, b, c, d = V4[0], V4[1], V4[2], V4[3]
    out = []
    p4 = lambda s, t, pr: (lambda n: pseudo4(s, t, pr, n))
    out.append((eth(0x800, ipv4_pkt(a, b, 6, tcp(p4(a, b, 6), 40000, 23, b"login: "))), None, "tcp4"))
    out.append((eth(0x800, ipv4_pkt(c, d, 17, udp(p4(c, d, 17), 5353, 53, b"\x12\x34query"))), None, "udp4"))
    out.append((eth(0x800, ipv4_pkt(a, d, 17, udp(None, 1, 2, b"nocsum", zero=True))), None, "udp4-0"))
    icmp = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"ping"
    out.append((eth(0x800, ipv4_pkt(b, c, 1, fix(icmp, 2, icmp))), None, "icmp-echo"))
    inner = ipv4_pkt(c, a, 17, udp(p4(c, a, 17), 999, 53, b"abcdefgh"))[:28]
    err = struct.pack("!BBHI", 3, 3, 0, 0) + inner
    out.append((eth(0x800, ipv4_pkt(a, c, 1, fix(err, 2, err))), None, "icmp-unreach"))
    s6, t6 = "::1", "2001:db8::1"
    t = tcp(lambda n: pseudo6(s6, t6, 6, n), 40001, 80, b"GET / HTTP/1.0\r\n\r\n")
    out.append((eth(0x86DD, ipv6_pkt(s6, t6, 6, t)), None, "tcp6"))
    e6 = struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"v6ping"
    out.append((eth(0x86DD, ipv6_pkt("::2", "2001:db8::2", 58, fix(e6, 2, pseudo6("::2", "2001:db8::2", 58, len(e6)) + e6))), None, "icmp6"))
    ns = struct.pack("!BBHI16s", 135, 0, 0, 0, ip6("::ffff"))
    out.append((eth(0x86DD, ipv6_pkt("::1", "::2", 58, fix(ns, 2, pseudo6("::1", "::2", 58, len(ns)) + ns))), None, "ndp-ns"))
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x800, 6, 4, 1, b"\2\0\0\0\0\1", ip4(V4[4]), b"\0" * 6, ip4(V4[5]))
    out.append((eth(0x806, arp), None, "arp"))
    red = struct.pack("!BBH4s", 5, 1, 0, ip4(V4[17])) + inner
    out.append((eth(0x800, ipv4_pkt(a, c, 1, fix(red, 2, red))), None, "icmp-redirect"))
    out.append((eth(0x8035, arp), None, "rarp"))
    big = eth(0x800, ipv4_pkt(V4[6], V4[7], 6, tcp(p4(V4[6], V4[7], 6), 1, 2, b"x" * 200)))
    out.append((big, None, "tcp4-full"))
    out.append((big, 14 + 20 + 20 + 10, "tcp4-cut"))  # payload cut by the snaplen
    out.append((big, 14 + 20 + 10, "tcp4-cut-csum"))  # cut before the checksum field
    return out


def pcap(recs, snap=65535):
    h = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, 1)
    for i, (f, cut, _) in enumerate(recs):
        data = f[:cut] if cut else f
        h += struct.pack("<IIII", 1700000000 + i, 123456, len(data), len(f)) + data
    return h


def read_pcap(b):
    recs, off = [], 24
    while off < len(b):
        _, _, cl, wl = struct.unpack_from("<IIII", b, off)
        recs.append(b[off + 16:off + 16 + cl])
        off += 16 + cl
    return b[:24], recs


def test_pcap(tmp):
    fr = frames()
    src = pcap(fr)
    open(os.path.join(tmp, "in.pcap"), "wb").write(src)
    outp = os.path.join(tmp, "out.pcap")
    r = run(tmp, "--out", outp, os.path.join(tmp, "in.pcap"))
    out = open(outp, "rb").read()
    check(len(out) == len(src), "pcap: the output's length differs")
    h_in, rin = read_pcap(src)
    h_out, rout = read_pcap(out)
    check(h_in == h_out, "pcap: file header changed")
    check(len(rin) == len(rout), "pcap: record count changed")
    m4, m6 = lambda b: ip4(VEC[fmt4(b)]), lambda b: ip6(VEC[fmt6(b)])
    by = {d: (i, o) for (f, cut, d), i, o in zip(fr, rin, rout)}
    for name, (i, o) in by.items():
        et = struct.unpack_from("!H", i, 12)[0]
        check(i[:14] == o[:14], f"{name}: link header changed")
        if et == 0x800 and len(i) >= 34:
            ih, oh = i[14:34], o[14:34]
            check(oh[12:16] == m4(ih[12:16]) and oh[16:20] == m4(ih[16:20]), f"{name}: IPv4 addresses not the vectors'")
            check(ok_sum(oh), f"{name}: IPv4 header checksum wrong")
            check(ih[:10] == oh[:10], f"{name}: IPv4 header fields changed")
            l4i, l4o = i[34:], o[34:]
            s, d = fmt4(oh[12:16]), fmt4(oh[16:20])
            if name in ("tcp4", "tcp4-full"):
                check(ok_sum(pseudo4(s, d, 6, len(l4o)) + l4o), f"{name}: TCP checksum wrong")
            if name == "udp4":
                check(ok_sum(pseudo4(s, d, 17, len(l4o)) + l4o), f"{name}: UDP checksum wrong")
            if name == "udp4-0":
                check(l4o[6:8] == b"\0\0", f"{name}: a zero UDP checksum was changed")
            if name.startswith("icmp"):
                check(ok_sum(l4o), f"{name}: ICMP checksum wrong")
            if name == "icmp-redirect":
                check(l4o[4:8] == m4(l4i[4:8]), "icmp-redirect: the gateway address")
            if name == "icmp-unreach":
                q = l4o[8:]
                check(q[12:16] == m4(l4i[8 + 12:8 + 16]) and q[16:20] == m4(l4i[8 + 16:8 + 20]), "icmp-unreach: quoted addresses")
                check(ok_sum(q[:20]), "icmp-unreach: quoted IPv4 header checksum")
            if name == "tcp4-cut":
                full = by["tcp4-full"][1]
                check(o[34 + 16:34 + 18] == full[34 + 16:34 + 18], "tcp4-cut: checksum not the full packet's")
                check(l4i[18:] == l4o[18:], "tcp4-cut: payload changed")
            if name == "tcp4-cut-csum":
                check(l4i == l4o, "tcp4-cut-csum: a checksum not captured was touched")
            if not name.startswith("icmp"):
                hdr, at = (20, 16) if name.startswith("tcp4") else (8, 6)  # the header, its checksum
                check(l4i[:at] == l4o[:at] and l4i[at + 2:] == l4o[at + 2:], f"{name}: transport bytes changed")
        elif et == 0x86DD:
            ih, oh = i[14:54], o[14:54]
            check(oh[8:24] == m6(ih[8:24]) and oh[24:40] == m6(ih[24:40]), f"{name}: IPv6 addresses not the vectors'")
            s, d = fmt6(oh[8:24]), fmt6(oh[24:40])
            l4o = o[54:]
            check(ok_sum(pseudo6(s, d, oh[6], len(l4o)) + l4o), f"{name}: transport checksum wrong")
            if name == "ndp-ns":
                check(l4o[8:24] == m6(i[54 + 8:54 + 24]), "ndp-ns: target address")
        elif et in (0x806, 0x8035):
            check(o[14 + 14:14 + 18] == m4(i[28:32]) and o[14 + 24:14 + 28] == m4(i[38:42]), f"{name}: addresses")
    import shutil
    if shutil.which("tcpdump"):  # a second, independent reader: it verifies every checksum it can
        td = subprocess.run(["tcpdump", "-vv", "-nr", outp], capture_output=True, text=True).stdout
        td_in = subprocess.run(["tcpdump", "-vv", "-nr", os.path.join(tmp, "in.pcap")], capture_output=True, text=True).stdout
        check(td_in.count("incorrect") + td_in.count("bad cksum") == 0, "pcap: the test's own input has bad checksums")
        check(td.count("incorrect") + td.count("bad cksum") == 0, f"pcap: tcpdump finds bad checksums:\n{td}")
        for a in (V4[0], V4[1], "2001:db8::1"):
            check(VEC[a] in td and a not in td, f"pcap: tcpdump does not show {a} as {VEC[a]}")
    err = r.stderr.decode()
    check("1 left" in err, f"pcap: the checksum that was not captured is not counted: {err}")
    # the same key, the same output; pcapng too: every block kept, EPB frames the same as pcap's
    r2 = run(tmp, os.path.join(tmp, "in.pcap"))
    check(r2.stdout == out, "pcap: the same key gave another output")
    ng = pcapng(fr)
    open(os.path.join(tmp, "in.pcapng"), "wb").write(ng)
    r3 = run(tmp, os.path.join(tmp, "in.pcapng")).stdout
    check(len(r3) == len(ng) - NRB_LEN, "pcapng: the name-resolution block was not dropped alone")
    check(read_pcapng(r3) == rout, "pcapng: frames differ from the pcap's")
    bad = run(tmp, os.path.join(tmp, "a.json"), "--format", "pcap", ok=False)
    check(bad.returncode == 1 and bad.stderr.count(b"\n") == 1, "a non-capture as pcap: not one line, exit 1")


def pcapng(fr):
    blk = lambda t, body: struct.pack("<II", t, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    out = blk(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += blk(1, struct.pack("<HHI", 1, 0, 65535))
    out += blk(4, struct.pack("<HH4s4s", 1, 8, ip4(V4[0]), b"a.b\0") + b"\0\0\0\0")  # NRB
    for f, cut, _ in fr:
        data = f[:cut] if cut else f
        pad = b"\0" * (-len(data) % 4)
        out += blk(6, struct.pack("<IIIII", 0, 0, 0, len(data), len(f)) + data + pad)
    return out


NRB_LEN = 12 + 16


def read_pcapng(b):
    recs, off = [], 0
    while off < len(b):
        t, n = struct.unpack_from("<II", b, off)
        if t == 6:
            cl = struct.unpack_from("<I", b, off + 20)[0]
            recs.append(b[off + 28:off + 28 + cl])
        off += n
    return recs


def test_json_csv(tmp):
    doc = {"event": "cowrie.session.connect", "src_ip": V4[8], "dst_ip": V4[9], "n": 3.5,
           "list": [V4[10], "not an address", 7, None, True], "nested": {"peer": "2001:db8::1"},
           "net": V4[11] + "/32", "url": f"http://{V4[12]}:8080/bins/mirai.arm", "v": "1.2"}
    p = os.path.join(tmp, "a.json")
    open(p, "w").write(json.dumps(doc, indent=2))
    o1 = run(tmp, p).stdout
    o2 = run(tmp, p).stdout
    check(o1 == o2, "json: the same key gave another output")
    got = json.loads(o1)
    want = dict(doc, src_ip=VEC[V4[8]], dst_ip=VEC[V4[9]], list=[VEC[V4[10]], "not an address", 7, None, True],
                nested={"peer": VEC["2001:db8::1"]}, net=VEC[V4[11]] + "/32",
                url=f"http://{VEC[V4[12]]}:8080/bins/mirai.arm")
    check(got == want, f"json: {got} != {want}")
    check(list(got) == list(doc), "json: key order changed")
    lines = "".join(json.dumps({"src_ip": a, "i": i}) + "\n" for i, a in enumerate(V4[:5]))
    open(os.path.join(tmp, "l.json"), "w").write(lines)
    out = run(tmp, "--columns", "src_ip", os.path.join(tmp, "l.json")).stdout.decode().splitlines()
    check([json.loads(x) for x in out] == [{"src_ip": VEC[a], "i": i} for i, a in enumerate(V4[:5])], "json lines")
    csv = f'ts,src,dst,note\r\n1,{V4[13]},"{V4[14]}","=cmd,x"\r\n2,::1,host,"a ""q"""\r\n'
    open(os.path.join(tmp, "a.csv"), "w", newline="").write(csv)
    want = f'ts,src,dst,note\r\n1,{VEC[V4[13]]},"{VEC[V4[14]]}","=cmd,x"\r\n2,{VEC["::1"]},host,"a ""q"""\r\n'
    got = run(tmp, os.path.join(tmp, "a.csv")).stdout.decode()
    check(got == want, f"csv: {got!r} != {want!r}")
    want_col = f'ts,src,dst,note\r\n1,{V4[13]},"{VEC[V4[14]]}","=cmd,x"\r\n2,::1,host,"a ""q"""\r\n'
    got = run(tmp, "--columns", "dst", os.path.join(tmp, "a.csv")).stdout.decode()
    check(got == want_col, f"csv --columns dst: {got!r}")
    bad = run(tmp, "--columns", "nosuch", os.path.join(tmp, "a.csv"), ok=False)
    check(bad.returncode == 1 and b"no column" in bad.stderr, "csv: an unknown column is not refused")


def sco_id(o):
    props = {"ipv4-addr": ["value"], "ipv6-addr": ["value"], "url": ["value"],
             "network-traffic": ["start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"]}
    c = {k: o[k] for k in props[o["type"]] if k in o}
    s = json.dumps(c, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f'{o["type"]}--{uuid.uuid5(uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7"), s)}'


def test_stix(tmp):
    a, b = V4[15], V4[16]
    ip_a = {"type": "ipv4-addr", "spec_version": "2.1", "value": a}
    ip_a["id"] = sco_id(ip_a)
    ip_b = {"type": "ipv4-addr", "spec_version": "2.1", "value": b}
    ip_b["id"] = sco_id(ip_b)
    nt = {"type": "network-traffic", "spec_version": "2.1", "src_ref": ip_a["id"], "dst_ref": ip_b["id"],
          "dst_port": 23, "protocols": ["tcp"]}
    nt["id"] = sco_id(nt)
    ident = {"type": "identity", "spec_version": "2.1", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
             "created": "2016-08-01T00:00:00.000Z", "modified": "2016-08-01T00:00:00.000Z", "name": "mamori"}
    ind = {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
           "created": "2016-08-01T00:00:00.000Z", "modified": "2016-08-01T00:00:00.000Z",
           "created_by_ref": ident["id"], "pattern": f"[ipv4-addr:value = '{a}'] OR [ipv4-addr:value ISSUBSET '{b[:b.rindex('.')]}.0/24']",
           "pattern_type": "stix", "valid_from": "2016-08-01T00:00:00Z",
           "object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"]}
    od = {"type": "observed-data", "spec_version": "2.1", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
          "created": "2016-08-01T00:00:00.000Z", "modified": "2016-08-01T00:00:00.000Z",
          "first_observed": "2016-08-01T00:00:00Z", "last_observed": "2016-08-01T00:00:00Z",
          "number_observed": 1, "object_refs": [ip_a["id"], ip_b["id"], nt["id"]]}
    rel = {"type": "relationship", "spec_version": "2.1", "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
           "created": "2016-08-01T00:00:00.000Z", "modified": "2016-08-01T00:00:00.000Z",
           "relationship_type": "based-on", "source_ref": ind["id"], "target_ref": od["id"]}
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
              "objects": [ident, ind, od, nt, ip_a, ip_b, rel]}
    p = os.path.join(tmp, "b.json")
    open(p, "w").write(json.dumps(bundle))
    r = run(tmp, p)
    out = json.loads(r.stdout)
    check(run(tmp, p).stdout == r.stdout, "stix: the same key gave another output")
    objs = {o["type"]: o for o in out["objects"]}
    ids = {o["id"] for o in out["objects"]}
    check(objs["identity"] == ident, "stix: the identity changed")
    na, nb = [o for o in out["objects"] if o["type"] == "ipv4-addr"]
    check(na["value"] == VEC[a] and nb["value"] == VEC[b], "stix: ipv4-addr values not the vectors'")
    for o in (na, nb, objs["network-traffic"]):
        check(o["id"] == sco_id(o), f"stix: {o['type']} id {o['id']} is not its deterministic id {sco_id(o)}")
    ntn = objs["network-traffic"]
    check(ntn["src_ref"] == na["id"] and ntn["dst_ref"] == nb["id"], "stix: network-traffic refs")
    check(ntn["id"] != nt["id"], "stix: network-traffic kept its old id")
    want_pat = f"[ipv4-addr:value = '{VEC[a]}'] OR [ipv4-addr:value ISSUBSET '{VEC[b][:VEC[b].rindex('.')]}.0/24']"
    check(objs["indicator"]["pattern"] == want_pat, f"stix: pattern {objs['indicator']['pattern']}")
    check(objs["indicator"]["id"] != ind["id"] and objs["indicator"]["id"].startswith("indicator--"), "stix: indicator id")
    check(objs["indicator"]["object_marking_refs"] == ind["object_marking_refs"], "stix: marking refs changed")
    check(objs["relationship"]["source_ref"] == objs["indicator"]["id"] and objs["relationship"]["target_ref"] == objs["observed-data"]["id"], "stix: relationship refs")
    for r_ in objs["observed-data"]["object_refs"]:
        check(r_ in ids, f"stix: observed-data ref {r_} dangles")
    check(out["id"] == bundle["id"], "stix: bundle id changed")


def test_metrics(tmp):
    recs = ["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.1.5", "11.0.0.1", "10.0.0.2"]
    p = os.path.join(tmp, "m.json")
    open(p, "w").write(json.dumps(recs))
    m = json.loads(run(tmp, "--metrics", "--metrics-format", "json", p).stdout)
    check(m["records"] == 6 and m["distinct"] == 4 and m["ipv4"] == 4, f"metrics counts {m}")
    k = {(x["family"], x["prefix"]): x for x in m["k_anonymity"]}
    # /8: 10/8 holds 3, 11/8 one -> sizes 3,3,3,1
    check((k["ipv4", 8]["groups"], k["ipv4", 8]["min"], k["ipv4", 8]["median"]) == (2, 1, 3), f"k /8 {k['ipv4', 8]}")
    check(k["ipv4", 8]["share_below"] == {"2": 0.25, "5": 1.0, "10": 1.0}, f"k /8 below {k['ipv4', 8]}")
    # /24: 10.0.0 (2), 10.0.1 (1), 11.0.0 (1) -> sizes 2,2,1,1
    check((k["ipv4", 24]["groups"], k["ipv4", 24]["min"], k["ipv4", 24]["median"]) == (3, 1, 2), f"k /24 {k['ipv4', 24]}")
    check(k["ipv4", 24]["share_below"]["2"] == 0.5, "k /24 below 2")
    check(k["ipv4", 32]["share_below"]["2"] == 1.0, "k /32")
    an = m["analysis"]
    want = {  # A = records 1..3, B = 4..6
        "original": (4, 2, 2, 1, 1, 1, 1),
        "cryptopan": (4, 2, 2, 1, 1, 1, 1),
        "truncate_24": (3, 3, 2, 0, 0, 1, 1),
        "truncate_16": (2, 4, 2, 0, 0, 2, 1),
    }
    keys = ["distinct", "duplicates_found", "duplicates_true", "net_pairs_found", "net_pairs_true", "joins_found", "joins_true"]
    for t, w in want.items():
        check(tuple(an[t][x] for x in keys) == w, f"metrics {t}: {an[t]} != {w}")
    o = an["cryptopan_other_key"]  # B under another key: the repeat inside A only, no joins
    check((o["distinct"], o["duplicates_found"], o["joins_found"]) == (5, 1, 0), f"metrics other key {o}")
    txt = run(tmp, "--metrics", p).stdout.decode()
    check("k-anonymity" in txt and "truncate_24" in txt, "metrics text")


def test_keys(tmp):
    k = os.path.join(tmp, "new.key")
    r = subprocess.run([M, "share", "anonymize", "--new-key", k], capture_output=True)
    check(r.returncode == 0 and oct(os.stat(k).st_mode & 0o777) == "0o600", "--new-key: not 0600")
    check(len(open(k).read().strip()) == 64, "--new-key: not 64 hex digits")
    r = subprocess.run([M, "share", "anonymize", "--new-key", k], capture_output=True)
    check(r.returncode == 1, "--new-key over an existing file")
    open(os.path.join(tmp, "bad.key"), "w").write("abc\n")
    os.chmod(os.path.join(tmp, "bad.key"), 0o600)
    r = subprocess.run([M, "share", "anonymize", "--key", os.path.join(tmp, "bad.key"), os.path.join(tmp, "a.json")],
                       capture_output=True)
    check(r.returncode == 1 and r.stderr.count(b"\n") == 1 and b"not a Crypto-PAn key" in r.stderr,
          f"a bad key: {r.stderr}")
    r = subprocess.run([M, "share", "anonymize", os.path.join(tmp, "a.json")], capture_output=True)
    check(r.returncode == 2, "no --key: not a usage error")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, "vec.key"), "w").write(KEY + "\n")
        os.chmod(os.path.join(tmp, "vec.key"), 0o600)
        test_json_csv(tmp)
        test_pcap(tmp)
        test_stix(tmp)
        test_metrics(tmp)
        test_keys(tmp)
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print("share_anon: pcap, pcapng, JSON, CSV, STIX, metrics and keys as the vectors and checksums say")


main()
