/* upstream.h: paychan-proxy's calls to the services behind it (provider
 * side) and to the targets it pays (consumer side), with libcurl.
 *
 * One call sends a buffered request and waits for the answer's status and
 * headers; its body is then either streamed to the proxy's client as it
 * arrives (pc_upstream_answer: pull mode, the thread serving the client's
 * connection - its event loop - drives libcurl whenever it needs more bytes, so a slow client slows the
 * upstream transfer down rather than filling memory) or read whole, up to a
 * bound (pc_upstream_read_all, for a 402's terms). Calls take their curl
 * handles from a pool of idle ones, each keeping its connections alive, so
 * a call reuses a connection as long as no more calls run at once than
 * before, with no lock held while curl looks for one. */
#ifndef PAYCHAN_PROXY_UPSTREAM_H
#define PAYCHAN_PROXY_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "http/http.h"

typedef struct pc_upstream pc_upstream;
typedef struct pc_upstream_call pc_upstream_call;

/* The pool of idle handles. connect_ms bounds connecting, header_ms the wait for
 * the answer's header, and a body that stalls for idle_s seconds is cut.
 * NULL when out of memory. */
pc_upstream *pc_upstream_create(long connect_ms, long header_ms, long idle_s);

/* No call may be running. NULL is a no-op. */
void pc_upstream_destroy(pc_upstream *u);

/* Sends `method url` with headers (lines "Name: value"; the call takes
 * the list over, also on failure) and body (len bytes, may be 0: it must
 * stay until the call is freed), and waits for the answer's header. NULL on
 * failure, with *status 502 (cannot connect or a broken answer) or 504 (no
 * header in time) and the reason in why[why_len]. */
pc_upstream_call *pc_upstream_start(pc_upstream *u, const char *method, const char *url,
                                    struct curl_slist *headers, const uint8_t *body,
                                    size_t len, unsigned *status, char *why, size_t why_len);

/* The answer's status code. */
unsigned pc_upstream_status(const pc_upstream_call *c);

/* Reads the rest of the body into a malloc'ed NUL-terminated *out (*len
 * bytes); -1 when it is longer than max or the transfer fails. */
int pc_upstream_read_all(pc_upstream_call *c, size_t max, char **out, size_t *len);

/* Hands the call over to *a: the status, the end-to-end headers (RFC 9110
 * §7.6.1: the hop-by-hop ones are dropped, pc_proxy_header_is_hop_by_hop)
 * and the body, streamed (Content-Length kept when the upstream sent one,
 * else chunked). The call belongs to the answer from then on. For a
 * pc_http whose handlers may block (threads mode, or pool mode with
 * loops_block): the stream waits for the upstream's bytes. */
void pc_upstream_answer(pc_upstream_call *c, const char *method, pc_http_answer *a);

/* Ends a call not handed over. NULL is a no-op. */
void pc_upstream_free(pc_upstream_call *c);

/* 1 when header `name` is hop-by-hop for a message whose Connection header
 * is `connection` (may be NULL): the fixed list of RFC 9110 §7.6.1 plus
 * every name Connection lists, and Content-Length, which the proxy sets
 * itself. Case-insensitive. */
int pc_proxy_header_is_hop_by_hop(const char *name, const char *connection);

#endif
