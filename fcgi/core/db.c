/*
 * db.c — libpq with a per-connection prepared-statement cache.
 *
 * The cache maps statement text to a server-side statement name "c<N>".  It
 * is an open-addressing table that never deletes; when it fills up, further
 * new texts run unprepared (PQexecParams), which is still correct.
 *
 * Every statement goes out with libpq's asynchronous calls (PQsend*) and its
 * results are collected the way PQexec collects them; the only difference is
 * who waits for the server's answer: poll(2) here, or the wait hook a caller
 * installed (cube-api's lanes run another request meanwhile).
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/db.h"
#include "core/log.h"
#include "core/common.h"

/* A statement is prepared again after REPLAN_AFTER executions: a generic plan chosen while a
 * table was tiny (a sequential scan of project_user, say) must not outlive the table's growth,
 * and planning some of these queries costs milliseconds, so not every time either. */
enum { CACHE_SLOTS = 1024, CACHE_MAX = 768, REPLAN_AFTER = 500 };

struct stmt {
    char *sql;
    uint64_t hash;
    int id;
    int uses;
};

struct db {
    PGconn *conn;
    char *conninfo, *app_name;
    int64_t timeout_ms;
    struct stmt cache[CACHE_SLOTS];
    int ncached, next_id;
    bool in_tx;
    int depth; /* nested db_begin calls: only the outermost commits */
    db_wait_fn *wait;
    void *wait_arg;
    bool fresh;   /* no wait on this connection's socket yet */
    bool writing; /* the statement running may write (DB_WAIT_WRITE) */
    int sent;     /* db_send: 1 sent, -1 could not be sent, 0 nothing awaits db_result */
};

uint64_t db_error_count;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void cache_clear(struct db *db)
{
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(db->cache[i].sql);
        db->cache[i].sql = NULL;
    }
    db->ncached = 0;
}

/* Blocks until the server has sent something on the connection (or it failed). */
static void wait_input(struct db *db)
{
    int fd = PQsocket(db->conn);
    struct pollfd p = {fd, POLLIN, 0};

    if (fd < 0)
        return;
    if (db->wait) {
        unsigned flags = (db->fresh ? DB_WAIT_FRESH : 0) | (db->writing ? DB_WAIT_WRITE : 0);
        db->fresh = false;
        db->wait(db->wait_arg, fd, flags);
        return;
    }
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
}

/* After a PQsend* call: its results, collected as PQexec does (the last one; NULL when the
 * call could not be sent or nothing came back). */
static PGresult *collect(struct db *db, int sent)
{
    PGresult *last = NULL, *r;

    if (!sent)
        return NULL;
    for (;;) {
        ExecStatusType st;
        /* On a lost connection PQconsumeInput fails and PQgetResult reports why at once. */
        while (PQisBusy(db->conn)) {
            wait_input(db);
            if (!PQconsumeInput(db->conn))
                break;
        }
        r = PQgetResult(db->conn);
        if (!r)
            break;
        PQclear(last);
        last = r;
        st = PQresultStatus(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH ||
            PQstatus(db->conn) == CONNECTION_BAD)
            break;
    }
    return last;
}

/* PQexec, through collect(). */
static PGresult *exec_simple(struct db *db, const char *sql)
{
    return collect(db, PQsendQuery(db->conn, sql));
}

static bool session_setup(struct db *db, char *err, size_t errlen)
{
    char sql[256];
    PGresult *r;
    bool ok;

    /* Fixed search_path and timeouts: generated SQL never depends on the role's defaults.  No
     * JIT: Cube's statements run for milliseconds, and compiling one whose estimated cost
     * crosses jit_above_cost (a scan of thousands of active task instances) takes tens. */
    snprintf(sql, sizeof(sql),
             "SET search_path = public; SET statement_timeout = %lld; SET TIME ZONE 'UTC'; "
             "SET jit = off",
             (long long)db->timeout_ms);
    r = exec_simple(db, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errlen, "session setup failed: %s", PQerrorMessage(db->conn));
    PQclear(r);
    return ok;
}

/* Server NOTICEs ("relation already exists, skipping") are not errors: debug log only. */
static void on_notice(void *arg, const char *msg)
{
    (void)arg;
    log_debug("postgres: %.*s", (int)strcspn(msg, "\n"), msg);
}

static bool connect_now(struct db *db, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {db->conninfo, db->app_name, NULL};

    if (db->conn)
        PQfinish(db->conn);
    cache_clear(db);
    /* expand_dbname=1: the first value may be a full conninfo string or URI. */
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", PQerrorMessage(db->conn));
        return false;
    }
    PQsetNoticeProcessor(db->conn, on_notice, NULL);
    db->fresh = true;
    db->writing = false;
    return session_setup(db, err, errlen);
}

struct db *db_new(const char *conninfo, const char *app_name, int64_t timeout_ms)
{
    struct db *db = xcalloc(1, sizeof(*db));
    db->conninfo = xstrdup(conninfo);
    db->app_name = xstrdup(app_name);
    db->timeout_ms = timeout_ms;
    return db;
}

struct db *db_open(const char *conninfo, const char *app_name, int64_t timeout_ms, char *err,
                   size_t errlen)
{
    struct db *db = db_new(conninfo, app_name, timeout_ms);
    if (!connect_now(db, err, errlen)) {
        db_close(db);
        return NULL;
    }
    return db;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    cache_clear(db);
    if (db->conn)
        PQfinish(db->conn);
    free(db->conninfo);
    free(db->app_name);
    free(db);
}

bool db_ok(struct db *db)
{
    return db && db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

void db_set_wait(struct db *db, db_wait_fn *fn, void *arg)
{
    db->wait = fn;
    db->wait_arg = arg;
    db->fresh = true;
}

bool db_drain(struct db *db)
{
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return false;
    if (PQconsumeInput(db->conn))
        return true;
    /* EOF or an error: drop the socket now; the next query reconnects. */
    PQfinish(db->conn);
    db->conn = NULL;
    return false;
}

static void clear_result(void *p)
{
    PQclear(p);
}

static const char *dup_field(struct arena *a, const PGresult *r, int field)
{
    const char *v = PQresultErrorField(r, field);
    return v ? arena_strdup(a, v) : NULL;
}

/* Returns the cached statement name for sql, preparing it when new; NULL: run unprepared. */
static const char *prepared(struct db *db, const char *sql, int n, char *name, size_t namelen,
                            bool *failed)
{
    uint64_t h = fnv1a(sql);
    size_t i = h % CACHE_SLOTS;
    PGresult *r;
    struct stmt *s;
    char dealloc[48];

    *failed = false;
    for (;;) {
        s = &db->cache[i];
        if (!s->sql)
            break;
        if (s->hash == h && !strcmp(s->sql, sql)) {
            snprintf(name, namelen, "c%d", s->id);
            if (++s->uses < REPLAN_AFTER)
                return name;
            s->uses = 0;
            snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", name);
            PQclear(exec_simple(db, dealloc));
            r = collect(db, PQsendPrepare(db->conn, name, sql, n, NULL));
            if (PQresultStatus(r) == PGRES_COMMAND_OK) {
                PQclear(r);
                return name;
            }
            /* Could not prepare it again: try once more next time; meanwhile the unprepared
             * path runs it (and reports the error, if it is one). */
            PQclear(r);
            s->uses = REPLAN_AFTER - 1;
            *failed = true;
            return NULL;
        }
        i = (i + 1) % CACHE_SLOTS;
    }
    if (db->ncached >= CACHE_MAX)
        return NULL;
    snprintf(name, namelen, "c%d", db->next_id);
    r = collect(db, PQsendPrepare(db->conn, name, sql, n, NULL));
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        /* Let the unprepared path report the error with its fields. */
        PQclear(r);
        *failed = true;
        return NULL;
    }
    PQclear(r);
    s->sql = xstrdup(sql);
    s->hash = h;
    s->uses = 0;
    s->id = db->next_id++;
    db->ncached++;
    return name;
}

/* Whether sql may write: all but a plain SELECT (a data-modifying CTE starts with WITH). */
static bool may_write(const char *sql)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(')
        sql++;
    return strncasecmp(sql, "SELECT", 6) != 0;
}

/* Sends sql (prepared when it can be and `fresh` is not set); returns libpq's "sent" for
 * collect(). */
static int start(struct db *db, const char *sql, int n, const char *const *params, bool fresh)
{
    char name[32];
    bool failed;
    const char *stmt = NULL;

    db->writing = may_write(sql);
    if (!fresh)
        stmt = prepared(db, sql, n, name, sizeof(name), &failed);

    if (stmt)
        return PQsendQueryPrepared(db->conn, stmt, n, params, NULL, NULL, 0);
    return PQsendQueryParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
}

static PGresult *run(struct db *db, const char *sql, int n, const char *const *params, bool fresh)
{
    return collect(db, start(db, sql, n, params, fresh));
}

static void unavailable(struct db_error *e)
{
    db_error_count++;
    if (e) {
        memset(e, 0, sizeof(*e));
        memcpy(e->sqlstate, "08006", 6);
        e->message = "database unavailable";
    }
}

/* A statement's answer, kept by the arena: ERR_OK and *out, or the error, in *e if given. */
static enum err answer(struct db *db, struct arena *a, PGresult *r, struct pg_result **out,
                       struct db_error *e)
{
    ExecStatusType st;
    const char *state;
    enum err ret;

    arena_defer(a, clear_result, r);
    st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (out)
            *out = (struct pg_result *)r;
        return ERR_OK;
    }
    state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    ret = err_from_sqlstate(state);
    if (e) {
        memset(e, 0, sizeof(*e));
        if (state)
            snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", state);
        e->message = dup_field(a, r, PG_DIAG_MESSAGE_PRIMARY);
        e->detail = dup_field(a, r, PG_DIAG_MESSAGE_DETAIL);
        e->constraint = dup_field(a, r, PG_DIAG_CONSTRAINT_NAME);
        e->column = dup_field(a, r, PG_DIAG_COLUMN_NAME);
        if (!e->message)
            e->message = arena_strdup(a, PQerrorMessage(db->conn));
    }
    if (ret == ERR_DB || ret == ERR_UNAVAILABLE || ret == ERR_TIMEOUT) {
        db_error_count++;
        log_error("query failed (%s): %s", state ? state : "?",
                  r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
    }
    return ret;
}

static enum err query(struct db *db, struct arena *a, const char *sql, int n,
                      const char *const *params, struct pg_result **out, struct db_error *e,
                      bool fresh)
{
    PGresult *r;
    char err[256];

    if (out)
        *out = NULL;
    if (db->sent) {
        log_error("db_query while a sent statement awaits db_result");
        return ERR_INTERNAL;
    }
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        if (db->in_tx || !connect_now(db, err, sizeof(err))) {
            log_error("%s", err);
            unavailable(e);
            return ERR_UNAVAILABLE;
        }
    }
    r = run(db, sql, n, params, fresh);
    /* The server went away between two requests: reconnect once and retry (no transaction is open).
     */
    if (PQstatus(db->conn) == CONNECTION_BAD && !db->in_tx) {
        PQclear(r);
        log_warn("database connection lost; reconnecting");
        if (!connect_now(db, err, sizeof(err))) {
            log_error("%s", err);
            unavailable(e);
            return ERR_UNAVAILABLE;
        }
        r = run(db, sql, n, params, fresh);
    }
    return answer(db, a, r, out, e);
}

enum err db_query(struct db *db, struct arena *a, const char *sql, int n, const char *const *params,
                  struct pg_result **out, struct db_error *e)
{
    return query(db, a, sql, n, params, out, e, false);
}

enum err db_query_fresh(struct db *db, struct arena *a, const char *sql, int n,
                        const char *const *params, struct pg_result **out, struct db_error *e)
{
    return query(db, a, sql, n, params, out, e, true);
}

enum err db_send(struct db *db, const char *sql, int n, const char *const *params)
{
    if (db->sent || !db->in_tx) {
        log_error("db_send outside a transaction or before the last db_result");
        return ERR_INTERNAL;
    }
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return ERR_UNAVAILABLE;
    db->sent = start(db, sql, n, params, false) ? 1 : -1;
    return ERR_OK;
}

enum err db_result(struct db *db, struct arena *a, struct pg_result **out, struct db_error *e)
{
    int sent = db->sent;

    if (out)
        *out = NULL;
    if (!sent) {
        log_error("db_result without db_send");
        return ERR_INTERNAL;
    }
    db->sent = 0;
    return answer(db, a, collect(db, sent > 0), out, e);
}

enum err db_script(struct db *db, const char *sql, char *err, size_t errlen)
{
    PGresult *r = exec_simple(db, sql);
    ExecStatusType st = PQresultStatus(r);
    enum err ret = ERR_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
        ret = ERR_DB;
    }
    PQclear(r);
    /* Anything the script created as a prepared statement is not ours to cache. */
    return ret;
}

static enum err simple(struct db *db, const char *sql)
{
    char err[512];

    if (db->sent) { /* a failure left a sent statement unread: its answer is moot now */
        PQclear(collect(db, db->sent > 0));
        db->sent = 0;
    }
    db->writing = true; /* BEGIN, COMMIT, ROLLBACK: a COMMIT waits for the WAL flush */
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        if (db->in_tx || !connect_now(db, err, sizeof(err)))
            return ERR_UNAVAILABLE;
    }
    if (db_script(db, sql, err, sizeof(err))) {
        log_error("%s failed: %s", sql, err);
        return PQstatus(db->conn) == CONNECTION_OK ? ERR_DB : ERR_UNAVAILABLE;
    }
    return ERR_OK;
}

enum err db_begin(struct db *db)
{
    enum err e;
    if (db->in_tx) {
        db->depth++;
        return ERR_OK;
    }
    e = simple(db, "BEGIN");
    db->in_tx = !e;
    db->depth = 0;
    return e;
}

enum err db_commit(struct db *db)
{
    enum err e;
    if (!db->in_tx)
        return ERR_INTERNAL;
    if (db->depth > 0) {
        db->depth--;
        return ERR_OK;
    }
    e = simple(db, "COMMIT");
    db->in_tx = false;
    return e;
}

/* Rolls back the whole transaction, however deep: an inner failure fails the outer work. */
void db_rollback(struct db *db)
{
    if (db->in_tx && db->conn && PQstatus(db->conn) == CONNECTION_OK && simple(db, "ROLLBACK"))
        log_warn("rollback failed");
    db->in_tx = false;
    db->depth = 0;
}

bool db_in_tx(const struct db *db)
{
    return db->in_tx;
}

int db_rows(const struct pg_result *r)
{
    return PQntuples((const PGresult *)r);
}

int db_cols(const struct pg_result *r)
{
    return PQnfields((const PGresult *)r);
}

const char *db_val(const struct pg_result *r, int row, int col)
{
    const PGresult *p = (const PGresult *)r;
    return PQgetisnull(p, row, col) ? NULL : PQgetvalue(p, row, col);
}

size_t db_len(const struct pg_result *r, int row, int col)
{
    return (size_t)PQgetlength((const PGresult *)r, row, col);
}

int64_t db_i64(const struct pg_result *r, int row, int col)
{
    const char *v = db_val(r, row, col);
    int64_t n = 0;
    if (v && !parse_i64(v, INT64_MIN, INT64_MAX, &n))
        n = 0;
    return n;
}

int64_t *db_col_i64(struct arena *a, const struct pg_result *r, int col, size_t *n)
{
    int64_t *v;
    *n = (size_t)db_rows(r);
    v = arena_alloc(a, (*n ? *n : 1) * sizeof(*v));
    for (size_t i = 0; i < *n; i++)
        v[i] = db_i64(r, (int)i, col);
    return v;
}

const char *db_colname(const struct pg_result *r, int col)
{
    return PQfname((const PGresult *)r, col);
}

unsigned db_type(const struct pg_result *r, int col)
{
    return (unsigned)PQftype((const PGresult *)r, col);
}
