#!/usr/bin/env bash
# Packet time (README "Packet time"): frames dated outside 1970..2100 and
# crafted pcapng time units are counted as bad_time, never aggregated and
# never undefined behaviour; a lone frame 20 years ahead moves nothing; files
# are read in time order whatever order they are given in; reading the same
# file again is refused before anything is written, and with --replace counts
# it once (no double counts, no false surge); newer time still appends.
# Ground truth is synth's, and the frame counts come from pcaptool.
. "$(dirname "$0")/lib.sh"
PT="python3 $ROOT/tests/integration/pcaptool.py"
O=("$M" observe -q --no-geo --darknet "$DN")
frames() { # db -> every frame the report accounts for, counted or apart
    "$M" report --db "$1" --format json | python3 -c '
import json, sys; t = json.load(sys.stdin)["totals"]
print(t["packets"] + t["malformed"] + t["non_ip"] + t["outside"] + t["late"] + t["bad_time"])'
}
total() { # db key
    "$M" report --db "$1" --format json | python3 -c "
import json, sys; print(json.load(sys.stdin)['totals']['$2'])"
}
run() { # observe ... ; fails on a sanitizer report
    "${O[@]}" "$@" 2>"$T/err" || { cat "$T/err" >&2; return 1; }
    ! grep -q "runtime error\|Sanitizer" "$T/err" || fail "sanitizer: $(cat "$T/err")"
}
"$M" synth -q --out "$T/a.pcap" --darknet "$DN" --packets 30000 --seed 43 --duration 900 \
    --start 2016-09-20T00:00:00Z --surge-factor 0
"$M" synth -q --out "$T/b.pcap" --darknet "$DN" --packets 30000 --seed 42 --duration 900 \
    --start 2016-09-20T02:00:00Z --surge-factor 0
N=$($PT count "$T/a.pcap")

# 9: times libpcap hands over from crafted files: units of a second
# (if_tsresol 0: every µs count read as seconds), a huge if_tsoffset, and
# every record before 1970 (32-bit seconds wrap: backscatter reaches DoS).
$PT pcapng "$T/a.pcap" "$T/units.pcapng" 0
$PT pcapng "$T/a.pcap" "$T/offset.pcapng" 6 0x7000000000000000
$PT shift "$T/a.pcap" "$T/neg.pcap" -1500000000
for f in units.pcapng offset.pcapng neg.pcap; do
    run --read "$T/$f" --db "$T/$f.db"
    grep -q "observed 0 darknet packets in 0 intervals.* $N bad time" "$T/err" ||
        fail "$f: want all $N frames as bad time: $(cat "$T/err")"
    [ "$(grep -c "counted in 'bad_time'" "$T/err")" = 1 ] || fail "$f: want one warning: $(cat "$T/err")"
done

# 10: one frame dated 20 years ahead in the middle: every other frame keeps its time.
$PT retime "$T/a.pcap" "$T/lone.pcap" $((N / 2)) $((1474329600 + 20 * 365 * 86400)) 0
run --read "$T/lone.pcap" --db "$T/lone.db"
"$M" report --db "$T/lone.db" --format json --top 0 >"$T/lone.json"
python3 - "$T/lone.json" "$T/a.pcap.truth.json" <<'PY'
import json, sys
r, t = (json.load(open(p)) for p in sys.argv[1:])
assert r["window"]["to"] <= "2016-09-20T00:15:00Z", r["window"]
assert r["totals"]["bad_time"] == 1, r["totals"]
assert r["totals"]["late"] == 0, r["totals"]
assert abs(r["totals"]["packets"] - t["totals"]["packets"]) <= 1, (r["totals"], t["totals"])
PY
# The same after a gap: the second file's first frame dated 20 years ahead
# neither carries the clock nor makes the file late.
$PT retime "$T/b.pcap" "$T/bf.pcap" 0 $((1474329600 + 20 * 365 * 86400)) 0
run --read "$T/a.pcap" --read "$T/bf.pcap" --db "$T/gap.db"
[ "$(total "$T/gap.db" late)" = 0 ] && [ "$(total "$T/gap.db" bad_time)" = 1 ] || fail "lone frame after a gap: $(cat "$T/err")"
# A frame from 7 minutes before in the middle is late: counted apart, warned once.
$PT retime "$T/a.pcap" "$T/back.pcap" $((N / 2)) $((1474329600 + 5)) 0
run --read "$T/back.pcap" --db "$T/back.db"
[ "$(total "$T/back.db" late)" = 1 ] && [ "$(frames "$T/back.db")" = "$N" ] || fail "late frame"
[ "$(grep -c "are late" "$T/err")" = 1 ] || fail "late: want one warning: $(cat "$T/err")"

# Files given in reverse order are read in time order: nothing late, truth holds.
run --read "$T/b.pcap" --read "$T/a.pcap" --db "$T/rev.db"
[ "$(total "$T/rev.db" late)" = 0 ] || fail "reverse order: late frames"
"$M" report --db "$T/rev.db" --format json --top 0 --to 2016-09-20T01:00:00Z >"$T/rev.json"
check_truth "$T/rev.json" "$T/a.pcap.truth.json"
# The same file twice in one run overlaps itself: refused.
set +e
"${O[@]}" --read "$T/a.pcap" --read "$T/a.pcap" --db "$T/twice1.db" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "overlap in time" "$T/err" || fail "same file twice in a run: rc $rc $(cat "$T/err")"

# Reading the same file again into a database: refused, nothing written.
run --read "$T/a.pcap" --db "$T/m.db"
cp "$T/m.db" "$T/before.db"
set +e
"${O[@]}" --read "$T/a.pcap" --db "$T/m.db" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "re-read: exit $rc"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q "overlap what the database already holds" "$T/err" ||
    fail "re-read: $(cat "$T/err")"
[ "$(frames "$T/m.db")" = "$N" ] || fail "re-read wrote something"
# A capture shorter than the 2 s seam tolerance (a few packets) is refused
# again too: as a file, twice in one run, and as a stream.
$PT split "$T/a.pcap" "$T/tiny.pcap" "$T/tail.pcap" 40
run --read "$T/tiny.pcap" --db "$T/tiny.db"
for how in file twice stream; do
    set +e
    case $how in
    file) "${O[@]}" --read "$T/tiny.pcap" --db "$T/tiny.db" 2>"$T/err" ;;
    twice) "${O[@]}" --read "$T/tiny.pcap" --read "$T/tiny.pcap" --db "$T/tiny2.db" 2>"$T/err" ;;
    stream) "${O[@]}" --read - --db "$T/tiny.db" <"$T/tiny.pcap" 2>"$T/err" ;;
    esac
    rc=$?
    set -e
    [ "$rc" = 1 ] && grep -q "overlap" "$T/err" || fail "tiny capture again ($how): rc $rc $(cat "$T/err")"
done
[ "$(frames "$T/tiny.db")" = 40 ] || fail "tiny capture counted twice"
run --read "$T/tail.pcap" --db "$T/tiny.db"
[ "$(frames "$T/tiny.db")" = "$N" ] || fail "the rest after a tiny capture"
# --replace: counted once, no surge alert, truth holds.
run --read "$T/a.pcap" --db "$T/m.db" --replace
"$M" report --db "$T/m.db" --format json --top 0 >"$T/m.json"
check_truth "$T/m.json" "$T/a.pcap.truth.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not r["alerts"], r["alerts"]; assert r["window"]["intervals"] == 15, r["window"]' "$T/m.json"
# --replace deletes stored intervals whole: a re-capture of the middle third
# (its edges inside intervals) would lose the rest of those intervals, so it
# is refused with nothing changed, as a file and as a stream; the file cut in
# three (rotated, given in any order) replaces them.
$PT split "$T/a.pcap" "$T/a1.pcap" "$T/a23.pcap" $((N / 3))
$PT split "$T/a23.pcap" "$T/a2.pcap" "$T/a3.pcap" $((N / 3))
for how in file stream; do
    set +e
    if [ $how = file ]; then
        "${O[@]}" --read "$T/a2.pcap" --db "$T/m.db" --replace 2>"$T/err"
    else
        "${O[@]}" --read - --db "$T/m.db" --replace <"$T/a2.pcap" 2>"$T/err"
    fi
    rc=$?
    set -e
    [ "$rc" = 1 ] && grep -q "replaced whole\|the input does not hold" "$T/err" ||
        fail "partial --replace ($how): rc $rc $(cat "$T/err")"
    [ "$(frames "$T/m.db")" = "$N" ] || fail "partial --replace ($how) lost packets: $(frames "$T/m.db") of $N"
done
run --read "$T/a3.pcap" --read "$T/a1.pcap" --read "$T/a2.pcap" --db "$T/m.db" --replace
[ "$(frames "$T/m.db")" = "$N" ] || fail "--replace by rotated files"
# Per-source event windows go whole too: a database of one run over a and b
# has a window holding both; replacing a alone would lose b's first minute of
# events, so it is refused; a and b together replace it all, the same.
# (read through mamori_events, the packed blocks' rows, by the sqlite3 shell with the extension
# built beside mamori)
EXT="$(dirname "$M")/mamori_sqlite"
events() { sqlite3 -cmd ".load $EXT" "$1" "select '(' || count(*) || ', ' || sum(packets) || ')' from mamori_events"; }
run --read "$T/a.pcap" --read "$T/b.pcap" --db "$T/ev.db"
E=$(events "$T/ev.db")
set +e
"${O[@]}" --read "$T/a.pcap" --db "$T/ev.db" --replace 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "the input does not hold" "$T/err" || fail "--replace of part of an event window: rc $rc $(cat "$T/err")"
[ "$(events "$T/ev.db")" = "$E" ] || fail "--replace refused, yet events changed"
run --read "$T/b.pcap" --read "$T/a.pcap" --db "$T/ev.db" --replace
[ "$(events "$T/ev.db")" = "$E" ] || fail "--replace of a and b: events $(events "$T/ev.db"), want $E"
# One late frame (dated back into the first part) does not make the rest of
# a file overlap the first part: it is appended, in a second run or the same.
$PT retime "$T/a23.pcap" "$T/a23l.pcap" 100 $((1474329600 + 5)) 0
run --read "$T/a1.pcap" --db "$T/l.db"
run --read "$T/a23l.pcap" --db "$T/l.db"
[ "$(total "$T/l.db" late)" = 1 ] && [ "$(frames "$T/l.db")" = "$N" ] || fail "append with a late frame"
run --read "$T/a23l.pcap" --read "$T/a1.pcap" --db "$T/l2.db"
[ "$(total "$T/l2.db" late)" = 1 ] && [ "$(frames "$T/l2.db")" = "$N" ] || fail "files, one with a late frame"
# Newer time appends as before; so does the second half of a file in a second run
# (a DoS vector open at the cut is closed by the first run: per run, as before).
run --read "$T/b.pcap" --db "$T/m.db"
[ "$(frames "$T/m.db")" = "$((N + $($PT count "$T/b.pcap")))" ] || fail "append of newer time"
$PT split "$T/b.pcap" "$T/b1.pcap" "$T/b2.pcap" 10000
run --read "$T/b1.pcap" --db "$T/split.db"
run --read "$T/b2.pcap" --db "$T/split.db"
[ "$(frames "$T/split.db")" = "$($PT count "$T/b.pcap")" ] || fail "split file, two runs"
[ "$(total "$T/split.db" late)" = 0 ] || fail "split file, two runs: late frames"

# Streams cannot be scanned: the second half of a file through stdin continues
# the interval the first run flushed partly (as a restarted live sensor
# does), counted once in window.intervals; the whole file again through stdin
# stops at its first interval with nothing of it written; --replace takes it.
"${O[@]}" --read - --db "$T/stream.db" <"$T/b1.pcap" 2>"$T/err" || fail "stream 1: $(cat "$T/err")"
"${O[@]}" --read - --db "$T/stream.db" <"$T/b2.pcap" 2>"$T/err" || fail "stream 2: $(cat "$T/err")"
[ "$(frames "$T/stream.db")" = "$($PT count "$T/b.pcap")" ] || fail "stream halves"
"$M" report --db "$T/stream.db" --format json >"$T/st.json"
python3 -c 'import json,sys; w=json.load(open(sys.argv[1]))["window"]; assert w["intervals"] == 15, w' "$T/st.json"
set +e
"${O[@]}" --read - --db "$T/stream.db" <"$T/b.pcap" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "overlap what the database already holds" "$T/err" || fail "stream overlap: rc $rc $(cat "$T/err")"
[ "$(frames "$T/stream.db")" = "$($PT count "$T/b.pcap")" ] || fail "stream overlap wrote something"
"${O[@]}" --read - --db "$T/stream.db" --replace <"$T/b.pcap" 2>"$T/err" || fail "stream --replace: $(cat "$T/err")"
[ "$(frames "$T/stream.db")" = "$($PT count "$T/b.pcap")" ] || fail "stream --replace counted twice"

# What a schema-2 database looked like: no late, bad_time or packet spans, and
# one source_events row per source per window (schema 4 packs them in blocks),
# one row per port, fingerprint, country and ASN per interval (schema 5: a blob).
to_schema2() {
    python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for c in ("late", "bad_time", "first_us", "last_us"):
    db.execute(f"ALTER TABLE intervals DROP COLUMN {c}")
db.execute("PRAGMA user_version=2")
db.commit()
PY
    sqlite3 -cmd ".load $EXT" "$1" "
CREATE TABLE source_events(id INTEGER PRIMARY KEY, window_start INTEGER NOT NULL,
 window_end INTEGER NOT NULL, ip TEXT NOT NULL, first_seen_us INTEGER, last_seen_us INTEGER,
 packets INTEGER, bytes INTEGER, ports TEXT, fingerprints TEXT, classes TEXT, cc TEXT,
 asn INTEGER, lat REAL, lon REAL);
CREATE INDEX source_events_window ON source_events(window_end);
CREATE INDEX source_events_ip ON source_events(ip);
INSERT INTO source_events SELECT id, window_start, window_end, ip, first_seen_us, last_seen_us,
 packets, bytes, ports, fingerprints, classes, cc, asn, lat, lon FROM mamori_events ORDER BY id;
DROP TABLE event_blocks;
DROP TABLE as_names;
CREATE TABLE port_stats(interval_id INTEGER NOT NULL, backscatter INTEGER NOT NULL,
 proto TEXT NOT NULL, port INTEGER NOT NULL, packets INTEGER, bytes INTEGER,
 sources INTEGER, dests INTEGER, src_sketch BLOB, dst_sketch BLOB);
CREATE INDEX port_stats_interval ON port_stats(interval_id);
CREATE INDEX port_stats_key ON port_stats(proto, port, backscatter, interval_id);
CREATE TABLE fingerprint_stats(interval_id INTEGER NOT NULL, name TEXT NOT NULL,
 packets INTEGER, bytes INTEGER, sources INTEGER, src_sketch BLOB);
CREATE INDEX fingerprint_stats_interval ON fingerprint_stats(interval_id);
CREATE TABLE country_stats(interval_id INTEGER NOT NULL, cc TEXT NOT NULL,
 packets INTEGER, bytes INTEGER, sources INTEGER, src_sketch BLOB);
CREATE INDEX country_stats_interval ON country_stats(interval_id);
CREATE TABLE asn_stats(interval_id INTEGER NOT NULL, asn INTEGER NOT NULL, name TEXT,
 packets INTEGER, bytes INTEGER, sources INTEGER, src_sketch BLOB);
CREATE INDEX asn_stats_interval ON asn_stats(interval_id);
INSERT INTO port_stats SELECT interval_id, kind = 'backscatter_port', proto, port, packets, bytes,
 sources, destinations, src_sketch, dst_sketch FROM mamori_stats WHERE port IS NOT NULL;
INSERT INTO fingerprint_stats SELECT interval_id, name, packets, bytes, sources, src_sketch
 FROM mamori_stats WHERE kind = 'fingerprint';
INSERT INTO country_stats SELECT interval_id, name, packets, bytes, sources, src_sketch
 FROM mamori_stats WHERE kind = 'country';
INSERT INTO asn_stats SELECT interval_id, asn, name, packets, bytes, sources, src_sketch
 FROM mamori_stats WHERE kind = 'asn';
DROP TABLE interval_stats;
DROP TABLE stats_rollups;
DROP TABLE port_rollups;
CREATE TABLE port_rollups(res INTEGER NOT NULL, bucket INTEGER NOT NULL,
 backscatter INTEGER NOT NULL, proto TEXT NOT NULL, port INTEGER NOT NULL, packets INTEGER,
 bytes INTEGER, sources INTEGER, src_sketch BLOB, dst_sketch BLOB);
CREATE INDEX port_rollups_key ON port_rollups(res, proto, port, backscatter, bucket);
CREATE INDEX port_rollups_bucket ON port_rollups(res, bucket);
DELETE FROM rollup_buckets;"
}

# A database of schema 2 (before late, bad_time and packet spans) is still
# read as it is; observe migrates it, and re-reading its time is refused.
run --read "$T/a.pcap" --db "$T/v2.db"
to_schema2 "$T/v2.db"
[ "$(total "$T/v2.db" late)" = 0 ] && [ "$(frames "$T/v2.db")" = "$N" ] || fail "schema 2 report"
set +e
"${O[@]}" --read "$T/a.pcap" --db "$T/v2.db" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "overlap what the database already holds" "$T/err" || fail "schema 2: rc $rc $(cat "$T/err")"
run --read "$T/b.pcap" --db "$T/v2.db"
[ "$(frames "$T/v2.db")" = "$((N + $($PT count "$T/b.pcap")))" ] || fail "schema 2 append"

# A v2 sensor stopped inside an interval, upgraded and restarted continues
# that interval: the migrated last row spans only the packets it saw.
"${O[@]}" --read - --db "$T/v2s.db" <"$T/b1.pcap" 2>"$T/err" || fail "v2 stream 1: $(cat "$T/err")"
to_schema2 "$T/v2s.db"
"${O[@]}" --read - --db "$T/v2s.db" <"$T/b2.pcap" 2>"$T/err" || fail "schema 2 restart refused: $(cat "$T/err")"
[ "$(frames "$T/v2s.db")" = "$($PT count "$T/b.pcap")" ] || fail "schema 2 restart"
set +e
"${O[@]}" --read "$T/b1.pcap" --db "$T/v2s.db" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "schema 2: re-read of the first half not refused: $(cat "$T/err")"

# A hand-edited database may hold any time: the refusal names it without
# overflow (UBSan), and the report still renders.
run --read "$T/a.pcap" --db "$T/edit.db"
python3 -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute("update intervals set first_us=-9223372036854775808 where id=1"); db.execute("update intervals set end=9000000000000000000 where id=2"); db.commit()' "$T/edit.db"
set +e
"${O[@]}" --read "$T/a.pcap" --db "$T/edit.db" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "overlap what the database" "$T/err" && ! grep -q "runtime error" "$T/err" ||
    fail "edited database: rc $rc $(cat "$T/err")"
"$M" report --db "$T/edit.db" --format json >/dev/null 2>"$T/err" && ! grep -q "runtime error" "$T/err" ||
    fail "report of an edited database: $(cat "$T/err")"

# A header-only capture still prints its (zero) summary line.
$PT cut "$T/a.pcap" "$T/hdr.pcap" 24
run --read "$T/hdr.pcap" --db "$T/hdr.db"
grep -q "^mamori: observed 0 darknet packets in 0 intervals" "$T/err" || fail "header-only: $(cat "$T/err")"
echo "time_order: ok"
