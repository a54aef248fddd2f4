/* store_sqlite_admin.c: see store_sqlite_admin.h. */
#include "server/store/sqlite/store_sqlite_admin.h"

#include <stdlib.h>
#include <string.h>

#include "server/store/store_internal.h"
#include "server/store/sqlite/store_sqlite_schema.h"

int pc_sqlite_copy_blob(sqlite3_stmt *st, int col, void *out, int len)
{
    if (sqlite3_column_bytes(st, col) != len)
        return -1;
    memcpy(out, sqlite3_column_blob(st, col), (size_t)len);
    return 0;
}

static int read_u256(sqlite3_stmt *st, int col, pc_u256 *v)
{
    uint8_t be[32];
    if (pc_sqlite_copy_blob(st, col, be, 32) != 0)
        return -1;
    pc_u256_from_be(v, be);
    return 0;
}

int pc_sqlite_row_to_record(sqlite3_stmt *st, pc_mediator_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->role = (pc_mediator_role)sqlite3_column_int(st, 1);
    rec->token_active_since = (uint64_t)sqlite3_column_int64(st, 6);
    rec->created_at = (uint64_t)sqlite3_column_int64(st, 8);
    return pc_sqlite_copy_blob(st, 0, rec->mediator.bytes, 20) ||
                   pc_sqlite_copy_blob(st, 2, rec->account.bytes, 20) ||
                   pc_sqlite_copy_blob(st, 3, rec->counterparty.bytes, 20) ||
                   read_u256(st, 4, &rec->deposit_amount) ||
                   read_u256(st, 5, &rec->funding_threshold) || read_u256(st, 7, &rec->token_id)
               ? -1
               : 0;
}

/* The filter of both queries: ?1 the role (0 = any), ?2 the account (NULL = any). */
#define FILTER " WHERE (?1 = 0 OR role = ?1) AND (?2 IS NULL OR account = ?2)"

static sqlite3_stmt *prepare_filtered(sqlite3 *db, const char *sql, const pc_mediator_filter *f,
                                      pc_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        pc_sqlite_error(err, db, "read Mediators");
        return NULL;
    }
    sqlite3_bind_int(st, 1, (int)f->role);
    if (f->account)
        sqlite3_bind_blob(st, 2, f->account->bytes, 20, SQLITE_STATIC);
    return st;
}

static int count_matching(sqlite3 *db, const pc_mediator_filter *f, size_t *total, pc_error *err)
{
    sqlite3_stmt *st = prepare_filtered(db, "SELECT count(*) FROM mediators" FILTER, f, err);
    if (!st)
        return -1;
    int ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *total = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return ok ? 0 : pc_sqlite_error(err, db, "count Mediators");
}

int pc_sqlite_page_mediators(sqlite3 *db, const pc_mediator_filter *f, size_t offset,
                             size_t limit, pc_mediator_record **recs, size_t *n, size_t *total,
                             pc_error *err)
{
    if (count_matching(db, f, total, err) != 0)
        return -1;
    sqlite3_stmt *st = prepare_filtered(
        db, PC_SQLITE_MEDIATOR_COLUMNS FILTER " ORDER BY mediator, role LIMIT ?3 OFFSET ?4", f,
        err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)offset);
    pc_record_list l = {0};
    int ret = 0, rc;
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        pc_mediator_record rec;
        if (pc_sqlite_row_to_record(st, &rec) != 0)
            ret = pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: corrupt Mediator row");
        else
            ret = pc_record_list_push(&l, &rec, err);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = pc_sqlite_error(err, db, "read Mediators");
    sqlite3_finalize(st);
    *recs = l.items;
    *n = l.n;
    return ret;
}

int pc_sqlite_issued_count(sqlite3 *db, const pc_address *mediator, const uint8_t token_id[32],
                           uint64_t *count, int *found, pc_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT count FROM consumer_counters WHERE mediator = ?1 AND token_id = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return pc_sqlite_error(err, db, "read counter");
    sqlite3_bind_blob(st, 1, mediator->bytes, 20, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, token_id, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = (uint64_t)sqlite3_column_int64(st, 0);
        *found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : pc_sqlite_error(err, db, "read counter");
}
