/* redis_sentinel.h (test support): three Redis Sentinels watching a test's
 * redis-server primary (support/redis.h) on free local ports, tuned so that
 * a failover completes within a few seconds (down-after 1 s, failover
 * timeout 3 s, quorum 2).
 *
 * The binary is PAYCHAN_REDIS_SENTINEL, else `redis-sentinel` on the PATH
 * (Debian's redis-sentinel, installed by scripts/install-deps.sh). Each
 * sentinel writes its configuration (Sentinel rewrites it) in a fresh
 * temporary directory; they die with the test process and are stopped at
 * exit by the process that started them. */
#ifndef PAYCHAN_TESTS_SUPPORT_REDIS_SENTINEL_H
#define PAYCHAN_TESTS_SUPPORT_REDIS_SENTINEL_H

#include "support/redis.h"

#define PC_TEST_SENTINELS 3

typedef struct pc_test_sentinels pc_test_sentinels;

/* Waits until primary has `replicas` replicas online, then starts the
 * sentinels monitoring it as `master_name` and waits until every one of
 * them knows the replicas (at most 20 s in all). NULL after printing why. */
pc_test_sentinels *pc_test_sentinels_start(const pc_test_redis *primary, int replicas,
                                           const char *master_name);

/* "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3", for --redis-sentinels. */
const char *pc_test_sentinels_list(const pc_test_sentinels *s);

/* The port of the primary the first answering sentinel names, or -1. */
int pc_test_sentinels_primary_port(const pc_test_sentinels *s);

/* Waits (at most timeout_ms) until the primary the sentinels name has n
 * replicas online; 0, or -1. */
int pc_test_sentinels_wait_replicas(const pc_test_sentinels *s, int n, int timeout_ms);

/* Stops the sentinels, removes their directories and frees s. NULL: no-op. */
void pc_test_sentinels_stop(pc_test_sentinels *s);

#endif
