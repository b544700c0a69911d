/*
 * cluster.c — cluster rows to engines, with the credentials unsealed here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/cluster.h"
#include "core/log.h"
#include "core/secretbox.h"
#include "core/common.h"

#define CLUSTER_COLS                                                                   \
    "\"id\", \"engine\", \"endpoint\", \"user\", \"token\", \"jwt_key\", \"ca_pem\", " \
    "\"queue\", \"shared_dir\", "                                                      \
    "to_char(\"changed_on\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"

enum { C_ID, C_ENGINE, C_ENDPOINT, C_USER, C_TOKEN, C_KEY, C_CA, C_QUEUE, C_SHARED, C_CHANGED };

struct cluster_slot {
    int64_t id;
    char stamp[40];        /* changed_on of the row the engine was opened from */
    struct engine *engine; /* NULL when it could not be opened */
    char why[256];         /* and why */
    bool seen;             /* in the last refresh */
};

struct cluster_set {
    struct engine *local;
    struct cluster_slot *slots;
    size_t n, cap;
};

const char *cluster_executor_name(struct arena *a, int64_t id)
{
    return id ? arena_printf(a, "cluster:%" PRId64, id) : "local";
}

bool cluster_executor_id(const char *executor, int64_t *id)
{
    if (executor && !strcmp(executor, "local")) {
        *id = 0;
        return true;
    }
    return executor && !strncmp(executor, "cluster:", 8) &&
           parse_i64(executor + 8, 1, INT64_MAX, id);
}

bool cluster_b64_decode(struct arena *a, const char *s, unsigned char **out, size_t *len)
{
    size_t n = strlen(s), o = 0;
    unsigned char *p = arena_alloc(a, n / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;

    while (n && s[n - 1] == '=')
        n--;
    for (size_t i = 0; i < n; i++) {
        const char c = s[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            return false;
        acc = acc << 6 | (uint32_t)v;
        if ((bits += 6) >= 8) {
            bits -= 8;
            p[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits >= 6) /* a lone trailing character carries no whole byte */
        return false;
    *out = p;
    *len = o;
    return true;
}

/* The engine of one row (columns as CLUSTER_COLS); NULL with *why in a. */
static struct engine *open_row(struct arena *a, const struct pg_result *r, int i, const char **why)
{
    struct engine_conf c = {0};
    enum engine_kind kind;
    const char *token = db_val(r, i, C_TOKEN), *key = db_val(r, i, C_KEY);
    unsigned char *raw = NULL;
    char err[256] = "";
    struct engine *g;

    if (!engine_kind_parse(db_val(r, i, C_ENGINE), &kind) || kind == ENGINE_LOCAL) {
        *why = arena_printf(a, "engine %s has no remote client", db_val(r, i, C_ENGINE));
        return NULL;
    }
    if ((*token || *key) && (!cfg.secret_key || strlen(cfg.secret_key) < SECRETBOX_KEY_MIN)) {
        *why = "the server has no CUBE_SECRET_KEY to unseal the credentials";
        return NULL;
    }
    if (*token && secretbox_open(a, cfg.secret_key, token, &c.token)) {
        *why = "the token does not unseal (was CUBE_SECRET_KEY changed?)";
        return NULL;
    }
    if (*key) {
        const char *b64;
        if (secretbox_open(a, cfg.secret_key, key, &b64) ||
            !cluster_b64_decode(a, b64, &raw, &c.key_len)) {
            *why = "the JWT key does not unseal or is not base64";
            return NULL;
        }
        c.key = (const char *)raw;
    }
    c.endpoint = db_val(r, i, C_ENDPOINT);
    c.user = *db_val(r, i, C_USER) ? db_val(r, i, C_USER) : NULL;
    c.ca_pem = *db_val(r, i, C_CA) ? db_val(r, i, C_CA) : NULL;
    c.queue = *db_val(r, i, C_QUEUE) ? db_val(r, i, C_QUEUE) : NULL;
    c.shared_dir = *db_val(r, i, C_SHARED) ? db_val(r, i, C_SHARED) : NULL;
    g = engine_open(kind, &c, err, sizeof(err));
    if (raw) /* the engine keeps its own copy of the key */
        explicit_bzero(raw, c.key_len);
    if (!g)
        *why = arena_printf(a, "cannot open the %s engine: %s", engine_kind_name(kind), err);
    return g;
}

struct cluster_set *cluster_set_new(struct executor *local)
{
    struct cluster_set *s = calloc(1, sizeof(*s));

    if (s && !(s->local = engine_local(local))) {
        free(s);
        return NULL;
    }
    return s;
}

static void slot_clear(struct cluster_slot *sl)
{
    engine_close(sl->engine);
    memset(sl, 0, sizeof(*sl));
}

void cluster_set_free(struct cluster_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        slot_clear(&s->slots[i]);
    free(s->slots);
    engine_close(s->local);
    free(s);
}

static struct cluster_slot *slot_find(struct cluster_set *s, int64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->slots[i].id == id)
            return &s->slots[i];
    return NULL;
}

enum err cluster_set_refresh(struct cluster_set *s, struct db *db, struct arena *a)
{
    struct pg_result *r;
    size_t keep = 0;
    enum err e;

    if ((e = db_query(db, a, "SELECT " CLUSTER_COLS " FROM \"cluster\" WHERE \"engine\" <> 'local'",
                      0, NULL, &r, NULL)))
        return e;
    for (size_t i = 0; i < s->n; i++)
        s->slots[i].seen = false;
    for (int i = 0; i < db_rows(r); i++) {
        int64_t id = db_i64(r, i, C_ID);
        const char *stamp = db_val(r, i, C_CHANGED), *why = NULL;
        struct cluster_slot *sl = slot_find(s, id);

        if (sl && !strcmp(sl->stamp, stamp)) {
            sl->seen = true;
            continue;
        }
        if (!sl) {
            if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 8;
                struct cluster_slot *ns = realloc(s->slots, cap * sizeof(*ns));
                if (!ns)
                    return ERR_NOMEM;
                s->slots = ns;
                s->cap = cap;
            }
            sl = &s->slots[s->n++];
            memset(sl, 0, sizeof(*sl));
        } else {
            slot_clear(sl);
        }
        sl->id = id;
        sl->seen = true;
        snprintf(sl->stamp, sizeof(sl->stamp), "%s", stamp);
        sl->engine = open_row(a, r, i, &why);
        snprintf(sl->why, sizeof(sl->why), "%s", why ? why : "");
        if (why)
            log_warn("cluster %" PRId64 ": %s", id, why);
    }
    /* Rows that went away: their attempts read as "cluster gone" from now on. */
    for (size_t i = 0; i < s->n; i++) {
        if (s->slots[i].seen)
            s->slots[keep++] = s->slots[i];
        else
            slot_clear(&s->slots[i]);
    }
    s->n = keep;
    return ERR_OK;
}

enum err cluster_set_engine(struct cluster_set *s, struct arena *a, int64_t id, struct engine **out,
                            const char **why)
{
    struct cluster_slot *sl;

    *out = NULL;
    if (id == 0) {
        *out = s->local;
        return ERR_OK;
    }
    if (!(sl = slot_find(s, id))) {
        *why = arena_printf(a, "cluster %" PRId64 " does not exist any more", id);
        return ERR_NOT_FOUND;
    }
    if (!sl->engine) {
        *why = arena_strdup(a, *sl->why ? sl->why : "the engine cannot be opened");
        return ERR_UNAVAILABLE;
    }
    *out = sl->engine;
    return ERR_OK;
}

enum err cluster_open(struct db *db, struct arena *a, int64_t id, struct executor *local,
                      struct engine **out, const char **why)
{
    const char *p[1];
    struct pg_result *r;
    enum err e;

    *out = NULL;
    if (id == 0) {
        if (!(*out = engine_local(local))) {
            *why = "the local executor is not available";
            return ERR_UNAVAILABLE;
        }
        return ERR_OK;
    }
    p[0] = arena_printf(a, "%" PRId64, id);
    if ((e = db_query(db, a, "SELECT " CLUSTER_COLS " FROM \"cluster\" WHERE \"id\" = $1::bigint",
                      1, p, &r, NULL)))
        return e;
    if (!db_rows(r)) {
        *why = "no such cluster";
        return ERR_NOT_FOUND;
    }
    if (!strcmp(db_val(r, 0, C_ENGINE), "local"))
        return cluster_open(db, a, 0, local, out, why);
    if (!(*out = open_row(a, r, 0, why)))
        return ERR_UNPROCESSABLE;
    return ERR_OK;
}
