/* redeem_policy.h: when a provider's redemption pays for itself (docs/protocol.md §7).
 *
 * A redemption cycle (start, redeem, payout) costs about `cycle_gas` gas at
 * the current fee per gas. Without a deadline, the active token id is taken
 * into redemption once its unredeemed value reaches `gas_multiple` times
 * that cost (10: gas is at most ~10% of what is redeemed), and only while
 * the fee per gas is at most `max_fee_per_gas` (0: no cap). A deadline (the
 * consumer started termination: unredeemed value is lost when it ends; or
 * the token id is older than --redeem-after, which bounds the value at risk
 * should this server be down when the consumer terminates) redeems whatever
 * the fee, but only a value above the cost: redeeming less would spend more
 * gas than it brings in, so then nothing is sent and the log says why.
 * gas_multiple 0 switches the weighing off: the deadlines alone decide, at
 * any value (the behaviour before gas was weighed). */
#ifndef PAYCHAN_SERVER_REDEEM_POLICY_H
#define PAYCHAN_SERVER_REDEEM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "core/encoding/u256.h"

typedef struct pc_redeem_policy {
    uint64_t gas_multiple;   /* --redeem-gas-multiple; 0 = do not weigh gas */
    uint64_t cycle_gas;      /* --redemption-gas: gas of start + redeem + payout */
    pc_u256 max_fee_per_gas; /* --max-fee-per-gas, wei; 0 = no cap */
} pc_redeem_policy;

/* One Mediator's active token id now. */
typedef struct pc_redeem_case {
    pc_u256 value;          /* unredeemed value: highest validated count x cost per request */
    pc_u256 fee_per_gas;    /* what a transaction pays per gas now (base fee + tip, or gas price) */
    const char *deadline;   /* why it must be redeemed now ("the consumer started termination",
                               "token age"), or NULL */
} pc_redeem_case;

/* The verdicts. */
typedef enum pc_redeem_verdict {
    PC_REDEEM_WAIT = 0,     /* not worth it yet (value below the threshold, or fee above the cap) */
    PC_REDEEM_NOW = 1,      /* start the redemption */
    PC_REDEEM_LOSS = 2      /* a deadline, but the value does not cover the gas: nothing sent */
} pc_redeem_verdict;

/* Decides for c under p; why (why_len bytes) receives one line saying why, for the log. */
pc_redeem_verdict pc_redeem_decide(const pc_redeem_policy *p, const pc_redeem_case *c, char *why,
                                   size_t why_len);

/* Whether a redemption already started may be finished at fee_per_gas
 * without a deadline: the fee is within the cap (or there is none). */
int pc_redeem_fee_ok(const pc_redeem_policy *p, const pc_u256 *fee_per_gas);

#endif
