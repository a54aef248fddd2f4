/* token_batch.h: the sidecar's calls to the Payment Server for the tokens
 * of requests in flight, made in batches, without blocking a thread. A
 * batch is of one kind: on the consumer side it signs the tokens of one
 * target (paychan_sign_requests), on the provider side it validates the
 * payments of one paid route (paychan_validate_payments). Requests in
 * flight together wait in a queue, suspended; one of them (the leader)
 * takes up to 16 of the queued ones and makes one call for them all (one
 * round trip and one durable write in paychand), run on the leader's event
 * loop (pc_http_fetch), while the requests that arrive meanwhile queue for
 * the next call. A request alone is not delayed: it leads at once. Like
 * group commit, the batch grows with the load. A waiting request is
 * resumed once: when its result is in, or to lead the next call (whose
 * transfer then runs on its own loop).
 *
 * A sign batch may also keep one token signed ahead (a spare): the next
 * request takes it and goes at once, while its replacement is signed next
 * to it, so a request alone waits for no Payment Server round trip. The
 * spare costs nothing while it waits: a token with count N pays for N
 * requests only once the provider accepts it, and requests take their
 * tokens in the order signed. It is lost (one request's price) only if the
 * sidecar stops with it unused and later counts of the same token id are
 * spent: the sidecar takes it (px_token_batch_take_spare) and gives it
 * back to the Payment Server at shutdown (paychan_return_request). */
#ifndef PAYCHAN_PROXY_TOKEN_BATCH_H
#define PAYCHAN_PROXY_TOKEN_BATCH_H

#include <pthread.h>
#include <stddef.h>

#include "http/http.h"
#include "paychan.h"

typedef struct px_token_batch px_token_batch;

/* What a batch's calls do. */
typedef enum px_batch_kind {
    PX_BATCH_SIGN = 0, /* tokens for the requests to one target */
    PX_BATCH_VALIDATE  /* checks of the payments of requests to one paid route */
} px_batch_kind;

/* A request waiting for its result, in the caller's per-request state:
 * req, then and arg set by the caller (and payment, to validate), the
 * rest by the batch. */
typedef struct px_token_waiter {
    pc_http_request *req;  /* suspended while it waits */
    pc_http_continue then; /* req resumes with then(arg) once rc is set */
    void *arg;
    const paychan_payment_headers *payment; /* PX_BATCH_VALIDATE: the payment to check */
    int rc; /* 0: signed, out holds the headers / paid; -1: err says why */
    paychan_payment_headers out;
    paychan_error err;
    /* the batch's */
    px_token_batch *batch;
    paychan_client *client;
    const char *name;
    struct px_token_waiter *next;
} px_token_waiter;

/* One target's queue. Zero-initialised memory plus px_token_batch_init. */
struct px_token_batch {
    px_batch_kind kind;
    pthread_mutex_t lock;
    px_token_waiter *head, **tail; /* the requests not signed yet, in arrival order */
    int leading;              /* a call to the Payment Server is under way */
    unsigned long long calls; /* calls made, for /status */
    /* PX_BATCH_SIGN after px_token_batch_keep_spare */
    int keep_spare;
    int spare_state; /* none, coming (a call in flight brings it), ready, held */
    paychan_payment_headers spare;
    unsigned long long spares_taken; /* requests sent with the spare */
};

void px_token_batch_init(px_token_batch *b, px_batch_kind kind);

/* No request may be waiting. */
void px_token_batch_destroy(px_token_batch *b);

/* On w->req's loop, after pc_http_suspend(w->req): queues w for the
 * payment headers of its next request to target `name` of client, taken in
 * a call shared with the other requests to it in flight. w->req is
 * resumed with w->then once w->rc is set (maybe before this returns). */
void px_token_batch_sign(px_token_batch *b, paychan_client *client, const char *name,
                         px_token_waiter *w);

/* The same for a PX_BATCH_VALIDATE batch: queues w (w->payment set) for
 * the check of its payment by client; w->rc 0 when it is paid, else -1
 * with w->err (the refusal of this payment, or why the call failed). */
void px_token_batch_validate(px_token_batch *b, paychan_client *client, px_token_waiter *w);

/* A PX_BATCH_SIGN batch keeps one token signed ahead from its next call
 * on (see above). Call before the first request. */
void px_token_batch_keep_spare(px_token_batch *b);

/* No request takes the spare from now on, nor is a new one asked for (a
 * consumer ending the channel); one signed meanwhile is only held for
 * px_token_batch_take_spare. Any thread. */
void px_token_batch_stop_spare(px_token_batch *b);

/* Once no request is in flight (after pc_http_stop): the spare signed and
 * not used, which the batch no longer holds: 1 with *out, else 0. */
int px_token_batch_take_spare(px_token_batch *b, paychan_payment_headers *out);

/* Requests sent with the spare so far; *ready 1 when the next may be. */
unsigned long long px_token_batch_spares_taken(px_token_batch *b, int *ready);

/* Calls to the Payment Server so far. */
unsigned long long px_token_batch_calls(px_token_batch *b);

#endif
