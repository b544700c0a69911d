/*
 * cube-shim.c — runs one attempt of the local executor; core/exec.h has the design.
 *
 *   cube-shim [--ready-fd=N] ATTEMPT_DIR
 *
 * exec_submit starts it in a session of its own, with stdout and stderr appended
 * to ATTEMPT_DIR/log and every signal blocked.  It claims the attempt (creates
 * `pid` with link(2): a second shim for the same attempt exits quietly), says
 * "ok" on the ready descriptor, reads spec.json, makes the cgroups, forks the
 * replicas, supervises them, cleans up every process of the attempt, and
 * writes `exit`.  It writes nothing outside ATTEMPT_DIR but cgroup files, and
 * talks to nobody: the scheduler reads the files.
 *
 * The loop is sigtimedwait() on the blocked signals (SIGCHLD; SIGTERM, SIGINT,
 * SIGHUP, SIGQUIT = cancel) with the nearest deadline as its timeout: no
 * handlers, so nothing can race between a check and a wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/exec.h"
#include "core/js.h"
#include "core/sha256.h"
#include "core/common.h"

enum {
    MAX_CTRL = 3,
    LEFTOVER_ROUNDS = 250, /* x 20 ms: how long the final sweep keeps killing */
    LEFTOVER_SLEEP_US = 20000,
    CPU_PERIOD_US = 100000,
    DEFAULT_MASTER_PORT = 29500
};

static const char *const ctrls[MAX_CTRL] = {"memory", "cpu", "pids"};

struct rank {
    pid_t pid;
    int status;
    bool done;
};

struct shim {
    struct arena *a;
    const char *dir, *name;
    pid_t self;
    int64_t started_at; /* wall clock, as in the pid file */

    /* from spec.json */
    const char **argv;
    size_t argc;
    const char **env;
    size_t nenv;
    const char *workdir; /* resolved: absolute */
    const char *work;    /* <dir>/work */
    int64_t timeout_s, grace_s, memory_bytes, max_procs;
    double cpu;
    bool isolate;
    int replicas;
    const char *group; /* the cgroup under which ours are made (exec.h) */

    /* what was set up */
    bool isolated;
    int ncg;
    const char *cg[MAX_CTRL];
    int cg_fd[MAX_CTRL]; /* cgroup.procs, O_CLOEXEC: each child writes "0" to join */
    const char *cg_mem;
    struct buf notes; /* "; not isolated: ..." appended to the reason */

    /* supervision */
    struct rank *ranks;
    int nforked, ndone, first_failed;
    pid_t pgid;
    const char *start_error;
    bool cancelled, timed_out, terminating;
    int64_t kill_at; /* monotonic us; 0 = no SIGKILL scheduled */
};

/* ---- small helpers -------------------------------------------------------------------- */

/* A line in the attempt's log; the user sees these next to the task's own output. */
static void logmsg(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void logmsg(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    dprintf(2, "cube-shim: %s\n", line);
}

/* A condition the reason must carry ("not isolated: ..."); also logged. */
static void note(struct shim *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void note(struct shim *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    buf_addf(&s->notes, "; %s", line);
    logmsg("%s", line);
}

static const char *path_in(struct shim *s, const char *file)
{
    return arena_printf(s->a, "%s/%s", s->dir, file);
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* Writes a cgroup control file; 0 or an errno. */
static int write_value(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
    size_t n = strlen(value);

    if (fd < 0)
        return errno;
    if (write(fd, value, n) != (ssize_t)n)
        rc = errno ? errno : EIO;
    close(fd);
    return rc;
}

static int64_t read_i64_file(struct shim *s, const char *path, int64_t dflt)
{
    char *data = NULL;
    size_t len = 0;
    long long v;

    if (exec_local_read(s->a, path, 4096, &data, &len) != ERR_OK || sscanf(data, "%lld", &v) != 1)
        return dflt;
    return v;
}

static bool key_is(const char *kv, const char *key)
{
    size_t n = strlen(key);
    return !strncmp(kv, key, n) && kv[n] == '=';
}

/* ---- claim ---------------------------------------------------------------------------- */

/* 0: the attempt is ours; EEXIST: another shim has it; else an errno. */
static int claim(struct shim *s)
{
    unsigned long long st = 0;
    bool zombie = false;
    char line[96], tmp[4096];
    const char *pidpath = path_in(s, EXEC_LOCAL_PID);
    int fd, n, rc = 0;

    if (!exec_local_proc_start(s->self, &st, &zombie))
        return errno ? errno : EIO;
    s->started_at = clock_wall_s();
    n = snprintf(line, sizeof(line), "%d %llu %lld\n", (int)s->self, st, (long long)s->started_at);
    if (snprintf(tmp, sizeof(tmp), "%s/.pid.claim.%d", s->dir, (int)s->self) >= (int)sizeof(tmp))
        return ENAMETOOLONG;
    /* Complete and durable first, then linked into place: link fails if pid exists. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return errno;
    if (write(fd, line, (size_t)n) != n || fsync(fd) < 0)
        rc = errno ? errno : EIO;
    close(fd);
    if (!rc && link(tmp, pidpath) < 0)
        rc = errno;
    (void)unlink(tmp);
    return rc;
}

/* ---- spec ------------------------------------------------------------------------------- */

static const char **str_list(struct shim *s, json_object *arr, size_t *n)
{
    size_t len;
    const char **v;

    if (!arr || !json_object_is_type(arr, json_type_array))
        return NULL;
    len = json_object_array_length(arr);
    v = arena_alloc(s->a, (len + 1) * sizeof(*v));
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_string))
            return NULL;
        v[i] = json_object_get_string(e);
    }
    v[len] = NULL;
    *n = len;
    return v;
}

static int64_t spec_i64(json_object *o, const char *key)
{
    json_object *v = js_get(o, key);
    return v ? json_object_get_int64(v) : 0;
}

/* NULL, or what is wrong with spec.json. */
static const char *load_spec(struct shim *s)
{
    char *data = NULL;
    size_t len = 0;
    const char *jerr = NULL, *name, *wd;
    json_object *o;
    json_object *v;

    if (exec_local_read(s->a, path_in(s, EXEC_LOCAL_SPEC), EXEC_LOCAL_SPEC_MAX, &data, &len) !=
        ERR_OK)
        return "cannot read spec.json";
    o = js_parse(s->a, data, len, &jerr);
    if (!o)
        return arena_printf(s->a, "spec.json: %s", jerr);
    name = js_get_str(o, "name");
    if (!name || strcmp(name, s->name))
        return "spec.json names another attempt";
    s->argv = str_list(s, js_get(o, "argv"), &s->argc);
    s->env = str_list(s, js_get(o, "env"), &s->nenv);
    if (!s->argv || !s->argc || !*s->argv[0] || !s->env)
        return "spec.json: argv or env missing";
    for (size_t i = 0; i < s->nenv; i++)
        if (!strchr(s->env[i], '=') || s->env[i][0] == '=')
            return "spec.json: env entry is not K=V";
    wd = js_get_str(o, "workdir");
    s->timeout_s = spec_i64(o, "timeout_s");
    s->grace_s = spec_i64(o, "grace_s");
    s->memory_bytes = spec_i64(o, "memory_bytes");
    s->max_procs = spec_i64(o, "max_procs");
    v = js_get(o, "cpu");
    s->cpu = v ? json_object_get_double(v) : 0;
    v = js_get(o, "isolate");
    s->isolate = v && json_object_get_boolean(v);
    s->replicas = (int)spec_i64(o, "replicas");
    /* Absent in specs written before the group was configurable: the old fixed name. */
    s->group = js_get_str(o, "cgroup");
    if (!s->group)
        s->group = EXEC_LOCAL_CGROUP_GROUP;
    if (!exec_local_cgroup_group_valid(s->group))
        return "spec.json: cgroup is not a valid group name";
    if (s->replicas < 1)
        s->replicas = 1;
    if (s->replicas > EXEC_MAX_REPLICAS || s->timeout_s < 0 || s->grace_s < 0 ||
        s->memory_bytes < 0 || s->max_procs < 0 || s->cpu < 0)
        return "spec.json: limit out of range";
    if (s->grace_s == 0)
        s->grace_s = EXEC_DEFAULT_GRACE_S;

    /* The default working directory is work/, so the task cannot clobber pid or exit. */
    s->work = path_in(s, EXEC_LOCAL_WORK);
    if (mkdir(s->work, 0750) < 0 && errno != EEXIST)
        return arena_printf(s->a, "mkdir %s: %s", s->work, strerror(errno));
    if (!wd || !*wd) {
        s->workdir = s->work;
    } else if (wd[0] == '/') {
        s->workdir = wd;
    } else {
        if (strstr(wd, "..")) /* exec_submit refuses ".." components; be as strict here */
            return "spec.json: workdir escapes the attempt directory";
        s->workdir = arena_printf(s->a, "%s/%s", s->work, wd);
        if (exec_local_mkdir_p(s->workdir, 0750) != ERR_OK)
            return arena_printf(s->a, "mkdir %s: %s", s->workdir, strerror(errno));
    }
    return NULL;
}

/* ---- cgroups v1 --------------------------------------------------------------------------- */

/* Our own cgroup of ctrl from /proc/self/cgroup ("id:ctrl[,ctrl]:path"), or NULL. */
static const char *own_cgroup(struct shim *s, char *table, const char *ctrl)
{
    size_t clen = strlen(ctrl);

    for (char *line = table; line && *line;) {
        char *nl = strchr(line, '\n'), *c1 = strchr(line, ':'), *c2;
        if (nl)
            *nl = '\0';
        c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2) {
            for (char *p = c1 + 1; p < c2;) {
                char *comma = memchr(p, ',', (size_t)(c2 - p));
                char *end = comma ? comma : c2;
                if ((size_t)(end - p) == clen && !strncmp(p, ctrl, clen)) {
                    const char *path = arena_strdup(s->a, c2 + 1);
                    if (nl)
                        *nl = '\n';
                    return path;
                }
                p = end + 1;
            }
        }
        if (nl)
            *nl = '\n';
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static bool limit_wanted(const struct shim *s, int c)
{
    return c == 0 ? s->memory_bytes > 0 : c == 1 ? s->cpu > 0 : s->max_procs > 0;
}

static const char *limit_what(int c)
{
    return c == 0 ? "memory limit" : c == 1 ? "cpu limit" : "process limit";
}

/* Sets the limits of controller c in cgroup dir; false (with a note) if one failed. */
static void set_limits(struct shim *s, int c, const char *dir)
{
    char v[32];
    int rc = 0;

    if (!limit_wanted(s, c))
        return;
    if (c == 0) {
        const char *memsw = arena_printf(s->a, "%s/memory.memsw.limit_in_bytes", dir);
        snprintf(v, sizeof(v), "%lld", (long long)s->memory_bytes);
        /* memory first: memsw may never be below it.  With memsw as well the task cannot
         * escape the limit into swap. */
        rc = write_value(arena_printf(s->a, "%s/memory.limit_in_bytes", dir), v);
        if (!rc && file_exists(memsw))
            rc = write_value(memsw, v);
    } else if (c == 1) {
        int64_t quota = (int64_t)(s->cpu * CPU_PERIOD_US + 0.5);
        if (quota < 1000)
            quota = 1000; /* the kernel's minimum */
        snprintf(v, sizeof(v), "%d", CPU_PERIOD_US);
        rc = write_value(arena_printf(s->a, "%s/cpu.cfs_period_us", dir), v);
        snprintf(v, sizeof(v), "%lld", (long long)quota);
        if (!rc)
            rc = write_value(arena_printf(s->a, "%s/cpu.cfs_quota_us", dir), v);
    } else {
        /* Under bwrap each replica is bwrap + its pid 1 + the task. */
        int64_t max = s->max_procs + (s->isolated ? 2 * (int64_t)s->replicas : 0);
        snprintf(v, sizeof(v), "%lld", (long long)max);
        rc = write_value(arena_printf(s->a, "%s/pids.max", dir), v);
    }
    if (rc)
        note(s, "%s not enforced: %s", limit_what(c), strerror(rc));
}

/*
 * <group>/<name>.<8 hex of sha256(attempt dir)> under our own cgroup of each controller:
 * nested, so a container's limits still apply, and two executor roots on one host never
 * share a cgroup even with equal attempt names.  Not root, we can only use a group that was
 * made and handed to us (deploy/stack.sh); as root we make it.
 */
static void setup_cgroups(struct shim *s)
{
    char *table = NULL, hex[65];
    size_t len = 0;
    struct buf list;

    buf_init(&list, s->a, 65536);
    sha256_hex(s->dir, strlen(s->dir), hex);
    hex[8] = '\0';
    if (exec_local_read(s->a, "/proc/self/cgroup", 65536, &table, &len) != ERR_OK)
        table = NULL;
    for (int c = 0; c < MAX_CTRL; c++) {
        const char *own = table ? own_cgroup(s, table, ctrls[c]) : NULL;
        const char *mnt = arena_printf(s->a, "%s%s", EXEC_LOCAL_CGROUP_ROOT, ctrls[c]);
        const char *base, *cube, *leaf;
        struct stat sb;
        int fd;

        if (!own || stat(mnt, &sb) < 0) {
            if (limit_wanted(s, c))
                note(s, "%s not enforced: no cgroup v1 %s controller", limit_what(c), ctrls[c]);
            continue;
        }
        /* Without a cgroup namespace a container sees its host path in /proc/self/cgroup
         * but has its own cgroup mounted at the root: then the mount root is ours. */
        base = arena_printf(s->a, "%s%s", mnt, strcmp(own, "/") ? own : "");
        if (stat(base, &sb) < 0)
            base = mnt;
        cube = arena_printf(s->a, "%s/%s", base, s->group);
        leaf = arena_printf(s->a, "%s/%s.%s", cube, s->name, hex);
        if ((mkdir(cube, 0755) < 0 && errno != EEXIST) ||
            (mkdir(leaf, 0755) < 0 && errno != EEXIST)) {
            if (limit_wanted(s, c))
                note(s, "%s not enforced: cgroup %s: %s", limit_what(c), leaf, strerror(errno));
            continue;
        }
        set_limits(s, c, leaf);
        fd = open(arena_printf(s->a, "%s/cgroup.procs", leaf), O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            (void)rmdir(leaf);
            continue;
        }
        s->cg[s->ncg] = leaf;
        s->cg_fd[s->ncg] = fd;
        s->ncg++;
        if (c == 0)
            s->cg_mem = leaf;
        buf_addf(&list, "%s\n", leaf);
    }
    /* Recorded before any process joins: the executor cleans up after a shim that died. */
    if (s->ncg && exec_local_write_atomic(s->dir, EXEC_LOCAL_CGROUPS, buf_str(&list),
                                          strlen(buf_str(&list))) != ERR_OK)
        logmsg("cannot write %s/%s", s->dir, EXEC_LOCAL_CGROUPS);
}

static void remove_cgroups(struct shim *s)
{
    for (int i = 0; i < s->ncg; i++) {
        close(s->cg_fd[i]);
        /* A just-killed task can hold its cgroup for a moment. */
        for (int t = 0; t < 50 && rmdir(s->cg[i]) < 0 && errno == EBUSY; t++)
            usleep(LEFTOVER_SLEEP_US);
    }
}

/* ---- the replicas ------------------------------------------------------------------------ */

static char **build_env(struct shim *s, int rank)
{
    char **e = arena_alloc(s->a, (s->nenv + 8) * sizeof(*e));
    bool multi = s->replicas > 1, path = false, home = false, addr = false, port = false;
    size_t n = 0;

    for (size_t i = 0; i < s->nenv; i++) {
        const char *kv = s->env[i];
        if (multi && (key_is(kv, "RANK") || key_is(kv, "LOCAL_RANK") || key_is(kv, "WORLD_SIZE")))
            continue; /* ours, per replica */
        path |= key_is(kv, "PATH");
        home |= key_is(kv, "HOME");
        addr |= key_is(kv, "MASTER_ADDR");
        port |= key_is(kv, "MASTER_PORT");
        e[n++] = arena_strdup(s->a, kv);
    }
    if (!path)
        e[n++] = arena_strdup(s->a, "PATH=" EXEC_DEFAULT_PATH);
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        e[n++] = arena_printf(s->a, "HOME=%s", pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
    }
    if (multi) {
        e[n++] = arena_printf(s->a, "RANK=%d", rank);
        e[n++] = arena_printf(s->a, "LOCAL_RANK=%d", rank);
        e[n++] = arena_printf(s->a, "WORLD_SIZE=%d", s->replicas);
        if (!addr)
            e[n++] = arena_strdup(s->a, "MASTER_ADDR=127.0.0.1");
        if (!port)
            e[n++] = arena_printf(s->a, "MASTER_PORT=%d", DEFAULT_MASTER_PORT);
    }
    e[n] = NULL;
    return e;
}

static char **build_argv(struct shim *s)
{
    static const char *const bw[] = {
        "bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
        "--dev", "/dev",          "--tmpfs",           "/tmp"};
    char **v = arena_alloc(s->a, (s->argc + ARRAY_LEN(bw) + 10) * sizeof(*v));
    size_t n = 0;

    if (s->isolated) {
        for (size_t i = 0; i < ARRAY_LEN(bw); i++)
            v[n++] = arena_strdup(s->a, bw[i]);
        if (s->replicas > 1)
            v[n++] = arena_strdup(s->a, "--share-net"); /* ranks meet on 127.0.0.1 */
        /* After --tmpfs /tmp, or an attempt directory under /tmp would be hidden. */
        v[n++] = arena_strdup(s->a, "--bind");
        v[n++] = arena_strdup(s->a, s->work);
        v[n++] = arena_strdup(s->a, s->work);
        v[n++] = arena_strdup(s->a, "--chdir");
        v[n++] = arena_strdup(s->a, s->workdir);
        v[n++] = arena_strdup(s->a, "--");
    }
    for (size_t i = 0; i < s->argc; i++)
        v[n++] = arena_strdup(s->a, s->argv[i]);
    v[n] = NULL;
    return v;
}

/* In the child: report "what arg: strerror" to the parent and give up. */
static NORETURN void child_fail(int errfd, const char *what, const char *arg)
{
    dprintf(errfd, "%s%s%s: %s", what, *arg ? " " : "", arg, strerror(errno));
    _exit(127);
}

static NORETURN void rank_child(struct shim *s, int errfd, char **argv, char **envp)
{
    sigset_t none;

    /* The first replica leads a new group; the parent does the same setpgid, whoever is
     * first wins, so the group exists before anyone signals it. */
    if (setpgid(0, s->pgid) < 0)
        child_fail(errfd, "setpgid", "");
    for (int i = 0; i < s->ncg; i++)
        if (write(s->cg_fd[i], "0", 1) != 1)
            child_fail(errfd, "join cgroup", s->cg[i]);
    /* If the shim dies, so does the task: "lost" must mean gone, or a retry would run
     * next to a survivor. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != s->self)
        _exit(127);
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (chdir(s->workdir) < 0)
        child_fail(errfd, "chdir", s->workdir);
    /* execvp searches the PATH of environ: the task's, not ours. */
    environ = envp;
    if (s->isolated) {
        execve(EXEC_LOCAL_BWRAP, argv, envp);
        child_fail(errfd, "exec", EXEC_LOCAL_BWRAP);
    }
    execvp(argv[0], argv);
    child_fail(errfd, "exec", argv[0]);
}

static void start_rank(struct shim *s, int i, char **argv)
{
    char **envp = build_env(s, i);
    char msg[512];
    size_t got = 0;
    int ep[2];
    pid_t pid;

    if (pipe2(ep, O_CLOEXEC) < 0) {
        s->start_error = arena_printf(s->a, "pipe: %s", strerror(errno));
        return;
    }
    pid = fork();
    if (pid == 0) {
        close(ep[0]);
        rank_child(s, ep[1], argv, envp);
    }
    close(ep[1]);
    if (pid < 0) {
        s->start_error = arena_printf(s->a, "fork: %s", strerror(errno));
        close(ep[0]);
        return;
    }
    s->ranks[i].pid = pid;
    s->nforked++;
    if (!s->pgid)
        s->pgid = pid;
    (void)setpgid(pid, s->pgid); /* EACCES once it has exec'd: it did it itself */
    /* EOF when the exec succeeded (the pipe is close-on-exec), else the child's message. */
    for (;;) {
        ssize_t r = read(ep[0], msg + got, sizeof(msg) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (got += (size_t)r) == sizeof(msg) - 1)
            break;
    }
    close(ep[0]);
    if (got && !s->start_error) {
        msg[got] = '\0';
        s->start_error = arena_strdup(s->a, msg);
    }
}

/* ---- supervision ---------------------------------------------------------------------- */

static bool ok_status(int st)
{
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Reaps every exited child: replicas are recorded, orphans we adopted as subreaper dropped. */
static void reap(struct shim *s)
{
    pid_t p;
    int st;

    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < s->nforked; i++) {
            if (s->ranks[i].pid != p || s->ranks[i].done)
                continue;
            s->ranks[i].done = true;
            s->ranks[i].status = st;
            s->ndone++;
            if (s->first_failed < 0 && !ok_status(st))
                s->first_failed = i;
        }
    }
}

static void kill_all(struct shim *s)
{
    if (s->pgid > 0)
        (void)kill(-s->pgid, SIGKILL);
    for (int i = 0; i < s->ncg; i++)
        (void)exec_local_cgroup_kill(s->cg[i]);
}

static void terminate(struct shim *s, const char *why)
{
    if (s->terminating)
        return;
    s->terminating = true;
    logmsg("%s: sending SIGTERM to the process group, SIGKILL in %lld s", why,
           (long long)s->grace_s);
    if (s->pgid > 0)
        (void)kill(-s->pgid, SIGTERM);
    s->kill_at = clock_mono_us() + s->grace_s * 1000000;
}

static void supervise(struct shim *s, const sigset_t *sigs)
{
    int64_t deadline = s->timeout_s > 0 ? clock_mono_us() + s->timeout_s * 1000000 : 0;

    for (;;) {
        struct timespec ts;
        siginfo_t si;
        int64_t now, wake;
        int sig;

        reap(s);
        if (s->ndone == s->nforked)
            return;
        now = clock_mono_us();
        if (deadline && !s->terminating && now >= deadline) {
            s->timed_out = true;
            terminate(s, arena_printf(s->a, "timeout after %lld s", (long long)s->timeout_s));
        }
        if (s->kill_at && now >= s->kill_at) {
            logmsg("grace period over: sending SIGKILL");
            kill_all(s);
            s->kill_at = now + 1000000; /* again each second until everything is gone */
        }
        wake = now + 1000000;
        if (deadline && !s->terminating && deadline < wake)
            wake = deadline;
        if (s->kill_at && s->kill_at < wake)
            wake = s->kill_at;
        if (wake - now < 1000)
            wake = now + 1000;
        ts.tv_sec = (time_t)((wake - now) / 1000000);
        ts.tv_nsec = (long)((wake - now) % 1000000) * 1000;
        sig = sigtimedwait(sigs, &si, &ts);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) {
            if (!s->terminating)
                s->cancelled = true;
            terminate(s, "cancelled");
        }
    }
}

/* Our direct children right now (orphans re-parented to us included). */
static void kill_children(struct shim *s)
{
    char *data = NULL;
    size_t len = 0;
    const char *path = arena_printf(s->a, "/proc/self/task/%d/children", (int)s->self);

    if (exec_local_read(s->a, path, 1 << 20, &data, &len) != ERR_OK)
        return;
    for (char *p = data; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 1)
            (void)kill((pid_t)pid, SIGKILL);
        p = end;
    }
}

/*
 * After the replicas: SIGKILL what is left of the group, the cgroups and our other
 * descendants (a task's daemonised children come to us, the subreaper), and reap it all,
 * so that nothing of the attempt runs once `exit` exists.  (The group id stays reserved
 * while any member lives; only after the last one is reaped could it be recycled, and
 * that would take a full cycle of pids between two lines of this loop.)
 */
static void cleanup_leftovers(struct shim *s)
{
    for (int round = 0; round < LEFTOVER_ROUNDS; round++) {
        int listed = 0;
        pid_t p;
        int st;

        if (s->pgid > 0)
            (void)kill(-s->pgid, SIGKILL);
        for (int i = 0; i < s->ncg; i++)
            listed += exec_local_cgroup_kill(s->cg[i]);
        kill_children(s);
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
            ;
        if (p < 0 && errno == ECHILD && listed == 0)
            return;
        usleep(LEFTOVER_SLEEP_US);
    }
    logmsg("some processes of the attempt could not be killed");
}

/* ---- the outcome ---------------------------------------------------------------------- */

/* The exit record as JSON; reads the cgroup's counters, so call it before removing them. */
static const char *outcome(struct shim *s)
{
    json_object *o = js_own(s->a, json_object_new_object());
    struct rusage ru;
    int64_t peak, oom_kill = -1, failcnt = 0;
    double cpu;
    bool success = false, oom = false, any_sigkill = false;
    int code = -1, sig = 0, who = s->first_failed >= 0 ? s->first_failed : 0;
    const char *reason;

    /* Every descendant was reaped by now, by us or by its own parent: the whole tree. */
    memset(&ru, 0, sizeof(ru));
    (void)getrusage(RUSAGE_CHILDREN, &ru);
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    peak = ru.ru_maxrss;
    if (s->cg_mem) {
        char *data = NULL, *p;
        size_t len = 0;
        peak = read_i64_file(s, arena_printf(s->a, "%s/memory.max_usage_in_bytes", s->cg_mem),
                             peak * 1024) /
               1024;
        failcnt = read_i64_file(s, arena_printf(s->a, "%s/memory.failcnt", s->cg_mem), 0);
        if (exec_local_read(s->a, arena_printf(s->a, "%s/memory.oom_control", s->cg_mem), 4096,
                            &data, &len) == ERR_OK &&
            (p = strstr(data, "oom_kill ")))
            oom_kill = strtoll(p + 9, NULL, 10);
    }
    for (int i = 0; i < s->nforked; i++)
        if (WIFSIGNALED(s->ranks[i].status) && WTERMSIG(s->ranks[i].status) == SIGKILL)
            any_sigkill = true;
    /* oom_kill counts kills in the cgroup; old kernels lack it, and a hit of the limit
     * (failcnt) with a SIGKILL is then the best evidence. */
    oom = oom_kill > 0 || (oom_kill < 0 && failcnt > 0 && any_sigkill);

    if (s->nforked) {
        int st = s->ranks[who].status;
        if (WIFEXITED(st))
            code = WEXITSTATUS(st);
        else if (WIFSIGNALED(st))
            sig = WTERMSIG(st);
    }
    if (s->start_error) {
        code = 127;
        sig = 0;
        reason = arena_printf(s->a, "failed to start: %s", s->start_error);
    } else if (s->cancelled) {
        reason = "cancelled";
    } else if (s->timed_out) {
        reason = arena_printf(s->a, "timeout after %lld s", (long long)s->timeout_s);
    } else if (s->first_failed < 0) {
        success = true;
        reason = "exit 0";
    } else if (oom) {
        reason = "out of memory";
    } else if (sig) {
        reason = arena_printf(s->a, "killed by signal %d", sig);
    } else {
        reason = arena_printf(s->a, "exit %d", code);
    }
    if (!success && !s->start_error && !s->cancelled && !s->timed_out && s->replicas > 1)
        reason = arena_printf(s->a, "%s (rank %d of %d)", reason, who, s->replicas);
    if (oom && !success)
        logmsg("out of memory (limit %lld bytes)", (long long)s->memory_bytes);
    reason = arena_printf(s->a, "%s%s", reason, buf_str(&s->notes));

    json_object_object_add(o, "state", js_new_str(success ? "succeeded" : "failed"));
    json_object_object_add(o, "exit_code", json_object_new_int(sig ? -1 : code));
    json_object_object_add(o, "term_signal", json_object_new_int(sig));
    json_object_object_add(o, "reason", js_new_str(reason));
    json_object_object_add(o, "rank", json_object_new_int(s->first_failed));
    json_object_object_add(o, "started_at", json_object_new_int64(s->started_at));
    json_object_object_add(o, "finished_at", json_object_new_int64(clock_wall_s()));
    json_object_object_add(o, "peak_rss_kb", json_object_new_int64(peak));
    json_object_object_add(o, "cpu_seconds", json_object_new_double(cpu));
    json_object_object_add(o, "cancelled", json_object_new_boolean(s->cancelled));
    json_object_object_add(o, "timed_out", json_object_new_boolean(s->timed_out));
    json_object_object_add(o, "oom", json_object_new_boolean(oom && !success));
    return js_str(o);
}

/* ---- main ------------------------------------------------------------------------------- */

static void run(struct shim *s, const sigset_t *sigs)
{
    const char *problem = load_spec(s), *js;
    char **argv;

    if (problem) {
        s->start_error = problem;
        logmsg("%s", problem);
        goto out;
    }
    if (file_exists(path_in(s, EXEC_LOCAL_CANCEL))) {
        s->cancelled = true;
        logmsg("cancelled before start");
        goto out;
    }
    if (s->isolate) {
        if (access(EXEC_LOCAL_BWRAP, X_OK) == 0)
            s->isolated = true;
        else
            note(s, "not isolated: %s not found", EXEC_LOCAL_BWRAP);
    }
    setup_cgroups(s);
    argv = build_argv(s);
    s->ranks = arena_zalloc(s->a, (size_t)s->replicas * sizeof(*s->ranks));
    for (int i = 0; i < s->replicas && !s->start_error; i++) {
        start_rank(s, i, argv);
        if (i == 0 && s->pgid > 0) {
            const char *line = arena_printf(s->a, "%d\n", (int)s->pgid);
            if (exec_local_write_atomic(s->dir, EXEC_LOCAL_PGID, line, strlen(line)) != ERR_OK)
                logmsg("cannot write %s/%s", s->dir, EXEC_LOCAL_PGID);
        }
    }
    if (s->start_error) {
        logmsg("failed to start: %s", s->start_error);
        kill_all(s);
    }
    supervise(s, sigs);
out:
    cleanup_leftovers(s);
    js = outcome(s);
    /* Last: once exit exists nothing of the attempt runs, writes its log or holds a cgroup. */
    remove_cgroups(s);
    if (exec_local_write_atomic(s->dir, EXEC_LOCAL_EXIT, js, strlen(js)) != ERR_OK)
        logmsg("cannot write %s/%s: %s", s->dir, EXEC_LOCAL_EXIT, strerror(errno));
}

int main(int argc, char **argv)
{
    struct arena a = ARENA_INIT;
    struct shim s;
    sigset_t sigs;
    const char *dir = NULL, *slash;
    int64_t ready = -1;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--ready-fd=", 11)) {
            if (!parse_i64(argv[i] + 11, 0, 1 << 20, &ready))
                ready = -1;
        } else if (!dir) {
            dir = argv[i];
        }
    }
    slash = dir ? strrchr(dir, '/') : NULL;
    if (!dir || dir[0] != '/' || !slash || !exec_name_valid(slash + 1)) {
        fprintf(stderr, "usage: cube-shim [--ready-fd=N] /ABSOLUTE/ATTEMPT/DIR\n");
        return 2;
    }
    /* Cancel and child exits are taken by sigtimedwait; a dead reader of a pipe is an
     * EPIPE, not a death. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGQUIT);
    sigprocmask(SIG_SETMASK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    if (chdir("/") < 0)
        return 1;

    memset(&s, 0, sizeof(s));
    s.a = &a;
    s.dir = dir;
    s.name = slash + 1;
    s.self = getpid();
    s.first_failed = -1;
    buf_init(&s.notes, &a, 4096);

    rc = claim(&s);
    if (ready >= 0) {
        char msg[32];
        int n = rc == 0        ? snprintf(msg, sizeof(msg), "ok\n")
                : rc == EEXIST ? snprintf(msg, sizeof(msg), "dup\n")
                               : snprintf(msg, sizeof(msg), "E %d\n", rc);
        (void)!write((int)ready, msg, (size_t)n);
        close((int)ready);
    }
    if (rc == 0)
        run(&s, &sigs);
    else if (rc != EEXIST)
        logmsg("cannot claim %s: %s", dir, strerror(rc));
    arena_free(&a);
    return rc == 0 || rc == EEXIST ? 0 : 1;
}
