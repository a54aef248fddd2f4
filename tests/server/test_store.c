/* test_store: the Payment Server store (store.h) apart from its counters,
 * one suite run against all three backends (support/store_env.h): Mediator
 * records (also of both roles), nonces, the description, chain identity,
 * gas and pages for the admin API. The counters are in
 * test_store_counts.c; crash and multi-instance cases in
 * test_store_crash.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "server/store/store.h"
#include "support/redis.h"
#include "support/store_check.h"
#include "support/store_env.h"
#include "server/store/store_internal.h" /* pc_record_compare */

typedef pc_test_store_env env;

/* ---- Mediator records ------------------------------------------------------------- */

static pc_mediator_record sample_record(unsigned n, pc_mediator_role role)
{
    pc_mediator_record r;
    memset(&r, 0, sizeof r);
    pc_test_store_address(200 + n, &r.mediator);
    r.role = role;
    pc_test_store_address(300 + n, &r.account);
    pc_test_store_address(400 + n, &r.counterparty);
    pc_u256_parse_dec("1000000000000000000000", &r.deposit_amount);
    r.funding_threshold = pc_test_store_token_id(n); /* uses the top limb too */
    r.token_active_since = 1700000000u + n;
    r.token_id = pc_test_store_token_id(50 + n);
    r.created_at = UINT64_MAX - n; /* full 64 bits survive */
    return r;
}

static void assert_record_equal(const pc_mediator_record *a, const pc_mediator_record *b)
{
    assert_memory_equal(a->mediator.bytes, b->mediator.bytes, 20);
    assert_int_equal(a->role, b->role);
    assert_memory_equal(a->account.bytes, b->account.bytes, 20);
    assert_memory_equal(a->counterparty.bytes, b->counterparty.bytes, 20);
    assert_int_equal(pc_u256_cmp(&a->deposit_amount, &b->deposit_amount), 0);
    assert_int_equal(pc_u256_cmp(&a->funding_threshold, &b->funding_threshold), 0);
    assert_int_equal(a->token_active_since, b->token_active_since);
    assert_int_equal(pc_u256_cmp(&a->token_id, &b->token_id), 0);
    assert_int_equal(a->created_at, b->created_at);
}

static void test_mediator_records(void **state)
{
    env *e = *state;
    pc_mediator_record *list = (void *)1;
    size_t n = 99;
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(list);
    pc_mediator_record r1 = sample_record(1, PC_ROLE_CONSUMER);
    pc_mediator_record r2 = sample_record(2, PC_ROLE_PROVIDER);
    pc_mediator_record got;
    int found = -1;
    assert_int_equal(pc_store_get_mediator(e->store, &r1.mediator, PC_ROLE_CONSUMER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 0);
    assert_int_equal(pc_store_put_mediator(e->store, &r1, NULL), 0);
    assert_int_equal(pc_store_put_mediator(e->store, &r2, NULL), 0);
    assert_int_equal(pc_store_get_mediator(e->store, &r1.mediator, PC_ROLE_CONSUMER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 1);
    assert_record_equal(&got, &r1);
    assert_int_equal(pc_store_get_mediator(e->store, &r1.mediator, PC_ROLE_PROVIDER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 0); /* records are per role */
    r2.token_active_since = 42; /* replace */
    r2.token_id = pc_u256_from_u64(7);
    assert_int_equal(pc_store_put_mediator(e->store, &r2, NULL), 0);
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 2);
    int i2 = pc_address_equal(&list[0].mediator, &r2.mediator) ? 0 : 1;
    assert_record_equal(&list[i2], &r2);
    assert_record_equal(&list[1 - i2], &r1);
    free(list);
    /* deleting also forgets the Mediator's counters */
    pc_u256 id = pc_test_store_token_id(1);
    pc_test_offer(e->store, &r2.mediator, &id, 3, NULL);
    assert_int_equal(pc_store_delete_mediator(e->store, &r2.mediator, PC_ROLE_PROVIDER, NULL), 0);
    assert_int_equal(pc_store_get_mediator(e->store, &r2.mediator, PC_ROLE_PROVIDER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 0);
    pc_test_expect_best(e->store, &r2.mediator, &id, 0);
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_record_equal(&list[0], &r1);
    free(list);
    pc_mediator_record bad = r1;
    bad.role = 0;
    pc_error err = {0};
    assert_int_equal(pc_store_put_mediator(e->store, &bad, &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
}

/* One server may be both parties of a Mediator (issue 9, point 1): a
 * record per role, and per (Mediator, token id) the counts it issued as
 * consumer apart from the counts it validated as provider; deleting one
 * role leaves the other's record and counters. */
static void test_both_roles(void **state)
{
    env *e = *state;
    pc_mediator_record c = sample_record(5, PC_ROLE_CONSUMER), p = c, got;
    p.role = PC_ROLE_PROVIDER;
    p.account = c.counterparty;
    p.counterparty = c.account;
    assert_int_equal(pc_store_put_mediator(e->store, &c, NULL), 0);
    assert_int_equal(pc_store_put_mediator(e->store, &p, NULL), 0);
    pc_mediator_record *list = NULL;
    size_t n = 0;
    int found = 0;
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_not_equal(list[0].role, list[1].role);
    free(list);
    assert_int_equal(pc_store_get_mediator(e->store, &c.mediator, PC_ROLE_PROVIDER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 1);
    assert_record_equal(&got, &p);
    pc_u256 id = pc_test_store_token_id(1);
    assert_int_equal(pc_test_next_count(e->store, &c.mediator, &id), 1);
    assert_int_equal(pc_test_next_count(e->store, &c.mediator, &id), 2);
    assert_int_equal(pc_test_offer(e->store, &c.mediator, &id, 1, NULL), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(pc_test_offer(e->store, &c.mediator, &id, 1, NULL), PC_COUNT_REPLAYED);
    assert_int_equal(pc_test_next_count(e->store, &c.mediator, &id), 3);
    assert_int_equal(pc_store_delete_mediator(e->store, &c.mediator, PC_ROLE_CONSUMER, NULL), 0);
    assert_int_equal(pc_store_get_mediator(e->store, &c.mediator, PC_ROLE_CONSUMER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 0);
    assert_int_equal(pc_store_get_mediator(e->store, &c.mediator, PC_ROLE_PROVIDER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 1);
    pc_test_expect_best(e->store, &c.mediator, &id, 1); /* the validated counts stay */
    /* the issued ones are gone */
    assert_int_equal(pc_test_next_count(e->store, &c.mediator, &id), 1);
    assert_int_equal(pc_store_delete_mediator(e->store, &c.mediator, PC_ROLE_PROVIDER, NULL), 0);
    pc_test_expect_best(e->store, &c.mediator, &id, 0);
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 0);
}

/* ---- nonces ---------------------------------------------------------------------------- */

static int claim(pc_store *s, uint8_t tag, uint64_t expires_at)
{
    uint8_t nonce[32];
    memset(nonce, tag, sizeof nonce);
    int fresh = -1;
    pc_error err = {0};
    if (pc_store_claim_nonce(s, nonce, expires_at, &fresh, &err) != 0)
        fail_msg("claim_nonce: %s", err.message);
    return fresh;
}

static void test_nonces(void **state)
{
    env *e = *state;
    uint64_t later = (uint64_t)time(NULL) + 300;
    assert_int_equal(claim(e->store, 1, later), 1);
    assert_int_equal(claim(e->store, 1, later), 0);
    assert_int_equal(claim(e->store, 2, later), 1);
    assert_int_equal(claim(e->store, 1, later + 100), 0);
    /* an expired nonce is forgotten */
    uint64_t soon = (uint64_t)time(NULL) + 1;
    assert_int_equal(claim(e->store, 3, soon), 1);
    assert_int_equal(claim(e->store, 3, soon), 0);
    struct timespec ts = {.tv_sec = 2, .tv_nsec = 200000000};
    nanosleep(&ts, NULL);
    assert_int_equal(claim(e->store, 3, later), 1);
    assert_int_equal(claim(e->store, 3, later), 0);
    assert_int_equal(claim(e->store, 1, later), 0);
}

static void test_describe(void **state)
{
    env *e = *state;
    const char *d = pc_store_describe(e->store);
    char want[200];
    if (e->backend == PC_STORE_SQLITE)
        snprintf(want, sizeof want, "sqlite:%s", e->path);
    else if (e->backend == PC_STORE_REDIS)
        snprintf(want, sizeof want, "redis:127.0.0.1:%d", pc_test_redis_port(e->redis));
    else
        snprintf(want, sizeof want, "memory");
    assert_string_equal(d, want);
}

/* ---- the chain the data belongs to --------------------------------------------------- */

/* Checks (chain_id, genesis byte g...) against the store; returns the rc. */
static int check_chain(pc_store *s, uint64_t chain_id, uint8_t g, pc_chain_identity *stored,
                       int *adopted, pc_error *err)
{
    uint8_t genesis[32];
    memset(genesis, g, sizeof genesis);
    return pc_store_check_chain_identity(s, chain_id, genesis, stored, adopted, err);
}

/* An empty store adopts the first chain and refuses every other one, also
 * after reopening; the refusal names both chains. */
static void test_chain_identity(void **state)
{
    env *e = *state;
    pc_chain_identity stored;
    int adopted = 0;
    pc_error err = {0};
    assert_int_equal(check_chain(e->store, 31337, 0xaa, &stored, &adopted, &err), 0);
    assert_int_equal(adopted, 1);
    assert_int_equal(check_chain(e->store, 31337, 0xaa, &stored, &adopted, &err), 0);
    assert_int_equal(adopted, 0);
    if (e->backend != PC_STORE_MEMORY) { /* what was adopted is durable */
        pc_store_close(e->store);
        assert_non_null(e->store = pc_test_store_env_open(e));
    }
    assert_int_equal(check_chain(e->store, 31337, 0xbb, &stored, &adopted, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(adopted, 0);
    assert_int_equal(stored.chain_id, 31337);
    assert_int_equal(stored.genesis_hash[31], 0xaa);
    assert_non_null(strstr(err.message, "belongs to chain 31337 (genesis 0xaaaaaaaa"));
    assert_non_null(strstr(err.message, "the node is on chain 31337 (genesis 0xbbbbbbbb"));
    assert_int_equal(check_chain(e->store, 1, 0xaa, &stored, &adopted, &err), -1);
    assert_int_equal(check_chain(e->store, 31337, 0xaa, &stored, &adopted, &err), 0);
}

/* ---- gas accounting -------------------------------------------------------------------- */

static pc_gas_tx gas_tx(uint8_t n, uint8_t account, uint8_t mediator, uint64_t gas,
                        const pc_u256 *fee)
{
    pc_gas_tx tx = {.gas_used = gas, .fee = *fee, .block = 1000u + n, .status = n % 2,
                    .at = 1700000000u + n};
    memset(tx.hash, n, 32);
    memset(tx.account.bytes, account, 20);
    memset(tx.mediator.bytes, mediator, 20); /* 0: no Mediator */
    memset(tx.selector, n, 4);
    return tx;
}

static const pc_gas_total *find_total(const pc_gas_total *t, size_t n, uint8_t key)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].key.bytes[0] == key)
            return &t[i];
    fail_msg("no total for %02x", key);
    return NULL;
}

static void expect_total(const pc_gas_total *t, size_t n, uint8_t key, uint64_t txs, uint64_t gas,
                         const char *fee)
{
    const pc_gas_total *got = find_total(t, n, key);
    char dec[PC_U256_DEC_LEN];
    pc_u256_to_dec(&got->fee, dec);
    assert_int_equal(got->txs, txs);
    assert_int_equal(got->gas_used, gas);
    assert_string_equal(dec, fee);
}

/* Totals per account and per Mediator add up exactly (fees beyond 64 bits
 * too), survive reopening, and the newest PC_STORE_RECENT_TXS transactions
 * come back newest first, field for field. */
static void test_gas_accounting(void **state)
{
    env *e = *state;
    pc_error err = {0};
    pc_u256 small = pc_u256_from_u64(123456789), big = {{5, 1, 0, 0}}; /* 2^64 + 5 */
    pc_gas_tx txs[] = {gas_tx(1, 0xa1, 0xe1, 50000, &small), gas_tx(2, 0xa1, 0xe1, 70000, &big),
                       gas_tx(3, 0xa1, 0, 900000, &small), gas_tx(4, 0xb2, 0xe2, 30000, &big)};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pc_store_record_gas(e->store, &txs[i], &err), 0);
    if (e->backend != PC_STORE_MEMORY) {
        pc_store_close(e->store);
        assert_non_null(e->store = pc_test_store_env_open(e));
    }
    pc_gas_total *t;
    size_t n;
    assert_int_equal(pc_store_gas_totals(e->store, PC_GAS_BY_ACCOUNT, &t, &n, &err), 0);
    assert_int_equal(n, 2);
    expect_total(t, n, 0xa1, 3, 1020000, "18446744073956465199"); /* 2^64 + 5 + 2 * 123456789 */
    expect_total(t, n, 0xb2, 1, 30000, "18446744073709551621");
    free(t);
    assert_int_equal(pc_store_gas_totals(e->store, PC_GAS_BY_MEDIATOR, &t, &n, &err), 0);
    assert_int_equal(n, 2);
    expect_total(t, n, 0xe1, 2, 120000, "18446744073833008410");
    expect_total(t, n, 0xe2, 1, 30000, "18446744073709551621");
    free(t);
    pc_gas_tx *recent;
    assert_int_equal(pc_store_recent_gas(e->store, &recent, &n, &err), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < 4; i++) {
        const pc_gas_tx *want = &txs[3 - i], *got = &recent[i];
        assert_memory_equal(got->hash, want->hash, 32);
        assert_true(pc_address_equal(&got->account, &want->account));
        assert_true(pc_address_equal(&got->mediator, &want->mediator));
        assert_memory_equal(got->selector, want->selector, 4);
        assert_true(got->gas_used == want->gas_used && got->block == want->block &&
                    got->status == want->status && got->at == want->at);
        assert_int_equal(pc_u256_cmp(&got->fee, &want->fee), 0);
    }
    free(recent);
    for (uint8_t i = 10; i < 10 + PC_STORE_RECENT_TXS; i++) {
        pc_gas_tx more = gas_tx(i, 0xa1, 0xe3, 1, &small);
        assert_int_equal(pc_store_record_gas(e->store, &more, &err), 0);
    }
    assert_int_equal(pc_store_recent_gas(e->store, &recent, &n, &err), 0);
    assert_int_equal(n, PC_STORE_RECENT_TXS);
    assert_int_equal(recent[0].hash[0], 9 + PC_STORE_RECENT_TXS);
    assert_int_equal(recent[n - 1].hash[0], 10);
    free(recent);
}

/* Pages (admin API): every record once, by (Mediator, role), filters counted;
 * and the consumer's counter read without taking a count. */
static void test_page_mediators(void **state)
{
    env *e = *state;
    pc_error err = {0};
    pc_address acct[2];
    pc_test_store_address(900, &acct[0]);
    pc_test_store_address(901, &acct[1]);
    for (unsigned i = 0; i < 30; i++) {
        pc_mediator_record r = {.role = i % 2 ? PC_ROLE_PROVIDER : PC_ROLE_CONSUMER,
                                .account = acct[i % 3 == 0]};
        pc_test_store_address(i / 2, &r.mediator);
        assert_int_equal(pc_store_put_mediator(e->store, &r, &err), 0);
    }
    pc_mediator_record *page, prev = {0};
    size_t n, total, seen = 0, matching = 0;
    for (size_t off = 0; off < 30; off += 7, free(page)) {
        assert_int_equal(pc_store_page_mediators(e->store, &(pc_mediator_filter){0}, off, 7, &page,
                                                 &n, &total, &err), 0);
        assert_int_equal(total, 30);
        assert_int_equal(n, off + 7 <= 30 ? 7 : 30 - off);
        for (size_t i = 0; i < n; seen++, prev = page[i++])
            assert_true(seen == 0 || pc_record_compare(&prev, &page[i]) < 0);
    }
    assert_int_equal(seen, 30);
    assert_int_equal(pc_store_page_mediators(e->store, &(pc_mediator_filter){0}, 30, 5, &page,
                                             &n, &total, &err), 0);
    assert_true(n == 0 && page == NULL && total == 30);
    pc_mediator_filter f = {.role = PC_ROLE_PROVIDER, .account = &acct[1]};
    assert_int_equal(pc_store_page_mediators(e->store, &f, 0, 100, &page, &n, &total, &err), 0);
    for (unsigned i = 0; i < 30; i++)
        matching += i % 2 && i % 3 == 0;
    assert_true(n == matching && total == matching && page[0].role == PC_ROLE_PROVIDER);
    free(page);
    pc_u256 id = pc_test_store_token_id(1);
    uint64_t count = 9;
    int found = 1;
    assert_int_equal(pc_store_issued_count(e->store, &acct[0], &id, &count, &found, &err), 0);
    assert_true(!found && count == 0);
    pc_test_next_count(e->store, &acct[0], &id);
    pc_test_next_count(e->store, &acct[0], &id);
    assert_int_equal(pc_store_issued_count(e->store, &acct[0], &id, &count, &found, &err), 0);
    assert_true(found && count == 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, pc_test_store_setup, pc_test_store_teardown)

int main(void)
{
    struct CMUnitTest tests[] = {
        T(test_mediator_records),
        T(test_both_roles),
        T(test_nonces),
        T(test_describe),
        T(test_chain_identity),
        T(test_gas_accounting),
        T(test_page_mediators),
    };
    size_t n = sizeof tests / sizeof tests[0];
    return pc_test_store_run_backends("store", tests, n) ? 1 : 0;
}
