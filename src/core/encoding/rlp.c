/* rlp.c: see rlp.h. */
#include "core/encoding/rlp.h"

#include <string.h>

#define RLP_STRING_BASE 0x80
#define RLP_LIST_BASE 0xc0
#define RLP_SHORT_MAX 55 /* longest payload with a one-byte prefix */
#define RLP_MAX_DEPTH 256 /* deeper nesting is rejected by pc_rlp_decode */
#define RLP_PREFIX_MAX (1 + sizeof(uint64_t))

/* Writes v big-endian without leading zero bytes; returns the byte count
 * (0 for v == 0). */
static size_t be_minimal(uint64_t v, uint8_t out[8])
{
    size_t n = 0;
    for (uint64_t t = v; t != 0; t >>= 8)
        n++;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return n;
}

/* Builds the prefix of a payload of `len` bytes; base is 0x80 for strings
 * and 0xc0 for lists. Returns the prefix length. */
static size_t make_prefix(uint8_t base, size_t len, uint8_t prefix[RLP_PREFIX_MAX])
{
    if (len <= RLP_SHORT_MAX) {
        prefix[0] = (uint8_t)(base + len);
        return 1;
    }
    size_t n = be_minimal((uint64_t)len, prefix + 1);
    prefix[0] = (uint8_t)(base + RLP_SHORT_MAX + n);
    return 1 + n;
}

/* Appends the prefix of a `len`-byte payload (base as for make_prefix),
 * then the payload itself. 0, or -1 when out of memory. */
static int put_prefixed(pc_bytes *out, uint8_t base, const uint8_t *payload, size_t len)
{
    uint8_t prefix[RLP_PREFIX_MAX];
    size_t plen = make_prefix(base, len, prefix);
    if (pc_bytes_reserve(out, plen + len) != 0)
        return -1;
    pc_bytes_append(out, prefix, plen);
    return pc_bytes_append(out, payload, len);
}

int pc_rlp_put_bytes(pc_bytes *out, const uint8_t *data, size_t len)
{
    /* A single byte below 0x80 is its own encoding. */
    if (len == 1 && data[0] < RLP_STRING_BASE)
        return pc_bytes_push(out, data[0]);
    return put_prefixed(out, RLP_STRING_BASE, data, len);
}

int pc_rlp_put_u64(pc_bytes *out, uint64_t v)
{
    uint8_t be[8];
    size_t n = be_minimal(v, be);
    return pc_rlp_put_bytes(out, be, n);
}

int pc_rlp_put_u256(pc_bytes *out, const pc_u256 *v)
{
    uint8_t be[32];
    pc_u256_to_be(v, be);
    size_t skip = 0;
    while (skip < sizeof(be) && be[skip] == 0)
        skip++;
    return pc_rlp_put_bytes(out, be + skip, sizeof(be) - skip);
}

void pc_rlp_list_begin(const pc_bytes *out, pc_rlp_list *list)
{
    list->start = out->len;
}

int pc_rlp_list_end(pc_bytes *out, const pc_rlp_list *list)
{
    size_t payload_len = out->len - list->start;
    uint8_t prefix[RLP_PREFIX_MAX];
    size_t plen = make_prefix(RLP_LIST_BASE, payload_len, prefix);
    if (pc_bytes_reserve(out, plen) != 0)
        return -1;
    /* Shift the items right to make room for the prefix in front of them. */
    uint8_t *items = out->data + list->start;
    memmove(items + plen, items, payload_len);
    memcpy(items, prefix, plen);
    out->len += plen;
    return 0;
}

int pc_rlp_put_list_payload(pc_bytes *out, const uint8_t *items, size_t len)
{
    return put_prefixed(out, RLP_LIST_BASE, items, len);
}

/* Reads the big-endian length of a long-form prefix: `lenlen` bytes at
 * p[0..avail). Rejects leading zeros, lengths that had a short form, and
 * payloads longer than what follows the length bytes. */
static int read_long_length(const uint8_t *p, size_t avail, size_t lenlen, size_t *out)
{
    if (lenlen > avail || lenlen > sizeof(size_t) || p[0] == 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < lenlen; i++)
        n = (n << 8) | p[i];
    if (n <= RLP_SHORT_MAX || n > avail - lenlen)
        return -1;
    *out = n;
    return 0;
}

int pc_rlp_decode_item(const uint8_t *buf, size_t len, pc_rlp_item *item)
{
    if (len == 0)
        return -1;
    uint8_t b = buf[0];
    if (b < RLP_STRING_BASE) {
        *item = (pc_rlp_item){.is_list = 0, .payload = buf, .len = 1, .encoded_len = 1};
        return 0;
    }
    int is_list = b >= RLP_LIST_BASE;
    uint8_t base = is_list ? RLP_LIST_BASE : RLP_STRING_BASE;
    size_t code = (size_t)(b - base); /* 0..63 */
    size_t header = 1, n;
    if (code <= RLP_SHORT_MAX) {
        n = code;
        if (n > len - 1)
            return -1;
        /* A single byte below 0x80 must not be wrapped in a prefix. */
        if (!is_list && n == 1 && buf[1] < RLP_STRING_BASE)
            return -1;
    } else {
        size_t lenlen = code - RLP_SHORT_MAX; /* 1..8 */
        if (read_long_length(buf + 1, len - 1, lenlen, &n) != 0)
            return -1;
        header += lenlen;
    }
    *item = (pc_rlp_item){
        .is_list = is_list, .payload = buf + header, .len = n, .encoded_len = header + n};
    return 0;
}

void pc_rlp_iter_init(pc_rlp_iter *it, const pc_rlp_item *list)
{
    it->next = list->payload;
    it->left = list->len;
}

int pc_rlp_iter_next(pc_rlp_iter *it, pc_rlp_item *item)
{
    if (it->left == 0)
        return 0;
    if (pc_rlp_decode_item(it->next, it->left, item) != 0)
        return -1;
    it->next += item->encoded_len;
    it->left -= item->encoded_len;
    return 1;
}

/* Checks every item nested in `list`, down to RLP_MAX_DEPTH levels. */
static int check_nested(const pc_rlp_item *list, int depth)
{
    if (depth > RLP_MAX_DEPTH)
        return -1;
    pc_rlp_iter it;
    pc_rlp_item child;
    int rc;
    pc_rlp_iter_init(&it, list);
    while ((rc = pc_rlp_iter_next(&it, &child)) == 1) {
        if (child.is_list && check_nested(&child, depth + 1) != 0)
            return -1;
    }
    return rc;
}

int pc_rlp_decode(const uint8_t *buf, size_t len, pc_rlp_item *item)
{
    if (pc_rlp_decode_item(buf, len, item) != 0 || item->encoded_len != len)
        return -1;
    return item->is_list ? check_nested(item, 1) : 0;
}

/* Shared checks of the integer readers: a string of at most `max` bytes
 * with no leading zero. */
static int integer_item_ok(const pc_rlp_item *item, size_t max)
{
    return !item->is_list && item->len <= max && (item->len == 0 || item->payload[0] != 0);
}

int pc_rlp_item_u64(const pc_rlp_item *item, uint64_t *out)
{
    if (!integer_item_ok(item, sizeof(uint64_t)))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < item->len; i++)
        v = (v << 8) | item->payload[i];
    *out = v;
    return 0;
}

int pc_rlp_item_u256(const pc_rlp_item *item, pc_u256 *out)
{
    if (!integer_item_ok(item, 32))
        return -1;
    uint8_t be[32] = {0};
    if (item->len > 0)
        memcpy(be + 32 - item->len, item->payload, item->len);
    pc_u256_from_be(out, be);
    return 0;
}
