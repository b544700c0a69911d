/*
 * snapshot.c — one query for any number of pipelines with their tasks and templates, then
 * dag + render per run.
 *
 * The query returns plain columns, one row per task (a pipeline without tasks: one row of
 * NULL task columns), and the json-c objects render.h reads are built here.  Building them
 * in SQL instead (json_build_object per task and template) cost ten times more server time
 * than the whole load does now, which mattered for a scheduler tick over ten thousand
 * pipelines.  A template used by many tasks is built once per load and shared.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/dag.h"
#include "core/js.h"
#include "core/snapshot.h"
#include "core/common.h"

/* One statement, so the pipelines, tasks and templates are one consistent view. */
static const char LOAD_SQL[] =
    "SELECT p.\"id\", p.\"name\", p.\"global_env\", p.\"dag_json\"::text, pr.\"id\", "
    "pr.\"name\", u.\"id\", u.\"username\", t.\"id\", t.\"name\", t.\"args\"::text, "
    "t.\"command\", t.\"working_dir\", t.\"volume_mount\", t.\"node_selector\", "
    "t.\"resource_cpu\", t.\"resource_memory\", t.\"resource_gpu\", t.\"timeout\", t.\"retry\", "
    "t.\"skip\", j.\"id\", j.\"name\", j.\"entrypoint\", j.\"workdir\", j.\"env\", "
    "j.\"args\"::text, i.\"name\" "
    "FROM \"pipeline\" p JOIN \"project\" pr ON pr.\"id\" = p.\"project_id\" "
    "LEFT JOIN \"users\" u ON u.\"id\" = p.\"created_by_fk\" "
    "LEFT JOIN (\"task\" t JOIN \"job_template\" j ON j.\"id\" = t.\"job_template_id\") "
    "ON t.\"pipeline_id\" = p.\"id\" "
    "LEFT JOIN \"images\" i ON i.\"id\" = j.\"images_id\" "
    "WHERE p.\"id\" = ANY($1::bigint[]) ORDER BY p.\"id\", t.\"id\"";

enum {
    C_P_ID,
    C_P_NAME,
    C_P_GLOBAL_ENV,
    C_P_DAG,
    C_PR_ID,
    C_PR_NAME,
    C_U_ID,
    C_U_NAME,
    C_T_ID,
    C_T_NAME,
    C_T_ARGS,
    C_T_COMMAND,
    C_T_WORKING_DIR,
    C_T_VOLUME_MOUNT,
    C_T_NODE_SELECTOR,
    C_T_CPU,
    C_T_MEMORY,
    C_T_GPU,
    C_T_TIMEOUT,
    C_T_RETRY,
    C_T_SKIP,
    C_J_ID,
    C_J_NAME,
    C_J_ENTRYPOINT,
    C_J_WORKDIR,
    C_J_ENV,
    C_J_ARGS,
    C_I_NAME
};

/* Column values as JSON of the types json_build_object gave them: NULL is null. */
static json_object *col_str(const struct pg_result *r, int row, int col)
{
    const char *v = db_val(r, row, col);
    return v ? json_object_new_string_len(v, (int)db_len(r, row, col)) : NULL;
}

static json_object *col_int(const struct pg_result *r, int row, int col)
{
    return db_val(r, row, col) ? json_object_new_int64(db_i64(r, row, col)) : NULL;
}

static json_object *col_bool(const struct pg_result *r, int row, int col)
{
    const char *v = db_val(r, row, col);
    return v ? json_object_new_boolean(*v == 't') : NULL;
}

/* A jsonb column as text, parsed; *bad names it when it does not parse (jsonb's text always
 * should, but one odd value must not stop a whole scheduler batch). */
static json_object *col_json(struct arena *a, const struct pg_result *r, int row, int col,
                             const char *what, int name_col, const char **bad)
{
    const char *v = db_val(r, row, col), *msg;
    json_object *o;

    if (!v)
        return NULL;
    o = js_parse(a, v, db_len(r, row, col), &msg);
    if (!o && !*bad)
        *bad = arena_printf(a, "%s %s: stored JSON does not parse: %s", what,
                            db_val(r, row, name_col), msg);
    return json_object_get(o); /* one reference for the arena, one for the container */
}

/* The templates of one load: a template used by many tasks is built once. */
struct tmpl_cache {
    int64_t *ids;
    json_object **objs;
    const char **bad;
    size_t n, cap;
};

static json_object *template_of(struct arena *a, struct tmpl_cache *tc, const struct pg_result *r,
                                int row, const char **bad)
{
    int64_t id = db_i64(r, row, C_J_ID);
    json_object *t, *img = NULL;
    const char *tbad = NULL;

    for (size_t k = tc->n; k > 0; k--)
        if (tc->ids[k - 1] == id) {
            if (tc->bad[k - 1] && !*bad)
                *bad = tc->bad[k - 1];
            return tc->objs[k - 1];
        }
    if (tc->n == tc->cap) {
        size_t cap = tc->cap ? tc->cap * 2 : 8;
        int64_t *ni = arena_alloc(a, cap * sizeof(*ni));
        json_object **no = arena_alloc(a, cap * sizeof(*no));
        const char **nb = arena_alloc(a, cap * sizeof(*nb));
        if (tc->n) {
            memcpy(ni, tc->ids, tc->n * sizeof(*ni));
            memcpy(no, tc->objs, tc->n * sizeof(*no));
            memcpy(nb, tc->bad, tc->n * sizeof(*nb));
        }
        tc->ids = ni;
        tc->objs = no;
        tc->bad = nb;
        tc->cap = cap;
    }
    t = js_own(a, json_object_new_object());
    json_object_object_add(t, "id", col_int(r, row, C_J_ID));
    json_object_object_add(t, "name", col_str(r, row, C_J_NAME));
    json_object_object_add(t, "entrypoint", col_str(r, row, C_J_ENTRYPOINT));
    json_object_object_add(t, "workdir", col_str(r, row, C_J_WORKDIR));
    json_object_object_add(t, "env", col_str(r, row, C_J_ENV));
    json_object_object_add(t, "args",
                           col_json(a, r, row, C_J_ARGS, "args of template", C_J_NAME, &tbad));
    if (db_val(r, row, C_I_NAME)) {
        img = json_object_new_object();
        json_object_object_add(img, "name", col_str(r, row, C_I_NAME));
    }
    json_object_object_add(t, "image", img);
    tc->ids[tc->n] = id;
    tc->objs[tc->n] = t;
    tc->bad[tc->n++] = tbad;
    if (tbad && !*bad)
        *bad = tbad;
    return t;
}

static json_object *pipe_of(struct arena *a, const struct pg_result *r, int row, const char **bad)
{
    json_object *p = js_own(a, json_object_new_object()), *pr, *u;

    json_object_object_add(p, "id", col_int(r, row, C_P_ID));
    json_object_object_add(p, "name", col_str(r, row, C_P_NAME));
    json_object_object_add(p, "global_env", col_str(r, row, C_P_GLOBAL_ENV));
    json_object_object_add(p, "dag_json",
                           col_json(a, r, row, C_P_DAG, "dag_json of pipeline", C_P_NAME, bad));
    pr = json_object_new_object();
    json_object_object_add(pr, "id", col_int(r, row, C_PR_ID));
    json_object_object_add(pr, "name", col_str(r, row, C_PR_NAME));
    json_object_object_add(p, "project", pr);
    u = json_object_new_object();
    json_object_object_add(u, "id", col_int(r, row, C_U_ID));
    json_object_object_add(u, "username", col_str(r, row, C_U_NAME));
    json_object_object_add(p, "created_by", u);
    return p;
}

static json_object *task_of(struct arena *a, const struct pg_result *r, int row, const char **bad)
{
    json_object *t = json_object_new_object();

    json_object_object_add(t, "id", col_int(r, row, C_T_ID));
    json_object_object_add(t, "name", col_str(r, row, C_T_NAME));
    json_object_object_add(t, "args", col_json(a, r, row, C_T_ARGS, "args of task", C_T_NAME, bad));
    json_object_object_add(t, "command", col_str(r, row, C_T_COMMAND));
    json_object_object_add(t, "working_dir", col_str(r, row, C_T_WORKING_DIR));
    json_object_object_add(t, "volume_mount", col_str(r, row, C_T_VOLUME_MOUNT));
    json_object_object_add(t, "node_selector", col_str(r, row, C_T_NODE_SELECTOR));
    json_object_object_add(t, "resource_cpu", col_str(r, row, C_T_CPU));
    json_object_object_add(t, "resource_memory", col_str(r, row, C_T_MEMORY));
    json_object_object_add(t, "resource_gpu", col_str(r, row, C_T_GPU));
    json_object_object_add(t, "timeout", col_int(r, row, C_T_TIMEOUT));
    json_object_object_add(t, "retry", col_int(r, row, C_T_RETRY));
    json_object_object_add(t, "skip", col_bool(r, row, C_T_SKIP));
    return t;
}

static int cmp_src(const void *l, const void *r)
{
    int64_t a = ((const struct snapshot_src *)l)->pipeline_id;
    int64_t b = ((const struct snapshot_src *)r)->pipeline_id;
    return (a > b) - (a < b);
}

enum err snapshot_load(struct db *db, struct arena *a, const int64_t *ids, size_t n,
                       struct snapshot_src *out)
{
    struct tmpl_cache tc = {0};
    struct snapshot_src *got;
    struct pg_result *r;
    const char *p[1];
    struct buf b;
    size_t ngot = 0;
    int rows;
    enum err e;

    for (size_t i = 0; i < n; i++)
        out[i] = (struct snapshot_src){ids[i], NULL, NULL, NULL};
    if (!n)
        return ERR_OK;
    buf_init(&b, a, SIZE_MAX / 2);
    for (size_t i = 0; i < n; i++)
        buf_addf(&b, "%s%" PRId64, i ? "," : "{", ids[i]);
    buf_addc(&b, '}');
    p[0] = buf_str(&b);
    if ((e = db_query(db, a, LOAD_SQL, 1, p, &r, NULL)))
        return e;
    rows = db_rows(r);
    got = arena_alloc(a, ((size_t)rows + 1) * sizeof(*got));
    for (int i = 0; i < rows; i++) {
        int64_t pid = db_i64(r, i, C_P_ID);
        struct snapshot_src *s = ngot ? &got[ngot - 1] : NULL;
        json_object *row;

        if (!s || s->pipeline_id != pid) { /* the rows come ordered by pipeline */
            s = &got[ngot++];
            s->pipeline_id = pid;
            s->problem = NULL;
            s->pipe = pipe_of(a, r, i, &s->problem);
            s->rows = js_own(a, json_object_new_array());
        }
        if (!db_val(r, i, C_T_ID))
            continue; /* a pipeline without tasks */
        row = json_object_new_object();
        json_object_object_add(row, "task", task_of(a, r, i, &s->problem));
        json_object_object_add(row, "template",
                               json_object_get(template_of(a, &tc, r, i, &s->problem)));
        json_object_array_add(s->rows, row);
    }
    for (size_t i = 0; i < n; i++) {
        const struct snapshot_src key = {ids[i], NULL, NULL, NULL};
        const struct snapshot_src *s = bsearch(&key, got, ngot, sizeof(*got), cmp_src);
        if (s)
            out[i] = *s;
    }
    return ERR_OK;
}

/* A value of the loaded pipeline as JSON: null when missing. */
static void put_value(struct buf *b, json_object *v)
{
    switch (v ? json_object_get_type(v) : json_type_null) {
    case json_type_null:
        buf_adds(b, "null");
        break;
    case json_type_string:
        buf_add_json_str(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        break;
    case json_type_int:
        buf_addf(b, "%" PRId64, json_object_get_int64(v));
        break;
    case json_type_boolean:
        buf_adds(b, json_object_get_boolean(v) ? "true" : "false");
        break;
    case json_type_double:
    case json_type_array:
    case json_type_object:
        buf_adds(b, js_str(v));
        break;
    }
}

static void put_str(struct buf *b, const char *s)
{
    buf_add_json_str(b, s, strlen(s));
}

/* An array of strings; with `env`, the KFJ_ block left out (snapshot.h). */
static void put_strs(struct buf *b, const char *const *v, size_t n, bool env)
{
    bool first = true;

    buf_addc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (env && render_kfj_key(v[i]))
            continue;
        if (!first)
            buf_addc(b, ',');
        put_str(b, v[i]);
        first = false;
    }
    buf_addc(b, ']');
}

/*
 * The document is written as text, not built as json-c objects and then serialised: a tick
 * renders thousands of them, and the objects (a hash table each), their serialisation and
 * their release were a third of the scheduler's time in a tick.
 */
enum err snapshot_render(struct arena *a, const struct snapshot_src *src,
                         const struct render_ctx *rc, const char **out, const char **err)
{
    json_object *pipe = src->pipe, *rows = src->rows;
    const char **names, *creator = "", *runner = "";
    struct dag *d;
    struct buf b;
    size_t n;

    *err = NULL;
    *out = NULL;
    if (!pipe)
        return ERR_NOT_FOUND;
    if (src->problem) {
        *err = src->problem;
        return ERR_UNPROCESSABLE;
    }
    n = json_object_array_length(rows);
    if (!n) {
        *err = "the pipeline has no tasks";
        return ERR_UNPROCESSABLE;
    }
    names = arena_alloc(a, n * sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = js_get_str(js_get(json_object_array_get_idx(rows, i), "task"), "name");
    if (!(d = dag_build(a, js_get(pipe, "dag_json"), names, n, err)))
        return ERR_UNPROCESSABLE;

    buf_init(&b, a, SIZE_MAX / 2);
    buf_adds(&b, "{\"tasks\":{");
    for (size_t i = 0; i < dag_count(d); i++) {
        const char *key = dag_task(d, i), *const * up;
        size_t nu = dag_upstream(d, i, &up);
        json_object *row = NULL, *task, *tmpl;
        struct rendered r;
        for (size_t k = 0; k < n && !row; k++)
            if (!strcmp(names[k], key))
                row = json_object_array_get_idx(rows, k);
        if (!row)
            return ERR_INTERNAL;
        task = js_get(row, "task");
        tmpl = js_get(row, "template");
        if (render_task(a, pipe, task, tmpl, rc, &r, err)) {
            *err = arena_printf(a, "task %s: %s", key, *err);
            return ERR_UNPROCESSABLE;
        }
        if (i)
            buf_addc(&b, ',');
        put_str(&b, key);
        buf_adds(&b, ":{\"task_id\":");
        put_value(&b, js_get(task, "id"));
        buf_adds(&b, ",\"template\":");
        put_value(&b, js_get(tmpl, "name"));
        buf_adds(&b, ",\"upstream\":");
        put_strs(&b, up, nu, false);
        buf_adds(&b, ",\"skip\":");
        put_value(&b, js_get(task, "skip"));
        buf_adds(&b, ",\"retry\":");
        put_value(&b, js_get(task, "retry"));
        buf_adds(&b, ",\"timeout\":");
        put_value(&b, js_get(task, "timeout"));
        buf_adds(&b, ",\"argv\":");
        put_strs(&b, r.argv, r.argc, false);
        buf_adds(&b, ",\"env\":");
        put_strs(&b, r.env, r.nenv, true);
        buf_adds(&b, ",\"workdir\":");
        put_str(&b, r.workdir);
        buf_adds(&b, ",\"image\":");
        put_str(&b, r.image);
        buf_addf(&b, ",\"replicas\":%d,\"resources\":{\"cpu\":", r.replicas);
        put_value(&b, js_get(task, "resource_cpu"));
        buf_adds(&b, ",\"memory\":");
        put_value(&b, js_get(task, "resource_memory"));
        buf_adds(&b, ",\"gpu\":");
        put_value(&b, js_get(task, "resource_gpu"));
        buf_addc(&b, '}');
        /* The rest of the KFJ_ block is the snapshot's own fields, or the run's. */
        if (*r.kfj.volume_mount) {
            buf_adds(&b, ",\"volume_mount\":");
            put_str(&b, r.kfj.volume_mount);
        }
        if (*r.kfj.node_selector) {
            buf_adds(&b, ",\"node_selector\":");
            put_str(&b, r.kfj.node_selector);
        }
        buf_addc(&b, '}');
        if (!i) {
            creator = r.kfj.creator;
            runner = r.kfj.runner;
        }
    }
    buf_adds(&b, "},\"order\":[");
    for (size_t i = 0; i < dag_count(d); i++) {
        if (i)
            buf_addc(&b, ',');
        put_str(&b, dag_task(d, i));
    }
    buf_addf(&b, "],\"pipeline\":{\"id\":%" PRId64 ",\"name\":", src->pipeline_id);
    put_value(&b, js_get(pipe, "name"));
    buf_adds(&b, ",\"project\":");
    put_value(&b, js_get(pipe, "project"));
    buf_adds(&b, ",\"creator\":");
    put_str(&b, creator);
    buf_adds(&b, "},\"runner\":");
    put_str(&b, runner);
    buf_addc(&b, '}');
    *out = buf_str(&b);
    return ERR_OK;
}

enum err snapshot_build(struct db *db, struct arena *a, int64_t pipeline_id,
                        const struct render_ctx *rc, const char **out, const char **err)
{
    struct snapshot_src src;
    enum err e;

    *err = NULL;
    *out = NULL;
    if ((e = snapshot_load(db, a, &pipeline_id, 1, &src)))
        return e;
    return snapshot_render(a, &src, rc, out, err);
}

void snapshot_kfj(struct arena *a, json_object *pipeline, const char *runner, const char *run_id,
                  const char *execution_date, const char *task_key, json_object *task,
                  struct render_kfj *k)
{
    json_object *res = js_get(task, "resources");

    *k = (struct render_kfj){
        .pipeline_id = render_scalar(a, js_get(pipeline, "id")),
        .pipeline_name = render_scalar(a, js_get(pipeline, "name")),
        .run_id = run_id,
        .creator = render_scalar(a, js_get(pipeline, "creator")),
        .runner = runner,
        .execution_date = execution_date,
        .project_name = render_scalar(a, js_get(js_get(pipeline, "project"), "name")),
        .task_id = render_scalar(a, js_get(task, "task_id")),
        .task_name = task_key,
        .image = render_scalar(a, js_get(task, "image")),
        .volume_mount = render_scalar(a, js_get(task, "volume_mount")),
        .node_selector = render_scalar(a, js_get(task, "node_selector")),
        .cpu = render_scalar(a, js_get(res, "cpu")),
        .memory = render_scalar(a, js_get(res, "memory")),
        .gpu = render_scalar(a, js_get(res, "gpu")),
        .timeout = render_scalar(a, js_get(task, "timeout")),
    };
}
