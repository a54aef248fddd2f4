/* api_batch.c: POST /validateTokens (our extension), validateToken for
 * several tokens of one provider account in one call: the body, the
 * per-token results and the worker's (blocking) form. The event loop's
 * form, which offers the counts in one store commit, is in api_loop.c.
 *
 * Why: the provider's sidecar checks the payments of the requests in flight
 * for one account together, as the consumer's takes their tokens together
 * (/createSignatureHeaders?mediators=): one round trip and, on the loop,
 * one durable commit for all of them instead of one per request.
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

/* On a worker: each token through pc_payment_validate, in order (each
 * count durable before the answer; one commit each). */
void api_validate_tokens(call *c)
{
    api_batch b;
    pc_error err;
    if (api_batch_read(c->req, &b, &err) != 0) {
        api_fail(c, &err, NULL);
        return;
    }
    json_t *results = json_array();
    for (size_t i = 0; i < b.n && results; i++) {
        json_t *meta = NULL;
        int rc = b.malformed[i] ? -1 : pc_payment_validate(c->s, &c->caller, &b.h[i], &b.want,
                                                            &meta, &err);
        json_t *r = api_token_result(rc, b.malformed[i] ? &b.bad[i] : &err, meta);
        if (!r || json_array_append_new(results, r) != 0) {
            json_decref(results);
            results = NULL;
        }
    }
    api_ok(c, results ? json_pack("{so}", "results", results) : NULL);
}
