/* request_auth.h: what a microservice signs to authenticate a call to its
 * Payment Server (docs/protocol.md §3), shared by the server (checking), libpaychan, the
 * test client and the benchmarks. The signed text is
 *
 *   GET:  sender + target                         (original, unstamped scheme)
 *         sender + target + "\n" + timestamp      (timestamped scheme)
 *   POST: sender + target + "\n" + timestamp + "\nPOST\n" + content_type
 *         + "\n" + hex(sha256(body))
 *
 * all as sent (target = path and query string; content_type the
 * Content-Type header, "" when absent; hex lowercase), hashed with sha256
 * and signed raw (no Ethereum message prefix). A POST's parameters are in
 * its body, so its method, body and the type that says how to read the body
 * are covered too: a GET's signature never authorizes a POST, and a POST's
 * body cannot be swapped under its signature. A POST always has a timestamp.
 *
 * Also our extension, the request MAC (header x-pay-mac instead of
 * x-pay-signature, always with x-pay-timestamp): HMAC-SHA256 over the same
 * text, keyed with a key derived from the service's secret key. The
 * service and its Payment Server both hold that key (docs/protocol.md §3), so the MAC
 * proves the same as the signature, with the same replay protection, for
 * ~1 µs instead of a signature (~27 µs) on the client and a recovery
 * (~43 µs) on the server per call.
 *
 * And the digest the original prototype client really signs
 * (pc_request_auth_legacy_digest), which servers admitting the original
 * scheme must accept too. */
#ifndef PAYCHAN_CORE_REQUEST_AUTH_H
#define PAYCHAN_CORE_REQUEST_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto/ecdsa.h"

/* What a POST adds to the signed text: its Content-Type exactly as sent
 * (NULL or "" when absent) and its body (len bytes; data may be NULL when
 * len is 0). A GET passes NULL instead of a pc_request_body. */
typedef struct pc_request_body {
    const char *content_type;
    const uint8_t *data;
    size_t len;
} pc_request_body;

/* Digest of the call: sender and target exactly as sent, timestamp as sent
 * or NULL for the original scheme, body NULL for a GET. A POST (body not
 * NULL) needs a timestamp: without one its body is not covered, so this
 * returns -1 (and the server refuses the call); else 0. */
int pc_request_auth_digest(const char *sender, const char *target, const char *timestamp,
                           const pc_request_body *body, uint8_t digest[32]);

/* Signs the digest with key and writes the x-pay-signature value (0x + r||s||v).
 * Returns 0, or -1 if the key is invalid or the digest undefined (see above). */
int pc_request_auth_sign(const pc_secp *ctx, const uint8_t key[32], const char *sender,
                         const char *target, const char *timestamp,
                         const pc_request_body *body, char out[PC_SIGNATURE_HEX_LEN]);

/* The digest the original client library signs for an unstamped GET (spec
 * §3): sha256(toBuffer(sender + target)) of ethereumjs-util 5.1.1, whose
 * toBuffer reads a "0x"-prefixed string as hex, padded to even length with
 * a leading "0", and stops at the first pair that is not hex. For an
 * address sender that is its 20 bytes, or "0" and its first 39 digits:
 * the same for every target of one parity, a static credential. Returns
 * 0, or -1 when sender + target has no "0x" prefix (then the library hashed
 * the UTF-8 text, the digest of pc_request_auth_digest). */
int pc_request_auth_legacy_digest(const char *sender, const char *target, uint8_t digest[32]);

/* Size of an x-pay-mac value: "0x", 64 lowercase hex digits and a NUL. */
#define PC_REQUEST_MAC_HEX_LEN 67

/* The request MAC key of a service: HMAC-SHA256(key = its secret key,
 * "paychan request MAC v1"). One-way: it reveals nothing of the key. */
void pc_request_mac_key(const uint8_t seckey[32], uint8_t mac_key[32]);

/* The x-pay-mac value of a call: HMAC-SHA256(mac_key, the signed text
 * above) as 0x-prefixed lowercase hex; timestamp is required. */
void pc_request_mac(const uint8_t mac_key[32], const char *sender, const char *target,
                    const char *timestamp, const pc_request_body *body,
                    char out[PC_REQUEST_MAC_HEX_LEN]);

/* 1 when the 32 bytes `mac` are the request MAC of the call, else 0; the
 * comparison takes the same time wherever the first difference is. */
int pc_request_mac_equal(const uint8_t mac_key[32], const char *sender, const char *target,
                         const char *timestamp, const pc_request_body *body,
                         const uint8_t mac[32]);

/* pc_request_mac_equal for `mac` as received (hex, 0x optional); 0 when it
 * is not 32 bytes of hex. */
int pc_request_mac_check(const uint8_t mac_key[32], const char *sender, const char *target,
                         const char *timestamp, const pc_request_body *body, const char *mac);

#endif
