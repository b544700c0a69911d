/* buf.c — capped, arena-backed string builder. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/common.h"

void buf_init(struct buf *b, struct arena *a, size_t max)
{
    b->arena = a;
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->toobig = false;
}

static bool grow(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1, ncap;
    char *np;

    if (b->toobig)
        return false;
    if (need - 1 > b->max) {
        b->toobig = true;
        return false;
    }
    if (need <= b->cap)
        return true;
    ncap = b->cap ? b->cap * 2 : 256;
    while (ncap < need)
        ncap *= 2;
    /* Old storage stays in the arena until reset; growth is geometric, so the waste is bounded. */
    np = arena_alloc(b->arena, ncap);
    if (b->len)
        memcpy(np, b->p, b->len);
    b->p = np;
    b->cap = ncap;
    return true;
}

void buf_add(struct buf *b, const void *data, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addc(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_truncate(struct buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->p[len] = '\0';
    }
}

enum err buf_err(const struct buf *b)
{
    return b->toobig ? ERR_TOOBIG : ERR_OK;
}

const char *buf_str(const struct buf *b)
{
    return b->p ? b->p : "";
}

void buf_add_json_str(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    buf_addc(b, '"');
    /* escape_json(): the two-character escapes, \u00xx for other control characters, every
     * other byte (UTF-8 included) as it is.  Runs of plain bytes go out in one copy. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        switch (c) {
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        default:
            if (c >= 0x20) {
                run++;
                continue;
            }
            break;
        }
        buf_add(b, s + i - run, run);
        run = 0;
        if (esc) {
            buf_add(b, esc, 2);
            continue;
        }
        memcpy(u, "\\u00", 4);
        u[4] = hex[c >> 4];
        u[5] = hex[c & 15];
        buf_add(b, u, 6);
    }
    buf_add(b, s + len - run, run);
    buf_addc(b, '"');
}
