/* payments.h: the protocol's per-request work (spec §2, §5): a consumer's
 * Payment Server creating the payment headers of the next request, and a
 * provider's validating them. Both run on request threads, in parallel;
 * the chain is read only through the chain cache and the only serialised
 * step is the counter of one (Mediator, token id) in the store. */
#ifndef PAYCHAN_SERVER_PAYMENTS_H
#define PAYCHAN_SERVER_PAYMENTS_H

#include <jansson.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/u256.h"
#include "server/server.h"

/* The five x-pay-* headers of spec §2 for one request. */
typedef struct pc_payment_headers {
    pc_address sender;   /* the consumer */
    pc_address mediator;
    pc_u256 token_id;
    uint64_t request_count;
    pc_signature signature;
} pc_payment_headers;

/* Consumer side: takes the next count of the Mediator's active token id
 * (atomically, durably) and signs the token with `consumer`'s key.
 * Fails with 3 when `consumer` is not the Mediator's consumer, 1 when it
 * is terminated or its last token was redeemed. */
int pc_payment_create(pc_server *s, const pc_address *consumer, const pc_address *mediator,
                      pc_payment_headers *out, pc_error *err);

/* The terms a provider requires (validateToken's parameters). */
typedef struct pc_payment_terms {
    pc_u256 min_cost_per_request;
    uint64_t termination_timeout;
    uint64_t token_redemption_timeout;
} pc_payment_terms;

/* Provider side: checks `token` in the order of spec §5 and records its
 * count durably before returning 0. `provider` is the calling service.
 * On failure err->code is the spec's code; *metadata (may be NULL) receives
 * a new JSON object for the codes that carry some (36: tokenID, 37:
 * actualCount), else stays NULL. */
int pc_payment_validate(pc_server *s, const pc_address *provider, const pc_payment_headers *token,
                        const pc_payment_terms *required, json_t **metadata, pc_error *err);

/* Records that this server works for `mediator` in `role` on behalf of
 * `account` (idempotent, cheap after the first call). Duties act only on
 * recorded Mediators. */
int pc_payment_register(pc_server *s, const pc_address *mediator, pc_mediator_role role,
                        const pc_address *account, const pc_address *counterparty, pc_error *err);

/* Forgets the in-memory "registered" mark of `mediator` (after the store
 * record was deleted). */
void pc_payment_unregister(pc_server *s, const pc_address *mediator);

#endif
