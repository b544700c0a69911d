/*
 * fcgi_main.c — cube-api: a prefork FastCGI server.  The only file that
 * includes fcgiapp.h: it turns a FCGX_Request into a struct ctx, calls
 * api_handle(), and writes the response back.
 *
 * The master opens the socket, maps the shared metrics, forks N workers and
 * then only supervises: a worker that dies is replaced; SIGHUP starts a new
 * generation and then retires the old one (no moment without workers);
 * SIGTERM retires everyone and exits.  A worker retires between requests:
 * its signal handler only writes to a self-pipe, and the accept loop polls
 * that pipe next to the (non-blocking) listening socket, so a request that
 * has been accepted is always answered.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static void worker_on_term(int sig)
{
    int saved = errno;
    (void)sig;
    got_term = 1;
    if (write(sig_pipe[1], "x", 1) < 0)
        (void)0;
    errno = saved;
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
    log_line(js_str(o));
    json_object_put(o);
}

static NORETURN void worker_main(void)
{
    struct arena arena = ARENA_INIT;
    struct db *db;
    struct kv *kv;
    FCGX_Request rq;
    struct sigaction sa;

    log_component = "api";
    /* A pipe of our own: the master's is shared by every worker. */
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        die("pipe: %s", strerror(errno));
    memset(&sa, 0, sizeof(sa));
    /* SA_RESTART: a body still arriving keeps being read; poll() wakes through the pipe. */
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
    db = db_new(cfg.db_url, "cube-api", cfg.db_timeout_ms);
    kv = kv_open(cfg.redis);
    if (FCGX_InitRequest(&rq, listen_fd, 0))
        die("FCGX_InitRequest failed");

    while (!got_term) {
        struct ctx cx;
        int64_t t0;

        /* Accept first: under load a connection is usually waiting, and the poll() would be
         * one more system call per request.  The socket is non-blocking, so when another
         * worker took the connection (or none is there) this fails at once and we wait. */
        if (FCGX_Accept_r(&rq) < 0) {
            struct pollfd pf[2] = {{listen_fd, POLLIN, 0}, {sig_pipe[0], POLLIN, 0}};
            if (poll(pf, 2, -1) < 0 && errno != EINTR)
                die("poll: %s", strerror(errno));
            continue;
        }
        t0 = clock_mono_us();
        ctx_init(&cx, &arena, db, kv);
        cx.req.method = param(&rq, &arena, "REQUEST_METHOD");
        cx.req.path = param(&rq, &arena, "DOCUMENT_URI");
        if (!*cx.req.path)
            cx.req.path = param(&rq, &arena, "SCRIPT_NAME");
        cx.req.query = param(&rq, &arena, "QUERY_STRING");
        cx.req.content_type = param(&rq, &arena, "CONTENT_TYPE");
        cx.req.cookie = param(&rq, &arena, "HTTP_COOKIE");
        cx.req.authorization = param(&rq, &arena, "HTTP_AUTHORIZATION");
        cx.req.remote_addr = param(&rq, &arena, "REMOTE_ADDR");
        cx.req.request_id = param(&rq, &arena, "REQUEST_ID");
        read_body(&rq, &cx);
        api_handle(&cx);
        write_response(&rq, &cx, !strcmp(cx.req.method, "HEAD"));
        FCGX_Finish_r(&rq);
        {
            int64_t us = clock_mono_us() - t0;
            metrics_observe(cx.route, cx.resp.status, us);
            log_request(&cx, us);
        }
        /* libfcgi's strings die at Finish; ours die here. */
        arena_reset(&arena);
    }
    FCGX_Free(&rq, 1);
    arena_free(&arena);
    db_close(db);
    kv_close(kv);
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
