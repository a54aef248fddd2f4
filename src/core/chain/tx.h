/* tx.h: Ethereum transactions signed in process: legacy transactions with
 * EIP-155 replay protection and EIP-1559 (type 2) transactions, ready for
 * eth_sendRawTransaction; and the CREATE address of a deployed contract. */
#ifndef PAYCHAN_CORE_TX_H
#define PAYCHAN_CORE_TX_H

#include <stddef.h>
#include <stdint.h>

#include "core/encoding/bytes.h"
#include "core/crypto/ecdsa.h"
#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"

typedef enum pc_tx_type {
    PC_TX_LEGACY,  /* type 0, gas_price, v = recid + chain_id * 2 + 35 */
    PC_TX_EIP1559  /* type 2, max fees, empty access list */
} pc_tx_type;

/* An unsigned transaction. Fields that do not belong to `type` are ignored. */
typedef struct pc_tx {
    pc_tx_type type;
    uint64_t chain_id;                  /* must not be 0 */
    uint64_t nonce;
    uint64_t gas_limit;
    pc_u256 gas_price;                  /* legacy */
    pc_u256 max_priority_fee_per_gas;   /* EIP-1559 */
    pc_u256 max_fee_per_gas;            /* EIP-1559 */
    int has_to;                         /* 0: contract creation (empty `to`) */
    pc_address to;
    pc_u256 value;                      /* wei */
    const uint8_t *data;                /* calldata or init code; NULL if data_len is 0 */
    size_t data_len;
} pc_tx;

/* Writes the bytes whose Keccak-256 is signed into *out (replacing its
 * contents): rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])
 * for legacy, 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas,
 * maxFeePerGas, gas, to, value, data, []]) for EIP-1559.
 * Returns 0, or -1 (PC_ERR_INVALID_ARGUMENT for a bad transaction,
 * PC_ERR_INTERNAL when out of memory). */
int pc_tx_signing_payload(const pc_tx *tx, pc_bytes *out, pc_error *err);

/* hash = keccak256(signing payload). Returns 0 or -1 as above. */
int pc_tx_signing_hash(const pc_tx *tx, uint8_t hash[32], pc_error *err);

/* Signs tx with seckey (RFC 6979, low-s) and writes the raw signed
 * transaction into *raw_out (replacing its contents; empty on failure) and
 * keccak256(raw) into tx_hash (may be NULL). The raw bytes are exactly what
 * eth_sendRawTransaction takes. ctx, tx, seckey and raw_out must not be NULL.
 * Returns 0, or -1 with PC_ERR_INVALID_ARGUMENT (invalid key, chain id 0 or
 * too large for v, data NULL with data_len > 0, unknown type) or
 * PC_ERR_INTERNAL (out of memory). */
int pc_tx_sign(const pc_secp *ctx, const pc_tx *tx, const uint8_t seckey[32], pc_bytes *raw_out,
               uint8_t tx_hash[32], pc_error *err);

/* The address a CREATE from `deployer` with account nonce `nonce` gives the
 * new contract: keccak256(rlp([deployer, nonce]))[12:]. Returns 0, or -1
 * when out of memory. */
int pc_contract_address(const pc_address *deployer, uint64_t nonce, pc_address *out);

#endif
