/* test_network_paid.c: the example network with payment (the seed's
 * scenario c, docs/protocol.md §8) end to end, real processes over real HTTP: anvil,
 * the providers' and PublicService's paychand, and the three services
 * (tests/support/network.h). The tests run in order on one network:
 *
 *  0. /ready (paychan_ping to the real Payment Servers): the providers are
 *     ready at once; PublicService answers 503 missing "mediators" until
 *     /init, then 200.
 *  1. /init deploys and funds both Mediators; 50 /action calls all succeed,
 *     and each provider counts 50 paid requests through its Mediator.
 *  2. persistence-service refuses, with 402, the protocol's code and its terms,
 *     a request without payment or without a signature (604), a forged
 *     token and a stranger's token (4), replayed tokens (37), an unknown
 *     token id (36), a count beyond the deposit (34) and a token made for
 *     random-nr-service's Mediator (2); nothing moves on chain and nothing
 *     of it is counted or saved.
 *  3. /redeem on both providers: the Payment Server's timer redeems exactly
 *     50 requests after the grace period (50 x cost into the provider's
 *     funds, read on chain at that block) and pays them out; the provider's
 *     account gains exactly that minus the gas of its transactions. /payout
 *     afterwards moves the rest (nothing) and costs only its gas.
 *  4. 5 more actions pay with the new token ids; /terminate from
 *     PublicService: the providers' final redemption, then both Mediators
 *     terminated, empty, and the remaining deposit back with the consumer,
 *     all to the wei with gas accounted for from the receipts; /action
 *     then fails with code 1 (terminated).
 *  5. Every process exits cleanly (status 0) on SIGTERM.
 *
 * Mediator timeouts are 8 s / 4 s and the Payment Servers' duties run every
 * 200 ms, so the whole program takes well under a minute; every wait polls
 * with a generous deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support/network.h"
#include "support/network_checks.h"

#define N_ACTIONS 50
#define N_MORE_ACTIONS 5
#define N_REFUSALS 9 /* test_refusals' requests */
/* Per Mediator: not the services' default of 5 finney (docs/protocol.md §8), to
 * check that public-service deposits what FUNDING_WEI says (the benchmark
 * funds 1 ether: 5 finney lasts 250 /save calls). */
#define FUNDING_WEI 6000000000000000ULL
#define FUNDING_WEI_TEXT "6000000000000000"
#define LOG_LINES 40

/* The two providers, indexed as their services. */
enum { P_PERSISTENCE = PC_NET_PERSISTENCE, P_RANDOM = PC_NET_RANDOM, N_PROVIDERS = 2 };

static const pc_netc_provider providers[N_PROVIDERS] = {
    [P_PERSISTENCE] = {"persistence", "/save?nr=7", 20000000000000ULL, PC_NET_ACC_PERSISTENCE},
    [P_RANDOM] = {"random", "/randomNumber", 10000000000000ULL, PC_NET_ACC_RANDOM},
};

static pc_test_network *net;
static pc_net_checks C; /* the Mediators, the first token ids, the shared checks (network_checks.h) */

/* ---- failing with the story ------------------------------------------------------------------ */

/* Prints the services' logs, then fails like it_fail (which adds the Payment Servers' logs). */
#define net_fail(...)                                                                            \
    (pc_test_network_print_service_logs(net, LOG_LINES),                                        \
     pc_itest_fail_at(__FILE__, __LINE__, __VA_ARGS__))
#define net_check(cond)                                                                          \
    do {                                                                                         \
        if (!(cond))                                                                             \
            net_fail("check failed: %s", #cond);                                                 \
    } while (0)
#define net_check_u256(actual, expected, what)                                                   \
    do {                                                                                         \
        pc_u256 a_ = (actual), e_ = (expected);                                                  \
        if (pc_u256_cmp(&a_, &e_) != 0)                                                          \
            net_fail("%s: %s wei, expected %s wei", (what), pc_itest_dec(&a_),                 \
                     pc_itest_dec(&e_));                                                         \
    } while (0)

/* ---- HTTP ------------------------------------------------------------------------------------ */

/* GET on service s that must answer 200 with a JSON object (owned by r). */
static json_t *get_ok_at(pc_net_service s, pc_test_reply *r, const char *target, const char *file,
                         int line)
{
    pc_test_network_get(net, s, NULL, r, "%s", target);
    if (r->status != 200 || !json_is_object(r->body)) {
        pc_test_network_print_service_logs(net, LOG_LINES);
        pc_itest_fail_at(file, line, "%s %s: expected 200 with a JSON object, got %ld: %s",
                         pc_test_network_name(s), target, r->status, r->text);
    }
    return r->body;
}
#define get_ok(s, r, target) get_ok_at((s), (r), (target), __FILE__, __LINE__)

static const char *member_string(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

/* The provider's /status: {"mediators": {m: {"paidRequests": n}}, "served", "refused"}. */
static void provider_counts(int p, long long *paid, long long *served, long long *refused)
{
    pc_test_reply r;
    json_t *body = get_ok((pc_net_service)p, &r, "/status");
    json_t *m = json_object_get(json_object_get(body, "mediators"), pc_itest_addr(&C.mediator[p]));
    *paid = json_integer_value(json_object_get(m, "paidRequests"));
    *served = json_integer_value(json_object_get(body, "served"));
    *refused = json_integer_value(json_object_get(body, "refused"));
    net_check(json_is_true(json_object_get(body, "paymentActive")));
    pc_address addr;
    const char *a = member_string(body, "address", NULL);
    net_check(a && pc_address_parse(a, &addr) == 0 &&
              pc_address_equal(&addr, &net->chain.addr[providers[p].account]));
    pc_test_reply_free(&r);
}

/* Sends a paid request with token tok to provider p. */
static void send_token(int p, const pc_itest_token *tok, pc_test_reply *r)
{
    char h[5][200];
    snprintf(h[0], sizeof h[0], "x-pay-sender: %s", tok->sender);
    snprintf(h[1], sizeof h[1], "x-pay-mediator: %s", tok->mediator);
    snprintf(h[2], sizeof h[2], "x-pay-token-id: %s", tok->token_id);
    snprintf(h[3], sizeof h[3], "x-pay-req-count: %llu", (unsigned long long)tok->count);
    snprintf(h[4], sizeof h[4], "x-pay-signature: %s", tok->signature);
    const char *const headers[] = {h[0], h[1], h[2], h[3], h[4], NULL};
    pc_test_network_get(net, (pc_net_service)p, headers, r, "%s", providers[p].service_path);
}

/* The answer is the 402 of docs/protocol.md §2 with `code` and provider p's terms. */
static void expect_refusal_at(int p, pc_test_reply *r, long code, const char *what,
                              const char *file, int line)
{
    json_t *terms = json_object_get(r->body, "terms");
    const char *provider = member_string(terms, "serviceProvider", NULL);
    const char *min_cost = member_string(terms, "minCostPerRequest", NULL);
    const char *message = member_string(r->body, "message", NULL);
    char cost[32];
    pc_address addr;
    snprintf(cost, sizeof cost, "%llu", (unsigned long long)providers[p].cost);
    int ok = r->status == 402 && pc_test_reply_code(r) == code && message && *message &&
             provider && pc_address_parse(provider, &addr) == 0 &&
             pc_address_equal(&addr, &net->chain.addr[providers[p].account]) && min_cost &&
             strcmp(min_cost, cost) == 0 &&
             json_integer_value(json_object_get(terms, "terminationTimeout")) ==
                 (json_int_t)net->termination_timeout_s &&
             json_integer_value(json_object_get(terms, "tokenRedemptionTimeout")) ==
                 (json_int_t)net->token_redemption_timeout_s;
    if (!ok) {
        pc_test_network_print_service_logs(net, LOG_LINES);
        pc_itest_fail_at(file, line, "%s: expected 402 with code %ld and %s's terms, got %ld: %s",
                         what, code, providers[p].name, r->status, r->text);
    }
    pc_test_reply_free(r);
}
#define expect_refusal(p, r, code, what) \
    expect_refusal_at((p), (r), (code), (what), __FILE__, __LINE__)

/* ---- the chain ------------------------------------------------------------------------------- */

/* Waits until Mediator p has at least n events of kind; *last = the newest. */
/* ---- 1. /init and 50 paid actions ------------------------------------------------------------ */


/* One /action; checks its answer and returns the token ids it paid with. */
static void one_action(pc_u256 ids[N_PROVIDERS])
{
    pc_test_reply r;
    json_t *body = get_ok(PC_NET_PUBLIC, &r, "/action");
    json_int_t number = json_integer_value(json_object_get(body, "randomNumber"));
    net_check(json_is_integer(json_object_get(body, "randomNumber")) && number >= 0 &&
              number < 1000000);
    net_check(json_is_true(json_object_get(body, "saved")));
    static const char *const steps[] = {"signTokens", "getRandomNumber", "saveNumber", "total"};
    json_t *trace = json_object_get(body, "trace");
    net_check(json_array_size(trace) == 4);
    for (size_t i = 0; i < 4; i++) {
        const char *step = json_string_value(json_object_get(json_array_get(trace, i), "step"));
        net_check(step && strcmp(step, steps[i]) == 0);
    }
    for (int p = 0; p < N_PROVIDERS; p++) {
        const char *id = member_string(body, "tokenIds", providers[p].name);
        const char *m = member_string(body, "mediators", providers[p].name);
        pc_address addr;
        if (!id || pc_u256_parse_dec(id, &ids[p]) != 0 || !m || pc_address_parse(m, &addr) != 0 ||
            !pc_address_equal(&addr, &C.mediator[p]))
            net_fail("/action: bad tokenIds or mediators for %s: %s", providers[p].name, r.text);
    }
    pc_test_reply_free(&r);
}

/* n actions that must all pay with the token ids `expected`. */
static void actions_with(int n, const pc_u256 expected[N_PROVIDERS])
{
    for (int i = 0; i < n; i++) {
        pc_u256 ids[N_PROVIDERS];
        one_action(ids);
        for (int p = 0; p < N_PROVIDERS; p++)
            if (pc_u256_cmp(&ids[p], &expected[p]) != 0)
                net_fail("action %d paid %s with token id %s, expected the active id %s", i + 1,
                         providers[p].name, pc_itest_dec(&ids[p]), pc_itest_dec(&expected[p]));
    }
}

/* GET /ready of service s: its status, and "missing" joined by commas into out. */
static long ready_of(pc_net_service s, char *out, size_t size)
{
    pc_test_reply r;
    pc_test_network_get(net, s, NULL, &r, "/ready");
    json_t *m = json_object_get(r.body, "missing");
    size_t i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(m, i, v) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", i ? "," : "", json_string_value(v));
    }
    long status = r.status;
    pc_test_reply_free(&r);
    return status;
}

/* Readiness with real Payment Servers up (paychan_ping): the providers are
 * ready; PublicService lacks its Mediators until /init. */
static void test_readiness_before_init(void **state)
{
    (void)state;
    char missing[128];
    for (int s = PC_NET_PERSISTENCE; s <= PC_NET_RANDOM; s++)
        if (ready_of((pc_net_service)s, missing, sizeof missing) != 200)
            net_fail("%s /ready: not 200, missing \"%s\"", pc_test_network_name(s), missing);
    long status = ready_of(PC_NET_PUBLIC, missing, sizeof missing);
    if (status != 503 || strcmp(missing, "mediators") != 0)
        net_fail("public-service /ready before /init: %ld, missing \"%s\"", status, missing);
}

static void test_init_and_paid_actions(void **state)
{
    (void)state;
    pc_test_reply r;
    char missing[128];
    json_t *body = get_ok(PC_NET_PUBLIC, &r, "/init");
    pc_address consumer;
    const char *c = member_string(body, "consumer", NULL);
    net_check(json_is_true(json_object_get(body, "paymentActive")));
    const char *funding = member_string(body, "fundingPerMediator", NULL);
    net_check(funding && strcmp(funding, FUNDING_WEI_TEXT) == 0);
    net_check(c && pc_address_parse(c, &consumer) == 0 &&
              pc_address_equal(&consumer, &net->chain.addr[PC_NET_ACC_PUBLIC]));
    for (int p = 0; p < N_PROVIDERS; p++) {
        const char *m = member_string(body, "mediators", providers[p].name);
        if (!m || pc_address_parse(m, &C.mediator[p]) != 0)
            net_fail("/init: no Mediator for %s: %s", providers[p].name, r.text);
        pc_netc_check_new_mediator(&C, p);
        C.paid_token_id[p] = pc_netc_state(&C, p).active_token_id;
    }
    pc_test_reply_free(&r);
    if (ready_of(PC_NET_PUBLIC, missing, sizeof missing) != 200)
        net_fail("public-service /ready after /init: missing \"%s\"", missing);

    actions_with(N_ACTIONS, C.paid_token_id);

    for (int p = 0; p < N_PROVIDERS; p++) {
        long long paid, served, refused;
        provider_counts(p, &paid, &served, &refused);
        if (paid != N_ACTIONS || served != N_ACTIONS || refused != 0)
            net_fail("%s counts %lld paid, %lld served, %lld refused; expected %d, %d, 0",
                     providers[p].name, paid, served, refused, N_ACTIONS, N_ACTIONS);
        /* Paid off chain: nothing moved yet. */
        net_check_u256(pc_netc_state(&C, p).consumer_funds, pc_netc_wei(FUNDING_WEI), "consumer funds");
    }
    body = get_ok(PC_NET_PERSISTENCE, &r, "/numbers?last=1000");
    net_check(json_integer_value(json_object_get(body, "count")) == N_ACTIONS);
    pc_test_reply_free(&r);
    body = get_ok(PC_NET_PUBLIC, &r, "/status");
    net_check(json_integer_value(json_object_get(body, "actions")) == N_ACTIONS);
    pc_test_reply_free(&r);
}

/* ---- 2. refusals ----------------------------------------------------------------------------- */

/* pc_netc_refusals' sender: tok (NULL: no payment headers) to persistence-service. */
static void send_refusal(const pc_net_checks *c, const pc_itest_token *tok, long code,
                         const char *what)
{
    (void)c;
    pc_test_reply r;
    if (tok)
        send_token(P_PERSISTENCE, tok, &r);
    else
        pc_test_network_get(net, PC_NET_PERSISTENCE, NULL, &r, "%s",
                            providers[P_PERSISTENCE].service_path);
    expect_refusal(P_PERSISTENCE, &r, code, what);
}

static void test_refusals(void **state)
{
    (void)state;
    pc_netc_snapshot before;
    pc_netc_take_snapshot(&C, &before);
    pc_test_reply r;
    pc_netc_refusals(&C, N_ACTIONS, send_refusal);

    /* Nothing was counted, saved or sent; the consumer's funds are untouched on chain. */
    long long paid, served, refused;
    provider_counts(P_PERSISTENCE, &paid, &served, &refused);
    if (paid != N_ACTIONS || served != N_ACTIONS || refused != N_REFUSALS)
        net_fail("persistence counts %lld paid, %lld served, %lld refused; expected %d, %d, %d",
                 paid, served, refused, N_ACTIONS, N_ACTIONS, N_REFUSALS);
    json_t *body = get_ok(PC_NET_PERSISTENCE, &r, "/numbers?last=1000");
    net_check(json_integer_value(json_object_get(body, "count")) == N_ACTIONS);
    pc_test_reply_free(&r);
    pc_netc_check_unchanged(&C, &before);
}

/* ---- 3. redemption and payout ---------------------------------------------------------------- */

/* GET /redeem or /payout on provider p; asserts every Mediator (the one) succeeded. */
static void admin_call(const pc_net_checks *c, int p, const char *action)
{
    pc_test_reply r;
    char target[32];
    snprintf(target, sizeof target, "/%s", action);
    pc_netc_check_admin_answer(c, p, action, get_ok((pc_net_service)p, &r, target), r.text);
    pc_test_reply_free(&r);
}


static void test_redeem_and_payout(void **state)
{
    (void)state;
    pc_netc_redeem_and_payout(&C, N_ACTIONS, admin_call);
}

/* The demo's economics (README, issue 15): at the example network's prices,
 * each provider earned more for the 50 actions than it spent on gas. The
 * providers' paychand accounted every transaction of theirs in /status,
 * to the wei of the receipts (they send nothing else). */
static void test_providers_net_positive(void **state)
{
    (void)state;
    pc_itest *t = &net->chain;
    pc_test_reply r;
    pc_itest_status(net->providers_server, &r);
    json_t *accounts = json_object_get(json_object_get(it_expect_ok(&r), "gas"), "accounts");
    for (int p = 0; p < N_PROVIDERS; p++) {
        const char *fee = json_string_value(json_object_get(
            json_object_get(accounts, t->sender[providers[p].account]), "feeWei"));
        pc_u256 spent, receipts = pc_itest_fees_since(t, providers[p].account, 0);
        pc_u256 income = pc_netc_earned(&C, p, N_ACTIONS);
        if (!fee || pc_u256_parse_dec(fee, &spent) != 0)
            net_fail("/status of the providers' paychand has no gas for %s: %s",
                     providers[p].name, r.text);
        net_check_u256(spent, receipts, "gas in /status");
        if (pc_u256_cmp(&income, &spent) <= 0)
            net_fail("%s earned %s wei but spent %s wei on gas", providers[p].name,
                     pc_itest_dec(&income), pc_itest_dec(&spent));
    }
    pc_test_reply_free(&r);
}

/* ---- 4. termination -------------------------------------------------------------------------- */

/* /terminate from PublicService: both Mediators start their termination timeout. */
static void consumer_terminates(void)
{
    pc_test_reply r;
    json_t *body = get_ok(PC_NET_PUBLIC, &r, "/terminate");
    for (int p = 0; p < N_PROVIDERS; p++)
        pc_netc_check_terminate_entry(
            &C, p, json_object_get(json_object_get(body, "mediators"), providers[p].name), r.text);
    pc_test_reply_free(&r);
}

static void test_more_actions_then_terminate(void **state)
{
    (void)state;
    pc_u256 active[N_PROVIDERS];
    for (int p = 0; p < N_PROVIDERS; p++)
        active[p] = pc_netc_state(&C, p).active_token_id;
    actions_with(N_MORE_ACTIONS, active);
    pc_netc_ending ending;
    pc_netc_before_termination(&C, N_ACTIONS + N_MORE_ACTIONS, &ending);
    consumer_terminates();
    pc_netc_check_ending(&C, &ending, N_MORE_ACTIONS);
    /* No payment is possible any more: /action fails and no provider serves it. */
    pc_test_reply r;
    pc_test_network_get(net, PC_NET_PUBLIC, NULL, &r, "/action");
    if (r.status != 502 || pc_test_reply_code(&r) != 1)
        net_fail("/action after termination: expected 502 with code 1, got %ld: %s", r.status,
                 r.text);
    pc_test_reply_free(&r);
    for (int p = 0; p < N_PROVIDERS; p++) {
        long long paid, served, refused;
        provider_counts(p, &paid, &served, &refused);
        net_check(served == N_ACTIONS + N_MORE_ACTIONS);
    }
}

/* ---- 5. clean shutdown ----------------------------------------------------------------------- */

static void test_clean_shutdown(void **state)
{
    (void)state;
    int status = pc_test_network_stop(net);
    net = NULL;
    assert_int_equal(status, 0);
}

static void print_service_logs(void)
{
    pc_test_network_print_service_logs(net, LOG_LINES);
}

/* ---- main ------------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    setenv("FUNDING_WEI", FUNDING_WEI_TEXT, 1); /* public-service's, passed through */
    net = pc_test_network_start_default();
    C = (pc_net_checks){.net = net, .providers = providers, .funding_wei = FUNDING_WEI,
                        .before_fail = print_service_logs};
    if (net) {
        C.termination_s = net->termination_timeout_s;
        C.redemption_s = net->token_redemption_timeout_s;
    }
    return net ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pc_test_network_stop(net); /* if a test failed before the shutdown test */
    net = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readiness_before_init),
        cmocka_unit_test(test_init_and_paid_actions),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_redeem_and_payout),
        cmocka_unit_test(test_providers_net_positive),
        cmocka_unit_test(test_more_actions_then_terminate),
        cmocka_unit_test(test_clean_shutdown),
    };
    return cmocka_run_group_tests_name("network_paid", tests, setup, teardown);
}
