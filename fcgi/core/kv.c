/* kv.c — hiredis wrapper with lazy reconnects. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/kv.h"
#include "core/log.h"
#include "core/common.h"

struct kv {
    redisContext *c;
    char *addr;
    int64_t last_try_us;
};

struct kv *kv_open(const char *addr)
{
    struct kv *kv = xcalloc(1, sizeof(*kv));
    kv->addr = xstrdup(addr);
    return kv;
}

void kv_close(struct kv *kv)
{
    if (!kv)
        return;
    if (kv->c)
        redisFree(kv->c);
    free(kv->addr);
    free(kv);
}

static bool kv_connect(struct kv *kv)
{
    struct timeval tv = {0, 300000};
    int64_t now = clock_mono_us();

    if (kv->c)
        return true;
    if (kv->last_try_us && now - kv->last_try_us < 1000000)
        return false;
    kv->last_try_us = now;
    if (!strncmp(kv->addr, "unix:", 5)) {
        kv->c = redisConnectUnixWithTimeout(kv->addr + 5, tv);
    } else {
        char host[256];
        const char *colon = strrchr(kv->addr, ':');
        int64_t port = 6379;
        size_t hl = colon ? (size_t)(colon - kv->addr) : strlen(kv->addr);
        if (hl >= sizeof(host))
            hl = sizeof(host) - 1;
        memcpy(host, kv->addr, hl);
        host[hl] = '\0';
        if (colon && !parse_i64(colon + 1, 1, 65535, &port))
            port = 6379;
        kv->c = redisConnectWithTimeout(host, (int)port, tv);
    }
    if (!kv->c || kv->c->err) {
        log_warn("redis %s unavailable: %s", kv->addr, kv->c ? kv->c->errstr : "no memory");
        if (kv->c)
            redisFree(kv->c);
        kv->c = NULL;
        return false;
    }
    redisSetTimeout(kv->c, tv);
    kv->last_try_us = 0;
    return true;
}

/* Runs one command; on a transport error drops the connection. Caller frees the reply. */
static redisReply *cmd(struct kv *kv, int argc, const char **argv)
{
    redisReply *r;

    if (!kv_connect(kv))
        return NULL;
    r = redisCommandArgv(kv->c, argc, argv, NULL);
    if (!r || kv->c->err) {
        log_warn("redis command %s failed: %s", argv[0], kv->c->errstr);
        if (r)
            freeReplyObject(r);
        redisFree(kv->c);
        kv->c = NULL;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        log_warn("redis command %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

bool kv_ping(struct kv *kv)
{
    const char *argv[] = {"PING"};
    redisReply *r = cmd(kv, 1, argv);
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    return ok;
}

enum err kv_incr_expire(struct kv *kv, const char *key, int64_t ttl_s, int64_t *out)
{
    char ttl[24];
    /* Create the key with its expiry first, so a crash between the two never leaves a key
     * without one (which would lock a username out for good). */
    const char *set[] = {"SET", key, "0", "EX", ttl, "NX"};
    const char *incr[] = {"INCR", key};
    redisReply *r;

    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
    r = cmd(kv, 6, set);
    if (!r)
        return ERR_UNAVAILABLE;
    freeReplyObject(r);
    r = cmd(kv, 2, incr);
    if (!r)
        return ERR_UNAVAILABLE;
    *out = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return ERR_OK;
}

enum err kv_get(struct kv *kv, struct arena *a, const char *key, char **out)
{
    const char *argv[] = {"GET", key};
    redisReply *r = cmd(kv, 2, argv);

    *out = NULL;
    if (!r)
        return ERR_UNAVAILABLE;
    if (r->type == REDIS_REPLY_STRING)
        *out = arena_strndup(a, r->str, r->len);
    freeReplyObject(r);
    return ERR_OK;
}

enum err kv_incr(struct kv *kv, const char *key, int64_t *out)
{
    const char *argv[] = {"INCR", key};
    redisReply *r = cmd(kv, 2, argv);

    if (!r)
        return ERR_UNAVAILABLE;
    *out = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return ERR_OK;
}

enum err kv_mget(struct kv *kv, struct arena *a, const char *const *keys, size_t n, char **out)
{
    const char *argv[17];
    redisReply *r;

    ASSERT(n > 0 && n < ARRAY_LEN(argv));
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        argv[i + 1] = keys[i];
        out[i] = NULL;
    }
    r = cmd(kv, (int)n + 1, argv);
    if (!r)
        return ERR_UNAVAILABLE;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && i < n; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            out[i] = arena_strndup(a, r->element[i]->str, r->element[i]->len);
    freeReplyObject(r);
    return ERR_OK;
}

enum err kv_setex(struct kv *kv, const char *key, int64_t ttl_s, const char *val)
{
    char ttl[24];
    const char *argv[] = {"SETEX", key, ttl, val};
    redisReply *r;

    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
    r = cmd(kv, 4, argv);
    if (!r)
        return ERR_UNAVAILABLE;
    freeReplyObject(r);
    return ERR_OK;
}

enum err kv_del(struct kv *kv, const char *key)
{
    const char *argv[] = {"DEL", key};
    redisReply *r = cmd(kv, 2, argv);
    if (!r)
        return ERR_UNAVAILABLE;
    freeReplyObject(r);
    return ERR_OK;
}

enum err kv_publish(struct kv *kv, const char *channel, const char *msg)
{
    const char *argv[] = {"PUBLISH", channel, msg};
    redisReply *r = cmd(kv, 3, argv);
    if (!r)
        return ERR_UNAVAILABLE;
    freeReplyObject(r);
    return ERR_OK;
}
