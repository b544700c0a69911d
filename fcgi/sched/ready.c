/*
 * ready.c — task readiness and run completion, for running runs only.
 *
 * Rules (all_success, no fail-fast: independent branches of a failed run keep
 * going, as in Airflow; the run's result is decided when everything stopped):
 *   up_for_retry → scheduled   once next_retry_at has passed;
 *   pending → upstream_failed  when an upstream (in the run's snapshot) failed,
 *                              was upstream_failed or was cancelled;
 *   pending → skipped          when every upstream succeeded or was skipped and
 *                              the task has the skip flag (nothing is launched);
 *   pending → scheduled        when every upstream succeeded or was skipped;
 *   scheduled → failed         when it waited CUBE_PENDING_TIMEOUT_S for a slot (if set);
 *   running run → succeeded    when every task succeeded or was skipped,
 *                 failed       when all are finished and any did not.
 * One level of the graph moves per evaluation, so the evaluation repeats
 * within the pass until nothing changes: a failure at the top of a 200-task
 * chain marks all of it upstream_failed in one pass.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"
#include "sched/daemon.h"
#include "sched/state.h"
#include "core/common.h"

enum { MAX_ROUNDS = 100000 };

static const char RETRY_SQL[] =
    "SELECT ti.id FROM task_instance ti JOIN run r ON r.id = ti.run_id "
    "WHERE ti.state = 'up_for_retry' AND ti.next_retry_at <= $1::timestamptz "
    "AND r.state = 'running' ORDER BY ti.id";

/* Per pending task of a running run: skip flag, upstreams not yet done, failed upstreams. */
static const char PENDING_SQL[] =
    "SELECT ti.id, ti.skip, "
    "(SELECT count(*) FROM task_instance u WHERE u.run_id = ti.run_id "
    "AND u.task_key = ANY(ti.upstream) AND u.state NOT IN ('succeeded', 'skipped')), "
    "(SELECT string_agg(u.task_key, ', ' ORDER BY u.task_key) FROM task_instance u "
    "WHERE u.run_id = ti.run_id AND u.task_key = ANY(ti.upstream) "
    "AND u.state IN ('failed', 'upstream_failed', 'cancelled')) "
    "FROM task_instance ti JOIN run r ON r.id = ti.run_id "
    "WHERE ti.state = 'pending' AND r.state = 'running' ORDER BY ti.id";

static const char DONE_SQL[] =
    "SELECT r.id, count(ti.id) FILTER (WHERE ti.state IN ('failed', 'upstream_failed', "
    "'cancelled')), string_agg(ti.task_key, ', ' ORDER BY ti.id) FILTER (WHERE ti.state = "
    "'failed') FROM run r LEFT JOIN task_instance ti ON ti.run_id = r.id "
    "WHERE r.state = 'running' GROUP BY r.id "
    "HAVING count(ti.id) FILTER (WHERE ti.state NOT IN ('succeeded', 'failed', "
    "'upstream_failed', 'skipped', 'cancelled')) = 0";

static const char PENDING_TIMEOUT_SQL[] =
    "SELECT ti.id FROM task_instance ti JOIN run r ON r.id = ti.run_id "
    "WHERE ti.state = 'scheduled' AND r.state = 'running' "
    "AND ti.scheduled_at + make_interval(secs => $2::bigint) < $1::timestamptz ORDER BY ti.id";

static const char *const FROM_PENDING[] = {"pending"};

/* Tasks that waited too long for an execution slot fail (Airflow's task_queued_timeout);
 * their downstream then becomes upstream_failed like after any failure. */
static enum err pending_timeouts(struct pass *ps)
{
    static const char *const from[] = {"scheduled"};
    const char *p[2];
    struct pg_result *r;
    int64_t *ids;
    size_t n, changed;
    enum err e;

    if (cfg.pending_timeout_s <= 0)
        return ERR_OK;
    p[0] = state_ts(ps->a, ps->now_us);
    p[1] = arena_printf(ps->a, "%" PRId64, cfg.pending_timeout_s);
    if ((e = db_query_fresh(ps->db, ps->a, PENDING_TIMEOUT_SQL, 2, p, &r, NULL)))
        return e;
    n = (size_t)db_rows(r);
    if (!n)
        return ERR_OK;
    ids = db_col_i64(ps->a, r, 0, &n);
    if ((e = state_tasks_cas(ps->db, ps->a, ps->now_us, ids, n, from, 1, "failed", NULL,
                             arena_printf(ps->a, "pending timeout: no slot within %" PRId64 " s",
                                          cfg.pending_timeout_s),
                             ps->actor, NULL, &changed, NULL)))
        return e;
    ps->changed += changed;
    return ERR_OK;
}

static enum err retries(struct pass *ps)
{
    static const char *const from[] = {"up_for_retry"};
    const char *p[] = {state_ts(ps->a, ps->now_us)};
    struct pg_result *r;
    int64_t *ids;
    size_t n, changed;
    enum err e;

    if ((e = db_query_fresh(ps->db, ps->a, RETRY_SQL, 1, p, &r, NULL)))
        return e;
    n = (size_t)db_rows(r);
    if (!n)
        return ERR_OK;
    ids = db_col_i64(ps->a, r, 0, &n);
    if ((e = state_tasks_cas(ps->db, ps->a, ps->now_us, ids, n, from, 1, "scheduled", NULL, "retry",
                             ps->actor, NULL, &changed, NULL)))
        return e;
    ps->changed += changed;
    return ERR_OK;
}

/* One evaluation of the pending tasks; moved[0] counts the transitions, moved[1] those that
 * can make more tasks decidable in this pass (skipped, upstream_failed). */
static enum err evaluate(struct pass *ps, void *arg)
{
    size_t *moved = arg;
    struct pg_result *r;
    int64_t *sched_ids, *skip_ids;
    size_t n, ns = 0, nk = 0, changed;
    enum err e;

    moved[0] = moved[1] = 0;
    if ((e = db_query_fresh(ps->db, ps->a, PENDING_SQL, 0, NULL, &r, NULL)))
        return e;
    n = (size_t)db_rows(r);
    if (!n)
        return ERR_OK;
    sched_ids = arena_alloc(ps->a, n * sizeof(*sched_ids));
    skip_ids = arena_alloc(ps->a, n * sizeof(*skip_ids));
    for (size_t i = 0; i < n; i++) {
        int64_t id = db_i64(r, (int)i, 0);
        const char *failed = db_val(r, (int)i, 3);
        if (failed) {
            /* Rare, and each has its own reason: one statement each. */
            if ((e = state_tasks_cas(ps->db, ps->a, ps->now_us, &id, 1, FROM_PENDING, 1,
                                     "upstream_failed", NULL,
                                     arena_printf(ps->a, "upstream failed: %s", failed), ps->actor,
                                     NULL, &changed, NULL)))
                return e;
            moved[0] += changed;
            moved[1] += changed;
        } else if (db_i64(r, (int)i, 2) == 0) {
            if (!strcmp(db_val(r, (int)i, 1), "t"))
                skip_ids[nk++] = id;
            else
                sched_ids[ns++] = id;
        }
    }
    if ((e = state_tasks_cas(ps->db, ps->a, ps->now_us, skip_ids, nk, FROM_PENDING, 1, "skipped",
                             NULL, "skip flag", ps->actor, NULL, &changed, NULL)))
        return e;
    moved[0] += changed;
    moved[1] += changed;
    if ((e = state_tasks_cas(ps->db, ps->a, ps->now_us, sched_ids, ns, FROM_PENDING, 1, "scheduled",
                             NULL, "", ps->actor, NULL, &changed, NULL)))
        return e;
    moved[0] += changed;
    return ERR_OK;
}

static enum err complete(struct pass *ps)
{
    static const char *const from[] = {"running"};
    struct pg_result *r;
    bool changed;
    int64_t now_us = ps->now_us;
    enum err e;

    if ((e = db_query_fresh(ps->db, ps->a, DONE_SQL, 0, NULL, &r, NULL)))
        return e;
    /* The watcher may have finished the last task after this pass began. */
    if (db_rows(r) && (e = sched_now(ps->db, ps->a, &now_us)))
        return e;
    for (int i = 0; i < db_rows(r); i++) {
        bool ok = db_i64(r, i, 1) == 0;
        const char *failed = db_val(r, i, 2);
        const char *reason = ok       ? ""
                             : failed ? arena_printf(ps->a, "failed: %s", failed)
                                      : "not every task succeeded";
        if ((e = state_run_cas(ps->db, ps->a, now_us, db_i64(r, i, 0), from, 1,
                               ok ? "succeeded" : "failed", reason, ps->actor, &changed)))
            return e;
        ps->changed += changed;
    }
    return ERR_OK;
}

enum err ready_pass(struct pass *ps)
{
    size_t moved[2];
    enum err e;

    if ((e = retries(ps)) || (e = pending_timeouts(ps)))
        return e;
    /* A task that became scheduled makes no other task decidable; a skip or a failure may. */
    for (int round = 0; round < MAX_ROUNDS; round++) {
        if ((e = pass_batch(ps, evaluate, moved)))
            return e;
        ps->changed += moved[0];
        if (!moved[1])
            break;
    }
    return complete(ps);
}
