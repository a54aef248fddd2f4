/* store_redis_gas.h: the Redis backend's gas accounting (private to
 * src/server/store_redis*.c): the record_gas, gas_totals and recent_gas
 * operations of store_internal.h. Keys under the store's prefix: gas:acct
 * and gas:med, one hash per scope with the fields <hex key>:txs, :gas and
 * the fee in three 32-bit parts :f0 (lowest) :f1 :f2, each summed with
 * HINCRBY (a fee of 2^96 wei or more is not a real transaction's);
 * gas:recent, a list of the newest transactions in their wire form. One Lua
 * script records a transaction atomically, so instances sharing the Redis
 * add up. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_GAS_H
#define PAYCHAN_SERVER_STORE_REDIS_GAS_H

#include <hiredis/hiredis.h>

#include "server/store.h"

/* One command on a pooled connection of the Redis store base; the reply,
 * or NULL with *err on a connection fault or an error reply (store_redis.c). */
redisReply *pc_redis_store_command(pc_store *base, int argc, const char **argv,
                                   const size_t *lens, pc_error *err);

/* The store's key prefix (store_redis.c). */
const char *pc_redis_store_prefix(const pc_store *base);

/* The operations of store_internal.h. */
int pc_redis_record_gas(pc_store *s, const pc_gas_tx *tx, pc_error *err);
int pc_redis_gas_totals(pc_store *s, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                        pc_error *err);
int pc_redis_recent_gas(pc_store *s, pc_gas_tx **txs, size_t *n, pc_error *err);

#endif
