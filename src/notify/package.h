/* package — what notify writes for one owner: findings as CSV and JSON, and
 * a letter per language from the templates (see notify.c for the whole).
 *
 * Text that came from devices (banners, device hints) is data: escaped for
 * the terminal in letters, formula-neutralised in CSV (core/esc.h), valid
 * UTF-8 in JSON.  A package never holds a password (the store has none). */
#ifndef MAMORI_NOTIFY_PACKAGE_H
#define MAMORI_NOTIFY_PACKAGE_H

#include "letter.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum note_kind { NOTE_VULNERABLE, NOTE_NOT_RETESTED, NOTE_INFECTED, NOTE_FIXED, NOTE_KINDS };
extern const char *const note_kind_names[NOTE_KINDS];

struct note {
    enum note_kind kind;
    char ip[46];
    uint16_t port;        /* 0 for infected hosts */
    char protocol[16];    /* "" for infected hosts */
    char cred_class[48];  /* vulnerable, not re-tested, fixed */
    char device[128];     /* device hints, from the device: data */
    char why[24];         /* infected: how it was seen */
    int64_t first_us, last_us;
    uint64_t packets;
};

struct owner_group {
    char owner[128], abuse[160], slug[96];
    uint32_t asn;
    struct note *v;
    size_t n, cap;
    size_t counts[NOTE_KINDS]; /* hosts, not findings: a device with two ports is one */
    char last_ip[NOTE_KINDS][46]; /* notes come sorted by address: a host counts once */
};

/* What every letter says beyond its owner's findings. */
struct package_ctx {
    const char *round, *prev, *sender, *contact, *method, *window, *date;
    /* templates by language, NULL when not written */
    const struct letter *letters[2];
    const char *const *langs; /* "en", "ja" */
    size_t n_langs;
};

/* Placeholders a template may use (letter_parse's list). */
extern const char *const package_placeholders[];
extern const size_t package_n_placeholders;

/* Writes DIR/<slug>/findings.csv, findings.json and letter.LANG.txt. */
int package_write(const char *dir, const struct owner_group *g, const struct package_ctx *c);
/* The owner's JSON document (findings.json; the index lists its counts). */
json_t *package_json(const struct owner_group *g, const struct package_ctx *c, bool findings);

#endif
