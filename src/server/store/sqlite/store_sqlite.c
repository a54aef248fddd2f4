/* store_sqlite.c: the SQLite backend of store.h. One database file in WAL
 * mode with synchronous=FULL, so a commit is on disk when it returns.
 *
 * Group commit: one fsync costs ~0.1 ms here (measured-here.md: ~8k single
 * upserts/s), so every write is queued to one writer thread, which takes all
 * queued operations, runs them in one transaction, commits once and only then
 * wakes their callers (each its own: the callers of the next batch sleep on). Under load many operations share one fsync; a caller
 * still returns only after the commit that contains its operation. When no
 * batch is running and nothing is queued, the caller commits its own
 * operation on its own thread instead (one fsync it would have waited for
 * anyway, without the two thread wake-ups of the hand-over: measured at
 * c=1 on validateToken, p50 0.29-0.33 -> 0.26-0.29 ms, CPU 180-240 -> 140-170
 * us per request). One batch runs at a time, whoever runs it, which also
 * gives per-key atomicity for free. Reads use a second connection
 * (WAL lets it read the last commit while the writer writes). The schema
 * and its migrations are in store_sqlite_schema.c, the reads in
 * store_sqlite_read.c.
 *
 * Issued counts may be synced late (count_sync_delay_ms, store.h): a batch
 * of only OP_NEXT_COUNT commits with synchronous=NORMAL (in the OS's
 * cache: safe from a crash of the process), and the writer fsyncs the WAL
 * once the oldest such commit is count_sync_delay_ms old, or the next
 * commit that needs the disk does it for them (an fsync of the WAL covers
 * every frame before). This takes the consumer's fsync off the token's
 * path: at c=1 one durable write less per paid request. A count given
 * back (OP_RETURN_COUNT) is never synced late (see sq_return_count). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "server/store/store_internal.h"
#include "server/store/sqlite/store_sqlite_admin.h"
#include "server/store/sqlite/store_sqlite_gas.h"
#include "server/store/sqlite/store_sqlite_money.h"
#include "server/store/sqlite/store_sqlite_internal.h"
#include "server/store/sqlite/store_sqlite_schema.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONCE_SWEEP_SECONDS 60
#define SEEN_BYTES (PC_COUNTER_WINDOW / 8)

static const char *const writer_sql[ST_COUNT] = {
    [ST_NEXT_COUNT] = "INSERT INTO consumer_counters VALUES(?1, ?2, 1) ON CONFLICT DO UPDATE"
                      " SET count = count + 1 RETURNING count",
    [ST_RETURN_COUNT] = "UPDATE consumer_counters SET count = count - 1"
                        " WHERE mediator = ?1 AND token_id = ?2 AND count = ?3",
    [ST_PROVIDER_GET] = "SELECT highest, seen, sig FROM provider_counters"
                        " WHERE mediator = ?1 AND token_id = ?2",
    [ST_PROVIDER_PUT] = "INSERT OR REPLACE INTO provider_counters VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_FORGET_CONSUMER] = "DELETE FROM consumer_counters WHERE mediator = ?1",
    [ST_FORGET_PROVIDER] = "DELETE FROM provider_counters WHERE mediator = ?1",
    [ST_MEDIATOR_PUT] = "INSERT OR REPLACE INTO mediators VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_MEDIATOR_DELETE] = "DELETE FROM mediators WHERE mediator = ?1 AND role = ?2",
    /* An existing but expired nonce counts as fresh again. */
    [ST_NONCE_CLAIM] = "INSERT INTO nonces VALUES(?1, ?2) ON CONFLICT DO UPDATE"
                       " SET expires_at = excluded.expires_at WHERE expires_at <= ?3",
    [ST_NONCE_SWEEP] = "DELETE FROM nonces WHERE expires_at <= ?1",
};

/* ---- the writer's operations (each runs inside the batch transaction) ------------------- */


/* Steps a statement that returns no row. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int run_next_count(sqlite_store *s, write_op *op)
{
    sqlite3_stmt *st = s->st[ST_NEXT_COUNT];
    sqlite_bind_key(st, op->mediator, op->token_id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return sqlite3_reset(st), -1;
    op->out_count = (uint64_t)sqlite3_column_int64(st, 0);
    return step_done(st); /* finishes the statement so the write is complete */
}

/* Gives the last issued count back when it is op->count (the row's count
 * then one less); op->returned says whether it was. */
static int run_return_count(sqlite_store *s, write_op *op)
{
    sqlite3_stmt *st = s->st[ST_RETURN_COUNT];
    sqlite_bind_key(st, op->mediator, op->token_id);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)op->count);
    if (step_done(st) != 0)
        return -1;
    op->returned = sqlite3_changes(s->wdb) == 1;
    return 0;
}

/* Reads the provider row into *w and sig; a missing row is an empty window. */
static int load_window(sqlite_store *s, const write_op *op, pc_counter_window *w, uint8_t sig[65])
{
    sqlite3_stmt *st = s->st[ST_PROVIDER_GET];
    sqlite_bind_key(st, op->mediator, op->token_id);
    memset(w, 0, sizeof *w);
    memset(sig, 0, 65);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != SEEN_BYTES || sqlite3_column_bytes(st, 2) != 65)
            return sqlite3_reset(st), -1;
        w->highest = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(w->seen, sqlite3_column_blob(st, 1), SEEN_BYTES);
        memcpy(sig, sqlite3_column_blob(st, 2), 65);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int run_offer(sqlite_store *s, write_op *op)
{
    pc_counter_window w;
    uint8_t sig[65];
    if (load_window(s, op, &w, sig) != 0)
        return -1;
    int r = pc_counter_window_offer(&w, op->count);
    op->verdict = pc_store_verdict_from_window(r);
    op->highest = w.highest;
    if (r == PC_WINDOW_REPLAY)
        return 0;
    sqlite3_stmt *st = s->st[ST_PROVIDER_PUT];
    sqlite_bind_key(st, op->mediator, op->token_id);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)w.highest);
    sqlite3_bind_blob(st, 4, w.seen, SEEN_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, r == PC_WINDOW_NEWEST ? op->sig : sig, 65, SQLITE_STATIC);
    return step_done(st);
}

/* Deletes the counters `role` keeps: the counts issued or the counts validated. */
static int run_forget(sqlite_store *s, const pc_address *mediator, pc_mediator_role role)
{
    sqlite3_stmt *st = s->st[role == PC_ROLE_CONSUMER ? ST_FORGET_CONSUMER : ST_FORGET_PROVIDER];
    sqlite_bind_key(st, mediator, NULL);
    return step_done(st);
}

static void bind_u256(sqlite3_stmt *st, int col, const pc_u256 *v)
{
    uint8_t be[32];
    pc_u256_to_be(v, be);
    sqlite3_bind_blob(st, col, be, 32, SQLITE_TRANSIENT);
}

static int run_put_mediator(sqlite_store *s, const pc_mediator_record *rec)
{
    sqlite3_stmt *st = s->st[ST_MEDIATOR_PUT];
    sqlite_bind_key(st, &rec->mediator, NULL);
    sqlite3_bind_int(st, 2, (int)rec->role);
    sqlite3_bind_blob(st, 3, rec->account.bytes, 20, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, rec->counterparty.bytes, 20, SQLITE_STATIC);
    bind_u256(st, 5, &rec->deposit_amount);
    bind_u256(st, 6, &rec->funding_threshold);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)rec->token_active_since);
    bind_u256(st, 8, &rec->token_id);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)rec->created_at);
    return step_done(st);
}

static int run_delete_mediator(sqlite_store *s, const pc_address *mediator, pc_mediator_role role)
{
    sqlite3_stmt *st = s->st[ST_MEDIATOR_DELETE];
    sqlite_bind_key(st, mediator, NULL);
    sqlite3_bind_int(st, 2, (int)role);
    return step_done(st) || run_forget(s, mediator, role) ? -1 : 0;
}

static int run_claim_nonce(sqlite_store *s, write_op *op)
{
    sqlite3_stmt *st = s->st[ST_NONCE_CLAIM];
    sqlite3_reset(st);
    sqlite3_bind_blob(st, 1, op->nonce, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)op->expires_at);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)pc_store_now());
    if (step_done(st) != 0)
        return -1;
    op->fresh = sqlite3_changes(s->wdb) == 1;
    return 0;
}

static int run_op(sqlite_store *s, write_op *op)
{
    switch (op->kind) {
    case OP_NEXT_COUNT:
        return run_next_count(s, op);
    case OP_RETURN_COUNT:
        return run_return_count(s, op);
    case OP_OFFER:
        return run_offer(s, op);
    case OP_FORGET:
        return run_forget(s, op->mediator, op->role);
    case OP_PUT_MEDIATOR:
        return run_put_mediator(s, op->rec);
    case OP_DELETE_MEDIATOR:
        return run_delete_mediator(s, op->mediator, op->role);
    case OP_CLAIM_NONCE:
        return run_claim_nonce(s, op);
    }
    return -1;
}

/* Drops expired nonces at most once per NONCE_SWEEP_SECONDS. */
static int maybe_sweep_nonces(sqlite_store *s)
{
    uint64_t now = pc_store_now();
    if (now < s->last_sweep + NONCE_SWEEP_SECONDS)
        return 0;
    s->last_sweep = now;
    sqlite3_stmt *st = s->st[ST_NONCE_SWEEP];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
    return step_done(st);
}

/* The batch's statements in one transaction, committed. */
static int run_statements(sqlite_store *s, write_op *batch, pc_error *err)
{
    if (pc_sqlite_exec(s->wdb, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    int failed = maybe_sweep_nonces(s);
    for (write_op *op = batch; op && !failed; op = op->next)
        failed = run_op(s, op);
    if (failed) {
        pc_sqlite_error(err, s->wdb, "write failed");
        pc_error ignored;
        pc_sqlite_exec(s->wdb, "ROLLBACK", &ignored);
        return -1;
    }
    if (pc_sqlite_exec(s->wdb, "COMMIT", err) != 0) {
        pc_error ignored;
        pc_sqlite_exec(s->wdb, "ROLLBACK", &ignored);
        return -1;
    }
    return 0;
}

/* 1 when batch may commit without an fsync: it only issues counts and the
 * oldest commit not yet fsync'ed is younger than the delay. */
static int batch_may_wait_for_sync(const sqlite_store *s, const write_op *batch, uint64_t now)
{
    if (!s->sync_delay_us || (s->unsynced_since_us && now - s->unsynced_since_us >= s->sync_delay_us))
        return 0;
    for (const write_op *op = batch; op; op = op->next)
        if (op->kind != OP_NEXT_COUNT)
            return 0;
    return 1;
}

static int set_relaxed(sqlite_store *s, int relaxed, pc_error *err)
{
    if (s->wdb_relaxed == relaxed)
        return 0;
    if (pc_sqlite_exec(s->wdb, relaxed ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                       err) != 0)
        return -1;
    s->wdb_relaxed = relaxed;
    return 0;
}

/* fsyncs the WAL, and with it every commit made with synchronous=NORMAL.
 * Falls back on a checkpoint (which syncs the WAL first) when SQLite
 * does not hand out the WAL file. */
static int sync_wal(sqlite_store *s)
{
    sqlite3_file *wal = NULL;
    if (sqlite3_file_control(s->wdb, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
        wal && wal->pMethods)
        return wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) == SQLITE_OK ? 0 : -1;
    pc_error ignored;
    return pc_sqlite_exec(s->wdb, "PRAGMA wal_checkpoint(PASSIVE)", &ignored);
}

/* Runs a batch in one transaction. 0 when committed; -1 (all rolled back,
 * *err says why) when any statement or the commit failed: the batch's
 * operations then all fail, since a storage fault is not theirs alone. A
 * batch of issued counts may commit without an fsync (see the top). */
static int run_batch(sqlite_store *s, write_op *batch, pc_error *err)
{
    uint64_t now = pc_store_clock_us();
    int relaxed = batch_may_wait_for_sync(s, batch, now);
    if (set_relaxed(s, relaxed, err) != 0)
        return -1;
    sqlite3_int64 changes = sqlite3_total_changes64(s->wdb);
    if (run_statements(s, batch, err) != 0)
        return -1;
    if (relaxed && !s->unsynced_since_us)
        s->unsynced_since_us = now;
    else if (!relaxed && sqlite3_total_changes64(s->wdb) != changes)
        s->unsynced_since_us = 0; /* this commit's fsync covered the WAL before it */
    return 0;
}

/* Calls and frees the asynchronous operations of a finished batch
 * (outside the queue lock: the callbacks may take their own). */
static void finish_async(write_op *list, const pc_error *failure)
{
    for (write_op *op = list, *next; op; op = next) {
        next = op->next;
        pc_store_result r = {.rc = failure ? -1 : 0,
                             .count = op->out_count,
                             .verdict = op->verdict,
                             .highest = op->highest};
        if (failure)
            r.err = *failure;
        op->then(op->then_arg, &r);
        free(op);
    }
}

/* Runs batch as the committer: the caller set s->committing under qlock
 * and released the lock. One transaction; then the blocking callers are
 * woken and the asynchronous ones called (after the role is given up, so
 * the next batch can start meanwhile: the callbacks never touch wdb). */
static void commit_batch(sqlite_store *s, write_op *batch)
{
    pc_error err = {0};
    uint64_t start = pc_store_clock_us();
    int was_synced = !s->unsynced_since_us;
    int ok = run_batch(s, batch, &err) == 0;
    int sync_due_later = was_synced && s->unsynced_since_us; /* the writer must time it */
    pc_store_observed(&s->base, start);
    write_op *async = NULL;
    pthread_mutex_lock(&s->qlock);
    if (!ok)
        snprintf(s->batch_error, sizeof s->batch_error, "%s", err.message);
    for (write_op *op = batch, *next; op; op = next) {
        next = op->next; /* op may be gone once its caller wakes */
        op->done = ok ? 1 : -1;
        if (op->then) {
            op->next = async;
            async = op;
        } else {
            pthread_cond_signal(&op->woken);
        }
    }
    s->committing = 0;
    if (s->head || s->stopping || sync_due_later)
        pthread_cond_signal(&s->work); /* what queued up meanwhile, the close, or the fsync */
    pthread_mutex_unlock(&s->qlock);
    finish_async(async, ok ? NULL : &err);
}

/* Caller holds qlock, no batch runs and commits wait for their fsync:
 * fsyncs them once the oldest is due (or at once when `now_anyway`), as
 * the committer (the lock released meanwhile), else sleeps until it is due
 * or work arrives. */
static void sync_or_wait(sqlite_store *s, int now_anyway)
{
    uint64_t due = s->unsynced_since_us + s->sync_delay_us;
    if (now_anyway || pc_store_clock_us() >= due) {
        s->committing = 1;
        pthread_mutex_unlock(&s->qlock);
        int ok = sync_wal(s) == 0;
        s->unsynced_since_us = ok ? 0 : pc_store_clock_us(); /* a failure: again later */
        pthread_mutex_lock(&s->qlock);
        s->committing = 0;
        return;
    }
    struct timespec until = {.tv_sec = (time_t)(due / 1000000u),
                             .tv_nsec = (long)(due % 1000000u) * 1000};
    pthread_cond_timedwait(&s->work, &s->qlock, &until);
}

static void *writer_main(void *arg)
{
    sqlite_store *s = arg;
    pthread_mutex_lock(&s->qlock);
    for (;;) {
        while ((!s->head || s->committing) && !s->stopping) {
            if (!s->committing && s->unsynced_since_us)
                sync_or_wait(s, 0);
            else
                pthread_cond_wait(&s->work, &s->qlock);
        }
        if (s->committing) { /* closing while a caller commits inline: let it finish */
            pthread_cond_wait(&s->work, &s->qlock);
            continue;
        }
        if (!s->head) { /* stopping, and everything queued is done */
            if (s->unsynced_since_us)
                sync_or_wait(s, 1);
            break;
        }
        write_op *batch = s->head;
        s->head = s->tail = NULL;
        s->committing = 1;
        pthread_mutex_unlock(&s->qlock);
        commit_batch(s, batch);
        pthread_mutex_lock(&s->qlock);
    }
    pthread_mutex_unlock(&s->qlock);
    return NULL;
}

/* Caller holds qlock; first..(its last `next`) is a list of operations.
 * When no batch is running and nothing waits, the caller becomes the
 * committer of its own list and 1 is returned: it runs commit_batch right
 * away, on its own thread, saving the hand-over to the writer and back
 * (two thread wake-ups, ~0.1 ms of latency at low load). Otherwise the
 * list is queued for the writer (group commit under load) and 0 returned. */
static int claim_or_queue_locked(sqlite_store *s, write_op *first)
{
    for (write_op *op = first; op; op = op->next)
        op->done = 0;
    if (!s->committing && !s->head) {
        s->committing = 1;
        return 1;
    }
    write_op *last = first;
    while (last->next)
        last = last->next;
    if (s->tail)
        s->tail->next = first;
    else
        s->head = first;
    s->tail = last;
    pthread_cond_signal(&s->work);
    return 0;
}

/* Runs op in a commit and waits until that commit is done. */
static int submit(sqlite_store *s, write_op *op, pc_error *err)
{
    pthread_cond_init(&op->woken, NULL);
    op->next = NULL;
    pthread_mutex_lock(&s->qlock);
    if (claim_or_queue_locked(s, op)) {
        pthread_mutex_unlock(&s->qlock);
        commit_batch(s, op);
        pthread_mutex_lock(&s->qlock);
    }
    while (!op->done)
        pthread_cond_wait(&op->woken, &s->qlock);
    int ok = op->done > 0;
    if (!ok)
        pc_error_set(err, PC_ERR_INTERNAL, "%s", s->batch_error);
    pthread_mutex_unlock(&s->qlock);
    pthread_cond_destroy(&op->woken);
    return ok ? 0 : -1;
}

/* ---- the interface ------------------------------------------------------------------ */

static int sq_next_count(pc_store *base, const pc_address *mediator, const uint8_t token_id[32],
                         uint64_t *count, pc_error *err)
{
    write_op op = {.kind = OP_NEXT_COUNT, .mediator = mediator, .token_id = token_id};
    if (submit((sqlite_store *)base, &op, err) != 0)
        return -1;
    *count = op.out_count;
    return 0;
}

/* Committed with its fsync, like every operation but OP_NEXT_COUNT
 * (batch_may_wait_for_sync): synced late, a power loss could keep the
 * count it gives back (an earlier WAL frame, still owed its late sync)
 * and lose the return, and the consumer would pay for that count after
 * all. Its fsync covers that earlier frame too. */
static int sq_return_count(pc_store *base, const pc_address *mediator,
                           const uint8_t token_id[32], uint64_t count, int *returned,
                           pc_error *err)
{
    write_op op = {
        .kind = OP_RETURN_COUNT, .mediator = mediator, .token_id = token_id, .count = count};
    if (submit((sqlite_store *)base, &op, err) != 0)
        return -1;
    *returned = op.returned;
    return 0;
}

static int sq_offer_count(pc_store *base, const pc_address *mediator, const uint8_t token_id[32],
                          uint64_t count, const uint8_t sig[65], pc_count_verdict *verdict,
                          uint64_t *highest, pc_error *err)
{
    write_op op = {
        .kind = OP_OFFER, .mediator = mediator, .token_id = token_id, .count = count, .sig = sig};
    if (submit((sqlite_store *)base, &op, err) != 0)
        return -1;
    *verdict = op.verdict;
    *highest = op.highest;
    return 0;
}

/* An asynchronous operation with its inputs copied; NULL after calling
 * done with the failure. */
static write_op *async_op(op_kind kind, const pc_address *mediator, const uint8_t token_id[32],
                          pc_store_done done, void *arg)
{
    write_op *op = calloc(1, sizeof *op);
    if (!op) {
        pc_store_result r = {.rc = -1};
        pc_error_set(&r.err, PC_ERR_INTERNAL, "SQLite store: out of memory");
        done(arg, &r);
        return NULL;
    }
    op->kind = kind;
    op->own.mediator = *mediator;
    memcpy(op->own.token_id, token_id, 32);
    op->mediator = &op->own.mediator;
    op->token_id = op->own.token_id;
    op->then = done;
    op->then_arg = arg;
    return op;
}

/* Commits or queues a list of asynchronous ops (linked by next) together:
 * the writer cannot take a batch in between, so one commit covers them
 * all. While stopping (writer gone) they fail at once. */
static void submit_async_list(sqlite_store *s, write_op *first)
{
    if (!first)
        return;
    pthread_mutex_lock(&s->qlock);
    int stopping = s->stopping;
    int now = !stopping && claim_or_queue_locked(s, first);
    pthread_mutex_unlock(&s->qlock);
    if (now)
        commit_batch(s, first);
    if (stopping) {
        pc_error err;
        pc_error_set(&err, PC_ERR_INTERNAL, "SQLite store: closing");
        finish_async(first, &err);
    }
}

/* Appends op (if its allocation did not fail) to the list ending at *link. */
static void append_op(write_op ***link, write_op *op)
{
    if (op) {
        **link = op;
        *link = &op->next;
    }
}

static void sq_next_counts_async(pc_store *base, size_t n, const pc_address *mediators,
                                 const uint8_t (*token_ids)[32], pc_store_done done,
                                 void *const *args)
{
    write_op *first = NULL, **link = &first;
    for (size_t i = 0; i < n; i++) /* (a failed allocation answered its own caller) */
        append_op(&link, async_op(OP_NEXT_COUNT, &mediators[i], token_ids[i], done, args[i]));
    *link = NULL;
    submit_async_list((sqlite_store *)base, first);
}

/* The offers in one batch, applied in order: one transaction, one commit. */
static void sq_offer_counts_async(pc_store *base, size_t n, const pc_store_offer *offers,
                                  pc_store_done done)
{
    write_op *first = NULL, **link = &first;
    for (size_t i = 0; i < n; i++) {
        write_op *op = async_op(OP_OFFER, &offers[i].mediator, offers[i].token_id, done,
                                offers[i].arg);
        if (op) {
            op->count = offers[i].count;
            memcpy(op->own.sig, offers[i].sig, 65);
            op->sig = op->own.sig;
        }
        append_op(&link, op);
    }
    *link = NULL;
    submit_async_list((sqlite_store *)base, first);
}

static int sq_forget_counters(pc_store *base, const pc_address *mediator, pc_mediator_role role,
                              pc_error *err)
{
    write_op op = {.kind = OP_FORGET, .mediator = mediator, .role = role};
    return submit((sqlite_store *)base, &op, err);
}

static int sq_put_mediator(pc_store *base, const pc_mediator_record *rec, pc_error *err)
{
    write_op op = {.kind = OP_PUT_MEDIATOR, .rec = rec};
    return submit((sqlite_store *)base, &op, err);
}

static int sq_delete_mediator(pc_store *base, const pc_address *mediator, pc_mediator_role role,
                              pc_error *err)
{
    write_op op = {.kind = OP_DELETE_MEDIATOR, .mediator = mediator, .role = role};
    return submit((sqlite_store *)base, &op, err);
}

static int sq_claim_nonce(pc_store *base, const uint8_t nonce[32], uint64_t expires_at,
                          int *fresh, pc_error *err)
{
    write_op op = {.kind = OP_CLAIM_NONCE, .nonce = nonce, .expires_at = expires_at};
    if (submit((sqlite_store *)base, &op, err) != 0)
        return -1;
    *fresh = op.fresh;
    return 0;
}

/* ---- open and close ------------------------------------------------------------------ */

static void sq_close(pc_store *base)
{
    sqlite_store *s = (sqlite_store *)base;
    if (s->writer_started) {
        pthread_mutex_lock(&s->qlock);
        s->stopping = 1;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->qlock);
        pthread_join(s->writer, NULL);
    }
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->rdb);
    sqlite3_close(s->wdb);
    pthread_mutex_destroy(&s->qlock);
    pthread_mutex_destroy(&s->rlock);
    pthread_cond_destroy(&s->work);
    free(s);
}

static const pc_store_ops sqlite_ops = {
    .close = sq_close,
    .next_count = sq_next_count,
    .return_count = sq_return_count,
    .offer_count = sq_offer_count,
    .best_token = pc_sqlite_store_best_token,
    .forget_counters = sq_forget_counters,
    .put_mediator = sq_put_mediator,
    .get_mediator = pc_sqlite_store_get_mediator,
    .list_mediators = pc_sqlite_store_list_mediators,
    .page_mediators = pc_sqlite_store_page_mediators,
    .issued_count = pc_sqlite_store_issued_count,
    .delete_mediator = sq_delete_mediator,
    .claim_nonce = sq_claim_nonce,
    .claim_chain = pc_sqlite_store_claim_chain,
    .next_counts_async = sq_next_counts_async,
    .offer_counts_async = sq_offer_counts_async,
    .record_gas = pc_sqlite_store_record_gas,
    .gas_totals = pc_sqlite_store_gas_totals,
    .recent_gas = pc_sqlite_store_recent_gas,
    .record_money = pc_sqlite_store_record_money,
    .money_totals = pc_sqlite_store_money_totals,
    .last_redemption = pc_sqlite_store_last_redemption,
};

static int open_writer(sqlite_store *s, const char *path, pc_error *err)
{
    if (pc_sqlite_open_connection(path, &s->wdb, err) != 0)
        return -1;
    sqlite3_stmt *st = NULL;
    int wal = sqlite3_prepare_v2(s->wdb, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK
              && sqlite3_step(st) == SQLITE_ROW
              && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal)
        return pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: %s: cannot switch to WAL mode",
                            path);
    if (pc_sqlite_migrate(s->wdb, path, err) != 0)
        return -1;
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(s->wdb, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK)
            return pc_sqlite_error(err, s->wdb, "prepare");
    return 0;
}

pc_store *pc_store_sqlite_open(const pc_store_options *opts, pc_error *err)
{
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s) {
        pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: out of memory");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    snprintf(s->base.description, sizeof s->base.description, "sqlite:%s", opts->sqlite_path);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_mutex_init(&s->rlock, NULL);
    pthread_condattr_t monotonic; /* the writer's timed waits use pc_store_clock_us */
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&s->work, &monotonic);
    pthread_condattr_destroy(&monotonic);
    s->sync_delay_us = opts->count_sync_delay_ms > 0 ? (uint64_t)opts->count_sync_delay_ms * 1000u : 0;
    if (open_writer(s, opts->sqlite_path, err) != 0
        || pc_sqlite_open_connection(opts->sqlite_path, &s->rdb, err) != 0) {
        sq_close(&s->base);
        return NULL;
    }
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: cannot start the writer thread");
        sq_close(&s->base);
        return NULL;
    }
    s->writer_started = 1;
    pthread_setname_np(s->writer, "store-writer");
    return &s->base;
}
