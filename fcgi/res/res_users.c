/*
 * res_users.c — users (admin-managed), roles, and the caller's own profile.
 *
 * Passwords arrive in the "password" field, are hashed with yescrypt before
 * they reach SQL, and are never read back: the column is write-only.  A user
 * who sets a new password of their own through userinfo gives the present one
 * too ("current_password"): a stolen session or API token alone cannot take
 * over the account.  Admins set passwords through users without it.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/crud.h"
#include "core/cfg.h"
#include "core/auth.h"
#include "res/res.h"
#include "core/common.h"

enum err res_hash_password_hook(struct ctx *cx, struct write *w)
{
    for (size_t i = 0; i < w->res->ncols; i++) {
        char hash[256];
        if (strcmp(w->res->cols[i].name, "password") || !w->vals[i])
            continue;
        if (auth_hash_password(w->vals[i], hash, sizeof(hash)))
            return resp_error(cx, ERR_INTERNAL, "password hashing failed");
        w->vals[i] = arena_strdup(cx->arena, hash);
    }
    return ERR_OK;
}

/* userinfo: a new password needs the present one. */
static enum err userinfo_pre_write(struct ctx *cx, struct write *w)
{
    const char **pw = write_slot(w, "password"), **cur = write_slot(w, "current_password");
    const char *p[1];
    struct pg_result *r;
    bool ok;

    if (pw && *pw) {
        if (!cur || !*cur || !**cur)
            return resp_error(cx, ERR_UNPROCESSABLE,
                              "current_password: required to set a new password");
        /* Wrong present passwords count as failed logins of the account. */
        if (auth_throttled(cx, cx->user.username)) {
            resp_header(cx, "Retry-After: %lld", (long long)cfg.login_window);
            return resp_error(cx, ERR_THROTTLED,
                              "too many failed password checks; try again later");
        }
        p[0] = crud_i64(cx, cx->user.id);
        if (db_query(cx->db, cx->arena,
                     "SELECT \"password\" FROM \"users\" WHERE \"id\" = $1::bigint", 1, p, &r,
                     NULL))
            return resp_error(cx, ERR_UNAVAILABLE, "database unavailable, try again");
        ok = db_rows(r) == 1 && db_val(r, 0, 0) && auth_check_password(*cur, db_val(r, 0, 0));
        if (!ok) {
            auth_note_failure(cx, cx->user.username);
            return resp_error(cx, ERR_FORBIDDEN, "current_password: does not match");
        }
    }
    return res_hash_password_hook(cx, w);
}

/* users and userinfo, after the write: a changed password ended every session issued before
 * it (sql/0011).  When the account is the caller's own, the caller gets a new session (the
 * cookie of a browser, "token" in the result). */
static enum err password_post_write(struct ctx *cx, struct write *w, const char *row)
{
    const char **pw = write_slot(w, "password");

    (void)row;
    if (pw && *pw && w->id == cx->user.id) {
        const char *token = auth_renew_session(cx);
        if (!token)
            return resp_error(cx, ERR_INTERNAL, "cannot issue a new session");
        w->extra_key = "token";
        w->extra_val = token;
    }
    return ERR_OK;
}

#define USERNAME_COL(fl)                                                                          \
    {                                                                                             \
        .name = "username", .type = COL_TEXT, .flags = (fl), .label = "Username",                 \
        .description = "lowercase letters, digits and inner dashes", .max_len = 64, .min_len = 2, \
        .regex = NAME_REGEX                                                                       \
    }
#define PASSWORD_COL(fl)                                                                       \
    {                                                                                          \
        .name = "password", .type = COL_TEXT, .flags = (fl) | COL_SECRET, .label = "Password", \
        .description = "at least 8 characters; stored as a yescrypt hash", .min_len = 8,       \
        .max_len = 1024                                                                        \
    }
#define ROLES_COL(fl)                                                                      \
    {                                                                                      \
        .name = "roles", .type = COL_M2M, .flags = (fl), .label = "Roles",                 \
        .description = "role ids; the admin role grants everything", .rel_table = "roles", \
        .rel_display = "name", .link_table = "user_role", .link_self = "user_id",          \
        .link_other = "role_id"                                                            \
    }

static const struct column user_cols[] = {
    RES_ID_COL,
    USERNAME_COL(COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_ORDER | COL_REQUIRED |
                 COL_UNIQUE),
    {.name = "nickname", .type = COL_TEXT, .flags = COL_RW, .label = "Nickname", .max_len = 100},
    {.name = "email",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Email",
     .max_len = 200,
     .regex = "^([^@ ]+@[^@ ]+)?$"},
    PASSWORD_COL(COL_ADD | COL_EDIT | COL_REQUIRED),
    {.name = "active", .type = COL_BOOL, .flags = COL_RW, .label = "Active", .def = "true"},
    ROLES_COL(COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH),
    {.name = "last_login", .type = COL_TIME, .flags = COL_RO | COL_NULLABLE, .label = "Last login"},
    {.name = "login_count", .type = COL_INT, .flags = COL_SHOW, .label = "Logins"},
    {.name = "created_on", .type = COL_TIME, .flags = COL_RO, .label = "Created"},
    {.name = "changed_on", .type = COL_TIME, .flags = COL_RO, .label = "Changed"},
};

/* GET lookup?username=<exact>: the user of that exact name, for whoever may add members (an
 * admin, or a creator of some project): the member form of a project creator, who may not list
 * the users, needs an id for a name it was told.  Answered as a list of none or one (no name is
 * an error: the form asks while its user types), with id, username and nickname only: a way to
 * add a known person, not to browse who has an account. */
static enum err users_lookup(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *name = req_query(cx, "username");
    struct pg_result *r;
    json_object *out, *data;
    enum err e;

    (void)res;
    (void)id;
    if (!name || !*name)
        return resp_error(cx, ERR_BADREQ, "username: required");
    if (strlen(name) > 64)
        return resp_error(cx, ERR_BADREQ, "username: at most 64 characters");
    const char *p[] = {name, crud_i64(cx, cx->user.id), cx->user.admin ? "true" : "false"};
    e = db_query(cx->db, cx->arena,
                 "SELECT $3::bool OR EXISTS (SELECT 1 FROM \"project_user\" m WHERE m.\"user_id\" "
                 "= $2::bigint AND m.\"role\" = 'creator'), u.\"id\", u.\"username\", "
                 "coalesce(u.\"nickname\", '') FROM (SELECT 1) one LEFT JOIN \"users\" u "
                 "ON u.\"username\" = $1 AND u.\"active\"",
                 3, p, &r, NULL);
    if (e)
        return resp_error(cx, e, "database unavailable, try again");
    if (strcmp(db_val(r, 0, 0), "t"))
        return resp_error(cx, ERR_FORBIDDEN, "only admins and project creators look up users");
    data = json_object_new_array();
    if (db_val(r, 0, 1)) {
        json_object *u = json_object_new_object();
        json_object_object_add(u, "id", json_object_new_int64(strtoll(db_val(r, 0, 1), NULL, 10)));
        json_object_object_add(u, "username", json_object_new_string(db_val(r, 0, 2)));
        json_object_object_add(u, "nickname", json_object_new_string(db_val(r, 0, 3)));
        json_object_array_add(data, u);
    }
    out = json_object_new_object();
    json_object_object_add(out, "count", json_object_new_int((int)json_object_array_length(data)));
    json_object_object_add(out, "data", data);
    resp_ok(cx, out);
    return ERR_OK;
}

static const struct res_route users_routes[] = {
    {"GET", "lookup", users_lookup},
};

const struct resource res_users = {
    .view = "users",
    .table = "users",
    .label = "User",
    .cols = user_cols,
    .ncols = ARRAY_LEN(user_cols),
    .ops = OP_CRUD | OP_CSV_IN,
    .admin_ops = OP_CRUD | OP_CSV_IN,
    .flags = RES_AUTH_DATA,
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .pre_write = res_hash_password_hook,
    .post_write = password_post_write,
    .routes = users_routes,
    .nroutes = ARRAY_LEN(users_routes),
    .menu = {"admin", "Admin", "Users", "fa-user"},
};

static const struct column role_cols[] = {
    RES_ID_COL,
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED | COL_UNIQUE,
     .label = "Name",
     .max_len = 64,
     .min_len = 1},
};

const struct resource res_roles = {
    .view = "roles",
    .table = "roles",
    .label = "Role",
    .cols = role_cols,
    .ncols = ARRAY_LEN(role_cols),
    .ops = OP_CRUD,
    .admin_ops = OP_ADD | OP_EDIT | OP_DELETE,
    .flags = RES_AUTH_DATA,
    .order_col = "id",
    .order_dir = "asc",
    .page_size = 100,
    .menu = {"admin", "Admin", "Roles", "fa-id-badge"},
};

/* GET /api/userinfo/current/userinfo: cube-studio's profile call. */
static enum err current_userinfo(struct ctx *cx, const struct resource *res, int64_t id)
{
    (void)id;
    return crud_show(cx, res, cx->user.id);
}

static const struct res_route userinfo_routes[] = {
    {"GET", "current/userinfo", current_userinfo},
};

static const struct column userinfo_cols[] = {
    RES_ID_COL,
    USERNAME_COL(COL_LIST | COL_SHOW),
    {.name = "nickname",
     .type = COL_TEXT,
     .flags = COL_LIST | COL_SHOW | COL_EDIT,
     .label = "Nickname",
     .max_len = 100},
    {.name = "email",
     .type = COL_TEXT,
     .flags = COL_LIST | COL_SHOW | COL_EDIT,
     .label = "Email",
     .max_len = 200,
     .regex = "^([^@ ]+@[^@ ]+)?$"},
    PASSWORD_COL(COL_EDIT),
    {.name = "current_password",
     .type = COL_TEXT,
     .flags = COL_EDIT | COL_SECRET | COL_INPUT,
     .label = "Current password",
     .description = "your present password; required with a new one",
     .max_len = 1024},
    ROLES_COL(COL_LIST | COL_SHOW),
    {.name = "last_login",
     .type = COL_TIME,
     .flags = COL_LIST | COL_SHOW | COL_NULLABLE,
     .label = "Last login"},
    {.name = "created_on", .type = COL_TIME, .flags = COL_LIST | COL_SHOW, .label = "Created"},
};

const struct resource res_userinfo = {
    .view = "userinfo",
    .table = "users",
    .label = "My profile",
    .cols = userinfo_cols,
    .ncols = ARRAY_LEN(userinfo_cols),
    .ops = OP_LIST | OP_SHOW | OP_EDIT,
    .flags = RES_SCOPE_ADMIN | RES_AUTH_DATA,
    .scope = "t.\"id\" = {uid}",
    .edit_scope = "t.\"id\" = {uid}",
    .order_col = "id",
    .order_dir = "asc",
    .page_size = 1,
    .pre_write = userinfo_pre_write,
    .post_write = password_post_write,
    .routes = userinfo_routes,
    .nroutes = ARRAY_LEN(userinfo_routes),
    .menu = {"me", "Me", "Profile", "fa-id-card"},
};
