/*
 * fcgi_main.c — cube-api: a prefork FastCGI server.  The only file that
 * includes fcgiapp.h: it turns a FCGX_Request into a struct ctx, calls
 * api_handle(), and writes the response back.
 *
 * The master opens the socket, maps the shared metrics, forks N workers and
 * then only supervises: a worker that dies is replaced; SIGHUP starts a new
 * generation and then retires the old one (no moment without workers);
 * SIGTERM retires everyone and exits.  A worker serves several requests at
 * once on its lanes (below) from one epoll loop; it retires between requests:
 * its signal handler only writes to a self-pipe that the loop watches next to
 * the (non-blocking) listening socket, it stops accepting, and every request
 * it has accepted is still answered.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include "api/api.h"
#include "core/cfg.h"
#include "core/js.h"
#include "core/log.h"
#include "core/common.h"

enum { MAX_WORKERS = 256, DRAIN_SECONDS = 30 };

struct worker {
    pid_t pid;
    unsigned gen;
};

static struct worker workers[MAX_WORKERS * 2];
static unsigned generation;
static int listen_fd = -1;
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_term, got_hup, got_chld;

/* ---- worker ------------------------------------------------------------------------------ */

/*
 * A worker serves up to LANES requests at a time, one per lane.  A lane is a coroutine
 * (ucontext) with its own stack, arena, FastCGI request and PostgreSQL connection; it runs
 * its request straight through and gives the worker back only while it waits for
 * PostgreSQL (db_set_wait).  Lanes run one at a time and switch only inside a database
 * wait, so what the process shares (the auth caches, the Redis connection, the metrics)
 * needs no locks.
 *
 * A worker takes a second request only while every request it has waits for a write
 * (DB_WAIT_WRITE).  A write waits for its commit to reach the disk: without lanes four
 * workers have at most four commits per WAL flush, and creates are bound by the flush
 * latency, not by the CPU.  A read waits for the server's CPU instead, and running more of
 * them at once only adds backends competing for the same cores: measured on two cores,
 * PostgreSQL's CPU time per show nearly doubled with four reads per worker instead of one.
 */
enum { LANES = 4, LANE_STACK = 2 << 20, LOG_FLUSH_MS = 100 };

struct lane {
    ucontext_t uc;
    void *stack;
    void *asan_fake; /* ASan's fake-stack handle while the lane is switched out */
    FCGX_Request rq;
    struct arena arena;
    struct db *db;
    int index;
    int watched;   /* its PostgreSQL socket as registered with epoll, -1: none */
    bool busy;     /* has a request */
    bool waiting;  /* switched out until its socket is readable */
    bool on_write; /* ... for a statement that may write */
};

/* epoll tags: the listening socket, the signal pipe, then lane i as EV_LANE + i. */
enum { EV_LISTEN, EV_SIGNAL, EV_LANE };

static struct lane lanes[LANES];
static struct lane *current; /* the lane running now; NULL: the scheduler */
static ucontext_t sched_uc;
#if defined(__SANITIZE_ADDRESS__)
static void *sched_asan_fake;
static const void *sched_stack_bottom;
static size_t sched_stack_size;
#endif
static int epfd = -1;
static bool listen_watched, unix_socket;
static struct kv *worker_kv;

static void worker_on_term(int sig)
{
    int saved = errno;
    (void)sig;
    got_term = 1;
    if (write(sig_pipe[1], "x", 1) < 0)
        (void)0;
    errno = saved;
}

/* The switches, annotated for ASan, which must know whose stack is live. */
static void enter_lane(struct lane *l)
{
    current = l;
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_start_switch_fiber(&sched_asan_fake, l->stack, LANE_STACK);
#endif
    if (swapcontext(&sched_uc, &l->uc) < 0)
        die("swapcontext: %s", strerror(errno));
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_finish_switch_fiber(sched_asan_fake, NULL, NULL);
#endif
    current = NULL;
}

static void leave_lane(struct lane *l)
{
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_start_switch_fiber(&l->asan_fake, sched_stack_bottom, sched_stack_size);
#endif
    if (swapcontext(&l->uc, &sched_uc) < 0)
        die("swapcontext: %s", strerror(errno));
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_finish_switch_fiber(l->asan_fake, &sched_stack_bottom, &sched_stack_size);
#endif
}

static struct lane *free_lane(void)
{
    /* The lowest first: under light load one connection does all the work. */
    for (int i = 0; i < LANES; i++)
        if (!lanes[i].busy)
            return &lanes[i];
    return NULL;
}

/* Whether a lane other than l (NULL: any lane) has a request. */
static bool busy_besides(const struct lane *l)
{
    for (int i = 0; i < LANES; i++)
        if (lanes[i].busy && &lanes[i] != l)
            return true;
    return false;
}

/* Whether to take another request now: a lane is free and every request in hand waits for
 * a write (see the top of this section). */
static bool may_accept(void)
{
    if (got_term || !free_lane())
        return false;
    for (int i = 0; i < LANES; i++)
        if (lanes[i].busy && !(lanes[i].waiting && lanes[i].on_write))
            return false;
    return true;
}

/* db_wait_fn of a lane: parks it until fd is readable. */
static void lane_wait(void *arg, int fd, unsigned flags)
{
    struct lane *l = arg;
    struct pollfd pf = {fd, POLLIN, 0};

    if (l == current && ((flags & DB_WAIT_FRESH) || l->watched != fd)) {
        /* A new connection (or socket number): the old one's registration went away when
         * its socket was closed, so this never removes another lane's. */
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_LANE + (uint64_t)l->index};
        l->watched = -1;
        if (!epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ||
            (errno == EEXIST && !epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev)))
            l->watched = fd;
    }
    /* Wait here, without a switch, when nothing else can happen meanwhile: a read of the only
     * request in hand (no other request is taken during a read).  Also off a lane, or when
     * epoll refused the socket. */
    if (l != current || l->watched != fd || (!(flags & DB_WAIT_WRITE) && !busy_besides(l))) {
        while (poll(&pf, 1, -1) < 0 && errno == EINTR)
            ;
        return;
    }
    l->waiting = true;
    l->on_write = flags & DB_WAIT_WRITE;
    leave_lane(l);
}

/* libfcgi frees its strings at FCGX_Finish_r, before the request is logged: copy them. */
static const char *param(FCGX_Request *rq, struct arena *a, const char *name)
{
    const char *v = FCGX_GetParam(name, rq->envp);
    return v ? arena_strdup(a, v) : "";
}

/* Reads the body up to the cap; above it, drains the rest and marks the request too big. */
static void read_body(FCGX_Request *rq, struct ctx *cx)
{
    int64_t len = 0;
    char sink[8192];
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", rq->envp);

    if (!cl || !*cl || !parse_i64(cl, 0, INT64_MAX, &len) || len == 0)
        return;
    if (len > cfg.body_max) {
        cx->req.body_too_big = true;
        while (FCGX_GetStr(sink, sizeof(sink), rq->in) > 0)
            ;
        return;
    }
    {
        char *b = arena_alloc(cx->arena, (size_t)len + 1);
        int got = FCGX_GetStr(b, (int)len, rq->in);
        if (got < 0)
            got = 0;
        b[got] = '\0';
        cx->req.body = b;
        cx->req.body_len = (size_t)got;
    }
}

static void write_response(FCGX_Request *rq, struct ctx *cx, bool head)
{
    struct resp *r = &cx->resp;
    char top[512];
    int n;

    /* libfcgi's own FCGX_FPrintF knows no %zu: format with libc, write raw. */
    n = snprintf(top, sizeof(top),
                 "Status: %d\r\nContent-Type: %s\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n"
                 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
                 r->status, r->content_type, r->body.len, cx->req.request_id);
    if (n < 0 || (size_t)n >= sizeof(top))
        n = snprintf(top, sizeof(top), "Status: 500\r\nContent-Length: 0\r\n");
    FCGX_PutStr(top, n, rq->out);
    if (r->headers.len)
        FCGX_PutStr(buf_str(&r->headers), (int)r->headers.len, rq->out);
    FCGX_PutStr("\r\n", 2, rq->out);
    if (!head && r->body.len)
        FCGX_PutStr(buf_str(&r->body), (int)r->body.len, rq->out);
}

static void log_request(struct ctx *cx, int64_t micros)
{
    json_object *o;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;

    if (log_level < LOGL_INFO)
        return;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    o = json_object_new_object();
    json_object_object_add(o, "ts", json_object_new_string(ts));
    json_object_object_add(o, "level",
                           json_object_new_string(cx->resp.status >= 500 ? "error" : "info"));
    json_object_object_add(o, "component", json_object_new_string("api"));
    json_object_object_add(o, "request_id", js_new_str(cx->req.request_id));
    json_object_object_add(o, "method", js_new_str(cx->req.method));
    /* The path only: query strings may carry filter values, never logged. */
    json_object_object_add(o, "path", js_new_str(cx->req.path));
    json_object_object_add(o, "route", json_object_new_string(api_route_name(cx->route)));
    json_object_object_add(o, "status", json_object_new_int(cx->resp.status));
    json_object_object_add(o, "ms", json_object_new_double((double)micros / 1000.0));
    if (cx->user.id)
        json_object_object_add(o, "user", js_new_str(cx->user.username));
    if (cx->resp.status >= 400 && cx->errmsg)
        json_object_object_add(o, "error", json_object_new_string(cx->errmsg));
    log_queue(js_str(o));
    json_object_put(o);
}

/* Writes the queued access-log lines once the oldest has waited LOG_FLUSH_MS; returns the
 * microseconds until then (INT64_MAX: nothing queued). */
static int64_t flush_log_if_due(void)
{
    int64_t since = log_queued_since(), left;

    if (since < 0)
        return INT64_MAX;
    left = since + LOG_FLUSH_MS * 1000 - clock_mono_us();
    if (left <= 0) {
        log_flush();
        return INT64_MAX;
    }
    return left;
}

/* One accepted request, start to finish, on lane l. */
static void serve(struct lane *l)
{
    FCGX_Request *rq = &l->rq;
    struct arena *arena = &l->arena;
    int64_t t0 = clock_mono_us(), us;
    struct ctx cx;

    ctx_init(&cx, arena, l->db, worker_kv);
    cx.req.method = param(rq, arena, "REQUEST_METHOD");
    cx.req.path = param(rq, arena, "DOCUMENT_URI");
    if (!*cx.req.path)
        cx.req.path = param(rq, arena, "SCRIPT_NAME");
    cx.req.query = param(rq, arena, "QUERY_STRING");
    cx.req.content_type = param(rq, arena, "CONTENT_TYPE");
    cx.req.cookie = param(rq, arena, "HTTP_COOKIE");
    cx.req.authorization = param(rq, arena, "HTTP_AUTHORIZATION");
    cx.req.remote_addr = param(rq, arena, "REMOTE_ADDR");
    cx.req.request_id = param(rq, arena, "REQUEST_ID");
    read_body(rq, &cx);
    api_handle(&cx);
    write_response(rq, &cx, !strcmp(cx.req.method, "HEAD"));
    /* libfcgi's close shuts down the sending side and waits, up to 2 s, for nginx to close
     * its end: against a TCP reset discarding the response.  A unix socket has no resets
     * (nginx reads what was written before it sees the end), so skip the wait and close. */
    if (unix_socket)
        FCGX_Detach(rq);
    FCGX_Finish_r(rq);
    us = clock_mono_us() - t0;
    metrics_observe(cx.route, cx.resp.status, us);
    log_request(&cx, us);
    (void)flush_log_if_due();
    /* libfcgi's strings died at Finish; ours die here. */
    arena_reset(arena);
}

static void wait_events(void);

static void lane_entry(void)
{
    struct lane *l = current;

#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_finish_switch_fiber(NULL, &sched_stack_bottom, &sched_stack_size);
#endif
    for (;;) {
        serve(l);
        l->busy = false;
        /* While no other lane has a request, this one takes the next itself, and waits for it
         * here too: no switch to the scheduler and back for every request. */
        while (!busy_besides(l) && may_accept()) {
            if (FCGX_Accept_r(&l->rq) < 0) {
                wait_events();
                continue;
            }
            l->busy = true;
            serve(l);
            l->busy = false;
        }
        leave_lane(l);
    }
}

static void lane_init(struct lane *l, int index)
{
    /* The lowest page stays unmapped: an overflow faults instead of corrupting memory. */
    char *stack = mmap(NULL, LANE_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

    if (stack == MAP_FAILED || mprotect(stack, 4096, PROT_NONE) < 0)
        die("cannot map a lane stack: %s", strerror(errno));
    memset(l, 0, sizeof(*l));
    l->stack = stack;
    l->index = index;
    l->watched = -1;
    l->db = db_new(cfg.db_url, "cube-api", cfg.db_timeout_ms);
    db_set_wait(l->db, lane_wait, l);
    if (FCGX_InitRequest(&l->rq, listen_fd, 0))
        die("FCGX_InitRequest failed");
    if (getcontext(&l->uc) < 0)
        die("getcontext: %s", strerror(errno));
    l->uc.uc_stack.ss_sp = stack;
    l->uc.uc_stack.ss_size = LANE_STACK;
    l->uc.uc_link = NULL; /* lane_entry never returns */
    makecontext(&l->uc, lane_entry, 0);
}

/* The listening socket is watched only while the worker would take a request, and
 * exclusively: a connection wakes one waiting worker, not all of them (each of which would
 * then find accept() empty). */
static void watch_listen(bool want)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = EV_LISTEN};

    if (want == listen_watched)
        return;
    if (epoll_ctl(epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_fd, &ev) < 0)
        die("epoll_ctl on the listening socket: %s", strerror(errno));
    listen_watched = want;
}

static void on_event(const struct epoll_event *ev)
{
    char drain[64];
    struct lane *l;

    if (ev->data.u64 == EV_SIGNAL) {
        while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
            ;
        return;
    }
    if (ev->data.u64 < EV_LANE || ev->data.u64 >= EV_LANE + LANES)
        return; /* the listening socket: the accept loop looks next */
    l = &lanes[ev->data.u64 - EV_LANE];
    if (l->waiting) {
        l->waiting = false;
        enter_lane(l);
    } else if (!l->busy && !db_drain(l->db)) {
        /* An idle connection the server closed: its socket is gone, and so is the watch. */
        l->watched = -1;
    }
}

/* One round of waiting: for a connection (while the worker would take one), for an answer a
 * lane waits for, for a signal, or until the queued log lines are due.  Runs on the scheduler,
 * or on a lane when no other lane has a request (so no event can be for a waiting lane). */
static void wait_events(void)
{
    struct epoll_event evs[LANES + 2];
    int64_t due = flush_log_if_due();
    int n;

    watch_listen(may_accept());
    n = epoll_wait(epfd, evs, ARRAY_LEN(evs), due == INT64_MAX ? -1 : (int)(due / 1000 + 1));
    if (n < 0 && errno != EINTR)
        die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++)
        on_event(&evs[i]);
}

static NORETURN void worker_main(void)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_SIGNAL};
    struct sigaction sa;

    log_component = "api";
    /* A pipe of our own: the master's is shared by every worker. */
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        die("pipe: %s", strerror(errno));
    memset(&sa, 0, sizeof(sa));
    /* SA_RESTART: a body still arriving keeps being read; epoll wakes through the pipe. */
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = worker_on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_flags = 0;
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    unix_socket = !strchr(cfg.socket, ':');
    worker_kv = kv_open(cfg.redis);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sig_pipe[0], &ev) < 0)
        die("epoll: %s", strerror(errno));
    for (int i = 0; i < LANES; i++)
        lane_init(&lanes[i], i);

    /* Retiring (SIGTERM) stops the accepting; the lanes' requests still finish. */
    while (!got_term || busy_besides(NULL)) {
        struct lane *l;

        /* Accept first: under load a connection is usually waiting, and epoll_wait would be
         * one more system call per request.  The socket is non-blocking, so when another
         * worker took the connection (or none is there) this fails at once. */
        while (may_accept()) {
            l = free_lane();
            if (FCGX_Accept_r(&l->rq) < 0)
                break;
            l->busy = true;
            enter_lane(l);
        }
        wait_events();
    }
    log_flush();
    for (int i = 0; i < LANES; i++) {
        FCGX_Free(&lanes[i].rq, 1);
        arena_free(&lanes[i].arena);
        db_close(lanes[i].db);
    }
    kv_close(worker_kv);
    _exit(0);
}

/* ---- master ------------------------------------------------------------------------------ */

static void master_on_signal(int sig)
{
    if (sig == SIGCHLD)
        got_chld = 1;
    else if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

static bool spawn(struct worker *w)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork failed: %s", strerror(errno));
        return false;
    }
    if (pid == 0)
        worker_main();
    w->pid = pid;
    w->gen = generation;
    return true;
}

static void spawn_generation(void)
{
    int64_t started = 0;
    for (size_t i = 0; i < ARRAY_LEN(workers) && started < cfg.workers; i++) {
        if (workers[i].pid)
            continue;
        if (spawn(&workers[i]))
            started++;
    }
}

static void signal_generation(unsigned gen, bool all, int sig)
{
    for (size_t i = 0; i < ARRAY_LEN(workers); i++)
        if (workers[i].pid && (all || workers[i].gen == gen))
            kill(workers[i].pid, sig);
}

static size_t live_workers(void)
{
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_LEN(workers); i++)
        n += workers[i].pid != 0;
    return n;
}

/* Collects dead children; replaces those of the current generation unless stopping. */
static void reap(bool replace)
{
    int status;
    pid_t pid;
    static int64_t window_start, restarts_in_window;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < ARRAY_LEN(workers); i++) {
            struct worker *w = &workers[i];
            bool crashed;
            if (w->pid != pid)
                continue;
            w->pid = 0;
            crashed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
            if (!replace || w->gen != generation)
                break;
            /* A worker of the live generation left: crash or not, keep the pool full. */
            log_warn("worker %d %s (status %d); starting a new one", (int)pid,
                     crashed ? "died" : "exited",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            metrics_worker_restart();
            if (clock_mono_us() - window_start > 1000000) {
                window_start = clock_mono_us();
                restarts_in_window = 0;
            }
            if (++restarts_in_window > cfg.workers * 2) {
                /* Crash loop: slow down instead of forking as fast as the CPU allows. */
                sleep(1);
            }
            spawn(w);
            break;
        }
    }
}

static void check_schema(void)
{
    char err[512];
    struct arena a = ARENA_INIT;
    struct pg_result *r = NULL;
    const char *p[] = {CUBE_SCHEMA_LATEST};
    struct db *db = db_open(cfg.db_url, "cube-api", cfg.db_timeout_ms, err, sizeof(err));
    enum err e;

    if (!db)
        die("%s", err);
    e = db_query(db, &a, "SELECT EXISTS (SELECT 1 FROM \"schema_migrations\" WHERE \"name\" = $1)",
                 1, p, &r, NULL);
    if (e || strcmp(db_val(r, 0, 0), "t")) {
        arena_free(&a);
        db_close(db);
        die("the database schema is older than this cube-api (migration %s is not applied): run "
            "`cube db upgrade`",
            CUBE_SCHEMA_LATEST);
    }
    arena_free(&a);
    db_close(db); /* never share a connection across fork */
}

static void open_socket(void)
{
    const char *addr = cfg.socket;
    bool unix_path = !strchr(addr, ':');
    int fl;

    if (unix_path)
        unlink(addr);
    if (FCGX_Init())
        die("FCGX_Init failed");
    {
        mode_t old = umask(unix_path ? 0117 : 0022); /* socket rw for the user and group */
        listen_fd = FCGX_OpenSocket(addr, 1024);
        umask(old);
    }
    if (listen_fd < 0)
        die("cannot listen on %s: %s", addr, strerror(errno));
    fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
        die("cannot make the socket non-blocking");
}

int main(int argc, char **argv)
{
    char err[512];
    struct sigaction sa;
    sigset_t mask, old;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs("usage: cube-api\nConfigured by environment variables:\n\n", stdout);
        if (cfg_load(err, sizeof(err)))
            cfg_print(stdout);
        return 0;
    }
    log_component = "api";
    if (!cfg_load(err, sizeof(err)))
        die("%s", err);
    if (!log_set_level(cfg.log_level))
        die("CUBE_LOG_LEVEL: expected error, warn, info or debug");
    if (!cfg.jwt_secret || strlen(cfg.jwt_secret) < 32)
        die("CUBE_JWT_SECRET must be set to at least 32 characters");
    if (!cfg.secret_key || strlen(cfg.secret_key) < 32)
        die("CUBE_SECRET_KEY must be set to at least 32 characters (it seals stored credentials)");
    if (cfg.workers > MAX_WORKERS)
        die("CUBE_WORKERS: at most %d", MAX_WORKERS);
    check_schema();
    metrics_init();
    open_socket();
    if (pipe2(sig_pipe, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    if (cfg.pidfile) {
        FILE *f = fopen(cfg.pidfile, "w");
        if (!f)
            die("cannot write %s: %s", cfg.pidfile, strerror(errno));
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = master_on_signal;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* Signals stay blocked except inside sigsuspend, so none is lost between checks. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, &old);

    log_info("cube-api %s listening on %s with %lld workers", CUBE_VERSION, cfg.socket,
             (long long)cfg.workers);
    spawn_generation();
    while (!got_term) {
        sigsuspend(&old);
        if (got_chld) {
            got_chld = 0;
            reap(true);
        }
        if (got_hup && !got_term) {
            got_hup = 0;
            generation++;
            log_info("SIGHUP: starting generation %u, retiring the previous one", generation);
            spawn_generation();
            signal_generation(generation - 1, false, SIGTERM);
        }
    }
    log_info("shutting down: draining %zu workers", live_workers());
    signal_generation(0, true, SIGTERM);
    for (int i = 0; i < DRAIN_SECONDS * 10 && live_workers(); i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        reap(false);
    }
    if (live_workers()) {
        log_warn("workers still busy after %d s; killing them", DRAIN_SECONDS);
        signal_generation(0, true, SIGKILL);
        while (live_workers()) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            reap(false);
        }
    }
    if (!strchr(cfg.socket, ':'))
        unlink(cfg.socket);
    if (cfg.pidfile)
        unlink(cfg.pidfile);
    log_info("stopped");
    return 0;
}
