/* The chain-state cache against a real anvil: one node read for many
 * concurrent misses, no reads while fresh, the age bound of docs/protocol.md §5,
 * refresh ahead of expiry by the background thread, and refusal of
 * addresses that hold no genuine Mediator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "server/chain/chain_cache.h"
#include "support/mediator_fixture.h"

#define N_THREADS 8

typedef struct racer {
    pc_chain_cache *cache;
    const pc_address *mediator;
    pthread_barrier_t *start;
    int rc;
    pc_mediator_view view;
} racer;

static void *race_get(void *arg)
{
    racer *r = arg;
    pc_error err;
    pthread_barrier_wait(r->start);
    r->rc = pc_chain_cache_get(r->cache, r->mediator, &r->view, &err);
    return NULL;
}

static void test_concurrent_misses_make_one_read(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_error err;
    pc_test_channel_open(c, NULL, 5000, &ch);
    pc_chain_cache *cache = pc_chain_cache_create(c->rpc, NULL, &err);
    assert_non_null(cache);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N_THREADS);
    racer r[N_THREADS];
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        r[i] = (racer){.cache = cache, .mediator = &ch.mediator, .start = &start, .rc = -1};
        pthread_create(&t[i], NULL, race_get, &r[i]);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(r[i].rc, 0);
        assert_true(pc_address_equal(&r[i].view.terms.provider, &c->address[PC_TEST_PROVIDER]));
        assert_u256_u64(&r[i].view.state.consumer_funds, 5000);
    }
    assert_int_equal(pc_chain_cache_loads(cache), 1);

    /* fresh: served from memory */
    pc_mediator_view v;
    for (int i = 0; i < 100; i++)
        assert_ok(pc_chain_cache_get(cache, &ch.mediator, &v, &err), &err);
    assert_int_equal(pc_chain_cache_loads(cache), 1);

    /* invalidated after our own transaction: the next get reads the chain */
    pc_u256 more = pc_u256_from_u64(2500);
    assert_ok(pc_mediator_deposit(c->wallet[PC_TEST_CONSUMER], &ch.mediator, &more, NULL, NULL,
                                  &err), &err);
    pc_chain_cache_invalidate(cache, &ch.mediator);
    assert_ok(pc_chain_cache_get(cache, &ch.mediator, &v, &err), &err);
    assert_int_equal(pc_chain_cache_loads(cache), 2);
    assert_u256_u64(&v.state.consumer_funds, 7500);
    pc_chain_cache_destroy(cache);
}

static void test_age_bound(void **state)
{
    pc_test_chain *c = *state;
    pc_error err;
    pc_chain_cache *cache = pc_chain_cache_create(c->rpc, NULL, &err);
    assert_non_null(cache);
    pc_mediator_terms t = {.termination_timeout = 40, .token_redemption_timeout = 20};
    assert_int_equal(pc_chain_cache_max_age_ms(cache, &t), 10000); /* min(20/2, 40/4) */
    t.termination_timeout = 8;
    assert_int_equal(pc_chain_cache_max_age_ms(cache, &t), 2000);  /* 8/4 */
    t.termination_timeout = t.token_redemption_timeout = 3600;
    assert_int_equal(pc_chain_cache_max_age_ms(cache, &t), 30000); /* the cap */
    t.termination_timeout = t.token_redemption_timeout = 0;
    assert_int_equal(pc_chain_cache_max_age_ms(cache, &t), 200);   /* the floor */
    pc_chain_cache_destroy(cache);
}

/* With 1 s / 2 s timeouts the state may be at most 500 ms old: the
 * refresher re-reads it after 250 ms without any get waiting, and a change
 * on chain shows within the bound without invalidation. */
static void test_refresh_ahead(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_mediator_terms terms;
    pc_mediator_view v;
    pc_error err;
    pc_test_default_terms(c, &terms);
    terms.token_redemption_timeout = 1;
    terms.termination_timeout = 2;
    pc_test_channel_open(c, &terms, 1000, &ch);
    pc_chain_cache *cache = pc_chain_cache_create(c->rpc, NULL, &err);
    assert_ok(pc_chain_cache_get(cache, &ch.mediator, &v, &err), &err);
    assert_int_equal(pc_chain_cache_loads(cache), 1);

    pc_u256 more = pc_u256_from_u64(1);
    assert_ok(pc_mediator_deposit(c->wallet[PC_TEST_CONSUMER], &ch.mediator, &more, NULL, NULL,
                                  &err), &err);
    usleep(700 * 1000);
    uint64_t loads = pc_chain_cache_loads(cache);
    assert_true(loads >= 2); /* refreshed by the background thread */
    assert_ok(pc_chain_cache_get(cache, &ch.mediator, &v, &err), &err);
    assert_u256_u64(&v.state.consumer_funds, 1001);
    pc_chain_cache_destroy(cache);
}

static void test_refuses_non_mediators(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_mediator_view v;
    pc_bytes code = {0};
    pc_address eoa, fake;
    pc_error err;
    pc_chain_cache *cache = pc_chain_cache_create(c->rpc, NULL, &err);
    pc_test_dev_address(9, &eoa);
    assert_int_equal(pc_chain_cache_get(cache, &eoa, &v, &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);

    /* a Mediator's code with one byte changed: its getters answer, but it is not ours */
    pc_test_channel_open(c, NULL, 0, &ch);
    assert_ok(pc_rpc_get_code(c->rpc, &ch.mediator, &code, &err), &err);
    code.data[code.len / 3] ^= 0x01;
    memset(fake.bytes, 0x77, sizeof fake.bytes);
    assert_int_equal(pc_test_anvil_set_code(c->anvil, &fake, code.data, code.len), 0);
    pc_bytes_free(&code);
    assert_int_equal(pc_chain_cache_get(cache, &fake, &v, &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    pc_chain_cache_destroy(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_misses_make_one_read),
        cmocka_unit_test(test_age_bound),
        cmocka_unit_test(test_refresh_ahead),
        cmocka_unit_test(test_refuses_non_mediators),
    };
    return cmocka_run_group_tests(tests, pc_test_chain_setup, pc_test_chain_teardown);
}
