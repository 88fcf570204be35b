/* stixpat — the STIX 2.1 patterning language (STIX 2.1 §9): validation and
 * the values an indicator names.
 *
 * A recursive-descent parser over the spec's grammar (the OASIS ANTLR
 * grammar STIXPattern.g4): observation expressions in [...] joined by AND,
 * OR and FOLLOWEDBY (lowest), with WITHIN / REPEATS / START..STOP
 * qualifiers; comparison expressions joined by AND / OR, each an object path
 * (type:prop, .prop, .'quoted key', [n], [*]) with an operator (=, !=, <, >,
 * <=, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET, each optionally NOT) and a
 * literal, or EXISTS path.  It builds no tree: it validates as it goes and
 * keeps only the "equals" values (path = 'string', path IN ('a', ...), not
 * negated) on the paths mamori turns into indicators.  Recursion depth,
 * pattern length and the number of values are bounded, so hostile input
 * costs at most STIXPAT_MAX_LEN steps and a fixed stack. */
#ifndef MAMORI_STIXPAT_H
#define MAMORI_STIXPAT_H

#include <stddef.h>

#define STIXPAT_MAX_LEN 65536  /* bytes of pattern */
#define STIXPAT_MAX_DEPTH 64   /* nested brackets / parentheses */
#define STIXPAT_MAX_VALUES 256 /* values kept (more are validated, not kept) */

/* One value an indicator names: kind is the SCO type (ipv4-addr, ipv6-addr,
 * url, domain-name, file); for file, algo is "sha256", "sha1" or "md5". */
struct stixpat_value {
    const char *kind, *algo;
    char *value; /* decoded string literal (escapes undone), malloc'd */
};

struct stixpat {
    struct stixpat_value *v;
    size_t n;
    size_t dropped; /* equals values past STIXPAT_MAX_VALUES */
};

/* Validates the whole pattern and extracts its values into out (freed with
 * stixpat_free, also on error): 0, or -EINVAL with "at byte N: problem" in
 * msg (cap bytes), or -ENOMEM. */
int stixpat_parse(const char *pattern, struct stixpat *out, char *msg, size_t cap);
void stixpat_free(struct stixpat *p);

#endif
