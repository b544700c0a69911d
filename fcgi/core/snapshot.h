/*
 * snapshot.h — what a run executes, frozen when the run is created: the
 * pipeline's tasks in topological order with their upstreams and the exact
 * argv, environment, working directory, image, replicas, retries, timeout and
 * resources rendered for this run.  Editing the pipeline afterwards never
 * changes a run in flight.  Shared by the API (manual runs, backfills) and the
 * scheduler (cron ticks).
 *
 * Document:
 *   {"pipeline": {"id", "name", "project"},
 *    "order": ["a", "b", ...],
 *    "tasks": {"a": {"task_id", "template", "upstream": [...], "skip", "retry", "timeout",
 *                    "argv": [...], "env": ["K=V", ...], "workdir", "image", "replicas",
 *                    "resources": {"cpu", "memory", "gpu"}}, ...}}
 */
#ifndef CUBE_SNAPSHOT_H
#define CUBE_SNAPSHOT_H

#include <json-c/json.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "core/render.h"
#include "core/attr.h"

/* Builds the snapshot of pipeline_id for a run described by rc (run_id, execution_date,
 * runner; creator defaults to the pipeline's).  ERR_NOT_FOUND for no such pipeline,
 * ERR_UNPROCESSABLE with *err naming the problem (a cycle, a task that cannot be rendered,
 * an empty pipeline), ERR_UNAVAILABLE/ERR_DB for the database.  The result is owned by a. */
enum err snapshot_build(struct db *db, struct arena *a, int64_t pipeline_id,
                        const struct render_ctx *rc, json_object **out,
                        const char **err) WARN_UNUSED;

#endif
