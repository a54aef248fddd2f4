/* Keccak-256 and SHA-256 known answers. Keccak vectors: the empty string and
 * "abc" (Keccak team / Ethereum yellow paper), the pangram (widely published),
 * and block-boundary lengths computed with ethers' independent keccak256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto/hash.h"
#include "core/encoding/hex.h"

static void assert_digest(const uint8_t got[32], const char *expected_hex)
{
    char text[67];
    pc_hex_encode(got, 32, text);
    assert_string_equal(text + 2, expected_hex);
}

static void keccak_of_text(const char *text, const char *expected)
{
    uint8_t out[32];
    pc_keccak256((const uint8_t *)text, strlen(text), out);
    assert_digest(out, expected);
}

static void keccak_of_repeated_a(size_t n, const char *expected)
{
    char buf[256];
    memset(buf, 'a', n);
    buf[n] = '\0';
    keccak_of_text(buf, expected);

    /* the same input fed in uneven pieces gives the same digest */
    pc_keccak256_ctx ctx;
    uint8_t out[32];
    pc_keccak256_init(&ctx);
    for (size_t off = 0, step = 1; off < n; off += step, step = step * 2 + 1)
        pc_keccak256_update(&ctx, (const uint8_t *)buf + off, off + step > n ? n - off : step);
    pc_keccak256_final(&ctx, out);
    assert_digest(out, expected);
}

static void test_keccak_vectors(void **state)
{
    (void)state;
    keccak_of_text("", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    keccak_of_text("abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    keccak_of_text("The quick brown fox jumps over the lazy dog",
                   "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

static void test_keccak_block_boundaries(void **state)
{
    (void)state;
    keccak_of_repeated_a(135, "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
    keccak_of_repeated_a(136, "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
    keccak_of_repeated_a(200, "96ea54061def936c4be90b518992fdc6f12f535068a256229aca54267b4d084d");
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    uint8_t out[32];
    /* FIPS 180-2 examples */
    pc_sha256((const uint8_t *)"abc", 3, out);
    assert_digest(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pc_sha256((const uint8_t *)"", 0, out);
    assert_digest(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keccak_vectors),
        cmocka_unit_test(test_keccak_block_boundaries),
        cmocka_unit_test(test_sha256_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
