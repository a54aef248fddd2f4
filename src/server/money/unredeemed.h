/* unredeemed.h: the running total of the value validated by this paychand
 * and not yet redeemed, per provider account, so GET /metrics reads it in
 * O(accounts) instead of reading every provider record per scrape.
 *
 * It keeps, per (Mediator, token id) still redeemable, the highest count
 * validated and the cost per request: a validation raises the count (the
 * total grows by the difference x cost), a redemption or the end of the
 * Mediator retires the id (the total shrinks by its value). It lives in
 * memory: after a start, the first duties pass seeds it from the store
 * (the live token ids of every provider record), and validations seed the
 * ids they see. With several instances on one Redis, every duties pass
 * seeds again, so each instance's total takes in the others' validations
 * within one duties interval (docs/architecture.md). Thread-safe. */
#ifndef PAYCHAN_SERVER_UNREDEEMED_H
#define PAYCHAN_SERVER_UNREDEEMED_H

#include "core/encoding/hex.h"
#include "core/encoding/u256.h"

typedef struct pc_unredeemed pc_unredeemed;

/* A new, empty tracker; NULL when out of memory. */
pc_unredeemed *pc_unredeemed_new(void);

/* Frees u; NULL is a no-op. */
void pc_unredeemed_free(pc_unredeemed *u);

/* (mediator, token_id) of account, at cost per request, has `highest`
 * validated: the id's count becomes the larger of its own and highest. */
void pc_unredeemed_raise(pc_unredeemed *u, const pc_address *account, const pc_address *mediator,
                         const pc_u256 *token_id, const pc_u256 *cost, uint64_t highest);

/* The id was redeemed (or can no longer be): its value leaves the total.
 * token_id NULL: every id of the Mediator (it ended). */
void pc_unredeemed_retire(pc_unredeemed *u, const pc_address *mediator, const pc_u256 *token_id);

/* 1 on the first call, 0 after: whoever gets 1 seeds the tracker from the store. */
int pc_unredeemed_first_seeding(pc_unredeemed *u);

/* The sum over every account, in wei. */
pc_u256 pc_unredeemed_total(pc_unredeemed *u);

#endif
