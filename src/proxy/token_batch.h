/* token_batch.h: the consumer sidecar's tokens for one target, taken from
 * the Payment Server in batches, without blocking a thread. Requests to the
 * same target that are in flight together wait for their token in a queue,
 * suspended; one of them (the leader) takes up to PAYCHAN_SIGN_MANY_MAX of
 * the queued ones and gets their tokens in one paychan_sign_requests call
 * (one round trip and one durable write in paychand for all), run on the
 * leader's event loop (pc_http_fetch), while the requests that arrive
 * meanwhile queue for the next call. A request alone is not delayed: it
 * leads at once. Like group commit, the batch grows with the load. A
 * waiting request is resumed once: when its token is in, or to lead the
 * next call (whose transfer then runs on its own loop). */
#ifndef PAYCHAN_PROXY_TOKEN_BATCH_H
#define PAYCHAN_PROXY_TOKEN_BATCH_H

#include <pthread.h>
#include <stddef.h>

#include "http/http.h"
#include "paychan.h"

typedef struct px_token_batch px_token_batch;

/* A request waiting for its token, in the caller's per-request state:
 * req, then and arg set by the caller, the rest by the batch. */
typedef struct px_token_waiter {
    pc_http_request *req;  /* suspended while it waits */
    pc_http_continue then; /* req resumes with then(arg) once rc is set */
    void *arg;
    int rc;                       /* 0: out holds the headers; -1: err says why */
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
    pthread_mutex_t lock;
    px_token_waiter *head, **tail; /* the requests not signed yet, in arrival order */
    int leading;              /* a call to the Payment Server is under way */
    unsigned long long calls; /* calls made, for /status */
};

void px_token_batch_init(px_token_batch *b);

/* No request may be waiting. */
void px_token_batch_destroy(px_token_batch *b);

/* On w->req's loop, after pc_http_suspend(w->req): queues w for the
 * payment headers of its next request to target `name` of client, taken in
 * a call shared with the other requests to it in flight. w->req is
 * resumed with w->then once w->rc is set (maybe before this returns). */
void px_token_batch_sign(px_token_batch *b, paychan_client *client, const char *name,
                         px_token_waiter *w);

/* Calls to the Payment Server so far. */
unsigned long long px_token_batch_calls(px_token_batch *b);

#endif
