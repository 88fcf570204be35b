#!/usr/bin/env python3
"""share import: hand-written STIX 2.1 bundles from two sources that overlap (the same indicator
id from both; the same values under other ids and spellings), read into one database.  The truth
is the test's own: the bundles' objects are first validated against the OASIS STIX 2.1 JSON
schemas (python3-jsonschema, $refs resolved from the local copies), so the valid ones are valid
STIX and the invalid one is invalid by the schema too; the expected rows, confidences (Admiralty
grade x own confidence, worked out here) and counts follow from the bundles.  Checked: a research
scanner's address (Censys's published range) and, with the shipped lists, documentation
addresses (IANA special-purpose) are dropped; the invalid object is reported by id and reason
while the rest of its file is kept; re-importing a file changes no row; trust re-scores a source;
files that are not bundles, too large or too many objects are refused whole."""
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:  # the Debian interpreter has python3-jsonschema
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

M = os.environ["MAMORI"]
ROOT = os.environ["MAMORI_SOURCE_ROOT"]
SCHEMAS = os.path.join(ROOT, "tests/fixtures/stix2.1-schemas")  # OASIS, as test data
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def schema_validator():
    store, by_type = {}, {}
    for p in glob.glob(os.path.join(SCHEMAS, "*", "*.json")):
        s = json.load(open(p))
        store[s["$id"]] = s
        by_type[os.path.basename(p)[:-5]] = s
    return store, by_type


def schema_ok(store, by_type, obj):
    s = by_type[obj["type"]]
    resolver = jsonschema.RefResolver(s["$id"], s, store=store)
    try:
        jsonschema.Draft202012Validator(s, resolver=resolver).validate(obj)
        return True
    except jsonschema.ValidationError:
        return False


T0, T1 = "2026-11-01T00:00:00.000Z", "2026-11-20T00:00:00.000Z"
ID_I1 = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
SHA = "AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F"


def ind(uid, pattern, conf=None, **kw):
    o = {"type": "indicator", "spec_version": "2.1", "id": "indicator--" + uid, "created": T0,
         "modified": T1, "pattern": pattern, "pattern_type": "stix", "valid_from": T0,
         "indicator_types": ["malicious-activity"]}
    if conf is not None:
        o["confidence"] = conf
    o.update(kw)
    return o


def bundles():
    i1 = ind("8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "[ipv4-addr:value = '198.51.100.7']", 80)
    a = [
        {"type": "identity", "spec_version": "2.1", "id":
         "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "created": T0, "modified": T0,
         "name": "ISAC A", "identity_class": "organization"},
        i1,
        ind("11111111-1111-4111-8111-111111111111",
            "[url:value = 'http://198.51.100.9/it\\'s/mirai.arm']", 60),
        ind("22222222-2222-4222-8222-222222222222", f"[file:hashes.'SHA-256' = '{SHA}']", 90),
        ind("33333333-3333-4333-8333-333333333333",
            "[ipv4-addr:value = '162.142.125.9']", 70),  # Censys: dropped
        {"type": "ipv4-addr", "spec_version": "2.1",
         "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "203.0.113.5"},
        {"type": "domain-name", "spec_version": "2.1",
         "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5", "value": "Bad.Example."},
        {"type": "observed-data", "spec_version": "2.1",
         "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf", "created": T1,
         "modified": T1, "first_observed": T0, "last_observed": T1, "number_observed": 3,
         "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
                         "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5"]},
        {"type": "sighting", "spec_version": "2.1",
         "id": "sighting--ee20065d-2555-424f-ad9e-0f8fd1b0fd7f", "created": T1, "modified": T1,
         "sighting_of_ref": ID_I1, "count": 4, "first_seen": T0, "last_seen": T1},
        {"type": "malware", "spec_version": "2.1",
         "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b", "created": T0, "modified": T0,
         "name": "Mirai", "is_family": True, "malware_types": ["bot"]},
        {"type": "relationship", "spec_version": "2.1",
         "id": "relationship--57b56a43-b8b0-4cba-9deb-34e3e1faed9e", "created": T0,
         "modified": T0, "relationship_type": "indicates", "source_ref": ID_I1,
         "target_ref": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"},
        # invalid: confidence over 100 (the schema says so too)
        ind("44444444-4444-4444-8444-444444444444", "[ipv4-addr:value = '198.51.100.99']", 150),
    ]
    b = [
        dict(i1),  # the same id: one fact seen twice
        ind("55555555-5555-4555-8555-555555555555",
            "[ipv4-addr:value = '198.51.100.7/32' OR url:value = "
            "'http://198.51.100.9/it\\'s/mirai.arm']", 90),
        ind("66666666-6666-4666-8666-666666666666", "[ipv6-addr:value = '2001:db8::7']"),
    ]
    bundle = lambda uid, objs: {"type": "bundle", "id": "bundle--" + uid, "objects": objs}
    return (bundle("5d0092c5-5f74-4287-9642-33f4c354e56d", a),
            bundle("6d0092c5-5f74-4287-9642-33f4c354e56e", b))


def mamori(*args, stdin=None, want=0):
    r = subprocess.run([M, "share"] + list(args), capture_output=True, text=True, input=stdin,
                       timeout=60)
    check(r.returncode == want, f"share {' '.join(args)}: exit {r.returncode}, want {want}: "
                                f"{r.stderr.strip()}")
    return r


def rows(db):
    c = sqlite3.connect(db)
    out = {(k, v, s): (conf, n, sid) for k, v, s, conf, n, sid in c.execute(
        "SELECT kind, value, source, confidence, sightings, stix_id FROM share_indicators")}
    full = c.execute("SELECT * FROM share_indicators ORDER BY kind, value, source").fetchall()
    logs = c.execute("SELECT action, peer, objects, indicators, fresh, duplicates, dropped "
                     "FROM share_log ORDER BY rowid").fetchall()
    c.close()
    return out, full, logs


def main():
    store, by_type = schema_validator()
    a, b = bundles()
    for o in a["objects"] + b["objects"]:
        bad = o.get("confidence", 0) > 100
        check(schema_ok(store, by_type, o) != bad,
              f"test data: {o['id']} is {'valid' if bad else 'invalid'} by the OASIS schema")
    tmp = tempfile.mkdtemp(prefix="mamori-share-import-")
    try:
        run(tmp, a, b)
    finally:
        shutil.rmtree(tmp)
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print("share import: two sources, dedup, warninglists, invalid objects, idempotence, trust")


def run(tmp, a, b):
    fa, fb = os.path.join(tmp, "a.json"), os.path.join(tmp, "b.json")
    json.dump(a, open(fa, "w"))
    json.dump(b, open(fb, "w"))
    # research scanners only, so the documentation addresses the bundles use stay
    warn = os.path.join(tmp, "warn")
    os.mkdir(warn)
    for p in glob.glob(os.path.join(ROOT, "data/share/scanners-*.txt")):
        shutil.copy(p, warn)
    db = os.path.join(tmp, "s.db")
    r = mamori("import", "--db", db, "--source", "isac-a", "--reliability", "B",
               "--warninglists", warn, "--format", "json", fa)
    res = json.loads(r.stdout)["files"][0]
    check((res["objects"], res["indicators"], res["new"], res["duplicates"], res["dropped"],
           res["invalid"]) == (len(a["objects"]), 5, 5, 0, 1, 1), f"bundle A: {res}")
    inv = res["invalid_objects"]
    check(len(inv) == 1 and inv[0]["id"] == "indicator--44444444-4444-4444-8444-444444444444"
          and "confidence 150" in inv[0]["reason"], f"invalid object reported as {inv}")
    r = mamori("import", "--db", db, "--source", "isac-b", "--reliability", "D",
               "--warninglists", warn, "--format", "json", fb)
    res = json.loads(r.stdout)["files"][0]
    check((res["indicators"], res["new"], res["duplicates"], res["invalid"]) == (4, 1, 3, 0),
          f"bundle B: {res}")
    got, before, logs = rows(db)
    url = "http://198.51.100.9/it's/mirai.arm"
    want = {
        # B 80 x own 80 = 64; the sighting's count 4 covers the indicator's one
        ("ipv4-addr", "198.51.100.7", "isac-a"): (64, 4, ID_I1),
        # D 40 x own 90 (the newer object) = 36; told twice, one sighting each: 1, not 2
        ("ipv4-addr", "198.51.100.7", "isac-b"): (36, 1,
                                                  "indicator--55555555-5555-4555-8555-555555555555"),
        ("url", url, "isac-a"): (48, 1, "indicator--11111111-1111-4111-8111-111111111111"),
        ("url", url, "isac-b"): (36, 1, "indicator--55555555-5555-4555-8555-555555555555"),
        ("file", "sha256:" + SHA.lower(), "isac-a"): (72, 1,
                                                      "indicator--22222222-2222-4222-8222-222222222222"),
        ("ipv4-addr", "203.0.113.5", "isac-a"): (80, 3, None),
        ("domain-name", "bad.example", "isac-a"): (80, 3, None),
        ("ipv6-addr", "2001:db8::7", "isac-b"): (40, 1,
                                                 "indicator--66666666-6666-4666-8666-666666666666"),
    }
    check(got == want, "rows:\n  got  " + "\n       ".join(map(str, sorted(got.items()))) +
          "\n  want " + "\n       ".join(map(str, sorted(want.items()))))
    # re-import: nothing changes but the log
    r = mamori("import", "--db", db, "--source", "isac-a", "--warninglists", warn, "--format",
               "json", fa)
    res = json.loads(r.stdout)["files"][0]
    check((res["new"], res["duplicates"]) == (0, 5), f"re-import: {res}")
    _, after, logs = rows(db)
    check(before == after, "re-import changed rows")
    check([l[:2] for l in logs] == [("import", fa), ("import", fb), ("import", fa)],
          f"share_log: {logs}")
    check(logs[0][2:] == (len(a["objects"]), 5, 5, 0, 1), f"share_log counts: {logs[0]}")
    # trust: B -> A re-scores isac-a's rows from their own confidences
    mamori("trust", "--db", db, "isac-a", "A")
    got, _, _ = rows(db)
    check(got[("ipv4-addr", "198.51.100.7", "isac-a")][0] == 80, "trust A: 100 x 80")
    check(got[("domain-name", "bad.example", "isac-a")][0] == 100, "trust A: no own confidence")
    lst = json.loads(mamori("trust", "--db", db, "--format", "json").stdout)
    check([(s["name"], s["reliability"], s["confidence"], s["rows"]) for s in lst] ==
          [("isac-a", "A", 100, 5), ("isac-b", "D", 40, 3)], f"trust list: {lst}")
    txt = mamori("trust", "--db", db).stdout
    check("isac-b" in txt and " D " in txt, f"trust text: {txt}")
    # the shipped lists drop documentation addresses too; standard input
    db2 = os.path.join(tmp, "s2.db")
    r = mamori("import", "--db", db2, "--source", "isac-a", "-", stdin=json.dumps(a))
    check("3 dropped by warninglists" in r.stdout, f"shipped lists: {r.stdout}")
    got2, _, _ = rows(db2)
    check(set(v for _, v, _ in got2) == {url, "sha256:" + SHA.lower(), "bad.example"},
          f"shipped warninglists kept {sorted(got2)}")
    check("invalid: indicator--44444444" in r.stdout, f"text names the invalid object: {r.stdout}")
    # refused whole: not JSON, not a bundle, too large, too many objects; nothing written
    bad = os.path.join(tmp, "bad.json")
    for content, extra, why in [("{\"type\": \"bundle\", \"objects\": [", [], "not JSON"),
                                (json.dumps({"type": "report", "objects": []}), [], "not a STIX"),
                                (json.dumps(a), ["--max-bytes", "100"], "larger than"),
                                (json.dumps(a), ["--max-objects", "2"], "more than --max-objects")]:
        open(bad, "w").write(content)
        r = mamori("import", "--db", db, "--source", "isac-c", *extra, bad, want=1)
        check(why in r.stderr, f"{why}: {r.stderr.strip()}")
    got3, after3, _ = rows(db)
    check(not [k for k in got3 if k[2] == "isac-c"], "a refused file wrote rows")
    mamori("import", "--db", db, "--source", "x", "--reliability", "Z", fa, want=2)
    mamori("import", "--db", db, fa, want=2)
    mamori("trust", "--db", db, "isac-a", "G", want=2)


main()
