/* test_log.c — the queued access log: batching, whole lines, the batch size, order with
 * log_line(), and the age of the oldest queued line.  stderr is swapped for a SOCK_SEQPACKET
 * socket, so every write(2) arrives as one record and the test can count them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/common.h"

struct capture {
    int saved; /* the real stderr */
    int rd;    /* our end of the socket now on fd 2 */
    char *got; /* everything read so far */
    size_t len;
    size_t writes; /* records read: one per write(2) */
};

static int setup(void **state)
{
    struct capture *c = xcalloc(1, sizeof(*c));
    int p[2], big = 1 << 20;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
        return -1;
    /* Big enough that no write blocks during a test. */
    setsockopt(p[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(p[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    c->saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    close(p[1]);
    c->rd = p[0];
    c->got = xcalloc(1, 1);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct capture *c = *state;

    log_flush();
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    close(c->rd);
    free(c->got);
    free(c);
    return 0;
}

/* Collects every record written so far. */
static void drain(struct capture *c)
{
    char chunk[65536];
    ssize_t n;

    while ((n = read(c->rd, chunk, sizeof(chunk))) > 0) {
        c->got = realloc(c->got, c->len + (size_t)n + 1);
        memcpy(c->got + c->len, chunk, (size_t)n);
        c->len += (size_t)n;
        c->got[c->len] = '\0';
        c->writes++;
    }
    assert_true(n < 0 && errno == EAGAIN);
}

static char *line_of(size_t size, char fill)
{
    char *s = xmalloc(size + 1);
    memset(s, fill, size);
    s[0] = '{';
    s[size - 1] = '}';
    s[size] = '\0';
    return s;
}

/* Nothing reaches stderr until log_flush(); then every line, in order, newline-terminated. */
static void queued_until_flush(void **state)
{
    struct capture *c = *state;

    assert_int_equal(log_queued_since(), -1);
    log_queue("{\"a\":1}");
    log_queue("{\"b\":2}");
    drain(c);
    assert_int_equal(c->len, 0);
    log_flush();
    drain(c);
    assert_string_equal(c->got, "{\"a\":1}\n{\"b\":2}\n");
    /* Both lines went out in one write, so the pipe held them as one chunk. */
    assert_int_equal(c->writes, 1);
    assert_int_equal(log_queued_since(), -1);
    /* A flush with nothing queued writes nothing. */
    log_flush();
    drain(c);
    assert_int_equal(c->writes, 1);
}

/* The age clock starts at the first queued line and is not moved by later ones. */
static void age_of_oldest_line(void **state)
{
    int64_t before = clock_mono_us(), since, after;

    (void)state;
    log_queue("{\"first\":true}");
    after = clock_mono_us();
    since = log_queued_since();
    assert_true(since >= before && since <= after);
    usleep(2000);
    log_queue("{\"second\":true}");
    assert_true(log_queued_since() == since);
    log_flush();
    assert_int_equal(log_queued_since(), -1);
}

/* Lines that do not fit the batch start a new one: every write holds whole lines and at most
 * LOG_BATCH bytes, and nothing is lost or reordered. */
static void batches_hold_whole_lines(void **state)
{
    struct capture *c = *state;
    enum { LINE = 1000, N = 9 }; /* 1001 bytes with the newline: four fit in 4096 */
    char *s[N], *want = xcalloc(1, N * (LINE + 1) + 1);
    size_t at = 0, start = 0;

    for (int i = 0; i < N; i++) {
        s[i] = line_of(LINE, (char)('a' + i));
        memcpy(want + at, s[i], LINE);
        want[at + LINE] = '\n';
        at += LINE + 1;
    }
    for (int i = 0; i < N; i++) {
        size_t before = c->len;
        log_queue(s[i]);
        drain(c);
        /* Queuing line i wrote lines i-4 .. i-1 when line i no longer fitted: at i = 4 and 8,
         * one write each. */
        if (i == 4 || i == 8) {
            assert_int_equal(c->len - before, 4 * (LINE + 1));
            assert_true(c->len - start <= LOG_BATCH);
            assert_int_equal(c->writes, i / 4);
            start = c->len;
        } else {
            assert_int_equal(c->len, before);
        }
    }
    log_flush();
    drain(c);
    assert_int_equal(c->writes, 3);
    assert_int_equal(c->len, at);
    assert_memory_equal(c->got, want, at);
    for (int i = 0; i < N; i++)
        free(s[i]);
    free(want);
}

/* A line bigger than a batch is written on its own, after what was queued before it. */
static void oversized_line(void **state)
{
    struct capture *c = *state;
    char *big = line_of(LOG_BATCH + 100, 'x');

    log_queue("{\"small\":1}");
    log_queue(big);
    drain(c);
    /* The queued line went out first, in a write of its own. */
    assert_true(c->writes >= 2);
    assert_int_equal(c->len, strlen("{\"small\":1}\n") + LOG_BATCH + 101);
    assert_memory_equal(c->got, "{\"small\":1}\n", 12);
    assert_memory_equal(c->got + 12, big, LOG_BATCH + 100);
    assert_int_equal(c->got[c->len - 1], '\n');
    assert_int_equal(log_queued_since(), -1);
    free(big);
}

/* log_line() (errors, warnings) writes at once, after the queued access lines. */
static void log_line_keeps_order(void **state)
{
    struct capture *c = *state;

    log_queue("{\"access\":1}");
    log_line("{\"level\":\"warn\"}");
    drain(c);
    assert_string_equal(c->got, "{\"access\":1}\n{\"level\":\"warn\"}\n");
    assert_int_equal(log_queued_since(), -1);
}

/* A line of exactly LOG_BATCH - 1 bytes (LOG_BATCH with its newline) fits a batch alone. */
static void exact_fit(void **state)
{
    struct capture *c = *state;
    char *s = line_of(LOG_BATCH - 1, 'y');

    log_queue(s);
    drain(c);
    assert_int_equal(c->len, 0);
    log_flush();
    drain(c);
    assert_int_equal(c->len, LOG_BATCH);
    assert_int_equal(c->writes, 1);
    assert_memory_equal(c->got, s, LOG_BATCH - 1);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(queued_until_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(age_of_oldest_line, setup, teardown),
        cmocka_unit_test_setup_teardown(batches_hold_whole_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_line, setup, teardown),
        cmocka_unit_test_setup_teardown(log_line_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(exact_fit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
