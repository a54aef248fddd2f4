/* keystore_write.h: writing Ethereum V3 keystores ("Web3 Secret Storage
 * Definition" v3) as geth does: kdf scrypt (dklen 32, a random 32-byte
 * salt), cipher aes-128-ctr (a random 16-byte iv), MAC
 * keccak256(derived[16..32] || ciphertext), a random version-4 UUID and the
 * address without "0x". keystore.h reads them back (and geth, cast, ethers).
 * The counterpart of keystore.h for `paychan keys new|import`. */
#ifndef PAYCHAN_CORE_KEYSTORE_WRITE_H
#define PAYCHAN_CORE_KEYSTORE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/runtime/error.h"
#include "core/encoding/hex.h"

/* geth's standard scrypt cost (~256 MiB, ~1 s) and its --lightkdf one. */
#define PC_KEYSTORE_SCRYPT_N_STANDARD 262144
#define PC_KEYSTORE_SCRYPT_N_LIGHT 4096

/* Encrypts the 32-byte secret key with password[0..password_len) under
 * scrypt (scrypt_n a power of two in [2, 2^20], r 8, p 1; keystore.h's
 * bounds). On success stores a malloc'ed NUL-terminated JSON text in
 * *json_out (the caller frees it) and the key's address in *address (may be
 * NULL), and returns 0. On failure returns -1 with PC_ERR_KEYSTORE
 * (invalid key, bad scrypt_n) or PC_ERR_INTERNAL (random source, OpenSSL).
 * Intermediate secrets are wiped. Thread-safe. */
int pc_keystore_encrypt_json(const uint8_t seckey[32], const char *password, size_t password_len,
                             uint64_t scrypt_n, char **json_out, pc_address *address,
                             pc_error *err);

/* A fresh random valid secp256k1 secret key from the OS's random source
 * (OpenSSL RAND_bytes). 0, or -1 with PC_ERR_INTERNAL. */
int pc_keystore_new_key(uint8_t seckey[32], pc_error *err);

#endif
