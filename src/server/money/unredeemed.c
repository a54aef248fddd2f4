/* unredeemed.c: see unredeemed.h. A chained hash of the ids (their number
 * is the number of live provider channels, at most two ids each) and a
 * short array of per-account sums. */
#include "server/money/unredeemed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096

typedef struct id_entry {
    struct id_entry *next;
    pc_address mediator;
    pc_u256 token_id, cost;
    uint64_t count;
    size_t account; /* index into sums */
} id_entry;

typedef struct account_sum {
    pc_address account;
    pc_u256 wei;
} account_sum;

struct pc_unredeemed {
    pthread_mutex_t lock;
    id_entry *buckets[BUCKETS];
    account_sum *sums;
    size_t n_sums, cap_sums;
    int seeding_taken; /* atomic */
};

pc_unredeemed *pc_unredeemed_new(void)
{
    pc_unredeemed *u = calloc(1, sizeof *u);
    if (u)
        pthread_mutex_init(&u->lock, NULL);
    return u;
}

void pc_unredeemed_free(pc_unredeemed *u)
{
    if (!u)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        for (id_entry *e = u->buckets[b], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(u->sums);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static size_t bucket_of(const pc_address *m)
{
    size_t h = 0;
    memcpy(&h, m->bytes + 12, sizeof h < 8 ? sizeof h : 8);
    return h % BUCKETS;
}

/* The index of account's sum, appended when missing; (size_t)-1 out of memory. */
static size_t sum_index(pc_unredeemed *u, const pc_address *account)
{
    for (size_t i = 0; i < u->n_sums; i++)
        if (pc_address_equal(&u->sums[i].account, account))
            return i;
    if (u->n_sums == u->cap_sums) {
        size_t cap = u->cap_sums ? 2 * u->cap_sums : 4;
        account_sum *grown = realloc(u->sums, cap * sizeof *grown);
        if (!grown)
            return (size_t)-1;
        u->sums = grown;
        u->cap_sums = cap;
    }
    u->sums[u->n_sums] = (account_sum){.account = *account};
    return u->n_sums++;
}

/* Moves count x cost into (add) or out of account i's sum. */
static void adjust(pc_unredeemed *u, size_t i, const pc_u256 *cost, uint64_t count, int add)
{
    pc_u256 n = pc_u256_from_u64(count), value;
    if (pc_u256_mul(&value, &n, cost))
        return; /* beyond 2^256 wei: not a real channel's */
    if (add)
        pc_u256_add(&u->sums[i].wei, &u->sums[i].wei, &value);
    else if (pc_u256_sub(&u->sums[i].wei, &u->sums[i].wei, &value))
        u->sums[i].wei = (pc_u256){0}; /* never below zero */
}

void pc_unredeemed_raise(pc_unredeemed *u, const pc_address *account, const pc_address *mediator,
                         const pc_u256 *token_id, const pc_u256 *cost, uint64_t highest)
{
    id_entry **head = &u->buckets[bucket_of(mediator)], *e;
    pthread_mutex_lock(&u->lock);
    for (e = *head; e; e = e->next)
        if (pc_address_equal(&e->mediator, mediator) && pc_u256_cmp(&e->token_id, token_id) == 0)
            break;
    if (!e) {
        size_t i = sum_index(u, account);
        if (i != (size_t)-1 && (e = calloc(1, sizeof *e))) {
            *e = (id_entry){.next = *head, .mediator = *mediator, .token_id = *token_id,
                            .cost = *cost, .account = i};
            *head = e;
        }
    }
    if (e && highest > e->count) {
        adjust(u, e->account, &e->cost, highest - e->count, 1);
        e->count = highest;
    }
    pthread_mutex_unlock(&u->lock);
}

void pc_unredeemed_retire(pc_unredeemed *u, const pc_address *mediator, const pc_u256 *token_id)
{
    pthread_mutex_lock(&u->lock);
    for (id_entry **p = &u->buckets[bucket_of(mediator)]; *p;) {
        id_entry *e = *p;
        if (pc_address_equal(&e->mediator, mediator) &&
            (!token_id || pc_u256_cmp(&e->token_id, token_id) == 0)) {
            adjust(u, e->account, &e->cost, e->count, 0);
            *p = e->next;
            free(e);
        } else {
            p = &e->next;
        }
    }
    pthread_mutex_unlock(&u->lock);
}

int pc_unredeemed_first_seeding(pc_unredeemed *u)
{
    return __atomic_exchange_n(&u->seeding_taken, 1, __ATOMIC_RELAXED) == 0;
}

pc_u256 pc_unredeemed_total(pc_unredeemed *u)
{
    pc_u256 sum = {0};
    pthread_mutex_lock(&u->lock);
    for (size_t i = 0; i < u->n_sums; i++)
        pc_u256_add(&sum, &sum, &u->sums[i].wei);
    pthread_mutex_unlock(&u->lock);
    return sum;
}
