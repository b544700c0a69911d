/*
 * state.h — the compare-and-set transitions under sched.h, with the pass's
 * clock passed in.  One SQL statement per call: it locks and checks the rows
 * (state in `from`, and the try number when given), updates them, appends the
 * state_change audit rows, maintains task_attempt rows, and for runs inserts
 * the outbox alert row when the new state is in the run's alert_status.  A
 * statement is atomic on its own, so no transition is ever half written; the
 * caller's transaction (db_begin nests) groups several when they belong
 * together.
 *
 * Clocks are microseconds since the epoch (sched_now).
 */
#ifndef CUBE_SCHED_STATE_H
#define CUBE_SCHED_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/buf.h"
#include "core/db.h"
#include "core/err.h"
#include "core/attr.h"

/* Optional column updates riding on a task transition. */
struct state_task_set {
    int try_delta;      /* +1: a new try (→ submitting, names the attempt); -1: give the
                           try back (submitting → scheduled, resubmitted with its name) */
    bool refresh_tries; /* max_tries = try_number + the snapshot's retry + 1 (rerun, clear) */
    bool has_exit;
    int exit_code;
    int64_t peak_rss_kb;   /* < 0: unknown */
    double cpu_seconds;    /* < 0: unknown */
    int64_t next_retry_us; /* → up_for_retry: when the next try may start */
};
#define STATE_TASK_SET_INIT             \
    {                                   \
        0, false, false, 0, -1, -1.0, 0 \
    }

/* The alert of a run transition when its state is one the run alerts on: SRC names the run
 * rows as `u` (with id and alert_status); STATE, FROM, REASON and AT are SQL expressions.
 * Shared by the transition and by run creation.  It holds what only the moment knows: the
 * payload is made from it, the run and its pipeline when the watcher first delivers it
 * (notify.c), so a transition writes a narrow row and joins nothing. */
#define STATE_OUTBOX_INSERT(SRC, STATE, FROM, REASON, AT)                                         \
    "INSERT INTO outbox (run_id, kind, state, from_state, reason, created_at) "                   \
    "SELECT u.id, 'run_state', " STATE ", " FROM ", " REASON ", " AT " FROM " SRC " WHERE " STATE \
    " = ANY(string_to_array(u.alert_status, ','))"

/* States as a PostgreSQL text[] literal: {"a","b"} (names are fixed identifiers). */
const char *state_array(struct arena *a, const char *const *v, size_t n);
/* Appends v (NULL: SQL NULL) to a PostgreSQL array literal being built in b: quoted, with
 * backslash and double quote escaped, after a comma unless b holds only the opening "{".  The
 * caller adds the braces. */
void state_array_elem(struct buf *b, const char *v);
/* Ids as a bigint[] literal. */
const char *state_ids(struct arena *a, const int64_t *ids, size_t n);
/* Microseconds as a timestamptz parameter text (ISO 8601, UTC). */
const char *state_ts(struct arena *a, int64_t us);

bool state_is_terminal_run(const char *s);
bool state_is_terminal_task(const char *s);

enum err state_run_cas(struct db *db, struct arena *a, int64_t now_us, int64_t run_id,
                       const char *const *from, size_t nfrom, const char *to, const char *reason,
                       const char *actor, bool *changed) WARN_UNUSED;

/*
 * Moves every task instance of ids[0..n) that is in one of `from` (and, when tries is given,
 * whose try number is tries[i]) to `to`.  *nchanged (optional) counts them; *rows (optional) gets
 * one row per changed instance: id, from_state, try_number, external_name, run_id, max_tries.
 */
enum err state_tasks_cas(struct db *db, struct arena *a, int64_t now_us, const int64_t *ids,
                         size_t n, const char *const *from, size_t nfrom, const char *to,
                         const int *tries, const char *reason, const char *actor,
                         const struct state_task_set *set, size_t *nchanged,
                         struct pg_result **rows) WARN_UNUSED;

/* A try that did not succeed: up_for_retry when retryable and try_number < max_tries, else
 * failed.  The wait is policy_retry_delay_s(n) for the n-th try of the current budget of
 * `retries` + 1 tries (a re-run or clear starts a new budget, and the backoff over).  set adds
 * exit code and usage. */
enum err state_task_fail(struct db *db, struct arena *a, int64_t now_us, int64_t ti_id,
                         const char *const *from, size_t nfrom, int try_number, int max_tries,
                         int retries, bool retryable, const char *reason, const char *actor,
                         const struct state_task_set *set, bool *changed) WARN_UNUSED;

/* Test-only crash injection: when CUBE_FAILPOINT names this point, the process SIGKILLs
 * itself here (dispatch.after_intent, dispatch.after_submit, tick.before_commit,
 * reconcile.before_record), so the scenario tests can stop a daemon exactly between an
 * intent and its action.  Unset (always, outside tests): nothing happens. */
void state_failpoint(const char *point);

/* NOTIFY channel (cube_sched wakes the scheduler, cube_watch the watcher), sent at commit. */
enum err state_notify(struct db *db, struct arena *a, const char *channel) WARN_UNUSED;

#endif
