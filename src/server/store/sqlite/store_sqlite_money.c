/* store_sqlite_money.c: see store_sqlite_money.h. */
#include "server/store/sqlite/store_sqlite_money.h"

#include <stdlib.h>
#include <string.h>

#include "server/store/store_internal.h"
#include "server/store/sqlite/store_sqlite_gas.h"
#include "server/store/sqlite/store_sqlite_schema.h"

/* One statement with blob parameters (NULL-terminated pairs), stepped once:
 * SQLITE_ROW, SQLITE_DONE or an error code; *st stays prepared for reading
 * a row (finalize it), NULL on a prepare failure. */
static int step_with(sqlite3 *db, sqlite3_stmt **st, const char *sql, const void *b1, int n1,
                     const void *b2, int n2)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return SQLITE_ERROR;
    sqlite3_bind_blob(*st, 1, b1, n1, SQLITE_STATIC);
    if (b2)
        sqlite3_bind_blob(*st, 2, b2, n2, SQLITE_STATIC);
    return sqlite3_step(*st);
}

/* Adds e's amount to its (account, field) row. */
static int add_entry(sqlite3 *db, const pc_money_entry *e)
{
    sqlite3_stmt *st = NULL;
    pc_u256 sum = e->amount, old;
    uint8_t be[32];
    int rc;
    if (sqlite3_prepare_v2(db, "SELECT amount FROM money_totals WHERE account = ?1 AND field = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, e->account.bytes, 20, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)e->field);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
        pc_u256_from_be(&old, sqlite3_column_blob(st, 0));
        pc_u256_add(&sum, &sum, &old);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    pc_u256_to_be(&sum, be);
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO money_totals VALUES(?1, ?2, ?3)", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, e->account.bytes, 20, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)e->field);
    sqlite3_bind_blob(st, 3, be, 32, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The event's changes, inside the caller's transaction: 1 recorded, 0 seen before, -1. */
static int apply(sqlite3 *db, const pc_money_event *ev)
{
    sqlite3_stmt *st = NULL;
    uint8_t wire[PC_REDEMPTION_WIRE_LEN];
    int rc = step_with(db, &st, "INSERT OR IGNORE INTO money_events VALUES(?1)", ev->id,
                       sizeof ev->id, NULL, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(db) == 0)
        return 0;
    for (size_t i = 0; i < ev->n; i++)
        if (add_entry(db, &ev->entries[i]) != 0)
            return -1;
    if (!ev->has_redemption)
        return 1;
    pc_redemption_encode(&ev->redemption, wire);
    rc = step_with(db, &st, "INSERT OR REPLACE INTO redemptions VALUES(?1, ?2)",
                   ev->mediator.bytes, 20, wire, sizeof wire);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 1 : -1;
}

int pc_sqlite_record_money(sqlite3 *db, const pc_money_event *ev, int *fresh, pc_error *err)
{
    pc_error ignored;
    if (pc_sqlite_exec(db, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    int r = apply(db, ev);
    if (r < 0) {
        pc_sqlite_error(err, db, "recording money");
        return pc_sqlite_exec(db, "ROLLBACK", &ignored), -1;
    }
    if (pc_sqlite_exec(db, "COMMIT", err) != 0)
        return pc_sqlite_exec(db, "ROLLBACK", &ignored), -1;
    *fresh = r;
    return 0;
}

/* One row of money_totals. */
typedef struct money_row {
    pc_address account;
    int field;
    pc_u256 amount;
} money_row;

static int take_row(sqlite3_stmt *st, void *item)
{
    money_row *r = item;
    if (sqlite3_column_bytes(st, 0) != 20 || sqlite3_column_bytes(st, 2) != 32)
        return -1;
    memcpy(r->account.bytes, sqlite3_column_blob(st, 0), 20);
    r->field = sqlite3_column_int(st, 1);
    pc_u256_from_be(&r->amount, sqlite3_column_blob(st, 2));
    return r->field >= 0 && r->field < PC_MONEY_FIELDS ? 0 : -1;
}

int pc_sqlite_money_totals(sqlite3 *db, pc_money_total **totals, size_t *n, pc_error *err)
{
    money_row *rows = NULL;
    size_t n_rows = 0, cap = 0;
    int rc = pc_sqlite_collect(db, "SELECT account, field, amount FROM money_totals", -1,
                               take_row, sizeof *rows, (void **)&rows, &n_rows, err);
    for (size_t i = 0; rc == 0 && i < n_rows; i++) {
        pc_money_total *t = pc_money_total_find(totals, n, &cap, &rows[i].account);
        if (!t)
            rc = pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: out of memory");
        else
            t->amount[rows[i].field] = rows[i].amount;
    }
    free(rows);
    return rc;
}

int pc_sqlite_last_redemption(sqlite3 *db, const pc_address *mediator, pc_redemption *r,
                              int *found, pc_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = step_with(db, &st, "SELECT redemption FROM redemptions WHERE mediator = ?1",
                       mediator->bytes, 20, NULL, 0);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PC_REDEMPTION_WIRE_LEN) {
        pc_redemption_decode(sqlite3_column_blob(st, 0), r);
        *found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
                                                 : pc_sqlite_error(err, db, "reading a redemption");
}
