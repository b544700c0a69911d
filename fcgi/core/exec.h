/*
 * exec.h — executors: where a task attempt runs.  Engine-neutral interface,
 * plus the local engine (exec_local.c with its per-attempt program
 * bin/cube-shim.c), the default, which runs each attempt on this machine.
 *
 * Executors never touch the database.  The scheduler commits "submitting" and
 * the attempt's deterministic name first (scheduling.md §3.4, invariant 4),
 * then calls exec_submit; the watcher asks exec_status for every non-terminal
 * attempt on each loop (invariant 5) and decides retries and timeouts from the
 * database clock (invariants 7, 8).  Everything an executor knows is
 * addressable by that name, so a restarted scheduler or watcher re-attaches
 * by calling the same functions on a fresh handle: there is no registry to
 * rebuild and nothing held in memory.
 *
 * THE LOCAL ENGINE
 *
 * State lives in files, one directory per attempt, <root>/<name>/:
 *   spec.json  what to run (argv, env, limits), written by exec_submit (tmp + rename)
 *   pid        "PID STARTTIME STARTED_AT\n" of the shim; created with link(2), so
 *              exactly one shim ever owns an attempt; STARTTIME is field 22 of
 *              /proc/PID/stat, which tells our shim from a later process that
 *              got the same pid
 *   pgid       the task's process group (rank 0's pid), for operators
 *   cgroups    the cgroup v1 directories the shim made, one a line
 *   log        stdout and stderr of every replica, O_APPEND; the shim adds lines
 *              starting "cube-shim: " for timeouts, cancels, OOM and start failures
 *   cancel     marker left by exec_cancel (closes the race with a starting shim)
 *   exit       the outcome as JSON (tmp + rename, fsynced): state, exit_code,
 *              term_signal, reason, started_at, finished_at, peak_rss_kb,
 *              cpu_seconds, cancelled, timed_out, oom
 *   work/      the task's default working directory.  The shim's own files are
 *              one level up so that a task writing "log" or "exit" in its working
 *              directory cannot collide with them.
 *
 * Submit = mkdir (EEXIST means adopt) + spec.json + a double fork: the caller
 * forks a child that calls setsid() and forks again; the grandchild execs
 *   cube-shim --ready-fd=3 <root>/<name>
 * with stdin /dev/null, stdout and stderr appended to <name>/log, fd 3 the
 * write end of a pipe, every other descriptor closed, every signal disposition
 * reset to the default, and every signal blocked (the shim picks its own mask).
 * The child exits at once and is reaped, so the caller never keeps a zombie and
 * the shim belongs to no process group or session of the caller: killing or
 * restarting the scheduler does not touch the task (invariant 10).  The shim
 * writes "ok" to fd 3 once its pid file exists; exec_submit waits for that or
 * 500 ms, whichever comes first.
 *
 * The shim (bin/cube-shim.c) makes memory, cpu and pids cgroups v1 named
 * <group>/<name>.<first 8 hex digits of sha256(attempt dir)> under its own
 * cgroup of each controller when that is writable (nested, so limits of a
 * surrounding container still apply; the hash keeps two executor roots on one
 * host, e.g. a test stack beside the real one, from sharing a cgroup).  The
 * group is "cube" unless exec_local_set_cgroup names another (CUBE_CGROUP);
 * it travels in spec.json.  Running as root the shim creates the group itself;
 * any other user needs it made and handed over beforehand (deploy/stack.sh
 * does that for user cube, one group per stack: cube-<CUBE_PORT>), or mkdir
 * fails and the limits are not enforced (and the reason says so).  It forks the
 * replicas into one new process group (each joins the cgroups, gets
 * PR_SET_PDEATHSIG = SIGKILL, chdirs and execs with a PATH search, or execs
 * bwrap when isolated), and waits in sigtimedwait() for SIGCHLD, SIGTERM
 * (cancel) and its deadlines.  It is a child subreaper: when the replicas have
 * exited it SIGKILLs whatever is left of the process group, the cgroups and
 * its other descendants (daemonised grandchildren included) and reaps them,
 * then measures, removes the cgroups and writes `exit`.  So when exec_status
 * reports a terminal state, nothing of the attempt runs any more.
 *
 * Status, cheapest evidence first (scheduling.md §3.7): `exit` → SUCCEEDED or
 * FAILED; `pid` and /proc/PID alive (not a zombie) with the same starttime →
 * RUNNING; no `pid` yet and spec.json (or, before it exists, the directory)
 * younger than EXEC_LOCAL_START_GRACE_S → RUNNING ("starting"); otherwise LOST
 * ("lost: process vanished").  `exit` is read again after a dead pid, since the
 * shim may have finished between the two reads.  No process is spawned: a
 * stat and two or three small reads.
 *
 * Isolation: with isolate and /usr/bin/bwrap present the replica runs under
 *   bwrap --unshare-all --die-with-parent --ro-bind / / --proc /proc --dev /dev
 *         --tmpfs /tmp --bind <dir>/work <dir>/work --chdir <workdir> -- argv...
 * (--tmpfs /tmp comes before the bind, or an attempt directory under /tmp would
 * be hidden; only work/ is writable, so the task cannot rewrite pid or exit;
 * an absolute workdir outside work/ is read-only).  With more than one replica,
 * --share-net is added so the ranks can meet on 127.0.0.1.  Without bwrap the
 * task runs unisolated and the reason says so ("exit 0; not isolated: ...").
 * A limit that cannot be enforced (no writable cgroup) is also named in the
 * reason.  Under bwrap each replica is three processes (bwrap, its pid-1 and
 * the task), so pids.max is raised by 2 per replica.
 *
 * Host requirements: cgroup v1 for limits (cgroup v2 controllers are not used
 * yet); PID 1 (or a subreaper above the caller) must reap orphans, or every
 * finished shim stays a zombie (harmless to status, which ignores zombies).
 */
#ifndef CUBE_EXEC_H
#define CUBE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/err.h"
#include "core/attr.h"

struct exec_spec {
    const char *name; /* deterministic attempt name, ^[a-z0-9][a-z0-9-]{0,62}$ */
    const char *const *argv;
    size_t argc;
    const char *const *env; /* "K=V"; the process gets exactly these, plus */
    size_t nenv;            /* PATH and HOME defaults when missing (see below) */
    const char *workdir;    /* "" or NULL: <dir>/work; relative: under it (no ".."); absolute */
    int64_t timeout_s;      /* 0 = none; then SIGTERM the group, grace_s, SIGKILL */
    int64_t grace_s;        /* 0 = EXEC_DEFAULT_GRACE_S; also used by cancel */
    double cpu;             /* cores (cpu.cfs_quota_us), 0 = unlimited */
    int64_t memory_bytes;   /* memory.limit_in_bytes (+ memsw when present), 0 = unlimited */
    int64_t max_procs;      /* pids.max; 0 = unlimited (RLIMIT_NPROC is per user: not used) */
    bool isolate;           /* bwrap when available, see above */
    int replicas;           /* 0/1: one process; N: RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR
                             * (127.0.0.1 unless given) and MASTER_PORT (29500 unless given)
                             * for each, one process group; success iff all exit 0, else the
                             * first rank to fail (in time) gives the code */
    /* For the remote engines (engine.h); the local engine runs on the host and ignores them. */
    const char *image;         /* container image, "" = the engine's default */
    double gpus;               /* per replica: Slurm gres, Kubernetes nvidia.com/gpu */
    const char *gpu_type;      /* "" or a model: the gres type, or a node label value */
    const char *const *mounts; /* cube-studio syntax "name(pvc|hostpath|memory|configmap):/path" */
    size_t nmounts;
    const char *const *selector; /* "key=value" node selectors */
    size_t nselector;
    const char *queue; /* partition or namespace override, "" = the cluster's */
};

#define EXEC_DEFAULT_GRACE_S 10
#define EXEC_MAX_REPLICAS 256
#define EXEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* HOME, when missing, is the passwd home of the uid the shim runs as ("/" if none). */

enum exec_state { EXEC_ABSENT, EXEC_RUNNING, EXEC_SUCCEEDED, EXEC_FAILED, EXEC_LOST };

struct exec_status {
    enum exec_state state;
    int exit_code;                   /* 0-255, or -1 when killed by a signal (or never started) */
    int term_signal;                 /* the signal that ended it, 0 if none */
    const char *reason;              /* "running", "starting", "exit 3", "killed by signal 9",
                                      * "timeout after 5 s", "out of memory", "cancelled",
                                      * "lost: process vanished", "failed to start: ..."; a
                                      * "; not isolated: ..." or "; ... not enforced: ..." note
                                      * may follow.  In the arena given to exec_status. */
    int64_t started_at, finished_at; /* Unix seconds (0 if unknown) */
    int64_t peak_rss_kb; /* cgroup memory.max_usage_in_bytes, else children's ru_maxrss */
    double cpu_seconds;  /* user + system of the whole process tree */
    int pid;             /* the shim's pid while running (and of a lost one); else 0 */
    bool cancelled, timed_out, oom_killed; /* for the watcher: no parsing of reason */
};

struct executor; /* opaque */

/* Creates root (mode 0750, with parents) if missing.  NULL, logged, if root cannot be made
 * or shim_path is not executable.  The handle holds no state beyond the two paths and the
 * cgroup group. */
struct executor *exec_local_open(const char *root, const char *shim_path);
void exec_close(struct executor *x);
/* The group under which the shims of later submits make their cgroups (default
 * EXEC_LOCAL_CGROUP_GROUP).  False, and nothing changes, for a name that is not valid. */
bool exec_local_set_cgroup(struct executor *x, const char *group) WARN_UNUSED;
/* A group name: one path component of letters, digits, '_', '.' and '-', not starting with
 * '.' or '-', at most EXEC_LOCAL_CGROUP_GROUP_MAX characters. */
bool exec_local_cgroup_group_valid(const char *group);
/* The local executor as configured: CUBE_EXEC_DIR, CUBE_SHIM or else cube-shim next to the
 * running program, and CUBE_CGROUP.  NULL, with the reason logged, when it cannot be opened
 * (or CUBE_CGROUP is not a valid group name). */
struct executor *exec_local_open_configured(void);

/*
 * Starts the attempt.  Idempotent: when <name>/ exists already the attempt is adopted
 * (ERR_OK, nothing new runs) — unless no shim ever claimed it (no pid and no exit file,
 * e.g. the previous submitter died between mkdir and fork), in which case the shim is
 * launched again; a second shim for the same attempt exits without doing anything, so
 * concurrent submits are safe too.  The spec of an adopted attempt is not compared.
 * ERR_BADREQ for an invalid spec, ERR_INTERNAL (logged) when the shim could not start.
 */
enum err exec_submit(struct executor *x, const struct exec_spec *spec) WARN_UNUSED;
/* ERR_OK with EXEC_ABSENT when there is no such attempt; ERR_BADREQ for an invalid name. */
enum err exec_status(struct executor *x, struct arena *a, const char *name,
                     struct exec_status *st) WARN_UNUSED;
/*
 * Leaves the `cancel` marker and sends SIGTERM to the shim, which sends SIGTERM to the
 * process group, SIGKILL after grace, and records "cancelled".  Returns at once: poll
 * exec_status.  ERR_OK if absent or finished.  For a LOST attempt, SIGKILLs whatever is
 * left in its cgroups.
 */
enum err exec_cancel(struct executor *x, const char *name) WARN_UNUSED;
/* Up to max bytes of the log from offset (arena copy, NUL-terminated); *next = offset + len;
 * *eof when the attempt has finished and nothing is left after *next.  ERR_NOT_FOUND when
 * the attempt does not exist. */
enum err exec_log(struct executor *x, struct arena *a, const char *name, int64_t offset, size_t max,
                  const char **data, size_t *len, int64_t *next, bool *eof) WARN_UNUSED;
/* Path of the whole log file (for download); NULL for an invalid name. */
const char *exec_log_path(struct executor *x, struct arena *a, const char *name);
/* Deletes a finished (or lost) attempt: with keep_log, everything but `log` and `exit`
 * (so exec_status and exec_log keep answering), else the whole directory.  Also removes
 * cgroups a lost shim left behind.  ERR_OK if absent, ERR_CONFLICT while running. */
enum err exec_remove(struct executor *x, const char *name, bool keep_log) WARN_UNUSED;
/* Names of all attempts present, sorted (for adoption after a restart); in the arena. */
enum err exec_list(struct executor *x, struct arena *a, const char ***names, size_t *n) WARN_UNUSED;

/*
 * Local engine internals shared with bin/cube-shim.c: the attempt directory's file
 * names and a few file helpers.  Not for other callers.
 */
#define EXEC_LOCAL_START_GRACE_S 10 /* a dir without pid file is "starting" this long */
#define EXEC_LOCAL_SPEC "spec.json"
#define EXEC_LOCAL_PID "pid"
#define EXEC_LOCAL_PGID "pgid"
#define EXEC_LOCAL_CGROUPS "cgroups"
#define EXEC_LOCAL_LOG "log"
#define EXEC_LOCAL_CANCEL "cancel"
#define EXEC_LOCAL_EXIT "exit"
#define EXEC_LOCAL_WORK "work"
#define EXEC_LOCAL_SPEC_MAX (4 << 20)
#define EXEC_LOCAL_CGROUP_ROOT "/sys/fs/cgroup/"
#define EXEC_LOCAL_CGROUP_GROUP "cube"
#define EXEC_LOCAL_CGROUP_GROUP_MAX 64
#define EXEC_LOCAL_BWRAP "/usr/bin/bwrap"

bool exec_name_valid(const char *name);
/* mkdir -p; existing directories are fine. */
enum err exec_local_mkdir_p(const char *path, unsigned int mode) WARN_UNUSED;
/* Writes data to dir/name through a temporary file, fsync and rename (and fsyncs dir). */
enum err exec_local_write_atomic(const char *dir, const char *name, const char *data,
                                 size_t len) WARN_UNUSED;
/* Whole file into the arena, NUL-terminated; ERR_NOT_FOUND if missing, ERR_TOOBIG past max. */
enum err exec_local_read(struct arena *a, const char *path, size_t max, char **data,
                         size_t *len) WARN_UNUSED;
/* Up to max bytes of path from offset into the arena, NUL-terminated; *size is the file's size
 * when it was read (a log still being written may be longer by now).  ERR_NOT_FOUND if missing. */
enum err exec_local_read_at(struct arena *a, const char *path, int64_t offset, size_t max,
                            char **data, size_t *len, int64_t *size) WARN_UNUSED;
/* Field 22 of /proc/<pid>/stat, and whether the process is a zombie (or dead: false). */
bool exec_local_proc_start(int pid, unsigned long long *starttime, bool *zombie) WARN_UNUSED;
/* True when path is a cgroup directory of this attempt: under EXEC_LOCAL_CGROUP_ROOT, no
 * "..", ending in "/<group>/<name>.<8 hex>" for any valid group (a task may have rewritten
 * the cgroups file; a group configured at the time may differ from today's). */
bool exec_local_cgroup_ok(const char *path, const char *name);
/* SIGKILLs every process listed in <cgdir>/cgroup.procs; returns how many were listed. */
int exec_local_cgroup_kill(const char *cgdir);

#endif
