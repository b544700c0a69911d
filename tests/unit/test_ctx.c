/* test_ctx.c — request accessors (query, cookies, form, content type) and response builders. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "api/ctx.h"
#include "core/common.h"

struct fx {
    struct arena a;
    struct ctx cx;
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    ctx_init(&f->cx, &f->a, NULL, NULL); /* no database, no Redis: nothing here may touch them */
    f->cx.req.method = "GET";
    f->cx.req.path = "/";
    f->cx.req.query = "";
    f->cx.req.content_type = "";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    arena_free(&f->a);
    free(f);
    return 0;
}

static const char *dec(struct arena *a, const char *s, bool plus)
{
    return url_decode(a, s, strlen(s), plus);
}

static void url_decode_cases(void **state)
{
    struct fx *f = *state;
    struct arena *a = &f->a;

    assert_string_equal(dec(a, "%41%42c", true), "ABc");
    assert_string_equal(dec(a, "%6a%6A", true), "jj"); /* either hex case */
    assert_string_equal(dec(a, "a+b", true), "a b");
    assert_string_equal(dec(a, "a+b", false), "a+b");
    assert_string_equal(dec(a, "%2B", true), "+"); /* an encoded plus stays a plus */
    assert_string_equal(dec(a, "100%zz", true), "100%zz");
    assert_string_equal(dec(a, "%g1", true), "%g1");
    assert_string_equal(dec(a, "%1", true), "%1");
    assert_string_equal(dec(a, "x%", true), "x%");
    assert_string_equal(dec(a, "%", true), "%");
    assert_string_equal(dec(a, "%%41", true), "%A");
    assert_string_equal(dec(a, "", true), "");
    assert_string_equal(dec(a, "%7B%22a%22%3A1%7D", true), "{\"a\":1}");
    /* Only n bytes are read: a %XX cut by the bound is not decoded past it. */
    assert_string_equal(url_decode(a, "ab%41", 4, true), "ab%4");
    assert_string_equal(url_decode(a, "ab%41", 5, true), "abA");
}

static void query_lookup(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;

    cx->req.query = "page_size=5&page=2&q=a+b%26c&empty=&flag&x=1";
    assert_string_equal(req_query(cx, "page"), "2"); /* not the prefix of page_size */
    assert_string_equal(req_query(cx, "page_size"), "5");
    assert_string_equal(req_query(cx, "q"), "a b&c");
    assert_string_equal(req_query(cx, "empty"), "");
    assert_string_equal(req_query(cx, "flag"), "");
    assert_string_equal(req_query(cx, "x"), "1");
    assert_null(req_query(cx, "missing"));
    assert_null(req_query(cx, "pag"));
    assert_null(req_query(cx, "page_"));

    cx->req.query = "";
    assert_null(req_query(cx, "page"));
    cx->req.query = NULL;
    assert_null(req_query(cx, "page"));

    /* First occurrence wins. */
    cx->req.query = "a=1&a=2";
    assert_string_equal(req_query(cx, "a"), "1");
}

static void cookie_lookup(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;

    cx->req.cookie = "theme=dark; cube_session=abc.def.ghi;  lang=en;x_cube_session=no";
    assert_string_equal(req_cookie(cx, "cube_session"), "abc.def.ghi");
    assert_string_equal(req_cookie(cx, "theme"), "dark");
    assert_string_equal(req_cookie(cx, "lang"), "en");
    assert_string_equal(req_cookie(cx, "x_cube_session"), "no");
    assert_null(req_cookie(cx, "session"));
    assert_null(req_cookie(cx, "cube"));
    assert_null(req_cookie(cx, "missing"));

    cx->req.cookie = "a=1;b=2";
    assert_string_equal(req_cookie(cx, "b"), "2");
    cx->req.cookie = "cube_session=";
    assert_string_equal(req_cookie(cx, "cube_session"), "");
    cx->req.cookie = "";
    assert_null(req_cookie(cx, "a"));
    cx->req.cookie = NULL;
    assert_null(req_cookie(cx, "a"));
}

static void form_lookup(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;

    cx->req.body = "username=al%40ice&password=p+w%21";
    cx->req.body_len = strlen(cx->req.body);
    cx->req.content_type = "application/x-www-form-urlencoded; charset=UTF-8";
    assert_string_equal(req_form(cx, "username"), "al@ice");
    assert_string_equal(req_form(cx, "password"), "p w!");
    assert_null(req_form(cx, "user"));

    cx->req.content_type = "application/json";
    assert_null(req_form(cx, "username"));
    cx->req.content_type = "application/x-www-form-urlencoded";
    cx->req.body = NULL;
    assert_null(req_form(cx, "username"));
}

static void is_json(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;
    static const struct {
        const char *ct;
        bool json;
    } cases[] = {
        {"application/json", true},
        {"application/json; charset=utf-8", true},
        {"Application/JSON;charset=UTF-8", true},
        {"application/json ; charset=utf-8", true},
        {"application/problem+json", true},
        {"application/vnd.api+json; charset=utf-8", true},
        {"text/plain", false},
        {"application/jsonx", false},
        {"application/json-patch", false},
        {"text/json5", false},
        {"+json", false},
        {"", false},
        {"multipart/form-data; boundary=json", false},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        cx->req.content_type = cases[i].ct;
        if (req_is_json(cx) != cases[i].json)
            fail_msg("req_is_json(\"%s\") != %d", cases[i].ct, cases[i].json);
    }
}

static json_object *body_json(struct ctx *cx)
{
    json_object *doc = json_tokener_parse(buf_str(&cx->resp.body));
    assert_non_null(doc);
    return doc;
}

static void error_envelope(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;
    json_object *doc, *v;

    assert_int_equal(resp_error(cx, ERR_NOT_FOUND, "no %s with id %d", "project", 7),
                     ERR_NOT_FOUND);
    assert_int_equal(cx->resp.status, 404);
    assert_string_equal(cx->resp.content_type, "application/json; charset=utf-8");
    assert_string_equal(cx->errmsg, "no project with id 7");
    doc = body_json(cx);
    assert_true(json_object_object_get_ex(doc, "status", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int(v), 1);
    assert_true(json_object_object_get_ex(doc, "message", &v));
    assert_string_equal(json_object_get_string(v), "no project with id 7");
    assert_true(json_object_object_get_ex(doc, "result", &v));
    assert_true(json_object_is_type(v, json_type_object));
    json_object_put(doc);

    /* A second error replaces the first; quotes and control characters stay valid JSON. */
    assert_int_equal(resp_error(cx, ERR_BADREQ, "bad \"%s\"\n\\", "col"), ERR_BADREQ);
    assert_int_equal(cx->resp.status, 400);
    doc = body_json(cx);
    assert_true(json_object_object_get_ex(doc, "message", &v));
    assert_string_equal(json_object_get_string(v), "bad \"col\"\n\\");
    json_object_put(doc);

    assert_int_equal(resp_error(cx, ERR_UNAUTH, "login"), ERR_UNAUTH);
    assert_int_equal(cx->resp.status, 401);
    assert_int_equal(resp_error(cx, ERR_TIMEOUT, "slow"), ERR_TIMEOUT);
    assert_int_equal(cx->resp.status, 504);
}

static void error_long_message_truncated_but_valid(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;
    char big[3000];
    json_object *doc, *v;

    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    (void)resp_error(cx, ERR_BADREQ, "%s", big);
    doc = body_json(cx);
    assert_true(json_object_object_get_ex(doc, "message", &v));
    assert_true(json_object_get_string_len(v) > 0);
    assert_true(json_object_get_string_len(v) < 3000);
    json_object_put(doc);
}

static void ok_raw_splices(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;

    (void)resp_error(cx, ERR_CONFLICT, "first an error");
    assert_int_equal(cx->resp.status, 409);
    resp_ok_raw(cx, "{\"data\":[1,2],\"count\":2}");
    assert_int_equal(cx->resp.status, 200);
    assert_string_equal(
        buf_str(&cx->resp.body),
        "{\"status\":0,\"message\":\"success\",\"result\":{\"data\":[1,2],\"count\":2}}");
    resp_ok_raw(cx, "[]");
    assert_string_equal(buf_str(&cx->resp.body),
                        "{\"status\":0,\"message\":\"success\",\"result\":[]}");
}

static void ok_envelope(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;
    json_object *r = json_object_new_object(), *doc, *v;

    json_object_object_add(r, "id", json_object_new_int(5));
    resp_ok(cx, r);
    assert_int_equal(cx->resp.status, 200);
    assert_string_equal(buf_str(&cx->resp.body),
                        "{\"status\":0,\"message\":\"success\",\"result\":{\"id\":5}}");
    resp_ok(cx, NULL);
    doc = body_json(cx);
    assert_true(json_object_object_get_ex(doc, "result", &v));
    assert_true(json_object_is_type(v, json_type_object));
    assert_int_equal(json_object_object_length(v), 0);
    json_object_put(doc);
}

static void headers_and_text(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;

    resp_header(cx, "X-Request-Id: %s", "r1");
    resp_header(cx, "Set-Cookie: a=%s", "1\r\nX-Evil: yes"); /* injection: dropped */
    resp_header(cx, "Cache-Control: %s", "no-store");
    assert_string_equal(buf_str(&cx->resp.headers),
                        "X-Request-Id: r1\r\nCache-Control: no-store\r\n");

    resp_text(cx, 201, "text/csv; charset=utf-8", "a,b\n1,2\nxx", 8);
    assert_int_equal(cx->resp.status, 201);
    assert_string_equal(cx->resp.content_type, "text/csv; charset=utf-8");
    assert_string_equal(buf_str(&cx->resp.body), "a,b\n1,2\n");
}

static void init_defaults(void **state)
{
    struct fx *f = *state;
    struct ctx *cx = &f->cx;

    assert_int_equal(cx->resp.status, 200);
    assert_ptr_equal(cx->arena, &f->a);
    assert_null(cx->db);
    assert_null(cx->kv);
    assert_int_equal(cx->user.id, 0);
    assert_int_equal(cx->route, -1);
    assert_string_equal(buf_str(&cx->resp.body), "");
    assert_string_equal(buf_str(&cx->resp.headers), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(init_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(url_decode_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(query_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(cookie_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(form_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(is_json, setup, teardown),
        cmocka_unit_test_setup_teardown(error_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(error_long_message_truncated_but_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(ok_raw_splices, setup, teardown),
        cmocka_unit_test_setup_teardown(ok_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(headers_and_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
