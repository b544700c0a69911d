/*
 * err.h — the one error enum, its HTTP mapping and the SQLSTATE mapping.
 * Fallible functions return enum err; the detail travels in struct ctx.
 */
#ifndef CUBE_ERR_H
#define CUBE_ERR_H

enum err {
    ERR_OK = 0,
    ERR_NOMEM,
    ERR_BADREQ,        /* 400: malformed input, unknown column, wrong type */
    ERR_UNAUTH,        /* 401 */
    ERR_FORBIDDEN,     /* 403 */
    ERR_NOT_FOUND,     /* 404 */
    ERR_METHOD,        /* 405 */
    ERR_CONFLICT,      /* 409: unique violation */
    ERR_TOOBIG,        /* 413 */
    ERR_UNPROCESSABLE, /* 422: validation */
    ERR_THROTTLED,     /* 429 */
    ERR_DB,            /* 500 */
    ERR_INTERNAL,      /* 500 */
    ERR_UNAVAILABLE,   /* 503 */
    ERR_TIMEOUT,       /* 504 */
    ERR__COUNT
};

int err_http(enum err e);
const char *err_name(enum err e);
/* Maps a PostgreSQL SQLSTATE to the error a client should see. */
enum err err_from_sqlstate(const char *sqlstate);

#endif
