/* api_loop.c: createSignatureHeaders and validateToken on an event loop
 * (http.h, pool mode), the two endpoints every paid request goes through.
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

#include "server/api_internal.h"

/* A request waiting for its durable write. */
typedef struct pending {
    pc_server *s;
    pc_http_request *req;
    pc_http_continue finish; /* runs on the loop once committed */
    pc_payment_headers h;
    pc_store_result r;
} pending;

/* Store writer thread: the write is durable (or failed); back to the loop. */
static void committed(void *arg, const pc_store_result *r)
{
    pending *p = arg;
    p->r = *r;
    pc_http_resume(p->req, p->finish, p);
}

static pending *pending_new(call *c, pc_http_continue finish)
{
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        api_fail_code(c, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
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
    pc_http_suspend(c->req);
    pc_store_offer_count_async(c->s->store, &p->h.mediator, &p->h.token_id, p->h.request_count,
                               &p->h.signature, committed, p);
    return PC_HTTP_SUSPENDED;
}
