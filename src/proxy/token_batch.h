/* token_batch.h: the consumer sidecar's tokens for one target, taken from
 * the Payment Server in batches. Requests to the same target that are in
 * flight together wait for their token in a queue; one of them (the
 * leader) takes up to PAYCHAN_SIGN_MANY_MAX of the queued ones and gets
 * their tokens in one paychan_sign_requests call (one round trip and one
 * durable write in paychand for all), while the requests that arrive
 * meanwhile queue for the next call. A request alone is not delayed: it
 * leads at once. Like group commit, the batch grows with the load. A
 * waiting request is woken once: when its token is in, or to lead the
 * next call. */
#ifndef PAYCHAN_PROXY_TOKEN_BATCH_H
#define PAYCHAN_PROXY_TOKEN_BATCH_H

#include <pthread.h>
#include <stddef.h>

#include "paychan.h"

typedef struct px_token_waiter px_token_waiter;

/* One target's queue. Zero-initialised memory plus px_token_batch_init. */
typedef struct px_token_batch {
    pthread_mutex_t lock;
    px_token_waiter *head, **tail; /* the requests not signed yet, in arrival order */
    int leading;              /* a call to the Payment Server is under way */
    unsigned long long calls; /* calls made, for /status */
} px_token_batch;

void px_token_batch_init(px_token_batch *b);

/* No request may be waiting. */
void px_token_batch_destroy(px_token_batch *b);

/* The payment headers of the next request to target `name` of client, in
 * a call shared with the other requests to it in flight. Blocks for that
 * call. 0, or -1 with *err (the shared call's error). */
int px_token_batch_sign(px_token_batch *b, paychan_client *client, const char *name,
                        paychan_payment_headers *out, paychan_error *err);

/* Calls to the Payment Server so far. */
unsigned long long px_token_batch_calls(px_token_batch *b);

#endif
