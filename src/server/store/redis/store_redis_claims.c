/* store_redis_claims.c: see store_redis_claims.h. */
#include "server/store/redis/store_redis_claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding/hex.h"
#include "server/store/store_internal.h"
#include "server/store/redis/store_redis_gas.h"

int pc_redis_claim_nonce(pc_store *base, const uint8_t nonce[32], uint64_t expires_at, int *fresh,
                         pc_error *err)
{
    char key[256], hex[2 * 32 + 3], ttl[24];
    pc_hex_encode(nonce, 32, hex);
    snprintf(key, sizeof key, "%snonce:%s", pc_redis_store_prefix(base), hex + 2); /* no "0x" */
    uint64_t now = pc_store_now();
    uint64_t left = expires_at > now ? expires_at - now : 1;
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)left);
    const char *argv[] = {"SET", key, "1", "NX", "EX", ttl};
    redisReply *r = pc_redis_store_command(base, 6, argv, NULL, err);
    if (!r)
        return -1;
    *fresh = r->type == REDIS_REPLY_STATUS; /* "OK"; a nil answer = already there */
    freeReplyObject(r);
    return 0;
}

/* Parses "<chain id>:<genesis hash hex>"; 0 or -1. */
static int parse_chain(const redisReply *r, pc_chain_identity *id)
{
    char *colon = r->type == REDIS_REPLY_STRING ? memchr(r->str, ':', r->len) : NULL;
    if (!colon || colon == r->str || r->str + r->len - (colon + 1) != 64)
        return -1;
    char *end;
    id->chain_id = strtoull(r->str, &end, 10);
    return end == colon && pc_hex_decode(colon + 1, id->genesis_hash, 32) == 0 ? 0 : -1;
}

/* SET NX, then GET: the value never changes once set, so the pair needs no
 * script (nor one connection). */
int pc_redis_claim_chain(pc_store *base, const pc_chain_identity *node, pc_chain_identity *stored,
                         int *adopted, pc_error *err)
{
    char key[256], hex[2 * 32 + 3], value[24 + 66];
    snprintf(key, sizeof key, "%schain", pc_redis_store_prefix(base));
    pc_hex_encode(node->genesis_hash, 32, hex);
    snprintf(value, sizeof value, "%llu:%s", (unsigned long long)node->chain_id, hex + 2);
    const char *set[] = {"SET", key, value, "NX"}, *get[] = {"GET", key};
    redisReply *r = pc_redis_store_command(base, 4, set, NULL, err);
    if (!r)
        return -1;
    *adopted = r->type == REDIS_REPLY_STATUS; /* "OK"; nil: a chain is recorded */
    freeReplyObject(r);
    if (!(r = pc_redis_store_command(base, 2, get, NULL, err)))
        return -1;
    int ok = parse_chain(r, stored) == 0;
    freeReplyObject(r);
    return ok ? 0 : pc_error_set(err, PC_ERR_INTERNAL, "Redis store: corrupt %s", key);
}
