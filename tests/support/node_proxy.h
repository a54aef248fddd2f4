/* node_proxy.h (test support): a JSON-RPC proxy in front of a real node
 * (anvil) whose behaviour a test switches at run time, to see what paychand
 * does with a misbehaving node: answer normally, hang (accept the request,
 * never answer), answer slowly, or answer a huge body. It also counts the
 * requests it forwards, per method, for the idle-traffic benchmark.
 *
 * It runs inside the test process: libmicrohttpd with a thread per
 * connection on 127.0.0.1 (a hung request holds only its own thread),
 * libcurl towards the node. */
#ifndef PAYCHAN_TESTS_SUPPORT_NODE_PROXY_H
#define PAYCHAN_TESTS_SUPPORT_NODE_PROXY_H

#include <stddef.h>
#include <stdint.h>

typedef struct pc_test_node_proxy pc_test_node_proxy;

typedef enum pc_test_node_mode {
    PC_TEST_NODE_PASS, /* forward and answer */
    PC_TEST_NODE_HANG, /* read the request, answer nothing until the mode changes (or stop),
                          then drop the connection: a hung request never reaches the node */
    PC_TEST_NODE_SLOW, /* wait delay_ms, then forward and answer */
    PC_TEST_NODE_HUGE  /* answer a valid JSON-RPC result of huge_bytes, streamed (no length) */
} pc_test_node_mode;

/* Starts a proxy towards upstream_url on a free port. NULL after printing why. */
pc_test_node_proxy *pc_test_node_proxy_start(const char *upstream_url);

/* "http://127.0.0.1:PORT" (owned by p). */
const char *pc_test_node_proxy_url(const pc_test_node_proxy *p);

/* Switches the behaviour for requests from now on (and releases hung ones
 * when the mode leaves HANG). `method` limits it to one JSON-RPC method
 * (NULL = all; the others are forwarded). arg: delay_ms for SLOW,
 * huge_bytes for HUGE, ignored otherwise. */
void pc_test_node_proxy_set(pc_test_node_proxy *p, pc_test_node_mode mode, const char *method,
                            uint64_t arg);

/* Requests received so far: all of them (method NULL) or of one method. */
uint64_t pc_test_node_proxy_count(pc_test_node_proxy *p, const char *method);

/* Sets every count back to zero. */
void pc_test_node_proxy_reset_counts(pc_test_node_proxy *p);

/* Prints the count per method to `out` as "method count" lines. */
void pc_test_node_proxy_print_counts(pc_test_node_proxy *p, void *out_file);

/* Releases hung requests, stops the proxy and frees it. NULL is a no-op. */
void pc_test_node_proxy_stop(pc_test_node_proxy *p);

#endif
