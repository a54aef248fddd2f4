/* wallet.c: see wallet.h. */
#include "core/chain/wallet.h"

#include <stdlib.h>
#include <string.h>

#include "core/chain/tx.h"

struct pc_wallet {
    pc_rpc *rpc;
    const pc_secp *secp;
    uint8_t seckey[32];
    pc_address address;
    pc_wallet_options opts;
    pc_wallet_observer observer;
    void *observer_ctx;
};

pc_wallet *pc_wallet_create(pc_rpc *rpc, const pc_secp *secp, const uint8_t seckey[32],
                            const pc_wallet_options *opts, pc_error *err)
{
    pc_wallet *w = calloc(1, sizeof(*w));
    if (!w) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (pc_secret_to_address(secp, seckey, &w->address) != 0) {
        free(w);
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "invalid secret key");
        return NULL;
    }
    memcpy(w->seckey, seckey, 32);
    w->rpc = rpc;
    w->secp = secp;
    w->opts = *opts;
    if (w->opts.receipt_timeout_ms <= 0)
        w->opts.receipt_timeout_ms = 60000;
    return w;
}

void pc_wallet_destroy(pc_wallet *w)
{
    if (!w)
        return;
    pc_wipe(w->seckey, sizeof(w->seckey));
    free(w);
}

const pc_address *pc_wallet_address(const pc_wallet *w) { return &w->address; }
pc_rpc *pc_wallet_rpc(const pc_wallet *w) { return w->rpc; }
const pc_secp *pc_wallet_secp(const pc_wallet *w) { return w->secp; }
uint64_t pc_wallet_chain_id(const pc_wallet *w) { return w->opts.chain_id; }

void pc_wallet_set_observer(pc_wallet *w, pc_wallet_observer fn, void *ctx)
{
    w->observer = fn;
    w->observer_ctx = ctx;
}

void pc_tx_result_free(pc_tx_result *r)
{
    pc_logs_free(r->logs, r->n_logs);
    memset(r, 0, sizeof(*r));
}

int pc_wallet_sign_digest(const pc_wallet *w, const uint8_t digest[32], pc_signature *out)
{
    return pc_ecdsa_sign(w->secp, w->seckey, digest, out);
}

/* Fills the fee fields: EIP-1559 when the node's blocks have a base fee. */
static int set_fees(pc_wallet *w, pc_tx *tx, pc_error *err)
{
    pc_fees fees;
    if (pc_rpc_fees(w->rpc, &fees, err) != 0)
        return -1;
    if (fees.has_base_fee && !w->opts.force_legacy) {
        tx->type = PC_TX_EIP1559;
        tx->max_priority_fee_per_gas = fees.priority_fee;
        tx->max_fee_per_gas = fees.max_fee;
    } else {
        tx->type = PC_TX_LEGACY;
        tx->gas_price = fees.gas_price;
    }
    return 0;
}

/* Signs and sends tx with the next nonce. */
static int sign_and_send_once(pc_wallet *w, pc_tx *tx, pc_tx_result *out, pc_error *err)
{
    pc_bytes raw = {0};
    int rc = -1;
    if (pc_rpc_nonce_reserve(w->rpc, &w->address, &tx->nonce, err) != 0)
        return -1;
    if (pc_tx_sign(w->secp, tx, w->seckey, &raw, NULL, err) == 0 &&
        pc_rpc_send_raw_transaction(w->rpc, raw.data, raw.len, out->tx_hash, err) == 0) {
        out->sent = 1;
        rc = 0;
    }
    /* unsent: the next transaction re-reads the node (no gap, no reused nonce) */
    pc_rpc_nonce_release(w->rpc, &w->address, rc == 0);
    pc_bytes_free(&raw);
    return rc;
}

/* Another process sending from the same account (a second paychand of the
 * team, the operator's wallet) makes our local nonce stale; the node then
 * refuses the transaction without accepting it, so one retry with a nonce
 * read afresh is safe. Any other refusal is reported as it is. */
static int sign_and_send(pc_wallet *w, pc_tx *tx, pc_tx_result *out, pc_error *err)
{
    pc_error first;
    if (sign_and_send_once(w, tx, out, &first) == 0)
        return 0;
    if (first.code == PC_ERR_NODE && strstr(first.message, "nonce too low"))
        return sign_and_send_once(w, tx, out, err);
    if (err)
        *err = first;
    return -1;
}

static int follow_receipt(pc_wallet *w, pc_tx_result *out, pc_error *err)
{
    pc_receipt receipt;
    if (pc_rpc_wait_receipt(w->rpc, out->tx_hash, w->opts.receipt_timeout_ms, &receipt, err) != 0)
        return -1;
    out->status = receipt.status;
    out->block_number = receipt.block_number;
    out->gas_used = receipt.gas_used;
    pc_u256 gas = pc_u256_from_u64(receipt.gas_used);
    pc_u256_mul(&out->fee, &gas, &receipt.effective_gas_price);
    if (receipt.has_contract_address)
        out->contract_address = receipt.contract_address;
    out->logs = receipt.logs;
    out->n_logs = receipt.n_logs;
    receipt.logs = NULL;
    receipt.n_logs = 0;
    pc_receipt_free(&receipt);
    if (out->status != 1) {
        char hash[67];
        pc_hex_encode(out->tx_hash, 32, hash);
        return pc_error_set(err, PC_ERR_TRANSACTION, "transaction %s reverted on chain", hash);
    }
    return 0;
}

/* After the node refused tx (err PC_ERR_NODE): when the account cannot pay
 * its value plus the most its gas may cost, that is the reason, and it is
 * the account's, not the node's: PC_ERR_TRANSACTION saying so. Otherwise
 * (including when the balance cannot be read) err stays. Returns -1. */
static int explain_refusal(pc_wallet *w, const pc_tx *tx, pc_error *err)
{
    pc_u256 balance, gas = pc_u256_from_u64(tx->gas_limit), gas_cost, need;
    const pc_u256 *fee_cap = tx->type == PC_TX_EIP1559 ? &tx->max_fee_per_gas : &tx->gas_price;
    if (!err || err->code != PC_ERR_NODE ||
        pc_rpc_get_balance(w->rpc, &w->address, &balance, NULL) != 0 ||
        pc_u256_mul(&gas_cost, &gas, fee_cap) || pc_u256_add(&need, &tx->value, &gas_cost) ||
        pc_u256_cmp(&balance, &need) >= 0)
        return -1;
    char have[PC_U256_DEC_LEN], value[PC_U256_DEC_LEN], addr[PC_ADDRESS_TEXT_LEN];
    pc_u256_to_dec(&balance, have);
    pc_u256_to_dec(&tx->value, value);
    pc_address_format(&w->address, addr);
    return pc_error_set(err, PC_ERR_TRANSACTION,
                        "the account %s holds %s wei: not enough for %s wei plus gas", addr, have,
                        value);
}

int pc_wallet_send(pc_wallet *w, const pc_address *to, const pc_u256 *value, const uint8_t *data,
                   size_t data_len, pc_tx_result *out, pc_bytes *revert_data, pc_error *err)
{
    memset(out, 0, sizeof(*out));
    pc_tx tx = {0};
    tx.chain_id = w->opts.chain_id;
    tx.has_to = to != NULL;
    if (to)
        tx.to = *to;
    if (value)
        tx.value = *value;
    tx.data = data;
    tx.data_len = data_len;

    pc_call call = {.from = &w->address, .to = to, .value = tx.value, .data = data, .data_len = data_len};
    int simulated = pc_rpc_estimate_gas(w->rpc, &call, &tx.gas_limit, revert_data, err);
    if (simulated == 1)
        return simulated;
    if (simulated != 0)
        return explain_refusal(w, &tx, err); /* gas unknown yet: the value alone */
    /* Estimates are exact for the state they ran on; leave room for state
     * that changes before the transaction is mined (e.g. a warm slot). */
    tx.gas_limit += tx.gas_limit / 5 + 10000;
    if (set_fees(w, &tx, err) != 0)
        return -1;
    if (sign_and_send(w, &tx, out, err) != 0)
        return explain_refusal(w, &tx, err);
    int rc = follow_receipt(w, out, err);
    if (w->observer && out->block_number != 0) /* a receipt came: gas was spent */
        w->observer(w->observer_ctx, w, to, data, data_len, out);
    return rc;
}
