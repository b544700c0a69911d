/*
 * cluster.h — from a row of the cluster table to an open engine.
 *
 * Credentials are sealed in the table (core/secretbox with CUBE_SECRET_KEY) and
 * are unsealed here only, into memory the engine copies.  Cluster id 0 is this
 * machine: the local executor.  A project picks its cluster by name in its
 * expand ({"cluster": "<name>"}); CLUSTER_OF_PROJECT_SQL turns that into an id.
 */
#ifndef CUBE_CLUSTER_H
#define CUBE_CLUSTER_H

#include <stdint.h>
#include "core/arena.h"
#include "core/db.h"
#include "core/engine.h"
#include "core/err.h"
#include "core/exec.h"
#include "core/attr.h"

/* An SQL expression giving the cluster id for a project row aliased `pr` (0: local). */
#define CLUSTER_OF_PROJECT_SQL                                                                   \
    "COALESCE((SELECT c.\"id\" FROM \"cluster\" c WHERE c.\"name\" = pr.\"expand\"->>'cluster' " \
    "AND c.\"engine\" <> 'local'), 0)"

/* The engines of every cluster a daemon talks to.  Not thread-safe. */
struct cluster_set;

struct cluster_set *cluster_set_new(struct executor *local);
void cluster_set_free(struct cluster_set *s);
/* Re-reads the table (one small query) and reopens the engines of rows that changed since the
 * last refresh (changed_on).  Call once per pass; errors keep the engines already open. */
enum err cluster_set_refresh(struct cluster_set *s, struct db *db, struct arena *a) WARN_UNUSED;
/* The engine of cluster id (0: local) in *out.  ERR_NOT_FOUND when the cluster is gone,
 * ERR_UNAVAILABLE when its engine cannot be opened (bad endpoint, credentials that do not
 * unseal); *why (in a) says which. */
enum err cluster_set_engine(struct cluster_set *s, struct arena *a, int64_t id, struct engine **out,
                            const char **why) WARN_UNUSED;

/* One cluster, for one request: *out is the caller's to engine_close().  ERR_NOT_FOUND when
 * there is no such cluster; ERR_UNPROCESSABLE with *why when its engine cannot be opened. */
enum err cluster_open(struct db *db, struct arena *a, int64_t id, struct executor *local,
                      struct engine **out, const char **why) WARN_UNUSED;

/* The executor column of task_instance and task_attempt: "local" or "cluster:<id>". */
const char *cluster_executor_name(struct arena *a, int64_t id);
/* Its cluster id (0 for "local"); false for anything else. */
bool cluster_executor_id(const char *executor, int64_t *id) WARN_UNUSED;

/* Standard base64 (RFC 4648 §4, padding optional) into a; false on anything else. */
bool cluster_b64_decode(struct arena *a, const char *s, unsigned char **out,
                        size_t *len) WARN_UNUSED;

#endif
