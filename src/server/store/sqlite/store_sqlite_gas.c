/* store_sqlite_gas.c: see store_sqlite_gas.h. */
#include "server/store/sqlite/store_sqlite_gas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_internal.h"
#include "server/store/sqlite/store_sqlite_schema.h"

/* The total of (scope, key) now, zero when there is none; 0 or -1. */
static int read_total(sqlite3 *db, int scope, const pc_address *key, pc_gas_total *t)
{
    sqlite3_stmt *st = NULL;
    memset(t, 0, sizeof *t);
    t->key = *key;
    if (sqlite3_prepare_v2(db, "SELECT txs, gas_used, fee FROM gas_totals"
                               " WHERE scope = ?1 AND key = ?2", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, scope);
    sqlite3_bind_blob(st, 2, key->bytes, 20, SQLITE_STATIC);
    int rc = sqlite3_step(st), ok = rc == SQLITE_DONE;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 2) == 32) {
        t->txs = (uint64_t)sqlite3_column_int64(st, 0);
        t->gas_used = (uint64_t)sqlite3_column_int64(st, 1);
        pc_u256_from_be(&t->fee, sqlite3_column_blob(st, 2));
        ok = 1;
    }
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

/* Adds tx to the total of (scope, key). */
static int add_to_total(sqlite3 *db, int scope, const pc_address *key, const pc_gas_tx *tx)
{
    pc_gas_total t;
    sqlite3_stmt *st = NULL;
    if (read_total(db, scope, key, &t) != 0)
        return -1;
    pc_gas_total_add(&t, tx->gas_used, &tx->fee);
    uint8_t fee[32];
    pc_u256_to_be(&t.fee, fee);
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO gas_totals VALUES(?1, ?2, ?3, ?4, ?5)", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, scope);
    sqlite3_bind_blob(st, 2, key->bytes, 20, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)t.txs);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)t.gas_used);
    sqlite3_bind_blob(st, 5, fee, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int append_tx(sqlite3 *db, const pc_gas_tx *tx)
{
    uint8_t wire[PC_GAS_TX_WIRE_LEN];
    sqlite3_stmt *st = NULL;
    pc_gas_tx_encode(tx, wire);
    if (sqlite3_prepare_v2(db, "INSERT INTO gas_txs(tx) VALUES(?1)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, wire, sizeof wire, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int pc_sqlite_record_gas(sqlite3 *db, const pc_gas_tx *tx, pc_error *err)
{
    static const pc_address none;
    char prune[128];
    pc_error ignored;
    snprintf(prune, sizeof prune,
             "DELETE FROM gas_txs WHERE seq <= (SELECT max(seq) FROM gas_txs) - %d",
             PC_STORE_RECENT_TXS);
    if (pc_sqlite_exec(db, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    if (add_to_total(db, PC_GAS_BY_ACCOUNT, &tx->account, tx) != 0 ||
        (!pc_address_equal(&tx->mediator, &none) &&
         add_to_total(db, PC_GAS_BY_MEDIATOR, &tx->mediator, tx) != 0) ||
        append_tx(db, tx) != 0) {
        pc_sqlite_error(err, db, "recording gas");
        return pc_sqlite_exec(db, "ROLLBACK", &ignored), -1;
    }
    if (pc_sqlite_exec(db, prune, err) != 0 || pc_sqlite_exec(db, "COMMIT", err) != 0)
        return pc_sqlite_exec(db, "ROLLBACK", &ignored), -1;
    return 0;
}

int pc_sqlite_collect(sqlite3 *db, const char *sql, int param, pc_sqlite_row_taker take,
                      size_t item_size, void **items, size_t *n, pc_error *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return pc_sqlite_error(err, db, "read");
    if (param >= 0)
        sqlite3_bind_int(st, 1, param);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            void *grown = realloc(*items, cap * item_size);
            if (!grown)
                break;
            *items = grown;
        }
        if (take(st, (char *)*items + *n * item_size) == 0)
            (*n)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : pc_sqlite_error(err, db, "read");
}

static int take_total(sqlite3_stmt *st, void *item)
{
    pc_gas_total *t = item;
    if (sqlite3_column_bytes(st, 0) != 20 || sqlite3_column_bytes(st, 3) != 32)
        return -1;
    memcpy(t->key.bytes, sqlite3_column_blob(st, 0), 20);
    t->txs = (uint64_t)sqlite3_column_int64(st, 1);
    t->gas_used = (uint64_t)sqlite3_column_int64(st, 2);
    pc_u256_from_be(&t->fee, sqlite3_column_blob(st, 3));
    return 0;
}

static int take_tx(sqlite3_stmt *st, void *item)
{
    if (sqlite3_column_bytes(st, 0) != PC_GAS_TX_WIRE_LEN)
        return -1;
    pc_gas_tx_decode(sqlite3_column_blob(st, 0), item);
    return 0;
}

int pc_sqlite_gas_totals(sqlite3 *db, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                         pc_error *err)
{
    return pc_sqlite_collect(db, "SELECT key, txs, gas_used, fee FROM gas_totals WHERE scope = ?1",
                   (int)scope, take_total, sizeof **totals, (void **)totals, n, err);
}

int pc_sqlite_recent_gas(sqlite3 *db, pc_gas_tx **txs, size_t *n, pc_error *err)
{
    return pc_sqlite_collect(db, "SELECT tx FROM gas_txs ORDER BY seq DESC", -1, take_tx, sizeof **txs,
                   (void **)txs, n, err);
}
