/* store_sqlite_read.c: the reads of the SQLite store (store.h), on the
 * read connection, which WAL lets read the last commit while the writer
 * writes; and the rare writes that go through it too (gas records, money
 * events, the chain claim), each in its own transaction. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/sqlite/store_sqlite_admin.h"
#include "server/store/sqlite/store_sqlite_gas.h"
#include "server/store/sqlite/store_sqlite_internal.h"
#include "server/store/sqlite/store_sqlite_money.h"
#include "server/store/sqlite/store_sqlite_schema.h"

/* ---- reads ------------------------------------------------------------------------------- */

/* Prepares sql on the read connection (caller holds rlock). */
static sqlite3_stmt *prepare_read(sqlite_store *s, const char *sql, pc_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL) != SQLITE_OK) {
        pc_sqlite_error(err, s->rdb, "read");
        return NULL;
    }
    return st;
}

int pc_sqlite_store_best_token(pc_store *base, const pc_address *mediator,
                               const uint8_t token_id[32], uint64_t *count, uint8_t sig[65],
                               int *found, pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = prepare_read(
        s, "SELECT highest, sig FROM provider_counters WHERE mediator = ?1 AND token_id = ?2", err);
    int ret = st ? 0 : -1;
    if (st) {
        sqlite_bind_key(st, mediator, token_id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *count = (uint64_t)sqlite3_column_int64(st, 0);
            *found = 1;
            if (pc_sqlite_copy_blob(st, 1, sig, 65) != 0)
                ret = pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: corrupt signature row");
        } else if (rc != SQLITE_DONE) {
            ret = pc_sqlite_error(err, s->rdb, "best token");
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->rlock);
    return ret;
}


/* Runs a mediator query (mediator and role bound when mediator is not
 * NULL) and collects its rows. */
static int query_mediators(sqlite_store *s, const char *sql, const pc_address *mediator,
                           pc_mediator_role role, pc_record_list *out, pc_error *err)
{
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = prepare_read(s, sql, err);
    int ret = st ? 0 : -1, rc = SQLITE_DONE;
    if (st && mediator) {
        sqlite_bind_key(st, mediator, NULL);
        sqlite3_bind_int(st, 2, (int)role);
    }
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        pc_mediator_record rec;
        if (pc_sqlite_row_to_record(st, &rec) != 0)
            ret = pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: corrupt Mediator row");
        else
            ret = pc_record_list_push(out, &rec, err);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = pc_sqlite_error(err, s->rdb, "read Mediators");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

int pc_sqlite_store_get_mediator(pc_store *base, const pc_address *mediator, pc_mediator_role role,
                                 pc_mediator_record *rec, int *found, pc_error *err)
{
    pc_record_list l = {0};
    int ret = query_mediators((sqlite_store *)base,
                              PC_SQLITE_MEDIATOR_COLUMNS " WHERE mediator = ?1 AND role = ?2",
                              mediator, role, &l, err);
    if (ret == 0 && l.n == 1) {
        *rec = l.items[0];
        *found = 1;
    }
    free(l.items);
    return ret;
}

int pc_sqlite_store_list_mediators(pc_store *base, pc_mediator_record **recs, size_t *n,
                                   pc_error *err)
{
    pc_record_list l = {0};
    if (query_mediators((sqlite_store *)base, PC_SQLITE_MEDIATOR_COLUMNS, NULL, 0, &l, err) != 0) {
        free(l.items);
        return -1;
    }
    *recs = l.items;
    *n = l.n;
    return 0;
}

int pc_sqlite_store_page_mediators(pc_store *base, const pc_mediator_filter *f, size_t offset,
                                   size_t limit, pc_mediator_record **recs, size_t *n,
                                   size_t *total, pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_page_mediators(s->rdb, f, offset, limit, recs, n, total, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

int pc_sqlite_store_issued_count(pc_store *base, const pc_address *mediator,
                                 const uint8_t token_id[32], uint64_t *count, int *found,
                                 pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_issued_count(s->rdb, mediator, token_id, count, found, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

/* A one-off write at start-up, on the read connection: the writer's queue
 * needs no kind of operation for it, and WAL lets the two connections take
 * turns writing (the busy timeout waits for a batch in progress). */
int pc_sqlite_store_claim_chain(pc_store *base, const pc_chain_identity *node,
                                pc_chain_identity *stored, int *adopted, pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_claim_chain(s->rdb, node, stored, adopted, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

/* Gas records are a handful per redemption: written on the read connection
 * in their own transaction, like the chain claim, not through the writer. */
int pc_sqlite_store_record_gas(pc_store *base, const pc_gas_tx *tx, pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_record_gas(s->rdb, tx, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

int pc_sqlite_store_gas_totals(pc_store *base, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                               pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_gas_totals(s->rdb, scope, totals, n, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

int pc_sqlite_store_recent_gas(pc_store *base, pc_gas_tx **txs, size_t *n, pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_recent_gas(s->rdb, txs, n, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

/* Money events are as few as gas records: written on the read connection too. */
int pc_sqlite_store_record_money(pc_store *base, const pc_money_event *ev, int *fresh,
                                 pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_record_money(s->rdb, ev, fresh, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

int pc_sqlite_store_money_totals(pc_store *base, pc_money_total **totals, size_t *n, pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_money_totals(s->rdb, totals, n, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

int pc_sqlite_store_last_redemption(pc_store *base, const pc_address *mediator, pc_redemption *r,
                                    int *found, pc_error *err)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->rlock);
    int ret = pc_sqlite_last_redemption(s->rdb, mediator, r, found, err);
    pthread_mutex_unlock(&s->rlock);
    return ret;
}

