/* gas_ledger.h: the gas our accounts spend, accounted. Every transaction a
 * served account sends (duties, /useService, /deposit, /terminate, ...)
 * goes through its pc_wallet, whose observer hands the receipt's gas used
 * and fee (effective gas price x gas used) here: each one is logged and
 * recorded in the store (totals per account and per Mediator, and the
 * recent transactions; store.h), and /status reports the totals
 * (pc_gas_ledger_status). The same observer hands the receipt's Mediator
 * events to the money ledger (money_ledger.h). */
#ifndef PAYCHAN_SERVER_GAS_LEDGER_H
#define PAYCHAN_SERVER_GAS_LEDGER_H

#include <jansson.h>

#include "server/server.h"

/* Makes every account's wallet report its transactions to s->store (which
 * must be open and outlive the wallets' use). Accounts whose wallets are not
 * made yet (pc_accounts_bind waits for the node's chain id without
 * --chain-id) are skipped: call it again right after binding them, before
 * the wallets are shared by threads. */
void pc_gas_ledger_attach(pc_server *s);

/* The name of the Mediator function a calldata selector calls ("deploy" for a
 * creation, "call" for one this paychand does not know). */
const char *pc_gas_ledger_action(const uint8_t *data, size_t data_len, int creation);

/* The /status member "gas": {"accounts": {addr: {"transactions", "gasUsed",
 * "feeWei"}}, "mediators": {"count", "transactions", "gasUsed", "feeWei"}}
 * (Mediators only summed: the per-Mediator totals are in the store for the
 * admin API). A new reference, or NULL (logged) when the store cannot be read. */
json_t *pc_gas_ledger_status(pc_server *s);

#endif
