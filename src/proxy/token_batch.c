/* token_batch.c: see token_batch.h. */
#include "proxy/token_batch.h"

/* A request waiting for its token (on its own stack). Its own condition
 * variable, so that it is woken once, for itself: with one shared by the
 * queue, every batch signed and every change of leader woke every waiting
 * request, most of them only to sleep again (at 20 clients ~5 futex calls
 * per paid request in the sidecar). */
struct px_token_waiter {
    px_token_waiter *next;
    pthread_cond_t wake; /* signalled once: its token is in, or it leads next */
    paychan_payment_headers *out;
    paychan_error *err;
    int rc, done, lead;
};

void px_token_batch_init(px_token_batch *b)
{
    pthread_mutex_init(&b->lock, NULL);
    b->head = NULL;
    b->tail = &b->head;
}

void px_token_batch_destroy(px_token_batch *b)
{
    pthread_mutex_destroy(&b->lock);
}

/* Unlinks up to PAYCHAN_SIGN_MANY_MAX waiters from the front into batch;
 * how many. Called with the lock held. */
static size_t take_front(px_token_batch *b, px_token_waiter **batch)
{
    size_t n = 0;
    while (b->head && n < PAYCHAN_SIGN_MANY_MAX) {
        batch[n++] = b->head;
        b->head = b->head->next;
    }
    if (!b->head)
        b->tail = &b->head;
    return n;
}

/* One call for the n waiters of batch, without the lock: a single request
 * keeps the plain form, more share paychan_sign_requests. */
static void sign_batch(paychan_client *client, const char *name, px_token_waiter **batch,
                       size_t n)
{
    const char *names[PAYCHAN_SIGN_MANY_MAX] = {NULL};
    paychan_payment_headers out[PAYCHAN_SIGN_MANY_MAX];
    paychan_error e = {0};
    for (size_t i = 0; i < n; i++)
        names[i] = name;
    int rc = n == 1 ? paychan_sign_request(client, name, out, &e)
                    : paychan_sign_requests(client, names, n, out, &e);
    for (size_t i = 0; i < n; i++) {
        batch[i]->rc = rc;
        if (rc == 0)
            *batch[i]->out = out[i];
        else
            *batch[i]->err = e;
    }
}

/* The leader is done: the request at the front of the queue (queued during
 * the last call) leads the next one, or nobody when none waits. Called
 * with the lock held. */
static void pass_lead(px_token_batch *b)
{
    if (b->head) {
        b->head->lead = 1;
        pthread_cond_signal(&b->head->wake);
    } else {
        b->leading = 0;
    }
}

int px_token_batch_sign(px_token_batch *b, paychan_client *client, const char *name,
                        paychan_payment_headers *out, paychan_error *err)
{
    px_token_waiter w = {.out = out, .err = err};
    pthread_cond_init(&w.wake, NULL);
    pthread_mutex_lock(&b->lock);
    *b->tail = &w;
    b->tail = &w.next;
    if (!b->leading) /* nobody leads, so the queue was empty: lead at once */
        b->leading = w.lead = 1;
    while (!w.done && !w.lead)
        pthread_cond_wait(&w.wake, &b->lock);
    while (!w.done) { /* lead: a leader is at the front, so its first batch has it */
        px_token_waiter *batch[PAYCHAN_SIGN_MANY_MAX];
        size_t n = take_front(b, batch);
        b->calls++;
        pthread_mutex_unlock(&b->lock);
        sign_batch(client, name, batch, n);
        pthread_mutex_lock(&b->lock);
        for (size_t i = 0; i < n; i++) {
            batch[i]->done = 1;
            pthread_cond_signal(&batch[i]->wake); /* ours has no waiter: a no-op */
        }
    }
    if (w.lead)
        pass_lead(b);
    pthread_mutex_unlock(&b->lock);
    pthread_cond_destroy(&w.wake); /* signalled under the lock, which we held since */
    return w.rc;
}

unsigned long long px_token_batch_calls(px_token_batch *b)
{
    pthread_mutex_lock(&b->lock);
    unsigned long long n = b->calls;
    pthread_mutex_unlock(&b->lock);
    return n;
}
