/* Consumer tokens on chain, through the binding against a real anvil: which
 * signatures redeemToken accepts (only the consumer's EIP-712 token for this
 * chain, this Mediator, the soon-expiring id and exactly this count, low s)
 * and what a redemption moves; insufficient funds (34 with needed/available);
 * zero-request redemptions without a signature; token ids never reusable
 * (33), also the initial one and those redeemed for zero; the final
 * redemption during a consumer's termination (active id 0, then 1); and a
 * finalize held back while a redemption's grace period runs (32). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/encoding/abi.h"
#include "core/crypto/eip712.h"
#include "mediator/mediator.h"
#include "support/mediator_fixture.h"

/* The order of secp256k1's group, big-endian: n - s flips a signature to high s. */
static const char SECP256K1_N[] =
    "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

/* Redeems (count, sig) as the provider; expects `code` (0 = success). On
 * success checks the TokenRedeemed event and the moved funds. */
static void redeem_expect(pc_test_channel *ch, const pc_u256 *count, const pc_signature *sig,
                          int code)
{
    pc_test_account before;
    pc_abi_revert rev;
    pc_error err = {0};
    pc_tx_result res;
    pc_mediator_state st0, st1;
    pc_mediator_event ev;
    memset(&res, 0, sizeof res);
    pc_test_read_state(ch, &st0);
    pc_test_account_read(ch->chain, &ch->terms.provider, &before);
    int rc = pc_mediator_redeem_token(pc_test_wallet(ch, PC_TEST_PROVIDER), &ch->mediator, count,
                                      sig, &res, &rev, &err);
    if (code != 0) {
        assert_rejected(ch->chain, &before, rc, &err, &rev, code);
        pc_tx_result_free(&res);
        return;
    }
    assert_ok(rc, &err);
    pc_u256 amount;
    assert_int_equal(pc_u256_mul(&amount, count, &ch->terms.cost_per_request), 0);
    assert_int_equal(res.n_logs, 1);
    assert_int_equal(pc_mediator_decode_event(&res.logs[0], &ev), 0);
    assert_int_equal(ev.kind, PC_MEDIATOR_TOKEN_REDEEMED);
    assert_u256_equal(&ev.id_a, &st0.soon_expiring_token_id);
    assert_u256_equal(&ev.amount_a, count);
    assert_u256_equal(&ev.amount_b, &amount);
    pc_tx_result_free(&res);
    pc_test_read_state(ch, &st1);
    pc_u256 expect;
    pc_u256_add(&expect, &st0.provider_funds, &amount);
    assert_u256_equal(&st1.provider_funds, &expect);
    pc_u256_sub(&expect, &st0.consumer_funds, &amount);
    assert_u256_equal(&st1.consumer_funds, &expect);
    assert_true(pc_u256_is_zero(&st1.soon_expiring_token_id));
}

static void redeem_count(pc_test_channel *ch, uint64_t count, const pc_signature *sig, int code)
{
    pc_u256 n = pc_u256_from_u64(count);
    redeem_expect(ch, &n, sig, code);
}

/* The provider starts a redemption with `id`, expecting `code` (0 = success). */
static void start_expect(pc_test_channel *ch, const pc_u256 *id, int code)
{
    pc_test_account before;
    pc_abi_revert rev;
    pc_error err = {0};
    pc_test_account_read(ch->chain, &ch->terms.provider, &before);
    int rc = pc_mediator_start_token_redemption(pc_test_wallet(ch, PC_TEST_PROVIDER),
                                                &ch->mediator, id, NULL, &rev, &err);
    if (code == 0)
        assert_ok(rc, &err);
    else
        assert_rejected(ch->chain, &before, rc, &err, &rev, code);
}

static int token_id_used(const pc_test_channel *ch, const pc_u256 *id)
{
    pc_error err;
    int used = -1;
    assert_ok(pc_mediator_is_token_id_used(ch->chain->rpc, &ch->mediator, id, &used, &err), &err);
    return used;
}

/* ---- signatures that must not pay ------------------------------------------------------ */

/* Each wrong token fails with 4; afterwards the right one still pays. */
static void test_wrong_signer_or_count(void **state)
{
    pc_test_channel ch;
    pc_signature sig;
    pc_u256 five = pc_u256_from_u64(5);
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);
    pc_u256 id = pc_test_ready_to_redeem(&ch);

    pc_test_sign_token_as(&ch, PC_TEST_STRANGER, ch.chain->chain_id, NULL, &id, &five, &sig);
    redeem_count(&ch, 5, &sig, PC_ERR_TOKEN_SIGNATURE);
    pc_test_sign_token_as(&ch, PC_TEST_PROVIDER, ch.chain->chain_id, NULL, &id, &five, &sig);
    redeem_count(&ch, 5, &sig, PC_ERR_TOKEN_SIGNATURE);

    pc_test_sign_token(&ch, &id, 5, &sig);
    redeem_count(&ch, 6, &sig, PC_ERR_TOKEN_SIGNATURE); /* more than signed */
    redeem_count(&ch, 4, &sig, PC_ERR_TOKEN_SIGNATURE); /* less than signed */
    redeem_count(&ch, 5, NULL, PC_ERR_TOKEN_SIGNATURE); /* no signature at all */
    redeem_count(&ch, 5, &sig, 0);
}

/* A token of another id (here: the new active one) does not redeem the soon-expiring id. */
static void test_wrong_token_id(void **state)
{
    pc_test_channel ch;
    pc_signature sig;
    pc_u256 old_id;
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);
    pc_u256 active = pc_test_start_redemption(&ch, &old_id);
    pc_test_pass_grace(&ch);
    pc_test_sign_token(&ch, &active, 3, &sig);
    redeem_count(&ch, 3, &sig, PC_ERR_TOKEN_SIGNATURE);
    pc_test_sign_token(&ch, &old_id, 3, &sig);
    redeem_count(&ch, 3, &sig, 0);
}

/* Tokens signed for another chain id or another Mediator (same consumer, same
 * id, same count) are the consumer's signatures, yet not for this channel. */
static void test_wrong_domain(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch, other;
    pc_signature sig;
    pc_address signer;
    pc_u256 three = pc_u256_from_u64(3);
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &other);
    pc_u256 id = pc_test_ready_to_redeem(&ch);

    const uint64_t wrong_chains[] = {1, c->chain_id + 1};
    for (size_t i = 0; i < 2; i++) {
        pc_test_sign_token_as(&ch, PC_TEST_CONSUMER, wrong_chains[i], NULL, &id, &three, &sig);
        redeem_count(&ch, 3, &sig, PC_ERR_TOKEN_SIGNATURE);
    }
    pc_test_sign_token_as(&ch, PC_TEST_CONSUMER, c->chain_id, &other.mediator, &id, &three, &sig);
    /* off chain, too, it recovers to some unrelated address */
    assert_int_equal(pc_payment_token_recover(c->secp, c->chain_id, &ch.mediator,
                                              &ch.terms.consumer, &id, &three, &sig, &signer),
                     0);
    assert_false(pc_address_equal(&signer, &ch.terms.consumer));
    redeem_count(&ch, 3, &sig, PC_ERR_TOKEN_SIGNATURE);
    pc_test_sign_token(&ch, &id, 3, &sig);
    redeem_count(&ch, 3, &sig, 0);
}

/* The malleable twin of a valid signature (s -> n - s, other parity) is rejected. */
static void test_high_s(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_signature sig, high;
    pc_address signer;
    pc_u256 n, s, three = pc_u256_from_u64(3);
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    pc_u256 id = pc_test_ready_to_redeem(&ch);
    pc_test_sign_token(&ch, &id, 3, &sig);

    assert_int_equal(pc_u256_parse_hex(SECP256K1_N, &n), 0);
    pc_u256_from_be(&s, sig.s);
    assert_int_equal(pc_u256_sub(&s, &n, &s), 0);
    high = sig;
    pc_u256_to_be(&s, high.s);
    high.recid ^= 1;
    assert_int_equal(pc_payment_token_recover(c->secp, c->chain_id, &ch.mediator,
                                              &ch.terms.consumer, &id, &three, &high, &signer),
                     -1);
    redeem_count(&ch, 3, &high, PC_ERR_TOKEN_SIGNATURE);
    redeem_count(&ch, 3, &sig, 0);
}

/* Calldata of redeemToken with a raw v, to send past the binding. */
static void redeem_calldata(uint64_t count, uint64_t v, const pc_signature *sig, pc_bytes *out)
{
    pc_u256 n = pc_u256_from_u64(count);
    assert_int_equal(pc_abi_begin_call(out, "redeemToken(uint256,uint8,bytes32,bytes32)"), 0);
    assert_int_equal(pc_abi_append_u256(out, &n), 0);
    assert_int_equal(pc_abi_append_u64(out, v), 0);
    assert_int_equal(pc_abi_append_bytes32(out, sig->r), 0);
    assert_int_equal(pc_abi_append_bytes32(out, sig->s), 0);
}

/* The contract takes v as 27/28 or 0/1 (docs/protocol.md §2) and nothing else. */
static void test_v_forms(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_signature sig;
    pc_abi_revert rev;
    pc_error err;
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    pc_u256 id = pc_test_ready_to_redeem(&ch);
    pc_test_sign_token(&ch, &id, 2, &sig);

    const uint64_t bad_v[] = {29, 2, 255};
    for (size_t i = 0; i < 3; i++) {
        pc_bytes data = {0};
        redeem_calldata(2, bad_v[i], &sig, &data);
        int rc = pc_test_raw_send(c, PC_TEST_PROVIDER, &ch.mediator, &data, &rev, &err);
        pc_bytes_free(&data);
        assert_int_equal(rc, 1);
        assert_int_equal(rev.code, PC_ERR_TOKEN_SIGNATURE);
    }
    pc_bytes data = {0};
    redeem_calldata(2, sig.recid, &sig, &data); /* v = 0 or 1 */
    assert_ok(pc_test_raw_send(c, PC_TEST_PROVIDER, &ch.mediator, &data, &rev, &err), &err);
    pc_bytes_free(&data);
    pc_mediator_state st;
    pc_test_read_state(&ch, &st);
    assert_u256_u64(&st.provider_funds, 2 * PC_TEST_COST_PER_REQUEST);
}

/* ---- funds ----------------------------------------------------------------------------- */

/* A token worth more than the consumer funds fails with 34, naming what it
 * needs and what there is; a count so large that its value overflows needs
 * 2^256-1. A token worth exactly the funds empties them. */
static void test_insufficient_funds(void **state)
{
    pc_test_channel ch;
    pc_signature sig;
    pc_abi_revert rev;
    pc_error err = {0};
    pc_test_account before;
    const uint64_t funds = 5 * PC_TEST_COST_PER_REQUEST;
    pc_u256 max = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    pc_test_channel_open(*state, NULL, funds, &ch);
    pc_u256 id = pc_test_ready_to_redeem(&ch);

    const pc_u256 counts[2] = {pc_u256_from_u64(6), max};
    const pc_u256 needed[2] = {pc_u256_from_u64(6 * PC_TEST_COST_PER_REQUEST), max};
    for (size_t i = 0; i < 2; i++) {
        pc_test_sign_token_as(&ch, PC_TEST_CONSUMER, ch.chain->chain_id, NULL, &id, &counts[i],
                              &sig);
        pc_test_account_read(ch.chain, &ch.terms.provider, &before);
        int rc = pc_mediator_redeem_token(pc_test_wallet(&ch, PC_TEST_PROVIDER), &ch.mediator,
                                          &counts[i], &sig, NULL, &rev, &err);
        assert_rejected(ch.chain, &before, rc, &err, &rev, PC_ERR_INSUFFICIENT_FUNDS);
        assert_string_equal(rev.name, "InsufficientConsumerFunds");
        assert_int_equal(rev.n_meta, 2);
        assert_u256_equal(&rev.meta[0], &needed[i]);
        assert_u256_u64(&rev.meta[1], funds);
    }
    pc_test_sign_token(&ch, &id, 5, &sig);
    redeem_count(&ch, 5, &sig, 0);
    pc_mediator_state st;
    pc_test_read_state(&ch, &st);
    assert_u256_u64(&st.consumer_funds, 0);
}

/* ---- zero requests and id reuse --------------------------------------------------------- */

/* A token id nobody paid with is redeemed for 0 without any signature, so the
 * channel can go on: the next redemption starts. */
static void test_zero_request_redemption(void **state)
{
    pc_test_channel ch;
    pc_test_channel_open(*state, NULL, 0, &ch); /* not even a deposit */
    pc_test_ready_to_redeem(&ch);
    redeem_count(&ch, 0, NULL, 0);
    pc_test_ready_to_redeem(&ch);
    pc_signature garbage;
    memset(&garbage, 0xff, sizeof garbage);
    redeem_count(&ch, 0, &garbage, 0); /* any signature is ignored for zero */
}

/* No id can become active twice: not the initial one, not one redeemed for
 * something, not one redeemed for zero; ids never used still can. */
static void test_token_id_reuse(void **state)
{
    pc_test_channel ch;
    pc_signature sig;
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);
    const pc_u256 a = ch.initial_token_id;
    assert_int_equal(token_id_used(&ch, &a), 1);

    pc_u256 b = pc_test_ready_to_redeem(&ch), fresh;
    assert_u256_equal(&b, &a); /* the initial id is the first to be redeemed */
    pc_test_sign_token(&ch, &a, 3, &sig);
    redeem_count(&ch, 3, &sig, 0);
    start_expect(&ch, &a, PC_ERR_TOKEN_ID_USED); /* initial id, redeemed for 3 */

    b = pc_test_ready_to_redeem(&ch);
    redeem_count(&ch, 0, NULL, 0);
    start_expect(&ch, &b, PC_ERR_TOKEN_ID_USED); /* redeemed for zero */
    start_expect(&ch, &a, PC_ERR_TOKEN_ID_USED);
    assert_int_equal(token_id_used(&ch, &b), 1);

    fresh = pc_test_next_token_id(ch.chain);
    assert_int_equal(token_id_used(&ch, &fresh), 0);
    start_expect(&ch, &fresh, 0);
    assert_int_equal(token_id_used(&ch, &fresh), 1);
}

/* ---- redemptions during the consumer's termination -------------------------------------- */

static void start_close(pc_test_channel *ch)
{
    pc_error err;
    assert_ok(pc_mediator_start_close(pc_test_wallet(ch, PC_TEST_CONSUMER), &ch->mediator, NULL,
                                      NULL, &err),
              &err);
}

/* Finalizes (expecting `code`, 0 = success) and, on success, checks that both
 * parties got exactly their funds. */
static void finalize_expect(pc_test_channel *ch, int code)
{
    pc_test_account consumer, provider;
    pc_mediator_state st;
    pc_tx_result res;
    pc_abi_revert rev;
    pc_error err = {0};
    uint64_t consumer_funds, provider_funds;
    memset(&res, 0, sizeof res);
    pc_test_read_state(ch, &st);
    assert_int_equal(pc_u256_to_u64(&st.consumer_funds, &consumer_funds), 0);
    assert_int_equal(pc_u256_to_u64(&st.provider_funds, &provider_funds), 0);
    pc_test_account_read(ch->chain, &ch->terms.consumer, &consumer);
    pc_test_account_read(ch->chain, &ch->terms.provider, &provider);
    int rc = pc_mediator_finalize_close(pc_test_wallet(ch, PC_TEST_CONSUMER), &ch->mediator, &res,
                                        &rev, &err);
    if (code != 0) {
        assert_rejected(ch->chain, &consumer, rc, &err, &rev, code);
    } else {
        assert_ok(rc, &err);
        assert_balance_change(ch->chain, &consumer, consumer_funds, 0, &res.fee);
        assert_balance_change(ch->chain, &provider, provider_funds, 0, NULL);
    }
    pc_tx_result_free(&res);
}

/* The provider's redemption after the consumer started terminating is the
 * final one: no id becomes active (0), the requested id is burnt, and any
 * further start fails with 1, before and after the redemption. */
static void test_final_redemption_during_termination(void **state)
{
    pc_test_channel ch;
    pc_signature sig;
    pc_mediator_state st;
    pc_mediator_event *ev;
    size_t n;
    pc_error err;
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);
    pc_test_sign_token(&ch, &ch.initial_token_id, 4, &sig);
    start_close(&ch);

    pc_u256 requested = pc_test_start_redemption(&ch, NULL);
    pc_test_read_state(&ch, &st);
    assert_true(pc_u256_is_zero(&st.active_token_id));
    assert_u256_equal(&st.soon_expiring_token_id, &ch.initial_token_id);
    assert_int_equal(token_id_used(&ch, &requested), 1);
    assert_ok(pc_mediator_get_events(ch.chain->rpc, &ch.mediator, ch.deploy_block,
                                     PC_RPC_BLOCK_LATEST, &ev, &n, &err),
              &err);
    assert_true(n >= 1);
    assert_int_equal(ev[n - 1].kind, PC_MEDIATOR_REDEMPTION_STARTED);
    assert_u256_equal(&ev[n - 1].id_a, &ch.initial_token_id);
    assert_true(pc_u256_is_zero(&ev[n - 1].id_b));
    free(ev);

    pc_u256 another = pc_test_next_token_id(ch.chain);
    /* active id 0 is checked first: 1 even while the redemption runs */
    start_expect(&ch, &another, PC_ERR_TERMINATED);
    pc_test_pass_grace(&ch);
    redeem_count(&ch, 4, &sig, 0);
    start_expect(&ch, &another, PC_ERR_TERMINATED); /* active id 0: the last token was taken */
    assert_int_equal(pc_test_anvil_increase_time(ch.chain->anvil, PC_TEST_TERMINATION_TIMEOUT), 0);
    finalize_expect(&ch, 0);
}

/* While the final redemption's grace period runs, the consumer cannot
 * finalize even after its own timeout (32); once the grace period is over it
 * can, redeemed or not (an unredeemed token then pays nothing). */
static void test_finalize_waits_for_grace(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_mediator_terms terms;
    pc_test_default_terms(c, &terms);
    terms.termination_timeout = 60;
    terms.token_redemption_timeout = 600;
    pc_test_channel_open(c, &terms, PC_TEST_DEPOSIT, &ch);
    start_close(&ch);
    pc_test_start_redemption(&ch, NULL);
    assert_int_equal(pc_test_anvil_increase_time(c->anvil, 60), 0);
    finalize_expect(&ch, PC_ERR_REDEMPTION_RUNNING);
    assert_int_equal(pc_test_anvil_increase_time(c->anvil, 540), 0);
    finalize_expect(&ch, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_signer_or_count),
        cmocka_unit_test(test_wrong_token_id),
        cmocka_unit_test(test_wrong_domain),
        cmocka_unit_test(test_high_s),
        cmocka_unit_test(test_v_forms),
        cmocka_unit_test(test_insufficient_funds),
        cmocka_unit_test(test_zero_request_redemption),
        cmocka_unit_test(test_token_id_reuse),
        cmocka_unit_test(test_final_redemption_during_termination),
        cmocka_unit_test(test_finalize_waits_for_grace),
    };
    return cmocka_run_group_tests(tests, pc_test_chain_setup, pc_test_chain_teardown);
}
