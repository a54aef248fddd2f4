/* store_redis_sentinel.h: a Redis primary with replicas under Redis
 * Sentinel (private to store_redis.c).
 *
 * hiredis has no Sentinel support, so this module does the two things a
 * Sentinel client needs: find the primary (ask each configured sentinel
 * `SENTINEL get-master-addr-by-name`, then check with ROLE that the server
 * named really is a primary: a sentinel may answer with a stale address
 * during a failover), and tell from an error reply that the server is no
 * longer the primary (READONLY after a demotion), so that the store drops
 * its connections and asks the sentinels again.
 *
 * It also holds the replica half of an acknowledged count: `WAIT n timeout`
 * after the write, so that the count survives the loss of the primary
 * (Sentinel promotes a replica that has it). */
#ifndef PAYCHAN_SERVER_STORE_REDIS_SENTINEL_H
#define PAYCHAN_SERVER_STORE_REDIS_SENTINEL_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "core/runtime/error.h"

#define PC_REDIS_SENTINELS_MAX 8

typedef struct pc_redis_sentinels {
    char master_name[64];
    size_t n;
    struct {
        char host[128];
        int port;
    } at[PC_REDIS_SENTINELS_MAX];
} pc_redis_sentinels;

/* Parses list, "host:port[,host:port...]" (at most PC_REDIS_SENTINELS_MAX),
 * and the master name into out. 0, or -1 with PC_ERR_INVALID_ARGUMENT. */
int pc_redis_sentinels_parse(const char *list, const char *master_name, pc_redis_sentinels *out,
                             pc_error *err);

/* Finds the current primary: asks the sentinels in order until one names a
 * server that ROLE confirms is a primary. Returns the connection to it
 * (timeout_ms for connecting and for each command), its address in
 * host/port and the number of replicas it has in *replicas; NULL with err
 * (PC_ERR_STORAGE_NOT_DURABLE naming every sentinel's answer) when none does. */
redisContext *pc_redis_sentinel_connect(const pc_redis_sentinels *s, int timeout_ms, char *host,
                                        size_t host_cap, int *port, int *replicas, pc_error *err);

/* The number of replicas the server behind c reports (ROLE), or -1 when it
 * is not a primary or does not answer. */
int pc_redis_primary_replicas(redisContext *c);

/* Whether an error reply means "this server is not the primary (any
 * more)": READONLY (a demoted primary), MASTERDOWN, LOADING. */
int pc_redis_error_means_moved(const char *error);

/* `WAIT n timeout_ms` on c, after a write on c: 0 once at least n replicas
 * have the write, else -1 with PC_ERR_STORAGE_NOT_DURABLE (the write is on
 * the primary but not acknowledged: the caller refuses the count). */
int pc_redis_wait_replicas(redisContext *c, int n, int timeout_ms, pc_error *err);

/* How many replicas must have a count: `wanted`, or with -1 (auto) 1 when
 * the primary behind c has replicas now, else 0. Logged, since it is the
 * guarantee the operator gets. */
int pc_redis_choose_wait(redisContext *c, int wanted, int timeout_ms);

#endif
