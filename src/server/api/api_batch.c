/* api_batch.c: POST /validateTokens (our extension), validateToken for
 * several tokens of one provider account in one call: the body, the
 * per-token results, what both forms share (the tokens judged, the counts
 * offered, the answer) and the worker's (blocking) form. The event loop's
 * form is in api_loop.c. Both offer the counts of a call in one list.
 *
 * Why: the provider's sidecar checks the payments of the requests in flight
 * for one account together, as the consumer's takes their tokens together
 * (/createSignatureHeaders?mediators=): one round trip and one durable
 * point (SQLite: a commit; Redis: a pipeline and one WAIT) for all of them
 * instead of one per request.
 *
 * Each token is judged on its own, exactly as validateToken judges it
 * (same checks, order, codes, messages and metadata): a refused or
 * malformed token is its own result, never the call's failure. Only a
 * malformed call (terms, the tokens list) fails the whole call. */
#include <stdio.h>

#include "server/api/api_internal.h"

/* The text of a token's member: a string, or a JSON integer written out in
 * buf (a negative one is then refused by the parsers); "" for another type
 * (refused as malformed); NULL when absent. */
static const char *member_text(json_t *token, const char *name, char buf[32])
{
    json_t *v = json_object_get(token, name);
    if (!v)
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if (!json_is_integer(v))
        return "";
    snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return buf;
}

/* One token object into *h, its fields checked in validateToken's order
 * (the Mediator, as its path, first): 0, or -1 with *err. */
static int read_token(json_t *token, pc_payment_headers *h, pc_error *err)
{
    char buf[32];
    if (!json_is_object(token))
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter tokens: not a token object");
    if (api_value_address("mediator", member_text(token, "mediator", buf), &h->mediator, err) ||
        api_value_address("sender", member_text(token, "sender", buf), &h->sender, err) ||
        api_value_u256("tokenId", member_text(token, "tokenId", buf), &h->token_id, err) ||
        api_value_u64("reqCount", member_text(token, "reqCount", buf), &h->request_count, err) ||
        api_value_signature(member_text(token, "signature", buf), &h->signature, err))
        return -1;
    return 0;
}

int api_batch_read(const pc_http_request *req, api_batch *b, pc_error *err)
{
    b->n = 0;
    if (api_terms_read(req, &b->want, err) != 0)
        return -1;
    /* a JSON body's array arrives as its text (params.h, structured members) */
    const char *text = pc_http_param(req, "tokens");
    json_t *list = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    size_t n = json_array_size(list);
    const char *why = !text                   ? "missing"
                      : !json_is_array(list)  ? "not an array of token objects"
                      : n == 0                ? "an empty array"
                      : n > API_MANY_MAX      ? "more than 16 tokens"
                                              : NULL;
    for (size_t i = 0; !why && i < n; i++)
        b->malformed[i] = read_token(json_array_get(list, i), &b->h[i], &b->bad[i]) != 0;
    json_decref(list);
    if (why)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter tokens: %s", why);
    b->n = n;
    return 0;
}

json_t *api_token_result(int rc, const pc_error *err, json_t *metadata)
{
    json_t *result = json_pack("{sb}", "valid", rc == 0);
    if (rc == 0) {
        json_decref(metadata);
        return result;
    }
    json_t *error = api_error_json(err, metadata); /* after "valid", in the object's order */
    if (!result || !error || json_object_update(result, error) != 0) {
        json_decref(result);
        result = NULL;
    }
    json_decref(error);
    return result;
}

void api_batch_judged(api_batch *b, size_t i, int rc, const pc_error *err, json_t *metadata,
                      const pc_u256 *cost)
{
    b->offered[i] = rc == 0;
    b->result[i] = rc == 0 ? NULL : api_token_result(rc, err, metadata);
    if (rc == 0)
        b->cost[i] = *cost;
}

size_t api_batch_offers(const api_batch *b, pc_address *mediators, pc_u256 *token_ids,
                        uint64_t *counts, pc_signature *sigs, size_t *which)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (!b->offered[i])
            continue;
        mediators[k] = b->h[i].mediator;
        token_ids[k] = b->h[i].token_id;
        counts[k] = b->h[i].request_count;
        sigs[k] = b->h[i].signature;
        which[k++] = i;
    }
    return k;
}

/* A passed token's result from its count's outcome r, as validateToken
 * answers it (and an accepted count raises the unredeemed total). */
static json_t *offered_result(pc_server *s, const pc_address *provider, const api_batch *b,
                              size_t i, const pc_store_result *r)
{
    json_t *meta = NULL;
    pc_error err = r->err;
    int rc = r->rc != 0 ? -1
             : pc_payment_count_outcome(&b->h[i], r->verdict, r->highest, &meta, &err);
    if (r->rc == 0)
        pc_payment_counted(s, provider, &b->h[i], &b->cost[i], r->verdict, r->highest);
    return api_token_result(rc, &err, meta);
}

json_t *api_batch_answer(pc_server *s, const pc_address *provider, api_batch *b,
                         const pc_store_result *r)
{
    json_t *list = json_array();
    for (size_t i = 0; i < b->n; i++) {
        json_t *one = b->offered[i] ? offered_result(s, provider, b, i, &r[i]) : b->result[i];
        b->result[i] = NULL; /* taken over */
        if (!list) {
            json_decref(one);
        } else if (!one || json_array_append_new(list, one) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list ? json_pack("{so}", "results", list) : NULL;
}

/* On a worker (the store's asynchronous forms may block here: Redis, or
 * a Mediator not cached or registered yet): every token judged in order,
 * as validateToken judges it (reading the node where the cached state
 * refuses it), then the counts of those that passed in one list (one
 * durable point: SQLite one transaction, Redis one pipeline and one WAIT,
 * where each token's own commit and WAIT made a batch of k cost k round
 * trips one after the other), then the answer. */
void api_validate_tokens(call *c)
{
    api_batch b;
    pc_error err;
    if (api_batch_read(c->req, &b, &err) != 0) {
        api_fail(c, &err, NULL);
        return;
    }
    uint64_t arrived_ms = pc_payment_now_ms();
    for (size_t i = 0; i < b.n; i++) {
        json_t *meta = NULL;
        pc_u256 cost;
        int rc = b.malformed[i] ? -1
                 : pc_payment_validate_check(c->s, &c->caller, &b.h[i], &b.want, arrived_ms,
                                             &cost, &meta, &err);
        api_batch_judged(&b, i, rc, b.malformed[i] ? &b.bad[i] : &err, meta, &cost);
    }
    pc_address keys[API_MANY_MAX];
    pc_u256 ids[API_MANY_MAX];
    uint64_t counts[API_MANY_MAX];
    pc_signature sigs[API_MANY_MAX];
    size_t which[API_MANY_MAX];
    pc_store_result got[API_MANY_MAX], r[API_MANY_MAX];
    size_t k = api_batch_offers(&b, keys, ids, counts, sigs, which);
    pc_store_offer_counts(c->s->store, k, keys, ids, counts, sigs, got);
    for (size_t j = 0; j < k; j++)
        r[which[j]] = got[j];
    api_ok(c, api_batch_answer(c->s, &c->caller, &b, r));
}
