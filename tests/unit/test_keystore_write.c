/* test_keystore_write.c: V3 keystores written by core/keystore_write.h read
 * back by core/keystore.h (what paychand unlocks), with geth's fields, fresh
 * salt/iv/uuid each time, and the refusals (bad scrypt n, invalid key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/crypto/ecdsa.h"
#include "core/crypto/keystore.h"
#include "core/crypto/keystore_write.h"

static const char PW[] = "p\0ss word"; /* a NUL inside: lengths are explicit */

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t key[32], back[32];
    pc_address addr, addr_back;
    pc_error err;
    char *json = NULL;
    assert_int_equal(pc_keystore_new_key(key, &err), 0);
    assert_int_equal(pc_keystore_encrypt_json(key, PW, sizeof PW - 1, PC_KEYSTORE_SCRYPT_N_LIGHT,
                                              &json, &addr, &err), 0);
    assert_int_equal(pc_keystore_decrypt_json(json, PW, sizeof PW - 1, back, &addr_back, &err), 0);
    assert_memory_equal(key, back, 32);
    assert_true(pc_address_equal(&addr, &addr_back));
    /* the password's bytes after the NUL count */
    assert_int_equal(pc_keystore_decrypt_json(json, PW, 1, back, NULL, &err), -1);
    assert_int_equal(err.code, PC_ERR_KEYSTORE);
    free(json);
}

static void test_geth_fields_and_fresh_randomness(void **state)
{
    (void)state;
    uint8_t key[32];
    pc_error err;
    char *a = NULL, *b = NULL;
    memset(key, 0x11, sizeof key);
    assert_int_equal(pc_keystore_encrypt_json(key, "x", 1, 1024, &a, NULL, &err), 0);
    assert_int_equal(pc_keystore_encrypt_json(key, "x", 1, 1024, &b, NULL, &err), 0);
    json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
    json_t *crypto = json_object_get(ja, "crypto"), *kp = json_object_get(crypto, "kdfparams");
    assert_int_equal(json_integer_value(json_object_get(ja, "version")), 3);
    assert_int_equal(strlen(json_string_value(json_object_get(ja, "address"))), 40);
    assert_int_equal(strlen(json_string_value(json_object_get(ja, "id"))), 36);
    assert_int_equal(json_string_value(json_object_get(ja, "id"))[14], '4');
    assert_string_equal(json_string_value(json_object_get(crypto, "cipher")), "aes-128-ctr");
    assert_string_equal(json_string_value(json_object_get(crypto, "kdf")), "scrypt");
    assert_int_equal(json_integer_value(json_object_get(kp, "n")), 1024);
    assert_int_equal(json_integer_value(json_object_get(kp, "r")), 8);
    assert_int_equal(json_integer_value(json_object_get(kp, "dklen")), 32);
    const char *salt_a = json_string_value(json_object_get(kp, "salt"));
    const char *salt_b = json_string_value(
        json_object_get(json_object_get(json_object_get(jb, "crypto"), "kdfparams"), "salt"));
    assert_int_equal(strlen(salt_a), 64);
    assert_string_not_equal(salt_a, salt_b);
    assert_string_not_equal(json_string_value(json_object_get(ja, "id")),
                            json_string_value(json_object_get(jb, "id")));
    json_decref(ja);
    json_decref(jb);
    free(a);
    free(b);
}

static void test_refusals(void **state)
{
    (void)state;
    uint8_t key[32], zero[32] = {0};
    pc_error err;
    char *json = (char *)"untouched";
    memset(key, 0x22, sizeof key);
    assert_int_equal(pc_keystore_encrypt_json(key, "x", 1, 1000, &json, NULL, &err), -1);
    assert_null(json);
    assert_int_equal(err.code, PC_ERR_KEYSTORE);
    assert_int_equal(pc_keystore_encrypt_json(key, "x", 1, 1u << 21, &json, NULL, &err), -1);
    assert_int_equal(pc_keystore_encrypt_json(zero, "x", 1, 1024, &json, NULL, &err), -1);
    assert_int_equal(err.code, PC_ERR_KEYSTORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_geth_fields_and_fresh_randomness),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
