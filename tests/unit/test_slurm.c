/*
 * test_slurm.c — the pure parts of the Slurm executor (core/slurm.c): the submit request
 * built from an exec_spec (fields, rounding, the batch script, which is run here by bash
 * with a fake srun and scontrol), the mapping of job records to exec_status, raw wait(2)
 * status decoding, the classification of slurmrestd's answers, token minting and
 * slurm_open's checks; and which requests slurm_submit makes, against a fake slurmrestd on
 * 127.0.0.1 (a thread here) that counts them.  No cluster: tests/engines/test_slurm.sh
 * drives a real one.
 *
 * The job records and error answers below were recorded from slurmrestd 22.05.8
 * (openapi/v0.0.38) on the cluster deploy/slurm.sh starts, trimmed to the fields the
 * executor reads (a record has about 110) and with the shared directory renamed /shared.
 * Expected values come from the wait(2) encoding (cross-checked with <sys/wait.h>), from
 * the spec's rules in slurm.h worked by hand, and from RFC 7519/4648 for the token.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jwt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/js.h"
#include "core/sha256.h"
#include "core/slurm.h"
#include "core/common.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static json_object *parse(struct arena *a, const char *text)
{
    const char *err = NULL;
    json_object *o = js_parse(a, text, strlen(text), &err);
    if (!o)
        fail_msg("fixture is not JSON: %s", err);
    return o;
}

static json_object *jobrec(json_object *req)
{
    json_object *job = js_get(req, "job");
    assert_non_null(job);
    return job;
}

static int64_t i64(json_object *o, const char *key)
{
    json_object *v = js_get(o, key);
    if (!v)
        fail_msg("no key %s", key);
    return json_object_get_int64(v);
}

static void spec_init(struct exec_spec *s, const char *name, const char *const *argv, size_t argc)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->argv = argv;
    s->argc = argc;
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

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static char *read_file(struct arena *a, const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = arena_zalloc(a, 65536);
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, 65535, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ---- the submit request ------------------------------------------------------------------- */

static void t_request_basic(void **state)
{
    struct arena a = ARENA_INIT;
    static const char *const argv[] = {"python3", "train.py"};
    static const char *const env[] = {"FOO=bar", "EMPTY=", "EQ=a=b"};
    struct exec_spec s;
    const char *problem = NULL;
    json_object *req, *job, *e;

    (void)state;
    spec_init(&s, "cube-r1-t2-a1", argv, 2);
    s.env = env;
    s.nenv = 3;
    req = slurm_job_request(&a, "/shared", "batch", &s, &problem);
    assert_null(problem);
    assert_non_null(req);
    assert_non_null(js_get_str(req, "script"));
    job = jobrec(req);
    assert_string_equal(js_get_str(job, "name"), "cube-r1-t2-a1");
    assert_string_equal(js_get_str(job, "partition"), "batch");
    assert_string_equal(js_get_str(job, "current_working_directory"), "/shared/cube-r1-t2-a1/work");
    assert_string_equal(js_get_str(job, "standard_output"), "/shared/cube-r1-t2-a1/log");
    /* stdout and stderr into one file: no standard_error at all. */
    assert_null(js_get(job, "standard_error"));
    assert_true(json_object_get_boolean(js_get(job, "no_requeue")));
    assert_null(js_get(job, "requeue"));
    assert_int_equal(i64(job, "tasks"), 1);
    assert_null(js_get(job, "nodes"));
    assert_null(js_get(job, "tasks_per_node"));
    /* Nothing asked, nothing sent: the cluster's defaults apply. */
    assert_null(js_get(job, "cpus_per_task"));
    assert_null(js_get(job, "memory_per_node"));
    assert_null(js_get(job, "time_limit"));
    assert_null(js_get(job, "gres"));
    /* The environment is exactly the spec's, split at the first '=', plus PATH. */
    e = js_get(job, "environment");
    assert_int_equal(json_object_object_length(e), 4);
    assert_string_equal(js_get_str(e, "FOO"), "bar");
    assert_string_equal(js_get_str(e, "EMPTY"), "");
    assert_string_equal(js_get_str(e, "EQ"), "a=b");
    assert_string_equal(js_get_str(e, "PATH"), EXEC_DEFAULT_PATH);
    arena_free(&a);
}

static void t_request_partition_and_path(void **state)
{
    struct arena a = ARENA_INIT;
    static const char *const argv[] = {"true"};
    static const char *const env[] = {"PATH=/opt/bin"};
    struct exec_spec s;
    const char *problem = NULL;
    json_object *job;

    (void)state;
    spec_init(&s, "a1", argv, 1);
    s.env = env;
    s.nenv = 1;
    s.queue = "gpu";
    job = jobrec(slurm_job_request(&a, "/shared", "batch", &s, &problem));
    assert_string_equal(js_get_str(job, "partition"), "gpu"); /* the spec's queue wins */
    assert_string_equal(js_get_str(js_get(job, "environment"), "PATH"), "/opt/bin");
    assert_int_equal(json_object_object_length(js_get(job, "environment")), 1);

    s.queue = "";
    job = jobrec(slurm_job_request(&a, "/shared", "", &s, &problem));
    assert_null(js_get(job, "partition")); /* none configured: the cluster's default */
    arena_free(&a);
}

static void t_request_resources(void **state)
{
    struct arena a = ARENA_INIT;
    static const char *const argv[] = {"true"};
    /* cpu → ceil; memory → ceil to MiB; gpus → ceil, with the type; time limit =
     * ceil((timeout + grace) / 60) minutes, grace 0 meaning EXEC_DEFAULT_GRACE_S (10). */
    static const struct {
        double cpu;
        int64_t mem, timeout, grace;
        double gpus;
        const char *gpu_type;
        int64_t want_cpus, want_mb, want_min;
        const char *want_gres;
    } cases[] = {
        {1, 1, 50, 10, 0, "", 1, 1, 1, NULL},                            /* 60 s = 1 min */
        {1.5, 1 << 20, 60, 0, 1, "", 2, 1, 2, "gpu:1"},                  /* 70 s → 2 min */
        {2, (1 << 20) + 1, 61, 59, 0.5, "a100", 2, 2, 2, "gpu:a100:1"},  /* 120 s = 2 min */
        {0.1, 3LL << 30, 3600, 1, 2, "h100", 1, 3072, 61, "gpu:h100:2"}, /* 3601 s → 61 */
        {4, 1536LL << 20, 1, 0, 0, "a100", 4, 1536, 1, NULL},            /* no gpus: no gres */
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct exec_spec s;
        const char *problem = NULL;
        json_object *job;

        spec_init(&s, "res", argv, 1);
        s.cpu = cases[i].cpu;
        s.memory_bytes = cases[i].mem;
        s.timeout_s = cases[i].timeout;
        s.grace_s = cases[i].grace;
        s.gpus = cases[i].gpus;
        s.gpu_type = cases[i].gpu_type;
        job = jobrec(slurm_job_request(&a, "/shared", "", &s, &problem));
        assert_int_equal(i64(job, "cpus_per_task"), cases[i].want_cpus);
        assert_int_equal(i64(job, "memory_per_node"), cases[i].want_mb);
        assert_int_equal(i64(job, "time_limit"), cases[i].want_min);
        if (cases[i].want_gres)
            assert_string_equal(js_get_str(job, "gres"), cases[i].want_gres);
        else
            assert_null(js_get(job, "gres"));
    }
    arena_free(&a);
}

static void t_request_workdir(void **state)
{
    struct arena a = ARENA_INIT;
    static const char *const argv[] = {"true"};
    struct exec_spec s;
    const char *problem = NULL;
    json_object *job;

    (void)state;
    spec_init(&s, "wd", argv, 1);
    s.workdir = "sub/dir";
    job = jobrec(slurm_job_request(&a, "/shared", "", &s, &problem));
    assert_string_equal(js_get_str(job, "current_working_directory"), "/shared/wd/work/sub/dir");
    s.workdir = "/data/project";
    job = jobrec(slurm_job_request(&a, "/shared", "", &s, &problem));
    assert_string_equal(js_get_str(job, "current_working_directory"), "/data/project");
    /* The output file stays in the attempt directory whatever the workdir. */
    assert_string_equal(js_get_str(job, "standard_output"), "/shared/wd/log");
    s.workdir = "a/../../b";
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    assert_non_null(problem);
    s.workdir = "..";
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    /* A % in the shared directory must not become a Slurm file name pattern (%j, %x). */
    s.workdir = "";
    job = jobrec(slurm_job_request(&a, "/mnt/100%j", "", &s, &problem));
    assert_string_equal(js_get_str(job, "standard_output"), "/mnt/100%%j/wd/log");
    assert_string_equal(js_get_str(job, "current_working_directory"), "/mnt/100%j/wd/work");
    arena_free(&a);
}

static void t_request_invalid(void **state)
{
    struct arena a = ARENA_INIT;
    static const char *const argv[] = {"true"};
    static const char *const empty_arg[] = {""};
    static const char *const bad_env[] = {"NOEQUALS"};
    static const char *const bad_env2[] = {"=value"};
    struct exec_spec s;
    const char *problem;

    (void)state;
    spec_init(&s, "Bad_Name", argv, 1);
    problem = NULL;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    assert_non_null(problem);

    spec_init(&s, "ok", argv, 0);
    problem = NULL;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    assert_non_null(problem);

    spec_init(&s, "ok", empty_arg, 1);
    problem = NULL;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));

    spec_init(&s, "ok", argv, 1);
    s.env = bad_env;
    s.nenv = 1;
    problem = NULL;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    s.env = bad_env2;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));

    spec_init(&s, "ok", argv, 1);
    s.gpus = 1;
    s.gpu_type = "a100,gpu:9"; /* would smuggle another gres */
    problem = NULL;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    assert_non_null(problem);

    spec_init(&s, "ok", argv, 1);
    s.queue = "debug,other";
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    assert_null(slurm_job_request(&a, "/shared", "a b",
                                  &(struct exec_spec){.name = "ok", .argv = argv, .argc = 1},
                                  &problem));

    spec_init(&s, "ok", argv, 1);
    s.timeout_s = -1;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    spec_init(&s, "ok", argv, 1);
    s.replicas = EXEC_MAX_REPLICAS + 1;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    spec_init(&s, "ok", argv, 1);
    s.cpu = -0.5;
    assert_null(slurm_job_request(&a, "/shared", "", &s, &problem));
    arena_free(&a);
}

/* ---- the batch script, run by bash ---------------------------------------------------------- */

struct scriptfx {
    char dir[64];
    struct arena a;
};

static int script_setup(void **state)
{
    struct scriptfx *f = calloc(1, sizeof(*f));
    char path[256];

    snprintf(f->dir, sizeof(f->dir), "/tmp/cube-test-slurm-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    /* A fake srun: runs the command once per task, one after another, as SLURM_PROCID i,
     * and exits with the highest exit code, as the real one does. */
    snprintf(path, sizeof(path), "%s/bin", f->dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/bin/srun", f->dir);
    write_file(path,
               "#!/bin/bash\n"
               "n=1\n"
               "while [[ $1 == --* ]]; do\n"
               "    case $1 in --ntasks=*) n=${1#--ntasks=} ;; esac\n"
               "    echo \"srun option $1\"\n"
               "    shift\n"
               "done\n"
               "max=0\n"
               "for ((i = 0; i < n; i++)); do\n"
               "    SLURM_PROCID=$i SLURM_LOCALID=0 \"$@\"\n"
               "    rc=$?\n"
               "    ((rc > max)) && max=$rc\n"
               "done\n"
               "exit $max\n",
               0755);
    snprintf(path, sizeof(path), "%s/bin/scontrol", f->dir);
    write_file(path,
               "#!/bin/bash\n"
               "case \"$1 $2\" in\n"
               "'show hostnames') [[ $3 == 'n[4-6]' ]] && printf 'n4\\nn5\\nn6\\n' ;;\n"
               "'show node') [[ $3 == n4 ]] && echo \"NodeName=n4 Arch=x86_64 CoresPerSocket=2 "
               "NodeAddr=10.9.8.7 NodeHostName=vm Version=22.05.8\" ;;\n"
               "esac\n",
               0755);
    *state = f;
    return 0;
}

static int script_teardown(void **state)
{
    struct scriptfx *f = *state;
    rm_rf(f->dir);
    arena_free(&f->a);
    free(f);
    return 0;
}

/* Runs the request's script with bash in a clean environment; returns its output. */
static const char *run_script(struct scriptfx *f, json_object *req, const char *extra_env, int *rc)
{
    char path[256], out[256], cmd[1024];
    int st;

    snprintf(path, sizeof(path), "%s/script", f->dir);
    snprintf(out, sizeof(out), "%s/out", f->dir);
    write_file(path, js_get_str(req, "script"), 0755);
    snprintf(cmd, sizeof(cmd),
             "cd %s && env -i PATH=%s/bin:/usr/bin:/bin SLURM_JOB_ID=7 "
             "SLURM_JOB_NODELIST='n[4-6]' %s bash %s >%s 2>&1",
             f->dir, f->dir, extra_env, path, out);
    st = system(cmd);
    assert_true(WIFEXITED(st));
    *rc = WEXITSTATUS(st);
    return read_file(&f->a, out);
}

static void t_script_quotes_argv(void **state)
{
    struct scriptfx *f = *state;
    static const char *const argv[] = {"printf", "[%s]\\n", "it's",  "$HOME", "a  b",
                                       "",       "`id`",    "\"q\"", "x\ny",  "\\"};
    struct exec_spec s;
    const char *problem = NULL, *out;
    int rc = -1;

    spec_init(&s, "quote", argv, ARRAY_LEN(argv));
    out = run_script(f, slurm_job_request(&f->a, f->dir, "", &s, &problem), "", &rc);
    assert_int_equal(rc, 0);
    /* Each argument reaches printf unchanged: no expansion, no splitting. */
    assert_string_equal(out, "[it's]\n[$HOME]\n[a  b]\n[]\n[`id`]\n[\"q\"]\n[x\ny]\n[\\]\n");
}

static void t_script_exit_code_and_home(void **state)
{
    struct scriptfx *f = *state;
    static const char *const argv[] = {"sh", "-c", "test -n \"$HOME\" && exit 3"};
    struct exec_spec s;
    const char *problem = NULL;
    int rc = -1;

    spec_init(&s, "exit3", argv, 3);
    (void)run_script(f, slurm_job_request(&f->a, f->dir, "", &s, &problem), "", &rc);
    assert_int_equal(rc, 3); /* exec: the job's exit status is the command's */
}

static void t_script_distributed(void **state)
{
    struct scriptfx *f = *state;
    static const char *const argv[] = {
        "sh", "-c",
        "echo \"rank $RANK local $LOCAL_RANK world $WORLD_SIZE at $MASTER_ADDR:$MASTER_PORT\""};
    struct exec_spec s;
    const char *problem = NULL, *out;
    char ranks[128];
    json_object *req, *job;
    int rc = -1;

    spec_init(&s, "dist", argv, 3);
    s.replicas = 3;
    s.cpu = 2;
    req = slurm_job_request(&f->a, f->dir, "", &s, &problem);
    assert_non_null(req);
    job = jobrec(req);
    assert_int_equal(i64(job, "nodes"), 3);
    assert_int_equal(i64(job, "tasks"), 3);
    assert_int_equal(i64(job, "tasks_per_node"), 1);
    assert_int_equal(i64(job, "cpus_per_task"), 2);
    snprintf(ranks, sizeof(ranks), "%s/dist", f->dir);
    mkdir(ranks, 0755);
    snprintf(ranks, sizeof(ranks), "%s/dist/ranks", f->dir);
    mkdir(ranks, 0755);
    out = run_script(f, req, "SLURM_CPUS_PER_TASK=2", &rc);
    assert_int_equal(rc, 0);
    /* MASTER_ADDR: NodeAddr of the first node (n4); MASTER_PORT 20000 + 7 % 20000. */
    assert_non_null(strstr(out, "rank 0 local 0 world 3 at 10.9.8.7:20007\n"
                                "rank 1 local 0 world 3 at 10.9.8.7:20007\n"
                                "rank 2 local 0 world 3 at 10.9.8.7:20007\n"));
    assert_non_null(strstr(out, "srun option --ntasks=3\n"));
    assert_non_null(strstr(out, "srun option --ntasks-per-node=1\n"));
    assert_non_null(strstr(out, "srun option --cpus-per-task=2\n"));

    /* Given in the env, MASTER_ADDR and MASTER_PORT are kept. */
    out = run_script(f, req, "MASTER_ADDR=192.0.2.1 MASTER_PORT=555", &rc);
    assert_non_null(strstr(out, "rank 2 local 0 world 3 at 192.0.2.1:555\n"));
}

static void t_script_distributed_first_failure(void **state)
{
    struct scriptfx *f = *state;
    /* Rank 1 fails first with 3, rank 2 later with 7: srun says 7, the attempt says 3. */
    static const char *const argv[] = {"sh", "-c", "exit $((RANK == 1 ? 3 : RANK == 2 ? 7 : 0))"};
    struct exec_spec s;
    const char *problem = NULL;
    char ranks[128];
    int rc = -1;

    spec_init(&s, "first", argv, 3);
    s.replicas = 3;
    snprintf(ranks, sizeof(ranks), "%s/first", f->dir);
    mkdir(ranks, 0755);
    snprintf(ranks, sizeof(ranks), "%s/first/ranks", f->dir);
    mkdir(ranks, 0755);
    (void)run_script(f, slurm_job_request(&f->a, f->dir, "", &s, &problem), "", &rc);
    assert_int_equal(rc, 3);
}

/* ---- job records → exec_status ------------------------------------------------------------ */

struct rec_case {
    const char *record;
    enum exec_state state;
    int exit_code, term_signal;
    const char *reason;
    bool cancelled, timed_out, oom;
    int64_t started_at, finished_at;
};

static const struct rec_case rec_cases[] = {
    /* Recorded: a job slurm accepted but can never start (cpus over the partition). */
    {"{\"job_id\":10,\"name\":\"e\",\"job_state\":\"PENDING\",\"state_reason\":\"PartitionConfig\","
     "\"exit_code\":0,\"derived_exit_code\":0,\"start_time\":0,\"end_time\":0,\"submit_time\":"
     "1796007501,"
     "\"time_limit\":null,\"standard_output\":\"\",\"batch_host\":\"\",\"nodes\":\"\"}",
     EXEC_RUNNING, -1, 0, "pending: PartitionConfig", false, false, false, 0, 0},
    /* Recorded: running (end_time is the expected end, not an end). */
    {"{\"job_id\":22,\"name\":\"t-run\",\"job_state\":\"RUNNING\",\"state_reason\":\"None\","
     "\"exit_code\":0,\"derived_exit_code\":0,\"start_time\":1796008068,\"end_time\":1827544068,"
     "\"submit_time\":1796008068,\"time_limit\":null,\"standard_output\":\"/shared/t-run/log\","
     "\"batch_host\":\"n1\",\"nodes\":\"n1\"}",
     EXEC_RUNNING, -1, 0, "running", false, false, false, 1796008068, 0},
    /* Recorded: exit 0. */
    {"{\"job_id\":14,\"name\":\"t-ok\",\"job_state\":\"COMPLETED\",\"state_reason\":\"None\","
     "\"exit_code\":0,\"derived_exit_code\":0,\"start_time\":1796007924,\"end_time\":1796007925,"
     "\"submit_time\":1796007923,\"time_limit\":525600,\"standard_output\":\"/shared/t-ok/log\"}",
     EXEC_SUCCEEDED, 0, 0, "exit 0", false, false, false, 1796007924, 1796007925},
    /* Recorded: `exit 3` → raw 768 = 3 << 8. */
    {"{\"job_id\":19,\"name\":\"t-d4\",\"job_state\":\"FAILED\",\"state_reason\":"
     "\"NonZeroExitCode\","
     "\"exit_code\":768,\"derived_exit_code\":768,\"start_time\":1796007997,\"end_time\":"
     "1796007999,"
     "\"time_limit\":525600,\"standard_output\":\"/shared/t-d4/log\",\"nodes\":\"n[1-3]\"}",
     EXEC_FAILED, 3, 0, "exit 3", false, false, false, 1796007997, 1796007999},
    /* Recorded: an srun whose tasks failed with 2 → 512. */
    {"{\"job_id\":1,\"name\":\"j1\",\"job_state\":\"FAILED\",\"state_reason\":\"NonZeroExitCode\","
     "\"exit_code\":512,\"start_time\":1796007448,\"end_time\":1796007449}",
     EXEC_FAILED, 2, 0, "exit 2", false, false, false, 1796007448, 1796007449},
    /* Recorded: `kill -9 $$` in the batch script: raw 9, with the misleading reason. */
    {"{\"job_id\":23,\"name\":\"t-sig\",\"job_state\":\"FAILED\",\"state_reason\":"
     "\"JobLaunchFailure\","
     "\"exit_code\":9,\"derived_exit_code\":0,\"start_time\":1796008069,\"end_time\":1796008070,"
     "\"time_limit\":null,\"standard_output\":\"/shared/t-sig/log\"}",
     EXEC_FAILED, -1, 9, "killed by signal 9", false, false, false, 1796008069, 1796008070},
    /* Recorded: a 1-minute limit reached; the batch shell got SIGTERM (raw 15). */
    {"{\"job_id\":13,\"name\":\"to\",\"job_state\":\"TIMEOUT\",\"state_reason\":\"TimeLimit\","
     "\"exit_code\":15,\"derived_exit_code\":0,\"start_time\":1796007559,\"end_time\":1796007626,"
     "\"time_limit\":1}",
     EXEC_FAILED, -1, 15, "timeout: slurm time limit of 1 min reached", false, true, false,
     1796007559, 1796007626},
    /* Recorded: cancelled while running (DELETE /job/20). */
    {"{\"job_id\":20,\"name\":\"t-long\",\"job_state\":\"CANCELLED\",\"state_reason\":\"None\","
     "\"exit_code\":15,\"derived_exit_code\":0,\"start_time\":1796008017,\"end_time\":1796008032,"
     "\"time_limit\":null,\"standard_output\":\"/shared/t-long/log\"}",
     EXEC_FAILED, -1, 15, "cancelled", true, false, false, 1796008017, 1796008032},
    /* Recorded: cancelled while pending: raw 0, but it never exited on its own. */
    {"{\"job_id\":21,\"name\":\"t-pend\",\"job_state\":\"CANCELLED\",\"state_reason\":"
     "\"Resources\","
     "\"exit_code\":0,\"derived_exit_code\":0,\"start_time\":1796008032,\"end_time\":1796008032,"
     "\"time_limit\":null,\"standard_output\":\"/shared/t-pend/log\"}",
     EXEC_FAILED, -1, 0, "cancelled", true, false, false, 1796008032, 1796008032},
    /* Not recorded here (no cgroup limits on the test cluster): the shapes engines.md reports. */
    {"{\"job_id\":30,\"job_state\":\"OUT_OF_MEMORY\",\"state_reason\":\"OutOfMemory\","
     "\"exit_code\":0,\"start_time\":100,\"end_time\":160}",
     EXEC_FAILED, -1, 0, "out of memory", false, false, true, 100, 160},
    {"{\"job_id\":31,\"job_state\":\"NODE_FAIL\",\"state_reason\":\"NodeDown\","
     "\"exit_code\":0,\"start_time\":100,\"end_time\":160}",
     EXEC_FAILED, -1, 0, "node failure (NodeDown)", false, false, false, 100, 160},
    {"{\"job_id\":32,\"job_state\":\"BOOT_FAIL\",\"state_reason\":\"None\",\"exit_code\":256,"
     "\"start_time\":100,\"end_time\":101}",
     EXEC_FAILED, 1, 0, "node boot failure (None; exit 1)", false, false, false, 100, 101},
    {"{\"job_id\":33,\"job_state\":\"CONFIGURING\",\"state_reason\":\"None\",\"exit_code\":0}",
     EXEC_RUNNING, -1, 0, "pending: None", false, false, false, 0, 0},
    {"{\"job_id\":34,\"job_state\":\"COMPLETING\",\"state_reason\":\"None\",\"exit_code\":0,"
     "\"start_time\":100}",
     EXEC_RUNNING, -1, 0, "running: completing", false, false, false, 100, 0},
    {"{\"job_id\":35,\"job_state\":\"DEADLINE\",\"state_reason\":\"DeadLine\",\"exit_code\":0,"
     "\"start_time\":100,\"end_time\":200}",
     EXEC_FAILED, -1, 0, "deadline reached", false, true, false, 100, 200},
    /* A state from a newer Slurm: not final, so nothing is decided on it. */
    {"{\"job_id\":36,\"job_state\":\"HIBERNATING\",\"state_reason\":\"None\",\"exit_code\":0,"
     "\"start_time\":100}",
     EXEC_RUNNING, -1, 0, "running: slurm state HIBERNATING", false, false, false, 100, 0},
};

static void t_job_records(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rec_cases); i++) {
        struct arena a = ARENA_INIT;
        const struct rec_case *c = &rec_cases[i];
        struct exec_status st;

        slurm_job_status(&a, parse(&a, c->record), &st);
        if (st.state != c->state || st.exit_code != c->exit_code ||
            st.term_signal != c->term_signal || strcmp(st.reason, c->reason) ||
            st.cancelled != c->cancelled || st.timed_out != c->timed_out ||
            st.oom_killed != c->oom || st.started_at != c->started_at ||
            st.finished_at != c->finished_at)
            fail_msg("case %zu: state %d exit %d sig %d reason \"%s\" c%d t%d o%d %lld-%lld", i,
                     st.state, st.exit_code, st.term_signal, st.reason, st.cancelled, st.timed_out,
                     st.oom_killed, (long long)st.started_at, (long long)st.finished_at);
        assert_int_equal(st.pid, 0);
        arena_free(&a);
    }
}

/* ---- raw wait(2) status ------------------------------------------------------------------- */

static void t_wait_status(void **state)
{
    /* raw → (exit code, signal), by the encoding: signal in bits 0-6, exit code in 8-15;
     * 0x80 is the core-dump flag of a signalled process. */
    static const struct {
        int64_t raw;
        int code, sig;
    } cases[] = {
        {0, 0, 0},  {256, 1, 0},  {768, 3, 0},         {512, 2, 0},       {255 << 8, 255, 0},
        {9, -1, 9}, {15, -1, 15}, {0x80 | 11, -1, 11}, {0x80 | 6, -1, 6}, {(42 << 8), 42, 0},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int code = 99, sig = 99, raw = (int)cases[i].raw;
        slurm_wait_status(cases[i].raw, &code, &sig);
        assert_int_equal(code, cases[i].code);
        assert_int_equal(sig, cases[i].sig);
        /* And the C library agrees. */
        if (WIFEXITED(raw)) {
            assert_int_equal(code, WEXITSTATUS(raw));
            assert_int_equal(sig, 0);
        } else {
            assert_true(WIFSIGNALED(raw));
            assert_int_equal(sig, WTERMSIG(raw));
        }
    }
}

/* ---- slurmrestd's answers ----------------------------------------------------------------- */

static void t_answers(void **state)
{
    /* Recorded answers (meta trimmed) and the verdicts slurm.h promises for them. */
    static const struct {
        long http;
        const char *body;
        enum err want;
        int errnum;
        const char *msg_part;
    } cases[] = {
        {200, "{\"errors\":[],\"job_id\":4,\"step_id\":\"BATCH\",\"job_submit_user_msg\":\"\"}",
         ERR_OK, 0, ""},
        {500,
         "{\"errors\":[{\"description\":\"Unable to find JobId=999\",\"error_number\":2017,"
         "\"error\":\"Invalid job id specified\",\"source\":\"slurm_load_job\"}],\"jobs\":[]}",
         ERR_NOT_FOUND, 2017, "Unable to find JobId=999"},
        {500,
         "{\"errors\":[{\"error_code\":2000,\"error\":\"Invalid partition name specified\"}],"
         "\"job_id\":null,\"job_submit_user_msg\":null}",
         ERR_UNPROCESSABLE, 2000, "Invalid partition name specified"},
        /* Refused, yet a job id: 22.05 left that job pending forever. */
        {200,
         "{\"errors\":[{\"error_code\":2015,\"error\":\"Requested partition configuration not "
         "available now\"}],\"job_id\":8,\"job_submit_user_msg\":\"\"}",
         ERR_UNPROCESSABLE, 2015, "Requested partition configuration not available now"},
        {500,
         "{\"errors\":[{\"error_code\":2014,\"error\":\"Requested node configuration is not "
         "available\"}],\"job_id\":null}",
         ERR_UNPROCESSABLE, 2014, "Requested node configuration is not available"},
        {400,
         "{\"errors\":[{\"description\":\"Unknown key \\\"tres_per_node\\\"\",\"source\":"
         "\"hsearch_r\"},{\"error_code\":9001,\"error\":\"Failure during "
         "parsing\"}],\"job_id\":null}",
         ERR_UNPROCESSABLE, 9001, "Unknown key \"tres_per_node\"; Failure during parsing"},
        /* An expired token on GET /job/1: the message is about something else. */
        {500,
         "{\"errors\":[{\"description\":\"Unable to find JobId=1\",\"error_number\":-1,"
         "\"error\":\"Unspecified error\",\"source\":\"slurm_load_job\"}],\"jobs\":[]}",
         ERR_UNAVAILABLE, -1, "expired or wrong token"},
        /* An expired token on POST /job/submit. */
        {500,
         "{\"errors\":[{\"error_code\":5005,\"error\":\"Zero Bytes were transmitted or "
         "received\"}]}",
         ERR_UNAVAILABLE, 5005, "Zero Bytes were transmitted or received"},
        {500, "{\"errors\":[{\"error\":\"Unspecified error\",\"errno\":-1}]}", ERR_UNAVAILABLE, -1,
         "Unspecified error"},
        {401, "{}", ERR_UNAUTH, 0, "HTTP 401"},
        {502, "{\"meta\":{}}", ERR_UNAVAILABLE, 0, "HTTP 502"},
        /* DELETE of a finished job: nothing to do, no error. */
        {200, "{\"errors\":[]}", ERR_OK, 0, ""},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct arena a = ARENA_INIT;
        const char *msg = NULL;
        int no = 12345;
        enum err e = slurm_answer_error(&a, cases[i].http, parse(&a, cases[i].body), &msg, &no);
        if (e != cases[i].want || no != cases[i].errnum || !msg || !strstr(msg, cases[i].msg_part))
            fail_msg("case %zu: %s, errno %d, \"%s\"", i, err_name(e), no, msg ? msg : "(null)");
        arena_free(&a);
    }
}

/* ---- tokens ------------------------------------------------------------------------------- */

static char *b64url(struct arena *a, const unsigned char *p, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = arena_alloc(a, n * 4 / 3 + 4);
    size_t o = 0, i = 0;

    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return out;
}

static void t_token_claims(void **state)
{
    struct arena a = ARENA_INIT;
    /* 32 bytes like the cluster's jwt_hs256.key, with a NUL inside: the length counts. */
    static const unsigned char key[32] = {
        0x00, 0x01, 0xfe, 0x7f, 0x10, 0x00, 0x42, 0x99, 1,  2,  3,  4,  5,  6,  7,  8,
        9,    10,   11,   12,   13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 0xff};
    unsigned char other[32], mac[32];
    char *tok = slurm_token_mint(&a, key, sizeof(key), "alice", 1796000000, 900);
    const char *dot2, *sun = NULL;
    jwt_t *jwt = NULL;

    (void)state;
    assert_non_null(tok);
    /* libjwt verifies it with the key: HS256, exactly the three claims scontrol token writes. */
    assert_int_equal(jwt_decode(&jwt, tok, key, (int)sizeof(key)), 0);
    assert_int_equal(jwt_get_alg(jwt), JWT_ALG_HS256);
    assert_string_equal(jwt_get_grant(jwt, "sun"), "alice");
    assert_int_equal(jwt_get_grant_int(jwt, "iat"), 1796000000);
    assert_int_equal(jwt_get_grant_int(jwt, "exp"), 1796000900);
    jwt_free(jwt);
    jwt = NULL;
    /* The signature is HMAC-SHA256(key, header.payload), base64url without padding
     * (RFC 7515 §3, RFC 4648 §5), computed here with our own HMAC. */
    dot2 = strrchr(tok, '.');
    assert_non_null(dot2);
    hmac_sha256(key, sizeof(key), tok, (size_t)(dot2 - tok), mac);
    assert_string_equal(dot2 + 1, b64url(&a, mac, sizeof(mac)));
    /* Any other key fails verification. */
    memcpy(other, key, sizeof(other));
    other[31] ^= 1;
    assert_int_not_equal(jwt_decode(&jwt, tok, other, (int)sizeof(other)), 0);
    jwt_free(jwt);
    /* The unverified claim reader used for supplied tokens. */
    assert_int_equal(slurm_token_exp(&a, tok, &sun), 1796000900);
    assert_string_equal(sun, "alice");
    assert_int_equal(slurm_token_exp(&a, "not-a-token", &sun), 0);
    assert_null(sun);
    assert_int_equal(slurm_token_exp(&a, "a.!!!.b", &sun), 0);
    /* A hand-built payload {"exp":5,"sun":"x"} (base64url of the JSON, by hand). */
    assert_int_equal(slurm_token_exp(&a, "e30.eyJleHAiOjUsInN1biI6IngifQ.sig", &sun), 5);
    assert_string_equal(sun, "x");
    arena_free(&a);
}

/* ---- slurm_open ------------------------------------------------------------------------- */

static void t_open_checks(void **state)
{
    struct engine_conf c;
    char err[128];
    struct slurm *s;
    static const char key[] = "0123456789abcdef0123456789abcdef";

    (void)state;
    memset(&c, 0, sizeof(c));
    c.endpoint = "http://127.0.0.1:1";
    c.key = key;
    c.key_len = 32;
    c.shared_dir = "/shared/";
    s = slurm_open(&c, err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(slurm_last_error(s), "");
    slurm_close(s);

    c.endpoint = "ftp://x";
    err[0] = '\0';
    assert_null(slurm_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "endpoint"));
    c.endpoint = "https://slurm.example:6820/";
    c.shared_dir = "relative/dir";
    assert_null(slurm_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "shared_dir"));
    c.shared_dir = "/shared";
    c.key = NULL;
    c.key_len = 0;
    assert_null(slurm_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "token"));
    c.token = "abc\r\nX-Evil: 1"; /* would inject a header */
    assert_null(slurm_open(&c, err, sizeof(err)));
    c.token = "e30.eyJleHAiOjUsInN1biI6IngifQ.sig";
    c.queue = "bad queue";
    assert_null(slurm_open(&c, err, sizeof(err)));
    c.queue = "debug";
    /* A tiny error buffer is filled and terminated, never overrun. */
    c.endpoint = NULL;
    memset(err, 'z', sizeof(err));
    assert_null(slurm_open(&c, err, 4));
    assert_int_equal(strlen(err), 3);
    c.endpoint = "http://127.0.0.1:1";
    s = slurm_open(&c, err, sizeof(err));
    assert_non_null(s);
    slurm_close(s);
}

/* ---- slurm_submit against a fake slurmrestd ------------------------------------------------- */

/*
 * A fake slurmrestd on 127.0.0.1, a thread of this process: it keeps the jobs POSTed to it,
 * lists them in GET /jobs, answers GET /job/{id} (error 2017 for an id it does not know, as
 * 22.05 does) and counts what it is asked.  Every answer closes its connection, so curl never
 * sends a request again on a reused one (that would hide or fake a second POST).
 */
enum { FAKE_JOBS = 8, FAKE_REQ_MAX = 65536 };

struct fake_job {
    int64_t id;
    char name[64], out[256];
};

/* What the fake was asked: GET /jobs, GET /job/{id}, POST /job/submit, anything else. */
struct fake_seen {
    int lists, by_id, posts, others;
    int unmarked; /* POSTs that arrived while the attempt directory held no "posted" */
    size_t njobs;
    int64_t last_id;
};

struct fake {
    char dir[64]; /* the shared directory */
    struct slurm *s;
    int lfd;
    pthread_t thread;
    pthread_mutex_t mu;
    /* Under mu. */
    bool stop;
    bool drop_submit; /* POST /job/submit creates the job, then its answer is lost */
    struct fake_seen seen;
    struct fake_job jobs[FAKE_JOBS];
    int64_t next_id;
};

/*
 * A submitter that crashed after leaving its marker, in a directory this call creates: only a
 * second submitter could do that, between our mkdir and our lock.  The executable's mkdir
 * stands in for libc's (slurm.o, linked into this program, calls it): when it creates
 * plant_dir, "posted" appears in it before the caller goes on.
 */
static char plant_dir[128];
static bool planted;

int mkdir(const char *path, mode_t mode)
{
    int rc = mkdirat(AT_FDCWD, path, mode);

    if (rc == 0 && plant_dir[0] && !strcmp(path, plant_dir)) {
        char marker[192];
        int fd;

        snprintf(marker, sizeof(marker), "%s/posted", path);
        fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            close(fd);
            planted = true;
        }
    }
    return rc;
}

static json_object *fake_record(const struct fake_job *j)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "job_id", json_object_new_int64(j->id));
    json_object_object_add(o, "name", json_object_new_string(j->name));
    json_object_object_add(o, "job_state", json_object_new_string("RUNNING"));
    json_object_object_add(o, "state_reason", json_object_new_string("None"));
    json_object_object_add(o, "standard_output", json_object_new_string(j->out));
    json_object_object_add(o, "exit_code", json_object_new_int64(0));
    json_object_object_add(o, "start_time", json_object_new_int64(100));
    return o;
}

static json_object *fake_answer(struct arena *a, json_object *jobs)
{
    json_object *o = js_own(a, json_object_new_object());

    json_object_object_add(o, "errors", json_object_new_array());
    json_object_object_add(o, "jobs", jobs);
    return o;
}

/* One request, whole (head and Content-Length body); *body points into req. */
static bool fake_read(int fd, char *req, size_t cap, const char **body)
{
    size_t n = 0, head = 0, clen = 0;

    for (;;) {
        ssize_t k;

        if (head && n >= head + clen)
            break;
        if (n + 1 >= cap)
            return false;
        k = recv(fd, req + n, cap - 1 - n, 0);
        if (k <= 0)
            return false;
        n += (size_t)k;
        req[n] = '\0';
        if (!head) {
            const char *end = strstr(req, "\r\n\r\n"), *cl;
            if (!end)
                continue;
            head = (size_t)(end - req) + 4;
            cl = strcasestr(req, "\r\nContent-Length:");
            if (cl && cl < end)
                clen = (size_t)strtoul(cl + 17, NULL, 10);
        }
    }
    req[head + clen] = '\0';
    *body = req + head;
    return true;
}

/* The answer to one request (NULL: close without answering), under f->mu.  No cmocka
 * assertions here: they would jump out of this thread into the test's; what the fake does not
 * understand is counted in others, which the tests check. */
static json_object *fake_route(struct fake *f, struct arena *a, const char *req, const char *body,
                               int *status)
{
    static const char list[] = "GET " SLURM_API "/jobs ", get_one[] = "GET " SLURM_API "/job/",
                      submit[] = "POST " SLURM_API "/job/submit ",
                      gone[] = "{\"errors\":[{\"description\":\"Unable to find JobId\","
                               "\"error_number\":2017,\"error\":\"Invalid job id specified\","
                               "\"source\":\"slurm_load_job\"}],\"jobs\":[]}";
    const char *jerr = NULL;
    json_object *o, *arr;

    *status = 200;
    if (!strncmp(req, list, strlen(list))) {
        f->seen.lists++;
        arr = json_object_new_array();
        for (size_t i = 0; i < f->seen.njobs; i++)
            json_object_array_add(arr, fake_record(&f->jobs[i]));
        return fake_answer(a, arr);
    }
    if (!strncmp(req, get_one, strlen(get_one))) {
        int64_t id = strtoll(req + strlen(get_one), NULL, 10);

        f->seen.by_id++;
        for (size_t i = 0; i < f->seen.njobs; i++) {
            if (f->jobs[i].id == id) {
                arr = json_object_new_array();
                json_object_array_add(arr, fake_record(&f->jobs[i]));
                return fake_answer(a, arr);
            }
        }
        /* As slurmrestd 22.05 answers for a purged job (t_answers). */
        *status = 500;
        return js_parse(a, gone, strlen(gone), &jerr);
    }
    if (!strncmp(req, submit, strlen(submit))) {
        json_object *job = js_get(js_parse(a, body, strlen(body), &jerr), "job");
        const char *name = js_get_str(job, "name"), *out = js_get_str(job, "standard_output");
        char marker[192];
        struct fake_job *j;

        if (name && out && f->seen.njobs < FAKE_JOBS) {
            f->seen.posts++;
            snprintf(marker, sizeof(marker), "%s/%s/posted", f->dir, name);
            if (access(marker, F_OK) < 0)
                f->seen.unmarked++;
            j = &f->jobs[f->seen.njobs++];
            j->id = f->next_id++;
            snprintf(j->name, sizeof(j->name), "%s", name);
            snprintf(j->out, sizeof(j->out), "%s", out);
            f->seen.last_id = j->id;
            if (f->drop_submit)
                return NULL;
            o = js_own(a, json_object_new_object());
            json_object_object_add(o, "errors", json_object_new_array());
            json_object_object_add(o, "job_id", json_object_new_int64(j->id));
            json_object_object_add(o, "step_id", json_object_new_string("BATCH"));
            json_object_object_add(o, "job_submit_user_msg", json_object_new_string(""));
            return o;
        }
    }
    f->seen.others++;
    *status = 400;
    return fake_answer(a, json_object_new_array());
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static void fake_serve(struct fake *f, int fd)
{
    struct arena a = ARENA_INIT;
    char *req = xmalloc(FAKE_REQ_MAX), head[256];
    const char *body = NULL, *text;
    json_object *ans;
    int status = 0, n;

    if (!fake_read(fd, req, FAKE_REQ_MAX, &body))
        goto out;
    pthread_mutex_lock(&f->mu);
    ans = fake_route(f, &a, req, body, &status);
    pthread_mutex_unlock(&f->mu);
    if (!ans)
        goto out;
    text = js_str(ans);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 status, status == 200 ? "OK" : "Error", strlen(text));
    send_all(fd, head, (size_t)n);
    send_all(fd, text, strlen(text));
out:
    free(req);
    arena_free(&a);
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;

    for (;;) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        bool stop;
        int fd;

        pthread_mutex_lock(&f->mu);
        stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        if (poll(&p, 1, 20) != 1)
            continue;
        fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        fake_serve(f, fd);
        close(fd);
    }
    return NULL;
}

static int submit_setup(void **state)
{
    static const char key[] = "0123456789abcdef0123456789abcdef";
    struct fake *f = xcalloc(1, sizeof(*f));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    struct engine_conf c;
    char endpoint[64], err[128] = "";

    snprintf(f->dir, sizeof(f->dir), "/tmp/cube-test-slurm-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &salen), 0);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    memset(&c, 0, sizeof(c));
    c.endpoint = endpoint;
    c.key = key;
    c.key_len = 32;
    c.shared_dir = f->dir;
    c.timeout_ms = 5000;
    f->s = slurm_open(&c, err, sizeof(err));
    if (!f->s)
        fail_msg("slurm_open: %s", err);
    f->next_id = 1001;
    assert_int_equal(pthread_mutex_init(&f->mu, NULL), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
    plant_dir[0] = '\0';
    planted = false;
    *state = f;
    return 0;
}

static int submit_teardown(void **state)
{
    struct fake *f = *state;

    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->mu);
    close(f->lfd);
    slurm_close(f->s);
    rm_rf(f->dir);
    plant_dir[0] = '\0';
    free(f);
    return 0;
}

static struct fake_seen fake_seen(struct fake *f)
{
    struct fake_seen n;

    pthread_mutex_lock(&f->mu);
    n = f->seen;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void fake_set_drop(struct fake *f, bool drop)
{
    pthread_mutex_lock(&f->mu);
    f->drop_submit = drop;
    pthread_mutex_unlock(&f->mu);
}

/* <shared>/<name>/<file> exists. */
static bool attempt_has(const struct fake *f, const char *name, const char *file)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s/%s", f->dir, name, file);
    return access(path, F_OK) == 0;
}

/* The job id recorded in <shared>/<name>/jobid; 0 when there is none. */
static int64_t recorded_jobid(struct fake *f, const char *name)
{
    struct arena a = ARENA_INIT;
    char path[256];
    int64_t id;

    snprintf(path, sizeof(path), "%s/%s/jobid", f->dir, name);
    if (access(path, F_OK) < 0)
        return 0;
    id = strtoll(read_file(&a, path), NULL, 10);
    arena_free(&a);
    return id;
}

static void t_submit_fresh_skips_listing(void **state)
{
    struct fake *f = *state;
    static const char *const argv[] = {"true"};
    struct exec_spec spec;
    struct fake_seen n;

    spec_init(&spec, "fresh-a1", argv, 1);
    assert_int_equal(slurm_submit(f->s, &spec), ERR_OK);
    n = fake_seen(f);
    /* Nothing of this attempt can exist yet: one POST and no lookup of any kind. */
    assert_int_equal(n.posts, 1);
    assert_int_equal(n.lists, 0);
    assert_int_equal(n.by_id, 0);
    assert_int_equal(n.others, 0);
    /* The marker was on disk when the POST arrived, and stays. */
    assert_int_equal(n.unmarked, 0);
    assert_true(attempt_has(f, "fresh-a1", "posted"));
    assert_int_equal(n.njobs, 1);
    assert_int_equal(recorded_jobid(f, "fresh-a1"), n.last_id);
}

static void t_submit_again_adopts_by_name(void **state)
{
    struct fake *f = *state;
    static const char *const argv[] = {"true"};
    struct exec_spec spec;
    struct fake_seen n;
    int64_t id;

    spec_init(&spec, "again-a1", argv, 1);
    /* The job is created but the answer with its id is lost: no jobid is recorded, and only
     * its name can find it. */
    fake_set_drop(f, true);
    assert_int_equal(slurm_submit(f->s, &spec), ERR_UNAVAILABLE);
    n = fake_seen(f);
    assert_int_equal(n.posts, 1);
    assert_int_equal(n.lists, 0);
    assert_int_equal(n.njobs, 1);
    id = n.last_id;
    assert_int_equal(recorded_jobid(f, "again-a1"), 0);
    assert_true(attempt_has(f, "again-a1", "posted"));

    /* Submitted again (the directory exists): GET /jobs finds it by name, no second POST. */
    fake_set_drop(f, false);
    assert_int_equal(slurm_submit(f->s, &spec), ERR_OK);
    n = fake_seen(f);
    assert_int_equal(n.lists, 1);
    assert_int_equal(n.posts, 1);
    assert_int_equal(n.njobs, 1);
    assert_int_equal(n.others, 0);
    assert_int_equal(recorded_jobid(f, "again-a1"), id);

    /* And once more, with the id recorded now: still the same job, still one POST. */
    assert_int_equal(slurm_submit(f->s, &spec), ERR_OK);
    n = fake_seen(f);
    assert_int_equal(n.posts, 1);
    assert_int_equal(n.lists + n.by_id, 2);
    assert_int_equal(recorded_jobid(f, "again-a1"), id);
}

static void t_submit_vanished_not_again(void **state)
{
    struct fake *f = *state;
    static const char *const argv[] = {"true"};
    struct exec_spec spec;
    struct fake_seen n;
    char path[256];

    /* An earlier submit recorded job 4242; slurmctld has forgotten it since (2017). */
    snprintf(path, sizeof(path), "%s/gone-a1", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/gone-a1/jobid", f->dir);
    write_file(path, "4242\n", 0644);
    spec_init(&spec, "gone-a1", argv, 1);
    assert_int_equal(slurm_submit(f->s, &spec), ERR_OK);
    n = fake_seen(f);
    assert_int_equal(n.by_id, 1); /* it asked about 4242 */
    assert_int_equal(n.posts, 0);
    assert_int_equal(n.njobs, 0);
    assert_int_equal(recorded_jobid(f, "gone-a1"), 4242);
}

static void t_submit_fresh_with_marker_looks_up(void **state)
{
    struct fake *f = *state;
    static const char *const argv[] = {"true"};
    struct exec_spec spec;
    struct fake_seen n;

    /* The other submitter's job, which slurm has: ours by name and log path (slurm.h). */
    pthread_mutex_lock(&f->mu);
    f->jobs[0].id = 555;
    snprintf(f->jobs[0].name, sizeof(f->jobs[0].name), "crash-a1");
    snprintf(f->jobs[0].out, sizeof(f->jobs[0].out), "%s/crash-a1/log", f->dir);
    f->seen.njobs = 1;
    pthread_mutex_unlock(&f->mu);
    snprintf(plant_dir, sizeof(plant_dir), "%s/crash-a1", f->dir);

    spec_init(&spec, "crash-a1", argv, 1);
    assert_int_equal(slurm_submit(f->s, &spec), ERR_OK);
    assert_true(planted); /* this call created the directory, and found the marker in it */
    n = fake_seen(f);
    assert_int_equal(n.lists, 1);
    assert_int_equal(n.posts, 0);
    assert_int_equal(n.njobs, 1);
    assert_int_equal(recorded_jobid(f, "crash-a1"), 555);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_request_basic),
        cmocka_unit_test(t_request_partition_and_path),
        cmocka_unit_test(t_request_resources),
        cmocka_unit_test(t_request_workdir),
        cmocka_unit_test(t_request_invalid),
        cmocka_unit_test_setup_teardown(t_script_quotes_argv, script_setup, script_teardown),
        cmocka_unit_test_setup_teardown(t_script_exit_code_and_home, script_setup, script_teardown),
        cmocka_unit_test_setup_teardown(t_script_distributed, script_setup, script_teardown),
        cmocka_unit_test_setup_teardown(t_script_distributed_first_failure, script_setup,
                                        script_teardown),
        cmocka_unit_test(t_job_records),
        cmocka_unit_test(t_wait_status),
        cmocka_unit_test(t_answers),
        cmocka_unit_test(t_token_claims),
        cmocka_unit_test(t_open_checks),
        cmocka_unit_test_setup_teardown(t_submit_fresh_skips_listing, submit_setup,
                                        submit_teardown),
        cmocka_unit_test_setup_teardown(t_submit_again_adopts_by_name, submit_setup,
                                        submit_teardown),
        cmocka_unit_test_setup_teardown(t_submit_vanished_not_again, submit_setup, submit_teardown),
        cmocka_unit_test_setup_teardown(t_submit_fresh_with_marker_looks_up, submit_setup,
                                        submit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
