/* network.h (test support): the example network of docs/protocol.md §8 with payment
 * (the seed's scenario c) started for real for one test program, on free
 * ports:
 *
 *   anvil (instant mining, chain id 31337)
 *   paychand "providers" serving persistence-service and random-nr-service
 *   paychand "public" serving public-service (the consumer)
 *   persistence-service, random-nr-service, public-service
 *
 * wired together by the services' environment variables (seed names:
 * PAYMENT_SERVER_URL, PERSISTENCE_SERVICE_URL, ...), as deploy/scenarios.json
 * does with fixed ports. Everyone uses the committed dev keystores of
 * devnet/dev-only (the devnet mnemonic); those accounts are funded on the
 * test's anvil with anvil_setBalance. The Mediator timeouts are short
 * (default 8 s termination, 4 s token redemption, given to all three
 * services) and the Payment Servers run their duties every 200 ms, so that
 * redemption, payout and termination finish within seconds of real time.
 *
 * The network carries a pc_itest view (integration.h) whose account slots
 * hold the network's roles, so the chain helpers of integration.h work on
 * it (pc_itest_state, pc_itest_balance, pc_itest_fees_since,
 * pc_itest_wait_events, pc_itest_sign_token, pc_itest_get, ...):
 *
 *   PC_NET_ACC_OUTSIDER    = IT_DEPLOYER  anvil's dev account 0: no part of the network
 *   PC_NET_ACC_PUBLIC      = IT_CONSUMER  public-service, client to the "public" paychand
 *   PC_NET_ACC_PERSISTENCE = IT_PROVIDER  persistence-service, client to "providers"
 *   PC_NET_ACC_RANDOM      = IT_STRANGER  random-nr-service, client to "providers"
 *
 * Never pass the view to pc_itest_stop: pc_test_network_stop frees it.
 * Start the network from the main thread (cmocka group setup): the children
 * die with the thread that started them. Whatever is still running is
 * stopped at exit. */
#ifndef PAYCHAN_TESTS_SUPPORT_NETWORK_H
#define PAYCHAN_TESTS_SUPPORT_NETWORK_H

#include <stdint.h>

#include "support/integration.h"

enum { PC_NET_ACC_OUTSIDER = IT_DEPLOYER, PC_NET_ACC_PUBLIC = IT_CONSUMER,
       PC_NET_ACC_PERSISTENCE = IT_PROVIDER, PC_NET_ACC_RANDOM = IT_STRANGER };

/* The three services. */
typedef enum pc_net_service {
    PC_NET_PERSISTENCE = 0,
    PC_NET_RANDOM = 1,
    PC_NET_PUBLIC = 2,
    PC_NET_N_SERVICES = 3
} pc_net_service;

typedef struct pc_test_network_options {
    const char *paychand;                  /* binaries (required) */
    const char *service[PC_NET_N_SERVICES];
    uint64_t termination_timeout_s;        /* 0 = 8 */
    uint64_t token_redemption_timeout_s;   /* 0 = 4 */
    unsigned duty_interval_ms;             /* 0 = 200 */
    int chain_only;                        /* 1: anvil and both Payment Servers, no service
                                              (the test starts its own: service[] stay NULL) */
} pc_test_network_options;

typedef struct pc_net_process pc_net_process; /* one service process (network.c) */
typedef struct pc_net_http pc_net_http;       /* the test's keep-alive HTTP handle */

typedef struct pc_test_network {
    pc_itest chain; /* see above: chain.anvil, .rpc, .secp, .chain_id, .key, .addr, .sender,
                       .consumer_server (= public_server), .provider_server, .client[1..3] */
    pc_test_paychand *providers_server, *public_server;
    pc_net_process *service[PC_NET_N_SERVICES];
    uint64_t termination_timeout_s, token_redemption_timeout_s;
    pc_net_http *http;
} pc_test_network;

/* Starts everything (see above) and waits until every service answers
 * GET /status (generous deadlines: sanitizer builds on a loaded machine).
 * Returns NULL after printing why and the logs on failure. */
pc_test_network *pc_test_network_start(const pc_test_network_options *opts);

/* pc_test_network_start with the binaries named by the test program's
 * compile definitions PAYCHAN_PAYCHAND, PAYCHAN_PERSISTENCE_SERVICE,
 * PAYCHAN_RANDOM_NR_SERVICE and PAYCHAN_PUBLIC_SERVICE. */
#if defined(PAYCHAN_PAYCHAND) && defined(PAYCHAN_PERSISTENCE_SERVICE) && \
    defined(PAYCHAN_RANDOM_NR_SERVICE) && defined(PAYCHAN_PUBLIC_SERVICE)
#define pc_test_network_start_default()                                                          \
    pc_test_network_start(&(const pc_test_network_options){                                    \
        .paychand = PAYCHAN_PAYCHAND,                                                           \
        .service = {PAYCHAN_PERSISTENCE_SERVICE, PAYCHAN_RANDOM_NR_SERVICE,                     \
                    PAYCHAN_PUBLIC_SERVICE}})
#endif

/* Stops the services (SIGTERM; the first service's exit status that was not
 * a clean 0 is returned), then both Payment Servers and anvil, and frees n.
 * Returns 0 when every process exited cleanly with status 0 (a sanitizer's
 * leak report makes it non-zero), else the first bad status (128 + signal
 * for a signal, -1 if one had to be killed). NULL: returns 0. */
int pc_test_network_stop(pc_test_network *n);

/* "http://127.0.0.1:PORT" of a service (owned by n). */
const char *pc_test_network_url(const pc_test_network *n, pc_net_service s);

/* The service's name ("persistence-service", ...). */
const char *pc_test_network_name(pc_net_service s);

/* GET base URL of service s + the formatted target, with extra request
 * headers (NULL-terminated "name: value" strings; NULL = none), on the
 * network's keep-alive handle (one thread at a time). Fills *out (free with
 * pc_test_reply_free). Returns 0 when an answer came, else -1 (status 0).
 * Timeout 120 s: /init deploys and funds two Mediators. */
int pc_test_network_get(pc_test_network *n, pc_net_service s, const char *const *headers,
                        pc_test_reply *out, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Prints the last max_lines lines (0 = all) of every service's log to
 * stderr (the Payment Servers' logs: pc_test_paychand_print_all_logs, which
 * pc_itest_fail_at calls). */
void pc_test_network_print_service_logs(const pc_test_network *n, size_t max_lines);

/* Reads the Mediator's uint256 getter (e.g. "serviceProviderFunds") as of
 * block `block` (eth_call pinned to that block). Returns 0 or -1. */
int pc_test_network_u256_at(pc_test_network *n, const pc_address *mediator, const char *getter,
                            uint64_t block, pc_u256 *out);

#endif
