/*
 * dispatch.c — scheduled → submitting → running (scheduling.md §3.4 rule 4).
 *
 * 1. Pick scheduled tasks of running runs, oldest first, as many as the free
 *    executor slots (CUBE_EXEC_SLOTS minus every submitting or running attempt)
 *    and each run's room (its parallelism minus its submitting or running
 *    tasks) allow.
 * 2. One statement moves them to submitting, increments try_number, names the
 *    attempt cube-r<run>-t<ti>-a<try> and inserts the task_attempt row; it is
 *    committed before the executor hears of it.  This is the intent.
 * 3. The engine is the one of the run's project's cluster (its expand names
 *    it; none, or a cluster of engine local, is this machine).  It is written
 *    on the task instance and its attempt, then engine_submit for each.  Every
 *    engine's submit is idempotent under the attempt name (the local attempt
 *    directory, the Slurm job name, the Kubernetes object name), so a second
 *    submit of the same name after a crash adopts instead of starting twice.
 * 4. submitting → running (CAS on the try number).  If that CAS fails, the
 *    task moved on meanwhile (its run was cancelled, or the watcher gave the
 *    try back): the attempt we may just have started is cancelled, so nothing
 *    runs that the database does not account for.
 * A scheduler killed between 2 and 3 leaves the task in submitting with no
 * attempt directory: the watcher gives the try back after CUBE_LOST_GRACE_S
 * and the next pass submits the same name.  Killed between 3 and 4: the
 * watcher finds the attempt running and adopts it (submitting → running).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/js.h"
#include "core/log.h"
#include "core/snapshot.h"
#include "sched/daemon.h"
#include "sched/policy.h"
#include "sched/state.h"
#include "core/common.h"

enum { DISPATCH_BATCH = 64 };

/* $1 slots: free executor slots are $1 minus all active attempts. */
static const char PICK_SQL[] =
    "WITH act AS (SELECT run_id, count(*) AS n FROM task_instance "
    "WHERE state IN ('submitting', 'running') GROUP BY run_id), "
    "cand AS (SELECT ti.id, ti.scheduled_at, r.parallelism - coalesce(a.n, 0) AS room, "
    "row_number() OVER (PARTITION BY ti.run_id ORDER BY ti.scheduled_at, ti.id) AS rn "
    "FROM task_instance ti JOIN run r ON r.id = ti.run_id LEFT JOIN act a ON a.run_id = ti.run_id "
    "WHERE ti.state = 'scheduled' AND r.state = 'running') "
    "SELECT id FROM cand WHERE rn <= room ORDER BY scheduled_at, id "
    "LIMIT least($2::int, greatest($1::int - (SELECT coalesce(sum(n), 0) FROM act), 0))";

/* With what the task's KFJ_ variables need besides its spec (snapshot.h, admit.c). */
static const char SPEC_SQL[] =
    "SELECT ti.id, ti.spec::text, " CLUSTER_OF_PROJECT_SQL ", r.id, "
    "to_char(r.execution_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), ti.task_key "
    "FROM task_instance ti "
    "JOIN run r ON r.id = ti.run_id JOIN pipeline p ON p.id = r.pipeline_id "
    "JOIN project pr ON pr.id = p.project_id WHERE ti.id = ANY($1::bigint[])";

/* Where each attempt is about to go, before it goes there (the watcher asks that engine). */
static const char WHERE_SQL[] =
    "WITH k AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS k(id, ex)), "
    "t AS (UPDATE task_instance ti SET executor = k.ex FROM k WHERE ti.id = k.id "
    "AND ti.executor <> k.ex) "
    "UPDATE task_attempt a SET executor = k.ex FROM k, task_instance ti "
    "WHERE ti.id = k.id AND a.task_instance_id = k.id AND a.try_number = ti.try_number "
    "AND a.executor <> k.ex";

static const char *const FROM_SCHEDULED[] = {"scheduled"};
static const char *const FROM_SUBMITTING[] = {"submitting"};

static const char **str_array(struct arena *a, json_object *arr, size_t *n)
{
    size_t len =
        arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    const char **v = arena_alloc(a, (len + 1) * sizeof(*v));
    for (size_t i = 0; i < len; i++)
        v[i] = json_object_get_string(json_object_array_get_idx(arr, i));
    v[len] = NULL;
    *n = len;
    return v;
}

/* The executor's view of one snapshot task: row k of SPEC_SQL. */
static bool build_spec(struct arena *a, const char *name, struct pg_result *specs, int k,
                       struct exec_spec *spec, int *retries, const char **err)
{
    const char *task_json = k >= 0 ? db_val(specs, k, 1) : NULL, *msg;
    json_object *t = js_parse(a, task_json ? task_json : "", task_json ? strlen(task_json) : 0,
                              &msg),
                *res, *run;
    struct render_kfj kfj;
    const char **env;
    size_t nenv;

    memset(spec, 0, sizeof(*spec));
    if (!t || !json_object_is_type(t, json_type_object)) {
        *err = "the run's snapshot has no such task";
        return false;
    }
    spec->name = name;
    *retries = json_object_get_int(js_get(t, "retry"));
    spec->argv = str_array(a, js_get(t, "argv"), &spec->argc);
    run = js_get(t, "run");
    snapshot_kfj(a, js_get(run, "pipeline"), js_get_str(run, "runner"), db_val(specs, k, 3),
                 db_val(specs, k, 4), db_val(specs, k, 5), t, &kfj);
    env = str_array(a, js_get(t, "env"), &nenv);
    spec->env = render_kfj_env(a, env, nenv, &kfj, &spec->nenv);
    spec->workdir = js_get_str(t, "workdir");
    spec->timeout_s = json_object_get_int64(js_get(t, "timeout"));
    if (spec->timeout_s < 0)
        spec->timeout_s = 0;
    spec->replicas = json_object_get_int(js_get(t, "replicas"));
    res = js_get(t, "resources");
    spec->cpu = policy_cpu_cores(js_get_str(res, "cpu"));
    spec->memory_bytes = policy_memory_bytes(js_get_str(res, "memory"));
    spec->gpus = policy_gpus(a, js_get_str(res, "gpu"), &spec->gpu_type);
    spec->image = js_get_str(t, "image");
    spec->max_procs = cfg.exec_max_procs;
    if (!spec->argc) {
        *err = "the task has nothing to run (empty argv)";
        return false;
    }
    return true;
}

/*
 * After submitting, some CAS to running did not apply.  Usually the watcher adopted the
 * attempt first (running, or already finished, with our try): nothing to do.  But when the
 * task moved on without this try — its run was cancelled, or the watcher gave the try back —
 * what we may just have started must not run unaccounted for: cancel it.
 */
static enum err moved_on(struct pass *ps, const int64_t *ids, const int *tries, size_t n,
                         struct pg_result *changed)
{
    static const char SQL[] =
        "SELECT ti.state, ti.try_number = k.try, a.external_name, ti.try_number, a.executor "
        "FROM unnest($1::bigint[], $2::int[]) AS k(id, try) JOIN task_instance ti ON ti.id = k.id "
        "JOIN task_attempt a ON a.task_instance_id = k.id AND a.try_number = k.try";
    int64_t *left = arena_alloc(ps->a, n * sizeof(*left));
    int *left_tries = arena_alloc(ps->a, n * sizeof(*left_tries));
    const char *p[2];
    struct pg_result *r;
    size_t k = 0;
    struct buf b;
    enum err e;

    for (size_t i = 0; i < n; i++) {
        bool done = false;
        for (int j = 0; j < db_rows(changed) && !done; j++)
            done = db_i64(changed, j, 0) == ids[i];
        if (!done) {
            left[k] = ids[i];
            left_tries[k++] = tries[i];
        }
    }
    if (!k)
        return ERR_OK;
    buf_init(&b, ps->a, SIZE_MAX / 2);
    for (size_t i = 0; i < k; i++)
        buf_addf(&b, "%s%d", i ? "," : "{", left_tries[i]);
    buf_addc(&b, '}');
    p[0] = state_ids(ps->a, left, k);
    p[1] = buf_str(&b);
    if ((e = db_query(ps->db, ps->a, SQL, 2, p, &r, NULL)))
        return e;
    for (int i = 0; i < db_rows(r); i++) {
        const char *state = db_val(r, i, 0), *name = db_val(r, i, 2);
        if (!strcmp(db_val(r, i, 1), "t") && strcmp(state, "cancelled") &&
            strcmp(state, "scheduled") && strcmp(state, "pending"))
            continue; /* adopted by the watcher (or already finished): fine */
        log_warn("attempt %s: the task moved on during submit (%s, try %s); cancelling it", name,
                 state, db_val(r, i, 3));
        pass_cancel(ps, db_val(r, i, 4), name);
    }
    return ERR_OK;
}

/* Writes where each attempt of the batch goes (SPEC_SQL's cluster), before any submit: a
 * crash after this leaves the watcher asking the right engine. */
static enum err record_where(struct pass *ps, struct pg_result *intent, size_t nrows,
                             struct pg_result *specs)
{
    struct buf ids, exs;
    const char *p[2];

    buf_init(&ids, ps->a, SIZE_MAX / 2);
    buf_init(&exs, ps->a, SIZE_MAX / 2);
    for (size_t i = 0; i < nrows; i++) {
        int64_t id = db_i64(intent, (int)i, 0), cluster = 0;
        for (int k = 0; k < db_rows(specs); k++)
            if (db_i64(specs, k, 0) == id)
                cluster = db_i64(specs, k, 2);
        buf_addf(&ids, "%s%" PRId64, i ? "," : "{", id);
        buf_addf(&exs, "%s%s", i ? "," : "{", cluster_executor_name(ps->a, cluster));
    }
    buf_addc(&ids, '}');
    buf_addc(&exs, '}');
    p[0] = buf_str(&ids);
    p[1] = buf_str(&exs);
    return db_query(ps->db, ps->a, WHERE_SQL, 2, p, NULL, NULL);
}

/* One batch; *picked counts the tasks it took. */
static enum err batch(struct pass *ps, void *arg)
{
    size_t *picked = arg;
    const char *p[2];
    struct pg_result *r, *rows, *intent, *specs;
    int64_t *ids, *ok_ids;
    int *ok_tries;
    size_t n, nrows, nok = 0, changed;
    int64_t started_us;
    enum err e;

    *picked = 0;
    p[0] = arena_printf(ps->a, "%" PRId64, cfg.exec_slots);
    p[1] = arena_printf(ps->a, "%d", DISPATCH_BATCH);
    if ((e = db_query_fresh(ps->db, ps->a, PICK_SQL, 2, p, &r, NULL)))
        return e;
    n = (size_t)db_rows(r);
    if (!n)
        return ERR_OK;
    ids = db_col_i64(ps->a, r, 0, &n);
    /* The intent, committed on its own before any executor call. */
    {
        struct state_task_set s = STATE_TASK_SET_INIT;
        s.try_delta = 1;
        if ((e = state_tasks_cas(ps->db, ps->a, ps->now_us, ids, n, FROM_SCHEDULED, 1, "submitting",
                                 NULL, "", ps->actor, &s, &nrows, &intent)))
            return e;
    }
    *picked = n;
    if (!nrows)
        return ERR_OK;
    state_failpoint("dispatch.after_intent");
    for (size_t i = 0; i < nrows; i++)
        ids[i] = db_i64(intent, (int)i, 0);
    p[0] = state_ids(ps->a, ids, nrows);
    if ((e = db_query(ps->db, ps->a, SPEC_SQL, 1, p, &specs, NULL)) ||
        (e = record_where(ps, intent, nrows, specs)))
        return e;

    ok_ids = arena_alloc(ps->a, nrows * sizeof(*ok_ids));
    ok_tries = arena_alloc(ps->a, nrows * sizeof(*ok_tries));
    for (size_t i = 0; i < nrows; i++) {
        int64_t id = db_i64(intent, (int)i, 0);
        int try_number = (int)db_i64(intent, (int)i, 2);
        int max_tries = (int)db_i64(intent, (int)i, 5);
        const char *name = db_val(intent, (int)i, 3), *err = NULL;
        int64_t cluster = 0;
        int row = -1;
        struct exec_spec spec;
        struct engine *g = NULL;
        int retries = 0;
        bool changed_one;

        for (int k = 0; k < db_rows(specs) && row < 0; k++)
            if (db_i64(specs, k, 0) == id) {
                row = k;
                cluster = db_i64(specs, k, 2);
            }
        if (!build_spec(ps->a, name, specs, row, &spec, &retries, &err)) {
            e = ERR_BADREQ;
        } else if ((e = cluster_set_engine(ps->clusters, ps->a, cluster, &g, &err))) {
            e = ERR_UNAVAILABLE; /* the cluster may be fixed or come back: a retry may pass */
        } else if ((e = engine_submit(g, &spec))) {
            err = *engine_last_error(g) ? arena_strdup(ps->a, engine_last_error(g))
                  : e == ERR_BADREQ     ? "the executor refused the attempt"
                                        : "the executor failed";
        }
        if (!e) {
            ok_ids[nok] = id;
            ok_tries[nok++] = try_number;
            continue;
        }
        log_warn("attempt %s: %s (%s)", name, err, err_name(e));
        /* An invalid attempt stays invalid: no retry (the spec, or a job the engine refused
         * as such: bad partition, resources over a limit); an engine failure may pass. */
        if ((e = state_task_fail(
                 ps->db, ps->a, ps->now_us, id, FROM_SUBMITTING, 1, try_number, max_tries, retries,
                 e != ERR_BADREQ && e != ERR_UNPROCESSABLE && e != ERR_CONFLICT,
                 arena_printf(ps->a, "submit failed: %s", err), ps->actor, NULL, &changed_one)))
            return e;
        ps->changed += changed_one;
    }
    if (nok)
        state_failpoint("dispatch.after_submit");
    /* Started now, not at the pass's start: a slot this batch took may have been freed by the
     * watcher during the pass, at a time later than the pass's start. */
    if ((e = sched_now(ps->db, ps->a, &started_us)) ||
        (e = state_tasks_cas(ps->db, ps->a, started_us, ok_ids, nok, FROM_SUBMITTING, 1, "running",
                             ok_tries, "", ps->actor, NULL, &changed, &rows)))
        return e;
    ps->changed += nrows;
    if (changed < nok && (e = moved_on(ps, ok_ids, ok_tries, nok, rows)))
        return e;
    return state_notify(ps->db, ps->a, "cube_watch");
}

enum err dispatch_pass(struct pass *ps)
{
    size_t picked;
    enum err e;

    for (;;) {
        if ((e = pass_batch(ps, batch, &picked)))
            return e;
        if (picked < DISPATCH_BATCH)
            return ERR_OK;
    }
}
