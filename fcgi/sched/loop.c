/* loop.c — poll loop with leadership, LISTEN wake-ups, a timer and clean SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/log.h"
#include "sched/leader.h"
#include "sched/loop.h"
#include "sched/state.h"
#include "core/common.h"

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
    int saved = errno;
    (void)sig;
    got_term = 1;
    if (write(sig_pipe[1], "x", 1) < 0)
        (void)0;
    errno = saved;
}

static void drain_fd(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void setup_signals(void)
{
    struct sigaction sa;

    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        die("pipe: %s", strerror(errno));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

enum err pass_batch(struct pass *ps, enum err (*fn)(struct pass *ps, void *arg), void *arg)
{
    struct arena a = ARENA_INIT;
    struct pass sub = *ps;
    enum err e;

    sub.a = &a;
    e = fn(&sub, arg);
    ps->changed = sub.changed;
    ps->busy = sub.busy;
    arena_free(&a);
    return e;
}

struct engine *pass_engine(struct pass *ps, const char *executor, enum err *e, const char **why)
{
    struct engine *g = NULL;
    int64_t id;

    if (!cluster_executor_id(executor, &id)) {
        *e = ERR_NOT_FOUND;
        *why = arena_printf(ps->a, "unknown executor '%s'", executor ? executor : "");
        return NULL;
    }
    *e = cluster_set_engine(ps->clusters, ps->a, id, &g, why);
    return g;
}

void pass_cancel(struct pass *ps, const char *executor, const char *name)
{
    const char *why;
    enum err e;
    struct engine *g = pass_engine(ps, executor, &e, &why);

    if (!g)
        log_warn("attempt %s: cannot cancel: %s", name, why);
    else if ((e = engine_cancel(g, name)))
        log_warn("attempt %s: cancel failed (%s%s%s)", name, err_name(e),
                 *engine_last_error(g) ? ": " : "", engine_last_error(g));
}

static int default_wait(void *ctx, struct pollfd *fds, unsigned nfds, int timeout_ms)
{
    (void)ctx;
    return poll(fds, nfds, timeout_ms);
}

/* One pass with a fresh arena and clock; returns whether the pass asked to go again. */
static bool run_pass(struct loop *l, struct arena *a)
{
    struct pass ps;
    int64_t t0 = clock_mono_us();
    enum err e;

    memset(&ps, 0, sizeof(ps));
    ps.db = l->db;
    ps.a = a;
    ps.x = l->x;
    ps.clusters = l->clusters;
    ps.kv = l->kv;
    ps.actor = l->name;
    arena_reset(a);
    e = sched_now(l->db, a, &ps.now_us);
    /* A cluster edited through the API is picked up here; a failed read keeps the engines
     * already open (the pass itself will meet the same database trouble). */
    if (!e && l->clusters && cluster_set_refresh(l->clusters, l->db, a))
        log_warn("%s: cannot read the cluster table", l->name);
    if (!e)
        e = l->pass(l->ctx, &ps);
    if (db_in_tx(l->db))
        db_rollback(l->db); /* a step that failed inside its transaction */
    if (e) {
        log_error("%s pass failed: %s; retrying in %lld ms", l->name, err_name(e),
                  (long long)cfg.sched_interval_ms);
        return false;
    }
    if (ps.changed)
        log_debug("%s pass: %zu changes in %lld us", l->name, ps.changed,
                  (long long)(clock_mono_us() - t0));
    return ps.busy;
}

int loop_run(struct loop *l)
{
    struct leader *ld = leader_open(cfg.db_url, l->name, l->lock_key, l->channels, l->nchannels);
    struct arena a = ARENA_INIT;
    int64_t next_us = 0, interval_us = cfg.sched_interval_ms * 1000;
    int was_leader = -1; /* unknown: the first state is logged either way */
    int rc = 0;

    setup_signals();
    while (!got_term) {
        struct pollfd fds[3];
        unsigned nfds = 0;
        int64_t now, timeout_ms;
        bool leading = leader_check(ld, cfg.sched_interval_ms);

        if ((int)leading != was_leader) {
            log_info("%s: %s", l->name, leading ? "leading" : "standing by (another leads)");
            was_leader = leading;
            next_us = 0;
        }
        if (!leading && l->once) {
            log_info("%s --once: another %s holds the leader lock; nothing done", l->name, l->name);
            break;
        }
        now = clock_mono_us();
        if (leading && now >= next_us) {
            bool busy = run_pass(l, &a);
            if (l->once)
                break;
            now = clock_mono_us();
            next_us = now + (busy ? 0 : interval_us);
        }
        timeout_ms = leading ? (next_us - now + 999) / 1000 : cfg.sched_interval_ms;
        if (timeout_ms < 0)
            timeout_ms = 0;
        fds[nfds++] = (struct pollfd){sig_pipe[0], POLLIN, 0};
        if (leader_fd(ld) >= 0)
            fds[nfds++] = (struct pollfd){leader_fd(ld), POLLIN, 0};
        if (l->extra_fd >= 0)
            fds[nfds++] = (struct pollfd){l->extra_fd, POLLIN, 0};
        if ((l->wait ? l->wait : default_wait)(l->ctx, fds, nfds, (int)timeout_ms) < 0 &&
            errno != EINTR) {
            log_error("%s: poll: %s", l->name, strerror(errno));
            rc = 1;
            break;
        }
        if (fds[0].revents)
            drain_fd(sig_pipe[0]);
        for (unsigned i = 1; i < nfds; i++) {
            if (!fds[i].revents)
                continue;
            if (fds[i].fd == leader_fd(ld)) {
                if (leader_drain(ld) > 0)
                    next_us = 0; /* a NOTIFY: something changed, look now */
            } else if (fds[i].fd == l->extra_fd && l->on_extra && l->on_extra(l->ctx)) {
                next_us = 0;
            }
        }
        if (l->after_wait && leader_check(ld, cfg.sched_interval_ms)) {
            struct pass ps;
            memset(&ps, 0, sizeof(ps));
            ps.db = l->db;
            ps.a = &a;
            ps.x = l->x;
            ps.clusters = l->clusters;
            ps.kv = l->kv;
            ps.actor = l->name;
            l->after_wait(l->ctx, &ps);
        }
    }
    if (got_term)
        log_info("%s: SIGTERM, exiting", l->name);
    leader_close(ld);
    arena_free(&a);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    return rc;
}
