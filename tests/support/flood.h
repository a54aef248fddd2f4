/* flood.h (test support): a connection flood against a local server, run
 * by a thread of the test process: thousands of TCP connections, idle or
 * slowloris (a request line, then one header line every interval, never
 * ending the header), optionally reopened when the server closes them, from
 * one or several local source addresses (127.0.0.x: bound before connect,
 * so the server sees distinct clients). */
#ifndef PAYCHAN_TESTS_SUPPORT_FLOOD_H
#define PAYCHAN_TESTS_SUPPORT_FLOOD_H

typedef struct pc_test_flood pc_test_flood;

typedef struct pc_test_flood_options {
    int port;                     /* the server, on 127.0.0.1 */
    int connections;              /* how many to hold open */
    const char *const *sources;   /* source addresses, used in turn; NULL-terminated
                                     (NULL = "127.0.0.1") */
    int slowloris_ms;             /* 0 = idle connections; else a header line every this */
    int reopen_per_s;             /* reopen closed connections at up to this rate (0 = never) */
} pc_test_flood_options;

typedef struct pc_test_flood_stats {
    int open;             /* connected now */
    long opened;          /* connections established so far */
    long closed_by_server;
    long failed;          /* connects that failed */
} pc_test_flood_stats;

/* Opens the connections and starts the thread that keeps them going; waits
 * until every first connect has completed or failed (at most 30 s). NULL
 * on failure (printed). */
pc_test_flood *pc_test_flood_start(const pc_test_flood_options *o);

/* A snapshot of the counters. */
pc_test_flood_stats pc_test_flood_stats_now(pc_test_flood *f);

/* Stops the thread and closes every connection. NULL is a no-op. */
void pc_test_flood_stop(pc_test_flood *f);

#endif
