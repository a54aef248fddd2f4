/* hash.h: Keccak-256 (Ethereum's hash, built on nettle's sha3_permute) and
 * SHA-256 (nettle), one-shot and incremental. */
#ifndef PAYCHAN_CORE_HASH_H
#define PAYCHAN_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define PC_KECCAK256_RATE 136

/* Incremental Keccak-256 state. Initialise with pc_keccak256_init. */
typedef struct pc_keccak256_ctx {
    uint64_t state[25];
    uint8_t block[PC_KECCAK256_RATE];
    size_t block_len;
} pc_keccak256_ctx;

void pc_keccak256_init(pc_keccak256_ctx *ctx);
void pc_keccak256_update(pc_keccak256_ctx *ctx, const uint8_t *data, size_t len);
/* Writes the digest; the context must be re-initialised before reuse. */
void pc_keccak256_final(pc_keccak256_ctx *ctx, uint8_t out[32]);

/* out = keccak256(data[0..len)). Original Keccak padding (0x01), not SHA3-256. */
void pc_keccak256(const uint8_t *data, size_t len, uint8_t out[32]);

/* out = sha256(data[0..len)). */
void pc_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

#endif
