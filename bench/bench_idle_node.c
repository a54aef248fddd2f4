/* bench_idle_node: node requests per second of two idle paychands (one per
 * team) that know N Mediators, on anvil with a block a second. Each server
 * talks to anvil through its own counting proxy (tests/support/node_proxy.h)
 * so its requests are counted apart.
 *
 * Set-up: anvil with instant mining; N Mediators deployed through the
 * consumer team's API (useService, two consumer accounts, 4 client
 * threads); one token of each created by the consumer's server and
 * validated by the provider's, so both servers hold all N. Then anvil mines
 * a block a second, the servers settle for 5 s, and the requests of the
 * next `seconds` are counted. Not a test: the figures go to
 * docs/benchmarks.md.
 *
 *   PAYCHAN_PAYCHAND=build-rel/src/server/paychand build-rel/bench/bench_idle_node N [seconds]
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support/integration.h"
#include "support/node_proxy.h"

#define DEPLOY_THREADS 4

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 3600, .redemption = 3600};

typedef struct team {
    const char *name;
    pc_test_node_proxy *proxy;
    const char *args[3];
    pc_test_paychand *server;
} team;

typedef struct deployer {
    pc_itest *t;
    team *consumer, *provider;
    int who;            /* consumer account */
    size_t n, done, failed;
} deployer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One Mediator through the consumer's API, one token of it validated. */
static int deploy_one(deployer *d, pc_test_client *c, pc_test_client *p)
{
    pc_test_reply r;
    char m[PC_ADDRESS_TEXT_LEN] = "";
    pc_test_get(c, &r, "/useService?serviceProvider=%s&costPerRequest=%llu&terminationTimeout=%llu"
                "&tokenRedemptionTimeout=%llu", d->t->sender[IT_PROVIDER],
                (unsigned long long)TERMS.cost, (unsigned long long)TERMS.termination,
                (unsigned long long)TERMS.redemption);
    const char *addr = pc_test_reply_string(&r, "mediatorAddress");
    if (r.status == 200 && addr)
        snprintf(m, sizeof m, "%s", addr);
    else
        fprintf(stderr, "useService: %ld %s\n", r.status, r.text);
    pc_test_reply_free(&r);
    if (!m[0])
        return -1;
    pc_test_get(c, &r, "/contracts/%s/deposit/%llu", m, (unsigned long long)TERMS.cost);
    int deposited = r.status == 200;
    pc_test_reply_free(&r);
    if (!deposited)
        return -1;
    pc_test_get(c, &r, "/contracts/%s/createSignatureHeaders", m);
    pc_itest_token tok = {.count = 1};
    const char *fields[] = {"x-pay-sender", "x-pay-token-id", "x-pay-signature"};
    char *into[] = {tok.sender, tok.token_id, tok.signature};
    size_t caps[] = {sizeof tok.sender, sizeof tok.token_id, sizeof tok.signature};
    for (int i = 0; i < 3; i++) {
        const char *v = pc_test_reply_string(&r, fields[i]);
        snprintf(into[i], caps[i], "%s", v ? v : "");
    }
    snprintf(tok.mediator, sizeof tok.mediator, "%s", m);
    int ok = r.status == 200;
    pc_test_reply_free(&r);
    if (!ok)
        return -1;
    pc_itest_validate(d->t, p, &tok, &TERMS, &r);
    ok = r.status == 200;
    if (!ok)
        fprintf(stderr, "validateToken: %ld %s\n", r.status, r.text);
    pc_test_reply_free(&r);
    return ok ? 0 : -1;
}

static void *deploy_loop(void *arg)
{
    deployer *d = arg;
    pc_test_client *c = pc_itest_client(d->t, d->consumer->server, d->who);
    pc_test_client *p = pc_itest_client(d->t, d->provider->server, IT_PROVIDER);
    while (d->done + d->failed < d->n) {
        if (deploy_one(d, c, p) == 0)
            d->done++;
        else
            d->failed++;
    }
    pc_test_client_destroy(c);
    pc_test_client_destroy(p);
    return NULL;
}

static int deploy_all(pc_itest *t, team *consumer, team *provider, size_t n)
{
    deployer d[DEPLOY_THREADS];
    pthread_t threads[DEPLOY_THREADS];
    double t0 = now_s();
    size_t done = 0, failed = 0;
    for (int i = 0; i < DEPLOY_THREADS; i++) {
        d[i] = (deployer){.t = t, .consumer = consumer, .provider = provider,
                          .who = i % 2 ? IT_CONSUMER2 : IT_CONSUMER,
                          .n = n / DEPLOY_THREADS + ((size_t)i < n % DEPLOY_THREADS)};
        pthread_create(&threads[i], NULL, deploy_loop, &d[i]);
    }
    for (int i = 0; i < DEPLOY_THREADS; i++) {
        pthread_join(threads[i], NULL);
        done += d[i].done;
        failed += d[i].failed;
    }
    printf("deployed %zu Mediators (%zu failed) in %.1f s\n", done, failed, now_s() - t0);
    return failed ? -1 : 0;
}

static int start_team(pc_itest *t, team *tm, int consumer_side)
{
    if (!(tm->proxy = pc_test_node_proxy_start(pc_test_anvil_url(t->anvil))))
        return -1;
    tm->args[0] = "--node-url";
    tm->args[1] = pc_test_node_proxy_url(tm->proxy);
    tm->server = consumer_side ? pc_itest_start_consumer_server(t, tm->name, NULL, tm->args)
                               : pc_itest_start_provider_server(t, tm->name, NULL, tm->args);
    return tm->server ? 0 : -1;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10;
    int seconds = argc > 2 ? atoi(argv[2]) : 30;
    pc_itest_options o = {.store = "sqlite"};
    pc_itest *t = pc_itest_start_with(&o, getenv("PAYCHAN_PAYCHAND"));
    team teams[2] = {{.name = "consumer-team"}, {.name = "provider-team"}};
    if (!t || start_team(t, &teams[0], 1) != 0 || start_team(t, &teams[1], 0) != 0 ||
        deploy_all(t, &teams[0], &teams[1], n) != 0) {
        fprintf(stderr, "bench_idle_node: set-up failed\n");
        return 1;
    }
    pc_test_anvil_rpc(t->anvil, "evm_setIntervalMining", "[1]");
    pc_itest_sleep_ms(5000);
    for (int i = 0; i < 2; i++)
        pc_test_node_proxy_reset_counts(teams[i].proxy);
    uint64_t block0 = pc_itest_block(t);
    pc_itest_sleep_ms(seconds * 1000L);
    uint64_t blocks = pc_itest_block(t) - block0;
    printf("%zu Mediators, %d s, %llu blocks:\n", n, seconds, (unsigned long long)blocks);
    for (int i = 0; i < 2; i++) {
        uint64_t count = pc_test_node_proxy_count(teams[i].proxy, NULL);
        printf("  %s: %.2f node requests/s; requests per method:\n", teams[i].name,
               (double)count / seconds);
        pc_test_node_proxy_print_counts(teams[i].proxy, stdout);
    }
    for (int i = 0; i < 2; i++) {
        pc_test_paychand_free(teams[i].server);
        pc_test_node_proxy_stop(teams[i].proxy);
    }
    pc_itest_stop(t);
    return 0;
}
