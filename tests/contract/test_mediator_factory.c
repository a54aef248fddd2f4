/* MediatorFactory and the combined redemption calls against a real anvil:
 * the factory at its deterministic address (deployed on demand, once),
 * channels as EIP-1167 clones opened (and funded) in one transaction for at
 * most 15 % of the gas of the full Mediator deployment they replace, every
 * clone and the implementation initialized at most once and only by the
 * factory, look-alikes refused (a clone of ours not opened by our factory, a
 * clone of another implementation whose getters claim good terms), and
 * redeemAndPayout / redeemPayoutAndStartRedemption moving the same money as
 * the separate calls, keeping the grace period of the id they retire, and
 * followable from their events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/chain/tx.h"
#include "mediator/mediator.h"
#include "support/mediator_fixture.h"

/* Gas of one full Mediator deployment before issue 15 (docs/benchmarks.md). */
#define FULL_DEPLOYMENT_GAS 1042429u

/* factory.isMediator(addr), by eth_call. */
static int factory_says_mediator(pc_test_chain *c, const pc_address *addr)
{
    pc_address factory;
    pc_bytes data = {0}, out = {0};
    pc_error err;
    int yes = -1;
    pc_mediator_factory_addresses(&factory, NULL);
    assert_int_equal(pc_abi_begin_call(&data, "isMediator(address)"), 0);
    assert_int_equal(pc_abi_append_address(&data, addr), 0);
    pc_call call = {.to = &factory, .data = data.data, .data_len = data.len};
    assert_ok(pc_rpc_eth_call(c->rpc, &call, &out, NULL, &err), &err);
    assert_int_equal(pc_abi_word_bool(out.data, out.len, 0, &yes), 0);
    pc_bytes_free(&data);
    pc_bytes_free(&out);
    return yes;
}

/* A channel's code is the clone of our implementation, and it verifies. */
static void assert_genuine(pc_test_chain *c, const pc_address *m)
{
    pc_address impl;
    uint8_t expected[PC_MEDIATOR_CLONE_CODE_LEN];
    pc_bytes code = {0};
    pc_mediator_terms terms;
    pc_error err;
    int genuine = -1;
    pc_mediator_factory_addresses(NULL, &impl);
    pc_mediator_clone_code(&impl, expected);
    assert_ok(pc_rpc_get_code(c->rpc, m, &code, &err), &err);
    assert_int_equal(code.len, sizeof expected);
    assert_memory_equal(code.data, expected, sizeof expected);
    pc_bytes_free(&code);
    assert_ok(pc_mediator_read_terms(c->rpc, m, &terms, &err), &err);
    assert_ok(pc_mediator_verify_code(c->rpc, m, &terms, &genuine, &err), &err);
    assert_int_equal(genuine, 1);
    assert_int_equal(factory_says_mediator(c, m), 1);
}

/* ---- the factory ---------------------------------------------------------------------- */

/* On a chain without it, the factory is deployed at the embedded address with
 * the embedded implementation; a second ensure sends nothing. */
static void test_factory_deployed_on_demand(void **state)
{
    (void)state;
    pc_test_anvil_options o = {.without_factory = 1};
    pc_test_anvil *a = pc_test_anvil_start(&o);
    assert_non_null(a);
    pc_error err;
    pc_secp *secp = pc_secp_create();
    pc_rpc *rpc = pc_rpc_create(pc_test_anvil_url(a), NULL, &err);
    assert_non_null(rpc);
    uint8_t key[32];
    pc_test_dev_key(5, key);
    pc_wallet_options wo = {.chain_id = 31337, .receipt_timeout_ms = 20000};
    pc_wallet *w = pc_wallet_create(rpc, secp, key, &wo, &err);
    assert_non_null(w);
    pc_address factory, impl, reported;
    pc_bytes code = {0}, out = {0}, data = {0};
    pc_mediator_factory_addresses(&factory, &impl);
    assert_ok(pc_rpc_get_code(rpc, &factory, &code, &err), &err);
    assert_int_equal(code.len, 0);

    pc_tx_result res;
    assert_ok(pc_mediator_factory_ensure(w, &res, &err), &err);
    assert_int_equal(res.sent, 1);
    pc_tx_result_free(&res);
    assert_ok(pc_rpc_get_code(rpc, &factory, &code, &err), &err);
    assert_true(code.len > 0);
    assert_int_equal(pc_abi_begin_call(&data, "implementation()"), 0);
    pc_call call = {.to = &factory, .data = data.data, .data_len = data.len};
    assert_ok(pc_rpc_eth_call(rpc, &call, &out, NULL, &err), &err);
    assert_int_equal(pc_abi_word_address(out.data, out.len, 0, &reported), 0);
    assert_true(pc_address_equal(&reported, &impl));

    assert_ok(pc_mediator_factory_ensure(w, &res, &err), &err);
    assert_int_equal(res.sent, 0); /* there already: nothing sent */
    pc_tx_result_free(&res);
    pc_bytes_free(&code);
    pc_bytes_free(&out);
    pc_bytes_free(&data);
    pc_wallet_destroy(w);
    pc_rpc_destroy(rpc);
    pc_secp_destroy(secp);
    pc_test_anvil_stop(a);
}

/* Opening a channel is one clone + initialize: at most 15 % of the full
 * deployment's gas; funded, the deposit lands in the same transaction. */
static void test_open_cheap_and_funded(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_mediator_terms terms;
    pc_address m;
    pc_tx_result res;
    pc_error err;
    pc_test_account before, held;
    pc_mediator_state st;
    pc_test_channel_open(c, NULL, 0, &ch);
    assert_genuine(c, &ch.mediator);

    pc_test_default_terms(c, &terms);
    pc_u256 id = pc_test_next_token_id(c), deposit = pc_u256_from_u64(PC_TEST_DEPOSIT);
    pc_test_account_read(c, &c->address[PC_TEST_CONSUMER], &before);
    assert_ok(pc_mediator_open(c->wallet[PC_TEST_CONSUMER], &terms, &id, NULL, &m, &res, NULL,
                               &err), &err);
    printf("open: %llu gas (%.1f %% of a full deployment)\n", (unsigned long long)res.gas_used,
           100.0 * (double)res.gas_used / FULL_DEPLOYMENT_GAS);
    assert_true(res.gas_used * 100 <= FULL_DEPLOYMENT_GAS * 15);
    pc_tx_result_free(&res);

    id = pc_test_next_token_id(c);
    pc_test_account_read(c, &c->address[PC_TEST_CONSUMER], &before);
    assert_ok(pc_mediator_open(c->wallet[PC_TEST_CONSUMER], &terms, &id, &deposit, &m, &res,
                               NULL, &err), &err);
    assert_balance_change(c, &before, 0, PC_TEST_DEPOSIT, &res.fee);
    pc_test_account_read(c, &m, &held);
    assert_u256_u64(&held.balance, PC_TEST_DEPOSIT);
    /* the receipt tells it: MediatorCreated, then Deposited */
    pc_mediator_event e0, e1;
    assert_int_equal(res.n_logs, 2);
    assert_int_equal(pc_mediator_decode_event(&res.logs[0], &e0), 0);
    assert_int_equal(pc_mediator_decode_event(&res.logs[1], &e1), 0);
    assert_int_equal(e0.kind, PC_MEDIATOR_CREATED);
    assert_int_equal(e1.kind, PC_MEDIATOR_DEPOSITED);
    assert_u256_u64(&e1.amount_b, PC_TEST_DEPOSIT);
    pc_tx_result_free(&res);
    ch.mediator = m;
    pc_test_read_state(&ch, &st);
    assert_u256_u64(&st.consumer_funds, PC_TEST_DEPOSIT);
    assert_u256_equal(&st.active_token_id, &id);
    assert_genuine(c, &m);
}

/* ---- initialization once, by the factory only ----------------------------------------- */

/* Sends initialize(...) with valid terms to `target` from `who`: must be
 * refused with InitializationRefused(50) at no cost. */
static void assert_initialize_refused(pc_test_chain *c, int who, const pc_address *target)
{
    pc_bytes data = {0};
    pc_abi_revert rev;
    pc_error err = {0};
    pc_test_account before;
    pc_u256 id = pc_test_next_token_id(c), cost = pc_u256_from_u64(1);
    assert_int_equal(pc_abi_begin_call(&data, "initialize(uint256,address,address,uint256,"
                                              "uint256,uint256,uint256)"), 0);
    assert_int_equal(pc_abi_append_u64(&data, 2), 0);
    assert_int_equal(pc_abi_append_address(&data, &c->address[who]), 0);
    assert_int_equal(pc_abi_append_address(&data, &c->address[PC_TEST_PROVIDER]), 0);
    assert_int_equal(pc_abi_append_u256(&data, &id), 0);
    assert_int_equal(pc_abi_append_u256(&data, &cost), 0);
    assert_int_equal(pc_abi_append_u64(&data, 100), 0);
    assert_int_equal(pc_abi_append_u64(&data, 50), 0);
    pc_test_account_read(c, &c->address[who], &before);
    int rc = pc_test_raw_send(c, who, target, &data, &rev, &err);
    pc_bytes_free(&data);
    assert_int_equal(rc, 1);
    assert_int_equal(rev.kind, PC_ABI_REVERT_CUSTOM);
    assert_string_equal(rev.name, "InitializationRefused");
    assert_int_equal(rev.code, PC_ERR_DEPLOYMENT);
    pc_test_account now;
    pc_test_account_read(c, &c->address[who], &now);
    assert_int_equal(now.nonce, before.nonce);
}

/* Neither the implementation nor an opened clone can be (re-)initialized,
 * by its consumer, its provider or a stranger. */
static void test_initialize_once(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_address impl;
    pc_mediator_factory_addresses(NULL, &impl);
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    int who[] = {PC_TEST_CONSUMER, PC_TEST_PROVIDER, PC_TEST_STRANGER};
    for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
        assert_initialize_refused(c, who[i], &impl);
        assert_initialize_refused(c, who[i], &ch.mediator);
    }
    assert_genuine(c, &ch.mediator); /* unchanged */
    assert_int_equal(factory_says_mediator(c, &impl), 0);
}

/* ---- look-alikes ---------------------------------------------------------------------- */

/* Creates, from the stranger, a contract with the given runtime code (an
 * EIP-1167 creation prefix that returns the 45 bytes). Returns its address. */
static pc_address stranger_creates_clone(pc_test_chain *c, const uint8_t runtime[45])
{
    static const uint8_t prefix[10] = {0x3d, 0x60, 0x2d, 0x80, 0x60, 0x0a, 0x3d, 0x39, 0x81, 0xf3};
    pc_bytes init = {0};
    pc_test_account stranger;
    pc_address created;
    pc_abi_revert rev;
    pc_error err;
    assert_int_equal(pc_bytes_append(&init, prefix, sizeof prefix), 0);
    assert_int_equal(pc_bytes_append(&init, runtime, 45), 0);
    pc_test_account_read(c, &c->address[PC_TEST_STRANGER], &stranger);
    assert_int_equal(pc_contract_address(&stranger.address, stranger.nonce, &created), 0);
    assert_ok(pc_test_raw_send(c, PC_TEST_STRANGER, NULL, &init, &rev, &err), &err);
    pc_bytes_free(&init);
    return created;
}

/* Sets one storage word of `addr` on anvil. */
static void set_storage(pc_test_chain *c, const pc_address *addr, unsigned slot, const pc_u256 *v)
{
    char a[PC_ADDRESS_TEXT_LEN], value[67], params[256];
    uint8_t be[32];
    pc_address_format(addr, a);
    pc_u256_to_be(v, be);
    memcpy(value, "0x", 2);
    for (int i = 0; i < 32; i++)
        snprintf(value + 2 + 2 * i, 3, "%02x", be[i]);
    snprintf(params, sizeof params, "[\"%s\",\"0x%x\",\"%s\"]", a, slot, value);
    assert_int_equal(pc_test_anvil_rpc(c->anvil, "anvil_setStorageAt", params), 0);
}

/* An address word with 32-bit values at bits 160, 192 and 224 (the contract's packing). */
static pc_u256 packed(const pc_address *addr, uint32_t at_160, uint32_t at_192, uint32_t at_224)
{
    uint8_t be[32] = {0};
    pc_u256 v;
    memcpy(be + 12, addr->bytes, 20);
    pc_u256_from_be(&v, be);
    v.limb[2] |= (uint64_t)at_160 << 32;
    v.limb[3] |= (uint64_t)at_192 | (uint64_t)at_224 << 32;
    return v;
}

/* A clone of our implementation that our factory did not create has our
 * exact code, but nobody can initialize it: it does not verify. Nor does it
 * once its storage copies a genuine channel's terms and creation nonce (as
 * a contract's own init code could write them): its address is not the
 * factory's CREATE with that nonce. */
static void test_clone_not_from_factory(void **state)
{
    pc_test_chain *c = *state;
    pc_address impl;
    uint8_t runtime[PC_MEDIATOR_CLONE_CODE_LEN];
    pc_mediator_terms terms;
    pc_error err;
    int genuine = -1;
    pc_mediator_factory_addresses(NULL, &impl);
    pc_mediator_clone_code(&impl, runtime);
    pc_address m = stranger_creates_clone(c, runtime);
    assert_initialize_refused(c, PC_TEST_STRANGER, &m);
    assert_initialize_refused(c, PC_TEST_CONSUMER, &m);
    assert_int_equal(factory_says_mediator(c, &m), 0);
    pc_test_default_terms(c, &terms);
    assert_ok(pc_mediator_verify_code(c->rpc, &m, &terms, &genuine, &err), &err);
    assert_int_equal(genuine, 0);
    assert_ok(pc_mediator_read_terms(c->rpc, &m, &terms, &err), &err);
    assert_ok(pc_mediator_verify_code(c->rpc, &m, &terms, &genuine, &err), &err);
    assert_int_equal(genuine, 0);

    pc_test_channel ch;
    pc_u256 nonce;
    pc_test_channel_open(c, NULL, 0, &ch);
    assert_ok(pc_mediator_get_u256(c->rpc, &ch.mediator, "creationNonce", &nonce, &err), &err);
    pc_u256 slot0 = packed(&ch.terms.consumer, PC_TEST_COST_PER_REQUEST, 0, 0);
    pc_u256 slot1 = packed(&ch.terms.provider, PC_TEST_TERMINATION_TIMEOUT,
                           PC_TEST_REDEMPTION_TIMEOUT, (uint32_t)nonce.limb[0]);
    set_storage(c, &m, 0, &slot0);
    set_storage(c, &m, 1, &slot1);
    assert_ok(pc_mediator_read_terms(c->rpc, &m, &terms, &err), &err);
    assert_true(pc_address_equal(&terms.consumer, &ch.terms.consumer)); /* claims the terms */
    assert_ok(pc_mediator_verify_code(c->rpc, &m, &ch.terms, &genuine, &err), &err);
    assert_int_equal(genuine, 0);
    assert_int_equal(factory_says_mediator(c, &m), 0);
    assert_genuine(c, &ch.mediator); /* the same checks pass for the real one */
}

/* A clone of another implementation (our Mediator's code at another
 * address) whose storage claims exactly our terms and rich funds: its
 * getters answer like a Mediator, but it is not ours. */
static void test_clone_of_other_implementation(void **state)
{
    pc_test_chain *c = *state;
    pc_address impl, other_impl, m;
    pc_bytes impl_code = {0};
    uint8_t runtime[PC_MEDIATOR_CLONE_CODE_LEN];
    pc_mediator_terms terms, claimed;
    pc_error err;
    int genuine = -1;
    pc_mediator_factory_addresses(NULL, &impl);
    assert_ok(pc_rpc_get_code(c->rpc, &impl, &impl_code, &err), &err);
    memset(other_impl.bytes, 0x77, sizeof other_impl.bytes);
    assert_int_equal(pc_test_anvil_set_code(c->anvil, &other_impl, impl_code.data, impl_code.len),
                     0);
    pc_bytes_free(&impl_code);
    pc_mediator_clone_code(&other_impl, runtime);
    memset(m.bytes, 0x78, sizeof m.bytes);
    assert_int_equal(pc_test_anvil_set_code(c->anvil, &m, runtime, sizeof runtime), 0);
    pc_test_default_terms(c, &terms);
    pc_u256 slot0 = packed(&terms.consumer, PC_TEST_COST_PER_REQUEST, 0, 0);
    pc_u256 funds = pc_u256_from_u64(1u << 30);
    pc_u256 slot1 = packed(&terms.provider, PC_TEST_TERMINATION_TIMEOUT,
                           PC_TEST_REDEMPTION_TIMEOUT, 2); /* the first clone's nonce */
    set_storage(c, &m, 0, &slot0);
    set_storage(c, &m, 1, &slot1);
    set_storage(c, &m, 2, &funds);

    assert_ok(pc_mediator_read_terms(c->rpc, &m, &claimed, &err), &err);
    assert_true(pc_address_equal(&claimed.consumer, &terms.consumer));
    assert_true(pc_address_equal(&claimed.provider, &terms.provider));
    assert_u256_equal(&claimed.cost_per_request, &terms.cost_per_request);
    assert_int_equal(claimed.termination_timeout, terms.termination_timeout);
    assert_int_equal(claimed.token_redemption_timeout, terms.token_redemption_timeout);
    assert_ok(pc_mediator_verify_code(c->rpc, &m, &claimed, &genuine, &err), &err);
    assert_int_equal(genuine, 0);
    assert_int_equal(factory_says_mediator(c, &m), 0);
}

/* ---- combined redemption calls -------------------------------------------------------- */

/* redeemAndPayout: the provider gets the token's value in one transaction. */
static void test_redeem_and_payout(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_test_followed fol;
    pc_signature sig;
    pc_tx_result res;
    pc_error err;
    pc_test_account provider;
    pc_mediator_state st;
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    pc_test_follow_start(&ch, &fol);
    pc_u256 id = pc_test_ready_to_redeem(&ch), n = pc_u256_from_u64(9);
    pc_test_sign_token(&ch, &id, 9, &sig);
    pc_test_account_read(c, &ch.terms.provider, &provider);
    assert_ok(pc_mediator_redeem_and_payout(pc_test_wallet(&ch, PC_TEST_PROVIDER), &ch.mediator,
                                            &n, &sig, &res, NULL, &err), &err);
    assert_balance_change(c, &provider, 9 * PC_TEST_COST_PER_REQUEST, 0, &res.fee);
    pc_tx_result_free(&res);
    pc_test_read_state(&ch, &st);
    assert_u256_u64(&st.consumer_funds, PC_TEST_DEPOSIT - 9 * PC_TEST_COST_PER_REQUEST);
    assert_u256_u64(&st.provider_funds, 0);
    assert_true(pc_u256_is_zero(&st.soon_expiring_token_id));
    assert_int_equal(st.soon_expiring_timeout, 0);
    pc_test_check_followed(&ch, &fol);
}

/* redeemPayoutAndStartRedemption: redeems the soon-expiring id only after
 * its grace period, puts the active id into its own grace period (its
 * in-flight tokens still redeem afterwards) and activates the new id. */
static void test_redeem_payout_and_start(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_test_followed fol;
    pc_signature sig;
    pc_abi_revert rev;
    pc_error err;
    pc_test_account provider;
    pc_mediator_state st;
    pc_tx_result res;
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    pc_test_follow_start(&ch, &fol);
    pc_u256 old_id, second = pc_test_start_redemption(&ch, &old_id);
    pc_u256 third = pc_test_next_token_id(c), n = pc_u256_from_u64(4);
    pc_test_sign_token(&ch, &old_id, 4, &sig);

    /* within the grace period: refused with 30, nothing spent */
    pc_test_account_read(c, &ch.terms.provider, &provider);
    int rc = pc_mediator_redeem_payout_and_start(pc_test_wallet(&ch, PC_TEST_PROVIDER),
                                                 &ch.mediator, &n, &sig, &third, NULL, &rev, &err);
    assert_rejected(c, &provider, rc, &err, &rev, PC_ERR_REDEMPTION_TIMEOUT);

    pc_test_pass_grace(&ch);
    pc_test_account_read(c, &ch.terms.provider, &provider);
    assert_ok(pc_mediator_redeem_payout_and_start(pc_test_wallet(&ch, PC_TEST_PROVIDER),
                                                  &ch.mediator, &n, &sig, &third, &res, NULL,
                                                  &err), &err);
    assert_balance_change(c, &provider, 4 * PC_TEST_COST_PER_REQUEST, 0, &res.fee);
    pc_tx_result_free(&res);
    pc_test_read_state(&ch, &st);
    assert_u256_equal(&st.soon_expiring_token_id, &second);
    assert_u256_equal(&st.active_token_id, &third);
    assert_true(st.soon_expiring_timeout >= pc_test_now(c) + PC_TEST_REDEMPTION_TIMEOUT - 1);
    pc_test_check_followed(&ch, &fol);

    /* the consumer's in-flight token for the retired id still pays after its grace period */
    pc_test_sign_token(&ch, &second, 6, &sig);
    n = pc_u256_from_u64(6);
    pc_test_pass_grace(&ch);
    pc_test_account_read(c, &ch.terms.provider, &provider);
    assert_ok(pc_mediator_redeem_and_payout(pc_test_wallet(&ch, PC_TEST_PROVIDER), &ch.mediator,
                                            &n, &sig, &res, NULL, &err), &err);
    assert_balance_change(c, &provider, 6 * PC_TEST_COST_PER_REQUEST, 0, &res.fee);
    pc_tx_result_free(&res);
    pc_test_read_state(&ch, &st);
    assert_u256_u64(&st.consumer_funds, PC_TEST_DEPOSIT - 10 * PC_TEST_COST_PER_REQUEST);
    pc_test_check_followed(&ch, &fol);

    /* every id used stays used */
    int used = 0;
    assert_ok(pc_mediator_is_token_id_used(c->rpc, &ch.mediator, &old_id, &used, &err), &err);
    assert_int_equal(used, 1);
    assert_ok(pc_mediator_is_token_id_used(c->rpc, &ch.mediator, &second, &used, &err), &err);
    assert_int_equal(used, 1);
}

/* Only the provider may call the combined functions. */
static void test_combined_only_provider(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_signature sig;
    pc_abi_revert rev;
    pc_error err;
    pc_test_account stranger;
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);
    pc_u256 id = pc_test_ready_to_redeem(&ch), n = pc_u256_from_u64(1);
    pc_u256 next = pc_test_next_token_id(c);
    pc_test_sign_token(&ch, &id, 1, &sig);
    pc_test_account_read(c, &c->address[PC_TEST_STRANGER], &stranger);
    int rc = pc_mediator_redeem_and_payout(c->wallet[PC_TEST_STRANGER], &ch.mediator, &n, &sig,
                                           NULL, &rev, &err);
    assert_rejected(c, &stranger, rc, &err, &rev, PC_ERR_ONLY_PROVIDER);
    rc = pc_mediator_redeem_payout_and_start(c->wallet[PC_TEST_STRANGER], &ch.mediator, &n, &sig,
                                             &next, NULL, &rev, &err);
    assert_rejected(c, &stranger, rc, &err, &rev, PC_ERR_ONLY_PROVIDER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factory_deployed_on_demand),
        cmocka_unit_test(test_open_cheap_and_funded),
        cmocka_unit_test(test_initialize_once),
        cmocka_unit_test(test_clone_not_from_factory),
        cmocka_unit_test(test_clone_of_other_implementation),
        cmocka_unit_test(test_redeem_and_payout),
        cmocka_unit_test(test_redeem_payout_and_start),
        cmocka_unit_test(test_combined_only_provider),
    };
    return cmocka_run_group_tests(tests, pc_test_chain_setup, pc_test_chain_teardown);
}
