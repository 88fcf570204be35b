/* testbed_int — what the command's files share (testbed.c, cmds.c). */
#ifndef MAMORI_TESTBED_INT_H
#define MAMORI_TESTBED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { UP = 1, DOWN = 2, STATUS = 4, FIX = 8, ALL = 15 };

struct args {
    const char *spec, *name, *range, *dir;
    uint64_t devices, seed;
    bool have_devices, fg, json, nossh;
    char **rest;
    int nrest;
};

int tb_state_dir(const struct args *a, bool make, char *out, size_t n);
int tb_down(const struct args *a);
int tb_status(const struct args *a);
int tb_fix(const struct args *a);

#endif
