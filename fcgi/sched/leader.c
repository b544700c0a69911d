/* leader.c — advisory-lock leadership and LISTEN on a dedicated libpq connection. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sched/leader.h"
#include "core/common.h"

struct leader {
    PGconn *conn;
    char *conninfo, *app_name;
    int64_t key;
    char **channels;
    size_t nchannels;
    bool leading;
    int64_t last_try_us;
};

struct leader *leader_open(const char *conninfo, const char *app_name, int64_t key,
                           const char *const *channels, size_t nchannels)
{
    struct leader *l = xcalloc(1, sizeof(*l));
    l->conninfo = xstrdup(conninfo);
    l->app_name = xstrdup(app_name);
    l->key = key;
    l->channels = xcalloc(nchannels + 1, sizeof(*l->channels));
    for (size_t i = 0; i < nchannels; i++)
        l->channels[i] = xstrdup(channels[i]);
    l->nchannels = nchannels;
    return l;
}

static void disconnect(struct leader *l)
{
    if (l->conn)
        PQfinish(l->conn);
    l->conn = NULL;
    if (l->leading)
        log_warn("lost the leader lock");
    l->leading = false;
}

void leader_close(struct leader *l)
{
    if (!l)
        return;
    /* Closing the session releases the lock: the next leader need not wait. */
    l->leading = false;
    disconnect(l);
    for (size_t i = 0; i < l->nchannels; i++)
        free(l->channels[i]);
    free(l->channels);
    free(l->conninfo);
    free(l->app_name);
    free(l);
}

static bool exec_ok(struct leader *l, const char *sql)
{
    PGresult *r = PQexec(l->conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        log_warn("leader connection: %s failed: %s", sql, PQerrorMessage(l->conn));
    PQclear(r);
    return ok;
}

static bool connect_now(struct leader *l)
{
    /* Keepalives: a leader whose host vanished is noticed by the server within seconds, so
     * its lock is released; ours notices a dead server the same way. */
    const char *keys[] = {
        "dbname",          "application_name",    "connect_timeout",  "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", NULL};
    const char *vals[] = {l->conninfo, l->app_name, "5", "1", "5", "2", "3", NULL};

    l->conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(l->conn) != CONNECTION_OK) {
        log_warn("leader connection: %s", PQerrorMessage(l->conn));
        disconnect(l);
        return false;
    }
    for (size_t i = 0; i < l->nchannels; i++) {
        char *ident = PQescapeIdentifier(l->conn, l->channels[i], strlen(l->channels[i]));
        char sql[160];
        bool ok;
        if (!ident) {
            disconnect(l);
            return false;
        }
        snprintf(sql, sizeof(sql), "LISTEN %s", ident);
        PQfreemem(ident);
        ok = exec_ok(l, sql);
        if (!ok) {
            disconnect(l);
            return false;
        }
    }
    return true;
}

bool leader_check(struct leader *l, int64_t retry_ms)
{
    int64_t now = clock_mono_us();
    char key[24];
    const char *p[] = {key};
    PGresult *r;

    if (l->conn && PQstatus(l->conn) != CONNECTION_OK)
        disconnect(l);
    if (l->leading)
        return true;
    if (l->last_try_us && now - l->last_try_us < retry_ms * 1000)
        return false;
    l->last_try_us = now;
    if (!l->conn && !connect_now(l))
        return false;
    snprintf(key, sizeof(key), "%" PRId64, l->key);
    r = PQexecParams(l->conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_warn("leader connection: %s", PQerrorMessage(l->conn));
        PQclear(r);
        disconnect(l);
        return false;
    }
    l->leading = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (l->leading)
        log_info("took the leader lock");
    return l->leading;
}

int leader_fd(const struct leader *l)
{
    return l->conn ? PQsocket(l->conn) : -1;
}

int leader_drain(struct leader *l)
{
    PGnotify *n;
    int count = 0;

    if (!l->conn)
        return 0;
    if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
        log_warn("leader connection lost: %s", PQerrorMessage(l->conn));
        disconnect(l);
        return 0;
    }
    while ((n = PQnotifies(l->conn))) {
        count++;
        PQfreemem(n);
    }
    return count;
}
