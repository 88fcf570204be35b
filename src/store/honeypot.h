/* honeypot — lure's sessions and indicators in the database (schema v2).
 *
 * Sessions, their logins, commands and downloads as Cowrie reports them,
 * and indicators with first/last seen and a count per (type, value).  Rows
 * go into one open transaction that honeypot_db_commit() ends: the honeypot
 * commits at least once a second, so a crash loses at most that second.  A
 * commit that finds the database busy keeps the rows in the transaction for
 * the next one. */
#ifndef MAMORI_HONEYPOT_H
#define MAMORI_HONEYPOT_H

#include "record.h"

struct store;
struct honeypot_db;

struct honeypot_db *honeypot_db_open(struct store *s);
int honeypot_db_session(struct honeypot_db *h, const struct session_rec *r);
int honeypot_db_indicator(struct honeypot_db *h, const struct indicator_rec *r);
int honeypot_db_commit(struct honeypot_db *h);
/* Commits what is pending and releases h. */
void honeypot_db_close(struct honeypot_db *h);

#endif
