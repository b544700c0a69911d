/* test_arena.c — the request arena: alignment, chunking, oversized blocks, defers, reuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/common.h"

static bool aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

static void alloc_is_16_byte_aligned(void **state)
{
    struct arena a = ARENA_INIT;
    static const size_t sizes[] = {0,  1,  2,  3,   7,    8,    15,   16,
                                   17, 31, 33, 100, 1000, 4095, 5000, 20000};
    (void)state;

    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
            unsigned char *p = arena_alloc(&a, sizes[i]);
            assert_non_null(p);
            assert_true(aligned16(p));
            memset(p, 0x5a, sizes[i]); /* ASan: the whole block is ours */
        }
    }
    assert_true(aligned16(arena_strdup(&a, "x")));
    assert_true(aligned16(arena_zalloc(&a, 3)));
    arena_free(&a);
}

/* Thousands of small blocks spill over many chunks; none may overlap another. */
static void many_small_allocs_across_chunks(void **state)
{
    enum { N = 5000, SZ = 24 };
    struct arena a = ARENA_INIT;
    unsigned char **ptrs = xcalloc(N, sizeof(*ptrs));
    (void)state;

    for (size_t i = 0; i < N; i++) {
        ptrs[i] = arena_alloc(&a, SZ);
        assert_true(aligned16(ptrs[i]));
        memset(ptrs[i], (int)(i % 251), SZ);
    }
    /* 5000 x 32 bytes is far more than one chunk: the arena had to chain several. */
    assert_true(a.allocated >= (size_t)N * SZ);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < SZ; j++)
            assert_int_equal(ptrs[i][j], i % 251);
    free(ptrs);
    arena_free(&a);
}

/* A block larger than a quarter chunk gets its own chunk; the current chunk keeps serving. */
static void large_alloc_then_small_ones_stay_valid(void **state)
{
    struct arena a = ARENA_INIT;
    char *small1, *big, *huge, *small[64];
    (void)state;

    small1 = arena_strdup(&a, "before");
    big = arena_alloc(&a, 6000); /* > 4 KiB */
    memset(big, 'B', 6000);
    for (size_t i = 0; i < ARRAY_LEN(small); i++)
        small[i] = arena_printf(&a, "small-%zu", i);
    huge = arena_alloc(&a, 100000); /* larger than a whole chunk */
    memset(huge, 'H', 100000);
    for (size_t i = 0; i < ARRAY_LEN(small); i++)
        assert_string_equal(small[i], arena_printf(&a, "small-%zu", i));
    for (size_t i = 0; i < 6000; i++)
        assert_int_equal(big[i], 'B');
    for (size_t i = 0; i < 100000; i++)
        assert_int_equal(huge[i], 'H');
    assert_string_equal(small1, "before");
    assert_true(aligned16(big));
    assert_true(aligned16(huge));
    assert_true(a.allocated >= 106000);

    /* The first allocation of a fresh arena may itself be oversized. */
    arena_free(&a);
    huge = arena_alloc(&a, 50000);
    memset(huge, 'h', 50000);
    small1 = arena_strdup(&a, "after");
    assert_string_equal(small1, "after");
    assert_int_equal(huge[49999], 'h');
    arena_free(&a);
}

static void printf_and_strings(void **state)
{
    struct arena a = ARENA_INIT;
    char *s, *z;
    (void)state;

    assert_string_equal(arena_printf(&a, "%s-%d-%05.1f", "abc", 42, 3.14159), "abc-42-003.1");
    assert_string_equal(arena_printf(&a, "%s", ""), "");
    s = arena_printf(&a, "%*d", 6000, 7);
    assert_int_equal(strlen(s), 6000);
    assert_int_equal(s[0], ' ');
    assert_int_equal(s[5999], '7');
    assert_string_equal(arena_strndup(&a, "abcdef", 3), "abc");
    assert_string_equal(arena_strdup(&a, "hello"), "hello");
    z = arena_zalloc(&a, 64);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    arena_free(&a);
}

struct trace {
    int order[8];
    int n;
};

struct rec {
    struct trace *t;
    int id;
};

static void record(void *p)
{
    struct rec *r = p;
    assert_true(r->t->n < (int)ARRAY_LEN(r->t->order));
    r->t->order[r->t->n++] = r->id;
}

static void defer_runs_lifo_once(void **state)
{
    struct arena a = ARENA_INIT;
    struct trace t = {{0}, 0};
    struct rec r[4] = {{&t, 1}, {&t, 2}, {&t, 3}, {&t, 4}};
    (void)state;

    arena_defer(&a, record, &r[0]);
    (void)arena_alloc(&a, 10000); /* records and data interleave across chunks */
    arena_defer(&a, record, &r[1]);
    arena_defer(&a, record, &r[2]);
    assert_int_equal(t.n, 0); /* nothing runs before the reset */

    arena_reset(&a);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.order[0], 3);
    assert_int_equal(t.order[1], 2);
    assert_int_equal(t.order[2], 1);

    arena_reset(&a); /* already run: not again */
    assert_int_equal(t.n, 3);

    arena_defer(&a, record, &r[3]); /* registered after a reset: runs at the next one */
    arena_free(&a);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.order[3], 4);
}

static void reset_then_reuse(void **state)
{
    struct arena a = ARENA_INIT;
    unsigned char *p, *q;
    (void)state;

    p = arena_alloc(&a, 256);
    memset(p, 0xab, 256);
    (void)arena_alloc(&a, 30000);
    (void)arena_alloc(&a, 9000);
    arena_reset(&a);
    assert_int_equal(a.allocated, 0);
    assert_null(a.defers);

    /* The surviving chunk is reused from its start: zalloc must really zero it. */
    q = arena_zalloc(&a, 256);
    for (size_t i = 0; i < 256; i++)
        assert_int_equal(q[i], 0);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 1000; i++) {
            char *s = arena_printf(&a, "r%d-i%d", round, i);
            assert_string_equal(s, arena_printf(&a, "r%d-i%d", round, i));
        }
        arena_reset(&a);
    }
    arena_free(&a);
    assert_null(a.chunks);
    /* A freed arena is as good as a new one. */
    assert_string_equal(arena_strdup(&a, "again"), "again");
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_is_16_byte_aligned),
        cmocka_unit_test(many_small_allocs_across_chunks),
        cmocka_unit_test(large_alloc_then_small_ones_stay_valid),
        cmocka_unit_test(printf_and_strings),
        cmocka_unit_test(defer_runs_lifo_once),
        cmocka_unit_test(reset_then_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
