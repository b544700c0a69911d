/*
 * res_run.c — runs and what users do with them: run a pipeline (by hand, one
 * task alone, or a backfill over a range of cron ticks), watch runs
 * (workflow_modelview) and cron ticks (runhistory_modelview), their task
 * instances with attempts and logs, stop, re-run and clear, in-app
 * notifications and per-project webhooks.
 *
 * The state machine lives in fcgi/sched/; every route here is one call into
 * it, so the API, the scheduler and the watcher cannot disagree on a rule.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/crud.h"
#include "api/sql.h"
#include "core/cfg.h"
#include "core/cluster.h"
#include "core/exec.h"
#include "core/js.h"
#include "core/secretbox.h"
#include "res/res.h"
#include "sched/sched.h"
#include "core/common.h"

/* Runs of pipelines in the caller's projects. */
#define RUN_SCOPE                                                                 \
    "t.\"pipeline_id\" IN (SELECT p.\"id\" FROM \"pipeline\" p WHERE " MEMBER_OF( \
        "p.\"project_id\"") ")"
/* Who may stop or re-run: the pipeline's creator, the project's creators, admins. */
#define RUN_OWNER                                                                            \
    "t.\"pipeline_id\" IN (SELECT p.\"id\" FROM \"pipeline\" p WHERE p.\"created_by_fk\" = " \
    "{uid} OR " CREATOR_OF("p.\"project_id\"") ")"

static enum err sched_error(struct ctx *cx, enum err e, const char *err)
{
    if (e == ERR_UNAVAILABLE || e == ERR_DB || e == ERR_TIMEOUT)
        return resp_error(cx, e, "database unavailable, try again");
    return resp_error(cx, e, "%s", err ? err : err_name(e));
}

/* Whether the caller may act on the row (predicate over t, {uid}); 404 when invisible. */
static enum err may(struct ctx *cx, const struct resource *res, int64_t id, const char *owner,
                    const char *what)
{
    const char *row, *p[2] = {crud_i64(cx, id), crud_i64(cx, cx->user.id)};
    struct pg_result *r;
    struct buf sql;
    enum err e;

    if ((e = crud_fetch(cx, res, id, true, &row)))
        return e;
    if (!row)
        return resp_error(cx, ERR_NOT_FOUND,
                          "not found: the record does not exist or you may not see it");
    if (cx->user.admin || !owner)
        return ERR_OK;
    buf_init(&sql, cx->arena, 4096);
    buf_addf(&sql, "SELECT 1 FROM \"%s\" t WHERE t.\"id\" = $1::bigint AND (", res->table);
    sql_scope(&sql, owner, 2);
    buf_addc(&sql, ')');
    if ((e = db_query(cx->db, cx->arena, buf_str(&sql), 2, p, &r, NULL)))
        return resp_error(cx, e, "database unavailable, try again");
    if (!db_rows(r))
        return resp_error(cx, ERR_FORBIDDEN, "no permission to %s this %s", what, res->label);
    return ERR_OK;
}

/* ---- running pipelines --------------------------------------------------------------- */

static enum err start_run(struct ctx *cx, int64_t pipeline, const char *trigger,
                          const char *only_task)
{
    struct run_request rq = {0};
    const char *err = NULL;
    int64_t run;
    enum err e;

    rq.pipeline_id = pipeline;
    rq.trigger = trigger;
    rq.execution_date = clock_wall_s();
    rq.user_id = cx->user.id;
    rq.runner = cx->user.username;
    rq.only_task = only_task;
    if ((e = sched_run_create(cx->db, cx->arena, &rq, &run, &err)))
        return sched_error(cx, e, err);
    crud_changed(cx, &res_workflow);
    return crud_show(cx, &res_workflow, run);
}

/* POST pipeline <id>/run (and cube-studio's run_pipeline/<id>): creator or admin. */
enum err res_pipeline_run(struct ctx *cx, const struct resource *res, int64_t id)
{
    enum err e = may(cx, res, id, "t.\"created_by_fk\" = {uid}", "run");
    return e ? e : start_run(cx, id, "manual", NULL);
}

/* POST pipeline <id>/backfill {"start": time, "end": time}: one run per cron tick in the
 * range; ticks that already have a run are left alone. */
enum err res_pipeline_backfill(struct ctx *cx, const struct resource *res, int64_t id)
{
    json_object *body, *out;
    const char *msg, *p[2], *err = NULL;
    struct pg_result *r;
    size_t created = 0, existing = 0;
    enum err e;

    if ((e = may(cx, res, id, "t.\"created_by_fk\" = {uid}", "run")))
        return e;
    if (!cx->req.body || !req_is_json(cx) ||
        !(body = js_parse(cx->arena, cx->req.body, cx->req.body_len, &msg)))
        return resp_error(cx, ERR_BADREQ, "expected JSON {\"start\": time, \"end\": time}");
    p[0] = js_get_str(body, "start");
    p[1] = js_get_str(body, "end");
    if (!p[0] || !p[1])
        return resp_error(cx, ERR_BADREQ, "start, end: required, as date-times");
    /* PostgreSQL parses the times, in all the forms it accepts. */
    e = db_query(cx->db, cx->arena,
                 "SELECT extract(epoch FROM $1::timestamptz)::bigint, extract(epoch FROM "
                 "$2::timestamptz)::bigint",
                 2, p, &r, NULL);
    if (e == ERR_BADREQ)
        return resp_error(cx, e, "start, end: expected date-times like 2026-01-31T00:00:00Z");
    if (e)
        return resp_error(cx, e, "database unavailable, try again");
    if ((e = sched_backfill(cx->db, cx->arena, id, db_i64(r, 0, 0), db_i64(r, 0, 1), cx->user.id,
                            cx->user.username, &created, &existing, &err)))
        return sched_error(cx, e, err);
    crud_changed(cx, &res_workflow);
    out = json_object_new_object();
    json_object_object_add(out, "created", json_object_new_int64((int64_t)created));
    json_object_object_add(out, "existing", json_object_new_int64((int64_t)existing));
    resp_ok(cx, out);
    return ERR_OK;
}

/* POST task <id>/run: the task alone, in a run of its own (cube-studio's task "run"). */
enum err res_task_run(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *row;
    json_object *t;
    enum err e;

    if ((e = may(cx, res, id,
                 "t.\"pipeline_id\" IN (SELECT p.\"id\" FROM \"pipeline\" p WHERE "
                 "p.\"created_by_fk\" = {uid})",
                 "run")))
        return e;
    if ((e = crud_fetch(cx, res, id, false, &row)) || !row)
        return e ? e : resp_error(cx, ERR_NOT_FOUND, "not found");
    t = crud_parse(cx, row);
    return start_run(cx, json_object_get_int64(js_get(js_get(t, "pipeline"), "id")), "task",
                     js_get_str(t, "name"));
}

/* GET task <id>/suggestion: resources for the next run from the last runs' peaks
 * (cube-studio's rule, peak x 1.4 + 2). */
enum err res_task_suggestion(struct ctx *cx, const struct resource *res, int64_t id)
{
    struct sched_suggestion sg;
    json_object *out;
    enum err e;

    if ((e = may(cx, res, id, NULL, "read")))
        return e;
    if ((e = sched_task_suggestion(cx->db, cx->arena, id, &sg)))
        return sched_error(cx, e, NULL);
    out = json_object_new_object();
    json_object_object_add(out, "samples", json_object_new_int(sg.samples));
    if (sg.samples) {
        json_object_object_add(out, "peak_rss_kb", json_object_new_int64(sg.peak_rss_kb));
        json_object_object_add(out, "cpu_cores_used", json_object_new_double(sg.cpu_cores));
        json_object_object_add(out, "resource_cpu",
                               js_new_str(arena_printf(cx->arena, "%" PRId64, sg.cpu)));
        json_object_object_add(out, "resource_memory",
                               js_new_str(arena_printf(cx->arena, "%" PRId64 "G", sg.mem_gb)));
    }
    resp_ok(cx, out);
    return ERR_OK;
}

/* ---- runs ------------------------------------------------------------------------------ */

typedef enum err sched_op_fn(struct db *db, struct arena *a, int64_t id, const char *actor,
                             const char **err);

/* One state-machine operation on a row the caller owns; answers with the row afterwards. */
static enum err row_op(struct ctx *cx, const struct resource *res, int64_t id, const char *owner,
                       const char *what, sched_op_fn *op)
{
    const char *err = NULL;
    enum err e = may(cx, res, id, owner, what);
    if (e)
        return e;
    if ((e = op(cx->db, cx->arena, id, cx->user.username, &err)))
        return sched_error(cx, e, err);
    crud_changed(cx, res);
    return crud_show(cx, res, id);
}

static enum err run_stop(struct ctx *cx, const struct resource *res, int64_t id)
{
    return row_op(cx, res, id, RUN_OWNER, "stop", sched_run_cancel);
}

static enum err run_rerun(struct ctx *cx, const struct resource *res, int64_t id)
{
    return row_op(cx, res, id, RUN_OWNER, "re-run", sched_run_rerun);
}

static enum err stop_action(struct ctx *cx, const struct resource *res, const int64_t *ids,
                            size_t n, json_object **result)
{
    json_object *ok = json_object_new_array(), *fail = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        const char *err = NULL;
        if (!may(cx, res, ids[i], RUN_OWNER, "stop") &&
            !sched_run_cancel(cx->db, cx->arena, ids[i], cx->user.username, &err))
            json_object_array_add(ok, json_object_new_int64(ids[i]));
        else
            json_object_array_add(fail, json_object_new_int64(ids[i]));
    }
    crud_changed(cx, res);
    *result = json_object_new_object();
    json_object_object_add(*result, "success", ok);
    json_object_object_add(*result, "fail", fail);
    return ERR_OK;
}

static const struct action run_actions[] = {
    {"stop", "Stop", "Stop the selected runs?", "fa-stop", true, true, false, stop_action},
};

static const struct res_route run_routes[] = {
    {"POST", "{id}/stop", run_stop},
    {"POST", "{id}/rerun", run_rerun},
};

static const char *const run_states[] = {"queued",     "running",   "succeeded", "failed",
                                         "cancelling", "cancelled", "skipped",   NULL};
static const char *const triggers[] = {"cron", "manual", "backfill", "task", NULL};

/* "tasks": a run not yet admitted has no task instances; its snapshot's tasks count as pending. */
#define RUN_COLS                                                                                  \
    RES_ID_COL,                                                                                   \
        {.name = "pipeline",                                                                      \
         .type = COL_REL,                                                                         \
         .flags = COL_RO,                                                                         \
         .label = "Pipeline",                                                                     \
         .fk = "pipeline_id",                                                                     \
         .rel_table = "pipeline",                                                                 \
         .rel_display = "name"},                                                                  \
        {.name = "trigger",                                                                       \
         .type = COL_ENUM,                                                                        \
         .flags = COL_RO,                                                                         \
         .label = "Trigger",                                                                      \
         .choices = triggers},                                                                    \
        {.name = "cron_tick",                                                                     \
         .type = COL_TIME,                                                                        \
         .flags = COL_RO | COL_NULLABLE,                                                          \
         .label = "Cron tick"},                                                                   \
        {.name = "execution_date", .type = COL_TIME, .flags = COL_RO, .label = "Execution date"}, \
        {.name = "state",                                                                         \
         .type = COL_ENUM,                                                                        \
         .flags = COL_RO,                                                                         \
         .label = "State",                                                                        \
         .choices = run_states},                                                                  \
        {.name = "reason", .type = COL_TEXT, .flags = COL_LIST | COL_SHOW, .label = "Reason"},    \
        {.name = "tasks",                                                                         \
         .type = COL_JSON,                                                                        \
         .flags = COL_LIST | COL_SHOW,                                                            \
         .label = "Tasks by state",                                                               \
         .sql = "SELECT coalesce(json_object_agg(x.\"state\", x.n), (SELECT CASE WHEN "           \
                "count(*) > 0 THEN json_build_object('pending', count(*)) ELSE '{}' END "         \
                "FROM jsonb_object_keys(t.\"dag_snapshot\"->'tasks'))) FROM (SELECT "             \
                "ti.\"state\", count(*) n FROM \"task_instance\" ti WHERE ti.\"run_id\" = "       \
                "t.\"id\" GROUP BY ti.\"state\") x"},                                             \
        {.name = "created_by",                                                                    \
         .type = COL_REL,                                                                         \
         .flags = COL_LIST | COL_SHOW | COL_SEARCH,                                               \
         .label = "Started by",                                                                   \
         .fk = "created_by_fk",                                                                   \
         .rel_table = "users",                                                                    \
         .rel_display = "username"},                                                              \
        {.name = "dag_snapshot", .type = COL_JSON, .flags = COL_SHOW, .label = "Snapshot"},       \
        {.name = "queued_at", .type = COL_TIME, .flags = COL_RO, .label = "Queued"},              \
        {.name = "started_at",                                                                    \
         .type = COL_TIME,                                                                        \
         .flags = COL_RO | COL_NULLABLE,                                                          \
         .label = "Started"},                                                                     \
    {                                                                                             \
        .name = "finished_at", .type = COL_TIME, .flags = COL_RO | COL_NULLABLE,                  \
        .label = "Finished"                                                                       \
    }

static const struct column run_cols[] = {RUN_COLS};

const struct resource res_workflow = {
    .view = "workflow_modelview",
    .table = "run",
    .label = "Run",
    .cols = run_cols,
    .ncols = ARRAY_LEN(run_cols),
    .ops = OP_LIST | OP_SHOW,
    .flags = RES_LIVE,
    .scope = RUN_SCOPE,
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .actions = run_actions,
    .nactions = ARRAY_LEN(run_actions),
    .routes = run_routes,
    .nroutes = ARRAY_LEN(run_routes),
    .menu = {"train", "Training", "Runs", "fa-play"},
};

const struct resource res_runhistory = {
    .view = "runhistory_modelview",
    .table = "run",
    .label = "Cron run",
    .cols = run_cols,
    .ncols = ARRAY_LEN(run_cols),
    .ops = OP_LIST | OP_SHOW,
    .flags = RES_LIVE,
    .base_filter = "t.\"trigger\" IN ('cron', 'backfill')",
    .scope = RUN_SCOPE,
    .order_col = "cron_tick",
    .order_dir = "desc",
    .page_size = 100,
    .actions = run_actions,
    .nactions = ARRAY_LEN(run_actions),
    .routes = run_routes,
    .nroutes = ARRAY_LEN(run_routes),
    .menu = {"train", "Training", "Run history", "fa-history"},
};

/* ---- task instances and logs ---------------------------------------------------------- */

/* The local executor, for reading logs (this process never submits). */
struct executor *res_local_executor(void)
{
    static struct executor *x;
    if (!x)
        x = exec_local_open_configured();
    return x;
}

/* The attempt name of a task instance's try (?try=N, default the latest), and the engine that
 * has it (*g, the caller's to engine_close; NULL with *name when no engine can be had). */
static enum err attempt_of(struct ctx *cx, int64_t id, const char **name, struct engine **g)
{
    const char *tr = req_query(cx, "try"), *p[2] = {crud_i64(cx, id), tr};
    struct pg_result *r;
    int64_t n;
    enum err e;

    if (tr && !parse_i64(tr, 1, 100000, &n))
        return resp_error(cx, ERR_BADREQ, "try: expected a positive integer");
    e = db_query(cx->db, cx->arena,
                 "SELECT \"external_name\", \"executor\" FROM \"task_attempt\" "
                 "WHERE \"task_instance_id\" = "
                 "$1::bigint AND ($2::int IS NULL OR \"try_number\" = $2::int) ORDER BY "
                 "\"try_number\" DESC LIMIT 1",
                 2, p, &r, NULL);
    if (e)
        return resp_error(cx, e, "database unavailable, try again");
    *name = db_rows(r) ? db_val(r, 0, 0) : NULL;
    *g = NULL;
    if (*name) {
        const char *why = "";
        int64_t cluster;
        if (!cluster_executor_id(db_val(r, 0, 1), &cluster) ||
            ((e = cluster_open(cx->db, cx->arena, cluster, res_local_executor(), g, &why)) &&
             !*why))
            return resp_error(cx, e ? e : ERR_INTERNAL, "the attempt's engine is unknown");
        if (e)
            return resp_error(cx, ERR_UNAVAILABLE, "the log cannot be read now: %s", why);
    }
    return ERR_OK;
}

/* GET task_instance <id>/log?offset=N[&try=K]: the next chunk, for live tailing. */
static enum err ti_log(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *name, *off = req_query(cx, "offset"), *data = "";
    int64_t offset = 0, next = 0;
    size_t len = 0;
    bool eof = true;
    struct engine *g = NULL;
    json_object *out;
    enum err e;

    if (off && !parse_i64(off, 0, INT64_MAX, &offset))
        return resp_error(cx, ERR_BADREQ, "offset: expected a non-negative integer");
    if ((e = may(cx, res, id, NULL, "read")) || (e = attempt_of(cx, id, &name, &g)))
        return e;
    next = offset;
    e = g ? engine_log(g, cx->arena, name, offset, 256 * 1024, &data, &len, &next, &eof) : ERR_OK;
    if (e) {
        const char *why = arena_strdup(cx->arena, engine_last_error(g));
        engine_close(g);
        return resp_error(cx, ERR_UNAVAILABLE, "the log cannot be read now%s%s", *why ? ": " : "",
                          why);
    }
    engine_close(g);
    out = json_object_new_object();
    json_object_object_add(out, "data", json_object_new_string_len(data, (int)len));
    json_object_object_add(out, "offset", json_object_new_int64(offset));
    json_object_object_add(out, "next", json_object_new_int64(next));
    json_object_object_add(out, "eof", json_object_new_boolean(eof));
    json_object_object_add(out, "attempt", name ? json_object_new_string(name) : NULL);
    resp_ok(cx, out);
    return ERR_OK;
}

/* GET task_instance <id>/log/download: the whole log as a file. */
static enum err ti_log_download(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *name, *path;
    struct engine *g = NULL;
    enum err e;

    if ((e = may(cx, res, id, NULL, "read")) || (e = attempt_of(cx, id, &name, &g)))
        return e;
    if (!name) {
        engine_close(g);
        return resp_error(cx, ERR_NOT_FOUND, "no log for this task yet");
    }
    buf_truncate(&cx->resp.body, 0);
    if (engine_kind_of(g) == ENGINE_LOCAL) {
        /* The file itself: a finished attempt's log may be larger than one engine_log read. */
        char chunk[65536];
        size_t n;
        FILE *f = NULL;
        engine_close(g);
        if (!(path = exec_log_path(res_local_executor(), cx->arena, name)) ||
            !(f = fopen(path, "rb")))
            return resp_error(cx, ERR_NOT_FOUND, "no log for this task yet");
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            buf_add(&cx->resp.body, chunk, n);
        fclose(f);
    } else {
        int64_t off = 0, next = 0;
        bool eof = false;
        while (!eof && !buf_err(&cx->resp.body)) {
            const char *data;
            size_t len;
            if ((e = engine_log(g, cx->arena, name, off, 1 << 20, &data, &len, &next, &eof)))
                break;
            buf_add(&cx->resp.body, data, len);
            if (!len)
                break;
            off = next;
        }
        engine_close(g);
        if (e)
            return resp_error(cx, e == ERR_NOT_FOUND ? e : ERR_UNAVAILABLE,
                              "the log cannot be read now");
    }
    if (buf_err(&cx->resp.body))
        return resp_error(cx, ERR_TOOBIG, "the log is too large to download here");
    cx->resp.status = 200;
    cx->resp.content_type = "text/plain; charset=utf-8";
    resp_header(cx, "Content-Disposition: attachment; filename=\"%s.log\"", name);
    return ERR_OK;
}

static enum err ti_clear(struct ctx *cx, const struct resource *res, int64_t id)
{
    return row_op(cx, res, id,
                  "t.\"run_id\" IN (SELECT r.\"id\" FROM \"run\" r WHERE "
                  "r.\"pipeline_id\" IN (SELECT p.\"id\" FROM \"pipeline\" p WHERE "
                  "p.\"created_by_fk\" = {uid} OR " CREATOR_OF("p.\"project_id\"") "))",
                  "clear", sched_task_clear);
}

static const struct res_route ti_routes[] = {
    {"GET", "{id}/log", ti_log},
    {"GET", "{id}/log/download", ti_log_download},
    {"POST", "{id}/clear", ti_clear},
};

static const char *const ti_states[] = {
    "pending",         "scheduled", "submitting", "running", "up_for_retry", "succeeded", "failed",
    "upstream_failed", "skipped",   "cancelled",  NULL};

static const struct column ti_cols[] = {
    RES_ID_COL,
    {.name = "run",
     .type = COL_REL,
     .flags = COL_RO,
     .label = "Run",
     .fk = "run_id",
     .rel_table = "run",
     .rel_display = "state"},
    {.name = "task_key", .type = COL_TEXT, .flags = COL_RO, .label = "Task"},
    {.name = "task_id", .type = COL_INT, .flags = COL_RO | COL_NULLABLE, .label = "Task id"},
    {.name = "state", .type = COL_ENUM, .flags = COL_RO, .label = "State", .choices = ti_states},
    {.name = "try_number", .type = COL_INT, .flags = COL_RO, .label = "Try"},
    {.name = "max_tries", .type = COL_INT, .flags = COL_LIST | COL_SHOW, .label = "Max tries"},
    {.name = "exit_code", .type = COL_INT, .flags = COL_RO | COL_NULLABLE, .label = "Exit code"},
    {.name = "reason", .type = COL_TEXT, .flags = COL_LIST | COL_SHOW, .label = "Reason"},
    {.name = "started_at", .type = COL_TIME, .flags = COL_RO | COL_NULLABLE, .label = "Started"},
    {.name = "finished_at", .type = COL_TIME, .flags = COL_RO | COL_NULLABLE, .label = "Finished"},
    {.name = "next_retry_at",
     .type = COL_TIME,
     .flags = COL_SHOW | COL_NULLABLE,
     .label = "Next retry"},
    {.name = "peak_rss_kb",
     .type = COL_INT,
     .flags = COL_RO | COL_NULLABLE,
     .label = "Peak memory (KiB)"},
    {.name = "cpu_seconds",
     .type = COL_FLOAT,
     .flags = COL_RO | COL_NULLABLE,
     .label = "CPU time (s)"},
    {.name = "external_name",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_NULLABLE,
     .label = "Attempt"},
    {.name = "attempts",
     .type = COL_JSON,
     .flags = COL_SHOW,
     .label = "Attempts",
     .sql = "SELECT coalesce(json_agg(json_build_object('try', a.\"try_number\", 'state', "
            "a.\"state\", 'exit_code', a.\"exit_code\", 'reason', a.\"reason\", 'started_at', "
            "a.\"started_at\", 'finished_at', a.\"finished_at\", 'peak_rss_kb', "
            "a.\"peak_rss_kb\", 'cpu_seconds', a.\"cpu_seconds\") ORDER BY a.\"try_number\"), "
            "'[]') FROM \"task_attempt\" a WHERE a.\"task_instance_id\" = t.\"id\""},
};

const struct resource res_task_instance = {
    .view = "task_instance",
    .table = "task_instance",
    .label = "Task instance",
    .cols = ti_cols,
    .ncols = ARRAY_LEN(ti_cols),
    .ops = OP_LIST | OP_SHOW,
    .flags = RES_LIVE,
    .scope = "t.\"run_id\" IN (SELECT r.\"id\" FROM \"run\" r WHERE r.\"pipeline_id\" IN "
             "(SELECT p.\"id\" FROM \"pipeline\" p WHERE " MEMBER_OF("p.\"project_id\"") "))",
    .order_col = "id",
    .order_dir = "asc",
    .page_size = 1000,
    .routes = ti_routes,
    .nroutes = ARRAY_LEN(ti_routes),
};

/* ---- notifications and webhooks --------------------------------------------------------- */

static enum err mark_read(struct ctx *cx, const struct resource *res, const int64_t *ids, size_t n,
                          json_object **result)
{
    const char **elems = arena_alloc(cx->arena, (n ? n : 1) * sizeof(*elems)), *p[2];
    struct pg_result *r;
    enum err e;

    for (size_t i = 0; i < n; i++)
        elems[i] = crud_i64(cx, ids[i]);
    p[0] = sql_array_literal(cx->arena, elems, n);
    p[1] = crud_i64(cx, cx->user.id);
    if ((e = db_query(cx->db, cx->arena,
                      "UPDATE \"notification\" SET \"read\" = true WHERE \"id\" = "
                      "ANY($1::bigint[]) AND \"user_id\" = $2::bigint",
                      2, p, &r, NULL)))
        return resp_error(cx, e, "database unavailable, try again");
    crud_changed(cx, res);
    *result = json_object_new_object();
    json_object_object_add(*result, "read", json_object_new_int64((int64_t)n));
    return ERR_OK;
}

/* GET notification_modelview/unread: the bell's number. */
static enum err unread(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *p[] = {crud_i64(cx, cx->user.id)};
    struct pg_result *r;
    json_object *out;
    enum err e;
    (void)res;
    (void)id;
    if ((e = db_query(cx->db, cx->arena,
                      "SELECT count(*) FROM \"notification\" WHERE \"user_id\" = $1::bigint AND "
                      "NOT \"read\"",
                      1, p, &r, NULL)))
        return resp_error(cx, e, "database unavailable, try again");
    out = json_object_new_object();
    json_object_object_add(out, "unread", json_object_new_int64(db_i64(r, 0, 0)));
    resp_ok(cx, out);
    return ERR_OK;
}

static const struct action notification_actions[] = {
    {"read", "Mark read", "Mark the selected notifications read?", "fa-check", true, true, false,
     mark_read},
};

static const struct res_route notification_routes[] = {
    {"GET", "unread", unread},
};

static const struct column notification_cols[] = {
    RES_ID_COL,
    {.name = "title", .type = COL_TEXT, .flags = COL_RO, .label = "Title"},
    {.name = "body", .type = COL_TEXT, .flags = COL_LIST | COL_SHOW, .label = "Message"},
    {.name = "run_id", .type = COL_INT, .flags = COL_RO | COL_NULLABLE, .label = "Run"},
    {.name = "read", .type = COL_BOOL, .flags = COL_RO | COL_EDIT, .label = "Read"},
    {.name = "created_on", .type = COL_TIME, .flags = COL_RO, .label = "Time"},
};

const struct resource res_notification = {
    .view = "notification_modelview",
    .table = "notification",
    .label = "Notification",
    .cols = notification_cols,
    .ncols = ARRAY_LEN(notification_cols),
    .ops = OP_LIST | OP_SHOW | OP_EDIT | OP_DELETE,
    .flags = RES_SCOPE_ADMIN | RES_LIVE,
    .scope = "t.\"user_id\" = {uid}",
    .edit_scope = "t.\"user_id\" = {uid}",
    .delete_scope = "t.\"user_id\" = {uid}",
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .actions = notification_actions,
    .nactions = ARRAY_LEN(notification_actions),
    .routes = notification_routes,
    .nroutes = ARRAY_LEN(notification_routes),
    .menu = {"me", "Me", "Notifications", "fa-bell"},
};

static enum err webhook_pre_write(struct ctx *cx, struct write *w)
{
    const char **secret = write_slot(w, "secret"), **events = write_slot(w, "events"), *sealed;
    static const char *const known[] = {"queued", "running",   "succeeded",
                                        "failed", "cancelled", "skipped"};
    enum err e;

    if (events && *events) {
        for (const char *s = *events; *s;) {
            size_t len = strcspn(s, ", ");
            bool ok = !len;
            for (size_t i = 0; i < ARRAY_LEN(known) && !ok; i++)
                ok = strlen(known[i]) == len && !strncmp(s, known[i], len);
            if (!ok)
                return resp_error(cx, ERR_UNPROCESSABLE, "events: unknown state '%.*s'", (int)len,
                                  s);
            s += len;
            s += strspn(s, ", ");
        }
    }
    if (secret && *secret && **secret) {
        if ((e = secretbox_seal(cx->arena, cfg.secret_key, *secret, &sealed)))
            return resp_error(cx, e, "secret: cannot be stored");
        *secret = sealed;
    }
    return ERR_OK;
}

/* GET webhook <id>/deliveries: the delivery log. */
static enum err deliveries(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *p[] = {crud_i64(cx, id)};
    struct pg_result *r;
    enum err e;

    if ((e = may(cx, res, id, NULL, "read")))
        return e;
    if ((e = db_query(cx->db, cx->arena,
                      "SELECT coalesce(json_agg(json_build_object('id', d.\"id\", 'outbox_id', "
                      "d.\"outbox_id\", 'attempts', d.\"attempts\", 'status', d.\"status\", "
                      "'error', d.\"error\", 'delivered', d.\"delivered\", 'next_attempt_at', "
                      "d.\"next_attempt_at\", 'changed_on', d.\"changed_on\") ORDER BY d.\"id\" "
                      "DESC), '[]')::text FROM (SELECT * FROM \"webhook_delivery\" WHERE "
                      "\"webhook_id\" = $1::bigint ORDER BY \"id\" DESC LIMIT 200) d",
                      1, p, &r, NULL)))
        return resp_error(cx, e, "database unavailable, try again");
    resp_ok_raw(cx, db_val(r, 0, 0));
    return ERR_OK;
}

static const struct res_route webhook_routes[] = {
    {"GET", "{id}/deliveries", deliveries},
};

static const struct column webhook_cols[] = {
    RES_ID_COL,
    {.name = "project",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_REQUIRED,
     .label = "Project",
     .fk = "project_id",
     .rel_table = "project",
     .rel_display = "name"},
    {.name = "name", .type = COL_TEXT, .flags = COL_RW, .label = "Name", .max_len = 100},
    {.name = "url",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED,
     .label = "URL",
     .max_len = 2000,
     .regex = "^https?://[^ ]+$"},
    {.name = "secret",
     .type = COL_TEXT,
     .flags = COL_ADD | COL_EDIT | COL_SECRET,
     .label = "Secret",
     .description = "signs each body: X-Cube-Signature: sha256=<HMAC>",
     .max_len = 500},
    {.name = "events",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Events",
     .description = "run states, comma separated",
     .def = "succeeded,failed,cancelled",
     .max_len = 200},
    {.name = "active", .type = COL_BOOL, .flags = COL_RW, .label = "Active", .def = "true"},
    RES_AUDIT_COLS,
};

const struct resource res_webhook = {
    .view = "webhook_modelview",
    .table = "webhook",
    .label = "Webhook",
    .cols = webhook_cols,
    .ncols = ARRAY_LEN(webhook_cols),
    .ops = OP_CRUD,
    .flags = RES_AUDIT,
    .scope = MEMBER_OF("t.\"project_id\""),
    .edit_scope = CREATOR_OF("t.\"project_id\""),
    .delete_scope = CREATOR_OF("t.\"project_id\""),
    .add_check = CREATOR_OF("v.\"project_id\""),
    .add_check_msg = "project: only the project's creators manage its webhooks",
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .pre_write = webhook_pre_write,
    .routes = webhook_routes,
    .nroutes = ARRAY_LEN(webhook_routes),
    .menu = {"project", "Project space", "Webhooks", "fa-plug"},
};
