/* userdb — which logins the honeypot accepts, in Cowrie's userdb.txt format.
 *
 * One rule a line, "user:x:password".  Either field may be `*` (anything) or
 * /regex/ (POSIX extended, searched like Cowrie's re.search; /regex/i ignores
 * case); a password starting with `!` makes the rule a denial.  The first rule
 * whose user and password both match decides; no match denies. */
#ifndef MAMORI_LURE_USERDB_H
#define MAMORI_LURE_USERDB_H

#include <stdbool.h>
#include <stddef.h>

struct userdb;

/* name is used in messages ("NAME:LINE: problem"). */
struct userdb *userdb_parse(const char *text, size_t len, const char *name);
struct userdb *userdb_load(const char *path);
bool userdb_check(const struct userdb *db, const char *user, const char *password);
size_t userdb_rules(const struct userdb *db);
void userdb_free(struct userdb *db);

#endif
