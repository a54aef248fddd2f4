/* rlp.h: Recursive Length Prefix encoding (Ethereum yellow paper, appendix B)
 * for building the transactions we sign, and a strict decoder for reading
 * them back (tests, self-checks).
 *
 * Encoding appends to a pc_bytes buffer. A list is written by calling
 * pc_rlp_list_begin, appending its items, then pc_rlp_list_end, which
 * inserts the length prefix in front of the items; lists nest freely.
 *
 * The decoder accepts only canonical RLP: the shortest length form, no
 * leading zero bytes in a length, no single byte below 0x80 wrapped as a
 * one-byte string, and no item extending past its enclosing buffer. */
#ifndef PAYCHAN_CORE_RLP_H
#define PAYCHAN_CORE_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "core/encoding/bytes.h"
#include "core/encoding/u256.h"

/* ---- encoding: every function returns 0, or -1 when out of memory ---- */

/* Appends the byte string data[0..len) (data may be NULL when len is 0). */
int pc_rlp_put_bytes(pc_bytes *out, const uint8_t *data, size_t len);

/* Appends an integer as its minimal big-endian byte string (0 -> 0x80). */
int pc_rlp_put_u64(pc_bytes *out, uint64_t v);
int pc_rlp_put_u256(pc_bytes *out, const pc_u256 *v);

/* Marks where a list starts. Pass the same marker to pc_rlp_list_end after
 * appending the list's items to `out` (and nothing else). */
typedef struct pc_rlp_list {
    size_t start; /* offset in out->data where the list's items begin */
} pc_rlp_list;

/* Opens a list at the current end of `out`. Cannot fail. */
void pc_rlp_list_begin(const pc_bytes *out, pc_rlp_list *list);

/* Closes the list opened by `list`: inserts the prefix for everything
 * appended since pc_rlp_list_begin. Lists must be closed innermost first. */
int pc_rlp_list_end(pc_bytes *out, const pc_rlp_list *list);

/* Appends a list whose items are the already encoded bytes items[0..len). */
int pc_rlp_put_list_payload(pc_bytes *out, const uint8_t *items, size_t len);

/* ---- decoding ---- */

/* One decoded item. `payload` points into the decoded buffer. */
typedef struct pc_rlp_item {
    int is_list;            /* 1 for a list, 0 for a byte string */
    const uint8_t *payload; /* string bytes, or the encoded items of a list */
    size_t len;             /* payload length */
    size_t encoded_len;     /* prefix + payload */
} pc_rlp_item;

/* Decodes the item at the start of buf[0..len), which may be followed by
 * more bytes. Checks the item's own prefix (canonical, within bounds) but
 * not the items nested in a list. Returns 0, or -1 if malformed. */
int pc_rlp_decode_item(const uint8_t *buf, size_t len, pc_rlp_item *item);

/* Decodes buf[0..len) as exactly one item and checks, recursively, that
 * everything nested inside it is canonical too. Returns 0, or -1. */
int pc_rlp_decode(const uint8_t *buf, size_t len, pc_rlp_item *item);

/* Walks the items of a list. Initialise from a list item. */
typedef struct pc_rlp_iter {
    const uint8_t *next;
    size_t left;
} pc_rlp_iter;

/* Precondition: list->is_list. */
void pc_rlp_iter_init(pc_rlp_iter *it, const pc_rlp_item *list);

/* Reads the next item. Returns 1 with *item filled, 0 at the end of the
 * list, or -1 if the next item is malformed. */
int pc_rlp_iter_next(pc_rlp_iter *it, pc_rlp_item *item);

/* Reads a byte-string item as an unsigned integer. Rejects lists, leading
 * zero bytes (zero must be the empty string) and values that do not fit.
 * Return 0, or -1. */
int pc_rlp_item_u64(const pc_rlp_item *item, uint64_t *out);
int pc_rlp_item_u256(const pc_rlp_item *item, pc_u256 *out);

#endif
