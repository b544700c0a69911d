/* test_db.c — db.c against a scripted PostgreSQL server (a forked child speaking protocol 3.0
 * on a unix socket in a temporary directory): results and parameters of prepared statements,
 * error fields, the wait hook (called instead of blocking, `fresh` on each new connection),
 * the blocking default, db_drain() on an idle connection the server closed or wrote to, and
 * which statements db_query_fresh leaves unnamed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/db.h"
#include "core/common.h"

/* What the fake server does.  Every answer to a Sync comes DELAY_MS late, so the client has
 * to wait for it. */
enum mode {
    ECHO,        /* a row with one column: the first parameter of the Bind */
    FAIL,        /* an ErrorResponse (unique violation) for every Sync */
    CLOSE_IDLE,  /* ECHO; after the first executed statement, close; then accept again */
    NOTICE_IDLE, /* ECHO; after the first executed statement, send a NoticeResponse */
    NAMES,       /* a row with the name of the statement the Bind executes ("" unnamed) */
};
enum { DELAY_MS = 20, MAX_CONNS = 4 };

struct fake {
    char dir[64];
    char conninfo[160];
    pid_t pid;
};

/* ---- the server (child process) ---------------------------------------------------------- */

struct msgbuf {
    char b[8192];
    size_t n;
};

static void put(struct msgbuf *m, const void *p, size_t n)
{
    if (m->n + n <= sizeof(m->b)) {
        memcpy(m->b + m->n, p, n);
        m->n += n;
    }
}

/* Starts message type t; returns the offset of its length field. */
static size_t begin(struct msgbuf *m, char t)
{
    uint32_t zero = 0;
    size_t at;
    put(m, &t, 1);
    at = m->n;
    put(m, &zero, 4);
    return at;
}

static void end(struct msgbuf *m, size_t at)
{
    uint32_t len = htonl((uint32_t)(m->n - at));
    memcpy(m->b + at, &len, 4);
}

static void put_str(struct msgbuf *m, const char *s)
{
    put(m, s, strlen(s) + 1);
}

static void put_u32(struct msgbuf *m, uint32_t v)
{
    v = htonl(v);
    put(m, &v, 4);
}

static void put_u16(struct msgbuf *m, uint16_t v)
{
    v = htons(v);
    put(m, &v, 2);
}

static void param_status(struct msgbuf *m, const char *k, const char *v)
{
    size_t at = begin(m, 'S');
    put_str(m, k);
    put_str(m, v);
    end(m, at);
}

static void ready(struct msgbuf *m)
{
    size_t at = begin(m, 'Z');
    put(m, "I", 1);
    end(m, at);
}

static void complete(struct msgbuf *m, const char *tag)
{
    size_t at = begin(m, 'C');
    put_str(m, tag);
    end(m, at);
}

static bool read_full(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r <= 0)
            return false;
        c += r;
        n -= (size_t)r;
    }
    return true;
}

static bool send_all(int fd, const struct msgbuf *m)
{
    return write(fd, m->b, m->n) == (ssize_t)m->n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* The first parameter of a Bind message body, as a string (empty when none or NULL). */
static void bind_param(const char *body, size_t len, char *out, size_t outlen)
{
    const char *p = body, *e = body + len;
    uint16_t nf, np;
    uint32_t plen;

    out[0] = '\0';
    p += strnlen(p, (size_t)(e - p)) + 1; /* portal */
    p += strnlen(p, (size_t)(e - p)) + 1; /* statement */
    if (e - p < 2)
        return;
    memcpy(&nf, p, 2);
    p += 2 + 2 * ntohs(nf);
    if (e - p < 2)
        return;
    memcpy(&np, p, 2);
    p += 2;
    if (!ntohs(np) || e - p < 4)
        return;
    memcpy(&plen, p, 4);
    plen = ntohl(plen);
    p += 4;
    if (plen == 0xFFFFFFFFu || plen >= outlen || (size_t)(e - p) < plen)
        return;
    memcpy(out, p, plen);
    out[plen] = '\0';
}

/* Serves one connection; returns whether the script wants the next connection served. */
static bool serve_conn(int fd, enum mode mode)
{
    struct msgbuf m = {0};
    uint32_t len, code;
    char body[8192], param[256] = "";
    bool parsed = false, executed = false, first_done = false;

    /* Startup (an SSL or GSS request first is refused with 'N'). */
    for (;;) {
        if (!read_full(fd, &len, 4))
            return false;
        len = ntohl(len);
        if (len < 8 || len - 4 > sizeof(body) || !read_full(fd, body, len - 4))
            return false;
        memcpy(&code, body, 4);
        code = ntohl(code);
        if (code != 80877103 && code != 80877104)
            break;
        if (write(fd, "N", 1) != 1)
            return false;
    }
    {
        size_t at = begin(&m, 'R');
        put_u32(&m, 0); /* AuthenticationOk */
        end(&m, at);
    }
    param_status(&m, "server_version", "15.0");
    param_status(&m, "client_encoding", "UTF8");
    param_status(&m, "standard_conforming_strings", "on");
    param_status(&m, "integer_datetimes", "on");
    param_status(&m, "DateStyle", "ISO, MDY");
    {
        size_t at = begin(&m, 'K');
        put_u32(&m, 4242);
        put_u32(&m, 1);
        end(&m, at);
    }
    ready(&m);
    if (!send_all(fd, &m))
        return false;

    for (;;) {
        char t;
        if (!read_full(fd, &t, 1) || !read_full(fd, &len, 4))
            return true; /* the client went away */
        len = ntohl(len);
        if (len < 4 || len - 4 > sizeof(body) || !read_full(fd, body, len - 4))
            return false;
        m.n = 0;
        switch (t) {
        case 'Q': /* simple query (the session setup, BEGIN, ...): one "SET"-like tag */
            sleep_ms(DELAY_MS);
            complete(&m, "SET");
            ready(&m);
            break;
        case 'P':
            parsed = true;
            continue;
        case 'B':
            if (mode == NAMES) {
                const char *stmt = body + strnlen(body, len - 4) + 1; /* after the portal */
                size_t n = strnlen(stmt, sizeof(param) - 1);
                memcpy(param, stmt, n);
                param[n] = '\0';
            } else {
                bind_param(body, len - 4, param, sizeof(param));
            }
            executed = true;
            continue;
        case 'D':
        case 'E':
        case 'H':
            continue;
        case 'X':
            return true;
        case 'S':
            sleep_ms(DELAY_MS);
            if (mode == FAIL) {
                size_t at = begin(&m, 'E');
                put(&m, "S", 1);
                put_str(&m, "ERROR");
                put(&m, "V", 1);
                put_str(&m, "ERROR");
                put(&m, "C", 1);
                put_str(&m, "23505");
                put(&m, "M", 1);
                put_str(&m, "duplicate key value violates unique constraint \"t_name_key\"");
                put(&m, "D", 1);
                put_str(&m, "Key (name)=(x) already exists.");
                put(&m, "n", 1);
                put_str(&m, "t_name_key");
                put(&m, "\0", 1);
                end(&m, at);
                ready(&m);
                break;
            }
            if (parsed) {
                size_t at = begin(&m, '1');
                end(&m, at);
            }
            if (executed) {
                size_t at = begin(&m, '2');
                end(&m, at);
                at = begin(&m, 'T');
                put_u16(&m, 1);
                put_str(&m, "v");
                put_u32(&m, 0);
                put_u16(&m, 0);
                put_u32(&m, 25); /* text */
                put_u16(&m, 0xFFFF);
                put_u32(&m, 0xFFFFFFFFu);
                put_u16(&m, 0);
                end(&m, at);
                at = begin(&m, 'D');
                put_u16(&m, 1);
                put_u32(&m, (uint32_t)strlen(param));
                put(&m, param, strlen(param));
                end(&m, at);
                complete(&m, "SELECT 1");
            }
            ready(&m);
            if (executed)
                first_done = true;
            parsed = executed = false;
            break;
        default:
            continue;
        }
        if (!send_all(fd, &m))
            return false;
        if (first_done && mode == CLOSE_IDLE) {
            sleep_ms(DELAY_MS);
            return true;
        }
        if (first_done && mode == NOTICE_IDLE) {
            size_t at;
            sleep_ms(DELAY_MS);
            m.n = 0;
            at = begin(&m, 'N');
            put(&m, "S", 1);
            put_str(&m, "NOTICE");
            put(&m, "M", 1);
            put_str(&m, "an unsolicited notice");
            put(&m, "\0", 1);
            end(&m, at);
            if (!send_all(fd, &m))
                return false;
            mode = ECHO;
        }
    }
}

static NORETURN void server(int lfd, enum mode mode)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        int fd = accept(lfd, NULL, NULL);
        bool more;
        if (fd < 0)
            break;
        more = serve_conn(fd, mode);
        close(fd);
        if (!more)
            break;
    }
    _exit(0);
}

static struct fake *fake_start(enum mode mode)
{
    struct fake *f = xcalloc(1, sizeof(*f));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int lfd;

    snprintf(f->dir, sizeof(f->dir), "/tmp/cube-test-db-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/.s.PGSQL.5432", f->dir);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 8), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0)
        server(lfd, mode);
    close(lfd);
    snprintf(f->conninfo, sizeof(f->conninfo),
             "host=%s port=5432 dbname=cube user=cube connect_timeout=5", f->dir);
    return f;
}

static void fake_stop(struct fake *f)
{
    char path[128];

    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    snprintf(path, sizeof(path), "%s/.s.PGSQL.5432", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
}

/* ---- the client side --------------------------------------------------------------------- */

struct waits {
    int calls, fresh_calls, write_calls, first_fd, last_fd;
    bool first_was_fresh;
};

/* A hook that records its calls and then waits as the default would. */
static void record_wait(void *arg, int fd, unsigned flags)
{
    struct waits *w = arg;
    struct pollfd p = {fd, POLLIN, 0};

    if (!w->calls) {
        w->first_fd = fd;
        w->first_was_fresh = flags & DB_WAIT_FRESH;
    }
    w->calls++;
    w->fresh_calls += !!(flags & DB_WAIT_FRESH);
    w->write_calls += !!(flags & DB_WAIT_WRITE);
    w->last_fd = fd;
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
}

static const char *run_sql(struct db *db, struct arena *a, const char *sql, const char *v,
                           enum err *e)
{
    const char *p[1] = {v};
    struct pg_result *r = NULL;
    struct db_error de;

    *e = db_query(db, a, sql, 1, p, &r, &de);
    return *e || !r || db_rows(r) != 1 ? NULL : db_val(r, 0, 0);
}

static const char *echo(struct db *db, struct arena *a, const char *v, enum err *e)
{
    return run_sql(db, a, "SELECT $1::text AS v", v, e);
}

/* Without a hook db_query blocks (in poll) and returns the row. */
static void blocking_default(void **state)
{
    struct fake *f = fake_start(ECHO);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    enum err e;

    (void)state;
    assert_string_equal(echo(db, &a, "it's \"quoted\"; \\ ok", &e), "it's \"quoted\"; \\ ok");
    assert_int_equal(e, ERR_OK);
    /* The statement is prepared now: the second run only executes it. */
    assert_string_equal(echo(db, &a, "second", &e), "second");
    assert_true(db_ok(db));
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

/* db_send returns once the statement is sent, before the server answers (the wait hook is not
 * called); db_result waits for the answer.  Outside a transaction, twice in a row, or with a
 * db_query in between, the calls are refused; a rollback with an answer unread reads it and
 * leaves the connection usable. */
static void send_then_result(void **state)
{
    struct fake *f = fake_start(ECHO);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    struct waits w = {0};
    struct pg_result *r = NULL;
    const char *sql = "SELECT $1::text AS v", *p[1] = {"sent"};
    enum err e;

    (void)state;
    assert_string_equal(echo(db, &a, "prepared", &e), "prepared"); /* connected, prepared */
    assert_int_equal(db_send(db, sql, 1, p), ERR_INTERNAL);        /* no transaction */
    assert_int_equal(db_begin(db), ERR_OK);
    db_set_wait(db, record_wait, &w);
    assert_int_equal(db_send(db, sql, 1, p), ERR_OK);
    assert_int_equal(w.calls, 0);
    assert_int_equal(db_send(db, sql, 1, p), ERR_INTERNAL);
    assert_int_equal(db_query(db, &a, sql, 1, p, &r, NULL), ERR_INTERNAL);
    assert_null(r);
    assert_int_equal(db_result(db, &a, &r, NULL), ERR_OK);
    assert_true(w.calls >= 1);
    assert_non_null(r);
    assert_string_equal(db_val(r, 0, 0), "sent");
    assert_int_equal(db_result(db, &a, &r, NULL), ERR_INTERNAL); /* nothing awaits */
    assert_null(r);

    assert_int_equal(db_send(db, sql, 1, p), ERR_OK);
    db_rollback(db);
    assert_false(db_in_tx(db));
    assert_string_equal(echo(db, &a, "after", &e), "after");
    assert_int_equal(e, ERR_OK);
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

/* db_query prepares a statement once and executes it by name from then on; db_query_fresh
 * sends the same text as an unnamed statement every time (planned at each execution) and
 * leaves the cache as it was. */
static void fresh_is_unnamed(void **state)
{
    struct fake *f = fake_start(NAMES);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    struct pg_result *r;
    const char *sql = "SELECT $1::text AS v", *p[1] = {"x"};
    char *cached;

    (void)state;
    assert_int_equal(db_query(db, &a, sql, 1, p, &r, NULL), ERR_OK);
    cached = arena_strdup(&a, db_val(r, 0, 0));
    assert_string_not_equal(cached, "");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(db_query_fresh(db, &a, sql, 1, p, &r, NULL), ERR_OK);
        assert_string_equal(db_val(r, 0, 0), "");
    }
    assert_int_equal(db_query(db, &a, sql, 1, p, &r, NULL), ERR_OK);
    assert_string_equal(db_val(r, 0, 0), cached);
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

/* A result column's name and type oid are the ones the server's RowDescription gave (the fake
 * server describes its one column as "v" of type 25, text). */
static void result_columns(void **state)
{
    struct fake *f = fake_start(ECHO);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    const char *p[1] = {"x"};
    struct pg_result *r = NULL;

    (void)state;
    assert_int_equal(db_query(db, &a, "SELECT $1::text AS v", 1, p, &r, NULL), ERR_OK);
    assert_non_null(r);
    assert_int_equal(db_cols(r), 1);
    assert_string_equal(db_colname(r, 0), "v");
    assert_int_equal(db_type(r, 0), 25);
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

/* With a hook, every wait for the server goes through it: the first one on the new connection
 * is fresh (the session setup), the later ones are not, and the socket stays the same. */
static void hook_is_called(void **state)
{
    struct fake *f = fake_start(ECHO);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    struct waits w = {0};
    enum err e;

    (void)state;
    db_set_wait(db, record_wait, &w);
    assert_string_equal(echo(db, &a, "one", &e), "one");
    /* Session setup, prepare, execute: each had to wait DELAY_MS for its answer. */
    assert_true(w.calls >= 3);
    assert_true(w.first_was_fresh);
    assert_int_equal(w.fresh_calls, 1);
    assert_true(w.first_fd >= 0);
    assert_int_equal(w.last_fd, w.first_fd);
    /* A SELECT is a read: no wait of it is marked as a write. */
    assert_int_equal(w.write_calls, 0);
    {
        int before = w.calls;
        assert_string_equal(echo(db, &a, "two", &e), "two");
        assert_true(w.calls > before);
        assert_int_equal(w.fresh_calls, 1);
    }
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

/* Waits of a statement that may write carry DB_WAIT_WRITE: a data-modifying CTE, an INSERT,
 * a transaction's COMMIT; those of a SELECT (even an indented one) do not. */
static void write_waits(void **state)
{
    struct fake *f = fake_start(ECHO);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    struct waits w = {0};
    enum err e;
    int before;

    (void)state;
    db_set_wait(db, record_wait, &w);
    assert_string_equal(run_sql(db, &a, "\n  select $1::text", "r", &e), "r");
    assert_int_equal(w.write_calls, 0);
    before = w.calls;
    assert_string_equal(
        run_sql(db, &a, "WITH w AS (INSERT INTO t (v) VALUES ($1) RETURNING v) SELECT v FROM w",
                "w", &e),
        "w");
    assert_true(w.calls > before);
    assert_int_equal(w.write_calls, w.calls - before);
    {
        int writes = w.write_calls;
        assert_string_equal(run_sql(db, &a, "SELECT $1::text AS again", "r2", &e), "r2");
        assert_int_equal(w.write_calls, writes);
        /* BEGIN and COMMIT each wait once for the server's answer. */
        assert_int_equal(db_begin(db), ERR_OK);
        assert_int_equal(db_commit(db), ERR_OK);
        assert_int_equal(w.write_calls, writes + 2);
    }
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

/* An ErrorResponse keeps its SQLSTATE, detail and constraint, and maps to ERR_CONFLICT. */
static void error_fields(void **state)
{
    struct fake *f = fake_start(FAIL);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    struct waits w = {0};
    struct pg_result *r = NULL;
    struct db_error de;
    const char *p[1] = {"x"};
    enum err e;

    (void)state;
    db_set_wait(db, record_wait, &w);
    e = db_query(db, &a, "INSERT INTO t (name) VALUES ($1)", 1, p, &r, &de);
    assert_int_equal(e, ERR_CONFLICT);
    assert_null(r);
    assert_string_equal(de.sqlstate, "23505");
    assert_string_equal(de.detail, "Key (name)=(x) already exists.");
    assert_string_equal(de.constraint, "t_name_key");
    assert_non_null(strstr(de.message, "duplicate key"));
    assert_true(w.calls >= 2);
    /* The connection is fine after an error. */
    assert_true(db_ok(db));
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

static void wait_readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
}

/* The server closes an idle connection: db_drain says so and drops it; the next query
 * connects again, and the hook hears of the new socket (fresh). */
static void drain_closed(void **state)
{
    struct fake *f = fake_start(CLOSE_IDLE);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    struct waits w = {0};
    enum err e;

    (void)state;
    db_set_wait(db, record_wait, &w);
    assert_string_equal(echo(db, &a, "before", &e), "before");
    wait_readable(w.last_fd);
    assert_false(db_drain(db));
    assert_false(db_ok(db));
    /* No connection: nothing to drain. */
    assert_false(db_drain(db));
    assert_string_equal(echo(db, &a, "after", &e), "after");
    assert_int_equal(e, ERR_OK);
    assert_int_equal(w.fresh_calls, 2);
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

/* A notice on an idle connection is read and the connection stays usable. */
static void drain_notice(void **state)
{
    struct fake *f = fake_start(NOTICE_IDLE);
    struct arena a = ARENA_INIT;
    struct db *db = db_new(f->conninfo, "test", 5000);
    struct waits w = {0};
    struct pollfd p;
    enum err e;

    (void)state;
    db_set_wait(db, record_wait, &w);
    assert_string_equal(echo(db, &a, "before", &e), "before");
    wait_readable(w.last_fd);
    assert_true(db_drain(db));
    assert_true(db_ok(db));
    /* Drained: the socket is quiet again. */
    p = (struct pollfd){w.last_fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 0), 0);
    assert_string_equal(echo(db, &a, "after", &e), "after");
    assert_int_equal(w.fresh_calls, 1);
    arena_free(&a);
    db_close(db);
    fake_stop(f);
}

/* A server that is not there: ERR_UNAVAILABLE with SQLSTATE 08006, and no hook call. */
static void unreachable(void **state)
{
    struct arena a = ARENA_INIT;
    struct db *db =
        db_new("host=/nonexistent-cube-dir port=1 dbname=x user=x connect_timeout=2", "test", 5000);
    struct waits w = {0};
    struct pg_result *r = NULL;
    struct db_error de;
    enum err e;

    (void)state;
    db_set_wait(db, record_wait, &w);
    e = db_query(db, &a, "SELECT 1", 0, NULL, &r, &de);
    assert_int_equal(e, ERR_UNAVAILABLE);
    assert_string_equal(de.sqlstate, "08006");
    assert_int_equal(w.calls, 0);
    assert_false(db_drain(db));
    arena_free(&a);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocking_default), cmocka_unit_test(hook_is_called),
        cmocka_unit_test(write_waits),      cmocka_unit_test(error_fields),
        cmocka_unit_test(drain_closed),     cmocka_unit_test(drain_notice),
        cmocka_unit_test(unreachable),      cmocka_unit_test(result_columns),
        cmocka_unit_test(send_then_result), cmocka_unit_test(fresh_is_unnamed),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
