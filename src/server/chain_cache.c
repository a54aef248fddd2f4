/* chain_cache.c: see chain_cache.h. A hash map of reference-counted
 * entries; each entry has its own lock and a "loading" flag so concurrent
 * misses wait for the one node read in flight instead of repeating it. */
#include "server/chain_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/logger.h"
#include "core/ticker.h"

#define N_BUCKETS 4096
#define REFRESH_TICK_MS 100

typedef struct entry {
    pc_address mediator;
    struct entry *next; /* bucket chain, under the cache's map_lock */
    unsigned refs;      /* under map_lock; the map itself holds one while linked */
    int linked;         /* under map_lock */
    uint64_t last_used_ms;
    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t done_loading;
    int loading, has_terms, has_state;
    pc_mediator_view view;
} entry;

struct pc_chain_cache {
    pc_rpc *rpc;
    pc_chain_cache_options opts;
    pthread_mutex_t map_lock;
    entry *buckets[N_BUCKETS];
    size_t n_entries;
    uint64_t loads; /* under map_lock */
    pc_ticker *refresher;
};

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static size_t bucket_of(const pc_address *a)
{
    uint32_t h = 2166136261u; /* FNV-1a: addresses are already random */
    for (size_t i = 0; i < sizeof(a->bytes); i++)
        h = (h ^ a->bytes[i]) * 16777619u;
    return h % N_BUCKETS;
}

uint64_t pc_chain_cache_max_age_ms(const pc_chain_cache *c, const pc_mediator_terms *t)
{
    uint64_t a = t->token_redemption_timeout * 1000u / 2, b = t->termination_timeout * 1000u / 4;
    uint64_t age = a < b ? a : b;
    if (age > c->opts.max_age_cap_ms)
        age = c->opts.max_age_cap_ms;
    return age < c->opts.min_age_ms ? c->opts.min_age_ms : age;
}

/* ---- entries -------------------------------------------------------------------- */

static void entry_free(entry *e)
{
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->done_loading);
    free(e);
}

static void unlink_entry(pc_chain_cache *c, entry *e)
{
    entry **p = &c->buckets[bucket_of(&e->mediator)];
    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    e->linked = 0;
    c->n_entries--;
    e->refs--; /* the map's reference */
}

/* Drops the least recently used entry nobody is using; map_lock held. */
static void evict_one(pc_chain_cache *c)
{
    entry *victim = NULL;
    for (size_t b = 0; b < N_BUCKETS; b++)
        for (entry *e = c->buckets[b]; e; e = e->next)
            if (e->refs == 1 && (!victim || e->last_used_ms < victim->last_used_ms))
                victim = e;
    if (victim) {
        unlink_entry(c, victim);
        entry_free(victim);
    }
}

/* Finds (or, with create, creates) the entry of `mediator` and takes a
 * reference; NULL when there is none (or no memory). */
static entry *find(pc_chain_cache *c, const pc_address *mediator, int create)
{
    pthread_mutex_lock(&c->map_lock);
    entry **head = &c->buckets[bucket_of(mediator)], *e = *head;
    while (e && !pc_address_equal(&e->mediator, mediator))
        e = e->next;
    if (!e && create) {
        if (c->n_entries >= c->opts.max_entries)
            evict_one(c);
        e = calloc(1, sizeof(*e));
        if (e) {
            e->mediator = *mediator;
            pthread_mutex_init(&e->lock, NULL);
            pthread_cond_init(&e->done_loading, NULL);
            e->next = *head;
            *head = e;
            e->linked = 1;
            e->refs = 1;
            c->n_entries++;
        }
    }
    if (e) {
        e->refs++;
        e->last_used_ms = now_ms();
    }
    pthread_mutex_unlock(&c->map_lock);
    return e;
}

static entry *acquire(pc_chain_cache *c, const pc_address *mediator)
{
    return find(c, mediator, 1);
}

static void release(pc_chain_cache *c, entry *e)
{
    pthread_mutex_lock(&c->map_lock);
    int free_it = --e->refs == 0;
    pthread_mutex_unlock(&c->map_lock);
    if (free_it)
        entry_free(e);
}

/* ---- loading from the node --------------------------------------------------------- */

/* Reads the terms of a Mediator we have not seen and checks its code. */
static int load_terms(pc_chain_cache *c, const pc_address *mediator, pc_mediator_terms *t,
                      pc_error *err)
{
    char addr[PC_ADDRESS_TEXT_LEN];
    int genuine = 0;
    pc_address_format(mediator, addr);
    if (pc_mediator_read_terms(c->rpc, mediator, t, err) != 0) {
        pc_bytes code = {0};
        pc_error code_err;
        int no_code = pc_rpc_get_code(c->rpc, mediator, &code, &code_err) == 0 && code.len == 0;
        pc_bytes_free(&code);
        if (no_code)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "no Mediator at %s", addr);
        return -1;
    }
    if (pc_mediator_verify_code(c->rpc, mediator, t, &genuine, err) != 0)
        return -1;
    if (!genuine)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                            "the contract at %s is not a genuine Mediator", addr);
    PC_LOG_D("chain cache: verified Mediator %s", addr);
    return 0;
}

/* Loads what *e lacks into *view (outside e->lock: only the loader writes). */
static int load(pc_chain_cache *c, entry *e, int need_terms, pc_mediator_view *view,
                pc_error *err)
{
    pthread_mutex_lock(&c->map_lock);
    c->loads++;
    pthread_mutex_unlock(&c->map_lock);
    if (need_terms && load_terms(c, &e->mediator, &view->terms, err) != 0)
        return -1;
    uint64_t started = now_ms();
    if (pc_mediator_read_state(c->rpc, &e->mediator, &view->state, err) != 0)
        return -1;
    /* Our code with storage of someone else's making (a contract deployed
     * with other init code) could claim funds it does not hold: a genuine
     * Mediator always holds at least what its two funds add up to. */
    pc_u256 owed;
    if (pc_u256_add(&owed, &view->state.consumer_funds, &view->state.provider_funds) ||
        pc_u256_cmp(&view->state.balance, &owed) < 0) {
        char addr[PC_ADDRESS_TEXT_LEN];
        pc_address_format(&e->mediator, addr);
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                            "the contract at %s holds less ether than its funds claim: "
                            "not a genuine Mediator", addr);
    }
    view->fetched_at_ms = started; /* the state is at least as new as the moment we asked */
    return 0;
}

/* Loads e (its lock held on entry and exit) unless someone else is. */
static int load_locked(pc_chain_cache *c, entry *e, pc_error *err)
{
    pc_mediator_view view = e->view;
    int need_terms = !e->has_terms;
    e->loading = 1;
    pthread_mutex_unlock(&e->lock);
    int rc = load(c, e, need_terms, &view, err);
    pthread_mutex_lock(&e->lock);
    e->loading = 0;
    if (rc == 0) {
        e->view = view;
        e->has_terms = e->has_state = 1;
    }
    pthread_cond_broadcast(&e->done_loading);
    return rc;
}

static int fresh(const pc_chain_cache *c, const entry *e, uint64_t now)
{
    return e->has_state &&
           now - e->view.fetched_at_ms < pc_chain_cache_max_age_ms(c, &e->view.terms);
}

int pc_chain_cache_get(pc_chain_cache *c, const pc_address *mediator, pc_mediator_view *out,
                       pc_error *err)
{
    entry *e = acquire(c, mediator);
    if (!e)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    int rc = 0;
    pthread_mutex_lock(&e->lock);
    while (!fresh(c, e, now_ms())) {
        if (e->loading) {
            pthread_cond_wait(&e->done_loading, &e->lock);
            continue;
        }
        if ((rc = load_locked(c, e, err)) != 0)
            break;
    }
    if (rc == 0)
        *out = e->view;
    pthread_mutex_unlock(&e->lock);
    release(c, e);
    return rc;
}

int pc_chain_cache_peek(pc_chain_cache *c, const pc_address *mediator, pc_mediator_view *out)
{
    entry *e = find(c, mediator, 0);
    if (!e)
        return 0;
    int hit = 0;
    if (pthread_mutex_trylock(&e->lock) == 0) { /* held only briefly; never wait */
        if ((hit = fresh(c, e, now_ms())))
            *out = e->view;
        pthread_mutex_unlock(&e->lock);
    }
    release(c, e);
    return hit;
}

void pc_chain_cache_invalidate(pc_chain_cache *c, const pc_address *mediator)
{
    entry *e = acquire(c, mediator);
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->has_state = 0;
    pthread_mutex_unlock(&e->lock);
    release(c, e);
}

void pc_chain_cache_forget(pc_chain_cache *c, const pc_address *mediator)
{
    pthread_mutex_lock(&c->map_lock);
    entry *e = c->buckets[bucket_of(mediator)];
    while (e && !pc_address_equal(&e->mediator, mediator))
        e = e->next;
    int free_it = 0;
    if (e) {
        unlink_entry(c, e);
        free_it = e->refs == 0;
    }
    pthread_mutex_unlock(&c->map_lock);
    if (free_it)
        entry_free(e);
}

uint64_t pc_chain_cache_loads(const pc_chain_cache *c)
{
    pthread_mutex_lock((pthread_mutex_t *)&c->map_lock);
    uint64_t n = c->loads;
    pthread_mutex_unlock((pthread_mutex_t *)&c->map_lock);
    return n;
}

/* ---- refresh ahead --------------------------------------------------------------------- */

/* Takes references to up to `cap` entries whose state is past half its age. */
static size_t collect_due(pc_chain_cache *c, entry **due, size_t cap)
{
    size_t n = 0;
    uint64_t now = now_ms();
    pthread_mutex_lock(&c->map_lock);
    for (size_t b = 0; b < N_BUCKETS && n < cap; b++) {
        for (entry *e = c->buckets[b]; e && n < cap; e = e->next) {
            /* never wait here (map_lock is held): an entry in use is looked at next tick */
            if (pthread_mutex_trylock(&e->lock) != 0)
                continue;
            int due_now = e->has_state && !e->loading &&
                          now - e->view.fetched_at_ms >=
                              pc_chain_cache_max_age_ms(c, &e->view.terms) / 2;
            pthread_mutex_unlock(&e->lock);
            if (due_now) {
                e->refs++;
                due[n++] = e;
            }
        }
    }
    pthread_mutex_unlock(&c->map_lock);
    return n;
}

static void refresh_due(pc_chain_cache *c)
{
    entry *due[256];
    size_t n = collect_due(c, due, sizeof(due) / sizeof(due[0]));
    for (size_t i = 0; i < n; i++) {
        entry *e = due[i];
        pc_error err;
        pthread_mutex_lock(&e->lock);
        if (!e->loading && e->has_state && load_locked(c, e, &err) != 0) {
            char addr[PC_ADDRESS_TEXT_LEN];
            pc_address_format(&e->mediator, addr);
            PC_LOG_W("chain cache: refreshing %s failed: %s", addr, err.message);
        }
        pthread_mutex_unlock(&e->lock);
        release(c, e);
    }
}

static void refresh_tick(void *c)
{
    refresh_due(c);
}

pc_chain_cache *pc_chain_cache_create(pc_rpc *rpc, const pc_chain_cache_options *opts,
                                      pc_error *err)
{
    pc_chain_cache *c = calloc(1, sizeof(*c));
    if (!c) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    c->rpc = rpc;
    if (opts)
        c->opts = *opts;
    if (!c->opts.max_entries)
        c->opts.max_entries = 100000;
    if (!c->opts.max_age_cap_ms)
        c->opts.max_age_cap_ms = 30000;
    if (!c->opts.min_age_ms)
        c->opts.min_age_ms = 200;
    pthread_mutex_init(&c->map_lock, NULL);
    if (!(c->refresher = pc_ticker_start(refresh_tick, c, REFRESH_TICK_MS, err))) {
        pthread_mutex_destroy(&c->map_lock);
        free(c);
        return NULL;
    }
    return c;
}

void pc_chain_cache_destroy(pc_chain_cache *c)
{
    if (!c)
        return;
    pc_ticker_stop(c->refresher);
    for (size_t b = 0; b < N_BUCKETS; b++) {
        for (entry *e = c->buckets[b], *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    }
    pthread_mutex_destroy(&c->map_lock);
    free(c);
}
