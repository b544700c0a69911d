/*
 * info.c — documents derived from the resource tables: a view's _info (what
 * cube-studio's generic pages render from), the OpenAPI 3 document, and the
 * menu.  Written once; no view has code of its own here.
 */
#include <stdio.h>
#include <string.h>

#include "api/crud.h"
#include "api/sql.h"
#include "core/js.h"
#include "core/common.h"

static const char *type_name(const struct column *c)
{
    static const char *const names[] = {
        [COL_INT] = "Integer",  [COL_FLOAT] = "Float",   [COL_TEXT] = "String",
        [COL_BOOL] = "Boolean", [COL_TIME] = "DateTime", [COL_JSON] = "JSON",
        [COL_ENUM] = "Enum",    [COL_REL] = "Related",   [COL_M2M] = "RelatedList",
    };
    if (c->type == COL_TEXT && (c->flags & COL_TEXTAREA))
        return "Text";
    return names[c->type];
}

static const char *ui_type(const struct column *c)
{
    switch (c->type) {
    case COL_BOOL:
        return "radio";
    case COL_TIME:
        return "datePicker";
    case COL_JSON:
        return "json";
    case COL_ENUM:
    case COL_REL:
        return "select";
    case COL_M2M:
        return "select2";
    case COL_TEXT:
        return (c->flags & COL_TEXTAREA) ? "textArea" : "input";
    case COL_INT:
    case COL_FLOAT:
        break;
    }
    return "input";
}

static json_object *str_array(const struct resource *res, unsigned flags, bool names_only)
{
    json_object *a = json_object_new_array();
    (void)names_only;
    for (size_t i = 0; i < res->ncols; i++) {
        const struct column *c = &res->cols[i];
        if ((c->flags & flags) && !(c->flags & COL_HIDDEN) &&
            (!(c->flags & COL_SECRET) || (flags & (COL_ADD | COL_EDIT))))
            json_object_array_add(a, json_object_new_string(c->name));
    }
    return a;
}

static json_object *validators(const struct column *c, bool for_add)
{
    json_object *v = json_object_new_array(), *o;
    if (for_add && (c->flags & COL_REQUIRED)) {
        o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string("DataRequired"));
        json_object_array_add(v, o);
    }
    if (c->max_len || c->min_len) {
        o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string("Length"));
        json_object_object_add(o, "min", c->min_len ? json_object_new_int(c->min_len) : NULL);
        json_object_object_add(o, "max", c->max_len ? json_object_new_int(c->max_len) : NULL);
        json_object_array_add(v, o);
    }
    if (c->regex) {
        o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string("Regexp"));
        json_object_object_add(o, "regex", json_object_new_string(c->regex));
        json_object_array_add(v, o);
    }
    return v;
}

/* Choices of an enum as [{"id","value"}]; relations are looked up by the client through the
 * related view, which applies the caller's scope. */
static json_object *values(const struct column *c)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; c->type == COL_ENUM && c->choices[i]; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(c->choices[i]));
        json_object_object_add(o, "value", json_object_new_string(c->choices[i]));
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *descriptor(const struct column *c, bool for_add)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(c->name));
    json_object_object_add(o, "label", js_new_str(c->label ? c->label : c->name));
    json_object_object_add(o, "description", js_new_str(c->description));
    json_object_object_add(o, "type", json_object_new_string(type_name(c)));
    json_object_object_add(o, "ui-type", json_object_new_string(ui_type(c)));
    json_object_object_add(o, "required",
                           json_object_new_boolean(for_add && (c->flags & COL_REQUIRED)));
    json_object_object_add(o, "unique", json_object_new_boolean(c->flags & COL_UNIQUE));
    json_object_object_add(o, "remember", json_object_new_boolean(0));
    json_object_object_add(o, "validators", validators(c, for_add));
    if (c->def)
        json_object_object_add(o, "default", json_object_new_string(c->def));
    if (c->type == COL_ENUM)
        json_object_object_add(o, "values", values(c));
    if (c->type == COL_REL || c->type == COL_M2M) {
        json_object_object_add(o, "related", json_object_new_string(c->rel_table));
        json_object_object_add(o, "related_display", json_object_new_string(c->rel_display));
    }
    if (c->flags & COL_SECRET)
        json_object_object_add(o, "write_only", json_object_new_boolean(1));
    return o;
}

static json_object *descriptors(const struct resource *res, unsigned flag)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < res->ncols; i++)
        if ((res->cols[i].flags & flag) && !(res->cols[i].flags & COL_HIDDEN))
            json_object_array_add(a, descriptor(&res->cols[i], flag == COL_ADD));
    return a;
}

static json_object *filters(const struct resource *res)
{
    json_object *f = json_object_new_object();
    for (size_t i = 0; i < res->ncols; i++) {
        const struct column *c = &res->cols[i];
        const char *names[16], *labels[16];
        size_t n = sql_col_ops(c, names, labels, ARRAY_LEN(names));
        json_object *o, *ops;
        if (!n || !col_readable(c))
            continue;
        o = json_object_new_object();
        ops = json_object_new_array();
        for (size_t k = 0; k < n; k++) {
            json_object *op = json_object_new_object();
            json_object_object_add(op, "name", json_object_new_string(labels[k]));
            json_object_object_add(op, "operator", json_object_new_string(names[k]));
            json_object_array_add(ops, op);
        }
        json_object_object_add(o, "filter", ops);
        json_object_object_add(o, "type", json_object_new_string(type_name(c)));
        json_object_object_add(o, "ui-type", json_object_new_string(ui_type(c)));
        json_object_object_add(o, "values", values(c));
        json_object_object_add(o, "validators", json_object_new_array());
        json_object_object_add(o, "default", json_object_new_string(""));
        json_object_object_add(f, c->name, o);
    }
    return f;
}

enum err info_view(struct ctx *cx, const struct resource *res)
{
    json_object *o = json_object_new_object(), *labels = json_object_new_object(),
                *descr = json_object_new_object(), *perms = json_object_new_array(),
                *uperm = json_object_new_object(), *actions = json_object_new_object();
    static const struct {
        unsigned op;
        const char *perm, *name;
    } opnames[] = {{OP_ADD, "can_add", "add"},
                   {OP_SHOW, "can_show", "show"},
                   {OP_EDIT, "can_edit", "edit"},
                   {OP_LIST, "can_list", "list"},
                   {OP_DELETE, "can_delete", "delete"}};

    json_object_object_add(o, "route_base",
                           js_new_str(arena_printf(cx->arena, "/%s/api/", res->view)));
    json_object_object_add(o, "primary_key", json_object_new_string("id"));
    json_object_object_add(o, "label_title", json_object_new_string(res->label));
    json_object_object_add(o, "model_name", json_object_new_string(res->table));
    json_object_object_add(o, "list_title",
                           js_new_str(arena_printf(cx->arena, "%s list", res->label)));
    json_object_object_add(o, "add_title",
                           js_new_str(arena_printf(cx->arena, "Add %s", res->label)));
    json_object_object_add(o, "edit_title",
                           js_new_str(arena_printf(cx->arena, "Edit %s", res->label)));
    json_object_object_add(o, "show_title",
                           js_new_str(arena_printf(cx->arena, "Show %s", res->label)));
    json_object_object_add(o, "help_url", json_object_new_string(""));
    json_object_object_add(o, "list_columns", str_array(res, COL_LIST, true));
    json_object_object_add(o, "show_columns", str_array(res, COL_SHOW, true));
    json_object_object_add(o, "order_columns", str_array(res, COL_ORDER, true));
    json_object_object_add(o, "search_columns", str_array(res, COL_SEARCH, true));
    json_object_object_add(o, "fixed_columns", json_object_new_array());
    for (size_t i = 0; i < res->ncols; i++) {
        const struct column *c = &res->cols[i];
        if (c->flags & COL_HIDDEN)
            continue;
        json_object_object_add(labels, c->name, js_new_str(c->label ? c->label : c->name));
        if (c->description)
            json_object_object_add(descr, c->name, json_object_new_string(c->description));
    }
    json_object_object_add(o, "label_columns", labels);
    json_object_object_add(o, "description_columns", descr);
    json_object_object_add(o, "cols_width", json_object_new_object());
    for (size_t i = 0; i < ARRAY_LEN(opnames); i++) {
        bool can = crud_allowed(cx, res, opnames[i].op);
        if (can)
            json_object_array_add(perms, json_object_new_string(opnames[i].perm));
        json_object_object_add(uperm, opnames[i].name, json_object_new_boolean(can));
    }
    json_object_object_add(o, "permissions", perms);
    json_object_object_add(o, "user_permissions", uperm);
    json_object_object_add(o, "filters", filters(res));
    json_object_object_add(o, "add_columns",
                           crud_allowed(cx, res, OP_ADD) ? descriptors(res, COL_ADD)
                                                         : json_object_new_array());
    json_object_object_add(o, "edit_columns",
                           crud_allowed(cx, res, OP_EDIT) ? descriptors(res, COL_EDIT)
                                                          : json_object_new_array());
    json_object_object_add(o, "add_fieldsets", json_object_new_array());
    json_object_object_add(o, "edit_fieldsets", json_object_new_array());
    json_object_object_add(o, "show_fieldsets", json_object_new_array());
    for (size_t i = 0; i <= res->nactions; i++) {
        const struct action *a = i < res->nactions ? &res->actions[i] : NULL;
        json_object *ao;
        if (!a) {
            if (!crud_allowed(cx, res, OP_DELETE))
                break;
            ao = json_object_new_object();
            json_object_object_add(ao, "name", json_object_new_string("muldelete"));
            json_object_object_add(ao, "text", json_object_new_string("Delete"));
            json_object_object_add(ao, "confirmation",
                                   json_object_new_string("Delete the selected records?"));
            json_object_object_add(ao, "icon", json_object_new_string("fa-trash"));
            json_object_object_add(ao, "multiple", json_object_new_boolean(1));
            json_object_object_add(ao, "single", json_object_new_boolean(0));
            json_object_object_add(actions, "muldelete", ao);
            break;
        }
        if (a->admin_only && !cx->user.admin)
            continue;
        ao = json_object_new_object();
        json_object_object_add(ao, "name", json_object_new_string(a->name));
        json_object_object_add(ao, "text", js_new_str(a->text));
        json_object_object_add(ao, "confirmation", js_new_str(a->confirmation));
        json_object_object_add(ao, "icon", js_new_str(a->icon));
        json_object_object_add(ao, "multiple", json_object_new_boolean(a->multiple));
        json_object_object_add(ao, "single", json_object_new_boolean(a->single));
        json_object_object_add(actions, a->name, ao);
    }
    json_object_object_add(o, "action", actions);
    json_object_object_add(o, "related", json_object_new_object());
    json_object_object_add(o, "import_data",
                           json_object_new_boolean(crud_allowed(cx, res, OP_CSV_IN)));
    json_object_object_add(o, "download_data",
                           json_object_new_boolean(crud_allowed(cx, res, OP_LIST)));
    json_object_object_add(o, "ops_link", json_object_new_array());
    json_object_object_add(o, "enable_favorite", json_object_new_boolean(0));
    json_object_object_add(o, "echart", json_object_new_boolean(0));
    json_object_object_add(o, "page_size", json_object_new_int(res->page_size));
    resp_json(cx, 200, o);
    return ERR_OK;
}

/* ---- OpenAPI ----------------------------------------------------------------------------- */

static json_object *schema_of(const struct column *c)
{
    json_object *s = json_object_new_object();
    static const char *const t[] = {
        [COL_INT] = "integer",  [COL_FLOAT] = "number", [COL_TEXT] = "string",
        [COL_BOOL] = "boolean", [COL_TIME] = "string",  [COL_JSON] = "object",
        [COL_ENUM] = "string",  [COL_REL] = "integer",  [COL_M2M] = "array",
    };
    json_object_object_add(s, "type", json_object_new_string(t[c->type]));
    if (c->type == COL_TIME)
        json_object_object_add(s, "format", json_object_new_string("date-time"));
    if (c->type == COL_M2M) {
        json_object *items = json_object_new_object();
        json_object_object_add(items, "type", json_object_new_string("integer"));
        json_object_object_add(s, "items", items);
    }
    if (c->type == COL_ENUM) {
        json_object *e = json_object_new_array();
        for (size_t i = 0; c->choices[i]; i++)
            json_object_array_add(e, json_object_new_string(c->choices[i]));
        json_object_object_add(s, "enum", e);
    }
    if (c->max_len)
        json_object_object_add(s, "maxLength", json_object_new_int(c->max_len));
    if (c->min_len)
        json_object_object_add(s, "minLength", json_object_new_int(c->min_len));
    if (c->regex)
        json_object_object_add(s, "pattern", json_object_new_string(c->regex));
    if (c->description)
        json_object_object_add(s, "description", json_object_new_string(c->description));
    if (c->flags & COL_SECRET)
        json_object_object_add(s, "writeOnly", json_object_new_boolean(1));
    if (!(c->flags & (COL_ADD | COL_EDIT)))
        json_object_object_add(s, "readOnly", json_object_new_boolean(1));
    return s;
}

static json_object *model_schema(const struct resource *res, unsigned flags, bool required)
{
    json_object *s = json_object_new_object(), *props = json_object_new_object(),
                *req = json_object_new_array();
    json_object_object_add(s, "type", json_object_new_string("object"));
    for (size_t i = 0; i < res->ncols; i++) {
        const struct column *c = &res->cols[i];
        if (!(c->flags & flags) || (c->flags & COL_HIDDEN))
            continue;
        json_object_object_add(props, c->name, schema_of(c));
        if (required && (c->flags & COL_REQUIRED))
            json_object_array_add(req, json_object_new_string(c->name));
    }
    json_object_object_add(s, "properties", props);
    if (json_object_array_length(req))
        json_object_object_add(s, "required", req);
    else
        json_object_put(req);
    if (flags & (COL_ADD | COL_EDIT))
        json_object_object_add(s, "additionalProperties", json_object_new_boolean(0));
    return s;
}

static json_object *ref(const char *name)
{
    json_object *o = json_object_new_object();
    char path[160];
    snprintf(path, sizeof(path), "#/components/schemas/%s", name);
    json_object_object_add(o, "$ref", json_object_new_string(path));
    return o;
}

static json_object *operation(const char *summary, const char *tag, json_object *body_schema,
                              bool id_param, bool form_data)
{
    json_object *op = json_object_new_object(), *tags = json_object_new_array(),
                *resps = json_object_new_object(), *ok = json_object_new_object(),
                *params = json_object_new_array();
    json_object_object_add(op, "summary", json_object_new_string(summary));
    json_object_array_add(tags, json_object_new_string(tag));
    json_object_object_add(op, "tags", tags);
    if (id_param) {
        json_object *p = json_object_new_object(), *s = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string("id"));
        json_object_object_add(p, "in", json_object_new_string("path"));
        json_object_object_add(p, "required", json_object_new_boolean(1));
        json_object_object_add(s, "type", json_object_new_string("integer"));
        json_object_object_add(p, "schema", s);
        json_object_array_add(params, p);
    }
    if (form_data) {
        json_object *p = json_object_new_object(), *s = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string("form_data"));
        json_object_object_add(p, "in", json_object_new_string("query"));
        json_object_object_add(p, "description",
                               json_object_new_string("JSON: filters [{col, opr, value}], page, "
                                                      "page_size, order_column, order_direction, "
                                                      "columns"));
        json_object_object_add(s, "type", json_object_new_string("string"));
        json_object_object_add(p, "schema", s);
        json_object_array_add(params, p);
    }
    if (json_object_array_length(params))
        json_object_object_add(op, "parameters", params);
    else
        json_object_put(params);
    if (body_schema) {
        json_object *rb = json_object_new_object(), *content = json_object_new_object(),
                    *mt = json_object_new_object();
        json_object_object_add(mt, "schema", body_schema);
        json_object_object_add(content, "application/json", mt);
        json_object_object_add(rb, "content", content);
        json_object_object_add(rb, "required", json_object_new_boolean(1));
        json_object_object_add(op, "requestBody", rb);
    }
    json_object_object_add(ok, "description",
                           json_object_new_string("{status, message, result} envelope"));
    json_object_object_add(resps, "200", ok);
    json_object_object_add(op, "responses", resps);
    return op;
}

enum err info_openapi(struct ctx *cx)
{
    json_object *doc = json_object_new_object(), *info = json_object_new_object(),
                *paths = json_object_new_object(), *comps = json_object_new_object(),
                *schemas = json_object_new_object(), *sec = json_object_new_object(),
                *bearer = json_object_new_object(), *secreq = json_object_new_array(),
                *secitem = json_object_new_object();

    json_object_object_add(doc, "openapi", json_object_new_string("3.0.3"));
    json_object_object_add(info, "title", json_object_new_string("Cube API"));
    json_object_object_add(info, "version", json_object_new_string(CUBE_VERSION));
    json_object_object_add(doc, "info", info);
    for (size_t i = 0; i < resources_count; i++) {
        const struct resource *r = resources[i];
        const char *in = arena_printf(cx->arena, "%s_in", r->view);
        const char *patch = arena_printf(cx->arena, "%s_patch", r->view);
        json_object *coll = json_object_new_object(), *item = json_object_new_object(),
                    *inf = json_object_new_object();
        json_object_object_add(schemas, r->view, model_schema(r, COL_SHOW | COL_LIST, false));
        if (r->ops & OP_ADD)
            json_object_object_add(schemas, in, model_schema(r, COL_ADD, true));
        if (r->ops & OP_EDIT)
            json_object_object_add(schemas, patch, model_schema(r, COL_EDIT, false));
        if (r->ops & OP_LIST)
            json_object_object_add(coll, "get", operation("List", r->view, NULL, false, true));
        if (r->ops & OP_ADD)
            json_object_object_add(coll, "post",
                                   operation("Create", r->view, ref(in), false, false));
        if (r->ops & OP_SHOW)
            json_object_object_add(item, "get", operation("Show", r->view, NULL, true, false));
        if (r->ops & OP_EDIT)
            json_object_object_add(item, "put",
                                   operation("Update (partial)", r->view, ref(patch), true, false));
        if (r->ops & OP_DELETE)
            json_object_object_add(item, "delete", operation("Delete", r->view, NULL, true, false));
        json_object_object_add(
            inf, "get", operation("Metadata for generic pages", r->view, NULL, false, false));
        json_object_object_add(paths, arena_printf(cx->arena, "/api/%s/", r->view), coll);
        json_object_object_add(paths, arena_printf(cx->arena, "/api/%s/{id}", r->view), item);
        json_object_object_add(paths, arena_printf(cx->arena, "/api/%s/_info", r->view), inf);
    }
    json_object_object_add(
        paths, "/api/login",
        operation("Log in: {username, password} -> {token}", "auth", NULL, false, false));
    json_object_object_add(doc, "paths", paths);
    json_object_object_add(bearer, "type", json_object_new_string("http"));
    json_object_object_add(bearer, "scheme", json_object_new_string("bearer"));
    json_object_object_add(sec, "bearer", bearer);
    json_object_object_add(comps, "securitySchemes", sec);
    json_object_object_add(comps, "schemas", schemas);
    json_object_object_add(doc, "components", comps);
    json_object_object_add(secitem, "bearer", json_object_new_array());
    json_object_array_add(secreq, secitem);
    json_object_object_add(doc, "security", secreq);
    resp_json(cx, 200, doc);
    return ERR_OK;
}

/* ---- menu ------------------------------------------------------------------------------ */

enum err info_menu(struct ctx *cx)
{
    json_object *menu = json_object_new_array();

    for (size_t i = 0; i < resources_count; i++) {
        const struct resource *r = resources[i];
        json_object *group = NULL, *children, *item;
        if (!r->menu.group || !crud_allowed(cx, r, OP_LIST))
            continue;
        for (size_t k = 0; k < json_object_array_length(menu); k++) {
            json_object *g = json_object_array_get_idx(menu, k);
            if (!strcmp(js_get_str(g, "name"), r->menu.group))
                group = g;
        }
        if (!group) {
            group = json_object_new_object();
            json_object_object_add(group, "name", json_object_new_string(r->menu.group));
            json_object_object_add(group, "title", json_object_new_string(r->menu.group_title));
            json_object_object_add(group, "icon", json_object_new_string(""));
            json_object_object_add(group, "menu_type", json_object_new_string("group"));
            json_object_object_add(group, "children", json_object_new_array());
            json_object_array_add(menu, group);
        }
        children = js_get(group, "children");
        item = json_object_new_object();
        json_object_object_add(item, "name", json_object_new_string(r->view));
        json_object_object_add(item, "title", json_object_new_string(r->menu.title));
        json_object_object_add(item, "icon", js_new_str(r->menu.icon));
        json_object_object_add(item, "menu_type", json_object_new_string("api"));
        json_object_object_add(item, "url",
                               js_new_str(arena_printf(cx->arena, "/%s/api/", r->view)));
        json_object_object_add(item, "related", json_object_new_array());
        json_object_array_add(children, item);
    }
    resp_json(cx, 200, menu);
    return ERR_OK;
}
