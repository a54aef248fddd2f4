/* store.h: the Payment Server's durable state behind one interface, with
 * three backends: SQLite (embedded default: one file, WAL, group commit),
 * Redis (shared by several paychand instances of one team; atomic through
 * Lua scripts) and memory (tests only).
 *
 * What is stored:
 *  - consumer side: the request counter per (Mediator, token id), taken
 *    atomically by createSignatureHeaders;
 *  - provider side: per (Mediator, token id) the highest count seen, which
 *    counts below it were already seen (a window of PC_COUNTER_WINDOW), and
 *    the signature of the highest count, kept for redemption;
 *  - the Mediators this server works for, one record per (Mediator, role):
 *    one server may be both the consumer and the provider of a Mediator
 *    (both keys served here), and then holds two records, and two separate
 *    counters per token id: the counts it issued and the counts it validated;
 *  - request-signature nonces, for replay protection of authenticated calls;
 *  - the gas our accounts spent: totals per account and per Mediator, and
 *    the newest transactions with their gas and fee.
 *
 * Durability: a function that changes state returns only after the change
 * is durable (fsync'ed by SQLite, or acknowledged by Redis configured with
 * appendonly yes + appendfsync always; while Redis is not, counts are
 * refused, see pc_store_durable); so "valid" is never answered for a count
 * that a crash could lose.
 *
 * Issued counts (the consumer side's counter) are the one exception, when
 * count_sync_delay_ms > 0 (SQLite): a batch of only issued counts is
 * committed without waiting for the disk (WAL, synchronous=NORMAL: it
 * survives a crash of the process, not of the machine), and the writer
 * fsyncs it at most count_sync_delay_ms later. No money can be lost by
 * it: a power loss can take back only counts issued in that window; the
 * consumer then issues them again, the provider refuses each one it has
 * already seen (code 37) and the count moves past them. Provider counts,
 * which acknowledge payments, are always fsync'ed before they return. All functions are thread-safe; a store may be used by any
 * number of request threads at once. Every function returns 0 on success
 * and -1 on failure with *err filled (PC_ERR_INTERNAL for storage faults). */
#ifndef PAYCHAN_SERVER_STORE_H
#define PAYCHAN_SERVER_STORE_H

#include <stdint.h>

#include "core/crypto/ecdsa.h"
#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"
#include "server/counter_window.h"

typedef struct pc_store pc_store;

typedef enum pc_store_backend {
    PC_STORE_SQLITE,
    PC_STORE_REDIS,
    PC_STORE_MEMORY
} pc_store_backend;

typedef struct pc_store_options {
    pc_store_backend backend;
    const char *sqlite_path; /* SQLITE: the database file (created if missing) */
    const char *redis_host;  /* REDIS: host name or address (default 127.0.0.1) */
    int redis_port;          /* REDIS: default 6379 */
    const char *redis_prefix;/* REDIS: key prefix, default "paychan:" (one team per prefix) */
    int redis_accept_data_loss; /* REDIS: run, and acknowledge counts, even while Redis may
                                 * lose acknowledged writes (see pc_store_durable) */
    const char *redis_sentinels;   /* REDIS: "host:port,..." of Redis Sentinels, or NULL: then
                                    * the primary is found through them (redis_host unused) */
    const char *redis_master_name; /* REDIS with sentinels: the monitored master's name */
    int redis_wait_replicas;   /* REDIS: replicas that must have a count before it is
                                * acknowledged (WAIT); -1: 1 if the primary has replicas */
    int redis_wait_timeout_ms; /* REDIS: how long WAIT waits (0: 1000) */
    int redis_start_wait_ms; /* REDIS: how long pc_store_open retries a Redis (or sentinels,
                                or primary) it cannot reach (0: fails at once) */
    int redis_command_timeout_ms; /* REDIS: bound of one command (0: 10000); more than
                                     redis_wait_timeout_ms + 500, else the open fails */
    int count_sync_delay_ms; /* SQLITE: how long an issued count (consumer side,
                              * pc_store_next_count) may stay written but not yet
                              * fsync'ed; 0: fsync'ed before it is returned. See
                              * "Issued counts" below. */
} pc_store_options;

/* Opens (and creates/migrates) the store. NULL + *err on failure, e.g.
 * Redis unreachable, Redis not durable (unless redis_accept_data_loss) or
 * the SQLite file not writable. */
pc_store *pc_store_open(const pc_store_options *opts, pc_error *err);

/* Flushes everything pending and closes. NULL is a no-op. */
void pc_store_close(pc_store *s);

/* "sqlite:/path", "redis:host:port" or "memory", for /status and logs. */
const char *pc_store_describe(const pc_store *s);

/* 1 when every change acknowledged now survives a crash of the storage:
 * SQLite always; Redis while it runs with appendonly yes and appendfsync
 * always (checked at open, on every new connection and once a second,
 * since CONFIG SET can change it at run time); memory never. */
int pc_store_durable(const pc_store *s);

/* 1 when the store takes writes now, for /ready: SQLite and memory once
 * open (a failed commit is answered per request); Redis while it answered
 * its last check (once a second) within 3 s and persists every write (or
 * data loss is accepted). Else 0 with the reason in why (cap bytes).
 * Never waits on Redis. */
int pc_store_writable(const pc_store *s, char *why, size_t cap);

/* 1 when the store acknowledges counts even while it is not durable
 * (memory; Redis opened with redis_accept_data_loss). Otherwise the
 * counter operations fail with PC_ERR_STORAGE_NOT_DURABLE while it is not
 * durable, so no count is acknowledged that a crash could lose. */
int pc_store_accepts_data_loss(const pc_store *s);

/* Called after each durable write with its duration in microseconds (SQLite:
 * each batch, from BEGIN to its COMMIT on disk; Redis: each script sent,
 * or each pipeline of scripts of pc_store_offer_counts),
 * on the thread that wrote; for metrics, so it must be cheap. Set it before
 * the store is used by other threads; NULL: none. */
typedef void (*pc_store_observer)(void *ctx, uint64_t micros);
void pc_store_set_observer(pc_store *s, pc_store_observer observe, void *ctx);

/* ---- the chain the data belongs to ------------------------------------------------ */

/* A chain's identity: its chain id and its genesis block's hash. The chain
 * id alone does not do: every dev chain is 31337, and a fresh one reuses
 * the addresses of the last one's Mediators. */
typedef struct pc_chain_identity {
    uint64_t chain_id;
    uint8_t genesis_hash[32];
} pc_chain_identity;

/* Checks that the store's data belongs to the chain (chain_id,
 * genesis_hash) of the node; a store that has no chain yet (new, or written
 * by a paychand before chain identities) adopts this one, durably, and
 * *adopted (may be NULL) is set to 1. On a mismatch it fails with
 * PC_ERR_NODE, a message naming both chains, and *stored (may be NULL)
 * holds the store's chain, so the caller can say what to do. Several
 * instances sharing a Redis agree: the first one's chain wins. */
int pc_store_check_chain_identity(pc_store *s, uint64_t chain_id, const uint8_t genesis_hash[32],
                                  pc_chain_identity *stored, int *adopted, pc_error *err);

/* ---- consumer side ----------------------------------------------------------------- */

/* Atomically increments and returns the request counter of (mediator,
 * token_id); the first call for a token id returns 1. Durable on return
 * (within count_sync_delay_ms against a power loss, see above). */
int pc_store_next_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                        uint64_t *count, pc_error *err);

/* Gives back the last count issued for (mediator, token_id), for a
 * consumer that took it (pc_store_next_count) and never sent its token:
 * atomically, if the last count issued is `count`, it becomes count - 1
 * (the next pc_store_next_count returns `count` again) and *returned = 1;
 * otherwise (a later count was taken, or none was issued for the id)
 * nothing changes and *returned = 0. Durable on return, always: never
 * within count_sync_delay_ms, since a lost return would make the consumer
 * pay for the count after all (the next count issued would supersede it).
 * Preconditions: 1 <= count <= PC_STORE_COUNT_MAX (else
 * PC_ERR_INVALID_ARGUMENT), and no token of `count` was sent: a provider
 * that saw it refuses the count when it is issued again (37). */
int pc_store_return_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                          uint64_t count, int *returned, pc_error *err);

/* ---- provider side ----------------------------------------------------------------- */

/* The outcome of offering a count. */
typedef enum pc_count_verdict {
    PC_COUNT_ACCEPTED_NEWEST,  /* above the highest: recorded with its signature */
    PC_COUNT_ACCEPTED_SKIPPED, /* a skipped count below the highest, first seen now */
    PC_COUNT_REPLAYED          /* seen before, or too far below the highest (code 37) */
} pc_count_verdict;

/* The largest count a store accepts: 2^53 - 1, so that every backend holds
 * it exactly (the Redis backend's Lua scripts compute with doubles). */
#define PC_STORE_COUNT_MAX ((uint64_t)9007199254740991)

/* Atomically applies the counter rule of docs/protocol.md §5 step 7 to `count` of
 * (mediator, token_id) (see counter_window.h) and, if it becomes the new
 * highest, stores `sig` with it. *highest receives the highest count after
 * the call. Durable on return when the verdict is an acceptance.
 * count > PC_STORE_COUNT_MAX fails with PC_ERR_INVALID_ARGUMENT. */
int pc_store_offer_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                         uint64_t count, const pc_signature *sig, pc_count_verdict *verdict,
                         uint64_t *highest, pc_error *err);

/* The highest count of (mediator, token_id) and its signature, for
 * redemption. *found = 0 when no count was ever accepted. */
int pc_store_best_token(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                        uint64_t *count, pc_signature *sig, int *found, pc_error *err);

/* ---- Mediators served ------------------------------------------------------------- */

typedef enum pc_mediator_role {
    PC_ROLE_CONSUMER = 1, /* one of our accounts deployed it and pays */
    PC_ROLE_PROVIDER = 2  /* one of our accounts is paid through it */
} pc_mediator_role;

/* Forgets the counters of a Mediator kept for `role`: the counts issued
 * (consumer) or the counts validated (provider); the other role's stay. */
int pc_store_forget_counters(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                             pc_error *err);

/* What the server remembers about one Mediator it works for. Chain state is
 * not stored here (the chain is the truth; see chain_cache.h). */
typedef struct pc_mediator_record {
    pc_address mediator;
    pc_mediator_role role;
    pc_address account;          /* our account: the consumer or the provider */
    pc_address counterparty;     /* the other party */
    pc_u256 deposit_amount;      /* consumer: amount of automatic top-ups (0 = none) */
    pc_u256 funding_threshold;   /* consumer: top up when funds fall below (0 = never) */
    uint64_t token_active_since; /* provider: unix time we first saw the active token id */
    pc_u256 token_id;            /* provider: the active token id seen at that time */
    uint64_t created_at;         /* unix time the record was first written */
} pc_mediator_record;

/* Inserts or replaces the record of (rec->mediator, rec->role). */
int pc_store_put_mediator(pc_store *s, const pc_mediator_record *rec, pc_error *err);

/* Reads the record of (mediator, role); *found = 0 if there is none. */
int pc_store_get_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                          pc_mediator_record *rec, int *found, pc_error *err);

/* All records (a Mediator served in both roles appears twice), malloc'ed
 * (free()); NULL when *n is 0. */
int pc_store_list_mediators(pc_store *s, pc_mediator_record **recs, size_t *n, pc_error *err);

/* Which records pc_store_page_mediators returns: role 0 = both roles;
 * account NULL = every account of ours. */
typedef struct pc_mediator_filter {
    pc_mediator_role role;
    const pc_address *account;
} pc_mediator_filter;

/* One page of the records matching f, ordered by Mediator address (bytes)
 * then role: at most `limit` from position `offset`, malloc'ed (free();
 * NULL when *n is 0), and in *total how many match in all. Meant for
 * thousands of records: SQLite reads only the page (and counts with an
 * index scan); Redis sorts the set's member names (not the records) and
 * reads the page's records, except with an account filter (then it reads
 * all records); memory sorts everything (tests only). */
int pc_store_page_mediators(pc_store *s, const pc_mediator_filter *f, size_t offset,
                            size_t limit, pc_mediator_record **recs, size_t *n, size_t *total,
                            pc_error *err);

/* The last count issued for (mediator, token_id) by pc_store_next_count,
 * without taking one; *found = 0 when none was issued. */
int pc_store_issued_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                          uint64_t *count, int *found, pc_error *err);

/* Removes the record of (mediator, role) and that role's counters (as
 * pc_store_forget_counters); the other role's record and counters stay. */
int pc_store_delete_mediator(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                             pc_error *err);

/* ---- gas spent (every transaction our accounts sent) ------------------------------- */

/* One transaction an account of ours sent, as its receipt tells it. */
typedef struct pc_gas_tx {
    uint8_t hash[32];
    pc_address account;   /* the sender: one of our accounts */
    pc_address mediator;  /* the Mediator it concerns (called or created); zero if none */
    uint8_t selector[4];  /* the function called; zero for a contract creation */
    uint64_t gas_used;
    pc_u256 fee;          /* gas_used * effective gas price, wei */
    uint64_t block;
    int status;           /* receipt status: 1 success, 0 reverted (gas spent all the same) */
    uint64_t at;          /* unix time it was recorded */
} pc_gas_tx;

/* The running totals of one account or one Mediator. */
typedef struct pc_gas_total {
    pc_address key;       /* the account or the Mediator */
    uint64_t txs;
    uint64_t gas_used;
    pc_u256 fee;          /* wei */
} pc_gas_total;

typedef enum pc_gas_scope { PC_GAS_BY_ACCOUNT = 0, PC_GAS_BY_MEDIATOR = 1 } pc_gas_scope;

/* The store keeps this many of the newest transactions (totals keep all). */
#define PC_STORE_RECENT_TXS 100

/* Records tx: adds it to the totals of its account and (unless zero) its
 * Mediator, and to the recent transactions, atomically. Durable on return.
 * The totals outlive the Mediator's record (pc_store_delete_mediator). */
int pc_store_record_gas(pc_store *s, const pc_gas_tx *tx, pc_error *err);

/* The totals per account or per Mediator, malloc'ed (free()); NULL when *n is 0. */
int pc_store_gas_totals(pc_store *s, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                        pc_error *err);

/* The newest transactions (at most PC_STORE_RECENT_TXS), newest first,
 * malloc'ed (free()); NULL when *n is 0. */
int pc_store_recent_gas(pc_store *s, pc_gas_tx **txs, size_t *n, pc_error *err);

/* ---- money moved (Mediator events that moved value to or from our accounts) ---------- */

/* The amounts kept per account, each summed from the Mediator events that
 * moved it (docs/architecture.md, "Money ledger"). */
typedef enum pc_money_field {
    PC_MONEY_REDEEMED,  /* provider: TokenRedeemed amounts of its Mediators */
    PC_MONEY_PAID_OUT,  /* provider: PaidOut amounts, and its payout at Terminated */
    PC_MONEY_SPENT,     /* consumer: Deposited amounts (the creation's deposit too) */
    PC_MONEY_PAID,      /* consumer: TokenRedeemed amounts of its Mediators (paid to providers) */
    PC_MONEY_REFUNDED,  /* consumer: its payout at Terminated */
    PC_MONEY_FIELDS
} pc_money_field;

/* One amount added to one account's field. */
typedef struct pc_money_entry {
    pc_address account;
    pc_money_field field;
    pc_u256 amount;       /* wei, below 2^96 (more than all ether there is) */
} pc_money_entry;

/* A Mediator's last redemption that took effect (its TokenRedeemed event). */
typedef struct pc_redemption {
    pc_u256 token_id;
    uint64_t count;
    uint64_t at;          /* unix time it was recorded */
} pc_redemption;

/* What one event moved, recorded at most once (by id). */
typedef struct pc_money_event {
    uint8_t id[36];       /* the transaction hash, then the log index (4 bytes big-endian) */
    pc_money_entry entries[2];
    size_t n;             /* entries used */
    int has_redemption;   /* TokenRedeemed: redemption becomes mediator's last one */
    pc_address mediator;
    pc_redemption redemption;
} pc_money_event;

/* The amounts of one account. */
typedef struct pc_money_total {
    pc_address account;
    pc_u256 amount[PC_MONEY_FIELDS];
} pc_money_total;

/* Records ev unless an event of the same id was recorded before (the
 * wallet's receipt and the chain follower both report our transactions'
 * events; several instances may share the store): atomically, durable on
 * return. *fresh (may be NULL) = 1 when it was recorded now. */
int pc_store_record_money(pc_store *s, const pc_money_event *ev, int *fresh, pc_error *err);

/* The amounts per account, malloc'ed (free()); NULL when *n is 0. */
int pc_store_money_totals(pc_store *s, pc_money_total **totals, size_t *n, pc_error *err);

/* The last redemption of mediator; *found = 0 when none was recorded. */
int pc_store_last_redemption(pc_store *s, const pc_address *mediator, pc_redemption *r,
                             int *found, pc_error *err);

/* ---- asynchronous forms (for callers that must not block, e.g. event loops) ---- */

/* The outcome of an asynchronous call: rc 0 or -1 with err, and the same
 * outputs as the blocking form (count for next_count; verdict and highest
 * for offer_count). */
typedef struct pc_store_result {
    int rc;
    pc_error err;
    uint64_t count;
    pc_count_verdict verdict;
    uint64_t highest;
} pc_store_result;

/* Called exactly once per asynchronous call, when its change is durable or
 * has failed: on the store's writer thread, or on the calling thread before
 * the call returns. It must not block. */
typedef void (*pc_store_done)(void *arg, const pc_store_result *result);

/* 1 when the asynchronous forms never make the caller wait for another
 * caller's work: memory is immediate; SQLite queues to its writer thread
 * while a commit runs, and when it is idle commits the caller's operation
 * on the caller's thread (one fsync, the callback then runs before the call
 * returns). 0 when they run the blocking call on the caller's thread, which
 * may wait on the network (Redis). */
int pc_store_async_is_nonblocking(const pc_store *s);

/* pc_store_next_count, returning at once; the count arrives in done(). */
void pc_store_next_count_async(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                               pc_store_done done, void *arg);

/* pc_store_next_count_async for n keys (mediators[i], token_ids[i]) at
 * once, done(args[i], ...) for key i: queued together, so that one durable
 * commit usually covers them all. A key may repeat (consecutive counts). */
void pc_store_next_counts_async(pc_store *s, size_t n, const pc_address *mediators,
                                const pc_u256 *token_ids, pc_store_done done, void *const *args);

/* pc_store_offer_count, returning at once; the verdict arrives in done().
 * The arguments are copied: they need not outlive the call. */
void pc_store_offer_count_async(pc_store *s, const pc_address *mediator, const pc_u256 *token_id,
                                uint64_t count, const pc_signature *sig, pc_store_done done,
                                void *arg);

/* pc_store_offer_count_async for n offers (mediators[i], token_ids[i],
 * counts[i], sigs[i]) at once, done(args[i], ...) for offer i: queued
 * together, so that one durable commit covers them all (SQLite: one
 * transaction; Redis: see pc_store_offer_counts, run on the calling
 * thread; memory: one after the other). They are applied in the order
 * given, so a (Mediator, token id) may repeat: a count offered twice is
 * accepted the first time and replayed (37) the second. An offer that
 * fails its argument checks (count too large) gets its done() at once and
 * the others still go. */
void pc_store_offer_counts_async(pc_store *s, size_t n, const pc_address *mediators,
                                 const pc_u256 *token_ids, const uint64_t *counts,
                                 const pc_signature *sigs, pc_store_done done, void *const *args);

/* The list form blocking, for threads that may wait (paychand's workers):
 * results[i] (n of them, the caller's) receives offer i's outcome (rc and
 * err; verdict and highest when rc is 0), exactly as n calls of
 * pc_store_offer_count applied in the order given would give it, a
 * (Mediator, token id) repeating as in pc_store_offer_counts_async, but
 * with one durable point for them all: SQLite commits them in one
 * transaction (its asynchronous list form, waited for); Redis runs their n
 * scripts in one pipeline on one connection and, when replicas are
 * required, WAITs once after them (a failed WAIT fails every accepted
 * offer with PC_ERR_STORAGE_NOT_DURABLE, as the single call fails, and a
 * replayed one keeps its verdict); memory applies them in turn. A storage
 * fault fails the offers it touched (SQLite: the whole transaction; Redis:
 * all while counts may not be acknowledged or Redis is unreachable, else
 * those a broken connection left unanswered). An offer that fails its
 * argument checks (count > PC_STORE_COUNT_MAX) fails alone. Returns 0 when
 * every offer succeeded, else -1 (each result says why); n may be 0. */
int pc_store_offer_counts(pc_store *s, size_t n, const pc_address *mediators,
                          const pc_u256 *token_ids, const uint64_t *counts,
                          const pc_signature *sigs, pc_store_result *results);

/* ---- replay protection ------------------------------------------------------------ */

/* Records `nonce` (e.g. the hash of a request signature) as used until
 * unix time `expires_at`. *fresh = 1 if it was not recorded before (the
 * request may proceed), 0 if it was (a replay). Shared by all instances on
 * one Redis. Expired entries are dropped lazily. */
int pc_store_claim_nonce(pc_store *s, const uint8_t nonce[32], uint64_t expires_at, int *fresh,
                         pc_error *err);

#endif
