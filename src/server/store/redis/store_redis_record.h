/* store_redis_record.h: a Mediator record as a Redis hash (private to
 * store_redis_mediators.c): one field per member of pc_mediator_record,
 * addresses and 256-bit amounts as raw big-endian bytes, the rest as
 * decimal text. Kept apart because it is pure encoding, with no connection. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_RECORD_H
#define PAYCHAN_SERVER_STORE_REDIS_RECORD_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

#define PC_REDIS_RECORD_FIELDS 9

/* A record's hash fields, ready for HSET: name[i] = value[i] (len[i] bytes).
 * value points into the struct itself or into the record encoded. */
typedef struct pc_redis_record_bytes {
    char text[3][24]; /* role, since, created */
    uint8_t deposit[32], threshold[32], token[32];
    const char *name[PC_REDIS_RECORD_FIELDS];
    const char *value[PC_REDIS_RECORD_FIELDS];
    size_t len[PC_REDIS_RECORD_FIELDS];
} pc_redis_record_bytes;

/* Fills b from rec (which must outlive b). */
void pc_redis_record_encode(const pc_mediator_record *rec, pc_redis_record_bytes *b);

/* Decodes an HGETALL answer: 1 decoded into rec, 0 empty (no record), -1 corrupt. */
int pc_redis_record_decode(const redisReply *r, pc_mediator_record *rec);

#endif
