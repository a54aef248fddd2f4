/* Integration: one Payment Server holding both the consumer's and the
 * provider's key serves a Mediator in both roles (issue 9, point 1): the
 * consumer deploys and funds a Mediator towards the provider the same
 * server serves, tokens are created and validated there, the provider's
 * duties redeem on chain and pay out, and the consumer's termination pays
 * the provider what was validated. Both roles survive a restart (one record
 * each), and /status counts the Mediators per role.
 *
 * Regression: the Mediator used to be stored once, in the role first seen
 * (consumer), so the provider's duties never ran (no TokenRedeemed; at the
 * termination everything went back to the consumer).
 *
 * The storage backend is the program's argument: sqlite (default) or redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/integration.h"

#define COST 1000u
#define DEPOSIT 100000u
#define EVENT_WAIT_MS 30000

/* An 8 s termination timeout, a 4 s grace period. */
static const pc_itest_terms TERMS = {.cost = COST, .termination = 8, .redemption = 4};

static const char *store = "sqlite";
static pc_test_redis *redis;
static pc_test_paychand *both; /* the server holding both keys */

/* Creates `n` tokens at the consumer and validates each at the provider
 * (one server); returns the count of the last. */
static uint64_t pay(pc_itest *t, const pc_address *m, int n)
{
    pc_itest_token tok = {0};
    for (int i = 0; i < n; i++) {
        it_headers(t, IT_CONSUMER, m, &tok);
        it_validate_ok(t, &tok, &TERMS);
    }
    return tok.count;
}

/* /status of the server counts `consumer` and `provider` Mediators. */
static void expect_roles(json_int_t consumer, json_int_t provider)
{
    pc_test_reply r;
    pc_itest_status(both, &r);
    json_t *body = it_expect_ok(&r), *roles = json_object_get(body, "mediators");
    if (json_integer_value(json_object_get(roles, "consumer")) != consumer ||
        json_integer_value(json_object_get(roles, "provider")) != provider)
        it_fail("/status: expected %lld consumer and %lld provider Mediators: %s",
                (long long)consumer, (long long)provider, r.text);
    pc_test_reply_free(&r);
}

/* Waits for the n-th event of kind and returns it in *ev. */
static void wait_for(pc_itest *t, const pc_address *m, pc_mediator_event_kind kind, size_t n,
                     pc_mediator_event *ev)
{
    if (pc_itest_wait_events(t, m, kind, n, EVENT_WAIT_MS, ev) < n)
        it_fail("%s event #%zu did not come", pc_mediator_event_name(kind), n);
}

static void expect_amounts(const pc_mediator_event *ev, uint64_t a, uint64_t b)
{
    assert_string_equal(pc_itest_dec(&ev->amount_a), pc_itest_dec(&(pc_u256){{a}}));
    assert_string_equal(pc_itest_dec(&ev->amount_b), pc_itest_dec(&(pc_u256){{b}}));
}

/* What account `who` gained since `before` (at block `block`), fees added back. */
static uint64_t gained(pc_itest *t, int who, const pc_u256 *before, uint64_t block)
{
    pc_u256 now = pc_itest_balance(t, who), fees = pc_itest_fees_since(t, who, block), got;
    it_check(pc_u256_add(&now, &now, &fees) == 0 && pc_u256_sub(&got, &now, before) == 0);
    return got.limb[0];
}

static void test_one_server_serves_both_roles(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 first_id;
    pc_mediator_event ev;
    pc_mediator_state st;
    pc_test_reply r;
    it_open_channel(t, &TERMS, DEPOSIT, &m, &first_id);
    uint64_t block = pc_itest_block(t);
    pc_u256 provider_before = pc_itest_balance(t, IT_PROVIDER);
    pc_u256 consumer_before = pc_itest_balance(t, IT_CONSUMER);
    assert_int_equal(pay(t, &m, 5), 5);
    expect_roles(1, 1);
    assert_int_equal(pc_test_paychand_stop(both), 0); /* both records are durable */
    assert_int_equal(pc_test_paychand_restart(both), 0);
    expect_roles(1, 1);

    /* the provider's duties finish a redemption and pay out */
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    wait_for(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 1, &ev);
    assert_int_equal(pc_u256_cmp(&ev.id_a, &first_id), 0);
    expect_amounts(&ev, 5, 5 * COST);
    wait_for(t, &m, PC_MEDIATOR_PAID_OUT, 1, &ev);
    assert_int_equal(gained(t, IT_PROVIDER, &provider_before, block), 5 * COST);

    /* the new id: counts issued start at 1 again, validated separately */
    pc_itest_state(t, &m, &st);
    assert_int_not_equal(pc_u256_cmp(&st.active_token_id, &first_id), 0);
    assert_int_equal(pay(t, &m, 3), 3);

    /* the consumer terminates: the provider's final redemption is paid */
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/terminate", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    wait_for(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, 2, &ev);
    assert_int_equal(pc_u256_cmp(&ev.id_a, &st.active_token_id), 0);
    expect_amounts(&ev, 3, 3 * COST);
    wait_for(t, &m, PC_MEDIATOR_TERMINATED, 1, &ev);
    expect_amounts(&ev, DEPOSIT - 8 * COST, 0);
    assert_int_equal(gained(t, IT_PROVIDER, &provider_before, block), 8 * COST);
    assert_int_equal(gained(t, IT_CONSUMER, &consumer_before, block), DEPOSIT - 8 * COST);
    pc_itest_sleep_ms(1000); /* both roles' duties forget the terminated Mediator */
    expect_roles(0, 0);
}

static int setup(void **state)
{
    static const char *args[] = {"--duty-interval", "200", NULL}; /* kept in t->opts */
    pc_itest_options o = {.store = store, .args = args};
    if (strcmp(store, "redis") == 0 && !(o.redis = redis = pc_test_redis_start()))
        return -1;
    pc_itest *t = pc_itest_start(&o);
    if (!t)
        return -1;
    *state = t;
    char provider_key[67], prefix[64];
    pc_hex_encode(t->key[IT_PROVIDER], 32, provider_key);
    snprintf(prefix, sizeof prefix, "it-%d-both:", (int)getpid()); /* its own keys in Redis */
    const char *more[] = {"--dev-key", provider_key, "--redis-prefix", prefix, NULL};
    both = pc_itest_start_consumer_server(t, "both-ends", NULL, more);
    pc_wipe(provider_key, sizeof provider_key);
    if (!both)
        return -1;
    const int roles[] = {IT_CONSUMER, IT_PROVIDER}; /* both now talk to the one server */
    for (int i = 0; i < 2; i++) {
        pc_test_client_destroy(t->client[roles[i]]);
        if (!(t->client[roles[i]] = pc_itest_client(t, both, roles[i])))
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    pc_test_paychand_free(both);
    pc_itest_stop(*state);
    pc_test_redis_stop(redis);
    return 0;
}

int main(int argc, char **argv)
{
    if (!(store = pc_itest_backend_arg(argc, argv, "sqlite redis")))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_server_serves_both_roles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
