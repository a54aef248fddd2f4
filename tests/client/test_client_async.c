/* libpaychan's non-blocking calls (paychan_*_begin / _end) against real
 * Payment Servers (paychand, memory store) and a real anvil, driven by a
 * plain curl multi on the test's thread as a service's event loop would:
 * several calls in flight at once sign distinct counts and validate; the
 * 205 refusal of a replayed stamp re-arms the call; a Payment Server that
 * is down, a replay and an unknown target fail with exactly the blocking
 * form's code, status and message; several payments validated in one call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client_internal.h"
#include "live_pair.h"

#define FUNDING "1000000000000000" /* 1 finney */
static const paychan_provider_terms TERMS = {"1000", 100, 50};
/* anvil's dev account 0: a key for a client whose Payment Server is down */
#define DEV_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

typedef live_pair async_test;

/* One call driven on the multi: sign (out set) or validate; its end's result. */
typedef struct job {
    paychan_call *call;
    paychan_payment_headers *out; /* NULL: a validate call */
    paychan_error *each;          /* a validate-many call: each payment's result */
    int rc, agains;
    paychan_error err;
} job;

/* Ends j's transfer: 1 when it is over, 0 when re-armed. */
static int end_job(job *j, CURLcode result)
{
    j->rc = j->out    ? paychan_sign_requests_end(j->call, result, j->out, &j->err)
            : j->each ? paychan_validate_payments_end(j->call, result, j->each, &j->err)
                      : paychan_validate_payment_end(j->call, result, &j->err);
    if (j->rc != PAYCHAN_CALL_AGAIN)
        return 1;
    j->agains++;
    return 0;
}

/* Runs every job on one curl multi until each has ended, as an event loop would. */
static void run_jobs(job *jobs, size_t n)
{
    CURLM *multi = curl_multi_init();
    size_t open = n;
    assert_non_null(multi);
    for (size_t i = 0; i < n; i++) {
        curl_easy_setopt(paychan_call_easy(jobs[i].call), CURLOPT_PRIVATE, &jobs[i]);
        assert_int_equal(curl_multi_add_handle(multi, paychan_call_easy(jobs[i].call)), CURLM_OK);
    }
    while (open > 0) {
        int running, left;
        assert_int_equal(curl_multi_perform(multi, &running), CURLM_OK);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(multi, &left))) {
            job *j;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            CURL *easy = msg->easy_handle;
            CURLcode result = msg->data.result;
            curl_multi_remove_handle(multi, easy);
            if (end_job(j, result))
                open--;
            else /* the same call, a fresh stamp */
                assert_int_equal(curl_multi_add_handle(multi, paychan_call_easy(j->call)),
                                 CURLM_OK);
        }
        if (open > 0)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    curl_multi_cleanup(multi);
}

static paychan_call *sign_begin(async_test *t, const char *const *names, size_t n)
{
    paychan_error err;
    paychan_call *call = paychan_sign_requests_begin(t->consumer, names, n, &err);
    if (!call)
        fail_msg("sign_requests_begin: %d %s", err.code, err.message);
    return call;
}

static paychan_call *validate_begin(paychan_client *c, const paychan_payment_headers *h)
{
    paychan_error err;
    paychan_call *call = paychan_validate_payment_begin(c, h, &err);
    if (!call)
        fail_msg("validate_payment_begin: %d %s", err.code, err.message);
    return call;
}

static void assert_same_error(const paychan_error *a, const paychan_error *b)
{
    assert_int_equal(a->code, b->code);
    assert_int_equal(a->http_status, b->http_status);
    assert_string_equal(a->message, b->message);
}

/* Three sign calls in flight at once get distinct counts; then all are
 * validated at once, and a replay fails as the blocking call does. */
static void test_concurrent_calls(void **state)
{
    async_test *t = *state;
    static const char *const two[] = {"svc", "svc"}, *const one[] = {"svc"};
    paychan_payment_headers h[4];
    job signs[] = {{.call = sign_begin(t, two, 2), .out = &h[0]},
                   {.call = sign_begin(t, one, 1), .out = &h[2]},
                   {.call = sign_begin(t, one, 1), .out = &h[3]}};
    run_jobs(signs, 3);
    unsigned seen = 0;
    for (int i = 0; i < 3; i++)
        if (signs[i].rc != 0)
            fail_msg("sign %d: %d %s", i, signs[i].err.code, signs[i].err.message);
    for (int i = 0; i < 4; i++) {
        unsigned long count = strtoul(h[i].request_count, NULL, 10);
        assert_true(count >= 1 && count <= 4);
        seen |= 1u << count;
        assert_string_equal(h[i].sender, t->it->sender[IT_CONSUMER]);
        assert_string_equal(h[i].mediator, paychan_target_mediator(t->consumer, "svc"));
    }
    assert_int_equal(seen, 0x1e); /* 1, 2, 3 and 4, each once */

    job checks[4];
    for (int i = 0; i < 4; i++)
        checks[i] = (job){.call = validate_begin(t->provider, &h[i])};
    run_jobs(checks, 4);
    for (int i = 0; i < 4; i++)
        if (checks[i].rc != 0)
            fail_msg("validate %d: %d %s", i, checks[i].err.code, checks[i].err.message);

    /* a replay: 37, exactly as paychan_validate_payment says it */
    job replay = {.call = validate_begin(t->provider, &h[1])};
    paychan_error blocking;
    run_jobs(&replay, 1);
    assert_int_equal(replay.rc, -1);
    assert_int_equal(replay.err.code, 37);
    assert_int_equal(paychan_validate_payment(t->provider, &h[1], &blocking), -1);
    assert_same_error(&replay.err, &blocking);

    /* begin refuses what the blocking form refuses, with the same error */
    static const char *const unknown[] = {"nope"};
    paychan_error began;
    paychan_payment_headers out;
    assert_null(paychan_sign_requests_begin(t->consumer, unknown, 1, &began));
    assert_int_equal(paychan_sign_requests(t->consumer, unknown, 1, &out, &blocking), -1);
    assert_int_equal(began.code, PAYCHAN_E_UNKNOWN_TARGET);
    assert_same_error(&began, &blocking);
}

/* The same stamp sent twice is refused as replayed (205): the end re-arms
 * the call with a fresh stamp, and the second run signs. */
static void test_replayed_stamp_rearms(void **state)
{
    async_test *t = *state;
    static const char *const one[] = {"svc"};
    paychan_payment_headers h;
    job j = {.call = sign_begin(t, one, 1), .out = &h};
    CURL *easy = paychan_call_easy(j.call);
    /* a first run the call never hears of: its stamp is used now */
    assert_int_equal(curl_easy_perform(easy), CURLE_OK);
    free(j.call->body.data);
    j.call->body = (pc_client_sink){0};
    run_jobs(&j, 1);
    if (j.rc != 0)
        fail_msg("sign after 205: %d %s", j.err.code, j.err.message);
    assert_int_equal(j.agains, 1);
    assert_string_equal(h.request_count, "6"); /* 1-4 before, 5 taken by the first run */
}

/* Every way to fail reads as with the blocking call: a Payment Server that is
 * down (nothing listens), and abandoning a call frees it. */
static void test_server_down(void **state)
{
    (void)state;
    paychan_config cfg = {.server_url = "http://127.0.0.1:1", .timeout_ms = 2000,
                          .dev_key_hex = DEV_KEY};
    paychan_client *c;
    paychan_error err, blocking;
    paychan_payment_headers h = {"0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                                 "0x5fbdb2315678afecb367f032d93f642f64180aa3", "1", "1", "0x00"};
    assert_int_equal(paychan_client_create(&cfg, &c, &err), 0);
    assert_int_equal(paychan_set_provider_terms(c, &TERMS, &err), 0);
    job j = {.call = validate_begin(c, &h)};
    run_jobs(&j, 1);
    assert_int_equal(j.rc, -1);
    assert_int_equal(j.err.code, PAYCHAN_E_SERVER_DOWN);
    assert_int_equal(paychan_validate_payment(c, &h, &blocking), -1);
    assert_same_error(&j.err, &blocking);
    paychan_error each[1];
    assert_int_equal(paychan_validate_payments(c, &h, 1, each, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_SERVER_DOWN);
    paychan_call_free(validate_begin(c, &h)); /* begun, never run: ASan sees no leak */
    paychan_call_free(paychan_validate_payments_begin(c, &h, 1, &err));
    paychan_client_destroy(c);
}

/* Several payments in one call (POST /validateTokens), blocking and on the
 * multi: each judged as paychan_validate_payment judges it alone (same
 * code, status and message), a copy of a payment in the same call is a
 * replay, and a call that cannot be made fails as a whole. */
static void test_validate_many(void **state)
{
    async_test *t = *state;
    static const char *const four[] = {"svc", "svc", "svc", "svc"};
    paychan_payment_headers h[4], batch[5];
    paychan_error err, each[5], alone;
    assert_int_equal(paychan_sign_requests(t->consumer, four, 4, h, &err), 0);
    batch[0] = h[0];
    batch[1] = h[1];
    batch[2] = h[1];                         /* a copy in the same call */
    batch[3] = h[2];
    batch[3].signature[10] ^= 1;             /* '0'<->'1', 'a'<->'`'...: forged or malformed */
    if (batch[3].signature[10] == '`')
        batch[3].signature[10] = 'b';
    batch[4] = h[3];
    assert_int_equal(paychan_validate_payments(t->provider, batch, 5, each, &err), 0);
    assert_int_equal(each[0].code, 0);
    assert_int_equal(each[1].code, 0);
    assert_int_equal(each[2].code, 37);
    assert_int_not_equal(each[3].code, 0);
    assert_int_equal(each[4].code, 0);
    /* the refusals read exactly as the one-payment call's */
    assert_int_equal(paychan_validate_payment(t->provider, &batch[2], &alone), -1);
    assert_same_error(&each[2], &alone);
    assert_int_equal(paychan_validate_payment(t->provider, &batch[3], &alone), -1);
    assert_same_error(&each[3], &alone);
    assert_int_equal(paychan_error_is_payment_fault(&each[3]), 1);

    /* on the multi, next to a one-payment call: all of them replays now */
    paychan_error again[5];
    job jobs[] = {{.call = paychan_validate_payments_begin(t->provider, batch, 5, &err),
                   .each = again},
                  {.call = validate_begin(t->provider, &h[3])}};
    assert_non_null(jobs[0].call);
    run_jobs(jobs, 2);
    assert_int_equal(jobs[0].rc, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(again[i].code, i == 3 ? each[3].code : 37);
    assert_int_equal(jobs[1].rc, -1);
    assert_int_equal(jobs[1].err.code, 37);

    /* what fails the whole call: none, too many, a client without terms */
    assert_null(paychan_validate_payments_begin(t->provider, batch, 0, &err));
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    paychan_payment_headers many[PAYCHAN_VALIDATE_MANY_MAX + 1];
    for (int i = 0; i <= PAYCHAN_VALIDATE_MANY_MAX; i++)
        many[i] = h[0];
    assert_int_equal(paychan_validate_payments(t->provider, many, PAYCHAN_VALIDATE_MANY_MAX + 1,
                                               each, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    assert_int_equal(paychan_validate_payments(t->consumer, batch, 1, each, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG); /* no provider terms */
}

static int setup(void **state)
{
    static live_pair t;
    paychan_target_config target = {.name = "svc", .funding_wei = FUNDING,
                                    .cost_per_request_wei = "1000", .termination_timeout_s = 100,
                                    .token_redemption_timeout_s = 50};
    paychan_error err;
    if (live_pair_start(&t) != 0)
        return -1;
    target.provider = t.it->sender[IT_PROVIDER];
    if (paychan_add_target(t.consumer, &target, &err) != 0 || paychan_init(t.consumer, &err) != 0 ||
        paychan_set_provider_terms(t.provider, &TERMS, &err) != 0) {
        fprintf(stderr, "set-up: %d %s\n", err.code, err.message);
        live_pair_stop(&t);
        return -1;
    }
    *state = &t;
    return 0;
}

static int teardown(void **state)
{
    live_pair_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_calls),
        cmocka_unit_test(test_replayed_stamp_rearms),
        cmocka_unit_test(test_server_down),
        cmocka_unit_test(test_validate_many),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
