/*
 * common.h — what every Cube translation unit shares: allocation that never
 * returns NULL, small attributes, bounded number parsing, and the list of
 * banned libc functions.
 *
 * Include this header LAST in every .c file: the poison pragma at the end
 * makes any later use of sprintf, strcpy & co. a compile error, and a system
 * header included after it would trip over its own uses.
 */
#ifndef CUBE_COMMON_H
#define CUBE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/attr.h"

/* We are a supervised worker: on OOM we abort and the master forks a new one. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Startup failures only; never called while serving a request. */
NORETURN void die(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Stays on in release builds: a broken invariant is a crash, not a guess. */
#define ASSERT(c) ((c) ? (void)0 : assert_fail(#c, __FILE__, __LINE__))
NORETURN void assert_fail(const char *expr, const char *file, int line);

/* Whole-string decimal parse within [min, max]; false on junk or overflow. */
bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) WARN_UNUSED;

/* The monotonic clock in microseconds; the wall clock in seconds and in milliseconds. */
int64_t clock_mono_us(void);
int64_t clock_wall_s(void);
int64_t clock_wall_ms(void);

#pragma GCC poison sprintf vsprintf strcpy strcat strncpy strtok atoi atol gets

#endif
