/* 256-bit arithmetic and text conversion, including the edges 0 and 2^256-1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/encoding/u256.h"

#define MAX_DEC "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define MAX_HEX "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static pc_u256 dec(const char *text)
{
    pc_u256 v;
    assert_int_equal(pc_u256_parse_dec(text, &v), 0);
    return v;
}

static void assert_dec(const pc_u256 *v, const char *expected)
{
    char text[PC_U256_DEC_LEN];
    pc_u256_to_dec(v, text);
    assert_string_equal(text, expected);
}

static void test_decimal_roundtrip(void **state)
{
    (void)state;
    const char *values[] = {"0", "1", "18446744073709551615", "18446744073709551616",
                            "1000000000000000000", MAX_DEC};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        pc_u256 v = dec(values[i]);
        assert_dec(&v, values[i]);
    }
}

static void test_decimal_rejects(void **state)
{
    (void)state;
    pc_u256 v;
    assert_int_equal(pc_u256_parse_dec("", &v), -1);
    assert_int_equal(pc_u256_parse_dec("-1", &v), -1);
    assert_int_equal(pc_u256_parse_dec("12a", &v), -1);
    assert_int_equal(pc_u256_parse_dec(" 1", &v), -1);
    /* 2^256 overflows */
    assert_int_equal(pc_u256_parse_dec(
        "115792089237316195423570985008687907853269984665640564039457584007913129639936", &v), -1);
    assert_int_equal(pc_u256_parse_dec(NULL, &v), -1);
}

static void test_hex(void **state)
{
    (void)state;
    pc_u256 v;
    char text[PC_U256_HEX_LEN];
    assert_int_equal(pc_u256_parse_hex(MAX_HEX, &v), 0);
    assert_dec(&v, MAX_DEC);
    pc_u256_to_hex(&v, text);
    assert_string_equal(text, MAX_HEX);
    assert_int_equal(pc_u256_parse("0x0", &v), 0);
    pc_u256_to_hex(&v, text);
    assert_string_equal(text, "0x0");
    assert_int_equal(pc_u256_parse("0x1bc16d674ec80000", &v), 0);
    assert_dec(&v, "2000000000000000000");
    pc_u256_to_hex(&v, text);
    assert_string_equal(text, "0x1bc16d674ec80000");
    assert_int_equal(pc_u256_parse_hex("0x", &v), -1);
    assert_int_equal(pc_u256_parse_hex("0xg", &v), -1);
    assert_int_equal(pc_u256_parse_hex(MAX_HEX "0", &v), -1);
}

static void test_arithmetic(void **state)
{
    (void)state;
    pc_u256 max = dec(MAX_DEC), one = pc_u256_from_u64(1), zero = pc_u256_from_u64(0), r;
    assert_int_equal(pc_u256_add(&r, &max, &one), 1);
    assert_true(pc_u256_is_zero(&r));
    assert_int_equal(pc_u256_sub(&r, &zero, &one), 1);
    assert_int_equal(pc_u256_cmp(&r, &max), 0);

    pc_u256 a = dec("18446744073709551615"), b = dec("18446744073709551617");
    assert_int_equal(pc_u256_mul(&r, &a, &b), 0);
    assert_dec(&r, "340282366920938463463374607431768211455"); /* 2^128 - 1 */
    assert_int_equal(pc_u256_add(&r, &r, &one), 0);
    assert_int_equal(pc_u256_mul(&r, &r, &r), 1); /* 2^256 overflows */

    pc_u256 gwei = pc_u256_from_u64(1000000000), count = dec("5000000");
    assert_int_equal(pc_u256_mul(&r, &gwei, &count), 0);
    assert_dec(&r, "5000000000000000");
    assert_int_equal(pc_u256_sub(&r, &r, &gwei), 0);
    assert_dec(&r, "4999999000000000");
    assert_true(pc_u256_cmp(&gwei, &r) < 0);
    assert_true(pc_u256_cmp(&r, &gwei) > 0);
}

static void test_big_endian_and_u64(void **state)
{
    (void)state;
    uint8_t be[32] = {0}, back[32];
    be[0] = 0x80;
    be[31] = 0x01;
    pc_u256 v;
    pc_u256_from_be(&v, be);
    assert_true(v.limb[3] == 0x8000000000000000ull && v.limb[0] == 1);
    pc_u256_to_be(&v, back);
    assert_memory_equal(be, back, 32);
    uint64_t small;
    assert_int_equal(pc_u256_to_u64(&v, &small), -1);
    v = pc_u256_from_u64(42);
    assert_int_equal(pc_u256_to_u64(&v, &small), 0);
    assert_int_equal(small, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_roundtrip),
        cmocka_unit_test(test_decimal_rejects),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_big_endian_and_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
