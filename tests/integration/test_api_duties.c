/* Integration: paychand's background duties (docs/protocol.md §7) and the endpoints that
 * move money, against a real anvil, with short real timeouts (the servers
 * compare chain timestamps with their wall clock, so the chain's time is
 * never moved): the two-phase redemption finished by the provider's timer
 * (started by /redeemToken, and by token age), the grace period of the old
 * token id and its end (36), payout, both termination paths, and the
 * consumer's automatic top-up. Every money-moving step is checked to the wei
 * against balances, Mediator funds, events and the fees in the receipts.
 *
 * Tests share the consumer's and provider's accounts, so each one leaves no
 * duty pending for the next (the top-up test, which leaves one, is last). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/chain/wallet.h"
#include "support/integration.h"

#define COST 1000u
#define EVENT_WAIT_MS 30000

/* Redemption tests: a 4 s grace period. Termination tests: also an 8 s
 * termination timeout (the terminated flag may be cached for 2 s). */
static const pc_itest_terms QUICK = {.cost = COST, .termination = 100, .redemption = 4};
static const pc_itest_terms CLOSING = {.cost = COST, .termination = 8, .redemption = 4};

/* Balances at the start of a step, and the block they were read at. */
typedef struct snapshot {
    uint64_t block;
    pc_u256 consumer, provider;
} snapshot;

static void take_snapshot(pc_itest *t, snapshot *s)
{
    s->block = pc_itest_block(t);
    s->consumer = pc_itest_balance(t, IT_CONSUMER);
    s->provider = pc_itest_balance(t, IT_PROVIDER);
}

/* Asserts balance(who) == before + delta - (fees of who's transactions since the snapshot). */
#define expect_balance(t, s, who, delta) \
    expect_balance_at((t), (s), (who), (delta), __FILE__, __LINE__)
static void expect_balance_at(pc_itest *t, const snapshot *s, int who, int64_t delta,
                              const char *file, int line)
{
    pc_u256 fees = pc_itest_fees_since(t, who, s->block), want;
    pc_u256 change = pc_u256_from_u64(delta < 0 ? (uint64_t)-delta : (uint64_t)delta);
    const pc_u256 *before = who == IT_CONSUMER ? &s->consumer : &s->provider;
    int overflow = delta < 0 ? pc_u256_sub(&want, before, &change)
                             : pc_u256_add(&want, before, &change);
    if (overflow || pc_u256_sub(&want, &want, &fees))
        pc_itest_fail_at(file, line, "balance arithmetic overflow");
    pc_u256 now = pc_itest_balance(t, who);
    if (pc_u256_cmp(&now, &want) != 0)
        pc_itest_fail_at(file, line, "account %d: balance %s, expected %s (%+lld, fees %s)", who,
                         pc_itest_dec(&now), pc_itest_dec(&want), (long long)delta,
                         pc_itest_dec(&fees));
}

static void expect_mediator_balance(pc_itest *t, const pc_address *m, uint64_t wei)
{
    pc_u256 have;
    pc_error err;
    assert_int_equal(pc_rpc_get_balance(t->rpc, m, &have, &err), 0);
    assert_string_equal(pc_itest_dec(&have), pc_itest_dec(&(pc_u256){{wei}}));
}

/* Waits for the n-th event of kind; fails the test when it does not come. */
#define wait_event(t, m, kind, n, ev) wait_event_at((t), (m), (kind), (n), (ev), __FILE__, __LINE__)
static void wait_event_at(pc_itest *t, const pc_address *m, pc_mediator_event_kind kind, size_t n,
                          pc_mediator_event *ev, const char *file, int line)
{
    size_t got = pc_itest_wait_events(t, m, kind, n, EVENT_WAIT_MS, ev);
    if (got < n)
        pc_itest_fail_at(file, line, "%s event #%zu did not come within %d ms (%zu seen)",
                         pc_mediator_event_name(kind), n, EVENT_WAIT_MS, got);
}

/* Validates the consumer's tokens of id with the given counts at the provider. */
static void pay_counts(pc_itest *t, pc_test_client *provider, const pc_address *m,
                       const pc_u256 *id, const pc_itest_terms *terms, const uint64_t *counts,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pc_itest_token tok;
        pc_test_reply r;
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, m, id, counts[i], &tok);
        pc_itest_validate(t, provider, &tok, terms, &r);
        it_expect_ok(&r);
        assert_true(json_is_true(json_object_get(r.body, "valid")));
        pc_test_reply_free(&r);
    }
}

static void expect_event_amounts(const pc_mediator_event *ev, uint64_t a, uint64_t b)
{
    assert_string_equal(pc_itest_dec(&ev->amount_a), pc_itest_dec(&(pc_u256){{a}}));
    assert_string_equal(pc_itest_dec(&ev->amount_b), pc_itest_dec(&(pc_u256){{b}}));
}

/* ---- redemption ------------------------------------------------------------------------------- */

/* /redeemToken starts the redemption; during the grace period the old id is
 * still accepted; after it the timer redeems the newest stored token and
 * pays out, exactly count * cost reaching the provider; the old id is then
 * refused with 36; /payout works for the provider only. */
static void test_redemption_by_timer(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 id;
    snapshot s;
    pc_test_reply r;
    pc_mediator_event ev;
    it_open_channel(t, &QUICK, 1000000, &m, &id);
    const uint64_t before_start[] = {1, 2, 3, 5};
    pay_counts(t, NULL, &m, &id, &QUICK, before_start, 4);
    take_snapshot(t, &s);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    it_expect_ok(&r);
    assert_int_equal(json_object_size(r.body), 1);
    assert_true(json_is_true(json_object_get(r.body, "started")));
    pc_test_reply_free(&r);
    wait_event(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, 1, &ev);
    assert_int_equal(pc_u256_cmp(&ev.id_a, &id), 0);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_REDEMPTION_RUNNING); /* one at a time */
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_ONLY_PROVIDER);
    pc_test_reply_free(&r);
    const uint64_t during_grace[] = {4, 7};
    pay_counts(t, NULL, &m, &id, &QUICK, during_grace, 2);

    wait_event(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 1, &ev);
    assert_int_equal(pc_u256_cmp(&ev.id_a, &id), 0);
    expect_event_amounts(&ev, 7, 7 * COST);
    wait_event(t, &m, PC_MEDIATOR_PAID_OUT, 1, &ev);
    assert_true(pc_address_equal(&ev.party_a, &t->addr[IT_PROVIDER]));
    assert_string_equal(pc_itest_dec(&ev.amount_a), "7000");
    pc_mediator_state st;
    pc_itest_state(t, &m, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), "993000");
    assert_true(pc_u256_is_zero(&st.provider_funds));
    expect_mediator_balance(t, &m, 993000);
    expect_balance(t, &s, IT_PROVIDER, 7 * COST);
    expect_balance(t, &s, IT_CONSUMER, 0);

    pc_itest_token old;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 8, &old);
    pc_itest_validate(t, NULL, &old, &QUICK, &r);
    it_expect_error(&r, 412, PC_ERR_UNKNOWN_TOKEN_ID); /* its grace period is over */
    pc_test_reply_free(&r);

    take_snapshot(t, &s);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/payout", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_ONLY_PROVIDER);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/payout", pc_itest_addr(&m));
    it_expect_ok(&r);
    assert_int_equal(json_object_size(r.body), 0);
    pc_test_reply_free(&r);
    expect_balance(t, &s, IT_PROVIDER, 0); /* nothing left to pay: only the fee */
    wait_event(t, &m, PC_MEDIATOR_PAID_OUT, 2, &ev);
    assert_true(pc_u256_is_zero(&ev.amount_a));
}

/* A provider server with --redeem-after 2 starts the redemption by itself
 * once the active token is older than that, then finishes it. A redemption
 * started (by /redeemToken) for an id without tokens is completed only when
 * the slot is needed: once the next id has tokens and is due. */
static void test_redemption_by_token_age(void **state)
{
    pc_itest *t = *state;
    const char *aging_args[] = {"--duty-interval", "200", "--redeem-after", "2", NULL};
    pc_test_paychand *aging = pc_itest_start_provider_server(t, "aging-provider", NULL,
                                                             aging_args);
    assert_non_null(aging);
    pc_test_client *provider = pc_itest_client(t, aging, IT_PROVIDER);
    pc_address m;
    pc_u256 id;
    snapshot s;
    pc_mediator_event ev;
    it_open_channel(t, &QUICK, 50000, &m, &id);
    take_snapshot(t, &s);
    const uint64_t counts[] = {1, 2, 3};
    pay_counts(t, provider, &m, &id, &QUICK, counts, 3);
    wait_event(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, 1, &ev);
    assert_int_equal(pc_u256_cmp(&ev.id_a, &id), 0);
    wait_event(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 1, &ev);
    expect_event_amounts(&ev, 3, 3 * COST);
    wait_event(t, &m, PC_MEDIATOR_PAID_OUT, 1, &ev);
    pc_itest_sleep_ms(1000); /* no further redemption: the new id has no tokens */
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, NULL), 1);
    expect_balance(t, &s, IT_PROVIDER, 3 * COST);
    expect_mediator_balance(t, &m, 50000 - 3 * COST);

    /* a redemption of an id without tokens: its end moves nothing, so it is
     * completed (redeeming 0) only once the next id is due, then that one */
    pc_test_reply r;
    char target[128];
    snprintf(target, sizeof target, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    pc_test_request(provider, "GET", target, NULL, NULL, &r);
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    wait_event(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, 2, &ev);
    pc_itest_sleep_ms((QUICK.redemption + 2) * 1000); /* its grace period ends */
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, NULL), 1);
    pc_mediator_state st;
    pc_itest_state(t, &m, &st);
    pay_counts(t, provider, &m, &st.active_token_id, &QUICK, counts, 2);
    wait_event(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 2, &ev);
    expect_event_amounts(&ev, 0, 0);
    assert_true(pc_test_paychand_log_contains(aging, "frees the redemption slot"));
    wait_event(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 3, &ev);
    assert_int_equal(pc_u256_cmp(&ev.id_a, &st.active_token_id), 0);
    expect_event_amounts(&ev, 2, 2 * COST);
    wait_event(t, &m, PC_MEDIATOR_PAID_OUT, 2, &ev);
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_PAID_OUT, NULL), 2);
    pc_test_client_destroy(provider);
    assert_int_equal(pc_test_paychand_stop(aging), 0);
    pc_test_paychand_free(aging);
}

/* ---- termination -------------------------------------------------------------------------------- */

static void expect_terminated(pc_itest *t, int who, const pc_address *m)
{
    pc_test_reply r;
    pc_itest_get(t, who, &r, "/contracts/%s/terminationStatus", pc_itest_addr(m));
    it_expect_ok(&r);
    assert_int_equal(json_object_size(r.body), 1);
    assert_true(json_is_true(json_object_get(r.body, "terminated")));
    pc_test_reply_free(&r);
    pc_itest_get(t, who, &r, "/contracts/%s/terminate", pc_itest_addr(m));
    it_expect_ok(&r);
    assert_int_equal(json_object_size(r.body), 1);
    assert_true(json_is_true(json_object_get(r.body, "terminated")));
    pc_test_reply_free(&r);
}

/* The consumer's server refuses new tokens for m (code 1) within a quarter
 * of the termination timeout plus one refresh. */
static void expect_tokens_refused(pc_itest *t, const pc_address *m)
{
    for (int waited = 0;; waited += 250) {
        pc_test_reply r;
        pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/createSignatureHeaders",
                     pc_itest_addr(m));
        int refused = r.status == 412 && pc_test_reply_code(&r) == PC_ERR_TERMINATED;
        if (!refused && waited > (int)(CLOSING.termination * 1000 / 4) + 1500)
            it_fail("createSignatureHeaders still answers %ld: %s", r.status, r.text);
        pc_test_reply_free(&r);
        if (refused)
            return;
        pc_itest_sleep_ms(250);
    }
}

/* The provider closes at once: the consumer gets its funds back to the wei,
 * unredeemed tokens are forfeited, the provider pays only gas. */
static void test_provider_terminates(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 id;
    snapshot s;
    pc_test_reply r;
    pc_mediator_event ev;
    it_open_channel(t, &CLOSING, 100000, &m, &id);
    const uint64_t counts[] = {1, 2, 3};
    pay_counts(t, NULL, &m, &id, &CLOSING, counts, 3);
    take_snapshot(t, &s);
    pc_itest_get(t, IT_STRANGER, &r, "/contracts/%s/terminate", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_NOT_A_PARTY);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/terminate", pc_itest_addr(&m));
    it_expect_ok(&r);
    assert_int_equal(json_object_size(r.body), 1);
    assert_true(json_is_true(json_object_get(r.body, "terminated")));
    pc_test_reply_free(&r);
    wait_event(t, &m, PC_MEDIATOR_TERMINATED, 1, &ev);
    assert_true(pc_address_equal(&ev.party_a, &t->addr[IT_PROVIDER]));
    expect_event_amounts(&ev, 100000, 0);
    expect_balance(t, &s, IT_CONSUMER, 100000);
    expect_balance(t, &s, IT_PROVIDER, 0);
    expect_mediator_balance(t, &m, 0);
    expect_terminated(t, IT_PROVIDER, &m);
    expect_terminated(t, IT_CONSUMER, &m);
    expect_tokens_refused(t, &m);
    pc_itest_sleep_ms(1000); /* the duties notice and forget it; nothing is sent */
    assert_true(pc_test_paychand_log_contains(t->provider_server, "forgotten"));
    expect_balance(t, &s, IT_CONSUMER, 100000);
    expect_balance(t, &s, IT_PROVIDER, 0);
}

/* The consumer starts the termination; the provider's timer starts the final
 * redemption at once (new active id 0), redeems the newest token after the
 * grace period (also a count that arrived during it) and pays out; the
 * consumer's timer finalizes after the termination timeout. */
static void test_consumer_terminates(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 id;
    snapshot s;
    pc_test_reply r;
    pc_mediator_event ev;
    it_open_channel(t, &CLOSING, 100000, &m, &id);
    const uint64_t counts[] = {1, 2, 4, 3};
    pay_counts(t, NULL, &m, &id, &CLOSING, counts, 4);
    take_snapshot(t, &s);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/terminate", pc_itest_addr(&m));
    it_expect_ok(&r);
    assert_int_equal(json_object_size(r.body), 2);
    assert_true(json_is_false(json_object_get(r.body, "terminated")));
    assert_true(json_is_true(json_object_get(r.body, "terminationStarted")));
    pc_test_reply_free(&r);
    pc_mediator_state st;
    pc_itest_state(t, &m, &st);
    assert_true(st.termination_started_at > 0);
    const int parties[] = {IT_CONSUMER, IT_PROVIDER};
    for (int i = 0; i < 2; i++) {
        pc_itest_get(t, parties[i], &r, "/contracts/%s/terminationStatus", pc_itest_addr(&m));
        it_expect_ok(&r);
        assert_true(json_is_false(json_object_get(r.body, "terminated")));
        assert_true(json_is_true(json_object_get(r.body, "terminationRunning")));
        assert_int_equal(json_integer_value(json_object_get(r.body, "willTerminateAt")),
                         st.termination_started_at + CLOSING.termination);
        pc_test_reply_free(&r);
    }

    wait_event(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, 1, &ev);
    assert_int_equal(pc_u256_cmp(&ev.id_a, &id), 0);
    assert_true(pc_u256_is_zero(&ev.id_b));
    const uint64_t late[] = {5}; /* still within the grace period of the old id */
    pay_counts(t, NULL, &m, &id, &CLOSING, late, 1);
    expect_tokens_refused(t, &m); /* the active id is 0 now */
    wait_event(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 1, &ev);
    expect_event_amounts(&ev, 5, 5 * COST);
    wait_event(t, &m, PC_MEDIATOR_TERMINATED, 1, &ev);
    assert_true(pc_address_equal(&ev.party_a, &t->addr[IT_CONSUMER]));
    expect_event_amounts(&ev, 100000 - 5 * COST, 0);
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_PAID_OUT, &ev), 1);
    assert_string_equal(pc_itest_dec(&ev.amount_a), "5000");
    expect_balance(t, &s, IT_CONSUMER, 100000 - 5 * COST);
    expect_balance(t, &s, IT_PROVIDER, 5 * COST);
    expect_mediator_balance(t, &m, 0);
    expect_terminated(t, IT_CONSUMER, &m);
    expect_terminated(t, IT_PROVIDER, &m);
}

/* The provider's transactions so far (its account's nonce on the chain). */
static uint64_t provider_tx_count(pc_itest *t)
{
    uint64_t n = 0;
    pc_error err;
    assert_int_equal(pc_rpc_get_transaction_count(t->rpc, &t->addr[IT_PROVIDER], "latest", &n,
                                                  &err), 0);
    return n;
}

/* Regression (issue 9, point 3): the consumer terminates a Mediator whose
 * tokens were all redeemed. The provider's server used to start a final
 * redemption of the empty active id, redeem 0 requests and pay out 0 (3
 * transactions moving nothing). Now it sends none: the provider's nonce
 * does not move from /terminate to the end; the consumer gets the rest. */
static void test_nothing_to_redeem_sends_nothing(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 id;
    snapshot s;
    pc_test_reply r;
    pc_mediator_event ev;
    it_open_channel(t, &CLOSING, 70000, &m, &id);
    const uint64_t counts[] = {1, 2, 3};
    pay_counts(t, NULL, &m, &id, &CLOSING, counts, 3);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    wait_event(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 1, &ev);
    expect_event_amounts(&ev, 3, 3 * COST);
    wait_event(t, &m, PC_MEDIATOR_PAID_OUT, 1, &ev); /* fully redeemed and paid */
    pc_itest_sleep_ms(600);
    take_snapshot(t, &s);
    uint64_t sent = provider_tx_count(t);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/terminate", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    wait_event(t, &m, PC_MEDIATOR_TERMINATED, 1, &ev);
    expect_event_amounts(&ev, 70000 - 3 * COST, 0);
    pc_itest_sleep_ms(1000); /* five more duty passes of the provider */
    if (provider_tx_count(t) != sent)
        it_fail("the provider sent %llu transactions with nothing to redeem",
                (unsigned long long)(provider_tx_count(t) - sent));
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_REDEMPTION_STARTED, NULL), 1);
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, NULL), 1);
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_PAID_OUT, NULL), 1);
    expect_balance(t, &s, IT_CONSUMER, 70000 - 3 * COST);
    expect_balance(t, &s, IT_PROVIDER, 0);
    expect_mediator_balance(t, &m, 0);
}

/* ---- automatic top-up ------------------------------------------------------------------------- */

/* Funds falling below the threshold (by a redemption) make the consumer's
 * timer deposit the remembered amount again, once. */
static void test_auto_top_up(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    snapshot s;
    pc_test_reply r;
    pc_mediator_event ev;
    pc_mediator_state st;
    it_use_service(t, IT_CONSUMER, &QUICK, 0, &m);
    take_snapshot(t, &s);
    it_deposit(t, IT_CONSUMER, &m, 10000, 5000);
    pc_itest_state(t, &m, &st);
    const uint64_t counts[] = {1, 2, 3, 4, 5, 6};
    pay_counts(t, NULL, &m, &st.active_token_id, &QUICK, counts, 6);
    pc_itest_sleep_ms(1000);
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_DEPOSITED, NULL), 1);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    wait_event(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 1, &ev);
    expect_event_amounts(&ev, 6, 6 * COST); /* consumer funds 4000 < 5000 now */
    wait_event(t, &m, PC_MEDIATOR_DEPOSITED, 2, &ev);
    assert_true(pc_address_equal(&ev.party_a, &t->addr[IT_CONSUMER]));
    expect_event_amounts(&ev, 10000, 14000);
    pc_itest_sleep_ms(2000); /* above the threshold again: no second top-up */
    assert_int_equal(pc_itest_count_events(t, &m, PC_MEDIATOR_DEPOSITED, NULL), 2);
    pc_itest_state(t, &m, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), "14000");
    expect_balance(t, &s, IT_CONSUMER, -20000); /* two deposits */
}

/* ---- an account used by another process too ------------------------------------------------- */

/* Regression (fixed): when another process sent a transaction from
 * an account paychand serves (a second paychand of the team, as with a
 * shared Redis, or an operator's wallet), paychand's next transaction from
 * that account is sent with its stale local nonce: the node answers "nonce
 * too low" and the request fails with 503 code 101 (the nonce is resynced
 * only afterwards, so a retry works). Expected: resync and send again, so
 * the request succeeds. This test guards the fix. */
static void test_account_shared_with_another_sender(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 id;
    pc_test_reply r;
    it_open_channel(t, &QUICK, 10000, &m, &id);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/payout", pc_itest_addr(&m));
    it_expect_ok(&r); /* the server's nonce tracker now knows the account */
    pc_test_reply_free(&r);
    pc_wallet_options wo = {.chain_id = t->chain_id};
    pc_error err;
    pc_tx_result res;
    pc_wallet *w = pc_wallet_create(t->rpc, t->secp, t->key[IT_PROVIDER], &wo, &err);
    assert_non_null(w);
    pc_u256 one = pc_u256_from_u64(1);
    assert_int_equal(pc_wallet_send(w, &t->addr[IT_DEPLOYER], &one, NULL, 0, &res, NULL, &err), 0);
    pc_tx_result_free(&res);
    pc_wallet_destroy(w);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/payout", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
}

static int setup(void **state)
{
    static const char *args[] = {"--duty-interval", "200", NULL}; /* kept in t->opts */
    pc_itest_options o = {.args = args};
    *state = pc_itest_start(&o);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    pc_itest_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redemption_by_timer),
        cmocka_unit_test(test_provider_terminates),
        cmocka_unit_test(test_consumer_terminates),
        cmocka_unit_test(test_nothing_to_redeem_sends_nothing),
        cmocka_unit_test(test_auto_top_up),
        /* these two send from the provider's account outside the team's server */
        cmocka_unit_test(test_account_shared_with_another_sender),
        cmocka_unit_test(test_redemption_by_token_age),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
