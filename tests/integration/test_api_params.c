/* Integration: bad input to paychand's API over real HTTP (docs/protocol.md §4: "bad
 * input of any kind is answered with a clear error, never a crash or a
 * hang"): every malformed or missing parameter of every endpoint is
 * answered 400 with code 300 and a message naming the parameter; requests
 * the server cannot act on (no Mediator at the address, terms the contract
 * refuses) get a 4xx error, not a 5xx; unknown paths 404; other methods 405;
 * and after all of it both servers still answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support/integration.h"

#define TWO_POW_256 \
    "115792089237316195423570985008687907853269984665640564039457584007913129639936"
#define TWO_POW_64 "18446744073709551616"

typedef struct fixture {
    pc_itest *t;
    pc_address m;
    char bad_checksum[PC_ADDRESS_TEXT_LEN]; /* the provider's address, one letter's case flipped */
} fixture;

/* Expands {M} (the Mediator), {A} (consumer), {B} (provider), {X} (the
 * provider with a wrong EIP-55 checksum) and {N} (an address without code). */
static void expand(const fixture *f, const char *tmpl, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = tmpl; *p && n + 43 < cap; p++) {
        const char *sub = NULL;
        if (p[0] == '{' && p[1] && p[2] == '}') {
            switch (p[1]) {
            case 'M': sub = pc_itest_addr(&f->m); break;
            case 'A': sub = f->t->sender[IT_CONSUMER]; break;
            case 'B': sub = f->t->sender[IT_PROVIDER]; break;
            case 'X': sub = f->bad_checksum; break;
            case 'N': sub = "0x00000000000000000000000000000000000c0de0"; break;
            default: break;
            }
        }
        if (sub) {
            n += (size_t)snprintf(out + n, cap - n, "%s", sub);
            p += 2;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

typedef struct bad_param {
    int who;          /* the calling account */
    const char *tmpl; /* target, see expand() */
    const char *name; /* the parameter the message must name */
} bad_param;

#define VALIDATE_QUERY(sender, sig, id, count, cost, term, red) \
    "/contracts/{M}/validateToken?sender=" sender "&mediator={M}&signature=" sig \
    "&tokenId=" id "&reqCount=" count "&minCostPerRequest=" cost \
    "&terminationTimeout=" term "&tokenRedemptionTimeout=" red
#define EIGHT_ONES "11111111"
#define SIG "0x" EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES \
    EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES EIGHT_ONES \
    EIGHT_ONES "1b" /* r || s || v, well-formed hex */
static const bad_param bad_params[] = {
    /* useService */
    {IT_CONSUMER, "/useService", "serviceProvider"},
    {IT_CONSUMER, "/useService?serviceProvider=", "serviceProvider"},
    {IT_CONSUMER, "/useService?serviceProvider=0x123", "serviceProvider"},
    {IT_CONSUMER, "/useService?serviceProvider=nothex", "serviceProvider"},
    {IT_CONSUMER, "/useService?serviceProvider={X}", "serviceProvider"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=abc", "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=-1", "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=1.5", "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=", "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=" TWO_POW_256,
     "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&terminationTimeout=abc", "terminationTimeout"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&terminationTimeout=-3", "terminationTimeout"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&terminationTimeout=" TWO_POW_64,
     "terminationTimeout"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&tokenRedemptionTimeout=1e3",
     "tokenRedemptionTimeout"},
    /* present but undecodable: never dropped or cut short (issue 9, point 5) */
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=1%00x", "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=%ff", "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=%f", "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&terminationTimeout=1=2&costPerRequest=7",
     "terminationTimeout"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=5&costPerRequest=6",
     "costPerRequest"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&allowReuseExistingMediator=maybe",
     "allowReuseExistingMediator"},
    {IT_CONSUMER, "/contracts/{M}/deposit/100?autoFundingThreshold=5%00", "autoFundingThreshold"},
    {IT_CONSUMER, "/contracts/{M}/deposit/1%00x", "path"},
    /* deposit */
    {IT_CONSUMER, "/contracts/{M}/deposit/abc", "amount"},
    {IT_CONSUMER, "/contracts/{M}/deposit/0", "amount"},
    {IT_CONSUMER, "/contracts/{M}/deposit/-5", "amount"},
    {IT_CONSUMER, "/contracts/{M}/deposit/1.5", "amount"},
    {IT_CONSUMER, "/contracts/{M}/deposit/" TWO_POW_256, "amount"},
    {IT_CONSUMER, "/contracts/{M}/deposit/100?autoFundingThreshold=xyz", "autoFundingThreshold"},
    {IT_CONSUMER, "/contracts/{M}/deposit/100?autoFundingThreshold=-1", "autoFundingThreshold"},
    /* the Mediator in the path, on every contract endpoint */
    {IT_CONSUMER, "/contracts/0x12/deposit/100", "Mediator"},
    {IT_CONSUMER, "/contracts/nothex/createSignatureHeaders", "Mediator"},
    {IT_PROVIDER, "/contracts/0x12/validateToken", "Mediator"},
    {IT_PROVIDER, "/contracts/0xZZ/redeemToken", "Mediator"},
    {IT_PROVIDER, "/contracts/1234/payout", "Mediator"},
    {IT_PROVIDER, "/contracts/0x/terminate", "Mediator"},
    {IT_PROVIDER, "/contracts/x/terminationStatus", "Mediator"},
    {IT_CONSUMER, "/contracts/0x0000/funds", "Mediator"},
    /* validateToken: each parameter missing or malformed */
    {IT_PROVIDER, VALIDATE_QUERY("", SIG, "1", "1", "1", "100", "50"), "sender"},
    {IT_PROVIDER, VALIDATE_QUERY("0xabc", SIG, "1", "1", "1", "100", "50"), "sender"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "", "1", "1", "100", "50"), "tokenId"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "x1", "1", "1", "100", "50"), "tokenId"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, TWO_POW_256, "1", "1", "100", "50"), "tokenId"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", "", "1", "100", "50"), "reqCount"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", "-1", "1", "100", "50"), "reqCount"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", TWO_POW_64, "1", "100", "50"), "reqCount"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", "1", "", "100", "50"), "minCostPerRequest"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", "1", "cheap", "100", "50"), "minCostPerRequest"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", "1", "1", "", "50"), "terminationTimeout"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", "1", "1", "1h", "50"), "terminationTimeout"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", "1", "1", "100", ""), "tokenRedemptionTimeout"},
    {IT_PROVIDER, VALIDATE_QUERY("{A}", SIG, "1", "1", "1", "100", TWO_POW_64),
     "tokenRedemptionTimeout"},
    {IT_PROVIDER, "/contracts/{M}/validateToken?sender={A}&mediator={M}&tokenId=1&reqCount=1"
                  "&minCostPerRequest=1&terminationTimeout=100&tokenRedemptionTimeout=50",
     "signature"},
    {IT_PROVIDER, "/contracts/{M}/validateToken?sender={A}&mediator={M}&signature=" SIG
                  "&reqCount=1&minCostPerRequest=1&terminationTimeout=100"
                  "&tokenRedemptionTimeout=50",
     "tokenId"},
    {IT_PROVIDER, "/contracts/{M}/validateToken?mediator={M}&signature=" SIG "&tokenId=1"
                  "&reqCount=1&minCostPerRequest=1&terminationTimeout=100"
                  "&tokenRedemptionTimeout=50",
     "sender"},
    {IT_PROVIDER, "/contracts/{M}/validateToken?sender={A}&mediator=0x123&signature=" SIG
                  "&tokenId=1&reqCount=1&minCostPerRequest=1&terminationTimeout=100"
                  "&tokenRedemptionTimeout=50",
     "mediator"},
    {IT_PROVIDER, "/contracts/{M}/validateToken?sender={A}&mediator={B}&signature=" SIG
                  "&tokenId=1&reqCount=1&minCostPerRequest=1&terminationTimeout=100"
                  "&tokenRedemptionTimeout=50",
     "mediator"},
};

/* Every entry of bad_params: 400, code 300, the message names the parameter. */
static void test_malformed_parameters(void **state)
{
    fixture *f = *state;
    int failed = 0;
    for (size_t i = 0; i < sizeof bad_params / sizeof bad_params[0]; i++) {
        char target[1024];
        pc_test_reply r;
        expand(f, bad_params[i].tmpl, target, sizeof target);
        pc_test_request(f->t->client[bad_params[i].who], "GET", target, NULL, NULL, &r);
        const char *message = pc_test_reply_string(&r, "message");
        if (r.status != 400 || pc_test_reply_code(&r) != PC_ERR_INVALID_ARGUMENT || !message ||
            !strstr(message, bad_params[i].name)) {
            print_error("%s\n  expected 400, code 300 naming %s; got %ld: %s\n", target,
                        bad_params[i].name, r.status, r.text);
            failed++;
        }
        pc_test_reply_free(&r);
    }
    if (failed)
        it_fail("%d of %zu malformed requests were not answered 400/300 naming the parameter",
                failed, sizeof bad_params / sizeof bad_params[0]);
}

typedef struct refused {
    int who;
    const char *tmpl;
} refused;

/* Well-formed requests the server cannot act on: terms the Mediator would
 * refuse, and an address that holds no Mediator. Each must get the protocol's
 * error object with a 4xx status: the caller's mistake, not a fault of the
 * server or the node (500/503 would tell the client to retry). */
static const refused bad_terms[] = {
    {IT_CONSUMER, "/useService?serviceProvider={B}&costPerRequest=0"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&terminationTimeout=0"},
    {IT_CONSUMER, "/useService?serviceProvider={B}&tokenRedemptionTimeout=0"},
    {IT_CONSUMER, "/useService?serviceProvider={A}"},
    {IT_CONSUMER, "/useService?serviceProvider=0x0000000000000000000000000000000000000000"},
};

static const refused no_mediator[] = {
    {IT_CONSUMER, "/contracts/{N}/deposit/100"},
    {IT_CONSUMER, "/contracts/{N}/createSignatureHeaders"},
    {IT_PROVIDER, "/contracts/{N}/validateToken?sender={A}&mediator={N}&signature=" SIG
                  "&tokenId=1&reqCount=1&minCostPerRequest=1&terminationTimeout=100"
                  "&tokenRedemptionTimeout=50"},
    {IT_PROVIDER, "/contracts/{N}/redeemToken"},
    {IT_PROVIDER, "/contracts/{N}/payout"},
    {IT_PROVIDER, "/contracts/{N}/terminate"},
    {IT_CONSUMER, "/contracts/{N}/terminationStatus"},
    {IT_CONSUMER, "/contracts/{N}/funds"},
    {IT_CONSUMER, "/contracts/{A}/funds"},
};

/* Sends each request of list[n]; fails the test unless every answer is a
 * 4xx error object and no transaction was sent. */
static void expect_all_4xx(fixture *f, const refused *list, size_t n)
{
    int failed = 0;
    uint64_t block = pc_itest_block(f->t);
    for (size_t i = 0; i < n; i++) {
        char target[1024];
        pc_test_reply r;
        expand(f, list[i].tmpl, target, sizeof target);
        pc_test_request(f->t->client[list[i].who], "GET", target, NULL, NULL, &r);
        if (r.status < 400 || r.status > 499 || pc_test_reply_code(&r) < 0 ||
            !pc_test_reply_string(&r, "message")) {
            print_error("%s\n  expected a 4xx error object; got %ld: %s\n", target, r.status,
                        r.text);
            failed++;
        }
        pc_test_reply_free(&r);
    }
    assert_int_equal(pc_itest_block(f->t), block); /* nothing was sent */
    if (failed)
        it_fail("%d of %zu refused requests were not answered with a 4xx error", failed, n);
}

/* Regression (fixed): useService with terms the Mediator refuses
 * (cost or a timeout 0, the consumer itself or the zero address as
 * provider) answers HTTP 500 {"code": 50}, although pc_mediator_deploy
 * refuses them locally before sending anything: bad input, not a server or
 * chain fault. Expected: 400 code 300 naming the parameter, or 412 code 50.
 * This test guards the fix. */
static void test_invalid_terms_are_4xx(void **state)
{
    expect_all_4xx(*state, bad_terms, sizeof bad_terms / sizeof bad_terms[0]);
}

static void test_no_mediator_is_4xx(void **state)
{
    expect_all_4xx(*state, no_mediator, sizeof no_mediator / sizeof no_mediator[0]);
}

/* Unknown paths: 404 with an error object; other methods: 405. */
static void test_unknown_paths(void **state)
{
    fixture *f = *state;
    const char *paths[] = {"/", "/nope", "/useService/x", "/status/x", "/contracts",
                           "/contracts/", "/contracts/{M}", "/contracts/{M}/", "/contracts/{M}/nope",
                           "/contracts/{M}/deposit", "/contracts/{M}/deposit/1/2",
                           "/contracts/{M}/funds/x", "/contracts/{M}/FUNDS", "/USESERVICE"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char target[256];
        pc_test_reply r;
        expand(f, paths[i], target, sizeof target);
        pc_test_request(f->t->client[IT_CONSUMER], "GET", target, NULL, NULL, &r);
        if (r.status != 404 || pc_test_reply_code(&r) != PC_ERR_NOT_FOUND)
            it_fail("%s: expected 404 with code 404, got %ld: %s", target, r.status, r.text);
        pc_test_reply_free(&r);
    }
    const char *methods[] = {"PUT", "DELETE", "PATCH"};
    char funds[128];
    expand(f, "/contracts/{M}/funds", funds, sizeof funds);
    for (size_t i = 0; i < 3; i++) {
        pc_test_reply r;
        pc_test_request(f->t->client[IT_CONSUMER], methods[i], "/status", NULL, NULL, &r);
        assert_int_equal(r.status, 405);
        pc_test_reply_free(&r);
        pc_test_request(f->t->client[IT_CONSUMER], methods[i], funds, NULL, NULL, &r);
        assert_int_equal(r.status, 405);
        pc_test_reply_free(&r);
    }
}

/* Garbage of other kinds: huge targets, bodies that are not JSON, percent
 * escapes that decode to nothing sensible. The servers answer and live on. */
static void test_garbage_survived(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    static char huge[64 * 1024];
    int n = snprintf(huge, sizeof huge, "/useService?serviceProvider=%s&x=", t->sender[IT_PROVIDER]);
    memset(huge + n, 'a', sizeof huge - (size_t)n - 1);
    pc_test_reply r;
    pc_test_request(t->client[IT_CONSUMER], "GET", huge, NULL, NULL, &r);
    assert_true(r.status >= 400 && r.status < 500);
    pc_test_reply_free(&r);
    char target[256];
    expand(f, "/useService?serviceProvider=%ff%00{B}", target, sizeof target);
    pc_test_request(t->client[IT_CONSUMER], "GET", target, NULL, NULL, &r);
    it_expect_bad_param(&r, "serviceProvider");
    pc_test_reply_free(&r);
    expand(f, "/contracts/{M}/funds", target, sizeof target);
    const char *bodies[] = {"{", "[1,2", "\"x\"", "{\"a\":", "null"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        pc_test_request(t->client[IT_CONSUMER], "POST", target, NULL, bodies[i], &r);
        assert_true(r.status == 200 || r.status == 400);
        pc_test_reply_free(&r);
    }
    pc_test_request(t->client[IT_CONSUMER], "POST", "/useService", NULL,
                    "{\"serviceProvider\": 12}", &r);
    it_expect_bad_param(&r, "serviceProvider");
    pc_test_reply_free(&r);
    const pc_test_paychand *servers[] = {t->consumer_server, t->provider_server};
    for (int i = 0; i < 2; i++) {
        assert_true(pc_test_paychand_pid(servers[i]) > 0);
        pc_itest_status(servers[i], &r);
        it_expect_ok(&r);
        pc_test_reply_free(&r);
    }
}

typedef struct bad_body {
    const char *target;
    const char *type; /* Content-Type */
    const char *body; /* see expand() */
    const char *name; /* the parameter the message must name */
} bad_body;

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"
static const bad_body bad_bodies[] = {
    {"/useService", FORM, "serviceProvider={B}&costPerRequest=%ff", "costPerRequest"},
    {"/useService", FORM, "serviceProvider={B}&costPerRequest=1%00x", "costPerRequest"},
    {"/useService", FORM, "serviceProvider={B}&costPerRequest=%F", "costPerRequest"},
    {"/useService", FORM, "serviceProvider={B}&terminationTimeout=1=2&costPerRequest=7",
     "terminationTimeout"},
    {"/useService", FORM, "costPerRequest=7&serviceProvider={B}&costPerRequest=8",
     "costPerRequest"},
    {"/useService?costPerRequest=7", FORM, "serviceProvider={B}&costPerRequest=8",
     "costPerRequest"},
    {"/useService", FORM, "serviceProvider={B}&allowReuseExistingMediator=1",
     "allowReuseExistingMediator"},
    {"/useService", JSON, "{\"serviceProvider\": \"{B}\", \"costPerRequest\": 1.5}",
     "costPerRequest"},
    {"/useService", JSON, "{\"serviceProvider\": \"{B}\", \"costPerRequest\": null}",
     "costPerRequest"},
    {"/useService", JSON, "{\"serviceProvider\": \"{B}\", \"costPerRequest\": \"1\\u0000x\"}",
     "JSON"},
    {"/useService", JSON, "{\"serviceProvider\": \"{B}\", \"costPerRequest\": 1e18}",
     "costPerRequest"},
    {"/contracts/{M}/deposit/100", FORM, "autoFundingThreshold=%ff", "autoFundingThreshold"},
    {"/contracts/{M}/deposit/100", JSON, "{\"autoFundingThreshold\": [1]}",
     "autoFundingThreshold"},
};

/* Regression (issue 9, point 5): in a POST form, costPerRequest=%ff was
 * dropped and the default cost (1 wei) deployed, a raw '=' in a value
 * dropped later fields, and 1%00x read as 1. Every entry of bad_bodies,
 * correctly signed, is answered 400 code 300 naming the parameter; a body
 * of a type the server does not read is 415 code 300; nothing is sent to
 * the chain. */
static void test_malformed_bodies(void **state)
{
    fixture *f = *state;
    uint64_t block = pc_itest_block(f->t);
    int failed = 0;
    for (size_t i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++) {
        char target[256], body[512];
        pc_test_reply r;
        expand(f, bad_bodies[i].target, target, sizeof target);
        expand(f, bad_bodies[i].body, body, sizeof body);
        pc_test_request_body(f->t->client[IT_CONSUMER], "POST", target, NULL, bad_bodies[i].type,
                             body, strlen(body), &r);
        const char *message = pc_test_reply_string(&r, "message");
        if (r.status != 400 || pc_test_reply_code(&r) != PC_ERR_INVALID_ARGUMENT || !message ||
            !strstr(message, bad_bodies[i].name)) {
            print_error("POST %s %s\n  expected 400, code 300 naming %s; got %ld: %s\n", target,
                        body, bad_bodies[i].name, r.status, r.text);
            failed++;
        }
        pc_test_reply_free(&r);
    }
    char body[256];
    pc_test_reply r;
    expand(f, "serviceProvider={B}", body, sizeof body);
    pc_test_request_body(f->t->client[IT_CONSUMER], "POST", "/useService", NULL, "text/plain",
                         body, strlen(body), &r);
    it_expect_error(&r, 415, PC_ERR_INVALID_ARGUMENT);
    pc_test_reply_free(&r);
    assert_int_equal(pc_itest_block(f->t), block); /* nothing deployed or deposited */
    if (failed)
        it_fail("%d of %zu malformed bodies were not answered 400/300 naming the parameter",
                failed, sizeof bad_bodies / sizeof bad_bodies[0]);
}

/* Last test (it stops the chain): with the node gone, calls that need it
 * answer 503 code 101 promptly, /status reports the node unreachable (503:
 * not ready), and the servers stay up. */
static void test_node_unreachable(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_test_anvil_stop(t->anvil);
    t->anvil = NULL;
    const char *needs_node[] = {
        "/useService?serviceProvider={B}",
        "/contracts/{N}/funds",
        "/contracts/{N}/createSignatureHeaders",
        "/contracts/{M}/terminationStatus", /* reads the chain now, not the cache */
    };
    for (size_t i = 0; i < sizeof needs_node / sizeof needs_node[0]; i++) {
        char target[256];
        pc_test_reply r;
        expand(f, needs_node[i], target, sizeof target);
        time_t start = time(NULL);
        pc_test_request(t->client[IT_CONSUMER], "GET", target, NULL, NULL, &r);
        if (r.status != 503 || pc_test_reply_code(&r) != PC_ERR_NODE)
            it_fail("%s without a node: expected 503 code 101, got %ld: %s", target, r.status,
                    r.text);
        it_check(time(NULL) - start <= 15);
        pc_test_reply_free(&r);
    }
    /* /status reports the node as its background check last saw it (once
     * per follow interval, 1 s): it says so within a few seconds, and
     * answers 503 (not ready: node) with the full status meanwhile */
    int unreachable = 0;
    for (int tries = 0; tries < 50 && !unreachable; tries++) {
        pc_test_reply r;
        pc_itest_status(t->provider_server, &r);
        unreachable = json_is_false(json_object_get(r.body, "ethereumNodeReachable"));
        if (unreachable)
            it_expect_error(&r, 503, PC_ERR_NODE);
        else
            it_expect_ok(&r);
        it_check(json_is_object(json_object_get(r.body, "accounts")));
        pc_test_reply_free(&r);
        if (!unreachable)
            pc_itest_sleep_ms(100);
    }
    it_check(unreachable);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f || !(f->t = pc_itest_start(NULL)))
        return -1;
    pc_address_format_checksum(&f->t->addr[IT_PROVIDER], f->bad_checksum);
    for (char *p = f->bad_checksum + 2; *p; p++) {
        if ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')) {
            *p ^= 0x20; /* flip the case of the first letter */
            break;
        }
    }
    pc_test_reply r;
    pc_itest_get(f->t, IT_CONSUMER, &r, "/useService?serviceProvider=%s",
                 f->t->sender[IT_PROVIDER]);
    const char *m = pc_test_reply_string(&r, "mediatorAddress");
    int ok = r.status == 200 && m && pc_address_parse(m, &f->m) == 0;
    pc_test_reply_free(&r);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        pc_itest_stop(f->t);
        free(f);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_parameters),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_invalid_terms_are_4xx),
        cmocka_unit_test(test_no_mediator_is_4xx),
        cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_garbage_survived),
        cmocka_unit_test(test_node_unreachable), /* last: it stops the chain */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
