/* text — walking line-oriented text (config and data files) without copying it,
 * reading such files whole and bounded, and splitting CSV lines. */
#ifndef MAMORI_TEXT_H
#define MAMORI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The next line at *pos (without its newline and trailing blanks or CR);
 * advances *pos and *lineno.  False at the end of the text. */
static inline bool text_line(const char *text, size_t len, size_t *pos, int *lineno,
                             const char **line, size_t *n)
{
    if (*pos >= len) return false;
    const char *l = text + *pos, *nl = memchr(l, '\n', len - *pos);
    size_t ll = nl ? (size_t)(nl - l) : len - *pos;
    *pos += ll + (nl ? 1 : 0);
    (*lineno)++;
    while (ll && (l[ll - 1] == '\r' || l[ll - 1] == ' ' || l[ll - 1] == '\t'))
        ll--;
    *line = l;
    *n = ll;
    return true;
}

/* The whole file at path, NUL-terminated (free it), its length in *len; NULL
 * with err_set() ("PATH: problem") when it cannot be read or is over max bytes. */
char *text_load(const char *path, size_t max, size_t *len);
/* Splits one CSV line in place into at most max fields (RFC 4180 quoting:
 * "quoted, ""names"""); the number of fields, or -1 for a broken quote. */
int text_csv_fields(char *line, char **f, int max);

#endif
