/*
 * render.c — a task's argv, env, workdir and image from its rows.
 *
 * Errors are sticky (PgBouncer's PktBuf): helpers record the first problem in
 * struct rs and return something harmless, and render_task checks once.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "core/buf.h"
#include "core/js.h"
#include "core/common.h"

/* One expanded string at most.  execve refuses strings above 128 KiB (MAX_ARG_STRLEN), but an
 * executor may hand a value over as a file; the cap is there so that "{{BIG}}" repeated cannot
 * exhaust memory. */
#define EXPAND_MAX ((size_t)1 << 20)
/* json-c's parser stops at 32 levels; this guards values built some other way. */
#define JSON_DEPTH_MAX 64

enum { NUM_WORKERS_MAX = 4096 };

struct var {
    const char *name, *value;
};

struct strvec {
    const char **v;
    size_t n, cap;
};

/* An environment being built: keys in first-seen order, the last value of each. */
struct envset {
    const char **key, **val;
    size_t n, cap;
};

/* Render state: the variables, the environment and argv being built, the first error. */
struct rs {
    struct arena *a;
    const char *task_name;
    struct var *vars; /* context variables first, then the global_env keys */
    size_t nvars, nctx, capvars;
    struct envset env;
    struct strvec argv;
    const char *err;
    enum err code;
};

static void fail(struct rs *st, enum err code, const char *msg)
{
    if (!st->err) {
        st->err = msg;
        st->code = code;
    }
}

static void *grow(struct arena *a, void *old, size_t n, size_t *cap, size_t size)
{
    void *p;

    if (n < *cap)
        return old;
    *cap = *cap ? *cap * 2 : 16;
    p = arena_alloc(a, *cap * size);
    if (n)
        memcpy(p, old, n * size);
    return p;
}

static void vec_push(struct rs *st, struct strvec *v, const char *s)
{
    v->v = grow(st->a, v->v, v->n, &v->cap, sizeof(*v->v));
    v->v[v->n++] = s;
}

/* ---- text helpers --------------------------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_ident(char c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (!first && c >= '0' && c <= '9');
}

static bool all_blank(const char *s)
{
    while (*s && is_blank(*s))
        s++;
    return !*s;
}

/* Trims [*s, *e) in place. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_blank(**s))
        (*s)++;
    while (*e > *s && is_blank((*e)[-1]))
        (*e)--;
}

/*
 * The shortest "%.Ng" that reads back as the same double, with ".0" added to
 * an integral value: Python's str(float), which is what cube-studio passed.
 */
static void fmt_double(char *out, size_t n, double d)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (!strpbrk(out, ".eEn") && strlen(out) + 3 <= n)
        memcpy(out + strlen(out), ".0", 3);
}

static bool is_type(json_object *o, enum json_type t)
{
    return o && json_object_is_type(o, t);
}

const char *render_scalar(struct arena *a, json_object *v)
{
    char num[40];

    if (!v)
        return "";
    switch (json_object_get_type(v)) {
    case json_type_string:
        return json_object_get_string(v);
    case json_type_int:
        return arena_printf(a, "%lld", (long long)json_object_get_int64(v));
    case json_type_double:
        fmt_double(num, sizeof(num), json_object_get_double(v));
        return arena_strdup(a, num);
    case json_type_boolean:
        return json_object_get_boolean(v) ? "true" : "false";
    case json_type_null:
        return "";
    case json_type_array:
    case json_type_object:
        return arena_strdup(a, js_str(v));
    }
    return "";
}

/* ---- variables ------------------------------------------------------------------------------ */

static void var_set(struct rs *st, const char *name, const char *value)
{
    /* A context variable is never replaced; a repeated global_env key is (the later line wins). */
    for (size_t i = 0; i < st->nvars; i++)
        if (!strcmp(st->vars[i].name, name)) {
            if (i >= st->nctx)
                st->vars[i].value = value;
            return;
        }
    st->vars = grow(st->a, st->vars, st->nvars, &st->capvars, sizeof(*st->vars));
    st->vars[st->nvars].name = name;
    st->vars[st->nvars++].value = value;
}

static const char *var_get(const struct rs *st, size_t nvars, const char *name, size_t len)
{
    for (size_t i = 0; i < nvars; i++)
        if (strlen(st->vars[i].name) == len && !memcmp(st->vars[i].name, name, len))
            return st->vars[i].value;
    return NULL;
}

/*
 * One pass over s with the first nvars variables: "{{", optional blanks, a
 * name, optional blanks, "}}".  When that does not match a known variable the
 * first "{" is copied and the scan resumes after it, so "{{{x}}}" still
 * finds {{x}} and "{{ x | upper }}" is copied untouched.  Each character is
 * looked at a bounded number of times: linear.  The result is in the arena.
 */
static const char *expand_n(struct rs *st, const char *s, size_t nvars)
{
    struct buf b;
    const char *p = s, *o;

    if (!strstr(s, "{{"))
        return arena_strdup(st->a, s);
    buf_init(&b, st->a, EXPAND_MAX);
    while ((o = strstr(p, "{{"))) {
        const char *q = o + 2, *name, *val = NULL;
        size_t len;

        buf_add(&b, p, (size_t)(o - p));
        while (*q == ' ' || *q == '\t')
            q++;
        name = q;
        if (is_ident(*q, true))
            while (is_ident(*q, false))
                q++;
        len = (size_t)(q - name);
        while (*q == ' ' || *q == '\t')
            q++;
        if (len && q[0] == '}' && q[1] == '}')
            val = var_get(st, nvars, name, len);
        if (val) {
            buf_adds(&b, val);
            p = q + 2;
        } else {
            buf_addc(&b, '{');
            p = o + 1;
        }
    }
    buf_adds(&b, p);
    if (buf_err(&b) != ERR_OK) {
        fail(st, ERR_UNPROCESSABLE,
             arena_printf(st->a, "task '%s': a value is longer than %zu bytes after expansion",
                          st->task_name, EXPAND_MAX));
        return "";
    }
    return buf_str(&b);
}

static const char *expand(struct rs *st, const char *s)
{
    return expand_n(st, s, st->nvars);
}

/* A deep copy of a list/dict arg with every string leaf expanded; doubles keep Python's text. */
static json_object *copy_expand(struct rs *st, json_object *v, int depth)
{
    json_object *out = NULL;
    char num[40];

    if (!v)
        return NULL;
    if (depth > JSON_DEPTH_MAX) {
        fail(st, ERR_UNPROCESSABLE,
             arena_printf(st->a, "task '%s': an arg value nests too deep", st->task_name));
        return NULL;
    }
    switch (json_object_get_type(v)) {
    case json_type_string:
        out = js_new_str(expand(st, json_object_get_string(v)));
        break;
    case json_type_double:
        fmt_double(num, sizeof(num), json_object_get_double(v));
        out = json_object_new_double_s(json_object_get_double(v), num);
        break;
    case json_type_array: {
        size_t n = json_object_array_length(v);
        out = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(out, copy_expand(st, json_object_array_get_idx(v, i), depth + 1));
        break;
    }
    case json_type_object: {
        out = json_object_new_object();
        json_object_object_foreach(v, key, val)
        {
            json_object_object_add(out, key, copy_expand(st, val, depth + 1));
        }
        break;
    }
    case json_type_int:
    case json_type_boolean:
    case json_type_null:
        ASSERT(json_object_deep_copy(v, &out, NULL) == 0);
        break;
    }
    return out;
}

/* ---- environment ------------------------------------------------------------------------------
 */

static void env_set(struct arena *a, struct envset *env, const char *key, const char *val)
{
    size_t cap = env->cap;

    for (size_t i = 0; i < env->n; i++)
        if (!strcmp(env->key[i], key)) {
            env->val[i] = val;
            return;
        }
    env->key = grow(a, env->key, env->n, &env->cap, sizeof(*env->key));
    env->val = grow(a, env->val, env->n, &cap, sizeof(*env->val));
    env->key[env->n] = key;
    env->val[env->n++] = val;
}

static bool valid_key(const char *s, size_t n)
{
    if (!n || !is_ident(s[0], true))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_ident(s[i], false))
            return false;
    return true;
}

enum err render_env_lines(struct arena *a, const char *text, const char *what,
                          struct env_var **vars, size_t *n, const char **err)
{
    size_t cap = 1, line = 0;
    const char *p = text;
    enum err ret = ERR_OK;

    *vars = NULL;
    *n = 0;
    *err = NULL;
    if (!text)
        goto out;
    for (const char *c = text; *c; c++)
        cap += *c == '\n';
    *vars = arena_alloc(a, cap * sizeof(**vars));
    while (*p) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p), *s = p, *e = end, *eq;
        const char *ks, *ke, *vs, *ve;

        line++;
        p = nl ? nl + 1 : end;
        trim(&s, &e);
        if (s == e || *s == '#')
            continue;
        eq = memchr(s, '=', (size_t)(e - s));
        if (!eq) {
            *err = arena_printf(a, "%s line %zu: expected KEY=value", what, line);
            ret = ERR_UNPROCESSABLE;
            goto out;
        }
        ks = s;
        ke = eq;
        vs = eq + 1;
        ve = e;
        trim(&ks, &ke);
        trim(&vs, &ve);
        if (!valid_key(ks, (size_t)(ke - ks))) {
            *err = arena_printf(a,
                                "%s line %zu: invalid variable name '%.*s' (expected KEY=value, "
                                "KEY of letters, digits and _, not starting with a digit)",
                                what, line, (int)(ke - ks), ks);
            ret = ERR_UNPROCESSABLE;
            goto out;
        }
        (*vars)[*n].key = arena_strndup(a, ks, (size_t)(ke - ks));
        (*vars)[(*n)++].value = arena_strndup(a, vs, (size_t)(ve - vs));
    }
out:
    if (ret != ERR_OK) {
        *vars = NULL;
        *n = 0;
    }
    return ret;
}

/* ---- args ----------------------------------------------------------------------------------- */

/* Args and schemas may arrive as JSON text (a Text column) or as an object; missing = none.
 * The error names them as "<whose> '<name>': args", formatted only then: a tick renders
 * thousands of tasks. */
static json_object *as_object(struct rs *st, json_object *v, const char *whose, const char *name)
{
    const char *msg;
    json_object *o;

    if (!v || is_type(v, json_type_null))
        return NULL;
    if (is_type(v, json_type_object))
        return v;
    if (is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (all_blank(s))
            return NULL;
        o = js_parse(st->a, s, strlen(s), &msg);
        if (o && is_type(o, json_type_object))
            return o;
    }
    fail(st, ERR_UNPROCESSABLE,
         arena_printf(st->a, "%s '%s': args must be a JSON object", whose, name));
    return NULL;
}

/* The expanded text of a scalar arg; NULL when missing, null, a bool, a list or a dict. */
static const char *arg_text(struct rs *st, json_object *args, const char *name)
{
    json_object *v = js_get(args, name);

    if (is_type(v, json_type_string))
        return expand(st, json_object_get_string(v));
    if (is_type(v, json_type_int) || is_type(v, json_type_double))
        return render_scalar(st->a, v);
    return NULL;
}

static const char *arg_required(struct rs *st, json_object *args, const char *tmpl,
                                const char *name)
{
    const char *s = arg_text(st, args, name);

    if (!s || all_blank(s)) {
        fail(st, ERR_UNPROCESSABLE,
             arena_printf(st->a, "task '%s': arg '%s' is required by template '%s'", st->task_name,
                          name, tmpl));
        return "";
    }
    return s;
}

static int64_t arg_int(struct rs *st, json_object *args, const char *name, int64_t def, int64_t min,
                       int64_t max)
{
    json_object *v = js_get(args, name);
    int64_t n = def;

    if (!v || (is_type(v, json_type_string) && all_blank(json_object_get_string(v))))
        return def;
    if (is_type(v, json_type_int))
        n = json_object_get_int64(v);
    else if (!is_type(v, json_type_string) || !parse_i64(json_object_get_string(v), min, max, &n))
        n = min - 1;
    if (n < min || n > max) {
        fail(st, ERR_UNPROCESSABLE,
             arena_printf(st->a, "task '%s': arg '%s' must be an integer from %lld to %lld",
                          st->task_name, name, (long long)min, (long long)max));
        return def;
    }
    return n;
}

/* One schema arg of a generic template → zero, one or two argv entries. */
static void push_flag(struct rs *st, const char *name, json_object *v)
{
    json_object *copy;

    if (!v)
        return;
    switch (json_object_get_type(v)) {
    case json_type_null:
        return;
    case json_type_boolean:
        if (json_object_get_boolean(v))
            vec_push(st, &st->argv, arena_strdup(st->a, name));
        return;
    case json_type_string: {
        const char *s = expand(st, json_object_get_string(v));
        if (*s) {
            vec_push(st, &st->argv, arena_strdup(st->a, name));
            vec_push(st, &st->argv, s);
        }
        return;
    }
    case json_type_int:
    case json_type_double:
        vec_push(st, &st->argv, arena_strdup(st->a, name));
        vec_push(st, &st->argv, render_scalar(st->a, v));
        return;
    case json_type_array:
    case json_type_object:
        if (is_type(v, json_type_array) ? !json_object_array_length(v)
                                        : !json_object_object_length(v))
            return;
        copy = copy_expand(st, v, 0);
        vec_push(st, &st->argv, arena_strdup(st->a, name));
        vec_push(st, &st->argv, arena_strdup(st->a, js_str(copy)));
        json_object_put(copy);
        return;
    }
}

/* The args in schema order (group → arg → descriptor; groups are display only). */
static void push_flags(struct rs *st, json_object *schema, json_object *args)
{
    struct strvec seen = {0};

    if (!schema || !args)
        return;
    json_object_object_foreach(schema, group, g)
    {
        (void)group;
        if (!is_type(g, json_type_object))
            continue;
        json_object_object_foreach(g, name, desc)
        {
            bool dup = false;

            (void)desc;
            if (!strcmp(name, "images") || !strcmp(name, "workdir"))
                continue;
            for (size_t i = 0; i < seen.n && !dup; i++)
                dup = !strcmp(seen.v[i], name);
            if (dup)
                continue;
            vec_push(st, &seen, name);
            push_flag(st, name, js_get(args, name));
        }
    }
}

/*
 * The task's command for bash -c: one line per step, joined with " && " as
 * cube-studio did, but blank lines and # comments are skipped (a comment would
 * swallow every later step) and a trailing backslash continues the line.  The
 * args follow as positional parameters of the last step ("$@").
 */
static const char *command_script(struct rs *st, const char *cmd)
{
    struct buf b;
    const char *p = cmd;
    bool cont = false, any = false;

    buf_init(&b, st->a, EXPAND_MAX);
    while (*p) {
        const char *nl = strchr(p, '\n'), *s = p, *e = nl ? nl : p + strlen(p);

        p = nl ? nl + 1 : e;
        trim(&s, &e);
        if (s == e || *s == '#') {
            cont = false; /* bash ends a continued line here too */
            continue;
        }
        if (any)
            buf_adds(&b, cont ? " " : " && ");
        any = true;
        cont = e[-1] == '\\';
        buf_add(&b, s, (size_t)(e - s) - cont);
        while (b.len && is_blank(b.p[b.len - 1]))
            buf_truncate(&b, b.len - 1);
    }
    buf_adds(&b, " \"$@\"");
    if (buf_err(&b) != ERR_OK) {
        fail(st, ERR_UNPROCESSABLE,
             arena_printf(st->a, "task '%s': the command is too long", st->task_name));
        return "";
    }
    return buf_str(&b);
}

/* ---- templates ------------------------------------------------------------------------------ */

struct job {
    json_object *task, *tmpl, *args, *schema;
    const char *tmpl_name;
    int replicas;
    int master_port; /* distributed only */
};

static void t_customize(struct rs *st, struct job *j)
{
    vec_push(st, &st->argv, "bash");
    vec_push(st, &st->argv, "-c");
    vec_push(st, &st->argv, arg_required(st, j->args, j->tmpl_name, "command"));
}

static void t_python(struct rs *st, struct job *j)
{
    vec_push(st, &st->argv, "python3");
    vec_push(st, &st->argv, "-c");
    vec_push(st, &st->argv, arg_required(st, j->args, j->tmpl_name, "code"));
}

static void t_shell(struct rs *st, struct job *j)
{
    static const char *const pre[] = {"bash", "-euo", "pipefail", "-c"};

    for (size_t i = 0; i < ARRAY_LEN(pre); i++)
        vec_push(st, &st->argv, pre[i]);
    vec_push(st, &st->argv, arg_required(st, j->args, j->tmpl_name, "script"));
}

static void t_logical(struct rs *st, struct job *j)
{
    (void)j;
    vec_push(st, &st->argv, "true");
}

static void t_distributed(struct rs *st, struct job *j)
{
    t_customize(st, j);
    j->replicas = (int)arg_int(st, j->args, "num_workers", 2, 1, NUM_WORKERS_MAX);
    j->master_port = (int)arg_int(st, j->args, "master_port", 29500, 1, 65535);
}

static void t_generic(struct rs *st, struct job *j)
{
    const char *cmd = js_get_str(j->task, "command");

    if (cmd && !all_blank(cmd)) {
        vec_push(st, &st->argv, "bash");
        vec_push(st, &st->argv, "-c");
        vec_push(st, &st->argv, command_script(st, expand(st, cmd)));
        vec_push(st, &st->argv, "cube"); /* $0 */
    } else {
        const char *ep = js_get_str(j->tmpl, "entrypoint");
        const char *p = expand(st, ep ? ep : "");

        for (;;) {
            const char *s;
            while (*p && is_blank(*p))
                p++;
            if (!*p)
                break;
            s = p;
            while (*p && !is_blank(*p))
                p++;
            vec_push(st, &st->argv, arena_strndup(st->a, s, (size_t)(p - s)));
        }
        if (!st->argv.n) {
            fail(st, ERR_UNPROCESSABLE,
                 arena_printf(st->a,
                              "task '%s': template '%s' has no entrypoint and the task no command",
                              st->task_name, j->tmpl_name));
            return;
        }
    }
    push_flags(st, j->schema, j->args);
}

struct tdef {
    const char *name;
    void (*build)(struct rs *st, struct job *j);
    bool distributed;
};

static const struct tdef templates[] = {
    {"customize", t_customize, false},
    {"自定义镜像", t_customize, false}, /* cube-studio's name for it, kept for imported rows */
    {"python", t_python, false},
    {"shell-script", t_shell, false},
    {"logical", t_logical, false},
    {"distributed", t_distributed, true},
};

/* ---- the whole task ------------------------------------------------------------------------- */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The first non-empty of the candidates, or "". */
static const char *first_of(const char *a, const char *b, const char *c)
{
    if (a && *a)
        return a;
    if (b && *b)
        return b;
    return c && *c ? c : "";
}

/*
 * Reads env lines into dst.  global_env (context_only) is expanded with the
 * context variables and defines the {{KEY}} variables; template env is
 * expanded with all of them.
 */
static void load_env(struct rs *st, struct envset *dst, const char *text, const char *what,
                     bool context_only)
{
    struct env_var *vars;
    size_t n;
    const char *err;

    if (st->err)
        return;
    if (render_env_lines(st->a, text, what, &vars, &n, &err) != ERR_OK) {
        fail(st, ERR_UNPROCESSABLE, err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v =
            context_only ? expand_n(st, vars[i].value, st->nctx) : expand(st, vars[i].value);
        if (context_only)
            var_set(st, vars[i].key, v);
        env_set(st->a, dst, vars[i].key, v);
    }
}

/* "K=V" (copied, not printed: a task has twenty of them). */
static const char *env_entry(struct arena *a, const char *key, const char *val)
{
    size_t kl = strlen(key), vl = strlen(val);
    char *e = arena_alloc(a, kl + vl + 2);

    memcpy(e, key, kl);
    e[kl] = '=';
    memcpy(e + kl + 1, val, vl + 1);
    return e;
}

/* The KFJ_* block in its order: the one list of its names and where each value comes from. */
static const struct {
    const char *key;
    size_t off;
} kfj_fields[] = {
    {"KFJ_PIPELINE_ID", offsetof(struct render_kfj, pipeline_id)},
    {"KFJ_PIPELINE_NAME", offsetof(struct render_kfj, pipeline_name)},
    {"KFJ_RUN_ID", offsetof(struct render_kfj, run_id)},
    {"KFJ_CREATOR", offsetof(struct render_kfj, creator)},
    {"KFJ_RUNNER", offsetof(struct render_kfj, runner)},
    {"KFJ_EXECUTION_DATE", offsetof(struct render_kfj, execution_date)},
    {"KFJ_PROJECT_NAME", offsetof(struct render_kfj, project_name)},
    {"KFJ_TASK_ID", offsetof(struct render_kfj, task_id)},
    {"KFJ_TASK_NAME", offsetof(struct render_kfj, task_name)},
    {"KFJ_TASK_IMAGES", offsetof(struct render_kfj, image)},
    {"KFJ_TASK_VOLUME_MOUNT", offsetof(struct render_kfj, volume_mount)},
    {"KFJ_TASK_NODE_SELECTOR", offsetof(struct render_kfj, node_selector)},
    {"KFJ_TASK_RESOURCE_CPU", offsetof(struct render_kfj, cpu)},
    {"KFJ_TASK_RESOURCE_MEMORY", offsetof(struct render_kfj, memory)},
    {"KFJ_TASK_RESOURCE_GPU", offsetof(struct render_kfj, gpu)},
    {"KFJ_TASK_TIMEOUT", offsetof(struct render_kfj, timeout)},
};

static const char *kfj_value(const struct render_kfj *k, size_t i)
{
    const char *v = *(const char *const *)((const char *)k + kfj_fields[i].off);
    return v ? v : "";
}

bool render_kfj_key(const char *entry)
{
    const char *eq = strchr(entry, '=');
    size_t len = eq ? (size_t)(eq - entry) : strlen(entry);

    if (strncmp(entry, "KFJ_", 4))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(kfj_fields); i++)
        if (strlen(kfj_fields[i].key) == len && !memcmp(kfj_fields[i].key, entry, len))
            return true;
    return false;
}

const char **render_kfj_env(struct arena *a, const char *const *env, size_t nenv,
                            const struct render_kfj *k, size_t *n)
{
    const char **out = arena_alloc(a, (nenv + ARRAY_LEN(kfj_fields) + 1) * sizeof(*out));
    size_t m = 0;

    for (size_t i = 0; i < nenv; i++) {
        if (render_kfj_key(env[i])) {
            memcpy(out, env, nenv * sizeof(*out));
            out[nenv] = NULL;
            *n = nenv;
            return out;
        }
        out[m++] = env[i];
    }
    for (size_t i = 0; i < ARRAY_LEN(kfj_fields); i++)
        out[m++] = env_entry(a, kfj_fields[i].key, kfj_value(k, i));
    out[m] = NULL;
    *n = m;
    return out;
}

enum err render_task(struct arena *a, json_object *pipeline, json_object *task, json_object *tmpl,
                     const struct render_ctx *rc, struct rendered *out, const char **err)
{
    struct rs st = {.a = a};
    struct job j = {.task = task, .tmpl = tmpl, .replicas = 1};
    struct envset genv = {0};
    const struct tdef *t = NULL;
    const char *creator, *runner, *pipeline_id, *image, *workdir, *raw;

    ASSERT(pipeline && task && tmpl && rc);
    memset(out, 0, sizeof(*out));
    *err = NULL;
    st.task_name = or_empty(js_get_str(task, "name"));
    j.tmpl_name = or_empty(js_get_str(tmpl, "name"));

    creator = first_of(rc->creator, js_get_str(js_get(pipeline, "created_by"), "username"), NULL);
    runner = first_of(rc->runner, creator, NULL);
    pipeline_id = render_scalar(a, js_get(pipeline, "id"));
    var_set(&st, "creator", creator);
    var_set(&st, "runner", runner);
    var_set(&st, "execution_date", or_empty(rc->execution_date));
    var_set(&st, "pipeline_name", or_empty(js_get_str(pipeline, "name")));
    var_set(&st, "pipeline_id", pipeline_id);
    var_set(&st, "run_id", or_empty(rc->run_id));
    var_set(&st, "task_name", st.task_name);
    st.nctx = st.nvars;

    /* global_env defines variables, so it is read before anything else is expanded; its place in
     * the environment is after the template's, so it is collected aside and replayed. */
    load_env(&st, &genv, js_get_str(pipeline, "global_env"), "global_env", true);
    raw = js_get_str(tmpl, "env");
    if (raw && *raw)
        load_env(&st, &st.env, raw, arena_printf(a, "template '%s' env", j.tmpl_name), false);
    for (size_t i = 0; i < genv.n; i++)
        env_set(a, &st.env, genv.key[i], genv.val[i]);

    j.args = as_object(&st, js_get(task, "args"), "task", st.task_name);
    j.schema = as_object(&st, js_get(tmpl, "args"), "template", j.tmpl_name);
    if (st.err)
        goto out;

    /* Each value is expanded once, after its source is chosen. */
    raw = js_get_str(j.args, "images");
    image =
        first_of(raw ? expand(&st, raw) : NULL, js_get_str(js_get(tmpl, "image"), "name"), NULL);
    raw = first_of(js_get_str(j.args, "workdir"), js_get_str(task, "working_dir"),
                   js_get_str(tmpl, "workdir"));
    workdir = expand(&st, raw);

    for (size_t i = 0; i < ARRAY_LEN(templates) && !t; i++)
        if (!strcmp(templates[i].name, j.tmpl_name))
            t = &templates[i];
    if (t)
        t->build(&st, &j);
    else
        t_generic(&st, &j);
    if (st.err)
        goto out;

    /* The KFJ_ block comes last and always wins: scripts and launchers rely on it. */
    out->kfj = (struct render_kfj){
        .pipeline_id = pipeline_id,
        .pipeline_name = or_empty(js_get_str(pipeline, "name")),
        .run_id = or_empty(rc->run_id),
        .creator = creator,
        .runner = runner,
        .execution_date = or_empty(rc->execution_date),
        .project_name = render_scalar(a, js_get(js_get(pipeline, "project"), "name")),
        .task_id = render_scalar(a, js_get(task, "id")),
        .task_name = st.task_name,
        .image = image,
        .volume_mount = render_scalar(a, js_get(task, "volume_mount")),
        .node_selector = render_scalar(a, js_get(task, "node_selector")),
        .cpu = render_scalar(a, js_get(task, "resource_cpu")),
        .memory = render_scalar(a, js_get(task, "resource_memory")),
        .gpu = render_scalar(a, js_get(task, "resource_gpu")),
        .timeout = render_scalar(a, js_get(task, "timeout")),
    };
    for (size_t i = 0; i < ARRAY_LEN(kfj_fields); i++)
        env_set(a, &st.env, kfj_fields[i].key, kfj_value(&out->kfj, i));
    if (t && t->distributed) {
        /* The executor replaces MASTER_ADDR on a cluster and adds RANK and LOCAL_RANK. */
        env_set(a, &st.env, "WORLD_SIZE", arena_printf(a, "%d", j.replicas));
        env_set(a, &st.env, "MASTER_PORT", arena_printf(a, "%d", j.master_port));
        env_set(a, &st.env, "MASTER_ADDR", "127.0.0.1");
    }

    out->argv = st.argv.v;
    out->argc = st.argv.n;
    out->env = arena_alloc(a, (st.env.n ? st.env.n : 1) * sizeof(*out->env));
    for (size_t i = 0; i < st.env.n; i++)
        out->env[i] = env_entry(a, st.env.key[i], st.env.val[i]);
    out->nenv = st.env.n;
    out->workdir = workdir;
    out->image = arena_strdup(a, image);
    out->replicas = j.replicas;
out:
    if (st.err) {
        memset(out, 0, sizeof(*out));
        *err = st.err;
        return st.code;
    }
    return ERR_OK;
}
