/*
 * snapshot.h — what a run executes, frozen when the run is created: the
 * pipeline's tasks in topological order with their upstreams and the exact
 * argv, environment, working directory, image, replicas, retries, timeout and
 * resources rendered for this run.  Editing the pipeline afterwards never
 * changes a run in flight.  Shared by the API (manual runs, backfills) and the
 * scheduler (cron ticks).
 *
 * Document:
 *   {"pipeline": {"id", "name", "project", "creator"}, "runner",
 *    "order": ["a", "b", ...],
 *    "tasks": {"a": {"task_id", "template", "upstream": [...], "skip", "retry", "timeout",
 *                    "argv": [...], "env": ["K=V", ...], "workdir", "image", "replicas",
 *                    "resources": {"cpu", "memory", "gpu"},
 *                    "volume_mount", "node_selector" (when not empty)}, ...}}
 *
 * "env" is the rendered environment without the KFJ_* block (render.h): the block is made of
 * the document's own fields and the run's id and execution date, so it is not stored again
 * for every task of every run; snapshot_kfj gives it back when an attempt is dispatched.
 * Snapshots made before that carry the block in "env" (render_kfj_env keeps it).
 *
 * Two steps, so a scheduler tick over thousands of pipelines loads them all with one query
 * and renders each run without another round trip: snapshot_load (the database) and
 * snapshot_render (pure).  snapshot_build is the two for one pipeline.
 */
#ifndef CUBE_SNAPSHOT_H
#define CUBE_SNAPSHOT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "core/render.h"
#include "core/attr.h"

/* A pipeline as its snapshots are rendered from, shaped like the API's rows:
 *   pipe: {"id", "name", "global_env", "dag_json", "project": {"id", "name"},
 *          "created_by": {"id", "username"}}
 *   rows: [{"task": {"id", "name", "args", "command", "working_dir", "volume_mount",
 *                    "node_selector", "resource_cpu", "resource_memory", "resource_gpu",
 *                    "timeout", "retry", "skip"},
 *           "template": {"id", "name", "entrypoint", "workdir", "env", "args",
 *                        "image": {"name"} | null}}, ...]   (task id order)
 * Owned by the arena given to snapshot_load; any number of runs may be rendered from it. */
struct snapshot_src {
    int64_t pipeline_id;
    json_object *pipe; /* NULL: no such pipeline */
    json_object *rows;
    const char *problem; /* non-NULL: a stored JSON value did not parse (render says so) */
};

/* Loads pipelines ids[0..n) with one query into out[0..n) (same order; duplicates are
 * fine).  ERR_UNAVAILABLE/ERR_DB for the database only: whatever is wrong with one pipeline
 * is reported by snapshot_render for that pipeline, so it never fails the others. */
enum err snapshot_load(struct db *db, struct arena *a, const int64_t *ids, size_t n,
                       struct snapshot_src *out) WARN_UNUSED;

/* The snapshot of a loaded pipeline for a run described by rc (run_id, execution_date,
 * runner; creator defaults to the pipeline's), as JSON text.  No database.  ERR_NOT_FOUND when
 * src has no pipeline, ERR_UNPROCESSABLE with *err naming the problem (a cycle, a task that
 * cannot be rendered, an empty pipeline, src->problem).  The text is owned by a. */
enum err snapshot_render(struct arena *a, const struct snapshot_src *src,
                         const struct render_ctx *rc, const char **out,
                         const char **err) WARN_UNUSED;

/* snapshot_load + snapshot_render for one pipeline. */
enum err snapshot_build(struct db *db, struct arena *a, int64_t pipeline_id,
                        const struct render_ctx *rc, const char **out,
                        const char **err) WARN_UNUSED;

/* The KFJ_* values of snapshot task `task` (its key task_key) of a run: pipeline is the
 * document's "pipeline", runner its "runner"; run_id and execution_date ("YYYY-MM-DD
 * HH:MM:SS", UTC) come from the run row.  Pointers borrow from the arguments or a. */
void snapshot_kfj(struct arena *a, json_object *pipeline, const char *runner, const char *run_id,
                  const char *execution_date, const char *task_key, json_object *task,
                  struct render_kfj *k);

#endif
