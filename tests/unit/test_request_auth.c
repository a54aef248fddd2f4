/* The bytes a service signs to authenticate a call (spec §3), checked
 * against digests computed independently with ethers' sha256, and a
 * signature that recovers to the signer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/request_auth.h"
#include "support/hexcheck.h"

#define SENDER "0x1e9407b242dcda08b804627097fb9afc19abf4b8"

static void test_digests(void **state)
{
    (void)state;
    uint8_t d[32];
    pc_request_auth_digest(SENDER, "/contracts/0x17b1ad86b9ea671c3d1f20b72f37cd5ef9e42318/funds",
                           "1764457272.000042", d);
    pc_test_assert_hex(d, 32, "0x49178464e20d2870ee1acfe4b1fc949d2f98e4d1d51a2d08b75901548c192e04");
    /* the original scheme: no newline, no timestamp */
    pc_request_auth_digest(SENDER, "/useService?serviceProvider=0x2de3961d1eec25c38db2d08b9f56007ab541e876",
                           NULL, d);
    pc_test_assert_hex(d, 32, "0x6bc9c674dcd96ecfc39c55ddaa38e14639f52cb66bf5f965644ec57586d3dc61");
}

static void test_sign_recovers_signer(void **state)
{
    (void)state;
    pc_secp *secp = pc_secp_create();
    uint8_t key[32] = {0}, digest[32];
    key[31] = 7;
    pc_address me, who;
    char sender[PC_ADDRESS_TEXT_LEN], hex[PC_SIGNATURE_HEX_LEN];
    pc_signature sig;
    assert_int_equal(pc_secret_to_address(secp, key, &me), 0);
    pc_address_format(&me, sender);
    assert_int_equal(pc_request_auth_sign(secp, key, sender, "/status?x=1", "5.5", hex), 0);
    assert_int_equal(pc_signature_from_hex(hex, &sig), 0);
    pc_request_auth_digest(sender, "/status?x=1", "5.5", digest);
    assert_int_equal(pc_ecdsa_recover(secp, digest, &sig, &who), 0);
    assert_true(pc_address_equal(&me, &who));
    /* another timestamp is another message */
    pc_request_auth_digest(sender, "/status?x=1", "5.6", digest);
    assert_int_equal(pc_ecdsa_recover(secp, digest, &sig, &who), 0);
    assert_false(pc_address_equal(&me, &who));
    uint8_t bad[32] = {0};
    assert_int_equal(pc_request_auth_sign(secp, bad, sender, "/", "1", hex), -1);
    pc_secp_destroy(secp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_sign_recovers_signer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
