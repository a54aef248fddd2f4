/* payments.h: the protocol's per-request work (docs/protocol.md §2, §5): a consumer's
 * Payment Server creating the payment headers of the next request, and a
 * provider's validating them. Both run on request threads, in parallel;
 * the chain is read only through the chain cache and the only serialised
 * step is the counter of one (Mediator, token id) in the store. */
#ifndef PAYCHAN_SERVER_PAYMENTS_H
#define PAYCHAN_SERVER_PAYMENTS_H

#include <jansson.h>

#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"
#include "server/chain/chain_cache.h"
#include "server/server.h"

/* The five x-pay-* headers of docs/protocol.md §2 for one request. */
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

/* pc_payment_create in two steps, for several Mediators at once: begin
 * does every check (reading the chain cache, registering the Mediator) and
 * fills sender, Mediator and token id; finish takes the count (durably)
 * and signs. */
int pc_payment_create_begin(pc_server *s, const pc_address *consumer, const pc_address *mediator,
                            pc_payment_headers *out, pc_error *err);
int pc_payment_create_finish(pc_server *s, pc_payment_headers *h, pc_error *err);

/* Consumer side: gives back count `count` of token_id, taken by
 * pc_payment_create and never sent (pc_store_return_count): *returned = 1
 * when it was the last count taken for the id (the next
 * pc_payment_create takes it again), else 0 and nothing changes (a later
 * count was taken: that token is simply spent). Fails with 203 when
 * `consumer` is not served here, 3 when it is not the Mediator's consumer,
 * as pc_payment_create; a terminated Mediator is no refusal (giving back
 * costs nobody anything). Precondition: count >= 1 (else 300). */
int pc_payment_return(pc_server *s, const pc_address *consumer, const pc_address *mediator,
                      const pc_u256 *token_id, uint64_t count, int *returned, pc_error *err);

/* The terms a provider requires (validateToken's parameters). */
typedef struct pc_payment_terms {
    pc_u256 min_cost_per_request;
    uint64_t termination_timeout;
    uint64_t token_redemption_timeout;
} pc_payment_terms;

/* Provider side: checks `token` in the order of docs/protocol.md §5 and records its
 * count durably before returning 0. `provider` is the calling service.
 * On failure err->code is the protocol's code; *metadata (may be NULL) receives
 * a new JSON object for the codes that carry some (36: tokenID, 37:
 * actualCount), else stays NULL. A token id that the cached state knows
 * neither as active nor as soon-expiring, or a count its cached funds do not
 * cover, is checked against a state read after the call began before it is
 * refused (36, 34), or 101 if the node cannot be asked. */
int pc_payment_validate(pc_server *s, const pc_address *provider, const pc_payment_headers *token,
                        const pc_payment_terms *required, json_t **metadata, pc_error *err);

/* pc_payment_validate in two steps, for several tokens at once (their
 * counts then go to the store together, pc_store_offer_counts): every step
 * before the counter, in its order (the token itself; the Mediator's
 * state from the cache, a token that state refuses for its id or funds
 * judged again on a state read after arrived_ms; the Mediator registered
 * as provider), with the same failures, codes and metadata. 0 with the
 * Mediator's cost per request in *cost (for pc_payment_counted); then
 * pc_payment_count_outcome of the store's verdict answers as
 * pc_payment_validate would. May wait on the node and the store. */
int pc_payment_validate_check(pc_server *s, const pc_address *provider,
                              const pc_payment_headers *t, const pc_payment_terms *required,
                              uint64_t arrived_ms, pc_u256 *cost, json_t **metadata,
                              pc_error *err);

/* The wall clock in ms, as the chain cache stamps its reads: when a call
 * arrived, for pc_payment_validate_check. */
uint64_t pc_payment_now_ms(void);

/* ---- the same work for event loops (http.h), which must not block: the
 * caller holds a fresh view of the Mediator (pc_chain_cache_peek) and the
 * Mediator is registered; the durable step is the store's asynchronous
 * form. In order: prepare, store, then sign (create) or outcome (validate). */

/* 1 when `mediator` is registered already in `role` (pc_payment_register
 * would not touch the store). */
int pc_payment_is_registered(pc_server *s, const pc_address *mediator, pc_mediator_role role);

/* The number of Mediators registered in `role` (for /status). */
size_t pc_payment_registered_count(pc_server *s, pc_mediator_role role);

/* Consumer side: the checks of pc_payment_create against view v; fills
 * out's sender, Mediator and token id (the count comes from
 * pc_store_next_count_async). */
int pc_payment_create_prepare(pc_server *s, const pc_address *consumer,
                              const pc_address *mediator, const pc_mediator_view *v,
                              pc_payment_headers *out, pc_error *err);

/* Signs h (its count set) with the key of h->sender, served here. */
int pc_payment_sign(pc_server *s, pc_payment_headers *h, pc_error *err);

/* 1 when view v accepts a token of this id and count (active or in its grace
 * period, covered by the consumer's funds): an event loop may decide then;
 * otherwise a worker's pc_payment_validate reads the Mediator again before
 * refusing (the state may have moved on through another instance). */
int pc_payment_view_accepts(const pc_mediator_view *v, const pc_u256 *token_id,
                            uint64_t request_count);

/* Provider side: every step of pc_payment_validate before the counter,
 * against view v; failures as pc_payment_validate reports them. */
int pc_payment_validate_prepare(pc_server *s, const pc_address *provider,
                                const pc_payment_headers *t, const pc_payment_terms *required,
                                const pc_mediator_view *v, json_t **metadata, pc_error *err);

/* A count the store accepted (verdict, highest after) raises the running
 * unredeemed total of the provider's account (unredeemed.h) at cost per request. */
void pc_payment_counted(pc_server *s, const pc_address *provider, const pc_payment_headers *t,
                        const pc_u256 *cost, pc_count_verdict verdict, uint64_t highest);

/* The counter step's answer: 0 for an accepted count, else code 37 with
 * metadata {actualCount} (when metadata is not NULL). */
int pc_payment_count_outcome(const pc_payment_headers *t, pc_count_verdict verdict,
                             uint64_t highest, json_t **metadata, pc_error *err);

/* Records that this server works for `mediator` in `role` on behalf of
 * `account` (idempotent, cheap after the first call). Duties act only on
 * recorded Mediators. A server holding both the consumer's and the
 * provider's key registers the Mediator in both roles, each with its own
 * record, counters and duties. */
int pc_payment_register(pc_server *s, const pc_address *mediator, pc_mediator_role role,
                        const pc_address *account, const pc_address *counterparty, pc_error *err);

/* Forgets the in-memory "registered" mark of `mediator` in `role` (after
 * the store record was deleted). */
void pc_payment_unregister(pc_server *s, const pc_address *mediator, pc_mediator_role role);

#endif
