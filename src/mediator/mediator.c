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
    {"InitializationRefused", "InitializationRefused(uint16)"},
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

/* Encodes a call of `signature` with uint256 (or address, uint8, bytes32) arguments and sends it. */
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

/* ---- the factory -------------------------------------------------------------------- */

/* The deterministic deployment proxy: CREATE2 with calldata = salt (32 bytes) || init code. */
static const char CREATE2_DEPLOYER[] = "0x4e59b44847b379578588920ca78fbf26c0b4956c";

/* The EIP-1167 runtime code around the implementation's 20 address bytes. */
static const uint8_t CLONE_PREFIX[10] = {0x36, 0x3d, 0x3d, 0x37, 0x3d, 0x3d, 0x3d, 0x36, 0x3d, 0x73};
static const uint8_t CLONE_SUFFIX[15] = {0x5a, 0xf4, 0x3d, 0x82, 0x80, 0x3e, 0x90, 0x3d,
                                         0x91, 0x60, 0x2b, 0x57, 0xfd, 0x5b, 0xf3};

void pc_mediator_factory_addresses(pc_address *factory, pc_address *implementation)
{
    /* Both were checked to be addresses when they were embedded. */
    if ((factory && pc_address_parse(pc_mediator_factory_address_hex, factory) != 0) ||
        (implementation &&
         pc_address_parse(pc_mediator_implementation_address_hex, implementation) != 0))
        abort();
}

void pc_mediator_clone_code(const pc_address *implementation,
                            uint8_t out[PC_MEDIATOR_CLONE_CODE_LEN])
{
    memcpy(out, CLONE_PREFIX, sizeof CLONE_PREFIX);
    memcpy(out + sizeof CLONE_PREFIX, implementation->bytes, 20);
    memcpy(out + sizeof CLONE_PREFIX + 20, CLONE_SUFFIX, sizeof CLONE_SUFFIX);
}

int pc_mediator_is_clone_code(const uint8_t *code, size_t len)
{
    pc_address implementation;
    uint8_t expected[PC_MEDIATOR_CLONE_CODE_LEN];
    pc_mediator_factory_addresses(NULL, &implementation);
    pc_mediator_clone_code(&implementation, expected);
    return len == sizeof expected && memcmp(code, expected, len) == 0;
}

/* *has = whether `addr` holds code. */
static int has_code(pc_rpc *rpc, const pc_address *addr, int *has, pc_error *err)
{
    pc_bytes code = {0};
    int rc = pc_rpc_get_code(rpc, addr, &code, err);
    *has = code.len > 0;
    pc_bytes_free(&code);
    return rc;
}

int pc_mediator_factory_ensure(pc_wallet *w, pc_tx_result *result, pc_error *err)
{
    pc_address factory, deployer;
    int has;
    if (result)
        memset(result, 0, sizeof(*result));
    pc_mediator_factory_addresses(&factory, NULL);
    if (has_code(pc_wallet_rpc(w), &factory, &has, err) != 0)
        return -1;
    if (has)
        return 0;
    if (pc_address_parse(CREATE2_DEPLOYER, &deployer) != 0 ||
        has_code(pc_wallet_rpc(w), &deployer, &has, err) != 0)
        return -1;
    if (!has)
        return pc_error_set(err, PC_ERR_DEPLOYMENT,
                            "no MediatorFactory on this chain and no deterministic deployment "
                            "proxy at %s to create it (deploy that proxy first: see "
                            "docs/architecture.md)", CREATE2_DEPLOYER);
    pc_bytes data = {0};
    size_t hex_len = strlen(pc_mediator_factory_bytecode_hex);
    int rc = pc_bytes_reserve(&data, 32 + hex_len / 2);
    ssize_t n = rc == 0 ? pc_hex_decode_var(pc_mediator_factory_bytecode_hex, data.data + 32,
                                            data.cap - 32)
                        : -1;
    if (n < 0) {
        pc_bytes_free(&data);
        return pc_error_set(err, PC_ERR_INTERNAL, "cannot build the factory's init code");
    }
    memset(data.data, 0, 32); /* salt 0 */
    data.len = 32 + (size_t)n;
    rc = transact(w, "MediatorFactory deployment", &deployer, NULL, &data, result, NULL, err);
    pc_bytes_free(&data);
    /* Anyone may deploy the factory: when another sender's deployment was
     * mined first, ours fails (CREATE2 to a taken address), and the factory
     * is there all the same. */
    pc_error again;
    if (rc != 0 && has_code(pc_wallet_rpc(w), &factory, &has, &again) == 0 && has)
        return 0;
    if (rc == 0 && has_code(pc_wallet_rpc(w), &factory, &has, err) == 0 && !has)
        rc = pc_error_set(err, PC_ERR_DEPLOYMENT, "the deterministic deployment proxy did not "
                                                  "create the MediatorFactory at %s",
                          pc_mediator_factory_address_hex);
    return rc;
}

/* Whether the binding itself can send these terms: the contract's checks, and sizes that fit
 * its packed storage (cost below 2^96 wei, timeouts below 2^32 s). */
static int terms_valid(const pc_mediator_terms *t, const pc_address *consumer,
                       const pc_u256 *initial_token_id)
{
    const uint64_t max_timeout = UINT32_MAX;
    const pc_u256 *c = &t->cost_per_request;
    return !pc_address_is_zero(&t->provider) && !pc_address_equal(&t->provider, consumer) &&
           !pc_u256_is_zero(initial_token_id) && !pc_u256_is_zero(c) && c->limb[3] == 0 &&
           c->limb[2] == 0 && (c->limb[1] >> 32) == 0 && t->termination_timeout > 0 &&
           t->termination_timeout <= max_timeout && t->token_redemption_timeout > 0 &&
           t->token_redemption_timeout <= max_timeout;
}

/* The new Mediator's address: the one that emitted MediatorCreated in the receipt. */
static int created_mediator(const pc_tx_result *r, pc_address *mediator, pc_error *err)
{
    for (size_t i = 0; i < r->n_logs; i++) {
        pc_mediator_event e;
        if (pc_mediator_decode_event(&r->logs[i], &e) == 0 && e.kind == PC_MEDIATOR_CREATED) {
            *mediator = e.mediator;
            return 0;
        }
    }
    return pc_error_set(err, PC_ERR_DEPLOYMENT, "the factory's receipt has no MediatorCreated");
}

int pc_mediator_open(pc_wallet *consumer, const pc_mediator_terms *terms,
                     const pc_u256 *initial_token_id, const pc_u256 *deposit,
                     pc_address *mediator, pc_tx_result *result, pc_abi_revert *revert,
                     pc_error *err)
{
    if (revert)
        memset(revert, 0, sizeof(*revert));
    if (!terms_valid(terms, pc_wallet_address(consumer), initial_token_id))
        return pc_error_set(err, PC_ERR_DEPLOYMENT,
                            "invalid Mediator terms: the provider must be a non-zero address other "
                            "than the consumer, the initial token id, cost and timeouts non-zero, "
                            "the cost below 2^96 wei and the timeouts below 2^32 s");
    if (pc_mediator_factory_ensure(consumer, NULL, err) != 0)
        return -1;
    pc_address factory;
    pc_mediator_factory_addresses(&factory, NULL);
    pc_u256 args[5] = {{{0}}, *initial_token_id, terms->cost_per_request,
                       pc_u256_from_u64(terms->termination_timeout),
                       pc_u256_from_u64(terms->token_redemption_timeout)};
    uint8_t be[32] = {0};
    memcpy(be + 12, terms->provider.bytes, 20);
    pc_u256_from_be(&args[0], be);
    pc_tx_result local;
    pc_tx_result *out = result ? result : &local;
    int rc = call_u256_args(consumer, &factory,
                            "createMediator(address,uint256,uint256,uint256,uint256)", args, 5,
                            deposit, out, revert, err);
    if (rc == 0 && created_mediator(out, mediator, err) == 0)
        out->contract_address = *mediator;
    else if (rc == 0)
        rc = -1;
    else if (err && err->code == PC_ERR_TRANSACTION)
        err->code = PC_ERR_DEPLOYMENT;
    if (!result)
        pc_tx_result_free(&local);
    return rc;
}

int pc_mediator_deploy(pc_wallet *consumer, const pc_mediator_terms *terms,
                       const pc_u256 *initial_token_id, pc_address *mediator,
                       pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    return pc_mediator_open(consumer, terms, initial_token_id, NULL, mediator, result, revert,
                            err);
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

/* The redeem arguments (requestCount, v, r, s) followed by `extra` (may be NULL). A zero-request
 * token needs no signature: v = 27, r = s = 0. */
static void redeem_args(const pc_u256 *request_count, const pc_signature *sig, pc_u256 args[5])
{
    args[0] = *request_count;
    args[1] = pc_u256_from_u64(27);
    memset(&args[2], 0, 2 * sizeof(pc_u256));
    if (sig && !pc_u256_is_zero(request_count)) {
        args[1] = pc_u256_from_u64(27u + sig->recid);
        pc_u256_from_be(&args[2], sig->r);
        pc_u256_from_be(&args[3], sig->s);
    }
}

int pc_mediator_redeem_token(pc_wallet *provider, const pc_address *mediator,
                             const pc_u256 *request_count, const pc_signature *sig,
                             pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    pc_u256 args[5];
    redeem_args(request_count, sig, args);
    return call_u256_args(provider, mediator, "redeemToken(uint256,uint8,bytes32,bytes32)", args,
                          4, NULL, result, revert, err);
}

int pc_mediator_redeem_and_payout(pc_wallet *provider, const pc_address *mediator,
                                  const pc_u256 *request_count, const pc_signature *sig,
                                  pc_tx_result *result, pc_abi_revert *revert, pc_error *err)
{
    pc_u256 args[5];
    redeem_args(request_count, sig, args);
    return call_u256_args(provider, mediator, "redeemAndPayout(uint256,uint8,bytes32,bytes32)",
                          args, 4, NULL, result, revert, err);
}

int pc_mediator_redeem_payout_and_start(pc_wallet *provider, const pc_address *mediator,
                                        const pc_u256 *request_count, const pc_signature *sig,
                                        const pc_u256 *new_token_id, pc_tx_result *result,
                                        pc_abi_revert *revert, pc_error *err)
{
    pc_u256 args[5];
    redeem_args(request_count, sig, args);
    args[4] = *new_token_id;
    return call_u256_args(
        provider, mediator,
        "redeemPayoutAndStartRedemption(uint256,uint8,bytes32,bytes32,uint256)", args, 5, NULL,
        result, revert, err);
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
