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

/* The validateToken target of h under c's terms into target[cap]; 0, or -1 with *err. */
static int validate_target(paychan_client *c, const paychan_payment_headers *h, char *target,
                           size_t cap, paychan_error *err)
{
    char min_cost[PC_CLIENT_WEI_LEN], tt[24], trt[24];
    pthread_mutex_lock(&c->lock);
    int has_terms = c->has_terms;
    memcpy(min_cost, c->min_cost, sizeof min_cost);
    snprintf(tt, sizeof tt, "%llu", (unsigned long long)c->termination_timeout_s);
    snprintf(trt, sizeof trt, "%llu", (unsigned long long)c->token_redemption_timeout_s);
    pthread_mutex_unlock(&c->lock);
    if (!has_terms)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "no provider terms (paychan_set_provider_terms)");
    /* the Mediator goes into the path: it must be an address, nothing else */
    if (pc_client_mediator_path(h->mediator, "validateToken", target, cap, err) != 0)
        return pc_client_fail(err, PC_ERR_INVALID_ARGUMENT, 0,
                              "x-pay-mediator is not an address");
    if (add_param(target, cap, "sender", h->sender) ||
        add_param(target, cap, "mediator", h->mediator) ||
        add_param(target, cap, "signature", h->signature) ||
        add_param(target, cap, "tokenId", h->token_id) ||
        add_param(target, cap, "reqCount", h->request_count) ||
        add_param(target, cap, "minCostPerRequest", min_cost) ||
        add_param(target, cap, "terminationTimeout", tt) ||
        add_param(target, cap, "tokenRedemptionTimeout", trt))
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
    pc_client_clear(err);
    if (!call || call->job != PC_JOB_VALIDATE) { /* freed all the same: the contract */
        paychan_call_free(call);
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "not a %s call",
                              "paychan_validate_payment_begin");
    }
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
