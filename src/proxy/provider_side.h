/* provider_side.h: paychan-proxy in provider mode, a reverse proxy in front
 * of a service: each request is matched to a route (method + longest path
 * prefix) and is passed free, denied (404), or passed only with a payment
 * the Payment Server validates for the route's account and price, the
 * payer named to the upstream in x-paychan-consumer. */
#ifndef PAYCHAN_PROXY_PROVIDER_SIDE_H
#define PAYCHAN_PROXY_PROVIDER_SIDE_H

#include "core/runtime/error.h"
#include "http/http.h"
#include "proxy/config.h"
#include "proxy/upstream.h"

typedef struct px_provider px_provider;

/* One libpaychan client per paid route (its account's key, its price).
 * Sends nothing but one best-effort /status for the chain id. cfg and u
 * must outlive it. NULL with *err on a bad key or out of memory. */
px_provider *px_provider_create(const px_config *cfg, pc_upstream *u, pc_error *err);

void px_provider_destroy(px_provider *p);

/* The pc_http handler (blocking: threads mode or loops_block): ctx is the px_provider. */
pc_http_step px_provider_handle(void *ctx, pc_http_request *req, pc_http_answer *a);

/* The admin port's actions (docs/proxy.md): "status" (the Mediators that
 * paid and how often), or "redeem", "payout", "terminate" on every such
 * Mediator or only `mediator` (may be NULL), through libpaychan: 200 when
 * all succeeded, else 502 with each one's error. */
void px_provider_admin(px_provider *p, const char *action, const char *mediator,
                       pc_http_answer *a);

#endif
