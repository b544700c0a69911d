/* err.c — error tables. */
#include <string.h>

#include "core/err.h"
#include "core/common.h"

static const struct {
    int http;
    const char *name;
} err_table[ERR__COUNT] = {
    [ERR_OK] = {200, "ok"},
    [ERR_NOMEM] = {500, "out of memory"},
    [ERR_BADREQ] = {400, "bad request"},
    [ERR_UNAUTH] = {401, "unauthorized"},
    [ERR_FORBIDDEN] = {403, "forbidden"},
    [ERR_NOT_FOUND] = {404, "not found"},
    [ERR_METHOD] = {405, "method not allowed"},
    [ERR_CONFLICT] = {409, "conflict"},
    [ERR_TOOBIG] = {413, "request body too large"},
    [ERR_UNPROCESSABLE] = {422, "unprocessable"},
    [ERR_THROTTLED] = {429, "too many requests"},
    [ERR_DB] = {500, "database error"},
    [ERR_INTERNAL] = {500, "internal error"},
    [ERR_UNAVAILABLE] = {503, "service unavailable"},
    [ERR_TIMEOUT] = {504, "timeout"},
};

int err_http(enum err e)
{
    return (unsigned)e < ERR__COUNT ? err_table[e].http : 500;
}

const char *err_name(enum err e)
{
    return (unsigned)e < ERR__COUNT ? err_table[e].name : "internal error";
}

/* Class first, then the few exact codes that differ from their class. */
static const struct {
    const char *code;
    enum err err;
} sqlstate_map[] = {
    {"23505", ERR_CONFLICT},      /* unique_violation */
    {"23503", ERR_UNPROCESSABLE}, /* foreign_key_violation: the referenced row is missing */
    {"23502", ERR_UNPROCESSABLE}, /* not_null_violation */
    {"23514", ERR_UNPROCESSABLE}, /* check_violation */
    {"22001", ERR_UNPROCESSABLE}, /* string_data_right_truncation */
    {"40001", ERR_UNAVAILABLE},   /* serialization_failure */
    {"40P01", ERR_UNAVAILABLE},   /* deadlock_detected */
    {"57014", ERR_TIMEOUT},       /* query_canceled (statement_timeout) */
    {"22", ERR_BADREQ},           /* data exception: bad cast, out of range, bad datetime */
    {"08", ERR_UNAVAILABLE},      /* connection exception */
    {"53", ERR_UNAVAILABLE},      /* insufficient resources */
    {"57", ERR_UNAVAILABLE},      /* operator intervention (shutdown) */
};

enum err err_from_sqlstate(const char *sqlstate)
{
    if (!sqlstate)
        return ERR_UNAVAILABLE;
    for (size_t i = 0; i < ARRAY_LEN(sqlstate_map); i++) {
        const char *c = sqlstate_map[i].code;
        if (!strncmp(sqlstate, c, strlen(c)))
            return sqlstate_map[i].err;
    }
    return ERR_DB;
}
