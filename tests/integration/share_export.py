"""share export end to end: a database from real mamori runs — synth -> observe
(Mirai-, ZMap-, masscan- and nmap-fingerprinted sources), lure with the Mirai
loader replayed over loopback from two addresses (a wget download and an echo
dropper whose bytes the test knows), and one survey probe round (written as
rows: cheaper than a testbed) — exported as STIX 2.1 and checked against
independent truth:

  * every object validates against the OASIS STIX 2.1 JSON schemas (Debian's
    python3-jsonschema, $refs resolved from the local copy, no network);
  * what the schemas cannot say: SCO ids recomputed here (uuid5 over the
    canonical JSON of the id-contributing properties), millisecond
    timestamps, every *_ref(s) resolving inside the bundle, the pattern forms;
  * values against ground truth: synth's per-fingerprint source counts, the
    bot addresses, the URL, host and SHA-256 the loader replay used;
  * the rules: two exports are byte-identical; survey hosts only as counts;
    received TLP:AMBER/RED rows withheld, CLEAR/GREEN passed on; --tlp marks.

Run with /usr/bin/python3 (the Debian interpreter that has jsonschema)."""
import glob
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from lurelib import M, ROOT, Honeypot, Telnet, mirai_loader, scratch, sha256  # noqa: E402

import jsonschema  # noqa: E402

SCHEMAS = os.path.join(ROOT, "tests/fixtures/stix2.1-schemas")  # OASIS, as test data
NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
TLP2 = {"clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}
TLP2_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
DN = "198.18.0.0/16,2001:db8::/48"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, ok=True):
    p = subprocess.run([M, *args], capture_output=True, text=True, timeout=120)
    if ok and p.returncode:
        sys.exit(f"{' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p


# --- the schemas, resolved locally --------------------------------------------

store = {}
for f in glob.glob(os.path.join(SCHEMAS, "*", "*.json")):
    s = json.load(open(f))
    store[s["$id"]] = s
by_type = {}
for sid, s in store.items():
    kind = sid.rsplit("/", 2)[-2]
    if kind in ("sdos", "sros", "observables"):
        by_type[os.path.basename(sid)[:-5]] = s
by_type["marking-definition"] = store[[k for k in store if k.endswith("/marking-definition.json")][0]]
bundle_schema = store[[k for k in store if k.endswith("/common/bundle.json")][0]]


validators = {}


def validate(schema, obj, what):
    v = validators.get(schema["$id"])
    if not v:
        resolver = jsonschema.RefResolver(schema["$id"], schema, store=store)
        v = validators[schema["$id"]] = jsonschema.Draft202012Validator(schema, resolver=resolver)
    errs = sorted(v.iter_errors(obj), key=lambda e: list(e.path))
    for e in errs[:3]:
        check(False, f"{what}: schema: {e.message[:200]} at {list(e.path)}")
    return not errs


# --- rules the schemas cannot express -----------------------------------------

ID_PROPS = {"ipv4-addr": ["value"], "ipv6-addr": ["value"], "domain-name": ["value"],
            "url": ["value"], "file": ["hashes", "name", "extensions", "parent_directory_ref"]}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TS_PROPS = ("created", "modified", "published", "valid_from", "valid_until", "first_seen", "last_seen",
            "first_observed", "last_observed")
PATTERN = re.compile(r"^\[(ipv4-addr|ipv6-addr|domain-name|url):value = '((?:[^'\\]|\\.)*)'\]$"
                     r"|^\[file:hashes\.('SHA-256'|'SHA-1'|MD5) = '([0-9a-f]+)'\]$")


def sco_id(o):
    props = {k: o[k] for k in ID_PROPS[o["type"]] if k in o}
    if "hashes" in props:  # §2.9: one hash, MD5 > SHA-1 > SHA-256 > SHA-512
        h = props["hashes"]
        pick = next(k for k in ("MD5", "SHA-1", "SHA-256", "SHA-512") if k in h)
        props["hashes"] = {pick: h[pick]}
    canon = json.dumps(props, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{o['type']}--{uuid.uuid5(NS, canon)}"


def refs(o):
    for k, v in o.items():
        if k.endswith("_ref"):
            yield k, v
        elif k.endswith("_refs"):
            for x in v:
                yield k, x
        elif isinstance(v, dict):
            yield from refs(v)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, dict):
                    yield from refs(x)


def check_bundle(path, what):
    b = json.load(open(path))
    # The bundle schema checks each object against every type's schema (oneOf):
    # it is given one object of each type, and every object is checked against
    # its own type's schema below — the same rules, in seconds rather than minutes.
    sample = {}
    for o in b["objects"]:
        sample.setdefault(o["type"], o)
    validate(bundle_schema, dict(b, objects=list(sample.values())), what)
    ids = {o["id"] for o in b["objects"]}
    check(len(ids) == len(b["objects"]), f"{what}: duplicate ids")
    check([o["id"] for o in b["objects"]] == sorted(ids), f"{what}: objects not sorted by id")
    for o in b["objects"]:
        w = f"{what}: {o['id']}"
        if o["type"] in by_type:
            validate(by_type[o["type"]], o, w)
        else:
            check(False, f"{w}: no schema for type {o['type']}")
        if o["type"] in ID_PROPS:
            check(o["id"] == sco_id(o), f"{w}: SCO id is not the §2.9 id {sco_id(o)}")
        for k in TS_PROPS:
            if k in o and o["type"] != "marking-definition":
                check(bool(TS.match(o[k])), f"{w}: {k} {o[k]} is not millisecond precision")
        for k, r in refs(o):
            check(r in ids, f"{w}: {k} {r} is not in the bundle")
        if o["type"] == "indicator":
            check(bool(PATTERN.match(o["pattern"])), f"{w}: pattern {o['pattern']}")
            check(o["created_by_ref"] in ids and o["valid_from"] == o["created"], f"{w}: times")
        if o["type"] == "marking-definition":
            check(o["id"] in TLP2.values() and TLP2_EXT in o.get("extensions", {}),
                  f"{w}: not an OASIS TLP 2.0 marking")
    return b


def objs(b, t):
    return [o for o in b["objects"] if o["type"] == t]


def pattern_value(ind):
    m = PATTERN.match(ind["pattern"])
    if m.group(2) is not None:
        return re.sub(r"\\(.)", r"\1", m.group(2))
    return m.group(4)


# --- a database from real runs ----------------------------------------------------

d = scratch()
db = os.path.join(d, "mamori.db")
pcap = os.path.join(d, "t.pcap")
run("synth", "-q", "--out", pcap, "--darknet", DN, "--packets", "10000", "--seed", "5",
    "--duration", "600")
truth = json.load(open(pcap + ".truth.json"))
run("observe", "-q", "--no-geo", "--darknet", DN, "--read", pcap, "--db", db)

bots = {}
for persona, src, user, pw in (("dvr-armv7", "127.0.0.2", "root", "xc3511"),
                               ("router-mips", "127.0.0.3", "admin", "admin")):
    hp = Honeypot(persona=persona, tmp=d)
    t = Telnet(hp.port, source=src)
    bots[src] = mirai_loader(t, user, pw)
    t.close()
    check(hp.stop() == 0, f"lure {persona}: exit status")
wget = bots["127.0.0.2"]
echo = bots["127.0.0.3"]
check(wget["method"] == "wget" and echo["method"] == "echo", f"loader methods {bots}")
url = f"http://198.18.0.9:80/bins/mirai.{wget['arch']}"
dropper = sha256(echo["payload"])

con = sqlite3.connect(db)
con.execute("INSERT INTO survey_rounds(round, tool, started_us, ended_us) VALUES('r1', 'probe',"
            " 1474329600000000, 1474329700000000)")
for ip, port, proto, cls in (("198.51.100.20", 23, "telnet", "mirai-default"),
                             ("198.51.100.21", 23, "telnet", "mirai-default"),
                             ("198.51.100.22", 80, "http", "vendor-default")):
    con.execute("INSERT INTO survey_findings(round, ip, port, protocol, ts_us, status, device,"
                " login_accepted, cred_class) VALUES('r1', ?, ?, ?, 1474329650000000, 'success',"
                " 'test camera', 1, ?)", (ip, port, proto, cls))
con.commit()
con.close()

# --- export, and what it must hold -------------------------------------------------

out1, out2 = os.path.join(d, "b1.json"), os.path.join(d, "b2.json")
p = run("share", "export", "--db", db, "--out", out1, "--format", "json")
summary = json.loads(p.stdout)
b = check_bundle(out1, "export")
run("share", "export", "--db", db, "--out", out2)
check(open(out1, "rb").read() == open(out2, "rb").read(), "two exports differ")

ind = objs(b, "indicator")
by_value = {}
for i in ind:
    by_value[pattern_value(i)] = i
fps = {}
for i in ind:
    for lab in i.get("labels", []):
        if lab.startswith("fingerprint:"):
            fps[lab[12:]] = fps.get(lab[12:], 0) + 1
for f in truth["fingerprints"]:
    check(fps.get(f["name"], 0) == f["sources"],
          f"fingerprint {f['name']}: {fps.get(f['name'], 0)} indicators, truth {f['sources']}")
for src in bots:
    i = by_value.get(src)
    check(i is not None and "role:loader" in i["labels"] and "malware:mirai" in i["labels"],
          f"bot {src}: indicator {i and i['labels']}")
check(url in by_value and "role:download-url" in by_value[url]["labels"], f"url {url} missing")
check("198.18.0.9" in by_value and "role:download-host" in by_value["198.18.0.9"]["labels"],
      "download host 198.18.0.9 missing")
check(dropper in by_value and by_value[dropper]["pattern"].startswith("[file:hashes.'SHA-256'"),
      f"dropper sha256 {dropper} missing")
check(all("198.51.100.2" not in i["pattern"] for i in ind), "a survey host became an indicator")
check(not any(o.get("value", "").startswith("198.51.100.2") for o in b["objects"]),
      "a survey address left the database")
notes = objs(b, "report")
check(len(notes) == 1 and "3 hosts" in notes[0]["description"] and "23 2" in notes[0]["description"],
      f"survey counts note {notes}")
mal = objs(b, "malware")
check(len(mal) == 1 and mal[0]["name"] == "Mirai" and mal[0]["is_family"], f"malware {mal}")
rels = {(r["source_ref"], r["relationship_type"], r["target_ref"]) for r in objs(b, "relationship")}
check((by_value["127.0.0.2"]["id"], "indicates", mal[0]["id"]) in rels, "bot indicates Mirai")
infra = objs(b, "infrastructure")
check(any(o["name"].endswith("198.18.0.9") and o["infrastructure_types"] == ["hosting-malware"]
          for o in infra), f"download server infrastructure {infra}")
check(any(r[1] == "uses" and r[0] == mal[0]["id"] and r[2].startswith("infrastructure--")
          for r in rels), "Mirai uses its infrastructure")
caps = {ref["external_id"] for a in objs(b, "attack-pattern") for ref in a["external_references"]}
check(caps == {"CAPEC-287", "CAPEC-70"}, f"attack patterns {caps}")
sight = {s["sighting_of_ref"]: s for s in objs(b, "sighting")}
check(set(sight) == {i["id"] for i in ind}, "one sighting per indicator")
check(all(s["where_sighted_refs"] == [objs(b, "identity")[0]["id"]] for s in sight.values()),
      "sightings are ours")
check(summary["objects"]["indicators"] == len(ind), f"summary {summary}")

# --- TLP: --tlp marks the local rows; received amber/red rows are never re-exported -------

con = sqlite3.connect(db)
for value, tlp in (("203.0.113.1", "clear"), ("203.0.113.2", "green"), ("203.0.113.3", "amber"),
                   ("203.0.113.4", "amber+strict"), ("203.0.113.5", "red")):
    con.execute("INSERT INTO share_indicators(kind, value, source, role, tlp, first_us, last_us,"
                " received_us, sightings, confidence) VALUES('ipv4-addr', ?, 'peer', 'scanner', ?,"
                " 1474329600000000, 1474329600000000, 1474329600000000, 1, 60)", (value, tlp))
con.commit()
con.close()
out3 = os.path.join(d, "b3.json")
p = run("share", "export", "--db", db, "--source", "all", "--tlp", "green", "--out", out3)
b3 = check_bundle(out3, "export --source all --tlp green")
vals = {pattern_value(i): i for i in objs(b3, "indicator")}
check("203.0.113.1" in vals and "203.0.113.2" in vals, "received clear/green not passed on")
check(not {"203.0.113.3", "203.0.113.4", "203.0.113.5"} & set(vals), "received amber/red re-exported")
check(vals["203.0.113.2"]["object_marking_refs"] == [TLP2["green"]], "received green lost its marking")
check(vals["127.0.0.2"]["object_marking_refs"] == [TLP2["green"]], "--tlp green not applied")
check("withheld 3" in p.stdout, f"withheld count not reported: {p.stdout}")

# --- export -> import -> export: the same bundle (nothing the model holds is lost) ---------

def roundtrip(bundle, n):
    """bundle imported into a fresh database as an A-graded source, exported again"""
    dbn, outn = os.path.join(d, f"rt{n}.db"), os.path.join(d, f"rt{n}.json")
    run("share", "import", "--db", dbn, "--source", "peer-rt", "--reliability", "A",
        "--warninglists", "none", bundle)
    run("share", "export", "--db", dbn, "--source", "peer-rt", "--no-refresh", "--out", outn)
    return outn


rt1 = roundtrip(out1, 1)
b_rt = check_bundle(rt1, "export of an import")
survey = {o["id"] for o in objs(b, "report")}
want = [o for o in b["objects"] if o["id"] not in survey]  # survey counts are local facts only
got = b_rt["objects"]
check(got == want, "export -> import -> export lost or changed objects: "
      + str(sorted({o["id"] for o in want} ^ {o["id"] for o in got})[:6])
      + str([(w["id"], w, g) for w, g in zip(want, got) if w != g][:1]))
rt2 = roundtrip(rt1, 2)
check(open(rt1, "rb").read() == open(rt2, "rb").read(), "export -> import -> export not byte-stable")

# --- bad input is refused with a one-line message --------------------------------------

p = run("share", "export", "--db", db, "--tlp", "purple", ok=False)
check(p.returncode == 2 and p.stderr.count("\n") == 1, f"--tlp purple: {p.returncode} {p.stderr}")
key = os.path.join(d, "key")
open(key, "w").write("00" * 32 + "\n")
p = run("share", "export", "--db", db, "--anonymize", key, "--out", os.path.join(d, "b4.json"),
        ok=False)
check(p.returncode == 1 and p.stderr.count("\n") == 1 and "readable by others" in p.stderr,
      f"a key file others may read: {p.returncode} {p.stderr}")
os.chmod(key, 0o600)
run("share", "export", "--db", db, "--anonymize", key, "--out", os.path.join(d, "b4.json"))
b4 = check_bundle(os.path.join(d, "b4.json"), "export --anonymize")
anon = [o for o in objs(b4, "observed-data") if "vulnerable" in o.get("labels", [])]
check(len(anon) == 3, f"anonymized survey hosts: {len(anon)}")
b4rt = check_bundle(roundtrip(os.path.join(d, "b4.json"), 4), "export of an --anonymize import")
check(len(objs(b4rt, "indicator")) == len(ind) and not [
    o for o in objs(b4rt, "observed-data") if "vulnerable" in o.get("labels", [])],
    "an importer took a survey's vulnerable devices for threats")

# --- --anonymize-all: a bundle for a recipient who must not see any address --------------
b5p = os.path.join(d, "b5.json")
run("share", "export", "--db", db, "--anonymize-all", key, "--out", b5p)
b5 = check_bundle(b5p, "export --anonymize-all")
text5 = open(b5p).read()
clear = [v for v in ("127.0.0.2", "127.0.0.3", "198.18.0.9") if f'"{v}"' in text5 or f"'{v}'" in text5
         or f"//{v}" in text5]
check(not clear, f"--anonymize-all left addresses in clear: {clear}")
addr_like = {v for v in by_value if re.match(r"^(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]*|https?://)", v)}
# an object is address-derived when it holds an address or refers to one that is: none of
# those may keep its id (ids are uuid5 of their content: a guessed address would confirm it)
vals_re = re.compile("|".join(re.escape(v) for v in sorted(addr_like, key=len, reverse=True)))
back = {}  # id -> the ids of objects referring to it
for o in b["objects"]:
    for _, r in refs(o):
        back.setdefault(r, set()).add(o["id"])
todo = [o["id"] for o in b["objects"] if vals_re.search(json.dumps(o))]
derived = set()
while todo:
    i = todo.pop()
    if i not in derived:
        derived.add(i)
        todo.extend(back.get(i, ()))
kept = [o["type"] for o in b5["objects"] if o["id"] in derived]
check(not kept, f"--anonymize-all: ids derived from clear values kept: {kept}")
check(not any("x_mamori" in k for o in b5["objects"] for k in o), "a working property left")
check(len(objs(b5, "indicator")) == len(ind) and b5["id"] != b["id"],
      "--anonymize-all: the same indicators, a bundle id of its own")
ind5 = {o["id"]: o for o in objs(b5, "indicator")}
v5 = sorted(pattern_value(i) for i in ind5.values())
check(addr_like and not set(v5) & addr_like,
      f"--anonymize-all: an address passed in clear: {set(v5) & addr_like}")
run("share", "export", "--db", db, "--anonymize-all", key, "--out", os.path.join(d, "b6.json"))
check(open(b5p, "rb").read() == open(os.path.join(d, "b6.json"), "rb").read(),
      "--anonymize-all: two exports with one key differ")

if failures:
    sys.exit(f"share_export: {len(failures)} failures")
print(f"share_export: ok ({len(b['objects'])} objects, {len(ind)} indicators)")
