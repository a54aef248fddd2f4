/* api.c: see api.h. One function per endpoint; each gets the server, the
 * authenticated caller and the request, and fills the answer. */
#include "server/api/api.h"
#include "server/api/api_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/runtime/logger.h"
#include "server/auth.h"
#include "server/payments.h"
#include "server/api/static_files.h"

/* ---- answers ------------------------------------------------------------------------- */

json_t *api_error_json(const pc_error *err, json_t *metadata)
{
    json_t *body = json_pack("{sssiss}", "name", pc_error_code_name(err->code), "code",
                             err->code, "message", err->message);
    if (body && metadata)
        json_object_set_new(body, "metadata", metadata);
    else
        json_decref(metadata);
    return body;
}

/* Answers err as the protocol's error object; metadata (stolen) may be NULL. */
void api_fail(call *c, const pc_error *err, json_t *metadata)
{
    c->answer->status = pc_error_http_status(err->code);
    c->answer->code = err->code;
    c->answer->body = api_error_json(err, metadata);
    pc_logf(c->answer->status >= 500 ? PC_LOG_WARN : PC_LOG_DEBUG, "%s %s -> %u code %d: %s",
            pc_http_method(c->req), pc_http_path(c->req), c->answer->status, err->code,
            err->message);
}

void api_fail_code(call *c, int code, const char *message)
{
    pc_error err;
    pc_error_set(&err, code, "%s", message);
    api_fail(c, &err, NULL);
}

void api_ok(call *c, json_t *body)
{
    if (!body) { /* json_pack failed: a bug or out of memory, never a silent {} */
        api_fail_code(c, PC_ERR_INTERNAL, "cannot build the answer");
        return;
    }
    c->answer->status = 200;
    c->answer->body = body;
}

json_t *api_u256_json(const pc_u256 *v)
{
    char text[PC_U256_DEC_LEN];
    pc_u256_to_dec(v, text);
    return json_string(text);
}

json_t *api_address_json(const pc_address *a)
{
    char text[PC_ADDRESS_TEXT_LEN];
    pc_address_format(a, text);
    return json_string(text);
}

/* ---- parameters ------------------------------------------------------------------------- */

int api_value_address(const char *name, const char *v, pc_address *out, pc_error *err)
{
    if (v && pc_address_parse(v, out) == 0)
        return 0;
    return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter %s: %s", name,
                        v ? "not a 0x-address (or a bad EIP-55 checksum)" : "missing");
}

int api_value_u256(const char *name, const char *v, pc_u256 *out, pc_error *err)
{
    if (v && pc_u256_parse(v, out) == 0)
        return 0;
    return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter %s: %s", name,
                        v ? "not a non-negative integer below 2^256" : "missing");
}

int api_value_u64(const char *name, const char *v, uint64_t *out, pc_error *err)
{
    pc_u256 wide;
    if (api_value_u256(name, v, &wide, err) != 0)
        return -1;
    if (pc_u256_to_u64(&wide, out) == 0)
        return 0;
    return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter %s: too large", name);
}

int api_value_signature(const char *v, pc_signature *out, pc_error *err)
{
    if (v && pc_signature_from_hex(v, out) == 0)
        return 0;
    return pc_error_set(err, v ? PC_ERR_TOKEN_SIGNATURE : PC_ERR_INVALID_ARGUMENT,
                        v ? "parameter signature: not 65 bytes of hex with v 27/28 or 0/1"
                          : "parameter signature: missing");
}

int api_terms_read(const pc_http_request *req, pc_payment_terms *want, pc_error *err)
{
    static const char *const names[] = {"minCostPerRequest", "terminationTimeout",
                                        "tokenRedemptionTimeout"};
    const char *v[3];
    for (int i = 0; i < 3; i++)
        v[i] = pc_http_param(req, names[i]);
    if (api_value_u256(names[0], v[0], &want->min_cost_per_request, err) ||
        api_value_u64(names[1], v[1], &want->termination_timeout, err) ||
        api_value_u64(names[2], v[2], &want->token_redemption_timeout, err))
        return -1;
    return 0;
}

/* Answers err as 400 unless rc is 0; returns rc (the api_param_* below). */
static int answered(call *c, int rc, const pc_error *err)
{
    if (rc != 0)
        api_fail(c, err, NULL);
    return rc;
}

/* Each returns 0, or answers 400 naming the parameter and returns -1. */
int api_param_address(call *c, const char *name, pc_address *out)
{
    pc_error err;
    return answered(c, api_value_address(name, pc_http_param(c->req, name), out, &err), &err);
}

int api_param_u256(call *c, const char *name, const char *fallback, pc_u256 *out)
{
    const char *v = pc_http_param(c->req, name);
    pc_error err;
    return answered(c, api_value_u256(name, v ? v : fallback, out, &err), &err);
}

int api_param_u64(call *c, const char *name, const char *fallback, uint64_t *out)
{
    const char *v = pc_http_param(c->req, name);
    pc_error err;
    return answered(c, api_value_u64(name, v ? v : fallback, out, &err), &err);
}

int api_param_bool(call *c, const char *name, int *out)
{
    const char *v = pc_http_param(c->req, name);
    *out = v && strcmp(v, "true") == 0;
    if (!v || *out || strcmp(v, "false") == 0)
        return 0;
    pc_error err;
    pc_error_set(&err, PC_ERR_INVALID_ARGUMENT, "parameter %s: true or false", name);
    api_fail(c, &err, NULL);
    return -1;
}

int api_param_mediators(call *c, int answer, pc_address out[API_MANY_MAX], size_t *n)
{
    const char *v = pc_http_param(c->req, "mediators");
    const char *why = v ? NULL : "missing";
    *n = 0;
    while (!why) {
        size_t len = strcspn(v, ",");
        char text[64];
        if (*n == API_MANY_MAX)
            why = "more than 16 Mediators";
        else if (len == 0 || len >= sizeof text)
            why = "not a comma-separated list of 0x-addresses";
        if (why)
            break;
        memcpy(text, v, len);
        text[len] = '\0';
        if (pc_address_parse(text, &out[(*n)++]) != 0)
            why = "not a comma-separated list of 0x-addresses";
        else if (!v[len])
            return 0;
        v += len + 1;
    }
    if (answer) {
        pc_error err;
        pc_error_set(&err, PC_ERR_INVALID_ARGUMENT, "parameter mediators: %s", why);
        api_fail(c, &err, NULL);
    }
    return -1;
}

/* The caller's wallet and the view of c->mediator, or an answered error. */
pc_wallet *api_caller_view(call *c, pc_mediator_view *v)
{
    pc_error err;
    pc_wallet *w = pc_accounts_find(c->s->accounts, &c->caller);
    if (pc_chain_cache_get(c->s->cache, &c->mediator, v, &err) != 0) {
        api_fail(c, &err, NULL);
        return NULL;
    }
    return w;
}

/* Re-reads the Mediator after our own transaction changed it. */
void api_changed(call *c)
{
    pc_chain_cache_invalidate(c->s->cache, &c->mediator);
}


/* ---- routing ------------------------------------------------------------------------------ */

/* Wrappers giving every endpoint the same shape (route.run). */
static void run_deposit(call *c)
{
    api_deposit(c, c->amount);
}

static void run_status(call *c)
{
    api_status(c->s, c->req, c->answer);
}

static void run_ready(call *c)
{
    api_ready(c->s, c->answer);
}

static void run_health(call *c)
{
    api_health(c->answer);
}

static void run_visualizer(call *c)
{
    pc_static_serve(c->s->cfg->visualizer_dir, pc_http_path(c->req) + strlen("/visualizer/"),
                    c->answer);
}

/* Loop forms (on_loop below): the Mediator must be registered in the role
 * the endpoint acts in (one server may serve both ends) and cached. */
static int loop_view_of(call *c, const pc_address *m, pc_mediator_role role,
                        pc_mediator_view *v)
{
    return pc_payment_is_registered(c->s, m, role) && pc_chain_cache_peek(c->s->cache, m, v);
}

static int loop_view(call *c, pc_mediator_role role, pc_mediator_view *v)
{
    return loop_view_of(c, &c->mediator, role, v);
}

static pc_http_step create_on_loop(call *c)
{
    pc_mediator_view v;
    return loop_view(c, PC_ROLE_CONSUMER, &v) ? api_create_on_loop(c, &v) : PC_HTTP_BLOCKS;
}

/* 1 when the cached view accepts the token's id and count; else a worker
 * decides, after reading the Mediator again (pc_payment_view_accepts). Bad
 * parameters also go to the worker, which answers them. */
static int loop_view_accepts(call *c, const pc_mediator_view *v)
{
    const char *id = pc_http_param(c->req, "tokenId"), *count = pc_http_param(c->req, "reqCount");
    pc_u256 token_id, n;
    uint64_t request_count;
    return id && count && pc_u256_parse(id, &token_id) == 0 && pc_u256_parse(count, &n) == 0 &&
           pc_u256_to_u64(&n, &request_count) == 0 &&
           pc_payment_view_accepts(v, &token_id, request_count);
}

static pc_http_step validate_on_loop(call *c)
{
    pc_mediator_view v;
    return loop_view(c, PC_ROLE_PROVIDER, &v) && loop_view_accepts(c, &v)
               ? api_validate_on_loop(c, &v)
               : PC_HTTP_BLOCKS;
}

/* The several-Mediators form of createSignatureHeaders, when every
 * Mediator is cached and registered. */
static pc_http_step many_on_loop(call *c)
{
    pc_address m[API_MANY_MAX];
    pc_mediator_view v[API_MANY_MAX];
    size_t n;
    if (api_param_mediators(c, 0, m, &n) != 0)
        return PC_HTTP_BLOCKS; /* a worker answers the error */
    for (size_t i = 0; i < n; i++)
        if (!pc_payment_is_registered(c->s, &m[i], PC_ROLE_CONSUMER) ||
            !pc_chain_cache_peek(c->s->cache, &m[i], &v[i]))
            return PC_HTTP_BLOCKS;
    return api_create_many_on_loop(c, m, v, n);
}

/* POST /validateTokens on the loop when every token is well-formed and its
 * Mediator's cached view accepts it (as validate_on_loop for each); else a
 * worker validates them (and answers what is malformed). */
static pc_http_step validate_many_on_loop(call *c)
{
    api_batch b;
    pc_mediator_view v[API_MANY_MAX];
    pc_error err;
    if (api_batch_read(c->req, &b, &err) != 0)
        return PC_HTTP_BLOCKS;
    for (size_t i = 0; i < b.n; i++)
        if (b.malformed[i] || !loop_view_of(c, &b.h[i].mediator, PC_ROLE_PROVIDER, &v[i]) ||
            !pc_payment_view_accepts(&v[i], &b.h[i].token_id, b.h[i].request_count))
            return PC_HTTP_BLOCKS;
    return api_validate_many_on_loop(c, &b, v);
}

/* A served route: its public description (api.h) and how it runs. */
typedef struct route {
    pc_api_route info;
    void (*run)(call *c);                /* on a worker, after authentication */
    pc_http_step (*on_loop)(call *c);    /* NULL: always on a worker */
    int tokens;                          /* API_TOKENS_*: what /metrics counts of it */
} route;

/* Every route paychand serves: the router below and pc_api_routes (and so
 * docs/openapi.yaml's test) read this one table. Templates: "{mediator}"
 * and "{amount}" match one path segment; a final "{file}" the rest. */
static const route routes[] = {
    {{"/status", 0, 0}, run_status, NULL, 0},
    {{"/health", 0, 0}, run_health, NULL, 0},
    {{"/ready", 0, 0}, run_ready, NULL, 0},
    {{"/visualizer/{file}", 0, 1}, run_visualizer, NULL, 0},
    {{"/useService", 1, 0}, api_use_service, NULL, 0},
    {{"/createSignatureHeaders", 1, 0}, api_create_signature_headers_many, many_on_loop,
     API_TOKENS_CREATED},
    {{"/contracts/{mediator}/deposit/{amount}", 1, 0}, run_deposit, NULL, 0},
    {{"/contracts/{mediator}/createSignatureHeaders", 1, 0}, api_create_signature_headers,
     create_on_loop, API_TOKENS_CREATED},
    {{"/contracts/{mediator}/returnCount", 1, 0}, api_return_count, NULL, 0},
    {{"/contracts/{mediator}/validateToken", 1, 0}, api_validate_token, validate_on_loop,
     API_TOKENS_VALIDATED},
    {{"/validateTokens", 1, 0}, api_validate_tokens, validate_many_on_loop, API_TOKENS_VALIDATED},
    {{"/contracts/{mediator}/redeemToken", 1, 0}, api_redeem_token, NULL, 0},
    {{"/contracts/{mediator}/payout", 1, 0}, api_payout, NULL, 0},
    {{"/contracts/{mediator}/terminate", 1, 0}, api_terminate, NULL, 0},
    {{"/contracts/{mediator}/terminationStatus", 1, 0}, api_termination_status, NULL, 0},
    {{"/contracts/{mediator}/funds", 1, 0}, api_funds, NULL, 0},
    {{"/metrics", 0, 0}, api_metrics, NULL, 0}, /* its own optional bearer token */
    {{"/admin/channels", 1, 0}, api_admin_channels, NULL, 0},
    {{"/admin/channels/{mediator}", 1, 0}, api_admin_channel, NULL, 0},
    {{"/admin/accounts", 1, 0}, api_admin_accounts, NULL, 0},
    {{"/admin/transactions", 1, 0}, api_admin_transactions, NULL, 0},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

const char *const pc_api_methods[] = {"GET", "POST", NULL};

const char *const pc_api_structured_params[] = {"tokens", NULL};

static int method_served(const char *method)
{
    for (size_t i = 0; pc_api_methods[i]; i++)
        if (strcmp(method, pc_api_methods[i]) == 0)
            return 1;
    return 0;
}

const pc_api_route *pc_api_route_at(size_t i)
{
    return i < N_ROUTES ? &routes[i].info : NULL;
}

size_t pc_api_route_count(void)
{
    return N_ROUTES;
}

static const char *route_names[N_ROUTES];

static void fill_route_names(void)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        route_names[i] = routes[i].info.path;
}

const char *const *api_route_names(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_route_names);
    return route_names;
}

/* Matches path against a template segment by segment; the variable
 * segments' text goes to c (mediator text, amount). 1 on a match. */
static int match(const char *tmpl, const char *path, const char **mediator, call *c)
{
    *mediator = NULL;
    while (*tmpl) {
        if (strcmp(tmpl, "{file}") == 0) /* the rest, slashes included; "" is the index */
            return 1;
        if (!*path)
            return 0;
        if (*tmpl == '{') {
            const char *name = tmpl + 1;
            size_t n = strcspn(path, "/");
            if (n == 0)
                return 0;
            if (strncmp(name, "mediator}", 9) == 0)
                *mediator = path;
            else
                c->amount = path; /* "{amount}": the last segment, read up to its end */
            tmpl = strchr(tmpl, '}') + 1;
            path += n;
        } else if (*tmpl++ != *path++) {
            return 0;
        }
    }
    return *path == '\0';
}

/* The route serving path (NULL: none), with the Mediator's text in *mediator. */
static const route *find_route(call *c, const char *path, const char **mediator)
{
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (routes[i].info.needs_visualizer && !c->s->cfg->visualizer_dir)
            continue;
        if (match(routes[i].info.path, path, mediator, c))
            return &routes[i];
    }
    *mediator = NULL;
    return NULL;
}

size_t api_route_index(pc_server *s, const char *path, int *tokens)
{
    call c = {.s = s}; /* match() writes the variable segments' text into it */
    const char *mediator;
    const route *r = find_route(&c, path, &mediator);
    *tokens = r ? r->tokens : API_TOKENS_NONE;
    return r ? (size_t)(r - routes) : N_ROUTES;
}

/* The Mediator segment (up to the next '/') into c->mediator: 0 or -1. */
static int parse_mediator(call *c, const char *text)
{
    char buf[64];
    size_t n = strcspn(text, "/");
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    return pc_address_parse(buf, &c->mediator);
}

int api_authenticate(call *c)
{
    pc_error err;
    pc_request_body body = {.content_type = pc_http_header(c->req, "Content-Type")};
    int is_post = strcmp(pc_http_method(c->req), "POST") == 0;
    body.data = pc_http_body(c->req, &body.len);
    pc_auth_request a = {
        .body = is_post ? &body : NULL,
        .sender = pc_http_header(c->req, "x-pay-sender"),
        .signature = pc_http_header(c->req, "x-pay-signature"),
        .mac = pc_http_header(c->req, "x-pay-mac"),
        .timestamp = pc_http_header(c->req, "x-pay-timestamp"),
        .target = pc_http_target(c->req),
        .now = (uint64_t)time(NULL),
    };
    if (pc_auth_check(c->s, &a, &c->caller, &err) == 0)
        return 0;
    api_fail(c, &err, NULL);
    return -1;
}

/* On an event loop: the per-request endpoints when nothing they need can
 * block (see api_loop.c); everything else goes to a worker, before any
 * side effect (authentication claims the request's nonce). */
static pc_http_step on_loop(call *c, const char *path)
{
    const char *mediator;
    if (!c->s->nonces || !pc_store_async_is_nonblocking(c->s->store) ||
        !pc_readiness_chain_up(c->s->readiness))
        return PC_HTTP_BLOCKS;
    const route *r = find_route(c, path, &mediator);
    if (!r || !r->on_loop || (mediator && parse_mediator(c, mediator) != 0))
        return PC_HTTP_BLOCKS;
    return r->on_loop(c);
}

/* 503 code 101 before the chain side is up: before authentication, so a
 * request claims no nonce it could not use. */
static void not_ready(call *c)
{
    pc_ready_report rep;
    pc_error err;
    pc_readiness_check(c->s->readiness, &rep);
    pc_error_set(&err, PC_ERR_NODE,
                 "paychand is not ready yet (GET /ready says what is missing): %s",
                 rep.n_missing ? rep.reason[0] : "starting");
    api_fail(c, &err, NULL);
}

int api_bearer_is(call *c, const char *want)
{
    const char *got = pc_http_header(c->req, "Authorization");
    size_t n = strlen(want);
    int ok = got && strncmp(got, "Bearer ", 7) == 0 && strlen(got + 7) == n;
    unsigned diff = 0;
    for (size_t i = 0; ok && i < n; i++) /* every byte: the time tells nothing of the token */
        diff |= (unsigned char)got[7 + i] ^ (unsigned char)want[i];
    return ok && !diff;
}

/* The read-only admin routes also admit --admin-token-file's bearer token
 * (GET only), so the Visualizer's operations view needs no service key. */
static int admin_bearer(call *c, const route *r)
{
    return c->s->admin_token && strncmp(r->info.path, "/admin/", 7) == 0 &&
           strcmp(pc_http_method(c->req), "GET") == 0 && api_bearer_is(c, c->s->admin_token);
}

pc_http_step pc_api_handle(void *ctx, pc_http_request *req, pc_http_answer *answer)
{
    call c = {.s = ctx, .req = req, .answer = answer};
    const char *method = pc_http_method(req), *path = pc_http_path(req), *mediator;
    if (!method_served(method)) {
        api_fail_code(&c, PC_ERR_NOT_FOUND, "only GET and POST are served");
        answer->status = 405;
        return PC_HTTP_ANSWERED;
    }
    if (pc_http_on_loop(req))
        return on_loop(&c, path);
    const route *r = find_route(&c, path, &mediator);
    if (!r)
        api_fail_code(&c, PC_ERR_NOT_FOUND, "no such endpoint");
    else if (r->info.authenticated && !pc_readiness_chain_up(c.s->readiness))
        not_ready(&c); /* every authenticated endpoint needs the chain or the keys */
    else if (r->info.authenticated && !admin_bearer(&c, r) && api_authenticate(&c) != 0)
        ; /* answered */
    else if (mediator && parse_mediator(&c, mediator) != 0)
        api_fail_code(&c, PC_ERR_INVALID_ARGUMENT, "the Mediator in the path is not an address");
    else
        r->run(&c);
    return PC_HTTP_ANSWERED;
}
