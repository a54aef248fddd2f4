/* http.h: paychand's HTTP side on libmicrohttpd, keep-alive, GET and POST
 * alike, in one of two modes:
 *  - threads: one thread per connection (MHD's own mode);
 *  - pool: one epoll event loop per core, our own threads (loop.h: each
 *    drives a libmicrohttpd daemon from outside and a curl multi handle;
 *    an acceptor thread gives every connection to the least loaded loop;
 *    not MHD's thread pool: in 4 of 11 measured runs the pool put all 32
 *    connections on one worker). The handler runs on
 *    the loop when it can answer without blocking, or suspend the
 *    connection while another thread finishes (the hot endpoints wait for
 *    their durable write this way);
 *    otherwise the request is taken off its loop (connection suspended) and
 *    run by a fixed pool of worker threads, which may block. Few threads
 *    compete for the cores however many connections are open.
 *    With loops_block the handler runs on its loop and may block there
 *    (no hand-off to a worker and back: two thread wake-ups less per
 *    request), for servers whose requests mostly wait on other processes;
 *    a waiting request then delays the other connections of its loop, so
 *    such a server needs about as many loops as requests in flight.
 *    A handler on a loop may also call other HTTP servers without blocking
 *    (pc_http_fetch: the transfer runs on its loop's curl multi handle, a
 *    callback on the loop gets the result and resumes the request).
 *
 * In both modes every connection passes http_guard.h first (limits per
 * client address and in total, shedding of idle and slow connections,
 * deadlines for the header and the body), and requests libmicrohttpd would
 * leave hanging or answer with its own HTML page are refused early with
 * the API's JSON error (code 300): a Transfer-Encoding other than chunked
 * (501), a target over 8 KiB (414), a header over 16 KiB (431), a declared
 * body over 64 KiB (413; pc_http_options.max_body sets another bound).
 * Request bodies are buffered whole; answers may be streamed
 * (pc_http_answer.stream, for paychan-proxy).
 *
 * This module only moves requests and JSON answers; what the endpoints do
 * is in api.c. A request's parameters are its query arguments plus, for
 * POST, the fields of a JSON object body or a form body, decoded strictly
 * (params.h): a request with a malformed one is answered 400 (code 300)
 * before any handler runs. */
#ifndef PAYCHAN_HTTP_HTTP_H
#define PAYCHAN_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/runtime/error.h"
#include "http/http_guard.h"

typedef struct pc_http pc_http;
typedef struct pc_http_request pc_http_request;

/* A streamed answer body (for a proxy): read() fills buf with up to max
 * bytes of the body from offset pos and returns how many, 0 only while
 * nothing is available yet (on an event loop only after
 * pc_http_stream_wait, which keeps libmicrohttpd from calling it again
 * in a busy loop; in threads mode it may block instead),
 * PC_HTTP_STREAM_END at the end, PC_HTTP_STREAM_ERROR to cut the
 * connection (the client sees a truncated body). free(arg) runs once the
 * answer is done or dropped. In pool mode both run on the request's loop. */
#define PC_HTTP_STREAM_END (-1L)
#define PC_HTTP_STREAM_ERROR (-2L)
#define PC_HTTP_SIZE_UNKNOWN UINT64_MAX /* sent chunked (HTTP/1.1) */
typedef struct pc_http_stream {
    long (*read)(void *arg, uint64_t pos, char *buf, size_t max);
    void (*free)(void *arg);
    void *arg;
    uint64_t size; /* the body's length, or PC_HTTP_SIZE_UNKNOWN */
} pc_http_stream;

/* One answer: an HTTP status and a JSON body (reference owned by the answer). */
typedef struct pc_http_answer {
    unsigned status;
    json_t *body;
    const char *content_type; /* NULL = application/json; else body_raw is sent */
    char *body_raw;           /* malloc'ed; the answer owns it (freed once sent); set with
                                 content_type NULL: sent with no Content-Type added (one
                                 may be among headers) */
    size_t body_raw_len;
    pc_http_stream stream;    /* read set: the body is streamed (content_type may be NULL:
                                 then no Content-Type is added) */
    char **headers;           /* NULL or malloc'ed {name, value, ..., NULL} of malloc'ed
                                 strings: more response headers; the answer owns them */
    int code;                 /* an error answer's protocol code (0: none), for observers */
} pc_http_answer;

/* What a handler did with a request. */
typedef enum pc_http_step {
    PC_HTTP_ANSWERED,  /* *answer is filled: send it */
    PC_HTTP_SUSPENDED, /* it called pc_http_suspend; one pc_http_resume follows */
    PC_HTTP_BLOCKS     /* on a loop only: it would block; run it again on a worker */
} pc_http_step;

/* Handles one complete request. On a connection thread (threads mode) or a
 * pool worker it may block and must answer. On an event loop (pool mode,
 * pc_http_on_loop() = 1) it must not block: it answers, or suspends the
 * connection while something else finishes the work, or, before doing
 * anything with side effects, returns PC_HTTP_BLOCKS. Called many at once. */
typedef pc_http_step (*pc_http_handler)(void *ctx, pc_http_request *req, pc_http_answer *answer);

/* Runs on the request's event loop after pc_http_resume and fills *answer
 * (which is then sent); must not block. When the client went away meanwhile
 * it still runs once (so it can free arg), and the answer is dropped. */
typedef void (*pc_http_continue)(void *arg, pc_http_request *req, pc_http_answer *answer);

/* Called once per answered request, just before its answer is queued, on
 * the thread that sends it (a loop or a connection thread): the answer
 * (status, code, body) and the microseconds since the request line arrived. For metrics and access
 * logs; it must be cheap and must not block. Not called for requests the
 * client abandoned before their answer. */
typedef void (*pc_http_observer)(void *ctx, const pc_http_request *req,
                                 const pc_http_answer *answer, uint64_t micros);

typedef enum pc_http_mode { PC_HTTP_THREADS, PC_HTTP_POOL } pc_http_mode;

#define PC_HTTP_MAX_LOOPS 64 /* pool: more loops are cut to this many */

typedef struct pc_http_options {
    pc_http_mode mode;
    int loops;   /* pool: event loops (0 = one per online core) */
    int workers; /* pool: worker threads running the handler (0 = 4 per loop) */
    int loops_block; /* pool: 1 = run every handler on its loop, blocking allowed
                        (pc_http_on_loop() = 0; no workers) */
    pc_http_limits limits; /* connection limits and deadlines, both modes (0s = defaults) */
    int raw; /* 1: bodies are not decoded into parameters (any Content-Type, any
                bytes: for a proxy); pc_http_param then sees the query only as sent */
    size_t max_body; /* largest request body, buffered whole (0 = 64 KiB) */
    const char *const *structured_params; /* JSON body members that may be arrays or
                                             objects (params.h), NULL-terminated; NULL:
                                             none. Kept, not copied. */
    pc_http_observer observe; /* NULL: none */
    void *observe_ctx;
} pc_http_options;

/* Starts listening on address:port (0 = any free port) with opts (NULL =
 * threads mode). Fails when the port is taken, also in pool mode (whose
 * loops share it among themselves only). */
pc_http *pc_http_start(const char *address, int port, const pc_http_options *opts,
                       pc_http_handler handler, void *ctx, pc_error *err);

/* Stops accepting, lets requests in flight finish, joins the threads. */
void pc_http_stop(pc_http *h);

/* The port actually bound (useful with port 0). */
int pc_http_port(const pc_http *h);

/* Pool mode: the number of event loops of the server that received req,
 * and in open[i] (up to max) the connections each holds now. Threads
 * mode: 0. For /status. */
int pc_http_loop_connections(const pc_http_request *req, int *open, int max);

/* The connections open now (all loops; threads mode: those the guard
 * counts) and the requests suspended on a loop now, for metrics. */
int pc_http_open_connections(const pc_http *h);
int pc_http_suspended(const pc_http *h);

/* ---- running a request on an event loop --------------------------------------- */

/* 1 while the handler runs on an event loop (must not block), and in
 * continuations and pc_http_fetched callbacks (on the loop), else 0. */
int pc_http_on_loop(const pc_http_request *req);

/* On a loop: suspends the connection until pc_http_resume. The handler then
 * returns PC_HTTP_SUSPENDED and must make sure pc_http_resume is called
 * exactly once (from any thread, possibly before the handler returns). */
void pc_http_suspend(pc_http_request *req);

/* Resumes a suspended request: then(arg, ...) runs on its loop and answers,
 * or, like a handler, calls pc_http_suspend again (a request waiting on
 * several things in turn, some of them on other threads); then it
 * answers nothing now and one more pc_http_resume follows.
 * After this call req belongs to the loop again. */
void pc_http_resume(pc_http_request *req, pc_http_continue then, void *arg);

/* 1 in a continuation run for a request whose client went away (its
 * answer is dropped): it must only free what it holds, neither suspend
 * nor fetch. Else 0. */
int pc_http_abandoned(const pc_http_request *req);

/* Pool mode, in a pc_http_stream read on req's loop that has nothing to
 * send yet and returns 0: suspends the connection, so libmicrohttpd does
 * not call read again in a busy loop, until pc_http_stream_wake. */
void pc_http_stream_wait(pc_http_request *req);

/* Any thread: more of a stream's body is available (or its end): resumes
 * the connection of req waiting in pc_http_stream_wait, and read runs
 * again on its loop. A no-op when it is not waiting. */
void pc_http_stream_wake(pc_http_request *req);

/* Runs when a transfer started with pc_http_fetch ends, on the loop that
 * started it. result is curl's (CURLE_OK: an HTTP answer came, of any
 * status). easy is the caller's again (reuse it or clean it up). It may
 * start more fetches for the same request or pc_http_resume it; it must
 * not block. */
typedef void (*pc_http_fetched)(void *arg, CURL *easy, CURLcode result);

/* Pool mode, on the loop that owns req (in a handler while
 * pc_http_on_loop(req) = 1, in a pc_http_continue, or in a pc_http_fetched
 * callback of that loop): runs easy on the loop's curl multi handle without
 * blocking; done(arg, easy, result) follows exactly once, on this loop.
 * Connections are kept alive per loop. The handler must have called
 * pc_http_suspend(req) and return PC_HTTP_SUSPENDED; a done callback
 * resumes it eventually. Set CURLOPT_TIMEOUT_MS on easy (pc_http_stop
 * waits for fetches in flight). Returns 0, or -1 (threads mode, not on
 * req's loop, out of memory): then done is not called. */
int pc_http_fetch(pc_http_request *req, CURL *easy, pc_http_fetched done, void *arg);

/* A loop of pool mode, for transfers no request waits for (a cache filled
 * ahead of need). It lives until pc_http_stop, which waits for them. */
typedef struct pc_loop pc_http_loop;

/* The loop that runs req; NULL in threads mode. */
pc_http_loop *pc_http_request_loop(const pc_http_request *req);

/* On l's own thread (a handler, continuation or pc_http_fetched callback
 * of one of its requests): runs easy on l's curl multi handle like
 * pc_http_fetch, but for no request: done(arg, easy, result) follows
 * exactly once on l, whatever became of the request that started it.
 * Returns 0, or -1 (not on l's thread, out of memory): then done is not
 * called. */
int pc_http_loop_fetch(pc_http_loop *l, CURL *easy, pc_http_fetched done, void *arg);

/* ---- reading a request (valid during the handler call; in pool mode a
 * suspended connection keeps them until it resumes) ---- */

/* "GET", "POST", ... */
const char *pc_http_method(const pc_http_request *req);

/* The path, percent-decoded, without the query string. */
const char *pc_http_path(const pc_http_request *req);

/* The request target exactly as sent: path and query string, undecoded
 * (what clients sign, docs/protocol.md §3). */
const char *pc_http_target(const pc_http_request *req);

/* A parameter (query argument, or field of the POST body), or NULL. */
const char *pc_http_param(const pc_http_request *req, const char *name);

/* The body as received (*len bytes; NULL when empty), what a POST signs. */
const uint8_t *pc_http_body(const pc_http_request *req, size_t *len);

/* A request header (case-insensitive name), or NULL. */
const char *pc_http_header(const pc_http_request *req, const char *name);

/* Calls fn(ctx, name, value) for every request header, in the order sent;
 * stops early when fn returns nonzero. */
void pc_http_each_header(const pc_http_request *req,
                         int (*fn)(void *ctx, const char *name, const char *value), void *ctx);

#endif
