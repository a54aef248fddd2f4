/* address_set.c: see address_set.h. Linear probing; removal re-inserts the
 * rest of the probe run so lookups never stop at a hole too early. */
#include "server/address_set.h"

#include <stdlib.h>
#include <string.h>

static size_t hash(const pc_address *a)
{
    size_t h;
    memcpy(&h, a->bytes, sizeof(h)); /* addresses are keccak output: already uniform */
    return h;
}

/* Slot of a, or of the empty slot where it would go. cap must be > 0. */
static size_t probe(const pc_address_set *set, const pc_address *a)
{
    size_t i = hash(a) & (set->cap - 1);
    while (set->used[i] && !pc_address_equal(&set->slots[i], a))
        i = (i + 1) & (set->cap - 1);
    return i;
}

int pc_address_set_has(const pc_address_set *set, const pc_address *a)
{
    return set->cap && set->used[probe(set, a)];
}

static int grow(pc_address_set *set)
{
    pc_address_set bigger = {0};
    bigger.cap = set->cap ? set->cap * 2 : 16;
    bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
    bigger.used = calloc(bigger.cap, 1);
    if (!bigger.slots || !bigger.used) {
        pc_address_set_free(&bigger);
        return -1;
    }
    for (size_t i = 0; i < set->cap; i++)
        if (set->used[i])
            pc_address_set_add(&bigger, &set->slots[i]);
    pc_address_set_free(set);
    *set = bigger;
    return 0;
}

int pc_address_set_add(pc_address_set *set, const pc_address *a)
{
    if ((set->n + 1) * 2 > set->cap && grow(set) != 0)
        return -1;
    size_t i = probe(set, a);
    if (!set->used[i]) {
        set->used[i] = 1;
        set->slots[i] = *a;
        set->n++;
    }
    return 0;
}

void pc_address_set_remove(pc_address_set *set, const pc_address *a)
{
    if (!set->cap)
        return;
    size_t i = probe(set, a);
    if (!set->used[i])
        return;
    set->used[i] = 0;
    set->n--;
    for (size_t j = (i + 1) & (set->cap - 1); set->used[j]; j = (j + 1) & (set->cap - 1)) {
        pc_address moved = set->slots[j];
        set->used[j] = 0;
        set->n--;
        pc_address_set_add(set, &moved);
    }
}

void pc_address_set_free(pc_address_set *set)
{
    free(set->slots);
    free(set->used);
    memset(set, 0, sizeof(*set));
}
