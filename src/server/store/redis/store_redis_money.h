/* store_redis_money.h: the Redis backend's money ledger (private to
 * src/server/store_redis*.c): the record_money, money_totals and
 * last_redemption operations of store_internal.h. Keys under the store's
 * prefix (layout 3): money:acct, one hash with the fields
 * <account hex>:<field number>:f0|f1|f2 (an amount in three 32-bit parts
 * summed with HINCRBY, as the gas totals); money:events, the set of the
 * recorded events' ids; money:last, a hash of each Mediator's last
 * redemption in its wire form. One Lua script records an event atomically
 * and at most once, so instances sharing the Redis add up. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_MONEY_H
#define PAYCHAN_SERVER_STORE_REDIS_MONEY_H

#include "server/store/store.h"

int pc_redis_record_money(pc_store *s, const pc_money_event *ev, int *fresh, pc_error *err);
int pc_redis_money_totals(pc_store *s, pc_money_total **totals, size_t *n, pc_error *err);
int pc_redis_last_redemption(pc_store *s, const pc_address *mediator, pc_redemption *r,
                             int *found, pc_error *err);

#endif
