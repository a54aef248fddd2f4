/* token_batch.c: see token_batch.h. */
#include "proxy/token_batch.h"

#include <stdlib.h>

/* One call to the Payment Server in flight, on its leader's loop. */
typedef struct batch_call {
    px_token_waiter *w[PAYCHAN_SIGN_MANY_MAX]; /* w[0] leads */
    size_t n;
    paychan_call *call;
} batch_call;

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

/* Unlinks up to PAYCHAN_SIGN_MANY_MAX waiters from the front into w; how
 * many. Called with the lock held. */
static size_t take_front(px_token_batch *b, px_token_waiter **w)
{
    size_t n = 0;
    while (b->head && n < PAYCHAN_SIGN_MANY_MAX) {
        w[n++] = b->head;
        b->head = b->head->next;
    }
    if (!b->head)
        b->tail = &b->head;
    return n;
}

static void lead(void *arg, pc_http_request *req, pc_http_answer *a);

/* The waiter at the front (queued during the last call) leads the next
 * one, on its own loop, or nobody leads when none waits. */
static void pass_lead(px_token_batch *b)
{
    pthread_mutex_lock(&b->lock);
    px_token_waiter *next = b->head;
    if (!next)
        b->leading = 0;
    pthread_mutex_unlock(&b->lock);
    if (next) /* it stays at the front, untouched by others, until it leads */
        pc_http_resume(next->req, lead, next);
}

/* The end of a call for the n waiters w: each resumes with its result
 * (none is touched after its resume: its continuation may free it). */
static void finish(px_token_waiter **w, size_t n, int rc, const paychan_payment_headers *out,
                   const paychan_error *e)
{
    px_token_batch *b = w[0]->batch;
    for (size_t i = 0; i < n; i++) {
        w[i]->rc = rc;
        if (rc == 0)
            w[i]->out = out[i];
        else
            w[i]->err = *e;
    }
    pass_lead(b);
    for (size_t i = 0; i < n; i++)
        pc_http_resume(w[i]->req, w[i]->then, w[i]->arg);
}

static void on_signed(void *arg, CURL *easy, CURLcode result)
{
    (void)easy;
    batch_call *bc = arg;
    paychan_payment_headers out[PAYCHAN_SIGN_MANY_MAX];
    paychan_error e = {0};
    int rc = paychan_sign_requests_end(bc->call, result, out, &e);
    if (rc == PAYCHAN_CALL_AGAIN) { /* a fresh stamp after a 205 */
        if (pc_http_fetch(bc->w[0]->req, paychan_call_easy(bc->call), on_signed, bc) == 0)
            return;
        paychan_call_free(bc->call);
        e = (paychan_error){.code = PAYCHAN_E_NO_MEMORY, .message = "out of memory"};
        rc = -1;
    }
    finish(bc->w, bc->n, rc, out, &e);
    free(bc);
}

/* Leader w (at the front of the queue, on its loop): one call for the
 * front of the queue. */
static void start_call(px_token_waiter *w)
{
    px_token_batch *b = w->batch;
    batch_call *bc = calloc(1, sizeof *bc);
    px_token_waiter *front[PAYCHAN_SIGN_MANY_MAX];
    pthread_mutex_lock(&b->lock);
    size_t n = take_front(b, front);
    b->calls++;
    pthread_mutex_unlock(&b->lock);
    paychan_error e = {.code = PAYCHAN_E_NO_MEMORY, .message = "out of memory"};
    if (bc) {
        const char *names[PAYCHAN_SIGN_MANY_MAX];
        for (size_t i = 0; i < n; i++) {
            names[i] = w->name;
            bc->w[i] = front[i];
        }
        bc->n = n;
        bc->call = paychan_sign_requests_begin(w->client, names, n, &e);
        if (bc->call && pc_http_fetch(w->req, paychan_call_easy(bc->call), on_signed, bc) == 0)
            return;
        paychan_call_free(bc->call);
        free(bc);
    }
    finish(front, n, -1, NULL, &e);
}

/* A waiter resumed to lead, on its loop. If its client went away, it
 * leaves the queue and passes the lead on. */
static void lead(void *arg, pc_http_request *req, pc_http_answer *a)
{
    px_token_waiter *w = arg;
    if (!pc_http_abandoned(req)) {
        pc_http_suspend(req);
        start_call(w);
        return;
    }
    px_token_batch *b = w->batch;
    pthread_mutex_lock(&b->lock);
    b->head = w->next; /* w is at the front */
    if (!b->head)
        b->tail = &b->head;
    pthread_mutex_unlock(&b->lock);
    pass_lead(b);
    w->rc = -1;
    w->then(w->arg, req, a); /* abandoned: it frees its state */
}

void px_token_batch_sign(px_token_batch *b, paychan_client *client, const char *name,
                         px_token_waiter *w)
{
    w->batch = b;
    w->client = client;
    w->name = name;
    w->next = NULL;
    pthread_mutex_lock(&b->lock);
    *b->tail = w;
    b->tail = &w->next;
    int leads = !b->leading; /* nobody leads, so the queue was empty */
    b->leading = 1;
    pthread_mutex_unlock(&b->lock);
    if (leads)
        start_call(w);
}

unsigned long long px_token_batch_calls(px_token_batch *b)
{
    pthread_mutex_lock(&b->lock);
    unsigned long long n = b->calls;
    pthread_mutex_unlock(&b->lock);
    return n;
}
