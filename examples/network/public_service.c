/* public_service.c: PublicService of the example network (docs/protocol.md §8), port
 * 8003. The consumer: it pays random-nr-service and persistence-service per
 * request through one Mediator each.
 *
 *   /init       add both providers as targets (5 finney funding each, top-up
 *               below 1 finney, the configured timeouts, reusing live
 *               Mediators), deploy or reuse and fund the Mediators; answers
 *               their addresses
 *   /action     get a random number, save it, answer it with the token ids,
 *               the Mediators and a timing trace of the steps
 *   /terminate  start the consumer's termination of both Mediators
 *   /status     address, payment switch, Mediators, actions served;
 *               ?funds=true adds each Mediator's funds and termination state */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

enum { RANDOM = 0, PERSISTENCE = 1, N_TARGETS = 2 };

static const char *const target_names[N_TARGETS] = {"random", "persistence"};
static const char *const target_costs[N_TARGETS] = {EX_COST_RANDOM_WEI, EX_COST_PERSISTENCE_WEI};

typedef struct public_state {
    pthread_mutex_t init_lock;        /* one /init at a time */
    int added[N_TARGETS];             /* paychan_add_target done */
    char mediators[N_TARGETS][43];    /* written under init_lock before `ready` */
    atomic_int ready;                 /* /init succeeded once */
    atomic_ullong actions;            /* /action calls answered 200 */
} public_state;

static const char *target_url(const ex_service *svc, int t)
{
    return t == RANDOM ? svc->cfg.random_url : svc->cfg.persistence_url;
}

static const char *target_address_cfg(const ex_service *svc, int t)
{
    return t == RANDOM ? svc->cfg.random_address : svc->cfg.persistence_address;
}

/* ---- /init ------------------------------------------------------------------------------- */

/* The provider's account: configured, else what its /status says. */
static int provider_address(ex_service *svc, int t, char out[64], char *why, size_t why_size)
{
    if (*target_address_cfg(svc, t)) {
        snprintf(out, 64, "%s", target_address_cfg(svc, t));
        return 0;
    }
    char url[600];
    snprintf(url, sizeof url, "%s/status", target_url(svc, t));
    ex_reply r;
    int rc = -1;
    const char *addr = NULL;
    if (ex_http_get(url, NULL, svc->cfg.timeout_ms, &r) != 0)
        snprintf(why, why_size, "%s: %s", url, r.error);
    else if (!ex_is_address(addr = json_string_value(json_object_get(r.body, "address"))))
        snprintf(why, why_size, "%s answered %ld without an address (is its payment on?)", url,
                 r.status);
    else {
        snprintf(out, 64, "%s", addr);
        rc = 0;
    }
    ex_reply_free(&r);
    return rc;
}

static int add_target(ex_service *svc, int t, ex_answer *ans)
{
    char provider[64], why[1024];
    if (provider_address(svc, t, provider, why, sizeof why) != 0) {
        ex_answer_error(ans, 502, "cannot learn the %s provider's address: %s", target_names[t],
                        why);
        return -1;
    }
    paychan_target_config tc = {
        .name = target_names[t],
        .provider = provider,
        .funding_wei = svc->cfg.funding_wei,
        .auto_funding_threshold_wei = EX_AUTO_FUNDING_THRESHOLD_WEI,
        .cost_per_request_wei = target_costs[t],
        .termination_timeout_s = svc->cfg.termination_timeout_s,
        .token_redemption_timeout_s = svc->cfg.token_redemption_timeout_s,
        .reuse_existing_mediator = 1,
    };
    paychan_error err = {0};
    if (paychan_add_target(svc->client, &tc, &err) != 0) {
        ex_answer_paychan_error(ans, 500, "cannot add the target", &err);
        return -1;
    }
    ex_log_info("target %s: provider %s, %s wei per request", target_names[t], provider,
                target_costs[t]);
    return 0;
}

static unsigned status_of(const paychan_error *e)
{
    if (e->code == PAYCHAN_E_SERVER_DOWN || e->code == PAYCHAN_E_SERVER_TIMEOUT)
        return 503;
    return 502;
}

/* Adds the targets not added yet and initialises them; under init_lock. */
static int init_locked(ex_service *svc, public_state *st, ex_answer *ans)
{
    for (int t = 0; t < N_TARGETS; t++) {
        if (!st->added[t] && add_target(svc, t, ans) != 0)
            return -1;
        st->added[t] = 1;
    }
    paychan_error err = {0};
    double start = ex_now_ms();
    if (paychan_init(svc->client, &err) != 0) {
        ex_answer_paychan_error(ans, status_of(&err), "init failed", &err);
        return -1;
    }
    for (int t = 0; t < N_TARGETS; t++) {
        const char *m = paychan_target_mediator(svc->client, target_names[t]);
        snprintf(st->mediators[t], sizeof st->mediators[t], "%s", m ? m : "");
        ex_log_info("Mediator %s for %s", st->mediators[t], target_names[t]);
    }
    atomic_store(&st->ready, 1);
    ex_log_info("init done in %.0f ms", ex_now_ms() - start);
    return 0;
}

static json_t *mediators_json(const public_state *st)
{
    json_t *o = json_object();
    for (int t = 0; t < N_TARGETS; t++)
        json_object_set_new(o, target_names[t], json_string(st->mediators[t]));
    return o;
}

static void handle_init(ex_service *svc, public_state *st, ex_answer *ans)
{
    if (!svc->client) {
        ex_answer_json(ans, 200, json_pack("{sbss}", "paymentActive", 0, "message",
                                           "payment is switched off: nothing to initialise"));
        return;
    }
    pthread_mutex_lock(&st->init_lock);
    int rc = init_locked(svc, st, ans);
    json_t *mediators = rc == 0 ? mediators_json(st) : NULL;
    pthread_mutex_unlock(&st->init_lock);
    if (rc != 0)
        return;
    ex_answer_json(ans, 200, json_pack("{sbsssossss}", "paymentActive", 1, "consumer",
                                       paychan_client_address(svc->client), "mediators",
                                       mediators, "fundingPerMediator", svc->cfg.funding_wei,
                                       "autoFundingThreshold", EX_AUTO_FUNDING_THRESHOLD_WEI));
}

/* ---- /action, served without blocking ------------------------------------------------------ */

/* One /action between its steps: sign both tokens -> /randomNumber (paid) ->
 * /save (paid) -> the answer. Each step's call runs on the request's loop
 * (ex_request_fetch); its done callback takes the next step. */
typedef struct action {
    ex_service *svc;
    ex_request *req;
    json_t *trace;                            /* [{"step", "ms"}] */
    json_t *token_ids;                        /* {"random": id, "persistence": id} */
    json_t *mediators;
    double start, step_start;
    paychan_payment_headers pay[N_TARGETS];
    paychan_call *sign;                       /* in flight */
    ex_call *call;                            /* in flight, to target */
    int target;
    char url[700];
    json_int_t number;
} action;

static void trace_step(action *a, const char *step)
{
    double now = ex_now_ms();
    json_array_append_new(a->trace, json_pack("{sssf}", "step", step, "ms",
                                              (double)(long long)((now - a->step_start) * 1e3) /
                                                  1e3));
    a->step_start = now;
}

static void action_free(action *a)
{
    json_decref(a->trace);
    json_decref(a->token_ids);
    json_decref(a->mediators);
    free(a);
}

/* Ends a failed /action: *ans (with the trace so far) is the answer. */
static void action_failed(action *a, ex_answer *ans)
{
    json_object_set(ans->body, "trace", a->trace);
    ex_request_finish(a->req, ans);
    action_free(a);
}

/* Ends a served /action: the number, the tokens, the Mediators and the trace. */
static void action_done(action *a)
{
    public_state *st = a->svc->data;
    int paid = a->svc->client != NULL;
    ex_answer ans = {0};
    a->step_start = a->start;
    trace_step(a, "total");
    atomic_fetch_add(&st->actions, 1);
    json_t *body = json_pack("{sIsbsOsO}", "randomNumber", a->number, "saved", 1, "tokenIds",
                             paid ? a->token_ids : json_null(), "mediators",
                             paid ? a->mediators : json_null());
    json_object_set(body, "trace", a->trace);
    ex_answer_json(&ans, 200, body);
    ex_request_finish(a->req, &ans);
    action_free(a);
}

static void on_answered(void *arg, CURL *easy, CURLcode result);

/* Calls `path` of target t (with its payment headers when paying). */
static void call_target(action *a, int t, const char *path)
{
    ex_service *svc = a->svc;
    snprintf(a->url, sizeof a->url, "%s%s", target_url(svc, t), path);
    a->target = t;
    a->call = ex_call_begin(a->url, svc->client ? &a->pay[t] : NULL, svc->cfg.timeout_ms);
    if (!a->call) {
        ex_answer ans = {0};
        ex_answer_error(&ans, 502, "%s: out of memory", a->url);
        action_failed(a, &ans);
        return;
    }
    ex_request_fetch(a->req, ex_call_easy(a->call), on_answered, a);
}

/* The provider's answer to the current call: 0 = 200 with a JSON object
 * (in *r, free it); -1 = *ans filled with the failure. */
static int check_reply(action *a, int rc, ex_reply *r, ex_answer *ans)
{
    if (rc != 0) {
        ex_answer_error(ans, 502, "%s: %s", a->url, r->error);
        ex_reply_free(r);
        return -1;
    }
    trace_step(a, a->target == RANDOM ? "getRandomNumber" : "saveNumber");
    if (r->status != 200 || !json_is_object(r->body)) {
        json_t *body = json_pack("{sssssI}", "error", "a provider refused the call", "url",
                                 a->url, "status", (json_int_t)r->status);
        json_object_set(body, "answer", r->body ? r->body : json_null());
        ex_answer_json(ans, 502, body);
        ex_reply_free(r);
        return -1;
    }
    return 0;
}

/* What the provider answered, checked; the next step. */
static void on_answered(void *arg, CURL *easy, CURLcode result)
{
    action *a = arg;
    ex_reply r;
    ex_answer ans = {0};
    (void)easy;
    if (check_reply(a, ex_call_end(a->call, result, &r), &r, &ans) != 0) {
        action_failed(a, &ans);
        return;
    }
    json_t *v = json_object_get(r.body, a->target == RANDOM ? "randomNumber" : "saved");
    int ok = a->target == RANDOM ? json_is_integer(v) : json_integer_value(v) == a->number;
    if (a->target == RANDOM)
        a->number = json_integer_value(v);
    ex_reply_free(&r);
    if (!ok && a->target == RANDOM)
        ex_answer_error(&ans, 502, "random-nr-service answered no randomNumber");
    else if (!ok)
        ex_answer_error(&ans, 502,
                        "persistence-service did not confirm saving %" JSON_INTEGER_FORMAT,
                        a->number);
    if (!ok) {
        action_failed(a, &ans);
    } else if (a->target == RANDOM) {
        char path[64];
        snprintf(path, sizeof path, "/save?nr=%" JSON_INTEGER_FORMAT, a->number);
        call_target(a, PERSISTENCE, path);
    } else {
        action_done(a);
    }
}

/* Both tokens signed (in one call: one round trip): the random number next. */
static void on_signed(void *arg, CURL *easy, CURLcode result)
{
    action *a = arg;
    paychan_error err = {0};
    (void)easy;
    int rc = paychan_sign_requests_end(a->sign, result, a->pay, &err);
    if (rc == PAYCHAN_CALL_AGAIN) { /* a fresh stamp after a 205 */
        ex_request_fetch(a->req, paychan_call_easy(a->sign), on_signed, a);
        return;
    }
    if (rc != 0) {
        ex_answer ans = {0};
        ex_answer_paychan_error(&ans, status_of(&err), "cannot sign the payments", &err);
        action_failed(a, &ans);
        return;
    }
    trace_step(a, "signTokens");
    for (int t = 0; t < N_TARGETS; t++) {
        json_object_set_new(a->token_ids, target_names[t], json_string(a->pay[t].token_id));
        json_object_set_new(a->mediators, target_names[t], json_string(a->pay[t].mediator));
    }
    call_target(a, RANDOM, "/randomNumber");
}

/* A new /action of req; NULL when out of memory. */
static action *action_new(ex_service *svc, ex_request *req)
{
    action *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->svc = svc;
    a->req = req;
    a->start = a->step_start = ex_now_ms();
    a->trace = json_array();
    a->token_ids = json_object();
    a->mediators = json_object();
    if (!a->trace || !a->token_ids || !a->mediators) {
        action_free(a);
        return NULL;
    }
    return a;
}

static void begin_action(ex_service *svc, public_state *st, ex_request *req)
{
    ex_answer ans = {0};
    action *a = NULL;
    if (svc->client && !atomic_load(&st->ready))
        ex_answer_error(&ans, 409, "payment channels not initialised: call /init first");
    else if (!(a = action_new(svc, req)))
        ex_answer_error(&ans, 500, "out of memory");
    if (!a) {
        ex_request_finish(req, &ans);
        return;
    }
    if (!svc->client) {
        call_target(a, RANDOM, "/randomNumber");
        return;
    }
    paychan_error err = {0};
    if (!(a->sign = paychan_sign_requests_begin(svc->client, target_names, N_TARGETS, &err))) {
        ex_answer_paychan_error(&ans, status_of(&err), "cannot sign the payments", &err);
        action_failed(a, &ans);
        return;
    }
    ex_request_fetch(req, paychan_call_easy(a->sign), on_signed, a);
}

/* ---- /terminate, /status ----------------------------------------------------------------- */

static void handle_terminate(ex_service *svc, public_state *st, ex_answer *ans)
{
    if (!svc->client) {
        ex_answer_error(ans, 409, "payment is switched off: no Mediators to terminate");
        return;
    }
    if (!atomic_load(&st->ready)) {
        ex_answer_error(ans, 409, "no Mediators yet: call /init first");
        return;
    }
    json_t *results = json_object();
    int all_ok = 1;
    for (int t = 0; t < N_TARGETS; t++) {
        const char *m = st->mediators[t];
        paychan_error err = {0};
        int terminated = 0;
        json_t *r;
        if (paychan_terminate(svc->client, m, &terminated, &err) == 0) {
            r = json_pack("{sssbsbsb}", "mediator", m, "ok", 1, "terminated", terminated,
                          "terminationStarted", !terminated);
            paychan_termination ts;
            if (!terminated && paychan_termination_status(svc->client, m, &ts, &err) == 0)
                json_object_set_new(r, "willTerminateAt",
                                    json_integer((json_int_t)ts.will_terminate_at));
            ex_log_info("terminate %s (%s): %s", target_names[t], m,
                        terminated ? "terminated" : "termination started");
        } else {
            r = json_pack("{sssb}", "mediator", m, "ok", 0);
            json_object_set_new(r, "error", ex_paychan_error_json(&err));
            ex_log_error("terminate %s (%s): %s (code %d)", target_names[t], m, err.message,
                         err.code);
            all_ok = 0;
        }
        json_object_set_new(results, target_names[t], r);
    }
    ex_answer_json(ans, all_ok ? 200 : 502, json_pack("{so}", "mediators", results));
}

static void handle_status(ex_service *svc, public_state *st, const ex_request *req,
                          ex_answer *ans)
{
    int ready = atomic_load(&st->ready);
    json_t *body = json_pack("{sssbsbsI}", "service", svc->def->name, "paymentActive",
                             svc->client != NULL, "initialised", ready, "actions",
                             (json_int_t)atomic_load(&st->actions));
    json_object_set_new(body, "address", svc->client
                                             ? json_string(paychan_client_address(svc->client))
                                             : json_null());
    json_object_set_new(body, "mediators", ready ? mediators_json(st) : json_null());
    const char *funds = ex_request_param(req, "funds");
    if (ready && funds && strcmp(funds, "true") == 0) {
        json_t *states = json_object();
        for (int t = 0; t < N_TARGETS; t++)
            json_object_set_new(states, target_names[t],
                                ex_mediator_state_json(svc->client, st->mediators[t]));
        json_object_set_new(body, "mediatorStates", states);
    }
    ex_answer_json(ans, 200, body);
}

/* /action, the paid hot path, without blocking. */
static int begin(ex_service *svc, ex_request *req)
{
    if (strcmp(ex_request_path(req), "/action") != 0)
        return 0;
    begin_action(svc, svc->data, req);
    return 1;
}

static void handle(ex_service *svc, const ex_request *req, ex_answer *ans)
{
    public_state *st = svc->data;
    const char *path = ex_request_path(req);
    if (strcmp(path, "/init") == 0)
        handle_init(svc, st, ans);
    else if (strcmp(path, "/terminate") == 0)
        handle_terminate(svc, st, ans);
    else if (strcmp(path, "/status") == 0)
        handle_status(svc, st, req, ans);
    else
        ex_answer_not_found(ans, req);
}

/* /status without ?funds=true reads counters only: on the event loop. /action
 * is begun (its calls run on the loop); the rest may block: on a worker. */
static int quick(ex_service *svc, const ex_request *req)
{
    (void)svc;
    const char *funds = ex_request_param(req, "funds");
    return strcmp(ex_request_path(req), "/status") == 0 && !(funds && strcmp(funds, "true") == 0);
}

/* Paying, PublicService cannot serve /action before /init has set up its
 * Mediators. Its providers are not checked: their own /ready says whether
 * they are ready, and a readiness that followed dependencies would take
 * the whole network out of rotation when one provider restarts. */
static void not_ready(ex_service *svc, json_t *missing)
{
    public_state *st = svc->data;
    if (svc->client && !atomic_load(&st->ready))
        json_array_append_new(missing, json_string("mediators"));
}

static int setup(ex_service *svc)
{
    public_state *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    pthread_mutex_init(&st->init_lock, NULL);
    svc->data = st;
    ex_log_info("random-nr-service at %s, persistence-service at %s", svc->cfg.random_url,
                svc->cfg.persistence_url);
    return 0;
}

static void teardown(ex_service *svc)
{
    public_state *st = svc->data;
    if (!st)
        return;
    pthread_mutex_destroy(&st->init_lock);
    free(st);
}

static const ex_service_def public_service = {
    .name = "public-service",
    .summary = "PublicService of the paychan example network: the public entry point. Each\n"
               "/action buys a random number from random-nr-service and has persistence-service\n"
               "store it, paying both per request through payment channels (Mediators).",
    .endpoints = "  /init       deploy (or reuse) and fund one Mediator per provider (5 finney\n"
                 "              each); answers their addresses. Call once before /action.\n"
                 "  /action     a random number, saved: {\"randomNumber\", \"saved\",\n"
                 "              \"tokenIds\", \"mediators\", \"trace\"}\n"
                 "  /terminate  start terminating both Mediators (consumer side)\n"
                 "  /status     address, payment switch, Mediators, actions served\n"
                 "              (?funds=true: with each Mediator's funds and termination state)",
    .default_port = 8003,
    .default_payment_server_url = "http://127.0.0.1:3002",
    .default_keystore = "devnet/dev-only/keystores/consumer.json",
    .options = EX_OPT_CALLS_PROVIDERS,
    .setup = setup,
    .begin = begin,
    .handle = handle,
    .quick = quick,
    .not_ready = not_ready,
    .teardown = teardown,
};

int main(int argc, char **argv)
{
    return ex_service_main(&public_service, argc, argv);
}
