/* store_redis_durability.c: see store_redis_durability.h. */
#include "server/store/redis/store_redis_durability.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The value of `name` in a CONFIG GET answer (name, value, ...), or NULL. */
static const char *config_value(const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, name) == 0)
            return v->str;
    }
    return NULL;
}

pc_redis_durability pc_redis_check_durability(redisContext *c, char *why, size_t why_len)
{
    redisReply *r = redisCommand(c, "CONFIG GET append*");
    pc_redis_durability d = PC_REDIS_UNKNOWN;
    if (!r) {
        snprintf(why, why_len, "no answer to CONFIG GET: %s", c->err ? c->errstr : "?");
    } else if (r->type != REDIS_REPLY_ARRAY) {
        snprintf(why, why_len, "CONFIG GET refused: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "odd answer");
    } else {
        const char *aof = config_value(r, "appendonly"), *fsync = config_value(r, "appendfsync");
        int ok = aof && fsync && strcmp(aof, "yes") == 0 && strcmp(fsync, "always") == 0;
        d = ok ? PC_REDIS_DURABLE : PC_REDIS_NOT_DURABLE;
        if (!ok)
            snprintf(why, why_len, "appendonly %s, appendfsync %s", aof ? aof : "?",
                     fsync ? fsync : "?");
    }
    freeReplyObject(r);
    return d;
}

uint64_t pc_redis_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
