/*
 * k8s.c — the Kubernetes executor over the REST API (libcurl + json-c).  The
 * contract — manifests, state mapping, errors, logs — is in k8s.h; the verbs
 * mirror exec.h.
 *
 * Layout: small JSON readers, the manifest builders, the status mapping (all
 * pure), then the HTTP layer and the verbs.  Every request is one blocking
 * curl_easy_perform bounded by engine_conf.timeout_ms; nothing is cached
 * between calls, so a restarted scheduler or watcher re-attaches by name.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/js.h"
#include "core/k8s.h"
#include "core/log.h"
#include "core/common.h"

#define LABEL_ATTEMPT "cube/attempt"
#define LABEL_RUN "cube/run"
#define LABEL_TASK "cube/task"
#define LABEL_TRY "cube/try"
#define LABEL_MANAGED "app.kubernetes.io/managed-by"
#define PT_TYPE_LABEL "training.kubeflow.org/replica-type"
#define PT_INDEX_LABEL "training.kubeflow.org/replica-index"
#define GPU_RESOURCE "nvidia.com/gpu"
#define GPU_TYPE_LABEL "gpu-type"

enum {
    ERRMSG_MAX = 512,
    SUBMIT_ANSWER_MAX = 4 << 20, /* the created object echoed back */
    SMALL_ANSWER_MAX = 1 << 20
};

struct k8s {
    CURL *curl;
    char *endpoint; /* no trailing slash */
    char *auth;     /* "Authorization: Bearer <token>", or NULL */
    char *ca_pem;
    size_t ca_len;
    char *ns;
    long timeout_ms;
    int64_t deadline_us; /* the current verb's budget ends here (clock_mono_us) */
    char err[ERRMSG_MAX];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool dns_label(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* Pod names are DNS subdomains: what may go into a URL path unescaped. */
static bool dns_subdomain(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '.'))
            return false;
    return true;
}

static bool starts_with(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

/* Dotted path of object members; NULL when any step is missing. */
static json_object *jpath(json_object *o, const char *path)
{
    char key[64];
    const char *p = path;

    while (o && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        o = js_get(o, key);
        p += n;
        if (*p == '.')
            p++;
    }
    return o;
}

static const char *jstr(json_object *o, const char *path)
{
    json_object *v = jpath(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static const char *jstr_or(json_object *o, const char *path, const char *dflt)
{
    const char *s = jstr(o, path);
    return s ? s : dflt;
}

static int64_t jint(json_object *o, const char *path, int64_t dflt)
{
    json_object *v = jpath(o, path);
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : dflt;
}

/* Label keys have dots and slashes, so not through jpath. */
static const char *label(json_object *o, const char *key)
{
    return js_get_str(js_get(js_get(o, "metadata"), "labels"), key);
}

static size_t jlen(json_object *arr)
{
    return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

/* RFC 3339 as the API server writes it ("2024-05-01T10:00:00Z", maybe with a fraction);
 * 0 when unparsable. */
static int64_t rfc3339(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || !n)
        return 0;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm);
}

/* ---- quantities ------------------------------------------------------------------------- */

bool k8s_quantity(const char *s, double *out)
{
    static const struct {
        const char *suffix;
        double mult;
    } suffixes[] = {
        {"", 1},
        {"n", 1e-9},
        {"u", 1e-6},
        {"m", 1e-3},
        {"k", 1e3},
        {"M", 1e6},
        {"G", 1e9},
        {"T", 1e12},
        {"P", 1e15},
        {"E", 1e18},
        {"Ki", 1024.0},
        {"Mi", 1048576.0},
        {"Gi", 1073741824.0},
        {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0},
        {"Ei", 1152921504606846976.0},
    };
    char num[64];
    const char *p = s;
    size_t n;
    double v;

    if (!s)
        return false;
    if (*p == '+' || *p == '-')
        p++;
    n = strspn(p, "0123456789");
    if (p[n] == '.')
        n += 1 + strspn(p + n + 1, "0123456789");
    if (!n || (n == 1 && p[0] == '.'))
        return false;
    n += (size_t)(p - s);
    if (n >= sizeof(num))
        return false;
    memcpy(num, s, n);
    num[n] = '\0';
    v = strtod(num, NULL);
    p = s + n;
    /* Decimal exponent form: 1e3, 1E-2 (an "E" alone is the exa suffix). */
    if ((*p == 'e' || *p == 'E') &&
        (isdigit((unsigned char)p[1]) ||
         ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
        int64_t ex;
        if (!parse_i64(p + 1, -30, 30, &ex))
            return false;
        for (; ex > 0; ex--)
            v *= 10.0; /* no libm: the Makefile links none */
        for (; ex < 0; ex++)
            v /= 10.0;
        *out = v;
        return true;
    }
    for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
        if (!strcmp(p, suffixes[i].suffix)) {
            *out = v * suffixes[i].mult;
            return true;
        }
    }
    return false;
}

/* ---- manifests -------------------------------------------------------------------------- */

static void put_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, js_new_str(v));
}

static void put_int(json_object *o, const char *key, int64_t v)
{
    json_object_object_add(o, key, json_object_new_int64(v));
}

/* cube-r<run>-t<ti>-a<try>: the three numbers, when the name has that shape. */
static bool name_parts(const char *name, char parts[3][24])
{
    static const char tags[3] = {'r', 't', 'a'};
    const char *p = name;

    if (strncmp(p, "cube-", 5))
        return false;
    p += 5;
    for (int i = 0; i < 3; i++) {
        size_t n;
        int64_t v;
        if (*p != tags[i])
            return false;
        p++;
        n = strspn(p, "0123456789");
        if (!n || n >= sizeof(parts[i]))
            return false;
        memcpy(parts[i], p, n);
        parts[i][n] = '\0';
        if (!parse_i64(parts[i], 0, INT64_MAX, &v))
            return false;
        p += n;
        if (i < 2 && *p++ != '-')
            return false;
    }
    return !*p;
}

static json_object *labels_for(const char *name)
{
    json_object *l = json_object_new_object();
    char parts[3][24];

    put_str(l, LABEL_ATTEMPT, name);
    if (name_parts(name, parts)) {
        put_str(l, LABEL_RUN, parts[0]);
        put_str(l, LABEL_TASK, parts[1]);
        put_str(l, LABEL_TRY, parts[2]);
    }
    put_str(l, LABEL_MANAGED, "cube");
    return l;
}

static bool env_engine_owned(const char *key, size_t n)
{
    static const char *const owned[] = {"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK",
                                        "LOCAL_RANK"};
    for (size_t i = 0; i < ARRAY_LEN(owned); i++)
        if (strlen(owned[i]) == n && !strncmp(key, owned[i], n))
            return true;
    return false;
}

/* "10G" → "10Gi", "512Mi" → "512Mi", "" → NULL (no limit); false on junk. */
static bool memory_size(const char *s, char *out, size_t outlen, bool *limit)
{
    size_t n = strspn(s, "0123456789.");
    const char *unit = s + n;
    const char *k8s_unit;

    *limit = n > 0;
    if (!n)
        return !*s;
    if (!strcmp(unit, "") || !strcmp(unit, "G") || !strcmp(unit, "Gi") || !strcmp(unit, "g") ||
        !strcmp(unit, "gi"))
        k8s_unit = "Gi";
    else if (!strcmp(unit, "M") || !strcmp(unit, "Mi") || !strcmp(unit, "m") || !strcmp(unit, "mi"))
        k8s_unit = "Mi";
    else
        return false;
    if (strchr(s, '.') != strrchr(s, '.') || s[0] == '.' || s[n - 1] == '.')
        return false;
    return snprintf(out, outlen, "%.*s%s", (int)n, s, k8s_unit) < (int)outlen;
}

/* One mount → a volume and a volumeMount; false with a message on a bad one. */
static bool add_mount(const char *m, size_t idx, json_object *volumes, json_object *mounts,
                      char *err, size_t errlen)
{
    static const char *const kinds[] = {"pvc",       "pvc-share", "storage", "hostpath",
                                        "configmap", "secret",    "memory"};
    const char *open = strchr(m, '('), *close = open ? strchr(open, ')') : NULL;
    const char *path, *kind = NULL;
    char src[256], kbuf[16], vname[48], size[272];
    json_object *vol, *src_obj, *vm;
    size_t slen, klen;

    if (!open || !close || close[1] != ':') {
        seterr(err, errlen, "mount '%s': expected <source>(<kind>):<path>", m);
        return false;
    }
    slen = (size_t)(open - m);
    klen = (size_t)(close - open - 1);
    path = close + 2;
    if (slen >= sizeof(src) || klen >= sizeof(kbuf)) {
        seterr(err, errlen, "mount '%s': too long", m);
        return false;
    }
    memcpy(src, m, slen);
    src[slen] = '\0';
    memcpy(kbuf, open + 1, klen);
    kbuf[klen] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
        if (!strcmp(kbuf, kinds[i]))
            kind = kinds[i];
    if (!kind) {
        seterr(err, errlen,
               "mount '%s': unknown kind '%s' (pvc, pvc-share, storage, hostpath, configmap, "
               "secret, memory)",
               m, kbuf);
        return false;
    }
    if (path[0] != '/') {
        seterr(err, errlen, "mount '%s': the mount path must be absolute", m);
        return false;
    }
    if (strcmp(kind, "memory") && !*src) {
        seterr(err, errlen, "mount '%s': no %s name", m, kind);
        return false;
    }
    src_obj = json_object_new_object();
    if (!strcmp(kind, "memory")) {
        bool limit;
        if (!memory_size(src, size, sizeof(size), &limit)) {
            json_object_put(src_obj);
            seterr(err, errlen, "mount '%s': bad size '%s' (e.g. 10G)", m, src);
            return false;
        }
        put_str(src_obj, "medium", "Memory");
        if (limit)
            put_str(src_obj, "sizeLimit", size);
    } else if (!strcmp(kind, "hostpath")) {
        if (src[0] != '/') {
            json_object_put(src_obj);
            seterr(err, errlen, "mount '%s': a hostpath source must be absolute", m);
            return false;
        }
        put_str(src_obj, "path", src);
    } else if (!strcmp(kind, "configmap")) {
        put_str(src_obj, "name", src);
    } else if (!strcmp(kind, "secret")) {
        put_str(src_obj, "secretName", src);
    } else {
        put_str(src_obj, "claimName", src);
    }
    (void)snprintf(vname, sizeof(vname), "vol%zu-%s", idx, kind);
    vol = json_object_new_object();
    put_str(vol, "name", vname);
    json_object_object_add(vol,
                           !strcmp(kind, "memory")      ? "emptyDir"
                           : !strcmp(kind, "hostpath")  ? "hostPath"
                           : !strcmp(kind, "configmap") ? "configMap"
                           : !strcmp(kind, "secret")    ? "secret"
                                                        : "persistentVolumeClaim",
                           src_obj);
    json_object_array_add(volumes, vol);
    vm = json_object_new_object();
    put_str(vm, "name", vname);
    put_str(vm, "mountPath", path);
    json_object_array_add(mounts, vm);
    return true;
}

static bool has_mount_path(json_object *mounts, const char *path)
{
    for (size_t i = 0; i < jlen(mounts); i++)
        if (!strcmp(jstr_or(json_object_array_get_idx(mounts, i), "mountPath", ""), path))
            return true;
    return false;
}

/* The pod template both kinds share; container is "main" or "pytorch". */
static json_object *pod_template(const struct exec_spec *s, const char *container, bool distributed,
                                 char *err, size_t errlen)
{
    json_object *tmpl = json_object_new_object(), *meta = json_object_new_object();
    json_object *pod = json_object_new_object(), *c = json_object_new_object();
    json_object *cmd = json_object_new_array(), *env = json_object_new_array();
    json_object *req = json_object_new_object(), *lim = json_object_new_object();
    json_object *volumes = json_object_new_array(), *mounts = json_object_new_array();
    json_object *sel = json_object_new_object();
    int64_t grace = s->grace_s > 0 ? s->grace_s : EXEC_DEFAULT_GRACE_S;
    int64_t master_port = K8S_MASTER_PORT;
    char q[64], key[256];
    bool ok = false;

    json_object_object_add(meta, "labels", labels_for(s->name));
    json_object_object_add(tmpl, "metadata", meta);

    if (!s->image || !*s->image) {
        seterr(err, errlen,
               "no image: a Kubernetes task needs one (the template's image or the images arg)");
        goto out;
    }
    if (!s->argv || s->argc == 0) {
        seterr(err, errlen, "empty argv");
        goto out;
    }
    for (size_t i = 0; i < s->argc; i++) {
        if (!s->argv[i]) {
            seterr(err, errlen, "argv[%zu] is NULL", i);
            goto out;
        }
        json_object_array_add(cmd, js_new_str(s->argv[i]));
    }
    for (size_t i = 0; i < s->nenv; i++) {
        const char *kv = s->env[i], *eq = kv ? strchr(kv, '=') : NULL;
        json_object *e;
        if (!eq || eq == kv) {
            seterr(err, errlen, "env entry %zu is not K=V", i);
            goto out;
        }
        if (distributed && env_engine_owned(kv, (size_t)(eq - kv))) {
            if ((size_t)(eq - kv) == strlen("MASTER_PORT") && !strncmp(kv, "MASTER_PORT", 11) &&
                !parse_i64(eq + 1, 1, 65535, &master_port)) {
                seterr(err, errlen, "MASTER_PORT '%s' is not a port", eq + 1);
                goto out;
            }
            continue; /* the training operator sets these per pod */
        }
        e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string_len(kv, (int)(eq - kv)));
        put_str(e, "value", eq + 1);
        json_object_array_add(env, e);
    }
    if (distributed) {
        json_object *e = json_object_new_object();
        put_str(e, "name", "LOCAL_RANK");
        put_str(e, "value", "0");
        json_object_array_add(env, e);
    }
    if (!(s->cpu >= 0 && s->cpu <= 1e6) || s->memory_bytes < 0 ||
        !(s->gpus >= 0 && s->gpus <= 1e4)) {
        seterr(err, errlen, "resources out of range");
        goto out;
    }
    if (s->cpu > 0) {
        int64_t milli = (int64_t)(s->cpu * 1000.0); /* rounded up, never below the ask */
        if ((double)milli < s->cpu * 1000.0 - 1e-9)
            milli++;
        (void)snprintf(q, sizeof(q), "%" PRId64 "m", milli < 1 ? 1 : milli);
        put_str(req, "cpu", q);
        put_str(lim, "cpu", q);
    }
    if (s->memory_bytes > 0) {
        (void)snprintf(q, sizeof(q), "%" PRId64, s->memory_bytes);
        put_str(req, "memory", q);
        put_str(lim, "memory", q);
    }
    if (s->gpus > 0) {
        int64_t whole = (int64_t)(s->gpus + 0.5);
        if (s->gpus - (double)whole > 1e-9 || (double)whole - s->gpus > 1e-9) {
            seterr(err, errlen,
                   "%g GPUs: Kubernetes allocates whole nvidia.com/gpu devices (fractions need a "
                   "vGPU device plugin)",
                   s->gpus);
            goto out;
        }
        (void)snprintf(q, sizeof(q), "%" PRId64, whole);
        put_str(req, GPU_RESOURCE, q);
        put_str(lim, GPU_RESOURCE, q);
    }
    for (size_t i = 0; i < s->nselector; i++) {
        const char *kv = s->selector[i], *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq || eq == kv) {
            seterr(err, errlen, "node selector %zu is not key=value", i);
            goto out;
        }
        if ((size_t)(eq - kv) >= sizeof(key)) {
            seterr(err, errlen, "node selector %zu: key too long", i);
            goto out;
        }
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = '\0';
        put_str(sel, key, eq + 1);
    }
    if (s->gpus > 0 && s->gpu_type && *s->gpu_type && !js_get(sel, GPU_TYPE_LABEL))
        put_str(sel, GPU_TYPE_LABEL, s->gpu_type);
    for (size_t i = 0; i < s->nmounts; i++) {
        const char *p = s->mounts[i] ? strstr(s->mounts[i], "):") : NULL;
        if (p && has_mount_path(mounts, p + 2)) {
            seterr(err, errlen, "two mounts on %s", p + 2);
            goto out;
        }
        if (!s->mounts[i]) {
            seterr(err, errlen, "mount %zu is NULL", i);
            goto out;
        }
        if (!add_mount(s->mounts[i], i, volumes, mounts, err, errlen))
            goto out;
    }
    if (!has_mount_path(mounts, "/dev/shm")) {
        json_object *vol = json_object_new_object(), *ed = json_object_new_object();
        json_object *vm = json_object_new_object();
        put_str(ed, "medium", "Memory");
        put_str(vol, "name", "dshm");
        json_object_object_add(vol, "emptyDir", ed);
        json_object_array_add(volumes, vol);
        put_str(vm, "name", "dshm");
        put_str(vm, "mountPath", "/dev/shm");
        json_object_array_add(mounts, vm);
    }

    put_str(c, "name", container);
    put_str(c, "image", s->image);
    json_object_object_add(c, "command", cmd);
    cmd = NULL;
    if (s->workdir && *s->workdir) {
        if (s->workdir[0] != '/') {
            seterr(err, errlen,
                   "workdir '%s' is relative: on Kubernetes it must be absolute (or empty for "
                   "the image's)",
                   s->workdir);
            goto out;
        }
        put_str(c, "workingDir", s->workdir);
    }
    if (json_object_array_length(env)) {
        json_object_object_add(c, "env", env);
        env = NULL;
    }
    if (json_object_object_length(req)) {
        json_object *res = json_object_new_object();
        json_object_object_add(res, "requests", req);
        json_object_object_add(res, "limits", lim);
        req = lim = NULL;
        json_object_object_add(c, "resources", res);
    }
    json_object_object_add(c, "volumeMounts", mounts);
    mounts = NULL;
    if (distributed) {
        json_object *ports = json_object_new_array(), *p = json_object_new_object();
        put_str(p, "name", "pytorchjob-port");
        put_int(p, "containerPort", master_port);
        put_str(p, "protocol", "TCP");
        json_object_array_add(ports, p);
        json_object_object_add(c, "ports", ports);
    }

    put_str(pod, "restartPolicy", "Never");
    json_object_object_add(pod, "automountServiceAccountToken", json_object_new_boolean(0));
    json_object_object_add(pod, "enableServiceLinks", json_object_new_boolean(0));
    put_int(pod, "terminationGracePeriodSeconds", grace);
    if (json_object_object_length(sel)) {
        json_object_object_add(pod, "nodeSelector", sel);
        sel = NULL;
    }
    {
        json_object *cs = json_object_new_array();
        json_object_array_add(cs, c);
        c = NULL;
        json_object_object_add(pod, "containers", cs);
    }
    json_object_object_add(pod, "volumes", volumes);
    volumes = NULL;
    json_object_object_add(tmpl, "spec", pod);
    pod = NULL;
    ok = true;
out:
    json_object_put(pod);
    json_object_put(c);
    json_object_put(cmd);
    json_object_put(env);
    json_object_put(req);
    json_object_put(lim);
    json_object_put(volumes);
    json_object_put(mounts);
    json_object_put(sel);
    if (!ok) {
        json_object_put(tmpl);
        return NULL;
    }
    return tmpl;
}

static json_object *metadata(const struct exec_spec *s, const char *ns)
{
    json_object *m = json_object_new_object();
    put_str(m, "name", s->name);
    put_str(m, "namespace", ns);
    json_object_object_add(m, "labels", labels_for(s->name));
    return m;
}

static bool common_checks(const struct exec_spec *s, const char *ns, char *err, size_t errlen)
{
    if (!s || !exec_name_valid(s->name)) {
        seterr(err, errlen, "invalid attempt name");
        return false;
    }
    if (!dns_label(ns)) {
        seterr(err, errlen, "invalid namespace '%s'", ns ? ns : "");
        return false;
    }
    if (s->timeout_s < 0 || s->grace_s < 0) {
        seterr(err, errlen, "negative timeout or grace");
        return false;
    }
    return true;
}

static int64_t deadline_of(const struct exec_spec *s)
{
    return s->timeout_s > 0 ? s->timeout_s + (s->grace_s > 0 ? s->grace_s : EXEC_DEFAULT_GRACE_S)
                            : 0;
}

static json_object *build_job(const struct exec_spec *s, const char *ns, char *err, size_t errlen)
{
    json_object *job, *spec, *tmpl;

    if (!common_checks(s, ns, err, errlen))
        return NULL;
    if (s->replicas > 1) {
        seterr(err, errlen, "%d replicas: a Job runs one (see the PyTorchJob)", s->replicas);
        return NULL;
    }
    if (!(tmpl = pod_template(s, "main", false, err, errlen)))
        return NULL;
    job = json_object_new_object();
    put_str(job, "apiVersion", "batch/v1");
    put_str(job, "kind", "Job");
    json_object_object_add(job, "metadata", metadata(s, ns));
    spec = json_object_new_object();
    put_int(spec, "backoffLimit", 0);
    if (deadline_of(s))
        put_int(spec, "activeDeadlineSeconds", deadline_of(s));
    json_object_object_add(spec, "template", tmpl);
    json_object_object_add(job, "spec", spec);
    return job;
}

static json_object *replica(json_object *tmpl, int n)
{
    json_object *r = json_object_new_object();
    put_int(r, "replicas", n);
    put_str(r, "restartPolicy", "Never");
    json_object_object_add(r, "template", tmpl);
    return r;
}

static json_object *build_pytorchjob(const struct exec_spec *s, const char *ns, char *err,
                                     size_t errlen)
{
    json_object *job, *spec, *run, *specs, *tmpl;

    if (!common_checks(s, ns, err, errlen))
        return NULL;
    if (s->replicas < 2 || s->replicas > EXEC_MAX_REPLICAS) {
        seterr(err, errlen, "a PyTorchJob needs 2 to %d replicas, not %d", EXEC_MAX_REPLICAS,
               s->replicas);
        return NULL;
    }
    if (!(tmpl = pod_template(s, "pytorch", true, err, errlen)))
        return NULL;
    job = json_object_new_object();
    put_str(job, "apiVersion", "kubeflow.org/v1");
    put_str(job, "kind", "PyTorchJob");
    json_object_object_add(job, "metadata", metadata(s, ns));
    spec = json_object_new_object();
    run = json_object_new_object();
    put_int(run, "backoffLimit", 0);
    if (deadline_of(s))
        put_int(run, "activeDeadlineSeconds", deadline_of(s));
    put_str(run, "cleanPodPolicy", "Running");
    json_object_object_add(spec, "runPolicy", run);
    specs = json_object_new_object();
    /* The worker template is a deep copy: json-c objects have one parent each. */
    {
        json_object *copy = NULL;
        if (json_object_deep_copy(tmpl, &copy, NULL) != 0)
            die("json_object_deep_copy failed");
        json_object_object_add(specs, "Master", replica(tmpl, 1));
        json_object_object_add(specs, "Worker", replica(copy, s->replicas - 1));
    }
    json_object_object_add(spec, "pytorchReplicaSpecs", specs);
    json_object_object_add(job, "spec", spec);
    return job;
}

json_object *k8s_job_manifest(const struct exec_spec *spec, const char *ns)
{
    return build_job(spec, ns, NULL, 0);
}

json_object *k8s_pytorchjob_manifest(const struct exec_spec *spec, const char *ns)
{
    return build_pytorchjob(spec, ns, NULL, 0);
}

/* ---- status mapping --------------------------------------------------------------------- */

/* How bad a pod looks while the attempt is not finished; the worst pod speaks for it. */
enum rank { RK_NONE, RK_RUNNING, RK_PENDING, RK_PROBLEM, RK_LOST };

struct verdict {
    enum rank rank;
    const char *reason;
};

static void consider(struct verdict *v, enum rank r, const char *reason)
{
    if (r > v->rank) {
        v->rank = r;
        v->reason = reason;
    }
}

static json_object *condition(json_object *o, const char *type)
{
    json_object *cs = jpath(o, "status.conditions");

    for (size_t i = 0; i < jlen(cs); i++) {
        json_object *c = json_object_array_get_idx(cs, i);
        if (!strcmp(jstr_or(c, "type", ""), type))
            return c;
    }
    return NULL;
}

static bool cond_is(json_object *c, const char *status)
{
    return c && !strcmp(jstr_or(c, "status", ""), status);
}

/* The status of the attempt's container ("main" or "pytorch"; else the first one, so an
 * injected sidecar does not hide it). */
static json_object *main_status(json_object *pod)
{
    json_object *cs = jpath(pod, "status.containerStatuses");

    for (size_t i = 0; i < jlen(cs); i++) {
        json_object *c = json_object_array_get_idx(cs, i);
        const char *n = jstr_or(c, "name", "");
        if (!strcmp(n, "main") || !strcmp(n, "pytorch"))
            return c;
    }
    return jlen(cs) ? json_object_array_get_idx(cs, 0) : NULL;
}

/* False for a pod whose controller is another object than uid (a deleted namesake's). */
static bool owned(json_object *pod, const char *uid)
{
    json_object *refs = jpath(pod, "metadata.ownerReferences");

    if (!uid)
        return true;
    for (size_t i = 0; i < jlen(refs); i++) {
        json_object *r = json_object_array_get_idx(refs, i), *ctl = js_get(r, "controller");
        if (ctl && json_object_get_boolean(ctl))
            return !strcmp(jstr_or(r, "uid", ""), uid);
    }
    return true;
}

static bool deleting(json_object *o)
{
    return jpath(o, "metadata.deletionTimestamp") != NULL;
}

static bool live(json_object *pod)
{
    const char *phase = jstr_or(pod, "status.phase", "");
    return !deleting(pod) && (!strcmp(phase, "Pending") || !strcmp(phase, "Running"));
}

static void pod_verdict(struct arena *a, json_object *pod, int64_t now, struct verdict *v)
{
    const char *phase = jstr_or(pod, "status.phase", "");
    json_object *cs = main_status(pod), *sc = condition(pod, "PodScheduled");
    const char *wr = jstr(cs, "state.waiting.reason");
    const char *wm = jstr_or(cs, "state.waiting.message", "");
    int64_t since = rfc3339(jstr(pod, "status.startTime"));

    if (!since)
        since = rfc3339(jstr(pod, "metadata.creationTimestamp"));
    if (!strcmp(phase, "Unknown")) {
        consider(v, RK_LOST,
                 arena_printf(a, "lost: pod state unknown: %s",
                              jstr_or(pod, "status.message",
                                      jstr_or(pod, "status.reason", "node unreachable?"))));
        return;
    }
    if (!strcmp(phase, "Running")) {
        consider(v, deleting(pod) ? RK_PENDING : RK_RUNNING,
                 deleting(pod) ? "pending: pod terminating" : "running");
        return;
    }
    if (strcmp(phase, "Pending"))
        return; /* Succeeded or Failed: the job's conditions will say */
    if (deleting(pod)) {
        consider(v, RK_PENDING, "pending: pod terminating");
        return;
    }
    if (cond_is(sc, "False") && !strcmp(jstr_or(sc, "reason", ""), "Unschedulable")) {
        consider(v, RK_PROBLEM,
                 arena_printf(a, "pending: unschedulable: %s", jstr_or(sc, "message", "")));
        return;
    }
    if (wr) {
        bool pull = !strcmp(wr, "ErrImagePull") || !strcmp(wr, "ImagePullBackOff");
        bool config =
            !strcmp(wr, "CreateContainerConfigError") || !strcmp(wr, "CreateContainerError");
        bool fatal = !strcmp(wr, "InvalidImageName") || !strcmp(wr, "ErrImageNeverPull");
        const char *what = pull ? "image pull" : wr, *msg = *wm ? wm : wr;
        int64_t age = since && now > since ? now - since : 0;

        if (fatal)
            consider(v, RK_LOST, arena_printf(a, "failed to start: %s: %s", wr, msg));
        else if ((pull || config) && age >= K8S_START_GRACE_S)
            consider(
                v, RK_LOST,
                arena_printf(a, "failed to start: %s: %s (for %" PRId64 " s)", what, msg, age));
        else if (pull || config)
            consider(v, RK_PROBLEM, arena_printf(a, "pending: %s: %s", what, msg));
        else
            consider(v, RK_PENDING, arena_printf(a, "pending: %s", wr));
        return;
    }
    consider(v, RK_PENDING, "pending");
}

/* " (rank R of N)" for a PyTorchJob pod, from the operator's labels. */
static const char *rank_note(struct arena *a, json_object *obj, json_object *pod)
{
    const char *type = label(pod, PT_TYPE_LABEL);
    int64_t idx = 0, total = jint(obj, "spec.pytorchReplicaSpecs.Master.replicas", 0) +
                             jint(obj, "spec.pytorchReplicaSpecs.Worker.replicas", 0);
    const char *is = label(pod, PT_INDEX_LABEL);

    if (!type || !is || !parse_i64(is, 0, EXEC_MAX_REPLICAS, &idx))
        return "";
    if (!strcmp(type, "worker"))
        idx += 1;
    else if (strcmp(type, "master"))
        return "";
    return arena_printf(a, " (rank %" PRId64 " of %" PRId64 ")", idx, total);
}

/* Why a failed attempt failed, from its pods: an eviction or disruption first (the cause,
 * whatever the container's code), else the container that failed first.  false if no pod
 * tells. */
static bool failure_of(struct arena *a, json_object *obj, json_object *items, const char *uid,
                       bool pt, struct exec_status *st)
{
    json_object *best = NULL, *best_pod = NULL;
    int64_t best_at = INT64_MAX;

    for (size_t i = 0; i < jlen(items); i++) {
        json_object *pod = json_object_array_get_idx(items, i), *cs, *t;
        json_object *dt = condition(pod, "DisruptionTarget");
        int64_t at;

        if (!owned(pod, uid))
            continue;
        if (!strcmp(jstr_or(pod, "status.reason", ""), "Evicted")) {
            st->reason =
                arena_printf(a, "lost: pod evicted: %s", jstr_or(pod, "status.message", ""));
            return true;
        }
        if (cond_is(dt, "True")) {
            st->reason = arena_printf(a, "lost: pod disrupted: %s: %s", jstr_or(dt, "reason", ""),
                                      jstr_or(dt, "message", ""));
            return true;
        }
        cs = main_status(pod);
        t = jpath(cs, "state.terminated");
        if (!t || (jint(t, "exitCode", 0) == 0 && strcmp(jstr_or(t, "reason", ""), "OOMKilled")))
            continue;
        at = rfc3339(jstr(t, "finishedAt"));
        if (!at)
            at = INT64_MAX - 1;
        if (!best || at < best_at) {
            best = t;
            best_pod = pod;
            best_at = at;
        }
    }
    if (!best)
        return false;
    st->exit_code = (int)jint(best, "exitCode", -1);
    st->term_signal = (int)jint(best, "signal", 0);
    if (!strcmp(jstr_or(best, "reason", ""), "OOMKilled")) {
        st->oom_killed = true;
        st->reason = "out of memory";
    } else if (st->term_signal > 0) {
        st->exit_code = -1;
        st->reason = arena_printf(a, "killed by signal %d", st->term_signal);
    } else {
        st->reason = arena_printf(a, "exit %d", st->exit_code);
    }
    if (pt)
        st->reason = arena_printf(a, "%s%s", st->reason, rank_note(a, obj, best_pod));
    return true;
}

enum err k8s_status_of(struct arena *a, json_object *obj, json_object *pods, int64_t now,
                       struct exec_status *st)
{
    const char *kind = jstr(obj, "kind"), *uid = jstr(obj, "metadata.uid");
    json_object *items = pods ? js_get(pods, "items") : NULL, *ok_c, *fail_c;
    struct verdict v = {RK_NONE, NULL};
    size_t nlive = 0, nowned = 0;
    bool pt;

    memset(st, 0, sizeof(*st));
    st->exit_code = -1;
    st->reason = "";
    if (!kind || (strcmp(kind, "Job") && strcmp(kind, "PyTorchJob")))
        return ERR_UNAVAILABLE;
    pt = !strcmp(kind, "PyTorchJob");
    st->state = EXEC_RUNNING;
    st->started_at = rfc3339(jstr(obj, "status.startTime"));
    if (deleting(obj)) {
        st->state = EXEC_LOST;
        st->reason = "lost: the job is being deleted";
        return ERR_OK;
    }
    ok_c = condition(obj, pt ? "Succeeded" : "Complete");
    fail_c = condition(obj, "Failed");
    for (size_t i = 0; i < jlen(items); i++) {
        json_object *pod = json_object_array_get_idx(items, i);
        if (!owned(pod, uid))
            continue;
        nowned++;
        nlive += live(pod);
    }

    if (cond_is(ok_c, "True") || cond_is(fail_c, "True")) {
        if (nlive) {
            st->reason = arena_printf(a, "finishing: %zu pod(s) still running", nlive);
            return ERR_OK;
        }
        st->finished_at = rfc3339(jstr(obj, "status.completionTime"));
        if (cond_is(ok_c, "True")) {
            st->state = EXEC_SUCCEEDED;
            st->exit_code = 0;
            st->reason = "exit 0";
            if (!st->finished_at)
                st->finished_at = rfc3339(jstr(ok_c, "lastTransitionTime"));
            return ERR_OK;
        }
        st->state = EXEC_FAILED;
        if (rfc3339(jstr(fail_c, "lastTransitionTime")))
            st->finished_at = rfc3339(jstr(fail_c, "lastTransitionTime"));
        if (pt ? strstr(jstr_or(fail_c, "message", ""), "deadline") != NULL
               : !strcmp(jstr_or(fail_c, "reason", ""), "DeadlineExceeded")) {
            int64_t d = jint(
                obj, pt ? "spec.runPolicy.activeDeadlineSeconds" : "spec.activeDeadlineSeconds", 0);
            st->timed_out = true;
            st->reason = d > 0 ? arena_printf(a, "timeout after %" PRId64 " s", d)
                               : "timeout: active deadline exceeded";
            return ERR_OK;
        }
        if (!failure_of(a, obj, items, uid, pt, st))
            st->reason = arena_printf(a, "failed: %s: %s", jstr_or(fail_c, "reason", "?"),
                                      jstr_or(fail_c, "message", ""));
        return ERR_OK;
    }

    for (size_t i = 0; i < jlen(items); i++) {
        json_object *pod = json_object_array_get_idx(items, i);
        if (owned(pod, uid))
            pod_verdict(a, pod, now, &v);
    }
    if (v.rank == RK_LOST)
        st->state = EXEC_LOST;
    st->reason = v.rank != RK_NONE ? v.reason : nowned ? "finishing" : "pending: no pod yet";
    return ERR_OK;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

/* Every verb starts here: no error yet, and its requests together get timeout_ms (times n),
 * so a verb of three requests blocks no longer than one would (engine.h). */
static void begin(struct k8s *k, int n)
{
    k->err[0] = '\0';
    k->deadline_us = clock_mono_us() + (int64_t)k->timeout_ms * 1000 * n;
}

struct resp {
    long status;
    struct buf body;
    int64_t date; /* the server's Date header, Unix seconds; 0 if none */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct resp *r = arg;

    buf_add(&r->body, p, size * n);
    return r->body.toobig ? 0 : size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = size * n;
    char v[128];

    if (len > 5 && len - 5 < sizeof(v) && !strncasecmp(p, "Date:", 5)) {
        memcpy(v, p + 5, len - 5);
        v[len - 5] = '\0';
        v[strcspn(v, "\r\n")] = '\0';
        {
            time_t t = curl_getdate(v, NULL);
            r->date = t > 0 ? (int64_t)t : 0;
        }
    }
    return len;
}

static struct curl_slist *header(struct curl_slist *h, const char *line)
{
    struct curl_slist *n = curl_slist_append(h, line);
    if (!n)
        die("curl_slist_append: out of memory");
    return n;
}

/*
 * One request.  ERR_OK when an HTTP answer arrived, whatever its status (r->status, r->body);
 * ERR_UNAVAILABLE (k->err says why) when none did: refused, timed out, TLS failure, or an
 * answer larger than max.
 */
static enum err http(struct k8s *k, struct arena *a, const char *method, const char *path,
                     const char *body, size_t max, struct resp *r)
{
    struct curl_slist *h = NULL;
    char ebuf[CURL_ERROR_SIZE];
    CURLcode cc;
    int64_t left_ms;
    enum err e = ERR_OK;

    ebuf[0] = '\0';
    r->status = 0;
    r->date = 0;
    buf_init(&r->body, a, max);
    left_ms = (k->deadline_us - clock_mono_us()) / 1000;
    if (left_ms <= 0) {
        seterr(k->err, sizeof(k->err), "%s %s: not sent, the %ld ms budget is spent", method, path,
               k->timeout_ms);
        return ERR_UNAVAILABLE;
    }
    curl_easy_reset(k->curl);
    h = header(h, "Accept: application/json, */*");
    h = header(h, "Expect:"); /* no 100-continue round trip before a body */
    if (body)
        h = header(h, "Content-Type: application/json");
    if (k->auth)
        h = header(h, k->auth);
    curl_easy_setopt(k->curl, CURLOPT_URL, arena_printf(a, "%s%s", k->endpoint, path));
    curl_easy_setopt(k->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k->curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(k->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (!strcmp(method, "GET")) {
        curl_easy_setopt(k->curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(k->curl, CURLOPT_USERAGENT, "cube");
    curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, (long)left_ms);
    curl_easy_setopt(k->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
    curl_easy_setopt(k->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(k->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k->curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(k->curl, CURLOPT_ERRORBUFFER, ebuf);
    if (k->ca_pem) {
        struct curl_blob blob = {k->ca_pem, k->ca_len, CURL_BLOB_COPY};
        curl_easy_setopt(k->curl, CURLOPT_CAINFO_BLOB, &blob);
    }
    cc = curl_easy_perform(k->curl);
    if (cc == CURLE_WRITE_ERROR && r->body.toobig) {
        seterr(k->err, sizeof(k->err), "%s %s: answer larger than %zu bytes", method, path, max);
        e = ERR_UNAVAILABLE;
    } else if (cc != CURLE_OK) {
        seterr(k->err, sizeof(k->err), "%s %s: %s", method, path,
               ebuf[0] ? ebuf : curl_easy_strerror(cc));
        e = ERR_UNAVAILABLE;
    } else {
        curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &r->status);
    }
    curl_easy_setopt(k->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    return e;
}

enum err k8s_http_error(struct arena *a, long http_status, const char *body, size_t len,
                        const char **message)
{
    const char *perr, *msg = NULL;
    json_object *o = body && len ? js_parse(a, body, len, &perr) : NULL;
    enum err e;

    *message = NULL;
    if (http_status >= 200 && http_status < 300)
        return ERR_OK;
    if (o && !strcmp(jstr_or(o, "kind", ""), "Status"))
        msg = jstr(o, "message") ? jstr(o, "message") : jstr(o, "reason");
    switch (http_status) {
    case 400:
    case 422:
        e = ERR_BADREQ;
        break;
    case 401:
        e = ERR_UNAUTH;
        break;
    case 403:
        e = ERR_FORBIDDEN;
        break;
    case 404:
        e = ERR_NOT_FOUND;
        break;
    case 409:
        e = ERR_CONFLICT;
        break;
    case 429:
        e = ERR_THROTTLED;
        break;
    default:
        e = ERR_UNAVAILABLE; /* 5xx, redirects, anything else */
        break;
    }
    if (!msg) {
        /* Not a Status: quote the start of the body, printable characters only. */
        size_t n = len < 120 ? len : 120;
        char *q = arena_alloc(a, n + 1);
        for (size_t i = 0; i < n; i++)
            q[i] = isprint((unsigned char)body[i]) ? body[i] : ' ';
        q[n] = '\0';
        msg = arena_printf(a, "HTTP %ld%s%s", http_status, n ? ": " : "", q);
    }
    *message = msg;
    return e;
}

/* A 404 is evidence of absence only when it is the API server's own NotFound Status. */
static bool not_found_status(struct arena *a, const struct resp *r)
{
    const char *perr;
    json_object *o;

    if (r->status != 404 || !r->body.len)
        return false;
    o = js_parse(a, buf_str(&r->body), r->body.len, &perr);
    return o && !strcmp(jstr_or(o, "kind", ""), "Status") &&
           !strcmp(jstr_or(o, "reason", ""), "NotFound");
}

/* Non-2xx → the mapped error, with the server's message in k->err. */
static enum err answer_error(struct k8s *k, struct arena *a, const char *what, const struct resp *r)
{
    const char *msg;
    enum err e = k8s_http_error(a, r->status, buf_str(&r->body), r->body.len, &msg);

    if (e)
        seterr(k->err, sizeof(k->err), "%s: %s", what, msg);
    return e;
}

/* A 2xx answer that must be a JSON object of the given kind (NULL: any). */
static enum err answer_json(struct k8s *k, struct arena *a, const char *what, const struct resp *r,
                            const char *kind, json_object **out)
{
    const char *perr = NULL;
    json_object *o = r->body.len ? js_parse(a, buf_str(&r->body), r->body.len, &perr) : NULL;

    *out = NULL;
    if (!o || !json_object_is_type(o, json_type_object)) {
        seterr(k->err, sizeof(k->err), "%s: the answer is not a JSON object (%s)", what,
               perr ? perr : "empty");
        return ERR_UNAVAILABLE;
    }
    if (kind && strcmp(jstr_or(o, "kind", ""), kind)) {
        seterr(k->err, sizeof(k->err), "%s: expected a %s, got kind '%s'", what, kind,
               jstr_or(o, "kind", ""));
        return ERR_UNAVAILABLE;
    }
    *out = o;
    return ERR_OK;
}

/* GET that must answer kind; ERR_NOT_FOUND only for a NotFound Status (*nf set). */
static enum err get_json(struct k8s *k, struct arena *a, const char *path, const char *kind,
                         size_t max, json_object **out, struct resp *r)
{
    enum err e;

    *out = NULL;
    if ((e = http(k, a, "GET", path, NULL, max, r)))
        return e;
    if (r->status == 200)
        return answer_json(k, a, path, r, kind, out);
    if (r->status == 404 && !not_found_status(a, r)) {
        seterr(k->err, sizeof(k->err),
               "GET %s: 404 without a Kubernetes Status (a proxy or a wrong endpoint?)", path);
        return ERR_UNAVAILABLE;
    }
    return answer_error(k, a, path, r);
}

static const char *jobs_path(struct arena *a, const struct k8s *k, bool pt, const char *name)
{
    return arena_printf(a, "%s/namespaces/%s/%s%s%s",
                        pt ? "/apis/kubeflow.org/v1" : "/apis/batch/v1", k->ns,
                        pt ? "pytorchjobs" : "jobs", name ? "/" : "", name ? name : "");
}

/* The attempt's Job, else its PyTorchJob.  ERR_NOT_FOUND when neither exists. */
static enum err get_object(struct k8s *k, struct arena *a, const char *name, json_object **obj)
{
    struct resp r;
    enum err e = get_json(k, a, jobs_path(a, k, false, name), "Job", SMALL_ANSWER_MAX, obj, &r);

    if (e != ERR_NOT_FOUND)
        return e;
    if ((e = http(k, a, "GET", jobs_path(a, k, true, name), NULL, SMALL_ANSWER_MAX, &r)))
        return e;
    if (r.status == 200)
        return answer_json(k, a, "GET pytorchjob", &r, "PyTorchJob", obj);
    /* 404 with or without a Status (no CRD: "404 page not found"), or 403 (no RBAC for
     * pytorchjobs, so we cannot have created one): there is no PyTorchJob of this name. */
    if (r.status == 404 || r.status == 403) {
        seterr(k->err, sizeof(k->err), "no job %s", name);
        return ERR_NOT_FOUND;
    }
    return answer_error(k, a, "GET pytorchjob", &r);
}

static enum err get_pods(struct k8s *k, struct arena *a, const char *name, json_object **pods,
                         int64_t *date)
{
    struct resp r;
    enum err e =
        get_json(k, a,
                 arena_printf(a, "/api/v1/namespaces/%s/pods?labelSelector=cube%%2Fattempt%%3D%s",
                              k->ns, name),
                 "PodList", K8S_BODY_MAX, pods, &r);
    *date = r.date;
    return e;
}

/* ---- the verbs -------------------------------------------------------------------------- */

struct k8s *k8s_open(const struct engine_conf *c, char *err, size_t errlen)
{
    struct k8s *k;
    const char *ns = c->queue && *c->queue ? c->queue : K8S_DEFAULT_NAMESPACE;
    size_t n;

    if (!c->endpoint ||
        (!starts_with(c->endpoint, "http://") && !starts_with(c->endpoint, "https://"))) {
        seterr(err, errlen, "endpoint must be an http:// or https:// URL");
        return NULL;
    }
    if (!dns_label(ns)) {
        seterr(err, errlen, "invalid namespace '%s'", ns);
        return NULL;
    }
    if (c->token && strpbrk(c->token, "\r\n")) {
        seterr(err, errlen, "the token contains a line break");
        return NULL;
    }
    k = xcalloc(1, sizeof(*k));
    if (!(k->curl = curl_easy_init())) {
        free(k);
        seterr(err, errlen, "curl_easy_init failed");
        return NULL;
    }
    k->endpoint = xstrdup(c->endpoint);
    n = strlen(k->endpoint);
    while (n > 0 && k->endpoint[n - 1] == '/')
        k->endpoint[--n] = '\0';
    if (c->token && *c->token) {
        n = strlen(c->token) + 32;
        k->auth = xmalloc(n);
        (void)snprintf(k->auth, n, "Authorization: Bearer %s", c->token);
    }
    if (c->ca_pem && *c->ca_pem) {
        k->ca_pem = xstrdup(c->ca_pem);
        k->ca_len = strlen(k->ca_pem);
    }
    k->ns = xstrdup(ns);
    k->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : K8S_DEFAULT_TIMEOUT_MS;
    return k;
}

void k8s_close(struct k8s *k)
{
    if (!k)
        return;
    curl_easy_cleanup(k->curl);
    free(k->endpoint);
    if (k->auth) {
        explicit_bzero(k->auth, strlen(k->auth));
        free(k->auth);
    }
    free(k->ca_pem);
    free(k->ns);
    free(k);
}

const char *k8s_last_error(const struct k8s *k)
{
    return k ? k->err : "";
}

static char *read_trimmed(struct arena *a, const char *path, size_t max)
{
    FILE *f = fopen(path, "re");
    char *p;
    size_t n;

    if (!f)
        return NULL;
    p = arena_alloc(a, max + 1);
    n = fread(p, 1, max, f);
    fclose(f);
    p[n] = '\0';
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        p[--n] = '\0';
    return p;
}

enum err k8s_conf_in_cluster(struct arena *a, const char *dir, struct engine_conf *c, char *err,
                             size_t errlen)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    char *token, *ca, *ns;

    if (!dir)
        dir = K8S_SA_DIR;
    if (!host || !*host) {
        seterr(err, errlen, "not in a cluster: KUBERNETES_SERVICE_HOST is not set");
        return ERR_NOT_FOUND;
    }
    if (!(token = read_trimmed(a, arena_printf(a, "%s/token", dir), 64 << 10)) || !*token) {
        seterr(err, errlen, "no service account token in %s", dir);
        return ERR_NOT_FOUND;
    }
    ca = read_trimmed(a, arena_printf(a, "%s/ca.crt", dir), 1 << 20);
    ns = read_trimmed(a, arena_printf(a, "%s/namespace", dir), 256);
    c->endpoint = arena_printf(a, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
                               port && *port ? port : "443");
    c->token = token;
    c->ca_pem = ca && *ca ? ca : NULL;
    if (ns && *ns)
        c->queue = ns;
    return ERR_OK;
}

enum err k8s_submit(struct k8s *k, const struct exec_spec *spec)
{
    struct arena a = ARENA_INIT;
    struct resp r;
    json_object *m = NULL, *got = NULL;
    const char *path, *owner;
    bool pt = spec && spec->replicas > 1;
    enum err e = ERR_OK;

    begin(k, 2);
    if (spec && spec->queue && *spec->queue && strcmp(spec->queue, k->ns)) {
        seterr(k->err, sizeof(k->err),
               "namespace '%s' is not the cluster's ('%s'): per-task namespaces are not supported",
               spec->queue, k->ns);
        e = ERR_BADREQ;
        goto out;
    }
    m = pt ? build_pytorchjob(spec, k->ns, k->err, sizeof(k->err))
           : build_job(spec, k->ns, k->err, sizeof(k->err));
    if (!m) {
        e = ERR_BADREQ;
        goto out;
    }
    js_own(&a, m);
    path = jobs_path(&a, k, pt, NULL);
    if ((e = http(k, &a, "POST", arena_printf(&a, "%s?fieldValidation=Strict", path), js_str(m),
                  SUBMIT_ANSWER_MAX, &r)))
        goto out;
    if (r.status >= 200 && r.status < 300) {
        /* Created.  An unreadable answer is a failure: a retry will find it (409) and adopt. */
        e = answer_json(k, &a, "POST", &r, pt ? "PyTorchJob" : "Job", &got);
        goto out;
    }
    if (r.status == 409) {
        /* Same name, same attempt: adopt what is there — if it is ours. */
        if ((e = get_json(k, &a, jobs_path(&a, k, pt, spec->name), pt ? "PyTorchJob" : "Job",
                          SMALL_ANSWER_MAX, &got, &r))) {
            if (e == ERR_NOT_FOUND) {
                seterr(k->err, sizeof(k->err), "%s existed, then vanished: try again", spec->name);
                e = ERR_UNAVAILABLE;
            }
            goto out;
        }
        owner = label(got, LABEL_ATTEMPT);
        if (!owner || strcmp(owner, spec->name)) {
            seterr(k->err, sizeof(k->err), "a %s named %s exists and is not Cube's attempt",
                   pt ? "PyTorchJob" : "Job", spec->name);
            e = ERR_CONFLICT;
        }
        goto out;
    }
    if (r.status == 404 && pt && !not_found_status(&a, &r)) {
        seterr(k->err, sizeof(k->err),
               "the PyTorchJob API (kubeflow.org/v1) is not installed: distributed tasks need "
               "the Kubeflow training operator");
        e = ERR_BADREQ;
        goto out;
    }
    e = answer_error(k, &a, "POST", &r);
out:
    if (e)
        log_warn("k8s submit %s: %s (%s)", spec && spec->name ? spec->name : "?", k->err,
                 err_name(e));
    arena_free(&a);
    return e;
}

static enum err status_in(struct k8s *k, struct arena *a, const char *name, struct exec_status *st)
{
    json_object *obj = NULL, *pods = NULL;
    int64_t date = 0;
    enum err e;

    memset(st, 0, sizeof(*st));
    st->exit_code = -1;
    st->reason = "";
    if (!exec_name_valid(name)) {
        seterr(k->err, sizeof(k->err), "invalid attempt name");
        return ERR_BADREQ;
    }
    e = get_object(k, a, name, &obj);
    if (e == ERR_NOT_FOUND) {
        k->err[0] = '\0';
        st->state = EXEC_ABSENT;
        st->reason = "lost: job vanished";
        return ERR_OK;
    }
    if (!e)
        e = get_pods(k, a, name, &pods, &date);
    if (e) {
        st->reason = arena_strdup(a, k->err);
        return e;
    }
    return k8s_status_of(a, obj, pods, date ? date : clock_wall_s(), st);
}

enum err k8s_status(struct k8s *k, struct arena *a, const char *name, struct exec_status *st)
{
    begin(k, 1);
    return status_in(k, a, name, st);
}

static enum err delete_object(struct k8s *k, struct arena *a, const char *name)
{
    static const char body[] = "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                               "\"propagationPolicy\":\"Background\"}";
    struct resp r;
    enum err e;

    for (int pt = 0; pt < 2; pt++) {
        if ((e = http(k, a, "DELETE", jobs_path(a, k, pt, name), body, SMALL_ANSWER_MAX, &r)))
            return e;
        if (r.status >= 200 && r.status < 300)
            return ERR_OK;
        if (r.status == 404 && (pt || not_found_status(a, &r)))
            continue; /* not this kind (or no such CRD) */
        if (r.status == 403 && pt)
            continue; /* no RBAC for pytorchjobs: we cannot have made one */
        return answer_error(k, a, "DELETE", &r);
    }
    return ERR_OK; /* absent: nothing to stop */
}

enum err k8s_cancel(struct k8s *k, const char *name)
{
    struct arena a = ARENA_INIT;
    enum err e;

    begin(k, 1);
    if (!exec_name_valid(name)) {
        seterr(k->err, sizeof(k->err), "invalid attempt name");
        return ERR_BADREQ;
    }
    e = delete_object(k, &a, name);
    if (e)
        log_warn("k8s cancel %s: %s (%s)", name, k->err, err_name(e));
    arena_free(&a);
    return e;
}

enum err k8s_remove(struct k8s *k, const char *name, bool keep_log)
{
    struct arena a = ARENA_INIT;
    struct exec_status st;
    enum err e;

    begin(k, 1);
    if (!exec_name_valid(name)) {
        seterr(k->err, sizeof(k->err), "invalid attempt name");
        return ERR_BADREQ;
    }
    if (keep_log)
        return ERR_OK; /* the log lives in the pod: keeping it means keeping the Job */
    if ((e = status_in(k, &a, name, &st)))
        goto out;
    if (st.state == EXEC_RUNNING) {
        seterr(k->err, sizeof(k->err), "%s is still running", name);
        e = ERR_CONFLICT;
        goto out;
    }
    if (st.state != EXEC_ABSENT)
        e = delete_object(k, &a, name);
out:
    arena_free(&a);
    return e;
}

/* The pod whose log is the attempt's: a PyTorchJob's master, else the newest pod. */
static json_object *log_pod(json_object *pods)
{
    json_object *items = js_get(pods, "items"), *best = NULL;
    int64_t best_t = -1;

    for (size_t i = 0; i < jlen(items); i++) {
        json_object *p = json_object_array_get_idx(items, i);
        int64_t t = rfc3339(jstr(p, "metadata.creationTimestamp"));
        if (!strcmp((label(p, PT_TYPE_LABEL) ? label(p, PT_TYPE_LABEL) : ""), "master"))
            return p;
        if (t > best_t) {
            best = p;
            best_t = t;
        }
    }
    return best;
}

enum err k8s_log(struct k8s *k, struct arena *a, const char *name, int64_t offset, size_t max,
                 const char **data, size_t *len, int64_t *next, bool *eof)
{
    json_object *pods = NULL, *pod, *obj = NULL;
    const char *pname, *cname, *phase;
    struct resp r;
    int64_t date, limit;
    enum err e;

    begin(k, 1);
    *data = "";
    *len = 0;
    *next = offset;
    *eof = false;
    if (!exec_name_valid(name) || offset < 0) {
        seterr(k->err, sizeof(k->err), "invalid attempt name or offset");
        return ERR_BADREQ;
    }
    if (offset >= K8S_LOG_MAX) {
        seterr(k->err, sizeof(k->err), "only the first %ld bytes of a pod's log can be read",
               K8S_LOG_MAX);
        return ERR_TOOBIG;
    }
    if ((e = get_pods(k, a, name, &pods, &date)))
        return e;
    if (!(pod = log_pod(pods))) {
        /* No pod (yet, or any more): is there an attempt at all? */
        if ((e = get_object(k, a, name, &obj)))
            return e;
        {
            struct exec_status st;
            if (!k8s_status_of(a, obj, NULL, date ? date : clock_wall_s(), &st))
                *eof = st.state == EXEC_SUCCEEDED || st.state == EXEC_FAILED;
        }
        return ERR_OK;
    }
    pname = jstr_or(pod, "metadata.name", "");
    cname = jstr_or(json_object_array_get_idx(jpath(pod, "spec.containers"), 0), "name", "main");
    if (!dns_subdomain(pname) || !dns_label(cname)) {
        seterr(k->err, sizeof(k->err), "unexpected pod or container name");
        return ERR_UNAVAILABLE;
    }
    phase = jstr_or(pod, "status.phase", "");
    if (max > (size_t)(K8S_LOG_MAX - offset))
        max = (size_t)(K8S_LOG_MAX - offset);
    limit = offset + (int64_t)max;
    if ((e = http(k, a, "GET",
                  arena_printf(a,
                               "/api/v1/namespaces/%s/pods/%s/log?container=%s&limitBytes=%" PRId64,
                               k->ns, pname, cname, limit),
                  NULL, (size_t)limit + (64 << 10), &r)))
        return e;
    if (r.status == 400) {
        /* "container ... is waiting to start": nothing to read yet. */
        return ERR_OK;
    }
    if ((e = answer_error(k, a, "GET log", &r)))
        return e;
    if (r.body.len > (size_t)offset) {
        size_t n = r.body.len - (size_t)offset;
        if (n > max)
            n = max;
        *data = arena_strndup(a, r.body.p + offset, n);
        *len = n;
    }
    *next = offset + (int64_t)*len;
    *eof = (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")) && r.body.len < (size_t)limit;
    return ERR_OK;
}

enum err k8s_check(struct k8s *k, struct arena *a, json_object **report)
{
    json_object *rep = js_own(a, json_object_new_object()), *o = NULL, *nodes;
    struct resp r;
    enum err e;
    bool ok = true;

    begin(k, 4);
    *report = rep;
    put_str(rep, "endpoint", k->endpoint);
    put_str(rep, "namespace", k->ns);
    if ((e = get_json(k, a, "/version", NULL, SMALL_ANSWER_MAX, &o, &r))) {
        put_str(rep, "error", k->err);
        json_object_object_add(rep, "ok", json_object_new_boolean(0));
        return e;
    }
    if (!jstr(o, "gitVersion")) {
        seterr(k->err, sizeof(k->err), "GET /version: no gitVersion: not a Kubernetes API server?");
        put_str(rep, "error", k->err);
        json_object_object_add(rep, "ok", json_object_new_boolean(0));
        return ERR_UNAVAILABLE;
    }
    put_str(rep, "version", jstr(o, "gitVersion"));
    put_str(rep, "platform", jstr_or(o, "platform", ""));

    nodes = json_object_new_object();
    if (!get_json(k, a, "/api/v1/nodes", "NodeList", K8S_BODY_MAX, &o, &r)) {
        json_object *items = js_get(o, "items");
        double cpu = 0, mem = 0, gpu = 0, v;
        int64_t ready = 0;
        for (size_t i = 0; i < jlen(items); i++) {
            json_object *n = json_object_array_get_idx(items, i);
            if (cond_is(condition(n, "Ready"), "True"))
                ready++;
            if (k8s_quantity(jstr(n, "status.allocatable.cpu"), &v))
                cpu += v;
            if (k8s_quantity(jstr(n, "status.allocatable.memory"), &v))
                mem += v;
            if (k8s_quantity(js_get_str(jpath(n, "status.allocatable"), GPU_RESOURCE), &v))
                gpu += v;
        }
        put_int(nodes, "count", (int64_t)jlen(items));
        put_int(nodes, "ready", ready);
        json_object_object_add(nodes, "cpu", json_object_new_double(cpu));
        put_int(nodes, "memory_bytes", (int64_t)mem);
        put_int(nodes, "gpus", (int64_t)gpu);
    } else {
        put_str(nodes, "error", k->err);
    }
    json_object_object_add(rep, "nodes", nodes);

    if (!get_json(k, a, arena_printf(a, "%s?limit=1", jobs_path(a, k, false, NULL)), "JobList",
                  SMALL_ANSWER_MAX, &o, &r)) {
        put_str(rep, "namespace_access", "ok");
    } else {
        put_str(rep, "namespace_access", k->err);
        ok = false;
    }
    if ((e = http(k, a, "GET", arena_printf(a, "%s?limit=1", jobs_path(a, k, true, NULL)), NULL,
                  SMALL_ANSWER_MAX, &r)))
        put_str(rep, "pytorchjob", k->err);
    else if (r.status == 200)
        put_str(rep, "pytorchjob", "available");
    else if (r.status == 404)
        put_str(rep, "pytorchjob", "not installed (no Kubeflow training operator)");
    else
        put_str(rep, "pytorchjob",
                answer_error(k, a, "GET pytorchjobs", &r) ? k->err : "unexpected answer");
    json_object_object_add(rep, "ok", json_object_new_boolean(ok));
    k->err[0] = '\0';
    return ERR_OK;
}
