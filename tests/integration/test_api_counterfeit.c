/* Integration: contracts that pose as Mediators (docs/protocol.md §5: the provider
 * trusts a Mediator's funds only if it is our contract). A consumer can
 * deploy, with init code of its own, a contract whose runtime code is
 * byte-for-byte a genuine Mediator's (the EIP-1167 clone of our
 * implementation) but whose storage it wrote itself: terms and a creation
 * nonce copied from a genuine one, consumer funds it never deposited, an
 * active token id of its choosing. The provider's paychand must refuse it:
 * it is not at the address our factory's CREATE with that nonce gives. A
 * contract whose code differs from ours in any byte (here: a clone of
 * another implementation) is refused as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>

#include "core/encoding/bytes.h"
#include "core/chain/wallet.h"
#include "support/integration.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

/* One storage word the counterfeit's init code writes. */
typedef struct forged_word {
    uint8_t slot;
    pc_u256 value;
} forged_word;

/* Init code that stores each word (PUSH32 value PUSH1 slot SSTORE), then
 * returns `runtime` as the contract's code
 * (PUSH2 len DUP1 PUSH2 offset PUSH1 0 CODECOPY PUSH1 0 RETURN <runtime>). */
static void counterfeit_init_code(const forged_word *words, size_t n, const pc_bytes *runtime,
                                  pc_bytes *out)
{
    uint8_t op[35];
    for (size_t i = 0; i < n; i++) {
        op[0] = 0x7f;
        pc_u256_to_be(&words[i].value, op + 1);
        op[33] = 0x60;
        op[34] = words[i].slot;
        assert_int_equal(pc_bytes_append(out, op, sizeof op), 0);
        assert_int_equal(pc_bytes_append(out, (const uint8_t *)"\x55", 1), 0);
    }
    size_t offset = out->len + 13;
    uint8_t tail[13] = {0x61, (uint8_t)(runtime->len >> 8), (uint8_t)runtime->len, 0x80,
                        0x61, (uint8_t)(offset >> 8), (uint8_t)offset, 0x60, 0x00, 0x39,
                        0x60, 0x00, 0xf3};
    assert_true(runtime->len < 0x10000 && offset < 0x10000);
    assert_int_equal(pc_bytes_append(out, tail, sizeof tail), 0);
    assert_int_equal(pc_bytes_append(out, runtime->data, runtime->len), 0);
}

/* Deploys the counterfeit from the deployer's account (not a team's). */
static void deploy_counterfeit(pc_itest *t, const pc_bytes *runtime, const forged_word *words,
                               size_t n, pc_address *out)
{
    pc_wallet_options wo = {.chain_id = t->chain_id};
    pc_error err;
    pc_tx_result res;
    pc_bytes init = {0};
    pc_wallet *w = pc_wallet_create(t->rpc, t->secp, t->key[IT_DEPLOYER], &wo, &err);
    assert_non_null(w);
    counterfeit_init_code(words, n, runtime, &init);
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
    assert_int_equal(code->len, PC_MEDIATOR_CLONE_CODE_LEN);
}

/* Storage slot `slot` of `m` (eth_getStorageAt through a raw call). */
static pc_u256 storage_word(pc_itest *t, const pc_address *m, unsigned slot)
{
    char params[128], a[PC_ADDRESS_TEXT_LEN];
    json_t *result = NULL;
    pc_error err;
    pc_u256 v;
    pc_address_format(m, a);
    snprintf(params, sizeof params, "[\"%s\",\"0x%x\",\"latest\"]", a, slot);
    json_t *p = json_loads(params, 0, NULL);
    assert_int_equal(pc_rpc_call(t->rpc, "eth_getStorageAt", p, &result, &err), 0);
    assert_int_equal(pc_u256_parse_hex(json_string_value(result), &v), 0);
    json_decref(result);
    return v;
}

/* Same code, storage copied from a genuine Mediator (terms and creation
 * nonce) plus 1 ether of "consumer funds" and no ether at all. */
static void test_same_code_forged_funds(void **state)
{
    pc_itest *t = *state;
    pc_address m, fake;
    pc_bytes code = {0};
    pc_error err;
    genuine_code(t, &m, &code);
    pc_u256 ether = pc_u256_from_u64(1000000000000000000ull), id = pc_u256_from_u64(0xfee1);
    forged_word words[] = {{0, storage_word(t, &m, 0)}, {1, storage_word(t, &m, 1)},
                           {2, ether}, {4, id}};
    deploy_counterfeit(t, &code, words, sizeof words / sizeof words[0], &fake);
    pc_bytes_free(&code);

    pc_mediator_state st;
    pc_mediator_terms claimed, real;
    pc_u256 held;
    pc_itest_state(t, &fake, &st); /* what it claims */
    assert_string_equal(pc_itest_dec(&st.consumer_funds), "1000000000000000000");
    assert_int_equal(pc_u256_cmp(&st.active_token_id, &id), 0);
    assert_int_equal(pc_mediator_read_terms(t->rpc, &fake, &claimed, &err), 0);
    assert_int_equal(pc_mediator_read_terms(t->rpc, &m, &real, &err), 0);
    assert_true(pc_address_equal(&claimed.consumer, &real.consumer)); /* the genuine terms */
    assert_int_equal(pc_rpc_get_balance(t->rpc, &fake, &held, &err), 0);
    assert_true(pc_u256_is_zero(&held)); /* what it holds */

    pc_itest_token tok;
    pc_test_reply r;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &fake, &id, 900000000000000ull, &tok);
    pc_itest_validate(t, NULL, &tok, &TERMS, &r);
    if (r.status == 200)
        it_fail("a token of %s worth 0.9 ether (9e14 requests * 1000 wei) accepted against "
                "funds the contract does not hold: %s", pc_itest_addr(&fake), r.text);
    assert_true(r.status >= 400 && r.status < 500);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/funds", pc_itest_addr(&fake));
    assert_true(r.status >= 400 && r.status < 500);
    pc_test_reply_free(&r);
}

/* A clone of another implementation (here: of the genuine Mediator itself,
 * so it runs our code with its own storage), storage forged as above: not
 * our contract, refused with a 4xx before any token is looked at. */
static void test_other_code_refused(void **state)
{
    pc_itest *t = *state;
    pc_address m, fake;
    pc_bytes code = {0};
    genuine_code(t, &m, &code);
    memcpy(code.data + 10, m.bytes, 20); /* the implementation address of the clone code */
    forged_word words[] = {{0, storage_word(t, &m, 0)}, {1, storage_word(t, &m, 1)},
                           {2, pc_u256_from_u64(1000000)}, {4, pc_u256_from_u64(0xbad)}};
    pc_u256 id = pc_u256_from_u64(0xbad);
    deploy_counterfeit(t, &code, words, sizeof words / sizeof words[0], &fake);
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
