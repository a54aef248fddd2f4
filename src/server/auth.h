/* auth.h: authenticating a microservice to its Payment Server (docs/protocol.md §3).
 *
 * A call carries x-pay-sender (the service's address) and x-pay-signature:
 * the service's raw ECDSA signature over the digest of core/request_auth.h,
 * which covers the sender, the target exactly as sent and, for a POST, the
 * method, Content-Type and body (a GET's signature never authorizes a
 * POST). With x-pay-timestamp (unix seconds, optionally with a fraction
 * such as "1764457272.000042", which lets a client repeat one call within a
 * second: signatures are deterministic) the timestamp is signed too, must
 * lie within the configured window and each signature is accepted once:
 * claimed in memory (nonce_cache.h; stamps from before the server's start
 * are refused, as a restart forgets the claims) or, for instances sharing a
 * Redis, in Redis for all of them. A POST always needs the timestamp.
 *
 * The original, unstamped scheme (GET only) is accepted only when
 * configured (--allow-unstamped-auth), and then in both forms of protocol §3:
 * the UTF-8 digest and the static per-sender digest the prototype's client
 * library really signs. Neither is protected against replays.
 *
 * Our extension: x-pay-mac instead of x-pay-signature, the request MAC of
 * core/request_auth.h keyed from the service's key, which this server holds;
 * always with x-pay-timestamp, within the window and accepted once like a
 * stamped signature. It costs ~1 µs to check instead of a recovery. */
#ifndef PAYCHAN_SERVER_AUTH_H
#define PAYCHAN_SERVER_AUTH_H

#include <stdint.h>

#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/crypto/request_auth.h"
#include "server/server.h"

typedef struct pc_auth_request {
    const char *sender;    /* x-pay-sender, NULL if absent */
    const char *signature; /* x-pay-signature, NULL if absent */
    const char *mac;       /* x-pay-mac, NULL if absent (then the signature counts) */
    const char *timestamp; /* x-pay-timestamp, NULL if absent */
    const char *target;    /* the raw request target */
    const pc_request_body *body; /* a POST's Content-Type and body; NULL for a GET */
    uint64_t now;          /* unix seconds */
} pc_auth_request;

/* Checks the request. On success *caller is the authenticated account,
 * which this server serves. Codes: 202 sender missing or malformed, 201
 * signature missing, 206 timestamp missing (unstamped scheme off, or a
 * POST), 204 stale timestamp, 200 signature invalid, 205 replayed, 203 the
 * sender is not served here. With a MAC: 206 without a timestamp (always), 203 before
 * 200 (the key is the sender's), 200 for a wrong MAC. */
int pc_auth_check(pc_server *s, const pc_auth_request *req, pc_address *caller, pc_error *err);

/* The warning about the unstamped scheme, for the log at start-up and
 * /status: NULL when it is off. */
const char *pc_auth_unstamped_warning(const pc_config *cfg);

#endif
