/*
 * state.c — compare-and-set transitions of runs and task instances, each one
 * data-modifying statement: lock + check, update, audit, attempt row, outbox.
 *
 * Why one statement: a transition and its consequences must never be seen
 * apart (scheduling.md §3.4 rule 3), and a single statement is atomic even
 * when the caller has no transaction open.  It also keeps a fan-out of a
 * thousand tasks to a handful of round trips.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "sched/policy.h"
#include "sched/state.h"
#include "core/common.h"

/* $1 run id, $2 from[], $3 to, $4 reason, $5 now, $6 actor */
#define RUN_CAS_ALERT STATE_OUTBOX_INSERT("upd u", "$3", "u.from_state", "$4", "$5::timestamptz")
static const char RUN_CAS_SQL[] =
    "WITH old AS (SELECT id, state FROM run WHERE id = $1::bigint AND state = ANY($2::text[]) "
    "FOR UPDATE), "
    "upd AS (UPDATE run r SET state = $3, reason = $4, "
    "started_at = CASE WHEN $3 = 'running' THEN $5::timestamptz WHEN $3 = 'queued' THEN NULL "
    "ELSE r.started_at END, "
    "finished_at = CASE WHEN $3 IN ('succeeded', 'failed', 'cancelled', 'skipped') "
    "THEN $5::timestamptz ELSE NULL END, "
    "queued_at = CASE WHEN $3 = 'queued' THEN $5::timestamptz ELSE r.queued_at END, "
    "cancel_requested = CASE WHEN $3 = 'cancelling' THEN true WHEN $3 = 'queued' THEN false "
    "ELSE r.cancel_requested END "
    "FROM old WHERE r.id = old.id AND r.state = old.state "
    "RETURNING r.id, old.state AS from_state, r.alert_status), "
    "sc AS (INSERT INTO state_change (entity, entity_id, from_state, to_state, reason, actor, at) "
    "SELECT 'run', id, from_state, $3, $4, $6, $5::timestamptz FROM upd), "
    "ob AS (" RUN_CAS_ALERT " ON CONFLICT (run_id, kind, state) DO NOTHING RETURNING id) "
    "SELECT id, (SELECT pg_notify('cube_watch', '') FROM ob LIMIT 1) FROM upd";

/*
 * $1 ids[], $2 from[], $3 to, $4 reason, $5 now, $6 actor, $7 tries[] (aligned with ids; NULL
 * or a NULL entry: any), $8 try delta, $9 refresh_tries, $10 exit code, $11 peak rss,
 * $12 cpu seconds, $13 next retry.  Attempt rows: a new try inserts one (or revives it after a
 * give-back); leaving submitting/running closes the current one.
 */
static const char TASK_CAS_SQL[] =
    "WITH old AS (SELECT t.id, t.state, t.try_number FROM task_instance t "
    "JOIN unnest($1::bigint[], $7::int[]) AS k(id, try) ON k.id = t.id "
    "WHERE t.state = ANY($2::text[]) AND (k.try IS NULL OR t.try_number = k.try) "
    "ORDER BY t.id FOR UPDATE OF t), "
    "upd AS (UPDATE task_instance t SET state = $3, reason = $4, "
    "try_number = t.try_number + $8::int, "
    "external_name = CASE WHEN $8::int > 0 THEN 'cube-r' || t.run_id || '-t' || t.id || '-a' || "
    "(t.try_number + $8::int) ELSE t.external_name END, "
    "max_tries = CASE WHEN $9::boolean THEN t.try_number + 1 + t.retries ELSE t.max_tries END, "
    "scheduled_at = CASE WHEN $3 = 'scheduled' THEN $5::timestamptz ELSE t.scheduled_at END, "
    "started_at = CASE WHEN $3 = 'running' THEN $5::timestamptz "
    "WHEN $3 IN ('pending', 'scheduled', 'submitting') THEN NULL ELSE t.started_at END, "
    "heartbeat_at = CASE WHEN $3 IN ('submitting', 'running') THEN $5::timestamptz "
    "ELSE t.heartbeat_at END, "
    "finished_at = CASE WHEN $3 IN ('succeeded', 'failed', 'upstream_failed', 'skipped', "
    "'cancelled', 'up_for_retry') THEN $5::timestamptz ELSE NULL END, "
    "exit_code = CASE WHEN $3 IN ('pending', 'scheduled', 'submitting') THEN NULL "
    "ELSE coalesce($10::int, t.exit_code) END, "
    "peak_rss_kb = CASE WHEN $3 IN ('pending', 'submitting') THEN NULL "
    "ELSE coalesce($11::bigint, t.peak_rss_kb) END, "
    "cpu_seconds = CASE WHEN $3 IN ('pending', 'submitting') THEN NULL "
    "ELSE coalesce($12::float8, t.cpu_seconds) END, "
    "next_retry_at = CASE WHEN $3 = 'up_for_retry' THEN $13::timestamptz ELSE NULL END "
    "FROM old WHERE t.id = old.id AND t.state = old.state "
    "RETURNING t.id, old.state AS from_state, t.try_number, t.external_name, t.run_id, "
    "t.started_at, t.max_tries), "
    "sc AS (INSERT INTO state_change (entity, entity_id, from_state, to_state, reason, actor, at) "
    "SELECT 'task_instance', id, from_state, $3, $4, $6, $5::timestamptz FROM upd), "
    "ains AS (INSERT INTO task_attempt (task_instance_id, try_number, external_name, state) "
    "SELECT id, try_number, external_name, 'submitting' FROM upd WHERE $8::int > 0 "
    "ON CONFLICT (task_instance_id, try_number) DO UPDATE SET state = 'submitting', "
    "exit_code = NULL, reason = '', started_at = NULL, finished_at = NULL), "
    "aupd AS (UPDATE task_attempt a SET state = CASE $3 WHEN 'up_for_retry' THEN 'failed' "
    "WHEN 'scheduled' THEN 'requeued' ELSE $3 END, reason = $4, "
    "exit_code = coalesce($10::int, a.exit_code), "
    "peak_rss_kb = coalesce($11::bigint, a.peak_rss_kb), "
    "cpu_seconds = coalesce($12::float8, a.cpu_seconds), "
    "started_at = CASE WHEN $3 = 'running' THEN u.started_at ELSE a.started_at END, "
    "finished_at = CASE WHEN $3 IN ('running') THEN NULL ELSE $5::timestamptz END "
    "FROM upd u WHERE $8::int <= 0 AND u.from_state IN ('submitting', 'running') "
    "AND a.task_instance_id = u.id AND a.try_number = u.try_number - $8::int) "
    "SELECT id, from_state, try_number, external_name, run_id, max_tries FROM upd ORDER BY id";

const char *state_array(struct arena *a, const char *const *v, size_t n)
{
    struct buf b;
    buf_init(&b, a, 1 << 16);
    buf_addc(&b, '{');
    for (size_t i = 0; i < n; i++)
        buf_addf(&b, "%s\"%s\"", i ? "," : "", v[i]);
    buf_addc(&b, '}');
    ASSERT(!buf_err(&b));
    return buf_str(&b);
}

void state_array_elem(struct buf *b, const char *v)
{
    if (b->len > 1)
        buf_addc(b, ',');
    if (!v) {
        buf_adds(b, "NULL");
        return;
    }
    buf_addc(b, '"');
    /* Runs between the characters to escape: a snapshot is kilobytes of JSON. */
    while (*v) {
        size_t k = strcspn(v, "\"\\");
        buf_add(b, v, k);
        v += k;
        if (*v) {
            buf_addc(b, '\\');
            buf_addc(b, *v++);
        }
    }
    buf_addc(b, '"');
}

const char *state_ids(struct arena *a, const int64_t *ids, size_t n)
{
    struct buf b;
    buf_init(&b, a, SIZE_MAX / 2);
    buf_addc(&b, '{');
    for (size_t i = 0; i < n; i++)
        buf_addf(&b, "%s%" PRId64, i ? "," : "", ids[i]);
    buf_addc(&b, '}');
    ASSERT(!buf_err(&b));
    return buf_str(&b);
}

const char *state_ts(struct arena *a, int64_t us)
{
    time_t s = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    int64_t frac = us - (int64_t)s * 1000000;
    struct tm tm;
    char day[32];

    gmtime_r(&s, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
    return arena_printf(a, "%s.%06" PRId64 "+00", day, frac);
}

bool state_is_terminal_run(const char *s)
{
    return !strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "cancelled") ||
           !strcmp(s, "skipped");
}

bool state_is_terminal_task(const char *s)
{
    return !strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "upstream_failed") ||
           !strcmp(s, "skipped") || !strcmp(s, "cancelled");
}

enum err state_run_cas(struct db *db, struct arena *a, int64_t now_us, int64_t run_id,
                       const char *const *from, size_t nfrom, const char *to, const char *reason,
                       const char *actor, bool *changed)
{
    const char *p[6];
    struct pg_result *r;
    enum err e;

    *changed = false;
    p[0] = arena_printf(a, "%" PRId64, run_id);
    p[1] = state_array(a, from, nfrom);
    p[2] = to;
    p[3] = reason ? reason : "";
    p[4] = state_ts(a, now_us);
    p[5] = actor;
    if ((e = db_query(db, a, RUN_CAS_SQL, 6, p, &r, NULL)))
        return e;
    *changed = db_rows(r) > 0;
    return ERR_OK;
}

enum err state_tasks_cas(struct db *db, struct arena *a, int64_t now_us, const int64_t *ids,
                         size_t n, const char *const *from, size_t nfrom, const char *to,
                         const int *tries, const char *reason, const char *actor,
                         const struct state_task_set *set, size_t *nchanged,
                         struct pg_result **rows)
{
    static const struct state_task_set none = STATE_TASK_SET_INIT;
    const char *p[13];
    struct pg_result *r;
    enum err e;

    if (nchanged)
        *nchanged = 0;
    if (rows)
        *rows = NULL;
    if (!n)
        return ERR_OK;
    if (!set)
        set = &none;
    p[0] = state_ids(a, ids, n);
    p[1] = state_array(a, from, nfrom);
    p[2] = to;
    p[3] = reason ? reason : "";
    p[4] = state_ts(a, now_us);
    p[5] = actor;
    p[6] = NULL;
    if (tries) {
        struct buf b;
        buf_init(&b, a, SIZE_MAX / 2);
        buf_addc(&b, '{');
        for (size_t i = 0; i < n; i++)
            buf_addf(&b, "%s%d", i ? "," : "", tries[i]);
        buf_addc(&b, '}');
        ASSERT(!buf_err(&b));
        p[6] = buf_str(&b);
    }
    p[7] = arena_printf(a, "%d", set->try_delta);
    p[8] = set->refresh_tries ? "true" : "false";
    p[9] = set->has_exit ? arena_printf(a, "%d", set->exit_code) : NULL;
    p[10] = set->peak_rss_kb >= 0 ? arena_printf(a, "%" PRId64, set->peak_rss_kb) : NULL;
    p[11] = set->cpu_seconds >= 0 ? arena_printf(a, "%.3f", set->cpu_seconds) : NULL;
    p[12] = set->next_retry_us ? state_ts(a, set->next_retry_us) : NULL;
    if ((e = db_query(db, a, TASK_CAS_SQL, 13, p, &r, NULL)))
        return e;
    if (nchanged)
        *nchanged = (size_t)db_rows(r);
    if (rows)
        *rows = r;
    return ERR_OK;
}

enum err state_task_fail(struct db *db, struct arena *a, int64_t now_us, int64_t ti_id,
                         const char *const *from, size_t nfrom, int try_number, int max_tries,
                         int retries, bool retryable, const char *reason, const char *actor,
                         const struct state_task_set *set, bool *changed)
{
    struct state_task_set s = STATE_TASK_SET_INIT;
    bool retry = retryable && try_number < max_tries;
    /* The try's place in the current budget: a re-run starts the backoff over. */
    int nth = retries + 1 - (max_tries - try_number);
    size_t n = 0;
    enum err e;

    if (set)
        s = *set;
    if (retry)
        s.next_retry_us = now_us + policy_retry_delay_s(nth) * 1000000;
    e = state_tasks_cas(db, a, now_us, &ti_id, 1, from, nfrom, retry ? "up_for_retry" : "failed",
                        &try_number, reason, actor, &s, &n, NULL);
    *changed = n > 0;
    return e;
}

void state_failpoint(const char *point)
{
    static const char *armed;
    static bool read;

    if (!read) {
        armed = getenv("CUBE_FAILPOINT");
        read = true;
    }
    if (armed && !strcmp(armed, point)) {
        log_warn("failpoint %s: SIGKILL", point);
        raise(SIGKILL);
    }
}

enum err state_notify(struct db *db, struct arena *a, const char *channel)
{
    const char *p[] = {channel};
    return db_query(db, a, "SELECT pg_notify($1, '')", 1, p, NULL, NULL);
}
