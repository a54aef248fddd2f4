/* address_set.h: a growable hash set of addresses (open addressing). Not
 * thread-safe: callers hold their own lock. */
#ifndef PAYCHAN_SERVER_ADDRESS_SET_H
#define PAYCHAN_SERVER_ADDRESS_SET_H

#include <stddef.h>

#include "core/encoding/hex.h"

typedef struct pc_address_set {
    pc_address *slots;
    unsigned char *used;
    size_t cap; /* a power of two, or 0 */
    size_t n;
} pc_address_set;

/* 1 if a is in the set. */
int pc_address_set_has(const pc_address_set *set, const pc_address *a);

/* Adds a. Returns 0 (also if already present), or -1 when out of memory. */
int pc_address_set_add(pc_address_set *set, const pc_address *a);

/* Removes a if present. */
void pc_address_set_remove(pc_address_set *set, const pc_address *a);

/* Frees the storage; the set is empty and usable afterwards. */
void pc_address_set_free(pc_address_set *set);

#endif
