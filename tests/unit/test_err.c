/* test_err.c — the error enum's HTTP codes and names, and the SQLSTATE mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "core/common.h"

static void http_code_of_every_value(void **state)
{
    (void)state;
    assert_int_equal(err_http(ERR_OK), 200);
    for (int e = ERR_OK + 1; e < ERR__COUNT; e++) {
        int code = err_http((enum err)e);
        /* Every error is a 4xx or 5xx: a zero left by a missing table row fails here. */
        if (code < 400 || code > 599)
            fail_msg("err_http(%d) = %d", e, code);
    }
}

static void http_code_exact(void **state)
{
    static const struct {
        enum err e;
        int http;
    } want[] = {
        {ERR_OK, 200},        {ERR_NOMEM, 500},         {ERR_BADREQ, 400},    {ERR_UNAUTH, 401},
        {ERR_FORBIDDEN, 403}, {ERR_NOT_FOUND, 404},     {ERR_METHOD, 405},    {ERR_CONFLICT, 409},
        {ERR_TOOBIG, 413},    {ERR_UNPROCESSABLE, 422}, {ERR_THROTTLED, 429}, {ERR_DB, 500},
        {ERR_INTERNAL, 500},  {ERR_UNAVAILABLE, 503},   {ERR_TIMEOUT, 504},
    };
    (void)state;
    assert_int_equal(ARRAY_LEN(want), ERR__COUNT); /* a new value needs a row here too */
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        assert_int_equal(err_http(want[i].e), want[i].http);
}

static void out_of_range_is_500(void **state)
{
    (void)state;
    assert_int_equal(err_http(ERR__COUNT), 500);
    assert_int_equal(err_http((enum err)99), 500);
    assert_int_equal(err_http((enum err) - 1), 500);
    assert_string_equal(err_name((enum err)99), "internal error");
}

static void names_are_distinct_and_set(void **state)
{
    (void)state;
    for (int e = 0; e < ERR__COUNT; e++) {
        const char *n = err_name((enum err)e);
        assert_non_null(n);
        assert_true(strlen(n) > 0);
        for (int f = 0; f < e; f++)
            if (!strcmp(n, err_name((enum err)f)))
                fail_msg("err_name(%d) and err_name(%d) are both '%s'", e, f, n);
    }
    assert_string_equal(err_name(ERR_NOT_FOUND), "not found");
}

static void sqlstate_mapping(void **state)
{
    static const struct {
        const char *code;
        enum err e;
    } want[] = {
        {"23505", ERR_CONFLICT},      /* unique_violation */
        {"23503", ERR_UNPROCESSABLE}, /* foreign_key_violation */
        {"23502", ERR_UNPROCESSABLE}, /* not_null_violation */
        {"23514", ERR_UNPROCESSABLE}, /* check_violation */
        {"22001", ERR_UNPROCESSABLE}, /* exact code beats its class 22 */
        {"22P02", ERR_BADREQ},        /* invalid_text_representation */
        {"22007", ERR_BADREQ},        /* invalid_datetime_format */
        {"22003", ERR_BADREQ},        /* numeric_value_out_of_range */
        {"57014", ERR_TIMEOUT},       /* query_canceled beats its class 57 */
        {"57P01", ERR_UNAVAILABLE},   /* admin_shutdown */
        {"08006", ERR_UNAVAILABLE},   /* connection_failure */
        {"08001", ERR_UNAVAILABLE},
        {"53300", ERR_UNAVAILABLE}, /* too_many_connections */
        {"40001", ERR_UNAVAILABLE}, /* serialization_failure */
        {"40P01", ERR_UNAVAILABLE}, /* deadlock_detected */
        {"XX000", ERR_DB},          /* internal_error */
        {"42P01", ERR_DB},          /* undefined_table: our bug, not the client's */
        {"23000", ERR_DB},          /* class 23 as such is not mapped */
        {"", ERR_DB},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        if (err_from_sqlstate(want[i].code) != want[i].e)
            fail_msg("err_from_sqlstate(\"%s\") = %d, want %d", want[i].code,
                     err_from_sqlstate(want[i].code), want[i].e);
    /* No SQLSTATE at all: the connection is gone. */
    assert_int_equal(err_from_sqlstate(NULL), ERR_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_code_of_every_value), cmocka_unit_test(http_code_exact),
        cmocka_unit_test(out_of_range_is_500),      cmocka_unit_test(names_are_distinct_and_set),
        cmocka_unit_test(sqlstate_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
