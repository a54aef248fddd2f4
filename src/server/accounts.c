/* accounts.c: unlocking the served accounts into wallets (see accounts.h).
 * At most PC_CONFIG_MAX_ACCOUNTS accounts, so lookups are linear. */
#include "server/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto/keystore.h"
#include "core/crypto/request_auth.h"

struct pc_accounts {
    size_t n;
    const pc_secp *secp;
    pc_address addrs[PC_CONFIG_MAX_ACCOUNTS];
    uint8_t keys[PC_CONFIG_MAX_ACCOUNTS][32];     /* until bound; wiped then (wallets hold them) */
    pc_wallet *wallets[PC_CONFIG_MAX_ACCOUNTS];   /* NULL until pc_accounts_bind */
    uint8_t mac_keys[PC_CONFIG_MAX_ACCOUNTS][32]; /* request MAC keys, derived at load */
};

/* Writes the secret key of account i (keystore or dev key) to seckey. */
static int unlock_account(const pc_config *cfg, size_t i, uint8_t seckey[32], pc_error *err)
{
    const pc_account_config *a = &cfg->accounts[i];
    if (a->dev_key_hex) {
        if (!cfg->dev_mode)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                                "account %zu: raw keys are accepted in dev mode only", i + 1);
        if (pc_hex_decode(a->dev_key_hex, seckey, 32) != 0)
            return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                                "account %zu: dev key is not 32 bytes of hex", i + 1);
        return 0;
    }
    if (!a->keystore_path || !a->password_path)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                            "account %zu: needs a keystore and a password file", i + 1);
    /* The message names the keystore or the password file concerned. */
    return pc_keystore_load_file(a->keystore_path, a->password_path, seckey, NULL, err);
}

/* Where account i comes from, for messages (never the key itself). */
static void describe_source(const pc_config *cfg, size_t i, char *out, size_t cap)
{
    const pc_account_config *a = &cfg->accounts[i];
    if (a->dev_key_hex)
        snprintf(out, cap, "dev key #%zu", i + 1);
    else
        snprintf(out, cap, "keystore %s", a->keystore_path);
}

/* The index of the account with address addr, or -1. */
static long find_index(const pc_accounts *a, const pc_address *addr)
{
    for (size_t i = 0; i < a->n; i++)
        if (pc_address_equal(&a->addrs[i], addr))
            return (long)i;
    return -1;
}

/* Unlocks account i and appends its key and address to a. */
static int add_key(pc_accounts *a, const pc_config *cfg, size_t i, pc_error *err)
{
    uint8_t seckey[32];
    pc_address addr;
    int rc = unlock_account(cfg, i, seckey, err);
    if (rc == 0 && pc_secret_to_address(a->secp, seckey, &addr) != 0)
        rc = pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "account %zu: not a valid secp256k1 key",
                          i + 1);
    long dup = rc == 0 ? find_index(a, &addr) : -1;
    if (dup >= 0) {
        char text[PC_ADDRESS_TEXT_LEN], first[600], second[600];
        pc_address_format_checksum(&addr, text);
        describe_source(cfg, (size_t)dup, first, sizeof(first));
        describe_source(cfg, i, second, sizeof(second));
        /* Keys are appended in config order, so key dup is account dup. */
        rc = pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                          "account %s configured twice (%.100s and %.100s)", text, first, second);
    }
    if (rc == 0) {
        memcpy(a->keys[a->n], seckey, 32);
        pc_request_mac_key(seckey, a->mac_keys[a->n]);
        a->addrs[a->n++] = addr;
    }
    pc_wipe(seckey, sizeof(seckey));
    return rc;
}

pc_accounts *pc_accounts_unlock(const pc_config *cfg, const pc_secp *secp, pc_error *err)
{
    if (!cfg || !secp) {
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "accounts: missing configuration or context");
        return NULL;
    }
    if (cfg->n_accounts == 0) {
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                     "no account configured (--account KEYSTORE:PASSWORDFILE)");
        return NULL;
    }
    if (cfg->n_accounts > PC_CONFIG_MAX_ACCOUNTS) {
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "more than %d accounts configured",
                     PC_CONFIG_MAX_ACCOUNTS);
        return NULL;
    }
    pc_accounts *a = calloc(1, sizeof(*a));
    if (!a) {
        pc_error_set(err, PC_ERR_INTERNAL, "accounts: out of memory");
        return NULL;
    }
    a->secp = secp;
    for (size_t i = 0; i < cfg->n_accounts; i++) {
        if (add_key(a, cfg, i, err) != 0) {
            pc_accounts_free(a);
            return NULL;
        }
    }
    pc_error_clear(err);
    return a;
}

int pc_accounts_bind(pc_accounts *a, const pc_config *cfg, pc_rpc *rpc, uint64_t chain_id,
                     pc_error *err)
{
    pc_wallet_options opts = {.chain_id = chain_id,
                              .receipt_timeout_ms = cfg->receipt_timeout_ms,
                              .force_legacy = 0};
    if (!rpc || a->n == 0 || a->wallets[0])
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "accounts: no client, or bound already");
    for (size_t i = 0; i < a->n; i++)
        if (!(a->wallets[i] = pc_wallet_create(rpc, a->secp, a->keys[i], &opts, err)))
            return -1; /* pc_accounts_free destroys those created */
    pc_wipe(a->keys, sizeof(a->keys)); /* the wallets hold their own copies */
    return 0;
}

pc_accounts *pc_accounts_load(const pc_config *cfg, pc_rpc *rpc, const pc_secp *secp,
                              uint64_t chain_id, pc_error *err)
{
    pc_accounts *a = pc_accounts_unlock(cfg, secp, err);
    if (a && pc_accounts_bind(a, cfg, rpc, chain_id, err) != 0) {
        pc_accounts_free(a);
        return NULL;
    }
    return a;
}

void pc_accounts_free(pc_accounts *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        pc_wallet_destroy(a->wallets[i]); /* wipes the key */
    pc_wipe(a->keys, sizeof(a->keys));
    pc_wipe(a->mac_keys, sizeof(a->mac_keys));
    free(a);
}

pc_wallet *pc_accounts_find(const pc_accounts *a, const pc_address *addr)
{
    long i = (a && addr) ? find_index(a, addr) : -1;
    return i >= 0 ? a->wallets[i] : NULL;
}

int pc_accounts_mac_key(const pc_accounts *a, const pc_address *addr, uint8_t out[32])
{
    long i = (a && addr) ? find_index(a, addr) : -1;
    if (i < 0)
        return -1;
    memcpy(out, a->mac_keys[i], 32);
    return 0;
}

size_t pc_accounts_count(const pc_accounts *a)
{
    return a ? a->n : 0;
}

pc_wallet *pc_accounts_at(const pc_accounts *a, size_t i)
{
    return (a && i < a->n) ? a->wallets[i] : NULL;
}

const pc_address *pc_accounts_address(const pc_accounts *a, size_t i)
{
    return (a && i < a->n) ? &a->addrs[i] : NULL;
}
