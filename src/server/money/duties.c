/* duties.c: see duties.h. */
#include "server/money/duties.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/runtime/logger.h"
#include "server/payments.h"
#include "core/runtime/ticker.h"
#include "server/money/redeem_policy.h"

struct pc_duties {
    pc_ticker *timer;
};

/* One pass: the records, the next one to take, the sum of sends, and the
 * fee per gas now, read once per pass by the first Mediator that needs it. */
typedef struct pass {
    pc_server *s;
    pc_mediator_record *recs;
    size_t n, next; /* next: taken atomically */
    uint64_t now;
    int sent;       /* added atomically */
    int seed;       /* the first pass: seeds the unredeemed total (unredeemed.h) */
    pthread_mutex_t fee_lock;
    int fee_known;  /* 1 read, -1 unreadable (under fee_lock) */
    pc_u256 fee_per_gas;
} pass;

/* One Mediator being looked at in a pass. */
typedef struct duty {
    pass *p;
    pc_server *s;
    pc_mediator_record *rec;
    pc_mediator_view v;
    pc_wallet *wallet;
    char addr[PC_ADDRESS_TEXT_LEN];
    uint64_t now;
    const char *why; /* why a redemption is wanted (redemption_wanted) */
} duty;

static void report(duty *d, const char *action, int rc, const pc_error *err)
{
    if (rc == 0)
        PC_LOG_I("duties: %s on %s: done", action, d->addr);
    else
        PC_LOG_W("duties: %s on %s failed: code %d: %s", action, d->addr, err->code, err->message);
    pc_chain_cache_invalidate(d->s->cache, &d->rec->mediator);
}

static const char *role_name(const duty *d)
{
    return d->rec->role == PC_ROLE_PROVIDER ? "provider" : "consumer";
}

/* Forgets the record of this role only: when we serve both ends, the other
 * role's record and counters are forgotten by its own duty. */
static void forget(duty *d)
{
    pc_error err;
    if (pc_store_delete_mediator(d->s->store, &d->rec->mediator, d->rec->role, &err) != 0) {
        PC_LOG_W("duties: forgetting %s failed: %s", d->addr, err.message);
        return;
    }
    pc_payment_unregister(d->s, &d->rec->mediator, d->rec->role);
    if (d->rec->role == PC_ROLE_PROVIDER) /* what it did not redeem is gone */
        pc_unredeemed_retire(d->s->unredeemed, &d->rec->mediator, NULL);
    pc_chain_cache_forget(d->s->cache, &d->rec->mediator);
    PC_LOG_I("duties: %s is terminated; forgotten as %s", d->addr, role_name(d));
}

/* ---- provider ----------------------------------------------------------------------------- */

/* The newest stored token of id: 1 (count, sig filled), 0 none, -1 unreadable (logged). */
static int newest_token(duty *d, const pc_u256 *id, uint64_t *count, pc_signature *sig)
{
    int found = 0;
    pc_error err;
    if (pc_store_best_token(d->s->store, &d->rec->mediator, id, count, sig, &found, &err) != 0) {
        report(d, "reading the newest token", -1, &err);
        return -1;
    }
    return found;
}

/* What a transaction pays per gas now: the base fee plus the tip (EIP-1559),
 * or the gas price; read once per pass. 0, or -1 when the node cannot tell. */
static int fee_per_gas(duty *d, pc_u256 *out)
{
    pass *p = d->p;
    pthread_mutex_lock(&p->fee_lock);
    if (!p->fee_known) {
        pc_fees fees;
        pc_error err;
        p->fee_known = pc_rpc_fees(d->s->rpc, &fees, &err) == 0 ? 1 : -1;
        if (p->fee_known < 0)
            PC_LOG_W("duties: reading the fee per gas failed: %s", err.message);
        else if (!fees.has_base_fee || pc_u256_add(&p->fee_per_gas, &fees.base_fee,
                                                   &fees.priority_fee))
            p->fee_per_gas = fees.gas_price;
    }
    *out = p->fee_per_gas;
    int known = p->fee_known;
    pthread_mutex_unlock(&p->fee_lock);
    return known > 0 ? 0 : -1;
}

static pc_redeem_policy policy_of(const pc_config *cfg)
{
    return (pc_redeem_policy){.gas_multiple = cfg->redeem_gas_multiple,
                              .cycle_gas = cfg->redemption_gas,
                              .max_fee_per_gas = pc_u256_from_u64(cfg->max_fee_per_gas)};
}

/* Whether the active id is older than the configured age (its age counts
 * from when this server first saw it active). */
static int active_token_old(duty *d)
{
    pc_error err;
    const pc_u256 *active = &d->v.state.active_token_id;
    if (pc_u256_cmp(&d->rec->token_id, active) != 0) {
        d->rec->token_id = *active; /* first seen now: its age starts now */
        d->rec->token_active_since = d->now;
        if (pc_store_put_mediator(d->s->store, d->rec, &err) != 0)
            PC_LOG_W("duties: %s: %s", d->addr, err.message);
        return 0;
    }
    return d->now >= d->rec->token_active_since + d->s->cfg->redeem_after_s;
}

/* Whether the active id should go into redemption now (redeem_policy.h): it
 * has tokens, and their value pays for the redemption, or a deadline (the
 * consumer started termination: the final redemption; or its age) makes it
 * due and the value at least covers the gas. A token id without tokens is
 * never redeemed: that would move no value. */
static int redemption_wanted(duty *d)
{
    const pc_mediator_state *st = &d->v.state;
    uint64_t count;
    pc_signature sig;
    int old = !pc_u256_is_zero(&st->active_token_id) && active_token_old(d);
    if (pc_u256_is_zero(&st->active_token_id) ||
        newest_token(d, &st->active_token_id, &count, &sig) != 1)
        return 0;
    pc_redeem_policy policy = policy_of(d->s->cfg);
    pc_redeem_case c = {.deadline = st->termination_started_at ? "the consumer started termination"
                                    : old                       ? "token age"
                                                                : NULL};
    /* the contract redeems an id once, so nothing of the active id is redeemed yet */
    pc_u256 n = pc_u256_from_u64(count);
    if (pc_u256_mul(&c.value, &n, &d->v.terms.cost_per_request))
        c.value = (pc_u256){{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    if (policy.gas_multiple != 0 && fee_per_gas(d, &c.fee_per_gas) != 0)
        return 0; /* cost unknown: decided on the next pass */
    char why[320];
    pc_redeem_verdict verdict = pc_redeem_decide(&policy, &c, why, sizeof why);
    if (verdict == PC_REDEEM_LOSS)
        PC_LOG_W("duties: %s: %s", d->addr, why);
    else
        PC_LOG_D("duties: %s: %s redemption: %s", d->addr,
                 verdict == PC_REDEEM_NOW ? "starting a" : "no", why);
    d->why = verdict == PC_REDEEM_NOW ? c.deadline ? c.deadline : "its value pays for the gas"
                                      : NULL;
    return verdict == PC_REDEEM_NOW;
}

/* A redemption already started is finished at any fee when the consumer
 * started termination (the value is lost when it ends) or once it has
 * waited the token age past its grace period (the age deadline, as for the
 * active id); otherwise only while the fee is within the cap. */
static int finishing_allowed(duty *d)
{
    pc_u256 fee;
    pc_redeem_policy policy = policy_of(d->s->cfg);
    if (d->v.state.termination_started_at != 0 || policy.gas_multiple == 0 ||
        pc_u256_is_zero(&policy.max_fee_per_gas) ||
        d->now > d->v.state.soon_expiring_timeout + d->s->cfg->redeem_after_s)
        return 1;
    if (fee_per_gas(d, &fee) != 0)
        return 0;
    if (pc_redeem_fee_ok(&policy, &fee))
        return 1;
    PC_LOG_D("duties: %s: finishing the redemption waits: fee above --max-fee-per-gas", d->addr);
    return 0;
}

/* The grace period of the soon-expiring id is over: redeem its newest
 * token and pay out, in one transaction; when a redemption of the active id
 * is due as well, that one starts in the same transaction
 * (redeemPayoutAndStartRedemption: the active id gets its own grace period,
 * so in-flight tokens for it still complete). With no token of the
 * soon-expiring id, redeeming would move no value; it is sent only when the
 * redemption slot must be freed for a redemption of the active id that is
 * due now (the contract allows one at a time), and the log says so. */
static int finish_redemption(duty *d)
{
    const pc_u256 *id = &d->v.state.soon_expiring_token_id;
    uint64_t count = 0;
    pc_signature sig = {0};
    pc_error err;
    int found = newest_token(d, id, &count, &sig);
    int next_due = found >= 0 && redemption_wanted(d);
    if (found < 0 || (found == 0 && !next_due) || !finishing_allowed(d))
        return 0; /* nothing to redeem, nothing waiting, or the fee is too high now */
    char what[200];
    snprintf(what, sizeof(what), "redeeming %llu requests%s%s", (unsigned long long)count,
             found ? " and paying out" : " (moves no value: frees the redemption slot)",
             next_due ? ", starting the redemption of the active token id" : "");
    pc_u256 n = pc_u256_from_u64(count);
    const pc_signature *s = found ? &sig : NULL;
    pc_u256 next = pc_mediator_random_token_id();
    int rc = next_due ? pc_mediator_redeem_payout_and_start(d->wallet, &d->rec->mediator, &n, s,
                                                            &next, NULL, NULL, &err)
                      : pc_mediator_redeem_and_payout(d->wallet, &d->rec->mediator, &n, s, NULL,
                                                      NULL, &err);
    report(d, what, rc, &err);
    return 1;
}

static int start_redemption(duty *d)
{
    pc_error err;
    pc_u256 next = pc_mediator_random_token_id();
    int rc = pc_mediator_start_token_redemption(d->wallet, &d->rec->mediator, &next, NULL, NULL,
                                                &err);
    char what[96];
    snprintf(what, sizeof(what), "starting a redemption (%s)", d->why);
    report(d, what, rc, &err);
    return 1;
}

/* Adds the live token ids' validated value to the running total (the first
 * pass; every pass on a store other instances may share). */
static void seed_unredeemed(duty *d)
{
    const pc_u256 *ids[] = {&d->v.state.active_token_id, &d->v.state.soon_expiring_token_id};
    for (size_t i = 0; i < 2; i++) {
        uint64_t count;
        pc_signature sig;
        if (!pc_u256_is_zero(ids[i]) && newest_token(d, ids[i], &count, &sig) == 1)
            pc_unredeemed_raise(d->s->unredeemed, &d->rec->account, &d->rec->mediator, ids[i],
                                &d->v.terms.cost_per_request, count);
    }
}

static int provider_duties(duty *d)
{
    if (d->p->seed)
        seed_unredeemed(d);
    const pc_mediator_state *st = &d->v.state;
    if (!pc_u256_is_zero(&st->soon_expiring_token_id))
        return d->now > st->soon_expiring_timeout ? finish_redemption(d) : 0;
    /* active id 0: the last token was redeemed; the consumer finalizes */
    return redemption_wanted(d) ? start_redemption(d) : 0;
}

/* ---- consumer ------------------------------------------------------------------------------ */

static int consumer_duties(duty *d)
{
    const pc_mediator_state *st = &d->v.state;
    pc_error err;
    int rc;
    if (st->termination_started_at != 0) {
        uint64_t ends = st->termination_started_at + d->v.terms.termination_timeout;
        int grace_running = !pc_u256_is_zero(&st->soon_expiring_token_id) &&
                            d->now <= st->soon_expiring_timeout;
        if (d->now <= ends || grace_running)
            return 0;
        int moves = !pc_u256_is_zero(&st->consumer_funds) || !pc_u256_is_zero(&st->provider_funds);
        rc = pc_mediator_finalize_close(d->wallet, &d->rec->mediator, NULL, NULL, &err);
        report(d, moves ? "finalizing the termination"
                        : "finalizing the termination (moves no value: needed to end the "
                          "Mediator, as its consumer asked)",
               rc, &err);
        return 1;
    }
    if (pc_u256_is_zero(&d->rec->funding_threshold) || pc_u256_is_zero(&d->rec->deposit_amount) ||
        pc_u256_cmp(&st->consumer_funds, &d->rec->funding_threshold) >= 0)
        return 0;
    /* The cached state may predate a deposit just made (/useService funds a
     * new Mediator right after registering it): decide on the chain's. */
    pc_chain_cache_invalidate(d->s->cache, &d->rec->mediator);
    if (pc_chain_cache_get(d->s->cache, &d->rec->mediator, &d->v, &err) != 0 ||
        pc_u256_cmp(&st->consumer_funds, &d->rec->funding_threshold) >= 0)
        return 0;
    rc = pc_mediator_deposit(d->wallet, &d->rec->mediator, &d->rec->deposit_amount, NULL, NULL,
                             &err);
    report(d, "automatic top-up", rc, &err);
    return 1;
}

/* ---- passes ---------------------------------------------------------------------------------- */

static int run_one(pass *p, pc_mediator_record *rec)
{
    pc_server *s = p->s;
    duty d = {.p = p, .s = s, .rec = rec, .now = p->now};
    pc_error err;
    pc_address_format(&rec->mediator, d.addr);
    d.wallet = pc_accounts_find(s->accounts, &rec->account);
    if (!d.wallet)
        return 0; /* an account no longer configured: leave its Mediators alone */
    if (pc_chain_cache_get(s->cache, &rec->mediator, &d.v, &err) != 0) {
        PC_LOG_W("duties: reading %s failed: %s", d.addr, err.message);
        return 0;
    }
    if (d.v.state.terminated) {
        forget(&d);
        return 0;
    }
    return rec->role == PC_ROLE_PROVIDER ? provider_duties(&d) : consumer_duties(&d);
}

static void *pass_worker(void *arg)
{
    pass *p = arg;
    for (size_t i; (i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->n;)
        __atomic_add_fetch(&p->sent, run_one(p, &p->recs[i]), __ATOMIC_RELAXED);
    return NULL;
}

int pc_duties_run_once(pc_server *s)
{
    pass p = {.s = s, .now = (uint64_t)time(NULL)};
    pthread_t helpers[PC_DUTY_THREADS - 1];
    size_t started = 0;
    pc_error err;
    if (pc_store_list_mediators(s->store, &p.recs, &p.n, &err) != 0) {
        PC_LOG_W("duties: listing Mediators failed: %s", err.message);
        return 0;
    }
    pthread_mutex_init(&p.fee_lock, NULL);
    /* Redis may be shared by several instances: each pass folds the others'
     * validations into our total (raising is idempotent) */
    p.seed = pc_unredeemed_first_seeding(s->unredeemed) || s->cfg->store == PC_STORE_REDIS;
    /* helpers only when there is more than one Mediator; this thread works too */
    for (; started + 1 < PC_DUTY_THREADS && started + 1 < p.n; started++)
        if (pthread_create(&helpers[started], NULL, pass_worker, &p) != 0)
            break; /* fewer threads: the pass still completes */
    pass_worker(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(helpers[i], NULL);
    free(p.recs);
    pthread_mutex_destroy(&p.fee_lock);
    return p.sent;
}

static void run_tick(void *s)
{
    pc_duties_run_once(s);
}

pc_duties *pc_duties_start(pc_server *s, pc_error *err)
{
    pc_duties *d = calloc(1, sizeof(*d));
    if (!d) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (!(d->timer = pc_ticker_start(run_tick, s, s->cfg->duty_interval_ms, err))) {
        free(d);
        return NULL;
    }
    return d;
}

void pc_duties_stop(pc_duties *d)
{
    if (!d)
        return;
    pc_ticker_stop(d->timer);
    free(d);
}
