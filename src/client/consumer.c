/* consumer.c: the consumer side of libpaychan: targets, init (useService and
 * deposit), sign_request (createSignatureHeaders) and return_request
 * (returnCount). See paychan.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"

/* The target named `name`, or NULL; the caller holds c->lock. */
static pc_client_target *find_target(const paychan_client *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_targets; i++)
        if (strcmp(c->targets[i]->name, name) == 0)
            return c->targets[i];
    return NULL;
}

/* Checks and copies the configuration t into *out (name excluded). 0, or -1 with CONFIG. */
static int copy_target(const paychan_target_config *t, pc_client_target *out, paychan_error *err)
{
    if (!t->name || !*t->name)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "a target needs a name");
    if (pc_client_address_text(t->provider, out->provider) != 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "target %s: provider is not an address",
                              t->name);
    if (pc_client_wei(t->funding_wei, "0", out->funding) != 0 ||
        pc_client_wei(t->auto_funding_threshold_wei, "0", out->threshold) != 0 ||
        pc_client_wei(t->cost_per_request_wei, "1", out->cost) != 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "target %s: amounts must be decimal wei", t->name);
    if (strcmp(out->cost, "0") == 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "target %s: cost per request must be positive", t->name);
    pc_u256 funding, threshold;
    if (pc_u256_parse_dec(out->funding, &funding) != 0 ||
        pc_u256_parse_dec(out->threshold, &threshold) != 0 ||
        pc_u256_cmp(&threshold, &funding) > 0) /* a top-up could never reach the threshold */
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "target %s: auto_funding_threshold_wei must not exceed funding_wei",
                              t->name);
    out->termination_timeout_s = t->termination_timeout_s ? t->termination_timeout_s : 3600;
    out->token_redemption_timeout_s =
        t->token_redemption_timeout_s ? t->token_redemption_timeout_s : 3600;
    out->reuse = t->reuse_existing_mediator != 0;
    return 0;
}

/* Appends t to the list; the caller holds c->lock. 0 or -1 (out of memory). */
static int append_target(paychan_client *c, pc_client_target *t)
{
    if (c->n_targets == c->cap_targets) {
        size_t cap = c->cap_targets ? 2 * c->cap_targets : 4;
        pc_client_target **grown = realloc(c->targets, cap * sizeof *grown);
        if (!grown)
            return -1;
        c->targets = grown;
        c->cap_targets = cap;
    }
    c->targets[c->n_targets++] = t;
    return 0;
}

int paychan_add_target(paychan_client *c, const paychan_target_config *t, paychan_error *err)
{
    pc_client_clear(err);
    if (!c || !t)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client or no target");
    pc_client_target *copy = calloc(1, sizeof *copy);
    if (!copy)
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory");
    if (copy_target(t, copy, err) != 0) {
        free(copy);
        return -1;
    }
    if (!(copy->name = strdup(t->name))) {
        free(copy);
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory");
    }
    pthread_mutex_lock(&c->lock);
    int rc = find_target(c, t->name) ? 1 : append_target(c, copy);
    pthread_mutex_unlock(&c->lock);
    if (rc != 0) {
        free(copy->name);
        free(copy);
        return rc > 0 ? pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "a target %s exists already",
                                       t->name)
                      : pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory");
    }
    return 0;
}

/* Prefixes err's message with the target's name, keeping code and status. */
static int target_failure(const pc_client_target *t, const char *step, paychan_error *err)
{
    if (err) {
        char message[sizeof err->message];
        /* a cut message is still a message: the end of the server's text may go */
        if (snprintf(message, sizeof message, "target %.40s, %s: %s", t->name, step,
                     err->message) >= 0)
            memcpy(err->message, message, sizeof message);
    }
    return -1;
}

/* useService for t: its Mediator address into mediator. */
static int use_service(paychan_client *c, const pc_client_target *t,
                       char mediator[PC_ADDRESS_TEXT_LEN], paychan_error *err)
{
    char target[512], cost[3 * PC_CLIENT_WEI_LEN];
    json_t *answer;
    pc_client_url_encode(t->cost, cost, sizeof cost); /* digits: always fits */
    snprintf(target, sizeof target,
             "/useService?serviceProvider=%s&costPerRequest=%s&terminationTimeout=%llu"
             "&tokenRedemptionTimeout=%llu%s",
             t->provider, cost, (unsigned long long)t->termination_timeout_s,
             (unsigned long long)t->token_redemption_timeout_s,
             t->reuse ? "&allowReuseExistingMediator=true" : "");
    if (pc_client_get(c, target, PC_CALL_CHAIN, &answer, err) != 0)
        return -1;
    char text[PC_ADDRESS_TEXT_LEN + 8];
    int rc = pc_client_answer_string(answer, "useService", "mediatorAddress", text, sizeof text,
                                     err);
    if (rc == 0 && pc_client_address_text(text, mediator) != 0)
        rc = pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                            "useService: mediatorAddress is not an address");
    json_decref(answer);
    return rc;
}

/* Deposits amount into mediator; paychand remembers t's threshold and t's
 * funding (autoFundingAmount) for its automatic top-ups, whatever amount
 * this deposit brings. */
static int deposit(paychan_client *c, const pc_client_target *t, const char *mediator,
                   const char *amount, paychan_error *err)
{
    char path[128], target[512];
    json_t *answer;
    /* decimal digits only (pc_client_wei): nothing to encode */
    if (pc_client_mediator_path(mediator, "deposit", path, sizeof path, err) != 0)
        return -1;
    if ((size_t)snprintf(target, sizeof target,
                         "%s/%s?autoFundingThreshold=%s&autoFundingAmount=%s", path, amount,
                         t->threshold, t->funding) >= sizeof target)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "deposit target too long");
    if (pc_client_get(c, target, PC_CALL_CHAIN, &answer, err) != 0)
        return -1;
    json_decref(answer);
    return 0;
}

/* What init deposits into t's Mediator (paychan.h): nothing while the
 * consumer funds are at or above the top-up threshold (the funding itself
 * when no threshold is set), else the difference up to the funding. A new
 * Mediator (no reuse) holds nothing. *amount "0" = no deposit. */
static int top_up_amount(paychan_client *c, const pc_client_target *t, const char *mediator,
                         char amount[PC_CLIENT_WEI_LEN], paychan_error *err)
{
    pc_u256 have = {{0}}, want, below, need;
    paychan_funds funds;
    if (pc_u256_parse_dec(t->funding, &want) != 0 || pc_u256_parse_dec(t->threshold, &below) != 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "funding amounts are not decimal");
    if (pc_u256_is_zero(&below))
        below = want;
    if (t->reuse) { /* never deposit blindly: a failed read fails init */
        if (paychan_funds_of(c, mediator, &funds, err) != 0)
            return -1;
        if (pc_u256_parse_dec(funds.consumer_wei, &have) != 0)
            return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200, "funds: not decimal wei");
    }
    if (pc_u256_cmp(&have, &below) >= 0 || pc_u256_sub(&need, &want, &have) != 0)
        need = (pc_u256){{0}};
    pc_u256_to_dec(&need, amount);
    return 0;
}

int paychan_init(paychan_client *c, paychan_error *err)
{
    pc_client_clear(err);
    if (!c)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client");
    for (size_t i = 0;; i++) {
        pthread_mutex_lock(&c->lock);
        pc_client_target *t = i < c->n_targets ? c->targets[i] : NULL;
        pthread_mutex_unlock(&c->lock);
        if (!t)
            return 0;
        /* the configuration of t is immutable: no lock needed while calling */
        char mediator[PC_ADDRESS_TEXT_LEN];
        if (use_service(c, t, mediator, err) != 0)
            return target_failure(t, "useService", err);
        char amount[PC_CLIENT_WEI_LEN] = "0";
        if (strcmp(t->funding, "0") != 0 && top_up_amount(c, t, mediator, amount, err) != 0)
            return target_failure(t, "reading the funds", err);
        if (strcmp(amount, "0") != 0 && deposit(c, t, mediator, amount, err) != 0)
            return target_failure(t, "deposit", err);
        pthread_mutex_lock(&c->lock);
        memcpy(t->mediator, mediator, sizeof mediator);
        pthread_mutex_unlock(&c->lock);
    }
}

const char *paychan_target_mediator(const paychan_client *c, const char *name)
{
    if (!c)
        return NULL;
    pthread_mutex_t *lock = (pthread_mutex_t *)&c->lock; /* logically const: a read */
    pthread_mutex_lock(lock);
    const pc_client_target *t = find_target(c, name);
    const char *m = t && t->mediator[0] ? t->mediator : NULL;
    pthread_mutex_unlock(lock);
    return m;
}

/* 1 if text is a non-empty run of decimal digits shorter than cap. */
static int decimal(const char *text, size_t cap)
{
    size_t n = strlen(text);
    return n > 0 && n < cap && strspn(text, "0123456789") == n;
}

int pc_client_headers_from_json(const json_t *obj, paychan_payment_headers *out,
                                paychan_error *err)
{
    const char *what = "createSignatureHeaders";
    pc_signature sig;
    memset(out, 0, sizeof *out);
    if (pc_client_answer_string(obj, what, PAYCHAN_HEADER_SENDER, out->sender,
                                sizeof out->sender, err) != 0 ||
        pc_client_answer_string(obj, what, PAYCHAN_HEADER_MEDIATOR, out->mediator,
                                sizeof out->mediator, err) != 0 ||
        pc_client_answer_string(obj, what, PAYCHAN_HEADER_TOKEN_ID, out->token_id,
                                sizeof out->token_id, err) != 0 ||
        pc_client_answer_string(obj, what, PAYCHAN_HEADER_REQ_COUNT, out->request_count,
                                sizeof out->request_count, err) != 0 ||
        pc_client_answer_string(obj, what, PAYCHAN_HEADER_SIGNATURE, out->signature,
                                sizeof out->signature, err) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    /* the values go into HTTP headers: only the forms of docs/protocol.md §2 may pass */
    if (pc_client_address_text(out->sender, out->sender) != 0 ||
        pc_client_address_text(out->mediator, out->mediator) != 0 ||
        !decimal(out->token_id, PC_U256_DEC_LEN) ||
        !decimal(out->request_count, sizeof out->request_count) ||
        pc_signature_from_hex(out->signature, &sig) != 0) {
        memset(out, 0, sizeof *out);
        return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                              "%s: a header value is not of its form (protocol §2)", what);
    }
    return 0;
}

/* The Mediator of target `name` (lowercase), which must be initialised. */
static int target_mediator(paychan_client *c, const char *name,
                           char mediator[PC_ADDRESS_TEXT_LEN], paychan_error *err)
{
    mediator[0] = '\0';
    pthread_mutex_lock(&c->lock);
    const pc_client_target *t = find_target(c, name);
    if (t)
        memcpy(mediator, t->mediator, PC_ADDRESS_TEXT_LEN);
    pthread_mutex_unlock(&c->lock);
    if (!mediator[0])
        return pc_client_fail(err, PAYCHAN_E_UNKNOWN_TARGET, 0,
                              t ? "target %.60s is not initialised (paychan_init)"
                                : "no target %.60s",
                              name ? name : "(null)");
    return 0;
}

/* The headers in a createSignatureHeaders answer (consumed), which must be
 * ours and for `mediator`. */
static int headers_of(paychan_client *c, json_t *answer, const char *mediator,
                      paychan_payment_headers *out, paychan_error *err)
{
    int rc = pc_client_headers_from_json(answer, out, err);
    json_decref(answer);
    if (rc == 0 && (strcmp(out->sender, c->address) != 0 || strcmp(out->mediator, mediator) != 0))
        rc = pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                            "createSignatureHeaders: headers for another sender or Mediator");
    return rc;
}

int paychan_sign_request(paychan_client *c, const char *name, paychan_payment_headers *out,
                         paychan_error *err)
{
    pc_client_clear(err);
    if (!c || !out)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client or no output");
    char mediator[PC_ADDRESS_TEXT_LEN], path[128];
    json_t *answer;
    if (target_mediator(c, name, mediator, err) != 0 ||
        pc_client_mediator_path(mediator, "createSignatureHeaders", path, sizeof path, err) ||
        pc_client_get(c, path, PC_CALL_READ, &answer, err) != 0)
        return -1;
    return headers_of(c, answer, mediator, out, err);
}

paychan_call *paychan_sign_requests_begin(paychan_client *c, const char *const *names, size_t n,
                                          paychan_error *err)
{
#define SIGN_MANY_PREFIX "/createSignatureHeaders?mediators="
    char mediators[PAYCHAN_SIGN_MANY_MAX][PC_ADDRESS_TEXT_LEN];
    /* the prefix with its NUL, then per address its 42 characters and a
     * comma, in the address text's room (43 with its NUL); 32 bytes for the
     * 34-byte prefix overflowed by 2 with the most names */
    char target[sizeof SIGN_MANY_PREFIX + PAYCHAN_SIGN_MANY_MAX * PC_ADDRESS_TEXT_LEN] =
        SIGN_MANY_PREFIX;
    size_t len = strlen(target);
    pc_client_clear(err);
    if (!c || !names || n == 0 || n > PAYCHAN_SIGN_MANY_MAX) {
        pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client or names, or n not in 1..%d",
                       PAYCHAN_SIGN_MANY_MAX);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) { /* nothing is sent unless every name is ready */
        if (target_mediator(c, names[i], mediators[i], err) != 0)
            return NULL;
        len += (size_t)snprintf(target + len, sizeof target - len, "%s%s", i ? "," : "",
                                mediators[i]);
    }
#undef SIGN_MANY_PREFIX
    paychan_call *call = pc_client_call_begin(c, target, PC_CALL_READ, 0, err);
    if (call) {
        call->job = PC_JOB_SIGN_MANY;
        call->n = n;
        memcpy(call->mediators, mediators, n * sizeof mediators[0]);
    }
    return call;
}

/* The n headers of a createSignatureHeaders?mediators= answer (consumed). */
static int headers_of_many(const paychan_call *call, json_t *answer, paychan_payment_headers *out,
                           paychan_error *err)
{
    json_t *list = json_object_get(answer, "headers");
    int rc = json_array_size(list) == call->n
                 ? 0
                 : pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                                  "createSignatureHeaders: not %zu headers", call->n);
    for (size_t i = 0; i < call->n && rc == 0; i++)
        rc = headers_of(call->c, json_incref(json_array_get(list, i)), call->mediators[i],
                        &out[i], err);
    json_decref(answer);
    return rc;
}

/* The end of a sign call whose transfer ended in rc (0 with answer, or -1):
 * its headers, then the call freed. */
static int sign_finish(paychan_call *call, int rc, json_t *answer, paychan_payment_headers *out,
                       paychan_error *err)
{
    if (rc == 0)
        rc = headers_of_many(call, answer, out, err);
    paychan_call_free(call);
    return rc;
}

int paychan_sign_requests_end(paychan_call *call, CURLcode result, paychan_payment_headers *out,
                              paychan_error *err)
{
    json_t *answer;
    if (pc_client_end_check(call, PC_JOB_SIGN_MANY, "paychan_sign_requests_begin", out != NULL,
                            err) != 0)
        return -1;
    int rc = pc_client_call_end(call, result, &answer, err);
    return rc == PAYCHAN_CALL_AGAIN ? rc : sign_finish(call, rc, answer, out, err);
}

int paychan_sign_requests(paychan_client *c, const char *const *names, size_t n,
                          paychan_payment_headers *out, paychan_error *err)
{
    json_t *answer;
    if (!out)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no output");
    paychan_call *call = paychan_sign_requests_begin(c, names, n, err);
    if (!call)
        return -1;
    int rc = pc_client_call_perform(call, &answer, err); /* before answer is read */
    return sign_finish(call, rc, answer, out, err);
}

/* ---- giving back a token never sent (returnCount) ----------------------------------------- */

/* 1 when h has the form paychan_sign_request(s) gives it for this client
 * (its sender, an address, decimal numbers), so it can go into the call. */
static int own_headers(const paychan_client *c, const paychan_payment_headers *h)
{
    char mediator[PC_ADDRESS_TEXT_LEN];
    return strcmp(h->sender, c->address) == 0 &&
           pc_client_address_text(h->mediator, mediator) == 0 &&
           decimal(h->token_id, sizeof h->token_id) &&
           decimal(h->request_count, sizeof h->request_count);
}

int paychan_return_request(paychan_client *c, const paychan_payment_headers *h, int *returned,
                           paychan_error *err)
{
    char path[128];
    json_t *answer;
    pc_client_clear(err);
    if (!c || !h || !returned)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client, headers or output");
    *returned = 0;
    if (!own_headers(c, h))
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "not headers paychan_sign_request gave this client");
    if (pc_client_mediator_path(h->mediator, "returnCount", path, sizeof path, err) != 0)
        return -1;
    json_t *params = json_pack("{ssss}", "tokenId", h->token_id, "reqCount", h->request_count);
    char *body = params ? json_dumps(params, JSON_COMPACT) : NULL;
    json_decref(params);
    if (!body)
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory");
    if (pc_client_post(c, path, body, PC_CALL_READ, &answer, err) != 0)
        return -1;
    int rc = pc_client_answer_bool(answer, "returnCount", "returned", returned, err);
    json_decref(answer);
    return rc;
}
