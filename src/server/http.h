/* http.h: paychand's HTTP side on libmicrohttpd, thread per connection
 * (connections spread over all cores; see ../shared/notes/measured-here.md
 * for why not MHD's thread pool), keep-alive, GET and POST alike.
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
 * connection's thread, many at once. */
typedef void (*pc_http_handler)(void *ctx, const pc_http_request *req, pc_http_answer *answer);

/* Starts listening on address:port. */
pc_http *pc_http_start(const char *address, int port, pc_http_handler handler, void *ctx,
                       pc_error *err);

/* Stops accepting, lets requests in flight finish, joins the threads. */
void pc_http_stop(pc_http *h);

/* The port actually bound (useful with port 0). */
int pc_http_port(const pc_http *h);

/* ---- reading a request (valid only during the handler call) ---- */

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
