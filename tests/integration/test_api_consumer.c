/* Integration: the consumer's side of paychand's API over real HTTP against a
 * real anvil (docs/protocol.md §3, §4): /status, useService (defaults, terms, reuse of a
 * live Mediator), deposit, createSignatureHeaders (counts 1, 2, 3 ..., atomic
 * under concurrent calls, signatures the chain accepts, reset to 1 when the
 * active token id changes), the read endpoints and GET/POST alike. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto/eip712.h"
#include "support/integration.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

/* ---- /status -------------------------------------------------------------------------- */

/* Unauthenticated, by GET and POST: node URL, chain id, block height, the
 * served accounts with their balances, the backend, and never a key. */
static void test_status(void **state)
{
    pc_itest *t = *state;
    pc_test_client *anon = pc_test_client_create(pc_test_paychand_url(t->consumer_server), NULL);
    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE};
    const char *methods[] = {"GET", "POST"};
    for (int i = 0; i < 2; i++) {
        pc_test_reply r;
        pc_test_request(anon, methods[i], "/status", &none, NULL, &r);
        json_t *body = it_expect_ok(&r);
        assert_string_equal(pc_test_reply_string(&r, "web3ProviderHost"),
                            pc_test_anvil_url(t->anvil));
        assert_int_equal(json_integer_value(json_object_get(body, "chainId")), 31337);
        assert_true(json_integer_value(json_object_get(body, "blockNumber")) >= 0);
        assert_non_null(pc_test_reply_string(&r, "storage"));
        json_t *accounts = json_object_get(body, "accounts");
        assert_int_equal(json_object_size(accounts), 2);
        const int served[] = {IT_CONSUMER, IT_CONSUMER2};
        for (int k = 0; k < 2; k++) {
            int who = served[k];
            const char *wei = json_string_value(json_object_get(accounts, t->sender[who]));
            pc_u256 balance = pc_itest_balance(t, who);
            assert_non_null(wei);
            assert_string_equal(wei, pc_itest_dec(&balance));
        }
        for (int who = 0; who < IT_N_ACCOUNTS; who++) { /* no key, in any spelling */
            char hex[67];
            pc_hex_encode(t->key[who], 32, hex);
            assert_null(strstr(r.text, hex + 2));
        }
        pc_test_reply_free(&r);
    }
    pc_test_client_destroy(anon);
}

/* The per-loop connection counts of /status on `p` through client c. */
static void loop_counts(pc_test_client *c, long counts[2], size_t *loops)
{
    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE};
    pc_test_reply r;
    pc_test_request(c, "GET", "/status", &none, NULL, &r);
    json_t *per_loop = json_object_get(json_object_get(it_expect_ok(&r), "http"),
                                       "connectionsPerLoop");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.body, "http"), "mode")),
                        "pool");
    *loops = json_array_size(per_loop);
    for (size_t i = 0; i < *loops && i < 2; i++)
        counts[i] = (long)json_integer_value(json_array_get(per_loop, i));
    pc_test_reply_free(&r);
}

/* Connections are spread evenly over the event loops (issue 3: "spread
 * evenly over the cores"; libmicrohttpd's own thread pool did not balance
 * them): on a fresh server with two loops, ten keep-alive connections end
 * up five and five. */
static void test_connections_spread_over_loops(void **state)
{
    pc_itest *t = *state;
    const char *two_loops[] = {"--http-loops", "2", NULL};
    pc_test_paychand *p = pc_itest_start_consumer_server(t, "two-loops", NULL, two_loops);
    assert_non_null(p);
    pc_test_client *c[10];
    long counts[2] = {0, 0};
    size_t loops = 0;
    for (int i = 0; i < 10; i++) { /* each opens its own connection with its first call */
        c[i] = pc_test_client_create(pc_test_paychand_url(p), NULL);
        loop_counts(c[i], counts, &loops);
    }
    /* the start-up probe's connection may still be closing: wait for it */
    for (int tries = 0; tries < 100 && counts[0] + counts[1] != 10; tries++) {
        pc_itest_sleep_ms(10);
        loop_counts(c[9], counts, &loops);
    }
    assert_int_equal(loops, 2);
    assert_int_equal(counts[0], 5);
    assert_int_equal(counts[1], 5);
    for (int i = 0; i < 10; i++)
        pc_test_client_destroy(c[i]);
    assert_int_equal(pc_test_paychand_stop(p), 0);
    pc_test_paychand_free(p);
}

/* ---- useService ---------------------------------------------------------------------- */

/* Without terms: a genuine Mediator from the sender to B with 1 wei, 3600 s, 3600 s. */
static void test_use_service_defaults(void **state)
{
    pc_itest *t = *state;
    pc_test_reply r;
    pc_address m;
    pc_itest_get(t, IT_CONSUMER, &r, "/useService?serviceProvider=%s", t->sender[IT_PROVIDER]);
    it_expect_ok(&r);
    assert_int_equal(json_object_size(r.body), 1);
    assert_int_equal(pc_address_parse(pc_test_reply_string(&r, "mediatorAddress"), &m), 0);
    pc_test_reply_free(&r);

    pc_mediator_terms terms;
    pc_error err;
    int genuine = 0;
    assert_int_equal(pc_mediator_read_terms(t->rpc, &m, &terms, &err), 0);
    assert_true(pc_address_equal(&terms.consumer, &t->addr[IT_CONSUMER]));
    assert_true(pc_address_equal(&terms.provider, &t->addr[IT_PROVIDER]));
    pc_u256 one = pc_u256_from_u64(1);
    assert_int_equal(pc_u256_cmp(&terms.cost_per_request, &one), 0);
    assert_int_equal(terms.termination_timeout, 3600);
    assert_int_equal(terms.token_redemption_timeout, 3600);
    assert_int_equal(pc_mediator_verify_code(t->rpc, &m, &terms, &genuine, &err), 0);
    assert_true(genuine);
    pc_mediator_state st;
    pc_itest_state(t, &m, &st);
    assert_false(pc_u256_is_zero(&st.active_token_id));
    assert_true(pc_u256_is_zero(&st.consumer_funds));
}

/* allowReuseExistingMediator=true answers the live Mediator of the pair with
 * the same terms; without it, with other terms, or for another consumer a
 * new one is deployed. */
static void test_use_service_reuse(void **state)
{
    pc_itest *t = *state;
    pc_itest_terms own = {.cost = 777, .termination = 120, .redemption = 60};
    pc_itest_terms other = {.cost = 778, .termination = 120, .redemption = 60};
    pc_address first, again, fresh, different, theirs;
    it_use_service(t, IT_CONSUMER, &own, 1, &first); /* nothing to reuse yet: deploys */
    it_use_service(t, IT_CONSUMER, &own, 1, &again);
    assert_true(pc_address_equal(&first, &again));
    it_use_service(t, IT_CONSUMER, &own, 0, &fresh);
    assert_false(pc_address_equal(&first, &fresh));
    it_use_service(t, IT_CONSUMER, &other, 1, &different);
    assert_false(pc_address_equal(&first, &different));
    assert_false(pc_address_equal(&fresh, &different));
    it_use_service(t, IT_CONSUMER2, &own, 1, &theirs);
    assert_false(pc_address_equal(&first, &theirs));
    assert_false(pc_address_equal(&fresh, &theirs));
    pc_mediator_terms terms;
    pc_error err;
    assert_int_equal(pc_mediator_read_terms(t->rpc, &theirs, &terms, &err), 0);
    assert_true(pc_address_equal(&terms.consumer, &t->addr[IT_CONSUMER2]));

    /* by POST as well */
    pc_test_reply r;
    pc_test_post(t->client[IT_CONSUMER], &r,
                 "/useService?serviceProvider=%s&costPerRequest=777&terminationTimeout=120"
                 "&tokenRedemptionTimeout=60&allowReuseExistingMediator=true",
                 t->sender[IT_PROVIDER]);
    it_expect_ok(&r);
    pc_address posted;
    assert_int_equal(pc_address_parse(pc_test_reply_string(&r, "mediatorAddress"), &posted), 0);
    assert_true(pc_address_equal(&posted, &first) || pc_address_equal(&posted, &fresh));
    pc_test_reply_free(&r);

    /* parameters in a JSON body (numbers and booleans as JSON values) */
    char body[256];
    snprintf(body, sizeof body,
             "{\"serviceProvider\": \"%s\", \"costPerRequest\": 777, \"terminationTimeout\": "
             "\"120\", \"tokenRedemptionTimeout\": 60, \"allowReuseExistingMediator\": true}",
             t->sender[IT_PROVIDER]);
    pc_test_request(t->client[IT_CONSUMER], "POST", "/useService", NULL, body, &r);
    it_expect_ok(&r);
    assert_int_equal(pc_address_parse(pc_test_reply_string(&r, "mediatorAddress"), &posted), 0);
    assert_true(pc_address_equal(&posted, &first) || pc_address_equal(&posted, &fresh));
    pc_test_reply_free(&r);
}

/* A Mediator whose consumer started termination is not live: not reused. */
static void test_use_service_reuse_skips_closing(void **state)
{
    pc_itest *t = *state;
    pc_itest_terms closing = {.cost = 999, .termination = 300, .redemption = 60};
    pc_address m, next;
    pc_test_reply r;
    it_use_service(t, IT_CONSUMER, &closing, 0, &m);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/terminate", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    it_use_service(t, IT_CONSUMER, &closing, 1, &next);
    assert_false(pc_address_equal(&m, &next));
}

/* ---- deposit and funds ---------------------------------------------------------------- */

static void expect_funds(pc_itest *t, int who, const pc_address *m, const char *consumer,
                         const char *provider)
{
    pc_test_reply r;
    pc_itest_get(t, who, &r, "/contracts/%s/funds", pc_itest_addr(m));
    it_expect_ok(&r);
    assert_int_equal(json_object_size(r.body), 2);
    assert_string_equal(pc_test_reply_string(&r, "serviceConsumerFunds"), consumer);
    assert_string_equal(pc_test_reply_string(&r, "serviceProviderFunds"), provider);
    pc_test_reply_free(&r);
}

/* The deposit reaches the Mediator to the wei; the consumer pays it plus gas
 * only; /funds reports it to both parties; only the consumer may deposit. */
static void test_deposit(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    it_use_service(t, IT_CONSUMER, &TERMS, 0, &m);
    uint64_t block = pc_itest_block(t);
    pc_u256 before = pc_itest_balance(t, IT_CONSUMER);
    it_deposit(t, IT_CONSUMER, &m, 123456, 0);
    pc_test_reply r;
    pc_test_post(t->client[IT_CONSUMER], &r, "/contracts/%s/deposit/1000", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);

    pc_mediator_state st;
    pc_itest_state(t, &m, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), "124456");
    pc_u256 fees = pc_itest_fees_since(t, IT_CONSUMER, block), spent, after;
    pc_u256 deposited = pc_u256_from_u64(124456);
    after = pc_itest_balance(t, IT_CONSUMER);
    assert_int_equal(pc_u256_sub(&spent, &before, &after), 0);
    assert_int_equal(pc_u256_sub(&spent, &spent, &fees), 0);
    assert_string_equal(pc_itest_dec(&spent), pc_itest_dec(&deposited));
    expect_funds(t, IT_CONSUMER, &m, "124456", "0");
    expect_funds(t, IT_PROVIDER, &m, "124456", "0");

    pc_itest_get(t, IT_CONSUMER2, &r, "/contracts/%s/deposit/5", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_ONLY_CONSUMER);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/deposit/5", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_ONLY_CONSUMER);
    pc_test_reply_free(&r);
    pc_itest_state(t, &m, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), "124456");
}

/* ---- createSignatureHeaders ------------------------------------------------------------ */

/* The token is the consumer's EIP-712 signature for the active id and the count. */
static void check_token(pc_itest *t, const pc_address *m, const pc_itest_token *tok,
                        uint64_t count)
{
    pc_mediator_state st;
    pc_itest_state(t, m, &st);
    assert_int_equal(tok->count, count);
    assert_string_equal(tok->sender, t->sender[IT_CONSUMER]);
    assert_string_equal(tok->mediator, pc_itest_addr(m));
    assert_string_equal(tok->token_id, pc_itest_dec(&st.active_token_id));
    assert_int_equal(strlen(tok->signature), 132);
    pc_signature sig;
    pc_address signer;
    pc_u256 n = pc_u256_from_u64(count);
    assert_int_equal(pc_signature_from_hex(tok->signature, &sig), 0);
    assert_int_equal(pc_payment_token_recover(t->secp, t->chain_id, m, &t->addr[IT_CONSUMER],
                                              &st.active_token_id, &n, &sig, &signer),
                     0);
    assert_true(pc_address_equal(&signer, &t->addr[IT_CONSUMER]));
}

/* Counts 1, 2, 3 ... by GET and POST; an old client's privateKey parameter
 * is ignored and never logged; only the consumer gets tokens. */
static void test_create_signature_headers(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok;
    it_use_service(t, IT_CONSUMER, &TERMS, 0, &m);
    for (uint64_t count = 1; count <= 3; count++) {
        it_headers(t, IT_CONSUMER, &m, &tok);
        check_token(t, &m, &tok, count);
    }
    pc_test_reply r;
    pc_test_post(t->client[IT_CONSUMER], &r, "/contracts/%s/createSignatureHeaders",
                 pc_itest_addr(&m));
    it_expect_ok(&r);
    assert_string_equal(pc_test_reply_string(&r, "x-pay-req-count"), "4");
    pc_test_reply_free(&r);
    const char *secret = "0x5ec12e75ec12e75ec12e75ec12e75ec12e75ec12e75ec12e75ec12e75ec12e7";
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/createSignatureHeaders?privateKey=%s",
                 pc_itest_addr(&m), secret);
    it_expect_ok(&r);
    assert_string_equal(pc_test_reply_string(&r, "x-pay-req-count"), "5");
    pc_test_reply_free(&r);
    assert_false(pc_test_paychand_log_contains(t->consumer_server, secret + 2));

    pc_itest_get(t, IT_CONSUMER2, &r, "/contracts/%s/createSignatureHeaders", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_ONLY_CONSUMER);
    pc_test_reply_free(&r);
    it_headers(t, IT_CONSUMER, &m, &tok);
    check_token(t, &m, &tok, 6); /* the refused call took no count */
}

/* One element of a /createSignatureHeaders?mediators= answer as a token. */
static void token_from_json(const json_t *o, pc_itest_token *tok)
{
    const char *f[5] = {"x-pay-sender", "x-pay-mediator", "x-pay-token-id", "x-pay-signature",
                        "x-pay-req-count"};
    const char *v[5];
    for (int i = 0; i < 5; i++)
        if (!(v[i] = json_string_value(json_object_get(o, f[i]))))
            fail_msg("no %s in an element of \"headers\"", f[i]);
    assert_int_equal(json_object_size(o), 5);
    snprintf(tok->sender, sizeof tok->sender, "%s", v[0]);
    snprintf(tok->mediator, sizeof tok->mediator, "%s", v[1]);
    snprintf(tok->token_id, sizeof tok->token_id, "%s", v[2]);
    snprintf(tok->signature, sizeof tok->signature, "%s", v[3]);
    tok->count = strtoull(v[4], NULL, 10);
}

/* Our extension: the tokens for several Mediators in one call, in order (a
 * Mediator may repeat); the first call goes to a worker (the Mediators are
 * new to the cache), the second runs on an event loop. Every check comes
 * before any count is taken, and malformed lists are refused. */
static void test_create_signature_headers_many(void **state)
{
    pc_itest *t = *state;
    pc_address a, b;
    pc_itest_token tok;
    pc_test_reply r;
    it_use_service(t, IT_CONSUMER, &TERMS, 0, &a);
    it_use_service(t, IT_CONSUMER, &TERMS, 0, &b);
    char list[3 * PC_ADDRESS_TEXT_LEN + 3];
    snprintf(list, sizeof list, "%s,%s,", pc_itest_addr(&a), pc_itest_addr(&b));
    strcat(list, pc_itest_addr(&a));
    const pc_address *order[3] = {&a, &b, &a};
    for (uint64_t round = 0; round < 2; round++) {
        pc_itest_get(t, IT_CONSUMER, &r, "/createSignatureHeaders?mediators=%s", list);
        it_expect_ok(&r);
        json_t *headers = json_object_get(r.body, "headers");
        assert_int_equal(json_array_size(headers), 3);
        const uint64_t want[3] = {1 + 2 * round, 1 + round, 2 + 2 * round};
        for (size_t i = 0; i < 3; i++) {
            token_from_json(json_array_get(headers, i), &tok);
            check_token(t, order[i], &tok, want[i]);
        }
        pc_test_reply_free(&r);
    }
    /* refused before any count: another consumer's Mediator in the list */
    pc_address other;
    it_use_service(t, IT_CONSUMER2, &TERMS, 0, &other);
    pc_itest_get(t, IT_CONSUMER, &r, "/createSignatureHeaders?mediators=%s,%s", pc_itest_addr(&a),
                 pc_itest_addr(&other));
    it_expect_error(&r, 412, PC_ERR_ONLY_CONSUMER);
    pc_test_reply_free(&r);
    it_headers(t, IT_CONSUMER, &a, &tok);
    check_token(t, &a, &tok, 5);

    char seventeen[17 * PC_ADDRESS_TEXT_LEN + 17] = "";
    for (int i = 0; i < 17; i++) {
        strcat(seventeen, i ? "," : "");
        strcat(seventeen, pc_itest_addr(&a));
    }
    char trailing[PC_ADDRESS_TEXT_LEN + 12], too_many[sizeof seventeen + 12];
    snprintf(trailing, sizeof trailing, "mediators=%s,", pc_itest_addr(&a));
    snprintf(too_many, sizeof too_many, "mediators=%s", seventeen);
    /* missing, empty, not an address, empty elements, a trailing comma, 17 */
    const char *bad[] = {"", "mediators=", "mediators=0x12", "mediators=,", trailing, too_many};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pc_itest_get(t, IT_CONSUMER, &r, "/createSignatureHeaders?%s", bad[i]);
        it_expect_error(&r, 400, PC_ERR_INVALID_ARGUMENT);
        pc_test_reply_free(&r);
    }
    it_headers(t, IT_CONSUMER, &a, &tok);
    check_token(t, &a, &tok, 6); /* none of the refused calls took a count */
}

#define THREADS 4
#define CALLS_PER_THREAD 25

typedef struct taker {
    pc_itest *t;
    const pc_address *m;
    uint64_t counts[CALLS_PER_THREAD];
    int failures;
} taker;

static void *take_counts(void *arg)
{
    taker *k = arg;
    pc_test_client *c = pc_itest_client(k->t, k->t->consumer_server, IT_CONSUMER);
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        pc_test_reply r;
        pc_test_get(c, &r, "/contracts/%s/createSignatureHeaders", pc_itest_addr(k->m));
        const char *count = pc_test_reply_string(&r, "x-pay-req-count");
        if (r.status != 200 || !count)
            k->failures++;
        else
            k->counts[i] = strtoull(count, NULL, 10);
        pc_test_reply_free(&r);
    }
    pc_test_client_destroy(c);
    return NULL;
}

/* Concurrent calls for one Mediator take every count exactly once. */
static void test_create_signature_headers_concurrent(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    it_use_service(t, IT_CONSUMER, &TERMS, 0, &m);
    taker takers[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        takers[i] = (taker){.t = t, .m = &m};
        assert_int_equal(pthread_create(&threads[i], NULL, take_counts, &takers[i]), 0);
    }
    int seen[THREADS * CALLS_PER_THREAD + 1] = {0};
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(takers[i].failures, 0);
        for (int j = 0; j < CALLS_PER_THREAD; j++) {
            uint64_t c = takers[i].counts[j];
            assert_true(c >= 1 && c <= THREADS * CALLS_PER_THREAD);
            seen[c]++;
        }
    }
    for (int c = 1; c <= THREADS * CALLS_PER_THREAD; c++)
        assert_int_equal(seen[c], 1);
}

/* When the provider starts a redemption, the active id changes; the
 * consumer's server notices within half the redemption timeout (the bound of
 * its cache) and counts the new id from 1. */
static void test_counter_resets_with_new_token_id(void **state)
{
    pc_itest *t = *state;
    const pc_itest_terms quick = {.cost = 1000, .termination = 100, .redemption = 4};
    pc_address m;
    pc_itest_token tok;
    it_use_service(t, IT_CONSUMER, &quick, 0, &m);
    it_deposit(t, IT_CONSUMER, &m, 100000, 0);
    it_headers(t, IT_CONSUMER, &m, &tok);
    it_headers(t, IT_CONSUMER, &m, &tok);
    assert_int_equal(tok.count, 2);
    char old_id[PC_U256_DEC_LEN];
    snprintf(old_id, sizeof old_id, "%s", tok.token_id);
    pc_test_reply r;
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&m));
    it_expect_ok(&r);
    assert_true(json_is_true(json_object_get(r.body, "started")));
    pc_test_reply_free(&r);
    for (int waited = 0; strcmp(tok.token_id, old_id) == 0; waited += 250) {
        it_check(waited <= 2000 + 1000); /* half of 4 s, plus a refresh's slack */
        pc_itest_sleep_ms(250);
        it_headers(t, IT_CONSUMER, &m, &tok);
    }
    check_token(t, &m, &tok, 1);
    it_headers(t, IT_CONSUMER, &m, &tok);
    check_token(t, &m, &tok, 2);
}

/* At debug level too, neither an old client's privateKey parameter (on
 * success or failure) nor the served keys appear in the log. */
static void test_no_secret_in_debug_log(void **state)
{
    pc_itest *t = *state;
    static const char *debug[] = {"--log-level", "debug", NULL};
    pc_test_paychand *p = pc_itest_start_consumer_server(t, "debug-consumer", NULL, debug);
    assert_non_null(p);
    pc_test_client *a = pc_itest_client(t, p, IT_CONSUMER), *b = pc_itest_client(t, p, IT_CONSUMER2);
    pc_address m;
    pc_test_reply r;
    const char *secret = "0x0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ff";
    it_use_service(t, IT_CONSUMER, &TERMS, 0, &m);
    pc_test_get(a, &r, "/contracts/%s/createSignatureHeaders?privateKey=%s", pc_itest_addr(&m),
                secret);
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    pc_test_get(b, &r, "/contracts/%s/createSignatureHeaders?privateKey=%s", pc_itest_addr(&m),
                secret);
    it_expect_error(&r, 412, PC_ERR_ONLY_CONSUMER);
    pc_test_reply_free(&r);
    pc_test_get(a, &r, "/contracts/%s/createSignatureHeaders?privateKey=%s&x", "0x12", secret);
    it_expect_error(&r, 400, PC_ERR_INVALID_ARGUMENT);
    pc_test_reply_free(&r);
    assert_int_equal(pc_test_paychand_stop(p), 0);
    it_check(pc_test_paychand_log_contains(p, "DEBUG")); /* it did log at debug level */
    it_check(!pc_test_paychand_log_contains(p, secret + 2));
    const int served[] = {IT_CONSUMER, IT_CONSUMER2};
    for (int i = 0; i < 2; i++) {
        char hex[67];
        pc_hex_encode(t->key[served[i]], 32, hex);
        it_check(!pc_test_paychand_log_contains(p, hex + 2));
    }
    pc_test_client_destroy(a);
    pc_test_client_destroy(b);
    pc_test_paychand_free(p);
}

/* ---- read endpoints ------------------------------------------------------------------- */

/* terminationStatus and funds answer both parties, by GET and POST; a
 * service that is neither party is refused. */
static void test_read_endpoints(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_test_reply r;
    it_use_service(t, IT_CONSUMER, &TERMS, 0, &m);
    const int parties[] = {IT_CONSUMER, IT_PROVIDER};
    for (int i = 0; i < 2; i++) {
        pc_itest_get(t, parties[i], &r, "/contracts/%s/terminationStatus", pc_itest_addr(&m));
        it_expect_ok(&r);
        assert_int_equal(json_object_size(r.body), 1);
        assert_true(json_is_false(json_object_get(r.body, "terminated")));
        pc_test_reply_free(&r);
        pc_test_post(t->client[parties[i]], &r, "/contracts/%s/terminationStatus",
                     pc_itest_addr(&m));
        it_expect_ok(&r);
        pc_test_reply_free(&r);
        expect_funds(t, parties[i], &m, "0", "0");
    }
    pc_itest_get(t, IT_STRANGER, &r, "/contracts/%s/funds", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_NOT_A_PARTY);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_CONSUMER2, &r, "/contracts/%s/terminationStatus", pc_itest_addr(&m));
    it_expect_error(&r, 412, PC_ERR_NOT_A_PARTY);
    pc_test_reply_free(&r);
}

static int setup(void **state)
{
    *state = pc_itest_start(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    pc_itest_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_connections_spread_over_loops),
        cmocka_unit_test(test_use_service_defaults),
        cmocka_unit_test(test_use_service_reuse),
        cmocka_unit_test(test_use_service_reuse_skips_closing),
        cmocka_unit_test(test_deposit),
        cmocka_unit_test(test_create_signature_headers),
        cmocka_unit_test(test_create_signature_headers_concurrent),
        cmocka_unit_test(test_create_signature_headers_many),
        cmocka_unit_test(test_counter_resets_with_new_token_id),
        cmocka_unit_test(test_no_secret_in_debug_log),
        cmocka_unit_test(test_read_endpoints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
