/* secretbox.c — ChaCha20 + HMAC-SHA256 (encrypt-then-MAC) for credentials at rest. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "core/secretbox.h"
#include "core/sha256.h"
#include "core/common.h"

#define PREFIX "cb1:"
enum { PREFIX_LEN = 4, NONCE_LEN = 12, TAG_LEN = 32 };

/* ---- ChaCha20 (RFC 8439 §2.1-2.4) ------------------------------------------------------- */

static uint32_t rotl(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t load32_le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#define QROUND(x, a, b, c, d)         \
    do {                              \
        x[a] += x[b];                 \
        x[d] = rotl(x[d] ^ x[a], 16); \
        x[c] += x[d];                 \
        x[b] = rotl(x[b] ^ x[c], 12); \
        x[a] += x[b];                 \
        x[d] = rotl(x[d] ^ x[a], 8);  \
        x[c] += x[d];                 \
        x[b] = rotl(x[b] ^ x[c], 7);  \
    } while (0)

/* One 64-byte keystream block for the state's current counter (§2.3). */
static void chacha20_block(const uint32_t in[16], unsigned char out[64])
{
    uint32_t x[16];

    memcpy(x, in, sizeof(x));
    for (int i = 0; i < 10; i++) {
        /* A column round, then a diagonal round: 20 rounds in all. */
        QROUND(x, 0, 4, 8, 12);
        QROUND(x, 1, 5, 9, 13);
        QROUND(x, 2, 6, 10, 14);
        QROUND(x, 3, 7, 11, 15);
        QROUND(x, 0, 5, 10, 15);
        QROUND(x, 1, 6, 11, 12);
        QROUND(x, 2, 7, 8, 13);
        QROUND(x, 3, 4, 9, 14);
    }
    for (int i = 0; i < 16; i++) {
        uint32_t v = x[i] + in[i];
        out[4 * i] = (unsigned char)v;
        out[4 * i + 1] = (unsigned char)(v >> 8);
        out[4 * i + 2] = (unsigned char)(v >> 16);
        out[4 * i + 3] = (unsigned char)(v >> 24);
    }
    explicit_bzero(x, sizeof(x));
}

void chacha20_xor(const unsigned char key[32], const unsigned char nonce[12], uint32_t counter,
                  const unsigned char *in, unsigned char *out, size_t len)
{
    uint32_t st[16];
    unsigned char ks[64];

    /* "expand 32-byte k", then the key, the block counter and the nonce, all little-endian. */
    st[0] = 0x61707865;
    st[1] = 0x3320646e;
    st[2] = 0x79622d32;
    st[3] = 0x6b206574;
    for (int i = 0; i < 8; i++)
        st[4 + i] = load32_le(key + 4 * i);
    st[12] = counter;
    for (int i = 0; i < 3; i++)
        st[13 + i] = load32_le(nonce + 4 * i);
    while (len) {
        size_t n = len < 64 ? len : 64;
        chacha20_block(st, ks);
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] ^ ks[i];
        in += n;
        out += n;
        len -= n;
        st[12]++;
    }
    explicit_bzero(st, sizeof(st));
    explicit_bzero(ks, sizeof(ks));
}

/* ---- base64url without padding (RFC 4648 §5) -------------------------------------------- */

static const char b64_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(const unsigned char *p, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = b64_tab[(v >> 18) & 63];
        out[o++] = b64_tab[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64_tab[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64_tab[v & 63];
    }
    out[o] = '\0';
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Strict decoding: no padding, no other alphabet, and the unused low bits of a final partial
 * group must be zero.  Without that last rule two spellings would decode to the same bytes,
 * and changing the final character of a sealed value would go unnoticed. */
static bool b64url_decode(const char *s, size_t len, unsigned char *out, size_t *outlen)
{
    size_t o = 0, i = 0;

    if (len % 4 == 1)
        return false;
    for (; i + 4 <= len; i += 4) {
        int a = b64_val(s[i]), b = b64_val(s[i + 1]), c = b64_val(s[i + 2]), d = b64_val(s[i + 3]);
        uint32_t v;
        if (a < 0 || b < 0 || c < 0 || d < 0)
            return false;
        v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    if (len - i == 2) {
        int a = b64_val(s[i]), b = b64_val(s[i + 1]);
        if (a < 0 || b < 0 || (b & 15))
            return false;
        out[o++] = (unsigned char)(a << 2 | b >> 4);
    } else if (len - i == 3) {
        int a = b64_val(s[i]), b = b64_val(s[i + 1]), c = b64_val(s[i + 2]);
        if (a < 0 || b < 0 || c < 0 || (c & 3))
            return false;
        out[o++] = (unsigned char)(a << 2 | b >> 4);
        out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
    }
    *outlen = o;
    return true;
}

/* ---- seal and open ---------------------------------------------------------------------- */

static bool key_ok(const char *key)
{
    return key && strnlen(key, SECRETBOX_KEY_MIN) >= SECRETBOX_KEY_MIN;
}

static void derive(const char *key, unsigned char enc[32], unsigned char mac[32])
{
    static const char enc_label[] = "cube-secretbox-enc", mac_label[] = "cube-secretbox-mac";
    size_t n = strlen(key);

    hmac_sha256(key, n, enc_label, sizeof(enc_label) - 1, enc);
    hmac_sha256(key, n, mac_label, sizeof(mac_label) - 1, mac);
}

static bool random_bytes(unsigned char *p, size_t n)
{
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += got;
        n -= (size_t)got;
    }
    return true;
}

enum err secretbox_seal(struct arena *a, const char *key, const char *plain, const char **out)
{
    unsigned char enc[32], mac[32];
    unsigned char *box = NULL;
    size_t n, boxlen;
    char *text;
    enum err ret = ERR_INTERNAL;

    *out = NULL;
    if (!key_ok(key) || !plain)
        return ERR_INTERNAL;
    n = strlen(plain);
    if (n > SECRETBOX_PLAIN_MAX)
        return ERR_TOOBIG;
    derive(key, enc, mac);

    /* box = "cb1:" || nonce || ciphertext || tag: the MAC input is its prefix, and everything
     * after "cb1:" is what gets encoded. */
    boxlen = PREFIX_LEN + NONCE_LEN + n + TAG_LEN;
    box = arena_alloc(a, boxlen);
    memcpy(box, PREFIX, PREFIX_LEN);
    if (!random_bytes(box + PREFIX_LEN, NONCE_LEN))
        goto out;
    chacha20_xor(enc, box + PREFIX_LEN, 1, (const unsigned char *)plain,
                 box + PREFIX_LEN + NONCE_LEN, n);
    hmac_sha256(mac, sizeof(mac), box, PREFIX_LEN + NONCE_LEN + n,
                box + PREFIX_LEN + NONCE_LEN + n);

    text = arena_alloc(a, PREFIX_LEN + (boxlen - PREFIX_LEN + 2) / 3 * 4 + 1);
    memcpy(text, PREFIX, PREFIX_LEN);
    b64url_encode(box + PREFIX_LEN, boxlen - PREFIX_LEN, text + PREFIX_LEN);
    *out = text;
    ret = ERR_OK;
out:
    explicit_bzero(enc, sizeof(enc));
    explicit_bzero(mac, sizeof(mac));
    return ret;
}

enum err secretbox_open(struct arena *a, const char *key, const char *sealed, const char **plain)
{
    /* The longest encoding a sealed SECRETBOX_PLAIN_MAX could have; anything longer is refused
     * before it is decoded. */
    const size_t enc_max = (NONCE_LEN + SECRETBOX_PLAIN_MAX + TAG_LEN + 2) / 3 * 4;
    unsigned char enc[32], mac[32], tag[32];
    unsigned char *box, *ct;
    unsigned char diff = 0;
    size_t len, boxlen, n;
    char *text;
    enum err ret = ERR_UNPROCESSABLE;

    *plain = NULL;
    if (!key_ok(key))
        return ERR_INTERNAL;
    if (!sealed || strncmp(sealed, PREFIX, PREFIX_LEN))
        return ERR_UNPROCESSABLE;
    len = strnlen(sealed + PREFIX_LEN, enc_max + 1);
    if (len > enc_max)
        return ERR_UNPROCESSABLE;
    box = arena_alloc(a, PREFIX_LEN + len / 4 * 3 + 3);
    memcpy(box, PREFIX, PREFIX_LEN);
    if (!b64url_decode(sealed + PREFIX_LEN, len, box + PREFIX_LEN, &boxlen))
        return ERR_UNPROCESSABLE;
    if (boxlen < NONCE_LEN + TAG_LEN)
        return ERR_UNPROCESSABLE;
    n = boxlen - NONCE_LEN - TAG_LEN;
    ct = box + PREFIX_LEN + NONCE_LEN;

    derive(key, enc, mac);
    hmac_sha256(mac, sizeof(mac), box, PREFIX_LEN + NONCE_LEN + n, tag);
    /* Constant time: every byte is looked at whatever the first difference. */
    for (size_t i = 0; i < TAG_LEN; i++)
        diff |= (unsigned char)(tag[i] ^ ct[n + i]);
    if (diff)
        goto out;

    text = arena_alloc(a, n + 1);
    chacha20_xor(enc, box + PREFIX_LEN, 1, ct, (unsigned char *)text, n);
    text[n] = '\0';
    /* Only C strings are sealed, so an authentic box never holds a NUL; refuse rather than
     * hand back a silently shortened secret. */
    if (memchr(text, '\0', n)) {
        explicit_bzero(text, n);
        goto out;
    }
    *plain = text;
    ret = ERR_OK;
out:
    explicit_bzero(enc, sizeof(enc));
    explicit_bzero(mac, sizeof(mac));
    return ret;
}
