#!/usr/bin/env bash
# Live capture (needs root and network namespaces; skipped otherwise): two
# namespaces made here and removed on exit, joined by a veth pair.  A sender in
# one replays synth's darknet frames (destinations inside 198.18.0.0/16 and
# 2001:db8:1::/48 only) onto the wire; observe --interface in the other
# captures them; after SIGINT every frame sent is in the database, and a
# restarted observe appends to it (its packets are newer).
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns add "mamori-probe-$$" 2>/dev/null; then
    echo "live: needs root, iproute2 and network namespaces; skipped"
    exit 77
fi
ip netns del "mamori-probe-$$"
A=mamori-obs-$$
S=mamori-snd-$$
cleanup() {
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$S"
for ns in "$A" "$S"; do # no router solicitations or MLD reports of their own on the wire
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add mo$$ netns "$A" type veth peer name ms$$ netns "$S"
ip -n "$A" link set mo$$ up
ip -n "$S" link set ms$$ up

"$M" synth -q --out "$T/live.pcap" --darknet "$DN" --packets 20000 --seed 31 --duration 120
# One capture: observe armed on the veth, frames SKIP.. of the darknet ones sent, then SIGINT.
capture_round() { # skip count
    ip netns exec "$A" "$M" observe -q --no-geo --darknet "$DN" --interface mo$$ --db "${DB:-$T/live.db}" \
        2>"$T/obs.err" &
    obs=$!
    # wait (bounded) until observe says its capture is armed
    for _ in $(seq 1 1000); do
        grep -q "capturing on mo$$" "$T/obs.err" && break
        kill -0 $obs 2>/dev/null || fail "observe died: $(cat "$T/obs.err")"
        sleep 0.01
    done
    grep -q "capturing on mo$$" "$T/obs.err" || fail "observe never started capturing"
    sent=$(ip netns exec "$S" python3 - "$T/live.pcap" ms$$ "$1" "$2" <<'PY'
import ipaddress, socket, struct, sys
data = open(sys.argv[1], "rb").read()
skip, count = int(sys.argv[3]), int(sys.argv[4])
dark4 = ipaddress.ip_network("198.18.0.0/16")
dark6 = ipaddress.ip_network("2001:db8:1::/48")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[2], 0))
off, seen, sent = 24, 0, 0
while off + 16 <= len(data) and sent < count:
    _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    o = 12
    while frame[o:o + 2] == b"\x81\x00":
        o += 4
    et, ip = frame[o:o + 2], frame[o + 2:]
    if et == b"\x08\x00" and len(ip) >= 20:
        ok = ipaddress.ip_address(ip[16:20]) in dark4
    elif et == b"\x86\xdd" and len(ip) >= 40:
        ok = ipaddress.ip_address(ip[24:40]) in dark6
    else:
        ok = False
    if ok:  # never put a frame for any other address on the wire
        seen += 1
        if seen > skip:
            s.send(frame)
            sent += 1
print(sent)
PY
)
    kill -INT $obs
    wait $obs || fail "observe exited $?: $(cat "$T/obs.err")"
}
stored() { # [key]
    "$M" report --db "${DB:-$T/live.db}" --format json | python3 -c '
import json, sys; t = json.load(sys.stdin)["totals"]
print(t["packets"] + t["malformed"] + t["non_ip"] + t["outside"] + t["late"] + t["bad_time"])'
}
capture_round 0 3000
sent1=$sent
got=$(stored)
[ "$got" = "$sent1" ] || fail "live: sent $sent1 frames, observe stored $got: $(cat "$T/obs.err")"
# A restarted sensor continues (its packets are newer than what it flushed on stop).
capture_round 3000 2000
sent=$((sent1 + sent))
got=$(stored)
[ "$got" = "$sent" ] || fail "live restart: sent $sent frames, observe stored $got: $(cat "$T/obs.err")"
# The host's clock went back across a restart (a board without a battery
# clock, before NTP): the database already holds the minutes the capture now
# stamps.  The sensor keeps capturing; what is older than the stored time is
# late, said once at start, never a stop.
"$M" synth -q --out "$T/ahead.pcap" --darknet "$DN" --packets 10000 --seed 32 --duration 600 \
    --start "$(date -u -d @$(($(date +%s) - 60)) +%Y-%m-%dT%H:%M:%SZ)"
"$M" observe -q --no-geo --darknet "$DN" --read "$T/ahead.pcap" --db "$T/ahead.db" 2>/dev/null
DB=$T/ahead.db
before=$(stored)
capture_round 0 1000
grep -q "after this host's clock" "$T/obs.err" || fail "clock behind the database: no warning: $(cat "$T/obs.err")"
late=$("$M" report --db "$DB" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["late"])')
[ "$late" = "$sent" ] && [ "$(stored)" = "$((before + sent))" ] ||
    fail "clock behind the database: sent $sent, late $late: $(cat "$T/obs.err")"
DB=
echo "live: $sent frames sent on a veth in a test namespace in two runs, $got captured and stored"
