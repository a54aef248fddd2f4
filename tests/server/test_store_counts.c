/* test_store_counts: the Payment Server store's counters (store.h), one
 * suite run against all three backends (support/store_env.h): counts
 * issued and given back (consumer), counts validated and the best token
 * (provider), forgetting a Mediator's counters, the asynchronous forms the
 * event loops use and the list forms (also blocking: one WAIT per list
 * on Redis). The rest of the store is in
 * test_store.c; crash and multi-instance cases in test_store_crash.c. */
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
#include <hiredis/hiredis.h>

#include "server/store/store.h"
#include "support/redis.h"
#include "support/store_check.h"
#include "support/store_env.h"

typedef pc_test_store_env env;

/* ---- consumer counters -------------------------------------------------------------- */

static void test_next_count_per_key(void **state)
{
    env *e = *state;
    pc_address m1, m2;
    pc_test_store_address(1, &m1);
    pc_test_store_address(2, &m2);
    pc_u256 a = pc_test_store_token_id(1), b = pc_test_store_token_id(2);
    for (uint64_t i = 1; i <= 3; i++)
        assert_int_equal(pc_test_next_count(e->store, &m1, &a), i);
    assert_int_equal(pc_test_next_count(e->store, &m1, &b), 1); /* a new token id starts at 1 */
    assert_int_equal(pc_test_next_count(e->store, &m2, &a), 1); /* another Mediator too */
    assert_int_equal(pc_test_next_count(e->store, &m1, &a), 4);
    assert_int_equal(pc_test_next_count(e->store, &m1, &b), 2);
}

static void test_next_count_concurrent(void **state)
{
    env *e = *state;
    enum { THREADS = 8, PER = 500, N = THREADS * PER };
    static unsigned taken[N + 1];
    memset(taken, 0, sizeof taken);
    pc_address m;
    pc_test_store_address(3, &m);
    pc_u256 id = pc_test_store_token_id(3);
    assert_int_equal(pc_test_next_count_storm(&e->store, 1, THREADS, &m, &id, PER, taken), 0);
    for (int c = 1; c <= N; c++)
        if (taken[c] != 1)
            fail_msg("count %d taken %u times", c, taken[c]);
    assert_int_equal(pc_test_next_count(e->store, &m, &id), N + 1);
}

/* pc_store_return_count of count: *returned, failing the test on an error. */
static int give_back(pc_store *s, const pc_address *m, const pc_u256 *id, uint64_t count)
{
    int returned = -1;
    pc_error err = {0};
    if (pc_store_return_count(s, m, id, count, &returned, &err) != 0)
        fail_msg("return_count(%llu): %s", (unsigned long long)count, err.message);
    return returned;
}

/* Only the last count issued is given back, once; the next count is then
 * the same again; an unknown id, a count never issued or a bad count give
 * nothing back; a return survives a reopen (SQLite, Redis). */
static void test_return_count(void **state)
{
    env *e = *state;
    pc_address m, m2;
    pc_test_store_address(11, &m);
    pc_test_store_address(12, &m2);
    pc_u256 id = pc_test_store_token_id(11), other = pc_test_store_token_id(12);
    assert_int_equal(give_back(e->store, &m, &id, 1), 0); /* nothing issued yet */
    for (uint64_t i = 1; i <= 3; i++)
        assert_int_equal(pc_test_next_count(e->store, &m, &id), i);
    assert_int_equal(give_back(e->store, &m, &id, 2), 0); /* 3 was taken after it */
    assert_int_equal(give_back(e->store, &m, &id, 4), 0); /* never issued */
    assert_int_equal(give_back(e->store, &m, &other, 3), 0); /* another token id */
    assert_int_equal(give_back(e->store, &m, &id, 3), 1);
    assert_int_equal(give_back(e->store, &m, &id, 3), 0); /* not twice */
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 3); /* the same count again */
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 4);
    assert_int_equal(give_back(e->store, &m, &id, 4), 1);
    assert_int_equal(give_back(e->store, &m, &id, 3), 1); /* now the last one */

    int returned = -1;
    pc_error err = {0};
    const uint64_t bad[] = {0, PC_STORE_COUNT_MAX + 1};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(pc_store_return_count(e->store, &m, &id, bad[i], &returned, &err), -1);
        assert_true(err.code == PC_ERR_INVALID_ARGUMENT && returned == 0);
    }
    assert_int_equal(pc_test_next_count(e->store, &m2, &other), 1); /* a first count given back */
    assert_int_equal(give_back(e->store, &m2, &other, 1), 1);
    assert_int_equal(pc_test_next_count(e->store, &m2, &other), 1);

    uint64_t count = 0;
    int found = 0;
    assert_int_equal(pc_store_issued_count(e->store, &m, &id, &count, &found, &err), 0);
    assert_true(found && count == 2);
    if (e->backend == PC_STORE_MEMORY)
        return; /* memory does not outlive its store */
    pc_store_close(e->store);
    e->store = pc_test_store_env_open(e);
    assert_non_null(e->store);
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 3);
}

/* Counts taken and given back from many threads at once (every other
 * count taken is given back at once): a count is handed out again only
 * after it was given back, so at the end each count up to the last one
 * issued was taken once more than it was given back, and each above it
 * as often as it was given back. */
enum { RETURN_THREADS = 4, RETURN_PER_THREAD = 100, RETURN_N = RETURN_THREADS * RETURN_PER_THREAD };

typedef struct return_storm {
    pc_store *store;
    pc_address m;
    pc_u256 id;
    unsigned taken[RETURN_N + 1], given[RETURN_N + 1];
    int failures;
} return_storm;

static void *return_storm_main(void *arg)
{
    return_storm *st = arg;
    for (int i = 0; i < RETURN_PER_THREAD; i++) {
        uint64_t c = 0;
        int returned = 0;
        pc_error err = {0};
        if (pc_store_next_count(st->store, &st->m, &st->id, &c, &err) != 0 || c > RETURN_N ||
            (i % 2 && pc_store_return_count(st->store, &st->m, &st->id, c, &returned, &err))) {
            st->failures++;
            continue;
        }
        __atomic_add_fetch(&st->taken[c], 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&st->given[c], (unsigned)returned, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_return_count_concurrent(void **state)
{
    env *e = *state;
    static return_storm st;
    memset(&st, 0, sizeof st);
    st.store = e->store;
    pc_test_store_address(13, &st.m);
    st.id = pc_test_store_token_id(13);
    pthread_t t[RETURN_THREADS];
    for (int i = 0; i < RETURN_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, return_storm_main, &st), 0);
    for (int i = 0; i < RETURN_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(st.failures, 0);
    uint64_t last = pc_test_next_count(e->store, &st.m, &st.id) - 1;
    unsigned given = 0;
    for (uint64_t c = 1; c <= RETURN_N; c++) {
        if (st.taken[c] != st.given[c] + (c <= last))
            fail_msg("count %llu taken %u times, given back %u times (last issued %llu)",
                     (unsigned long long)c, st.taken[c], st.given[c], (unsigned long long)last);
        given += st.given[c];
    }
    assert_int_equal(last, RETURN_N - given);
    printf("%u of %d counts given back, last issued %llu\n", given, RETURN_N / 2,
           (unsigned long long)last);
}

/* ---- provider counters -------------------------------------------------------------- */

/* ---- provider counters -------------------------------------------------------------- */

static void test_offer_verdicts_and_best_token(void **state)
{
    env *e = *state;
    pc_address m;
    pc_test_store_address(4, &m);
    pc_u256 id = pc_test_store_token_id(4), other = pc_test_store_token_id(5);
    uint64_t h;
    pc_test_expect_best(e->store, &m, &id, 0);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 0, &h), PC_COUNT_REPLAYED);
    assert_int_equal(h, 0);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 1, &h), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 4, &h), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(h, 4);
    pc_test_expect_best(e->store, &m, &id, 4);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 3, &h), PC_COUNT_ACCEPTED_SKIPPED);
    assert_int_equal(h, 4);
    pc_test_expect_best(e->store, &m, &id, 4); /* a skipped count keeps the newest signature */
    assert_int_equal(pc_test_offer(e->store, &m, &id, 3, &h), PC_COUNT_REPLAYED);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 4, &h), PC_COUNT_REPLAYED);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 1, &h), PC_COUNT_REPLAYED);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 2, &h), PC_COUNT_ACCEPTED_SKIPPED);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 4 + PC_COUNTER_WINDOW + 1, &h),
                     PC_COUNT_ACCEPTED_NEWEST);
    /* below the window, then its edge */
    assert_int_equal(pc_test_offer(e->store, &m, &id, 4, &h), PC_COUNT_REPLAYED);
    assert_int_equal(pc_test_offer(e->store, &m, &id, 5, &h), PC_COUNT_ACCEPTED_SKIPPED);
    pc_test_expect_best(e->store, &m, &id, 4 + PC_COUNTER_WINDOW + 1);
    /* another token id of the same Mediator is independent */
    pc_test_expect_best(e->store, &m, &other, 0);
    assert_int_equal(pc_test_offer(e->store, &m, &other, 2, &h), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(h, 2);
    assert_int_equal(pc_test_offer(e->store, &m, &other, 1, &h), PC_COUNT_ACCEPTED_SKIPPED);
    pc_test_expect_best(e->store, &m, &other, 2);
}

static void test_offer_count_too_large(void **state)
{
    env *e = *state;
    pc_address m;
    pc_test_store_address(6, &m);
    pc_u256 id = pc_test_store_token_id(6);
    pc_signature sig;
    pc_test_count_sig(1, &sig);
    pc_count_verdict v;
    uint64_t h;
    pc_error err = {0};
    assert_int_equal(pc_store_offer_count(e->store, &m, &id, PC_STORE_COUNT_MAX + 1, &sig, &v, &h,
                                          &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    assert_int_equal(pc_test_offer(e->store, &m, &id, PC_STORE_COUNT_MAX, &h),
                     PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(h, PC_STORE_COUNT_MAX);
    assert_int_equal(pc_test_offer(e->store, &m, &id, PC_STORE_COUNT_MAX - 1, &h),
                     PC_COUNT_ACCEPTED_SKIPPED);
    assert_int_equal(pc_test_offer(e->store, &m, &id, PC_STORE_COUNT_MAX, &h), PC_COUNT_REPLAYED);
    pc_test_expect_best(e->store, &m, &id, PC_STORE_COUNT_MAX);
}

/* The store's verdicts equal counter_window.c's on random sequences (for
 * Redis this compares the Lua script with the C rule). */
static void test_offer_matches_counter_window(void **state)
{
    env *e = *state;
    for (unsigned seed = 1; seed <= 4; seed++) {
        pc_address m;
        pc_test_store_address(100 + seed, &m);
        pc_u256 id = pc_test_store_token_id(seed);
        pc_counter_window w = {0};
        unsigned s = seed;
        uint64_t probe = 0; /* after a big jump, look just below the new highest */
        for (int i = 0; i < 1000; i++) {
            int r = rand_r(&s) % 100;
            uint64_t c, before = w.highest;
            if (probe)
                c = probe;
            else if (r < 25)
                c = w.highest + 1 + (uint64_t)(rand_r(&s) % 9);
            else if (r < 30)
                c = w.highest + (uint64_t)(rand_r(&s) % (2 * PC_COUNTER_WINDOW + 2));
            else if (r < 32)
                c = w.highest + PC_COUNTER_WINDOW - 1 + (uint64_t)(rand_r(&s) % 3);
            else if (r < 34) /* around twice the window (the size of Redis's ring) */
                c = w.highest + 2 * PC_COUNTER_WINDOW - 1 + (uint64_t)(rand_r(&s) % 4);
            else
                c = w.highest - (uint64_t)(rand_r(&s) % (PC_COUNTER_WINDOW + 3)) % (w.highest + 1);
            probe = 0;
            if (c > before + 8) {
                uint64_t edge = c > PC_COUNTER_WINDOW ? c - PC_COUNTER_WINDOW : 1;
                uint64_t below[] = {c - 1, edge, before, before + 1};
                probe = below[rand_r(&s) % 4];
            }
            int want = pc_counter_window_offer(&w, c);
            uint64_t h;
            pc_count_verdict got = pc_test_offer(e->store, &m, &id, c, &h);
            pc_count_verdict expect = want == PC_WINDOW_NEWEST    ? PC_COUNT_ACCEPTED_NEWEST
                                      : want == PC_WINDOW_SKIPPED ? PC_COUNT_ACCEPTED_SKIPPED
                                                                  : PC_COUNT_REPLAYED;
            if (got != expect || h != w.highest)
                fail_msg("seed %u step %d count %llu: verdict %d highest %llu, C rule %d %llu",
                         seed, i, (unsigned long long)c, got, (unsigned long long)h, expect,
                         (unsigned long long)w.highest);
        }
        pc_test_expect_best(e->store, &m, &id, w.highest);
    }
}

static void test_offer_concurrent_same_counts(void **state)
{
    env *e = *state;
    enum { THREADS = 8, N = 400 };
    unsigned accepted[N + 1] = {0};
    pc_address m;
    pc_test_store_address(7, &m);
    pc_u256 id = pc_test_store_token_id(7);
    assert_int_equal(pc_test_offer_storm(&e->store, 1, THREADS, &m, &id, N, accepted), 0);
    for (int c = 1; c <= N; c++)
        if (accepted[c] != 1)
            fail_msg("count %d accepted %u times", c, accepted[c]);
    pc_test_expect_best(e->store, &m, &id, N);
}

static void test_forget_counters(void **state)
{
    env *e = *state;
    pc_address m, keep;
    pc_test_store_address(8, &m);
    pc_test_store_address(9, &keep);
    pc_u256 a = pc_test_store_token_id(1), b = pc_test_store_token_id(2);
    pc_test_next_count(e->store, &m, &a);
    pc_test_next_count(e->store, &m, &b);
    pc_test_next_count(e->store, &keep, &a);
    pc_test_offer(e->store, &m, &a, 5, NULL);
    pc_test_offer(e->store, &m, &b, 6, NULL);
    pc_test_offer(e->store, &keep, &a, 7, NULL);
    /* the consumer's counters (counts issued) only: the validated ones stay */
    assert_int_equal(pc_store_forget_counters(e->store, &m, PC_ROLE_CONSUMER, NULL), 0);
    assert_int_equal(pc_test_next_count(e->store, &m, &a), 1);
    pc_test_expect_best(e->store, &m, &a, 5);
    pc_test_expect_best(e->store, &m, &b, 6);
    assert_int_equal(pc_store_forget_counters(e->store, &m, PC_ROLE_PROVIDER, NULL), 0);
    pc_test_expect_best(e->store, &m, &a, 0);
    pc_test_expect_best(e->store, &m, &b, 0);
    assert_int_equal(pc_test_next_count(e->store, &m, &a), 2);
    assert_int_equal(pc_test_offer(e->store, &m, &a, 5, NULL), PC_COUNT_ACCEPTED_NEWEST);
    pc_test_expect_best(e->store, &keep, &a, 7); /* other Mediators untouched */
    assert_int_equal(pc_test_next_count(e->store, &keep, &a), 2);
}

/* ---- the asynchronous forms (what paychand's event loops use) ------------------------------ */

#define ASYNC_MAX 64

/* Results of asynchronous calls, in the order the callbacks came. */
typedef struct async_log {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t n;
    pc_store_result r[ASYNC_MAX];
} async_log;

static void async_done(void *arg, const pc_store_result *r)
{
    async_log *l = arg;
    pthread_mutex_lock(&l->lock);
    if (l->n < ASYNC_MAX)
        l->r[l->n] = *r;
    l->n++;
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->lock);
}

/* Waits until n callbacks came (10 s at most). */
static void async_wait(async_log *l, size_t n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&l->lock);
    while (l->n < n && pthread_cond_timedwait(&l->changed, &l->lock, &until) == 0)
        ;
    size_t got = l->n;
    pthread_mutex_unlock(&l->lock);
    if (got != n)
        fail_msg("%zu callbacks, expected %zu", got, n);
}

static const pc_store_result *async_offer(pc_store *s, async_log *l, const pc_address *m,
                                          const pc_u256 *id, uint64_t count)
{
    pc_signature sig;
    pc_test_count_sig(count, &sig);
    size_t before = l->n;
    pc_store_offer_count_async(s, m, id, count, &sig, async_done, l);
    async_wait(l, before + 1);
    return &l->r[before];
}

/* Each callback comes once, with the blocking form's outcome; many calls
 * in flight at once get distinct counts; what was acknowledged survives a
 * reopen (SQLite, Redis). */
static void test_async_forms(void **state)
{
    env *e = *state;
    async_log l = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    pc_address m;
    pc_test_store_address(9, &m);
    pc_u256 id = pc_test_store_token_id(9);
    for (uint64_t i = 1; i <= 3; i++) {
        pc_store_next_count_async(e->store, &m, &id, async_done, &l);
        async_wait(&l, i);
        assert_int_equal(l.r[i - 1].rc, 0);
        assert_int_equal(l.r[i - 1].count, i);
    }
    enum { BURST = 40 };
    int seen[BURST + 4] = {0};
    for (int i = 0; i < BURST; i++) /* all queued before any is waited for */
        pc_store_next_count_async(e->store, &m, &id, async_done, &l);
    async_wait(&l, 3 + BURST);
    for (size_t i = 3; i < 3 + BURST; i++) {
        assert_int_equal(l.r[i].rc, 0);
        assert_true(l.r[i].count >= 4 && l.r[i].count < 4 + BURST);
        assert_int_equal(seen[l.r[i].count]++, 0);
    }

    pc_u256 other = pc_test_store_token_id(10);
    const pc_store_result *r = async_offer(e->store, &l, &m, &other, 5);
    assert_true(r->rc == 0 && r->verdict == PC_COUNT_ACCEPTED_NEWEST && r->highest == 5);
    r = async_offer(e->store, &l, &m, &other, 3);
    assert_true(r->rc == 0 && r->verdict == PC_COUNT_ACCEPTED_SKIPPED && r->highest == 5);
    r = async_offer(e->store, &l, &m, &other, 5);
    assert_true(r->rc == 0 && r->verdict == PC_COUNT_REPLAYED && r->highest == 5);
    r = async_offer(e->store, &l, &m, &other, PC_STORE_COUNT_MAX + 1);
    assert_int_equal(r->rc, -1);
    assert_int_equal(r->err.code, PC_ERR_INVALID_ARGUMENT);
    pc_test_expect_best(e->store, &m, &other, 5);

    if (e->backend == PC_STORE_MEMORY)
        return; /* memory does not outlive its store */
    pc_store_close(e->store);
    e->store = pc_test_store_env_open(e);
    assert_non_null(e->store);
    pc_test_expect_best(e->store, &m, &other, 5);
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 4 + BURST);
}

/* The list forms, asynchronous and blocking: the offers of one call apply
 * in order, each with its own verdict (pc_test_offer_list: a replay, a
 * count twice, one refused alone). */
static void test_offer_list(void **state)
{
    env *e = *state;
    assert_int_equal(pc_test_offer_list(e->store, 40, 0), 0);
    assert_int_equal(pc_test_offer_list(e->store, 50, 1), 0);
}

/* Three offers of one (Mediator, token id) for the blocking list form. */
typedef struct three_offers {
    pc_address m[3];
    pc_u256 id[3];
    uint64_t counts[3];
    pc_signature sigs[3];
    pc_store_result r[3];
} three_offers;

/* The counts a, b, c of pc_test_store_address(key) and token id key. */
static void three_offers_of(unsigned key, uint64_t a, uint64_t b, uint64_t c, three_offers *o)
{
    const uint64_t counts[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        pc_test_store_address(key, &o->m[i]);
        o->id[i] = pc_test_store_token_id(key);
        o->counts[i] = counts[i];
        pc_test_count_sig(counts[i], &o->sigs[i]);
    }
}

static int offer_three(pc_store *s, three_offers *o)
{
    return pc_store_offer_counts(s, 3, o->m, o->id, o->counts, o->sigs, o->r);
}

/* Redis forgot the scripts (SCRIPT FLUSH, as after a restart): every
 * offer of the list's pipeline hears NOSCRIPT and runs again alone, in
 * order, once the script is loaded again. */
static void test_offer_list_script_flushed(void **state)
{
    env *e = *state;
    if (e->backend != PC_STORE_REDIS) {
        skip(); /* scripts are Redis's */
    }
    struct timeval tv = {.tv_sec = 2};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", pc_test_redis_port(e->redis), tv);
    assert_true(c && !c->err);
    redisReply *flushed = redisCommand(c, "SCRIPT FLUSH");
    assert_true(flushed && flushed->type == REDIS_REPLY_STATUS);
    freeReplyObject(flushed);
    redisFree(c);
    three_offers o;
    three_offers_of(61, 2, 2, 1, &o);
    assert_int_equal(offer_three(e->store, &o), 0);
    assert_true(o.r[0].verdict == PC_COUNT_ACCEPTED_NEWEST && o.r[1].verdict == PC_COUNT_REPLAYED &&
                o.r[2].verdict == PC_COUNT_ACCEPTED_SKIPPED && o.r[2].highest == 2);
    pc_test_expect_best(e->store, &o.m[0], &o.id[0], 2);
}

/* Redis requiring a replica that is not there (WAIT 1 answers 0): the
 * blocking list WAITs once, and each offer ends as its single call would:
 * an accepted one refused with 103 (its count stays seen: offered again it
 * is a replay), a replayed one with its verdict. */
static void test_offer_list_unreplicated(void **state)
{
    env *e = *state;
    if (e->backend != PC_STORE_REDIS) {
        skip(); /* WAIT is Redis's */
    }
    pc_store_options opts = {.backend = PC_STORE_REDIS,
                             .redis_host = pc_test_redis_host(e->redis),
                             .redis_port = pc_test_redis_port(e->redis),
                             .redis_prefix = e->prefix, .redis_wait_replicas = 1,
                             .redis_wait_timeout_ms = 100};
    pc_error err = {0};
    pc_store *s = pc_store_open(&opts, &err);
    assert_non_null(s);
    three_offers o;
    three_offers_of(60, 2, 3, 4, &o);
    pc_store_result *r = o.r;
    pc_test_offer(e->store, &o.m[0], &o.id[0], 2, NULL); /* acknowledged without WAIT */
    long long waits = pc_test_redis_calls(e->redis, "wait");
    assert_int_equal(offer_three(s, &o), -1);
    assert_int_equal(pc_test_redis_calls(e->redis, "wait") - waits, 1);
    assert_true(r[0].rc == 0 && r[0].verdict == PC_COUNT_REPLAYED && r[0].highest == 2);
    for (int i = 1; i < 3; i++)
        assert_true(r[i].rc == -1 && r[i].err.code == PC_ERR_STORAGE_NOT_DURABLE &&
                    strstr(r[i].err.message, "not acknowledged"));
    pc_count_verdict v;
    assert_int_equal(pc_store_offer_count(s, &o.m[0], &o.id[0], 5, &o.sigs[0], &v, NULL, &err),
                     -1);
    assert_int_equal(err.code, PC_ERR_STORAGE_NOT_DURABLE); /* as the single call */
    for (uint64_t c = 3; c <= 5; c++)
        assert_int_equal(pc_test_offer(e->store, &o.m[0], &o.id[0], c, NULL), PC_COUNT_REPLAYED);
    pc_store_close(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, pc_test_store_setup, pc_test_store_teardown)

int main(void)
{
    struct CMUnitTest tests[] = {
        T(test_next_count_per_key),
        T(test_next_count_concurrent),
        T(test_return_count),
        T(test_return_count_concurrent),
        T(test_offer_verdicts_and_best_token),
        T(test_offer_count_too_large),
        T(test_offer_matches_counter_window),
        T(test_offer_concurrent_same_counts),
        T(test_forget_counters),
        T(test_async_forms),
        T(test_offer_list),
        T(test_offer_list_script_flushed),
        T(test_offer_list_unreplicated),
    };
    size_t n = sizeof tests / sizeof tests[0];
    return pc_test_store_run_backends("store_counts", tests, n) ? 1 : 0;
}
