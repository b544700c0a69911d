/*
 * auth_api.c — who is calling, and the login/logout endpoints.
 *
 * Credentials, first match wins: "Authorization: Bearer <jwt|api token>", a
 * bare "Authorization: <jwt>" (cube-studio's clients), the cube_session
 * cookie.  A bare username is never an identity.  The user row behind an
 * identity is cached per worker for CUBE_AUTH_CACHE_TTL seconds, which
 * bounds how long a role change or a revoked token takes to bite.
 */
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "core/auth.h"
#include "core/cfg.h"
#include "core/js.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/common.h"

/* Auto-registration refuses shorter passwords; the sign-in page tells users so. */
enum { AUTH_MIN_PASSWORD = 8 };

#define SESSION_COOKIE "cube_session"
#define USER_COOKIE "myapp_username"

enum { CACHE_N = 64 };

struct cached_user {
    int64_t id, expires_us, gen;
    int64_t pw_changed; /* password_changed_at, milliseconds (0: never) */
    char username[72];
    bool admin;
};

struct cached_token {
    char digest[65];
    int64_t uid, expires_us, gen;
};

/* A verified JWT, so a worker checks each token's signature once, not on every request. */
struct cached_jwt {
    char token[512];
    char username[72];
    int64_t uid, exp, iat;
};

static struct cached_user user_cache[CACHE_N];
static struct cached_token token_cache[CACHE_N];
static struct cached_jwt jwt_cache[CACHE_N];

/* The auth generation for this request, -1 (cache nothing) when it cannot be known.  Writes
 * through this cube-api bump a counter in shared memory that every worker reads for free;
 * writes through another cube-api (several replicas) bump "cube:authgen" in Redis, which a
 * worker reads at most once a second: that is the longest such a change takes to bite. */
static int64_t auth_generation(struct ctx *cx)
{
    static int64_t redis_gen = -1, checked_us;
    int64_t now = clock_mono_us(), n = 0;
    char *v = NULL;

    if (cfg.auth_cache_ttl <= 0)
        return -1;
    if (redis_gen < 0 || now - checked_us > 1000000) {
        checked_us = now;
        if (kv_get(cx->kv, cx->arena, "cube:authgen", &v) || (v && !parse_i64(v, 0, INT64_MAX, &n)))
            redis_gen = -1;
        else
            redis_gen = n;
    }
    if (redis_gen < 0)
        return -1;
    return (int64_t)((uint64_t)redis_gen << 32 ^ metrics_auth_gen());
}

static enum err verify_jwt(struct ctx *cx, const char *tok, int64_t *uid, const char **name,
                           int64_t *iat)
{
    int64_t now = clock_wall_s();
    size_t n = strlen(tok);
    struct cached_jwt *cj;
    char h[65];
    int64_t exp;

    sha256_hex(tok, n, h);
    cj = &jwt_cache[((unsigned)(unsigned char)h[0] * 31u + (unsigned char)h[1]) % CACHE_N];
    if (n < sizeof(cj->token) && cj->exp > now && !strcmp(cj->token, tok)) {
        *uid = cj->uid;
        *name = cj->username;
        *iat = cj->iat;
        return ERR_OK;
    }
    if (auth_jwt_verify_exp(cx->arena, cfg.jwt_secret, tok, now, uid, name, &exp, iat))
        return ERR_UNAUTH;
    if (n < sizeof(cj->token) && strlen(*name) < sizeof(cj->username)) {
        /* Cached no longer than the token lives. */
        memcpy(cj->token, tok, n + 1);
        snprintf(cj->username, sizeof(cj->username), "%s", *name);
        cj->uid = *uid;
        cj->exp = exp;
        cj->iat = *iat;
    }
    return ERR_OK;
}

static const char USER_SQL[] =
    "SELECT u.\"username\", u.\"active\", EXISTS (SELECT 1 FROM \"user_role\" ur JOIN \"roles\" r "
    "ON r.\"id\" = ur.\"role_id\" WHERE ur.\"user_id\" = u.\"id\" AND r.\"name\" = 'admin'), "
    "coalesce(floor(extract(epoch FROM u.\"password_changed_at\") * 1000), 0)::bigint "
    "FROM \"users\" u WHERE u.\"id\" = $1::bigint";

/* Fills cx->user for uid; ERR_UNAUTH when the user is gone or inactive. gen: see above.
 * *pw_changed (optional): when the password last changed, milliseconds since the epoch (0:
 * never). */
static enum err load_user(struct ctx *cx, int64_t uid, int64_t gen, int64_t *pw_changed)
{
    struct cached_user *cu = &user_cache[(uint64_t)uid % CACHE_N];
    int64_t now = clock_mono_us();
    const char *p[] = {arena_printf(cx->arena, "%" PRId64, uid)};
    struct pg_result *r;
    enum err e;

    if (gen >= 0 && cu->id == uid && cu->gen == gen && cu->expires_us > now) {
        cx->user.id = uid;
        cx->user.username = cu->username;
        cx->user.admin = cu->admin;
        if (pw_changed)
            *pw_changed = cu->pw_changed;
        return ERR_OK;
    }
    if ((e = db_query(cx->db, cx->arena, USER_SQL, 1, p, &r, NULL)))
        return resp_error(cx, e, "cannot check credentials: database unavailable");
    if (!db_rows(r) || strcmp(db_val(r, 0, 1), "t"))
        return resp_error(cx, ERR_UNAUTH, "unknown or inactive user");
    cx->user.id = uid;
    cx->user.username = arena_strdup(cx->arena, db_val(r, 0, 0));
    cx->user.admin = !strcmp(db_val(r, 0, 2), "t");
    if (pw_changed)
        *pw_changed = db_i64(r, 0, 3);
    if (gen >= 0 && strlen(cx->user.username) < sizeof(cu->username)) {
        cu->id = uid;
        cu->gen = gen;
        cu->admin = cx->user.admin;
        cu->pw_changed = db_i64(r, 0, 3);
        snprintf(cu->username, sizeof(cu->username), "%s", cx->user.username);
        cu->expires_us = now + cfg.auth_cache_ttl * 1000000;
    }
    return ERR_OK;
}

static enum err api_token_user(struct ctx *cx, const char *token, int64_t gen, int64_t *uid)
{
    char digest[65];
    struct cached_token *ct;
    int64_t now = clock_mono_us();
    struct pg_result *r;
    const char *p[1];
    enum err e;

    sha256_hex(token, strlen(token), digest);
    ct = &token_cache[((unsigned)(unsigned char)digest[0] * 31u + (unsigned char)digest[1]) %
                      CACHE_N];
    if (gen >= 0 && ct->gen == gen && !strcmp(ct->digest, digest) && ct->expires_us > now) {
        *uid = ct->uid;
        return ERR_OK;
    }
    p[0] = digest;
    /* last_used_on is written at most once a minute per token. */
    e = db_query(
        cx->db, cx->arena,
        "WITH t AS (SELECT \"id\", \"user_id\" FROM \"api_token\" WHERE \"token_hash\" = $1 "
        "AND (\"expires_on\" IS NULL OR \"expires_on\" > now())), u AS (UPDATE "
        "\"api_token\" k SET \"last_used_on\" = now() FROM t WHERE k.\"id\" = t.\"id\" AND "
        "(k.\"last_used_on\" IS NULL OR k.\"last_used_on\" < now() - interval '1 minute')) "
        "SELECT \"user_id\" FROM t",
        1, p, &r, NULL);
    if (e)
        return resp_error(cx, e, "cannot check credentials: database unavailable");
    if (!db_rows(r))
        return resp_error(cx, ERR_UNAUTH, "invalid, expired or revoked API token");
    *uid = db_i64(r, 0, 0);
    if (gen >= 0) {
        ct->gen = gen;
        memcpy(ct->digest, digest, sizeof(digest));
        ct->uid = *uid;
        ct->expires_us = now + cfg.auth_cache_ttl * 1000000;
    }
    return ERR_OK;
}

enum err auth_request(struct ctx *cx)
{
    const char *cred = NULL, *h = cx->req.authorization, *name;
    int64_t uid, gen, iat, pw_changed;
    enum err e;

    if (cx->user.id)
        return ERR_OK;
    if (h && *h) {
        cred = !strncasecmp(h, "Bearer ", 7) ? h + 7 : h;
        while (*cred == ' ')
            cred++;
    } else if ((cred = req_cookie(cx, SESSION_COOKIE))) {
        cx->via_cookie = true;
    }
    if (!cred || !*cred)
        return resp_error(cx, ERR_UNAUTH, "login required");
    gen = auth_generation(cx);
    if (!strncmp(cred, "cube_", 5)) {
        if ((e = api_token_user(cx, cred, gen, &uid)))
            return e;
        return load_user(cx, uid, gen, NULL);
    }
    /* A JWT has exactly two dots; anything else (a bare username, say) is refused. */
    if (!strchr(cred, '.'))
        return resp_error(cx, ERR_UNAUTH, "invalid credentials: a token is required");
    if (verify_jwt(cx, cred, &uid, &name, &iat))
        return resp_error(cx, ERR_UNAUTH, "invalid or expired token");
    if ((e = load_user(cx, uid, gen, &pw_changed)))
        return e;
    if (strcmp(name, cx->user.username)) {
        cx->user.id = 0;
        return resp_error(cx, ERR_UNAUTH, "invalid token");
    }
    /* Milliseconds on both sides; the session of the change itself is issued after it. */
    if (iat < pw_changed) {
        cx->user.id = 0;
        return resp_error(cx, ERR_UNAUTH, "the session ended with a password change: log in again");
    }
    if (cx->via_cookie && !req_cookie(cx, USER_COOKIE))
        resp_header(cx, "Set-Cookie: " USER_COOKIE "=%s; Path=/; SameSite=Lax", cx->user.username);
    return ERR_OK;
}

/* ---- login ------------------------------------------------------------------------------ */

static bool valid_username(const char *u)
{
    regex_t rx;
    bool ok;
    if (strlen(u) < 2 || strlen(u) > 64 ||
        regcomp(&rx, "^[a-z][a-z0-9-]*[a-z0-9]$", REG_EXTENDED | REG_NOSUB))
        return false;
    ok = regexec(&rx, u, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

static const char *throttle_key(struct ctx *cx, const char *kind, const char *v)
{
    char d[65];
    sha256_hex(v, strlen(v), d);
    return arena_printf(cx->arena, "cube:loginfail:%s:%.32s", kind, d);
}

bool auth_throttled(struct ctx *cx, const char *username)
{
    const char *keys[] = {throttle_key(cx, "u", username),
                          throttle_key(cx, "ip", cx->req.remote_addr ? cx->req.remote_addr : "")};
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        char *v = NULL;
        int64_t n = 0;
        /* Redis down: no throttle rather than no login (the password check still applies). */
        if (kv_get(cx->kv, cx->arena, keys[i], &v) || !v)
            continue;
        /* Per address, allow a few users' worth of mistakes before blocking it. */
        if (parse_i64(v, 0, INT64_MAX, &n) && n >= cfg.login_max_fails * (i ? 4 : 1))
            return true;
    }
    return false;
}

void auth_note_failure(struct ctx *cx, const char *username)
{
    int64_t n;
    if (kv_incr_expire(cx->kv, throttle_key(cx, "u", username), cfg.login_window, &n) ||
        kv_incr_expire(cx->kv,
                       throttle_key(cx, "ip", cx->req.remote_addr ? cx->req.remote_addr : ""),
                       cfg.login_window, &n))
        log_warn("login throttle not recorded (redis unavailable)");
}

/* Creates a user at first login (cube-studio's behaviour, behind CUBE_AUTO_REGISTER). */
static enum err auto_register(struct ctx *cx, const char *username, const char *password,
                              int64_t *uid)
{
    char hash[256];
    const char *p[2];
    struct pg_result *r;
    enum err e;

    if (auth_hash_password(password, hash, sizeof(hash)))
        return ERR_INTERNAL;
    p[0] = username;
    p[1] = hash;
    /* One statement: the user, the 'user' role, and membership of the public project. */
    e = db_query(
        cx->db, cx->arena,
        "WITH u AS (INSERT INTO \"users\" (\"username\", \"password\") VALUES ($1, $2) "
        "ON CONFLICT (\"username\") DO NOTHING RETURNING \"id\"), "
        "r AS (INSERT INTO \"user_role\" (\"user_id\", \"role_id\") SELECT u.\"id\", "
        "ro.\"id\" FROM u, \"roles\" ro WHERE ro.\"name\" = 'user'), "
        "m AS (INSERT INTO \"project_user\" (\"project_id\", \"user_id\", \"role\") SELECT "
        "pr.\"id\", u.\"id\", 'dev' FROM u, \"project\" pr WHERE pr.\"name\" = 'public') "
        "SELECT \"id\" FROM u",
        2, p, &r, NULL);
    if (e || !db_rows(r))
        return e ? e : ERR_CONFLICT;
    *uid = db_i64(r, 0, 0);
    log_info("auto-registered user %s", username);
    return ERR_OK;
}

/* Checks a username/password pair; on success cx->user is set and a token returned. */
static enum err check_login(struct ctx *cx, const char *username, const char *password,
                            const char **token)
{
    static char dummy_hash[256];
    const char *p[1] = {username};
    struct pg_result *r;
    int64_t uid = 0;
    enum err e;

    if (!username || !password || !*username || !*password)
        return resp_error(cx, ERR_BADREQ, "username and password are required");
    if (strlen(username) > 64 || strlen(password) > 1024)
        return resp_error(cx, ERR_UNAUTH, "invalid username or password");
    if (auth_throttled(cx, username)) {
        resp_header(cx, "Retry-After: %lld", (long long)cfg.login_window);
        return resp_error(cx, ERR_THROTTLED, "too many failed logins; try again later");
    }
    if ((e = db_query(
             cx->db, cx->arena,
             "SELECT \"id\", \"password\", \"active\" FROM \"users\" WHERE \"username\" = $1", 1, p,
             &r, NULL)))
        return resp_error(cx, e, "cannot check credentials: database unavailable");
    if (db_rows(r)) {
        bool ok = auth_check_password(password, db_val(r, 0, 1));
        if (ok && !strcmp(db_val(r, 0, 2), "t"))
            uid = db_i64(r, 0, 0);
    } else {
        /* Same work for an unknown name, so timing does not reveal which names exist. */
        if (!dummy_hash[0] && auth_hash_password("cube-dummy", dummy_hash, sizeof(dummy_hash)))
            dummy_hash[0] = '\0';
        if (auth_check_password(password, dummy_hash))
            log_warn("dummy hash matched");
        if (cfg.auto_register && valid_username(username) &&
            strlen(password) >= AUTH_MIN_PASSWORD && auto_register(cx, username, password, &uid))
            uid = 0;
    }
    if (!uid) {
        auth_note_failure(cx, username);
        return resp_error(cx, ERR_UNAUTH, "invalid username or password");
    }
    if ((e = load_user(cx, uid, -1, NULL)))
        return e;
    p[0] = arena_printf(cx->arena, "%" PRId64, uid);
    if (db_query(
            cx->db, cx->arena,
            "UPDATE \"users\" SET \"last_login\" = now(), \"login_count\" = \"login_count\" + 1 "
            "WHERE \"id\" = $1::bigint",
            1, p, &r, NULL))
        log_warn("last_login not updated");
    *token = auth_jwt_issue(cx->arena, cfg.jwt_secret, uid, cx->user.username, clock_wall_ms(),
                            cfg.jwt_ttl);
    return ERR_OK;
}

static void set_session_cookies(struct ctx *cx, const char *token)
{
    const char *secure = cfg.secure_cookie ? "; Secure" : "";
    resp_header(cx,
                "Set-Cookie: " SESSION_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s",
                token, (long long)cfg.jwt_ttl, secure);
    resp_header(cx, "Set-Cookie: " USER_COOKIE "=%s; Path=/; Max-Age=%lld; SameSite=Lax%s",
                cx->user.username, (long long)cfg.jwt_ttl, secure);
}

const char *auth_renew_session(struct ctx *cx)
{
    const char *token = auth_jwt_issue(cx->arena, cfg.jwt_secret, cx->user.id, cx->user.username,
                                       clock_wall_ms(), cfg.jwt_ttl);
    if (token && cx->via_cookie)
        set_session_cookies(cx, token);
    return token;
}

static void clear_session_cookies(struct ctx *cx)
{
    resp_header(cx, "Set-Cookie: " SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    resp_header(cx, "Set-Cookie: " USER_COOKIE "=; Path=/; Max-Age=0; SameSite=Lax");
}

enum err auth_login(struct ctx *cx)
{
    const char *username, *password, *token, *msg;
    json_object *res;
    enum err e;

    if (req_is_json(cx)) {
        json_object *body =
            cx->req.body ? js_parse(cx->arena, cx->req.body, cx->req.body_len, &msg) : NULL;
        if (!body || !json_object_is_type(body, json_type_object))
            return resp_error(cx, ERR_BADREQ,
                              "malformed JSON: expected {\"username\", \"password\"}");
        username = js_get_str(body, "username");
        password = js_get_str(body, "password");
    } else {
        username = req_form(cx, "username");
        password = req_form(cx, "password");
    }
    if ((e = check_login(cx, username, password, &token)))
        return e;
    set_session_cookies(cx, token);
    res = json_object_new_object();
    json_object_object_add(res, "token", json_object_new_string(token));
    json_object_object_add(res, "username", json_object_new_string(cx->user.username));
    json_object_object_add(res, "expires_in", json_object_new_int64(cfg.jwt_ttl));
    resp_ok(cx, res);
    return ERR_OK;
}

/* GET /api/login: what the sign-in page needs to know before anyone is signed in. */
enum err auth_login_config(struct ctx *cx)
{
    json_object *res = json_object_new_object();
    json_object_object_add(res, "auto_register", json_object_new_boolean(cfg.auto_register));
    json_object_object_add(res, "min_password", json_object_new_int(AUTH_MIN_PASSWORD));
    resp_ok(cx, res);
    return ERR_OK;
}

enum err auth_logout(struct ctx *cx)
{
    clear_session_cookies(cx);
    resp_ok(cx, NULL);
    return ERR_OK;
}

/* ---- cube-studio's server-rendered login page ------------------------------------------- */

/* Only local paths: an absolute URL here would make the login page an open redirect. */
static const char *safe_target(const char *url)
{
    if (!url || url[0] != '/' || url[1] == '/' || url[1] == '\\' || strpbrk(url, "\r\n<>\"'"))
        return "/frontend/";
    return url;
}

static void html_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            buf_adds(b, "&lt;");
            break;
        case '>':
            buf_adds(b, "&gt;");
            break;
        case '&':
            buf_adds(b, "&amp;");
            break;
        case '"':
            buf_adds(b, "&quot;");
            break;
        case '\'':
            buf_adds(b, "&#39;");
            break;
        default:
            buf_addc(b, *s);
        }
    }
}

enum err auth_login_page(struct ctx *cx)
{
    struct buf b;
    const char *target = safe_target(req_query(cx, "login_url"));
    bool failed = req_query(cx, "error") != NULL;

    buf_init(&b, cx->arena, 65536);
    buf_adds(&b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>Cube — log in</title><style>body{font-family:system-ui,sans-serif;"
                 "background:#f4f6fa;display:flex;justify-content:center;padding-top:12vh}"
                 "form{background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 2px 12px"
                 " #0002;min-width:280px}label{display:block;margin:.8rem 0 .3rem}input{width:100%;"
                 "padding:.5rem;box-sizing:border-box}button{margin-top:1.2rem;width:100%;padding:"
                 ".6rem;background:#1677ff;color:#fff;border:0;border-radius:4px}.err{color:#c00}"
                 "</style></head><body><form method=\"post\" action=\"/login/\"><h1>Cube</h1>");
    if (failed)
        buf_adds(&b, "<p class=\"err\" role=\"alert\">Invalid username or password.</p>");
    buf_adds(&b, "<label for=\"username\">Username</label><input id=\"username\" name=\"username\" "
                 "autocomplete=\"username\" required autofocus><label for=\"password\">Password"
                 "</label><input id=\"password\" name=\"password\" type=\"password\" "
                 "autocomplete=\"current-password\" required><input type=\"hidden\" "
                 "name=\"login_url\" value=\"");
    html_escape(&b, target);
    buf_adds(&b, "\"><button type=\"submit\">Log in</button></form></body></html>");
    resp_text(cx, 200, "text/html; charset=utf-8", buf_str(&b), b.len);
    return ERR_OK;
}

enum err auth_login_form(struct ctx *cx)
{
    const char *token, *target = safe_target(req_form(cx, "login_url"));
    struct buf loc;
    json_object *q;

    if (check_login(cx, req_form(cx, "username"), req_form(cx, "password"), &token)) {
        /* Back to the form, keeping where the user wanted to go. */
        q = js_own(cx->arena, json_object_new_string(target));
        buf_init(&loc, cx->arena, 4096);
        buf_adds(&loc, "/login/?error=1&login_url=");
        for (const char *s = json_object_get_string(q); *s; s++) {
            if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                strchr("/-_.~", *s))
                buf_addc(&loc, *s);
            else
                buf_addf(&loc, "%%%02X", (unsigned char)*s);
        }
        buf_truncate(&cx->resp.headers, 0);
        resp_header(cx, "Location: %s", buf_str(&loc));
        resp_text(cx, 302, "text/plain; charset=utf-8", "", 0);
        return ERR_UNAUTH;
    }
    set_session_cookies(cx, token);
    resp_header(cx, "Location: %s", target);
    resp_text(cx, 302, "text/plain; charset=utf-8", "", 0);
    return ERR_OK;
}

enum err auth_logout_page(struct ctx *cx)
{
    clear_session_cookies(cx);
    resp_header(cx, "Location: /login/");
    resp_text(cx, 302, "text/plain; charset=utf-8", "", 0);
    return ERR_OK;
}
