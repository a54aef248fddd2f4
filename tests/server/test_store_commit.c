/* test_store_commit: who commits in the SQLite store, and when it syncs.
 * An idle store lets a caller commit its own operation on its own thread
 * (no hand-over to the writer thread and back); a busy one queues it for
 * the writer's next group commit. Either way every count is handed out
 * once and survives a reopen. Issued counts may be synced late, a count
 * given back never (fsyncs of the WAL counted through a VFS over the
 * default one). Real SQLite files in a temporary directory. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "server/store/store.h"
#include "support/store_check.h"

typedef struct env {
    char dir[64];
    char path[160];
    pc_store *store;
} env;

/* count_sync_delay_ms: how late issued counts may be fsync'ed (store.h). */
static pc_store *open_store_syncing_late(const env *e, int count_sync_delay_ms)
{
    pc_store_options o = {.backend = PC_STORE_SQLITE, .sqlite_path = e->path,
                          .count_sync_delay_ms = count_sync_delay_ms};
    pc_error err = {0};
    pc_store *s = pc_store_open(&o, &err);
    if (!s)
        fprintf(stderr, "pc_store_open: %s\n", err.message);
    return s;
}

static pc_store *open_store(const env *e)
{
    return open_store_syncing_late(e, 0);
}

/* ---- fsyncs of WAL files, counted ---------------------------------------------------------- */

/* The default VFS, but a WAL file's io methods are a copy of the real ones
 * whose xSync counts before syncing. The file itself is the real VFS's
 * (same size and layout), so every other method works on it unchanged. */
static sqlite3_vfs counting_vfs;
static const sqlite3_io_methods *real_methods;
static sqlite3_io_methods counting_methods;
static int wal_syncs;

static int counting_sync(sqlite3_file *f, int flags)
{
    __atomic_add_fetch(&wal_syncs, 1, __ATOMIC_RELAXED);
    return real_methods->xSync(f, flags);
}

static int counting_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                         int *out_flags)
{
    sqlite3_vfs *real = vfs->pAppData;
    int rc = real->xOpen(real, name, f, flags, out_flags);
    if (rc != SQLITE_OK || !(flags & SQLITE_OPEN_WAL) || !f->pMethods)
        return rc;
    if (!real_methods) { /* every file of the real VFS has the same methods */
        real_methods = f->pMethods;
        counting_methods = *real_methods;
        counting_methods.xSync = counting_sync;
    }
    f->pMethods = &counting_methods;
    return rc;
}

/* Makes the counting VFS the default (before any store is opened). */
static int count_wal_syncs(void)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real)
        return -1;
    counting_vfs = *real;
    counting_vfs.zName = "paychan-counting";
    counting_vfs.pAppData = real;
    counting_vfs.xOpen = counting_open;
    return sqlite3_vfs_register(&counting_vfs, 1) == SQLITE_OK ? 0 : -1;
}

static int syncs_now(void)
{
    return __atomic_load_n(&wal_syncs, __ATOMIC_RELAXED);
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/paychan-commit-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    snprintf(e->path, sizeof e->path, "%s/store.db", e->dir);
    if (!(e->store = open_store(e)))
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    pc_store_close(e->store);
    pc_test_remove_sqlite(e->path);
    rmdir(e->dir);
    free(e);
    return 0;
}

/* What a callback saw: the thread it ran on and the result. */
typedef struct seen {
    pthread_t thread;
    int calls;
    pc_store_result r;
} seen;

static void record(void *arg, const pc_store_result *r)
{
    seen *s = arg;
    s->thread = pthread_self();
    s->r = *r;
    __atomic_add_fetch(&s->calls, 1, __ATOMIC_RELEASE);
}

/* On an idle store the asynchronous forms commit on the caller's thread:
 * the callback has run, there, with the durable outcome, when the call
 * returns. (Through the writer thread it would come later, on another
 * thread.) */
static void test_idle_store_commits_on_the_caller(void **state)
{
    env *e = *state;
    pc_address m;
    pc_test_store_address(1, &m);
    pc_u256 id = pc_test_store_token_id(1);
    for (uint64_t i = 1; i <= 20; i++) {
        seen s = {0};
        pc_store_next_count_async(e->store, &m, &id, record, &s);
        assert_int_equal(__atomic_load_n(&s.calls, __ATOMIC_ACQUIRE), 1);
        assert_true(pthread_equal(s.thread, pthread_self()));
        assert_int_equal(s.r.rc, 0);
        assert_int_equal(s.r.count, i);
    }
    pc_signature sig;
    pc_test_count_sig(7, &sig);
    seen s = {0};
    pc_store_offer_count_async(e->store, &m, &id, 7, &sig, record, &s);
    assert_int_equal(__atomic_load_n(&s.calls, __ATOMIC_ACQUIRE), 1);
    assert_true(pthread_equal(s.thread, pthread_self()));
    assert_true(s.r.rc == 0 && s.r.verdict == PC_COUNT_ACCEPTED_NEWEST && s.r.highest == 7);

    pc_store_close(e->store); /* it was durable when the callback ran */
    assert_non_null(e->store = open_store(e));
    pc_error err = {0};
    pc_signature best;
    uint64_t best_count = 0;
    int found = 0;
    assert_int_equal(pc_store_best_token(e->store, &m, &id, &best_count, &best,
                                         &found, &err), 0);
    assert_true(found && best_count == 7 && pc_test_sig_is_for(&best, 7));
}

static void count_commit(void *ctx, uint64_t micros)
{
    (void)micros;
    __atomic_add_fetch((int *)ctx, 1, __ATOMIC_RELAXED);
}

/* The list forms of offer_count (asynchronous, blocking) are one batch
 * each: the commit before it (the count it replays) and one for its seven
 * offers, whose verdicts are those of offering them one after the other. */
static void test_offer_list_is_one_commit(void **state)
{
    env *e = *state;
    for (int blocking = 0; blocking <= 1; blocking++) {
        int commits = 0;
        pc_store_set_observer(e->store, count_commit, &commits);
        assert_int_equal(pc_test_offer_list(e->store, 3 + 2 * (unsigned)blocking, blocking), 0);
        assert_int_equal(__atomic_load_n(&commits, __ATOMIC_RELAXED), 2);
        pc_store_set_observer(e->store, NULL, NULL);
    }
}

/* Blocking and asynchronous callers from many threads at once, so that
 * some commit their own batch and others queue behind a running one:
 * every count is handed out exactly once, none is lost, all survive a
 * reopen. */
enum { THREADS = 6, PER_THREAD = 150 };

typedef struct storm {
    pc_store *store;
    pc_address m;
    pc_u256 id;
    uint64_t counts[PER_THREAD];
    int failures;
} storm;

static void *storm_main(void *arg)
{
    storm *st = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        pc_error err = {0};
        if (i % 2) {
            if (pc_store_next_count(st->store, &st->m, &st->id,
                                    &st->counts[i], &err) != 0)
                st->failures++;
            continue;
        }
        seen s = {0};
        pc_store_next_count_async(st->store, &st->m, &st->id, record, &s);
        while (!__atomic_load_n(&s.calls, __ATOMIC_ACQUIRE))
            usleep(50);
        st->counts[i] = s.r.count;
        st->failures += s.r.rc != 0;
    }
    return NULL;
}

static void test_mixed_callers_share_the_commits(void **state)
{
    env *e = *state;
    storm st[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        st[i] = (storm){.store = e->store, .id = pc_test_store_token_id(2)};
        pc_test_store_address(2, &st[i].m);
        assert_int_equal(pthread_create(&t[i], NULL, storm_main, &st[i]), 0);
    }
    static unsigned taken[THREADS * PER_THREAD + 1];
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(st[i].failures, 0);
        for (int k = 0; k < PER_THREAD; k++) {
            assert_true(st[i].counts[k] >= 1 && st[i].counts[k] <= THREADS * PER_THREAD);
            taken[st[i].counts[k]]++;
        }
    }
    for (int c = 1; c <= THREADS * PER_THREAD; c++)
        assert_int_equal(taken[c], 1);
    pc_store_close(e->store);
    assert_non_null(e->store = open_store(e));
    uint64_t next = 0;
    pc_error err = {0};
    assert_int_equal(pc_store_next_count(e->store, &st[0].m, &st[0].id, &next,
                                         &err), 0);
    assert_int_equal(next, THREADS * PER_THREAD + 1);
}

/* While issued counts are synced late, a count given back is synced
 * before the call returns (with it the WAL frame of the count it gives
 * back, so a power loss cannot keep that count and lose the return), and
 * the counts issued after it are synced late again. */
static void test_returned_count_is_synced_at_once(void **state)
{
    env *e = *state;
    pc_store_close(e->store);
    assert_non_null(e->store = open_store_syncing_late(e, 60000));
    pc_address m;
    pc_test_store_address(3, &m);
    pc_u256 id = pc_test_store_token_id(3);
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 1); /* a fresh WAL: header synced */
    int before = syncs_now(), returned = 0;
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 2);
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 3);
    assert_int_equal(syncs_now(), before); /* issued: written, the sync still to come */
    pc_error err = {0};
    assert_int_equal(pc_store_return_count(e->store, &m, &id, 3, &returned, &err), 0);
    assert_int_equal(returned, 1);
    int after_return = syncs_now();
    assert_true(after_return > before);
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 3);
    assert_int_equal(syncs_now(), after_return);

    pc_store_close(e->store); /* closing syncs what is owed */
    assert_non_null(e->store = open_store(e));
    assert_int_equal(pc_test_next_count(e->store, &m, &id), 4);
}

int main(void)
{
    if (count_wal_syncs() != 0) {
        fprintf(stderr, "cannot register the counting VFS\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_idle_store_commits_on_the_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_callers_share_the_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offer_list_is_one_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_returned_count_is_synced_at_once, setup, teardown),
    };
    return cmocka_run_group_tests_name("store_commit", tests, NULL, NULL);
}
