/* store_redis_mediators.h: the Redis backend's Mediator records (private to
 * src/server/store/redis/): one hash per (Mediator, role), med:<mediator
 * hex>:<role> (fields: store_redis_record.h), listed by its member
 * "<mediator hex>:<role>" in the set `mediators`; and forgetting the
 * counters one role keeps for a Mediator, with or without its record.
 * Each change is one Lua script (store_redis_scripts.h), run on a pooled
 * connection of store_redis.c (store_redis_conn.h). */
#ifndef PAYCHAN_SERVER_STORE_REDIS_MEDIATORS_H
#define PAYCHAN_SERVER_STORE_REDIS_MEDIATORS_H

#include "server/store/store.h"

/* The operations of store_internal.h (s is a Redis store). */
int pc_redis_put_mediator(pc_store *s, const pc_mediator_record *rec, pc_error *err);
int pc_redis_get_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                          pc_mediator_record *rec, int *found, pc_error *err);
int pc_redis_list_mediators(pc_store *s, pc_mediator_record **recs, size_t *n, pc_error *err);
int pc_redis_forget_counters(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                             pc_error *err);
int pc_redis_delete_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                             pc_error *err);

#endif
