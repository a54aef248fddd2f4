/* request_auth.c: see request_auth.h. The signed text is fed piecewise to
 * the hash or the MAC (no copy of it); one function writes it for both. */
#include "core/crypto/request_auth.h"

#include <string.h>

#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "core/encoding/hex.h"

static void feed_text(void *ctx, nettle_hash_update_func *update, const char *text)
{
    update(ctx, strlen(text), (const uint8_t *)text);
}

/* Feeds the signed text of request_auth.h to update(ctx, ...); -1 for a
 * POST without a timestamp (its text is not defined). */
static int feed(void *ctx, nettle_hash_update_func *update, const char *sender,
                const char *target, const char *timestamp, const pc_request_body *body)
{
    if (body && !timestamp)
        return -1;
    feed_text(ctx, update, sender);
    feed_text(ctx, update, target);
    if (timestamp) {
        feed_text(ctx, update, "\n");
        feed_text(ctx, update, timestamp);
    }
    if (body) {
        uint8_t body_hash[32];
        char body_hex[2 * 32 + 3];
        struct sha256_ctx h;
        sha256_init(&h);
        sha256_update(&h, body->len, body->data);
        sha256_digest(&h, sizeof body_hash, body_hash);
        pc_hex_encode(body_hash, sizeof body_hash, body_hex);
        feed_text(ctx, update, "\nPOST\n");
        feed_text(ctx, update, body->content_type ? body->content_type : "");
        feed_text(ctx, update, "\n");
        feed_text(ctx, update, body_hex + 2); /* without "0x" */
    }
    return 0;
}

int pc_request_auth_digest(const char *sender, const char *target, const char *timestamp,
                           const pc_request_body *body, uint8_t digest[32])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    if (feed(&ctx, (nettle_hash_update_func *)sha256_update, sender, target, timestamp, body) != 0)
        return -1;
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
    return 0;
}

int pc_request_auth_sign(const pc_secp *ctx, const uint8_t key[32], const char *sender,
                         const char *target, const char *timestamp,
                         const pc_request_body *body, char out[PC_SIGNATURE_HEX_LEN])
{
    uint8_t digest[32];
    pc_signature sig;
    if (pc_request_auth_digest(sender, target, timestamp, body, digest) != 0 ||
        pc_ecdsa_sign(ctx, key, digest, &sig) != 0)
        return -1;
    pc_signature_to_hex(&sig, out);
    return 0;
}

/* ---- the original client's digest ------------------------------------------------------ */

/* Digit i of "0x"-stripped sender + target, counting the leading "0" of
 * odd-length texts (toBuffer's padToEven): -1 past the end or not hex. */
static int legacy_digit(const char *sender, size_t sender_len, const char *target, size_t i,
                        int padded)
{
    if (padded && i-- == 0)
        return 0;
    return pc_hex_digit(i < sender_len ? sender[i] : target[i - sender_len]);
}

int pc_request_auth_legacy_digest(const char *sender, const char *target, uint8_t digest[32])
{
    if (strncmp(sender, "0x", 2) != 0) /* isHexPrefixed: lowercase "0x" only */
        return -1;
    sender += 2;
    size_t sender_len = strlen(sender), total = sender_len + strlen(target);
    int padded = total % 2 != 0;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    /* Node's hex decoding stops at the first pair that is not two digits */
    for (size_t i = 0; i + 1 < total + (size_t)padded; i += 2) {
        int hi = legacy_digit(sender, sender_len, target, i, padded);
        int lo = legacy_digit(sender, sender_len, target, i + 1, padded);
        if (hi < 0 || lo < 0)
            break;
        uint8_t byte = (uint8_t)(hi << 4 | lo);
        sha256_update(&ctx, 1, &byte);
    }
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
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

/* The MAC of the call; a MAC always has a timestamp (NULL: an all-zero
 * MAC, which pc_request_mac_equal never accepts as it recomputes). */
static void mac_raw(const uint8_t mac_key[32], const char *sender, const char *target,
                    const char *timestamp, const pc_request_body *body, uint8_t mac[32])
{
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, 32, mac_key);
    if (timestamp &&
        feed(&ctx, (nettle_hash_update_func *)hmac_sha256_update, sender, target, timestamp,
             body) == 0)
        hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, mac);
    else
        memset(mac, 0, 32);
    pc_wipe(&ctx, sizeof ctx);
}

void pc_request_mac(const uint8_t mac_key[32], const char *sender, const char *target,
                    const char *timestamp, const pc_request_body *body,
                    char out[PC_REQUEST_MAC_HEX_LEN])
{
    uint8_t mac[32];
    mac_raw(mac_key, sender, target, timestamp, body, mac);
    pc_hex_encode(mac, 32, out);
}

int pc_request_mac_equal(const uint8_t mac_key[32], const char *sender, const char *target,
                         const char *timestamp, const pc_request_body *body,
                         const uint8_t mac[32])
{
    uint8_t want[32], diff = 0;
    if (!timestamp)
        return 0;
    mac_raw(mac_key, sender, target, timestamp, body, want);
    for (int i = 0; i < 32; i++)
        diff |= (uint8_t)(want[i] ^ mac[i]);
    return diff == 0;
}

int pc_request_mac_check(const uint8_t mac_key[32], const char *sender, const char *target,
                         const char *timestamp, const pc_request_body *body, const char *mac)
{
    uint8_t got[32];
    return pc_hex_decode(mac, got, 32) == 0 && /* 0x optional */
           pc_request_mac_equal(mac_key, sender, target, timestamp, body, got);
}
