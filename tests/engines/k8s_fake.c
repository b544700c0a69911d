/*
 * k8s_fake.c — a fixture Kubernetes API server for tests/engines/test_k8s.sh: it answers
 * recorded responses per method and request target, and records every request it gets.
 *
 *   k8s_fake ROUTES FIXTURE_DIR RECORD_DIR PORT_FILE
 *
 * Listens on 127.0.0.1 (an ephemeral port, written to PORT_FILE once listening) and serves
 * one connection at a time, keep-alive included (the client under test makes its requests
 * one after another).  ROUTES is read again for every request, so a test changes the
 * fake's behaviour by rewriting it.  One route per line, the first match wins:
 *
 *   METHOD TARGET STATUS BODY [date=UNIX_SECONDS] [delay=MILLISECONDS]
 *
 * TARGET is the request target, path and query, matched exactly, or as a prefix when it
 * ends in '*'.  BODY is a file in FIXTURE_DIR (answered as application/json unless it ends
 * in .txt), "-" for no body, "@echo" for the request's own body (what the API server does
 * on create, near enough), "@hang" to read the request and never answer (until the client
 * gives up and closes), or "@close" to close the connection without an answer.  The Date
 * header is now, or date=; delay= waits that long before answering.  A request no route matches
 * gets 418 with a plain-text body naming it, which the client must treat as an unusable answer.
 *
 * RECORD_DIR/requests.log gets one line per request, "SEQ METHOD TARGET AUTHORIZATION"
 * ("-" when absent), and RECORD_DIR/SEQ.body its body when it has one.  SEQ counts from 1.
 * Runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"

enum {
    HEAD_MAX = 64 << 10,
    BODY_MAX = 8 << 20,
    HANG_MS = 60000 /* a hung answer ends when the client closes, or after this */
};

static const char *routes_path, *record_dir;
static char fixture_dir[4096];
static unsigned long seq;

struct request {
    char method[16];
    char target[4096];
    char auth[4096];
    char *body;
    size_t body_len;
};

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one request; false when the connection closed or sent something unusable. */
static bool read_request(int fd, char *buf, size_t *have, struct request *rq)
{
    char *end = NULL, *line, *save = NULL;
    size_t head_len, need;
    long clen = 0;

    for (;;) {
        if (*have) {
            buf[*have] = '\0';
            end = strstr(buf, "\r\n\r\n");
            if (end)
                break;
        }
        if (*have >= HEAD_MAX)
            return false;
        {
            ssize_t r = read(fd, buf + *have, HEAD_MAX - *have);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return false;
            *have += (size_t)r;
        }
    }
    head_len = (size_t)(end - buf) + 4;
    *end = '\0';
    memset(rq, 0, sizeof(*rq));
    line = strtok_r(buf, "\r\n", &save);
    if (!line || sscanf(line, "%15s %4095s", rq->method, rq->target) != 2)
        return false;
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        if (!strncasecmp(line, "Content-Length:", 15))
            clen = strtol(line + 15, NULL, 10);
        else if (!strncasecmp(line, "Authorization:", 14))
            (void)snprintf(rq->auth, sizeof(rq->auth), "%s", line + 14 + strspn(line + 14, " "));
        else if (!strncasecmp(line, "Transfer-Encoding:", 18))
            return false; /* the client under test always sends Content-Length */
    }
    if (clen < 0 || clen > BODY_MAX)
        return false;
    need = head_len + (size_t)clen;
    rq->body = malloc((size_t)clen + 1);
    if (!rq->body)
        return false;
    /* What already arrived beyond the header, then the rest. */
    {
        size_t got = *have - head_len < (size_t)clen ? *have - head_len : (size_t)clen;
        memcpy(rq->body, buf + head_len, got);
        while (got < (size_t)clen) {
            ssize_t r = read(fd, rq->body + got, (size_t)clen - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                free(rq->body);
                rq->body = NULL;
                return false;
            }
            got += (size_t)r;
        }
        rq->body[clen] = '\0';
        rq->body_len = (size_t)clen;
        /* Pipelined bytes after this request stay in buf for the next one. */
        if (*have > need) {
            memmove(buf, buf + need, *have - need);
            *have -= need;
        } else {
            *have = 0;
        }
    }
    return true;
}

static void record(const struct request *rq)
{
    char path[4200];
    FILE *f;

    seq++;
    (void)snprintf(path, sizeof(path), "%s/requests.log", record_dir);
    if ((f = fopen(path, "a"))) {
        fprintf(f, "%lu %s %s %s\n", seq, rq->method, rq->target, rq->auth[0] ? rq->auth : "-");
        fclose(f);
    }
    if (rq->body_len) {
        (void)snprintf(path, sizeof(path), "%s/%lu.body", record_dir, seq);
        if ((f = fopen(path, "w"))) {
            fwrite(rq->body, 1, rq->body_len, f);
            fclose(f);
        }
    }
}

struct route {
    int status;
    char body[512];
    long long date;
    long delay_ms;
};

/* The first matching route; false when none matches. */
static bool find_route(const struct request *rq, struct route *rt)
{
    FILE *f = fopen(routes_path, "r");
    char line[8192];
    bool found = false;

    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        char method[16], target[4096], body[512], opt[2][64];
        int status, n;
        size_t tl;

        if (line[0] == '#' || line[0] == '\n')
            continue;
        opt[0][0] = opt[1][0] = '\0';
        n = sscanf(line, "%15s %4095s %d %511s %63s %63s", method, target, &status, body, opt[0],
                   opt[1]);
        if (n < 4 || strcmp(method, rq->method))
            continue;
        tl = strlen(target);
        if (target[tl - 1] == '*' ? strncmp(target, rq->target, tl - 1) != 0
                                  : strcmp(target, rq->target) != 0)
            continue;
        rt->status = status;
        (void)snprintf(rt->body, sizeof(rt->body), "%s", body);
        rt->date = 0;
        rt->delay_ms = 0;
        for (int i = 0; i < 2; i++) {
            if (!strncmp(opt[i], "date=", 5))
                rt->date = strtoll(opt[i] + 5, NULL, 10);
            else if (!strncmp(opt[i], "delay=", 6))
                rt->delay_ms = strtol(opt[i] + 6, NULL, 10);
        }
        found = true;
    }
    fclose(f);
    return found;
}

static char *read_fixture(const char *name, size_t *len)
{
    char path[4700];
    FILE *f;
    long n;
    char *p;

    if (strchr(name, '/') || name[0] == '.')
        return NULL;
    (void)snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
    if (!(f = fopen(path, "rb")))
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = '\0';
        *len = (size_t)n;
    }
    return p;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 418:
        return "No Route";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static bool respond(int fd, int status, const char *type, const char *body, size_t len,
                    long long date)
{
    char head[512], dbuf[64];
    time_t t = date ? (time_t)date : time(NULL);
    struct tm tm;
    int n;

    gmtime_r(&t, &tm);
    strftime(dbuf, sizeof(dbuf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nDate: %s\r\n"
                 "Cache-Control: no-cache, private\r\nConnection: keep-alive\r\n\r\n",
                 status, reason_phrase(status), type, len, dbuf);
    return write_all(fd, head, (size_t)n) && write_all(fd, body, len);
}

/* Serves one connection until the client closes it (or a route closes it). */
static void serve(int fd)
{
    char *buf = malloc(HEAD_MAX + 1);
    size_t have = 0;
    struct request rq;

    if (!buf)
        return;
    while (read_request(fd, buf, &have, &rq)) {
        struct route rt;
        bool keep = true;

        record(&rq);
        if (find_route(&rq, &rt) && rt.delay_ms > 0) {
            struct timespec ts = {rt.delay_ms / 1000, (rt.delay_ms % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) && errno == EINTR)
                ;
        }
        if (!find_route(&rq, &rt)) {
            char msg[4400];
            int n =
                snprintf(msg, sizeof(msg), "k8s_fake: no route for %s %s\n", rq.method, rq.target);
            keep = respond(fd, 418, "text/plain", msg, (size_t)n, 0);
        } else if (!strcmp(rt.body, "@close")) {
            keep = false;
        } else if (!strcmp(rt.body, "@hang")) {
            /* Wait for the client to give up (it closes; read returns 0). */
            struct pollfd p = {fd, POLLIN, 0};
            char c;
            if (poll(&p, 1, HANG_MS) > 0)
                (void)!read(fd, &c, 1);
            keep = false;
        } else if (!strcmp(rt.body, "@echo")) {
            keep = respond(fd, rt.status, "application/json", rq.body, rq.body_len, rt.date);
        } else if (!strcmp(rt.body, "-")) {
            keep = respond(fd, rt.status, "application/json", "", 0, rt.date);
        } else {
            size_t len = 0;
            char *body = read_fixture(rt.body, &len);
            size_t bl = strlen(rt.body);
            if (!body) {
                char msg[700];
                int n = snprintf(msg, sizeof(msg), "k8s_fake: no fixture %s\n", rt.body);
                keep = respond(fd, 418, "text/plain", msg, (size_t)n, 0);
            } else {
                keep = respond(fd, rt.status,
                               bl > 4 && !strcmp(rt.body + bl - 4, ".txt") ? "text/plain"
                                                                           : "application/json",
                               body, len, rt.date);
                free(body);
            }
        }
        free(rq.body);
        if (!keep)
            break;
    }
    free(buf);
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int lfd, one = 1;
    FILE *pf;

    if (argc != 5) {
        fprintf(stderr, "usage: k8s_fake ROUTES FIXTURE_DIR RECORD_DIR PORT_FILE\n");
        return 2;
    }
    routes_path = argv[1];
    (void)snprintf(fixture_dir, sizeof(fixture_dir), "%s", argv[2]);
    record_dir = argv[3];
    signal(SIGPIPE, SIG_IGN);

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("socket");
        return 1;
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 16) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        perror("bind/listen");
        return 1;
    }
    /* Written with a rename, so the waiting test never reads half a number. */
    {
        char tmp[4200];
        (void)snprintf(tmp, sizeof(tmp), "%s.tmp", argv[4]);
        if (!(pf = fopen(tmp, "w"))) {
            perror(tmp);
            return 1;
        }
        fprintf(pf, "%d\n", ntohs(sa.sin_port));
        fclose(pf);
        if (rename(tmp, argv[4])) {
            perror("rename");
            return 1;
        }
    }
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            perror("accept");
            return 1;
        }
        serve(fd);
        close(fd);
    }
}
