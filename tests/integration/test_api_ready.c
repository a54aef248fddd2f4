/* paychand starts without its node and says how ready it is (issue 10,
 * point 2), with real processes: a paychand whose node is not listening
 * serves /health (200) and /ready (503, node missing) and refuses the
 * chain's endpoints with 503 code 101; an anvil appearing on that port
 * makes it ready within a bounded time, and tokens are then issued; a node
 * of another chain id appearing makes it exit non-zero with the start-up
 * message; a stopped or killed Redis makes /ready answer 503 "store". */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/encoding/hex.h"
#include "support/anvil.h"
#include "support/child.h"
#include "support/payclient.h"
#include "support/paychand.h"
#include "support/redis.h"

#define READY_WITHIN_MS 15000 /* retry backoff is capped at 5 s */

static pc_test_paychand *server;

#define fail_with_log(...)                                                                         \
    do {                                                                                           \
        pc_test_paychand_print_log(server, 40);                                                    \
        fail_msg(__VA_ARGS__);                                                                     \
    } while (0)

/* Starts paychand (dev key of account 1, node http://127.0.0.1:node_port)
 * with extra (NULL-terminated) and returns once it serves /health. */
static pc_test_paychand *start_server(int node_port, const char *const *extra)
{
    static char url[64], key[67];
    uint8_t k[32];
    const char *args[16] = {"--dev", "--dev-key", key, "--node-timeout", "1000"};
    size_t n = 5;
    pc_test_dev_key(1, k);
    pc_hex_encode(k, 32, key);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", node_port);
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    pc_test_paychand_options o = {.binary = PAYCHAN_PAYCHAND, .node_url = url, .args = args,
                                  .started_path = "/health"};
    pc_test_paychand *p = pc_test_paychand_start(&o);
    assert_non_null(p);
    return p;
}

static void get(const char *path, pc_test_reply *r)
{
    pc_test_client *anon = pc_test_client_create(pc_test_paychand_url(server), NULL);
    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE};
    assert_non_null(anon);
    pc_test_request(anon, "GET", path, &none, NULL, r);
    pc_test_client_destroy(anon);
}

/* 1 if the JSON array `missing` of r's body holds `what`. */
static int lists_missing(const pc_test_reply *r, const char *what)
{
    json_t *missing = json_object_get(r->body, "missing"), *v;
    size_t i;
    json_array_foreach(missing, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), what) == 0)
            return 1;
    }
    return 0;
}

/* /ready answers 503 with `what` among the missing items and the error
 * fields, and /health answers 200 meanwhile. */
static void expect_not_ready(const char *what, long code)
{
    pc_test_reply r;
    get("/ready", &r);
    if (r.status != 503 || !lists_missing(&r, what) || pc_test_reply_code(&r) != code ||
        json_is_true(json_object_get(r.body, "ready")))
        fail_with_log("/ready: want 503 missing \"%s\" code %ld, got %ld: %s", what, code,
                      r.status, r.text);
    pc_test_reply_free(&r);
    get("/health", &r);
    if (r.status != 200 || strcmp(pc_test_reply_string(&r, "status"), "serving") != 0)
        fail_with_log("/health: want 200 serving, got %ld: %s", r.status, r.text);
    pc_test_reply_free(&r);
}

/* Polls `path` until it answers `status`; the milliseconds it took, or fails. */
static int64_t wait_for(const char *path, long status, int within_ms)
{
    int64_t start = pc_test_now_ms();
    for (;;) {
        pc_test_reply r;
        get(path, &r);
        long got = r.status;
        if (got == status) {
            pc_test_reply_free(&r);
            return pc_test_now_ms() - start;
        }
        if (pc_test_now_ms() - start > within_ms)
            fail_with_log("%s: still %ld after %d ms: %s", path, got, within_ms, r.text);
        pc_test_reply_free(&r);
        pc_test_sleep_ms(100);
    }
}

/* The consumer's calls that need the chain: a Mediator, a deposit, a token. */
static void expect_tokens(void)
{
    pc_address provider;
    pc_test_reply r;
    uint8_t k[32];
    char prov[PC_ADDRESS_TEXT_LEN];
    pc_test_dev_key(1, k);
    pc_test_dev_address(2, &provider);
    pc_address_format(&provider, prov);
    pc_test_client *c = pc_test_client_create(pc_test_paychand_url(server), k);
    assert_non_null(c);
    pc_test_get(c, &r, "/useService?serviceProvider=%s", prov);
    if (r.status != 200 || !pc_test_reply_string(&r, "mediatorAddress"))
        fail_with_log("/useService once ready: %ld %s", r.status, r.text);
    char m[64];
    snprintf(m, sizeof m, "%s", pc_test_reply_string(&r, "mediatorAddress"));
    pc_test_reply_free(&r);
    pc_test_get(c, &r, "/contracts/%s/deposit/1000000", m);
    assert_int_equal(r.status, 200);
    pc_test_reply_free(&r);
    pc_test_get(c, &r, "/contracts/%s/createSignatureHeaders", m);
    if (r.status != 200 || !pc_test_reply_string(&r, "x-pay-signature"))
        fail_with_log("createSignatureHeaders once ready: %ld %s", r.status, r.text);
    pc_test_reply_free(&r);
    pc_test_client_destroy(c);
}

/* No node listening: serving, not ready, the chain's endpoints 503/101;
 * then anvil on that port: ready within the bound, and tokens work. */
static void test_node_appears(void **state)
{
    (void)state;
    int port = pc_test_free_port();
    server = start_server(port, NULL);
    expect_not_ready("node", 101);
    expect_not_ready("keys", 101); /* no --chain-id: the wallets wait for the node's */
    pc_test_reply r;
    get("/status", &r); /* the full status, but not "all is well" */
    if (r.status != 503 || !json_is_false(json_object_get(r.body, "ethereumNodeReachable")) ||
        !json_is_object(json_object_get(r.body, "accounts")) || pc_test_reply_code(&r) != 101)
        fail_with_log("/status without a node: %ld %s", r.status, r.text);
    pc_test_reply_free(&r);
    uint8_t k[32];
    pc_test_dev_key(1, k);
    pc_test_client *c = pc_test_client_create(pc_test_paychand_url(server), k);
    pc_test_get(c, &r, "/useService?serviceProvider=0x000000000000000000000000000000000000dEaD");
    if (r.status != 503 || pc_test_reply_code(&r) != 101)
        fail_with_log("/useService without a node: want 503 code 101, got %ld %s", r.status,
                      r.text);
    pc_test_reply_free(&r);
    pc_test_client_destroy(c);

    pc_test_anvil_options o = {.port = port};
    pc_test_anvil *anvil = pc_test_anvil_start(&o);
    assert_non_null(anvil);
    int64_t ms = wait_for("/ready", 200, READY_WITHIN_MS);
    printf("ready %lld ms after the node appeared\n", (long long)ms);
    get("/status", &r);
    if (r.status != 200 || !json_is_true(json_object_get(r.body, "ethereumNodeReachable")) ||
        json_integer_value(json_object_get(r.body, "chainId")) != 31337)
        fail_with_log("/status once ready: %ld %s", r.status, r.text);
    pc_test_reply_free(&r);
    expect_tokens();
    assert_int_equal(pc_test_paychand_stop(server), 0);
    pc_test_paychand_free(server);
    pc_test_anvil_stop(anvil);
}

/* --chain-id 1, no node: the keys are ready at once; a node of chain 31337
 * appearing is fatal: exit 1 with the message start-up always gave. */
static void test_wrong_chain_appears(void **state)
{
    (void)state;
    int port = pc_test_free_port();
    const char *extra[] = {"--chain-id", "1", NULL};
    server = start_server(port, extra);
    expect_not_ready("node", 101);
    pc_test_reply r;
    get("/ready", &r);
    if (lists_missing(&r, "keys"))
        fail_with_log("with --chain-id the keys are ready before the node: %s", r.text);
    pc_test_reply_free(&r);
    pc_test_anvil_options o = {.port = port};
    pc_test_anvil *anvil = pc_test_anvil_start(&o);
    assert_non_null(anvil);
    int status = pc_test_paychand_wait_exit(server, READY_WITHIN_MS);
    char want[160];
    snprintf(want, sizeof want,
             "cannot start: the node at http://127.0.0.1:%d is on chain 31337, but chain 1 is "
             "configured", port);
    if (status != 1 || !pc_test_paychand_log_contains(server, want))
        fail_with_log("want exit 1 saying \"%s\", got %d", want, status);
    pc_test_paychand_free(server);
    pc_test_anvil_stop(anvil);
}

/* With Redis stopped (SIGSTOP) or killed, /ready says "store". */
static void test_redis_store_missing(void **state)
{
    (void)state;
    pc_test_redis *redis = pc_test_redis_start();
    pc_test_anvil *anvil = pc_test_anvil_start(NULL);
    assert_non_null(redis);
    assert_non_null(anvil);
    char port[16], node_port[16];
    snprintf(port, sizeof port, "%d", pc_test_redis_port(redis));
    const char *url = pc_test_anvil_url(anvil);
    snprintf(node_port, sizeof node_port, "%s", strrchr(url, ':') + 1);
    const char *extra[] = {"--store", "redis", "--redis-port", port, NULL};
    server = start_server(atoi(node_port), extra);
    wait_for("/ready", 200, READY_WITHIN_MS);

    assert_int_equal(pc_test_redis_signal(redis, SIGSTOP), 0);
    printf("store missing %lld ms after SIGSTOP\n", (long long)wait_for("/ready", 503, 10000));
    expect_not_ready("store", 103);
    assert_int_equal(pc_test_redis_signal(redis, SIGCONT), 0);
    wait_for("/ready", 200, 10000);

    pc_test_redis_crash(redis);
    printf("store missing %lld ms after kill\n", (long long)wait_for("/ready", 503, 10000));
    expect_not_ready("store", 103);
    assert_int_equal(pc_test_redis_restart(redis), 0);
    wait_for("/ready", 200, 10000);
    assert_int_equal(pc_test_paychand_stop(server), 0);
    pc_test_paychand_free(server);
    pc_test_anvil_stop(anvil);
    pc_test_redis_stop(redis);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_appears),
        cmocka_unit_test(test_wrong_chain_appears),
        cmocka_unit_test(test_redis_store_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
