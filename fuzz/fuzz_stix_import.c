/* libFuzzer: a STIX bundle (or one object) through stix_check_object and
 * share_ingest_object into an in-memory database, as share import and the
 * TAXII server's POST do, with a small warninglist.  Each input runs in a
 * transaction rolled back afterwards, so the database stays small; an object
 * the check refuses must be refused by ingest too, and change nothing. */
#include "core/stix.h"
#include "store/share.h"
#include "store/share_ingest.h"
#include "store/store.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *db;
static struct share_warn *warn;

static void init(void)
{
    char dir[] = "/tmp/mamori-fuzz-warn-XXXXXX", path[64];
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/scanners.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("# name: fuzz\n162.142.125.0/24\n2602:80d:1003::/112\n", f);
    fclose(f);
    warn = share_warn_load(dir);
    unlink(path);
    rmdir(dir);
    db = store_open(":memory:", true);
    if (!warn || !db) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db) init();
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!doc) return 0;
    json_t *objs = json_object_get(doc, "objects"), *by_id = json_object(), *v;
    size_t i;
    if (!json_is_array(objs)) {
        objs = json_array();
        json_array_append(objs, doc);
    } else {
        json_incref(objs);
    }
    json_array_foreach(objs, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        if (id) json_object_set(by_id, id, v);
    }
    struct share_ingest_opts o = {
        .source = "fuzz", .now_us = 1764633600000000, .warn = warn, .by_id = by_id};
    struct share_ingest_stats st = {0};
    if (share_begin(db)) abort();
    json_array_foreach(objs, i, v)
    {
        char msg[200];
        int ok = stix_check_object(v, msg, sizeof msg);
        uint64_t invalid = st.invalid;
        int rc = share_ingest_object(db, v, &o, &st);
        if (ok && rc != -EINVAL) abort(); /* the check refused it: ingest must too */
        if (rc == -EINVAL && st.invalid != invalid + 1 && !ok) abort();
        if (rc < 0 && rc != -EINVAL) abort(); /* no database error on any input */
    }
    share_rollback(db);
    json_decref(by_id);
    json_decref(objs);
    json_decref(doc);
    return 0;
}
