/* money_ledger.h: the amounts moved to and from our accounts, recorded in
 * the store (pc_store_record_money) when the chain moved them: from the
 * Mediator events in the receipts of our own transactions (the wallet
 * observer that also accounts gas, gas_ledger.c) and from the events the
 * chain follower sees (transactions of the other party: the provider's
 * redemption of a consumer's channel, the consumer's final close). Each
 * event is recorded once, by transaction hash and log index, whichever
 * source reports it first. Amounts are the events' (what the contract
 * moved), never a request's. Per account (docs/architecture.md, "Money"):
 *   redeemed (provider): TokenRedeemed amounts; paidOut (provider): PaidOut
 *   amounts and its payout at Terminated; spent (consumer): Deposited
 *   amounts; paid (consumer): TokenRedeemed amounts of its channels;
 *   refunded (consumer): its payout at Terminated.
 * A TokenRedeemed also becomes the channel's last redemption, and retires
 * the token id from the running unredeemed total (unredeemed.h); a
 * Terminated retires all of the Mediator's ids. */
#ifndef PAYCHAN_SERVER_MONEY_LEDGER_H
#define PAYCHAN_SERVER_MONEY_LEDGER_H

#include "mediator/mediator.h"
#include "server/server.h"

/* Records what the Mediator events among logs (a receipt's) moved. */
void pc_money_ledger_logs(pc_server *s, const pc_log *logs, size_t n);

/* Records what one Mediator event moved (the chain cache's event hook;
 * ctx is the pc_server). Events of Mediators none of our accounts is a
 * party to are ignored. */
void pc_money_ledger_event(void *ctx, const pc_mediator_event *ev);

#endif
