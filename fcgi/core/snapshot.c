/* snapshot.c — one query for the pipeline with its tasks and templates, then dag + render. */
#include <inttypes.h>
#include <string.h>

#include "core/dag.h"
#include "core/js.h"
#include "core/snapshot.h"
#include "core/common.h"

static const char SNAPSHOT_SQL[] =
    "SELECT json_build_object('id', p.\"id\", 'name', p.\"name\", 'global_env', p.\"global_env\", "
    "'dag_json', p.\"dag_json\", 'project', json_build_object('id', pr.\"id\", 'name', "
    "pr.\"name\"), 'created_by', json_build_object('id', u.\"id\", 'username', "
    "u.\"username\"))::text, "
    "(SELECT coalesce(json_agg(json_build_object('task', json_build_object('id', t.\"id\", "
    "'name', t.\"name\", 'args', t.\"args\", 'command', t.\"command\", 'working_dir', "
    "t.\"working_dir\", 'volume_mount', t.\"volume_mount\", 'node_selector', t.\"node_selector\", "
    "'resource_cpu', t.\"resource_cpu\", 'resource_memory', t.\"resource_memory\", "
    "'resource_gpu', t.\"resource_gpu\", 'timeout', t.\"timeout\", 'retry', t.\"retry\", 'skip', "
    "t.\"skip\"), 'template', json_build_object('id', j.\"id\", 'name', j.\"name\", 'entrypoint', "
    "j.\"entrypoint\", 'workdir', j.\"workdir\", 'env', j.\"env\", 'args', j.\"args\", 'image', "
    "(SELECT json_build_object('name', i.\"name\") FROM \"images\" i WHERE i.\"id\" = "
    "j.\"images_id\"))) ORDER BY t.\"id\"), '[]')::text FROM \"task\" t JOIN \"job_template\" j "
    "ON j.\"id\" = t.\"job_template_id\" WHERE t.\"pipeline_id\" = p.\"id\") "
    "FROM \"pipeline\" p JOIN \"project\" pr ON pr.\"id\" = p.\"project_id\" LEFT JOIN \"users\" u "
    "ON u.\"id\" = p.\"created_by_fk\" WHERE p.\"id\" = $1::bigint";

static json_object *str_array(const char *const *v, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

enum err snapshot_build(struct db *db, struct arena *a, int64_t pipeline_id,
                        const struct render_ctx *rc, json_object **out, const char **err)
{
    const char *p[] = {arena_printf(a, "%" PRId64, pipeline_id)}, *msg, **names;
    json_object *pipe, *rows, *snap, *tasks, *order, *info;
    struct pg_result *r;
    struct dag *d;
    size_t n;
    enum err e;

    *err = NULL;
    if ((e = db_query(db, a, SNAPSHOT_SQL, 1, p, &r, NULL)))
        return e;
    if (!db_rows(r))
        return ERR_NOT_FOUND;
    pipe = js_parse(a, db_val(r, 0, 0), db_len(r, 0, 0), &msg);
    rows = js_parse(a, db_val(r, 0, 1), db_len(r, 0, 1), &msg);
    if (!pipe || !rows)
        return ERR_INTERNAL;
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

    snap = js_own(a, json_object_new_object());
    info = json_object_new_object();
    json_object_object_add(info, "id", json_object_new_int64(pipeline_id));
    json_object_object_add(info, "name", json_object_get(js_get(pipe, "name")));
    json_object_object_add(info, "project", json_object_get(js_get(pipe, "project")));
    json_object_object_add(snap, "pipeline", info);
    order = json_object_new_array();
    tasks = json_object_new_object();
    json_object_object_add(snap, "order", order);
    json_object_object_add(snap, "tasks", tasks);
    for (size_t i = 0; i < dag_count(d); i++) {
        const char *key = dag_task(d, i), *const * up;
        size_t nu = dag_upstream(d, i, &up);
        json_object *row = NULL, *task, *tmpl, *t, *res;
        struct rendered out_r;
        for (size_t k = 0; k < n && !row; k++)
            if (!strcmp(names[k], key))
                row = json_object_array_get_idx(rows, k);
        if (!row)
            return ERR_INTERNAL;
        task = js_get(row, "task");
        tmpl = js_get(row, "template");
        if (render_task(a, pipe, task, tmpl, rc, &out_r, err)) {
            *err = arena_printf(a, "task %s: %s", key, *err);
            return ERR_UNPROCESSABLE;
        }
        t = json_object_new_object();
        json_object_object_add(t, "task_id", json_object_get(js_get(task, "id")));
        json_object_object_add(t, "template", json_object_get(js_get(tmpl, "name")));
        json_object_object_add(t, "upstream", str_array(up, nu));
        json_object_object_add(t, "skip", json_object_get(js_get(task, "skip")));
        json_object_object_add(t, "retry", json_object_get(js_get(task, "retry")));
        json_object_object_add(t, "timeout", json_object_get(js_get(task, "timeout")));
        json_object_object_add(t, "argv", str_array(out_r.argv, out_r.argc));
        json_object_object_add(t, "env", str_array(out_r.env, out_r.nenv));
        json_object_object_add(t, "workdir", json_object_new_string(out_r.workdir));
        json_object_object_add(t, "image", json_object_new_string(out_r.image));
        json_object_object_add(t, "replicas", json_object_new_int(out_r.replicas));
        res = json_object_new_object();
        json_object_object_add(res, "cpu", json_object_get(js_get(task, "resource_cpu")));
        json_object_object_add(res, "memory", json_object_get(js_get(task, "resource_memory")));
        json_object_object_add(res, "gpu", json_object_get(js_get(task, "resource_gpu")));
        json_object_object_add(t, "resources", res);
        json_object_object_add(tasks, key, t);
        json_object_array_add(order, json_object_new_string(key));
    }
    *out = snap;
    return ERR_OK;
}
