/*
 * res_cluster.c — execution clusters (cluster_modelview), admin only.
 *
 * A cluster names an engine (local, slurm, kubernetes), how to reach it and
 * the credentials to use.  Tokens and Slurm's JWT key are sealed with
 * CUBE_SECRET_KEY before they reach SQL and are never read back; the CA
 * certificate is public and shown.  A project picks its cluster by name in
 * its expand.
 */
#include <string.h>

#include "api/crud.h"
#include "core/cfg.h"
#include "core/cluster.h"
#include "core/js.h"
#include "core/secretbox.h"
#include "res/res.h"
#include "core/common.h"

static enum err seal_slot(struct ctx *cx, struct write *w, const char *col)
{
    const char **v = write_slot(w, col);
    const char *sealed;
    enum err e;

    if (!v || !*v || !**v)
        return ERR_OK; /* not given, or "" to clear it */
    if (!cfg.secret_key || strlen(cfg.secret_key) < SECRETBOX_KEY_MIN)
        return resp_error(cx, ERR_INTERNAL, "the server has no CUBE_SECRET_KEY to seal secrets");
    if ((e = secretbox_seal(cx->arena, cfg.secret_key, *v, &sealed)))
        return resp_error(cx, e, "%s: cannot be stored", col);
    *v = sealed;
    return ERR_OK;
}

/* What each engine needs, checked on the values as they will be stored. */
static enum err cluster_pre_write(struct ctx *cx, struct write *w)
{
    const char **engine = write_slot(w, "engine"), **endpoint = write_slot(w, "endpoint");
    enum err e;

    if (w->op == WRITE_DELETE)
        return ERR_OK;
    if (engine && *engine && strcmp(*engine, "local") && w->is_add &&
        (!endpoint || !*endpoint || !**endpoint))
        return resp_error(cx, ERR_UNPROCESSABLE, "endpoint: required for engine %s", *engine);
    if ((e = seal_slot(cx, w, "token")) || (e = seal_slot(cx, w, "jwt_key")))
        return e;
    return ERR_OK;
}

/* GET <id>/check: can Cube reach the engine, what version, how big.  An unreachable engine is
 * an answer (reachable: false and why), not an error of this request. */
static enum err cluster_check(struct ctx *cx, const struct resource *res, int64_t id)
{
    struct engine *g = NULL;
    json_object *report = NULL;
    const char *why = NULL;
    enum err e;

    if (!crud_allowed(cx, res, OP_SHOW)) /* custom routes check their own permission */
        return resp_error(cx, ERR_FORBIDDEN, "no permission to check clusters");
    e = cluster_open(cx->db, cx->arena, id, res_local_executor(), &g, &why);
    if (e == ERR_NOT_FOUND)
        return resp_error(cx, e, "no such cluster");
    if (e && !why) /* cluster_open names every failure but the database's */
        return resp_error(cx, e, "database unavailable, try again");
    if (!e && (e = engine_check(g, cx->arena, &report)))
        why = arena_strdup(cx->arena, *engine_last_error(g) ? engine_last_error(g) : err_name(e));
    engine_close(g);
    if (e) {
        report = js_own(cx->arena, json_object_new_object());
        json_object_object_add(report, "reachable", json_object_new_boolean(0));
        json_object_object_add(report, "error", json_object_new_string(why));
    } else if (!json_object_object_get_ex(report, "reachable", NULL)) {
        json_object_object_add(report, "reachable", json_object_new_boolean(1));
    }
    /* The report is the arena's (engine_check's contract); the response takes a reference of
     * its own.  Handing over the arena's one freed it twice: a crashed worker. */
    resp_ok(cx, json_object_get(report));
    return ERR_OK;
}

static const struct res_route cluster_routes[] = {
    {"GET", "{id}/check", cluster_check},
};

static const char *const engines[] = {"local", "slurm", "kubernetes", NULL};

static const struct column cluster_cols[] = {
    RES_ID_COL,
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED | COL_UNIQUE,
     .label = "Name",
     .description = "what a project's expand names: {\"cluster\": \"<name>\"}",
     .max_len = 63,
     .min_len = 1,
     .regex = "^[a-z0-9][a-z0-9-]*$"},
    {.name = "engine",
     .type = COL_ENUM,
     .flags = COL_RW | COL_REQUIRED,
     .label = "Engine",
     .choices = engines,
     .def = "local"},
    {.name = "describe", .type = COL_TEXT, .flags = COL_RW, .label = "Description", .max_len = 500},
    {.name = "endpoint",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Endpoint",
     .description = "slurmrestd or Kubernetes API base URL, e.g. http://127.0.0.1:6820",
     .max_len = 500,
     .regex = "^(https?://[^ ]+)?$"},
    {.name = "user",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "User",
     .description = "Slurm: the user jobs run as (X-SLURM-USER-NAME)",
     .max_len = 100},
    {.name = "token",
     .type = COL_TEXT,
     .flags = COL_ADD | COL_EDIT | COL_SECRET,
     .label = "Token",
     .description = "a Slurm JWT or a Kubernetes bearer token; stored encrypted, never shown",
     .max_len = 8000},
    {.name = "jwt_key",
     .type = COL_TEXT,
     .flags = COL_ADD | COL_EDIT | COL_SECRET,
     .label = "Slurm JWT key",
     .description = "base64 of Slurm's auth/jwt key, to mint short-lived tokens; stored "
                    "encrypted, never shown",
     .max_len = 2000,
     .regex = "^[A-Za-z0-9+/=]*$"},
    {.name = "ca_pem",
     .type = COL_TEXT,
     .flags = COL_ADD | COL_EDIT | COL_SHOW | COL_TEXTAREA,
     .label = "CA certificate",
     .description = "Kubernetes: the API server's CA, PEM",
     .max_len = 20000},
    {.name = "queue",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Partition / namespace",
     .max_len = 100,
     .regex = "^[A-Za-z0-9_.-]*$"},
    {.name = "shared_dir",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Shared directory",
     .description = "Slurm: a directory every node sees (job working directories and logs)",
     .max_len = 500,
     .regex = "^(/[^ ]*)?$"},
    {.name = "default_resources",
     .type = COL_JSON,
     .flags = COL_ADD | COL_EDIT | COL_SHOW,
     .label = "Default resources",
     .description = "JSON object: cpu, memory, gpu for tasks that name none"},
    {.name = "labels",
     .type = COL_JSON,
     .flags = COL_ADD | COL_EDIT | COL_SHOW,
     .label = "Labels",
     .description = "JSON object of strings"},
    RES_AUDIT_COLS,
};

const struct resource res_cluster = {
    .view = "cluster_modelview",
    .table = "cluster",
    .label = "Cluster",
    .cols = cluster_cols,
    .ncols = ARRAY_LEN(cluster_cols),
    .ops = OP_CRUD,
    .admin_ops = OP_CRUD,
    .flags = RES_AUDIT,
    .order_col = "id",
    .order_dir = "asc",
    .page_size = 100,
    .pre_write = cluster_pre_write,
    .routes = cluster_routes,
    .nroutes = ARRAY_LEN(cluster_routes),
    .menu = {"admin", "Admin", "Clusters", "fa-server"},
};
