/* network_checks.c: see network_checks.h. */
#include "support/network_checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define EVENT_DEADLINE_MS 90000 /* a few seconds normally; room for a loaded CI machine */

void pc_netc_fail_at(const pc_net_checks *c, const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->before_fail)
        c->before_fail();
    pc_itest_fail_at(file, line, "%s", msg);
}

pc_u256 pc_netc_wei(uint64_t v)
{
    return pc_u256_from_u64(v);
}

pc_u256 pc_netc_add(const pc_net_checks *c, pc_u256 a, pc_u256 b)
{
    pc_u256 r;
    netc_check(c, pc_u256_add(&r, &a, &b) == 0);
    return r;
}

pc_u256 pc_netc_sub(const pc_net_checks *c, pc_u256 a, pc_u256 b)
{
    pc_u256 r;
    netc_check(c, pc_u256_sub(&r, &a, &b) == 0);
    return r;
}

pc_u256 pc_netc_earned(const pc_net_checks *c, int p, uint64_t requests)
{
    pc_u256 r, n = pc_netc_wei(requests), cost = pc_netc_wei(c->providers[p].cost);
    netc_check(c, pc_u256_mul(&r, &n, &cost) == 0);
    return r;
}

pc_mediator_state pc_netc_state(const pc_net_checks *c, int p)
{
    pc_mediator_state st;
    pc_itest_state(&c->net->chain, &c->mediator[p], &st);
    return st;
}

void pc_netc_wait_events(const pc_net_checks *c, int p, pc_mediator_event_kind kind, size_t n,
                         pc_mediator_event *last)
{
    size_t got = pc_itest_wait_events(&c->net->chain, &c->mediator[p], kind, n,
                                      EVENT_DEADLINE_MS, last);
    if (got < n)
        netc_fail(c, "%s's Mediator: %zu %s events after %d ms, expected %zu",
                  c->providers[p].name, got, pc_mediator_event_name(kind), EVENT_DEADLINE_MS, n);
}

void pc_netc_check_new_mediator(const pc_net_checks *c, int p)
{
    pc_mediator_terms terms;
    pc_error err;
    pc_itest *t = &c->net->chain;
    if (pc_mediator_read_terms(t->rpc, &c->mediator[p], &terms, &err) != 0)
        netc_fail(c, "terms of %s: %s", pc_itest_addr(&c->mediator[p]), err.message);
    netc_check(c, pc_address_equal(&terms.consumer, &t->addr[PC_NET_ACC_PUBLIC]));
    netc_check(c, pc_address_equal(&terms.provider, &t->addr[c->providers[p].account]));
    netc_check_u256(c, terms.cost_per_request, pc_netc_wei(c->providers[p].cost),
                    "cost per request");
    netc_check(c, terms.termination_timeout == c->termination_s);
    netc_check(c, terms.token_redemption_timeout == c->redemption_s);
    pc_mediator_state st = pc_netc_state(c, p);
    netc_check_u256(c, st.consumer_funds, pc_netc_wei(c->funding_wei), "consumer funds");
    netc_check_u256(c, st.provider_funds, pc_netc_wei(0), "provider funds");
    netc_check(c, !st.terminated && st.termination_started_at == 0);
}

void pc_netc_refusals(const pc_net_checks *c, uint64_t n_actions, pc_netc_send send)
{
    pc_itest *t = &c->net->chain;
    const pc_address *m = &c->mediator[PC_NETC_PERSISTENCE];
    const pc_u256 *id = &c->paid_token_id[PC_NETC_PERSISTENCE];
    pc_itest_token tok;
    send(c, NULL, 604, "no payment headers");
    /* the consumer's token for the next count, signed by a key that is not the consumer's */
    pc_itest_sign_token(t, PC_NET_ACC_OUTSIDER, PC_NET_ACC_PUBLIC, m, id, n_actions + 1, &tok);
    send(c, &tok, 4, "forged token");
    /* replays: the last action's token (RFC 6979 signs it identically), and the first */
    pc_itest_sign_token(t, PC_NET_ACC_PUBLIC, PC_NET_ACC_PUBLIC, m, id, n_actions, &tok);
    send(c, &tok, 37, "replayed token (last count)");
    pc_itest_sign_token(t, PC_NET_ACC_PUBLIC, PC_NET_ACC_PUBLIC, m, id, 1, &tok);
    send(c, &tok, 37, "replayed token (count 1)");
    /* incomplete: a genuine next token without its signature header */
    pc_itest_sign_token(t, PC_NET_ACC_PUBLIC, PC_NET_ACC_PUBLIC, m, id, n_actions + 1, &tok);
    tok.signature[0] = '\0';
    send(c, &tok, 604, "no x-pay-signature");
    /* an outsider's own valid signature, naming itself as the sender */
    pc_itest_sign_token(t, PC_NET_ACC_OUTSIDER, PC_NET_ACC_OUTSIDER, m, id, n_actions + 1, &tok);
    send(c, &tok, 4, "token of a stranger");
    /* the consumer's signature for a token id the Mediator never made active */
    pc_u256 other_id = pc_mediator_random_token_id();
    pc_itest_sign_token(t, PC_NET_ACC_PUBLIC, PC_NET_ACC_PUBLIC, m, &other_id, 1, &tok);
    send(c, &tok, 36, "unknown token id");
    /* more requests than the deposit covers */
    uint64_t too_many = c->funding_wei / c->providers[PC_NETC_PERSISTENCE].cost + 1;
    pc_itest_sign_token(t, PC_NET_ACC_PUBLIC, PC_NET_ACC_PUBLIC, m, id, too_many, &tok);
    send(c, &tok, 34, "token over the deposit");
    /* a genuine token the consumer's Payment Server made for random's Mediator */
    it_headers(t, PC_NET_ACC_PUBLIC, &c->mediator[PC_NETC_RANDOM], &tok);
    netc_check(c, tok.count == n_actions + 1 + c->counts_ahead);
    send(c, &tok, 2, "token for another provider");
}

void pc_netc_check_redemption(const pc_net_checks *c, int p, uint64_t n_actions,
                              uint64_t after_block, const pc_u256 *balance_before)
{
    pc_itest *t = &c->net->chain;
    pc_mediator_event started, redeemed, paid;
    pc_u256 amount = pc_netc_earned(c, p, n_actions), funds;
    pc_netc_wait_events(c, p, PC_MEDIATOR_PAID_OUT, 1, &paid);
    netc_check(c, pc_itest_count_events(t, &c->mediator[p], PC_MEDIATOR_REDEMPTION_STARTED,
                                        &started) == 1);
    netc_check(c, pc_itest_count_events(t, &c->mediator[p], PC_MEDIATOR_TOKEN_REDEEMED,
                                        &redeemed) == 1);
    netc_check_u256(c, started.id_a, c->paid_token_id[p], "redemption started for token id");
    netc_check_u256(c, redeemed.id_a, c->paid_token_id[p], "redeemed token id");
    netc_check_u256(c, redeemed.amount_a, pc_netc_wei(n_actions), "redeemed request count");
    netc_check_u256(c, redeemed.amount_b, amount, "redeemed amount");
    /* into the provider's funds in the Mediator ... */
    netc_check(c, pc_test_network_u256_at(c->net, &c->mediator[p], "serviceProviderFunds",
                                          redeemed.block_number - 1, &funds) == 0);
    netc_check_u256(c, funds, pc_netc_wei(0), "provider funds before the redemption");
    /* ... and out to the provider's account in the same transaction (redeemAndPayout) */
    netc_check(c, memcmp(redeemed.tx_hash, paid.tx_hash, sizeof paid.tx_hash) == 0);
    netc_check(c, pc_address_equal(&paid.party_a, &t->addr[c->providers[p].account]));
    netc_check_u256(c, paid.amount_a, amount, "paid out");
    pc_mediator_state st = pc_netc_state(c, p);
    netc_check_u256(c, st.consumer_funds, pc_netc_sub(c, pc_netc_wei(c->funding_wei), amount),
                    "consumer funds");
    netc_check_u256(c, st.provider_funds, pc_netc_wei(0), "provider funds after the payout");
    netc_check_u256(c, st.balance, st.consumer_funds, "ether the Mediator holds");
    netc_check(c, pc_u256_cmp(&st.active_token_id, &c->paid_token_id[p]) != 0 &&
                      !pc_u256_is_zero(&st.active_token_id));
    pc_u256 fees = pc_itest_fees_since(t, c->providers[p].account, after_block);
    netc_check(c, !pc_u256_is_zero(&fees));
    netc_check_u256(c, pc_netc_add(c, pc_itest_balance(t, c->providers[p].account), fees),
                    pc_netc_add(c, *balance_before, amount), "provider's account + gas (earned)");
}

void pc_netc_check_second_payout(const pc_net_checks *c, int p, uint64_t n_actions,
                                 uint64_t after_block, const pc_u256 *balance_before)
{
    pc_itest *t = &c->net->chain;
    pc_mediator_event paid;
    pc_netc_wait_events(c, p, PC_MEDIATOR_PAID_OUT, 2, &paid);
    netc_check_u256(c, paid.amount_a, pc_netc_wei(0), "second payout");
    pc_u256 fees = pc_itest_fees_since(t, c->providers[p].account, after_block);
    netc_check_u256(c, pc_netc_add(c, pc_itest_balance(t, c->providers[p].account), fees),
                    pc_netc_add(c, *balance_before, pc_netc_earned(c, p, n_actions)),
                    "provider's account + gas after /payout");
    netc_check_u256(c, pc_netc_state(c, p).provider_funds, pc_netc_wei(0),
                    "provider funds after /payout");
}

void pc_netc_check_terminated(const pc_net_checks *c, int p, const pc_u256 *active,
                              uint64_t n_more, const pc_u256 *left, uint64_t after_block,
                              const pc_u256 *provider_before)
{
    pc_itest *t = &c->net->chain;
    pc_mediator_event ended, redeemed;
    pc_netc_wait_events(c, p, PC_MEDIATOR_TERMINATED, 1, &ended);
    /* the provider's final redemption of the newer requests came first */
    netc_check(c, pc_itest_count_events(t, &c->mediator[p], PC_MEDIATOR_TOKEN_REDEEMED,
                                        &redeemed) == 2);
    netc_check_u256(c, redeemed.id_a, *active, "finally redeemed token id");
    netc_check_u256(c, redeemed.amount_a, pc_netc_wei(n_more), "finally redeemed request count");
    netc_check(c, redeemed.block_number < ended.block_number);
    netc_check(c, pc_address_equal(&ended.party_a, &t->addr[PC_NET_ACC_PUBLIC]));
    netc_check_u256(c, ended.amount_a, *left, "consumer's payout at termination");
    pc_mediator_state st = pc_netc_state(c, p);
    netc_check(c, st.terminated);
    netc_check_u256(c, st.consumer_funds, pc_netc_wei(0), "consumer funds after termination");
    netc_check_u256(c, st.provider_funds, pc_netc_wei(0), "provider funds after termination");
    netc_check_u256(c, st.balance, pc_netc_wei(0), "ether left in the Mediator");
    pc_u256 fees = pc_itest_fees_since(t, c->providers[p].account, after_block);
    netc_check_u256(c, pc_netc_add(c, pc_itest_balance(t, c->providers[p].account), fees),
                    pc_netc_add(c, *provider_before, pc_netc_earned(c, p, n_more)),
                    "provider's account + gas at the end");
}

void pc_netc_check_consumer_back(const pc_net_checks *c, uint64_t after_block,
                                 const pc_u256 *before, const pc_u256 *back)
{
    pc_itest *t = &c->net->chain;
    pc_u256 fees = pc_itest_fees_since(t, PC_NET_ACC_PUBLIC, after_block);
    netc_check(c, !pc_u256_is_zero(&fees));
    netc_check_u256(c, pc_netc_add(c, pc_itest_balance(t, PC_NET_ACC_PUBLIC), fees),
                    pc_netc_add(c, *before, *back),
                    "consumer's account + gas (the remaining deposit came back)");
}

void pc_netc_take_snapshot(const pc_net_checks *c, pc_netc_snapshot *out)
{
    for (int p = 0; p < PC_NETC_N_PROVIDERS; p++)
        out->st[p] = pc_netc_state(c, p);
    out->block = pc_itest_block(&c->net->chain);
}

void pc_netc_check_unchanged(const pc_net_checks *c, const pc_netc_snapshot *before)
{
    netc_check(c, pc_itest_block(&c->net->chain) == before->block);
    for (int p = 0; p < PC_NETC_N_PROVIDERS; p++) {
        pc_mediator_state now = pc_netc_state(c, p);
        netc_check_u256(c, now.consumer_funds, before->st[p].consumer_funds, "consumer funds");
        netc_check_u256(c, now.provider_funds, before->st[p].provider_funds, "provider funds");
        netc_check_u256(c, now.active_token_id, before->st[p].active_token_id,
                        "active token id");
    }
}

void pc_netc_check_admin_answer(const pc_net_checks *c, int p, const char *action, json_t *body,
                                const char *text)
{
    json_t *entry = json_object_get(json_object_get(body, "mediators"),
                                    pc_itest_addr(&c->mediator[p]));
    if (json_integer_value(json_object_get(body, "count")) != 1 ||
        !json_is_true(json_object_get(entry, "ok")) ||
        (strcmp(action, "redeem") == 0 &&
         !json_is_true(json_object_get(entry, "redemptionStarted"))))
        netc_fail(c, "%s /%s: %s", c->providers[p].name, action, text);
}

void pc_netc_redeem_and_payout(const pc_net_checks *c, uint64_t n_actions,
                               void (*admin)(const pc_net_checks *c, int p, const char *action))
{
    pc_itest *t = &c->net->chain;
    uint64_t block = pc_itest_block(t);
    pc_u256 balance[PC_NETC_N_PROVIDERS];
    for (int p = 0; p < PC_NETC_N_PROVIDERS; p++)
        balance[p] = pc_itest_balance(t, c->providers[p].account);
    for (int p = 0; p < PC_NETC_N_PROVIDERS; p++)
        admin(c, p, "redeem");
    for (int p = 0; p < PC_NETC_N_PROVIDERS; p++)
        pc_netc_check_redemption(c, p, n_actions, block, &balance[p]);
    /* /payout now: the timer already paid out, so it moves nothing and costs only gas */
    for (int p = 0; p < PC_NETC_N_PROVIDERS; p++) {
        admin(c, p, "payout");
        pc_netc_check_second_payout(c, p, n_actions, block, &balance[p]);
    }
}

void pc_netc_check_terminate_entry(const pc_net_checks *c, int p, json_t *e, const char *text)
{
    json_int_t at = json_integer_value(json_object_get(e, "willTerminateAt"));
    json_int_t now = (json_int_t)time(NULL), timeout = (json_int_t)c->termination_s;
    const char *m = json_string_value(json_object_get(e, "mediator"));
    pc_address addr;
    if (!json_is_true(json_object_get(e, "ok")) ||
        !json_is_true(json_object_get(e, "terminationStarted")) ||
        json_is_true(json_object_get(e, "terminated")) || !m ||
        pc_address_parse(m, &addr) != 0 || !pc_address_equal(&addr, &c->mediator[p]) ||
        at < now + timeout - 5 || at > now + timeout + 5)
        netc_fail(c, "/terminate for %s: %s", c->providers[p].name, text);
}

void pc_netc_before_termination(const pc_net_checks *c, uint64_t n_paid, pc_netc_ending *e)
{
    pc_itest *t = &c->net->chain;
    memset(e, 0, sizeof *e);
    e->block = pc_itest_block(t);
    e->consumer = pc_itest_balance(t, PC_NET_ACC_PUBLIC);
    for (int p = 0; p < PC_NETC_N_PROVIDERS; p++) {
        e->active[p] = pc_netc_state(c, p).active_token_id;
        e->provider[p] = pc_itest_balance(t, c->providers[p].account);
        e->left[p] = pc_netc_sub(c, pc_netc_wei(c->funding_wei), pc_netc_earned(c, p, n_paid));
        e->back = pc_netc_add(c, e->back, e->left[p]);
    }
}

void pc_netc_check_ending(const pc_net_checks *c, const pc_netc_ending *e, uint64_t n_more)
{
    for (int p = 0; p < PC_NETC_N_PROVIDERS; p++)
        pc_netc_check_terminated(c, p, &e->active[p], n_more, &e->left[p], e->block,
                                 &e->provider[p]);
    pc_netc_check_consumer_back(c, e->block, &e->consumer, &e->back);
}
