/*
 * sql.c — form_data → WHERE / ORDER / LIMIT, the select list of a row, and the
 * JSON text of its values.
 *
 * Rows leave PostgreSQL as plain columns and are written out as JSON text here,
 * byte for byte what json_build_object() wrote when the rows were serialised
 * in SQL: building them there cost a list page a fifth of its server time
 * (every value went through a type lookup and an output call, and the
 * expression had to be planned with every filtered page), and building a
 * json-c tree per row would cost the worker more than splicing text.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/sql.h"
#include "core/js.h"
#include "core/common.h"

#define TIME_FMT "'YYYY-MM-DD\"T\"HH24:MI:SS'"

int params_add(struct params *p, const char *v)
{
    if (p->n >= SQL_MAX_PARAMS) {
        p->overflow = true;
        return SQL_MAX_PARAMS;
    }
    p->v[p->n++] = v;
    return p->n;
}

const char *sql_cast(const struct column *c)
{
    switch (c->type) {
    case COL_INT:
    case COL_REL:
    case COL_M2M:
        return "bigint";
    case COL_FLOAT:
        return "float8";
    case COL_BOOL:
        return "boolean";
    case COL_TIME:
        return "timestamptz";
    case COL_JSON:
        /* json, not jsonb: a parameter keeps its key order on its way into a json column,
         * and json converts to jsonb on assignment where the column is jsonb. */
        return "json";
    case COL_TEXT:
    case COL_ENUM:
        break;
    }
    return "text";
}

char *sql_like_escape(struct arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, 2 * n + 1), *o = out;
    for (; *s; s++) {
        if (*s == '\\' || *s == '%' || *s == '_')
            *o++ = '\\';
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

char *sql_array_literal(struct arena *a, const char *const *elems, size_t n)
{
    struct buf b;
    buf_init(&b, a, SQL_MAX_LEN);
    buf_addc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_addc(&b, ',');
        buf_addc(&b, '"');
        for (const char *s = elems[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                buf_addc(&b, '\\');
            buf_addc(&b, *s);
        }
        buf_addc(&b, '"');
    }
    buf_addc(&b, '}');
    return buf_err(&b) ? arena_strdup(a, "{}") : b.p;
}

void sql_scope(struct buf *b, const char *frag, int uid_param)
{
    const char *p = frag, *hit;
    while ((hit = strstr(p, "{uid}"))) {
        buf_add(b, p, (size_t)(hit - p));
        buf_addf(b, "$%d", uid_param);
        p = hit + 5;
    }
    buf_adds(b, p);
}

void sql_col_expr(struct buf *b, const struct column *c, bool str_related)
{
    if (c->sql) {
        /* A computed value of any type: to_json() renders it as json_build_object did. */
        buf_adds(b, "to_json((");
        buf_adds(b, c->sql);
        buf_adds(b, "))");
        return;
    }
    switch (c->type) {
    case COL_TIME:
        buf_addf(b, "to_char(t.\"%s\" AT TIME ZONE 'UTC', " TIME_FMT ")", c->name);
        return;
    case COL_REL:
        if (str_related)
            buf_addf(b, "(SELECT r.\"%s\"::text FROM \"%s\" r WHERE r.\"id\" = t.\"%s\")",
                     c->rel_display, c->rel_table, c->fk);
        else
            buf_addf(b,
                     "(SELECT json_build_object('id', r.\"id\", '%s', r.\"%s\") FROM \"%s\" r "
                     "WHERE r.\"id\" = t.\"%s\")",
                     c->rel_display, c->rel_display, c->rel_table, c->fk);
        return;
    case COL_M2M:
        buf_addf(b,
                 "(SELECT coalesce(json_agg(json_build_object('id', r.\"id\", '%s', r.\"%s\") "
                 "ORDER BY r.\"id\"), '[]') FROM \"%s\" l JOIN \"%s\" r ON r.\"id\" = l.\"%s\" "
                 "WHERE l.\"%s\" = t.\"id\")",
                 c->rel_display, c->rel_display, c->link_table, c->rel_table, c->link_other,
                 c->link_self);
        return;
    case COL_INT:
    case COL_FLOAT:
    case COL_TEXT:
    case COL_BOOL:
    case COL_JSON:
    case COL_ENUM:
        break;
    }
    buf_addf(b, "t.\"%s\"", c->name);
}

void sql_row_select(struct buf *b, const struct column *const *cols, size_t ncols, bool str_related)
{
    buf_adds(b, "t.\"id\"");
    for (size_t i = 0; i < ncols; i++) {
        if (cols[i]->flags & COL_PK)
            continue;
        buf_adds(b, ", ");
        sql_col_expr(b, cols[i], str_related);
    }
}

size_t sql_row_keys(const struct column *const *cols, size_t ncols, const char **keys, size_t max)
{
    size_t n = 0;
    if (max)
        keys[n++] = "id";
    for (size_t i = 0; i < ncols && n < max; i++)
        if (!(cols[i]->flags & COL_PK))
            keys[n++] = cols[i]->name;
    return n;
}

/* ---- JSON text of values ---------------------------------------------------------------- */

/* PostgreSQL's type oids (pg_type.dat): the ones json_build_object does not quote. */
enum {
    PGT_BOOL = 16,
    PGT_INT8 = 20,
    PGT_INT2 = 21,
    PGT_INT4 = 23,
    PGT_JSON = 114,
    PGT_FLOAT4 = 700,
    PGT_FLOAT8 = 701,
    PGT_NUMERIC = 1700,
    PGT_JSONB = 3802,
};

/* Whether s is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259). */
static bool json_number(const char *s, size_t len)
{
    size_t i = 0, d;

    if (i < len && s[i] == '-')
        i++;
    if (i < len && s[i] == '0')
        i++;
    else if (i < len && s[i] >= '1' && s[i] <= '9')
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return false;
    if (i < len && s[i] == '.') {
        for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return false;
    }
    return i == len;
}

void sql_json_value(struct buf *b, const char *v, size_t len, unsigned type)
{
    if (!v) {
        buf_adds(b, "null");
        return;
    }
    switch (type) {
    case PGT_BOOL:
        buf_adds(b, *v == 't' ? "true" : "false");
        return;
    case PGT_INT2:
    case PGT_INT4:
    case PGT_INT8:
    case PGT_FLOAT4:
    case PGT_FLOAT8:
    case PGT_NUMERIC:
        /* NaN and the infinities are no JSON numbers: quoted, as json_build_object does. */
        if (json_number(v, len)) {
            buf_add(b, v, len);
            return;
        }
        break;
    case PGT_JSON:
    case PGT_JSONB:
        buf_add(b, v, len);
        return;
    default:
        break;
    }
    /* Every other type json_build_object writes as the string of its text form, and the
     * select list leaves no other kind here: times are to_char() text, computed values
     * to_json(), relations json. */
    buf_add_json_str(b, v, len);
}

/* ---- filters ---------------------------------------------------------------------------- */

#define T(x) (1u << (x))
#define T_ORDERED (T(COL_INT) | T(COL_FLOAT) | T(COL_TIME))

enum op_kind { OPK_LIKE, OPK_EQ, OPK_CMP, OPK_IN, OPK_REL, OPK_M2M };

static const struct opdef {
    const char *name, *label;
    unsigned types;
    enum op_kind kind;
    bool negate;
    const char *pre, *post, *cmp; /* LIKE wildcards; comparison operator */
} opdefs[] = {
    {"sw", "Starts with", T(COL_TEXT), OPK_LIKE, false, "", "%", NULL},
    {"ew", "Ends with", T(COL_TEXT), OPK_LIKE, false, "%", "", NULL},
    {"ct", "Contains", T(COL_TEXT) | T(COL_JSON), OPK_LIKE, false, "%", "%", NULL},
    {"eq", "Equal to", T(COL_TEXT) | T(COL_ENUM) | T(COL_BOOL) | T(COL_REL) | T_ORDERED, OPK_EQ,
     false, NULL, NULL, "="},
    {"nsw", "Not Starts with", T(COL_TEXT), OPK_LIKE, true, "", "%", NULL},
    {"new", "Not Ends with", T(COL_TEXT), OPK_LIKE, true, "%", "", NULL},
    {"nct", "Not Contains", T(COL_TEXT) | T(COL_JSON), OPK_LIKE, true, "%", "%", NULL},
    {"neq", "Not Equal to", T(COL_TEXT) | T(COL_ENUM) | T(COL_BOOL) | T(COL_REL) | T_ORDERED,
     OPK_EQ, true, NULL, NULL, "="},
    {"gt", "Greater than", T_ORDERED, OPK_CMP, false, NULL, NULL, ">"},
    {"lt", "Smaller than", T_ORDERED, OPK_CMP, false, NULL, NULL, "<"},
    {"in", "In", T(COL_TEXT) | T(COL_ENUM) | T(COL_INT) | T(COL_FLOAT) | T(COL_REL), OPK_IN, false,
     NULL, NULL, NULL},
    {"rel_o_m", "Relation", T(COL_REL), OPK_REL, false, NULL, NULL, NULL},
    {"nrel_o_m", "No Relation", T(COL_REL), OPK_REL, true, NULL, NULL, NULL},
    {"rel_m_m", "Relation as Many", T(COL_M2M), OPK_M2M, false, NULL, NULL, NULL},
};

size_t sql_col_ops(const struct column *c, const char **names, const char **labels, size_t max)
{
    size_t n = 0;
    if (!(c->flags & COL_SEARCH))
        return 0;
    for (size_t i = 0; i < ARRAY_LEN(opdefs) && n < max; i++) {
        if (opdefs[i].types & T(c->type)) {
            names[n] = opdefs[i].name;
            labels[n] = opdefs[i].label;
            n++;
        }
    }
    return n;
}

const char *sql_coerce(struct arena *a, const struct column *c, json_object *v, const char **msg)
{
    enum json_type jt = json_object_get_type(v);
    const char *s = jt == json_type_string ? json_object_get_string(v) : NULL;
    int64_t n;

    switch (c->type) {
    case COL_INT:
    case COL_REL:
    case COL_M2M:
        if (jt == json_type_int)
            return arena_printf(a, "%" PRId64, json_object_get_int64(v));
        if (s && parse_i64(s, INT64_MIN, INT64_MAX, &n))
            return arena_printf(a, "%" PRId64, n);
        *msg = "expected an integer";
        return NULL;
    case COL_FLOAT:
        if (jt == json_type_int || jt == json_type_double) {
            double d = json_object_get_double(v);
            if (isfinite(d))
                return arena_printf(a, "%.17g", d);
        }
        if (s && *s) {
            char *end = NULL;
            double d;
            errno = 0;
            d = strtod(s, &end);
            if (!errno && !*end && isfinite(d))
                return arena_printf(a, "%.17g", d);
        }
        *msg = "expected a number";
        return NULL;
    case COL_BOOL:
        if (jt == json_type_boolean)
            return json_object_get_boolean(v) ? "true" : "false";
        if (jt == json_type_int && (json_object_get_int64(v) == 0 || json_object_get_int64(v) == 1))
            return json_object_get_int64(v) ? "true" : "false";
        if (s) {
            static const char *const yes[] = {"true", "y", "yes", "1"}, *const no[] = {"false", "n",
                                                                                       "no", "0"};
            for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
                if (!strcasecmp(s, yes[i]))
                    return "true";
                if (!strcasecmp(s, no[i]))
                    return "false";
            }
        }
        *msg = "expected a boolean";
        return NULL;
    case COL_TIME:
        if (s && *s)
            return s;
        *msg = "expected a date-time string";
        return NULL;
    case COL_TEXT:
    case COL_ENUM:
    case COL_JSON:
        if (s)
            return s;
        if (jt == json_type_int || jt == json_type_double)
            return arena_strdup(a, json_object_get_string(v));
        *msg = "expected a string";
        return NULL;
    }
    *msg = "unsupported column type";
    return NULL;
}

static const struct opdef *op_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(opdefs); i++)
        if (!strcmp(opdefs[i].name, name))
            return &opdefs[i];
    return NULL;
}

/* The SQL operand a filter compares: the column, its foreign key, or its text. */
static void filter_target(struct buf *b, const struct column *c)
{
    if (c->type == COL_REL)
        buf_addf(b, "t.\"%s\"", c->fk);
    else if (c->type == COL_JSON)
        buf_addf(b, "t.\"%s\"::text", c->name);
    else if (c->sql)
        buf_addf(b, "(%s)", c->sql);
    else
        buf_addf(b, "t.\"%s\"", c->name);
}

/* Case-insensitive LIKE, written lower(x) LIKE lower(pattern): that is what ILIKE computes
 * (in a multibyte encoding it lowers both sides, then matches), but ILIKE lowers the pattern
 * again for every row, and lower($n) is folded into a constant once, when the plan is made:
 * a ct filter scanning a few thousand rows spends a third less.  The trigram indexes are on
 * lower(column) to match (sql/0006_lower_trgm.sql).  A column with a folded copy (.fold,
 * which the database keeps equal to lower(column)) is compared through the copy: lower() of
 * every row it looks at was a fifth of a filtered list's scan, and an index can carry the
 * copy, so a scan need not read the table at all (sql/0010_search_fold.sql). */
static void like_ci(struct buf *w, const struct column *c, int param)
{
    if (c->fold) {
        buf_addf(w, "t.\"%s\" LIKE lower($%d::text)", c->fold, param);
        return;
    }
    buf_adds(w, "lower(");
    filter_target(w, c);
    buf_addf(w, ") LIKE lower($%d::text)", param);
}

static enum err one_filter(struct arena *a, const struct column *c, const struct opdef *op,
                           json_object *v, struct params *p, struct buf *w, const char **msg)
{
    const char *val;
    const char *why = NULL;

    if (op->kind == OPK_IN) {
        size_t n;
        const char **elems;
        if (!json_object_is_type(v, json_type_array)) {
            *msg = arena_printf(a, "filter %s in: expected an array", c->name);
            return ERR_BADREQ;
        }
        n = json_object_array_length(v);
        elems = arena_alloc(a, (n ? n : 1) * sizeof(*elems));
        for (size_t i = 0; i < n; i++) {
            elems[i] = sql_coerce(a, c, json_object_array_get_idx(v, i), &why);
            if (!elems[i]) {
                *msg = arena_printf(a, "filter %s: %s", c->name, why);
                return ERR_BADREQ;
            }
        }
        buf_adds(w, " AND ");
        filter_target(w, c);
        buf_addf(w, " = ANY($%d::%s[])", params_add(p, sql_array_literal(a, elems, n)),
                 sql_cast(c));
        return ERR_OK;
    }
    /* An array applies the operator once per element, ANDed (Flask-AppBuilder's rule). */
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            enum err e = one_filter(a, c, op, json_object_array_get_idx(v, i), p, w, msg);
            if (e)
                return e;
        }
        return ERR_OK;
    }
    if (!v || json_object_is_type(v, json_type_null)) {
        if (op->kind == OPK_EQ || op->kind == OPK_REL) {
            buf_adds(w, " AND ");
            filter_target(w, c);
            buf_adds(w, op->negate ? " IS NOT NULL" : " IS NULL");
            return ERR_OK;
        }
        if (op->kind == OPK_CMP)
            return ERR_OK; /* gt/lt with nothing to compare: skipped, as cube-studio does */
        *msg = arena_printf(a, "filter %s %s: a value is required", c->name, op->name);
        return ERR_BADREQ;
    }
    if (op->kind == OPK_LIKE && !json_object_is_type(v, json_type_string)) {
        *msg = arena_printf(a, "filter %s %s: expected a string", c->name, op->name);
        return ERR_BADREQ;
    }
    val = sql_coerce(a, c, v, &why);
    if (!val) {
        *msg = arena_printf(a, "filter %s: %s", c->name, why);
        return ERR_BADREQ;
    }
    buf_adds(w, op->negate ? " AND NOT (" : " AND (");
    switch (op->kind) {
    case OPK_LIKE:
        like_ci(
            w, c,
            params_add(p, arena_printf(a, "%s%s%s", op->pre, sql_like_escape(a, val), op->post)));
        break;
    case OPK_EQ:
        /* Strings compare case-insensitively (cube-studio's MySQL collation did). */
        if (c->type == COL_TEXT) {
            like_ci(w, c, params_add(p, sql_like_escape(a, val)));
            break;
        }
        filter_target(w, c);
        buf_addf(w, " = $%d::%s", params_add(p, val), sql_cast(c));
        break;
    case OPK_CMP:
        filter_target(w, c);
        buf_addf(w, " %s $%d::%s", op->cmp, params_add(p, val), sql_cast(c));
        break;
    case OPK_REL:
        filter_target(w, c);
        buf_addf(w, " = $%d::bigint", params_add(p, val));
        break;
    case OPK_M2M:
        buf_addf(w,
                 "EXISTS (SELECT 1 FROM \"%s\" l WHERE l.\"%s\" = t.\"id\" AND l.\"%s\" = "
                 "$%d::bigint)",
                 c->link_table, c->link_self, c->link_other, params_add(p, val));
        break;
    case OPK_IN:
        break;
    }
    buf_addc(w, ')');
    /* NOT (x) is NULL for a NULL column; keep such rows out of negations, as SQL would. */
    return ERR_OK;
}

static enum err parse_filters(struct arena *a, const struct resource *res, json_object *filters,
                              struct params *p, struct buf *w, const char **msg)
{
    if (!json_object_is_type(filters, json_type_array)) {
        *msg = "filters: expected an array";
        return ERR_BADREQ;
    }
    for (size_t i = 0; i < json_object_array_length(filters); i++) {
        json_object *f = json_object_array_get_idx(filters, i), *v = NULL;
        const char *col = js_get_str(f, "col"), *opr = js_get_str(f, "opr");
        const struct column *c;
        const struct opdef *op;
        enum err e;

        if (!json_object_is_type(f, json_type_object) || !col || !opr ||
            !json_object_object_get_ex(f, "value", &v)) {
            *msg = arena_printf(a, "filters[%zu]: expected {\"col\", \"opr\", \"value\"}", i);
            return ERR_BADREQ;
        }
        c = resource_col(res, col);
        if (!c || !col_readable(c) || !(c->flags & COL_SEARCH)) {
            *msg = arena_printf(a, "Filter column: %s not allowed to filter", col);
            return ERR_BADREQ;
        }
        op = op_find(opr);
        if (!op || !(op->types & T(c->type))) {
            *msg = arena_printf(a, "Filter operation: %s not allowed on column: %s", opr, col);
            return ERR_BADREQ;
        }
        e = one_filter(a, c, op, v, p, w, msg);
        if (e)
            return e;
    }
    return ERR_OK;
}

static bool json_int(json_object *v, int64_t *out)
{
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return true;
    }
    if (json_object_is_type(v, json_type_string))
        return parse_i64(json_object_get_string(v), INT64_MIN, INT64_MAX, out);
    return false;
}

static enum err parse_columns(struct arena *a, const struct resource *res, json_object *cols,
                              unsigned want, struct query *q, const char **msg)
{
    if (!json_object_is_type(cols, json_type_array)) {
        *msg = "columns: expected an array of column names";
        return ERR_BADREQ;
    }
    q->ncols = 0;
    for (size_t i = 0; i < json_object_array_length(cols); i++) {
        json_object *n = json_object_array_get_idx(cols, i);
        const char *name = json_object_get_string(n);
        const struct column *c =
            json_object_is_type(n, json_type_string) ? resource_col(res, name) : NULL;
        if (!c || !col_readable(c) || !(c->flags & want)) {
            *msg = arena_printf(a, "columns: unknown column %s", name ? name : "?");
            return ERR_BADREQ;
        }
        if (q->ncols < ARRAY_LEN(q->cols))
            q->cols[q->ncols++] = c;
    }
    return ERR_OK;
}

enum err sql_parse_query(struct arena *a, const struct resource *res, json_object *fd,
                         bool mode_show, struct params *p, struct query *q, const char **msg)
{
    unsigned want = mode_show ? COL_SHOW : (COL_LIST | COL_SHOW);
    const char *ocol = res->order_col, *odir = res->order_dir;
    json_object *v;
    const struct column *oc;
    enum err e;

    *msg = NULL;
    buf_init(&q->where, a, SQL_MAX_LEN);
    q->page = 0;
    q->page_size = res->page_size > 0 ? res->page_size : 100;
    q->str_related = false;
    q->ncols = 0;
    for (size_t i = 0; i < res->ncols && q->ncols < ARRAY_LEN(q->cols); i++) {
        const struct column *c = &res->cols[i];
        if (col_readable(c) && (c->flags & (mode_show ? COL_SHOW : COL_LIST)))
            q->cols[q->ncols++] = c;
    }
    if (fd && !json_object_is_type(fd, json_type_object)) {
        *msg = "form_data: expected a JSON object";
        return ERR_BADREQ;
    }
    if ((v = js_get(fd, "columns")) && (e = parse_columns(a, res, v, want, q, msg)))
        return e;
    if ((v = js_get(fd, "filters")) && (e = parse_filters(a, res, v, p, &q->where, msg)))
        return e;
    if ((v = js_get(fd, "str_related")))
        q->str_related =
            (json_object_is_type(v, json_type_boolean) || json_object_is_type(v, json_type_int)) &&
            json_object_get_boolean(v);
    if ((v = js_get(fd, "page"))) {
        if (!json_int(v, &q->page) || q->page < 0 || q->page > 100000000) {
            *msg = "page: expected a non-negative integer";
            return ERR_BADREQ;
        }
    }
    if ((v = js_get(fd, "page_size"))) {
        int64_t ps;
        if (!json_int(v, &ps)) {
            *msg = "page_size: expected an integer";
            return ERR_BADREQ;
        }
        /* Flask-AppBuilder: 0 means the default, out of range means the maximum. */
        if (ps > 0)
            q->page_size = ps > 2000 ? 2000 : ps;
        else if (ps < 0)
            q->page_size = 2000;
    }
    if ((v = js_get(fd, "order_column")) && json_object_get_string_len(v) > 0) {
        ocol = json_object_get_string(v);
        odir = "desc";
        oc = resource_col(res, ocol);
        if (!json_object_is_type(v, json_type_string) || !oc || !col_readable(oc) ||
            !(oc->flags & (COL_ORDER | COL_PK))) {
            *msg = arena_printf(a, "Invalid order by column: %s", ocol);
            return ERR_BADREQ;
        }
        if ((v = js_get(fd, "order_direction")) && json_object_is_type(v, json_type_string) &&
            !strcmp(json_object_get_string(v), "asc"))
            odir = "asc";
    }
    oc = ocol ? resource_col(res, ocol) : NULL;
    {
        const char *dir = odir && !strcmp(odir, "asc") ? "ASC" : "DESC";
        /* The id tie-break makes pages stable when the ordered column has duplicates. */
        if (oc && !(oc->flags & COL_PK))
            q->order = arena_printf(a, "t.\"%s\" %s, t.\"id\" %s", col_sqlname(oc), dir, dir);
        else
            q->order = arena_printf(a, "t.\"id\" %s", dir);
    }
    if (p->overflow) {
        *msg = "too many filter values";
        return ERR_BADREQ;
    }
    return buf_err(&q->where) ? (*msg = "filters too long", ERR_BADREQ) : ERR_OK;
}
