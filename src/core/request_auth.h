/* request_auth.h: what a microservice signs to authenticate a call to its
 * Payment Server (docs/protocol.md §3): sha256(utf8(sender + target)) in the original
 * scheme, sha256(utf8(sender + target + "\n" + timestamp)) in the
 * timestamped one; signed raw (no Ethereum message prefix). Shared by the
 * server (checking), libpaychan, the test client and the benchmarks.
 *
 * Also our extension, the request MAC (header x-pay-mac instead of
 * x-pay-signature, always with x-pay-timestamp): HMAC-SHA256 over the same
 * text as the timestamped scheme, keyed with a key derived from the
 * service's secret key. The service and its Payment Server both hold that
 * key (docs/protocol.md §3), so the MAC proves the same as the signature, with the same
 * replay protection, for ~1 µs instead of a signature (~27 µs) on the
 * client and a recovery (~43 µs) on the server per call. */
#ifndef PAYCHAN_CORE_REQUEST_AUTH_H
#define PAYCHAN_CORE_REQUEST_AUTH_H

#include <stdint.h>

#include "core/ecdsa.h"

/* digest of the call: sender and target exactly as sent (target = path and
 * query string), timestamp as sent or NULL for the original scheme. */
void pc_request_auth_digest(const char *sender, const char *target, const char *timestamp,
                            uint8_t digest[32]);

/* Signs the digest with key and writes the x-pay-signature value (0x + r||s||v).
 * Returns 0, or -1 if the key is invalid. */
int pc_request_auth_sign(const pc_secp *ctx, const uint8_t key[32], const char *sender,
                         const char *target, const char *timestamp,
                         char out[PC_SIGNATURE_HEX_LEN]);

/* Size of an x-pay-mac value: "0x", 64 lowercase hex digits and a NUL. */
#define PC_REQUEST_MAC_HEX_LEN 67

/* The request MAC key of a service: HMAC-SHA256(key = its secret key,
 * "paychan request MAC v1"). One-way: it reveals nothing of the key. */
void pc_request_mac_key(const uint8_t seckey[32], uint8_t mac_key[32]);

/* The x-pay-mac value of a call: HMAC-SHA256(mac_key, sender + target +
 * "\n" + timestamp) as 0x-prefixed lowercase hex; all three as sent. */
void pc_request_mac(const uint8_t mac_key[32], const char *sender, const char *target,
                    const char *timestamp, char out[PC_REQUEST_MAC_HEX_LEN]);

/* 1 when the 32 bytes `mac` are the request MAC of the call, else 0; the
 * comparison takes the same time wherever the first difference is. */
int pc_request_mac_equal(const uint8_t mac_key[32], const char *sender, const char *target,
                         const char *timestamp, const uint8_t mac[32]);

/* pc_request_mac_equal for `mac` as received (hex, 0x optional); 0 when it
 * is not 32 bytes of hex. */
int pc_request_mac_check(const uint8_t mac_key[32], const char *sender, const char *target,
                         const char *timestamp, const char *mac);

#endif
