/* abi.c: see abi.h. */
#include "core/encoding/abi.h"

#include <limits.h>
#include <string.h>

#include "core/crypto/hash.h"

/* ---- selectors and topics ------------------------------------------------ */

void pc_abi_topic(const char *signature, uint8_t out[32])
{
    pc_keccak256((const uint8_t *)signature, strlen(signature), out);
}

void pc_abi_selector(const char *signature, uint8_t out[PC_ABI_SELECTOR_LEN])
{
    uint8_t hash[32];
    pc_abi_topic(signature, hash);
    memcpy(out, hash, PC_ABI_SELECTOR_LEN);
}

/* ---- encoding ------------------------------------------------------------ */

int pc_abi_begin_call(pc_bytes *b, const char *signature)
{
    uint8_t selector[PC_ABI_SELECTOR_LEN];
    pc_abi_selector(signature, selector);
    return pc_bytes_append(b, selector, sizeof selector);
}

int pc_abi_append_bytes32(pc_bytes *b, const uint8_t v[32])
{
    return pc_bytes_append(b, v, PC_ABI_WORD_LEN);
}

int pc_abi_append_u256(pc_bytes *b, const pc_u256 *v)
{
    uint8_t word[PC_ABI_WORD_LEN];
    pc_u256_to_be(v, word);
    return pc_abi_append_bytes32(b, word);
}

int pc_abi_append_u64(pc_bytes *b, uint64_t v)
{
    pc_u256 wide = pc_u256_from_u64(v);
    return pc_abi_append_u256(b, &wide);
}

int pc_abi_append_address(pc_bytes *b, const pc_address *a)
{
    uint8_t word[PC_ABI_WORD_LEN] = {0};
    memcpy(word + 12, a->bytes, sizeof a->bytes);
    return pc_abi_append_bytes32(b, word);
}

int pc_abi_append_bool(pc_bytes *b, int v)
{
    return pc_abi_append_u64(b, v ? 1 : 0);
}

/* ---- decoding words ------------------------------------------------------ */

/* The word at `index`, or NULL if it does not lie completely inside len.
 * Written with a division so that a huge index cannot overflow. */
static const uint8_t *word_at(const uint8_t *data, size_t len, size_t index)
{
    if (index >= len / PC_ABI_WORD_LEN)
        return NULL;
    return data + index * PC_ABI_WORD_LEN;
}

/* 1 if the first n bytes of p are all zero. */
static int zero_prefix(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

int pc_abi_word_bytes32(const uint8_t *data, size_t len, size_t index, uint8_t out[32])
{
    const uint8_t *w = word_at(data, len, index);
    if (!w)
        return -1;
    memcpy(out, w, PC_ABI_WORD_LEN);
    return 0;
}

int pc_abi_word_u256(const uint8_t *data, size_t len, size_t index, pc_u256 *out)
{
    const uint8_t *w = word_at(data, len, index);
    if (!w)
        return -1;
    pc_u256_from_be(out, w);
    return 0;
}

int pc_abi_word_u64(const uint8_t *data, size_t len, size_t index, uint64_t *out)
{
    const uint8_t *w = word_at(data, len, index);
    if (!w || !zero_prefix(w, 24))
        return -1;
    uint64_t v = 0;
    for (size_t i = 24; i < PC_ABI_WORD_LEN; i++)
        v = (v << 8) | w[i];
    *out = v;
    return 0;
}

int pc_abi_word_address(const uint8_t *data, size_t len, size_t index, pc_address *out)
{
    const uint8_t *w = word_at(data, len, index);
    if (!w || !zero_prefix(w, 12))
        return -1;
    memcpy(out->bytes, w + 12, sizeof out->bytes);
    return 0;
}

int pc_abi_word_bool(const uint8_t *data, size_t len, size_t index, int *out)
{
    uint64_t v;
    if (pc_abi_word_u64(data, len, index, &v) != 0 || v > 1)
        return -1;
    *out = (int)v;
    return 0;
}

/* ---- revert data --------------------------------------------------------- */

static const char ERROR_SIGNATURE[] = "Error(string)";
static const char PANIC_SIGNATURE[] = "Panic(uint256)";

/* The shape of a custom error signature: how many parameters, and whether
 * the first one is the uint16 code. */
typedef struct error_shape {
    size_t n_params;
    int has_code;
} error_shape;

/* 1 if the parameter type text [p, p + n) is one this module decodes as a
 * single word: no tuples, arrays or dynamic types. */
static int static_param(const char *p, size_t n)
{
    if (n == 0 || memchr(p, '[', n) || memchr(p, '(', n))
        return 0;
    if ((n == 6 && memcmp(p, "string", 6) == 0) || (n == 5 && memcmp(p, "bytes", 5) == 0))
        return 0;
    return 1;
}

/* Parses "Name(type,type,...)". Returns 0, or -1 if it is malformed or has
 * a parameter type that is not a single static word. */
static int parse_error_shape(const char *signature, error_shape *shape)
{
    const char *open = strchr(signature, '(');
    size_t total = strlen(signature);
    if (!open || open == signature || total < 2 || signature[total - 1] != ')')
        return -1;
    const char *p = open + 1, *end = signature + total - 1;
    shape->n_params = 0;
    shape->has_code = 0;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (!static_param(p, (size_t)(stop - p)))
            return -1;
        if (shape->n_params == 0)
            shape->has_code = (stop - p == 6 && memcmp(p, "uint16", 6) == 0);
        shape->n_params++;
        p = comma ? comma + 1 : end;
        if (comma && p == end) /* trailing comma */
            return -1;
    }
    return 0;
}

/* Fills a CUSTOM result from the parameter words `body`. Returns 0, or -1
 * if the words are missing or the code is not a uint16. */
static int decode_custom(const uint8_t *body, size_t blen, const error_shape *shape,
                         pc_abi_revert *out)
{
    if (shape->n_params > blen / PC_ABI_WORD_LEN)
        return -1;
    size_t first_meta = 0;
    if (shape->has_code) {
        uint64_t code;
        if (pc_abi_word_u64(body, blen, 0, &code) != 0 || code > UINT16_MAX)
            return -1;
        out->code = (uint16_t)code;
        first_meta = 1;
    }
    for (size_t i = first_meta; i < shape->n_params && out->n_meta < PC_ABI_REVERT_MAX_META; i++)
        pc_abi_word_u256(body, blen, i, &out->meta[out->n_meta++]);
    return 0;
}

/* Copies the ABI-encoded string starting at the offset in word 0 of body
 * into out->reason. Returns 0, or -1 if offset or length leave the data. */
static int decode_reason(const uint8_t *body, size_t blen, pc_abi_revert *out)
{
    uint64_t offset, slen;
    if (pc_abi_word_u64(body, blen, 0, &offset) != 0 || offset > blen)
        return -1;
    const uint8_t *at = body + offset;
    size_t left = blen - (size_t)offset;
    if (pc_abi_word_u64(at, left, 0, &slen) != 0 || slen > left - PC_ABI_WORD_LEN)
        return -1;
    size_t n = (size_t)slen;
    if (n > PC_ABI_REASON_MAX - 1) {
        n = PC_ABI_REASON_MAX - 1;
        out->reason_truncated = 1;
    }
    /* The reason ends up in logs and JSON: keep only printable ASCII. */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = at[PC_ABI_WORD_LEN + i];
        out->reason[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out->reason[n] = '\0';
    return 0;
}

/* 1 if the selector of `signature` equals sel. */
static int selector_is(const uint8_t sel[PC_ABI_SELECTOR_LEN], const char *signature)
{
    uint8_t want[PC_ABI_SELECTOR_LEN];
    pc_abi_selector(signature, want);
    return memcmp(sel, want, sizeof want) == 0;
}

/* Decodes a known selector into *out; returns the kind found, or
 * PC_ABI_REVERT_UNKNOWN if the selector is unknown or the body malformed. */
static pc_abi_revert_kind decode_known(const uint8_t *body, size_t blen,
                                       const pc_abi_error_def *defs, size_t n_defs,
                                       pc_abi_revert *out)
{
    if (selector_is(out->selector, ERROR_SIGNATURE)) {
        out->name = "Error";
        return decode_reason(body, blen, out) == 0 ? PC_ABI_REVERT_ERROR : PC_ABI_REVERT_UNKNOWN;
    }
    if (selector_is(out->selector, PANIC_SIGNATURE)) {
        out->name = "Panic";
        return pc_abi_word_u256(body, blen, 0, &out->panic_code) == 0 ? PC_ABI_REVERT_PANIC
                                                                      : PC_ABI_REVERT_UNKNOWN;
    }
    for (size_t i = 0; i < n_defs; i++) {
        error_shape shape;
        if (parse_error_shape(defs[i].signature, &shape) != 0 ||
            !selector_is(out->selector, defs[i].signature))
            continue;
        out->name = defs[i].name;
        return decode_custom(body, blen, &shape, out) == 0 ? PC_ABI_REVERT_CUSTOM
                                                           : PC_ABI_REVERT_UNKNOWN;
    }
    return PC_ABI_REVERT_UNKNOWN;
}

void pc_abi_decode_revert(const uint8_t *data, size_t len, const pc_abi_error_def *defs,
                          size_t n_defs, pc_abi_revert *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0) {
        out->kind = PC_ABI_REVERT_EMPTY;
        return;
    }
    if (len < PC_ABI_SELECTOR_LEN) {
        out->kind = PC_ABI_REVERT_UNKNOWN;
        return;
    }
    memcpy(out->selector, data, PC_ABI_SELECTOR_LEN);
    pc_abi_revert_kind kind = decode_known(data + PC_ABI_SELECTOR_LEN, len - PC_ABI_SELECTOR_LEN,
                                           defs, n_defs, out);
    if (kind == PC_ABI_REVERT_UNKNOWN) {
        /* Keep nothing half-decoded from a malformed payload. */
        uint8_t selector[PC_ABI_SELECTOR_LEN];
        memcpy(selector, out->selector, sizeof selector);
        memset(out, 0, sizeof *out);
        memcpy(out->selector, selector, sizeof selector);
    }
    out->kind = kind;
}

const char *pc_abi_panic_meaning(const pc_u256 *panic_code)
{
    static const struct {
        uint64_t code;
        const char *meaning;
    } table[] = {
        {0x00, "generic compiler panic"},
        {0x01, "assertion failed"},
        {0x11, "arithmetic overflow or underflow"},
        {0x12, "division or modulo by zero"},
        {0x21, "invalid enum value"},
        {0x22, "corrupted storage byte array"},
        {0x31, "pop on an empty array"},
        {0x32, "array index out of bounds"},
        {0x41, "too much memory allocated"},
        {0x51, "call to an uninitialised function"},
    };
    uint64_t code;
    if (pc_u256_to_u64(panic_code, &code) == 0)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (table[i].code == code)
                return table[i].meaning;
    return "unknown panic code";
}

/* ---- event logs ---------------------------------------------------------- */

void pc_abi_event_defs_init(pc_abi_event_def *defs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pc_abi_topic(defs[i].signature, defs[i].topic0);
}

int pc_abi_event_match(const uint8_t (*topics)[32], size_t n_topics,
                       const pc_abi_event_def *defs, size_t n_defs)
{
    if (n_topics == 0)
        return -1;
    for (size_t i = 0; i < n_defs && i <= (size_t)INT_MAX; i++)
        if (memcmp(topics[0], defs[i].topic0, 32) == 0)
            return (int)i;
    return -1;
}

/* Topic `index` as a 32-byte buffer, or NULL if there is no such topic. Each
 * topic is then read as word 0 of that buffer, so the word readers' value
 * checks apply unchanged. */
static const uint8_t *topic_at(const uint8_t (*topics)[32], size_t n_topics, size_t index)
{
    return index < n_topics ? topics[index] : NULL;
}

int pc_abi_topic_u256(const uint8_t (*topics)[32], size_t n_topics, size_t index, pc_u256 *out)
{
    const uint8_t *t = topic_at(topics, n_topics, index);
    return t ? pc_abi_word_u256(t, PC_ABI_WORD_LEN, 0, out) : -1;
}

int pc_abi_topic_u64(const uint8_t (*topics)[32], size_t n_topics, size_t index, uint64_t *out)
{
    const uint8_t *t = topic_at(topics, n_topics, index);
    return t ? pc_abi_word_u64(t, PC_ABI_WORD_LEN, 0, out) : -1;
}

int pc_abi_topic_address(const uint8_t (*topics)[32], size_t n_topics, size_t index,
                         pc_address *out)
{
    const uint8_t *t = topic_at(topics, n_topics, index);
    return t ? pc_abi_word_address(t, PC_ABI_WORD_LEN, 0, out) : -1;
}

int pc_abi_topic_bool(const uint8_t (*topics)[32], size_t n_topics, size_t index, int *out)
{
    const uint8_t *t = topic_at(topics, n_topics, index);
    return t ? pc_abi_word_bool(t, PC_ABI_WORD_LEN, 0, out) : -1;
}

int pc_abi_topic_bytes32(const uint8_t (*topics)[32], size_t n_topics, size_t index,
                         uint8_t out[32])
{
    const uint8_t *t = topic_at(topics, n_topics, index);
    return t ? pc_abi_word_bytes32(t, PC_ABI_WORD_LEN, 0, out) : -1;
}
