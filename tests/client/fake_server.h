/* fake_server.h (client tests): stand-ins for a Payment Server, so that
 * libpaychan can be tested without a chain.
 *
 * fake_server is a real HTTP server (libmicrohttpd, keep-alive, on a free
 * local port) answering canned replies by path prefix and recording every
 * request it gets: the raw target and the x-pay-* headers, so a test can
 * check what the library sent and how it signed it. The raw-socket helpers
 * play a server that is down (closed port), slow (accepts and never
 * answers) or not HTTP at all (answers fixed bytes). */
#ifndef PAYCHAN_TESTS_CLIENT_FAKE_SERVER_H
#define PAYCHAN_TESTS_CLIENT_FAKE_SERVER_H

#include <stddef.h>

typedef struct fake_server fake_server;

/* One recorded request (strings empty when the header was absent). */
typedef struct fake_request {
    char target[2048];
    char sender[64];
    char timestamp[64];
    char signature[160];
    char mac[80];
} fake_request;

/* Starts a server; NULL on failure. Requests no reply matches get 404
 * with the protocol's error object (code 404). */
fake_server *fake_start(void);

/* "http://127.0.0.1:PORT" (owned by f). */
const char *fake_url(const fake_server *f);

/* Answers requests whose path starts with prefix with status and body
 * (copied). times = 0: always; otherwise the next `times` matches only.
 * Replies are tried in the order they were added. At most 32. */
void fake_reply(fake_server *f, const char *prefix, int status, const char *body, int times);

/* Number of requests / TCP connections seen so far. */
size_t fake_request_count(fake_server *f);
size_t fake_connection_count(fake_server *f);

/* Copy of request i (0-based, in arrival order; i < fake_request_count). */
void fake_request_at(fake_server *f, size_t i, fake_request *out);

/* Stops the server and frees f. NULL is a no-op. */
void fake_stop(fake_server *f);

/* ---- raw sockets -------------------------------------------------------------------------- */

/* A local port nothing listens on (bound once, then closed). -1 on failure. */
int fake_closed_port(void);

/* A listening socket that never accepts: connections complete in the
 * kernel's backlog, and no answer ever comes. *port receives its port.
 * Returns the socket (close it when done), or -1. */
int fake_silent_listener(int *port);

typedef struct fake_raw fake_raw;

/* A server that reads each request's head and answers `bytes` (len bytes)
 * verbatim, then closes the connection. NULL on failure. */
fake_raw *fake_raw_start(const char *bytes, size_t len);
int fake_raw_port(const fake_raw *r);
void fake_raw_stop(fake_raw *r);

#endif
