/* store_redis_counts.c: see store_redis_counts.h. */
#include "server/store/redis/store_redis_counts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding/hex.h"
#include "server/store/store_internal.h"
#include "server/store/redis/store_redis_conn.h"

#define KEY_MAX PC_REDIS_KEY_MAX

/* ---- keys ---------------------------------------------------------------------------- */

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    char tmp[2 * 32 + 3];
    pc_hex_encode(b, n, tmp);
    strcpy(out, tmp + 2); /* without "0x" */
}

void pc_redis_counter_key(const pc_store *s, const char *kind, const pc_address *mediator,
                          const uint8_t *token_id, char out[KEY_MAX])
{
    char med[41], tid[65] = "";
    hex_of(mediator->bytes, 20, med);
    if (token_id)
        hex_of(token_id, 32, tid);
    snprintf(out, KEY_MAX, "%s%s:%s%s%s", pc_redis_store_prefix(s), kind, med,
             token_id ? ":" : "", tid);
}

/* ---- counters ----------------------------------------------------------------------- */

/* Runs counter script i (nkeys keys, then args, as pc_redis_run_script) on
 * a pooled connection once counts may be acknowledged
 * (pc_redis_counts_allowed): its reply, or NULL with *err. *c is the
 * connection (NULL when none was taken), for pc_redis_replicate;
 * counter_done gives it back. */
static redisReply *counter_script(pc_store *s, pc_redis_script i, int nkeys, int argc,
                                  const char **args, const size_t *lens, redisContext **c,
                                  pc_error *err)
{
    *c = NULL;
    if (pc_redis_counts_allowed(s, err) != 0 || !(*c = pc_redis_take(s, err)))
        return NULL;
    return pc_redis_run_script(s, *c, i, nkeys, argc, args, lens, err);
}

/* The end of a counter operation: c (if any) back to the pool, r freed; returns ret. */
static int counter_done(pc_store *s, redisContext *c, redisReply *r, int ret)
{
    if (c)
        pc_redis_give_back(s, c);
    freeReplyObject(r);
    return ret;
}

int pc_redis_next_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                        uint64_t *count, pc_error *err)
{
    char counter[KEY_MAX], ids[KEY_MAX], tid[65];
    pc_redis_counter_key(s, "cc", mediator, token_id, counter);
    pc_redis_counter_key(s, "cids", mediator, NULL, ids);
    hex_of(token_id, 32, tid);
    redisContext *c;
    const char *args[] = {counter, ids, tid};
    redisReply *r = counter_script(s, PC_REDIS_SCRIPT_NEXT_COUNT, 2, 3, args, NULL, &c, err);
    int ok = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    int ret = !r ? -1 : !ok ? pc_error_set(err, PC_ERR_INTERNAL, "Redis store: odd counter answer")
                            : pc_redis_replicate(s, c, err); /* refused: a gap, never reused */
    if (ret == 0)
        *count = (uint64_t)r->integer;
    return counter_done(s, c, r, ret);
}

/* A return is acknowledged like a count: on a durable Redis, and after
 * WAIT when replicas are required. A WAIT that fails leaves the count given
 * back on the primary, answered 103: the caller takes its token as spent. */
int pc_redis_return_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                          uint64_t count, int *returned, pc_error *err)
{
    char counter[KEY_MAX], dec[24];
    pc_redis_counter_key(s, "cc", mediator, token_id, counter);
    snprintf(dec, sizeof dec, "%llu", (unsigned long long)count);
    redisContext *c;
    const char *args[] = {counter, dec};
    redisReply *r = counter_script(s, PC_REDIS_SCRIPT_RETURN_COUNT, 1, 2, args, NULL, &c, err);
    int ok = r && r->type == REDIS_REPLY_INTEGER && (r->integer == 0 || r->integer == 1);
    int ret = !r ? -1 : !ok ? pc_error_set(err, PC_ERR_INTERNAL, "Redis store: odd return answer")
                  : r->integer ? pc_redis_replicate(s, c, err) : 0;
    if (ret == 0)
        *returned = (int)r->integer;
    return counter_done(s, c, r, ret);
}

int pc_redis_offer_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                         uint64_t count, const uint8_t sig[65], pc_count_verdict *verdict,
                         uint64_t *highest, pc_error *err)
{
    char counter[KEY_MAX], ring[KEY_MAX], ids[KEY_MAX], tid[65], dec[24];
    pc_redis_counter_key(s, "pc", mediator, token_id, counter);
    pc_redis_counter_key(s, "pw", mediator, token_id, ring);
    pc_redis_counter_key(s, "ids", mediator, NULL, ids);
    hex_of(token_id, 32, tid);
    snprintf(dec, sizeof dec, "%llu", (unsigned long long)count);
    redisContext *c;
    const char *args[] = {counter, ring, ids, dec, (const char *)sig, tid};
    size_t lens[] = {strlen(counter), strlen(ring), strlen(ids), strlen(dec), 65, 64};
    redisReply *r = counter_script(s, PC_REDIS_SCRIPT_OFFER, 3, 6, args, lens, &c, err);
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
             && r->element[0]->type == REDIS_REPLY_INTEGER
             && r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer >= 0;
    int ret = !r ? -1 : !ok ? pc_error_set(err, PC_ERR_INTERNAL, "Redis store: odd offer answer") : 0;
    if (ret == 0) {
        *verdict = pc_store_verdict_from_window((int)r->element[0]->integer);
        *highest = (uint64_t)r->element[1]->integer;
        /* an acceptance wrote the count: replicated before it is acknowledged
         * (refused, it stays seen: a retry needs the next count, never a replay) */
        if (r->element[0]->integer != 0)
            ret = pc_redis_replicate(s, c, err);
    }
    return counter_done(s, c, r, ret);
}

int pc_redis_best_token(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                        uint64_t *count, uint8_t sig[65], int *found, pc_error *err)
{
    char counter[KEY_MAX];
    pc_redis_counter_key(s, "pc", mediator, token_id, counter);
    const char *argv[] = {"HMGET", counter, "h", "s"};
    redisReply *r = pc_redis_store_command(s, 4, argv, NULL, err);
    if (!r)
        return -1;
    int ret = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        ret = pc_error_set(err, PC_ERR_INTERNAL, "Redis store: odd HMGET answer");
    } else if (r->element[0]->type == REDIS_REPLY_STRING) {
        redisReply *h = r->element[0], *sg = r->element[1];
        if (sg->type != REDIS_REPLY_STRING || sg->len != 65) {
            ret = pc_error_set(err, PC_ERR_INTERNAL, "Redis store: corrupt counter %s", counter);
        } else {
            *count = strtoull(h->str, NULL, 10);
            memcpy(sig, sg->str, 65);
            *found = 1;
        }
    }
    freeReplyObject(r);
    return ret;
}
