/*
 * notify.c — delivering the outbox (scheduling.md §3.4 rule 11).
 *
 * Outbox rows (one per run and alerting state, written in the transaction of
 * the transition) are claimed FOR UPDATE SKIP LOCKED in batches, their payload
 * completed from the run and its pipeline at the first claim; one
 * short transaction per batch inserts an in-app `notification` per recipient
 * (the pipeline's creator ∪ the run's alert_user, deduplicated by
 * UNIQUE(user_id, outbox_id)), a `webhook_delivery` row per active webhook of
 * the pipeline's project whose `events` list the state, PUBLISHes the payload
 * on Redis `cube:events`, and sets sent_at.  Redis is a bus: when it is down
 * the event is logged and not retried (the in-app rows and webhooks carry it).
 *
 * Webhooks are due-time rows.  A claim is one statement that moves
 * next_attempt_at past the request's time limit (a lease: a watcher killed
 * mid-request leaves the row to be retried after it, so delivery is at least
 * once and X-Cube-Delivery lets the receiver drop repeats).  The request runs
 * in libcurl's multi interface, driven from the watcher's poll loop, never
 * inside a transaction, so a slow or dead endpoint holds nothing up.  The
 * result is written back: delivered, or the error and the next attempt after
 * policy_hook_delay_s(attempts); after POLICY_HOOK_MAX_ATTEMPTS it is given up.
 *
 * Request: POST <url>, Content-Type: application/json, body = the outbox
 * payload (the same bytes on every attempt), X-Cube-Event: run.<state>,
 * X-Cube-Delivery: <webhook_delivery id>, and, when the webhook has a secret,
 * X-Cube-Signature: sha256=<hex HMAC-SHA256(secret, body)>, the secret opened
 * with secretbox under CUBE_SECRET_KEY.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/kv.h"
#include "core/log.h"
#include "core/secretbox.h"
#include "core/sha256.h"
#include "sched/daemon.h"
#include "sched/leader.h"
#include "sched/policy.h"
#include "sched/state.h"
#include "core/common.h"

enum {
    OUTBOX_BATCH = 500,      /* a scheduler tick can alert thousands of new runs at once */
    HOOKS_INFLIGHT = 8,      /* requests at once */
    HOOK_LEASE_S = 30,       /* beyond the request's own time limit */
    HOOK_RESPONSE_MAX = 4096 /* bytes of an answer kept for the log */
};

/* A transition writes what only its moment knows (state.h, STATE_OUTBOX_INSERT); the payload
 * is completed from the run and its pipeline here, once, and stored, so every delivery of it
 * (Redis, each webhook attempt) carries the same bytes.  A row whose run is gone (it cannot
 * be: deleting a run deletes its alerts, sql/0012) still goes out, without the run's fields. */
static const char CLAIM_OUTBOX_SQL[] =
    "WITH c AS (SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id "
    "LIMIT $1::int FOR UPDATE SKIP LOCKED), "
    "f AS (UPDATE outbox o SET payload = coalesce(o.payload, jsonb_build_object('event', "
    "'run.' || o.state, 'run_id', o.run_id, 'state', o.state, 'from', o.from_state, 'reason', "
    "o.reason, 'at', o.created_at) || coalesce((SELECT jsonb_build_object('pipeline_id', "
    "r.pipeline_id, 'pipeline', p.name, 'project_id', p.project_id, 'trigger', r.trigger, "
    "'cron_tick', r.cron_tick, 'execution_date', r.execution_date) FROM run r "
    "LEFT JOIN pipeline p ON p.id = r.pipeline_id WHERE r.id = o.run_id), '{}')) "
    "FROM c WHERE o.id = c.id RETURNING o.id, o.payload) "
    "SELECT id, payload::text FROM f ORDER BY id";

/* $1 outbox ids, $2 now */
static const char NOTIFY_SQL[] =
    "INSERT INTO notification (user_id, outbox_id, run_id, title, body, created_on) "
    "SELECT DISTINCT u.id, o.id, o.run_id, p.name || ': run ' || o.run_id || ' ' || o.state, "
    "o.reason, $2::timestamptz "
    "FROM outbox o JOIN run r ON r.id = o.run_id JOIN pipeline p ON p.id = r.pipeline_id "
    "JOIN users u ON u.id = p.created_by_fk OR u.username = ANY(string_to_array(r.alert_user, "
    "',')) WHERE o.id = ANY($1::bigint[]) ON CONFLICT (user_id, outbox_id) DO NOTHING";

static const char DELIVERIES_SQL[] =
    "INSERT INTO webhook_delivery (webhook_id, outbox_id, next_attempt_at, created_on, "
    "changed_on) SELECT w.id, o.id, $2::timestamptz, $2::timestamptz, $2::timestamptz "
    "FROM outbox o JOIN run r ON r.id = o.run_id JOIN pipeline p ON p.id = r.pipeline_id "
    "JOIN webhook w ON w.project_id = p.project_id AND w.active "
    "WHERE o.id = ANY($1::bigint[]) AND o.state = ANY(string_to_array(replace(w.events, ' ', "
    "''), ',')) ON CONFLICT (webhook_id, outbox_id) DO NOTHING";

static const char SENT_SQL[] =
    "UPDATE outbox SET sent_at = $2::timestamptz WHERE id = ANY($1::bigint[])";

/* $1 now, $2 how many, $3 lease end, $4 max attempts */
static const char CLAIM_HOOK_SQL[] =
    "WITH c AS (SELECT id FROM webhook_delivery WHERE NOT delivered AND attempts < $4::int "
    "AND next_attempt_at <= $1::timestamptz ORDER BY next_attempt_at, id LIMIT $2::int "
    "FOR UPDATE SKIP LOCKED) "
    "UPDATE webhook_delivery d SET next_attempt_at = $3::timestamptz FROM c, webhook w, outbox o "
    "WHERE d.id = c.id AND w.id = d.webhook_id AND o.id = d.outbox_id "
    "RETURNING d.id, w.url, w.secret, o.payload::text, o.state, d.attempts";

/* $1 id, $2 now, $3 delivered, $4 status, $5 error, $6 next attempt */
static const char RESULT_SQL[] =
    "UPDATE webhook_delivery SET attempts = attempts + 1, delivered = $3::boolean, "
    "status = $4::int, error = $5, next_attempt_at = coalesce($6::timestamptz, next_attempt_at), "
    "changed_on = $2::timestamptz WHERE id = $1::bigint AND NOT delivered";

/* ---- outbox ------------------------------------------------------------------------------ */

/* One batch of outbox rows; *n gets how many. */
static enum err outbox_batch(struct pass *ps, void *arg)
{
    size_t *n = arg;
    const char *p[2];
    struct pg_result *r;
    int64_t *ids;
    enum err e;

    *n = 0;
    if ((e = db_begin(ps->db)))
        return e;
    /* Not while a scheduler tick creates runs (tick.c): it wakes us when it is done. */
    p[0] = arena_printf(ps->a, "%" PRId64, LOCK_KEY_TICK);
    if ((e = db_query(ps->db, ps->a, "SELECT pg_try_advisory_xact_lock_shared($1::bigint)", 1, p,
                      &r, NULL)))
        goto out;
    if (strcmp(db_val(r, 0, 0), "t")) {
        db_rollback(ps->db);
        return ERR_OK;
    }
    p[0] = arena_printf(ps->a, "%d", OUTBOX_BATCH);
    if ((e = db_query(ps->db, ps->a, CLAIM_OUTBOX_SQL, 1, p, &r, NULL)))
        goto out;
    *n = (size_t)db_rows(r);
    if (!*n) {
        db_rollback(ps->db);
        return ERR_OK;
    }
    ids = db_col_i64(ps->a, r, 0, n);
    p[0] = state_ids(ps->a, ids, *n);
    p[1] = state_ts(ps->a, ps->now_us);
    if ((e = db_query(ps->db, ps->a, NOTIFY_SQL, 2, p, NULL, NULL)) ||
        (e = db_query(ps->db, ps->a, DELIVERIES_SQL, 2, p, NULL, NULL)) ||
        (e = db_query(ps->db, ps->a, SENT_SQL, 2, p, NULL, NULL)))
        goto out;
    /* At least once: a crash after PUBLISH and before COMMIT publishes again. */
    for (size_t i = 0; ps->kv && i < *n; i++)
        if (kv_publish(ps->kv, "cube:events", db_val(r, (int)i, 1)))
            log_warn("outbox %" PRId64 ": Redis PUBLISH failed; in-app and webhooks only", ids[i]);
    return db_commit(ps->db);
out:
    db_rollback(ps->db);
    return e;
}

enum err notify_outbox_pass(struct pass *ps)
{
    size_t n;
    enum err e;

    do {
        if ((e = pass_batch(ps, outbox_batch, &n)))
            return e;
    } while (n == OUTBOX_BATCH);
    return ERR_OK;
}

/* ---- webhooks --------------------------------------------------------------------------- */

struct transfer {
    CURL *easy;
    struct curl_slist *headers;
    int64_t id;
    int attempts; /* before this one */
    char *url, *body;
    size_t got; /* response bytes seen */
    int64_t t0_us;
    char errbuf[CURL_ERROR_SIZE];
    struct transfer *next;
};

struct hooks {
    CURLM *multi;
    struct transfer *list;
    int inflight;
};

struct hooks *hooks_new(void)
{
    struct hooks *h = xcalloc(1, sizeof(*h));
    h->multi = curl_multi_init();
    if (!h->multi)
        die("curl_multi_init failed");
    return h;
}

static void transfer_free(struct hooks *h, struct transfer *t)
{
    curl_multi_remove_handle(h->multi, t->easy);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    free(t->url);
    free(t->body);
    free(t);
}

void hooks_free(struct hooks *h)
{
    if (!h)
        return;
    while (h->list) {
        struct transfer *t = h->list;
        h->list = t->next;
        transfer_free(h, t); /* the lease expires and another attempt follows */
    }
    curl_multi_cleanup(h->multi);
    free(h);
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    (void)data;
    t->got += size * n;
    /* A runaway answer is cut off (the transfer then fails as a write error). */
    return t->got > HOOK_RESPONSE_MAX * 256 ? 0 : size * n;
}

static enum err record(struct db *db, struct arena *a, int64_t now_us, int64_t id, bool ok,
                       long status, const char *error, int attempts)
{
    const char *p[6];
    p[0] = arena_printf(a, "%" PRId64, id);
    p[1] = state_ts(a, now_us);
    p[2] = ok ? "true" : "false";
    p[3] = status > 0 ? arena_printf(a, "%ld", status) : NULL;
    p[4] = error;
    if (ok)
        p[5] = NULL;
    else if (attempts >= POLICY_HOOK_MAX_ATTEMPTS)
        p[5] = "infinity";
    else
        p[5] = state_ts(a, now_us + policy_hook_delay_s(attempts) * 1000000);
    return db_query(db, a, RESULT_SQL, 6, p, NULL, NULL);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool start_one(struct hooks *h, struct pass *ps, struct pg_result *r, int i)
{
    struct transfer *t = xcalloc(1, sizeof(*t));
    const char *secret = db_val(r, i, 2), *body = db_val(r, i, 3), *plain = NULL;
    enum err e;

    t->id = db_i64(r, i, 0);
    t->attempts = (int)db_i64(r, i, 5);
    t->url = xstrdup(db_val(r, i, 1));
    t->body = xstrdup(body);
    t->easy = curl_easy_init();
    if (!t->easy)
        die("curl_easy_init failed");
    t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
    t->headers = curl_slist_append(t->headers, "User-Agent: cube-watcher");
    t->headers =
        curl_slist_append(t->headers, arena_printf(ps->a, "X-Cube-Event: run.%s", db_val(r, i, 4)));
    t->headers =
        curl_slist_append(t->headers, arena_printf(ps->a, "X-Cube-Delivery: %" PRId64, t->id));
    if (secret && *secret) {
        unsigned char mac[32];
        char mhex[65];
        if ((e = secretbox_open(ps->a, cfg.secret_key, secret, &plain))) {
            log_warn("webhook delivery %" PRId64 ": the secret cannot be opened (%s); giving up",
                     t->id, err_name(e));
            if (record(ps->db, ps->a, ps->now_us, t->id, false, 0,
                       "the webhook secret cannot be opened with CUBE_SECRET_KEY",
                       POLICY_HOOK_MAX_ATTEMPTS))
                log_warn("webhook delivery %" PRId64 ": cannot record the failure", t->id);
            curl_easy_cleanup(t->easy);
            curl_slist_free_all(t->headers);
            free(t->url);
            free(t->body);
            free(t);
            return false;
        }
        hmac_sha256(plain, strlen(plain), t->body, strlen(t->body), mac);
        hex(mac, sizeof(mac), mhex);
        t->headers =
            curl_slist_append(t->headers, arena_printf(ps->a, "X-Cube-Signature: sha256=%s", mhex));
    }
    curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
    curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(t->body));
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)cfg.webhook_timeout_ms);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg.webhook_timeout_ms);
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
    t->t0_us = clock_mono_us();
    if (curl_multi_add_handle(h->multi, t->easy) != CURLM_OK) {
        transfer_free(h, t);
        return false;
    }
    t->next = h->list;
    h->list = t;
    h->inflight++;
    return true;
}

enum err hooks_start(struct hooks *h, struct pass *ps)
{
    const char *p[4];
    struct pg_result *r;
    enum err e;
    int room = HOOKS_INFLIGHT - h->inflight;

    if (room <= 0)
        return ERR_OK;
    p[0] = state_ts(ps->a, ps->now_us);
    p[1] = arena_printf(ps->a, "%d", room);
    p[2] = state_ts(ps->a, ps->now_us + (cfg.webhook_timeout_ms / 1000 + HOOK_LEASE_S) * 1000000);
    p[3] = arena_printf(ps->a, "%d", POLICY_HOOK_MAX_ATTEMPTS);
    if ((e = db_query(ps->db, ps->a, CLAIM_HOOK_SQL, 4, p, &r, NULL)))
        return e;
    for (int i = 0; i < db_rows(r); i++)
        (void)start_one(h, ps, r, i);
    if (db_rows(r))
        (void)hooks_progress(h, ps);
    return ERR_OK;
}

bool hooks_progress(struct hooks *h, struct pass *ps)
{
    CURLMsg *m;
    int running = 0, left;
    int64_t now_us = 0;

    if (!h->inflight)
        return false;
    curl_multi_perform(h->multi, &running);
    while ((m = curl_multi_info_read(h->multi, &left))) {
        struct transfer *t = NULL, **pp;
        long status = 0;
        bool ok;
        const char *error;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        ok = m->data.result == CURLE_OK && status >= 200 && status < 300;
        error = ok ? ""
                : m->data.result != CURLE_OK
                    ? arena_printf(ps->a, "%s",
                                   t->errbuf[0] ? t->errbuf : curl_easy_strerror(m->data.result))
                    : arena_printf(ps->a, "HTTP %ld", status);
        if (!now_us && sched_now(ps->db, ps->a, &now_us))
            now_us = 0;
        if (ok)
            log_info("webhook delivery %" PRId64 " to %s: HTTP %ld in %lld ms", t->id, t->url,
                     status, (long long)((clock_mono_us() - t->t0_us) / 1000));
        else
            log_warn("webhook delivery %" PRId64 " to %s failed (attempt %d of %d): %s", t->id,
                     t->url, t->attempts + 1, POLICY_HOOK_MAX_ATTEMPTS, error);
        /* Without a clock (database down) the lease stands: the attempt is repeated later. */
        if (now_us && record(ps->db, ps->a, now_us, t->id, ok, status, error, t->attempts + 1))
            log_warn("webhook delivery %" PRId64 ": cannot record the result", t->id);
        for (pp = &h->list; *pp; pp = &(*pp)->next) {
            if (*pp == t) {
                *pp = t->next;
                break;
            }
        }
        transfer_free(h, t);
        h->inflight--;
    }
    return h->inflight > 0;
}

int hooks_wait(struct hooks *h, struct pollfd *fds, unsigned nfds, int timeout_ms)
{
    struct curl_waitfd w[8];
    int numfds = 0;
    CURLMcode mc;

    if (!h->inflight || nfds > ARRAY_LEN(w))
        return poll(fds, nfds, h->inflight && timeout_ms > 100 ? 100 : timeout_ms);
    for (unsigned i = 0; i < nfds; i++) {
        w[i].fd = fds[i].fd;
        w[i].events = (short)(fds[i].events & POLLIN ? CURL_WAIT_POLLIN : 0);
        w[i].revents = 0;
    }
    mc = curl_multi_poll(h->multi, w, nfds, timeout_ms, &numfds);
    for (unsigned i = 0; i < nfds; i++)
        fds[i].revents = (short)(w[i].revents & CURL_WAIT_POLLIN ? POLLIN : 0);
    return mc == CURLM_OK ? numfds : -1;
}
