/* store_check.c (test support): see store_check.h. */
#include "support/store_check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

void pc_test_count_sig(uint64_t count, pc_signature *sig)
{
    memset(sig, 0, sizeof *sig);
    for (int i = 0; i < 8; i++)
        sig->r[31 - i] = (uint8_t)(count >> (8 * i));
    sig->r[0] = 0x5a;
    memset(sig->s, 0x11, 32);
    sig->s[31] = (uint8_t)(count * 7);
    sig->recid = (uint8_t)(count & 1);
}

int pc_test_sig_is_for(const pc_signature *sig, uint64_t count)
{
    pc_signature want;
    pc_test_count_sig(count, &want);
    return memcmp(sig->r, want.r, 32) == 0 && memcmp(sig->s, want.s, 32) == 0
           && sig->recid == want.recid;
}

void pc_test_store_address(unsigned n, pc_address *addr)
{
    memset(addr->bytes, 0xa0, 20);
    addr->bytes[0] = 0x11;
    addr->bytes[18] = (uint8_t)(n >> 8);
    addr->bytes[19] = (uint8_t)n;
}

pc_u256 pc_test_store_token_id(unsigned n)
{
    pc_u256 v = pc_u256_from_u64(1000 + n);
    v.limb[3] = 0x8000000000000000u | n; /* exercise all 32 bytes */
    return v;
}

typedef struct storm {
    pc_store *store;
    const pc_address *mediator;
    const pc_u256 *token_id;
    uint64_t n_counts;
    int per_thread;
    unsigned seed;
    unsigned *hits;
    pthread_mutex_t *lock; /* guards hits */
    int failures;
} storm;

static void *offer_worker(void *arg)
{
    storm *w = arg;
    uint64_t *order = malloc(w->n_counts * sizeof *order);
    if (!order) {
        w->failures++;
        return NULL;
    }
    for (uint64_t i = 0; i < w->n_counts; i++)
        order[i] = i + 1;
    for (uint64_t i = w->n_counts - 1; i > 0; i--) {
        uint64_t j = (uint64_t)rand_r(&w->seed) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (uint64_t i = 0; i < w->n_counts; i++) {
        pc_signature sig;
        pc_test_count_sig(order[i], &sig);
        pc_count_verdict v;
        uint64_t highest;
        if (pc_store_offer_count(w->store, w->mediator, w->token_id, order[i], &sig, &v, &highest,
                                 NULL) != 0) {
            w->failures++;
            continue;
        }
        if (v != PC_COUNT_REPLAYED) {
            pthread_mutex_lock(w->lock);
            w->hits[order[i]]++;
            pthread_mutex_unlock(w->lock);
        }
    }
    free(order);
    return NULL;
}

static void *next_count_worker(void *arg)
{
    storm *w = arg;
    for (int i = 0; i < w->per_thread; i++) {
        uint64_t c;
        if (pc_store_next_count(w->store, w->mediator, w->token_id, &c, NULL) != 0
            || c == 0 || c > w->n_counts) {
            w->failures++;
            continue;
        }
        pthread_mutex_lock(w->lock);
        w->hits[c]++;
        pthread_mutex_unlock(w->lock);
    }
    return NULL;
}

static int run_storm(void *(*fn)(void *), pc_store **stores, int n_stores, int threads,
                     const pc_address *mediator, const pc_u256 *token_id, uint64_t n_counts,
                     int per_thread, unsigned *hits)
{
    enum { MAX_THREADS = 64 };
    if (threads > MAX_THREADS)
        return -1;
    pthread_t tid[MAX_THREADS];
    storm w[MAX_THREADS];
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int failures = 0, started = 0;
    for (int t = 0; t < threads; t++) {
        w[t] = (storm){.store = stores[t % n_stores], .mediator = mediator, .token_id = token_id,
                       .n_counts = n_counts, .per_thread = per_thread,
                       .seed = 7919u * (unsigned)t + 1, .hits = hits, .lock = &lock};
        if (pthread_create(&tid[t], NULL, fn, &w[t]) != 0)
            break;
        started++;
    }
    for (int t = 0; t < started; t++) {
        pthread_join(tid[t], NULL);
        failures += w[t].failures;
    }
    return failures + (threads - started);
}

int pc_test_offer_storm(pc_store **stores, int n_stores, int threads, const pc_address *mediator,
                        const pc_u256 *token_id, uint64_t n_counts, unsigned *accepted)
{
    return run_storm(offer_worker, stores, n_stores, threads, mediator, token_id, n_counts, 0,
                     accepted);
}

int pc_test_next_count_storm(pc_store **stores, int n_stores, int threads,
                             const pc_address *mediator, const pc_u256 *token_id, int per_thread,
                             unsigned *taken)
{
    return run_storm(next_count_worker, stores, n_stores, threads, mediator, token_id,
                     (uint64_t)threads * (uint64_t)per_thread, per_thread, taken);
}

void pc_test_remove_sqlite(const char *path)
{
    char p[512];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* ---- a list of offers in one call --------------------------------------------------------- */

/* What one offer of the list should get, and what it got. */
typedef struct list_slot {
    int want_rc;
    pc_count_verdict want_verdict;
    uint64_t want_highest;
    pthread_mutex_t *lock;
    pthread_cond_t *changed;
    int *calls;
    int got_calls;
    pc_store_result got;
} list_slot;

static void list_done(void *arg, const pc_store_result *r)
{
    list_slot *slot = arg;
    pthread_mutex_lock(slot->lock);
    slot->got = *r;
    slot->got_calls++;
    (*slot->calls)++;
    pthread_cond_broadcast(slot->changed);
    pthread_mutex_unlock(slot->lock);
}

/* Waits (10 s at most) until `want` callbacks came; the number that came. */
static int list_wait(pthread_mutex_t *lock, pthread_cond_t *changed, const int *calls, int want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(lock);
    while (*calls < want && pthread_cond_timedwait(changed, lock, &until) == 0)
        ;
    int got = *calls;
    pthread_mutex_unlock(lock);
    return got;
}

/* 1 when the best token of (m, id) is `count` with its signature. */
static int best_is(pc_store *s, const pc_address *m, const pc_u256 *id, uint64_t count)
{
    pc_signature sig;
    uint64_t best = 0;
    int found = 0;
    return pc_store_best_token(s, m, id, &best, &sig, &found, NULL) == 0 && found &&
           best == count && pc_test_sig_is_for(&sig, count);
}

/* Offers the list through the asynchronous form, or the blocking one (which
 * must return -1: one offer fails), into slots (args[i] = &slots[i]); the
 * number of outcomes that came (n expected). */
static int offer_list_run(pc_store *s, int blocking, int n, const pc_address *m,
                          const pc_u256 *ids, const uint64_t *counts, const pc_signature *sigs,
                          list_slot *slots, void **args)
{
    if (!blocking) {
        pc_store_offer_counts_async(s, (size_t)n, m, ids, counts, sigs, list_done, args);
        return list_wait(slots[0].lock, slots[0].changed, slots[0].calls, n);
    }
    pc_store_result results[16];
    if (pc_store_offer_counts(s, (size_t)n, m, ids, counts, sigs, results) != -1)
        return fprintf(stderr, "offer list: the blocking form did not return -1\n"), 0;
    for (int i = 0; i < n; i++)
        list_done(&slots[i], &results[i]);
    return n;
}

int pc_test_offer_list(pc_store *s, unsigned n, int blocking)
{
    enum { N = 7 };
    pc_address m[N];
    pc_u256 a = pc_test_store_token_id(n), b = pc_test_store_token_id(n + 1), ids[N];
    /* a: 5 before the list; in it, a replay of 5, then 6. b: 3, 2 (skipped
     * below it), 3 again, a count too large (refused alone), then 5. */
    const uint64_t counts[N] = {5, 3, 2, 3, 6, PC_STORE_COUNT_MAX + 1, 5};
    const pc_u256 *of[N] = {&a, &b, &b, &b, &a, &b, &b};
    const struct { int rc; pc_count_verdict v; uint64_t highest; } want[N] = {
        {0, PC_COUNT_REPLAYED, 5},        {0, PC_COUNT_ACCEPTED_NEWEST, 3},
        {0, PC_COUNT_ACCEPTED_SKIPPED, 3}, {0, PC_COUNT_REPLAYED, 3},
        {0, PC_COUNT_ACCEPTED_NEWEST, 6}, {-1, PC_COUNT_REPLAYED, 0},
        {0, PC_COUNT_ACCEPTED_NEWEST, 5}};
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
    int calls = 0, wrong = 0;
    list_slot slots[N];
    pc_signature sigs[N], five;
    void *args[N];
    pc_test_store_address(n, &m[0]);
    pc_test_count_sig(5, &five);
    pc_count_verdict v;
    if (pc_store_offer_count(s, &m[0], &a, 5, &five, &v, NULL, NULL) != 0)
        return fprintf(stderr, "offer list: the first offer failed\n"), 1;
    for (int i = 0; i < N; i++) {
        m[i] = m[0];
        ids[i] = *of[i];
        pc_test_count_sig(counts[i], &sigs[i]);
        slots[i] = (list_slot){.want_rc = want[i].rc, .want_verdict = want[i].v,
                               .want_highest = want[i].highest, .lock = &lock,
                               .changed = &changed, .calls = &calls};
        args[i] = &slots[i];
    }
    int came = offer_list_run(s, blocking, N, m, ids, counts, sigs, slots, args);
    if (came != N)
        return fprintf(stderr, "offer list: %d outcomes of %d\n", came, N), 1;
    for (int i = 0; i < N; i++) {
        const list_slot *sl = &slots[i];
        int ok = sl->got_calls == 1 && sl->got.rc == sl->want_rc &&
                 (sl->want_rc ? sl->got.err.code == PC_ERR_INVALID_ARGUMENT
                              : sl->got.verdict == sl->want_verdict &&
                                    sl->got.highest == sl->want_highest);
        if (!ok)
            fprintf(stderr, "offer list: offer %d: %d calls, rc %d, verdict %d, highest %llu\n", i,
                    sl->got_calls, sl->got.rc, (int)sl->got.verdict,
                    (unsigned long long)sl->got.highest);
        wrong += !ok;
    }
    if (!best_is(s, &m[0], &a, 6) || !best_is(s, &m[0], &b, 5))
        wrong += fprintf(stderr, "offer list: the best tokens are not 6 and 5\n") > 0;
    return wrong;
}

uint64_t pc_test_next_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id)
{
    uint64_t c = 0;
    pc_error err = {0};
    if (pc_store_next_count(s, mediator, token_id, &c, &err) != 0)
        fail_msg("next_count: %s", err.message);
    return c;
}

pc_count_verdict pc_test_offer(pc_store *s, const pc_address *m, const pc_u256 *id, uint64_t count,
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

void pc_test_expect_best(pc_store *s, const pc_address *m, const pc_u256 *id, uint64_t want)
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
