/*
 * slurm.c — the Slurm executor over slurmrestd (design and semantics in slurm.h).
 *
 * What Slurm 22.05's REST API really answers was recorded on a local cluster
 * (deploy/slurm.sh; shared/docs/engines.md §1): an unknown job id is HTTP 500
 * with error_number 2017, not 404; an expired or wrong token is HTTP 500 with
 * error -1 and a message about something else; a missing token is 401 with a
 * plain-text body; some refused submissions come back as HTTP 200 with errors[]
 * AND a job id (the job then pends forever); exit_code is a raw wait(2) status.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jwt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/js.h"
#include "core/log.h"
#include "core/slurm.h"
#include "core/common.h"

enum {
    ERRMSG_MAX = 1024,
    BODY_MAX = 64 << 20,   /* GET /jobs lists every job slurmctld remembers */
    SCRIPT_MAX = 1 << 20,  /* the batch script (the quoted argv) */
    RECORD_MAX = 64 << 10, /* jobid and exit files */
    START_GRACE_S = 10,    /* an attempt directory without a job is "starting" this long */
    TOKEN_RENEW_S = 60,    /* a minted token is renewed this long before its exp */
    DEFAULT_TIMEOUT_MS = 5000
};

#define JWT_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
#define AT_JOBID "jobid"
#define AT_EXIT "exit"
#define AT_LOG "log"
#define AT_WORK "work"
#define AT_CANCEL "cancel"
#define AT_LOCK ".lock"
#define AT_RANKS "ranks"
#define AT_POSTED "posted"

struct slurm {
    char *endpoint; /* without a trailing slash */
    char *user;
    char *token; /* supplied, or NULL */
    unsigned char *key;
    size_t key_len;
    char *queue; /* "" = the cluster's default partition */
    char *shared_dir;
    char *ca_pem; /* a CA for an https endpoint, or NULL for the system store */
    long timeout_ms;
    CURL *curl;
    char *minted; /* the current minted token (malloc), and its exp */
    int64_t minted_exp;
    char errmsg[ERRMSG_MAX];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void set_err(struct slurm *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void set_err(struct slurm *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
}

static bool streq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static int64_t js_i64(json_object *o, const char *key)
{
    json_object *v = js_get(o, key);
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
               ? json_object_get_int64(v)
               : 0;
}

static bool js_bool(json_object *o, const char *key)
{
    json_object *v = js_get(o, key);
    return v && json_object_get_boolean(v);
}

/* Partition names and gres types: a conservative character set, nothing to escape. */
static bool word_valid(const char *w)
{
    if (!w || !*w || strlen(w) > 128)
        return false;
    for (const char *p = w; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

static const char *path_join(struct arena *a, const char *dir, const char *name)
{
    return arena_printf(a, "%s/%s", dir, name);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Writes data to dir/name through a temporary file, fsync and rename. */
static enum err write_atomic(const char *dir, const char *name, const char *data)
{
    char tmp[4096], path[4096];
    size_t len = strlen(data), done = 0;
    int fd, n1, n2;
    enum err e = ERR_INTERNAL;

    n1 = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", dir, name, (int)getpid());
    n2 = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n1 < 0 || (size_t)n1 >= sizeof(tmp) || n2 < 0 || (size_t)n2 >= sizeof(path))
        return ERR_BADREQ;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return ERR_INTERNAL;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out;
        done += (size_t)w;
    }
    if (fsync(fd) < 0)
        goto out;
    if (close(fd) < 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto out;
    e = ERR_OK;
out:
    if (fd >= 0)
        close(fd);
    if (e != ERR_OK)
        (void)unlink(tmp);
    return e;
}

/* A small file into the arena, NUL-terminated; ERR_NOT_FOUND when missing. */
static enum err read_small(struct arena *a, const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char *p;
    size_t n = 0;

    if (fd < 0)
        return errno == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL;
    p = arena_alloc(a, RECORD_MAX + 1);
    for (;;) {
        ssize_t r = read(fd, p + n, RECORD_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            return ERR_INTERNAL;
        }
        if (r == 0 || (n += (size_t)r) == RECORD_MAX)
            break;
    }
    close(fd);
    p[n] = '\0';
    *data = p;
    *len = n;
    return ERR_OK;
}

static enum err mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return ERR_BADREQ;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return ERR_INTERNAL;
        if (i < n)
            buf[i] = '/';
    }
    return ERR_OK;
}

/* ---- tokens ------------------------------------------------------------------------------ */

char *slurm_token_mint(struct arena *a, const void *key, size_t keylen, const char *user,
                       int64_t now, int64_t lifespan)
{
    jwt_t *jwt = NULL;
    char *tok = NULL, *ret = NULL;

    if (jwt_new(&jwt))
        goto out;
    /* The claims slurmctld's auth/jwt reads (what `scontrol token` puts in). */
    if (jwt_add_grant(jwt, "sun", user) || jwt_add_grant_int(jwt, "iat", (long)now) ||
        jwt_add_grant_int(jwt, "exp", (long)(now + lifespan)))
        goto out;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)key, (int)keylen))
        goto out;
    tok = jwt_encode_str(jwt);
    if (tok)
        ret = arena_strdup(a, tok);
out:
    free(tok);
    jwt_free(jwt);
    return ret;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

/* base64url (padding optional) into the arena; NULL on a bad character. */
static char *b64url_decode(struct arena *a, const char *s, size_t n, size_t *outlen)
{
    char *out = arena_alloc(a, n * 3 / 4 + 4);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64url_value(s[i]);
        if (v < 0)
            return NULL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

int64_t slurm_token_exp(struct arena *a, const char *token, const char **sun)
{
    const char *p1 = token ? strchr(token, '.') : NULL, *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
    const char *jerr = NULL;
    size_t n = 0;
    char *payload;
    json_object *o;

    *sun = NULL;
    if (!p2)
        return 0;
    payload = b64url_decode(a, p1 + 1, (size_t)(p2 - p1 - 1), &n);
    o = payload ? js_parse(a, payload, n, &jerr) : NULL;
    if (!o)
        return 0;
    *sun = js_get_str(o, "sun");
    return js_i64(o, "exp");
}

/* The token for the next request: the supplied one (unless expired), or a minted one. */
static const char *current_token(struct slurm *s, struct arena *a)
{
    int64_t now = clock_wall_s();

    if (s->token) {
        const char *sun;
        int64_t exp = slurm_token_exp(a, s->token, &sun);
        if (exp > 0 && exp <= now) {
            char when[32];
            time_t t = (time_t)exp;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
            set_err(s, "the Slurm token expired at %s (%" PRId64 " s ago): supply a new one", when,
                    now - exp);
            return NULL;
        }
        return s->token;
    }
    if (!s->minted || s->minted_exp - TOKEN_RENEW_S <= now) {
        char *t = slurm_token_mint(a, s->key, s->key_len, s->user, now, SLURM_TOKEN_LIFESPAN_S);
        if (!t) {
            set_err(s, "cannot mint a Slurm token (libjwt failed)");
            return NULL;
        }
        free(s->minted);
        s->minted = xstrdup(t);
        s->minted_exp = now + SLURM_TOKEN_LIFESPAN_S;
    }
    return s->minted;
}

/* ---- open / close ------------------------------------------------------------------------ */

struct slurm *slurm_open(const struct engine_conf *c, char *err, size_t errlen)
{
    struct arena a = ARENA_INIT;
    struct slurm *s = NULL;
    const char *problem = NULL, *user = NULL, *sun = NULL;
    size_t n;

    if (!c || !c->endpoint ||
        (strncmp(c->endpoint, "http://", 7) && strncmp(c->endpoint, "https://", 8)))
        problem = "the endpoint must be an http:// or https:// URL";
    else if (!(c->token && *c->token) && !(c->key && c->key_len > 0))
        problem = "neither a token nor a JWT key is configured";
    else if (c->token && *c->token && strspn(c->token, JWT_CHARS) != strlen(c->token))
        problem = "the token has characters no JWT has"; /* it goes into a header */
    else if (!c->shared_dir || c->shared_dir[0] != '/')
        problem = "shared_dir must be an absolute path every node sees";
    else if (c->queue && *c->queue && !word_valid(c->queue))
        problem = "the partition name has unexpected characters";
    if (problem)
        goto out;
    user = c->user && *c->user ? c->user : NULL;
    if (!user && c->token && *c->token) {
        (void)slurm_token_exp(&a, c->token, &sun); /* the user the token was made for */
        user = sun;
    }
    if (!user)
        user = "root";
    if (strpbrk(user, "\r\n:") || strlen(user) > 64) {
        problem = "the user name is not usable in a header";
        goto out;
    }

    s = xcalloc(1, sizeof(*s));
    s->endpoint = xstrdup(c->endpoint);
    n = strlen(s->endpoint);
    while (n > 0 && s->endpoint[n - 1] == '/')
        s->endpoint[--n] = '\0';
    s->user = xstrdup(user);
    if (c->token && *c->token) {
        s->token = xstrdup(c->token);
    } else {
        s->key = xmalloc(c->key_len);
        memcpy(s->key, c->key, c->key_len);
        s->key_len = c->key_len;
    }
    s->queue = xstrdup(c->queue ? c->queue : "");
    s->shared_dir = xstrdup(c->shared_dir);
    n = strlen(s->shared_dir);
    while (n > 1 && s->shared_dir[n - 1] == '/')
        s->shared_dir[--n] = '\0';
    if (c->ca_pem && *c->ca_pem)
        s->ca_pem = xstrdup(c->ca_pem);
    s->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->curl = curl_easy_init();
    if (!s->curl) {
        problem = "curl_easy_init failed";
        slurm_close(s);
        s = NULL;
    }
out:
    if (problem && err && errlen) {
        size_t k = strlen(problem) < errlen ? strlen(problem) : errlen - 1;
        memcpy(err, problem, k);
        err[k] = '\0';
    }
    arena_free(&a);
    return s;
}

void slurm_close(struct slurm *s)
{
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->key)
        explicit_bzero(s->key, s->key_len);
    free(s->key);
    if (s->token)
        explicit_bzero(s->token, strlen(s->token));
    free(s->token);
    free(s->minted);
    free(s->endpoint);
    free(s->user);
    free(s->queue);
    free(s->shared_dir);
    free(s->ca_pem);
    free(s);
}

const char *slurm_last_error(const struct slurm *s)
{
    return s->errmsg;
}

/* ---- HTTP -------------------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    buf_add(b, p, size * nmemb);
    /* Returning less than given aborts the transfer (CURLE_WRITE_ERROR). */
    return buf_err(b) == ERR_OK ? size * nmemb : 0;
}

/* A printable excerpt of a body that is not JSON. */
static const char *excerpt(struct arena *a, const char *p, size_t n)
{
    char *out = arena_alloc(a, 81);
    size_t o = 0;

    for (size_t i = 0; i < n && o < 80; i++)
        out[o++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : ' ';
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return out;
}

/*
 * One request; *out is the parsed answer (owned by a).  ERR_OK means slurmrestd answered
 * with JSON (whatever its status); transport failures, non-JSON answers and 401 are errors
 * with the message in s->errmsg.
 */
static enum err http(struct slurm *s, struct arena *a, const char *method, const char *path,
                     json_object *body, long *status, json_object **out)
{
    struct curl_slist *hdr = NULL;
    char curlerr[CURL_ERROR_SIZE] = "";
    const char *token, *jerr = NULL, *payload = NULL;
    struct buf resp;
    CURLcode rc;
    enum err e = ERR_UNAVAILABLE;

    *status = 0;
    *out = NULL;
    token = current_token(s, a);
    if (!token)
        return ERR_UNAUTH;
    buf_init(&resp, a, BODY_MAX);
    hdr = curl_slist_append(hdr, arena_printf(a, "X-SLURM-USER-NAME: %s", s->user));
    hdr = curl_slist_append(hdr, arena_printf(a, "X-SLURM-USER-TOKEN: %s", token));
    hdr = curl_slist_append(hdr, "Accept: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    if (body) {
        payload = js_str(body);
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    }
    curl_easy_reset(s->curl);
    curl_easy_setopt(s->curl, CURLOPT_URL, arena_printf(a, "%s" SLURM_API "%s", s->endpoint, path));
    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, method);
    if (payload) {
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, curlerr);
    if (s->ca_pem) {
        struct curl_blob ca = {
            .data = s->ca_pem, .len = strlen(s->ca_pem), .flags = CURL_BLOB_COPY};
        curl_easy_setopt(s->curl, CURLOPT_CAINFO_BLOB, &ca);
    }
    rc = curl_easy_perform(s->curl);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        if (rc == CURLE_OPERATION_TIMEDOUT)
            set_err(s, "slurmrestd at %s did not answer %s %s within %ld ms", s->endpoint, method,
                    path, s->timeout_ms);
        else if (rc == CURLE_WRITE_ERROR && buf_err(&resp) != ERR_OK)
            set_err(s, "slurmrestd's answer to %s %s is larger than %d bytes", method, path,
                    BODY_MAX);
        else
            set_err(s, "slurmrestd at %s is unreachable: %s", s->endpoint,
                    curlerr[0] ? curlerr : curl_easy_strerror(rc));
        return ERR_UNAVAILABLE;
    }
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
    *out = resp.len ? js_parse(a, resp.p, resp.len, &jerr) : NULL;
    if (*status == 401) {
        set_err(s, "slurmrestd refused the credentials (HTTP 401 %s) for user %s",
                excerpt(a, buf_str(&resp), resp.len), s->user);
        e = ERR_UNAUTH;
    } else if (!*out || !json_object_is_type(*out, json_type_object)) {
        set_err(s, "slurmrestd answered %s %s with HTTP %ld and something that is not JSON: \"%s\"",
                method, path, *status, excerpt(a, buf_str(&resp), resp.len));
    } else {
        e = ERR_OK;
    }
    if (e != ERR_OK)
        *out = NULL;
    return e;
}

enum err slurm_answer_error(struct arena *a, long http_status, json_object *body, const char **msg,
                            int *slurm_errno)
{
    json_object *errors = js_get(body, "errors");
    struct buf b;
    size_t n = errors && json_object_is_type(errors, json_type_array)
                   ? json_object_array_length(errors)
                   : 0;
    int first = 0;
    bool have = false, invalid_job = false;

    *msg = "";
    *slurm_errno = 0;
    buf_init(&b, a, 4096);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(errors, i);
        const char *desc = js_get_str(e, "description"), *text = js_get_str(e, "error");
        json_object *num = js_get(e, "error_number");
        int no;

        if (!num)
            num = js_get(e, "error_code");
        if (!num)
            num = js_get(e, "errno");
        no = num ? json_object_get_int(num) : 0;
        if (no == SLURM_ERR_INVALID_JOB_ID)
            invalid_job = true;
        if (!have && num) {
            first = no;
            have = true;
        }
        if (b.len)
            buf_adds(&b, "; ");
        buf_adds(&b, desc && *desc ? desc : text && *text ? text : "error");
        if (desc && *desc && text && *text && strcmp(desc, text))
            buf_addf(&b, " (%s)", text);
        if (num)
            buf_addf(&b, " [slurm error %d]", no);
    }
    *slurm_errno = first;
    if (n == 0 && http_status >= 200 && http_status < 300)
        return ERR_OK;
    if (n == 0)
        buf_addf(&b, "HTTP %ld without an error message", http_status);
    *msg = arena_strdup(a, buf_str(&b));
    if (http_status == 401)
        return ERR_UNAUTH;
    if (invalid_job)
        return ERR_NOT_FOUND;
    /* Slurm's job errors (ESLURM_*, 2000-2999) and the REST parser's (9000-9099): the
     * request itself is at fault and sending it again will not help. */
    if ((first >= 2000 && first < 3000) || (first >= 9000 && first < 9100))
        return ERR_UNPROCESSABLE;
    /* -1 ("Unspecified error") and 5005 ("Zero Bytes were transmitted or received") are
     * what slurmctld's refusal of a token looks like through slurmrestd 22.05. */
    if (first == -1 || first == 5005)
        *msg =
            arena_printf(a,
                         "%s (slurmctld refused or failed the request: an expired or "
                         "wrong token, or a key that differs from the cluster's, reads like this)",
                         *msg);
    return ERR_UNAVAILABLE;
}

/* http() plus the classification; the message of any failure is in s->errmsg. */
static enum err call(struct slurm *s, struct arena *a, const char *method, const char *path,
                     json_object *body, json_object **out)
{
    long status = 0;
    const char *msg = "";
    int no = 0;
    enum err e = http(s, a, method, path, body, &status, out);

    if (e != ERR_OK)
        return e;
    e = slurm_answer_error(a, status, *out, &msg, &no);
    if (e != ERR_OK)
        set_err(s, "%s %s: %s", method, path, msg);
    return e;
}

/* ---- the job request --------------------------------------------------------------------- */

/* ceil() for the small positive values of a spec (no libm). */
static int ceil_int(double v)
{
    int i = (int)v;
    return (double)i < v ? i + 1 : i;
}

static bool env_entry_valid(const char *e)
{
    const char *eq = e ? strchr(e, '=') : NULL;
    return eq && eq != e;
}

/* A relative workdir may not climb out of work/. */
static bool relpath_valid(const char *p)
{
    const char *c = p;

    if (!p || p[0] == '/')
        return false;
    while (*c) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return false;
        c += n;
        while (*c == '/')
            c++;
    }
    return true;
}

bool slurm_paths(struct arena *a, const char *shared_dir, const struct exec_spec *spec,
                 struct slurm_paths *p)
{
    const char *w = spec->workdir;

    if (!exec_name_valid(spec->name))
        return false;
    p->dir = path_join(a, shared_dir, spec->name);
    p->log = path_join(a, p->dir, AT_LOG);
    if (!w || !*w)
        p->workdir = path_join(a, p->dir, AT_WORK);
    else if (w[0] == '/')
        p->workdir = arena_strdup(a, w);
    else if (relpath_valid(w))
        p->workdir = arena_printf(a, "%s/%s/%s", p->dir, AT_WORK, w);
    else
        return false;
    return true;
}

/* Single-quotes s for sh: 'it'\''s'. */
static void sh_quote(struct buf *b, const char *s)
{
    buf_addc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_adds(b, "'\\''");
        else
            buf_addc(b, *s);
    }
    buf_addc(b, '\'');
}

/* Slurm expands %j, %x, ... in output file names; %% is a literal %. */
static const char *slurm_pattern_escape(struct arena *a, const char *path)
{
    struct buf b;

    buf_init(&b, a, 8192);
    for (; *path; path++) {
        if (*path == '%')
            buf_addc(&b, '%');
        buf_addc(&b, *path);
    }
    return arena_strdup(a, buf_str(&b));
}

static const char *script(struct arena *a, const struct exec_spec *spec, const char *ranks_dir)
{
    struct buf b;
    int n = spec->replicas > 1 ? spec->replicas : 1;

    buf_init(&b, a, SCRIPT_MAX);
    buf_addf(&b, "#!/bin/bash\n# Cube attempt %s (written by the Slurm executor)\n", spec->name);
    /* Like the local engine: HOME, when the spec gives none, is the job user's home.  bash's
     * own lookup (~ with HOME unset) rather than getent | cut: its subshell and three
     * processes cost every job 50 ms of its start on a busy node (tests/bench/slurm_bench.sh). */
    buf_adds(&b, "if [ -z \"${HOME:-}\" ]; then unset HOME; HOME=~; "
                 "case $HOME in '~'*) HOME=/ ;; esac; export HOME=\"${HOME:-/}\"; fi\n");
    if (n > 1) {
        /* The batch step runs on the first node of the allocation: rank 0's host.  Its
         * address is the NodeAddr slurm uses to reach it (node names need not resolve). */
        buf_adds(&b, "if [ -z \"${MASTER_ADDR:-}\" ]; then\n"
                     "    first=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\n"
                     "    MASTER_ADDR=$(scontrol show node \"$first\" -o | "
                     "sed -n 's/.* NodeAddr=\\([^ ]*\\).*/\\1/p')\n"
                     "    MASTER_ADDR=${MASTER_ADDR:-$first}\n"
                     "fi\n");
        /* A port per job: two distributed jobs may share a first node. */
        buf_addf(
            &b, "export MASTER_ADDR MASTER_PORT=\"${MASTER_PORT:-$((%d + SLURM_JOB_ID %% %d))}\"\n",
            SLURM_MASTER_PORT_BASE, SLURM_MASTER_PORT_BASE);
        buf_addf(&b, "export WORLD_SIZE=%d\n", n);
        /* 22.05's srun does not inherit --cpus-per-task from the batch job.  A rank that
         * fails claims ranks/first (mkdir is atomic) and leaves its exit code there: like
         * the local engine, the first rank to fail gives the attempt's exit code, not srun
         * (which reports the highest code, usually that of a rank it then terminated). */
        buf_adds(&b, "ranks=");
        sh_quote(&b, ranks_dir);
        buf_addf(&b,
                 "\nsrun --ntasks=%d --ntasks-per-node=1 --kill-on-bad-exit=1 "
                 "${SLURM_CPUS_PER_TASK:+--cpus-per-task=$SLURM_CPUS_PER_TASK} \\\n"
                 "    /bin/sh -c 'RANK=$SLURM_PROCID LOCAL_RANK=$SLURM_LOCALID; "
                 "export RANK LOCAL_RANK; \"$@\"; rc=$?; "
                 "if [ $rc -ne 0 ] && mkdir \"$0/first\" 2>/dev/null; then "
                 "echo $rc >\"$0/first/code\"; fi; exit $rc' \"$ranks\"",
                 n);
    } else {
        buf_adds(&b, "exec");
    }
    for (size_t i = 0; i < spec->argc; i++) {
        buf_addc(&b, ' ');
        sh_quote(&b, spec->argv[i]);
    }
    buf_addc(&b, '\n');
    if (n > 1)
        buf_adds(&b, "rc=$?\n"
                     "if [ -r \"$ranks/first/code\" ]; then read -r rc <\"$ranks/first/code\"; fi\n"
                     "exit $rc\n");
    return buf_err(&b) == ERR_OK ? arena_strdup(a, buf_str(&b)) : NULL;
}

static const char *spec_problem(const struct exec_spec *spec, const char *queue)
{
    if (!exec_name_valid(spec->name))
        return "invalid attempt name";
    if (!spec->argv || spec->argc == 0 || !spec->argv[0] || !*spec->argv[0])
        return "empty argv";
    for (size_t i = 0; i < spec->argc; i++)
        if (!spec->argv[i])
            return "NULL in argv";
    if (spec->nenv && !spec->env)
        return "NULL env";
    for (size_t i = 0; i < spec->nenv; i++)
        if (!env_entry_valid(spec->env[i]))
            return "env entry is not K=V";
    if (spec->timeout_s < 0 || spec->grace_s < 0 || spec->memory_bytes < 0 ||
        !(spec->cpu >= 0 && spec->cpu <= 4096) || !(spec->gpus >= 0 && spec->gpus <= 1024))
        return "negative or absurd limit";
    if (spec->replicas < 0 || spec->replicas > EXEC_MAX_REPLICAS)
        return "replicas out of range";
    if (spec->gpu_type && *spec->gpu_type && !word_valid(spec->gpu_type))
        return "gpu_type has unexpected characters";
    if (queue && *queue && !word_valid(queue))
        return "the partition name has unexpected characters";
    return NULL;
}

json_object *slurm_job_request(struct arena *a, const char *shared_dir, const char *queue,
                               const struct exec_spec *spec, const char **problem)
{
    struct slurm_paths p;
    json_object *req, *job, *env;
    const char *part = spec->queue && *spec->queue ? spec->queue : queue, *sc;
    bool have_path = false;
    int n = spec->replicas > 1 ? spec->replicas : 1;

    *problem = spec_problem(spec, part);
    if (*problem)
        return NULL;
    if (!slurm_paths(a, shared_dir, spec, &p)) {
        *problem = "workdir escapes the attempt directory";
        return NULL;
    }
    sc = script(a, spec, path_join(a, p.dir, AT_RANKS));
    if (!sc) {
        *problem = "the argv is too long for a batch script";
        return NULL;
    }
    req = js_own(a, json_object_new_object());
    job = json_object_new_object();
    env = json_object_new_object();
    json_object_object_add(req, "script", js_new_str(sc));
    json_object_object_add(req, "job", job);

    json_object_object_add(job, "name", js_new_str(spec->name));
    if (part && *part)
        json_object_object_add(job, "partition", js_new_str(part));
    json_object_object_add(job, "current_working_directory", js_new_str(p.workdir));
    /* No standard_error: Slurm then writes stderr into the same file. */
    json_object_object_add(job, "standard_output", js_new_str(slurm_pattern_escape(a, p.log)));
    /* 22.05 parses "requeue": false as true; its option table has "no_requeue". */
    json_object_object_add(job, "no_requeue", json_object_new_boolean(1));
    for (size_t i = 0; i < spec->nenv; i++) {
        const char *eq = strchr(spec->env[i], '=');
        char *k = arena_strndup(a, spec->env[i], (size_t)(eq - spec->env[i]));
        if (!strcmp(k, "PATH"))
            have_path = true;
        json_object_object_add(env, k, js_new_str(eq + 1));
    }
    if (!have_path)
        json_object_object_add(env, "PATH", js_new_str(EXEC_DEFAULT_PATH));
    json_object_object_add(job, "environment", env);
    if (n > 1) {
        json_object_object_add(job, "nodes",
                               json_object_new_int(n)); /* an integer: see engines.md */
        json_object_object_add(job, "tasks", json_object_new_int(n));
        json_object_object_add(job, "tasks_per_node", json_object_new_int(1));
    } else {
        json_object_object_add(job, "tasks", json_object_new_int(1));
    }
    if (spec->cpu > 0)
        json_object_object_add(job, "cpus_per_task", json_object_new_int(ceil_int(spec->cpu)));
    if (spec->memory_bytes > 0)
        json_object_object_add(job, "memory_per_node",
                               json_object_new_int64((spec->memory_bytes + (1 << 20) - 1) >> 20));
    if (spec->gpus > 0) {
        int g = ceil_int(spec->gpus);
        const char *gres = spec->gpu_type && *spec->gpu_type
                               ? arena_printf(a, "gpu:%s:%d", spec->gpu_type, g)
                               : arena_printf(a, "gpu:%d", g);
        json_object_object_add(job, "gres", js_new_str(gres));
    }
    if (spec->timeout_s > 0) {
        int64_t secs = spec->timeout_s + (spec->grace_s ? spec->grace_s : EXEC_DEFAULT_GRACE_S);
        json_object_object_add(job, "time_limit", json_object_new_int64((secs + 59) / 60));
    }
    return req;
}

/* ---- job records → exec_status ----------------------------------------------------------- */

void slurm_wait_status(int64_t raw, int *exit_code, int *term_signal)
{
    /* The encoding of wait(2): WIFSIGNALED when the low 7 bits are set (and not 0x7f,
     * "stopped", which a finished job never is), else WEXITSTATUS in bits 8-15. */
    int sig = (int)(raw & 0x7f);

    if (sig != 0 && sig != 0x7f) {
        *exit_code = -1;
        *term_signal = sig;
    } else {
        *exit_code = (int)((raw >> 8) & 0xff);
        *term_signal = 0;
    }
}

enum kind { K_PENDING, K_RUNNING, K_DONE, K_FAILED, K_CANCELLED, K_TIMEOUT, K_OOM };

static const struct {
    const char *state;
    enum kind kind;
    const char *what; /* reason prefix for the failed kinds */
} job_states[] = {
    {"PENDING", K_PENDING, NULL},
    {"CONFIGURING", K_PENDING, NULL},
    {"REQUEUED", K_PENDING, NULL},
    {"REQUEUE_HOLD", K_PENDING, NULL},
    {"REQUEUE_FED", K_PENDING, NULL},
    {"RESV_DEL_HOLD", K_PENDING, NULL},
    {"POWER_UP_NODE", K_PENDING, NULL},
    {"RUNNING", K_RUNNING, NULL},
    {"COMPLETING", K_RUNNING, NULL}, /* the exit code is known, processes may remain */
    {"SUSPENDED", K_RUNNING, NULL},
    {"RESIZING", K_RUNNING, NULL},
    {"SIGNALING", K_RUNNING, NULL},
    {"STAGE_OUT", K_RUNNING, NULL},
    {"STOPPED", K_RUNNING, NULL},
    {"UPDATE_DB", K_RUNNING, NULL},
    {"COMPLETED", K_DONE, NULL},
    {"FAILED", K_FAILED, NULL},
    {"SPECIAL_EXIT", K_FAILED, NULL},
    {"NODE_FAIL", K_FAILED, "node failure"},
    {"BOOT_FAIL", K_FAILED, "node boot failure"},
    {"PREEMPTED", K_FAILED, "preempted"},
    {"REVOKED", K_FAILED, "revoked"},
    {"CANCELLED", K_CANCELLED, NULL},
    {"TIMEOUT", K_TIMEOUT, NULL},
    {"DEADLINE", K_TIMEOUT, "deadline reached"},
    {"OUT_OF_MEMORY", K_OOM, NULL},
};

/* "STAGE_OUT" → "stage out". */
static const char *lower(struct arena *a, const char *s)
{
    char *o = arena_strdup(a, s);

    for (char *p = o; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p == '_' ? ' ' : *p);
    return o;
}

/* "exit 3" / "killed by signal 9". */
static const char *outcome(struct arena *a, const struct exec_status *st)
{
    return st->term_signal ? arena_printf(a, "killed by signal %d", st->term_signal)
                           : arena_printf(a, "exit %d", st->exit_code);
}

void slurm_job_status(struct arena *a, json_object *job, struct exec_status *st)
{
    const char *state = js_get_str(job, "job_state"), *why = js_get_str(job, "state_reason");
    int64_t raw = js_i64(job, "exit_code"), start = js_i64(job, "start_time"),
            end = js_i64(job, "end_time"), limit = js_i64(job, "time_limit");
    size_t i;

    memset(st, 0, sizeof(*st));
    st->exit_code = -1;
    st->reason = "";
    if (!why || !*why)
        why = "None";
    for (i = 0; i < ARRAY_LEN(job_states); i++)
        if (streq(state, job_states[i].state))
            break;
    if (i == ARRAY_LEN(job_states)) {
        /* A state this table does not know yet: not final, so nothing is decided on it. */
        st->state = EXEC_RUNNING;
        st->reason = arena_printf(a, "running: slurm state %s", state ? state : "(none)");
        st->started_at = start;
        return;
    }
    switch (job_states[i].kind) {
    case K_PENDING:
        st->state = EXEC_RUNNING;
        st->reason = arena_printf(a, "pending: %s", why);
        return;
    case K_RUNNING:
        st->state = EXEC_RUNNING;
        st->reason =
            !strcmp(state, "RUNNING") ? "running" : arena_printf(a, "running: %s", lower(a, state));
        st->started_at = start;
        return;
    case K_DONE:
    case K_FAILED:
    case K_CANCELLED:
    case K_TIMEOUT:
    case K_OOM:
        break;
    }
    st->started_at = start;
    st->finished_at = end;
    slurm_wait_status(raw, &st->exit_code, &st->term_signal);
    /* A job ended by Slurm rather than by itself (cancelled while pending, timed out, its
     * node failed) reports raw 0: it has no exit code of its own. */
    if (st->exit_code == 0 && st->term_signal == 0 &&
        (job_states[i].what || job_states[i].kind == K_CANCELLED ||
         job_states[i].kind == K_TIMEOUT))
        st->exit_code = -1;
    switch (job_states[i].kind) {
    case K_DONE:
        st->state = EXEC_SUCCEEDED;
        st->exit_code = 0;
        st->term_signal = 0;
        st->reason = "exit 0";
        break;
    case K_FAILED:
        st->state = EXEC_FAILED;
        if (!job_states[i].what)
            st->reason = outcome(a, st);
        else if (st->exit_code == -1 && st->term_signal == 0)
            st->reason = arena_printf(a, "%s (%s)", job_states[i].what, why);
        else
            st->reason = arena_printf(a, "%s (%s; %s)", job_states[i].what, why, outcome(a, st));
        break;
    case K_CANCELLED:
        st->state = EXEC_FAILED;
        st->cancelled = true;
        st->reason = "cancelled";
        break;
    case K_TIMEOUT:
        st->state = EXEC_FAILED;
        st->timed_out = true;
        st->reason =
            job_states[i].what ? job_states[i].what
            : limit > 0
                ? arena_printf(a, "timeout: slurm time limit of %" PRId64 " min reached", limit)
                : "timeout: slurm time limit reached";
        break;
    case K_OOM:
        /* Slurm's exit code of an OOM-killed job means nothing. */
        st->state = EXEC_FAILED;
        st->oom_killed = true;
        st->exit_code = -1;
        st->term_signal = 0;
        st->reason = "out of memory";
        break;
    case K_PENDING:
    case K_RUNNING:
        break;
    }
}

/* ---- exit and jobid records -------------------------------------------------------------- */

static enum err write_exit(const char *dir, const struct exec_status *st, int64_t job_id)
{
    struct arena a = ARENA_INIT;
    json_object *o = js_own(&a, json_object_new_object());
    enum err e;

    json_object_object_add(o, "state",
                           js_new_str(st->state == EXEC_SUCCEEDED ? "succeeded" : "failed"));
    json_object_object_add(o, "exit_code", json_object_new_int(st->exit_code));
    json_object_object_add(o, "term_signal", json_object_new_int(st->term_signal));
    json_object_object_add(o, "reason", js_new_str(st->reason));
    json_object_object_add(o, "started_at", json_object_new_int64(st->started_at));
    json_object_object_add(o, "finished_at", json_object_new_int64(st->finished_at));
    json_object_object_add(o, "cancelled", json_object_new_boolean(st->cancelled));
    json_object_object_add(o, "timed_out", json_object_new_boolean(st->timed_out));
    json_object_object_add(o, "oom", json_object_new_boolean(st->oom_killed));
    json_object_object_add(o, "job_id", json_object_new_int64(job_id));
    e = write_atomic(dir, AT_EXIT, js_str(o));
    arena_free(&a);
    return e;
}

/* ERR_NOT_FOUND when there is no exit record. */
static enum err read_exit(struct arena *a, const char *dir, struct exec_status *st)
{
    char *data = NULL;
    size_t len = 0;
    const char *jerr = NULL, *state;
    json_object *o;
    enum err e = read_small(a, path_join(a, dir, AT_EXIT), &data, &len);

    if (e != ERR_OK)
        return e;
    o = data ? js_parse(a, data, len, &jerr) : NULL;
    state = js_get_str(o, "state");
    memset(st, 0, sizeof(*st));
    if (!o || !state || !js_get(o, "exit_code")) {
        st->state = EXEC_FAILED;
        st->exit_code = -1;
        st->reason = "exit record unreadable";
        return ERR_OK;
    }
    st->state = !strcmp(state, "succeeded") ? EXEC_SUCCEEDED : EXEC_FAILED;
    st->exit_code = (int)js_i64(o, "exit_code");
    st->term_signal = (int)js_i64(o, "term_signal");
    st->reason = js_get_str(o, "reason") ? js_get_str(o, "reason") : "";
    st->started_at = js_i64(o, "started_at");
    st->finished_at = js_i64(o, "finished_at");
    st->cancelled = js_bool(o, "cancelled");
    st->timed_out = js_bool(o, "timed_out");
    st->oom_killed = js_bool(o, "oom");
    return ERR_OK;
}

/* The recorded job id; 0 when there is none (or it is unreadable). */
static int64_t read_jobid(struct arena *a, const char *dir)
{
    char *data = NULL, *nl;
    size_t len = 0;
    int64_t id = 0;

    if (read_small(a, path_join(a, dir, AT_JOBID), &data, &len) != ERR_OK || !data)
        return 0;
    nl = strchr(data, '\n');
    if (nl)
        *nl = '\0';
    return parse_i64(data, 1, INT64_MAX, &id) ? id : 0;
}

static enum err write_jobid(struct arena *a, const char *dir, int64_t id)
{
    return write_atomic(dir, AT_JOBID, arena_printf(a, "%" PRId64 "\n", id));
}

/* ---- finding the job --------------------------------------------------------------------- */

/* The job is ours: the attempt name and our log file (see slurm.h). */
static bool job_is_ours(struct arena *a, json_object *job, const struct slurm_paths *p,
                        const char *name)
{
    return streq(js_get_str(job, "name"), name) &&
           streq(js_get_str(job, "standard_output"), slurm_pattern_escape(a, p->log));
}

/*
 * The job record of the attempt: by the recorded id, else by name in GET /jobs.
 * ERR_OK with *job NULL when Slurm does not know it (any more); *id is the job id
 * (recorded or found, 0 if none).  Other errors: slurmrestd could not tell (s->errmsg).
 */
static enum err find_job(struct slurm *s, struct arena *a, const struct slurm_paths *p,
                         const char *name, json_object **job, int64_t *id)
{
    json_object *ans = NULL, *jobs, *best = NULL;
    size_t n;
    enum err e;

    *job = NULL;
    *id = read_jobid(a, p->dir);
    if (*id > 0) {
        e = call(s, a, "GET", arena_printf(a, "/job/%" PRId64, *id), NULL, &ans);
        if (e == ERR_NOT_FOUND)
            return ERR_OK; /* 2017: purged, or slurmctld lost its state */
        if (e != ERR_OK)
            return e;
        jobs = js_get(ans, "jobs");
        if (jobs && json_object_is_type(jobs, json_type_array) &&
            json_object_array_length(jobs) > 0) {
            json_object *j = json_object_array_get_idx(jobs, 0);
            if (!js_get_str(j, "job_state")) {
                set_err(s,
                        "slurmrestd answered GET /job/%" PRId64 " with a record without job_state",
                        *id);
                return ERR_UNAVAILABLE;
            }
            /* The id may belong to another job now (a cluster that started clean). */
            if (job_is_ours(a, j, p, name))
                *job = j;
        }
        return ERR_OK;
    }
    e = call(s, a, "GET", "/jobs", NULL, &ans);
    if (e != ERR_OK)
        return e;
    jobs = js_get(ans, "jobs");
    if (!jobs || !json_object_is_type(jobs, json_type_array)) {
        set_err(s, "slurmrestd answered GET /jobs without a jobs array");
        return ERR_UNAVAILABLE;
    }
    n = json_object_array_length(jobs);
    for (size_t i = 0; i < n; i++) {
        json_object *j = json_object_array_get_idx(jobs, i);
        /* Only one job per name is ever submitted; should there be more (a lost jobid
         * write raced a second submitter elsewhere), the newest is the one reported. */
        if (job_is_ours(a, j, p, name) && (!best || js_i64(j, "job_id") > js_i64(best, "job_id")))
            best = j;
    }
    if (best) {
        *job = best;
        *id = js_i64(best, "job_id");
    }
    return ERR_OK;
}

static bool final(enum exec_state st)
{
    return st == EXEC_SUCCEEDED || st == EXEC_FAILED;
}

/* ---- the verbs --------------------------------------------------------------------------- */

static int lock_attempt(const char *dir)
{
    char path[4096];
    int fd, n = snprintf(path, sizeof(path), "%s/" AT_LOCK, dir);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* When we are root and the job runs as someone else, that user must own its log and work/. */
static void give_to_user(const char *user, const char *path)
{
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (geteuid() != 0 || !strcmp(user, "root"))
        return;
    if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || !res)
        return; /* a user only the cluster knows: Slurm will say so */
    if (lchown(path, pw.pw_uid, pw.pw_gid) < 0)
        log_warn("slurm: chown %s to %s: %s", path, user, strerror(errno));
}

/* The attempt directory with work/ (and a relative workdir) and an empty log; *fresh: this
 * call created the directory (it was not there before). */
static enum err make_attempt_dir(struct slurm *s, const struct slurm_paths *p,
                                 const char *workdir_rel, int replicas, bool *fresh)
{
    struct arena a = ARENA_INIT;
    const char *work = path_join(&a, p->dir, AT_WORK);
    enum err e = ERR_INTERNAL;
    int fd;

    *fresh = false;
    if (mkdir(p->dir, 0755) == 0) {
        *fresh = true;
    } else if (errno != EEXIST) {
        set_err(s, "cannot create %s: %s", p->dir, strerror(errno));
        goto out;
    }
    if (mkdir(work, 0755) < 0 && errno != EEXIST) {
        set_err(s, "cannot create %s: %s", work, strerror(errno));
        goto out;
    }
    give_to_user(s->user, work);
    if (replicas > 1) {
        const char *ranks = path_join(&a, p->dir, AT_RANKS);
        if (mkdir(ranks, 0755) < 0 && errno != EEXIST) {
            set_err(s, "cannot create %s: %s", ranks, strerror(errno));
            goto out;
        }
        give_to_user(s->user, ranks);
    }
    if (workdir_rel && *workdir_rel && workdir_rel[0] != '/' &&
        mkdir_p(p->workdir, 0755) != ERR_OK) {
        set_err(s, "cannot create %s: %s", p->workdir, strerror(errno));
        goto out;
    }
    /* Created here so that a job user without write access to the directory can still
     * write it, and so that the attempt's directory stays ours (jobid, exit). */
    fd = open(p->log, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        set_err(s, "cannot create %s: %s", p->log, strerror(errno));
        goto out;
    }
    close(fd);
    give_to_user(s->user, p->log);
    e = ERR_OK;
out:
    arena_free(&a);
    return e;
}

static bool sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok;

    if (fd < 0)
        return false;
    ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/*
 * The marker "posted": from now on a POST /job/submit of this attempt may have reached
 * slurmrestd.  It is made durable before the POST (the file, its entry, and the attempt
 * directory's entry in shared_dir), so that a later submit that creates the attempt directory
 * itself and finds no marker knows that no submit got as far, even after a crash of this
 * host.  False when it cannot be made durable: the caller then looks the job up anyway.
 */
static bool mark_posted(const struct slurm *s, const struct slurm_paths *p)
{
    char path[4096];
    int fd, n = snprintf(path, sizeof(path), "%s/" AT_POSTED, p->dir);
    bool ok;

    if (n < 0 || (size_t)n >= sizeof(path))
        return false;
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return false;
    ok = fsync(fd) == 0;
    close(fd);
    return ok && sync_dir(p->dir) && sync_dir(s->shared_dir);
}

enum err slurm_submit(struct slurm *s, const struct exec_spec *spec)
{
    struct arena a = ARENA_INIT;
    struct slurm_paths p;
    struct exec_status st;
    json_object *req, *job = NULL, *ans = NULL;
    const char *problem = NULL;
    int64_t id = 0;
    long status = 0;
    int lock = -1, no = 0;
    bool fresh = false, lookup;
    enum err e;

    s->errmsg[0] = '\0';
    req = slurm_job_request(&a, s->shared_dir, s->queue, spec, &problem);
    if (!req || !slurm_paths(&a, s->shared_dir, spec, &p)) {
        set_err(s, "invalid spec: %s", problem ? problem : "workdir");
        e = ERR_BADREQ;
        goto out;
    }
    e = make_attempt_dir(s, &p, spec->workdir, spec->replicas, &fresh);
    if (e != ERR_OK)
        goto out;
    lock = lock_attempt(p.dir);
    if (lock < 0) {
        set_err(s, "cannot lock %s/" AT_LOCK ": %s", p.dir, strerror(errno));
        e = ERR_INTERNAL;
        goto out;
    }
    /* Adoption, cheapest evidence first. */
    if (read_exit(&a, p.dir, &st) == ERR_OK)
        goto out;
    if (exists(path_join(&a, p.dir, AT_CANCEL))) {
        memset(&st, 0, sizeof(st));
        st.state = EXEC_FAILED;
        st.exit_code = -1;
        st.cancelled = true;
        st.reason = "cancelled before it was submitted";
        st.finished_at = clock_wall_s();
        e = write_exit(p.dir, &st, 0);
        goto out;
    }
    /*
     * The job by its recorded id or its name.  The lookup by name is GET /jobs: every job
     * slurmctld remembers (MinJobAge), about 4 KB each, which slurmrestd takes 0.3-0.5 s to
     * write for 500 jobs; on every submit it capped a pipeline at 2.5 tasks/s and added its
     * time to each task's start (tests/bench/slurm_bench.sh).  It is needed only when an
     * earlier submit of this name may have posted the job: the attempt directory was there
     * before this call, or a submitter that held the lock before us left its marker.
     */
    lookup = !fresh || exists(path_join(&a, p.dir, AT_POSTED));
    if (!mark_posted(s, &p)) {
        log_warn("slurm: %s: cannot record the submit durably in %s: %s", spec->name, p.dir,
                 strerror(errno));
        lookup = true;
    }
    if (lookup) {
        e = find_job(s, &a, &p, spec->name, &job, &id);
        if (e != ERR_OK)
            goto out;
        if (job) {
            if (read_jobid(&a, p.dir) != id)
                e = write_jobid(&a, p.dir, id);
            log_info("slurm: %s adopted as job %" PRId64, spec->name, id);
            goto out;
        }
        if (id > 0) {
            /* Submitted before, and slurmctld has forgotten it: never run an attempt twice. */
            log_warn("slurm: %s: job %" PRId64 " has vanished; not submitting again", spec->name,
                     id);
            goto out;
        }
    }

    e = http(s, &a, "POST", "/job/submit", req, &status, &ans);
    if (e != ERR_OK)
        goto out; /* maybe submitted: the next submit finds it by name */
    id = js_i64(ans, "job_id");
    e = slurm_answer_error(&a, status, ans, &problem, &no);
    if (e == ERR_OK && id <= 0) {
        set_err(s, "slurmrestd accepted the job but returned no job id (HTTP %ld)", status);
        e = ERR_UNAVAILABLE;
        goto out;
    }
    if (e == ERR_UNPROCESSABLE) {
        set_err(s, "slurm rejected the job: %s", problem);
        /* Some refusals still create a job that would pend forever. */
        if (id > 0) {
            json_object *del = NULL;
            if (call(s, &a, "DELETE", arena_printf(&a, "/job/%" PRId64, id), NULL, &del) != ERR_OK)
                log_warn("slurm: %s: cannot cancel rejected job %" PRId64, spec->name, id);
            set_err(s, "slurm rejected the job: %s", problem);
        }
        memset(&st, 0, sizeof(st));
        st.state = EXEC_FAILED;
        st.exit_code = -1;
        st.reason = arena_printf(&a, "rejected: %s", problem);
        st.finished_at = clock_wall_s();
        if (write_exit(p.dir, &st, id) != ERR_OK)
            log_warn("slurm: %s: cannot write the exit record", spec->name);
        goto out;
    }
    if (e != ERR_OK) {
        set_err(s, "POST /job/submit: %s", problem);
        goto out;
    }
    e = write_jobid(&a, p.dir, id);
    if (e != ERR_OK)
        set_err(s, "job %" PRId64 " submitted, but %s/" AT_JOBID " cannot be written", id, p.dir);
    log_info("slurm: %s submitted as job %" PRId64, spec->name, id);
out:
    if (e == ERR_OK)
        s->errmsg[0] = '\0';
    if (lock >= 0)
        close(lock);
    arena_free(&a);
    return e;
}

/* The paths of an existing attempt name (no spec at hand). */
static bool name_paths(struct arena *a, const struct slurm *s, const char *name,
                       struct slurm_paths *p)
{
    struct exec_spec spec = {.name = name};
    return slurm_paths(a, s->shared_dir, &spec, p);
}

enum err slurm_status(struct slurm *s, struct arena *a, const char *name, struct exec_status *st)
{
    struct slurm_paths p;
    struct stat sb;
    json_object *job = NULL;
    int64_t id = 0;
    enum err e;

    s->errmsg[0] = '\0';
    memset(st, 0, sizeof(*st));
    st->exit_code = -1;
    st->reason = "";
    if (!name_paths(a, s, name, &p)) {
        set_err(s, "invalid attempt name");
        return ERR_BADREQ;
    }
    if (stat(p.dir, &sb) < 0) {
        if (errno != ENOENT) {
            set_err(s, "%s: %s", p.dir, strerror(errno));
            return ERR_INTERNAL;
        }
        st->state = EXEC_ABSENT;
        st->reason = "absent";
        return ERR_OK;
    }
    e = read_exit(a, p.dir, st);
    if (e != ERR_NOT_FOUND)
        return e;
    e = find_job(s, a, &p, name, &job, &id);
    if (e != ERR_OK) {
        memset(st, 0, sizeof(*st));
        st->exit_code = -1;
        st->reason = arena_strdup(a, s->errmsg);
        return e;
    }
    if (job) {
        slurm_job_status(a, job, st);
        if (final(st->state)) {
            if (read_jobid(a, p.dir) != id && write_jobid(a, p.dir, id) != ERR_OK)
                log_warn("slurm: %s: cannot record job id %" PRId64, name, id);
            if (write_exit(p.dir, st, id) != ERR_OK)
                log_warn("slurm: %s: cannot write the exit record", name);
        } else if (read_jobid(a, p.dir) != id && write_jobid(a, p.dir, id) != ERR_OK) {
            log_warn("slurm: %s: cannot record job id %" PRId64, name, id);
        }
        return ERR_OK;
    }
    /* Slurm does not know the job (any more), and no exit record says how it ended. */
    if (exists(path_join(a, p.dir, AT_CANCEL)) && id == 0) {
        st->state = EXEC_FAILED;
        st->cancelled = true;
        st->reason = "cancelled before it was submitted";
        return ERR_OK;
    }
    if (id == 0 && clock_wall_s() - (int64_t)sb.st_mtime < START_GRACE_S) {
        st->state = EXEC_RUNNING;
        st->reason = "starting";
        return ERR_OK;
    }
    st->state = EXEC_LOST;
    st->reason =
        id > 0 ? arena_printf(a, "lost: job vanished (slurm no longer knows job %" PRId64 ")", id)
               : "lost: job vanished (no slurm job was found for this attempt)";
    return ERR_OK;
}

enum err slurm_cancel(struct slurm *s, const char *name)
{
    struct arena a = ARENA_INIT;
    struct slurm_paths p;
    struct exec_status st;
    json_object *job = NULL, *ans = NULL;
    int64_t id = 0;
    int lock = -1, fd;
    enum err e = ERR_OK;

    s->errmsg[0] = '\0';
    if (!name_paths(&a, s, name, &p)) {
        set_err(s, "invalid attempt name");
        e = ERR_BADREQ;
        goto out;
    }
    if (!exists(p.dir))
        goto out;
    lock = lock_attempt(p.dir);
    if (lock < 0) {
        set_err(s, "cannot lock %s/" AT_LOCK ": %s", p.dir, strerror(errno));
        e = ERR_INTERNAL;
        goto out;
    }
    if (read_exit(&a, p.dir, &st) == ERR_OK)
        goto out;
    /* The marker first: a submit that has not happened yet will find it. */
    fd = open(path_join(&a, p.dir, AT_CANCEL), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        set_err(s, "cannot create %s/" AT_CANCEL ": %s", p.dir, strerror(errno));
        e = ERR_INTERNAL;
        goto out;
    }
    close(fd);
    e = find_job(s, &a, &p, name, &job, &id);
    if (e != ERR_OK || !job)
        goto out;
    e = call(s, &a, "DELETE", arena_printf(&a, "/job/%" PRId64, id), NULL, &ans);
    if (e == ERR_NOT_FOUND)
        e = ERR_OK; /* gone in between */
out:
    if (e == ERR_OK)
        s->errmsg[0] = '\0';
    if (lock >= 0)
        close(lock);
    arena_free(&a);
    return e;
}

enum err slurm_log(struct slurm *s, struct arena *a, const char *name, int64_t offset, size_t max,
                   const char **data, size_t *len, int64_t *next, bool *eof)
{
    struct slurm_paths p;
    struct exec_status st;
    struct stat sb;
    bool finished;
    char *buf;
    int64_t size;
    enum err e;

    s->errmsg[0] = '\0';
    *data = "";
    *len = 0;
    *next = offset;
    *eof = false;
    if (!name_paths(a, s, name, &p) || offset < 0) {
        set_err(s, "invalid attempt name or offset");
        return ERR_BADREQ;
    }
    if (stat(p.dir, &sb) < 0)
        return errno == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL;
    /* Before reading: once the job is final, Slurm has stopped writing the file. */
    finished = read_exit(a, p.dir, &st) == ERR_OK;
    e = exec_local_read_at(a, p.log, offset, max, &buf, len, &size);
    if (e == ERR_NOT_FOUND) {
        *eof = finished;
        return ERR_OK;
    }
    if (e)
        return e;
    *data = buf;
    *next = offset + (int64_t)*len;
    if (!finished && *next >= size) {
        /* At the end of what is written: ask Slurm whether more can come.  If slurmrestd
         * cannot say, the answer is "maybe", not an error. */
        if (slurm_status(s, a, name, &st) == ERR_OK && final(st.state)) {
            struct stat sb2;
            finished = stat(p.log, &sb2) == 0 && sb2.st_size == size;
        }
        s->errmsg[0] = '\0';
    }
    *eof = finished && *next >= size;
    return ERR_OK;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf without following symlinks or leaving the file system. */
static int rm_tree(const char *path)
{
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

enum err slurm_remove(struct slurm *s, const char *name, bool keep_log)
{
    struct arena a = ARENA_INIT;
    struct slurm_paths p;
    struct exec_status st;
    static const char *const keep_not[] = {AT_JOBID, AT_CANCEL, AT_LOCK,
                                           AT_WORK,  AT_RANKS,  AT_POSTED};
    int rc = 0;
    enum err e;

    e = slurm_status(s, &a, name, &st);
    if (e != ERR_OK || st.state == EXEC_ABSENT)
        goto out;
    if (st.state == EXEC_RUNNING) {
        set_err(s, "%s is still running", name);
        e = ERR_CONFLICT;
        goto out;
    }
    if (!name_paths(&a, s, name, &p)) {
        e = ERR_BADREQ;
        goto out;
    }
    if (!keep_log) {
        rc = rm_tree(p.dir);
    } else {
        for (size_t i = 0; i < ARRAY_LEN(keep_not); i++) {
            const char *f = path_join(&a, p.dir, keep_not[i]);
            if (exists(f) && rm_tree(f) < 0)
                rc = -1;
        }
    }
    if (rc < 0) {
        set_err(s, "some files of %s could not be removed: %s", p.dir, strerror(errno));
        e = ERR_INTERNAL;
    }
out:
    if (e == ERR_OK)
        s->errmsg[0] = '\0';
    arena_free(&a);
    return e;
}

/* ---- check ------------------------------------------------------------------------------- */

static bool has_flag(json_object *arr, const char *flag)
{
    size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;

    for (size_t i = 0; i < n; i++) {
        const char *f = json_object_get_string(json_object_array_get_idx(arr, i));
        if (f && !strcasecmp(f, flag))
            return true;
    }
    return false;
}

enum err slurm_check(struct slurm *s, struct arena *a, json_object **report)
{
    json_object *r = js_own(a, json_object_new_object()), *ping = NULL, *nodes = NULL,
                *parts = NULL, *arr, *plist;
    int64_t t0 = clock_mono_us(), cpus = 0, mem = 0, up = 0;
    const char *version;
    size_t n;
    enum err e;

    s->errmsg[0] = '\0';
    *report = r;
    json_object_object_add(r, "endpoint", js_new_str(s->endpoint));
    e = call(s, a, "GET", "/ping", NULL, &ping);
    if (e == ERR_OK)
        e = call(s, a, "GET", "/nodes", NULL, &nodes);
    if (e == ERR_OK)
        e = call(s, a, "GET", "/partitions", NULL, &parts);
    if (e != ERR_OK) {
        json_object_object_add(r, "reachable", json_object_new_boolean(0));
        json_object_object_add(r, "error", js_new_str(s->errmsg));
        return e;
    }
    json_object_object_add(r, "reachable", json_object_new_boolean(1));
    json_object_object_add(r, "user", js_new_str(s->user));
    version = js_get_str(js_get(js_get(ping, "meta"), "Slurm"), "release");
    json_object_object_add(r, "version", js_new_str(version ? version : "unknown"));
    /* The mean round trip of the three requests. */
    json_object_object_add(r, "latency_ms",
                           json_object_new_int64((clock_mono_us() - t0) / 3 / 1000));

    arr = js_get(nodes, "nodes");
    n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *nd = json_object_array_get_idx(arr, i);
        const char *state = js_get_str(nd, "state");
        cpus += js_i64(nd, "cpus");
        mem += js_i64(nd, "real_memory");
        if ((streq(state, "idle") || streq(state, "mixed") || streq(state, "allocated")) &&
            !has_flag(js_get(nd, "state_flags"), "DRAIN"))
            up++;
    }
    json_object_object_add(r, "nodes", json_object_new_int64((int64_t)n));
    json_object_object_add(r, "nodes_up", json_object_new_int64(up));
    json_object_object_add(r, "cpus", json_object_new_int64(cpus));
    json_object_object_add(r, "memory_mb", json_object_new_int64(mem));

    plist = json_object_new_array();
    json_object_object_add(r, "partitions", plist);
    arr = js_get(parts, "partitions");
    n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *pt = json_object_array_get_idx(arr, i), *o = json_object_new_object();
        json_object_object_add(o, "name", js_new_str(js_get_str(pt, "name")));
        json_object_object_add(o, "state", js_new_str(js_get_str(pt, "state")));
        json_object_object_add(o, "nodes", js_new_str(js_get_str(pt, "nodes")));
        json_object_object_add(o, "cpus", json_object_new_int64(js_i64(pt, "total_cpus")));
        json_object_object_add(o, "default",
                               json_object_new_boolean(has_flag(js_get(pt, "flags"), "default")));
        json_object_array_add(plist, o);
    }
    return ERR_OK;
}
