/* gas_ledger.c: see gas_ledger.h. */
#include "server/money/gas_ledger.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/encoding/abi.h"
#include "core/runtime/logger.h"
#include "server/money/money_ledger.h"
#include "server/store/store.h"

/* The functions of the Mediator and its factory (docs/protocol.md §6) our
 * accounts call. Opening a channel is a call of the factory: "deploy". */
static const char *const functions[][2] = {
    {"createMediator(address,uint256,uint256,uint256,uint256)", "deploy"},
    {"redeemAndPayout(uint256,uint8,bytes32,bytes32)", "redeemAndPayout"},
    {"redeemPayoutAndStartRedemption(uint256,uint8,bytes32,bytes32,uint256)",
     "redeemPayoutAndStartRedemption"},
    {"depositForServiceConsumer()", "deposit"},
    {"startTokenRedemption(uint256)", "startTokenRedemption"},
    {"redeemToken(uint256,uint8,bytes32,bytes32)", "redeemToken"},
    {"payoutForServiceProvider()", "payout"},
    {"startCloseThroughServiceConsumer()", "startClose"},
    {"finalizeCloseThroughServiceConsumer()", "finalizeClose"},
    {"closeThroughServiceProvider()", "closeThroughProvider"},
};

const char *pc_gas_ledger_action(const uint8_t *data, size_t data_len, int creation)
{
    if (creation)
        return "deploy";
    for (size_t i = 0; data_len >= 4 && i < sizeof functions / sizeof functions[0]; i++) {
        uint8_t sel[PC_ABI_SELECTOR_LEN];
        pc_abi_selector(functions[i][0], sel);
        if (memcmp(sel, data, 4) == 0)
            return functions[i][1];
    }
    return "call";
}

static void observe(void *ctx, const pc_wallet *w, const pc_address *to, const uint8_t *data,
                    size_t data_len, const pc_tx_result *r)
{
    pc_server *s = ctx;
    pc_gas_tx tx = {.account = *pc_wallet_address(w), .gas_used = r->gas_used, .fee = r->fee,
                    .block = r->block_number, .status = r->status, .at = (uint64_t)time(NULL)};
    memcpy(tx.hash, r->tx_hash, 32);
    tx.mediator = to ? *to : r->contract_address;
    if (to && data_len >= 4)
        memcpy(tx.selector, data, 4);
    char fee[PC_U256_DEC_LEN], mediator[PC_ADDRESS_TEXT_LEN];
    pc_u256_to_dec(&r->fee, fee);
    pc_address_format(&tx.mediator, mediator);
    PC_LOG_I("gas: %s on %s%s: %llu gas, fee %s wei",
             pc_gas_ledger_action(data, data_len, to == NULL), mediator,
             r->status == 1 ? "" : " (reverted)", (unsigned long long)r->gas_used, fee);
    pc_error err;
    if (pc_store_record_gas(s->store, &tx, &err) != 0)
        PC_LOG_W("gas: recording the transaction failed (the totals miss it): %s", err.message);
    if (r->status == 1) /* what it moved, at once (the follower would see it a tick later) */
        pc_money_ledger_logs(s, r->logs, r->n_logs);
}

void pc_gas_ledger_attach(pc_server *s)
{
    for (size_t i = 0; i < pc_accounts_count(s->accounts); i++)
        if (pc_accounts_at(s->accounts, i)) /* NULL until bound */
            pc_wallet_set_observer(pc_accounts_at(s->accounts, i), observe, s);
}

/* {"transactions", "gasUsed", "feeWei"} of t (the fee as a decimal string: it may pass 2^53). */
static json_t *total_json(const pc_gas_total *t)
{
    char fee[PC_U256_DEC_LEN];
    pc_u256_to_dec(&t->fee, fee);
    return json_pack("{s:I, s:I, s:s}", "transactions", (json_int_t)t->txs, "gasUsed",
                     (json_int_t)t->gas_used, "feeWei", fee);
}

json_t *pc_gas_ledger_status(pc_server *s)
{
    pc_gas_total *acc = NULL, *med = NULL, sum = {0};
    size_t n_acc = 0, n_med = 0;
    pc_error err;
    if (pc_store_gas_totals(s->store, PC_GAS_BY_ACCOUNT, &acc, &n_acc, &err) != 0 ||
        pc_store_gas_totals(s->store, PC_GAS_BY_MEDIATOR, &med, &n_med, &err) != 0) {
        PC_LOG_W("/status: reading the gas totals failed: %s", err.message);
        free(acc);
        return NULL;
    }
    json_t *accounts = json_object();
    for (size_t i = 0; i < n_acc; i++) {
        char addr[PC_ADDRESS_TEXT_LEN];
        pc_address_format(&acc[i].key, addr); /* as in "accounts" */
        json_object_set_new(accounts, addr, total_json(&acc[i]));
    }
    for (size_t i = 0; i < n_med; i++) {
        sum.txs += med[i].txs;
        sum.gas_used += med[i].gas_used;
        pc_u256_add(&sum.fee, &sum.fee, &med[i].fee); /* beyond 2^256 wei: no */
    }
    json_t *mediators = total_json(&sum);
    json_object_set_new(mediators, "count", json_integer((json_int_t)n_med));
    free(acc);
    free(med);
    return json_pack("{s:o, s:o}", "accounts", accounts, "mediators", mediators);
}
