/* store_memory.c: the in-memory backend of store.h, for tests. Hash maps
 * under one mutex; nothing survives pc_store_close. Records are keyed by
 * mediator (20 bytes) + role (1 byte); the counts issued (consumer) and
 * validated (provider) are two maps. */
#include "server/store/store_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 52 /* mediator (20) + token id (32) */

typedef struct mem_entry {
    struct mem_entry *next;
    uint8_t key[KEY_MAX];
    size_t key_len;
    union {
        uint64_t count; /* consumer counter */
        struct {
            pc_counter_window window;
            uint8_t sig[65];
        } provider;
        pc_mediator_record record;
        uint64_t expires_at; /* nonce */
        pc_redemption redemption; /* a Mediator's last */
    } v;
} mem_entry;

typedef struct mem_map {
    mem_entry **buckets;
    size_t n_buckets, n;
} mem_map;

typedef struct memory_store {
    pc_store base;
    pthread_mutex_t lock;
    mem_map consumer, provider, mediators, nonces;
    mem_map money_seen, redemptions; /* event ids (36 bytes); last redemption per Mediator */
    pc_money_total *money;           /* per account, searched linearly */
    size_t n_money, cap_money;
    unsigned claims_since_sweep;
    pc_chain_identity chain; /* valid when has_chain */
    int has_chain;
    /* gas: totals per scope (few: one per account / Mediator, searched linearly), and a
     * ring of the newest transactions (recent[next - 1] the newest) */
    pc_gas_total *totals[2];
    size_t n_totals[2], cap_totals[2];
    pc_gas_tx recent[PC_STORE_RECENT_TXS];
    size_t n_recent, next_recent;
} memory_store;

/* ---- a small chained hash map keyed by bytes ------------------------------------- */

static size_t hash_key(const uint8_t *key, size_t len)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 1099511628211u;
    return h;
}

static mem_entry **map_slot(mem_map *m, const uint8_t *key, size_t len)
{
    mem_entry **p = &m->buckets[hash_key(key, len) % m->n_buckets];
    while (*p && !((*p)->key_len == len && memcmp((*p)->key, key, len) == 0))
        p = &(*p)->next;
    return p;
}

static mem_entry *map_find(mem_map *m, const uint8_t *key, size_t len)
{
    return *map_slot(m, key, len);
}

static int map_grow(mem_map *m)
{
    size_t n_buckets = m->n_buckets ? 2 * m->n_buckets : 64;
    mem_entry **buckets = calloc(n_buckets, sizeof *buckets);
    if (!buckets)
        return -1;
    for (size_t i = 0; i < m->n_buckets; i++) {
        for (mem_entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t b = hash_key(e->key, e->key_len) % n_buckets;
            e->next = buckets[b];
            buckets[b] = e;
        }
    }
    free(m->buckets);
    m->buckets = buckets;
    m->n_buckets = n_buckets;
    return 0;
}

/* The entry for key, created zeroed if missing; NULL when out of memory. */
static mem_entry *map_get_or_add(mem_map *m, const uint8_t *key, size_t len)
{
    mem_entry *e = map_find(m, key, len);
    if (e)
        return e;
    if (m->n >= m->n_buckets && map_grow(m) != 0)
        return NULL;
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->key, key, len);
    e->key_len = len;
    mem_entry **head = &m->buckets[hash_key(key, len) % m->n_buckets];
    e->next = *head;
    *head = e;
    m->n++;
    return e;
}

typedef int (*entry_pred)(const mem_entry *e, const void *arg);

/* Removes every entry for which pred holds. */
static void map_remove_if(mem_map *m, entry_pred pred, const void *arg)
{
    for (size_t i = 0; i < m->n_buckets; i++) {
        for (mem_entry **p = &m->buckets[i]; *p;) {
            if (pred(*p, arg)) {
                mem_entry *dead = *p;
                *p = dead->next;
                free(dead);
                m->n--;
            } else {
                p = &(*p)->next;
            }
        }
    }
}

static int always(const mem_entry *e, const void *arg)
{
    (void)e;
    (void)arg;
    return 1;
}

static int key_starts_with_mediator(const mem_entry *e, const void *arg)
{
    return memcmp(e->key, arg, 20) == 0;
}

static int nonce_expired(const mem_entry *e, const void *arg)
{
    return e->v.expires_at <= *(const uint64_t *)arg;
}

static void map_free(mem_map *m)
{
    map_remove_if(m, always, NULL);
    free(m->buckets);
}

static void counter_key(const pc_address *mediator, const uint8_t token_id[32], uint8_t key[52])
{
    memcpy(key, mediator->bytes, 20);
    memcpy(key + 20, token_id, 32);
}

/* Locks m and finds the counter of (mediator, token_id) in map (NULL: none
 * yet); the caller unlocks m->lock. */
static mem_entry *lock_counter(memory_store *m, mem_map *map, const pc_address *mediator,
                               const uint8_t token_id[32])
{
    uint8_t key[52];
    counter_key(mediator, token_id, key);
    pthread_mutex_lock(&m->lock);
    return map_find(map, key, sizeof key);
}

/* ---- operations ------------------------------------------------------------------------ */

static int out_of_memory(pc_error *err)
{
    return pc_error_set(err, PC_ERR_INTERNAL, "memory store: out of memory");
}

static int mem_next_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                          uint64_t *count, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    uint8_t key[52];
    counter_key(mediator, token_id, key);
    pthread_mutex_lock(&m->lock);
    mem_entry *e = map_get_or_add(&m->consumer, key, sizeof key);
    if (e)
        *count = ++e->v.count;
    pthread_mutex_unlock(&m->lock);
    return e ? 0 : out_of_memory(err);
}

static int mem_return_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                            uint64_t count, int *returned, pc_error *err)
{
    (void)err;
    memory_store *m = (memory_store *)s;
    mem_entry *e = lock_counter(m, &m->consumer, mediator, token_id);
    *returned = e && e->v.count == count;
    if (*returned)
        e->v.count--;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_offer_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                           uint64_t count, const uint8_t sig[65], pc_count_verdict *verdict,
                           uint64_t *highest, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    uint8_t key[52];
    counter_key(mediator, token_id, key);
    pthread_mutex_lock(&m->lock);
    mem_entry *e = map_get_or_add(&m->provider, key, sizeof key);
    if (e) {
        int r = pc_counter_window_offer(&e->v.provider.window, count);
        if (r == PC_WINDOW_NEWEST)
            memcpy(e->v.provider.sig, sig, 65);
        *verdict = pc_store_verdict_from_window(r);
        *highest = e->v.provider.window.highest;
    }
    pthread_mutex_unlock(&m->lock);
    return e ? 0 : out_of_memory(err);
}

static int mem_best_token(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                          uint64_t *count, uint8_t sig[65], int *found, pc_error *err)
{
    (void)err;
    memory_store *m = (memory_store *)s;
    mem_entry *e = lock_counter(m, &m->provider, mediator, token_id);
    if (e && e->v.provider.window.highest > 0) {
        *found = 1;
        *count = e->v.provider.window.highest;
        memcpy(sig, e->v.provider.sig, 65);
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_issued_count(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                            uint64_t *count, int *found, pc_error *err)
{
    (void)err;
    memory_store *m = (memory_store *)s;
    mem_entry *e = lock_counter(m, &m->consumer, mediator, token_id);
    if (e) {
        *found = 1;
        *count = e->v.count;
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* Drops the counters `role` keeps for the Mediator: issued or validated counts. */
static void forget_locked(memory_store *m, const pc_address *mediator, pc_mediator_role role)
{
    map_remove_if(role == PC_ROLE_CONSUMER ? &m->consumer : &m->provider,
                  key_starts_with_mediator, mediator->bytes);
}

static int mem_forget_counters(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                               pc_error *err)
{
    (void)err;
    memory_store *m = (memory_store *)s;
    pthread_mutex_lock(&m->lock);
    forget_locked(m, mediator, role);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

#define RECORD_KEY_LEN 21

static void record_key(const pc_address *mediator, pc_mediator_role role,
                       uint8_t key[RECORD_KEY_LEN])
{
    memcpy(key, mediator->bytes, 20);
    key[20] = (uint8_t)role;
}

static int mem_put_mediator(pc_store *s, const pc_mediator_record *rec, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    uint8_t key[RECORD_KEY_LEN];
    record_key(&rec->mediator, rec->role, key);
    pthread_mutex_lock(&m->lock);
    mem_entry *e = map_get_or_add(&m->mediators, key, sizeof key);
    if (e)
        e->v.record = *rec;
    pthread_mutex_unlock(&m->lock);
    return e ? 0 : out_of_memory(err);
}

static int mem_get_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                            pc_mediator_record *rec, int *found, pc_error *err)
{
    (void)err;
    memory_store *m = (memory_store *)s;
    uint8_t key[RECORD_KEY_LEN];
    record_key(mediator, role, key);
    pthread_mutex_lock(&m->lock);
    mem_entry *e = map_find(&m->mediators, key, sizeof key);
    if (e) {
        *rec = e->v.record;
        *found = 1;
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_list_mediators(pc_store *s, pc_mediator_record **recs, size_t *n, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    pc_record_list list = {0};
    int ret = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->mediators.n_buckets && ret == 0; i++)
        for (mem_entry *e = m->mediators.buckets[i]; e && ret == 0; e = e->next)
            ret = pc_record_list_push(&list, &e->v.record, err);
    pthread_mutex_unlock(&m->lock);
    if (ret != 0) {
        free(list.items);
        return -1;
    }
    *recs = list.items;
    *n = list.n;
    return 0;
}

static int same_record(const mem_entry *e, const void *arg)
{
    return e->key_len == RECORD_KEY_LEN && memcmp(e->key, arg, RECORD_KEY_LEN) == 0;
}

static int mem_delete_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                               pc_error *err)
{
    (void)err;
    memory_store *m = (memory_store *)s;
    uint8_t key[RECORD_KEY_LEN];
    record_key(mediator, role, key);
    pthread_mutex_lock(&m->lock);
    map_remove_if(&m->mediators, same_record, key);
    forget_locked(m, mediator, role);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_claim_nonce(pc_store *s, const uint8_t nonce[32], uint64_t expires_at, int *fresh,
                           pc_error *err)
{
    memory_store *m = (memory_store *)s;
    uint64_t now = pc_store_now();
    pthread_mutex_lock(&m->lock);
    if (++m->claims_since_sweep >= 1024) { /* drop expired entries now and then */
        m->claims_since_sweep = 0;
        map_remove_if(&m->nonces, nonce_expired, &now);
    }
    mem_entry *e = map_find(&m->nonces, nonce, 32);
    if (e && e->v.expires_at > now) {
        *fresh = 0;
    } else {
        e = e ? e : map_get_or_add(&m->nonces, nonce, 32);
        if (e) {
            e->v.expires_at = expires_at;
            *fresh = 1;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return e ? 0 : out_of_memory(err);
}

static int mem_claim_chain(pc_store *s, const pc_chain_identity *node, pc_chain_identity *stored,
                           int *adopted, pc_error *err)
{
    (void)err;
    memory_store *m = (memory_store *)s;
    pthread_mutex_lock(&m->lock);
    *adopted = !m->has_chain;
    if (!m->has_chain)
        m->chain = *node;
    m->has_chain = 1;
    *stored = m->chain;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* ---- gas --------------------------------------------------------------------------- */

/* The total of key in scope, added if missing; NULL when memory runs out. */
static pc_gas_total *total_of(memory_store *m, int scope, const pc_address *key)
{
    return pc_gas_total_find(&m->totals[scope], &m->n_totals[scope], &m->cap_totals[scope], key);
}

static int mem_record_gas(pc_store *s, const pc_gas_tx *tx, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    static const pc_address none;
    pthread_mutex_lock(&m->lock);
    pc_gas_total *by_account = total_of(m, PC_GAS_BY_ACCOUNT, &tx->account);
    pc_gas_total *by_mediator = pc_address_equal(&tx->mediator, &none)
                                    ? NULL
                                    : total_of(m, PC_GAS_BY_MEDIATOR, &tx->mediator);
    int ok = by_account && (by_mediator || pc_address_equal(&tx->mediator, &none));
    if (ok) {
        pc_gas_total_add(by_account, tx->gas_used, &tx->fee);
        if (by_mediator)
            pc_gas_total_add(by_mediator, tx->gas_used, &tx->fee);
        m->recent[m->next_recent] = *tx;
        m->next_recent = (m->next_recent + 1) % PC_STORE_RECENT_TXS;
        if (m->n_recent < PC_STORE_RECENT_TXS)
            m->n_recent++;
    }
    pthread_mutex_unlock(&m->lock);
    return ok ? 0 : out_of_memory(err);
}

static int mem_gas_totals(pc_store *s, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                          pc_error *err)
{
    memory_store *m = (memory_store *)s;
    pthread_mutex_lock(&m->lock);
    size_t have = m->n_totals[scope];
    *totals = have ? malloc(have * sizeof **totals) : NULL;
    if (*totals) {
        memcpy(*totals, m->totals[scope], have * sizeof **totals);
        *n = have;
    }
    pthread_mutex_unlock(&m->lock);
    return have && !*totals ? out_of_memory(err) : 0;
}

static int mem_recent_gas(pc_store *s, pc_gas_tx **txs, size_t *n, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    pthread_mutex_lock(&m->lock);
    size_t have = m->n_recent;
    *txs = have ? malloc(have * sizeof **txs) : NULL;
    for (size_t i = 0; *txs && i < have; i++) /* newest first */
        (*txs)[i] = m->recent[(m->next_recent + PC_STORE_RECENT_TXS - 1 - i) % PC_STORE_RECENT_TXS];
    if (*txs)
        *n = have;
    pthread_mutex_unlock(&m->lock);
    return have && !*txs ? out_of_memory(err) : 0;
}

/* ---- money ------------------------------------------------------------------------- */

/* Adds the entries of a fresh event; the lock held. -1 when out of memory. */
static int add_money(memory_store *m, const pc_money_event *ev)
{
    for (size_t i = 0; i < ev->n; i++) {
        const pc_money_entry *e = &ev->entries[i];
        pc_money_total *t = pc_money_total_find(&m->money, &m->n_money, &m->cap_money, &e->account);
        if (!t)
            return -1;
        pc_u256_add(&t->amount[e->field], &t->amount[e->field], &e->amount);
    }
    if (ev->has_redemption) {
        mem_entry *r = map_get_or_add(&m->redemptions, ev->mediator.bytes, 20);
        if (!r)
            return -1;
        r->v.redemption = ev->redemption;
    }
    return 0;
}

static int mem_record_money(pc_store *s, const pc_money_event *ev, int *fresh, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    pthread_mutex_lock(&m->lock);
    size_t before = m->money_seen.n;
    mem_entry *seen = map_get_or_add(&m->money_seen, ev->id, sizeof ev->id);
    *fresh = seen && m->money_seen.n > before;
    int rc = !seen || (*fresh && add_money(m, ev) != 0) ? -1 : 0;
    pthread_mutex_unlock(&m->lock);
    return rc == 0 ? 0 : out_of_memory(err);
}

static int mem_money_totals(pc_store *s, pc_money_total **totals, size_t *n, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    pthread_mutex_lock(&m->lock);
    size_t have = m->n_money;
    *totals = have ? malloc(have * sizeof **totals) : NULL;
    if (*totals) {
        memcpy(*totals, m->money, have * sizeof **totals);
        *n = have;
    }
    pthread_mutex_unlock(&m->lock);
    return have && !*totals ? out_of_memory(err) : 0;
}

static int mem_last_redemption(pc_store *s, const pc_address *mediator, pc_redemption *r,
                               int *found, pc_error *err)
{
    memory_store *m = (memory_store *)s;
    (void)err;
    pthread_mutex_lock(&m->lock);
    mem_entry *e = map_find(&m->redemptions, mediator->bytes, 20);
    if ((*found = e != NULL))
        *r = e->v.redemption;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static void mem_close(pc_store *s)
{
    memory_store *m = (memory_store *)s;
    free(m->money);
    map_free(&m->money_seen);
    map_free(&m->redemptions);
    free(m->totals[0]);
    free(m->totals[1]);
    map_free(&m->consumer);
    map_free(&m->provider);
    map_free(&m->mediators);
    map_free(&m->nonces);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Nothing survives a restart: by choice (tests only). */
static int mem_durable(const pc_store *s)
{
    (void)s;
    return 0;
}

static const pc_store_ops memory_ops = {
    .durable = mem_durable,
    .close = mem_close,
    .next_count = mem_next_count,
    .return_count = mem_return_count,
    .offer_count = mem_offer_count,
    .best_token = mem_best_token,
    .issued_count = mem_issued_count,
    .forget_counters = mem_forget_counters,
    .put_mediator = mem_put_mediator,
    .get_mediator = mem_get_mediator,
    .list_mediators = mem_list_mediators,
    .delete_mediator = mem_delete_mediator,
    .claim_nonce = mem_claim_nonce,
    .claim_chain = mem_claim_chain,
    .record_gas = mem_record_gas,
    .gas_totals = mem_gas_totals,
    .recent_gas = mem_recent_gas,
    .record_money = mem_record_money,
    .money_totals = mem_money_totals,
    .last_redemption = mem_last_redemption,
};

pc_store *pc_store_memory_open(pc_error *err)
{
    memory_store *m = calloc(1, sizeof *m);
    if (!m) {
        out_of_memory(err);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->base.ops = &memory_ops;
    strcpy(m->base.description, "memory");
    m->base.accepts_data_loss = 1;
    if (map_grow(&m->consumer) || map_grow(&m->provider) || map_grow(&m->mediators)
        || map_grow(&m->nonces) || map_grow(&m->money_seen) || map_grow(&m->redemptions)) {
        mem_close(&m->base);
        out_of_memory(err);
        return NULL;
    }
    return &m->base;
}
