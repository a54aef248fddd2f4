/* keystore.c: see keystore.h. Parsing with jansson, KDFs and AES with
 * OpenSSL's libcrypto, the MAC with our Keccak-256. */
#include "core/crypto/keystore.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/crypto/ecdsa.h"
#include "core/crypto/hash.h"

#define KS_KEY_LEN 32       /* dklen and secret key size: the only ones Ethereum uses */
#define KS_IV_LEN 16
#define KS_MAX_SALT_LEN 256
#define KS_SCRYPT_MAX_N (1u << 20)
#define KS_SCRYPT_MAX_R 32
#define KS_SCRYPT_MAX_P 16
#define KS_SCRYPT_MAX_MEM (1ull << 30) /* 128 * n * r bytes */
#define KS_SCRYPT_MAX_WORK (1ull << 23) /* n * r * p */
#define KS_PBKDF2_MAX_C (1u << 22)

enum ks_kdf { KS_KDF_SCRYPT, KS_KDF_PBKDF2 };

/* Everything the decryption needs, taken out of the JSON. Holds no secrets. */
typedef struct ks_params {
    enum ks_kdf kdf;
    uint64_t n, r, p;     /* scrypt */
    uint64_t c;           /* pbkdf2 iterations */
    const EVP_MD *prf;    /* pbkdf2 HMAC digest */
    uint8_t salt[KS_MAX_SALT_LEN];
    size_t salt_len;
    uint8_t iv[KS_IV_LEN];
    uint8_t ciphertext[KS_KEY_LEN];
    uint8_t mac[32];
    int has_address;
    pc_address address;
} ks_params;

static int ks_fail(pc_error *err, const char *what)
{
    return pc_error_set(err, PC_ERR_KEYSTORE, "keystore: %s", what);
}

/* ---- JSON field access ------------------------------------------------ */

static json_t *get_member(json_t *obj, const char *name, json_type type, pc_error *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v) {
        pc_error_set(err, PC_ERR_KEYSTORE, "keystore: missing field \"%s\"", name);
        return NULL;
    }
    if (json_typeof(v) != type) {
        pc_error_set(err, PC_ERR_KEYSTORE, "keystore: field \"%s\" has the wrong type", name);
        return NULL;
    }
    return v;
}

static const char *get_string(json_t *obj, const char *name, pc_error *err)
{
    json_t *v = get_member(obj, name, JSON_STRING, err);
    return v ? json_string_value(v) : NULL;
}

/* Reads an integer field that must lie in [min, max]. */
static int get_uint(json_t *obj, const char *name, uint64_t min, uint64_t max, uint64_t *out,
                    pc_error *err)
{
    json_t *v = get_member(obj, name, JSON_INTEGER, err);
    if (!v)
        return -1;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
        return pc_error_set(err, PC_ERR_KEYSTORE,
                            "keystore: \"%s\" = %lld is outside the supported range [%llu, %llu]",
                            name, (long long)i, (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)i;
    return 0;
}

/* Reads a hex string field of exactly len bytes. */
static int get_hex(json_t *obj, const char *name, uint8_t *out, size_t len, pc_error *err)
{
    const char *s = get_string(obj, name, err);
    if (!s)
        return -1;
    if (pc_hex_decode(s, out, len) != 0)
        return pc_error_set(err, PC_ERR_KEYSTORE,
                            "keystore: field \"%s\" is not %zu bytes of hex", name, len);
    return 0;
}

/* The "crypto" member in any letter case (geth: "crypto", ethers: "Crypto"). */
static json_t *find_crypto(json_t *root, pc_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        if (strcasecmp(key, "crypto") == 0) {
            if (!json_is_object(value))
                break;
            return value;
        }
    }
    ks_fail(err, "no \"crypto\" object");
    return NULL;
}

/* ---- parsing ------------------------------------------------------------ */

static int parse_scrypt(json_t *kp, ks_params *ks, pc_error *err)
{
    if (get_uint(kp, "n", 2, KS_SCRYPT_MAX_N, &ks->n, err) != 0 ||
        get_uint(kp, "r", 1, KS_SCRYPT_MAX_R, &ks->r, err) != 0 ||
        get_uint(kp, "p", 1, KS_SCRYPT_MAX_P, &ks->p, err) != 0)
        return -1;
    if ((ks->n & (ks->n - 1)) != 0)
        return ks_fail(err, "scrypt \"n\" is not a power of two");
    /* RFC 7914 requires n < 2^(16*r); OpenSSL enforces it, so say so clearly. */
    if (ks->r < 4 && ks->n >= (1ull << (16 * ks->r)))
        return ks_fail(err, "scrypt \"n\" must be below 2^(16*r) (RFC 7914)");
    if (128 * ks->n * ks->r > KS_SCRYPT_MAX_MEM || ks->n * ks->r * ks->p > KS_SCRYPT_MAX_WORK)
        return ks_fail(err, "scrypt parameters need too much memory or time");
    return 0;
}

static int parse_pbkdf2(json_t *kp, ks_params *ks, pc_error *err)
{
    const char *prf = get_string(kp, "prf", err);
    if (!prf)
        return -1;
    if (strcmp(prf, "hmac-sha256") == 0)
        ks->prf = EVP_sha256();
    else if (strcmp(prf, "hmac-sha512") == 0)
        ks->prf = EVP_sha512();
    else
        return ks_fail(err, "unsupported pbkdf2 \"prf\" (supported: hmac-sha256, hmac-sha512)");
    return get_uint(kp, "c", 1, KS_PBKDF2_MAX_C, &ks->c, err);
}

static int parse_kdf(json_t *crypto, ks_params *ks, pc_error *err)
{
    const char *kdf = get_string(crypto, "kdf", err);
    json_t *kp = kdf ? get_member(crypto, "kdfparams", JSON_OBJECT, err) : NULL;
    if (!kp)
        return -1;

    uint64_t dklen;
    if (get_uint(kp, "dklen", KS_KEY_LEN, KS_KEY_LEN, &dklen, err) != 0)
        return -1;
    const char *salt = get_string(kp, "salt", err);
    if (!salt)
        return -1;
    ssize_t salt_len = pc_hex_decode_var(salt, ks->salt, sizeof(ks->salt));
    if (salt_len <= 0)
        return ks_fail(err, "\"salt\" is not 1 to 256 bytes of hex");
    ks->salt_len = (size_t)salt_len;

    if (strcasecmp(kdf, "scrypt") == 0) {
        ks->kdf = KS_KDF_SCRYPT;
        return parse_scrypt(kp, ks, err);
    }
    if (strcasecmp(kdf, "pbkdf2") == 0) {
        ks->kdf = KS_KDF_PBKDF2;
        return parse_pbkdf2(kp, ks, err);
    }
    return ks_fail(err, "unsupported \"kdf\" (supported: scrypt, pbkdf2)");
}

static int parse_cipher(json_t *crypto, ks_params *ks, pc_error *err)
{
    const char *cipher = get_string(crypto, "cipher", err);
    if (!cipher)
        return -1;
    if (strcasecmp(cipher, "aes-128-ctr") != 0)
        return ks_fail(err, "unsupported \"cipher\" (supported: aes-128-ctr)");
    json_t *cp = get_member(crypto, "cipherparams", JSON_OBJECT, err);
    if (!cp || get_hex(cp, "iv", ks->iv, sizeof(ks->iv), err) != 0 ||
        get_hex(crypto, "ciphertext", ks->ciphertext, sizeof(ks->ciphertext), err) != 0 ||
        get_hex(crypto, "mac", ks->mac, sizeof(ks->mac), err) != 0)
        return -1;
    return 0;
}

/* The optional top-level "address": 40 hex digits, with or without "0x". */
static int parse_address(json_t *root, ks_params *ks, pc_error *err)
{
    json_t *v = json_object_get(root, "address");
    ks->has_address = v != NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) || pc_hex_decode(json_string_value(v), ks->address.bytes, 20) != 0)
        return ks_fail(err, "field \"address\" is not 20 bytes of hex");
    return 0;
}

static int parse_root(json_t *root, ks_params *ks, pc_error *err)
{
    if (!json_is_object(root))
        return ks_fail(err, "the JSON text is not an object");
    uint64_t version;
    if (get_uint(root, "version", 3, 3, &version, err) != 0)
        return -1;
    json_t *crypto = find_crypto(root, err);
    if (!crypto || parse_kdf(crypto, ks, err) != 0 || parse_cipher(crypto, ks, err) != 0)
        return -1;
    return parse_address(root, ks, err);
}

static int parse_keystore(const char *json_text, ks_params *ks, pc_error *err)
{
    if (!json_text)
        return ks_fail(err, "no JSON text");
    json_error_t jerr;
    json_t *root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return pc_error_set(err, PC_ERR_KEYSTORE, "keystore: not valid JSON (line %d, column %d: %s)",
                            jerr.line, jerr.column, jerr.text);
    int rc = parse_root(root, ks, err);
    json_decref(root);
    return rc;
}

/* ---- cryptography --------------------------------------------------------- */

static int derive_key(const ks_params *ks, const char *password, size_t password_len,
                      uint8_t dk[KS_KEY_LEN], pc_error *err)
{
    static const char empty[1] = "";
    if (!password) { /* documented as allowed only with length 0 */
        password = empty;
        password_len = 0;
    }
    if (ks->kdf == KS_KDF_SCRYPT) {
        /* OpenSSL needs 128*r*(n+2) bytes for V plus 128*r*p for B. */
        uint64_t maxmem = 128 * ks->r * (ks->n + 2) + 128 * ks->r * ks->p + 4096;
        if (EVP_PBE_scrypt(password, password_len, ks->salt, ks->salt_len, ks->n, ks->r, ks->p,
                           maxmem, dk, KS_KEY_LEN) != 1)
            return ks_fail(err, "scrypt key derivation failed (out of memory?)");
        return 0;
    }
    if (password_len > INT_MAX)
        return ks_fail(err, "password too long");
    if (PKCS5_PBKDF2_HMAC(password, (int)password_len, ks->salt, (int)ks->salt_len, (int)ks->c,
                          ks->prf, KS_KEY_LEN, dk) != 1)
        return ks_fail(err, "pbkdf2 key derivation failed");
    return 0;
}

/* Constant-time check of keccak256(dk[16..32] || ciphertext) against the MAC. */
static int check_mac(const ks_params *ks, const uint8_t dk[KS_KEY_LEN], pc_error *err)
{
    uint8_t body[16 + KS_KEY_LEN], mac[32];
    memcpy(body, dk + 16, 16);
    memcpy(body + 16, ks->ciphertext, KS_KEY_LEN);
    pc_keccak256(body, sizeof(body), mac);
    int equal = CRYPTO_memcmp(mac, ks->mac, sizeof(mac)) == 0;
    pc_wipe(body, sizeof(body));
    if (!equal)
        return ks_fail(err, "wrong password or corrupted file (MAC mismatch)");
    return 0;
}

static int aes_128_ctr(const uint8_t key[16], const uint8_t iv[KS_IV_LEN],
                       const uint8_t in[KS_KEY_LEN], uint8_t out[KS_KEY_LEN], pc_error *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, tail = 0;
    int ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
             EVP_DecryptUpdate(ctx, out, &len, in, KS_KEY_LEN) == 1 &&
             EVP_DecryptFinal_ex(ctx, out + len, &tail) == 1 && len + tail == KS_KEY_LEN;
    EVP_CIPHER_CTX_free(ctx); /* also cleanses the expanded key */
    return ok ? 0 : ks_fail(err, "AES-128-CTR decryption failed");
}

/* Derives the key's address and checks it against the file's, if any. */
static int check_address(const ks_params *ks, const uint8_t seckey[32], pc_address *out,
                         pc_error *err)
{
    pc_secp *secp = pc_secp_create();
    if (!secp)
        return pc_error_set(err, PC_ERR_INTERNAL, "keystore: cannot create secp256k1 context");
    int rc = pc_secret_to_address(secp, seckey, out);
    pc_secp_destroy(secp);
    if (rc != 0)
        return ks_fail(err, "the decrypted key is not a valid secp256k1 secret key");
    if (ks->has_address && !pc_address_equal(&ks->address, out)) {
        char want[PC_ADDRESS_TEXT_LEN], got[PC_ADDRESS_TEXT_LEN];
        pc_address_format(&ks->address, want);
        pc_address_format(out, got);
        return pc_error_set(err, PC_ERR_KEYSTORE,
                            "keystore: its \"address\" %s does not match the key's address %s",
                            want, got);
    }
    return 0;
}

int pc_keystore_decrypt_json(const char *json_text, const char *password, size_t password_len,
                             uint8_t seckey[32], pc_address *address, pc_error *err)
{
    ks_params ks;
    uint8_t dk[KS_KEY_LEN];
    pc_address derived;
    memset(seckey, 0, 32);
    memset(&ks, 0, sizeof(ks));
    int rc = parse_keystore(json_text, &ks, err);
    if (rc == 0)
        rc = derive_key(&ks, password, password_len, dk, err);
    if (rc == 0)
        rc = check_mac(&ks, dk, err);
    if (rc == 0)
        rc = aes_128_ctr(dk, ks.iv, ks.ciphertext, seckey, err);
    if (rc == 0)
        rc = check_address(&ks, seckey, &derived, err);
    pc_wipe(dk, sizeof(dk));
    if (rc != 0) {
        pc_wipe(seckey, 32);
        return -1;
    }
    if (address)
        *address = derived;
    pc_error_clear(err);
    return 0;
}

/* ---- files ---------------------------------------------------------------- */

/* Reads the whole file (at most max bytes) into a NUL-terminated malloc'd
 * buffer. `what` names the file in error messages. */
static char *read_small_file(const char *path, size_t max, const char *what, size_t *len,
                             pc_error *err)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        pc_error_set(err, PC_ERR_KEYSTORE, "cannot open %s %s: %s", what, path ? path : "(null)",
                     path ? strerror(errno) : "no path");
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int failed = !buf || ferror(f);
    fclose(f);
    if (failed || n > max) {
        if (buf)
            pc_wipe(buf, max + 1);
        free(buf);
        pc_error_set(err, PC_ERR_KEYSTORE, "cannot read %s %s: %s", what, path,
                     failed ? "read error" : "file too large");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Strips one trailing "\n" or "\r\n" (editors add one; the rest is the password). */
static size_t strip_one_newline(const char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '\n') {
        len--;
        if (len > 0 && s[len - 1] == '\r')
            len--;
    }
    return len;
}

char *pc_keystore_read_secret_file(const char *path, size_t *len, pc_error *err)
{
    size_t n;
    char *text = read_small_file(path, PC_KEYSTORE_MAX_PASSWORD_SIZE, "file", &n, err);
    if (text) {
        *len = strip_one_newline(text, n);
        text[*len] = '\0';
    }
    return text;
}

void pc_keystore_free_secret(char *secret)
{
    if (!secret)
        return;
    pc_wipe(secret, PC_KEYSTORE_MAX_PASSWORD_SIZE + 1);
    free(secret);
}

/* Prefixes the message in *err with the keystore's path, keeping the code. */
static void name_file_in_error(pc_error *err, const char *path)
{
    if (!err)
        return;
    char inner[sizeof(err->message)];
    memcpy(inner, err->message, sizeof(inner));
    pc_error_set(err, err->code, "%s: %s", path, inner);
}

int pc_keystore_load_file(const char *keystore_path, const char *password_path,
                          uint8_t seckey[32], pc_address *address, pc_error *err)
{
    size_t json_len, pw_cap;
    memset(seckey, 0, 32);
    char *json = read_small_file(keystore_path, PC_KEYSTORE_MAX_FILE_SIZE, "keystore file",
                                 &json_len, err);
    if (!json)
        return -1;
    char *pw = read_small_file(password_path, PC_KEYSTORE_MAX_PASSWORD_SIZE, "password file",
                               &pw_cap, err);
    if (!pw) {
        free(json);
        return -1;
    }
    int rc = pc_keystore_decrypt_json(json, pw, strip_one_newline(pw, pw_cap), seckey, address,
                                      err);
    if (rc != 0)
        name_file_in_error(err, keystore_path);
    pc_wipe(pw, PC_KEYSTORE_MAX_PASSWORD_SIZE + 1);
    free(pw);
    free(json);
    return rc;
}
