/*
 * k8s_cli.c — drives the Kubernetes executor (core/k8s.c) from the shell, for
 * tests/engines/test_k8s.sh and for trying a real cluster by hand.
 *
 *   k8s_cli submit            < spec.json
 *   k8s_cli manifest          < spec.json     the body submit would POST (no network)
 *   k8s_cli status NAME
 *   k8s_cli cancel NAME
 *   k8s_cli remove NAME [keep]
 *   k8s_cli log NAME OFFSET MAX [OUT_FILE]     the bytes go to OUT_FILE (default: none)
 *   k8s_cli check
 *   k8s_cli in-cluster [SA_DIR]               what k8s_conf_in_cluster finds
 *
 * The cluster: K8S_ENDPOINT, K8S_TOKEN, K8S_CA_FILE (PEM), K8S_NAMESPACE, K8S_TIMEOUT_MS.
 * spec.json is an exec_spec as JSON: {"name", "argv": [], "env": ["K=V"], "workdir",
 * "timeout_s", "grace_s", "cpu", "memory_bytes", "max_procs", "isolate", "replicas",
 * "image", "gpus", "gpu_type", "mounts": [], "selector": [], "queue"}.
 *
 * Output: "key=value" lines, always with err=ok or err=<error name> and message=
 * (k8s_last_error); status adds state, reason, exit_code, term_signal, timed_out,
 * oom_killed, cancelled, started_at, finished_at; log adds len, next, eof; check adds
 * report=<json>; manifest prints the JSON alone, as k8s_submit serialises it.  Exit 0 for err=ok, 1
 * otherwise, 2 for usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/js.h"
#include "core/k8s.h"
#include "core/common.h"

static const char *const STATES[] = {"absent", "running", "succeeded", "failed", "lost"};

static char *slurp(struct arena *a, FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *p = arena_alloc(a, cap + 1);

    for (;;) {
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            char *q = arena_alloc(a, cap * 2 + 1);
            memcpy(q, p, n);
            p = q;
            cap *= 2;
        }
    }
    p[n] = '\0';
    *len = n;
    return p;
}

static const char *const *str_list(struct arena *a, json_object *arr, size_t *n)
{
    const char **out;

    *n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    out = arena_alloc(a, (*n + 1) * sizeof(*out));
    for (size_t i = 0; i < *n; i++)
        out[i] = json_object_get_string(json_object_array_get_idx(arr, i));
    out[*n] = NULL;
    return out;
}

static bool read_spec(struct arena *a, struct exec_spec *s)
{
    size_t len;
    const char *perr, *text = slurp(a, stdin, &len);
    json_object *o = js_parse(a, text, len, &perr), *v;

    if (!o) {
        printf("err=%s\nmessage=spec: %s\n", err_name(ERR_BADREQ), perr);
        return false;
    }
    memset(s, 0, sizeof(*s));
    s->name = js_get_str(o, "name");
    s->argv = str_list(a, js_get(o, "argv"), &s->argc);
    s->env = str_list(a, js_get(o, "env"), &s->nenv);
    s->mounts = str_list(a, js_get(o, "mounts"), &s->nmounts);
    s->selector = str_list(a, js_get(o, "selector"), &s->nselector);
    s->workdir = js_get_str(o, "workdir");
    s->image = js_get_str(o, "image");
    s->gpu_type = js_get_str(o, "gpu_type");
    s->queue = js_get_str(o, "queue");
    if ((v = js_get(o, "timeout_s")))
        s->timeout_s = json_object_get_int64(v);
    if ((v = js_get(o, "grace_s")))
        s->grace_s = json_object_get_int64(v);
    if ((v = js_get(o, "cpu")))
        s->cpu = json_object_get_double(v);
    if ((v = js_get(o, "memory_bytes")))
        s->memory_bytes = json_object_get_int64(v);
    if ((v = js_get(o, "max_procs")))
        s->max_procs = json_object_get_int64(v);
    if ((v = js_get(o, "isolate")))
        s->isolate = json_object_get_boolean(v);
    if ((v = js_get(o, "replicas")))
        s->replicas = json_object_get_int(v);
    if ((v = js_get(o, "gpus")))
        s->gpus = json_object_get_double(v);
    return true;
}

/* A value on one line: newlines and backslashes escaped. */
static void put_line(const char *key, const char *v)
{
    printf("%s=", key);
    for (; v && *v; v++) {
        if (*v == '\n')
            fputs("\\n", stdout);
        else if (*v == '\\')
            fputs("\\\\", stdout);
        else
            putchar(*v);
    }
    putchar('\n');
}

static int usage(void)
{
    fprintf(stderr, "usage: k8s_cli submit|manifest|status|cancel|remove|log|check|in-cluster ...\n"
                    "(see tests/engines/k8s_cli.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct arena a = ARENA_INIT;
    struct engine_conf c;
    struct exec_spec spec;
    struct k8s *k = NULL;
    const char *verb = argc > 1 ? argv[1] : "", *ca_file = getenv("K8S_CA_FILE");
    char err[512];
    enum err e = ERR_OK;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    if (!strcmp(verb, "manifest")) {
        json_object *m;
        if (!read_spec(&a, &spec)) {
            rc = 1;
            goto out;
        }
        m = spec.replicas > 1
                ? k8s_pytorchjob_manifest(&spec, getenv("K8S_NAMESPACE") ? getenv("K8S_NAMESPACE")
                                                                         : "default")
                : k8s_job_manifest(&spec,
                                   getenv("K8S_NAMESPACE") ? getenv("K8S_NAMESPACE") : "default");
        if (!m) {
            printf("err=%s\nmessage=invalid spec\n", err_name(ERR_BADREQ));
            rc = 1;
            goto out;
        }
        puts(js_str(m)); /* the same serialisation k8s_submit sends */
        json_object_put(m);
        goto out;
    }
    if (!strcmp(verb, "in-cluster")) {
        e = k8s_conf_in_cluster(&a, argc > 2 ? argv[2] : NULL, &c, err, sizeof(err));
        printf("err=%s\n", e ? err_name(e) : "ok");
        put_line("message", e ? err : "");
        if (!e) {
            put_line("endpoint", c.endpoint);
            put_line("namespace", c.queue ? c.queue : "");
            printf("token_len=%zu\nca_len=%zu\n", strlen(c.token), c.ca_pem ? strlen(c.ca_pem) : 0);
        }
        rc = e ? 1 : 0;
        goto out;
    }

    c.endpoint = getenv("K8S_ENDPOINT");
    c.token = getenv("K8S_TOKEN");
    c.queue = getenv("K8S_NAMESPACE");
    if (getenv("K8S_TIMEOUT_MS"))
        c.timeout_ms = strtol(getenv("K8S_TIMEOUT_MS"), NULL, 10);
    if (ca_file && *ca_file) {
        FILE *f = fopen(ca_file, "rb");
        size_t len;
        if (!f) {
            printf("err=%s\nmessage=cannot read %s\n", err_name(ERR_BADREQ), ca_file);
            rc = 1;
            goto out;
        }
        c.ca_pem = slurp(&a, f, &len);
        fclose(f);
    }
    if (!(k = k8s_open(&c, err, sizeof(err)))) {
        printf("err=%s\n", err_name(ERR_BADREQ));
        put_line("message", err);
        rc = 1;
        goto out;
    }

    if (!strcmp(verb, "submit")) {
        if (!read_spec(&a, &spec)) {
            rc = 1;
            goto out;
        }
        e = k8s_submit(k, &spec);
    } else if (!strcmp(verb, "status") && argc == 3) {
        struct exec_status st;
        e = k8s_status(k, &a, argv[2], &st);
        if (!e) {
            printf("state=%s\n", STATES[st.state]);
            put_line("reason", st.reason);
            printf("exit_code=%d\nterm_signal=%d\ntimed_out=%d\noom_killed=%d\ncancelled=%d\n"
                   "started_at=%lld\nfinished_at=%lld\n",
                   st.exit_code, st.term_signal, st.timed_out, st.oom_killed, st.cancelled,
                   (long long)st.started_at, (long long)st.finished_at);
        } else {
            put_line("reason", st.reason);
        }
    } else if (!strcmp(verb, "cancel") && argc == 3) {
        e = k8s_cancel(k, argv[2]);
    } else if (!strcmp(verb, "remove") && (argc == 3 || argc == 4)) {
        e = k8s_remove(k, argv[2], argc == 4 && !strcmp(argv[3], "keep"));
    } else if (!strcmp(verb, "log") && (argc == 5 || argc == 6)) {
        const char *data;
        size_t len;
        int64_t next, off = strtoll(argv[3], NULL, 10);
        bool eof;
        e = k8s_log(k, &a, argv[2], off, (size_t)strtoull(argv[4], NULL, 10), &data, &len, &next,
                    &eof);
        if (!e) {
            printf("len=%zu\nnext=%lld\neof=%d\n", len, (long long)next, eof);
            if (argc == 6) {
                FILE *f = fopen(argv[5], "wb");
                if (f) {
                    fwrite(data, 1, len, f);
                    fclose(f);
                }
            }
        }
    } else if (!strcmp(verb, "check") && argc == 2) {
        json_object *report = NULL;
        e = k8s_check(k, &a, &report);
        if (report)
            printf("report=%s\n", js_str(report)); /* one line: json-c escapes newlines */
    } else {
        rc = usage();
        goto out;
    }
    printf("err=%s\n", e ? err_name(e) : "ok");
    put_line("message", k8s_last_error(k));
    rc = e ? 1 : 0;
out:
    k8s_close(k);
    arena_free(&a);
    return rc;
}
