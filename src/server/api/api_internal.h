/* api_internal.h: what api.c (routing, answers, parameters) shares with
 * api_endpoints.c (one function per endpoint). Not for other modules. */
#ifndef PAYCHAN_SERVER_API_INTERNAL_H
#define PAYCHAN_SERVER_API_INTERNAL_H

#include <jansson.h>

#include "core/chain/wallet.h"
#include "server/chain/chain_cache.h"
#include "http/http.h"
#include "server/payments.h"
#include "server/server.h"

/* One authenticated API call in progress. */
typedef struct call {
    pc_server *s;
    pc_http_request *req;
    pc_http_answer *answer;
    pc_address caller;   /* the authenticated service */
    pc_address mediator; /* M of /contracts/M/... */
    const char *amount;  /* the {amount} segment of /contracts/M/deposit/{amount} */
} call;

/* Answers err (HTTP status by code) with metadata (stolen; may be NULL). */
void api_fail(call *c, const pc_error *err, json_t *metadata);
void api_fail_code(call *c, int code, const char *message);
/* Answers 200 with body (stolen). */
void api_ok(call *c, json_t *body);

/* The protocol's error object {"name", "code", "message", "metadata"?} of
 * err, with metadata (stolen; may be NULL); NULL when out of memory. */
json_t *api_error_json(const pc_error *err, json_t *metadata);

json_t *api_u256_json(const pc_u256 *v);
json_t *api_address_json(const pc_address *a);

/* Parameter readers: 0, or -1 after answering 400 naming the parameter.
 * fallback (may be NULL) is used when the parameter is absent. */
int api_param_address(call *c, const char *name, pc_address *out);
int api_param_u256(call *c, const char *name, const char *fallback, pc_u256 *out);
int api_param_u64(call *c, const char *name, const char *fallback, uint64_t *out);
/* "true" or "false" (absent: false) into *out. */
int api_param_bool(call *c, const char *name, int *out);

/* The same rules on a value v of parameter `name` (NULL: missing), without
 * answering: 0, or -1 with *err (code 300 naming it). */
int api_value_address(const char *name, const char *v, pc_address *out, pc_error *err);
int api_value_u256(const char *name, const char *v, pc_u256 *out, pc_error *err);
int api_value_u64(const char *name, const char *v, uint64_t *out, pc_error *err);
/* A token's signature: missing is code 300, malformed code 4 (as validateToken). */
int api_value_signature(const char *v, pc_signature *out, pc_error *err);

/* validateToken's terms (minCostPerRequest, terminationTimeout,
 * tokenRedemptionTimeout) from req's parameters: 0, or -1 with *err. */
int api_terms_read(const pc_http_request *req, pc_payment_terms *want, pc_error *err);

/* The caller's wallet (never NULL after authentication) with the view of
 * c->mediator in *v; NULL after answering the error. */
pc_wallet *api_caller_view(call *c, pc_mediator_view *v);

/* Authenticates the request (docs/protocol.md §3) into c->caller: 0, or -1 after
 * answering the error. */
int api_authenticate(call *c);

/* 1 when the request carries `Authorization: Bearer <want>` exactly (compared
 * in constant time over want's length), else 0. want must not be NULL. */
int api_bearer_is(call *c, const char *want);

/* validateToken's parameters into *t (its Mediator is c->mediator) and
 * *want: 0, or -1 after answering 400 (or 2 for a malformed signature). */
int api_validate_params(call *c, pc_payment_headers *t, pc_payment_terms *want);

/* The five x-pay-* headers of h as a JSON object (createSignatureHeaders). */
json_t *api_headers_json(const pc_payment_headers *h);

/* Answers 200 with api_headers_json(h). */
void api_answer_headers(call *c, const pc_payment_headers *h);

/* Our extension: tokens for several Mediators in one call,
 * /createSignatureHeaders?mediators=M1,M2,... (at most API_MANY_MAX; a
 * Mediator may repeat), answered {"headers": [{x-pay-*}, ...]} in order. */
#define API_MANY_MAX 16

/* Reads the comma-separated `mediators` parameter: 0, or -1 after
 * answering 400 (when answer is set; else silently, for the loops). */
int api_param_mediators(call *c, int answer, pc_address out[API_MANY_MAX], size_t *n);

/* Our extension: validateToken for several tokens of one provider account
 * in one call, POST /validateTokens with the terms once and
 * "tokens": [{mediator, sender, signature, tokenId, reqCount}, ...] (1 to
 * API_MANY_MAX), answered {"results": [...]} in order (api_batch.c). Both
 * forms (a worker's, api_batch.c; the loop's, api_loop.c) read the call,
 * judge every token (api_batch_judged), offer the counts of those that
 * passed in one list (api_batch_offers) and answer from the store's
 * outcomes (api_batch_answer). */
typedef struct api_batch {
    size_t n;
    pc_payment_terms want;
    pc_payment_headers h[API_MANY_MAX];
    int malformed[API_MANY_MAX]; /* token i is malformed: bad[i] says how */
    pc_error bad[API_MANY_MAX];
    /* once judged: token i passed its checks (its count goes to the
     * store, cost[i] its Mediator's cost per request), else result[i] is
     * its answer, made before the store */
    int offered[API_MANY_MAX];
    pc_u256 cost[API_MANY_MAX];
    json_t *result[API_MANY_MAX];
} api_batch;

/* Reads the terms and the tokens of req into *b: 0, or -1 with *err when
 * the whole call is malformed (code 300 naming the parameter). A malformed
 * token only marks itself. */
int api_batch_read(const pc_http_request *req, api_batch *b, pc_error *err);

/* One token's result: {"valid": true} when rc is 0, else {"valid": false}
 * with err's error object and metadata (stolen; may be NULL). */
json_t *api_token_result(int rc, const pc_error *err, json_t *metadata);

/* Token i's checks ended: passed (rc 0; *cost its Mediator's cost per
 * request) or refused (rc -1: err and metadata, stolen, make its result). */
void api_batch_judged(api_batch *b, size_t i, int rc, const pc_error *err, json_t *metadata,
                      const pc_u256 *cost);

/* The store's arguments for the tokens that passed, in the order given
 * (API_MANY_MAX entries each): their number k, and which[j] the token of
 * offer j < k. Precondition: every token judged. */
size_t api_batch_offers(const api_batch *b, pc_address *mediators, pc_u256 *token_ids,
                        uint64_t *counts, pc_signature *sigs, size_t *which);

/* The answer {"results": [...]}, in the order given, once the store has
 * answered: a passed token's result from r[i] (its count's outcome, as
 * validateToken answers it; an accepted count raises the unredeemed total
 * of `provider`, the calling service), a refused one's as judged (taken
 * over). NULL when out of memory. Precondition: every token judged. */
json_t *api_batch_answer(pc_server *s, const pc_address *provider, api_batch *b,
                         const pc_store_result *r);

/* Marks c->mediator's cached state stale after our own transaction. */
void api_changed(call *c);

/* The endpoints (docs/protocol.md §4). /status, /ready and /health are
 * unauthenticated and answer before the chain side is up (readiness.h). */
void api_status(pc_server *s, const pc_http_request *req, pc_http_answer *answer);
void api_ready(pc_server *s, pc_http_answer *answer);
void api_health(pc_http_answer *answer);
void api_use_service(call *c);
void api_deposit(call *c, const char *amount);
void api_create_signature_headers(call *c);
void api_create_signature_headers_many(call *c);
void api_return_count(call *c);
void api_validate_token(call *c);
void api_validate_tokens(call *c);
void api_redeem_token(call *c);
void api_payout(call *c);
void api_terminate(call *c);
void api_termination_status(call *c);
void api_funds(call *c);

/* The admin API (api_admin.c) and GET /metrics (api_metrics.c). */
void api_admin_channels(call *c);
void api_admin_channel(call *c);
void api_admin_accounts(call *c);
void api_admin_transactions(call *c);
void api_metrics(call *c);

/* What a route's answers carry, for the token counters of /metrics. */
enum { API_TOKENS_NONE = 0, API_TOKENS_CREATED = 1, API_TOKENS_VALIDATED = 2 };

/* The index of the route serving path (pc_api_route_count() when none) and
 * its API_TOKENS_* kind in *tokens. */
size_t api_route_index(pc_server *s, const char *path, int *tokens);

/* The routes' path templates, by index (for the metrics' endpoint label). */
const char *const *api_route_names(void);

/* The per-request endpoints on an event loop (api_loop.c), given
 * the Mediator's fresh view; c->caller not yet authenticated. */
pc_http_step api_create_on_loop(call *c, const pc_mediator_view *v);
pc_http_step api_create_many_on_loop(call *c, const pc_address *mediators,
                                     const pc_mediator_view *views, size_t n);
pc_http_step api_validate_on_loop(call *c, const pc_mediator_view *v);
/* POST /validateTokens on a loop: b's tokens all well-formed, views[i] the
 * fresh view of token i's Mediator, registered as provider. */
pc_http_step api_validate_many_on_loop(call *c, const api_batch *b,
                                       const pc_mediator_view *views);

#endif
