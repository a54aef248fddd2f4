/* store_redis.c: the Redis backend of store.h (hiredis). Several paychand
 * instances of one team may share one Redis: every counter operation is one
 * Lua script (store_redis_scripts.h), which Redis runs atomically. This
 * file keeps the connections, the scripts, the durability checks and the
 * opening; the counter operations are in store_redis_counts.c, the
 * Mediator records in store_redis_mediators.c (both through
 * store_redis_conn.h).
 *
 * Connections: a mutex-guarded pool; a thread takes one for the length of
 * an operation, so no redisContext is ever used by two threads at once. A
 * connection that failed is dropped together with the idle ones (they most
 * likely point at the same dead server); the next call connects anew.
 *
 * Keys (all under the prefix, hex without "0x"; layout version 3, see
 * pc_redis_migrate_lua for versions 1 and 2): cc:<mediator>:<token id> the
 * consumer's counter (counts issued) and cids:<mediator> the set of its
 * token ids; pc:<mediator>:<token id> the provider's counter hash (counts
 * validated), pw:<mediator>:<token id> its ring of seen counts and
 * ids:<mediator> the set of its token ids; med:<mediator>:<role> a record
 * hash and mediators the set of records ("<mediator>:<role>"); nonce:<nonce>;
 * schema the layout version; chain the chain the data belongs to, as
 * "<chain id>:<genesis hash>" (a key a layout 2 store may lack: it is
 * then adopted, so no layout change); gas:acct and gas:med the gas totals and
 * gas:recent the newest transactions (store_redis_gas.c); money:acct,
 * money:events and money:last the money ledger (store_redis_money.c). One
 * server serving both ends of a Mediator thus keeps two records and two
 * separate counters per token id.
 *
 * Durability comes from the server's appendonly yes + appendfsync always:
 * opening fails without them (unless accept_data_loss), and since they can
 * change at run time (CONFIG SET, a restart with another configuration),
 * they are checked again on every new connection and once a second by a
 * ticker thread; meanwhile counts are refused. Not per operation: that would
 * add a round trip to every count (CONFIG cannot run inside a script).
 *
 * High availability (store_redis_sentinel.h): with sentinels, a new
 * connection goes to the primary they name; one that fails or hears
 * READONLY is dropped with the idle ones, so a failover is followed without
 * a restart. With wait_replicas > 0 a count is acknowledged only after WAIT. */
#include "server/store/store_internal.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/runtime/logger.h"
#include "server/store/redis/store_redis_claims.h"
#include "server/store/redis/store_redis_conn.h"
#include "server/store/redis/store_redis_counts.h"
#include "server/store/redis/store_redis_durability.h"
#include "server/store/redis/store_redis_admin.h"
#include "server/store/redis/store_redis_gas.h"
#include "server/store/redis/store_redis_mediators.h"
#include "server/store/redis/store_redis_money.h"
#include "server/store/redis/store_redis_sentinel.h"
#include "server/store/redis/store_redis_scripts.h"
#include "core/runtime/ticker.h"

#define CONNECT_TIMEOUT_MS 2000
#define COMMAND_TIMEOUT_MS 10000 /* default bound of one command (--redis-command-timeout) */
#define KEY_MAX 256
#define DURABILITY_CHECK_MS 1000
#define ANSWER_MAX_AGE_MS 3000 /* writable only if Redis answered this recently */

static const char *const script_source[PC_REDIS_SCRIPTS] = {
    [PC_REDIS_SCRIPT_OFFER] = pc_redis_offer_lua,
    [PC_REDIS_SCRIPT_NEXT_COUNT] = pc_redis_next_count_lua,
    [PC_REDIS_SCRIPT_RETURN_COUNT] = pc_redis_return_count_lua,
    [PC_REDIS_SCRIPT_FORGET] = pc_redis_forget_lua,
    [PC_REDIS_SCRIPT_PUT_MEDIATOR] = pc_redis_put_mediator_lua,
    [PC_REDIS_SCRIPT_MIGRATE] = pc_redis_migrate_lua,
};

typedef struct redis_store {
    pc_store base;
    char host[128];             /* the primary; with sentinels, written under lock */
    int port;
    pc_redis_sentinels sentinels; /* sentinels.n == 0: host:port directly */
    int wait_replicas;            /* WAIT for this many replicas after each count; 0: no WAIT */
    int wait_timeout_ms;
    int command_timeout_ms; /* a command taking longer drops its connection */
    int replicas; /* the primary's, as the ticker last saw them (atomic) */
    char prefix[64];
    char sha[PC_REDIS_SCRIPTS][41]; /* set at open; a script's SHA1 never changes */
    pthread_mutex_t lock;       /* guards the idle pool */
    redisContext **idle;
    size_t n_idle, cap_idle;
    int durable;       /* 1 / 0 as last checked, -1 before the first check (atomic) */
    pc_ticker *watch;  /* re-checks durability every DURABILITY_CHECK_MS */
    uint64_t answered_at_ms; /* monotonic time of Redis's last answer to a check (atomic) */
} redis_store;

/* ---- durability ------------------------------------------------------------------------ */

/* Checks the server behind c and records the answer; a change is logged.
 * A failed connection says nothing about the configuration: kept as is.
 * A server that will not say (CONFIG renamed) counts as not durable. */
static int note_durability(redis_store *s, redisContext *c)
{
    char why[160] = "";
    pc_redis_durability d = pc_redis_check_durability(c, why, sizeof why);
    int was = __atomic_load_n(&s->durable, __ATOMIC_ACQUIRE);
    if (d == PC_REDIS_UNKNOWN && c->err)
        return was;
    __atomic_store_n(&s->answered_at_ms, pc_redis_monotonic_ms(), __ATOMIC_RELEASE);
    int now = d == PC_REDIS_DURABLE;
    __atomic_store_n(&s->durable, now, __ATOMIC_RELEASE);
    if (was == 1 && !now)
        PC_LOG_E("Redis %s:%d no longer persists every write (%s): %s", c->tcp.host, c->tcp.port,
                 why,
                 s->base.accepts_data_loss
                     ? "acknowledged counts may be LOST (--redis-accept-data-loss)"
                     : "refusing counts (503, code 103) until appendonly yes + appendfsync always");
    else if (was == 0 && now)
        PC_LOG_W("Redis %s:%d persists every write again: counts accepted", c->tcp.host,
                 c->tcp.port);
    return now;
}

/* "host:port" of the primary, copied under the lock (the sentinels' answer
 * moves it); where a connection is at hand, messages name its own address. */
static void primary_name(redis_store *s, char out[160])
{
    pthread_mutex_lock(&s->lock);
    snprintf(out, 160, "%s:%d", s->host, s->port);
    pthread_mutex_unlock(&s->lock);
}

/* 0 when a count may be acknowledged now, else -1 with code 103. */
static int check_durable(redis_store *s, pc_error *err)
{
    if (s->base.accepts_data_loss || __atomic_load_n(&s->durable, __ATOMIC_ACQUIRE) == 1)
        return 0;
    char name[160];
    primary_name(s, name);
    return pc_error_set(err, PC_ERR_STORAGE_NOT_DURABLE,
                        "Redis %s does not persist every write (appendonly yes + appendfsync "
                        "always): the count is not acknowledged", name);
}

static int rd_durable(const pc_store *base)
{
    const redis_store *s = (const redis_store *)base;
    return __atomic_load_n(&s->durable, __ATOMIC_ACQUIRE) == 1;
}

/* Writable now: Redis answered a check lately and persists every write
 * (unless data loss is accepted). Never waits. */
static int rd_writable(const pc_store *base, char *why, size_t cap)
{
    redis_store *s = (redis_store *)base; /* the lock of primary_name is not const */
    char name[160];
    primary_name(s, name);
    uint64_t age = pc_redis_monotonic_ms() - __atomic_load_n(&s->answered_at_ms, __ATOMIC_ACQUIRE);
    if (age > ANSWER_MAX_AGE_MS) {
        snprintf(why, cap, "Redis %s has not answered for %llu ms", name, (unsigned long long)age);
        return 0;
    }
    if (!s->base.accepts_data_loss && !rd_durable(base)) {
        snprintf(why, cap, "Redis %s does not persist every write", name);
        return 0;
    }
    int replicas = __atomic_load_n(&s->replicas, __ATOMIC_ACQUIRE);
    if (replicas < s->wait_replicas) {
        snprintf(why, cap, "the Redis primary has %d replicas, counts wait for %d", replicas,
                 s->wait_replicas);
        return 0;
    }
    return 1;
}

/* ---- connections ------------------------------------------------------------------------- */

/* Connects to the primary the sentinels name and remembers its address
 * (logged when it changed: a failover). */
static redisContext *connect_via_sentinels(redis_store *s, pc_error *err)
{
    char host[sizeof s->host];
    int port = 0, replicas = 0;
    redisContext *c = pc_redis_sentinel_connect(&s->sentinels, CONNECT_TIMEOUT_MS, host,
                                                sizeof host, &port, &replicas, err);
    if (!c)
        return NULL;
    pthread_mutex_lock(&s->lock);
    int moved = port != s->port || strcmp(host, s->host) != 0;
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    pthread_mutex_unlock(&s->lock);
    if (moved)
        PC_LOG_W("Redis primary of \"%s\" is %s:%d (%d replicas)", s->sentinels.master_name,
                 host, port, replicas);
    return c;
}

static redisContext *connect_direct(redis_store *s, pc_error *err)
{
    struct timeval tv = {.tv_sec = CONNECT_TIMEOUT_MS / 1000,
                         .tv_usec = (CONNECT_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    if (!c || c->err) {
        pc_error_set(err, PC_ERR_INTERNAL, "Redis store: cannot connect to %s:%d: %s", s->host,
                     s->port, c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    return c;
}

static redisContext *connect_one(redis_store *s, pc_error *err)
{
    redisContext *c = s->sentinels.n ? connect_via_sentinels(s, err) : connect_direct(s, err);
    if (!c)
        return NULL;
    struct timeval ct = {.tv_sec = s->command_timeout_ms / 1000,
                         .tv_usec = (s->command_timeout_ms % 1000) * 1000};
    redisSetTimeout(c, ct);
    note_durability(s, c); /* a new connection may mean a restarted Redis */
    return c;
}

/* connect_one, retried for up to wait_ms while Redis (or every sentinel, or
 * the primary they name) cannot be reached: at start, a paychand started
 * together with its Redis (a compose file, a reboot) waits for it instead of
 * exiting. A refusal once connected (not durable, bad scripts) is not retried. */
static redisContext *connect_at_start(redis_store *s, int wait_ms, pc_error *err)
{
    struct timespec start, now, pause = {.tv_sec = 0, .tv_nsec = 250 * 1000000L};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int attempt = 1;; attempt++) {
        redisContext *c = connect_one(s, err);
        if (c)
            return c;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
        if (elapsed >= wait_ms)
            return NULL;
        if (attempt == 1)
            PC_LOG_W("%s; retrying for up to %d ms (--redis-start-timeout)", err->message, wait_ms);
        nanosleep(&pause, NULL);
    }
}

static redisContext *take(redis_store *s, pc_error *err)
{
    pthread_mutex_lock(&s->lock);
    redisContext *c = s->n_idle ? s->idle[--s->n_idle] : NULL;
    pthread_mutex_unlock(&s->lock);
    return c ? c : connect_one(s, err);
}

static void drop_idle_locked(redis_store *s)
{
    while (s->n_idle)
        redisFree(s->idle[--s->n_idle]);
}

/* Returns c to the pool, or drops it (and the idle ones) if it failed. */
static void give_back(redis_store *s, redisContext *c)
{
    pthread_mutex_lock(&s->lock);
    if (c->err) {
        redisFree(c);
        drop_idle_locked(s);
    } else if (s->n_idle < s->cap_idle) {
        s->idle[s->n_idle++] = c;
    } else {
        size_t cap = s->cap_idle ? 2 * s->cap_idle : 8;
        redisContext **idle = realloc(s->idle, cap * sizeof *idle);
        if (idle) {
            s->idle = idle;
            s->cap_idle = cap;
            s->idle[s->n_idle++] = c;
        } else {
            redisFree(c);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- commands ------------------------------------------------------------------------- */

/* An error reply that says this server is no longer the primary marks c as
 * failed, so give_back drops it and the idle ones: the next connection
 * asks the sentinels. (err is a public field of redisContext.) */
static void note_error_reply(redisContext *c, const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_ERROR && pc_redis_error_means_moved(r->str) && !c->err) {
        c->err = REDIS_ERR_OTHER;
        snprintf(c->errstr, sizeof c->errstr, "%s", r->str);
    }
}

/* The replica half of acknowledging a write made on c: 0, or -1 with code 103. */
static int replicate(redis_store *s, redisContext *c, pc_error *err)
{
    return s->wait_replicas > 0
               ? pc_redis_wait_replicas(c, s->wait_replicas, s->wait_timeout_ms, err)
               : 0;
}

/* Sends one command; NULL with *err on a connection fault or an error reply. */
static redisReply *command(redisContext *c, int argc, const char **argv,
                           const size_t *lens, pc_error *err)
{
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (!r) {
        pc_error_set(err, PC_ERR_INTERNAL, "Redis store: %s:%d: %s", c->tcp.host, c->tcp.port,
                     c->err ? c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        note_error_reply(c, r);
        pc_error_set(err, PC_ERR_INTERNAL, "Redis store: %s:%d answered %s (to %s)", c->tcp.host,
                     c->tcp.port, r->str, argv[0]);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Loads script i; its SHA1 into sha (s->sha[i] at open only: other threads
 * read s->sha afterwards, and a reload yields the same SHA1 anyway). */
static int load_script(redisContext *c, int i, char sha[41], pc_error *err)
{
    const char *argv[] = {"SCRIPT", "LOAD", script_source[i]};
    size_t lens[] = {6, 4, strlen(script_source[i])};
    redisReply *r = command(c, 3, argv, lens, err);
    if (!r)
        return -1;
    int ok = r->type == REDIS_REPLY_STRING && r->len == 40;
    if (ok)
        memcpy(sha, r->str, 41);
    freeReplyObject(r);
    return ok ? 0 : pc_error_set(err, PC_ERR_INTERNAL, "Redis store: odd SCRIPT LOAD answer");
}

#define MAX_ARGS 24

/* One EVALSHA of a script, ready for redisCommandArgv or
 * redisAppendCommandArgv (argv[2] points at nk: do not copy it). */
typedef struct script_call {
    const char *argv[MAX_ARGS + 3];
    size_t argl[MAX_ARGS + 3];
    int argc;
    char nk[8];
} script_call;

/* EVALSHA of script i with nkeys keys then args (argc values in all; lens
 * NULL: C strings) into *sc. */
static void script_call_of(const redis_store *s, int i, int nkeys, int argc, const char **args,
                           const size_t *lens, script_call *sc)
{
    snprintf(sc->nk, sizeof sc->nk, "%d", nkeys);
    sc->argv[0] = "EVALSHA";
    sc->argv[1] = s->sha[i];
    sc->argv[2] = sc->nk;
    sc->argl[0] = 7;
    sc->argl[1] = 40;
    sc->argl[2] = strlen(sc->nk);
    for (int a = 0; a < argc; a++) {
        sc->argv[3 + a] = args[a];
        sc->argl[3 + a] = lens ? lens[a] : strlen(args[a]);
    }
    sc->argc = argc + 3;
}

/* The server forgot the script (a restart or SCRIPT FLUSH). */
static int is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* r as a script's answer: r, or NULL with *err (r freed) when there is no
 * reply (a connection fault) or an error reply. */
static redisReply *script_answer(redisContext *c, redisReply *r, pc_error *err)
{
    if (r && r->type != REDIS_REPLY_ERROR)
        return r;
    note_error_reply(c, r);
    pc_error_set(err, PC_ERR_INTERNAL, "Redis store: %s:%d: %s", c->tcp.host, c->tcp.port,
                 r ? r->str : c->err ? c->errstr : "no reply");
    freeReplyObject(r);
    return NULL;
}

/* EVALSHA of script i with nkeys keys then args (argc values in all);
 * loads the script again if the server forgot it (NOSCRIPT after a
 * restart or SCRIPT FLUSH) and retries once. */
static redisReply *run_script(redis_store *s, redisContext *c, int i, int nkeys, int argc,
                              const char **args, const size_t *lens, pc_error *err)
{
    script_call sc;
    script_call_of(s, i, nkeys, argc, args, lens, &sc);
    uint64_t start = pc_store_clock_us();
    redisReply *r = redisCommandArgv(c, sc.argc, sc.argv, sc.argl);
    pc_store_observed(&s->base, start);
    if (is_noscript(r)) {
        freeReplyObject(r);
        char sha[41];
        if (load_script(c, i, sha, err) != 0)
            return NULL;
        r = redisCommandArgv(c, sc.argc, sc.argv, sc.argl);
    }
    return script_answer(c, r, err);
}

/* Queues the n calls of script i on c's output buffer (sent when the first
 * reply is read); the number queued: n, unless hiredis ran out of memory,
 * and then the calls left out fail. */
static size_t queue_scripts(redis_store *s, redisContext *c, int i, int nkeys, int argc,
                            size_t n, pc_redis_call *calls)
{
    for (size_t k = 0; k < n; k++) {
        script_call sc;
        script_call_of(s, i, nkeys, argc, calls[k].args, calls[k].lens, &sc);
        if (redisAppendCommandArgv(c, sc.argc, sc.argv, sc.argl) == REDIS_OK)
            continue;
        for (size_t left = k; left < n; left++)
            pc_error_set(&calls[left].err, PC_ERR_INTERNAL, "Redis store: out of memory");
        return k;
    }
    return n;
}

/* Why one round trip: the worker form of POST /validateTokens offers up
 * to 16 counts at once, which took 16 round trips one after the other. */
void pc_redis_run_scripts(pc_store *base, redisContext *c, pc_redis_script script, int nkeys,
                          int argc, size_t n, pc_redis_call *calls)
{
    redis_store *s = (redis_store *)base;
    uint64_t start = pc_store_clock_us();
    size_t queued = queue_scripts(s, c, (int)script, nkeys, argc, n, calls);
    for (size_t k = 0; k < queued; k++) { /* after a fault, hiredis fails every read */
        void *r = NULL;
        calls[k].reply = redisGetReply(c, &r) == REDIS_OK ? r : NULL;
    }
    pc_store_observed(&s->base, start);
    for (size_t k = 0; k < queued; k++) {
        pc_redis_call *call = &calls[k];
        if (!is_noscript(call->reply)) {
            call->reply = script_answer(c, call->reply, &call->err);
            continue;
        }
        freeReplyObject(call->reply); /* run alone, once the script is loaded again */
        call->reply = run_script(s, c, (int)script, nkeys, argc, call->args, call->lens,
                                 &call->err);
    }
}

/* ---- for the modules (store_redis_conn.h) ------------------------------------------- */

redisReply *pc_redis_command(redisContext *c, int argc, const char **argv, const size_t *lens,
                             pc_error *err)
{
    return command(c, argc, argv, lens, err);
}

int pc_redis_counts_allowed(pc_store *base, pc_error *err)
{
    return check_durable((redis_store *)base, err);
}

redisContext *pc_redis_take(pc_store *base, pc_error *err)
{
    return take((redis_store *)base, err);
}

void pc_redis_give_back(pc_store *base, redisContext *c)
{
    give_back((redis_store *)base, c);
}

redisReply *pc_redis_run_script(pc_store *base, redisContext *c, pc_redis_script script, int nkeys,
                                int argc, const char **args, const size_t *lens, pc_error *err)
{
    return run_script((redis_store *)base, c, (int)script, nkeys, argc, args, lens, err);
}

int pc_redis_replicate(pc_store *base, redisContext *c, pc_error *err)
{
    return replicate((redis_store *)base, c, err);
}

/* ---- for store_redis_gas.c ---- */

redisReply *pc_redis_store_command(pc_store *base, int argc, const char **argv,
                                   const size_t *lens, pc_error *err)
{
    redis_store *s = (redis_store *)base;
    redisContext *c = take(s, err);
    if (!c)
        return NULL;
    redisReply *r = command(c, argc, argv, lens, err);
    give_back(s, c);
    return r;
}

const char *pc_redis_store_prefix(const pc_store *base)
{
    return ((const redis_store *)base)->prefix;
}

/* ---- open and close ------------------------------------------------------------------ */

static void rd_close(pc_store *base)
{
    redis_store *s = (redis_store *)base;
    pc_ticker_stop(s->watch);
    drop_idle_locked(s);
    free(s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const pc_store_ops redis_ops = {
    .blocking = 1,
    .close = rd_close,
    .next_count = pc_redis_next_count,
    .return_count = pc_redis_return_count,
    .offer_count = pc_redis_offer_count,
    .offer_counts = pc_redis_offer_counts,
    .best_token = pc_redis_best_token,
    .forget_counters = pc_redis_forget_counters,
    .put_mediator = pc_redis_put_mediator,
    .get_mediator = pc_redis_get_mediator,
    .list_mediators = pc_redis_list_mediators,
    .page_mediators = pc_redis_page_mediators,
    .issued_count = pc_redis_issued_count,
    .delete_mediator = pc_redis_delete_mediator,
    .claim_nonce = pc_redis_claim_nonce,
    .claim_chain = pc_redis_claim_chain,
    .durable = rd_durable,
    .writable = rd_writable,
    .record_gas = pc_redis_record_gas,
    .gas_totals = pc_redis_gas_totals,
    .recent_gas = pc_redis_recent_gas,
    .record_money = pc_redis_record_money,
    .money_totals = pc_redis_money_totals,
    .last_redemption = pc_redis_last_redemption,
};

/* Records the primary's replicas (for rd_writable); a server that is no
 * longer the primary (-1: demoted, yet reachable, so no connection error
 * would tell) is dropped, so that the next connection asks the sentinels. */
static void watch_role(redis_store *s, redisContext *c)
{
    int replicas = pc_redis_primary_replicas(c);
    __atomic_store_n(&s->replicas, replicas, __ATOMIC_RELEASE);
    if (replicas < 0 && s->sentinels.n && !c->err) {
        c->err = REDIS_ERR_OTHER;
        snprintf(c->errstr, sizeof c->errstr, "no longer the primary");
    }
}

/* The ticker's job: one check on a pooled connection. */
static void watch_durability(void *arg)
{
    redis_store *s = arg;
    pc_error ignored;
    redisContext *c = take(s, &ignored);
    if (!c)
        return; /* Redis down: counts fail anyway; checked again on reconnecting */
    note_durability(s, c);
    if (s->wait_replicas > 0 || s->sentinels.n)
        watch_role(s, c);
    give_back(s, c);
}

/* Refuses a server that may lose acknowledged writes, unless the operator
 * accepted that; then says so loudly. */
static int require_durability(redis_store *s, redisContext *c, pc_error *err)
{
    char why[160] = "";
    if (pc_redis_check_durability(c, why, sizeof why) == PC_REDIS_DURABLE)
        return 0;
    if (!s->base.accepts_data_loss)
        return pc_error_set(err, PC_ERR_STORAGE_NOT_DURABLE,
                            "Redis %s:%d does not persist every write (%s): acknowledged counts "
                            "would be lost in a crash. Configure appendonly yes and appendfsync "
                            "always, or start with --redis-accept-data-loss", c->tcp.host,
                            c->tcp.port, why);
    PC_LOG_E("WARNING: Redis %s:%d does not persist every write (%s) and "
             "--redis-accept-data-loss is set: acknowledged counts WILL BE LOST if Redis stops",
             c->tcp.host, c->tcp.port, why);
    return 0;
}

/* Brings the key layout to version 3 (see pc_redis_migrate_lua). */
static int migrate(redis_store *s, redisContext *c, pc_error *err)
{
    char version[KEY_MAX];
    snprintf(version, sizeof version, "%sschema", s->prefix);
    const char *args[] = {version, s->prefix};
    redisReply *r = run_script(s, c, PC_REDIS_SCRIPT_MIGRATE, 1, 2, args, NULL, err);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        PC_LOG_I("Redis store: %lld Mediator records moved to one record per role",
                 (long long)r->integer);
    freeReplyObject(r);
    return r ? 0 : -1;
}

pc_store *pc_store_redis_open(const pc_store_options *opts, pc_error *err)
{
    const char *prefix = opts->redis_prefix ? opts->redis_prefix : "paychan:";
    if (strlen(prefix) >= sizeof ((redis_store *)0)->prefix) {
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "Redis store: key prefix longer than 63 bytes");
        return NULL;
    }
    redis_store *s = calloc(1, sizeof *s);
    if (!s) {
        pc_error_set(err, PC_ERR_INTERNAL, "Redis store: out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->base.ops = &redis_ops;
    const char *host = opts->redis_host && *opts->redis_host ? opts->redis_host : "127.0.0.1";
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = opts->redis_port ? opts->redis_port : 6379;
    if (opts->redis_sentinels && *opts->redis_sentinels &&
        pc_redis_sentinels_parse(opts->redis_sentinels, opts->redis_master_name, &s->sentinels,
                                 err) != 0) {
        rd_close(&s->base);
        return NULL;
    }
    s->wait_timeout_ms = opts->redis_wait_timeout_ms > 0 ? opts->redis_wait_timeout_ms : 1000;
    s->command_timeout_ms =
        opts->redis_command_timeout_ms > 0 ? opts->redis_command_timeout_ms : COMMAND_TIMEOUT_MS;
    if (s->command_timeout_ms < s->wait_timeout_ms + 500) { /* WAIT itself would time out */
        pc_error_set(err, PC_ERR_INTERNAL,
                     "--redis-command-timeout (%d ms) must exceed --redis-wait-timeout (%d ms) "
                     "by at least 500 ms", s->command_timeout_ms, s->wait_timeout_ms);
        rd_close(&s->base);
        return NULL;
    }
    s->durable = -1;
    s->base.accepts_data_loss = opts->redis_accept_data_loss;
    snprintf(s->prefix, sizeof s->prefix, "%s", prefix);
    if (s->sentinels.n)
        snprintf(s->base.description, sizeof s->base.description, "redis-sentinel:%s",
                 s->sentinels.master_name);
    else
        snprintf(s->base.description, sizeof s->base.description, "redis:%s:%d", s->host, s->port);
    redisContext *c = connect_at_start(s, opts->redis_start_wait_ms, err);
    if (!c) {
        rd_close(&s->base);
        return NULL;
    }
    s->wait_replicas = pc_redis_choose_wait(c, opts->redis_wait_replicas, s->wait_timeout_ms);
    s->replicas = pc_redis_primary_replicas(c);
    int failed = require_durability(s, c, err);
    for (int i = 0; i < PC_REDIS_SCRIPTS && !failed; i++)
        failed = load_script(c, i, s->sha[i], err);
    if (failed || migrate(s, c, err) != 0) {
        redisFree(c);
        rd_close(&s->base);
        return NULL;
    }
    give_back(s, c);
    if (!(s->watch = pc_ticker_start(watch_durability, s, DURABILITY_CHECK_MS, err))) {
        rd_close(&s->base);
        return NULL;
    }
    return &s->base;
}
