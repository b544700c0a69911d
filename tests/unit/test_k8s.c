/*
 * test_k8s.c — the Kubernetes executor without a cluster: the manifests it POSTs (every
 * field and every mount kind, against golden JSON written by hand from the contract in
 * core/k8s.h), the state mapping from Job, PyTorchJob and Pod objects shaped as the API
 * returns them (tests/engines/k8s/fixtures/, sources in its README), the HTTP error mapping
 * from Status objects, resource quantities, the in-cluster configuration and k8s_open's
 * refusals.  The HTTP paths are tested against a fake API server by tests/engines/test_k8s.sh.
 *
 * Run from the repository root (the fixtures are read by relative path, or from
 * $CUBE_K8S_FIXTURES).  Timestamps: 2025-03-04T10:00:00Z is 1741082400 (date -u -d ... +%s).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/js.h"
#include "core/k8s.h"
#include "core/common.h"

#define T0 1741082400 /* 2025-03-04T10:00:00Z, when every fixture's pod was created */

static const char *fixtures(void)
{
    const char *d = getenv("CUBE_K8S_FIXTURES");
    return d && *d ? d : "tests/engines/k8s/fixtures";
}

static json_object *load(struct arena *a, const char *name)
{
    char path[512], *text;
    const char *perr;
    FILE *f;
    long n;
    json_object *o;

    (void)snprintf(path, sizeof(path), "%s/%s", fixtures(), name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = arena_alloc(a, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    text[n] = '\0';
    o = js_parse(a, text, (size_t)n, &perr);
    if (!o)
        fail_msg("%s: %s", path, perr);
    return o;
}

static char *load_text(struct arena *a, const char *name, size_t *len)
{
    char path[512], *text;
    FILE *f;
    long n;

    (void)snprintf(path, sizeof(path), "%s/%s", fixtures(), name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = arena_alloc(a, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    text[n] = '\0';
    *len = (size_t)n;
    return text;
}

/* Compares a built manifest (consumed) with the expected JSON text. */
static void same_json(json_object *got, const char *want_text)
{
    struct arena a = ARENA_INIT;
    const char *perr;
    json_object *want = js_parse(&a, want_text, strlen(want_text), &perr);

    if (!want)
        fail_msg("expected JSON does not parse: %s", perr);
    assert_non_null(got);
    if (!json_object_equal(got, want)) {
        print_message("got:  %s\nwant: %s\n", js_str(got), js_str(want));
        json_object_put(got);
        arena_free(&a);
        fail();
    }
    json_object_put(got);
    arena_free(&a);
}

static bool starts_with_helper(const char *s, const char *prefix)
{
    if (!s || strncmp(s, prefix, strlen(prefix))) {
        print_message("'%s' does not start with '%s'\n", s ? s : "(null)", prefix);
        return false;
    }
    return true;
}

static struct exec_spec base_spec(const char *name)
{
    static const char *const argv[] = {"bash", "-c", "echo hi"};
    struct exec_spec s;

    memset(&s, 0, sizeof(s));
    s.name = name;
    s.argv = argv;
    s.argc = 3;
    s.image = "python:3.12-slim";
    return s;
}

/* ---- manifests ------------------------------------------------------------------------- */

#define LABELS_7_11_1                                                                            \
    "{\"cube/attempt\":\"cube-r7-t11-a1\",\"cube/run\":\"7\",\"cube/task\":\"11\",\"cube/try\":" \
    "\"1\",\"app.kubernetes.io/managed-by\":\"cube\"}"

static void t_job_minimal(void **state)
{
    struct exec_spec s = base_spec("cube-r7-t11-a1");
    (void)state;

    same_json(k8s_job_manifest(&s, "cube-jobs"),
              "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\","
              "\"metadata\":{\"name\":\"cube-r7-t11-a1\",\"namespace\":\"cube-jobs\","
              "\"labels\":" LABELS_7_11_1 "},"
              "\"spec\":{\"backoffLimit\":0,\"template\":{\"metadata\":{\"labels\":" LABELS_7_11_1
              "},"
              "\"spec\":{\"restartPolicy\":\"Never\",\"automountServiceAccountToken\":false,"
              "\"enableServiceLinks\":false,\"terminationGracePeriodSeconds\":10,"
              "\"containers\":[{\"name\":\"main\",\"image\":\"python:3.12-slim\","
              "\"command\":[\"bash\",\"-c\",\"echo hi\"],"
              "\"volumeMounts\":[{\"name\":\"dshm\",\"mountPath\":\"/dev/shm\"}]}],"
              "\"volumes\":[{\"name\":\"dshm\",\"emptyDir\":{\"medium\":\"Memory\"}}]}}}}");
}

static void t_job_every_field(void **state)
{
    static const char *const argv[] = {"python3", "train.py", "--epochs", "3"};
    static const char *const env[] = {"A=1", "B=x=y", "EMPTY="};
    static const char *const sel[] = {"disk=ssd", "zone=a"};
    static const char *const mounts[] = {
        "data(pvc):/mnt/data",     "shared(pvc-share):/mnt/shared",
        "ext(storage):/mnt/ext",   "/data/models(hostpath):/models",
        "10G(memory):/dev/shm",    "cfg(configmap):/etc/cfg",
        "creds(secret):/etc/creds"};
    struct exec_spec s = base_spec("cube-r12-t345-a2");
    (void)state;

    s.argv = argv;
    s.argc = 4;
    s.env = env;
    s.nenv = 3;
    s.workdir = "/workspace/src";
    s.timeout_s = 60;
    s.grace_s = 5;
    s.cpu = 1.5;
    s.memory_bytes = 268435456;
    s.gpus = 2;
    s.gpu_type = "V100";
    s.selector = sel;
    s.nselector = 2;
    s.mounts = mounts;
    s.nmounts = 7;
    s.image = "registry.example/ml:1";
    s.max_procs = 64; /* ignored on Kubernetes */
    s.isolate = true; /* ignored: containers are isolated */
    s.queue = "";

#define LABELS_12                                                                              \
    "{\"cube/attempt\":\"cube-r12-t345-a2\",\"cube/run\":\"12\",\"cube/task\":\"345\",\"cube/" \
    "try\":\"2\",\"app.kubernetes.io/managed-by\":\"cube\"}"
#define RES "{\"cpu\":\"1500m\",\"memory\":\"268435456\",\"nvidia.com/gpu\":\"2\"}"
    same_json(
        k8s_job_manifest(&s, "ml"),
        "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\","
        "\"metadata\":{\"name\":\"cube-r12-t345-a2\",\"namespace\":\"ml\",\"labels\":" LABELS_12
        "},"
        "\"spec\":{\"backoffLimit\":0,\"activeDeadlineSeconds\":65,"
        "\"template\":{\"metadata\":{\"labels\":" LABELS_12 "},"
        "\"spec\":{\"restartPolicy\":\"Never\",\"automountServiceAccountToken\":false,"
        "\"enableServiceLinks\":false,\"terminationGracePeriodSeconds\":5,"
        "\"nodeSelector\":{\"disk\":\"ssd\",\"zone\":\"a\",\"gpu-type\":\"V100\"},"
        "\"containers\":[{\"name\":\"main\",\"image\":\"registry.example/ml:1\","
        "\"command\":[\"python3\",\"train.py\",\"--epochs\",\"3\"],\"workingDir\":\"/workspace/"
        "src\","
        "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"x=y\"},"
        "{\"name\":\"EMPTY\",\"value\":\"\"}],"
        "\"resources\":{\"requests\":" RES ",\"limits\":" RES "},"
        "\"volumeMounts\":["
        "{\"name\":\"vol0-pvc\",\"mountPath\":\"/mnt/data\"},"
        "{\"name\":\"vol1-pvc-share\",\"mountPath\":\"/mnt/shared\"},"
        "{\"name\":\"vol2-storage\",\"mountPath\":\"/mnt/ext\"},"
        "{\"name\":\"vol3-hostpath\",\"mountPath\":\"/models\"},"
        "{\"name\":\"vol4-memory\",\"mountPath\":\"/dev/shm\"},"
        "{\"name\":\"vol5-configmap\",\"mountPath\":\"/etc/cfg\"},"
        "{\"name\":\"vol6-secret\",\"mountPath\":\"/etc/creds\"}]}],"
        "\"volumes\":["
        "{\"name\":\"vol0-pvc\",\"persistentVolumeClaim\":{\"claimName\":\"data\"}},"
        "{\"name\":\"vol1-pvc-share\",\"persistentVolumeClaim\":{\"claimName\":\"shared\"}},"
        "{\"name\":\"vol2-storage\",\"persistentVolumeClaim\":{\"claimName\":\"ext\"}},"
        "{\"name\":\"vol3-hostpath\",\"hostPath\":{\"path\":\"/data/models\"}},"
        "{\"name\":\"vol4-memory\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"10Gi\"}},"
        "{\"name\":\"vol5-configmap\",\"configMap\":{\"name\":\"cfg\"}},"
        "{\"name\":\"vol6-secret\",\"secret\":{\"secretName\":\"creds\"}}]}}}}");
#undef RES
#undef LABELS_12
}

/* Pieces of a manifest, for the smaller cases. */
static json_object *pod_spec_of(json_object *job)
{
    json_object *spec = js_get(js_get(js_get(job, "spec"), "template"), "spec");
    assert_non_null(spec);
    return spec;
}

static json_object *container_of(json_object *job)
{
    return json_object_array_get_idx(js_get(pod_spec_of(job), "containers"), 0);
}

static void t_resources_rounding(void **state)
{
    struct exec_spec s = base_spec("cube-r1-t1-a1");
    json_object *j;
    (void)state;

    /* 0.0001 cores is below a millicore: the smallest request, 1m.  0.25 → 250m exactly. */
    s.cpu = 0.0001;
    j = k8s_job_manifest(&s, "default");
    assert_string_equal(js_get_str(js_get(js_get(container_of(j), "resources"), "limits"), "cpu"),
                        "1m");
    json_object_put(j);
    s.cpu = 0.25;
    j = k8s_job_manifest(&s, "default");
    assert_string_equal(js_get_str(js_get(js_get(container_of(j), "resources"), "requests"), "cpu"),
                        "250m");
    assert_null(js_get(js_get(js_get(container_of(j), "resources"), "requests"), "memory"));
    json_object_put(j);
    /* 2.0001 cores rounds up to 2001m (never below what was asked). */
    s.cpu = 2.0001;
    j = k8s_job_manifest(&s, "default");
    assert_string_equal(js_get_str(js_get(js_get(container_of(j), "resources"), "limits"), "cpu"),
                        "2001m");
    json_object_put(j);
    /* gpu_type without gpus: no gpu-type selector, no nodeSelector at all. */
    s.cpu = 0;
    s.gpu_type = "A100";
    j = k8s_job_manifest(&s, "default");
    assert_null(js_get(pod_spec_of(j), "nodeSelector"));
    assert_null(js_get(container_of(j), "resources"));
    json_object_put(j);
}

static void t_default_grace_and_selector_wins(void **state)
{
    static const char *const sel[] = {"gpu-type=H100"};
    struct exec_spec s = base_spec("cube-r1-t1-a1");
    json_object *j;
    (void)state;

    /* grace 0 means EXEC_DEFAULT_GRACE_S, documented as 10 s: deadline = 100 + 10. */
    s.timeout_s = 100;
    s.gpus = 1;
    s.gpu_type = "V100";
    s.selector = sel;
    s.nselector = 1;
    j = k8s_job_manifest(&s, "default");
    assert_int_equal(json_object_get_int64(js_get(js_get(j, "spec"), "activeDeadlineSeconds")),
                     110);
    assert_int_equal(json_object_get_int64(js_get(pod_spec_of(j), "terminationGracePeriodSeconds")),
                     10);
    /* An explicit gpu-type selector is not overridden by gpu_type. */
    assert_string_equal(js_get_str(js_get(pod_spec_of(j), "nodeSelector"), "gpu-type"), "H100");
    assert_int_equal(json_object_object_length(js_get(pod_spec_of(j), "nodeSelector")), 1);
    json_object_put(j);
}

static void t_memory_mount_sizes(void **state)
{
    static const char *const m1[] = {"512M(memory):/scratch"};
    static const char *const m2[] = {"(memory):/scratch"};
    static const char *const m3[] = {"1.5G(memory):/scratch"};
    static const char *const m4[] = {"64Mi(memory):/scratch"};
    static const char *const *const all[] = {m1, m2, m3, m4};
    static const char *const want[] = {"512Mi", NULL, "1.5Gi", "64Mi"};
    (void)state;

    for (size_t i = 0; i < ARRAY_LEN(all); i++) {
        struct exec_spec s = base_spec("cube-r1-t1-a1");
        json_object *j, *vol;
        s.mounts = all[i];
        s.nmounts = 1;
        j = k8s_job_manifest(&s, "default");
        assert_non_null(j);
        vol = json_object_array_get_idx(js_get(pod_spec_of(j), "volumes"), 0);
        assert_string_equal(js_get_str(vol, "name"), "vol0-memory");
        assert_string_equal(js_get_str(js_get(vol, "emptyDir"), "medium"), "Memory");
        if (want[i])
            assert_string_equal(js_get_str(js_get(vol, "emptyDir"), "sizeLimit"), want[i]);
        else
            assert_null(js_get(js_get(vol, "emptyDir"), "sizeLimit"));
        /* /dev/shm was not mounted: the default dshm volume follows. */
        assert_string_equal(
            js_get_str(json_object_array_get_idx(js_get(pod_spec_of(j), "volumes"), 1), "name"),
            "dshm");
        json_object_put(j);
    }
}

static void t_bad_mounts(void **state)
{
    static const char *const bad[] = {
        "data(nfs):/mnt",          /* unknown kind */
        "data(pvc):mnt",           /* relative path */
        "data:/mnt",               /* no kind */
        "data(pvc)/mnt",           /* no colon */
        "(pvc):/mnt",              /* no claim name */
        "10X(memory):/dev/shm",    /* bad size */
        "1.2.3G(memory):/dev/shm", /* bad size */
        "rel/dir(hostpath):/mnt",  /* relative host path */
    };
    static const char *const dup[] = {"a(pvc):/mnt", "b(configmap):/mnt"};
    struct exec_spec s = base_spec("cube-r1-t1-a1");
    (void)state;

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        s.mounts = &bad[i];
        s.nmounts = 1;
        if (k8s_job_manifest(&s, "default"))
            fail_msg("mount '%s' was accepted", bad[i]);
    }
    s.mounts = dup;
    s.nmounts = 2;
    assert_null(k8s_job_manifest(&s, "default"));
}

static void t_bad_specs(void **state)
{
    static const char *const bad_env[] = {"NOEQUALS"};
    static const char *const bad_env2[] = {"=value"};
    static const char *const bad_sel[] = {"justakey"};
    struct exec_spec s;
    (void)state;

    s = base_spec("cube-r1-t1-a1");
    s.image = "";
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    s.image = NULL;
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    s.argc = 0;
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    s.workdir = "relative/dir";
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    s.gpus = 0.5;
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("Not_A_Name");
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    s.replicas = 2;
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    s.timeout_s = -1;
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    s.env = bad_env;
    s.nenv = 1;
    assert_null(k8s_job_manifest(&s, "default"));
    s.env = bad_env2;
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    s.selector = bad_sel;
    s.nselector = 1;
    assert_null(k8s_job_manifest(&s, "default"));
    s = base_spec("cube-r1-t1-a1");
    assert_null(k8s_job_manifest(&s, "Bad_Namespace"));
    assert_null(k8s_job_manifest(&s, ""));
    s.cpu = -1;
    assert_null(k8s_job_manifest(&s, "default"));
    /* and the valid base is accepted, so the refusals above are about their one change */
    s.cpu = 0;
    {
        json_object *j = k8s_job_manifest(&s, "default");
        assert_non_null(j);
        json_object_put(j);
    }
}

static void t_labels_other_names(void **state)
{
    struct exec_spec s = base_spec("adhoc-run-1");
    json_object *j, *l;
    (void)state;

    j = k8s_job_manifest(&s, "default");
    l = js_get(js_get(j, "metadata"), "labels");
    assert_string_equal(js_get_str(l, "cube/attempt"), "adhoc-run-1");
    assert_null(js_get(l, "cube/run"));
    assert_null(js_get(l, "cube/task"));
    assert_int_equal(json_object_object_length(l), 2);
    json_object_put(j);
    /* Almost the shape: a letter where a number should be. */
    s = base_spec("cube-r1-tx-a1");
    j = k8s_job_manifest(&s, "default");
    assert_null(js_get(js_get(js_get(j, "metadata"), "labels"), "cube/run"));
    json_object_put(j);
}

static void t_pytorchjob(void **state)
{
    static const char *const env[] = {
        "MASTER_ADDR=127.0.0.1", "MASTER_PORT=29511", "WORLD_SIZE=3", "FOO=bar", "RANK=0",
        "LOCAL_RANK=5"};
    static const char *const argv[] = {"bash", "-c", "torchrun train.py"};
    struct exec_spec s = base_spec("cube-r8-t21-a1");
    (void)state;

    s.argv = argv;
    s.env = env;
    s.nenv = 6;
    s.replicas = 3;
    s.timeout_s = 600;
    s.grace_s = 30;
    s.gpus = 1;
    s.image = "pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime";
#define LABELS_8                                                                           \
    "{\"cube/attempt\":\"cube-r8-t21-a1\",\"cube/run\":\"8\",\"cube/task\":\"21\",\"cube/" \
    "try\":\"1\",\"app.kubernetes.io/managed-by\":\"cube\"}"
#define TEMPLATE                                                                                 \
    "{\"metadata\":{\"labels\":" LABELS_8 "},\"spec\":{\"restartPolicy\":\"Never\","             \
    "\"automountServiceAccountToken\":false,\"enableServiceLinks\":false,"                       \
    "\"terminationGracePeriodSeconds\":30,\"containers\":[{\"name\":\"pytorch\","                \
    "\"image\":\"pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime\","                               \
    "\"command\":[\"bash\",\"-c\",\"torchrun train.py\"],"                                       \
    "\"env\":[{\"name\":\"FOO\",\"value\":\"bar\"},{\"name\":\"LOCAL_RANK\",\"value\":\"0\"}],"  \
    "\"resources\":{\"requests\":{\"nvidia.com/gpu\":\"1\"},\"limits\":{\"nvidia.com/"           \
    "gpu\":\"1\"}},"                                                                             \
    "\"volumeMounts\":[{\"name\":\"dshm\",\"mountPath\":\"/dev/shm\"}],"                         \
    "\"ports\":[{\"name\":\"pytorchjob-port\",\"containerPort\":29511,\"protocol\":\"TCP\"}]}]," \
    "\"volumes\":[{\"name\":\"dshm\",\"emptyDir\":{\"medium\":\"Memory\"}}]}}"
    same_json(
        k8s_pytorchjob_manifest(&s, "cube-jobs"),
        "{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\","
        "\"metadata\":{\"name\":\"cube-r8-t21-a1\",\"namespace\":\"cube-jobs\",\"labels\":" LABELS_8
        "},"
        "\"spec\":{\"runPolicy\":{\"backoffLimit\":0,\"activeDeadlineSeconds\":630,"
        "\"cleanPodPolicy\":\"Running\"},\"pytorchReplicaSpecs\":{"
        "\"Master\":{\"replicas\":1,\"restartPolicy\":\"Never\",\"template\":" TEMPLATE "},"
        "\"Worker\":{\"replicas\":2,\"restartPolicy\":\"Never\",\"template\":" TEMPLATE "}}}}");
#undef TEMPLATE
#undef LABELS_8
}

static void t_pytorchjob_refusals(void **state)
{
    static const char *const bad_port[] = {"MASTER_PORT=http"};
    struct exec_spec s = base_spec("cube-r8-t21-a1");
    json_object *j;
    (void)state;

    s.replicas = 1;
    assert_null(k8s_pytorchjob_manifest(&s, "default"));
    s.replicas = EXEC_MAX_REPLICAS + 1;
    assert_null(k8s_pytorchjob_manifest(&s, "default"));
    s.replicas = 2;
    s.env = bad_port;
    s.nenv = 1;
    assert_null(k8s_pytorchjob_manifest(&s, "default"));
    /* No MASTER_PORT given: the distributed template's default, 29500. */
    s.nenv = 0;
    j = k8s_pytorchjob_manifest(&s, "default");
    assert_non_null(j);
    assert_int_equal(json_object_get_int64(js_get(
                         json_object_array_get_idx(
                             js_get(json_object_array_get_idx(
                                        js_get(js_get(js_get(js_get(js_get(js_get(j, "spec"),
                                                                           "pytorchReplicaSpecs"),
                                                                    "Worker"),
                                                             "template"),
                                                      "spec"),
                                               "containers"),
                                        0),
                                    "ports"),
                             0),
                         "containerPort")),
                     29500);
    assert_int_equal(
        json_object_get_int64(
            js_get(js_get(js_get(js_get(j, "spec"), "pytorchReplicaSpecs"), "Worker"), "replicas")),
        1);
    json_object_put(j);
}

/* ---- state mapping --------------------------------------------------------------------- */

struct mapped {
    struct arena a;
    struct exec_status st;
};

static void map(struct mapped *m, const char *obj, const char *pods, int64_t now)
{
    json_object *o = load(&m->a, obj), *p = pods ? load(&m->a, pods) : NULL;
    assert_int_equal(k8s_status_of(&m->a, o, p, now, &m->st), ERR_OK);
}

static void t_state_succeeded(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "job-succeeded.json", "pods-succeeded.json", T0 + 100);
    assert_int_equal(m.st.state, EXEC_SUCCEEDED);
    assert_int_equal(m.st.exit_code, 0);
    assert_string_equal(m.st.reason, "exit 0");
    assert_int_equal(m.st.started_at, T0);
    assert_int_equal(m.st.finished_at, T0 + 67); /* completionTime 10:01:07 */
    assert_false(m.st.timed_out || m.st.oom_killed || m.st.cancelled);
    arena_free(&m.a);
}

static void t_state_failed_exit3(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "job-failed-exit3.json", "pods-failed-exit3.json", T0 + 100);
    assert_int_equal(m.st.state, EXEC_FAILED);
    assert_int_equal(m.st.exit_code, 3);
    assert_int_equal(m.st.term_signal, 0);
    assert_string_equal(m.st.reason, "exit 3");
    assert_false(m.st.timed_out || m.st.oom_killed);
    assert_int_equal(m.st.finished_at, T0 + 67);
    arena_free(&m.a);
}

static void t_state_oom(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "job-oomkilled.json", "pods-oomkilled.json", T0 + 100);
    assert_int_equal(m.st.state, EXEC_FAILED);
    assert_true(m.st.oom_killed);
    assert_false(m.st.timed_out);
    assert_string_equal(m.st.reason, "out of memory");
    assert_int_equal(m.st.exit_code, 137);
    arena_free(&m.a);
}

static void t_state_deadline(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "job-deadline.json", "pods-deadline.json", T0 + 100);
    assert_int_equal(m.st.state, EXEC_FAILED);
    assert_true(m.st.timed_out);
    assert_false(m.st.oom_killed);
    assert_string_equal(m.st.reason, "timeout after 70 s");
    assert_int_equal(m.st.finished_at, T0 + 70);
    arena_free(&m.a);
    /* Before the Failed condition (FailureTarget only, the pod terminating): still running. */
    m.a = (struct arena)ARENA_INIT;
    map(&m, "job-deadline-terminating.json", "pods-deadline-terminating.json", T0 + 75);
    assert_int_equal(m.st.state, EXEC_RUNNING);
    assert_string_equal(m.st.reason, "pending: pod terminating");
    assert_false(m.st.timed_out);
    arena_free(&m.a);
}

static void t_state_unschedulable(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "job-pending-unschedulable.json", "pods-unschedulable.json", T0 + 3600);
    assert_int_equal(m.st.state, EXEC_RUNNING); /* an hour: still waiting, never LOST */
    assert_true(
        starts_with_helper(m.st.reason, "pending: unschedulable: 0/3 nodes are available:"));
    assert_non_null(strstr(m.st.reason, "2 Insufficient nvidia.com/gpu"));
    arena_free(&m.a);
}

static void t_state_image_pull(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "job-pending-imagepull.json", "pods-imagepullbackoff.json", T0 + 60);
    assert_int_equal(m.st.state, EXEC_RUNNING);
    assert_string_equal(m.st.reason, "pending: image pull: Back-off pulling image "
                                     "\"registry.example.com/ml/trainer:v9\"");
    arena_free(&m.a);
    /* One second short of the 300 s grace, then at it. */
    m.a = (struct arena)ARENA_INIT;
    map(&m, "job-pending-imagepull.json", "pods-imagepullbackoff.json", T0 + 299);
    assert_int_equal(m.st.state, EXEC_RUNNING);
    arena_free(&m.a);
    m.a = (struct arena)ARENA_INIT;
    map(&m, "job-pending-imagepull.json", "pods-imagepullbackoff.json", T0 + 300);
    assert_int_equal(m.st.state, EXEC_LOST);
    assert_string_equal(m.st.reason, "failed to start: image pull: Back-off pulling image "
                                     "\"registry.example.com/ml/trainer:v9\" (for 300 s)");
    arena_free(&m.a);
    /* An invalid image name never becomes valid: LOST at once. */
    m.a = (struct arena)ARENA_INIT;
    map(&m, "job-pending-invalidimage.json", "pods-invalidimagename.json", T0 + 5);
    assert_int_equal(m.st.state, EXEC_LOST);
    assert_true(starts_with_helper(m.st.reason, "failed to start: InvalidImageName: "));
    arena_free(&m.a);
}

static void t_state_running_and_foreign_pods(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "job-running.json", "pods-running.json", T0 + 10);
    assert_int_equal(m.st.state, EXEC_RUNNING);
    assert_string_equal(m.st.reason, "running");
    assert_int_equal(m.st.started_at, T0);
    arena_free(&m.a);
    /* Pods whose controller is another Job (a deleted namesake's) are not this attempt's. */
    m.a = (struct arena)ARENA_INIT;
    map(&m, "job-running.json", "pods-failed-exit3.json", T0 + 10);
    assert_int_equal(m.st.state, EXEC_RUNNING);
    assert_string_equal(m.st.reason, "pending: no pod yet");
    arena_free(&m.a);
    m.a = (struct arena)ARENA_INIT;
    map(&m, "job-running.json", NULL, T0 + 10);
    assert_string_equal(m.st.reason, "pending: no pod yet");
    arena_free(&m.a);
}

static void t_state_evicted(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "job-evicted.json", "pods-evicted.json", T0 + 100);
    assert_int_equal(m.st.state, EXEC_FAILED);
    assert_true(starts_with_helper(m.st.reason,
                                   "lost: pod evicted: The node was low on resource: memory."));
    assert_false(m.st.oom_killed);
    arena_free(&m.a);
}

static void t_state_being_deleted(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    json_object *o;
    (void)state;

    o = load(&m.a, "job-running.json");
    json_object_object_add(js_get(o, "metadata"), "deletionTimestamp",
                           json_object_new_string("2025-03-04T10:05:00Z"));
    assert_int_equal(k8s_status_of(&m.a, o, load(&m.a, "pods-running.json"), T0 + 300, &m.st),
                     ERR_OK);
    assert_int_equal(m.st.state, EXEC_LOST);
    arena_free(&m.a);
}

static void t_state_not_a_job(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    assert_int_equal(k8s_status_of(&m.a, load(&m.a, "status-404-job.json"), NULL, T0, &m.st),
                     ERR_UNAVAILABLE);
    assert_int_equal(k8s_status_of(&m.a, load(&m.a, "pods-running.json"), NULL, T0, &m.st),
                     ERR_UNAVAILABLE);
    arena_free(&m.a);
}

static void t_state_pytorchjob(void **state)
{
    struct mapped m = {ARENA_INIT, {0}};
    (void)state;

    map(&m, "pytorchjob-running.json", "pods-pytorchjob-running.json", T0 + 10);
    assert_int_equal(m.st.state, EXEC_RUNNING);
    assert_string_equal(m.st.reason, "running");
    arena_free(&m.a);

    /* Two workers failed: worker 1 (rank 2) at 10:00:40 with 2, worker 0 (rank 1) at 10:00:45
     * with 1.  The first to fail gives the code; 1 master + 2 workers = 3 ranks. */
    m.a = (struct arena)ARENA_INIT;
    map(&m, "pytorchjob-failed.json", "pods-pytorchjob-failed.json", T0 + 100);
    assert_int_equal(m.st.state, EXEC_FAILED);
    assert_int_equal(m.st.exit_code, 2);
    assert_string_equal(m.st.reason, "exit 2 (rank 2 of 3)");
    assert_int_equal(m.st.finished_at, T0 + 40);
    arena_free(&m.a);

    /* Failed, but the master still runs (not deleted yet): not terminal. */
    m.a = (struct arena)ARENA_INIT;
    map(&m, "pytorchjob-failed.json", "pods-pytorchjob-failed-master-running.json", T0 + 41);
    assert_int_equal(m.st.state, EXEC_RUNNING);
    assert_string_equal(m.st.reason, "finishing: 1 pod(s) still running");
    arena_free(&m.a);

    m.a = (struct arena)ARENA_INIT;
    map(&m, "pytorchjob-deadline.json", NULL, T0 + 200);
    assert_int_equal(m.st.state, EXEC_FAILED);
    assert_true(m.st.timed_out);
    assert_string_equal(m.st.reason, "timeout after 120 s");
    arena_free(&m.a);

    m.a = (struct arena)ARENA_INIT;
    map(&m, "pytorchjob-succeeded.json", "pods-pytorchjob-succeeded.json", T0 + 200);
    assert_int_equal(m.st.state, EXEC_SUCCEEDED);
    assert_int_equal(m.st.exit_code, 0);
    assert_int_equal(m.st.finished_at, T0 + 120);
    arena_free(&m.a);
}

/* ---- HTTP errors, quantities, configuration ------------------------------------------- */

static void one_error(const char *file, long code, enum err want, const char *want_msg)
{
    struct arena a = ARENA_INIT;
    const char *msg;
    size_t len;
    char *body = load_text(&a, file, &len);

    assert_int_equal(k8s_http_error(&a, code, body, len, &msg), want);
    assert_non_null(msg);
    if (!strstr(msg, want_msg))
        fail_msg("%s: message '%s' lacks '%s'", file, msg, want_msg);
    arena_free(&a);
}

static void t_http_errors(void **state)
{
    struct arena a = ARENA_INIT;
    const char *msg;
    (void)state;

    one_error("status-401.json", 401, ERR_UNAUTH, "Unauthorized");
    one_error("status-403.json", 403, ERR_FORBIDDEN,
              "cannot create resource \"jobs\" in API group \"batch\"");
    one_error("status-403-quota.json", 403, ERR_FORBIDDEN, "exceeded quota: compute");
    one_error("status-404-job.json", 404, ERR_NOT_FOUND, "jobs.batch \"cube-r9-t1-a1\" not found");
    one_error("status-409-alreadyexists.json", 409, ERR_CONFLICT, "already exists");
    one_error("status-422-invalid.json", 422, ERR_BADREQ, "containers[0].image: Required value");
    one_error("status-500.json", 500, ERR_UNAVAILABLE, "etcdserver: request timed out");
    one_error("garbage.txt", 502, ERR_UNAVAILABLE, "HTTP 502: <html><head><title>502 Bad Gateway");
    one_error("notfound-page.txt", 404, ERR_NOT_FOUND, "HTTP 404: 404 page not found");
    assert_int_equal(k8s_http_error(&a, 429, "", 0, &msg), ERR_THROTTLED);
    assert_string_equal(msg, "HTTP 429");
    assert_int_equal(k8s_http_error(&a, 302, "", 0, &msg), ERR_UNAVAILABLE);
    assert_int_equal(k8s_http_error(&a, 201, "{}", 2, &msg), ERR_OK);
    assert_null(msg);
    arena_free(&a);
}

static void t_quantities(void **state)
{
    static const struct {
        const char *s;
        double v;
    } good[] = {
        {"4", 4},
        {"250m", 0.25},
        {"7910m", 7.91},
        {"16393292Ki", 16393292.0 * 1024},
        {"1.5G", 1.5e9},
        {"2e3", 2000},
        {"1E", 1e18},
        {"5Mi", 5242880},
        {"-1", -1},
        {".5", 0.5},
        {"100n", 1e-7},
        {"1e-2", 0.01},
        {"2Gi", 2147483648.0},
    };
    static const char *const bad[] = {"",     "abc", "1x",  "0x10", ".", "1KI",
                                      "1 Gi", "inf", "nan", "1e",   "Ki"};
    double v;
    (void)state;

    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        if (!k8s_quantity(good[i].s, &v))
            fail_msg("'%s' rejected", good[i].s);
        double d = v - good[i].v, tol = (good[i].v < 0 ? -good[i].v : good[i].v) * 1e-12 + 1e-15;
        if (d > tol || d < -tol)
            fail_msg("'%s' = %.17g, want %.17g", good[i].s, v, good[i].v);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (k8s_quantity(bad[i], &v))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(k8s_quantity(NULL, &v));
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    FILE *f;

    (void)snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void t_in_cluster(void **state)
{
    char dir[] = "/tmp/cube-k8s-sa-XXXXXX";
    struct arena a = ARENA_INIT;
    struct engine_conf c;
    char err[256];
    (void)state;

    assert_non_null(mkdtemp(dir));
    write_file(dir, "token", "eyJhbGciOiJSUzI1NiJ9.payload.sig\n");
    write_file(dir, "ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    write_file(dir, "namespace", "cube-jobs");

    memset(&c, 0, sizeof(c));
    c.timeout_ms = 1234;
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(k8s_conf_in_cluster(&a, dir, &c, err, sizeof(err)), ERR_OK);
    assert_string_equal(c.endpoint, "https://10.96.0.1:443");
    assert_string_equal(c.token, "eyJhbGciOiJSUzI1NiJ9.payload.sig");
    assert_string_equal(c.ca_pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
    assert_string_equal(c.queue, "cube-jobs");
    assert_int_equal(c.timeout_ms, 1234); /* untouched */

    setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
    unsetenv("KUBERNETES_SERVICE_PORT");
    assert_int_equal(k8s_conf_in_cluster(&a, dir, &c, err, sizeof(err)), ERR_OK);
    assert_string_equal(c.endpoint, "https://[fd00:10:96::1]:443");

    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(k8s_conf_in_cluster(&a, dir, &c, err, sizeof(err)), ERR_NOT_FOUND);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    {
        char path[256];
        (void)snprintf(path, sizeof(path), "%s/token", dir);
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(k8s_conf_in_cluster(&a, dir, &c, err, sizeof(err)), ERR_NOT_FOUND);
    unsetenv("KUBERNETES_SERVICE_HOST");
    {
        char path[256];
        (void)snprintf(path, sizeof(path), "%s/ca.crt", dir);
        unlink(path);
        (void)snprintf(path, sizeof(path), "%s/namespace", dir);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
    arena_free(&a);
}

static void t_open_refusals(void **state)
{
    struct engine_conf c;
    struct k8s *k;
    char err[256];
    (void)state;

    memset(&c, 0, sizeof(c));
    c.endpoint = "ftp://example";
    assert_null(k8s_open(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "http"));
    c.endpoint = NULL;
    assert_null(k8s_open(&c, err, sizeof(err)));
    c.endpoint = "https://k8s.example:6443/";
    c.queue = "Not_A_Namespace";
    assert_null(k8s_open(&c, err, sizeof(err)));
    c.queue = "cube-jobs";
    c.token = "abc\r\nX-Evil: 1";
    assert_null(k8s_open(&c, err, sizeof(err)));
    c.token = "abc";
    k = k8s_open(&c, err, sizeof(err));
    assert_non_null(k);
    assert_string_equal(k8s_last_error(k), "");
    k8s_close(k);
    k8s_close(NULL);
}

/* Nothing listens on 127.0.0.1:1: every verb is an error, never a state. */
static void t_unreachable(void **state)
{
    struct engine_conf c;
    struct arena a = ARENA_INIT;
    struct exec_status st;
    struct exec_spec s = base_spec("cube-r1-t1-a1");
    struct k8s *k;
    json_object *report;
    const char *data;
    size_t len;
    int64_t next;
    bool eof;
    char err[128];
    (void)state;

    memset(&c, 0, sizeof(c));
    c.endpoint = "http://127.0.0.1:1";
    c.timeout_ms = 2000;
    k = k8s_open(&c, err, sizeof(err));
    assert_non_null(k);
    assert_int_equal(k8s_status(k, &a, "cube-r1-t1-a1", &st), ERR_UNAVAILABLE);
    assert_true(*k8s_last_error(k));
    assert_string_equal(st.reason, k8s_last_error(k)); /* the reason says why, for the log */
    assert_int_equal(k8s_submit(k, &s), ERR_UNAVAILABLE);
    assert_int_equal(k8s_cancel(k, "cube-r1-t1-a1"), ERR_UNAVAILABLE);
    assert_int_equal(k8s_remove(k, "cube-r1-t1-a1", false), ERR_UNAVAILABLE);
    assert_int_equal(k8s_log(k, &a, "cube-r1-t1-a1", 0, 100, &data, &len, &next, &eof),
                     ERR_UNAVAILABLE);
    assert_int_equal(k8s_check(k, &a, &report), ERR_UNAVAILABLE);
    assert_false(json_object_get_boolean(js_get(report, "ok")));
    /* Invalid names never reach the network. */
    assert_int_equal(k8s_status(k, &a, "../etc", &st), ERR_BADREQ);
    assert_int_equal(k8s_cancel(k, "UPPER"), ERR_BADREQ);
    k8s_close(k);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_job_minimal),
        cmocka_unit_test(t_job_every_field),
        cmocka_unit_test(t_resources_rounding),
        cmocka_unit_test(t_default_grace_and_selector_wins),
        cmocka_unit_test(t_memory_mount_sizes),
        cmocka_unit_test(t_bad_mounts),
        cmocka_unit_test(t_bad_specs),
        cmocka_unit_test(t_labels_other_names),
        cmocka_unit_test(t_pytorchjob),
        cmocka_unit_test(t_pytorchjob_refusals),
        cmocka_unit_test(t_state_succeeded),
        cmocka_unit_test(t_state_failed_exit3),
        cmocka_unit_test(t_state_oom),
        cmocka_unit_test(t_state_deadline),
        cmocka_unit_test(t_state_unschedulable),
        cmocka_unit_test(t_state_image_pull),
        cmocka_unit_test(t_state_running_and_foreign_pods),
        cmocka_unit_test(t_state_evicted),
        cmocka_unit_test(t_state_being_deleted),
        cmocka_unit_test(t_state_not_a_job),
        cmocka_unit_test(t_state_pytorchjob),
        cmocka_unit_test(t_http_errors),
        cmocka_unit_test(t_quantities),
        cmocka_unit_test(t_in_cluster),
        cmocka_unit_test(t_open_refusals),
        cmocka_unit_test(t_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
