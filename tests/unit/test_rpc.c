/* test_rpc.c: the JSON-RPC client and the anvil test support against a real
 * anvil. Broken and malformed nodes: test_rpc_broken_node.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto/ecdsa.h"
#include "core/chain/rpc.h"
#include "core/chain/tx.h"
#include "support/anvil.h"

static pc_test_anvil *anvil;
static pc_rpc *rpc;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hex_bytes(const char *hex, pc_bytes *out)
{
    size_t n = strlen(hex) / 2;
    pc_bytes_clear(out);
    assert_int_equal(pc_bytes_reserve(out, n), 0);
    assert_int_equal(pc_hex_decode_var(hex, out->data, n), (ssize_t)n);
    out->len = n;
}

static void install_code(const char *addr_hex, const char *code_hex, pc_address *addr)
{
    pc_bytes code = {0};
    assert_int_equal(pc_address_parse(addr_hex, addr), 0);
    hex_bytes(code_hex, &code);
    assert_int_equal(pc_test_anvil_set_code(anvil, addr, code.data, code.len), 0);
    pc_bytes_free(&code);
}

/* eth_sendTransaction from an unlocked dev account; returns the tx hash. */
static void send_unlocked(int from, const char *to_hex, const char *data_hex, uint8_t hash[32])
{
    pc_address a;
    char from_hex[PC_ADDRESS_TEXT_LEN];
    pc_test_dev_address(from, &a);
    pc_address_format(&a, from_hex);
    json_t *tx = json_pack("{s:s, s:s}", "from", from_hex, "data", data_hex);
    if (to_hex)
        json_object_set_new(tx, "to", json_string(to_hex));
    json_t *result;
    pc_error err = {0};
    assert_int_equal(pc_rpc_call(rpc, "eth_sendTransaction", json_pack("[o]", tx), &result, &err),
                     0);
    assert_true(json_is_string(result));
    assert_int_equal(pc_hex_decode(json_string_value(result), hash, 32), 0);
    json_decref(result);
}

static int setup(void **state)
{
    (void)state;
    anvil = pc_test_anvil_start(NULL);
    if (!anvil)
        return -1;
    pc_error err = {0};
    rpc = pc_rpc_create(pc_test_anvil_url(anvil), NULL, &err);
    return rpc ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pc_rpc_destroy(rpc);
    pc_test_anvil_stop(anvil);
    return 0;
}

/* ---- reads ----------------------------------------------------------------------- */

static void test_chain_id_and_block_number(void **state)
{
    (void)state;
    pc_error err = {0};
    uint64_t id = 0, before = 0, after = 0;
    assert_int_equal(pc_rpc_chain_id(rpc, &id, &err), 0);
    assert_int_equal(id, 31337);
    assert_int_equal(pc_rpc_block_number(rpc, &before, &err), 0);
    assert_int_equal(pc_test_anvil_mine(anvil), 0);
    assert_int_equal(pc_rpc_block_number(rpc, &after, &err), 0);
    assert_int_equal(after, before + 1);
}

static void test_balance_of_dev_account(void **state)
{
    (void)state;
    pc_address a;
    pc_u256 wei, expected;
    pc_error err = {0};
    pc_test_dev_address(9, &a);
    assert_int_equal(pc_rpc_get_balance(rpc, &a, &wei, &err), 0);
    assert_int_equal(pc_u256_parse_dec("10000000000000000000000", &expected), 0);
    assert_int_equal(pc_u256_cmp(&wei, &expected), 0);

    pc_u256 set = pc_u256_from_u64(123456789);
    assert_int_equal(pc_test_anvil_set_balance(anvil, &a, &set), 0);
    assert_int_equal(pc_rpc_get_balance(rpc, &a, &wei, &err), 0);
    assert_int_equal(pc_u256_cmp(&wei, &set), 0);
    assert_int_equal(pc_test_anvil_set_balance(anvil, &a, &expected), 0);
}

static void test_block_timestamp_follows_time_travel(void **state)
{
    (void)state;
    pc_error err = {0};
    uint64_t t0 = 0, t1 = 0;
    assert_int_equal(pc_rpc_get_block_timestamp(rpc, &t0, &err), 0);
    assert_true(t0 > 1700000000u); /* anvil starts at the current time */
    assert_int_equal(pc_test_anvil_increase_time(anvil, 3600), 0);
    assert_int_equal(pc_rpc_get_block_timestamp(rpc, &t1, &err), 0);
    assert_true(t1 >= t0 + 3600);
    assert_true(t1 < t0 + 3600 + 60);
}

static void test_eth_call_to_empty_account(void **state)
{
    (void)state;
    pc_address nobody;
    assert_int_equal(pc_address_parse("0x00000000000000000000000000000000000c0de0", &nobody), 0);
    pc_call call = {.to = &nobody, .data = (const uint8_t *)"\x01\x02\x03\x04", .data_len = 4};
    pc_bytes result = {0}, revert = {0};
    pc_error err = {0};
    assert_int_equal(pc_rpc_eth_call(rpc, &call, &result, &revert, &err), 0);
    assert_int_equal(result.len, 0);
    pc_bytes code = {0};
    assert_int_equal(pc_rpc_get_code(rpc, &nobody, &code, &err), 0);
    assert_int_equal(code.len, 0);
    pc_bytes_free(&code);
    pc_bytes_free(&result);
    pc_bytes_free(&revert);
}

static void test_eth_call_returns_data(void **state)
{
    (void)state;
    pc_address c;
    /* mstore(0, 0x2a) return(0, 32) */
    install_code("0x00000000000000000000000000000000000c0de1", "602a60005260206000f3", &c);
    pc_call call = {.to = &c};
    pc_bytes result = {0};
    pc_error err = {0};
    assert_int_equal(pc_rpc_eth_call(rpc, &call, &result, NULL, &err), 0);
    assert_int_equal(result.len, 32);
    for (size_t i = 0; i < 31; i++)
        assert_int_equal(result.data[i], 0);
    assert_int_equal(result.data[31], 0x2a);
    pc_bytes code = {0};
    assert_int_equal(pc_rpc_get_code(rpc, &c, &code, &err), 0);
    assert_int_equal(code.len, 10);
    assert_int_equal(code.data[0], 0x60);
    pc_bytes_free(&code);
    pc_bytes_free(&result);
}

static void test_eth_call_revert_with_data(void **state)
{
    (void)state;
    pc_address c;
    /* mstore(0, 0xdeadbeef) revert(28, 4) */
    install_code("0x00000000000000000000000000000000000c0de2", "63deadbeef6000526004601cfd", &c);
    pc_call call = {.to = &c};
    pc_bytes result = {0}, revert = {0};
    pc_error err = {0};
    assert_int_equal(pc_rpc_eth_call(rpc, &call, &result, &revert, &err), 1);
    assert_int_equal(err.code, PC_ERR_TRANSACTION);
    assert_int_equal(revert.len, 4);
    assert_memory_equal(revert.data, "\xde\xad\xbe\xef", 4);

    uint64_t gas = 0;
    hex_bytes("ff", &revert); /* must be replaced, not appended to */
    assert_int_equal(pc_rpc_estimate_gas(rpc, &call, &gas, &revert, &err), 1);
    assert_int_equal(err.code, PC_ERR_TRANSACTION);
    assert_int_equal(revert.len, 4);
    assert_memory_equal(revert.data, "\xde\xad\xbe\xef", 4);
    pc_bytes_free(&result);
    pc_bytes_free(&revert);
}

static void test_eth_call_revert_without_data(void **state)
{
    (void)state;
    pc_address c;
    install_code("0x00000000000000000000000000000000000c0de3", "60006000fd", &c);
    pc_call call = {.to = &c};
    pc_bytes result = {0}, revert = {0};
    pc_error err = {0};
    hex_bytes("ff", &revert);
    assert_int_equal(pc_rpc_eth_call(rpc, &call, &result, &revert, &err), 1);
    assert_int_equal(err.code, PC_ERR_TRANSACTION);
    assert_int_equal(revert.len, 0);
    pc_bytes_free(&result);
    pc_bytes_free(&revert);
}

static void test_estimate_gas_of_transfer(void **state)
{
    (void)state;
    pc_address from, to;
    pc_test_dev_address(0, &from);
    pc_test_dev_address(1, &to);
    pc_call call = {.from = &from, .to = &to, .value = pc_u256_from_u64(1000)};
    uint64_t gas = 0;
    pc_error err = {0};
    assert_int_equal(pc_rpc_estimate_gas(rpc, &call, &gas, NULL, &err), 0);
    assert_int_equal(gas, 21000);
}

static void test_fees(void **state)
{
    (void)state;
    pc_fees f;
    pc_error err = {0};
    assert_int_equal(pc_rpc_fees(rpc, &f, &err), 0);
    assert_true(f.has_base_fee);
    assert_false(pc_u256_is_zero(&f.base_fee));
    assert_false(pc_u256_is_zero(&f.priority_fee));
    assert_false(pc_u256_is_zero(&f.gas_price));
    pc_u256 expected = f.base_fee;
    assert_int_equal(pc_u256_add(&expected, &expected, &f.base_fee), 0);
    assert_int_equal(pc_u256_add(&expected, &expected, &f.priority_fee), 0);
    assert_int_equal(pc_u256_cmp(&f.max_fee, &expected), 0);
}

/* ---- transactions, receipts, logs ------------------------------------------------------ */

static void test_tx_count_and_receipt_of_transfer(void **state)
{
    (void)state;
    pc_address a;
    pc_error err = {0};
    uint64_t before = 99, after = 0;
    pc_test_dev_address(2, &a);
    assert_int_equal(pc_rpc_get_transaction_count(rpc, &a, "latest", &before, &err), 0);
    uint8_t hash[32];
    send_unlocked(2, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "0x", hash);
    pc_receipt r;
    assert_int_equal(pc_rpc_wait_receipt(rpc, hash, 5000, &r, &err), 0);
    assert_memory_equal(r.tx_hash, hash, 32);
    assert_int_equal(r.status, 1);
    assert_int_equal(r.gas_used, 21000);
    assert_false(r.has_contract_address);
    assert_false(pc_u256_is_zero(&r.effective_gas_price));
    assert_int_equal(r.n_logs, 0);
    uint64_t head;
    assert_int_equal(pc_rpc_block_number(rpc, &head, &err), 0);
    assert_int_equal(r.block_number, head);
    pc_receipt_free(&r);
    assert_int_equal(pc_rpc_get_transaction_count(rpc, &a, NULL, &after, &err), 0);
    assert_int_equal(after, before + 1);
}

static void test_deployment_receipt_and_logs(void **state)
{
    (void)state;
    /* init code: mstore(0, 0x2a) log1(0, 32, topic 0x77) stop -> empty runtime */
    uint8_t hash[32];
    send_unlocked(4, NULL, "0x602a600052607760206000a100", hash);
    pc_receipt r;
    pc_error err = {0};
    assert_int_equal(pc_rpc_wait_receipt(rpc, hash, 5000, &r, &err), 0);
    assert_int_equal(r.status, 1);
    assert_true(r.has_contract_address);
    assert_int_equal(r.n_logs, 1);
    uint8_t topic[32] = {0};
    topic[31] = 0x77;
    assert_int_equal(r.logs[0].n_topics, 1);
    assert_memory_equal(r.logs[0].topics[0], topic, 32);
    assert_int_equal(r.logs[0].data.len, 32);
    assert_int_equal(r.logs[0].data.data[31], 0x2a);
    assert_true(pc_address_equal(&r.logs[0].address, &r.contract_address));
    assert_memory_equal(r.logs[0].tx_hash, hash, 32);
    assert_int_equal(r.logs[0].block_number, r.block_number);

    pc_log *logs;
    size_t n;
    pc_log_filter f = {.address = &r.contract_address, .to_block = PC_RPC_BLOCK_LATEST,
                       .topic0 = topic};
    assert_int_equal(pc_rpc_get_logs(rpc, &f, &logs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(logs[0].tx_hash, hash, 32);
    assert_int_equal(logs[0].log_index, r.logs[0].log_index);
    pc_logs_free(logs, n);

    topic[31] = 0x78; /* another event: nothing */
    assert_int_equal(pc_rpc_get_logs(rpc, &f, &logs, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(logs);
    pc_receipt_free(&r);
}

static void test_get_logs_empty_range(void **state)
{
    (void)state;
    pc_address nobody;
    assert_int_equal(pc_address_parse("0x00000000000000000000000000000000000c0de9", &nobody), 0);
    pc_log *logs = (pc_log *)&logs;
    size_t n = 7;
    pc_error err = {0};
    pc_log_filter f = {.address = &nobody, .from_block = 0, .to_block = PC_RPC_BLOCK_LATEST};
    assert_int_equal(pc_rpc_get_logs(rpc, &f, &logs, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(logs);
    pc_log_filter backwards = {.from_block = 5, .to_block = 4};
    assert_int_equal(pc_rpc_get_logs(rpc, &backwards, &logs, &n, &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
}

static void test_send_raw_garbage_is_rejected(void **state)
{
    (void)state;
    uint8_t hash[32];
    pc_error err = {0};
    assert_int_equal(pc_rpc_send_raw_transaction(rpc, (const uint8_t *)"\x02\xc0", 2, hash, &err),
                     -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_non_null(strstr(err.message, "eth_sendRawTransaction"));
}

/* The success path of eth_sendRawTransaction: an EIP-1559 transfer signed
 * in process with a tracked nonce and the suggested fees. */
static void test_send_raw_signed_transfer(void **state)
{
    (void)state;
    pc_secp *ctx = pc_secp_create();
    assert_non_null(ctx);
    pc_error err = {0};
    pc_fees fees;
    pc_tx tx = {.type = PC_TX_EIP1559, .chain_id = 31337, .gas_limit = 21000, .has_to = 1,
                .value = pc_u256_from_u64(777)};
    pc_address from;
    uint8_t key[32], signed_hash[32], node_hash[32];
    pc_test_dev_address(6, &from);
    pc_test_dev_key(6, key);
    pc_test_dev_address(7, &tx.to);
    assert_int_equal(pc_rpc_fees(rpc, &fees, &err), 0);
    tx.max_fee_per_gas = fees.max_fee;
    tx.max_priority_fee_per_gas = fees.priority_fee;
    assert_int_equal(pc_rpc_nonce_reserve(rpc, &from, &tx.nonce, &err), 0);
    pc_u256 before, after;
    assert_int_equal(pc_rpc_get_balance(rpc, &tx.to, &before, &err), 0);

    pc_bytes raw = {0};
    assert_int_equal(pc_tx_sign(ctx, &tx, key, &raw, signed_hash, &err), 0);
    assert_int_equal(pc_rpc_send_raw_transaction(rpc, raw.data, raw.len, node_hash, &err), 0);
    pc_rpc_nonce_release(rpc, &from, 1);
    assert_memory_equal(node_hash, signed_hash, 32);
    pc_receipt r;
    assert_int_equal(pc_rpc_wait_receipt(rpc, node_hash, 5000, &r, &err), 0);
    assert_int_equal(r.status, 1);
    assert_int_equal(r.gas_used, 21000);
    pc_receipt_free(&r);
    assert_int_equal(pc_rpc_get_balance(rpc, &tx.to, &after, &err), 0);
    pc_u256 diff;
    assert_int_equal(pc_u256_sub(&diff, &after, &before), 0);
    assert_int_equal(diff.limb[0], 777);

    /* Sending the same nonce again is refused by the node. */
    assert_int_equal(pc_rpc_send_raw_transaction(rpc, raw.data, raw.len, node_hash, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    uint64_t next;
    assert_int_equal(pc_rpc_nonce_reserve(rpc, &from, &next, &err), 0);
    assert_int_equal(next, tx.nonce + 1);
    pc_rpc_nonce_release(rpc, &from, 0);
    pc_bytes_free(&raw);
    pc_secp_destroy(ctx);
}

static void test_wait_receipt_times_out(void **state)
{
    (void)state;
    uint8_t hash[32];
    memset(hash, 0xab, sizeof hash);
    pc_receipt r;
    pc_error err = {0};
    int found = 1;
    assert_int_equal(pc_rpc_get_receipt(rpc, hash, &r, &found, &err), 0);
    assert_int_equal(found, 0);
    int64_t t0 = now_ms();
    assert_int_equal(pc_rpc_wait_receipt(rpc, hash, 300, &r, &err), -1);
    int64_t took = now_ms() - t0;
    assert_int_equal(err.code, PC_ERR_TRANSACTION);
    assert_non_null(strstr(err.message, "not mined within 300 ms"));
    assert_true(took >= 300);
    assert_true(took < 1000);
}

/* ---- concurrency --------------------------------------------------------------------------- */

enum { THREADS = 8, PER_THREAD = 50 };

typedef struct worker {
    pc_address addr;
    uint64_t nonces[PER_THREAD];
    int failures;
} worker;

/* Reserves and releases as sent (nothing is sent: the tracker counts). */
static void *take_nonces(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        pc_error err = {0};
        if (pc_rpc_nonce_reserve(rpc, &w->addr, &w->nonces[i], &err) != 0)
            w->failures++;
        else
            pc_rpc_nonce_release(rpc, &w->addr, 1);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_nonce_tracker_under_threads(void **state)
{
    (void)state;
    pc_address a;
    pc_error err = {0};
    uint64_t start;
    pc_test_dev_address(5, &a);
    assert_int_equal(pc_rpc_get_transaction_count(rpc, &a, "pending", &start, &err), 0);
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.addr = a};
        assert_int_equal(pthread_create(&t[i], NULL, take_nonces, &w[i]), 0);
    }
    uint64_t all[THREADS * PER_THREAD];
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
        for (int j = 1; j < PER_THREAD; j++) /* each thread sees increasing values */
            assert_true(w[i].nonces[j] > w[i].nonces[j - 1]);
        memcpy(&all[i * PER_THREAD], w[i].nonces, sizeof w[i].nonces);
    }
    qsort(all, THREADS * PER_THREAD, sizeof all[0], cmp_u64);
    for (int i = 0; i < THREADS * PER_THREAD; i++)
        assert_int_equal(all[i], start + (uint64_t)i);

    /* Nothing was really sent: after a release unsent the node's count comes back. */
    uint64_t next;
    assert_int_equal(pc_rpc_nonce_reserve(rpc, &a, &next, &err), 0);
    assert_int_equal(next, start + THREADS * PER_THREAD);
    pc_rpc_nonce_release(rpc, &a, 0);
    assert_int_equal(pc_rpc_nonce_reserve(rpc, &a, &next, &err), 0);
    assert_int_equal(next, start);
    pc_rpc_nonce_release(rpc, &a, 0);
}

typedef struct reserver {
    pc_address addr;
    uint64_t nonce;
    int done;
} reserver;

static void *reserve_one(void *arg)
{
    reserver *r = arg;
    pc_error err = {0};
    if (pc_rpc_nonce_reserve(rpc, &r->addr, &r->nonce, &err) == 0) {
        __atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
        pc_rpc_nonce_release(rpc, &r->addr, 0);
    } else {
        __atomic_store_n(&r->done, -1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* While one sender holds a reserved nonce, another waits; when the first
 * was not sent, the second gets the same nonce (read afresh): no gap, and
 * never a nonce that is still on its way. (The old tracker handed out the
 * next number at once and re-read the node on a failure, which could give
 * a nonce out twice while a later one was still unsent.) */
static void test_nonce_reserve_waits_for_release(void **state)
{
    (void)state;
    pc_address a;
    pc_error err = {0};
    uint64_t start, first;
    pc_test_dev_address(8, &a);
    assert_int_equal(pc_rpc_get_transaction_count(rpc, &a, "pending", &start, &err), 0);
    assert_int_equal(pc_rpc_nonce_reserve(rpc, &a, &first, &err), 0);
    assert_int_equal(first, start);
    reserver r = {.addr = a};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reserve_one, &r), 0);
    usleep(150 * 1000);
    assert_int_equal(__atomic_load_n(&r.done, __ATOMIC_SEQ_CST), 0); /* still waiting */
    pc_rpc_nonce_release(rpc, &a, 0);
    pthread_join(t, NULL);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.nonce, start);
}

static void *read_block_numbers(void *arg)
{
    int *failures = arg;
    for (int i = 0; i < 100; i++) {
        uint64_t n;
        pc_error err = {0};
        if (pc_rpc_block_number(rpc, &n, &err) != 0)
            (*failures)++;
    }
    return NULL;
}

static void test_concurrent_calls(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    int failures[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, read_block_numbers, &failures[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(failures[i], 0);
    }
}

static void test_anvil_options(void **state)
{
    (void)state;
    pc_test_anvil_options o = {.chain_id = 1337, .block_time = 1};
    pc_test_anvil *a = pc_test_anvil_start(&o);
    assert_non_null(a);
    assert_string_not_equal(pc_test_anvil_url(a), pc_test_anvil_url(anvil));
    pc_error err = {0};
    pc_rpc *r = pc_rpc_create(pc_test_anvil_url(a), NULL, &err);
    assert_non_null(r);
    uint64_t id = 0, b0 = 0, b1 = 0;
    assert_int_equal(pc_rpc_chain_id(r, &id, &err), 0);
    assert_int_equal(id, 1337);
    assert_int_equal(pc_rpc_block_number(r, &b0, &err), 0);
    usleep(2100 * 1000); /* blocks come by themselves every second */
    assert_int_equal(pc_rpc_block_number(r, &b1, &err), 0);
    assert_true(b1 >= b0 + 1);
    pc_rpc_destroy(r);
    pc_test_anvil_stop(a);

}

static void test_dev_keys_match_addresses(void **state)
{
    (void)state;
    pc_secp *ctx = pc_secp_create();
    assert_non_null(ctx);
    for (int i = 0; i < 10; i++) {
        uint8_t key[32];
        pc_address derived, listed;
        pc_test_dev_key(i, key);
        pc_test_dev_address(i, &listed);
        assert_int_equal(pc_secret_to_address(ctx, key, &derived), 0);
        assert_true(pc_address_equal(&derived, &listed));
    }
    pc_secp_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_id_and_block_number),
        cmocka_unit_test(test_balance_of_dev_account),
        cmocka_unit_test(test_block_timestamp_follows_time_travel),
        cmocka_unit_test(test_eth_call_to_empty_account),
        cmocka_unit_test(test_eth_call_returns_data),
        cmocka_unit_test(test_eth_call_revert_with_data),
        cmocka_unit_test(test_eth_call_revert_without_data),
        cmocka_unit_test(test_estimate_gas_of_transfer),
        cmocka_unit_test(test_fees),
        cmocka_unit_test(test_tx_count_and_receipt_of_transfer),
        cmocka_unit_test(test_deployment_receipt_and_logs),
        cmocka_unit_test(test_get_logs_empty_range),
        cmocka_unit_test(test_send_raw_garbage_is_rejected),
        cmocka_unit_test(test_send_raw_signed_transfer),
        cmocka_unit_test(test_wait_receipt_times_out),
        cmocka_unit_test(test_nonce_tracker_under_threads),
        cmocka_unit_test(test_nonce_reserve_waits_for_release),
        cmocka_unit_test(test_concurrent_calls),
        cmocka_unit_test(test_anvil_options),
        cmocka_unit_test(test_dev_keys_match_addresses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
