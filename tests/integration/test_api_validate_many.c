/* Integration: POST /validateTokens (our extension: validateToken for
 * several tokens in one call) on the provider's paychand over real HTTP
 * against a real anvil, with tokens made by the consumer's paychand or
 * signed in the test: every token judged as validateToken judges it (its
 * own code and metadata, in the order given, a malformed token only its own
 * result), what fails the whole call, and acknowledged counts surviving a
 * restart. A Mediator's first call goes to a worker (it is not registered
 * as provider yet); later ones run on the event loop, where the counts of a
 * call are committed together (one durable write, seen in /metrics).
 *
 * The storage backend is the program's argument: sqlite (default), redis
 * or memory; CTest runs all three. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/integration.h"
#include "support/prom_text.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

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

/* POSTs body (JSON) to /validateTokens as the provider with auth (NULL:
 * stamped signature); the caller checks and frees *r. */
static void post_body(pc_itest *t, const pc_test_auth *auth, const char *body, pc_test_reply *r)
{
    pc_test_request_body(t->client[IT_PROVIDER], "POST", "/validateTokens", auth,
                         "application/json", body, strlen(body), r);
}

static void post_tokens(pc_itest *t, const pc_test_auth *auth, json_t *tokens, pc_test_reply *r)
{
    char *body = body_of(tokens);
    post_body(t, auth, body, r);
    free(body);
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

/* POSTs toks[0..n) and expects w. */
#define expect_batch(t, toks, n, w) expect_batch_at((t), (toks), (n), (w), __FILE__, __LINE__)
static void expect_batch_at(pc_itest *t, const pc_itest_token *toks, size_t n, const want *w,
                            const char *file, int line)
{
    pc_test_reply r;
    post_tokens(t, NULL, tokens_json(toks, n), &r);
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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_then_replayed),
        cmocka_unit_test(test_mixed_batch),
        cmocka_unit_test(test_same_count_twice),
        cmocka_unit_test(test_whole_call_errors),
        cmocka_unit_test(test_counts_survive_restart),
    };
    return pc_itest_run_on_backend(argc, argv, "sqlite redis memory", tests);
}
