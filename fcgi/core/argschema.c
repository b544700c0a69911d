/*
 * argschema.c — job template argument schemas: checking them, and coercing a
 * task's args against them.
 *
 * One reader (read_arg) turns a descriptor into a struct arg and refuses what
 * it cannot read; argschema_check runs it over the whole schema, recursing
 * into sub_args and pushing every default through the arg's own coercion.
 * argschema_apply checks the schema first, so afterwards read_arg cannot
 * fail, and the defaults it fills in are known to coerce.
 *
 * Values under construction are plain json-c references, not in the arena:
 * each function returns a new object (refcount 1) or puts what it built, and
 * only the finished top-level result is handed to the arena.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/argschema.h"
#include "core/js.h"
#include "core/common.h"

/* Levels of sub_args below an arg; real templates use one. */
enum { DEPTH_MAX = 8, SHOW_MAX = 60 };

enum atype {
    T_STR,
    T_TEXT,
    T_JSON,
    T_INT,
    T_FLOAT,
    T_BOOL,
    T_ENUM,
    T_MULTIPLE,
    T_LIST,
    T_DICT,
    T_FILE,
    T__COUNT
};

static const char *const type_names[T__COUNT] = {
    [T_STR] = "str",     [T_TEXT] = "text", [T_JSON] = "json", [T_INT] = "int",
    [T_FLOAT] = "float", [T_BOOL] = "bool", [T_ENUM] = "enum", [T_MULTIPLE] = "multiple",
    [T_LIST] = "list",   [T_DICT] = "dict", [T_FILE] = "file",
};

/* A descriptor, read. */
struct arg {
    enum atype type, item;
    bool require, editable;
    json_object *choice; /* array, or NULL */
    const char *range;   /* the descriptor's text, for messages; NULL when none */
    bool has_min, has_max;
    double min, max;
    json_object *deflt; /* NULL when there is none */
    json_object *sub;   /* non-empty sub_args, or NULL */
};

struct cx {
    struct arena *a;
    const char *err; /* the first failure, "path: problem" */
    int depth;
};

/* ---- small helpers ---------------------------------------------------------------------- */

PRINTF_LIKE(3, 4) static bool fail(struct cx *c, const char *path, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ASSERT(n >= 0);
    msg = arena_alloc(c->a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    c->err = path && *path ? arena_printf(c->a, "%s: %s", path, msg) : msg;
    return false;
}

/* A value as JSON text for a message, cut at a character boundary when long. */
static const char *show(struct cx *c, json_object *v)
{
    const char *s = v ? js_str(v) : "null";
    size_t n = strlen(s), cut = SHOW_MAX;

    if (n <= SHOW_MAX)
        return arena_strdup(c->a, s);
    while (cut && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    return arena_printf(c->a, "%.*s...", (int)cut, s);
}

static const char *join(struct cx *c, const char *path, const char *name)
{
    return path ? arena_printf(c->a, "%s.%s", path, name) : name;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Narrows [*p, *p + *n) to its non-space middle. */
static void trim(const char **p, size_t *n)
{
    while (*n && is_space(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_space((*p)[*n - 1]))
        (*n)--;
}

static bool is_blank(json_object *v)
{
    const char *p;
    size_t n;

    if (!json_object_is_type(v, json_type_string))
        return false;
    p = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    trim(&p, &n);
    return n == 0;
}

/* A string's bytes; refuses embedded NULs, which would cut a command-line argument short. */
static bool text_of(struct cx *c, json_object *v, const char *path, const char **p, size_t *n)
{
    *p = json_object_get_string(v);
    *n = (size_t)json_object_get_string_len(v);
    if (memchr(*p, '\0', *n))
        return fail(c, path, "contains a NUL character");
    return true;
}

/* Shortest %g text that reads back as d: 0.1 stays "0.1", not 0.10000000000000001. */
static void fmt_double(double d, char out[40])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
}

/* A decimal number: [+-] digits [. digits] [e [+-] digits], at least one mantissa digit.  No
 * hex, inf or nan, which strtod alone would take. */
static bool parse_number(struct cx *c, const char *p, size_t n, double *out)
{
    size_t i = 0, digits = 0;
    char *copy, *end = NULL;

    if (i < n && (p[i] == '+' || p[i] == '-'))
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        digits++;
    if (i < n && p[i] == '.')
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            digits++;
    if (!digits)
        return false;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            exp_digits++;
        if (!exp_digits)
            return false;
    }
    if (i != n)
        return false;
    copy = arena_strndup(c->a, p, n);
    *out = strtod(copy, &end);
    return *end == '\0' && isfinite(*out);
}

static bool integral(double d, int64_t *out)
{
    /* 2^63 is exact as a double; the cast is defined only inside [-2^63, 2^63). */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return false;
    *out = (int64_t)d;
    return (double)*out == d;
}

static json_object *deep_copy(json_object *v)
{
    json_object *dst = NULL;

    if (!v)
        return NULL;
    ASSERT(json_object_deep_copy(v, &dst, NULL) == 0);
    return dst;
}

static bool type_from_name(const char *s, enum atype *t)
{
    for (int i = 0; i < T__COUNT; i++) {
        if (!strcmp(s, type_names[i])) {
            *t = (enum atype)i;
            return true;
        }
    }
    return false;
}

/* ---- reading a descriptor --------------------------------------------------------------- */

static bool read_type(struct cx *c, json_object *desc, const char *key, const char *path,
                      enum atype *t)
{
    json_object *v = js_get(desc, key);

    if (!v)
        return true;
    if (!json_object_is_type(v, json_type_string))
        return fail(c, join(c, path, key), "expected a type name, got %s", show(c, v));
    if (!type_from_name(json_object_get_string(v), t))
        return fail(c, join(c, path, key), "unknown type '%s'", json_object_get_string(v));
    return true;
}

/* 0/1 or false/true, as cube-studio's forms write them. */
static bool read_flag(struct cx *c, json_object *desc, const char *key, const char *path,
                      bool *flag)
{
    json_object *v = js_get(desc, key);

    if (!v)
        return true;
    if (json_object_is_type(v, json_type_boolean)) {
        *flag = json_object_get_boolean(v);
        return true;
    }
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        if (i == 0 || i == 1) {
            *flag = i == 1;
            return true;
        }
    }
    return fail(c, join(c, path, key), "expected 0 or 1, got %s", show(c, v));
}

static bool read_bound(struct cx *c, const char *p, size_t n, bool *has, double *bound)
{
    trim(&p, &n);
    if (!n)
        return true;
    *has = true;
    return parse_number(c, p, n, bound);
}

static bool read_range(struct cx *c, json_object *v, const char *path, struct arg *g)
{
    const char *s, *comma;

    if (!json_object_is_type(v, json_type_string))
        return fail(c, path, "expected \"min,max\", got %s", show(c, v));
    s = json_object_get_string(v);
    comma = strchr(s, ',');
    if (!comma || strchr(comma + 1, ',') ||
        !read_bound(c, s, (size_t)(comma - s), &g->has_min, &g->min) ||
        !read_bound(c, comma + 1, strlen(comma + 1), &g->has_max, &g->max))
        return fail(c, path, "expected \"min,max\" with numbers (either may be empty), got %s",
                    show(c, v));
    if (g->has_min && g->has_max && g->min > g->max)
        return fail(c, path, "the minimum is above the maximum");
    g->range = s;
    return true;
}

static bool numeric(enum atype t)
{
    return t == T_INT || t == T_FLOAT;
}

/* Fills g from desc and checks each field on its own; sub_args and the default are checked by
 * check_arg, which needs the rest of g to do it. */
static bool read_arg(struct cx *c, json_object *desc, const char *path, struct arg *g)
{
    static const char *const strings[] = {"label", "placeholder", "describe"};
    json_object *v;
    bool item_given;

    memset(g, 0, sizeof(*g));
    g->type = g->item = T_STR;
    g->require = g->editable = true;
    if (!json_object_is_type(desc, json_type_object))
        return fail(c, path, "expected an object (type, label, default, ...), got %s",
                    show(c, desc));
    item_given = js_get(desc, "item_type") != NULL;
    if (!read_type(c, desc, "type", path, &g->type) ||
        !read_type(c, desc, "item_type", path, &g->item) ||
        !read_flag(c, desc, "require", path, &g->require) ||
        !read_flag(c, desc, "editable", path, &g->editable))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(strings); i++) {
        v = js_get(desc, strings[i]);
        if (v && !json_object_is_type(v, json_type_string))
            return fail(c, join(c, path, strings[i]), "expected a string, got %s", show(c, v));
    }

    if ((g->type == T_ENUM || g->type == T_MULTIPLE) &&
        !(g->item == T_STR || g->item == T_TEXT || numeric(g->item)))
        return fail(c, join(c, path, "item_type"), "%s items must be str, text, int or float",
                    type_names[g->type]);
    if (g->type == T_LIST && (g->item == T_ENUM || g->item == T_MULTIPLE || g->item == T_LIST))
        return fail(c, join(c, path, "item_type"), "list items cannot be %s", type_names[g->item]);

    v = js_get(desc, "sub_args");
    if (v && !json_object_is_type(v, json_type_object))
        return fail(c, join(c, path, "sub_args"), "expected an object of arguments, got %s",
                    show(c, v));
    if (v && json_object_object_length(v) > 0) {
        if (g->type == T_LIST && !item_given)
            g->item = T_DICT;
        if (!(g->type == T_DICT || (g->type == T_LIST && g->item == T_DICT)))
            return fail(c, join(c, path, "sub_args"),
                        "only a dict, or a list of dicts, has sub_args");
        g->sub = v;
    }

    v = js_get(desc, "choice");
    if (v && !json_object_is_type(v, json_type_array))
        return fail(c, join(c, path, "choice"), "expected an array, got %s", show(c, v));
    g->choice = v;
    if ((g->type == T_ENUM || g->type == T_MULTIPLE) && (!v || json_object_array_length(v) == 0))
        return fail(c, join(c, path, "choice"), "%s needs a non-empty choice", type_names[g->type]);

    v = js_get(desc, "range");
    if (v && !is_blank(v)) {
        if (!(numeric(g->type) || (g->type == T_LIST && numeric(g->item))))
            return fail(c, join(c, path, "range"),
                        "only int and float (or lists of them) have a range");
        if (!read_range(c, v, join(c, path, "range"), g))
            return false;
    }

    v = js_get(desc, "default");
    if (v && !is_blank(v))
        g->deflt = v;
    return true;
}

/* ---- coercion --------------------------------------------------------------------------- */

static bool coerce(struct cx *c, const struct arg *g, enum atype t, json_object *v,
                   const char *path, json_object **out);
static json_object *apply_map(struct cx *c, json_object *map, json_object *in, const char *path);

static bool in_range(struct cx *c, const struct arg *g, double d, json_object *v, const char *path)
{
    if ((g->has_min && d < g->min) || (g->has_max && d > g->max))
        return fail(c, path, "%s is outside the range \"%s\"", show(c, v), g->range);
    return true;
}

static bool to_int(struct cx *c, const struct arg *g, json_object *v, const char *path,
                   json_object **out)
{
    int64_t i = 0;
    double d;
    bool ok = false;

    switch (json_object_get_type(v)) {
    case json_type_int:
        /* json-c clamps integers above INT64_MAX; those are out of reach, not INT64_MAX. */
        i = json_object_get_int64(v);
        ok = i < INT64_MAX || json_object_get_uint64(v) == (uint64_t)INT64_MAX;
        break;
    case json_type_double:
        ok = integral(json_object_get_double(v), &i);
        break;
    case json_type_string: {
        const char *p;
        size_t n;
        if (!text_of(c, v, path, &p, &n))
            return false;
        trim(&p, &n);
        /* Exact for every int64 first; then "12.0" and "1e3" through the double. */
        ok = n && parse_i64(arena_strndup(c->a, p, n), INT64_MIN, INT64_MAX, &i);
        if (!ok && parse_number(c, p, n, &d))
            ok = integral(d, &i);
        break;
    }
    default:
        break;
    }
    if (!ok)
        return fail(c, path, "expected an integer, got %s", show(c, v));
    if (!in_range(c, g, (double)i, v, path))
        return false;
    *out = json_object_new_int64(i);
    return true;
}

static bool to_float(struct cx *c, const struct arg *g, json_object *v, const char *path,
                     json_object **out)
{
    char text[40];
    double d = 0;
    bool ok = false;

    switch (json_object_get_type(v)) {
    case json_type_int:
        d = json_object_get_double(v);
        ok = true;
        break;
    case json_type_double:
        d = json_object_get_double(v);
        ok = isfinite(d);
        break;
    case json_type_string: {
        const char *p;
        size_t n;
        if (!text_of(c, v, path, &p, &n))
            return false;
        trim(&p, &n);
        ok = parse_number(c, p, n, &d);
        break;
    }
    default:
        break;
    }
    if (!ok)
        return fail(c, path, "expected a number, got %s", show(c, v));
    if (!in_range(c, g, d, v, path))
        return false;
    /* Serialised as the shortest exact text, always with a point or exponent so that it reads
     * back as a float. */
    fmt_double(d, text);
    if (!strpbrk(text, ".e"))
        memcpy(text + strlen(text), ".0", 3);
    *out = json_object_new_double_s(d, text);
    return true;
}

static bool to_str(struct cx *c, json_object *v, const char *path, json_object **out)
{
    char num[40];
    const char *p;
    size_t n;

    switch (json_object_get_type(v)) {
    case json_type_string:
        if (!text_of(c, v, path, &p, &n))
            return false;
        trim(&p, &n);
        *out = json_object_new_string_len(p, (int)n);
        return true;
    case json_type_int:
        /* json-c's own text is exact, also for integers above INT64_MAX. */
        *out = json_object_new_string(json_object_get_string(v));
        return true;
    case json_type_double:
        if (!isfinite(json_object_get_double(v)))
            break;
        fmt_double(json_object_get_double(v), num);
        *out = json_object_new_string(num);
        return true;
    default:
        break;
    }
    return fail(c, path, "expected a string, got %s", show(c, v));
}

static bool to_bool(struct cx *c, json_object *v, const char *path, json_object **out)
{
    int b = -1;

    if (json_object_is_type(v, json_type_boolean)) {
        b = json_object_get_boolean(v);
    } else if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        b = i == 0 ? 0 : i == 1 ? 1 : -1;
    } else if (json_object_is_type(v, json_type_string)) {
        const char *p;
        size_t n;
        if (!text_of(c, v, path, &p, &n))
            return false;
        trim(&p, &n);
        if ((n == 4 && !strncasecmp(p, "true", 4)) || (n == 1 && *p == '1'))
            b = 1;
        else if ((n == 5 && !strncasecmp(p, "false", 5)) || (n == 1 && *p == '0'))
            b = 0;
    }
    if (b < 0)
        return fail(c, path, "expected true or false, got %s", show(c, v));
    *out = json_object_new_boolean(b);
    return true;
}

/* A string holding JSON is parsed (json and dict args come from text areas too). */
static bool parse_text(struct cx *c, json_object *v, const char *path, json_object **parsed)
{
    const char *p, *msg = NULL;
    size_t n;

    if (!text_of(c, v, path, &p, &n))
        return false;
    trim(&p, &n);
    *parsed = js_parse(c->a, p, n, &msg); /* owned by the arena: borrowed here */
    if (msg)
        return fail(c, path, "invalid JSON: %s", msg);
    return true;
}

static bool to_json(struct cx *c, json_object *v, const char *path, json_object **out)
{
    json_object *parsed = NULL;

    if (!json_object_is_type(v, json_type_string)) {
        *out = deep_copy(v);
        return true;
    }
    if (!parse_text(c, v, path, &parsed))
        return false;
    *out = deep_copy(parsed);
    return true;
}

static bool to_dict(struct cx *c, const struct arg *g, json_object *v, const char *path,
                    json_object **out)
{
    json_object *obj = v;

    if (json_object_is_type(v, json_type_string) && !parse_text(c, v, path, &obj))
        return false;
    if (!json_object_is_type(obj, json_type_object))
        return fail(c, path, "expected an object, got %s", show(c, v));
    if (!g->sub) {
        *out = deep_copy(obj);
        return true;
    }
    *out = apply_map(c, g->sub, obj, path);
    return *out != NULL;
}

/* Is x (already coerced to the item type) one of the choices, coerced alike? */
static bool in_choice(struct cx *c, const struct arg *g, json_object *x, const char *path)
{
    size_t n = json_object_array_length(g->choice);

    for (size_t i = 0; i < n; i++) {
        json_object *ch = NULL;
        bool same;
        if (!coerce(c, g, g->item, json_object_array_get_idx(g->choice, i), path, &ch))
            continue;
        same = json_object_equal(x, ch);
        json_object_put(ch);
        if (same)
            return true;
    }
    return fail(c, path, "%s is not one of %s", show(c, x), show(c, g->choice));
}

/* Splits s at any of seps into an array of trimmed, non-empty strings. */
static json_object *split(json_object *s, const char *seps)
{
    const char *p = json_object_get_string(s), *end = p + json_object_get_string_len(s);
    json_object *arr = json_object_new_array();

    while (p < end) {
        const char *q = p;
        size_t n;
        while (q < end && !strchr(seps, *q))
            q++;
        n = (size_t)(q - p);
        trim(&p, &n);
        if (n)
            json_object_array_add(arr, json_object_new_string_len(p, (int)n));
        p = q + 1;
    }
    return arr;
}

/* enum and multiple elements, and list elements: each through the item type. */
static bool to_array(struct cx *c, const struct arg *g, json_object *v, const char *path,
                     json_object **out)
{
    json_object *elems = NULL, *arr = NULL;
    bool ok = false;
    size_t n;

    if (json_object_is_type(v, json_type_string)) {
        /* multiple: cube-studio's separators; list: "a, b, c". */
        if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)))
            return fail(c, path, "contains a NUL character");
        elems = split(v, g->type == T_MULTIPLE ? " \t\r\n,;" : ",");
    } else if (json_object_is_type(v, json_type_array)) {
        elems = json_object_get(v);
    } else {
        return fail(c, path, "expected an array or a %s string, got %s",
                    g->type == T_MULTIPLE ? "space-, comma- or semicolon-separated"
                                          : "comma-separated",
                    show(c, v));
    }
    arr = json_object_new_array();
    n = json_object_array_length(elems);
    for (size_t i = 0; i < n; i++) {
        const char *epath = arena_printf(c->a, "%s[%zu]", path, i);
        json_object *x = NULL;
        if (!coerce(c, g, g->item, json_object_array_get_idx(elems, i), epath, &x))
            goto out;
        if (g->type == T_MULTIPLE && !in_choice(c, g, x, epath)) {
            json_object_put(x);
            goto out;
        }
        json_object_array_add(arr, x);
    }
    *out = arr;
    arr = NULL;
    ok = true;
out:
    json_object_put(arr);
    json_object_put(elems);
    return ok;
}

/* Coerces v to type t under descriptor g into a new *out (JSON null only for a json arg). */
static bool coerce(struct cx *c, const struct arg *g, enum atype t, json_object *v,
                   const char *path, json_object **out)
{
    *out = NULL;
    if (!v && t != T_JSON)
        return fail(c, path, "expected a %s, got null", type_names[t]);
    switch (t) {
    case T_STR:
    case T_TEXT:
        return to_str(c, v, path, out);
    case T_FILE: {
        const char *p;
        size_t n;
        if (!json_object_is_type(v, json_type_string))
            return fail(c, path, "expected a string (a path or the file's content), got %s",
                        show(c, v));
        if (!text_of(c, v, path, &p, &n))
            return false;
        *out = json_object_new_string_len(p, (int)n);
        return true;
    }
    case T_INT:
        return to_int(c, g, v, path, out);
    case T_FLOAT:
        return to_float(c, g, v, path, out);
    case T_BOOL:
        return to_bool(c, v, path, out);
    case T_JSON:
        return to_json(c, v, path, out);
    case T_ENUM:
        if (!coerce(c, g, g->item, v, path, out))
            return false;
        if (in_choice(c, g, *out, path))
            return true;
        json_object_put(*out);
        *out = NULL;
        return false;
    case T_MULTIPLE:
    case T_LIST:
        return to_array(c, g, v, path, out);
    case T_DICT:
        return to_dict(c, g, v, path, out);
    case T__COUNT:
        break;
    }
    assert_fail("unreachable", __FILE__, __LINE__);
}

static bool empty_array(json_object *v)
{
    return json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0;
}

/* One arg of a map: the value to store in *out, or *out = NULL and true to leave it out. */
static bool apply_arg(struct cx *c, const struct arg *g, json_object *v, const char *path,
                      json_object **out)
{
    json_object *def = NULL;
    bool ok = false;

    *out = NULL;
    if (!v) {
        if (g->deflt)
            return coerce(c, g, g->type, g->deflt, path, out);
        return g->require ? fail(c, path, "required") : true;
    }
    if (is_blank(v)) {
        /* Kept for an optional arg: the renderer leaves empty values out. */
        if (g->require)
            return fail(c, path, "required");
        if (!g->editable && g->deflt)
            return fail(c, path, "not editable");
        *out = json_object_new_string("");
        return true;
    }
    if (!coerce(c, g, g->type, v, path, out))
        return false;
    if (g->require && empty_array(*out)) {
        fail(c, path, "required");
        goto out;
    }
    if (!g->editable) {
        /* Compared after coercion, so "5" for a default of 5 is no change. */
        if (!g->deflt || !coerce(c, g, g->type, g->deflt, path, &def) ||
            !json_object_equal(*out, def)) {
            fail(c, path, "not editable");
            goto out;
        }
    }
    ok = true;
out:
    json_object_put(def);
    if (!ok) {
        json_object_put(*out);
        *out = NULL;
    }
    return ok;
}

/* Applies a checked arg map (name -> descriptor) to the object in (NULL: nothing given). */
static json_object *apply_map(struct cx *c, json_object *map, json_object *in, const char *path)
{
    struct json_object_iterator it, end;
    json_object *out = NULL;

    if (in) {
        it = json_object_iter_begin(in);
        end = json_object_iter_end(in);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            const char *k = json_object_iter_peek_name(&it);
            if (!json_object_object_get_ex(map, k, NULL)) {
                fail(c, join(c, path, k), "unknown argument");
                return NULL;
            }
        }
    }
    out = json_object_new_object();
    it = json_object_iter_begin(map);
    end = json_object_iter_end(map);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it), *apath = join(c, path, name);
        json_object *v = NULL;
        struct arg g;
        /* The schema passed argschema_check, so its descriptors read. */
        bool readable = read_arg(c, json_object_iter_peek_value(&it), apath, &g);
        ASSERT(readable);
        if (!apply_arg(c, &g, js_get(in, name), apath, &v)) {
            json_object_put(out);
            return NULL;
        }
        if (v || (g.type == T_JSON && js_get(in, name)))
            json_object_object_add(out, name, v);
    }
    return out;
}

/* ---- checking a schema ------------------------------------------------------------------ */

static bool check_map(struct cx *c, json_object *map, const char *path);

/* Non-empty, no whitespace or control characters, at most ARGSCHEMA_NAME_MAX characters. */
static bool check_name(struct cx *c, const char *name, const char *path)
{
    const unsigned char *p = (const unsigned char *)name;
    size_t chars = 0;

    for (; *p && *p > ' ' && *p != 0x7f; p++)
        if ((*p & 0xc0) != 0x80) /* not a UTF-8 continuation byte */
            chars++;
    if (!*p && chars >= 1 && chars <= ARGSCHEMA_NAME_MAX)
        return true;
    return fail(c, path, "an argument name is 1 to %d characters without whitespace",
                ARGSCHEMA_NAME_MAX);
}

static bool check_arg(struct cx *c, json_object *desc, const char *path)
{
    json_object *tmp = NULL;
    struct arg g;

    if (!read_arg(c, desc, path, &g))
        return false;
    if (g.sub) {
        bool ok;
        if (c->depth >= DEPTH_MAX)
            return fail(c, join(c, path, "sub_args"), "nested more than %d deep", DEPTH_MAX);
        c->depth++;
        ok = check_map(c, g.sub, join(c, path, "sub_args"));
        c->depth--;
        if (!ok)
            return false;
    }
    if (g.type == T_ENUM || g.type == T_MULTIPLE) {
        /* Every choice must itself be a valid item, or it could never be picked. */
        size_t n = json_object_array_length(g.choice);
        for (size_t i = 0; i < n; i++) {
            const char *cpath = arena_printf(c->a, "%s.choice[%zu]", path, i);
            if (!coerce(c, &g, g.item, json_object_array_get_idx(g.choice, i), cpath, &tmp))
                return false;
            json_object_put(tmp);
        }
    }
    if (g.deflt) {
        if (!coerce(c, &g, g.type, g.deflt, join(c, path, "default"), &tmp))
            return false;
        json_object_put(tmp);
    }
    if (!g.editable && g.require && !g.deflt)
        return fail(c, path, "required and not editable, but without a default");
    return true;
}

static bool check_map(struct cx *c, json_object *map, const char *path)
{
    struct json_object_iterator it = json_object_iter_begin(map), end = json_object_iter_end(map);
    bool ok = true;

    for (; ok && !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it), *apath = join(c, path, name);
        ok = check_name(c, name, apath) && check_arg(c, json_object_iter_peek_value(&it), apath);
    }
    return ok;
}

const char *argschema_check(struct arena *a, json_object *schema)
{
    struct cx c = {.a = a};
    struct json_object_iterator it, end;
    json_object *seen = NULL; /* arg name -> its group label */

    if (!schema)
        return NULL;
    if (!json_object_is_type(schema, json_type_object)) {
        fail(&c, "args", "expected an object of groups, got %s", show(&c, schema));
        return c.err;
    }
    seen = json_object_new_object();
    it = json_object_iter_begin(schema);
    end = json_object_iter_end(schema);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *label = json_object_iter_peek_name(&it);
        const char *gpath = arena_printf(a, "args.%s", label);
        json_object *group = json_object_iter_peek_value(&it);
        struct json_object_iterator ai, aend;

        if (!json_object_is_type(group, json_type_object)) {
            fail(&c, gpath, "expected an object of arguments, got %s", show(&c, group));
            goto out;
        }
        ai = json_object_iter_begin(group);
        aend = json_object_iter_end(group);
        for (; !json_object_iter_equal(&ai, &aend); json_object_iter_next(&ai)) {
            const char *name = json_object_iter_peek_name(&ai);
            json_object *other = js_get(seen, name);
            if (other) {
                fail(&c, join(&c, gpath, name), "duplicate argument name (also in group '%s')",
                     json_object_get_string(other));
                goto out;
            }
            json_object_object_add(seen, name, json_object_new_string(label));
        }
        if (!check_map(&c, group, gpath))
            goto out;
    }
out:
    json_object_put(seen);
    return c.err;
}

/* ---- the rest of the API ---------------------------------------------------------------- */

json_object *argschema_flat(struct arena *a, json_object *schema)
{
    json_object *flat = js_own(a, json_object_new_object());
    struct json_object_iterator it, end;

    if (!json_object_is_type(schema, json_type_object))
        return flat;
    it = json_object_iter_begin(schema);
    end = json_object_iter_end(schema);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        json_object *group = json_object_iter_peek_value(&it);
        struct json_object_iterator ai, aend;
        if (!json_object_is_type(group, json_type_object))
            continue;
        ai = json_object_iter_begin(group);
        aend = json_object_iter_end(group);
        for (; !json_object_iter_equal(&ai, &aend); json_object_iter_next(&ai)) {
            json_object *desc = json_object_iter_peek_value(&ai);
            if (json_object_is_type(desc, json_type_object))
                json_object_object_add(flat, json_object_iter_peek_name(&ai),
                                       json_object_get(desc));
        }
    }
    return flat;
}

json_object *argschema_apply(struct arena *a, json_object *schema, json_object *args,
                             const char **err)
{
    struct cx c = {.a = a};
    const char *msg;
    json_object *out;

    *err = NULL;
    msg = argschema_check(a, schema);
    if (msg) {
        *err = arena_printf(a, "the template's args schema is invalid: %s", msg);
        return NULL;
    }
    if (args && !json_object_is_type(args, json_type_object)) {
        *err = "expected an object of arguments";
        return NULL;
    }
    out = apply_map(&c, argschema_flat(a, schema), args, NULL);
    if (!out) {
        *err = c.err;
        return NULL;
    }
    return js_own(a, out);
}
