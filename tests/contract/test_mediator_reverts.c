/* Every revert path of the Mediator (except the token ones, in
 * test_mediator_tokens.c) through the binding against a real anvil: the
 * error code in err.code and in the decoded custom error, its metadata where
 * it has some, and that the rejected call cost the caller nothing (the
 * binding simulates before it sends: balance and nonce unchanged).
 * Codes: 1, 2, 3, 30, 31, 32, 33 (zero id), 39, 40, 41, 42, 50, 102. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mediator/mediator.h"
#include "support/mediator_fixture.h"

/* ---- every state-changing function as one callable shape ------------------------- */

typedef int (*channel_op)(pc_test_channel *ch, int who, pc_abi_revert *rev, pc_error *err);

static int op_deposit(pc_test_channel *ch, int who, pc_abi_revert *rev, pc_error *err)
{
    pc_u256 amount = pc_u256_from_u64(1);
    return pc_mediator_deposit(pc_test_wallet(ch, who), &ch->mediator, &amount, NULL, rev, err);
}

static int op_start_redemption(pc_test_channel *ch, int who, pc_abi_revert *rev, pc_error *err)
{
    pc_u256 id = pc_test_next_token_id(ch->chain);
    return pc_mediator_start_token_redemption(pc_test_wallet(ch, who), &ch->mediator, &id, NULL,
                                              rev, err);
}

/* A correct consumer token for the initial id: only the rule under test may fail. */
static int op_redeem(pc_test_channel *ch, int who, pc_abi_revert *rev, pc_error *err)
{
    pc_signature sig;
    pc_u256 one = pc_u256_from_u64(1);
    pc_test_sign_token(ch, &ch->initial_token_id, 1, &sig);
    return pc_mediator_redeem_token(pc_test_wallet(ch, who), &ch->mediator, &one, &sig, NULL, rev,
                                    err);
}

static int op_payout(pc_test_channel *ch, int who, pc_abi_revert *rev, pc_error *err)
{
    return pc_mediator_payout(pc_test_wallet(ch, who), &ch->mediator, NULL, rev, err);
}

static int op_start_close(pc_test_channel *ch, int who, pc_abi_revert *rev, pc_error *err)
{
    return pc_mediator_start_close(pc_test_wallet(ch, who), &ch->mediator, NULL, rev, err);
}

static int op_finalize(pc_test_channel *ch, int who, pc_abi_revert *rev, pc_error *err)
{
    return pc_mediator_finalize_close(pc_test_wallet(ch, who), &ch->mediator, NULL, rev, err);
}

static int op_close(pc_test_channel *ch, int who, pc_abi_revert *rev, pc_error *err)
{
    return pc_mediator_close_by_provider(pc_test_wallet(ch, who), &ch->mediator, NULL, rev, err);
}

typedef struct named_op {
    const char *name;
    channel_op op;
    int party; /* the role allowed to call it */
} named_op;

static const named_op provider_ops[] = {
    {"startTokenRedemption", op_start_redemption, PC_TEST_PROVIDER},
    {"redeemToken", op_redeem, PC_TEST_PROVIDER},
    {"payoutForServiceProvider", op_payout, PC_TEST_PROVIDER},
    {"closeThroughServiceProvider", op_close, PC_TEST_PROVIDER},
};
static const named_op consumer_ops[] = {
    {"depositForServiceConsumer", op_deposit, PC_TEST_CONSUMER},
    {"startCloseThroughServiceConsumer", op_start_close, PC_TEST_CONSUMER},
    {"finalizeCloseThroughServiceConsumer", op_finalize, PC_TEST_CONSUMER},
};
#define N_OPS(a) (sizeof(a) / sizeof((a)[0]))

/* Calls op as role `who`, expects `code` and no gas spent; *rev receives the
 * decoded revert for further checks of its metadata. */
static void expect_code_rev(pc_test_channel *ch, const named_op *op, int who, int code,
                            pc_abi_revert *rev)
{
    pc_test_account before;
    pc_error err = {0};
    pc_test_account_read(ch->chain, &ch->chain->address[who], &before);
    int rc = op->op(ch, who, rev, &err);
    if (rc != -1 || err.code != code)
        print_error("%s called by account %d:\n", op->name, who);
    assert_rejected(ch->chain, &before, rc, &err, rev, code);
}

static void expect_code(pc_test_channel *ch, const named_op *op, int who, int code)
{
    pc_abi_revert rev;
    expect_code_rev(ch, op, who, code, &rev);
}

static void expect_success(pc_test_channel *ch, const named_op *op)
{
    pc_error err = {0};
    assert_ok(op->op(ch, op->party, NULL, &err), &err);
}

static const named_op start_op = {"startTokenRedemption", op_start_redemption, PC_TEST_PROVIDER};
static const named_op redeem_op = {"redeemToken", op_redeem, PC_TEST_PROVIDER};
static const named_op start_close_op = {"startClose", op_start_close, PC_TEST_CONSUMER};
static const named_op finalize_op = {"finalizeClose", op_finalize, PC_TEST_CONSUMER};
static const named_op close_op = {"closeThroughServiceProvider", op_close, PC_TEST_PROVIDER};

/* ---- 2 and 3: who may call what ---------------------------------------------------- */

static void test_only_provider(void **state)
{
    pc_test_channel ch;
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);
    for (size_t i = 0; i < N_OPS(provider_ops); i++) {
        expect_code(&ch, &provider_ops[i], PC_TEST_CONSUMER, PC_ERR_ONLY_PROVIDER);
        expect_code(&ch, &provider_ops[i], PC_TEST_STRANGER, PC_ERR_ONLY_PROVIDER);
    }
}

static void test_only_consumer(void **state)
{
    pc_test_channel ch;
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);
    for (size_t i = 0; i < N_OPS(consumer_ops); i++) {
        expect_code(&ch, &consumer_ops[i], PC_TEST_PROVIDER, PC_ERR_ONLY_CONSUMER);
        expect_code(&ch, &consumer_ops[i], PC_TEST_STRANGER, PC_ERR_ONLY_CONSUMER);
    }
}

/* ---- 1: nothing but a payout after termination ------------------------------------ */

/* Every function but the payout fails with 1 on a terminated channel; the
 * role check still comes first (a stranger gets 2 or 3, not 1). */
static void check_terminated(pc_test_channel *ch)
{
    pc_mediator_state st;
    pc_test_read_state(ch, &st);
    assert_true(st.terminated);
    for (size_t i = 0; i < N_OPS(consumer_ops); i++) {
        expect_code(ch, &consumer_ops[i], PC_TEST_CONSUMER, PC_ERR_TERMINATED);
        expect_code(ch, &consumer_ops[i], PC_TEST_STRANGER, PC_ERR_ONLY_CONSUMER);
    }
    for (size_t i = 0; i < N_OPS(provider_ops); i++) {
        if (provider_ops[i].op == op_payout)
            expect_success(ch, &provider_ops[i]); /* pays out nothing, harmlessly */
        else
            expect_code(ch, &provider_ops[i], PC_TEST_PROVIDER, PC_ERR_TERMINATED);
        expect_code(ch, &provider_ops[i], PC_TEST_STRANGER, PC_ERR_ONLY_PROVIDER);
    }
}

static void test_terminated_by_provider(void **state)
{
    pc_test_channel ch;
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);
    expect_success(&ch, &close_op);
    check_terminated(&ch);
}

static void test_terminated_by_consumer(void **state)
{
    pc_test_channel ch;
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);
    expect_success(&ch, &start_close_op);
    assert_int_equal(pc_test_anvil_increase_time(ch.chain->anvil, ch.terms.termination_timeout), 0);
    expect_success(&ch, &finalize_op);
    check_terminated(&ch);
}

/* ---- redemption: 39, 31, 33 (id 0), 32, 30 ------------------------------------------- */

static void start_with_id(pc_test_channel *ch, const pc_u256 *id, int code)
{
    pc_test_account before;
    pc_abi_revert rev;
    pc_error err = {0};
    pc_test_account_read(ch->chain, &ch->terms.provider, &before);
    int rc = pc_mediator_start_token_redemption(pc_test_wallet(ch, PC_TEST_PROVIDER),
                                                &ch->mediator, id, NULL, &rev, &err);
    assert_rejected(ch->chain, &before, rc, &err, &rev, code);
}

static void test_redemption_codes(void **state)
{
    pc_test_channel ch;
    pc_mediator_state st;
    pc_abi_revert rev;
    pc_u256 zero = pc_u256_from_u64(0);
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);

    expect_code(&ch, &redeem_op, PC_TEST_PROVIDER, PC_ERR_NO_REDEMPTION);      /* 39 */
    start_with_id(&ch, &ch.initial_token_id, PC_ERR_TOKEN_ID_ACTIVE);          /* 31 */
    start_with_id(&ch, &zero, PC_ERR_TOKEN_ID_USED);                           /* 33 */
    pc_u256 new_id = pc_test_start_redemption(&ch, NULL);
    expect_code(&ch, &start_op, PC_TEST_PROVIDER, PC_ERR_REDEMPTION_RUNNING);  /* 32 */
    start_with_id(&ch, &new_id, PC_ERR_REDEMPTION_RUNNING); /* 32 comes before 31 */

    /* 30, with the end of the grace period and the simulated block's time */
    pc_test_read_state(&ch, &st);
    uint64_t before_call = pc_test_now(ch.chain);
    expect_code_rev(&ch, &redeem_op, PC_TEST_PROVIDER, PC_ERR_REDEMPTION_TIMEOUT, &rev);
    assert_string_equal(rev.name, "RedemptionTimeoutNotPassed");
    assert_int_equal(rev.n_meta, 2);
    assert_u256_u64(&rev.meta[0], st.soon_expiring_timeout);
    uint64_t now;
    assert_int_equal(pc_u256_to_u64(&rev.meta[1], &now), 0);
    assert_true(now >= before_call && now < st.soon_expiring_timeout);

    pc_test_pass_grace(&ch);
    expect_success(&ch, &redeem_op);
    expect_code(&ch, &redeem_op, PC_TEST_PROVIDER, PC_ERR_NO_REDEMPTION); /* slot freed: 39 */
    start_with_id(&ch, &new_id, PC_ERR_TOKEN_ID_ACTIVE);                   /* 31 again */
}

/* ---- termination: 40, 42, 41 -------------------------------------------------------- */

static void test_termination_codes(void **state)
{
    pc_test_channel ch;
    pc_mediator_state st;
    pc_abi_revert rev;
    uint64_t now;
    pc_test_channel_open(*state, NULL, PC_TEST_DEPOSIT, &ch);

    expect_code(&ch, &finalize_op, PC_TEST_CONSUMER, PC_ERR_TERMINATION_NOT_STARTED); /* 40 */
    expect_success(&ch, &start_close_op);
    expect_code(&ch, &start_close_op, PC_TEST_CONSUMER, PC_ERR_TERMINATION_STARTED); /* 42 */
    pc_test_read_state(&ch, &st);
    uint64_t timeout_at = st.termination_started_at + PC_TEST_TERMINATION_TIMEOUT;

    /* 41 right away and shortly before the end, with timeoutAt and now */
    for (int step = 0; step < 2; step++) {
        uint64_t before_call = pc_test_now(ch.chain);
        expect_code_rev(&ch, &finalize_op, PC_TEST_CONSUMER, PC_ERR_TERMINATION_TIMEOUT, &rev);
        assert_string_equal(rev.name, "TerminationTimeoutNotPassed");
        assert_int_equal(rev.n_meta, 2);
        assert_u256_u64(&rev.meta[0], timeout_at);
        assert_int_equal(pc_u256_to_u64(&rev.meta[1], &now), 0);
        assert_true(now >= before_call && now < timeout_at);
        if (step == 0)
            assert_int_equal(
                pc_test_anvil_increase_time(ch.chain->anvil, PC_TEST_TERMINATION_TIMEOUT - 20), 0);
    }
    assert_int_equal(pc_test_anvil_increase_time(ch.chain->anvil, 20), 0);
    expect_success(&ch, &finalize_op);
}

/* ---- 50: invalid constructor terms ---------------------------------------------------- */

enum bad_term { BAD_PROVIDER_ZERO, BAD_PROVIDER_IS_CONSUMER, BAD_INITIAL_ID, BAD_COST,
                BAD_TERMINATION_TIMEOUT, BAD_REDEMPTION_TIMEOUT, BAD_COST_2_96,
                BAD_TERMINATION_TIMEOUT_2_32, BAD_REDEMPTION_TIMEOUT_2_32, N_BAD_TERMS,
                NO_BAD_TERM };

/* Default terms with one of them made invalid. */
static void bad_terms(pc_test_chain *c, enum bad_term which, pc_mediator_terms *t, pc_u256 *id)
{
    pc_test_default_terms(c, t);
    *id = pc_test_next_token_id(c);
    switch (which) {
    case BAD_PROVIDER_ZERO: memset(&t->provider, 0, sizeof t->provider); break;
    case BAD_PROVIDER_IS_CONSUMER: t->provider = c->address[PC_TEST_CONSUMER]; break;
    case BAD_INITIAL_ID: *id = pc_u256_from_u64(0); break;
    case BAD_COST: t->cost_per_request = pc_u256_from_u64(0); break;
    case BAD_TERMINATION_TIMEOUT: t->termination_timeout = 0; break;
    case BAD_REDEMPTION_TIMEOUT: t->token_redemption_timeout = 0; break;
    /* the packed storage's limits: 2^96 wei, 2^32 s */
    case BAD_COST_2_96: t->cost_per_request = (pc_u256){{0, 1ull << 32, 0, 0}}; break;
    case BAD_TERMINATION_TIMEOUT_2_32: t->termination_timeout = 1ull << 32; break;
    case BAD_REDEMPTION_TIMEOUT_2_32: t->token_redemption_timeout = 1ull << 32; break;
    default: break;
    }
}

/* Through the binding: code 50 and nothing sent (it may refuse before simulating). */
static void test_invalid_terms_binding(void **state)
{
    pc_test_chain *c = *state;
    for (int which = 0; which < N_BAD_TERMS; which++) {
        pc_mediator_terms t;
        pc_u256 id;
        pc_address m;
        pc_test_account before;
        pc_error err = {0};
        bad_terms(c, (enum bad_term)which, &t, &id);
        pc_test_account_read(c, &c->address[PC_TEST_CONSUMER], &before);
        int rc = pc_mediator_deploy(c->wallet[PC_TEST_CONSUMER], &t, &id, &m, NULL, NULL, &err);
        if (rc != -1 || err.code != PC_ERR_DEPLOYMENT)
            print_error("invalid term #%d\n", which);
        assert_rejected(c, &before, rc, &err, NULL, PC_ERR_DEPLOYMENT);
    }
}

/* Past the binding: the contract's own initializer (through the factory) rejects each invalid term
 * with InvalidTerms(50); the same init code with valid terms deploys. */
static void test_invalid_terms_contract(void **state)
{
    pc_test_chain *c = *state;
    for (int which = 0; which <= NO_BAD_TERM; which++) {
        if (which == N_BAD_TERMS)
            continue;
        pc_mediator_terms t;
        pc_u256 id;
        pc_bytes code = {0};
        pc_abi_revert rev;
        pc_error err = {0};
        bad_terms(c, (enum bad_term)which, &t, &id);
        pc_address factory;
        pc_mediator_factory_addresses(&factory, NULL);
        pc_test_create_calldata(&t.provider, &id, &t.cost_per_request, t.termination_timeout,
                                t.token_redemption_timeout, &code);
        int rc = pc_test_raw_send(c, PC_TEST_CONSUMER, &factory, &code, &rev, &err);
        pc_bytes_free(&code);
        if (which == NO_BAD_TERM) {
            assert_ok(rc, &err);
            continue;
        }
        if (rc != 1)
            print_error("invalid term #%d: rc %d: %s\n", which, rc, err.message);
        assert_int_equal(rc, 1);
        assert_int_equal(rev.kind, PC_ABI_REVERT_CUSTOM);
        assert_string_equal(rev.name, "InvalidTerms");
        assert_int_equal(rev.code, PC_ERR_DEPLOYMENT);
    }
}

/* ---- 102: an ether transfer out of the Mediator fails ------------------------------ */

/* A provider whose account rejects ether (code that always reverts) blocks
 * the consumer's finalize with 102, at no cost; once it accepts ether again
 * the finalize goes through and pays it. */
static void test_transfer_failed(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_signature sig;
    pc_error err = {0};
    pc_u256 two = pc_u256_from_u64(2);
    static const uint8_t always_revert[] = {0x60, 0x00, 0x60, 0x00, 0xfd}; /* revert(0, 0) */
    static const named_op finalize_102 = {"finalizeClose (provider rejects ether)", op_finalize,
                                          PC_TEST_CONSUMER};

    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    pc_u256 id = pc_test_ready_to_redeem(&ch);
    pc_test_sign_token(&ch, &id, 2, &sig);
    assert_ok(pc_mediator_redeem_token(c->wallet[PC_TEST_PROVIDER], &ch.mediator, &two, &sig, NULL,
                                       NULL, &err),
              &err);
    expect_success(&ch, &start_close_op);
    assert_int_equal(pc_test_anvil_increase_time(c->anvil, ch.terms.termination_timeout), 0);

    assert_int_equal(pc_test_anvil_set_code(c->anvil, &ch.terms.provider, always_revert,
                                            sizeof always_revert),
                     0);
    pc_abi_revert rev;
    expect_code_rev(&ch, &finalize_102, PC_TEST_CONSUMER, PC_ERR_TRANSFER, &rev);
    assert_string_equal(rev.name, "TransferFailed");
    assert_int_equal(pc_test_anvil_set_code(c->anvil, &ch.terms.provider, NULL, 0), 0);

    pc_test_account provider;
    pc_test_account_read(c, &ch.terms.provider, &provider);
    expect_success(&ch, &finalize_op);
    assert_balance_change(c, &provider, 2 * PC_TEST_COST_PER_REQUEST, 0, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_provider),
        cmocka_unit_test(test_only_consumer),
        cmocka_unit_test(test_terminated_by_provider),
        cmocka_unit_test(test_terminated_by_consumer),
        cmocka_unit_test(test_redemption_codes),
        cmocka_unit_test(test_termination_codes),
        cmocka_unit_test(test_invalid_terms_binding),
        cmocka_unit_test(test_invalid_terms_contract),
        cmocka_unit_test(test_transfer_failed),
    };
    return cmocka_run_group_tests(tests, pc_test_chain_setup, pc_test_chain_teardown);
}
