/* chain_cache.c: see chain_cache.h. A hash map of reference-counted
 * entries; each entry has its own lock and a "loading" flag so concurrent
 * readers wait for the one node read in flight and take its outcome instead
 * of repeating it. Following the chain block by block is in chain_follow.c. */
#include "server/chain/chain_cache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/runtime/logger.h"
#include "server/chain/chain_cache_internal.h"

#define N_BUCKETS CACHE_BUCKETS
#define REFRESH_TICK_MS 100
#define RETRY_AFTER_FAILURE_MS 1000 /* a failed read is not repeated sooner */
#define LOAD_ATTEMPTS 3             /* reads whose funds the balance does not cover */

uint64_t cache_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

#define now_ms cache_now_ms

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
entry *cache_find(pc_chain_cache *c, const pc_address *mediator, int create)
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
    return cache_find(c, mediator, 1);
}

void cache_release(pc_chain_cache *c, entry *e)
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
        /* Getters that answer nothing: no code, or code that is not ours, is a bad address;
         * our code that does not answer is the node's failure. */
        pc_bytes code = {0};
        pc_error code_err;
        int read = pc_rpc_get_code(c->rpc, mediator, &code, &code_err) == 0;
        int no_code = read && code.len == 0;
        int other_code = read && code.len > 0 && !pc_mediator_is_clone_code(code.data, code.len);
        pc_bytes_free(&code);
        if (no_code)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "no Mediator at %s", addr);
        if (other_code)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                                "the contract at %s is not a genuine Mediator", addr);
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

/* Reads the state once; 1 (after filling *err) when its funds exceed the
 * ether the contract holds. */
static int read_state_once(pc_chain_cache *c, entry *e, pc_mediator_view *view, pc_error *err)
{
    view->fetched_at_ms = now_ms(); /* the state is at least as new as the moment we asked */
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
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                     "the contract at %s holds less ether than its funds claim: "
                     "not a genuine Mediator", addr);
        return 1;
    }
    return 0;
}

/* Loads what *e lacks into *view (outside e->lock: only the loader writes).
 * The reads are pinned to one block, so funds above the balance mean the
 * contract's storage lies; still, a node's inconsistent answer must not be
 * blamed on the client: the read is repeated before the Mediator is refused. */
static int load(pc_chain_cache *c, entry *e, int need_terms, pc_mediator_view *view,
                pc_error *err)
{
    pthread_mutex_lock(&c->map_lock);
    c->loads++;
    pthread_mutex_unlock(&c->map_lock);
    int rc = need_terms && load_terms(c, &e->mediator, &view->terms, err) != 0 ? -1 : 1;
    for (int attempt = 0; rc == 1 && attempt < LOAD_ATTEMPTS; attempt++)
        if ((rc = read_state_once(c, e, view, err)) == 1)
            PC_LOG_W("chain cache: %s (read %d of %d)", err->message, attempt + 1, LOAD_ATTEMPTS);
    return rc == 0 ? 0 : -1;
}

/* Reads e (its lock held on entry and exit) unless someone else is; the
 * outcome is left in e for the readers waiting on it. */
static int load_locked(pc_chain_cache *c, entry *e, pc_error *err)
{
    pc_mediator_view view = e->view;
    int need_terms = !e->has_terms;
    e->loading = 1;
    e->load_started_ms = now_ms();
    e->want_refresh = 0; /* an invalidation from now on asks for another read */
    pthread_mutex_unlock(&e->lock);
    /* however slowly the node answers each of its requests, a read waits
     * no longer than this as a whole */
    uint64_t previous = pc_rpc_set_thread_deadline(
        c->opts.read_deadline_ms > 0 ? pc_rpc_now_ms() + (uint64_t)c->opts.read_deadline_ms : 0);
    int rc = load(c, e, need_terms, &view, err);
    if (rc == 0)
        rc = follow_install(c, e, &view, err); /* 0: returns with e->lock held */
    pc_rpc_set_thread_deadline(previous);
    if (rc == 0) {
        e->view = view;
        e->has_terms = e->has_state = 1;
        e->failed_at_ms = 0;
    } else {
        rc = -1;
        pthread_mutex_lock(&e->lock);
        e->failed_at_ms = now_ms();
        e->last_err = *err;
    }
    e->loading = 0;
    e->last_rc = rc;
    e->load_gen++;
    pthread_cond_broadcast(&e->done_loading);
    return rc;
}

/* When e's state was last known to be current: read, or followed since. */
static uint64_t current_at(const pc_chain_cache *c, const entry *e)
{
    uint64_t followed = e->followed ? atomic_load(&c->followed_at_ms) : 0;
    return followed > e->view.fetched_at_ms ? followed : e->view.fetched_at_ms;
}

static uint64_t age_of(const pc_chain_cache *c, const entry *e, uint64_t now)
{
    uint64_t at = current_at(c, e);
    return now > at ? now - at : 0;
}

/* The state is within its bound (it may be served). */
static int usable(const pc_chain_cache *c, const entry *e, uint64_t now)
{
    return e->has_state && age_of(c, e, now) < pc_chain_cache_max_age_ms(c, &e->view.terms);
}

/* The state may be served without asking the node first. */
static int fresh(const pc_chain_cache *c, const entry *e, uint64_t now)
{
    return !e->want_refresh && usable(c, e, now);
}

/* Fills *out from e (lock held) after a read failed: the state
 * if still within its bound, else the failure. */
static int after_failure(pc_chain_cache *c, entry *e, pc_mediator_view *out)
{
    if (!usable(c, e, now_ms()))
        return -1;
    e->want_refresh = 0; /* asked once; the follower and refresh ahead take it from here */
    *out = e->view;
    return 0;
}

/* The last read failed for want of the node less than a second ago. */
static int node_failed_recently(const entry *e, uint64_t now)
{
    return e->failed_at_ms && now - e->failed_at_ms < RETRY_AFTER_FAILURE_MS &&
           e->last_err.code == PC_ERR_NODE;
}

/* Waits (lock held) for the read in flight and takes its outcome. */
static int wait_for_read(entry *e, pc_error *err)
{
    unsigned gen = e->load_gen;
    while (e->loading && e->load_gen == gen)
        pthread_cond_wait(&e->done_loading, &e->lock);
    if (e->last_rc != 0 && err)
        *err = e->last_err;
    return e->last_rc;
}

/* Reads e now (lock held), or shares the read in flight, or repeats the
 * failure of a read that failed a moment ago (the node is not asked again
 * per request). The state in e is kept whatever happens. */
static int read_now(pc_chain_cache *c, entry *e, pc_error *err)
{
    if (e->loading)
        return wait_for_read(e, err);
    if (node_failed_recently(e, now_ms())) {
        if (err)
            *err = e->last_err;
        return -1;
    }
    pc_error local;
    pc_error *why = err ? err : &local;
    int rc = load_locked(c, e, why);
    if (rc != 0 && e->has_state)
        PC_LOG_W("chain cache: reading a Mediator failed; its state is kept: %s", why->message);
    return rc;
}

/* current: the state must be read now (no fallback to the cached one). */
static int get_locked(pc_chain_cache *c, entry *e, int current, pc_mediator_view *out,
                      pc_error *err)
{
    if ((!current && fresh(c, e, now_ms())) || read_now(c, e, err) == 0) {
        *out = e->view;
        return 0;
    }
    return current ? -1 : after_failure(c, e, out);
}

/* A state read at or after since_ms (lock held): the cached one if it is,
 * the read in flight if it began then or later, else a new read. */
static int get_since_locked(pc_chain_cache *c, entry *e, uint64_t since_ms,
                            pc_mediator_view *out, pc_error *err)
{
    if (e->loading && e->load_started_ms < since_ms)
        wait_for_read(e, NULL); /* began too early to tell: let it end, then decide */
    if (!e->loading && e->has_state && e->view.fetched_at_ms >= since_ms) {
        *out = e->view;
        return 0;
    }
    if (read_now(c, e, err) != 0)
        return -1;
    *out = e->view;
    return 0;
}

/* current: read now; since_ms (if not 0): read at or after then; else cached if fresh. */
static int get(pc_chain_cache *c, const pc_address *mediator, int current, uint64_t since_ms,
               pc_mediator_view *out, pc_error *err)
{
    entry *e = acquire(c, mediator);
    if (!e)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    pthread_mutex_lock(&e->lock);
    int rc = since_ms ? get_since_locked(c, e, since_ms, out, err)
                      : get_locked(c, e, current, out, err);
    pthread_mutex_unlock(&e->lock);
    cache_release(c, e);
    return rc;
}

int pc_chain_cache_get(pc_chain_cache *c, const pc_address *mediator, pc_mediator_view *out,
                       pc_error *err)
{
    return get(c, mediator, 0, 0, out, err);
}

int pc_chain_cache_get_current(pc_chain_cache *c, const pc_address *mediator,
                               pc_mediator_view *out, pc_error *err)
{
    return get(c, mediator, 1, 0, out, err);
}

int pc_chain_cache_get_read_since(pc_chain_cache *c, const pc_address *mediator,
                                  uint64_t since_ms, pc_mediator_view *out, pc_error *err)
{
    return get(c, mediator, 0, since_ms ? since_ms : 1, out, err);
}

int pc_chain_cache_peek(pc_chain_cache *c, const pc_address *mediator, pc_mediator_view *out)
{
    entry *e = cache_find(c, mediator, 0);
    if (!e)
        return 0;
    int hit = 0;
    if (pthread_mutex_trylock(&e->lock) == 0) { /* held only briefly; never wait */
        if ((hit = fresh(c, e, now_ms())))
            *out = e->view;
        pthread_mutex_unlock(&e->lock);
    }
    cache_release(c, e);
    return hit;
}

void pc_chain_cache_invalidate(pc_chain_cache *c, const pc_address *mediator)
{
    entry *e = acquire(c, mediator);
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->want_refresh = 1;
    e->failed_at_ms = 0; /* a request for a current state may ask the node again */
    pthread_mutex_unlock(&e->lock);
    cache_release(c, e);
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
                          !node_failed_recently(e, now) &&
                          age_of(c, e, now) >= pc_chain_cache_max_age_ms(c, &e->view.terms) / 2;
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
        cache_release(c, e);
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
    if (!c->opts.follow_interval_ms)
        c->opts.follow_interval_ms = 1000;
    pthread_mutex_init(&c->map_lock, NULL);
    if (follow_start(c, err) != 0 ||
        !(c->refresher = pc_ticker_start(refresh_tick, c, REFRESH_TICK_MS, err))) {
        pc_chain_cache_destroy(c);
        return NULL;
    }
    return c;
}

void cache_for_each(pc_chain_cache *c, void (*fn)(entry *e, void *ctx), void *ctx)
{
    pthread_mutex_lock(&c->map_lock);
    for (size_t b = 0; b < N_BUCKETS; b++)
        for (entry *e = c->buckets[b]; e; e = e->next)
            fn(e, ctx);
    pthread_mutex_unlock(&c->map_lock);
}

void pc_chain_cache_destroy(pc_chain_cache *c)
{
    if (!c)
        return;
    pc_ticker_stop(c->refresher);
    follow_stop(c);
    for (size_t b = 0; b < N_BUCKETS; b++) {
        for (entry *e = c->buckets[b], *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    }
    pthread_mutex_destroy(&c->map_lock);
    free(c);
}
