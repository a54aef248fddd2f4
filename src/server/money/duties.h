/* duties.h: the Payment Server's background duties (docs/protocol.md §7), run by one
 * timer thread every cfg->duty_interval_ms for every Mediator record in the
 * store (a Mediator served in both roles has two records, so both duties):
 *
 *  as provider: after a redemption's grace period, redeem the newest stored
 *    token of that id and pay out; when the consumer started termination,
 *    start the final redemption at once; when the value of the active
 *    token id pays for a redemption at the current fee, or it has been in
 *    use longer than cfg->redeem_after_s, start a redemption (the rules are
 *    redeem_policy.h's: deadlines are sent above the fee cap, but only when
 *    the value exceeds the gas; a redemption started is finished above the
 *    cap only on termination or after the token age past its grace period);
 *    forget terminated Mediators. A token id without tokens is never taken into
 *    redemption, and an expired redemption without tokens is completed
 *    (redeeming 0, moving nothing) only when the active id is due for one
 *    (the contract holds one redemption at a time); that is logged.
 *  as consumer: after the own termination timeout, finalize it; when funds
 *    fall below the auto-funding threshold, deposit the configured amount;
 *    forget terminated Mediators.
 *
 * A pass spreads the Mediators over a few threads (PC_DUTY_THREADS), so a
 * transaction waiting for its receipt on one Mediator does not hold up the
 * others; each Mediator is looked at by one thread per pass and passes do
 * not overlap, so at most one transaction per Mediator runs at a time.
 * Every action and its outcome is logged. */
#ifndef PAYCHAN_SERVER_DUTIES_H
#define PAYCHAN_SERVER_DUTIES_H

#include "server/server.h"

/* Starts the timer thread. */
pc_duties *pc_duties_start(pc_server *s, pc_error *err);

/* Stops the thread after the pass in progress. NULL is a no-op. */
void pc_duties_stop(pc_duties *d);

#define PC_DUTY_THREADS 4

/* Runs one pass over every Mediator now, returning when it is done (tests,
 * and the timer). Returns the number of transactions sent. */
int pc_duties_run_once(pc_server *s);

#endif
