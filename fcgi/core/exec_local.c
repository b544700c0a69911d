/*
 * exec_local.c — the local executor: one directory and one cube-shim process per
 * attempt.  The design (files, double fork, status rules) is in exec.h.
 *
 * Everything here runs in the scheduler's or watcher's process, which may hold
 * listening sockets and database connections: every descriptor is O_CLOEXEC,
 * and the launcher child closes everything above 3 anyway before it execs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/exec.h"
#include "core/js.h"
#include "core/log.h"
#include "core/common.h"

enum {
    READY_WAIT_MS = 500, /* exec_submit waits this long for the shim's "ok" */
    RM_MAX_DEPTH = 256,  /* deeper trees in work/ are left for an operator */
    HIGH_FD = 10         /* launcher descriptors are moved above 0-3 before dup2 */
};

struct executor {
    char *root; /* absolute */
    char *shim; /* absolute */
    char group[EXEC_LOCAL_CGROUP_GROUP_MAX + 1];
};

/* ---- small helpers shared with cube-shim --------------------------------------------- */

bool exec_name_valid(const char *name)
{
    size_t n;

    if (!name || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
        return false;
    for (n = 1; name[n]; n++) {
        char c = name[n];
        if (n > 62 || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static enum err write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ERR_INTERNAL;
        }
        p += w;
        len -= (size_t)w;
    }
    return ERR_OK;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

enum err exec_local_write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
    char tmp[4096], path[4096];
    int fd = -1, n1, n2;
    enum err e = ERR_INTERNAL;

    /* The pid in the temporary name keeps concurrent writers (two submitters) apart. */
    n1 = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", dir, name, (int)getpid());
    n2 = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n1 < 0 || (size_t)n1 >= sizeof(tmp) || n2 < 0 || (size_t)n2 >= sizeof(path))
        return ERR_BADREQ;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        goto out;
    if (write_all(fd, data, len) != ERR_OK || fsync(fd) < 0)
        goto out;
    if (close(fd) < 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto out;
    fsync_dir(dir);
    e = ERR_OK;
out:
    if (fd >= 0)
        close(fd);
    if (e != ERR_OK)
        (void)unlink(tmp);
    return e;
}

enum err exec_local_read(struct arena *a, const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    size_t cap, n = 0;
    char *p = NULL;
    enum err e = ERR_INTERNAL;

    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? ERR_NOT_FOUND : ERR_INTERNAL;
    if (fstat(fd, &sb) < 0)
        goto out;
    /* /proc files report size 0: start small and grow. */
    cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 1024;
    if (cap > max + 1)
        cap = max + 1;
    p = arena_alloc(a, cap + 1);
    for (;;) {
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            e = ERR_TOOBIG;
            goto out;
        }
        if (n == cap) {
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *np = arena_alloc(a, ncap + 1);
            memcpy(np, p, n);
            p = np;
            cap = ncap;
        }
    }
    p[n] = '\0';
    *data = p;
    *len = n;
    e = ERR_OK;
out:
    close(fd);
    return e;
}

enum err exec_local_read_at(struct arena *a, const char *path, int64_t offset, size_t max,
                            char **data, size_t *len, int64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    size_t n = 0, want;
    char *p;

    if (fd < 0)
        return errno == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL;
    if (fstat(fd, &sb) < 0) {
        close(fd);
        return ERR_INTERNAL;
    }
    want = offset >= sb.st_size ? 0 : (size_t)(sb.st_size - offset);
    if (want > max)
        want = max;
    p = arena_alloc(a, want + 1);
    while (n < want) {
        ssize_t r = pread(fd, p + n, want - n, offset + (off_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    p[n] = '\0';
    *data = p;
    *len = n;
    *size = (int64_t)sb.st_size;
    return ERR_OK;
}

bool exec_local_proc_start(int pid, unsigned long long *starttime, bool *zombie)
{
    char path[64], buf[1024], *p, *end;
    ssize_t n;
    int fd, field;

    if (pid <= 0)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* comm (field 2) may hold spaces and parentheses: fields 3.. start after the last ')'. */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return false;
    p += 2;
    *zombie = *p == 'Z' || *p == 'X';
    for (field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return false;
        p++;
    }
    errno = 0;
    *starttime = strtoull(p, &end, 10);
    return !errno && end != p;
}

bool exec_local_cgroup_group_valid(const char *group)
{
    size_t n = group ? strlen(group) : 0;

    if (!n || n > EXEC_LOCAL_CGROUP_GROUP_MAX || group[0] == '.' || group[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = group[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

bool exec_local_cgroup_ok(const char *path, const char *name)
{
    size_t plen = strlen(path), nlen = strlen(name), rlen = strlen(EXEC_LOCAL_CGROUP_ROOT);
    const char *leaf, *group;
    char g[EXEC_LOCAL_CGROUP_GROUP_MAX + 1];

    /* .../<group>/<name>.<8 hex>: the suffix is the shim's hash of the attempt directory. */
    if (strncmp(path, EXEC_LOCAL_CGROUP_ROOT, rlen) || strstr(path, "/..") ||
        strpbrk(path, "\n\r") || plen < rlen + 3 + nlen + 9)
        return false;
    leaf = path + plen - (nlen + 9);
    if (leaf[-1] != '/' || strncmp(leaf, name, nlen) || leaf[nlen] != '.')
        return false;
    for (size_t i = nlen + 1; i < nlen + 9; i++)
        if (!strchr("0123456789abcdef", leaf[i]))
            return false;
    /* The group: the component before the leaf, below the controller's mount. */
    for (group = leaf - 1; group > path + rlen && group[-1] != '/'; group--)
        ;
    if (group <= path + rlen || (size_t)(leaf - 1 - group) > EXEC_LOCAL_CGROUP_GROUP_MAX)
        return false;
    memcpy(g, group, (size_t)(leaf - 1 - group));
    g[leaf - 1 - group] = '\0';
    return exec_local_cgroup_group_valid(g);
}

int exec_local_cgroup_kill(const char *cgdir)
{
    char path[4096];
    FILE *f;
    int pid, count = 0;

    if (snprintf(path, sizeof(path), "%s/cgroup.procs", cgdir) >= (int)sizeof(path))
        return 0;
    f = fopen(path, "re");
    if (!f)
        return 0;
    while (fscanf(f, "%d", &pid) == 1) {
        if (pid > 1)
            (void)kill(pid, SIGKILL);
        count++;
    }
    fclose(f);
    return count;
}

/* ---- paths and files ------------------------------------------------------------------ */

static const char *att_dir(struct executor *x, struct arena *a, const char *name)
{
    return arena_printf(a, "%s/%s", x->root, name);
}

static const char *att_file(struct executor *x, struct arena *a, const char *name, const char *file)
{
    return arena_printf(a, "%s/%s/%s", x->root, name, file);
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

enum err exec_local_mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(tmp))
        return ERR_BADREQ;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return ERR_INTERNAL;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return ERR_INTERNAL;
    return ERR_OK;
}

/* ---- open / close --------------------------------------------------------------------- */

struct executor *exec_local_open(const char *root, const char *shim_path)
{
    struct executor *x;
    char *r, *s;

    if (!root || !*root || exec_local_mkdir_p(root, 0750) != ERR_OK) {
        log_error("executor root %s cannot be created: %s", root ? root : "(null)",
                  strerror(errno));
        return NULL;
    }
    r = realpath(root, NULL);
    s = shim_path ? realpath(shim_path, NULL) : NULL;
    if (!r || !s || access(s, X_OK) < 0) {
        log_error("executor: %s is not usable (root %s, shim %s)", r ? "shim" : "root", root,
                  shim_path ? shim_path : "(null)");
        free(r);
        free(s);
        return NULL;
    }
    x = xcalloc(1, sizeof(*x));
    x->root = r;
    x->shim = s;
    memcpy(x->group, EXEC_LOCAL_CGROUP_GROUP, sizeof(EXEC_LOCAL_CGROUP_GROUP));
    return x;
}

bool exec_local_set_cgroup(struct executor *x, const char *group)
{
    if (!exec_local_cgroup_group_valid(group))
        return false;
    memcpy(x->group, group, strlen(group) + 1);
    return true;
}

void exec_close(struct executor *x)
{
    if (!x)
        return;
    free(x->root);
    free(x->shim);
    free(x);
}

/* ---- submit ----------------------------------------------------------------------------- */

static bool env_entry_valid(const char *kv)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    return eq && eq != kv;
}

/* Relative working directories stay inside work/: no "..", no empty path components. */
static bool workdir_valid(const char *w)
{
    const char *p = w;

    if (!w || !*w || *w == '/')
        return true;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += n;
        if (*p == '/')
            p++;
    }
    return true;
}

static const char *spec_problem(const struct exec_spec *s)
{
    if (!exec_name_valid(s->name))
        return "invalid attempt name";
    if (!s->argv || s->argc == 0 || !s->argv[0] || !*s->argv[0])
        return "empty argv";
    for (size_t i = 0; i < s->argc; i++)
        if (!s->argv[i])
            return "NULL in argv";
    if (s->nenv && !s->env)
        return "NULL env";
    for (size_t i = 0; i < s->nenv; i++)
        if (!env_entry_valid(s->env[i]))
            return "env entry is not K=V";
    if (!workdir_valid(s->workdir))
        return "workdir escapes the attempt directory";
    if (s->timeout_s < 0 || s->grace_s < 0 || s->memory_bytes < 0 || s->max_procs < 0 ||
        !(s->cpu >= 0 && s->cpu <= 4096))
        return "negative limit";
    if (s->replicas < 0 || s->replicas > EXEC_MAX_REPLICAS)
        return "replicas out of range";
    return NULL;
}

static json_object *str_array(const char *const *v, size_t n)
{
    json_object *arr = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, js_new_str(v[i]));
    return arr;
}

static const char *spec_json(struct arena *a, const struct executor *x, const struct exec_spec *s)
{
    json_object *o = js_own(a, json_object_new_object());

    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "name", js_new_str(s->name));
    json_object_object_add(o, "argv", str_array(s->argv, s->argc));
    json_object_object_add(o, "env", str_array(s->env, s->nenv));
    json_object_object_add(o, "workdir", js_new_str(s->workdir));
    json_object_object_add(o, "timeout_s", json_object_new_int64(s->timeout_s));
    json_object_object_add(o, "grace_s",
                           json_object_new_int64(s->grace_s ? s->grace_s : EXEC_DEFAULT_GRACE_S));
    json_object_object_add(o, "cpu", json_object_new_double(s->cpu));
    json_object_object_add(o, "memory_bytes", json_object_new_int64(s->memory_bytes));
    json_object_object_add(o, "max_procs", json_object_new_int64(s->max_procs));
    json_object_object_add(o, "isolate", json_object_new_boolean(s->isolate));
    json_object_object_add(o, "cgroup", js_new_str(x->group));
    json_object_object_add(o, "replicas", json_object_new_int(s->replicas > 1 ? s->replicas : 1));
    json_object_object_add(o, "submitted_at", json_object_new_int64(clock_wall_s()));
    return arena_strdup(a, js_str(o));
}

/* Moves fd above the descriptors the grandchild dup2s onto (0-3), keeping O_CLOEXEC. */
static int fd_high(int fd)
{
    int h;

    if (fd < 0 || fd >= HIGH_FD)
        return fd;
    h = fcntl(fd, F_DUPFD_CLOEXEC, HIGH_FD);
    close(fd);
    return h;
}

/* Async-signal-safe "E <errno>\n" on fd, for failures between fork and exec. */
static void report_errno(int fd, int err)
{
    char b[16];
    int i = (int)sizeof(b);

    b[--i] = '\n';
    do {
        b[--i] = (char)('0' + err % 10);
        err /= 10;
    } while (err && i > 2);
    b[--i] = ' ';
    b[--i] = 'E';
    (void)!write(fd, b + i, sizeof(b) - (size_t)i);
}

/*
 * The first child: a new session, then the shim as a grandchild, then exit.  Between fork
 * and exec only async-signal-safe calls: the caller may have other threads.
 */
static NORETURN void launcher_child(int nullfd, int logfd, int readyfd, const char *shim,
                                    char *const argv[], int maxfd)
{
    struct sigaction dfl;
    pid_t pid;

    if (setsid() < 0) {
        report_errno(readyfd, errno);
        _exit(1);
    }
    pid = fork();
    if (pid < 0) {
        report_errno(readyfd, errno);
        _exit(1);
    }
    if (pid > 0)
        _exit(0);

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        (void)sigaction(sig, &dfl, NULL); /* EINVAL for KILL, STOP and libc's own: fine */
    if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || dup2(readyfd, 3) < 0) {
        report_errno(readyfd, errno);
        _exit(1);
    }
    if (syscall(SYS_close_range, 4U, ~0U, 0) < 0) {
        for (int fd = 4; fd < maxfd; fd++)
            (void)close(fd);
    }
    /* Every signal stays blocked (the parent blocked them for the fork): the shim sets its
     * own mask first thing, so a cancel arriving this early is not lost. */
    execv(shim, argv);
    report_errno(3, errno);
    _exit(127);
}

/*
 * Starts cube-shim for dir.  ERR_OK once the shim has claimed the attempt (or another shim
 * had), or when it is still starting after READY_WAIT_MS; ERR_INTERNAL when it could not
 * be executed or died before claiming.
 */
static enum err launch(struct executor *x, struct arena *a, const char *dir, const char *name)
{
    int logfd = -1, nullfd = -1, rp[2] = {-1, -1}, status = 0, maxfd;
    static char arg0[] = "cube-shim", arg1[] = "--ready-fd=3";
    char *argv[4];
    char msg[64];
    size_t got = 0;
    sigset_t all, old;
    pid_t c1;
    int64_t deadline;
    enum err e = ERR_INTERNAL;

    argv[0] = arg0;
    argv[1] = arg1;
    argv[2] = arena_strdup(a, dir);
    argv[3] = NULL;
    maxfd = (int)sysconf(_SC_OPEN_MAX);
    if (maxfd < 0 || maxfd > 65536)
        maxfd = 65536;

    logfd = open(att_file(x, a, name, EXEC_LOCAL_LOG),
                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0 || pipe2(rp, O_CLOEXEC) < 0) {
        log_error("exec %s: cannot prepare the shim's descriptors: %s", name, strerror(errno));
        goto out;
    }
    logfd = fd_high(logfd);
    nullfd = fd_high(nullfd);
    rp[0] = fd_high(rp[0]);
    rp[1] = fd_high(rp[1]);
    if (logfd < 0 || nullfd < 0 || rp[0] < 0 || rp[1] < 0)
        goto out;

    /* No handler of the caller may run in the children before the shim resets them. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    c1 = fork();
    if (c1 == 0)
        launcher_child(nullfd, logfd, rp[1], x->shim, argv, maxfd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(rp[1]);
    rp[1] = -1;
    if (c1 < 0) {
        log_error("exec %s: fork: %s", name, strerror(errno));
        goto out;
    }
    /* The first child exits right after its fork; ECHILD if a SIGCHLD handler got it first. */
    while (waitpid(c1, &status, 0) < 0 && errno == EINTR)
        ;

    deadline = clock_mono_us() + READY_WAIT_MS * 1000;
    for (;;) {
        struct pollfd pfd = {.fd = rp[0], .events = POLLIN};
        int64_t left = (deadline - clock_mono_us()) / 1000;
        ssize_t r;
        int pr;

        if (left <= 0)
            break;
        pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        r = read(rp[0], msg + got, sizeof(msg) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* EOF: every copy of the write end is closed */
        got += (size_t)r;
        if (memchr(msg, '\n', got) || got == sizeof(msg) - 1)
            break;
    }
    msg[got] = '\0';
    if (exists(att_file(x, a, name, EXEC_LOCAL_PID)) ||
        exists(att_file(x, a, name, EXEC_LOCAL_EXIT))) {
        e = ERR_OK;
    } else if (msg[0] == 'E') {
        int64_t en = 0;
        char *nl = strchr(msg, '\n');
        if (nl)
            *nl = '\0';
        if (!parse_i64(msg + 2, 0, 4095, &en))
            en = 0;
        log_error("exec %s: cannot start %s: %s", name, x->shim, strerror((int)en));
    } else if (got == 0 && clock_mono_us() < deadline) {
        log_error("exec %s: the shim exited before claiming the attempt (see %s/log)", name, dir);
    } else {
        e = ERR_OK; /* still starting: status says "starting", then running or lost */
    }
out:
    if (logfd >= 0)
        close(logfd);
    if (nullfd >= 0)
        close(nullfd);
    if (rp[0] >= 0)
        close(rp[0]);
    if (rp[1] >= 0)
        close(rp[1]);
    return e;
}

enum err exec_submit(struct executor *x, const struct exec_spec *spec)
{
    struct arena a = ARENA_INIT;
    const char *problem = spec_problem(spec), *dir;
    enum err e = ERR_OK;

    if (problem) {
        log_warn("exec_submit %s: %s", exec_name_valid(spec->name) ? spec->name : "?", problem);
        e = ERR_BADREQ;
        goto out;
    }
    dir = att_dir(x, &a, spec->name);
    if (mkdir(dir, 0750) < 0) {
        if (errno != EEXIST) {
            log_error("exec_submit %s: mkdir %s: %s", spec->name, dir, strerror(errno));
            e = ERR_INTERNAL;
            goto out;
        }
        /* Invariant 4: the name exists, so adopt it — unless no shim ever claimed it. */
        if (exists(att_file(x, &a, spec->name, EXEC_LOCAL_PID)) ||
            exists(att_file(x, &a, spec->name, EXEC_LOCAL_EXIT)))
            goto out;
    }
    if (!exists(att_file(x, &a, spec->name, EXEC_LOCAL_SPEC))) {
        const char *js = spec_json(&a, x, spec);
        e = exec_local_write_atomic(dir, EXEC_LOCAL_SPEC, js, strlen(js));
        if (e != ERR_OK) {
            log_error("exec_submit %s: writing spec.json: %s", spec->name, strerror(errno));
            goto out;
        }
    }
    e = launch(x, &a, dir, spec->name);
out:
    arena_free(&a);
    return e;
}

/* ---- status ------------------------------------------------------------------------------ */

static int64_t js_i64(json_object *o, const char *key)
{
    json_object *v = js_get(o, key);
    return v ? json_object_get_int64(v) : 0;
}

static bool js_bool(json_object *o, const char *key)
{
    json_object *v = js_get(o, key);
    return v && json_object_get_boolean(v);
}

/* ERR_NOT_FOUND when there is no exit file yet. */
static enum err read_exit(struct executor *x, struct arena *a, const char *name,
                          struct exec_status *st)
{
    char *data = NULL;
    size_t len = 0;
    const char *jerr = NULL, *state;
    json_object *o;
    json_object *ec;
    enum err e = exec_local_read(a, att_file(x, a, name, EXEC_LOCAL_EXIT), 65536, &data, &len);

    if (e != ERR_OK)
        return e;
    o = js_parse(a, data, len, &jerr);
    state = js_get_str(o, "state");
    ec = js_get(o, "exit_code");
    if (!o || !state || !ec) {
        st->state = EXEC_FAILED;
        st->reason = "exit record unreadable";
        return ERR_OK;
    }
    st->state = !strcmp(state, "succeeded") ? EXEC_SUCCEEDED : EXEC_FAILED;
    st->exit_code = json_object_get_int(ec);
    st->term_signal = (int)js_i64(o, "term_signal");
    st->reason = js_get_str(o, "reason") ? js_get_str(o, "reason") : "";
    st->started_at = js_i64(o, "started_at");
    st->finished_at = js_i64(o, "finished_at");
    st->peak_rss_kb = js_i64(o, "peak_rss_kb");
    st->cpu_seconds =
        js_get(o, "cpu_seconds") ? json_object_get_double(js_get(o, "cpu_seconds")) : 0;
    st->cancelled = js_bool(o, "cancelled");
    st->timed_out = js_bool(o, "timed_out");
    st->oom_killed = js_bool(o, "oom");
    return ERR_OK;
}

struct pidinfo {
    int pid;
    unsigned long long starttime;
    int64_t started_at;
};

/* ERR_NOT_FOUND when there is no pid file yet. */
static enum err read_pid(struct executor *x, struct arena *a, const char *name, struct pidinfo *pi)
{
    char *data = NULL;
    size_t len = 0;
    long long started = 0;
    enum err e = exec_local_read(a, att_file(x, a, name, EXEC_LOCAL_PID), 256, &data, &len);

    if (e != ERR_OK)
        return e;
    if (sscanf(data, "%d %llu %lld", &pi->pid, &pi->starttime, &started) != 3)
        return ERR_INTERNAL;
    pi->started_at = started;
    return ERR_OK;
}

/* The shim recorded in pi still runs: alive, not a zombie, same start time (no PID reuse). */
static bool shim_alive(const struct pidinfo *pi)
{
    unsigned long long st = 0;
    bool zombie = false;

    return exec_local_proc_start(pi->pid, &st, &zombie) && !zombie && st == pi->starttime;
}

enum err exec_status(struct executor *x, struct arena *a, const char *name, struct exec_status *st)
{
    struct pidinfo pi = {0};
    struct stat sb;
    enum err e;

    memset(st, 0, sizeof(*st));
    st->exit_code = -1;
    st->reason = "";
    if (!exec_name_valid(name))
        return ERR_BADREQ;
    if (stat(att_dir(x, a, name), &sb) < 0) {
        if (errno != ENOENT)
            return ERR_INTERNAL;
        st->state = EXEC_ABSENT;
        st->reason = "absent";
        return ERR_OK;
    }
    e = read_exit(x, a, name, st);
    if (e != ERR_NOT_FOUND)
        return e;

    e = read_pid(x, a, name, &pi);
    if (e == ERR_OK) {
        st->pid = pi.pid;
        st->started_at = pi.started_at;
        if (shim_alive(&pi)) {
            st->state = EXEC_RUNNING;
            st->reason = "running";
            return ERR_OK;
        }
        /* It may have written exit and gone between our two reads. */
        e = read_exit(x, a, name, st);
        if (e != ERR_NOT_FOUND)
            return e;
        st->pid = pi.pid;
        st->started_at = pi.started_at;
        st->state = EXEC_LOST;
        st->reason = "lost: process vanished";
        return ERR_OK;
    }
    if (e != ERR_NOT_FOUND)
        return e;
    /* No shim has claimed it yet: starting, unless that has taken too long. */
    if (stat(att_file(x, a, name, EXEC_LOCAL_SPEC), &sb) < 0 && stat(att_dir(x, a, name), &sb) < 0)
        return ERR_INTERNAL;
    if (clock_wall_s() - (int64_t)sb.st_mtime < EXEC_LOCAL_START_GRACE_S) {
        st->state = EXEC_RUNNING;
        st->reason = "starting";
    } else {
        st->state = EXEC_LOST;
        st->reason = "lost: process vanished (the shim never started)";
    }
    return ERR_OK;
}

/* ---- cancel, log, remove, list -------------------------------------------------------- */

/* SIGKILLs what a dead shim left in its cgroups; with rm, also removes those cgroups. */
static void cgroups_cleanup(struct executor *x, struct arena *a, const char *name, bool rm)
{
    char *data = NULL, *line, *save = NULL;
    size_t len = 0;

    if (exec_local_read(a, att_file(x, a, name, EXEC_LOCAL_CGROUPS), 65536, &data, &len) != ERR_OK)
        return;
    for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!exec_local_cgroup_ok(line, name) || !exists(line))
            continue;
        for (int i = 0; i < 50 && exec_local_cgroup_kill(line) > 0; i++)
            usleep(20000);
        if (rm && rmdir(line) < 0 && errno != ENOENT)
            log_warn("exec %s: cannot remove cgroup %s: %s", name, line, strerror(errno));
    }
}

/* SIGTERM to the shim, through a pidfd so that a recycled pid cannot be hit. */
static bool signal_shim(const struct pidinfo *pi, int sig)
{
    int fd = pidfd_open(pi->pid, 0);
    bool ok;

    if (fd < 0) {
        if (errno != ENOSYS)
            return false;
        return shim_alive(pi) && kill(pi->pid, sig) == 0;
    }
    ok = shim_alive(pi) && pidfd_send_signal(fd, sig, NULL, 0) == 0;
    close(fd);
    return ok;
}

enum err exec_cancel(struct executor *x, const char *name)
{
    struct arena a = ARENA_INIT;
    struct pidinfo pi = {0};
    enum err e = ERR_OK;
    int fd;

    if (!exec_name_valid(name)) {
        e = ERR_BADREQ;
        goto out;
    }
    if (!exists(att_dir(x, &a, name)) || exists(att_file(x, &a, name, EXEC_LOCAL_EXIT)))
        goto out;
    /* The marker first: a shim that has not started yet finds it before running anything. */
    fd = open(att_file(x, &a, name, EXEC_LOCAL_CANCEL), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        e = ERR_INTERNAL;
        goto out;
    }
    close(fd);
    if (read_pid(x, &a, name, &pi) != ERR_OK)
        goto out;
    if (signal_shim(&pi, SIGTERM))
        goto out;
    if (!exists(att_file(x, &a, name, EXEC_LOCAL_EXIT)))
        cgroups_cleanup(x, &a, name, false); /* lost: kill what it left behind */
out:
    arena_free(&a);
    return e;
}

enum err exec_log(struct executor *x, struct arena *a, const char *name, int64_t offset, size_t max,
                  const char **data, size_t *len, int64_t *next, bool *eof)
{
    struct stat sb;
    bool finished;
    char *p;
    int64_t size;
    enum err e;

    *data = "";
    *len = 0;
    *next = offset;
    *eof = false;
    if (!exec_name_valid(name) || offset < 0)
        return ERR_BADREQ;
    if (stat(att_dir(x, a, name), &sb) < 0)
        return errno == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL;
    /* Before reading: once exit exists, the shim and every replica have stopped writing. */
    finished = exists(att_file(x, a, name, EXEC_LOCAL_EXIT));
    e = exec_local_read_at(a, att_file(x, a, name, EXEC_LOCAL_LOG), offset, max, &p, len, &size);
    if (e == ERR_NOT_FOUND) {
        *eof = finished;
        return ERR_OK;
    }
    if (e)
        return e;
    *data = p;
    *next = offset + (int64_t)*len;
    *eof = finished && *next >= size;
    return ERR_OK;
}

const char *exec_log_path(struct executor *x, struct arena *a, const char *name)
{
    return exec_name_valid(name) ? att_file(x, a, name, EXEC_LOCAL_LOG) : NULL;
}

/* Removes the entry name of directory dfd, recursively, never following symlinks. */
static int rm_tree_at(int dfd, const char *name, int depth)
{
    DIR *d;
    struct dirent *de;
    int fd, rc = 0;

    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if ((errno != EISDIR && errno != EPERM) || depth > RM_MAX_DEPTH)
        return -1;
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (rm_tree_at(dirfd(d), de->d_name, depth + 1) < 0)
            rc = -1;
    }
    closedir(d);
    if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

enum err exec_remove(struct executor *x, const char *name, bool keep_log)
{
    struct arena a = ARENA_INIT;
    struct exec_status st;
    DIR *d = NULL;
    struct dirent *de;
    int rootfd = -1, rc = 0;
    enum err e;

    e = exec_status(x, &a, name, &st);
    if (e != ERR_OK || st.state == EXEC_ABSENT)
        goto out;
    if (st.state == EXEC_RUNNING) {
        e = ERR_CONFLICT;
        goto out;
    }
    /* A lost shim leaves its cgroups (and maybe processes in them); a finished one did not. */
    cgroups_cleanup(x, &a, name, true);
    rootfd = open(x->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        e = ERR_INTERNAL;
        goto out;
    }
    if (!keep_log) {
        rc = rm_tree_at(rootfd, name, 0);
    } else {
        int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
            if (fd >= 0)
                close(fd);
            e = ERR_INTERNAL;
            goto out;
        }
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
                !strcmp(de->d_name, EXEC_LOCAL_LOG) || !strcmp(de->d_name, EXEC_LOCAL_EXIT))
                continue;
            if (rm_tree_at(dirfd(d), de->d_name, 1) < 0)
                rc = -1;
        }
    }
    if (rc < 0) {
        log_warn("exec_remove %s: some files could not be removed: %s", name, strerror(errno));
        e = ERR_INTERNAL;
    }
out:
    if (d)
        closedir(d);
    if (rootfd >= 0)
        close(rootfd);
    arena_free(&a);
    return e;
}

static int cmp_str(const void *l, const void *r)
{
    return strcmp(*(const char *const *)l, *(const char *const *)r);
}

enum err exec_list(struct executor *x, struct arena *a, const char ***names, size_t *n)
{
    DIR *d = opendir(x->root);
    struct dirent *de;
    const char **v = NULL;
    size_t cap = 0, cnt = 0;

    *names = NULL;
    *n = 0;
    if (!d)
        return ERR_INTERNAL;
    while ((de = readdir(d))) {
        if (!exec_name_valid(de->d_name))
            continue;
        if (de->d_type != DT_DIR) {
            struct stat sb;
            if (de->d_type != DT_UNKNOWN ||
                fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(sb.st_mode))
                continue;
        }
        if (cnt == cap) {
            const char **nv;
            cap = cap ? cap * 2 : 16;
            nv = arena_alloc(a, cap * sizeof(*nv));
            if (cnt)
                memcpy(nv, v, cnt * sizeof(*nv));
            v = nv;
        }
        v[cnt++] = arena_strdup(a, de->d_name);
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_str);
    *names = v;
    *n = cnt;
    return ERR_OK;
}

struct executor *exec_local_open_configured(void)
{
    char self[PATH_MAX], shim[PATH_MAX + 16];
    ssize_t n;
    char *slash;
    struct executor *x;

    if (cfg.shim && *cfg.shim) {
        snprintf(shim, sizeof(shim), "%s", cfg.shim);
    } else {
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0 || !(slash = memrchr(self, '/', (size_t)n))) {
            log_error("executor: cannot find this program's path: %s", strerror(errno));
            return NULL;
        }
        *slash = '\0';
        snprintf(shim, sizeof(shim), "%s/cube-shim", self);
    }
    x = exec_local_open(cfg.exec_dir, shim);
    if (!x) {
        log_error("executor: cannot open CUBE_EXEC_DIR=%s with shim %s", cfg.exec_dir, shim);
        return NULL;
    }
    if (cfg.cgroup && *cfg.cgroup && !exec_local_set_cgroup(x, cfg.cgroup)) {
        log_error("executor: CUBE_CGROUP=%s is not a cgroup name (one path component of "
                  "letters, digits, '_', '.', '-')",
                  cfg.cgroup);
        exec_close(x);
        return NULL;
    }
    return x;
}
