/*
 * api.c — the router: the central checks every request passes before a
 * handler runs (Redis's processCommand): route, method, body size,
 * authentication, operation permission.  Handlers never repeat them.
 *
 *   /api/<view>/                 GET list, POST create
 *   /api/<view>/_info            GET
 *   /api/<view>/<id>             GET show, PUT update, DELETE delete
 *   /api/<view>/action/<a>/<id>  GET (POST too)
 *   /api/<view>/multi_action/<a> POST
 *   /api/<view>/download/ | download_template/ | upload/
 *   /api/<view>/<custom route>   from the resource's routes[]
 * cube-studio's /<view>/api/<rest> arrives here rewritten by nginx.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/crud.h"
#include "core/db.h"
#include "core/js.h"
#include "core/kv.h"
#include "core/common.h"

enum route_op {
    RO_INFO,
    RO_LIST,
    RO_SHOW,
    RO_ADD,
    RO_EDIT,
    RO_DELETE,
    RO_ACTION,
    RO_MULTI,
    RO_DOWNLOAD,
    RO_TEMPLATE,
    RO_UPLOAD,
    RO_CUSTOM,
    RO__COUNT
};

static const char *const route_op_names[RO__COUNT] = {
    "info",   "list",   "show",         "add",      "edit",
    "delete", "action", "multi_action", "download", "download_template",
    "upload", "custom",
};

/* The permission each route op needs. */
static const unsigned route_op_perm[RO__COUNT] = {
    [RO_INFO] = 0,           [RO_LIST] = OP_LIST,     [RO_SHOW] = OP_SHOW,     [RO_ADD] = OP_ADD,
    [RO_EDIT] = OP_EDIT,     [RO_DELETE] = OP_DELETE, [RO_ACTION] = OP_SHOW,   [RO_MULTI] = OP_LIST,
    [RO_DOWNLOAD] = OP_LIST, [RO_TEMPLATE] = OP_ADD,  [RO_UPLOAD] = OP_CSV_IN, [RO_CUSTOM] = 0,
};

static enum err health(struct ctx *cx);
static enum err feature_check(struct ctx *cx);
static enum err navbar_right(struct ctx *cx);
static enum err openapi(struct ctx *cx)
{
    return info_openapi(cx);
}
static enum err menu(struct ctx *cx)
{
    return info_menu(cx);
}

static const struct fixed_route {
    const char *method, *path;
    enum err (*fn)(struct ctx *cx);
    bool auth;
} fixed_routes[] = {
    {"POST", "/api/login", auth_login, false},
    {"GET", "/api/login", auth_login_config, false},
    {"POST", "/api/logout", auth_logout, false},
    {"GET", "/api/health", health, false},
    {"GET", "/api/metrics", metrics_render, false},
    {"GET", "/api/openapi.json", openapi, false},
    {"GET", "/myapp/menu", menu, true},
    {"GET", "/myapp/navbar_right", navbar_right, true},
    {"GET", "/myapp/feature/check", feature_check, false},
    {"GET", "/login/", auth_login_page, false},
    {"POST", "/login/", auth_login_form, false},
    {"GET", "/login", auth_login_page, false},
    {"POST", "/login", auth_login_form, false},
    {"GET", "/logout", auth_logout_page, false},
    {"POST", "/logout", auth_logout_page, false},
    {"GET", "/logout/", auth_logout_page, false},
};

enum { N_FIXED = ARRAY_LEN(fixed_routes) };

int api_route_count(void)
{
    return N_FIXED + (int)resources_count * RO__COUNT + 1;
}

const char *api_route_name(int i)
{
    static char name[128];
    if (i < 0 || i >= api_route_count() - 1)
        return "unmatched";
    if (i < N_FIXED) {
        snprintf(name, sizeof(name), "%s %s", fixed_routes[i].method, fixed_routes[i].path);
        return name;
    }
    i -= N_FIXED;
    snprintf(name, sizeof(name), "%s:%s", resources[i / RO__COUNT]->view,
             route_op_names[i % RO__COUNT]);
    return name;
}

static enum err health(struct ctx *cx)
{
    struct pg_result *r;
    bool db = !db_query(cx->db, cx->arena, "SELECT 1", 0, NULL, &r, NULL);
    bool kv = kv_ping(cx->kv);
    json_object *res = json_object_new_object(), *doc = json_object_new_object();

    json_object_object_add(res, "db", json_object_new_string(db ? "ok" : "down"));
    json_object_object_add(res, "redis", json_object_new_string(kv ? "ok" : "down"));
    json_object_object_add(res, "version", json_object_new_string(CUBE_VERSION));
    json_object_object_add(doc, "status", json_object_new_int(db && kv ? 0 : 1));
    json_object_object_add(doc, "message",
                           json_object_new_string(db && kv ? "success" : "degraded"));
    json_object_object_add(doc, "result", res);
    resp_json(cx, db && kv ? 200 : 503, doc);
    return ERR_OK;
}

static enum err feature_check(struct ctx *cx)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "hit", json_object_new_boolean(0));
    json_object_object_add(o, "content", json_object_new_string(""));
    resp_json(cx, 200, o);
    return ERR_OK;
}

static enum err navbar_right(struct ctx *cx)
{
    json_object *a = json_object_new_array(), *docs = json_object_new_object(),
                *out = json_object_new_object();
    json_object_object_add(docs, "text", json_object_new_string("API"));
    json_object_object_add(docs, "icon", json_object_new_string("fa-book"));
    json_object_object_add(docs, "link", json_object_new_string("/api/openapi.json"));
    json_object_array_add(a, docs);
    json_object_object_add(out, "text", json_object_new_string("Log out"));
    json_object_object_add(out, "icon", json_object_new_string("fa-sign-out"));
    json_object_object_add(out, "link", json_object_new_string("/logout"));
    json_object_array_add(a, out);
    resp_json(cx, 200, a);
    return ERR_OK;
}

/* Splits the request path into segments (at most max); returns the count, -1 if too many. */
static int split(struct ctx *cx, const char *path, const char **seg, size_t *len, int max,
                 bool *trailing)
{
    int n = 0;
    const char *p = path;
    (void)cx;
    *trailing = false;
    while (*p) {
        const char *s;
        while (*p == '/')
            p++;
        if (!*p) {
            *trailing = true;
            break;
        }
        s = p;
        while (*p && *p != '/')
            p++;
        if (n == max)
            return -1;
        seg[n] = s;
        len[n] = (size_t)(p - s);
        n++;
        if (!*p)
            break;
        if (!p[1])
            *trailing = true;
    }
    return n;
}

static bool seg_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(s, lit, n);
}

static bool seg_id(struct ctx *cx, const char *s, size_t n, int64_t *id)
{
    char *tmp;
    if (!n || n > 18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    tmp = arena_strndup(cx->arena, s, n);
    return parse_i64(tmp, 0, INT64_MAX, id);
}

struct match {
    const struct resource *res;
    enum route_op op;
    int64_t id;
    const char *action;
    const struct res_route *custom;
    const char *allow; /* methods of the path when the method did not match */
};

/* Custom routes: a pattern of literal segments and {id}. */
static bool match_custom(struct ctx *cx, const struct resource *res, const char **seg,
                         const size_t *len, int n, struct match *m)
{
    for (size_t r = 0; r < res->nroutes; r++) {
        const char *pat = res->routes[r].pattern;
        const char *ps[8];
        size_t pl[8];
        bool tr;
        int pn = split(cx, pat, ps, pl, 8, &tr);
        bool ok = pn == n;
        int64_t id = 0;
        for (int i = 0; ok && i < n; i++) {
            if (seg_is(ps[i], pl[i], "{id}"))
                ok = seg_id(cx, seg[i], len[i], &id);
            else
                ok = pl[i] == len[i] && !memcmp(ps[i], seg[i], len[i]);
        }
        if (!ok)
            continue;
        if (strcmp(res->routes[r].method, cx->req.method)) {
            m->allow = res->routes[r].method;
            continue;
        }
        m->op = RO_CUSTOM;
        m->custom = &res->routes[r];
        m->id = id;
        return true;
    }
    return false;
}

/* Resolves /api/<view>/<rest>. false: 404 (m->allow set: 405). */
static bool match_resource(struct ctx *cx, struct match *m)
{
    const char *seg[8], *meth = cx->req.method;
    size_t len[8];
    bool trailing, get = !strcmp(meth, "GET"), post = !strcmp(meth, "POST");
    int n = split(cx, cx->req.path, seg, len, 8, &trailing);

    memset(m, 0, sizeof(*m));
    if (n < 2 || !seg_is(seg[0], len[0], "api") || !(m->res = resource_find(seg[1], len[1])))
        return false;
    n -= 2;
    const char **s = seg + 2;
    size_t *l = len + 2;
    if (n == 0) {
        if (get || post) {
            m->op = get ? RO_LIST : RO_ADD;
            return true;
        }
        m->allow = "GET, POST";
        return false;
    }
    if (match_custom(cx, m->res, s, l, n, m))
        return true;
    const char *custom_allow = m->allow; /* a custom route of the path, another method: 405 */
    if (n == 1 && seg_is(s[0], l[0], "_info")) {
        m->op = RO_INFO;
        m->allow = "GET";
        return get;
    }
    if (n == 1 && seg_id(cx, s[0], l[0], &m->id)) {
        if (get)
            m->op = RO_SHOW;
        else if (!strcmp(meth, "PUT"))
            m->op = RO_EDIT;
        else if (!strcmp(meth, "DELETE"))
            m->op = RO_DELETE;
        else {
            m->allow = "GET, PUT, DELETE";
            return false;
        }
        return true;
    }
    if (n == 1 && (seg_is(s[0], l[0], "download") || seg_is(s[0], l[0], "download_template"))) {
        m->op = seg_is(s[0], l[0], "download") ? RO_DOWNLOAD : RO_TEMPLATE;
        m->allow = "GET";
        return get;
    }
    if (n == 1 && seg_is(s[0], l[0], "upload")) {
        m->op = RO_UPLOAD;
        m->allow = "POST";
        return post;
    }
    if (n == 3 && seg_is(s[0], l[0], "action") && seg_id(cx, s[2], l[2], &m->id)) {
        m->op = RO_ACTION;
        m->action = arena_strndup(cx->arena, s[1], l[1]);
        m->allow = "GET, POST";
        return get || post;
    }
    if (n == 2 && seg_is(s[0], l[0], "multi_action")) {
        m->op = RO_MULTI;
        m->action = arena_strndup(cx->arena, s[1], l[1]);
        m->allow = "POST";
        return post;
    }
    m->allow = custom_allow;
    return false;
}

static enum err dispatch(struct ctx *cx, struct match *m)
{
    const struct resource *res = m->res;
    unsigned need = route_op_perm[m->op];
    enum err e;

    if ((e = auth_request(cx)))
        return e;
    if (need && !crud_allowed(cx, res, need)) {
        const char *what = m->op == RO_UPLOAD ? "upload" : route_op_names[m->op];
        if (!(res->ops & need))
            return resp_error(cx, ERR_METHOD, "%s does not support %s", res->view, what);
        return resp_error(cx, ERR_FORBIDDEN, "no permission to %s", what);
    }
    switch (m->op) {
    case RO_INFO:
        return info_view(cx, res);
    case RO_LIST:
        return crud_list(cx, res);
    case RO_SHOW:
        return crud_show(cx, res, m->id);
    case RO_ADD:
        return crud_add(cx, res);
    case RO_EDIT:
        return crud_edit(cx, res, m->id);
    case RO_DELETE:
        return crud_delete(cx, res, m->id);
    case RO_ACTION:
        return crud_action(cx, res, m->action, m->id);
    case RO_MULTI:
        return crud_multi_action(cx, res, m->action);
    case RO_DOWNLOAD:
        return crud_download(cx, res);
    case RO_TEMPLATE:
        return crud_download_template(cx, res);
    case RO_UPLOAD:
        return crud_upload(cx, res);
    case RO_CUSTOM:
        return m->custom->fn(cx, res, m->id);
    case RO__COUNT:
        break;
    }
    return resp_error(cx, ERR_INTERNAL, "unroutable");
}

void api_handle(struct ctx *cx)
{
    const char *allow = NULL;
    struct match m;

    cx->route = api_route_count() - 1;
    for (int i = 0; i < N_FIXED; i++) {
        const struct fixed_route *r = &fixed_routes[i];
        if (strcmp(r->path, cx->req.path))
            continue;
        if (strcmp(r->method, cx->req.method)) {
            allow = r->method;
            continue;
        }
        cx->route = i;
        if (cx->req.body_too_big) {
            resp_error(cx, ERR_TOOBIG, "request body too large");
            return;
        }
        if (r->auth && auth_request(cx))
            return;
        r->fn(cx);
        return;
    }
    if (match_resource(cx, &m)) {
        cx->route = N_FIXED + (int)resource_index(m.res) * RO__COUNT + (int)m.op;
        if (cx->req.body_too_big) {
            resp_error(cx, ERR_TOOBIG, "request body too large");
            return;
        }
        dispatch(cx, &m);
        return;
    }
    if (m.allow)
        allow = m.allow;
    if (allow) {
        resp_header(cx, "Allow: %s", allow);
        resp_error(cx, ERR_METHOD, "method %s not allowed on %s", cx->req.method, cx->req.path);
        return;
    }
    resp_error(cx, ERR_NOT_FOUND, "no such route: %s %s", cx->req.method, cx->req.path);
}
