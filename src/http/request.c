/* request.c: what a handler does with its request (http.h): read it,
 * suspend and resume it, and run outgoing calls on its loop. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "http/http_internal.h"

/* ---- handlers suspending on a loop --------------------------------------------------- */

int pc_http_on_loop(const pc_http_request *req)
{
    return req->on_loop;
}

/* A handler that suspends often finishes at once: the store committed
 * inline, or a cache answered. So while the handler runs on its loop, the
 * suspension is only noted; a resume on the loop before the handler
 * returns answers the request right away, and MHD is never told (no
 * suspend and resume, two epoll_ctl calls and a pass of the loop saved).
 * Otherwise MHD suspends the connection when the handler returns, still
 * on the loop thread, before any queued resume can run. */
void pc_http_suspend(pc_http_request *req)
{
    __atomic_add_fetch(&req->http->suspended, 1, __ATOMIC_ACQ_REL);
    if (req->in_handler)
        req->suspend_deferred = 1;
    else
        MHD_suspend_connection(req->conn);
}

void pc_http_resume(pc_http_request *req, pc_http_continue then, void *arg)
{
    pc_http *h = req->http;
    req->then = then;
    req->then_arg = arg;
    /* the loop's own thread first: only it may read in_handler and
     * suspend_deferred, which it writes (another thread's resume is queued) */
    if (h->loops[req->loop] && pc_loop_is_current(h->loops[req->loop]) && req->in_handler &&
        req->suspend_deferred) { /* see pc_http_suspend */
        req->resumed_in_handler = 1;
        __atomic_sub_fetch(&h->suspended, 1, __ATOMIC_ACQ_REL);
        return;
    }
    req->resumed = 1;
    /* from here on the loop owns req; MHD resumes it on the loop's thread only */
    if (h->loops[req->loop])
        pc_loop_resume(h->loops[req->loop], &req->resume, req->conn);
    else /* threads mode: MHD's own threads */
        MHD_resume_connection(req->conn);
    __atomic_sub_fetch(&h->suspended, 1, __ATOMIC_ACQ_REL); /* after: stop waits for both */
}

int pc_http_abandoned(const pc_http_request *req)
{
    return req->abandoned;
}

/* ---- streamed answers waiting for their next bytes ------------------------------------- */

/* libmicrohttpd calls a content reader that returned 0 again on every
 * pass of the loop: a suspended connection is left alone until resumed. */
void pc_http_stream_wait(pc_http_request *req)
{
    if (__atomic_exchange_n(&req->stream_waiting, 1, __ATOMIC_ACQ_REL))
        return;
    __atomic_add_fetch(&req->http->suspended, 1, __ATOMIC_ACQ_REL);
    MHD_suspend_connection(req->conn);
}

void pc_http_stream_wake(pc_http_request *req)
{
    pc_http *h = req->http;
    if (!__atomic_exchange_n(&req->stream_waiting, 0, __ATOMIC_ACQ_REL))
        return;
    if (h->loops[req->loop])
        pc_loop_resume(h->loops[req->loop], &req->resume, req->conn);
    else
        MHD_resume_connection(req->conn);
    __atomic_sub_fetch(&h->suspended, 1, __ATOMIC_ACQ_REL);
}

/* A fetch in flight: whose, and whom to tell. */
typedef struct fetch_call {
    pc_http_request *req;
    pc_http_fetched done;
    void *arg;
} fetch_call;

static void on_fetched(void *arg, CURL *easy, CURLcode result)
{
    fetch_call call = *(fetch_call *)arg;
    free(arg);
    int was = call.req->on_loop; /* req lives on: a resume takes effect in MHD_run */
    call.req->on_loop = 1;
    call.done(call.arg, easy, result);
    call.req->on_loop = was;
}

int pc_http_fetch(pc_http_request *req, CURL *easy, pc_http_fetched done, void *arg)
{
    pc_loop *l = req->http->loops[req->loop];
    fetch_call *call = malloc(sizeof *call);
    if (!l || !call || !pc_loop_is_current(l))
        return free(call), -1;
    *call = (fetch_call){req, done, arg};
    if (pc_loop_fetch(l, easy, on_fetched, call) != 0)
        return free(call), -1;
    return 0;
}

pc_http_loop *pc_http_request_loop(const pc_http_request *req)
{
    return req->http->loops[req->loop]; /* NULL in threads mode */
}

int pc_http_loop_fetch(pc_http_loop *l, CURL *easy, pc_http_fetched done, void *arg)
{
    return l && pc_loop_is_current(l) ? pc_loop_fetch(l, easy, done, arg) : -1;
}

/* ---- request accessors ------------------------------------------------------------------ */

const char *pc_http_method(const pc_http_request *req) { return req->method; }
const char *pc_http_path(const pc_http_request *req) { return req->path; }
const char *pc_http_target(const pc_http_request *req) { return req->target; }

const char *pc_http_param(const pc_http_request *req, const char *name)
{
    return json_string_value(json_object_get(req->params, name));
}

const uint8_t *pc_http_body(const pc_http_request *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data;
}

const char *pc_http_header(const pc_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

typedef struct each_header_ctx {
    int (*fn)(void *ctx, const char *name, const char *value);
    void *ctx;
} each_header_ctx;

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    each_header_ctx *e = cls;
    return e->fn(e->ctx, key, value ? value : "") ? MHD_NO : MHD_YES;
}

void pc_http_each_header(const pc_http_request *req,
                         int (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
    each_header_ctx e = {fn, ctx};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, each_header, &e);
}
