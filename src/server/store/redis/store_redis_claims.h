/* store_redis_claims.h: the Redis backend's two claims (private to
 * src/server/store_redis*.c): a request nonce (SET NX with a time to live,
 * so any instance sharing the Redis sees a replay) and the chain the data
 * belongs to (SET NX once, then read back). Each is one plain command on a
 * pooled connection of store_redis.c (pc_redis_store_command, declared in
 * store_redis_gas.h), no script. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_CLAIMS_H
#define PAYCHAN_SERVER_STORE_REDIS_CLAIMS_H

#include <stdint.h>

#include "server/store/store.h"

/* The claim_nonce operation of store_internal.h: key <prefix>nonce:<hex>. */
int pc_redis_claim_nonce(pc_store *base, const uint8_t nonce[32], uint64_t expires_at, int *fresh,
                         pc_error *err);

/* The claim_chain operation of store_internal.h: key <prefix>chain, value
 * "<chain id>:<genesis hash hex>". */
int pc_redis_claim_chain(pc_store *base, const pc_chain_identity *node, pc_chain_identity *stored,
                         int *adopted, pc_error *err);

#endif
