/* paychan-proxy, consumer mode, with real processes: anvil, both teams'
 * paychand, the Python upstream behind a provider proxy (/paid at 10 wei,
 * /free free) and the consumer sidecar of dev account 1 in front. The
 * sidecar opens the channel itself on the first 402 and retries once, by
 * route and as a forward proxy; it refuses targets not on its allow-list,
 * terms above the maximum cost, and spending past the maximum. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/child.h"
#include "support/integration.h"
#include "support/paychand.h"
#include "support/prom_text.h"
#include "support/proxy.h"

typedef struct world {
    pc_itest *t;
    pc_test_proc upstream, provider, sidecar;
} world;

static world W;


static void via_sidecar(const char *path, const char *const *headers, pc_test_exchange *x)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", W.sidecar.url, path);
    pc_test_exchange_send("GET", url, headers, NULL, 0, NULL, 60000, x);
}


/* The payer the upstream was told of, or NULL (free). */
static const char *paid_by(const pc_test_exchange *x)
{
    static char out[64];
    json_t *j = json_loads(x->body, 0, NULL);
    const char *v = json_string_value(json_object_get(json_object_get(j, "headers"),
                                                      "x-paychan-consumer"));
    snprintf(out, sizeof out, "%s", v ? v : "");
    json_decref(j);
    return v ? out : NULL;
}

static void test_first_contact_opens_channel_and_pays(void **state)
{
    (void)state;
    pc_test_exchange x;
    const char *const injected[] = {"x-pay-signature: 0xjunk", NULL};
    via_sidecar("/prov/paid/one?a=1", injected, &x);
    if (x.status != 200)
        fprintf(stderr, "%s\n", x.body);
    assert_int_equal(x.status, 200);
    assert_string_equal(paid_by(&x), W.t->sender[IT_CONSUMER]);
    pc_test_exchange_free(&x);
    assert_true(pc_test_proc_log_contains(&W.sidecar, "target prov: channel open"));
    for (int i = 0; i < 5; i++) { /* the channel is reused */
        via_sidecar("/prov/paid/again", NULL, &x);
        assert_int_equal(x.status, 200);
        pc_test_exchange_free(&x);
    }
}

/* The consumer's Payment Server's calls for tokens so far (both forms of
 * createSignatureHeaders, answered 200) and the tokens they carried. */
static void token_calls(double *calls, double *tokens)
{
    char url[128], why[300] = "";
    snprintf(url, sizeof url, "%s/metrics", pc_test_paychand_url(W.t->consumer_server));
    pc_test_exchange x;
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 10000, &x);
    pc_test_prom p = {0};
    assert_int_equal(x.status, 200);
    if (pc_test_prom_parse(x.body, &p, why, sizeof why) != 0)
        fail_msg("/metrics does not parse: %s", why);
    *calls = pc_test_prom_value(&p, "paychan_http_requests_total",
                                "endpoint=\"/contracts/{mediator}/createSignatureHeaders\","
                                "status=\"200\"", 0) +
             pc_test_prom_value(&p, "paychan_http_requests_total",
                                "endpoint=\"/createSignatureHeaders\",status=\"200\"", 0);
    *tokens = pc_test_prom_value(&p, "paychan_tokens_created_total", "", 0);
    pc_test_prom_free(&p);
    pc_test_exchange_free(&x);
}

/* Waits (5 s at most) until the consumer's Payment Server has signed no
 * new token for 300 ms: the sidecar's spare, asked for behind the last
 * request, is in. The tokens signed so far. */
static double tokens_settled(void)
{
    double calls, tokens, last = -1;
    for (int quiet = 0, i = 0; quiet < 3 && i < 50; i++) {
        token_calls(&calls, &tokens);
        quiet = tokens == last ? quiet + 1 : 0;
        last = tokens;
        pc_test_sleep_ms(100);
    }
    return last;
}

/* A request alone goes with the target's spare token: it needs no call to
 * the Payment Server, which is held (SIGSTOP) meanwhile; without the spare
 * it would wait --payment-timeout (2 s) and get 503. The spare's
 * replacement, signed once the Payment Server is back, is the one token
 * the request cost it. */
static void test_spare_token_needs_no_payment_server(void **state)
{
    (void)state;
    pid_t ps = (pid_t)pc_test_paychand_pid(W.t->consumer_server);
    double before = tokens_settled();
    pc_test_exchange x;
    assert_int_equal(kill(ps, SIGSTOP), 0);
    via_sidecar("/prov/paid/spare", NULL, &x);
    assert_int_equal(kill(ps, SIGCONT), 0);
    if (x.status != 200)
        fprintf(stderr, "%s\n", x.body);
    assert_int_equal(x.status, 200);
    assert_string_equal(paid_by(&x), W.t->sender[IT_CONSUMER]);
    pc_test_exchange_free(&x);
    assert_true(tokens_settled() == before + 1);
}

/* The number after `key` in p's log (0 when absent), and the Mediator the
 * log says the channel opened with into *m. */
static uint64_t from_log(const pc_test_proc *p, const char *key, pc_address *m)
{
    static char text[1 << 16];
    FILE *f = fopen(p->log_path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    const char *at = strstr(text, key), *med = strstr(text, "Mediator 0x");
    char addr[43] = "";
    if (med)
        snprintf(addr, sizeof addr, "%.42s", med + strlen("Mediator "));
    assert_int_equal(pc_address_parse(addr, m), 0);
    return at ? strtoull(at + strlen(key), NULL, 10) : 0;
}

/* At shutdown a sidecar gives its spare token back: the consumer's next
 * token (here taken straight from its Payment Server) has the spare's
 * count again, so the request never sent is not paid. */
static void test_spare_given_back_at_shutdown(void **state)
{
    (void)state;
    char me_key[128], target[256], url[256];
    pc_test_dev_account_arg("me", W.t->key[IT_CONSUMER], me_key, sizeof me_key);
    snprintf(target, sizeof target, "prov %s 20 2000 1000 1000000", W.provider.url);
    const char *const args[] = {"--mode", "consumer", "--dev", "--account", me_key,
                                "--payment-server", pc_test_paychand_url(W.t->consumer_server),
                                "--target", target, NULL};
    pc_test_proc p;
    assert_int_equal(pc_test_proxy_start(&p, PAYCHAN_PROXY, "sidecar-spare", args), 0);
    snprintf(url, sizeof url, "%s/prov/paid/given-back", p.url);
    for (int i = 0; i < 2; i++) {
        pc_test_exchange x;
        pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 30000, &x);
        assert_int_equal(x.status, 200);
        pc_test_exchange_free(&x);
    }
    tokens_settled(); /* the second request's spare is in */
    assert_int_equal(pc_test_proc_stop(&p), 0);
    pc_address m;
    uint64_t spare = from_log(&p, "spare token (count ", &m);
    assert_true(pc_test_proc_log_contains(&p, ") given back"));
    pc_itest_token tok;
    it_headers(W.t, IT_CONSUMER, &m, &tok);
    fprintf(stderr, "spare count %llu given back; the next token's count: %llu\n",
            (unsigned long long)spare, (unsigned long long)tok.count);
    assert_true(spare > 0 && tok.count == spare);
}

static const char *burst_path = "/prov/paid/batch"; /* what a burst asks for */

static void *paid_in_parallel(void *arg)
{
    via_sidecar(burst_path, NULL, arg);
    return NULL;
}

typedef struct burst {
    int n;
    pthread_t threads[32];
    pc_test_exchange x[32];
} burst;

/* Sends b->n paid requests at once, each from its own thread. */
static void burst_start(burst *b)
{
    assert_true(b->n <= 32);
    for (int i = 0; i < b->n; i++)
        assert_int_equal(pthread_create(&b->threads[i], NULL, paid_in_parallel, &b->x[i]), 0);
}

/* Waits for them: every one must be answered 200 and paid. */
static void burst_finish(burst *b)
{
    for (int i = 0; i < b->n; i++) {
        pthread_join(b->threads[i], NULL);
        if (b->x[i].status != 200)
            fprintf(stderr, "%s\n", b->x[i].body);
        assert_int_equal(b->x[i].status, 200);
        assert_string_equal(paid_by(&b->x[i]), W.t->sender[IT_CONSUMER]);
        pc_test_exchange_free(&b->x[i]);
    }
}

/* n paid requests sent together while the consumer's paychand is held
 * (SIGSTOP): the first one's call waits on it and the others queue behind
 * it in the sidecar. */
static void paid_burst(int n)
{
    pid_t ps = (pid_t)pc_test_paychand_pid(W.t->consumer_server);
    burst b = {.n = n};
    assert_int_equal(kill(ps, SIGSTOP), 0);
    burst_start(&b);
    pc_test_sleep_ms(400); /* all of them reach the sidecar (its --payment-timeout is 2 s) */
    assert_int_equal(kill(ps, SIGCONT), 0);
    burst_finish(&b);
}

/* Requests to a target in flight together get their tokens in one call to
 * the Payment Server: 12 requests take 2 calls (they took 12, one each). */
static void test_tokens_in_flight_share_a_call(void **state)
{
    (void)state;
    enum { N = 12 };
    double calls0, tokens0, calls1, tokens1;
    token_calls(&calls0, &tokens0);
    paid_burst(N);
    token_calls(&calls1, &tokens1);
    fprintf(stderr, "%d requests in flight: %.0f tokens in %.0f calls\n", N, tokens1 - tokens0,
            calls1 - calls0);
    assert_true(tokens1 - tokens0 == N);
    assert_true(calls1 - calls0 <= 3);
}

static void count_thread(void *arg, const char *comm)
{
    (void)comm;
    ++*(int *)arg;
}

static int sidecar_threads(void)
{
    int n = 0;
    pc_test_each_thread(W.sidecar.pid, "comm", count_thread, &n);
    return n;
}

/* Many requests meeting a target's first 402 at once: one opening runs
 * (off the loops, on one thread), the others wait for it and are then
 * retried and paid. The consumer's paychand is held so the opening hangs
 * meanwhile: with a thread per 402, 12 requests made 12 threads. */
static void test_first_contact_burst_opens_once(void **state)
{
    (void)state;
    pid_t ps = (pid_t)pc_test_paychand_pid(W.t->consumer_server);
    burst b = {.n = 12};
    int before = sidecar_threads();
    burst_path = "/prov2/paid/burst";
    assert_int_equal(kill(ps, SIGSTOP), 0);
    burst_start(&b);
    pc_test_sleep_ms(600); /* all 12 got their 402 and wait for the channel */
    int during = sidecar_threads();
    assert_int_equal(kill(ps, SIGCONT), 0);
    burst_finish(&b);
    burst_path = "/prov/paid/batch";
    fprintf(stderr, "sidecar threads: %d before, %d while 12 requests waited for the channel\n",
            before, during);
    assert_true(during - before <= 1);
    assert_true(pc_test_proc_log_contains(&W.sidecar, "target prov2: channel open"));
}

static void add_sleeps(void *arg, const char *status)
{
    static const char key[] = "\nvoluntary_ctxt_switches:"; /* not nonvoluntary_ */
    const char *line = strstr(status, key);
    if (line)
        *(long *)arg += strtol(line + strlen(key), NULL, 10);
}

/* The times the sidecar's threads went to sleep so far (voluntary context
 * switches, summed over its threads). */
static long sidecar_sleeps(void)
{
    long total = 0;
    pc_test_each_thread(W.sidecar.pid, "status", add_sleeps, &total);
    return total;
}

/* A request queued behind another's token call sleeps until its own token
 * is in (or it is to lead the next call), and is woken for nothing else:
 * with one condition variable for the queue, each batch signed and each
 * change of leader woke every queued request, most of them only to sleep
 * again. 32 requests queue while the consumer's paychand is held; the
 * provider proxy is held too, so that the sleeps counted from paychand's
 * release until all 32 tokens are out are those of the token queue (each
 * request then waits on the held upstream, once). Woken once, a request
 * slept 1.1-2.0 times there; woken by every broadcast, 4.5-4.8 times. */
static void test_queued_requests_woken_once(void **state)
{
    (void)state;
    pid_t ps = (pid_t)pc_test_paychand_pid(W.t->consumer_server);
    burst b = {.n = 32};
    double calls0, tokens0, calls, tokens;
    paid_burst(b.n); /* warm: connections for 32 requests at once are open */
    token_calls(&calls0, &tokens0);
    assert_int_equal(kill(ps, SIGSTOP), 0);
    assert_int_equal(kill(W.provider.pid, SIGSTOP), 0);
    burst_start(&b);
    pc_test_sleep_ms(400); /* all 32 in the sidecar, 31 queued behind the first */
    long before = sidecar_sleeps();
    assert_int_equal(kill(ps, SIGCONT), 0);
    for (int i = 0; i < 500; i++) { /* until the 32 tokens are out */
        token_calls(&calls, &tokens);
        if (tokens - tokens0 >= b.n)
            break;
        pc_test_sleep_ms(5);
    }
    pc_test_sleep_ms(20); /* the last batch's requests reach the held upstream */
    double per_request = (double)(sidecar_sleeps() - before) / b.n;
    assert_int_equal(kill(W.provider.pid, SIGCONT), 0);
    burst_finish(&b);
    fprintf(stderr, "%d requests queued for tokens: %.0f tokens in %.0f calls, %.2f sleeps per "
            "request\n", b.n, tokens - tokens0, calls - calls0, per_request);
    assert_true(tokens - tokens0 == b.n);
    assert_true(per_request < 3.5);
}

static void test_forward_proxy_form(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "%s/paid/forwarded", W.provider.url);
    pc_test_exchange x;
    pc_test_exchange_send("GET", url, NULL, NULL, 0, W.sidecar.url, 60000, &x);
    if (x.status != 200)
        fprintf(stderr, "%s\n", x.body);
    assert_int_equal(x.status, 200);
    assert_string_equal(paid_by(&x), W.t->sender[IT_CONSUMER]);
    pc_test_exchange_free(&x);
}

static void test_not_allow_listed(void **state)
{
    (void)state;
    pc_test_exchange x;
    via_sidecar("/stranger/paid/x", NULL, &x);
    pc_test_expect_json_error(&x, 403, 611);
    pc_test_exchange_free(&x);
    char url[128];
    snprintf(url, sizeof url, "%s/paid/x", W.upstream.url); /* the service, bypassing its proxy */
    pc_test_exchange_send("GET", url, NULL, NULL, 0, W.sidecar.url, 20000, &x);
    pc_test_expect_json_error(&x, 403, 611);
    pc_test_exchange_free(&x);
}

static void test_cost_above_maximum_refused(void **state)
{
    (void)state;
    pc_test_exchange x;
    via_sidecar("/cheap/paid/x", NULL, &x);
    pc_test_expect_json_error(&x, 402, 612);
    pc_test_exchange_free(&x);
    assert_false(pc_test_proc_log_contains(&W.sidecar, "target cheap: channel open"));
}

static void test_spend_limit(void **state)
{
    (void)state;
    pc_test_exchange x;
    via_sidecar("/tight/one", NULL, &x); /* max spend 10: one request at 10 wei */
    assert_int_equal(x.status, 200);
    pc_test_exchange_free(&x);
    via_sidecar("/tight/two", NULL, &x);
    pc_test_expect_json_error(&x, 402, 613);
    pc_test_exchange_free(&x);
}

/* The sidecar's own probes (no target is named health or ready): /health
 * while it serves, /ready while its Payment Server is ready too. */
static void test_own_health_and_ready(void **state)
{
    (void)state;
    pc_test_exchange x;
    via_sidecar("/health", NULL, &x);
    assert_int_equal(x.status, 200);
    pc_test_exchange_free(&x);
    via_sidecar("/ready", NULL, &x);
    assert_int_equal(x.status, 200);
    assert_non_null(strstr(x.body, "\"ready\""));
    pc_test_exchange_free(&x);
}

/* A 402 without terms: the sidecar cannot open a channel and says so. */
static void test_402_without_terms(void **state)
{
    (void)state;
    pc_test_exchange x;
    via_sidecar("/bare/x", NULL, &x);
    pc_test_expect_json_error(&x, 502, 614);
    pc_test_exchange_free(&x);
}

/* The consumer's Payment Server down: the channel cannot be opened (503, code 600). */
static void test_payment_server_down(void **state)
{
    (void)state;
    char down[64], target[256], key[128];
    snprintf(down, sizeof down, "http://127.0.0.1:%d", pc_test_free_port());
    snprintf(target, sizeof target, "prov %s 20 2000 1000 1000000", W.provider.url);
    pc_test_dev_account_arg("me", W.t->key[IT_CONSUMER], key, sizeof key);
    const char *const args[] = {"--mode", "consumer", "--dev", "--account", key,
                                "--payment-server", down, "--target", target,
                                "--payment-timeout", "500", NULL};
    pc_test_proc p;
    assert_int_equal(pc_test_proxy_start(&p, PAYCHAN_PROXY, "sidecar-no-ps", args), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/prov/paid/x", p.url);
    pc_test_exchange x;
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 20000, &x);
    pc_test_expect_json_error(&x, 503, 600);
    pc_test_exchange_free(&x);
    snprintf(url, sizeof url, "%s/ready", p.url);
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 20000, &x);
    pc_test_expect_json_error(&x, 503, 600); /* not ready without its Payment Server */
    pc_test_exchange_free(&x);
    assert_int_equal(pc_test_proc_stop(&p), 0);
}

/* A sidecar started with http_proxy (and HTTP_PROXY, ALL_PROXY) in its
 * environment, as it gets when it shares the service's environment whose
 * proxy variable names the sidecar: its own calls (to its Payment Server
 * through libpaychan, to the target) still go straight to their URLs.
 * Before, curl sent them to the proxy named there (here a dead port) and
 * the paid request failed. */
static void test_proxy_variables_ignored(void **state)
{
    (void)state;
    static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"};
    char dead[64], me_key[128], target[256], url[256];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", pc_test_free_port());
    pc_test_dev_account_arg("me", W.t->key[IT_CONSUMER], me_key, sizeof me_key);
    snprintf(target, sizeof target, "prov %s 20 2000 1000 1000000", W.provider.url);
    const char *const args[] = {"--mode", "consumer", "--dev", "--account", me_key,
                                "--payment-server", pc_test_paychand_url(W.t->consumer_server),
                                "--target", target, NULL};
    for (size_t i = 0; i < 4; i++)
        setenv(vars[i], dead, 1);
    pc_test_proc p;
    int started = pc_test_proxy_start(&p, PAYCHAN_PROXY, "sidecar-env-proxy", args);
    for (size_t i = 0; i < 4; i++) /* only the sidecar has them: not this test's client */
        unsetenv(vars[i]);
    assert_int_equal(started, 0);
    snprintf(url, sizeof url, "%s/prov/paid/env", p.url);
    pc_test_exchange x;
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 30000, &x);
    if (x.status != 200)
        fprintf(stderr, "%s\n", x.body);
    assert_int_equal(x.status, 200);
    assert_string_equal(paid_by(&x), W.t->sender[IT_CONSUMER]);
    pc_test_exchange_free(&x);
    assert_int_equal(pc_test_proc_stop(&p), 0);
}

static int setup(void **state)
{
    (void)state;
    static char prov_key[128], me_key[128];
    char up_paid[128];
    if (!(W.t = pc_itest_start(NULL)) || pc_test_upstream_start(&W.upstream) != 0)
        return -1;
    pc_test_dev_account_arg("prov", W.t->key[IT_PROVIDER], prov_key, sizeof prov_key);
    pc_test_dev_account_arg("me", W.t->key[IT_CONSUMER], me_key, sizeof me_key);
    const char *const pargs[] = {"--mode", "provider", "--dev", "--upstream", W.upstream.url,
                                 "--payment-server", pc_test_paychand_url(W.t->provider_server),
                                 "--account", prov_key, "--route", "GET /paid paid prov 10",
                                 "--route", "GET /free free", NULL};
    if (pc_test_proxy_start(&W.provider, PAYCHAN_PROXY, "provider-proxy", pargs) != 0)
        return -1;
    static char t1[256], t2[256], t3[256], t4[256], t5[256];
    /* 2000 wei at 10 a request: the ~100 paid requests of these tests and
     * the spare tokens of the two sidecars that share the Mediator */
    snprintf(t1, sizeof t1, "prov %s 20 2000 1000 1000000", W.provider.url);
    snprintf(t2, sizeof t2, "cheap %s 5 1000 500 1000000", W.provider.url);
    snprintf(up_paid, sizeof up_paid, "%s/paid", W.provider.url);
    snprintf(t3, sizeof t3, "tight %s 20 1000 500 10", up_paid);
    snprintf(t4, sizeof t4, "bare %s/402 20 1000 500 1000", W.upstream.url);
    snprintf(t5, sizeof t5, "prov2 %s 20 1000 500 1000000", W.provider.url);
    const char *const cargs[] = {"--mode", "consumer", "--dev", "--account", me_key,
                                 "--payment-server", pc_test_paychand_url(W.t->consumer_server),
                                 "--target", t1, "--target", t2, "--target", t3,
                                 "--target", t4, "--target", t5,
                                 "--log-level", "debug", NULL};
    return pc_test_proxy_start(&W.sidecar, PAYCHAN_PROXY, "sidecar", cargs);
}

static int teardown(void **state)
{
    (void)state;
    int rc = pc_test_proc_stop(&W.sidecar) | pc_test_proc_stop(&W.provider);
    pc_test_proc_stop(&W.upstream);
    pc_itest_stop(W.t);
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_contact_opens_channel_and_pays),
        cmocka_unit_test(test_spare_token_needs_no_payment_server),
        cmocka_unit_test(test_spare_given_back_at_shutdown),
        cmocka_unit_test(test_tokens_in_flight_share_a_call),
        cmocka_unit_test(test_first_contact_burst_opens_once),
        cmocka_unit_test(test_queued_requests_woken_once),
        cmocka_unit_test(test_forward_proxy_form),
        cmocka_unit_test(test_not_allow_listed),
        cmocka_unit_test(test_cost_above_maximum_refused),
        cmocka_unit_test(test_spend_limit),
        cmocka_unit_test(test_own_health_and_ready),
        cmocka_unit_test(test_402_without_terms),
        cmocka_unit_test(test_payment_server_down),
        cmocka_unit_test(test_proxy_variables_ignored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
