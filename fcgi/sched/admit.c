/*
 * admit.c — queued → running, and whole-run timeouts.
 *
 * Admission is the single path for every trigger (cron, manual, backfill,
 * task): per pipeline with queued runs, one transaction that first locks the
 * pipeline row, so two admitters (two schedulers, a brief split brain)
 * serialise their count-then-admit decisions (the race behind Airflow's
 * max_active_runs bugs).  In that transaction:
 *
 *   1. expired_limit N > 0 (and not depends_on_past): queued cron runs that are
 *      not among the pipeline's N newest cron ticks → skipped ("superseded"),
 *      cube-studio's "keep only the newest N ticks" without killing anything;
 *   2. free = max_active_runs - runs running or cancelling (all triggers);
 *   3. the oldest queued runs by execution date (the tick, or the request
 *      time) are admitted into the free slots; under depends_on_past a cron
 *      or backfill run waits until the run of the previous tick (ignoring
 *      skipped ones) has succeeded — it stays queued with the reason saying
 *      what it waits for, and so do the ticks after it.
 *   4. an admitted run gets its task instances (TASKS_SQL).
 *
 * Run timeouts: a running run of a pipeline with run_timeout > 0 whose
 * started_at + run_timeout has passed goes to cancelling with reason
 * "run_timeout"; the watcher kills its attempts and finishes it as failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "sched/daemon.h"
#include "sched/state.h"
#include "core/common.h"

static const char TIMEOUT_SQL[] =
    "SELECT r.id, p.run_timeout FROM run r JOIN pipeline p ON p.id = r.pipeline_id "
    "WHERE r.state = 'running' AND p.run_timeout > 0 "
    "AND r.started_at + make_interval(secs => p.run_timeout) < $1::timestamptz";

static const char QUEUED_SQL[] = "SELECT DISTINCT pipeline_id FROM run WHERE state = 'queued'";

static const char LOCK_SQL[] =
    "SELECT max_active_runs, depends_on_past, expired_limit FROM pipeline WHERE id = $1::bigint "
    "FOR UPDATE";

static const char SUPERSEDED_SQL[] =
    "SELECT id FROM run WHERE pipeline_id = $1::bigint AND state = 'queued' AND trigger = 'cron' "
    "AND cron_tick < (SELECT min(cron_tick) FROM (SELECT cron_tick FROM run "
    "WHERE pipeline_id = $1::bigint AND trigger = 'cron' AND state <> 'skipped' "
    "AND cron_tick IS NOT NULL ORDER BY cron_tick DESC LIMIT $2::int) s)";

static const char ACTIVE_SQL[] =
    "SELECT count(*) FROM run WHERE pipeline_id = $1::bigint AND state IN ('running', "
    "'cancelling')";

static const char CANDIDATES_SQL[] =
    "SELECT id, cron_tick IS NOT NULL, cron_tick, reason FROM run WHERE pipeline_id = $1::bigint "
    "AND state = 'queued' ORDER BY execution_date, id LIMIT 1000";

/* The run of the previous tick (skipped ones do not count): its state, or no row. */
static const char PREVIOUS_SQL[] =
    "SELECT state, to_char(cron_tick AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "FROM run WHERE pipeline_id = $1::bigint AND cron_tick < $2::timestamptz "
    "AND state <> 'skipped' ORDER BY cron_tick DESC LIMIT 1";

/* A run's task instances, from its snapshot, made when it is admitted (scheduling.md §3.2): a
 * queued run is only its row, so a tick of many pipelines writes one row per run, and runs
 * superseded or cancelled before they start never had tasks to write.  A run admitted again (a
 * re-run, a cleared task) has its task instances already: the conflict keeps them.
 *
 * Each spec also gets the snapshot's "pipeline" and "runner" under "run": the dispatcher makes
 * the task's KFJ_ variables from them (snapshot.h) without reading the snapshot again.  The
 * CTE reads the snapshot once: a reference to the stored column per task would take it out of
 * TOAST once per task, quadratic in a large pipeline. */
static const char TASKS_SQL[] =
    "WITH r AS MATERIALIZED (SELECT id, dag_snapshot->'tasks' AS tasks, "
    "jsonb_build_object('pipeline', dag_snapshot->'pipeline', 'runner', dag_snapshot->'runner') "
    "AS run FROM run WHERE id = $1::bigint) "
    "INSERT INTO task_instance (run_id, task_key, task_id, max_tries, upstream, skip, retries, "
    "timeout_s, spec) SELECT r.id, t.key, (t.value->>'task_id')::bigint, "
    "greatest(coalesce((t.value->>'retry')::int, 0), 0) + 1, "
    "ARRAY(SELECT jsonb_array_elements_text(t.value->'upstream')), "
    "coalesce((t.value->>'skip')::boolean, false), "
    "greatest(coalesce((t.value->>'retry')::int, 0), 0), "
    "greatest(coalesce((t.value->>'timeout')::int, 0), 0), "
    "t.value || jsonb_build_object('run', r.run) "
    "FROM r, jsonb_each(r.tasks) t ON CONFLICT (run_id, task_key) DO NOTHING";

static const char *const FROM_QUEUED[] = {"queued"};

static enum err timeouts(struct pass *ps)
{
    static const char *const from[] = {"running"};
    const char *p[] = {state_ts(ps->a, ps->now_us)};
    struct pg_result *r;
    bool changed;
    enum err e;

    if ((e = db_query_fresh(ps->db, ps->a, TIMEOUT_SQL, 1, p, &r, NULL)))
        return e;
    for (int i = 0; i < db_rows(r); i++) {
        int64_t id = db_i64(r, i, 0);
        if ((e = state_run_cas(
                 ps->db, ps->a, ps->now_us, id, from, 1, "cancelling",
                 arena_printf(ps->a, "run_timeout: longer than %s s", db_val(r, i, 1)), ps->actor,
                 &changed)))
            return e;
        if (changed) {
            log_info("run %" PRId64 ": run_timeout of %s s passed, cancelling", id,
                     db_val(r, i, 1));
            ps->changed++;
            if ((e = state_notify(ps->db, ps->a, "cube_watch")))
                return e;
        }
    }
    return ERR_OK;
}

/* Sets a queued run's reason (what it waits for), only when it changes. */
static enum err note(struct pass *ps, int64_t run_id, const char *old, const char *reason)
{
    const char *p[] = {arena_printf(ps->a, "%" PRId64, run_id), reason};
    if (old && !strcmp(old, reason))
        return ERR_OK;
    return db_query(ps->db, ps->a,
                    "UPDATE run SET reason = $2 WHERE id = $1::bigint AND state = 'queued'", 2, p,
                    NULL, NULL);
}

static enum err admit_pipeline(struct pass *ps, void *arg)
{
    int64_t pid = *(const int64_t *)arg;
    const char *p[2] = {arena_printf(ps->a, "%" PRId64, pid), NULL};
    struct pg_result *r, *c;
    int64_t max_active, expired, free_slots;
    bool dop, blocked = false, changed;
    enum err e;

    if ((e = db_begin(ps->db)))
        return e;
    if ((e = db_query(ps->db, ps->a, LOCK_SQL, 1, p, &r, NULL)))
        goto out;
    if (!db_rows(r))
        goto done;
    max_active = db_i64(r, 0, 0);
    dop = !strcmp(db_val(r, 0, 1), "t");
    expired = db_i64(r, 0, 2);

    if (expired > 0 && !dop) {
        struct pg_result *s;
        p[1] = arena_printf(ps->a, "%" PRId64, expired);
        if ((e = db_query(ps->db, ps->a, SUPERSEDED_SQL, 2, p, &s, NULL)))
            goto out;
        for (int i = 0; i < db_rows(s); i++) {
            if ((e = state_run_cas(
                     ps->db, ps->a, ps->now_us, db_i64(s, i, 0), FROM_QUEUED, 1, "skipped",
                     arena_printf(
                         ps->a, "superseded: only the newest %" PRId64 " ticks run (expired_limit)",
                         expired),
                     ps->actor, &changed)))
                goto out;
            ps->changed += changed;
        }
    }

    if ((e = db_query(ps->db, ps->a, ACTIVE_SQL, 1, p, &r, NULL)))
        goto out;
    free_slots = max_active - db_i64(r, 0, 0);
    if (free_slots <= 0)
        goto done;
    if ((e = db_query(ps->db, ps->a, CANDIDATES_SQL, 1, p, &c, NULL)))
        goto out;
    for (int i = 0; i < db_rows(c) && free_slots > 0; i++) {
        int64_t id = db_i64(c, i, 0);
        bool ticked = !strcmp(db_val(c, i, 1), "t");
        if (dop && ticked) {
            struct pg_result *prev;
            const char *q[] = {p[0], db_val(c, i, 2)};
            if (blocked)
                continue; /* a later tick cannot pass an earlier one that waits */
            if ((e = db_query(ps->db, ps->a, PREVIOUS_SQL, 2, q, &prev, NULL)))
                goto out;
            if (db_rows(prev) && strcmp(db_val(prev, 0, 0), "succeeded")) {
                blocked = true;
                if ((e = note(ps, id, db_val(c, i, 3),
                              arena_printf(ps->a,
                                           "depends_on_past: waiting for the run of %s (%s) to "
                                           "succeed",
                                           db_val(prev, 0, 1), db_val(prev, 0, 0)))))
                    goto out;
                continue;
            }
        }
        if ((e = state_run_cas(ps->db, ps->a, ps->now_us, id, FROM_QUEUED, 1, "running", "",
                               ps->actor, &changed)))
            goto out;
        if (changed) {
            const char *q[] = {arena_printf(ps->a, "%" PRId64, id)};
            if ((e = db_query(ps->db, ps->a, TASKS_SQL, 1, q, NULL, NULL)))
                goto out;
            free_slots--;
            ps->changed++;
        }
    }
done:
    return db_commit(ps->db);
out:
    db_rollback(ps->db);
    return e;
}

enum err admit_pass(struct pass *ps)
{
    struct pg_result *r;
    enum err e;

    if ((e = timeouts(ps)))
        return e;
    if ((e = db_query(ps->db, ps->a, QUEUED_SQL, 0, NULL, &r, NULL)))
        return e;
    for (int i = 0; i < db_rows(r); i++) {
        int64_t pid = db_i64(r, i, 0);
        if ((e = pass_batch(ps, admit_pipeline, &pid)))
            return e;
    }
    return ERR_OK;
}
