/* test_store_crash: durability and sharing of the Payment Server store:
 * SQLite data survives close/reopen and a kill -9 of the writing process
 * (every acknowledged count is stored, and every issued count, even those
 * whose fsync was still to come); a Redis store survives a crash of
 * redis-server, reports an unreachable server naming host:port and
 * reconnects on the next call; two Redis store instances (as two paychand
 * processes) offering the same counts at once accept each exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/store/store.h"
#include "support/child.h"
#include "support/redis.h"
#include "support/store_check.h"

static char dir[64];
static int serial;
static pc_test_redis *redis;

static void new_db_path(char path[160])
{
    snprintf(path, 160, "%s/c%d.db", dir, ++serial);
}

/* count_sync_delay_ms: how late issued counts may be fsync'ed (store.h). */
static pc_store *open_sqlite_syncing_late(const char *path, int count_sync_delay_ms)
{
    pc_store_options o = {.backend = PC_STORE_SQLITE, .sqlite_path = path,
                          .count_sync_delay_ms = count_sync_delay_ms};
    pc_error err = {0};
    pc_store *s = pc_store_open(&o, &err);
    if (!s)
        fprintf(stderr, "pc_store_open(%s): %s\n", path, err.message);
    return s;
}

static pc_store *open_sqlite(const char *path)
{
    return open_sqlite_syncing_late(path, 0);
}

static pc_store *open_redis(const char *prefix, pc_error *err)
{
    pc_store_options o = {.backend = PC_STORE_REDIS, .redis_host = pc_test_redis_host(redis),
                          .redis_port = pc_test_redis_port(redis), .redis_prefix = prefix};
    return pc_store_open(&o, err);
}

static uint64_t best(pc_store *s, const pc_address *m, const pc_u256 *id)
{
    uint64_t count = 0;
    pc_signature sig;
    int found = 0;
    pc_error err = {0};
    if (pc_store_best_token(s, m, id, &count, &sig, &found, &err) != 0)
        fail_msg("best_token: %s", err.message);
    if (found && !pc_test_sig_is_for(&sig, count))
        fail_msg("the signature stored with %llu is not its own", (unsigned long long)count);
    return found ? count : 0;
}

/* ---- SQLite ------------------------------------------------------------------------------- */

static void test_sqlite_reopen_keeps_everything(void **state)
{
    (void)state;
    char path[160];
    new_db_path(path);
    pc_address m;
    pc_test_store_address(1, &m);
    pc_u256 id = pc_test_store_token_id(1);
    pc_mediator_record rec = {.mediator = m, .role = PC_ROLE_PROVIDER, .created_at = 77};
    uint8_t nonce[32] = {9};
    uint64_t c;
    int fresh;

    pc_store *s = open_sqlite(path);
    assert_non_null(s);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pc_store_next_count(s, &m, &id, &c, NULL), 0);
    assert_int_equal(pc_test_offer(s, &m, &id, 10, NULL), PC_COUNT_ACCEPTED_NEWEST);
    assert_int_equal(pc_test_offer(s, &m, &id, 8, NULL), PC_COUNT_ACCEPTED_SKIPPED);
    assert_int_equal(pc_store_put_mediator(s, &rec, NULL), 0);
    assert_int_equal(pc_store_claim_nonce(s, nonce, (uint64_t)time(NULL) + 600, &fresh, NULL), 0);
    assert_int_equal(fresh, 1);
    pc_store_close(s);

    s = open_sqlite(path);
    assert_non_null(s);
    assert_int_equal(pc_store_next_count(s, &m, &id, &c, NULL), 0);
    assert_int_equal(c, 4);
    assert_int_equal(best(s, &m, &id), 10);
    /* the window survived */
    assert_int_equal(pc_test_offer(s, &m, &id, 8, NULL), PC_COUNT_REPLAYED);
    assert_int_equal(pc_test_offer(s, &m, &id, 9, NULL), PC_COUNT_ACCEPTED_SKIPPED);
    pc_mediator_record got;
    int found;
    assert_int_equal(pc_store_get_mediator(s, &m, rec.role, &got, &found, NULL), 0);
    assert_int_equal(found, 1);
    assert_int_equal(got.created_at, 77);
    assert_int_equal(pc_store_claim_nonce(s, nonce, (uint64_t)time(NULL) + 600, &fresh, NULL), 0);
    assert_int_equal(fresh, 0);
    pc_store_close(s);
}

static void test_sqlite_refuses_newer_schema_and_bad_path(void **state)
{
    (void)state;
    char path[160];
    new_db_path(path);
    pc_store *s = open_sqlite(path);
    assert_non_null(s);
    pc_store_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES(99)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    pc_store_options o = {.backend = PC_STORE_SQLITE, .sqlite_path = path};
    pc_error err = {0};
    assert_null(pc_store_open(&o, &err));
    assert_int_equal(err.code, PC_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "schema version 99"));

    o.sqlite_path = "/nonexistent-dir/paychan.db";
    assert_null(pc_store_open(&o, &err));
    assert_int_equal(err.code, PC_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "/nonexistent-dir/paychan.db"));
}

enum { CHILD_THREADS = 4, KILL_AFTER_ACKS = 3000 };

typedef struct child_worker {
    pc_store *store;
    int fd, first;
    int issue; /* consumer side: takes counts instead of offering them */
} child_worker;

/* Writes one count to the pipe (one short write(), so lines never interleave). */
static void report_count(int fd, uint64_t c)
{
    char line[32];
    int n = snprintf(line, sizeof line, "%llu\n", (unsigned long long)c);
    if (write(fd, line, (size_t)n) != n)
        _exit(4);
}

/* In the child: offers first, first + 4, ... and reports each acknowledged
 * count; or (issue) takes counts and reports each one issued. */
static void *child_work(void *arg)
{
    child_worker *w = arg;
    pc_address m;
    pc_test_store_address(5, &m);
    pc_u256 id = pc_test_store_token_id(5);
    for (uint64_t c = (uint64_t)w->first; c < 10000000; c += CHILD_THREADS) {
        if (w->issue) {
            uint64_t issued;
            if (pc_store_next_count(w->store, &m, &id, &issued, NULL) != 0)
                _exit(3);
            report_count(w->fd, issued);
            continue;
        }
        pc_signature sig;
        pc_test_count_sig(c, &sig);
        pc_count_verdict v;
        uint64_t h;
        if (pc_store_offer_count(w->store, &m, &id, c, &sig, &v, &h, NULL) != 0)
            _exit(3);
        if (v != PC_COUNT_REPLAYED)
            report_count(w->fd, c);
    }
    return NULL;
}

/* issue: the consumer side, with issued counts fsync'ed up to 1 s late. */
static void run_child(const char *path, int fd, int issue)
{
    pc_store *s = open_sqlite_syncing_late(path, issue ? 1000 : 0);
    if (!s)
        _exit(2);
    pthread_t t[CHILD_THREADS];
    child_worker w[CHILD_THREADS];
    for (int i = 0; i < CHILD_THREADS; i++) {
        w[i] = (child_worker){.store = s, .fd = fd, .first = i + 1, .issue = issue};
        pthread_create(&t[i], NULL, child_work, &w[i]);
    }
    for (int i = 0; i < CHILD_THREADS; i++)
        pthread_join(t[i], NULL);
    _exit(0);
}

/* Reads acknowledged counts until `stop_after` (then kills the child) and on
 * to EOF. Returns how many; *max the largest; acks[] receives them. */
static size_t read_acks(FILE *in, pid_t child, size_t stop_after, uint64_t *acks, size_t cap,
                        uint64_t *max)
{
    size_t n = 0;
    char line[64];
    *max = 0;
    while (fgets(line, sizeof line, in)) {
        uint64_t c = strtoull(line, NULL, 10);
        if (n < cap)
            acks[n] = c;
        n++;
        if (c > *max)
            *max = c;
        if (n == stop_after)
            kill(child, SIGKILL); /* mid-stream: the writer may be inside a commit */
    }
    return n < cap ? n : cap;
}

static uint64_t acks[1 << 20];

/* Runs run_child(path, issue) and kills it with SIGKILL after
 * KILL_AFTER_ACKS reported counts. Returns how many it reported (in
 * acks[]); *max the largest. */
static size_t run_and_kill_child(const char *path, int issue, uint64_t *max)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        run_child(path, fds[1], issue);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    assert_non_null(in);
    size_t n = read_acks(in, child, KILL_AFTER_ACKS, acks, sizeof acks / sizeof acks[0], max);
    fclose(in);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL); /* killed, not finished */
    assert_true(n >= KILL_AFTER_ACKS);
    return n;
}

static void test_sqlite_kill9_keeps_acknowledged_counts(void **state)
{
    (void)state;
    char path[160];
    new_db_path(path);
    uint64_t max;
    size_t n = run_and_kill_child(path, 0, &max);

    pc_store *s = open_sqlite(path);
    assert_non_null(s);
    pc_address m;
    pc_test_store_address(5, &m);
    pc_u256 id = pc_test_store_token_id(5);
    uint64_t stored = best(s, &m, &id); /* also checks its signature */
    if (stored < max)
        fail_msg("acknowledged %llu but only %llu is stored", (unsigned long long)max,
                 (unsigned long long)stored);
    for (size_t i = 0; i < n; i++)
        if (pc_test_offer(s, &m, &id, acks[i], NULL) != PC_COUNT_REPLAYED)
            fail_msg("acknowledged count %llu was accepted again", (unsigned long long)acks[i]);
    pc_store_close(s);
    printf("kill -9 after %zu acknowledged counts (max %llu), stored highest %llu\n", n,
           (unsigned long long)max, (unsigned long long)stored);
}

static int compare_counts(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Issued counts committed without their fsync (count_sync_delay_ms) are
 * still in the file after a kill -9: only a power loss could take them
 * back. The count goes on past every count the killed process issued. */
static void test_sqlite_kill9_keeps_counts_issued_before_their_fsync(void **state)
{
    (void)state;
    char path[160];
    new_db_path(path);
    uint64_t max;
    size_t n = run_and_kill_child(path, 1, &max);
    qsort(acks, n, sizeof acks[0], compare_counts);
    for (size_t i = 1; i < n; i++)
        if (acks[i] == acks[i - 1])
            fail_msg("count %llu issued twice", (unsigned long long)acks[i]);

    pc_store *s = open_sqlite_syncing_late(path, 1000);
    assert_non_null(s);
    pc_address m;
    pc_test_store_address(5, &m);
    pc_u256 id = pc_test_store_token_id(5);
    uint64_t next;
    assert_int_equal(pc_store_next_count(s, &m, &id, &next, NULL), 0);
    if (next <= max)
        fail_msg("issued up to %llu before the kill, but the next count is %llu",
                 (unsigned long long)max, (unsigned long long)next);
    pc_store_close(s);
    s = open_sqlite(path); /* closed within the delay: the close synced it */
    assert_non_null(s);
    uint64_t after_close;
    assert_int_equal(pc_store_next_count(s, &m, &id, &after_close, NULL), 0);
    assert_int_equal(after_close, next + 1);
    pc_store_close(s);
    printf("kill -9 after %zu issued counts (max %llu), next %llu\n", n,
           (unsigned long long)max, (unsigned long long)next);
}

/* ---- Redis --------------------------------------------------------------------------------- */

static void test_redis_two_instances_accept_once(void **state)
{
    (void)state;
    enum { N = 600 };
    pc_error err = {0};
    pc_store *stores[2] = {open_redis("shared:", &err), open_redis("shared:", &err)};
    assert_non_null(stores[0]);
    assert_non_null(stores[1]);
    pc_address m;
    pc_test_store_address(6, &m);
    pc_u256 id = pc_test_store_token_id(6);
    unsigned accepted[N + 1] = {0};
    assert_int_equal(pc_test_offer_storm(stores, 2, 8, &m, &id, N, accepted), 0);
    for (int c = 1; c <= N; c++)
        if (accepted[c] != 1)
            fail_msg("count %d accepted %u times by the two instances", c, accepted[c]);
    assert_int_equal(best(stores[1], &m, &id), N);

    enum { PER = 250, TAKEN = 8 * PER };
    unsigned taken[TAKEN + 1] = {0};
    assert_int_equal(pc_test_next_count_storm(stores, 2, 8, &m, &id, PER, taken), 0);
    for (int c = 1; c <= TAKEN; c++)
        if (taken[c] != 1)
            fail_msg("count %d handed out %u times by the two instances", c, taken[c]);
    pc_store_close(stores[0]);
    pc_store_close(stores[1]);
}

static void test_redis_crash_and_reconnect(void **state)
{
    (void)state;
    pc_error err = {0};
    pc_store *s = open_redis("crash:", &err);
    assert_non_null(s);
    pc_address m;
    pc_test_store_address(7, &m);
    pc_u256 id = pc_test_store_token_id(7);
    for (uint64_t c = 1; c <= 300; c += 2)
        assert_int_equal(pc_test_offer(s, &m, &id, c, NULL), PC_COUNT_ACCEPTED_NEWEST);

    pc_test_redis_crash(redis);
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%d", pc_test_redis_port(redis));
    pc_signature sig;
    pc_test_count_sig(400, &sig);
    pc_count_verdict v;
    uint64_t h;
    assert_int_equal(pc_store_offer_count(s, &m, &id, 400, &sig, &v, &h, &err), -1);
    assert_int_equal(err.code, PC_ERR_INTERNAL);
    if (!strstr(err.message, where))
        fail_msg("error does not name %s: %s", where, err.message);

    assert_int_equal(pc_test_redis_restart(redis), 0);
    /* the next call reconnects; the scripts are reloaded on NOSCRIPT */
    assert_int_equal(best(s, &m, &id), 299);
    assert_int_equal(pc_test_offer(s, &m, &id, 2, NULL), PC_COUNT_ACCEPTED_SKIPPED);
    assert_int_equal(pc_test_offer(s, &m, &id, 3, NULL), PC_COUNT_REPLAYED);
    assert_int_equal(pc_test_offer(s, &m, &id, 400, NULL), PC_COUNT_ACCEPTED_NEWEST);
    pc_store_close(s);
}

static void test_redis_unreachable(void **state)
{
    (void)state;
    pc_store_options o = {.backend = PC_STORE_REDIS, .redis_host = "127.0.0.1", .redis_port = 1};
    pc_error err = {0};
    assert_null(pc_store_open(&o, &err));
    assert_int_equal(err.code, PC_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "127.0.0.1:1"));
}

/* The open of test_redis_waited_for_at_start, on its own thread: the Redis
 * must be restarted by the test's thread, since a spawned child dies with
 * the thread that spawned it (PR_SET_PDEATHSIG). */
typedef struct open_later {
    pc_store_options o;
    pc_store *s;
    pc_error err;
    int64_t took_ms;
} open_later;

static void *open_store_now(void *arg)
{
    open_later *w = arg;
    int64_t start = pc_test_now_ms();
    w->s = pc_store_open(&w->o, &w->err);
    w->took_ms = pc_test_now_ms() - start;
    return NULL;
}

/* A Redis that comes up a second after the store is opened (a compose file, a
 * reboot): with a start wait the open keeps trying and succeeds; without, it
 * fails at once (test_redis_unreachable). */
static void test_redis_waited_for_at_start(void **state)
{
    (void)state;
    pc_test_redis_crash(redis);
    open_later w = {.o = {.backend = PC_STORE_REDIS, .redis_host = pc_test_redis_host(redis),
                          .redis_port = pc_test_redis_port(redis), .redis_prefix = "start-wait:",
                          .redis_start_wait_ms = 15000}};
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_store_now, &w), 0);
    pc_test_sleep_ms(1000);
    assert_int_equal(pc_test_redis_restart(redis), 0);
    pthread_join(opener, NULL);
    if (!w.s)
        fail_msg("pc_store_open: %s", w.err.message);
    print_message("opened %lld ms after the Redis had gone\n", (long long)w.took_ms);
    assert_true(w.took_ms >= 900 && w.took_ms < 10000);
    pc_store_close(w.s);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/paychan-crash-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    redis = pc_test_redis_start();
    return redis ? 0 : -1; /* no redis-server: every test here fails */
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 1; i <= serial; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/c%d.db", dir, i);
        pc_test_remove_sqlite(path);
    }
    rmdir(dir);
    pc_test_redis_stop(redis);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_reopen_keeps_everything),
        cmocka_unit_test(test_sqlite_refuses_newer_schema_and_bad_path),
        cmocka_unit_test(test_sqlite_kill9_keeps_acknowledged_counts),
        cmocka_unit_test(test_sqlite_kill9_keeps_counts_issued_before_their_fsync),
        cmocka_unit_test(test_redis_two_instances_accept_once),
        cmocka_unit_test(test_redis_crash_and_reconnect),
        cmocka_unit_test(test_redis_unreachable),
        cmocka_unit_test(test_redis_waited_for_at_start),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
