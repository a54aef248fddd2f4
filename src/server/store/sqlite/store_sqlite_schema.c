/* store_sqlite_schema.c: see store_sqlite_schema.h. */
#include "server/store/sqlite/store_sqlite_schema.h"

#include <stdio.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

/* Schema migrations: entry i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE consumer_counters(mediator BLOB NOT NULL, token_id BLOB NOT NULL,"
    "  count INTEGER NOT NULL, PRIMARY KEY(mediator, token_id)) WITHOUT ROWID;"
    "CREATE TABLE provider_counters(mediator BLOB NOT NULL, token_id BLOB NOT NULL,"
    "  highest INTEGER NOT NULL, seen BLOB NOT NULL, sig BLOB NOT NULL,"
    "  PRIMARY KEY(mediator, token_id)) WITHOUT ROWID;"
    "CREATE TABLE mediators(mediator BLOB PRIMARY KEY, role INTEGER NOT NULL,"
    "  account BLOB NOT NULL, counterparty BLOB NOT NULL, deposit_amount BLOB NOT NULL,"
    "  funding_threshold BLOB NOT NULL, token_active_since INTEGER NOT NULL,"
    "  token_id BLOB NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE nonces(nonce BLOB PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX nonces_by_expiry ON nonces(expires_at);",
    /* 2: one record per (Mediator, role), so one server can be both parties
     * of a Mediator; the existing records keep their role. */
    "CREATE TABLE mediators_v2(mediator BLOB NOT NULL, role INTEGER NOT NULL,"
    "  account BLOB NOT NULL, counterparty BLOB NOT NULL, deposit_amount BLOB NOT NULL,"
    "  funding_threshold BLOB NOT NULL, token_active_since INTEGER NOT NULL,"
    "  token_id BLOB NOT NULL, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY(mediator, role)) WITHOUT ROWID;"
    "INSERT INTO mediators_v2 SELECT * FROM mediators;"
    "DROP TABLE mediators;"
    "ALTER TABLE mediators_v2 RENAME TO mediators;",
    /* 3: the chain the data belongs to (one row; a store of version 2
     * adopts the node's chain at its next start) */
    "CREATE TABLE IF NOT EXISTS chain(one INTEGER PRIMARY KEY CHECK(one = 1),"
    "  chain_id INTEGER NOT NULL, genesis_hash BLOB NOT NULL);",
    /* 4: gas spent (store_sqlite_gas.c): totals per account (scope 0) and per
     * Mediator (scope 1), and the newest transactions in their wire form */
    "CREATE TABLE IF NOT EXISTS gas_totals(scope INTEGER NOT NULL, key BLOB NOT NULL, txs INTEGER NOT NULL,"
    "  gas_used INTEGER NOT NULL, fee BLOB NOT NULL, PRIMARY KEY(scope, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS gas_txs(seq INTEGER PRIMARY KEY AUTOINCREMENT, tx BLOB NOT NULL);",
    /* 5: money moved (store_sqlite_money.c): the amounts per (account, field),
     * the ids of the events recorded, each Mediator's last redemption. A store
     * of version 4 starts them at zero: it never recorded amounts. */
    "CREATE TABLE IF NOT EXISTS money_totals(account BLOB NOT NULL, field INTEGER NOT NULL,"
    "  amount BLOB NOT NULL, PRIMARY KEY(account, field)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS money_events(id BLOB PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS redemptions(mediator BLOB PRIMARY KEY, redemption BLOB NOT NULL) WITHOUT ROWID;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int pc_sqlite_error(pc_error *err, sqlite3 *db, const char *what)
{
    return pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: %s: %s", what,
                        db ? sqlite3_errmsg(db) : "out of memory");
}

int pc_sqlite_exec(sqlite3 *db, const char *sql, pc_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

int pc_sqlite_open_connection(const char *path, sqlite3 **db, pc_error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
        pc_error_set(err, PC_ERR_INTERNAL, "SQLite store: cannot open %s: %s", path,
                     *db ? sqlite3_errmsg(*db) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
    return pc_sqlite_exec(*db, "PRAGMA synchronous=FULL", err);
}

static int schema_version(sqlite3 *db, int *version, pc_error *err)
{
    sqlite3_stmt *st = NULL;
    if (pc_sqlite_exec(db, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)",
                       err) != 0)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
                           NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return pc_sqlite_error(err, db, "read schema version");
    }
    *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Brings the schema to SCHEMA_VERSION, one transaction per step. */
int pc_sqlite_migrate(sqlite3 *db, const char *path, pc_error *err)
{
    int version = 0;
    if (schema_version(db, &version, err) != 0)
        return -1;
    if (version > SCHEMA_VERSION)
        return pc_error_set(err, PC_ERR_INTERNAL,
                            "SQLite store: %s has schema version %d, newer than this paychand (%d)",
                            path, version, SCHEMA_VERSION);
    for (; version < SCHEMA_VERSION; version++) {
        char bump[96];
        snprintf(bump, sizeof bump, "INSERT INTO schema_version VALUES(%d)", version + 1);
        pc_error ignored;
        if (pc_sqlite_exec(db, "BEGIN IMMEDIATE", err) != 0)
            return -1;
        if (pc_sqlite_exec(db, migrations[version], err) != 0 || pc_sqlite_exec(db, bump, err) != 0
            || pc_sqlite_exec(db, "COMMIT", err) != 0)
            return pc_sqlite_exec(db, "ROLLBACK", &ignored), -1;
    }
    return 0;
}


/* Reads the recorded chain into *id; 1 found, 0 none, -1 error. */
static int read_chain(sqlite3 *db, pc_chain_identity *id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT chain_id, genesis_hash FROM chain", -1, &st, NULL)
        != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st), found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (found == 1) {
        id->chain_id = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == 32)
            memcpy(id->genesis_hash, sqlite3_column_blob(st, 1), 32);
        else
            found = -1;
    }
    sqlite3_finalize(st);
    return found;
}

static int insert_chain(sqlite3 *db, const pc_chain_identity *id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO chain VALUES(1, ?1, ?2)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id->chain_id);
    sqlite3_bind_blob(st, 2, id->genesis_hash, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int pc_sqlite_claim_chain(sqlite3 *db, const pc_chain_identity *node, pc_chain_identity *stored,
                          int *adopted, pc_error *err)
{
    pc_error ignored;
    if (pc_sqlite_exec(db, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    int found = read_chain(db, stored);
    *adopted = found == 0;
    if (found == 0) {
        *stored = *node;
        found = insert_chain(db, node) == 0 ? 1 : -1;
    }
    if (found < 0) {
        pc_sqlite_error(err, db, "the chain of the data");
        pc_sqlite_exec(db, "ROLLBACK", &ignored);
        return -1;
    }
    if (pc_sqlite_exec(db, "COMMIT", err) != 0)
        return pc_sqlite_exec(db, "ROLLBACK", &ignored), -1;
    return 0;
}
