/* upstream.h: paychan-proxy's calls to the services behind it (provider
 * side) and to the targets it pays (consumer side), with libcurl, on the
 * event loop of the request that makes them (pc_http_fetch): no call
 * blocks a thread.
 *
 * A call sends a buffered request; its owner is told once the answer can
 * be handed over: its header is in and its body either complete (a small
 * one is awaited, so that it goes out with the header in one write) or
 * long enough to be streamed, or the call failed. A streamed body goes to
 * the proxy's client as it arrives, with bounded memory: libcurl's write
 * callback fills a buffer of 256 KiB and pauses the transfer when it is
 * full; the answer's reader (on the same loop) drains it and unpauses it,
 * and when it has nothing yet the client's connection waits suspended
 * (pc_http_stream_wait) until bytes come, so a slow client slows the
 * upstream transfer down rather than filling memory, and a slow upstream
 * costs no busy loop. Connections are kept alive by each loop's curl
 * multi handle; easy handles are kept between calls. */
#ifndef PAYCHAN_PROXY_UPSTREAM_H
#define PAYCHAN_PROXY_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "http/http.h"

typedef struct pc_upstream pc_upstream;
typedef struct pc_upstream_call pc_upstream_call;

/* The calls' settings and idle handles. connect_ms bounds connecting,
 * header_ms the wait for the answer's header, and a body that stalls for
 * idle_s seconds is cut. NULL when out of memory. */
pc_upstream *pc_upstream_create(long connect_ms, long header_ms, long idle_s);

/* No call may be running. NULL is a no-op. */
void pc_upstream_destroy(pc_upstream *u);

/* Runs once per call, on the request's loop, when the answer can be handed
 * over or the call failed (pc_upstream_failed). It runs inside libcurl's
 * callbacks: it must only note the call and resume the request
 * (pc_http_resume), whose continuation then answers with the call. */
typedef void (*pc_upstream_ready)(void *arg, pc_upstream_call *c);

/* On req's loop, where pc_http_fetch may be called (req suspended):
 * sends `method url` with headers (lines "Name: value"; the call takes
 * the list over, also on failure) and body (len bytes, may be 0: it must
 * stay until the call is freed); ready(arg, call) follows once. NULL when
 * nothing could start (out of memory): then ready is not called. */
pc_upstream_call *pc_upstream_start(pc_upstream *u, pc_http_request *req, const char *method,
                                    const char *url, struct curl_slist *headers,
                                    const uint8_t *body, size_t len, pc_upstream_ready ready,
                                    void *arg);

/* After ready: 0 when the answer's header came, else 502 (cannot connect
 * or a broken answer) or 504 (no header in time) with the reason in
 * why[why_len]. */
unsigned pc_upstream_failed(const pc_upstream_call *c, char *why, size_t why_len);

/* The answer's status code. */
unsigned pc_upstream_status(const pc_upstream_call *c);

/* The body, when it is complete and at most max bytes (a 402's terms are
 * awaited whole up to 256 KiB), as a malloc'ed NUL-terminated *out (*len
 * bytes); else -1. */
int pc_upstream_read_all(pc_upstream_call *c, size_t max, char **out, size_t *len);

/* Hands the call over to *a: the status, the end-to-end headers (RFC 9110
 * §7.6.1: the hop-by-hop ones are dropped, pc_proxy_header_is_hop_by_hop)
 * and the body, whole when it is in, else streamed (Content-Length kept
 * when the upstream sent one, else chunked). The call belongs to the
 * answer from then on. */
void pc_upstream_answer(pc_upstream_call *c, const char *method, pc_http_answer *a);

/* Ends a call not handed over (a transfer still running is cut). NULL is
 * a no-op. */
void pc_upstream_free(pc_upstream_call *c);

/* 1 when header `name` is hop-by-hop for a message whose Connection header
 * is `connection` (may be NULL): the fixed list of RFC 9110 §7.6.1 plus
 * every name Connection lists, and Content-Length, which the proxy sets
 * itself. Case-insensitive. */
int pc_proxy_header_is_hop_by_hop(const char *name, const char *connection);

#endif
