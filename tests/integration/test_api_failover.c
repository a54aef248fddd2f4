/* Integration: Redis high availability (issue 16, points 1 and 2). A real
 * redis-server primary with two replicas and three Redis Sentinels; two
 * paychand instances (the consumer's and the provider's) find the primary
 * through the sentinels and acknowledge a count only once one replica has
 * it too (WAIT 1, the default with replicas):
 *  - WAIT's added latency per acknowledged count, measured against an
 *    instance started with --redis-wait-replicas 0 (printed);
 *  - kill -9 of the primary under load: Sentinel promotes a replica, both
 *    instances follow without a restart, every count acknowledged before
 *    the kill is still known after (a replayed token is refused, the
 *    consumer's counter never goes back), and service resumes within a
 *    bound; the time to resume is measured and printed;
 *  - a lagging replica (SIGSTOP): WAIT times out, the count is refused with
 *    503, code 103, and accepted again once the replica goes on;
 *  - a partition of the primary (SIGSTOP/SIGCONT): Sentinel fails over, the
 *    instances follow, and the old primary, continued, is demoted (no
 *    count it still held is lost or accepted twice).
 * Before: paychand knew one Redis address, and a count acknowledged by the
 * primary alone was lost when it died. */
#include <pthread.h>
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
#include "support/redis_sentinel.h"

#define MASTER "pcmaster"
#define RESUME_BOUND_MS 30000
#define MAX_TOKENS 4096

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 3600, .redemption = 3600};
static pc_test_redis *redis[3]; /* [0] the first primary */
static pc_test_sentinels *sentinels;

typedef struct load {
    pc_address m;
    pc_u256 id;
    uint64_t next;                  /* the next count the test signs */
    uint64_t acked[MAX_TOKENS];     /* counts the provider acknowledged */
    size_t n_acked;
    uint64_t issued_max;            /* highest count the consumer's instance issued */
    double latency_ms_sum;          /* of acknowledged validations */
} load;

static load L;

/* One validation of the next count at the provider's instance and one
 * createSignatureHeaders at the consumer's: 1 when the validation was acknowledged. */
static int pay_once(pc_itest *t)
{
    pc_itest_token tok;
    pc_test_reply r;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &L.m, &L.id, L.next++, &tok);
    int64_t start = pc_test_now_ms();
    pc_itest_validate(t, NULL, &tok, &TERMS, &r);
    int ok = r.status == 200 && json_is_true(json_object_get(r.body, "valid"));
    if (ok && L.n_acked < MAX_TOKENS) {
        L.acked[L.n_acked++] = tok.count;
        L.latency_ms_sum += (double)(pc_test_now_ms() - start);
    } else if (!ok && r.status == 200) {
        it_fail("count %llu refused as not valid: %s", (unsigned long long)tok.count, r.text);
    }
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/createSignatureHeaders", pc_itest_addr(&L.m));
    const char *count = json_string_value(json_object_get(r.body, "x-pay-req-count"));
    if (r.status == 200 && count) {
        uint64_t c = strtoull(count, NULL, 10);
        if (c <= L.issued_max)
            it_fail("count %llu issued again (highest issued %llu)", (unsigned long long)c,
                    (unsigned long long)L.issued_max);
        L.issued_max = c;
    }
    pc_test_reply_free(&r);
    return ok;
}

/* Every acknowledged count, offered again, is refused. */
static void expect_all_known(pc_itest *t)
{
    for (size_t i = 0; i < L.n_acked; i++) {
        pc_itest_token tok;
        pc_test_reply r;
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &L.m, &L.id, L.acked[i], &tok);
        pc_itest_validate(t, NULL, &tok, &TERMS, &r);
        if (r.status == 200 && json_is_true(json_object_get(r.body, "valid")))
            it_fail("acknowledged count %llu accepted again after the failover",
                    (unsigned long long)L.acked[i]);
        pc_test_reply_free(&r);
    }
}

/* Pays until one acknowledged validation; returns the ms it took, failing past the bound. */
static int64_t pay_until_acknowledged(pc_itest *t, int64_t since)
{
    while (!pay_once(t))
        if (pc_test_now_ms() - since > RESUME_BOUND_MS)
            it_fail("no acknowledged count within %d ms", RESUME_BOUND_MS);
        else
            pc_test_sleep_ms(20);
    return pc_test_now_ms() - since;
}

/* The test's Redis at `port`, or NULL. */
static pc_test_redis *redis_at(int port)
{
    for (int i = 0; i < 3; i++)
        if (redis[i] && pc_test_redis_port(redis[i]) == port)
            return redis[i];
    return NULL;
}

static void *kill_primary_later(void *arg)
{
    pc_test_sleep_ms(300);
    *(int64_t *)arg = pc_test_now_ms();
    pc_test_redis_crash(redis[0]);
    return NULL;
}

/* The mean ms of n acknowledged validations of the next counts through c. */
static double mean_validation_ms(pc_itest *t, pc_test_client *c, int n)
{
    int64_t start = pc_test_now_ms();
    for (int i = 0; i < n; i++) {
        pc_itest_token tok;
        pc_test_reply r;
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &L.m, &L.id, L.next++, &tok);
        pc_itest_validate(t, c, &tok, &TERMS, &r);
        it_expect_ok(&r);
        it_check(json_is_true(json_object_get(r.body, "valid")));
        pc_test_reply_free(&r);
    }
    return (double)(pc_test_now_ms() - start) / n;
}

/* WAIT's cost: the same validations through an instance with
 * --redis-wait-replicas 0 and through the provider's (WAIT 1), interleaved. */
static void test_wait_latency(void **state)
{
    pc_itest *t = *state;
    it_open_channel(t, &TERMS, 1000000, &L.m, &L.id);
    L.next = 1;
    const char *more[] = {"--redis-wait-replicas", "0", NULL};
    pc_test_paychand *p = pc_itest_start_provider_server(t, "no-wait", NULL, more);
    assert_non_null(p);
    it_check(pc_test_paychand_log_contains(p, "no replica waited for"));
    pc_test_client *c = pc_itest_client(t, p, IT_PROVIDER);
    double with = 0, without = 0;
    for (int round = 0; round < 5; round++) {
        without += mean_validation_ms(t, c, 40) / 5;
        with += mean_validation_ms(t, NULL, 40) / 5;
    }
    printf("# validateToken, mean of 200: %.2f ms with WAIT 1, %.2f ms without: WAIT adds "
           "%.2f ms per acknowledged count\n", with, without, with - without);
    pc_test_client_destroy(c);
    pc_test_paychand_free(p);
}

static void test_primary_killed_under_load(void **state)
{
    pc_itest *t = *state;
    for (int i = 0; i < 20; i++)
        it_check(pay_once(t));
    int64_t killed_at = 0;
    pthread_t killer;
    assert_int_equal(pthread_create(&killer, NULL, kill_primary_later, &killed_at), 0);
    for (int64_t end = pc_test_now_ms() + 300; pc_test_now_ms() < end;)
        pay_once(t); /* load while the primary dies */
    pthread_join(killer, NULL);
    int64_t resumed = pay_until_acknowledged(t, killed_at);
    printf("# kill -9 of the primary to the first acknowledged count: %lld ms\n",
           (long long)resumed);
    int primary = pc_test_sentinels_primary_port(sentinels);
    it_check(primary > 0 && primary != pc_test_redis_port(redis[0]));
    expect_all_known(t);
    pay_until_acknowledged(t, pc_test_now_ms()); /* and the consumer's instance issues on */
}

/* The replica of the current primary, SIGSTOPped: WAIT times out. */
static void test_lagging_replica(void **state)
{
    pc_itest *t = *state;
    pc_test_redis *primary = redis_at(pc_test_sentinels_primary_port(sentinels));
    it_check(primary != NULL);
    pc_test_redis *replica = redis[1] == primary ? redis[2] : redis[1];
    pay_until_acknowledged(t, pc_test_now_ms());
    assert_int_equal(pc_test_redis_signal(replica, SIGSTOP), 0);
    pc_itest_token tok;
    pc_test_reply r;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &L.m, &L.id, L.next++, &tok);
    pc_itest_validate(t, NULL, &tok, &TERMS, &r);
    it_expect_error(&r, 503, PC_ERR_STORAGE_NOT_DURABLE);
    pc_test_reply_free(&r);
    assert_int_equal(pc_test_redis_signal(replica, SIGCONT), 0);
    pay_until_acknowledged(t, pc_test_now_ms());
    expect_all_known(t);
}

/* The primary stopped (a partition): Sentinel fails over; continued, the
 * old primary is demoted, and nothing acknowledged is lost. */
static void test_primary_partitioned(void **state)
{
    pc_itest *t = *state;
    int old_port = pc_test_sentinels_primary_port(sentinels);
    pc_test_redis *old = redis_at(old_port);
    it_check(old != NULL);
    /* the dead first primary cannot be the replica a failover needs: start it as one */
    assert_int_equal(pc_test_redis_restart(redis[0]), 0);
    /* Sentinel turns it into a replica of the current primary */
    assert_int_equal(pc_test_sentinels_wait_replicas(sentinels, 2, 20000), 0);
    pay_until_acknowledged(t, pc_test_now_ms());
    int64_t stopped_at = pc_test_now_ms();
    assert_int_equal(pc_test_redis_signal(old, SIGSTOP), 0);
    int64_t resumed = pay_until_acknowledged(t, stopped_at);
    printf("# SIGSTOP of the primary to the first acknowledged count: %lld ms\n",
           (long long)resumed);
    /* --redis-command-timeout 3000 bounds it (with the default 10 s it took 10.1-10.3 s) */
    if (resumed > 7000)
        it_fail("%lld ms from the stop to the first acknowledged count, over 7 s",
                (long long)resumed);
    assert_int_equal(pc_test_redis_signal(old, SIGCONT), 0);
    pc_test_sleep_ms(2000);
    it_check(pc_test_sentinels_primary_port(sentinels) != old_port);
    pay_until_acknowledged(t, pc_test_now_ms());
    expect_all_known(t);
}

static int setup(void **state)
{
    if (!(redis[0] = pc_test_redis_start()) ||
        !(redis[1] = pc_test_redis_start_replica(redis[0])) ||
        !(redis[2] = pc_test_redis_start_replica(redis[0])) ||
        !(sentinels = pc_test_sentinels_start(redis[0], 2, MASTER)))
        return -1;
    /* a hung primary holds a request for at most the command timeout (default 10 s) */
    static const char *args[] = {"--redis-sentinels", NULL, "--redis-master-name", MASTER,
                                 "--redis-command-timeout", "3000", NULL};
    args[1] = pc_test_sentinels_list(sentinels);
    pc_itest_options o = {.store = "redis", .redis = redis[0], .args = args};
    *state = pc_itest_start(&o);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    pc_itest_stop(*state);
    pc_test_sentinels_stop(sentinels);
    for (int i = 0; i < 3; i++)
        pc_test_redis_stop(redis[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_latency),
        cmocka_unit_test(test_primary_killed_under_load),
        cmocka_unit_test(test_lagging_replica),
        cmocka_unit_test(test_primary_partitioned),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
