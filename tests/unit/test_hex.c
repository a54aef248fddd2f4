/* Hex coding and EIP-55 addresses; checksum vectors from the EIP-55 text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/encoding/hex.h"

static void test_roundtrip(void **state)
{
    (void)state;
    uint8_t in[4] = {0x00, 0xab, 0x10, 0xff}, out[4];
    char text[11];
    pc_hex_encode(in, 4, text);
    assert_string_equal(text, "0x00ab10ff");
    assert_int_equal(pc_hex_decode(text, out, 4), 0);
    assert_memory_equal(in, out, 4);
    assert_int_equal(pc_hex_decode("00AB10FF", out, 4), 0);
    assert_memory_equal(in, out, 4);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(pc_hex_decode("0x00ab10", out, 4), -1);     /* too short */
    assert_int_equal(pc_hex_decode("0x00ab10ff00", out, 4), -1); /* too long */
    assert_int_equal(pc_hex_decode("0x00ag10ff", out, 4), -1);   /* bad digit */
    assert_int_equal(pc_hex_decode_var("0x123", out, 4), -1);    /* odd */
    assert_int_equal(pc_hex_decode_var("0x0102030405", out, 4), -1);
    assert_int_equal(pc_hex_decode_var("0x", out, 4), 0);
    assert_int_equal(pc_hex_decode_var("0x010203", out, 4), 3);
}

static const char *const eip55_vectors[] = {
    /* all caps */
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    /* all lower */
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    /* normal */
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
};

static void test_eip55_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(eip55_vectors) / sizeof(eip55_vectors[0]); i++) {
        pc_address a;
        char text[PC_ADDRESS_TEXT_LEN];
        assert_int_equal(pc_address_parse(eip55_vectors[i], &a), 0);
        pc_address_format_checksum(&a, text);
        assert_string_equal(text, eip55_vectors[i]);
    }
}

static void test_eip55_rejects_bad_checksum(void **state)
{
    (void)state;
    pc_address a;
    /* one letter's case flipped in a valid checksum */
    assert_int_equal(pc_address_parse("0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed", &a), -1);
    assert_int_equal(pc_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", &a), -1);
    assert_int_equal(pc_address_parse("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", &a), -1);
    assert_int_equal(pc_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd", &a), -1);
    assert_int_equal(pc_address_parse("0xzaaeb6053f3e94c9b9a09f33669435e7ef1beaed", &a), -1);
    assert_int_equal(pc_address_parse("", &a), -1);
    assert_int_equal(pc_address_parse(NULL, &a), -1);
}

static void test_address_lowercase_and_zero(void **state)
{
    (void)state;
    pc_address a, b, zero = {{0}};
    char text[PC_ADDRESS_TEXT_LEN];
    assert_int_equal(pc_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", &a), 0);
    pc_address_format(&a, text);
    assert_string_equal(text, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
    assert_int_equal(pc_address_parse(text, &b), 0);
    assert_true(pc_address_equal(&a, &b));
    assert_false(pc_address_is_zero(&a));
    assert_true(pc_address_is_zero(&zero));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_eip55_vectors),
        cmocka_unit_test(test_eip55_rejects_bad_checksum),
        cmocka_unit_test(test_address_lowercase_and_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
