/* store_redis_counts.h: the Redis backend's counter operations (private to
 * src/server/store/redis/): the counts a consumer issues and gives back,
 * the counts a provider validates and the best token of a token id. Each
 * change is one Lua script (store_redis_scripts.h), atomic across the
 * instances sharing the Redis, run on a pooled connection of store_redis.c
 * (store_redis_conn.h) only while counts may be acknowledged, and followed
 * by WAIT when the store requires replicas. Keys: see store_redis.c. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_COUNTS_H
#define PAYCHAN_SERVER_STORE_REDIS_COUNTS_H

#include <stdint.h>

#include "server/store/store.h"
#include "server/store/redis/store_redis_gas.h" /* PC_REDIS_KEY_MAX */

struct pc_store_offer; /* store_internal.h */

/* The operations of store_internal.h (s is a Redis store). */
int pc_redis_next_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                        uint64_t *count, pc_error *err);
int pc_redis_return_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                          uint64_t count, int *returned, pc_error *err);
int pc_redis_offer_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                         uint64_t count, const uint8_t sig[65], pc_count_verdict *verdict,
                         uint64_t *highest, pc_error *err);
/* The offer_counts operation: the n offers' scripts in one pipeline on one
 * connection, then one WAIT for them all when replicas are required and
 * any count was written; done(offers[i].arg, outcome) for each, in order,
 * before it returns. Each outcome is the one pc_redis_offer_count would
 * give the offer in that order, apart from faults: while counts may not be
 * acknowledged, or Redis cannot be reached, all fail with that error; a
 * connection fault within the pipeline fails the offers not answered yet
 * (their scripts may have run: they are not sent again); a failed WAIT
 * fails every accepted offer with PC_ERR_STORAGE_NOT_DURABLE. */
void pc_redis_offer_counts(pc_store *s, size_t n, const struct pc_store_offer *offers,
                           pc_store_done done);
int pc_redis_best_token(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                        uint64_t *count, uint8_t sig[65], int *found, pc_error *err);

/* The key <prefix><kind>:<mediator hex>[:<token id hex>] (no token id when
 * token_id is NULL): a counter ("cc", "pc"), a ring ("pw") or a Mediator's
 * set of token ids ("cids", "ids"). */
void pc_redis_counter_key(const pc_store *s, const char *kind, const pc_address *mediator,
                          const uint8_t *token_id, char out[PC_REDIS_KEY_MAX]);

#endif
