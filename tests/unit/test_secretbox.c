/*
 * test_secretbox.c — ChaCha20 against RFC 8439, and sealed credentials.
 *
 * The format is checked from outside: a sealed value is taken apart with this
 * file's own base64url decoder, the subkeys are derived as secretbox.h
 * documents, and tag and plaintext are recomputed here.  Boxes the library
 * must refuse are built the same way, each beside a control built alike that
 * opens, so a refusal cannot pass merely because the builder is wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/secretbox.h"
#include "core/sha256.h"
#include "core/common.h"

static const char KEY[] = "an example server key, comfortably over 32 chars";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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

static void unhex(const char *hex, unsigned char *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + (size_t)j];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        out[i] = (unsigned char)v;
    }
}

/* ---- ChaCha20: RFC 8439 ----------------------------------------------------------------- */

static void key_0_to_31(unsigned char key[32])
{
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)i;
}

/* §2.4.2: the sunscreen text, key 00..1f, nonce 00000000 0000004a 00000000, counter 1. */
static void rfc8439_2_4_2(void **state)
{
    static const char plain[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
                                "only one tip for the future, sunscreen would be it.";
    static const char want_hex[] =
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
        "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
        "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
        "5af90bbf74a35be6b40b8eedf2785e42874d";
    unsigned char key[32], nonce[12], want[114], got[114];
    (void)state;

    assert_int_equal(strlen(plain), sizeof(want));
    key_0_to_31(key);
    unhex("000000000000004a00000000", nonce, sizeof(nonce));
    unhex(want_hex, want, sizeof(want));
    chacha20_xor(key, nonce, 1, (const unsigned char *)plain, got, sizeof(got));
    assert_memory_equal(got, want, sizeof(want));

    /* XOR is its own inverse, and in == out is allowed. */
    chacha20_xor(key, nonce, 1, got, got, sizeof(got));
    assert_memory_equal(got, plain, sizeof(got));
}

/* §2.3.2: the block function's serialized output, seen as the XOR of 64 zero bytes. */
static void rfc8439_2_3_2_block(void **state)
{
    static const char want_hex[] =
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e";
    unsigned char key[32], nonce[12], zero[64] = {0}, want[64], got[64];
    (void)state;

    key_0_to_31(key);
    unhex("000000090000004a00000000", nonce, sizeof(nonce));
    unhex(want_hex, want, sizeof(want));
    chacha20_xor(key, nonce, 1, zero, got, sizeof(got));
    assert_memory_equal(got, want, sizeof(want));
}

/* Appendix A.1, vectors #1 and #2: all-zero key and nonce, blocks 0 and 1.  One call over 128
 * bytes from counter 0 must equal the two single blocks, so the counter advances per block. */
static void rfc8439_a1_counter_advances(void **state)
{
    static const char block0_hex[] =
        "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
        "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586";
    static const char block1_hex[] =
        "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
        "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f";
    unsigned char key[32] = {0}, nonce[12] = {0}, zero[128] = {0}, want[128], got[128];
    (void)state;

    unhex(block0_hex, want, 64);
    unhex(block1_hex, want + 64, 64);
    chacha20_xor(key, nonce, 0, zero, got, 64);
    assert_memory_equal(got, want, 64);
    chacha20_xor(key, nonce, 1, zero, got, 64);
    assert_memory_equal(got, want + 64, 64);
    memset(got, 0, sizeof(got));
    chacha20_xor(key, nonce, 0, zero, got, sizeof(got));
    assert_memory_equal(got, want, sizeof(want));
    /* A length that ends inside a block uses a prefix of that block's keystream. */
    memset(got, 0, sizeof(got));
    chacha20_xor(key, nonce, 0, zero, got, 100);
    assert_memory_equal(got, want, 100);
    assert_int_equal(got[100], 0);
}

/* ---- taking a sealed value apart -------------------------------------------------------- */

static int b64_index(char c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

/* Decodes the part after "cb1:"; the caller checked the characters. */
static size_t test_b64_decode(const char *s, unsigned char *out)
{
    size_t n = 0, len = strlen(s);
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < len; i++) {
        int v = b64_index(s[i]);
        assert_true(v >= 0);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    return n;
}

static char *test_b64_encode(struct arena *a, const unsigned char *p, size_t n)
{
    char *out = arena_alloc(a, n / 3 * 4 + 5), *o = out;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            *o++ = B64[(acc >> bits) & 63];
        }
    }
    if (bits)
        *o++ = B64[(acc << (6 - bits)) & 63];
    *o = '\0';
    return out;
}

static void subkeys(const char *key, unsigned char enc[32], unsigned char mac[32])
{
    hmac_sha256(key, strlen(key), "cube-secretbox-enc", 18, enc);
    hmac_sha256(key, strlen(key), "cube-secretbox-mac", 18, mac);
}

/* Builds "cb1:" + base64url(nonce || ChaCha20(plain) || tag) as secretbox.h describes. */
static char *build_box(struct arena *a, const char *key, const unsigned char nonce[12],
                       const void *plain, size_t n)
{
    unsigned char enc[32], mac[32];
    unsigned char *box = arena_alloc(a, 4 + 12 + n + 32);

    subkeys(key, enc, mac);
    memcpy(box, "cb1:", 4);
    memcpy(box + 4, nonce, 12);
    chacha20_xor(enc, nonce, 1, plain, box + 16, n);
    hmac_sha256(mac, 32, box, 16 + n, box + 16 + n);
    return arena_printf(a, "cb1:%s", test_b64_encode(a, box + 4, 12 + n + 32));
}

/* Opens sealed independently of secretbox_open and checks it holds plain. */
static void check_format(const char *key, const char *sealed, const char *plain)
{
    size_t n = strlen(plain), enc_len = strlen(sealed) - 4;
    unsigned char enc[32], mac[32], tag[32];
    unsigned char *box = xmalloc(4 + enc_len), *dec = xmalloc(n + 1);

    assert_memory_equal(sealed, "cb1:", 4);
    /* No padding: 4 characters per 3 bytes, the last group shortened. */
    assert_int_equal(enc_len, ((12 + n + 32) * 4 + 2) / 3);
    for (size_t i = 4; sealed[i]; i++)
        assert_true(b64_index(sealed[i]) >= 0);
    memcpy(box, "cb1:", 4);
    assert_int_equal(test_b64_decode(sealed + 4, box + 4), 12 + n + 32);

    subkeys(key, enc, mac);
    hmac_sha256(mac, 32, box, 4 + 12 + n, tag);
    assert_memory_equal(tag, box + 4 + 12 + n, 32);
    chacha20_xor(enc, box + 4, 1, box + 16, dec, n);
    assert_memory_equal(dec, plain, n);
    /* Encrypted: a plaintext of 16 bytes or more never shows through unchanged. */
    if (n >= 16)
        assert_memory_not_equal(box + 16, plain, n);
    free(box);
    free(dec);
}

static void round_trip(struct arena *a, const char *plain)
{
    const char *sealed = NULL, *back = NULL;

    assert_int_equal(secretbox_seal(a, KEY, plain, &sealed), ERR_OK);
    assert_non_null(sealed);
    check_format(KEY, sealed, plain);
    assert_int_equal(secretbox_open(a, KEY, sealed, &back), ERR_OK);
    assert_non_null(back);
    assert_string_equal(back, plain);
}

/* ---- seal and open ---------------------------------------------------------------------- */

static void round_trips(void **state)
{
    static const size_t lens[] = {0, 1, 2, 3, 31, 32, 63, 64, 65, 127, 128, 1000};
    struct arena *a = *state;
    char buf[1001];

    for (size_t k = 0; k < ARRAY_LEN(lens); k++) {
        for (size_t i = 0; i < lens[k]; i++)
            buf[i] = (char)('!' + (i * 7 + k) % 94);
        buf[lens[k]] = '\0';
        round_trip(a, buf);
    }
    /* UTF-8, including a 4-byte sequence, and bytes beyond 0x7f in general. */
    round_trip(a, "pässwörd — 密码 — \xf0\x9f\x94\x91");
    round_trip(a, "\x01\x7f\x80\xff\n\t \"'\\");
}

static void largest_plaintext(void **state)
{
    struct arena *a = *state;
    char *big = xmalloc(SECRETBOX_PLAIN_MAX + 2);
    const char *sealed = NULL, *back = NULL;

    memset(big, 'p', SECRETBOX_PLAIN_MAX);
    big[SECRETBOX_PLAIN_MAX] = '\0';
    assert_int_equal(secretbox_seal(a, KEY, big, &sealed), ERR_OK);
    assert_int_equal(secretbox_open(a, KEY, sealed, &back), ERR_OK);
    assert_int_equal(strlen(back), SECRETBOX_PLAIN_MAX);
    assert_memory_equal(back, big, SECRETBOX_PLAIN_MAX);

    /* One more byte is refused, and so is a sealed value too long to come from us. */
    big[SECRETBOX_PLAIN_MAX] = 'p';
    big[SECRETBOX_PLAIN_MAX + 1] = '\0';
    sealed = "unchanged";
    assert_int_equal(secretbox_seal(a, KEY, big, &sealed), ERR_TOOBIG);
    assert_null(sealed);
    free(big);

    big = arena_alloc(a, 4 + (SECRETBOX_PLAIN_MAX + 44) / 3 * 4 + 16);
    memcpy(big, "cb1:", 4);
    memset(big + 4, 'A', (SECRETBOX_PLAIN_MAX + 44) / 3 * 4 + 8);
    big[4 + (SECRETBOX_PLAIN_MAX + 44) / 3 * 4 + 8] = '\0';
    assert_int_equal(secretbox_open(a, KEY, big, &back), ERR_UNPROCESSABLE);
}

static void nonce_is_random(void **state)
{
    struct arena *a = *state;
    const char *s1 = NULL, *s2 = NULL, *s3 = NULL;
    unsigned char b1[64], b2[64];

    assert_int_equal(secretbox_seal(a, KEY, "same secret", &s1), ERR_OK);
    assert_int_equal(secretbox_seal(a, KEY, "same secret", &s2), ERR_OK);
    assert_int_equal(secretbox_seal(a, KEY, "", &s3), ERR_OK);
    assert_string_not_equal(s1, s2);
    test_b64_decode(s1 + 4, b1);
    test_b64_decode(s2 + 4, b2);
    assert_memory_not_equal(b1, b2, 12);
    /* Even the empty plaintext gets a fresh nonce and a tag. */
    assert_int_equal(strlen(s3), 4 + (44 * 4 + 2) / 3);
}

/* Every character of a sealed value replaced by every other base64url character (and a few
 * outside the alphabet) must be refused: covers nonce, ciphertext, tag and the final
 * character's unused bits, which a lax decoder would ignore. */
static void tampering_fails(void **state)
{
    static const char extra[] = "=+/ .\x80";
    struct arena *a = *state;
    const char *sealed = NULL, *back = NULL;
    char *t;
    size_t len;

    assert_int_equal(secretbox_seal(a, KEY, "registry password", &sealed), ERR_OK);
    len = strlen(sealed);
    t = arena_strdup(a, sealed);
    for (size_t i = 0; i < len; i++) {
        for (size_t j = 0; j < sizeof(B64) - 1 + sizeof(extra) - 1; j++) {
            char c = j < sizeof(B64) - 1 ? B64[j] : extra[j - (sizeof(B64) - 1)];
            if (c == sealed[i])
                continue;
            t[i] = c;
            back = "unchanged";
            assert_int_equal(secretbox_open(a, KEY, t, &back), ERR_UNPROCESSABLE);
            assert_null(back);
        }
        t[i] = sealed[i];
    }
    /* The untouched copy still opens: the refusals above came from the edits. */
    assert_int_equal(secretbox_open(a, KEY, t, &back), ERR_OK);
    assert_string_equal(back, "registry password");
}

static void truncation_and_extension_fail(void **state)
{
    struct arena *a = *state;
    const char *sealed = NULL, *back = NULL;
    size_t len;

    assert_int_equal(secretbox_seal(a, KEY, "token", &sealed), ERR_OK);
    len = strlen(sealed);
    for (size_t n = 0; n < len; n++) {
        char *t = arena_strndup(a, sealed, n);
        assert_int_equal(secretbox_open(a, KEY, t, &back), ERR_UNPROCESSABLE);
    }
    for (size_t j = 0; j < sizeof(B64) - 1; j++) {
        char *t = arena_printf(a, "%s%c", sealed, B64[j]);
        assert_int_equal(secretbox_open(a, KEY, t, &back), ERR_UNPROCESSABLE);
        t = arena_printf(a, "%s%cA", sealed, B64[j]);
        assert_int_equal(secretbox_open(a, KEY, t, &back), ERR_UNPROCESSABLE);
    }
    assert_int_equal(secretbox_open(a, KEY, arena_printf(a, "%s==", sealed), &back),
                     ERR_UNPROCESSABLE);
    assert_int_equal(secretbox_open(a, KEY, arena_printf(a, " %s", sealed), &back),
                     ERR_UNPROCESSABLE);
    assert_int_equal(secretbox_open(a, KEY, arena_printf(a, "%s\n", sealed), &back),
                     ERR_UNPROCESSABLE);
}

static void other_key_fails(void **state)
{
    struct arena *a = *state;
    const char *sealed = NULL, *back = NULL;
    char *k2 = arena_strdup(a, KEY);

    assert_int_equal(secretbox_seal(a, KEY, "cluster token", &sealed), ERR_OK);
    k2[0] ^= 1;
    assert_int_equal(secretbox_open(a, k2, sealed, &back), ERR_UNPROCESSABLE);
    k2[0] ^= 1;
    k2[strlen(k2) - 1] ^= 1;
    assert_int_equal(secretbox_open(a, k2, sealed, &back), ERR_UNPROCESSABLE);
    /* The whole key counts, not a prefix of it. */
    assert_int_equal(secretbox_open(a, arena_printf(a, "%sx", KEY), sealed, &back),
                     ERR_UNPROCESSABLE);
    assert_int_equal(secretbox_open(a, arena_strndup(a, KEY, 32), sealed, &back),
                     ERR_UNPROCESSABLE);
    assert_null(back);
    assert_int_equal(secretbox_open(a, KEY, sealed, &back), ERR_OK);
    assert_string_equal(back, "cluster token");
}

/* A key under 32 characters is a configuration error, not a client one. */
static void short_key_refused(void **state)
{
    struct arena *a = *state;
    const char *sealed = NULL, *back = NULL;
    char key31[32], key32[33];

    memset(key31, 'k', 31);
    key31[31] = '\0';
    memset(key32, 'k', 32);
    key32[32] = '\0';
    assert_int_equal(secretbox_seal(a, key31, "x", &sealed), ERR_INTERNAL);
    assert_null(sealed);
    assert_int_equal(secretbox_seal(a, NULL, "x", &sealed), ERR_INTERNAL);
    assert_int_equal(secretbox_seal(a, "", "x", &sealed), ERR_INTERNAL);
    assert_int_equal(secretbox_seal(a, key32, "x", &sealed), ERR_OK);
    assert_int_equal(secretbox_open(a, key31, sealed, &back), ERR_INTERNAL);
    assert_int_equal(secretbox_open(a, NULL, sealed, &back), ERR_INTERNAL);
    assert_null(back);
    assert_int_equal(secretbox_open(a, key32, sealed, &back), ERR_OK);
    assert_string_equal(back, "x");
}

static void garbage_fails(void **state)
{
    static const char *const junk[] = {
        "",
        "c",
        "cb1",
        "cb1:",
        "cb1:A",
        "cb1:AA",
        "cb1:AAA",
        "cb1:AAAA",
        "cb1:====",
        "cb1:not base64!",
        "cb1:+/+/+/+/",
        "CB1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "cb0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "cb1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "plaintext password",
        "{\"cb1\":1}",
    };
    struct arena *a = *state;
    unsigned char raw[200];
    const char *back = NULL;

    for (size_t i = 0; i < ARRAY_LEN(junk); i++) {
        back = "unchanged";
        assert_int_equal(secretbox_open(a, KEY, junk[i], &back), ERR_UNPROCESSABLE);
        assert_null(back);
    }
    assert_int_equal(secretbox_open(a, KEY, NULL, &back), ERR_UNPROCESSABLE);

    /* Well-formed base64url of every length from 0 to 200 bytes, none of it authentic. */
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(raw); n++) {
        char *s = arena_printf(a, "cb1:%s", test_b64_encode(a, raw, n));
        assert_int_equal(secretbox_open(a, KEY, s, &back), ERR_UNPROCESSABLE);
    }
}

/* Boxes built here by the documented recipe open; the same recipe with one thing changed
 * (MAC key, MAC input, an embedded NUL) does not. */
static void documented_recipe(void **state)
{
    struct arena *a = *state;
    unsigned char nonce[12], enc[32], mac[32];
    unsigned char *box;
    const char *back = NULL;
    char *s;

    for (int i = 0; i < 12; i++)
        nonce[i] = (unsigned char)(0xa0 + i);
    s = build_box(a, KEY, nonce, "built by hand", 13);
    assert_int_equal(secretbox_open(a, KEY, s, &back), ERR_OK);
    assert_string_equal(back, "built by hand");

    /* Authentic, but the plaintext holds a NUL: no C string was ever sealed like that. */
    s = build_box(a, KEY, nonce, "nul\0inside", 10);
    assert_int_equal(secretbox_open(a, KEY, s, &back), ERR_UNPROCESSABLE);

    /* The tag over the nonce and ciphertext without the "cb1:" prefix is not the tag. */
    subkeys(KEY, enc, mac);
    box = arena_alloc(a, 12 + 5 + 32);
    memcpy(box, nonce, 12);
    chacha20_xor(enc, nonce, 1, (const unsigned char *)"hello", box + 12, 5);
    hmac_sha256(mac, 32, box, 12 + 5, box + 17);
    s = arena_printf(a, "cb1:%s", test_b64_encode(a, box, 12 + 5 + 32));
    assert_int_equal(secretbox_open(a, KEY, s, &back), ERR_UNPROCESSABLE);

    /* A tag made with the server key itself instead of the MAC subkey is not the tag. */
    box = arena_alloc(a, 4 + 12 + 5 + 32);
    memcpy(box, "cb1:", 4);
    memcpy(box + 4, nonce, 12);
    chacha20_xor(enc, nonce, 1, (const unsigned char *)"hello", box + 16, 5);
    hmac_sha256(KEY, strlen(KEY), box, 4 + 12 + 5, box + 21);
    s = arena_printf(a, "cb1:%s", test_b64_encode(a, box + 4, 12 + 5 + 32));
    assert_int_equal(secretbox_open(a, KEY, s, &back), ERR_UNPROCESSABLE);
    /* Control: the same bytes with the right tag open (and were encrypted from counter 1). */
    hmac_sha256(mac, 32, box, 4 + 12 + 5, box + 21);
    s = arena_printf(a, "cb1:%s", test_b64_encode(a, box + 4, 12 + 5 + 32));
    assert_int_equal(secretbox_open(a, KEY, s, &back), ERR_OK);
    assert_string_equal(back, "hello");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc8439_2_4_2),
        cmocka_unit_test(rfc8439_2_3_2_block),
        cmocka_unit_test(rfc8439_a1_counter_advances),
        cmocka_unit_test_setup_teardown(round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(largest_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(nonce_is_random, setup, teardown),
        cmocka_unit_test_setup_teardown(tampering_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_and_extension_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(other_key_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(short_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(documented_recipe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
