/* test_network_proxy.c: the example network run the second way (issue 13):
 * the three services as plain Python (examples/network-proxy/services.py,
 * no payment code) each behind paychan-proxy - a provider proxy in front of
 * persistence (2 gwei per /save) and random (1 gwei per /randomNumber), a
 * consumer sidecar for public - with real anvil and both teams' paychand
 * (tests/support/network.h, chain_only). The checks of test_network_paid,
 * in order on one network:
 *
 *  1. 50 /action calls all succeed; the sidecar opened both channels on its
 *     first 402 (Mediators with the providers' terms, 5 finney each); each
 *     provider counts 50 paid requests through its Mediator, the Python
 *     persistence service stored 50 numbers, nothing moved on chain.
 *  2. The persistence proxy refuses, with 402, the protocol's code and its
 *     terms: no payment or no signature (604), a forged token and a
 *     stranger's (4), replays (37), an unknown token id (36), a count beyond
 *     the deposit (34), a token for random's Mediator (2); nothing is
 *     forwarded, counted or moved on chain.
 *  3. /redeem on both provider proxies' admin ports: the Payment Server's
 *     timer redeems exactly the 50 requests and pays them out, to the wei
 *     with gas accounted; /payout afterwards moves nothing.
 *  4. 5 more actions; the sidecar's /terminate: the providers' final
 *     redemption, both Mediators terminated and empty, the rest back with
 *     the consumer to the wei; /action then fails with code 1.
 *  5. Every process exits cleanly (status 0) on SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <cmocka.h>

#include "support/child.h"
#include "support/network.h"
#include "support/network_checks.h"
#include "support/proxy.h"

#define N_ACTIONS 50
#define N_MORE_ACTIONS 5
#define FUNDING_WEI 5000000000000000ULL  /* 5 finney per Mediator */
#define THRESHOLD_WEI "1000000000000000" /* top up below 1 finney */
#define TERMINATION_S 8
#define REDEMPTION_S 4

enum { P_PERSISTENCE = PC_NETC_PERSISTENCE, P_RANDOM = PC_NETC_RANDOM, N_PROVIDERS = 2 };

/* name: the target, account and services.py role */
static const pc_netc_provider providers[N_PROVIDERS] = {
    [P_PERSISTENCE] = {"persistence", "/save?nr=7", 2000000000ULL, PC_NET_ACC_PERSISTENCE},
    [P_RANDOM] = {"random", "/randomNumber", 1000000000ULL, PC_NET_ACC_RANDOM},
};
static const char *const paid_route[N_PROVIDERS] = {"GET /save", "GET /randomNumber"};

static pc_test_network *net;
static pc_test_proc service[3], proxy[N_PROVIDERS], sidecar;
static int admin_port[3]; /* the providers' proxies, then the sidecar */
static pc_net_checks C; /* the Mediators, the first token ids, the shared checks */

#define net_fail(...) netc_fail(&C, __VA_ARGS__)
#define net_check(cond) netc_check(&C, cond)

/* ---- HTTP ------------------------------------------------------------------------------------ */

/* GET base + target; must answer 200 with JSON. The caller frees x and the JSON. */
static json_t *get_ok(const char *base, const char *target, pc_test_exchange *x)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, target);
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 120000, x);
    json_t *j = json_loads(x->body, 0, NULL);
    if (x->status != 200 || !json_is_object(j))
        net_fail("%s: expected 200 with JSON, got %ld: %s", url, x->status, x->body);
    return j;
}

static json_t *admin_get(int which, const char *target, pc_test_exchange *x)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", admin_port[which]);
    return get_ok(base, target, x);
}

/* The provider proxy's counts: paid through C.mediator[p], served, refused. */
static void provider_counts(int p, long long *paid, long long *served, long long *refused)
{
    pc_test_exchange x;
    json_t *body = admin_get(p, "/status", &x);
    json_t *m = json_object_get(json_object_get(body, "mediators"), pc_itest_addr(&C.mediator[p]));
    *paid = json_integer_value(json_object_get(m, "paidRequests"));
    *served = json_integer_value(json_object_get(body, "served"));
    *refused = json_integer_value(json_object_get(body, "refused"));
    json_decref(body);
    pc_test_exchange_free(&x);
}

static void send_token(int p, const pc_itest_token *tok, pc_test_exchange *x)
{
    char h[5][200], url[256];
    snprintf(h[0], sizeof h[0], "x-pay-sender: %s", tok->sender);
    snprintf(h[1], sizeof h[1], "x-pay-mediator: %s", tok->mediator);
    snprintf(h[2], sizeof h[2], "x-pay-token-id: %s", tok->token_id);
    snprintf(h[3], sizeof h[3], "x-pay-req-count: %llu", (unsigned long long)tok->count);
    snprintf(h[4], sizeof h[4], "x-pay-signature: %s", tok->signature);
    const char *const headers[] = {h[0], h[1], h[2], h[3], h[4], NULL};
    snprintf(url, sizeof url, "%s%s", proxy[p].url, providers[p].service_path);
    pc_test_exchange_send("GET", url, headers, NULL, 0, NULL, 60000, x);
}

/* 402 with `code` and provider p's terms, in the body and in x-paychan-terms. */
static void expect_refusal_at(int p, pc_test_exchange *x, long code, const char *what,
                              const char *file, int line)
{
    json_t *j = json_loads(x->body, 0, NULL), *terms = json_object_get(j, "terms");
    const char *provider = json_string_value(json_object_get(terms, "serviceProvider"));
    const char *min_cost = json_string_value(json_object_get(terms, "minCostPerRequest"));
    const char *header = pc_test_exchange_header(x, "x-paychan-terms");
    json_t *ht = header ? json_loads(header, 0, NULL) : NULL;
    char cost[32];
    pc_address addr;
    snprintf(cost, sizeof cost, "%llu", (unsigned long long)providers[p].cost);
    int ok = x->status == 402 && json_integer_value(json_object_get(j, "code")) == code &&
             provider && pc_address_parse(provider, &addr) == 0 &&
             pc_address_equal(&addr, &net->chain.addr[providers[p].account]) && min_cost &&
             strcmp(min_cost, cost) == 0 &&
             json_integer_value(json_object_get(terms, "terminationTimeout")) == TERMINATION_S &&
             json_integer_value(json_object_get(terms, "tokenRedemptionTimeout")) ==
                 REDEMPTION_S &&
             json_equal(ht, terms);
    json_decref(ht);
    json_decref(j);
    if (!ok)
        pc_itest_fail_at(file, line, "%s: expected 402 with code %ld and %s's terms, got %ld: %s",
                         what, code, providers[p].name, x->status, x->body);
    pc_test_exchange_free(x);
}
#define expect_refusal(p, x, code, what) \
    expect_refusal_at((p), (x), (code), (what), __FILE__, __LINE__)

/* ---- the chain ------------------------------------------------------------------------------- */

/* ---- 1. paid actions ------------------------------------------------------------------------- */

static void one_action(void)
{
    pc_test_exchange x;
    json_t *body = get_ok(service[2].url, "/action", &x);
    json_int_t number = json_integer_value(json_object_get(body, "randomNumber"));
    net_check(json_is_integer(json_object_get(body, "randomNumber")) && number >= 0 &&
              number < 1000000);
    net_check(json_is_true(json_object_get(body, "saved")));
    net_check(json_array_size(json_object_get(body, "trace")) == 3);
    json_decref(body);
    pc_test_exchange_free(&x);
}

/* The sidecar's Mediator and paid count for target p. */
static long long sidecar_target(int p, pc_address *m)
{
    pc_test_exchange x;
    json_t *body = admin_get(2, "/status", &x);
    json_t *t = json_object_get(json_object_get(body, "targets"), providers[p].name);
    const char *text = json_string_value(json_object_get(t, "mediator"));
    if (!text || pc_address_parse(text, m) != 0)
        net_fail("sidecar /status: no Mediator for %s: %s", providers[p].name, x.body);
    long long paid = json_integer_value(json_object_get(t, "paidRequests"));
    json_decref(body);
    pc_test_exchange_free(&x);
    return paid;
}

/* Waits (5 s at most) until the sidecar holds a spare token for target p
 * (so the consumer's counts are exactly one ahead of its paid requests:
 * counts_ahead), and checks paid requests went with one. Not all of them
 * need to: the first opened the channel, and a request that comes while
 * the last spare's replacement is still being signed (a loaded machine)
 * takes a token of its own. */
static void check_spare(int p)
{
    for (int tries = 0;; tries++) {
        pc_test_exchange x;
        json_t *body = admin_get(2, "/status", &x);
        json_t *t = json_object_get(json_object_get(body, "targets"), providers[p].name);
        int ready = json_is_true(json_object_get(t, "spareReady"));
        long long taken = json_integer_value(json_object_get(t, "spareTokensTaken"));
        if (ready)
            fprintf(stderr, "%s: %lld of %d paid requests went with the spare token\n",
                    providers[p].name, taken, N_ACTIONS);
        if (ready && (taken < 1 || taken > N_ACTIONS - 1))
            net_fail("%s: %lld requests went with the spare token, expected 1 to %d: %s",
                     providers[p].name, taken, N_ACTIONS - 1, x.body);
        json_decref(body);
        pc_test_exchange_free(&x);
        if (ready)
            return;
        if (tries == 50)
            net_fail("%s: no spare token after 5 s", providers[p].name);
        usleep(100 * 1000);
    }
}

static void test_paid_actions(void **state)
{
    (void)state;
    one_action(); /* first contact: the sidecar opens both channels */
    for (int p = 0; p < N_PROVIDERS; p++) {
        sidecar_target(p, &C.mediator[p]);
        pc_netc_check_new_mediator(&C, p);
        C.paid_token_id[p] = pc_netc_state(&C, p).active_token_id;
    }
    for (int i = 1; i < N_ACTIONS; i++)
        one_action();
    for (int p = 0; p < N_PROVIDERS; p++) {
        long long paid, served, refused;
        pc_address m;
        provider_counts(p, &paid, &served, &refused);
        /* one refusal each: the sidecar's first, unpaid request (its 402 carried the terms) */
        if (paid != N_ACTIONS || served != N_ACTIONS || refused != 1)
            net_fail("%s counts %lld paid, %lld served, %lld refused; expected %d, %d, 1",
                     providers[p].name, paid, served, refused, N_ACTIONS, N_ACTIONS);
        net_check(sidecar_target(p, &m) == N_ACTIONS && pc_address_equal(&m, &C.mediator[p]));
        check_spare(p);
        netc_check_u256(&C, pc_netc_state(&C, p).consumer_funds, pc_netc_wei(FUNDING_WEI), "consumer funds");
        netc_check_u256(&C, pc_netc_state(&C, p).active_token_id, C.paid_token_id[p], "active token id");
    }
    pc_test_exchange x;
    json_t *body = get_ok(proxy[P_PERSISTENCE].url, "/numbers?last=1000", &x);
    net_check(json_integer_value(json_object_get(body, "count")) == N_ACTIONS);
    json_decref(body);
    pc_test_exchange_free(&x);
}

/* ---- 2. refusals ----------------------------------------------------------------------------- */

/* pc_netc_refusals' sender: tok (NULL: no payment headers) to the persistence proxy. */
static void send_refusal(const pc_net_checks *c, const pc_itest_token *tok, long code,
                         const char *what)
{
    (void)c;
    pc_test_exchange x;
    if (tok) {
        send_token(P_PERSISTENCE, tok, &x);
    } else {
        char url[256];
        snprintf(url, sizeof url, "%s%s", proxy[P_PERSISTENCE].url,
                 providers[P_PERSISTENCE].service_path);
        pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 60000, &x);
    }
    expect_refusal(P_PERSISTENCE, &x, code, what);
}

static void test_refusals(void **state)
{
    (void)state;
    pc_netc_snapshot before;
    pc_netc_take_snapshot(&C, &before);
    pc_test_exchange x;
    pc_netc_refusals(&C, N_ACTIONS, send_refusal);

    long long paid, served, refused;
    provider_counts(P_PERSISTENCE, &paid, &served, &refused);
    if (paid != N_ACTIONS || served != N_ACTIONS || refused != 1 + PC_NETC_N_REFUSALS)
        net_fail("persistence counts %lld paid, %lld served, %lld refused", paid, served,
                 refused);
    json_t *body = get_ok(proxy[P_PERSISTENCE].url, "/numbers?last=1000", &x);
    net_check(json_integer_value(json_object_get(body, "count")) == N_ACTIONS);
    json_decref(body);
    pc_test_exchange_free(&x);
    pc_netc_check_unchanged(&C, &before);
}

/* ---- 3. redemption and payout ---------------------------------------------------------------- */

static void admin_call(const pc_net_checks *c, int p, const char *action)
{
    pc_test_exchange x;
    char target[32];
    snprintf(target, sizeof target, "/%s", action);
    json_t *body = admin_get(p, target, &x);
    pc_netc_check_admin_answer(c, p, action, body, x.body);
    json_decref(body);
    pc_test_exchange_free(&x);
}

static void test_redeem_and_payout(void **state)
{
    (void)state;
    pc_netc_redeem_and_payout(&C, N_ACTIONS, admin_call);
}

/* ---- 4. termination -------------------------------------------------------------------------- */

static void consumer_terminates(void)
{
    pc_test_exchange x;
    json_t *body = admin_get(2, "/terminate", &x);
    for (int p = 0; p < N_PROVIDERS; p++)
        pc_netc_check_terminate_entry(
            &C, p, json_object_get(json_object_get(body, "targets"), providers[p].name), x.body);
    json_decref(body);
    pc_test_exchange_free(&x);
}

static void test_more_actions_then_terminate(void **state)
{
    (void)state;
    for (int i = 0; i < N_MORE_ACTIONS; i++)
        one_action();
    pc_netc_ending ending;
    pc_netc_before_termination(&C, N_ACTIONS + N_MORE_ACTIONS, &ending);
    consumer_terminates();
    pc_netc_check_ending(&C, &ending, N_MORE_ACTIONS);
    char url[256];
    snprintf(url, sizeof url, "%s/action", service[2].url);
    pc_test_exchange x;
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 60000, &x);
    json_t *j = json_loads(x.body, 0, NULL);
    if (x.status != 502 || json_integer_value(json_object_get(j, "code")) != 1)
        net_fail("/action after termination: expected 502 with code 1, got %ld: %s", x.status,
                 x.body);
    json_decref(j);
    pc_test_exchange_free(&x);
}

/* ---- 5. clean shutdown, and set-up --------------------------------------------------------------- */

static int stop_all(void)
{
    int bad = pc_test_proc_stop(&service[2]) | pc_test_proc_stop(&sidecar);
    for (int p = 0; p < N_PROVIDERS; p++)
        bad |= pc_test_proc_stop(&proxy[p]) | pc_test_proc_stop(&service[p]);
    bad |= pc_test_network_stop(net);
    net = NULL;
    return bad;
}

static void test_clean_shutdown(void **state)
{
    (void)state;
    assert_int_equal(stop_all(), 0);
}

/* "NAME:KEYSTORE:PASSWORDFILE" of a devnet account. */
static void account_arg(const char *name, const char *keystore, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%s/devnet/dev-only/keystores/%s.json:%s/devnet/dev-only/password.txt",
             name, PAYCHAN_SOURCE_DIR, keystore, PAYCHAN_SOURCE_DIR);
}

static int start_provider(int p)
{
    static char account[2][512], route[2][128], admin[2][16];
    account_arg(providers[p].name, providers[p].name, account[p], sizeof account[p]);
    snprintf(route[p], sizeof route[p], "%s paid %s %llu %d %d", paid_route[p],
             providers[p].name, (unsigned long long)providers[p].cost, TERMINATION_S,
             REDEMPTION_S);
    admin_port[p] = pc_test_free_port();
    snprintf(admin[p], sizeof admin[p], "%d", admin_port[p]);
    const char *const args[] = {"--mode", "provider", "--upstream", service[p].url,
                                "--payment-server", pc_test_paychand_url(net->providers_server),
                                "--account", account[p], "--route", route[p],
                                "--route", "GET /numbers free", "--admin-port", admin[p], NULL};
    return pc_test_python_service_start(&service[p], providers[p].name, NULL, NULL) ||
           pc_test_proxy_start(&proxy[p], PAYCHAN_PROXY, providers[p].name, args);
}

static int start_public(void)
{
    static char account[512], targets[2][256], admin[16], urls[2][128];
    account_arg("public", "consumer", account, sizeof account);
    for (int p = 0; p < N_PROVIDERS; p++)
        snprintf(targets[p], sizeof targets[p], "%s %s %llu %llu %s 1000000000000000000",
                 providers[p].name, proxy[p].url, (unsigned long long)providers[p].cost,
                 FUNDING_WEI, THRESHOLD_WEI);
    admin_port[2] = pc_test_free_port();
    snprintf(admin, sizeof admin, "%d", admin_port[2]);
    const char *const args[] = {"--mode", "consumer",
                                "--payment-server", pc_test_paychand_url(net->public_server),
                                "--account", account, "--target", targets[0], "--target",
                                targets[1], "--admin-port", admin, NULL};
    if (pc_test_proxy_start(&sidecar, PAYCHAN_PROXY, "sidecar", args) != 0)
        return -1;
    snprintf(urls[0], sizeof urls[0], "%s/persistence", sidecar.url);
    snprintf(urls[1], sizeof urls[1], "%s/random", sidecar.url);
    return pc_test_python_service_start(&service[2], "public", urls[0], urls[1]);
}

static int setup(void **state)
{
    (void)state;
    net = pc_test_network_start(&(const pc_test_network_options){
        .paychand = PAYCHAN_PAYCHAND, .chain_only = 1, .termination_timeout_s = TERMINATION_S,
        .token_redemption_timeout_s = REDEMPTION_S});
    C = (pc_net_checks){.net = net, .providers = providers, .funding_wei = FUNDING_WEI,
                        .termination_s = TERMINATION_S, .redemption_s = REDEMPTION_S,
                        .counts_ahead = 1 /* the sidecar's spare token */};
    return net && start_provider(P_PERSISTENCE) == 0 && start_provider(P_RANDOM) == 0 &&
                   start_public() == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (net)
        stop_all();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paid_actions),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_redeem_and_payout),
        cmocka_unit_test(test_more_actions_then_terminate),
        cmocka_unit_test(test_clean_shutdown),
    };
    return cmocka_run_group_tests_name("network_proxy", tests, setup, teardown);
}
