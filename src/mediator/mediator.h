/* mediator.h: the typed C binding of the Mediator contract (docs/protocol.md §6).
 *
 * Every state-changing function is first simulated (eth_estimateGas) so that
 * a call the contract would reject costs no gas and fails with the protocol's
 * error code decoded from the contract's custom error; then it is signed by
 * the given wallet, sent, and followed to its receipt.
 *
 * Return convention of every function here: 0 on success, -1 on failure
 * with *err filled. err->code is the contract's code (1, 2, 3, 4, 30 ... 42,
 * 50, 102) when the contract rejected the call, PC_ERR_NODE when the node
 * could not be asked, PC_ERR_TRANSACTION when the transaction failed or was
 * not mined in time, PC_ERR_INVALID_ARGUMENT when the target address holds
 * no contract (checked before anything is sent). When `revert` is not NULL
 * it receives the decoded revert (kind PC_ABI_REVERT_EMPTY if the failure
 * was not a revert), which
 * carries the metadata words (e.g. timeoutAt and now for codes 30 and 41).
 * When `result` is not NULL it receives the transaction's receipt data
 * (hash, gas, fee); free it with pc_tx_result_free. */
#ifndef PAYCHAN_MEDIATOR_MEDIATOR_H
#define PAYCHAN_MEDIATOR_MEDIATOR_H

#include <stdint.h>

#include "core/encoding/abi.h"
#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/chain/rpc.h"
#include "core/encoding/u256.h"
#include "core/chain/wallet.h"

/* The immutable terms of a Mediator: read once, cache forever. */
typedef struct pc_mediator_terms {
    pc_address consumer;
    pc_address provider;
    pc_u256 cost_per_request;
    uint64_t termination_timeout;      /* seconds */
    uint64_t token_redemption_timeout; /* seconds */
} pc_mediator_terms;

/* The mutable state of a Mediator at one block. */
typedef struct pc_mediator_state {
    pc_u256 consumer_funds;
    pc_u256 provider_funds;
    pc_u256 active_token_id;
    pc_u256 soon_expiring_token_id;
    uint64_t soon_expiring_timeout;   /* unix seconds, 0 if none */
    uint64_t termination_started_at;  /* unix seconds, 0 = not started */
    int terminated;
    pc_u256 balance;                  /* ether the contract holds (>= both funds if genuine) */
    uint64_t block;                   /* the number of the block this state is of */
} pc_mediator_state;

/* ---- opening a channel: the factory ------------------------------------------------ */

/* Channels are EIP-1167 minimal proxies ("clones", 45 bytes of code) of one Mediator
 * implementation, created and initialized in one transaction by MediatorFactory. The factory sits
 * at the same address on every chain: CREATE2 through the deterministic deployment proxy
 * (0x4e59b44847b379578588920ca78fbf26c0b4956c) with salt 0 and the embedded init code; the
 * implementation is the factory's first CREATE. Anyone may deploy the factory; the result is the
 * same. */

/* Length of a clone's runtime code. */
#define PC_MEDIATOR_CLONE_CODE_LEN 45

/* The factory's and the implementation's addresses (either may be NULL). */
void pc_mediator_factory_addresses(pc_address *factory, pc_address *implementation);

/* The runtime code of a clone of `implementation`:
 * 363d3d373d3d3d363d73 <implementation> 5af43d82803e903d91602b57fd5bf3. */
void pc_mediator_clone_code(const pc_address *implementation,
                            uint8_t out[PC_MEDIATOR_CLONE_CODE_LEN]);

/* Whether `code` is exactly the runtime code of a clone of our implementation. */
int pc_mediator_is_clone_code(const uint8_t *code, size_t len);

/* Deploys the factory (and with it the implementation) from wallet w unless it is on the chain
 * already; then nothing is sent (result->sent stays 0). Fails with PC_ERR_DEPLOYMENT when the
 * chain has no deterministic deployment proxy. */
int pc_mediator_factory_ensure(pc_wallet *w, pc_tx_result *result, pc_error *err);

/* Opens a channel from the consumer's wallet to `terms->provider` with the given initial token id
 * (non-zero; pick it at random) and terms (terms->consumer is ignored: the sender is the
 * consumer), depositing `deposit` wei in the same transaction (NULL or 0: none). Deploys the
 * factory first if the chain has none (pc_mediator_factory_ensure). On success stores the new
 * Mediator's address in *mediator (and in result->contract_address). Invalid terms (see the
 * contract: also a cost of 2^96 wei or more, a timeout of 2^32 s or more) fail with code 50
 * before anything is sent. */
int pc_mediator_open(pc_wallet *consumer, const pc_mediator_terms *terms,
                     const pc_u256 *initial_token_id, const pc_u256 *deposit,
                     pc_address *mediator, pc_tx_result *result, pc_abi_revert *revert,
                     pc_error *err);

/* pc_mediator_open without a deposit. */
int pc_mediator_deploy(pc_wallet *consumer, const pc_mediator_terms *terms,
                       const pc_u256 *initial_token_id, pc_address *mediator,
                       pc_tx_result *result, pc_abi_revert *revert, pc_error *err);

/* A fresh token id: 256 random bits (OpenSSL's CSPRNG), never 0. Ids must
 * be unpredictable and never reused; at 2^256 a collision does not happen. */
pc_u256 pc_mediator_random_token_id(void);

/* ---- transactions (docs/protocol.md §6) ---------------------------------------------------- */

/* Consumer: adds `amount` wei to the consumer funds. */
int pc_mediator_deposit(pc_wallet *consumer, const pc_address *mediator, const pc_u256 *amount,
                        pc_tx_result *result, pc_abi_revert *revert, pc_error *err);

/* Provider: starts the two-phase redemption of the active token id and
 * makes new_token_id the active one (or 0 during termination). */
int pc_mediator_start_token_redemption(pc_wallet *provider, const pc_address *mediator,
                                       const pc_u256 *new_token_id, pc_tx_result *result,
                                       pc_abi_revert *revert, pc_error *err);

/* Provider: after the grace period, redeems the soon-expiring id with the
 * consumer's token for request_count (sig ignored when request_count is 0). */
int pc_mediator_redeem_token(pc_wallet *provider, const pc_address *mediator,
                             const pc_u256 *request_count, const pc_signature *sig,
                             pc_tx_result *result, pc_abi_revert *revert, pc_error *err);

/* Provider: pc_mediator_redeem_token, then pc_mediator_payout, in one transaction. */
int pc_mediator_redeem_and_payout(pc_wallet *provider, const pc_address *mediator,
                                  const pc_u256 *request_count, const pc_signature *sig,
                                  pc_tx_result *result, pc_abi_revert *revert, pc_error *err);

/* Provider: pc_mediator_redeem_token, pc_mediator_payout, then
 * pc_mediator_start_token_redemption(new_token_id), in one transaction: the soon-expiring id
 * (grace period over) is redeemed and the active id starts its own grace period. */
int pc_mediator_redeem_payout_and_start(pc_wallet *provider, const pc_address *mediator,
                                        const pc_u256 *request_count, const pc_signature *sig,
                                        const pc_u256 *new_token_id, pc_tx_result *result,
                                        pc_abi_revert *revert, pc_error *err);

/* Provider: sends the provider funds to the provider. */
int pc_mediator_payout(pc_wallet *provider, const pc_address *mediator, pc_tx_result *result,
                       pc_abi_revert *revert, pc_error *err);

/* Consumer: starts the termination timeout. */
int pc_mediator_start_close(pc_wallet *consumer, const pc_address *mediator,
                            pc_tx_result *result, pc_abi_revert *revert, pc_error *err);

/* Consumer: after the termination timeout, pays both parties and terminates. */
int pc_mediator_finalize_close(pc_wallet *consumer, const pc_address *mediator,
                               pc_tx_result *result, pc_abi_revert *revert, pc_error *err);

/* Provider: pays both parties and terminates at once. */
int pc_mediator_close_by_provider(pc_wallet *provider, const pc_address *mediator,
                                  pc_tx_result *result, pc_abi_revert *revert, pc_error *err);

/* ---- reads ------------------------------------------------------------------- */

/* Reads the five immutable terms (five eth_calls). Fails with PC_ERR_NODE
 * also when `mediator` has no Mediator code (the calls return nothing). */
int pc_mediator_read_terms(pc_rpc *rpc, const pc_address *mediator, pc_mediator_terms *out,
                           pc_error *err);

/* Reads the mutable state and the ether held at the latest block:
 * eth_getBlockByNumber and the Mediator's events in that block
 * (eth_getLogs), then seven eth_calls and one eth_getBalance pinned to the
 * hash of its parent (a settled state), with those events applied; when
 * that fails (no contract at the parent yet), the same reads pinned to the
 * latest block itself. out->block is the latest block's number. */
int pc_mediator_read_state(pc_rpc *rpc, const pc_address *mediator, pc_mediator_state *out,
                           pc_error *err);

/* Checks that `mediator` is a channel opened by our factory with `terms`:
 * its code is exactly the EIP-1167 clone of our implementation
 * (pc_mediator_clone_code; one eth_getCode), its address is the factory's
 * CREATE with the clone's creationNonce() (storage can be forged by a
 * contract's own init code, its address cannot), and its terms (read from
 * it) are `terms`. A provider must do this before trusting a Mediator's
 * getters: any contract can answer them with made-up funds.
 * *genuine = 1 if so, else 0. */
int pc_mediator_verify_code(pc_rpc *rpc, const pc_address *mediator,
                            const pc_mediator_terms *terms, int *genuine, pc_error *err);

/* Single getters, for callers that need one value (each one eth_call).
 * `getter` is one of the contract's uint256 getters by name without
 * parentheses: "costPerRequest", "serviceConsumerFunds", "activeTokenId", ... */
int pc_mediator_get_u256(pc_rpc *rpc, const pc_address *mediator, const char *getter,
                         pc_u256 *out, pc_error *err);
int pc_mediator_is_terminated(pc_rpc *rpc, const pc_address *mediator, int *terminated,
                              pc_error *err);
int pc_mediator_is_token_id_used(pc_rpc *rpc, const pc_address *mediator,
                                 const pc_u256 *token_id, int *used, pc_error *err);
int pc_mediator_domain_separator(pc_rpc *rpc, const pc_address *mediator, uint8_t out[32],
                                 pc_error *err);

/* ---- events ------------------------------------------------------------------ */

typedef enum pc_mediator_event_kind {
    PC_MEDIATOR_CREATED,
    PC_MEDIATOR_DEPOSITED,
    PC_MEDIATOR_REDEMPTION_STARTED,
    PC_MEDIATOR_TOKEN_REDEEMED,
    PC_MEDIATOR_PAID_OUT,
    PC_MEDIATOR_TERMINATION_STARTED,
    PC_MEDIATOR_TERMINATED
} pc_mediator_event_kind;

/* One decoded event. Field use per kind:
 *  CREATED:             party_a = consumer, party_b = provider, id_a = initial token id,
 *                       amount_a = cost per request, time_a = termination timeout,
 *                       time_b = token redemption timeout
 *  DEPOSITED:           party_a = consumer, amount_a = amount, amount_b = consumer funds after
 *  REDEMPTION_STARTED:  id_a = old (now soon-expiring) id, id_b = new active id, time_a = timeoutAt
 *  TOKEN_REDEEMED:      id_a = token id, amount_a = request count, amount_b = amount (wei)
 *  PAID_OUT:            party_a = provider, amount_a = amount
 *  TERMINATION_STARTED: time_a = startedAt, time_b = timeoutAt
 *  TERMINATED:          party_a = who closed, amount_a = consumer payout, amount_b = provider payout */
typedef struct pc_mediator_event {
    pc_mediator_event_kind kind;
    pc_address mediator;
    uint64_t block_number;
    uint32_t log_index;
    uint8_t tx_hash[32];
    pc_address party_a, party_b;
    pc_u256 id_a, id_b;
    pc_u256 amount_a, amount_b;
    uint64_t time_a, time_b;
} pc_mediator_event;

/* The event's name as in the contract ("Deposited", ...). */
const char *pc_mediator_event_name(pc_mediator_event_kind kind);

/* Decodes one log. Returns 0, or -1 if it is not a well-formed Mediator event. */
int pc_mediator_decode_event(const pc_log *log, pc_mediator_event *out);

/* Fetches and decodes the events of one Mediator in [from_block, to_block]
 * (to_block PC_RPC_BLOCK_LATEST = latest), in chain order. Logs that do not
 * decode are skipped. *events is malloc'ed (free()), NULL when *n is 0. */
int pc_mediator_get_events(pc_rpc *rpc, const pc_address *mediator, uint64_t from_block,
                           uint64_t to_block, pc_mediator_event **events, size_t *n,
                           pc_error *err);

/* Applies one event of a Mediator to *st, a state of it at a block before
 * the event's (read with pc_mediator_read_state, or followed so far), so a
 * Mediator can be followed from its logs alone: every change of the state
 * emits one event that carries the new values or the amounts moved.
 * st->block becomes the event's block. Returns 0, or -1 when the event does
 * not fit the state (funds or ether would go below zero, or a creation): the
 * caller must then read the state again. */
int pc_mediator_apply_event(pc_mediator_state *st, const pc_mediator_event *e);

/* The topic0 of every Mediator event (*n of them), for one eth_getLogs
 * filter that matches all of them (pc_log_filter.topic0_any). */
void pc_mediator_event_topics(const uint8_t (**topics)[32], size_t *n);

/* ---- errors ------------------------------------------------------------------ */

/* The Mediator's custom errors, for pc_abi_decode_revert. */
extern const pc_abi_error_def pc_mediator_errors[];
extern const size_t pc_mediator_n_errors;

#endif
