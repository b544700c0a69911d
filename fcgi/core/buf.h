/*
 * buf.h — a growable byte string in an arena, with a hard cap (curl's dynbuf
 * `toobig`) and a sticky failure bit (PgBouncer's PktBuf): writers append
 * without checking, and whoever finishes the buffer checks buf_err() once.
 *
 * Used for SQL text, CSV, HTTP headers and bodies.  JSON documents are built
 * with json-c, except list and show rows, which api/sql.c writes from the
 * result's columns (sql_json_value: one place, PostgreSQL's rules per type),
 * and run snapshots, which a scheduler tick writes by the thousand (snapshot.c).
 */
#ifndef CUBE_BUF_H
#define CUBE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include "core/arena.h"
#include "core/err.h"
#include "core/attr.h"

struct buf {
    struct arena *arena;
    char *p; /* always NUL-terminated once anything was added */
    size_t len, cap, max;
    bool toobig;
};

void buf_init(struct buf *b, struct arena *a, size_t max);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_truncate(struct buf *b, size_t len);
/* ERR_OK, or ERR_TOOBIG once any append would have passed the cap. */
enum err buf_err(const struct buf *b) WARN_UNUSED;
/* Appends s (len bytes) as a JSON string, escaped as PostgreSQL's escape_json() does. */
void buf_add_json_str(struct buf *b, const char *s, size_t len);
/* The contents as a C string ("" when empty). */
const char *buf_str(const struct buf *b);

#endif
