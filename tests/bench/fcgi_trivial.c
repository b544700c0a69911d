/*
 * fcgi_trivial.c — the benchmark's ceiling: a FastCGI responder that does no
 * work at all.
 *
 *   fcgi_trivial SOCKET [WORKERS [PIDFILE]]
 *
 * Listens on SOCKET (a unix socket path, or host:port) and answers every
 * request with a fixed JSON envelope the size of a small cube-api reply.
 * It uses the same process model as cube-api (a master and WORKERS forked
 * processes, each in an FCGX_Accept_r loop on the shared listening socket),
 * and the same default worker count: CUBE_WORKERS, else 2 x online cores.
 * So nginx -> this responder measures what nginx, the FastCGI protocol and
 * the kernel cost, and every cube-api figure is reported as a ratio to it.
 *
 * SIGTERM or SIGINT to the master stops the workers, removes the socket and
 * the pid file. A worker killed by a signal is replaced.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define WORKERS_MAX 256
#define LISTEN_BACKLOG 1024

/* The envelope cube-api answers with, for a row of one column. */
#define BODY "{\"status\":0,\"message\":\"success\",\"result\":{\"id\":1}}"
#define BODY_LEN "50"
_Static_assert(sizeof(BODY) - 1 == 50, "BODY_LEN must match BODY");

static const char reply[] = "Status: 200 OK\r\n"
                            "Content-Type: application/json; charset=utf-8\r\n"
                            "Content-Length: " BODY_LEN "\r\n"
                            "\r\n" BODY;

/* Whole-string decimal in [1, WORKERS_MAX]; 0 when it is not one. */
static int parse_workers(const char *s)
{
    char *end = NULL;
    long v;

    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > WORKERS_MAX)
        return 0;
    return (int)v;
}

static int default_workers(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("CUBE_WORKERS");
    int n = parse_workers(env);

    if (n > 0)
        return n;
    if (env && *env)
        fprintf(stderr, "fcgi_trivial: ignoring CUBE_WORKERS=%s\n", env);
    if (cores < 1)
        cores = 1;
    if (cores > WORKERS_MAX / 2)
        cores = WORKERS_MAX / 2;
    return (int)(2 * cores);
}

static void serve(int listen_fd)
{
    FCGX_Request req;

    if (FCGX_InitRequest(&req, listen_fd, 0) != 0) {
        fprintf(stderr, "fcgi_trivial: FCGX_InitRequest failed\n");
        _exit(1);
    }
    while (FCGX_Accept_r(&req) >= 0) {
        FCGX_PutStr(reply, (int)(sizeof(reply) - 1), req.out);
        FCGX_Finish_r(&req);
    }
    _exit(0);
}

/* The master blocks these and takes them with sigwaitinfo: no handler races. */
static sigset_t master_sigs;

static pid_t spawn(int listen_fd)
{
    pid_t pid = fork();

    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &master_sigs, NULL);
        serve(listen_fd);
    }
    if (pid < 0)
        perror("fcgi_trivial: fork");
    return pid;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f);
}

int main(int argc, char **argv)
{
    const char *sock_path = argc > 1 ? argv[1] : NULL;
    const char *pidfile = argc > 3 ? argv[3] : NULL;
    int nworkers = argc > 2 && *argv[2] ? parse_workers(argv[2]) : default_workers();
    pid_t workers[WORKERS_MAX] = {0};
    int live = 0;
    int listen_fd;
    int i;

    if (!sock_path || !*sock_path || argc > 4 || nworkers < 1) {
        fprintf(stderr,
                "usage: fcgi_trivial SOCKET [WORKERS [PIDFILE]]\n"
                "  SOCKET   unix socket path, or host:port\n"
                "  WORKERS  1..%d; empty or absent: CUBE_WORKERS, else 2 x cores\n",
                WORKERS_MAX);
        return 2;
    }

    if (FCGX_Init() != 0) {
        fprintf(stderr, "fcgi_trivial: FCGX_Init failed\n");
        return 1;
    }
    listen_fd = FCGX_OpenSocket(sock_path, LISTEN_BACKLOG);
    if (listen_fd < 0) {
        fprintf(stderr, "fcgi_trivial: cannot listen on %s: %s\n", sock_path, strerror(errno));
        return 1;
    }
    if (pidfile && write_pidfile(pidfile) != 0) {
        fprintf(stderr, "fcgi_trivial: cannot write %s: %s\n", pidfile, strerror(errno));
        return 1;
    }

    sigemptyset(&master_sigs);
    sigaddset(&master_sigs, SIGTERM);
    sigaddset(&master_sigs, SIGINT);
    sigaddset(&master_sigs, SIGCHLD);
    sigprocmask(SIG_BLOCK, &master_sigs, NULL);

    for (i = 0; i < nworkers; i++)
        if ((workers[i] = spawn(listen_fd)) > 0)
            live++;
    fprintf(stderr, "fcgi_trivial: %d workers on %s\n", nworkers, sock_path);

    while (live > 0) {
        int sig = sigwaitinfo(&master_sigs, NULL);
        int status;
        pid_t dead;

        if (sig == SIGTERM || sig == SIGINT)
            break;
        /* SIGCHLD: reap; a crashed worker is replaced, one that gave up
         * (its accept loop failed) is not, so a broken socket cannot make
         * us fork in a loop. */
        while ((dead = waitpid(-1, &status, WNOHANG)) > 0)
            for (i = 0; i < nworkers; i++) {
                if (workers[i] != dead)
                    continue;
                workers[i] = WIFSIGNALED(status) ? spawn(listen_fd) : 0;
                if (workers[i] <= 0)
                    live--;
            }
    }

    for (i = 0; i < nworkers; i++)
        if (workers[i] > 0)
            kill(workers[i], SIGTERM);
    while (wait(NULL) > 0)
        ;
    if (strchr(sock_path, ':') == NULL)
        unlink(sock_path);
    if (pidfile)
        unlink(pidfile);
    return 0;
}
