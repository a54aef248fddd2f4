/* keystore_write.c: V3 keystore encryption (see keystore_write.h). */
#include "core/crypto/keystore_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/crypto/ecdsa.h"
#include "core/crypto/hash.h"

#define KW_R 8
#define KW_P 1

/* Everything random a keystore needs, drawn at once. */
typedef struct kw_random {
    uint8_t salt[32];
    uint8_t iv[16];
    uint8_t uuid[16];
} kw_random;

int pc_keystore_new_key(uint8_t seckey[32], pc_error *err)
{
    pc_secp *secp = pc_secp_create();
    if (!secp)
        return pc_error_set(err, PC_ERR_INTERNAL, "keystore: cannot create secp256k1 context");
    int rc = -1;
    /* A random 32 bytes is a valid key but with probability ~2^-128: retry then. */
    for (int tries = 0; tries < 8 && rc != 0; tries++)
        if (RAND_bytes(seckey, 32) == 1 && pc_secret_key_valid(secp, seckey))
            rc = 0;
    pc_secp_destroy(secp);
    if (rc != 0) {
        pc_wipe(seckey, 32);
        return pc_error_set(err, PC_ERR_INTERNAL, "keystore: no random key from the OS");
    }
    return 0;
}

static void hex_plain(const uint8_t *in, size_t len, char *out)
{
    char tmp[2 * 64 + 3];
    pc_hex_encode(in, len, tmp); /* "0x..." */
    memcpy(out, tmp + 2, 2 * len + 1);
}

/* The derived key dk (32 bytes) encrypts seckey into ct and makes the MAC. */
static int encrypt_key(const uint8_t dk[32], const uint8_t iv[16], const uint8_t seckey[32],
                       uint8_t ct[32], uint8_t mac[32])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, tail = 0;
    int ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, dk, iv) == 1 &&
             EVP_EncryptUpdate(ctx, ct, &len, seckey, 32) == 1 &&
             EVP_EncryptFinal_ex(ctx, ct + len, &tail) == 1 && len + tail == 32;
    EVP_CIPHER_CTX_free(ctx);
    uint8_t body[48];
    memcpy(body, dk + 16, 16);
    memcpy(body + 16, ct, 32);
    pc_keccak256(body, sizeof body, mac);
    return ok ? 0 : -1;
}

/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from 16 random bytes. */
static void format_uuid(uint8_t u[16], char out[37])
{
    char h[33];
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    hex_plain(u, 16, h);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static char *keystore_text(const pc_address *addr, const kw_random *rnd, uint64_t n,
                           const uint8_t ct[32], const uint8_t mac[32])
{
    char a[41], salt[65], iv[33], cth[65], mach[65], uuid[37];
    kw_random copy = *rnd;
    char addr_text[PC_ADDRESS_TEXT_LEN];
    pc_address_format(addr, addr_text);
    memcpy(a, addr_text + 2, 41);
    hex_plain(rnd->salt, 32, salt);
    hex_plain(rnd->iv, 16, iv);
    hex_plain(ct, 32, cth);
    hex_plain(mac, 32, mach);
    format_uuid(copy.uuid, uuid);
    json_t *doc = json_pack(
        "{s:s, s:s, s:i, s:{s:s, s:s, s:{s:s}, s:s, s:{s:i, s:I, s:i, s:i, s:s}, s:s}}",
        "address", a, "id", uuid, "version", 3, "crypto", "cipher", "aes-128-ctr", "ciphertext",
        cth, "cipherparams", "iv", iv, "kdf", "scrypt", "kdfparams", "dklen", 32, "n",
        (json_int_t)n, "r", KW_R, "p", KW_P, "salt", salt, "mac", mach);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    return text;
}

static int valid_n(uint64_t n)
{
    return n >= 2 && n <= (1u << 20) && (n & (n - 1)) == 0;
}

int pc_keystore_encrypt_json(const uint8_t seckey[32], const char *password, size_t password_len,
                             uint64_t scrypt_n, char **json_out, pc_address *address,
                             pc_error *err)
{
    *json_out = NULL;
    if (!valid_n(scrypt_n))
        return pc_error_set(err, PC_ERR_KEYSTORE, "keystore: scrypt n must be a power of two "
                                                  "in [2, 2^20]");
    pc_address addr;
    pc_secp *secp = pc_secp_create();
    int rc = secp ? pc_secret_to_address(secp, seckey, &addr) : -1;
    pc_secp_destroy(secp);
    if (rc != 0)
        return pc_error_set(err, PC_ERR_KEYSTORE, "keystore: not a valid secp256k1 secret key");
    kw_random rnd;
    if (RAND_bytes((uint8_t *)&rnd, sizeof rnd) != 1)
        return pc_error_set(err, PC_ERR_INTERNAL, "keystore: no randomness from the OS");
    uint8_t dk[32], ct[32], mac[32];
    uint64_t maxmem = 128 * KW_R * (scrypt_n + 2) + 128 * KW_R * KW_P + 4096;
    rc = EVP_PBE_scrypt(password ? password : "", password ? password_len : 0, rnd.salt,
                        sizeof rnd.salt, scrypt_n, KW_R, KW_P, maxmem, dk, sizeof dk) == 1
             ? encrypt_key(dk, rnd.iv, seckey, ct, mac)
             : -1;
    pc_wipe(dk, sizeof dk);
    if (rc == 0 && !(*json_out = keystore_text(&addr, &rnd, scrypt_n, ct, mac)))
        rc = -1;
    if (rc != 0)
        return pc_error_set(err, PC_ERR_INTERNAL, "keystore: encryption failed (out of memory?)");
    if (address)
        *address = addr;
    return 0;
}
