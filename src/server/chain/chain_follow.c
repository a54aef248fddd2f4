/* chain_follow.c: follows the cached Mediators' state from their events,
 * block by block, and watches the node's health and the served accounts'
 * balances for /status; see chain_cache.h.
 *
 * Per interval the follower asks for the head block (one request). When
 * blocks were added it asks once for every Mediator event in them, by
 * topic and without an address list (one request however many Mediators
 * are cached), and applies those of cached Mediators. Idle traffic is thus
 * at most two requests per interval, plus the balances every 10 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/runtime/logger.h"
#include "server/chain/chain_cache_internal.h"

#define MAX_RANGE 1024          /* blocks per eth_getLogs */
#define BALANCE_EVERY_MS 10000u /* how often /status's balances are read */

/* eth_getLogs of every Mediator event in [from, to], of `only` if not NULL. */
static int get_logs(pc_chain_cache *c, const pc_address *only, uint64_t from, uint64_t to,
                    pc_log **logs, size_t *n, pc_error *err)
{
    const uint8_t (*topics)[32];
    size_t n_topics;
    pc_mediator_event_topics(&topics, &n_topics);
    pc_log_filter f = {.address = only, .from_block = from, .to_block = to,
                       .topic0_any = topics, .n_topic0_any = n_topics};
    return pc_rpc_get_logs(c->rpc, &f, logs, n, err);
}

/* ---- installing a state read on demand ----------------------------------------------- */

/* Applies the events of `mediator` in [from, to] to *st. */
static int catch_up(pc_chain_cache *c, const pc_address *mediator, pc_mediator_state *st,
                    uint64_t from, uint64_t to, pc_error *err)
{
    pc_log *logs = NULL;
    size_t n = 0;
    int rc = 0;
    if (get_logs(c, mediator, from, to, &logs, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        pc_mediator_event ev;
        if (pc_mediator_decode_event(&logs[i], &ev) == 0 && pc_mediator_apply_event(st, &ev) != 0)
            rc = pc_error_set(err, PC_ERR_NODE, "the node's events of a Mediator do not fit "
                                                "its state at block %llu",
                              (unsigned long long)from - 1);
    }
    pc_logs_free(logs, n);
    return rc;
}

int follow_install(pc_chain_cache *c, entry *e, pc_mediator_view *view, pc_error *err)
{
    uint64_t at = view->state.block;
    for (;;) {
        pthread_mutex_lock(&c->follow_lock);
        uint64_t followed = c->followed_block;
        if (!c->following || at >= followed) {
            /* from here on the follower applies every event after `at` */
            pthread_mutex_lock(&e->lock);
            e->at_block = at;
            e->followed = c->following;
            pthread_mutex_unlock(&c->follow_lock);
            return 0;
        }
        pthread_mutex_unlock(&c->follow_lock);
        /* the follower passed blocks this read did not see: apply their events */
        if (catch_up(c, &e->mediator, &view->state, at + 1, followed, err) != 0)
            return -1;
        at = followed;
    }
}

/* ---- following ------------------------------------------------------------------------ */

/* Applies one log to the cached Mediator that emitted it, if any. follow_lock held. */
static void apply_log(pc_chain_cache *c, const pc_log *log)
{
    pc_mediator_event ev;
    if (pc_mediator_decode_event(log, &ev) != 0)
        return; /* the same topic from some other contract */
    entry *e = cache_find(c, &log->address, 0);
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    if (e->has_state && e->followed && log->block_number > e->at_block &&
        pc_mediator_apply_event(&e->view.state, &ev) != 0) {
        char addr[PC_ADDRESS_TEXT_LEN];
        pc_address_format(&e->mediator, addr);
        PC_LOG_W("chain cache: %s event at block %llu does not fit the state of %s: reading it "
                 "again", pc_mediator_event_name(ev.kind), (unsigned long long)log->block_number,
                 addr);
        e->followed = 0;
        e->want_refresh = 1;
    }
    pthread_mutex_unlock(&e->lock);
    cache_release(c, e);
}

/* Follows [from, to] with one eth_getLogs. */
static int follow_range(pc_chain_cache *c, uint64_t from, uint64_t to, pc_error *err)
{
    pc_log *logs = NULL;
    size_t n = 0;
    if (get_logs(c, NULL, from, to, &logs, &n, err) != 0)
        return -1;
    pthread_mutex_lock(&c->follow_lock);
    for (size_t i = 0; i < n; i++)
        apply_log(c, &logs[i]);
    c->followed_block = to;
    pthread_mutex_unlock(&c->follow_lock);
    for (size_t i = 0; c->opts.on_event && i < n; i++) {
        pc_mediator_event ev;
        if (pc_mediator_decode_event(&logs[i], &ev) == 0)
            c->opts.on_event(c->opts.on_event_ctx, &ev);
    }
    pc_logs_free(logs, n);
    return 0;
}

static void unfollow(entry *e, void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&e->lock);
    e->followed = 0;
    pthread_mutex_unlock(&e->lock);
}

/* Starts following at `head` (first head seen, or the chain went back:
 * states read before are no longer followed; they age and are read again). */
static void restart_at(pc_chain_cache *c, uint64_t head)
{
    pthread_mutex_lock(&c->follow_lock);
    if (c->following)
        PC_LOG_W("chain cache: the head went back from block %llu to %llu: reading states again",
                 (unsigned long long)c->followed_block, (unsigned long long)head);
    cache_for_each(c, unfollow, NULL);
    c->followed_block = head;
    c->following = 1;
    pthread_mutex_unlock(&c->follow_lock);
}

/* ---- the node's health and balances, for /status --------------------------------------- */

static void note_node(pc_chain_cache *c, uint64_t at, const uint64_t *head, const pc_error *err)
{
    pthread_mutex_lock(&c->status_lock);
    pc_node_status *st = &c->status.node;
    st->checked = 1;
    st->checked_at_ms = at;
    st->reachable = head != NULL;
    if (head)
        st->block = *head;
    snprintf(st->error, sizeof st->error, "%s", head ? "" : err->message);
    pthread_mutex_unlock(&c->status_lock);
}

static void read_balances(pc_chain_cache *c, uint64_t now)
{
    if (c->n_balance_accounts == 0 || now - c->status.balances_at_ms < BALANCE_EVERY_MS)
        return; /* balances_at_ms is written by this thread only */
    for (size_t i = 0; i < c->n_balance_accounts; i++) {
        pc_u256 wei;
        int ok = pc_rpc_get_balance(c->rpc, &c->balance_accounts[i], &wei, NULL) == 0;
        pthread_mutex_lock(&c->status_lock);
        c->status.balance_known[i] = ok;
        if (ok)
            c->status.balances[i] = wei;
        pthread_mutex_unlock(&c->status_lock);
    }
    c->status.balances_at_ms = now;
}

void pc_chain_cache_node_status(pc_chain_cache *c, pc_node_status *out)
{
    pthread_mutex_lock(&c->status_lock);
    *out = c->status.node;
    pthread_mutex_unlock(&c->status_lock);
}

int pc_chain_cache_balance(pc_chain_cache *c, size_t index, pc_u256 *wei)
{
    if (index >= c->n_balance_accounts)
        return 0;
    pthread_mutex_lock(&c->status_lock);
    int known = c->status.balance_known[index];
    if (known)
        *wei = c->status.balances[index];
    pthread_mutex_unlock(&c->status_lock);
    return known;
}

/* ---- the follower thread ---------------------------------------------------------------- */

static void follow_tick(void *arg)
{
    pc_chain_cache *c = arg;
    pc_error err;
    uint64_t started = cache_now_ms(), head;
    if (pc_rpc_block_number(c->rpc, &head, &err) != 0) {
        note_node(c, started, NULL, &err);
        return;
    }
    note_node(c, started, &head, NULL);
    read_balances(c, started);
    uint64_t followed = c->followed_block; /* written by this thread only */
    if (!c->following || head < followed) {
        restart_at(c, head);
    } else {
        while (followed < head) {
            uint64_t to = head - followed > c->follow_range ? followed + c->follow_range : head;
            if (follow_range(c, followed + 1, to, &err) != 0) {
                /* perhaps too many logs for one answer: fewer blocks next time */
                c->follow_range = c->follow_range > 1 ? c->follow_range / 2 : 1;
                PC_LOG_W("chain cache: following blocks %llu..%llu failed: %s",
                         (unsigned long long)followed + 1, (unsigned long long)to, err.message);
                note_node(c, started, NULL, &err);
                return; /* followed states age from here; the next tick goes on */
            }
            followed = to;
            if (c->follow_range < MAX_RANGE)
                c->follow_range *= 2;
        }
    }
    /* every followed state was current when the head was `head` */
    atomic_store(&c->followed_at_ms, started);
}

int follow_start(pc_chain_cache *c, pc_error *err)
{
    size_t n = c->opts.n_balance_accounts;
    pthread_mutex_init(&c->follow_lock, NULL);
    pthread_mutex_init(&c->status_lock, NULL);
    atomic_init(&c->followed_at_ms, 0);
    c->follow_range = MAX_RANGE;
    c->balance_accounts = calloc(n + 1, sizeof *c->balance_accounts);
    c->status.balances = calloc(n + 1, sizeof *c->status.balances);
    c->status.balance_known = calloc(n + 1, sizeof *c->status.balance_known);
    if (!c->balance_accounts || !c->status.balances || !c->status.balance_known)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    if (n)
        memcpy(c->balance_accounts, c->opts.balance_accounts, n * sizeof *c->balance_accounts);
    c->n_balance_accounts = n;
    follow_tick(c); /* /status knows the node (and the balances) from the start */
    c->follower = pc_ticker_start(follow_tick, c, c->opts.follow_interval_ms, err);
    return c->follower ? 0 : -1;
}

void follow_stop(pc_chain_cache *c)
{
    pc_ticker_stop(c->follower);
    c->follower = NULL;
    free(c->balance_accounts);
    free(c->status.balances);
    free(c->status.balance_known);
    pthread_mutex_destroy(&c->follow_lock);
    pthread_mutex_destroy(&c->status_lock);
}
