/* store_redis_admin.c: see store_redis_admin.h. */
#include "server/store/redis/store_redis_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_internal.h"
#include "server/store/redis/store_redis_gas.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Member "<40 hex>:<role>" into mediator and role: 0, or -1 when malformed. */
static int parse_member(const char *m, pc_address *mediator, pc_mediator_role *role)
{
    char hex[41];
    if (strlen(m) != 42 || m[40] != ':' || (m[41] != '1' && m[41] != '2'))
        return -1;
    memcpy(hex, m, 40);
    hex[40] = '\0';
    *role = (pc_mediator_role)(m[41] - '0');
    return pc_hex_decode(hex, mediator->bytes, 20);
}

/* Reads the records of names[0 .. n-1] (one round trip each: a page is at
 * most a thousand) into *l; a record deleted meanwhile is left out. */
static int read_records(pc_store *s, char **names, size_t n, pc_record_list *l, pc_error *err)
{
    for (size_t i = 0; i < n; i++) {
        pc_mediator_record rec;
        pc_address mediator;
        pc_mediator_role role;
        int found = 0;
        if (parse_member(names[i], &mediator, &role) != 0)
            return pc_error_set(err, PC_ERR_INTERNAL, "Redis store: odd record name %s", names[i]);
        if (pc_store_get_mediator(s, &mediator, role, &rec, &found, err) != 0 ||
            (found && pc_record_list_push(l, &rec, err) != 0))
            return -1;
    }
    return 0;
}

int pc_redis_page_mediators(pc_store *s, const pc_mediator_filter *f, size_t offset,
                            size_t limit, pc_mediator_record **recs, size_t *n, size_t *total,
                            pc_error *err)
{
    if (f->account)
        return pc_store_page_by_list(s, f, offset, limit, recs, n, total, err);
    char all[160];
    snprintf(all, sizeof all, "%smediators", pc_redis_store_prefix(s));
    const char *argv[] = {"SMEMBERS", all};
    redisReply *r = pc_redis_store_command(s, 2, argv, NULL, err);
    if (!r)
        return -1;
    char **names = malloc((r->elements + 1) * sizeof *names);
    size_t kept = 0;
    for (size_t i = 0; names && i < r->elements; i++) {
        const char *m = r->element[i]->str;
        size_t len = m ? strlen(m) : 0;
        if (!f->role || (len > 0 && m[len - 1] == '0' + (int)f->role))
            names[kept++] = r->element[i]->str;
    }
    pc_record_list l = {0};
    int ret = names ? 0 : pc_error_set(err, PC_ERR_INTERNAL, "Redis store: out of memory");
    if (ret == 0) {
        qsort(names, kept, sizeof *names, by_name); /* lowercase hex: the bytes' order */
        *total = kept;
        size_t from = offset < kept ? offset : kept;
        size_t count = kept - from < limit ? kept - from : limit;
        ret = read_records(s, names + from, count, &l, err);
    }
    free(names);
    freeReplyObject(r);
    *recs = l.items;
    *n = l.n;
    return ret;
}

int pc_redis_issued_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                          uint64_t *count, int *found, pc_error *err)
{
    char key[256], med[2 + 40 + 1], tid[2 + 64 + 1]; /* "0x...", skipped: the key has none */
    pc_hex_encode(mediator->bytes, 20, med);
    pc_hex_encode(token_id, 32, tid);
    snprintf(key, sizeof key, "%scc:%s:%s", pc_redis_store_prefix(s), med + 2, tid + 2);
    const char *argv[] = {"GET", key};
    redisReply *r = pc_redis_store_command(s, 2, argv, NULL, err);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_STRING) {
        *count = strtoull(r->str, NULL, 10);
        *found = 1;
    }
    freeReplyObject(r);
    return 0;
}
