#!/usr/bin/env bash
# Terminal and spreadsheet injection: what attackers typed into the honeypot
# (commands, credentials, URLs) and an AS name from a feed reach the report
# as data.  Raw bytes are written straight into the database (as a hostile
# or hand-edited one would hold them); the text report must carry no control
# byte at all (ESC, BEL, C1, DEL...), the CSV no cell that starts a formula,
# and the JSON stays valid UTF-8 with every row present.
. "$(dirname "$0")/lib.sh"
"$M" synth -q --out "$T/s.pcap" --darknet "$DN" --packets 10000 --seed 7 --duration 120 \
    --start 2026-01-01T00:00:00Z
"$M" observe -q --no-geo --darknet "$DN" --read "$T/s.pcap" --db "$T/m.db" 2>/dev/null
python3 - "$T/m.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ts = 1767225600 * 1000000 + 5
evil = [b"\x1b[2J\x1b]0;owned\x07clear", b"=HYPERLINK(\"http://198.18.0.9/\",\"x\")",
        b"\x1b]8;;http://198.18.0.9/\x1b\\click\x1b]8;;\x1b\\", b"\xc2\x9b31mred\x7f",
        b"@SUM(1+1)*cmd|' /C calc'!A0", b"\xff\xfe bad utf-8", b"\tTAB", b"-2+3",
        b"echo hi\x00; rm -rf /"]  # a NUL must not hide what follows it
db.execute("INSERT INTO lure_sessions(session, sensor, src_ip, start_us, end_us, login_ok,"
           " commands, downloads) VALUES('s1', 't', '127.0.0.1', ?, ?, 1, ?, 1)",
           (ts, ts + 10, len(evil)))
for i, e in enumerate(evil):
    # TEXT holding the bytes as they were sent, valid UTF-8 or not
    db.execute("INSERT INTO lure_commands VALUES('s1', ?, CAST(? AS TEXT))", (ts + i, e))
    db.execute("INSERT INTO lure_logins VALUES('s1', ?, CAST(? AS TEXT), CAST(? AS TEXT), 0)",
               (ts + i, e, b"+" + e))
db.execute("INSERT INTO lure_downloads(session, ts_us, kind, tool, url, host) VALUES"
           "('s1', ?, 'url', 'wget', CAST(? AS TEXT), '198.18.0.9')", (ts, b"=http://198.18.0.9/\x1b[31m"))
db.commit()
PY
"$M" report --db "$T/m.db" --top 0 >"$T/r.txt"
"$M" report --db "$T/m.db" --top 0 --format csv >"$T/r.csv"
"$M" report --db "$T/m.db" --top 0 --format json >"$T/r.json"
[ -n "${KEEP:-}" ] && cp -r "$T" "$KEEP"
python3 - "$T/r.txt" "$T/r.csv" "$T/r.json" <<'PY'
import csv, io, json, re, sys
txt = open(sys.argv[1], "rb").read()
bad = re.findall(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", txt)
assert not bad, f"control bytes reach the terminal: {bad[:5]}"
assert b"\\e[2J\\e]0;owned\\x07clear" in txt, "escaped command missing from text"
assert b"\\xc2\\x9b31mred\\x7f" in txt, "C1 and DEL not shown escaped"
raw = open(sys.argv[2], "rb").read()
bad = re.findall(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", raw)
assert not bad, f"control bytes reach the terminal through the CSV: {bad[:5]}"
rows = list(csv.reader(io.StringIO(raw.decode("utf-8", errors="replace"))))
cells = [c for r in rows for c in r[1:2]]  # the key column carries outside text
for c in cells:
    assert not c or c[0] not in "=+-@\t\r", f"formula cell {c!r}"
honey = [r[1] for r in rows if r[0].startswith("honeypot_")]
assert "'=HYPERLINK(\"http://198.18.0.9/\",\"x\")" in honey, honey
assert "'-2+3" in honey and "'\\tTAB" in honey and "'@SUM(1+1)*cmd|' /C calc'!A0" in honey, honey
assert "'=http://198.18.0.9/\\e[31m" in honey, honey
d = json.load(open(sys.argv[3], encoding="utf-8"))
h = d["honeypot"]
assert len(h["commands"]) == 9 and all(c["input"] for c in h["commands"]), h["commands"]
assert any(c["input"] == "echo hi\ufffd; rm -rf /" for c in h["commands"]), h["commands"]
assert b"echo hi\xef\xbf\xbd; rm -rf /" in txt, "text after a NUL hidden"
assert "echo hi\ufffd; rm -rf /" in honey, honey
assert any(c["input"] == "\ufffd\ufffd bad utf-8" for c in h["commands"]), h["commands"]
assert len(h["credentials"]) == 9 and len(h["urls"]) == 1, h
print("report_escape: text has no control byte, CSV no formula cell, JSON all rows")
PY
echo "report_escape: ok"
