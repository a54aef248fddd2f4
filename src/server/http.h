/* http.h: paychand's HTTP side on libmicrohttpd, keep-alive, GET and POST
 * alike, in one of two modes:
 *  - threads: one thread per connection (MHD's own mode);
 *  - pool: one epoll event loop per core (a daemon each, sharing the port
 *    through SO_REUSEPORT: see ../shared/notes/measured-here.md for why not
 *    MHD's thread pool) that only move bytes; a complete request is taken
 *    off its loop (connection suspended) and run by a fixed pool of worker
 *    threads, which may block (durable writes), then the connection resumes
 *    and its loop sends the answer. Few threads compete for the cores
 *    however many connections are open.
 *
 * This module only moves requests and JSON answers; what the endpoints do
 * is in api.c. A request's parameters are its query arguments plus, for
 * POST, the fields of a JSON object body or a form body. */
#ifndef PAYCHAN_SERVER_HTTP_H
#define PAYCHAN_SERVER_HTTP_H

#include <jansson.h>

#include "core/error.h"

typedef struct pc_http pc_http;
typedef struct pc_http_request pc_http_request;

/* One answer: an HTTP status and a JSON body (reference owned by the answer). */
typedef struct pc_http_answer {
    unsigned status;
    json_t *body;
    const char *content_type; /* NULL = application/json; else body_raw is sent */
    char *body_raw;           /* malloc'ed; the answer owns it (freed once sent) */
    size_t body_raw_len;
} pc_http_answer;

/* Handles one complete request; must fill *answer. Called on the
 * connection's thread (threads mode) or a worker (pool mode), many at once;
 * it may block. */
typedef void (*pc_http_handler)(void *ctx, const pc_http_request *req, pc_http_answer *answer);

typedef enum pc_http_mode { PC_HTTP_THREADS, PC_HTTP_POOL } pc_http_mode;

typedef struct pc_http_options {
    pc_http_mode mode;
    int loops;   /* pool: event loops (0 = one per online core) */
    int workers; /* pool: worker threads running the handler (0 = 4 per loop) */
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

/* ---- reading a request (valid only during the handler call; in pool
 * mode the connection is suspended meanwhile, so MHD keeps its values) ---- */

/* "GET", "POST", ... */
const char *pc_http_method(const pc_http_request *req);

/* The path, percent-decoded, without the query string. */
const char *pc_http_path(const pc_http_request *req);

/* The request target exactly as sent: path and query string, undecoded
 * (what clients sign, spec §3). */
const char *pc_http_target(const pc_http_request *req);

/* A parameter (query argument, or field of the POST body), or NULL. */
const char *pc_http_param(const pc_http_request *req, const char *name);

/* A request header (case-insensitive name), or NULL. */
const char *pc_http_header(const pc_http_request *req, const char *name);

#endif
