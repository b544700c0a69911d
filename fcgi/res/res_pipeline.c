/*
 * res_pipeline.c — pipelines (DAGs of tasks) and their tasks.
 *
 * A pipeline belongs to a project: its members see it, its creator (or an
 * admin) changes it.  Every save validates what cube-studio let through: the
 * DAG (cycles named, unknown and self edges refused — cube-studio's check
 * never fired), the cron expression and time zone, the env lines and alert
 * settings.  A task's args are validated and coerced against its template's
 * schema, and adding, renaming or deleting a task keeps the pipeline's
 * dag_json and the editor's expand consistent in the same transaction.
 *
 * Besides CRUD: GET <id>/dag (the validated DAG in topological order),
 * GET <id>/export, POST import, action copy, and GET task <id>/render (the
 * exact argv and environment the executor will run).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/crud.h"
#include "core/argschema.h"
#include "core/cron.h"
#include "core/dag.h"
#include "core/js.h"
#include "core/render.h"
#include "res/res.h"
#include "core/common.h"

/* ---- small helpers ------------------------------------------------------------------------ */

/* The stored row being updated, as a JSON object; NULL on add, and when the caller cannot
 * see it (validation then says nothing, and the update itself answers 404). */
static json_object *stored_row(struct ctx *cx, struct write *w)
{
    const char *row;
    if (w->is_add || crud_fetch(cx, w->res, w->id, true, &row))
        return NULL;
    return crud_parse(cx, row);
}

/* A written value if given, else the stored one (as text). */
static const char *value_or_stored(struct write *w, json_object *stored, const char *col)
{
    const char **v = write_slot(w, col), *given = v ? *v : NULL;
    json_object *o;
    if (given)
        return given;
    o = js_get(stored, col);
    return o ? json_object_get_string(o) : NULL;
}

/* Names of the tasks of a pipeline (arena). */
static enum err task_names(struct ctx *cx, int64_t pipeline, const char ***names, size_t *n)
{
    const char *p[] = {crud_i64(cx, pipeline)};
    struct pg_result *r;
    enum err e = db_query(cx->db, cx->arena,
                          "SELECT \"name\" FROM \"task\" WHERE \"pipeline_id\" = $1::bigint "
                          "ORDER BY \"id\"",
                          1, p, &r, NULL);
    if (e)
        return resp_error(cx, e, "database unavailable, try again");
    *n = (size_t)db_rows(r);
    *names = arena_alloc(cx->arena, (*n + 1) * sizeof(**names));
    for (size_t i = 0; i < *n; i++)
        (*names)[i] = db_val(r, (int)i, 0);
    return ERR_OK;
}

/* ---- pipelines ---------------------------------------------------------------------------- */

/* Run states an alert can name; cube-studio's names are accepted and mapped. */
static const struct {
    const char *name, *ours;
} alert_states[] = {
    {"queued", "queued"},  {"running", "running"},     {"succeeded", "succeeded"},
    {"failed", "failed"},  {"cancelled", "cancelled"}, {"skipped", "skipped"},
    {"pending", "queued"}, {"created", "queued"},      {"terminated", "cancelled"},
};

static enum err normalise_alert_status(struct ctx *cx, const char **v)
{
    struct buf b;
    const char *s = *v;

    buf_init(&b, cx->arena, 1024);
    while (*s) {
        size_t len = strcspn(s, ", ");
        bool known = false;
        if (len) {
            for (size_t i = 0; i < ARRAY_LEN(alert_states) && !known; i++) {
                if (strlen(alert_states[i].name) == len &&
                    !strncasecmp(s, alert_states[i].name, len)) {
                    known = true;
                    if (!strstr(buf_str(&b), alert_states[i].ours))
                        buf_addf(&b, "%s%s", b.len ? "," : "", alert_states[i].ours);
                }
            }
            if (!known)
                return resp_error(cx, ERR_UNPROCESSABLE,
                                  "alert_status: unknown state '%.*s' (use queued, running, "
                                  "succeeded, failed, cancelled, skipped)",
                                  (int)len, s);
        }
        s += len;
        s += strspn(s, ", ");
    }
    *v = buf_str(&b);
    return ERR_OK;
}

static enum err check_alert_users(struct ctx *cx, const char *v)
{
    while (*v) {
        size_t len = strcspn(v, ", ");
        for (size_t i = 0; i < len; i++) {
            char c = v[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                return resp_error(cx, ERR_UNPROCESSABLE, "alert_user: '%.*s' is not a username",
                                  (int)len, v);
        }
        v += len;
        v += strspn(v, ", ");
    }
    return ERR_OK;
}

static enum err pipeline_pre_write(struct ctx *cx, struct write *w)
{
    json_object *stored = stored_row(cx, w), *dag_json = write_json(cx, w, "dag_json");
    const char **cron = write_slot(w, "cron_time"), **tz = write_slot(w, "timezone");
    const char **env = write_slot(w, "global_env"), **alert = write_slot(w, "alert_status");
    const char **users = write_slot(w, "alert_user");
    const char *sched = value_or_stored(w, stored, "schedule_type");
    const char *cron_text = value_or_stored(w, stored, "cron_time"), *err;
    struct cron_expr ce;
    char cerr[256];
    enum err e;

    if (!w->is_add && !stored)
        return ERR_OK; /* invisible: no validation message may describe it */
    if (w->is_add) {
        /* Pipelines live in team projects; template categories hold templates. */
        const char **proj = write_slot(w, "project"), *p[1];
        struct pg_result *r;
        p[0] = proj ? *proj : NULL;
        if (p[0] && (e = db_query(cx->db, cx->arena,
                                  "SELECT \"type\" FROM \"project\" WHERE \"id\" = $1::bigint", 1,
                                  p, &r, NULL)))
            return resp_error(cx, e, "database unavailable, try again");
        if (p[0] && db_rows(r) && strcmp(db_val(r, 0, 0), "org"))
            return resp_error(cx, ERR_UNPROCESSABLE,
                              "project: pipelines belong to team projects (type org)");
    }
    if (cron && *cron && **cron && !cron_parse(*cron, &ce, cerr, sizeof(cerr)))
        return resp_error(cx, ERR_UNPROCESSABLE, "cron_time: %s", cerr);
    if (sched && !strcmp(sched, "crontab") && (!cron_text || !*cron_text))
        return resp_error(cx, ERR_UNPROCESSABLE,
                          "cron_time: required when schedule_type is crontab");
    if (tz && *tz && !cron_tz_valid(*tz))
        return resp_error(cx, ERR_UNPROCESSABLE, "timezone: unknown time zone '%s'", *tz);
    if (env && *env) {
        struct env_var *vars;
        size_t n;
        if (render_env_lines(cx->arena, *env, "global_env", &vars, &n, &err))
            return resp_error(cx, ERR_UNPROCESSABLE, "%s", err);
        for (size_t i = 0; i < n; i++)
            if (!strncmp(vars[i].key, "KFJ_", 4))
                return resp_error(cx, ERR_UNPROCESSABLE,
                                  "global_env: %s is set by Cube itself (KFJ_ is reserved)",
                                  vars[i].key);
    }
    if (alert && *alert && (e = normalise_alert_status(cx, alert)))
        return e;
    if (users && *users && (e = check_alert_users(cx, *users)))
        return e;
    if (dag_json) {
        const char **names = NULL;
        size_t n = 0;
        struct dag *d;
        if (!w->is_add && (e = task_names(cx, w->id, &names, &n)))
            return e;
        if (!(d = dag_build(cx->arena, dag_json, names, n, &err)))
            return resp_error(cx, ERR_UNPROCESSABLE, "%s", err);
        *write_slot(w, "dag_json") =
            arena_strdup(cx->arena, js_str(js_own(cx->arena, dag_to_json(d))));
    }
    return ERR_OK;
}

static const char *const schedule_types[] = {"once", "crontab", NULL};

static const struct column pipeline_cols[] = {
    RES_ID_COL,
    {.name = "project",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_ORDER | COL_REQUIRED,
     .label = "Project",
     .fk = "project_id",
     .rel_table = "project",
     .rel_display = "name"},
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED | COL_UNIQUE,
     .label = "Name",
     .description = "lowercase letters, digits and inner dashes",
     .max_len = 54,
     .min_len = 2,
     .regex = NAME_REGEX},
    {.name = "describe", .type = COL_TEXT, .flags = COL_RW, .label = "Description", .max_len = 500},
    {.name = "dag_json",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "DAG",
     .description = "{task: {\"upstream\": [task, ...]}}",
     .def = "{}"},
    {.name = "expand",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Layout",
     .description = "the editor's nodes and edges",
     .def = "[]"},
    {.name = "global_env",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT | COL_TEXTAREA,
     .label = "Environment",
     .description = "KEY=value lines given to every task",
     .max_len = 20000},
    {.name = "schedule_type",
     .type = COL_ENUM,
     .flags = COL_RW,
     .label = "Schedule",
     .choices = schedule_types,
     .def = "once"},
    {.name = "cron_time",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Cron",
     .description = "minute hour day-of-month month day-of-week",
     .max_len = 100},
    {.name = "cronjob_start_time",
     .type = COL_TIME,
     .flags = COL_RW | COL_NULLABLE,
     .label = "Schedule from",
     .description = "first cron tick to run (backfill start)"},
    {.name = "timezone",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Time zone",
     .description = "IANA name the cron is read in, e.g. Asia/Shanghai",
     .max_len = 64,
     .def = "UTC"},
    {.name = "depends_on_past",
     .type = COL_BOOL,
     .flags = COL_RW,
     .label = "Depends on past",
     .description = "a tick runs only after the previous tick succeeded",
     .def = "false"},
    {.name = "max_active_runs",
     .type = COL_INT,
     .flags = COL_RW,
     .label = "Max active runs",
     .def = "3"},
    {.name = "expired_limit",
     .type = COL_INT,
     .flags = COL_RW,
     .label = "Keep newest ticks",
     .description = "0: run every tick; N: skip all but the newest N pending ticks",
     .def = "0"},
    {.name = "parallelism",
     .type = COL_INT,
     .flags = COL_RW,
     .label = "Parallelism",
     .description = "tasks of one run at once",
     .def = "1"},
    {.name = "alert_status",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Alert on",
     .description = "comma-separated run states",
     .def = "queued,running,succeeded,failed,cancelled",
     .max_len = 200},
    {.name = "alert_user",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Alert users",
     .description = "comma-separated usernames",
     .max_len = 500},
    {.name = "parameter",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Parameters",
     .def = "{}"},
    RES_AUDIT_COLS,
};

/* ---- export, import, copy ------------------------------------------------------------------ */

/* Pipeline fields an export carries (everything a user set, nothing the server owns). */
static const char *const pipeline_fields[] = {
    "describe",    "global_env",      "schedule_type",   "cron_time",
    "timezone",    "depends_on_past", "max_active_runs", "expired_limit",
    "parallelism", "alert_status",    "alert_user",      "parameter",
};
static const char *const task_fields[] = {
    "label",         "args",         "command",         "working_dir",  "volume_mount",
    "node_selector", "resource_cpu", "resource_memory", "resource_gpu", "timeout",
    "retry",         "skip",         "expand",
};

/* The export document of a pipeline the caller can see. */
static enum err export_doc(struct ctx *cx, int64_t id, json_object **out)
{
    const char *row, *p[1];
    json_object *pl, *doc, *tasks, *pipe;
    struct pg_result *r;
    enum err e;

    if ((e = crud_fetch(cx, &res_pipeline, id, true, &row)))
        return e;
    if (!row)
        return resp_error(cx, ERR_NOT_FOUND,
                          "not found: the record does not exist or you may "
                          "not see it");
    pl = crud_parse(cx, row);
    p[0] = crud_i64(cx, id);
    if ((e = db_query(
             cx->db, cx->arena,
             "SELECT t.\"id\", t.\"name\", j.\"name\", t.\"label\", t.\"args\"::text, "
             "t.\"command\", t.\"working_dir\", t.\"volume_mount\", t.\"node_selector\", "
             "t.\"resource_cpu\", t.\"resource_memory\", t.\"resource_gpu\", t.\"timeout\", "
             "t.\"retry\", t.\"skip\", t.\"expand\"::text FROM \"task\" t JOIN "
             "\"job_template\" j ON j.\"id\" = t.\"job_template_id\" WHERE "
             "t.\"pipeline_id\" = $1::bigint ORDER BY t.\"id\"",
             1, p, &r, NULL)))
        return resp_error(cx, e, "database unavailable, try again");
    doc = json_object_new_object();
    pipe = json_object_new_object();
    json_object_object_add(doc, "cube_export", json_object_new_int(1));
    json_object_object_add(pipe, "name", json_object_get(js_get(pl, "name")));
    for (size_t i = 0; i < ARRAY_LEN(pipeline_fields); i++)
        json_object_object_add(pipe, pipeline_fields[i],
                               json_object_get(js_get(pl, pipeline_fields[i])));
    json_object_object_add(pipe, "dag_json", json_object_get(js_get(pl, "dag_json")));
    json_object_object_add(pipe, "expand", json_object_get(js_get(pl, "expand")));
    json_object_object_add(doc, "pipeline", pipe);
    tasks = json_object_new_array();
    for (int i = 0; i < db_rows(r); i++) {
        json_object *t = json_object_new_object();
        json_object_object_add(t, "id", json_object_new_int64(db_i64(r, i, 0)));
        json_object_object_add(t, "name", js_new_str(db_val(r, i, 1)));
        json_object_object_add(t, "job_template", js_new_str(db_val(r, i, 2)));
        json_object_object_add(t, "label", js_new_str(db_val(r, i, 3)));
        json_object_object_add(t, "args", json_object_get(crud_parse(cx, db_val(r, i, 4))));
        json_object_object_add(t, "command", js_new_str(db_val(r, i, 5)));
        json_object_object_add(t, "working_dir", js_new_str(db_val(r, i, 6)));
        json_object_object_add(t, "volume_mount", js_new_str(db_val(r, i, 7)));
        json_object_object_add(t, "node_selector", js_new_str(db_val(r, i, 8)));
        json_object_object_add(t, "resource_cpu", js_new_str(db_val(r, i, 9)));
        json_object_object_add(t, "resource_memory", js_new_str(db_val(r, i, 10)));
        json_object_object_add(t, "resource_gpu", js_new_str(db_val(r, i, 11)));
        json_object_object_add(t, "timeout", json_object_new_int64(db_i64(r, i, 12)));
        json_object_object_add(t, "retry", json_object_new_int64(db_i64(r, i, 13)));
        json_object_object_add(t, "skip", json_object_new_boolean(!strcmp(db_val(r, i, 14), "t")));
        json_object_object_add(t, "expand", json_object_get(crud_parse(cx, db_val(r, i, 15))));
        json_object_array_add(tasks, t);
    }
    json_object_object_add(doc, "tasks", tasks);
    *out = js_own(cx->arena, doc);
    return ERR_OK;
}

/* Replaces task ids in the editor layout: exported ids -> the new tasks' ids. */
static json_object *remap_expand(json_object *expand, json_object *idmap)
{
    const char *keys[] = {"id", "source", "target"};
    json_object *copy = NULL, *items;

    if (!expand)
        return json_object_new_array();
    if (json_object_deep_copy(expand, &copy, NULL))
        return json_object_new_array();
    items = json_object_is_type(copy, json_type_array) ? copy : NULL;
    for (int pass = 0; pass < 2; pass++) {
        json_object *list = items;
        if (!items)
            list = js_get(copy, pass ? "edges" : "nodes");
        if (!list || !json_object_is_type(list, json_type_array))
            continue;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *el = json_object_array_get_idx(list, i);
            for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
                json_object *v = js_get(el, keys[k]), *to;
                if (v && (to = js_get(idmap, json_object_get_string(v))))
                    json_object_object_add(el, keys[k],
                                           json_object_new_string(json_object_get_string(to)));
            }
        }
        if (items)
            break;
    }
    return copy;
}

/* Creates a pipeline and its tasks from an export document, in one transaction. */
static enum err import_doc(struct ctx *cx, json_object *doc, int64_t project, const char *name,
                           const char **out_row)
{
    json_object *pipe = js_get(doc, "pipeline"), *tasks = js_get(doc, "tasks"), *body, *idmap;
    const char *row;
    int64_t pid, tid;
    size_t nt;
    enum err e;

    if (!json_object_is_type(pipe, json_type_object) ||
        !json_object_is_type(tasks, json_type_array))
        return resp_error(cx, ERR_BADREQ,
                          "document: expected {\"pipeline\": {...}, \"tasks\": [...]} as exported");
    nt = json_object_array_length(tasks);
    /* Templates are matched by name; say which are missing before writing anything. */
    for (size_t i = 0; i < nt; i++) {
        json_object *t = json_object_array_get_idx(tasks, i);
        const char *tn = js_get_str(t, "job_template"), *p[1];
        struct pg_result *r;
        if (!tn)
            return resp_error(cx, ERR_BADREQ, "tasks[%zu].job_template: expected a template name",
                              i);
        p[0] = tn;
        if ((e = db_query(cx->db, cx->arena,
                          "SELECT \"id\" FROM \"job_template\" WHERE \"name\" = $1", 1, p, &r,
                          NULL)))
            return resp_error(cx, e, "database unavailable, try again");
        if (!db_rows(r))
            return resp_error(cx, ERR_UNPROCESSABLE,
                              "tasks[%zu].job_template: no template named '%s' here", i, tn);
        json_object_object_add(t, "job_template_id", json_object_new_int64(db_i64(r, 0, 0)));
    }
    if ((e = db_begin(cx->db)))
        return resp_error(cx, e, "database unavailable, try again");
    body = js_own(cx->arena, json_object_new_object());
    json_object_object_add(body, "project", json_object_new_int64(project));
    json_object_object_add(body, "name", js_new_str(name ? name : js_get_str(pipe, "name")));
    for (size_t i = 0; i < ARRAY_LEN(pipeline_fields); i++) {
        json_object *v = js_get(pipe, pipeline_fields[i]);
        if (v && !json_object_is_type(v, json_type_null))
            json_object_object_add(body, pipeline_fields[i], json_object_get(v));
    }
    if ((e = crud_insert(cx, &res_pipeline, body, &row, &pid)))
        goto fail;
    idmap = js_own(cx->arena, json_object_new_object());
    for (size_t i = 0; i < nt; i++) {
        json_object *t = json_object_array_get_idx(tasks, i), *tb;
        tb = js_own(cx->arena, json_object_new_object());
        json_object_object_add(tb, "pipeline", json_object_new_int64(pid));
        json_object_object_add(tb, "name", json_object_get(js_get(t, "name")));
        json_object_object_add(tb, "job_template", json_object_get(js_get(t, "job_template_id")));
        for (size_t k = 0; k < ARRAY_LEN(task_fields); k++) {
            json_object *v = js_get(t, task_fields[k]);
            if (v && !json_object_is_type(v, json_type_null))
                json_object_object_add(tb, task_fields[k], json_object_get(v));
        }
        if ((e = crud_insert(cx, &res_task, tb, &row, &tid))) {
            /* Say which task failed, keeping the field the check named. */
            const char *m = cx->errmsg ? cx->errmsg : "invalid";
            e = resp_error(cx, e, "tasks[%zu]: %s", i, m);
            goto fail;
        }
        if (js_get(t, "id"))
            json_object_object_add(idmap, json_object_get_string(js_get(t, "id")),
                                   json_object_new_string(crud_i64(cx, tid)));
    }
    /* Now that the tasks exist, the DAG and the layout can be checked and stored. */
    body = js_own(cx->arena, json_object_new_object());
    {
        json_object *dj = js_get(pipe, "dag_json");
        const char **names, *err;
        size_t n;
        struct dag *d;
        if ((e = task_names(cx, pid, &names, &n)))
            goto fail;
        if (!(d = dag_build(cx->arena, dj, names, n, &err))) {
            e = resp_error(cx, ERR_UNPROCESSABLE, "%s", err);
            goto fail;
        }
        {
            const char *p[3] = {
                js_str(js_own(cx->arena, dag_to_json(d))),
                js_str(js_own(cx->arena, remap_expand(js_get(pipe, "expand"), idmap))),
                crud_i64(cx, pid)};
            struct pg_result *r;
            if ((e = db_query(cx->db, cx->arena,
                              "UPDATE \"pipeline\" SET \"dag_json\" = $1::jsonb, \"expand\" = "
                              "$2::jsonb WHERE \"id\" = $3::bigint",
                              3, p, &r, NULL))) {
                e = resp_error(cx, e, "database unavailable, try again");
                goto fail;
            }
        }
    }
    if ((e = db_commit(cx->db)))
        return resp_error(cx, e, "database unavailable, try again");
    crud_changed(cx, &res_pipeline);
    if ((e = crud_fetch(cx, &res_pipeline, pid, false, out_row)))
        return e;
    return ERR_OK;
fail:
    db_rollback(cx->db);
    return e;
}

static enum err pipeline_export(struct ctx *cx, const struct resource *res, int64_t id)
{
    json_object *doc;
    enum err e;
    (void)res;
    if ((e = export_doc(cx, id, &doc)))
        return e;
    resp_header(cx, "Content-Disposition: attachment; filename=\"pipeline-%" PRId64 ".json\"", id);
    resp_ok(cx, json_object_get(doc));
    return ERR_OK;
}

/* POST import {"project": id, "name": optional, "document": <export>} */
static enum err pipeline_import(struct ctx *cx, const struct resource *res, int64_t id)
{
    json_object *body, *doc, *proj;
    const char *msg, *row, *name;
    int64_t project;
    enum err e;

    (void)res;
    (void)id;
    if (!cx->req.body || !req_is_json(cx))
        return resp_error(cx, ERR_BADREQ, "Request is not JSON");
    if (!(body = js_parse(cx->arena, cx->req.body, cx->req.body_len, &msg)))
        return resp_error(cx, ERR_BADREQ, "malformed JSON: %s", msg);
    doc = js_get(body, "document");
    proj = js_get(body, "project");
    name = js_get_str(body, "name");
    if (!doc || !json_object_is_type(doc, json_type_object))
        return resp_error(cx, ERR_BADREQ, "document: expected the exported JSON object");
    if (!proj || !json_object_is_type(proj, json_type_int) ||
        (project = json_object_get_int64(proj)) <= 0)
        return resp_error(cx, ERR_BADREQ, "project: expected a project id");
    if ((e = import_doc(cx, doc, project, name, &row)))
        return e;
    resp_ok_raw(cx, row);
    return ERR_OK;
}

/* Deep copies in the same project, named <name>-copy-N (the first free N). */
static enum err pipeline_copy(struct ctx *cx, const struct resource *res, const int64_t *ids,
                              size_t n, json_object **result)
{
    json_object *made = json_object_new_array();
    (void)res;
    for (size_t i = 0; i < n; i++) {
        json_object *doc, *pipe;
        const char *row, *base, *p[2];
        int64_t project;
        struct pg_result *r;
        char name[96];
        if (export_doc(cx, ids[i], &doc) || crud_fetch(cx, &res_pipeline, ids[i], false, &row) ||
            !row)
            goto fail;
        project = json_object_get_int64(js_get(js_get(crud_parse(cx, row), "project"), "id"));
        pipe = js_get(doc, "pipeline");
        base = js_get_str(pipe, "name");
        /* The first free <name>-copy-N. */
        for (int64_t k = 1;; k++) {
            snprintf(name, sizeof(name), "%.40s-copy-%" PRId64, base, k);
            p[0] = crud_i64(cx, project);
            p[1] = name;
            if (db_query(cx->db, cx->arena,
                         "SELECT 1 FROM \"pipeline\" WHERE \"project_id\" = $1::bigint AND "
                         "\"name\" = $2",
                         2, p, &r, NULL))
                goto fail;
            if (!db_rows(r) || k >= 1000)
                break;
        }
        /* A copy is a draft: it does not start a second live schedule (cube-studio's rule). */
        json_object_object_add(pipe, "schedule_type", json_object_new_string("once"));
        json_object_object_add(pipe, "parameter", json_object_new_object());
        if (import_doc(cx, doc, project, name, &row))
            goto fail;
        json_object_array_add(made, json_object_new_string(name));
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "copies", made);
    return ERR_OK;
fail:
    json_object_put(made);
    return cx->resp.status >= 400 ? ERR_UNPROCESSABLE : resp_error(cx, ERR_INTERNAL, "copy failed");
}

/* GET <id>/dag: the validated DAG in topological order. */
static enum err pipeline_dag(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *row, **names, *err;
    json_object *pl, *out, *order, *edges;
    struct dag *d;
    size_t n;
    enum err e;

    if ((e = crud_fetch(cx, res, id, true, &row)))
        return e;
    if (!row)
        return resp_error(cx, ERR_NOT_FOUND,
                          "not found: the record does not exist or you may "
                          "not see it");
    pl = crud_parse(cx, row);
    if ((e = task_names(cx, id, &names, &n)))
        return e;
    if (!(d = dag_build(cx->arena, js_get(pl, "dag_json"), names, n, &err)))
        return resp_error(cx, ERR_UNPROCESSABLE, "%s", err);
    out = json_object_new_object();
    order = json_object_new_array();
    edges = json_object_new_array();
    for (size_t i = 0; i < dag_count(d); i++) {
        const char *const *up;
        size_t nu = dag_upstream(d, i, &up);
        json_object_array_add(order, json_object_new_string(dag_task(d, i)));
        for (size_t k = 0; k < nu; k++) {
            json_object *edge = json_object_new_object();
            json_object_object_add(edge, "source", json_object_new_string(up[k]));
            json_object_object_add(edge, "target", json_object_new_string(dag_task(d, i)));
            json_object_array_add(edges, edge);
        }
    }
    json_object_object_add(out, "order", order);
    json_object_object_add(out, "edges", edges);
    json_object_object_add(out, "dag_json", dag_to_json(d));
    resp_ok(cx, out);
    return ERR_OK;
}

/* GET cron_preview?cron=<expr>&tz=<zone>&n=<1..20>: the next fire times, so the editor can
 * show what a schedule means before it is saved.  Same parser and zone rules as the
 * scheduler, so the preview cannot disagree with what will run. */
static enum err pipeline_cron_preview(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *text = req_query(cx, "cron"), *tz = req_query(cx, "tz"), *ns = req_query(cx, "n");
    int64_t n = 5, at[20];
    struct cron_expr ce;
    char cerr[160], when[32];
    json_object *out, *next;
    size_t got;

    (void)res;
    (void)id;
    if (!text || !*text)
        return resp_error(cx, ERR_BADREQ, "cron: required");
    if (ns && !parse_i64(ns, 1, (int64_t)ARRAY_LEN(at), &n))
        return resp_error(cx, ERR_BADREQ, "n: expected an integer from 1 to %zu", ARRAY_LEN(at));
    if (!tz || !*tz)
        tz = "UTC";
    if (!cron_parse(text, &ce, cerr, sizeof(cerr)))
        return resp_error(cx, ERR_BADREQ, "cron: %s", cerr);
    if (!cron_tz_valid(tz))
        return resp_error(cx, ERR_BADREQ, "tz: unknown time zone '%s'", tz);
    got = cron_next_n(&ce, tz, (int64_t)time(NULL), at, (size_t)n);
    next = json_object_new_array();
    for (size_t i = 0; i < got; i++) {
        time_t t = (time_t)at[i];
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_array_add(next, json_object_new_string(when));
    }
    out = json_object_new_object();
    json_object_object_add(out, "cron", json_object_new_string(text));
    json_object_object_add(out, "tz", json_object_new_string(tz));
    json_object_object_add(out, "next", next);
    resp_ok(cx, out);
    return ERR_OK;
}

static const struct res_route pipeline_routes[] = {
    {"GET", "{id}/dag", pipeline_dag},
    {"POST", "{id}/run", res_pipeline_run},
    {"GET", "run_pipeline/{id}", res_pipeline_run}, /* cube-studio's spelling */
    {"POST", "run_pipeline/{id}", res_pipeline_run},
    {"POST", "{id}/backfill", res_pipeline_backfill},
    {"GET", "{id}/export", pipeline_export},
    {"POST", "import", pipeline_import},
    {"GET", "cron_preview", pipeline_cron_preview},
};

static const struct action pipeline_actions[] = {
    {"copy", "Copy", "Copy the selected pipelines with their tasks?", "fa-copy", true, true, false,
     pipeline_copy},
};

const struct resource res_pipeline = {
    .view = "pipeline_modelview",
    .table = "pipeline",
    .label = "Pipeline",
    .cols = pipeline_cols,
    .ncols = ARRAY_LEN(pipeline_cols),
    .ops = OP_CRUD,
    .flags = RES_AUDIT,
    .scope = MEMBER_OF("t.\"project_id\""),
    .edit_scope = "t.\"created_by_fk\" = {uid}",
    .delete_scope = "t.\"created_by_fk\" = {uid}",
    .add_check = MEMBER_OF("v.\"project_id\""),
    .add_check_msg = "project: you are not a member of this project",
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .pre_write = pipeline_pre_write,
    .actions = pipeline_actions,
    .nactions = ARRAY_LEN(pipeline_actions),
    .routes = pipeline_routes,
    .nroutes = ARRAY_LEN(pipeline_routes),
    .menu = {"train", "Training", "Pipelines", "fa-sitemap"},
};

/* ---- tasks -------------------------------------------------------------------------------- */

struct task_old {
    const char *name;
    int64_t pipeline;
};

/* The template's args schema, if the caller may use the template. */
static enum err template_schema(struct ctx *cx, const char *tmpl_id, json_object **schema)
{
    const char *p[3] = {tmpl_id, crud_i64(cx, cx->user.id), cx->user.admin ? "t" : "f"};
    struct pg_result *r;
    enum err e = db_query(cx->db, cx->arena,
                          "SELECT \"args\"::text FROM \"job_template\" WHERE \"id\" = $1::bigint "
                          "AND ($3::boolean OR \"version\" = 'Release' OR \"created_by_fk\" = "
                          "$2::bigint)",
                          3, p, &r, NULL);
    if (e)
        return resp_error(cx, e, "database unavailable, try again");
    if (!db_rows(r))
        return resp_error(cx, ERR_UNPROCESSABLE, "job_template: no such template");
    *schema = crud_parse(cx, db_val(r, 0, 0));
    return ERR_OK;
}

static enum err task_pre_write(struct ctx *cx, struct write *w)
{
    json_object *stored = stored_row(cx, w), *args = write_json(cx, w, "args"), *schema = NULL, *ok;
    const char **tmpl = write_slot(w, "job_template"), *tid, *err;
    struct task_old *old;
    enum err e;

    if (!w->is_add && !stored)
        return ERR_OK; /* not visible: the update will answer 404 */
    tid = tmpl && *tmpl ? *tmpl
                        : json_object_get_string(js_get(js_get(stored, "job_template"), "id"));
    if (!tid)
        return resp_error(cx, ERR_UNPROCESSABLE, "job_template: required");
    /* Validate args whenever they or the template change: coerced, defaults filled in. */
    if (args || (tmpl && *tmpl) || w->is_add) {
        if ((e = template_schema(cx, tid, &schema)))
            return e;
        if (!args)
            args = w->is_add ? js_own(cx->arena, json_object_new_object()) : js_get(stored, "args");
        if (!(ok = argschema_apply(cx->arena, schema, args, &err)))
            return resp_error(cx, ERR_UNPROCESSABLE, "args.%s", err);
        *write_slot(w, "args") = arena_strdup(cx->arena, js_str(ok));
    }
    old = arena_zalloc(cx->arena, sizeof(*old));
    if (stored) {
        old->name = js_get_str(stored, "name");
        old->pipeline = json_object_get_int64(js_get(js_get(stored, "pipeline"), "id"));
    }
    w->hook_data = old;
    return ERR_OK;
}

static enum err store_dag(struct ctx *cx, int64_t pipeline, json_object *dag_json,
                          json_object *expand)
{
    const char *p[3] = {js_str(dag_json), expand ? js_str(expand) : NULL, crud_i64(cx, pipeline)};
    struct pg_result *r;
    enum err e = db_query(cx->db, cx->arena,
                          "UPDATE \"pipeline\" SET \"dag_json\" = $1::jsonb, \"expand\" = "
                          "coalesce($2::jsonb, \"expand\"), \"changed_on\" = now() WHERE \"id\" = "
                          "$3::bigint",
                          3, p, &r, NULL);
    return e ? resp_error(cx, e, "database unavailable, try again") : ERR_OK;
}

/* Keeps the pipeline's dag_json and expand in step with its tasks (same transaction). */
static enum err task_post_write(struct ctx *cx, struct write *w, const char *row)
{
    json_object *t = crud_parse(cx, row), *pl, *dj, *ex, *ndj = NULL, *nex = NULL;
    const struct task_old *old = w->hook_data;
    int64_t pid = json_object_get_int64(js_get(js_get(t, "pipeline"), "id"));
    const char *name = js_get_str(t, "name"), *prow, *tid = crud_i64(cx, w->id);
    enum err e;

    if ((e = crud_fetch(cx, &res_pipeline, pid, false, &prow)) || !prow)
        return e ? e : ERR_OK;
    pl = crud_parse(cx, prow);
    dj = js_get(pl, "dag_json");
    ex = js_get(pl, "expand");
    switch (w->op) {
    case WRITE_ADD: {
        json_object *entry;
        if (js_get(dj, name))
            return ERR_OK;
        /* A new task is a root until someone connects it. */
        if (json_object_deep_copy(dj, &ndj, NULL))
            return resp_error(cx, ERR_INTERNAL, "out of memory");
        entry = json_object_new_object();
        json_object_object_add(entry, "upstream", json_object_new_array());
        json_object_object_add(ndj, name, entry);
        break;
    }
    case WRITE_EDIT:
        if (!old || !old->name || !strcmp(old->name, name))
            return ERR_OK;
        ndj = dag_json_rename(dj, old->name, name);
        nex = dag_expand_rename(ex, tid, name);
        break;
    case WRITE_DELETE:
        ndj = dag_json_remove(dj, name);
        nex = dag_expand_remove(ex, tid);
        break;
    }
    js_own(cx->arena, ndj);
    js_own(cx->arena, nex);
    return store_dag(cx, pid, ndj, nex);
}

/* GET task <id>/render: what the executor would run, with this moment as execution date. */
static enum err task_render(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *row, *prow, *p[1], *err;
    json_object *task, *pipe, *tmpl, *out, *argv, *env;
    struct pg_result *r;
    struct render_ctx rc = {0};
    struct rendered rd;
    char date[32];
    time_t now = time(NULL);
    struct tm tm;
    enum err e;

    if ((e = crud_fetch(cx, res, id, true, &row)))
        return e;
    if (!row)
        return resp_error(cx, ERR_NOT_FOUND,
                          "not found: the record does not exist or you may "
                          "not see it");
    task = crud_parse(cx, row);
    if ((e = crud_fetch(cx, &res_pipeline,
                        json_object_get_int64(js_get(js_get(task, "pipeline"), "id")), false,
                        &prow)) ||
        !prow)
        return e ? e : resp_error(cx, ERR_NOT_FOUND, "the task's pipeline is gone");
    pipe = crud_parse(cx, prow);
    p[0] = json_object_get_string(js_get(js_get(task, "job_template"), "id"));
    if ((e = db_query(
             cx->db, cx->arena,
             "SELECT json_build_object('id', j.\"id\", 'name', j.\"name\", 'entrypoint', "
             "j.\"entrypoint\", 'workdir', j.\"workdir\", 'env', j.\"env\", 'args', "
             "j.\"args\", 'image', (SELECT json_build_object('name', i.\"name\") FROM "
             "\"images\" i WHERE i.\"id\" = j.\"images_id\"))::text FROM \"job_template\" j "
             "WHERE j.\"id\" = $1::bigint",
             1, p, &r, NULL)) ||
        !db_rows(r))
        return e ? resp_error(cx, e, "database unavailable, try again")
                 : resp_error(cx, ERR_NOT_FOUND, "the task's template is gone");
    tmpl = crud_parse(cx, db_val(r, 0, 0));
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    rc.creator = js_get_str(js_get(pipe, "created_by"), "username");
    rc.runner = cx->user.username;
    rc.execution_date = date;
    rc.run_id = "preview";
    if (render_task(cx->arena, pipe, task, tmpl, &rc, &rd, &err))
        return resp_error(cx, ERR_UNPROCESSABLE, "%s", err);
    out = json_object_new_object();
    argv = json_object_new_array();
    env = json_object_new_array();
    for (size_t i = 0; i < rd.argc; i++)
        json_object_array_add(argv, js_new_str(rd.argv[i]));
    for (size_t i = 0; i < rd.nenv; i++)
        json_object_array_add(env, js_new_str(rd.env[i]));
    json_object_object_add(out, "argv", argv);
    json_object_object_add(out, "env", env);
    json_object_object_add(out, "workdir", js_new_str(rd.workdir));
    json_object_object_add(out, "image", js_new_str(rd.image));
    json_object_object_add(out, "replicas", json_object_new_int(rd.replicas));
    json_object_object_add(out, "execution_date", json_object_new_string(date));
    resp_ok(cx, out);
    return ERR_OK;
}

static const struct res_route task_routes[] = {
    {"GET", "{id}/render", task_render},
    {"POST", "{id}/run", res_task_run},
    {"GET", "{id}/suggestion", res_task_suggestion},
};

#define CPU_RE "^[0-9]+(\\.[0-9]+)?(~[0-9]+(\\.[0-9]+)?)?$"
#define MEM_RE "^[0-9]+(\\.[0-9]+)?[MGT]?(~[0-9]+(\\.[0-9]+)?[MGT]?)?$"
#define GPU_RE "^([0-9]+(\\.[0-9]+)?)?(\\([A-Za-z0-9_-]+\\))?$"

static const struct column task_cols[] = {
    RES_ID_COL,
    {.name = "pipeline",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_ORDER | COL_REQUIRED,
     .label = "Pipeline",
     .fk = "pipeline_id",
     .rel_table = "pipeline",
     .rel_display = "name"},
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED,
     .label = "Name",
     .description = "unique in its pipeline: lowercase letters, digits and inner dashes",
     .max_len = 54,
     .min_len = 2,
     .regex = NAME_REGEX},
    {.name = "label", .type = COL_TEXT, .flags = COL_RW, .label = "Label", .max_len = 200},
    {.name = "job_template",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH | COL_REQUIRED,
     .label = "Template",
     .fk = "job_template_id",
     .rel_table = "job_template",
     .rel_display = "name"},
    {.name = "args",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Arguments",
     .description = "validated and completed against the template's schema",
     .def = "{}"},
    {.name = "command",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT | COL_TEXTAREA,
     .label = "Command",
     .description = "replaces the template's entrypoint; lines run in order",
     .max_len = 20000},
    {.name = "working_dir",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Working directory",
     .max_len = 500},
    {.name = "volume_mount",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Volumes",
     .description = "name(type):/path, comma separated",
     .max_len = 2000},
    {.name = "node_selector",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Node selector",
     .description = "k=v;k=v",
     .max_len = 500,
     .regex = "^([A-Za-z0-9_./-]+=[A-Za-z0-9_.-]*(;[A-Za-z0-9_./-]+=[A-Za-z0-9_.-]*)*)?$"},
    {.name = "resource_cpu",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "CPU",
     .description = "cores: 2, or request~limit: 0.5~4",
     .max_len = 50,
     .regex = CPU_RE,
     .def = "1"},
    {.name = "resource_memory",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Memory",
     .description = "4G, 512M, or request~limit: 1G~4G",
     .max_len = 50,
     .regex = MEM_RE,
     .def = "2G"},
    {.name = "resource_gpu",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "GPU",
     .description = "cards: 1, 0.5, 1(V100)",
     .max_len = 50,
     .regex = GPU_RE,
     .def = "0"},
    {.name = "timeout",
     .type = COL_INT,
     .flags = COL_RW,
     .label = "Timeout (s)",
     .description = "0: none",
     .def = "0"},
    {.name = "retry", .type = COL_INT, .flags = COL_RW, .label = "Retries", .def = "0"},
    {.name = "skip", .type = COL_BOOL, .flags = COL_RW, .label = "Skip", .def = "false"},
    {.name = "expand",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Extra",
     .def = "{}"},
    RES_AUDIT_COLS,
};

#define PIPELINE_OF(cond) \
    "t.\"pipeline_id\" IN (SELECT p.\"id\" FROM \"pipeline\" p WHERE " cond ")"

const struct resource res_task = {
    .view = "task_modelview",
    .table = "task",
    .label = "Task",
    .cols = task_cols,
    .ncols = ARRAY_LEN(task_cols),
    .ops = OP_CRUD,
    .flags = RES_AUDIT,
    .scope = PIPELINE_OF(MEMBER_OF("p.\"project_id\"")),
    .edit_scope = PIPELINE_OF("p.\"created_by_fk\" = {uid}"),
    .delete_scope = PIPELINE_OF("p.\"created_by_fk\" = {uid}"),
    .add_check = "v.\"pipeline_id\" IN (SELECT p.\"id\" FROM \"pipeline\" p WHERE "
                 "p.\"created_by_fk\" = {uid})",
    .add_check_msg = "pipeline: no such pipeline of yours",
    .order_col = "id",
    .order_dir = "asc",
    .page_size = 1000,
    .pre_write = task_pre_write,
    .post_write = task_post_write,
    .routes = task_routes,
    .nroutes = ARRAY_LEN(task_routes),
    .menu = {"train", "Training", "Tasks", "fa-cube"},
};
