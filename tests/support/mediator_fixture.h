/* mediator_fixture.h (test support): the shared setup of the Mediator contract
 * tests (tests/contract/test_mediator_*.c).
 *
 * One test program = one anvil (started in the cmocka group setup) with a
 * wallet for each of the first dev accounts, in fixed roles: account 1 is the
 * consumer, 2 the provider, 3 a stranger, 4 a second consumer. Each test opens
 * its own fresh Mediator ("channel") with pc_test_channel_open, so the tests
 * of a program do not depend on each other, and moves time only with anvil's
 * evm_increaseTime (never sleeps).
 *
 * The assertion helpers check what the contract tests care about: balances to
 * the wei (gas accounted for with pc_tx_result.fee) and rejected calls that
 * carry the contract's code and spent no gas (balance and nonce unchanged).
 * All helpers fail the running cmocka test on any unexpected outcome. */
#ifndef PAYCHAN_TESTS_MEDIATOR_FIXTURE_H
#define PAYCHAN_TESTS_MEDIATOR_FIXTURE_H

#include <stdint.h>

#include "core/encoding/abi.h"
#include "core/encoding/bytes.h"
#include "core/crypto/ecdsa.h"
#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/chain/rpc.h"
#include "core/encoding/u256.h"
#include "core/chain/wallet.h"
#include "mediator/mediator.h"
#include "support/anvil.h"

/* Dev account indices by role. */
enum {
    PC_TEST_DEPLOYER = 0, /* unused by the Mediator tests; free for other setup */
    PC_TEST_CONSUMER = 1,
    PC_TEST_PROVIDER = 2,
    PC_TEST_STRANGER = 3,
    PC_TEST_CONSUMER2 = 4,
    PC_TEST_N_ACCOUNTS = 5
};

/* Default terms of a test channel: small numbers, so amounts stay readable. */
#define PC_TEST_COST_PER_REQUEST 1000u     /* wei */
#define PC_TEST_TERMINATION_TIMEOUT 100u   /* seconds */
#define PC_TEST_REDEMPTION_TIMEOUT 50u     /* seconds */
#define PC_TEST_DEPOSIT 1000000u           /* wei, deposited by pc_test_channel_open */

typedef struct pc_test_chain {
    pc_test_anvil *anvil;
    pc_rpc *rpc;
    pc_secp *secp;
    uint64_t chain_id;
    pc_wallet *wallet[PC_TEST_N_ACCOUNTS];
    pc_address address[PC_TEST_N_ACCOUNTS];
    uint64_t token_id_counter; /* makes every token id of the program unique */
} pc_test_chain;

/* cmocka group setup: starts anvil, the rpc client, the secp context and the
 * wallets; *state receives the pc_test_chain. Returns 0, or -1 after printing why. */
int pc_test_chain_setup(void **state);

/* cmocka group teardown for pc_test_chain_setup. Always returns 0. */
int pc_test_chain_teardown(void **state);

/* A deployed Mediator and what the test knows about it. */
typedef struct pc_test_channel {
    pc_test_chain *chain;
    int consumer;             /* role index of the consumer (PC_TEST_CONSUMER unless opened _as) */
    pc_address mediator;
    pc_mediator_terms terms;  /* terms.consumer is filled with the consumer's address */
    pc_u256 initial_token_id;
    uint64_t deploy_block;    /* first block to ask for its events */
} pc_test_channel;

/* The default terms (see the PC_TEST_* constants) between the consumer and the provider. */
void pc_test_default_terms(const pc_test_chain *c, pc_mediator_terms *terms);

/* A token id not used before in this program: a full 256-bit value (high limbs
 * set, so encodings of all four limbs are exercised) with a counter below. */
pc_u256 pc_test_next_token_id(pc_test_chain *c);

/* Deploys a Mediator from `consumer` (a role index; its terms->consumer is
 * ignored) with terms (NULL = pc_test_default_terms) and a fresh initial token
 * id, then deposits `deposit` wei unless it is 0. Asserts that both succeed
 * and that the consumer paid exactly the fees (and the deposit), and the
 * Mediator holds exactly the deposit. */
void pc_test_channel_open_as(pc_test_chain *c, int consumer, const pc_mediator_terms *terms,
                             uint64_t deposit, pc_test_channel *out);

/* pc_test_channel_open_as with the default consumer. */
void pc_test_channel_open(pc_test_chain *c, const pc_mediator_terms *terms, uint64_t deposit,
                          pc_test_channel *out);

/* The wallet / address of role `who` on the chain of ch. */
pc_wallet *pc_test_wallet(const pc_test_channel *ch, int who);

/* Provider starts a redemption to a fresh id; asserts success. Returns the
 * new id; *old_id (if not NULL) receives the id that became soon-expiring. */
pc_u256 pc_test_start_redemption(pc_test_channel *ch, pc_u256 *old_id);

/* Moves chain time past the grace period of a redemption started now. */
void pc_test_pass_grace(pc_test_channel *ch);

/* pc_test_start_redemption + pc_test_pass_grace: returns the id that may now
 * be redeemed. */
pc_u256 pc_test_ready_to_redeem(pc_test_channel *ch);

/* Signs PaymentToken(consumer of ch, token_id, count) with the key of role
 * `signer` for chain `chain_id` and Mediator `mediator` (NULL = ch's own).
 * Lets tests make the wrong tokens on purpose. */
void pc_test_sign_token_as(const pc_test_channel *ch, int signer, uint64_t chain_id,
                           const pc_address *mediator, const pc_u256 *token_id,
                           const pc_u256 *count, pc_signature *sig);

/* The consumer's correct token for (token_id, count). */
void pc_test_sign_token(const pc_test_channel *ch, const pc_u256 *token_id, uint64_t count,
                        pc_signature *sig);

/* Timestamp of the latest block (with instant mining: of the last transaction). */
uint64_t pc_test_now(const pc_test_chain *c);

/* Reads ch's state; asserts success. */
void pc_test_read_state(const pc_test_channel *ch, pc_mediator_state *state);

/* ---- accounts ----------------------------------------------------------------- */

/* Balance and nonce of one address at "latest". */
typedef struct pc_test_account {
    pc_address address;
    pc_u256 balance;
    uint64_t nonce;
} pc_test_account;

/* Reads the account; asserts success. */
void pc_test_account_read(const pc_test_chain *c, const pc_address *addr, pc_test_account *out);

/* ---- assertions (each fails the test at the caller's file and line) --------------- */

#define assert_u256_equal(a, b) pc_test_assert_u256_equal_at((a), (b), __FILE__, __LINE__)
void pc_test_assert_u256_equal_at(const pc_u256 *a, const pc_u256 *b, const char *file, int line);

#define assert_u256_u64(a, v) pc_test_assert_u256_u64_at((a), (v), __FILE__, __LINE__)
void pc_test_assert_u256_u64_at(const pc_u256 *a, uint64_t v, const char *file, int line);

/* Asserts that a call returned 0, printing err's message otherwise. */
#define assert_ok(rc, err) pc_test_assert_ok_at((rc), (err), __FILE__, __LINE__)
void pc_test_assert_ok_at(int rc, const pc_error *err, const char *file, int line);

/* Asserts that the balance of before->address is now
 * before->balance + plus - minus - fee (fee NULL = 0). */
#define assert_balance_change(c, before, plus, minus, fee) \
    pc_test_assert_balance_change_at((c), (before), (plus), (minus), (fee), __FILE__, __LINE__)
void pc_test_assert_balance_change_at(const pc_test_chain *c, const pc_test_account *before,
                                      uint64_t plus, uint64_t minus, const pc_u256 *fee,
                                      const char *file, int line);

/* Asserts that a binding call was rejected with `code` (rc -1, err->code)
 * and that the caller `before` spent nothing: balance and nonce unchanged.
 * revert (may be NULL to skip this check) must be the decoded custom error
 * with the same code. */
#define assert_rejected(c, before, rc, err, revert, code) \
    pc_test_assert_rejected_at((c), (before), (rc), (err), (revert), (code), __FILE__, __LINE__)
void pc_test_assert_rejected_at(const pc_test_chain *c, const pc_test_account *before, int rc,
                                const pc_error *err, const pc_abi_revert *revert, int code,
                                const char *file, int line);

/* ---- following from events ------------------------------------------------------- */

/* A state of a Mediator followed from its events alone (what the Payment
 * Server's chain cache does): read once, then every event applied. */
typedef struct pc_test_followed {
    pc_mediator_state st;
    uint64_t next_block; /* first block whose events are not applied yet */
} pc_test_followed;

/* Reads ch's state to follow it from now on. */
void pc_test_follow_start(const pc_test_channel *ch, pc_test_followed *f);

/* Applies the events since the last check and compares with a fresh read:
 * the events carry everything the state holds (the ether held included). */
void pc_test_check_followed(const pc_test_channel *ch, pc_test_followed *f);

/* ---- bypassing the binding ----------------------------------------------------- */

/* Appends the calldata of MediatorFactory.createMediator with these terms to
 * *out, so tests can send terms the binding would refuse locally (to the
 * factory, pc_mediator_factory_addresses) and see what the contract itself
 * does. */
void pc_test_create_calldata(const pc_address *provider, const pc_u256 *initial_token_id,
                             const pc_u256 *cost, uint64_t termination_timeout,
                             uint64_t redemption_timeout, pc_bytes *out);

/* Sends raw data from role `who` with pc_wallet_send (to NULL = creation) and
 * decodes a simulated revert with the Mediator's error definitions into
 * *revert. Returns pc_wallet_send's result (0 mined, 1 reverted in
 * simulation, -1 other failure); the receipt data is not kept. */
int pc_test_raw_send(pc_test_chain *c, int who, const pc_address *to, const pc_bytes *data,
                     pc_abi_revert *revert, pc_error *err);

#endif
