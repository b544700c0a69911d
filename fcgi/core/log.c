/* log.c — JSON lines on stderr, written with one write(2) so workers never interleave.
 * Queued lines (the access log) are batched into writes of whole lines, each at most
 * LOG_BATCH bytes: writes up to PIPE_BUF are atomic on a pipe, and on an O_APPEND file. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/common.h"

enum log_level log_level = LOGL_INFO;
const char *log_component = "cube";

static char queue[LOG_BATCH];
static size_t queued;
static int64_t queued_since_us = -1;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

bool log_set_level(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
        if (!strcmp(name, level_names[i])) {
            log_level = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_flush(void)
{
    size_t n = queued;

    queued = 0;
    queued_since_us = -1;
    if (n && write(STDERR_FILENO, queue, n) < 0)
        return;
}

int64_t log_queued_since(void)
{
    return queued_since_us;
}

void log_queue(const char *json)
{
    size_t n = strlen(json);

    if (queued + n + 1 > sizeof(queue))
        log_flush();
    if (n + 1 > sizeof(queue)) {
        log_line(json);
        return;
    }
    if (!queued)
        queued_since_us = clock_mono_us();
    memcpy(queue + queued, json, n);
    queue[queued + n] = '\n';
    queued += n + 1;
}

void log_line(const char *json)
{
    size_t n = strlen(json);
    char small[4096];

    /* Queued lines first, so the log keeps the order things happened in. */
    log_flush();
    /* One write per line: lines from concurrent workers stay whole (O_APPEND, < PIPE_BUF). */
    if (n + 1 <= sizeof(small)) {
        memcpy(small, json, n);
        small[n] = '\n';
        if (write(STDERR_FILENO, small, n + 1) < 0)
            return;
        return;
    }
    if (write(STDERR_FILENO, json, n) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
        return;
}

void log_write(enum log_level lv, const char *fmt, ...)
{
    char msg[2048], ts[32];
    va_list ap;
    struct timespec now;
    struct tm tm;
    json_object *o = json_object_new_object();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_object_object_add(o, "ts", json_object_new_string(ts));
    json_object_object_add(o, "level", json_object_new_string(level_names[lv]));
    json_object_object_add(o, "component", json_object_new_string(log_component));
    json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(o, "msg", json_object_new_string(msg));
    log_line(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}
