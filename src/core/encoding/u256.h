/* u256.h: unsigned 256-bit integers for wei amounts, token ids and counts,
 * with overflow-checked arithmetic and decimal/hex text conversion.
 *
 * Values are plain structs passed by pointer; no function allocates. */
#ifndef PAYCHAN_CORE_U256_H
#define PAYCHAN_CORE_U256_H

#include <stdint.h>

typedef struct pc_u256 {
    uint64_t limb[4]; /* limb[0] is the least significant 64 bits */
} pc_u256;

#define PC_U256_DEC_LEN 79 /* 78 decimal digits + NUL */
#define PC_U256_HEX_LEN 67 /* "0x" + 64 digits + NUL */

/* The value v. */
pc_u256 pc_u256_from_u64(uint64_t v);

/* Reads/writes the 32-byte big-endian form used by ABI and RLP. */
void pc_u256_from_be(pc_u256 *out, const uint8_t be[32]);
void pc_u256_to_be(const pc_u256 *v, uint8_t be[32]);

/* *r = a + b, a - b, a * b. Return 0, or 1 on overflow/underflow (then *r
 * holds the wrapped result). r may alias a or b. */
int pc_u256_add(pc_u256 *r, const pc_u256 *a, const pc_u256 *b);
int pc_u256_sub(pc_u256 *r, const pc_u256 *a, const pc_u256 *b);
int pc_u256_mul(pc_u256 *r, const pc_u256 *a, const pc_u256 *b);

/* -1, 0 or 1 as a <, ==, > b. */
int pc_u256_cmp(const pc_u256 *a, const pc_u256 *b);

/* 1 if v == 0, else 0. */
int pc_u256_is_zero(const pc_u256 *v);

/* Stores v in *out and returns 0 if it fits in 64 bits, else returns -1. */
int pc_u256_to_u64(const pc_u256 *v, uint64_t *out);

/* Parses decimal digits only ("0" .. 2^256-1; no sign, no spaces, no empty
 * string). Returns 0, or -1 on bad input or overflow. */
int pc_u256_parse_dec(const char *text, pc_u256 *out);

/* Parses hex with optional 0x prefix, 1..64 digits. Returns 0 or -1. */
int pc_u256_parse_hex(const char *text, pc_u256 *out);

/* Parses "0x..." as hex and anything else as decimal. Returns 0 or -1. */
int pc_u256_parse(const char *text, pc_u256 *out);

/* Writes the decimal form ("0" for zero). */
void pc_u256_to_dec(const pc_u256 *v, char out[PC_U256_DEC_LEN]);

/* Writes the JSON-RPC quantity form: "0x" and no leading zeros ("0x0" for zero). */
void pc_u256_to_hex(const pc_u256 *v, char out[PC_U256_HEX_LEN]);

#endif
