/*
 * test_auth.c — password hashes, session JWTs and random secrets.
 *
 * Tokens the library must refuse are built by hand (base64url + our own HMAC)
 * or with libjwt; each refusal has a control beside it that is built the same
 * way and accepted, so a refusal cannot pass merely because the builder is wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth.h"
#include "core/buf.h"
#include "core/sha256.h"
#include "core/common.h"

static const char SECRET[] = "0123456789abcdef0123456789abcdef-test-secret";
enum { NOW = 1700000000, TTL = 3600 };

static int setup(void **state)
{
    *state = xcalloc(1, sizeof(struct arena));
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    free(*state);
    return 0;
}

/* ---- token building --------------------------------------------------------------------- */

static char *b64url(struct arena *a, const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    struct buf b;

    buf_init(&b, a, 1 << 16);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        buf_addc(&b, tab[(v >> 18) & 63]);
        buf_addc(&b, tab[(v >> 12) & 63]);
        if (i + 1 < n)
            buf_addc(&b, tab[(v >> 6) & 63]);
        if (i + 2 < n)
            buf_addc(&b, tab[v & 63]);
    }
    return arena_strdup(a, buf_str(&b));
}

static char *b64url_str(struct arena *a, const char *s)
{
    return b64url(a, s, strlen(s));
}

/* header.payload.signature with an HS256 signature made by our own HMAC under key. */
static char *hs256_token(struct arena *a, const char *key, const char *header, const char *payload)
{
    char *signing = arena_printf(a, "%s.%s", b64url_str(a, header), b64url_str(a, payload));
    unsigned char mac[32];
    hmac_sha256(key, strlen(key), signing, strlen(signing), mac);
    return arena_printf(a, "%s.%s", signing, b64url(a, mac, sizeof(mac)));
}

static char *claims(struct arena *a, const char *iss, const char *sub, long uid, long exp)
{
    return arena_printf(a, "{\"iss\":\"%s\",\"sub\":\"%s\",\"uid\":%ld,\"iat\":%d,\"exp\":%ld}",
                        iss, sub, uid, NOW, exp);
}

static const char HS256_HEADER[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* A token signed by libjwt itself with the given algorithm and our claims. */
static char *libjwt_token(struct arena *a, jwt_alg_t alg, const char *key)
{
    jwt_t *jwt = NULL;
    char *s, *ret;

    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grant(jwt, "iss", "cube"), 0);
    assert_int_equal(jwt_add_grant(jwt, "sub", "mallory"), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "uid", 1), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "iat", NOW), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "exp", NOW + TTL), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)strlen(key)), 0);
    s = jwt_encode_str(jwt);
    assert_non_null(s);
    ret = arena_strdup(a, s);
    free(s);
    jwt_free(jwt);
    return ret;
}

static enum err verify(struct arena *a, const char *secret, const char *tok, int64_t now,
                       int64_t *uid, const char **user)
{
    *uid = -1;
    *user = NULL;
    return auth_jwt_verify(a, secret, tok, now, uid, user);
}

/* ---- passwords -------------------------------------------------------------------------- */

static void password_hash_and_check(void **state)
{
    char h1[256], h2[256];
    (void)state;

    assert_int_equal(auth_hash_password("correct horse", h1, sizeof(h1)), ERR_OK);
    assert_memory_equal(h1, "$y$", 3);
    assert_true(strlen(h1) > 20);
    assert_true(auth_check_password("correct horse", h1));
    assert_false(auth_check_password("correct hors", h1));
    assert_false(auth_check_password("correct horse ", h1));
    assert_false(auth_check_password("", h1));

    /* A fresh salt every time: same password, different hash, both verify. */
    assert_int_equal(auth_hash_password("correct horse", h2, sizeof(h2)), ERR_OK);
    assert_string_not_equal(h1, h2);
    assert_true(auth_check_password("correct horse", h2));
}

static void password_malformed_hash(void **state)
{
    char h[256], cut[256];
    (void)state;

    assert_false(auth_check_password("pw", NULL));
    assert_false(auth_check_password("pw", ""));
    assert_false(auth_check_password("pw", "pw")); /* a plaintext "hash" */
    assert_false(auth_check_password("pw", "$y$garbage"));
    assert_false(auth_check_password("pw", "$"));
    assert_false(auth_check_password("pw", "*0"));
    /* A stored hash cut short does not verify its own password. */
    assert_int_equal(auth_hash_password("pw", h, sizeof(h)), ERR_OK);
    memcpy(cut, h, strlen(h) - 4);
    cut[strlen(h) - 4] = '\0';
    assert_false(auth_check_password("pw", cut));
}

static void password_output_too_small(void **state)
{
    char small[16];
    (void)state;
    assert_int_not_equal(auth_hash_password("pw", small, sizeof(small)), ERR_OK);
}

/* ---- JWT -------------------------------------------------------------------------------- */

static void jwt_issue_then_verify(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;
    char *tok = auth_jwt_issue(a, SECRET, 42, "alice", NOW * INT64_C(1000), TTL);

    assert_non_null(tok);
    assert_int_equal(verify(a, SECRET, tok, NOW, &uid, &user), ERR_OK);
    assert_int_equal(uid, 42);
    assert_string_equal(user, "alice");
    /* Three dot-separated parts. */
    assert_non_null(strchr(tok, '.'));
    assert_non_null(strchr(strchr(tok, '.') + 1, '.'));
}

/* The issue time comes back in milliseconds: a password change ends the sessions issued
 * before it, to the millisecond (fcgi/api/auth_api.c). */
static void jwt_issue_time_in_ms(void **state)
{
    struct arena *a = *state;
    int64_t uid, exp, iat;
    const char *user;
    char *tok = auth_jwt_issue(a, SECRET, 42, "alice", NOW * INT64_C(1000) + 123, TTL);

    assert_int_equal(auth_jwt_verify_exp(a, SECRET, tok, NOW, &uid, &user, &exp, &iat), ERR_OK);
    assert_int_equal(iat, NOW * INT64_C(1000) + 123);
    assert_int_equal(exp, NOW + TTL);
}

static void jwt_wrong_secret(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;
    char *tok = auth_jwt_issue(a, SECRET, 42, "alice", NOW * INT64_C(1000), TTL);

    assert_int_equal(verify(a, "another-secret-another-secret-xx", tok, NOW, &uid, &user),
                     ERR_UNAUTH);
    assert_int_equal(uid, -1); /* outputs untouched on failure */
    assert_null(user);
}

static void jwt_expired(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;
    char *tok = auth_jwt_issue(a, SECRET, 42, "alice", NOW * INT64_C(1000), 60);

    assert_int_equal(verify(a, SECRET, tok, NOW + 59, &uid, &user), ERR_OK);
    assert_int_equal(verify(a, SECRET, tok, NOW + 60, &uid, &user), ERR_UNAUTH);
    assert_int_equal(verify(a, SECRET, tok, NOW + 86400, &uid, &user), ERR_UNAUTH);
}

static void jwt_hand_built_control_is_accepted(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;
    char *tok = hs256_token(a, SECRET, HS256_HEADER, claims(a, "cube", "bob", 7, NOW + TTL));

    assert_int_equal(verify(a, SECRET, tok, NOW, &uid, &user), ERR_OK);
    assert_int_equal(uid, 7);
    assert_string_equal(user, "bob");
}

static void jwt_alg_none_rejected(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;
    const char *h = b64url_str(a, "{\"alg\":\"none\",\"typ\":\"JWT\"}");
    const char *p = b64url_str(a, claims(a, "cube", "mallory", 1, NOW + TTL));
    char *signed_ok =
        hs256_token(a, SECRET, HS256_HEADER, claims(a, "cube", "mallory", 1, NOW + TTL));

    assert_int_equal(verify(a, SECRET, arena_printf(a, "%s.%s.", h, p), NOW, &uid, &user),
                     ERR_UNAUTH);
    assert_int_equal(verify(a, SECRET, arena_printf(a, "%s.%s", h, p), NOW, &uid, &user),
                     ERR_UNAUTH);
    /* "none" in the header with a valid HS256 signature attached: still refused. */
    assert_int_equal(verify(a, SECRET,
                            arena_printf(a, "%s.%s.%s", h, p, strrchr(signed_ok, '.') + 1), NOW,
                            &uid, &user),
                     ERR_UNAUTH);
    assert_null(user);
    /* Control: the same claims, HS256-signed, pass. */
    assert_int_equal(verify(a, SECRET, signed_ok, NOW, &uid, &user), ERR_OK);
}

static void jwt_other_hmac_alg_rejected(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;

    assert_int_equal(verify(a, SECRET, libjwt_token(a, JWT_ALG_HS512, SECRET), NOW, &uid, &user),
                     ERR_UNAUTH);
    assert_int_equal(verify(a, SECRET, libjwt_token(a, JWT_ALG_HS384, SECRET), NOW, &uid, &user),
                     ERR_UNAUTH);
    /* Control: libjwt's HS256 token with the same claims is accepted. */
    assert_int_equal(verify(a, SECRET, libjwt_token(a, JWT_ALG_HS256, SECRET), NOW, &uid, &user),
                     ERR_OK);
    assert_int_equal(uid, 1);
    assert_string_equal(user, "mallory");
}

static void jwt_tampered(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;
    char *tok = auth_jwt_issue(a, SECRET, 42, "alice", NOW * INT64_C(1000), TTL);
    char *sig = strrchr(tok, '.') + 1;
    char *forged, *flipped;

    /* Payload swapped for one naming uid 1, signature kept. */
    forged = arena_printf(a, "%s.%s.%s", b64url_str(a, HS256_HEADER),
                          b64url_str(a, claims(a, "cube", "admin", 1, NOW + TTL)), sig);
    assert_int_equal(verify(a, SECRET, forged, NOW, &uid, &user), ERR_UNAUTH);
    assert_null(user);

    /* One signature character changed. */
    flipped = arena_strdup(a, tok);
    flipped[strlen(flipped) - 3] = flipped[strlen(flipped) - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(a, SECRET, flipped, NOW, &uid, &user), ERR_UNAUTH);

    /* Signature dropped. */
    assert_int_equal(
        verify(a, SECRET, arena_strndup(a, tok, (size_t)(sig - tok)), NOW, &uid, &user),
        ERR_UNAUTH);
}

static void jwt_bad_claims(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;
    static const char *const payloads[] = {
        "{\"iss\":\"other\",\"sub\":\"bob\",\"uid\":7,\"exp\":1800000000}",
        "{\"sub\":\"bob\",\"uid\":7,\"exp\":1800000000}",
        "{\"iss\":\"cube\",\"uid\":7,\"exp\":1800000000}",
        "{\"iss\":\"cube\",\"sub\":\"\",\"uid\":7,\"exp\":1800000000}",
        "{\"iss\":\"cube\",\"sub\":\"bob\",\"exp\":1800000000}",
        "{\"iss\":\"cube\",\"sub\":\"bob\",\"uid\":0,\"exp\":1800000000}",
        "{\"iss\":\"cube\",\"sub\":\"bob\",\"uid\":-3,\"exp\":1800000000}",
        "{\"iss\":\"cube\",\"sub\":\"bob\",\"uid\":7}",
    };

    for (size_t i = 0; i < ARRAY_LEN(payloads); i++) {
        char *tok = hs256_token(a, SECRET, HS256_HEADER, payloads[i]);
        if (verify(a, SECRET, tok, NOW, &uid, &user) != ERR_UNAUTH)
            fail_msg("accepted claims %s", payloads[i]);
    }
    /* Control: the complete set passes. */
    assert_int_equal(verify(a, SECRET,
                            hs256_token(a, SECRET, HS256_HEADER,
                                        "{\"iss\":\"cube\",\"sub\":\"bob\",\"uid\":7,"
                                        "\"exp\":1800000000}"),
                            NOW, &uid, &user),
                     ERR_OK);
}

static void jwt_garbage(void **state)
{
    struct arena *a = *state;
    int64_t uid;
    const char *user;
    char *long_tok = arena_alloc(a, 5001);

    memset(long_tok, 'A', 5000);
    long_tok[5000] = '\0';
    assert_int_equal(verify(a, SECRET, NULL, NOW, &uid, &user), ERR_UNAUTH);
    assert_int_equal(verify(a, SECRET, "", NOW, &uid, &user), ERR_UNAUTH);
    assert_int_equal(verify(a, SECRET, "abc", NOW, &uid, &user), ERR_UNAUTH);
    assert_int_equal(verify(a, SECRET, "a.b.c", NOW, &uid, &user), ERR_UNAUTH);
    assert_int_equal(verify(a, SECRET, "..", NOW, &uid, &user), ERR_UNAUTH);
    assert_int_equal(verify(a, SECRET, long_tok, NOW, &uid, &user), ERR_UNAUTH);
}

/* ---- randomness ------------------------------------------------------------------------- */

static void random_hex(void **state)
{
    char a1[129], a2[129], z[4] = "xyz";
    (void)state;

    auth_random_hex(a1, 16);
    assert_int_equal(strlen(a1), 32);
    assert_int_equal(strspn(a1, "0123456789abcdef"), 32);
    auth_random_hex(a2, 16);
    assert_int_equal(strlen(a2), 32);
    assert_string_not_equal(a1, a2);

    auth_random_hex(a1, 64);
    assert_int_equal(strlen(a1), 128);
    assert_int_equal(strspn(a1, "0123456789abcdef"), 128);

    auth_random_hex(z, 0);
    assert_string_equal(z, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(password_hash_and_check),
        cmocka_unit_test(password_malformed_hash),
        cmocka_unit_test(password_output_too_small),
        cmocka_unit_test_setup_teardown(jwt_issue_then_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_wrong_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_issue_time_in_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_hand_built_control_is_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_alg_none_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_other_hmac_alg_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_tampered, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_bad_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(jwt_garbage, setup, teardown),
        cmocka_unit_test(random_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
