/*
 * runner.c — the API test runner.  It reads data-file cases (tests/api/cases/NNNN-*.case, the
 * format is in tests/api/README.md), sends their requests to a running stack through nginx,
 * prints one TAP-style line per assertion and ends with "api: N passed, N failed".
 *
 * It links only libcurl and json-c (the Makefile target is fixed), so the little crypto needed
 * to forge JWTs (SHA-256/384/512, HMAC, base64url) is written out here; it is test code, checked
 * against known vectors, never used to protect anything.
 *
 * Counting rule: every `login`, `capture` and `expect` line is exactly one assertion, whether or
 * not its request could be sent, so a suite prints the same number of lines on a healthy and on
 * a broken stack.  Local steps (set, jwt) never count: when they fail, the variable they would
 * have set is poisoned and every assertion that uses it fails with the reason.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

/* The same banned list as fcgi/core/common.h (this file is built alone, without it). */
#pragma GCC poison sprintf vsprintf strcpy strcat strncpy strtok atoi atol gets

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))

#define DEFAULT_URL "http://127.0.0.1:18080"
#define REQUEST_TIMEOUT_S 10L
#define CONNECT_TIMEOUT_S 3L
#define MAX_TIMEOUTS_IN_ROW 3 /* then the server is taken as hung: the rest fail fast */
#define MAX_INCLUDE_DEPTH 8
#define SNIPPET_MAX 300 /* bytes of a response body shown with a failure */

/* ---------------------------------------------------------------- memory, strings */

NORETURN static void die(const char *msg)
{
    fprintf(stderr, "api_runner: %s\n", msg);
    exit(2);
}

/* A test tool: running out of memory is not a case we report, we stop. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        die("out of memory");
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* A growable string, always NUL-terminated once anything was added. */
struct buf {
    char *p;
    size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;

    if (extra > SIZE_MAX / 2 - b->len)
        die("buffer too large");
    need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_addc(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

PRINTF_LIKE(2, 3) static void buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("vsnprintf failed");
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static const char *buf_str(const struct buf *b)
{
    return b->p ? b->p : "";
}

/* Hands the string over to the caller (never NULL) and empties b. */
static char *buf_take(struct buf *b)
{
    char *p = b->p ? b->p : xstrdup("");

    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Appends at most max bytes of s, control characters escaped, so a body fits on one line. */
static void buf_add_snippet(struct buf *b, const char *s, size_t n, size_t max)
{
    size_t i;

    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n')
            buf_adds(b, "\\n");
        else if (c == '\r')
            buf_adds(b, "\\r");
        else if (c == '\t')
            buf_adds(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            buf_addf(b, "\\x%02x", c);
        else
            buf_addc(b, (char)c);
    }
    if (n > max)
        buf_addf(b, "...(%zu bytes)", n);
}

struct strlist {
    char **v;
    size_t n, cap;
};

/* Takes ownership of s. */
static void strlist_add(struct strlist *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = s;
}

static void strlist_free(struct strlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* The next blank-separated word of *pp (malloc'd), or NULL at the end; *pp moves past it. */
static char *next_word(const char **pp)
{
    const char *p = skip_ws(*pp), *start = p;
    char *w;

    if (!*p) {
        *pp = p;
        return NULL;
    }
    while (*p && *p != ' ' && *p != '\t')
        p++;
    w = xstrndup(start, (size_t)(p - start));
    *pp = skip_ws(p);
    return w;
}

/* Whole-string decimal parse within [min, max]. */
static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v;

    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(s, *set))
            return true;
    return false;
}

/* ---------------------------------------------------------------- SHA-2, HMAC, base64url */

/* The SHA-512 round constants; SHA-256's are their upper halves (both are the fractional parts
 * of the cube roots of the first primes), so one table serves both. */
static const uint64_t sha512_k[80] = {
    0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
    0x3956c25bf348b538ull, 0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
    0xd807aa98a3030242ull, 0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
    0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
    0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
    0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
    0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
    0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull, 0x06ca6351e003826full, 0x142929670a0e6e70ull,
    0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
    0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
    0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
    0xd192e819d6ef5218ull, 0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
    0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
    0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
    0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
    0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
    0xca273eceea26619cull, 0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
    0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
    0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
    0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};
/* SHA-512's initial state; SHA-256's is again the upper halves. */
static const uint64_t sha512_iv[8] = {
    0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
    0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};
static const uint64_t sha384_iv[8] = {
    0xcbbb9d5dc1059ed8ull, 0x629a292a367cd507ull, 0x9159015a3070dd17ull, 0x152fecd8f70e5939ull,
    0x67332667ffc00b31ull, 0x8eb44a8768581511ull, 0xdb0c2e0d64f98fa7ull, 0x47b5481dbefa4fa4ull,
};

static uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint64_t ror64(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64], v[8], t1, t2;
    int i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++)
        w[i] = w[i - 16] + (ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
               w[i - 7] + (ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10));
    memcpy(v, h, sizeof(v));
    for (i = 0; i < 64; i++) {
        t1 = v[7] + (ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25)) +
             ((v[4] & v[5]) ^ (~v[4] & v[6])) + (uint32_t)(sha512_k[i] >> 32) + w[i];
        t2 = (ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22)) +
             ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof(v[0]));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++)
        h[i] += v[i];
}

static void sha512_block(uint64_t h[8], const uint8_t *p)
{
    uint64_t w[80], v[8], t1, t2;
    int i, j;

    for (i = 0; i < 16; i++)
        for (w[i] = 0, j = 0; j < 8; j++)
            w[i] = w[i] << 8 | p[8 * i + j];
    for (i = 16; i < 80; i++)
        w[i] = w[i - 16] + (ror64(w[i - 15], 1) ^ ror64(w[i - 15], 8) ^ (w[i - 15] >> 7)) +
               w[i - 7] + (ror64(w[i - 2], 19) ^ ror64(w[i - 2], 61) ^ (w[i - 2] >> 6));
    memcpy(v, h, sizeof(v));
    for (i = 0; i < 80; i++) {
        t1 = v[7] + (ror64(v[4], 14) ^ ror64(v[4], 18) ^ ror64(v[4], 41)) +
             ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha512_k[i] + w[i];
        t2 = (ror64(v[0], 28) ^ ror64(v[0], 34) ^ ror64(v[0], 39)) +
             ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof(v[0]));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++)
        h[i] += v[i];
}

/* Merkle–Damgård padding shared by both sizes: the message, 0x80, zeros, the bit length in the
 * last 8 bytes of a block (SHA-512 has a 16-byte length field; its upper half stays zero). */
static void sha2_final_blocks(const uint8_t *msg, size_t n, size_t bs, uint8_t *tail, size_t *ntail)
{
    size_t rem = n % bs, i;
    uint64_t bits = (uint64_t)n * 8;

    *ntail = rem + 1 + 8 + (bs == 128 ? 8 : 0) > bs ? 2 * bs : bs;
    memset(tail, 0, *ntail);
    memcpy(tail, msg + n - rem, rem);
    tail[rem] = 0x80;
    for (i = 0; i < 8; i++)
        tail[*ntail - 1 - i] = (uint8_t)(bits >> (8 * i));
}

static void sha256(const uint8_t *msg, size_t n, uint8_t *out)
{
    uint32_t h[8];
    uint8_t tail[128];
    size_t off, ntail, i;

    for (i = 0; i < 8; i++)
        h[i] = (uint32_t)(sha512_iv[i] >> 32);
    for (off = 0; n - off >= 64; off += 64)
        sha256_block(h, msg + off);
    sha2_final_blocks(msg, n, 64, tail, &ntail);
    for (off = 0; off < ntail; off += 64)
        sha256_block(h, tail + off);
    for (i = 0; i < 32; i++)
        out[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static void sha512_any(const uint8_t *msg, size_t n, const uint64_t *iv, size_t outlen,
                       uint8_t *out)
{
    uint64_t h[8];
    uint8_t tail[256];
    size_t off, ntail, i;

    memcpy(h, iv, sizeof(h));
    for (off = 0; n - off >= 128; off += 128)
        sha512_block(h, msg + off);
    sha2_final_blocks(msg, n, 128, tail, &ntail);
    for (off = 0; off < ntail; off += 128)
        sha512_block(h, tail + off);
    for (i = 0; i < outlen; i++)
        out[i] = (uint8_t)(h[i / 8] >> (56 - 8 * (i % 8)));
}

static void sha384(const uint8_t *msg, size_t n, uint8_t *out)
{
    sha512_any(msg, n, sha384_iv, 48, out);
}

static void sha512(const uint8_t *msg, size_t n, uint8_t *out)
{
    sha512_any(msg, n, sha512_iv, 64, out);
}

struct hmac_alg {
    const char *jwt_name;
    size_t block, outlen;
    void (*hash)(const uint8_t *msg, size_t n, uint8_t *out);
};

static const struct hmac_alg hmac_algs[] = {
    {"HS256", 64, 32, sha256},
    {"HS384", 128, 48, sha384},
    {"HS512", 128, 64, sha512},
};

static const struct hmac_alg *hmac_find(const char *jwt_name)
{
    size_t i;

    for (i = 0; i < sizeof(hmac_algs) / sizeof(hmac_algs[0]); i++)
        if (!strcasecmp(hmac_algs[i].jwt_name, jwt_name))
            return &hmac_algs[i];
    return NULL;
}

/* RFC 2104: H((K ^ opad) || H((K ^ ipad) || msg)). out holds alg->outlen bytes. */
static void hmac(const struct hmac_alg *alg, const char *key, size_t klen, const char *msg,
                 size_t n, uint8_t *out)
{
    uint8_t k[128] = {0}, inner[64];
    uint8_t *scratch = xmalloc(alg->block + (n > alg->outlen ? n : alg->outlen));
    size_t i;

    if (klen > alg->block)
        alg->hash((const uint8_t *)key, klen, k);
    else
        memcpy(k, key, klen);
    for (i = 0; i < alg->block; i++)
        scratch[i] = k[i] ^ 0x36;
    memcpy(scratch + alg->block, msg, n);
    alg->hash(scratch, alg->block + n, inner);
    for (i = 0; i < alg->block; i++)
        scratch[i] = k[i] ^ 0x5c;
    memcpy(scratch + alg->block, inner, alg->outlen);
    alg->hash(scratch, alg->block + alg->outlen, out);
    free(scratch);
}

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Base64url without padding, as JWTs use it. */
static void b64url_encode(struct buf *o, const uint8_t *p, size_t n)
{
    size_t i;
    uint32_t v;

    for (i = 0; i + 2 < n; i += 3) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        buf_addc(o, b64url_chars[v >> 18]);
        buf_addc(o, b64url_chars[(v >> 12) & 63]);
        buf_addc(o, b64url_chars[(v >> 6) & 63]);
        buf_addc(o, b64url_chars[v & 63]);
    }
    if (n - i == 1) {
        v = (uint32_t)p[i] << 16;
        buf_addc(o, b64url_chars[v >> 18]);
        buf_addc(o, b64url_chars[(v >> 12) & 63]);
    } else if (n - i == 2) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        buf_addc(o, b64url_chars[v >> 18]);
        buf_addc(o, b64url_chars[(v >> 12) & 63]);
        buf_addc(o, b64url_chars[(v >> 6) & 63]);
    }
}

/* Accepts both alphabets and optional padding; false on any other character. */
static bool b64url_decode(const char *s, size_t n, struct buf *o)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i;

    for (i = 0; i < n && s[i] != '='; i++) {
        const char *hit = strchr(b64url_chars, s[i]);
        int v;

        if (s[i] == '+')
            v = 62;
        else if (s[i] == '/')
            v = 63;
        else if (hit && *hit)
            v = (int)(hit - b64url_chars);
        else
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_addc(o, (char)((acc >> bits) & 0xff));
        }
    }
    return true;
}

/* ---------------------------------------------------------------- case files */

enum op_kind {
    OP_SET,
    OP_LOGIN,
    OP_REQUEST,
    OP_EXPECT,
    OP_CAPTURE,
    OP_JWT,
    OP_REQUIRE_ENV,
};

enum auth_mode { AUTH_BEARER, AUTH_BARE, AUTH_COOKIE };

struct upload {
    char *field, *filename, *type, *content;
};

/* One HTTP request as written: every string still holds its ${VARS}. */
struct request_spec {
    char *method, *path;
    char *auth; /* the variable holding the token, or NULL */
    enum auth_mode auth_mode;
    char *session;          /* cookie jar name, or NULL */
    struct strlist headers; /* "Name: value" */
    struct strlist queries; /* "key=value", value URL-encoded when sent */
    struct strlist forms;   /* "key=value" */
    struct upload *files;
    size_t nfiles;
    char *body;
    long body_size; /* > 0: a generated JSON body of exactly this many bytes */
    bool literal;   /* built by the runner (login): do not expand */
};

struct op {
    enum op_kind kind;
    char *file; /* display name: "0100-x.case" or "0100-x.case:7>lib/user.inc" */
    int line;
    char *text; /* the line as written, for messages */
    char *what; /* EXPECT and CAPTURE: the sub-kind ("status", "json-at", "header", ...) */
    char *a, *b, *c, *d;
    struct strlist args; /* JWT: the key=value arguments */
    struct request_spec *req;
};

struct case_file {
    char *path, *name;
    struct op *ops;
    size_t n, cap;
};

struct parser {
    struct case_file *cf;
    char *file; /* display name of the file being read */
    char *dir;  /* its directory, for include */
    char **lines;
    size_t nlines, i;
    int depth;
    struct request_spec *req; /* the request that modifier lines attach to, or NULL */
    bool have_response;       /* an expect needs a request or login above it */
};

static void spec_free(struct request_spec *rs)
{
    size_t i;

    if (!rs)
        return;
    free(rs->method);
    free(rs->path);
    free(rs->auth);
    free(rs->session);
    strlist_free(&rs->headers);
    strlist_free(&rs->queries);
    strlist_free(&rs->forms);
    for (i = 0; i < rs->nfiles; i++) {
        free(rs->files[i].field);
        free(rs->files[i].filename);
        free(rs->files[i].type);
        free(rs->files[i].content);
    }
    free(rs->files);
    free(rs->body);
    free(rs);
}

static void case_free(struct case_file *cf)
{
    size_t i;

    for (i = 0; i < cf->n; i++) {
        struct op *op = &cf->ops[i];

        free(op->file);
        free(op->text);
        free(op->what);
        free(op->a);
        free(op->b);
        free(op->c);
        free(op->d);
        strlist_free(&op->args);
        spec_free(op->req);
    }
    free(cf->ops);
    free(cf->path);
    free(cf->name);
}

static struct op *op_new(struct parser *ps, enum op_kind kind, const char *text)
{
    struct case_file *cf = ps->cf;
    struct op *op;

    if (cf->n == cf->cap) {
        cf->cap = cf->cap ? 2 * cf->cap : 32;
        cf->ops = xrealloc(cf->ops, cf->cap * sizeof(*cf->ops));
    }
    op = &cf->ops[cf->n++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->file = xstrdup(ps->file);
    op->line = (int)ps->i + 1;
    op->text = xstrdup(text);
    return op;
}

static bool read_file(const char *path, struct buf *out, struct buf *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;
    bool ok = false;

    if (!f) {
        buf_addf(err, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    for (n = fread(chunk, 1, sizeof(chunk), f); n > 0; n = fread(chunk, 1, sizeof(chunk), f))
        buf_add(out, chunk, n);
    if (ferror(f)) {
        buf_addf(err, "cannot read %s", path);
        goto out;
    }
    if (!out->p)
        buf_adds(out, "");
    ok = true;
out:
    fclose(f);
    return ok;
}

/* Lines without their "\n" (and without a "\r" before it: files edited on Windows still work). */
static void split_lines(const char *text, struct strlist *lines)
{
    const char *p = text;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        if (n && p[n - 1] == '\r')
            strlist_add(lines, xstrndup(p, n - 1));
        else
            strlist_add(lines, xstrndup(p, n));
        if (!nl)
            break;
        p = nl + 1;
    }
}

/* "<<TAG": the lines up to a line that is exactly TAG, each followed by "\n". */
static bool read_heredoc(struct parser *ps, const char *tag, char **out, struct buf *err)
{
    struct buf b = {0};
    size_t start = ps->i;

    for (ps->i++; ps->i < ps->nlines; ps->i++) {
        if (!strcmp(ps->lines[ps->i], tag)) {
            *out = buf_take(&b);
            return true;
        }
        buf_adds(&b, ps->lines[ps->i]);
        buf_addc(&b, '\n');
    }
    buf_free(&b);
    ps->i = start;
    buf_addf(err, "no line '%s' ends the <<%s block", tag, tag);
    return false;
}

/* rest is "<<TAG" alone: a heredoc; returns its tag or NULL. */
static const char *heredoc_tag(const char *rest)
{
    const char *p;

    if (strncmp(rest, "<<", 2) || !rest[2])
        return NULL;
    for (p = rest + 2; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return NULL;
    return rest + 2;
}

static bool need_request(struct parser *ps, const char *word, struct buf *err)
{
    if (ps->req)
        return true;
    buf_addf(err, "'%s' must follow a request line (or another line of the same request)", word);
    return false;
}

/* "as NAME [bearer|bare|cookie]" and "session NAME", on the request line or on their own. */
static bool parse_auth_words(struct request_spec *rs, const char **pp, struct buf *err)
{
    static const char *const modes[] = {"bearer", "bare", "cookie", NULL};
    char *w = NULL, *name = NULL;
    const char *save;
    bool ok = false;

    for (w = next_word(pp); w; w = next_word(pp)) {
        if (strcmp(w, "as") && strcmp(w, "session")) {
            buf_addf(err, "unexpected '%s' (expected 'as NAME' or 'session NAME')", w);
            goto out;
        }
        name = next_word(pp);
        if (!name) {
            buf_addf(err, "'%s' needs a name", w);
            goto out;
        }
        if (!strcmp(w, "session")) {
            free(rs->session);
            rs->session = name;
        } else {
            free(rs->auth);
            rs->auth = name;
            rs->auth_mode = AUTH_BEARER;
            save = *pp;
            free(w);
            w = next_word(pp);
            if (w && one_of(w, modes))
                rs->auth_mode = !strcmp(w, "bare")     ? AUTH_BARE
                                : !strcmp(w, "cookie") ? AUTH_COOKIE
                                                       : AUTH_BEARER;
            else
                *pp = save;
        }
        name = NULL;
        free(w);
        w = NULL;
    }
    ok = true;
out:
    free(w);
    free(name);
    return ok;
}

static bool has_body(const struct request_spec *rs)
{
    return rs->body || rs->body_size > 0;
}

/* Comparison words that may precede a number or a value. */
static const char *const cmp_ops[] = {"==", "!=", "<", "<=", ">", ">=", NULL};
static const char *const match_ops[] = {"~", "!~", "==", "!=", "<", "<=", ">", ">=", NULL};
static const char *const json_types[] = {"null",   "bool",   "int",   "double", "number",
                                         "string", "object", "array", NULL};

/* An optional operator from set, else def. */
static char *optional_op(const char **pp, const char *const *set, const char *def)
{
    const char *save = *pp;
    char *w = next_word(pp);

    if (w && one_of(w, set))
        return w;
    free(w);
    *pp = save;
    return xstrdup(def);
}

/* Checks the grammar of an expect line now, so a typo fails before any request is sent. */
static bool parse_expect(struct op *op, const char *p, struct buf *err)
{
    static const char *const header_ops[] = {"~", "!~", "==", "absent", "present", NULL};
    static const char *const body_ops[] = {"~", "!~", "==", "contains", "!contains", NULL};
    static const char *const line_ops[] = {"~", "!~", "==", NULL};
    const char *w;
    bool ok = false;

    op->what = next_word(&p);
    w = op->what;
    if (!w) {
        buf_adds(err, "expect what?");
        goto out;
    }
    if (!strcmp(w, "status")) {
        op->c = xstrdup(p);
        if (!*p || strspn(p, "0123456789x|") != strlen(p)) {
            buf_adds(err, "expect status CODE[|CODE...] (digits or x)");
            goto out;
        }
    } else if (!strcmp(w, "header") || !strcmp(w, "cookie")) {
        op->a = next_word(&p);
        op->b = next_word(&p);
        op->c = xstrdup(p);
        if (!op->b || !one_of(op->b, header_ops) ||
            (!*p && strcmp(op->b, "absent") && strcmp(op->b, "present"))) {
            buf_addf(err, "expect %s NAME (~|!~|==) VALUE, or NAME absent|present", w);
            goto out;
        }
    } else if (!strcmp(w, "body")) {
        op->b = next_word(&p);
        op->c = xstrdup(p);
        if (!op->b || !one_of(op->b, body_ops)) {
            buf_adds(err, "expect body (~|!~|==|contains|!contains) VALUE");
            goto out;
        }
    } else if (!strcmp(w, "json")) {
        op->a = xstrdup(".");
        op->b = xstrdup("==");
        op->c = xstrdup(p);
    } else if (!strcmp(w, "json-at")) {
        op->a = next_word(&p);
        op->b = optional_op(&p, match_ops, "==");
        op->c = xstrdup(p);
    } else if (!strcmp(w, "json-any") || !strcmp(w, "json-none")) {
        op->a = next_word(&p);
        op->c = xstrdup(p);
    } else if (!strcmp(w, "json-absent") || !strcmp(w, "json-no-key")) {
        op->a = next_word(&p);
        if (*p) {
            buf_addf(err, "expect %s takes one word", w);
            goto out;
        }
    } else if (!strcmp(w, "json-type")) {
        op->a = next_word(&p);
        op->c = next_word(&p);
        if (!op->c || !one_of(op->c, json_types) || *p) {
            buf_adds(err, "expect json-type PATH null|bool|int|double|number|string|object|array");
            goto out;
        }
    } else if (!strcmp(w, "json-len") || !strcmp(w, "lines")) {
        if (!strcmp(w, "json-len"))
            op->a = next_word(&p);
        op->b = optional_op(&p, cmp_ops, "==");
        op->c = next_word(&p);
        if (!op->c || *p) {
            buf_addf(err, "expect %s [OP] N", w);
            goto out;
        }
    } else if (!strcmp(w, "line")) {
        op->a = next_word(&p);
        op->b = next_word(&p);
        op->c = xstrdup(p);
        if (!op->b || !one_of(op->b, line_ops)) {
            buf_adds(err, "expect line N (~|!~|==) VALUE");
            goto out;
        }
    } else {
        buf_addf(err, "unknown expectation '%s'", w);
        goto out;
    }
    if (!strncmp(w, "json", 4) && strcmp(w, "json") && !op->a) {
        buf_addf(err, "expect %s needs a PATH", w);
        goto out;
    }
    if ((!strcmp(w, "json") || !strcmp(w, "json-at") || !strcmp(w, "json-any") ||
         !strcmp(w, "json-none")) &&
        !*op->c) {
        buf_addf(err, "expect %s needs a value", w);
        goto out;
    }
    ok = true;
out:
    return ok;
}

/* capture VAR PATH | VAR header NAME [REGEX] | VAR cookie NAME | VAR body REGEX */
static bool parse_capture(struct op *op, const char *p, struct buf *err)
{
    op->a = next_word(&p);
    op->what = next_word(&p);
    if (!op->a || !op->what) {
        buf_adds(err, "capture VAR PATH (or VAR header NAME [REGEX], VAR cookie NAME, "
                      "VAR body REGEX)");
        return false;
    }
    if (!strcmp(op->what, "header") || !strcmp(op->what, "cookie")) {
        op->b = next_word(&p);
        op->c = xstrdup(p);
        if (!op->b || (!strcmp(op->what, "cookie") && *p)) {
            buf_addf(err, "capture VAR %s NAME%s", op->what,
                     strcmp(op->what, "cookie") ? " [REGEX]" : "");
            return false;
        }
    } else if (!strcmp(op->what, "body")) {
        op->c = xstrdup(p);
        if (!*p) {
            buf_adds(err, "capture VAR body REGEX");
            return false;
        }
    } else {
        op->b = op->what;
        op->what = xstrdup("json");
        if (*p) {
            buf_adds(err, "capture VAR PATH takes no more words");
            return false;
        }
    }
    return true;
}

static bool parse_file(struct parser *ps, const char *path, struct buf *err);

static bool parse_include(struct parser *ps, const char *p, const char *text, struct buf *err)
{
    struct parser sub;
    struct buf path = {0}, disp = {0};
    char *file = next_word(&p), *kv = NULL;
    bool ok = false;

    memset(&sub, 0, sizeof(sub));
    if (!file) {
        buf_adds(err, "include FILE [NAME=VALUE...]");
        goto out;
    }
    if (ps->depth >= MAX_INCLUDE_DEPTH) {
        buf_adds(err, "includes nested too deep");
        goto out;
    }
    /* NAME=VALUE arguments become plain `set` steps before the included ones. */
    for (kv = next_word(&p); kv; kv = next_word(&p)) {
        const char *eq = strchr(kv, '=');
        struct op *op;

        if (!eq || eq == kv) {
            buf_addf(err, "include argument '%s' is not NAME=VALUE", kv);
            goto out;
        }
        op = op_new(ps, OP_SET, text);
        op->a = xstrndup(kv, (size_t)(eq - kv));
        op->c = xstrdup(eq + 1);
        free(kv);
        kv = NULL;
    }
    buf_addf(&path, "%s/%s", ps->dir, file);
    buf_addf(&disp, "%s:%zu>%s", ps->file, ps->i + 1, file);
    sub.cf = ps->cf;
    sub.file = buf_take(&disp);
    sub.depth = ps->depth + 1;
    ok = parse_file(&sub, buf_str(&path), err);
    ps->have_response = ps->have_response || sub.have_response;
out:
    free(sub.file);
    buf_free(&path);
    free(kv);
    free(file);
    return ok;
}

/* One directive line.  Modifier lines (as, session, header, query, form, body, body-size, file)
 * attach to the request above them; everything else ends that request. */
static bool parse_line(struct parser *ps, const char *line, struct buf *err)
{
    static const char *const modifiers[] = {"as",        "session", "header", "query", "form",
                                            "body-size", "body",    "file",   NULL};
    const char *p = line, *tag;
    char *word = next_word(&p);
    struct request_spec *rs = ps->req;
    struct op *op;
    bool ok = false;

    if (one_of(word, modifiers)) {
        if (!need_request(ps, word, err))
            goto out;
        if (!strcmp(word, "as") || !strcmp(word, "session")) {
            p = line;
            ok = parse_auth_words(rs, &p, err);
        } else if (!strcmp(word, "header") || !strcmp(word, "query") || !strcmp(word, "form")) {
            if (!*p || (!strcmp(word, "header") ? !strchr(p, ':') : !strchr(p, '='))) {
                buf_addf(err, "%s needs %s", word,
                         !strcmp(word, "header") ? "'Name: value'" : "'key=value'");
                goto out;
            }
            strlist_add(!strcmp(word, "header")  ? &rs->headers
                        : !strcmp(word, "query") ? &rs->queries
                                                 : &rs->forms,
                        xstrdup(p));
            ok = true;
        } else if (!strcmp(word, "body") || !strcmp(word, "body-size")) {
            if (has_body(rs) || rs->nfiles) {
                buf_adds(err, "a request has one body");
                goto out;
            }
            tag = heredoc_tag(p);
            if (!strcmp(word, "body-size")) {
                ok = parse_long(p, 1, 64L * 1024 * 1024, &rs->body_size);
                if (!ok)
                    buf_adds(err, "body-size needs a byte count (1..64 MiB)");
            } else if (tag) {
                ok = read_heredoc(ps, tag, &rs->body, err);
            } else {
                rs->body = xstrdup(p);
                ok = true;
            }
        } else { /* file FIELD FILENAME [TYPE] <<TAG */
            struct upload up = {NULL, NULL, NULL, NULL};
            char *last = NULL;

            up.field = next_word(&p);
            up.filename = next_word(&p);
            last = next_word(&p);
            if (last && !heredoc_tag(last)) {
                up.type = last;
                last = next_word(&p);
            }
            tag = last ? heredoc_tag(last) : NULL;
            if (!up.filename || !tag || *p || has_body(rs)) {
                buf_adds(err, "file FIELD FILENAME [TYPE] <<TAG (and no other body)");
            } else if (read_heredoc(ps, tag, &up.content, err)) {
                rs->files = xrealloc(rs->files, (rs->nfiles + 1) * sizeof(*rs->files));
                rs->files[rs->nfiles++] = up;
                memset(&up, 0, sizeof(up));
                ok = true;
            }
            free(last);
            free(up.field);
            free(up.filename);
            free(up.type);
            free(up.content);
        }
        goto out;
    }

    ps->req = NULL;
    if (!strcmp(word, "request")) {
        op = op_new(ps, OP_REQUEST, line);
        rs = xmalloc(sizeof(*rs));
        memset(rs, 0, sizeof(*rs));
        op->req = rs;
        rs->method = next_word(&p);
        rs->path = next_word(&p);
        if (!rs->path || rs->path[0] != '/') {
            buf_adds(err, "request METHOD /PATH [as NAME [bearer|bare|cookie]] [session NAME]");
            goto out;
        }
        if (!parse_auth_words(rs, &p, err))
            goto out;
        ps->req = rs;
        ps->have_response = true;
    } else if (!strcmp(word, "login")) {
        op = op_new(ps, OP_LOGIN, line);
        op->a = next_word(&p);
        op->b = next_word(&p);
        op->c = next_word(&p);
        if (!op->c) {
            buf_adds(err, "login NAME USERNAME PASSWORD [session JAR]");
            goto out;
        }
        if (*p) {
            char *w = next_word(&p);
            bool good = !strcmp(w, "session");

            free(w);
            op->d = next_word(&p);
            if (!good || !op->d || *p) {
                buf_adds(err, "login NAME USERNAME PASSWORD [session JAR]");
                goto out;
            }
        }
        ps->have_response = true;
    } else if (!strcmp(word, "expect") || !strcmp(word, "capture")) {
        bool is_expect = !strcmp(word, "expect");

        if (!ps->have_response) {
            buf_addf(err, "'%s' before any request", word);
            goto out;
        }
        op = op_new(ps, is_expect ? OP_EXPECT : OP_CAPTURE, line);
        if (!(is_expect ? parse_expect(op, p, err) : parse_capture(op, p, err)))
            goto out;
    } else if (!strcmp(word, "set")) {
        op = op_new(ps, OP_SET, line);
        op->a = next_word(&p);
        op->c = xstrdup(p);
        if (!op->a) {
            buf_adds(err, "set NAME VALUE");
            goto out;
        }
    } else if (!strcmp(word, "jwt")) {
        char *w;

        op = op_new(ps, OP_JWT, line);
        op->a = next_word(&p);
        if (!op->a) {
            buf_adds(err, "jwt NAME [from=TOKEN] [alg=ALG] [key=KEY] [sig=TEXT] [keep-sig] "
                          "[claim=value...]");
            goto out;
        }
        for (w = next_word(&p); w; w = next_word(&p))
            strlist_add(&op->args, w);
    } else if (!strcmp(word, "require-env")) {
        op = op_new(ps, OP_REQUIRE_ENV, line);
        op->a = next_word(&p);
        if (!op->a || *p) {
            buf_adds(err, "require-env VAR");
            goto out;
        }
    } else if (!strcmp(word, "include")) {
        ok = parse_include(ps, p, line, err);
        goto out;
    } else {
        buf_addf(err, "unknown directive '%s'", word);
        goto out;
    }
    ok = true;
out:
    free(word);
    return ok;
}

static bool parse_file(struct parser *ps, const char *path, struct buf *err)
{
    struct buf text = {0}, msg = {0};
    struct strlist lines = {0};
    const char *slash = strrchr(path, '/');
    bool ok = false;

    ps->dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    if (!read_file(path, &text, err))
        goto out;
    split_lines(buf_str(&text), &lines);
    ps->lines = lines.v;
    ps->nlines = lines.n;
    for (ps->i = 0; ps->i < ps->nlines; ps->i++) {
        const char *l = skip_ws(ps->lines[ps->i]);
        char *line;
        size_t n = strlen(l);
        bool good;

        if (!*l || *l == '#')
            continue;
        while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
            n--;
        line = xstrndup(l, n);
        good = parse_line(ps, line, &msg);
        free(line);
        if (!good) {
            buf_addf(err, "%s:%zu: %s", ps->file, ps->i + 1, buf_str(&msg));
            goto out;
        }
    }
    ok = true;
out:
    ps->lines = NULL;
    strlist_free(&lines);
    free(ps->dir);
    ps->dir = NULL;
    buf_free(&text);
    buf_free(&msg);
    return ok;
}

/* ---------------------------------------------------------------- running */

struct var {
    char *name, *value, *error; /* value NULL: poisoned, error says why */
};

struct response {
    long status;
    struct buf body;
    struct strlist headers;   /* "Name: value" of the final response */
    char *error;              /* the request was not sent or got no answer: why */
    char *desc;               /* "GET /api/x as admin", for messages */
    struct json_object *json; /* NULL also for a JSON null body: see json_ok */
    bool json_parsed, json_ok;
    struct buf json_error;
};

/* A named cookie jar.  Each request gets a fresh easy handle (so no option leaks from one
 * request to the next); the jar's cookies live in a share object the handles attach to. */
struct session {
    char *name;
    CURLSH *share;
};

struct run {
    const char *base_url;
    char rand[16];
    bool verbose, check_only;
    long tests, passed, failed;
    int timeouts_in_row;
};

struct case_state {
    struct run *run;
    const struct case_file *cf;
    struct var *vars;
    size_t nvars;
    struct response resp;
    struct session *sessions;
    size_t nsessions;
};

static struct var *var_find(struct case_state *cs, const char *name)
{
    size_t i;

    for (i = 0; i < cs->nvars; i++)
        if (!strcmp(cs->vars[i].name, name))
            return &cs->vars[i];
    return NULL;
}

/* value NULL poisons the variable with the reason why. */
static void var_put(struct case_state *cs, const char *name, const char *value, const char *why)
{
    struct var *v = var_find(cs, name);

    if (!v) {
        cs->vars = xrealloc(cs->vars, (cs->nvars + 1) * sizeof(*cs->vars));
        v = &cs->vars[cs->nvars++];
        v->name = xstrdup(name);
        v->value = v->error = NULL;
    }
    free(v->value);
    free(v->error);
    v->value = value ? xstrdup(value) : NULL;
    v->error = value ? NULL : xstrdup(why ? why : "unset");
}

static bool var_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* ${NAME} becomes the variable's value; "$${" is a literal "${".  Anything else is copied. */
static bool expand(struct case_state *cs, const char *in, char **out, struct buf *why)
{
    struct buf o = {0};
    const char *p = in;

    while (*p) {
        const char *q;

        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            buf_adds(&o, "${");
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            buf_addc(&o, *p++);
            continue;
        }
        for (q = p + 2; var_char(*q); q++)
            ;
        if (*q != '}' || q == p + 2) {
            buf_addc(&o, *p++);
            continue;
        }
        {
            char *name = xstrndup(p + 2, (size_t)(q - p - 2));
            struct var *v = var_find(cs, name);

            if (!v || !v->value) {
                if (v)
                    buf_addf(why, "${%s} is unset: %s", name, v->error);
                else
                    buf_addf(why, "${%s} is not defined", name);
                free(name);
                buf_free(&o);
                return false;
            }
            buf_adds(&o, v->value);
            free(name);
        }
        p = q + 1;
    }
    *out = buf_take(&o);
    return true;
}

static void response_reset(struct response *r)
{
    buf_free(&r->body);
    strlist_free(&r->headers);
    free(r->error);
    free(r->desc);
    if (r->json)
        json_object_put(r->json);
    buf_free(&r->json_error);
    memset(r, 0, sizeof(*r));
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct response *r = ud;

    buf_add(&r->body, data, size * n);
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    struct response *r = ud;
    size_t len = size * n, l = len;

    while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
        l--;
    /* A status line starts a new response (after a 100 Continue): keep only the last one. */
    if (l >= 5 && !strncmp(data, "HTTP/", 5))
        strlist_free(&r->headers);
    else if (l)
        strlist_add(&r->headers, xstrndup(data, l));
    return len;
}

/* The value of the next header called name after *iter (start at 0), or NULL. */
static const char *header_next(const struct response *r, const char *name, size_t *iter)
{
    size_t n = strlen(name);

    for (; *iter < r->headers.n; (*iter)++) {
        const char *h = r->headers.v[*iter];

        if (!strncasecmp(h, name, n) && h[n] == ':') {
            (*iter)++;
            return skip_ws(h + n + 1);
        }
    }
    return NULL;
}

/* The next Set-Cookie value ("name=value; attrs") for cookie name, or NULL. */
static const char *cookie_next(const struct response *r, const char *name, size_t *iter)
{
    const char *v;
    size_t n = strlen(name);

    for (v = header_next(r, "Set-Cookie", iter); v; v = header_next(r, "Set-Cookie", iter))
        if (!strncmp(v, name, n) && v[n] == '=')
            return v;
    return NULL;
}

static CURLSH *session_share(struct case_state *cs, const char *name)
{
    size_t i;
    CURLSH *sh;

    for (i = 0; i < cs->nsessions; i++)
        if (!strcmp(cs->sessions[i].name, name))
            return cs->sessions[i].share;
    sh = curl_share_init();
    if (!sh || curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK)
        die("curl_share_init failed");
    cs->sessions = xrealloc(cs->sessions, (cs->nsessions + 1) * sizeof(*cs->sessions));
    cs->sessions[cs->nsessions].name = xstrdup(name);
    cs->sessions[cs->nsessions].share = sh;
    cs->nsessions++;
    return sh;
}

static bool xp(struct case_state *cs, const struct request_spec *rs, const char *in, char **out,
               struct buf *why)
{
    if (rs->literal) {
        *out = xstrdup(in);
        return true;
    }
    return expand(cs, in, out, why);
}

/* "key=value" → key=<value URL-encoded>, appended to o after sep. */
static bool add_encoded_pair(struct case_state *cs, const struct request_spec *rs, CURL *h,
                             const char *pair, const char *sep, struct buf *o, struct buf *why)
{
    char *x = NULL, *enc = NULL;
    const char *eq;
    bool ok = false;

    if (!xp(cs, rs, pair, &x, why))
        goto out;
    eq = strchr(x, '=');
    buf_adds(o, sep);
    if (!eq) {
        buf_adds(o, x);
    } else {
        enc = curl_easy_escape(h, eq + 1, (int)strlen(eq + 1));
        if (!enc)
            die("curl_easy_escape failed");
        buf_add(o, x, (size_t)(eq - x + 1));
        buf_adds(o, enc);
    }
    ok = true;
out:
    curl_free(enc);
    free(x);
    return ok;
}

/* A valid JSON object of exactly n bytes, so only its size can make the server refuse it. */
static char *generated_body(long n)
{
    char *p = xmalloc((size_t)n + 1);
    const char head[] = "{\"pad\":\"", tail[] = "\"}";
    size_t hn = sizeof(head) - 1, tn = sizeof(tail) - 1;

    if ((size_t)n < hn + tn) {
        memset(p, 'a', (size_t)n);
    } else {
        memcpy(p, head, hn);
        memset(p + hn, 'a', (size_t)n - hn - tn);
        memcpy(p + (size_t)n - tn, tail, tn);
    }
    p[n] = '\0';
    return p;
}

static void verbose_dump(const char *url, const struct curl_slist *hdrs, const struct response *r,
                         const char *body)
{
    struct buf b = {0};
    size_t i;

    buf_addf(&b, "#   > %s %s\n", r->desc ? r->desc : "?", url);
    for (; hdrs; hdrs = hdrs->next)
        buf_addf(&b, "#   > %s\n", hdrs->data);
    if (body) {
        buf_adds(&b, "#   > ");
        buf_add_snippet(&b, body, strlen(body), 2000);
        buf_addc(&b, '\n');
    }
    if (r->error) {
        buf_addf(&b, "#   < %s\n", r->error);
    } else {
        buf_addf(&b, "#   < %ld\n", r->status);
        for (i = 0; i < r->headers.n; i++)
            buf_addf(&b, "#   < %s\n", r->headers.v[i]);
        buf_adds(&b, "#   < ");
        buf_add_snippet(&b, buf_str(&r->body), r->body.len, 2000);
        buf_addc(&b, '\n');
    }
    fputs(buf_str(&b), stdout);
    buf_free(&b);
}

/* Sends the request; the outcome (or why there was none) lands in cs->resp. */
static void do_request(struct case_state *cs, const struct request_spec *rs)
{
    struct response *r = &cs->resp;
    struct buf url = {0}, why = {0}, form = {0}, hv = {0};
    struct curl_slist *hdrs = NULL;
    curl_mime *mime = NULL;
    char *method = NULL, *path = NULL, *tok = NULL, *body = NULL, *x = NULL;
    char errbuf[CURL_ERROR_SIZE];
    CURL *h = curl_easy_init();
    bool has_ctype = false, sending_body = false;
    const char *default_ctype = NULL;
    CURLcode cc;
    size_t i;

    if (!h)
        die("curl_easy_init failed");
    response_reset(r);
    errbuf[0] = '\0';
    if (!xp(cs, rs, rs->method, &method, &why) || !xp(cs, rs, rs->path, &path, &why)) {
        buf_addf(&hv, "%s %s", rs->method, rs->path);
        r->desc = buf_take(&hv);
        goto unsent;
    }
    buf_addf(&hv, "%s %s", method, path);
    if (rs->auth)
        buf_addf(&hv, " as %s%s", rs->auth,
                 rs->auth_mode == AUTH_BARE     ? " bare"
                 : rs->auth_mode == AUTH_COOKIE ? " cookie"
                                                : "");
    if (rs->session)
        buf_addf(&hv, " session %s", rs->session);
    r->desc = buf_take(&hv);

    if (cs->run->timeouts_in_row >= MAX_TIMEOUTS_IN_ROW) {
        /* A hung server would cost REQUEST_TIMEOUT_S per request and the suite its budget. */
        buf_addf(&why, "not sent: the server stopped answering (%d timeouts in a row)",
                 MAX_TIMEOUTS_IN_ROW);
        goto unsent;
    }
    buf_addf(&url, "%s%s", cs->run->base_url, path);
    for (i = 0; i < rs->queries.n; i++)
        if (!add_encoded_pair(cs, rs, h, rs->queries.v[i], strchr(buf_str(&url), '?') ? "&" : "?",
                              &url, &why))
            goto unsent;

    /* curl adds "Expect: 100-continue" to big bodies; that only costs a round trip here. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (rs->auth) {
        buf_addf(&hv, "${%s}", rs->auth); /* the token is a variable like any other */
        if (!expand(cs, buf_str(&hv), &tok, &why))
            goto unsent;
        buf_free(&hv);
        if (rs->auth_mode == AUTH_COOKIE) {
            buf_addf(&hv, "cube_session=%s", tok);
            curl_easy_setopt(h, CURLOPT_COOKIE, buf_str(&hv));
        } else {
            buf_addf(&hv, "Authorization: %s%s", rs->auth_mode == AUTH_BARE ? "" : "Bearer ", tok);
            hdrs = curl_slist_append(hdrs, buf_str(&hv));
        }
    }
    for (i = 0; i < rs->headers.n; i++) {
        if (!xp(cs, rs, rs->headers.v[i], &x, &why))
            goto unsent;
        if (!strncasecmp(x, "Content-Type:", 13))
            has_ctype = true;
        hdrs = curl_slist_append(hdrs, x);
        free(x);
        x = NULL;
    }

    if (rs->nfiles) {
        mime = curl_mime_init(h);
        for (i = 0; i < rs->forms.n; i++) {
            curl_mimepart *part = curl_mime_addpart(mime);
            const char *eq;

            if (!xp(cs, rs, rs->forms.v[i], &x, &why))
                goto unsent;
            eq = strchr(x, '=');
            buf_free(&form);
            buf_add(&form, x, (size_t)(eq - x));
            curl_mime_name(part, buf_str(&form));
            curl_mime_data(part, eq + 1, CURL_ZERO_TERMINATED);
            free(x);
            x = NULL;
        }
        for (i = 0; i < rs->nfiles; i++) {
            curl_mimepart *part = curl_mime_addpart(mime);

            if (!xp(cs, rs, rs->files[i].content, &x, &why))
                goto unsent;
            curl_mime_name(part, rs->files[i].field);
            curl_mime_filename(part, rs->files[i].filename);
            curl_mime_type(part, rs->files[i].type ? rs->files[i].type : "text/csv");
            curl_mime_data(part, x, strlen(x));
            free(x);
            x = NULL;
        }
        curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
        sending_body = true;
    } else if (rs->forms.n) {
        for (i = 0; i < rs->forms.n; i++)
            if (!add_encoded_pair(cs, rs, h, rs->forms.v[i], i ? "&" : "", &form, &why))
                goto unsent;
        body = buf_take(&form);
        default_ctype = "Content-Type: application/x-www-form-urlencoded";
    } else if (rs->body_size > 0) {
        body = generated_body(rs->body_size);
        default_ctype = "Content-Type: application/json";
    } else if (rs->body) {
        if (!xp(cs, rs, rs->body, &body, &why))
            goto unsent;
        default_ctype = "Content-Type: application/json";
    }
    if (body) {
        if (!has_ctype)
            hdrs = curl_slist_append(hdrs, default_ctype);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        sending_body = true;
    }
    if (sending_body) {
        if (strcmp(method, "POST"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }

    curl_easy_setopt(h, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* redirects are what we assert */
    curl_easy_setopt(h, CURLOPT_PROXY, "");          /* a CI proxy must not see 127.0.0.1 */
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);     /* send odd paths as written */
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cube-api-runner");
    if (rs->session) {
        curl_easy_setopt(h, CURLOPT_SHARE, session_share(cs, rs->session));
        curl_easy_setopt(h, CURLOPT_COOKIEFILE, ""); /* turns the cookie engine on, reads nothing */
    }

    cc = curl_easy_perform(h);
    cs->run->timeouts_in_row = cc == CURLE_OPERATION_TIMEDOUT ? cs->run->timeouts_in_row + 1 : 0;
    if (cc != CURLE_OK) {
        buf_addf(&why, "request failed: %s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto unsent;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    goto out;
unsent:
    r->error = buf_take(&why);
    r->status = 0;
out:
    if (cs->run->verbose)
        verbose_dump(buf_str(&url), hdrs, r, body);
    curl_easy_cleanup(h); /* before the mime and header list it points at */
    curl_slist_free_all(hdrs);
    curl_mime_free(mime);
    free(method);
    free(path);
    free(tok);
    free(body);
    free(x);
    buf_free(&url);
    buf_free(&why);
    buf_free(&form);
    buf_free(&hv);
}

/* ---------------------------------------------------------------- JSON helpers */

/* The whole text s (NUL-terminated, n bytes) must be one JSON value: json_tokener_parse alone
 * accepts trailing junk.  *out may be NULL for a valid "null". */
static bool json_parse_all(const char *s, size_t n, struct json_object **out, struct buf *why)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    struct json_object *j = NULL;
    enum json_tokener_error e;
    size_t off;

    if (!tok)
        die("json_tokener_new failed");
    if (n > INT_MAX - 1)
        die("JSON text too large");
    /* Including the terminating NUL ends a top-level number ("17" alone would wait for more). */
    j = json_tokener_parse_ex(tok, s, (int)n + 1);
    e = json_tokener_get_error(tok);
    off = tok->char_offset;
    if (e == json_tokener_continue || !n) {
        buf_adds(why, n ? "not JSON (incomplete)" : "empty");
        goto fail;
    }
    if (e != json_tokener_success) {
        buf_addf(why, "not JSON (%s at byte %zu)", json_tokener_error_desc(e), off);
        goto fail;
    }
    while (off < n && isspace((unsigned char)s[off]))
        off++;
    if (off < n && s[off]) {
        buf_addf(why, "not JSON (junk after the value at byte %zu)", off);
        goto fail;
    }
    json_tokener_free(tok);
    *out = j;
    return true;
fail:
    json_object_put(j);
    json_tokener_free(tok);
    return false;
}

/* The response body as JSON (parsed once); false with why filled when it is not JSON. */
static bool resp_json(struct response *r, struct json_object **out, struct buf *why)
{
    if (!r->json_parsed) {
        r->json_parsed = true;
        r->json_ok = json_parse_all(buf_str(&r->body), r->body.len, &r->json, &r->json_error);
    }
    if (!r->json_ok)
        buf_addf(why, "body is %s", buf_str(&r->json_error));
    *out = r->json;
    return r->json_ok;
}

static const char *json_text(struct json_object *j)
{
    return json_object_to_json_string_ext(j,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void buf_add_json(struct buf *b, struct json_object *j)
{
    const char *s = json_text(j);

    buf_add_snippet(b, s, strlen(s), 160);
}

static bool all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

/* A member rendered the way a path selector spells it: strings raw, anything else as JSON. */
static const char *json_plain(struct json_object *j)
{
    return json_object_is_type(j, json_type_string) ? json_object_get_string(j) : json_text(j);
}

/*
 * Walks path from root.  Syntax: "." is the root; "a.b.0.c" takes keys and array indexes (-1 is
 * the last element); "[k=v]" takes the first array element whose member k is v; ["a.b"] is a
 * key that contains dots.  False, with why, when a step is missing.  JSON null is found (as
 * NULL), so `found` and "is null" stay different questions.
 */
static bool json_path(struct json_object *root, const char *path, struct json_object **out,
                      struct buf *why)
{
    struct json_object *cur = root, *next = NULL;
    const char *p = path;
    struct buf seg = {0}, sofar = {0};
    bool ok = false;

    while (*p) {
        const char *eq;
        bool select = false;

        if (*p == '.') {
            p++;
            continue;
        }
        buf_free(&seg);
        if (*p == '[' && p[1] == '"') {
            const char *end = strstr(p + 2, "\"]");

            if (!end) {
                buf_addf(why, "bad path %s", path);
                goto out;
            }
            buf_add(&seg, p + 2, (size_t)(end - p - 2));
            p = end + 2;
        } else if (*p == '[') {
            const char *end = strchr(p, ']');

            if (!end) {
                buf_addf(why, "bad path %s", path);
                goto out;
            }
            buf_add(&seg, p + 1, (size_t)(end - p - 1));
            select = strchr(buf_str(&seg), '=') != NULL;
            p = end + 1;
        } else {
            size_t n = strcspn(p, ".[");

            buf_add(&seg, p, n);
            p += n;
        }
        buf_addf(&sofar, "%s%s", sofar.len ? "." : "", buf_str(&seg));
        if (select && json_object_is_type(cur, json_type_array)) {
            size_t i, n = json_object_array_length(cur);

            eq = strchr(seg.p, '=');
            seg.p[eq - seg.p] = '\0'; /* seg is ours: split it into key and value in place */
            for (next = NULL, i = 0; i < n && !next; i++) {
                struct json_object *el = json_object_array_get_idx(cur, i), *m;

                if (json_object_object_get_ex(el, buf_str(&seg), &m) &&
                    !strcmp(json_plain(m), eq + 1))
                    next = el;
            }
            if (!next) {
                buf_addf(why, "no element with %s=%s at %s", buf_str(&seg), eq + 1,
                         buf_str(&sofar));
                goto out;
            }
        } else if (json_object_is_type(cur, json_type_array) &&
                   (all_digits(buf_str(&seg), seg.len) || !strcmp(buf_str(&seg), "-1"))) {
            size_t n = json_object_array_length(cur), idx;
            long v = 0;

            if (!parse_long(buf_str(&seg), -1, LONG_MAX, &v) || !n || (v >= 0 && (size_t)v >= n)) {
                buf_addf(why, "no element %s (array of %zu)", buf_str(&sofar), n);
                goto out;
            }
            idx = v < 0 ? n - 1 : (size_t)v;
            next = json_object_array_get_idx(cur, idx);
        } else if (json_object_is_type(cur, json_type_object) && !select) {
            if (!json_object_object_get_ex(cur, buf_str(&seg), &next)) {
                buf_addf(why, "no %s", buf_str(&sofar));
                goto out;
            }
        } else {
            buf_addf(why, "no %s (the parent is %s)", buf_str(&sofar),
                     json_type_to_name(json_object_get_type(cur)));
            goto out;
        }
        cur = next;
    }
    *out = cur;
    ok = true;
out:
    buf_free(&seg);
    buf_free(&sofar);
    return ok;
}

static bool json_number(struct json_object *j, double *d)
{
    if (!json_object_is_type(j, json_type_int) && !json_object_is_type(j, json_type_double))
        return false;
    *d = json_object_get_double(j);
    return true;
}

static bool json_numbers_equal(struct json_object *a, struct json_object *b)
{
    double x, y, diff, scale;

    if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
        return json_object_get_int64(a) == json_object_get_int64(b);
    if (!json_number(a, &x) || !json_number(b, &y))
        return false;
    diff = x > y ? x - y : y - x;
    scale = x < 0 ? -x : x;
    return diff <= 1e-9 * (scale > 1 ? scale : 1);
}

/*
 * Subset match: every key of an expected object must be in the actual one and match; arrays
 * match element by element and must have the same length; scalars must be equal (numbers by
 * value, so 5 matches 5.0).  On a mismatch why says where: "result.name: expected ..., got ...".
 */
static bool json_match(struct json_object *exp, struct json_object *act, struct buf *at,
                       struct buf *why)
{
    enum json_type te = json_object_get_type(exp), ta = json_object_get_type(act);
    size_t mark = at->len, i, n;
    bool ok = true;

    if (te == json_type_object && ta == json_type_object) {
        struct json_object_iterator it = json_object_iter_begin(exp);
        struct json_object_iterator end = json_object_iter_end(exp);

        for (; ok && !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            const char *k = json_object_iter_peek_name(&it);
            struct json_object *sub = NULL;

            buf_addf(at, "%s%s", at->len ? "." : "", k);
            if (!json_object_object_get_ex(act, k, &sub)) {
                buf_addf(why, "%s: missing", buf_str(at));
                ok = false;
            } else {
                ok = json_match(json_object_iter_peek_value(&it), sub, at, why);
            }
            at->len = mark;
            if (at->p)
                at->p[mark] = '\0';
        }
        return ok;
    }
    if (te == json_type_array && ta == json_type_array) {
        n = json_object_array_length(exp);
        if (n != json_object_array_length(act)) {
            buf_addf(why, "%s: expected an array of %zu, got %zu: ", at->len ? buf_str(at) : ".", n,
                     json_object_array_length(act));
            buf_add_json(why, act);
            return false;
        }
        for (i = 0; ok && i < n; i++) {
            buf_addf(at, "%s%zu", at->len ? "." : "", i);
            ok = json_match(json_object_array_get_idx(exp, i), json_object_array_get_idx(act, i),
                            at, why);
            at->len = mark;
            if (at->p)
                at->p[mark] = '\0';
        }
        return ok;
    }
    if (te == json_type_null)
        ok = ta == json_type_null;
    else if (te == json_type_int || te == json_type_double)
        ok = json_numbers_equal(exp, act);
    else if (te == json_type_string)
        ok = ta == json_type_string &&
             !strcmp(json_object_get_string(exp), json_object_get_string(act));
    else if (te == json_type_boolean)
        ok =
            ta == json_type_boolean && json_object_get_boolean(exp) == json_object_get_boolean(act);
    else
        ok = false;
    if (!ok) {
        buf_addf(why, "%s: expected ", at->len ? buf_str(at) : ".");
        buf_add_json(why, exp);
        buf_adds(why, ", got ");
        buf_add_json(why, act);
    }
    return ok;
}

/* Is there an object key called key anywhere in j?  where gets its path. */
static bool json_has_key(struct json_object *j, const char *key, struct buf *where)
{
    size_t mark = where->len, i, n;
    bool found = false;

    if (json_object_is_type(j, json_type_object)) {
        struct json_object_iterator it = json_object_iter_begin(j);
        struct json_object_iterator end = json_object_iter_end(j);

        for (; !found && !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            const char *k = json_object_iter_peek_name(&it);

            buf_addf(where, "%s%s", where->len ? "." : "", k);
            found = !strcmp(k, key) || json_has_key(json_object_iter_peek_value(&it), key, where);
            if (!found) {
                where->len = mark;
                where->p[mark] = '\0';
            }
        }
    } else if (json_object_is_type(j, json_type_array)) {
        n = json_object_array_length(j);
        for (i = 0; !found && i < n; i++) {
            buf_addf(where, "%s%zu", where->len ? "." : "", i);
            found = json_has_key(json_object_array_get_idx(j, i), key, where);
            if (!found) {
                where->len = mark;
                where->p[mark] = '\0';
            }
        }
    }
    return found;
}

/* ---------------------------------------------------------------- assertions */

static bool cmp_numbers(double got, const char *op, double want)
{
    if (!strcmp(op, "==") || !strcmp(op, "="))
        return got == want;
    if (!strcmp(op, "!="))
        return got != want;
    if (!strcmp(op, "<"))
        return got < want;
    if (!strcmp(op, "<="))
        return got <= want;
    if (!strcmp(op, ">"))
        return got > want;
    return got >= want; /* ">=": the parser admits nothing else */
}

/* POSIX ERE, REG_NEWLINE: "^" and "$" also match at line breaks, "." does not match one. */
static bool regex_search(const char *re, const char *subject, bool *matched, char **group,
                         struct buf *why)
{
    regex_t rx;
    regmatch_t m[2];
    char msg[160];
    int rc = regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | (group ? 0 : REG_NOSUB));

    if (rc) {
        regerror(rc, &rx, msg, sizeof(msg));
        buf_addf(why, "bad regex /%s/: %s", re, msg);
        return false;
    }
    *matched = regexec(&rx, subject, group ? 2 : 0, group ? m : NULL, 0) == 0;
    if (*matched && group) {
        int g = m[1].rm_so >= 0 ? 1 : 0;

        *group = xstrndup(subject + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
    }
    regfree(&rx);
    return true;
}

/* "~ RE", "!~ RE", "== TEXT", "!= TEXT", "contains TEXT", "!contains TEXT" against s. */
static bool text_check(const char *s, const char *op, const char *want, const char *what,
                       struct buf *why)
{
    bool matched = false, ok;

    if (!strcmp(op, "~") || !strcmp(op, "!~")) {
        if (!regex_search(want, s, &matched, NULL, why))
            return false;
        ok = op[0] == '~' ? matched : !matched;
    } else if (!strcmp(op, "contains") || !strcmp(op, "!contains")) {
        ok = (strstr(s, want) != NULL) == (op[0] == 'c');
    } else if (!strcmp(op, "==")) {
        ok = !strcmp(s, want);
    } else {
        ok = strcmp(s, want) != 0;
    }
    if (!ok) {
        buf_addf(why, "%s ", what);
        buf_add_snippet(why, s, strlen(s), 200);
        buf_addf(why, " does not satisfy %s %s", op, want);
    }
    return ok;
}

static bool status_matches(long status, const char *codes)
{
    char got[24]; /* room for any long: the fortified snprintf checks it */
    const char *p = codes;

    snprintf(got, sizeof(got), "%03ld", status);
    while (*p) {
        size_t n = strcspn(p, "|"), i;
        bool ok = n == strlen(got);

        for (i = 0; ok && i < n; i++)
            ok = p[i] == 'x' || p[i] == got[i];
        if (ok)
            return true;
        p += n + (p[n] == '|');
    }
    return false;
}

/* The body's lines, "\r" dropped, a UTF-8 BOM dropped from the first (CSV exports carry one). */
static void body_lines(const struct response *r, struct strlist *out)
{
    const char *s = buf_str(&r->body);

    if (!strncmp(s, "\xEF\xBB\xBF", 3))
        s += 3;
    split_lines(s, out);
}

static bool check_json_at(struct case_state *cs, const struct op *op, const char *path,
                          const char *value, struct buf *why)
{
    struct json_object *root = NULL, *j = NULL, *exp = NULL;
    struct buf at = {0}, sub = {0};
    double got, want;
    bool ok = false;

    if (!resp_json(&cs->resp, &root, why))
        goto out;
    if (!json_path(root, path, &j, !strcmp(op->what, "json-absent") ? &sub : why)) {
        ok = !strcmp(op->what, "json-absent"); /* missing is what json-absent wants */
        goto out;
    }
    if (!strcmp(op->what, "json-absent")) {
        buf_addf(why, "%s is present: ", path);
        buf_add_json(why, j);
        goto out;
    }
    if (!strcmp(op->what, "json-type")) {
        enum json_type t = json_object_get_type(j);
        const char *w = op->c;

        ok = (!strcmp(w, "null") && t == json_type_null) ||
             (!strcmp(w, "bool") && t == json_type_boolean) ||
             (!strcmp(w, "int") && t == json_type_int) ||
             (!strcmp(w, "double") && t == json_type_double) ||
             (!strcmp(w, "number") && (t == json_type_int || t == json_type_double)) ||
             (!strcmp(w, "string") && t == json_type_string) ||
             (!strcmp(w, "object") && t == json_type_object) ||
             (!strcmp(w, "array") && t == json_type_array);
        if (!ok) {
            buf_addf(why, "%s is %s: ", path, json_type_to_name(t));
            buf_add_json(why, j);
        }
        goto out;
    }
    if (!strcmp(op->what, "json-len")) {
        long n;

        if (json_object_is_type(j, json_type_array))
            n = (long)json_object_array_length(j);
        else if (json_object_is_type(j, json_type_object))
            n = (long)json_object_object_length(j);
        else if (json_object_is_type(j, json_type_string))
            n = (long)json_object_get_string_len(j);
        else {
            buf_addf(why, "%s has no length: ", path);
            buf_add_json(why, j);
            goto out;
        }
        if (!parse_double(value, &want)) {
            buf_addf(why, "'%s' is not a number", value);
            goto out;
        }
        ok = cmp_numbers((double)n, op->b, want);
        if (!ok)
            buf_addf(why, "length of %s is %ld, wanted %s %s", path, n, op->b, value);
        goto out;
    }
    if (!strcmp(op->what, "json-any") || !strcmp(op->what, "json-none")) {
        bool any = false;
        size_t i, n;

        if (!json_parse_all(value, strlen(value), &exp, why))
            goto out;
        if (!json_object_is_type(j, json_type_array)) {
            buf_addf(why, "%s is not an array: ", path);
            buf_add_json(why, j);
            goto out;
        }
        n = json_object_array_length(j);
        for (i = 0; i < n && !any; i++) {
            any = json_match(exp, json_object_array_get_idx(j, i), &at, &sub);
            buf_free(&sub);
            buf_free(&at);
        }
        ok = any == !strcmp(op->what, "json-any");
        if (!ok) {
            buf_addf(why, "%s element of %s matches ", any ? "an" : "no", path);
            buf_add_json(why, exp);
            buf_adds(why, ": ");
            buf_add_json(why, j);
        }
        goto out;
    }
    /* json / json-at */
    if (!strcmp(op->b, "~") || !strcmp(op->b, "!~")) {
        ok = text_check(json_plain(j), op->b, value, path, why);
        goto out;
    }
    if (op->b[0] == '<' || op->b[0] == '>') {
        if (!json_number(j, &got) || !parse_double(value, &want)) {
            buf_addf(why, "%s %s %s needs numbers, got ", path, op->b, value);
            buf_add_json(why, j);
            goto out;
        }
        ok = cmp_numbers(got, op->b, want);
        if (!ok)
            buf_addf(why, "%s is %s, wanted %s %s", path, json_text(j), op->b, value);
        goto out;
    }
    if (!json_parse_all(value, strlen(value), &exp, why)) {
        buf_adds(why, " (the expected value)");
        goto out;
    }
    if (strcmp(path, ".") && strcmp(path, ""))
        buf_adds(&at, path);
    ok = json_match(exp, j, &at, &sub);
    if (!strcmp(op->b, "!=")) {
        ok = !ok;
        if (!ok) {
            buf_addf(why, "%s matches ", path);
            buf_add_json(why, exp);
        }
    } else if (!ok) {
        buf_adds(why, buf_str(&sub));
    }
out:
    if (exp)
        json_object_put(exp);
    buf_free(&at);
    buf_free(&sub);
    return ok;
}

static bool check_expect(struct case_state *cs, const struct op *op, struct buf *why)
{
    struct response *r = &cs->resp;
    char *a = NULL, *c = NULL;
    const char *w = op->what, *v;
    struct strlist lines = {0};
    struct buf where = {0};
    size_t it = 0;
    bool ok = false, any = false;

    if (r->error) {
        buf_adds(why, r->error);
        goto out;
    }
    if ((op->a && !expand(cs, op->a, &a, why)) || (op->c && !expand(cs, op->c, &c, why)))
        goto out;
    if (!strcmp(w, "status")) {
        ok = status_matches(r->status, c);
        if (!ok)
            buf_addf(why, "status is %ld", r->status);
    } else if (!strcmp(w, "header") || !strcmp(w, "cookie")) {
        bool is_header = !strcmp(w, "header");
        struct buf seen = {0};
        bool hit = false; /* some value matches ~ / == */

        for (;;) {
            bool m = false;

            v = is_header ? header_next(r, a, &it) : cookie_next(r, a, &it);
            if (!v)
                break;
            any = true;
            buf_addf(&seen, "%s[%s]", seen.len ? " " : "", v);
            if (!strcmp(op->b, "=="))
                m = !strcmp(v, c);
            else if (op->b[0] == '~' || op->b[0] == '!')
                (void)regex_search(c, v, &m, NULL, why);
            hit = hit || m;
        }
        if (!strcmp(op->b, "absent"))
            ok = !any;
        else if (!strcmp(op->b, "present"))
            ok = any;
        else if (!strcmp(op->b, "!~"))
            ok = !hit; /* no value matches, or no such header at all */
        else
            ok = hit;
        if (!ok && !why->len)
            buf_addf(why, "%s %s: %s", w, a, any ? buf_str(&seen) : "none in the response");
        buf_free(&seen);
    } else if (!strcmp(w, "body")) {
        struct buf sub = {0};

        ok = text_check(buf_str(&r->body), op->b, c, "body", &sub);
        /* The failure line shows the body anyway: say only what was wanted, or the bad regex. */
        if (!ok && !strncmp(buf_str(&sub), "bad regex", 9))
            buf_adds(why, buf_str(&sub));
        else if (!ok)
            buf_addf(why, "body does not satisfy %s %s", op->b, c);
        buf_free(&sub);
    } else if (!strcmp(w, "json-no-key")) {
        struct json_object *root = NULL;

        if (resp_json(r, &root, why)) {
            ok = !json_has_key(root, a, &where);
            if (!ok)
                buf_addf(why, "key %s found at %s", a, buf_str(&where));
        }
    } else if (!strcmp(w, "lines") || !strcmp(w, "line")) {
        long n = 0, want = 0;

        body_lines(r, &lines);
        n = (long)lines.n;
        if (!strcmp(w, "lines")) {
            if (!parse_long(c, 0, LONG_MAX, &want)) {
                buf_addf(why, "'%s' is not a count", c);
                goto out;
            }
            ok = cmp_numbers((double)n, op->b, (double)want);
            if (!ok)
                buf_addf(why, "the body has %ld lines", n);
        } else if (!parse_long(a, 1, LONG_MAX, &want) || want > n) {
            buf_addf(why, "no line %s (the body has %ld)", a, n);
        } else {
            ok = text_check(lines.v[want - 1], op->b, c, "line", why);
        }
    } else {
        ok = check_json_at(cs, op, a, c ? c : "", why);
    }
out:
    strlist_free(&lines);
    buf_free(&where);
    free(a);
    free(c);
    return ok;
}

static void report(struct case_state *cs, const struct op *op, bool ok, const char *why)
{
    struct run *run = cs->run;
    const struct response *r = &cs->resp;
    struct buf line = {0};

    run->tests++;
    if (ok)
        run->passed++;
    else
        run->failed++;
    buf_addf(&line, "%sok %ld - %s:%d %s", ok ? "" : "not ", run->tests, op->file, op->line,
             op->text);
    if (r->desc && op->kind != OP_LOGIN && op->kind != OP_REQUEST)
        buf_addf(&line, " [%s]", r->desc);
    if (!ok) {
        buf_addf(&line, ": %s", why && *why ? why : "failed");
        if (!r->error && r->desc) {
            buf_addf(&line, " (got status %ld, body ", r->status);
            buf_add_snippet(&line, buf_str(&r->body), r->body.len, SNIPPET_MAX);
            buf_adds(&line, ")");
        }
    }
    puts(buf_str(&line));
    buf_free(&line);
}

static void do_capture(struct case_state *cs, const struct op *op)
{
    struct response *r = &cs->resp;
    struct buf why = {0}, shown = {0};
    struct json_object *root = NULL, *j = NULL;
    char *name = NULL, *b = NULL, *re = NULL, *value = NULL;
    const char *v;
    size_t it = 0;
    bool matched = false, ok = false;

    if (r->error) {
        buf_adds(&why, r->error);
        goto out;
    }
    if (!expand(cs, op->a, &name, &why) || (op->b && !expand(cs, op->b, &b, &why)) ||
        (op->c && !expand(cs, op->c, &re, &why)))
        goto out;
    if (!strcmp(op->what, "json")) {
        if (!resp_json(r, &root, &why) || !json_path(root, b, &j, &why))
            goto out;
        value = xstrdup(json_plain(j));
    } else if (!strcmp(op->what, "cookie")) {
        v = cookie_next(r, b, &it);
        if (!v) {
            buf_addf(&why, "no Set-Cookie for %s", b);
            goto out;
        }
        v += strlen(b) + 1;
        value = xstrndup(v, strcspn(v, ";"));
    } else {
        v = !strcmp(op->what, "header") ? header_next(r, b, &it) : buf_str(&r->body);
        if (!v) {
            buf_addf(&why, "no header %s", b);
            goto out;
        }
        if (!re || !*re) {
            value = xstrdup(v);
        } else {
            if (!regex_search(re, v, &matched, &value, &why))
                goto out;
            if (!matched) {
                buf_addf(&why, "/%s/ does not match", re);
                goto out;
            }
        }
    }
    var_put(cs, name, value, NULL);
    ok = true;
out:
    if (!ok && name)
        var_put(cs, name, NULL, buf_str(&why));
    if (ok) {
        buf_addf(&shown, "%s = ", name);
        buf_add_snippet(&shown, value, strlen(value), 60);
    }
    report(cs, op, ok, ok ? NULL : buf_str(&why));
    buf_free(&why);
    buf_free(&shown);
    free(name);
    free(b);
    free(re);
    free(value);
}

/* login NAME USER PASSWORD [session JAR]: POST /api/login as JSON, keep result.token. */
static void do_login(struct case_state *cs, const struct op *op)
{
    struct request_spec rs;
    struct buf why = {0};
    struct json_object *body = json_object_new_object(), *root = NULL, *tok = NULL;
    char *name = NULL, *user = NULL, *pw = NULL;
    bool ok = false;

    memset(&rs, 0, sizeof(rs));
    if (!expand(cs, op->a, &name, &why) || !expand(cs, op->b, &user, &why) ||
        !expand(cs, op->c, &pw, &why)) {
        response_reset(&cs->resp);
        cs->resp.desc = xstrdup("POST /api/login");
        cs->resp.error = xstrdup(buf_str(&why));
        goto out;
    }
    json_object_object_add(body, "username", json_object_new_string(user));
    json_object_object_add(body, "password", json_object_new_string(pw));
    /* Built here, already final: the password must not be expanded a second time. */
    rs.method = xstrdup("POST");
    rs.path = xstrdup("/api/login");
    rs.body = xstrdup(json_text(body));
    rs.session = op->d ? xstrdup(op->d) : NULL;
    rs.literal = true;
    do_request(cs, &rs);
    if (cs->resp.error) {
        buf_adds(&why, cs->resp.error);
        goto out;
    }
    if (cs->resp.status != 200) {
        buf_addf(&why, "login as %s: status %ld", user, cs->resp.status);
        if (cs->resp.status == 429)
            buf_adds(&why, " (failed logins are throttled per user and per address: re-runs "
                           "within CUBE_LOGIN_WINDOW add up; see tests/api/README.md)");
        goto out;
    }
    if (!resp_json(&cs->resp, &root, &why) || !json_path(root, "result.token", &tok, &why) ||
        !json_object_is_type(tok, json_type_string)) {
        if (!why.len)
            buf_adds(&why, "result.token is not a string");
        goto out;
    }
    var_put(cs, name, json_object_get_string(tok), NULL);
    ok = true;
out:
    if (!ok && name)
        var_put(cs, name, NULL, buf_str(&why));
    report(cs, op, ok, buf_str(&why));
    json_object_put(body);
    free(rs.method);
    free(rs.path);
    free(rs.body);
    free(rs.session);
    buf_free(&why);
    free(name);
    free(user);
    free(pw);
}

/* A claim value: "+N"/"-N" on a time claim is relative to now, digits are numbers, true/false
 * are booleans, "..." quotes a string that would otherwise look like one of those. */
static struct json_object *claim_value(const char *k, const char *v)
{
    long n;
    size_t len = strlen(v);

    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        char *s = xstrndup(v + 1, len - 2);
        struct json_object *j = json_object_new_string(s);

        free(s);
        return j;
    }
    if ((v[0] == '+' || v[0] == '-') &&
        (!strcmp(k, "exp") || !strcmp(k, "iat") || !strcmp(k, "nbf")) &&
        parse_long(v + 1, 0, LONG_MAX / 2, &n))
        return json_object_new_int64((int64_t)time(NULL) + (v[0] == '-' ? -n : n));
    if (parse_long(v, LONG_MIN, LONG_MAX, &n))
        return json_object_new_int64(n);
    if (!strcmp(v, "true") || !strcmp(v, "false"))
        return json_object_new_boolean(v[0] == 't');
    return json_object_new_string(v);
}

static struct json_object *jwt_part(const char *s, size_t n, struct buf *why)
{
    struct buf raw = {0};
    struct json_object *j = NULL;

    if (!b64url_decode(s, n, &raw))
        buf_adds(why, "from= token is not base64url");
    else if (!json_parse_all(buf_str(&raw), raw.len, &j, why))
        j = NULL;
    if (j && !json_object_is_type(j, json_type_object)) {
        buf_adds(why, "from= token part is not an object");
        json_object_put(j);
        j = NULL;
    }
    buf_free(&raw);
    return j;
}

/*
 * jwt NAME [from=TOKENVAR] [alg=ALG] [key=KEY] [sig=TEXT] [keep-sig] [claim=value ...]
 * Builds a token: header and claims start from TOKENVAR's (a real token, so the server's claim
 * layout is kept) or from {"alg":"HS256","typ":"JWT"} and {iat, exp in an hour}; alg= and the
 * claims override.  The signature is TOKENVAR's (keep-sig), TEXT (sig=), empty (alg none) or an
 * HMAC with KEY.
 */
static void do_jwt(struct case_state *cs, const struct op *op)
{
    struct buf why = {0}, tok = {0}, ref = {0};
    struct json_object *hdr = NULL, *claims = NULL;
    char *name = NULL, *x = NULL, *from = NULL, *alg = NULL, *key = NULL, *sig = NULL;
    const char *dot1, *dot2, *h_s, *c_s;
    const struct hmac_alg *ha;
    uint8_t mac[64];
    bool keep_sig = false, ok = false;
    size_t i;

    if (!expand(cs, op->a, &name, &why))
        goto out;
    for (i = 0; i < op->args.n; i++) { /* first pass: the options */
        if (!expand(cs, op->args.v[i], &x, &why))
            goto out;
        if (!strcmp(x, "keep-sig"))
            keep_sig = true;
        else if (!strncmp(x, "from=", 5)) {
            buf_addf(&ref, "${%s}", x + 5);
            if (!expand(cs, buf_str(&ref), &from, &why))
                goto out;
        } else if (!strncmp(x, "alg=", 4))
            alg = xstrdup(x + 4);
        else if (!strncmp(x, "key=", 4))
            key = xstrdup(x + 4);
        else if (!strncmp(x, "sig=", 4))
            sig = xstrdup(x + 4);
        else if (!strchr(x, '=')) {
            buf_addf(&why, "jwt: '%s' is not key=value", x);
            goto out;
        }
        free(x);
        x = NULL;
    }
    if (from) {
        dot1 = strchr(from, '.');
        dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
        if (!dot2 || strchr(dot2 + 1, '.')) {
            buf_adds(&why, "from= token does not have three parts");
            goto out;
        }
        hdr = jwt_part(from, (size_t)(dot1 - from), &why);
        claims = hdr ? jwt_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), &why) : NULL;
        if (!claims)
            goto out;
        if (keep_sig)
            sig = xstrdup(dot2 + 1);
    } else {
        if (keep_sig) {
            buf_adds(&why, "keep-sig needs from=");
            goto out;
        }
        hdr = json_object_new_object();
        json_object_object_add(hdr, "alg", json_object_new_string("HS256"));
        json_object_object_add(hdr, "typ", json_object_new_string("JWT"));
        claims = json_object_new_object();
        json_object_object_add(claims, "iat", json_object_new_int64((int64_t)time(NULL)));
        json_object_object_add(claims, "exp", json_object_new_int64((int64_t)time(NULL) + 3600));
    }
    if (alg)
        json_object_object_add(hdr, "alg", json_object_new_string(alg));
    for (i = 0; i < op->args.n; i++) { /* second pass: the claims */
        const char *eq;

        if (!expand(cs, op->args.v[i], &x, &why))
            goto out;
        eq = strchr(x, '=');
        if (eq && strncmp(x, "from=", 5) && strncmp(x, "alg=", 4) && strncmp(x, "key=", 4) &&
            strncmp(x, "sig=", 4)) {
            char *k = xstrndup(x, (size_t)(eq - x));

            json_object_object_add(claims, k, claim_value(k, eq + 1));
            free(k);
        }
        free(x);
        x = NULL;
    }
    h_s = json_text(hdr);
    b64url_encode(&tok, (const uint8_t *)h_s, strlen(h_s));
    buf_addc(&tok, '.');
    c_s = json_text(claims);
    b64url_encode(&tok, (const uint8_t *)c_s, strlen(c_s));
    /* what is signed: "header.claims" */
    {
        struct json_object *a = NULL;
        const char *alg_name = json_object_object_get_ex(hdr, "alg", &a) ? json_plain(a) : "";
        size_t signed_len = tok.len;

        buf_addc(&tok, '.');
        ha = hmac_find(alg_name);
        if (sig) {
            buf_adds(&tok, sig);
        } else if (!strcasecmp(alg_name, "none")) {
            /* unsigned: nothing after the last dot */
        } else if (ha) {
            if (!key) {
                buf_addf(&why, "jwt: alg %s needs key=", alg_name);
                goto out;
            }
            hmac(ha, key, strlen(key), buf_str(&tok), signed_len, mac);
            b64url_encode(&tok, mac, ha->outlen);
        } else {
            buf_addf(&why, "jwt: cannot sign alg %s (give sig=)", alg_name);
            goto out;
        }
    }
    var_put(cs, name, buf_str(&tok), NULL);
    ok = true;
out:
    if (!ok && name) {
        struct buf msg = {0};

        buf_addf(&msg, "jwt at %s:%d failed: %s", op->file, op->line, buf_str(&why));
        var_put(cs, name, NULL, buf_str(&msg));
        buf_free(&msg);
    }
    if (hdr)
        json_object_put(hdr);
    if (claims)
        json_object_put(claims);
    buf_free(&why);
    buf_free(&tok);
    buf_free(&ref);
    free(name);
    free(x);
    free(from);
    free(alg);
    free(key);
    free(sig);
}

/* Runs one parsed case; a require-env whose variable is unset ends it early. */
static void run_case(struct run *run, const struct case_file *cf)
{
    struct case_state cs;
    struct buf why = {0};
    const char *env;
    char *v = NULL;
    size_t i;

    memset(&cs, 0, sizeof(cs));
    cs.run = run;
    cs.cf = cf;
    var_put(&cs, "RAND", run->rand, NULL);
    var_put(&cs, "URL", run->base_url, NULL);
    env = getenv("CUBE_TEST_ADMIN_PASSWORD");
    var_put(&cs, "ADMIN_PASSWORD", env && *env ? env : NULL,
            "not set (export CUBE_TEST_ADMIN_PASSWORD)");
    printf("# %s\n", cf->name);
    for (i = 0; i < cf->n; i++) {
        const struct op *op = &cf->ops[i];

        switch (op->kind) {
        case OP_SET:
            buf_free(&why);
            if (expand(&cs, op->c, &v, &why))
                var_put(&cs, op->a, v, NULL);
            else
                var_put(&cs, op->a, NULL, buf_str(&why));
            free(v);
            v = NULL;
            break;
        case OP_REQUIRE_ENV:
            env = getenv(op->a);
            if (!env || !*env) {
                printf("# skip %s:%d: %s is not set, the rest of this case is skipped\n", op->file,
                       op->line, op->a);
                goto out;
            }
            var_put(&cs, op->a, env, NULL);
            break;
        case OP_JWT:
            do_jwt(&cs, op);
            break;
        case OP_LOGIN:
            do_login(&cs, op);
            break;
        case OP_REQUEST:
            do_request(&cs, op->req);
            break;
        case OP_CAPTURE:
            do_capture(&cs, op);
            break;
        case OP_EXPECT: {
            bool ok;

            buf_free(&why);
            ok = check_expect(&cs, op, &why); /* before buf_str(&why) is taken */
            report(&cs, op, ok, buf_str(&why));
            break;
        }
        }
    }
out:
    fflush(stdout);
    response_reset(&cs.resp);
    for (i = 0; i < cs.nsessions; i++) {
        curl_share_cleanup(cs.sessions[i].share);
        free(cs.sessions[i].name);
    }
    free(cs.sessions);
    for (i = 0; i < cs.nvars; i++) {
        free(cs.vars[i].name);
        free(cs.vars[i].value);
        free(cs.vars[i].error);
    }
    free(cs.vars);
    buf_free(&why);
}

/* ---------------------------------------------------------------- main */

static int case_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".case");
}

/* A directory contributes its *.case files in name order; a file is taken as it is. */
static bool collect(const char *path, struct strlist *files)
{
    struct stat st;
    struct dirent **names = NULL;
    struct buf p = {0};
    int n, i;

    if (stat(path, &st)) {
        fprintf(stderr, "api_runner: %s: %s\n", path, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        strlist_add(files, xstrdup(path));
        return true;
    }
    n = scandir(path, &names, case_filter, alphasort);
    if (n < 0) {
        fprintf(stderr, "api_runner: %s: %s\n", path, strerror(errno));
        return false;
    }
    for (i = 0; i < n; i++) {
        buf_addf(&p, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]->d_name);
        strlist_add(files, buf_take(&p));
        free(names[i]);
    }
    free(names);
    return true;
}

/* Unique per run and lowercase alphanumeric, so it fits usernames (^[a-z][a-z0-9-]*[a-z0-9]$
 * once prefixed by a letter) and re-runs on a dirty database never collide. */
static void make_rand(char *out, size_t size)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    const char *env = getenv("CUBE_TEST_RAND");
    struct timeval tv;
    uint64_t x;
    size_t i;

    if (env && *env) {
        snprintf(out, size, "%s", env);
        return;
    }
    gettimeofday(&tv, NULL);
    x = ((uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec) ^ ((uint64_t)getpid() << 36);
    for (i = 0; i < 8 && i + 1 < size; i++, x /= 36)
        out[i] = digits[x % 36];
    out[i] = '\0';
}

static void usage(FILE *f)
{
    fputs("usage: api_runner [-v] [--check] CASE_DIR_OR_FILE...\n"
          "  Runs tests/api cases against $CUBE_TEST_URL (default " DEFAULT_URL ").\n"
          "  -v       print every request and response\n"
          "  --check  parse the cases only, send nothing\n"
          "  env: CUBE_TEST_URL, CUBE_TEST_ADMIN_PASSWORD, CUBE_TEST_RAND (fixes ${RAND}),\n"
          "       CUBE_TEST_JWT_SECRET (optional: enables the true-expiry JWT checks)\n",
          f);
}

int main(int argc, char **argv)
{
    struct run run;
    struct strlist files = {0};
    struct timeval t0, t1;
    const char *url = getenv("CUBE_TEST_URL");
    int i, rc = 2;
    size_t k;

    memset(&run, 0, sizeof(run));
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) {
            run.verbose = true;
        } else if (!strcmp(argv[i], "--check")) {
            run.check_only = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            rc = 0;
            goto out;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            goto out;
        } else if (!collect(argv[i], &files)) {
            goto out;
        }
    }
    if (!files.n) {
        fputs("api_runner: no .case files given\n", stderr);
        usage(stderr);
        goto out;
    }
    run.base_url = url && *url ? url : DEFAULT_URL;
    make_rand(run.rand, sizeof(run.rand));
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        die("curl_global_init failed");
    printf("# api: %s, RAND=%s\n", run.base_url, run.rand);
    gettimeofday(&t0, NULL);
    for (k = 0; k < files.n; k++) {
        struct case_file cf;
        struct parser ps;
        struct buf err = {0};
        const char *slash = strrchr(files.v[k], '/');

        memset(&cf, 0, sizeof(cf));
        memset(&ps, 0, sizeof(ps));
        cf.path = xstrdup(files.v[k]);
        cf.name = xstrdup(slash ? slash + 1 : files.v[k]);
        ps.cf = &cf;
        ps.file = cf.name;
        if (!parse_file(&ps, cf.path, &err)) {
            run.tests++;
            run.failed++;
            printf("not ok %ld - %s: parse error: %s\n", run.tests, cf.name, buf_str(&err));
        } else if (run.check_only) {
            run.tests++;
            run.passed++;
            printf("ok %ld - %s parses (%zu steps)\n", run.tests, cf.name, cf.n);
        } else {
            run_case(&run, &cf);
        }
        buf_free(&err);
        case_free(&cf);
    }
    gettimeofday(&t1, NULL);
    printf("# %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6);
    printf("api: %ld passed, %ld failed\n", run.passed, run.failed);
    rc = run.failed ? 1 : 0;
    curl_global_cleanup();
out:
    strlist_free(&files);
    return rc;
}
