/* letter — a notice letter from an editable template.
 *
 * A template is plain text with {{name}} placeholders, one file per language
 * (data/notify/letter.en.txt, letter.ja.txt; `--templates DIR` for a site's
 * own wording).  A placeholder the caller does not define is an error naming
 * the file and line, at load time, so a typo never reaches an ISP; `{{{{`
 * writes a literal `{{`.  Values are inserted as they are: the caller makes
 * them (addresses, counts, dates, lists it formats), never outside text. */
#ifndef MAMORI_NOTIFY_LETTER_H
#define MAMORI_NOTIFY_LETTER_H

#include <stddef.h>
#include <stdio.h>

struct letter_var {
    const char *name, *value;
};

struct letter;

/* Checks every placeholder against names (n of them); NULL with err_set(). */
struct letter *letter_parse(const char *text, size_t len, const char *name,
                            const char *const *names, size_t n);
struct letter *letter_load(const char *path, const char *const *names, size_t n);
/* Writes the letter with vars filled in (a name missing from vars writes ""). */
int letter_write(const struct letter *l, const struct letter_var *vars, size_t n, FILE *out);
void letter_free(struct letter *l);

#endif
