/*
 * slurm.h — the Slurm executor: task attempts as Slurm batch jobs, through
 * slurmrestd's REST API (openapi/v0.0.38, Slurm 22.05) with libcurl and json-c.
 * It copies the local executor's semantics (exec.h); what differs is below.
 *
 * IDENTITY AND FILES
 *
 * The attempt's deterministic name is the job name.  Each attempt has a
 * directory <shared_dir>/<name>/ on the file system every node sees:
 *   work/   the job's working directory when the spec gives none (a relative
 *           workdir is under it; an absolute one is used as it is)
 *   log     stdout and stderr of the job (and of every rank), written by Slurm
 *   jobid   the Slurm job id, written once the job exists (tmp + rename)
 *   exit    the outcome as JSON, written by the first slurm_status (or submit)
 *           that saw it final: after MinJobAge slurmctld forgets the job, and
 *           this record keeps answering
 *   cancel  marker left by slurm_cancel; a submit that finds it submits nothing
 *   posted  marker that a POST /job/submit of the attempt may have reached
 *           slurmrestd: written and fsynced (with the directory entries) before
 *           every POST.  A submit that created the directory itself and finds no
 *           marker posts without the lookup by name (GET /jobs lists every job
 *           slurmctld remembers: slow); any other submit looks the job up first
 *   ranks/  (replicas > 1) where the first rank to fail leaves its exit code
 *   .lock   flock(2)ed by submit and cancel, so two submitters on one host (or
 *           on a shared file system that supports locks) cannot both submit
 * A job is "ours" only if its name is the attempt name AND its standard_output
 * is our log path: two Cube installations sharing a cluster cannot adopt each
 * other's jobs, and a job id reused after slurmctld lost its state (a cluster
 * started clean) is not mistaken for the old job.
 *
 * SUBMIT is idempotent: an exit record, a jobid whose job is still known, or a
 * job of ours found by name in GET /jobs (slurmctld keeps finished jobs for
 * MinJobAge) is adopted, never submitted again.  A job id whose job has
 * vanished is adopted too (status then says lost): the attempt ran, or may have.
 * The request: the script (exec of the argv; for replicas N > 1, srun over N
 * nodes, below), the attempt name, no_requeue (22.05 ignores "requeue": false,
 * so the undocumented "no_requeue": true is sent), cwd and output file above
 * (stderr goes to the same file), the spec's env as the job's whole
 * environment (PATH defaults to EXEC_DEFAULT_PATH; HOME, when missing, is set
 * by the script from the passwd entry), cpus_per_task = ceil(cpu),
 * memory_per_node = ceil(memory_bytes / MiB), gres gpu[:type]:ceil(gpus),
 * time_limit = ceil((timeout + grace) / 60) minutes, partition = spec->queue,
 * else conf->queue, else the cluster's default.  For replicas N > 1 cpu, memory
 * and gpus are per rank (one rank per node).  image, mounts, selector, isolate
 * and max_procs are ignored: Slurm jobs run on the nodes' own system.
 * A submission slurm refuses (a Slurm error 2000-2999 or a REST parsing error
 * 9000-9099: bad partition, resources over the limit, an unknown gres) gives
 * ERR_UNPROCESSABLE with slurm's message; a job slurm created anyway (22.05
 * answers some refusals with a job id, left pending forever) is cancelled, and
 * an exit record "rejected: ..." is written so that status agrees.
 *
 * DISTRIBUTED (replicas N > 1): ONE job with nodes = tasks = N, one task per
 * node.  Its script sets MASTER_ADDR (unless the env gives it) to the NodeAddr
 * of the first node of the allocation (scontrol), MASTER_PORT (unless given) to
 * 20000 + job id % 20000, WORLD_SIZE = N, and runs
 *   srun --ntasks=N --ntasks-per-node=1 --kill-on-bad-exit=1 [--cpus-per-task]
 * over the argv, each rank with RANK = SLURM_PROCID, LOCAL_RANK = SLURM_LOCALID.
 * As with the local engine, the first rank to fail gives the exit code (srun
 * itself would report the highest, usually a rank it terminated).
 *
 * STATUS (scheduling.md §3.7): exit record, else GET /job/{jobid} (or a lookup
 * by name when there is no jobid file yet):
 *   PENDING, CONFIGURING          → RUNNING, reason "pending: <state_reason>"
 *   RUNNING, COMPLETING, ...      → RUNNING ("running", "running: completing")
 *   COMPLETED                     → SUCCEEDED, exit 0
 *   FAILED, NODE_FAIL, BOOT_FAIL  → FAILED; exit_code and term_signal from the
 *                                   raw wait(2) status Slurm reports
 *   CANCELLED                     → FAILED, cancelled
 *   TIMEOUT, DEADLINE             → FAILED, timed_out
 *   OUT_OF_MEMORY                 → FAILED, oom_killed
 *   PREEMPTED                     → FAILED ("preempted": no_requeue)
 *   unknown to slurmctld (HTTP 500 with error 2017, or not ours) and no exit
 *   record → LOST "lost: job vanished".  A directory without a job: RUNNING
 *   "starting" for 10 s, then LOST; after a cancel, FAILED cancelled.  No
 *   directory: EXEC_ABSENT.
 * An unreachable, timing-out or garbage-answering slurmrestd, and any Slurm
 * error other than 2017 (an expired or wrong token reads as error -1 with a
 * misleading message), is an error return (ERR_UNAVAILABLE; ERR_UNAUTH for a
 * 401 or a supplied token past its exp), never a state: st->state is then
 * meaningless, st->reason and slurm_last_error() say why.  peak_rss_kb, cpu_seconds and pid stay 0
 * (accounting is optional in Slurm and not used).
 *
 * CANCEL leaves the marker, then DELETE /job/{id} (SIGTERM, SIGKILL after the
 * cluster's KillWait).  LOG reads <dir>/log from an offset; *eof once the job
 * is final (an exit record, or a status call that finds it final).  REMOVE
 * deletes a final (or lost) attempt's directory, with keep_log all but log and
 * exit; ERR_CONFLICT while it runs.
 *
 * Tokens: with conf->key, HS256 tokens with claims sun (the user), iat, exp are
 * minted here (SLURM_TOKEN_LIFESPAN_S, renewed a minute before exp); else
 * conf->token is sent as given.  Every request carries X-SLURM-USER-NAME (the
 * user: conf->user, else the supplied token's sun, else "root") and
 * X-SLURM-USER-TOKEN; the job runs as that user.  The attempt directory is
 * made by this process; its log, work/ and ranks/ are given to the job user when
 * we are root and the user exists here.  Otherwise the job user must be able to
 * write them (the same user, or a shared directory with suitable permissions).
 *
 * A handle holds one curl handle (connections are reused) and is not
 * thread-safe: one per thread.  Each HTTP request is bounded by conf->timeout_ms.
 */
#ifndef CUBE_SLURM_H
#define CUBE_SLURM_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/engine.h"
#include "core/err.h"
#include "core/exec.h"
#include "core/attr.h"

struct slurm; /* opaque */

/* Copies what it needs from c.  NULL with a message in err when c is unusable (no endpoint,
 * no token or key, a relative shared_dir, ...).  Contacts nobody: see slurm_check. */
struct slurm *slurm_open(const struct engine_conf *c, char *err, size_t errlen);
void slurm_close(struct slurm *s);
/* Why the last call on s failed ("" after a success); valid until the next call. */
const char *slurm_last_error(const struct slurm *s);

/* ERR_OK when the job exists (new or adopted); ERR_BADREQ for an invalid spec;
 * ERR_UNPROCESSABLE when slurm refused it; ERR_UNAVAILABLE / ERR_UNAUTH, retry later. */
enum err slurm_submit(struct slurm *s, const struct exec_spec *spec) WARN_UNUSED;
enum err slurm_status(struct slurm *s, struct arena *a, const char *name,
                      struct exec_status *st) WARN_UNUSED;
enum err slurm_cancel(struct slurm *s, const char *name) WARN_UNUSED;
/* As exec_log; ERR_NOT_FOUND when the attempt does not exist. */
enum err slurm_log(struct slurm *s, struct arena *a, const char *name, int64_t offset, size_t max,
                   const char **data, size_t *len, int64_t *next, bool *eof) WARN_UNUSED;
enum err slurm_remove(struct slurm *s, const char *name, bool keep_log) WARN_UNUSED;
/*
 * Reachability and capacity: *report = {"reachable", "endpoint", "user", "version",
 * "latency_ms", "nodes", "nodes_up", "cpus", "memory_mb", "partitions": [{"name",
 * "state", "nodes", "cpus", "default"}]} (owned by a).  When slurmrestd cannot be used,
 * *report is {"reachable": false, "endpoint", "error"} and the error is returned too.
 */
enum err slurm_check(struct slurm *s, struct arena *a, json_object **report) WARN_UNUSED;

/*
 * Internals, exposed for the unit tests.
 */
#define SLURM_API "/slurm/v0.0.38"
#define SLURM_TOKEN_LIFESPAN_S 900
#define SLURM_MASTER_PORT_BASE 20000
#define SLURM_ERR_INVALID_JOB_ID 2017 /* ESLURM_INVALID_JOB_ID: unknown or purged */

/* The attempt's directory, log file and the job's working directory (in a); false for an
 * invalid name or a relative workdir that leaves work/. */
struct slurm_paths {
    const char *dir, *log, *workdir;
};
bool slurm_paths(struct arena *a, const char *shared_dir, const struct exec_spec *spec,
                 struct slurm_paths *p);
/* The body of POST /job/submit ({"script", "job"}), owned by a; NULL with *problem set
 * when the spec cannot be expressed (invalid name, empty argv, bad env entry, ...). */
json_object *slurm_job_request(struct arena *a, const char *shared_dir, const char *queue,
                               const struct exec_spec *spec, const char **problem);
/* A job record of GET /job/{id} (one element of "jobs") → state and outcome.  Strings in a. */
void slurm_job_status(struct arena *a, json_object *job, struct exec_status *st);
/* A raw wait(2) status as Slurm reports exit_code: exit code (-1 if signalled) and signal. */
void slurm_wait_status(int64_t raw, int *exit_code, int *term_signal);
/* An HS256 JWT {"sun": user, "iat": now, "exp": now + lifespan} signed with key, in a. */
char *slurm_token_mint(struct arena *a, const void *key, size_t keylen, const char *user,
                       int64_t now, int64_t lifespan);
/* The exp and sun claims of a token, without verifying it (0 / NULL when absent). */
int64_t slurm_token_exp(struct arena *a, const char *token, const char **sun);
/* Classifies an answer of slurmrestd: ERR_OK when errors[] is empty and the status is 2xx;
 * else the error and a message (in a).  *slurm_errno gets the first Slurm error number. */
enum err slurm_answer_error(struct arena *a, long http_status, json_object *body, const char **msg,
                            int *slurm_errno);

#endif
