/* store_redis_mediators.c: see store_redis_mediators.h. */
#include "server/store/redis/store_redis_mediators.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_internal.h"
#include "server/store/redis/store_redis_conn.h"
#include "server/store/redis/store_redis_counts.h"
#include "server/store/redis/store_redis_gas.h"
#include "server/store/redis/store_redis_record.h"

#define KEY_MAX PC_REDIS_KEY_MAX

/* The record key and its member in the set of records of (mediator, role). */
static void record_names(const pc_store *s, const pc_address *mediator, pc_mediator_role role,
                         char key[KEY_MAX], char member[48])
{
    char med[41];
    pc_redis_hex40(mediator, med);
    snprintf(member, 48, "%s:%d", med, (int)role);
    snprintf(key, KEY_MAX, "%smed:%s", pc_redis_store_prefix(s), member);
}

/* Runs the forget script for role's counters; with_record also deletes its record. */
static int forget(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                  int with_record, pc_error *err)
{
    char ids[KEY_MAX], record[KEY_MAX], all[KEY_MAX], counters[KEY_MAX], rings[KEY_MAX];
    char med[41], member[48];
    int consumer = role == PC_ROLE_CONSUMER;
    pc_redis_counter_key(s, consumer ? "cids" : "ids", mediator, NULL, ids);
    record_names(s, mediator, role, record, member);
    pc_redis_key_named(s, "mediators", all);
    pc_redis_hex40(mediator, med);
    snprintf(counters, sizeof counters, "%s%s:%s:", pc_redis_store_prefix(s),
             consumer ? "cc" : "pc", med);
    snprintf(rings, sizeof rings, "%spw:%s:", pc_redis_store_prefix(s), med);
    redisContext *c = pc_redis_take(s, err);
    if (!c)
        return -1;
    /* KEYS then ARGV: the member, then the counter prefixes of the role */
    const char *args[] = {ids, record, all, member, counters, rings};
    const char *no_record[] = {ids, member, counters, rings};
    int nargs = consumer ? 2 : 3; /* the consumer has no rings */
    redisReply *r = with_record ? pc_redis_run_script(s, c, PC_REDIS_SCRIPT_FORGET, 3, 3 + nargs,
                                                      args, NULL, err)
                                : pc_redis_run_script(s, c, PC_REDIS_SCRIPT_FORGET, 1, 1 + nargs,
                                                      no_record, NULL, err);
    pc_redis_give_back(s, c);
    freeReplyObject(r);
    return r ? 0 : -1;
}

int pc_redis_forget_counters(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                             pc_error *err)
{
    return forget(s, mediator, role, 0, err);
}

int pc_redis_delete_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                             pc_error *err)
{
    return forget(s, mediator, role, 1, err);
}

/* ---- records ------------------------------------------------------------------------ */

int pc_redis_put_mediator(pc_store *s, const pc_mediator_record *rec, pc_error *err)
{
    char record[KEY_MAX], all[KEY_MAX], member[48];
    record_names(s, &rec->mediator, rec->role, record, member);
    pc_redis_key_named(s, "mediators", all);
    pc_redis_record_bytes b;
    pc_redis_record_encode(rec, &b);
    const char *args[3 + 2 * PC_REDIS_RECORD_FIELDS] = {record, all, member};
    size_t lens[3 + 2 * PC_REDIS_RECORD_FIELDS] = {strlen(record), strlen(all), strlen(member)};
    for (int i = 0; i < PC_REDIS_RECORD_FIELDS; i++) {
        args[3 + 2 * i] = b.name[i];
        lens[3 + 2 * i] = strlen(b.name[i]);
        args[4 + 2 * i] = b.value[i];
        lens[4 + 2 * i] = b.len[i];
    }
    redisContext *c = pc_redis_take(s, err);
    if (!c)
        return -1;
    redisReply *r = pc_redis_run_script(s, c, PC_REDIS_SCRIPT_PUT_MEDIATOR, 2,
                                        3 + 2 * PC_REDIS_RECORD_FIELDS, args, lens, err);
    pc_redis_give_back(s, c);
    freeReplyObject(r);
    return r ? 0 : -1;
}

int pc_redis_get_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                          pc_mediator_record *rec, int *found, pc_error *err)
{
    char record[KEY_MAX], member[48];
    record_names(s, mediator, role, record, member);
    const char *argv[] = {"HGETALL", record};
    redisReply *r = pc_redis_store_command(s, 2, argv, NULL, err);
    if (!r)
        return -1;
    int d = pc_redis_record_decode(r, rec);
    freeReplyObject(r);
    if (d < 0)
        return pc_error_set(err, PC_ERR_INTERNAL, "Redis store: corrupt record %s", record);
    *found = d;
    return 0;
}

/* HGETALL of every member of the set, pipelined. */
static int fetch_all(pc_store *s, redisContext *c, const redisReply *members, pc_record_list *l,
                     pc_error *err)
{
    for (size_t i = 0; i < members->elements; i++) {
        char record[KEY_MAX];
        snprintf(record, sizeof record, "%smed:%s", pc_redis_store_prefix(s),
                 members->element[i]->str);
        redisAppendCommand(c, "HGETALL %s", record);
    }
    int ret = 0;
    for (size_t i = 0; i < members->elements; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            return pc_error_set(err, PC_ERR_INTERNAL, "Redis store: %s:%d: %s", c->tcp.host,
                                c->tcp.port, c->errstr);
        }
        pc_mediator_record rec;
        int d = pc_redis_record_decode(reply, &rec);
        if (ret == 0 && d < 0)
            ret = pc_error_set(err, PC_ERR_INTERNAL, "Redis store: corrupt record of %s",
                               members->element[i]->str);
        else if (ret == 0 && d == 1) /* 0: deleted since SMEMBERS */
            ret = pc_record_list_push(l, &rec, err);
        freeReplyObject(reply);
    }
    return ret;
}

int pc_redis_list_mediators(pc_store *s, pc_mediator_record **recs, size_t *n, pc_error *err)
{
    char all[KEY_MAX];
    pc_redis_key_named(s, "mediators", all);
    redisContext *c = pc_redis_take(s, err);
    if (!c)
        return -1;
    const char *argv[] = {"SMEMBERS", all};
    redisReply *members = pc_redis_command(c, 2, argv, NULL, err);
    pc_record_list l = {0};
    int ret = members ? 0 : -1;
    if (members && members->type != REDIS_REPLY_ARRAY)
        ret = pc_error_set(err, PC_ERR_INTERNAL, "Redis store: odd SMEMBERS answer");
    if (ret == 0 && members->elements > 0)
        ret = fetch_all(s, c, members, &l, err);
    freeReplyObject(members);
    pc_redis_give_back(s, c);
    if (ret != 0) {
        free(l.items);
        return -1;
    }
    *recs = l.items;
    *n = l.n;
    return 0;
}
