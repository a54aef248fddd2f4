/* money_ledger.c: see money_ledger.h. */
#include "server/money/money_ledger.h"

#include <string.h>
#include <time.h>

#include "core/runtime/logger.h"
#include "server/store/store.h"
#include "server/money/unredeemed.h"

/* 1 when a is one of the accounts this server serves. */
static int ours(pc_server *s, const pc_address *a)
{
    for (size_t i = 0; i < pc_accounts_count(s->accounts); i++)
        if (pc_address_equal(pc_accounts_address(s->accounts, i), a))
            return 1;
    return 0;
}

/* Adds (account, field, amount) to ev when the account is ours and the amount not zero. */
static void credit(pc_server *s, pc_money_event *ev, const pc_address *account,
                   pc_money_field field, const pc_u256 *amount)
{
    if (!ours(s, account) || pc_u256_is_zero(amount))
        return;
    ev->entries[ev->n++] = (pc_money_entry){.account = *account, .field = field, .amount = *amount};
}

/* 1 when this server keeps a record of the Mediator in some role. */
static int served(pc_server *s, const pc_address *mediator)
{
    pc_mediator_record rec;
    pc_error err;
    int found = 0;
    for (int role = PC_ROLE_CONSUMER; !found && role <= PC_ROLE_PROVIDER; role++)
        if (pc_store_get_mediator(s->store, mediator, (pc_mediator_role)role, &rec, &found,
                                  &err) != 0)
            return 1; /* cannot tell: ask the chain */
    return found;
}

/* The consumer and provider of ev's Mediator (its terms, from the cache):
 * 0, 1 when it is not one of ours (nothing to record), or -1. */
static int parties(pc_server *s, const pc_mediator_event *e, pc_mediator_terms *t)
{
    pc_mediator_view v;
    pc_error err;
    if (!served(s, &e->mediator))
        return 1; /* another team's Mediator: not worth a node read */
    if (!s->cache || pc_chain_cache_get(s->cache, &e->mediator, &v, &err) != 0)
        return -1;
    *t = v.terms;
    return 0;
}

/* What e moved, as entries for our accounts: 0, or -1 when the parties are unknown. */
static int entries_of(pc_server *s, const pc_mediator_event *e, pc_money_event *ev)
{
    pc_mediator_terms t;
    int rc;
    switch (e->kind) {
    case PC_MEDIATOR_DEPOSITED:
        credit(s, ev, &e->party_a, PC_MONEY_SPENT, &e->amount_a);
        return 0;
    case PC_MEDIATOR_PAID_OUT:
        credit(s, ev, &e->party_a, PC_MONEY_PAID_OUT, &e->amount_a);
        return 0;
    case PC_MEDIATOR_TOKEN_REDEEMED:
        if ((rc = parties(s, e, &t)) != 0)
            return rc < 0 ? -1 : 0;
        credit(s, ev, &t.provider, PC_MONEY_REDEEMED, &e->amount_b);
        credit(s, ev, &t.consumer, PC_MONEY_PAID, &e->amount_b);
        ev->has_redemption = ev->n > 0;
        ev->redemption = (pc_redemption){.token_id = e->id_a, .at = (uint64_t)time(NULL)};
        pc_u256_to_u64(&e->amount_a, &ev->redemption.count);
        return 0;
    case PC_MEDIATOR_TERMINATED:
        if ((rc = parties(s, e, &t)) != 0)
            return rc < 0 ? -1 : 0;
        credit(s, ev, &t.consumer, PC_MONEY_REFUNDED, &e->amount_a);
        credit(s, ev, &t.provider, PC_MONEY_PAID_OUT, &e->amount_b);
        return 0;
    default:
        return 0; /* moves no value */
    }
}

void pc_money_ledger_event(void *ctx, const pc_mediator_event *e)
{
    pc_server *s = ctx;
    pc_money_event ev = {.mediator = e->mediator};
    char addr[PC_ADDRESS_TEXT_LEN];
    pc_error err;
    int fresh = 0;
    pc_address_format(&e->mediator, addr);
    if (e->kind == PC_MEDIATOR_TOKEN_REDEEMED && s->unredeemed)
        pc_unredeemed_retire(s->unredeemed, &e->mediator, &e->id_a);
    else if (e->kind == PC_MEDIATOR_TERMINATED && s->unredeemed)
        pc_unredeemed_retire(s->unredeemed, &e->mediator, NULL);
    if (entries_of(s, e, &ev) != 0) {
        PC_LOG_W("money: %s of %s: its parties are unknown now (the node): not recorded",
                 pc_mediator_event_name(e->kind), addr);
        return;
    }
    if (ev.n == 0)
        return;
    memcpy(ev.id, e->tx_hash, 32);
    for (int i = 0; i < 4; i++)
        ev.id[32 + i] = (uint8_t)(e->log_index >> (24 - 8 * i));
    if (pc_store_record_money(s->store, &ev, &fresh, &err) != 0)
        PC_LOG_W("money: recording %s of %s failed (the totals miss it): %s",
                 pc_mediator_event_name(e->kind), addr, err.message);
    else if (fresh)
        PC_LOG_I("money: %s of %s recorded", pc_mediator_event_name(e->kind), addr);
}

void pc_money_ledger_logs(pc_server *s, const pc_log *logs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pc_mediator_event e;
        if (pc_mediator_decode_event(&logs[i], &e) == 0)
            pc_money_ledger_event(s, &e);
    }
}
