/*
 * res_template.c — image registries, images and job templates.
 *
 * Registry passwords are sealed with CUBE_SECRET_KEY before they reach SQL
 * and are write-only.  A job template's `args` is the JSON schema of its
 * arguments (core/argschema); saving checks the schema, its `demo` against
 * it, and its `env` lines.  Everyone sees registries and images; templates in
 * Alpha are visible to admins and their authors only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/crud.h"
#include "core/argschema.h"
#include "core/cfg.h"
#include "core/js.h"
#include "core/render.h"
#include "core/secretbox.h"
#include "res/res.h"
#include "core/common.h"

#define CREATOR "t.\"created_by_fk\" = {uid}"

static enum err repository_pre_write(struct ctx *cx, struct write *w)
{
    const char **pw = write_slot(w, "password");
    const char *sealed;
    enum err e;

    if (!pw || !*pw || !**pw)
        return ERR_OK; /* not given, or "" for a registry without credentials */
    if (!cfg.secret_key || strlen(cfg.secret_key) < SECRETBOX_KEY_MIN)
        return resp_error(cx, ERR_INTERNAL, "the server has no CUBE_SECRET_KEY to seal secrets");
    if ((e = secretbox_seal(cx->arena, cfg.secret_key, *pw, &sealed)))
        return resp_error(cx, e, "password: cannot be stored");
    *pw = sealed;
    return ERR_OK;
}

static const struct column repository_cols[] = {
    RES_ID_COL,
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED | COL_UNIQUE,
     .label = "Name",
     .max_len = 100,
     .min_len = 1},
    {.name = "server",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED,
     .label = "Server",
     .description = "registry host, e.g. registry.example.com:5000",
     .max_len = 200,
     .min_len = 1,
     .regex = "^[^ /]+(/[^ ]*)?$"},
    {.name = "user", .type = COL_TEXT, .flags = COL_RW, .label = "User", .max_len = 100},
    {.name = "password",
     .type = COL_TEXT,
     .flags = COL_ADD | COL_EDIT | COL_SECRET,
     .label = "Password",
     .description = "stored encrypted; never shown again",
     .max_len = 1000},
    {.name = "hubsecret",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Pull secret",
     .description = "name of the image pull secret on Kubernetes",
     .max_len = 100},
    RES_AUDIT_COLS,
};

const struct resource res_repository = {
    .view = "repository_modelview",
    .table = "repository",
    .label = "Registry",
    .cols = repository_cols,
    .ncols = ARRAY_LEN(repository_cols),
    .ops = OP_CRUD,
    .flags = RES_AUDIT,
    .edit_scope = CREATOR,
    .delete_scope = CREATOR,
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .pre_write = repository_pre_write,
    .menu = {"dev", "Online development", "Registries", "fa-database"},
};

/* A category must be a project of type job-template. */
static enum err check_category(struct ctx *cx, struct write *w)
{
    const char **pid = write_slot(w, "project");
    const char *p[1];
    struct pg_result *r;
    enum err e;

    if (!pid || !*pid)
        return ERR_OK;
    p[0] = *pid;
    e = db_query(cx->db, cx->arena,
                 "SELECT \"type\" = 'job-template' FROM \"project\" WHERE \"id\" = $1::bigint", 1,
                 p, &r, NULL);
    if (e)
        return resp_error(cx, e, "database unavailable, try again");
    if (!db_rows(r) || strcmp(db_val(r, 0, 0), "t"))
        return resp_error(cx, ERR_UNPROCESSABLE,
                          "project: must be a template category (a project of type job-template)");
    return ERR_OK;
}

static const struct column image_cols[] = {
    RES_ID_COL,
    {.name = "project",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH | COL_NULLABLE,
     .label = "Category",
     .fk = "project_id",
     .rel_table = "project",
     .rel_display = "name"},
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED | COL_UNIQUE,
     .label = "Image",
     .description = "repository/name:tag",
     .max_len = 500,
     .min_len = 1,
     .regex = "^[^ ]+$"},
    {.name = "describe",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Description",
     .max_len = 1000},
    {.name = "repository",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH | COL_NULLABLE,
     .label = "Registry",
     .fk = "repository_id",
     .rel_table = "repository",
     .rel_display = "name"},
    {.name = "entrypoint",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Entrypoint",
     .max_len = 1000},
    {.name = "dockerfile",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT | COL_TEXTAREA,
     .label = "Dockerfile",
     .max_len = 100000},
    {.name = "gitpath",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Source",
     .max_len = 500},
    RES_AUDIT_COLS,
};

const struct resource res_images = {
    .view = "images_modelview",
    .table = "images",
    .label = "Image",
    .cols = image_cols,
    .ncols = ARRAY_LEN(image_cols),
    .ops = OP_CRUD | OP_CSV_IN,
    .flags = RES_AUDIT,
    .edit_scope = CREATOR,
    .delete_scope = CREATOR,
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .pre_write = check_category,
    .menu = {"dev", "Online development", "Images", "fa-cubes"},
};

/* The stored value of one JSON column of the row being updated; NULL when not visible. */
static json_object *stored_json(struct ctx *cx, struct write *w, const char *col)
{
    const char *row, *msg;
    json_object *o;

    if (w->is_add || crud_fetch(cx, w->res, w->id, true, &row) || !row)
        return NULL;
    o = js_parse(cx->arena, row, strlen(row), &msg);
    return js_get(o, col);
}

static bool empty_object(json_object *o)
{
    return !o || (json_object_is_type(o, json_type_object) && !json_object_object_length(o));
}

static enum err template_pre_write(struct ctx *cx, struct write *w)
{
    json_object *args = write_json(cx, w, "args"), *demo = write_json(cx, w, "demo"), *ok;
    const char **env = write_slot(w, "env"), *err, *row;
    struct env_var *vars;
    size_t n;
    enum err e;

    /* An update of a template the caller cannot see: say nothing about it (404 follows). */
    if (!w->is_add && (crud_fetch(cx, w->res, w->id, true, &row) || !row))
        return ERR_OK;
    if ((e = check_category(cx, w)))
        return e;
    if (args && (err = argschema_check(cx->arena, args)))
        return resp_error(cx, ERR_UNPROCESSABLE, "%s", err);
    if (env && *env && render_env_lines(cx->arena, *env, "env", &vars, &n, &err))
        return resp_error(cx, ERR_UNPROCESSABLE, "%s", err);
    /* A non-empty demo must be valid arguments of the schema, whichever of the two changed;
     * an empty demo means "no example". */
    if (args || demo) {
        if (!args)
            args = stored_json(cx, w, "args");
        if (!demo)
            demo = stored_json(cx, w, "demo");
        if (!args)
            args = js_own(cx->arena, json_object_new_object());
        if (!empty_object(demo) && !(ok = argschema_apply(cx->arena, args, demo, &err)))
            return resp_error(cx, ERR_UNPROCESSABLE, "demo.%s", err);
    }
    return ERR_OK;
}

/* Copies of templates named <name>-copy-<n>, as version Alpha until someone releases them. */
static enum err template_copy(struct ctx *cx, const struct resource *res, const int64_t *ids,
                              size_t n, json_object **result)
{
    json_object *made = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
        const char *row, *msg, *newrow;
        json_object *o, *body;
        int64_t id;
        if (crud_fetch(cx, res, ids[i], true, &row) || !row ||
            !(o = js_parse(cx->arena, row, strlen(row), &msg)))
            continue;
        body = js_own(cx->arena, json_object_new_object());
        for (size_t c = 0; c < res->ncols; c++) {
            json_object *v = js_get(o, res->cols[c].name);
            if (!(res->cols[c].flags & COL_ADD) || !v)
                continue;
            if (res->cols[c].type == COL_REL)
                v = js_get(v, "id");
            if (v)
                json_object_object_add(body, res->cols[c].name, json_object_get(v));
        }
        json_object_object_add(
            body, "name",
            js_new_str(arena_printf(cx->arena, "%.80s-copy-%" PRId64, js_get_str(o, "name"),
                                    ids[i] + (int64_t)(clock_mono_us() % 100000))));
        json_object_object_add(body, "version", json_object_new_string("Alpha"));
        if (crud_insert(cx, res, body, &newrow, &id)) {
            json_object_put(made);
            return ERR_UNPROCESSABLE;
        }
        json_object_array_add(made, json_object_new_int64(id));
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "copies", made);
    return ERR_OK;
}

static const struct action template_actions[] = {
    {"copy", "Copy", "Copy the selected templates?", "fa-copy", true, true, false, template_copy},
};

static const char *const versions[] = {"Release", "Alpha", NULL};

static const struct column template_cols[] = {
    RES_ID_COL,
    {.name = "project",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH | COL_ORDER | COL_NULLABLE,
     .label = "Category",
     .fk = "project_id",
     .rel_table = "project",
     .rel_display = "name"},
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED | COL_UNIQUE,
     .label = "Name",
     .max_len = 100,
     .min_len = 1},
    {.name = "version",
     .type = COL_ENUM,
     .flags = COL_RW,
     .label = "Version",
     .description = "Alpha templates are visible to admins and their author only",
     .choices = versions,
     .def = "Release"},
    {.name = "images",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH | COL_NULLABLE,
     .label = "Image",
     .description = "empty: the template runs on the host",
     .fk = "images_id",
     .rel_table = "images",
     .rel_display = "name"},
    {.name = "describe",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Description",
     .max_len = 1000},
    {.name = "workdir",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Working directory",
     .max_len = 500},
    {.name = "entrypoint",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Entrypoint",
     .description = "the command; the task's arguments follow it as flags",
     .max_len = 1000},
    {.name = "args",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Arguments",
     .description = "schema: {group: {--arg: {type, label, require, "
                    "choice, range, default, describe, editable}}}",
     .def = "{}"},
    {.name = "env",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT | COL_TEXTAREA,
     .label = "Environment",
     .description = "KEY=value lines",
     .max_len = 20000},
    {.name = "volume_mount",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Volumes",
     .description = "name(type):/path, comma separated",
     .max_len = 2000},
    {.name = "privileged",
     .type = COL_BOOL,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Privileged",
     .def = "false"},
    {.name = "accounts",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Service account",
     .max_len = 100},
    {.name = "host_aliases",
     .type = COL_TEXT,
     .flags = COL_SHOW | COL_ADD | COL_EDIT | COL_TEXTAREA,
     .label = "Host aliases",
     .description = "'ip host' lines",
     .max_len = 5000},
    {.name = "demo",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Example arguments",
     .def = "{}"},
    {.name = "expand",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Extra",
     .description = "index (palette order), help_url",
     .def = "{}"},
    RES_AUDIT_COLS,
};

const struct resource res_job_template = {
    .view = "job_template_modelview",
    .table = "job_template",
    .label = "Job template",
    .cols = template_cols,
    .ncols = ARRAY_LEN(template_cols),
    .ops = OP_CRUD,
    .flags = RES_AUDIT,
    .scope = "t.\"version\" = 'Release' OR " CREATOR,
    .edit_scope = CREATOR,
    .delete_scope = CREATOR,
    .order_col = "id",
    .order_dir = "asc",
    .page_size = 1000,
    .pre_write = template_pre_write,
    .actions = template_actions,
    .nactions = ARRAY_LEN(template_actions),
    .menu = {"train", "Training", "Job templates", "fa-tasks"},
};
