/*
 * test_cron.c — cron expressions: every syntax form and every parse error,
 * next fire times across month ends, leap days, the day-of-month/day-of-week
 * OR rule, named zones and both DST transitions, zone validation, and speed.
 *
 * Expected times are worked out from the calendar and the zone's published
 * rules (stated next to each case) and written as ISO-8601 UTC strings, which
 * utc() converts with timegm.  The DST cases use 2024, when:
 *   Europe/Berlin     Mar 31 01:00Z: 02:00 CET (+1) -> 03:00 CEST (+2)
 *                     Oct 27 01:00Z: 03:00 CEST     -> 02:00 CET (02:00-02:59 twice)
 *   America/New_York  Mar 10 07:00Z: 02:00 EST (-5) -> 03:00 EDT (-4)
 *                     Nov  3 06:00Z: 02:00 EDT      -> 01:00 EST (01:00-01:59 twice)
 *   America/Havana    Mar 10 05:00Z: 00:00 CST (-5) -> 01:00 CDT (-4) (midnight skipped)
 *   Australia/Lord_Howe Oct 6 (local) 15:30Z: 02:00 (+10:30) -> 02:30 (+11)
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

#include "core/cron.h"
#include "core/common.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Unix time of "YYYY-MM-DDTHH:MM:SSZ", through timegm. */
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

/* For failure messages: t as an ISO string, or "-1". */
static const char *iso(int64_t t, char *out, size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t < 0 || !gmtime_r(&tt, &tm))
        snprintf(out, outlen, "%lld", (long long)t);
    else
        strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static struct cron_expr parse_ok(const char *text)
{
    struct cron_expr c;
    char err[128] = "";

    if (!cron_parse(text, &c, err, sizeof(err)))
        fail_msg("cron_parse(\"%s\") failed: %s", text, err);
    return c;
}

/* The bit set of a list of values ending in -1. */
static uint64_t bits_of(const int *v)
{
    uint64_t b = 0;
    for (; *v >= 0; v++)
        b |= UINT64_C(1) << *v;
    return b;
}
#define BITS(...) bits_of((const int[]){__VA_ARGS__, -1})

/* Every value lo..hi. */
static uint64_t span(int lo, int hi)
{
    uint64_t b = 0;
    for (int v = lo; v <= hi; v++)
        b |= UINT64_C(1) << v;
    return b;
}

static void check_fields(const char *text, uint64_t minute, uint64_t hour, uint64_t dom,
                         uint64_t month, uint64_t dow)
{
    struct cron_expr c = parse_ok(text);

    if (c.minute != minute || c.hour != hour || c.dom != dom || c.month != month || c.dow != dow)
        fail_msg("\"%s\": got %llx %x %x %x %x, want %llx %llx %llx %llx %llx", text,
                 (unsigned long long)c.minute, c.hour, c.dom, c.month, c.dow,
                 (unsigned long long)minute, (unsigned long long)hour, (unsigned long long)dom,
                 (unsigned long long)month, (unsigned long long)dow);
}

/* The minute field of "<minute> * * * *". */
static void check_minutes(const char *field, uint64_t want)
{
    char text[64];

    snprintf(text, sizeof(text), "%s * * * *", field);
    check_fields(text, want, span(0, 23), span(1, 31), span(1, 12), span(0, 6));
}

/* The day-of-week field of "0 0 * * <dow>". */
static void check_dow(const char *field, uint64_t want)
{
    char text[64];

    snprintf(text, sizeof(text), "0 0 * * %s", field);
    check_fields(text, 1, 1, span(1, 31), span(1, 12), want);
}

static void check_err(const char *text, const char *want)
{
    struct cron_expr c, before;
    char err[128] = "";

    memset(&c, 0x5a, sizeof(c));
    before = c;
    if (cron_parse(text, &c, err, sizeof(err)))
        fail_msg("\"%s\" parsed, want error \"%s\"", text, want);
    if (strcmp(err, want) != 0)
        fail_msg("\"%s\": got \"%s\", want \"%s\"", text, err, want);
    assert_memory_equal(&c, &before, sizeof(c));
}

/*
 * want[0] is the first fire after `after`, want[i] the first after want[i-1];
 * checked through cron_next one call at a time and through cron_next_n.
 */
static void check_seq(const char *expr, const char *tz, const char *after, const char *const *want,
                      size_t n)
{
    struct cron_expr c = parse_ok(expr);
    int64_t t = utc(after), got[16];
    char a[32], b[32];
    size_t k;

    assert_true(n <= ARRAY_LEN(got));
    for (size_t i = 0; i < n; i++) {
        int64_t next = cron_next(&c, tz, t), w = utc(want[i]);
        if (next != w)
            fail_msg("\"%s\" in %s after %s: got %s, want %s", expr, tz ? tz : "UTC",
                     iso(t, a, sizeof(a)), iso(next, b, sizeof(b)), want[i]);
        t = next;
    }
    k = cron_next_n(&c, tz, utc(after), got, n);
    assert_int_equal(k, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], utc(want[i]));
}
#define SEQ(expr, tz, after, ...)                                  \
    check_seq(expr, tz, after, (const char *const[]){__VA_ARGS__}, \
              ARRAY_LEN(((const char *const[]){__VA_ARGS__})))

static void check_none(const char *expr, const char *tz, const char *after)
{
    struct cron_expr c = parse_ok(expr);
    int64_t out[1];

    assert_int_equal(cron_next(&c, tz, utc(after)), -1);
    assert_int_equal(cron_next_n(&c, tz, utc(after), out, 1), 0);
}

/* ---- parsing: forms --------------------------------------------------------------------- */

static void t_parse_minute_forms(void **state)
{
    (void)state;
    check_minutes("*", span(0, 59));
    check_minutes("7", BITS(7));
    check_minutes("0", BITS(0));
    check_minutes("59", BITS(59));
    check_minutes("007", BITS(7));
    check_minutes("1-3", BITS(1, 2, 3));
    check_minutes("4-4", BITS(4));
    check_minutes("*/15", BITS(0, 15, 30, 45));
    check_minutes("*/1", span(0, 59));
    check_minutes("*/60", BITS(0));
    check_minutes("10-30/10", BITS(10, 20, 30));
    check_minutes("10-35/10", BITS(10, 20, 30));
    check_minutes("5/20", BITS(5, 25, 45));
    check_minutes("50/3", BITS(50, 53, 56, 59));
    check_minutes("1,3-5,10-20/5", BITS(1, 3, 4, 5, 10, 15, 20));
    check_minutes("30,0,30", BITS(0, 30));
}

static void t_parse_each_field(void **state)
{
    (void)state;
    check_fields("0 0 1 1 0", BITS(0), BITS(0), BITS(1), BITS(1), BITS(0));
    check_fields("59 23 31 12 6", BITS(59), BITS(23), BITS(31), BITS(12), BITS(6));
    check_fields("1 2-4 */10 2/5 1-5", BITS(1), BITS(2, 3, 4), BITS(1, 11, 21, 31), BITS(2, 7, 12),
                 BITS(1, 2, 3, 4, 5));
    check_fields("0 */6 1,15 */3 *", BITS(0), BITS(0, 6, 12, 18), BITS(1, 15), BITS(1, 4, 7, 10),
                 span(0, 6));
    check_fields("0 0 * * *", BITS(0), BITS(0), span(1, 31), span(1, 12), span(0, 6));
}

static void t_parse_names(void **state)
{
    (void)state;
    check_fields("0 0 * jan,Mar-MAY,dec *", 1, 1, span(1, 31), BITS(1, 3, 4, 5, 12), span(0, 6));
    check_fields("0 0 * JAN-dec/3 *", 1, 1, span(1, 31), BITS(1, 4, 7, 10), span(0, 6));
    check_fields("0 0 * feb/4 *", 1, 1, span(1, 31), BITS(2, 6, 10), span(0, 6));
    check_fields("0 0 * 1,feb,3 *", 1, 1, span(1, 31), BITS(1, 2, 3), span(0, 6));
    check_dow("MON-fri", BITS(1, 2, 3, 4, 5));
    check_dow("sat,SUN", BITS(0, 6));
    check_dow("Tue,thu", BITS(2, 4));
    check_dow("mon/2", BITS(1, 3, 5));
    check_dow("sun-sat", span(0, 6));
}

static void t_parse_sunday_is_0_and_7(void **state)
{
    (void)state;
    check_dow("0", BITS(0));
    check_dow("7", BITS(0));
    check_dow("5-7", BITS(0, 5, 6));
    check_dow("fri-7", BITS(0, 5, 6));
    check_dow("0-7", span(0, 6));
    check_dow("*/2", BITS(0, 2, 4, 6));
    check_dow("1/2", BITS(1, 3, 5));
    check_dow("0,7", BITS(0));
}

static void t_parse_any_flags(void **state)
{
    struct cron_expr c;
    (void)state;

    c = parse_ok("* * * * *");
    assert_true(c.dom_any && c.dow_any);
    c = parse_ok("0 0 13 * fri");
    assert_false(c.dom_any || c.dow_any);
    c = parse_ok("0 0 * * fri");
    assert_true(c.dom_any && !c.dow_any);
    c = parse_ok("0 0 13 * *");
    assert_true(!c.dom_any && c.dow_any);
    /* Only a lone `*` is "any": these select every day but are restrictions as written. */
    c = parse_ok("0 0 */1 * 0-7");
    assert_false(c.dom_any || c.dow_any);
    c = parse_ok("0 0 1-31 * */2");
    assert_false(c.dom_any || c.dow_any);
}

static void t_parse_whitespace(void **state)
{
    struct cron_expr a, b;
    (void)state;

    a = parse_ok("5 12 * * 1");
    b = parse_ok("\t 5  12\t\t*   *\t1  \t");
    assert_memory_equal(&a, &b, sizeof(a));
}

static void t_parse_macros(void **state)
{
    static const char *const yearly[] = {"@yearly", "@annually", "@YEARLY"};
    static const char *const daily[] = {"@daily", "@midnight", " @Daily "};
    struct cron_expr c;
    (void)state;

    /* Vixie's table: yearly 0 0 1 1 *, monthly 0 0 1 * *, weekly 0 0 * * 0, daily 0 0 * * *, hourly
     * 0 * * * * */
    for (size_t i = 0; i < ARRAY_LEN(yearly); i++) {
        check_fields(yearly[i], BITS(0), BITS(0), BITS(1), BITS(1), span(0, 6));
        c = parse_ok(yearly[i]);
        assert_true(!c.dom_any && c.dow_any);
    }
    check_fields("@monthly", BITS(0), BITS(0), BITS(1), span(1, 12), span(0, 6));
    check_fields("@weekly", BITS(0), BITS(0), span(1, 31), span(1, 12), BITS(0));
    c = parse_ok("@weekly");
    assert_true(c.dom_any && !c.dow_any);
    for (size_t i = 0; i < ARRAY_LEN(daily); i++)
        check_fields(daily[i], BITS(0), BITS(0), span(1, 31), span(1, 12), span(0, 6));
    check_fields("@hourly", BITS(0), span(0, 23), span(1, 31), span(1, 12), span(0, 6));
}

/* ---- parsing: errors -------------------------------------------------------------------- */

static void t_err_field_count(void **state)
{
    struct cron_expr c;
    char err[64] = "";
    (void)state;

    check_err("", "expected 5 fields, got 0");
    check_err(" \t ", "expected 5 fields, got 0");
    check_err("*", "expected 5 fields, got 1");
    check_err("* * * *", "expected 5 fields, got 4");
    check_err("0 0 * * * *", "expected 5 fields, got 6");
    check_err("0 0 * * * /bin/true", "expected 5 fields, got 6");
    assert_false(cron_parse(NULL, &c, err, sizeof(err)));
    assert_string_equal(err, "expected 5 fields, got 0");
}

static void t_err_out_of_range(void **state)
{
    (void)state;
    check_err("60 * * * *", "minute: 60 is out of range 0-59");
    check_err("0 24 * * *", "hour: 24 is out of range 0-23");
    check_err("0 25 * * *", "hour: 25 is out of range 0-23");
    check_err("0 0 0 * *", "day-of-month: 0 is out of range 1-31");
    check_err("0 0 32 * *", "day-of-month: 32 is out of range 1-31");
    check_err("0 0 * 0 *", "month: 0 is out of range 1-12");
    check_err("0 0 * 13 *", "month: 13 is out of range 1-12");
    check_err("0 0 * * 8", "day-of-week: 8 is out of range 0-7");
    check_err("0 0 * * 1-8", "day-of-week: 8 is out of range 0-7");
    check_err("0-60 * * * *", "minute: 60 is out of range 0-59");
    check_err("0 0 1,40 * *", "day-of-month: 40 is out of range 1-31");
    check_err("99999999999999999999 * * * *", "minute: 99999999999999999999 is out of range 0-59");
}

static void t_err_empty_element(void **state)
{
    (void)state;
    check_err("1,,2 * * * *", "minute: empty list element in '1,,2'");
    check_err(",5 * * * *", "minute: empty list element in ',5'");
    check_err("0 5, * * *", "hour: empty list element in '5,'");
    check_err("0 0 * , *", "month: empty list element in ','");
}

static void t_err_step(void **state)
{
    (void)state;
    check_err("*/0 * * * *", "minute: step 0 is out of range 1-60");
    check_err("0 1-5/0 * * *", "hour: step 0 is out of range 1-24");
    check_err("0 0 1/00 * *", "day-of-month: step 00 is out of range 1-31");
    check_err("*/61 * * * *", "minute: step 61 is out of range 1-60");
    check_err("0 0 * * */8", "day-of-week: step 8 is out of range 1-7");
    check_err("*/ * * * *", "minute: missing step in '*/'");
    check_err("0 0 * */x *", "month: missing step in '*/x'");
}

static void t_err_reversed_range(void **state)
{
    (void)state;
    check_err("0 5-2 * * *", "hour: range 5-2 is reversed");
    check_err("30-10/5 * * * *", "minute: range 30-10 is reversed");
    check_err("0 0 * dec-jan *", "month: range dec-jan is reversed");
    check_err("0 0 * * fri-mon", "day-of-week: range fri-mon is reversed");
    check_err("0 0 * * fri-sun",
              "day-of-week: range fri-sun is reversed (Sunday is 7 at a range's end)");
}

static void t_err_junk(void **state)
{
    (void)state;
    check_err("5x * * * *", "minute: unexpected 'x' in '5x'");
    check_err("0 0 1x * *", "day-of-month: unexpected 'x' in '1x'");
    check_err("*5 * * * *", "minute: unexpected '5' in '*5'");
    check_err("*-5 * * * *", "minute: unexpected '-' in '*-5'");
    check_err("-5 * * * *", "minute: unexpected '-' in '-5'");
    check_err("1-2-3 * * * *", "minute: unexpected '-' in '1-2-3'");
    check_err("1/2/3 * * * *", "minute: unexpected '/' in '1/2/3'");
    check_err("5- * * * *", "minute: missing range end in '5-'");
    check_err("0 0 ? * *", "day-of-month: unexpected '?' in '?'");
    check_err("0 0 L * *", "day-of-month: 'L' is not a number");
    check_err("0 0 * * 5#3", "day-of-week: unexpected '#' in '5#3'");
    check_err("0 0 * * 1\n", "day-of-week: unexpected byte 0x0a in '1\n'");
}

static void t_err_names(void **state)
{
    (void)state;
    check_err("0 0 * foo *", "month: unknown name 'foo'");
    check_err("0 0 * january *", "month: unknown name 'january'");
    check_err("0 0 * * monday", "day-of-week: unknown name 'monday'");
    check_err("0 0 * mon *", "month: unknown name 'mon'");
    check_err("0 0 * * jan", "day-of-week: unknown name 'jan'");
    check_err("0 0 * * mon-xyz", "day-of-week: unknown name 'xyz'");
    check_err("jan 0 * * *", "minute: 'jan' is not a number");
    check_err("0 noon * * *", "hour: 'noon' is not a number");
    check_err("0 0 mon * *", "day-of-month: 'mon' is not a number");
}

static void t_err_macros(void **state)
{
    (void)state;
    check_err("@reboot", "unknown macro '@reboot'");
    check_err("@", "unknown macro '@'");
    check_err("@dailyx", "unknown macro '@dailyx'");
    check_err("@daily 0", "@daily must be the whole expression");
    check_err("0 @daily * * *", "hour: unexpected '@' in '@daily'");
}

static void t_err_buffer(void **state)
{
    struct cron_expr c;
    char err[8];
    (void)state;

    /* No buffer, or a short one: still false, never an overflow. */
    assert_false(cron_parse("0 25 * * *", &c, NULL, 0));
    assert_false(cron_parse("0 25 * * *", &c, err, sizeof(err)));
    assert_string_equal(err, "hour: 2");
}

/* ---- next fire time in UTC -------------------------------------------------------------- */

static void t_next_step_and_strictly_after(void **state)
{
    (void)state;
    SEQ("*/15 * * * *", NULL, "2024-05-05T10:07:00Z", "2024-05-05T10:15:00Z",
        "2024-05-05T10:30:00Z", "2024-05-05T10:45:00Z", "2024-05-05T11:00:00Z");
    /* On a fire time exactly, the next one; a second before, that one. */
    SEQ("*/15 * * * *", "", "2024-05-05T10:15:00Z", "2024-05-05T10:30:00Z");
    SEQ("*/15 * * * *", "", "2024-05-05T10:14:59Z", "2024-05-05T10:15:00Z");
    SEQ("* * * * *", "", "2024-05-05T10:14:59Z", "2024-05-05T10:15:00Z", "2024-05-05T10:16:00Z");
    /* 10-30/20 is 10 and 30; across the hour and the day. */
    SEQ("10-30/20 23 * * *", "", "2024-05-05T23:15:00Z", "2024-05-05T23:30:00Z",
        "2024-05-06T23:10:00Z");
    /* Midnight of a new year: 23:59 on Dec 31 -> 00:00 on Jan 1. */
    SEQ("0 0 * * *", "", "2024-12-31T23:59:00Z", "2025-01-01T00:00:00Z");
}

static void t_next_month_ends(void **state)
{
    (void)state;
    /* Daily at noon from Jan 31: the next day is Feb 1. */
    SEQ("0 12 * * *", NULL, "2024-01-31T12:00:00Z", "2024-02-01T12:00:00Z");
    /* The 31st: February, April, June have none, so Jan 31 -> Mar 31 -> May 31 -> Jul 31. */
    SEQ("0 0 31 * *", NULL, "2024-01-31T00:00:00Z", "2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z",
        "2024-07-31T00:00:00Z", "2024-08-31T00:00:00Z");
    /* The 30th skips only February (2024 is a leap year: Feb has 29 days). */
    SEQ("0 6 30 * *", NULL, "2024-01-30T06:00:00Z", "2024-03-30T06:00:00Z");
    /* Once a year. */
    SEQ("0 0 1 1 *", NULL, "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
}

static void t_next_leap_day(void **state)
{
    (void)state;
    /* 2027 is not a leap year, 2028 is (divisible by 4, not by 100). */
    SEQ("0 0 29 2 *", NULL, "2027-03-01T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z");
    SEQ("0 0 29 2 *", NULL, "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z");
    /* 2000 was a leap year (divisible by 400). */
    SEQ("0 0 29 feb *", NULL, "1999-01-01T00:00:00Z", "2000-02-29T00:00:00Z");
    /* After 2096 the next Feb 29 is in 2104 (2100 is not a leap year): past the 5-year horizon. */
    check_none("0 0 29 2 *", NULL, "2096-03-01T00:00:00Z");
}

static void t_next_never(void **state)
{
    (void)state;
    check_none("0 0 30 2 *", NULL, "2024-01-01T00:00:00Z");
    check_none("0 0 31 2,4,6,9,11 *", NULL, "2024-01-01T00:00:00Z");
    check_none("0 0 30 2 *", "Europe/Berlin", "2024-01-01T00:00:00Z");
}

static void t_next_dom_dow_or(void **state)
{
    (void)state;
    /*
     * 2024-09-01 is a Sunday, so September's Fridays are 6, 13, 20, 27 and
     * October's 4, 11, 18; Oct 13 is a Sunday.  Both restricted: 13th OR Friday.
     */
    SEQ("0 0 13 * fri", NULL, "2024-09-01T00:00:00Z", "2024-09-06T00:00:00Z",
        "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z", "2024-09-27T00:00:00Z",
        "2024-10-04T00:00:00Z", "2024-10-11T00:00:00Z", "2024-10-13T00:00:00Z",
        "2024-10-18T00:00:00Z");
    /* One side `*`: AND, i.e. just the other side. */
    SEQ("0 0 13 * *", NULL, "2024-09-01T00:00:00Z", "2024-09-13T00:00:00Z", "2024-10-13T00:00:00Z");
    SEQ("0 0 * * fri", NULL, "2024-09-01T00:00:00Z", "2024-09-06T00:00:00Z",
        "2024-09-13T00:00:00Z");
    /* `*` + `/2` restricts (odd days), so OR: 3, 5, 6 (Friday), 7. */
    SEQ("0 0 */2 * fri", NULL, "2024-09-01T00:00:00Z", "2024-09-03T00:00:00Z",
        "2024-09-05T00:00:00Z", "2024-09-06T00:00:00Z", "2024-09-07T00:00:00Z");
    /* The month still has to match under OR: 13th or Friday, in October only. */
    SEQ("0 0 13 oct fri", NULL, "2024-09-01T00:00:00Z", "2024-10-04T00:00:00Z",
        "2024-10-11T00:00:00Z", "2024-10-13T00:00:00Z");
}

static void t_next_names_and_macros(void **state)
{
    (void)state;
    /* July 2024 starts on a Monday: first Monday 9:00 in July is the 1st, then the 8th. */
    SEQ("0 9 * jul mon", NULL, "2024-01-01T00:00:00Z", "2024-07-01T09:00:00Z",
        "2024-07-08T09:00:00Z");
    /* Weekdays at 8:30: 2024-05-03 is a Friday, so Friday, then Monday the 6th. */
    SEQ("30 8 * * mon-fri", NULL, "2024-05-03T08:00:00Z", "2024-05-03T08:30:00Z",
        "2024-05-06T08:30:00Z");
    /* Sunday as 7 and as 0 alike: 2024-05-12 is a Sunday. */
    SEQ("0 0 * * 7", NULL, "2024-05-08T00:00:00Z", "2024-05-12T00:00:00Z");
    SEQ("0 0 * * sun", NULL, "2024-05-08T00:00:00Z", "2024-05-12T00:00:00Z");
    /* @weekly is Sunday 00:00: from Wednesday 2024-05-08, Sunday the 12th, then the 19th. */
    SEQ("@weekly", NULL, "2024-05-08T13:00:00Z", "2024-05-12T00:00:00Z", "2024-05-19T00:00:00Z");
    SEQ("@monthly", NULL, "2024-05-08T13:00:00Z", "2024-06-01T00:00:00Z", "2024-07-01T00:00:00Z");
    SEQ("@yearly", NULL, "2024-05-08T13:00:00Z", "2025-01-01T00:00:00Z");
    SEQ("@daily", NULL, "2024-05-08T13:00:00Z", "2024-05-09T00:00:00Z");
    SEQ("@hourly", NULL, "2024-05-08T13:00:00Z", "2024-05-08T14:00:00Z");
    /* Quarterly on the first day: jan-dec/3 is Jan, Apr, Jul, Oct. */
    SEQ("0 0 1 jan-dec/3 *", NULL, "2024-05-08T00:00:00Z", "2024-07-01T00:00:00Z",
        "2024-10-01T00:00:00Z", "2025-01-01T00:00:00Z");
}

static void t_next_after_range(void **state)
{
    struct cron_expr c = parse_ok("* * * * *");
    (void)state;

    assert_int_equal(cron_next(&c, NULL, -1), -1);
    assert_int_equal(cron_next(&c, NULL, CRON_TIME_MAX + 1), -1);
    assert_int_equal(cron_next(&c, NULL, INT64_MAX), -1);
    assert_int_equal(cron_next(&c, NULL, 0), utc("1970-01-01T00:01:00Z"));
    SEQ("0 0 1 1 *", NULL, "9998-06-01T00:00:00Z", "9999-01-01T00:00:00Z");
}

/* ---- time zones ------------------------------------------------------------------------- */

static void t_next_shanghai(void **state)
{
    (void)state;
    /* UTC+8 all year, no DST: 09:00 there is 01:00 UTC. */
    SEQ("0 9 * * *", "Asia/Shanghai", "2024-05-05T00:00:00Z", "2024-05-05T01:00:00Z",
        "2024-05-06T01:00:00Z");
    /* Already past 09:00 Shanghai (02:00Z = 10:00): tomorrow. */
    SEQ("0 9 * * *", "Asia/Shanghai", "2024-05-05T02:00:00Z", "2024-05-06T01:00:00Z");
    /* The local date decides: Shanghai midnight on Jan 1 is Dec 31 16:00 UTC. */
    SEQ("0 0 1 1 *", "Asia/Shanghai", "2024-06-01T00:00:00Z", "2024-12-31T16:00:00Z");
    /* Friday 09:00 in Shanghai: 2024-05-03 is a Friday, and 00:00Z is 08:00 there. */
    SEQ("0 9 * * fri", "Asia/Shanghai", "2024-05-03T00:00:00Z", "2024-05-03T01:00:00Z",
        "2024-05-10T01:00:00Z");
}

static void t_next_half_hour_offset(void **state)
{
    (void)state;
    /* Asia/Kolkata is UTC+5:30: 09:00 there is 03:30 UTC; 00:15 is 18:45 the day before. */
    SEQ("0 9 * * *", "Asia/Kolkata", "2024-05-05T00:00:00Z", "2024-05-05T03:30:00Z");
    SEQ("15 0 * * *", "Asia/Kolkata", "2024-05-05T00:00:00Z", "2024-05-05T18:45:00Z");
}

static void t_dst_berlin_spring(void **state)
{
    (void)state;
    /* Rule 1: 02:30 does not exist on Mar 31; it fires once at 03:00 CEST = 01:00Z. */
    SEQ("30 2 * * *", "Europe/Berlin", "2024-03-30T02:00:00Z", "2024-03-31T01:00:00Z",
        "2024-04-01T00:30:00Z");
    /* Every 30 min: 01:30 CET, then 02:00/02:30 (missing) and 03:00 fire once at 03:00 CEST. */
    SEQ("*/30 * * * *", "Europe/Berlin", "2024-03-31T00:15:00Z", "2024-03-31T00:30:00Z",
        "2024-03-31T01:00:00Z", "2024-03-31T01:30:00Z");
    /* Times just before and after the gap are unaffected: 01:59 CET, 03:01 CEST. */
    SEQ("59 1 * * *", "Europe/Berlin", "2024-03-30T12:00:00Z", "2024-03-31T00:59:00Z");
    SEQ("1 3 * * *", "Europe/Berlin", "2024-03-30T12:00:00Z", "2024-03-31T01:01:00Z");
    /* Only the gap day: 02:15 on Mar 31 fires at 03:00 CEST. */
    SEQ("15 2 31 3 *", "Europe/Berlin", "2024-01-01T00:00:00Z", "2024-03-31T01:00:00Z",
        "2025-03-31T00:15:00Z");
}

static void t_dst_berlin_fall(void **state)
{
    (void)state;
    /*
     * Rule 2: 02:30 occurs twice on Oct 27 (CEST 00:30Z, CET 01:30Z): the first
     * one only, then 02:30 CET on the 28th (01:30Z).
     */
    SEQ("30 2 * * *", "Europe/Berlin", "2024-10-26T01:00:00Z", "2024-10-27T00:30:00Z",
        "2024-10-28T01:30:00Z");
    /* Asked from inside the second 02:xx hour (02:10 CET = 01:10Z): the next day. */
    SEQ("30 2 * * *", "Europe/Berlin", "2024-10-27T01:10:00Z", "2024-10-28T01:30:00Z");
    /* Rule 3: hourly fires at 02:00 CEST (00:00Z), 02:00 CET (01:00Z), 03:00 CET (02:00Z). */
    SEQ("0 * * * *", "Europe/Berlin", "2024-10-26T23:30:00Z", "2024-10-27T00:00:00Z",
        "2024-10-27T01:00:00Z", "2024-10-27T02:00:00Z");
    /* At :30 from 02:45 CEST (00:45Z): 02:30 CET (01:30Z) comes before 03:30 CET. */
    SEQ("30 * * * *", "Europe/Berlin", "2024-10-27T00:45:00Z", "2024-10-27T01:30:00Z",
        "2024-10-27T02:30:00Z");
}

/*
 * Rule 3 over whole days: Berlin's offset is a whole number of hours, so every
 * real hour starts at minute 0 of its wall clock.  An hourly schedule must fire
 * at every UTC hour across both changes, a quarter-hourly one every 900 s.
 */
static void t_dst_berlin_every_real_hour(void **state)
{
    static const char *const from[] = {"2024-03-30T12:00:00Z", "2024-10-26T12:00:00Z"};
    struct cron_expr hourly = parse_ok("0 * * * *"), quarter = parse_ok("*/15 * * * *");
    (void)state;

    for (size_t i = 0; i < ARRAY_LEN(from); i++) {
        int64_t t = utc(from[i]), u = t;
        for (int k = 0; k < 48; k++) {
            int64_t next = cron_next(&hourly, "Europe/Berlin", t);
            assert_int_equal(next, t + 3600);
            t = next;
        }
        for (int k = 0; k < 4 * 48; k++) {
            int64_t next = cron_next(&quarter, "Europe/Berlin", u);
            assert_int_equal(next, u + 900);
            u = next;
        }
    }
}

static void t_dst_new_york(void **state)
{
    (void)state;
    /* Spring: 02:30 is missing on Mar 10 -> 03:00 EDT = 07:00Z; next day 02:30 EDT = 06:30Z. */
    SEQ("30 2 * * *", "America/New_York", "2024-03-09T12:00:00Z", "2024-03-10T07:00:00Z",
        "2024-03-11T06:30:00Z");
    /* Hourly across it: 01:00 EST (06:00Z), 03:00 EDT (07:00Z), 04:00 EDT (08:00Z). */
    SEQ("0 * * * *", "America/New_York", "2024-03-10T05:30:00Z", "2024-03-10T06:00:00Z",
        "2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z");
    /* Fall: 01:30 occurs at 05:30Z (EDT) and 06:30Z (EST); the first only, then 01:30 EST. */
    SEQ("30 1 * * *", "America/New_York", "2024-11-02T12:00:00Z", "2024-11-03T05:30:00Z",
        "2024-11-04T06:30:00Z");
    /* 02:30 exists once that day (EST): 07:30Z. */
    SEQ("30 2 * * *", "America/New_York", "2024-11-02T12:00:00Z", "2024-11-03T07:30:00Z");
    /* Hourly: 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST. */
    SEQ("0 * * * *", "America/New_York", "2024-11-03T03:30:00Z", "2024-11-03T04:00:00Z",
        "2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z");
}

static void t_dst_other_shapes(void **state)
{
    (void)state;
    /* Havana skips midnight on Mar 10: daily 00:00 fires at 01:00 CDT = 05:00Z. */
    SEQ("0 0 * * *", "America/Havana", "2024-03-09T12:00:00Z", "2024-03-10T05:00:00Z",
        "2024-03-11T04:00:00Z");
    /* Lord Howe moves 30 min (02:00 +10:30 -> 02:30 +11 on Oct 6): 02:15 fires at 02:30 = 15:30Z.
     */
    SEQ("15 2 * * *", "Australia/Lord_Howe", "2024-10-05T00:00:00Z", "2024-10-05T15:30:00Z",
        "2024-10-06T15:15:00Z");
}

static void t_tz_valid(void **state)
{
    static const char *const good[] = {
        "UTC",
        "Asia/Shanghai",
        "Europe/Berlin",
        "America/New_York",
        "America/Argentina/Buenos_Aires",
        "Etc/GMT+5",
        "America/Port-au-Prince",
    };
    static const char *const bad[] = {
        "Mars/Olympus",
        "../etc/passwd",
        "/etc/passwd",
        "Europe/../Europe/Berlin",
        "Europe/./Berlin",
        "Europe//Berlin",
        "Europe/Berlin/",
        "/Europe/Berlin",
        "Europe",
        "europe/berlin",
        "zone.tab",
        "tzdata.zi",
        "localtime",
        "right/UTC",
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "UTC+8",
        " UTC",
        "Europe/Berlin\n",
        ":Europe/Berlin",
        "Asia/Shanghai Asia/Shanghai",
        "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Berlin",
    };
    (void)state;

    assert_true(cron_tz_valid(NULL));
    assert_true(cron_tz_valid(""));
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        if (!cron_tz_valid(good[i]))
            fail_msg("\"%s\" should be valid", good[i]);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (cron_tz_valid(bad[i]))
            fail_msg("\"%s\" should be invalid", bad[i]);
}

static void t_next_bad_tz(void **state)
{
    struct cron_expr c = parse_ok("* * * * *");
    int64_t out[2];
    (void)state;

    /* glibc would run these as UTC; cron_next refuses instead of guessing. */
    assert_int_equal(cron_next(&c, "Mars/Olympus", utc("2024-01-01T00:00:00Z")), -1);
    assert_int_equal(cron_next(&c, "../etc/passwd", utc("2024-01-01T00:00:00Z")), -1);
    assert_int_equal(cron_next_n(&c, "Mars/Olympus", utc("2024-01-01T00:00:00Z"), out, 2), 0);
}

/* cron_next leaves TZ, and what localtime_r computes, as it found them. */
static void t_tz_restored(void **state)
{
    struct cron_expr c = parse_ok("0 9 * * *");
    time_t when = (time_t)utc("2024-07-01T12:00:00Z");
    const char *old = getenv("TZ");
    char *saved = old ? xstrdup(old) : NULL;
    struct tm tm;
    (void)state;

    assert_int_equal(setenv("TZ", "America/New_York", 1), 0);
    tzset();
    assert_int_equal(cron_next(&c, "Asia/Shanghai", utc("2024-05-05T00:00:00Z")),
                     utc("2024-05-05T01:00:00Z"));
    assert_string_equal(getenv("TZ"), "America/New_York");
    assert_non_null(localtime_r(&when, &tm));
    assert_int_equal(tm.tm_gmtoff, -4 * 3600); /* EDT in July */

    assert_int_equal(unsetenv("TZ"), 0);
    tzset();
    assert_int_equal(cron_next(&c, "Europe/Berlin", utc("2024-05-05T00:00:00Z")),
                     utc("2024-05-05T07:00:00Z")); /* 09:00 CEST */
    assert_null(getenv("TZ"));

    /* Already in the requested zone: nothing to switch, same answers. */
    assert_int_equal(setenv("TZ", "Europe/Berlin", 1), 0);
    tzset();
    assert_int_equal(cron_next(&c, "Europe/Berlin", utc("2024-05-05T00:00:00Z")),
                     utc("2024-05-05T07:00:00Z"));
    assert_string_equal(getenv("TZ"), "Europe/Berlin");

    if (saved)
        assert_int_equal(setenv("TZ", saved, 1), 0);
    else
        assert_int_equal(unsetenv("TZ"), 0);
    tzset();
    free(saved);
}

static void t_next_n_preview(void **state)
{
    struct cron_expr c = parse_ok("0 9 * * mon-fri");
    int64_t out[8];
    (void)state;

    /* Weekdays 09:00 Shanghai from Friday 2024-05-03 10:00 local: Mon 6 .. Fri 10 May. */
    assert_int_equal(cron_next_n(&c, "Asia/Shanghai", utc("2024-05-03T02:00:00Z"), out, 5), 5);
    assert_int_equal(out[0], utc("2024-05-06T01:00:00Z"));
    assert_int_equal(out[1], utc("2024-05-07T01:00:00Z"));
    assert_int_equal(out[2], utc("2024-05-08T01:00:00Z"));
    assert_int_equal(out[3], utc("2024-05-09T01:00:00Z"));
    assert_int_equal(out[4], utc("2024-05-10T01:00:00Z"));
    assert_int_equal(cron_next_n(&c, NULL, 0, out, 0), 0);

    /* Fewer than asked when the horizon runs out: Feb 29 2096, then 2104 (2100 is no leap year). */
    c = parse_ok("0 0 29 2 *");
    assert_int_equal(cron_next_n(&c, NULL, utc("2096-01-01T00:00:00Z"), out, 3), 1);
    assert_int_equal(out[0], utc("2096-02-29T00:00:00Z"));
}

/*
 * Speed, for schedules that skip months, days and hours, chained so that each
 * call starts at the previous fire.  Three loops of at most a second each, a
 * generous bound for slow machines and sanitizer builds:
 *   - 10,000 cron_next calls in a DST zone the process is already in: the
 *     search itself (a few microseconds a call);
 *   - 10,000 fire times through cron_next_n, 100 per call (a preview);
 *   - 1,000 cron_next calls that each switch TZ there and back: glibc re-reads
 *     a zone file on every switch, some 10-40 us, more than the search.
 */
static const char *const speed_exprs[] = {
    "*/5 * * * *",   "30 2 * * *", "0 0 13 * fri", "0 0 29 2 *",
    "0 9 * jul mon", "@hourly",    "0 0 1 1 *",    "0 0 30 2 *",
};

/* Runs `calls` calls asking for `per_call` fire times each; returns microseconds. */
static int64_t speed_run(const char *tz, int calls, size_t per_call)
{
    struct cron_expr c[ARRAY_LEN(speed_exprs)];
    int64_t t[ARRAY_LEN(speed_exprs)], out[100], start;

    assert_true(per_call >= 1 && per_call <= ARRAY_LEN(out));
    for (size_t i = 0; i < ARRAY_LEN(speed_exprs); i++) {
        c[i] = parse_ok(speed_exprs[i]);
        t[i] = utc("2024-01-01T00:00:00Z");
    }
    start = clock_mono_us();
    for (int k = 0; k < calls; k++) {
        size_t i = (size_t)k % ARRAY_LEN(speed_exprs), got;
        if (per_call == 1) {
            out[0] = cron_next(&c[i], tz, t[i]);
            got = out[0] >= 0;
        } else {
            got = cron_next_n(&c[i], tz, t[i], out, per_call);
        }
        for (size_t j = 0; j < got; j++) {
            assert_true(out[j] > t[i]);
            t[i] = out[j];
        }
    }
    /* "0 0 30 2 *" never fires; "0 0 1 1 *" advanced one year per fire. */
    assert_int_equal(t[7], utc("2024-01-01T00:00:00Z"));
    assert_true(t[6] >= utc("2025-01-01T00:00:00Z") - 3600);
    return clock_mono_us() - start;
}

static void t_next_speed(void **state)
{
    const char *old = getenv("TZ");
    char *saved = old ? xstrdup(old) : NULL;
    int64_t took;
    (void)state;

    assert_int_equal(setenv("TZ", "Europe/Berlin", 1), 0);
    tzset();
    took = speed_run("Europe/Berlin", 10000, 1);
    if (took > 1000000)
        fail_msg("10,000 calls in the current zone took %lld us", (long long)took);
    if (saved)
        assert_int_equal(setenv("TZ", saved, 1), 0);
    else
        assert_int_equal(unsetenv("TZ"), 0);
    tzset();
    free(saved);

    took = speed_run("Europe/Berlin", 100, 100);
    if (took > 1000000)
        fail_msg("100 x 100 fire times took %lld us", (long long)took);
    took = speed_run("America/New_York", 1000, 1);
    if (took > 1000000)
        fail_msg("1,000 calls switching zones took %lld us", (long long)took);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_parse_minute_forms),
        cmocka_unit_test(t_parse_each_field),
        cmocka_unit_test(t_parse_names),
        cmocka_unit_test(t_parse_sunday_is_0_and_7),
        cmocka_unit_test(t_parse_any_flags),
        cmocka_unit_test(t_parse_whitespace),
        cmocka_unit_test(t_parse_macros),
        cmocka_unit_test(t_err_field_count),
        cmocka_unit_test(t_err_out_of_range),
        cmocka_unit_test(t_err_empty_element),
        cmocka_unit_test(t_err_step),
        cmocka_unit_test(t_err_reversed_range),
        cmocka_unit_test(t_err_junk),
        cmocka_unit_test(t_err_names),
        cmocka_unit_test(t_err_macros),
        cmocka_unit_test(t_err_buffer),
        cmocka_unit_test(t_next_step_and_strictly_after),
        cmocka_unit_test(t_next_month_ends),
        cmocka_unit_test(t_next_leap_day),
        cmocka_unit_test(t_next_never),
        cmocka_unit_test(t_next_dom_dow_or),
        cmocka_unit_test(t_next_names_and_macros),
        cmocka_unit_test(t_next_after_range),
        cmocka_unit_test(t_next_shanghai),
        cmocka_unit_test(t_next_half_hour_offset),
        cmocka_unit_test(t_dst_berlin_spring),
        cmocka_unit_test(t_dst_berlin_fall),
        cmocka_unit_test(t_dst_berlin_every_real_hour),
        cmocka_unit_test(t_dst_new_york),
        cmocka_unit_test(t_dst_other_shapes),
        cmocka_unit_test(t_tz_valid),
        cmocka_unit_test(t_next_bad_tz),
        cmocka_unit_test(t_tz_restored),
        cmocka_unit_test(t_next_n_preview),
        cmocka_unit_test(t_next_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
