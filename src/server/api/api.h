/* api.h: the REST API of docs/protocol.md §4 on top of http.h: routing, request
 * authentication (auth.h), parameter parsing, the endpoints, and errors as
 * JSON {"name", "code", "message", "metadata"?} with the protocol's statuses
 * (412 protocol, 500 chain or internal, 503 node unreachable; 400 for a
 * malformed parameter, 404 for an unknown path). */
#ifndef PAYCHAN_SERVER_API_H
#define PAYCHAN_SERVER_API_H

#include <stddef.h>

#include "http/http.h"
#include "server/server.h"

/* One route of the REST API, as the router matches it. */
typedef struct pc_api_route {
    const char *path;     /* template: "/contracts/{mediator}/funds"; "{x}" is one path
                             segment, a final "{file}" the rest of the path */
    int authenticated;    /* 1: the caller authenticates (docs/protocol.md §3) */
    int needs_visualizer; /* 1: served only with --visualizer */
} pc_api_route;

/* The methods every route answers, NULL-terminated (others: 405). */
extern const char *const pc_api_methods[];

/* The JSON body members that may hold an array (pc_http_options.
 * structured_params): POST /validateTokens' "tokens". NULL-terminated. */
extern const char *const pc_api_structured_params[];

/* The i-th route of the router's own table (GET and POST each), NULL past
 * the last: the one source of the served routes (docs/openapi.yaml is
 * checked against it). */
const pc_api_route *pc_api_route_at(size_t i);

/* The pc_http_handler of paychand; ctx is the pc_server. On an event loop
 * it serves createSignatureHeaders and validateToken (also their
 * several-token forms) itself when nothing they need can block, and hands
 * everything else to a worker. */
pc_http_step pc_api_handle(void *ctx, pc_http_request *req, pc_http_answer *answer);

/* The pc_http_observer of paychand (ctx: the pc_server): counts the
 * request for /metrics (metrics.h) and writes the access log line
 * (--access-log). */
void pc_api_observe(void *ctx, const pc_http_request *req, const pc_http_answer *answer,
                    uint64_t micros);

/* The number of routes (pc_api_route_at). */
size_t pc_api_route_count(void);

#endif
