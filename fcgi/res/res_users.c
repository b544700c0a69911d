/*
 * res_users.c — users (admin-managed), roles, and the caller's own profile.
 *
 * Passwords arrive in the "password" field, are hashed with yescrypt before
 * they reach SQL, and are never read back: the column is write-only.
 */
#include <string.h>

#include "api/crud.h"
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
    .pre_write = res_hash_password_hook,
    .routes = userinfo_routes,
    .nroutes = ARRAY_LEN(userinfo_routes),
    .menu = {"me", "Me", "Profile", "fa-id-card"},
};
