/*
 * dag.h — a pipeline's task graph: validation, topological order, and keeping
 * the stored documents consistent when tasks are renamed or deleted.
 *
 * The stored format is cube-studio's: pipeline.dag_json maps a task *name* to
 * {"upstream": [names]}, and pipeline.expand is the editor's react-flow
 * element list.  cube-studio never rejected a cycle (its check compared two
 * None values); Cube refuses one and says which tasks form it.
 *
 * Everything here is pure and iterative: a 2,000-task chain has no recursion
 * depth to overflow.
 */
#ifndef CUBE_DAG_H
#define CUBE_DAG_H

#include <json-c/json.h>
#include <stddef.h>
#include "core/arena.h"
#include "core/attr.h"

struct dag; /* opaque, arena-owned */

/*
 * Validates dag_json (NULL = {}) against the pipeline's task names; a task
 * missing from dag_json is a root.  On error returns NULL and *err (arena)
 * names the first problem, in document order:
 *   "dag_json: 'x' is not a task of this pipeline"
 *   "dag_json: task 'a': upstream must be an array of task names"  (and other shapes)
 *   "dag_json: task 'b' depends on unknown task 'x'"
 *   "dag_json: task 'a' depends on itself"
 *   "dag_json: cycle a -> b -> c -> a"
 * In a cycle message "x -> y" reads like the editor's arrows: y depends on x.
 * The cycle starts at the alphabetically first task that lies on any cycle and
 * is the shortest way back to it.  Keys of an entry other than "upstream" are
 * ignored (and dropped by dag_to_json); a missing or null upstream is [].
 */
struct dag *dag_build(struct arena *a, json_object *dag_json, const char *const *tasks,
                      size_t ntasks, const char **err);
size_t dag_count(const struct dag *d);
/* The i-th task of a deterministic topological order (Kahn, ties by strcmp of the names). */
const char *dag_task(const struct dag *d, size_t i);
/* The upstream names of dag_task(d, i), sorted and de-duplicated; returns their count. */
size_t dag_upstream(const struct dag *d, size_t i, const char *const **names);
/* The normalised document, in topological order: every task, upstreams sorted and unique.
 * A new object; the caller owns it (json_object_put or js_own). */
json_object *dag_to_json(const struct dag *d);

/*
 * Maintenance of stored documents on task rename and delete.  They do not
 * validate: whatever they do not understand is copied unchanged.  Each returns
 * a new object the caller owns; the input is not modified.
 */
/* Renames key `from` and every upstream entry `from` (merging if `to` already exists). */
json_object *dag_json_rename(json_object *dag_json, const char *from, const char *to);
/* Drops task `name` and removes it from every upstream list (its downstreams lose the edge). */
json_object *dag_json_remove(json_object *dag_json, const char *name);
/*
 * expand is either a react-flow element array (nodes and edges mixed; an edge
 * has "source" and "target") or {"nodes": [...], "edges": [...]}; the shape is
 * kept.  Node ids and edge ends are task ids as strings (numbers are compared
 * by their decimal text).  NULL gives [].
 */
/* Drops the node of task_id and every edge touching it. */
json_object *dag_expand_remove(json_object *expand, const char *task_id);
/* Sets the node's data.name to `to`, and data.label too when it equalled the old name. */
json_object *dag_expand_rename(json_object *expand, const char *task_id, const char *to);

#endif
