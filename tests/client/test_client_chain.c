/* libpaychan against real Payment Servers (paychand, memory store) and a real
 * anvil: the consumer deploys and funds a Mediator through init, signs
 * requests (counts 1, 2, 3, ...; also from many threads at once) and gives
 * back one never sent, the provider validates them and refuses a replay
 * (37) and a forged token (4), and the administration calls report what the
 * chain holds. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "client/paychan.h"
#include "live_pair.h"

#define FUNDING "1000000000000000" /* 1 finney */
static const paychan_provider_terms TERMS = {"1000", 100, 50};

typedef struct chain_test {
    live_pair live;
    char mediator[PC_ADDRESS_TEXT_LEN];
    uint64_t last_count;
} chain_test;

/* ---- consumer: init -------------------------------------------------------------------------- */

static void test_init(void **state)
{
    chain_test *t = *state;
    paychan_error err;
    paychan_target_config target = {.name = "svc", .provider = t->live.it->sender[IT_PROVIDER],
                                     .funding_wei = FUNDING, .cost_per_request_wei = "1000",
                                     .termination_timeout_s = 100, .token_redemption_timeout_s = 50,
                                     .reuse_existing_mediator = 1};
    assert_int_equal(paychan_add_target(t->live.consumer, &target, &err), 0);
    if (paychan_init(t->live.consumer, &err) != 0)
        fail_msg("init: %d %s", err.code, err.message);
    const char *m = paychan_target_mediator(t->live.consumer, "svc");
    assert_non_null(m);
    snprintf(t->mediator, sizeof t->mediator, "%s", m);

    pc_address addr;
    pc_mediator_state st;
    assert_int_equal(pc_address_parse(m, &addr), 0);
    pc_itest_state(t->live.it, &addr, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), FUNDING);

    /* again: the live Mediator is reused, and not funded again while its
     * consumer funds still cover the funding amount */
    if (paychan_init(t->live.consumer, &err) != 0)
        fail_msg("init again: %d %s", err.code, err.message);
    assert_string_equal(paychan_target_mediator(t->live.consumer, "svc"), t->mediator);
    pc_itest_state(t->live.it, &addr, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), FUNDING);
}

/* Funding is a target balance with a top-up threshold (issue 10, point 8):
 * after a redemption took the consumer funds below the threshold, init
 * tops them up by the difference to the funding, not by the whole funding
 * again; above the threshold it deposits nothing. A threshold above the
 * funding is refused. */
static void test_init_tops_up_the_difference(void **state)
{
    chain_test *t = *state;
    paychan_error err;
    /* 0.5 finney per request, 1 finney funding, top up below 0.6 finney; a 2 s grace period */
    paychan_target_config target = {.name = "topup", .provider = t->live.it->sender[IT_PROVIDER],
                                     .funding_wei = FUNDING,
                                     .auto_funding_threshold_wei = "600000000000000",
                                     .cost_per_request_wei = "500000000000000",
                                     .termination_timeout_s = 100, .token_redemption_timeout_s = 2,
                                     .reuse_existing_mediator = 1};
    paychan_target_config bad = target;
    bad.name = "bad";
    bad.auto_funding_threshold_wei = "1000000000000001";
    assert_int_equal(paychan_add_target(t->live.consumer, &bad, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    assert_int_equal(paychan_add_target(t->live.consumer, &target, &err), 0);
    if (paychan_init(t->live.consumer, &err) != 0)
        fail_msg("init: %d %s", err.code, err.message);
    pc_address m;
    pc_mediator_state st;
    assert_int_equal(pc_address_parse(paychan_target_mediator(t->live.consumer, "topup"), &m), 0);
    pc_itest_state(t->live.it, &m, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), FUNDING);

    /* one paid request, redeemed by the provider's Payment Server: 0.5 finney left */
    paychan_client *provider = live_client(t->live.it, t->live.it->provider_server, IT_PROVIDER);
    static const paychan_provider_terms terms = {"1000", 100, 2};
    paychan_payment_headers h;
    assert_int_equal(paychan_set_provider_terms(provider, &terms, &err), 0);
    if (paychan_sign_request(t->live.consumer, "topup", &h, &err) != 0 ||
        paychan_validate_payment(provider, &h, &err) != 0 ||
        paychan_redeem(provider, pc_itest_addr(&m), &err) != 0)
        fail_msg("pay and redeem: %d %s", err.code, err.message);
    assert_int_equal(pc_itest_wait_events(t->live.it, &m, PC_MEDIATOR_TOKEN_REDEEMED, 1, 60000, NULL), 1);
    pc_itest_state(t->live.it, &m, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), "500000000000000");

    /* below the threshold: topped up by 0.5 finney to the funding (it was 1.5 finney) */
    if (paychan_init(t->live.consumer, &err) != 0)
        fail_msg("init again: %d %s", err.code, err.message);
    pc_itest_state(t->live.it, &m, &st);
    assert_string_equal(pc_itest_dec(&st.consumer_funds), FUNDING);
    assert_int_equal(pc_itest_count_events(t->live.it, &m, PC_MEDIATOR_DEPOSITED, NULL), 2);
    /* at the funding: nothing more */
    if (paychan_init(t->live.consumer, &err) != 0)
        fail_msg("init a third time: %d %s", err.code, err.message);
    assert_int_equal(pc_itest_count_events(t->live.it, &m, PC_MEDIATOR_DEPOSITED, NULL), 2);
    paychan_client_destroy(provider);
}

/* ---- consumer signs, provider validates -------------------------------------------------------- */

static const char *header_of(void *ctx, const char *name)
{
    const paychan_payment_headers *h = ctx;
    return strcmp(name, PAYCHAN_HEADER_SENDER) == 0      ? h->sender
           : strcmp(name, PAYCHAN_HEADER_MEDIATOR) == 0  ? h->mediator
           : strcmp(name, PAYCHAN_HEADER_TOKEN_ID) == 0  ? h->token_id
           : strcmp(name, PAYCHAN_HEADER_REQ_COUNT) == 0 ? h->request_count
           : strcmp(name, PAYCHAN_HEADER_SIGNATURE) == 0 ? h->signature
                                                         : NULL;
}

static void test_sign_and_validate(void **state)
{
    chain_test *t = *state;
    paychan_error err;
    paychan_payment_headers sent[3];
    for (int i = 0; i < 3; i++) {
        if (paychan_sign_request(t->live.consumer, "svc", &sent[i], &err) != 0)
            fail_msg("sign_request: %d %s", err.code, err.message);
        char want[8];
        snprintf(want, sizeof want, "%d", i + 1);
        assert_string_equal(sent[i].request_count, want);
        assert_string_equal(sent[i].sender, t->live.it->sender[IT_CONSUMER]);
        assert_string_equal(sent[i].mediator, t->mediator);
        assert_string_equal(sent[i].token_id, sent[0].token_id);
    }
    t->last_count = 3;
    assert_int_equal(paychan_set_provider_terms(t->live.provider, &TERMS, &err), 0);
    for (int i = 0; i < 3; i++) {
        paychan_payment_headers got; /* as the provider reads them off the request */
        assert_int_equal(paychan_read_payment_headers(header_of, &sent[i], &got, &err), 0);
        if (paychan_validate_payment(t->live.provider, &got, &err) != 0)
            fail_msg("validate count %d: %d %s", i + 1, err.code, err.message);
    }
    /* a replay is refused with 37, and the 402 body says so */
    assert_int_equal(paychan_validate_payment(t->live.provider, &sent[1], &err), -1);
    assert_int_equal(err.code, 37);
    assert_int_equal(err.http_status, 412);
    char *body = paychan_payment_required_body(t->live.provider, &err);
    assert_non_null(strstr(body, "\"code\":37"));
    assert_non_null(strstr(body, t->live.it->sender[IT_PROVIDER]));
    free(body);

    /* a forged token (a digit of s changed) is refused with 4 */
    paychan_payment_headers forged;
    assert_int_equal(paychan_sign_request(t->live.consumer, "svc", &forged, &err), 0);
    t->last_count++;
    forged.signature[80] = forged.signature[80] == '0' ? '1' : '0';
    assert_int_equal(paychan_validate_payment(t->live.provider, &forged, &err), -1);
    assert_int_equal(err.code, 4);

    /* the consumer is not the provider of its own Mediator */
    assert_int_equal(paychan_set_provider_terms(t->live.consumer, &TERMS, &err), 0);
    assert_int_equal(paychan_validate_payment(t->live.consumer, &sent[2], &err), -1);
    assert_true(err.code > 0 && err.code < PAYCHAN_E_SERVER_DOWN);
}

/* ---- consumer gives back a token never sent ------------------------------------------------------ */

static void sign(chain_test *t, paychan_payment_headers *h, uint64_t want_count)
{
    paychan_error err;
    if (paychan_sign_request(t->live.consumer, "svc", h, &err) != 0)
        fail_msg("sign_request: %d %s", err.code, err.message);
    assert_int_equal(strtoull(h->request_count, NULL, 10), want_count);
}

static int give_back(chain_test *t, const paychan_payment_headers *h)
{
    paychan_error err;
    int returned = -1;
    if (paychan_return_request(t->live.consumer, h, &returned, &err) != 0)
        fail_msg("return_request: %d %s", err.code, err.message);
    return returned;
}

/* A spare token given back is taken again by the next paychan_sign_request
 * (the same token) and paid once; one that is not the last taken is not
 * given back; headers that are not this client's are refused before
 * anything is sent. */
static void test_return_request(void **state)
{
    chain_test *t = *state;
    paychan_error err;
    paychan_payment_headers spare, again, later;
    uint64_t n = t->last_count + 1;
    sign(t, &spare, n);
    assert_int_equal(give_back(t, &spare), 1);
    assert_int_equal(give_back(t, &spare), 0); /* once */
    sign(t, &again, n);
    assert_string_equal(again.signature, spare.signature);
    if (paychan_validate_payment(t->live.provider, &again, &err) != 0)
        fail_msg("validate the count taken again: %d %s", err.code, err.message);
    assert_int_equal(paychan_validate_payment(t->live.provider, &again, &err), -1);
    assert_int_equal(err.code, 37);

    sign(t, &spare, n + 1);
    sign(t, &later, n + 2);
    assert_int_equal(give_back(t, &spare), 0); /* a later count was taken: spent */
    assert_int_equal(give_back(t, &later), 1);
    t->last_count = n + 1;

    int returned = -1;
    paychan_payment_headers other = later;
    other.sender[5] = other.sender[5] == '0' ? '1' : '0'; /* another consumer's */
    assert_int_equal(paychan_return_request(t->live.consumer, &other, &returned, &err), -1);
    assert_true(err.code == PAYCHAN_E_CONFIG && returned == 0);
    assert_int_equal(paychan_return_request(t->live.consumer, &later, NULL, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    assert_int_equal(paychan_return_request(t->live.provider, &later, &returned, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG); /* not the provider's headers either */
    sign(t, &again, n + 2); /* none of them gave anything back */
    t->last_count = n + 2;
}

/* ---- many threads on one client --------------------------------------------------------------- */

enum { N_THREADS = 4, SIGNS_PER_THREAD = 25 };

typedef struct signer_job {
    chain_test *t;
    uint64_t counts[SIGNS_PER_THREAD];
    int failures;
} signer_job;

static void *signer(void *arg)
{
    signer_job *job = arg;
    for (int i = 0; i < SIGNS_PER_THREAD; i++) {
        paychan_payment_headers h;
        paychan_error err;
        if (paychan_sign_request(job->t->live.consumer, "svc", &h, &err) != 0 ||
            paychan_validate_payment(job->t->live.provider, &h, &err) != 0) {
            fprintf(stderr, "thread call failed: %d %s\n", err.code, err.message);
            job->failures++;
            continue;
        }
        job->counts[i] = strtoull(h.request_count, NULL, 10);
    }
    return NULL;
}

static void test_threads(void **state)
{
    chain_test *t = *state;
    signer_job jobs[N_THREADS];
    pthread_t threads[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (signer_job){.t = t};
        assert_int_equal(pthread_create(&threads[i], NULL, signer, &jobs[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(threads[i], NULL);
    /* every count after the earlier ones was handed out exactly once, and accepted */
    uint8_t seen[N_THREADS * SIGNS_PER_THREAD] = {0};
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(jobs[i].failures, 0);
        for (int k = 0; k < SIGNS_PER_THREAD; k++) {
            uint64_t n = jobs[i].counts[k] - t->last_count - 1;
            assert_true(n < N_THREADS * SIGNS_PER_THREAD);
            assert_int_equal(seen[n]++, 0);
        }
    }
    t->last_count += N_THREADS * SIGNS_PER_THREAD;
}

/* ---- administration ------------------------------------------------------------------------------ */

static void test_admin(void **state)
{
    chain_test *t = *state;
    paychan_error err;
    paychan_funds funds;
    assert_int_equal(paychan_funds_of(t->live.consumer, t->mediator, &funds, &err), 0);
    assert_string_equal(funds.consumer_wei, FUNDING);
    assert_string_equal(funds.provider_wei, "0");
    assert_int_equal(paychan_funds_of(t->live.provider, t->mediator, &funds, &err), 0);
    assert_string_equal(funds.consumer_wei, FUNDING);

    char *status = NULL;
    assert_int_equal(paychan_status(t->live.consumer, &status, &err), 0);
    assert_non_null(strstr(status, "\"accounts\""));
    assert_non_null(strstr(status, t->live.it->sender[IT_CONSUMER]));
    free(status);

    paychan_termination term;
    assert_int_equal(paychan_termination_status(t->live.consumer, t->mediator, &term, &err), 0);
    assert_int_equal(term.terminated, 0);
    assert_int_equal(term.running, 0);

    /* the provider starts a redemption of the active token */
    if (paychan_redeem(t->live.provider, t->mediator, &err) != 0)
        fail_msg("redeem: %d %s", err.code, err.message);
    assert_int_equal(paychan_redeem(t->live.consumer, t->mediator, &err), -1);
    assert_int_equal(err.code, 2); /* only the provider */

    /* the consumer starts the termination timeout ... */
    int terminated = -1;
    if (paychan_terminate(t->live.consumer, t->mediator, &terminated, &err) != 0)
        fail_msg("terminate (consumer): %d %s", err.code, err.message);
    assert_int_equal(terminated, 0);
    assert_int_equal(paychan_termination_status(t->live.provider, t->mediator, &term, &err), 0);
    assert_int_equal(term.terminated, 0);
    assert_int_equal(term.running, 1);
    assert_true(term.will_terminate_at > (uint64_t)time(NULL) - 600);

    /* ... and the provider closes at once */
    if (paychan_terminate(t->live.provider, t->mediator, &terminated, &err) != 0)
        fail_msg("terminate (provider): %d %s", err.code, err.message);
    assert_int_equal(terminated, 1);
    assert_int_equal(paychan_termination_status(t->live.consumer, t->mediator, &term, &err), 0);
    assert_int_equal(term.terminated, 1);
    paychan_payment_headers h;
    assert_int_equal(paychan_sign_request(t->live.consumer, "svc", &h, &err), -1);
    assert_int_equal(err.code, 1); /* terminated */
}

/* A service the Payment Server does not serve is refused with its code. */
static void test_unknown_account(void **state)
{
    chain_test *t = *state;
    paychan_client *stranger = live_client(t->live.it, t->live.it->consumer_server, IT_STRANGER);
    paychan_error err;
    paychan_funds funds;
    assert_int_equal(paychan_funds_of(stranger, t->mediator, &funds, &err), -1);
    assert_int_equal(err.code, 203);
    assert_true(err.http_status >= 400 && err.http_status < 500);
    paychan_client_destroy(stranger);
}

static int setup(void **state)
{
    chain_test *t = calloc(1, sizeof *t);
    if (!t || live_pair_start(&t->live) != 0) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    chain_test *t = *state;
    live_pair_stop(&t->live);
    free(t);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_init_tops_up_the_difference),
        cmocka_unit_test(test_sign_and_validate),
        cmocka_unit_test(test_return_request),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_admin),
        cmocka_unit_test(test_unknown_account),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
