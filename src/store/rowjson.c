/* rowjson — a result row as JSON by its column names (see rowjson.h). */
#include "rowjson.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *text_json(sqlite3_stmt *st, int c)
{
    const char *v = (const char *)sqlite3_column_text(st, c);
    size_t n = (size_t)sqlite3_column_bytes(st, c);
    /* a NUL would end the text in every C reader (text, CSV, dashboard)
     * and hide what follows it: it becomes U+FFFD like any bad byte */
    json_t *j = v && !memchr(v, 0, n) ? json_stringn(v, n) : NULL;
    if (j) return j;
    char *clean = esc_utf8(v, n);
    j = clean ? json_string(clean) : NULL;
    free(clean);
    return j ? j : json_null();
}

static json_t *col_json(sqlite3_stmt *st, int c)
{
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, c));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, c));
    case SQLITE_TEXT:
        return text_json(st, c);
    default:
        return json_null();
    }
}

static json_t *list_json(sqlite3_stmt *st, int c)
{
    json_t *list = json_array();
    const char *s = (const char *)sqlite3_column_text(st, c);
    while (list && s && *s) {
        size_t m = strcspn(s, ",");
        char item[64];
        snprintf(item, sizeof item, "%.*s", (int)m, s);
        char *end;
        long v = strtol(item, &end, 10);
        json_array_append_new(list, *end || !m ? json_string(item) : json_integer(v));
        s += m + (s[m] == ',');
    }
    return list;
}

static bool ends(const char *name, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n > k && !strcmp(name + n - k, suffix);
}

json_t *rowjson(sqlite3_stmt *st, int first)
{
    json_t *o = json_object();
    for (int c = first; o && c < sqlite3_column_count(st); c++) {
        const char *name = sqlite3_column_name(st, c);
        size_t n = strlen(name);
        char key[64], iso[32];
        snprintf(key, sizeof key, "%s", name);
        json_t *v;
        if (ends(name, n, "_list")) {
            key[n - 5] = 0;
            v = list_json(st, c);
        } else if (ends(name, n, "_us")) {
            key[n - 3] = 0;
            v = sqlite3_column_type(st, c) == SQLITE_NULL
                    ? json_null()
                    : json_string(cli_iso_us(sqlite3_column_int64(st, c), iso));
        } else if (!strcmp(name, "at")) {
            v = json_string(cli_iso(sqlite3_column_int64(st, c), iso));
        } else {
            v = col_json(st, c);
        }
        if (json_object_set_new(o, key, v ? v : json_null()) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

json_t *rowjson_all(sqlite3_stmt *st)
{
    json_t *arr = json_array();
    int rc = SQLITE_DONE;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(arr, rowjson(st, 0)) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr && rc != SQLITE_DONE) {
        json_decref(arr);
        arr = NULL;
        err_set(-EIO, "query: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
    } else if (!arr) {
        err_set(-ENOMEM, "query: out of memory");
    }
    sqlite3_finalize(st);
    return arr;
}
