/* store_money.c: the money operations of store.h (checks and dispatch to
 * the backends) and the helpers the backends share for them. */
#include <stdlib.h>
#include <string.h>

#include "server/store/store_internal.h"

/* A Redis backend keeps amounts in three 32-bit parts: refuse what they cannot hold. */
static int check_event(const pc_money_event *ev, pc_error *err)
{
    if (ev->n > sizeof ev->entries / sizeof ev->entries[0])
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: %zu money entries", ev->n);
    for (size_t i = 0; i < ev->n; i++) {
        const pc_u256 *a = &ev->entries[i].amount;
        if ((unsigned)ev->entries[i].field >= PC_MONEY_FIELDS)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: bad money field");
        if (a->limb[3] || a->limb[2] || a->limb[1] >> 32)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: an amount of 2^96 wei or more");
    }
    return 0;
}

int pc_store_record_money(pc_store *s, const pc_money_event *ev, int *fresh, pc_error *err)
{
    int ignored;
    if (check_event(ev, err) != 0)
        return -1;
    return s->ops->record_money(s, ev, fresh ? fresh : &ignored, err);
}

int pc_store_money_totals(pc_store *s, pc_money_total **totals, size_t *n, pc_error *err)
{
    *totals = NULL;
    *n = 0;
    int rc = s->ops->money_totals(s, totals, n, err);
    if (rc != 0 || *n == 0) {
        free(*totals);
        *totals = NULL;
        *n = 0;
    }
    return rc;
}

int pc_store_last_redemption(pc_store *s, const pc_address *mediator, pc_redemption *r,
                             int *found, pc_error *err)
{
    *found = 0;
    memset(r, 0, sizeof *r);
    return s->ops->last_redemption(s, mediator, r, found, err);
}

pc_money_total *pc_money_total_find(pc_money_total **totals, size_t *n, size_t *cap,
                                    const pc_address *account)
{
    return pc_total_find((void **)totals, sizeof **totals, n, cap, account);
}

void pc_redemption_encode(const pc_redemption *r, uint8_t out[PC_REDEMPTION_WIRE_LEN])
{
    pc_u256_to_be(&r->token_id, out);
    pc_put_u64(out + 32, r->count);
    pc_put_u64(out + 40, r->at);
}

void pc_redemption_decode(const uint8_t in[PC_REDEMPTION_WIRE_LEN], pc_redemption *r)
{
    pc_u256_from_be(&r->token_id, in);
    r->count = pc_get_u64(in + 32);
    r->at = pc_get_u64(in + 40);
}
