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

/* The offer script's arguments for one offer: 3 keys, then the count,
 * the signature and the token id (store_redis_scripts.h). */
typedef struct offer_args {
    char counter[KEY_MAX], ring[KEY_MAX], ids[KEY_MAX], tid[65], dec[24];
    const char *argv[6];
    size_t lens[6];
} offer_args;

/* sig must outlive *a. */
static void offer_args_of(const pc_store *s, const pc_address *mediator,
                          const uint8_t token_id[32], uint64_t count, const uint8_t sig[65],
                          offer_args *a)
{
    pc_redis_counter_key(s, "pc", mediator, token_id, a->counter);
    pc_redis_counter_key(s, "pw", mediator, token_id, a->ring);
    pc_redis_counter_key(s, "ids", mediator, NULL, a->ids);
    hex_of(token_id, 32, a->tid);
    snprintf(a->dec, sizeof a->dec, "%llu", (unsigned long long)count);
    const char *argv[6] = {a->counter, a->ring, a->ids, a->dec, (const char *)sig, a->tid};
    size_t lens[6] = {strlen(a->counter), strlen(a->ring), strlen(a->ids), strlen(a->dec), 65, 64};
    memcpy(a->argv, argv, sizeof argv);
    memcpy(a->lens, lens, sizeof lens);
}

/* The offer script's reply {verdict, highest}: 0 with *wrote = 1 when it
 * accepted (so wrote) the count; -1 with *err for an odd reply, or for
 * none (r NULL: *err already says why). */
static int offer_outcome(const redisReply *r, pc_count_verdict *verdict, uint64_t *highest,
                         int *wrote, pc_error *err)
{
    if (!r)
        return -1;
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2
             && r->element[0]->type == REDIS_REPLY_INTEGER
             && r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer >= 0;
    if (!ok)
        return pc_error_set(err, PC_ERR_INTERNAL, "Redis store: odd offer answer");
    *verdict = pc_store_verdict_from_window((int)r->element[0]->integer);
    *highest = (uint64_t)r->element[1]->integer;
    *wrote = r->element[0]->integer != 0;
    return 0;
}

int pc_redis_offer_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                         uint64_t count, const uint8_t sig[65], pc_count_verdict *verdict,
                         uint64_t *highest, pc_error *err)
{
    offer_args a;
    offer_args_of(s, mediator, token_id, count, sig, &a);
    redisContext *c;
    redisReply *r = counter_script(s, PC_REDIS_SCRIPT_OFFER, 3, 6, a.argv, a.lens, &c, err);
    int wrote = 0;
    int ret = offer_outcome(r, verdict, highest, &wrote, err);
    /* an acceptance wrote the count: replicated before it is acknowledged
     * (refused, it stays seen: a retry needs the next count, never a replay) */
    if (ret == 0 && wrote)
        ret = pc_redis_replicate(s, c, err);
    return counter_done(s, c, r, ret);
}

/* ---- several offers at once ---------------------------------------------------------- */

/* What a list of n offers needs: per offer its arguments, its call in the
 * pipeline and its outcome (on the heap: ~1 KB per offer). */
typedef struct offer_batch {
    size_t n;
    offer_args *args;
    pc_redis_call *calls;
    pc_store_result *results;
} offer_batch;

static int offer_batch_alloc(offer_batch *b, size_t n)
{
    b->n = n;
    b->args = calloc(n, sizeof *b->args);
    b->calls = calloc(n, sizeof *b->calls);
    b->results = calloc(n, sizeof *b->results);
    return b->args && b->calls && b->results ? 0 : -1;
}

static void offer_batch_free(offer_batch *b)
{
    free(b->args);
    free(b->calls);
    free(b->results);
}

/* Every offer of b fails with err (nothing was sent). */
static void fail_all(offer_batch *b, const pc_error *err)
{
    for (size_t i = 0; i < b->n; i++)
        b->results[i] = (pc_store_result){.rc = -1, .err = *err};
}

/* The offers' scripts in one pipeline on c, each outcome into b->results
 * as pc_redis_offer_count has it before its WAIT; 1 when any count was
 * written. */
static int pipeline_offers(pc_store *s, redisContext *c, const pc_store_offer *offers,
                           offer_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const pc_store_offer *o = &offers[i];
        offer_args_of(s, &o->mediator, o->token_id, o->count, o->sig, &b->args[i]);
        b->calls[i] = (pc_redis_call){.args = b->args[i].argv, .lens = b->args[i].lens};
    }
    pc_redis_run_scripts(s, c, PC_REDIS_SCRIPT_OFFER, 3, 6, b->n, b->calls);
    int wrote_any = 0;
    for (size_t i = 0; i < b->n; i++) {
        pc_store_result *r = &b->results[i];
        int wrote = 0;
        r->err = b->calls[i].err;
        r->rc = offer_outcome(b->calls[i].reply, &r->verdict, &r->highest, &wrote, &r->err);
        wrote_any |= wrote;
        freeReplyObject(b->calls[i].reply);
    }
    return wrote_any;
}

/* One WAIT for every count the pipeline wrote. If it fails, each accepted
 * offer fails with its error, as pc_redis_offer_count fails after its own
 * WAIT (103; the count stays seen); a replayed one keeps its verdict. */
static void replicate_all(pc_store *s, redisContext *c, offer_batch *b)
{
    pc_error err;
    if (pc_redis_replicate(s, c, &err) == 0)
        return;
    for (size_t i = 0; i < b->n; i++)
        if (b->results[i].rc == 0 && b->results[i].verdict != PC_COUNT_REPLAYED)
            b->results[i] = (pc_store_result){.rc = -1, .err = err};
}

/* Every outcome into b->results; nothing is sent while counts may not be
 * acknowledged or Redis cannot be reached (then all fail with why). */
static void offer_batch_run(pc_store *s, const pc_store_offer *offers, offer_batch *b)
{
    pc_error err;
    redisContext *c = NULL;
    if (pc_redis_counts_allowed(s, &err) != 0 || !(c = pc_redis_take(s, &err))) {
        fail_all(b, &err);
        return;
    }
    if (pipeline_offers(s, c, offers, b))
        replicate_all(s, c, b);
    pc_redis_give_back(s, c);
}

void pc_redis_offer_counts(pc_store *s, size_t n, const pc_store_offer *offers,
                           pc_store_done done)
{
    offer_batch b;
    int ok = offer_batch_alloc(&b, n) == 0;
    if (ok)
        offer_batch_run(s, offers, &b);
    for (size_t i = 0; i < n; i++) {
        pc_store_result oom = {.rc = -1};
        if (!ok)
            pc_error_set(&oom.err, PC_ERR_INTERNAL, "Redis store: out of memory");
        done(offers[i].arg, ok ? &b.results[i] : &oom);
    }
    offer_batch_free(&b);
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
