/* arena.c — chunk-list bump allocator with reset callbacks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/common.h"

enum { CHUNK_SIZE = 16384, ALIGN = 16 };

struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct arena_defer {
    struct arena_defer *next;
    void (*fn)(void *);
    void *p;
};

static struct arena_chunk *chunk_new(size_t size)
{
    struct arena_chunk *c = xmalloc(sizeof(*c) + size);
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_chunk *c = a->chunks;
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    void *p;

    if (!need)
        need = ALIGN;
    if (!c || c->size - c->used < need) {
        /* Oversized requests get a chunk of their own; the current one stays in use. */
        if (need > CHUNK_SIZE / 4 && c) {
            struct arena_chunk *big = chunk_new(need);
            big->used = need;
            big->next = c->next;
            c->next = big;
            a->allocated += need;
            return big->data;
        }
        c = chunk_new(need > CHUNK_SIZE ? need : CHUNK_SIZE);
        c->next = a->chunks;
        a->chunks = c;
    }
    p = c->data + c->used;
    c->used += need;
    a->allocated += need;
    return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ASSERT(n >= 0);
    p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
    struct arena_defer *d = arena_alloc(a, sizeof(*d));
    d->fn = fn;
    d->p = p;
    d->next = a->defers;
    a->defers = d;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *c, *keep = NULL;

    /* Callbacks first: their records live in the chunks freed below. */
    while (a->defers) {
        struct arena_defer *d = a->defers;
        a->defers = d->next;
        d->fn(d->p);
    }
    /* Keep the oldest standard-size chunk (the list is newest first), free the rest. */
    c = a->chunks;
    while (c) {
        struct arena_chunk *next = c->next;
        if (c->size == CHUNK_SIZE) {
            free(keep);
            keep = c;
        } else {
            free(c);
        }
        c = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->chunks = keep;
    a->allocated = 0;
}

void arena_free(struct arena *a)
{
    arena_reset(a);
    free(a->chunks);
    a->chunks = NULL;
}
