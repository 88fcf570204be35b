/* text — walking line-oriented text (config and data files) without copying it. */
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

#endif
