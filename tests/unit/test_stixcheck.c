/* stix_check_object against the STIX 2.1 specification's own example objects
 * (valid as printed there) and against copies that break one rule each (the
 * reason names the rule).  The integration test share_import.py also runs
 * the OASIS JSON schemas over its bundles, so the two agree on them. */
#include "core/stix.h"
#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Examples from the STIX 2.1 specification (OASIS Standard, 2021). */
static const char *const spec_valid[] = {
    "{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": "
    "\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"created_by_ref\": "
    "\"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff\", \"created\": "
    "\"2016-04-06T20:03:48.000Z\", \"modified\": \"2016-04-06T20:03:48.000Z\", "
    "\"indicator_types\": [\"malicious-activity\"], \"name\": \"Poison Ivy Malware\", "
    "\"description\": \"This file is part of Poison Ivy\", \"pattern\": \"[ file:hashes.'SHA-256' "
    "= "
    "'4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877' ]\", \"pattern_type\": "
    "\"stix\", \"valid_from\": \"2016-01-01T00:00:00Z\"}",
    "{\"type\": \"observed-data\", \"spec_version\": \"2.1\", \"id\": "
    "\"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf\", \"created_by_ref\": "
    "\"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff\", \"created\": "
    "\"2016-04-06T19:58:16.000Z\", "
    "\"modified\": \"2016-04-06T19:58:16.000Z\", \"first_observed\": \"2015-12-21T19:00:00Z\", "
    "\"last_observed\": \"2015-12-21T19:00:00Z\", \"number_observed\": 50, \"object_refs\": "
    "[\"ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8\", "
    "\"domain-name--ecb120bf-2694-4902-a737-62b74539a41b\"]}",
    "{\"type\": \"sighting\", \"spec_version\": \"2.1\", \"id\": "
    "\"sighting--ee20065d-2555-424f-ad9e-0f8fd1b0fd7f\", \"created_by_ref\": "
    "\"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff\", \"created\": "
    "\"2016-04-06T20:08:31.000Z\", "
    "\"modified\": \"2016-04-06T20:08:31.000Z\", \"first_seen\": \"2015-12-21T19:00:00Z\", "
    "\"last_seen\": \"2015-12-21T19:00:00Z\", \"count\": 50, \"sighting_of_ref\": "
    "\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"observed_data_refs\": "
    "[\"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf\"], \"where_sighted_refs\": "
    "[\"identity--b67d30ff-02ac-498a-92f9-32f845f448ff\"]}",
    "{\"type\": \"relationship\", \"spec_version\": \"2.1\", \"id\": "
    "\"relationship--57b56a43-b8b0-4cba-9deb-34e3e1faed9e\", \"created\": "
    "\"2016-04-06T20:06:37.000Z\", \"modified\": \"2016-04-06T20:06:37.000Z\", "
    "\"relationship_type\": \"indicates\", \"source_ref\": "
    "\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"target_ref\": "
    "\"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b\"}",
    "{\"type\": \"malware\", \"spec_version\": \"2.1\", \"id\": "
    "\"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061\", \"created\": "
    "\"2016-05-12T08:17:27.000Z\", \"modified\": \"2016-05-12T08:17:27.000Z\", \"name\": "
    "\"Cryptolocker\", \"description\": \"...\", \"malware_types\": [\"ransomware\"], "
    "\"is_family\": false}",
    "{\"type\": \"identity\", \"spec_version\": \"2.1\", \"id\": "
    "\"identity--e5f1b90a-d9b6-40ab-81a9-8a29df4b6b65\", \"created\": "
    "\"2016-04-06T20:03:00.000Z\", \"modified\": \"2016-04-06T20:03:00.000Z\", \"name\": "
    "\"ACME Widget, Inc.\", \"identity_class\": \"organization\"}",
    "{\"type\": \"infrastructure\", \"spec_version\": \"2.1\", \"id\": "
    "\"infrastructure--38c47d93-d984-4fd9-b87b-d69d0841628d\", \"created\": "
    "\"2016-05-07T11:22:30.000Z\", \"modified\": \"2016-05-07T11:22:30.000Z\", \"name\": "
    "\"Poison Ivy C2\", \"infrastructure_types\": [\"command-and-control\"]}",
    "{\"type\": \"attack-pattern\", \"spec_version\": \"2.1\", \"id\": "
    "\"attack-pattern--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061\", \"created\": "
    "\"2016-05-12T08:17:27.000Z\", \"modified\": \"2016-05-12T08:17:27.000Z\", \"name\": "
    "\"Spear Phishing\", \"description\": \"...\", \"external_references\": [{\"source_name\": "
    "\"capec\", \"external_id\": \"CAPEC-163\"}]}",
    "{\"type\": \"marking-definition\", \"spec_version\": \"2.1\", \"id\": "
    "\"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da\", \"created\": "
    "\"2017-01-20T00:00:00.000Z\", \"definition_type\": \"tlp\", \"name\": \"TLP:GREEN\", "
    "\"definition\": {\"tlp\": \"green\"}}",
    "{\"type\": \"note\", \"spec_version\": \"2.1\", \"id\": "
    "\"note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061\", \"created\": \"2016-05-12T08:17:27.000Z\", "
    "\"modified\": \"2016-05-12T08:17:27.000Z\", \"external_references\": [{\"source_name\": "
    "\"job-tracker\", \"external_id\": \"job-id-1234\"}], \"abstract\": \"Tracking Team Note#1\", "
    "\"content\": \"This note indicates the various steps taken by the threat analyst team.\", "
    "\"authors\": [\"John Doe\"], \"object_refs\": "
    "[\"campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"]}",
    "{\"type\": \"ipv4-addr\", \"spec_version\": \"2.1\", \"id\": "
    "\"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\", \"value\": \"198.51.100.3\"}",
    "{\"type\": \"ipv4-addr\", \"spec_version\": \"2.1\", \"id\": "
    "\"ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8\", \"value\": \"198.51.100.0/24\"}",
    "{\"type\": \"ipv6-addr\", \"spec_version\": \"2.1\", \"id\": "
    "\"ipv6-addr--1e61d36c-a16c-53b7-a80f-2a00161c96b1\", \"value\": "
    "\"2001:0db8:85a3:0000:0000:8a2e:0370:7334\"}",
    "{\"type\": \"domain-name\", \"spec_version\": \"2.1\", \"id\": "
    "\"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5\", \"value\": \"example.com\"}",
    "{\"type\": \"url\", \"spec_version\": \"2.1\", \"id\": "
    "\"url--c1477287-23ac-5971-a010-5c287877fa60\", \"value\": "
    "\"https://example.com/research/index.html\"}",
    "{\"type\": \"file\", \"spec_version\": \"2.1\", \"id\": "
    "\"file--66156fad-2a7d-5237-bbb4-ba1912887cfe\", \"hashes\": {\"SHA-256\": "
    "\"ceafbfd424be2ca4a5f0402cae090dda2fb0526cf521b60b60077c0f622b285a\"}, "
    "\"parent_directory_ref\": "
    "\"directory--93c0a9b0-520d-545d-9094-1a08ddf46b05\", \"name\": \"qwerty.dll\"}",
    "{\"type\": \"autonomous-system\", \"spec_version\": \"2.1\", \"id\": "
    "\"autonomous-system--f720c34b-98ae-597f-ade5-27dc241e8c74\", \"number\": 15139, \"name\": "
    "\"Slime Industries\", \"rir\": \"ARIN\"}",
    "{\"type\": \"network-traffic\", \"spec_version\": \"2.1\", \"id\": "
    "\"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d\", \"src_ref\": "
    "\"ipv4-addr--4d22aae0-2bf9-5427-8819-e4f6abf20a53\", \"dst_ref\": "
    "\"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\", \"protocols\": [\"tcp\"]}",
    /* TLP 2.0 (OASIS published marking, an extension instead of definition) */
    "{\"type\": \"marking-definition\", \"spec_version\": \"2.1\", \"id\": "
    "\"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487\", \"created\": "
    "\"2022-10-01T00:00:00.000Z\", \"name\": \"TLP:CLEAR\", \"extensions\": "
    "{\"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d\": {\"extension_type\": "
    "\"property-extension\", \"tlp_2_0\": \"clear\"}}}",
};

#define IND                                                                                        \
    "\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": "                                 \
    "\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"created\": "                           \
    "\"2016-04-06T20:03:48.000Z\", \"pattern_type\": \"stix\", "
#define OK_IND                                                                                     \
    "\"modified\": \"2016-04-06T20:03:48.000Z\", \"valid_from\": \"2016-01-01T00:00:00Z\""
#define PAT "\"pattern\": \"[ipv4-addr:value = '198.51.100.1']\", "

struct bad {
    const char *json, *why;
};

static const struct bad invalid[] = {
    {"[]", "not a JSON object"},
    {"{\"id\": \"x\"}", "type is required"},
    {"{\"type\": \"Indicator\"}", "not a STIX type name"},
    {"{\"type\": \"widget\", \"id\": \"widget--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"}",
     "not a STIX 2.1 type"},
    {"{" IND PAT OK_IND ", \"spec_version\": \"2.0\"}", "spec_version is not \"2.1\""},
    {"{\"type\": \"indicator\", \"id\": \"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"}",
     "spec_version is required"},
    {"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": "
     "\"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"}",
     "id is not \"indicator--\""},
    {"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--1234\"}",
     "id is not"},
    {"{" IND PAT "\"valid_from\": \"2016-01-01T00:00:00Z\"}", "modified is required"},
    {"{" IND PAT "\"modified\": \"2016-04-06T20:03:47.999Z\", \"valid_from\": "
     "\"2016-01-01T00:00:00Z\"}",
     "modified is earlier than created"},
    {"{" IND PAT
     "\"modified\": \"2016-04-06 20:03:48Z\", \"valid_from\": \"2016-01-01T00:00:00Z\"}",
     "modified is not a STIX timestamp"},
    {"{" IND PAT OK_IND ", \"confidence\": 101}", "confidence 101 is outside 0..100"},
    {"{" IND PAT OK_IND ", \"confidence\": \"high\"}", "confidence is not an integer"},
    {"{" IND PAT OK_IND ", \"lang\": 5}", "lang is not a string"},
    {"{" IND PAT OK_IND ", \"created_by_ref\": \"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"}",
     "created_by_ref is not the id of identity"},
    {"{" IND PAT OK_IND ", \"object_marking_refs\": [\"tlp-green\"]}",
     "object_marking_refs[0] is not the id of marking-definition"},
    {"{" IND PAT OK_IND ", \"external_references\": [{\"url\": \"https://example.com\"}]}",
     "external_references[0] has no source_name"},
    {"{" IND PAT OK_IND ", \"external_references\": [{\"source_name\": \"x\"}]}",
     "needs description, url or external_id"},
    {"{" IND PAT OK_IND ", \"bad-name\": 1}", "property name 'bad-name'"},
    {"{" IND OK_IND "}", "pattern is required"},
    {"{" IND "\"pattern\": \"[ipv4-addr:value = '198.51.100.1'\", " OK_IND "}",
     "pattern: at byte 33: expected ']'"},
    {"{" IND PAT "\"modified\": \"2016-04-06T20:03:48.000Z\"}", "valid_from is required"},
    {"{" IND PAT OK_IND ", \"valid_until\": \"2016-01-01T00:00:00Z\"}",
     "valid_until is not later than valid_from"},
    {"{\"type\": \"observed-data\", \"spec_version\": \"2.1\", \"id\": "
     "\"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf\", \"created\": "
     "\"2016-04-06T19:58:16.000Z\", \"modified\": \"2016-04-06T19:58:16.000Z\", "
     "\"first_observed\": \"2015-12-21T19:00:00Z\", \"last_observed\": \"2015-12-21T18:00:00Z\", "
     "\"number_observed\": 50, \"object_refs\": "
     "[\"ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8\"]}",
     "last_observed is earlier than first_observed"},
    {"{\"type\": \"observed-data\", \"spec_version\": \"2.1\", \"id\": "
     "\"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf\", \"created\": "
     "\"2016-04-06T19:58:16.000Z\", \"modified\": \"2016-04-06T19:58:16.000Z\", "
     "\"first_observed\": \"2015-12-21T19:00:00Z\", \"last_observed\": \"2015-12-21T19:00:00Z\", "
     "\"number_observed\": 0, \"object_refs\": "
     "[\"ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8\"]}",
     "number_observed 0 is outside 1..999999999"},
    {"{\"type\": \"observed-data\", \"spec_version\": \"2.1\", \"id\": "
     "\"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf\", \"created\": "
     "\"2016-04-06T19:58:16.000Z\", \"modified\": \"2016-04-06T19:58:16.000Z\", "
     "\"first_observed\": \"2015-12-21T19:00:00Z\", \"last_observed\": \"2015-12-21T19:00:00Z\", "
     "\"number_observed\": 1, \"object_refs\": []}",
     "object_refs is not a non-empty list"},
    {"{\"type\": \"sighting\", \"spec_version\": \"2.1\", \"id\": "
     "\"sighting--ee20065d-2555-424f-ad9e-0f8fd1b0fd7f\", \"created\": "
     "\"2016-04-06T20:08:31.000Z\", "
     "\"modified\": \"2016-04-06T20:08:31.000Z\"}",
     "sighting_of_ref is required"},
    {"{\"type\": \"sighting\", \"spec_version\": \"2.1\", \"id\": "
     "\"sighting--ee20065d-2555-424f-ad9e-0f8fd1b0fd7f\", \"created\": "
     "\"2016-04-06T20:08:31.000Z\", "
     "\"modified\": \"2016-04-06T20:08:31.000Z\", \"sighting_of_ref\": "
     "\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"where_sighted_refs\": "
     "[\"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"]}",
     "where_sighted_refs[0] is not the id of identity|location"},
    {"{\"type\": \"relationship\", \"spec_version\": \"2.1\", \"id\": "
     "\"relationship--57b56a43-b8b0-4cba-9deb-34e3e1faed9e\", \"created\": "
     "\"2016-04-06T20:06:37.000Z\", \"modified\": \"2016-04-06T20:06:37.000Z\", "
     "\"source_ref\": \"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"target_ref\": "
     "\"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b\"}",
     "relationship_type is required"},
    {"{\"type\": \"relationship\", \"spec_version\": \"2.1\", \"id\": "
     "\"relationship--57b56a43-b8b0-4cba-9deb-34e3e1faed9e\", \"created\": "
     "\"2016-04-06T20:06:37.000Z\", \"modified\": \"2016-04-06T20:06:37.000Z\", "
     "\"relationship_type\": \"indicates\", \"source_ref\": \"indicator\", \"target_ref\": "
     "\"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b\"}",
     "source_ref is not the id of an object"},
    {"{\"type\": \"malware\", \"spec_version\": \"2.1\", \"id\": "
     "\"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061\", \"created\": "
     "\"2016-05-12T08:17:27.000Z\", \"modified\": \"2016-05-12T08:17:27.000Z\", \"name\": "
     "\"Mirai\"}",
     "is_family is required"},
    {"{\"type\": \"malware\", \"spec_version\": \"2.1\", \"id\": "
     "\"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061\", \"created\": "
     "\"2016-05-12T08:17:27.000Z\", \"modified\": \"2016-05-12T08:17:27.000Z\", "
     "\"is_family\": true}",
     "name is required"},
    {"{\"type\": \"identity\", \"spec_version\": \"2.1\", \"id\": "
     "\"identity--e5f1b90a-d9b6-40ab-81a9-8a29df4b6b65\", \"created\": "
     "\"2016-04-06T20:03:00.000Z\", \"modified\": \"2016-04-06T20:03:00.000Z\"}",
     "name is required"},
    {"{\"type\": \"marking-definition\", \"spec_version\": \"2.1\", \"id\": "
     "\"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da\", \"definition_type\": "
     "\"tlp\", \"definition\": {\"tlp\": \"green\"}}",
     "created is required"},
    {"{\"type\": \"ipv4-addr\", \"id\": \"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\", "
     "\"value\": \"198.51.100.300\"}",
     "not an IPv4 address"},
    {"{\"type\": \"ipv4-addr\", \"id\": \"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\", "
     "\"value\": \"2001:db8::1\"}",
     "not an IPv4 address"},
    {"{\"type\": \"ipv6-addr\", \"id\": \"ipv6-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\", "
     "\"value\": \"198.51.100.3\"}",
     "not an IPv6 address"},
    {"{\"type\": \"domain-name\", \"id\": \"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5\", "
     "\"value\": \"exa mple.com\"}",
     "not a domain name"},
    {"{\"type\": \"url\", \"id\": \"url--c1477287-23ac-5971-a010-5c287877fa60\", \"value\": "
     "\"example.com/x\"}",
     "not a URL"},
    {"{\"type\": \"file\", \"id\": \"file--66156fad-2a7d-5237-bbb4-ba1912887cfe\", \"hashes\": "
     "{\"MD5\": \"abc\"}}",
     "hashes.MD5 is not 32 hex digits"},
    {"{\"type\": \"file\", \"id\": \"file--66156fad-2a7d-5237-bbb4-ba1912887cfe\"}",
     "needs hashes or name"},
    {"{\"type\": \"ipv4-addr\", \"spec_version\": \"2.0\", \"id\": "
     "\"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\", \"value\": \"198.51.100.3\"}",
     "spec_version is not \"2.1\""},
};

static void spec_examples_pass(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof spec_valid / sizeof *spec_valid; i++) {
        json_error_t je;
        json_t *o = json_loads(spec_valid[i], 0, &je);
        assert_non_null(o);
        char msg[200];
        if (stix_check_object(o, msg, sizeof msg)) {
            fprintf(stderr, "valid #%zu refused: %s\n", i, msg);
            failed++;
        }
        json_decref(o);
    }
    assert_int_equal(failed, 0);
}

static void broken_rules_are_named(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        json_error_t je;
        json_t *o = json_loads(invalid[i].json, JSON_DECODE_ANY, &je);
        if (!o) fprintf(stderr, "invalid #%zu: bad test JSON: %s\n", i, je.text);
        assert_non_null(o);
        char msg[200];
        int rc = stix_check_object(o, msg, sizeof msg);
        if (rc != -EINVAL || !strstr(msg, invalid[i].why)) {
            fprintf(stderr, "invalid #%zu: rc %d '%s', want '%s'\n", i, rc, msg, invalid[i].why);
            failed++;
        }
        json_decref(o);
    }
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_examples_pass),
        cmocka_unit_test(broken_rules_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
