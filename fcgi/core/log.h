/*
 * log.h — one JSON object per line on stderr.  The level is checked before
 * the arguments are evaluated (Redis's serverLog).  Request lines are written
 * by api/ with the request id; these are for everything else.
 */
#ifndef CUBE_LOG_H
#define CUBE_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include "core/attr.h"

enum log_level { LOGL_ERROR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

extern enum log_level log_level;
extern const char *log_component; /* "api", "cube", "scheduler", ... */

bool log_set_level(const char *name) WARN_UNUSED;
void log_write(enum log_level lv, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Writes one finished JSON line (already serialised) with a newline, after any queued ones. */
void log_line(const char *json);

/* The access log: one line per request, so cube-api queues them and writes a batch with one
 * write(2) (nginx's access_log buffer=, for the same reason).  A batch never exceeds
 * LOG_BATCH bytes (PIPE_BUF) and holds whole lines only, so lines of concurrent workers never
 * interleave.  Whoever queues must call log_flush() soon: when idle, on a timer, and before
 * exiting; log_queued_since() says how long the oldest queued line has waited. */
enum { LOG_BATCH = 4096 };
void log_queue(const char *json);
void log_flush(void);
/* clock_mono_us() of the oldest queued line, -1 when nothing is queued. */
int64_t log_queued_since(void);

#define log_error(...)                          \
    do {                                        \
        if (log_level >= LOGL_ERROR)            \
            log_write(LOGL_ERROR, __VA_ARGS__); \
    } while (0)
#define log_warn(...)                          \
    do {                                       \
        if (log_level >= LOGL_WARN)            \
            log_write(LOGL_WARN, __VA_ARGS__); \
    } while (0)
#define log_info(...)                          \
    do {                                       \
        if (log_level >= LOGL_INFO)            \
            log_write(LOGL_INFO, __VA_ARGS__); \
    } while (0)
#define log_debug(...)                          \
    do {                                        \
        if (log_level >= LOGL_DEBUG)            \
            log_write(LOGL_DEBUG, __VA_ARGS__); \
    } while (0)

#endif
