/* rpc.h: a JSON-RPC 2.0 client for an Ethereum node (libcurl + jansson),
 * with typed wrappers for the calls paychan needs, receipt polling, log
 * queries and a per-address nonce tracker for concurrent senders.
 *
 * Threading: one pc_rpc may be used from many threads at once. It keeps a
 * small pool of reused curl handles (keep-alive); the pool lock is held only
 * to check a handle out or in, never during an HTTP exchange.
 *
 * Errors: every failure to get a well-formed answer (connection refused,
 * timeout, HTTP status other than 200, a body that is not JSON-RPC, a
 * JSON-RPC error object, or an answer whose fields do not validate) is
 * PC_ERR_NODE, with a message naming the URL, the method and, when there is
 * one, the node's own message. Arguments the caller got wrong are
 * PC_ERR_INVALID_ARGUMENT; out of memory is PC_ERR_INTERNAL. */
#ifndef PAYCHAN_CORE_RPC_H
#define PAYCHAN_CORE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/encoding/bytes.h"
#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"

typedef struct pc_rpc pc_rpc;

typedef struct pc_rpc_options {
    long connect_timeout_ms;   /* 0 = 2000 (never more than request_timeout_ms) */
    long request_timeout_ms;   /* whole exchange; 0 = 10000 */
    size_t max_idle_handles;   /* curl handles kept for reuse; 0 = 8, at most PC_CURL_POOL_MAX */
    size_t max_response_bytes; /* larger answers fail with PC_ERR_NODE, read no further; 0 = 4 MiB */
} pc_rpc_options;

/* Creates a client for the node at `url` (http:// or https://). opts may be
 * NULL for the defaults. Initialises libcurl globally once per process
 * (thread-safe). No request is sent. Returns NULL and fills *err on failure. */
pc_rpc *pc_rpc_create(const char *url, const pc_rpc_options *opts, pc_error *err);

/* Frees the client. No call on it may be running or follow. NULL is a no-op. */
void pc_rpc_destroy(pc_rpc *rpc);

/* The URL given to pc_rpc_create (owned by rpc). */
const char *pc_rpc_url(const pc_rpc *rpc);

/* Bounds the requests this thread makes from now on as a whole: each waits
 * at most until `deadline_ms` (pc_rpc_now_ms clock), and once it has passed
 * they fail at once with PC_ERR_NODE. So a read made of many requests (a
 * Mediator's state: nine) takes no longer than the deadline however slowly
 * a node answers each of them. 0 removes the bound (then only
 * request_timeout_ms applies). Returns the previous deadline, to restore. */
uint64_t pc_rpc_set_thread_deadline(uint64_t deadline_ms);

/* Milliseconds of a monotonic clock, for pc_rpc_set_thread_deadline. */
uint64_t pc_rpc_now_ms(void);

/* Microseconds of the same monotonic clock. */
uint64_t pc_rpc_now_us(void);

/* Called after every call (pc_rpc_call*), on the calling thread: the
 * method, ok = 0 when it failed without the node's answer (no answer, HTTP
 * error, malformed; a JSON-RPC error object counts as an answer), and its
 * duration. For metrics: it must be cheap. */
typedef void (*pc_rpc_observer)(void *ctx, const char *method, int ok, uint64_t micros);

/* Sets the observer (NULL: none); call before the client is used. */
void pc_rpc_set_observer(pc_rpc *rpc, pc_rpc_observer observe, void *ctx);

/* ---- generic calls ------------------------------------------------------ */

/* Sends {"jsonrpc":"2.0","id":N,"method":method,"params":params}.
 * params: a JSON array (NULL = []); the reference is stolen, also on failure.
 * On success returns 0 and stores a new reference to the "result" value in
 * *result (the caller must json_decref it; it may be JSON null).
 * On any failure, including a JSON-RPC error object, returns -1. */
int pc_rpc_call(pc_rpc *rpc, const char *method, json_t *params, json_t **result,
                pc_error *err);

/* Like pc_rpc_call, but tells a JSON-RPC error object apart from other
 * failures: returns 0 (success, *result set), 1 (the node answered with an
 * error object: if rpc_error is not NULL it receives a new reference to that
 * object, and *err is filled with PC_ERR_NODE), or -1 (any other failure).
 * result must not be NULL; rpc_error may be NULL. */
int pc_rpc_call_full(pc_rpc *rpc, const char *method, json_t *params, json_t **result,
                     json_t **rpc_error, pc_error *err);

/* ---- typed reads ---------------------------------------------------------- */

/* eth_chainId. */
int pc_rpc_chain_id(pc_rpc *rpc, uint64_t *chain_id, pc_error *err);

/* eth_blockNumber. */
int pc_rpc_block_number(pc_rpc *rpc, uint64_t *number, pc_error *err);

/* eth_getBalance(addr, "latest") in wei. */
int pc_rpc_get_balance(pc_rpc *rpc, const pc_address *addr, pc_u256 *wei, pc_error *err);

/* Block parameters (block_tag below): "latest", "pending", a 0x-hex block
 * number, or a block hash: "0x" + 64 hex digits (PC_RPC_BLOCK_HASH_LEN with
 * its NUL), sent as the EIP-1898 object {"blockHash": h, "requireCanonical":
 * true} so that several reads see exactly one block. NULL = "latest". */
#define PC_RPC_BLOCK_HASH_LEN 67

/* The latest block's number, hash and its parent's (0x-hex, usable as
 * block_tags) and time. */
typedef struct pc_block_head {
    uint64_t number;
    uint64_t timestamp;
    char hash[PC_RPC_BLOCK_HASH_LEN];
    char parent_hash[PC_RPC_BLOCK_HASH_LEN];
} pc_block_head;

/* eth_getBlockByNumber("latest", false) into *head. */
int pc_rpc_latest_block(pc_rpc *rpc, pc_block_head *head, pc_error *err);

/* eth_getBalance(addr, block_tag). */
int pc_rpc_get_balance_at(pc_rpc *rpc, const pc_address *addr, const char *block_tag,
                          pc_u256 *wei, pc_error *err);

/* eth_getCode(addr, "latest"); *code is cleared then filled (empty for an
 * account without code). code must be zero-initialised or a live pc_bytes. */
int pc_rpc_get_code(pc_rpc *rpc, const pc_address *addr, pc_bytes *code, pc_error *err);

/* Timestamp (unix seconds) of the latest block: the clock contracts see. */
int pc_rpc_get_block_timestamp(pc_rpc *rpc, uint64_t *timestamp, pc_error *err);

/* The hash of block `number` (eth_getBlockByNumber). Block 0's, the genesis
 * hash, tells two chains with the same chain id apart (e.g. two dev chains). */
int pc_rpc_get_block_hash(pc_rpc *rpc, uint64_t number, uint8_t hash[32], pc_error *err);

/* eth_getTransactionCount(addr, block_tag); block_tag is "latest",
 * "pending", ... (NULL = "latest"). */
int pc_rpc_get_transaction_count(pc_rpc *rpc, const pc_address *addr, const char *block_tag,
                                 uint64_t *count, pc_error *err);

/* A message call, for eth_call and eth_estimateGas. */
typedef struct pc_call {
    const pc_address *from; /* NULL = none */
    const pc_address *to;   /* NULL = contract creation (data is init code) */
    pc_u256 value;          /* wei; zero is not sent */
    const uint8_t *data;    /* may be NULL when data_len is 0 */
    size_t data_len;
    const char *block;      /* eth_call only: a block_tag as above; NULL = "latest" */
} pc_call;

/* eth_call(call, call->block or "latest").
 * Returns 0: *result holds the return data (cleared first).
 *         1: the call reverted; *revert_data holds the revert data (cleared
 *            first; may be empty), *err is PC_ERR_TRANSACTION with the node's
 *            message.
 *        -1: any other failure.
 * result and revert_data: zero-initialised or live pc_bytes; revert_data may
 * be NULL when the caller does not want the data. */
int pc_rpc_eth_call(pc_rpc *rpc, const pc_call *call, pc_bytes *result, pc_bytes *revert_data,
                    pc_error *err);

/* eth_estimateGas(call). Same 0 / 1 (reverted) / -1 convention as
 * pc_rpc_eth_call. */
int pc_rpc_estimate_gas(pc_rpc *rpc, const pc_call *call, uint64_t *gas, pc_bytes *revert_data,
                        pc_error *err);

/* Fee data for EIP-1559 transactions. */
typedef struct pc_fees {
    pc_u256 base_fee;     /* baseFeePerGas of the latest block (0 if it has none) */
    int has_base_fee;     /* 1 if the latest block has baseFeePerGas */
    pc_u256 priority_fee; /* eth_maxPriorityFeePerGas; eth_gasPrice, or 1 gwei, if the node lacks it */
    pc_u256 gas_price;    /* eth_gasPrice */
    pc_u256 max_fee;      /* suggested maxFeePerGas = 2 * base_fee + priority_fee */
} pc_fees;

/* Fills *fees from the latest block, eth_maxPriorityFeePerGas and eth_gasPrice. */
int pc_rpc_fees(pc_rpc *rpc, pc_fees *fees, pc_error *err);

/* ---- transactions and receipts ---------------------------------------------- */

/* eth_sendRawTransaction(raw). On success stores the hash the node reports
 * in tx_hash. A node that rejects the transaction (bad nonce, too little
 * balance, ...) is PC_ERR_NODE with the node's message; the caller then
 * releases its nonce unsent (pc_rpc_nonce_release). */
int pc_rpc_send_raw_transaction(pc_rpc *rpc, const uint8_t *raw, size_t len,
                                uint8_t tx_hash[32], pc_error *err);

/* One log entry. */
typedef struct pc_log {
    pc_address address;
    uint8_t topics[4][32];
    size_t n_topics; /* 0..4 */
    pc_bytes data;
    uint64_t block_number;
    uint8_t tx_hash[32];
    uint32_t log_index;
} pc_log;

/* Frees n logs and the array itself (as returned by pc_rpc_get_logs or held
 * in a receipt). NULL is a no-op. */
void pc_logs_free(pc_log *logs, size_t n);

typedef struct pc_receipt {
    uint8_t tx_hash[32];
    int status; /* 1 success, 0 reverted */
    uint64_t block_number;
    uint64_t gas_used;
    pc_u256 effective_gas_price;
    pc_address contract_address; /* valid only if has_contract_address */
    int has_contract_address;
    pc_log *logs;
    size_t n_logs;
} pc_receipt;

/* Releases the logs of a receipt filled by this module and zeroes it. */
void pc_receipt_free(pc_receipt *receipt);

/* eth_getTransactionReceipt. Returns 0 with *found = 1 and *out filled (free
 * with pc_receipt_free), or 0 with *found = 0 if the node does not know a
 * mined transaction of that hash (yet); -1 on failure. */
int pc_rpc_get_receipt(pc_rpc *rpc, const uint8_t tx_hash[32], pc_receipt *out, int *found,
                       pc_error *err);

/* Polls pc_rpc_get_receipt (every ~2 ms at first, backing off to ~250 ms)
 * until the receipt is there or timeout_ms have passed; then fails with
 * PC_ERR_TRANSACTION "not mined within N ms". A reverted transaction still
 * returns 0 (check out->status). Node failures end the wait at once. */
int pc_rpc_wait_receipt(pc_rpc *rpc, const uint8_t tx_hash[32], int timeout_ms, pc_receipt *out,
                        pc_error *err);

/* ---- logs ------------------------------------------------------------------ */

#define PC_RPC_BLOCK_LATEST UINT64_MAX

typedef struct pc_log_filter {
    const pc_address *address; /* NULL = any */
    uint64_t from_block;
    uint64_t to_block;         /* PC_RPC_BLOCK_LATEST = "latest" */
    const uint8_t *topic0;     /* 32 bytes, NULL = any (or one of topic0_any) */
    const uint8_t (*topic0_any)[32]; /* when topic0 is NULL: topic0 is one of these */
    size_t n_topic0_any;             /* 0 = no such condition */
} pc_log_filter;

/* eth_getLogs(filter). On success *logs is a malloc'ed array of *n entries
 * (NULL when *n is 0); free with pc_logs_free. */
int pc_rpc_get_logs(pc_rpc *rpc, const pc_log_filter *filter, pc_log **logs, size_t *n,
                    pc_error *err);

/* ---- nonces --------------------------------------------------------------- */

/* Reserves the next nonce of `addr` for one transaction: *nonce. The first
 * reserve for an address (and the first after a release with sent = 0)
 * reads eth_getTransactionCount(addr, "pending"); later ones count up
 * locally. Until the matching pc_rpc_nonce_release, on the same thread,
 * other reserves for `addr` wait (sign and send in between, nothing slow);
 * other addresses do not. On failure (-1, the node could not be read)
 * nothing is held and no release may follow. */
int pc_rpc_nonce_reserve(pc_rpc *rpc, const pc_address *addr, uint64_t *nonce, pc_error *err);

/* Ends a reserve: sent = 1 when the node accepted the transaction (the next
 * reserve gets the nonce after it), 0 when it did not (the next reserve
 * reads the node again, so neither a gap nor a reused nonce follows). */
void pc_rpc_nonce_release(pc_rpc *rpc, const pc_address *addr, int sent);

#endif
