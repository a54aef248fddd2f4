/* anvil.h (test support): starts a private anvil dev chain for one test
 * program on a free local port, and offers the dev accounts' keys and a few
 * chain-control helpers (time travel, mining, balances).
 *
 * The anvil binary is taken from the environment variable PAYCHAN_ANVIL,
 * else from the compile definition PAYCHAN_ANVIL_DEFAULT. anvil runs with
 * the well-known test mnemonic ("test test ... junk"), so account i has the
 * key pc_test_dev_key(i) and 10000 ether. A started anvil dies with the test
 * process even if the test crashes (PR_SET_PDEATHSIG) and is stopped at exit. */
#ifndef PAYCHAN_TESTS_SUPPORT_ANVIL_H
#define PAYCHAN_TESTS_SUPPORT_ANVIL_H

#include <stdint.h>

#include "core/encoding/hex.h"
#include "core/encoding/u256.h"

typedef struct pc_test_anvil pc_test_anvil;

typedef struct pc_test_anvil_options {
    uint64_t chain_id;   /* 0 = 31337 */
    unsigned block_time; /* seconds between blocks; 0 = mine each transaction at once */
    uint64_t genesis_timestamp; /* unix time of the genesis block (--timestamp); 0 = now. Two
                                   chains of one chain id differ in their genesis hash */
    int port;            /* 0 = a free one; else this one (a node appearing where a
                            Payment Server already looks for it) */
    int without_factory; /* 1 = do not deploy MediatorFactory at start (devnet/start.sh does) */
} pc_test_anvil_options;

/* The test mnemonic anvil uses. */
#define PC_TEST_MNEMONIC "test test test test test test test test test test test junk"

/* Starts anvil (opts NULL = instant mining, chain id 31337) and waits until
 * it answers eth_chainId (at most 10 s); then deploys MediatorFactory from dev
 * account 0, mined at once, unless opts->without_factory. Returns NULL (after printing why to
 * stderr) on failure. */
pc_test_anvil *pc_test_anvil_start(const pc_test_anvil_options *opts);

/* "http://127.0.0.1:PORT" (owned by a). */
const char *pc_test_anvil_url(const pc_test_anvil *a);

/* Stops anvil (SIGTERM, then SIGKILL after a grace period), reaps it and frees a.
 * NULL is a no-op. */
void pc_test_anvil_stop(pc_test_anvil *a);

/* The private key of dev account `index` (0..9) of the test mnemonic. */
void pc_test_dev_key(int index, uint8_t key[32]);

/* The address of dev account `index` (0..9). */
void pc_test_dev_address(int index, pc_address *addr);

/* Calls `method` with params given as JSON text (e.g. "[60]"; NULL = [])
 * and discards the result. Returns 0, or -1 after printing the error. */
int pc_test_anvil_rpc(pc_test_anvil *a, const char *method, const char *params_json);

/* evm_increaseTime(seconds) followed by evm_mine, so the next block's
 * timestamp is at least `seconds` later. Returns 0 or -1. */
int pc_test_anvil_increase_time(pc_test_anvil *a, uint64_t seconds);

/* evm_mine: mines one block. Returns 0 or -1. */
int pc_test_anvil_mine(pc_test_anvil *a);

/* anvil_setBalance(addr, wei). Returns 0 or -1. */
int pc_test_anvil_set_balance(pc_test_anvil *a, const pc_address *addr, const pc_u256 *wei);

/* anvil_setCode(addr, code). Returns 0 or -1. */
int pc_test_anvil_set_code(pc_test_anvil *a, const pc_address *addr, const uint8_t *code,
                           size_t len);

#endif
