/* request_auth.c: see request_auth.h. Hashed piecewise: no copy of the text. */
#include "core/request_auth.h"

#include <string.h>

#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "core/hex.h"

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

/* ---- the request MAC ------------------------------------------------------------------- */

#define MAC_KEY_LABEL "paychan request MAC v1"

void pc_request_mac_key(const uint8_t seckey[32], uint8_t mac_key[32])
{
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, 32, seckey);
    hmac_sha256_update(&ctx, strlen(MAC_KEY_LABEL), (const uint8_t *)MAC_KEY_LABEL);
    hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, mac_key);
    pc_wipe(&ctx, sizeof ctx);
}

static void mac_raw(const uint8_t mac_key[32], const char *sender, const char *target,
                    const char *timestamp, uint8_t mac[32])
{
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, 32, mac_key);
    hmac_sha256_update(&ctx, strlen(sender), (const uint8_t *)sender);
    hmac_sha256_update(&ctx, strlen(target), (const uint8_t *)target);
    hmac_sha256_update(&ctx, 1, (const uint8_t *)"\n");
    hmac_sha256_update(&ctx, strlen(timestamp), (const uint8_t *)timestamp);
    hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, mac);
    pc_wipe(&ctx, sizeof ctx);
}

void pc_request_mac(const uint8_t mac_key[32], const char *sender, const char *target,
                    const char *timestamp, char out[PC_REQUEST_MAC_HEX_LEN])
{
    uint8_t mac[32];
    mac_raw(mac_key, sender, target, timestamp, mac);
    pc_hex_encode(mac, 32, out);
}

int pc_request_mac_equal(const uint8_t mac_key[32], const char *sender, const char *target,
                         const char *timestamp, const uint8_t mac[32])
{
    uint8_t want[32], diff = 0;
    mac_raw(mac_key, sender, target, timestamp, want);
    for (int i = 0; i < 32; i++)
        diff |= (uint8_t)(want[i] ^ mac[i]);
    return diff == 0;
}

int pc_request_mac_check(const uint8_t mac_key[32], const char *sender, const char *target,
                         const char *timestamp, const char *mac)
{
    uint8_t got[32];
    return pc_hex_decode(mac, got, 32) == 0 && /* 0x optional */
           pc_request_mac_equal(mac_key, sender, target, timestamp, got);
}
