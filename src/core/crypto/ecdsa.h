/* ecdsa.h: secp256k1 signatures as Ethereum uses them: RFC 6979 signing of a
 * 32-byte digest, public key recovery, and address derivation.
 *
 * A pc_secp context wraps libsecp256k1's context. Create one per process (or
 * per component); after creation it is only read, so any number of threads
 * may sign and recover with it at once without locking. */
#ifndef PAYCHAN_CORE_ECDSA_H
#define PAYCHAN_CORE_ECDSA_H

#include <stdint.h>

#include "core/encoding/hex.h"

typedef struct pc_secp pc_secp;

/* A recoverable signature. Signing always produces low-s (s <= n/2). */
typedef struct pc_signature {
    uint8_t r[32];
    uint8_t s[32];
    uint8_t recid; /* recovery id, 0 or 1 (v = 27 + recid on the wire) */
} pc_signature;

/* Creates a randomised signing/verification context. NULL on failure. */
pc_secp *pc_secp_create(void);
void pc_secp_destroy(pc_secp *ctx);

/* 1 if seckey is a valid secret key (0 < key < n), else 0. */
int pc_secret_key_valid(const pc_secp *ctx, const uint8_t seckey[32]);

/* Signs digest deterministically (RFC 6979). Returns 0, or -1 if the key is invalid. */
int pc_ecdsa_sign(const pc_secp *ctx, const uint8_t seckey[32], const uint8_t digest[32],
                  pc_signature *out);

/* Recovers the signer's address from digest and signature. Rejects high-s
 * signatures (as the Mediator contract does). Returns 0, or -1 if the
 * signature is malformed or recovers to no key. */
int pc_ecdsa_recover(const pc_secp *ctx, const uint8_t digest[32], const pc_signature *sig,
                     pc_address *signer);

/* Derives the Ethereum address of a secret key. Returns 0, or -1 if invalid. */
int pc_secret_to_address(const pc_secp *ctx, const uint8_t seckey[32], pc_address *out);

/* Derives the address of a 64-byte uncompressed public key (x || y). */
void pc_pubkey_to_address(const uint8_t pubkey64[64], pc_address *out);

/* Writes the 65-byte wire form r || s || v with v = 27 + recid. */
void pc_signature_serialize(const pc_signature *sig, uint8_t out[65]);

/* Reads r || s || v, v being 27/28 or 0/1. Returns 0, or -1 for another v. */
int pc_signature_parse(const uint8_t in[65], pc_signature *out);

/* Hex forms ("0x" + 130 digits) of the two functions above. */
#define PC_SIGNATURE_HEX_LEN 133
void pc_signature_to_hex(const pc_signature *sig, char out[PC_SIGNATURE_HEX_LEN]);
int pc_signature_from_hex(const char *hex, pc_signature *out);

/* Overwrites len bytes at p with zeros in a way the compiler keeps (for keys). */
void pc_wipe(void *p, size_t len);

#endif
