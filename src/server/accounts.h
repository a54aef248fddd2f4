/* accounts.h: the accounts of the services this Payment Server serves. Keys
 * are unlocked once at start-up (V3 keystores; raw keys only in dev mode),
 * held only in memory (inside pc_wallet objects once bound to the chain)
 * and never leave the process. Unlocking needs no node; the wallets need
 * the chain id, so they are made later (pc_accounts_bind) when the chain id
 * is not configured and the node has not answered yet. */
#ifndef PAYCHAN_SERVER_ACCOUNTS_H
#define PAYCHAN_SERVER_ACCOUNTS_H

#include <stddef.h>

#include "core/crypto/ecdsa.h"
#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/chain/rpc.h"
#include "core/chain/wallet.h"
#include "server/config.h"

typedef struct pc_accounts pc_accounts;

/* Unlocks every account of cfg (keystores via core/keystore.h; dev keys
 * only when cfg->dev_mode) and derives their addresses and request MAC
 * keys; no wallets yet (pc_accounts_at is NULL until pc_accounts_bind).
 * Fails like pc_accounts_load. */
pc_accounts *pc_accounts_unlock(const pc_config *cfg, const pc_secp *secp, pc_error *err);

/* Creates the wallets of unlocked accounts on rpc for chain_id, then wipes
 * the keys held outside them. Once only; 0, or -1 with *err. Not safe
 * against concurrent readers: publish `a` to other threads after it. */
int pc_accounts_bind(pc_accounts *a, const pc_config *cfg, pc_rpc *rpc, uint64_t chain_id,
                     pc_error *err);

/* pc_accounts_unlock + pc_accounts_bind: unlocks every account of cfg (keystores via core/keystore.h; dev keys
 * only when cfg->dev_mode) and creates a wallet for each on rpc/secp for
 * chain_id. Fails with PC_ERR_KEYSTORE naming the file when one cannot be
 * unlocked, PC_ERR_INVALID_ARGUMENT for a raw key outside dev mode or a
 * duplicate account, and when there is no account at all. */
pc_accounts *pc_accounts_load(const pc_config *cfg, pc_rpc *rpc, const pc_secp *secp,
                              uint64_t chain_id, pc_error *err);

/* Wipes every key and frees. NULL is a no-op. */
void pc_accounts_free(pc_accounts *a);

/* The wallet of `addr`, or NULL when this server does not serve it. */
pc_wallet *pc_accounts_find(const pc_accounts *a, const pc_address *addr);

/* The request MAC key (core/request_auth.h) of `addr` into out: 0, or -1
 * when this server does not serve it. */
int pc_accounts_mac_key(const pc_accounts *a, const pc_address *addr, uint8_t out[32]);

/* Number of accounts and the i-th wallet (0 <= i < count), for /status and duties. */
size_t pc_accounts_count(const pc_accounts *a);
pc_wallet *pc_accounts_at(const pc_accounts *a, size_t i);

/* The i-th account's address (also before pc_accounts_bind), NULL past the last. */
const pc_address *pc_accounts_address(const pc_accounts *a, size_t i);

#endif
