/* test_store: the Payment Server store (store.h), one suite run against all
 * three backends (counts issued, given back and validated, records, nonces,
 * chain identity, gas): SQLite (a fresh file per test in a temporary directory),
 * Redis (a real redis-server started for this program, a fresh key prefix
 * per test) and memory. If redis-server cannot be started, the Redis group
 * fails. Crash and multi-instance cases are in test_store_crash.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/store/store.h"
#include "support/redis.h"
#include "support/store_check.h"
#include "server/store/store_internal.h" /* pc_record_compare */

typedef struct env {
    pc_store_backend backend;
    pc_test_redis *redis;
    char dir[64];
    int serial;
    char path[160];
    char prefix[32];
    pc_store *store;
} env;

static env sqlite_env = {.backend = PC_STORE_SQLITE};
static env redis_env = {.backend = PC_STORE_REDIS};
static env memory_env = {.backend = PC_STORE_MEMORY};

static pc_store *open_env(env *e)
{
    pc_store_options o = {.backend = e->backend, .sqlite_path = e->path,
                          .redis_host = e->redis ? pc_test_redis_host(e->redis) : NULL,
                          .redis_port = e->redis ? pc_test_redis_port(e->redis) : 0,
                          .redis_prefix = e->prefix};
    pc_error err = {0};
    pc_store *s = pc_store_open(&o, &err);
    if (!s)
        fprintf(stderr, "pc_store_open: %s\n", err.message);
    return s;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static env *current; /* cmocka hands group fixtures no state of ours */

static int group_setup(void **state)
{
    (void)state;
    env *e = current;
    if (e->backend == PC_STORE_SQLITE) {
        snprintf(e->dir, sizeof e->dir, "/tmp/paychan-store-XXXXXX");
        return mkdtemp(e->dir) ? 0 : -1;
    }
    if (e->backend == PC_STORE_REDIS) {
        e->redis = pc_test_redis_start();
        return e->redis ? 0 : -1; /* no redis-server: the whole group fails */
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    env *e = current;
    for (int i = 1; e->backend == PC_STORE_SQLITE && i <= e->serial; i++) {
        snprintf(e->path, sizeof e->path, "%s/t%d.db", e->dir, i);
        pc_test_remove_sqlite(e->path);
    }
    if (e->backend == PC_STORE_SQLITE)
        rmdir(e->dir);
    pc_test_redis_stop(e->redis);
    e->redis = NULL;
    return 0;
}

/* Each test starts from an empty store: a new file, a new prefix. */
static int test_setup(void **state)
{
    env *e = *state;
    e->serial++;
    snprintf(e->path, sizeof e->path, "%s/t%d.db", e->dir, e->serial);
    snprintf(e->prefix, sizeof e->prefix, "test%d:", e->serial);
    e->store = open_env(e);
    return e->store ? 0 : -1;
}

static int test_teardown(void **state)
{
    env *e = *state;
    pc_store_close(e->store);
    e->store = NULL;
    return 0;
}

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
    e->store = open_env(e);
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

static pc_count_verdict offer(pc_store *s, const pc_address *m, const pc_u256 *id, uint64_t count,
                              uint64_t *highest)
{
    pc_signature sig;
    pc_test_count_sig(count, &sig);
    pc_count_verdict v;
    uint64_t h;
    pc_error err = {0};
    if (pc_store_offer_count(s, m, id, count, &sig, &v, &h, &err) != 0)
        fail_msg("offer_count(%llu): %s", (unsigned long long)count, err.message);
    if (highest)
        *highest = h;
    return v;
}

static void assert_best(pc_store *s, const pc_address *m, const pc_u256 *id, uint64_t want)
{
    uint64_t count = 99;
    pc_signature sig;
    int found = -1;
    pc_error err = {0};
    if (pc_store_best_token(s, m, id, &count, &sig, &found, &err) != 0)
        fail_msg("best_token: %s", err.message);
    assert_int_equal(found, want > 0);
    if (want) {
        assert_int_equal(count, want);
        assert_true(pc_test_sig_is_for(&sig, want));
    }
}

static void test_offer_verdicts_and_best_token(void **state)
{
    env *e = *state;
    pc_address m;
    pc_test_store_address(4, &m);
    pc_u256 id = pc_test_store_token_id(4), other = pc_test_store_token_id(5);
    uint64_t h;
    assert_best(e->store, &m, &id, 0);
    assert_int_equal(offer(e->store, &m, &id, 0, &h), PC_COUNT_REPLAYED);
    assert_int_equal(h, 0);
    assert_int_equal(offer(e->store, &m, &id, 1, &h), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(offer(e->store, &m, &id, 4, &h), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(h, 4);
    assert_best(e->store, &m, &id, 4);
    assert_int_equal(offer(e->store, &m, &id, 3, &h), PC_COUNT_ACCEPTED_SKIPPED);
    assert_int_equal(h, 4);
    assert_best(e->store, &m, &id, 4); /* a skipped count keeps the newest signature */
    assert_int_equal(offer(e->store, &m, &id, 3, &h), PC_COUNT_REPLAYED);
    assert_int_equal(offer(e->store, &m, &id, 4, &h), PC_COUNT_REPLAYED);
    assert_int_equal(offer(e->store, &m, &id, 1, &h), PC_COUNT_REPLAYED);
    assert_int_equal(offer(e->store, &m, &id, 2, &h), PC_COUNT_ACCEPTED_SKIPPED);
    assert_int_equal(offer(e->store, &m, &id, 4 + PC_COUNTER_WINDOW + 1, &h),
                     PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(offer(e->store, &m, &id, 4, &h), PC_COUNT_REPLAYED); /* below the window */
    assert_int_equal(offer(e->store, &m, &id, 5, &h), PC_COUNT_ACCEPTED_SKIPPED); /* the edge */
    assert_best(e->store, &m, &id, 4 + PC_COUNTER_WINDOW + 1);
    /* another token id of the same Mediator is independent */
    assert_best(e->store, &m, &other, 0);
    assert_int_equal(offer(e->store, &m, &other, 2, &h), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(h, 2);
    assert_int_equal(offer(e->store, &m, &other, 1, &h), PC_COUNT_ACCEPTED_SKIPPED);
    assert_best(e->store, &m, &other, 2);
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
    assert_int_equal(offer(e->store, &m, &id, PC_STORE_COUNT_MAX, &h), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(h, PC_STORE_COUNT_MAX);
    assert_int_equal(offer(e->store, &m, &id, PC_STORE_COUNT_MAX - 1, &h),
                     PC_COUNT_ACCEPTED_SKIPPED);
    assert_int_equal(offer(e->store, &m, &id, PC_STORE_COUNT_MAX, &h), PC_COUNT_REPLAYED);
    assert_best(e->store, &m, &id, PC_STORE_COUNT_MAX);
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
            pc_count_verdict got = offer(e->store, &m, &id, c, &h);
            pc_count_verdict expect = want == PC_WINDOW_NEWEST    ? PC_COUNT_ACCEPTED_NEWEST
                                      : want == PC_WINDOW_SKIPPED ? PC_COUNT_ACCEPTED_SKIPPED
                                                                  : PC_COUNT_REPLAYED;
            if (got != expect || h != w.highest)
                fail_msg("seed %u step %d count %llu: verdict %d highest %llu, C rule %d %llu",
                         seed, i, (unsigned long long)c, got, (unsigned long long)h, expect,
                         (unsigned long long)w.highest);
        }
        assert_best(e->store, &m, &id, w.highest);
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
    assert_best(e->store, &m, &id, N);
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
    offer(e->store, &m, &a, 5, NULL);
    offer(e->store, &m, &b, 6, NULL);
    offer(e->store, &keep, &a, 7, NULL);
    /* the consumer's counters (counts issued) only: the validated ones stay */
    assert_int_equal(pc_store_forget_counters(e->store, &m, PC_ROLE_CONSUMER, NULL), 0);
    assert_int_equal(pc_test_next_count(e->store, &m, &a), 1);
    assert_best(e->store, &m, &a, 5);
    assert_best(e->store, &m, &b, 6);
    assert_int_equal(pc_store_forget_counters(e->store, &m, PC_ROLE_PROVIDER, NULL), 0);
    assert_best(e->store, &m, &a, 0);
    assert_best(e->store, &m, &b, 0);
    assert_int_equal(pc_test_next_count(e->store, &m, &a), 2);
    assert_int_equal(offer(e->store, &m, &a, 5, NULL), PC_COUNT_ACCEPTED_NEWEST);
    assert_best(e->store, &keep, &a, 7); /* other Mediators untouched */
    assert_int_equal(pc_test_next_count(e->store, &keep, &a), 2);
}

/* ---- Mediator records ------------------------------------------------------------- */

static pc_mediator_record sample_record(unsigned n, pc_mediator_role role)
{
    pc_mediator_record r;
    memset(&r, 0, sizeof r);
    pc_test_store_address(200 + n, &r.mediator);
    r.role = role;
    pc_test_store_address(300 + n, &r.account);
    pc_test_store_address(400 + n, &r.counterparty);
    pc_u256_parse_dec("1000000000000000000000", &r.deposit_amount);
    r.funding_threshold = pc_test_store_token_id(n); /* uses the top limb too */
    r.token_active_since = 1700000000u + n;
    r.token_id = pc_test_store_token_id(50 + n);
    r.created_at = UINT64_MAX - n; /* full 64 bits survive */
    return r;
}

static void assert_record_equal(const pc_mediator_record *a, const pc_mediator_record *b)
{
    assert_memory_equal(a->mediator.bytes, b->mediator.bytes, 20);
    assert_int_equal(a->role, b->role);
    assert_memory_equal(a->account.bytes, b->account.bytes, 20);
    assert_memory_equal(a->counterparty.bytes, b->counterparty.bytes, 20);
    assert_int_equal(pc_u256_cmp(&a->deposit_amount, &b->deposit_amount), 0);
    assert_int_equal(pc_u256_cmp(&a->funding_threshold, &b->funding_threshold), 0);
    assert_int_equal(a->token_active_since, b->token_active_since);
    assert_int_equal(pc_u256_cmp(&a->token_id, &b->token_id), 0);
    assert_int_equal(a->created_at, b->created_at);
}

static void test_mediator_records(void **state)
{
    env *e = *state;
    pc_mediator_record *list = (void *)1;
    size_t n = 99;
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(list);
    pc_mediator_record r1 = sample_record(1, PC_ROLE_CONSUMER);
    pc_mediator_record r2 = sample_record(2, PC_ROLE_PROVIDER);
    pc_mediator_record got;
    int found = -1;
    assert_int_equal(pc_store_get_mediator(e->store, &r1.mediator, PC_ROLE_CONSUMER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 0);
    assert_int_equal(pc_store_put_mediator(e->store, &r1, NULL), 0);
    assert_int_equal(pc_store_put_mediator(e->store, &r2, NULL), 0);
    assert_int_equal(pc_store_get_mediator(e->store, &r1.mediator, PC_ROLE_CONSUMER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 1);
    assert_record_equal(&got, &r1);
    assert_int_equal(pc_store_get_mediator(e->store, &r1.mediator, PC_ROLE_PROVIDER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 0); /* records are per role */
    r2.token_active_since = 42; /* replace */
    r2.token_id = pc_u256_from_u64(7);
    assert_int_equal(pc_store_put_mediator(e->store, &r2, NULL), 0);
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 2);
    int i2 = pc_address_equal(&list[0].mediator, &r2.mediator) ? 0 : 1;
    assert_record_equal(&list[i2], &r2);
    assert_record_equal(&list[1 - i2], &r1);
    free(list);
    /* deleting also forgets the Mediator's counters */
    pc_u256 id = pc_test_store_token_id(1);
    offer(e->store, &r2.mediator, &id, 3, NULL);
    assert_int_equal(pc_store_delete_mediator(e->store, &r2.mediator, PC_ROLE_PROVIDER, NULL), 0);
    assert_int_equal(pc_store_get_mediator(e->store, &r2.mediator, PC_ROLE_PROVIDER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 0);
    assert_best(e->store, &r2.mediator, &id, 0);
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_record_equal(&list[0], &r1);
    free(list);
    pc_mediator_record bad = r1;
    bad.role = 0;
    pc_error err = {0};
    assert_int_equal(pc_store_put_mediator(e->store, &bad, &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
}

/* One server may be both parties of a Mediator (issue 9, point 1): a
 * record per role, and per (Mediator, token id) the counts it issued as
 * consumer apart from the counts it validated as provider; deleting one
 * role leaves the other's record and counters. */
static void test_both_roles(void **state)
{
    env *e = *state;
    pc_mediator_record c = sample_record(5, PC_ROLE_CONSUMER), p = c, got;
    p.role = PC_ROLE_PROVIDER;
    p.account = c.counterparty;
    p.counterparty = c.account;
    assert_int_equal(pc_store_put_mediator(e->store, &c, NULL), 0);
    assert_int_equal(pc_store_put_mediator(e->store, &p, NULL), 0);
    pc_mediator_record *list = NULL;
    size_t n = 0;
    int found = 0;
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_not_equal(list[0].role, list[1].role);
    free(list);
    assert_int_equal(pc_store_get_mediator(e->store, &c.mediator, PC_ROLE_PROVIDER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 1);
    assert_record_equal(&got, &p);
    pc_u256 id = pc_test_store_token_id(1);
    assert_int_equal(pc_test_next_count(e->store, &c.mediator, &id), 1);
    assert_int_equal(pc_test_next_count(e->store, &c.mediator, &id), 2);
    assert_int_equal(offer(e->store, &c.mediator, &id, 1, NULL), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(offer(e->store, &c.mediator, &id, 1, NULL), PC_COUNT_REPLAYED);
    assert_int_equal(pc_test_next_count(e->store, &c.mediator, &id), 3);
    assert_int_equal(pc_store_delete_mediator(e->store, &c.mediator, PC_ROLE_CONSUMER, NULL), 0);
    assert_int_equal(pc_store_get_mediator(e->store, &c.mediator, PC_ROLE_CONSUMER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 0);
    assert_int_equal(pc_store_get_mediator(e->store, &c.mediator, PC_ROLE_PROVIDER, &got, &found,
                                           NULL), 0);
    assert_int_equal(found, 1);
    assert_best(e->store, &c.mediator, &id, 1); /* the validated counts stay */
    /* the issued ones are gone */
    assert_int_equal(pc_test_next_count(e->store, &c.mediator, &id), 1);
    assert_int_equal(pc_store_delete_mediator(e->store, &c.mediator, PC_ROLE_PROVIDER, NULL), 0);
    assert_best(e->store, &c.mediator, &id, 0);
    assert_int_equal(pc_store_list_mediators(e->store, &list, &n, NULL), 0);
    assert_int_equal(n, 0);
}

/* ---- nonces ---------------------------------------------------------------------------- */

static int claim(pc_store *s, uint8_t tag, uint64_t expires_at)
{
    uint8_t nonce[32];
    memset(nonce, tag, sizeof nonce);
    int fresh = -1;
    pc_error err = {0};
    if (pc_store_claim_nonce(s, nonce, expires_at, &fresh, &err) != 0)
        fail_msg("claim_nonce: %s", err.message);
    return fresh;
}

static void test_nonces(void **state)
{
    env *e = *state;
    uint64_t later = (uint64_t)time(NULL) + 300;
    assert_int_equal(claim(e->store, 1, later), 1);
    assert_int_equal(claim(e->store, 1, later), 0);
    assert_int_equal(claim(e->store, 2, later), 1);
    assert_int_equal(claim(e->store, 1, later + 100), 0);
    /* an expired nonce is forgotten */
    uint64_t soon = (uint64_t)time(NULL) + 1;
    assert_int_equal(claim(e->store, 3, soon), 1);
    assert_int_equal(claim(e->store, 3, soon), 0);
    struct timespec ts = {.tv_sec = 2, .tv_nsec = 200000000};
    nanosleep(&ts, NULL);
    assert_int_equal(claim(e->store, 3, later), 1);
    assert_int_equal(claim(e->store, 3, later), 0);
    assert_int_equal(claim(e->store, 1, later), 0);
}

static void test_describe(void **state)
{
    env *e = *state;
    const char *d = pc_store_describe(e->store);
    char want[200];
    if (e->backend == PC_STORE_SQLITE)
        snprintf(want, sizeof want, "sqlite:%s", e->path);
    else if (e->backend == PC_STORE_REDIS)
        snprintf(want, sizeof want, "redis:127.0.0.1:%d", pc_test_redis_port(e->redis));
    else
        snprintf(want, sizeof want, "memory");
    assert_string_equal(d, want);
}

/* ---- the chain the data belongs to --------------------------------------------------- */

/* Checks (chain_id, genesis byte g...) against the store; returns the rc. */
static int check_chain(pc_store *s, uint64_t chain_id, uint8_t g, pc_chain_identity *stored,
                       int *adopted, pc_error *err)
{
    uint8_t genesis[32];
    memset(genesis, g, sizeof genesis);
    return pc_store_check_chain_identity(s, chain_id, genesis, stored, adopted, err);
}

/* An empty store adopts the first chain and refuses every other one, also
 * after reopening; the refusal names both chains. */
static void test_chain_identity(void **state)
{
    env *e = *state;
    pc_chain_identity stored;
    int adopted = 0;
    pc_error err = {0};
    assert_int_equal(check_chain(e->store, 31337, 0xaa, &stored, &adopted, &err), 0);
    assert_int_equal(adopted, 1);
    assert_int_equal(check_chain(e->store, 31337, 0xaa, &stored, &adopted, &err), 0);
    assert_int_equal(adopted, 0);
    if (e->backend != PC_STORE_MEMORY) { /* what was adopted is durable */
        pc_store_close(e->store);
        assert_non_null(e->store = open_env(e));
    }
    assert_int_equal(check_chain(e->store, 31337, 0xbb, &stored, &adopted, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(adopted, 0);
    assert_int_equal(stored.chain_id, 31337);
    assert_int_equal(stored.genesis_hash[31], 0xaa);
    assert_non_null(strstr(err.message, "belongs to chain 31337 (genesis 0xaaaaaaaa"));
    assert_non_null(strstr(err.message, "the node is on chain 31337 (genesis 0xbbbbbbbb"));
    assert_int_equal(check_chain(e->store, 1, 0xaa, &stored, &adopted, &err), -1);
    assert_int_equal(check_chain(e->store, 31337, 0xaa, &stored, &adopted, &err), 0);
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
    assert_best(e->store, &m, &other, 5);

    if (e->backend == PC_STORE_MEMORY)
        return; /* memory does not outlive its store */
    pc_store_close(e->store);
    e->store = open_env(e);
    assert_non_null(e->store);
    assert_best(e->store, &m, &other, 5);
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 4 + BURST);
}

/* The list form: the offers of one call apply in order, each with its own
 * verdict (pc_test_offer_list: a replay, a count twice, one refused alone). */
static void test_offer_list(void **state)
{
    env *e = *state;
    assert_int_equal(pc_test_offer_list(e->store, 40), 0);
}

/* ---- gas accounting -------------------------------------------------------------------- */

static pc_gas_tx gas_tx(uint8_t n, uint8_t account, uint8_t mediator, uint64_t gas,
                        const pc_u256 *fee)
{
    pc_gas_tx tx = {.gas_used = gas, .fee = *fee, .block = 1000u + n, .status = n % 2,
                    .at = 1700000000u + n};
    memset(tx.hash, n, 32);
    memset(tx.account.bytes, account, 20);
    memset(tx.mediator.bytes, mediator, 20); /* 0: no Mediator */
    memset(tx.selector, n, 4);
    return tx;
}

static const pc_gas_total *find_total(const pc_gas_total *t, size_t n, uint8_t key)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].key.bytes[0] == key)
            return &t[i];
    fail_msg("no total for %02x", key);
    return NULL;
}

static void expect_total(const pc_gas_total *t, size_t n, uint8_t key, uint64_t txs, uint64_t gas,
                         const char *fee)
{
    const pc_gas_total *got = find_total(t, n, key);
    char dec[PC_U256_DEC_LEN];
    pc_u256_to_dec(&got->fee, dec);
    assert_int_equal(got->txs, txs);
    assert_int_equal(got->gas_used, gas);
    assert_string_equal(dec, fee);
}

/* Totals per account and per Mediator add up exactly (fees beyond 64 bits
 * too), survive reopening, and the newest PC_STORE_RECENT_TXS transactions
 * come back newest first, field for field. */
static void test_gas_accounting(void **state)
{
    env *e = *state;
    pc_error err = {0};
    pc_u256 small = pc_u256_from_u64(123456789), big = {{5, 1, 0, 0}}; /* 2^64 + 5 */
    pc_gas_tx txs[] = {gas_tx(1, 0xa1, 0xe1, 50000, &small), gas_tx(2, 0xa1, 0xe1, 70000, &big),
                       gas_tx(3, 0xa1, 0, 900000, &small), gas_tx(4, 0xb2, 0xe2, 30000, &big)};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pc_store_record_gas(e->store, &txs[i], &err), 0);
    if (e->backend != PC_STORE_MEMORY) {
        pc_store_close(e->store);
        assert_non_null(e->store = open_env(e));
    }
    pc_gas_total *t;
    size_t n;
    assert_int_equal(pc_store_gas_totals(e->store, PC_GAS_BY_ACCOUNT, &t, &n, &err), 0);
    assert_int_equal(n, 2);
    expect_total(t, n, 0xa1, 3, 1020000, "18446744073956465199"); /* 2^64 + 5 + 2 * 123456789 */
    expect_total(t, n, 0xb2, 1, 30000, "18446744073709551621");
    free(t);
    assert_int_equal(pc_store_gas_totals(e->store, PC_GAS_BY_MEDIATOR, &t, &n, &err), 0);
    assert_int_equal(n, 2);
    expect_total(t, n, 0xe1, 2, 120000, "18446744073833008410");
    expect_total(t, n, 0xe2, 1, 30000, "18446744073709551621");
    free(t);
    pc_gas_tx *recent;
    assert_int_equal(pc_store_recent_gas(e->store, &recent, &n, &err), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < 4; i++) {
        const pc_gas_tx *want = &txs[3 - i], *got = &recent[i];
        assert_memory_equal(got->hash, want->hash, 32);
        assert_true(pc_address_equal(&got->account, &want->account));
        assert_true(pc_address_equal(&got->mediator, &want->mediator));
        assert_memory_equal(got->selector, want->selector, 4);
        assert_true(got->gas_used == want->gas_used && got->block == want->block &&
                    got->status == want->status && got->at == want->at);
        assert_int_equal(pc_u256_cmp(&got->fee, &want->fee), 0);
    }
    free(recent);
    for (uint8_t i = 10; i < 10 + PC_STORE_RECENT_TXS; i++) {
        pc_gas_tx more = gas_tx(i, 0xa1, 0xe3, 1, &small);
        assert_int_equal(pc_store_record_gas(e->store, &more, &err), 0);
    }
    assert_int_equal(pc_store_recent_gas(e->store, &recent, &n, &err), 0);
    assert_int_equal(n, PC_STORE_RECENT_TXS);
    assert_int_equal(recent[0].hash[0], 9 + PC_STORE_RECENT_TXS);
    assert_int_equal(recent[n - 1].hash[0], 10);
    free(recent);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

/* Pages (admin API): every record once, by (Mediator, role), filters counted;
 * and the consumer's counter read without taking a count. */
static void test_page_mediators(void **state)
{
    env *e = *state;
    pc_error err = {0};
    pc_address acct[2];
    pc_test_store_address(900, &acct[0]);
    pc_test_store_address(901, &acct[1]);
    for (unsigned i = 0; i < 30; i++) {
        pc_mediator_record r = {.role = i % 2 ? PC_ROLE_PROVIDER : PC_ROLE_CONSUMER,
                                .account = acct[i % 3 == 0]};
        pc_test_store_address(i / 2, &r.mediator);
        assert_int_equal(pc_store_put_mediator(e->store, &r, &err), 0);
    }
    pc_mediator_record *page, prev = {0};
    size_t n, total, seen = 0, matching = 0;
    for (size_t off = 0; off < 30; off += 7, free(page)) {
        assert_int_equal(pc_store_page_mediators(e->store, &(pc_mediator_filter){0}, off, 7, &page,
                                                 &n, &total, &err), 0);
        assert_int_equal(total, 30);
        assert_int_equal(n, off + 7 <= 30 ? 7 : 30 - off);
        for (size_t i = 0; i < n; seen++, prev = page[i++])
            assert_true(seen == 0 || pc_record_compare(&prev, &page[i]) < 0);
    }
    assert_int_equal(seen, 30);
    assert_int_equal(pc_store_page_mediators(e->store, &(pc_mediator_filter){0}, 30, 5, &page,
                                             &n, &total, &err), 0);
    assert_true(n == 0 && page == NULL && total == 30);
    pc_mediator_filter f = {.role = PC_ROLE_PROVIDER, .account = &acct[1]};
    assert_int_equal(pc_store_page_mediators(e->store, &f, 0, 100, &page, &n, &total, &err), 0);
    for (unsigned i = 0; i < 30; i++)
        matching += i % 2 && i % 3 == 0;
    assert_true(n == matching && total == matching && page[0].role == PC_ROLE_PROVIDER);
    free(page);
    pc_u256 id = pc_test_store_token_id(1);
    uint64_t count = 9;
    int found = 1;
    assert_int_equal(pc_store_issued_count(e->store, &acct[0], &id, &count, &found, &err), 0);
    assert_true(!found && count == 0);
    pc_test_next_count(e->store, &acct[0], &id);
    pc_test_next_count(e->store, &acct[0], &id);
    assert_int_equal(pc_store_issued_count(e->store, &acct[0], &id, &count, &found, &err), 0);
    assert_true(found && count == 2);
}

static int run_group(const char *name, env *e)
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
        T(test_mediator_records),
        T(test_both_roles),
        T(test_nonces),
        T(test_describe),
        T(test_chain_identity),
        T(test_async_forms),
        T(test_offer_list),
        T(test_gas_accounting),
        T(test_page_mediators),
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        tests[i].initial_state = e;
    current = e;
    return _cmocka_run_group_tests(name, tests, sizeof tests / sizeof tests[0], group_setup,
                                   group_teardown);
}

int main(void)
{
    int failed = 0;
    failed += run_group("store_memory", &memory_env);
    failed += run_group("store_sqlite", &sqlite_env);
    failed += run_group("store_redis", &redis_env);
    return failed ? 1 : 0;
}
