/*
 * reconcile.c — the watcher's level-triggered comparison of every submitting
 * or running attempt with what the executor reports (scheduling.md §3.4
 * rules 5-8).  Every write is a CAS on (state, try number): a stale or
 * repeated observation changes nothing.
 *
 *   exit 0                      → succeeded
 *   exit ≠ 0, signal, OOM       → up_for_retry (try < max_tries) or failed, reason from
 *                                 the executor ("exit 3", "killed by signal 9",
 *                                 "out of memory", "timeout after 5 s")
 *   running past its timeout    → exec_cancel, reason "timeout after N s" noted on the
 *   (DB clock, task.timeout)      row; when it has stopped: retry or fail with that reason
 *                                 (the shim's own alarm is the backstop)
 *   lost or absent while running, for longer than CUBE_LOST_GRACE_S since it was last
 *                                 seen alive → retry or fail, reason "lost: ..."
 *   submitting, directory absent for longer than the grace → scheduled with the try given
 *                                 back: the scheduler submits the same name again (never
 *                                 a second attempt beside a live one)
 *   submitting, attempt found    → running (adopted)
 *   run cancelling               → exec_cancel every active attempt, waiting tasks →
 *                                 cancelled, finished attempts → cancelled (or succeeded if
 *                                 they did), and the run → cancelled (failed with reason
 *                                 run_timeout when the timeout asked for it) once none is
 *                                 active.
 * "Last seen alive" is heartbeat_at, refreshed by this loop every third of the grace, with
 * COALESCE(heartbeat_at, started_at, scheduled_at) so a row that never had one is still
 * judged (Airflow PR #66773).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"
#include "sched/daemon.h"
#include "sched/state.h"
#include "core/common.h"

static const char ACTIVE_SQL[] =
    "SELECT ti.id, ti.state, ti.try_number, ti.max_tries, ti.external_name, r.state, "
    "(extract(epoch FROM coalesce(ti.heartbeat_at, ti.started_at, ti.scheduled_at, r.queued_at)) "
    "* 1000000)::bigint, (extract(epoch FROM ti.started_at) * 1000000)::bigint, "
    "ti.timeout_s, ti.reason, r.reason, ti.retries, ti.executor "
    "FROM task_instance ti JOIN run r ON r.id = "
    "ti.run_id "
    "WHERE ti.state IN ('submitting', 'running') ORDER BY ti.id";

static const char CANCELLING_SQL[] =
    "SELECT r.id, r.reason, (SELECT array_agg(ti.id ORDER BY ti.id) FROM task_instance ti "
    "WHERE ti.run_id = r.id AND ti.state IN ('pending', 'scheduled', 'up_for_retry'))::text, "
    "(SELECT count(*) FROM task_instance ti WHERE ti.run_id = r.id "
    "AND ti.state IN ('submitting', 'running')) FROM run r WHERE r.state = 'cancelling' "
    "ORDER BY r.id";

static const char HEARTBEAT_SQL[] =
    "UPDATE task_instance SET heartbeat_at = $2::timestamptz WHERE id = ANY($1::bigint[]) "
    "AND state IN ('submitting', 'running')";

static const char MARK_SQL[] =
    "UPDATE task_instance SET reason = $3 WHERE id = $1::bigint AND try_number = $2::int "
    "AND state = 'running'";

static const char *const FROM_ACTIVE[] = {"submitting", "running"};
static const char *const FROM_WAITING[] = {"pending", "scheduled", "up_for_retry"};

struct active {
    int64_t id;
    const char *state, *name, *run_state, *reason, *run_reason, *executor;
    int try_number, max_tries, retries;
    int64_t seen_us, started_us, timeout_s;
};

static bool starts_with(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

static void stop(struct pass *ps, const struct active *t)
{
    pass_cancel(ps, t->executor, t->name);
}

static enum err cas(struct pass *ps, const struct active *t, const char *to, const char *reason,
                    const struct state_task_set *set)
{
    size_t n = 0;
    enum err e =
        state_tasks_cas(ps->db, ps->a, ps->now_us, &t->id, 1, FROM_ACTIVE, ARRAY_LEN(FROM_ACTIVE),
                        to, &t->try_number, reason, ps->actor, set, &n, NULL);
    ps->changed += n;
    if (n)
        log_info("attempt %s: %s -> %s%s%s", t->name, t->state, to, *reason ? ": " : "", reason);
    return e;
}

static enum err fail(struct pass *ps, const struct active *t, bool retryable, const char *reason,
                     const struct state_task_set *set)
{
    bool changed;
    enum err e = state_task_fail(ps->db, ps->a, ps->now_us, t->id, FROM_ACTIVE,
                                 ARRAY_LEN(FROM_ACTIVE), t->try_number, t->max_tries, t->retries,
                                 retryable, reason, ps->actor, set, &changed);
    ps->changed += changed;
    if (changed)
        log_info("attempt %s: try %d of %d did not succeed: %s", t->name, t->try_number,
                 t->max_tries, reason);
    return e;
}

/* The attempt has stopped (exit record): decide from it. */
static enum err finished(struct pass *ps, const struct active *t, const struct exec_status *st)
{
    struct state_task_set set = STATE_TASK_SET_INIT;
    bool cancelling = !strcmp(t->run_state, "cancelling");
    const char *reason = st->reason;

    state_failpoint("reconcile.before_record");
    set.has_exit = true;
    set.exit_code = st->exit_code >= 0 ? st->exit_code : 128 + st->term_signal;
    set.peak_rss_kb = st->peak_rss_kb;
    set.cpu_seconds = st->cpu_seconds;
    if (st->state == EXEC_SUCCEEDED)
        return cas(ps, t, "succeeded", reason, &set);
    if (cancelling)
        return cas(ps, t, "cancelled", t->run_reason, &set);
    if (starts_with(t->reason, "timeout"))
        return fail(ps, t, true, t->reason, &set); /* we stopped it: our reason */
    if (st->timed_out || st->oom_killed)
        return fail(ps, t, true, reason, &set);
    if (st->cancelled)
        return fail(ps, t, false, reason, &set); /* cancelled from outside: no retry */
    return fail(ps, t, true, reason, &set);
}

static enum err one(struct pass *ps, const struct active *t, int64_t grace_us, int64_t **hb,
                    size_t *nhb)
{
    struct exec_status st;
    bool cancelling = !strcmp(t->run_state, "cancelling");
    bool stale = ps->now_us - t->seen_us > grace_us;
    const char *why = "";
    enum err e;
    struct engine *g = pass_engine(ps, t->executor, &e, &why);

    if (!g && e == ERR_NOT_FOUND) {
        /* Its cluster was deleted: nothing will ever be known about the attempt. */
        if (cancelling)
            return cas(ps, t, "cancelled", t->run_reason, NULL);
        return stale ? fail(ps, t, true, arena_printf(ps->a, "lost: %s", why), NULL) : ERR_OK;
    }
    if (!g || (e = engine_status(g, ps->a, t->name, &st))) {
        /* No evidence either way (engine unreachable, timing out, answering garbage): ask
         * again next pass, and change nothing meanwhile. */
        log_warn("attempt %s: status unavailable (%s%s%s)", t->name, err_name(e), g ? "" : ": ",
                 g ? "" : why);
        return ERR_OK;
    }
    switch (st.state) {
    case EXEC_SUCCEEDED:
    case EXEC_FAILED:
        return finished(ps, t, &st);
    case EXEC_RUNNING:
        if (cancelling) {
            stop(ps, t);
        } else if (t->timeout_s > 0 && t->started_us &&
                   ps->now_us - t->started_us > t->timeout_s * 1000000 &&
                   !starts_with(t->reason, "timeout")) {
            const char *p[] = {arena_printf(ps->a, "%" PRId64, t->id),
                               arena_printf(ps->a, "%d", t->try_number),
                               arena_printf(ps->a, "timeout after %" PRId64 " s", t->timeout_s)};
            log_info("attempt %s: timeout of %" PRId64 " s passed, stopping it", t->name,
                     t->timeout_s);
            if ((e = db_query(ps->db, ps->a, MARK_SQL, 3, p, NULL, NULL)))
                return e;
            stop(ps, t);
        }
        if (!strcmp(t->state, "submitting"))
            return cas(ps, t, "running", "", NULL); /* adopt: the submitter did not finish */
        if (ps->now_us - t->seen_us > grace_us / 3)
            (*hb)[(*nhb)++] = t->id;
        return ERR_OK;
    case EXEC_LOST:
        if (cancelling) {
            stop(ps, t); /* kills what is left in its cgroups */
            return cas(ps, t, "cancelled", t->run_reason, NULL);
        }
        if (!stale)
            return ERR_OK;
        stop(ps, t);
        return fail(ps, t, true, st.reason, NULL);
    case EXEC_ABSENT:
        if (cancelling)
            return cas(ps, t, "cancelled", t->run_reason, NULL);
        if (!stale)
            return ERR_OK;
        if (!strcmp(t->state, "submitting")) {
            /* The submitter died between intent and submit: give the try back, so the next
             * dispatch submits the same name. */
            struct state_task_set set = STATE_TASK_SET_INIT;
            set.try_delta = -1;
            return cas(ps, t, "scheduled", "resubmit: the attempt never started", &set);
        }
        if (starts_with(t->reason, "timeout")) /* we stopped it; a remote engine forgets it */
            return fail(ps, t, true, t->reason, NULL);
        return fail(ps, t, true,
                    st.reason && *st.reason ? st.reason : "lost: the attempt directory is gone",
                    NULL);
    }
    return ERR_OK;
}

/* Waiting tasks of cancelling runs → cancelled. */
static enum err cancel_waiting(struct pass *ps, struct pg_result *r)
{
    for (int i = 0; i < db_rows(r); i++) {
        const char *arr = db_val(r, i, 2);
        int64_t ids[64];
        size_t n = 0, changed;
        enum err e;
        if (!arr)
            continue;
        /* "{1,2,3}": parsed in chunks (a cancelled fan-out may have thousands). */
        for (const char *p = arr; *p;) {
            int64_t v = 0;
            bool any = false;
            while (*p && (*p < '0' || *p > '9'))
                p++;
            while (*p >= '0' && *p <= '9') {
                v = v * 10 + (*p++ - '0');
                any = true;
            }
            if (any)
                ids[n++] = v;
            if (n == ARRAY_LEN(ids) || (!*p && n)) {
                if ((e = state_tasks_cas(ps->db, ps->a, ps->now_us, ids, n, FROM_WAITING,
                                         ARRAY_LEN(FROM_WAITING), "cancelled", NULL,
                                         db_val(r, i, 1), ps->actor, NULL, &changed, NULL)))
                    return e;
                ps->changed += changed;
                n = 0;
            }
        }
    }
    return ERR_OK;
}

/* Cancelling runs with nothing active left → cancelled (or failed after run_timeout). */
static enum err finish_cancelling(struct pass *ps)
{
    static const char *const from[] = {"cancelling"};
    struct pg_result *r;
    bool changed;
    enum err e;

    if ((e = db_query_fresh(ps->db, ps->a, CANCELLING_SQL, 0, NULL, &r, NULL)))
        return e;
    for (int i = 0; i < db_rows(r); i++) {
        const char *reason = db_val(r, i, 1);
        if (db_i64(r, i, 3) > 0 || db_val(r, i, 2))
            continue;
        if ((e = state_run_cas(ps->db, ps->a, ps->now_us, db_i64(r, i, 0), from, 1,
                               starts_with(reason, "run_timeout") ? "failed" : "cancelled", reason,
                               ps->actor, &changed)))
            return e;
        ps->changed += changed;
    }
    return ERR_OK;
}

enum err reconcile_pass(struct pass *ps, const char ***names, size_t *nnames)
{
    struct pg_result *r;
    int64_t grace_us = cfg.lost_grace_s * 1000000, *hb;
    size_t n, nhb = 0;
    enum err e;

    if (names) {
        *names = NULL;
        *nnames = 0;
    }
    if ((e = db_query_fresh(ps->db, ps->a, CANCELLING_SQL, 0, NULL, &r, NULL)) ||
        (e = cancel_waiting(ps, r)))
        return e;
    if ((e = db_query_fresh(ps->db, ps->a, ACTIVE_SQL, 0, NULL, &r, NULL)))
        return e;
    n = (size_t)db_rows(r);
    hb = arena_alloc(ps->a, (n + 1) * sizeof(*hb));
    if (names) {
        *names = arena_alloc(ps->a, (n + 1) * sizeof(**names));
        for (size_t i = 0; i < n; i++)
            (*names)[i] = db_val(r, (int)i, 4);
        *nnames = n;
    }
    for (size_t i = 0; i < n; i++) {
        struct active t;
        int row = (int)i;
        t.id = db_i64(r, row, 0);
        t.state = db_val(r, row, 1);
        t.try_number = (int)db_i64(r, row, 2);
        t.max_tries = (int)db_i64(r, row, 3);
        t.name = db_val(r, row, 4);
        t.run_state = db_val(r, row, 5);
        t.seen_us = db_i64(r, row, 6);
        t.started_us = db_i64(r, row, 7);
        t.timeout_s = db_i64(r, row, 8);
        t.reason = db_val(r, row, 9);
        t.run_reason = db_val(r, row, 10);
        t.retries = (int)db_i64(r, row, 11);
        t.executor = db_val(r, row, 12);
        if (!t.name)
            continue;
        if ((e = one(ps, &t, grace_us, &hb, &nhb)))
            return e;
    }
    if (nhb) {
        const char *p[] = {state_ids(ps->a, hb, nhb), state_ts(ps->a, ps->now_us)};
        if ((e = db_query(ps->db, ps->a, HEARTBEAT_SQL, 2, p, NULL, NULL)))
            return e;
    }
    return finish_cancelling(ps);
}
