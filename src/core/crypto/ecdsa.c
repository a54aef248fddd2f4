/* ecdsa.c: see ecdsa.h. A thin layer over libsecp256k1 and its recovery module. */
#include "core/crypto/ecdsa.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "core/crypto/hash.h"

struct pc_secp {
    secp256k1_context *ctx;
};

/* n/2 for secp256k1, big-endian: the largest s the Mediator accepts. */
static const uint8_t half_order[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

pc_secp *pc_secp_create(void)
{
    pc_secp *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    /* Randomising the context blinds signing against side channels. */
    uint8_t seed[32];
    if (!s->ctx || RAND_bytes(seed, sizeof(seed)) != 1 ||
        !secp256k1_context_randomize(s->ctx, seed)) {
        pc_secp_destroy(s);
        return NULL;
    }
    pc_wipe(seed, sizeof(seed));
    return s;
}

void pc_secp_destroy(pc_secp *s)
{
    if (!s)
        return;
    if (s->ctx)
        secp256k1_context_destroy(s->ctx);
    free(s);
}

int pc_secret_key_valid(const pc_secp *s, const uint8_t seckey[32])
{
    return secp256k1_ec_seckey_verify(s->ctx, seckey) == 1;
}

int pc_ecdsa_sign(const pc_secp *s, const uint8_t seckey[32], const uint8_t digest[32],
                  pc_signature *out)
{
    secp256k1_ecdsa_recoverable_signature sig;
    uint8_t compact[64];
    int recid;
    if (!secp256k1_ecdsa_sign_recoverable(s->ctx, &sig, digest, seckey, NULL, NULL))
        return -1;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(s->ctx, compact, &recid, &sig);
    memcpy(out->r, compact, 32);
    memcpy(out->s, compact + 32, 32);
    out->recid = (uint8_t)recid;
    return 0;
}

void pc_pubkey_to_address(const uint8_t pubkey64[64], pc_address *out)
{
    uint8_t hash[32];
    pc_keccak256(pubkey64, 64, hash);
    memcpy(out->bytes, hash + 12, 20);
}

static void address_of_pubkey(const secp256k1_context *ctx, const secp256k1_pubkey *pub,
                              pc_address *out)
{
    uint8_t serialized[65];
    size_t len = sizeof(serialized);
    secp256k1_ec_pubkey_serialize(ctx, serialized, &len, pub, SECP256K1_EC_UNCOMPRESSED);
    pc_pubkey_to_address(serialized + 1, out); /* skip the 0x04 prefix */
}

int pc_ecdsa_recover(const pc_secp *s, const uint8_t digest[32], const pc_signature *sig,
                     pc_address *signer)
{
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_pubkey pub;
    uint8_t compact[64];
    if (sig->recid > 1 || memcmp(sig->s, half_order, 32) > 0)
        return -1;
    memcpy(compact, sig->r, 32);
    memcpy(compact + 32, sig->s, 32);
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(s->ctx, &rsig, compact, sig->recid))
        return -1;
    if (!secp256k1_ecdsa_recover(s->ctx, &pub, &rsig, digest))
        return -1;
    address_of_pubkey(s->ctx, &pub, signer);
    return 0;
}

int pc_secret_to_address(const pc_secp *s, const uint8_t seckey[32], pc_address *out)
{
    secp256k1_pubkey pub;
    if (!secp256k1_ec_pubkey_create(s->ctx, &pub, seckey))
        return -1;
    address_of_pubkey(s->ctx, &pub, out);
    return 0;
}

void pc_signature_serialize(const pc_signature *sig, uint8_t out[65])
{
    memcpy(out, sig->r, 32);
    memcpy(out + 32, sig->s, 32);
    out[64] = (uint8_t)(27 + sig->recid);
}

int pc_signature_parse(const uint8_t in[65], pc_signature *out)
{
    uint8_t v = in[64];
    if (v >= 27)
        v -= 27;
    if (v > 1)
        return -1;
    memcpy(out->r, in, 32);
    memcpy(out->s, in + 32, 32);
    out->recid = v;
    return 0;
}

void pc_signature_to_hex(const pc_signature *sig, char out[PC_SIGNATURE_HEX_LEN])
{
    uint8_t raw[65];
    pc_signature_serialize(sig, raw);
    pc_hex_encode(raw, sizeof(raw), out);
}

int pc_signature_from_hex(const char *hex, pc_signature *out)
{
    uint8_t raw[65];
    if (pc_hex_decode(hex, raw, sizeof(raw)) != 0)
        return -1;
    return pc_signature_parse(raw, out);
}

void pc_wipe(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}
