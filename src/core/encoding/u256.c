/* u256.c: see u256.h. Schoolbook arithmetic on four 64-bit limbs, using the
 * compiler's 128-bit type for carries. */
#include "core/encoding/u256.h"

#include <string.h>

typedef unsigned __int128 u128;

pc_u256 pc_u256_from_u64(uint64_t v)
{
    pc_u256 r = {{v, 0, 0, 0}};
    return r;
}

void pc_u256_from_be(pc_u256 *out, const uint8_t be[32])
{
    for (int limb = 0; limb < 4; limb++) {
        uint64_t w = 0;
        for (int i = 0; i < 8; i++)
            w = w << 8 | be[(3 - limb) * 8 + i];
        out->limb[limb] = w;
    }
}

void pc_u256_to_be(const pc_u256 *v, uint8_t be[32])
{
    for (int limb = 0; limb < 4; limb++)
        for (int i = 0; i < 8; i++)
            be[(3 - limb) * 8 + i] = (uint8_t)(v->limb[limb] >> (56 - 8 * i));
}

int pc_u256_add(pc_u256 *r, const pc_u256 *a, const pc_u256 *b)
{
    u128 carry = 0;
    pc_u256 out;
    for (int i = 0; i < 4; i++) {
        carry += (u128)a->limb[i] + b->limb[i];
        out.limb[i] = (uint64_t)carry;
        carry >>= 64;
    }
    *r = out;
    return carry != 0;
}

int pc_u256_sub(pc_u256 *r, const pc_u256 *a, const pc_u256 *b)
{
    uint64_t borrow = 0;
    pc_u256 out;
    for (int i = 0; i < 4; i++) {
        u128 sub = (u128)b->limb[i] + borrow;
        out.limb[i] = a->limb[i] - (uint64_t)sub;
        borrow = (u128)a->limb[i] < sub;
    }
    *r = out;
    return borrow != 0;
}

int pc_u256_mul(pc_u256 *r, const pc_u256 *a, const pc_u256 *b)
{
    uint64_t out[8] = {0};
    for (int i = 0; i < 4; i++) {
        u128 carry = 0;
        for (int j = 0; j < 4; j++) {
            carry += (u128)a->limb[i] * b->limb[j] + out[i + j];
            out[i + j] = (uint64_t)carry;
            carry >>= 64;
        }
        out[i + 4] = (uint64_t)carry;
    }
    memcpy(r->limb, out, sizeof(r->limb));
    return (out[4] | out[5] | out[6] | out[7]) != 0;
}

int pc_u256_cmp(const pc_u256 *a, const pc_u256 *b)
{
    for (int i = 3; i >= 0; i--) {
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    }
    return 0;
}

int pc_u256_is_zero(const pc_u256 *v)
{
    return (v->limb[0] | v->limb[1] | v->limb[2] | v->limb[3]) == 0;
}

int pc_u256_to_u64(const pc_u256 *v, uint64_t *out)
{
    if (v->limb[1] | v->limb[2] | v->limb[3])
        return -1;
    *out = v->limb[0];
    return 0;
}

/* v = v * mul + add; returns 1 on overflow. */
static int mul_add_small(pc_u256 *v, uint64_t mul, uint64_t add)
{
    u128 carry = add;
    for (int i = 0; i < 4; i++) {
        carry += (u128)v->limb[i] * mul;
        v->limb[i] = (uint64_t)carry;
        carry >>= 64;
    }
    return carry != 0;
}

/* v = v / div; returns the remainder. */
static uint32_t div_small(pc_u256 *v, uint32_t div)
{
    u128 rem = 0;
    for (int i = 3; i >= 0; i--) {
        u128 cur = rem << 64 | v->limb[i];
        v->limb[i] = (uint64_t)(cur / div);
        rem = cur % div;
    }
    return (uint32_t)rem;
}

int pc_u256_parse_dec(const char *text, pc_u256 *out)
{
    if (!text || !*text)
        return -1;
    pc_u256 v = pc_u256_from_u64(0);
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (mul_add_small(&v, 10, (uint64_t)(*p - '0')))
            return -1;
    }
    *out = v;
    return 0;
}

int pc_u256_parse_hex(const char *text, pc_u256 *out)
{
    if (!text)
        return -1;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        text += 2;
    size_t n = strlen(text);
    if (n == 0 || n > 64)
        return -1;
    pc_u256 v = pc_u256_from_u64(0);
    for (const char *p = text; *p; p++) {
        uint64_t d;
        if (*p >= '0' && *p <= '9')
            d = (uint64_t)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            d = (uint64_t)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F')
            d = (uint64_t)(*p - 'A' + 10);
        else
            return -1;
        mul_add_small(&v, 16, d); /* cannot overflow: at most 64 digits */
    }
    *out = v;
    return 0;
}

int pc_u256_parse(const char *text, pc_u256 *out)
{
    if (text && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        return pc_u256_parse_hex(text, out);
    return pc_u256_parse_dec(text, out);
}

void pc_u256_to_dec(const pc_u256 *v, char out[PC_U256_DEC_LEN])
{
    char tmp[PC_U256_DEC_LEN];
    size_t n = 0;
    pc_u256 rest = *v;
    do {
        tmp[n++] = (char)('0' + div_small(&rest, 10));
    } while (!pc_u256_is_zero(&rest));
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

void pc_u256_to_hex(const pc_u256 *v, char out[PC_U256_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 2;
    int started = 0;
    out[0] = '0';
    out[1] = 'x';
    for (int i = 63; i >= 0; i--) {
        int d = (int)(v->limb[i / 16] >> (4 * (i % 16))) & 0xf;
        started |= d != 0;
        if (started)
            out[n++] = digits[d];
    }
    if (!started)
        out[n++] = '0';
    out[n] = '\0';
}
