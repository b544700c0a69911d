/*
 * arena.h — the request arena (PostgreSQL's memory contexts, h2o's pools).
 *
 * Everything a request allocates comes from one arena and dies together at
 * arena_reset(), which the FastCGI loop calls after FCGX_Finish_r and the
 * daemons call once per tick.  Foreign objects (PGresult, json_object,
 * redisReply) are released by callbacks registered with arena_defer() at the
 * moment they are created, so handlers carry almost no cleanup code.
 *
 * The struct is visible so it can live on the stack; its fields are private.
 */
#ifndef CUBE_ARENA_H
#define CUBE_ARENA_H

#include <stddef.h>
#include "core/attr.h"

struct arena_chunk;
struct arena_defer;

struct arena {
    struct arena_chunk *chunks; /* newest first; the oldest one survives resets */
    struct arena_defer *defers; /* LIFO */
    size_t allocated;           /* bytes handed out since the last reset */
};

#define ARENA_INIT \
    {              \
        0          \
    }

void *arena_alloc(struct arena *a, size_t n); /* 16-byte aligned, never NULL */
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* fn(p) runs at the next reset, newest first. */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);
/* Runs the deferred callbacks and frees all but the first chunk. */
void arena_reset(struct arena *a);
/* Reset and free everything. */
void arena_free(struct arena *a);

#endif
