/* Integration: several paychand instances of one team sharing one real
 * Redis (docs/protocol.md §5 step 7, issue: "concurrent validations of the same count on
 * both instances accept it exactly once"): two provider instances receiving
 * the same counts concurrently, two consumer instances taking counts of one
 * Mediator, state seen across instances, and acknowledged counts surviving a
 * crash of Redis itself (append-only file, fsync always). */
#include <pthread.h>
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

typedef struct fixture {
    pc_itest *t;
    pc_test_redis *redis;
    pc_test_paychand *provider2; /* a second provider instance on the same Redis */
    pc_test_paychand *consumer2; /* a second consumer instance on the same Redis */
} fixture;

/* validateToken of tok through c: 1 valid, 0 replay (37), -1 anything else (printed). */
static int offer(pc_itest *t, pc_test_client *c, const pc_itest_token *tok)
{
    pc_test_reply r;
    pc_itest_validate(t, c, tok, &TERMS, &r);
    int verdict = -1;
    if (r.status == 200 && json_is_true(json_object_get(r.body, "valid")))
        verdict = 1;
    else if (r.status == 412 && pc_test_reply_code(&r) == PC_ERR_COUNT_USED)
        verdict = 0;
    else
        fprintf(stderr, "count %llu: unexpected %ld: %s\n", (unsigned long long)tok->count,
                r.status, r.text);
    pc_test_reply_free(&r);
    return verdict;
}

/* ---- validation across instances ------------------------------------------------------------- */

/* A count accepted by one instance is a replay on the other, with the
 * highest count both know; a skipped count can be filled in on either. */
static void test_state_shared(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_address m;
    pc_u256 id;
    pc_itest_token tok[6];
    it_open_channel(t, &TERMS, 1000000, &m, &id);
    pc_test_client *other = pc_itest_client(t, f->provider2, IT_PROVIDER);
    for (int c = 1; c <= 5; c++)
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, (uint64_t)c, &tok[c]);
    assert_int_equal(offer(t, NULL, &tok[1]), 1);
    assert_int_equal(offer(t, other, &tok[1]), 0);
    assert_int_equal(offer(t, other, &tok[4]), 1);
    assert_int_equal(offer(t, NULL, &tok[4]), 0);
    assert_int_equal(offer(t, NULL, &tok[2]), 1);
    assert_int_equal(offer(t, other, &tok[3]), 1);
    assert_int_equal(offer(t, other, &tok[2]), 0);
    pc_test_reply r;
    pc_itest_validate(t, NULL, &tok[3], &TERMS, &r);
    it_expect_error(&r, 412, PC_ERR_COUNT_USED);
    json_t *actual = json_object_get(json_object_get(r.body, "metadata"), "actualCount");
    assert_int_equal(json_integer_value(actual), 4);
    pc_test_reply_free(&r);
    pc_test_client_destroy(other);
}

#define COUNTS 60
#define THREADS_PER_INSTANCE 2

typedef struct racer {
    pc_itest *t;
    const pc_test_paychand *server;
    const pc_itest_token *tokens; /* [1..COUNTS] */
    int step, offset;
    int accepted[COUNTS + 1];
    int errors;
} racer;

static void *race(void *arg)
{
    racer *k = arg;
    pc_test_client *c = pc_itest_client(k->t, k->server, IT_PROVIDER);
    for (int i = 0; i < COUNTS; i++) {
        int count = 1 + (i * k->step + k->offset) % COUNTS; /* a permutation per thread */
        int v = offer(k->t, c, &k->tokens[count]);
        if (v < 0)
            k->errors++;
        else
            k->accepted[count] += v;
    }
    pc_test_client_destroy(c);
    return NULL;
}

/* Threads on both instances offer every count, in different orders, at
 * once: each count is accepted exactly once across both instances. */
static void test_concurrent_validations_accept_once(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_address m;
    pc_u256 id;
    static pc_itest_token tokens[COUNTS + 1];
    it_open_channel(t, &TERMS, 1000000, &m, &id);
    for (int c = 1; c <= COUNTS; c++)
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, (uint64_t)c, &tokens[c]);
    enum { N = 2 * THREADS_PER_INSTANCE };
    static const int steps[N] = {1, 7, 11, 13}; /* coprime to COUNTS: permutations */
    racer racers[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        memset(&racers[i], 0, sizeof racers[i]);
        racers[i].t = t;
        racers[i].server = i % 2 ? f->provider2 : t->provider_server;
        racers[i].tokens = tokens;
        racers[i].step = steps[i];
        racers[i].offset = i / 2; /* the two instances start on the same count */
        assert_int_equal(pthread_create(&th[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    int on_second = 0;
    for (int c = 1; c <= COUNTS; c++) {
        int total = 0;
        for (int i = 0; i < N; i++) {
            total += racers[i].accepted[c];
            on_second += i % 2 ? racers[i].accepted[c] : 0;
        }
        if (total != 1)
            it_fail("count %d accepted %d times across the two instances", c, total);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(racers[i].errors, 0);
    fprintf(stderr, "accepted on the second instance: %d of %d\n", on_second, COUNTS);
}

/* ---- token creation across instances ------------------------------------------------------------ */

typedef struct taker {
    pc_itest *t;
    const pc_test_paychand *server;
    const pc_address *m;
    uint64_t counts[30];
    int errors;
} taker;

static void *take(void *arg)
{
    taker *k = arg;
    pc_test_client *c = pc_itest_client(k->t, k->server, IT_CONSUMER);
    for (int i = 0; i < 30; i++) {
        pc_test_reply r;
        pc_test_get(c, &r, "/contracts/%s/createSignatureHeaders", pc_itest_addr(k->m));
        const char *count = pc_test_reply_string(&r, "x-pay-req-count");
        if (r.status == 200 && count)
            k->counts[i] = strtoull(count, NULL, 10);
        else
            k->errors++;
        pc_test_reply_free(&r);
    }
    pc_test_client_destroy(c);
    return NULL;
}

/* Two consumer instances taking counts of one Mediator at once: 1..60, each once. */
static void test_counter_shared(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_address m;
    pc_u256 id;
    it_open_channel(t, &TERMS, 1000000, &m, &id);
    taker takers[2] = {{.t = t, .server = t->consumer_server, .m = &m},
                       {.t = t, .server = f->consumer2, .m = &m}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, take, &takers[i]), 0);
    int seen[61] = {0};
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(takers[i].errors, 0);
        for (int j = 0; j < 30; j++) {
            assert_true(takers[i].counts[j] >= 1 && takers[i].counts[j] <= 60);
            seen[takers[i].counts[j]]++;
        }
    }
    for (int c = 1; c <= 60; c++)
        assert_int_equal(seen[c], 1);
}

/* ---- Redis crashing ------------------------------------------------------------------------------ */

/* Redis is killed -9 (validations fail with 5xx meanwhile) and restarted
 * from its append-only file: the servers reconnect, acknowledged counts are
 * still known, new ones are accepted. */
static void test_redis_crash(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_address m;
    pc_u256 id;
    pc_itest_token tok[5];
    it_open_channel(t, &TERMS, 1000000, &m, &id);
    for (int c = 1; c <= 4; c++)
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, (uint64_t)c, &tok[c]);
    assert_int_equal(offer(t, NULL, &tok[1]), 1);
    assert_int_equal(offer(t, NULL, &tok[3]), 1);
    pc_test_redis_crash(f->redis);
    pc_test_reply r; /* while Redis is down: an error answer, never "valid" */
    pc_itest_validate(t, NULL, &tok[2], &TERMS, &r);
    if (r.status < 500)
        it_fail("validateToken without Redis answered %ld: %s", r.status, r.text);
    pc_test_reply_free(&r);
    assert_int_equal(pc_test_redis_restart(f->redis), 0);
    pc_test_client *other = pc_itest_client(t, f->provider2, IT_PROVIDER);
    int verdict = -1;
    for (int attempt = 0; attempt < 20 && verdict < 0; attempt++) {
        verdict = offer(t, NULL, &tok[3]); /* the first calls may meet the broken connection */
        if (verdict < 0)
            pc_itest_sleep_ms(250);
    }
    assert_int_equal(verdict, 0);
    for (int attempt = 0, v = -1; attempt < 20 && v < 0; attempt++) {
        v = offer(t, other, &tok[1]);
        if (v >= 0)
            assert_int_equal(v, 0);
        else
            pc_itest_sleep_ms(250);
    }
    assert_int_equal(offer(t, other, &tok[2]), 1);
    assert_int_equal(offer(t, NULL, &tok[4]), 1);
    assert_int_equal(offer(t, other, &tok[4]), 0);
    pc_test_client_destroy(other);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f || !(f->redis = pc_test_redis_start()))
        return -1;
    pc_itest_options o = {.store = "redis", .redis = f->redis};
    f->t = pc_itest_start(&o);
    if (!f->t)
        return -1;
    f->provider2 = pc_itest_start_provider_server(f->t, "provider-team-2", NULL, NULL);
    f->consumer2 = pc_itest_start_consumer_server(f->t, "consumer-team-2", NULL, NULL);
    return f->provider2 && f->consumer2 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        pc_test_paychand_free(f->provider2);
        pc_test_paychand_free(f->consumer2);
        pc_itest_stop(f->t);
        pc_test_redis_stop(f->redis);
        free(f);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_shared),
        cmocka_unit_test(test_concurrent_validations_accept_once),
        cmocka_unit_test(test_counter_shared),
        cmocka_unit_test(test_redis_crash),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
