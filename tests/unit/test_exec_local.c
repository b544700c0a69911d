/*
 * test_exec_local.c — the local executor with real processes: outcomes (exit 0, exit 3,
 * a signal, timeout with and without a stubborn process, cancel, out of memory, pids and
 * cpu limits), the exact environment and working directory, replicas, idempotent submit,
 * lost shims, adoption by a new handle and after the launcher's death, log offsets,
 * list and remove, isolation, descriptor hygiene.
 *
 * Needs the shim: $CUBE_SHIM, else ../bin/cube-shim next to this test binary's directory
 * (build/tests -> build/bin, build-san/tests -> build-san/bin), else build/bin/cube-shim
 * or build-san/bin/cube-shim from the current directory.  Without it every test fails
 * saying so.  Expectations come from POSIX shell semantics and the kernel's cgroup rules,
 * not from the executor: e.g. with pids.max = 5 the shell (1 process) can fork exactly 4
 * children; `kill -9 $$` ends the shell by signal 9.  The test process is a child
 * subreaper, so finished shims become its zombies and are reaped in the teardown instead
 * of piling up under a PID 1 that may not reap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/exec.h"
#include "core/log.h"
#include "core/common.h"

static char shim_path[PATH_MAX];

struct fx {
    char root[64];
    struct executor *x;
    struct arena a;
};

struct job {
    struct exec_spec spec;
    const char *argv[4];
};

/* ---- helpers ---------------------------------------------------------------------------- */

static bool find_shim(void)
{
    char exe[PATH_MAX];
    const char *env = getenv("CUBE_SHIM");
    ssize_t n;

    if (env && *env) {
        snprintf(shim_path, sizeof(shim_path), "%s", env);
        return access(shim_path, X_OK) == 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        /* <B>/tests/test_exec_local -> <B>/bin/cube-shim */
        snprintf(shim_path, sizeof(shim_path), "%s/../bin/cube-shim", dirname(dirname(exe)));
        if (access(shim_path, X_OK) == 0)
            return true;
    }
#ifdef __SANITIZE_ADDRESS__
    static const char *const cands[] = {"build-san/bin/cube-shim", "build/bin/cube-shim"};
#else
    static const char *const cands[] = {"build/bin/cube-shim", "build-san/bin/cube-shim"};
#endif
    for (size_t i = 0; i < ARRAY_LEN(cands); i++) {
        snprintf(shim_path, sizeof(shim_path), "%s", cands[i]);
        if (access(shim_path, X_OK) == 0)
            return true;
    }
    return false;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_rf(const char *path)
{
    (void)nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void reap_zombies(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void job_sh(struct job *j, const char *name, const char *script)
{
    memset(j, 0, sizeof(*j));
    j->argv[0] = "sh";
    j->argv[1] = "-c";
    j->argv[2] = script;
    j->spec.name = name;
    j->spec.argv = j->argv;
    j->spec.argc = 3;
}

static void submit(struct fx *f, struct job *j)
{
    enum err e = exec_submit(f->x, &j->spec);
    if (e != ERR_OK)
        fail_msg("exec_submit(%s) = %s", j->spec.name, err_name(e));
}

static struct exec_status status_of(struct fx *f, const char *name)
{
    struct exec_status st;
    enum err e = exec_status(f->x, &f->a, name, &st);
    if (e != ERR_OK)
        fail_msg("exec_status(%s) = %s", name, err_name(e));
    return st;
}

/* Polls until the attempt is no longer running; returns the milliseconds it took. */
static int64_t wait_final(struct fx *f, const char *name, int max_ms, struct exec_status *st)
{
    int64_t t0 = clock_mono_us();

    for (;;) {
        *st = status_of(f, name);
        if (st->state != EXEC_RUNNING)
            return (clock_mono_us() - t0) / 1000;
        if (clock_mono_us() - t0 > (int64_t)max_ms * 1000)
            fail_msg("%s still running after %d ms (%s)", name, max_ms, st->reason);
        usleep(10000);
    }
}

/* Polls until the shim has claimed the attempt and runs. */
static struct exec_status wait_running(struct fx *f, const char *name)
{
    struct exec_status st;
    int64_t t0 = clock_mono_us();

    for (;;) {
        st = status_of(f, name);
        if (st.state == EXEC_RUNNING && st.pid > 0)
            return st;
        if (st.state != EXEC_RUNNING || clock_mono_us() - t0 > 3000000)
            fail_msg("%s not running: state %d, %s", name, (int)st.state, st.reason);
        usleep(5000);
    }
}

static const char *whole_log(struct fx *f, const char *name)
{
    char *all = arena_strdup(&f->a, "");
    int64_t off = 0;

    for (;;) {
        const char *d;
        size_t len;
        int64_t next;
        bool eof;
        assert_int_equal(exec_log(f->x, &f->a, name, off, 4096, &d, &len, &next, &eof), ERR_OK);
        all = arena_printf(&f->a, "%s%s", all, d);
        off = next;
        if (len == 0)
            return all;
    }
}

static const char *att_path(struct fx *f, const char *name, const char *file)
{
    return arena_printf(&f->a, "%s/%s/%s", f->root, name, file);
}

static const char *read_text(struct fx *f, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (exec_local_read(&f->a, path, 1 << 20, &data, &len) != ERR_OK)
        return NULL;
    return data;
}

/* The task's process group; the shim writes it just after claiming, so wait a little. */
static int pgid_of(struct fx *f, const char *name)
{
    const char *t;
    int64_t v = 0, t0 = clock_mono_us();
    char buf[32];

    while (!(t = read_text(f, att_path(f, name, "pgid"))) && clock_mono_us() - t0 < 2000000)
        usleep(5000);
    assert_non_null(t);
    snprintf(buf, sizeof(buf), "%s", t);
    buf[strcspn(buf, "\n")] = '\0';
    assert_true(parse_i64(buf, 2, INT32_MAX, &v));
    return (int)v;
}

static bool group_gone(int pgid)
{
    return kill(-pgid, 0) < 0 && errno == ESRCH;
}

static bool proc_gone(int pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

static int cmp_line(const void *l, const void *r)
{
    return strcmp(*(const char *const *)l, *(const char *const *)r);
}

/* The lines of text sorted and joined again with "\n" (order-free comparisons). */
static const char *sorted_lines(struct fx *f, const char *text)
{
    char *copy = arena_strdup(&f->a, text), *save = NULL, *line;
    const char *v[128];
    size_t n = 0;
    const char *out = "";

    for (line = strtok_r(copy, "\n", &save); line && n < ARRAY_LEN(v);
         line = strtok_r(NULL, "\n", &save))
        v[n++] = line;
    qsort(v, n, sizeof(*v), cmp_line);
    for (size_t i = 0; i < n; i++)
        out = arena_printf(&f->a, "%s%s\n", out, v[i]);
    return out;
}

static bool contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle);
}

/* ---- fixture ---------------------------------------------------------------------------- */

static int setup(void **state)
{
    struct fx *f;

    static int found = -1; /* looked up once, reported by every test */

    if (found < 0)
        found = find_shim();
    if (!found) {
        print_error("cube-shim not found: build it (make build/bin/cube-shim, or SAN=1 "
                    "build-san/bin/cube-shim) or set CUBE_SHIM\n");
        return -1;
    }
    f = xcalloc(1, sizeof(*f));
    /* Not under /tmp: inside bwrap /tmp is a fresh tmpfs, which would make the isolation
     * test's "cannot write next to the attempt" true for the wrong reason. */
    snprintf(f->root, sizeof(f->root), "/var/tmp/cube-exec-XXXXXX");
    if (!mkdtemp(f->root)) {
        snprintf(f->root, sizeof(f->root), "/tmp/cube-exec-XXXXXX");
        if (!mkdtemp(f->root)) {
            free(f);
            return -1;
        }
    }
    f->x = exec_local_open(f->root, shim_path);
    if (!f->x) {
        print_error("exec_local_open(%s, %s) failed\n", f->root, shim_path);
        rm_rf(f->root);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    const char **names = NULL;
    size_t n = 0;

    /* Nothing a test started may outlive it. */
    if (exec_list(f->x, &f->a, &names, &n) == ERR_OK) {
        for (size_t i = 0; i < n; i++) {
            struct exec_status st;
            int64_t t0 = clock_mono_us();
            if (exec_cancel(f->x, names[i]) != ERR_OK)
                print_error("teardown: cancel %s failed\n", names[i]);
            /* (a directory with no shim stays "starting": nothing to wait for) */
            while (exec_status(f->x, &f->a, names[i], &st) == ERR_OK && st.state == EXEC_RUNNING &&
                   st.pid > 0 && clock_mono_us() - t0 < 5000000)
                usleep(10000);
            if (exec_remove(f->x, names[i], false) != ERR_OK && st.pid > 0)
                print_error("teardown: remove %s failed\n", names[i]);
        }
    }
    exec_close(f->x);
    rm_rf(f->root);
    arena_free(&f->a);
    reap_zombies();
    free(f);
    return 0;
}

/* ---- outcomes ------------------------------------------------------------------------- */

static void t_success_log(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    int64_t before = clock_wall_s(), after;

    job_sh(&j, "ok-1", "echo hello; echo oops >&2; exit 0");
    submit(f, &j);
    wait_final(f, "ok-1", 5000, &st);
    after = clock_wall_s();
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    assert_int_equal(st.exit_code, 0);
    assert_int_equal(st.term_signal, 0);
    assert_string_equal(st.reason, "exit 0");
    assert_false(st.cancelled || st.timed_out || st.oom_killed);
    assert_true(st.started_at >= before && st.started_at <= after);
    assert_true(st.finished_at >= st.started_at && st.finished_at <= after);
    assert_true(st.peak_rss_kb > 0);
    /* stdout and stderr share the log, in the order written */
    assert_string_equal(whole_log(f, "ok-1"), "hello\noops\n");
}

static void t_exit_code(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;

    job_sh(&j, "exit-3", "exit 3");
    submit(f, &j);
    wait_final(f, "exit-3", 5000, &st);
    assert_int_equal(st.state, EXEC_FAILED);
    assert_int_equal(st.exit_code, 3);
    assert_int_equal(st.term_signal, 0);
    assert_string_equal(st.reason, "exit 3");
}

static void t_signal(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;

    job_sh(&j, "sig-9", "kill -9 $$; sleep 5");
    submit(f, &j);
    wait_final(f, "sig-9", 5000, &st);
    assert_int_equal(st.state, EXEC_FAILED);
    assert_int_equal(st.exit_code, -1);
    assert_int_equal(st.term_signal, SIGKILL);
    assert_string_equal(st.reason, "killed by signal 9");
    assert_false(st.oom_killed);
}

static void t_start_failure(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    static const char *const argv[] = {"cube-no-such-program-xyz"};

    memset(&j, 0, sizeof(j));
    j.spec.name = "noexec";
    j.spec.argv = argv;
    j.spec.argc = 1;
    submit(f, &j);
    wait_final(f, "noexec", 5000, &st);
    assert_int_equal(st.state, EXEC_FAILED);
    assert_int_equal(st.exit_code, 127);
    assert_string_equal(
        st.reason, "failed to start: exec cube-no-such-program-xyz: No such file or directory");

    job_sh(&j, "nodir", "pwd");
    j.spec.workdir = "/nonexistent-cube-dir";
    submit(f, &j);
    wait_final(f, "nodir", 5000, &st);
    assert_int_equal(st.state, EXEC_FAILED);
    assert_string_equal(st.reason,
                        "failed to start: chdir /nonexistent-cube-dir: No such file or directory");
}

/*
 * Two attempts, timeout 1 s, grace 1 s, each with a grandchild `sleep 100` whose pid it
 * writes to a file: "plain" dies of the SIGTERM at ~1 s, "stubborn" ignores SIGTERM (and
 * so does its sleep, which inherits the ignored disposition) and needs the SIGKILL at ~2 s.
 */
static void t_timeout(void **state)
{
    struct fx *f = *state;
    struct job a, b;
    struct exec_status sa, sb;
    int64_t t0 = clock_mono_us(), ta, tb;
    const char *gca, *gcb;
    int64_t pa = 0, pb = 0;
    char buf[32];

    job_sh(&a, "to-plain", "sh -c 'sleep 100 & echo $! > gc; wait' & sleep 30");
    a.spec.timeout_s = 1;
    a.spec.grace_s = 1;
    job_sh(&b, "to-stubborn", "trap '' TERM; sh -c 'sleep 100 & echo $! > gc; wait' & sleep 30");
    b.spec.timeout_s = 1;
    b.spec.grace_s = 1;
    submit(f, &a);
    submit(f, &b);
    wait_final(f, "to-plain", 5000, &sa);
    ta = (clock_mono_us() - t0) / 1000;
    wait_final(f, "to-stubborn", 5000, &sb);
    tb = (clock_mono_us() - t0) / 1000;

    assert_int_equal(sa.state, EXEC_FAILED);
    assert_true(sa.timed_out);
    assert_string_equal(sa.reason, "timeout after 1 s");
    assert_int_equal(sa.term_signal, SIGTERM);
    assert_true(ta >= 900 && ta < 3500); /* not before the timeout; SIGTERM sufficed */

    assert_int_equal(sb.state, EXEC_FAILED);
    assert_true(sb.timed_out);
    assert_string_equal(sb.reason, "timeout after 1 s");
    assert_int_equal(sb.term_signal, SIGKILL);
    assert_true(tb >= 1900 && tb < 4500); /* the grace was honoured, then SIGKILL */

    /* Nothing of either attempt is left: group, shell, or the grandchild. */
    assert_true(group_gone(pgid_of(f, "to-plain")));
    assert_true(group_gone(pgid_of(f, "to-stubborn")));
    gca = read_text(f, att_path(f, "to-plain", "work/gc"));
    gcb = read_text(f, att_path(f, "to-stubborn", "work/gc"));
    assert_non_null(gca);
    assert_non_null(gcb);
    snprintf(buf, sizeof(buf), "%s", gca);
    buf[strcspn(buf, "\n")] = '\0';
    assert_true(parse_i64(buf, 2, INT32_MAX, &pa));
    snprintf(buf, sizeof(buf), "%s", gcb);
    buf[strcspn(buf, "\n")] = '\0';
    assert_true(parse_i64(buf, 2, INT32_MAX, &pb));
    assert_true(proc_gone((int)pa));
    assert_true(proc_gone((int)pb));
    assert_true(contains(whole_log(f, "to-stubborn"), "cube-shim: grace period over"));
}

static void t_cancel(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st, before;
    int64_t ms;
    int pgid;

    job_sh(&j, "cancel-me", "sleep 30");
    j.spec.grace_s = 1;
    submit(f, &j);
    wait_running(f, "cancel-me");
    pgid = pgid_of(f, "cancel-me");
    assert_false(group_gone(pgid)); /* control: it is there before */
    assert_int_equal(exec_cancel(f->x, "cancel-me"), ERR_OK);
    ms = wait_final(f, "cancel-me", 5000, &st);
    assert_int_equal(st.state, EXEC_FAILED);
    assert_true(st.cancelled);
    assert_false(st.timed_out);
    assert_string_equal(st.reason, "cancelled");
    assert_int_equal(st.term_signal, SIGTERM);
    assert_true(ms < 3000);
    assert_true(group_gone(pgid));

    /* Finished or absent: nothing to do, nothing changes. */
    before = st;
    assert_int_equal(exec_cancel(f->x, "cancel-me"), ERR_OK);
    st = status_of(f, "cancel-me");
    assert_int_equal(st.state, before.state);
    assert_string_equal(st.reason, before.reason);
    assert_int_equal(exec_cancel(f->x, "never-was"), ERR_OK);
    assert_int_equal(exec_cancel(f->x, "Bad_Name"), ERR_BADREQ);
}

/* Cancelled while "starting" (directory there, no shim yet): the task never runs. */
static void t_cancel_before_start(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;

    assert_int_equal(mkdir(arena_printf(&f->a, "%s/early", f->root), 0750), 0);
    st = status_of(f, "early");
    assert_int_equal(st.state, EXEC_RUNNING);
    assert_string_equal(st.reason, "starting");
    assert_int_equal(exec_cancel(f->x, "early"), ERR_OK);
    job_sh(&j, "early", "echo should-not-run");
    submit(f, &j);
    wait_final(f, "early", 5000, &st);
    assert_int_equal(st.state, EXEC_FAILED);
    assert_true(st.cancelled);
    assert_string_equal(st.reason, "cancelled");
    assert_false(contains(whole_log(f, "early"), "should-not-run"));
}

/* tail keeps its whole input when there is no newline: 128 MiB of zeros, 64 MiB limit. */
static void t_memory_limit(void **state)
{
    struct fx *f = *state;
    struct job lim, ctl;
    struct exec_status sl, sc;

    job_sh(&lim, "mem-lim", "head -c 134217728 /dev/zero | tail > /dev/null");
    lim.spec.memory_bytes = 64 << 20;
    job_sh(&ctl, "mem-ctl", "head -c 134217728 /dev/zero | tail > /dev/null");
    submit(f, &lim);
    wait_final(f, "mem-lim", 10000, &sl);
    if (contains(sl.reason, "memory limit not enforced")) {
        print_message("note: no writable memory cgroup here (%s); memory test skipped\n",
                      sl.reason);
        return;
    }
    assert_int_equal(sl.state, EXEC_FAILED);
    assert_true(sl.oom_killed);
    assert_string_equal(sl.reason, "out of memory");
    /* the cgroup's peak cannot pass its limit */
    assert_true(sl.peak_rss_kb > 16 * 1024 && sl.peak_rss_kb <= 64 * 1024);

    /* Control: the same pipeline without a limit succeeds and is measured above 128 MiB. */
    submit(f, &ctl);
    wait_final(f, "mem-ctl", 10000, &sc);
    assert_int_equal(sc.state, EXEC_SUCCEEDED);
    assert_false(sc.oom_killed);
    assert_true(sc.peak_rss_kb >= 128 * 1024);
}

/* pids.max = 5: the shell plus exactly 4 background sleeps; the 5th fork fails. */
static void t_pids_limit(void **state)
{
    struct fx *f = *state;
    struct job lim, ctl;
    struct exec_status sl, sc;
    static const char script[] = "n=0; while [ $n -lt 8 ]; do sleep 20 & n=$((n+1)); echo $n; done";
    const char *log;

    job_sh(&lim, "pids-lim", script);
    lim.spec.max_procs = 5;
    job_sh(&ctl, "pids-ctl", script);
    submit(f, &lim);
    submit(f, &ctl);
    wait_final(f, "pids-lim", 5000, &sl);
    wait_final(f, "pids-ctl", 5000, &sc);
    if (contains(sl.reason, "process limit not enforced")) {
        print_message("note: no writable pids cgroup here (%s); pids test skipped\n", sl.reason);
        return;
    }
    log = whole_log(f, "pids-lim");
    assert_int_equal(sl.state, EXEC_FAILED);
    assert_true(contains(log, "1\n2\n3\n4\n"));
    assert_false(contains(log, "5\n"));
    /* Control: unlimited, all 8 forks; the sleeps left behind are killed, not waited for. */
    assert_int_equal(sc.state, EXEC_SUCCEEDED);
    assert_string_equal(whole_log(f, "pids-ctl"), "1\n2\n3\n4\n5\n6\n7\n8\n");
}

/* Group names: one path component of [A-Za-z0-9_.-], not led by '.' or '-', 1..64 long. */
static void t_cgroup_group_names(void **state)
{
    char longest[EXEC_LOCAL_CGROUP_GROUP_MAX + 2];

    (void)state;
    assert_true(exec_local_cgroup_group_valid("cube"));
    assert_true(exec_local_cgroup_group_valid("cube-18280"));
    assert_true(exec_local_cgroup_group_valid("Cube_2.stack"));
    assert_false(exec_local_cgroup_group_valid(NULL));
    assert_false(exec_local_cgroup_group_valid(""));
    assert_false(exec_local_cgroup_group_valid(".."));
    assert_false(exec_local_cgroup_group_valid(".hidden"));
    assert_false(exec_local_cgroup_group_valid("-x"));
    assert_false(exec_local_cgroup_group_valid("a/b"));
    assert_false(exec_local_cgroup_group_valid("a b"));
    assert_false(exec_local_cgroup_group_valid("a\nb"));
    memset(longest, 'g', sizeof(longest));
    longest[EXEC_LOCAL_CGROUP_GROUP_MAX] = '\0';
    assert_true(exec_local_cgroup_group_valid(longest));
    longest[EXEC_LOCAL_CGROUP_GROUP_MAX] = 'g';
    longest[EXEC_LOCAL_CGROUP_GROUP_MAX + 1] = '\0';
    assert_false(exec_local_cgroup_group_valid(longest));
}

/* What cleanup may act on: <mount>/.../<group>/<name>.<8 lowercase hex>, nothing else. */
static void t_cgroup_paths(void **state)
{
    static const char name[] = "cube-r1-t2-a1";
    static const struct {
        const char *path;
        bool ok;
    } cases[] = {
        {"/sys/fs/cgroup/memory/cube/cube-r1-t2-a1.0123abcd", true},
        {"/sys/fs/cgroup/memory/process_api/x/cube-18280/cube-r1-t2-a1.0123abcd", true},
        {"/sys/fs/cgroup/pids/cube-18280/cube-r1-t2-a1.ffffffff", true},
        {"/sys/fs/cgroup/memory/cube-r1-t2-a1.0123abcd", false},      /* no group */
        {"/sys/fs/cgroup/memory/cube/cube-r1-t2-a2.0123abcd", false}, /* another attempt */
        {"/sys/fs/cgroup/memory/cube/cube-r1-t2-a1.0123abcg", false}, /* not hex */
        {"/sys/fs/cgroup/memory/cube/cube-r1-t2-a1.0123ABCD", false}, /* not lowercase */
        {"/sys/fs/cgroup/memory/cube/cube-r1-t2-a1.0123abc", false},  /* 7 digits */
        {"/sys/fs/cgroup/memory/cube/xcube-r1-t2-a1.0123abcd", false},
        {"/sys/fs/cgroup/memory/.x/cube-r1-t2-a1.0123abcd", false}, /* invalid group */
        {"/sys/fs/cgroup/memory/a b/cube-r1-t2-a1.0123abcd", false},
        {"/sys/fs/cgroup/memory/cube/../cube/cube-r1-t2-a1.0123abcd", false},
        {"/tmp/memory/cube/cube-r1-t2-a1.0123abcd", false},
        {"/sys/fs/cgroup/memory/cube/cube-r1-t2-a1.0123abcd\n", false},
        {"/sys/fs/cgroup/", false},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        if (exec_local_cgroup_ok(cases[i].path, name) != cases[i].ok)
            fail_msg("exec_local_cgroup_ok(%s) should be %s", cases[i].path,
                     cases[i].ok ? "true" : "false");
}

/* A configured group: the attempt's cgroups are made inside it (and it survives them). */
static void t_cgroup_group(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    char group[32], *copy, *save = NULL;
    const char *cgroups;
    int lines = 0;

    snprintf(group, sizeof(group), "cube-unit-%d", (int)getpid());
    assert_false(exec_local_set_cgroup(f->x, "a/b"));
    assert_true(exec_local_set_cgroup(f->x, group));
    assert_false(exec_local_set_cgroup(f->x, "")); /* refused: the group stays */
    job_sh(&j, "grouped", "true");
    j.spec.memory_bytes = 64 << 20;
    j.spec.max_procs = 16;
    submit(f, &j);
    wait_final(f, "grouped", 10000, &st);
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    if (contains(st.reason, "not enforced")) {
        print_message("note: no writable cgroup here (%s); group test skipped\n", st.reason);
        return;
    }
    assert_true(contains(read_text(f, att_path(f, "grouped", "spec.json")),
                         arena_printf(&f->a, "\"cgroup\":\"%s\"", group)));
    cgroups = read_text(f, att_path(f, "grouped", "cgroups"));
    assert_non_null(cgroups);
    copy = arena_strdup(&f->a, cgroups);
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *slash = strrchr(l, '/');
        lines++;
        assert_true(exec_local_cgroup_ok(l, "grouped"));
        assert_non_null(slash);
        *slash = '\0';
        assert_string_equal(strrchr(l, '/') + 1, group);
        /* The leaf is gone with the attempt; the group stays, and is ours to remove. */
        if (rmdir(l) != 0)
            fail_msg("group %s: %s", l, strerror(errno));
    }
    assert_true(lines >= 2); /* memory and pids, whose limits were asked for (cpu when mounted) */
}

/* cfs quota 0.2 core over a 1 s busy loop, next to an unlimited one running alongside. */
static void t_cpu_limit(void **state)
{
    struct fx *f = *state;
    struct job lim, ctl;
    struct exec_status sl, sc;
    static const char script[] = "timeout 1 sh -c 'while :; do :; done'; exit 0";

    job_sh(&lim, "cpu-lim", script);
    lim.spec.cpu = 0.2;
    job_sh(&ctl, "cpu-ctl", script);
    submit(f, &lim);
    submit(f, &ctl);
    wait_final(f, "cpu-lim", 5000, &sl);
    wait_final(f, "cpu-ctl", 5000, &sc);
    if (contains(sl.reason, "cpu limit not enforced")) {
        print_message("note: no writable cpu cgroup here (%s); cpu test skipped\n", sl.reason);
        return;
    }
    assert_int_equal(sl.state, EXEC_SUCCEEDED);
    assert_int_equal(sc.state, EXEC_SUCCEEDED);
    /* The quota is a hard cap whatever the load: 0.2 s per second, plus one period. */
    if (!(sl.cpu_seconds > 0.02 && sl.cpu_seconds < 0.3))
        fail_msg("limited to 0.2 core for 1 s but used %.3f s of cpu", sl.cpu_seconds);
    /* The control shows the loop would use more without it — unless other work on this
     * machine starved it too, which proves nothing either way. */
    if (sc.cpu_seconds <= 0.3)
        print_message("note: busy machine, the unlimited control got only %.3f s of cpu\n",
                      sc.cpu_seconds);
    else
        assert_true(sc.cpu_seconds > sl.cpu_seconds + 0.1);
}

/* ---- what the process sees -------------------------------------------------------------- */

static void t_env_exact(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    static const char *const argv[] = {"env"};
    static const char *const env[] = {
        "A=1", "B=two words", "C=", "D=x=y", "HOME=/nonexistent-home", "PATH=/usr/bin:/bin"};
    struct passwd *pw = getpwuid(getuid());
    const char *want;

    setenv("CUBE_TEST_LEAK", "must-not-pass", 1);
    memset(&j, 0, sizeof(j));
    j.spec.name = "env-exact";
    j.spec.argv = argv;
    j.spec.argc = 1;
    j.spec.env = env;
    j.spec.nenv = ARRAY_LEN(env);
    submit(f, &j);
    wait_final(f, "env-exact", 5000, &st);
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    assert_string_equal(sorted_lines(f, whole_log(f, "env-exact")),
                        "A=1\nB=two words\nC=\nD=x=y\nHOME=/nonexistent-home\n"
                        "PATH=/usr/bin:/bin\n");

    /* Without PATH and HOME: the documented defaults, and nothing else. */
    j.spec.name = "env-dflt";
    j.spec.env = env;
    j.spec.nenv = 1;
    submit(f, &j);
    wait_final(f, "env-dflt", 5000, &st);
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    want = arena_printf(&f->a, "A=1\nHOME=%s\nPATH=%s\n", pw && *pw->pw_dir ? pw->pw_dir : "/",
                        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    assert_string_equal(sorted_lines(f, whole_log(f, "env-dflt")), want);
    unsetenv("CUBE_TEST_LEAK");
}

static void t_workdir(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    char real[PATH_MAX];

    assert_non_null(realpath(f->root, real));
    job_sh(&j, "wd-default", "pwd -P");
    submit(f, &j);
    job_sh(&j, "wd-rel", "pwd -P");
    j.spec.workdir = "a/b";
    submit(f, &j);
    job_sh(&j, "wd-abs", "pwd -P");
    j.spec.workdir = real;
    submit(f, &j);
    wait_final(f, "wd-default", 5000, &st);
    assert_string_equal(whole_log(f, "wd-default"),
                        arena_printf(&f->a, "%s/wd-default/work\n", real));
    wait_final(f, "wd-rel", 5000, &st);
    assert_string_equal(whole_log(f, "wd-rel"), arena_printf(&f->a, "%s/wd-rel/work/a/b\n", real));
    wait_final(f, "wd-abs", 5000, &st);
    assert_string_equal(whole_log(f, "wd-abs"), arena_printf(&f->a, "%s\n", real));
}

/* Descriptors of the caller (a socket, a DB connection) never reach the shim or the task. */
static void t_no_fd_leak(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    const char *marker = arena_printf(&f->a, "%s/leak-marker", f->root);
    int fd = open(marker, O_WRONLY | O_CREAT, 0600); /* deliberately without O_CLOEXEC */
    DIR *d;
    struct dirent *de;
    int shim_fds = 0;

    assert_true(fd >= 0);
    job_sh(&j, "fds", "ls /proc/$$/fd; sleep 1");
    submit(f, &j);
    st = wait_running(f, "fds");
    d = opendir(arena_printf(&f->a, "/proc/%d/fd", st.pid));
    assert_non_null(d);
    while ((de = readdir(d))) {
        char target[PATH_MAX];
        ssize_t n;
        if (de->d_name[0] == '.')
            continue;
        n = readlink(arena_printf(&f->a, "/proc/%d/fd/%s", st.pid, de->d_name), target,
                     sizeof(target) - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        shim_fds++;
        assert_string_not_equal(target, marker);
    }
    closedir(d);
    close(fd);
    assert_true(shim_fds >= 3); /* control: the scan saw the shim's own descriptors */
    wait_final(f, "fds", 5000, &st);
    assert_string_equal(whole_log(f, "fds"), "0\n1\n2\n");
}

static void t_replicas(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    static const char *const env[] = {"MASTER_PORT=12345"};
    const char *log, *want = "";
    int pgid;

    job_sh(&j, "ranks",
           "echo rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE addr=$MASTER_ADDR "
           "port=$MASTER_PORT pg=$(cut -d' ' -f5 /proc/$$/stat)");
    j.spec.replicas = 3;
    submit(f, &j);
    wait_final(f, "ranks", 5000, &st);
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    pgid = pgid_of(f, "ranks");
    for (int r = 0; r < 3; r++)
        want = arena_printf(&f->a, "%srank=%d local=%d world=3 addr=127.0.0.1 port=29500 pg=%d\n",
                            want, r, r, pgid);
    log = whole_log(f, "ranks");
    assert_string_equal(sorted_lines(f, log), want);

    /* One rank fails: the attempt fails with its code; a given MASTER_PORT is kept. */
    job_sh(&j, "ranks-fail", "echo port=$MASTER_PORT; [ \"$RANK\" = 1 ] && exit 3; exit 0");
    j.spec.replicas = 3;
    j.spec.env = env;
    j.spec.nenv = 1;
    submit(f, &j);
    wait_final(f, "ranks-fail", 5000, &st);
    assert_int_equal(st.state, EXEC_FAILED);
    assert_int_equal(st.exit_code, 3);
    assert_string_equal(st.reason, "exit 3 (rank 1 of 3)");
    assert_string_equal(whole_log(f, "ranks-fail"), "port=12345\nport=12345\nport=12345\n");
}

/* ---- identity, adoption, loss ------------------------------------------------------------ */

static void t_submit_twice(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;

    job_sh(&j, "twice", "echo started; sleep 0.5");
    submit(f, &j);
    submit(f, &j);
    st = wait_running(f, "twice");
    submit(f, &j); /* while running: adopted again */
    assert_int_equal(status_of(f, "twice").pid, st.pid);
    wait_final(f, "twice", 5000, &st);
    submit(f, &j); /* after the end: still the same attempt, nothing new runs */
    usleep(200000);
    st = status_of(f, "twice");
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    assert_string_equal(whole_log(f, "twice"), "started\n");

    /* The submitter died between mkdir and the launch: submitting again starts it. */
    assert_int_equal(mkdir(arena_printf(&f->a, "%s/half", f->root), 0750), 0);
    job_sh(&j, "half", "echo recovered");
    submit(f, &j);
    wait_final(f, "half", 5000, &st);
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    assert_string_equal(whole_log(f, "half"), "recovered\n");
}

static void t_bad_spec(void **state)
{
    struct fx *f = *state;
    static const char *const bad_names[] = {
        "",        "-lead",
        "Upper",   "under_score",
        "dot.ted", "sl/ash",
        "sp ace",  "a123456789012345678901234567890123456789012345678901234567890123" /* 64 */};
    static const char *const bad_env[] = {"NOEQUALS"};
    static const char *const bad_env2[] = {"=v"};
    struct job j;
    struct exec_status st;

    for (size_t i = 0; i < ARRAY_LEN(bad_names); i++) {
        job_sh(&j, bad_names[i], "true");
        if (exec_submit(f->x, &j.spec) != ERR_BADREQ)
            fail_msg("name \"%s\" was accepted", bad_names[i]);
    }
    job_sh(&j, "bad-env", "true");
    j.spec.env = bad_env;
    j.spec.nenv = 1;
    assert_int_equal(exec_submit(f->x, &j.spec), ERR_BADREQ);
    j.spec.env = bad_env2;
    assert_int_equal(exec_submit(f->x, &j.spec), ERR_BADREQ);
    job_sh(&j, "bad-wd", "true");
    j.spec.workdir = "a/../../etc";
    assert_int_equal(exec_submit(f->x, &j.spec), ERR_BADREQ);
    job_sh(&j, "bad-lim", "true");
    j.spec.timeout_s = -1;
    assert_int_equal(exec_submit(f->x, &j.spec), ERR_BADREQ);
    job_sh(&j, "bad-rep", "true");
    j.spec.replicas = EXEC_MAX_REPLICAS + 1;
    assert_int_equal(exec_submit(f->x, &j.spec), ERR_BADREQ);
    job_sh(&j, "bad-argv", "true");
    j.spec.argc = 0;
    assert_int_equal(exec_submit(f->x, &j.spec), ERR_BADREQ);
    /* none of them left a directory */
    assert_int_equal(status_of(f, "bad-env").state, EXEC_ABSENT);
    assert_int_equal(status_of(f, "bad-wd").state, EXEC_ABSENT);

    /* Control: 63 characters, digits and dashes are fine. */
    job_sh(&j, "a12345678901234567890123456789012345678901234567890123456789-12", "true");
    submit(f, &j);
    wait_final(f, j.spec.name, 5000, &st);
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    assert_int_equal(exec_status(f->x, &f->a, "Bad", &st), ERR_BADREQ);
}

/* The shim and its task group are SIGKILLed: no exit file, so the attempt is lost. */
static void t_lost(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    const char *cgroups;
    int pgid;

    job_sh(&j, "vanish", "sleep 30");
    submit(f, &j);
    st = wait_running(f, "vanish");
    pgid = pgid_of(f, "vanish");
    assert_int_equal(kill(st.pid, SIGKILL), 0);
    assert_int_equal(kill(-pgid, SIGKILL), 0);
    wait_final(f, "vanish", 3000, &st);
    assert_int_equal(st.state, EXEC_LOST);
    assert_string_equal(st.reason, "lost: process vanished");
    assert_true(st.pid > 0);
    assert_null(read_text(f, att_path(f, "vanish", "exit")));

    /* Removing it also removes the cgroups the dead shim left behind (once its killed
     * task, re-parented to us, is reaped). */
    reap_zombies();
    cgroups = read_text(f, att_path(f, "vanish", "cgroups"));
    assert_int_equal(exec_remove(f->x, "vanish", false), ERR_OK);
    if (cgroups) {
        char *copy = arena_strdup(&f->a, cgroups), *save = NULL;
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            struct stat sb;
            if (stat(l, &sb) == 0)
                fail_msg("cgroup %s was not removed", l);
        }
    }
    assert_int_equal(status_of(f, "vanish").state, EXEC_ABSENT);
}

/* A directory whose shim never came: "starting" for a while, then lost. */
static void t_never_started(void **state)
{
    struct fx *f = *state;
    struct exec_status st;
    const char *dir = arena_printf(&f->a, "%s/stuck", f->root);
    struct timeval old[2];

    assert_int_equal(mkdir(dir, 0750), 0);
    st = status_of(f, "stuck");
    assert_int_equal(st.state, EXEC_RUNNING);
    assert_string_equal(st.reason, "starting");
    gettimeofday(&old[0], NULL);
    old[0].tv_sec -= EXEC_LOCAL_START_GRACE_S + 5;
    old[1] = old[0];
    assert_int_equal(utimes(dir, old), 0);
    st = status_of(f, "stuck");
    assert_int_equal(st.state, EXEC_LOST);
    assert_int_equal(status_of(f, "nothing-here").state, EXEC_ABSENT);
}

static void t_adoption(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    struct executor *y;
    pid_t child;
    int ws = 0;

    /* A restarted watcher: a fresh handle on the same root sees the attempt, then its end. */
    job_sh(&j, "adopt", "sleep 0.7; echo done");
    submit(f, &j);
    exec_close(f->x);
    f->x = NULL;
    y = exec_local_open(f->root, shim_path);
    assert_non_null(y);
    f->x = y;
    st = status_of(f, "adopt");
    assert_int_equal(st.state, EXEC_RUNNING);
    wait_final(f, "adopt", 5000, &st);
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    assert_string_equal(whole_log(f, "adopt"), "done\n");

    /* The launching process is SIGKILLed right after submitting: the task carries on. */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct executor *z = exec_local_open(f->root, shim_path);
        struct job k;
        job_sh(&k, "orphan", "sleep 0.7; echo survived");
        if (!z || exec_submit(z, &k.spec) != ERR_OK)
            _exit(1);
        raise(SIGKILL);
        _exit(2);
    }
    assert_int_equal(waitpid(child, &ws, 0), child);
    assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
    st = status_of(f, "orphan");
    assert_int_equal(st.state, EXEC_RUNNING);
    wait_final(f, "orphan", 5000, &st);
    assert_int_equal(st.state, EXEC_SUCCEEDED);
    assert_string_equal(whole_log(f, "orphan"), "survived\n");
}

/* ---- log, list, remove -------------------------------------------------------------------- */

static void t_log_offsets(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    const char *d;
    size_t len;
    int64_t next;
    bool eof;
    const char *path;
    int64_t t0;

    job_sh(&j, "chunks", "printf abc; sleep 0.6; printf 'defghij0123456789'");
    submit(f, &j);
    /* While running: what is there so far, never eof. */
    t0 = clock_mono_us();
    do {
        assert_int_equal(exec_log(f->x, &f->a, "chunks", 0, 100, &d, &len, &next, &eof), ERR_OK);
        assert_false(eof);
        if (clock_mono_us() - t0 > 3000000)
            fail_msg("no output after 3 s");
        usleep(5000);
    } while (len == 0);
    assert_string_equal(d, "abc");
    assert_int_equal(next, 3);
    wait_final(f, "chunks", 5000, &st);

    assert_int_equal(exec_log(f->x, &f->a, "chunks", 0, 7, &d, &len, &next, &eof), ERR_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(d, "abcdefg", 7);
    assert_int_equal(next, 7);
    assert_false(eof);
    assert_int_equal(exec_log(f->x, &f->a, "chunks", 7, 7, &d, &len, &next, &eof), ERR_OK);
    assert_string_equal(d, "hij0123");
    assert_int_equal(next, 14);
    assert_false(eof);
    assert_int_equal(exec_log(f->x, &f->a, "chunks", 14, 100, &d, &len, &next, &eof), ERR_OK);
    assert_string_equal(d, "456789");
    assert_int_equal(next, 20);
    assert_true(eof);
    assert_int_equal(exec_log(f->x, &f->a, "chunks", 20, 100, &d, &len, &next, &eof), ERR_OK);
    assert_int_equal(len, 0);
    assert_int_equal(next, 20);
    assert_true(eof);
    assert_int_equal(exec_log(f->x, &f->a, "chunks", 500, 10, &d, &len, &next, &eof), ERR_OK);
    assert_int_equal(len, 0);
    assert_true(eof);
    assert_int_equal(exec_log(f->x, &f->a, "chunks", -1, 10, &d, &len, &next, &eof), ERR_BADREQ);
    assert_int_equal(exec_log(f->x, &f->a, "absent", 0, 10, &d, &len, &next, &eof), ERR_NOT_FOUND);

    path = exec_log_path(f->x, &f->a, "chunks");
    assert_non_null(path);
    assert_string_equal(path, arena_printf(&f->a, "%s/chunks/log", f->root));
    assert_string_equal(read_text(f, path), "abcdefghij0123456789");
    assert_null(exec_log_path(f->x, &f->a, "../etc"));
}

static void t_list_remove(void **state)
{
    struct fx *f = *state;
    struct job j;
    struct exec_status st;
    const char **names = NULL;
    size_t n = 0;
    FILE *fp;

    /* Things in the root that are not attempts are not listed. */
    fp = fopen(arena_printf(&f->a, "%s/README", f->root), "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(mkdir(arena_printf(&f->a, "%s/Not_An_Attempt", f->root), 0750), 0);

    job_sh(&j, "b-two", "echo two; mkdir -p out/deep; echo x > out/deep/file");
    submit(f, &j);
    job_sh(&j, "a-one", "echo one");
    submit(f, &j);
    job_sh(&j, "c-three", "sleep 30");
    submit(f, &j);
    assert_int_equal(exec_list(f->x, &f->a, &names, &n), ERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "a-one");
    assert_string_equal(names[1], "b-two");
    assert_string_equal(names[2], "c-three");

    wait_final(f, "a-one", 5000, &st);
    wait_final(f, "b-two", 5000, &st);
    wait_running(f, "c-three");
    assert_int_equal(exec_remove(f->x, "c-three", true), ERR_CONFLICT);
    assert_int_equal(exec_remove(f->x, "no-such", true), ERR_OK);

    /* keep_log: log (and the outcome) stay, the rest goes. */
    assert_non_null(read_text(f, att_path(f, "b-two", "work/out/deep/file")));
    assert_int_equal(exec_remove(f->x, "b-two", true), ERR_OK);
    assert_null(read_text(f, att_path(f, "b-two", "work/out/deep/file")));
    assert_null(read_text(f, att_path(f, "b-two", "spec.json")));
    assert_null(read_text(f, att_path(f, "b-two", "pid")));
    assert_string_equal(read_text(f, att_path(f, "b-two", "log")), "two\n");
    assert_string_equal(whole_log(f, "b-two"), "two\n");
    st = status_of(f, "b-two");
    assert_int_equal(st.state, EXEC_SUCCEEDED);

    /* Without: the directory is gone. */
    assert_int_equal(exec_remove(f->x, "a-one", false), ERR_OK);
    assert_int_equal(status_of(f, "a-one").state, EXEC_ABSENT);
    assert_int_equal(exec_list(f->x, &f->a, &names, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "b-two");
    assert_string_equal(names[1], "c-three");
}

/*
 * With bwrap: / is read-only (a file next to the attempt cannot be written), /tmp is
 * empty, work/ is writable.  The unisolated control can write beside it.  Without bwrap:
 * the reason says the task ran unisolated.
 */
static void t_isolation(void **state)
{
    struct fx *f = *state;
    struct job iso, ctl;
    struct exec_status si, sc;
    const char *script =
        arena_printf(&f->a,
                     "if touch %s/outside 2>/dev/null; then echo rw; else echo ro; "
                     "fi; ls -A /tmp | wc -l; echo x > inside",
                     f->root);

    job_sh(&iso, "iso", script);
    iso.spec.isolate = true;
    job_sh(&ctl, "iso-ctl", script);
    submit(f, &iso);
    wait_final(f, "iso", 5000, &si);
    assert_int_equal(si.state, EXEC_SUCCEEDED);
    assert_non_null(read_text(f, att_path(f, "iso", "work/inside")));
    if (access(EXEC_LOCAL_BWRAP, X_OK) == 0) {
        assert_string_equal(si.reason, "exit 0");
        assert_string_equal(whole_log(f, "iso"), "ro\n0\n");
        assert_null(read_text(f, arena_printf(&f->a, "%s/outside", f->root)));
    } else {
        print_message("note: %s missing; checking the unisolated fallback\n", EXEC_LOCAL_BWRAP);
        assert_string_equal(si.reason, "exit 0; not isolated: /usr/bin/bwrap not found");
    }
    submit(f, &ctl);
    wait_final(f, "iso-ctl", 5000, &sc);
    assert_int_equal(sc.state, EXEC_SUCCEEDED);
    assert_true(contains(whole_log(f, "iso-ctl"), "rw\n"));
    assert_non_null(read_text(f, arena_printf(&f->a, "%s/outside", f->root)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_success_log, setup, teardown),
        cmocka_unit_test_setup_teardown(t_exit_code, setup, teardown),
        cmocka_unit_test_setup_teardown(t_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(t_start_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(t_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(t_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(t_cancel_before_start, setup, teardown),
        cmocka_unit_test_setup_teardown(t_memory_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(t_pids_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(t_cpu_limit, setup, teardown),
        cmocka_unit_test(t_cgroup_group_names),
        cmocka_unit_test(t_cgroup_paths),
        cmocka_unit_test_setup_teardown(t_cgroup_group, setup, teardown),
        cmocka_unit_test_setup_teardown(t_env_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(t_workdir, setup, teardown),
        cmocka_unit_test_setup_teardown(t_no_fd_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(t_replicas, setup, teardown),
        cmocka_unit_test_setup_teardown(t_submit_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(t_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(t_never_started, setup, teardown),
        cmocka_unit_test_setup_teardown(t_adoption, setup, teardown),
        cmocka_unit_test_setup_teardown(t_log_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(t_list_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(t_isolation, setup, teardown),
    };

    /* t_bad_spec's refusals are logged as warnings: expected, and noise here. */
    log_level = LOGL_ERROR;
    /* Finished shims are re-parented to us, not to a PID 1 that may never reap them. */
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
