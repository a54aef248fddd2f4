/* store_redis_record.c: see store_redis_record.h. */
#include "server/store/redis/store_redis_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The hash fields of a record, in this order, with their stored sizes (0 = decimal text). */
static const char *const field_names[] = {"mediator", "role",   "account", "counterparty", "deposit",
                                          "threshold", "since", "token",   "created"};
enum { N_FIELDS = PC_REDIS_RECORD_FIELDS };

void pc_redis_record_encode(const pc_mediator_record *rec, pc_redis_record_bytes *b)
{
    snprintf(b->text[0], 24, "%d", (int)rec->role);
    snprintf(b->text[1], 24, "%llu", (unsigned long long)rec->token_active_since);
    snprintf(b->text[2], 24, "%llu", (unsigned long long)rec->created_at);
    pc_u256_to_be(&rec->deposit_amount, b->deposit);
    pc_u256_to_be(&rec->funding_threshold, b->threshold);
    pc_u256_to_be(&rec->token_id, b->token);
    const void *v[N_FIELDS] = {rec->mediator.bytes, b->text[0], rec->account.bytes,
                               rec->counterparty.bytes, b->deposit, b->threshold, b->text[1],
                               b->token, b->text[2]};
    size_t l[N_FIELDS] = {20, strlen(b->text[0]), 20, 20, 32, 32, strlen(b->text[1]), 32,
                          strlen(b->text[2])};
    for (int i = 0; i < N_FIELDS; i++) {
        b->name[i] = field_names[i];
        b->value[i] = v[i];
        b->len[i] = l[i];
    }
}


static int field_index(const redisReply *name)
{
    for (int i = 0; i < N_FIELDS; i++)
        if (name->len == strlen(field_names[i]) && memcmp(name->str, field_names[i], name->len) == 0)
            return i;
    return -1;
}

static int copy_exact(const redisReply *v, void *out, size_t n)
{
    if (v->len != n)
        return -1;
    memcpy(out, v->str, n);
    return 0;
}

static int decode_field(pc_mediator_record *rec, int i, const redisReply *v)
{
    uint8_t be[32];
    switch (i) {
    case 0: return copy_exact(v, rec->mediator.bytes, 20);
    case 1: rec->role = (pc_mediator_role)atoi(v->str); return 0;
    case 2: return copy_exact(v, rec->account.bytes, 20);
    case 3: return copy_exact(v, rec->counterparty.bytes, 20);
    case 6: rec->token_active_since = strtoull(v->str, NULL, 10); return 0;
    case 8: rec->created_at = strtoull(v->str, NULL, 10); return 0;
    default: break;
    }
    if (copy_exact(v, be, 32) != 0)
        return -1;
    pc_u256_from_be(i == 4 ? &rec->deposit_amount : i == 5 ? &rec->funding_threshold : &rec->token_id,
                    be);
    return 0;
}

int pc_redis_record_decode(const redisReply *r, pc_mediator_record *rec)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
        return -1;
    if (r->elements == 0)
        return 0;
    memset(rec, 0, sizeof *rec);
    unsigned have = 0;
    for (size_t k = 0; k + 1 < r->elements; k += 2) {
        int i = field_index(r->element[k]);
        if (i < 0 || r->element[k + 1]->type != REDIS_REPLY_STRING
            || decode_field(rec, i, r->element[k + 1]) != 0)
            return -1;
        have |= 1u << i;
    }
    return have == (1u << N_FIELDS) - 1 ? 1 : -1;
}
