/* persona — the device a honeypot pretends to be, loaded from a data file.
 *
 * A persona is text (data/personas/NAME.persona): "key: value" lines, values
 * in double quotes take C escapes, "key: <<END" starts a here-document, and
 * "file PATH: <<END" gives a file of the read-only tree.  The BusyBox binary
 * itself is not shipped: its ELF header is generated from `arch`, because
 * Mirai-family loaders read /bin/echo only to learn byte order and machine.
 * Every applet appears as /bin/APPLET with the busybox bytes, as on a device. */
#ifndef MAMORI_LURE_PERSONA_H
#define MAMORI_LURE_PERSONA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct persona_file {
    char *path;
    uint8_t *data;
    size_t len;
};

struct persona {
    char *name, *description, *hostname, *arch;
    char *banner, *login_prompt, *password_prompt, *prompt, *motd;
    char *busybox; /* "BusyBox v1.19.4 (2013-03-22 12:07:52 CST) multi-call binary." */
    char *uname_s, *uname_r, *uname_v, *uname_m;
    char *ps;
    char **applets; /* sorted */
    size_t n_applets;
    char **programs; /* executables that are not BusyBox applets (curl), in /usr/bin */
    size_t n_programs;
    struct persona_file *files; /* sorted by path; includes /bin/busybox */
    size_t n_files;
    char **dirs; /* sorted; every parent of a file is listed */
    size_t n_dirs;
    char **rw; /* mount points of rw mounts in /proc/mounts, plus /dev */
    size_t n_rw;
    const uint8_t *elf; /* = the /bin/busybox file */
    size_t elf_len;
};

/* Parses persona text; name is used in messages ("NAME:LINE: problem"). */
struct persona *persona_parse(const char *text, size_t len, const char *name);
/* NAME (looked up as personas/NAME.persona with cli_data_file) or a path
 * to a .persona file. */
struct persona *persona_load(const char *name_or_path);
void persona_free(struct persona *p);

bool persona_has_applet(const struct persona *p, const char *name);
bool persona_has_program(const struct persona *p, const char *name);
const struct persona_file *persona_file(const struct persona *p, const char *path);
bool persona_is_dir(const struct persona *p, const char *path);
/* True when path lies on a writable mount. */
bool persona_writable(const struct persona *p, const char *path);
/* Names of the bundled personas, NULL-terminated. */
extern const char *const persona_builtin[];

#endif
