/*
 * test_argschema.c — job template argument schemas and task args.
 *
 * JSON in this file is written with single quotes for readability; j() turns
 * them into double quotes before parsing.  Expected outputs are written by
 * hand from the rules in argschema.h and the brief (cube-studio's coercions,
 * tightened).  Error messages are asserted by their key path, which is the
 * contract, plus a word or two where the kind of error matters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/argschema.h"
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

/* Parses JSON written with ' for "; the root belongs to the arena. */
static json_object *j(struct arena *a, const char *text)
{
    char *s = arena_strdup(a, text);
    const char *msg = NULL;
    json_object *o;

    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    o = js_parse(a, s, strlen(s), &msg);
    if (msg)
        fail_msg("bad test JSON %s: %s", text, msg);
    return o;
}

/* Expected output, in the compact form js_str writes (key order and number text kept). */
static const char *norm(struct arena *a, const char *text)
{
    return js_str(j(a, text));
}

/* Applies schema to args and returns the result as JSON text, or "ERR " + the message. */
static const char *apply(struct arena *a, const char *schema, const char *args)
{
    const char *err = "unset";
    json_object *out = argschema_apply(a, j(a, schema), args ? j(a, args) : NULL, &err);

    if (!out) {
        assert_non_null(err);
        return arena_printf(a, "ERR %s", err);
    }
    assert_null(err);
    return js_str(out);
}

/* One arg "--x" with descriptor desc, given value (NULL: not given). */
static const char *one(struct arena *a, const char *desc, const char *value)
{
    const char *schema = arena_printf(a, "{'G': {'--x': %s}}", desc);
    return apply(a, schema, value ? arena_printf(a, "{'--x': %s}", value) : "{}");
}

#define assert_one(a, desc, value, want) \
    assert_string_equal(one(a, desc, value), norm(a, "{'--x': " want "}"))

/* An error that names path first (and, when given, says what). */
static void assert_err(const char *got, const char *path, const char *what)
{
    size_t n = strlen(path);

    if (strncmp(got, "ERR ", 4) || strncmp(got + 4, path, n) || strncmp(got + 4 + n, ": ", 2))
        fail_msg("expected an error at %s, got %s", path, got);
    if (what && !strstr(got, what))
        fail_msg("expected \"%s\" in %s", what, got);
}

static const char *check(struct arena *a, const char *schema)
{
    return argschema_check(a, j(a, schema));
}

static void assert_check_err(struct arena *a, const char *schema, const char *path)
{
    const char *err = check(a, schema);
    size_t n = strlen(path);

    if (!err)
        fail_msg("schema %s accepted, expected an error at %s", schema, path);
    if (strncmp(err, path, n) || strncmp(err + n, ": ", 2))
        fail_msg("schema %s: expected an error at %s, got %s", schema, path, err);
}

/* The custom-image template as cube-studio ships it: every field spelled out, "choice": [],
 * "range": "", and a "regex" key we do not know. */
static const char CUSTOM_IMAGE[] =
    "{'task': {"
    " 'images': {'type': 'str', 'item_type': 'str', 'label': 'image', 'require': 1,"
    "   'choice': [], 'range': '', 'default': 'ubuntu:20.04', 'placeholder': '',"
    "   'describe': 'image to run', 'editable': 1},"
    " 'workdir': {'type': 'str', 'item_type': 'str', 'label': 'workdir', 'require': 1,"
    "   'choice': [], 'range': '', 'default': '/mnt/{{creator}}/', 'placeholder': '',"
    "   'describe': 'start directory', 'editable': 1},"
    " 'command': {'type': 'str', 'item_type': 'str', 'label': 'command', 'require': 1,"
    "   'choice': [], 'range': '', 'default': '', 'placeholder': '', 'describe': 'command',"
    "   'editable': 1, 'regex': '^.+$', 'condition': '', 'sub_args': {}}"
    "}}";

/* ---- argschema_check -------------------------------------------------------------------- */

static void check_accepts_real_and_complete_schemas(void **state)
{
    struct arena *a = *state;

    assert_null(argschema_check(a, NULL));
    assert_null(check(a, "{}"));
    assert_null(check(a, "{'empty group': {}}"));
    assert_null(check(a, CUSTOM_IMAGE));
    /* Every type with its options; type missing means str; require/editable as booleans. */
    assert_null(check(a, "{'Training': {"
                         " '--name': {'default': 'run1'},"
                         " '--notes': {'type': 'text', 'require': false},"
                         " '--cfg': {'type': 'json', 'default': {'a': [1, 2]}},"
                         " '--epochs': {'type': 'int', 'range': '1,100', 'default': '10'},"
                         " '--lr': {'type': 'float', 'range': '0,', 'default': 0.01},"
                         " '--fp16': {'type': 'bool', 'default': 0, 'editable': true},"
                         " '--opt': {'type': 'enum', 'choice': ['adam', 'sgd'], 'default': 'sgd'},"
                         " '--bs': {'type': 'enum', 'item_type': 'int', 'choice': [16, '32']},"
                         " '--metrics': {'type': 'multiple', 'choice': ['acc', 'f1'],"
                         "   'default': 'acc,f1'},"
                         " '--gpus': {'type': 'list', 'item_type': 'int', 'range': ',7'},"
                         " '--model': {'type': 'dict', 'sub_args': {"
                         "   '--depth': {'type': 'int', 'default': 3},"
                         "   '--act': {'type': 'enum', 'choice': ['relu'], 'default': 'relu'}}},"
                         " '--layers': {'type': 'list', 'sub_args': {'--units': {'type': 'int'}}},"
                         " '--data': {'type': 'file', 'require': 0},"
                         " '--seed': {'type': 'int', 'editable': 0, 'default': 42}"
                         "}, 'Other': {'code': {'type': 'text', 'default': null, 'require': 0}}}"));
}

static void check_brief_example(void **state)
{
    struct arena *a = *state;
    const char *err = check(a, "{'Training': {'--epochs': {'type': 'integer'}}}");

    assert_non_null(err);
    assert_string_equal(err, "args.Training.--epochs.type: unknown type 'integer'");
}

static void check_rejects_structure(void **state)
{
    struct arena *a = *state;

    assert_check_err(a, "[]", "args");
    assert_check_err(a, "'str'", "args");
    assert_check_err(a, "{'G': []}", "args.G");
    assert_check_err(a, "{'G': {'--x': {}}, 'H': 5}", "args.H");
    assert_check_err(a, "{'G': {'--x': 5}}", "args.G.--x");
    assert_check_err(a, "{'G': {'--x': 'str'}}", "args.G.--x");
    assert_check_err(a, "{'G': {'--x': {'type': 5}}}", "args.G.--x.type");
    assert_check_err(a, "{'G': {'--x': {'type': 'STR'}}}", "args.G.--x.type");
    assert_check_err(a, "{'G': {'--x': {'item_type': 'bogus'}}}", "args.G.--x.item_type");
    assert_check_err(a, "{'G': {'--x': {'label': 5}}}", "args.G.--x.label");
    assert_check_err(a, "{'G': {'--x': {'describe': []}}}", "args.G.--x.describe");
    assert_check_err(a, "{'G': {'--x': {'placeholder': {}}}}", "args.G.--x.placeholder");
}

static void check_rejects_flags(void **state)
{
    struct arena *a = *state;

    assert_check_err(a, "{'G': {'--x': {'require': 2}}}", "args.G.--x.require");
    assert_check_err(a, "{'G': {'--x': {'require': '1'}}}", "args.G.--x.require");
    assert_check_err(a, "{'G': {'--x': {'require': 1.0}}}", "args.G.--x.require");
    assert_check_err(a, "{'G': {'--x': {'editable': 'no'}}}", "args.G.--x.editable");
    assert_null(check(a, "{'G': {'--x': {'require': 0, 'editable': false}}}"));
    /* Required, not editable and no default: no task could ever be valid. */
    assert_check_err(a, "{'G': {'--x': {'require': 1, 'editable': 0}}}", "args.G.--x");
    assert_check_err(a, "{'G': {'--x': {'editable': 0, 'default': ''}}}", "args.G.--x");
    assert_null(check(a, "{'G': {'--x': {'editable': 0, 'default': 'fixed'}}}"));
}

static void check_rejects_choice(void **state)
{
    struct arena *a = *state;

    assert_check_err(a, "{'G': {'--x': {'choice': 'a,b'}}}", "args.G.--x.choice");
    assert_check_err(a, "{'G': {'--x': {'type': 'enum'}}}", "args.G.--x.choice");
    assert_check_err(a, "{'G': {'--x': {'type': 'enum', 'choice': []}}}", "args.G.--x.choice");
    assert_check_err(a, "{'G': {'--x': {'type': 'multiple', 'choice': []}}}", "args.G.--x.choice");
    assert_check_err(a, "{'G': {'--x': {'type': 'enum', 'choice': ['a', {'b': 1}]}}}",
                     "args.G.--x.choice[1]");
    assert_check_err(a, "{'G': {'--x': {'type': 'enum', 'item_type': 'int', 'choice': ['x']}}}",
                     "args.G.--x.choice[0]");
    assert_check_err(a, "{'G': {'--x': {'type': 'enum', 'item_type': 'dict', 'choice': [{}]}}}",
                     "args.G.--x.item_type");
    assert_check_err(a, "{'G': {'--x': {'type': 'list', 'item_type': 'list'}}}",
                     "args.G.--x.item_type");
    /* choice on other types is only for the form: an empty array is what cube-studio writes. */
    assert_null(check(a, "{'G': {'--x': {'type': 'int', 'choice': []}}}"));
}

static void check_rejects_range(void **state)
{
    struct arena *a = *state;

    assert_check_err(a, "{'G': {'--x': {'type': 'int', 'range': '1-10'}}}", "args.G.--x.range");
    assert_check_err(a, "{'G': {'--x': {'type': 'int', 'range': '1,2,3'}}}", "args.G.--x.range");
    assert_check_err(a, "{'G': {'--x': {'type': 'int', 'range': 'a,b'}}}", "args.G.--x.range");
    assert_check_err(a, "{'G': {'--x': {'type': 'int', 'range': '10,1'}}}", "args.G.--x.range");
    assert_check_err(a, "{'G': {'--x': {'type': 'int', 'range': [1, 10]}}}", "args.G.--x.range");
    assert_check_err(a, "{'G': {'--x': {'type': 'float', 'range': 'inf,'}}}", "args.G.--x.range");
    assert_check_err(a, "{'G': {'--x': {'type': 'str', 'range': '1,10'}}}", "args.G.--x.range");
    assert_check_err(a, "{'G': {'--x': {'type': 'list', 'range': '1,10'}}}", "args.G.--x.range");
    assert_null(check(a, "{'G': {'--x': {'type': 'float', 'range': ' -1.5 , 2e3 '}}}"));
    assert_null(check(a, "{'G': {'--x': {'type': 'int', 'range': ','}}}"));
    assert_null(check(a, "{'G': {'--x': {'type': 'int', 'range': '5,5'}}}"));
    assert_null(check(a, "{'G': {'--x': {'type': 'str', 'range': ''}}}"));
}

static void check_rejects_defaults(void **state)
{
    struct arena *a = *state;

    assert_check_err(a, "{'G': {'--x': {'type': 'int', 'default': 'abc'}}}", "args.G.--x.default");
    assert_check_err(a, "{'G': {'--x': {'type': 'int', 'default': 12.5}}}", "args.G.--x.default");
    assert_check_err(a, "{'G': {'--x': {'type': 'int', 'range': '1,10', 'default': 11}}}",
                     "args.G.--x.default");
    assert_check_err(a, "{'G': {'--x': {'type': 'bool', 'default': 'maybe'}}}",
                     "args.G.--x.default");
    assert_check_err(a, "{'G': {'--x': {'type': 'json', 'default': '{oops'}}}",
                     "args.G.--x.default");
    assert_check_err(a, "{'G': {'--x': {'type': 'enum', 'choice': ['a', 'b'], 'default': 'c'}}}",
                     "args.G.--x.default");
    assert_check_err(a, "{'G': {'--x': {'type': 'multiple', 'choice': ['a'], 'default': 'a z'}}}",
                     "args.G.--x.default[1]");
    assert_check_err(a, "{'G': {'--x': {'type': 'dict', 'default': [1]}}}", "args.G.--x.default");
    assert_check_err(a, "{'G': {'--x': {'type': 'str', 'default': {'a': 1}}}}",
                     "args.G.--x.default");
    /* A dict default is checked against sub_args like a task's value. */
    assert_check_err(a,
                     "{'G': {'--d': {'type': 'dict', 'default': {'--b': 1},"
                     " 'sub_args': {'--a': {'type': 'int'}, '--b': {'type': 'int'}}}}}",
                     "args.G.--d.default.--a");
    /* "" and null mean "no default" even where "" would not coerce. */
    assert_null(check(a, "{'G': {'--x': {'type': 'int', 'default': ''}}}"));
    assert_null(check(a, "{'G': {'--x': {'type': 'enum', 'choice': ['a'], 'default': null}}}"));
}

static void check_rejects_sub_args(void **state)
{
    struct arena *a = *state;

    assert_check_err(a, "{'G': {'--x': {'type': 'str', 'sub_args': {'--a': {}}}}}",
                     "args.G.--x.sub_args");
    assert_check_err(a, "{'G': {'--x': {'type': 'dict', 'sub_args': []}}}", "args.G.--x.sub_args");
    assert_check_err(a,
                     "{'G': {'--x': {'type': 'list', 'item_type': 'str',"
                     " 'sub_args': {'--a': {}}}}}",
                     "args.G.--x.sub_args");
    assert_check_err(a, "{'G': {'--x': {'type': 'dict', 'sub_args': {'--a': {'type': 'nope'}}}}}",
                     "args.G.--x.sub_args.--a.type");
    assert_check_err(a, "{'G': {'--x': {'type': 'dict', 'sub_args': {'a b': {}}}}}",
                     "args.G.--x.sub_args.a b");
    /* {} is what cube-studio writes for "none", on any type. */
    assert_null(check(a, "{'G': {'--x': {'type': 'int', 'sub_args': {}}}}"));
}

static void check_rejects_names(void **state)
{
    struct arena *a = *state;
    char name64[65], name65[66];
    char *wide;

    assert_check_err(a, "{'G': {'': {}}}", "args.G.");
    assert_check_err(a, "{'G': {'--a b': {}}}", "args.G.--a b");
    assert_check_err(a, "{'G': {'--a\\tb': {}}}", "args.G.--a\tb");
    assert_check_err(a, "{'G': {'--ab\\n': {}}}", "args.G.--ab\n");

    memset(name64, 'n', 64);
    name64[64] = '\0';
    memcpy(name65, name64, 64);
    name65[64] = 'n';
    name65[65] = '\0';
    assert_null(check(a, arena_printf(a, "{'G': {'%s': {}}}", name64)));
    assert_check_err(a, arena_printf(a, "{'G': {'%s': {}}}", name65),
                     arena_printf(a, "args.G.%s", name65));

    /* Characters, not bytes: 64 two-byte characters are fine, 65 are not. */
    wide = arena_alloc(a, 2 * 65 + 1);
    for (int i = 0; i < 65; i++)
        memcpy(wide + 2 * i, "é", 2);
    wide[2 * 64] = '\0';
    assert_null(check(a, arena_printf(a, "{'G': {'%s': {}}}", wide)));
    wide[2 * 64] = (char)0xc3;
    wide[2 * 65] = '\0';
    assert_non_null(check(a, arena_printf(a, "{'G': {'%s': {}}}", wide)));
}

static void check_rejects_duplicates_across_groups(void **state)
{
    struct arena *a = *state;
    const char *err = check(a, "{'Data': {'--x': {}, '--y': {}}, 'Model': {'--z': {}, '--x': {}}}");

    assert_non_null(err);
    assert_true(!strncmp(err, "args.Model.--x: ", 16));
    assert_non_null(strstr(err, "Data"));
    assert_null(check(a, "{'Data': {'--x': {}}, 'Model': {'--X': {}}}"));
}

/* sub_args may nest 8 levels below an arg, not 9. */
static void check_limits_nesting(void **state)
{
    struct arena *a = *state;
    const char *leaf = "{'type': 'int'}";
    const char *d8 = leaf, *d9;

    for (int i = 0; i < 8; i++)
        d8 = arena_printf(a, "{'type': 'dict', 'sub_args': {'--n': %s}}", d8);
    d9 = arena_printf(a, "{'type': 'dict', 'sub_args': {'--n': %s}}", d8);
    assert_null(check(a, arena_printf(a, "{'G': {'--x': %s}}", d8)));
    assert_non_null(check(a, arena_printf(a, "{'G': {'--x': %s}}", d9)));
}

/* ---- argschema_apply: presence, defaults, order ----------------------------------------- */

static void apply_defaults_order_and_omission(void **state)
{
    struct arena *a = *state;
    const char *schema = "{'G1': {'--b': {'type': 'int', 'default': '3'},"
                         "        '--a': {'default': '  x  '},"
                         "        '--opt': {'require': 0}},"
                         " 'G2': {'--c': {'type': 'bool', 'default': 'true'},"
                         "        '--d': {'type': 'float', 'require': 0, 'default': 2}}}";

    /* Given keys in another order come back in schema order; defaults are coerced too. */
    assert_string_equal(apply(a, schema, "{'--c': 0, '--a': 'y'}"),
                        norm(a, "{'--b': 3, '--a': 'y', '--c': false, '--d': 2.0}"));
    assert_string_equal(apply(a, schema, "{}"),
                        norm(a, "{'--b': 3, '--a': 'x', '--c': true, '--d': 2.0}"));
    /* NULL args are {}; null values are "not given". */
    assert_string_equal(apply(a, schema, NULL),
                        norm(a, "{'--b': 3, '--a': 'x', '--c': true, '--d': 2.0}"));
    assert_string_equal(apply(a, schema, "{'--b': null, '--opt': null}"),
                        norm(a, "{'--b': 3, '--a': 'x', '--c': true, '--d': 2.0}"));
    assert_string_equal(apply(a, schema, "{'--opt': 'o'}"),
                        norm(a, "{'--b': 3, '--a': 'x', '--opt': 'o', '--c': true, '--d': 2.0}"));
    assert_string_equal(apply(a, "{}", "{}"), "{}");
    assert_string_equal(apply(a, "{}", NULL), "{}");
}

static void apply_required_and_empty(void **state)
{
    struct arena *a = *state;

    /* require defaults to 1, as in cube-studio. */
    assert_err(one(a, "{}", NULL), "--x", "required");
    assert_err(one(a, "{'require': 1}", "null"), "--x", "required");
    assert_err(one(a, "{'require': 1}", "''"), "--x", "required");
    assert_err(one(a, "{'require': 1, 'default': 'd'}", "'   '"), "--x", "required");
    assert_err(one(a, "{'type': 'list', 'require': 1}", "[]"), "--x", "required");
    assert_err(one(a, "{'type': 'multiple', 'choice': ['a'], 'require': 1}", "''"), "--x",
               "required");
    /* A required arg with a default is filled in; "" as a default is no default. */
    assert_one(a, "{'require': 1, 'default': 'd'}", NULL, "'d'");
    assert_err(one(a, "{'require': 1, 'default': ''}", NULL), "--x", "required");
    /* Optional: absent stays absent, "" stays "" whatever the type. */
    assert_string_equal(one(a, "{'require': 0}", NULL), "{}");
    assert_one(a, "{'require': 0}", "''", "''");
    assert_one(a, "{'require': 0}", "'  '", "''");
    assert_one(a, "{'type': 'int', 'require': 0}", "''", "''");
    assert_one(a, "{'type': 'json', 'require': 0}", "''", "''");
    assert_one(a, "{'type': 'enum', 'choice': ['a'], 'require': 0}", "''", "''");
    assert_one(a, "{'type': 'list', 'require': 0}", "[]", "[]");
}

static void apply_rejects_unknown_keys(void **state)
{
    struct arena *a = *state;

    assert_err(apply(a, CUSTOM_IMAGE, "{'images': 'x', '--nope': 1}"), "--nope",
               "unknown argument");
    /* A group label is not an argument. */
    assert_err(apply(a, CUSTOM_IMAGE, "{'task': 'x'}"), "task", "unknown");
    assert_err(apply(a, "{}", "{'x': 1}"), "x", "unknown");
}

static void apply_rejects_non_objects_and_bad_schemas(void **state)
{
    struct arena *a = *state;
    const char *got;

    got = apply(a, "{}", "[]");
    assert_true(!strncmp(got, "ERR ", 4));
    got = apply(a, "{}", "'--x 1'");
    assert_true(!strncmp(got, "ERR ", 4));
    got = apply(a, "{'G': {'--x': {'type': 'integer'}}}", "{}");
    assert_true(!strncmp(got, "ERR ", 4));
    assert_non_null(strstr(got, "args.G.--x.type: unknown type 'integer'"));
}

/* ---- argschema_apply: coercion by type -------------------------------------------------- */

static void coerce_str_text(void **state)
{
    struct arena *a = *state;

    assert_one(a, "{'type': 'str'}", "'  hi there \\n'", "'hi there'");
    assert_one(a, "{'type': 'text'}", "'\\n  line 1\\nline 2  \\n'", "'line 1\\nline 2'");
    assert_one(a, "{}", "12", "'12'");
    assert_one(a, "{}", "-7", "'-7'");
    assert_one(a, "{}", "1.5", "'1.5'");
    assert_one(a, "{}", "0.1", "'0.1'");
    assert_one(a, "{}", "9007199254740993", "'9007199254740993'");
    assert_one(a, "{}", "'密码 ✓'", "'密码 ✓'");
    assert_err(one(a, "{}", "true"), "--x", "string");
    assert_err(one(a, "{}", "{'a': 1}"), "--x", NULL);
    assert_err(one(a, "{'type': 'text'}", "['a']"), "--x", NULL);
}

static void coerce_int(void **state)
{
    struct arena *a = *state;

    assert_one(a, "{'type': 'int'}", "12", "12");
    assert_one(a, "{'type': 'int'}", "'12'", "12");
    assert_one(a, "{'type': 'int'}", "' -12 '", "-12");
    assert_one(a, "{'type': 'int'}", "12.0", "12");
    assert_one(a, "{'type': 'int'}", "'12.0'", "12");
    assert_one(a, "{'type': 'int'}", "'9223372036854775807'", "9223372036854775807");
    assert_one(a, "{'type': 'int'}", "-9223372036854775808", "-9223372036854775808");
    assert_err(one(a, "{'type': 'int'}", "'12.5'"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "12.5"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "'abc'"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "'12abc'"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "'0x10'"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "true"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "[1]"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "'9223372036854775808'"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "9223372036854775808"), "--x", "integer");
    assert_err(one(a, "{'type': 'int'}", "1e300"), "--x", "integer");
}

static void coerce_float(void **state)
{
    struct arena *a = *state;

    assert_one(a, "{'type': 'float'}", "2.5", "2.5");
    assert_one(a, "{'type': 'float'}", "'2.5'", "2.5");
    assert_one(a, "{'type': 'float'}", "' -0.001 '", "-0.001");
    assert_one(a, "{'type': 'float'}", "'1e-3'", "0.001");
    assert_one(a, "{'type': 'float'}", "0.1", "0.1");
    /* Integers become floats, written so they read back as floats. */
    assert_one(a, "{'type': 'float'}", "3", "3.0");
    assert_one(a, "{'type': 'float'}", "'3'", "3.0");
    assert_err(one(a, "{'type': 'float'}", "'abc'"), "--x", "number");
    assert_err(one(a, "{'type': 'float'}", "'inf'"), "--x", "number");
    assert_err(one(a, "{'type': 'float'}", "'nan'"), "--x", "number");
    assert_err(one(a, "{'type': 'float'}", "'0x1p3'"), "--x", "number");
    assert_err(one(a, "{'type': 'float'}", "'1e999'"), "--x", "number");
    /* What Python's float() takes: "1." and ".5". */
    assert_one(a, "{'type': 'float'}", "'1.'", "1.0");
    assert_one(a, "{'type': 'float'}", "'.5'", "0.5");
    assert_err(one(a, "{'type': 'float'}", "'.'"), "--x", "number");
    assert_err(one(a, "{'type': 'float'}", "'1e'"), "--x", "number");
    assert_err(one(a, "{'type': 'float'}", "false"), "--x", "number");
}

static void coerce_range(void **state)
{
    struct arena *a = *state;
    const char *r = "{'type': 'int', 'range': '1,10'}";

    /* Inclusive at both ends. */
    assert_one(a, r, "1", "1");
    assert_one(a, r, "'10'", "10");
    assert_err(one(a, r, "0"), "--x", "range");
    assert_err(one(a, r, "11"), "--x", "range");
    assert_one(a, "{'type': 'int', 'range': ',5'}", "-100", "-100");
    assert_err(one(a, "{'type': 'int', 'range': ',5'}", "6"), "--x", "range");
    assert_one(a, "{'type': 'int', 'range': '5,'}", "5", "5");
    assert_err(one(a, "{'type': 'int', 'range': '5,'}", "4"), "--x", "range");
    assert_one(a, "{'type': 'float', 'range': '0,1'}", "0.5", "0.5");
    assert_one(a, "{'type': 'float', 'range': '0,1'}", "1", "1.0");
    assert_err(one(a, "{'type': 'float', 'range': '0,1'}", "'1.0000001'"), "--x", "range");
    assert_err(one(a, "{'type': 'float', 'range': '0,1'}", "-0.5"), "--x", "range");
    /* A list of numbers: each element. */
    assert_one(a, "{'type': 'list', 'item_type': 'int', 'range': '0,7'}", "'0, 7'", "[0, 7]");
    assert_err(one(a, "{'type': 'list', 'item_type': 'int', 'range': '0,7'}", "[3, 8]"), "--x[1]",
               "range");
}

static void coerce_bool(void **state)
{
    struct arena *a = *state;

    assert_one(a, "{'type': 'bool'}", "true", "true");
    assert_one(a, "{'type': 'bool'}", "false", "false");
    assert_one(a, "{'type': 'bool'}", "1", "true");
    assert_one(a, "{'type': 'bool'}", "0", "false");
    assert_one(a, "{'type': 'bool'}", "'true'", "true");
    assert_one(a, "{'type': 'bool'}", "'False'", "false");
    assert_one(a, "{'type': 'bool'}", "' 1 '", "true");
    assert_one(a, "{'type': 'bool'}", "'0'", "false");
    assert_err(one(a, "{'type': 'bool'}", "2"), "--x", "true or false");
    assert_err(one(a, "{'type': 'bool'}", "'yes'"), "--x", NULL);
    assert_err(one(a, "{'type': 'bool'}", "1.0"), "--x", NULL);
    assert_err(one(a, "{'type': 'bool'}", "[]"), "--x", NULL);
}

static void coerce_json(void **state)
{
    struct arena *a = *state;

    assert_one(a, "{'type': 'json'}", "{'a': [1, 2]}", "{'a': [1, 2]}");
    assert_one(a, "{'type': 'json'}", "'{\\'a\\': [1, 2]}'", "{'a': [1, 2]}");
    assert_one(a, "{'type': 'json'}", "' [1, 2] '", "[1, 2]");
    assert_one(a, "{'type': 'json'}", "'\\'s\\''", "'s'");
    assert_one(a, "{'type': 'json'}", "5", "5");
    assert_one(a, "{'type': 'json'}", "false", "false");
    assert_err(one(a, "{'type': 'json'}", "'{oops'"), "--x", "JSON");
    assert_err(one(a, "{'type': 'json'}", "'hello'"), "--x", "JSON");
    assert_err(one(a, "{'type': 'json'}", "'[1] [2]'"), "--x", "JSON");
}

static void coerce_enum(void **state)
{
    struct arena *a = *state;
    const char *e = "{'type': 'enum', 'choice': ['adam', 'sgd']}";
    const char *ei = "{'type': 'enum', 'item_type': 'int', 'choice': [1, 2, '4']}";

    assert_one(a, e, "'sgd'", "'sgd'");
    assert_one(a, e, "' sgd '", "'sgd'");
    assert_err(one(a, e, "'rmsprop'"), "--x", "not one of");
    assert_err(one(a, e, "'SGD'"), "--x", "not one of");
    assert_err(one(a, e, "5"), "--x", NULL);
    assert_err(one(a, e, "['sgd']"), "--x", NULL);
    assert_one(a, ei, "'2'", "2");
    assert_one(a, ei, "2.0", "2");
    assert_one(a, ei, "4", "4");
    assert_err(one(a, ei, "3"), "--x", "not one of");
    assert_err(one(a, ei, "'two'"), "--x", NULL);
}

static void coerce_multiple(void **state)
{
    struct arena *a = *state;
    const char *m = "{'type': 'multiple', 'choice': ['a', 'b', 'c'], 'require': 0}";

    assert_one(a, m, "'a b'", "['a', 'b']");
    assert_one(a, m, "'a,c;b'", "['a', 'c', 'b']");
    assert_one(a, m, "' a ,  b;; c '", "['a', 'b', 'c']");
    assert_one(a, m, "'b'", "['b']");
    assert_one(a, m, "['c', 'a']", "['c', 'a']");
    assert_one(a, m, "[]", "[]");
    assert_err(one(a, m, "'a,d'"), "--x[1]", "not one of");
    assert_err(one(a, m, "['a', 'b', 'x']"), "--x[2]", "not one of");
    assert_err(one(a, m, "[['a']]"), "--x[0]", NULL);
    assert_err(one(a, m, "5"), "--x", NULL);
    assert_err(one(a, m, "{'a': 1}"), "--x", NULL);
}

static void coerce_list(void **state)
{
    struct arena *a = *state;

    assert_one(a, "{'type': 'list'}", "'x, y ,z'", "['x', 'y', 'z']");
    assert_one(a, "{'type': 'list'}", "'a,,b,'", "['a', 'b']");
    assert_one(a, "{'type': 'list'}", "'one item'", "['one item']");
    assert_one(a, "{'type': 'list'}", "['a', ' b ', 3]", "['a', 'b', '3']");
    assert_one(a, "{'type': 'list', 'item_type': 'int'}", "'1, 2,3'", "[1, 2, 3]");
    assert_one(a, "{'type': 'list', 'item_type': 'float'}", "[1, '2.5']", "[1.0, 2.5]");
    assert_one(a, "{'type': 'list', 'item_type': 'bool'}", "'true,0'", "[true, false]");
    assert_one(a, "{'type': 'list', 'item_type': 'json'}", "[{'a': 1}, null]", "[{'a': 1}, null]");
    assert_err(one(a, "{'type': 'list', 'item_type': 'int'}", "'1,x'"), "--x[1]", "integer");
    assert_err(one(a, "{'type': 'list'}", "[{'a': 1}]"), "--x[0]", NULL);
    assert_err(one(a, "{'type': 'list'}", "[null]"), "--x[0]", NULL);
    assert_err(one(a, "{'type': 'list'}", "{'a': 1}"), "--x", NULL);
    assert_err(one(a, "{'type': 'list'}", "7"), "--x", NULL);
}

static void coerce_dict(void **state)
{
    struct arena *a = *state;
    const char *d = "{'type': 'dict', 'sub_args': {"
                    " '--lr': {'type': 'float', 'default': 0.1},"
                    " '--opt': {'type': 'enum', 'choice': ['adam', 'sgd']},"
                    " '--tag': {'require': 0}}}";

    assert_one(a, d, "{'--opt': 'sgd'}", "{'--lr': 0.1, '--opt': 'sgd'}");
    assert_one(a, d, "{'--tag': ' t ', '--opt': 'adam', '--lr': '1e-4'}",
               "{'--lr': 0.0001, '--opt': 'adam', '--tag': 't'}");
    assert_one(a, d, "'{\\'--opt\\': \\'adam\\'}'", "{'--lr': 0.1, '--opt': 'adam'}");
    assert_err(one(a, d, "{'--opt': 'x'}"), "--x.--opt", "not one of");
    assert_err(one(a, d, "{}"), "--x.--opt", "required");
    assert_err(one(a, d, "{'--opt': 'sgd', '--zz': 1}"), "--x.--zz", "unknown argument");
    assert_err(one(a, d, "[]"), "--x", "object");
    assert_err(one(a, d, "'[1]'"), "--x", "object");
    assert_err(one(a, d, "'{oops'"), "--x", "JSON");
    /* Without sub_args any object is taken as it is. */
    assert_one(a, "{'type': 'dict'}", "{'k': [1, {'z': null}]}", "{'k': [1, {'z': null}]}");
}

static void coerce_list_of_dicts(void **state)
{
    struct arena *a = *state;
    const char *l = "{'type': 'list', 'sub_args': {'--units': {'type': 'int'},"
                    " '--act': {'default': 'relu'}}}";
    const char *li = "{'type': 'list', 'item_type': 'dict', 'sub_args': {'--u': {'type': 'int'}}}";

    assert_one(a, l, "[{'--units': '64'}, {'--units': 8, '--act': 'tanh'}]",
               "[{'--units': 64, '--act': 'relu'}, {'--units': 8, '--act': 'tanh'}]");
    assert_err(one(a, l, "[{'--units': 64}, {'--units': 'x'}]"), "--x[1].--units", "integer");
    assert_err(one(a, l, "[{'--units': 64, '--bad': 1}]"), "--x[0].--bad", "unknown");
    assert_err(one(a, l, "[5]"), "--x[0]", "object");
    assert_one(a, li, "[{'--u': 1}]", "[{'--u': 1}]");
}

static void coerce_file(void **state)
{
    struct arena *a = *state;

    /* A path or the content itself, byte for byte: no trimming. */
    assert_one(a, "{'type': 'file'}", "'/mnt/u/data.csv'", "'/mnt/u/data.csv'");
    assert_one(a, "{'type': 'file'}", "'a,b\\n1,2\\n'", "'a,b\\n1,2\\n'");
    assert_err(one(a, "{'type': 'file'}", "5"), "--x", NULL);
    assert_err(one(a, "{'type': 'file'}", "{}"), "--x", NULL);
}

/* Strings with a NUL inside would be cut short on a command line. */
static void refuses_embedded_nul(void **state)
{
    struct arena *a = *state;
    static const char *const descs[] = {"{}", "{'type': 'file'}", "{'type': 'int'}",
                                        "{'type': 'list'}", "{'type': 'json'}"};

    for (size_t i = 0; i < ARRAY_LEN(descs); i++) {
        json_object *schema = j(a, arena_printf(a, "{'G': {'--x': %s}}", descs[i]));
        json_object *args = js_own(a, json_object_new_object());
        const char *err = NULL;
        json_object_object_add(args, "--x", json_object_new_string_len("a\0b", 3));
        assert_null(argschema_apply(a, schema, args, &err));
        assert_non_null(err);
        assert_true(!strncmp(err, "--x: ", 5));
    }
}

static void editable(void **state)
{
    struct arena *a = *state;
    const char *e = "{'type': 'int', 'editable': 0, 'default': 5}";

    assert_one(a, e, NULL, "5");
    assert_one(a, e, "5", "5");
    /* The comparison is after coercion: "5" and 5.0 are no change. */
    assert_one(a, e, "'5'", "5");
    assert_one(a, e, "5.0", "5");
    assert_err(one(a, e, "6"), "--x", "not editable");
    /* Clearing it: refused as missing when required, as a change when optional. */
    assert_err(one(a, e, "''"), "--x", "required");
    assert_err(one(a, "{'type': 'int', 'editable': 0, 'default': 5, 'require': 0}", "''"), "--x",
               "not editable");
    assert_err(one(a, "{'editable': 0, 'require': 0}", "'x'"), "--x", "not editable");
    assert_one(a, "{'type': 'multiple', 'choice': ['a', 'b'], 'editable': 0, 'default': 'a,b'}",
               "'a b'", "['a', 'b']");
    assert_err(one(a, "{'type': 'multiple', 'choice': ['a', 'b'], 'editable': 0, 'default': 'a,b'}",
                   "'b a'"),
               "--x", "not editable");
    /* Inside a dict too. */
    assert_err(one(a, "{'type': 'dict', 'sub_args': {'--k': {'editable': 0, 'default': 'v'}}}",
                   "{'--k': 'w'}"),
               "--x.--k", "not editable");
}

/* A template's demo is a set of task args: validated the same way. */
static void demo_args(void **state)
{
    struct arena *a = *state;

    assert_string_equal(apply(a, CUSTOM_IMAGE, "{'images': 'python:3.9', 'command': 'echo hi'}"),
                        norm(a, "{'images': 'python:3.9', 'workdir': '/mnt/{{creator}}/',"
                                " 'command': 'echo hi'}"));
    /* command is required and its default is "", so a demo must give it. */
    assert_err(apply(a, CUSTOM_IMAGE, "{'images': 'python:3.9'}"), "command", "required");
}

/* The result is a copy: changing the input afterwards does not change it. */
static void result_is_independent(void **state)
{
    struct arena *a = *state;
    json_object *schema = j(a, "{'G': {'--cfg': {'type': 'json'}, '--d': {'type': 'dict'},"
                               " '--dflt': {'type': 'json', 'default': {'k': 1}}}}");
    json_object *args = j(a, "{'--cfg': {'a': 1}, '--d': {'b': 2}}");
    const char *err = NULL;
    json_object *out = argschema_apply(a, schema, args, &err);
    const char *before;

    assert_non_null(out);
    before = arena_strdup(a, js_str(out));
    json_object_object_add(js_get(args, "--cfg"), "added", json_object_new_int(1));
    json_object_object_add(js_get(args, "--d"), "added", json_object_new_int(1));
    json_object_object_add(js_get(js_get(js_get(schema, "G"), "--dflt"), "default"), "added",
                           json_object_new_int(1));
    assert_string_equal(js_str(out), before);
    assert_string_equal(before,
                        norm(a, "{'--cfg': {'a': 1}, '--d': {'b': 2}, '--dflt': {'k': 1}}"));
}

/* Long values are cut in messages, at a character boundary. */
static void long_values_in_messages(void **state)
{
    struct arena *a = *state;
    char *val = arena_alloc(a, 2 * 500 + 1);
    const char *got;

    for (int i = 0; i < 500; i++)
        memcpy(val + 2 * i, "é", 2);
    val[1000] = '\0';
    got = one(a, "{'type': 'int'}", arena_printf(a, "'%s'", val));
    assert_err(got, "--x", "integer");
    assert_true(strlen(got) < 200);
    /* Valid UTF-8 throughout: no lone continuation byte before the "...". */
    for (const unsigned char *p = (const unsigned char *)got; *p; p++) {
        if (*p == 0xc3) {
            assert_int_equal(p[1], 0xa9);
            p++;
        } else {
            assert_true(*p < 0x80);
        }
    }
}

/* ---- argschema_flat --------------------------------------------------------------------- */

static void flat_map(void **state)
{
    struct arena *a = *state;
    json_object *schema =
        json_tokener_parse(js_str(j(a, "{'A': {'--b': {'type': 'int'}, '--a': {}},"
                                       " 'B': {'--c': {'type': 'bool'}}}")));
    json_object *flat, *desc_b;
    struct json_object_iterator it, end;
    const char *names[3];
    size_t n = 0;

    desc_b = js_get(js_get(schema, "A"), "--b");
    flat = argschema_flat(a, schema);
    assert_int_equal(json_object_object_length(flat), 3);
    it = json_object_iter_begin(flat);
    end = json_object_iter_end(flat);
    for (; !json_object_iter_equal(&it, &end) && n < 3; json_object_iter_next(&it))
        names[n++] = json_object_iter_peek_name(&it);
    assert_string_equal(names[0], "--b");
    assert_string_equal(names[1], "--a");
    assert_string_equal(names[2], "--c");
    /* The schema's own descriptors, and they outlive the schema's root until the arena
     * resets (ASan would see a use after free otherwise). */
    assert_ptr_equal(js_get(flat, "--b"), desc_b);
    json_object_put(schema);
    assert_string_equal(js_get_str(js_get(flat, "--c"), "type"), "bool");

    assert_int_equal(json_object_object_length(argschema_flat(a, NULL)), 0);
    assert_int_equal(json_object_object_length(argschema_flat(a, j(a, "[1]"))), 0);
    assert_int_equal(json_object_object_length(argschema_flat(a, j(a, "{'G': 1, 'H': {'x': 2}}"))),
                     0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(check_accepts_real_and_complete_schemas),
        T(check_brief_example),
        T(check_rejects_structure),
        T(check_rejects_flags),
        T(check_rejects_choice),
        T(check_rejects_range),
        T(check_rejects_defaults),
        T(check_rejects_sub_args),
        T(check_rejects_names),
        T(check_rejects_duplicates_across_groups),
        T(check_limits_nesting),
        T(apply_defaults_order_and_omission),
        T(apply_required_and_empty),
        T(apply_rejects_unknown_keys),
        T(apply_rejects_non_objects_and_bad_schemas),
        T(coerce_str_text),
        T(coerce_int),
        T(coerce_float),
        T(coerce_range),
        T(coerce_bool),
        T(coerce_json),
        T(coerce_enum),
        T(coerce_multiple),
        T(coerce_list),
        T(coerce_dict),
        T(coerce_list_of_dicts),
        T(coerce_file),
        T(refuses_embedded_nul),
        T(editable),
        T(demo_args),
        T(result_is_independent),
        T(long_values_in_messages),
        T(flat_map),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
