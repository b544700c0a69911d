/* test_sha256.c — SHA-256 against FIPS 180-4 examples, HMAC-SHA256 against RFC 4231. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/sha256.h"
#include "core/common.h"

static void to_hex(const unsigned char d[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

/* The digest of data both in one call (sha256_hex) and fed in pieces of every size 1..97. */
static void check_digest(const char *data, size_t n, const char *want)
{
    char hex[65];
    unsigned char d[32];

    sha256_hex(data, n, hex);
    assert_string_equal(hex, want);
    for (size_t step = 1; step <= 97; step += (step < 8 ? 1 : 11)) {
        struct sha256 s;
        sha256_init(&s);
        for (size_t off = 0; off < n; off += step)
            sha256_update(&s, data + off, n - off < step ? n - off : step);
        sha256_final(&s, d);
        to_hex(d, hex);
        assert_string_equal(hex, want);
    }
}

static void fips_empty(void **state)
{
    (void)state;
    check_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void fips_abc(void **state)
{
    (void)state;
    check_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void fips_448_bits(void **state)
{
    static const char m[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    (void)state;
    assert_int_equal(strlen(m) * 8, 448);
    check_digest(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void fips_896_bits(void **state)
{
    static const char m[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                            "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    (void)state;
    assert_int_equal(strlen(m) * 8, 896);
    check_digest(m, strlen(m), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* Message lengths around the padding boundary (55 fits the length in one block, 56 does not). */
static void padding_boundaries(void **state)
{
    char x[64];
    (void)state;
    memset(x, 'x', sizeof(x));
    check_digest(x, 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
    check_digest(x, 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
    check_digest(x, 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

static void fips_million_a(void **state)
{
    static const char want[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    char chunk[1000], hex[65];
    unsigned char d[32];
    struct sha256 s;
    (void)state;

    memset(chunk, 'a', sizeof(chunk));
    sha256_init(&s);
    for (int i = 0; i < 1000; i++)
        sha256_update(&s, chunk, sizeof(chunk));
    sha256_final(&s, d);
    to_hex(d, hex);
    assert_string_equal(hex, want);

    /* Uneven chunks that never line up with the 64-byte block. */
    sha256_init(&s);
    for (size_t done = 0, step = 1; done < 1000000; done += step, step = step % 997 + 1) {
        if (step > 1000000 - done)
            step = 1000000 - done;
        sha256_update(&s, chunk, step);
    }
    sha256_final(&s, d);
    to_hex(d, hex);
    assert_string_equal(hex, want);
}

static void check_hmac(const void *key, size_t keylen, const void *data, size_t n, const char *want)
{
    unsigned char mac[32];
    char hex[65];
    hmac_sha256(key, keylen, data, n, mac);
    to_hex(mac, hex);
    assert_string_equal(hex, want);
}

static void hmac_rfc4231_case1(void **state)
{
    unsigned char key[20];
    (void)state;
    memset(key, 0x0b, sizeof(key));
    check_hmac(key, sizeof(key), "Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void hmac_rfc4231_case2(void **state)
{
    static const char data[] = "what do ya want for nothing?";
    (void)state;
    check_hmac("Jefe", 4, data, strlen(data),
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void hmac_rfc4231_case3(void **state)
{
    unsigned char key[20], data[50];
    (void)state;
    memset(key, 0xaa, sizeof(key));
    memset(data, 0xdd, sizeof(data));
    check_hmac(key, sizeof(key), data, sizeof(data),
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

/* Key longer than the block size: it is hashed first. */
static void hmac_rfc4231_case6(void **state)
{
    static const char data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    unsigned char key[131];
    (void)state;
    memset(key, 0xaa, sizeof(key));
    check_hmac(key, sizeof(key), data, strlen(data),
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void hmac_rfc4231_case7(void **state)
{
    static const char data[] =
        "This is a test using a larger than block-size key and a larger than block-size data. "
        "The key needs to be hashed before being used by the HMAC algorithm.";
    unsigned char key[131];
    (void)state;
    memset(key, 0xaa, sizeof(key));
    check_hmac(key, sizeof(key), data, strlen(data),
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* 64 bytes is used as is, 65 is hashed: the boundary of the key rule. */
static void hmac_key_block_boundary(void **state)
{
    char key[65];
    (void)state;
    memset(key, 'k', sizeof(key));
    check_hmac(key, 64, "exactly one block key", 21,
               "e73e6474ed2f863bbf5500617c3b577e141d3c1543e1563f3630b762d038f14c");
    check_hmac(key, 65, "one past a block", 16,
               "33775a433278451af2fea5076ec94214e4f1a22c5035e84f1391a79b8924d291");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fips_empty),         cmocka_unit_test(fips_abc),
        cmocka_unit_test(fips_448_bits),      cmocka_unit_test(fips_896_bits),
        cmocka_unit_test(padding_boundaries), cmocka_unit_test(fips_million_a),
        cmocka_unit_test(hmac_rfc4231_case1), cmocka_unit_test(hmac_rfc4231_case2),
        cmocka_unit_test(hmac_rfc4231_case3), cmocka_unit_test(hmac_rfc4231_case6),
        cmocka_unit_test(hmac_rfc4231_case7), cmocka_unit_test(hmac_key_block_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
