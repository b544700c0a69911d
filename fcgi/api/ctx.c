/* ctx.c — request accessors and response builders. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/ctx.h"
#include "core/js.h"
#include "core/common.h"

enum { HEADERS_MAX = 16384, BODY_MAX = 64 << 20 };

void ctx_init(struct ctx *cx, struct arena *a, struct db *db, struct kv *kv)
{
    memset(cx, 0, sizeof(*cx));
    cx->arena = a;
    cx->db = db;
    cx->kv = kv;
    cx->resp.status = 200;
    cx->resp.content_type = "application/json; charset=utf-8";
    buf_init(&cx->resp.headers, a, HEADERS_MAX);
    buf_init(&cx->resp.body, a, BODY_MAX);
    cx->route = -1;
}

static void set_body_json(struct ctx *cx, int status, json_object *doc)
{
    cx->resp.status = status;
    cx->resp.content_type = "application/json; charset=utf-8";
    buf_truncate(&cx->resp.body, 0);
    buf_adds(&cx->resp.body, js_str(doc));
    json_object_put(doc);
}

enum err resp_error(struct ctx *cx, enum err e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    json_object *doc = json_object_new_object();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cx->errmsg = arena_strdup(cx->arena, msg);
    json_object_object_add(doc, "status", json_object_new_int(1));
    json_object_object_add(doc, "message", json_object_new_string(msg));
    json_object_object_add(doc, "result", json_object_new_object());
    set_body_json(cx, err_http(e), doc);
    return e;
}

void resp_ok(struct ctx *cx, json_object *result)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "status", json_object_new_int(0));
    json_object_object_add(doc, "message", json_object_new_string("success"));
    json_object_object_add(doc, "result", result ? result : json_object_new_object());
    set_body_json(cx, 200, doc);
}

void resp_ok_raw(struct ctx *cx, const char *result_json)
{
    cx->resp.status = 200;
    cx->resp.content_type = "application/json; charset=utf-8";
    buf_truncate(&cx->resp.body, 0);
    buf_adds(&cx->resp.body, "{\"status\":0,\"message\":\"success\",\"result\":");
    buf_adds(&cx->resp.body, result_json);
    buf_adds(&cx->resp.body, "}");
}

void resp_json(struct ctx *cx, int status, json_object *doc)
{
    set_body_json(cx, status, doc);
}

void resp_header(struct ctx *cx, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* Header injection guard: our values never contain CR/LF; refuse if one slipped in. */
    if (n < 0 || (size_t)n >= sizeof(line) || strpbrk(line, "\r\n"))
        return;
    buf_add(&cx->resp.headers, line, (size_t)n);
    buf_adds(&cx->resp.headers, "\r\n");
}

void resp_text(struct ctx *cx, int status, const char *content_type, const char *text, size_t n)
{
    cx->resp.status = status;
    cx->resp.content_type = content_type;
    buf_truncate(&cx->resp.body, 0);
    buf_add(&cx->resp.body, text, n);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *url_decode(struct arena *a, const char *s, size_t n, bool plus_space)
{
    char *out = arena_alloc(a, n + 1), *o = out;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && plus_space) {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* Finds name=value in an &-separated list; returns the decoded value. */
static const char *pair_lookup(struct arena *a, const char *list, const char *name)
{
    size_t nl = strlen(name);
    const char *p = list;

    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= nl && !strncmp(p, name, nl) && (len == nl || p[nl] == '='))
            return len == nl ? "" : url_decode(a, p + nl + 1, len - nl - 1, true);
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

const char *req_query(struct ctx *cx, const char *name)
{
    return pair_lookup(cx->arena, cx->req.query, name);
}

const char *req_form(struct ctx *cx, const char *name)
{
    if (!cx->req.body || strncasecmp(cx->req.content_type, "application/x-www-form-urlencoded", 33))
        return NULL;
    return pair_lookup(cx->arena, cx->req.body, name);
}

const char *req_cookie(struct ctx *cx, const char *name)
{
    size_t nl = strlen(name);
    const char *p = cx->req.cookie;

    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=')
            return arena_strndup(cx->arena, p + nl + 1, len - nl - 1);
        p = end;
    }
    return NULL;
}

bool req_is_json(const struct ctx *cx)
{
    const char *ct = cx->req.content_type;
    const char *semi = strchr(ct, ';');
    size_t n = semi ? (size_t)(semi - ct) : strlen(ct);
    while (n && ct[n - 1] == ' ')
        n--;
    return (n == 16 && !strncasecmp(ct, "application/json", 16)) ||
           (n > 5 && !strncasecmp(ct + n - 5, "+json", 5));
}
