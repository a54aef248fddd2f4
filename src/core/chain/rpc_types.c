/* rpc_types.c: see rpc.h. The typed Ethereum calls on top of
 * pc_rpc_call, with strict validation of every field of every answer. */
#include "core/chain/rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/chain/rpc_internal.h"

/* ---- validating answer fields ----------------------------------------------- */

/* A JSON-RPC quantity: "0x" and 1..64 hex digits. */
static int parse_quantity(json_t *v, pc_u256 *out)
{
    const char *s = json_string_value(v);
    if (!s || strncmp(s, "0x", 2) != 0)
        return -1;
    return pc_u256_parse_hex(s, out);
}

static int parse_quantity_u64(json_t *v, uint64_t *out)
{
    pc_u256 q;
    if (parse_quantity(v, &q) != 0)
        return -1;
    return pc_u256_to_u64(&q, out);
}

/* "0x" and an even number of hex digits, appended to the cleared *out. */
static int parse_data(json_t *v, pc_bytes *out)
{
    const char *s = json_string_value(v);
    pc_bytes_clear(out);
    if (!s || strncmp(s, "0x", 2) != 0)
        return -1;
    size_t digits = strlen(s + 2);
    if (digits % 2 != 0)
        return -1;
    if (digits == 0)
        return 0;
    if (pc_bytes_reserve(out, digits / 2) != 0)
        return -1;
    if (pc_hex_decode_var(s, out->data, digits / 2) != (ssize_t)(digits / 2))
        return -1;
    out->len = digits / 2;
    return 0;
}

/* Exactly "0x" + 64 hex digits. */
static int parse_hash(json_t *v, uint8_t out[32])
{
    const char *s = json_string_value(v);
    if (!s || strncmp(s, "0x", 2) != 0 || strlen(s) != 66)
        return -1;
    return pc_hex_decode(s, out, 32);
}

static int parse_address(json_t *v, pc_address *out)
{
    const char *s = json_string_value(v);
    return s ? pc_address_parse(s, out) : -1;
}

/* ---- building params ----------------------------------------------------------- */

static json_t *quantity_json(uint64_t v)
{
    char text[PC_U256_HEX_LEN];
    pc_u256 q = pc_u256_from_u64(v);
    pc_u256_to_hex(&q, text);
    return json_string(text);
}

static json_t *address_json(const pc_address *a)
{
    char text[PC_ADDRESS_TEXT_LEN];
    pc_address_format(a, text);
    return json_string(text);
}

/* "0x..." of data[0..len) as a JSON string, or NULL when out of memory. */
static json_t *data_json(const uint8_t *data, size_t len)
{
    if (len > (SIZE_MAX - 3) / 2)
        return NULL;
    char *text = malloc(2 * len + 3);
    if (!text)
        return NULL;
    pc_hex_encode(data ? data : (const uint8_t *)"", len, text);
    json_t *j = json_string(text);
    free(text);
    return j;
}

static json_t *call_json(const pc_call *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (c->from)
        json_object_set_new(o, "from", address_json(c->from));
    if (c->to)
        json_object_set_new(o, "to", address_json(c->to));
    if (!pc_u256_is_zero(&c->value)) {
        char text[PC_U256_HEX_LEN];
        pc_u256_to_hex(&c->value, text);
        json_object_set_new(o, "value", json_string(text));
    }
    json_object_set_new(o, "data", data_json(c->data, c->data_len));
    size_t expected = 1 + (c->from != NULL) + (c->to != NULL) + !pc_u256_is_zero(&c->value);
    if (json_object_size(o) != expected) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A block parameter: a tag or 0x-number as a string, a block hash as the
 * EIP-1898 object (see rpc.h). */
static json_t *block_json(const char *block_tag)
{
    if (!block_tag)
        return json_string("latest");
    if (strlen(block_tag) == PC_RPC_BLOCK_HASH_LEN - 1 && strncmp(block_tag, "0x", 2) == 0)
        return json_pack("{sssb}", "blockHash", block_tag, "requireCanonical", 1);
    return json_string(block_tag);
}

/* ---- calls whose answer is one quantity ------------------------------------------- */

/* params NULL means building them ran out of memory (not "no params"). */
static int call_quantity(pc_rpc *rpc, const char *method, json_t *params, pc_u256 *out,
                         pc_error *err)
{
    json_t *result;
    if (!params)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory building %s", method);
    if (pc_rpc_call(rpc, method, params, &result, err) != 0)
        return -1;
    int ret = parse_quantity(result, out);
    json_decref(result);
    if (ret != 0)
        return pc_rpc_node_error(rpc, method, err, "answer is not a hex quantity");
    return 0;
}

static int call_quantity_u64(pc_rpc *rpc, const char *method, json_t *params, uint64_t *out,
                             pc_error *err)
{
    pc_u256 q;
    if (call_quantity(rpc, method, params, &q, err) != 0)
        return -1;
    if (pc_u256_to_u64(&q, out) != 0)
        return pc_rpc_node_error(rpc, method, err, "answer does not fit in 64 bits");
    return 0;
}

int pc_rpc_chain_id(pc_rpc *rpc, uint64_t *chain_id, pc_error *err)
{
    return call_quantity_u64(rpc, "eth_chainId", json_array(), chain_id, err);
}

int pc_rpc_block_number(pc_rpc *rpc, uint64_t *number, pc_error *err)
{
    return call_quantity_u64(rpc, "eth_blockNumber", json_array(), number, err);
}

int pc_rpc_get_balance(pc_rpc *rpc, const pc_address *addr, pc_u256 *wei, pc_error *err)
{
    return pc_rpc_get_balance_at(rpc, addr, NULL, wei, err);
}

int pc_rpc_get_balance_at(pc_rpc *rpc, const pc_address *addr, const char *block_tag,
                          pc_u256 *wei, pc_error *err)
{
    return call_quantity(rpc, "eth_getBalance",
                         json_pack("[oo]", address_json(addr), block_json(block_tag)), wei, err);
}

int pc_rpc_get_transaction_count(pc_rpc *rpc, const pc_address *addr, const char *block_tag,
                                 uint64_t *count, pc_error *err)
{
    return call_quantity_u64(rpc, "eth_getTransactionCount",
                             json_pack("[oo]", address_json(addr), block_json(block_tag)),
                             count, err);
}

int pc_rpc_get_code(pc_rpc *rpc, const pc_address *addr, pc_bytes *code, pc_error *err)
{
    json_t *result;
    json_t *params = json_pack("[os]", address_json(addr), "latest");
    if (!params)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    if (pc_rpc_call(rpc, "eth_getCode", params, &result, err) != 0)
        return -1;
    int ret = parse_data(result, code);
    json_decref(result);
    if (ret != 0)
        return pc_rpc_node_error(rpc, "eth_getCode", err, "answer is not hex data");
    return 0;
}

/* eth_getBlockByNumber("latest", false): the block header as an object. */
/* eth_getBlockByNumber(tag, false): the block header as a JSON object. */
static int block_by_tag(pc_rpc *rpc, json_t *tag, json_t **block, pc_error *err)
{
    json_t *params = tag ? json_pack("[ob]", tag, 0) : NULL;
    if (!params)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    if (pc_rpc_call(rpc, "eth_getBlockByNumber", params, block, err) != 0)
        return -1;
    if (!json_is_object(*block)) {
        json_decref(*block);
        return pc_rpc_node_error(rpc, "eth_getBlockByNumber", err, "no such block");
    }
    return 0;
}

static int latest_block(pc_rpc *rpc, json_t **block, pc_error *err)
{
    return block_by_tag(rpc, json_string("latest"), block, err);
}

int pc_rpc_get_block_hash(pc_rpc *rpc, uint64_t number, uint8_t hash[32], pc_error *err)
{
    json_t *block;
    if (block_by_tag(rpc, quantity_json(number), &block, err) != 0)
        return -1;
    int ret = parse_hash(json_object_get(block, "hash"), hash);
    json_decref(block);
    if (ret != 0)
        return pc_rpc_node_error(rpc, "eth_getBlockByNumber", err, "bad block hash");
    return 0;
}

int pc_rpc_latest_block(pc_rpc *rpc, pc_block_head *head, pc_error *err)
{
    json_t *block;
    if (latest_block(rpc, &block, err) != 0)
        return -1;
    uint8_t hash[32], parent[32];
    int bad = parse_quantity_u64(json_object_get(block, "number"), &head->number) != 0 ||
              parse_quantity_u64(json_object_get(block, "timestamp"), &head->timestamp) != 0 ||
              parse_hash(json_object_get(block, "hash"), hash) != 0 ||
              parse_hash(json_object_get(block, "parentHash"), parent) != 0;
    json_decref(block);
    if (bad)
        return pc_rpc_node_error(rpc, "eth_getBlockByNumber", err,
                                 "bad block number, hash, parent hash or time");
    pc_hex_encode(hash, 32, head->hash);
    pc_hex_encode(parent, 32, head->parent_hash);
    return 0;
}

int pc_rpc_get_block_timestamp(pc_rpc *rpc, uint64_t *timestamp, pc_error *err)
{
    json_t *block;
    if (latest_block(rpc, &block, err) != 0)
        return -1;
    int ret = parse_quantity_u64(json_object_get(block, "timestamp"), timestamp);
    json_decref(block);
    if (ret != 0)
        return pc_rpc_node_error(rpc, "eth_getBlockByNumber", err, "bad block timestamp");
    return 0;
}

/* ---- eth_call / eth_estimateGas with revert detection -------------------------------- */

/* Finds the revert data in an error's "data" member: a string "0x...", or
 * an object carrying it under "data" (or deeper, as some nodes nest it). */
static json_t *find_revert_data(json_t *data, int depth)
{
    if (json_is_string(data))
        return data;
    if (!json_is_object(data) || depth > 3)
        return NULL;
    json_t *inner = find_revert_data(json_object_get(data, "data"), depth + 1);
    return inner ? inner : find_revert_data(json_object_get(data, "originalError"), depth + 1);
}

/* 1 if the JSON-RPC error object says the execution reverted. */
static int is_revert(json_t *error)
{
    json_int_t code = json_integer_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));
    return code == 3 || (message && strstr(message, "revert") != NULL);
}

/* Sends a pc_call to `method` (params: the call, then block_tag if not NULL).
 * 0 with *result, 1 reverted (revert data filled, err PC_ERR_TRANSACTION), -1. */
static int call_may_revert(pc_rpc *rpc, const char *method, const pc_call *call,
                           const char *block_tag, json_t **result, pc_bytes *revert_data,
                           pc_error *err)
{
    json_t *c = call_json(call);
    json_t *params = c ? (block_tag ? json_pack("[oo]", c, block_json(block_tag)) : json_pack("[o]", c))
                       : NULL;
    if (!params)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory building %s", method);
    json_t *error = NULL;
    int ret = pc_rpc_call_full(rpc, method, params, result, &error, err);
    if (ret != 1)
        return ret;
    if (!is_revert(error)) {
        json_decref(error);
        return -1; /* err already describes the node's error */
    }
    json_t *data = find_revert_data(json_object_get(error, "data"), 0);
    pc_bytes scratch = {0};
    pc_bytes *out = revert_data ? revert_data : &scratch;
    pc_bytes_clear(out);
    int bad = data && parse_data(data, out) != 0;
    pc_bytes_free(&scratch);
    pc_error node_msg = *(err ? err : &(pc_error){0});
    json_decref(error);
    if (bad)
        return pc_rpc_node_error(rpc, method, err, "revert data is not hex");
    pc_error_set(err, PC_ERR_TRANSACTION, "%s", node_msg.message);
    return 1;
}

int pc_rpc_eth_call(pc_rpc *rpc, const pc_call *call, pc_bytes *result, pc_bytes *revert_data,
                    pc_error *err)
{
    json_t *r;
    int ret = call_may_revert(rpc, "eth_call", call, call->block ? call->block : "latest", &r,
                              revert_data, err);
    if (ret != 0)
        return ret;
    ret = parse_data(r, result);
    json_decref(r);
    if (ret != 0)
        return pc_rpc_node_error(rpc, "eth_call", err, "answer is not hex data");
    return 0;
}

int pc_rpc_estimate_gas(pc_rpc *rpc, const pc_call *call, uint64_t *gas, pc_bytes *revert_data,
                        pc_error *err)
{
    json_t *r;
    int ret = call_may_revert(rpc, "eth_estimateGas", call, NULL, &r, revert_data, err);
    if (ret != 0)
        return ret;
    ret = parse_quantity_u64(r, gas);
    json_decref(r);
    if (ret != 0)
        return pc_rpc_node_error(rpc, "eth_estimateGas", err, "answer is not a 64-bit quantity");
    return 0;
}

/* ---- fees ---------------------------------------------------------------------------- */

/* 1 if a JSON-RPC error object says the method does not exist. */
static int is_method_missing(json_t *error)
{
    json_int_t code = json_integer_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));
    return code == -32601
           || (message && (strstr(message, "not supported") || strstr(message, "does not exist")
                           || strstr(message, "not found") || strstr(message, "not available")));
}

/* eth_maxPriorityFeePerGas, or `fallback` when the node lacks the method. */
static int priority_fee(pc_rpc *rpc, const pc_u256 *fallback, pc_u256 *out, pc_error *err)
{
    json_t *result, *error = NULL;
    int ret = pc_rpc_call_full(rpc, "eth_maxPriorityFeePerGas", NULL, &result, &error, err);
    if (ret == 1) {
        int missing = is_method_missing(error);
        json_decref(error);
        if (!missing)
            return -1;
        *out = *fallback;
        return 0;
    }
    if (ret != 0)
        return -1;
    ret = parse_quantity(result, out);
    json_decref(result);
    if (ret != 0)
        return pc_rpc_node_error(rpc, "eth_maxPriorityFeePerGas", err, "answer is not a quantity");
    return 0;
}

int pc_rpc_fees(pc_rpc *rpc, pc_fees *fees, pc_error *err)
{
    memset(fees, 0, sizeof *fees);
    json_t *block;
    if (latest_block(rpc, &block, err) != 0)
        return -1;
    json_t *base = json_object_get(block, "baseFeePerGas");
    int bad = base && !json_is_null(base) && parse_quantity(base, &fees->base_fee) != 0;
    fees->has_base_fee = base && !json_is_null(base);
    json_decref(block);
    if (bad)
        return pc_rpc_node_error(rpc, "eth_getBlockByNumber", err, "bad baseFeePerGas");
    if (call_quantity(rpc, "eth_gasPrice", json_array(), &fees->gas_price, err) != 0)
        return -1;
    /* Without eth_maxPriorityFeePerGas, the legacy gas price (or 1 gwei if
     * the node says 0) is a safe if generous tip: max_fee caps the cost. */
    pc_u256 fallback = pc_u256_is_zero(&fees->gas_price) ? pc_u256_from_u64(1000000000)
                                                         : fees->gas_price;
    if (priority_fee(rpc, &fallback, &fees->priority_fee, err) != 0)
        return -1;
    pc_u256 two = pc_u256_from_u64(2);
    if (pc_u256_mul(&fees->max_fee, &fees->base_fee, &two)
        || pc_u256_add(&fees->max_fee, &fees->max_fee, &fees->priority_fee))
        return pc_rpc_node_error(rpc, "eth_getBlockByNumber", err, "fees overflow 256 bits");
    return 0;
}

/* ---- transactions --------------------------------------------------------------------- */

int pc_rpc_send_raw_transaction(pc_rpc *rpc, const uint8_t *raw, size_t len,
                                uint8_t tx_hash[32], pc_error *err)
{
    if (!raw || len == 0)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "empty raw transaction");
    json_t *data = data_json(raw, len);
    json_t *params = data ? json_pack("[o]", data) : NULL;
    if (!params)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    json_t *result;
    if (pc_rpc_call(rpc, "eth_sendRawTransaction", params, &result, err) != 0)
        return -1;
    int ret = parse_hash(result, tx_hash);
    json_decref(result);
    if (ret != 0)
        return pc_rpc_node_error(rpc, "eth_sendRawTransaction", err, "answer is not a 32-byte hash");
    return 0;
}

/* ---- logs and receipts ----------------------------------------------------------------- */

void pc_logs_free(pc_log *logs, size_t n)
{
    if (!logs)
        return;
    for (size_t i = 0; i < n; i++)
        pc_bytes_free(&logs[i].data);
    free(logs);
}

void pc_receipt_free(pc_receipt *receipt)
{
    if (!receipt)
        return;
    pc_logs_free(receipt->logs, receipt->n_logs);
    memset(receipt, 0, sizeof *receipt);
}

/* Fills *log from one log object; a message naming the bad field on failure. */
static const char *parse_log(json_t *o, pc_log *log)
{
    uint64_t index;
    json_t *topics = json_object_get(o, "topics");
    if (!json_is_object(o))
        return "log is not an object";
    if (parse_address(json_object_get(o, "address"), &log->address) != 0)
        return "bad log address";
    if (!json_is_array(topics) || json_array_size(topics) > 4)
        return "bad log topics";
    log->n_topics = json_array_size(topics);
    for (size_t i = 0; i < log->n_topics; i++)
        if (parse_hash(json_array_get(topics, i), log->topics[i]) != 0)
            return "bad log topic";
    if (parse_data(json_object_get(o, "data"), &log->data) != 0)
        return "bad log data";
    if (parse_quantity_u64(json_object_get(o, "blockNumber"), &log->block_number) != 0)
        return "bad log blockNumber";
    if (parse_hash(json_object_get(o, "transactionHash"), log->tx_hash) != 0)
        return "bad log transactionHash";
    if (parse_quantity_u64(json_object_get(o, "logIndex"), &index) != 0 || index > UINT32_MAX)
        return "bad log logIndex";
    log->log_index = (uint32_t)index;
    return NULL;
}

/* Parses a JSON array of logs into a new array. NULL on success, else why. */
static const char *parse_logs(json_t *array, pc_log **logs, size_t *n)
{
    *logs = NULL;
    *n = 0;
    if (!json_is_array(array))
        return "logs are not an array";
    size_t count = json_array_size(array);
    if (count == 0)
        return NULL;
    pc_log *out = calloc(count, sizeof *out);
    if (!out)
        return "out of memory";
    for (size_t i = 0; i < count; i++) {
        const char *why = parse_log(json_array_get(array, i), &out[i]);
        if (why) {
            pc_logs_free(out, count);
            return why;
        }
    }
    *logs = out;
    *n = count;
    return NULL;
}

static const char *parse_receipt(json_t *o, pc_receipt *r)
{
    uint64_t status;
    json_t *contract = json_object_get(o, "contractAddress");
    if (!json_is_object(o))
        return "receipt is not an object";
    if (parse_hash(json_object_get(o, "transactionHash"), r->tx_hash) != 0)
        return "bad receipt transactionHash";
    if (parse_quantity_u64(json_object_get(o, "status"), &status) != 0 || status > 1)
        return "bad receipt status";
    r->status = (int)status;
    if (parse_quantity_u64(json_object_get(o, "blockNumber"), &r->block_number) != 0)
        return "bad receipt blockNumber";
    if (parse_quantity_u64(json_object_get(o, "gasUsed"), &r->gas_used) != 0)
        return "bad receipt gasUsed";
    if (parse_quantity(json_object_get(o, "effectiveGasPrice"), &r->effective_gas_price) != 0)
        return "bad receipt effectiveGasPrice";
    r->has_contract_address = contract && !json_is_null(contract);
    if (r->has_contract_address && parse_address(contract, &r->contract_address) != 0)
        return "bad receipt contractAddress";
    return parse_logs(json_object_get(o, "logs"), &r->logs, &r->n_logs);
}

int pc_rpc_get_receipt(pc_rpc *rpc, const uint8_t tx_hash[32], pc_receipt *out, int *found,
                       pc_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    json_t *params = json_pack("[o]", data_json(tx_hash, 32));
    if (!params)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    json_t *result;
    if (pc_rpc_call(rpc, "eth_getTransactionReceipt", params, &result, err) != 0)
        return -1;
    if (json_is_null(result)) {
        json_decref(result);
        return 0;
    }
    const char *why = parse_receipt(result, out);
    json_decref(result);
    if (why) {
        pc_receipt_free(out);
        return pc_rpc_node_error(rpc, "eth_getTransactionReceipt", err, "%s", why);
    }
    if (memcmp(out->tx_hash, tx_hash, 32) != 0) {
        pc_receipt_free(out);
        return pc_rpc_node_error(rpc, "eth_getTransactionReceipt", err,
                                 "receipt is for another transaction");
    }
    *found = 1;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int pc_rpc_wait_receipt(pc_rpc *rpc, const uint8_t tx_hash[32], int timeout_ms, pc_receipt *out,
                        pc_error *err)
{
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int64_t delay = 2; /* anvil mines within ~1 ms; back off for slower chains */
    for (;;) {
        int found;
        if (pc_rpc_get_receipt(rpc, tx_hash, out, &found, err) != 0)
            return -1;
        if (found)
            return 0;
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        sleep_ms(delay < left ? delay : left);
        delay = delay * 2 > 250 ? 250 : delay * 2;
    }
    char hash[67];
    pc_hex_encode(tx_hash, 32, hash);
    return pc_error_set(err, PC_ERR_TRANSACTION, "transaction %s not mined within %d ms", hash,
                        timeout_ms);
}

static json_t *filter_json(const pc_log_filter *f)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "fromBlock", quantity_json(f->from_block));
    json_object_set_new(o, "toBlock", f->to_block == PC_RPC_BLOCK_LATEST
                                          ? json_string("latest")
                                          : quantity_json(f->to_block));
    if (f->address)
        json_object_set_new(o, "address", address_json(f->address));
    int topics = f->topic0 || f->n_topic0_any > 0;
    if (f->topic0)
        json_object_set_new(o, "topics", json_pack("[o]", data_json(f->topic0, 32)));
    else if (f->n_topic0_any > 0) {
        json_t *any = json_array(); /* an array in position 0 means "any of these" */
        for (size_t i = 0; i < f->n_topic0_any; i++)
            json_array_append_new(any, data_json(f->topic0_any[i], 32));
        json_object_set_new(o, "topics", json_pack("[o]", any));
    }
    if (json_object_size(o) != 2u + (f->address != NULL) + (topics != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int pc_rpc_get_logs(pc_rpc *rpc, const pc_log_filter *filter, pc_log **logs, size_t *n,
                    pc_error *err)
{
    *logs = NULL;
    *n = 0;
    if (filter->to_block < filter->from_block)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "eth_getLogs: toBlock before fromBlock");
    json_t *f = filter_json(filter);
    json_t *params = f ? json_pack("[o]", f) : NULL;
    if (!params)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    json_t *result;
    if (pc_rpc_call(rpc, "eth_getLogs", params, &result, err) != 0)
        return -1;
    const char *why = parse_logs(result, logs, n);
    json_decref(result);
    if (why)
        return pc_rpc_node_error(rpc, "eth_getLogs", err, "%s", why);
    return 0;
}
