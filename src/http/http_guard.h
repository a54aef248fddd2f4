/* http_guard.h: keeps paychand's HTTP side available under connection
 * floods (idle connects, slowloris, slow bodies). It counts every
 * connection before libmicrohttpd gets it, per client address and in
 * total, follows each one through its phases (idle, reading the header,
 * reading the body, busy in a handler) and closes the ones that break a
 * limit:
 *  - a phase deadline: a connection may stay idle for idle_timeout, must
 *    deliver its whole request header within header_timeout of its request
 *    line (however often it trickles bytes in) and its body within
 *    body_timeout; a thread checks the deadlines several times a second;
 *  - when a new connection would exceed the total or its address's limit,
 *    the connection that has been longest in its phase without being busy
 *    in a handler (of that address, or of all) is shed to make room: an
 *    idle or trickling one, while a client's request that just arrived is
 *    the newest; only when every one is busy is the new one refused (after
 *    waiting up to 200 ms for sheds in flight).
 * Busy connections (a handler running, or suspended while the store
 * commits) are never shed. Shedding is a shutdown() of the socket, done
 * under the guard's lock while libmicrohttpd still owns the descriptor (it
 * reports the close to us before closing it), so a descriptor number that
 * was reused is never touched.
 *
 * The guard also gives libmicrohttpd a connection limit it can never
 * reach: libmicrohttpd 0.9.75 (Debian 12) returns from new_connection_process_
 * at its limit with cleanup_connection_mutex still locked, and the loop
 * thread then blocks for good on that mutex (fixed upstream in commit
 * 67061d5c, first released in 1.0.0). */
#ifndef PAYCHAN_HTTP_HTTP_GUARD_H
#define PAYCHAN_HTTP_HTTP_GUARD_H

#include <sys/socket.h>

typedef struct pc_http_guard pc_http_guard;

typedef struct pc_http_limits {
    int max_connections;  /* in total; 0 = from the process's descriptor limit */
    int max_per_client;   /* per client IP address; 0 = max_connections */
    int idle_timeout_s;   /* no request under way; 0 = 60 */
    int header_timeout_s; /* from the request line to the end of the header; 0 = 10 */
    int body_timeout_s;   /* from the end of the header to the end of the body; 0 = 30 */
} pc_http_limits;

/* The phases of a connection, reported by the HTTP layer as they happen. */
typedef enum pc_http_phase {
    PC_HTTP_IDLE,   /* connected, or between two requests */
    PC_HTTP_HEADER, /* request line received, header not complete */
    PC_HTTP_BODY,   /* header complete, body not complete */
    PC_HTTP_BUSY,   /* the request is complete: its handler runs or its answer goes out */
    PC_HTTP_N_PHASES
} pc_http_phase;

/* Creates a guard with limits l (NULL = all defaults) and starts the thread
 * that enforces the deadlines. May raise the process's soft descriptor
 * limit to its hard limit. NULL when out of memory or threads. */
pc_http_guard *pc_http_guard_create(const pc_http_limits *l);

/* Stops the deadline thread and frees g (after the HTTP daemons stopped).
 * NULL is a no-op. */
void pc_http_guard_destroy(pc_http_guard *g);

/* A connection limit to give each libmicrohttpd daemon: above anything
 * the guard admits, so libmicrohttpd never reaches its own. */
unsigned pc_http_guard_mhd_limit(const pc_http_guard *g);

/* Called before a new connection from peer is handed to libmicrohttpd:
 * 1 = admitted (after shedding an older connection if a limit was
 * reached), counted until pc_http_guard_cancel or the close that follows
 * pc_http_guard_opened; 0 = refused (close it without handing it over). */
int pc_http_guard_admit(pc_http_guard *g, const struct sockaddr *peer);

/* An admitted connection that libmicrohttpd will never report (it refused
 * it): uncounts it. */
void pc_http_guard_cancel(pc_http_guard *g, const struct sockaddr *peer);

/* libmicrohttpd started the admitted connection from peer on socket fd
 * (phase idle). */
void pc_http_guard_opened(pc_http_guard *g, int fd, const struct sockaddr *peer);

/* libmicrohttpd is about to close socket fd: forgets it. */
void pc_http_guard_closed(pc_http_guard *g, int fd);

/* The connection on socket fd entered phase p (its deadline starts now). */
void pc_http_guard_phase(pc_http_guard *g, int fd, pc_http_phase p);

#endif
