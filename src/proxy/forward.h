/* forward.h: what both sides of paychan-proxy do with a request they pass
 * on: the header lines that go upstream (end-to-end headers only, payment
 * headers removed), the upstream call on the request's loop with its
 * errors, answers given later from a loop callback, and the JSON error
 * answers in the protocol's shape ({"name", "code", "message"}). */
#ifndef PAYCHAN_PROXY_FORWARD_H
#define PAYCHAN_PROXY_FORWARD_H

#include <curl/curl.h>

#include "http/http.h"
#include "proxy/upstream.h"

/* paychan-proxy's own error codes (the protocol's are below 600, libpaychan's 600-606). */
#define PX_E_NO_ROUTE 404           /* the protocol's "not found" */
#define PX_E_UPSTREAM 610           /* the upstream is unreachable or failed (502 / 504) */
#define PX_E_NOT_ALLOWED 611        /* consumer: the target is not allow-listed (403) */
#define PX_E_COST_ABOVE_MAX 612     /* consumer: its 402 asks more than the maximum (402) */
#define PX_E_SPEND_LIMIT 613        /* consumer: the target's maximum spend is reached (402) */
#define PX_E_BAD_TERMS 614          /* consumer: a 402 without usable terms (502) */

/* The request's header lines for the upstream: every end-to-end header
 * but Host and the payment headers (x-pay-*, x-paychan-consumer: a client
 * must never be able to name the payer), then `extra` lines (NULL-
 * terminated, may be NULL). Blocks curl's own defaults (Expect,
 * Content-Type, Accept) the client did not send. NULL when out of memory. */
struct curl_slist *px_upstream_headers(const pc_http_request *req, const char *const *extra);

/* What a side does with the upstream's answer, in a continuation on the
 * request's loop: c is its own (px_forward_answer, or free it), NULL when
 * the client went away (pc_http_abandoned(req): then it only frees). It
 * may suspend req again (pc_http_resume follows later). */
typedef void (*px_forwarded)(void *arg, pc_http_request *req, pc_upstream_call *c,
                             pc_http_answer *a);

/* On req's loop, req suspended or about to be (the handler returns
 * PC_HTTP_SUSPENDED after a 0): sends req (its method and buffered body)
 * to url with headers (taken over); once the answer is in, req is resumed
 * and the answer goes back as it is (done NULL) or to done(arg, ...).
 * label names the target in error messages (NULL: none). 0, or -1 when
 * nothing started: *a is then 500, done is not called. */
int px_forward(pc_upstream *u, pc_http_request *req, const char *url,
               struct curl_slist *headers, const char *label, px_forwarded done, void *arg,
               pc_http_answer *a);

/* Answers with c: handed over, or when the call failed 502 or 504 with
 * code PX_E_UPSTREAM (the message prefixed with "target label: "). */
void px_forward_answer(pc_http_request *req, pc_upstream_call *c, const char *label,
                       pc_http_answer *a);

/* Resumes the suspended req with *a as its answer (taken over; *a is
 * cleared), from any thread. */
void px_answer_later(pc_http_request *req, pc_http_answer *a);

/* *a = status with {"name": name, "code": code, "message": message}. */
void px_error(pc_http_answer *a, unsigned status, int code, const char *name,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A copy of text (or NULL) as a new answer header list {name, text, NULL}. */
char **px_one_header(const char *name, const char *text);

#endif
