/* Integration: a store belongs to one chain (issue 10, point 4). A Payment
 * Server whose store holds a Mediator of chain A, restarted against a fresh
 * chain B with the same chain id (anvil with another genesis timestamp, so
 * another genesis hash), refuses to start and says which chain the store
 * belongs to, which chain the node is, and what to do; restarted against A
 * it starts and still knows its Mediator.
 *
 * Regression: the store was used on any chain of the configured chain id,
 * so a dev chain started afresh met a store referring to Mediators that do
 * not exist there ("no Mediator at ..."), while new ones landed at the same
 * addresses.
 *
 * The storage backend is the program's argument: sqlite (default) or redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/integration.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

/* A genesis time other than now: chain B differs from A only in it. */
#define OTHER_GENESIS_TIME 1700000000u

static const char *store = "sqlite";
static pc_test_redis *redis;
static pc_test_anvil *other; /* chain B */

/* Block 0's hash as "0x..." text, read with a plain JSON-RPC call. */
static void genesis_of(const char *url, char out[67])
{
    pc_error err;
    json_t *block = NULL;
    pc_rpc *rpc = pc_rpc_create(url, NULL, &err);
    assert_non_null(rpc);
    assert_int_equal(pc_rpc_call(rpc, "eth_getBlockByNumber", json_pack("[sb]", "0x0", 0), &block,
                                 &err),
                     0);
    const char *hash = json_string_value(json_object_get(block, "hash"));
    assert_non_null(hash);
    snprintf(out, 67, "%s", hash);
    json_decref(block);
    pc_rpc_destroy(rpc);
}

/* /status of p counts `consumer` consumer Mediators. */
static void expect_consumer_mediators(const pc_test_paychand *p, json_int_t consumer)
{
    pc_test_reply r;
    pc_itest_status(p, &r);
    json_t *roles = json_object_get(it_expect_ok(&r), "mediators");
    if (json_integer_value(json_object_get(roles, "consumer")) != consumer)
        it_fail("/status: expected %lld consumer Mediators: %s", (long long)consumer, r.text);
    pc_test_reply_free(&r);
}

static void expect_log(const pc_test_paychand *p, const char *needle)
{
    if (!pc_test_paychand_log_contains(p, needle)) {
        pc_test_paychand_print_log(p, 30);
        it_fail("the log does not say \"%s\"", needle);
    }
}

static void test_store_of_another_chain_refused(void **state)
{
    pc_itest *t = *state;
    pc_test_paychand *p = t->consumer_server;
    char genesis_a[67], genesis_b[67];
    genesis_of(pc_test_anvil_url(t->anvil), genesis_a);
    genesis_of(pc_test_anvil_url(other), genesis_b);
    assert_string_not_equal(genesis_a, genesis_b);
    pc_address m;
    it_open_channel(t, &TERMS, 100000, &m, NULL); /* the store now refers to chain A */
    expect_consumer_mediators(p, 1);
    assert_int_equal(pc_test_paychand_stop(p), 0);

    /* chain B: same chain id, another genesis block */
    assert_int_equal(pc_test_paychand_set_node_url(p, pc_test_anvil_url(other)), 0);
    int status = pc_test_paychand_restart_expect_exit(p);
    if (status <= 0) {
        pc_test_paychand_print_log(p, 30);
        it_fail("paychand with chain A's store started on chain B (status %d)", status);
    }
    expect_log(p, "belongs to chain 31337 with genesis block");
    expect_log(p, genesis_a);
    expect_log(p, genesis_b);
    expect_log(p, "what to do: point --node-url at a node of chain 31337");
    expect_log(p, strcmp(store, "redis") == 0 ? "another --redis-prefix" : "another --data-dir");

    /* chain A again: starts, with its Mediator */
    assert_int_equal(pc_test_paychand_set_node_url(p, pc_test_anvil_url(t->anvil)), 0);
    assert_int_equal(pc_test_paychand_restart(p), 0);
    expect_consumer_mediators(p, 1);
}

static int setup(void **state)
{
    pc_itest_options o = {.store = store};
    if (strcmp(store, "redis") == 0 && !(o.redis = redis = pc_test_redis_start()))
        return -1;
    pc_test_anvil_options b = {.genesis_timestamp = OTHER_GENESIS_TIME};
    if (!(other = pc_test_anvil_start(&b)))
        return -1;
    pc_itest *t = pc_itest_start(&o);
    *state = t;
    return t ? 0 : -1;
}

static int teardown(void **state)
{
    pc_itest_stop(*state);
    pc_test_anvil_stop(other);
    pc_test_redis_stop(redis);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_store_of_another_chain_refused)};
    store = pc_itest_backend_arg(argc, argv, "sqlite redis");
    return store ? cmocka_run_group_tests(tests, setup, teardown) : 2;
}
