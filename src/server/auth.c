/* auth.c: see auth.h. */
#include "server/auth.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto/hash.h"
#include "core/crypto/request_auth.h"

/* Unix seconds, optionally with a fraction ("1764457272.123456"): signatures
 * are deterministic, so a client repeating a call within one second makes
 * each one unique with the fraction. *seconds gets the whole seconds, *micros
 * the time in microseconds (digits past the sixth are ignored). */
static int parse_timestamp(const char *text, uint64_t *seconds, uint64_t *micros)
{
    char whole[20];
    size_t n = strcspn(text, ".");
    const char *fraction = text[n] == '.' ? text + n + 1 : NULL;
    if (n == 0 || n >= sizeof(whole) || (fraction && !*fraction))
        return -1;
    uint64_t us = 0, scale = 100000;
    for (const char *f = fraction; f && *f; f++, scale /= 10) {
        if (*f < '0' || *f > '9')
            return -1;
        us += (uint64_t)(*f - '0') * scale;
    }
    memcpy(whole, text, n);
    whole[n] = '\0';
    pc_u256 v;
    if (pc_u256_parse_dec(whole, &v) != 0 || pc_u256_to_u64(&v, seconds) != 0 ||
        *seconds > UINT64_MAX / 1000000u - 1)
        return -1;
    *micros = *seconds * 1000000u + us;
    return 0;
}

/* The timestamp is within the window, and the call's nonce (a hash of its
 * signature or MAC), claimed in memory or the store, fresh. */
static int check_stamp(pc_server *s, const pc_auth_request *r, const uint8_t nonce[32],
                       pc_error *err)
{
    uint64_t ts, ts_us, window = (uint64_t)s->cfg->auth_window_s;
    if (parse_timestamp(r->timestamp, &ts, &ts_us) != 0)
        return pc_error_set(err, PC_ERR_STALE_REQUEST, "x-pay-timestamp is not unix seconds");
    if (ts + window < r->now || ts > r->now + window)
        return pc_error_set(err, PC_ERR_STALE_REQUEST,
                            "request timestamp %llu is more than %llu s from now (%llu)",
                            (unsigned long long)ts, (unsigned long long)window,
                            (unsigned long long)r->now);
    int fresh = 0;
    if (!s->nonces) {
        /* instances sharing a Redis claim there, durably and for all of them */
        if (pc_store_claim_nonce(s->store, nonce, ts + window + 1, &fresh, err) != 0)
            return -1;
    } else {
        /* In memory: a restart forgets the claims, so stamps from before the
         * start are refused; they could be replays of earlier requests. */
        if (ts_us < s->started_at_us)
            return pc_error_set(err, PC_ERR_STALE_REQUEST,
                                "request stamped before this server started");
        if ((fresh = pc_nonce_cache_claim(s->nonces, nonce, ts + window + 1, r->now)) < 0)
            return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    }
    return fresh ? 0 : pc_error_set(err, PC_ERR_REPLAYED_REQUEST, "request signature used before");
}

/* The request MAC extension (auth.h). */
static int check_mac(pc_server *s, const pc_auth_request *r, const pc_address *claimed,
                     pc_error *err)
{
    uint8_t key[32], mac[32], nonce[32];
    if (!r->timestamp)
        return pc_error_set(err, PC_ERR_TIMESTAMP_MISSING, "x-pay-mac needs x-pay-timestamp");
    if (pc_accounts_mac_key(s->accounts, claimed, key) != 0)
        return pc_error_set(err, PC_ERR_UNKNOWN_ACCOUNT, "%s is not served here", r->sender);
    int ok = pc_hex_decode(r->mac, mac, 32) == 0 && /* 0x optional */
             pc_request_mac_equal(key, r->sender, r->target, r->timestamp, r->body, mac);
    pc_wipe(key, sizeof key);
    if (!ok)
        return pc_error_set(err, PC_ERR_REQUEST_SIGNATURE, "request MAC invalid");
    pc_sha256(mac, 32, nonce); /* of the bytes: hex has several spellings */
    return check_stamp(s, r, nonce, err);
}

/* 1 when sig recovers to `claimed` over digest. */
static int signed_by(pc_server *s, const uint8_t digest[32], const pc_signature *sig,
                     const pc_address *claimed)
{
    pc_address signer;
    return pc_ecdsa_recover(s->secp, digest, sig, &signer) == 0 &&
           pc_address_equal(&signer, claimed);
}

/* The signature covers the call: the digest of request_auth.h or, for an
 * unstamped call (GET only, when allowed), the original client's static
 * digest (protocol §3). */
static int signature_valid(pc_server *s, const pc_auth_request *r, const pc_signature *sig,
                           const pc_address *claimed)
{
    uint8_t digest[32];
    if (pc_request_auth_digest(r->sender, r->target, r->timestamp, r->body, digest) != 0)
        return 0;
    if (signed_by(s, digest, sig, claimed))
        return 1;
    return !r->timestamp && pc_request_auth_legacy_digest(r->sender, r->target, digest) == 0 &&
           signed_by(s, digest, sig, claimed);
}

int pc_auth_check(pc_server *s, const pc_auth_request *r, pc_address *caller, pc_error *err)
{
    pc_signature sig;
    pc_address claimed;
    uint8_t raw[65], nonce[32];
    if (!r->sender || !*r->sender)
        return pc_error_set(err, PC_ERR_SENDER_MISSING, "x-pay-sender header missing");
    if (pc_address_parse(r->sender, &claimed) != 0)
        return pc_error_set(err, PC_ERR_SENDER_MISSING, "x-pay-sender is not an address");
    if (r->mac && *r->mac) {
        if (check_mac(s, r, &claimed, err) != 0)
            return -1;
        *caller = claimed;
        return 0;
    }
    if (!r->signature || !*r->signature)
        return pc_error_set(err, PC_ERR_REQUEST_SIGNATURE_MISSING,
                            "x-pay-signature header missing");
    if (!r->timestamp && r->body)
        return pc_error_set(err, PC_ERR_TIMESTAMP_MISSING,
                            "x-pay-timestamp header required: a POST signs its body with it");
    if (!r->timestamp && !s->cfg->allow_unstamped_auth)
        return pc_error_set(err, PC_ERR_TIMESTAMP_MISSING,
                            "x-pay-timestamp header required (unstamped requests are off)");
    if (pc_signature_from_hex(r->signature, &sig) != 0 || !signature_valid(s, r, &sig, &claimed))
        return pc_error_set(err, PC_ERR_REQUEST_SIGNATURE, "request signature invalid");
    if (!pc_accounts_find(s->accounts, &claimed))
        return pc_error_set(err, PC_ERR_UNKNOWN_ACCOUNT, "%s is not served here", r->sender);
    pc_signature_serialize(&sig, raw);
    pc_sha256(raw, 64, nonce); /* r || s: the v byte has two spellings */
    if (r->timestamp && check_stamp(s, r, nonce, err) != 0)
        return -1;
    *caller = claimed;
    return 0;
}

const char *pc_auth_unstamped_warning(const pc_config *cfg)
{
    if (!cfg->allow_unstamped_auth)
        return NULL;
    return "--allow-unstamped-auth: requests without x-pay-timestamp are accepted, including "
           "the original client's signature over a static per-sender digest (the same for "
           "every call): a static, replayable credential; anyone who captures one such call "
           "can replay it and make any GET call as that service";
}
