/*
 * cube-scheduler.c — the cron-driven job runner (fcgi/sched/README.md).
 *
 *   cube-scheduler            run until SIGTERM; only the leader works
 *   cube-scheduler --once     one pass, if no other scheduler leads (for cron(8))
 *
 * Each pass: cron ticks → runs, admission (max_active_runs, depends_on_past,
 * expired_limit, run timeouts), task readiness and run completion, dispatch to
 * the local executor, and every HOUSE_INTERVAL_S the retention sweep.
 *
 * Operator commands, one transaction each, printing one JSON line (what the
 * scenario tests use; the API calls the same sched.h functions):
 *   cube-scheduler run PIPELINE [TASK]        a manual run (of one task alone)
 *   cube-scheduler backfill PIPELINE FROM TO  runs for the cron ticks in [FROM, TO]
 *                                             (Unix seconds or YYYY-MM-DDTHH:MM:SSZ)
 *   cube-scheduler cancel RUN | rerun RUN | clear TASK_INSTANCE
 *   cube-scheduler suggest TASK               right-sized resources for a task
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/exec.h"
#include "core/js.h"
#include "core/log.h"
#include "sched/daemon.h"
#include "sched/leader.h"
#include "sched/loop.h"
#include "sched/sched.h"
#include "core/common.h"

enum { HOUSE_INTERVAL_S = 600 };

struct sched_ctx {
    int64_t last_house_us; /* monotonic; 0: never (sweep in the first pass) */
};

static enum err scheduler_pass(void *ctx, struct pass *ps)
{
    struct sched_ctx *c = ctx;
    enum err e;

    if ((e = tick_pass(ps)) || (e = admit_pass(ps)) || (e = ready_pass(ps)) ||
        (e = dispatch_pass(ps)))
        return e;
    if (!c->last_house_us || clock_mono_us() - c->last_house_us > HOUSE_INTERVAL_S * 1000000LL) {
        c->last_house_us = clock_mono_us();
        if ((e = house_pass(ps)))
            return e;
    }
    return ERR_OK;
}

static NORETURN void usage(int rc)
{
    fputs("usage: cube-scheduler [--once]\n"
          "       cube-scheduler run PIPELINE [TASK]\n"
          "       cube-scheduler backfill PIPELINE FROM TO\n"
          "       cube-scheduler cancel RUN | rerun RUN | clear TASK_INSTANCE\n"
          "       cube-scheduler suggest TASK\n"
          "Configured by environment variables (cube config lists them).\n",
          rc ? stderr : stdout);
    exit(rc);
}

static int64_t id_arg(const char *s)
{
    int64_t v;
    if (!s || !parse_i64(s, 1, INT64_MAX, &v))
        usage(2);
    return v;
}

/* Unix seconds, or YYYY-MM-DDTHH:MM:SSZ. */
static int64_t time_arg(const char *s)
{
    struct tm tm;
    int64_t v;
    char *end;

    if (s && parse_i64(s, 0, INT64_MAX, &v))
        return v;
    memset(&tm, 0, sizeof(tm));
    end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end)
        usage(2);
    return (int64_t)timegm(&tm);
}

static int report(enum err e, const char *err, const char *ok_json)
{
    if (!e) {
        printf("%s\n", ok_json);
        return 0;
    }
    {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(err_name(e)));
        json_object_object_add(o, "message", json_object_new_string(err ? err : err_name(e)));
        printf("%s\n", js_str(o));
        json_object_put(o);
    }
    return e == ERR_NOT_FOUND ? 3 : e == ERR_CONFLICT || e == ERR_UNPROCESSABLE ? 4 : 1;
}

static int command(int argc, char **argv)
{
    struct arena a = ARENA_INIT;
    char dberr[512];
    struct db *db = db_open(cfg.db_url, "cube-scheduler", cfg.db_timeout_ms, dberr, sizeof(dberr));
    const char *cmd = argv[1], *err = NULL, *ok = "{}";
    enum err e;
    int rc;

    if (!db)
        die("%s", dberr);
    if (!strcmp(cmd, "run") && (argc == 3 || argc == 4)) {
        struct run_request rq = {id_arg(argv[2]), argc == 4 ? "task" : "manual", 0, 0, 0,
                                 "scheduler",     argc == 4 ? argv[3] : NULL};
        int64_t id;
        e = sched_run_create(db, &a, &rq, &id, &err);
        ok = arena_printf(&a, "{\"run_id\":%" PRId64 "}", id);
    } else if (!strcmp(cmd, "backfill") && argc == 5) {
        size_t created, existing;
        e = sched_backfill(db, &a, id_arg(argv[2]), time_arg(argv[3]), time_arg(argv[4]), 0,
                           "scheduler", &created, &existing, &err);
        ok = arena_printf(&a, "{\"created\":%zu,\"existing\":%zu}", created, existing);
    } else if (!strcmp(cmd, "cancel") && argc == 3) {
        e = sched_run_cancel(db, &a, id_arg(argv[2]), "cli", &err);
    } else if (!strcmp(cmd, "rerun") && argc == 3) {
        e = sched_run_rerun(db, &a, id_arg(argv[2]), "cli", &err);
    } else if (!strcmp(cmd, "clear") && argc == 3) {
        e = sched_task_clear(db, &a, id_arg(argv[2]), "cli", &err);
    } else if (!strcmp(cmd, "suggest") && argc == 3) {
        struct sched_suggestion s;
        e = sched_task_suggestion(db, &a, id_arg(argv[2]), &s);
        ok = arena_printf(&a,
                          "{\"samples\":%d,\"peak_rss_kb\":%" PRId64 ",\"cpu_cores\":%.3f,"
                          "\"cpu\":%" PRId64 ",\"memory_gb\":%" PRId64 "}",
                          s.samples, s.peak_rss_kb, s.cpu_cores, s.cpu, s.mem_gb);
    } else {
        usage(2);
    }
    rc = report(e, err, ok);
    arena_free(&a);
    db_close(db);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const channels[] = {"cube_sched"};
    char err[512];
    struct sched_ctx ctx = {0};
    struct loop l;
    bool once = false;
    int rc;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        usage(0);
    log_component = "scheduler";
    if (!cfg_load(err, sizeof(err)))
        die("%s", err);
    if (!log_set_level(cfg.log_level))
        die("CUBE_LOG_LEVEL: expected error, warn, info or debug");
    if (argc > 1 && strcmp(argv[1], "--once"))
        return command(argc, argv);
    once = argc > 1;
    if (argc > 2)
        usage(2);

    memset(&l, 0, sizeof(l));
    l.name = "scheduler";
    l.lock_key = LEADER_KEY_SCHEDULER;
    l.channels = channels;
    l.nchannels = ARRAY_LEN(channels);
    l.once = once;
    l.db = db_new(cfg.db_url, "cube-scheduler", cfg.db_timeout_ms);
    /* The remote engines speak HTTP; libcurl's global state is set up once, before any. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        die("curl_global_init failed");
    if (!(l.x = exec_local_open_configured()))
        die("the local executor cannot start (CUBE_EXEC_DIR=%s)", cfg.exec_dir);
    if (!(l.clusters = cluster_set_new(l.x)))
        die("out of memory");
    l.ctx = &ctx;
    l.pass = scheduler_pass;
    l.extra_fd = -1;
    log_info("cube-scheduler %s%s: interval %lld ms, %lld executor slots, attempts in %s",
             CUBE_VERSION, once ? " --once" : "", (long long)cfg.sched_interval_ms,
             (long long)cfg.exec_slots, cfg.exec_dir);
    rc = loop_run(&l);
    cluster_set_free(l.clusters);
    exec_close(l.x);
    db_close(l.db);
    curl_global_cleanup();
    return rc;
}
