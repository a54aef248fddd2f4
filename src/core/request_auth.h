/* request_auth.h: what a microservice signs to authenticate a call to its
 * Payment Server (spec §3): sha256(utf8(sender + target)) in the original
 * scheme, sha256(utf8(sender + target + "\n" + timestamp)) in the
 * timestamped one; signed raw (no Ethereum message prefix). Shared by the
 * server (checking), libpaychan, the test client and the benchmarks. */
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

#endif
