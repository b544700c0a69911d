/*
 * crud.c — the generic engine.  One statement per request wherever possible:
 * a write, its membership side effects (post_add_sql), its many-to-many links
 * and its audit-log row are data-modifying CTEs of a single INSERT / UPDATE /
 * DELETE, so they commit or fail together without an explicit transaction.
 *
 * List counts are cached in each worker under the query and the database
 * snapshot they were taken in (see "list counts" below): exact, and nothing to
 * do on writes.
 *
 * Rows come back as plain columns (sql_row_select) and are written out as JSON
 * here (sql_json_value), the same text json_build_object() gave.
 */
#include <ctype.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/crud.h"
#include "api/sql.h"
#include "core/cfg.h"
#include "core/js.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/common.h"

#define AUTH_GEN_KEY "cube:authgen"

enum { MAX_KEYS = 65 }; /* of a row: "id" and at most struct query's 64 columns */

bool crud_scoped(const struct ctx *cx, const struct resource *res)
{
    return !cx->user.admin || (res->flags & RES_SCOPE_ADMIN);
}

bool crud_allowed(const struct ctx *cx, const struct resource *res, unsigned op)
{
    if (!(res->ops & op))
        return false;
    return !(res->admin_ops & op) || cx->user.admin;
}

static const char *uid_text(struct ctx *cx)
{
    return arena_printf(cx->arena, "%" PRId64, cx->user.id);
}

/* " AND (<base filter>)" always, then " AND (<scope>)" when the caller is scoped. */
static void add_scope(struct ctx *cx, const struct resource *res, const char *scope,
                      struct params *p, struct buf *b)
{
    int uid = 0;
    if (res->base_filter) {
        /* An unused $n would leave its type undetermined: bind the caller only if named. */
        if (strstr(res->base_filter, "{uid}"))
            uid = params_add(p, uid_text(cx));
        buf_adds(b, " AND (");
        sql_scope(b, res->base_filter, uid);
        buf_addc(b, ')');
    }
    if (!scope || !crud_scoped(cx, res))
        return;
    buf_adds(b, " AND (");
    sql_scope(b, scope, uid ? uid : params_add(p, uid_text(cx)));
    buf_addc(b, ')');
}

void crud_changed(struct ctx *cx, const struct resource *res)
{
    int64_t n;

    /* Cached list counts need nothing: the write changed the snapshot they are keyed by. */
    if (!(res->flags & RES_AUTH_DATA))
        return;
    metrics_auth_gen_bump();
    if (kv_incr(cx->kv, AUTH_GEN_KEY, &n))
        log_warn("auth cache generation not bumped in redis (unavailable)");
}

/* Maps a database column named in an error back to the API's field name. */
static const char *field_of(const struct resource *res, const char *dbcol)
{
    for (size_t i = 0; i < res->ncols; i++) {
        const struct column *c = &res->cols[i];
        if (!strcmp(col_sqlname(c), dbcol) || (c->link_other && !strcmp(c->link_other, dbcol)))
            return c->name;
    }
    return dbcol;
}

/* "Key (a, b)=(x, y) already exists." -> "a, b" in API names. */
static const char *key_fields(struct ctx *cx, const struct resource *res, const char *detail)
{
    const char *p = detail ? strstr(detail, "Key (") : NULL, *end;
    struct buf b;

    if (!p || !(end = strstr(p, ")=")))
        return "value";
    p += 5;
    buf_init(&b, cx->arena, 1024);
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        char *name = arena_strndup(cx->arena, p, (size_t)(stop - p));
        if (b.len)
            buf_adds(&b, ", ");
        buf_adds(&b, field_of(res, name));
        p = comma ? comma + 2 : end;
    }
    return buf_str(&b);
}

/* Turns a failed write into the response a client can act on. */
static enum err write_error(struct ctx *cx, const struct resource *res, enum err e,
                            const struct db_error *de)
{
    const char *st = de->sqlstate;

    if (!strcmp(st, "23505"))
        return resp_error(cx, ERR_CONFLICT, "%s: already exists", key_fields(cx, res, de->detail));
    if (!strcmp(st, "23503")) {
        if (de->detail && strstr(de->detail, "still referenced"))
            return resp_error(cx, ERR_UNPROCESSABLE, "the row is still referenced by another row");
        return resp_error(cx, ERR_UNPROCESSABLE, "%s: no such row",
                          key_fields(cx, res, de->detail));
    }
    if (!strcmp(st, "23502"))
        return resp_error(cx, ERR_UNPROCESSABLE, "%s: may not be null",
                          de->column ? field_of(res, de->column) : "value");
    if (!strcmp(st, "23514")) {
        /* Constraint names are <table>_<column>_check. */
        const char *cn = de->constraint ? de->constraint : "";
        size_t tl = strlen(res->table), cl = strlen(cn);
        if (!strncmp(cn, res->table, tl) && cn[tl] == '_' && cl > tl + 7 &&
            !strcmp(cn + cl - 6, "_check"))
            return resp_error(cx, ERR_UNPROCESSABLE, "%s: invalid value",
                              field_of(res, arena_strndup(cx->arena, cn + tl + 1, cl - tl - 7)));
        return resp_error(cx, ERR_UNPROCESSABLE, "invalid value (%s)", cn);
    }
    if (e == ERR_BADREQ)
        return resp_error(cx, ERR_BADREQ, "%s", de->message ? de->message : "invalid value");
    if (e == ERR_UNAVAILABLE || e == ERR_TIMEOUT)
        return resp_error(cx, e, "database unavailable, try again");
    return resp_error(cx, ERR_DB, "database error");
}

static enum err query_error(struct ctx *cx, enum err e, const struct db_error *de)
{
    if (e == ERR_BADREQ)
        return resp_error(cx, ERR_BADREQ, "%s", de->message ? de->message : "invalid value");
    if (e == ERR_UNAVAILABLE || e == ERR_TIMEOUT)
        return resp_error(cx, e, "database unavailable, try again");
    return resp_error(cx, ERR_DB, "database error");
}

/* form_data from the query string: the JSON document plus plain page/order arguments. */
static enum err read_form_data(struct ctx *cx, json_object **out)
{
    static const char *const plain[] = {"page", "page_size", "order_column", "order_direction",
                                        "str_related"};
    const char *fd = req_query(cx, "form_data"), *msg;
    json_object *o;

    if (fd && *fd) {
        o = js_parse(cx->arena, fd, strlen(fd), &msg);
        if (!o)
            return resp_error(cx, ERR_BADREQ, "form_data: malformed JSON (%s)", msg);
        if (!json_object_is_type(o, json_type_object))
            return resp_error(cx, ERR_BADREQ, "form_data: expected a JSON object");
    } else {
        o = js_own(cx->arena, json_object_new_object());
    }
    for (size_t i = 0; i < ARRAY_LEN(plain); i++) {
        const char *v = req_query(cx, plain[i]);
        if (v)
            json_object_object_add(o, plain[i], json_object_new_string(v));
    }
    *out = o;
    return ERR_OK;
}

/* ---- list counts ------------------------------------------------------------------------
 *
 * A list page carries the number of rows its filters match.  Counting is indexed (trigram
 * indexes serve the text filters) but still visits every match, so a worker keeps the counts
 * it computed, each under its query (the FROM/WHERE and its parameters) and the snapshot it was
 * taken in: pg_current_snapshot(), which writing transactions had finished and which were still
 * running.  Two statements with the same snapshot see the same rows, so a count found under the
 * snapshot a page was read in is that page's exact count.  Any write anywhere (through this
 * API, a daemon, another replica, psql) changes the snapshot when it starts and when it ends,
 * and the next page counts again; reads and an idle system leave it alone.  A count is kept at
 * most CUBE_COUNT_CACHE_TTL seconds (0: every page counts, in its own statement).
 *
 * This replaced counts in Redis under a global generation that every write through the API
 * bumped: a Redis round trip on every list and on every write (some 5% of either's CPU time),
 * and a window between a commit and its bump.  The price of the snapshot: a write to any table,
 * not only to the listed one, makes the next page count again (as every API write did before). */

enum { COUNT_SLOTS = 128 };

struct count_slot {
    unsigned char key[32]; /* sha256 of the query, its parameters and the snapshot */
    int64_t expires_us;    /* 0: empty */
    char count[24];
};

static struct count_slot count_cache[COUNT_SLOTS];

static void count_digest(const char *from, const struct params *p, int nparams,
                         const char *snapshot, unsigned char out[32])
{
    struct sha256 s;

    sha256_init(&s);
    sha256_update(&s, from, strlen(from));
    for (int i = 0; i < nparams; i++) {
        sha256_update(&s, "\x1f", 1);
        if (p->v[i])
            sha256_update(&s, p->v[i], strlen(p->v[i]));
        else
            sha256_update(&s, "\x1e", 1);
    }
    sha256_update(&s, "\x1d", 1);
    sha256_update(&s, snapshot, strlen(snapshot));
    sha256_final(&s, out);
}

static struct count_slot *count_slot_of(const unsigned char key[32])
{
    return &count_cache[(key[0] | (unsigned)key[1] << 8) % COUNT_SLOTS];
}

/* The cached count of the query under this snapshot, NULL when there is none. */
static const char *count_cached(struct ctx *cx, const char *from, const struct params *p,
                                int nparams, const char *snapshot)
{
    unsigned char key[32];
    struct count_slot *c;

    if (!snapshot)
        return NULL;
    count_digest(from, p, nparams, snapshot, key);
    c = count_slot_of(key);
    if (!c->expires_us || c->expires_us <= clock_mono_us() || memcmp(c->key, key, sizeof(key)))
        return NULL;
    return arena_strdup(cx->arena, c->count);
}

static void count_keep(const char *from, const struct params *p, int nparams, const char *snapshot,
                       const char *count)
{
    unsigned char key[32];
    struct count_slot *c;

    if (!snapshot || !count || strlen(count) >= sizeof(c->count))
        return;
    count_digest(from, p, nparams, snapshot, key);
    c = count_slot_of(key);
    memcpy(c->key, key, sizeof(key));
    snprintf(c->count, sizeof(c->count), "%s", count);
    c->expires_us = clock_mono_us() + cfg.count_cache_ttl * 1000000;
}

/* The FROM/WHERE of a list or download, shared by its count and its page. */
static void list_from(struct ctx *cx, const struct resource *res, struct query *q, struct params *p,
                      struct buf *b)
{
    buf_addf(b, " FROM \"%s\" t WHERE true", res->table);
    add_scope(cx, res, res->scope, p, b);
    buf_adds(b, buf_str(&q->where));
}

/* Row `row` of r as a JSON object: keys[i] is the key of result column i. */
static void row_json(struct buf *b, const struct pg_result *r, int row, const char *const *keys,
                     size_t nkeys)
{
    /* json_build_object's separators, so a row reads exactly as it did when built in SQL. */
    buf_addc(b, '{');
    for (size_t i = 0; i < nkeys; i++) {
        int c = (int)i;
        if (i)
            buf_adds(b, ", ");
        buf_add_json_str(b, keys[i], strlen(keys[i]));
        buf_adds(b, " : ");
        sql_json_value(b, db_val(r, row, c), db_len(r, row, c), db_type(r, c));
    }
    buf_addc(b, '}');
}

/* The first row of r as JSON text in the arena into *out, NULL when there is none. */
static enum err first_row_json(struct ctx *cx, const struct pg_result *r,
                               const struct column *const *cols, size_t ncols, const char **out)
{
    const char *keys[MAX_KEYS];
    size_t nkeys = sql_row_keys(cols, ncols, keys, ARRAY_LEN(keys));
    struct buf b;

    *out = NULL;
    if (!db_rows(r))
        return ERR_OK;
    buf_init(&b, cx->arena, 64 << 20);
    row_json(&b, r, 0, keys, nkeys);
    if (buf_err(&b))
        return resp_error(cx, ERR_TOOBIG, "result too large");
    *out = buf_str(&b);
    return ERR_OK;
}

/* A page of a list or download: *page gets its rows as a JSON array; with_count: *count the
 * number of rows matching the filters (cached, see "list counts" above). */
static enum err run_page(struct ctx *cx, const struct resource *res, struct query *q,
                         bool with_count, const char **page, const char **count)
{
    struct params p = {0};
    struct buf from, sql, out;
    struct pg_result *r;
    struct db_error de;
    const char *msg = NULL, *snapshot = NULL;
    const char *keys[MAX_KEYS];
    json_object *fd;
    size_t nkeys;
    int nwhere, lim, off, rows;
    bool caching, inline_count, ids_first;
    enum err e;

    if ((e = read_form_data(cx, &fd)))
        return e;
    if ((e = sql_parse_query(cx->arena, res, fd, false, &p, q, &msg)))
        return resp_error(cx, e, "%s", msg);
    buf_init(&from, cx->arena, SQL_MAX_LEN);
    list_from(cx, res, q, &p, &from);
    nwhere = p.n; /* the parameters of the FROM/WHERE, all a count needs */

    *count = NULL;
    /* Inside a transaction, its own uncommitted writes count, and its snapshot does not say. */
    caching =
        with_count && cfg.count_cache_ttl > 0 && !(res->flags & RES_LIVE) && !db_in_tx(cx->db);
    inline_count = with_count && !caching;
    nkeys = sql_row_keys(q->cols, q->ncols, keys, ARRAY_LEN(keys));
    lim = params_add(&p, arena_printf(cx->arena, "%" PRId64, q->page_size));
    off = params_add(&p, arena_printf(cx->arena, "%" PRId64, q->page * q->page_size));
    /* Filtered: the rows the page shows are a few of those the search looks at. */
    ids_first = (res->flags & RES_IDS_FIRST) &&
                (q->where.len || res->base_filter || (res->scope && crud_scoped(cx, res)));

    buf_init(&sql, cx->arena, SQL_MAX_LEN);
    buf_adds(&sql, "SELECT ");
    sql_row_select(&sql, q->cols, q->ncols, q->str_related);
    /* One more column after the row's, the same on every row: the snapshot the page is read in
     * (to look its count up), or, not caching, the count itself (an InitPlan, computed once). */
    if (caching)
        buf_adds(&sql, ", pg_current_snapshot()::text");
    else if (inline_count)
        buf_addf(&sql, ", (SELECT count(*)%s)::text", buf_str(&from));
    if (ids_first)
        buf_addf(&sql,
                 " FROM \"%s\" t WHERE t.\"id\" = ANY(ARRAY(SELECT t.\"id\"%s ORDER BY %s LIMIT "
                 "$%d::bigint OFFSET $%d::bigint)) ORDER BY %s",
                 res->table, buf_str(&from), q->order, lim, off, q->order);
    else
        buf_addf(&sql, "%s ORDER BY %s LIMIT $%d::bigint OFFSET $%d::bigint", buf_str(&from),
                 q->order, lim, off);
    if (buf_err(&sql) || p.overflow)
        return resp_error(cx, ERR_BADREQ, "query too large");
    if ((e = db_query(cx->db, cx->arena, buf_str(&sql), p.n, p.v, &r, &de)))
        return query_error(cx, e, &de);
    rows = db_rows(r);

    /* json_agg's separators: the page reads as it did when it was aggregated in SQL. */
    buf_init(&out, cx->arena, 64 << 20);
    buf_addc(&out, '[');
    for (int i = 0; i < rows; i++) {
        if (i)
            buf_adds(&out, ", ");
        row_json(&out, r, i, keys, nkeys);
    }
    buf_addc(&out, ']');
    if (buf_err(&out))
        return resp_error(cx, ERR_TOOBIG, "result too large; use a smaller page_size");
    *page = buf_str(&out);

    if (!with_count)
        return ERR_OK;
    if (rows && inline_count)
        *count = db_val(r, 0, (int)nkeys);
    if (rows && caching) {
        snapshot = db_val(r, 0, (int)nkeys);
        *count = count_cached(cx, buf_str(&from), &p, nwhere, snapshot);
    }
    if (!*count) {
        /* Not cached under this snapshot, or an empty page (past the last row): count now, and
         * keep it under the snapshot of the count. */
        buf_init(&sql, cx->arena, SQL_MAX_LEN);
        buf_addf(&sql, "SELECT count(*)::text, pg_current_snapshot()::text%s", buf_str(&from));
        if (buf_err(&sql))
            return resp_error(cx, ERR_BADREQ, "query too large");
        if ((e = db_query(cx->db, cx->arena, buf_str(&sql), nwhere, p.v, &r, &de)))
            return query_error(cx, e, &de);
        *count = db_val(r, 0, 0);
        if (caching)
            count_keep(buf_str(&from), &p, nwhere, db_val(r, 0, 1), *count);
    }
    if (!*count)
        *count = "0"; /* count(*) is never NULL; the analyzer cannot know */
    return ERR_OK;
}

enum err crud_list(struct ctx *cx, const struct resource *res)
{
    struct query q;
    const char *page = NULL, *count = NULL;
    struct buf b;
    enum err e = run_page(cx, res, &q, true, &page, &count);

    if (e)
        return e;
    if (!page)
        page = "[]";
    buf_init(&b, cx->arena, 64 << 20);
    buf_adds(&b, "{\"data\":");
    buf_adds(&b, page);
    buf_addf(&b, ",\"count\":%s}", count ? count : "0");
    if (buf_err(&b))
        return resp_error(cx, ERR_TOOBIG, "result too large; use a smaller page_size");
    resp_ok_raw(cx, buf_str(&b));
    return ERR_OK;
}

/* The row as JSON text, NULL when it does not exist or is out of the caller's scope. */
static enum err fetch_row(struct ctx *cx, const struct resource *res, int64_t id, bool scoped,
                          const struct column *const *cols, size_t ncols, const char **out)
{
    struct params p = {0};
    struct buf sql;
    struct pg_result *r;
    struct db_error de;
    enum err e;

    buf_init(&sql, cx->arena, SQL_MAX_LEN);
    buf_adds(&sql, "SELECT ");
    sql_row_select(&sql, cols, ncols, false);
    buf_addf(&sql, " FROM \"%s\" t WHERE t.\"id\" = $%d::bigint", res->table,
             params_add(&p, arena_printf(cx->arena, "%" PRId64, id)));
    if (scoped)
        add_scope(cx, res, res->scope, &p, &sql);
    if ((e = db_query(cx->db, cx->arena, buf_str(&sql), p.n, p.v, &r, &de)))
        return query_error(cx, e, &de);
    return first_row_json(cx, r, cols, ncols, out);
}

/* Readable columns carrying any of the flags, in table order. */
static size_t pick_cols(const struct resource *res, unsigned flags, const struct column **out,
                        size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < res->ncols && n < max; i++)
        if (col_readable(&res->cols[i]) && (res->cols[i].flags & flags))
            out[n++] = &res->cols[i];
    return n;
}

static enum err not_found(struct ctx *cx)
{
    return resp_error(cx, ERR_NOT_FOUND,
                      "not found: the record does not exist or you may not see it");
}

enum err crud_show(struct ctx *cx, const struct resource *res, int64_t id)
{
    struct query q;
    struct params p = {0};
    const char *row, *msg;
    json_object *fd;
    enum err e;

    if ((e = read_form_data(cx, &fd)))
        return e;
    if ((e = sql_parse_query(cx->arena, res, fd, true, &p, &q, &msg)))
        return resp_error(cx, e, "%s", msg);
    if ((e = fetch_row(cx, res, id, true, q.cols, q.ncols, &row)))
        return e;
    if (!row)
        return not_found(cx);
    resp_ok_raw(cx, row);
    return ERR_OK;
}

/* ---- writes ------------------------------------------------------------------------------ */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool regex_ok(const char *re, const char *s)
{
    regex_t rx;
    bool ok;
    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB))
        return false;
    ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

/* "1,2" or [1,2] -> PostgreSQL bigint[] literal. */
static const char *m2m_value(struct ctx *cx, const struct column *c, json_object *v)
{
    const char *why;
    size_t n;
    const char **elems;

    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        json_object *arr = js_own(cx->arena, json_object_new_array());
        while (*s) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (len)
                json_object_array_add(arr, json_object_new_string_len(s, (int)len));
            s += len + (comma ? 1 : 0);
        }
        v = arr;
    }
    if (!json_object_is_type(v, json_type_array))
        return NULL;
    n = json_object_array_length(v);
    elems = arena_alloc(cx->arena, (n ? n : 1) * sizeof(*elems));
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (json_object_is_type(e, json_type_object))
            e = js_get(e, "id"); /* accept rows as read back: [{"id":1,"name":"admin"}] */
        elems[i] = e ? sql_coerce(cx->arena, c, e, &why) : NULL;
        if (!elems[i])
            return NULL;
    }
    return sql_array_literal(cx->arena, elems, n);
}

/* Validates one client value for column c into w->vals[i]. */
static enum err take_value(struct ctx *cx, const struct column *c, json_object *v, const char **out,
                           bool *isnull)
{
    const char *why = NULL, *s;
    enum json_type jt = json_object_get_type(v);

    *isnull = false;
    if (jt == json_type_null) {
        if (c->flags & COL_NULLABLE) {
            *isnull = true;
            *out = NULL;
            return ERR_OK;
        }
        return resp_error(cx, ERR_UNPROCESSABLE, "%s: may not be null", c->name);
    }
    switch (c->type) {
    case COL_TEXT:
    case COL_ENUM:
        if (jt != json_type_string)
            return resp_error(cx, ERR_BADREQ, "%s: expected a string", c->name);
        s = json_object_get_string(v);
        if (strlen(s) != (size_t)json_object_get_string_len(v))
            return resp_error(cx, ERR_BADREQ, "%s: NUL characters are not allowed", c->name);
        /* cube-studio strips surrounding spaces (tabs and newlines stay). */
        while (*s == ' ')
            s++;
        {
            size_t n = strlen(s);
            while (n && s[n - 1] == ' ')
                n--;
            s = arena_strndup(cx->arena, s, n);
        }
        if (c->type == COL_ENUM) {
            struct buf opts;
            for (size_t i = 0; c->choices[i]; i++)
                if (!strcmp(c->choices[i], s)) {
                    *out = s;
                    return ERR_OK;
                }
            buf_init(&opts, cx->arena, 4096);
            for (size_t i = 0; c->choices[i]; i++)
                buf_addf(&opts, "%s%s", i ? ", " : "", c->choices[i]);
            return resp_error(cx, ERR_UNPROCESSABLE, "%s: must be one of %s", c->name,
                              buf_str(&opts));
        }
        if (c->max_len && utf8_chars(s) > (size_t)c->max_len)
            return resp_error(cx, ERR_UNPROCESSABLE, "%s: longer than maximum length %d", c->name,
                              c->max_len);
        if (c->min_len && utf8_chars(s) < (size_t)c->min_len)
            return resp_error(cx, ERR_UNPROCESSABLE, "%s: shorter than minimum length %d", c->name,
                              c->min_len);
        if (c->regex && !regex_ok(c->regex, s))
            return resp_error(cx, ERR_UNPROCESSABLE, "%s: must match %s", c->name, c->regex);
        *out = s;
        return ERR_OK;
    case COL_JSON:
        if (jt == json_type_string) {
            const char *txt = json_object_get_string(v), *msg;
            json_object *parsed = *txt ? js_parse(cx->arena, txt, strlen(txt), &msg) : NULL;
            if (!parsed)
                return resp_error(cx, ERR_BADREQ, "%s: expected JSON", c->name);
            v = parsed;
            jt = json_object_get_type(v);
        }
        if (jt != json_type_object && jt != json_type_array)
            return resp_error(cx, ERR_BADREQ, "%s: expected a JSON object", c->name);
        *out = arena_strdup(cx->arena, js_str(v));
        return ERR_OK;
    case COL_M2M:
        *out = m2m_value(cx, c, v);
        if (!*out)
            return resp_error(cx, ERR_BADREQ, "%s: expected an array of ids", c->name);
        return ERR_OK;
    case COL_BOOL:
        /* JSON booleans, 0/1, and the words a CSV file carries; not "yes" or "y". */
        if (jt == json_type_boolean || jt == json_type_int ||
            (jt == json_type_string && (!strcmp(json_object_get_string(v), "true") ||
                                        !strcmp(json_object_get_string(v), "false") ||
                                        !strcmp(json_object_get_string(v), "1") ||
                                        !strcmp(json_object_get_string(v), "0")))) {
            *out = sql_coerce(cx->arena, c, v, &why);
            if (*out)
                return ERR_OK;
        }
        return resp_error(cx, ERR_BADREQ, "%s: expected a boolean", c->name);
    case COL_INT:
    case COL_REL:
    case COL_FLOAT:
    case COL_TIME:
        if (jt == json_type_object || jt == json_type_array)
            return resp_error(cx, ERR_BADREQ, "%s: expected a scalar", c->name);
        *out = sql_coerce(cx->arena, c, v, &why);
        if (!*out)
            return resp_error(cx, ERR_BADREQ, "%s: %s", c->name, why);
        return ERR_OK;
    }
    return resp_error(cx, ERR_INTERNAL, "%s: unsupported column type", c->name);
}

static enum err read_write(struct ctx *cx, const struct resource *res, json_object *body,
                           bool is_add, int64_t id, struct write *w)
{
    unsigned need = is_add ? COL_ADD : COL_EDIT;
    enum err e;

    memset(w, 0, sizeof(*w));
    w->res = res;
    w->is_add = is_add;
    w->op = is_add ? WRITE_ADD : WRITE_EDIT;
    w->id = id;
    w->vals = arena_zalloc(cx->arena, res->ncols * sizeof(*w->vals));
    w->null = arena_zalloc(cx->arena, res->ncols * sizeof(*w->null));
    if (!json_object_is_type(body, json_type_object))
        return resp_error(cx, ERR_BADREQ, "expected a JSON object");
    json_object_object_foreach(body, key, val)
    {
        const struct column *c = resource_col(res, key);
        size_t i;
        if (!c || (c->flags & COL_HIDDEN))
            return resp_error(cx, ERR_BADREQ, "unknown column: %s", key);
        /* Known but not writable here (id, created_on, ...): ignored, so a client may send a
         * row back as it read it. */
        if (!(c->flags & need))
            continue;
        i = (size_t)(c - res->cols);
        if ((e = take_value(cx, c, val, &w->vals[i], &w->null[i])))
            return e;
    }
    if (is_add) {
        for (size_t i = 0; i < res->ncols; i++)
            if ((res->cols[i].flags & COL_REQUIRED) && !w->vals[i])
                return resp_error(cx, ERR_UNPROCESSABLE, "%s: required", res->cols[i].name);
    }
    return res->pre_write ? res->pre_write(cx, w) : ERR_OK;
}

static bool given(const struct write *w, size_t i)
{
    return w->vals[i] || w->null[i];
}

/* Columns a write stores in its own table (not computed, not many-to-many). */
static bool stored(const struct column *c)
{
    return !c->sql && c->type != COL_M2M && !(c->flags & (COL_PK | COL_INPUT));
}

static void audit_cte(struct ctx *cx, const struct resource *res, const char *op, struct params *p,
                      int uid, struct buf *sql)
{
    if (res->flags & RES_NO_LOG)
        return;
    buf_addf(sql,
             ", a AS (INSERT INTO \"audit_log\" (\"user_id\", \"username\", \"method\", \"path\", "
             "\"view\", \"op\", \"row_id\", \"status\", \"request_id\") SELECT $%d::bigint, "
             "$%d, $%d, $%d, $%d, $%d, w.\"id\", 200, $%d FROM w)",
             uid, params_add(p, cx->user.username), params_add(p, cx->req.method),
             params_add(p, cx->req.path), params_add(p, res->view), params_add(p, op),
             params_add(p, cx->req.request_id ? cx->req.request_id : ""));
}

static void m2m_ctes(const struct resource *res, const struct write *w, bool replace,
                     struct params *p, struct buf *sql)
{
    for (size_t i = 0; i < res->ncols; i++) {
        const struct column *c = &res->cols[i];
        int n;
        if (c->type != COL_M2M || !w->vals[i])
            continue;
        n = params_add(p, w->vals[i]);
        if (replace)
            buf_addf(sql,
                     ", d%zu AS (DELETE FROM \"%s\" l USING w WHERE l.\"%s\" = w.\"id\" AND "
                     "l.\"%s\" <> ALL($%d::bigint[]))",
                     i, c->link_table, c->link_self, c->link_other, n);
        buf_addf(sql,
                 ", i%zu AS (INSERT INTO \"%s\" (\"%s\", \"%s\") SELECT w.\"id\", x FROM w, "
                 "unnest($%d::bigint[]) x ON CONFLICT DO NOTHING)",
                 i, c->link_table, c->link_self, c->link_other, n);
    }
}

/* Whether a column reads rows this statement's other CTEs wrote, which its own snapshot cannot
 * see: many-to-many links, and computed columns when the resource has post_add_sql. */
static bool reads_side_effects(const struct resource *res, const struct write *w,
                               const struct column *c)
{
    if (c->type == COL_M2M)
        return w->vals && w->vals[c - res->cols];
    return c->sql && w->is_add && res->post_add_sql;
}

/* Runs a write statement ending in "SELECT <row> FROM w t"; *row NULL when no row.
 * The result carries cube-studio's columns: add and list columns after a create, list and
 * show columns after an update or a delete. */
static enum err finish_write(struct ctx *cx, const struct resource *res, struct write *w,
                             struct buf *sql, struct params *p, const char **row)
{
    const struct column *cols[64];
    unsigned want = w->op == WRITE_ADD ? (COL_ADD | COL_LIST) : (COL_LIST | COL_SHOW);
    size_t ncols = pick_cols(res, want, cols, ARRAY_LEN(cols));
    bool refetch = false;
    struct pg_result *r;
    struct db_error de;
    enum err e;

    for (size_t i = 0; i < ncols; i++)
        refetch |= reads_side_effects(res, w, cols[i]);
    buf_adds(sql, " SELECT ");
    sql_row_select(sql, cols, ncols, false);
    buf_adds(sql, " FROM w t");
    if (buf_err(sql) || p->overflow)
        return resp_error(cx, ERR_TOOBIG, "request too large");
    if ((e = db_query(cx->db, cx->arena, buf_str(sql), p->n, p->v, &r, &de)))
        return write_error(cx, res, e, &de);
    if ((e = first_row_json(cx, r, cols, ncols, row)) || !*row)
        return e;
    w->id = db_i64(r, 0, 0); /* the select list starts with the id */
    if (refetch && (e = fetch_row(cx, res, w->id, false, cols, ncols, row)))
        return e;
    return ERR_OK;
}

/* The write statement, and the resource's post_write in the same transaction when it has one. */
static enum err run_write(struct ctx *cx, const struct resource *res, struct write *w,
                          struct buf *sql, struct params *p, const char **row)
{
    enum err e;

    if (!res->post_write) {
        if ((e = finish_write(cx, res, w, sql, p, row)))
            return e;
        if (*row)
            crud_changed(cx, res);
        return ERR_OK;
    }
    if ((e = db_begin(cx->db)))
        return resp_error(cx, e, "database unavailable, try again");
    if ((e = finish_write(cx, res, w, sql, p, row)) || !*row ||
        (e = res->post_write(cx, w, *row))) {
        db_rollback(cx->db);
        return e;
    }
    if ((e = db_commit(cx->db)))
        return resp_error(cx, e, "database unavailable, try again");
    /* Bumped once the data is visible, so no count computed in between is cached as new. */
    crud_changed(cx, res);
    return ERR_OK;
}

/* Splices the hook's extra field (e.g. a token shown once) into the row object. */
static const char *with_extra(struct ctx *cx, const struct write *w, const char *row)
{
    json_object *k, *v;
    size_t n = strlen(row);
    const char *out;

    if (!w->extra_key || n < 2 || row[n - 1] != '}')
        return row;
    k = json_object_new_string(w->extra_key);
    v = json_object_new_string(w->extra_val);
    out = arena_printf(cx->arena, "%.*s,%s:%s}", (int)(n - 1), row, js_str(k), js_str(v));
    json_object_put(k);
    json_object_put(v);
    return out;
}

static enum err insert_row(struct ctx *cx, const struct resource *res, json_object *body,
                           const char **row, int64_t *id);

const char *crud_i64(struct ctx *cx, int64_t v)
{
    return arena_printf(cx->arena, "%" PRId64, v);
}

json_object *crud_parse(struct ctx *cx, const char *text)
{
    const char *msg;
    return text ? js_parse(cx->arena, text, strlen(text), &msg) : NULL;
}

json_object *write_json(struct ctx *cx, struct write *w, const char *col)
{
    const char **v = write_slot(w, col);
    return v && *v ? crud_parse(cx, *v) : NULL;
}

const char **write_slot(struct write *w, const char *col)
{
    const struct column *c = resource_col(w->res, col);
    return c && w->vals ? &w->vals[c - w->res->cols] : NULL;
}

enum err crud_fetch(struct ctx *cx, const struct resource *res, int64_t id, bool scoped,
                    const char **row)
{
    const struct column *cols[64];
    size_t n = pick_cols(res, COL_LIST | COL_SHOW, cols, ARRAY_LEN(cols));
    return fetch_row(cx, res, id, scoped, cols, n, row);
}

enum err crud_insert(struct ctx *cx, const struct resource *res, json_object *body,
                     const char **row, int64_t *id)
{
    return insert_row(cx, res, body, row, id);
}

/* Inserts one row from a JSON object; on success *row is the new row's JSON. */
static enum err insert_row(struct ctx *cx, const struct resource *res, json_object *body,
                           const char **row, int64_t *id)
{
    struct write w;
    struct params p = {0};
    struct buf sql, names, vals;
    bool scoped = crud_scoped(cx, res), audit = res->flags & RES_AUDIT;
    int uid;
    enum err e;

    if ((e = read_write(cx, res, body, true, 0, &w)))
        return e;
    uid = params_add(&p, uid_text(cx));
    buf_init(&sql, cx->arena, SQL_MAX_LEN);
    buf_init(&names, cx->arena, SQL_MAX_LEN);
    buf_init(&vals, cx->arena, SQL_MAX_LEN);
    /* v holds every storable column (NULL when not given) so add_check can read any of them;
     * only the given ones are inserted, so database defaults still apply. */
    buf_adds(&sql, "WITH v AS (SELECT ");
    for (size_t i = 0, k = 0; i < res->ncols; i++) {
        const struct column *c = &res->cols[i];
        if (!stored(c))
            continue;
        buf_addf(&sql, "%s$%d::%s AS \"%s\"", k++ ? ", " : "", params_add(&p, w.vals[i]),
                 sql_cast(c), col_sqlname(c));
        if (given(&w, i)) {
            buf_addf(&names, "%s\"%s\"", names.len ? ", " : "", col_sqlname(c));
            buf_addf(&vals, "%sv.\"%s\"", vals.len ? ", " : "", col_sqlname(c));
        }
    }
    if (audit) {
        buf_addf(&names, "%s\"created_by_fk\", \"changed_by_fk\"", names.len ? ", " : "");
        buf_addf(&vals, "%s$%d::bigint, $%d::bigint", vals.len ? ", " : "", uid, uid);
    }
    buf_addf(&sql, "), w AS (INSERT INTO \"%s\" (%s) SELECT %s FROM v", res->table, buf_str(&names),
             buf_str(&vals));
    if (scoped && res->add_check) {
        buf_adds(&sql, " WHERE (");
        sql_scope(&sql, res->add_check, uid);
        buf_addc(&sql, ')');
    }
    buf_adds(&sql, " RETURNING *)");
    if (res->post_add_sql) {
        buf_adds(&sql, ", ");
        sql_scope(&sql, res->post_add_sql, uid);
    }
    m2m_ctes(res, &w, false, &p, &sql);
    audit_cte(cx, res, "add", &p, uid, &sql);
    if ((e = run_write(cx, res, &w, &sql, &p, row)))
        return e;
    if (!*row)
        return res->add_check_msg
                   ? resp_error(cx, ERR_FORBIDDEN, "%s", res->add_check_msg)
                   : resp_error(cx, ERR_FORBIDDEN, "no permission to add this %s", res->label);
    *row = with_extra(cx, &w, *row);
    if (id)
        *id = w.id;
    return ERR_OK;
}

static enum err read_json_body(struct ctx *cx, json_object **out)
{
    const char *msg;

    if (!cx->req.body || !cx->req.body_len)
        return resp_error(cx, ERR_BADREQ, "Request is not JSON: the body is empty");
    if (!req_is_json(cx))
        return resp_error(cx, ERR_BADREQ,
                          "Request is not JSON: send Content-Type: application/json");
    *out = js_parse(cx->arena, cx->req.body, cx->req.body_len, &msg);
    if (!*out)
        return resp_error(cx, ERR_BADREQ, "malformed JSON: %s", msg);
    return ERR_OK;
}

enum err crud_add(struct ctx *cx, const struct resource *res)
{
    json_object *body;
    const char *row;
    enum err e;

    if ((e = read_json_body(cx, &body)) || (e = insert_row(cx, res, body, &row, NULL)))
        return e;
    resp_ok_raw(cx, row);
    return ERR_OK;
}

/* After a write matched no row: 403 when the caller can see it, else 404 (no existence leak). */
static enum err denied_or_missing(struct ctx *cx, const struct resource *res, int64_t id,
                                  const char *what)
{
    const char *row;
    const struct column *idc = &res->cols[0];
    enum err e = fetch_row(cx, res, id, true, &idc, 0, &row);
    if (e)
        return e;
    if (!row)
        return not_found(cx);
    return resp_error(cx, ERR_FORBIDDEN, "no permission to %s this %s", what, res->label);
}

enum err crud_edit(struct ctx *cx, const struct resource *res, int64_t id)
{
    struct write w;
    struct params p = {0};
    struct buf sql;
    json_object *body;
    const char *row, *set = "";
    int uid;
    enum err e;

    if ((e = read_json_body(cx, &body)) || (e = read_write(cx, res, body, false, id, &w)))
        return e;
    uid = params_add(&p, uid_text(cx));
    buf_init(&sql, cx->arena, SQL_MAX_LEN);
    buf_addf(&sql, "WITH w AS (UPDATE \"%s\" t SET ", res->table);
    for (size_t i = 0; i < res->ncols; i++) {
        const struct column *c = &res->cols[i];
        if (!stored(c) || !given(&w, i))
            continue;
        buf_addf(&sql, "%s\"%s\" = $%d::%s", set, col_sqlname(c), params_add(&p, w.vals[i]),
                 sql_cast(c));
        set = ", ";
    }
    if (resource_col(res, "changed_on")) {
        buf_addf(&sql, "%s\"changed_on\" = now()", set);
        set = ", ";
    }
    if (res->flags & RES_AUDIT) {
        buf_addf(&sql, "%s\"changed_by_fk\" = $%d::bigint", set, uid);
        set = ", ";
    }
    if (!*set)
        buf_adds(&sql, "\"id\" = t.\"id\"");
    buf_addf(&sql, " WHERE t.\"id\" = $%d::bigint",
             params_add(&p, arena_printf(cx->arena, "%" PRId64, id)));
    add_scope(cx, res, res->edit_scope ? res->edit_scope : res->scope, &p, &sql);
    buf_adds(&sql, " RETURNING t.*)");
    m2m_ctes(res, &w, true, &p, &sql);
    audit_cte(cx, res, "edit", &p, uid, &sql);
    if ((e = run_write(cx, res, &w, &sql, &p, &row)))
        return e;
    if (!row)
        return denied_or_missing(cx, res, id, "edit");
    resp_ok_raw(cx, with_extra(cx, &w, row));
    return ERR_OK;
}

/* Deletes one row; *row is its last state, NULL when nothing was deleted (response set). */
static enum err delete_row(struct ctx *cx, const struct resource *res, int64_t id, const char **row)
{
    struct write w = {.res = res, .op = WRITE_DELETE, .id = id};
    struct params p = {0};
    struct buf sql;
    int uid = params_add(&p, uid_text(cx));
    enum err e;

    buf_init(&sql, cx->arena, SQL_MAX_LEN);
    buf_addf(&sql, "WITH w AS (DELETE FROM \"%s\" t WHERE t.\"id\" = $%d::bigint", res->table,
             params_add(&p, arena_printf(cx->arena, "%" PRId64, id)));
    add_scope(cx, res, res->delete_scope ? res->delete_scope : res->scope, &p, &sql);
    buf_adds(&sql, " RETURNING t.*)");
    audit_cte(cx, res, "delete", &p, uid, &sql);
    if ((e = run_write(cx, res, &w, &sql, &p, row)))
        return e;
    if (!*row)
        return denied_or_missing(cx, res, id, "delete");
    return ERR_OK;
}

enum err crud_delete(struct ctx *cx, const struct resource *res, int64_t id)
{
    const char *row;
    enum err e = delete_row(cx, res, id, &row);
    if (e)
        return e;
    resp_ok_raw(cx, row);
    return ERR_OK;
}

/* ---- actions ----------------------------------------------------------------------------- */

/* Built in for every view that deletes: cube-studio's muldelete. */
static enum err muldelete(struct ctx *cx, const struct resource *res, const int64_t *ids, size_t n,
                          json_object **result)
{
    json_object *ok = json_object_new_array(), *fail = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
        const char *row;
        if (!delete_row(cx, res, ids[i], &row))
            json_object_array_add(ok, json_object_new_int64(ids[i]));
        else
            json_object_array_add(fail, json_object_new_int64(ids[i]));
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "success", ok);
    json_object_object_add(*result, "fail", fail);
    return ERR_OK;
}

static const struct action muldelete_action = {
    "muldelete", "Delete",  "Delete the selected records?", "fa-trash", false, true,
    false,       muldelete,
};

static const struct action *find_action(const struct ctx *cx, const struct resource *res,
                                        const char *name)
{
    for (size_t i = 0; i < res->nactions; i++)
        if (!strcmp(res->actions[i].name, name))
            return &res->actions[i];
    if (!strcmp(name, "muldelete") && crud_allowed(cx, res, OP_DELETE))
        return &muldelete_action;
    return NULL;
}

/* Of ids, the ones visible to the caller, in the given order. */
static enum err visible_ids(struct ctx *cx, const struct resource *res, json_object *arr,
                            int64_t **out, size_t *n)
{
    struct params p = {0};
    struct buf sql;
    struct pg_result *r;
    struct db_error de;
    const char **elems;
    size_t len = json_object_array_length(arr);
    enum err e;

    elems = arena_alloc(cx->arena, (len ? len : 1) * sizeof(*elems));
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        int64_t id;
        if (json_object_is_type(v, json_type_int))
            id = json_object_get_int64(v);
        else if (!json_object_is_type(v, json_type_string) ||
                 !parse_i64(json_object_get_string(v), 1, INT64_MAX, &id))
            return resp_error(cx, ERR_BADREQ, "ids: expected an array of integers");
        elems[i] = arena_printf(cx->arena, "%" PRId64, id);
    }
    buf_init(&sql, cx->arena, SQL_MAX_LEN);
    buf_addf(&sql, "SELECT t.\"id\" FROM \"%s\" t WHERE t.\"id\" = ANY($%d::bigint[])", res->table,
             params_add(&p, sql_array_literal(cx->arena, elems, len)));
    add_scope(cx, res, res->scope, &p, &sql);
    buf_adds(&sql, " ORDER BY t.\"id\"");
    if ((e = db_query(cx->db, cx->arena, buf_str(&sql), p.n, p.v, &r, &de)))
        return query_error(cx, e, &de);
    *out = db_col_i64(cx->arena, r, 0, n);
    return ERR_OK;
}

static enum err run_action(struct ctx *cx, const struct resource *res, const struct action *a,
                           const int64_t *ids, size_t n)
{
    json_object *result = NULL;
    enum err e;

    if (a->admin_only && !cx->user.admin)
        return resp_error(cx, ERR_FORBIDDEN, "no permission to run %s", a->name);
    if ((e = a->fn(cx, res, ids, n, &result))) {
        json_object_put(result);
        return e;
    }
    resp_ok(cx, result);
    return ERR_OK;
}

enum err crud_action(struct ctx *cx, const struct resource *res, const char *name, int64_t id)
{
    const struct action *a = find_action(cx, res, name);
    const struct column *idc = &res->cols[0];
    const char *row;
    enum err e;

    if (!a || !a->single)
        return resp_error(cx, ERR_NOT_FOUND, "unknown action: %s", name);
    if ((e = fetch_row(cx, res, id, true, &idc, 0, &row)))
        return e;
    if (!row)
        return not_found(cx);
    return run_action(cx, res, a, &id, 1);
}

enum err crud_multi_action(struct ctx *cx, const struct resource *res, const char *name)
{
    const struct action *a = find_action(cx, res, name);
    json_object *body, *ids;
    int64_t *vis;
    size_t n;
    enum err e;

    if (!a || !a->multiple)
        return resp_error(cx, ERR_NOT_FOUND, "unknown action: %s", name);
    if ((e = read_json_body(cx, &body)))
        return e;
    ids = js_get(body, "ids");
    if (!ids || !json_object_is_type(ids, json_type_array))
        return resp_error(cx, ERR_BADREQ, "ids: expected an array of integers");
    if ((e = visible_ids(cx, res, ids, &vis, &n)))
        return e;
    return run_action(cx, res, a, vis, n);
}

/* ---- CSV --------------------------------------------------------------------------------- */

static void csv_cell(struct buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        buf_adds(b, s);
        return;
    }
    buf_addc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_addc(b, '"');
        buf_addc(b, *s);
    }
    buf_addc(b, '"');
}

static void csv_value(struct buf *b, json_object *v)
{
    if (!v || json_object_is_type(v, json_type_null))
        return;
    if (json_object_is_type(v, json_type_string))
        csv_cell(b, json_object_get_string(v));
    else
        csv_cell(b, js_str(v));
}

static void csv_attachment(struct ctx *cx, const char *name, struct buf *b)
{
    resp_header(cx, "Content-Disposition: attachment; filename=\"%s.csv\"", name);
    resp_text(cx, 200, "text/csv; charset=utf-8", buf_str(b), b->len);
}

enum err crud_download(struct ctx *cx, const struct resource *res)
{
    struct query q;
    const char *page = NULL, *count = NULL;
    json_object *rows;
    struct buf b;
    const char *msg;
    enum err e = run_page(cx, res, &q, false, &page, &count);

    if (e)
        return e;
    if (!page)
        page = "[]";
    rows = js_parse(cx->arena, page, strlen(page), &msg);
    if (!rows)
        return resp_error(cx, ERR_INTERNAL, "export failed");
    buf_init(&b, cx->arena, 256 << 20);
    buf_add(&b, "\xEF\xBB\xBF", 3); /* BOM: spreadsheets then read UTF-8 */
    buf_adds(&b, "id");
    for (size_t i = 0; i < q.ncols; i++)
        if (!(q.cols[i]->flags & COL_PK))
            buf_addf(&b, ",%s", q.cols[i]->name);
    buf_adds(&b, "\r\n");
    for (size_t r = 0; r < json_object_array_length(rows); r++) {
        json_object *row = json_object_array_get_idx(rows, r);
        csv_value(&b, js_get(row, "id"));
        for (size_t i = 0; i < q.ncols; i++) {
            json_object *v;
            if (q.cols[i]->flags & COL_PK)
                continue;
            buf_addc(&b, ',');
            v = js_get(row, q.cols[i]->name);
            /* A related row exports as its display value. */
            if (q.cols[i]->type == COL_REL && json_object_is_type(v, json_type_object))
                v = js_get(v, q.cols[i]->rel_display);
            csv_value(&b, v);
        }
        buf_adds(&b, "\r\n");
    }
    if (buf_err(&b))
        return resp_error(cx, ERR_TOOBIG, "export too large; add filters");
    csv_attachment(cx, res->view, &b);
    return ERR_OK;
}

enum err crud_download_template(struct ctx *cx, const struct resource *res)
{
    struct buf b;
    size_t n = 0;

    buf_init(&b, cx->arena, 65536);
    buf_add(&b, "\xEF\xBB\xBF", 3);
    for (size_t i = 0; i < res->ncols; i++)
        if (res->cols[i].flags & COL_ADD)
            buf_addf(&b, "%s%s", n++ ? "," : "", res->cols[i].name);
    buf_adds(&b, "\r\n");
    csv_attachment(cx, res->view, &b);
    return ERR_OK;
}

/* RFC 4180 record reader: fields into out (arena), returns false at end of input. */
static bool csv_record(struct ctx *cx, const char **pp, const char *end, json_object *out)
{
    const char *p = *pp;
    struct buf f;

    if (p >= end)
        return false;
    buf_init(&f, cx->arena, 1 << 20);
    for (;;) {
        buf_truncate(&f, 0);
        if (p < end && *p == '"') {
            for (p++; p < end; p++) {
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        buf_addc(&f, '"');
                        p++;
                        continue;
                    }
                    p++;
                    break;
                }
                buf_addc(&f, *p);
            }
        }
        while (p < end && *p != ',' && *p != '\n' && *p != '\r')
            buf_addc(&f, *p++);
        json_object_array_add(out, json_object_new_string(buf_str(&f)));
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '\r')
            p++;
        if (p < end && *p == '\n')
            p++;
        break;
    }
    *pp = p;
    return true;
}

/* The csv_file part of a multipart body, or the whole body for text/csv. */
static bool upload_payload(struct ctx *cx, const char **start, const char **end)
{
    const char *ct = cx->req.content_type, *b = strstr(ct, "boundary="), *body = cx->req.body;
    const char *bend, *p;
    char *delim;
    size_t dl;

    if (!body)
        return false;
    bend = body + cx->req.body_len;
    if (!strncasecmp(ct, "text/csv", 8) || !strncasecmp(ct, "text/plain", 10)) {
        *start = body;
        *end = bend;
        return true;
    }
    if (strncasecmp(ct, "multipart/form-data", 19) || !b)
        return false;
    b += 9;
    {
        size_t bl = strcspn(b, "; ");
        if (bl >= 2 && b[0] == '"' && b[bl - 1] == '"')
            b++, bl -= 2;
        delim = arena_printf(cx->arena, "--%.*s", (int)bl, b);
    }
    dl = strlen(delim);
    for (p = memmem(body, (size_t)(bend - body), delim, dl); p;
         p = memmem(p + dl, (size_t)(bend - p - (ptrdiff_t)dl), delim, dl)) {
        const char *hdr_end = memmem(p, (size_t)(bend - p), "\r\n\r\n", 4), *next;
        if (!hdr_end)
            return false;
        if (!memmem(p, (size_t)(hdr_end - p), "name=\"csv_file\"", 15))
            continue;
        next = memmem(hdr_end + 4, (size_t)(bend - hdr_end - 4), delim, dl);
        if (!next)
            return false;
        *start = hdr_end + 4;
        *end = next >= *start + 2 ? next - 2 : next; /* the CRLF before the delimiter */
        return true;
    }
    return false;
}

enum err crud_upload(struct ctx *cx, const struct resource *res)
{
    const char *p, *end;
    json_object *header, *results, *fields;
    size_t ncols, ok = 0;

    if (!upload_payload(cx, &p, &end))
        return resp_error(cx, ERR_BADREQ,
                          "expected multipart/form-data with a csv_file part, or text/csv");
    if (end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    header = js_own(cx->arena, json_object_new_array());
    if (!csv_record(cx, &p, end, header))
        return resp_error(cx, ERR_BADREQ, "the CSV file is empty");
    ncols = json_object_array_length(header);
    for (size_t i = 0; i < ncols; i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(header, i));
        const struct column *c = resource_col(res, name);
        if (!c || !(c->flags & COL_ADD))
            return resp_error(cx, ERR_BADREQ, "unknown column: %s", name);
    }
    results = js_own(cx->arena, json_object_new_array());
    for (;;) {
        json_object *obj;
        const char *row;
        bool empty = true;
        fields = js_own(cx->arena, json_object_new_array());
        if (!csv_record(cx, &p, end, fields))
            break;
        if (json_object_array_length(fields) != ncols)
            continue; /* blank or ragged lines are skipped, as cube-studio does */
        obj = js_own(cx->arena, json_object_new_object());
        for (size_t i = 0; i < ncols; i++) {
            json_object *v = json_object_array_get_idx(fields, i);
            if (!json_object_get_string_len(v))
                continue;
            empty = false;
            json_object_object_add(obj,
                                   json_object_get_string(json_object_array_get_idx(header, i)),
                                   json_object_get(v));
        }
        if (empty)
            continue;
        if (!insert_row(cx, res, obj, &row, NULL)) {
            ok++;
            json_object_array_add(results, json_object_new_string("success"));
        } else {
            json_object_array_add(results,
                                  json_object_new_string(cx->errmsg ? cx->errmsg : "failed"));
        }
    }
    {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "status", json_object_new_int(0));
        json_object_object_add(doc, "message",
                               js_new_str(arena_printf(cx->arena, "success %zu rows", ok)));
        json_object_object_add(doc, "result", json_object_get(results));
        resp_json(cx, 200, doc);
    }
    return ERR_OK;
}
