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

#include "server/store/store.h"

/* One command on a pooled connection of the Redis store base; the reply,
 * or NULL with *err on a connection fault or an error reply (store_redis.c). */
redisReply *pc_redis_store_command(pc_store *base, int argc, const char **argv,
                                   const size_t *lens, pc_error *err);

/* The store's key prefix (store_redis.c). */
const char *pc_redis_store_prefix(const pc_store *base);

#define PC_REDIS_KEY_MAX 256
#define PC_REDIS_U256_PARTS 3

/* The key `name` under the store's prefix. */
void pc_redis_key_named(const pc_store *s, const char *name, char out[PC_REDIS_KEY_MAX]);

/* An address as 40 lowercase hex digits (hash field names). */
void pc_redis_hex40(const pc_address *a, char out[41]);

/* A value below 2^96 as three decimal 32-bit parts (lowest first), to be
 * summed exactly by HINCRBY into the fields <name>:f0, :f1 and :f2. */
void pc_redis_u256_parts(const pc_u256 *v, char parts[PC_REDIS_U256_PARTS][16]);

/* Adds part `what` ("f0", "f1" or "f2") worth v to *total; -1 for another name. */
int pc_redis_u256_add_part(pc_u256 *total, const char *what, unsigned long long v);

/* The account of a totals hash field "<40 hex>:..." and its integer value
 * (into *v): 0, or -1 when the field is malformed. */
int pc_redis_field_account(const redisReply *name, const redisReply *value, pc_address *account,
                           unsigned long long *v);

/* Hands every (field, value) of the hash `name` (under the prefix) to take,
 * which returns -1 for a malformed one: then the read fails. */
typedef int (*pc_redis_field_fn)(void *ctx, const redisReply *name, const redisReply *value);
int pc_redis_hash_each(pc_store *s, const char *name, pc_redis_field_fn take, void *ctx,
                       pc_error *err);

/* The operations of store_internal.h. */
int pc_redis_record_gas(pc_store *s, const pc_gas_tx *tx, pc_error *err);
int pc_redis_gas_totals(pc_store *s, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                        pc_error *err);
int pc_redis_recent_gas(pc_store *s, pc_gas_tx **txs, size_t *n, pc_error *err);

#endif
