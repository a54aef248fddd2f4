/* redis.h (test support): starts a private redis-server for one test
 * program on a free local port, with its data in a fresh temporary
 * directory and the durability paychand relies on (appendonly yes,
 * appendfsync always, no RDB snapshots).
 *
 * The binary is taken from the environment variable PAYCHAN_REDIS_SERVER,
 * else `redis-server` on the PATH (scripts/install-deps.sh installs it). A
 * started server dies with the test process even if the test crashes
 * (PR_SET_PDEATHSIG) and is stopped at exit by the process that started it. */
#ifndef PAYCHAN_TESTS_SUPPORT_REDIS_H
#define PAYCHAN_TESTS_SUPPORT_REDIS_H

typedef struct pc_test_redis pc_test_redis;

/* Starts redis-server and waits until it answers PING (at most 10 s).
 * Returns NULL (after printing why to stderr) on failure, e.g. when
 * redis-server is not installed. Call it from the main thread. */
pc_test_redis *pc_test_redis_start(void);

/* Starts a replica of primary (--replicaof) the same way; it answers PING
 * before its first synchronisation ends (pc_test_sentinels_start waits for that). */
pc_test_redis *pc_test_redis_start_replica(const pc_test_redis *primary);

/* The host ("127.0.0.1") and port it listens on. */
const char *pc_test_redis_host(const pc_test_redis *r);
int pc_test_redis_port(const pc_test_redis *r);

/* Stops the server (SIGTERM, then SIGKILL after a grace period), reaps it,
 * removes its directory and frees r. NULL is a no-op. */
void pc_test_redis_stop(pc_test_redis *r);

/* SIGKILLs the server (no shutdown work, like a crash) and reaps it. */
void pc_test_redis_crash(pc_test_redis *r);

/* Sends sig to the server (SIGSTOP: a hung Redis; SIGCONT: it goes on).
 * 0, or -1 when it is not running. */
int pc_test_redis_signal(pc_test_redis *r, int sig);

/* Starts the server again on the same port and directory (it replays its
 * append-only file). Returns 0 once it answers PING, or -1. */
int pc_test_redis_restart(pc_test_redis *r);

/* The replicas of the server at port past their first synchronisation
 * (INFO replication), 0 when it does not answer. */
int pc_test_redis_replicas_online(int port);

/* Waits (at most timeout_ms) until primary has n replicas online that
 * acknowledge its writes (WAIT, on a key of its own); 0, or -1. */
int pc_test_redis_wait_replicas(const pc_test_redis *primary, int n, int timeout_ms);

/* How many times the server has run `command` (lowercase, e.g. "wait",
 * "evalsha") since it started (INFO commandstats); -1 when it does not
 * answer. */
long long pc_test_redis_calls(const pc_test_redis *r, const char *command);

#endif
