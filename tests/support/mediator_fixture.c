/* mediator_fixture.c (test support): see mediator_fixture.h. */
#include "support/mediator_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto/eip712.h"

/* ---- the chain ------------------------------------------------------------------ */

static void chain_free(pc_test_chain *c)
{
    for (int i = 0; i < PC_TEST_N_ACCOUNTS; i++)
        pc_wallet_destroy(c->wallet[i]);
    pc_rpc_destroy(c->rpc);
    pc_secp_destroy(c->secp);
    pc_test_anvil_stop(c->anvil);
    free(c);
}

/* Creates the wallet of every role. Returns 0 or -1 after printing why. */
static int chain_wallets(pc_test_chain *c)
{
    pc_wallet_options opts = {.chain_id = c->chain_id, .receipt_timeout_ms = 20000};
    for (int i = 0; i < PC_TEST_N_ACCOUNTS; i++) {
        uint8_t key[32];
        pc_error err;
        pc_test_dev_key(i, key);
        pc_test_dev_address(i, &c->address[i]);
        c->wallet[i] = pc_wallet_create(c->rpc, c->secp, key, &opts, &err);
        pc_wipe(key, sizeof key);
        if (!c->wallet[i]) {
            fprintf(stderr, "mediator fixture: wallet %d: %s\n", i, err.message);
            return -1;
        }
    }
    return 0;
}

int pc_test_chain_setup(void **state)
{
    pc_error err;
    pc_test_chain *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->anvil = pc_test_anvil_start(NULL);
    c->secp = pc_secp_create();
    if (!c->anvil || !c->secp)
        goto fail;
    c->rpc = pc_rpc_create(pc_test_anvil_url(c->anvil), NULL, &err);
    if (!c->rpc || pc_rpc_chain_id(c->rpc, &c->chain_id, &err) != 0) {
        fprintf(stderr, "mediator fixture: rpc: %s\n", err.message);
        goto fail;
    }
    if (chain_wallets(c) != 0)
        goto fail;
    *state = c;
    return 0;
fail:
    chain_free(c);
    return -1;
}

int pc_test_chain_teardown(void **state)
{
    if (*state)
        chain_free(*state);
    *state = NULL;
    return 0;
}

/* ---- channels ------------------------------------------------------------------- */

void pc_test_default_terms(const pc_test_chain *c, pc_mediator_terms *terms)
{
    memset(terms, 0, sizeof *terms);
    terms->consumer = c->address[PC_TEST_CONSUMER];
    terms->provider = c->address[PC_TEST_PROVIDER];
    terms->cost_per_request = pc_u256_from_u64(PC_TEST_COST_PER_REQUEST);
    terms->termination_timeout = PC_TEST_TERMINATION_TIMEOUT;
    terms->token_redemption_timeout = PC_TEST_REDEMPTION_TIMEOUT;
}

pc_u256 pc_test_next_token_id(pc_test_chain *c)
{
    pc_u256 id = {{++c->token_id_counter, 0x0123456789abcdefull, 0xfedcba9876543210ull,
                   0x8000000000000000ull}};
    return id;
}

/* Deposits `deposit` wei from the channel's consumer; asserts success and the
 * balances of consumer and Mediator to the wei. */
static void channel_deposit(pc_test_channel *ch, uint64_t deposit)
{
    pc_error err;
    pc_tx_result res;
    pc_test_account consumer, mediator;
    pc_u256 amount = pc_u256_from_u64(deposit);
    pc_test_account_read(ch->chain, &ch->terms.consumer, &consumer);
    pc_test_account_read(ch->chain, &ch->mediator, &mediator);
    int rc = pc_mediator_deposit(pc_test_wallet(ch, ch->consumer), &ch->mediator, &amount, &res,
                                 NULL, &err);
    assert_ok(rc, &err);
    assert_balance_change(ch->chain, &consumer, 0, deposit, &res.fee);
    assert_balance_change(ch->chain, &mediator, deposit, 0, NULL);
    pc_tx_result_free(&res);
}

void pc_test_channel_open_as(pc_test_chain *c, int consumer, const pc_mediator_terms *terms,
                             uint64_t deposit, pc_test_channel *out)
{
    pc_error err;
    pc_tx_result res;
    pc_test_account before;
    memset(out, 0, sizeof *out);
    out->chain = c;
    out->consumer = consumer;
    if (terms)
        out->terms = *terms;
    else
        pc_test_default_terms(c, &out->terms);
    out->terms.consumer = c->address[consumer];
    out->initial_token_id = pc_test_next_token_id(c);
    pc_test_account_read(c, &out->terms.consumer, &before);
    int rc = pc_mediator_deploy(c->wallet[consumer], &out->terms, &out->initial_token_id,
                                &out->mediator, &res, NULL, &err);
    assert_ok(rc, &err);
    assert_true(pc_address_equal(&res.contract_address, &out->mediator));
    assert_balance_change(c, &before, 0, 0, &res.fee);
    out->deploy_block = res.block_number;
    pc_tx_result_free(&res);
    if (deposit)
        channel_deposit(out, deposit);
}

void pc_test_channel_open(pc_test_chain *c, const pc_mediator_terms *terms, uint64_t deposit,
                          pc_test_channel *out)
{
    pc_test_channel_open_as(c, PC_TEST_CONSUMER, terms, deposit, out);
}

pc_wallet *pc_test_wallet(const pc_test_channel *ch, int who)
{
    return ch->chain->wallet[who];
}

pc_u256 pc_test_start_redemption(pc_test_channel *ch, pc_u256 *old_id)
{
    pc_error err;
    pc_u256 old;
    pc_u256 new_id = pc_test_next_token_id(ch->chain);
    assert_ok(pc_mediator_get_u256(ch->chain->rpc, &ch->mediator, "activeTokenId", &old, &err),
              &err);
    int rc = pc_mediator_start_token_redemption(pc_test_wallet(ch, PC_TEST_PROVIDER),
                                                &ch->mediator, &new_id, NULL, NULL, &err);
    assert_ok(rc, &err);
    if (old_id)
        *old_id = old;
    return new_id;
}

void pc_test_pass_grace(pc_test_channel *ch)
{
    assert_int_equal(
        pc_test_anvil_increase_time(ch->chain->anvil, ch->terms.token_redemption_timeout), 0);
}

pc_u256 pc_test_ready_to_redeem(pc_test_channel *ch)
{
    pc_u256 old;
    pc_test_start_redemption(ch, &old);
    pc_test_pass_grace(ch);
    return old;
}

void pc_test_sign_token_as(const pc_test_channel *ch, int signer, uint64_t chain_id,
                           const pc_address *mediator, const pc_u256 *token_id,
                           const pc_u256 *count, pc_signature *sig)
{
    uint8_t key[32];
    pc_test_dev_key(signer, key);
    int rc = pc_payment_token_sign(ch->chain->secp, key, chain_id,
                                   mediator ? mediator : &ch->mediator, &ch->terms.consumer,
                                   token_id, count, sig);
    pc_wipe(key, sizeof key);
    assert_int_equal(rc, 0);
}

void pc_test_sign_token(const pc_test_channel *ch, const pc_u256 *token_id, uint64_t count,
                        pc_signature *sig)
{
    pc_u256 n = pc_u256_from_u64(count);
    pc_test_sign_token_as(ch, ch->consumer, ch->chain->chain_id, NULL, token_id, &n, sig);
}

uint64_t pc_test_now(const pc_test_chain *c)
{
    pc_error err;
    uint64_t t = 0;
    assert_ok(pc_rpc_get_block_timestamp(c->rpc, &t, &err), &err);
    return t;
}

void pc_test_read_state(const pc_test_channel *ch, pc_mediator_state *state)
{
    pc_error err;
    assert_ok(pc_mediator_read_state(ch->chain->rpc, &ch->mediator, state, &err), &err);
}

/* ---- accounts ------------------------------------------------------------------- */

void pc_test_account_read(const pc_test_chain *c, const pc_address *addr, pc_test_account *out)
{
    pc_error err;
    out->address = *addr;
    assert_ok(pc_rpc_get_balance(c->rpc, addr, &out->balance, &err), &err);
    assert_ok(pc_rpc_get_transaction_count(c->rpc, addr, "latest", &out->nonce, &err), &err);
}

/* ---- assertions ------------------------------------------------------------------- */

void pc_test_assert_u256_equal_at(const pc_u256 *a, const pc_u256 *b, const char *file, int line)
{
    if (pc_u256_cmp(a, b) == 0)
        return;
    char da[PC_U256_DEC_LEN], db[PC_U256_DEC_LEN];
    pc_u256_to_dec(a, da);
    pc_u256_to_dec(b, db);
    print_error("%s != %s\n", da, db);
    _fail(file, line);
}

void pc_test_assert_u256_u64_at(const pc_u256 *a, uint64_t v, const char *file, int line)
{
    pc_u256 b = pc_u256_from_u64(v);
    pc_test_assert_u256_equal_at(a, &b, file, line);
}

void pc_test_assert_ok_at(int rc, const pc_error *err, const char *file, int line)
{
    if (rc == 0)
        return;
    print_error("call failed (rc %d): code %d: %s\n", rc, err->code, err->message);
    _fail(file, line);
}

void pc_test_assert_balance_change_at(const pc_test_chain *c, const pc_test_account *before,
                                      uint64_t plus, uint64_t minus, const pc_u256 *fee,
                                      const char *file, int line)
{
    pc_test_account now;
    pc_u256 expect = before->balance, p = pc_u256_from_u64(plus), m = pc_u256_from_u64(minus);
    int wrapped = pc_u256_add(&expect, &expect, &p) | pc_u256_sub(&expect, &expect, &m);
    if (fee)
        wrapped |= pc_u256_sub(&expect, &expect, fee);
    if (wrapped) {
        print_error("expected balance out of range\n");
        _fail(file, line);
    }
    pc_test_account_read(c, &before->address, &now);
    pc_test_assert_u256_equal_at(&now.balance, &expect, file, line);
}

void pc_test_assert_rejected_at(const pc_test_chain *c, const pc_test_account *before, int rc,
                                const pc_error *err, const pc_abi_revert *revert, int code,
                                const char *file, int line)
{
    pc_test_account now;
    if (rc != -1 || err->code != code) {
        print_error("expected rejection with code %d, got rc %d, code %d: %s\n", code, rc,
                    err->code, err->message);
        _fail(file, line);
    }
    if (revert && (revert->kind != PC_ABI_REVERT_CUSTOM || revert->code != code)) {
        print_error("expected decoded custom error with code %d, got kind %d code %u (%s)\n",
                    code, (int)revert->kind, (unsigned)revert->code,
                    revert->name ? revert->name : "-");
        _fail(file, line);
    }
    /* The binding simulates first: a rejected call is never sent, so it costs nothing. */
    pc_test_account_read(c, &before->address, &now);
    if (now.nonce != before->nonce) {
        print_error("nonce moved from %llu to %llu: a transaction was sent\n",
                    (unsigned long long)before->nonce, (unsigned long long)now.nonce);
        _fail(file, line);
    }
    pc_test_assert_u256_equal_at(&now.balance, &before->balance, file, line);
}

/* ---- following from events ------------------------------------------------------ */

void pc_test_follow_start(const pc_test_channel *ch, pc_test_followed *f)
{
    pc_test_read_state(ch, &f->st);
    f->next_block = f->st.block + 1;
}

void pc_test_check_followed(const pc_test_channel *ch, pc_test_followed *f)
{
    pc_mediator_event *ev;
    size_t n;
    pc_error err;
    pc_mediator_state now;
    pc_test_read_state(ch, &now);
    assert_ok(pc_mediator_get_events(ch->chain->rpc, &ch->mediator, f->next_block, now.block, &ev,
                                     &n, &err), &err);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pc_mediator_apply_event(&f->st, &ev[i]), 0);
    free(ev);
    f->next_block = now.block + 1;
    assert_u256_equal(&f->st.consumer_funds, &now.consumer_funds);
    assert_u256_equal(&f->st.provider_funds, &now.provider_funds);
    assert_u256_equal(&f->st.active_token_id, &now.active_token_id);
    assert_u256_equal(&f->st.soon_expiring_token_id, &now.soon_expiring_token_id);
    assert_int_equal(f->st.soon_expiring_timeout, now.soon_expiring_timeout);
    assert_int_equal(f->st.termination_started_at, now.termination_started_at);
    assert_int_equal(f->st.terminated, now.terminated);
    assert_u256_equal(&f->st.balance, &now.balance);
}

/* ---- bypassing the binding ------------------------------------------------------ */

void pc_test_create_calldata(const pc_address *provider, const pc_u256 *initial_token_id,
                             const pc_u256 *cost, uint64_t termination_timeout,
                             uint64_t redemption_timeout, pc_bytes *out)
{
    assert_int_equal(
        pc_abi_begin_call(out, "createMediator(address,uint256,uint256,uint256,uint256)"), 0);
    assert_int_equal(pc_abi_append_address(out, provider), 0);
    assert_int_equal(pc_abi_append_u256(out, initial_token_id), 0);
    assert_int_equal(pc_abi_append_u256(out, cost), 0);
    assert_int_equal(pc_abi_append_u64(out, termination_timeout), 0);
    assert_int_equal(pc_abi_append_u64(out, redemption_timeout), 0);
}

int pc_test_raw_send(pc_test_chain *c, int who, const pc_address *to, const pc_bytes *data,
                     pc_abi_revert *revert, pc_error *err)
{
    pc_tx_result res;
    pc_bytes revert_data = {0};
    int rc = pc_wallet_send(c->wallet[who], to, NULL, data->data, data->len, &res, &revert_data,
                            err);
    pc_abi_decode_revert(revert_data.data, revert_data.len, pc_mediator_errors,
                         pc_mediator_n_errors, revert);
    pc_bytes_free(&revert_data);
    pc_tx_result_free(&res);
    return rc;
}
