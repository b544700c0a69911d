/*
 * test_render.c — argv, env, workdir and image of a task: the built-in
 * templates, generic templates with every kind of arg, the task-command form,
 * variable expansion, env precedence and the errors.  Expected values are
 * written out by hand from the rules in render.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/render.h"
#include "core/snapshot.h"
#include "core/js.h"
#include "core/common.h"

static int setup(void **state)
{
    *state = xcalloc(1, sizeof(struct arena));
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    free(*state);
    return 0;
}

static const struct render_ctx RC = {
    .creator = "alice",
    .runner = "bob",
    .execution_date = "2024-05-06 07:08:09",
    .run_id = "42",
};

#define PIPELINE                                                                             \
    "{\"id\":7,\"name\":\"daily-train\",\"global_env\":\"\",\"project\":{\"id\":3,\"name\":" \
    "\"vision\"},\"created_by\":{\"username\":\"alice\"}}"
#define TASK                                                                           \
    "{\"id\":11,\"name\":\"train\",\"args\":{},\"command\":\"\",\"working_dir\":\"\"," \
    "\"resource_cpu\":\"2\",\"resource_memory\":\"4G\",\"resource_gpu\":\"0\","        \
    "\"volume_mount\":\"kubeflow-user-workspace(pvc):/mnt\",\"node_selector\":"        \
    "\"cpu=true,train=true\",\"timeout\":3600,\"retry\":1}"
#define TMPL                                                                            \
    "{\"id\":5,\"name\":\"trainer\",\"entrypoint\":\"\",\"workdir\":\"\",\"env\":\"\"," \
    "\"args\":{},\"image\":{\"name\":\"ubuntu:20.04\"}}"

/* base with the top-level keys of over (a JSON object literal) replaced; owned by the arena. */
static json_object *mk(struct arena *a, const char *base, const char *over)
{
    json_object *o = json_tokener_parse(base), *ov = over ? json_tokener_parse(over) : NULL;

    assert_non_null(o);
    if (over) {
        assert_non_null(ov);
        json_object_object_foreach(ov, k, v)
        {
            json_object_object_add(o, k, json_object_get(v));
        }
        json_object_put(ov);
    }
    return js_own(a, o);
}

static enum err run(struct arena *a, json_object *p, json_object *t, json_object *tm,
                    struct rendered *out, const char **err)
{
    return render_task(a, p, t, tm, &RC, out, err);
}

/* Renders and expects success. */
static void ok(struct arena *a, json_object *p, json_object *t, json_object *tm,
               struct rendered *out)
{
    const char *err = NULL;
    enum err e = run(a, p, t, tm, out, &err);
    if (e != ERR_OK)
        fail_msg("render_task: %s", err ? err : "(no message)");
    assert_null(err);
}

/* Renders and expects ERR_UNPROCESSABLE with exactly this message. */
static void bad(struct arena *a, json_object *p, json_object *t, json_object *tm, const char *want)
{
    struct rendered out;
    const char *err = NULL;

    assert_int_equal(run(a, p, t, tm, &out, &err), ERR_UNPROCESSABLE);
    assert_non_null(err);
    assert_string_equal(err, want);
    assert_int_equal(out.argc, 0);
    assert_null(out.argv);
}

static void assert_list(const char *const *got, size_t ngot, const char *const *want, size_t n)
{
    for (size_t i = 0; i < ngot && i < n; i++)
        if (strcmp(got[i], want[i]))
            fail_msg("entry %zu: got \"%s\", want \"%s\"", i, got[i], want[i]);
    assert_int_equal(ngot, n);
}

#define ARGV(out, ...)                                                  \
    do {                                                                \
        static const char *const want_[] = {__VA_ARGS__};               \
        assert_list((out)->argv, (out)->argc, want_, ARRAY_LEN(want_)); \
    } while (0)

/* The KFJ block for the base pipeline and task, in its fixed order. */
#define KFJ(image)                                                                              \
    "KFJ_PIPELINE_ID=7", "KFJ_PIPELINE_NAME=daily-train", "KFJ_RUN_ID=42", "KFJ_CREATOR=alice", \
        "KFJ_RUNNER=bob", "KFJ_EXECUTION_DATE=2024-05-06 07:08:09", "KFJ_PROJECT_NAME=vision",  \
        "KFJ_TASK_ID=11", "KFJ_TASK_NAME=train", "KFJ_TASK_IMAGES=" image,                      \
        "KFJ_TASK_VOLUME_MOUNT=kubeflow-user-workspace(pvc):/mnt",                              \
        "KFJ_TASK_NODE_SELECTOR=cpu=true,train=true", "KFJ_TASK_RESOURCE_CPU=2",                \
        "KFJ_TASK_RESOURCE_MEMORY=4G", "KFJ_TASK_RESOURCE_GPU=0", "KFJ_TASK_TIMEOUT=3600"

#define ENV(out, ...)                                                  \
    do {                                                               \
        static const char *const want_[] = {__VA_ARGS__};              \
        assert_list((out)->env, (out)->nenv, want_, ARRAY_LEN(want_)); \
    } while (0)

/* ---- built-in templates ------------------------------------------------------------------- */

static void customize(void **state)
{
    struct arena *a = *state;
    json_object *p = mk(a, PIPELINE, NULL);
    json_object *tm = mk(a, TMPL,
                         "{\"name\":\"customize\",\"entrypoint\":\"ignored\",\"args\":{\"shell\":"
                         "{\"images\":{\"type\":\"str\"},\"workdir\":{\"type\":\"str\"},"
                         "\"command\":{\"type\":\"str\"}}}}");
    struct rendered out;

    ok(a, p,
       mk(a, TASK,
          "{\"args\":{\"images\":\"python:3.11\",\"workdir\":\"/src\","
          "\"command\":\"echo hi && ls -l '/a b'\"}}"),
       tm, &out);
    ARGV(&out, "bash", "-c", "echo hi && ls -l '/a b'");
    assert_string_equal(out.image, "python:3.11");
    assert_string_equal(out.workdir, "/src");
    assert_int_equal(out.replicas, 1);
    ENV(&out, KFJ("python:3.11"));

    /* Without images/workdir args: the template image, then the task's, then the template's dir. */
    ok(a, p, mk(a, TASK, "{\"args\":{\"command\":\"true\"},\"working_dir\":\"/w\"}"), tm, &out);
    assert_string_equal(out.image, "ubuntu:20.04");
    assert_string_equal(out.workdir, "/w");
    ok(a, p, mk(a, TASK, "{\"args\":{\"command\":\"true\",\"images\":\"\"}}"),
       mk(a, TMPL, "{\"name\":\"customize\",\"workdir\":\"/tw\"}"), &out);
    assert_string_equal(out.image, "ubuntu:20.04");
    assert_string_equal(out.workdir, "/tw");
    ok(a, p, mk(a, TASK, "{\"args\":{\"command\":\"true\"}}"),
       mk(a, TMPL, "{\"name\":\"customize\",\"image\":null}"), &out);
    assert_string_equal(out.image, "");
    assert_string_equal(out.workdir, "");
    ENV(&out, KFJ(""));

    /* cube-studio's name for the same template. */
    ok(a, p, mk(a, TASK, "{\"args\":{\"command\":\"echo x\"}}"),
       mk(a, TMPL, "{\"name\":\"自定义镜像\"}"), &out);
    ARGV(&out, "bash", "-c", "echo x");

    bad(a, p, mk(a, TASK, "{\"args\":{}}"), tm,
        "task 'train': arg 'command' is required by template 'customize'");
    bad(a, p, mk(a, TASK, "{\"args\":{\"command\":\" \\n \"}}"), tm,
        "task 'train': arg 'command' is required by template 'customize'");
    bad(a, p, mk(a, TASK, "{\"args\":{\"command\":null}}"), tm,
        "task 'train': arg 'command' is required by template 'customize'");
}

static void python_shell_logical(void **state)
{
    struct arena *a = *state;
    json_object *p = mk(a, PIPELINE, NULL);
    json_object *py = mk(a, TMPL, "{\"name\":\"python\",\"image\":{\"name\":\"python:3.9\"}}");
    json_object *sh = mk(a, TMPL, "{\"name\":\"shell-script\"}");
    json_object *lg = mk(a, TMPL, "{\"name\":\"logical\",\"entrypoint\":\"python x.py\"}");
    struct rendered out;

    ok(a, p, mk(a, TASK, "{\"args\":{\"code\":\"import sys\\nprint('hi', sys.argv)\"}}"), py, &out);
    ARGV(&out, "python3", "-c", "import sys\nprint('hi', sys.argv)");
    assert_string_equal(out.image, "python:3.9");
    ENV(&out, KFJ("python:3.9"));
    bad(a, p, mk(a, TASK, "{\"args\":{\"code\":\"\"}}"), py,
        "task 'train': arg 'code' is required by template 'python'");

    ok(a, p, mk(a, TASK, "{\"args\":{\"script\":\"set -x\\necho $HOME\"}}"), sh, &out);
    ARGV(&out, "bash", "-euo", "pipefail", "-c", "set -x\necho $HOME");
    bad(a, p, mk(a, TASK, "{\"args\":{\"command\":\"echo\"}}"), sh,
        "task 'train': arg 'script' is required by template 'shell-script'");

    /* logical ignores the entrypoint, the task command and the args. */
    ok(a, p, mk(a, TASK, "{\"command\":\"rm -rf /\",\"args\":{\"--x\":1}}"), lg, &out);
    ARGV(&out, "true");
    assert_int_equal(out.replicas, 1);
}

static void distributed(void **state)
{
    struct arena *a = *state;
    json_object *p = mk(a, PIPELINE, "{\"global_env\":\"WORLD_SIZE=99\\nG=1\"}");
    json_object *tm = mk(a, TMPL, "{\"name\":\"distributed\",\"env\":\"MASTER_ADDR=10.0.0.1\"}");
    struct rendered out;

    ok(a, p,
       mk(a, TASK,
          "{\"args\":{\"command\":\"torchrun train.py\",\"num_workers\":4,\"master_port\":29501}}"),
       tm, &out);
    ARGV(&out, "bash", "-c", "torchrun train.py");
    assert_int_equal(out.replicas, 4);
    /* Earlier sources keep their positions, the distributed values win. */
    ENV(&out, "MASTER_ADDR=127.0.0.1", "WORLD_SIZE=4", "G=1", KFJ("ubuntu:20.04"),
        "MASTER_PORT=29501");

    ok(a, mk(a, PIPELINE, NULL), mk(a, TASK, "{\"args\":{\"command\":\"run\"}}"),
       mk(a, TMPL, "{\"name\":\"distributed\"}"), &out);
    assert_int_equal(out.replicas, 2);
    ENV(&out, KFJ("ubuntu:20.04"), "WORLD_SIZE=2", "MASTER_PORT=29500", "MASTER_ADDR=127.0.0.1");

    /* A numeric string (as a form might send) is read as the number. */
    ok(a, p, mk(a, TASK, "{\"args\":{\"command\":\"run\",\"num_workers\":\"3\"}}"), tm, &out);
    assert_int_equal(out.replicas, 3);

    bad(a, p, mk(a, TASK, "{\"args\":{\"command\":\"run\",\"num_workers\":0}}"), tm,
        "task 'train': arg 'num_workers' must be an integer from 1 to 4096");
    bad(a, p, mk(a, TASK, "{\"args\":{\"command\":\"run\",\"num_workers\":\"two\"}}"), tm,
        "task 'train': arg 'num_workers' must be an integer from 1 to 4096");
    bad(a, p, mk(a, TASK, "{\"args\":{\"command\":\"run\",\"master_port\":70000}}"), tm,
        "task 'train': arg 'master_port' must be an integer from 1 to 65535");
    bad(a, p, mk(a, TASK, "{\"args\":{\"num_workers\":2}}"), tm,
        "task 'train': arg 'command' is required by template 'distributed'");
}

/* ---- generic templates -------------------------------------------------------------------- */

static void generic_every_arg_type(void **state)
{
    struct arena *a = *state;
    json_object *tm =
        mk(a, TMPL,
           "{\"entrypoint\":\" python  launcher.py\\t--mode train\\n\",\"workdir\":\"/app\","
           "\"args\":{\"basic\":{\"--verbose\":{\"type\":\"bool\"},\"--quiet\":{\"type\":\"bool\"},"
           "\"--empty\":{\"type\":\"str\"},\"--none\":{\"type\":\"str\"},\"--tags\":{\"type\":"
           "\"list\"},"
           "\"--opts\":{\"type\":\"dict\"},\"--epochs\":{\"type\":\"int\"},\"--neg\":{\"type\":"
           "\"int\"},"
           "\"--big\":{\"type\":\"int\"}},"
           "\"advanced\":{\"images\":{\"type\":\"str\"},\"--lr\":{\"type\":\"float\"},"
           "\"--ratio\":{\"type\":\"float\"},\"--eps\":{\"type\":\"float\"},"
           "\"--weights\":{\"type\":\"json\"},\"--title\":{\"type\":\"str\"},"
           "\"--city\":{\"type\":\"str\"},\"--emptylist\":{\"type\":\"json\"},"
           "\"--emptydict\":{\"type\":\"json\"},\"workdir\":{\"type\":\"str\"},"
           "\"--missing\":{\"type\":\"str\"}}}}");
    /* Given in another order than the schema, with one key the schema does not have. */
    json_object *t = mk(
        a, TASK,
        "{\"args\":{\"--notinschema\":\"x\",\"--title\":\"hello world\",\"--epochs\":10,"
        "\"--neg\":-5,\"--big\":10000000000,\"--verbose\":true,\"--quiet\":false,\"--empty\":\"\","
        "\"--none\":null,\"--tags\":[\"a\",\"b c\",1,true,null,\"/mnt/東京\"],"
        "\"--opts\":{\"k\":\"v\",\"n\":{\"x\":[1,2.5]}},\"--ratio\":3.0,"
        "\"--city\":\"Zürich 東京\",\"--emptylist\":[],\"--emptydict\":{},\"images\":\"img:1\","
        "\"workdir\":\"/data\"}}");
    json_object *args = js_get(t, "args"), *w = json_object_new_array();
    struct rendered out;

    /* Doubles as argschema makes them (no source text): Python's str() digits. */
    json_object_object_add(args, "--lr", json_object_new_double(0.1));
    json_object_object_add(args, "--eps", json_object_new_double(1e-7));
    json_object_array_add(w, json_object_new_double(0.1));
    json_object_array_add(w, json_object_new_double(2));
    json_object_object_add(args, "--weights", w);

    ok(a, mk(a, PIPELINE, NULL), t, tm, &out);
    ARGV(&out, "python", "launcher.py", "--mode", "train", "--verbose", "--tags",
         "[\"a\",\"b c\",1,true,null,\"/mnt/東京\"]", "--opts",
         "{\"k\":\"v\",\"n\":{\"x\":[1,2.5]}}", "--epochs", "10", "--neg", "-5", "--big",
         "10000000000", "--lr", "0.1", "--ratio", "3.0", "--eps", "1e-07", "--weights", "[0.1,2.0]",
         "--title", "hello world", "--city", "Zürich 東京");
    assert_string_equal(out.image, "img:1");
    assert_string_equal(out.workdir, "/data");
    assert_int_equal(out.replicas, 1);
    ENV(&out, KFJ("img:1"));

    /* No args at all: the entrypoint alone, the template's workdir. */
    ok(a, mk(a, PIPELINE, NULL), mk(a, TASK, NULL), tm, &out);
    ARGV(&out, "python", "launcher.py", "--mode", "train");
    assert_string_equal(out.workdir, "/app");
    assert_string_equal(out.image, "ubuntu:20.04");
}

/* Args and schema stored as JSON text (Text columns) read the same as objects. */
static void args_as_text(void **state)
{
    struct arena *a = *state;
    json_object *p = mk(a, PIPELINE, NULL);
    json_object *tm = mk(a, TMPL,
                         "{\"entrypoint\":\"run\",\"args\":\"{\\\"g\\\":{\\\"--n\\\":"
                         "{\\\"type\\\":\\\"int\\\"}}}\"}");
    struct rendered out;

    ok(a, p, mk(a, TASK, "{\"args\":\"{\\\"--n\\\": 3}\"}"), tm, &out);
    ARGV(&out, "run", "--n", "3");
    ok(a, p, mk(a, TASK, "{\"args\":\"\"}"), tm, &out);
    ARGV(&out, "run");
    bad(a, p, mk(a, TASK, "{\"args\":\"[1]\"}"), tm, "task 'train': args must be a JSON object");
    bad(a, p, mk(a, TASK, "{\"args\":\"{oops\"}"), tm, "task 'train': args must be a JSON object");
    bad(a, p, mk(a, TASK, "{\"args\":[]}"), tm, "task 'train': args must be a JSON object");
    bad(a, p, mk(a, TASK, NULL), mk(a, TMPL, "{\"entrypoint\":\"run\",\"args\":7}"),
        "template 'trainer': args must be a JSON object");
}

static void task_command(void **state)
{
    struct arena *a = *state;
    json_object *tm = mk(a, TMPL,
                         "{\"entrypoint\":\"python launcher.py\",\"args\":{\"g\":{\"--n\":"
                         "{\"type\":\"int\"},\"--name\":{\"type\":\"str\"}}}}");
    struct rendered out;

    /* Blank lines and comments go, a trailing backslash continues, CRLF is fine. */
    ok(a, mk(a, PIPELINE, NULL),
       mk(a, TASK,
          "{\"command\":\"cd /src\\n\\n  # setup done\\npython train.py \\\\\\n  --fast\\r\\n"
          "echo done\",\"args\":{\"--n\":5,\"--name\":\"a b\"}}"),
       tm, &out);
    ARGV(&out, "bash", "-c", "cd /src && python train.py --fast && echo done \"$@\"", "cube", "--n",
         "5", "--name", "a b");

    /* A single line; a whitespace-only command means none (the entrypoint is used). */
    ok(a, mk(a, PIPELINE, NULL), mk(a, TASK, "{\"command\":\"  make all  \"}"), tm, &out);
    ARGV(&out, "bash", "-c", "make all \"$@\"", "cube");
    ok(a, mk(a, PIPELINE, NULL), mk(a, TASK, "{\"command\":\" \\n \"}"), tm, &out);
    ARGV(&out, "python", "launcher.py");

    /* Neither an entrypoint nor a command: nothing to run. */
    bad(a, mk(a, PIPELINE, NULL), mk(a, TASK, NULL), mk(a, TMPL, "{\"entrypoint\":\" \"}"),
        "task 'train': template 'trainer' has no entrypoint and the task no command");
}

/* The command form really hands every arg to the command as one word, quotes and all. */
static void task_command_runs(void **state)
{
    struct arena *a = *state;
    json_object *tm =
        mk(a, TMPL,
           "{\"args\":{\"g\":{\"--title\":{\"type\":\"str\"},\"--q\":{\"type\":\"str\"},"
           "\"--on\":{\"type\":\"bool\"}}}}");
    struct rendered out;
    int fds[2], status;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    char buf[256];
    size_t len = 0;
    ssize_t n;

    ok(a, mk(a, PIPELINE, NULL),
       mk(a, TASK,
          "{\"command\":\"cd /\\nprintf '%s|'\",\"args\":{\"--title\":\"hello  world\","
          "\"--q\":\"it's \\\"$HOME\\\" `x` ;\",\"--on\":true}}"),
       tm, &out);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], 1), 0);
    assert_int_equal(posix_spawn_file_actions_addclose(&fa, fds[0]), 0);
    {
        char **argv = xcalloc(out.argc + 1, sizeof(*argv));
        for (size_t i = 0; i < out.argc; i++)
            argv[i] = xstrdup(out.argv[i]);
        assert_int_equal(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ), 0);
        for (size_t i = 0; i < out.argc; i++)
            free(argv[i]);
        free(argv);
    }
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(buf, "--title|hello  world|--q|it's \"$HOME\" `x` ;|--on|");
}

/* ---- variables ---------------------------------------------------------------------------- */

static void variables_everywhere(void **state)
{
    struct arena *a = *state;
    json_object *p = mk(a, PIPELINE,
                        "{\"global_env\":\"DATA=/data/{{pipeline_name}}/{{ run_id }}\\n"
                        "OUT={{DATA}}/out\\n# a comment\\n\\nEMPTY=\"}");
    json_object *tm =
        mk(a, TMPL,
           "{\"entrypoint\":\"run.sh {{task_name}} --pid={{pipeline_id}}\","
           "\"env\":\"LOG={{DATA}}/log\\nWHO={{creator}}:{{runner}}\\nDATE={{execution_date}}\","
           "\"args\":{\"g\":{\"--out\":{},\"--expr\":{},\"--list\":{},\"--tab\":{},\"--nested\":{},"
           "\"--gone\":{},\"images\":{}}}}");
    json_object *t = mk(
        a, TASK,
        "{\"working_dir\":\"/home/{{creator}}\",\"args\":{"
        "\"--out\":\"{{DATA}}/model-{{  run_id  }}\","
        "\"--expr\":\"{{ 1+1 }} {{ x | upper }} {{ unknown }} {{creator} {{}} {{ OUT.x }}\","
        "\"--list\":[\"{{creator}}\",{\"k\":\"{{runner}}\",\"{{creator}}\":1}],"
        "\"--tab\":\"{{\\ttask_name\\t}}\",\"--nested\":\"{{{creator}}}\",\"--gone\":\"{{EMPTY}}\","
        "\"images\":\"reg/{{creator}}:{{run_id}}\"}}");
    struct rendered out;

    ok(a, p, t, tm, &out);
    ARGV(&out, "run.sh", "train", "--pid=7", "--out", "/data/daily-train/42/model-42", "--expr",
         "{{ 1+1 }} {{ x | upper }} {{ unknown }} {{creator} {{}} {{ OUT.x }}", "--list",
         "[\"alice\",{\"k\":\"bob\",\"{{creator}}\":1}]", "--tab", "train", "--nested", "{alice}");
    assert_string_equal(out.workdir, "/home/alice");
    assert_string_equal(out.image, "reg/alice:42");
    /* global_env values see the context only: {{DATA}} in OUT stays as written. */
    ENV(&out, "LOG=/data/daily-train/42/log", "WHO=alice:bob", "DATE=2024-05-06 07:08:09",
        "DATA=/data/daily-train/42", "OUT={{DATA}}/out", "EMPTY=", KFJ("reg/alice:42"));
}

/* A substituted value is never scanned again, and context variables cannot be redefined. */
static void one_pass(void **state)
{
    struct arena *a = *state;
    json_object *p = mk(a, PIPELINE,
                        "{\"name\":\"{{creator}}\",\"global_env\":\"A={{run_id}}\\nB=x{{A}}\\n"
                        "creator=mallory\\nC={{task_name}}\"}");
    json_object *tm =
        mk(a, TMPL, "{\"name\":\"customize\",\"env\":\"T={{pipeline_name}}|{{B}}|{{C}}\"}");
    struct rendered out;

    ok(a, p,
       mk(a, TASK,
          "{\"name\":\"{{runner}}\",\"args\":{\"command\":\"echo {{pipeline_name}} {{A}} {{B}} "
          "{{creator}} {{C}} {{task_name}}\"}}"),
       tm, &out);
    ARGV(&out, "bash", "-c", "echo {{creator}} 42 x{{A}} alice {{runner}} {{runner}}");
    ENV(&out, "T={{creator}}|x{{A}}|{{runner}}", "A=42", "B=x{{A}}", "creator=mallory",
        "C={{runner}}", "KFJ_PIPELINE_ID=7", "KFJ_PIPELINE_NAME={{creator}}", "KFJ_RUN_ID=42",
        "KFJ_CREATOR=alice", "KFJ_RUNNER=bob", "KFJ_EXECUTION_DATE=2024-05-06 07:08:09",
        "KFJ_PROJECT_NAME=vision", "KFJ_TASK_ID=11", "KFJ_TASK_NAME={{runner}}",
        "KFJ_TASK_IMAGES=ubuntu:20.04", "KFJ_TASK_VOLUME_MOUNT=kubeflow-user-workspace(pvc):/mnt",
        "KFJ_TASK_NODE_SELECTOR=cpu=true,train=true", "KFJ_TASK_RESOURCE_CPU=2",
        "KFJ_TASK_RESOURCE_MEMORY=4G", "KFJ_TASK_RESOURCE_GPU=0", "KFJ_TASK_TIMEOUT=3600");
}

/* Missing context: the creator comes from the pipeline, the runner is the creator. */
static void context_defaults(void **state)
{
    struct arena *a = *state;
    struct render_ctx rc = {.creator = NULL, .runner = NULL, .execution_date = NULL, .run_id = "9"};
    struct rendered out;
    const char *err;

    assert_int_equal(render_task(a, mk(a, PIPELINE, "{\"created_by\":{\"username\":\"carol\"}}"),
                                 mk(a, TASK,
                                    "{\"args\":{\"command\":\"{{creator}}/{{runner}}/"
                                    "{{execution_date}}\"}}"),
                                 mk(a, TMPL, "{\"name\":\"customize\"}"), &rc, &out, &err),
                     ERR_OK);
    ARGV(&out, "bash", "-c", "carol/carol/");
}

/* ---- environment ---------------------------------------------------------------------------- */

static void env_precedence(void **state)
{
    struct arena *a = *state;
    json_object *p = mk(a, PIPELINE, "{\"global_env\":\"B=g\\nD=5\\nKFJ_CREATOR=spoof2\\nD=6\"}");
    json_object *tm = mk(a, TMPL,
                         "{\"entrypoint\":\"run\",\"env\":\"A=1\\nB=2\\nKFJ_RUN_ID=spoof\\n"
                         "C=3\\nA=4\"}");
    struct rendered out;

    ok(a, p, mk(a, TASK, NULL), tm, &out);
    ENV(&out, "A=4", "B=g", "KFJ_RUN_ID=42", "C=3", "D=6", "KFJ_CREATOR=alice", "KFJ_PIPELINE_ID=7",
        "KFJ_PIPELINE_NAME=daily-train", "KFJ_RUNNER=bob", "KFJ_EXECUTION_DATE=2024-05-06 07:08:09",
        "KFJ_PROJECT_NAME=vision", "KFJ_TASK_ID=11", "KFJ_TASK_NAME=train",
        "KFJ_TASK_IMAGES=ubuntu:20.04", "KFJ_TASK_VOLUME_MOUNT=kubeflow-user-workspace(pvc):/mnt",
        "KFJ_TASK_NODE_SELECTOR=cpu=true,train=true", "KFJ_TASK_RESOURCE_CPU=2",
        "KFJ_TASK_RESOURCE_MEMORY=4G", "KFJ_TASK_RESOURCE_GPU=0", "KFJ_TASK_TIMEOUT=3600");

    /* Task fields that are numbers, nulls or absent. */
    ok(a, mk(a, PIPELINE, "{\"project\":null,\"id\":\"p-1\"}"),
       mk(a, TASK,
          "{\"resource_cpu\":1.5,\"resource_gpu\":null,\"timeout\":null,\"node_selector\":\"\"}"),
       mk(a, TMPL, "{\"entrypoint\":\"run\"}"), &out);
    ENV(&out, "KFJ_PIPELINE_ID=p-1", "KFJ_PIPELINE_NAME=daily-train", "KFJ_RUN_ID=42",
        "KFJ_CREATOR=alice", "KFJ_RUNNER=bob", "KFJ_EXECUTION_DATE=2024-05-06 07:08:09",
        "KFJ_PROJECT_NAME=", "KFJ_TASK_ID=11", "KFJ_TASK_NAME=train",
        "KFJ_TASK_IMAGES=ubuntu:20.04", "KFJ_TASK_VOLUME_MOUNT=kubeflow-user-workspace(pvc):/mnt",
        "KFJ_TASK_NODE_SELECTOR=", "KFJ_TASK_RESOURCE_CPU=1.5", "KFJ_TASK_RESOURCE_MEMORY=4G",
        "KFJ_TASK_RESOURCE_GPU=", "KFJ_TASK_TIMEOUT=");
}

/* A run's snapshot leaves the KFJ_ block out and the dispatcher makes it again from the
 * snapshot and the run: the attempt's environment must be the one render_task gives, with a
 * user's KFJ_ keys losing to the block on both paths and other KFJ_ names kept. */
static void kfj_from_snapshot(void **state)
{
    struct arena *a = *state;
    json_object *p = mk(a, PIPELINE,
                        "{\"global_env\":\"B=g\\nKFJ_CREATOR=spoof2\",\"dag_json\":{},"
                        "\"name\":\"q\\\"b\\\\s\\tt \u00e9\\u0001\"}");
    json_object *t = mk(a, TASK, NULL), *rows = js_own(a, json_object_new_array());
    json_object *tm = mk(a, TMPL,
                         "{\"entrypoint\":\"run\",\"env\":\"A=1\\nKFJ_RUN_ID=spoof\\n"
                         "KFJ_OWN=kept\"}");
    json_object *row = json_object_new_object(), *snap, *st, *senv;
    const char *text;
    const struct snapshot_src src = {7, p, rows, NULL};
    static const char *const old[] = {"A=1", "KFJ_RUN_ID=9"};
    const char **stored, **env, *err;
    struct rendered want;
    struct render_kfj k;
    size_t nstored, n;

    json_object_object_add(row, "task", json_object_get(t));
    json_object_object_add(row, "template", json_object_get(tm));
    json_object_array_add(rows, row);
    assert_int_equal(render_task(a, p, t, tm, &RC, &want, &err), ERR_OK);
    assert_int_equal(snapshot_render(a, &src, &RC, &text, &err), ERR_OK);
    snap = js_parse(a, text, strlen(text), &err);
    assert_non_null(snap);

    /* Written as text: every character of the pipeline's name comes back. */
    assert_string_equal(js_get_str(js_get(snap, "pipeline"), "name"), "q\"b\\s\tt \u00e9\001");
    st = js_get(js_get(snap, "tasks"), "train");
    senv = js_get(st, "env");
    nstored = json_object_array_length(senv);
    stored = arena_alloc(a, (nstored + 1) * sizeof(*stored));
    for (size_t i = 0; i < nstored; i++)
        stored[i] = json_object_get_string(json_object_array_get_idx(senv, i));
    {
        static const char *const kept[] = {"A=1", "KFJ_OWN=kept", "B=g"};
        assert_list(stored, nstored, kept, ARRAY_LEN(kept));
    }

    snapshot_kfj(a, js_get(snap, "pipeline"), js_get_str(snap, "runner"), "42",
                 "2024-05-06 07:08:09", "train", st, &k);
    env = render_kfj_env(a, stored, nstored, &k, &n);
    assert_int_equal(n, want.nenv);
    assert_null(env[n]);
    for (size_t i = 0; i < want.nenv; i++) {
        size_t j = 0;
        while (j < n && strcmp(env[j], want.env[i]))
            j++;
        if (j == n)
            fail_msg("the attempt lacks \"%s\"", want.env[i]);
    }

    /* A snapshot made while the block was stored keeps its own. */
    env = render_kfj_env(a, old, ARRAY_LEN(old), &k, &n);
    assert_list(env, n, old, ARRAY_LEN(old));
    assert_true(render_kfj_key("KFJ_TASK_TIMEOUT=1"));
    assert_false(render_kfj_key("KFJ_TASK=1"));
    assert_false(render_kfj_key("KFJ_OWN=kept"));
}

static void env_lines(void **state)
{
    struct arena *a = *state;
    struct env_var *v;
    size_t n;
    const char *err;

    assert_int_equal(render_env_lines(a,
                                      "  # c\n\tK = v with  spaces  \r\nX=\nY==z\n_a1=\xc3\xa9\n",
                                      "env", &v, &n, &err),
                     ERR_OK);
    assert_null(err);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].key, "K");
    assert_string_equal(v[0].value, "v with  spaces");
    assert_string_equal(v[1].key, "X");
    assert_string_equal(v[1].value, "");
    assert_string_equal(v[2].key, "Y");
    assert_string_equal(v[2].value, "=z");
    assert_string_equal(v[3].key, "_a1");
    assert_string_equal(v[3].value, "é");

    assert_int_equal(render_env_lines(a, NULL, "env", &v, &n, &err), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(render_env_lines(a, "\n\n", "env", &v, &n, &err), ERR_OK);
    assert_int_equal(n, 0);

    assert_int_equal(render_env_lines(a, "A=1\n\nnot a pair\n", "global_env", &v, &n, &err),
                     ERR_UNPROCESSABLE);
    assert_string_equal(err, "global_env line 3: expected KEY=value");
    assert_null(v);
    assert_int_equal(n, 0);

    {
        static const struct {
            const char *text, *msg;
        } cases[] = {
            {"1BAD=2", "env line 1: invalid variable name '1BAD' (expected KEY=value, KEY of "
                       "letters, digits and _, not starting with a digit)"},
            {"OK=1\n=v", "env line 2: invalid variable name '' (expected KEY=value, KEY of "
                         "letters, digits and _, not starting with a digit)"},
            {"A-B=1", "env line 1: invalid variable name 'A-B' (expected KEY=value, KEY of "
                      "letters, digits and _, not starting with a digit)"},
            {"export A=1", "env line 1: invalid variable name 'export A' (expected KEY=value, KEY "
                           "of letters, digits and _, not starting with a digit)"},
            {"\xc3\xa9=1", "env line 1: invalid variable name '\xc3\xa9' (expected KEY=value, KEY "
                           "of letters, digits and _, not starting with a digit)"},
            {"# x\r\nA=1\r\nB\r\n", "env line 3: expected KEY=value"},
        };
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
            assert_int_equal(render_env_lines(a, cases[i].text, "env", &v, &n, &err),
                             ERR_UNPROCESSABLE);
            assert_string_equal(err, cases[i].msg);
        }
    }
}

static void malformed_env_in_render(void **state)
{
    struct arena *a = *state;

    bad(a, mk(a, PIPELINE, "{\"global_env\":\"A=1\\n# c\\noops\"}"), mk(a, TASK, NULL),
        mk(a, TMPL, "{\"entrypoint\":\"run\"}"), "global_env line 3: expected KEY=value");
    bad(a, mk(a, PIPELINE, NULL), mk(a, TASK, NULL),
        mk(a, TMPL, "{\"entrypoint\":\"run\",\"env\":\"X=1\\n2X=1\"}"),
        "template 'trainer' env line 2: invalid variable name '2X' (expected KEY=value, KEY of "
        "letters, digits and _, not starting with a digit)");
    /* Both broken: global_env is read first. */
    bad(a, mk(a, PIPELINE, "{\"global_env\":\"bad\"}"), mk(a, TASK, NULL),
        mk(a, TMPL, "{\"entrypoint\":\"run\",\"env\":\"worse\"}"),
        "global_env line 1: expected KEY=value");
}

/* An expansion cannot blow up: a value past 1 MiB after substitution is refused. */
static void expansion_cap(void **state)
{
    struct arena *a = *state;
    size_t n = 2048;
    char *big = xmalloc(1024 + 1), *cmd = xmalloc(n * 7 + 1);
    json_object *p, *t;

    memset(big, 'x', 1024);
    big[1024] = '\0';
    for (size_t i = 0; i < n; i++)
        memcpy(cmd + 7 * i, "{{BIG}}", 7);
    cmd[n * 7] = '\0';
    p = mk(a, PIPELINE, NULL);
    json_object_object_add(p, "global_env", json_object_new_string(arena_printf(a, "BIG=%s", big)));
    t = mk(a, TASK, NULL);
    json_object_object_add(t, "args", json_object_new_object());
    json_object_object_add(js_get(t, "args"), "command", json_object_new_string(cmd));
    bad(a, p, t, mk(a, TMPL, "{\"name\":\"customize\"}"),
        "task 'train': a value is longer than 1048576 bytes after expansion");
    free(big);
    free(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(customize, setup, teardown),
        cmocka_unit_test_setup_teardown(python_shell_logical, setup, teardown),
        cmocka_unit_test_setup_teardown(distributed, setup, teardown),
        cmocka_unit_test_setup_teardown(generic_every_arg_type, setup, teardown),
        cmocka_unit_test_setup_teardown(args_as_text, setup, teardown),
        cmocka_unit_test_setup_teardown(task_command, setup, teardown),
        cmocka_unit_test_setup_teardown(task_command_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(variables_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(one_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(context_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(env_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(kfj_from_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(env_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_env_in_render, setup, teardown),
        cmocka_unit_test_setup_teardown(expansion_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
