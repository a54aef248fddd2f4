/* store.c: argument checks and dispatch to the backends of store.h, plus
 * small helpers the backends share. */
#include "server/store/store_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pc_store *pc_store_open(const pc_store_options *opts, pc_error *err)
{
    if (!opts)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: no options"), NULL;
    switch (opts->backend) {
    case PC_STORE_SQLITE:
        if (!opts->sqlite_path || !*opts->sqlite_path)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: no SQLite path"), NULL;
        return pc_store_sqlite_open(opts, err);
    case PC_STORE_REDIS:
        if (opts->redis_port < 0 || opts->redis_port > 65535)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: bad Redis port %d",
                                opts->redis_port),
                   NULL;
        return pc_store_redis_open(opts, err);
    case PC_STORE_MEMORY:
        return pc_store_memory_open(err);
    }
    pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: unknown backend %d", (int)opts->backend);
    return NULL;
}

void pc_store_close(pc_store *s)
{
    if (s)
        s->ops->close(s);
}

const char *pc_store_describe(const pc_store *s)
{
    return s->description;
}

int pc_store_durable(const pc_store *s)
{
    return s->ops->durable ? s->ops->durable(s) : 1;
}

int pc_store_writable(const pc_store *s, char *why, size_t cap)
{
    return s->ops->writable ? s->ops->writable(s, why, cap) : 1;
}

int pc_store_accepts_data_loss(const pc_store *s)
{
    return s->accepts_data_loss;
}

int pc_store_check_chain_identity(pc_store *s, uint64_t chain_id, const uint8_t genesis_hash[32],
                                  pc_chain_identity *stored, int *adopted, pc_error *err)
{
    pc_chain_identity node = {.chain_id = chain_id}, have;
    int took = 0;
    memcpy(node.genesis_hash, genesis_hash, 32);
    if (s->ops->claim_chain(s, &node, &have, &took, err) != 0)
        return -1;
    if (stored)
        *stored = have;
    if (adopted)
        *adopted = took;
    if (have.chain_id == node.chain_id && memcmp(have.genesis_hash, node.genesis_hash, 32) == 0)
        return 0;
    char was[67], is[67]; /* the first 8 bytes tell chains apart; the caller logs all 32 */
    pc_hex_encode(have.genesis_hash, 32, was);
    pc_hex_encode(node.genesis_hash, 32, is);
    return pc_error_set(err, PC_ERR_NODE,
                        "the store %s belongs to chain %llu (genesis %.18s...), but the node is "
                        "on chain %llu (genesis %.18s...)",
                        s->description, (unsigned long long)have.chain_id, was,
                        (unsigned long long)node.chain_id, is);
}

int pc_store_next_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                        uint64_t *count, pc_error *err)
{
    uint8_t id[32];
    pc_u256_to_be(token_id, id);
    return s->ops->next_count(s, mediator, id, count, err);
}

int pc_store_return_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                          uint64_t count, int *returned, pc_error *err)
{
    uint8_t id[32];
    *returned = 0;
    if (count == 0 || count > PC_STORE_COUNT_MAX)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "request count %llu cannot be returned",
                            (unsigned long long)count);
    pc_u256_to_be(token_id, id);
    return s->ops->return_count(s, mediator, id, count, returned, err);
}

pc_count_verdict pc_store_verdict_from_window(int window_result)
{
    switch (window_result) {
    case PC_WINDOW_NEWEST:
        return PC_COUNT_ACCEPTED_NEWEST;
    case PC_WINDOW_SKIPPED:
        return PC_COUNT_ACCEPTED_SKIPPED;
    default:
        return PC_COUNT_REPLAYED;
    }
}

/* An offer's arguments in the backends' forms; -1 when the count is too large. */
static int offer_args(const pc_u256 *token_id, uint64_t count, const pc_signature *sig,
                      uint8_t id[32], uint8_t wire[65], pc_error *err)
{
    if (count > PC_STORE_COUNT_MAX)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "request count %llu is too large",
                            (unsigned long long)count);
    pc_u256_to_be(token_id, id);
    pc_signature_serialize(sig, wire);
    return 0;
}

int pc_store_offer_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                         uint64_t count, const pc_signature *sig, pc_count_verdict *verdict,
                         uint64_t *highest, pc_error *err)
{
    uint8_t id[32], wire[65];
    if (offer_args(token_id, count, sig, id, wire, err) != 0)
        return -1;
    uint64_t ignored;
    return s->ops->offer_count(s, mediator, id, count, wire, verdict, highest ? highest : &ignored,
                               err);
}

int pc_store_best_token(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                        uint64_t *count, pc_signature *sig, int *found, pc_error *err)
{
    uint8_t id[32], wire[65];
    pc_u256_to_be(token_id, id);
    *found = 0;
    *count = 0;
    if (s->ops->best_token(s, mediator, id, count, wire, found, err) != 0)
        return -1;
    if (*found && pc_signature_parse(wire, sig) != 0)
        return pc_error_set(err, PC_ERR_INTERNAL, "store: corrupt signature stored for count %llu",
                            (unsigned long long)*count);
    return 0;
}

static int check_role(pc_mediator_role role, pc_error *err)
{
    if (role != PC_ROLE_CONSUMER && role != PC_ROLE_PROVIDER)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: bad Mediator role %d",
                            (int)role);
    return 0;
}

int pc_store_forget_counters(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                             pc_error *err)
{
    return check_role(role, err) ? -1 : s->ops->forget_counters(s, mediator, role, err);
}

int pc_store_put_mediator(pc_store *s, const pc_mediator_record *rec, pc_error *err)
{
    if (check_role(rec->role, err) != 0)
        return -1;
    return s->ops->put_mediator(s, rec, err);
}

int pc_store_get_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                          pc_mediator_record *rec, int *found, pc_error *err)
{
    *found = 0;
    if (check_role(role, err) != 0)
        return -1;
    return s->ops->get_mediator(s, mediator, role, rec, found, err);
}

int pc_store_list_mediators(pc_store *s, pc_mediator_record **recs, size_t *n, pc_error *err)
{
    *recs = NULL;
    *n = 0;
    if (s->ops->list_mediators(s, recs, n, err) != 0)
        return -1;
    if (*n == 0) { /* the header promises NULL for an empty list */
        free(*recs);
        *recs = NULL;
    }
    return 0;
}

int pc_record_compare(const void *a, const void *b)
{
    const pc_mediator_record *x = a, *y = b;
    int c = memcmp(x->mediator.bytes, y->mediator.bytes, 20);
    return c ? c : (int)x->role - (int)y->role;
}

static int record_matches(const pc_mediator_record *r, const pc_mediator_filter *f)
{
    return (!f->role || r->role == f->role) &&
           (!f->account || memcmp(r->account.bytes, f->account->bytes, 20) == 0);
}

int pc_store_page_by_list(pc_store *s, const pc_mediator_filter *f, size_t offset, size_t limit,
                          pc_mediator_record **recs, size_t *n, size_t *total, pc_error *err)
{
    pc_mediator_record *all;
    size_t n_all, kept = 0;
    if (pc_store_list_mediators(s, &all, &n_all, err) != 0)
        return -1;
    for (size_t i = 0; i < n_all; i++)
        if (record_matches(&all[i], f))
            all[kept++] = all[i];
    qsort(all, kept, sizeof *all, pc_record_compare);
    *total = kept;
    *n = offset < kept ? (kept - offset < limit ? kept - offset : limit) : 0;
    if (*n)
        memmove(all, all + offset, *n * sizeof *all);
    *recs = all;
    return 0;
}

int pc_store_page_mediators(pc_store *s, const pc_mediator_filter *f, size_t offset,
                            size_t limit, pc_mediator_record **recs, size_t *n, size_t *total,
                            pc_error *err)
{
    *recs = NULL;
    *n = *total = 0;
    if (f->role && check_role(f->role, err) != 0)
        return -1;
    int rc = s->ops->page_mediators
                 ? s->ops->page_mediators(s, f, offset, limit, recs, n, total, err)
                 : pc_store_page_by_list(s, f, offset, limit, recs, n, total, err);
    if (rc != 0 || *n == 0) { /* the header promises NULL for an empty page */
        free(*recs);
        *recs = NULL;
        *n = 0;
    }
    return rc;
}

int pc_store_issued_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                          uint64_t *count, int *found, pc_error *err)
{
    uint8_t id[32];
    pc_u256_to_be(token_id, id);
    *count = 0;
    *found = 0;
    return s->ops->issued_count(s, mediator, id, count, found, err);
}

int pc_store_delete_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                             pc_error *err)
{
    return check_role(role, err) ? -1 : s->ops->delete_mediator(s, mediator, role, err);
}

int pc_store_claim_nonce(pc_store *s, const uint8_t nonce[32], uint64_t expires_at, int *fresh,
                         pc_error *err)
{
    *fresh = 0;
    return s->ops->claim_nonce(s, nonce, expires_at, fresh, err);
}

/* ---- asynchronous forms ------------------------------------------------------------- */

int pc_store_async_is_nonblocking(const pc_store *s)
{
    return !s->ops->blocking;
}

void pc_store_next_count_async(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                               pc_store_done done, void *arg)
{
    pc_store_next_counts_async(s, 1, mediator, token_id, done, &arg);
}

#define ON_STACK 16 /* the API's several-token calls stay below this */

/* Tells each of n callers that its asynchronous call failed for want of memory. */
static void fail_all(size_t n, pc_store_done done, void *const *args)
{
    pc_store_result r = {.rc = -1};
    pc_error_set(&r.err, PC_ERR_INTERNAL, "store: out of memory");
    for (size_t i = 0; i < n; i++)
        done(args[i], &r);
}

void pc_store_next_counts_async(pc_store *s, size_t n, const pc_address *mediators,
                                const pc_u256 *token_ids, pc_store_done done, void *const *args)
{
    uint8_t stack_ids[ON_STACK][32];
    uint8_t (*ids)[32] = n <= ON_STACK ? stack_ids : malloc(n * sizeof *ids);
    if (!ids) {
        fail_all(n, done, args);
        return;
    }
    for (size_t i = 0; i < n; i++)
        pc_u256_to_be(&token_ids[i], ids[i]);
    if (s->ops->next_counts_async) {
        s->ops->next_counts_async(s, n, mediators, (const uint8_t (*)[32])ids, done, args);
    } else { /* no asynchronous form: the blocking one, here */
        for (size_t i = 0; i < n; i++) {
            pc_store_result r = {0};
            r.rc = s->ops->next_count(s, &mediators[i], ids[i], &r.count, &r.err);
            done(args[i], &r);
        }
    }
    if (ids != stack_ids)
        free(ids);
}

/* The offers of a list in the backends' forms; one whose arguments fail
 * the checks is answered here and left out. The number kept. */
static size_t offer_list(size_t n, const pc_address *mediators, const pc_u256 *token_ids,
                         const uint64_t *counts, const pc_signature *sigs, pc_store_done done,
                         void *const *args, pc_store_offer *out)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        pc_store_result r = {.rc = -1};
        pc_store_offer *o = &out[kept];
        if (offer_args(&token_ids[i], counts[i], &sigs[i], o->token_id, o->sig, &r.err) != 0) {
            done(args[i], &r);
            continue;
        }
        o->mediator = mediators[i];
        o->count = counts[i];
        o->arg = args[i];
        kept++;
    }
    return kept;
}

/* Offers of a list with checked arguments, through the backend's list form
 * (SQLite's asynchronous one, Redis's blocking one) or one by one. */
static void offer_kept(pc_store *s, size_t n, const pc_store_offer *offers, pc_store_done done)
{
    if (s->ops->offer_counts_async) {
        s->ops->offer_counts_async(s, n, offers, done);
    } else if (s->ops->offer_counts) {
        s->ops->offer_counts(s, n, offers, done);
    } else { /* no list form: the blocking one, here, in order */
        for (size_t i = 0; i < n; i++) {
            const pc_store_offer *o = &offers[i];
            pc_store_result r = {0};
            r.rc = s->ops->offer_count(s, &o->mediator, o->token_id, o->count, o->sig,
                                       &r.verdict, &r.highest, &r.err);
            done(o->arg, &r);
        }
    }
}

void pc_store_offer_counts_async(pc_store *s, size_t n, const pc_address *mediators,
                                 const pc_u256 *token_ids, const uint64_t *counts,
                                 const pc_signature *sigs, pc_store_done done, void *const *args)
{
    pc_store_offer stack_offers[ON_STACK];
    pc_store_offer *offers = n <= ON_STACK ? stack_offers : malloc(n * sizeof *offers);
    if (!offers) {
        fail_all(n, done, args);
        return;
    }
    size_t kept = offer_list(n, mediators, token_ids, counts, sigs, done, args, offers);
    if (kept)
        offer_kept(s, kept, offers, done);
    if (offers != stack_offers)
        free(offers);
}

/* The blocking list form is the asynchronous one waited for, so that each
 * backend's list form (SQLite's one transaction, Redis's one pipeline)
 * serves both. */
typedef struct offers_wait {
    pthread_mutex_t lock;
    pthread_cond_t all_done;
    size_t left;
} offers_wait;

/* Where one offer's outcome goes. */
typedef struct offer_slot {
    offers_wait *wait;
    pc_store_result *result;
} offer_slot;

/* Any thread: one offer's outcome; the last one wakes the caller. */
static void offer_landed(void *arg, const pc_store_result *r)
{
    offer_slot *slot = arg;
    *slot->result = *r;
    pthread_mutex_lock(&slot->wait->lock);
    if (--slot->wait->left == 0)
        pthread_cond_signal(&slot->wait->all_done);
    pthread_mutex_unlock(&slot->wait->lock);
}

/* Runs the asynchronous list form for slots[0..n) (args[i] = &slots[i])
 * and waits for its n callbacks. */
static void offer_and_wait(pc_store *s, size_t n, const pc_address *mediators,
                           const pc_u256 *token_ids, const uint64_t *counts,
                           const pc_signature *sigs, offer_slot *slots, void **args)
{
    offers_wait w = {.left = n};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.all_done, NULL);
    for (size_t i = 0; i < n; i++) {
        slots[i].wait = &w;
        args[i] = &slots[i];
    }
    pc_store_offer_counts_async(s, n, mediators, token_ids, counts, sigs, offer_landed, args);
    pthread_mutex_lock(&w.lock);
    while (w.left)
        pthread_cond_wait(&w.all_done, &w.lock);
    pthread_mutex_unlock(&w.lock);
    pthread_cond_destroy(&w.all_done);
    pthread_mutex_destroy(&w.lock);
}

int pc_store_offer_counts(pc_store *s, size_t n, const pc_address *mediators,
                          const pc_u256 *token_ids, const uint64_t *counts,
                          const pc_signature *sigs, pc_store_result *results)
{
    offer_slot stack_slots[ON_STACK];
    void *stack_args[ON_STACK] = {0}; /* filled by offer_and_wait; zeroed for gcc -O2 */
    offer_slot *slots = n <= ON_STACK ? stack_slots : malloc(n * sizeof *slots);
    void **args = n <= ON_STACK ? stack_args : malloc(n * sizeof *args);
    int failed = 0;
    if (slots && args) {
        for (size_t i = 0; i < n; i++)
            slots[i].result = &results[i];
        offer_and_wait(s, n, mediators, token_ids, counts, sigs, slots, args);
    } else {
        for (size_t i = 0; i < n; i++) {
            results[i] = (pc_store_result){.rc = -1};
            pc_error_set(&results[i].err, PC_ERR_INTERNAL, "store: out of memory");
        }
    }
    for (size_t i = 0; i < n; i++)
        failed |= results[i].rc != 0;
    if (slots != stack_slots)
        free(slots);
    if (args != stack_args)
        free(args);
    return failed ? -1 : 0;
}

void pc_store_offer_count_async(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                                uint64_t count, const pc_signature *sig, pc_store_done done,
                                void *arg)
{
    pc_store_offer_counts_async(s, 1, mediator, token_id, &count, sig, done, &arg);
}

/* ---- shared helpers ---------------------------------------------------------------- */

int pc_record_list_push(pc_record_list *l, const pc_mediator_record *rec, pc_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        pc_mediator_record *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return pc_error_set(err, PC_ERR_INTERNAL, "store: out of memory");
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = *rec;
    return 0;
}

void pc_store_set_observer(pc_store *s, pc_store_observer observe, void *ctx)
{
    s->observe = observe;
    s->observe_ctx = ctx;
}

uint64_t pc_store_clock_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

void pc_store_observed(pc_store *s, uint64_t start_us)
{
    if (s->observe)
        s->observe(s->observe_ctx, pc_store_clock_us() - start_us);
}

uint64_t pc_store_now(void)
{
    return (uint64_t)time(NULL);
}

/* ---- gas accounting --------------------------------------------------------------- */

int pc_store_record_gas(pc_store *s, const pc_gas_tx *tx, pc_error *err)
{
    return s->ops->record_gas(s, tx, err);
}

int pc_store_gas_totals(pc_store *s, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                        pc_error *err)
{
    *totals = NULL;
    *n = 0;
    if (scope != PC_GAS_BY_ACCOUNT && scope != PC_GAS_BY_MEDIATOR)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "store: bad gas scope %d", (int)scope);
    int rc = s->ops->gas_totals(s, scope, totals, n, err);
    if (rc != 0 || *n == 0) {
        free(*totals);
        *totals = NULL;
        *n = 0;
    }
    return rc;
}

int pc_store_recent_gas(pc_store *s, pc_gas_tx **txs, size_t *n, pc_error *err)
{
    *txs = NULL;
    *n = 0;
    int rc = s->ops->recent_gas(s, txs, n, err);
    if (rc != 0 || *n == 0) {
        free(*txs);
        *txs = NULL;
        *n = 0;
    }
    return rc;
}

void pc_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

uint64_t pc_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void pc_gas_tx_encode(const pc_gas_tx *tx, uint8_t out[PC_GAS_TX_WIRE_LEN])
{
    memcpy(out, tx->hash, 32);
    memcpy(out + 32, tx->account.bytes, 20);
    memcpy(out + 52, tx->mediator.bytes, 20);
    memcpy(out + 72, tx->selector, 4);
    pc_put_u64(out + 76, tx->gas_used);
    pc_u256_to_be(&tx->fee, out + 84);
    pc_put_u64(out + 116, tx->block);
    out[124] = (uint8_t)tx->status;
    pc_put_u64(out + 125, tx->at);
}

void pc_gas_tx_decode(const uint8_t in[PC_GAS_TX_WIRE_LEN], pc_gas_tx *tx)
{
    memcpy(tx->hash, in, 32);
    memcpy(tx->account.bytes, in + 32, 20);
    memcpy(tx->mediator.bytes, in + 52, 20);
    memcpy(tx->selector, in + 72, 4);
    tx->gas_used = pc_get_u64(in + 76);
    pc_u256_from_be(&tx->fee, in + 84);
    tx->block = pc_get_u64(in + 116);
    tx->status = in[124];
    tx->at = pc_get_u64(in + 125);
}

void pc_gas_total_add(pc_gas_total *t, uint64_t gas_used, const pc_u256 *fee)
{
    static const pc_u256 max = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    t->txs++;
    t->gas_used += gas_used;
    if (pc_u256_add(&t->fee, &t->fee, fee))
        t->fee = max;
}

void *pc_total_find(void **items, size_t item_size, size_t *n, size_t *cap,
                    const pc_address *key)
{
    for (size_t i = 0; i < *n; i++)
        if (memcmp((char *)*items + i * item_size, key->bytes, 20) == 0)
            return (char *)*items + i * item_size;
    if (*n == *cap) {
        size_t grown = *cap ? 2 * *cap : 8;
        void *t = realloc(*items, grown * item_size);
        if (!t)
            return NULL;
        *items = t;
        *cap = grown;
    }
    char *t = (char *)*items + (*n)++ * item_size;
    memset(t, 0, item_size);
    memcpy(t, key->bytes, 20);
    return t;
}

pc_gas_total *pc_gas_total_find(pc_gas_total **totals, size_t *n, size_t *cap,
                                const pc_address *key)
{
    return pc_total_find((void **)totals, sizeof **totals, n, cap, key);
}
