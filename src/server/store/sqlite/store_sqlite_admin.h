/* store_sqlite_admin.h: the SQLite backend's reads of Mediator records and
 * counters for the admin API (private to src/server/store_sqlite*.c): one
 * page of records in address order read with LIMIT/OFFSET on the table's
 * primary key (mediator, role), so a page of a large table costs the page,
 * not the table; and the consumer's counter without taking a count. The
 * caller serialises its use of db. */
#ifndef PAYCHAN_SERVER_STORE_SQLITE_ADMIN_H
#define PAYCHAN_SERVER_STORE_SQLITE_ADMIN_H

#include <sqlite3.h>

#include "server/store/store.h"

/* The columns of a record, in the order pc_sqlite_row_to_record reads. */
#define PC_SQLITE_MEDIATOR_COLUMNS                                                                \
    "SELECT mediator, role, account, counterparty, deposit_amount, funding_threshold,"           \
    " token_active_since, token_id, created_at FROM mediators"

/* Copies column col, which must be a blob of exactly len bytes: 0 or -1. */
int pc_sqlite_copy_blob(sqlite3_stmt *st, int col, void *out, int len);

/* The current row (PC_SQLITE_MEDIATOR_COLUMNS) into *rec: 0, or -1 when corrupt. */
int pc_sqlite_row_to_record(sqlite3_stmt *st, pc_mediator_record *rec);

/* pc_store_page_mediators on db. */
int pc_sqlite_page_mediators(sqlite3 *db, const pc_mediator_filter *f, size_t offset,
                             size_t limit, pc_mediator_record **recs, size_t *n, size_t *total,
                             pc_error *err);

/* pc_store_issued_count on db. */
int pc_sqlite_issued_count(sqlite3 *db, const pc_address *mediator, const uint8_t token_id[32],
                           uint64_t *count, int *found, pc_error *err);

#endif
