/* store_internal.h: the backend interface behind store.h (private to
 * src/server/store*.c). store.c checks arguments and dispatches through
 * pc_store_ops; each backend embeds `pc_store` as its first member.
 *
 * Stored value forms, the same in every backend: addresses as their 20 raw
 * bytes, u256 values as 32 bytes big-endian, signatures as the 65 bytes
 * r || s || v (v = 27 + recid), the window as the PC_COUNTER_WINDOW / 8
 * bytes of pc_counter_window.seen. Text forms (Redis key names) use
 * lowercase hex without "0x". */
#ifndef PAYCHAN_SERVER_STORE_INTERNAL_H
#define PAYCHAN_SERVER_STORE_INTERNAL_H

#include "server/store/store.h"

/* One count offered by pc_store_offer_counts(_async), in the backends' forms. */
typedef struct pc_store_offer {
    pc_address mediator;
    uint8_t token_id[32]; /* big-endian */
    uint64_t count;       /* at most PC_STORE_COUNT_MAX */
    uint8_t sig[65];
    void *arg;            /* the caller's argument for done() */
} pc_store_offer;

typedef struct pc_store_ops {
    void (*close)(pc_store *s);
    int (*next_count)(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                      uint64_t *count, pc_error *err);
    /* count already checked: 1..PC_STORE_COUNT_MAX */
    int (*return_count)(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                        uint64_t count, int *returned, pc_error *err);
    int (*offer_count)(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                       uint64_t count, const uint8_t sig[65], pc_count_verdict *verdict,
                       uint64_t *highest, pc_error *err);
    /* sig receives the 65 stored bytes when *found. */
    int (*best_token)(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                      uint64_t *count, uint8_t sig[65], int *found, pc_error *err);
    int (*forget_counters)(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                           pc_error *err);
    int (*put_mediator)(pc_store *s, const pc_mediator_record *rec, pc_error *err);
    int (*get_mediator)(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                        pc_mediator_record *rec, int *found, pc_error *err);
    int (*list_mediators)(pc_store *s, pc_mediator_record **recs, size_t *n, pc_error *err);
    /* Optional (NULL: store.c sorts list_mediators' records): see
     * pc_store_page_mediators. */
    int (*page_mediators)(pc_store *s, const pc_mediator_filter *f, size_t offset, size_t limit,
                          pc_mediator_record **recs, size_t *n, size_t *total, pc_error *err);
    int (*issued_count)(pc_store *s, const pc_address *mediator, const uint8_t token_id[32],
                        uint64_t *count, int *found, pc_error *err);
    int (*delete_mediator)(pc_store *s, const pc_address *mediator, pc_mediator_role role,
                           pc_error *err);
    int (*claim_nonce)(pc_store *s, const uint8_t nonce[32], uint64_t expires_at, int *fresh,
                       pc_error *err);
    /* Records *node as the store's chain unless one is recorded (then
     * *adopted = 0), atomically; *stored receives the recorded one. */
    int (*claim_chain)(pc_store *s, const pc_chain_identity *node, pc_chain_identity *stored,
                       int *adopted, pc_error *err);
    /* Gas accounting (store.h); the lists malloc'ed, *n set. */
    int (*record_gas)(pc_store *s, const pc_gas_tx *tx, pc_error *err);
    int (*gas_totals)(pc_store *s, pc_gas_scope scope, pc_gas_total **totals, size_t *n,
                      pc_error *err);
    int (*recent_gas)(pc_store *s, pc_gas_tx **txs, size_t *n, pc_error *err);
    /* Money moved (store.h); the list malloc'ed, *n set. */
    int (*record_money)(pc_store *s, const pc_money_event *ev, int *fresh, pc_error *err);
    int (*money_totals)(pc_store *s, pc_money_total **totals, size_t *n, pc_error *err);
    int (*last_redemption)(pc_store *s, const pc_address *mediator, pc_redemption *r,
                           int *found, pc_error *err);
    /* Optional (NULL: store.c runs the blocking form and calls done). Inputs
     * are the caller's: copy what is needed after returning. */
    /* n at once (token ids big-endian, 32 bytes each), queued together */
    void (*next_counts_async)(pc_store *s, size_t n, const pc_address *mediators,
                              const uint8_t (*token_ids)[32], pc_store_done done,
                              void *const *args);
    /* n offers (their arguments checked), queued together */
    void (*offer_counts_async)(pc_store *s, size_t n, const struct pc_store_offer *offers,
                               pc_store_done done);
    /* Optional, for a backend without offer_counts_async (NULL: store.c
     * runs offer_count for each in turn): n offers (their arguments
     * checked) with one durable point, blocking; done for each, in order,
     * before it returns. */
    void (*offer_counts)(pc_store *s, size_t n, const struct pc_store_offer *offers,
                         pc_store_done done);
    /* Optional (NULL: always durable): see pc_store_durable. */
    int (*durable)(const pc_store *s);
    /* Optional (NULL: always writable once open): see pc_store_writable. */
    int (*writable)(const pc_store *s, char *why, size_t cap);
    int blocking; /* the blocking forms wait on another process (Redis) */
} pc_store_ops;

struct pc_store {
    const pc_store_ops *ops;
    char description[160];
    int accepts_data_loss; /* see pc_store_accepts_data_loss */
    pc_store_observer observe; /* see pc_store_set_observer */
    void *observe_ctx;
};

/* A monotonic clock in microseconds, for the observer. */
uint64_t pc_store_clock_us(void);

/* Tells the observer (if any) that a durable write took since start_us. */
void pc_store_observed(pc_store *s, uint64_t start_us);

/* The backends' constructors (opts already checked for the backend). */
pc_store *pc_store_sqlite_open(const pc_store_options *opts, pc_error *err);
pc_store *pc_store_redis_open(const pc_store_options *opts, pc_error *err);
pc_store *pc_store_memory_open(pc_error *err);

/* Maps a window verdict (counter_window.h) to the store's verdict. */
pc_count_verdict pc_store_verdict_from_window(int window_result);

/* A growable array of records for list_mediators. */
typedef struct pc_record_list {
    pc_mediator_record *items;
    size_t n, cap;
} pc_record_list;

/* pc_store_page_mediators from list_mediators: every record read, then
 * filtered, sorted and sliced (the fallback when a backend has no
 * page_mediators, or cannot filter by account itself). */
int pc_store_page_by_list(pc_store *s, const pc_mediator_filter *f, size_t offset, size_t limit,
                          pc_mediator_record **recs, size_t *n, size_t *total, pc_error *err);

/* Orders records by Mediator address then role (qsort). */
int pc_record_compare(const void *a, const void *b);

/* Appends *rec; 0, or -1 with *err on allocation failure. */
int pc_record_list_push(pc_record_list *l, const pc_mediator_record *rec, pc_error *err);

/* The fixed binary form of a pc_gas_tx (Redis list entries): hash, account,
 * Mediator, selector, gas used (8 bytes big-endian), fee (32), block (8),
 * status (1), at (8). */
#define PC_GAS_TX_WIRE_LEN 133
void pc_gas_tx_encode(const pc_gas_tx *tx, uint8_t out[PC_GAS_TX_WIRE_LEN]);
void pc_gas_tx_decode(const uint8_t in[PC_GAS_TX_WIRE_LEN], pc_gas_tx *tx);

/* Adds one transaction to a running total (fee additions saturate: a total
 * beyond 2^256 wei does not happen). */
void pc_gas_total_add(pc_gas_total *t, uint64_t gas_used, const pc_u256 *fee);

/* The total of key in the array *totals (*n used, *cap allocated), appended
 * (zero) when missing; NULL when memory runs out. */
pc_gas_total *pc_gas_total_find(pc_gas_total **totals, size_t *n, size_t *cap,
                                const pc_address *key);

/* The item whose first 20 bytes are key in the array *items (of item_size
 * bytes each; *n used, *cap allocated), appended (zeroed, key set) when
 * missing; NULL when memory runs out. Totals of gas and of money use it. */
void *pc_total_find(void **items, size_t item_size, size_t *n, size_t *cap,
                    const pc_address *key);

/* 8 bytes big-endian, for the wire forms. */
void pc_put_u64(uint8_t *p, uint64_t v);
uint64_t pc_get_u64(const uint8_t *p);

/* The total of account in the array *totals (*n used, *cap allocated),
 * appended (zero) when missing; NULL when memory runs out. */
pc_money_total *pc_money_total_find(pc_money_total **totals, size_t *n, size_t *cap,
                                    const pc_address *account);

/* The fixed binary form of a pc_redemption: token id (32), count (8), at (8). */
#define PC_REDEMPTION_WIRE_LEN 48
void pc_redemption_encode(const pc_redemption *r, uint8_t out[PC_REDEMPTION_WIRE_LEN]);
void pc_redemption_decode(const uint8_t in[PC_REDEMPTION_WIRE_LEN], pc_redemption *r);

/* The current unix time in seconds. */
uint64_t pc_store_now(void);

#endif
