/* http_internal.h: the HTTP layer's private structures (the server and a
 * request), shared by http.c (the daemon, the acceptor, answering) and
 * request.c (what handlers call on a request: reading it, suspending and
 * resuming it, fetching on its loop). Not used outside src/http. */
#ifndef PAYCHAN_HTTP_HTTP_INTERNAL_H
#define PAYCHAN_HTTP_HTTP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "core/encoding/bytes.h"
#include "http/http.h"
#include "http/loop.h"

#define MAX_BODY (64 * 1024)
#define MAX_TARGET (8 * 1024)   /* below libmicrohttpd's buffer, so our 414 comes first */
#define MAX_HEADER (16 * 1024)  /* likewise for 431 */
#define MHD_BUFFER (32 * 1024)  /* libmicrohttpd's per-connection memory (its default) */
#define MAX_LOOPS PC_HTTP_MAX_LOOPS
#define WORKERS_PER_LOOP 4

/* What a daemon's connection callbacks get: the server and which loop. */
typedef struct loop_ref {
    pc_http *h;
    int index;
} loop_ref;

struct pc_http {
    struct MHD_Daemon *daemons[MAX_LOOPS];
    pc_loop *loops[MAX_LOOPS]; /* pool mode: the thread driving each daemon */
    loop_ref refs[MAX_LOOPS];
    pc_http_guard *guard; /* connection limits and deadlines */
    int n_daemons;
    pc_http_handler handler;
    void *ctx;
    int port;
    /* pool mode: complete requests waiting for a worker (FIFO), under qlock */
    int pool;
    int loops_block; /* pool: handlers run (and may block) on their loop; no workers */
    pthread_mutex_t qlock;
    pthread_cond_t work;
    pc_http_request *head, *tail;
    int stopping; /* no more queuing: requests are answered on their loop */
    pthread_t *workers;
    int n_workers;
    int suspended;        /* loop requests suspended by their handler (atomic: no lock
                             on the hot path) */
    /* pool mode: our listening socket and the thread that accepts on it */
    int listen_fd;
    pthread_t acceptor;
    int acceptor_started, closing;
    int open[MAX_LOOPS]; /* open connections per loop (atomic) */
    int raw;             /* bodies are not decoded (pc_http_options.raw) */
    int curl_inited;     /* pool: curl_global_init done, for pc_http_fetch */
    size_t max_body;
    const char *const *structured_params; /* pc_http_options.structured_params */
    pc_http_observer observe; /* NULL: none (pc_http_options) */
    void *observe_ctx;
};

struct pc_http_request {
    struct MHD_Connection *conn;
    char *target;          /* raw request target */
    const char *method;
    const char *path;
    int started;           /* the access handler was called once */
    int on_loop;           /* the handler is running on an event loop */
    int resumed;           /* pc_http_resume ran: answer on the next call */
    int in_handler;        /* pool: the handler runs on the loop now (loop thread only) */
    int suspend_deferred;  /* pc_http_suspend in the handler: MHD not told yet */
    int resumed_in_handler; /* ...and resumed on the loop before the handler returned */
    pc_http *http;
    int loop;              /* pool: the index of its loop */
    pc_loop_waiter resume; /* pool: its place in the loop's resume queue */
    int stream_waiting;    /* pc_http_stream_wait: suspended until woken (atomic) */
    int abandoned;         /* the client went away: the continuation only frees */
    pc_http_continue then; /* set by pc_http_resume (may be NULL): runs on the loop first */
    void *then_arg;
    size_t body_len;       /* bytes received so far */
    int body_too_large;
    pc_bytes body;         /* the body as received (signed, protocol §3) */
    json_t *params;        /* query and body, decoded once complete (params.h) */
    int params_parsed;
    uint64_t started_ns;   /* monotonic time the request line arrived, for observe */
    pc_http_answer answer; /* pool: the worker's answer, until sent */
    pc_http_request *next; /* pool: in the queue */
};

#endif
