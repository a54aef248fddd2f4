/* store_redis_gas.c: see store_redis_gas.h. */
#include "server/store/redis/store_redis_gas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_internal.h"

#define KEY_MAX PC_REDIS_KEY_MAX
#define FEE_PARTS PC_REDIS_U256_PARTS

static const char *const scope_key[2] = {"gas:acct", "gas:med"};

/* KEYS: the account hash, the Mediator hash, the recent list. ARGV: account
 * hex, Mediator hex ("" = none), gas, fee parts f0 f1 f2, the wire form, the
 * list's length. No arithmetic in Lua (doubles): HINCRBY adds exactly. */
static const char record_lua[] =
    "local function add(key, who)\n"
    "  redis.call('HINCRBY', key, who .. ':txs', 1)\n"
    "  redis.call('HINCRBY', key, who .. ':gas', ARGV[3])\n"
    "  for i = 0, 2 do redis.call('HINCRBY', key, who .. ':f' .. i, ARGV[4 + i]) end\n"
    "end\n"
    "add(KEYS[1], ARGV[1])\n"
    "if ARGV[2] ~= '' then add(KEYS[2], ARGV[2]) end\n"
    "redis.call('LPUSH', KEYS[3], ARGV[7])\n"
    "redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[8]) - 1)\n"
    "return 1\n";

void pc_redis_hex40(const pc_address *a, char out[41])
{
    char tmp[PC_ADDRESS_TEXT_LEN];
    pc_hex_encode(a->bytes, 20, tmp);
    strcpy(out, tmp + 2);
}

void pc_redis_key_named(const pc_store *s, const char *name, char out[KEY_MAX])
{
    snprintf(out, KEY_MAX, "%s%s", pc_redis_store_prefix(s), name);
}

void pc_redis_u256_parts(const pc_u256 *v, char parts[PC_REDIS_U256_PARTS][16])
{
    snprintf(parts[0], 16, "%llu", (unsigned long long)(v->limb[0] & 0xffffffffu));
    snprintf(parts[1], 16, "%llu", (unsigned long long)(v->limb[0] >> 32));
    snprintf(parts[2], 16, "%llu", (unsigned long long)v->limb[1]);
}

int pc_redis_u256_add_part(pc_u256 *total, const char *what, unsigned long long v)
{
    if (what[0] != 'f' || what[1] < '0' || what[1] > '2' || what[2])
        return -1;
    pc_u256 part = pc_u256_from_u64(v), shifted = {{0}};
    int i = what[1] - '0'; /* part i counts units of 2^(32 i) */
    shifted.limb[i / 2] = i % 2 ? part.limb[0] << 32 : part.limb[0];
    if (i % 2)
        shifted.limb[i / 2 + 1] = part.limb[0] >> 32;
    pc_u256_add(total, total, &shifted);
    return 0;
}

int pc_redis_record_gas(pc_store *s, const pc_gas_tx *tx, pc_error *err)
{
    static const pc_address none;
    char keys[3][KEY_MAX], account[41], mediator[41] = "", gas[24], parts[FEE_PARTS][16],
        keep[16];
    uint8_t wire[PC_GAS_TX_WIRE_LEN];
    if (tx->fee.limb[3] || tx->fee.limb[2] || tx->fee.limb[1] >> 32)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "a fee of 2^96 wei or more");
    pc_redis_key_named(s, scope_key[0], keys[0]);
    pc_redis_key_named(s, scope_key[1], keys[1]);
    pc_redis_key_named(s, "gas:recent", keys[2]);
    pc_redis_hex40(&tx->account, account);
    if (!pc_address_equal(&tx->mediator, &none))
        pc_redis_hex40(&tx->mediator, mediator);
    snprintf(gas, sizeof gas, "%llu", (unsigned long long)tx->gas_used);
    pc_redis_u256_parts(&tx->fee, parts);
    snprintf(keep, sizeof keep, "%d", PC_STORE_RECENT_TXS);
    pc_gas_tx_encode(tx, wire);
    const char *argv[] = {"EVAL", record_lua, "3", keys[0], keys[1], keys[2], account, mediator,
                          gas, parts[0], parts[1], parts[2], (const char *)wire, keep};
    size_t lens[14];
    for (int i = 0; i < 14; i++)
        lens[i] = strlen(argv[i]);
    lens[12] = sizeof wire;
    redisReply *r = pc_redis_store_command(s, 14, argv, lens, err);
    freeReplyObject(r);
    return r ? 0 : -1;
}

int pc_redis_field_account(const redisReply *name, const redisReply *value, pc_address *account,
                           unsigned long long *v)
{
    char hex[43] = "0x";
    if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING || name->len < 42 ||
        name->str[40] != ':')
        return -1;
    memcpy(hex + 2, name->str, 40);
    *v = strtoull(value->str, NULL, 10);
    return pc_address_parse(hex, account);
}

int pc_redis_hash_each(pc_store *s, const char *name, pc_redis_field_fn take, void *ctx,
                       pc_error *err)
{
    char key[KEY_MAX];
    pc_redis_key_named(s, name, key);
    const char *argv[] = {"HGETALL", key};
    redisReply *r = pc_redis_store_command(s, 2, argv, NULL, err);
    if (!r)
        return -1;
    int ok = r->type == REDIS_REPLY_ARRAY;
    for (size_t i = 0; ok && i + 1 < r->elements; i += 2)
        ok = take(ctx, r->element[i], r->element[i + 1]) == 0;
    freeReplyObject(r);
    return ok ? 0 : pc_error_set(err, PC_ERR_INTERNAL, "Redis store: malformed %s", key);
}

/* The totals being read. */
typedef struct gas_read {
    pc_gas_total **totals;
    size_t *n, cap;
} gas_read;

/* Adds one hash field "<hex>:<what>" = value to the totals; -1 if malformed. */
static int take_field(void *ctx, const redisReply *name, const redisReply *value)
{
    gas_read *g = ctx;
    pc_address key;
    unsigned long long v;
    pc_gas_total *t;
    if (pc_redis_field_account(name, value, &key, &v) != 0 ||
        !(t = pc_gas_total_find(g->totals, g->n, &g->cap, &key)))
        return -1;
    const char *what = name->str + 41;
    if (strcmp(what, "txs") == 0)
        t->txs = v;
    else if (strcmp(what, "gas") == 0)
        t->gas_used = v;
    else
        (void)pc_redis_u256_add_part(&t->fee, what, v); /* other fields: a newer paychand's */
    return 0;
}

int pc_redis_gas_totals(pc_store *s, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                        pc_error *err)
{
    gas_read g = {.totals = totals, .n = n};
    return pc_redis_hash_each(s, scope_key[scope], take_field, &g, err);
}

int pc_redis_recent_gas(pc_store *s, pc_gas_tx **txs, size_t *n, pc_error *err)
{
    char key[KEY_MAX];
    pc_redis_key_named(s, "gas:recent", key);
    const char *argv[] = {"LRANGE", key, "0", "-1"};
    redisReply *r = pc_redis_store_command(s, 4, argv, NULL, err);
    if (!r)
        return -1;
    *txs = r->type == REDIS_REPLY_ARRAY && r->elements ? calloc(r->elements, sizeof **txs) : NULL;
    for (size_t i = 0; *txs && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len == PC_GAS_TX_WIRE_LEN)
            pc_gas_tx_decode((const uint8_t *)r->element[i]->str, &(*txs)[(*n)++]);
    int failed = r->type == REDIS_REPLY_ARRAY && r->elements && !*txs;
    freeReplyObject(r);
    return failed ? pc_error_set(err, PC_ERR_INTERNAL, "Redis store: out of memory") : 0;
}
