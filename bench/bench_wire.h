/* bench_wire: the socket side of bench_paychand's load loop. One keep-alive
 * HTTP/1.1 connection to a paychand that sends request bytes built in
 * advance and reads back answers carrying Content-Length (all of paychand's
 * do). Deliberately not a general HTTP client: no chunked bodies, no
 * redirects, no pipelining; anything else is reported as unreadable, which
 * makes a benchmark run invalid. */
#ifndef PAYCHAN_BENCH_WIRE_H
#define PAYCHAN_BENCH_WIRE_H

#include <stddef.h>
#include <sys/socket.h>

/* Where the load goes: the server's address and the Host header's value. */
typedef struct wire_server {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[300];
} wire_server;

/* What the load loop needs of an answer's head. */
typedef struct wire_head {
    long status;      /* from the status line */
    size_t head_len;  /* bytes up to and including the blank line */
    size_t total;     /* head_len + Content-Length */
    int close;        /* Connection: close (the server ends the connection) */
} wire_head;

/* Resolves url ("http://HOST[:PORT]", no path; parsed by libcurl) into srv.
 * Returns 0, or -1 if the URL is not of that form or the host does not resolve. */
int wire_resolve(const char *url, wire_server *srv);

/* Connects to srv (blocking), then makes the socket non-blocking with
 * TCP_NODELAY and adds it to the epoll set ep for EPOLLIN with data.ptr =
 * tag. Returns the socket, or -1 (nothing left open). */
int wire_connect(const wire_server *srv, int ep, void *tag);

/* Sends bytes[*sent .. len) on the non-blocking socket fd until done or the
 * socket is full, advancing *sent. Returns 0 (check *sent < len for "more
 * to send"), or -1 if the connection broke. Never raises SIGPIPE. */
int wire_send(int fd, const char *bytes, size_t len, size_t *sent);

/* Reads the head of an answer from buf[0..len), which must be
 * NUL-terminated at buf[len]. Returns 1 when the whole answer is there
 * (h filled; len may exceed h->total only if the server sent more), 0 when
 * more must come, -1 when it is not an answer this reader can handle: no
 * "HTTP/1.1" status line, no Content-Length, or longer than cap bytes. */
int wire_read_head(const char *buf, size_t len, size_t cap, wire_head *h);

#endif
