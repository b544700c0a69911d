/*
 * ctx.h — one request as the API sees it: what came in (struct req), what
 * goes out (struct resp), who asked (struct user) and the process's
 * connections.  Nothing here knows about FastCGI: bin/fcgi_main.c fills a
 * struct ctx from libfcgi and writes the response back; tests fill it by hand.
 */
#ifndef CUBE_API_CTX_H
#define CUBE_API_CTX_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/buf.h"
#include "core/db.h"
#include "core/err.h"
#include "core/kv.h"
#include "core/attr.h"

struct req {
    const char *method;       /* "GET", ... */
    const char *path;         /* DOCUMENT_URI: path without the query */
    const char *query;        /* QUERY_STRING, "" when none */
    const char *content_type; /* "" when none */
    const char *cookie;
    const char *authorization;
    const char *remote_addr;
    const char *request_id;
    const char *body; /* NUL-terminated copy, NULL when empty */
    size_t body_len;
    bool body_too_big;
};

struct resp {
    int status;
    const char *content_type;
    struct buf headers; /* extra "Name: value\r\n" lines */
    struct buf body;
};

struct user {
    int64_t id;
    const char *username;
    bool admin;
};

struct ctx {
    struct arena *arena;
    struct db *db;
    struct kv *kv;
    struct req req;
    struct resp resp;
    struct user user;   /* id 0: anonymous */
    bool via_cookie;    /* authenticated by the session cookie */
    int route;          /* metrics route index, see api_route_name() */
    const char *errmsg; /* message of the error response, for the log line */
};

/* Prepares cx for a new request (the arena must have been reset). */
void ctx_init(struct ctx *cx, struct arena *a, struct db *db, struct kv *kv);

/* Error envelope {"status":1,"message":...,"result":{}} with the status for e. Returns e. */
enum err resp_error(struct ctx *cx, enum err e, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* {"status":0,"message":"success","result":<result>}; takes ownership of result. */
void resp_ok(struct ctx *cx, struct json_object *result);
/* Same, splicing a JSON text PostgreSQL produced (trusted, already valid JSON). */
void resp_ok_raw(struct ctx *cx, const char *result_json);
/* A bare JSON document (no envelope), takes ownership. */
void resp_json(struct ctx *cx, int status, struct json_object *doc);
void resp_header(struct ctx *cx, const char *fmt, ...) PRINTF_LIKE(2, 3);
void resp_text(struct ctx *cx, int status, const char *content_type, const char *text, size_t n);

/* Query-string parameter, URL-decoded into the arena; NULL when absent. */
const char *req_query(struct ctx *cx, const char *name);
/* Cookie value (arena copy), NULL when absent. */
const char *req_cookie(struct ctx *cx, const char *name);
/* application/x-www-form-urlencoded body field. */
const char *req_form(struct ctx *cx, const char *name);
bool req_is_json(const struct ctx *cx);
/* Decodes %XX and '+' (when plus_space) into the arena. */
char *url_decode(struct arena *a, const char *s, size_t n, bool plus_space);

#endif
