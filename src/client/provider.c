/* provider.c: the provider side of libpaychan: required terms, reading the
 * x-pay-* headers of a request, validateToken, and the 402 answer of docs/protocol.md §2.
 * See paychan.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "core/runtime/error.h"

int paychan_set_provider_terms(paychan_client *c, const paychan_provider_terms *t,
                               paychan_error *err)
{
    char min_cost[PC_CLIENT_WEI_LEN];
    pc_client_clear(err);
    if (!c || !t)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client or no terms");
    if (pc_client_wei(t->min_cost_per_request_wei, NULL, min_cost) != 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "min_cost_per_request_wei must be decimal wei");
    if (t->termination_timeout_s == 0 || t->token_redemption_timeout_s == 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "both timeouts must be positive");
    pthread_mutex_lock(&c->lock);
    memcpy(c->min_cost, min_cost, sizeof min_cost);
    c->termination_timeout_s = t->termination_timeout_s;
    c->token_redemption_timeout_s = t->token_redemption_timeout_s;
    c->has_terms = 1;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Copies header `name` into out[cap]: PAYMENT_MISSING if absent or empty,
 * INVALID_ARGUMENT (protocol code 300) if longer than any valid value. */
static int read_header(paychan_header_getter get, void *ctx, const char *name, char *out,
                       size_t cap, paychan_error *err)
{
    const char *v = get(ctx, name);
    if (!v || !*v)
        return pc_client_fail(err, PAYCHAN_E_PAYMENT_MISSING, 0, "%s header missing", name);
    size_t n = strlen(v);
    if (n >= cap)
        return pc_client_fail(err, PC_ERR_INVALID_ARGUMENT, 0, "%s header too long", name);
    memcpy(out, v, n + 1);
    return 0;
}

int paychan_read_payment_headers(paychan_header_getter get, void *ctx,
                                 paychan_payment_headers *out, paychan_error *err)
{
    pc_client_clear(err);
    if (!get || !out)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no header getter or no output");
    memset(out, 0, sizeof *out);
    if (read_header(get, ctx, PAYCHAN_HEADER_SENDER, out->sender, sizeof out->sender, err) ||
        read_header(get, ctx, PAYCHAN_HEADER_MEDIATOR, out->mediator, sizeof out->mediator, err) ||
        read_header(get, ctx, PAYCHAN_HEADER_TOKEN_ID, out->token_id, sizeof out->token_id, err) ||
        read_header(get, ctx, PAYCHAN_HEADER_REQ_COUNT, out->request_count,
                    sizeof out->request_count, err) ||
        read_header(get, ctx, PAYCHAN_HEADER_SIGNATURE, out->signature, sizeof out->signature,
                    err)) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

/* Appends "&name=<value percent-encoded>" (or "?name=" first) to target. 0 or -1. */
static int add_param(char *target, size_t cap, const char *name, const char *value)
{
    size_t n = strlen(target);
    int w = snprintf(target + n, cap - n, "%s%s=", strchr(target, '?') ? "&" : "?", name);
    if (w < 0 || (size_t)w >= cap - n)
        return -1;
    n += (size_t)w;
    return pc_client_url_encode(value, target + n, cap - n);
}

/* c's required terms as validateToken's parameters take them (decimal
 * text); 0, or -1 with *err when none were set. */
typedef struct terms_text {
    char min_cost[PC_CLIENT_WEI_LEN], termination[24], redemption[24];
} terms_text;

static int read_terms(paychan_client *c, terms_text *t, paychan_error *err)
{
    pthread_mutex_lock(&c->lock);
    int has_terms = c->has_terms;
    memcpy(t->min_cost, c->min_cost, sizeof t->min_cost);
    snprintf(t->termination, sizeof t->termination, "%llu",
             (unsigned long long)c->termination_timeout_s);
    snprintf(t->redemption, sizeof t->redemption, "%llu",
             (unsigned long long)c->token_redemption_timeout_s);
    pthread_mutex_unlock(&c->lock);
    if (!has_terms)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "no provider terms (paychan_set_provider_terms)");
    return 0;
}

/* The validateToken target of h under c's terms into target[cap]; 0, or -1 with *err. */
static int validate_target(paychan_client *c, const paychan_payment_headers *h, char *target,
                           size_t cap, paychan_error *err)
{
    terms_text t;
    if (read_terms(c, &t, err) != 0)
        return -1;
    /* the Mediator goes into the path: it must be an address, nothing else */
    if (pc_client_mediator_path(h->mediator, "validateToken", target, cap, err) != 0)
        return pc_client_fail(err, PC_ERR_INVALID_ARGUMENT, 0,
                              "x-pay-mediator is not an address");
    if (add_param(target, cap, "sender", h->sender) ||
        add_param(target, cap, "mediator", h->mediator) ||
        add_param(target, cap, "signature", h->signature) ||
        add_param(target, cap, "tokenId", h->token_id) ||
        add_param(target, cap, "reqCount", h->request_count) ||
        add_param(target, cap, "minCostPerRequest", t.min_cost) ||
        add_param(target, cap, "terminationTimeout", t.termination) ||
        add_param(target, cap, "tokenRedemptionTimeout", t.redemption))
        return pc_client_fail(err, PC_ERR_INVALID_ARGUMENT, 0, "payment headers too long");
    return 0;
}

paychan_call *paychan_validate_payment_begin(paychan_client *c, const paychan_payment_headers *h,
                                             paychan_error *err)
{
    char target[1024];
    pc_client_clear(err);
    if (!c || !h) {
        pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client or no headers");
        return NULL;
    }
    if (validate_target(c, h, target, sizeof target, err) != 0)
        return NULL;
    paychan_call *call = pc_client_call_begin(c, target, PC_CALL_READ, 0, err);
    if (call)
        call->job = PC_JOB_VALIDATE;
    return call;
}

/* The end of a validate call whose transfer ended in rc (0 with answer, or
 * -1): paid only on {"valid": true}; then the call freed. */
static int validate_finish(paychan_call *call, int rc, json_t *answer, paychan_error *err)
{
    int valid = 0;
    paychan_call_free(call);
    if (rc != 0)
        return rc;
    rc = pc_client_answer_bool(answer, "validateToken", "valid", &valid, err);
    json_decref(answer);
    if (rc == 0 && !valid)
        rc = pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                            "validateToken answered valid: false without an error");
    return rc;
}

int paychan_validate_payment_end(paychan_call *call, CURLcode result, paychan_error *err)
{
    json_t *answer;
    if (pc_client_end_check(call, PC_JOB_VALIDATE, "paychan_validate_payment_begin", 1, err) != 0)
        return -1;
    int rc = pc_client_call_end(call, result, &answer, err);
    return rc == PAYCHAN_CALL_AGAIN ? rc : validate_finish(call, rc, answer, err);
}

int paychan_validate_payment(paychan_client *c, const paychan_payment_headers *h,
                             paychan_error *err)
{
    json_t *answer;
    paychan_call *call = paychan_validate_payment_begin(c, h, err);
    if (!call)
        return -1;
    int rc = pc_client_call_perform(call, &answer, err); /* before answer is read */
    return validate_finish(call, rc, answer, err);
}

/* ---- several payments in one call (POST /validateTokens) --------------------------------- */

/* v as a JSON string, or "" when it is not printable ASCII (a header can
 * carry any byte; the Payment Server then refuses that payment as malformed). */
static json_t *header_json(const char *v)
{
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
            return json_string("");
    return json_string(v);
}

/* The body of a /validateTokens call for h[0..n) under terms t; NULL when out of memory. */
static char *validate_many_body(const terms_text *t, const paychan_payment_headers *h, size_t n)
{
    json_t *tokens = json_array();
    for (size_t i = 0; tokens && i < n; i++)
        if (json_array_append_new(tokens, json_pack("{s:o, s:o, s:o, s:o, s:o}",
                                                    "mediator", header_json(h[i].mediator),
                                                    "sender", header_json(h[i].sender),
                                                    "signature", header_json(h[i].signature),
                                                    "tokenId", header_json(h[i].token_id),
                                                    "reqCount",
                                                    header_json(h[i].request_count))) != 0) {
            json_decref(tokens);
            tokens = NULL;
        }
    json_t *body = tokens ? json_pack("{s:s, s:s, s:s, s:o}", "minCostPerRequest", t->min_cost,
                                      "terminationTimeout", t->termination,
                                      "tokenRedemptionTimeout", t->redemption, "tokens", tokens)
                          : NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

paychan_call *paychan_validate_payments_begin(paychan_client *c, const paychan_payment_headers *h,
                                              size_t n, paychan_error *err)
{
    terms_text t;
    pc_client_clear(err);
    if (!c || !h || n == 0 || n > PAYCHAN_VALIDATE_MANY_MAX) {
        pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client, or not 1 to %d payments",
                       PAYCHAN_VALIDATE_MANY_MAX);
        return NULL;
    }
    if (read_terms(c, &t, err) != 0)
        return NULL;
    char *body = validate_many_body(&t, h, n);
    if (!body) {
        pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory building the request");
        return NULL;
    }
    paychan_call *call = pc_client_call_begin_post(c, "/validateTokens", body, PC_CALL_READ, 0,
                                                   err);
    if (call) {
        call->job = PC_JOB_VALIDATE_MANY;
        call->n = n;
    }
    return call;
}

/* One result of a /validateTokens answer into *e: code 0 when valid, else
 * the refusal with the HTTP status validateToken would have answered it
 * with. 0, or -1 (BAD_ANSWER in *err) when it is neither. */
static int read_result(const json_t *r, paychan_error *e, paychan_error *err)
{
    const char *message = json_string_value(json_object_get(r, "message"));
    json_t *code = json_object_get(r, "code");
    *e = (paychan_error){0};
    if (json_is_true(json_object_get(r, "valid")))
        return 0;
    if (!json_is_false(json_object_get(r, "valid")) || !json_is_integer(code) ||
        json_integer_value(code) <= 0 || json_integer_value(code) >= PAYCHAN_E_SERVER_DOWN ||
        !message)
        return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                              "validateTokens: a result is neither valid nor an error");
    int c = (int)json_integer_value(code);
    pc_client_fail(e, c, (int)pc_error_http_status(c), "%s", message);
    return 0;
}

/* The end of a validate-many call whose transfer ended in rc (0 with
 * answer, or -1): errs[i] for each of the call's n payments; then freed. */
static int validate_many_finish(paychan_call *call, int rc, json_t *answer, paychan_error *errs,
                                paychan_error *err)
{
    size_t n = call->n;
    paychan_call_free(call);
    if (rc != 0)
        return rc;
    json_t *results = json_object_get(answer, "results");
    paychan_error got[PAYCHAN_VALIDATE_MANY_MAX];
    if (!json_is_array(results) || json_array_size(results) != n)
        rc = pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                            "validateTokens: not %zu results", n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = read_result(json_array_get(results, i), &got[i], err);
    json_decref(answer);
    if (rc == 0)
        memcpy(errs, got, n * sizeof *errs); /* all or nothing: no half-read answer */
    return rc;
}

int paychan_validate_payments_end(paychan_call *call, CURLcode result, paychan_error *errs,
                                  paychan_error *err)
{
    json_t *answer;
    if (pc_client_end_check(call, PC_JOB_VALIDATE_MANY, "paychan_validate_payments_begin",
                            errs != NULL, err) != 0)
        return -1;
    int rc = pc_client_call_end(call, result, &answer, err);
    return rc == PAYCHAN_CALL_AGAIN ? rc : validate_many_finish(call, rc, answer, errs, err);
}

int paychan_validate_payments(paychan_client *c, const paychan_payment_headers *h, size_t n,
                              paychan_error *errs, paychan_error *err)
{
    json_t *answer;
    if (!errs)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no output");
    paychan_call *call = paychan_validate_payments_begin(c, h, n, err);
    if (!call)
        return -1;
    int rc = pc_client_call_perform(call, &answer, err);
    return validate_many_finish(call, rc, answer, errs, err);
}

/* A CamelCase name for the codes of paychan.h, else the protocol's name. */
static const char *code_name(int code)
{
    switch (code) {
    case PAYCHAN_E_SERVER_DOWN: return "PaymentServerDown";
    case PAYCHAN_E_SERVER_TIMEOUT: return "PaymentServerTimeout";
    case PAYCHAN_E_BAD_ANSWER: return "PaymentServerBadAnswer";
    case PAYCHAN_E_CONFIG: return "ConfigurationError";
    case PAYCHAN_E_PAYMENT_MISSING: return "PaymentMissing";
    case PAYCHAN_E_UNKNOWN_TARGET: return "UnknownTarget";
    case PAYCHAN_E_NO_MEMORY: return "OutOfMemory";
    default: return pc_error_code_name(code);
    }
}

/* msg as a JSON string; bytes that are not ASCII become '?' if msg is not
 * valid UTF-8 (a message cut at its buffer's end may split a character). */
static json_t *message_json(const char *msg)
{
    json_t *s = json_string(msg);
    if (s)
        return s;
    char clean[sizeof ((paychan_error *)0)->message];
    size_t n = 0;
    for (; msg[n] && n + 1 < sizeof clean; n++)
        clean[n] = (unsigned char)msg[n] < 128 ? msg[n] : '?';
    clean[n] = '\0';
    return json_string(clean);
}

int paychan_error_is_payment_fault(const paychan_error *err)
{
    if (!err || err->http_status >= 500)
        return 0;
    switch (err->code) {
    case PC_ERR_TERMINATED:
    case PC_ERR_ONLY_PROVIDER: /* the Mediator pays another provider */
    case PC_ERR_ONLY_CONSUMER:
    case PC_ERR_TOKEN_SIGNATURE:
    case PC_ERR_INSUFFICIENT_FUNDS:
    case PC_ERR_UNKNOWN_TOKEN_ID:
    case PC_ERR_COUNT_USED:
    case PC_ERR_TERMS_MISMATCH:
    case PC_ERR_INVALID_ARGUMENT: /* a malformed x-pay-* header */
    case PC_ERR_NOT_A_PARTY:
    case PAYCHAN_E_PAYMENT_MISSING:
        return 1;
    default:
        return 0;
    }
}

const char *paychan_error_public_message(const paychan_error *err)
{
    if (!err || err->code == 0)
        return "payment required";
    if (paychan_error_is_payment_fault(err))
        return err->message[0] ? err->message : pc_error_code_meaning(err->code);
    switch (err->code) {
    case PAYCHAN_E_SERVER_DOWN: return "the provider's Payment Server is unreachable";
    case PAYCHAN_E_SERVER_TIMEOUT: return "the provider's Payment Server did not answer in time";
    case PC_ERR_NODE: return "the provider's Ethereum node is unreachable";
    default: return "the provider could not check the payment";
    }
}

char *paychan_payment_required_body(const paychan_client *c, const paychan_error *why)
{
    static const paychan_error missing = {PAYCHAN_E_PAYMENT_MISSING, 0, "payment required"};
    const paychan_error *w = why && why->code != 0 ? why : &missing;
    json_t *terms = json_object();
    if (!terms)
        return NULL;
    if (c) {
        pthread_mutex_t *lock = (pthread_mutex_t *)&c->lock; /* logically const: a read */
        json_object_set_new(terms, "serviceProvider", json_string(c->address));
        pthread_mutex_lock(lock);
        if (c->has_terms) {
            json_object_set_new(terms, "minCostPerRequest", json_string(c->min_cost));
            json_object_set_new(terms, "terminationTimeout",
                                json_integer((json_int_t)c->termination_timeout_s));
            json_object_set_new(terms, "tokenRedemptionTimeout",
                                json_integer((json_int_t)c->token_redemption_timeout_s));
        }
        pthread_mutex_unlock(lock);
    }
    json_t *body = json_pack("{s:s, s:i, s:o, s:o}", "name", code_name(w->code), "code", w->code,
                             "message", message_json(paychan_error_public_message(w)),
                             "terms", terms);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}
