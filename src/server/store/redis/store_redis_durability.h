/* store_redis_durability.h: whether a Redis server makes every write
 * durable before acknowledging it (private to store_redis.c).
 *
 * paychand answers "valid" (and hands out a token) only once the count is
 * durable; with Redis that holds only with `appendonly yes` and
 * `appendfsync always`. With anything less, Redis acknowledges writes it
 * may lose, and a crash of Redis loses acknowledged counts (which are then
 * accepted or issued a second time). */
#ifndef PAYCHAN_SERVER_STORE_REDIS_DURABILITY_H
#define PAYCHAN_SERVER_STORE_REDIS_DURABILITY_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pc_redis_durability {
    PC_REDIS_DURABLE,     /* appendonly yes + appendfsync always */
    PC_REDIS_NOT_DURABLE, /* some acknowledged writes may be lost */
    PC_REDIS_UNKNOWN      /* cannot tell: CONFIG refused (e.g. renamed), or no answer */
} pc_redis_durability;

/* Asks the server behind c (one CONFIG GET round trip). Unless the answer
 * is PC_REDIS_DURABLE, `why` receives the reason in words, e.g.
 * "appendonly no, appendfsync everysec". */
pc_redis_durability pc_redis_check_durability(redisContext *c, char *why, size_t why_len);

/* The monotonic clock in ms, for the age of the last answer to a check: a
 * stopped or hung Redis leaves the check waiting (up to the command
 * timeout), so that age is what tells a store that takes no writes now. */
uint64_t pc_redis_monotonic_ms(void);

#endif
