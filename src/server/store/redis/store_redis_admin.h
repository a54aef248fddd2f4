/* store_redis_admin.h: the Redis backend's reads for the admin API (private
 * to src/server/store_redis*.c): pages of Mediator records and the
 * consumer's counter without taking a count. A page sorts the member names
 * of the set of records (<mediator hex>:<role>, ~50 bytes each: 10,000
 * records are 0.5 MB) and reads only the page's records; with an account
 * filter it reads every record (store.c's fallback), since the names do not
 * hold the account. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_ADMIN_H
#define PAYCHAN_SERVER_STORE_REDIS_ADMIN_H

#include "server/store/store.h"

/* The operations of store_internal.h. */
int pc_redis_page_mediators(pc_store *s, const pc_mediator_filter *f, size_t offset,
                            size_t limit, pc_mediator_record **recs, size_t *n, size_t *total,
                            pc_error *err);
int pc_redis_issued_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                          uint64_t *count, int *found, pc_error *err);

#endif
