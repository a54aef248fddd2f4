/* mediator_read.c: the read side of the Mediator binding (getters and
 * events); see mediator.h. */
#include "mediator/mediator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chain/tx.h"

/* eth_call of a getter taking at most one uint256 argument; stores the
 * returned data (at least one word) in *ret. */
static int call_getter(pc_rpc *rpc, const pc_address *mediator, const char *block,
                       const char *signature, const pc_u256 *arg, pc_bytes *ret, pc_error *err)
{
    pc_bytes data = {0};
    if (pc_abi_begin_call(&data, signature) != 0 || (arg && pc_abi_append_u256(&data, arg) != 0)) {
        pc_bytes_free(&data);
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    }
    pc_call call = {.to = mediator, .data = data.data, .data_len = data.len, .block = block};
    int rc = pc_rpc_eth_call(rpc, &call, ret, NULL, err);
    pc_bytes_free(&data);
    if (rc == 1)
        return pc_error_set(err, PC_ERR_NODE, "%s reverted: is this address a Mediator?",
                            signature);
    if (rc != 0)
        return -1;
    if (ret->len < 32) {
        char addr[PC_ADDRESS_TEXT_LEN];
        pc_address_format(mediator, addr);
        return pc_error_set(err, PC_ERR_NODE, "%s returned no data: no Mediator at %s",
                            signature, addr);
    }
    return 0;
}

static int read_u256(pc_rpc *rpc, const pc_address *mediator, const char *block,
                     const char *signature, const pc_u256 *arg, pc_u256 *out, pc_error *err)
{
    pc_bytes ret = {0};
    int rc = call_getter(rpc, mediator, block, signature, arg, &ret, err);
    if (rc == 0)
        pc_abi_word_u256(ret.data, ret.len, 0, out);
    pc_bytes_free(&ret);
    return rc;
}

/* Reads a getter whose value must fit 64 bits (timeouts, timestamps). */
static int read_u64(pc_rpc *rpc, const pc_address *mediator, const char *block,
                    const char *signature, uint64_t *out, pc_error *err)
{
    pc_u256 v;
    if (read_u256(rpc, mediator, block, signature, NULL, &v, err) != 0)
        return -1;
    if (pc_u256_to_u64(&v, out) != 0)
        *out = UINT64_MAX; /* the contract saturates absurd timeouts: treat as never */
    return 0;
}

static int read_address(pc_rpc *rpc, const pc_address *mediator, const char *signature,
                        pc_address *out, pc_error *err)
{
    pc_bytes ret = {0};
    int rc = call_getter(rpc, mediator, NULL, signature, NULL, &ret, err);
    if (rc == 0 && pc_abi_word_address(ret.data, ret.len, 0, out) != 0)
        rc = pc_error_set(err, PC_ERR_NODE, "%s returned a malformed address", signature);
    pc_bytes_free(&ret);
    return rc;
}

static int read_bool(pc_rpc *rpc, const pc_address *mediator, const char *block,
                     const char *signature, const pc_u256 *arg, int *out, pc_error *err)
{
    pc_bytes ret = {0};
    int rc = call_getter(rpc, mediator, block, signature, arg, &ret, err);
    if (rc == 0 && pc_abi_word_bool(ret.data, ret.len, 0, out) != 0)
        rc = pc_error_set(err, PC_ERR_NODE, "%s returned a malformed bool", signature);
    pc_bytes_free(&ret);
    return rc;
}

int pc_mediator_read_terms(pc_rpc *rpc, const pc_address *mediator, pc_mediator_terms *out,
                           pc_error *err)
{
    if (read_address(rpc, mediator, "serviceConsumer()", &out->consumer, err) != 0 ||
        read_address(rpc, mediator, "serviceProvider()", &out->provider, err) != 0 ||
        read_u256(rpc, mediator, NULL, "costPerRequest()", NULL, &out->cost_per_request, err) ||
        read_u64(rpc, mediator, NULL, "terminationTimeout()", &out->termination_timeout, err) ||
        read_u64(rpc, mediator, NULL, "tokenRedemptionTimeout()", &out->token_redemption_timeout,
                 err))
        return -1;
    return 0;
}

/* The seven getters and the balance, all at block b. */
static int read_state_at(pc_rpc *rpc, const pc_address *mediator, const char *b,
                         pc_mediator_state *out, pc_error *err)
{
    if (read_u256(rpc, mediator, b, "serviceConsumerFunds()", NULL, &out->consumer_funds, err) ||
        read_u256(rpc, mediator, b, "serviceProviderFunds()", NULL, &out->provider_funds, err) ||
        read_u256(rpc, mediator, b, "activeTokenId()", NULL, &out->active_token_id, err) ||
        read_u256(rpc, mediator, b, "soonExpiringTokenId()", NULL, &out->soon_expiring_token_id,
                  err) ||
        read_u64(rpc, mediator, b, "soonExpiringTokenIdTimeout()", &out->soon_expiring_timeout,
                 err) ||
        read_u64(rpc, mediator, b, "terminationStartedAt()", &out->termination_started_at, err) ||
        read_bool(rpc, mediator, b, "terminated()", NULL, &out->terminated, err) ||
        pc_rpc_get_balance_at(rpc, mediator, b, &out->balance, err))
        return -1;
    return 0;
}

/* The state at the parent of `head` with the Mediator's events of `head`
 * applied; -1 also when it had no code at the parent. */
static int read_state_at_parent(pc_rpc *rpc, const pc_address *mediator,
                                const pc_block_head *head, pc_mediator_state *out, pc_error *err)
{
    pc_mediator_event *ev = NULL;
    size_t n = 0;
    if (head->number == 0 ||
        pc_mediator_get_events(rpc, mediator, head->number, head->number, &ev, &n, err) != 0 ||
        read_state_at(rpc, mediator, head->parent_hash, out, err) != 0) {
        free(ev);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (pc_mediator_apply_event(out, &ev[i]) != 0)
            rc = pc_error_set(err, PC_ERR_NODE, "the node's events of block %llu do not fit the "
                                                "state of its parent",
                              (unsigned long long)head->number);
    free(ev);
    return rc;
}

int pc_mediator_read_state(pc_rpc *rpc, const pc_address *mediator, pc_mediator_state *out,
                           pc_error *err)
{
    /* All eight reads (seven getters and the balance) pinned to one block
     * hash (EIP-1898): a block mined between two of them cannot mix two
     * states. The block is the parent of the latest, whose state is settled
     * (anvil answered reads pinned to the latest block from two states
     * while it mined the next one); the Mediator's events of the latest
     * block are then applied, so the state is the latest one. A contract
     * that has no state at the parent (created in the latest block) is read
     * at the latest block itself. */
    pc_block_head head;
    if (pc_rpc_latest_block(rpc, &head, err) != 0)
        return -1;
    out->block = head.number;
    if (read_state_at_parent(rpc, mediator, &head, out, NULL) == 0)
        return 0;
    return read_state_at(rpc, mediator, head.hash, out, err);
}

int pc_mediator_get_u256(pc_rpc *rpc, const pc_address *mediator, const char *getter,
                         pc_u256 *out, pc_error *err)
{
    char signature[64];
    if (snprintf(signature, sizeof(signature), "%s()", getter) >= (int)sizeof(signature))
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "getter name too long");
    return read_u256(rpc, mediator, NULL, signature, NULL, out, err);
}

int pc_mediator_is_terminated(pc_rpc *rpc, const pc_address *mediator, int *terminated,
                              pc_error *err)
{
    return read_bool(rpc, mediator, NULL, "terminated()", NULL, terminated, err);
}

int pc_mediator_is_token_id_used(pc_rpc *rpc, const pc_address *mediator,
                                 const pc_u256 *token_id, int *used, pc_error *err)
{
    return read_bool(rpc, mediator, NULL, "usedTokenIds(uint256)", token_id, used, err);
}

int pc_mediator_domain_separator(pc_rpc *rpc, const pc_address *mediator, uint8_t out[32],
                                 pc_error *err)
{
    pc_bytes ret = {0};
    int rc = call_getter(rpc, mediator, NULL, "domainSeparator()", NULL, &ret, err);
    if (rc == 0)
        pc_abi_word_bytes32(ret.data, ret.len, 0, out);
    pc_bytes_free(&ret);
    return rc;
}

/* Whether two sets of terms are the same. */
static int terms_equal(const pc_mediator_terms *a, const pc_mediator_terms *b)
{
    return pc_address_equal(&a->consumer, &b->consumer) &&
           pc_address_equal(&a->provider, &b->provider) &&
           pc_u256_cmp(&a->cost_per_request, &b->cost_per_request) == 0 &&
           a->termination_timeout == b->termination_timeout &&
           a->token_redemption_timeout == b->token_redemption_timeout;
}

int pc_mediator_verify_code(pc_rpc *rpc, const pc_address *mediator,
                            const pc_mediator_terms *terms, int *genuine, pc_error *err)
{
    pc_bytes actual = {0};
    pc_mediator_terms stored;
    *genuine = 0;
    int rc = pc_rpc_get_code(rpc, mediator, &actual, err);
    int ours = rc == 0 && pc_mediator_is_clone_code(actual.data, actual.len);
    pc_bytes_free(&actual);
    if (rc != 0 || !ours)
        return rc;
    /* Our code, so its getters return its storage; but a contract's init code can write any
     * storage before returning our code. Its address cannot be chosen: only the factory's
     * CREATE with the nonce it stored gives it. */
    pc_address factory, expected_address;
    pc_u256 nonce;
    if (pc_mediator_read_terms(rpc, mediator, &stored, err) != 0 ||
        pc_mediator_get_u256(rpc, mediator, "creationNonce", &nonce, err) != 0)
        return -1;
    pc_mediator_factory_addresses(&factory, NULL);
    uint64_t n;
    int from_factory = pc_u256_to_u64(&nonce, &n) == 0 &&
                       pc_contract_address(&factory, n, &expected_address) == 0 &&
                       pc_address_equal(&expected_address, mediator);
    *genuine = from_factory && terms_equal(&stored, terms);
    return 0;
}
