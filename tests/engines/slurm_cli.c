/*
 * slurm_cli.c — drives the Slurm executor (fcgi/core/slurm.c) from shell tests.
 *
 *   slurm_cli submit|status|cancel|log|remove|check  < request.json
 *   slurm_cli rank                  the rank program of the distributed scenario
 *   slurm_cli serve MODE PORT SECS  a fake slurmrestd on 127.0.0.1:PORT for SECS seconds
 *
 * The request on stdin:
 *   {"conf": {"endpoint", "key_file" | "token", "user", "queue", "shared_dir", "timeout_ms",
 *             "token_lifespan": N  (with key_file: mint a token valid for N s, N < 0 = expired)},
 *    "spec": {"name", "argv": [], "env": [], "workdir", "timeout_s", "grace_s", "cpu",
 *             "memory_bytes", "replicas", "gpus", "gpu_type", "queue"},      (submit)
 *    "name": "...", "offset": N, "max": N, "keep_log": bool}
 * Every verb opens a fresh handle, as a restarted scheduler would.  The answer on stdout
 * is KEY=VALUE lines, "err=ERR_..." first and "message=..." (slurm_last_error) second; then
 * per verb: status → state, exit_code, term_signal, reason, started_at, finished_at,
 * cancelled, timed_out, oom_killed; log → len, next, eof and a "data:" line followed by
 * the bytes; check → report=<JSON>.  Exit status 0 for ERR_OK, 1 otherwise, 2 for usage.
 *
 * rank: reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and LOCAL_RANK, SLURMD_NODENAME
 * for the output).  Rank 0 listens on MASTER_ADDR:MASTER_PORT and waits for the others;
 * every rank r sends 10 * (r + 1); rank 0 adds them up with its own and sends the sum
 * back; each rank prints "rank R/W local L node N: sum S" and exits 0 (1 on any failure,
 * or after 60 s).
 *
 * serve MODE: "garbage" answers every request with HTTP 200 and a body that is not JSON;
 * "silent" accepts connections and never answers; "html500" answers HTTP 500 with HTML.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/js.h"
#include "core/slurm.h"
#include "core/common.h"

enum { KEY_MAX = 4096, IO_TIMEOUT_MS = 60000, PEERS_MAX = 256 };

static const char *const err_names[ERR__COUNT] = {
    [ERR_OK] = "ERR_OK",
    [ERR_NOMEM] = "ERR_NOMEM",
    [ERR_BADREQ] = "ERR_BADREQ",
    [ERR_UNAUTH] = "ERR_UNAUTH",
    [ERR_FORBIDDEN] = "ERR_FORBIDDEN",
    [ERR_NOT_FOUND] = "ERR_NOT_FOUND",
    [ERR_METHOD] = "ERR_METHOD",
    [ERR_CONFLICT] = "ERR_CONFLICT",
    [ERR_TOOBIG] = "ERR_TOOBIG",
    [ERR_UNPROCESSABLE] = "ERR_UNPROCESSABLE",
    [ERR_THROTTLED] = "ERR_THROTTLED",
    [ERR_DB] = "ERR_DB",
    [ERR_INTERNAL] = "ERR_INTERNAL",
    [ERR_UNAVAILABLE] = "ERR_UNAVAILABLE",
    [ERR_TIMEOUT] = "ERR_TIMEOUT",
};

static const char *const state_names[] = {
    [EXEC_ABSENT] = "absent", [EXEC_RUNNING] = "running", [EXEC_SUCCEEDED] = "succeeded",
    [EXEC_FAILED] = "failed", [EXEC_LOST] = "lost",
};

static void usage(void)
{
    fprintf(stderr, "usage: slurm_cli submit|status|cancel|log|remove|check < request.json\n"
                    "       slurm_cli rank\n"
                    "       slurm_cli serve garbage|silent|html500 PORT SECONDS\n");
    exit(2);
}

/* One line per value: newlines in messages would break the KEY=VALUE format. */
static void put(const char *key, const char *val)
{
    printf("%s=", key);
    for (const char *p = val ? val : ""; *p; p++)
        putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
    putchar('\n');
}

static const char *read_stdin(struct arena *a, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *p = xmalloc(cap);
    const char *out;

    for (;;) {
        size_t r;
        if (n == cap)
            p = xrealloc(p, cap *= 2);
        r = fread(p + n, 1, cap - n, stdin);
        if (r == 0)
            break;
        n += r;
    }
    out = arena_strndup(a, p, n);
    free(p);
    *len = n;
    return out;
}

static const char **str_array(struct arena *a, json_object *arr, size_t *n)
{
    size_t k = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    const char **v = arena_zalloc(a, (k + 1) * sizeof(*v));

    for (size_t i = 0; i < k; i++)
        v[i] = arena_strdup(a, json_object_get_string(json_object_array_get_idx(arr, i)));
    *n = k;
    return v;
}

static int64_t num(json_object *o, const char *key, int64_t def)
{
    json_object *v = js_get(o, key);
    return v ? json_object_get_int64(v) : def;
}

static double dbl(json_object *o, const char *key)
{
    json_object *v = js_get(o, key);
    return v ? json_object_get_double(v) : 0;
}

static const char *str(json_object *o, const char *key)
{
    const char *s = js_get_str(o, key);
    return s ? s : "";
}

/* The engine configuration of the request; key bytes in the arena. */
static bool load_conf(struct arena *a, json_object *c, struct engine_conf *conf)
{
    const char *keyfile = js_get_str(c, "key_file");

    memset(conf, 0, sizeof(*conf));
    conf->endpoint = js_get_str(c, "endpoint");
    conf->token = js_get_str(c, "token");
    conf->user = js_get_str(c, "user");
    conf->queue = js_get_str(c, "queue");
    conf->shared_dir = js_get_str(c, "shared_dir");
    conf->timeout_ms = (long)num(c, "timeout_ms", 0);
    if (keyfile) {
        FILE *f = fopen(keyfile, "rb");
        char *k = arena_alloc(a, KEY_MAX);
        size_t n = f ? fread(k, 1, KEY_MAX, f) : 0;
        if (f)
            fclose(f);
        if (n == 0) {
            fprintf(stderr, "slurm_cli: cannot read %s\n", keyfile);
            return false;
        }
        conf->key = k;
        conf->key_len = n;
        if (js_get(c, "token_lifespan")) {
            /* A token of a chosen lifespan (negative: already expired), passed as supplied. */
            int64_t life = num(c, "token_lifespan", 0), now = clock_wall_s();
            conf->token =
                slurm_token_mint(a, k, n, conf->user ? conf->user : "root",
                                 life < 0 ? now + life - 600 : now, life < 0 ? 600 : life);
            conf->key = NULL;
            conf->key_len = 0;
        }
    }
    return true;
}

static void print_status(const struct exec_status *st)
{
    printf("state=%s\nexit_code=%d\nterm_signal=%d\n", state_names[st->state], st->exit_code,
           st->term_signal);
    put("reason", st->reason);
    printf("started_at=%lld\nfinished_at=%lld\ncancelled=%d\ntimed_out=%d\noom_killed=%d\n",
           (long long)st->started_at, (long long)st->finished_at, st->cancelled, st->timed_out,
           st->oom_killed);
}

static int run_verb(const char *verb)
{
    struct arena a = ARENA_INIT;
    struct engine_conf conf;
    struct slurm *s = NULL;
    json_object *req, *report = NULL;
    const char *text, *jerr = NULL, *name;
    char err[512] = "";
    size_t len = 0;
    enum err e = ERR_BADREQ;
    int rc = 1;

    text = read_stdin(&a, &len);
    req = js_parse(&a, text, len, &jerr);
    if (!req) {
        fprintf(stderr, "slurm_cli: the request is not JSON: %s\n", jerr);
        goto out;
    }
    if (!load_conf(&a, js_get(req, "conf"), &conf))
        goto out;
    s = slurm_open(&conf, err, sizeof(err));
    if (!s) {
        put("err", "ERR_BADREQ");
        put("message", err);
        goto out;
    }
    name = str(req, "name");
    if (!strcmp(verb, "submit")) {
        json_object *js = js_get(req, "spec");
        struct exec_spec spec = {0};
        spec.name = str(js, "name");
        spec.argv = str_array(&a, js_get(js, "argv"), &spec.argc);
        spec.env = str_array(&a, js_get(js, "env"), &spec.nenv);
        spec.workdir = str(js, "workdir");
        spec.timeout_s = num(js, "timeout_s", 0);
        spec.grace_s = num(js, "grace_s", 0);
        spec.cpu = dbl(js, "cpu");
        spec.memory_bytes = num(js, "memory_bytes", 0);
        spec.replicas = (int)num(js, "replicas", 0);
        spec.gpus = dbl(js, "gpus");
        spec.gpu_type = str(js, "gpu_type");
        spec.queue = str(js, "queue");
        e = slurm_submit(s, &spec);
        put("err", err_names[e]);
        put("message", slurm_last_error(s));
    } else if (!strcmp(verb, "status")) {
        struct exec_status st;
        e = slurm_status(s, &a, name, &st);
        put("err", err_names[e]);
        put("message", slurm_last_error(s));
        print_status(&st);
    } else if (!strcmp(verb, "cancel")) {
        e = slurm_cancel(s, name);
        put("err", err_names[e]);
        put("message", slurm_last_error(s));
    } else if (!strcmp(verb, "log")) {
        const char *data = "";
        size_t n = 0;
        int64_t next = 0;
        bool eof = false;
        e = slurm_log(s, &a, name, num(req, "offset", 0), (size_t)num(req, "max", 1 << 20), &data,
                      &n, &next, &eof);
        put("err", err_names[e]);
        put("message", slurm_last_error(s));
        printf("len=%zu\nnext=%lld\neof=%d\ndata:\n", n, (long long)next, eof);
        fwrite(data, 1, n, stdout);
    } else if (!strcmp(verb, "remove")) {
        e = slurm_remove(
            s, name, js_get(req, "keep_log") && json_object_get_boolean(js_get(req, "keep_log")));
        put("err", err_names[e]);
        put("message", slurm_last_error(s));
    } else if (!strcmp(verb, "check")) {
        e = slurm_check(s, &a, &report);
        put("err", err_names[e]);
        put("message", slurm_last_error(s));
        put("report", report ? js_str(report) : "");
    } else {
        usage();
    }
    rc = e == ERR_OK ? 0 : 1;
out:
    slurm_close(s);
    arena_free(&a);
    return rc;
}

/* ---- rank ------------------------------------------------------------------------------- */

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    int64_t n;
    return v && parse_i64(v, 0, 1 << 30, &n) ? (int)n : def;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* One line (up to 255 bytes) within the timeout. */
static bool recv_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (n + 1 < cap) {
        ssize_t r;
        if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
            return false;
        r = recv(fd, buf + n, 1, 0);
        if (r <= 0)
            return false;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return true;
}

static int rank_main(void)
{
    int rank = env_int("RANK", -1), world = env_int("WORLD_SIZE", 0);
    int local = env_int("LOCAL_RANK", -1), port = env_int("MASTER_PORT", 0);
    const char *addr = getenv("MASTER_ADDR"), *node = getenv("SLURMD_NODENAME");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char line[256];
    long long sum = 10LL * (rank + 1);
    int fd, peers[PEERS_MAX], npeers = 0, one = 1;

    if (!node)
        node = "?";
    if (rank < 0 || world < 1 || world > PEERS_MAX || rank >= world || port <= 0 || !addr ||
        inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr,
                "rank: bad environment (RANK=%d WORLD_SIZE=%d MASTER_ADDR=%s MASTER_PORT=%d)\n",
                rank, world, addr ? addr : "", port);
        return 1;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1;
    if (rank == 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, PEERS_MAX) < 0) {
            fprintf(stderr, "rank 0: cannot listen on %s:%d: %s\n", addr, port, strerror(errno));
            return 1;
        }
        while (npeers < world - 1) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            long long v;
            int r, c;
            if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
                return 1;
            c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0 || !recv_line(c, line, sizeof(line)) || sscanf(line, "%d %lld", &r, &v) != 2)
                return 1;
            sum += v;
            peers[npeers++] = c;
        }
        snprintf(line, sizeof(line), "%lld\n", sum);
        for (int i = 0; i < npeers; i++)
            if (!send_all(peers[i], line, strlen(line)))
                return 1;
    } else {
        /* Rank 0 may not listen yet: retry for up to a minute. */
        int tries = 0;
        while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            if (++tries > 600)
                return 1;
            close(fd);
            usleep(100000);
            fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                return 1;
        }
        snprintf(line, sizeof(line), "%d %lld\n", rank, sum);
        if (!send_all(fd, line, strlen(line)) || !recv_line(fd, line, sizeof(line)) ||
            sscanf(line, "%lld", &sum) != 1)
            return 1;
    }
    printf("rank %d/%d local %d node %s: sum %lld (master %s:%d)\n", rank, world, local, node, sum,
           addr, port);
    return 0;
}

/* ---- serve: a misbehaving slurmrestd ------------------------------------------------------ */

static int serve_main(const char *mode, int port, int secs)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    static const char garbage[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 24\r\nConnection: close\r\n\r\n"
                                  "<<this is not JSON at all";
    static const char html500[] =
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n"
        "Content-Length: 36\r\nConnection: close\r\n\r\n"
        "<html><body>Bad Gateway</body></html>";
    const char *answer = !strcmp(mode, "garbage")   ? garbage
                         : !strcmp(mode, "html500") ? html500
                         : !strcmp(mode, "silent")  ? NULL
                                                    : "";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, held = 0;
    int64_t end = clock_mono_us() + (int64_t)secs * 1000000;

    if (answer && !*answer)
        usage();
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        fprintf(stderr, "serve: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (clock_mono_us() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char req[8192];
        int c;
        if (poll(&p, 1, 200) <= 0)
            continue;
        c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        if (!answer) {
            held++; /* never answered; closed when we exit */
            continue;
        }
        /* Read the request head (enough for curl to be waiting for us), then answer. */
        (void)!recv(c, req, sizeof(req), 0);
        (void)send_all(c, answer, strlen(answer));
        close(c);
    }
    (void)held;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 2 && !strcmp(argv[1], "rank"))
        return rank_main();
    if (argc == 5 && !strcmp(argv[1], "serve")) {
        int64_t port, secs;
        if (!parse_i64(argv[3], 1, 65535, &port) || !parse_i64(argv[4], 1, 3600, &secs))
            usage();
        return serve_main(argv[2], (int)port, (int)secs);
    }
    if (argc != 2)
        usage();
    return run_verb(argv[1]);
}
