#!/usr/bin/env bash
# share_demo — threat sharing end to end, for `make demo`, on the demo's database (darknet, honeypot
# and survey already in it): export mamori's indicators as a STIX 2.1 bundle and publish them to a
# TAXII collection that `mamori serve --taxii` then offers; import the bundle into a second
# organisation's database as a graded source; anonymize the bundle with Crypto-PAn and print how
# identifiable its addresses still are.  Writes DEMO_DIR/taxii.json (a reader "demo" whose bearer
# token is in DEMO_DIR/taxii.token; only its SHA-256 is in the config) and DEMO_DIR/share/.
#   tools/share_demo.sh MAMORI DEMO_DIR
set -euo pipefail
M=$(realpath "$1")
D=$2
S=$D/share
COLL=91a7b528-80eb-42ed-a74d-c6fbd5a26116
mkdir -p "$S"
rm -f "$S"/peer.db* "$S"/cpan.key
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$D/taxii.token"
chmod 600 "$D/taxii.token"
HASH=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
cat >"$D/taxii.json" <<JSON
{"title": "mamori demo TAXII", "description": "the demo's indicators", "contact": "demo@example.net",
 "default": "mamori",
 "api_roots": [{"name": "mamori", "title": "mamori", "description": "indicators from the demo"}],
 "users": [{"name": "demo", "token_sha256": "$HASH"}],
 "collections": [{"api_root": "mamori", "id": "$COLL", "title": "mamori indicators",
                  "description": "what share export --collection published", "can_read": ["demo"],
                  "can_write": []}]}
JSON
"$M" share export --db "$D/mamori.db" --out "$S/local.json" --collection "$COLL"
"$M" share import --db "$S/peer.db" --source mamori-demo --reliability B --warninglists none \
    "$S/local.json"
"$M" share anonymize --new-key "$S/cpan.key"
"$M" share anonymize --key "$S/cpan.key" --format stix --metrics --out "$S/local.anon.json" \
    "$S/local.json"
echo "TAXII: curl -H 'Accept: application/taxii+json;version=2.1' -H \"Authorization: Bearer \$(cat $D/taxii.token)\" http://127.0.0.1:8080/taxii2/mamori/collections/$COLL/objects/?limit=5"
