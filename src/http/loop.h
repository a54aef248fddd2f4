/* loop.h: one event loop thread of http.c's pool mode. One job: an epoll
 * loop running one libmicrohttpd daemon (external epoll mode) and one curl
 * multi handle (created on the first fetch), both in the loop's epoll set.
 *
 * libmicrohttpd 0.9.75 cannot wake an external loop for work it creates
 * itself (no ITC without its own thread; MHD_get_timeout ignores pending
 * resumes), so everything that touches the daemon happens on the loop
 * thread, in this order each pass (docs/benchmarks.md, "The stall
 * explained"): epoll_wait, add the connections the acceptor queued, resume
 * what other threads queued, drive curl and run its completions, then
 * MHD_run last (again while a callback resumed something), then sleep
 * exactly MHD_get_timeout, capped by curl's deadline. Other threads only
 * queue and write the loop's eventfd. */
#ifndef PAYCHAN_HTTP_LOOP_H
#define PAYCHAN_HTTP_LOOP_H

#include <sys/socket.h>

#include <curl/curl.h>
#include <microhttpd.h>

typedef struct pc_loop pc_loop;

/* A connection waiting to be resumed by its loop; lives in the caller's
 * per-request state, so queuing a resume never allocates (never fails). */
typedef struct pc_loop_waiter {
    struct MHD_Connection *conn;
    struct pc_loop_waiter *next;
} pc_loop_waiter;

/* Runs when a handed-over socket was not taken (closed): on the loop when
 * MHD_add_connection refused it, in pc_loop_add when out of memory; so the
 * caller can undo its bookkeeping for peer. Thread-safe, cheap. */
typedef void (*pc_loop_add_failed)(void *ctx, const struct sockaddr *peer);

/* Ends a transfer started with pc_loop_fetch, on the loop (see http.h's
 * pc_http_fetched). */
typedef void (*pc_loop_fetched)(void *arg, CURL *easy, CURLcode result);

/* Starts a loop thread named name driving d, a daemon started with
 * MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_SUSPEND_RESUME.
 * NULL on failure (d is left to the caller). */
pc_loop *pc_loop_start(struct MHD_Daemon *d, const char *name, pc_loop_add_failed failed,
                       void *ctx);

/* Stops the loop once nothing is pending: no queued resume, no fetch in
 * flight, no MHD work due now (fetches end by their own timeouts). Joins
 * the thread and frees the loop; the daemon is the caller's to stop after
 * (no thread drives it any more). NULL is ignored. */
void pc_loop_stop(pc_loop *l);

/* Any thread: hands the accepted socket fd (non-blocking) to the loop,
 * which calls MHD_add_connection on its own thread. */
void pc_loop_add(pc_loop *l, int fd, const struct sockaddr *peer, socklen_t len);

/* Any thread: resumes r->conn (suspended on this loop's daemon). On the
 * loop thread at once (the pass runs MHD again); elsewhere queued, and the
 * loop is woken. r must stay valid until the loop resumed it. */
void pc_loop_resume(pc_loop *l, pc_loop_waiter *r, struct MHD_Connection *conn);

/* 1 when called on l's own thread. */
int pc_loop_is_current(const pc_loop *l);

/* On l's thread only: runs easy on the loop's curl multi handle; done
 * follows exactly once, on this loop. 0, or -1 (out of memory, curl refused
 * the handle): then done is not called. */
int pc_loop_fetch(pc_loop *l, CURL *easy, pc_loop_fetched done, void *arg);

#endif
