/* hex.h: hex text <-> bytes, and Ethereum addresses as text (EIP-55).
 *
 * All decoders accept an optional "0x"/"0X" prefix and either letter case
 * (addresses: see pc_address_parse). Encoders write lowercase with "0x". */
#ifndef PAYCHAN_CORE_HEX_H
#define PAYCHAN_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A 20-byte Ethereum account or contract address. */
typedef struct pc_address {
    uint8_t bytes[20];
} pc_address;

/* Text buffer sizes including the terminating NUL. */
#define PC_ADDRESS_TEXT_LEN 43 /* "0x" + 40 digits + NUL */

/* The value of one hex digit (either case), or -1 if c is none. */
int pc_hex_digit(char c);

/* Decodes `hex` (optional 0x prefix) into exactly `out_len` bytes.
 * Returns 0, or -1 if a character is not a hex digit or the text does not
 * hold exactly out_len bytes. */
int pc_hex_decode(const char *hex, uint8_t *out, size_t out_len);

/* Decodes `hex` (optional 0x prefix, even number of digits) into at most
 * `cap` bytes. Returns the number of bytes written, or -1 on a bad digit,
 * an odd digit count, or when the result would not fit. */
ssize_t pc_hex_decode_var(const char *hex, uint8_t *out, size_t cap);

/* Writes "0x" followed by 2*len lowercase digits and a NUL into `out`,
 * which must hold at least 2*len + 3 bytes. */
void pc_hex_encode(const uint8_t *in, size_t len, char *out);

/* Parses "0x" + 40 hex digits. All-lowercase and all-uppercase digits are
 * accepted as they are; mixed case must be a valid EIP-55 checksum.
 * Returns 0, or -1 on any other input (wrong length, bad digit, bad checksum). */
int pc_address_parse(const char *text, pc_address *out);

/* Formats as lowercase "0x..." (the wire format of the protocol's headers). */
void pc_address_format(const pc_address *addr, char out[PC_ADDRESS_TEXT_LEN]);

/* Formats with the EIP-55 mixed-case checksum. */
void pc_address_format_checksum(const pc_address *addr, char out[PC_ADDRESS_TEXT_LEN]);

/* 1 if the two addresses are equal, else 0. */
int pc_address_equal(const pc_address *a, const pc_address *b);

/* 1 if the address is 0x000...0, else 0. */
int pc_address_is_zero(const pc_address *addr);

#endif
