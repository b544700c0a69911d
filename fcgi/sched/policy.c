/* policy.c — due cron ticks, retry and webhook backoff, resource suggestions (pure). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/policy.h"
#include "core/common.h"

enum {
    WALK_FIRST = 4,        /* ticks asked of cron_next_n first: usually one or two are due */
    WALK_BATCH = 256,      /* ... doubling up to this many at a time */
    FIRST_WINDOW_S = 3600, /* the first look-back window */
    COUNT_CAP = 1000000    /* counting skipped ticks stops here (then: a lower bound) */
};

/* Walks the ticks in (from, to], storing each in ring[count % ringlen] when ring is given.
 * Stops early once *count reaches cap (cap 0: no cap); returns false when it did.  A
 * scheduler tick asks this of every due pipeline, and each fire time costs cron_next_n a
 * few offset probes: the first request is small, later ones grow. */
static bool walk(const struct cron_expr *c, const char *tz, int64_t from, int64_t to, int64_t *ring,
                 size_t ringlen, int64_t *count, int64_t cap)
{
    int64_t batch[WALK_BATCH];
    int64_t t = from;
    size_t want = WALK_FIRST;

    for (;;) {
        size_t got = cron_next_n(c, tz, t, batch, want);
        for (size_t i = 0; i < got; i++) {
            if (batch[i] > to)
                return true;
            if (ring)
                ring[(size_t)(*count % (int64_t)ringlen)] = batch[i];
            (*count)++;
            if (cap && *count >= cap)
                return false;
        }
        if (got < want)
            return true; /* the horizon ran out */
        t = batch[got - 1];
        want = want * 2 < WALK_BATCH ? want * 2 : WALK_BATCH;
    }
}

/*
 * The zone as core/cron should get it.  UTC under any of its usual names is "", which cron
 * evaluates without glibc: named, every cron call would point TZ at the zone file, have
 * glibc read it, and point TZ back (tens of microseconds, times every due pipeline of a
 * tick).  These names are all offset 0 with no daylight-saving rules in tzdata.
 */
static const char *zone_of(const char *tz)
{
    static const char *const utc[] = {
        "UTC",      "Etc/UTC", "UCT",     "Etc/UCT", "Universal", "Etc/Universal", "Zulu",
        "Etc/Zulu", "GMT",     "Etc/GMT", "GMT0",    "Etc/GMT0",  "Greenwich",     "Etc/Greenwich"};

    if (!tz)
        return "";
    for (size_t i = 0; i < ARRAY_LEN(utc); i++)
        if (!strcmp(tz, utc[i]))
            return "";
    return tz;
}

/* cron_tz_valid costs four system calls; a tick asks about the same few zones over and
 * over.  The last zone found valid is remembered (a zone file removed while the process
 * runs goes unnoticed, as in core/cron). */
static bool zone_valid(const char *tz)
{
    static char last[CRON_TZ_MAX + 1];
    size_t n = strlen(tz);

    if (!*tz || (n < sizeof(last) && !strcmp(tz, last)))
        return true;
    if (!cron_tz_valid(tz))
        return false;
    if (n < sizeof(last))
        memcpy(last, tz, n + 1);
    return true;
}

bool policy_due_ticks(struct arena *a, const struct cron_expr *c, const char *tz, int64_t anchor,
                      int64_t now, int64_t keep, struct policy_due *out)
{
    int64_t *ring, count = 0, start, window = FIRST_WINDOW_S, k;
    size_t ringlen;

    memset(out, 0, sizeof(*out));
    out->skipped_exact = true;
    tz = zone_of(tz);
    if (!zone_valid(tz))
        return false;
    if (keep < 1)
        keep = 1;
    out->next = cron_next(c, tz, now > anchor ? now : anchor);
    if (anchor >= now)
        return true;

    /* One slot more than kept: the slot before the oldest kept tick is the newest skipped. */
    ringlen = (size_t)keep + 1;
    ring = arena_alloc(a, ringlen * sizeof(*ring));
    for (;;) {
        start = now - window;
        if (start <= anchor || window > now - anchor)
            start = anchor;
        count = 0;
        (void)walk(c, tz, start, now, ring, ringlen, &count, 0);
        if (count > keep || start == anchor)
            break;
        /* Too few ticks in the window: look four times further back. */
        window *= 4;
    }
    if (!count)
        return true;
    out->newest = ring[(size_t)((count - 1) % (int64_t)ringlen)];
    k = count < keep ? count : keep;
    out->ticks = arena_alloc(a, (size_t)k * sizeof(*out->ticks));
    for (int64_t i = 0; i < k; i++)
        out->ticks[i] = ring[(size_t)((count - k + i) % (int64_t)ringlen)];
    out->n = (size_t)k;
    if (count <= keep)
        return true; /* then start == anchor: nothing was left out */

    out->skipped = count - keep;
    out->skipped_last = ring[(size_t)((count - keep - 1) % (int64_t)ringlen)];
    if (start == anchor) {
        /* The window began at the anchor: its first tick is the oldest skipped one. */
        out->skipped_first = cron_next(c, tz, anchor);
    } else {
        int64_t before = 0;
        out->skipped_first = cron_next(c, tz, anchor);
        out->skipped_exact = walk(c, tz, anchor, start, NULL, 0, &before, COUNT_CAP);
        out->skipped += before;
    }
    return true;
}

int64_t policy_keep(int64_t expired_limit, int64_t catchup_max)
{
    int64_t cap = catchup_max > 0 ? catchup_max : 1;
    return expired_limit > 0 && expired_limit < cap ? expired_limit : cap;
}

/* base x 2^(n-1), at most max, without overflowing. */
static int64_t backoff(int64_t base, int n, int64_t max)
{
    int64_t d = base;
    if (n < 1)
        n = 1;
    for (int i = 1; i < n && d < max; i++)
        d *= 2;
    return d < max ? d : max;
}

int64_t policy_retry_delay_s(int try_number)
{
    return backoff(POLICY_RETRY_BASE_S, try_number, POLICY_RETRY_MAX_S);
}

int64_t policy_hook_delay_s(int attempts)
{
    return backoff(POLICY_HOOK_BASE_S, attempts, POLICY_HOOK_MAX_S);
}

void policy_suggest(int64_t peak_rss_kb, int64_t cpu_milli, struct policy_suggestion *out)
{
    /* Integer arithmetic, so 1 GiB x 1.4 is exactly 1.4 and rounds up to 2 (a double would
     * round 1.4 x 5 to 7.000000000000001 and suggest one more). */
    const int64_t gib_kb = 1024 * 1024;
    int64_t mem, cpu;

    /* Beyond the caps anyway; clamped so the products below cannot overflow. */
    if (peak_rss_kb < 0)
        peak_rss_kb = 0;
    if (peak_rss_kb > gib_kb * POLICY_MEM_GB_MAX)
        peak_rss_kb = gib_kb * POLICY_MEM_GB_MAX;
    if (cpu_milli < 0)
        cpu_milli = 0;
    if (cpu_milli > 1000 * POLICY_CPU_MAX)
        cpu_milli = 1000 * POLICY_CPU_MAX;
    mem = (peak_rss_kb * 14 + gib_kb * 10 - 1) / (gib_kb * 10) + 2;
    cpu = (cpu_milli * 14 + 10000 - 1) / 10000 + 2;
    out->mem_gb = mem < POLICY_MEM_GB_MAX ? mem : POLICY_MEM_GB_MAX;
    out->cpu = cpu < POLICY_CPU_MAX ? cpu : POLICY_CPU_MAX;
}

double policy_cpu_cores(const char *text)
{
    const char *s = text, *tilde = s ? strchr(s, '~') : NULL;
    char *end;
    double v;

    if (tilde)
        s = tilde + 1;
    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return 0;
    if (*end == 'm') {
        v /= 1000;
        end++;
    }
    return *end ? 0 : v;
}

double policy_gpus(struct arena *a, const char *text, const char **type)
{
    const char *open = text ? strchr(text, '(') : NULL, *close;
    double v = 1; /* "(V100)" alone: one GPU of that model */
    char *end;

    *type = "";
    if (!text || !*text)
        return 0;
    if (open != text) {
        errno = 0;
        v = strtod(text, &end);
        if (errno || end == text || v < 0 || (end != open && *end))
            return 0;
    }
    if (open) {
        if (!(close = strchr(open, ')')) || close[1] || close == open + 1)
            return 0;
        for (const char *c = open + 1; c < close; c++)
            if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-'))
                return 0;
        *type = arena_strndup(a, open + 1, (size_t)(close - open - 1));
    }
    return v;
}

int64_t policy_memory_bytes(const char *text)
{
    const char *s = text, *tilde = s ? strchr(s, '~') : NULL;
    double v, unit = 1024.0 * 1024 * 1024;
    char *end;

    if (tilde)
        s = tilde + 1;
    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v <= 0)
        return 0;
    switch (*end) {
    case 'k':
    case 'K':
        unit = 1024.0;
        end++;
        break;
    case 'm':
    case 'M':
        unit = 1024.0 * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        end++;
        break;
    case 't':
    case 'T':
        unit = 1024.0 * 1024 * 1024 * 1024;
        end++;
        break;
    default:
        break;
    }
    if (*end == 'i' || *end == 'B' || *end == 'b')
        end++;
    if (*end || v * unit > 9e18)
        return 0;
    return (int64_t)(v * unit);
}
