/* token_batch.c: see token_batch.h. */
#include "proxy/token_batch.h"

#include <stdlib.h>

#include "core/runtime/logger.h"

#define BATCH_MAX 16 /* PAYCHAN_SIGN_MANY_MAX and PAYCHAN_VALIDATE_MANY_MAX */
_Static_assert(BATCH_MAX <= PAYCHAN_SIGN_MANY_MAX && BATCH_MAX <= PAYCHAN_VALIDATE_MANY_MAX,
               "a batch fits one call of either kind");

/* One call to the Payment Server in flight, on its leader's loop. */
typedef struct batch_call {
    px_token_waiter *w[BATCH_MAX]; /* w[0] leads */
    size_t n;
    paychan_call *call;
} batch_call;

void px_token_batch_init(px_token_batch *b, px_batch_kind kind)
{
    b->kind = kind;
    pthread_mutex_init(&b->lock, NULL);
    b->head = NULL;
    b->tail = &b->head;
}

void px_token_batch_destroy(px_token_batch *b)
{
    pthread_mutex_destroy(&b->lock);
}

/* Unlinks up to BATCH_MAX waiters from the front into w; how
 * many. Called with the lock held. */
static size_t take_front(px_token_batch *b, px_token_waiter **w)
{
    size_t n = 0;
    while (b->head && n < BATCH_MAX) {
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

/* What a call ended in, for its waiters: the whole call's rc and error,
 * and per waiter the headers signed or the payment's refusal. */
typedef struct call_result {
    int rc;
    paychan_error e;
    paychan_payment_headers out[BATCH_MAX]; /* PX_BATCH_SIGN */
    paychan_error refusal[BATCH_MAX];       /* PX_BATCH_VALIDATE: code 0 = paid */
} call_result;

/* The end of a call for the n waiters w: each resumes with its result
 * (none is touched after its resume: its continuation may free it). */
static void finish(px_token_waiter **w, size_t n, const call_result *r)
{
    px_token_batch *b = w[0]->batch;
    for (size_t i = 0; i < n; i++) {
        w[i]->rc = r->rc;
        if (r->rc != 0)
            w[i]->err = r->e;
        else if (b->kind == PX_BATCH_SIGN)
            w[i]->out = r->out[i];
        else if (r->refusal[i].code != 0)
            w[i]->rc = -1, w[i]->err = r->refusal[i];
    }
    pass_lead(b);
    for (size_t i = 0; i < n; i++)
        pc_http_resume(w[i]->req, w[i]->then, w[i]->arg);
}

/* A call failed before it could run: every waiter gets `why`. */
static void fail_all(px_token_waiter **w, size_t n, const paychan_error *why)
{
    call_result r = {.rc = -1, .e = *why};
    finish(w, n, &r);
}

static void on_answer(void *arg, CURL *easy, CURLcode result)
{
    (void)easy;
    batch_call *bc = arg;
    call_result r = {0};
    if (bc->w[0]->batch->kind == PX_BATCH_SIGN)
        r.rc = paychan_sign_requests_end(bc->call, result, r.out, &r.e);
    else
        r.rc = paychan_validate_payments_end(bc->call, result, r.refusal, &r.e);
    if (r.rc == PAYCHAN_CALL_AGAIN) { /* a fresh stamp after a 205 */
        if (pc_http_fetch(bc->w[0]->req, paychan_call_easy(bc->call), on_answer, bc) == 0)
            return;
        paychan_call_free(bc->call);
        r.e = (paychan_error){.code = PAYCHAN_E_NO_MEMORY, .message = "out of memory"};
        r.rc = -1;
    }
    finish(bc->w, bc->n, &r);
    free(bc);
}

/* The call of bc's waiters, by the batch's kind; NULL with *e. */
static paychan_call *begin_call(const batch_call *bc, paychan_client *client, const char *name,
                                paychan_error *e)
{
    if (bc->w[0]->batch->kind == PX_BATCH_SIGN) {
        const char *names[BATCH_MAX];
        for (size_t i = 0; i < bc->n; i++)
            names[i] = name;
        return paychan_sign_requests_begin(client, names, bc->n, e);
    }
    paychan_payment_headers payments[BATCH_MAX];
    for (size_t i = 0; i < bc->n; i++)
        payments[i] = *bc->w[i]->payment;
    return paychan_validate_payments_begin(client, payments, bc->n, e);
}

/* Leader w (at the front of the queue, on its loop): one call for the
 * front of the queue. */
static void start_call(px_token_waiter *w)
{
    px_token_batch *b = w->batch;
    batch_call *bc = calloc(1, sizeof *bc);
    px_token_waiter *front[BATCH_MAX];
    pthread_mutex_lock(&b->lock);
    size_t n = take_front(b, front);
    b->calls++;
    pthread_mutex_unlock(&b->lock);
    paychan_error e = {.code = PAYCHAN_E_NO_MEMORY, .message = "out of memory"};
    if (bc) {
        for (size_t i = 0; i < n; i++)
            bc->w[i] = front[i];
        bc->n = n;
        if (n > 1)
            PC_LOG_D("%zu %s in one call (batched)", n,
                     b->kind == PX_BATCH_SIGN ? "tokens" : "payment checks");
        bc->call = begin_call(bc, w->client, w->name, &e);
        if (bc->call && pc_http_fetch(w->req, paychan_call_easy(bc->call), on_answer, bc) == 0)
            return;
        paychan_call_free(bc->call);
        free(bc);
    }
    fail_all(front, n, &e);
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

/* Queues w; it leads at once when nobody does. */
static void enqueue(px_token_batch *b, paychan_client *client, const char *name,
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

void px_token_batch_sign(px_token_batch *b, paychan_client *client, const char *name,
                         px_token_waiter *w)
{
    enqueue(b, client, name, w);
}

void px_token_batch_validate(px_token_batch *b, paychan_client *client, px_token_waiter *w)
{
    enqueue(b, client, NULL, w);
}

unsigned long long px_token_batch_calls(px_token_batch *b)
{
    pthread_mutex_lock(&b->lock);
    unsigned long long n = b->calls;
    pthread_mutex_unlock(&b->lock);
    return n;
}
