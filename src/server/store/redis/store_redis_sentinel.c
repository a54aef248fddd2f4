/* store_redis_sentinel.c: see store_redis_sentinel.h. */
#include "server/store/redis/store_redis_sentinel.h"

#include "core/runtime/logger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct timeval tv_of(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Parses one "host:port" of length len into out; 0 or -1. */
static int parse_one(const char *p, size_t len, char *host, size_t cap, int *port)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (p[i] == ':')
            colon = p + i;
    if (!colon || colon == p || (size_t)(colon - p) >= cap)
        return -1;
    char digits[8];
    size_t nd = len - (size_t)(colon + 1 - p);
    if (nd == 0 || nd >= sizeof digits)
        return -1;
    memcpy(digits, colon + 1, nd);
    digits[nd] = 0;
    char *end;
    long v = strtol(digits, &end, 10);
    if (*end || v < 1 || v > 65535)
        return -1;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = 0;
    *port = (int)v;
    return 0;
}

int pc_redis_sentinels_parse(const char *list, const char *master_name, pc_redis_sentinels *out,
                             pc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!master_name || !*master_name || strlen(master_name) >= sizeof out->master_name)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                            "Redis Sentinel: a master name of 1 to 63 bytes is needed");
    snprintf(out->master_name, sizeof out->master_name, "%s", master_name);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (out->n == PC_REDIS_SENTINELS_MAX ||
            parse_one(p, len, out->at[out->n].host, sizeof out->at[0].host, &out->at[out->n].port))
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                                "Redis Sentinel: expected up to %d host:port separated by commas, "
                                "got \"%s\"", PC_REDIS_SENTINELS_MAX, list);
        out->n++;
        p += len + (p[len] == ',');
    }
    return out->n ? 0 : pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "Redis Sentinel: no sentinel");
}

int pc_redis_primary_replicas(redisContext *c)
{
    redisReply *r = redisCommand(c, "ROLE");
    int n = -1;
    /* a primary answers {"master", offset, {{ip, port, offset}, ...}} */
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0 &&
        r->element[2]->type == REDIS_REPLY_ARRAY)
        n = (int)r->element[2]->elements;
    freeReplyObject(r);
    return n;
}

/* Asks one sentinel for the primary's address; 0, or -1 with why. */
static int ask_sentinel(const pc_redis_sentinels *s, size_t i, int timeout_ms, char *host,
                        size_t cap, int *port, char *why, size_t why_cap)
{
    redisContext *c = redisConnectWithTimeout(s->at[i].host, s->at[i].port, tv_of(timeout_ms));
    redisReply *r = NULL;
    if (c && !c->err) {
        redisSetTimeout(c, tv_of(timeout_ms));
        r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", s->master_name);
    }
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < cap &&
             r->element[1]->type == REDIS_REPLY_STRING;
    if (ok) {
        snprintf(host, cap, "%s", r->element[0]->str);
        *port = atoi(r->element[1]->str);
    } else {
        snprintf(why, why_cap, "%s:%d %s", s->at[i].host, s->at[i].port,
                 !c || c->err ? (c ? c->errstr : "out of memory")
                 : r && r->type == REDIS_REPLY_ERROR ? r->str
                 : "does not know the master");
    }
    freeReplyObject(r);
    redisFree(c);
    return ok ? 0 : -1;
}

redisContext *pc_redis_sentinel_connect(const pc_redis_sentinels *s, int timeout_ms, char *host,
                                        size_t host_cap, int *port, int *replicas, pc_error *err)
{
    char whys[PC_REDIS_SENTINELS_MAX][200];
    for (size_t i = 0; i < s->n; i++) {
        if (ask_sentinel(s, i, timeout_ms, host, host_cap, port, whys[i], sizeof whys[i]) != 0)
            continue;
        redisContext *c = redisConnectWithTimeout(host, *port, tv_of(timeout_ms));
        if (c && !c->err) {
            redisSetTimeout(c, tv_of(timeout_ms));
            if ((*replicas = pc_redis_primary_replicas(c)) >= 0)
                return c;
        }
        snprintf(whys[i], sizeof whys[i], "%s:%d named %s:%d, %s", s->at[i].host, s->at[i].port,
                 host, *port, !c || c->err ? "which does not answer" : "which is not a primary");
        redisFree(c);
    }
    /* 103 (503): during a failover this is temporary, and nothing was written */
    pc_error_set(err, PC_ERR_STORAGE_NOT_DURABLE,
                 "Redis Sentinel: no primary for \"%s\" (%s%s%s%s%s)",
                 s->master_name, whys[0], s->n > 1 ? "; " : "", s->n > 1 ? whys[1] : "",
                 s->n > 2 ? "; " : "", s->n > 2 ? whys[2] : "");
    return NULL;
}

int pc_redis_error_means_moved(const char *error)
{
    return strncmp(error, "READONLY", 8) == 0 || strncmp(error, "MASTERDOWN", 10) == 0 ||
           strncmp(error, "LOADING", 7) == 0;
}

int pc_redis_wait_replicas(redisContext *c, int n, int timeout_ms, pc_error *err)
{
    redisReply *r = redisCommand(c, "WAIT %d %d", n, timeout_ms);
    long long got = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    char answer[128];
    snprintf(answer, sizeof answer, "%s", !r ? (c->err ? c->errstr : "no reply")
                                          : r->type == REDIS_REPLY_ERROR ? r->str : "?");
    freeReplyObject(r);
    if (got >= n)
        return 0;
    if (got < 0)
        return pc_error_set(err, PC_ERR_STORAGE_NOT_DURABLE,
                            "Redis WAIT failed (%s): the count is not acknowledged", answer);
    return pc_error_set(err, PC_ERR_STORAGE_NOT_DURABLE,
                        "only %lld of %d Redis replicas have the count within %d ms: it is not "
                        "acknowledged", got, n, timeout_ms);
}

int pc_redis_choose_wait(redisContext *c, int wanted, int timeout_ms)
{
    int replicas = pc_redis_primary_replicas(c);
    int n = wanted >= 0 ? wanted : replicas > 0 ? 1 : 0;
    if (n > 0)
        PC_LOG_I("Redis store: a count is acknowledged once on the primary's AOF and on %d of "
                 "its %d replicas (WAIT, %d ms)", n, replicas, timeout_ms);
    else
        PC_LOG_I("Redis store: a count is acknowledged once on the primary's AOF (no replica "
                 "waited for%s)", replicas > 0 ? ": --redis-wait-replicas 0" : "");
    return n;
}
