/*
 * cube-watcher.c — reconciles attempts with the executor and delivers
 * notifications (fcgi/sched/README.md).
 *
 *   cube-watcher            run until SIGTERM; only the leader works
 *   cube-watcher --once     one pass (if no other watcher leads)
 *
 * Each pass: every submitting/running attempt against exec_status (finished,
 * timed out, lost, cancelled, adopted), cancelling runs, the outbox, and due
 * webhook deliveries; a pass that changed anything NOTIFYs cube_sched so the
 * scheduler moves the next tasks at once.  Besides NOTIFY cube_watch (sent by
 * the scheduler after a dispatch and by the API on cancel), an inotify watch
 * on each active attempt directory wakes the loop the moment the shim renames
 * its exit record into place: that is a latency hint only, the pass decides.
 */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/exec.h"
#include "core/kv.h"
#include "core/log.h"
#include "sched/daemon.h"
#include "sched/leader.h"
#include "sched/loop.h"
#include "sched/state.h"
#include "core/common.h"

struct watch {
    int wd;
    char name[64];
    bool seen;
};

struct watcher_ctx {
    struct hooks *hooks;
    int ino; /* inotify descriptor, -1 without */
    struct watch *watches;
    size_t nwatches, cap;
    char root[PATH_MAX];
};

/* Keeps one inotify watch per active attempt directory, and none for finished ones. */
static void sync_watches(struct watcher_ctx *c, const char *const *names, size_t n)
{
    if (c->ino < 0)
        return;
    for (size_t i = 0; i < c->nwatches; i++)
        c->watches[i].seen = false;
    for (size_t k = 0; k < n; k++) {
        bool have = false;
        char path[PATH_MAX + 80];
        int wd;
        for (size_t i = 0; i < c->nwatches && !have; i++)
            if (!strcmp(c->watches[i].name, names[k]))
                have = c->watches[i].seen = true;
        if (have || strlen(names[k]) >= sizeof(c->watches[0].name))
            continue;
        snprintf(path, sizeof(path), "%s/%s", c->root, names[k]);
        wd = inotify_add_watch(c->ino, path, IN_MOVED_TO | IN_ONLYDIR);
        if (wd < 0)
            continue; /* not there yet, or out of watches: the timer covers it */
        if (c->nwatches == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->watches = xrealloc(c->watches, c->cap * sizeof(*c->watches));
        }
        c->watches[c->nwatches].wd = wd;
        snprintf(c->watches[c->nwatches].name, sizeof(c->watches[0].name), "%s", names[k]);
        c->watches[c->nwatches++].seen = true;
    }
    for (size_t i = 0; i < c->nwatches;) {
        if (c->watches[i].seen) {
            i++;
            continue;
        }
        (void)inotify_rm_watch(c->ino, c->watches[i].wd);
        c->watches[i] = c->watches[--c->nwatches];
    }
}

static bool on_inotify(void *ctx)
{
    struct watcher_ctx *c = ctx;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool wake = false;
    ssize_t n;

    while ((n = read(c->ino, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            if (ev->len && !strcmp(ev->name, EXEC_LOCAL_EXIT))
                wake = true;
            p += sizeof(*ev) + ev->len;
        }
    }
    return wake;
}

static enum err watcher_pass(void *ctx, struct pass *ps)
{
    struct watcher_ctx *c = ctx;
    const char **names;
    size_t n;
    enum err e;

    /* The watch is set before the status is read, so an exit in between still wakes us. */
    if ((e = reconcile_pass(ps, &names, &n)))
        return e;
    sync_watches(c, names, n);
    if (ps->changed && (e = state_notify(ps->db, ps->a, "cube_sched")))
        return e;
    if ((e = notify_outbox_pass(ps)) || (e = hooks_start(c->hooks, ps)))
        return e;
    return ERR_OK;
}

static int watcher_wait(void *ctx, struct pollfd *fds, unsigned nfds, int timeout_ms)
{
    struct watcher_ctx *c = ctx;
    return hooks_wait(c->hooks, fds, nfds, timeout_ms);
}

static void watcher_after_wait(void *ctx, struct pass *ps)
{
    struct watcher_ctx *c = ctx;
    (void)hooks_progress(c->hooks, ps);
}

int main(int argc, char **argv)
{
    static const char *const channels[] = {"cube_watch"};
    char err[512];
    struct watcher_ctx ctx;
    struct loop l;
    int rc;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs("usage: cube-watcher [--once]\n"
              "Configured by environment variables (cube config lists them).\n",
              stdout);
        return 0;
    }
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--once"))) {
        fputs("usage: cube-watcher [--once]\n", stderr);
        return 2;
    }
    log_component = "watcher";
    if (!cfg_load(err, sizeof(err)))
        die("%s", err);
    if (!log_set_level(cfg.log_level))
        die("CUBE_LOG_LEVEL: expected error, warn, info or debug");
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        die("curl_global_init failed");

    memset(&ctx, 0, sizeof(ctx));
    ctx.hooks = hooks_new();
    memset(&l, 0, sizeof(l));
    if (!(l.x = exec_local_open_configured()))
        die("the local executor cannot start (CUBE_EXEC_DIR=%s)", cfg.exec_dir);
    if (!(l.clusters = cluster_set_new(l.x)))
        die("out of memory");
    if (!realpath(cfg.exec_dir, ctx.root))
        die("CUBE_EXEC_DIR %s: %s", cfg.exec_dir, strerror(errno));
    ctx.ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ctx.ino < 0)
        log_warn("inotify unavailable (%s): finished attempts are noticed by the timer only",
                 strerror(errno));
    l.name = "watcher";
    l.lock_key = LEADER_KEY_WATCHER;
    l.channels = channels;
    l.nchannels = ARRAY_LEN(channels);
    l.once = argc == 2;
    l.db = db_new(cfg.db_url, "cube-watcher", cfg.db_timeout_ms);
    l.kv = kv_open(cfg.redis);
    l.ctx = &ctx;
    l.pass = watcher_pass;
    l.extra_fd = ctx.ino;
    l.on_extra = on_inotify;
    l.wait = watcher_wait;
    l.after_wait = watcher_after_wait;
    log_info("cube-watcher %s%s: interval %lld ms, lost grace %lld s, attempts in %s", CUBE_VERSION,
             l.once ? " --once" : "", (long long)cfg.sched_interval_ms, (long long)cfg.lost_grace_s,
             cfg.exec_dir);
    rc = loop_run(&l);
    hooks_free(ctx.hooks);
    free(ctx.watches);
    if (ctx.ino >= 0)
        close(ctx.ino);
    cluster_set_free(l.clusters);
    exec_close(l.x);
    kv_close(l.kv);
    db_close(l.db);
    curl_global_cleanup();
    return rc;
}
