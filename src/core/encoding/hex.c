/* hex.c: see hex.h. */
#include "core/encoding/hex.h"

#include <string.h>

#include "core/crypto/hash.h"

int pc_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char *skip_prefix(const char *hex)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        return hex + 2;
    return hex;
}

/* Decodes n_bytes from 2*n_bytes digits at p; the caller has checked the length. */
static int decode_digits(const char *p, uint8_t *out, size_t n_bytes)
{
    for (size_t i = 0; i < n_bytes; i++) {
        int hi = pc_hex_digit(p[2 * i]);
        int lo = pc_hex_digit(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int pc_hex_decode(const char *hex, uint8_t *out, size_t out_len)
{
    const char *p = skip_prefix(hex);
    if (strlen(p) != 2 * out_len)
        return -1;
    return decode_digits(p, out, out_len);
}

ssize_t pc_hex_decode_var(const char *hex, uint8_t *out, size_t cap)
{
    const char *p = skip_prefix(hex);
    size_t digits = strlen(p);
    if (digits % 2 != 0 || digits / 2 > cap)
        return -1;
    if (decode_digits(p, out, digits / 2) != 0)
        return -1;
    return (ssize_t)(digits / 2);
}

void pc_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[in[i] >> 4];
        out[3 + 2 * i] = digits[in[i] & 0x0f];
    }
    out[2 + 2 * len] = '\0';
}

void pc_address_format(const pc_address *addr, char out[PC_ADDRESS_TEXT_LEN])
{
    pc_hex_encode(addr->bytes, sizeof(addr->bytes), out);
}

void pc_address_format_checksum(const pc_address *addr, char out[PC_ADDRESS_TEXT_LEN])
{
    /* EIP-55: uppercase the letter at position i when nibble i of
     * keccak256(lowercase hex without 0x) is >= 8. */
    uint8_t hash[32];
    pc_address_format(addr, out);
    pc_keccak256((const uint8_t *)out + 2, 40, hash);
    for (int i = 0; i < 40; i++) {
        int nibble = (i % 2 == 0) ? hash[i / 2] >> 4 : hash[i / 2] & 0x0f;
        char *c = &out[2 + i];
        if (*c >= 'a' && *c <= 'f' && nibble >= 8)
            *c = (char)(*c - 'a' + 'A');
    }
}

int pc_address_parse(const char *text, pc_address *out)
{
    if (!text || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return -1;
    const char *digits = text + 2;
    if (strlen(digits) != 40)
        return -1;
    pc_address parsed;
    if (decode_digits(digits, parsed.bytes, 20) != 0)
        return -1;
    int has_lower = 0, has_upper = 0;
    for (int i = 0; i < 40; i++) {
        has_lower |= digits[i] >= 'a' && digits[i] <= 'f';
        has_upper |= digits[i] >= 'A' && digits[i] <= 'F';
    }
    if (has_lower && has_upper) {
        char expected[PC_ADDRESS_TEXT_LEN];
        pc_address_format_checksum(&parsed, expected);
        if (memcmp(expected + 2, digits, 40) != 0)
            return -1;
    }
    *out = parsed;
    return 0;
}

int pc_address_equal(const pc_address *a, const pc_address *b)
{
    return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

int pc_address_is_zero(const pc_address *addr)
{
    static const pc_address zero;
    return pc_address_equal(addr, &zero);
}
