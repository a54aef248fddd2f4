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
    /* one opening or top-up at a time, off the loops; the requests that hit
     * a 402 meanwhile wait for its outcome (under wlock) */
    pthread_mutex_t wlock;
    int topping_up;
    struct flow *top_up_waiters;
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
        pthread_mutex_init(&ch->wlock, NULL);
        px_token_batch_init(&ch->batch, PX_BATCH_SIGN);
        if (cfg->spare_tokens)
            px_token_batch_keep_spare(&ch->batch);
        pc_u256_parse_dec(ch->t->max_cost, &ch->max_cost);
        pc_u256_parse_dec(ch->t->max_spend, &ch->max_spend);
    }
    return c;
}

/* At shutdown: the spare token, never sent, goes back to the Payment
 * Server, so that the consumer does not pay for it (token_batch.h). */
static void give_back_spare(channel *ch)
{
    paychan_payment_headers spare;
    if (!ch->client || !px_token_batch_take_spare(&ch->batch, &spare))
        return;
    paychan_error e = {0};
    int returned = 0;
    if (paychan_return_request(ch->client, &spare, &returned, &e) != 0)
        PC_LOG_W("target %s: cannot give back the spare token (count %s): %s (code %d); it is "
                 "paid with the next token of its id", ch->t->name, spare.request_count,
                 e.message, e.code);
    else if (!returned)
        PC_LOG_I("target %s: spare token (count %s) not given back: a later count was taken "
                 "since", ch->t->name, spare.request_count);
    else
        PC_LOG_I("target %s: spare token (count %s) given back", ch->t->name,
                 spare.request_count);
}

void px_consumer_destroy(px_consumer *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cfg->n_targets; i++) {
        give_back_spare(&c->channels[i]);
        paychan_client_destroy(c->channels[i].client);
        pthread_mutex_destroy(&c->channels[i].lock);
        pthread_mutex_destroy(&c->channels[i].wlock);
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

/* ---- one request ------------------------------------------------------------------------- */

/* A request to a target, from its handler until it is answered. */
typedef struct flow {
    px_consumer *c;
    channel *ch;
    pc_http_request *req;
    char *url;
    px_token_waiter w;       /* its token, when the channel is open */
    int retried;             /* the one retry after a 402 is under way */
    char *terms;             /* that 402's body */
    int top_up_rc;           /* after_402's result, and its answer when it failed: */
    pc_http_answer refused;
    struct flow *next_waiter; /* channel.top_up_waiters */
} flow;

static void flow_free(flow *f)
{
    free(f->url);
    free(f->terms);
    free(f);
}

/* Ends f with answer *a given now (in its continuation) or later. */
static void give_up(flow *f, pc_http_answer *a)
{
    px_answer_later(f->req, a);
    flow_free(f);
}

static void send_call(flow *f);

/* After the retry's top-up, on the request's loop. */
static void retry(void *arg, pc_http_request *req, pc_http_answer *a)
{
    flow *f = arg;
    if (!pc_http_abandoned(req) && f->top_up_rc == 0) {
        pc_http_suspend(req);
        send_call(f);
        return;
    }
    *a = f->refused; /* dropped when the client is gone */
    flow_free(f);
}

/* Opens or tops up the channel off the loops (paychan_init blocks on
 * the chain), then resumes the request for its retry, and with it every
 * request that hit a 402 of this target meanwhile (same outcome). So the
 * threads are one per target at most, however many requests get a 402. */
static void *top_up(void *arg)
{
    flow *f = arg;
    channel *ch = f->ch;
    f->top_up_rc = after_402(f->c, ch, f->terms, &f->refused);
    pthread_mutex_lock(&ch->wlock);
    flow *waiters = ch->top_up_waiters;
    ch->top_up_waiters = NULL;
    ch->topping_up = 0;
    pthread_mutex_unlock(&ch->wlock);
    for (flow *w = waiters, *next; w; w = next) {
        next = w->next_waiter;
        w->top_up_rc = f->top_up_rc;
        w->refused = (pc_http_answer){.status = f->refused.status,
                                      .body = json_deep_copy(f->refused.body)};
        pc_http_resume(w->req, retry, w);
    }
    pc_http_resume(f->req, retry, f);
    return NULL;
}

/* Has f's request wait for the channel's opening or top-up: joins the
 * one under way, or starts it. 0, or -1 when no thread could be made. */
static int wait_for_top_up(flow *f)
{
    channel *ch = f->ch;
    pthread_t t;
    int rc = 0;
    pthread_mutex_lock(&ch->wlock);
    if (ch->topping_up) {
        f->next_waiter = ch->top_up_waiters;
        ch->top_up_waiters = f;
    } else if (pthread_create(&t, NULL, top_up, f) == 0) {
        ch->topping_up = 1;
        pthread_detach(t);
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&ch->wlock);
    return rc;
}

/* The target's answer, on the request's loop: a first 402 opens or tops
 * up the channel and the request is sent once more; else it goes back. */
static void on_answer(void *arg, pc_http_request *req, pc_upstream_call *u, pc_http_answer *a)
{
    flow *f = arg;
    char why[8];
    if (u && !f->retried && !pc_upstream_failed(u, why, sizeof why) &&
        pc_upstream_status(u) == 402) {
        size_t len;
        int readable = pc_upstream_read_all(u, MAX_402_BODY, &f->terms, &len) == 0;
        pc_upstream_free(u);
        f->retried = 1;
        if (!readable) {
            px_error(a, 502, PX_E_BAD_TERMS, "BadTerms", "target %s: unreadable 402 answer",
                     f->ch->t->name);
        } else if (wait_for_top_up(f) == 0) {
            pc_http_suspend(req);
            return;
        } else {
            px_error(a, 503, PAYCHAN_E_NO_MEMORY, "ChannelUnavailable",
                     "target %s: no thread to open the channel", f->ch->t->name);
        }
    } else if (u) {
        px_forward_answer(req, u, f->ch->t->name, a);
    }
    PC_LOG_D("%s %s -> %u", pc_http_method(req), f->url, a->status);
    flow_free(f);
}

/* Sends the request to the target with extra header lines (or none). */
static void forward(flow *f, const char *const *extra)
{
    pc_http_answer a = {0};
    struct curl_slist *headers = px_upstream_headers(f->req, extra);
    if (!headers)
        px_error(&a, 500, PC_ERR_INTERNAL, "InternalError", "out of memory");
    else if (px_forward(f->c->u, f->req, f->url, headers, f->ch->t->name, on_answer, f, &a) == 0)
        return;
    give_up(f, &a);
}

/* The token is in (or not), on the request's loop: the paid call. */
static void on_token(void *arg, pc_http_request *req, pc_http_answer *a)
{
    flow *f = arg;
    if (f->w.rc != 0)
        unreserve(f->ch); /* never signed */
    if (pc_http_abandoned(req)) {
        flow_free(f);
        return;
    }
    if (f->w.rc != 0) {
        px_error(a, 503, f->w.err.code, "TokenUnavailable", "no token for target %s: %s",
                 f->ch->t->name, f->w.err.message);
        flow_free(f);
        return;
    }
    const paychan_payment_headers *h = &f->w.out;
    char lines[5][160];
    snprintf(lines[0], 160, "%s: %s", PAYCHAN_HEADER_SENDER, h->sender);
    snprintf(lines[1], 160, "%s: %s", PAYCHAN_HEADER_MEDIATOR, h->mediator);
    snprintf(lines[2], 160, "%s: %s", PAYCHAN_HEADER_TOKEN_ID, h->token_id);
    snprintf(lines[3], 160, "%s: %s", PAYCHAN_HEADER_REQ_COUNT, h->request_count);
    snprintf(lines[4], 160, "%s: %s", PAYCHAN_HEADER_SIGNATURE, h->signature);
    const char *extra[] = {lines[0], lines[1], lines[2], lines[3], lines[4], NULL};
    pc_http_suspend(req);
    forward(f, extra);
}

/* One call to the target (req suspended): paid when the channel is open,
 * after checking the maximum spend and taking a token (token_batch.h). */
static void send_call(flow *f)
{
    paychan_client *client = __atomic_load_n(&f->ch->client, __ATOMIC_ACQUIRE);
    pc_http_answer a = {0};
    if (!client) {
        forward(f, NULL);
    } else if (reserve(f->ch, &a) != 0) {
        give_up(f, &a);
    } else {
        f->w = (px_token_waiter){.req = f->req, .then = on_token, .arg = f};
        px_token_batch_sign(&f->ch->batch, client, f->ch->t->name, &f->w);
    }
}

/* ---- probes ------------------------------------------------------------------------------- */

/* /ready: the Payment Server's own /ready answered (or not). */
static void on_ready_probe(void *arg, pc_http_request *req, pc_upstream_call *u,
                           pc_http_answer *a)
{
    (void)arg, (void)req;
    char why[256] = "";
    unsigned status = u ? pc_upstream_failed(u, why, sizeof why) : 0;
    if (u && !status)
        status = pc_upstream_status(u);
    pc_upstream_free(u);
    if (!u)
        return;
    if (status == 200) {
        a->status = 200;
        a->body = json_pack("{ssss}", "status", "ready", "mode", "consumer");
    } else {
        px_error(a, 503, PAYCHAN_E_SERVER_DOWN, "NotReady",
                 "the Payment Server is not ready (%u%s%s)", status, why[0] ? ": " : "", why);
    }
}

/* GET /health (the sidecar serves) and /ready (its Payment Server is
 * ready too), answered by the sidecar itself when no target has that
 * name: for orchestrators' probes. PC_HTTP_ANSWERED or PC_HTTP_SUSPENDED
 * for a probe, else -1. */
static int own_probe(px_consumer *c, pc_http_request *req, pc_http_answer *a)
{
    const char *path = pc_http_path(req);
    int health = strcmp(path, "/health") == 0, ready = strcmp(path, "/ready") == 0;
    if ((!health && !ready) || strcmp(pc_http_method(req), "GET") != 0)
        return -1;
    if (health) {
        a->status = 200;
        a->body = json_pack("{ssss}", "status", "serving", "mode", "consumer");
        return PC_HTTP_ANSWERED;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/ready", c->cfg->payment_server);
    if (px_forward(c->u, req, url, NULL, NULL, on_ready_probe, NULL, a) != 0)
        return PC_HTTP_ANSWERED;
    pc_http_suspend(req);
    return PC_HTTP_SUSPENDED;
}

pc_http_step px_consumer_handle(void *ctx, pc_http_request *req, pc_http_answer *a)
{
    px_consumer *c = ctx;
    char *url = NULL;
    channel *ch = resolve(c, pc_http_target(req), &url);
    int probe = ch ? -1 : own_probe(c, req, a);
    if (probe >= 0)
        return (pc_http_step)probe;
    flow *f = ch ? calloc(1, sizeof *f) : NULL;
    if (!f) {
        free(url);
        if (ch)
            px_error(a, 500, PC_ERR_INTERNAL, "InternalError", "out of memory");
        else
            px_error(a, 403, PX_E_NOT_ALLOWED, "TargetNotAllowed",
                     "%.200s is not an allow-listed target of this sidecar",
                     pc_http_target(req));
        return PC_HTTP_ANSWERED;
    }
    *f = (flow){.c = c, .ch = ch, .req = req, .url = url};
    pc_http_suspend(req); /* send_call may answer at once: resumed inline */
    send_call(f);
    return PC_HTTP_SUSPENDED;
}

/* ---- administration ------------------------------------------------------------------------ */

/* {"mediator": m or null, "paidRequests", "spent"} of one target. */
static json_t *target_status(channel *ch)
{
    char spent[PC_U256_DEC_LEN];
    paychan_client *client = __atomic_load_n(&ch->client, __ATOMIC_ACQUIRE);
    const char *m = client ? paychan_target_mediator(client, ch->t->name) : NULL;
    int spare_ready;
    json_int_t spares = (json_int_t)px_token_batch_spares_taken(&ch->batch, &spare_ready);
    pthread_mutex_lock(&ch->lock);
    pc_u256_to_dec(&ch->spent, spent);
    json_t *out = json_pack("{s:s?,s:I,s:s,s:I,s:I,s:b}", "mediator", m, "paidRequests",
                            (json_int_t)ch->paid, "spent", spent, "tokenCalls",
                            (json_int_t)px_token_batch_calls(&ch->batch), "spareTokensTaken",
                            spares, "spareReady", spare_ready);
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
    px_token_batch_stop_spare(&ch->batch); /* a token signed before must not pay after */
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
