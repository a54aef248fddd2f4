/* provider_side.c: see provider_side.h. */
#include "proxy/provider_side.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/runtime/logger.h"
#include "paychan.h"
#include "proxy/forward.h"
#include "proxy/token_batch.h"

#define MAX_MEDIATORS 4096

/* A Mediator that paid: what the admin endpoints act on. */
typedef struct seen {
    char mediator[43];
    paychan_client *client; /* of the route it paid first */
    const char *account;
    unsigned long long paid;
} seen;

struct px_provider {
    const px_config *cfg;
    pc_upstream *u;
    paychan_client *clients[PX_MAX_ROUTES]; /* [i] for a paid route i */
    px_token_batch checks[PX_MAX_ROUTES];   /* [i]: route i's payment checks, batched */
    long long chain_id;                     /* 0: unknown (not in the terms) */
    pthread_mutex_t lock;                   /* the ledger */
    seen *ledger;
    size_t n_seen;
    unsigned long long served, refused;
};

/* A libpaychan client acting as account `a`. */
static paychan_client *account_client(const px_config *cfg, const px_account *a, pc_error *err)
{
    paychan_config pc = {.server_url = cfg->payment_server, .keystore_path = a->keystore,
                         .password_path = a->password, .dev_key_hex = a->dev_key,
                         .timeout_ms = cfg->payment_timeout_ms};
    paychan_client *c = NULL;
    paychan_error e = {0};
    if (paychan_client_create(&pc, &c, &e) != 0)
        pc_error_set(err, PC_ERR_KEYSTORE, "account %s: %s", a->name, e.message);
    return c;
}

/* The chain id from the Payment Server's /status, or 0 (then left out of the terms). */
static long long chain_id_of(paychan_client *c)
{
    char *text = NULL;
    paychan_error e = {0};
    if (paychan_status(c, &text, &e) != 0)
        return 0;
    json_t *s = json_loads(text, 0, NULL);
    long long id = json_integer_value(json_object_get(s, "chainId"));
    json_decref(s);
    free(text);
    return id;
}

px_provider *px_provider_create(const px_config *cfg, pc_upstream *u, pc_error *err)
{
    px_provider *p = calloc(1, sizeof *p);
    if (!p) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    p->cfg = cfg;
    p->u = u;
    pthread_mutex_init(&p->lock, NULL);
    for (size_t i = 0; i < PX_MAX_ROUTES; i++)
        px_token_batch_init(&p->checks[i], PX_BATCH_VALIDATE);
    if (!(p->ledger = calloc(MAX_MEDIATORS, sizeof *p->ledger))) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        px_provider_destroy(p);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const px_route *r = &cfg->routes[i];
        if (r->kind != PX_ROUTE_PAID)
            continue;
        paychan_provider_terms t = {r->cost_wei, r->termination_s, r->redemption_s};
        paychan_error e = {0};
        if (!(p->clients[i] = account_client(cfg, &cfg->accounts[r->account], err))) {
            px_provider_destroy(p);
            return NULL;
        }
        if (paychan_set_provider_terms(p->clients[i], &t, &e) != 0) {
            pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "route %s %s: %s", r->method, r->prefix,
                         e.message);
            px_provider_destroy(p);
            return NULL;
        }
        if (!p->chain_id)
            p->chain_id = chain_id_of(p->clients[i]);
    }
    return p;
}

void px_provider_destroy(px_provider *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < PX_MAX_ROUTES; i++) {
        paychan_client_destroy(p->clients[i]);
        px_token_batch_destroy(&p->checks[i]);
    }
    pthread_mutex_destroy(&p->lock);
    free(p->ledger);
    free(p);
}

/* ---- routing ------------------------------------------------------------------------------ */

/* The length of the escape "%XY" (case-insensitive) at p[j], or 0. */
static size_t escape_at(const char *p, size_t j, size_t len, const char *xy)
{
    return j + 2 < len && p[j] == '%' && p[j + 1] == xy[0] &&
                   (p[j + 2] | 0x20) == (xy[1] | 0x20)
               ? 3
               : 0;
}

/* The length of a segment separator at p[j] as some upstream may read it:
 * '/', '\', or their escapes %2F and %5C; 0 when there is none. */
static size_t separator_at(const char *p, size_t j, size_t len)
{
    if (p[j] == '/' || p[j] == '\\')
        return 1;
    size_t n = escape_at(p, j, len, "2f");
    return n ? n : escape_at(p, j, len, "5c");
}

/* 1 when the raw path has a "." or ".." segment, the dots plain or %2E,
 * the separators any of separator_at's: an upstream that resolves them
 * could reach a paid path through a free prefix ("/health/../v1/x",
 * "/health/..%2fv1/x"). */
static int has_dot_segment(const char *path, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t sep = separator_at(path, i, len);
        if (!sep) {
            i++;
            continue;
        }
        size_t j = i + sep, dots = 0, step;
        while (j < len && (step = path[j] == '.' ? 1 : escape_at(path, j, len, "2e"))) {
            j += step;
            dots++;
        }
        if (dots && dots <= 2 && (j == len || separator_at(path, j, len)))
            return 1;
        i = j > i + sep ? j : i + sep;
    }
    return 0;
}

/* The route for method and raw path (len bytes), longest prefix first; NULL = unknown. */
static const px_route *match(const px_config *cfg, const char *method, const char *path,
                             size_t len)
{
    const px_route *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const px_route *r = &cfg->routes[i];
        size_t n = strlen(r->prefix);
        if (n > len || strncmp(path, r->prefix, n) != 0 || n < best_len ||
            (strcmp(r->method, "*") != 0 && strcasecmp(r->method, method) != 0))
            continue;
        if (!best || n > best_len || strcmp(r->method, "*") != 0) /* exact method wins a tie */
            best = r, best_len = n;
    }
    return best;
}

/* ---- payment ------------------------------------------------------------------------------ */

static const char *header_getter(void *ctx, const char *name)
{
    return pc_http_header(ctx, name);
}

/* The 402 answer: libpaychan's body (docs/protocol.md §2.3) with the chain
 * id and the header names added to its terms, and the terms again in the
 * x-paychan-terms header. */
static void payment_required(px_provider *p, paychan_client *c, const paychan_error *why,
                             pc_http_answer *a)
{
    char *text = paychan_payment_required_body(c, why);
    json_t *body = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    json_t *terms = json_object_get(body, "terms");
    if (!terms) {
        json_decref(body);
        px_error(a, 500, PC_ERR_INTERNAL, "InternalError", "out of memory");
        return;
    }
    if (p->chain_id)
        json_object_set_new(terms, "chainId", json_integer(p->chain_id));
    json_object_set_new(terms, "headers",
                        json_pack("[sssss]", PAYCHAN_HEADER_SENDER, PAYCHAN_HEADER_MEDIATOR,
                                  PAYCHAN_HEADER_TOKEN_ID, PAYCHAN_HEADER_REQ_COUNT,
                                  PAYCHAN_HEADER_SIGNATURE));
    char *terms_text = json_dumps(terms, JSON_COMPACT);
    a->status = 402;
    a->body = body;
    a->headers = px_one_header("x-paychan-terms", terms_text);
    free(terms_text);
}

/* Counts a paid request of Mediator m (validated through c for account). */
static void record(px_provider *p, const char *m, paychan_client *c, const char *account)
{
    pthread_mutex_lock(&p->lock);
    size_t i = 0;
    while (i < p->n_seen && strcmp(p->ledger[i].mediator, m) != 0)
        i++;
    if (i == p->n_seen && i < MAX_MEDIATORS) {
        snprintf(p->ledger[i].mediator, sizeof p->ledger[i].mediator, "%s", m);
        p->ledger[i].client = c;
        p->ledger[i].account = account;
        p->n_seen++;
    }
    if (i < p->n_seen)
        p->ledger[i].paid++;
    p->served++;
    pthread_mutex_unlock(&p->lock);
}

/* The refusal of a payment (why): 402 with the terms, or 503 when the
 * Payment Server could not tell. */
static void refuse(px_provider *p, paychan_client *c, const pc_http_request *req,
                   const paychan_error *why, pc_http_answer *a)
{
    __atomic_add_fetch(&p->refused, 1, __ATOMIC_RELAXED);
    if (paychan_error_is_payment_fault(why)) {
        PC_LOG_D("402 %s %s: %s (code %d)", pc_http_method(req), pc_http_target(req),
                 why->message, why->code);
        payment_required(p, c, why, a);
        return;
    }
    PC_LOG_W("payment not checked, 503: %s (code %d)", why->message, why->code);
    px_error(a, 503, why->code, "PaymentUnavailable", "%s", paychan_error_public_message(why));
    a->headers = px_one_header("Retry-After", "1");
}

/* Passes req upstream, with the payer's address (NULL on a free route);
 * its answer goes back as it is. 0, or -1 with *a filled. */
static int pass_on(px_provider *p, pc_http_request *req, const char *sender, pc_http_answer *a)
{
    const char *target = pc_http_target(req);
    char consumer[128] = "";
    if (sender)
        snprintf(consumer, sizeof consumer, "x-paychan-consumer: %s", sender);
    const char *extra[] = {consumer[0] ? consumer : NULL, NULL};
    struct curl_slist *headers = px_upstream_headers(req, extra);
    size_t url_len = strlen(p->cfg->upstream) + strlen(target) + 1;
    char *url = headers ? malloc(url_len) : NULL;
    int rc = -1;
    if (!url) {
        curl_slist_free_all(headers);
        px_error(a, 500, PC_ERR_INTERNAL, "InternalError", "out of memory");
    } else {
        snprintf(url, url_len, "%s%s", p->cfg->upstream, target);
        rc = px_forward(p->u, req, url, headers, NULL, NULL, NULL, a); /* curl copied url */
    }
    PC_LOG_D("%s %s -> upstream%s", pc_http_method(req), target, sender ? " (paid)" : "");
    free(url);
    return rc;
}

/* A paid request while the Payment Server checks its payment. */
typedef struct paid {
    px_provider *p;
    paychan_client *c;
    const char *account;
    paychan_payment_headers ph;
    px_token_waiter w; /* in the route's batch of checks (token_batch.h) */
} paid;

/* The Payment Server answered (on the request's loop, req suspended until
 * now): the request goes upstream, or is refused. */
static void on_checked(void *arg, pc_http_request *req, pc_http_answer *a)
{
    paid *pd = arg;
    if (pc_http_abandoned(req)) {
        free(pd);
        return;
    }
    if (pd->w.rc != 0) {
        refuse(pd->p, pd->c, req, &pd->w.err, a);
        free(pd);
        return;
    }
    record(pd->p, pd->ph.mediator, pd->c, pd->account);
    pc_http_suspend(req); /* again, for the upstream call */
    pc_http_answer failed = {0};
    if (pass_on(pd->p, req, pd->ph.sender, &failed) != 0)
        px_answer_later(req, &failed);
    free(pd);
}

/* Queues the check of the request's payment with the others of its route
 * in flight (req suspended): 0, or -1 with *a filled (no payment, or a
 * malformed one: 402) and req not suspended. */
static int check_payment(px_provider *p, const px_route *r, pc_http_request *req,
                         pc_http_answer *a)
{
    size_t route = (size_t)(r - p->cfg->routes);
    paid *pd = calloc(1, sizeof *pd);
    paychan_error e = {0};
    if (!pd) {
        px_error(a, 500, PC_ERR_INTERNAL, "InternalError", "out of memory");
        return -1;
    }
    *pd = (paid){.p = p, .c = p->clients[route], .account = p->cfg->accounts[r->account].name};
    if (paychan_read_payment_headers(header_getter, req, &pd->ph, &e) != 0) {
        refuse(p, pd->c, req, &e, a);
        free(pd);
        return -1;
    }
    pd->w = (px_token_waiter){.req = req, .then = on_checked, .arg = pd, .payment = &pd->ph};
    pc_http_suspend(req); /* before queuing: it may be resumed at once */
    px_token_batch_validate(&p->checks[route], pd->c, &pd->w);
    return 0;
}

/* ---- the handler ----------------------------------------------------------------------------- */

pc_http_step px_provider_handle(void *ctx, pc_http_request *req, pc_http_answer *a)
{
    px_provider *p = ctx;
    const char *target = pc_http_target(req), *method = pc_http_method(req);
    size_t path_len = strcspn(target, "?#");
    if (target[0] != '/' || has_dot_segment(target, path_len)) {
        px_error(a, 400, PC_ERR_INVALID_ARGUMENT, "InvalidArgument",
                 "request target must be an origin-form path without . or .. segments");
        return PC_HTTP_ANSWERED;
    }
    const px_route *r = match(p->cfg, method, target, path_len);
    px_route_kind kind = r ? r->kind : p->cfg->unknown;
    if (kind == PX_ROUTE_DENY) {
        px_error(a, 404, PX_E_NO_ROUTE, "NotFound", "no route for %s %.*s", method,
                 (int)(path_len > 200 ? 200 : path_len), target);
        return PC_HTTP_ANSWERED;
    }
    if (kind == PX_ROUTE_PAID) /* suspends req itself: its check may end at once */
        return check_payment(p, r, req, a) == 0 ? PC_HTTP_SUSPENDED : PC_HTTP_ANSWERED;
    /* the call started runs on this loop once the handler has returned */
    if (pass_on(p, req, NULL, a) != 0)
        return PC_HTTP_ANSWERED;
    pc_http_suspend(req);
    return PC_HTTP_SUSPENDED;
}

/* ---- administration ---------------------------------------------------------------------- */

/* {"service", "served", "refused", "mediators": {"0x..": {"paidRequests", "account"}}} */
static json_t *status_of(px_provider *p)
{
    json_t *ms = json_object();
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_seen; i++)
        json_object_set_new(ms, p->ledger[i].mediator,
                            json_pack("{sIss}", "paidRequests", (json_int_t)p->ledger[i].paid,
                                      "account", p->ledger[i].account));
    unsigned long long check_calls = 0;
    for (size_t i = 0; i < PX_MAX_ROUTES; i++)
        check_calls += px_token_batch_calls(&p->checks[i]);
    json_t *body = json_pack("{sssIsIsIso}", "mode", "provider", "served", (json_int_t)p->served,
                             "refused", (json_int_t)__atomic_load_n(&p->refused,
                                                                    __ATOMIC_RELAXED),
                             "checkCalls", (json_int_t)check_calls, "mediators", ms);
    pthread_mutex_unlock(&p->lock);
    return body;
}

/* One admin action on Mediator i of the ledger: {"ok": true, ...} or the error. */
static json_t *act(px_provider *p, size_t i, const char *action)
{
    pthread_mutex_lock(&p->lock);
    seen s = p->ledger[i];
    pthread_mutex_unlock(&p->lock);
    paychan_error e = {0};
    int terminated = 0, rc;
    if (strcmp(action, "redeem") == 0)
        rc = paychan_redeem(s.client, s.mediator, &e);
    else if (strcmp(action, "payout") == 0)
        rc = paychan_payout(s.client, s.mediator, &e);
    else
        rc = paychan_terminate(s.client, s.mediator, &terminated, &e);
    if (rc != 0)
        return json_pack("{sbs{siss}}", "ok", 0, "error", "code", e.code, "message", e.message);
    json_t *out = json_pack("{sb}", "ok", 1);
    if (strcmp(action, "terminate") == 0)
        json_object_set_new(out, "terminated", json_boolean(terminated));
    if (strcmp(action, "redeem") == 0) /* the Payment Server's timer finishes it */
        json_object_set_new(out, "redemptionStarted", json_true());
    return out;
}

void px_provider_admin(px_provider *p, const char *action, const char *mediator,
                       pc_http_answer *a)
{
    if (strcmp(action, "status") == 0) {
        a->status = 200;
        a->body = status_of(p);
        return;
    }
    json_t *ms = json_object();
    int all_ok = 1;
    pthread_mutex_lock(&p->lock);
    size_t n = p->n_seen;
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < n; i++) {
        if (mediator && strcmp(mediator, p->ledger[i].mediator) != 0)
            continue; /* the ledger only grows: entries below n stay as they are */
        json_t *r = act(p, i, action);
        all_ok &= json_is_true(json_object_get(r, "ok"));
        json_object_set_new(ms, p->ledger[i].mediator, r);
    }
    a->status = all_ok ? 200 : 502;
    a->body = json_pack("{sssIso}", "action", action, "count", (json_int_t)json_object_size(ms),
                        "mediators", ms);
}
