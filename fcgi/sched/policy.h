/*
 * policy.h — the scheduler's pure decisions, kept apart from the database so
 * they can be unit-tested: which cron ticks of a pipeline are due and which
 * of them become runs, how long a failed try waits before the next one, how
 * long a failed webhook delivery waits, and the right-sized resources a task
 * should ask for next time.  No I/O, no clock: every input is an argument.
 */
#ifndef CUBE_SCHED_POLICY_H
#define CUBE_SCHED_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/cron.h"
#include "core/attr.h"

/* Retry delay of task tries: POLICY_RETRY_BASE_S x 2^(try-1), at most POLICY_RETRY_MAX_S. */
#define POLICY_RETRY_BASE_S 5
#define POLICY_RETRY_MAX_S 3600
/* Webhook deliveries: POLICY_HOOK_BASE_S x 2^(attempts-1), at most POLICY_HOOK_MAX_S; after
 * POLICY_HOOK_MAX_ATTEMPTS failed attempts a delivery is given up. */
#define POLICY_HOOK_BASE_S 10
#define POLICY_HOOK_MAX_S 3600
#define POLICY_HOOK_MAX_ATTEMPTS 10
/* Resource suggestion caps (cube-studio's): cores and GiB. */
#define POLICY_CPU_MAX 150
#define POLICY_MEM_GB_MAX 350

/* The due cron ticks of one pipeline at one instant (Unix seconds throughout). */
struct policy_due {
    int64_t *ticks; /* the ticks that become runs, oldest first (arena) */
    size_t n;
    int64_t skipped;       /* due ticks left out because only the newest `keep` are kept */
    bool skipped_exact;    /* false: `skipped` is a lower bound (a very long catch-up) */
    int64_t skipped_first; /* the oldest and newest skipped tick (0 when none) */
    int64_t skipped_last;
    int64_t newest; /* the newest due tick, kept or not (0: none is due) */
    int64_t next;   /* the first tick strictly after now (-1: none within the horizon) */
};

/*
 * Due ticks are the fire times t of c (on zone tz's wall clock) with anchor < t <= now.  The
 * newest `keep` (>= 1) of them become runs; older ones are skipped.  The search never walks
 * the whole interval when it is long: it looks back from now in growing windows until it has
 * more than `keep` ticks.  False when tz is not valid.
 */
bool policy_due_ticks(struct arena *a, const struct cron_expr *c, const char *tz, int64_t anchor,
                      int64_t now, int64_t keep, struct policy_due *out) WARN_UNUSED;

/* How many of a pipeline's newest due ticks are kept: expired_limit when set (> 0), never
 * more than the catch-up cap. */
int64_t policy_keep(int64_t expired_limit, int64_t catchup_max);

/* Seconds to wait after try number `try_number` (1-based) failed, before the next try. */
int64_t policy_retry_delay_s(int try_number);

/* Seconds to wait after the `attempts`-th failed webhook delivery attempt (1-based). */
int64_t policy_hook_delay_s(int attempts);

/* A task's resource_cpu as cores: "1", "0.5", "500m", or cube-studio's "request~limit" ("2~4":
 * the limit counts).  0 (no limit) when empty or not understood. */
double policy_cpu_cores(const char *text);
/* A task's resource_memory as bytes: "2G", "512M", "1.5Gi", "1024K", "1T", "2~4G" (the limit),
 * a bare number meaning GiB (cube-studio's forms write "2G", people type "2").  0 (no limit)
 * when empty or not understood. */
int64_t policy_memory_bytes(const char *text);
/* A task's resource_gpu: "1", "0.5", "2(V100)" (a count and a model), "(V100)" (one of that
 * model).  The count, 0 when empty or not understood; *type is the model or "" (in a). */
double policy_gpus(struct arena *a, const char *text, const char **type);

/* cube-studio's right-sizing rule: ceil(peak x 1.4) + 2, for CPU cores and memory in GiB. */
struct policy_suggestion {
    int64_t cpu;    /* cores */
    int64_t mem_gb; /* GiB */
};
/* peak_rss_kb: the largest peak resident set of the samples (KiB); cpu_milli: the largest
 * average CPU use of the samples, in thousandths of a core (CPU seconds / wall seconds). */
void policy_suggest(int64_t peak_rss_kb, int64_t cpu_milli, struct policy_suggestion *out);

#endif
