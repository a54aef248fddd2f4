/* Integration: POST /validateTokens (our extension: validateToken for
 * several tokens in one call) on the provider's paychand over real HTTP
 * against a real anvil, with tokens made by the consumer's paychand or
 * signed in the test: every token judged as validateToken judges it (its
 * own code and metadata, in the order given, a malformed token only its own
 * result), what fails the whole call, and acknowledged counts surviving a
 * restart. A Mediator's first call goes to a worker (it is not registered
 * as provider yet); later ones run on the event loop, where the counts of a
 * call are committed together (one durable write, seen in /metrics). On
 * Redis every call runs on a worker, which offers the counts of a call in
 * one pipeline with one WAIT (seen in Redis's commandstats); the time of a
 * call of 16 tokens there is printed.
 *
 * The storage backend is the program's argument: sqlite (default), redis
 * or memory; CTest runs all three. */
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
#include "support/prom_text.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

#define API_MANY 16 /* the most tokens a call takes */

/* ---- calls ----------------------------------------------------------------------------- */

/* A token as a member of "tokens" (reqCount as a JSON integer, which the
 * server takes like its decimal string). */
static json_t *token_json(const pc_itest_token *tok)
{
    return json_pack("{sssssssssI}", "mediator", tok->mediator, "sender", tok->sender,
                     "signature", tok->signature, "tokenId", tok->token_id, "reqCount",
                     (json_int_t)tok->count);
}

static json_t *tokens_json(const pc_itest_token *toks, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, token_json(&toks[i]));
    return list;
}

/* The body: TERMS (the cost as a string, the timeouts as integers) and
 * `tokens` (stolen); NULL tokens leaves the member out. */
static char *body_of(json_t *tokens)
{
    char cost[24];
    snprintf(cost, sizeof cost, "%llu", (unsigned long long)TERMS.cost);
    json_t *body = json_pack("{sssIsI}", "minCostPerRequest", cost, "terminationTimeout",
                             (json_int_t)TERMS.termination, "tokenRedemptionTimeout",
                             (json_int_t)TERMS.redemption);
    if (tokens)
        json_object_set_new(body, "tokens", tokens);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* POSTs body (JSON) to /validateTokens as the provider through client c
 * with auth (NULL: stamped signature); the caller checks and frees *r. */
static void post_body_via(pc_test_client *c, const pc_test_auth *auth, const char *body,
                          pc_test_reply *r)
{
    pc_test_request_body(c, "POST", "/validateTokens", auth, "application/json", body,
                         strlen(body), r);
}

/* post_body_via the provider's server. */
static void post_body(pc_itest *t, const pc_test_auth *auth, const char *body, pc_test_reply *r)
{
    post_body_via(t->client[IT_PROVIDER], auth, body, r);
}

/* POSTs `tokens` (stolen) through client c. */
static void post_tokens_via(pc_test_client *c, const pc_test_auth *auth, json_t *tokens,
                            pc_test_reply *r)
{
    char *body = body_of(tokens);
    post_body_via(c, auth, body, r);
    free(body);
}

static void post_tokens(pc_itest *t, const pc_test_auth *auth, json_t *tokens, pc_test_reply *r)
{
    post_tokens_via(t->client[IT_PROVIDER], auth, tokens, r);
}

/* What a token's result must be: code 0 = {"valid": true}; else that code,
 * and with actual >= 0 metadata.actualCount = actual. */
typedef struct want {
    long code;
    long long actual;
} want;

#define VALID {0, -1}
#define REPLAY(n) {PC_ERR_COUNT_USED, (n)}
#define REFUSED(code) {(code), -1}

/* The answer is 200 {"results": [...]} matching w[0..n). */
#define expect_results(r, w, n) expect_results_at((r), (w), (n), __FILE__, __LINE__)
static void expect_results_at(const pc_test_reply *r, const want *w, size_t n, const char *file,
                              int line)
{
    json_t *body = pc_itest_expect_ok_at(r, file, line);
    json_t *results = json_object_get(body, "results");
    if (json_object_size(body) != 1 || json_array_size(results) != n)
        pc_itest_fail_at(file, line, "expected {\"results\": [%zu results]}: %s", n, r->text);
    for (size_t i = 0; i < n; i++) {
        json_t *res = json_array_get(results, i), *meta = json_object_get(res, "metadata");
        json_t *actual = json_object_get(meta, "actualCount");
        int ok = w[i].code == 0
                     ? json_is_true(json_object_get(res, "valid")) && json_object_size(res) == 1
                     : json_is_false(json_object_get(res, "valid")) &&
                           json_integer_value(json_object_get(res, "code")) == w[i].code &&
                           json_string_length(json_object_get(res, "name")) > 0 &&
                           json_string_length(json_object_get(res, "message")) > 0 &&
                           (w[i].actual < 0 || (json_is_integer(actual) &&
                                                json_integer_value(actual) == w[i].actual));
        if (!ok)
            pc_itest_fail_at(file, line, "result %zu: expected code %ld (actualCount %lld): %s", i,
                             w[i].code, w[i].actual, r->text);
    }
}

/* POSTs toks[0..n) through client c and expects w. */
#define expect_batch_via(c, toks, n, w) \
    expect_batch_at((c), (toks), (n), (w), __FILE__, __LINE__)
#define expect_batch(t, toks, n, w) expect_batch_via((t)->client[IT_PROVIDER], (toks), (n), (w))
static void expect_batch_at(pc_test_client *c, const pc_itest_token *toks, size_t n,
                            const want *w, const char *file, int line)
{
    pc_test_reply r;
    post_tokens_via(c, NULL, tokens_json(toks, n), &r);
    expect_results_at(&r, w, n, file, line);
    pc_test_reply_free(&r);
}

/* validateToken alone: refused 37 with actualCount = highest. */
static void expect_replay_alone(pc_itest *t, const pc_itest_token *tok, long long highest)
{
    pc_test_reply r;
    pc_itest_validate(t, NULL, tok, &TERMS, &r);
    it_expect_error(&r, 412, PC_ERR_COUNT_USED);
    json_t *actual = json_object_get(json_object_get(r.body, "metadata"), "actualCount");
    it_check(json_integer_value(actual) == highest);
    pc_test_reply_free(&r);
}

static pc_u256 active_id(pc_itest *t, const pc_address *m)
{
    pc_mediator_state st;
    pc_itest_state(t, m, &st);
    return st.active_token_id;
}

static double moved(const pc_test_prom *a, const pc_test_prom *b, const char *name)
{
    return pc_test_prom_value(b, name, "", 0) - pc_test_prom_value(a, name, "", 0);
}

/* ---- the tests ------------------------------------------------------------------------- */

/* Three tokens of two Mediators: all valid (on a worker: the Mediators are
 * new as provider), the same call again three replays; three new tokens
 * then, on the loop, in one durable write (SQLite: /metrics' store writes
 * move by one), counted as three validated tokens. The request MAC covers
 * the body like a signature does. */
static void test_valid_then_replayed(void **state)
{
    pc_itest *t = *state;
    pc_address m1, m2;
    pc_itest_token tok[3];
    pc_test_reply r;
    it_open_channel(t, &TERMS, 1000000, &m1, NULL);
    it_open_channel(t, &TERMS, 1000000, &m2, NULL);
    it_headers(t, IT_CONSUMER, &m1, &tok[0]);
    it_headers(t, IT_CONSUMER, &m2, &tok[1]);
    it_headers(t, IT_CONSUMER, &m1, &tok[2]);
    const want valid[3] = {VALID, VALID, VALID}, replays[3] = {REPLAY(2), REPLAY(1), REPLAY(2)};
    expect_batch(t, tok, 3, valid);
    const pc_test_auth mac = {.mode = PC_TEST_AUTH_MAC};
    post_tokens(t, &mac, tokens_json(tok, 3), &r);
    expect_results(&r, replays, 3);
    pc_test_reply_free(&r);

    pc_test_prom before, after;
    for (int i = 0; i < 3; i++)
        it_headers(t, IT_CONSUMER, i == 1 ? &m2 : &m1, &tok[i]);
    it_scrape(t->provider_server, &before);
    expect_batch(t, tok, 3, valid);
    it_scrape(t->provider_server, &after);
    it_check(moved(&before, &after, "paychan_tokens_validated_total") == 3);
    if (strcmp(t->opts.store, "sqlite") == 0)
        it_check(moved(&before, &after, "paychan_store_write_duration_seconds_count") == 1);
    pc_test_prom_free(&before);
    pc_test_prom_free(&after);
    expect_replay_alone(t, &tok[2], 4);
}

/* One of each refusal in one call, each with validateToken's code, and the
 * valid token among them accepted and durable. First on the loop (every
 * token well-formed, its Mediator cached), then on a worker (malformed
 * tokens, an unknown token id). */
static void test_mixed_batch(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok[4], used;
    pc_test_reply r;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    pc_u256 id = active_id(t, &m), unknown = id;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 5, &used);
    it_validate_ok(t, &used, &TERMS);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 1, &tok[0]);   /* valid */
    pc_itest_sign_token(t, IT_STRANGER, IT_CONSUMER, &m, &id, 2, &tok[1]);   /* forged */
    pc_itest_sign_token(t, IT_CONSUMER2, IT_CONSUMER2, &m, &id, 3, &tok[2]); /* not its consumer */
    tok[3] = used;
    const want on_loop[4] = {VALID, REFUSED(PC_ERR_TOKEN_SIGNATURE),
                             REFUSED(PC_ERR_TOKEN_SIGNATURE), REPLAY(5)};
    expect_batch(t, tok, 4, on_loop);
    expect_replay_alone(t, &tok[0], 5);

    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 2, &tok[0]); /* valid */
    json_t *list = tokens_json(tok, 4);
    json_object_set_new(json_array_get(list, 1), "tokenId", json_string("12x"));
    json_object_del(json_array_get(list, 2), "reqCount");
    json_object_set_new(json_array_get(list, 3), "signature", json_string("0x1234"));
    pc_itest_token other = tok[0];
    snprintf(other.sender, sizeof other.sender, "0x12");
    json_array_append_new(list, token_json(&other));
    unknown.limb[0] ^= 0x5a5a;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &unknown, 6, &other);
    json_array_append_new(list, token_json(&other));
    json_array_append_new(list, json_string("not a token"));
    post_tokens(t, NULL, list, &r);
    const want on_worker[7] = {VALID,
                               REFUSED(PC_ERR_INVALID_ARGUMENT),
                               REFUSED(PC_ERR_INVALID_ARGUMENT),
                               REFUSED(PC_ERR_TOKEN_SIGNATURE),
                               REFUSED(PC_ERR_INVALID_ARGUMENT),
                               REFUSED(PC_ERR_UNKNOWN_TOKEN_ID),
                               REFUSED(PC_ERR_INVALID_ARGUMENT)};
    expect_results(&r, on_worker, 7);
    json_t *results = json_object_get(r.body, "results");
    const char *named = json_string_value(
        json_object_get(json_object_get(json_array_get(results, 5), "metadata"), "tokenID"));
    it_check(named && strcmp(named, pc_itest_dec(&unknown)) == 0);
    const char *why = json_string_value(json_object_get(json_array_get(results, 2), "message"));
    it_check(why && strstr(why, "reqCount"));
    pc_test_reply_free(&r);
    expect_replay_alone(t, &tok[0], 5);
}

/* The same count twice in one call: the first accepted, the second a
 * replay; on a worker (first call) and on the loop. */
static void test_same_count_twice(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok[2];
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    pc_u256 id = active_id(t, &m);
    const want w[2][2] = {{VALID, REPLAY(5)}, {VALID, REPLAY(7)}};
    for (int round = 0; round < 2; round++) {
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 5 + 2 * (uint64_t)round,
                            &tok[0]);
        tok[1] = tok[0];
        expect_batch(t, tok, 2, w[round]);
    }
}

/* POSTs the body of token tok with member `name` set to v (stolen), or
 * removed when v is NULL; the caller checks and frees *r. */
static void post_changed(pc_itest *t, const pc_itest_token *tok, const char *name, json_t *v,
                         pc_test_reply *r)
{
    char *text = body_of(tokens_json(tok, 1));
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    if (v)
        json_object_set_new(doc, name, v);
    else
        json_object_del(doc, name);
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    post_body(t, NULL, text, r);
    free(text);
}

/* The call fails as a whole (400, code 300 naming what) for a malformed
 * call, before any count is taken; unauthenticated, or with a body other
 * than the one signed, like validateToken. */
static void test_whole_call_errors(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok[17];
    pc_test_reply r;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    for (int i = 0; i < 17; i++)
        it_headers(t, IT_CONSUMER, &m, &tok[i]);
    json_t *bad_lists[] = {tokens_json(tok, 17), json_array(), NULL, json_integer(5),
                           json_pack("{ss}", "not", "an array")};
    for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++) {
        post_changed(t, &tok[0], "tokens", bad_lists[i], &r);
        it_expect_bad_param(&r, "tokens");
        pc_test_reply_free(&r);
    }
    post_changed(t, &tok[0], "minCostPerRequest", NULL, &r);
    it_expect_bad_param(&r, "minCostPerRequest");
    pc_test_reply_free(&r);
    post_changed(t, &tok[0], "terminationTimeout", json_integer(-1), &r);
    it_expect_bad_param(&r, "terminationTimeout");
    pc_test_reply_free(&r);
    post_body(t, NULL, "{\"tokens\": [", &r); /* not JSON */
    it_expect_error(&r, 400, PC_ERR_INVALID_ARGUMENT);
    pc_test_reply_free(&r);

    /* authentication: as validateToken's */
    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE}, other_body = {.signed_body = "{}"};
    char *body = body_of(tokens_json(tok, 1));
    post_body(t, &none, body, &r);
    it_expect_error(&r, 412, PC_ERR_SENDER_MISSING);
    pc_test_reply_free(&r);
    post_body(t, &other_body, body, &r);
    it_expect_error(&r, 412, PC_ERR_REQUEST_SIGNATURE);
    pc_test_reply_free(&r);
    free(body);
    pc_test_request(t->client[IT_PROVIDER], "GET", "/contracts/0x12/validateToken", &none, NULL,
                    &r);
    it_expect_error(&r, 412, PC_ERR_SENDER_MISSING);
    pc_test_reply_free(&r);
    it_validate_ok(t, &tok[0], &TERMS); /* none of the refused calls took a count */
}

/* A batch acknowledged, paychand stopped (SIGTERM) and started again: the
 * counts are refused as replays. */
static void test_counts_survive_restart(void **state)
{
    pc_itest *t = *state;
    if (strcmp(t->opts.store, "memory") == 0) {
        skip(); /* the memory backend keeps nothing across restarts by design */
    }
    pc_address m1, m2;
    pc_itest_token tok[3];
    it_open_channel(t, &TERMS, 1000000, &m1, NULL);
    it_open_channel(t, &TERMS, 1000000, &m2, NULL);
    for (int i = 0; i < 3; i++)
        it_headers(t, IT_CONSUMER, i == 1 ? &m2 : &m1, &tok[i]);
    const want valid[3] = {VALID, VALID, VALID}, replays[3] = {REPLAY(2), REPLAY(1), REPLAY(2)};
    expect_batch(t, tok, 3, valid);
    assert_int_equal(pc_test_paychand_stop(t->provider_server), 0);
    assert_int_equal(pc_test_paychand_restart(t->provider_server), 0);
    expect_batch(t, tok, 3, replays);
}

/* ---- Redis with a replica required: one WAIT per call ------------------------------------- */

/* A case on Redis only (skipped on the other backends): a provider server
 * on the program's Redis with a replica attached and --redis-wait-replicas
 * 1 (WAIT gives up after 300 ms; its duties idle, so that only the calls of
 * the test run commands on the primary), a client of it, and a new
 * Mediator with its token id and the next count the test signs. */
typedef struct waiting {
    pc_test_redis *replica;
    pc_test_paychand *server;
    pc_test_client *client;
    pc_address m;
    pc_u256 id;
    uint64_t next;
} waiting;

static void waiting_start(pc_itest *t, waiting *w, uint64_t deposit)
{
    static const char *const more[] = {"--redis-wait-replicas", "1", "--redis-wait-timeout", "300",
                                       "--duty-interval", "3600000", NULL};
    if (strcmp(t->opts.store, "redis") != 0) {
        skip();
    }
    w->replica = pc_test_redis_start_replica(t->opts.redis);
    assert_non_null(w->replica);
    assert_int_equal(pc_test_redis_wait_replicas(t->opts.redis, 1, 20000), 0);
    w->server = pc_itest_start_provider_server(t, "wait-1", NULL, more);
    assert_non_null(w->server);
    w->client = pc_itest_client(t, w->server, IT_PROVIDER);
    it_open_channel(t, &TERMS, deposit, &w->m, &w->id);
    w->next = 1;
}

/* Stops it all; the replica last, so the program's other servers see no
 * replica again (one restarted would wait for it). */
static void waiting_stop(waiting *w)
{
    pc_test_client_destroy(w->client);
    assert_int_equal(pc_test_paychand_stop(w->server), 0);
    pc_test_paychand_free(w->server);
    pc_test_redis_stop(w->replica);
}

/* n tokens of w's Mediator, the next counts (signed in the test). */
static void sign_tokens(pc_itest *t, waiting *w, pc_itest_token *toks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &w->m, &w->id, w->next++, &toks[i]);
}

/* On Redis a call runs on a worker; its 8 counts are offered in one
 * pipeline and acknowledged by ONE WAIT (INFO commandstats of the
 * primary: 1 WAIT, 8 EVALSHA), not a script and a WAIT per token. */
static void test_redis_one_wait_per_call(void **state)
{
    pc_itest *t = *state;
    enum { N = 8 };
    waiting w;
    pc_itest_token tok[N];
    waiting_start(t, &w, 1000000);
    sign_tokens(t, &w, tok, 1);
    const want one[1] = {VALID}, all[N] = {VALID, VALID, VALID, VALID, VALID, VALID, VALID, VALID};
    expect_batch_via(w.client, tok, 1, one); /* the Mediator registered and cached */
    sign_tokens(t, &w, tok, N);
    long long waits = pc_test_redis_calls(t->opts.redis, "wait");
    long long scripts = pc_test_redis_calls(t->opts.redis, "evalsha");
    expect_batch_via(w.client, tok, N, all);
    waits = pc_test_redis_calls(t->opts.redis, "wait") - waits;
    scripts = pc_test_redis_calls(t->opts.redis, "evalsha") - scripts;
    printf("# /validateTokens of %d tokens with WAIT 1: %lld WAIT, %lld EVALSHA\n", N, waits,
           scripts);
    waiting_stop(&w);
    if (waits != 1 || scripts != N)
        it_fail("%lld WAIT and %lld EVALSHA for one call of %d tokens, expected 1 and %d", waits,
                scripts, N, N);
    expect_replay_alone(t, &tok[N - 1], (long long)w.next - 1); /* the main server sees them */
}

/* The replica stopped (SIGSTOP: WAIT answers 0 after its 300 ms): each
 * accepted count of the call is refused with 103, as validateToken refuses
 * it (its count stays seen: a replay afterwards), a replay keeps its 37. */
static void test_redis_unacknowledged_call(void **state)
{
    pc_itest *t = *state;
    waiting w;
    pc_itest_token tok[3];
    waiting_start(t, &w, 1000000);
    sign_tokens(t, &w, tok, 3);
    const want first[1] = {VALID}, then[3] = {REPLAY(1), REFUSED(PC_ERR_STORAGE_NOT_DURABLE),
                                              REFUSED(PC_ERR_STORAGE_NOT_DURABLE)};
    expect_batch_via(w.client, tok, 1, first);
    assert_int_equal(pc_test_redis_signal(w.replica, SIGSTOP), 0);
    int64_t start = pc_test_now_ms();
    expect_batch_via(w.client, tok, 3, then);
    int64_t took = pc_test_now_ms() - start;
    assert_int_equal(pc_test_redis_signal(w.replica, SIGCONT), 0);
    printf("# a call with 2 counts not acknowledged answered in %lld ms (WAIT timeout 300 ms)\n",
           (long long)took);
    expect_replay_alone(t, &tok[1], 3);
    expect_replay_alone(t, &tok[2], 3);
    waiting_stop(&w);
}

/* The mean ms of `calls` calls of n fresh tokens of w's Mediator through c. */
static double mean_call_ms(pc_itest *t, pc_test_client *c, waiting *w, size_t n, int calls)
{
    pc_itest_token tok[API_MANY];
    want valid[API_MANY];
    for (size_t i = 0; i < n; i++)
        valid[i] = (want)VALID;
    int64_t spent = 0;
    for (int k = 0; k < calls; k++) {
        sign_tokens(t, w, tok, n);
        int64_t start = pc_test_now_ms();
        expect_batch_via(c, tok, n, valid);
        spent += pc_test_now_ms() - start;
    }
    return (double)spent / calls;
}

/* What a call of 16 tokens costs on Redis, with and without a replica
 * waited for (printed: docs/benchmarks.md), in turns of 25 calls. */
static void test_redis_call_time(void **state)
{
    pc_itest *t = *state;
    enum { CALLS = 25 };
    waiting w;
    waiting_start(t, &w, 100000000); /* 100,000 counts */
    pc_test_client *without_wait = t->client[IT_PROVIDER];
    mean_call_ms(t, w.client, &w, 1, 1); /* registered and cached on both */
    mean_call_ms(t, without_wait, &w, 1, 1);
    double with = 0, without = 0;
    for (int round = 0; round < 4; round++) {
        with += mean_call_ms(t, w.client, &w, API_MANY, CALLS) / 4;
        without += mean_call_ms(t, without_wait, &w, API_MANY, CALLS) / 4;
    }
    printf("# /validateTokens of %d tokens on Redis, mean of %d calls: %.2f ms with WAIT 1, "
           "%.2f ms without\n", API_MANY, 4 * CALLS, with, without);
    waiting_stop(&w);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_then_replayed),
        cmocka_unit_test(test_mixed_batch),
        cmocka_unit_test(test_same_count_twice),
        cmocka_unit_test(test_whole_call_errors),
        cmocka_unit_test(test_counts_survive_restart),
        cmocka_unit_test(test_redis_one_wait_per_call),
        cmocka_unit_test(test_redis_unacknowledged_call),
        cmocka_unit_test(test_redis_call_time),
    };
    return pc_itest_run_on_backend(argc, argv, "sqlite redis memory", tests);
}
