/* Transaction signing: the EIP-155 example of the EIP text, legacy and
 * EIP-1559 transactions compared byte for byte with ethers 6
 * (tests/fixtures/tx/transactions.json, made by make-fixtures.mjs), CREATE
 * addresses, the signed bytes read back with the strict RLP decoder,
 * rejected inputs, and acceptance of signed transactions by a real anvil. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/hexcheck.h"
#include <jansson.h>

#include "core/crypto/ecdsa.h"
#include "core/crypto/hash.h"
#include "core/encoding/hex.h"
#include "core/encoding/rlp.h"
#include "core/chain/rpc.h"
#include "core/chain/tx.h"
#include "core/encoding/u256.h"
#include "support/anvil.h"
#include "support/fixtures.h"

static pc_secp *secp;
static json_t *fixtures;

static int setup(void **state)
{
    (void)state;
    char *text = pc_test_read_fixture("tx/transactions.json", NULL);
    json_error_t jerr;
    secp = pc_secp_create();
    fixtures = text ? json_loads(text, 0, &jerr) : NULL;
    free(text);
    return secp && fixtures ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(fixtures);
    pc_secp_destroy(secp);
    return 0;
}

/* ---- (a) the example of EIP-155 ---------------------------------------------------- */

static void eip155_example(pc_tx *tx, uint8_t key[32])
{
    memset(tx, 0, sizeof(*tx));
    tx->type = PC_TX_LEGACY;
    tx->chain_id = 1;
    tx->nonce = 9;
    tx->gas_price = pc_u256_from_u64(20000000000ull);
    tx->gas_limit = 21000;
    tx->has_to = 1;
    memset(tx->to.bytes, 0x35, sizeof(tx->to.bytes));
    tx->value = pc_u256_from_u64(1000000000000000000ull);
    memset(key, 0x46, 32);
}

static void test_eip155_example(void **state)
{
    (void)state;
    pc_tx tx;
    uint8_t key[32], hash[32], tx_hash[32];
    pc_bytes payload = {0}, raw = {0};
    pc_error err;
    eip155_example(&tx, key);

    assert_int_equal(pc_tx_signing_payload(&tx, &payload, &err), 0);
    pc_test_assert_hex(payload.data, payload.len,
               "0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400"
               "0080018080");
    assert_int_equal(pc_tx_signing_hash(&tx, hash, &err), 0);
    pc_test_assert_hex(hash, 32, "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");

    assert_int_equal(pc_tx_sign(secp, &tx, key, &raw, tx_hash, &err), 0);
    pc_test_assert_hex(raw.data, raw.len,
               "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764"
               "00008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9"
               "d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
    pc_keccak256(raw.data, raw.len, hash);
    assert_memory_equal(tx_hash, hash, 32);
    pc_bytes_free(&payload);
    pc_bytes_free(&raw);
}

/* ---- reading signed bytes back ------------------------------------------------------ */

#define MAX_FIELDS 12

/* Decodes the list of a signed transaction into fields; returns their count. */
static size_t split_fields(const uint8_t *buf, size_t len, pc_rlp_item fields[MAX_FIELDS])
{
    pc_rlp_item list;
    pc_rlp_iter it;
    size_t n = 0;
    int rc;
    assert_int_equal(pc_rlp_decode(buf, len, &list), 0);
    assert_true(list.is_list);
    pc_rlp_iter_init(&it, &list);
    while ((rc = pc_rlp_iter_next(&it, &fields[n])) == 1)
        assert_true(++n < MAX_FIELDS + 1);
    assert_int_equal(rc, 0);
    return n;
}

/* A 32-byte big-endian integer from an RLP integer item. */
static void item_to_be32(const pc_rlp_item *item, uint8_t out[32])
{
    pc_u256 v;
    assert_int_equal(pc_rlp_item_u256(item, &v), 0);
    pc_u256_to_be(&v, out);
}

/* Reads raw back: field layout, nonce, `to`, data, and the signer that the
 * signature recovers to. */
static void check_read_back(const pc_tx *tx, const pc_bytes *raw, const pc_address *sender)
{
    pc_rlp_item f[MAX_FIELDS];
    pc_signature sig;
    pc_address signer;
    uint8_t digest[32];
    uint64_t u;
    size_t n, first; /* index of the nonce field */
    const pc_rlp_item *to, *data, *v;
    if (tx->type == PC_TX_LEGACY) {
        n = split_fields(raw->data, raw->len, f);
        assert_int_equal(n, 9);
        first = 0;
        v = &f[6];
        assert_int_equal(pc_rlp_item_u64(v, &u), 0);
        assert_true(u == tx->chain_id * 2 + 35 || u == tx->chain_id * 2 + 36);
        sig.recid = (uint8_t)(u - tx->chain_id * 2 - 35);
    } else {
        assert_true(raw->len > 1);
        assert_int_equal(raw->data[0], 0x02);
        n = split_fields(raw->data + 1, raw->len - 1, f);
        assert_int_equal(n, 12);
        assert_int_equal(pc_rlp_item_u64(&f[0], &u), 0);
        assert_int_equal(u, tx->chain_id);
        assert_true(f[8].is_list);
        assert_int_equal(f[8].len, 0); /* empty access list */
        first = 1;
        v = &f[9];
        assert_int_equal(pc_rlp_item_u64(v, &u), 0);
        assert_true(u <= 1);
        sig.recid = (uint8_t)u;
    }
    assert_int_equal(pc_rlp_item_u64(&f[first], &u), 0);
    assert_int_equal(u, tx->nonce);
    /* legacy: ..., to, value, data, v; type 2: ..., to, value, data, accessList, yParity */
    to = v - (tx->type == PC_TX_LEGACY ? 3 : 4);
    data = v - (tx->type == PC_TX_LEGACY ? 1 : 2);
    assert_int_equal(to->len, tx->has_to ? 20 : 0);
    if (tx->has_to)
        assert_memory_equal(to->payload, tx->to.bytes, 20);
    assert_int_equal(data->len, tx->data_len);
    if (tx->data_len)
        assert_memory_equal(data->payload, tx->data, tx->data_len);
    item_to_be32(v + 1, sig.r);
    item_to_be32(v + 2, sig.s);
    assert_int_equal(pc_tx_signing_hash(tx, digest, NULL), 0);
    assert_int_equal(pc_ecdsa_recover(secp, digest, &sig, &signer), 0);
    assert_true(pc_address_equal(&signer, sender));
}

static void test_eip155_example_reads_back(void **state)
{
    (void)state;
    pc_tx tx;
    uint8_t key[32];
    pc_address sender;
    pc_bytes raw = {0};
    eip155_example(&tx, key);
    assert_int_equal(pc_secret_to_address(secp, key, &sender), 0);
    assert_int_equal(pc_tx_sign(secp, &tx, key, &raw, NULL, NULL), 0);
    check_read_back(&tx, &raw, &sender);
    pc_bytes_free(&raw);
}

/* ---- (b) transactions signed by ethers 6 --------------------------------------------- */

static const char *member(json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    assert_non_null(s);
    return s;
}

static pc_u256 u256_member(json_t *o, const char *name)
{
    pc_u256 v;
    assert_int_equal(pc_u256_parse_dec(member(o, name), &v), 0);
    return v;
}

static uint64_t u64_member(json_t *o, const char *name)
{
    pc_u256 v = u256_member(o, name);
    uint64_t u;
    assert_int_equal(pc_u256_to_u64(&v, &u), 0);
    return u;
}

/* Fills *tx and key from a fixture entry; *data receives the malloc'd calldata. */
static void tx_from_fixture(json_t *o, pc_tx *tx, uint8_t key[32], uint8_t **data)
{
    const char *hex = member(o, "data");
    size_t cap = strlen(hex) / 2 + 1;
    ssize_t n;
    json_t *to = json_object_get(o, "to");
    memset(tx, 0, sizeof(*tx));
    tx->type = json_integer_value(json_object_get(o, "type")) == 2 ? PC_TX_EIP1559 : PC_TX_LEGACY;
    tx->chain_id = u64_member(o, "chainId");
    tx->nonce = u64_member(o, "nonce");
    tx->gas_limit = u64_member(o, "gasLimit");
    if (tx->type == PC_TX_LEGACY) {
        tx->gas_price = u256_member(o, "gasPrice");
    } else {
        tx->max_priority_fee_per_gas = u256_member(o, "maxPriorityFeePerGas");
        tx->max_fee_per_gas = u256_member(o, "maxFeePerGas");
    }
    tx->has_to = json_is_string(to);
    if (tx->has_to)
        assert_int_equal(pc_address_parse(json_string_value(to), &tx->to), 0);
    tx->value = u256_member(o, "value");
    *data = malloc(cap);
    assert_non_null(*data);
    n = pc_hex_decode_var(hex, *data, cap);
    assert_true(n >= 0);
    tx->data = *data;
    tx->data_len = (size_t)n;
    assert_int_equal(pc_hex_decode(member(o, "privateKey"), key, 32), 0);
}

static void test_ethers_transactions(void **state)
{
    (void)state;
    json_t *list = json_object_get(fixtures, "transactions");
    size_t i, n_legacy = 0, n_1559 = 0, n_create = 0;
    json_t *o;
    assert_true(json_array_size(list) >= 10);
    json_array_foreach(list, i, o) {
        pc_tx tx;
        uint8_t key[32], hash[32], *data;
        pc_address sender;
        pc_bytes payload = {0}, raw = {0};
        pc_error err;
        print_message("  %s\n", member(o, "name"));
        tx_from_fixture(o, &tx, key, &data);
        assert_int_equal(pc_tx_signing_payload(&tx, &payload, &err), 0);
        pc_test_assert_hex(payload.data, payload.len, member(o, "signingPayload"));
        assert_int_equal(pc_tx_signing_hash(&tx, hash, &err), 0);
        pc_test_assert_hex(hash, 32, member(o, "signingHash"));
        assert_int_equal(pc_tx_sign(secp, &tx, key, &raw, hash, &err), 0);
        pc_test_assert_hex(raw.data, raw.len, member(o, "raw"));
        pc_test_assert_hex(hash, 32, member(o, "hash"));
        assert_int_equal(pc_address_parse(member(o, "sender"), &sender), 0);
        check_read_back(&tx, &raw, &sender);
        n_legacy += tx.type == PC_TX_LEGACY;
        n_1559 += tx.type == PC_TX_EIP1559;
        n_create += !tx.has_to;
        pc_bytes_free(&payload);
        pc_bytes_free(&raw);
        free(data);
    }
    /* The fixture covers both types and contract creation. */
    assert_true(n_legacy >= 3 && n_1559 >= 3 && n_create >= 2);
}

/* ---- (c) CREATE addresses ------------------------------------------------------------ */

static void assert_contract_address(const char *deployer, uint64_t nonce, const char *expect)
{
    pc_address from, got;
    char text[PC_ADDRESS_TEXT_LEN];
    assert_int_equal(pc_address_parse(deployer, &from), 0);
    assert_int_equal(pc_contract_address(&from, nonce, &got), 0);
    pc_address_format(&got, text);
    assert_string_equal(text, expect);
}

static void test_contract_address(void **state)
{
    (void)state;
    json_t *list = json_object_get(fixtures, "contractAddresses");
    size_t i;
    json_t *o;
    assert_contract_address("0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0", 0,
                            "0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d");
    assert_contract_address("0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0", 1,
                            "0x343c43a37d37dff08ae8c4a11544c718abb4fcf8");
    assert_true(json_array_size(list) >= 10);
    json_array_foreach(list, i, o) {
        assert_contract_address(member(o, "deployer"), u64_member(o, "nonce"), member(o, "address"));
    }
}

/* ---- rejected input ------------------------------------------------------------------ */

static void expect_rejected(const pc_tx *tx, const uint8_t key[32])
{
    pc_bytes raw = {0};
    pc_error err;
    pc_error_clear(&err);
    assert_int_equal(pc_bytes_push(&raw, 0xaa), 0); /* old content must go */
    assert_int_equal(pc_tx_sign(secp, tx, key, &raw, NULL, &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    assert_true(err.message[0] != '\0');
    assert_int_equal(raw.len, 0);
    pc_bytes_free(&raw);
}

static void test_rejects(void **state)
{
    (void)state;
    pc_tx tx;
    uint8_t key[32], zero_key[32] = {0};
    eip155_example(&tx, key);

    expect_rejected(&tx, zero_key);
    tx.chain_id = 0;
    expect_rejected(&tx, key);
    tx.chain_id = UINT64_MAX / 2; /* v would overflow 64 bits */
    expect_rejected(&tx, key);
    tx.chain_id = 1;
    tx.data_len = 4; /* with data == NULL */
    expect_rejected(&tx, key);
    tx.data_len = 0;
    tx.type = (pc_tx_type)7;
    expect_rejected(&tx, key);
}

/* ---- (d) a real node accepts what we sign ------------------------------------------- */

/* Init code that deploys the 10-byte runtime 602a60005260206000f3 (which
 * returns the word 42): PUSH10 runtime, PUSH1 0, MSTORE, then RETURN of
 * memory[22..32). */
static const uint8_t init_code[] = {0x69, 0x60, 0x2a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00,
                                    0xf3, 0x60, 0x00, 0x52, 0x60, 0x0a, 0x60, 0x16, 0xf3};
static const uint8_t runtime_code[] = {0x60, 0x2a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3};

typedef struct chain {
    pc_test_anvil *anvil;
    pc_rpc *rpc;
    uint8_t key[32];
    pc_address sender;
    uint64_t chain_id;
    pc_fees fees;
} chain;

/* Signs tx (nonce from the node), sends it, waits for its receipt and
 * checks that it succeeded under the hash we computed. */
static void send_and_mine(chain *c, pc_tx *tx, pc_receipt *receipt)
{
    pc_bytes raw = {0};
    uint8_t our_hash[32], node_hash[32];
    pc_error err;
    tx->chain_id = c->chain_id;
    if (pc_rpc_nonce_reserve(c->rpc, &c->sender, &tx->nonce, &err) != 0)
        fail_msg("nonce: %s", err.message);
    assert_int_equal(pc_tx_sign(secp, tx, c->key, &raw, our_hash, &err), 0);
    int sent = pc_rpc_send_raw_transaction(c->rpc, raw.data, raw.len, node_hash, &err) == 0;
    pc_rpc_nonce_release(c->rpc, &c->sender, sent);
    if (!sent)
        fail_msg("eth_sendRawTransaction: %s", err.message);
    assert_memory_equal(node_hash, our_hash, 32);
    if (pc_rpc_wait_receipt(c->rpc, our_hash, 10000, receipt, &err) != 0)
        fail_msg("receipt: %s", err.message);
    assert_int_equal(receipt->status, 1);
    assert_memory_equal(receipt->tx_hash, our_hash, 32);
    pc_bytes_free(&raw);
}

static void transfer(chain *c, pc_tx_type type, const pc_address *to, uint64_t wei)
{
    pc_tx tx;
    pc_receipt receipt;
    memset(&tx, 0, sizeof(tx));
    tx.type = type;
    tx.gas_limit = 21000;
    tx.gas_price = c->fees.max_fee;
    tx.max_fee_per_gas = c->fees.max_fee;
    tx.max_priority_fee_per_gas = c->fees.priority_fee;
    tx.has_to = 1;
    tx.to = *to;
    tx.value = pc_u256_from_u64(wei);
    send_and_mine(c, &tx, &receipt);
    assert_int_equal(receipt.gas_used, 21000);
    assert_false(receipt.has_contract_address);
    pc_receipt_free(&receipt);
}

static void assert_balance(chain *c, const pc_address *addr, uint64_t wei)
{
    pc_u256 balance, expect = pc_u256_from_u64(wei);
    pc_error err;
    if (pc_rpc_get_balance(c->rpc, addr, &balance, &err) != 0)
        fail_msg("balance: %s", err.message);
    assert_int_equal(pc_u256_cmp(&balance, &expect), 0);
}

/* Deploys init_code and checks the address against pc_contract_address and
 * the code the node then holds. */
static void create(chain *c, pc_tx_type type)
{
    pc_tx tx;
    pc_receipt receipt;
    pc_address expect;
    pc_bytes code = {0};
    pc_error err;
    memset(&tx, 0, sizeof(tx));
    tx.type = type;
    tx.gas_limit = 200000;
    tx.gas_price = c->fees.max_fee;
    tx.max_fee_per_gas = c->fees.max_fee;
    tx.max_priority_fee_per_gas = c->fees.priority_fee;
    tx.data = init_code;
    tx.data_len = sizeof(init_code);
    send_and_mine(c, &tx, &receipt);
    assert_true(receipt.has_contract_address);
    assert_int_equal(pc_contract_address(&c->sender, tx.nonce, &expect), 0);
    assert_true(pc_address_equal(&receipt.contract_address, &expect));
    if (pc_rpc_get_code(c->rpc, &expect, &code, &err) != 0)
        fail_msg("code: %s", err.message);
    assert_int_equal(code.len, sizeof(runtime_code));
    assert_memory_equal(code.data, runtime_code, sizeof(runtime_code));
    pc_bytes_free(&code);
    pc_receipt_free(&receipt);
}

static void test_anvil_accepts(void **state)
{
    (void)state;
    chain c;
    pc_error err;
    pc_address recipient;
    memset(&c, 0, sizeof(c));
    c.anvil = pc_test_anvil_start(NULL);
    assert_non_null(c.anvil);
    c.rpc = pc_rpc_create(pc_test_anvil_url(c.anvil), NULL, &err);
    assert_non_null(c.rpc);
    pc_test_dev_key(0, c.key);
    assert_int_equal(pc_secret_to_address(secp, c.key, &c.sender), 0);
    assert_int_equal(pc_rpc_chain_id(c.rpc, &c.chain_id, &err), 0);
    assert_int_equal(c.chain_id, 31337);
    assert_int_equal(pc_rpc_fees(c.rpc, &c.fees, &err), 0);

    /* A fresh account, so that its balance is exactly what we send. */
    assert_int_equal(pc_address_parse("0x00000000000000000000000000000000c0ffee01", &recipient), 0);
    assert_balance(&c, &recipient, 0);
    transfer(&c, PC_TX_LEGACY, &recipient, 1000000000000000000ull);
    assert_balance(&c, &recipient, 1000000000000000000ull);
    transfer(&c, PC_TX_EIP1559, &recipient, 123456789);
    assert_balance(&c, &recipient, 1000000000123456789ull);

    create(&c, PC_TX_EIP1559);
    create(&c, PC_TX_LEGACY);

    pc_rpc_destroy(c.rpc);
    pc_test_anvil_stop(c.anvil);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eip155_example),
        cmocka_unit_test(test_eip155_example_reads_back),
        cmocka_unit_test(test_ethers_transactions),
        cmocka_unit_test(test_contract_address),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_anvil_accepts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
