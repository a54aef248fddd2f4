/* Integration: validateToken while the provider moves its Mediator to a new
 * token id (docs/protocol.md §5 step 5, §6 startTokenRedemption), over real
 * HTTP against a real anvil.
 *
 * A new id is active the moment startTokenRedemption is mined. The
 * consumer's Payment Server learns it from the chain and signs its next
 * tokens with it; the provider's Payment Server may not have seen that block
 * yet (its follower's interval, another instance of the team or an operator
 * sent the transaction, or its own receipt is still on its way). Under load
 * (bench/run-network-bench.sh, issue 11) such tokens were refused with code
 * 36 although the protocol calls them valid. Here the provider's server
 * follows the chain only every 10 minutes, so its cached state is
 * deterministically behind the consumer's. */
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

/* Long timeouts: the provider's cached state stays within its bound (30 s)
 * for the whole test, so only a deliberate read can update it. */
static const pc_itest_terms TERMS = {.cost = 1000, .termination = 400, .redemption = 200};

/* The provider's account starts a redemption outside the team's server; the new id. */
static pc_u256 start_redemption_elsewhere(pc_itest *t, const pc_address *m)
{
    pc_wallet_options wo = {.chain_id = t->chain_id};
    pc_error err;
    pc_wallet *w = pc_wallet_create(t->rpc, t->secp, t->key[IT_PROVIDER], &wo, &err);
    assert_non_null(w);
    pc_u256 next = pc_mediator_random_token_id();
    if (pc_mediator_start_token_redemption(w, m, &next, NULL, NULL, &err) != 0)
        it_fail("startTokenRedemption failed: %s", err.message);
    pc_wallet_destroy(w);
    return next;
}

/* Tokens from the consumer's server until one carries id `want` (its follower
 * polls every second); *tok receives it. */
static void consumer_token_of(pc_itest *t, const pc_address *m, const pc_u256 *want,
                              pc_itest_token *tok)
{
    for (int i = 0; i < 100; i++) {
        it_headers(t, IT_CONSUMER, m, tok);
        pc_u256 id;
        if (pc_u256_parse_dec(tok->token_id, &id) == 0 && pc_u256_cmp(&id, want) == 0)
            return;
        pc_itest_sleep_ms(100);
    }
    it_fail("the consumer's server never issued a token of the new id");
}

static void expect_valid(pc_itest *t, pc_test_client *c, const pc_itest_token *tok)
{
    pc_test_reply r;
    pc_itest_validate(t, c, tok, &TERMS, &r);
    json_t *body = it_expect_ok(&r);
    it_check(json_is_true(json_object_get(body, "valid")));
    pc_test_reply_free(&r);
}

/* The provider's server, a client of it, and a funded Mediator whose state
 * it has cached with `first` active, just before the provider's account
 * moved it to `next` elsewhere. */
typedef struct fixture {
    pc_test_paychand *server;
    pc_test_client *client;
    pc_address m;
    pc_u256 first, next;
} fixture;

static void fixture_start(pc_itest *t, fixture *f, const char *name)
{
    static const char *const slow[] = {"--follow-interval", "600000", NULL};
    f->server = pc_itest_start_provider_server(t, name, NULL, slow);
    assert_non_null(f->server);
    f->client = pc_itest_client(t, f->server, IT_PROVIDER);
    assert_non_null(f->client);
    it_open_channel(t, &TERMS, 10000000, &f->m, &f->first);
    pc_itest_token tok;
    it_headers(t, IT_CONSUMER, &f->m, &tok);
    expect_valid(t, f->client, &tok); /* the provider's server now caches `first` as active */
    f->next = start_redemption_elsewhere(t, &f->m);
}

static void fixture_stop(fixture *f)
{
    pc_test_client_destroy(f->client);
    assert_int_equal(pc_test_paychand_stop(f->server), 0);
    pc_test_paychand_free(f->server);
}

/* Fixed: a token of the id that just became active was refused with 36 by a
 * provider whose cached state predates the switch. Now an id the cached
 * state does not know is looked up on the chain before it is refused. */
static void test_new_id_accepted_before_the_provider_follows(void **state)
{
    pc_itest *t = *state;
    fixture f;
    fixture_start(t, &f, "slow-follower");
    pc_itest_token tok;
    consumer_token_of(t, &f.m, &f.next, &tok);
    expect_valid(t, f.client, &tok);
    it_headers(t, IT_CONSUMER, &f.m, &tok); /* and the ones after it */
    expect_valid(t, f.client, &tok);
    fixture_stop(&f);
}

/* What must still be refused: an id that was never active (36, with its
 * metadata), even after the chain was asked; the old id stays valid
 * during its grace period. */
static void test_unknown_id_still_refused(void **state)
{
    pc_itest *t = *state;
    fixture f;
    fixture_start(t, &f, "slow-follower-2");
    pc_itest_token tok;
    pc_u256 never = pc_mediator_random_token_id();
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &f.m, &never, 1, &tok);
    pc_test_reply r;
    pc_itest_validate(t, f.client, &tok, &TERMS, &r);
    it_expect_error(&r, 412, PC_ERR_UNKNOWN_TOKEN_ID);
    json_t *meta = json_object_get(r.body, "metadata");
    it_check(json_is_string(json_object_get(meta, "tokenID")));
    pc_test_reply_free(&r);
    /* the read above saw the switch: the new id is valid, and the old one in its grace */
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &f.m, &f.next, 1, &tok);
    expect_valid(t, f.client, &tok);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &f.m, &f.first, 1000, &tok);
    expect_valid(t, f.client, &tok);
    fixture_stop(&f);
}

static int setup(void **state)
{
    return pc_itest_group_setup(state, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_id_accepted_before_the_provider_follows),
        cmocka_unit_test(test_unknown_id_still_refused),
    };
    return cmocka_run_group_tests(tests, setup, pc_itest_group_teardown);
}
