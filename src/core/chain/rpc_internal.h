/* rpc_internal.h: shared between rpc.c, rpc_types.c and nonce.c only; not
 * part of the public API (see rpc.h). */
#ifndef PAYCHAN_CORE_RPC_INTERNAL_H
#define PAYCHAN_CORE_RPC_INTERNAL_H

#include "core/chain/rpc.h"

/* Fills *err with PC_ERR_NODE and "node URL: METHOD: <detail>"; returns -1. */
int pc_rpc_node_error(const pc_rpc *rpc, const char *method, pc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The per-address nonce table owned by each pc_rpc (nonce.c). */
typedef struct pc_nonce_table pc_nonce_table;

/* Returns a new empty table, or NULL when out of memory. */
pc_nonce_table *pc_nonce_table_new(void);

/* Frees the table and its entries. NULL is a no-op. */
void pc_nonce_table_free(pc_nonce_table *table);

/* The table of rpc (never NULL for a created client). */
pc_nonce_table *pc_rpc_nonce_table(pc_rpc *rpc);

#endif
