/* mediator.c: see mediator.h. Transactions go through pc_wallet (simulate,
 * sign, send, follow); reverts are decoded against the contract's custom
 * errors, whose first parameter is always the protocol's error code. */
#include "mediator/mediator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "mediator/mediator_artifact.h"

const pc_abi_error_def pc_mediator_errors[] = {
    {"AlreadyTerminated", "AlreadyTerminated(uint16)"},
    {"OnlyServiceProvider", "OnlyServiceProvider(uint16)"},
    {"OnlyServiceConsumer", "OnlyServiceConsumer(uint16)"},
    {"InvalidTokenSignature", "InvalidTokenSignature(uint16)"},
    {"RedemptionTimeoutNotPassed", "RedemptionTimeoutNotPassed(uint16,uint256,uint256)"},
    {"TokenIdIsActive", "TokenIdIsActive(uint16)"},
    {"RedemptionInProgress", "RedemptionInProgress(uint16)"},
    {"TokenIdUsedBefore", "TokenIdUsedBefore(uint16)"},
    {"InsufficientConsumerFunds", "InsufficientConsumerFunds(uint16,uint256,uint256)"},
    {"NoRedemptionInProgress", "NoRedemptionInProgress(uint16)"},
    {"TerminationNotStarted", "TerminationNotStarted(uint16)"},
    {"TerminationTimeoutNotPassed", "TerminationTimeoutNotPassed(uint16,uint256,uint256)"},
    {"TerminationAlreadyStarted", "TerminationAlreadyStarted(uint16)"},
    {"InvalidTerms", "InvalidTerms(uint16)"},
    {"TransferFailed", "TransferFailed(uint16)"},
};
const size_t pc_mediator_n_errors = sizeof(pc_mediator_errors) / sizeof(pc_mediator_errors[0]);

/* ---- sending ------------------------------------------------------------------ */

/* Turns a simulated revert into the contract's code (or 100 for a revert that
 * is not one of the Mediator's errors) with a message naming the error. */
static int report_revert(const char *what, const pc_bytes *data, pc_abi_revert *revert,
                         pc_error *err)
{
    pc_abi_revert local;
    pc_abi_revert *r = revert ? revert : &local;
    pc_abi_decode_revert(data->data, data->len, pc_mediator_errors, pc_mediator_n_errors, r);
    if (r->kind == PC_ABI_REVERT_CUSTOM && r->code != 0)
        return pc_error_set(err, r->code, "%s rejected by the Mediator: %s (%s)", what, r->name,
                            pc_error_code_meaning(r->code));
    if (r->kind == PC_ABI_REVERT_ERROR)
        return pc_error_set(err, PC_ERR_TRANSACTION, "%s reverted: %s", what, r->reason);
    return pc_error_set(err, PC_ERR_TRANSACTION, "%s reverted without a Mediator error", what);
}

/* A call to an address without code would "succeed" doing nothing (and a
 * deposit would hand the ether to whoever owns that address), so every
 * transaction to a Mediator first checks that there is a contract. */
static int require_contract(pc_wallet *w, const pc_address *to, pc_error *err)
{
    pc_bytes code = {0};
    int rc = pc_rpc_get_code(pc_wallet_rpc(w), to, &code, err);
    size_t len = code.len;
    pc_bytes_free(&code);
    if (rc == 0 && len == 0) {
        char addr[PC_ADDRESS_TEXT_LEN];
        pc_address_format(to, addr);
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "no contract at %s: not a Mediator",
                            addr);
    }
    return rc;
}

/* Simulates, sends and follows one transaction; `what` names it in errors. */
static int transact(pc_wallet *w, const char *what, const pc_address *to, const pc_u256 *value,
                    const pc_bytes *data, pc_tx_result *result, pc_abi_revert *revert,
                    pc_error *err)
{
    pc_tx_result local;
    pc_tx_result *out = result ? result : &local;
    pc_bytes revert_data = {0};
    if (revert)
        memset(revert, 0, sizeof(*revert));
    memset(out, 0, sizeof(*out));
    if (to && require_contract(w, to, err) != 0)
        return -1;
    int rc = pc_wallet_send(w, to, value, data->data, data->len, out, &revert_data, err);
    if (rc == 1)
        rc = report_revert(what, &revert_data, revert, err);
    pc_bytes_free(&revert_data);
    if (!result)
        pc_tx_result_free(&local);
    return rc == 0 ? 0 : -1;
}

/* Encodes a call of `signature` with up to four uint256 arguments and sends it. */
static int call_u256_args(pc_wallet *w, const pc_address *mediator, const char *signature,
                          const pc_u256 *args, size_t n_args, const pc_u256 *value,
                          pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    pc_bytes data = {0};
    int rc = pc_abi_begin_call(&data, signature);
    for (size_t i = 0; i < n_args && rc == 0; i++)
        rc = pc_abi_append_u256(&data, &args[i]);
    if (rc != 0) {
        pc_bytes_free(&data);
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    }
    rc = transact(w, signature, mediator, value, &data, result, revert, err);
    pc_bytes_free(&data);
    return rc;
}

static int terms_valid(const pc_mediator_terms *t, const pc_address *consumer,
                       const pc_u256 *initial_token_id)
{
    return !pc_address_is_zero(&t->provider) && !pc_address_equal(&t->provider, consumer) &&
           !pc_u256_is_zero(initial_token_id) && !pc_u256_is_zero(&t->cost_per_request) &&
           t->termination_timeout > 0 && t->token_redemption_timeout > 0;
}

pc_u256 pc_mediator_random_token_id(void)
{
    uint8_t be[32];
    pc_u256 id;
    if (RAND_bytes(be, sizeof(be)) != 1)
        abort(); /* no randomness: there is nothing safe to continue with */
    be[31] |= 1;
    pc_u256_from_be(&id, be);
    return id;
}

int pc_mediator_init_code(const pc_mediator_terms *t, const pc_u256 *initial_token_id,
                          pc_bytes *code)
{
    size_t hex_len = strlen(pc_mediator_bytecode_hex);
    if (pc_bytes_reserve(code, hex_len / 2 + 5 * 32) != 0)
        return -1;
    ssize_t n = pc_hex_decode_var(pc_mediator_bytecode_hex, code->data, code->cap);
    if (n < 0)
        return -1;
    code->len = (size_t)n;
    pc_u256 term_timeout = pc_u256_from_u64(t->termination_timeout);
    pc_u256 redemption_timeout = pc_u256_from_u64(t->token_redemption_timeout);
    if (pc_abi_append_address(code, &t->provider) != 0 ||
        pc_abi_append_u256(code, initial_token_id) != 0 ||
        pc_abi_append_u256(code, &t->cost_per_request) != 0 ||
        pc_abi_append_u256(code, &term_timeout) != 0 ||
        pc_abi_append_u256(code, &redemption_timeout) != 0)
        return -1;
    return 0;
}

int pc_mediator_deploy(pc_wallet *consumer, const pc_mediator_terms *terms,
                       const pc_u256 *initial_token_id, pc_address *mediator,
                       pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    if (revert)
        memset(revert, 0, sizeof(*revert));
    if (!terms_valid(terms, pc_wallet_address(consumer), initial_token_id))
        return pc_error_set(err, PC_ERR_DEPLOYMENT,
                            "invalid Mediator terms: the provider must be a non-zero address other "
                            "than the consumer, the initial token id, cost and timeouts non-zero");
    pc_bytes code = {0};
    if (pc_mediator_init_code(terms, initial_token_id, &code) != 0) {
        pc_bytes_free(&code);
        return pc_error_set(err, PC_ERR_INTERNAL, "cannot build the Mediator's init code");
    }
    pc_tx_result local;
    pc_tx_result *out = result ? result : &local;
    int rc = transact(consumer, "Mediator deployment", NULL, NULL, &code, out, revert, err);
    pc_bytes_free(&code);
    if (rc == 0)
        *mediator = out->contract_address;
    else if (err && err->code == PC_ERR_TRANSACTION)
        err->code = PC_ERR_DEPLOYMENT;
    if (!result)
        pc_tx_result_free(&local);
    return rc;
}

int pc_mediator_deposit(pc_wallet *consumer, const pc_address *mediator, const pc_u256 *amount,
                        pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    int rc = call_u256_args(consumer, mediator, "depositForServiceConsumer()", NULL, 0, amount,
                            result, revert, err);
    if (rc != 0 && err && err->code == PC_ERR_TRANSACTION)
        err->code = PC_ERR_DEPOSIT;
    return rc;
}

int pc_mediator_start_token_redemption(pc_wallet *provider, const pc_address *mediator,
                                       const pc_u256 *new_token_id, pc_tx_result *result,
                                       pc_abi_revert *revert, pc_error *err)
{
    return call_u256_args(provider, mediator, "startTokenRedemption(uint256)", new_token_id, 1,
                          NULL, result, revert, err);
}

int pc_mediator_redeem_token(pc_wallet *provider, const pc_address *mediator,
                             const pc_u256 *request_count, const pc_signature *sig,
                             pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    /* A zero-request token needs no signature: send v = 27, r = s = 0. */
    pc_u256 args[4] = {*request_count, pc_u256_from_u64(27), {{0}}, {{0}}};
    if (sig && !pc_u256_is_zero(request_count)) {
        args[1] = pc_u256_from_u64(27u + sig->recid);
        pc_u256_from_be(&args[2], sig->r);
        pc_u256_from_be(&args[3], sig->s);
    }
    return call_u256_args(provider, mediator, "redeemToken(uint256,uint8,bytes32,bytes32)", args,
                          4, NULL, result, revert, err);
}

int pc_mediator_payout(pc_wallet *provider, const pc_address *mediator, pc_tx_result *result,
                       pc_abi_revert *revert, pc_error *err)
{
    return call_u256_args(provider, mediator, "payoutForServiceProvider()", NULL, 0, NULL,
                          result, revert, err);
}

int pc_mediator_start_close(pc_wallet *consumer, const pc_address *mediator,
                            pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    return call_u256_args(consumer, mediator, "startCloseThroughServiceConsumer()", NULL, 0,
                          NULL, result, revert, err);
}

int pc_mediator_finalize_close(pc_wallet *consumer, const pc_address *mediator,
                               pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    return call_u256_args(consumer, mediator, "finalizeCloseThroughServiceConsumer()", NULL, 0,
                          NULL, result, revert, err);
}

int pc_mediator_close_by_provider(pc_wallet *provider, const pc_address *mediator,
                                  pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    return call_u256_args(provider, mediator, "closeThroughServiceProvider()", NULL, 0, NULL,
                          result, revert, err);
}
