/*
 * tick.c — cron ticks into runs (scheduling.md §3.5, first block).
 *
 * Per batch of due pipelines, one transaction: the pipelines are claimed with
 * FOR UPDATE SKIP LOCKED (a second scheduler takes other rows or none), their
 * due ticks become runs (INSERT ... ON CONFLICT (pipeline_id, cron_tick) DO
 * NOTHING inside run creation), and last_tick/next_tick advance — all or
 * nothing.  Killed mid-batch, nothing of the batch is committed and the next
 * pass does it again; committed twice (two schedulers, a retried batch), the
 * unique key absorbs the overlap.
 *
 * A batch costs a few statements, whatever its size: the claim, the run ids, one
 * query that loads every claimed pipeline with its tasks and templates
 * (snapshot_load), the advance, and per chunk of TICK_CHUNK runs the records and
 * one statement for the runs with their audit and outbox rows (sched_run_send; a
 * queued run has no task instances yet, admission makes them).  The advance and
 * each chunk's runs are sent without waiting (db_send), so the snapshots of the
 * next chunk are rendered in C while the server inserts the last one; each in a
 * scratch arena, so a batch holds one rendered document at a time besides the
 * rows it sends.
 *
 * The anchor of a pipeline is last_tick, else cronjob_start_time, else the
 * pass's now (a new schedule does not catch up).  Due ticks lie in
 * (anchor, now]; only the newest policy_keep(expired_limit, CUBE_CATCHUP_MAX)
 * become runs, and when older ones are left out a single run in state
 * `skipped` records it, at the newest skipped tick, with the count and range
 * in its reason.  A pipeline that cannot run (a cycle, a task that does not
 * render, no tasks) gets a `failed` run for the tick, with the reason, so the
 * schedule keeps moving and the failure is visible (and alerts); the other
 * pipelines of its batch are not held up: their runs go in with the same
 * commit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/cron.h"
#include "core/log.h"
#include "core/snapshot.h"
#include "sched/daemon.h"
#include "sched/leader.h"
#include "sched/policy.h"
#include "sched/state.h"
#include "core/common.h"

/* Pipelines per transaction: big enough that the fixed statements of a batch cost little
 * per run, small enough that the claimed rows are not locked for long (an API edit of one of
 * them waits for the commit). */
enum { TICK_BATCH = 1000 };
/* Runs per insert statement (see batch()). */
enum { TICK_CHUNK = 250 };

/* Due: coalesce(next_tick, -infinity) <= now, the expression of the index pipeline_tick_due
 * (sql/0013), which gives the order and bounds the scan.  The lock is on the pipeline's
 * pipeline_tick row: an API edit of the schedule, a pause or a delete (its cascade) reaches
 * that row and waits for the batch's commit, as an edit of the pipeline row did. */
static const char DUE_SQL[] =
    "SELECT p.id, p.cron_time, p.timezone, (extract(epoch FROM t.last_tick))::bigint, "
    "(extract(epoch FROM p.cronjob_start_time))::bigint, p.expired_limit, p.parallelism, "
    "p.alert_status, p.alert_user FROM pipeline_tick t JOIN pipeline p ON p.id = t.pipeline_id "
    "WHERE t.scheduled AND coalesce(t.next_tick, '-infinity'::timestamptz) <= $1::timestamptz "
    "ORDER BY coalesce(t.next_tick, '-infinity'::timestamptz), t.pipeline_id LIMIT $2::int "
    "FOR UPDATE OF t SKIP LOCKED";

/* The first pipeline in due order tells whether any is due: one index entry. */
static const char ANY_DUE_SQL[] =
    "SELECT coalesce(next_tick, '-infinity'::timestamptz) <= $1::timestamptz FROM pipeline_tick "
    "WHERE scheduled ORDER BY coalesce(next_tick, '-infinity'::timestamptz), pipeline_id LIMIT 1";

/* Runs without tasks that record ticks: `skipped` (older ticks left out) or `failed` (the
 * pipeline cannot run), one per element of the arrays $1 pipelines, $2 ticks, $3 states,
 * $4 reasons, $5 alert states, $6 alert users; $7 now. */
#define RECORD_ALERT STATE_OUTBOX_INSERT("u", "u.state", "NULL", "u.reason", "$7::timestamptz")
static const char RECORD_SQL[] =
    "WITH u AS (INSERT INTO run (pipeline_id, trigger, cron_tick, execution_date, state, "
    "dag_snapshot, alert_status, alert_user, reason, queued_at, finished_at) "
    "SELECT v.pipeline_id, 'cron', v.tick, v.tick, v.state, '{}', v.alert_status, v.alert_user, "
    "v.reason, $7::timestamptz, $7::timestamptz FROM unnest($1::bigint[], $2::timestamptz[], "
    "$3::text[], $4::text[], $5::text[], $6::text[]) "
    "AS v(pipeline_id, tick, state, reason, alert_status, alert_user) "
    "ON CONFLICT (pipeline_id, cron_tick) DO NOTHING "
    "RETURNING id, state, reason, alert_status), "
    "sc AS (INSERT INTO state_change (entity, entity_id, from_state, to_state, reason, actor, at) "
    "SELECT 'run', u.id, NULL, u.state, u.reason, 'scheduler', $7::timestamptz FROM u), "
    "ob AS (" RECORD_ALERT " ON CONFLICT (run_id, kind, state) DO NOTHING) "
    "SELECT u.id FROM u";

static const char ADVANCE_SQL[] =
    "UPDATE pipeline_tick t SET last_tick = v.lt, next_tick = v.nt "
    "FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS v(id, lt, nt) "
    "WHERE t.pipeline_id = v.id";

struct due_pipe {
    int64_t id;
    const char *parallelism, *alert_status, *alert_user;
    int64_t expired_limit;
    struct policy_due due;
    int64_t last_tick; /* the new last_tick, 0: leave NULL */
    bool valid;
    const struct snapshot_src *src; /* loaded when ticks are due */
};

/* The batch's records (RECORD_SQL), one array literal per column. */
enum { RECORD_COLS = 6 };
struct records {
    struct buf col[RECORD_COLS];
    size_t n;
};

static void records_init(struct pass *ps, struct records *rec)
{
    for (int c = 0; c < RECORD_COLS; c++) {
        buf_init(&rec->col[c], ps->a, SIZE_MAX / 2);
        buf_addc(&rec->col[c], '{');
    }
    rec->n = 0;
}

/* Writes the records collected and starts anew. */
static enum err records_insert(struct pass *ps, struct records *rec)
{
    const char *p[RECORD_COLS + 1];
    enum err e;

    for (int c = 0; c < RECORD_COLS; c++) {
        buf_addc(&rec->col[c], '}');
        p[c] = buf_str(&rec->col[c]);
    }
    p[RECORD_COLS] = state_ts(ps->a, ps->now_us);
    e = db_query(ps->db, ps->a, RECORD_SQL, RECORD_COLS + 1, p, NULL, NULL);
    records_init(ps, rec);
    return e;
}

static const char *sec_ts(struct arena *a, int64_t s)
{
    return state_ts(a, s * 1000000);
}

static void record(struct pass *ps, struct records *rec, const struct due_pipe *dp, int64_t tick,
                   const char *state, const char *reason)
{
    const char *v[RECORD_COLS] = {
        arena_printf(ps->a, "%" PRId64, dp->id),     sec_ts(ps->a, tick), state, reason,
        sched_alert_states(ps->a, dp->alert_status), dp->alert_user};
    for (int c = 0; c < RECORD_COLS; c++)
        state_array_elem(&rec->col[c], v[c]);
    rec->n++;
}

/* Works out the due ticks of one claimed row. */
static void plan(struct pass *ps, struct pg_result *r, int i, struct due_pipe *dp)
{
    struct cron_expr c;
    char err[160];
    int64_t now = ps->now_us / 1000000, anchor;
    const char *last = db_val(r, i, 3), *start = db_val(r, i, 4), *tz = db_val(r, i, 2);

    memset(dp, 0, sizeof(*dp));
    dp->id = db_i64(r, i, 0);
    dp->expired_limit = db_i64(r, i, 5);
    dp->parallelism = db_val(r, i, 6);
    dp->alert_status = db_val(r, i, 7);
    dp->alert_user = db_val(r, i, 8);
    anchor = last ? db_i64(r, i, 3) : start ? db_i64(r, i, 4) : now;
    if (!cron_parse(db_val(r, i, 1), &c, err, sizeof(err))) {
        log_warn("pipeline %" PRId64 ": cron_time '%s' is invalid (%s): not scheduled until it "
                 "changes",
                 dp->id, db_val(r, i, 1), err);
        dp->due.next = -1;
        dp->last_tick = last ? anchor : 0;
        return;
    }
    if (!policy_due_ticks(ps->a, &c, tz, anchor, now,
                          policy_keep(dp->expired_limit, cfg.catchup_max), &dp->due)) {
        log_warn("pipeline %" PRId64 ": time zone '%s' is unknown: not scheduled until it changes",
                 dp->id, tz);
        dp->due.next = -1;
        dp->last_tick = last ? anchor : 0;
        return;
    }
    dp->valid = true;
    /* The anchor is kept even when nothing is due, so a new schedule's first tick is the
     * first one after the moment it was first seen. */
    dp->last_tick = dp->due.newest > anchor ? dp->due.newest : anchor;
}

/*
 * The rows of one pipeline's due ticks: its skipped record, then a run per tick — or, when
 * the run cannot be rendered, a failed record for that tick.  No database: whatever goes
 * wrong here concerns this pipeline alone, so it becomes that pipeline's record and the rest
 * of the batch goes on.  Each snapshot is rendered in `scratch`, reset per run.
 */
static void materialise(struct pass *ps, struct arena *scratch, const struct due_pipe *dp,
                        const int64_t *ids, size_t *next_id, struct run_rows *rows,
                        struct records *rec)
{
    char from[24], to[24];

    if (dp->due.skipped) {
        const char *why = dp->expired_limit > 0 && dp->expired_limit < cfg.catchup_max
                              ? arena_printf(ps->a, "expired_limit %" PRId64, dp->expired_limit)
                              : arena_printf(ps->a, "catch-up limit %" PRId64, cfg.catchup_max);
        struct tm tm;
        time_t t = (time_t)dp->due.skipped_first;
        gmtime_r(&t, &tm);
        strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", &tm);
        t = (time_t)dp->due.skipped_last;
        gmtime_r(&t, &tm);
        strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", &tm);
        record(ps, rec, dp, dp->due.skipped_last, "skipped",
               arena_printf(ps->a, "%s: %s%" PRId64 " older due ticks skipped, from %s to %s", why,
                            dp->due.skipped_exact ? "" : "at least ", dp->due.skipped, from, to));
        log_info("pipeline %" PRId64 ": %s: skipped %" PRId64 " due ticks (%s .. %s)", dp->id, why,
                 dp->due.skipped, from, to);
    }
    for (size_t k = 0; k < dp->due.n; k++) {
        struct run_request rq = {dp->id, "cron", dp->due.ticks[k], dp->due.ticks[k], 0, NULL, NULL};
        struct run_pipe pipe = {ids[(*next_id)++], dp->parallelism, dp->alert_status,
                                dp->alert_user};
        const char *err = NULL, *why;
        enum err e;

        arena_reset(scratch);
        e = sched_run_prepare_from(scratch, &rq, ps->now_us, &pipe, dp->src, rows, &err);
        if (!e)
            continue;
        why = err ? err : e == ERR_NOT_FOUND ? "the pipeline disappeared" : err_name(e);
        log_warn("pipeline %" PRId64 ": cannot run the tick: %s", dp->id, why);
        record(ps, rec, dp, dp->due.ticks[k], "failed", arena_printf(ps->a, "cannot run: %s", why));
    }
}

/* One batch: returns how many pipelines it claimed. */
static enum err batch(struct pass *ps, void *arg)
{
    int *claimed = arg;
    const char *p[RECORD_COLS + 1];
    struct pg_result *r;
    struct due_pipe *dps;
    struct snapshot_src *srcs;
    struct buf bid, blt, bnt;
    struct run_rows rows;
    struct records rec;
    /* The loaded pipelines and the rendered runs: freed while the server inserts the last
     * chunk, not after the commit, when the server would wait for it (thousands of JSON
     * objects). */
    struct arena work = ARENA_INIT, scratch = ARENA_INIT;
    int64_t *ids = NULL, *load;
    size_t total = 0, next_id = 0, nload = 0;
    bool inflight = false;
    int n;
    enum err e;

    *claimed = 0;
    if ((e = db_begin(ps->db)))
        goto out;
    p[0] = state_ts(ps->a, ps->now_us);
    p[1] = arena_printf(ps->a, "%d", TICK_BATCH);
    if ((e = db_query(ps->db, ps->a, DUE_SQL, 2, p, &r, NULL)))
        goto out;
    n = db_rows(r);
    *claimed = n;
    if (!n)
        goto out; /* rolled back: nothing claimed */
    dps = arena_alloc(ps->a, (size_t)n * sizeof(*dps));
    load = arena_alloc(ps->a, (size_t)n * sizeof(*load));
    for (int i = 0; i < n; i++) {
        plan(ps, r, i, &dps[i]);
        total += dps[i].due.n;
        if (dps[i].valid && dps[i].due.n)
            load[nload++] = dps[i].id;
    }
    if (total) {
        struct pg_result *q;
        p[0] = arena_printf(ps->a, "%zu", total);
        if ((e = db_query(ps->db, ps->a,
                          "SELECT nextval('run_id_seq') FROM generate_series(1, $1::int)", 1, p, &q,
                          NULL)))
            goto out;
        ids = arena_alloc(ps->a, total * sizeof(*ids));
        for (size_t k = 0; k < total; k++)
            ids[k] = db_i64(q, (int)k, 0);
    }
    /* Every pipeline with a due tick, with its tasks and templates, in one query. */
    srcs = arena_alloc(ps->a, (nload + 1) * sizeof(*srcs));
    if ((e = snapshot_load(ps->db, &work, load, nload, srcs)))
        goto out;
    for (int i = 0, k = 0; i < n; i++)
        if (dps[i].valid && dps[i].due.n)
            dps[i].src = &srcs[k++];

    /* The advance needs only the plan: sent first, it runs while the runs are rendered. */
    buf_init(&bid, ps->a, SIZE_MAX / 2);
    buf_init(&blt, ps->a, SIZE_MAX / 2);
    buf_init(&bnt, ps->a, SIZE_MAX / 2);
    for (int i = 0; i < n; i++) {
        const struct due_pipe *dp = &dps[i];
        buf_addf(&bid, "%s%" PRId64, i ? "," : "{", dp->id);
        if (dp->last_tick)
            buf_addf(&blt, "%s\"%s\"", i ? "," : "{", sec_ts(ps->a, dp->last_tick));
        else
            buf_addf(&blt, "%sNULL", i ? "," : "{");
        if (dp->due.next > 0)
            buf_addf(&bnt, "%s\"%s\"", i ? "," : "{", sec_ts(ps->a, dp->due.next));
        else
            buf_addf(&bnt, "%sinfinity", i ? "," : "{"); /* never: until the schedule changes */
    }
    buf_addc(&bid, '}');
    buf_addc(&blt, '}');
    buf_addc(&bnt, '}');
    p[0] = buf_str(&bid);
    p[1] = buf_str(&blt);
    p[2] = buf_str(&bnt);
    if ((e = db_send(ps->db, ADVANCE_SQL, 3, p)))
        goto out;
    inflight = true;

    /* The runs go in a chunk at a time, each chunk rendered while the server inserts the one
     * before: the scheduler's work and the server's overlap on two cores instead of taking
     * turns.  A chunk's records (skipped, failed) go in before its runs. */
    records_init(ps, &rec);
    run_rows_init(&rows, &work);
    rows.quiet = true; /* tick_pass wakes the watcher once, at the end */
    for (int i = 0; i < n; i++) {
        if (dps[i].valid)
            materialise(ps, &scratch, &dps[i], ids, &next_id, &rows, &rec);
        if (i + 1 < n && rows.n + rec.n < TICK_CHUNK)
            continue;
        if (inflight && (e = db_result(ps->db, ps->a, NULL, NULL)))
            goto out;
        inflight = false;
        if (rec.n && (e = records_insert(ps, &rec)))
            goto out;
        if (rows.n) {
            if ((e = sched_run_send(ps->db, ps->a, &rows, ps->now_us)))
                goto out;
            inflight = true;
        }
    }
    arena_free(&work);
    if (inflight && (e = db_result(ps->db, ps->a, NULL, NULL)))
        goto out;
    if (total)
        state_failpoint("tick.before_commit");
    if ((e = db_commit(ps->db)))
        goto out;
    if (total)
        log_debug("tick: %d pipelines, %zu runs", n, total);
    ps->changed += total;
out:
    if (db_in_tx(ps->db))
        db_rollback(ps->db);
    arena_free(&work);
    arena_free(&scratch);
    return e;
}

/*
 * While the batches go in, the watcher leaves the outbox alone: it takes LOCK_KEY_TICK shared
 * and skips its pass when it cannot (notify.c).  Draining the first batches' alerts beside the
 * later batches took the cores the tick needs; woken at the end, the watcher delivers them all
 * at once.  The lock is taken when it can be within ~0.2 s (a watcher batch in flight holds it
 * shared for a few tens of milliseconds); when it cannot, the tick goes on without it: it only
 * keeps the watcher off the cores, and nothing depends on it.
 */
static const char *tick_key(struct pass *ps)
{
    return arena_printf(ps->a, "%" PRId64, LOCK_KEY_TICK);
}

static bool tick_lock(struct pass *ps)
{
    const char *p[] = {tick_key(ps)};
    struct timespec ts = {0, 10 * 1000 * 1000};
    struct pg_result *r;

    for (int i = 0; i < 20; i++) {
        if (db_query(ps->db, ps->a, "SELECT pg_try_advisory_lock($1::bigint)", 1, p, &r, NULL))
            return false;
        if (!strcmp(db_val(r, 0, 0), "t"))
            return true;
        nanosleep(&ts, NULL);
    }
    log_info("tick: going on without the tick lock (held elsewhere)");
    return false;
}

enum err tick_pass(struct pass *ps)
{
    int64_t t0 = clock_mono_us();
    size_t before = ps->changed;
    int claimed, total = 0;
    bool locked;
    const char *p[] = {state_ts(ps->a, ps->now_us)};
    struct pg_result *r;
    enum err e;

    /* Most passes have nothing due: one cheap look before a transaction. */
    if ((e = db_query(ps->db, ps->a, ANY_DUE_SQL, 1, p, &r, NULL)))
        return e;
    if (!db_rows(r) || strcmp(db_val(r, 0, 0), "t"))
        return ERR_OK;

    locked = tick_lock(ps);
    do {
        if ((e = pass_batch(ps, batch, &claimed)))
            break;
        total += claimed;
    } while (claimed == TICK_BATCH);
    /* An unlock fails only with the connection, and a lost connection released the lock. */
    p[0] = tick_key(ps);
    if (locked &&
        db_query(ps->db, ps->a, "SELECT pg_advisory_unlock($1::bigint)", 1, p, NULL, NULL))
        log_warn("tick: the tick lock was not released: the connection is gone");
    if (e)
        return e;
    /* The watcher delivers the new runs' alerts.  Woken after every batch, it would drain the
     * outbox beside the batches still to come, on the same cores; once, it takes them all. */
    if (ps->changed > before && (e = state_notify(ps->db, ps->a, "cube_watch")))
        return e;
    if (ps->changed > before)
        log_info("tick: %d pipelines due, %zu runs created in %lld ms", total, ps->changed - before,
                 (long long)((clock_mono_us() - t0) / 1000));
    return ERR_OK;
}
