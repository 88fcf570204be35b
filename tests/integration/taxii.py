#!/usr/bin/env python3
"""TAXII 2.1 conformance of mamori serve --taxii, written from the OASIS TAXII 2.1
specification (sections 1.6 media types, 3.1-3.6 auth/filtering/paging/errors, 4 discovery
and API roots, 5 collections), and the client (share push / share pull) against it.

Truth is independent of the server: passwords are hashed by openssl passwd -6 and tokens by
hashlib, the objects compared are the ones this test posts, the filters' expected answers are
computed here from those objects, and status codes and bodies are the spec's.  Loopback only;
serve binds port 0 and is stopped by the test (also on failure)."""
import base64
import hashlib
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse

M = os.environ["MAMORI"]
MEDIA = "application/taxii+json;version=2.1"
errors = []
RW, RO, SECRET, WO, PUSH = ("91a7b528-80eb-42ed-a74d-c6fbd5a26116",
                            "52892447-4d7e-4f70-b94d-d7f22742ff63",
                            "64993447-4d7e-4f70-b94d-d7f22742ff63",
                            "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4",
                            "365fed99-08fa-fdcd-a1b3-fb247eb41d01")
ANON = "5e6b0a4f-0c1d-4e2b-9f3a-7d8c9b0a1e2f"  # POSTs stored anonymized (Crypto-PAn)


def check(cond, what):
    if not cond:
        errors.append(what)
    return cond


def uid(n):
    return f"{n:08x}-1111-4111-8111-111111111111"


def ind(n, modified, pattern="[ipv4-addr:value = '203.0.113.%d']"):
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uid(n)}",
            "created": "2024-01-01T00:00:00.000Z", "modified": modified,
            "pattern": pattern % n if "%d" in pattern else pattern, "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z"}


class Server:
    def __init__(self, port, auth):
        self.port, self.auth = port, auth

    def req(self, method, path, body=None, who="alice", accept=MEDIA, ctype=MEDIA, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Accept": accept} if accept else {}
        if who:
            h["Authorization"] = self.auth[who]
        if body is not None:
            h["Content-Type"] = ctype
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = "not json"
        return r.status, r, doc


def coll(cid, rest=""):
    return f"/taxii2/api1/collections/{cid}/{rest}"


def error_ok(srv, method, path, status, what, **kw):
    st, r, doc = srv.req(method, path, **kw)
    check(st == status, f"{what}: {method} {path}: {st}, wanted {status}")
    check(r.getheader("Content-Type") == MEDIA, f"{what}: error media type {r.getheader('Content-Type')}")
    check(isinstance(doc, dict) and isinstance(doc.get("title"), str) and
          doc.get("http_status") == str(status), f"{what}: error body {doc}")
    return r, doc


def anon_key(tmp):
    path = os.path.join(tmp, "cpan.key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (bytes(range(1, 33)).hex() + "\n").encode())
        os.close(fd)
    return path


CLEAR = ("203.0.113.77", "198.51.100.9")  # addresses that must not come out of ANON


def anon_bundle():
    sco = {"type": "ipv4-addr", "spec_version": "2.1",
           "id": "ipv4-addr--0b9c5c2a-0f8b-5f7d-8c0e-1a2b3c4d5e6f", "value": CLEAR[0]}
    named = ind(800, "2024-07-01T00:00:00.000Z", f"[ipv4-addr:value = '{CLEAR[0]}']")
    named["name"] = f"scanner {CLEAR[0]}"  # as share export names them
    named["labels"] = ["role:scanner", f"fingerprint:{CLEAR[1]}"]
    infra = {"type": "infrastructure", "spec_version": "2.1", "id": f"infrastructure--{uid(803)}",
             "created": "2024-07-01T00:00:00.000Z", "modified": "2024-07-01T00:00:00.000Z",
             "name": f"malware download server {CLEAR[1]}", "infrastructure_types": ["hosting-malware"]}
    return [named, infra,
            {"type": "observed-data", "spec_version": "2.1", "id": f"observed-data--{uid(801)}",
             "created": "2024-07-01T00:00:00.000Z", "modified": "2024-07-01T00:00:00.000Z",
             "first_observed": "2024-07-01T00:00:00Z", "last_observed": "2024-07-01T00:00:00Z",
             "number_observed": 1, "object_refs": [sco["id"]]}, sco,
            {"type": "url", "spec_version": "2.1",
             "id": "url--1c2d3e4f-5a6b-5c7d-8e9f-0a1b2c3d4e5f", "value": f"http://{CLEAR[1]}/x.arm"}]


def anonymized(srv, tmp, port):
    """a collection that anonymizes what is POSTed into it, and push --anonymize for a recipient"""
    st, _, status = srv.req("POST", coll(ANON, "objects/"), {"objects": anon_bundle()}, who="writer")
    check(st == 202 and status.get("success_count") == 5, f"POST into the anonymized collection {st}"
          f" {status}")
    st, _, env = srv.req("GET", coll(ANON, "objects/"), who="writer")
    text = json.dumps(env)
    got = {o["type"]: o for o in (env or {}).get("objects", [])}
    check(st == 200 and len(got) == 5 and not any(a in text for a in CLEAR),
          f"anonymized collection serves clear addresses or lost objects: {text[:400]}")
    sco, od = got.get("ipv4-addr", {}), got.get("observed-data", {})
    check(sco.get("value", CLEAR[0]) != CLEAR[0] and od.get("object_refs") == [sco.get("id")],
          f"anonymized SCO and the ref to it {sco} {od}")
    check(sco.get("value", "") in got.get("indicator", {}).get("pattern", "") and
          got.get("indicator", {}).get("name") == f"scanner {sco.get('value')}",
          "the indicator's pattern, its name and its SCO anonymized alike")
    check(got.get("infrastructure", {}).get("id") != f"infrastructure--{uid(803)}",
          "an object named after an address keeps its id")
    # share push --anonymize into an ordinary collection: the server never sees the addresses
    bf = os.path.join(tmp, "clear.json")
    with open(bf, "w") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uid(802)}", "objects": anon_bundle()}, f)
    tok = os.path.join(tmp, "tok")
    p = subprocess.run([M, "share", "push", "--url", f"http://127.0.0.1:{port}" + coll(SECRET),
                        "--token-file", tok, "--anonymize", anon_key(tmp), bf],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"push --anonymize: {p.returncode} {p.stderr}")
    st, _, env2 = srv.req("GET", coll(SECRET, "objects/"), who="writer",
                          headers={"X-Unused": "1"})
    mine = [o for o in (env2 or {}).get("objects", []) if o["id"].startswith(("ipv4-addr", "url"))]
    check(len(mine) == 2 and not any(a in json.dumps(env2) for a in CLEAR) and
          {o["value"] for o in mine} == {got.get("ipv4-addr", {}).get("value"),
                                         got.get("url", {}).get("value")},
          f"push --anonymize: the same key gives the same values as the collection's {mine}")
    p = subprocess.run([M, "share", "push", "--url", f"http://127.0.0.1:{port}" + coll(SECRET),
                        "--token-file", tok, "--anonymize", os.path.join(tmp, "nokey"), bf],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and p.stderr.count("\n") == 1 and "nokey" in p.stderr,
          f"push --anonymize with no key: {p.returncode} {p.stderr}")
    # a malformed or misspelt "anonymize" fails closed
    for k, v in (("anonymize", True), ("anonymize", ""), ("anonymise", anon_key(tmp))):
        c = json.load(open(os.path.join(tmp, "taxii.json")))
        c["collections"][-1].pop("anonymize")
        c["collections"][-1][k] = v
        bad = os.path.join(tmp, "bad.json")
        json.dump(c, open(bad, "w"))
        p = subprocess.run([M, "serve", "--db", os.path.join(tmp, "bad.db"), "--listen",
                            "127.0.0.1:0", "--taxii", bad], capture_output=True, text=True, timeout=30)
        check(p.returncode != 0 and "anonymi" in p.stderr, f"{k}={v!r}: {p.returncode} {p.stderr}")
    # a collection cannot both anonymize and ingest
    bad = os.path.join(tmp, "bad.json")
    c = json.load(open(os.path.join(tmp, "taxii.json")))
    c["collections"][-1]["ingest"], c["collections"][-1]["source"] = True, "x"
    json.dump(c, open(bad, "w"))
    p = subprocess.run([M, "serve", "--db", os.path.join(tmp, "bad.db"), "--listen", "127.0.0.1:0",
                        "--taxii", bad], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "anonymize and ingest" in p.stderr, f"anonymize+ingest: {p.stderr}")


def config(tmp):
    pw = subprocess.run(["openssl", "passwd", "-6", "-salt", "taxiitest", "alice-pw"],
                        check=True, capture_output=True, text=True).stdout.strip()
    pw2 = subprocess.run(["openssl", "passwd", "-6", "bob-pw"], check=True, capture_output=True,
                         text=True).stdout.strip()
    tok = hashlib.sha256(b"writer-token").hexdigest()
    c = {"title": "mamori test", "description": "conformance", "contact": "soc@example.org",
         "default": "api1",
         "api_roots": [{"name": "api1", "title": "Root one", "description": "first"},
                       {"name": "api2", "title": "Root two"}],
         "users": [{"name": "alice", "password_crypt": pw, "roles": ["analyst"]},
                   {"name": "bob", "password_crypt": pw2},
                   {"name": "writer", "token_sha256": tok}],
         "collections": [
             {"api_root": "api1", "id": RW, "title": "rw", "can_read": ["role:analyst", "writer"],
              "can_write": ["writer"]},
             {"api_root": "api1", "id": RO, "title": "ro", "description": "read-only",
              "can_read": ["*"], "can_write": []},
             {"api_root": "api1", "id": SECRET, "title": "secret", "can_read": ["writer"],
              "can_write": ["writer"]},
             {"api_root": "api1", "id": WO, "title": "write-only", "can_read": [],
              "can_write": ["alice"]},
             {"api_root": "api1", "id": PUSH, "title": "push", "can_read": ["alice"],
              "can_write": ["writer"], "ingest": True, "source": "peer-test"},
             {"api_root": "api1", "id": ANON, "title": "partners (anonymized)",
              "can_read": ["writer"], "can_write": ["writer"], "anonymize": anon_key(tmp)}]}
    path = os.path.join(tmp, "taxii.json")
    with open(path, "w") as f:
        json.dump(c, f)
    basic = lambda u, p: "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode()
    auth = {"alice": basic("alice", "alice-pw"), "bob": basic("bob", "bob-pw"),
            "wrongpw": basic("alice", "nope"), "nouser": basic("mallory", "alice-pw"),
            "writer": "Bearer writer-token", "badtoken": "Bearer writer-tokeN"}
    return path, auth


def discovery_and_roots(srv):
    st, r, d = srv.req("GET", "/taxii2/")
    check(st == 200 and r.getheader("Content-Type") == MEDIA, f"discovery {st}")
    check(d.get("title") == "mamori test" and d.get("contact") == "soc@example.org", f"discovery {d}")
    roots = d.get("api_roots", [])
    check(len(roots) == 2 and roots[0].endswith("/taxii2/api1/"), f"api_roots {roots}")
    check(d.get("default", "").endswith("/taxii2/api1/"), f"default {d}")
    st, r, d = srv.req("GET", "/taxii2/api1/")
    check(st == 200 and d.get("title") == "Root one" and MEDIA in d.get("versions", []) and
          d.get("max_content_length") == 65536, f"api root {st} {d}")
    st, _, d = srv.req("GET", "/taxii2/api1/collections/")
    ids = {c["id"]: c for c in d.get("collections", [])}
    check(set(ids) == {RW, RO, WO, PUSH}, f"alice's collections {sorted(ids)}")
    check(ids.get(RW, {}).get("can_read") is True and ids[RW].get("can_write") is False and
          ids.get(WO, {}).get("can_write") is True and ids[WO].get("can_read") is False,
          f"can_read/can_write {ids}")
    check(ids.get(RW, {}).get("media_types") == ["application/stix+json;version=2.1"], "media_types")
    st, _, d = srv.req("GET", "/taxii2/api1/collections/", who="bob")
    check(st == 200 and {c["id"] for c in d.get("collections", [])} == {RO}, f"bob sees {d}")
    st, _, d = srv.req("GET", coll(RO), who="bob")
    check(st == 200 and d.get("id") == RO and d.get("description") == "read-only", f"collection {d}")
    st, _, d = srv.req("GET", "/taxii2/api2/collections/")
    check(st == 200 and not d.get("collections"), f"empty api2 {d}")


def post_objects(srv):
    v1, v2, v3 = "2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z", "2024-04-01T00:00:00.123Z"
    objs = [ind(1, v1), ind(1, v2), ind(1, v3), ind(2, v1),
            {"type": "malware", "spec_version": "2.1", "id": f"malware--{uid(3)}",
             "created": v1, "modified": v1, "name": "Mirai", "is_family": True},
            {"type": "ipv4-addr", "spec_version": "2.1",
             "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"}]
    bad = {"type": "indicator", "id": "not-an-id"}
    st, r, s = srv.req("POST", coll(RW, "objects/"), {"objects": objs + [bad]}, who="writer")
    check(st == 202 and r.getheader("Content-Type") == MEDIA, f"POST {st} {s}")
    check(s.get("status") == "complete" and s.get("total_count") == 7 and
          s.get("success_count") == 6 and s.get("failure_count") == 1 and
          s.get("pending_count") == 0, f"status counts {s}")
    check(len(s.get("successes", [])) == 6 and s["failures"][0].get("message"), f"status lists {s}")
    check(all({"id", "version"} <= set(e) for e in s["successes"][:5]), "successes id+version")
    st, _, s2 = srv.req("GET", f"/taxii2/api1/status/{s['id']}/", who="writer")
    check(st == 200 and s2 == s, f"GET status {st} {s2}")
    error_ok(srv, "GET", f"/taxii2/api1/status/{s['id']}/", 404, "status of another", who="bob")
    error_ok(srv, "GET", f"/taxii2/api1/status/{uid(99)}/", 404, "unknown status", who="writer")
    return objs, (v1, v2, v3)


def page_all(srv, path, limit, who="alice"):
    """Pages with limit/next; returns the objects and the pages' headers."""
    out, pages, nxt = [], [], None
    for _ in range(100):
        q = {"limit": str(limit)}
        if nxt:
            q["next"] = nxt
        st, r, d = srv.req("GET", path + "?" + urllib.parse.urlencode(q), who=who)
        check(st == 200, f"page {st} {d}")
        got = d.get("objects", [])
        check(len(got) <= limit, f"page over the limit: {len(got)}")
        pages.append((r.getheader("X-TAXII-Date-Added-First"), r.getheader("X-TAXII-Date-Added-Last"),
                      len(got), d.get("more")))
        out += got
        if not d.get("more"):
            check("next" not in d, "next without more")
            break
        nxt = d.get("next")
        check(nxt, "more without next")
    return out, pages


def key(o):
    return (o["id"], o.get("modified"))


def reads(srv, objs, vs):
    v1, v2, v3 = vs
    latest = {}
    for o in objs:
        if o["id"] not in latest or o.get("modified", "") > latest[o["id"]].get("modified", ""):
            latest[o["id"]] = o
    st, r, d = srv.req("GET", coll(RW, "objects/"))
    check(st == 200 and sorted(map(key, d.get("objects", []))) == sorted(map(key, latest.values())),
          f"objects default last {d}")
    check(d.get("more") is False, "more false")
    first, last = r.getheader("X-TAXII-Date-Added-First"), r.getheader("X-TAXII-Date-Added-Last")
    check(first and last and first <= last, f"date headers {first} {last}")
    for o in d.get("objects", []):
        check(o == latest[o["id"]], f"object changed in the store: {o}")
    # paging: limit 1 and 2, union is the whole, no repeats; headers per page
    for lim in (1, 2):
        got, pages = page_all(srv, coll(RW, "objects/"), lim)
        check(sorted(map(key, got)) == sorted(map(key, latest.values())), f"paging limit {lim}")
        check(all(p[0] and p[1] and p[0] <= p[1] for p in pages if p[2]), f"page headers {pages}")
        check(all(pages[i][1] < pages[i + 1][0] for i in range(len(pages) - 1) if pages[i + 1][2]),
              "pages in date_added order")
    # added_after: after the first object's date_added, everything but it
    st, r, d = srv.req("GET", coll(RW, "objects/?limit=1"))
    one_last = r.getheader("X-TAXII-Date-Added-Last")
    st, r, d2 = srv.req("GET", coll(RW, "objects/?added_after=" + urllib.parse.quote(one_last)))
    check(st == 200 and len(d2.get("objects", [])) == len(latest) - 1 and
          d["objects"][0]["id"] not in {o["id"] for o in d2.get("objects", [])},
          f"added_after {d2}")
    st, r, d3 = srv.req("GET", coll(RW, "objects/?added_after=2999-01-01T00:00:00Z"))
    check(st == 200 and not d3.get("objects") and r.getheader("X-TAXII-Date-Added-First") is None,
          f"added_after future {d3}")
    # filters
    def ids_of(q):
        st, _, d = srv.req("GET", coll(RW, "objects/?" + q))
        check(st == 200, f"{q}: {st} {d}")
        return sorted(key(o) for o in (d or {}).get("objects", []))
    i1 = f"indicator--{uid(1)}"
    want = lambda f: sorted(key(o) for o in objs if f(o))
    is_latest = lambda o: latest[o["id"]] is o
    check(ids_of("match[type]=indicator") == want(lambda o: o["type"] == "indicator" and is_latest(o)),
          "match[type]")
    check(ids_of("match[type]=malware,ipv4-addr") ==
          want(lambda o: o["type"] in ("malware", "ipv4-addr")), "match[type] list")
    check(ids_of("match[id]=" + i1) == [(i1, v3)], "match[id]")
    check(ids_of(f"match[id]={i1}&match[version]=first") == [(i1, v1)], "match[version]=first")
    check(ids_of(f"match[id]={i1}&match[version]=all") == [(i1, v1), (i1, v2), (i1, v3)], "all")
    check(ids_of(f"match[id]={i1}&match[version]=2024-03-01T00:00:00Z") == [(i1, v2)],
          "match[version]=timestamp (another spelling of the same instant)")
    check(ids_of(f"match[id]={i1}&match[version]=first,last") == [(i1, v1), (i1, v3)], "first,last")
    check(ids_of("match[type]=indicator&match[version]=all") ==
          want(lambda o: o["type"] == "indicator"), "type+version=all")
    check(ids_of("match[spec_version]=2.1&match[type]=malware") == want(lambda o: o["type"] == "malware"),
          "match[spec_version]=2.1")
    check(ids_of("match[spec_version]=2.0") == [], "match[spec_version]=2.0")
    check(ids_of(f"match[type]=malware&match[id]={i1}") == [], "type and id: AND")
    # one object, its versions, the manifest
    st, _, d = srv.req("GET", coll(RW, f"objects/{i1}/"))
    check(st == 200 and [key(o) for o in d.get("objects", [])] == [(i1, v3)], f"one object {d}")
    st, _, d = srv.req("GET", coll(RW, f"objects/{i1}/?match[version]=all"))
    check(st == 200 and len(d.get("objects", [])) == 3, f"one object all {d}")
    st, r, d = srv.req("GET", coll(RW, f"objects/{i1}/versions/"))
    check(st == 200 and d.get("versions") == [v1, v2, v3] and d.get("more") is False, f"versions {d}")
    st, r, d = srv.req("GET", coll(RW, f"objects/{i1}/versions/?limit=2"))
    check(st == 200 and d.get("versions") == [v1, v2] and d.get("more") is True and d.get("next"),
          f"versions page {d}")
    st, r, d = srv.req("GET", coll(RW, "manifest/"))
    man = d.get("objects", [])
    check(st == 200 and sorted((m["id"], m["version"]) for m in man) ==
          sorted((o["id"], o.get("modified") or m_ver(man, o["id"])) for o in latest.values()),
          f"manifest {d}")
    check(all(m.get("media_type") == "application/stix+json;version=2.1" and m.get("date_added")
              for m in man), f"manifest records {man}")
    st, r, d = srv.req("GET", coll(RW, "manifest/?match[type]=indicator&match[version]=all&limit=2"))
    check(st == 200 and len(d.get("objects", [])) == 2 and d.get("more") is True, f"manifest page {d}")
    # a re-POST of the same versions: stored once, date_added not moved
    st, r, before = srv.req("GET", coll(RW, "manifest/?match[version]=all"))
    st, _, s = srv.req("POST", coll(RW, "objects/"), {"objects": objs[:2]}, who="writer")
    check(st == 202 and s.get("success_count") == 2, f"re-POST {s}")
    st, r, after = srv.req("GET", coll(RW, "manifest/?match[version]=all"))
    check(before == after, "a re-added version moved its date_added or was stored twice")
    return latest


def m_ver(man, oid):
    return next((m["version"] for m in man if m["id"] == oid), None)


def errors_and_auth(srv):
    objs = coll(RW, "objects/")
    r, _ = error_ok(srv, "GET", objs, 401, "no credentials", who=None)
    wa = r.getheader("WWW-Authenticate") or ""
    check("Basic" in wa and "realm=" in wa and "Bearer" in wa, f"WWW-Authenticate {wa}")
    for who in ("wrongpw", "nouser", "badtoken"):
        r, _ = error_ok(srv, "GET", objs, 401, who, who=who)
        check("Basic" in (r.getheader("WWW-Authenticate") or ""), f"{who}: no challenge")
    error_ok(srv, "GET", "/taxii2/", 401, "discovery without credentials", who=None)
    st, _, d = srv.req("GET", objs, who="writer")
    check(st == 200 and d.get("objects"), "bearer token reads")
    error_ok(srv, "POST", coll(RO, "objects/"), 403, "read-only POST", body={"objects": []})
    error_ok(srv, "POST", objs, 403, "reader POST", body={"objects": [ind(9, "2024-01-01T00:00:00Z")]})
    error_ok(srv, "GET", coll(WO, "objects/"), 403, "user without read")
    error_ok(srv, "GET", coll(WO, "manifest/"), 403, "user without read: manifest")
    st, _, s = srv.req("POST", coll(WO, "objects/"), {"objects": [ind(8, "2024-01-01T00:00:00.000Z")]})
    check(st == 202 and s.get("success_count") == 1, f"write-only user POST {st} {s}")
    error_ok(srv, "GET", coll(SECRET), 404, "collection the user may not see")
    error_ok(srv, "GET", coll(SECRET, "objects/"), 404, "objects the user may not see")
    error_ok(srv, "GET", coll(uid(77)), 404, "unknown collection")
    error_ok(srv, "GET", coll(RW, f"objects/indicator--{uid(77)}/"), 404, "unknown object")
    error_ok(srv, "GET", coll(RW, f"objects/indicator--{uid(77)}/versions/"), 404, "unknown versions")
    error_ok(srv, "GET", "/taxii2/nope/", 404, "unknown API root")
    error_ok(srv, "GET", "/taxii2/api1/collections/not-a-uuid/", 404, "not an id")
    error_ok(srv, "GET", "/taxii2/api1/other/", 404, "unknown path")
    error_ok(srv, "GET", objs, 406, "Accept json", accept="application/json")
    error_ok(srv, "GET", objs, 406, "Accept version 2.0",
             accept="application/taxii+json;version=2.0")
    st, _, _ = srv.req("GET", objs, accept="application/taxii+json")
    check(st == 200, "Accept without version is 2.1")
    st, _, _ = srv.req("GET", objs, accept="text/html, application/taxii+json ; version=2.1")
    check(st == 200, "Accept list")
    error_ok(srv, "POST", objs, 415, "Content-Type json", who="writer", body={"objects": []},
             ctype="application/json")
    error_ok(srv, "POST", objs, 415, "Content-Type stix", who="writer", body={"objects": []},
             ctype="application/stix+json;version=2.1")
    error_ok(srv, "POST", objs, 413, "body too large", who="writer",
             body={"objects": [ind(i, "2024-01-01T00:00:00.000Z") for i in range(400)]})
    # a chunked body (no Content-Length) over the limit: 413 once it has come, not a dropped
    # connection; a body on a GET: 400
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request("POST", objs, body=(b"x" * 16384 for _ in range(8)), encode_chunked=True,
              headers={"Accept": MEDIA, "Content-Type": MEDIA, "Authorization": srv.auth["writer"],
                       "Transfer-Encoding": "chunked"})
    r = c.getresponse()
    doc = json.loads(r.read() or b"null")
    c.close()
    check(r.status == 413 and isinstance(doc, dict) and doc.get("http_status") == "413",
          f"chunked body over the limit: {r.status} {doc}")
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request("GET", objs, body=iter([b"xyz"]), encode_chunked=True,
              headers={"Accept": MEDIA, "Authorization": srv.auth["alice"],
                       "Transfer-Encoding": "chunked"})
    r = c.getresponse()
    doc = json.loads(r.read() or b"null")
    c.close()
    check(r.status == 400 and isinstance(doc, dict) and doc.get("http_status") == "400",
          f"a GET with a body: {r.status} {doc}")
    error_ok(srv, "POST", objs, 413, "too many objects", who="writer",
             body={"objects": [{"type": "x", "id": f"x--{uid(i)}"} for i in range(60)]})
    error_ok(srv, "POST", objs, 400, "not JSON", who="writer", body=b"{not json")
    error_ok(srv, "POST", objs, 422, "not an envelope", who="writer", body={"type": "bundle"})
    r, _ = error_ok(srv, "PUT", objs, 405, "PUT objects", who="writer", body={"objects": []})
    check("POST" in (r.getheader("Allow") or ""), f"Allow {r.getheader('Allow')}")
    error_ok(srv, "POST", coll(RW, "manifest/"), 405, "POST manifest", who="writer", body={})
    error_ok(srv, "DELETE", coll(RW), 405, "DELETE collection", who="writer")
    error_ok(srv, "GET", objs + "?limit=zero", 400, "bad limit")
    error_ok(srv, "GET", objs + "?limit=0", 400, "limit 0")
    error_ok(srv, "GET", objs + "?added_after=yesterday", 400, "bad added_after")
    error_ok(srv, "GET", objs + "?match[version]=newest", 400, "bad match[version]")
    error_ok(srv, "GET", objs + "?next=garbage", 400, "bad next")
    error_ok(srv, "GET", objs + "?match[color]=red", 400, "unknown filter")
    # the dashboard's routes stay read-only
    st, _, _ = srv.req("POST", "/api/v1/summary", {"x": 1}, who="writer")
    check(st == 405, f"POST to the dashboard API: {st}")


def delete(srv):
    i2 = f"indicator--{uid(2)}"
    error_ok(srv, "DELETE", coll(RW, f"objects/{i2}/"), 403, "DELETE by a reader")
    st, _, _ = srv.req("DELETE", coll(RW, f"objects/{i2}/"), who="writer")
    check(st == 200, f"DELETE {st}")
    error_ok(srv, "GET", coll(RW, f"objects/{i2}/"), 404, "deleted object", who="writer")


def client(srv, tmp, port):
    bundle = {"type": "bundle", "id": f"bundle--{uid(500)}",
              "objects": [ind(600 + i, "2024-05-01T00:00:00.000Z") for i in range(25)] +
                         [{"type": "domain-name", "spec_version": "2.1",
                           "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5",
                           "value": "example.com"}]}
    bf = os.path.join(tmp, "bundle.json")
    with open(bf, "w") as f:
        json.dump(bundle, f)
    tok, pw = os.path.join(tmp, "tok"), os.path.join(tmp, "pw")
    with open(tok, "w") as f:
        f.write("writer-token\n")
    with open(pw, "w") as f:
        f.write("alice-pw\n")
    base = f"http://127.0.0.1:{port}"
    curl = f"{base}/taxii2/api1/collections/{PUSH}/"
    p = subprocess.run([M, "share", "push", "--url", curl, "--token-file", tok, "--batch", "10",
                        "--format", "json", bf], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"push: {p.returncode} {p.stderr}")
    rep = json.loads(p.stdout) if p.stdout.startswith("{") else {}
    check(rep.get("success") == 26 and rep.get("failure") == 0 and len(rep.get("statuses", [])) == 3,
          f"push report {rep}")
    db2 = os.path.join(tmp, "pulled.db")
    local = uid(4242)
    p = subprocess.run([M, "share", "pull", "--url", curl, "--user", "alice", "--password-file", pw,
                        "--db", db2, "--limit", "7", "--collection", local, "--format", "json"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"pull: {p.returncode} {p.stderr}")
    rep = json.loads(p.stdout) if p.stdout.startswith("{") else {}
    check(rep.get("objects") == 26 and rep["collections"][0]["pages"] == 4, f"pull report {rep}")
    con = sqlite3.connect(db2)
    got = [json.loads(r[0]) for r in con.execute("SELECT json FROM taxii_objects WHERE collection=?",
                                                  (local,))]
    con.close()
    check(sorted(got, key=lambda o: o["id"]) == sorted(bundle["objects"], key=lambda o: o["id"]),
          "pulled objects differ from the pushed bundle")
    # the next pull asks only for what is new: nothing, then one more object
    p = subprocess.run([M, "share", "pull", "--url", curl, "--user", "alice", "--password-file", pw,
                        "--db", db2, "--format", "json"], capture_output=True, text=True, timeout=60)
    rep = json.loads(p.stdout) if p.stdout.startswith("{") else {}
    check(p.returncode == 0 and rep.get("objects") == 0, f"second pull {rep} {p.stderr}")
    srv.req("POST", coll(PUSH, "objects/"), {"objects": [ind(700, "2024-06-01T00:00:00.000Z")]},
            who="writer")
    p = subprocess.run([M, "share", "pull", "--url", f"{base}/taxii2/", "--user", "alice",
                        "--password-file", pw, "--db", db2, "--format", "json"],
                       capture_output=True, text=True, timeout=60)
    rep = json.loads(p.stdout) if p.stdout.startswith("{") else {}
    by = {c["url"]: c for c in rep.get("collections", [])}
    check(p.returncode == 0 and by.get(curl + "objects/", {}).get("objects") == 1,
          f"pull from discovery {rep} {p.stderr}")
    check(set(by) == {f"{base}/taxii2/api1/collections/{c}/objects/" for c in (RW, RO, PUSH)},
          f"discovery pull: readable collections {sorted(by)}")
    p = subprocess.run([M, "share", "pull", "--url", curl, "--user", "alice", "--password-file", tok,
                        "--db", db2], capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "401" in p.stderr, f"pull with a wrong password: {p.stderr}")


def hostile(tmp):
    """A server whose discovery names an API root on another origin, and whose collection list names
    a collection by something that is not a UUID: the client must not send its credentials (or ask
    anything) there, and says so."""
    import http.server
    import threading
    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append((self.server.server_port, self.path, self.headers.get("Authorization")))
            if self.server is first and self.path == "/taxii2/":
                body = {"title": "x", "api_roots": [f"http://127.0.0.1:{other.server_port}/stolen/",
                                                    "/root/"]}
            elif self.path.endswith("/collections/"):
                body = {"collections": [{"id": "../../steal", "title": "t", "can_read": True,
                                         "can_write": False}]}
            else:
                body = {"title": "r", "versions": ["application/taxii+json;version=2.1"]}
            b = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/taxii+json;version=2.1")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

    first = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    for srv in (first, other):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        pw = os.path.join(tmp, "pw-hostile")
        with open(pw, "w") as f:
            f.write("secret\n")
        p = subprocess.run([M, "share", "pull", "--url", f"http://127.0.0.1:{first.server_port}/taxii2/",
                            "--user", "u", "--password-file", pw, "--db", os.path.join(tmp, "h.db")],
                           capture_output=True, text=True, timeout=60)
    finally:
        first.shutdown()
        other.shutdown()
    check(p.returncode == 1 and "not on the origin of --url" in p.stderr and "not a UUID" in p.stderr,
          f"hostile server: pull {p.returncode} {p.stderr}")
    check(not [x for x in seen if x[0] == other.server_port], f"the other origin was asked: {seen}")
    check(not [x for x in seen if "steal" in x[1]], f"a non-UUID collection id was followed: {seen}")


def main():
    tmp = tempfile.mkdtemp(prefix="mamori-taxii-")
    conf, auth = config(tmp)
    db = os.path.join(tmp, "t.db")
    p = subprocess.Popen([M, "serve", "--db", db, "--listen", "127.0.0.1:0", "--taxii", conf,
                          "--taxii-max-body", "65536", "--taxii-max-objects", "50"],
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        if "serving http://127.0.0.1:" not in line:
            sys.exit(f"FAIL: serve did not start: {line}")
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        srv = Server(port, auth)
        discovery_and_roots(srv)
        objs, vs = post_objects(srv)
        reads(srv, objs, vs)
        errors_and_auth(srv)
        delete(srv)
        client(srv, tmp, port)
        anonymized(srv, tmp, port)
        hostile(tmp)
    finally:
        p.terminate()
        p.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        print("\n".join("FAIL: " + e for e in errors))
        sys.exit(1)
    print("ok: TAXII 2.1 conformance and client")


if __name__ == "__main__":
    main()
