/* bench_store: throughput and latency of pc_store_offer_count (the durable
 * step of validateToken) for the SQLite backend (group commit, WAL,
 * synchronous=FULL, in a temporary directory) and the Redis backend (a
 * private redis-server with appendonly yes + appendfsync always, started
 * like the tests do), at 1, 8 and 32 threads. Each thread offers rising
 * counts of its own token (as many consumers would); the last row per
 * backend has all 32 threads on one token. Not a test: run it and write the
 * figures into docs/benchmarks.md.
 *
 *   build/bench/bench_store [seconds-per-case]   (default 2) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/store/store.h"
#include "support/redis.h"
#include "support/store_check.h"

#define MAX_THREADS 32
#define MAX_SAMPLES (1 << 20)

typedef struct worker {
    pc_store *store;
    pc_address mediator;
    pc_u256 token_id;
    uint64_t next_count, *shared_count; /* shared_count: all threads on one token */
    pthread_mutex_t *shared_lock;
    double stop_at;
    double *lat; /* seconds per op */
    size_t n;
    int failures;
} worker;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t take_count(worker *w)
{
    if (!w->shared_count)
        return ++w->next_count;
    pthread_mutex_lock(w->shared_lock);
    uint64_t c = ++*w->shared_count;
    pthread_mutex_unlock(w->shared_lock);
    return c;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    pc_signature sig;
    while (w->n < MAX_SAMPLES) {
        uint64_t c = take_count(w);
        pc_test_count_sig(c, &sig);
        pc_count_verdict v;
        uint64_t h;
        double t0 = now_s();
        if (pc_store_offer_count(w->store, &w->mediator, &w->token_id, c, &sig, &v, &h, NULL) != 0)
            w->failures++;
        double t1 = now_s();
        w->lat[w->n++] = t1 - t0;
        if (t1 >= w->stop_at)
            break;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs one case and prints a table row. */
static void run_case(pc_store *s, const char *name, int threads, int same_key, double seconds,
                     unsigned round)
{
    worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    uint64_t shared = 0;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    double start = now_s();
    for (int t = 0; t < threads; t++) {
        w[t] = (worker){.store = s, .stop_at = start + seconds, .shared_lock = &lock,
                        .shared_count = same_key ? &shared : NULL};
        pc_test_store_address(round * 64 + (same_key ? 0 : (unsigned)t), &w[t].mediator);
        w[t].token_id = pc_test_store_token_id(round);
        w[t].lat = malloc(MAX_SAMPLES * sizeof(double));
        if (!w[t].lat || pthread_create(&tid[t], NULL, run_worker, &w[t]) != 0) {
            fprintf(stderr, "cannot start worker\n");
            exit(1);
        }
    }
    size_t total = 0;
    int failures = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        total += w[t].n;
        failures += w[t].failures;
    }
    double elapsed = now_s() - start;
    double *all = malloc(total * sizeof *all);
    size_t k = 0;
    for (int t = 0; t < threads; t++) {
        memcpy(all + k, w[t].lat, w[t].n * sizeof(double));
        k += w[t].n;
        free(w[t].lat);
    }
    qsort(all, total, sizeof *all, cmp_double);
    printf("| %-6s | %2d | %-8s | %9.0f | %8.3f | %8.3f |%s\n", name, threads,
           same_key ? "one" : "own", (double)total / elapsed, all[total / 2] * 1e3,
           all[(size_t)((double)total * 0.99)] * 1e3, failures ? " FAILURES" : "");
    fflush(stdout);
    free(all);
}

static void run_backend(pc_store *s, const char *name, double seconds)
{
    static const int thread_counts[] = {1, 8, 32};
    static unsigned round;
    for (size_t i = 0; i < sizeof thread_counts / sizeof thread_counts[0]; i++)
        run_case(s, name, thread_counts[i], 0, seconds, ++round);
    run_case(s, name, 32, 1, seconds, ++round);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0)
        seconds = 2.0;
    char dir[] = "/tmp/paychan-bench-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    snprintf(path, sizeof path, "%s/bench.db", dir);
    pc_test_redis *redis = pc_test_redis_start();
    if (!redis)
        return 1;
    pc_error err = {0};
    pc_store_options sq = {.backend = PC_STORE_SQLITE, .sqlite_path = path};
    pc_store_options rd = {.backend = PC_STORE_REDIS, .redis_host = pc_test_redis_host(redis),
                           .redis_port = pc_test_redis_port(redis)};
    pc_store *stores[2] = {pc_store_open(&sq, &err), NULL};
    if (stores[0])
        stores[1] = pc_store_open(&rd, &err);
    if (!stores[1])
        return fprintf(stderr, "%s\n", err.message), 1;

    printf("pc_store_offer_count, %.1f s per case, %ld cores\n\n", seconds,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("| store  | threads | tokens | ops/s | p50 ms | p99 ms |\n");
    printf("|---|---|---|---|---|---|\n");
    run_backend(stores[0], "sqlite", seconds);
    run_backend(stores[1], "redis", seconds);

    pc_store_close(stores[0]);
    pc_store_close(stores[1]);
    pc_test_redis_stop(redis);
    char f[96];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s%s", path, suffix[i]);
        unlink(f);
    }
    rmdir(dir);
    return 0;
}
