/* The bytes a service signs to authenticate a call (docs/protocol.md §3), checked
 * against digests computed independently with ethers' sha256, and a
 * signature that recovers to the signer; the request MAC extension against
 * values computed with Python's hmac module (and openssl dgst -mac HMAC). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto/request_auth.h"
#include "support/hexcheck.h"

#define SENDER "0x1e9407b242dcda08b804627097fb9afc19abf4b8"

static void test_digests(void **state)
{
    (void)state;
    uint8_t d[32];
    pc_request_auth_digest(SENDER, "/contracts/0x17b1ad86b9ea671c3d1f20b72f37cd5ef9e42318/funds",
                           "1764457272.000042", NULL, d);
    pc_test_assert_hex(d, 32, "0x49178464e20d2870ee1acfe4b1fc949d2f98e4d1d51a2d08b75901548c192e04");
    /* the original scheme: no newline, no timestamp */
    pc_request_auth_digest(SENDER, "/useService?serviceProvider=0x2de3961d1eec25c38db2d08b9f56007ab541e876",
                           NULL, NULL, d);
    pc_test_assert_hex(d, 32, "0x6bc9c674dcd96ecfc39c55ddaa38e14639f52cb66bf5f965644ec57586d3dc61");
}

/* A POST: its method, Content-Type and body digest are signed too. Expected
 * from Python: t = sender + target + "\n" + stamp + "\nPOST\n" + type + "\n"
 * + sha256(body).hexdigest(); sha256(t.encode()). */
static void test_post_digest(void **state)
{
    (void)state;
    const char *json = "{\"serviceProvider\":\"0x2de3961d1eec25c38db2d08b9f56007ab541e876\"}";
    pc_request_body body = {.content_type = "application/json", .data = (const uint8_t *)json,
                            .len = strlen(json)};
    uint8_t d[32], other[32];
    assert_int_equal(pc_request_auth_digest(SENDER, "/useService", "1764457272.000042", &body, d), 0);
    pc_test_assert_hex(d, 32, "0x6dbbc89d3a356fd59b205283775518aa3ef6cc104c070096925f2fa5d1298d47");
    /* another body, another type, or the GET form: other digests */
    body.len--;
    pc_request_auth_digest(SENDER, "/useService", "1764457272.000042", &body, other);
    assert_memory_not_equal(d, other, 32);
    body.len++;
    body.content_type = "application/x-www-form-urlencoded";
    pc_request_auth_digest(SENDER, "/useService", "1764457272.000042", &body, other);
    assert_memory_not_equal(d, other, 32);
    pc_request_auth_digest(SENDER, "/useService", "1764457272.000042", NULL, other);
    assert_memory_not_equal(d, other, 32);
    /* a POST has a timestamp: without one there is no digest */
    assert_int_equal(pc_request_auth_digest(SENDER, "/useService", NULL, &body, d), -1);
}

/* The original client's static digest (protocol §3): the sender's 20 bytes for
 * an even-length text without "0x", "0" and its first 39 digits for an odd
 * one, whatever the target. Expected from Python's hashlib. */
static void test_legacy_digest(void **state)
{
    (void)state;
    uint8_t d[32];
    assert_int_equal(pc_request_auth_legacy_digest(SENDER, "/status?x=12", d), 0);
    pc_test_assert_hex(d, 32, "0xbe6d47b308dc134923c4f21548ec6f96317d3d4b772d1bf0360749ff99cde418");
    assert_int_equal(pc_request_auth_legacy_digest(SENDER, "/abcdef/funds?x=12", d), 0);
    pc_test_assert_hex(d, 32, "0xbe6d47b308dc134923c4f21548ec6f96317d3d4b772d1bf0360749ff99cde418");
    assert_int_equal(pc_request_auth_legacy_digest(SENDER, "/status?x=1", d), 0);
    pc_test_assert_hex(d, 32, "0x4c8bb92cce29ab885d5d8c4a2e39cc2d28e0595a043a47dd3fb8a57fb7fa5144");
    assert_int_equal(pc_request_auth_legacy_digest(SENDER + 2, "/status", d), -1);
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
    assert_int_equal(pc_request_auth_sign(secp, key, sender, "/status?x=1", "5.5", NULL, hex), 0);
    assert_int_equal(pc_signature_from_hex(hex, &sig), 0);
    pc_request_auth_digest(sender, "/status?x=1", "5.5", NULL, digest);
    assert_int_equal(pc_ecdsa_recover(secp, digest, &sig, &who), 0);
    assert_true(pc_address_equal(&me, &who));
    /* another timestamp is another message */
    pc_request_auth_digest(sender, "/status?x=1", "5.6", NULL, digest);
    assert_int_equal(pc_ecdsa_recover(secp, digest, &sig, &who), 0);
    assert_false(pc_address_equal(&me, &who));
    uint8_t bad[32] = {0};
    assert_int_equal(pc_request_auth_sign(secp, bad, sender, "/", "1", NULL, hex), -1);
    pc_secp_destroy(secp);
}

/* key = 31 zero bytes and 7; expected values from Python:
 * hmac.new(key, b"paychan request MAC v1", sha256), then
 * hmac.new(mac_key, (sender + target + "\n" + stamp).encode(), sha256). */
#define MAC_TARGET "/contracts/0x17b1ad86b9ea671c3d1f20b72f37cd5ef9e42318/validateToken?reqCount=5"
#define MAC_STAMP "1764457272.000042"
#define MAC_VALUE "0x11b728db3bcdc344be396f044f97ec1b760f2eff2ae1fded596ddbef9d8722ce"

static void test_mac_vectors(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, mac_key[32];
    char mac[PC_REQUEST_MAC_HEX_LEN];
    key[31] = 7;
    pc_request_mac_key(key, mac_key);
    pc_test_assert_hex(mac_key, 32,
                       "0x04348e0206be6f9b29e7e0c278ed278df1ba9e0019b72ae5ea5829e7daedd24f");
    pc_request_mac(mac_key, SENDER, MAC_TARGET, MAC_STAMP, NULL, mac);
    assert_string_equal(mac, MAC_VALUE);
}

static void test_mac_check(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, mac_key[32];
    key[31] = 7;
    pc_request_mac_key(key, mac_key);
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET, MAC_STAMP, NULL, MAC_VALUE), 1);
    /* without 0x and in upper case: the same bytes */
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET, MAC_STAMP, NULL,
                                          "11B728DB3BCDC344BE396F044F97EC1B760F2EFF2AE1FDED596DDBEF9D8722CE"),
                     1);
    /* any other stamp, target, sender or key: refused */
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET, "1764457272.000043", NULL, MAC_VALUE), 0);
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET "6", MAC_STAMP, NULL, MAC_VALUE), 0);
    assert_int_equal(pc_request_mac_check(mac_key, "0x2de3961d1eec25c38db2d08b9f56007ab541e876",
                                          MAC_TARGET, MAC_STAMP, NULL, MAC_VALUE),
                     0);
    mac_key[0] ^= 1;
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET, MAC_STAMP, NULL, MAC_VALUE), 0);
    mac_key[0] ^= 1;
    /* malformed: short, long, not hex, empty */
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET, MAC_STAMP, NULL, "0x11b7"), 0);
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET, MAC_STAMP, NULL, MAC_VALUE "00"), 0);
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET, MAC_STAMP, NULL,
                                          "0xzz b728db3bcdc344be396f044f97ec1b760f2eff2ae1fded596ddbef9d8722c"),
                     0);
    assert_int_equal(pc_request_mac_check(mac_key, SENDER, MAC_TARGET, MAC_STAMP, NULL, ""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_post_digest),
        cmocka_unit_test(test_legacy_digest),
        cmocka_unit_test(test_sign_recovers_signer),
        cmocka_unit_test(test_mac_vectors),
        cmocka_unit_test(test_mac_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
