/* RLP: the vectors of ethereum/tests RLPTests/rlptest.json (encoding, and
 * decode + re-encode round trips) and RLPTests/invalidRLPTest.json plus
 * further malformed inputs the strict decoder must reject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/hexcheck.h"

#include "core/encoding/hex.h"
#include "core/encoding/rlp.h"
#include "core/encoding/u256.h"

/* Asserts that the encoded bytes are `hex` ("0x" + lowercase digits). */
static void assert_encoded(const pc_bytes *b, const char *hex)
{
    char *text = malloc(2 * b->len + 3);
    assert_non_null(text);
    pc_hex_encode(b->data, b->len, text);
    assert_string_equal(text, hex);
    free(text);
}

static void put_str(pc_bytes *b, const char *s)
{
    assert_int_equal(pc_rlp_put_bytes(b, (const uint8_t *)s, strlen(s)), 0);
}

static void test_strings(void **state)
{
    (void)state;
    static const struct { const char *in; size_t len; const char *out; } v[] = {
        {"", 0, "0x80"},
        {"\x00", 1, "0x00"},
        {"\x01", 1, "0x01"},
        {"\x7f", 1, "0x7f"},
        {"\x80", 1, "0x8180"},
        {"dog", 3, "0x83646f67"},
        {"Lorem ipsum dolor sit amet, consectetur adipisicing eli", 55,
         "0xb74c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572"
         "206164697069736963696e6720656c69"},
        {"Lorem ipsum dolor sit amet, consectetur adipisicing elit", 56,
         "0xb8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e73656374657475"
         "72206164697069736963696e6720656c6974"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        pc_bytes b = {0};
        assert_int_equal(pc_rlp_put_bytes(&b, (const uint8_t *)v[i].in, v[i].len), 0);
        assert_encoded(&b, v[i].out);
        pc_bytes_free(&b);
    }
}

/* longstring2 of rlptest.json is 1024 bytes: prefix b9 04 00. */
static void test_long_string_two_byte_length(void **state)
{
    (void)state;
    uint8_t data[1024];
    pc_bytes b = {0};
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)('a' + i % 26);
    assert_int_equal(pc_rlp_put_bytes(&b, data, sizeof(data)), 0);
    assert_int_equal(b.len, 3 + sizeof(data));
    assert_int_equal(b.data[0], 0xb9);
    assert_int_equal(b.data[1], 0x04);
    assert_int_equal(b.data[2], 0x00);
    assert_memory_equal(b.data + 3, data, sizeof(data));
    pc_bytes_free(&b);
}

static void test_u64(void **state)
{
    (void)state;
    static const struct { uint64_t in; const char *out; } v[] = {
        {0, "0x80"}, {1, "0x01"}, {15, "0x0f"}, {16, "0x10"}, {79, "0x4f"}, {127, "0x7f"},
        {128, "0x8180"}, {1000, "0x8203e8"}, {1024, "0x820400"}, {100000, "0x830186a0"},
        {UINT64_MAX, "0x88ffffffffffffffff"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        pc_bytes b = {0};
        assert_int_equal(pc_rlp_put_u64(&b, v[i].in), 0);
        assert_encoded(&b, v[i].out);
        pc_bytes_free(&b);
    }
}

static void test_u256(void **state)
{
    (void)state;
    static const struct { const char *in; const char *out; } v[] = {
        {"0", "0x80"},
        {"127", "0x7f"},
        {"1024", "0x820400"},
        /* mediumint4, mediumint5 */
        {"83729609699884896815286331701780722", "0x8f102030405060708090a0b0c0d0e0f2"},
        {"105315505618206987246253880190783558935785933862974822347068935681",
         "0x9c0100020003000400050006000700080009000a000b000c000d000e01"},
        {"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
         "0xa0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        pc_u256 x;
        pc_bytes b = {0};
        assert_int_equal(pc_u256_parse(v[i].in, &x), 0);
        assert_int_equal(pc_rlp_put_u256(&b, &x), 0);
        assert_encoded(&b, v[i].out);
        pc_bytes_free(&b);
    }
}

/* "bigint" (2^256) does not fit a pc_u256; as a 33-byte string it gives
 * the vector's bytes. */
static void test_bigint_as_bytes(void **state)
{
    (void)state;
    uint8_t be[33] = {0x01};
    pc_bytes b = {0};
    assert_int_equal(pc_rlp_put_bytes(&b, be, sizeof(be)), 0);
    assert_encoded(&b, "0xa1010000000000000000000000000000000000000000000000000000000000000000");
    pc_bytes_free(&b);
}

static void put_three(pc_bytes *b, const char *x, const char *y, const char *z)
{
    pc_rlp_list l;
    pc_rlp_list_begin(b, &l);
    put_str(b, x);
    put_str(b, y);
    put_str(b, z);
    assert_int_equal(pc_rlp_list_end(b, &l), 0);
}

static void test_flat_lists(void **state)
{
    (void)state;
    pc_bytes b = {0};
    pc_rlp_list l;

    pc_rlp_list_begin(&b, &l);
    assert_int_equal(pc_rlp_list_end(&b, &l), 0);
    assert_encoded(&b, "0xc0");

    pc_bytes_clear(&b);
    pc_rlp_list_begin(&b, &l);
    put_str(&b, "cat");
    put_str(&b, "dog");
    assert_int_equal(pc_rlp_list_end(&b, &l), 0);
    assert_encoded(&b, "0xc88363617483646f67");

    pc_bytes_clear(&b);
    put_three(&b, "dog", "god", "cat");
    assert_encoded(&b, "0xcc83646f6783676f6483636174");

    /* shortListMax1: a 55-byte payload still has the one-byte prefix. */
    static const char *const words[] = {"asdf", "qwer", "zxcv"};
    pc_bytes_clear(&b);
    pc_rlp_list_begin(&b, &l);
    for (int i = 0; i < 11; i++)
        put_str(&b, words[i % 3]);
    assert_int_equal(pc_rlp_list_end(&b, &l), 0);
    assert_encoded(&b, "0xf784617364668471776572847a78637684617364668471776572847a78637684617364668471"
                       "776572847a78637684617364668471776572");
    pc_bytes_free(&b);
}

/* [["asdf","qwer","zxcv"] * n]: longList1 (n = 4) and longList2 (n = 32). */
static void test_long_lists(void **state)
{
    (void)state;
    pc_bytes b = {0};
    pc_rlp_list l;
    pc_rlp_list_begin(&b, &l);
    for (int i = 0; i < 4; i++)
        put_three(&b, "asdf", "qwer", "zxcv");
    assert_int_equal(pc_rlp_list_end(&b, &l), 0);
    assert_encoded(&b, "0xf840cf84617364668471776572847a786376cf84617364668471776572847a786376cf846173"
                       "64668471776572847a786376cf84617364668471776572847a786376");

    static const uint8_t element[16] = {0xcf, 0x84, 'a', 's', 'd', 'f', 0x84, 'q', 'w', 'e', 'r',
                                        0x84, 'z', 'x', 'c', 'v'};
    pc_bytes_clear(&b);
    pc_rlp_list_begin(&b, &l);
    for (int i = 0; i < 32; i++)
        put_three(&b, "asdf", "qwer", "zxcv");
    assert_int_equal(pc_rlp_list_end(&b, &l), 0);
    assert_int_equal(b.len, 3 + 32 * sizeof(element));
    assert_memory_equal(b.data, "\xf9\x02\x00", 3);
    for (int i = 0; i < 32; i++)
        assert_memory_equal(b.data + 3 + i * sizeof(element), element, sizeof(element));
    pc_bytes_free(&b);
}

static void test_nested_lists(void **state)
{
    (void)state;
    pc_bytes b = {0};
    pc_rlp_list outer, l1, l2, l3, l4;

    /* multilist: ["zw", [4], 1] */
    pc_rlp_list_begin(&b, &outer);
    put_str(&b, "zw");
    pc_rlp_list_begin(&b, &l1);
    assert_int_equal(pc_rlp_put_u64(&b, 4), 0);
    assert_int_equal(pc_rlp_list_end(&b, &l1), 0);
    assert_int_equal(pc_rlp_put_u64(&b, 1), 0);
    assert_int_equal(pc_rlp_list_end(&b, &outer), 0);
    assert_encoded(&b, "0xc6827a77c10401");

    /* listsoflists2, the set-theoretic 3: [ [], [[]], [ [], [[]] ] ] */
    pc_bytes_clear(&b);
    pc_rlp_list_begin(&b, &outer);
    pc_rlp_list_begin(&b, &l1);                     /* [] */
    assert_int_equal(pc_rlp_list_end(&b, &l1), 0);
    pc_rlp_list_begin(&b, &l1);                     /* [[]] */
    pc_rlp_list_begin(&b, &l2);
    assert_int_equal(pc_rlp_list_end(&b, &l2), 0);
    assert_int_equal(pc_rlp_list_end(&b, &l1), 0);
    pc_rlp_list_begin(&b, &l1);                     /* [ [], [[]] ] */
    pc_rlp_list_begin(&b, &l2);
    assert_int_equal(pc_rlp_list_end(&b, &l2), 0);
    pc_rlp_list_begin(&b, &l3);
    pc_rlp_list_begin(&b, &l4);
    assert_int_equal(pc_rlp_list_end(&b, &l4), 0);
    assert_int_equal(pc_rlp_list_end(&b, &l3), 0);
    assert_int_equal(pc_rlp_list_end(&b, &l1), 0);
    assert_int_equal(pc_rlp_list_end(&b, &outer), 0);
    assert_encoded(&b, "0xc7c0c1c0c3c0c1c0");

    /* dictTest1: [["key1","val1"], ..., ["key4","val4"]] */
    pc_bytes_clear(&b);
    pc_rlp_list_begin(&b, &outer);
    for (char c = '1'; c <= '4'; c++) {
        char key[5] = {'k', 'e', 'y', c, 0}, val[5] = {'v', 'a', 'l', c, 0};
        pc_rlp_list_begin(&b, &l1);
        put_str(&b, key);
        put_str(&b, val);
        assert_int_equal(pc_rlp_list_end(&b, &l1), 0);
    }
    assert_int_equal(pc_rlp_list_end(&b, &outer), 0);
    assert_encoded(&b, "0xecca846b6579318476616c31ca846b6579328476616c32ca846b6579338476616c33ca846b65"
                       "79348476616c34");
    pc_bytes_free(&b);
}

/* The second way to build a list: wrap items encoded elsewhere. */
static void test_list_from_payload(void **state)
{
    (void)state;
    pc_bytes items = {0}, b = {0};
    put_str(&items, "cat");
    put_str(&items, "dog");
    assert_int_equal(pc_rlp_put_list_payload(&b, items.data, items.len), 0);
    assert_encoded(&b, "0xc88363617483646f67");
    pc_bytes_free(&items);
    pc_bytes_free(&b);
}

/* Re-encodes a decoded item; a canonical encoding must come back unchanged. */
static void reencode(const pc_rlp_item *item, pc_bytes *out)
{
    if (!item->is_list) {
        assert_int_equal(pc_rlp_put_bytes(out, item->payload, item->len), 0);
        return;
    }
    pc_rlp_list l;
    pc_rlp_iter it;
    pc_rlp_item child;
    int rc;
    pc_rlp_list_begin(out, &l);
    pc_rlp_iter_init(&it, item);
    while ((rc = pc_rlp_iter_next(&it, &child)) == 1)
        reencode(&child, out);
    assert_int_equal(rc, 0);
    assert_int_equal(pc_rlp_list_end(out, &l), 0);
}

static const char *const valid_vectors[] = {
    "0x80", "0x00", "0x7f", "0x83646f67", "0x820400", "0xc0", "0xc88363617483646f67",
    "0xc6827a77c10401", "0xc4c2c0c0c0", "0xc7c0c1c0c3c0c1c0",
    "0xb8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164"
    "697069736963696e6720656c6974",
    "0xf840cf84617364668471776572847a786376cf84617364668471776572847a786376cf846173646684717765"
    "72847a786376cf84617364668471776572847a786376",
    "0xecca846b6579318476616c31ca846b6579328476616c32ca846b6579338476616c33ca846b6579348476616c34",
    "0xa1010000000000000000000000000000000000000000000000000000000000000000",
    /* the signed EIP-155 example transaction */
    "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a0"
    "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b"
    "3800ccf555c9f3dc64214b297fb1966a3b6d83",
};

static void test_decode_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid_vectors) / sizeof(valid_vectors[0]); i++) {
        size_t len;
        uint8_t *in = pc_test_unhex(valid_vectors[i], &len);
        pc_rlp_item item;
        pc_bytes out = {0};
        assert_int_equal(pc_rlp_decode(in, len, &item), 0);
        assert_int_equal(item.encoded_len, len);
        reencode(&item, &out);
        assert_encoded(&out, valid_vectors[i]);
        pc_bytes_free(&out);
        free(in);
    }
}

static void test_iterator_and_integers(void **state)
{
    (void)state;
    size_t len;
    /* [ "cat", 1024, 0, "" , [] ] */
    uint8_t *in = pc_test_unhex("0xcb836361748204008080c0", &len);
    pc_rlp_item list, item;
    pc_rlp_iter it;
    uint64_t u;
    pc_u256 w;
    assert_int_equal(pc_rlp_decode(in, len, &list), -1); /* prefix says 11, 10 follow */
    in[0] = 0xca;
    assert_int_equal(pc_rlp_decode(in, len, &list), 0);
    assert_true(list.is_list);
    pc_rlp_iter_init(&it, &list);
    assert_int_equal(pc_rlp_iter_next(&it, &item), 1);
    assert_false(item.is_list);
    assert_int_equal(item.len, 3);
    assert_memory_equal(item.payload, "cat", 3);
    assert_int_equal(pc_rlp_item_u64(&item, &u), 0); /* any short string is a number */
    assert_int_equal(u, 0x636174);
    assert_int_equal(pc_rlp_iter_next(&it, &item), 1);
    assert_int_equal(pc_rlp_item_u64(&item, &u), 0);
    assert_int_equal(u, 1024);
    assert_int_equal(pc_rlp_item_u256(&item, &w), 0);
    assert_int_equal(w.limb[0], 1024);
    assert_int_equal(pc_rlp_iter_next(&it, &item), 1);
    assert_int_equal(pc_rlp_item_u64(&item, &u), 0);
    assert_int_equal(u, 0);
    assert_int_equal(pc_rlp_iter_next(&it, &item), 1);
    assert_int_equal(item.len, 0);
    assert_int_equal(pc_rlp_iter_next(&it, &item), 1);
    assert_true(item.is_list);
    assert_int_equal(pc_rlp_item_u64(&item, &u), -1); /* a list is no number */
    assert_int_equal(pc_rlp_iter_next(&it, &item), 0);
    free(in);
}

static void test_integer_readers_reject(void **state)
{
    (void)state;
    static const struct { const char *hex; int u64_ok; int u256_ok; } v[] = {
        {"0x00", 0, 0},            /* zero must be 0x80 */
        {"0x820004", 0, 0},        /* leading zero byte */
        {"0x88ffffffffffffffff", 1, 1},
        {"0x89010000000000000000", 0, 1},
        {"0xa0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 0, 1},
        {"0xa1010000000000000000000000000000000000000000000000000000000000000000", 0, 0},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t len;
        uint8_t *in = pc_test_unhex(v[i].hex, &len);
        pc_rlp_item item;
        uint64_t u;
        pc_u256 w;
        assert_int_equal(pc_rlp_decode(in, len, &item), 0);
        assert_int_equal(pc_rlp_item_u64(&item, &u), v[i].u64_ok ? 0 : -1);
        assert_int_equal(pc_rlp_item_u256(&item, &w), v[i].u256_ok ? 0 : -1);
        free(in);
    }
}

static const char *const invalid_vectors[] = {
    /* invalidRLPTest.json */
    "0xbf0f000000000000021111", "0xff0f000000000000021111", "0xf80180", "0xf80100",
    "0xb9002100dc2b275d0f74e8a53e6f4ec61b27f24278820be3f82ea2110e582081b0565df0",
    "0xf861f83eb9002100dc2b275d0f74e8a53e6f4ec61b27f24278820be3f82ea2110e582081b0565df027b90015"
    "002d5ef8325ae4d034df55d4b58d0dfba64d61ddd17be00000b9001a00dae30907045a2f66fa36f2bb8aa9029c"
    "bb0b8a7b3b5c435ab331",
    "0x8100", "0x8101", "0x817F",
    "b90040000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a"
    "2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
    "b800",
    "fb00000040000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728"
    "292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
    "f800", "b81000112233445566778899aabbccddeeff", "b801ff", "f810000102030405060708090a0b0c0d0e0f",
    "f803112233",
    /* further cases */
    "0x",               /* nothing */
    "0x83646f",         /* string runs past the end */
    "0x8000",           /* trailing byte after the item */
    "0xc283646f67",     /* nested string runs past its list */
    "0xc28100",         /* non-canonical string inside a list */
    "0xc3c28100",       /* ... two levels down */
    "0xb9",             /* length bytes missing */
    "0xbb7fffffff",     /* length far beyond the input */
    "0xc1",             /* list payload missing */
};

static void test_decode_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(invalid_vectors) / sizeof(invalid_vectors[0]); i++) {
        size_t len;
        uint8_t *in = pc_test_unhex(invalid_vectors[i], &len);
        pc_rlp_item item;
        if (pc_rlp_decode(in, len, &item) != -1)
            fail_msg("accepted invalid RLP %s", invalid_vectors[i]);
        free(in);
    }
}

/* Nesting: 200 levels decode, 300 exceed the decoder's depth limit. */
static void nest(size_t depth, int expect)
{
    pc_bytes b = {0};
    pc_rlp_list *lists = calloc(depth, sizeof(*lists));
    pc_rlp_item item;
    assert_non_null(lists);
    for (size_t i = 0; i < depth; i++)
        pc_rlp_list_begin(&b, &lists[i]);
    for (size_t i = depth; i-- > 0;)
        assert_int_equal(pc_rlp_list_end(&b, &lists[i]), 0);
    assert_int_equal(pc_rlp_decode(b.data, b.len, &item), expect);
    free(lists);
    pc_bytes_free(&b);
}

static void test_depth_limit(void **state)
{
    (void)state;
    nest(200, 0);
    nest(300, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_long_string_two_byte_length),
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_u256),
        cmocka_unit_test(test_bigint_as_bytes),
        cmocka_unit_test(test_flat_lists),
        cmocka_unit_test(test_long_lists),
        cmocka_unit_test(test_nested_lists),
        cmocka_unit_test(test_list_from_payload),
        cmocka_unit_test(test_decode_roundtrip),
        cmocka_unit_test(test_iterator_and_integers),
        cmocka_unit_test(test_integer_readers_reject),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
