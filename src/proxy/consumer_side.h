/* consumer_side.h: paychan-proxy in consumer mode, the sidecar a service
 * sends its outgoing calls to, by route (/<target>/path) or as an HTTP
 * forward proxy (absolute-form targets). It pays allow-listed targets
 * only: a token per request from the Payment Server, and on a first 402
 * with acceptable terms it opens the channel (deploy or reuse a Mediator,
 * fund it per the target's policy) and retries once. */
#ifndef PAYCHAN_PROXY_CONSUMER_SIDE_H
#define PAYCHAN_PROXY_CONSUMER_SIDE_H

#include "core/runtime/error.h"
#include "http/http.h"
#include "proxy/config.h"
#include "proxy/upstream.h"

typedef struct px_consumer px_consumer;

/* cfg and u must outlive it. Sends nothing. NULL with *err on failure. */
px_consumer *px_consumer_create(const px_config *cfg, pc_upstream *u, pc_error *err);

void px_consumer_destroy(px_consumer *c);

/* The pc_http handler (blocking: threads mode or loops_block): ctx is the px_consumer. */
pc_http_step px_consumer_handle(void *ctx, pc_http_request *req, pc_http_answer *a);

/* The admin port's actions (docs/proxy.md): "status" (each target's
 * Mediator, tokens taken and wei spent) or "terminate" (the consumer's
 * termination of every open channel: 200 when all succeeded, else 502). */
void px_consumer_admin(px_consumer *c, const char *action, pc_http_answer *a);

#endif
