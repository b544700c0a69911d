/*
 * crud.h — the generic resource engine: every view's list, show, create,
 * update, delete, actions and CSV in/out, driven by its struct resource.
 * Each function writes the response into cx and returns the error it sent
 * (ERR_OK on success).  Permissions on the operation itself were checked by
 * the router; row scopes are applied here.
 */
#ifndef CUBE_API_CRUD_H
#define CUBE_API_CRUD_H

#include "api/resource.h"
#include "core/attr.h"

enum err crud_list(struct ctx *cx, const struct resource *res);
enum err crud_show(struct ctx *cx, const struct resource *res, int64_t id);
enum err crud_add(struct ctx *cx, const struct resource *res);
enum err crud_edit(struct ctx *cx, const struct resource *res, int64_t id);
enum err crud_delete(struct ctx *cx, const struct resource *res, int64_t id);
enum err crud_action(struct ctx *cx, const struct resource *res, const char *name, int64_t id);
enum err crud_multi_action(struct ctx *cx, const struct resource *res, const char *name);
enum err crud_download(struct ctx *cx, const struct resource *res);
enum err crud_download_template(struct ctx *cx, const struct resource *res);
enum err crud_upload(struct ctx *cx, const struct resource *res);

/* For hooks and composite operations (import, copy): one row from a JSON object, through
 * every check a POST makes.  *row is the new row's JSON text and *id its id; on an error the
 * response is already set. */
enum err crud_insert(struct ctx *cx, const struct resource *res, json_object *body,
                     const char **row, int64_t *id);
/* The row (list and show columns) as JSON text; NULL when missing or, when scoped, not visible
 * to the caller. */
enum err crud_fetch(struct ctx *cx, const struct resource *res, int64_t id, bool scoped,
                    const char **row);
/* After a write that bypassed crud_insert's own bookkeeping, or whose transaction has just
 * committed: drops the auth caches when the write was to auth data.  (Cached list counts need
 * nothing: they are keyed by the database snapshot, which every write changes.) */
void crud_changed(struct ctx *cx, const struct resource *res);
/* Helpers for hooks: an id as text, JSON text parsed into the arena (NULL for NULL or
 * malformed text), and a write's JSON value parsed (NULL when not given). */
const char *crud_i64(struct ctx *cx, int64_t v);
json_object *crud_parse(struct ctx *cx, const char *text);
json_object *write_json(struct ctx *cx, struct write *w, const char *col);
/* The value slot of a column in a write, NULL when the resource has no such column. */
const char **write_slot(struct write *w, const char *col);

/* info.c */
enum err info_view(struct ctx *cx, const struct resource *res);
enum err info_openapi(struct ctx *cx);
enum err info_menu(struct ctx *cx);
/* Whether the caller may perform op on res at all (admin-only ops). */
bool crud_allowed(const struct ctx *cx, const struct resource *res, unsigned op);
/* Whether the row scopes apply to the caller for res. */
bool crud_scoped(const struct ctx *cx, const struct resource *res);

#endif
