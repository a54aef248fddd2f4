/* tx.c: see tx.h. */
#include "core/chain/tx.h"

#include <string.h>

#include "core/crypto/hash.h"
#include "core/encoding/rlp.h"

#define EIP1559_TYPE_BYTE 0x02
/* Largest chain id for which v = 1 + chain_id * 2 + 35 fits in 64 bits. */
#define MAX_CHAIN_ID ((UINT64_MAX - 36) / 2)

static int validate(const pc_tx *tx, pc_error *err)
{
    if (tx->type != PC_TX_LEGACY && tx->type != PC_TX_EIP1559)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "unknown transaction type %d",
                            (int)tx->type);
    if (tx->chain_id == 0 || tx->chain_id > MAX_CHAIN_ID)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "unsupported chain id %llu",
                            (unsigned long long)tx->chain_id);
    if (tx->data == NULL && tx->data_len > 0)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "transaction data is NULL");
    return 0;
}

/* The `to` field: 20 bytes, or the empty string for a contract creation. */
static int put_to(pc_bytes *out, const pc_tx *tx)
{
    return tx->has_to ? pc_rlp_put_bytes(out, tx->to.bytes, sizeof(tx->to.bytes))
                      : pc_rlp_put_bytes(out, NULL, 0);
}

/* [nonce, gasPrice, gas, to, value, data]: the part shared by the legacy
 * signing payload and the signed legacy transaction. */
static int put_legacy_fields(pc_bytes *out, const pc_tx *tx)
{
    return pc_rlp_put_u64(out, tx->nonce) || pc_rlp_put_u256(out, &tx->gas_price) ||
           pc_rlp_put_u64(out, tx->gas_limit) || put_to(out, tx) ||
           pc_rlp_put_u256(out, &tx->value) || pc_rlp_put_bytes(out, tx->data, tx->data_len);
}

/* [chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value,
 * data, accessList] of a type 2 transaction; the access list is empty. */
static int put_eip1559_fields(pc_bytes *out, const pc_tx *tx)
{
    pc_rlp_list access_list;
    if (pc_rlp_put_u64(out, tx->chain_id) || pc_rlp_put_u64(out, tx->nonce) ||
        pc_rlp_put_u256(out, &tx->max_priority_fee_per_gas) ||
        pc_rlp_put_u256(out, &tx->max_fee_per_gas) || pc_rlp_put_u64(out, tx->gas_limit) ||
        put_to(out, tx) || pc_rlp_put_u256(out, &tx->value) ||
        pc_rlp_put_bytes(out, tx->data, tx->data_len))
        return -1;
    pc_rlp_list_begin(out, &access_list);
    return pc_rlp_list_end(out, &access_list);
}

/* The signature fields [v, r, s]; v is the EIP-155 value for legacy
 * transactions and the y parity for type 2. */
static int put_signature(pc_bytes *out, const pc_tx *tx, const pc_signature *sig)
{
    uint64_t v = tx->type == PC_TX_LEGACY ? sig->recid + tx->chain_id * 2 + 35 : sig->recid;
    pc_u256 r, s;
    pc_u256_from_be(&r, sig->r);
    pc_u256_from_be(&s, sig->s);
    return pc_rlp_put_u64(out, v) || pc_rlp_put_u256(out, &r) || pc_rlp_put_u256(out, &s);
}

/* Encodes the signing payload (sig == NULL) or the signed transaction into
 * *out, replacing its contents. The transaction must have been validated. */
static int encode(const pc_tx *tx, const pc_signature *sig, pc_bytes *out, pc_error *err)
{
    pc_rlp_list list;
    int failed;
    pc_bytes_clear(out);
    if (tx->type == PC_TX_EIP1559 && pc_bytes_push(out, EIP1559_TYPE_BYTE) != 0)
        goto oom;
    pc_rlp_list_begin(out, &list);
    if (tx->type == PC_TX_LEGACY) {
        failed = put_legacy_fields(out, tx);
        /* EIP-155: the payload ends in [chainId, 0, 0] where v, r, s go. */
        if (!failed && !sig)
            failed = pc_rlp_put_u64(out, tx->chain_id) || pc_rlp_put_u64(out, 0) ||
                     pc_rlp_put_u64(out, 0);
    } else {
        failed = put_eip1559_fields(out, tx);
    }
    if (!failed && sig)
        failed = put_signature(out, tx, sig);
    if (failed || pc_rlp_list_end(out, &list) != 0)
        goto oom;
    return 0;
oom:
    pc_bytes_clear(out);
    return pc_error_set(err, PC_ERR_INTERNAL, "out of memory encoding a transaction");
}

int pc_tx_signing_payload(const pc_tx *tx, pc_bytes *out, pc_error *err)
{
    if (validate(tx, err) != 0) {
        pc_bytes_clear(out);
        return -1;
    }
    return encode(tx, NULL, out, err);
}

int pc_tx_signing_hash(const pc_tx *tx, uint8_t hash[32], pc_error *err)
{
    pc_bytes payload = {0};
    int rc = pc_tx_signing_payload(tx, &payload, err);
    if (rc == 0)
        pc_keccak256(payload.data, payload.len, hash);
    pc_bytes_free(&payload);
    return rc;
}

int pc_tx_sign(const pc_secp *ctx, const pc_tx *tx, const uint8_t seckey[32], pc_bytes *raw_out,
               uint8_t tx_hash[32], pc_error *err)
{
    uint8_t digest[32];
    pc_signature sig;
    pc_bytes_clear(raw_out);
    if (pc_tx_signing_hash(tx, digest, err) != 0)
        return -1;
    if (pc_ecdsa_sign(ctx, seckey, digest, &sig) != 0)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "invalid secret key");
    if (encode(tx, &sig, raw_out, err) != 0)
        return -1;
    if (tx_hash)
        pc_keccak256(raw_out->data, raw_out->len, tx_hash);
    return 0;
}

int pc_contract_address(const pc_address *deployer, uint64_t nonce, pc_address *out)
{
    pc_bytes enc = {0};
    pc_rlp_list list;
    uint8_t hash[32];
    pc_rlp_list_begin(&enc, &list);
    int failed = pc_rlp_put_bytes(&enc, deployer->bytes, sizeof(deployer->bytes)) ||
                 pc_rlp_put_u64(&enc, nonce) || pc_rlp_list_end(&enc, &list);
    if (!failed) {
        pc_keccak256(enc.data, enc.len, hash);
        memcpy(out->bytes, hash + 12, sizeof(out->bytes));
    }
    pc_bytes_free(&enc);
    return failed ? -1 : 0;
}
