/* test_buf.c — the capped string builder: appends, formatting, the cap, truncation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/common.h"

static int setup(void **state)
{
    struct arena *a = xcalloc(1, sizeof(*a));
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    struct arena *a = *state;
    arena_free(a);
    free(a);
    return 0;
}

static void appends(void **state)
{
    struct buf b;
    buf_init(&b, *state, 1 << 20);

    buf_adds(&b, "hello");
    buf_addc(&b, ' ');
    buf_add(&b, "world!!!", 5);
    assert_string_equal(buf_str(&b), "hello world");
    assert_int_equal(b.len, 11);
    buf_add(&b, "", 0);
    assert_string_equal(buf_str(&b), "hello world");
    assert_int_equal(b.len, 11);

    /* Binary data with an embedded NUL keeps its length. */
    buf_add(&b, "a\0b", 3);
    assert_int_equal(b.len, 14);
    assert_memory_equal(b.p + 11, "a\0b", 3);
    assert_int_equal(b.p[14], '\0');
    assert_int_equal(buf_err(&b), ERR_OK);
}

/* Growth past the first allocation (and several doublings) keeps every byte. */
static void appends_grow(void **state)
{
    struct buf b;
    buf_init(&b, *state, 1 << 20);

    for (int i = 0; i < 3000; i++)
        buf_addc(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 3000);
    assert_true(b.cap > b.len);
    assert_int_equal(strlen(buf_str(&b)), 3000);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(b.p[i], 'a' + i % 26);
    assert_int_equal(buf_err(&b), ERR_OK);
}

static void addf(void **state)
{
    struct buf b;
    char big[5001];
    buf_init(&b, *state, 1 << 20);

    buf_adds(&b, "x=");
    buf_addf(&b, "%d,%s,%c,%.2f", -42, "str", 'c', 1.5);
    assert_string_equal(buf_str(&b), "x=-42,str,c,1.50");
    buf_addf(&b, "%s", "");
    assert_string_equal(buf_str(&b), "x=-42,str,c,1.50");

    /* A formatted piece larger than the current capacity. */
    memset(big, 'z', 5000);
    big[5000] = '\0';
    buf_addf(&b, "[%s]", big);
    assert_int_equal(b.len, 16 + 5002);
    assert_int_equal(b.p[16], '[');
    assert_int_equal(b.p[16 + 5001], ']');
    assert_int_equal(b.p[b.len], '\0');
    assert_int_equal(buf_err(&b), ERR_OK);
}

static void cap_exact_fit_is_ok(void **state)
{
    struct buf b;
    buf_init(&b, *state, 10);

    buf_adds(&b, "0123456789"); /* exactly max bytes */
    assert_int_equal(buf_err(&b), ERR_OK);
    assert_string_equal(buf_str(&b), "0123456789");
    buf_addc(&b, 'x'); /* one past */
    assert_int_equal(buf_err(&b), ERR_TOOBIG);
    assert_string_equal(buf_str(&b), "0123456789");
}

static void cap_hit_sets_toobig_and_keeps_content(void **state)
{
    struct buf b;
    buf_init(&b, *state, 10);

    buf_adds(&b, "12345678");
    assert_int_equal(buf_err(&b), ERR_OK);
    buf_adds(&b, "abc"); /* would make 11 > 10: refused whole */
    assert_int_equal(buf_err(&b), ERR_TOOBIG);
    assert_string_equal(buf_str(&b), "12345678");
    assert_int_equal(b.len, 8);

    /* Sticky: even what would still fit is refused from now on. */
    buf_addc(&b, '9');
    buf_addf(&b, "%d", 0);
    buf_add(&b, "x", 1);
    assert_string_equal(buf_str(&b), "12345678");
    assert_int_equal(b.len, 8);
    assert_int_equal(buf_err(&b), ERR_TOOBIG);
    assert_true(b.len <= b.max);
}

static void cap_hit_by_addf(void **state)
{
    struct buf b;
    buf_init(&b, *state, 16);

    buf_addf(&b, "%s", "abc");
    buf_addf(&b, "%020d", 1);
    assert_int_equal(buf_err(&b), ERR_TOOBIG);
    assert_string_equal(buf_str(&b), "abc");
}

static void cap_hit_on_first_append(void **state)
{
    struct buf b;
    buf_init(&b, *state, 4);

    buf_adds(&b, "too long");
    assert_int_equal(buf_err(&b), ERR_TOOBIG);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(b.len, 0);
}

static void truncate_shortens(void **state)
{
    struct buf b;
    buf_init(&b, *state, 100);

    buf_truncate(&b, 0); /* on a never-used buffer: harmless */
    assert_string_equal(buf_str(&b), "");
    buf_adds(&b, "hello world");
    buf_truncate(&b, 5);
    assert_string_equal(buf_str(&b), "hello");
    assert_int_equal(b.len, 5);
    buf_truncate(&b, 50); /* longer than the content: no change */
    assert_string_equal(buf_str(&b), "hello");
    assert_int_equal(b.len, 5);
    buf_adds(&b, "!");
    assert_string_equal(buf_str(&b), "hello!");
    buf_truncate(&b, 0);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(b.len, 0);
    buf_adds(&b, "again");
    assert_string_equal(buf_str(&b), "again");
}

static void str_on_empty(void **state)
{
    struct buf b;
    const char *s;
    buf_init(&b, *state, 100);

    s = buf_str(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_err(&b), ERR_OK);
    /* An empty append still yields a C string. */
    buf_add(&b, "", 0);
    assert_string_equal(buf_str(&b), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(appends, setup, teardown),
        cmocka_unit_test_setup_teardown(appends_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(addf, setup, teardown),
        cmocka_unit_test_setup_teardown(cap_exact_fit_is_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(cap_hit_sets_toobig_and_keeps_content, setup, teardown),
        cmocka_unit_test_setup_teardown(cap_hit_by_addf, setup, teardown),
        cmocka_unit_test_setup_teardown(cap_hit_on_first_append, setup, teardown),
        cmocka_unit_test_setup_teardown(truncate_shortens, setup, teardown),
        cmocka_unit_test_setup_teardown(str_on_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
