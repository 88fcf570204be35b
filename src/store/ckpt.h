/* ckpt — WAL checkpoints on a thread of their own.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that passes 1000 WAL
 * pages: the committing thread copies the WAL into the database and fsyncs
 * it.  For observe that thread is the writer, and at 10M packets the copies,
 * reads and fsyncs of its ~170 MiB cost it a fifth of its CPU, and the last
 * commit (the hour's packed events) waited for a checkpoint of the whole WAL.
 * ckpt_start() turns the automatic checkpoint off on the writing connection
 * and runs the same PASSIVE checkpoints, at the same threshold, from a thread
 * with its own connection: commits only append to the WAL.  Durability is
 * unchanged (a COMMIT is in the WAL before it returns; synchronous=NORMAL
 * keeps it across a process kill), readers still see every commit (the WAL is
 * part of the database), and a passive checkpoint never blocks the writer.
 * ckpt_stop() lets a checkpoint under way finish (it overlaps the command's
 * last small writes and frees), then the connection's close checkpoints what is
 * left, so the file is whole again when the command exits. */
#ifndef MAMORI_CKPT_H
#define MAMORI_CKPT_H

#include <sqlite3.h>

struct ckpt;

/* Opens a second connection on path (before any sandbox: it opens the WAL
 * and its index now) and takes over db's checkpoints; NULL with err_set(). */
struct ckpt *ckpt_start(sqlite3 *db, const char *path);
/* Waits for a checkpoint under way, stops the thread and gives db back its
 * automatic checkpoint; NULL is a no-op. */
void ckpt_stop(struct ckpt *c);

#endif
