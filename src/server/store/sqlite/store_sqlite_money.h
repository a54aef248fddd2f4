/* store_sqlite_money.h: the SQLite backend's money ledger (private to
 * src/server/store_sqlite*.c): the record_money, money_totals and
 * last_redemption operations of store_internal.h on one connection, in the
 * tables of schema version 5 (store_sqlite_schema.c). Events are a few per
 * redemption, so each is written directly in its own transaction, like gas. */
#ifndef PAYCHAN_SERVER_STORE_SQLITE_MONEY_H
#define PAYCHAN_SERVER_STORE_SQLITE_MONEY_H

#include <sqlite3.h>

#include "server/store/store.h"

/* Records ev unless its id is in money_events (*fresh 0); the caller
 * serialises its use of db. */
int pc_sqlite_record_money(sqlite3 *db, const pc_money_event *ev, int *fresh, pc_error *err);

/* The amounts per account, malloc'ed into *totals / *n. */
int pc_sqlite_money_totals(sqlite3 *db, pc_money_total **totals, size_t *n, pc_error *err);

/* The last redemption of mediator (*found 0: none). */
int pc_sqlite_last_redemption(sqlite3 *db, const pc_address *mediator, pc_redemption *r,
                              int *found, pc_error *err);

#endif
