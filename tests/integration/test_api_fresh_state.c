/* Integration: a provider's paychand whose cached Mediator state is behind
 * the chain reads the Mediator again before refusing a token for its funds
 * or its token id (issue 16 point 3: with several instances behind a load
 * balancer, a deposit or a redemption made through one instance reaches the
 * others' caches only with their follower's next round; the example network
 * behind HAProxy saw /action refused with InsufficientFunds (34) right after
 * /init). The servers follow the chain rarely (--follow-interval 600000) so
 * the cache is stale for the whole test, as it is for a moment in real use.
 * Before: the cached state decided, and the paid request was refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/integration.h"

/* Long timeouts: the cache bound (a quarter of the termination timeout,
 * half the redemption timeout) stays far away. */
static const pc_itest_terms TERMS = {.cost = 1000, .termination = 3600, .redemption = 3600};

/* validateToken of (id, count) through client c (NULL: the provider's server). */
static void validate(pc_itest *t, pc_test_client *c, const pc_address *m, const pc_u256 *id,
                     uint64_t count, pc_test_reply *r)
{
    pc_itest_token tok;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, m, id, count, &tok);
    pc_itest_validate(t, c, &tok, &TERMS, r);
}

static void expect_valid(pc_itest *t, pc_test_client *c, const pc_address *m, const pc_u256 *id,
                         uint64_t count)
{
    pc_test_reply r;
    validate(t, c, m, id, count, &r);
    it_expect_ok(&r);
    if (!json_is_true(json_object_get(r.body, "valid")))
        it_fail("count %llu not valid: %s", (unsigned long long)count, r.text);
    pc_test_reply_free(&r);
}

/* A deposit through the consumer's server, which the provider's server has
 * not seen: a count the new funds cover is accepted, twice over (on the
 * worker and, once the state is fresh, on the event loop), and a count
 * beyond them is still refused with 34 after the read. */
static void test_deposit_seen_before_refusing(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 id;
    it_open_channel(t, &TERMS, 2 * TERMS.cost, &m, &id); /* funds for counts 1 and 2 */
    expect_valid(t, NULL, &m, &id, 1);                   /* the provider caches the state */
    it_deposit(t, IT_CONSUMER, &m, 8 * TERMS.cost, 0);   /* funds for counts up to 10 */
    expect_valid(t, NULL, &m, &id, 5);
    expect_valid(t, NULL, &m, &id, 10);
    pc_test_reply r;
    validate(t, NULL, &m, &id, 11, &r);
    it_expect_error(&r, 412, PC_ERR_INSUFFICIENT_FUNDS);
    pc_test_reply_free(&r);
}

/* A redemption through one provider instance: the other, whose cache still
 * names the old token id as active, accepts the new id's first count. */
static void test_new_token_id_seen_before_refusing(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 old_id;
    it_open_channel(t, &TERMS, 100 * TERMS.cost, &m, &old_id);
    pc_test_paychand *other = pc_itest_start_provider_server(t, "other-instance", NULL, NULL);
    assert_non_null(other);
    pc_test_client *c = pc_itest_client(t, other, IT_PROVIDER);
    expect_valid(t, c, &m, &old_id, 1); /* the other instance caches the state */
    expect_valid(t, NULL, &m, &old_id, 2);
    pc_test_reply r;
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    pc_mediator_state st;
    for (int waited = 0;; waited += 100) {
        pc_itest_state(t, &m, &st);
        if (pc_u256_cmp(&st.active_token_id, &old_id) != 0)
            break;
        it_check(waited < 20000);
        pc_itest_sleep_ms(100);
    }
    expect_valid(t, c, &m, &st.active_token_id, 1);
    pc_test_client_destroy(c);
    pc_test_paychand_free(other);
}

static int setup(void **state)
{
    static const char *args[] = {"--follow-interval", "600000", NULL};
    return pc_itest_group_setup(state, args);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deposit_seen_before_refusing),
        cmocka_unit_test(test_new_token_id_seen_before_refusing),
    };
    return cmocka_run_group_tests(tests, setup, pc_itest_group_teardown);
}
