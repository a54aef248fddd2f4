/* network_checks.h (test support): the checks on chain that both runs of
 * the example network make - test_network_paid (the C services on
 * libpaychan) and test_network_proxy (Python services behind paychan-proxy)
 * - so that both are held to the same rules: the new Mediators' terms, the
 * nine refused tokens, redemption and payout to the wei with gas
 * accounted, and the consumer's termination. A check that fails runs the
 * test's before_fail hook (e.g. print the services' logs), then fails the
 * cmocka test at the caller's line (pc_itest_fail_at). */
#ifndef PAYCHAN_TESTS_SUPPORT_NETWORK_CHECKS_H
#define PAYCHAN_TESTS_SUPPORT_NETWORK_CHECKS_H

#include <stdint.h>

#include "support/network.h"

enum { PC_NETC_PERSISTENCE = 0, PC_NETC_RANDOM = 1, PC_NETC_N_PROVIDERS = 2 };

/* A provider of the network. */
typedef struct pc_netc_provider {
    const char *name;         /* "persistence", "random" */
    const char *service_path; /* a paid request */
    uint64_t cost;            /* wei per request */
    int account;              /* pc_itest slot */
} pc_netc_provider;

/* The state the checks share with the test. */
typedef struct pc_net_checks {
    pc_test_network *net;
    const pc_netc_provider *providers;          /* [PC_NETC_N_PROVIDERS] */
    pc_address mediator[PC_NETC_N_PROVIDERS];   /* the test fills them */
    pc_u256 paid_token_id[PC_NETC_N_PROVIDERS]; /* the token id of the first actions */
    uint64_t funding_wei;                       /* per Mediator */
    uint64_t termination_s, redemption_s;
    uint64_t counts_ahead; /* counts the consumer keeps signed ahead per Mediator (a spare) */
    void (*before_fail)(void);                  /* may be NULL */
} pc_net_checks;

void pc_netc_fail_at(const pc_net_checks *c, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
#define netc_fail(c, ...) pc_netc_fail_at((c), __FILE__, __LINE__, __VA_ARGS__)
#define netc_check(c, cond) \
    do { if (!(cond)) netc_fail((c), "check failed: %s", #cond); } while (0)
#define netc_check_u256(c, actual, expected, what)                                               \
    do {                                                                                         \
        pc_u256 a_ = (actual), e_ = (expected);                                                  \
        if (pc_u256_cmp(&a_, &e_) != 0)                                                          \
            netc_fail((c), "%s: %s wei, expected %s wei", (what), pc_itest_dec(&a_),           \
                      pc_itest_dec(&e_));                                                        \
    } while (0)

/* Wei arithmetic that fails the test on overflow. */
pc_u256 pc_netc_wei(uint64_t v);
pc_u256 pc_netc_add(const pc_net_checks *c, pc_u256 a, pc_u256 b);
pc_u256 pc_netc_sub(const pc_net_checks *c, pc_u256 a, pc_u256 b);

/* requests x provider p's cost. */
pc_u256 pc_netc_earned(const pc_net_checks *c, int p, uint64_t requests);

/* Mediator p's state now. */
pc_mediator_state pc_netc_state(const pc_net_checks *c, int p);

/* Waits until Mediator p has n events of kind; *last = the newest. */
void pc_netc_wait_events(const pc_net_checks *c, int p, pc_mediator_event_kind kind, size_t n,
                         pc_mediator_event *last);

/* Mediator p is new: the consumer's, to provider p, its cost and timeouts,
 * funded with funding_wei, nothing else moved, not terminating. */
void pc_netc_check_new_mediator(const pc_net_checks *c, int p);

/* The nine refused tokens to persistence after n_actions paid actions:
 * send(p, tok, code, what) sends tok (NULL: no payment headers) to
 * persistence and checks the 402 with `code` and its terms. */
typedef void (*pc_netc_send)(const pc_net_checks *c, const pc_itest_token *tok, long code,
                             const char *what);
#define PC_NETC_N_REFUSALS 9
void pc_netc_refusals(const pc_net_checks *c, uint64_t n_actions, pc_netc_send send);

/* A snapshot of both Mediators' states and the block number ... */
typedef struct pc_netc_snapshot {
    pc_mediator_state st[PC_NETC_N_PROVIDERS];
    uint64_t block;
} pc_netc_snapshot;
void pc_netc_take_snapshot(const pc_net_checks *c, pc_netc_snapshot *out);

/* ... and that nothing happened on chain since (no block, the same funds
 * and active token ids). */
void pc_netc_check_unchanged(const pc_net_checks *c, const pc_netc_snapshot *before);

/* After /redeem on provider p: exactly n_actions requests of paid_token_id
 * redeemed and paid out to its account, which gained exactly that minus
 * the gas it paid since after_block. */
void pc_netc_check_redemption(const pc_net_checks *c, int p, uint64_t n_actions,
                              uint64_t after_block, const pc_u256 *balance_before);

/* After /payout on provider p: a second payout of nothing, the account as
 * after the redemption but for gas. */
void pc_netc_check_second_payout(const pc_net_checks *c, int p, uint64_t n_actions,
                                 uint64_t after_block, const pc_u256 *balance_before);

/* After the consumer's termination: Mediator p finally redeemed n_more
 * requests of token id `active`, then terminated and paid the consumer
 * `left`; it is empty; provider p gained exactly the n_more requests. */
void pc_netc_check_terminated(const pc_net_checks *c, int p, const pc_u256 *active,
                              uint64_t n_more, const pc_u256 *left, uint64_t after_block,
                              const pc_u256 *provider_before);

/* The consumer's account got `back` since after_block, gas accounted. */
void pc_netc_check_consumer_back(const pc_net_checks *c, uint64_t after_block,
                                 const pc_u256 *before, const pc_u256 *back);

/* A provider's answer to an admin action ("redeem", "payout") on its one
 * Mediator: {"count": 1, "mediators": {m: {"ok": true, ...}}}, and
 * "redemptionStarted" for redeem. */
void pc_netc_check_admin_answer(const pc_net_checks *c, int p, const char *action, json_t *body,
                                const char *text);

/* Step 3 of both tests: admin(c, p, action) runs "redeem" on both
 * providers (checked with pc_netc_check_redemption), then "payout"
 * (pc_netc_check_second_payout), after n_actions paid actions. */
void pc_netc_redeem_and_payout(const pc_net_checks *c, uint64_t n_actions,
                               void (*admin)(const pc_net_checks *c, int p, const char *action));

/* The consumer's answer on target p's Mediator to its termination:
 * {"mediator": m, "ok": true, "terminationStarted": true, "terminated":
 * false, "willTerminateAt": now + the termination timeout (+-5 s)}. */
void pc_netc_check_terminate_entry(const pc_net_checks *c, int p, json_t *entry,
                                   const char *text);

/* Step 4's end: before the consumer terminates after n_paid paid actions
 * in all, the state to compare with ... */
typedef struct pc_netc_ending {
    pc_u256 active[PC_NETC_N_PROVIDERS], left[PC_NETC_N_PROVIDERS], back;
    pc_u256 consumer, provider[PC_NETC_N_PROVIDERS];
    uint64_t block;
} pc_netc_ending;
void pc_netc_before_termination(const pc_net_checks *c, uint64_t n_paid, pc_netc_ending *e);

/* ... and after it: pc_netc_check_terminated for both with n_more
 * requests since the redemption, and the consumer's deposits back. */
void pc_netc_check_ending(const pc_net_checks *c, const pc_netc_ending *e, uint64_t n_more);

#endif
