/* Solidity ABI: selectors and topics against well-known values, calldata
 * against encodings produced by ethers 6 (Interface.encodeFunctionData /
 * encodeErrorResult / encodeEventLog), strict word decoding, and revert and
 * log decoding of real and hostile payloads. Payloads are copied into
 * exact-size heap buffers so that AddressSanitizer catches any read past len. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/hexcheck.h"

#include "core/encoding/abi.h"
#include "core/encoding/hex.h"
#include "core/chain/rpc.h"

static void assert_u256_dec(const pc_u256 *v, const char *expected)
{
    char text[PC_U256_DEC_LEN];
    pc_u256_to_dec(v, text);
    assert_string_equal(text, expected);
}

/* ---- selectors and topics ---- */

static void check_selector(const char *signature, const char *expected)
{
    uint8_t sel[4];
    pc_abi_selector(signature, sel);
    pc_test_assert_hex(sel, 4, expected);
}

static void test_selectors(void **state)
{
    (void)state;
    check_selector("transfer(address,uint256)", "0xa9059cbb");
    check_selector("approve(address,uint256)", "0x095ea7b3");
    check_selector("balanceOf(address)", "0x70a08231");
    check_selector("Error(string)", "0x08c379a0");
    check_selector("Panic(uint256)", "0x4e487b71");
    check_selector("redeemToken(uint256,uint8,bytes32,bytes32)", "0x9710f948");
}

static void test_topics(void **state)
{
    (void)state;
    uint8_t topic[32];
    pc_abi_topic("Transfer(address,address,uint256)", topic);
    pc_test_assert_hex(topic, 32, "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
    pc_abi_topic("Approval(address,address,uint256)", topic);
    pc_test_assert_hex(topic, 32, "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925");
}

/* ---- encoding ---- */

static void test_encode_transfer(void **state)
{
    (void)state;
    pc_bytes b = {0};
    pc_address to;
    pc_u256 amount;
    assert_int_equal(pc_address_parse("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", &to), 0);
    assert_int_equal(pc_u256_parse_dec("1000000000000000000", &amount), 0);
    assert_int_equal(pc_abi_begin_call(&b, "transfer(address,uint256)"), 0);
    assert_int_equal(pc_abi_append_address(&b, &to), 0);
    assert_int_equal(pc_abi_append_u256(&b, &amount), 0);
    pc_test_assert_hex(b.data, b.len,
               "0xa9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8"
               "0000000000000000000000000000000000000000000000000de0b6b3a7640000");
    pc_bytes_free(&b);
}

static void test_encode_redeem_token(void **state)
{
    (void)state;
    pc_bytes b = {0};
    uint8_t r[32], s[32];
    memset(r, 0x11, sizeof r);
    memset(s, 0x7f, sizeof s);
    pc_u256 count = pc_u256_from_u64(1234);
    assert_int_equal(pc_abi_begin_call(&b, "redeemToken(uint256,uint8,bytes32,bytes32)"), 0);
    assert_int_equal(pc_abi_append_u256(&b, &count), 0);
    assert_int_equal(pc_abi_append_u64(&b, 28), 0);
    assert_int_equal(pc_abi_append_bytes32(&b, r), 0);
    assert_int_equal(pc_abi_append_bytes32(&b, s), 0);
    pc_test_assert_hex(b.data, b.len,
               "0x9710f948"
               "00000000000000000000000000000000000000000000000000000000000004d2"
               "000000000000000000000000000000000000000000000000000000000000001c"
               "1111111111111111111111111111111111111111111111111111111111111111"
               "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f");
    pc_bytes_free(&b);
}

/* Constructor arguments: creation code followed by bare words, no selector. */
static void test_encode_constructor_and_bool(void **state)
{
    (void)state;
    static const uint8_t code[] = {0x60, 0x80, 0x60, 0x40, 0x52};
    pc_bytes b = {0};
    pc_address a;
    assert_int_equal(pc_address_parse("0xffffffffffffffffffffffffffffffffffffffff", &a), 0);
    assert_int_equal(pc_bytes_append(&b, code, sizeof code), 0);
    assert_int_equal(pc_abi_append_address(&b, &a), 0);
    assert_int_equal(pc_abi_append_bool(&b, 7), 0);
    assert_int_equal(pc_abi_append_bool(&b, 0), 0);
    assert_int_equal(pc_abi_append_u64(&b, UINT64_MAX), 0);
    pc_test_assert_hex(b.data, b.len,
               "0x6080604052"
               "000000000000000000000000ffffffffffffffffffffffffffffffffffffffff"
               "0000000000000000000000000000000000000000000000000000000000000001"
               "0000000000000000000000000000000000000000000000000000000000000000"
               "000000000000000000000000000000000000000000000000ffffffffffffffff");
    /* The words after the code decode back. */
    pc_address back;
    int flag = -1;
    uint64_t big = 0;
    const uint8_t *args = b.data + sizeof code;
    size_t args_len = b.len - sizeof code;
    assert_int_equal(pc_abi_word_address(args, args_len, 0, &back), 0);
    assert_true(pc_address_equal(&a, &back));
    assert_int_equal(pc_abi_word_bool(args, args_len, 1, &flag), 0);
    assert_int_equal(flag, 1);
    assert_int_equal(pc_abi_word_bool(args, args_len, 2, &flag), 0);
    assert_int_equal(flag, 0);
    assert_int_equal(pc_abi_word_u64(args, args_len, 3, &big), 0);
    assert_true(big == UINT64_MAX);
    pc_bytes_free(&b);
}

/* ---- word decoding ---- */

static void test_word_bounds(void **state)
{
    (void)state;
    size_t len;
    /* two full words and 31 more bytes: the third word is incomplete */
    uint8_t *d = pc_test_unhex("0x"
                          "00000000000000000000000000000000000000000000000000000000000004d2"
                          "0100000000000000000000000000000000000000000000000000000000000000"
                          "00000000000000000000000000000000000000000000000000000000000001",
                          &len);
    assert_int_equal(len, 95);
    pc_u256 v;
    uint64_t u;
    uint8_t raw[32];
    assert_int_equal(pc_abi_word_u256(d, len, 0, &v), 0);
    assert_u256_dec(&v, "1234");
    assert_int_equal(pc_abi_word_u64(d, len, 0, &u), 0);
    assert_true(u == 1234);
    assert_int_equal(pc_abi_word_bytes32(d, len, 1, raw), 0);
    assert_int_equal(raw[0], 1);
    assert_int_equal(pc_abi_word_u256(d, len, 2, &v), -1);
    assert_int_equal(pc_abi_word_bytes32(d, len, 2, raw), -1);
    assert_int_equal(pc_abi_word_u64(d, len, SIZE_MAX, &u), -1);
    assert_int_equal(pc_abi_word_u64(d, len, SIZE_MAX / 32 + 1, &u), -1);
    assert_int_equal(pc_abi_word_u256(NULL, 0, 0, &v), -1);
    assert_int_equal(pc_abi_word_u256(d, 31, 0, &v), -1);
    free(d);
}

static void test_word_value_checks(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = pc_test_unhex("0x"
                          /* 0: address with a non-zero high byte */
                          "000000000000000000000001f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
                          /* 1: bool 2 */
                          "0000000000000000000000000000000000000000000000000000000000000002"
                          /* 2: 2^64, does not fit u64 */
                          "0000000000000000000000000000000000000000000000010000000000000000",
                          &len);
    pc_address a;
    int flag = 5;
    uint64_t u = 5;
    assert_int_equal(pc_abi_word_address(d, len, 0, &a), -1);
    assert_int_equal(pc_abi_word_bool(d, len, 1, &flag), -1);
    assert_int_equal(flag, 5);
    assert_int_equal(pc_abi_word_u64(d, len, 2, &u), -1);
    assert_true(u == 5);
    assert_int_equal(pc_abi_word_bool(d, len, 2, &flag), -1);
    free(d);
}

/* ---- revert decoding ---- */

static const pc_abi_error_def MEDIATOR_ERRORS[] = {
    {"OnlyServiceProvider", "OnlyServiceProvider(uint16)"},
    {"RedemptionTimeoutNotPassed", "RedemptionTimeoutNotPassed(uint16,uint256,uint256)"},
    {"InsufficientConsumerFunds", "InsufficientConsumerFunds(uint16,uint256,uint256)"},
    {"Broken", "Broken(uint16"},        /* malformed: skipped */
    {"Dynamic", "Dynamic(uint16,string)"}, /* dynamic parameter: skipped */
};
#define N_MEDIATOR_ERRORS (sizeof MEDIATOR_ERRORS / sizeof MEDIATOR_ERRORS[0])

static const char RTNP_HEX[] =
    "0xb4cf4990"
    "000000000000000000000000000000000000000000000000000000000000001e"
    "000000000000000000000000000000000000000000000000000000006553f100"
    "000000000000000000000000000000000000000000000000000000006553ed18";

static const char ERROR_STRING_HEX[] =
    "0x08c379a0"
    "0000000000000000000000000000000000000000000000000000000000000020"
    "000000000000000000000000000000000000000000000000000000000000001a"
    "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000";

static void decode_hex(const char *hex, pc_abi_revert *out)
{
    size_t len;
    uint8_t *d = pc_test_unhex(hex, &len);
    pc_abi_decode_revert(d, len, MEDIATOR_ERRORS, N_MEDIATOR_ERRORS, out);
    free(d);
}

static void test_revert_custom_with_metadata(void **state)
{
    (void)state;
    pc_abi_revert r;
    decode_hex(RTNP_HEX, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_CUSTOM);
    assert_string_equal(r.name, "RedemptionTimeoutNotPassed");
    assert_int_equal(r.code, 30);
    assert_int_equal(r.n_meta, 2);
    assert_u256_dec(&r.meta[0], "1700000000");
    assert_u256_dec(&r.meta[1], "1699999000");
    pc_test_assert_hex(r.selector, 4, "0xb4cf4990");

    decode_hex("0x48ab5c5e0000000000000000000000000000000000000000000000000000000000000002", &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_CUSTOM);
    assert_string_equal(r.name, "OnlyServiceProvider");
    assert_int_equal(r.code, 2);
    assert_int_equal(r.n_meta, 0);

    decode_hex("0x2990f3f5"
               "0000000000000000000000000000000000000000000000000000000000000022"
               "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
               "0000000000000000000000000000000000000000000000000000000000000005",
               &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_CUSTOM);
    assert_int_equal(r.code, 34);
    assert_int_equal(r.n_meta, 2);
    assert_u256_dec(&r.meta[0], "115792089237316195423570985008687907853269984665640564039457584007913129639935");
    assert_u256_dec(&r.meta[1], "5");
}

/* Only the first PC_ABI_REVERT_MAX_META metadata words are kept, and a code
 * that does not fit uint16 makes the payload malformed. */
static void test_revert_custom_limits(void **state)
{
    (void)state;
    static const pc_abi_error_def defs[] = {
        {"Many", "Many(uint16,uint256,uint256,uint256,uint256,uint256)"},
        {"NoCode", "NoCode(uint256)"},
    };
    pc_bytes b = {0};
    assert_int_equal(pc_abi_begin_call(&b, defs[0].signature), 0);
    for (uint64_t i = 0; i < 6; i++)
        assert_int_equal(pc_abi_append_u64(&b, 40 + i), 0);
    pc_abi_revert r;
    pc_abi_decode_revert(b.data, b.len, defs, 2, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_CUSTOM);
    assert_int_equal(r.code, 40);
    assert_int_equal(r.n_meta, PC_ABI_REVERT_MAX_META);
    assert_u256_dec(&r.meta[3], "44");

    /* the last (fifth) metadata word missing: not decodable */
    pc_abi_decode_revert(b.data, b.len - 32, defs, 2, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);

    /* code 0x010028, above 65535 */
    b.data[4 + 29] = 1;
    pc_abi_decode_revert(b.data, b.len, defs, 2, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
    assert_null(r.name);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.n_meta, 0);

    /* a def without a uint16 first parameter: everything is metadata */
    pc_bytes_clear(&b);
    assert_int_equal(pc_abi_begin_call(&b, defs[1].signature), 0);
    assert_int_equal(pc_abi_append_u64(&b, 99), 0);
    pc_abi_decode_revert(b.data, b.len, defs, 2, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_CUSTOM);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.n_meta, 1);
    assert_u256_dec(&r.meta[0], "99");
    pc_bytes_free(&b);
}

/* The example revert payload of the Solidity documentation. */
static void test_revert_error_string(void **state)
{
    (void)state;
    pc_abi_revert r;
    decode_hex(ERROR_STRING_HEX, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_ERROR);
    assert_string_equal(r.name, "Error");
    assert_string_equal(r.reason, "Not enough Ether provided.");
    assert_int_equal(r.reason_truncated, 0);
    assert_int_equal(r.code, 0);
}

/* Builds Error(string) with an arbitrary offset word, length word and body. */
static void build_error(pc_bytes *b, uint64_t offset, uint64_t length, const uint8_t *body,
                        size_t body_len)
{
    pc_bytes_clear(b);
    assert_int_equal(pc_abi_begin_call(b, "Error(string)"), 0);
    assert_int_equal(pc_abi_append_u64(b, offset), 0);
    assert_int_equal(pc_abi_append_u64(b, length), 0);
    assert_int_equal(pc_bytes_append(b, body, body_len), 0);
}

static void test_revert_error_string_hostile(void **state)
{
    (void)state;
    uint8_t body[300];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)('a' + i % 26);
    body[1] = 0x00;
    body[2] = 0xc3;
    body[3] = '\n';
    pc_bytes b = {0};
    pc_abi_revert r;

    build_error(&b, 32, sizeof body, body, sizeof body);
    pc_abi_decode_revert(b.data, b.len, NULL, 0, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_ERROR);
    assert_int_equal(r.reason_truncated, 1);
    assert_int_equal(strlen(r.reason), PC_ABI_REASON_MAX - 1);
    assert_memory_equal(r.reason, "a???efg", 7);

    /* length one byte beyond the data */
    build_error(&b, 32, 11, body, 10);
    pc_abi_decode_revert(b.data, b.len, NULL, 0, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
    assert_string_equal(r.reason, "");
    assert_null(r.name);
    /* exactly fitting */
    build_error(&b, 32, 10, body, 10);
    pc_abi_decode_revert(b.data, b.len, NULL, 0, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_ERROR);
    assert_int_equal(strlen(r.reason), 10);
    /* huge length (would wrap a naive offset + length check) */
    build_error(&b, 32, UINT64_MAX - 10, body, 10);
    pc_abi_decode_revert(b.data, b.len, NULL, 0, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
    /* offsets pointing at the end, past it, and huge */
    build_error(&b, 64 + 10, 0, body, 10);
    pc_abi_decode_revert(b.data, b.len, NULL, 0, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
    build_error(&b, UINT64_MAX, 0, body, 10);
    pc_abi_decode_revert(b.data, b.len, NULL, 0, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
    /* an unaligned offset is valid ABI as long as it stays inside */
    static const uint8_t zeros[32] = {0};
    build_error(&b, 33, 0, zeros, sizeof zeros);
    pc_abi_decode_revert(b.data, b.len, NULL, 0, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_ERROR);
    assert_string_equal(r.reason, "");
    pc_bytes_free(&b);
}

static void test_revert_panic(void **state)
{
    (void)state;
    pc_abi_revert r;
    decode_hex("0x4e487b710000000000000000000000000000000000000000000000000000000000000011", &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_PANIC);
    assert_string_equal(r.name, "Panic");
    assert_u256_dec(&r.panic_code, "17");
    assert_string_equal(pc_abi_panic_meaning(&r.panic_code), "arithmetic overflow or underflow");
    pc_u256 odd = pc_u256_from_u64(0x99);
    assert_string_equal(pc_abi_panic_meaning(&odd), "unknown panic code");

    decode_hex("0x4e487b7100000000000000000000000000000000000000000000000000000000000000", &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
}

static void test_revert_empty_unknown_garbage(void **state)
{
    (void)state;
    pc_abi_revert r;
    pc_abi_decode_revert(NULL, 0, MEDIATOR_ERRORS, N_MEDIATOR_ERRORS, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_EMPTY);
    assert_null(r.name);
    decode_hex("0x08c379", &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
    decode_hex("0xdeadbeef0000000000000000000000000000000000000000000000000000000000000001", &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
    pc_test_assert_hex(r.selector, 4, "0xdeadbeef");
    /* a selector that belongs to a skipped (unparsable) def is unknown too */
    uint8_t sel[4];
    pc_abi_selector("Dynamic(uint16,string)", sel);
    pc_abi_decode_revert(sel, sizeof sel, MEDIATOR_ERRORS, N_MEDIATOR_ERRORS, &r);
    assert_int_equal(r.kind, PC_ABI_REVERT_UNKNOWN);
}

/* Every prefix of every well-formed payload shorter than its full length is
 * truncated and must decode as unknown (or empty), with no read past it. */
static void check_all_prefixes(const char *hex)
{
    size_t len;
    uint8_t *full = pc_test_unhex(hex, &len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        assert_non_null(cut);
        memcpy(cut, full, n);
        pc_abi_revert r;
        pc_abi_decode_revert(n ? cut : NULL, n, MEDIATOR_ERRORS, N_MEDIATOR_ERRORS, &r);
        /* Error(string) has 6 padding bytes after its text: those prefixes are complete. */
        if (r.kind != PC_ABI_REVERT_ERROR)
            assert_int_equal(r.kind, n == 0 ? PC_ABI_REVERT_EMPTY : PC_ABI_REVERT_UNKNOWN);
        else
            assert_true(n >= len - 6);
        free(cut);
    }
    free(full);
}

static void test_revert_truncated(void **state)
{
    (void)state;
    check_all_prefixes(RTNP_HEX);
    check_all_prefixes(ERROR_STRING_HEX);
    check_all_prefixes("0x4e487b710000000000000000000000000000000000000000000000000000000000000001");
}

/* ---- event logs ---- */

static pc_abi_event_def mediator_events[] = {
    {"Deposited", "Deposited(address,uint256,uint256)", {0}},
    {"TokenRedemptionStarted", "TokenRedemptionStarted(uint256,uint256,uint256)", {0}},
    {"Transfer", "Transfer(address,address,uint256)", {0}},
};
#define N_EVENTS (sizeof mediator_events / sizeof mediator_events[0])

/* Fills a pc_log (rpc.h) from hex topics and data, as the RPC layer would. */
static void make_log(pc_log *log, const char *const *topics, size_t n_topics, const char *data)
{
    memset(log, 0, sizeof *log);
    for (size_t i = 0; i < n_topics; i++)
        assert_int_equal(pc_hex_decode(topics[i], log->topics[i], 32), 0);
    log->n_topics = n_topics;
    size_t len;
    uint8_t *d = pc_test_unhex(data, &len);
    assert_int_equal(pc_bytes_append(&log->data, d, len), 0);
    free(d);
}

static void test_event_deposited(void **state)
{
    (void)state;
    pc_abi_event_defs_init(mediator_events, N_EVENTS);
    static const char *const topics[] = {
        "0x73a19dd210f1a7f902193214c0ee91dd35ee5b4d920cba8d519eca65a7b488ca",
        "0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    };
    pc_log log;
    make_log(&log, topics, 2,
             "0x0000000000000000000000000000000000000000000000000011c37937e08000"
             "0000000000000000000000000000000000000000000000000018de76816d8000");
    const pc_log *clog = &log;
    assert_int_equal(pc_abi_event_match(clog->topics, clog->n_topics, mediator_events, N_EVENTS), 0);
    pc_address consumer;
    char text[PC_ADDRESS_TEXT_LEN];
    assert_int_equal(pc_abi_topic_address(log.topics, log.n_topics, 1, &consumer), 0);
    pc_address_format(&consumer, text);
    assert_string_equal(text, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    assert_int_equal(pc_abi_topic_address(log.topics, log.n_topics, 2, &consumer), -1);
    pc_u256 amount, funds;
    assert_int_equal(pc_abi_word_u256(log.data.data, log.data.len, 0, &amount), 0);
    assert_int_equal(pc_abi_word_u256(log.data.data, log.data.len, 1, &funds), 0);
    assert_u256_dec(&amount, "5000000000000000");
    assert_u256_dec(&funds, "7000000000000000");
    assert_int_equal(pc_abi_word_u256(log.data.data, log.data.len, 2, &funds), -1);
    pc_bytes_free(&log.data);
}

static void test_event_redemption_started(void **state)
{
    (void)state;
    pc_abi_event_defs_init(mediator_events, N_EVENTS);
    static const char *const topics[] = {
        "0x751e487a77dc8a8cc7e0eb161857f05ce9cf470ba317536e4ea4cd55b3b3e250",
        "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0x0000000000000000000000000000000000000000000000000000000000000007",
    };
    pc_log log;
    make_log(&log, topics, 3, "0x000000000000000000000000000000000000000000000000000000006553f100");
    assert_int_equal(pc_abi_event_match(log.topics, log.n_topics, mediator_events, N_EVENTS), 1);
    pc_u256 old_id;
    uint64_t new_id = 0, timeout = 0;
    uint8_t raw[32];
    int flag;
    assert_int_equal(pc_abi_topic_u256(log.topics, log.n_topics, 1, &old_id), 0);
    assert_u256_dec(&old_id, "115792089237316195423570985008687907853269984665640564039457584007913129639935");
    assert_int_equal(pc_abi_topic_u64(log.topics, log.n_topics, 1, &new_id), -1);
    assert_int_equal(pc_abi_topic_u64(log.topics, log.n_topics, 2, &new_id), 0);
    assert_true(new_id == 7);
    assert_int_equal(pc_abi_topic_bool(log.topics, log.n_topics, 2, &flag), -1);
    assert_int_equal(pc_abi_topic_bytes32(log.topics, log.n_topics, 0, raw), 0);
    assert_memory_equal(raw, mediator_events[1].topic0, 32);
    assert_int_equal(pc_abi_topic_bytes32(log.topics, log.n_topics, 3, raw), -1);
    assert_int_equal(pc_abi_word_u64(log.data.data, log.data.len, 0, &timeout), 0);
    assert_true(timeout == 1700000000);

    /* no topics (anonymous event) and an unknown topic0 match nothing */
    assert_int_equal(pc_abi_event_match(log.topics, 0, mediator_events, N_EVENTS), -1);
    log.topics[0][5] ^= 1;
    assert_int_equal(pc_abi_event_match(log.topics, log.n_topics, mediator_events, N_EVENTS), -1);
    assert_int_equal(pc_abi_event_match(NULL, 0, mediator_events, N_EVENTS), -1);
    pc_bytes_free(&log.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_encode_transfer),
        cmocka_unit_test(test_encode_redeem_token),
        cmocka_unit_test(test_encode_constructor_and_bool),
        cmocka_unit_test(test_word_bounds),
        cmocka_unit_test(test_word_value_checks),
        cmocka_unit_test(test_revert_custom_with_metadata),
        cmocka_unit_test(test_revert_custom_limits),
        cmocka_unit_test(test_revert_error_string),
        cmocka_unit_test(test_revert_error_string_hostile),
        cmocka_unit_test(test_revert_panic),
        cmocka_unit_test(test_revert_empty_unknown_garbage),
        cmocka_unit_test(test_revert_truncated),
        cmocka_unit_test(test_event_deposited),
        cmocka_unit_test(test_event_redemption_started),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
