/* secp256k1 signing (RFC 6979), recovery and address derivation.
 * Vectors: private key 1 signing sha256("Satoshi Nakamoto") (the widely used
 * RFC 6979 secp256k1 vector), anvil's dev key 0, both cross-checked with ethers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto/ecdsa.h"
#include "core/crypto/hash.h"
#include "core/encoding/hex.h"

static pc_secp *secp;

static int setup(void **state)
{
    (void)state;
    secp = pc_secp_create();
    return secp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pc_secp_destroy(secp);
    return 0;
}

static void key_from_hex(const char *hex, uint8_t key[32])
{
    assert_int_equal(pc_hex_decode(hex, key, 32), 0);
}

static void test_rfc6979_satoshi_vector(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, digest[32];
    key[31] = 1;
    pc_sha256((const uint8_t *)"Satoshi Nakamoto", 16, digest);
    pc_signature sig;
    char hex[PC_SIGNATURE_HEX_LEN];
    assert_int_equal(pc_ecdsa_sign(secp, key, digest, &sig), 0);
    pc_signature_to_hex(&sig, hex);
    assert_string_equal(hex, "0x934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8"
                             "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5"
                             "1c");
    pc_address addr, recovered;
    char text[PC_ADDRESS_TEXT_LEN];
    assert_int_equal(pc_secret_to_address(secp, key, &addr), 0);
    pc_address_format_checksum(&addr, text);
    assert_string_equal(text, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
    assert_int_equal(pc_ecdsa_recover(secp, digest, &sig, &recovered), 0);
    assert_true(pc_address_equal(&addr, &recovered));
}

static void test_anvil_key_vector(void **state)
{
    (void)state;
    uint8_t key[32], digest[32];
    key_from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", key);
    pc_keccak256((const uint8_t *)"paychan", 7, digest);
    pc_signature sig, parsed;
    char hex[PC_SIGNATURE_HEX_LEN];
    assert_int_equal(pc_ecdsa_sign(secp, key, digest, &sig), 0);
    pc_signature_to_hex(&sig, hex);
    assert_string_equal(hex, "0x4f1ab7d790e10b455dff9700d47784e762ff2b7abe94ee2231d26e7a85f81d32"
                             "5f9f6cdba3805a826d6b81438a85b378173f24fb9fcb987496082cbc9b6e95bd1b");
    pc_address expected, recovered;
    assert_int_equal(pc_address_parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", &expected), 0);
    assert_int_equal(pc_signature_from_hex(hex, &parsed), 0);
    assert_int_equal(pc_ecdsa_recover(secp, digest, &parsed, &recovered), 0);
    assert_true(pc_address_equal(&expected, &recovered));

    /* a different digest recovers to someone else */
    digest[0] ^= 1;
    assert_int_equal(pc_ecdsa_recover(secp, digest, &parsed, &recovered), 0);
    assert_false(pc_address_equal(&expected, &recovered));
}

static void test_signature_parsing(void **state)
{
    (void)state;
    uint8_t raw[65] = {0};
    pc_signature sig;
    raw[64] = 0;
    assert_int_equal(pc_signature_parse(raw, &sig), 0);
    assert_int_equal(sig.recid, 0);
    raw[64] = 28;
    assert_int_equal(pc_signature_parse(raw, &sig), 0);
    assert_int_equal(sig.recid, 1);
    raw[64] = 29;
    assert_int_equal(pc_signature_parse(raw, &sig), -1);
    raw[64] = 2;
    assert_int_equal(pc_signature_parse(raw, &sig), -1);
    assert_int_equal(pc_signature_from_hex("0x1234", &sig), -1);
}

static void test_rejects_high_s_and_zero(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, digest[32] = {1};
    key[31] = 7;
    pc_signature sig;
    pc_address who;
    assert_int_equal(pc_ecdsa_sign(secp, key, digest, &sig), 0);
    /* s' = n - s is the same signature in malleated form: must be rejected */
    static const uint8_t order[32] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
        0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    pc_signature high = sig;
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = order[i] - sig.s[i] - borrow;
        borrow = d < 0;
        high.s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    high.recid ^= 1;
    assert_int_equal(pc_ecdsa_recover(secp, digest, &high, &who), -1);
    pc_signature zero = {{0}, {0}, 0};
    assert_int_equal(pc_ecdsa_recover(secp, digest, &zero, &who), -1);
    uint8_t bad_key[32] = {0};
    assert_false(pc_secret_key_valid(secp, bad_key));
    assert_int_equal(pc_ecdsa_sign(secp, bad_key, digest, &sig), -1);
    assert_int_equal(pc_secret_to_address(secp, bad_key, &who), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6979_satoshi_vector),
        cmocka_unit_test(test_anvil_key_vector),
        cmocka_unit_test(test_signature_parsing),
        cmocka_unit_test(test_rejects_high_s_and_zero),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
