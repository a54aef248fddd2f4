/* token_batch.c: see token_batch.h. */
#include "proxy/token_batch.h"

#include <stdlib.h>

#include "core/runtime/logger.h"

#define BATCH_MAX 16 /* PAYCHAN_SIGN_MANY_MAX and PAYCHAN_VALIDATE_MANY_MAX */
_Static_assert(BATCH_MAX <= PAYCHAN_SIGN_MANY_MAX && BATCH_MAX <= PAYCHAN_VALIDATE_MANY_MAX,
               "a batch fits one call of either kind");

/* SPARE_HELD: signed after px_token_batch_stop_spare, kept for
 * px_token_batch_take_spare only, never sent. */
enum { SPARE_NONE, SPARE_COMING, SPARE_READY, SPARE_HELD };

/* One call to the Payment Server in flight, on its leader's loop. */
typedef struct batch_call {
    px_token_waiter *w[BATCH_MAX]; /* w[0] leads */
    size_t n;
    int spare; /* one more token is signed, for the spare */
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

/* The spare a call brought (h), or none (NULL: it failed). */
static void settle_spare(px_token_batch *b, const paychan_payment_headers *h)
{
    pthread_mutex_lock(&b->lock);
    b->spare_state = !h ? SPARE_NONE : b->keep_spare ? SPARE_READY : SPARE_HELD;
    if (h)
        b->spare = *h;
    pthread_mutex_unlock(&b->lock);
}

/* The end of a call for the n waiters w (and the spare after them, when
 * `spare`): each resumes with its result (none is touched after its
 * resume: its continuation may free it). */
static void finish(px_token_waiter **w, size_t n, int spare, const call_result *r)
{
    px_token_batch *b = w[0]->batch;
    if (spare)
        settle_spare(b, r->rc == 0 ? &r->out[n] : NULL);
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
static void fail_all(px_token_waiter **w, size_t n, int spare, const paychan_error *why)
{
    call_result r = {.rc = -1, .e = *why};
    finish(w, n, spare, &r);
}

static void on_answer(void *arg, CURL *easy, CURLcode result)
{
    (void)easy;
    batch_call *bc = arg;
    call_result r = {0};
    if (bc->w[0]->batch->kind == PX_BATCH_SIGN)
        r.rc = paychan_sign_requests_end(bc->call, result, r.out, &r.e);
    else if (bc->n == 1) /* a refusal and a failed call end the same for one waiter */
        r.rc = paychan_validate_payment_end(bc->call, result, &r.e);
    else
        r.rc = paychan_validate_payments_end(bc->call, result, r.refusal, &r.e);
    if (r.rc == PAYCHAN_CALL_AGAIN) { /* a fresh stamp after a 205 */
        if (pc_http_fetch(bc->w[0]->req, paychan_call_easy(bc->call), on_answer, bc) == 0)
            return;
        paychan_call_free(bc->call);
        r.e = (paychan_error){.code = PAYCHAN_E_NO_MEMORY, .message = "out of memory"};
        r.rc = -1;
    }
    finish(bc->w, bc->n, bc->spare, &r);
    free(bc);
}

/* The call of bc's waiters, by the batch's kind; NULL with *e. */
static paychan_call *begin_call(const batch_call *bc, paychan_client *client, const char *name,
                                paychan_error *e)
{
    if (bc->w[0]->batch->kind == PX_BATCH_SIGN) {
        const char *names[BATCH_MAX];
        for (size_t i = 0; i < bc->n + (size_t)bc->spare; i++)
            names[i] = name;
        return paychan_sign_requests_begin(client, names, bc->n + (size_t)bc->spare, e);
    }
    if (bc->n == 1) /* alone: the plain call, which paychand answers sooner */
        return paychan_validate_payment_begin(client, bc->w[0]->payment, e);
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
    int spare = b->keep_spare && b->spare_state == SPARE_NONE && n < BATCH_MAX;
    if (spare)
        b->spare_state = SPARE_COMING;
    pthread_mutex_unlock(&b->lock);
    paychan_error e = {.code = PAYCHAN_E_NO_MEMORY, .message = "out of memory"};
    if (bc) {
        for (size_t i = 0; i < n; i++)
            bc->w[i] = front[i];
        bc->n = n;
        bc->spare = spare;
        if (n > 1)
            PC_LOG_D("%zu %s in one call (batched)", n,
                     b->kind == PX_BATCH_SIGN ? "tokens" : "payment checks");
        bc->call = begin_call(bc, w->client, w->name, &e);
        if (bc->call && pc_http_fetch(w->req, paychan_call_easy(bc->call), on_answer, bc) == 0)
            return;
        paychan_call_free(bc->call);
        free(bc);
    }
    fail_all(front, n, spare, &e);
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

/* A replacement for the spare, signed on `loop` for no request. */
typedef struct spare_call {
    px_token_batch *b;
    pc_http_loop *loop;
    paychan_call *call;
} spare_call;

static void on_spare(void *arg, CURL *easy, CURLcode result)
{
    (void)easy;
    spare_call *sc = arg;
    paychan_payment_headers h;
    paychan_error e = {0};
    int rc = paychan_sign_requests_end(sc->call, result, &h, &e);
    if (rc == PAYCHAN_CALL_AGAIN) { /* a fresh stamp after a 205 */
        if (pc_http_loop_fetch(sc->loop, paychan_call_easy(sc->call), on_spare, sc) == 0)
            return;
        paychan_call_free(sc->call);
    } else if (rc != 0) {
        PC_LOG_D("no spare token now: %s (code %d)", e.message, e.code);
    }
    settle_spare(sc->b, rc == 0 ? &h : NULL);
    free(sc);
}

/* The spare was taken: its replacement is signed on `loop` for no request. */
static void replace_spare(px_token_batch *b, pc_http_loop *loop, paychan_client *client,
                          const char *name)
{
    spare_call *sc = calloc(1, sizeof *sc);
    paychan_error e;
    if (sc) {
        *sc = (spare_call){.b = b, .loop = loop};
        sc->call = paychan_sign_requests_begin(client, &name, 1, &e);
        if (sc->call && pc_http_loop_fetch(sc->loop, paychan_call_easy(sc->call), on_spare, sc) == 0)
            return;
        paychan_call_free(sc->call);
        free(sc);
    }
    settle_spare(b, NULL);
}

/* w's request resumes with the spare and goes on (sent to its target);
 * then, behind it on the loop, the spare's replacement is asked for. */
static void went_with_spare(void *arg, pc_http_request *req, pc_http_answer *a)
{
    px_token_waiter *w = arg;
    px_token_batch *b = w->batch;
    paychan_client *client = w->client;
    const char *name = w->name;
    w->then(w->arg, req, a); /* may free w */
    replace_spare(b, pc_http_request_loop(req), client, name);
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
    pthread_mutex_lock(&b->lock);
    int take = b->spare_state == SPARE_READY;
    /* Under load a call is in flight: the next one brings the replacement
     * with the tokens it signs. Alone, it is signed now, on its own. */
    int replace = take && !b->leading;
    if (take) {
        w->rc = 0;
        w->out = b->spare;
        b->spare_state = replace ? SPARE_COMING : SPARE_NONE;
        b->spares_taken++;
        b->calls += (unsigned)replace;
    }
    pthread_mutex_unlock(&b->lock);
    if (!take) {
        enqueue(b, client, name, w);
        return;
    }
    w->batch = b, w->client = client, w->name = name;
    pc_http_resume(w->req, replace ? went_with_spare : w->then, replace ? (void *)w : w->arg);
}

void px_token_batch_keep_spare(px_token_batch *b)
{
    b->keep_spare = b->kind == PX_BATCH_SIGN;
}

void px_token_batch_stop_spare(px_token_batch *b)
{
    pthread_mutex_lock(&b->lock);
    b->keep_spare = 0;
    if (b->spare_state == SPARE_READY)
        b->spare_state = SPARE_HELD;
    pthread_mutex_unlock(&b->lock);
}

int px_token_batch_take_spare(px_token_batch *b, paychan_payment_headers *out)
{
    pthread_mutex_lock(&b->lock);
    int ready = b->spare_state == SPARE_READY || b->spare_state == SPARE_HELD;
    if (ready) {
        *out = b->spare;
        b->spare_state = SPARE_NONE;
    }
    pthread_mutex_unlock(&b->lock);
    return ready;
}

unsigned long long px_token_batch_spares_taken(px_token_batch *b, int *ready)
{
    pthread_mutex_lock(&b->lock);
    unsigned long long n = b->spares_taken;
    *ready = b->spare_state == SPARE_READY;
    pthread_mutex_unlock(&b->lock);
    return n;
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
