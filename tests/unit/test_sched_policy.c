/*
 * test_sched_policy.c — the scheduler's pure decisions (sched/policy): which
 * cron ticks are due and kept (catch-up cap, expired_limit), the retry and
 * webhook backoff tables, and cube-studio's right-sizing rule.
 *
 * Expected ticks are counted by hand from the calendar and written as ISO
 * UTC strings; backoff values are the formula of the header worked out term
 * by term; suggestions are ceil(peak x 1.4) + 2 computed on paper.  Also the
 * resource strings a task's limits are read from, the attempt name format
 * and the alert_status mapping of sched.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/exec.h"
#include "sched/policy.h"
#include "sched/sched.h"
#include "core/common.h"

static int64_t utc(const char *iso)
{
    struct tm tm;
    char zulu = 0;
    int n;

    memset(&tm, 0, sizeof(tm));
    n = sscanf(iso, "%d-%d-%dT%d:%d:%d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &zulu);
    assert_int_equal(n, 7);
    assert_int_equal(zulu, 'Z');
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static struct cron_expr parse(const char *text)
{
    struct cron_expr c;
    char err[128];
    if (!cron_parse(text, &c, err, sizeof(err)))
        fail_msg("cron_parse(%s): %s", text, err);
    return c;
}

static int setup(void **state)
{
    struct arena *a = xcalloc(1, sizeof(*a));
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    free(*state);
    return 0;
}

/* ---- due ticks ------------------------------------------------------------------------- */

static void t_due_all_kept(void **state)
{
    struct cron_expr c = parse("*/15 * * * *");
    struct policy_due d;

    /* (00:00, 01:00]: the anchor itself is not due, now is. */
    assert_true(policy_due_ticks(*state, &c, "", utc("2024-01-01T00:00:00Z"),
                                 utc("2024-01-01T01:00:00Z"), 100, &d));
    assert_int_equal(d.n, 4);
    assert_int_equal(d.ticks[0], utc("2024-01-01T00:15:00Z"));
    assert_int_equal(d.ticks[1], utc("2024-01-01T00:30:00Z"));
    assert_int_equal(d.ticks[2], utc("2024-01-01T00:45:00Z"));
    assert_int_equal(d.ticks[3], utc("2024-01-01T01:00:00Z"));
    assert_int_equal(d.skipped, 0);
    assert_int_equal(d.skipped_first, 0);
    assert_int_equal(d.newest, utc("2024-01-01T01:00:00Z"));
    assert_int_equal(d.next, utc("2024-01-01T01:15:00Z"));
}

static void t_due_expired_limit(void **state)
{
    struct cron_expr c = parse("*/15 * * * *");
    struct policy_due d;

    /* expired_limit 1: only 01:00 runs; 00:15, 00:30, 00:45 are skipped. */
    assert_true(policy_due_ticks(*state, &c, "UTC", utc("2024-01-01T00:00:00Z"),
                                 utc("2024-01-01T01:07:00Z"), 1, &d));
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ticks[0], utc("2024-01-01T01:00:00Z"));
    assert_int_equal(d.skipped, 3);
    assert_true(d.skipped_exact);
    assert_int_equal(d.skipped_first, utc("2024-01-01T00:15:00Z"));
    assert_int_equal(d.skipped_last, utc("2024-01-01T00:45:00Z"));
    assert_int_equal(d.newest, utc("2024-01-01T01:00:00Z"));
    assert_int_equal(d.next, utc("2024-01-01T01:15:00Z"));

    /* expired_limit 2 of the same */
    assert_true(policy_due_ticks(*state, &c, "UTC", utc("2024-01-01T00:00:00Z"),
                                 utc("2024-01-01T01:07:00Z"), 2, &d));
    assert_int_equal(d.n, 2);
    assert_int_equal(d.ticks[0], utc("2024-01-01T00:45:00Z"));
    assert_int_equal(d.ticks[1], utc("2024-01-01T01:00:00Z"));
    assert_int_equal(d.skipped, 2);
    assert_int_equal(d.skipped_last, utc("2024-01-01T00:30:00Z"));
}

static void t_due_long_catchup(void **state)
{
    struct cron_expr c = parse("* * * * *");
    struct policy_due d;
    int64_t now = utc("2024-03-31T00:00:00Z"), anchor = now - 30 * 86400;

    /* Every minute for 30 days after the anchor: 43,200 due ticks, the newest 100 kept. */
    assert_true(policy_due_ticks(*state, &c, "", anchor, now, 100, &d));
    assert_int_equal(d.n, 100);
    assert_int_equal(d.ticks[0], now - 99 * 60);
    assert_int_equal(d.ticks[99], now);
    assert_int_equal(d.skipped, 43200 - 100);
    assert_true(d.skipped_exact);
    assert_int_equal(d.skipped_first, anchor + 60);
    assert_int_equal(d.skipped_last, now - 100 * 60);
    assert_int_equal(d.next, now + 60);
}

static void t_due_count_cap(void **state)
{
    struct cron_expr c = parse("* * * * *");
    struct policy_due d;
    int64_t now = utc("2024-01-01T00:00:00Z"), anchor = now - 3 * 365 * 86400;

    /* 1,576,800 due ticks: more than the skipped-count cap, so the count is a lower bound. */
    assert_true(policy_due_ticks(*state, &c, "", anchor, now, 5, &d));
    assert_int_equal(d.n, 5);
    assert_int_equal(d.ticks[4], now);
    assert_false(d.skipped_exact);
    assert_true(d.skipped >= 1000000);
    assert_true(d.skipped < 3 * 365 * 1440);
    assert_int_equal(d.skipped_first, anchor + 60);
    assert_int_equal(d.skipped_last, now - 5 * 60);
}

static void t_due_boundaries(void **state)
{
    struct cron_expr c = parse("0 3 * * *");
    struct policy_due d;

    /* Anchor on a tick: excluded; now on a tick: included. */
    assert_true(policy_due_ticks(*state, &c, "", utc("2024-03-10T03:00:00Z"),
                                 utc("2024-03-12T03:00:00Z"), 100, &d));
    assert_int_equal(d.n, 2);
    assert_int_equal(d.ticks[0], utc("2024-03-11T03:00:00Z"));
    assert_int_equal(d.ticks[1], utc("2024-03-12T03:00:00Z"));
    assert_int_equal(d.next, utc("2024-03-13T03:00:00Z"));

    /* Nothing due yet: the anchor is one second before now and no tick lies between. */
    assert_true(policy_due_ticks(*state, &c, "", utc("2024-03-12T03:00:00Z"),
                                 utc("2024-03-12T03:00:01Z"), 100, &d));
    assert_int_equal(d.n, 0);
    assert_int_equal(d.newest, 0);
    assert_int_equal(d.next, utc("2024-03-13T03:00:00Z"));

    /* An anchor in the future (cronjob_start_time ahead): nothing due, next after the anchor. */
    assert_true(policy_due_ticks(*state, &c, "", utc("2024-05-01T12:00:00Z"),
                                 utc("2024-03-12T00:00:00Z"), 100, &d));
    assert_int_equal(d.n, 0);
    assert_int_equal(d.next, utc("2024-05-02T03:00:00Z"));
}

static void t_due_zone(void **state)
{
    struct cron_expr c = parse("0 9 * * *");
    struct policy_due d;

    /* 09:00 in Berlin in June is 07:00Z (CEST, UTC+2). */
    assert_true(policy_due_ticks(*state, &c, "Europe/Berlin", utc("2024-06-01T00:00:00Z"),
                                 utc("2024-06-02T12:00:00Z"), 100, &d));
    assert_int_equal(d.n, 2);
    assert_int_equal(d.ticks[0], utc("2024-06-01T07:00:00Z"));
    assert_int_equal(d.ticks[1], utc("2024-06-02T07:00:00Z"));
    assert_int_equal(d.next, utc("2024-06-03T07:00:00Z"));

    /* Control beside the refusal: the same call with a zone that does not exist. */
    assert_false(policy_due_ticks(*state, &c, "Mars/Olympus", utc("2024-06-01T00:00:00Z"),
                                  utc("2024-06-02T12:00:00Z"), 100, &d));
}

/* UTC under its usual names is the same schedule as "" (no zone); a zone that is UTC only in
 * winter is not.  Expected instants by hand: 12:00 London in July is 11:00Z (BST, UTC+1). */
static void t_due_utc_names(void **state)
{
    static const char *const names[] = {"", "UTC", "Etc/UTC", "GMT", "Zulu", "Etc/Greenwich"};
    struct cron_expr c = parse("0 12 * * *");
    struct policy_due d;

    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        assert_true(policy_due_ticks(*state, &c, names[i], utc("2024-07-01T00:00:00Z"),
                                     utc("2024-07-03T00:00:00Z"), 100, &d));
        assert_int_equal(d.n, 2);
        assert_int_equal(d.ticks[0], utc("2024-07-01T12:00:00Z"));
        assert_int_equal(d.ticks[1], utc("2024-07-02T12:00:00Z"));
        assert_int_equal(d.next, utc("2024-07-03T12:00:00Z"));
    }
    assert_true(policy_due_ticks(*state, &c, "Europe/London", utc("2024-07-01T00:00:00Z"),
                                 utc("2024-07-03T00:00:00Z"), 100, &d));
    assert_int_equal(d.n, 2);
    assert_int_equal(d.ticks[0], utc("2024-07-01T11:00:00Z"));
    assert_int_equal(d.ticks[1], utc("2024-07-02T11:00:00Z"));
    /* The remembered valid zone never vouches for another name. */
    assert_false(policy_due_ticks(*state, &c, "Mars/Olympus", utc("2024-07-01T00:00:00Z"),
                                  utc("2024-07-03T00:00:00Z"), 100, &d));
    assert_true(policy_due_ticks(*state, &c, "Europe/London", utc("2024-07-01T00:00:00Z"),
                                 utc("2024-07-03T00:00:00Z"), 100, &d));
    assert_false(policy_due_ticks(*state, &c, "Europe/Londo", utc("2024-07-01T00:00:00Z"),
                                  utc("2024-07-03T00:00:00Z"), 100, &d));
}

/* 600 due minutes, all kept: every one of them, in order, 60 s apart (the search asks for
 * fire times in growing batches; none may be lost or repeated at a batch's edge). */
static void t_due_many_kept(void **state)
{
    struct cron_expr c = parse("* * * * *");
    struct policy_due d;
    int64_t now = utc("2024-01-01T10:00:00Z"), anchor = now - 600 * 60;

    assert_true(policy_due_ticks(*state, &c, "", anchor, now, 1000, &d));
    assert_int_equal(d.n, 600);
    for (size_t i = 0; i < d.n; i++)
        assert_int_equal(d.ticks[i], anchor + 60 * (int64_t)(i + 1));
    assert_int_equal(d.skipped, 0);
    assert_int_equal(d.newest, now);
    assert_int_equal(d.next, now + 60);
}

static void t_keep(void **state)
{
    (void)state;
    assert_int_equal(policy_keep(0, 100), 100); /* no expired_limit: the cap */
    assert_int_equal(policy_keep(1, 100), 1);
    assert_int_equal(policy_keep(5, 100), 5);
    assert_int_equal(policy_keep(500, 100), 100); /* never above the cap */
    assert_int_equal(policy_keep(0, 0), 1);
}

/* ---- backoff ---------------------------------------------------------------------------- */

static void t_retry_delay(void **state)
{
    static const struct {
        int try_number;
        int64_t want;
    } cases[] = {{0, 5},   {1, 5},     {2, 10},    {3, 20},    {4, 40},    {5, 80},
                 {8, 640}, {10, 2560}, {11, 3600}, {12, 3600}, {64, 3600}, {1000, 3600}};
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t got = policy_retry_delay_s(cases[i].try_number);
        if (got != cases[i].want)
            fail_msg("try %d: %lld, want %lld", cases[i].try_number, (long long)got,
                     (long long)cases[i].want);
    }
}

static void t_hook_delay(void **state)
{
    static const struct {
        int attempts;
        int64_t want;
    } cases[] = {{1, 10}, {2, 20}, {3, 40}, {6, 320}, {9, 2560}, {10, 3600}, {30, 3600}};
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t got = policy_hook_delay_s(cases[i].attempts);
        if (got != cases[i].want)
            fail_msg("attempt %d: %lld, want %lld", cases[i].attempts, (long long)got,
                     (long long)cases[i].want);
    }
}

/* ---- suggestions ------------------------------------------------------------------------ */

static void t_suggest(void **state)
{
    static const struct {
        int64_t kb, milli;
        int64_t cpu, mem;
    } cases[] = {
        {0, 0, 2, 2},                             /* idle: the +2 floor */
        {1, 1, 3, 3},                             /* anything at all rounds up to 1 */
        {1048576, 1000, 4, 4},                    /* 1 GiB, 1 core: 1.4 -> 2, + 2 */
        {5 * 1048576, 5000, 9, 9},                /* 5 x 1.4 = 7 exactly: stays 7, + 2 */
        {5 * 1048576 + 1, 5001, 10, 10},          /* just above: 8, + 2 */
        {512 * 1024, 250, 3, 3},                  /* 0.7 GiB, 0.35 cores: 1, + 2 */
        {300LL * 1048576, 200000, 150, 350},      /* 420 GiB, 282 cores: capped */
        {INT64_MAX / 2, INT64_MAX / 2, 150, 350}, /* absurd inputs do not overflow */
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct policy_suggestion s;
        policy_suggest(cases[i].kb, cases[i].milli, &s);
        if (s.cpu != cases[i].cpu || s.mem_gb != cases[i].mem)
            fail_msg("case %zu: cpu %lld mem %lld, want %lld %lld", i, (long long)s.cpu,
                     (long long)s.mem_gb, (long long)cases[i].cpu, (long long)cases[i].mem);
    }
}

/* ---- resource strings ------------------------------------------------------------------- */

static void t_cpu_cores(void **state)
{
    static const struct {
        const char *text;
        double want;
    } cases[] = {
        {"1", 1}, {"0.5", 0.5}, {"500m", 0.5}, {"2~4", 4}, {"0.5~1.5", 1.5}, {"16", 16},
        {"", 0},  {"abc", 0},   {"-1", 0},     {"2x", 0},  {"1m5", 0},
    };
    (void)state;
    assert_true(policy_cpu_cores(NULL) == 0);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        double got = policy_cpu_cores(cases[i].text);
        if (got != cases[i].want)
            fail_msg("'%s': %g, want %g", cases[i].text, got, cases[i].want);
    }
}

static void t_gpus(void **state)
{
    static const struct {
        const char *text;
        double want;
        const char *type;
    } cases[] = {
        {"1", 1, ""},      {"0.5", 0.5, ""},  {"2(V100)", 2, "V100"}, {"(A100-80g)", 1, "A100-80g"},
        {"", 0, ""},       {"x", 0, ""},      {"2(V100", 0, ""},      {"2()", 0, ""},
        {"2(V 1)", 0, ""}, {"2(V1)x", 0, ""}, {"-1", 0, ""},          {"1x", 0, ""},
    };
    struct arena a = ARENA_INIT;
    const char *type;
    (void)state;
    assert_true(policy_gpus(&a, NULL, &type) == 0);
    assert_string_equal(type, "");
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        double got = policy_gpus(&a, cases[i].text, &type);
        if (got != cases[i].want || strcmp(type, cases[i].type))
            fail_msg("'%s': %g '%s', want %g '%s'", cases[i].text, got, type, cases[i].want,
                     cases[i].type);
    }
    arena_free(&a);
}

static void t_memory_bytes(void **state)
{
    const int64_t k = 1024, m = k * k, g = m * k;
    const struct {
        const char *text;
        int64_t want;
    } cases[] = {
        {"2G", 2 * g},      {"2Gi", 2 * g},      {"2GB", 2 * g},      {"512M", 512 * m},
        {"512Mi", 512 * m}, {"1024K", m},        {"1.5G", g + g / 2}, {"1T", g * k},
        {"2", 2 * g},       {"2~4G", 4 * g},     {"4g", 4 * g},       {"", 0},
        {"G", 0},           {"2X", 0},           {"-1G", 0},          {"0", 0},
        {"2Gx", 0},         {"99999999999T", 0},
    };
    (void)state;
    assert_int_equal(policy_memory_bytes(NULL), 0);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t got = policy_memory_bytes(cases[i].text);
        if (got != cases[i].want)
            fail_msg("'%s': %lld, want %lld", cases[i].text, (long long)got,
                     (long long)cases[i].want);
    }
}

/* ---- names --------------------------------------------------------------------------------- */

static void t_attempt_name(void **state)
{
    /* The format the scheduling design fixes (scheduling.md §3.1), and exec.h's name rule. */
    const char *n = sched_attempt_name(*state, 12, 345, 2);
    assert_string_equal(n, "cube-r12-t345-a2");
    assert_true(exec_name_valid(n));
    assert_true(exec_name_valid(sched_attempt_name(*state, INT64_MAX, INT64_MAX, 1000)));
}

static void t_alert_states(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"queued,running,succeeded,failed,cancelled", "queued,running,succeeded,failed,cancelled"},
        /* cube-studio's default, with its names mapped */
        {"Pending,Running,Succeeded,Failed,Terminated",
         "queued,running,succeeded,failed,cancelled"},
        {" failed , Succeeded ", "failed,succeeded"},
        {"Created,Waiting,Pending", "queued"}, /* three names, one state */
        {"Unknown,failed,bogus", "failed"},    /* unknown names dropped */
        {"", ""},
        {",,,", ""},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *got = sched_alert_states(*state, cases[i].in);
        if (strcmp(got, cases[i].want))
            fail_msg("'%s': '%s', want '%s'", cases[i].in, got, cases[i].want);
    }
    assert_string_equal(sched_alert_states(*state, NULL), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_due_all_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(t_due_expired_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(t_due_long_catchup, setup, teardown),
        cmocka_unit_test_setup_teardown(t_due_count_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(t_due_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(t_due_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(t_due_utc_names, setup, teardown),
        cmocka_unit_test_setup_teardown(t_due_many_kept, setup, teardown),
        cmocka_unit_test(t_keep),
        cmocka_unit_test(t_retry_delay),
        cmocka_unit_test(t_hook_delay),
        cmocka_unit_test(t_suggest),
        cmocka_unit_test(t_cpu_cores),
        cmocka_unit_test(t_memory_bytes),
        cmocka_unit_test(t_gpus),
        cmocka_unit_test_setup_teardown(t_attempt_name, setup, teardown),
        cmocka_unit_test_setup_teardown(t_alert_states, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
