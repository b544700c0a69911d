/*
 * resource.h — the declarative description of one REST resource (a
 * cube-studio "model view").  The generic engine (crud.c, filter.c, info.c)
 * reads nothing else: columns, what each may do, who sees which rows, and the
 * few hooks that cannot be data.
 *
 * SQL fragments in this file are constants written by us, never client text.
 * In them, "t" is the resource's row, "{uid}" the caller's user id (bound as
 * a parameter), and in add_check "v" the row about to be inserted.
 */
#ifndef CUBE_API_RESOURCE_H
#define CUBE_API_RESOURCE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include "api/ctx.h"
#include "core/attr.h"

enum col_type {
    COL_INT,   /* bigint */
    COL_FLOAT, /* double precision */
    COL_TEXT,  /* text / varchar */
    COL_BOOL,
    COL_TIME, /* timestamptz, shown as "YYYY-MM-DDTHH:MM:SS" UTC */
    COL_JSON, /* jsonb */
    COL_ENUM, /* text restricted to .choices */
    COL_REL,  /* many-to-one: .fk holds the id of a row of .rel_table */
    COL_M2M,  /* many-to-many through .link_table */
};

enum col_flag {
    COL_PK = 1 << 0,
    COL_LIST = 1 << 1,     /* in list_columns */
    COL_SHOW = 1 << 2,     /* in show_columns */
    COL_ADD = 1 << 3,      /* accepted by create */
    COL_EDIT = 1 << 4,     /* accepted by update */
    COL_SEARCH = 1 << 5,   /* may be filtered on */
    COL_ORDER = 1 << 6,    /* may be ordered by */
    COL_REQUIRED = 1 << 7, /* create fails without it */
    COL_UNIQUE = 1 << 8,
    COL_SECRET = 1 << 9,  /* write-only: never read back, never logged */
    COL_HIDDEN = 1 << 10, /* not exposed at all; only hooks write it */
    COL_NULLABLE = 1 << 11,
    COL_TEXTAREA = 1 << 12, /* long text: ui-type textArea */
    /* Accepted by writes for the resource's hooks only (a confirmation, a current password):
     * not a column of the table, so never stored nor read back. */
    COL_INPUT = 1 << 13,
};

#define COL_RW (COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH | COL_ORDER)
#define COL_RO (COL_LIST | COL_SHOW | COL_SEARCH | COL_ORDER)

struct column {
    const char *name; /* API name; also the SQL column unless .fk or .sql says otherwise */
    enum col_type type;
    unsigned flags;
    const char *label;
    const char *description;
    int max_len, min_len;       /* characters, TEXT; 0 = no limit */
    const char *regex;          /* POSIX ERE the whole value must match, TEXT */
    const char *const *choices; /* NULL-terminated, ENUM */
    const char *def;            /* default shown in _info (the database applies it) */
    const char *sql;            /* read-only computed expression over t (no SQL column) */
    /* TEXT: a column of the same table that the database keeps equal to lower(column) (a
     * generated column).  Case-insensitive filters compare it instead of lowering the column
     * in every row they look at; its trigram and covering indexes serve them. */
    const char *fold;
    /* COL_REL: the SQL column holding the id, the related table and its display column. */
    const char *fk, *rel_table, *rel_display;
    /* COL_M2M: link table, its column pointing at us, its column pointing at rel_table. */
    const char *link_table, *link_self, *link_other;
};

enum res_op {
    OP_LIST = 1 << 0,
    OP_SHOW = 1 << 1,
    OP_ADD = 1 << 2,
    OP_EDIT = 1 << 3,
    OP_DELETE = 1 << 4,
    OP_CSV_IN = 1 << 5,
};
#define OP_CRUD (OP_LIST | OP_SHOW | OP_ADD | OP_EDIT | OP_DELETE)

enum res_flag {
    RES_AUDIT = 1 << 0,       /* table has created_on/changed_on/created_by_fk/changed_by_fk */
    RES_SCOPE_ADMIN = 1 << 1, /* the row scope applies to admins too (personal data) */
    RES_NO_LOG = 1 << 2,      /* writes are not audit-logged (the audit log itself) */
    RES_AUTH_DATA = 1 << 3,   /* writes change who may do what: drop every worker's auth cache */
    RES_LIVE = 1 << 4, /* rows the daemons change behind the API's back: never cache counts */
    /* A filtered list finds its page's ids first, then reads only those rows: an index covers
     * the columns its filters and row scope read (the ids, the .fold columns, ...), so the
     * search walks that index and never the table.  Without such an index it only adds a
     * look-up per row of the page. */
    RES_IDS_FIRST = 1 << 5,
};

struct resource;

/* A write about to happen: the values the client sent, after validation.  Hooks may add or
 * replace values (by column name; only columns of the table) and a field for the result. */
enum write_op { WRITE_ADD, WRITE_EDIT, WRITE_DELETE };

struct write {
    const struct resource *res;
    bool is_add;
    enum write_op op;
    int64_t id;            /* edit, delete: the row; after an add: the new row */
    void *hook_data;       /* what pre_write wants post_write to know (old values) */
    const char **vals;     /* indexed like res->cols; NULL: not given */
    bool *null;            /* given as SQL NULL */
    const char *extra_key; /* added to the result object (e.g. a token shown once) */
    const char *extra_val;
};

typedef enum err write_hook_fn(struct ctx *cx, struct write *w);
/* Runs after the write, in the same transaction; row is the written row as JSON text. */
typedef enum err post_write_fn(struct ctx *cx, struct write *w, const char *row);

struct action {
    const char *name, *text, *confirmation, *icon;
    bool single, multiple, admin_only;
    /* ids: the rows (already checked to be visible to the caller). result: envelope result. */
    enum err (*fn)(struct ctx *cx, const struct resource *res, const int64_t *ids, size_t n,
                   struct json_object **result);
};

/* A route of its own below the view ("current/userinfo", "{id}/render"). */
struct res_route {
    const char *method, *pattern;
    enum err (*fn)(struct ctx *cx, const struct resource *res, int64_t id);
};

struct menu_entry {
    const char *group, *group_title, *title, *icon;
};

struct resource {
    const char *view;  /* URL name: /api/<view>/ */
    const char *table; /* SQL table */
    const char *label;
    const struct column *cols;
    size_t ncols;
    unsigned ops;       /* what the view offers */
    unsigned admin_ops; /* of those, admin-only */
    unsigned flags;
    /* Rows the view shows at all, for everyone (runhistory: cron runs of the run table). */
    const char *base_filter;
    /* Row scopes for non-admins (NULL: every row).  Read: list, show, download, actions. */
    const char *scope, *edit_scope, *delete_scope;
    const char *add_check;             /* predicate over v (the new row) for non-admins */
    const char *post_add_sql;          /* extra CTEs run with the insert ("w" = new row) */
    const char *order_col, *order_dir; /* default order */
    int page_size;
    const char *add_check_msg; /* the 403 message when add_check refuses */
    write_hook_fn *pre_write;  /* validate/transform (hash a password, ...) */
    post_write_fn *post_write; /* keep other rows consistent (same transaction) */
    const struct action *actions;
    size_t nactions;
    const struct res_route *routes;
    size_t nroutes;
    struct menu_entry menu;
};

/* registry.c */
extern const struct resource *const resources[];
extern const size_t resources_count;
const struct resource *resource_find(const char *view, size_t len);
size_t resource_index(const struct resource *r);
const struct column *resource_col(const struct resource *r, const char *name);
/* The SQL column name (fk for relations). */
const char *col_sqlname(const struct column *c);
bool col_readable(const struct column *c); /* not secret, not hidden */

#endif
