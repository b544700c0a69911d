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

#include <stddef.h>
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

#endif
