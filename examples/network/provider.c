/* provider.c: see provider.h. */
#include "provider.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEDIATORS 256 /* this example serves one consumer; room for many */

typedef struct known_mediator {
    char address[43]; /* lowercase, as the validated header had it */
    unsigned long long paid_requests;
} known_mediator;

struct ex_provider {
    ex_service *svc;
    char cost_wei[80];
    pthread_mutex_t lock; /* guards the Mediator list and the counters */
    known_mediator mediators[MAX_MEDIATORS];
    size_t n_mediators;
    unsigned long long served;   /* requests served, paid or with payment off */
    unsigned long long refused;  /* requests answered 402/503 */
};

ex_provider *ex_provider_create(ex_service *svc, const char *cost_wei)
{
    ex_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->svc = svc;
    snprintf(p->cost_wei, sizeof p->cost_wei, "%s", cost_wei);
    pthread_mutex_init(&p->lock, NULL);
    if (!svc->client)
        return p;
    paychan_provider_terms terms = {
        .min_cost_per_request_wei = cost_wei,
        .termination_timeout_s = svc->cfg.termination_timeout_s,
        .token_redemption_timeout_s = svc->cfg.token_redemption_timeout_s,
    };
    paychan_error err = {0};
    if (paychan_set_provider_terms(svc->client, &terms, &err) != 0) {
        ex_log_error("cannot set the provider terms: %s (code %d)", err.message, err.code);
        ex_provider_destroy(p);
        return NULL;
    }
    ex_log_info("charging %s wei per request; Mediator timeouts %llu s termination, %llu s "
                "token redemption", cost_wei,
                (unsigned long long)terms.termination_timeout_s,
                (unsigned long long)terms.token_redemption_timeout_s);
    return p;
}

void ex_provider_destroy(ex_provider *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Counts a paid request through `mediator`, adding the Mediator when new. */
static void note_paid(ex_provider *p, const char *header)
{
    char mediator[43];
    size_t len = 0;
    for (; header[len] && len < sizeof mediator - 1; len++) /* one spelling per Mediator */
        mediator[len] = (char)tolower((unsigned char)header[len]);
    mediator[len] = '\0';
    pthread_mutex_lock(&p->lock);
    p->served++;
    size_t i = 0;
    while (i < p->n_mediators && strcmp(p->mediators[i].address, mediator) != 0)
        i++;
    if (i == p->n_mediators && i < MAX_MEDIATORS) {
        snprintf(p->mediators[i].address, sizeof p->mediators[i].address, "%s", mediator);
        p->n_mediators++;
        ex_log_info("first payment through Mediator %s", mediator);
    }
    if (i < p->n_mediators)
        p->mediators[i].paid_requests++;
    pthread_mutex_unlock(&p->lock);
}

/* Drops a Mediator that is closed for good: it pays no more. */
static void forget(ex_provider *p, const char *mediator)
{
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_mediators; i++) {
        if (strcmp(p->mediators[i].address, mediator) == 0) {
            p->mediators[i] = p->mediators[--p->n_mediators];
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
}

/* 402 when the payer is at fault, 503 when the payment could not be
 * checked. The body names the reason and its code only; the detail (which
 * may hold the Payment Server's address and connection error) goes to this
 * service's log. */
static void refuse(ex_provider *p, ex_answer *ans, const paychan_error *why)
{
    pthread_mutex_lock(&p->lock);
    p->refused++;
    pthread_mutex_unlock(&p->lock);
    int fault = paychan_error_is_payment_fault(why);
    ans->status = fault ? 402 : 503;
    ans->text = paychan_payment_required_body(p->svc->client, why);
    if (!ans->text)
        ex_answer_paychan_error(ans, 503, "payment refused", why);
    ex_log(fault ? EX_LOG_DEBUG : EX_LOG_ERROR, "payment %s (%u): %s (code %d)",
           fault ? "refused" : "not checked", ans->status, why->message, why->code);
}

/* ---- paid requests, served without blocking ---------------------------------------------- */

/* One request whose payment is being checked. */
typedef struct paid_request {
    ex_provider *p;
    ex_request *req;
    ex_provider_serve serve;
    paychan_payment_headers h;
    paychan_call *call; /* validateToken, in flight */
} paid_request;

/* Serves the request once its payment is settled (rc 0: paid, or payment
 * off) or refuses it (why), and hands over the answer. */
static void settle(paid_request *pr, int rc, const paychan_error *why)
{
    ex_provider *p = pr->p;
    ex_answer ans = {0};
    if (rc != 0) {
        refuse(p, &ans, why);
    } else if (p->svc->client) {
        note_paid(p, pr->h.mediator);
        pr->serve(p->svc, pr->req, &ans);
    } else {
        pthread_mutex_lock(&p->lock);
        p->served++;
        pthread_mutex_unlock(&p->lock);
        pr->serve(p->svc, pr->req, &ans);
    }
    ex_request_finish(pr->req, &ans);
}

static void on_validated(void *arg, CURL *easy, CURLcode result)
{
    paid_request *pr = arg;
    paychan_error err = {0};
    (void)easy;
    int rc = paychan_validate_payment_end(pr->call, result, &err);
    if (rc == PAYCHAN_CALL_AGAIN) { /* a fresh stamp after a 205 */
        ex_request_fetch(pr->req, paychan_call_easy(pr->call), on_validated, pr);
        return;
    }
    settle(pr, rc, &err);
    free(pr);
}

void ex_provider_serve_paid(ex_provider *p, ex_request *req, ex_provider_serve serve)
{
    paid_request now = {.p = p, .req = req, .serve = serve};
    paychan_error err = {0};
    if (!p->svc->client) {
        settle(&now, 0, NULL);
        return;
    }
    paid_request *pr = malloc(sizeof *pr);
    if (!pr) {
        err.code = PAYCHAN_E_NO_MEMORY;
        snprintf(err.message, sizeof err.message, "out of memory");
        settle(&now, -1, &err);
        return;
    }
    *pr = now;
    if (paychan_read_payment_headers(ex_header_getter, req, &pr->h, &err) != 0 ||
        !(pr->call = paychan_validate_payment_begin(p->svc->client, &pr->h, &err))) {
        settle(pr, -1, &err);
        free(pr);
        return;
    }
    /* on the request's loop (or here, on a worker) */
    ex_request_fetch(req, paychan_call_easy(pr->call), on_validated, pr);
}

/* ---- admin endpoints --------------------------------------------------------------------- */

enum admin_action { ADMIN_REDEEM, ADMIN_PAYOUT, ADMIN_TERMINATE };

/* Acts on one Mediator; a JSON object saying what happened. */
static json_t *act_on(ex_provider *p, enum admin_action action, const char *mediator, int *ok)
{
    paychan_error err = {0};
    int terminated = 0;
    int rc;
    if (action == ADMIN_REDEEM)
        rc = paychan_redeem(p->svc->client, mediator, &err);
    else if (action == ADMIN_PAYOUT)
        rc = paychan_payout(p->svc->client, mediator, &err);
    else
        rc = paychan_terminate(p->svc->client, mediator, &terminated, &err);
    *ok = rc == 0;
    json_t *o;
    if (rc != 0) {
        ex_log_error("Mediator %s: %s (code %d)", mediator, err.message, err.code);
        o = json_pack("{sb}", "ok", 0);
        json_object_set_new(o, "error", ex_paychan_error_json(&err));
    } else if (action == ADMIN_REDEEM) {
        o = json_pack("{sbsb}", "ok", 1, "redemptionStarted", 1);
    } else if (action == ADMIN_PAYOUT) {
        o = json_pack("{sb}", "ok", 1);
    } else {
        o = json_pack("{sbsb}", "ok", 1, "terminated", terminated);
    }
    if (terminated || (rc != 0 && err.code == 1)) { /* 1: the Mediator is terminated */
        forget(p, mediator);
        json_object_set_new(o, "forgotten", json_true());
    }
    return o;
}

/* The Mediators to act on: ?mediator=, else every one that paid us. */
static size_t pick_mediators(ex_provider *p, const ex_request *req, char out[][43],
                             size_t max)
{
    const char *one = ex_request_param(req, "mediator");
    if (one) {
        snprintf(out[0], 43, "%s", one);
        return 1;
    }
    pthread_mutex_lock(&p->lock);
    size_t n = p->n_mediators < max ? p->n_mediators : max;
    for (size_t i = 0; i < n; i++)
        memcpy(out[i], p->mediators[i].address, 43);
    pthread_mutex_unlock(&p->lock);
    return n;
}

static void handle_admin(ex_provider *p, const ex_request *req, enum admin_action action,
                         ex_answer *ans)
{
    static const char *const names[] = {"redeem", "payout", "terminate"};
    if (!p->svc->client) {
        ex_answer_error(ans, 409, "payment is switched off: no Mediators to %s", names[action]);
        return;
    }
    const char *one = ex_request_param(req, "mediator");
    if (one && !ex_is_address(one)) {
        ex_answer_error(ans, 400, "mediator must be a 0x address");
        return;
    }
    char (*picked)[43] = malloc(MAX_MEDIATORS * sizeof *picked);
    if (!picked) {
        ex_answer_error(ans, 500, "out of memory");
        return;
    }
    size_t n = pick_mediators(p, req, picked, MAX_MEDIATORS);
    json_t *results = json_object();
    int all_ok = 1;
    for (size_t i = 0; i < n; i++) {
        int ok = 0;
        json_object_set_new(results, picked[i], act_on(p, action, picked[i], &ok));
        all_ok &= ok;
        if (ok)
            ex_log_info("%s on Mediator %s done", names[action], picked[i]);
    }
    free(picked);
    json_t *body = json_pack("{sssosi}", "action", names[action], "mediators", results,
                             "count", (int)n);
    if (n == 0)
        json_object_set_new(body, "message",
                            json_string("no live Mediator is known to pay this service"));
    ex_answer_json(ans, all_ok ? 200 : 502, body);
}

/* Adds what the Payment Server knows of each Mediator (?funds=true). */
static void add_mediator_states(ex_provider *p, json_t *mediators)
{
    const char *address;
    json_t *entry;
    json_object_foreach(mediators, address, entry) {
        json_t *state = ex_mediator_state_json(p->svc->client, address);
        json_object_update(entry, state);
        json_decref(state);
    }
}

static void handle_status(ex_provider *p, const ex_request *req, ex_answer *ans)
{
    json_t *mediators = json_object();
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_mediators; i++)
        json_object_set_new(mediators, p->mediators[i].address,
                            json_pack("{sI}", "paidRequests",
                                      (json_int_t)p->mediators[i].paid_requests));
    json_t *body = json_pack("{sssbsssIsI}", "service", p->svc->def->name, "paymentActive",
                             p->svc->client != NULL, "costPerRequest", p->cost_wei, "served",
                             (json_int_t)p->served, "refused", (json_int_t)p->refused);
    pthread_mutex_unlock(&p->lock);
    const char *funds = ex_request_param(req, "funds");
    if (p->svc->client && funds && strcmp(funds, "true") == 0)
        add_mediator_states(p, mediators); /* outside the lock: these ask the Payment Server */
    json_object_set_new(body, "mediators", mediators);
    json_object_set_new(body, "address", p->svc->client
                                             ? json_string(paychan_client_address(p->svc->client))
                                             : json_null());
    ex_answer_json(ans, 200, body);
}

int ex_provider_handle_common(ex_provider *p, const ex_request *req, ex_answer *ans)
{
    const char *path = ex_request_path(req);
    if (strcmp(path, "/redeem") == 0)
        handle_admin(p, req, ADMIN_REDEEM, ans);
    else if (strcmp(path, "/payout") == 0)
        handle_admin(p, req, ADMIN_PAYOUT, ans);
    else if (strcmp(path, "/terminate") == 0)
        handle_admin(p, req, ADMIN_TERMINATE, ans);
    else if (strcmp(path, "/status") == 0)
        handle_status(p, req, ans);
    else
        return 0;
    return 1;
}

int ex_provider_quick(const ex_provider *p, const ex_request *req)
{
    const char *funds = ex_request_param(req, "funds");
    return !p->svc->client || (strcmp(ex_request_path(req), "/status") == 0 &&
                               !(funds && strcmp(funds, "true") == 0));
}
