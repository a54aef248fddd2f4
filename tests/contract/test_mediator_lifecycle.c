/* Mediator lifecycle against a real anvil, through the typed binding: deploy
 * -> deposit -> tokens signed off chain -> start redemption -> grace period ->
 * redeem -> payout -> consumer termination -> timeout -> finalize, and the
 * provider's immediate close. Every money-moving step checks the balances of
 * consumer, provider and Mediator to the wei (gas from result.fee), and the
 * events the binding decodes must tell the same story in the same order; a
 * state read once and then followed from those events alone
 * (pc_mediator_apply_event) equals a fresh read after every step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto/eip712.h"
#include "mediator/mediator.h"
#include "support/mediator_fixture.h"

#define SECOND_DEPOSIT 234567u
#define REQUESTS 7u /* tokens the consumer signs before the redemption */

/* Balances of the three parties of a channel, read together. */
typedef struct parties {
    pc_test_account consumer, provider, mediator;
} parties;

static void read_parties(const pc_test_channel *ch, parties *p)
{
    pc_test_account_read(ch->chain, &ch->terms.consumer, &p->consumer);
    pc_test_account_read(ch->chain, &ch->terms.provider, &p->provider);
    pc_test_account_read(ch->chain, &ch->mediator, &p->mediator);
}

/* The consumer signs counts 1..n of token_id, as it does per request; each
 * token must recover to the consumer off chain. Returns the last signature. */
static void sign_requests(const pc_test_channel *ch, const pc_u256 *token_id, uint64_t n,
                          pc_signature *last)
{
    for (uint64_t count = 1; count <= n; count++) {
        pc_u256 cnt = pc_u256_from_u64(count);
        pc_address signer;
        pc_test_sign_token(ch, token_id, count, last);
        assert_int_equal(pc_payment_token_recover(ch->chain->secp, ch->chain->chain_id,
                                                  &ch->mediator, &ch->terms.consumer, token_id,
                                                  &cnt, last, &signer),
                         0);
        assert_true(pc_address_equal(&signer, &ch->terms.consumer));
    }
}

/* Redeems the token (count, sig) of the soon-expiring id (grace already
 * passed) and checks that only the provider's gas left anyone's account. */
static void redeem(pc_test_channel *ch, uint64_t count, const pc_signature *sig)
{
    parties before;
    pc_tx_result res;
    pc_error err;
    pc_u256 cnt = pc_u256_from_u64(count);
    read_parties(ch, &before);
    int rc = pc_mediator_redeem_token(pc_test_wallet(ch, PC_TEST_PROVIDER), &ch->mediator, &cnt,
                                      sig, &res, NULL, &err);
    assert_ok(rc, &err);
    assert_balance_change(ch->chain, &before.provider, 0, 0, &res.fee);
    assert_balance_change(ch->chain, &before.consumer, 0, 0, NULL);
    assert_balance_change(ch->chain, &before.mediator, 0, 0, NULL);
    pc_tx_result_free(&res);
}

/* Checks the kind and origin of event i and returns it. */
static const pc_mediator_event *event_at(const pc_test_channel *ch, const pc_mediator_event *ev,
                                         size_t n, size_t i, pc_mediator_event_kind kind)
{
    assert_true(i < n);
    assert_int_equal(ev[i].kind, kind);
    assert_true(pc_address_equal(&ev[i].mediator, &ch->mediator));
    if (i > 0) /* chain order */
        assert_true(ev[i].block_number > ev[i - 1].block_number ||
                    (ev[i].block_number == ev[i - 1].block_number &&
                     ev[i].log_index > ev[i - 1].log_index));
    return &ev[i];
}

static void fetch_events(const pc_test_channel *ch, pc_mediator_event **ev, size_t *n)
{
    pc_error err;
    int rc = pc_mediator_get_events(ch->chain->rpc, &ch->mediator, ch->deploy_block,
                                    PC_RPC_BLOCK_LATEST, ev, n, &err);
    assert_ok(rc, &err);
}

/* What the lifecycle test observed, to compare the events with. */
typedef struct lifecycle_facts {
    pc_u256 old_id, new_id;
    uint64_t redemption_timeout_at;
    uint64_t termination_started_at;
    uint64_t consumer_payout;
} lifecycle_facts;

static void check_lifecycle_events(const pc_test_channel *ch, const lifecycle_facts *f)
{
    pc_mediator_event *ev;
    size_t n;
    const pc_mediator_event *e;
    const pc_address *consumer = &ch->terms.consumer, *provider = &ch->terms.provider;
    uint64_t earned = REQUESTS * PC_TEST_COST_PER_REQUEST;
    fetch_events(ch, &ev, &n);
    assert_int_equal(n, 8);

    e = event_at(ch, ev, n, 0, PC_MEDIATOR_CREATED);
    assert_true(pc_address_equal(&e->party_a, consumer));
    assert_true(pc_address_equal(&e->party_b, provider));
    assert_u256_equal(&e->id_a, &ch->initial_token_id);
    assert_u256_u64(&e->amount_a, PC_TEST_COST_PER_REQUEST);
    assert_int_equal(e->time_a, PC_TEST_TERMINATION_TIMEOUT);
    assert_int_equal(e->time_b, PC_TEST_REDEMPTION_TIMEOUT);
    assert_int_equal(e->block_number, ch->deploy_block);

    e = event_at(ch, ev, n, 1, PC_MEDIATOR_DEPOSITED);
    assert_true(pc_address_equal(&e->party_a, consumer));
    assert_u256_u64(&e->amount_a, PC_TEST_DEPOSIT);
    assert_u256_u64(&e->amount_b, PC_TEST_DEPOSIT);
    e = event_at(ch, ev, n, 2, PC_MEDIATOR_DEPOSITED);
    assert_u256_u64(&e->amount_a, SECOND_DEPOSIT);
    assert_u256_u64(&e->amount_b, PC_TEST_DEPOSIT + SECOND_DEPOSIT);

    e = event_at(ch, ev, n, 3, PC_MEDIATOR_REDEMPTION_STARTED);
    assert_u256_equal(&e->id_a, &f->old_id);
    assert_u256_equal(&e->id_b, &f->new_id);
    assert_int_equal(e->time_a, f->redemption_timeout_at);

    e = event_at(ch, ev, n, 4, PC_MEDIATOR_TOKEN_REDEEMED);
    assert_u256_equal(&e->id_a, &f->old_id);
    assert_u256_u64(&e->amount_a, REQUESTS);
    assert_u256_u64(&e->amount_b, earned);

    e = event_at(ch, ev, n, 5, PC_MEDIATOR_PAID_OUT);
    assert_true(pc_address_equal(&e->party_a, provider));
    assert_u256_u64(&e->amount_a, earned);

    e = event_at(ch, ev, n, 6, PC_MEDIATOR_TERMINATION_STARTED);
    assert_int_equal(e->time_a, f->termination_started_at);
    assert_int_equal(e->time_b, f->termination_started_at + PC_TEST_TERMINATION_TIMEOUT);

    e = event_at(ch, ev, n, 7, PC_MEDIATOR_TERMINATED);
    assert_true(pc_address_equal(&e->party_a, consumer));
    assert_u256_u64(&e->amount_a, f->consumer_payout);
    assert_u256_u64(&e->amount_b, 0);
    free(ev);
}

/* Second deposit: consumer pays amount + gas, the Mediator gains the amount. */
static void lifecycle_deposit(pc_test_channel *ch)
{
    parties before;
    pc_tx_result res;
    pc_error err;
    pc_mediator_state st;
    pc_u256 amount = pc_u256_from_u64(SECOND_DEPOSIT);
    read_parties(ch, &before);
    int rc = pc_mediator_deposit(pc_test_wallet(ch, PC_TEST_CONSUMER), &ch->mediator, &amount,
                                 &res, NULL, &err);
    assert_ok(rc, &err);
    assert_int_equal(res.status, 1);
    assert_true(res.gas_used > 0);
    assert_balance_change(ch->chain, &before.consumer, 0, SECOND_DEPOSIT, &res.fee);
    assert_balance_change(ch->chain, &before.mediator, SECOND_DEPOSIT, 0, NULL);
    assert_balance_change(ch->chain, &before.provider, 0, 0, NULL);
    pc_tx_result_free(&res);
    pc_test_read_state(ch, &st);
    assert_u256_u64(&st.consumer_funds, PC_TEST_DEPOSIT + SECOND_DEPOSIT);
    assert_u256_u64(&st.provider_funds, 0);
}

/* Start of a redemption: the active id becomes soon-expiring until now + timeout. */
static void lifecycle_start_redemption(pc_test_channel *ch, lifecycle_facts *f)
{
    pc_mediator_state st;
    f->new_id = pc_test_start_redemption(ch, &f->old_id);
    assert_u256_equal(&f->old_id, &ch->initial_token_id);
    f->redemption_timeout_at = pc_test_now(ch->chain) + PC_TEST_REDEMPTION_TIMEOUT;
    pc_test_read_state(ch, &st);
    assert_u256_equal(&st.soon_expiring_token_id, &f->old_id);
    assert_u256_equal(&st.active_token_id, &f->new_id);
    assert_int_equal(st.soon_expiring_timeout, f->redemption_timeout_at);
}

/* Payout: the provider's earnings leave the Mediator to the provider. */
static void lifecycle_payout(pc_test_channel *ch, uint64_t earned)
{
    parties before;
    pc_tx_result res;
    pc_error err;
    pc_mediator_state st;
    read_parties(ch, &before);
    int rc = pc_mediator_payout(pc_test_wallet(ch, PC_TEST_PROVIDER), &ch->mediator, &res, NULL,
                                &err);
    assert_ok(rc, &err);
    assert_balance_change(ch->chain, &before.provider, earned, 0, &res.fee);
    assert_balance_change(ch->chain, &before.mediator, 0, earned, NULL);
    assert_balance_change(ch->chain, &before.consumer, 0, 0, NULL);
    pc_tx_result_free(&res);
    pc_test_read_state(ch, &st);
    assert_u256_u64(&st.provider_funds, 0);
}

/* Consumer termination: start, wait out the timeout, finalize. */
static void lifecycle_terminate(pc_test_channel *ch, lifecycle_facts *f)
{
    parties before;
    pc_tx_result res;
    pc_error err;
    pc_mediator_state st;
    pc_wallet *consumer = pc_test_wallet(ch, PC_TEST_CONSUMER);

    read_parties(ch, &before);
    assert_ok(pc_mediator_start_close(consumer, &ch->mediator, &res, NULL, &err), &err);
    assert_balance_change(ch->chain, &before.consumer, 0, 0, &res.fee);
    assert_balance_change(ch->chain, &before.mediator, 0, 0, NULL);
    pc_tx_result_free(&res);
    f->termination_started_at = pc_test_now(ch->chain);
    pc_test_read_state(ch, &st);
    assert_int_equal(st.termination_started_at, f->termination_started_at);
    assert_false(st.terminated);

    assert_int_equal(pc_test_anvil_increase_time(ch->chain->anvil, PC_TEST_TERMINATION_TIMEOUT), 0);
    read_parties(ch, &before);
    assert_ok(pc_mediator_finalize_close(consumer, &ch->mediator, &res, NULL, &err), &err);
    assert_balance_change(ch->chain, &before.consumer, f->consumer_payout, 0, &res.fee);
    assert_balance_change(ch->chain, &before.mediator, 0, f->consumer_payout, NULL);
    assert_balance_change(ch->chain, &before.provider, 0, 0, NULL);
    pc_tx_result_free(&res);
    pc_test_read_state(ch, &st);
    assert_true(st.terminated);
    assert_u256_u64(&st.consumer_funds, 0);
    assert_u256_u64(&st.provider_funds, 0);
}

static void test_consumer_termination_lifecycle(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_mediator_state st;
    lifecycle_facts f = {0};
    uint64_t earned = REQUESTS * PC_TEST_COST_PER_REQUEST;
    pc_test_account mediator;

    pc_signature sig;

    pc_test_followed fol;

    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch); /* checks deploy and deposit to the wei */
    pc_test_follow_start(&ch, &fol);
    lifecycle_deposit(&ch);
    pc_test_check_followed(&ch, &fol);
    sign_requests(&ch, &ch.initial_token_id, REQUESTS, &sig); /* off chain, one per request */
    lifecycle_start_redemption(&ch, &f);
    pc_test_check_followed(&ch, &fol);
    pc_test_pass_grace(&ch);
    redeem(&ch, REQUESTS, &sig);
    pc_test_check_followed(&ch, &fol);
    pc_test_read_state(&ch, &st);
    assert_u256_u64(&st.consumer_funds, PC_TEST_DEPOSIT + SECOND_DEPOSIT - earned);
    assert_u256_u64(&st.provider_funds, earned);
    assert_u256_u64(&st.soon_expiring_token_id, 0);
    assert_int_equal(st.soon_expiring_timeout, 0);
    assert_u256_equal(&st.active_token_id, &f.new_id);

    lifecycle_payout(&ch, earned);
    pc_test_check_followed(&ch, &fol);
    f.consumer_payout = PC_TEST_DEPOSIT + SECOND_DEPOSIT - earned;
    lifecycle_terminate(&ch, &f);
    pc_test_check_followed(&ch, &fol);
    pc_test_account_read(c, &ch.mediator, &mediator);
    assert_u256_u64(&mediator.balance, 0);
    check_lifecycle_events(&ch, &f);
}

/* The provider closes at once: each party gets its funds, only the provider pays gas. */
static void test_provider_close(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    parties before;
    pc_tx_result res;
    pc_error err;
    pc_mediator_state st;
    pc_mediator_event *ev;
    size_t n;
    const uint64_t requests = 3, earned = requests * PC_TEST_COST_PER_REQUEST;
    const uint64_t rest = PC_TEST_DEPOSIT - earned;

    pc_signature sig;

    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    sign_requests(&ch, &ch.initial_token_id, requests, &sig);
    pc_test_ready_to_redeem(&ch);
    redeem(&ch, requests, &sig); /* earnings stay in the Mediator: the close pays them */

    read_parties(&ch, &before);
    int rc = pc_mediator_close_by_provider(pc_test_wallet(&ch, PC_TEST_PROVIDER), &ch.mediator,
                                           &res, NULL, &err);
    assert_ok(rc, &err);
    assert_balance_change(c, &before.provider, earned, 0, &res.fee);
    assert_balance_change(c, &before.consumer, rest, 0, NULL);
    assert_balance_change(c, &before.mediator, 0, PC_TEST_DEPOSIT, NULL);
    pc_tx_result_free(&res);
    pc_test_read_state(&ch, &st);
    assert_true(st.terminated);
    assert_u256_u64(&st.consumer_funds, 0);
    assert_u256_u64(&st.provider_funds, 0);

    fetch_events(&ch, &ev, &n);
    const pc_mediator_event *e = event_at(&ch, ev, n, n - 1, PC_MEDIATOR_TERMINATED);
    assert_true(pc_address_equal(&e->party_a, &ch.terms.provider));
    assert_u256_u64(&e->amount_a, rest);
    assert_u256_u64(&e->amount_b, earned);
    free(ev);
}

/* A payout of nothing succeeds, moves nothing and says so in its event. */
static void test_payout_of_nothing(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    parties before;
    pc_tx_result res;
    pc_error err;
    pc_mediator_event ev;

    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    read_parties(&ch, &before);
    int rc = pc_mediator_payout(pc_test_wallet(&ch, PC_TEST_PROVIDER), &ch.mediator, &res, NULL,
                                &err);
    assert_ok(rc, &err);
    assert_balance_change(c, &before.provider, 0, 0, &res.fee);
    assert_balance_change(c, &before.mediator, 0, 0, NULL);
    /* the receipt's log decodes on its own, too */
    assert_int_equal(res.n_logs, 1);
    assert_int_equal(pc_mediator_decode_event(&res.logs[0], &ev), 0);
    assert_int_equal(ev.kind, PC_MEDIATOR_PAID_OUT);
    assert_u256_u64(&ev.amount_a, 0);
    assert_string_equal(pc_mediator_event_name(ev.kind), "PaidOut");
    pc_tx_result_free(&res);
}

/* The events of two Mediators on one chain are not mixed up. */
static void test_two_channels_events_separate(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel a, b;
    pc_mediator_event *ev;
    size_t n;

    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &a);
    pc_test_channel_open_as(c, PC_TEST_CONSUMER2, NULL, 2 * PC_TEST_DEPOSIT, &b);
    fetch_events(&a, &ev, &n);
    assert_int_equal(n, 2);
    event_at(&a, ev, n, 0, PC_MEDIATOR_CREATED);
    assert_u256_u64(&event_at(&a, ev, n, 1, PC_MEDIATOR_DEPOSITED)->amount_a, PC_TEST_DEPOSIT);
    free(ev);
    fetch_events(&b, &ev, &n);
    assert_int_equal(n, 2);
    assert_true(pc_address_equal(&event_at(&b, ev, n, 0, PC_MEDIATOR_CREATED)->party_a,
                                 &c->address[PC_TEST_CONSUMER2]));
    assert_u256_u64(&event_at(&b, ev, n, 1, PC_MEDIATOR_DEPOSITED)->amount_a,
                    2 * PC_TEST_DEPOSIT);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consumer_termination_lifecycle),
        cmocka_unit_test(test_provider_close),
        cmocka_unit_test(test_payout_of_nothing),
        cmocka_unit_test(test_two_channels_events_separate),
    };
    return cmocka_run_group_tests(tests, pc_test_chain_setup, pc_test_chain_teardown);
}
