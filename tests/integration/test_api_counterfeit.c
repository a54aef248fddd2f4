/* Integration: contracts that pose as Mediators (docs/protocol.md §5: the provider
 * trusts a Mediator's funds only if it is our contract). A consumer can
 * deploy, with init code of its own, a contract whose runtime code is
 * byte-for-byte a genuine Mediator's (same terms in its immutables) but
 * whose storage it wrote itself: consumer funds it never deposited, an
 * active token id of its choosing. The provider's paychand must not accept
 * tokens against funds the contract does not hold. A contract whose code
 * differs from ours in any byte is refused as not genuine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/bytes.h"
#include "core/wallet.h"
#include "support/integration.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

/* Init code that stores `funds` in slot 0 (serviceConsumerFunds) and `id`
 * in slot 2 (activeTokenId), then returns `runtime` as the contract's code:
 *   PUSH32 funds PUSH1 0 SSTORE  PUSH32 id PUSH1 2 SSTORE
 *   PUSH2 len DUP1 PUSH2 85 PUSH1 0 CODECOPY  PUSH1 0 RETURN  <runtime> */
static void counterfeit_init_code(const pc_u256 *funds, const pc_u256 *id, const pc_bytes *runtime,
                                  pc_bytes *out)
{
    uint8_t head[85], *p = head;
    *p++ = 0x7f;
    pc_u256_to_be(funds, p);
    p += 32;
    *p++ = 0x60; *p++ = 0x00; *p++ = 0x55;
    *p++ = 0x7f;
    pc_u256_to_be(id, p);
    p += 32;
    *p++ = 0x60; *p++ = 0x02; *p++ = 0x55;
    *p++ = 0x61; *p++ = (uint8_t)(runtime->len >> 8); *p++ = (uint8_t)runtime->len;
    *p++ = 0x80;
    *p++ = 0x61; *p++ = 0x00; *p++ = sizeof head;
    *p++ = 0x60; *p++ = 0x00; *p++ = 0x39;
    *p++ = 0x60; *p++ = 0x00; *p++ = 0xf3;
    assert_int_equal(p - head, sizeof head);
    assert_true(runtime->len < 0x10000);
    assert_int_equal(pc_bytes_append(out, head, sizeof head), 0);
    assert_int_equal(pc_bytes_append(out, runtime->data, runtime->len), 0);
}

/* Deploys the counterfeit from the deployer's account (not a team's). */
static void deploy_counterfeit(pc_itest *t, const pc_bytes *runtime, const pc_u256 *funds,
                               const pc_u256 *id, pc_address *out)
{
    pc_wallet_options wo = {.chain_id = t->chain_id};
    pc_error err;
    pc_tx_result res;
    pc_bytes init = {0};
    pc_wallet *w = pc_wallet_create(t->rpc, t->secp, t->key[IT_DEPLOYER], &wo, &err);
    assert_non_null(w);
    counterfeit_init_code(funds, id, runtime, &init);
    if (pc_wallet_send(w, NULL, NULL, init.data, init.len, &res, NULL, &err) != 0)
        it_fail("deploying the counterfeit: %s", err.message);
    *out = res.contract_address;
    pc_tx_result_free(&res);
    pc_bytes_free(&init);
    pc_wallet_destroy(w);
}

/* A genuine Mediator of the consumer to the provider, and its runtime code. */
static void genuine_code(pc_itest *t, pc_address *m, pc_bytes *code)
{
    pc_error err;
    it_use_service(t, IT_CONSUMER, &TERMS, 0, m);
    assert_int_equal(pc_rpc_get_code(t->rpc, m, code, &err), 0);
    assert_true(code->len > 100);
}

/* Same code, forged storage: 1 ether of "consumer funds" and no ether at all. */
static void test_same_code_forged_funds(void **state)
{
    pc_itest *t = *state;
    pc_address m, fake;
    pc_bytes code = {0};
    pc_error err;
    genuine_code(t, &m, &code);
    pc_u256 ether = pc_u256_from_u64(1000000000000000000ull), id = pc_u256_from_u64(0xfee1);
    deploy_counterfeit(t, &code, &ether, &id, &fake);
    pc_bytes_free(&code);

    pc_mediator_state st;
    pc_u256 held;
    pc_itest_state(t, &fake, &st); /* what it claims */
    assert_string_equal(pc_itest_dec(&st.consumer_funds), "1000000000000000000");
    assert_int_equal(pc_u256_cmp(&st.active_token_id, &id), 0);
    assert_int_equal(pc_rpc_get_balance(t->rpc, &fake, &held, &err), 0);
    assert_true(pc_u256_is_zero(&held)); /* what it holds */

    /* Regression (fixed): the genuineness check once compared only the
     * runtime code and accepted this token against 1 ether the contract
     * does not hold. Now the cache also requires the contract's balance to
     * cover its funds; the token must be refused with a 4xx. */
    pc_itest_token tok;
    pc_test_reply r;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &fake, &id, 900000000000000ull, &tok);
    pc_itest_validate(t, NULL, &tok, &TERMS, &r);
    if (r.status == 200)
        it_fail("a token of %s worth 0.9 ether (9e14 requests * 1000 wei) accepted against "
                "funds the contract does not hold: %s", pc_itest_addr(&fake), r.text);
    assert_true(r.status >= 400 && r.status < 500);
    pc_test_reply_free(&r);
}

/* One byte of the code changed (in the trailing metadata, so it still runs):
 * not our contract, refused with a 4xx before any token is looked at. */
static void test_other_code_refused(void **state)
{
    pc_itest *t = *state;
    pc_address m, fake;
    pc_bytes code = {0};
    genuine_code(t, &m, &code);
    code.data[code.len - 3] ^= 0x01;
    pc_u256 funds = pc_u256_from_u64(1000000), id = pc_u256_from_u64(0xbad);
    deploy_counterfeit(t, &code, &funds, &id, &fake);
    pc_bytes_free(&code);
    pc_itest_token tok;
    pc_test_reply r;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &fake, &id, 1, &tok);
    pc_itest_validate(t, NULL, &tok, &TERMS, &r);
    if (r.status < 400 || r.status >= 500 || pc_test_reply_code(&r) < 0)
        it_fail("a token of a contract with other code: expected a 4xx error, got %ld: %s",
                r.status, r.text);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/funds", pc_itest_addr(&fake));
    assert_true(r.status >= 400 && r.status < 500);
    pc_test_reply_free(&r);
}

static int setup(void **state)
{
    *state = pc_itest_start(NULL);
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
        cmocka_unit_test(test_other_code_refused),
        cmocka_unit_test(test_same_code_forged_funds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
