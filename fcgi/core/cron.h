/*
 * cron.h — 5-field cron expressions: parsing, time-zone validation and the
 * next fire time.  The API uses it to reject a pipeline's bad `cron_time`
 * with a message naming the field, and to preview the next ticks; the
 * scheduler uses it to turn cron ticks into runs.
 *
 * Syntax (Vixie/POSIX cron, five fields separated by runs of spaces/tabs):
 *
 *     minute 0-59   hour 0-23   day-of-month 1-31   month 1-12   day-of-week 0-7
 *
 *   - an element is `*`, `n`, `a-b`, `*` + `/s`, `a-b/s`, or `a/s` (from a to the
 *     field's maximum); a field is a comma list of elements;
 *   - months `jan`..`dec` and weekdays `sun`..`sat` by name, case-insensitive,
 *     also inside ranges (`mon-fri`, `jan-mar/2`);
 *   - day-of-week 7 is Sunday like 0, so `fri-7` and `5-7` mean Fri, Sat, Sun.
 *     A `*` or `a/s` there runs to 6 (`1/2` is Mon, Wed, Fri — no Sunday);
 *   - a step runs from 1 to the size of the field (`*` + `/60` is the most a
 *     minute takes);
 *   - `@yearly` (= `@annually`), `@monthly`, `@weekly`, `@daily` (= `@midnight`)
 *     and `@hourly`, any case, stand alone for the whole expression.
 *
 * Rejected, with a message "<field>: <what is wrong with which token>": empty
 * list elements, numbers out of range, a step of 0, reversed ranges (`5-2`),
 * trailing junk (`5x`), unknown names, and anything but exactly 5 fields
 * ("expected 5 fields, got 4").  There is no seconds field, no `?`, `L`, `W`
 * or `#` (Quartz), and no `@reboot`.
 *
 * Day rule (Vixie): when day-of-month and day-of-week are both restricted, a
 * day matches if EITHER does (`0 0 13 * fri` fires on every 13th and every
 * Friday); when one of them is `*`, both must match.  "Restricted" means the
 * field is anything but a lone `*`: unlike Vixie, which looks only at the
 * first character, `*` + `/2` counts as restricted, because it does restrict.
 *
 * Time zones.  A schedule is matched against the wall clock of its zone (an
 * IANA name such as "Europe/Berlin"; "" or NULL is UTC), read from the system
 * zone database (tzdata) through glibc: cron_next() points TZ at the zone,
 * calls tzset(), uses localtime_r(), and restores the previous TZ before it
 * returns.  That makes it not thread-safe; Cube's processes are
 * single-threaded.  glibc silently treats an unknown TZ as UTC, which is why
 * cron_tz_valid() checks that the zone file exists, and why an invalid zone
 * makes cron_next() return -1 instead of a wrong time.
 *
 * Daylight-saving time, for a wall-clock time W the expression matches:
 *   1. W does not exist (spring forward; in Europe/Berlin 02:30 on the last
 *      Sunday of March): it fires once, at the first instant after the gap
 *      (03:00 local).  Several such W fire once together.
 *   2. W occurs twice (fall back; Berlin 02:30 on the last Sunday of October):
 *      it fires once, at its first occurrence (02:30 summer time) ...
 *   3. ... unless the hour field matches every hour (`*`, `0-23`): such
 *      schedules (hourly, every N minutes) fire at every real instant whose
 *      wall clock matches, so both passes of the repeated hour run and no real
 *      hour is skipped except the ones that do not exist.  A fire time is
 *      never returned twice.
 *
 * Cost.  The search never walks minute by minute: it skips whole months,
 * days and hours that cannot match, then asks for the zone's offsets only
 * around `after` and the candidate (six localtime_r calls; a binary search of
 * about 18 more per DST change within 36 hours).  That is a few microseconds;
 * switching TZ costs more, because glibc re-reads the zone file on every
 * change (tens of microseconds), so cron_next_n() computes many fire times
 * under one switch, and no switch happens when TZ already names the zone.
 * The offset probing relies on any two offset changes of a zone being more
 * than 72 hours apart, true of every zone in tzdata from 1900 to 2100 (the
 * closest pair is 95 hours apart).
 */
#ifndef CUBE_CRON_H
#define CUBE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attr.h"

/* A zone name is at most this long (the longest in tzdata has 32 characters). */
#define CRON_TZ_MAX 64
/* cron_next() looks this far past `after` (five years, leap days included). */
#define CRON_HORIZON_DAYS (5 * 366)
/* The latest `after` cron_next() accepts: 9999-12-31T23:59:59Z. */
#define CRON_TIME_MAX INT64_C(253402300799)

struct cron_expr {         /* value type: lives on the stack */
    uint64_t minute;       /* bit m set: minute m (0-59) */
    uint32_t hour;         /* 0-23 */
    uint32_t dom;          /* 1-31 */
    uint16_t month;        /* 1-12 */
    uint8_t dow;           /* 0-6, Sunday = 0 (a 7 in the text sets bit 0) */
    bool dom_any, dow_any; /* the field was "*" (affects the dom/dow OR rule) */
};

/*
 * Parses a 5-field expression or a macro; false and a message naming the
 * field and the bad token (e.g. "hour: 25 is out of range 0-23", "expected 5
 * fields, got 4") in err, which may be NULL.  *out is written only on success.
 */
bool cron_parse(const char *text, struct cron_expr *out, char *err, size_t errlen) WARN_UNUSED;

/*
 * True when tz is "" / NULL (UTC) or a zone name the system knows (e.g.
 * "Asia/Shanghai"): letters, digits, `_`, `+`, `-` in `/`-separated parts,
 * naming a TZif file under $TZDIR, else /usr/share/zoneinfo (where glibc
 * looks).  Rejects paths ("../etc/passwd"), POSIX TZ strings, "localtime"
 * (the machine's own zone) and the leap-second "right/" zones (their clocks
 * are not Unix time).
 */
bool cron_tz_valid(const char *tz) WARN_UNUSED;

/*
 * The first fire time strictly after `after` (Unix seconds), evaluated on the
 * wall clock of timezone tz; -1 when there is none within CRON_HORIZON_DAYS
 * (e.g. "0 0 30 2 *"), when tz is not valid, or when after is outside
 * [0, CRON_TIME_MAX].
 */
int64_t cron_next(const struct cron_expr *c, const char *tz, int64_t after) WARN_UNUSED;

/*
 * Up to n successive fire times after `after` into out (what cron_next would
 * return, called again on each result), switching TZ only once: for previews
 * and for the scheduler's catch-up.  Returns how many were written; fewer
 * than n when the horizon, counted from each previous fire, runs out.
 */
size_t cron_next_n(const struct cron_expr *c, const char *tz, int64_t after, int64_t *out,
                   size_t n) WARN_UNUSED;

#endif
