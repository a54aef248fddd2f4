/* integration.h (test support): the shared set-up of the integration tests
 * (tests/integration/test_api_*.c), which drive real paychand processes
 * over HTTP against a real anvil.
 *
 * One test program = one anvil and two paychand processes, one per team:
 *   the consumer team's server serves dev account 1 (the consumer A) and
 *     dev account 4 (a second consumer);
 *   the provider team's server serves dev account 2 (the provider B) and
 *     dev account 3 (a stranger: a service of B's team that is not the
 *     provider of A's Mediators).
 * Both run in dev mode with the raw dev keys, the chain id checked, the
 * storage backend the program asks for, and the extra arguments it gives.
 *
 * Tests act through pc_test_client (payclient.h) clients of each account
 * and check the chain directly (rpc, mediator.h). The expectation helpers
 * fail the running cmocka test at the caller's line and print the answer
 * and the end of both servers' logs. */
#ifndef PAYCHAN_TESTS_SUPPORT_INTEGRATION_H
#define PAYCHAN_TESTS_SUPPORT_INTEGRATION_H

#include <stdint.h>

#include "core/crypto/ecdsa.h"
#include "core/encoding/hex.h"
#include "core/chain/rpc.h"
#include "core/encoding/u256.h"
#include "mediator/mediator.h"
#include "support/anvil.h"
#include "support/payclient.h"
#include "support/paychand.h"
#include "support/prom_text.h"
#include "support/redis.h"

/* Dev account indices by role. */
enum { IT_DEPLOYER = 0, IT_CONSUMER = 1, IT_PROVIDER = 2, IT_STRANGER = 3, IT_CONSUMER2 = 4,
       IT_N_ACCOUNTS = 5 };

typedef struct pc_itest_options {
    const char *store;                /* "sqlite" (NULL), "redis" or "memory" */
    const pc_test_redis *redis;       /* the Redis server for store "redis" */
    const char *redis_prefix;         /* NULL = "it-<pid>-"; the team name is appended */
    const char *const *args;          /* more arguments for both servers, NULL-terminated;
                                         kept (not copied): must outlive the pc_itest */
} pc_itest_options;

typedef struct pc_itest {
    pc_test_anvil *anvil;
    pc_rpc *rpc;
    pc_secp *secp;
    uint64_t chain_id;
    pc_itest_options opts;
    const char *paychand; /* the binary */
    uint8_t key[IT_N_ACCOUNTS][32];
    pc_address addr[IT_N_ACCOUNTS];
    char sender[IT_N_ACCOUNTS][PC_ADDRESS_TEXT_LEN]; /* lowercase address text */
    pc_test_paychand *consumer_server, *provider_server;
    pc_test_client *client[IT_N_ACCOUNTS]; /* [i] talks to the server of account i (none for 0) */
} pc_itest;

/* The terms of a Mediator, as useService takes and validateToken requires them. */
typedef struct pc_itest_terms {
    uint64_t cost;        /* wei per request */
    uint64_t termination; /* seconds */
    uint64_t redemption;  /* seconds */
} pc_itest_terms;

/* A payment token as the x-pay-* headers carry it. */
typedef struct pc_itest_token {
    char sender[PC_ADDRESS_TEXT_LEN];
    char mediator[PC_ADDRESS_TEXT_LEN];
    char token_id[PC_U256_DEC_LEN];
    char signature[PC_SIGNATURE_HEX_LEN];
    uint64_t count;
} pc_itest_token;

/* ---- set-up -------------------------------------------------------------------------- */

/* Starts anvil and both servers (opts NULL = sqlite, no extra arguments) and
 * the clients; `paychand` is the binary (NULL = the environment variable
 * PAYCHAN_PAYCHAND only). Returns NULL after printing why on failure. Call
 * it from the main thread (cmocka group setup). pc_itest_start passes the
 * test program's compile definition PAYCHAN_PAYCHAND. */
pc_itest *pc_itest_start_with(const pc_itest_options *opts, const char *paychand);
#ifdef PAYCHAN_PAYCHAND
#define pc_itest_start(opts) pc_itest_start_with((opts), PAYCHAN_PAYCHAND)
#else
#define pc_itest_start(opts) pc_itest_start_with((opts), NULL)
#endif

/* The storage backend a test program runs with: its argument argv[1]
 * (default "sqlite") if it is a word of `allowed` (e.g. "sqlite redis"),
 * else NULL after printing the usage. */
const char *pc_itest_backend_arg(int argc, char **argv, const char *allowed);

/* cmocka group fixtures: pc_itest_start with `args` (NULL-terminated,
 * kept: static storage) into *state, and pc_itest_stop of *state. */
int pc_itest_group_setup_with(void **state, const char *const *args, const char *paychand);
#ifdef PAYCHAN_PAYCHAND
#define pc_itest_group_setup(state, args) pc_itest_group_setup_with((state), (args), PAYCHAN_PAYCHAND)
#endif
int pc_itest_group_teardown(void **state);

/* cmocka group fixtures of a program run on the storage backend `store`
 * (pc_itest_backend_arg: "sqlite", "redis" or "memory"): for "redis" a
 * redis-server is started first, and stopped by pc_itest_backend_teardown;
 * `args` as for pc_itest_group_setup. */
int pc_itest_backend_setup_with(void **state, const char *store, const char *const *args,
                                const char *paychand);
#ifdef PAYCHAN_PAYCHAND
#define pc_itest_backend_setup(state, store, args) \
    pc_itest_backend_setup_with((state), (store), (args), PAYCHAN_PAYCHAND)
#endif
int pc_itest_backend_teardown(void **state);

/* The main of a program whose tests run on the backend its argument names
 * (pc_itest_backend_arg with `allowed`), with the fixtures above (the
 * backend in t->opts.store): 2 after printing the usage, else cmocka's
 * result. */
struct CMUnitTest;
int pc_itest_run_on_backend_with(int argc, char **argv, const char *allowed,
                                 const struct CMUnitTest *tests, size_t n, const char *paychand);
#ifdef PAYCHAN_PAYCHAND
#define pc_itest_run_on_backend(argc, argv, allowed, tests)                                   \
    pc_itest_run_on_backend_with((argc), (argv), (allowed), (tests),                          \
                                 sizeof(tests) / sizeof((tests)[0]), PAYCHAN_PAYCHAND)
#endif

/* Stops the servers (asserting nothing), anvil, and frees t. NULL is a no-op. */
void pc_itest_stop(pc_itest *t);

/* Starts one more server of the provider team (accounts 2 and 3) with the
 * program's store and arguments plus `more` (NULL-terminated, may be NULL).
 * data_dir NULL = a fresh one. Returns NULL on failure. */
pc_test_paychand *pc_itest_start_provider_server(pc_itest *t, const char *name,
                                                 const char *data_dir, const char *const *more);

/* The same for the consumer team (accounts 1 and 4). */
pc_test_paychand *pc_itest_start_consumer_server(pc_itest *t, const char *name,
                                                 const char *data_dir, const char *const *more);

/* A new client of server p acting as account `who` (for threads: one each). */
pc_test_client *pc_itest_client(pc_itest *t, const pc_test_paychand *p, int who);

/* ---- expectations (fail the test at the caller's line) ---------------------------------- */

/* The answer is HTTP 200 with a JSON object body; returns the body (owned by r). */
#define it_expect_ok(r) pc_itest_expect_ok_at((r), __FILE__, __LINE__)
json_t *pc_itest_expect_ok_at(const pc_test_reply *r, const char *file, int line);

/* The answer is HTTP `status` with the protocol's error object carrying `code`,
 * a non-empty "message" and "name". */
#define it_expect_error(r, status, code) \
    pc_itest_expect_error_at((r), (status), (code), __FILE__, __LINE__)
void pc_itest_expect_error_at(const pc_test_reply *r, long status, long code, const char *file,
                              int line);

/* it_expect_error(r, 400, 300) and the message names the parameter. */
#define it_expect_bad_param(r, name) pc_itest_expect_bad_param_at((r), (name), __FILE__, __LINE__)
void pc_itest_expect_bad_param_at(const pc_test_reply *r, const char *name, const char *file,
                                  int line);

/* Fails the test at file:line after printing msg and the servers' logs. */
void pc_itest_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define it_fail(...) pc_itest_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define it_check(cond) \
    do { if (!(cond)) pc_itest_fail_at(__FILE__, __LINE__, "check failed: %s", #cond); } while (0)

/* ---- API calls that must succeed ----------------------------------------------------- */

/* useService from account `who` to the provider with terms; reuse adds
 * allowReuseExistingMediator=true. Asserts 200 and fills *mediator. */
#define it_use_service(t, who, terms, reuse, mediator) \
    pc_itest_use_service_at((t), (who), (terms), (reuse), (mediator), __FILE__, __LINE__)
void pc_itest_use_service_at(pc_itest *t, int who, const pc_itest_terms *terms, int reuse,
                             pc_address *mediator, const char *file, int line);

/* A new Mediator of the consumer (useService without reuse) with terms and,
 * unless deposit is 0, that deposit; *active (if not NULL) receives its
 * active token id read from the chain. */
#define it_open_channel(t, terms, deposit, m, active) \
    pc_itest_open_channel_at((t), (terms), (deposit), (m), (active), __FILE__, __LINE__)
void pc_itest_open_channel_at(pc_itest *t, const pc_itest_terms *terms, uint64_t deposit,
                              pc_address *m, pc_u256 *active, const char *file, int line);

/* Unauthenticated GET /status of server p; the caller checks and frees *r. */
void pc_itest_status(const pc_test_paychand *p, pc_test_reply *r);

/* Unauthenticated GET /metrics of server p, parsed into *out (free it with
 * pc_test_prom_free); fails the test unless it answers 200 in the format. */
#define it_scrape(p, out) pc_itest_scrape_at((p), (out), __FILE__, __LINE__)
void pc_itest_scrape_at(const pc_test_paychand *p, pc_test_prom *out, const char *file, int line);

/* Deposits amount wei (threshold 0 = none) from `who`; asserts 200 {}. */
#define it_deposit(t, who, m, amount, threshold) \
    pc_itest_deposit_at((t), (who), (m), (amount), (threshold), __FILE__, __LINE__)
void pc_itest_deposit_at(pc_itest *t, int who, const pc_address *m, uint64_t amount,
                         uint64_t threshold, const char *file, int line);

/* createSignatureHeaders from `who`; asserts 200 and the five headers. */
#define it_headers(t, who, m, tok) pc_itest_headers_at((t), (who), (m), (tok), __FILE__, __LINE__)
void pc_itest_headers_at(pc_itest *t, int who, const pc_address *m, pc_itest_token *tok,
                         const char *file, int line);

/* A token made in the test: signed with the key of `signer` for Mediator m,
 * naming `sender` (an account index) as the consumer. */
void pc_itest_sign_token(const pc_itest *t, int signer, int sender, const pc_address *m,
                         const pc_u256 *token_id, uint64_t count, pc_itest_token *tok);

/* Sends validateToken for tok with terms through client c (NULL = the
 * provider's); the caller checks and frees *r. */
void pc_itest_validate(pc_itest *t, pc_test_client *c, const pc_itest_token *tok,
                       const pc_itest_terms *terms, pc_test_reply *r);

/* pc_itest_validate through the provider and asserts {"valid": true}. */
#define it_validate_ok(t, tok, terms) pc_itest_validate_ok_at((t), (tok), (terms), __FILE__, __LINE__)
void pc_itest_validate_ok_at(pc_itest *t, const pc_itest_token *tok, const pc_itest_terms *terms,
                             const char *file, int line);

/* Stamped GET target (printf format) as account `who`; caller frees *r. */
void pc_itest_get(pc_itest *t, int who, pc_test_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the chain -------------------------------------------------------------------------- */

/* The Mediator's state now; asserts success. */
void pc_itest_state(pc_itest *t, const pc_address *m, pc_mediator_state *st);

/* The balance of account `who` now. */
pc_u256 pc_itest_balance(pc_itest *t, int who);

/* The number of the latest block. */
uint64_t pc_itest_block(pc_itest *t);

/* The sum of the fees (gas used * effective gas price) of the transactions
 * sent by account `who` in blocks (after_block, latest]. */
pc_u256 pc_itest_fees_since(pc_itest *t, int who, uint64_t after_block);

/* Polls the Mediator's events until at least `n` of `kind` exist (at most
 * timeout_ms); *last (if not NULL) receives the newest one. Returns the
 * number found (fewer than n after the timeout). */
size_t pc_itest_wait_events(pc_itest *t, const pc_address *m, pc_mediator_event_kind kind,
                            size_t n, int timeout_ms, pc_mediator_event *last);

/* The number of events of `kind` of m so far; *last as above. */
size_t pc_itest_count_events(pc_itest *t, const pc_address *m, pc_mediator_event_kind kind,
                             pc_mediator_event *last);

/* Sleeps ms milliseconds. */
void pc_itest_sleep_ms(long ms);

/* Text of an address / u256, in a static rotating buffer (for messages and targets). */
const char *pc_itest_addr(const pc_address *a);
const char *pc_itest_dec(const pc_u256 *v);

#endif
