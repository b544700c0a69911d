/*
 * sched.h — the run/task state machine shared by the API, cube-scheduler and
 * cube-watcher.  Every state change is a compare-and-set UPDATE guarded by the
 * expected states (and try number for tasks), recorded in state_change and,
 * for run states that can alert, in the outbox, all in one transaction.
 * Terminal states are absorbing except through run_rerun / run_clear_task.
 *
 * Run states:   queued → running → succeeded | failed;  queued|running → cancelling →
 *               cancelled;  queued → skipped;  failed|cancelled → queued (rerun, clear).
 * Task states:  pending → scheduled → submitting → running → succeeded | failed |
 *               up_for_retry → scheduled …;  pending → upstream_failed | skipped;
 *               any non-terminal → cancelled.
 * See README.md in this folder for the invariants and who does what.
 */
#ifndef CUBE_SCHED_H
#define CUBE_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "core/attr.h"

/* CAS transition of a run from one of `from` to `to`; *changed false when another actor won. */
enum err sched_run_transition(struct db *db, struct arena *a, int64_t run_id,
                              const char *const *from, size_t nfrom, const char *to,
                              const char *reason, const char *actor, bool *changed) WARN_UNUSED;
/* CAS transition of a task instance; try_number < 0 matches any try. */
enum err sched_task_transition(struct db *db, struct arena *a, int64_t ti_id,
                               const char *const *from, size_t nfrom, const char *to,
                               int try_number, const char *reason, const char *actor,
                               bool *changed) WARN_UNUSED;

struct run_request {
    int64_t pipeline_id;
    const char *trigger;    /* "manual", "cron", "backfill", "task" */
    int64_t cron_tick;      /* Unix seconds, 0 = none (manual) */
    int64_t execution_date; /* Unix seconds: the tick, or now */
    int64_t user_id;        /* who asked (0: the scheduler) */
    const char *runner;     /* username for {{runner}} / KFJ_RUNNER */
    const char *only_task;  /* "task" trigger: run this task alone (NULL: all) */
};

/* Creates a queued run with its snapshot (core/snapshot) and pending task instances, and
 * NOTIFY cube_sched.  A cron/backfill tick that already has a run is not an error: *run_id
 * is then 0.  ERR_UNPROCESSABLE with *err for a pipeline that cannot run (cycle, invalid
 * task, no tasks), ERR_NOT_FOUND for no such pipeline. */
enum err sched_run_create(struct db *db, struct arena *a, const struct run_request *rq,
                          int64_t *run_id, const char **err) WARN_UNUSED;
/* Requests cancellation: queued → cancelled at once; running → cancelling (the watcher kills
 * the attempts and finishes it).  ERR_CONFLICT with *err when the run is already finished. */
enum err sched_run_cancel(struct db *db, struct arena *a, int64_t run_id, const char *actor,
                          const char **err) WARN_UNUSED;
/* Re-runs a finished run: its failed, upstream_failed and cancelled tasks and everything
 * downstream of them go back to pending (new try numbers), the run back to queued.
 * ERR_CONFLICT when the run is not failed or cancelled (or succeeded with nothing to redo). */
enum err sched_run_rerun(struct db *db, struct arena *a, int64_t run_id, const char *actor,
                         const char **err) WARN_UNUSED;
/* Clears one task instance and its downstream in its run (back to pending); the run goes
 * back to queued when it had finished.  ERR_CONFLICT while the task is still active. */
enum err sched_task_clear(struct db *db, struct arena *a, int64_t ti_id, const char *actor,
                          const char **err) WARN_UNUSED;

/* The attempt name of a try: deterministic, so a restart adopts instead of resubmitting. */
const char *sched_attempt_name(struct arena *a, int64_t run_id, int64_t ti_id, int try_number);

/* ---- added for the daemons and the API ------------------------------------------------- */

/* The one clock of every scheduling decision: PostgreSQL's now(), plus — only when
 * CUBE_CLOCK_FILE is set — the whole seconds written in that file, re-read at every call (the
 * test switch that shifts time instead of waiting).  Microseconds since the epoch. */
enum err sched_now(struct db *db, struct arena *a, int64_t *now_us) WARN_UNUSED;
/* The CUBE_CLOCK_FILE offset in seconds (0 when the variable is unset or the file unreadable). */
int64_t sched_clock_offset_s(void);

/* Right-sized resources for the next run of a task (cube-studio's rule, ceil(peak x 1.4) + 2):
 * from the last SCHED_SUGGEST_SAMPLES succeeded attempts of the task within
 * SCHED_SUGGEST_DAYS days, the largest peak RSS and the largest average CPU use (CPU seconds /
 * wall seconds).  samples = 0 when there is nothing to go on (then cpu and mem_gb are 0). */
#define SCHED_SUGGEST_SAMPLES 10
#define SCHED_SUGGEST_DAYS 30
struct sched_suggestion {
    int samples;
    int64_t peak_rss_kb; /* the largest peak of the samples */
    double cpu_cores;    /* the largest average CPU use of the samples */
    int64_t cpu;         /* suggested cores */
    int64_t mem_gb;      /* suggested memory, GiB */
};
enum err sched_task_suggestion(struct db *db, struct arena *a, int64_t task_id,
                               struct sched_suggestion *out) WARN_UNUSED;

/* Backfill: a queued run with trigger "backfill" for every cron tick of the pipeline (its
 * cron_time on its timezone) in [from, to] (Unix seconds, both included), in one transaction.
 * Ticks that have a run already are left alone (*existing counts them; re-run those instead).
 * ERR_UNPROCESSABLE with *err for a reversed range, an invalid cron_time or time zone, more
 * than SCHED_BACKFILL_MAX ticks, or a pipeline that cannot run; ERR_NOT_FOUND for no such
 * pipeline. */
#define SCHED_BACKFILL_MAX 1000
enum err sched_backfill(struct db *db, struct arena *a, int64_t pipeline_id, int64_t from,
                        int64_t to, int64_t user_id, const char *runner, size_t *created,
                        size_t *existing, const char **err) WARN_UNUSED;

/* The alert_status of a pipeline in run-state names: cube-studio's names are mapped (Pending,
 * Created, Waiting -> queued; Terminated -> cancelled), case and spaces ignored, unknown names
 * dropped, duplicates removed.  "a,b" (arena). */
const char *sched_alert_states(struct arena *a, const char *alert_status);

#endif
