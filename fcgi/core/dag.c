/*
 * dag.c — task graph validation and document upkeep.
 *
 * Tasks are numbered by rank, their position in strcmp order, so a binary
 * search maps a name to its node and "ties by name" in Kahn's algorithm is
 * simply "smallest rank first" (a min-heap).  Only when Kahn's algorithm
 * leaves tasks over is there a cycle; Tarjan's SCC algorithm (iterative) then
 * tells which tasks lie on one, and a BFS finds the shortest way around.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dag.h"
#include "core/buf.h"
#include "core/js.h"
#include "core/common.h"

#define NONE SIZE_MAX

struct dag {
    size_t n;
    const char **order; /* names in topological order */
    const char ***up;   /* up[i]: upstream names of order[i], sorted */
    size_t *nup;
};

/* The graph by rank. */
struct graph {
    size_t n;
    const char **name; /* by rank */
    size_t **up;       /* up[r]: upstream ranks of r, ascending and unique */
    size_t *nup;
    size_t *dstart; /* CSR: downstreams of r are down[dstart[r] .. dstart[r + 1]), ascending */
    size_t *down;
};

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int cmp_size(const void *x, const void *y)
{
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    return (a > b) - (a < b);
}

static size_t rank_of(const struct graph *g, const char *s)
{
    size_t lo = 0, hi = g->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s, g->name[mid]);
        if (!c)
            return mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NONE;
}

/* Reads one dag_json entry into g->up[r]; NULL or the error message. */
static const char *parse_entry(struct arena *a, struct graph *g, size_t r, json_object *val)
{
    json_object *ups;
    size_t n, k = 0;

    if (!val)
        return NULL; /* "a": null — no upstream, as cube-studio's editor sometimes wrote */
    if (!json_object_is_type(val, json_type_object))
        return arena_printf(a, "dag_json: task '%s': must be an object {\"upstream\": [...]}",
                            g->name[r]);
    ups = js_get(val, "upstream");
    if (!ups)
        return NULL;
    if (!json_object_is_type(ups, json_type_array))
        return arena_printf(a, "dag_json: task '%s': upstream must be an array of task names",
                            g->name[r]);
    n = json_object_array_length(ups);
    g->up[r] = arena_alloc(a, (n ? n : 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(ups, i);
        const char *s;
        size_t u;

        if (!e || !json_object_is_type(e, json_type_string))
            return arena_printf(a, "dag_json: task '%s': upstream must be an array of task names",
                                g->name[r]);
        s = json_object_get_string(e);
        u = rank_of(g, s);
        if (u == NONE)
            return arena_printf(a, "dag_json: task '%s' depends on unknown task '%s'", g->name[r],
                                s);
        if (u == r)
            return arena_printf(a, "dag_json: task '%s' depends on itself", g->name[r]);
        g->up[r][k++] = u;
    }
    qsort(g->up[r], k, sizeof(size_t), cmp_size);
    n = k;
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || g->up[r][k - 1] != g->up[r][i])
            g->up[r][k++] = g->up[r][i];
    g->nup[r] = k;
    return NULL;
}

static const char *parse_doc(struct arena *a, struct graph *g, json_object *dag_json)
{
    if (!dag_json)
        return NULL;
    if (!json_object_is_type(dag_json, json_type_object))
        return "dag_json: must be an object mapping task names to {\"upstream\": [...]}";
    json_object_object_foreach(dag_json, key, val)
    {
        size_t r = rank_of(g, key);
        const char *err;

        if (r == NONE)
            return arena_printf(a, "dag_json: '%s' is not a task of this pipeline", key);
        err = parse_entry(a, g, r, val);
        if (err)
            return err;
    }
    return NULL;
}

/* Downstream lists from the upstream lists; filling by ascending r keeps each list ascending. */
static void build_down(struct arena *a, struct graph *g)
{
    size_t *fill = arena_zalloc(a, (g->n + 1) * sizeof(size_t));
    size_t e = 0;

    g->dstart = arena_zalloc(a, (g->n + 1) * sizeof(size_t));
    for (size_t r = 0; r < g->n; r++) {
        for (size_t i = 0; i < g->nup[r]; i++)
            g->dstart[g->up[r][i] + 1]++;
        e += g->nup[r];
    }
    for (size_t r = 0; r < g->n; r++)
        g->dstart[r + 1] += g->dstart[r];
    g->down = arena_alloc(a, (e ? e : 1) * sizeof(size_t));
    for (size_t r = 0; r < g->n; r++)
        for (size_t i = 0; i < g->nup[r]; i++) {
            size_t u = g->up[r][i];
            g->down[g->dstart[u] + fill[u]++] = r;
        }
}

/* A binary min-heap of ranks. */
static void heap_push(size_t *h, size_t *n, size_t v)
{
    size_t i = (*n)++;

    while (i && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static size_t heap_pop(size_t *h, size_t *n)
{
    size_t top = h[0], last = h[--*n], i = 0;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= last)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = last;
    return top;
}

/* Kahn's algorithm; returns how many tasks were ordered (< n means a cycle). */
static size_t kahn(struct arena *a, const struct graph *g, size_t *order)
{
    size_t *indeg = arena_alloc(a, (g->n ? g->n : 1) * sizeof(size_t));
    size_t *heap = arena_alloc(a, (g->n ? g->n : 1) * sizeof(size_t));
    size_t nheap = 0, k = 0;

    for (size_t r = 0; r < g->n; r++) {
        indeg[r] = g->nup[r];
        if (!indeg[r])
            heap_push(heap, &nheap, r);
    }
    while (nheap) {
        size_t r = heap_pop(heap, &nheap);
        order[k++] = r;
        for (size_t e = g->dstart[r]; e < g->dstart[r + 1]; e++)
            if (!--indeg[g->down[e]])
                heap_push(heap, &nheap, g->down[e]);
    }
    return k;
}

/*
 * Tarjan's strongly connected components without recursion: frames[] is the
 * call stack (node, next edge).  Fills comp[] and returns, per component, its
 * size in csize[] (indexed by component id).
 */
static void tarjan(struct arena *a, const struct graph *g, size_t *comp, size_t *csize)
{
    size_t n = g->n ? g->n : 1;
    size_t *idx = arena_alloc(a, n * sizeof(size_t)), *low = arena_alloc(a, n * sizeof(size_t));
    size_t *stack = arena_alloc(a, n * sizeof(size_t)), *fnode = arena_alloc(a, n * sizeof(size_t));
    size_t *fedge = arena_alloc(a, n * sizeof(size_t));
    unsigned char *on = arena_zalloc(a, n);
    size_t counter = 0, sp = 0, fp = 0, ncomp = 0;

    for (size_t v = 0; v < g->n; v++)
        idx[v] = NONE;
    for (size_t root = 0; root < g->n; root++) {
        if (idx[root] != NONE)
            continue;
        idx[root] = low[root] = counter++;
        stack[sp++] = root;
        on[root] = 1;
        fnode[fp] = root;
        fedge[fp++] = g->dstart[root];
        while (fp) {
            size_t u = fnode[fp - 1];
            if (fedge[fp - 1] < g->dstart[u + 1]) {
                size_t w = g->down[fedge[fp - 1]++];
                if (idx[w] == NONE) {
                    idx[w] = low[w] = counter++;
                    stack[sp++] = w;
                    on[w] = 1;
                    fnode[fp] = w;
                    fedge[fp++] = g->dstart[w];
                } else if (on[w] && idx[w] < low[u]) {
                    low[u] = idx[w];
                }
                continue;
            }
            fp--;
            if (low[u] == idx[u]) {
                size_t w;
                csize[ncomp] = 0;
                do {
                    w = stack[--sp];
                    on[w] = 0;
                    comp[w] = ncomp;
                    csize[ncomp]++;
                } while (w != u);
                ncomp++;
            }
            if (fp && low[u] < low[fnode[fp - 1]])
                low[fnode[fp - 1]] = low[u];
        }
    }
}

/* "dag_json: cycle s -> ... -> s" for the alphabetically first task on any cycle. */
static const char *cycle_message(struct arena *a, const struct graph *g)
{
    size_t n = g->n;
    size_t *comp = arena_alloc(a, n * sizeof(size_t)), *csize = arena_alloc(a, n * sizeof(size_t));
    size_t *parent = arena_alloc(a, n * sizeof(size_t)),
           *queue = arena_alloc(a, n * sizeof(size_t));
    size_t *path = arena_alloc(a, n * sizeof(size_t));
    size_t s = NONE, last = NONE, qh = 0, qt = 0, len = 0;
    struct buf b;

    tarjan(a, g, comp, csize);
    /* Self-loops were refused earlier, so a task is on a cycle iff its component has two or more.
     */
    for (size_t v = 0; v < n && s == NONE; v++)
        if (csize[comp[v]] >= 2)
            s = v;
    ASSERT(s != NONE);

    /* BFS inside s's component, neighbours in name order: the first edge back to s closes the
     * shortest cycle through s. */
    for (size_t v = 0; v < n; v++)
        parent[v] = NONE;
    parent[s] = s;
    queue[qt++] = s;
    while (qh < qt && last == NONE) {
        size_t u = queue[qh++];
        for (size_t e = g->dstart[u]; e < g->dstart[u + 1]; e++) {
            size_t w = g->down[e];
            if (w == s) {
                last = u;
                break;
            }
            if (comp[w] == comp[s] && parent[w] == NONE) {
                parent[w] = u;
                queue[qt++] = w;
            }
        }
    }
    ASSERT(last != NONE);
    for (size_t v = last; v != s; v = parent[v])
        path[len++] = v;

    buf_init(&b, a, (size_t)1 << 30);
    buf_adds(&b, "dag_json: cycle ");
    buf_adds(&b, g->name[s]);
    while (len)
        buf_addf(&b, " -> %s", g->name[path[--len]]);
    buf_addf(&b, " -> %s", g->name[s]);
    return buf_err(&b) == ERR_OK ? buf_str(&b) : "dag_json: cycle";
}

struct dag *dag_build(struct arena *a, json_object *dag_json, const char *const *tasks,
                      size_t ntasks, const char **err)
{
    struct graph g = {0};
    struct dag *d = NULL;
    size_t *order, k;
    size_t n1 = ntasks ? ntasks : 1;

    *err = NULL;
    g.n = ntasks;
    g.name = arena_alloc(a, n1 * sizeof(*g.name));
    for (size_t i = 0; i < ntasks; i++)
        g.name[i] = arena_strdup(a, tasks[i]);
    qsort(g.name, ntasks, sizeof(*g.name), cmp_str);
    for (size_t i = 1; i < ntasks; i++)
        if (!strcmp(g.name[i - 1], g.name[i])) {
            *err = arena_printf(a, "dag_json: task name '%s' appears twice", g.name[i]);
            goto out;
        }
    g.up = arena_zalloc(a, n1 * sizeof(*g.up));
    g.nup = arena_zalloc(a, n1 * sizeof(*g.nup));
    *err = parse_doc(a, &g, dag_json);
    if (*err)
        goto out;
    build_down(a, &g);

    order = arena_alloc(a, n1 * sizeof(size_t));
    k = kahn(a, &g, order);
    if (k < ntasks) {
        *err = cycle_message(a, &g);
        goto out;
    }

    d = arena_alloc(a, sizeof(*d));
    d->n = ntasks;
    d->order = arena_alloc(a, n1 * sizeof(*d->order));
    d->up = arena_alloc(a, n1 * sizeof(*d->up));
    d->nup = arena_alloc(a, n1 * sizeof(*d->nup));
    for (size_t i = 0; i < ntasks; i++) {
        size_t r = order[i];
        d->order[i] = g.name[r];
        d->nup[i] = g.nup[r];
        d->up[i] = arena_alloc(a, (g.nup[r] ? g.nup[r] : 1) * sizeof(const char *));
        for (size_t j = 0; j < g.nup[r]; j++)
            d->up[i][j] = g.name[g.up[r][j]];
    }
out:
    return d;
}

size_t dag_count(const struct dag *d)
{
    return d->n;
}

const char *dag_task(const struct dag *d, size_t i)
{
    ASSERT(i < d->n);
    return d->order[i];
}

size_t dag_upstream(const struct dag *d, size_t i, const char *const **names)
{
    ASSERT(i < d->n);
    *names = d->up[i];
    return d->nup[i];
}

json_object *dag_to_json(const struct dag *d)
{
    json_object *doc = json_object_new_object();

    for (size_t i = 0; i < d->n; i++) {
        json_object *entry = json_object_new_object(), *ups = json_object_new_array();
        for (size_t j = 0; j < d->nup[i]; j++)
            json_object_array_add(ups, js_new_str(d->up[i][j]));
        json_object_object_add(entry, "upstream", ups);
        json_object_object_add(doc, d->order[i], entry);
    }
    return doc;
}

/* ---- document upkeep ---------------------------------------------------------------------- */

/* json-c's deep copy only fails on OOM, which is fatal for us anyway; NULL stays NULL (null). */
static json_object *copy(json_object *o)
{
    json_object *c = NULL;

    if (!o)
        return NULL;
    ASSERT(json_object_deep_copy(o, &c, NULL) == 0);
    return c;
}

static bool is_str(json_object *o, const char *s)
{
    return o && json_object_is_type(o, json_type_string) && !strcmp(json_object_get_string(o), s);
}

static bool array_has_str(json_object *arr, const char *s)
{
    size_t n = json_object_array_length(arr);

    for (size_t i = 0; i < n; i++)
        if (is_str(json_object_array_get_idx(arr, i), s))
            return true;
    return false;
}

/* The entry's upstream array, or NULL when the entry has another shape (left alone). */
static json_object *upstream_of(json_object *entry)
{
    json_object *ups = js_get(entry, "upstream");
    return ups && json_object_is_type(ups, json_type_array) ? ups : NULL;
}

/*
 * Rewrites entry's upstream list: `from` becomes `to` (to == NULL: dropped),
 * and a renamed name already present is not added twice.  Anything that is not
 * a string is kept as it was.
 */
static void upstream_rewrite(json_object *entry, const char *from, const char *to)
{
    json_object *ups = upstream_of(entry), *nu;
    size_t n;

    if (!ups)
        return;
    nu = json_object_new_array();
    n = json_object_array_length(ups);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(ups, i);
        if (is_str(e, from)) {
            if (to && !array_has_str(nu, to))
                json_object_array_add(nu, json_object_new_string(to));
            continue;
        }
        if (to && is_str(e, to) && array_has_str(nu, to))
            continue;
        json_object_array_add(nu, copy(e));
    }
    /* Replacing an existing key keeps its position. */
    json_object_object_add(entry, "upstream", nu);
}

/* Adds src's upstream names missing from dst's (the merge when a rename hits an existing key). */
static void upstream_merge(json_object *dst, json_object *src)
{
    json_object *du = upstream_of(dst), *su = upstream_of(src);
    size_t n;

    if (!su || !dst || !json_object_is_type(dst, json_type_object))
        return;
    if (!du) {
        json_object_object_add(dst, "upstream", copy(su));
        return;
    }
    n = json_object_array_length(su);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(su, i);
        if (e && json_object_is_type(e, json_type_string) &&
            !array_has_str(du, json_object_get_string(e)))
            json_object_array_add(du, copy(e));
    }
}

json_object *dag_json_rename(json_object *dag_json, const char *from, const char *to)
{
    json_object *out;

    if (!dag_json)
        return json_object_new_object();
    if (!json_object_is_type(dag_json, json_type_object))
        return copy(dag_json);
    out = json_object_new_object();
    json_object_object_foreach(dag_json, key, val)
    {
        const char *k = strcmp(key, from) ? key : to;
        json_object *entry = copy(val), *prev = NULL;

        upstream_rewrite(entry, from, to);
        if (json_object_object_get_ex(out, k, &prev)) {
            upstream_merge(prev, entry);
            json_object_put(entry);
            continue;
        }
        json_object_object_add(out, k, entry);
    }
    return out;
}

json_object *dag_json_remove(json_object *dag_json, const char *name)
{
    json_object *out;

    if (!dag_json)
        return json_object_new_object();
    if (!json_object_is_type(dag_json, json_type_object))
        return copy(dag_json);
    out = json_object_new_object();
    json_object_object_foreach(dag_json, key, val)
    {
        json_object *entry;

        if (!strcmp(key, name))
            continue;
        entry = copy(val);
        upstream_rewrite(entry, name, NULL);
        json_object_object_add(out, key, entry);
    }
    return out;
}

/* Node ids are strings in cube-studio's documents; older ones may hold a number. */
static bool id_is(json_object *v, const char *id)
{
    char num[32];

    if (!v)
        return false;
    if (json_object_is_type(v, json_type_string))
        return !strcmp(json_object_get_string(v), id);
    if (json_object_is_type(v, json_type_int)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(v));
        return !strcmp(num, id);
    }
    return false;
}

static bool is_object(json_object *o)
{
    return o && json_object_is_type(o, json_type_object);
}

static bool is_edge(json_object *el)
{
    return is_object(el) && js_get(el, "source") && js_get(el, "target");
}

static bool edge_touches(json_object *el, const char *id)
{
    return id_is(js_get(el, "source"), id) || id_is(js_get(el, "target"), id);
}

static bool node_is(json_object *el, const char *id)
{
    return is_object(el) && !is_edge(el) && id_is(js_get(el, "id"), id);
}

/* Deletes, back to front, the elements of arr that match. */
static void array_drop(json_object *arr, const char *id, bool edges, bool nodes)
{
    size_t n;

    if (!arr || !json_object_is_type(arr, json_type_array))
        return;
    n = json_object_array_length(arr);
    while (n--) {
        json_object *el = json_object_array_get_idx(arr, n);
        if ((nodes && node_is(el, id)) || (edges && is_object(el) && edge_touches(el, id)))
            json_object_array_del_idx(arr, n, 1);
    }
}

json_object *dag_expand_remove(json_object *expand, const char *task_id)
{
    json_object *out;

    if (!expand)
        return json_object_new_array();
    out = copy(expand);
    if (json_object_is_type(out, json_type_array)) {
        /* Mixed react-flow elements: an element with source and target is an edge. */
        size_t n = json_object_array_length(out);
        while (n--) {
            json_object *el = json_object_array_get_idx(out, n);
            if (node_is(el, task_id) || (is_edge(el) && edge_touches(el, task_id)))
                json_object_array_del_idx(out, n, 1);
        }
    } else if (is_object(out)) {
        array_drop(js_get(out, "nodes"), task_id, false, true);
        array_drop(js_get(out, "edges"), task_id, true, false);
    }
    return out;
}

static void node_rename(json_object *node, const char *to)
{
    json_object *data = js_get(node, "data");
    const char *old, *label;

    if (!is_object(data))
        return;
    old = js_get_str(data, "name");
    label = js_get_str(data, "label");
    /* Compare before the first write: the old name's storage belongs to the replaced value. */
    if (label && old && !strcmp(label, old))
        json_object_object_add(data, "label", json_object_new_string(to));
    json_object_object_add(data, "name", json_object_new_string(to));
}

static void nodes_rename(json_object *arr, const char *task_id, const char *to)
{
    size_t n;

    if (!arr || !json_object_is_type(arr, json_type_array))
        return;
    n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *el = json_object_array_get_idx(arr, i);
        if (node_is(el, task_id))
            node_rename(el, to);
    }
}

json_object *dag_expand_rename(json_object *expand, const char *task_id, const char *to)
{
    json_object *out;

    if (!expand)
        return json_object_new_array();
    out = copy(expand);
    if (json_object_is_type(out, json_type_array))
        nodes_rename(out, task_id, to);
    else if (is_object(out))
        nodes_rename(js_get(out, "nodes"), task_id, to);
    return out;
}
