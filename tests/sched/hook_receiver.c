/*
 * hook_receiver.c — a tiny HTTP endpoint for the webhook scenario tests (built by
 * test_sched_notify.sh with cc; nothing but libc, plus libcube for `seal`).
 *
 *   hook_receiver serve DIR     listens on 127.0.0.1, an ephemeral port written to DIR/port;
 *                               request N is saved as DIR/N.head and DIR/N.body; the answer
 *                               follows DIR/mode, read at each request: "200", "500", or
 *                               "sleep" (3 s, then 200: slower than the test's time limit)
 *   hook_receiver seal KEY TEXT prints TEXT sealed with core/secretbox under KEY, as the API
 *                               stores a webhook secret
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/secretbox.h"
#include "core/common.h"

static void slurp(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(out, 1, n - 1, f) : 0;
    out[got] = '\0';
    if (f)
        fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
}

static void save(const char *dir, int n, const char *ext, const char *data, size_t len)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%d.%s", dir, n, ext);
    f = fopen(path, "w");
    if (!f)
        return;
    fwrite(data, 1, len, f);
    fclose(f);
}

static int serve(const char *dir)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    char path[4096], req[1 << 16];
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    FILE *f;

    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 16) ||
        getsockname(ls, (struct sockaddr *)&sa, &sl))
        return 1;
    snprintf(path, sizeof(path), "%s/port", dir);
    if (!(f = fopen(path, "w")))
        return 1;
    fprintf(f, "%d\n", ntohs(sa.sin_port));
    fclose(f);
    for (int n = 1;; n++) {
        int c = accept(ls, NULL, NULL);
        size_t len = 0, need = 0;
        char *end = NULL, mode[32];
        const char *status;
        if (c < 0)
            continue;
        /* Headers, then Content-Length bytes of body. */
        while (len < sizeof(req) - 1) {
            ssize_t r = read(c, req + len, sizeof(req) - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
            req[len] = '\0';
            if (!end && (end = strstr(req, "\r\n\r\n"))) {
                const char *cl = strcasestr(req, "\r\ncontent-length:");
                need = (size_t)(end + 4 - req) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
            }
            if (end && len >= need)
                break;
        }
        if (!end) {
            close(c);
            continue;
        }
        save(dir, n, "head", req, (size_t)(end - req));
        save(dir, n, "body", end + 4, len - (size_t)(end + 4 - req));
        snprintf(path, sizeof(path), "%s/mode", dir);
        slurp(path, mode, sizeof(mode));
        if (!strcmp(mode, "sleep"))
            sleep(3);
        status = !strcmp(mode, "500") ? "500 Internal Server Error" : "200 OK";
        dprintf(c, "HTTP/1.1 %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
        close(c);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "serve"))
        return serve(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "seal")) {
        struct arena a = ARENA_INIT;
        const char *out;
        int rc = 1;
        if (!secretbox_seal(&a, argv[2], argv[3], &out)) {
            printf("%s\n", out);
            rc = 0;
        }
        arena_free(&a);
        return rc;
    }
    fputs("usage: hook_receiver serve DIR | seal KEY TEXT\n", stderr);
    return 2;
}
