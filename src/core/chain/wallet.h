/* wallet.h: an Ethereum account whose key this process holds, sending its own
 * transactions: simulate (eth_estimateGas, so a revert costs no gas and
 * yields its error data), take a nonce from the tracker, sign locally
 * (EIP-1559, or legacy EIP-155 for nodes without a base fee), send with
 * eth_sendRawTransaction and follow the transaction to its receipt.
 *
 * Any standard node works, including ones with no unlocked accounts. The
 * wallet does not own the rpc client or the secp context it is given; both
 * must outlive it. A wallet may be used by several threads at once (nonces
 * come from the rpc client's thread-safe tracker). */
#ifndef PAYCHAN_CORE_WALLET_H
#define PAYCHAN_CORE_WALLET_H

#include <stdint.h>

#include "core/encoding/bytes.h"
#include "core/crypto/ecdsa.h"
#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/chain/rpc.h"
#include "core/encoding/u256.h"

typedef struct pc_wallet pc_wallet;

typedef struct pc_wallet_options {
    uint64_t chain_id;      /* the chain to sign for; must equal the node's */
    int receipt_timeout_ms; /* how long to wait for a receipt; 0 = 60000 */
    int force_legacy;       /* 1: always send legacy EIP-155 transactions */
} pc_wallet_options;

/* Creates a wallet for seckey (copied; the caller should wipe its copy).
 * rpc, secp and opts must not be NULL. Returns NULL and fills *err if the
 * key is invalid or memory runs out. */
pc_wallet *pc_wallet_create(pc_rpc *rpc, const pc_secp *secp, const uint8_t seckey[32],
                            const pc_wallet_options *opts, pc_error *err);

/* Wipes the key and frees the wallet. NULL is a no-op. */
void pc_wallet_destroy(pc_wallet *w);

/* The wallet's address. */
const pc_address *pc_wallet_address(const pc_wallet *w);

/* The rpc client and secp context the wallet was created with. */
pc_rpc *pc_wallet_rpc(const pc_wallet *w);
const pc_secp *pc_wallet_secp(const pc_wallet *w);
uint64_t pc_wallet_chain_id(const pc_wallet *w);

/* What happened to a transaction the wallet sent. */
typedef struct pc_tx_result {
    int sent;                    /* 1 once the node accepted the raw transaction */
    uint8_t tx_hash[32];         /* valid if sent */
    int status;                  /* receipt status: 1 success, 0 reverted */
    uint64_t block_number;
    uint64_t gas_used;
    pc_u256 fee;                 /* gas_used * effective gas price, in wei */
    pc_address contract_address; /* for a contract creation */
    pc_log *logs;                /* the receipt's logs; free with pc_tx_result_free */
    size_t n_logs;
} pc_tx_result;

/* Frees the logs held by *r and zeroes it. */
void pc_tx_result_free(pc_tx_result *r);

/* Sends a transaction from the wallet and waits for its receipt.
 * to: NULL for a contract creation (data is the init code). value may be NULL (0).
 * Returns 0 when the transaction was mined with status 1 (*out filled);
 *         1 when the simulation reverted: nothing was sent, *revert_data
 *           holds the revert data (if revert_data is not NULL) and *err is
 *           PC_ERR_TRANSACTION;
 *        -1 on any other failure: PC_ERR_NODE (node unreachable or it
 *           rejected the transaction), PC_ERR_TRANSACTION (the account
 *           cannot pay the value plus gas: checked when the node refuses;
 *           not mined in time, or mined with status 0: then out->sent and
 *           out->status tell which). out must not be NULL and is always initialised;
 *           free it with pc_tx_result_free. */
int pc_wallet_send(pc_wallet *w, const pc_address *to, const pc_u256 *value, const uint8_t *data,
                   size_t data_len, pc_tx_result *out, pc_bytes *revert_data, pc_error *err);

/* Called for every transaction the wallet sent once its receipt is in,
 * whatever its status (a reverted one spent gas too), on the sending thread,
 * before pc_wallet_send returns. to: the contract called, NULL for a
 * creation; data: the calldata or init code. It must not call into the
 * wallet. Transactions whose receipt never came are not reported (their gas
 * is unknown). */
typedef void (*pc_wallet_observer)(void *ctx, const pc_wallet *w, const pc_address *to,
                                   const uint8_t *data, size_t data_len,
                                   const pc_tx_result *result);

/* Sets the observer (NULL: none). Set it before the wallet is shared by threads. */
void pc_wallet_set_observer(pc_wallet *w, pc_wallet_observer fn, void *ctx);

/* Signs a 32-byte digest with the wallet's key (e.g. an EIP-712 digest). */
int pc_wallet_sign_digest(const pc_wallet *w, const uint8_t digest[32], pc_signature *out);

#endif
