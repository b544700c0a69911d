/* test_dag.c — dag_json validation, topological order, cycle messages, rename/remove upkeep. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dag.h"
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

/* A JSON literal, owned by the arena. */
static json_object *J(struct arena *a, const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return js_own(a, o);
}

/* Builds from a JSON literal; NULL text = no dag_json. */
static struct dag *build(struct arena *a, const char *text, const char *const *tasks, size_t n,
                         const char **err)
{
    return dag_build(a, text ? J(a, text) : NULL, tasks, n, err);
}

static void assert_order(const struct dag *d, const char *const *want, size_t n)
{
    assert_int_equal(dag_count(d), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(dag_task(d, i), want[i]);
}

/* The upstream list of the task named `task`, as "x,y". */
static const char *ups(struct arena *a, const struct dag *d, const char *task)
{
    for (size_t i = 0; i < dag_count(d); i++) {
        if (strcmp(dag_task(d, i), task))
            continue;
        const char *const *names;
        size_t n = dag_upstream(d, i, &names);
        const char *s = "";
        for (size_t j = 0; j < n; j++)
            s = arena_printf(a, "%s%s%s", s, j ? "," : "", names[j]);
        return s;
    }
    fail_msg("task %s not in the dag", task);
    return NULL;
}

static void assert_json(json_object *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(js_str(got), want);
}

static void assert_error(struct arena *a, const char *doc, const char *const *tasks, size_t n,
                         const char *want)
{
    const char *err = NULL;
    assert_null(build(a, doc, tasks, n, &err));
    assert_non_null(err);
    assert_string_equal(err, want);
}

/* ---- order ----------------------------------------------------------------------------------- */

static void diamond(void **state)
{
    struct arena *a = *state;
    static const char *const tasks[] = {"d", "c", "b", "a"};
    static const char *const want[] = {"a", "b", "c", "d"};
    const char *err = "unset";
    struct dag *d = build(a,
                          "{\"b\":{\"upstream\":[\"a\"]},\"c\":{\"upstream\":[\"a\"]},"
                          "\"d\":{\"upstream\":[\"c\",\"b\",\"c\"]}}",
                          tasks, 4, &err);

    assert_non_null(d);
    assert_null(err);
    assert_order(d, want, 4);
    assert_string_equal(ups(a, d, "a"), "");
    assert_string_equal(ups(a, d, "b"), "a");
    assert_string_equal(ups(a, d, "d"), "b,c"); /* sorted, the repeated c once */
    assert_json(js_own(a, dag_to_json(d)),
                "{\"a\":{\"upstream\":[]},\"b\":{\"upstream\":[\"a\"]},"
                "\"c\":{\"upstream\":[\"a\"]},\"d\":{\"upstream\":[\"b\",\"c\"]}}");
}

/*
 * Ready tasks leave in name order, and a task freed by one that just left
 * competes with those already waiting: a, c are ready with y; c frees x,
 * which precedes y; y frees b last.  (Levels would give a c y x b.)
 */
static void ties_by_name(void **state)
{
    struct arena *a = *state;
    static const char *const tasks[] = {"y", "x", "c", "b", "a"};
    static const char *const want[] = {"a", "c", "x", "y", "b"};
    static const char *const all[] = {"e", "d", "c", "b", "a"};
    static const char *const sorted[] = {"a", "b", "c", "d", "e"};
    const char *err;
    struct dag *d =
        build(a, "{\"x\":{\"upstream\":[\"c\"]},\"b\":{\"upstream\":[\"y\"]}}", tasks, 5, &err);

    assert_non_null(d);
    assert_order(d, want, 5);

    /* No dag_json at all, and an empty one: every task is a root. */
    d = build(a, NULL, all, 5, &err);
    assert_non_null(d);
    assert_order(d, sorted, 5);
    d = build(a, "{}", all, 5, &err);
    assert_non_null(d);
    assert_order(d, sorted, 5);

    /* Byte order, not locale order: upper case sorts before lower case. */
    {
        static const char *const mixed[] = {"b", "B", "a", "A"};
        static const char *const mixed_want[] = {"A", "B", "a", "b"};
        d = build(a, "{}", mixed, 4, &err);
        assert_non_null(d);
        assert_order(d, mixed_want, 4);
    }
}

static void absent_task_is_root(void **state)
{
    struct arena *a = *state;
    static const char *const tasks[] = {"a", "b", "c"};
    static const char *const want[] = {"a", "b", "c"};
    const char *err;
    struct dag *d = build(a, "{\"b\":{\"upstream\":[\"a\"]}}", tasks, 3, &err);

    assert_non_null(d);
    assert_order(d, want, 3);
    assert_string_equal(ups(a, d, "c"), "");
    assert_json(js_own(a, dag_to_json(d)),
                "{\"a\":{\"upstream\":[]},\"b\":{\"upstream\":[\"a\"]},\"c\":{\"upstream\":[]}}");

    /* Missing, null and empty upstream lists, a null entry, extra keys: all roots. */
    d = build(a, "{\"a\":{},\"b\":{\"upstream\":null,\"note\":1},\"c\":null}", tasks, 3, &err);
    assert_non_null(d);
    assert_order(d, want, 3);
    assert_json(js_own(a, dag_to_json(d)),
                "{\"a\":{\"upstream\":[]},\"b\":{\"upstream\":[]},\"c\":{\"upstream\":[]}}");

    /* A pipeline without tasks. */
    d = build(a, "{}", NULL, 0, &err);
    assert_non_null(d);
    assert_int_equal(dag_count(d), 0);
    assert_json(js_own(a, dag_to_json(d)), "{}");
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void self_loop(void **state)
{
    static const char *const tasks[] = {"a", "b"};
    assert_error(*state, "{\"a\":{\"upstream\":[\"b\",\"a\"]}}", tasks, 2,
                 "dag_json: task 'a' depends on itself");
}

static void two_cycle(void **state)
{
    static const char *const tasks[] = {"c", "b", "a"};
    /* b is upstream of a and a of b; c hangs below the cycle. */
    assert_error(*state,
                 "{\"a\":{\"upstream\":[\"b\"]},\"b\":{\"upstream\":[\"a\"]},"
                 "\"c\":{\"upstream\":[\"a\"]}}",
                 tasks, 3, "dag_json: cycle a -> b -> a");
}

/* "x -> y" means y depends on x: the two orientations of a triangle give different messages. */
static void three_cycle(void **state)
{
    static const char *const tasks[] = {"a", "b", "c"};
    static const char *const mzb[] = {"m", "z", "b"};

    /* a depends on c, b on a, c on b: c feeds a, a feeds b, b feeds c. */
    assert_error(*state,
                 "{\"a\":{\"upstream\":[\"c\"]},\"b\":{\"upstream\":[\"a\"]},"
                 "\"c\":{\"upstream\":[\"b\"]}}",
                 tasks, 3, "dag_json: cycle a -> b -> c -> a");
    /* a depends on b, b on c, c on a: b feeds a, c feeds b, a feeds c. */
    assert_error(*state,
                 "{\"a\":{\"upstream\":[\"b\"]},\"b\":{\"upstream\":[\"c\"]},"
                 "\"c\":{\"upstream\":[\"a\"]}}",
                 tasks, 3, "dag_json: cycle a -> c -> b -> a");
    /* The message starts at the alphabetically first task of the cycle, whatever the keys. */
    assert_error(*state,
                 "{\"m\":{\"upstream\":[\"z\"]},\"z\":{\"upstream\":[\"b\"]},"
                 "\"b\":{\"upstream\":[\"m\"]}}",
                 mzb, 3, "dag_json: cycle b -> z -> m -> b");
}

static void cycle_in_part_of_graph(void **state)
{
    static const char *const tasks[] = {"root", "p", "q", "r", "s", "aaa", "alpha", "zeta"};
    static const char *const two[] = {"x", "y", "d", "c", "e"};
    static const char *const chord[] = {"a", "b", "c"};

    /*
     * root -> p -> q -> r -> s -> q, and aaa below s.  aaa, q, r, s are all
     * left over by a topological sort; aaa sorts first but is not on the cycle.
     */
    assert_error(*state,
                 "{\"p\":{\"upstream\":[\"root\"]},\"q\":{\"upstream\":[\"p\",\"s\"]},"
                 "\"r\":{\"upstream\":[\"q\"]},\"s\":{\"upstream\":[\"r\"]},"
                 "\"aaa\":{\"upstream\":[\"s\"]},\"zeta\":{\"upstream\":[\"alpha\"]}}",
                 tasks, 8, "dag_json: cycle q -> r -> s -> q");
    /* Two cycles: x <-> y and c <-> d; the one holding the first name is reported. */
    assert_error(*state,
                 "{\"x\":{\"upstream\":[\"y\"]},\"y\":{\"upstream\":[\"x\"]},"
                 "\"d\":{\"upstream\":[\"c\"]},\"c\":{\"upstream\":[\"d\",\"e\"]}}",
                 two, 5, "dag_json: cycle c -> d -> c");
    /* a -> b -> c -> a with the chord a -> c: the shortest way back is reported. */
    assert_error(*state,
                 "{\"a\":{\"upstream\":[\"c\"]},\"b\":{\"upstream\":[\"a\"]},"
                 "\"c\":{\"upstream\":[\"b\",\"a\"]}}",
                 chord, 3, "dag_json: cycle a -> c -> a");
}

static void unknown_and_foreign(void **state)
{
    static const char *const tasks[] = {"a", "b"};

    assert_error(*state, "{\"b\":{\"upstream\":[\"a\",\"x\"]}}", tasks, 2,
                 "dag_json: task 'b' depends on unknown task 'x'");
    assert_error(*state, "{\"a\":{\"upstream\":[]},\"x\":{\"upstream\":[]}}", tasks, 2,
                 "dag_json: 'x' is not a task of this pipeline");
    /* Names are exact: no trimming, no case folding. */
    assert_error(*state, "{\"b\":{\"upstream\":[\"A\"]}}", tasks, 2,
                 "dag_json: task 'b' depends on unknown task 'A'");
    assert_error(*state, "{\"a \":{}}", tasks, 2, "dag_json: 'a ' is not a task of this pipeline");
}

static void wrong_shapes(void **state)
{
    static const char *const tasks[] = {"a", "b"};
    static const char *const twice[] = {"a", "b", "a"};

    assert_error(*state, "{\"a\":{\"upstream\":\"b\"}}", tasks, 2,
                 "dag_json: task 'a': upstream must be an array of task names");
    assert_error(*state, "{\"a\":{\"upstream\":[\"b\",7]}}", tasks, 2,
                 "dag_json: task 'a': upstream must be an array of task names");
    assert_error(*state, "{\"a\":{\"upstream\":[null]}}", tasks, 2,
                 "dag_json: task 'a': upstream must be an array of task names");
    assert_error(*state, "{\"a\":{\"upstream\":{\"b\":1}}}", tasks, 2,
                 "dag_json: task 'a': upstream must be an array of task names");
    assert_error(*state, "{\"a\":[\"b\"]}", tasks, 2,
                 "dag_json: task 'a': must be an object {\"upstream\": [...]}");
    assert_error(*state, "[\"a\",\"b\"]", tasks, 2,
                 "dag_json: must be an object mapping task names to {\"upstream\": [...]}");
    assert_error(*state, "\"a\"", tasks, 2,
                 "dag_json: must be an object mapping task names to {\"upstream\": [...]}");
    assert_error(*state, "{}", twice, 3, "dag_json: task name 'a' appears twice");
}

/* ---- upkeep --------------------------------------------------------------------------------- */

#define DOC                                                                    \
    "{\"a\":{\"upstream\":[]},\"b\":{\"upstream\":[\"a\"],\"note\":\"keep\"}," \
    "\"c\":{\"upstream\":[\"a\",\"b\"]}}"

static void dag_json_rename_remove(void **state)
{
    struct arena *a = *state;
    json_object *doc = J(a, DOC), *x, *back, *rm;
    static const char *const after_rm[] = {"a", "c"};
    const char *err;
    struct dag *d;

    x = js_own(a, dag_json_rename(doc, "a", "x"));
    assert_json(x, "{\"x\":{\"upstream\":[]},\"b\":{\"upstream\":[\"x\"],\"note\":\"keep\"},"
                   "\"c\":{\"upstream\":[\"x\",\"b\"]}}");
    assert_json(doc, DOC); /* the input is untouched */
    back = js_own(a, dag_json_rename(x, "x", "a"));
    assert_json(back, DOC);

    /* A renamed middle task keeps its key position. */
    assert_json(js_own(a, dag_json_rename(doc, "b", "bee")),
                "{\"a\":{\"upstream\":[]},\"bee\":{\"upstream\":[\"a\"],\"note\":\"keep\"},"
                "\"c\":{\"upstream\":[\"a\",\"bee\"]}}");
    /* An unknown name changes nothing. */
    assert_json(js_own(a, dag_json_rename(doc, "nope", "z")), DOC);

    rm = js_own(a, dag_json_remove(doc, "b"));
    assert_json(rm, "{\"a\":{\"upstream\":[]},\"c\":{\"upstream\":[\"a\"]}}");
    d = dag_build(a, rm, after_rm, 2, &err);
    assert_non_null(d);
    assert_json(js_own(a, dag_json_remove(doc, "a")),
                "{\"b\":{\"upstream\":[],\"note\":\"keep\"},\"c\":{\"upstream\":[\"b\"]}}");
    assert_json(js_own(a, dag_json_remove(doc, "nope")), DOC);

    /* Renaming onto an existing task merges the upstream lists rather than losing one. */
    assert_json(js_own(a, dag_json_rename(J(a, "{\"a\":{\"upstream\":[]},\"b\":{\"upstream\":"
                                               "[\"a\"]},\"c\":{\"upstream\":[\"d\"]},\"d\":{}}"),
                                          "b", "c")),
                "{\"a\":{\"upstream\":[]},\"c\":{\"upstream\":[\"a\",\"d\"]},\"d\":{}}");
    /* A renamed upstream already listed under the new name is not listed twice. */
    assert_json(js_own(a, dag_json_rename(J(a, "{\"c\":{\"upstream\":[\"a\",\"b\"]}}"), "a", "b")),
                "{\"c\":{\"upstream\":[\"b\"]}}");

    /* Missing documents, and shapes these helpers do not understand, pass through. */
    assert_json(js_own(a, dag_json_rename(NULL, "a", "b")), "{}");
    assert_json(js_own(a, dag_json_remove(NULL, "a")), "{}");
    assert_json(js_own(a, dag_json_remove(J(a, "[1,2]"), "a")), "[1,2]");
    assert_json(js_own(a, dag_json_rename(J(a, "{\"a\":\"odd\"}"), "a", "b")), "{\"b\":\"odd\"}");
}

#define N1                                                                 \
    "{\"id\":\"1\",\"type\":\"dataSet\",\"position\":{\"x\":10,\"y\":20}," \
    "\"data\":{\"name\":\"prep\",\"label\":\"prep\",\"info\":{\"describe\":\"d\"}}}"
#define N2                                                                  \
    "{\"id\":\"2\",\"type\":\"dataSet\",\"position\":{\"x\":10,\"y\":120}," \
    "\"data\":{\"name\":\"train\",\"label\":\"Train model\"}}"
#define N12                                                              \
    "{\"id\":12,\"type\":\"dataSet\",\"position\":{\"x\":10,\"y\":220}," \
    "\"data\":{\"name\":\"eval\",\"label\":\"eval\"}}"
#define E1_2                                                               \
    "{\"id\":\"xy-edge__1bottom-2top\",\"source\":\"1\",\"target\":\"2\"," \
    "\"arrowHeadType\":\"arrow\"}"
#define E2_12 "{\"id\":\"xy-edge__2bottom-12top\",\"source\":\"2\",\"target\":\"12\"}"
#define E1_12 "{\"id\":\"xy-edge__1bottom-12top\",\"source\":\"1\",\"target\":12}"

/* The renamed node 1: data.name and data.label (which equalled the old name). */
#define N1_CLEAN                                                           \
    "{\"id\":\"1\",\"type\":\"dataSet\",\"position\":{\"x\":10,\"y\":20}," \
    "\"data\":{\"name\":\"clean\",\"label\":\"clean\",\"info\":{\"describe\":\"d\"}}}"
/* The renamed node 2: data.name only; its label was not its name. */
#define N2_FIT                                                              \
    "{\"id\":\"2\",\"type\":\"dataSet\",\"position\":{\"x\":10,\"y\":120}," \
    "\"data\":{\"name\":\"fit\",\"label\":\"Train model\"}}"

static void expand_array(void **state)
{
    struct arena *a = *state;
    const char *orig = "[" N1 "," N2 "," N12 "," E1_2 "," E2_12 "," E1_12 "]";
    json_object *doc = J(a, orig), *r;

    /* Task 2 goes with both its edges; "12" is another task, compared whole. */
    assert_json(js_own(a, dag_expand_remove(doc, "2")), "[" N1 "," N12 "," E1_12 "]");
    /* A numeric node id and edge end match their decimal text. */
    assert_json(js_own(a, dag_expand_remove(doc, "12")), "[" N1 "," N2 "," E1_2 "]");
    assert_json(js_own(a, dag_expand_remove(doc, "99")), orig);
    assert_json(doc, orig);

    r = js_own(a, dag_expand_rename(doc, "1", "clean"));
    assert_json(r, "[" N1_CLEAN "," N2 "," N12 "," E1_2 "," E2_12 "," E1_12 "]");
    assert_json(js_own(a, dag_expand_rename(r, "1", "prep")), orig);
    assert_json(js_own(a, dag_expand_rename(doc, "2", "fit")),
                "[" N1 "," N2_FIT "," N12 "," E1_2 "," E2_12 "," E1_12 "]");
    assert_json(js_own(a, dag_expand_rename(doc, "99", "x")), orig);
    assert_json(doc, orig);

    assert_json(js_own(a, dag_expand_remove(NULL, "1")), "[]");
    assert_json(js_own(a, dag_expand_rename(NULL, "1", "x")), "[]");
}

static void expand_object(void **state)
{
    struct arena *a = *state;
    const char *orig = "{\"nodes\":[" N1 "," N2 "," N12 "],\"edges\":[" E1_2 "," E2_12 "," E1_12
                       "],\"viewport\":{\"x\":0,\"y\":0,\"zoom\":1}}";
    json_object *doc = J(a, orig), *r;

    assert_json(js_own(a, dag_expand_remove(doc, "2")),
                "{\"nodes\":[" N1 "," N12 "],\"edges\":[" E1_12
                "],\"viewport\":{\"x\":0,\"y\":0,\"zoom\":1}}");
    assert_json(js_own(a, dag_expand_remove(doc, "1")),
                "{\"nodes\":[" N2 "," N12 "],\"edges\":[" E2_12
                "],\"viewport\":{\"x\":0,\"y\":0,\"zoom\":1}}");
    assert_json(doc, orig);

    r = js_own(a, dag_expand_rename(doc, "1", "clean"));
    assert_json(r, "{\"nodes\":[" N1_CLEAN "," N2 "," N12 "],\"edges\":[" E1_2 "," E2_12 "," E1_12
                   "],\"viewport\":{\"x\":0,\"y\":0,\"zoom\":1}}");
    assert_json(js_own(a, dag_expand_rename(r, "1", "prep")), orig);
    assert_json(js_own(a, dag_expand_rename(doc, "2", "fit")),
                "{\"nodes\":[" N1 "," N2_FIT "," N12 "],\"edges\":[" E1_2 "," E2_12 "," E1_12
                "],\"viewport\":{\"x\":0,\"y\":0,\"zoom\":1}}");

    /* Only nodes or only edges, and an unknown shape. */
    assert_json(js_own(a, dag_expand_remove(J(a, "{\"nodes\":[" N2 "]}"), "2")), "{\"nodes\":[]}");
    assert_json(js_own(a, dag_expand_remove(J(a, "{\"edges\":[" E1_2 "]}"), "1")),
                "{\"edges\":[]}");
    assert_json(js_own(a, dag_expand_remove(J(a, "\"x\""), "1")), "\"x\"");
}

/* ---- scale ----------------------------------------------------------------------------------- */

enum { BIG = 2000 };

static const char **mknames(struct arena *a, char prefix, size_t n)
{
    const char **v = arena_alloc(a, n * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = arena_printf(a, "%c%04d", prefix, (int)i);
    return v;
}

static void add_edge(json_object *doc, const char *task, const char *up)
{
    json_object *entry = js_get(doc, task), *arr;
    if (!entry) {
        entry = json_object_new_object();
        json_object_object_add(entry, "upstream", json_object_new_array());
        json_object_object_add(doc, task, entry);
    }
    arr = js_get(entry, "upstream");
    json_object_array_add(arr, json_object_new_string(up));
}

static int64_t timed_build(struct arena *a, json_object *doc, const char **t, size_t n,
                           struct dag **d, const char **err)
{
    int64_t t0 = clock_mono_us();
    *d = dag_build(a, doc, t, n, err);
    return clock_mono_us() - t0;
}

static void long_chain(void **state)
{
    struct arena *a = *state;
    const char **t = mknames(a, 't', BIG);
    json_object *fwd = js_own(a, json_object_new_object());
    json_object *rev = js_own(a, json_object_new_object());
    const char *err = NULL, *tail;
    struct dag *d;
    int64_t us;

    /* t0000 -> t0001 -> ... -> t1999 */
    for (size_t i = 1; i < BIG; i++)
        add_edge(fwd, t[i], t[i - 1]);
    us = timed_build(a, fwd, t, BIG, &d, &err);
    assert_non_null(d);
    assert_true(us < 50000);
    assert_order(d, t, BIG);
    for (size_t i = 1; i < BIG; i++)
        assert_string_equal(ups(a, d, t[i]), t[i - 1]);

    /* Against name order: t1999 -> t1998 -> ... -> t0000, so each step waits for the previous. */
    for (size_t i = 0; i + 1 < BIG; i++)
        add_edge(rev, t[i], t[i + 1]);
    us = timed_build(a, rev, t, BIG, &d, &err);
    assert_non_null(d);
    assert_true(us < 50000);
    for (size_t i = 0; i < BIG; i++)
        assert_string_equal(dag_task(d, i), t[BIG - 1 - i]);

    /* Closing the chain makes a 2,000-task cycle: found without deep recursion. */
    add_edge(fwd, t[0], t[BIG - 1]);
    us = timed_build(a, fwd, t, BIG, &d, &err);
    assert_null(d);
    assert_true(us < 50000);
    assert_non_null(err);
    assert_int_equal(strlen(err), strlen("dag_json: cycle ") + (BIG + 1) * 5 + BIG * 4);
    assert_memory_equal(err, "dag_json: cycle t0000 -> t0001 -> t0002 -> ", 43);
    tail = "t1998 -> t1999 -> t0000";
    assert_string_equal(err + strlen(err) - strlen(tail), tail);
}

static void wide_fan_in(void **state)
{
    struct arena *a = *state;
    const char **t = mknames(a, 'r', BIG);
    json_object *doc = js_own(a, json_object_new_object());
    json_object *out = js_own(a, json_object_new_object());
    const char *err = NULL;
    const char *const *u;
    struct dag *d;
    int64_t us;

    /* r0000 .. r1998 all feed the sink r1999; listed in reverse to exercise the sort. */
    for (size_t i = BIG - 1; i-- > 0;)
        add_edge(doc, t[BIG - 1], t[i]);
    us = timed_build(a, doc, t, BIG, &d, &err);
    assert_non_null(d);
    assert_true(us < 50000);
    assert_order(d, t, BIG);
    assert_int_equal(dag_upstream(d, BIG - 1, &u), BIG - 1);
    for (size_t i = 0; i + 1 < BIG; i++)
        assert_string_equal(u[i], t[i]);

    /* And the fan-out: r0000 feeds everyone else. */
    for (size_t i = 1; i < BIG; i++)
        add_edge(out, t[i], t[0]);
    us = timed_build(a, out, t, BIG, &d, &err);
    assert_non_null(d);
    assert_true(us < 50000);
    assert_order(d, t, BIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(diamond, setup, teardown),
        cmocka_unit_test_setup_teardown(ties_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(absent_task_is_root, setup, teardown),
        cmocka_unit_test_setup_teardown(self_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(two_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(three_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(cycle_in_part_of_graph, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_and_foreign, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(dag_json_rename_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(expand_array, setup, teardown),
        cmocka_unit_test_setup_teardown(expand_object, setup, teardown),
        cmocka_unit_test_setup_teardown(long_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(wide_fan_in, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
