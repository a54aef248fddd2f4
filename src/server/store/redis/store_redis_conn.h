/* store_redis_conn.h: what store_redis.c (the pool of connections, the
 * scripts it loads at open, the durability it watches, WAIT) lends the
 * modules of the Redis backend that run its scripts: the counter
 * operations (store_redis_counts.c) and the Mediator records
 * (store_redis_mediators.c). Private to src/server/store/redis/. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_CONN_H
#define PAYCHAN_SERVER_STORE_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "server/store/store.h"

/* One command on c: the reply, or NULL with *err (PC_ERR_INTERNAL) on a
 * connection fault or an error reply (one that says the server is no
 * longer the primary marks c as failed). */
redisReply *pc_redis_command(redisContext *c, int argc, const char **argv, const size_t *lens,
                             pc_error *err);

/* The Lua scripts of store_redis_scripts.h, loaded (SCRIPT LOAD) at open
 * and run by their SHA1. */
typedef enum pc_redis_script {
    PC_REDIS_SCRIPT_OFFER,
    PC_REDIS_SCRIPT_NEXT_COUNT,
    PC_REDIS_SCRIPT_RETURN_COUNT,
    PC_REDIS_SCRIPT_FORGET,
    PC_REDIS_SCRIPT_PUT_MEDIATOR,
    PC_REDIS_SCRIPT_MIGRATE,
    PC_REDIS_SCRIPTS
} pc_redis_script;

/* 0 when a count may be acknowledged now: Redis persists every write (as
 * last checked, see store_redis.c) or data loss is accepted; else -1 with
 * PC_ERR_STORAGE_NOT_DURABLE. Never waits on Redis. s is a Redis store. */
int pc_redis_counts_allowed(pc_store *s, pc_error *err);

/* A pooled connection (or a new one) for the length of one operation;
 * NULL with *err when Redis cannot be reached. Give it back with
 * pc_redis_give_back, which drops it (and the idle ones) if it failed. */
redisContext *pc_redis_take(pc_store *s, pc_error *err);
void pc_redis_give_back(pc_store *s, redisContext *c);

/* EVALSHA of `script` on c (taken with pc_redis_take) with nkeys keys,
 * then the other arguments (argc in all, at most 24; lens NULL: C strings); a server that forgot the script
 * (NOSCRIPT) gets it again and the call is retried once. The reply, or
 * NULL with *err (PC_ERR_INTERNAL) on a connection fault or an error reply
 * (one that says the server is no longer the primary marks c as failed).
 * The store's observer hears of the script's duration. */
redisReply *pc_redis_run_script(pc_store *s, redisContext *c, pc_redis_script script, int nkeys,
                                int argc, const char **args, const size_t *lens, pc_error *err);

/* One call of a pipeline of scripts (pc_redis_run_scripts). */
typedef struct pc_redis_call {
    const char **args;    /* in: the keys, then the other arguments */
    const size_t *lens;   /* in: their lengths; NULL: C strings */
    redisReply *reply;    /* out: the reply (the caller frees it), or NULL with err */
    pc_error err;
} pc_redis_call;

/* pc_redis_run_script for n calls of `script` (each with nkeys keys and
 * argc arguments in all), sent in one pipeline: one round trip for them
 * all, and Redis runs them in the order given. Each call's reply or error
 * is the one pc_redis_run_script would give; after a connection fault the
 * calls not answered yet all fail with it (whether Redis ran them is
 * unknown, so none is sent again). Calls answered NOSCRIPT (the server
 * forgot the script) are run again alone afterwards, in order, once it is
 * loaded again: only when another client loads it again in the middle of
 * the pipeline can a later call of the pipeline have run before such a one.
 * The store's observer hears of the pipeline once. */
void pc_redis_run_scripts(pc_store *s, redisContext *c, pc_redis_script script, int nkeys,
                          int argc, size_t n, pc_redis_call *calls);

/* The replica half of acknowledging the writes made on c so far: `WAIT`
 * when the store requires replicas, else nothing. 0, or -1 with
 * PC_ERR_STORAGE_NOT_DURABLE (the writes are on the primary but not
 * acknowledged). */
int pc_redis_replicate(pc_store *s, redisContext *c, pc_error *err);

#endif
