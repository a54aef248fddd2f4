/* store_redis_money.c: see store_redis_money.h. */
#include "server/store/redis/store_redis_money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_internal.h"
#include "server/store/redis/store_redis_gas.h"

#define KEY_MAX PC_REDIS_KEY_MAX
#define PARTS PC_REDIS_U256_PARTS
#define ENTRY_ARGS (1 + PARTS) /* the field name's stem, then the parts */

/* KEYS: money:events, money:acct, money:last. ARGV: the event id, the
 * number of entries, per entry its stem "<account hex>:<field>" and three
 * parts, then the Mediator hex ("" = no redemption) and the redemption's
 * wire form. Returns 1 when recorded, 0 when the id was seen before. */
static const char record_lua[] =
    "if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
    "local n = tonumber(ARGV[2])\n"
    "for e = 0, n - 1 do\n"
    "  local b = 3 + e * 4\n"
    "  for i = 0, 2 do redis.call('HINCRBY', KEYS[2], ARGV[b] .. ':f' .. i, ARGV[b + 1 + i]) end\n"
    "end\n"
    "local m = 3 + n * 4\n"
    "if ARGV[m] ~= '' then redis.call('HSET', KEYS[3], ARGV[m], ARGV[m + 1]) end\n"
    "return 1\n";

#define ARGC_MAX (3 + 3 + 2 + 2 * ENTRY_ARGS + 2)

int pc_redis_record_money(pc_store *s, const pc_money_event *ev, int *fresh, pc_error *err)
{
    char keys[3][KEY_MAX], count[8], stems[2][48], parts[2][PARTS][16], mediator[41] = "";
    uint8_t wire[PC_REDEMPTION_WIRE_LEN] = {0};
    const char *argv[ARGC_MAX] = {"EVAL", record_lua, "3", keys[0], keys[1], keys[2],
                                  (const char *)ev->id, count};
    size_t lens[ARGC_MAX], argc = 8;
    pc_redis_key_named(s, "money:events", keys[0]);
    pc_redis_key_named(s, "money:acct", keys[1]);
    pc_redis_key_named(s, "money:last", keys[2]);
    snprintf(count, sizeof count, "%zu", ev->n);
    for (size_t e = 0; e < ev->n; e++) {
        char hex[41];
        pc_redis_hex40(&ev->entries[e].account, hex);
        snprintf(stems[e], sizeof stems[e], "%s:%d", hex, (int)ev->entries[e].field);
        pc_redis_u256_parts(&ev->entries[e].amount, parts[e]);
        argv[argc++] = stems[e];
        for (int i = 0; i < PARTS; i++)
            argv[argc++] = parts[e][i];
    }
    if (ev->has_redemption) {
        pc_redis_hex40(&ev->mediator, mediator);
        pc_redemption_encode(&ev->redemption, wire);
    }
    argv[argc++] = mediator;
    argv[argc++] = (const char *)wire;
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    lens[6] = sizeof ev->id;
    lens[argc - 1] = ev->has_redemption ? sizeof wire : 0;
    redisReply *r = pc_redis_store_command(s, (int)argc, argv, lens, err);
    if (r)
        *fresh = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return r ? 0 : -1;
}

/* The totals being read. */
typedef struct money_read {
    pc_money_total **totals;
    size_t *n, cap;
} money_read;

/* Adds one field "<hex>:<field>:f<i>" = value to the totals; -1 if malformed. */
static int take_field(void *ctx, const redisReply *name, const redisReply *value)
{
    money_read *m = ctx;
    pc_address account;
    unsigned long long v;
    char *end;
    pc_money_total *t;
    if (pc_redis_field_account(name, value, &account, &v) != 0 || name->len < 45)
        return -1;
    long field = strtol(name->str + 41, &end, 10);
    if (*end != ':' || field < 0 || field >= PC_MONEY_FIELDS ||
        !(t = pc_money_total_find(m->totals, m->n, &m->cap, &account)))
        return -1;
    return pc_redis_u256_add_part(&t->amount[field], end + 1, v);
}

int pc_redis_money_totals(pc_store *s, pc_money_total **totals, size_t *n, pc_error *err)
{
    money_read m = {.totals = totals, .n = n};
    return pc_redis_hash_each(s, "money:acct", take_field, &m, err);
}

int pc_redis_last_redemption(pc_store *s, const pc_address *mediator, pc_redemption *r,
                             int *found, pc_error *err)
{
    char key[KEY_MAX], hex[41];
    pc_redis_key_named(s, "money:last", key);
    pc_redis_hex40(mediator, hex);
    const char *argv[] = {"HGET", key, hex};
    redisReply *reply = pc_redis_store_command(s, 3, argv, NULL, err);
    if (!reply)
        return -1;
    if (reply->type == REDIS_REPLY_STRING && reply->len == PC_REDEMPTION_WIRE_LEN) {
        pc_redemption_decode((const uint8_t *)reply->str, r);
        *found = 1;
    }
    freeReplyObject(reply);
    return 0;
}
