/*
 * sql.h — turns a resource table and a client's form_data into SQL text and
 * a parameter vector, and result values into JSON text.  Identifiers come only
 * from the resource table; every client value becomes a $n parameter.  Pure
 * functions of their inputs (no database), so the unit tests assert the exact
 * SQL for each operator and the exact JSON for each type.
 */
#ifndef CUBE_API_SQL_H
#define CUBE_API_SQL_H

#include <json-c/json.h>
#include "api/resource.h"
#include "core/buf.h"
#include "core/attr.h"

enum { SQL_MAX_PARAMS = 256, SQL_MAX_LEN = 256 * 1024 };

struct params {
    const char *v[SQL_MAX_PARAMS];
    int n;
    bool overflow;
};

/* Appends a value (NULL = SQL NULL); returns its 1-based $ number. */
int params_add(struct params *p, const char *v);

/* What a list/show/download request asked for, already validated. */
struct query {
    const struct column *cols[64]; /* columns to return, in order */
    size_t ncols;
    struct buf where;  /* " AND (...)" fragments over t */
    const char *order; /* "t.\"name\" ASC, t.\"id\" DESC" */
    int64_t page, page_size;
    bool str_related;
};

/* Parses form_data (may be NULL) for res.  mode_show: columns default to show columns.
 * On a client error, fills msg (arena) and returns ERR_BADREQ. */
enum err sql_parse_query(struct arena *a, const struct resource *res, json_object *form_data,
                         bool mode_show, struct params *p, struct query *q,
                         const char **msg) WARN_UNUSED;

/* Appends the expression reading column c of row alias t: a value whose text sql_json_value()
 * turns into the JSON json_build_object() would have given it. */
void sql_col_expr(struct buf *b, const struct column *c, bool str_related);
/* Appends the select list of a row: t."id", then the expression of every other column. */
void sql_row_select(struct buf *b, const struct column *const *cols, size_t ncols,
                    bool str_related);
/* The JSON keys of sql_row_select()'s result columns, in order ("id" first); returns how many
 * (at most max). */
size_t sql_row_keys(const struct column *const *cols, size_t ncols, const char **keys, size_t max);
/* Appends the JSON of a result value: v (NULL: SQL NULL, written null) is the text form of a
 * value of PostgreSQL type oid `type`, written as json_build_object() would write it. */
void sql_json_value(struct buf *b, const char *v, size_t len, unsigned type);
/* Appends a scope fragment with {uid} replaced by the parameter $uid_param. */
void sql_scope(struct buf *b, const char *frag, int uid_param);
/* Appends the SQL type a parameter for c is cast to ("bigint", "text", ...). */
const char *sql_cast(const struct column *c);
/* Escapes LIKE metacharacters (\ % _) of s into the arena. */
char *sql_like_escape(struct arena *a, const char *s);
/* Builds a PostgreSQL array literal {"a","b"} from string elements. */
char *sql_array_literal(struct arena *a, const char *const *elems, size_t n);

/* The filter operators column c offers, in advertising order: names[i] / labels[i]. */
size_t sql_col_ops(const struct column *c, const char **names, const char **labels, size_t max);
/* Coerces a JSON value to the text of a parameter for c; NULL + msg when of the wrong type. */
const char *sql_coerce(struct arena *a, const struct column *c, json_object *v, const char **msg);
#endif
