/* Integration: /contracts/{mediator}/returnCount (our extension: a consumer
 * gives back the last count it took and never sent) on the consumer's
 * paychand over real HTTP against a real anvil: answered {"returned": true}
 * only for the last count taken, once, after which createSignatureHeaders
 * takes the same count again and the provider's paychand accepts that
 * token once; {"returned": false} otherwise; parameters in the query, a
 * form body or a JSON body; refused for anyone but the Mediator's consumer
 * and for bad parameters without taking or giving back anything; a return
 * surviving a restart; counted in /metrics by its route.
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

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

/* ---- calls ----------------------------------------------------------------------------- */

/* Where the parameters go: the query of a GET, a form body or a JSON body of a POST. */
typedef enum carrier { BY_QUERY, BY_FORM, BY_JSON } carrier;

/* The parameters tokenId and reqCount (each left out when NULL) as `how`
 * carries them: "a=1&b=2", or a JSON object of strings. */
static void params_text(carrier how, const char *token_id, const char *count, char *out, size_t cap)
{
    if (how == BY_JSON) {
        json_t *o = json_object();
        if (token_id)
            json_object_set_new(o, "tokenId", json_string(token_id));
        if (count)
            json_object_set_new(o, "reqCount", json_string(count));
        char *text = json_dumps(o, JSON_COMPACT);
        snprintf(out, cap, "%s", text);
        free(text);
        json_decref(o);
        return;
    }
    snprintf(out, cap, "%s%s%s%s%s", token_id ? "tokenId=" : "", token_id ? token_id : "",
             token_id && count ? "&" : "", count ? "reqCount=" : "", count ? count : "");
}

/* returnCount for Mediator text `mediator` through client c (auth NULL:
 * stamped signature); the caller checks and frees *r. */
static void send_return(pc_test_client *c, const pc_test_auth *auth, const char *mediator,
                        const char *token_id, const char *count, carrier how, pc_test_reply *r)
{
    char target[512], params[256];
    params_text(how, token_id, count, params, sizeof params);
    int n = snprintf(target, sizeof target, "/contracts/%s/returnCount", mediator);
    if (how == BY_QUERY) {
        snprintf(target + n, sizeof target - (size_t)n, "?%s", params);
        pc_test_request(c, "GET", target, auth, NULL, r);
    } else {
        pc_test_request_body(c, "POST", target, auth,
                             how == BY_FORM ? "application/x-www-form-urlencoded"
                                            : "application/json",
                             params, strlen(params), r);
    }
}

/* The consumer gives tok back; the answer must be 200 {"returned": want}. */
#define expect_returned(t, tok, how, want) \
    expect_returned_at((t), (tok), (how), (want), __FILE__, __LINE__)
static void expect_returned_at(pc_itest *t, const pc_itest_token *tok, carrier how, int want,
                               const char *file, int line)
{
    char count[24];
    pc_test_reply r;
    snprintf(count, sizeof count, "%llu", (unsigned long long)tok->count);
    send_return(t->client[IT_CONSUMER], NULL, tok->mediator, tok->token_id, count, how, &r);
    json_t *body = pc_itest_expect_ok_at(&r, file, line);
    json_t *returned = json_object_get(body, "returned");
    if (json_object_size(body) != 1 || !json_is_boolean(returned) ||
        json_is_true(returned) != want)
        pc_itest_fail_at(file, line, "expected {\"returned\": %s}: %s", want ? "true" : "false",
                         r.text);
    pc_test_reply_free(&r);
}

/* createSignatureHeaders?mediators=m,m: two tokens in one call. */
static void two_tokens(pc_itest *t, const pc_address *m, pc_itest_token tok[2])
{
    pc_test_reply r;
    pc_itest_get(t, IT_CONSUMER, &r, "/createSignatureHeaders?mediators=%s,%s", pc_itest_addr(m),
                 pc_itest_addr(m));
    json_t *list = json_object_get(it_expect_ok(&r), "headers");
    it_check(json_array_size(list) == 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *h = json_array_get(list, i);
        snprintf(tok[i].mediator, sizeof tok[i].mediator, "%s",
                 json_string_value(json_object_get(h, "x-pay-mediator")));
        snprintf(tok[i].token_id, sizeof tok[i].token_id, "%s",
                 json_string_value(json_object_get(h, "x-pay-token-id")));
        tok[i].count = strtoull(json_string_value(json_object_get(h, "x-pay-req-count")), NULL, 10);
    }
    pc_test_reply_free(&r);
}

/* How many returnCount calls the consumer's paychand answered 200 (/metrics). */
static double return_calls_answered_200(pc_itest *t)
{
    pc_test_prom prom;
    it_scrape(t->consumer_server, &prom);
    double n = pc_test_prom_value(&prom, "paychan_http_requests_total",
                                  "endpoint=\"/contracts/{mediator}/returnCount\",status=\"200\"",
                                  0);
    pc_test_prom_free(&prom);
    return n;
}

/* ---- the tests ------------------------------------------------------------------------- */

/* Counts 1 and 2 taken: 1 is not given back (2 was taken after it), 2 is,
 * once; the next token is count 2 again, the very same token (signatures
 * are deterministic), which the provider accepts once. The same with two
 * counts of one several-Mediators call. Each form of the parameters, and
 * /metrics counts the calls under the route. */
static void test_returned_then_taken_again(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok[2], again, pair[2];
    pc_test_reply r;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    double calls_before = return_calls_answered_200(t);
    it_headers(t, IT_CONSUMER, &m, &tok[0]);
    it_headers(t, IT_CONSUMER, &m, &tok[1]);
    it_check(tok[0].count == 1 && tok[1].count == 2);
    expect_returned(t, &tok[0], BY_JSON, 0);
    expect_returned(t, &tok[1], BY_QUERY, 1);
    expect_returned(t, &tok[1], BY_FORM, 0); /* not twice */
    it_headers(t, IT_CONSUMER, &m, &again);
    it_check(again.count == 2 && strcmp(again.token_id, tok[1].token_id) == 0 &&
             strcmp(again.signature, tok[1].signature) == 0);
    it_validate_ok(t, &again, &TERMS);
    pc_itest_validate(t, NULL, &again, &TERMS, &r);
    it_expect_error(&r, 412, PC_ERR_COUNT_USED);
    pc_test_reply_free(&r);

    two_tokens(t, &m, pair);
    it_check(pair[0].count == 3 && pair[1].count == 4);
    expect_returned(t, &pair[0], BY_FORM, 0);
    expect_returned(t, &pair[1], BY_JSON, 1);
    it_headers(t, IT_CONSUMER, &m, &again);
    it_check(again.count == 4);
    it_validate_ok(t, &again, &TERMS);
    it_check(return_calls_answered_200(t) - calls_before == 5);
}

/* Expects returnCount with these parameters by the consumer to be refused
 * with 400 naming `named`. */
static void expect_bad_param(pc_itest *t, const char *mediator, const char *token_id,
                             const char *count, const char *named)
{
    pc_test_reply r;
    send_return(t->client[IT_CONSUMER], NULL, mediator, token_id, count, BY_QUERY, &r);
    it_expect_bad_param(&r, named);
    pc_test_reply_free(&r);
}

/* Unauthenticated: 202; the provider or another served consumer: 3; bad
 * parameters: 300 naming them; a path that is no Mediator: 300, as
 * createSignatureHeaders answers them. None of them gave back or took a
 * count: the next token is the one after. */
static void test_refusals(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok, next;
    pc_test_reply r;
    char count[24];
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    it_headers(t, IT_CONSUMER, &m, &tok);
    snprintf(count, sizeof count, "%llu", (unsigned long long)tok.count);

    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE};
    send_return(t->client[IT_CONSUMER], &none, tok.mediator, tok.token_id, count, BY_JSON, &r);
    it_expect_error(&r, 412, PC_ERR_SENDER_MISSING);
    pc_test_reply_free(&r);
    const int others[] = {IT_PROVIDER, IT_CONSUMER2};
    for (size_t i = 0; i < 2; i++) {
        send_return(t->client[others[i]], NULL, tok.mediator, tok.token_id, count, BY_FORM, &r);
        it_expect_error(&r, 412, PC_ERR_ONLY_CONSUMER);
        pc_test_reply_free(&r);
    }

    expect_bad_param(t, tok.mediator, NULL, count, "tokenId");
    expect_bad_param(t, tok.mediator, "12x", count, "tokenId");
    expect_bad_param(t, tok.mediator, tok.token_id, NULL, "reqCount");
    const char *bad_counts[] = {"0", "-1", "9007199254740992", "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad_counts / sizeof bad_counts[0]; i++)
        expect_bad_param(t, tok.mediator, tok.token_id, bad_counts[i], "reqCount");
    send_return(t->client[IT_CONSUMER], NULL, "0x12", tok.token_id, count, BY_QUERY, &r);
    it_expect_error(&r, 400, PC_ERR_INVALID_ARGUMENT);
    pc_test_reply_free(&r);
    send_return(t->client[IT_CONSUMER], NULL, t->sender[IT_PROVIDER], tok.token_id, count,
                BY_QUERY, &r); /* an account, no Mediator */
    it_expect_error(&r, 400, PC_ERR_INVALID_ARGUMENT);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/createSignatureHeaders",
                 t->sender[IT_PROVIDER]);
    it_expect_error(&r, 400, PC_ERR_INVALID_ARGUMENT);
    pc_test_reply_free(&r);

    it_headers(t, IT_CONSUMER, &m, &next);
    it_check(next.count == tok.count + 1);
}

/* A count given back stays given back when paychand restarts: the next
 * token after the restart is that count again. */
static void test_return_survives_restart(void **state)
{
    pc_itest *t = *state;
    if (strcmp(t->opts.store, "memory") == 0) {
        skip(); /* the memory backend keeps nothing across restarts by design */
    }
    pc_address m;
    pc_itest_token tok, again;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    it_headers(t, IT_CONSUMER, &m, &tok);
    it_headers(t, IT_CONSUMER, &m, &tok);
    expect_returned(t, &tok, BY_JSON, 1);
    assert_int_equal(pc_test_paychand_stop(t->consumer_server), 0);
    assert_int_equal(pc_test_paychand_restart(t->consumer_server), 0);
    it_headers(t, IT_CONSUMER, &m, &again);
    it_check(again.count == 2 && strcmp(again.signature, tok.signature) == 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_returned_then_taken_again),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_return_survives_restart),
    };
    return pc_itest_run_on_backend(argc, argv, "sqlite redis memory", tests);
}
