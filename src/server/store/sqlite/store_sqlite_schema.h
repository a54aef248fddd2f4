/* store_sqlite_schema.h: the SQLite backend's database file (private to
 * src/server/store_sqlite*.c): opening a connection, the schema and its
 * migrations, and the one-row table of the chain the data belongs to.
 * The operations of store.h are in store_sqlite.c. */
#ifndef PAYCHAN_SERVER_STORE_SQLITE_SCHEMA_H
#define PAYCHAN_SERVER_STORE_SQLITE_SCHEMA_H

#include <sqlite3.h>

#include "server/store/store.h"

/* Fills *err (PC_ERR_INTERNAL) with what failed and SQLite's message; -1. */
int pc_sqlite_error(pc_error *err, sqlite3 *db, const char *what);

/* Runs sql (statements without results); 0, or -1 with *err. */
int pc_sqlite_exec(sqlite3 *db, const char *sql, pc_error *err);

/* Opens (creating) the database at path with a busy timeout and
 * synchronous=FULL, so a commit is on disk when it returns. 0 or -1; *db
 * may need sqlite3_close even on failure. */
int pc_sqlite_open_connection(const char *path, sqlite3 **db, pc_error *err);

/* Brings the schema of db to this paychand's version, one transaction per
 * step; fails on a file of a newer paychand. */
int pc_sqlite_migrate(sqlite3 *db, const char *path, pc_error *err);

/* The claim_chain operation of store_internal.h on db, in one transaction
 * (the caller serialises its use of db). */
int pc_sqlite_claim_chain(sqlite3 *db, const pc_chain_identity *node, pc_chain_identity *stored,
                          int *adopted, pc_error *err);

#endif
