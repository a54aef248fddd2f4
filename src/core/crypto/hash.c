/* hash.c: Keccak-256 as a sponge over nettle's Keccak-f[1600] permutation
 * (nettle's own sha3_256 uses the SHA-3 padding 0x06, Ethereum needs 0x01),
 * and SHA-256 straight from nettle. */
#include "core/crypto/hash.h"

#include <string.h>

#include <nettle/sha2.h>
#include <nettle/sha3.h>

/* nettle's state is 25 little-endian lanes, the same layout as ours. */
static void permute(pc_keccak256_ctx *ctx)
{
    struct sha3_state st;
    memcpy(st.a, ctx->state, sizeof(st.a));
    sha3_permute(&st);
    memcpy(ctx->state, st.a, sizeof(st.a));
}

static void absorb_block(pc_keccak256_ctx *ctx, const uint8_t *block)
{
    for (size_t i = 0; i < PC_KECCAK256_RATE / 8; i++) {
        uint64_t lane = 0;
        for (int b = 7; b >= 0; b--)
            lane = lane << 8 | block[8 * i + (size_t)b];
        ctx->state[i] ^= lane;
    }
    permute(ctx);
}

void pc_keccak256_init(pc_keccak256_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
}

void pc_keccak256_update(pc_keccak256_ctx *ctx, const uint8_t *data, size_t len)
{
    if (ctx->block_len > 0) {
        size_t take = PC_KECCAK256_RATE - ctx->block_len;
        if (take > len)
            take = len;
        memcpy(ctx->block + ctx->block_len, data, take);
        ctx->block_len += take;
        data += take;
        len -= take;
        if (ctx->block_len < PC_KECCAK256_RATE)
            return;
        absorb_block(ctx, ctx->block);
        ctx->block_len = 0;
    }
    for (; len >= PC_KECCAK256_RATE; data += PC_KECCAK256_RATE, len -= PC_KECCAK256_RATE)
        absorb_block(ctx, data);
    memcpy(ctx->block, data, len);
    ctx->block_len = len;
}

void pc_keccak256_final(pc_keccak256_ctx *ctx, uint8_t out[32])
{
    /* Keccak padding: 0x01 after the message, 0x80 in the last byte of the block. */
    memset(ctx->block + ctx->block_len, 0, PC_KECCAK256_RATE - ctx->block_len);
    ctx->block[ctx->block_len] ^= 0x01;
    ctx->block[PC_KECCAK256_RATE - 1] ^= 0x80;
    absorb_block(ctx, ctx->block);
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(ctx->state[i / 8] >> (8 * (i % 8)));
}

void pc_keccak256(const uint8_t *data, size_t len, uint8_t out[32])
{
    pc_keccak256_ctx ctx;
    pc_keccak256_init(&ctx);
    pc_keccak256_update(&ctx, data, len);
    pc_keccak256_final(&ctx, out);
}

void pc_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}
