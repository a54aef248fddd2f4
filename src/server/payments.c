/* payments.c: see payments.h. */
#include "server/payments.h"

#include <string.h>
#include <time.h>

#include "core/crypto/eip712.h"
#include "core/runtime/logger.h"

/* ---- registration of the Mediators we work for ------------------------------------- */

int pc_payment_is_registered(pc_server *s, const pc_address *mediator, pc_mediator_role role)
{
    pthread_mutex_lock(&s->known_lock);
    int known = pc_address_set_has(&s->known[role - 1], mediator);
    pthread_mutex_unlock(&s->known_lock);
    return known;
}

size_t pc_payment_registered_count(pc_server *s, pc_mediator_role role)
{
    pthread_mutex_lock(&s->known_lock);
    size_t n = s->known[role - 1].n;
    pthread_mutex_unlock(&s->known_lock);
    return n;
}

int pc_payment_register(pc_server *s, const pc_address *mediator, pc_mediator_role role,
                        const pc_address *account, const pc_address *counterparty, pc_error *err)
{
    if (pc_payment_is_registered(s, mediator, role))
        return 0;
    pc_mediator_record rec;
    int found = 0;
    if (pc_store_get_mediator(s->store, mediator, role, &rec, &found, err) != 0)
        return -1;
    if (!found) {
        memset(&rec, 0, sizeof(rec));
        rec.mediator = *mediator;
        rec.role = role;
        rec.account = *account;
        rec.counterparty = *counterparty;
        rec.created_at = (uint64_t)time(NULL);
        if (pc_store_put_mediator(s->store, &rec, err) != 0)
            return -1;
        char addr[PC_ADDRESS_TEXT_LEN];
        pc_address_format(mediator, addr);
        PC_LOG_I("now serving Mediator %s as %s", addr,
                 role == PC_ROLE_CONSUMER ? "consumer" : "provider");
    }
    pthread_mutex_lock(&s->known_lock);
    int rc = pc_address_set_add(&s->known[role - 1], mediator);
    pthread_mutex_unlock(&s->known_lock);
    return rc == 0 ? 0 : pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
}

void pc_payment_unregister(pc_server *s, const pc_address *mediator, pc_mediator_role role)
{
    pthread_mutex_lock(&s->known_lock);
    pc_address_set_remove(&s->known[role - 1], mediator);
    pthread_mutex_unlock(&s->known_lock);
}

/* ---- consumer side ------------------------------------------------------------------ */

int pc_payment_create_prepare(pc_server *s, const pc_address *consumer,
                              const pc_address *mediator, const pc_mediator_view *v,
                              pc_payment_headers *out, pc_error *err)
{
    if (!pc_address_equal(&v->terms.consumer, consumer))
        return pc_error_set(err, PC_ERR_ONLY_CONSUMER, "only the consumer may create tokens");
    if (v->state.terminated || pc_u256_is_zero(&v->state.active_token_id))
        return pc_error_set(err, PC_ERR_TERMINATED, "the Mediator is terminated");
    if (!pc_accounts_find(s->accounts, consumer)) /* checked by authentication already */
        return pc_error_set(err, PC_ERR_UNKNOWN_ACCOUNT, "the sender is not served here");
    out->sender = *consumer;
    out->mediator = *mediator;
    out->token_id = v->state.active_token_id;
    return 0;
}

int pc_payment_sign(pc_server *s, pc_payment_headers *h, pc_error *err)
{
    pc_wallet *wallet = pc_accounts_find(s->accounts, &h->sender);
    uint8_t domain[32], digest[32];
    pc_u256 count = pc_u256_from_u64(h->request_count);
    pc_eip712_domain_separator(s->chain_id, &h->mediator, domain);
    pc_eip712_payment_token_digest(domain, &h->sender, &h->token_id, &count, digest);
    if (!wallet || pc_wallet_sign_digest(wallet, digest, &h->signature) != 0)
        return pc_error_set(err, PC_ERR_INTERNAL, "signing failed");
    return 0;
}

int pc_payment_create_begin(pc_server *s, const pc_address *consumer, const pc_address *mediator,
                            pc_payment_headers *out, pc_error *err)
{
    pc_mediator_view v;
    if (!pc_accounts_find(s->accounts, consumer))
        return pc_error_set(err, PC_ERR_UNKNOWN_ACCOUNT, "the sender is not served here");
    if (pc_chain_cache_get(s->cache, mediator, &v, err) != 0 ||
        pc_payment_create_prepare(s, consumer, mediator, &v, out, err) != 0)
        return -1;
    return pc_payment_register(s, mediator, PC_ROLE_CONSUMER, consumer, &v.terms.provider, err);
}

int pc_payment_create_finish(pc_server *s, pc_payment_headers *h, pc_error *err)
{
    if (pc_store_next_count(s->store, &h->mediator, &h->token_id, &h->request_count, err) != 0)
        return -1;
    return pc_payment_sign(s, h, err);
}

int pc_payment_create(pc_server *s, const pc_address *consumer, const pc_address *mediator,
                      pc_payment_headers *out, pc_error *err)
{
    if (pc_payment_create_begin(s, consumer, mediator, out, err) != 0)
        return -1;
    return pc_payment_create_finish(s, out, err);
}

int pc_payment_return(pc_server *s, const pc_address *consumer, const pc_address *mediator,
                      const pc_u256 *token_id, uint64_t count, int *returned, pc_error *err)
{
    pc_mediator_view v;
    *returned = 0;
    if (!pc_accounts_find(s->accounts, consumer))
        return pc_error_set(err, PC_ERR_UNKNOWN_ACCOUNT, "the sender is not served here");
    if (pc_chain_cache_get(s->cache, mediator, &v, err) != 0)
        return -1;
    if (!pc_address_equal(&v.terms.consumer, consumer))
        return pc_error_set(err, PC_ERR_ONLY_CONSUMER, "only the consumer may give back a count");
    return pc_store_return_count(s->store, mediator, token_id, count, returned, err);
}

/* ---- provider side (protocol §5, in order) ---------------------------------------------- */

static int check_signature(pc_server *s, const pc_payment_headers *t, pc_error *err)
{
    uint8_t domain[32], digest[32];
    pc_address signer;
    pc_u256 count = pc_u256_from_u64(t->request_count);
    pc_eip712_domain_separator(s->chain_id, &t->mediator, domain);
    pc_eip712_payment_token_digest(domain, &t->sender, &t->token_id, &count, digest);
    if (pc_ecdsa_recover(s->secp, digest, &t->signature, &signer) != 0 ||
        !pc_address_equal(&signer, &t->sender))
        return pc_error_set(err, PC_ERR_TOKEN_SIGNATURE,
                            "the token signature does not recover to the sender");
    return 0;
}

static int check_terms(const pc_mediator_terms *have, const pc_payment_terms *want, pc_error *err)
{
    if (pc_u256_cmp(&have->cost_per_request, &want->min_cost_per_request) < 0 ||
        have->termination_timeout != want->termination_timeout ||
        have->token_redemption_timeout != want->token_redemption_timeout)
        return pc_error_set(err, PC_ERR_TERMS_MISMATCH,
                            "the Mediator's terms do not match the provider's requirements");
    return 0;
}

static int check_token_id(const pc_mediator_state *st, const pc_u256 *token_id, json_t **meta,
                          pc_error *err)
{
    if (!pc_u256_is_zero(&st->active_token_id) && pc_u256_cmp(token_id, &st->active_token_id) == 0)
        return 0;
    if (!pc_u256_is_zero(&st->soon_expiring_token_id) &&
        pc_u256_cmp(token_id, &st->soon_expiring_token_id) == 0 &&
        (uint64_t)time(NULL) < st->soon_expiring_timeout)
        return 0;
    if (pc_u256_is_zero(&st->active_token_id))
        return pc_error_set(err, PC_ERR_TERMINATED, "the Mediator's last token was redeemed");
    if (meta) {
        char id[PC_U256_DEC_LEN];
        pc_u256_to_dec(token_id, id);
        *meta = json_pack("{ss}", "tokenID", id);
    }
    return pc_error_set(err, PC_ERR_UNKNOWN_TOKEN_ID,
                        "the token id is neither active nor within its grace period");
}

static int check_funds(const pc_mediator_view *v, uint64_t request_count, pc_error *err)
{
    pc_u256 value, count = pc_u256_from_u64(request_count);
    if (pc_u256_mul(&value, &count, &v->terms.cost_per_request) ||
        pc_u256_cmp(&value, &v->state.consumer_funds) > 0)
        return pc_error_set(err, PC_ERR_INSUFFICIENT_FUNDS,
                            "the consumer's funds in the Mediator do not cover the token");
    return 0;
}

void pc_payment_counted(pc_server *s, const pc_address *provider, const pc_payment_headers *t,
                        const pc_u256 *cost, pc_count_verdict verdict, uint64_t highest)
{
    if (verdict != PC_COUNT_REPLAYED && s->unredeemed)
        pc_unredeemed_raise(s->unredeemed, provider, &t->mediator, &t->token_id, cost, highest);
}

int pc_payment_count_outcome(const pc_payment_headers *t, pc_count_verdict verdict,
                             uint64_t highest, json_t **meta, pc_error *err)
{
    if (verdict != PC_COUNT_REPLAYED)
        return 0;
    if (meta)
        *meta = json_pack("{sI}", "actualCount", (json_int_t)highest);
    return pc_error_set(err, PC_ERR_COUNT_USED, "request count %llu already used or too low",
                        (unsigned long long)t->request_count);
}

/* Steps 1-2 of docs/protocol.md §5: the count and the signature; the signature first,
 * so a forged token costs one recovery and no chain read. */
static int check_token_itself(pc_server *s, const pc_payment_headers *t, pc_error *err)
{
    if (t->request_count == 0)
        return pc_error_set(err, PC_ERR_COUNT_USED, "request counts start at 1");
    return check_signature(s, t, err);
}

/* The remaining steps before the counter, against the Mediator's view. */
static int check_against_view(const pc_address *provider, const pc_payment_headers *t,
                              const pc_payment_terms *required, const pc_mediator_view *v,
                              json_t **metadata, pc_error *err)
{
    if (!pc_address_equal(&v->terms.consumer, &t->sender))
        return pc_error_set(err, PC_ERR_TOKEN_SIGNATURE,
                            "the sender is not the Mediator's consumer");
    if (!pc_address_equal(&v->terms.provider, provider))
        return pc_error_set(err, PC_ERR_ONLY_PROVIDER,
                            "the calling service is not the Mediator's provider");
    if (v->state.terminated)
        return pc_error_set(err, PC_ERR_TERMINATED, "the Mediator is terminated");
    if (check_terms(&v->terms, required, err) != 0 ||
        check_token_id(&v->state, &t->token_id, metadata, err) != 0 ||
        check_funds(v, t->request_count, err) != 0)
        return -1;
    return 0;
}

int pc_payment_view_accepts(const pc_mediator_view *v, const pc_u256 *token_id,
                            uint64_t request_count)
{
    pc_error ignored;
    return check_token_id(&v->state, token_id, NULL, &ignored) == 0 &&
           check_funds(v, request_count, &ignored) == 0;
}

int pc_payment_validate_prepare(pc_server *s, const pc_address *provider,
                                const pc_payment_headers *t, const pc_payment_terms *required,
                                const pc_mediator_view *v, json_t **metadata, pc_error *err)
{
    if (metadata)
        *metadata = NULL;
    if (check_token_itself(s, t, err) != 0)
        return -1;
    return check_against_view(provider, t, required, v, metadata, err);
}

uint64_t pc_payment_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* 1 when token_id is the active or the soon-expiring id of st (whether or
 * not its grace period is over). */
static int token_id_known(const pc_mediator_state *st, const pc_u256 *token_id)
{
    return (!pc_u256_is_zero(&st->active_token_id) &&
            pc_u256_cmp(token_id, &st->active_token_id) == 0) ||
           (!pc_u256_is_zero(&st->soon_expiring_token_id) &&
            pc_u256_cmp(token_id, &st->soon_expiring_token_id) == 0);
}

/* check_against_view, where a token the view refuses for its funds (34) or
 * for an id it does not know at all (36) is judged again on a state read
 * after the token arrived (arrived_ms; tokens arriving together share the
 * read). Both move only forward on chain and count at once: a new id is
 * active as soon as its startTokenRedemption is mined, a deposit as soon as
 * it is mined, and the consumer (or another instance sharing our store, an
 * operator, or our own duty whose receipt is still on its way) may see that
 * block before our cached state does. The grace period covers the old id,
 * nothing covers the new one or new funds, so refusing them from the cache
 * refused valid tokens (code 36 under load, issue 11; 34 behind a balancer
 * right after a deposit, issue 16). Only a token whose signature recovered
 * to the Mediator's consumer gets here, so only the consumer can make us
 * ask the node; if it cannot be asked, the answer is its error (101). */
static int check_current(pc_server *s, const pc_address *provider, const pc_payment_headers *t,
                         const pc_payment_terms *required, pc_mediator_view *v,
                         uint64_t arrived_ms, json_t **metadata, pc_error *err)
{
    if (check_against_view(provider, t, required, v, metadata, err) == 0)
        return 0;
    int stale_id = err->code == PC_ERR_UNKNOWN_TOKEN_ID && !token_id_known(&v->state, &t->token_id);
    if (!stale_id && err->code != PC_ERR_INSUFFICIENT_FUNDS)
        return -1;
    if (metadata) {
        json_decref(*metadata);
        *metadata = NULL;
    }
    if (pc_chain_cache_get_read_since(s->cache, &t->mediator, arrived_ms, v, err) != 0)
        return -1;
    return check_against_view(provider, t, required, v, metadata, err);
}

int pc_payment_validate_check(pc_server *s, const pc_address *provider,
                              const pc_payment_headers *t, const pc_payment_terms *required,
                              uint64_t arrived_ms, pc_u256 *cost, json_t **metadata,
                              pc_error *err)
{
    pc_mediator_view v;
    pc_error local;
    if (!err)
        err = &local; /* check_current reads the code */
    if (metadata)
        *metadata = NULL;
    if (check_token_itself(s, t, err) != 0 || pc_chain_cache_get(s->cache, &t->mediator, &v, err) ||
        check_current(s, provider, t, required, &v, arrived_ms, metadata, err) != 0 ||
        pc_payment_register(s, &t->mediator, PC_ROLE_PROVIDER, provider, &t->sender, err) != 0)
        return -1;
    *cost = v.terms.cost_per_request;
    return 0;
}

int pc_payment_validate(pc_server *s, const pc_address *provider, const pc_payment_headers *t,
                        const pc_payment_terms *required, json_t **metadata, pc_error *err)
{
    pc_u256 cost;
    pc_count_verdict verdict;
    uint64_t highest;
    if (pc_payment_validate_check(s, provider, t, required, pc_payment_now_ms(), &cost, metadata,
                                  err) != 0 ||
        pc_store_offer_count(s->store, &t->mediator, &t->token_id, t->request_count,
                             &t->signature, &verdict, &highest, err) != 0)
        return -1;
    pc_payment_counted(s, provider, t, &cost, verdict, highest);
    return pc_payment_count_outcome(t, verdict, highest, metadata, err);
}
