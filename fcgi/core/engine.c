/*
 * engine.c — the engine verbs, dispatched on the kind of engine.
 *
 * A switch rather than a table of function pointers: there are three engines,
 * each verb is one line per engine, and the compiler checks every call.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/engine.h"
#include "core/js.h"
#include "core/k8s.h"
#include "core/slurm.h"
#include "core/common.h"

struct engine {
    enum engine_kind kind;
    union {
        struct executor *local; /* not owned */
        struct slurm *slurm;
        struct k8s *k8s;
    } u;
};

struct engine *engine_local(struct executor *x)
{
    struct engine *g;

    if (!x || !(g = calloc(1, sizeof(*g))))
        return NULL;
    g->kind = ENGINE_LOCAL;
    g->u.local = x;
    return g;
}

struct engine *engine_open(enum engine_kind kind, const struct engine_conf *c, char *err,
                           size_t errlen)
{
    struct engine *g = calloc(1, sizeof(*g));
    bool ok = false;

    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->kind = kind;
    switch (kind) {
    case ENGINE_SLURM:
        ok = (g->u.slurm = slurm_open(c, err, errlen)) != NULL;
        break;
    case ENGINE_KUBERNETES:
        ok = (g->u.k8s = k8s_open(c, err, errlen)) != NULL;
        break;
    case ENGINE_LOCAL:
        snprintf(err, errlen, "the local engine is opened with engine_local");
        break;
    }
    if (!ok) {
        free(g);
        return NULL;
    }
    return g;
}

void engine_close(struct engine *g)
{
    if (!g)
        return;
    if (g->kind == ENGINE_SLURM)
        slurm_close(g->u.slurm);
    else if (g->kind == ENGINE_KUBERNETES)
        k8s_close(g->u.k8s);
    free(g);
}

enum engine_kind engine_kind_of(const struct engine *g)
{
    return g->kind;
}

static const char *const kind_names[] = {
    [ENGINE_LOCAL] = "local", [ENGINE_SLURM] = "slurm", [ENGINE_KUBERNETES] = "kubernetes"};

const char *engine_kind_name(enum engine_kind k)
{
    return (size_t)k < ARRAY_LEN(kind_names) ? kind_names[k] : "unknown";
}

bool engine_kind_parse(const char *s, enum engine_kind *k)
{
    for (size_t i = 0; s && i < ARRAY_LEN(kind_names); i++)
        if (!strcmp(s, kind_names[i])) {
            *k = (enum engine_kind)i;
            return true;
        }
    return false;
}

const char *engine_last_error(const struct engine *g)
{
    switch (g->kind) {
    case ENGINE_SLURM:
        return slurm_last_error(g->u.slurm);
    case ENGINE_KUBERNETES:
        return k8s_last_error(g->u.k8s);
    case ENGINE_LOCAL:
        break;
    }
    return "";
}

enum err engine_submit(struct engine *g, const struct exec_spec *spec)
{
    switch (g->kind) {
    case ENGINE_SLURM:
        return slurm_submit(g->u.slurm, spec);
    case ENGINE_KUBERNETES:
        return k8s_submit(g->u.k8s, spec);
    case ENGINE_LOCAL:
        break;
    }
    return exec_submit(g->u.local, spec);
}

enum err engine_status(struct engine *g, struct arena *a, const char *name, struct exec_status *st)
{
    switch (g->kind) {
    case ENGINE_SLURM:
        return slurm_status(g->u.slurm, a, name, st);
    case ENGINE_KUBERNETES:
        return k8s_status(g->u.k8s, a, name, st);
    case ENGINE_LOCAL:
        break;
    }
    return exec_status(g->u.local, a, name, st);
}

enum err engine_cancel(struct engine *g, const char *name)
{
    switch (g->kind) {
    case ENGINE_SLURM:
        return slurm_cancel(g->u.slurm, name);
    case ENGINE_KUBERNETES:
        return k8s_cancel(g->u.k8s, name);
    case ENGINE_LOCAL:
        break;
    }
    return exec_cancel(g->u.local, name);
}

enum err engine_log(struct engine *g, struct arena *a, const char *name, int64_t offset, size_t max,
                    const char **data, size_t *len, int64_t *next, bool *eof)
{
    switch (g->kind) {
    case ENGINE_SLURM:
        return slurm_log(g->u.slurm, a, name, offset, max, data, len, next, eof);
    case ENGINE_KUBERNETES:
        return k8s_log(g->u.k8s, a, name, offset, max, data, len, next, eof);
    case ENGINE_LOCAL:
        break;
    }
    return exec_log(g->u.local, a, name, offset, max, data, len, next, eof);
}

enum err engine_remove(struct engine *g, const char *name, bool keep_log)
{
    switch (g->kind) {
    case ENGINE_SLURM:
        return slurm_remove(g->u.slurm, name, keep_log);
    case ENGINE_KUBERNETES:
        return k8s_remove(g->u.k8s, name, keep_log);
    case ENGINE_LOCAL:
        break;
    }
    return exec_remove(g->u.local, name, keep_log);
}

enum err engine_check(struct engine *g, struct arena *a, json_object **report)
{
    json_object *o;
    long cores, pages, page;

    switch (g->kind) {
    case ENGINE_SLURM:
        return slurm_check(g->u.slurm, a, report);
    case ENGINE_KUBERNETES:
        return k8s_check(g->u.k8s, a, report);
    case ENGINE_LOCAL:
        break;
    }
    cores = sysconf(_SC_NPROCESSORS_ONLN);
    pages = sysconf(_SC_PHYS_PAGES);
    page = sysconf(_SC_PAGESIZE);
    o = js_own(a, json_object_new_object()); /* in a, as the remote engines' reports */
    json_object_object_add(o, "engine", json_object_new_string("local"));
    json_object_object_add(o, "reachable", json_object_new_boolean(1));
    json_object_object_add(o, "cpus", json_object_new_int64(cores > 0 ? cores : 0));
    json_object_object_add(
        o, "memory_bytes",
        json_object_new_int64(pages > 0 && page > 0 ? (int64_t)pages * page : 0));
    json_object_object_add(o, "slots", json_object_new_int64(cfg.exec_slots));
    *report = o;
    return ERR_OK;
}
