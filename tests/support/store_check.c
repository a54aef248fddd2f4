/* store_check.c (test support): see store_check.h. */
#include "support/store_check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
