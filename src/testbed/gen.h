/* gen — a spec generated from (devices, seed, range): see gen.c for the mix. */
#ifndef MAMORI_TESTBED_GEN_H
#define MAMORI_TESTBED_GEN_H

#include "spec.h"

#include <stdbool.h>
#include <stdint.h>

/* NULL with err_set() when n does not fit the range or the data is missing.
 * ssh: whether SSH devices are part of the mix. */
struct tb_spec *gen_spec(uint32_t net, int len, unsigned n, uint64_t seed, bool ssh);

#endif
