/* api_loop.c: createSignatureHeaders and validateToken (also their
 * several-token forms) on an event loop (http.h, pool mode): the endpoints
 * every paid request goes through.
 *
 * Why: with a thread per connection, 32 connections on 2 cores meant 32
 * threads time-sharing the cores, and a request waited for a core ~10x
 * longer than it computed (docs/benchmarks.md). Here a loop per core runs
 * the checks and the crypto itself, suspends the connection while the
 * store's writer commits the count (group commit, durable before any
 * answer), and finishes on the same loop once woken: no thread per request,
 * no hand-off to a worker.
 *
 * The caller (api.c) sends a request here only when nothing it needs can
 * block: the Mediator's view is cached and fresh, the Mediator is
 * registered, request nonces are kept in memory and the store's
 * asynchronous forms do not wait. The checks and their order are those of
 * the blocking path (payments.c). */
#include <stdlib.h>

#include "server/api/api_internal.h"

/* A request waiting for its durable write. */
typedef struct pending {
    pc_server *s;
    pc_http_request *req;
    pc_http_continue finish; /* runs on the loop once committed */
    pc_payment_headers h;
    pc_store_result r;
    pc_address provider; /* validateToken: the calling service, */
    pc_u256 cost;        /* and the Mediator's cost per request */
} pending;

/* Store writer thread: the write is durable (or failed); back to the loop. */
static void committed(void *arg, const pc_store_result *r)
{
    pending *p = arg;
    p->r = *r;
    pc_http_resume(p->req, p->finish, p);
}

/* size zeroed bytes, or NULL after answering 500. */
static void *zalloc(call *c, size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        api_fail_code(c, PC_ERR_INTERNAL, "out of memory");
    return p;
}

static pending *pending_new(call *c, pc_http_continue finish)
{
    pending *p = zalloc(c, sizeof *p);
    if (!p)
        return NULL;
    p->s = c->s;
    p->req = c->req;
    p->finish = finish;
    return p;
}

/* ---- createSignatureHeaders ------------------------------------------------------------ */

static void finish_create(void *arg, pc_http_request *req, pc_http_answer *answer)
{
    pending *p = arg;
    call c = {.s = p->s, .req = req, .answer = answer};
    pc_error err;
    p->h.request_count = p->r.count;
    if (p->r.rc != 0)
        api_fail(&c, &p->r.err, NULL);
    else if (pc_payment_sign(p->s, &p->h, &err) != 0)
        api_fail(&c, &err, NULL);
    else
        api_answer_headers(&c, &p->h);
    free(p);
}

pc_http_step api_create_on_loop(call *c, const pc_mediator_view *v)
{
    pc_error err;
    if (api_authenticate(c) != 0)
        return PC_HTTP_ANSWERED;
    pending *p = pending_new(c, finish_create);
    if (!p)
        return PC_HTTP_ANSWERED;
    if (pc_payment_create_prepare(c->s, &c->caller, &c->mediator, v, &p->h, &err) != 0) {
        api_fail(c, &err, NULL);
        free(p);
        return PC_HTTP_ANSWERED;
    }
    pc_http_suspend(c->req);
    pc_store_next_count_async(c->s->store, &p->h.mediator, &p->h.token_id, committed, p);
    return PC_HTTP_SUSPENDED; /* p and the request belong to the store's callback now */
}

/* ---- validateToken --------------------------------------------------------------------- */

static void finish_validate(void *arg, pc_http_request *req, pc_http_answer *answer)
{
    pending *p = arg;
    call c = {.s = p->s, .req = req, .answer = answer};
    json_t *meta = NULL;
    pc_error err;
    if (p->r.rc != 0)
        api_fail(&c, &p->r.err, NULL);
    else if (pc_payment_count_outcome(&p->h, p->r.verdict, p->r.highest, &meta, &err) != 0)
        api_fail(&c, &err, meta);
    else
        api_ok(&c, json_pack("{sb}", "valid", 1));
    if (p->r.rc == 0)
        pc_payment_counted(p->s, &p->provider, &p->h, &p->cost, p->r.verdict, p->r.highest);
    free(p);
}

pc_http_step api_validate_on_loop(call *c, const pc_mediator_view *v)
{
    pc_payment_terms want;
    json_t *meta = NULL;
    pc_error err;
    if (api_authenticate(c) != 0)
        return PC_HTTP_ANSWERED;
    pending *p = pending_new(c, finish_validate);
    if (!p)
        return PC_HTTP_ANSWERED;
    if (api_validate_params(c, &p->h, &want) != 0) {
        free(p);
        return PC_HTTP_ANSWERED;
    }
    if (pc_payment_validate_prepare(c->s, &c->caller, &p->h, &want, v, &meta, &err) != 0) {
        api_fail(c, &err, meta);
        free(p);
        return PC_HTTP_ANSWERED;
    }
    p->provider = c->caller;
    p->cost = v->terms.cost_per_request;
    pc_http_suspend(c->req);
    pc_store_offer_count_async(c->s->store, &p->h.mediator, &p->h.token_id, p->h.request_count,
                               &p->h.signature, committed, p);
    return PC_HTTP_SUSPENDED;
}

/* ---- several tokens in one call (our extensions) -------------------------------------------- */

/* One call for n tokens: the counts queued together (one commit), the
 * answer made once the last is durable. createSignatureHeaders?mediators=
 * takes n counts; validateTokens offers those of the tokens that passed
 * their checks (the others have their result already). */
typedef struct batch {
    pc_server *s;
    pc_http_request *req;
    pc_http_continue finish; /* runs on the loop once the last count is durable */
    size_t n;
    size_t remaining; /* counts not yet durable (atomic) */
    pc_payment_headers h[API_MANY_MAX]; /* createSignatureHeaders */
    pc_store_result r[API_MANY_MAX];    /* by token (item) index */
    struct batch_item {
        struct batch *b;
        size_t i;
    } items[API_MANY_MAX];
    /* validateTokens: the calling service and the call's tokens, judged */
    pc_address provider;
    api_batch tokens;
} batch;

/* Store writer thread: one count is durable (or failed); the last one
 * resumes the request. */
static void batch_committed(void *arg, const pc_store_result *r)
{
    struct batch_item *item = arg;
    batch *b = item->b;
    b->r[item->i] = *r;
    if (__atomic_sub_fetch(&b->remaining, 1, __ATOMIC_ACQ_REL) == 0)
        pc_http_resume(b->req, b->finish, b);
}

/* After authentication: a batch of n items answered by finish; NULL after
 * answering. */
static batch *batch_new(call *c, pc_http_continue finish, size_t n)
{
    batch *b = api_authenticate(c) == 0 ? zalloc(c, sizeof *b) : NULL;
    if (!b)
        return NULL;
    b->s = c->s;
    b->req = c->req;
    b->finish = finish;
    b->n = n;
    for (size_t i = 0; i < n; i++)
        b->items[i] = (struct batch_item){.b = b, .i = i};
    return b;
}

static void finish_create_many(void *arg, pc_http_request *req, pc_http_answer *answer)
{
    batch *b = arg;
    call c = {.s = b->s, .req = req, .answer = answer};
    json_t *list = json_array();
    pc_error err;
    for (size_t i = 0; i < b->n && list; i++) {
        b->h[i].request_count = b->r[i].count;
        if (b->r[i].rc != 0 || pc_payment_sign(b->s, &b->h[i], &err) != 0) {
            api_fail(&c, b->r[i].rc != 0 ? &b->r[i].err : &err, NULL);
            json_decref(list);
            list = NULL;
        } else {
            json_array_append_new(list, api_headers_json(&b->h[i]));
        }
    }
    if (list)
        api_ok(&c, json_pack("{so}", "headers", list));
    free(b);
}

pc_http_step api_create_many_on_loop(call *c, const pc_address *mediators,
                                     const pc_mediator_view *views, size_t n)
{
    pc_error err;
    batch *b = batch_new(c, finish_create_many, n);
    if (!b)
        return PC_HTTP_ANSWERED;
    pc_address keys[API_MANY_MAX];
    pc_u256 ids[API_MANY_MAX];
    void *args[API_MANY_MAX];
    for (size_t i = 0; i < n; i++) { /* every check first: a refusal takes no count */
        if (pc_payment_create_prepare(c->s, &c->caller, &mediators[i], &views[i], &b->h[i],
                                      &err) != 0) {
            api_fail(c, &err, NULL);
            free(b);
            return PC_HTTP_ANSWERED;
        }
        keys[i] = b->h[i].mediator;
        ids[i] = b->h[i].token_id;
        args[i] = &b->items[i];
    }
    b->remaining = n;
    pc_http_suspend(c->req);
    pc_store_next_counts_async(c->s->store, n, keys, ids, batch_committed, args);
    return PC_HTTP_SUSPENDED;
}

/* The answer once the last count is durable (api_batch_answer). */
static void finish_validate_many(void *arg, pc_http_request *req, pc_http_answer *answer)
{
    batch *b = arg;
    call c = {.s = b->s, .req = req, .answer = answer};
    api_ok(&c, api_batch_answer(b->s, &b->provider, &b->tokens, b->r));
    free(b);
}

pc_http_step api_validate_many_on_loop(call *c, const api_batch *in,
                                       const pc_mediator_view *views)
{
    batch *b = batch_new(c, finish_validate_many, in->n);
    if (!b)
        return PC_HTTP_ANSWERED;
    pc_address keys[API_MANY_MAX];
    pc_u256 ids[API_MANY_MAX];
    uint64_t counts[API_MANY_MAX];
    pc_signature sigs[API_MANY_MAX];
    size_t which[API_MANY_MAX];
    void *args[API_MANY_MAX];
    b->provider = c->caller;
    b->tokens = *in;
    for (size_t i = 0; i < in->n; i++) {
        json_t *meta = NULL;
        pc_error err;
        int rc = pc_payment_validate_prepare(c->s, &c->caller, &in->h[i], &in->want, &views[i],
                                             &meta, &err);
        api_batch_judged(&b->tokens, i, rc, &err, meta, &views[i].terms.cost_per_request);
    }
    size_t k = api_batch_offers(&b->tokens, keys, ids, counts, sigs, which);
    if (k == 0) { /* every token refused before the store: nothing to wait for */
        finish_validate_many(b, c->req, c->answer);
        return PC_HTTP_ANSWERED;
    }
    for (size_t j = 0; j < k; j++)
        args[j] = &b->items[which[j]];
    b->remaining = k;
    pc_http_suspend(c->req);
    pc_store_offer_counts_async(c->s->store, k, keys, ids, counts, sigs, batch_committed, args);
    return PC_HTTP_SUSPENDED;
}
