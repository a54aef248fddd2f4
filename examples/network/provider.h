/* provider.h: the provider side shared by persistence-service and
 * random-nr-service: taking payment for a request through libpaychan, and
 * the admin endpoints that act on the Mediators paying this service.
 *
 * A provider learns which Mediators pay it from the x-pay-mediator header
 * of every request its Payment Server validated; /redeem, /payout and
 * /terminate act on all of those (or on one given by ?mediator=0x...). A
 * Mediator found terminated by one of them is forgotten. */
#ifndef PAYCHAN_EXAMPLES_PROVIDER_H
#define PAYCHAN_EXAMPLES_PROVIDER_H

#include "common.h"

typedef struct ex_provider ex_provider;

/* Creates the provider state of svc, which charges cost_wei per paid
 * request. When payment is on, sets the terms libpaychan validates against
 * (min cost = cost_wei, the configured timeouts). NULL on failure (logged). */
ex_provider *ex_provider_create(ex_service *svc, const char *cost_wei);

/* Frees p. NULL is a no-op. */
void ex_provider_destroy(ex_provider *p);

/* Fills *ans for a request whose payment was taken (or with payment off). */
typedef void (*ex_provider_serve)(ex_service *svc, const ex_request *req, ex_answer *ans);

/* Serves one paid request without blocking (for ex_service_def.begin):
 * reads its x-pay-* headers and has the Payment Server validate them
 * (paychan_validate_payment_begin, run on the request's loop by
 * ex_request_fetch), then serve fills the answer and the request is
 * finished (ex_request_finish). With payment off it is served at once. A
 * request that is not paid is answered 402 with the body of
 * paychan_payment_required_body for a missing, invalid or insufficient
 * payment; 503 with the same body when the payment could not be checked
 * (Payment Server down, slow, or failing itself). The body gives a short
 * reason and the code, never an internal address; the detail goes to the log. */
void ex_provider_serve_paid(ex_provider *p, ex_request *req, ex_provider_serve serve);

/* Answers the endpoints every provider has, returning 1 when path was one
 * of them (and *ans is filled), else 0:
 *   /redeem, /payout, /terminate  (optional ?mediator=0x...)
 *   /status  this service's address, payment switch, Mediators and the
 *            paid requests served through each; with ?funds=true also each
 *            Mediator's funds and termination state (asked from the Payment
 *            Server). */
int ex_provider_handle_common(ex_provider *p, const ex_request *req, ex_answer *ans);

/* 1 when the provider answers req without blocking, so on its event loop:
 * every request while payment is off (no Payment Server to ask), /status
 * without ?funds=true always. The service adds its own free endpoints. */
int ex_provider_quick(const ex_provider *p, const ex_request *req);

#endif
