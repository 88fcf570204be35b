/* truth — truth.json from a spec (the survey's shared format, see truth.c). */
#ifndef MAMORI_TESTBED_TRUTH_H
#define MAMORI_TESTBED_TRUTH_H

#include "spec.h"

#include <jansson.h>

json_t *tb_truth_json(const struct tb_spec *s, const char *name, const char *mac, const char *dir);
int tb_truth_write(const char *path, const struct tb_spec *s, const char *name, const char *mac,
                   const char *dir);

/* The owner table as CSV (header prefix,isp,asn,abuse; RFC 4180 quoting). */
int tb_owners_csv(const char *path, const struct tb_spec *s);

#endif
