/* store_sqlite_internal.h: what store_sqlite.c (the writer, open and
 * close) shares with store_sqlite_read.c (the reads of store.h on the read
 * connection). Not for other modules. */
#ifndef PAYCHAN_SERVER_STORE_SQLITE_INTERNAL_H
#define PAYCHAN_SERVER_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "server/store/store_internal.h"

/* The writer's prepared statements. */
enum {
    ST_NEXT_COUNT,
    ST_RETURN_COUNT,
    ST_PROVIDER_GET,
    ST_PROVIDER_PUT,
    ST_FORGET_CONSUMER,
    ST_FORGET_PROVIDER,
    ST_MEDIATOR_PUT,
    ST_MEDIATOR_DELETE,
    ST_NONCE_CLAIM,
    ST_NONCE_SWEEP,
    ST_COUNT
};

typedef enum op_kind {
    OP_NEXT_COUNT,
    OP_RETURN_COUNT,
    OP_OFFER,
    OP_FORGET,
    OP_PUT_MEDIATOR,
    OP_DELETE_MEDIATOR,
    OP_CLAIM_NONCE
} op_kind;

/* One queued write. A blocking caller's inputs point into its frame, which
 * stays alive because it waits until `done`. An asynchronous one (`then`
 * set) is malloc'ed with its inputs copied into `own`, and freed by the
 * writer after calling `then`. */
typedef struct write_op {
    struct write_op *next;
    op_kind kind;
    const pc_address *mediator;
    const uint8_t *token_id, *sig, *nonce;
    const pc_mediator_record *rec;
    pc_mediator_role role; /* OP_FORGET, OP_DELETE_MEDIATOR */
    uint64_t count, expires_at;
    /* results */
    uint64_t out_count, highest;
    pc_count_verdict verdict;
    int fresh, returned, done;
    pthread_cond_t woken; /* blocking: signalled once `done` is set */
    pc_store_done then;   /* asynchronous: called once committed or failed */
    void *then_arg;
    struct {
        pc_address mediator;
        uint8_t token_id[32], sig[65];
    } own;
} write_op;

typedef struct sqlite_store {
    pc_store base;
    sqlite3 *wdb; /* used only by the writer thread once it runs */
    sqlite3_stmt *st[ST_COUNT];
    pthread_t writer;
    int writer_started;
    pthread_mutex_t qlock;
    pthread_cond_t work;
    write_op *head, *tail;
    int committing;    /* a batch runs (on the writer or inline on its caller) */
    int stopping;
    char batch_error[256]; /* why the last failed batch failed (under qlock) */
    uint64_t last_sweep;
    sqlite3 *rdb; /* read connection, under rlock */
    pthread_mutex_t rlock;
    /* late sync of issued counts; touched only by the committer of the
     * moment (or the writer under qlock with no batch running) */
    uint64_t sync_delay_us;     /* 0: every commit fsync'ed */
    int wdb_relaxed;            /* wdb runs with synchronous=NORMAL now */
    uint64_t unsynced_since_us; /* the first commit not yet fsync'ed, 0: none */
} sqlite_store;

/* Binds (mediator, token_id) as ?1, ?2 (token_id may be NULL) after a reset. */
static inline void sqlite_bind_key(sqlite3_stmt *st, const pc_address *mediator,
                                   const uint8_t *token_id)
{
    sqlite3_reset(st);
    sqlite3_bind_blob(st, 1, mediator->bytes, 20, SQLITE_STATIC);
    if (token_id)
        sqlite3_bind_blob(st, 2, token_id, 32, SQLITE_STATIC);
}

/* The store.h reads, each on the read connection under rlock (base is a
 * sqlite_store); see store.h for each. */
int pc_sqlite_store_best_token(pc_store *base, const pc_address *mediator,
                               const uint8_t token_id[32], uint64_t *count, uint8_t sig[65],
                               int *found, pc_error *err);
int pc_sqlite_store_get_mediator(pc_store *base, const pc_address *mediator, pc_mediator_role role,
                                 pc_mediator_record *rec, int *found, pc_error *err);
int pc_sqlite_store_list_mediators(pc_store *base, pc_mediator_record **recs, size_t *n,
                                   pc_error *err);
int pc_sqlite_store_page_mediators(pc_store *base, const pc_mediator_filter *f, size_t offset,
                                   size_t limit, pc_mediator_record **recs, size_t *n,
                                   size_t *total, pc_error *err);
int pc_sqlite_store_issued_count(pc_store *base, const pc_address *mediator,
                                 const uint8_t token_id[32], uint64_t *count, int *found,
                                 pc_error *err);
int pc_sqlite_store_claim_chain(pc_store *base, const pc_chain_identity *node,
                                pc_chain_identity *stored, int *adopted, pc_error *err);
int pc_sqlite_store_record_gas(pc_store *base, const pc_gas_tx *tx, pc_error *err);
int pc_sqlite_store_gas_totals(pc_store *base, pc_gas_scope scope, pc_gas_total **totals,
                               size_t *n, pc_error *err);
int pc_sqlite_store_recent_gas(pc_store *base, pc_gas_tx **txs, size_t *n, pc_error *err);
int pc_sqlite_store_record_money(pc_store *base, const pc_money_event *ev, int *fresh,
                                 pc_error *err);
int pc_sqlite_store_money_totals(pc_store *base, pc_money_total **totals, size_t *n, pc_error *err);
int pc_sqlite_store_last_redemption(pc_store *base, const pc_address *mediator, pc_redemption *r,
                                    int *found, pc_error *err);

#endif
