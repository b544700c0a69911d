/*
 * res_token.c — personal API tokens and the audit log.
 *
 * A token is "cube_" + 40 random hex digits.  Only its SHA-256 is stored; the
 * whole token appears once, in the create response.  Tokens are personal, so
 * their scope binds admins too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/auth.h"
#include "core/sha256.h"
#include "res/res.h"
#include "core/common.h"

static enum err token_pre_write(struct ctx *cx, struct write *w)
{
    char secret[64], token[72], digest[65];

    if (!w->is_add)
        return ERR_OK;
    auth_random_hex(secret, 20);
    snprintf(token, sizeof(token), "cube_%s", secret);
    sha256_hex(token, strlen(token), digest);
    for (size_t i = 0; i < w->res->ncols; i++) {
        const char *n = w->res->cols[i].name;
        if (!strcmp(n, "token_hash"))
            w->vals[i] = arena_strdup(cx->arena, digest);
        else if (!strcmp(n, "prefix"))
            w->vals[i] = arena_strndup(cx->arena, token, 12);
        else if (!strcmp(n, "user_id"))
            w->vals[i] = arena_printf(cx->arena, "%" PRId64, cx->user.id);
    }
    w->extra_key = "token";
    w->extra_val = arena_strdup(cx->arena, token);
    return ERR_OK;
}

static const struct column token_cols[] = {
    RES_ID_COL,
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED,
     .label = "Name",
     .description = "what the token is for",
     .max_len = 100,
     .min_len = 1},
    {.name = "prefix",
     .type = COL_TEXT,
     .flags = COL_RO,
     .label = "Prefix",
     .description = "the first characters of the token, to recognise it"},
    {.name = "expires_on",
     .type = COL_TIME,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_ORDER | COL_NULLABLE,
     .label = "Expires",
     .description = "empty: never"},
    {.name = "last_used_on",
     .type = COL_TIME,
     .flags = COL_RO | COL_NULLABLE,
     .label = "Last used"},
    {.name = "created_on", .type = COL_TIME, .flags = COL_RO, .label = "Created"},
    {.name = "token_hash", .type = COL_TEXT, .flags = COL_HIDDEN},
    {.name = "user_id", .type = COL_INT, .flags = COL_HIDDEN},
};

const struct resource res_token = {
    .view = "token_modelview",
    .table = "api_token",
    .label = "API token",
    .cols = token_cols,
    .ncols = ARRAY_LEN(token_cols),
    .ops = OP_LIST | OP_SHOW | OP_ADD | OP_EDIT | OP_DELETE,
    .flags = RES_SCOPE_ADMIN | RES_AUTH_DATA,
    .scope = "t.\"user_id\" = {uid}",
    .edit_scope = "t.\"user_id\" = {uid}",
    .delete_scope = "t.\"user_id\" = {uid}",
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .pre_write = token_pre_write,
    .menu = {"me", "Me", "API tokens", "fa-key"},
};

static const struct column log_cols[] = {
    RES_ID_COL,
    {.name = "username", .type = COL_TEXT, .flags = COL_RO, .label = "User"},
    {.name = "method", .type = COL_TEXT, .flags = COL_RO, .label = "Method"},
    {.name = "path", .type = COL_TEXT, .flags = COL_RO, .label = "Path"},
    {.name = "view", .type = COL_TEXT, .flags = COL_RO, .label = "View"},
    {.name = "op", .type = COL_TEXT, .flags = COL_RO, .label = "Operation"},
    {.name = "row_id", .type = COL_INT, .flags = COL_RO | COL_NULLABLE, .label = "Row"},
    {.name = "status", .type = COL_INT, .flags = COL_RO, .label = "Status"},
    {.name = "request_id", .type = COL_TEXT, .flags = COL_RO, .label = "Request id"},
    {.name = "dttm", .type = COL_TIME, .flags = COL_RO, .label = "Time"},
};

const struct resource res_log = {
    .view = "log_modelview",
    .table = "audit_log",
    .label = "Audit log",
    .cols = log_cols,
    .ncols = ARRAY_LEN(log_cols),
    .ops = OP_LIST | OP_SHOW,
    .admin_ops = OP_LIST | OP_SHOW,
    .flags = RES_NO_LOG,
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .menu = {"admin", "Admin", "Audit log", "fa-list"},
};
