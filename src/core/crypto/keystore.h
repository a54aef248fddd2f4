/* keystore.h: unlocking Ethereum V3 keystore files ("Web3 Secret Storage
 * Definition" v3, as written by geth, Foundry's `cast wallet` and ethers).
 *
 * Supported: kdf "scrypt" (n, r, p, dklen, salt) and "pbkdf2" (c, dklen,
 * prf "hmac-sha256" or "hmac-sha512", salt); cipher "aes-128-ctr"; the MAC
 * keccak256(derived[16..32] || ciphertext), checked in constant time before
 * anything is decrypted. The "crypto" member is found in any letter case
 * (geth writes "crypto", ethers "Crypto").
 *
 * KDF parameters are bounded so that a hostile file cannot make us hang or
 * allocate gigabytes: dklen must be 32; scrypt n a power of two in
 * [2, 2^20] and below 2^(16*r) (RFC 7914, enforced by OpenSSL), r in [1, 32],
 * p in [1, 16], 128*n*r <= 1 GiB and n*r*p <= 2^23;
 * pbkdf2 c in [1, 2^22]. Standard files (geth n=262144 r=8 p=1, cast and the
 * dev keystores n=8192, pbkdf2 c=262144) are well inside these bounds.
 *
 * Every failure is PC_ERR_KEYSTORE with a message naming the problem (file
 * unreadable, not JSON, missing or malformed field, unsupported kdf/cipher,
 * parameters out of bounds, wrong password, address mismatch). Messages never
 * contain the password or any key material. Derived keys and intermediate
 * buffers are wiped before returning. The functions are thread-safe. */
#ifndef PAYCHAN_CORE_KEYSTORE_H
#define PAYCHAN_CORE_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/runtime/error.h"
#include "core/encoding/hex.h"

/* Largest keystore / password file pc_keystore_load_file reads. */
#define PC_KEYSTORE_MAX_FILE_SIZE (64 * 1024)
#define PC_KEYSTORE_MAX_PASSWORD_SIZE 4096

/* Decrypts the keystore in json_text (NUL-terminated) with the password
 * password[0..password_len) (raw bytes, normally UTF-8; may contain NULs and
 * may be empty, password may be NULL only if password_len is 0).
 *
 * On success writes the 32-byte secret key to seckey and, if address is not
 * NULL, the key's address to *address, and returns 0. If the keystore has an
 * "address" field (40 hex digits, "0x" optional) it must match the key's
 * address. On failure returns -1, fills *err (may be NULL) and leaves seckey
 * zeroed (and *address untouched).
 *
 * Takes as long as the KDF; measured here: ~25 ms for n=8192, ~0.4 s for
 * n=131072 (ethers default), ~60 ms for pbkdf2 c=262144. */
int pc_keystore_decrypt_json(const char *json_text, const char *password, size_t password_len,
                             uint8_t seckey[32], pc_address *address, pc_error *err);

/* Reads the keystore file at keystore_path and the password from the file at
 * password_path (its whole content minus one trailing "\n" or "\r\n"; all
 * other bytes, including spaces, are part of the password), then works as
 * pc_keystore_decrypt_json. Error messages name the file concerned. Both
 * files must be at most the sizes above. */
int pc_keystore_load_file(const char *keystore_path, const char *password_path,
                          uint8_t seckey[32], pc_address *address, pc_error *err);

/* Reads a small secret file the way pc_keystore_load_file reads a password
 * file: its whole content (at most PC_KEYSTORE_MAX_PASSWORD_SIZE bytes)
 * minus one trailing "\n" or "\r\n", NUL-terminated, its length in *len.
 * Returns the malloc'ed text (free it with pc_keystore_free_secret), or NULL
 * with PC_ERR_KEYSTORE naming the file. For the paychan CLI's password and
 * key files. */
char *pc_keystore_read_secret_file(const char *path, size_t *len, pc_error *err);

/* Wipes and frees a text of pc_keystore_read_secret_file. NULL is a no-op. */
void pc_keystore_free_secret(char *secret);

#endif
