/*
 * engine.h — what every remote execution engine (Slurm, Kubernetes) is told
 * about the cluster it talks to.  A cluster row (cluster_modelview) becomes one
 * of these; the engine's handle keeps copies, so the row may go away.
 *
 * Each engine implements the executor's verbs with the local engine's
 * semantics (exec.h): submit is idempotent under the attempt's deterministic
 * name (an existing job of that name is adopted, never duplicated), status
 * never blocks longer than the configured timeout and reports an unreachable
 * engine as an error rather than as a lost job, cancel returns at once, and
 * log reads from an offset.
 */
#ifndef CUBE_ENGINE_H
#define CUBE_ENGINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/err.h"
#include "core/exec.h"
#include "core/attr.h"

struct engine_conf {
    const char *endpoint; /* base URL: http://127.0.0.1:6820, https://k8s.example:6443 */
    const char *token;    /* a supplied bearer / Slurm JWT token, or NULL */
    const char *key;      /* Slurm: the auth/jwt HS256 key (raw bytes) to mint tokens, or NULL */
    size_t key_len;
    const char *user;   /* Slurm: X-SLURM-USER-NAME and the token's "sun" claim */
    const char *ca_pem; /* Kubernetes: the API server's CA (PEM), or NULL for the system store */
    const char *queue;  /* Slurm partition / Kubernetes namespace */
    const char *shared_dir; /* a directory every node sees (Slurm job cwd and output files) */
    long timeout_ms;        /* per HTTP request; 0 = 5000 */
};

/*
 * One handle over any engine, so the scheduler, the watcher and the API call
 * the same verbs wherever an attempt runs.  The verbs mean what exec.h says;
 * a remote engine adds ERR_UNAVAILABLE (unreachable, timing out, answering
 * garbage: nothing is known, change nothing), ERR_UNAUTH / ERR_FORBIDDEN
 * (credentials) and ERR_UNPROCESSABLE / ERR_BADREQ (the engine refused the
 * job), with engine_last_error() saying why in the engine's words.
 */
enum engine_kind { ENGINE_LOCAL, ENGINE_SLURM, ENGINE_KUBERNETES };

struct engine; /* opaque */

/* The local executor x behind the engine verbs; x stays the caller's. */
struct engine *engine_local(struct executor *x);
/* A remote engine (ENGINE_SLURM or ENGINE_KUBERNETES); NULL with err filled on bad config. */
struct engine *engine_open(enum engine_kind kind, const struct engine_conf *c, char *err,
                           size_t errlen);
void engine_close(struct engine *g);
enum engine_kind engine_kind_of(const struct engine *g);
/* "local", "slurm", "kubernetes"; engine_kind_parse is false for anything else. */
const char *engine_kind_name(enum engine_kind k);
bool engine_kind_parse(const char *s, enum engine_kind *k) WARN_UNUSED;
/* Why the last remote call failed ("" if it did not, or for the local engine). */
const char *engine_last_error(const struct engine *g);

enum err engine_submit(struct engine *g, const struct exec_spec *spec) WARN_UNUSED;
enum err engine_status(struct engine *g, struct arena *a, const char *name,
                       struct exec_status *st) WARN_UNUSED;
enum err engine_cancel(struct engine *g, const char *name) WARN_UNUSED;
enum err engine_log(struct engine *g, struct arena *a, const char *name, int64_t offset, size_t max,
                    const char **data, size_t *len, int64_t *next, bool *eof) WARN_UNUSED;
enum err engine_remove(struct engine *g, const char *name, bool keep_log) WARN_UNUSED;
/* Reachability, version and capacity as a JSON object (in a); the local engine reports the
 * machine's cores, memory and slots. */
enum err engine_check(struct engine *g, struct arena *a, json_object **report) WARN_UNUSED;

#endif
