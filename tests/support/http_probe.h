/* http_probe.h (test support): one HTTP request with everything a test of
 * the HTTP layer itself needs to choose (method, raw headers, body, source
 * address, timeout), always on a fresh connection, timed. Bodies are read
 * by libcurl; nothing here parses HTTP. */
#ifndef PAYCHAN_TESTS_SUPPORT_HTTP_PROBE_H
#define PAYCHAN_TESTS_SUPPORT_HTTP_PROBE_H

#include <stddef.h>

#include "support/paychand.h"
#include "support/payclient.h"

typedef struct pc_test_probe {
    const char *method;          /* NULL = GET */
    const char *url;             /* full URL */
    const char *const *headers;  /* "Name: value" lines, NULL-terminated (NULL = none) */
    const char *body;            /* sent as is when not NULL (POST) */
    const char *source;          /* local address to connect from (NULL = any) */
    long timeout_ms;             /* 0 = 10 s */
} pc_test_probe;

/* Sends p on a new connection and fills *out (status 0 when no answer came
 * in time; free with pc_test_reply_free) and, if not NULL, *elapsed_ms.
 * Returns 0 when an HTTP answer came, else -1. */
int pc_test_probe_send(const pc_test_probe *p, pc_test_reply *out, double *elapsed_ms);

/* Starts the paychand `binary` (NULL = $PAYCHAN_PAYCHAND) on node_url,
 * serving dev account 1 (dev mode), with the
 * extra arguments `more` (NULL-terminated, may be NULL); name labels its
 * log. NULL on failure (printed). */
pc_test_paychand *pc_test_probe_server_start(const char *binary, const char *name,
                                             const char *node_url, const char *const *more);

/* Raises this process's soft descriptor limit to its hard limit (children
 * started afterwards inherit it) and returns the new soft limit. */
long pc_test_raise_fd_limit(void);

#endif
