/*
 * db.h — the PostgreSQL connection of a process (libpq), as an opaque handle.
 *
 * Values only ever travel as parameters.  Every statement text is prepared
 * once per connection and cached by its text, so the generated CRUD SQL pays
 * for parsing and planning only the first time a worker sees it.  A lost
 * connection is re-established once, transparently, outside transactions.
 * Results are released by the arena they were fetched into.
 */
#ifndef CUBE_DB_H
#define CUBE_DB_H

#include <stdbool.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/err.h"
#include "core/attr.h"

struct db;
struct pg_result; /* libpq's PGresult */

/* PostgreSQL's error fields, copied into the arena. */
struct db_error {
    char sqlstate[6];
    const char *message;
    const char *detail;
    const char *constraint;
    const char *column;
};

/* A handle that connects at its first query (and reconnects after losing the server). */
struct db *db_new(const char *conninfo, const char *app_name, int64_t timeout_ms);
/* Connects now; NULL and a message when the server cannot be reached. */
struct db *db_open(const char *conninfo, const char *app_name, int64_t timeout_ms, char *err,
                   size_t errlen);
void db_close(struct db *db);
bool db_ok(struct db *db);

/* Who waits while a statement runs.  By default db_query() blocks in poll(2) until the server
 * answers; with a hook, it calls fn(arg, fd, flags) instead whenever it needs input on the
 * connection's socket fd, and fn returns once fd is readable (or may return early: the caller
 * checks again).  The hook must not run queries on this handle. */
enum db_wait_flag {
    /* fd belongs to a connection the hook has not been called for (the first wait, or the
     * first after a reconnect): watch it anew even when the number is the same. */
    DB_WAIT_FRESH = 1 << 0,
    /* The statement may write (anything but a plain SELECT, and COMMIT): its answer waits for
     * the WAL flush, so the wait is mostly the disk's, not the server's CPU. */
    DB_WAIT_WRITE = 1 << 1,
};
typedef void db_wait_fn(void *arg, int fd, unsigned flags);
void db_set_wait(struct db *db, db_wait_fn *fn, void *arg);
/* For a handle with no query running whose socket became readable (a notice, or the server
 * closing it): reads what arrived.  false: the connection is gone and its socket closed (the
 * next query reconnects), or there is none. */
bool db_drain(struct db *db);

/* Runs sql with n text parameters (NULL entries are SQL NULL). On failure fills *e (if given). */
enum err db_query(struct db *db, struct arena *a, const char *sql, int n, const char *const *params,
                  struct pg_result **out, struct db_error *e) WARN_UNUSED;
/* db_query planned afresh at every execution (an unnamed statement, never cached).  A cached
 * plan is made for the table sizes of its first execution: for a query over rows whose number
 * swings by orders of magnitude between two executions (the pending task instances before and
 * after a burst of ten thousand runs), a plan made for a few rows walks them all once per row
 * when there are thousands.  Planning costs a fraction of a millisecond; re-planning such a
 * query too late costs seconds (PostgreSQL re-plans only after an ANALYZE). */
enum err db_query_fresh(struct db *db, struct arena *a, const char *sql, int n,
                        const char *const *params, struct pg_result **out,
                        struct db_error *e) WARN_UNUSED;
/* The same in two halves, so the caller works while the server runs the statement: db_send
 * returns once it is sent, db_result waits for its answer.  Inside a transaction only (no
 * reconnect can hide between them), one statement at a time, and no db_query between them. */
enum err db_send(struct db *db, const char *sql, int n, const char *const *params) WARN_UNUSED;
enum err db_result(struct db *db, struct arena *a, struct pg_result **out,
                   struct db_error *e) WARN_UNUSED;
/* A script of several statements (migrations); no parameters, no caching. */
enum err db_script(struct db *db, const char *sql, char *err, size_t errlen) WARN_UNUSED;

/* Transactions: inside one, a lost connection is an error, never a silent reconnect.  Calls
 * nest: only the outermost begin/commit pair talks to the server; a rollback at any depth
 * rolls back everything, and the outer commit then fails (ERR_INTERNAL). */
enum err db_begin(struct db *db) WARN_UNUSED;
enum err db_commit(struct db *db) WARN_UNUSED;
void db_rollback(struct db *db);
bool db_in_tx(const struct db *db);

int db_rows(const struct pg_result *r);
int db_cols(const struct pg_result *r);
const char *db_val(const struct pg_result *r, int row, int col); /* NULL for SQL NULL */
size_t db_len(const struct pg_result *r, int row, int col);
int64_t db_i64(const struct pg_result *r, int row, int col);
/* Column col of every row as integers, in the arena (never NULL); *n gets the row count. */
int64_t *db_col_i64(struct arena *a, const struct pg_result *r, int col,
                    size_t *n); /* 0 for NULL */
const char *db_colname(const struct pg_result *r, int col);
/* The PostgreSQL type oid of a result column (pg_type.oid: 16 boolean, 25 text, ...). */
unsigned db_type(const struct pg_result *r, int col);

/* Counters for /api/metrics. */
extern uint64_t db_error_count;

#endif
