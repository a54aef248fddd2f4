/* Integration: redemption that pays for itself, and the gas accounted
 * (issue 15, points 4 and 5), against a real anvil whose base fee the tests
 * set (anvil_setNextBlockBaseFeePerGas, then a mined block: paychand reads
 * the fee of the latest block), with real paychand processes weighing gas
 * (--redeem-gas-multiple 10, --redemption-gas 190000; anvil's tip is 1 gwei):
 *
 *  - a low value at a high fee is not redeemed; once the value passes 10 x
 *    the gas of a redemption at the (lower) fee, it is, and the provider's
 *    /status accounts each of its transactions' gas and fee to the wei of
 *    the receipts;
 *  - above --max-fee-per-gas nothing is sent while no deadline forces it;
 *    the token age deadline then starts and finishes the redemption even
 *    above the cap;
 *  - when the consumer terminates, the final redemption is sent above the
 *    cap if its value exceeds the gas, and not at all (said in the log) when
 *    the gas would cost more than it brings in.
 *
 * Each test uses its own provider server (the provider account is shared,
 * the servers' stores are not), and validates its tokens through it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/integration.h"

#define GWEI 1000000000ULL
#define EVENT_WAIT_MS 30000
#define QUIET_MS 1500 /* several duty passes (200 ms) in which nothing may happen */

static const pc_itest_terms TERMS = {.cost = 1000 * GWEI, .termination = 100, .redemption = 3};
static const pc_itest_terms CLOSING = {.cost = 1000 * GWEI, .termination = 10, .redemption = 3};

/* The base fee of the next block (wei), which is mined at once: the latest block's is then `fee`. */
static void set_base_fee(pc_itest *t, uint64_t fee)
{
    char params[48];
    snprintf(params, sizeof params, "[\"0x%llx\"]", (unsigned long long)fee);
    assert_int_equal(pc_test_anvil_rpc(t->anvil, "anvil_setNextBlockBaseFeePerGas", params), 0);
    assert_int_equal(pc_test_anvil_mine(t->anvil), 0);
}

/* A provider server weighing gas, with more arguments (NULL-terminated, may be NULL). */
static pc_test_paychand *weighing_provider(pc_itest *t, const char *name, const char *const *more)
{
    const char *args[16] = {"--duty-interval", "200", "--redeem-gas-multiple", "10",
                            "--redemption-gas", "190000", "--log-level", "debug"};
    size_t n = 8;
    for (size_t i = 0; more && more[i] && n + 1 < 16; i++)
        args[n++] = more[i];
    pc_test_paychand *p = pc_itest_start_provider_server(t, name, NULL, args);
    assert_non_null(p);
    return p;
}

/* The consumer's token of `count` for m's active id, validated through c. */
static void pay(pc_itest *t, pc_test_client *c, const pc_address *m, const pc_u256 *id,
                const pc_itest_terms *terms, uint64_t count)
{
    pc_itest_token tok;
    pc_test_reply r;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, m, id, count, &tok);
    pc_itest_validate(t, c, &tok, terms, &r);
    it_expect_ok(&r);
    assert_true(json_is_true(json_object_get(r.body, "valid")));
    pc_test_reply_free(&r);
}

static void expect_events(pc_itest *t, const pc_address *m, pc_mediator_event_kind kind,
                          size_t n)
{
    size_t got = pc_itest_wait_events(t, m, kind, n, EVENT_WAIT_MS, NULL);
    if (got != n)
        it_fail("%zu %s events, expected %zu", got, pc_mediator_event_name(kind), n);
}

static void expect_no_redemption(pc_itest *t, const pc_address *m)
{
    pc_itest_sleep_ms(QUIET_MS);
    assert_int_equal(pc_itest_count_events(t, m, PC_MEDIATOR_REDEMPTION_STARTED, NULL), 0);
}

static void stop_server(pc_test_paychand *p, pc_test_client *c)
{
    pc_test_client_destroy(c);
    assert_int_equal(pc_test_paychand_stop(p), 0);
    pc_test_paychand_free(p);
}

/* /status "gas" of server p: the provider account's totals equal the sum
 * of the receipts' fees of its transactions since `block`, and there were
 * `txs` of them, all concerning one Mediator. */
static void expect_gas_status(pc_itest *t, const pc_test_paychand *p, uint64_t block, int txs)
{
    pc_test_reply r;
    pc_itest_status(p, &r);
    json_t *body = it_expect_ok(&r);
    json_t *gas = json_object_get(body, "gas");
    json_t *acc = json_object_get(json_object_get(gas, "accounts"), t->sender[IT_PROVIDER]);
    json_t *med = json_object_get(gas, "mediators");
    pc_u256 fees = pc_itest_fees_since(t, IT_PROVIDER, block);
    if (!acc || json_integer_value(json_object_get(acc, "transactions")) != txs ||
        json_integer_value(json_object_get(acc, "gasUsed")) < 21000 * txs ||
        strcmp(json_string_value(json_object_get(acc, "feeWei")), pc_itest_dec(&fees)) != 0 ||
        json_integer_value(json_object_get(med, "count")) != 1 ||
        !json_equal(json_object_get(med, "feeWei"), json_object_get(acc, "feeWei")))
        it_fail("/status gas: %s (fees from the receipts %s, %d transactions expected)", r.text,
                pc_itest_dec(&fees), txs);
    pc_test_reply_free(&r);
}

/* At 100 gwei the value of 100 requests (1e14 wei) is far below 10 x the
 * gas of a redemption (~1.9e16 wei); at ~1 gwei it still is (~1.9e14 x 10);
 * 2000 requests (2e15 wei) pass it: redeemed and paid out, gas accounted. */
static void test_value_threshold(void **state)
{
    pc_itest *t = *state;
    pc_test_paychand *p = weighing_provider(t, "threshold-provider", NULL);
    pc_test_client *c = pc_itest_client(t, p, IT_PROVIDER);
    pc_address m;
    pc_u256 id;
    uint64_t block = pc_itest_block(t);
    it_open_channel(t, &TERMS, 100 * 1000 * GWEI * 100, &m, &id);
    set_base_fee(t, 100 * GWEI);
    pay(t, c, &m, &id, &TERMS, 100);
    expect_no_redemption(t, &m);
    assert_true(pc_test_paychand_log_contains(p, "below 10 x the gas of a redemption"));
    set_base_fee(t, 1000);
    expect_no_redemption(t, &m);
    pay(t, c, &m, &id, &TERMS, 2000);
    expect_events(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, 1);
    assert_true(pc_test_paychand_log_contains(p, "its value pays for the gas"));
    expect_events(t, &m, PC_MEDIATOR_PAID_OUT, 1);
    pc_mediator_event ev;
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, &ev), 1);
    assert_string_equal(pc_itest_dec(&ev.amount_a), "2000");
    pc_itest_sleep_ms(500); /* the payout's record follows its receipt */
    expect_gas_status(t, p, block, 2); /* start, then redeemAndPayout */
    stop_server(p, c);
}

/* Above the cap, a value that would pay is not redeemed; the token age
 * (a deadline) starts and, after the grace period, finishes the
 * redemption above the cap all the same. */
static void test_fee_cap_and_age_deadline(void **state)
{
    pc_itest *t = *state;
    const char *more[] = {"--max-fee-per-gas", "50000000000", "--redeem-after", "4", NULL};
    pc_test_paychand *p = weighing_provider(t, "capped-provider", more);
    pc_test_client *c = pc_itest_client(t, p, IT_PROVIDER);
    pc_address m;
    pc_u256 id;
    it_open_channel(t, &TERMS, 1000 * 1000 * GWEI * 1000, &m, &id);
    set_base_fee(t, 200 * GWEI); /* ~201 gwei/gas: a redemption ~3.8e16 wei */
    pay(t, c, &m, &id, &TERMS, 500000); /* 5e17 wei: over 10 x that */
    pc_itest_sleep_ms(2000);
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, NULL), 0);
    assert_true(pc_test_paychand_log_contains(p, "above the cap"));
    set_base_fee(t, 200 * GWEI); /* still above the cap when the age deadline comes */
    expect_events(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, 1);
    assert_true(pc_test_paychand_log_contains(p, "starting a redemption (token age)"));
    set_base_fee(t, 200 * GWEI);
    expect_events(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 1);
    expect_events(t, &m, PC_MEDIATOR_PAID_OUT, 1);
    stop_server(p, c);
}

/* The consumer terminates two Mediators while the fee is above the cap: the
 * one whose tokens are worth more than the gas is redeemed at once; the
 * other (100 requests, 1e14 wei, against ~4e16 wei of gas) is not, and the
 * log says why. */
static void test_termination_deadline(void **state)
{
    pc_itest *t = *state;
    const char *more[] = {"--max-fee-per-gas", "50000000000", NULL};
    pc_test_paychand *p = weighing_provider(t, "closing-provider", more);
    pc_test_client *c = pc_itest_client(t, p, IT_PROVIDER);
    pc_address rich, poor;
    pc_u256 rich_id, poor_id;
    it_open_channel(t, &CLOSING, 1000 * 1000 * GWEI * 1000, &rich, &rich_id);
    it_open_channel(t, &CLOSING, 1000 * 1000 * GWEI, &poor, &poor_id);
    set_base_fee(t, 200 * GWEI);
    pay(t, c, &rich, &rich_id, &CLOSING, 100000); /* 1e17 wei: over the gas, under 10 x */
    pay(t, c, &poor, &poor_id, &CLOSING, 100);
    expect_no_redemption(t, &rich);
    pc_test_reply r;
    const pc_address *both[] = {&rich, &poor};
    for (int i = 0; i < 2; i++) {
        pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/terminate", pc_itest_addr(both[i]));
        it_expect_ok(&r);
        pc_test_reply_free(&r);
    }
    set_base_fee(t, 200 * GWEI);
    expect_events(t, &rich, PC_MEDIATOR_TOKEN_REDEEMED, 1);
    assert_true(pc_test_paychand_log_contains(
        p, "starting a redemption (the consumer started termination)"));
    assert_true(pc_test_paychand_log_contains(p, "redeeming would cost more than it brings in"));
    assert_int_equal(pc_itest_count_events(t, &poor, PC_MEDIATOR_REDEMPTION_STARTED, NULL), 0);
    stop_server(p, c);
}

static int setup(void **state)
{
    static const char *args[] = {"--duty-interval", "200", NULL}; /* kept in t->opts */
    pc_itest_options o = {.args = args};
    pc_itest *t = pc_itest_start(&o);
    *state = t;
    return t ? 0 : -1;
}

static int teardown(void **state)
{
    pc_itest_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_threshold),
        cmocka_unit_test(test_fee_cap_and_age_deadline),
        cmocka_unit_test(test_termination_deadline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
