/* store_sqlite_gas.h: the SQLite backend's gas accounting (private to
 * src/server/store_sqlite*.c): the record_gas, gas_totals and recent_gas
 * operations of store_internal.h on one connection, each in one
 * transaction. Transactions are few (a handful per redemption), so they
 * are written directly rather than through the counters' group commit. */
#ifndef PAYCHAN_SERVER_STORE_SQLITE_GAS_H
#define PAYCHAN_SERVER_STORE_SQLITE_GAS_H

#include <sqlite3.h>

#include "server/store/store.h"

/* Runs a query with one integer parameter (param < 0: none) and hands each
 * row to take, which fills one item (0) or refuses a malformed row (-1);
 * the items taken are appended to the malloc'ed array *items of item_size
 * bytes each (*n of them). 0, or -1 with *err. Shared by the gas and money
 * readers. */
typedef int (*pc_sqlite_row_taker)(sqlite3_stmt *st, void *item);
int pc_sqlite_collect(sqlite3 *db, const char *sql, int param, pc_sqlite_row_taker take,
                      size_t item_size, void **items, size_t *n, pc_error *err);

/* Adds tx to its totals and the recent transactions (pruned to
 * PC_STORE_RECENT_TXS); the caller serialises its use of db. */
int pc_sqlite_record_gas(sqlite3 *db, const pc_gas_tx *tx, pc_error *err);

/* The totals of scope, malloc'ed into *totals / *n. */
int pc_sqlite_gas_totals(sqlite3 *db, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                         pc_error *err);

/* The recent transactions, newest first, malloc'ed into *txs / *n. */
int pc_sqlite_recent_gas(sqlite3 *db, pc_gas_tx **txs, size_t *n, pc_error *err);

#endif
