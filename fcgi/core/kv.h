/*
 * kv.h — the Redis connection of a process (hiredis), opaque.
 *
 * Redis is a cache and a bus: every caller must work (perhaps more slowly)
 * when it is down.  A failed command drops the connection; the next call
 * reconnects, at most once a second, with a short timeout.
 */
#ifndef CUBE_KV_H
#define CUBE_KV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/err.h"
#include "core/attr.h"

struct kv;

struct kv *kv_open(const char *addr); /* never NULL; connects lazily */
void kv_close(struct kv *kv);
bool kv_ping(struct kv *kv);
/* INCR key and set its expiry when it is new; *out gets the new value. */
enum err kv_incr_expire(struct kv *kv, const char *key, int64_t ttl_s, int64_t *out) WARN_UNUSED;
/* *out is NULL when the key is missing; the string lives in the arena. */
enum err kv_get(struct kv *kv, struct arena *a, const char *key, char **out) WARN_UNUSED;
/* INCR key (no expiry); *out gets the new value. */
enum err kv_incr(struct kv *kv, const char *key, int64_t *out) WARN_UNUSED;
/* GET of n keys in one round trip; out[i] NULL when missing. */
enum err kv_mget(struct kv *kv, struct arena *a, const char *const *keys, size_t n,
                 char **out) WARN_UNUSED;
enum err kv_setex(struct kv *kv, const char *key, int64_t ttl_s, const char *val) WARN_UNUSED;
enum err kv_del(struct kv *kv, const char *key) WARN_UNUSED;
enum err kv_publish(struct kv *kv, const char *channel, const char *msg) WARN_UNUSED;

#endif
