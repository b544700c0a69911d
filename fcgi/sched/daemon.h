/*
 * daemon.h — the passes of cube-scheduler and cube-watcher, and the loop that
 * runs them.  A pass reads the clock once (sched_now) and makes every decision
 * against it.  Only a task's start and a run's end are stamped when they happen:
 * they may follow what the other daemon wrote after the pass began.  Everything
 * a pass learns comes from the database or the executor, never from memory of
 * an earlier pass, so a process killed at any point is replaced by one that
 * simply runs the next pass.  The roles and invariants are described in
 * README.md beside this file.
 */
#ifndef CUBE_SCHED_DAEMON_H
#define CUBE_SCHED_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "core/cluster.h"
#include "core/exec.h"
#include "sched/sched.h"
#include "core/attr.h"

struct kv;
struct pollfd;

/* What one pass works with and counts. */
struct pass {
    struct db *db;
    struct arena *a;
    struct executor *x;           /* the local engine (housekeeping of attempt directories) */
    struct cluster_set *clusters; /* every engine, by cluster id (0: local) */
    struct kv *kv;                /* the watcher's Redis (NULL: no PUBLISH) */
    int64_t now_us;               /* the pass's clock */
    const char *actor;            /* "scheduler" or "watcher", for state_change */
    bool busy;                    /* set by a step that expects more work right away */
    size_t changed;               /* transitions made (a watcher pass NOTIFYs the scheduler then) */
};

/* The engine of an attempt from its executor column ("local", "cluster:<id>").  NULL when
 * there is none to ask: *e is ERR_NOT_FOUND (the cluster was deleted: nothing will ever be
 * known) or ERR_UNAVAILABLE (it cannot be opened now), *why says which (in ps->a). */
struct engine *pass_engine(struct pass *ps, const char *executor, enum err *e, const char **why);
/* engine_cancel on the attempt's engine, logging a failure. */
void pass_cancel(struct pass *ps, const char *executor, const char *name);

/* Runs fn on a copy of ps with an arena of its own, freed afterwards (counters carried back):
 * a pass over ten thousand rows keeps one batch's results in memory, not all of them. */
enum err pass_batch(struct pass *ps, enum err (*fn)(struct pass *ps, void *arg),
                    void *arg) WARN_UNUSED;

/* sched_run_create with the caller's clock and, from a query the caller made already, the
 * pipeline's parallelism, alert_status, alert_user and a fresh run id (pipe may be NULL). */
struct run_pipe {
    int64_t run_id;
    const char *parallelism, *alert_status, *alert_user;
};
enum err sched_run_create_at(struct db *db, struct arena *a, const struct run_request *rq,
                             int64_t now_us, const struct run_pipe *pipe, int64_t *run_id,
                             const char **err) WARN_UNUSED;

/* The same in two steps, so a tick inserts a whole batch of runs with one statement:
 * sched_run_prepare builds the snapshot and appends the run's row (ERR_UNPROCESSABLE with *err
 * as sched_run_create); sched_run_insert writes every row collected (ON CONFLICT on the tick
 * skips the ones that exist) and empties rows — one statement per stretch of rows with the
 * same actor and reason; *created (optional) has one row per run made by the last one. */
#define RUN_ROW_COLS 12
struct run_rows {
    struct arena *arena; /* where the rows live */
    const char **v;      /* n x RUN_ROW_COLS parameter values */
    int64_t *ids;
    size_t n, cap;
    bool quiet; /* no NOTIFY cube_watch: the caller sends one when it is done (a tick) */
};
void run_rows_init(struct run_rows *rows, struct arena *a);
enum err sched_run_prepare(struct db *db, struct arena *a, const struct run_request *rq,
                           int64_t now_us, const struct run_pipe *pipe, struct run_rows *rows,
                           const char **err) WARN_UNUSED;
enum err sched_run_insert(struct db *db, struct arena *a, struct run_rows *rows, int64_t now_us,
                          struct pg_result **created) WARN_UNUSED;
/* sched_run_insert whose last statement is only sent (db_send): the caller works while the
 * server inserts, and reads its answer with db_result before its next statement. */
enum err sched_run_send(struct db *db, struct arena *a, struct run_rows *rows,
                        int64_t now_us) WARN_UNUSED;
/* sched_run_prepare from a pipeline loaded already (core/snapshot's snapshot_load, which loads a
 * whole batch with one query): renders the run's snapshot and appends its row without a round
 * trip.  pipe is required.  ERR_NOT_FOUND when src has no pipeline. */
struct snapshot_src;
enum err sched_run_prepare_from(struct arena *a, const struct run_request *rq, int64_t now_us,
                                const struct run_pipe *pipe, const struct snapshot_src *src,
                                struct run_rows *rows, const char **err) WARN_UNUSED;

/* ---- cube-scheduler ---- */
/* (a) cron ticks of due pipelines into runs, and their last_tick/next_tick, per batch of
 * pipelines in one transaction. */
enum err tick_pass(struct pass *ps) WARN_UNUSED;
/* (b) run timeouts; queued → running under max_active_runs, depends_on_past and
 * expired_limit. */
enum err admit_pass(struct pass *ps) WARN_UNUSED;
/* (c) retries that are due, pending tasks → scheduled / skipped / upstream_failed, and
 * running runs whose tasks are all finished → succeeded / failed. */
enum err ready_pass(struct pass *ps) WARN_UNUSED;
/* (d) scheduled → submitting (committed) → exec_submit → running, within CUBE_EXEC_SLOTS and
 * each run's parallelism. */
enum err dispatch_pass(struct pass *ps) WARN_UNUSED;
/* (e) runs finished more than CUBE_RETENTION_DAYS ago, with their attempt directories. */
enum err house_pass(struct pass *ps) WARN_UNUSED;

/* ---- cube-watcher ---- */
/* Every submitting/running attempt against exec_status; cancelling runs; task timeouts;
 * lost attempts.  names/n (optional) get the active attempt names (for inotify hints). */
enum err reconcile_pass(struct pass *ps, const char ***names, size_t *n) WARN_UNUSED;
/* Outbox rows → notification rows, Redis PUBLISH and webhook_delivery rows. */
enum err notify_outbox_pass(struct pass *ps) WARN_UNUSED;

/* Webhook deliveries, driven by libcurl's multi interface inside the watcher's loop: a slow
 * or dead endpoint never holds up a pass.  One per process. */
struct hooks;
struct hooks *hooks_new(void);
void hooks_free(struct hooks *h);
/* Claims due deliveries (a lease, committed) and starts their requests. */
enum err hooks_start(struct hooks *h, struct pass *ps) WARN_UNUSED;
/* Moves transfers along and records the finished ones; true while any is in flight. */
bool hooks_progress(struct hooks *h, struct pass *ps);
/* Waits like poll(2) on fds and the transfers' sockets, at most timeout_ms. */
int hooks_wait(struct hooks *h, struct pollfd *fds, unsigned nfds, int timeout_ms);

#endif
