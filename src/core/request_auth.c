/* request_auth.c: see request_auth.h. Hashed piecewise: no copy of the text. */
#include "core/request_auth.h"

#include <string.h>

#include <nettle/sha2.h>

void pc_request_auth_digest(const char *sender, const char *target, const char *timestamp,
                            uint8_t digest[32])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(sender), (const uint8_t *)sender);
    sha256_update(&ctx, strlen(target), (const uint8_t *)target);
    if (timestamp) {
        sha256_update(&ctx, 1, (const uint8_t *)"\n");
        sha256_update(&ctx, strlen(timestamp), (const uint8_t *)timestamp);
    }
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
}

int pc_request_auth_sign(const pc_secp *ctx, const uint8_t key[32], const char *sender,
                         const char *target, const char *timestamp,
                         char out[PC_SIGNATURE_HEX_LEN])
{
    uint8_t digest[32];
    pc_signature sig;
    pc_request_auth_digest(sender, target, timestamp, digest);
    if (pc_ecdsa_sign(ctx, key, digest, &sig) != 0)
        return -1;
    pc_signature_to_hex(&sig, out);
    return 0;
}
