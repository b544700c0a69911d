/*
 * cron.c — cron expressions: a table-driven parser, a calendar search on
 * "wall seconds", and a thin layer that maps wall-clock times to instants
 * around DST changes (see cron.h for the rules).
 *
 * Wall seconds are seconds since 1970-01-01 00:00 on the zone's local
 * calendar, so wall = instant + UTC offset.  The calendar search works on them
 * with plain arithmetic; only the mapping back to instants asks glibc for
 * offsets (localtime_r's tm_gmtoff).
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cron.h"
#include "core/common.h"

/* ---- parsing ---------------------------------------------------------------------------- */

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct field {
    const char *name;
    int lo, hi;               /* what a number may be */
    int star_hi;              /* where `*` and `a/s` end */
    const char *const *names; /* names[i] is the value first_name + i */
    int nnames, first_name;
};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F__COUNT };

static const struct field fields[F__COUNT] = {
    [F_MINUTE] = {"minute", 0, 59, 59, NULL, 0, 0},
    [F_HOUR] = {"hour", 0, 23, 23, NULL, 0, 0},
    [F_DOM] = {"day-of-month", 1, 31, 31, NULL, 0, 0},
    [F_MONTH] = {"month", 1, 12, 12, month_names, 12, 1},
    /* 7 is Sunday too; it is folded onto bit 0 once the field is parsed. */
    [F_DOW] = {"day-of-week", 0, 7, 6, dow_names, 7, 0},
};

static const struct {
    const char *name, *expansion;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Tokens quoted in messages are cut here, so one long junk field cannot fill err. */
#define QUOTE_MAX 40

static bool fail(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* One value (a number or a name) at s[*i]; the token is reported as written. */
static bool parse_value(const struct field *f, const char *s, size_t n, size_t *i, int *out,
                        char *err, size_t errlen)
{
    size_t start = *i;
    long v = 0;

    if (*i < n && isdigit((unsigned char)s[*i])) {
        /* Saturate instead of overflowing: anything past 9999 is out of range anyway. */
        for (; *i < n && isdigit((unsigned char)s[*i]); (*i)++)
            v = v > 9999 ? v : v * 10 + (s[*i] - '0');
        if (v < f->lo || v > f->hi)
            return fail(err, errlen, "%s: %.*s is out of range %d-%d", f->name,
                        (int)(*i - start > QUOTE_MAX ? QUOTE_MAX : *i - start), s + start, f->lo,
                        f->hi);
        *out = (int)v;
        return true;
    }
    if (*i < n && isalpha((unsigned char)s[*i])) {
        size_t len;
        while (*i < n && isalpha((unsigned char)s[*i]))
            (*i)++;
        len = *i - start;
        for (int k = 0; k < f->nnames; k++) {
            if (len == 3 && strncasecmp(s + start, f->names[k], 3) == 0) {
                *out = f->first_name + k;
                return true;
            }
        }
        if (!f->names)
            return fail(err, errlen, "%s: '%.*s' is not a number", f->name,
                        (int)(len > QUOTE_MAX ? QUOTE_MAX : len), s + start);
        return fail(err, errlen, "%s: unknown name '%.*s'", f->name,
                    (int)(len > QUOTE_MAX ? QUOTE_MAX : len), s + start);
    }
    return false; /* the caller words the message: it knows what was expected */
}

/* Describes the character at s[i] (or the end) for "unexpected ..." messages. */
static void describe(const char *s, size_t n, size_t i, char *out, size_t outlen)
{
    unsigned char ch = i < n ? (unsigned char)s[i] : 0;

    if (i >= n)
        snprintf(out, outlen, "end");
    else if (isprint(ch))
        snprintf(out, outlen, "'%c'", ch);
    else
        snprintf(out, outlen, "byte 0x%02x", ch);
}

/* One element of a list: `*`, `n`, `a-b`, each optionally with `/step`. */
static bool parse_element(const struct field *f, const char *s, size_t n, uint64_t *bits, char *err,
                          size_t errlen)
{
    int q = (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
    size_t i = 0;
    int a, b, step = 1;
    long sv = 0;
    char what[16];

    if (s[0] == '*') {
        a = f->lo;
        b = f->star_hi;
        i = 1;
    } else {
        if (!parse_value(f, s, n, &i, &a, err, errlen)) {
            if (i == 0) {
                describe(s, n, 0, what, sizeof(what));
                return fail(err, errlen, "%s: unexpected %s in '%.*s'", f->name, what, q, s);
            }
            return false;
        }
        b = a;
        if (i < n && s[i] == '-') {
            size_t at = ++i;
            if (!parse_value(f, s, n, &i, &b, err, errlen)) {
                if (i == at)
                    return fail(err, errlen, "%s: missing range end in '%.*s'", f->name, q, s);
                return false;
            }
            if (b < a)
                return fail(err, errlen, "%s: range %.*s is reversed%s", f->name, (int)i, s,
                            f == &fields[F_DOW] && b == 0 ? " (Sunday is 7 at a range's end)" : "");
        } else if (i < n && s[i] == '/') {
            /* `a/s`: from a to the end of the field. */
            b = a > f->star_hi ? a : f->star_hi;
        }
    }
    if (i < n && s[i] == '/') {
        size_t at = ++i;
        for (; i < n && isdigit((unsigned char)s[i]); i++)
            sv = sv > 9999 ? sv : sv * 10 + (s[i] - '0');
        if (i == at)
            return fail(err, errlen, "%s: missing step in '%.*s'", f->name, q, s);
        if (sv < 1 || sv > f->star_hi - f->lo + 1)
            return fail(err, errlen, "%s: step %.*s is out of range 1-%d", f->name,
                        (int)(i - at > QUOTE_MAX ? QUOTE_MAX : i - at), s + at,
                        f->star_hi - f->lo + 1);
        step = (int)sv;
    }
    if (i < n) {
        describe(s, n, i, what, sizeof(what));
        return fail(err, errlen, "%s: unexpected %s in '%.*s'", f->name, what, q, s);
    }
    for (int v = a; v <= b; v += step)
        *bits |= UINT64_C(1) << v;
    return true;
}

static bool parse_field(const struct field *f, const char *s, size_t n, uint64_t *bits, char *err,
                        size_t errlen)
{
    size_t start = 0;

    *bits = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ',')
            continue;
        if (i == start)
            return fail(err, errlen, "%s: empty list element in '%.*s'", f->name,
                        (int)(n > QUOTE_MAX ? QUOTE_MAX : n), s);
        if (!parse_element(f, s + start, i - start, bits, err, errlen))
            return false;
        start = i + 1;
    }
    return true;
}

bool cron_parse(const char *text, struct cron_expr *out, char *err, size_t errlen)
{
    const char *tok[F__COUNT];
    size_t len[F__COUNT], ntok = 0;
    uint64_t bits[F__COUNT];
    const char *p = text ? text : "";

    while (*p) {
        const char *start;
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        start = p;
        while (*p && !is_blank(*p))
            p++;
        if (ntok < F__COUNT) {
            tok[ntok] = start;
            len[ntok] = (size_t)(p - start);
        }
        ntok++;
    }
    if (ntok >= 1 && tok[0][0] == '@') {
        int q = (int)(len[0] > QUOTE_MAX ? QUOTE_MAX : len[0]);
        if (ntok > 1)
            return fail(err, errlen, "%.*s must be the whole expression", q, tok[0]);
        for (size_t k = 0; k < ARRAY_LEN(macros); k++)
            if (strlen(macros[k].name) == len[0] && !strncasecmp(tok[0], macros[k].name, len[0]))
                return cron_parse(macros[k].expansion, out, err, errlen);
        return fail(err, errlen, "unknown macro '%.*s'", q, tok[0]);
    }
    if (ntok != F__COUNT)
        return fail(err, errlen, "expected 5 fields, got %zu", ntok);
    for (int k = 0; k < F__COUNT; k++)
        if (!parse_field(&fields[k], tok[k], len[k], &bits[k], err, errlen))
            return false;

    out->minute = bits[F_MINUTE];
    out->hour = (uint32_t)bits[F_HOUR];
    out->dom = (uint32_t)bits[F_DOM];
    out->month = (uint16_t)bits[F_MONTH];
    out->dow = (uint8_t)((bits[F_DOW] | bits[F_DOW] >> 7) & 0x7f);
    out->dom_any = len[F_DOM] == 1 && tok[F_DOM][0] == '*';
    out->dow_any = len[F_DOW] == 1 && tok[F_DOW][0] == '*';
    return true;
}

/* ---- time zones ------------------------------------------------------------------------- */

/* glibc's default when TZDIR is not set. */
#define ZONEINFO_DIR "/usr/share/zoneinfo"

static bool tz_name_ok(const char *tz)
{
    size_t n = strlen(tz), part = 0;

    if (n > CRON_TZ_MAX || !strcmp(tz, "localtime") || !strncmp(tz, "right/", 6))
        return false;
    for (size_t i = 0; i <= n; i++) {
        char ch = tz[i];
        if (ch == '/' || ch == '\0') {
            if (part == 0) /* leading, trailing or doubled '/' */
                return false;
            part = 0;
        } else if (isalnum((unsigned char)ch) || ch == '_' || ch == '+' || ch == '-') {
            part++;
        } else {
            return false; /* no '.', so no ".." either */
        }
    }
    return true;
}

bool cron_tz_valid(const char *tz)
{
    const char *dir = getenv("TZDIR");
    char path[512], magic[4];
    struct stat st;
    bool ok = false;
    int fd = -1, len;

    if (!tz || !*tz)
        return true;
    if (!tz_name_ok(tz))
        return false;
    if (!dir || !*dir)
        dir = ZONEINFO_DIR;
    len = snprintf(path, sizeof(path), "%s/%s", dir, tz);
    if (len < 0 || (size_t)len >= sizeof(path))
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    /* Directories, zone.tab and friends live there too; a zone file starts with "TZif". */
    ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) && !memcmp(magic, "TZif", 4);
out:
    if (fd >= 0)
        close(fd);
    return ok;
}

/*
 * The process's TZ while cron_next runs.  `utc` skips glibc altogether; a
 * failed localtime_r sets `failed` (PgBouncer's sticky bit), checked once at
 * the end instead of after every probe.
 */
struct zone {
    bool utc, failed, switched;
    char *saved; /* the previous TZ (xstrdup'd), NULL when it was unset */
};

/*
 * The last zone that passed cron_tz_valid(): the scheduler asks about the same
 * few zones again and again, and the check costs four system calls.  A zone
 * file deleted while the process runs goes unnoticed; tzdata upgrades keep
 * old names as links.
 */
static char checked_tz[CRON_TZ_MAX + 1];

static bool zone_enter(struct zone *z, const char *tz)
{
    char want[CRON_TZ_MAX + 2];
    const char *cur;

    z->utc = !tz || !*tz;
    z->failed = z->switched = false;
    z->saved = NULL;
    if (z->utc)
        return true;
    if (strcmp(tz, checked_tz) != 0) {
        if (!cron_tz_valid(tz))
            return false;
        memcpy(checked_tz, tz, strlen(tz) + 1); /* valid, so at most CRON_TZ_MAX long */
    }
    /* The ':' tells glibc "a file name", never a POSIX rule string. */
    want[0] = ':';
    memcpy(want + 1, tz, strlen(tz) + 1);
    cur = getenv("TZ");
    if (cur && (!strcmp(cur, want) || !strcmp(cur, tz))) {
        tzset(); /* a caller may have set TZ without tzset() */
        return true;
    }
    /* setenv may free the old value: keep a copy. */
    z->saved = cur ? xstrdup(cur) : NULL;
    if (setenv("TZ", want, 1) != 0) {
        free(z->saved);
        z->saved = NULL;
        return false;
    }
    z->switched = true;
    tzset();
    return true;
}

static void zone_leave(struct zone *z)
{
    if (!z->switched)
        return;
    /* On failure the cron zone stays: there is no better state to fall back to. */
    if (z->saved)
        (void)setenv("TZ", z->saved, 1);
    else
        (void)unsetenv("TZ");
    tzset();
    free(z->saved);
    z->saved = NULL;
    z->switched = false;
}

/* The UTC offset (seconds east) at instant t. */
static int64_t zone_off(struct zone *z, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (z->utc)
        return 0;
    if (!localtime_r(&tt, &tm)) {
        z->failed = true;
        return 0;
    }
    return tm.tm_gmtoff;
}

/* Wider than any offset change (Samoa's 24 h), narrower than half the gap between two (95 h). */
#define WINDOW (36 * 3600)
#define NO_CHANGE INT64_MIN

/* The offset change within WINDOW of t, if any: the first instant of the new offset. */
struct change {
    int64_t at; /* NO_CHANGE, or the instant of the change */
    int64_t before, after;
};

static void zone_change_near(struct zone *z, int64_t t, struct change *ch)
{
    int64_t lo = t - WINDOW, hi = t + WINDOW;

    ch->before = zone_off(z, lo);
    ch->after = zone_off(z, hi);
    ch->at = NO_CHANGE;
    if (ch->before == ch->after)
        return;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (zone_off(z, mid) == ch->before)
            lo = mid;
        else
            hi = mid;
    }
    ch->at = hi;
}

/*
 * The first instant at which the wall clock reads w or, when w falls into a
 * gap, the first instant after the gap.  (Second occurrences are next_fire's
 * business: only the repeated hour next to `after` matters for them.)
 */
static int64_t zone_first(struct zone *z, int64_t w)
{
    struct change ch;
    int64_t a, b;

    /* w - offset(w) is within one offset change of w's real instants: close enough to look. */
    zone_change_near(z, w - zone_off(z, w), &ch);
    if (ch.at == NO_CHANGE)
        return w - ch.before;
    a = w - ch.before; /* an instant only if it is before the change */
    b = w - ch.after;  /* an instant only if it is after it */
    if (a < ch.at)
        return a;
    if (b >= ch.at)
        return b;
    return ch.at;
}

/* ---- calendar --------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* The lowest set bit of mask at or above `from`, or -1. */
static int next_bit(uint64_t mask, int from)
{
    mask = from >= 64 ? 0 : mask >> from;
    return mask ? from + __builtin_ctzll(mask) : -1;
}

static bool day_matches(const struct cron_expr *c, int64_t days, int d)
{
    /* 1970-01-01 was a Thursday. */
    int wd = (int)(floor_div(days, 7) * -7 + days + 4) % 7;
    bool dom = c->dom >> d & 1, dow = c->dow >> wd & 1;

    return c->dom_any || c->dow_any ? dom && dow : dom || dow;
}

/*
 * The first wall-clock minute at or after `from` (wall seconds) that c
 * matches, or -1 once past `limit`.  Each step jumps to the next month, day,
 * hour or minute that can still match, so a year costs at most ~400 steps.
 */
static int64_t next_match(const struct cron_expr *c, int64_t from, int64_t limit)
{
    int64_t y, days, sec;
    int mo, d, h, mi;

    from = floor_div(from + 59, 60) * 60;
    days = floor_div(from, 86400);
    sec = from - days * 86400;
    h = (int)(sec / 3600);
    mi = (int)(sec % 3600 / 60);
    civil_from_days(days, &y, &mo, &d);
    for (;;) {
        int64_t w = days * 86400 + h * 3600 + mi * 60;
        int nh, nm;

        if (w > limit)
            return -1;
        if (!(c->month >> mo & 1)) {
            days += days_in_month(y, mo) - d + 1;
            if (++mo > 12) {
                mo = 1;
                y++;
            }
            d = 1, h = 0, mi = 0;
            continue;
        }
        if (!day_matches(c, days, d))
            goto next_day;
        nh = next_bit(c->hour, h);
        if (nh < 0 || nh > 23)
            goto next_day;
        if (nh != h) {
            h = nh, mi = 0;
            continue;
        }
        nm = next_bit(c->minute, mi);
        if (nm >= 0 && nm <= 59)
            return days * 86400 + h * 3600 + nm * 60;
        if (++h <= 23) {
            mi = 0;
            continue;
        }
next_day:
        days++;
        if (++d > days_in_month(y, mo)) {
            d = 1;
            if (++mo > 12) {
                mo = 1;
                y++;
            }
        }
        h = 0, mi = 0;
    }
}

/* ---- next fire time --------------------------------------------------------------------- */

static int64_t next_fire(struct zone *z, const struct cron_expr *c, int64_t after)
{
    const int64_t horizon = (int64_t)CRON_HORIZON_DAYS * 86400;
    struct change ch;
    int64_t seen, limit, w, first, best = -1;
    bool fell_back;

    if (after < 0 || after > CRON_TIME_MAX)
        return -1;
    /*
     * `seen`: the latest wall-clock reading up to `after`.  Right after a
     * fall-back the clock reads less than it already did; a first occurrence
     * is due only for wall times past `seen`, and the first such match is the
     * earliest one (first occurrences come in wall-clock order).
     */
    zone_change_near(z, after, &ch);
    fell_back = ch.at != NO_CHANGE && ch.before > ch.after;
    seen = after + zone_off(z, after);
    if (fell_back && ch.at <= after && ch.at - 1 + ch.before > seen)
        seen = ch.at - 1 + ch.before;
    limit = seen + horizon;
    w = next_match(c, seen + 1, limit);
    /* Guards the 72-hour assumption in cron.h: a first occurrence is never in the past. */
    for (int tries = 0; w >= 0 && tries < 64; tries++) {
        first = zone_first(z, w);
        if (first > after) {
            best = first;
            break;
        }
        w = next_match(c, w + 60, limit);
    }
    /*
     * Second occurrences (rule 3): only schedules that run every hour have
     * them, and only the repeated hour next to `after` can hold one earlier
     * than `best` — a later repeated hour comes after its own first pass.
     */
    if (fell_back && (c->hour & 0xffffff) == 0xffffff &&
        ch.at + (ch.before - ch.after) > after + 1) {
        int64_t from = ch.at > after + 1 ? ch.at : after + 1;
        /* Second-pass instants are [ch.at, ch.at + before - after); wall = instant + after. */
        w = next_match(c, from + ch.after, ch.at + ch.before - 1);
        if (w >= 0 && (best < 0 || w - ch.after < best))
            best = w - ch.after;
    }
    return z->failed ? -1 : best;
}

int64_t cron_next(const struct cron_expr *c, const char *tz, int64_t after)
{
    struct zone z;
    int64_t t;

    if (!zone_enter(&z, tz))
        return -1;
    t = next_fire(&z, c, after);
    zone_leave(&z);
    return t;
}

size_t cron_next_n(const struct cron_expr *c, const char *tz, int64_t after, int64_t *out, size_t n)
{
    struct zone z;
    size_t k = 0;

    if (!n || !zone_enter(&z, tz))
        return 0;
    for (; k < n; k++) {
        int64_t t = next_fire(&z, c, after);
        if (t < 0)
            break;
        out[k] = after = t;
    }
    zone_leave(&z);
    return k;
}
