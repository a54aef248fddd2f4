/* abi.h: the Solidity contract ABI for the static types the Mediator uses
 * (uint256, uint64 and smaller, address, bool, bytes32): function selectors,
 * event topics, calldata and constructor-argument encoding, strict decoding
 * of return data, revert data (custom errors, Error(string), Panic(uint256))
 * and event logs.
 *
 * Encoding appends to a pc_bytes; decoding reads 32-byte words by index out
 * of a caller's buffer and never reads past the length it is given. Dynamic
 * types (bytes, string, arrays) are not encoded; the only dynamic value ever
 * decoded is the reason string of Error(string). */
#ifndef PAYCHAN_CORE_ABI_H
#define PAYCHAN_CORE_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "core/encoding/bytes.h"
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"

#define PC_ABI_WORD_LEN 32
#define PC_ABI_SELECTOR_LEN 4

/* ---- selectors and topics ------------------------------------------------ */

/* out = first 4 bytes of keccak256(signature). `signature` is the canonical
 * form without spaces or parameter names, e.g. "transfer(address,uint256)". */
void pc_abi_selector(const char *signature, uint8_t out[PC_ABI_SELECTOR_LEN]);

/* out = keccak256(signature): topic0 of an event log, e.g. for
 * "Transfer(address,address,uint256)". */
void pc_abi_topic(const char *signature, uint8_t out[32]);

/* ---- encoding -------------------------------------------------------------
 * Calldata is a selector followed by one 32-byte word per static argument:
 *
 *     pc_bytes call = {0};
 *     pc_abi_begin_call(&call, "redeemToken(uint256,uint8,bytes32,bytes32)");
 *     pc_abi_append_u256(&call, &count); pc_abi_append_u64(&call, v); ...
 *
 * Constructor arguments use the same word appenders with no selector: append
 * the creation bytecode to the buffer (pc_bytes_append), then one word per
 * constructor parameter, and send the whole buffer as the data of a contract
 * creation transaction.
 *
 * Every appender returns 0, or -1 when out of memory (the buffer then keeps
 * its previous contents). `b` must be a valid pc_bytes (see bytes.h). */

/* Appends the 4-byte selector of `signature` (see pc_abi_selector). */
int pc_abi_begin_call(pc_bytes *b, const char *signature);

/* Appends v as a 32-byte big-endian word (uint256). */
int pc_abi_append_u256(pc_bytes *b, const pc_u256 *v);

/* Appends v as a 32-byte word; use it for uint64 and every smaller uintN
 * (uint8 v, uint16 ...), whose values the caller keeps in range. */
int pc_abi_append_u64(pc_bytes *b, uint64_t v);

/* Appends an address: 12 zero bytes, then the 20 address bytes. */
int pc_abi_append_address(pc_bytes *b, const pc_address *a);

/* Appends a bool: word 1 if v is non-zero, else word 0. */
int pc_abi_append_bool(pc_bytes *b, int v);

/* Appends 32 raw bytes (bytes32). */
int pc_abi_append_bytes32(pc_bytes *b, const uint8_t v[32]);

/* ---- decoding words -------------------------------------------------------
 * `data`/`len` is return data or log data (for revert data, skip the 4-byte
 * selector first). Word `index` occupies bytes [32*index, 32*index + 32).
 * Each function returns 0 and fills *out, or -1 (leaving *out unchanged)
 * when the word does not lie completely inside len or its value does not
 * fit the type. data may be NULL only if len is 0. */

/* Any 32-byte value. */
int pc_abi_word_u256(const uint8_t *data, size_t len, size_t index, pc_u256 *out);

/* A uint64 (and smaller types read as uint64): the high 24 bytes must be 0. */
int pc_abi_word_u64(const uint8_t *data, size_t len, size_t index, uint64_t *out);

/* An address: the high 12 bytes must be 0. */
int pc_abi_word_address(const uint8_t *data, size_t len, size_t index, pc_address *out);

/* A bool: the word must be exactly 0 or 1; *out is set to 0 or 1. */
int pc_abi_word_bool(const uint8_t *data, size_t len, size_t index, int *out);

/* The raw 32 bytes. */
int pc_abi_word_bytes32(const uint8_t *data, size_t len, size_t index, uint8_t out[32]);

/* ---- revert data ----------------------------------------------------------
 * The Mediator reverts with custom errors whose FIRST parameter is
 * `uint16 code` (docs/protocol.md §4) followed by optional static metadata words, e.g.
 * RedemptionTimeoutNotPassed(uint16,uint256,uint256) = (30, timeoutAt, now).
 * Solidity itself reverts with Error(string) (require with a message) or
 * Panic(uint256) (assert, overflow, ...). */

/* One custom error a contract may revert with. */
typedef struct pc_abi_error_def {
    const char *name;      /* e.g. "RedemptionTimeoutNotPassed" */
    const char *signature; /* canonical, static types only, e.g.
                              "RedemptionTimeoutNotPassed(uint16,uint256,uint256)" */
} pc_abi_error_def;

typedef enum pc_abi_revert_kind {
    PC_ABI_REVERT_EMPTY = 0, /* no revert data at all (revert() or out of gas) */
    PC_ABI_REVERT_CUSTOM,    /* one of the given error definitions */
    PC_ABI_REVERT_ERROR,     /* Error(string) */
    PC_ABI_REVERT_PANIC,     /* Panic(uint256) */
    PC_ABI_REVERT_UNKNOWN    /* anything else, including truncated or malformed data */
} pc_abi_revert_kind;

#define PC_ABI_REVERT_MAX_META 4
#define PC_ABI_REASON_MAX 256 /* reason buffer size including the NUL */

typedef struct pc_abi_revert {
    pc_abi_revert_kind kind;
    /* CUSTOM: the matching def's name; ERROR: "Error"; PANIC: "Panic"; else NULL. */
    const char *name;
    /* The first 4 bytes of the data if there were at least 4, else zeros. */
    uint8_t selector[PC_ABI_SELECTOR_LEN];
    /* CUSTOM: the uint16 code (first parameter), 0 if the def has no uint16
     * first parameter. Other kinds: 0. */
    uint16_t code;
    /* CUSTOM: the parameters after the code (at most PC_ABI_REVERT_MAX_META
     * are kept; further ones are checked for presence but dropped). */
    size_t n_meta;
    pc_u256 meta[PC_ABI_REVERT_MAX_META];
    /* ERROR: the reason, NUL-terminated. Bytes outside printable ASCII are
     * replaced with '?', and a reason longer than PC_ABI_REASON_MAX - 1 bytes
     * is cut and reason_truncated set. Other kinds: "". */
    char reason[PC_ABI_REASON_MAX];
    int reason_truncated;
    /* PANIC: the panic code (0x11 overflow, 0x12 division by zero, ...). */
    pc_u256 panic_code;
} pc_abi_revert;

/* Decodes revert data against `defs` (n_defs entries; defs may be NULL if
 * n_defs is 0). Selectors are computed from the signatures on each call
 * (one Keccak per def, well under a microsecond each; reverts are rare).
 * Always fills *out completely; it never fails: data that matches no known
 * form, is too short for its parameters or has malformed values (a code
 * that does not fit uint16, a string offset or length outside the data)
 * yields kind PC_ABI_REVERT_UNKNOWN. A def whose signature cannot be parsed
 * is skipped. data may be NULL only if len is 0. */
void pc_abi_decode_revert(const uint8_t *data, size_t len, const pc_abi_error_def *defs,
                          size_t n_defs, pc_abi_revert *out);

/* A short fixed description of a Solidity panic code, e.g. "arithmetic
 * overflow or underflow" for 0x11; "unknown panic code" for others. */
const char *pc_abi_panic_meaning(const pc_u256 *panic_code);

/* ---- event logs -----------------------------------------------------------
 * A log has up to 4 topics (32 bytes each) and a data blob. topics[0] is the
 * event's topic (pc_abi_topic) unless the event is anonymous; indexed
 * parameters follow as topics[1..], non-indexed ones are words of the data
 * (read them with the pc_abi_word_* functions). The topics are passed as an
 * array of 32-byte rows, which is how rpc.h's pc_log stores them:
 * `pc_abi_event_match(log->topics, log->n_topics, ...)`. */

/* One event a contract may emit. Fill `topic0` with pc_abi_event_defs_init
 * before matching, typically once at start-up. */
typedef struct pc_abi_event_def {
    const char *name;      /* e.g. "Deposited" */
    const char *signature; /* canonical, e.g. "Deposited(address,uint256,uint256)" */
    uint8_t topic0[32];    /* keccak256(signature), filled by pc_abi_event_defs_init */
} pc_abi_event_def;

/* Computes topic0 of each of the n definitions. */
void pc_abi_event_defs_init(pc_abi_event_def *defs, size_t n);

/* Returns the index of the def whose topic0 equals topics[0], or -1 if
 * n_topics is 0 or none matches. topics may be NULL only if n_topics is 0. */
int pc_abi_event_match(const uint8_t (*topics)[32], size_t n_topics,
                       const pc_abi_event_def *defs, size_t n_defs);

/* Read indexed parameter `index` (1 = first indexed parameter, i.e.
 * topics[1]; 0 reads topic0 itself) with the same strict checks as the
 * pc_abi_word_* functions. Return 0, or -1 if index >= n_topics or the value
 * does not fit the type. */
int pc_abi_topic_u256(const uint8_t (*topics)[32], size_t n_topics, size_t index, pc_u256 *out);
int pc_abi_topic_u64(const uint8_t (*topics)[32], size_t n_topics, size_t index, uint64_t *out);
int pc_abi_topic_address(const uint8_t (*topics)[32], size_t n_topics, size_t index,
                         pc_address *out);
int pc_abi_topic_bool(const uint8_t (*topics)[32], size_t n_topics, size_t index, int *out);
int pc_abi_topic_bytes32(const uint8_t (*topics)[32], size_t n_topics, size_t index,
                         uint8_t out[32]);

#endif
