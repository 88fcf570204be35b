/* text — reading data files (see text.h). */
#include "text.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *text_load(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(-errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 2);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad || n > max) {
        free(buf);
        if (!buf)
            err_set(-ENOMEM, "%s: out of memory", path);
        else if (bad)
            err_set(-EIO, "%s: read error", path);
        else
            err_set(-EFBIG, "%s: larger than %zu bytes", path, max);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int text_csv_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p;
            f[n++] = w;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            *w = 0;
            if (*p == ',')
                p++;
            else if (*p && *p != '\n' && *p != '\r')
                return -1;
        } else {
            f[n++] = p;
            p += strcspn(p, ",\r\n");
            char c = *p;
            *p = 0;
            if (c == ',')
                p++;
            else
                break;
        }
        if (!*p || *p == '\n' || *p == '\r') break;
    }
    return n;
}

