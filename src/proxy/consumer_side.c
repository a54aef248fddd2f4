/* consumer_side.c: see consumer_side.h. */
#include "proxy/consumer_side.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/runtime/logger.h"
#include "core/encoding/u256.h"
#include "paychan.h"
#include "proxy/forward.h"
#include "proxy/token_batch.h"

#define MAX_402_BODY (16 * 1024)

/* One allow-listed target and its channel. */
typedef struct channel {
    const px_target *t;
    pthread_mutex_t lock;  /* opening, and spent */
    paychan_client *client; /* set once the channel is open; never replaced */
    pc_u256 cost, max_cost, max_spend, spent;
    unsigned long long paid; /* tokens taken */
    px_token_batch batch;    /* requests in flight share their calls for tokens */
} channel;

struct px_consumer {
    const px_config *cfg;
    pc_upstream *u;
    channel channels[PX_MAX_TARGETS];
};

px_consumer *px_consumer_create(const px_config *cfg, pc_upstream *u, pc_error *err)
{
    px_consumer *c = calloc(1, sizeof *c);
    if (!c) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->u = u;
    for (size_t i = 0; i < cfg->n_targets; i++) {
        channel *ch = &c->channels[i];
        ch->t = &cfg->targets[i];
        pthread_mutex_init(&ch->lock, NULL);
        px_token_batch_init(&ch->batch);
        pc_u256_parse_dec(ch->t->max_cost, &ch->max_cost);
        pc_u256_parse_dec(ch->t->max_spend, &ch->max_spend);
    }
    return c;
}

void px_consumer_destroy(px_consumer *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cfg->n_targets; i++) {
        paychan_client_destroy(c->channels[i].client);
        pthread_mutex_destroy(&c->channels[i].lock);
        px_token_batch_destroy(&c->channels[i].batch);
    }
    free(c);
}

/* ---- which target ----------------------------------------------------------------------- */

/* The channel of the request and the URL to call (malloc'ed in *url), or
 * NULL. Route form: /NAME/rest -> BASE/rest. Absolute form (forward proxy):
 * a URL under a target's base URL, called as is. */
static channel *resolve(px_consumer *c, const char *target, char **url)
{
    for (size_t i = 0; i < c->cfg->n_targets; i++) {
        channel *ch = &c->channels[i];
        const char *base = ch->t->base_url, *name = ch->t->name;
        size_t b = strlen(base), n = strlen(name);
        const char *rest = NULL;
        if (strncasecmp(target, base, b) == 0 && strchr("/?", target[b]) && target[b])
            rest = target + b;
        else if (target[0] == '/' && strncmp(target + 1, name, n) == 0 &&
                 (target[n + 1] == '/' || target[n + 1] == '?' || !target[n + 1]))
            rest = target + n + 1;
        if (!rest)
            continue;
        size_t len = b + strlen(rest) + 2;
        if ((*url = malloc(len)))
            snprintf(*url, len, "%s%s%s", base, rest[0] == '/' ? "" : "/", rest);
        return *url ? ch : NULL;
    }
    return NULL;
}

/* ---- opening the channel ------------------------------------------------------------------ */

/* The terms of a 402 body (docs/protocol.md §2.3), checked against the
 * target's maximum cost; 0, or -1 with *a filled. */
static int read_terms(channel *ch, const char *body, paychan_target_config *tc, char *provider,
                      char *cost, pc_http_answer *a)
{
    json_t *j = json_loads(body, 0, NULL), *t = json_object_get(j, "terms");
    const char *prov = json_string_value(json_object_get(t, "serviceProvider"));
    const char *min = json_string_value(json_object_get(t, "minCostPerRequest"));
    json_int_t tt = json_integer_value(json_object_get(t, "terminationTimeout"));
    json_int_t rt = json_integer_value(json_object_get(t, "tokenRedemptionTimeout"));
    pc_u256 want;
    int rc = -1;
    if (!prov || strlen(prov) != 42 || !min || pc_u256_parse_dec(min, &want) != 0 || tt <= 0 ||
        rt <= 0)
        px_error(a, 502, PX_E_BAD_TERMS, "BadTerms",
                 "target %s answered 402 without usable terms", ch->t->name);
    else if (pc_u256_cmp(&want, &ch->max_cost) > 0)
        px_error(a, 402, PX_E_COST_ABOVE_MAX, "CostAboveMaximum",
                 "target %s asks %s wei per request, above the maximum of %s", ch->t->name, min,
                 ch->t->max_cost);
    else {
        snprintf(provider, 43, "%s", prov);
        snprintf(cost, 80, "%s", min);
        *tc = (paychan_target_config){
            .name = ch->t->name, .provider = provider, .funding_wei = ch->t->funding,
            .auto_funding_threshold_wei = ch->t->threshold, .cost_per_request_wei = cost,
            .termination_timeout_s = (uint64_t)tt, .token_redemption_timeout_s = (uint64_t)rt,
            .reuse_existing_mediator = 1};
        ch->cost = want;
        rc = 0;
    }
    json_decref(j);
    return rc;
}

/* Deploys or reuses the Mediator to the provider of these terms and funds
 * it (paychan_init); 0, or -1 with *a filled (503: the Payment Server could not). */
static int open_channel(px_consumer *c, channel *ch, const paychan_target_config *tc,
                        pc_http_answer *a)
{
    const px_account *acc = &c->cfg->accounts[0];
    paychan_config pc = {.server_url = c->cfg->payment_server, .keystore_path = acc->keystore,
                         .password_path = acc->password, .dev_key_hex = acc->dev_key,
                         .timeout_ms = c->cfg->payment_timeout_ms};
    paychan_client *client = NULL;
    paychan_error e = {0};
    if (paychan_client_create(&pc, &client, &e) == 0 && paychan_add_target(client, tc, &e) == 0 &&
        paychan_init(client, &e) == 0) {
        PC_LOG_I("target %s: channel open, Mediator %s, %s wei per request", ch->t->name,
                 paychan_target_mediator(client, ch->t->name), tc->cost_per_request_wei);
        __atomic_store_n(&ch->client, client, __ATOMIC_RELEASE); /* read without the lock */
        return 0;
    }
    PC_LOG_W("target %s: cannot open the channel: %s (code %d)", ch->t->name, e.message, e.code);
    paychan_client_destroy(client);
    px_error(a, 503, e.code, "ChannelUnavailable", "cannot open a channel to target %s: %s",
             ch->t->name, e.message);
    return -1;
}

/* ---- paying ------------------------------------------------------------------------------- */

/* Counts the next request's cost against the maximum spend: 0, or -1
 * with *a filled when it would go past it. */
static int reserve(channel *ch, pc_http_answer *a)
{
    pc_u256 next;
    pthread_mutex_lock(&ch->lock);
    int over = pc_u256_add(&next, &ch->spent, &ch->cost) != 0 ||
               pc_u256_cmp(&next, &ch->max_spend) > 0;
    if (!over) {
        ch->spent = next;
        ch->paid++;
    }
    pthread_mutex_unlock(&ch->lock);
    if (over)
        px_error(a, 402, PX_E_SPEND_LIMIT, "SpendLimitReached",
                 "target %s: the maximum spend of %s wei is reached", ch->t->name,
                 ch->t->max_spend);
    return over ? -1 : 0;
}

/* Gives back a reservation whose token was never signed. */
static void unreserve(channel *ch)
{
    pthread_mutex_lock(&ch->lock);
    pc_u256_sub(&ch->spent, &ch->spent, &ch->cost);
    ch->paid--;
    pthread_mutex_unlock(&ch->lock);
}

/* The five x-pay-* header lines for the next request on ch, after
 * checking the maximum spend; the token comes in a call shared with the
 * other requests to ch in flight (token_batch.h). 0, or -1 with *a filled. */
static int sign(channel *ch, char lines[5][160], pc_http_answer *a)
{
    if (reserve(ch, a) != 0)
        return -1;
    paychan_payment_headers h;
    paychan_error e = {0};
    if (px_token_batch_sign(&ch->batch, ch->client, ch->t->name, &h, &e) != 0) {
        unreserve(ch);
        px_error(a, 503, e.code, "TokenUnavailable", "no token for target %s: %s", ch->t->name,
                 e.message);
        return -1;
    }
    snprintf(lines[0], 160, "%s: %s", PAYCHAN_HEADER_SENDER, h.sender);
    snprintf(lines[1], 160, "%s: %s", PAYCHAN_HEADER_MEDIATOR, h.mediator);
    snprintf(lines[2], 160, "%s: %s", PAYCHAN_HEADER_TOKEN_ID, h.token_id);
    snprintf(lines[3], 160, "%s: %s", PAYCHAN_HEADER_REQ_COUNT, h.request_count);
    snprintf(lines[4], 160, "%s: %s", PAYCHAN_HEADER_SIGNATURE, h.signature);
    return 0;
}

/* One call to the target: paid when the channel is open. Returns the call
 * (its header in), or NULL with *a filled. */
static pc_upstream_call *call(px_consumer *c, channel *ch, const pc_http_request *req,
                              const char *url, pc_http_answer *a)
{
    char lines[5][160];
    const char *extra[6] = {NULL};
    if (__atomic_load_n(&ch->client, __ATOMIC_ACQUIRE)) {
        if (sign(ch, lines, a) != 0)
            return NULL;
        for (int i = 0; i < 5; i++)
            extra[i] = lines[i];
    }
    struct curl_slist *headers = px_upstream_headers(req, extra);
    size_t len;
    const uint8_t *body = pc_http_body(req, &len);
    unsigned status;
    char why[256];
    pc_upstream_call *u = headers ? pc_upstream_start(c->u, pc_http_method(req), url, headers,
                                                      body, len, &status, why, sizeof why)
                                  : NULL;
    if (!u)
        px_error(a, headers ? status : 500, PX_E_UPSTREAM,
                 headers ? "UpstreamDown" : "InternalError", "target %s: %s", ch->t->name,
                 headers ? why : "out of memory");
    return u;
}

/* After a 402 from the target (its body read): opens the channel if it is
 * not open yet (once, under the lock), else tops it up (paychan_init
 * again: the funds may be spent). 0 when a retry may pay, else -1 with *a. */
static int after_402(px_consumer *c, channel *ch, const char *body, pc_http_answer *a)
{
    paychan_target_config tc;
    char provider[43], cost[80];
    pthread_mutex_lock(&ch->lock);
    int rc = 0;
    if (!ch->client) {
        rc = read_terms(ch, body, &tc, provider, cost, a);
        if (rc == 0)
            rc = open_channel(c, ch, &tc, a);
    } else {
        paychan_error e = {0};
        if (paychan_init(ch->client, &e) != 0)
            PC_LOG_W("target %s: top-up failed: %s", ch->t->name, e.message);
    }
    pthread_mutex_unlock(&ch->lock);
    return rc;
}

/* GET /health (the sidecar serves) and /ready (its Payment Server is
 * ready too), answered by the sidecar itself when no target has that
 * name: for orchestrators' probes. 1 when *a is filled. */
static int own_probe(px_consumer *c, const pc_http_request *req, pc_http_answer *a)
{
    const char *path = pc_http_path(req);
    int health = strcmp(path, "/health") == 0, ready = strcmp(path, "/ready") == 0;
    if ((!health && !ready) || strcmp(pc_http_method(req), "GET") != 0)
        return 0;
    unsigned status = 200;
    char url[1024], why[256] = "";
    snprintf(url, sizeof url, "%s/ready", c->cfg->payment_server);
    pc_upstream_call *u = ready ? pc_upstream_start(c->u, "GET", url, NULL, NULL, 0, &status,
                                                    why, sizeof why)
                                : NULL;
    if (u)
        status = pc_upstream_status(u);
    pc_upstream_free(u);
    if (status == 200) {
        a->status = 200;
        a->body = json_pack("{ssss}", "status", ready ? "ready" : "serving", "mode", "consumer");
    } else {
        px_error(a, 503, PAYCHAN_E_SERVER_DOWN, "NotReady", "the Payment Server is not ready (%u%s%s)",
                 status, why[0] ? ": " : "", why);
    }
    return 1;
}

pc_http_step px_consumer_handle(void *ctx, pc_http_request *req, pc_http_answer *a)
{
    px_consumer *c = ctx;
    char *url = NULL;
    channel *ch = resolve(c, pc_http_target(req), &url);
    if (!ch && own_probe(c, req, a))
        return PC_HTTP_ANSWERED;
    if (!ch) {
        px_error(a, 403, PX_E_NOT_ALLOWED, "TargetNotAllowed",
                 "%.200s is not an allow-listed target of this sidecar", pc_http_target(req));
        return PC_HTTP_ANSWERED;
    }
    pc_upstream_call *u = call(c, ch, req, url, a);
    if (u && pc_upstream_status(u) == 402) {
        char *body = NULL;
        size_t len;
        int readable = pc_upstream_read_all(u, MAX_402_BODY, &body, &len) == 0;
        pc_upstream_free(u);
        u = NULL;
        if (!readable)
            px_error(a, 502, PX_E_BAD_TERMS, "BadTerms", "target %s: unreadable 402 answer",
                     ch->t->name);
        else if (after_402(c, ch, body, a) == 0)
            u = call(c, ch, req, url, a); /* the one retry: its answer goes back as it is */
        free(body);
    }
    if (u)
        pc_upstream_answer(u, pc_http_method(req), a);
    PC_LOG_D("%s %s -> %u", pc_http_method(req), url, a->status);
    free(url);
    return PC_HTTP_ANSWERED;
}

/* ---- administration ------------------------------------------------------------------------ */

/* {"mediator": m or null, "paidRequests", "spent"} of one target. */
static json_t *target_status(channel *ch)
{
    char spent[PC_U256_DEC_LEN];
    paychan_client *client = __atomic_load_n(&ch->client, __ATOMIC_ACQUIRE);
    const char *m = client ? paychan_target_mediator(client, ch->t->name) : NULL;
    pthread_mutex_lock(&ch->lock);
    pc_u256_to_dec(&ch->spent, spent);
    json_t *out = json_pack("{s:s?,s:I,s:s,s:I}", "mediator", m, "paidRequests",
                            (json_int_t)ch->paid, "spent", spent, "tokenCalls",
                            (json_int_t)px_token_batch_calls(&ch->batch));
    pthread_mutex_unlock(&ch->lock);
    return out;
}

/* The consumer's termination of one target's Mediator. */
static json_t *terminate(channel *ch)
{
    paychan_client *client = __atomic_load_n(&ch->client, __ATOMIC_ACQUIRE);
    if (!client)
        return json_pack("{sbs{siss}}", "ok", 0, "error", "code", PAYCHAN_E_UNKNOWN_TARGET,
                         "message", "no channel open");
    const char *m = paychan_target_mediator(client, ch->t->name);
    paychan_error e = {0};
    paychan_termination st = {0};
    int terminated = 0;
    if (paychan_terminate(client, m, &terminated, &e) != 0 ||
        paychan_termination_status(client, m, &st, &e) != 0)
        return json_pack("{sssbs{siss}}", "mediator", m, "ok", 0, "error", "code", e.code,
                         "message", e.message);
    return json_pack("{sssbsbsbsI}", "mediator", m, "ok", 1, "terminated", terminated,
                     "terminationStarted", st.running || st.terminated, "willTerminateAt",
                     (json_int_t)st.will_terminate_at);
}

void px_consumer_admin(px_consumer *c, const char *action, pc_http_answer *a)
{
    json_t *targets = json_object();
    int all_ok = 1, status = strcmp(action, "status") == 0;
    for (size_t i = 0; i < c->cfg->n_targets; i++) {
        json_t *one = status ? target_status(&c->channels[i]) : terminate(&c->channels[i]);
        all_ok &= status || json_is_true(json_object_get(one, "ok"));
        json_object_set_new(targets, c->channels[i].t->name, one);
    }
    a->status = all_ok ? 200 : 502;
    a->body = json_pack("{ssso}", "mode", "consumer", "targets", targets);
}
