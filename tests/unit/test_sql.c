/*
 * test_sql.c — form_data → WHERE text + parameter vector, ORDER, paging, columns, the row's
 * select list and the JSON of result values, asserted exactly (golden strings) on a resource
 * table of our own.
 *
 * The "item" resource below has one column of every type, plus the awkward ones: a computed
 * column, a show-only and a list-only column, a secret column whose flags otherwise allow
 * everything, and a hidden one.  The registry helpers (resource_col, col_readable, ...) work
 * on any struct resource, so it needs no registration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "api/resource.h"
#include "api/sql.h"
#include "core/js.h"
#include "core/common.h"

static const char *const kinds[] = {"small", "large", NULL};

static const struct column item_cols[] = {
    {.name = "id", .type = COL_INT, .flags = COL_PK | COL_RO, .label = "ID"},
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH | COL_ORDER,
     .label = "Name"},
    {.name = "size", .type = COL_INT, .flags = COL_LIST | COL_SHOW | COL_SEARCH | COL_ORDER},
    {.name = "score", .type = COL_FLOAT, .flags = COL_LIST | COL_SEARCH}, /* list only */
    {.name = "created_on", .type = COL_TIME, .flags = COL_RO},
    {.name = "active", .type = COL_BOOL, .flags = COL_LIST | COL_SHOW | COL_SEARCH},
    {.name = "kind", .type = COL_ENUM, .flags = COL_LIST | COL_SHOW | COL_SEARCH, .choices = kinds},
    {.name = "owner",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_SEARCH | COL_ORDER,
     .fk = "owner_id",
     .rel_table = "users",
     .rel_display = "username"},
    {.name = "tags",
     .type = COL_M2M,
     .flags = COL_SHOW | COL_SEARCH,
     .rel_table = "tag",
     .rel_display = "name",
     .link_table = "item_tag",
     .link_self = "item_id",
     .link_other = "tag_id"},
    {.name = "meta", .type = COL_JSON, .flags = COL_SHOW | COL_SEARCH},
    {.name = "notes", .type = COL_TEXT, .flags = COL_SHOW}, /* shown, not searchable */
    {.name = "summary",
     .type = COL_TEXT,
     .flags = COL_LIST | COL_SEARCH,
     .sql = "t.\"name\" || ':' || t.\"size\""},
    /* Secret wins over every other flag. */
    {.name = "password",
     .type = COL_TEXT,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_ORDER | COL_SECRET},
    {.name = "internal", .type = COL_INT, .flags = COL_LIST | COL_SEARCH | COL_ORDER | COL_HIDDEN},
    /* Searchable only, with a folded copy the database keeps (lower(title)). */
    {.name = "title", .type = COL_TEXT, .flags = COL_SEARCH, .fold = "title_lc"},
};

static const struct resource item_res = {
    .view = "item_modelview",
    .table = "item",
    .label = "Item",
    .cols = item_cols,
    .ncols = ARRAY_LEN(item_cols),
    .ops = OP_CRUD,
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 50,
};

/* Same table, ordered by name ascending by default and without its own page size. */
static const struct resource item_by_name_res = {
    .view = "item_by_name",
    .table = "item",
    .cols = item_cols,
    .ncols = ARRAY_LEN(item_cols),
    .ops = OP_LIST,
    .order_col = "name",
    .order_dir = "asc",
};

/* ---- fixture ---------------------------------------------------------------------------- */

struct fx {
    struct arena a;
    struct params p;
    struct query q;
    const char *msg;
};

static int setup(void **state)
{
    *state = xcalloc(1, sizeof(struct fx));
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    arena_free(&f->a);
    free(f);
    return 0;
}

static void fresh(struct fx *f)
{
    arena_reset(&f->a);
    memset(&f->p, 0, sizeof(f->p));
    memset(&f->q, 0, sizeof(f->q));
    f->msg = NULL;
}

/* Parses json (NULL: no form_data) for res; the parsed tree belongs to the arena. */
static enum err run_res(struct fx *f, const struct resource *res, const char *json, bool show)
{
    json_object *fd = NULL;
    if (json) {
        fd = json_tokener_parse(json);
        if (!fd)
            fail_msg("test bug: invalid JSON %s", json);
        js_own(&f->a, fd);
    }
    return sql_parse_query(&f->a, res, fd, show, &f->p, &f->q, &f->msg);
}

static enum err run(struct fx *f, const char *json)
{
    return run_res(f, &item_res, json, false);
}

static enum err run_filters(struct fx *f, const char *filters)
{
    return run(f, arena_printf(&f->a, "{\"filters\":%s}", filters));
}

/* ---- filters: exact SQL and parameters -------------------------------------------------- */

struct fcase {
    const char *filters;
    const char *where;
    int n;
    const char *params[4];
};

static void check_cases(void **state, const struct fcase *cases, size_t ncases)
{
    struct fx *f = *state;

    for (size_t i = 0; i < ncases; i++) {
        const struct fcase *c = &cases[i];
        enum err e;

        fresh(f);
        e = run_filters(f, c->filters);
        if (e != ERR_OK)
            fail_msg("%s: error %d: %s", c->filters, e, f->msg ? f->msg : "(no message)");
        if (strcmp(buf_str(&f->q.where), c->where))
            fail_msg("%s:\n  got  [%s]\n  want [%s]", c->filters, buf_str(&f->q.where), c->where);
        if (f->p.n != c->n)
            fail_msg("%s: %d parameters, want %d", c->filters, f->p.n, c->n);
        for (int k = 0; k < c->n; k++)
            if (!f->p.v[k] || strcmp(f->p.v[k], c->params[k]))
                fail_msg("%s: $%d = [%s], want [%s]", c->filters, k + 1,
                         f->p.v[k] ? f->p.v[k] : "NULL", c->params[k]);
        assert_false(f->p.overflow);
        assert_null(f->msg);
    }
}

static void filter_like_ops(void **state)
{
    static const struct fcase cases[] = {
        {"[{\"col\":\"name\",\"opr\":\"sw\",\"value\":\"ab\"}]",
         " AND (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"ab%"}},
        {"[{\"col\":\"name\",\"opr\":\"nsw\",\"value\":\"ab\"}]",
         " AND NOT (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"ab%"}},
        {"[{\"col\":\"name\",\"opr\":\"ew\",\"value\":\"ab\"}]",
         " AND (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"%ab"}},
        {"[{\"col\":\"name\",\"opr\":\"new\",\"value\":\"ab\"}]",
         " AND NOT (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"%ab"}},
        /* LIKE metacharacters in the value are escaped: a%b_c\ matches literally. */
        {"[{\"col\":\"name\",\"opr\":\"ct\",\"value\":\"a%b_c\\\\\"}]",
         " AND (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"%a\\%b\\_c\\\\%"}},
        {"[{\"col\":\"name\",\"opr\":\"nct\",\"value\":\"x\"}]",
         " AND NOT (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"%x%"}},
        /* Injection attempts stay in the parameter. */
        {"[{\"col\":\"name\",\"opr\":\"sw\",\"value\":\"O'Brien\\\"); DROP TABLE item;--\"}]",
         " AND (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"O'Brien\"); DROP TABLE item;--%"}},
        {"[{\"col\":\"name\",\"opr\":\"ct\",\"value\":\"\"}]",
         " AND (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"%%"}},
        /* JSON columns are searched as text. */
        {"[{\"col\":\"meta\",\"opr\":\"ct\",\"value\":\"gpu\"}]",
         " AND (lower(t.\"meta\"::text) LIKE lower($1::text))",
         1,
         {"%gpu%"}},
        /* A computed column is filtered on its expression. */
        {"[{\"col\":\"summary\",\"opr\":\"sw\",\"value\":\"a\"}]",
         " AND (lower((t.\"name\" || ':' || t.\"size\")) LIKE lower($1::text))",
         1,
         {"a%"}},
    };
    check_cases(state, cases, ARRAY_LEN(cases));
}

/* A column with a folded copy is compared through the copy, never lower()ed row by row; the
 * value is lowered and escaped as for any other column. */
static void filter_folded_column(void **state)
{
    static const struct fcase cases[] = {
        {"[{\"col\":\"title\",\"opr\":\"ct\",\"value\":\"QuiX\"}]",
         " AND (t.\"title_lc\" LIKE lower($1::text))",
         1,
         {"%QuiX%"}},
        {"[{\"col\":\"title\",\"opr\":\"nsw\",\"value\":\"a_b\"}]",
         " AND NOT (t.\"title_lc\" LIKE lower($1::text))",
         1,
         {"a\\_b%"}},
        {"[{\"col\":\"title\",\"opr\":\"eq\",\"value\":\"50%\"}]",
         " AND (t.\"title_lc\" LIKE lower($1::text))",
         1,
         {"50\\%"}},
        {"[{\"col\":\"title\",\"opr\":\"neq\",\"value\":\"x\"}]",
         " AND NOT (t.\"title_lc\" LIKE lower($1::text))",
         1,
         {"x"}},
        /* NULL tests stay on the column itself. */
        {"[{\"col\":\"title\",\"opr\":\"eq\",\"value\":null}]",
         " AND t.\"title\" IS NULL",
         0,
         {NULL}},
        {"[{\"col\":\"title\",\"opr\":\"in\",\"value\":[\"a\"]}]",
         " AND t.\"title\" = ANY($1::text[])",
         1,
         {"{\"a\"}"}},
        /* Next to a column without one. */
        {"[{\"col\":\"name\",\"opr\":\"ct\",\"value\":\"a\"},"
         "{\"col\":\"title\",\"opr\":\"ew\",\"value\":\"b\"}]",
         " AND (lower(t.\"name\") LIKE lower($1::text)) AND (t.\"title_lc\" LIKE lower($2::text))",
         2,
         {"%a%", "%b"}},
    };
    check_cases(state, cases, ARRAY_LEN(cases));
}

static void filter_eq_ops(void **state)
{
    static const struct fcase cases[] = {
        /* Text equality is case-insensitive: a LIKE of the lowered sides, the value escaped, no
         * wildcards. */
        {"[{\"col\":\"name\",\"opr\":\"eq\",\"value\":\"Foo_1%\"}]",
         " AND (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"Foo\\_1\\%"}},
        {"[{\"col\":\"name\",\"opr\":\"eq\",\"value\":5}]",
         " AND (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"5"}},
        {"[{\"col\":\"name\",\"opr\":\"neq\",\"value\":\"x\"}]",
         " AND NOT (lower(t.\"name\") LIKE lower($1::text))",
         1,
         {"x"}},
        {"[{\"col\":\"name\",\"opr\":\"eq\",\"value\":null}]",
         " AND t.\"name\" IS NULL",
         0,
         {NULL}},
        {"[{\"col\":\"name\",\"opr\":\"neq\",\"value\":null}]",
         " AND t.\"name\" IS NOT NULL",
         0,
         {NULL}},
        {"[{\"col\":\"size\",\"opr\":\"eq\",\"value\":5}]",
         " AND (t.\"size\" = $1::bigint)",
         1,
         {"5"}},
        {"[{\"col\":\"size\",\"opr\":\"eq\",\"value\":\"-6\"}]",
         " AND (t.\"size\" = $1::bigint)",
         1,
         {"-6"}},
        {"[{\"col\":\"size\",\"opr\":\"neq\",\"value\":0}]",
         " AND NOT (t.\"size\" = $1::bigint)",
         1,
         {"0"}},
        {"[{\"col\":\"score\",\"opr\":\"eq\",\"value\":1.5}]",
         " AND (t.\"score\" = $1::float8)",
         1,
         {"1.5"}},
        {"[{\"col\":\"created_on\",\"opr\":\"eq\",\"value\":\"2024-01-02T03:04:05\"}]",
         " AND (t.\"created_on\" = $1::timestamptz)",
         1,
         {"2024-01-02T03:04:05"}},
        {"[{\"col\":\"active\",\"opr\":\"eq\",\"value\":true}]",
         " AND (t.\"active\" = $1::boolean)",
         1,
         {"true"}},
        {"[{\"col\":\"active\",\"opr\":\"eq\",\"value\":\"no\"}]",
         " AND (t.\"active\" = $1::boolean)",
         1,
         {"false"}},
        {"[{\"col\":\"kind\",\"opr\":\"eq\",\"value\":\"small\"}]",
         " AND (t.\"kind\" = $1::text)",
         1,
         {"small"}},
        {"[{\"col\":\"kind\",\"opr\":\"neq\",\"value\":\"large\"}]",
         " AND NOT (t.\"kind\" = $1::text)",
         1,
         {"large"}},
        /* A relation compares its foreign key. */
        {"[{\"col\":\"owner\",\"opr\":\"eq\",\"value\":3}]",
         " AND (t.\"owner_id\" = $1::bigint)",
         1,
         {"3"}},
        {"[{\"col\":\"owner\",\"opr\":\"eq\",\"value\":null}]",
         " AND t.\"owner_id\" IS NULL",
         0,
         {NULL}},
    };
    check_cases(state, cases, ARRAY_LEN(cases));
}

static void filter_cmp_ops(void **state)
{
    static const struct fcase cases[] = {
        {"[{\"col\":\"size\",\"opr\":\"gt\",\"value\":10}]",
         " AND (t.\"size\" > $1::bigint)",
         1,
         {"10"}},
        {"[{\"col\":\"size\",\"opr\":\"lt\",\"value\":\"-3\"}]",
         " AND (t.\"size\" < $1::bigint)",
         1,
         {"-3"}},
        {"[{\"col\":\"score\",\"opr\":\"gt\",\"value\":2.5}]",
         " AND (t.\"score\" > $1::float8)",
         1,
         {"2.5"}},
        {"[{\"col\":\"score\",\"opr\":\"lt\",\"value\":\"0.25\"}]",
         " AND (t.\"score\" < $1::float8)",
         1,
         {"0.25"}},
        {"[{\"col\":\"created_on\",\"opr\":\"lt\",\"value\":\"2024-01-01\"}]",
         " AND (t.\"created_on\" < $1::timestamptz)",
         1,
         {"2024-01-01"}},
        /* gt/lt with nothing to compare are skipped. */
        {"[{\"col\":\"size\",\"opr\":\"gt\",\"value\":null}]", "", 0, {NULL}},
    };
    check_cases(state, cases, ARRAY_LEN(cases));
}

static void filter_in_op(void **state)
{
    static const struct fcase cases[] = {
        {"[{\"col\":\"size\",\"opr\":\"in\",\"value\":[1,2]}]",
         " AND t.\"size\" = ANY($1::bigint[])",
         1,
         {"{\"1\",\"2\"}"}},
        {"[{\"col\":\"size\",\"opr\":\"in\",\"value\":[\"3\",4]}]",
         " AND t.\"size\" = ANY($1::bigint[])",
         1,
         {"{\"3\",\"4\"}"}},
        {"[{\"col\":\"size\",\"opr\":\"in\",\"value\":[]}]",
         " AND t.\"size\" = ANY($1::bigint[])",
         1,
         {"{}"}},
        /* Quotes and backslashes are escaped inside the array literal. */
        {"[{\"col\":\"name\",\"opr\":\"in\",\"value\":[\"a\\\"b\",\"c\\\\d\",\"e,f\"]}]",
         " AND t.\"name\" = ANY($1::text[])",
         1,
         {"{\"a\\\"b\",\"c\\\\d\",\"e,f\"}"}},
        {"[{\"col\":\"kind\",\"opr\":\"in\",\"value\":[\"small\"]}]",
         " AND t.\"kind\" = ANY($1::text[])",
         1,
         {"{\"small\"}"}},
        {"[{\"col\":\"owner\",\"opr\":\"in\",\"value\":[7,8]}]",
         " AND t.\"owner_id\" = ANY($1::bigint[])",
         1,
         {"{\"7\",\"8\"}"}},
        {"[{\"col\":\"score\",\"opr\":\"in\",\"value\":[1.5]}]",
         " AND t.\"score\" = ANY($1::float8[])",
         1,
         {"{\"1.5\"}"}},
    };
    check_cases(state, cases, ARRAY_LEN(cases));
}

static void filter_relation_ops(void **state)
{
    static const struct fcase cases[] = {
        {"[{\"col\":\"owner\",\"opr\":\"rel_o_m\",\"value\":7}]",
         " AND (t.\"owner_id\" = $1::bigint)",
         1,
         {"7"}},
        {"[{\"col\":\"owner\",\"opr\":\"rel_o_m\",\"value\":\"8\"}]",
         " AND (t.\"owner_id\" = $1::bigint)",
         1,
         {"8"}},
        {"[{\"col\":\"owner\",\"opr\":\"nrel_o_m\",\"value\":7}]",
         " AND NOT (t.\"owner_id\" = $1::bigint)",
         1,
         {"7"}},
        {"[{\"col\":\"owner\",\"opr\":\"rel_o_m\",\"value\":null}]",
         " AND t.\"owner_id\" IS NULL",
         0,
         {NULL}},
        {"[{\"col\":\"owner\",\"opr\":\"nrel_o_m\",\"value\":null}]",
         " AND t.\"owner_id\" IS NOT NULL",
         0,
         {NULL}},
        {"[{\"col\":\"tags\",\"opr\":\"rel_m_m\",\"value\":4}]",
         " AND (EXISTS (SELECT 1 FROM \"item_tag\" l WHERE l.\"item_id\" = t.\"id\" AND "
         "l.\"tag_id\" = $1::bigint))",
         1,
         {"4"}},
        /* An array asks for rows linked to every element. */
        {"[{\"col\":\"tags\",\"opr\":\"rel_m_m\",\"value\":[4,\"5\"]}]",
         " AND (EXISTS (SELECT 1 FROM \"item_tag\" l WHERE l.\"item_id\" = t.\"id\" AND "
         "l.\"tag_id\" = $1::bigint))"
         " AND (EXISTS (SELECT 1 FROM \"item_tag\" l WHERE l.\"item_id\" = t.\"id\" AND "
         "l.\"tag_id\" = $2::bigint))",
         2,
         {"4", "5"}},
    };
    check_cases(state, cases, ARRAY_LEN(cases));
}

static void filter_array_and_combined(void **state)
{
    static const struct fcase cases[] = {
        /* An array value applies the operator per element, ANDed. */
        {"[{\"col\":\"name\",\"opr\":\"ct\",\"value\":[\"a\",\"b\"]}]",
         " AND (lower(t.\"name\") LIKE lower($1::text)) AND (lower(t.\"name\") LIKE "
         "lower($2::text))",
         2,
         {"%a%", "%b%"}},
        {"[{\"col\":\"size\",\"opr\":\"neq\",\"value\":[1,null]}]",
         " AND NOT (t.\"size\" = $1::bigint) AND t.\"size\" IS NOT NULL",
         1,
         {"1"}},
        {"[{\"col\":\"size\",\"opr\":\"eq\",\"value\":[]}]", "", 0, {NULL}},
        /* Several filters: fragments in order, parameters numbered through. */
        {"[{\"col\":\"name\",\"opr\":\"sw\",\"value\":\"a\"},"
         "{\"col\":\"size\",\"opr\":\"gt\",\"value\":1},"
         "{\"col\":\"kind\",\"opr\":\"in\",\"value\":[\"small\",\"large\"]},"
         "{\"col\":\"owner\",\"opr\":\"rel_o_m\",\"value\":2}]",
         " AND (lower(t.\"name\") LIKE lower($1::text)) AND (t.\"size\" > $2::bigint)"
         " AND t.\"kind\" = ANY($3::text[]) AND (t.\"owner_id\" = $4::bigint)",
         4,
         {"a%", "1", "{\"small\",\"large\"}", "2"}},
        {"[]", "", 0, {NULL}},
    };
    check_cases(state, cases, ARRAY_LEN(cases));
}

/* A caller may bind its own parameters first (the scope's uid): filters number after them. */
static void filter_numbering_continues(void **state)
{
    struct fx *f = *state;

    assert_int_equal(params_add(&f->p, "42"), 1);
    assert_int_equal(run_filters(f, "[{\"col\":\"size\",\"opr\":\"lt\",\"value\":9}]"), ERR_OK);
    assert_string_equal(buf_str(&f->q.where), " AND (t.\"size\" < $2::bigint)");
    assert_int_equal(f->p.n, 2);
    assert_string_equal(f->p.v[0], "42");
    assert_string_equal(f->p.v[1], "9");
}

/* ---- filters: errors -------------------------------------------------------------------- */

struct ecase {
    const char *filters;
    const char *in_msg[2]; /* substrings the message must contain */
};

static void check_errors(void **state, const struct ecase *cases, size_t ncases)
{
    struct fx *f = *state;

    for (size_t i = 0; i < ncases; i++) {
        const struct ecase *c = &cases[i];
        enum err e;

        fresh(f);
        e = run_filters(f, c->filters);
        if (e != ERR_BADREQ)
            fail_msg("%s: got %d (where [%s]), want ERR_BADREQ", c->filters, e,
                     buf_str(&f->q.where));
        if (!f->msg)
            fail_msg("%s: no message", c->filters);
        for (size_t k = 0; k < ARRAY_LEN(c->in_msg) && c->in_msg[k]; k++)
            if (!strstr(f->msg, c->in_msg[k]))
                fail_msg("%s: message [%s] lacks [%s]", c->filters, f->msg, c->in_msg[k]);
    }
}

static void filter_errors_column(void **state)
{
    static const struct ecase cases[] = {
        {"[{\"col\":\"nope\",\"opr\":\"eq\",\"value\":1}]", {"nope", NULL}},
        /* Secret and hidden columns do not exist for filters, whatever their other flags say. */
        {"[{\"col\":\"password\",\"opr\":\"eq\",\"value\":\"x\"}]", {"password", NULL}},
        {"[{\"col\":\"password\",\"opr\":\"sw\",\"value\":\"$y$\"}]", {"password", NULL}},
        {"[{\"col\":\"internal\",\"opr\":\"eq\",\"value\":1}]", {"internal", NULL}},
        {"[{\"col\":\"notes\",\"opr\":\"eq\",\"value\":\"x\"}]", {"notes", NULL}},
        {"[{\"col\":\"\",\"opr\":\"eq\",\"value\":1}]", {"Filter column", NULL}},
    };
    check_errors(state, cases, ARRAY_LEN(cases));
}

static void filter_errors_operator(void **state)
{
    static const struct ecase cases[] = {
        {"[{\"col\":\"name\",\"opr\":\"gt\",\"value\":\"x\"}]", {"name", "gt"}},
        {"[{\"col\":\"size\",\"opr\":\"sw\",\"value\":\"1\"}]", {"size", "sw"}},
        {"[{\"col\":\"active\",\"opr\":\"in\",\"value\":[true]}]", {"active", "in"}},
        {"[{\"col\":\"kind\",\"opr\":\"ct\",\"value\":\"s\"}]", {"kind", "ct"}},
        {"[{\"col\":\"tags\",\"opr\":\"eq\",\"value\":1}]", {"tags", "eq"}},
        {"[{\"col\":\"name\",\"opr\":\"rel_o_m\",\"value\":1}]", {"name", "rel_o_m"}},
        {"[{\"col\":\"owner\",\"opr\":\"rel_m_m\",\"value\":1}]", {"owner", "rel_m_m"}},
        {"[{\"col\":\"name\",\"opr\":\"zz\",\"value\":1}]", {"name", "zz"}},
        {"[{\"col\":\"name\",\"opr\":\"EQ\",\"value\":\"x\"}]", {"name", "EQ"}},
    };
    check_errors(state, cases, ARRAY_LEN(cases));
}

static void filter_errors_value(void **state)
{
    static const struct ecase cases[] = {
        {"[{\"col\":\"name\",\"opr\":\"ct\",\"value\":5}]", {"name", NULL}},
        {"[{\"col\":\"name\",\"opr\":\"sw\",\"value\":true}]", {"name", NULL}},
        {"[{\"col\":\"name\",\"opr\":\"ct\",\"value\":null}]", {"name", NULL}},
        {"[{\"col\":\"name\",\"opr\":\"ct\",\"value\":{\"a\":1}}]", {"name", NULL}},
        {"[{\"col\":\"size\",\"opr\":\"gt\",\"value\":\"abc\"}]", {"size", NULL}},
        {"[{\"col\":\"size\",\"opr\":\"eq\",\"value\":1.5}]", {"size", NULL}},
        {"[{\"col\":\"size\",\"opr\":\"eq\",\"value\":\"99999999999999999999\"}]", {"size", NULL}},
        {"[{\"col\":\"score\",\"opr\":\"gt\",\"value\":\"1e999\"}]", {"score", NULL}},
        {"[{\"col\":\"active\",\"opr\":\"eq\",\"value\":\"maybe\"}]", {"active", NULL}},
        {"[{\"col\":\"created_on\",\"opr\":\"gt\",\"value\":\"\"}]", {"created_on", NULL}},
        {"[{\"col\":\"owner\",\"opr\":\"rel_o_m\",\"value\":\"bob\"}]", {"owner", NULL}},
        {"[{\"col\":\"tags\",\"opr\":\"rel_m_m\",\"value\":null}]", {"tags", NULL}},
        {"[{\"col\":\"size\",\"opr\":\"in\",\"value\":\"1,2\"}]", {"size", NULL}},
        {"[{\"col\":\"size\",\"opr\":\"in\",\"value\":[1,\"x\"]}]", {"size", NULL}},
        /* One bad element of an array value fails the whole filter. */
        {"[{\"col\":\"name\",\"opr\":\"ct\",\"value\":[\"a\",1]}]", {"name", NULL}},
    };
    check_errors(state, cases, ARRAY_LEN(cases));
}

static void filter_errors_shape(void **state)
{
    static const struct ecase cases[] = {
        {"[{\"col\":\"name\",\"value\":\"x\"}]", {"filters[0]", NULL}}, /* no opr */
        {"[{\"opr\":\"eq\",\"value\":\"x\"}]", {"filters[0]", NULL}},   /* no col */
        {"[{\"col\":\"name\",\"opr\":\"eq\"}]", {"filters[0]", NULL}},  /* no value */
        {"[{\"col\":\"name\",\"opr\":5,\"value\":\"x\"}]", {"filters[0]", NULL}},
        {"[{\"col\":[\"name\"],\"opr\":\"eq\",\"value\":\"x\"}]", {"filters[0]", NULL}},
        {"[\"name\"]", {"filters[0]", NULL}},
        {"[{\"col\":\"name\",\"opr\":\"eq\",\"value\":\"x\"},{\"col\":\"name\"}]",
         {"filters[1]", NULL}},
        {"{\"col\":\"name\",\"opr\":\"eq\",\"value\":\"x\"}", {"filters", NULL}},
        {"\"name=x\"", {"filters", NULL}},
    };
    check_errors(state, cases, ARRAY_LEN(cases));
}

/* More values than parameters: refused, and nothing is written past the vector. */
static void filter_too_many_params(void **state)
{
    struct fx *f = *state;
    struct buf b;

    buf_init(&b, &f->a, 1 << 20);
    buf_adds(&b, "[{\"col\":\"name\",\"opr\":\"ct\",\"value\":[");
    for (int i = 0; i < 300; i++)
        buf_addf(&b, "%s\"v%d\"", i ? "," : "", i);
    buf_adds(&b, "]}]");
    assert_int_equal(run_filters(f, buf_str(&b)), ERR_BADREQ);
    assert_true(f->p.overflow);
    assert_int_equal(f->p.n, SQL_MAX_PARAMS);
    assert_non_null(f->msg);
}

/* ---- columns ---------------------------------------------------------------------------- */

static void expect_cols(const struct query *q, const char *const *names, size_t n)
{
    for (size_t i = 0; i < q->ncols && i < n; i++)
        if (strcmp(q->cols[i]->name, names[i]))
            fail_msg("column %zu is %s, want %s", i, q->cols[i]->name, names[i]);
    assert_int_equal(q->ncols, n);
}

static void columns_default_list_and_show(void **state)
{
    struct fx *f = *state;
    static const char *const list[] = {"id",     "name", "size",  "score",  "created_on",
                                       "active", "kind", "owner", "summary"};
    static const char *const show[] = {"id",   "name",  "size", "created_on", "active",
                                       "kind", "owner", "tags", "meta",       "notes"};

    assert_int_equal(run_res(f, &item_res, NULL, false), ERR_OK);
    expect_cols(&f->q, list, ARRAY_LEN(list));
    fresh(f);
    assert_int_equal(run_res(f, &item_res, NULL, true), ERR_OK);
    expect_cols(&f->q, show, ARRAY_LEN(show));
}

static void columns_secret_never_default(void **state)
{
    struct fx *f = *state;

    for (int show = 0; show < 2; show++) {
        struct buf b;
        fresh(f);
        assert_int_equal(run_res(f, &item_res, "{}", show), ERR_OK);
        assert_true(f->q.ncols > 0);
        for (size_t i = 0; i < f->q.ncols; i++) {
            assert_false(f->q.cols[i]->flags & (COL_SECRET | COL_HIDDEN));
            assert_string_not_equal(f->q.cols[i]->name, "password");
        }
        buf_init(&b, &f->a, SQL_MAX_LEN);
        sql_row_select(&b, f->q.cols, f->q.ncols, false);
        assert_null(strstr(buf_str(&b), "password"));
        assert_null(strstr(buf_str(&b), "internal"));
    }
}

static void columns_requested(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"size", "name", "notes"};

    /* In list mode show columns may be asked for too. */
    assert_int_equal(run(f, "{\"columns\":[\"size\",\"name\",\"notes\"]}"), ERR_OK);
    expect_cols(&f->q, want, ARRAY_LEN(want));
}

static void columns_errors(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *json;
        bool show;
        const char *in_msg;
    } cases[] = {
        {"{\"columns\":[\"name\",\"nope\"]}", false, "nope"},
        {"{\"columns\":[\"password\"]}", false, "password"},
        {"{\"columns\":[\"password\"]}", true, "password"},
        {"{\"columns\":[\"internal\"]}", false, "internal"},
        {"{\"columns\":[\"score\"]}", true, "score"}, /* list-only column in show mode */
        {"{\"columns\":[5]}", false, "columns"},
        {"{\"columns\":[null]}", false, "columns"},
        {"{\"columns\":\"name\"}", false, "columns"},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fresh(f);
        if (run_res(f, &item_res, cases[i].json, cases[i].show) != ERR_BADREQ)
            fail_msg("%s accepted", cases[i].json);
        if (!f->msg || !strstr(f->msg, cases[i].in_msg))
            fail_msg("%s: message [%s] lacks [%s]", cases[i].json, f->msg ? f->msg : "NULL",
                     cases[i].in_msg);
    }
}

/* ---- paging and order ------------------------------------------------------------------- */

static void paging_defaults(void **state)
{
    struct fx *f = *state;

    assert_int_equal(run(f, NULL), ERR_OK);
    assert_int_equal(f->q.page, 0);
    assert_int_equal(f->q.page_size, 50);
    assert_string_equal(f->q.order, "t.\"id\" DESC");
    assert_string_equal(buf_str(&f->q.where), "");
    assert_int_equal(f->p.n, 0);
    assert_false(f->q.str_related);
    assert_null(f->msg);

    fresh(f);
    assert_int_equal(run(f, "{}"), ERR_OK);
    assert_int_equal(f->q.page_size, 50);

    /* A resource without a page size gets 100. */
    fresh(f);
    assert_int_equal(run_res(f, &item_by_name_res, "{}", false), ERR_OK);
    assert_int_equal(f->q.page_size, 100);

    fresh(f);
    assert_int_equal(run(f, "{\"str_related\":true}"), ERR_OK);
    assert_true(f->q.str_related);
}

static void paging_values(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *json;
        int64_t page, page_size;
    } cases[] = {
        {"{\"page_size\":0}", 0, 50},      /* 0: the default */
        {"{\"page_size\":5000}", 0, 2000}, /* capped */
        {"{\"page_size\":2000}", 0, 2000},
        {"{\"page_size\":20}", 0, 20},
        {"{\"page_size\":\"30\"}", 0, 30},
        {"{\"page_size\":-1}", 0, 2000}, /* out of range: the maximum */
        {"{\"page\":3,\"page_size\":10}", 3, 10},
        {"{\"page\":\"2\"}", 2, 50},
        {"{\"page\":0}", 0, 50},
        {"{\"page\":100000000}", 100000000, 50},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fresh(f);
        if (run(f, cases[i].json) != ERR_OK)
            fail_msg("%s: %s", cases[i].json, f->msg);
        if (f->q.page != cases[i].page || f->q.page_size != cases[i].page_size)
            fail_msg("%s: page %lld size %lld, want %lld %lld", cases[i].json, (long long)f->q.page,
                     (long long)f->q.page_size, (long long)cases[i].page,
                     (long long)cases[i].page_size);
    }
}

static void paging_errors(void **state)
{
    struct fx *f = *state;
    static const char *const cases[] = {
        "{\"page\":-1}",
        "{\"page\":\"x\"}",
        "{\"page\":1.5}",
        "{\"page\":100000001}",
        "{\"page\":[1]}",
        "{\"page_size\":\"abc\"}",
        "{\"page_size\":2.5}",
        "{\"page_size\":{}}",
        "[1]",
        "\"form\"",
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fresh(f);
        if (run(f, cases[i]) != ERR_BADREQ)
            fail_msg("%s accepted", cases[i]);
        if (!f->msg)
            fail_msg("%s: no message", cases[i]);
    }
    fresh(f);
    assert_int_equal(run(f, "{\"page\":-1}"), ERR_BADREQ);
    assert_non_null(strstr(f->msg, "page"));
    fresh(f);
    assert_int_equal(run(f, "{\"page_size\":\"abc\"}"), ERR_BADREQ);
    assert_non_null(strstr(f->msg, "page_size"));
}

static void order_cases(void **state)
{
    struct fx *f = *state;
    static const struct {
        const struct resource *res;
        const char *json, *order;
    } cases[] = {
        {&item_res, "{}", "t.\"id\" DESC"},
        {&item_res, "{\"order_column\":\"name\"}", "t.\"name\" DESC, t.\"id\" DESC"},
        {&item_res, "{\"order_column\":\"name\",\"order_direction\":\"asc\"}",
         "t.\"name\" ASC, t.\"id\" ASC"},
        {&item_res, "{\"order_column\":\"name\",\"order_direction\":\"desc\"}",
         "t.\"name\" DESC, t.\"id\" DESC"},
        {&item_res, "{\"order_column\":\"name\",\"order_direction\":\"sideways\"}",
         "t.\"name\" DESC, t.\"id\" DESC"},
        {&item_res, "{\"order_column\":\"size\",\"order_direction\":\"asc\"}",
         "t.\"size\" ASC, t.\"id\" ASC"},
        /* A relation orders by its foreign key. */
        {&item_res, "{\"order_column\":\"owner\",\"order_direction\":\"asc\"}",
         "t.\"owner_id\" ASC, t.\"id\" ASC"},
        /* The primary key needs no tie-break. */
        {&item_res, "{\"order_column\":\"id\",\"order_direction\":\"asc\"}", "t.\"id\" ASC"},
        {&item_res, "{\"order_column\":\"\"}", "t.\"id\" DESC"},
        {&item_by_name_res, "{}", "t.\"name\" ASC, t.\"id\" ASC"},
        {&item_by_name_res, "{\"order_column\":\"size\"}", "t.\"size\" DESC, t.\"id\" DESC"},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fresh(f);
        if (run_res(f, cases[i].res, cases[i].json, false) != ERR_OK)
            fail_msg("%s: %s", cases[i].json, f->msg);
        if (strcmp(f->q.order, cases[i].order))
            fail_msg("%s: order [%s], want [%s]", cases[i].json, f->q.order, cases[i].order);
    }
}

static void order_errors(void **state)
{
    struct fx *f = *state;
    static const char *const cols[] = {"nope", "password", "internal", "active", "summary", "tags"};

    for (size_t i = 0; i < ARRAY_LEN(cols); i++) {
        fresh(f);
        if (run(f, arena_printf(&f->a, "{\"order_column\":\"%s\"}", cols[i])) != ERR_BADREQ)
            fail_msg("order_column %s accepted (order %s)", cols[i], f->q.order);
        if (!f->msg || !strstr(f->msg, cols[i]))
            fail_msg("order_column %s: message [%s]", cols[i], f->msg ? f->msg : "NULL");
    }
}

/* ---- the row select list --------------------------------------------------------------- */

static const struct column *col(const char *name)
{
    const struct column *c = resource_col(&item_res, name);
    if (!c)
        fail_msg("test bug: no column %s", name);
    return c;
}

static const char REL_OBJ[] =
    "(SELECT json_build_object('id', r.\"id\", 'username', r.\"username\")"
    " FROM \"users\" r WHERE r.\"id\" = t.\"owner_id\")";
static const char REL_STR[] =
    "(SELECT r.\"username\"::text FROM \"users\" r WHERE r.\"id\" = t.\"owner_id\")";
static const char TIME_EXPR[] =
    "to_char(t.\"created_on\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')";
static const char M2M_EXPR[] =
    "(SELECT coalesce(json_agg(json_build_object('id', r.\"id\", 'name', r.\"name\") ORDER BY "
    "r.\"id\"), '[]') FROM \"item_tag\" l JOIN \"tag\" r ON r.\"id\" = l.\"tag_id\" WHERE "
    "l.\"item_id\" = t.\"id\")";

static void row_select_exact(void **state)
{
    struct fx *f = *state;
    const struct column *cols[] = {col("id"),         col("name"), col("owner"),
                                   col("created_on"), col("tags"), col("summary")};
    struct buf b, want;

    /* The id first, the primary key column not again; a computed column through to_json(). */
    buf_init(&b, &f->a, SQL_MAX_LEN);
    sql_row_select(&b, cols, ARRAY_LEN(cols), false);
    buf_init(&want, &f->a, SQL_MAX_LEN);
    buf_addf(&want, "t.\"id\", t.\"name\", %s, %s, %s, to_json((t.\"name\" || ':' || t.\"size\"))",
             REL_OBJ, TIME_EXPR, M2M_EXPR);
    assert_string_equal(buf_str(&b), buf_str(&want));
}

static void row_select_str_related(void **state)
{
    struct fx *f = *state;
    const struct column *cols[] = {col("owner"), col("tags")};
    struct buf b, want;

    buf_init(&b, &f->a, SQL_MAX_LEN);
    sql_row_select(&b, cols, ARRAY_LEN(cols), true);
    buf_init(&want, &f->a, SQL_MAX_LEN);
    /* The relation as its display text; many-to-many stays a list of objects. */
    buf_addf(&want, "t.\"id\", %s, %s", REL_STR, M2M_EXPR);
    assert_string_equal(buf_str(&b), buf_str(&want));

    /* No columns at all: still the id. */
    buf_init(&b, &f->a, SQL_MAX_LEN);
    sql_row_select(&b, cols, 0, false);
    assert_string_equal(buf_str(&b), "t.\"id\"");
}

/* The keys of the select list's columns, in its order. */
static void row_keys(void **state)
{
    const struct column *cols[] = {col("name"), col("id"), col("owner"), col("summary")};
    const char *keys[8];
    (void)state;

    assert_int_equal(sql_row_keys(cols, ARRAY_LEN(cols), keys, ARRAY_LEN(keys)), 4);
    assert_string_equal(keys[0], "id");
    assert_string_equal(keys[1], "name");
    assert_string_equal(keys[2], "owner");
    assert_string_equal(keys[3], "summary");
    assert_int_equal(sql_row_keys(cols, 0, keys, ARRAY_LEN(keys)), 1);
    assert_string_equal(keys[0], "id");
    assert_int_equal(sql_row_keys(cols, ARRAY_LEN(cols), keys, 2), 2); /* bounded by max */
    assert_int_equal(sql_row_keys(cols, ARRAY_LEN(cols), keys, 0), 0);
}

static void col_expr_each_type(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *col;
        const char *expr;
    } cases[] = {
        {"name", "t.\"name\""},
        {"size", "t.\"size\""},
        {"score", "t.\"score\""},
        {"active", "t.\"active\""},
        {"kind", "t.\"kind\""},
        {"meta", "t.\"meta\""},
        {"created_on", TIME_EXPR},
        {"owner", REL_OBJ},
        {"tags", M2M_EXPR},
        {"summary", "to_json((t.\"name\" || ':' || t.\"size\"))"},
        /* The folded copy is for filters only: the value read is the column's. */
        {"title", "t.\"title\""},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct buf b;
        buf_init(&b, &f->a, SQL_MAX_LEN);
        sql_col_expr(&b, col(cases[i].col), false);
        if (strcmp(buf_str(&b), cases[i].expr))
            fail_msg("%s: [%s], want [%s]", cases[i].col, buf_str(&b), cases[i].expr);
    }
}

/* ---- JSON of result values -------------------------------------------------------------- */

/* PostgreSQL type oids, from its catalog (pg_type.dat), written out here independently. */
enum { T_BOOL = 16, T_INT8 = 20, T_INT2 = 21, T_INT4 = 23, T_TEXT = 25, T_JSON = 114 };
enum { T_FLOAT4 = 700, T_FLOAT8 = 701, T_VARCHAR = 1043, T_NUMERIC = 1700, T_UUID = 2950 };
enum { T_JSONB = 3802 };

static const char *json_of(struct fx *f, const char *v, unsigned type)
{
    struct buf b;
    buf_init(&b, &f->a, 4096);
    sql_json_value(&b, v, v ? strlen(v) : 0, type);
    assert_false(buf_err(&b));
    return arena_strdup(&f->a, buf_str(&b));
}

/* What json_build_object() writes for a value of each type, from PostgreSQL's documented
 * rules: booleans and numbers bare (a number that is no JSON number, such as NaN, quoted),
 * json and jsonb as they are, everything else as a string of its text form. */
static void json_value_each_type(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *v;
        unsigned type;
        const char *want;
    } cases[] = {
        {NULL, T_TEXT, "null"},
        {NULL, T_INT8, "null"},
        {"t", T_BOOL, "true"},
        {"f", T_BOOL, "false"},
        {"42", T_INT8, "42"},
        {"-7", T_INT4, "-7"},
        {"0", T_INT2, "0"},
        {"2.5", T_FLOAT8, "2.5"},
        {"-0", T_FLOAT8, "-0"},
        {"1e+100", T_FLOAT8, "1e+100"},
        {"1.5e-07", T_FLOAT4, "1.5e-07"},
        {"123456789012345678901234567890.0001", T_NUMERIC, "123456789012345678901234567890.0001"},
        {"NaN", T_FLOAT8, "\"NaN\""},
        {"Infinity", T_FLOAT8, "\"Infinity\""},
        {"-Infinity", T_NUMERIC, "\"-Infinity\""},
        /* Not JSON numbers by RFC 8259's grammar, so quoted. */
        {"01", T_INT8, "\"01\""},
        {"1.", T_NUMERIC, "\"1.\""},
        {".5", T_NUMERIC, "\".5\""},
        {"1e", T_FLOAT8, "\"1e\""},
        {"-", T_INT8, "\"-\""},
        {"{\"a\": [1, 2]}", T_JSONB, "{\"a\": [1, 2]}"},
        {"{ \"b\" :1 }", T_JSON, "{ \"b\" :1 }"}, /* json keeps its own spacing */
        {"plain", T_TEXT, "\"plain\""},
        {"", T_VARCHAR, "\"\""},
        {"42", T_TEXT, "\"42\""}, /* a number in a text column stays a string */
        {"true", T_TEXT, "\"true\""},
        {"3f2504e0-4f89-11d3-9a0c-0305e82c3301", T_UUID,
         "\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\""},
        {"t", T_TEXT, "\"t\""},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *got = json_of(f, cases[i].v, cases[i].type);
        if (strcmp(got, cases[i].want))
            fail_msg("[%s] of type %u: [%s], want [%s]", cases[i].v ? cases[i].v : "NULL",
                     cases[i].type, got, cases[i].want);
    }
}

/* escape_json(): \b \f \n \r \t \" \\ as two characters, other bytes below 0x20 as \u00xx
 * (lower-case hex), everything else (the solidus, DEL, UTF-8) as it is. */
static void json_string_escapes(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *v, *want;
    } cases[] = {
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
        {"\x01x\x1f\x1b", "\"\\u0001x\\u001f\\u001b\""},
        {"a/b\x7f", "\"a/b\x7f\""},
        {"caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\""},
        {"'; DROP TABLE x;--", "\"'; DROP TABLE x;--\""},
        {"\\u0041", "\"\\\\u0041\""}, /* a backslash-u in the text is text */
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *got = json_of(f, cases[i].v, T_TEXT);
        if (strcmp(got, cases[i].want))
            fail_msg("case %zu: [%s], want [%s]", i, got, cases[i].want);
    }
    /* Exactly len bytes are read: the value need not end in NUL where the length says. */
    {
        struct buf b;
        buf_init(&b, &f->a, 64);
        buf_add_json_str(&b, "abc\ndef", 4);
        assert_string_equal(buf_str(&b), "\"abc\\n\"");
        buf_init(&b, &f->a, 64);
        buf_add_json_str(&b, "xyz", 0);
        assert_string_equal(buf_str(&b), "\"\"");
        buf_init(&b, &f->a, 64);
        sql_json_value(&b, "12345", 2, T_INT8);
        assert_string_equal(buf_str(&b), "12");
    }
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void like_escape(void **state)
{
    struct fx *f = *state;

    assert_string_equal(sql_like_escape(&f->a, "a%b_c\\d"), "a\\%b\\_c\\\\d");
    assert_string_equal(sql_like_escape(&f->a, "%%__\\\\"), "\\%\\%\\_\\_\\\\\\\\");
    assert_string_equal(sql_like_escape(&f->a, "plain 'text'"), "plain 'text'");
    assert_string_equal(sql_like_escape(&f->a, ""), "");
}

static void array_literal(void **state)
{
    struct fx *f = *state;
    static const char *const elems[] = {"plain", "with \"quote\"", "back\\slash", "", "a,b{c}"};

    assert_string_equal(sql_array_literal(&f->a, elems, ARRAY_LEN(elems)),
                        "{\"plain\",\"with \\\"quote\\\"\",\"back\\\\slash\",\"\",\"a,b{c}\"}");
    assert_string_equal(sql_array_literal(&f->a, elems, 1), "{\"plain\"}");
    assert_string_equal(sql_array_literal(&f->a, elems, 0), "{}");
}

static void scope(void **state)
{
    struct fx *f = *state;
    struct buf b;

    buf_init(&b, &f->a, SQL_MAX_LEN);
    buf_adds(&b, " AND (");
    sql_scope(&b, "t.\"owner_id\" = {uid} OR t.\"id\" IN (SELECT x FROM y WHERE u = {uid})", 3);
    buf_adds(&b, ")");
    assert_string_equal(buf_str(&b),
                        " AND (t.\"owner_id\" = $3 OR t.\"id\" IN (SELECT x FROM y WHERE u = $3))");

    buf_init(&b, &f->a, SQL_MAX_LEN);
    sql_scope(&b, "{uid}{uid}", 12);
    assert_string_equal(buf_str(&b), "$12$12");

    buf_init(&b, &f->a, SQL_MAX_LEN);
    sql_scope(&b, "t.\"public\" AND {ui}d", 1);
    assert_string_equal(buf_str(&b), "t.\"public\" AND {ui}d");
}

static const char *coerce(struct fx *f, enum col_type type, const char *json, const char **msg)
{
    struct column c = {.name = "c", .type = type};
    json_object *v = json_tokener_parse(json);
    const char *r;

    if (!v && strcmp(json, "null"))
        fail_msg("test bug: invalid JSON %s", json);
    js_own(&f->a, v);
    *msg = NULL;
    r = sql_coerce(&f->a, &c, v, msg);
    /* Exactly one of a value and a message. */
    assert_true((r != NULL) != (*msg != NULL));
    return r;
}

static void coerce_values(void **state)
{
    struct fx *f = *state;
    const char *msg;
    static const struct {
        enum col_type type;
        const char *json, *want; /* want NULL: refused */
    } cases[] = {
        {COL_BOOL, "\"y\"", "true"},
        {COL_BOOL, "\"no\"", "false"},
        {COL_BOOL, "\"1\"", "true"},
        {COL_BOOL, "\"0\"", "false"},
        {COL_BOOL, "\"YES\"", "true"},
        {COL_BOOL, "\"False\"", "false"},
        {COL_BOOL, "true", "true"},
        {COL_BOOL, "false", "false"},
        {COL_BOOL, "1", "true"},
        {COL_BOOL, "0", "false"},
        {COL_BOOL, "2", NULL},
        {COL_BOOL, "\"maybe\"", NULL},
        {COL_BOOL, "\"\"", NULL},
        {COL_BOOL, "null", NULL},
        {COL_FLOAT, "2.5", "2.5"},
        {COL_FLOAT, "\"3.25\"", "3.25"},
        {COL_FLOAT, "7", "7"},
        {COL_FLOAT, "\"-1e3\"", "-1000"},
        {COL_FLOAT, "\"abc\"", NULL},
        {COL_FLOAT, "\"1.5x\"", NULL},
        {COL_FLOAT, "\"\"", NULL},
        {COL_FLOAT, "\"nan\"", NULL},
        {COL_FLOAT, "\"1e999\"", NULL},
        {COL_FLOAT, "true", NULL},
        {COL_INT, "12", "12"},
        {COL_INT, "\"-12\"", "-12"},
        {COL_INT, "\"1.5\"", NULL},
        {COL_INT, "1.5", NULL},
        {COL_INT, "\"\"", NULL},
        {COL_INT, "\"12a\"", NULL},
        {COL_INT, "\"9223372036854775807\"", "9223372036854775807"},
        {COL_INT, "\"9223372036854775808\"", NULL},
        {COL_REL, "\"4\"", "4"},
        {COL_M2M, "5", "5"},
        {COL_TEXT, "\"x y\"", "x y"},
        {COL_TEXT, "5", "5"},
        {COL_TEXT, "true", NULL},
        {COL_TEXT, "[1]", NULL},
        {COL_ENUM, "\"small\"", "small"},
        {COL_JSON, "\"{}\"", "{}"},
        {COL_TIME, "\"2024-05-06\"", "2024-05-06"},
        {COL_TIME, "\"\"", NULL},
        {COL_TIME, "5", NULL},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *r = coerce(f, cases[i].type, cases[i].json, &msg);
        if (!cases[i].want != !r || (r && strcmp(r, cases[i].want)))
            fail_msg("type %d %s: got %s (%s), want %s", cases[i].type, cases[i].json,
                     r ? r : "NULL", msg ? msg : "", cases[i].want ? cases[i].want : "NULL");
    }
}

static void cast_per_type(void **state)
{
    static const struct {
        enum col_type type;
        const char *cast;
    } cases[] = {
        {COL_INT, "bigint"},   {COL_REL, "bigint"},   {COL_M2M, "bigint"},
        {COL_FLOAT, "float8"}, {COL_BOOL, "boolean"}, {COL_TIME, "timestamptz"},
        {COL_JSON, "json"},    {COL_TEXT, "text"},    {COL_ENUM, "text"},
    };
    (void)state;

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct column c = {.name = "c", .type = cases[i].type};
        assert_string_equal(sql_cast(&c), cases[i].cast);
    }
}

static void col_ops(void **state)
{
    const char *names[32], *labels[32];
    size_t n;
    (void)state;

    n = sql_col_ops(col("name"), names, labels, ARRAY_LEN(names));
    assert_int_equal(n, 9);
    assert_string_equal(names[0], "sw");
    assert_string_equal(labels[0], "Starts with");
    assert_string_equal(names[n - 1], "in");

    n = sql_col_ops(col("owner"), names, labels, ARRAY_LEN(names));
    assert_int_equal(n, 5);
    assert_string_equal(names[0], "eq");
    assert_string_equal(names[3], "rel_o_m");
    assert_string_equal(names[4], "nrel_o_m");

    n = sql_col_ops(col("tags"), names, labels, ARRAY_LEN(names));
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "rel_m_m");

    n = sql_col_ops(col("size"), names, labels, ARRAY_LEN(names));
    assert_int_equal(n, 5); /* eq neq gt lt in */

    assert_int_equal(sql_col_ops(col("active"), names, labels, ARRAY_LEN(names)), 2);
    assert_int_equal(sql_col_ops(col("notes"), names, labels, ARRAY_LEN(names)), 0);
    assert_int_equal(sql_col_ops(col("name"), names, labels, 3), 3); /* bounded by max */
}

static void params_bounds(void **state)
{
    struct fx *f = *state;

    assert_int_equal(params_add(&f->p, NULL), 1); /* NULL is SQL NULL, still a parameter */
    assert_null(f->p.v[0]);
    for (int i = 2; i <= SQL_MAX_PARAMS; i++)
        assert_int_equal(params_add(&f->p, "x"), i);
    assert_false(f->p.overflow);
    assert_int_equal(params_add(&f->p, "one too many"), SQL_MAX_PARAMS);
    assert_true(f->p.overflow);
    assert_int_equal(f->p.n, SQL_MAX_PARAMS);
    assert_string_equal(f->p.v[SQL_MAX_PARAMS - 1], "x");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(filter_like_ops),
        T(filter_folded_column),
        T(filter_eq_ops),
        T(filter_cmp_ops),
        T(filter_in_op),
        T(filter_relation_ops),
        T(filter_array_and_combined),
        T(filter_numbering_continues),
        T(filter_errors_column),
        T(filter_errors_operator),
        T(filter_errors_value),
        T(filter_errors_shape),
        T(filter_too_many_params),
        T(columns_default_list_and_show),
        T(columns_secret_never_default),
        T(columns_requested),
        T(columns_errors),
        T(paging_defaults),
        T(paging_values),
        T(paging_errors),
        T(order_cases),
        T(order_errors),
        T(row_select_exact),
        T(row_select_str_related),
        T(row_keys),
        T(col_expr_each_type),
        T(json_value_each_type),
        T(json_string_escapes),
        T(like_escape),
        T(array_literal),
        T(scope),
        T(coerce_values),
        T(cast_per_type),
        T(col_ops),
        T(params_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
