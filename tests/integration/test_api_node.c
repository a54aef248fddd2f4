/* Integration: paychand with a slow, hung or misbehaving Ethereum node, and
 * its idle node traffic (issue 9, points 9-12). Two more servers, one per
 * team, talk to anvil through a proxy (support/node_proxy.h) that the tests
 * switch at run time to hang or to answer huge bodies; the program's two
 * usual servers talk to anvil directly.
 *
 * Times are asserted with generous margins (these are not benchmarks): they
 * tell a bounded wait from one that grows with the number of waiters. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/chain/wallet.h"
#include "support/integration.h"
#include "support/node_proxy.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

typedef struct fixture {
    pc_itest *t;
    pc_test_node_proxy *proxy;
    const char *args[3];                        /* --node-url PROXY */
    pc_test_paychand *consumer, *provider;      /* through the proxy */
    pc_test_client *c_consumer, *c_provider;    /* of those, as IT_CONSUMER / IT_PROVIDER */
} fixture;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* GET target as the client's account; *ms = how long the answer took. */
static void timed_get(pc_test_client *c, pc_test_reply *r, int64_t *ms, const char *target)
{
    int64_t t0 = now_ms();
    pc_test_get(c, r, "%s", target);
    *ms = now_ms() - t0;
}

static void expect_node_error(const pc_test_reply *r, const char *what)
{
    if (r->status != 503 || pc_test_reply_code(r) != PC_ERR_NODE)
        it_fail("%s: expected 503 code 101, got %ld: %s", what, r->status, r->text);
}

/* ---- point 9: bounded waits, one shared read, /status off the node ------------------ */

typedef struct waiter {
    fixture *f;
    char target[128];
    pc_test_reply r;
    int64_t ms;
} waiter;

static void *wait_funds(void *arg)
{
    waiter *w = arg;
    pc_test_client *c = pc_itest_client(w->f->t, w->f->consumer, IT_CONSUMER);
    timed_get(c, &w->r, &w->ms, w->target);
    pc_test_client_destroy(c);
    return NULL;
}

/* With the node accepting requests but never answering, four concurrent
 * /funds of a Mediator the server has not read yet all fail with 503/101
 * within about one node timeout (default 3 s): they share one read instead
 * of queueing behind each other's timeouts (seen: 30, 60, 90, 120 s). An
 * unauthenticated /status answers at once from the background check. */
static void test_hung_node_fails_fast_and_once(void **state)
{
    fixture *f = *state;
    pc_address m;
    it_open_channel(f->t, &TERMS, 100000, &m, NULL); /* through the direct servers */
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_HANG, NULL, 0);
    waiter w[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (waiter){.f = f};
        snprintf(w[i].target, sizeof w[i].target, "/contracts/%s/funds", pc_itest_addr(&m));
        assert_int_equal(pthread_create(&threads[i], NULL, wait_funds, &w[i]), 0);
    }
    pc_itest_sleep_ms(300);
    int64_t t0 = now_ms();
    pc_test_reply status;
    pc_itest_status(f->consumer, &status);
    int64_t status_ms = now_ms() - t0;
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL); /* all of them before any check can end the test */
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_PASS, NULL, 0);
    it_expect_ok(&status);
    pc_test_reply_free(&status);
    for (int i = 0; i < 4; i++) {
        expect_node_error(&w[i].r, "/funds with a hung node");
        if (w[i].ms > 8000)
            it_fail("/funds %d with a hung node took %lld ms (node timeout 3 s)", i,
                    (long long)w[i].ms);
        pc_test_reply_free(&w[i].r);
    }
    if (status_ms > 1000)
        it_fail("/status with a hung node took %lld ms", (long long)status_ms);
}

/* --node-timeout bounds every node request, and a read of a Mediator (nine
 * requests) as a whole: 500 ms here, with a hung node and with one that
 * takes 400 ms per answer (seen: over 40 s at 3 s per answer). */
static void test_node_timeout_option(void **state)
{
    fixture *f = *state;
    const char *more[] = {"--node-url", pc_test_node_proxy_url(f->proxy), "--node-timeout", "500",
                          NULL};
    pc_test_paychand *p = pc_itest_start_consumer_server(f->t, "consumer-500ms", NULL, more);
    assert_non_null(p);
    pc_test_client *c = pc_itest_client(f->t, p, IT_CONSUMER);
    pc_address m;
    it_open_channel(f->t, &TERMS, 0, &m, NULL);
    char target[128];
    snprintf(target, sizeof target, "/contracts/%s/terminationStatus", pc_itest_addr(&m));
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_HANG, NULL, 0);
    pc_test_reply r;
    int64_t ms;
    timed_get(c, &r, &ms, target);
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_PASS, NULL, 0);
    expect_node_error(&r, "terminationStatus with a hung node");
    if (ms > 2500)
        it_fail("terminationStatus took %lld ms with --node-timeout 500", (long long)ms);
    pc_test_reply_free(&r);
    pc_itest_sleep_ms(1100); /* a failed read is not repeated within a second */
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_SLOW, NULL, 400);
    timed_get(c, &r, &ms, target);
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_PASS, NULL, 0);
    expect_node_error(&r, "terminationStatus with a node taking 400 ms per answer");
    if (ms > 2500)
        it_fail("terminationStatus took %lld ms at 400 ms per node answer", (long long)ms);
    pc_test_reply_free(&r);
    pc_test_client_destroy(c);
    pc_test_paychand_free(p);
}

/* ---- point 10: a failed refresh keeps the cached state ------------------------------- */

/* A token from the proxied consumer server, validated by the proxied provider server. */
static void pay_once(fixture *f, const pc_address *m, const char *when)
{
    char target[128];
    pc_test_reply r;
    int64_t ms;
    snprintf(target, sizeof target, "/contracts/%s/createSignatureHeaders", pc_itest_addr(m));
    timed_get(f->c_consumer, &r, &ms, target);
    if (r.status != 200)
        it_fail("createSignatureHeaders %s: %ld after %lld ms: %s", when, r.status, (long long)ms,
                r.text);
    pc_itest_token tok = {0};
    snprintf(tok.sender, sizeof tok.sender, "%s", pc_test_reply_string(&r, "x-pay-sender"));
    snprintf(tok.mediator, sizeof tok.mediator, "%s", pc_test_reply_string(&r, "x-pay-mediator"));
    snprintf(tok.token_id, sizeof tok.token_id, "%s", pc_test_reply_string(&r, "x-pay-token-id"));
    snprintf(tok.signature, sizeof tok.signature, "%s",
             pc_test_reply_string(&r, "x-pay-signature"));
    tok.count = strtoull(pc_test_reply_string(&r, "x-pay-req-count"), NULL, 10);
    pc_test_reply_free(&r);
    pc_itest_validate(f->t, f->c_provider, &tok, &TERMS, &r);
    if (r.status != 200 || !json_is_true(json_object_get(r.body, "valid")))
        it_fail("validateToken %s: %ld: %s", when, r.status, r.text);
    pc_test_reply_free(&r);
}

/* With the node down, tokens keep working from the cache; a /funds or
 * /terminationStatus (which must read the node, and so fail with 503) does
 * not discard the cached state: 20 more tokens are created and validated
 * (seen: 20 of 20 answered 503 after one /funds). */
static void test_outage_keeps_cached_tokens(void **state)
{
    fixture *f = *state;
    pc_address m;
    it_open_channel(f->t, &TERMS, 1000000, &m, NULL);
    pay_once(f, &m, "with the node up");
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_HANG, NULL, 0);
    char target[128];
    pc_test_reply r;
    int64_t ms;
    snprintf(target, sizeof target, "/contracts/%s/funds", pc_itest_addr(&m));
    timed_get(f->c_consumer, &r, &ms, target);
    expect_node_error(&r, "consumer's /funds during the outage");
    pc_test_reply_free(&r);
    snprintf(target, sizeof target, "/contracts/%s/terminationStatus", pc_itest_addr(&m));
    timed_get(f->c_provider, &r, &ms, target);
    expect_node_error(&r, "provider's /terminationStatus during the outage");
    pc_test_reply_free(&r);
    for (int i = 0; i < 20; i++)
        pay_once(f, &m, "during the outage, after /funds");
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_PASS, NULL, 0);
}

/* ---- point 11: answer size, consistent reads, unaffordable deposits ----------------------- */

/* Peak resident memory of process pid in kB (VmHWM). */
static long peak_rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *fp = fopen(path, "r");
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (fp)
        fclose(fp);
    return kb;
}

/* A 50 MB node answer is refused (503/101) without being read whole: the
 * server's peak memory grows by far less than the answer (seen: ~450 MB). */
static void test_huge_answer_refused(void **state)
{
    fixture *f = *state;
    pc_address m;
    it_open_channel(f->t, &TERMS, 0, &m, NULL);
    int pid = pc_test_paychand_pid(f->consumer);
    long before = peak_rss_kb(pid);
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_HUGE, NULL, 50u * 1000 * 1000);
    char target[128];
    pc_test_reply r;
    int64_t ms;
    snprintf(target, sizeof target, "/contracts/%s/funds", pc_itest_addr(&m));
    timed_get(f->c_consumer, &r, &ms, target);
    pc_test_node_proxy_set(f->proxy, PC_TEST_NODE_PASS, NULL, 0);
    expect_node_error(&r, "/funds with a 50 MB node answer");
    pc_test_reply_free(&r);
    long grown = peak_rss_kb(pid) - before;
    pc_itest_sleep_ms(1100); /* a failed read is not repeated within a second */
    printf("peak memory grew by %ld kB after a 50 MB node answer\n", grown);
    if (grown > 40 * 1024)
        it_fail("a 50 MB node answer grew the peak memory by %ld kB", grown);
    timed_get(f->c_consumer, &r, &ms, target);
    it_expect_ok(&r); /* and the node is used again as soon as it answers sanely */
    pc_test_reply_free(&r);
}

typedef struct depositor {
    fixture *f;
    pc_address m;
    atomic_int stop;
    int sent;
} depositor;

static void *deposit_loop(void *arg)
{
    depositor *d = arg;
    pc_error err;
    pc_wallet_options o = {.chain_id = d->f->t->chain_id};
    pc_wallet *w = pc_wallet_create(d->f->t->rpc, d->f->t->secp, d->f->t->key[IT_CONSUMER], &o,
                                    &err);
    pc_u256 amount = pc_u256_from_u64(1000);
    while (w && !atomic_load(&d->stop))
        d->sent += pc_mediator_deposit(w, &d->m, &amount, NULL, NULL, &err) == 0;
    pc_wallet_destroy(w);
    return NULL;
}

/* Reads racing deposits never call a genuine Mediator fake: all of a
 * state's reads are pinned to one block hash (seen: 48 of 1,712 reads
 * answered 400/300 "not a genuine Mediator"). */
static void test_reads_racing_deposits(void **state)
{
    fixture *f = *state;
    depositor d = {.f = f};
    it_open_channel(f->t, &TERMS, 1000, &d.m, NULL);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, deposit_loop, &d), 0);
    int reads = 0, refused = 0;
    char last[512] = "";
    int64_t end = now_ms() + 8000;
    while (now_ms() < end) {
        pc_test_reply r;
        pc_itest_get(f->t, IT_CONSUMER, &r, "/contracts/%s/funds", pc_itest_addr(&d.m));
        reads++;
        if (r.status != 200) {
            refused++;
            snprintf(last, sizeof last, "%ld %s", r.status, r.text);
        }
        pc_test_reply_free(&r);
    }
    atomic_store(&d.stop, 1);
    pthread_join(thread, NULL);
    printf("%d reads racing %d deposits: %d refused; inconsistent reads retried: %s\n", reads,
           d.sent, refused,
           pc_test_paychand_log_contains(f->t->consumer_server, "holds less ether") ? "some"
                                                                                     : "none");
    if (refused)
        it_fail("%d of %d reads racing deposits refused, last: %s", refused, reads, last);
    it_check(reads > 100 && d.sent > 100);
}

/* A deposit the account cannot afford is code 60 (deposit failed), naming
 * the balance, not 503/101 "node unreachable". */
static void test_unaffordable_deposit(void **state)
{
    fixture *f = *state;
    pc_address m;
    it_open_channel(f->t, &TERMS, 0, &m, NULL);
    pc_test_reply r;
    pc_itest_get(f->t, IT_CONSUMER, &r, "/contracts/%s/deposit/%s", pc_itest_addr(&m),
                 "1000000000000000000000000000000"); /* 10^30 wei; dev accounts hold 10^22 */
    it_expect_error(&r, 500, PC_ERR_DEPOSIT);
    it_check(strstr(pc_test_reply_string(&r, "message"), "not enough") != NULL);
    pc_test_reply_free(&r);
}

/* ---- point 12: idle node traffic is O(1) per block ---------------------------------------- */

/* With 30 Mediators cached (a 10 s redemption timeout: states may be
 * served for 5 s) and a block a second, an idle server asks the node about
 * twice a second (the head, the logs of the new block) instead of re-reading
 * every Mediator (9 requests each, every 2.5 s: ~100/s here);
 * and it still follows them: a redemption started elsewhere shows in its
 * next token without a single eth_call. Last test: it changes the mining. */
static void test_idle_traffic_follows_events(void **state)
{
    fixture *f = *state;
    pc_address m[30];
    for (int i = 0; i < 30; i++) {
        pc_test_reply r;
        pc_test_get(f->c_consumer, &r, "/useService?serviceProvider=%s&costPerRequest=1000"
                    "&terminationTimeout=100&tokenRedemptionTimeout=10",
                    f->t->sender[IT_PROVIDER]);
        it_check(pc_address_parse(pc_test_reply_string(&r, "mediatorAddress"), &m[i]) == 0);
        pc_test_reply_free(&r);
    }
    assert_int_equal(pc_test_anvil_rpc(f->t->anvil, "evm_setIntervalMining", "[1]"), 0);
    pc_itest_sleep_ms(2000);
    uint64_t before = pc_test_node_proxy_count(f->proxy, NULL);
    pc_itest_sleep_ms(6000);
    double per_s = (double)(pc_test_node_proxy_count(f->proxy, NULL) - before) / 6.0;
    printf("idle node requests through the proxy (2 servers, 30 Mediators): %.1f/s\n", per_s);
    pc_test_node_proxy_print_counts(f->proxy, stdout);
    if (per_s > 8.0) /* two servers: under 4/s each */
        it_fail("idle node traffic %.1f requests/s with 30 Mediators", per_s);

    /* the provider (direct server) starts a redemption on m[0]: a new active id */
    pc_test_reply r;
    pc_itest_get(f->t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m[0]));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    pc_mediator_state st;
    pc_itest_state(f->t, &m[0], &st);
    uint64_t calls = pc_test_node_proxy_count(f->proxy, "eth_call");
    int seen = 0;
    for (int tries = 0; tries < 40 && !seen; tries++) {
        pc_test_get(f->c_consumer, &r, "/contracts/%s/createSignatureHeaders",
                    pc_itest_addr(&m[0]));
        it_expect_ok(&r);
        seen = strcmp(pc_test_reply_string(&r, "x-pay-token-id"),
                      pc_itest_dec(&st.active_token_id)) == 0;
        pc_test_reply_free(&r);
        if (!seen)
            pc_itest_sleep_ms(100);
    }
    it_check(seen);
    uint64_t reads = pc_test_node_proxy_count(f->proxy, "eth_call") - calls;
    if (reads != 0)
        it_fail("following a redemption took %llu eth_calls (expected the event alone)",
                (unsigned long long)reads);
    pc_test_anvil_rpc(f->t->anvil, "evm_setIntervalMining", "[0]");
    pc_test_anvil_rpc(f->t->anvil, "evm_setAutomine", "[true]");
}

/* ---- set-up ----------------------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f || !(f->t = pc_itest_start(NULL)) ||
        !(f->proxy = pc_test_node_proxy_start(pc_test_anvil_url(f->t->anvil))))
        return -1;
    f->args[0] = "--node-url"; /* after the usual one: the last one given counts */
    f->args[1] = pc_test_node_proxy_url(f->proxy);
    f->consumer = pc_itest_start_consumer_server(f->t, "consumer-via-proxy", NULL, f->args);
    f->provider = pc_itest_start_provider_server(f->t, "provider-via-proxy", NULL, f->args);
    if (!f->consumer || !f->provider)
        return -1;
    f->c_consumer = pc_itest_client(f->t, f->consumer, IT_CONSUMER);
    f->c_provider = pc_itest_client(f->t, f->provider, IT_PROVIDER);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        pc_test_client_destroy(f->c_consumer);
        pc_test_client_destroy(f->c_provider);
        pc_test_paychand_free(f->consumer);
        pc_test_paychand_free(f->provider);
        pc_itest_stop(f->t);
        pc_test_node_proxy_stop(f->proxy);
        free(f);
    }
    return 0;
}

/* An argument runs only the tests whose names match it (cmocka's filter). */
int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hung_node_fails_fast_and_once),
        cmocka_unit_test(test_node_timeout_option),
        cmocka_unit_test(test_outage_keeps_cached_tokens),
        cmocka_unit_test(test_huge_answer_refused),
        cmocka_unit_test(test_reads_racing_deposits),
        cmocka_unit_test(test_unaffordable_deposit),
        cmocka_unit_test(test_idle_traffic_follows_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
