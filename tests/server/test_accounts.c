/* The served accounts (src/server/accounts.h): the committed dev keystores
 * (devnet/dev-only/) unlocked through the configuration must give exactly
 * the addresses of devnet/dev-only/accounts.json; a wrong password names the
 * file; duplicates and raw keys outside dev mode are refused. No request is
 * sent to the node: wallets only need an rpc handle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/crypto/ecdsa.h"
#include "core/runtime/error.h"
#include "core/encoding/hex.h"
#include "core/chain/rpc.h"
#include "core/chain/wallet.h"
#include "server/accounts.h"
#include "server/config.h"

#define DEV_DIR PAYCHAN_SOURCE_DIR "/devnet/dev-only"
#define PASSWORD_FILE DEV_DIR "/password.txt"
#define CHAIN_ID 31337

/* The secret and address of the Web3 Secret Storage test vectors. */
#define VECTOR_SECRET "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"
#define VECTOR_ADDRESS "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b"

static const char *const names[] = {"consumer", "persistence", "random",
                                    "spare1",   "spare2",      "spare3"};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

typedef struct fixture {
    pc_rpc *rpc;
    pc_secp *secp;
    pc_config cfg;
    char args[16][512];
    char wrong_password_path[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pc_error err;
    f->rpc = pc_rpc_create("http://127.0.0.1:1", NULL, &err);
    assert_non_null(f->rpc);
    f->secp = pc_secp_create();
    assert_non_null(f->secp);
    static const char *const env[] = {"PAYCHAN_CONFIG", "PAYCHAN_ACCOUNT", "PAYCHAN_DEV",
                                      "PAYCHAN_DEV_KEY", "PAYCHAN_RECEIPT_TIMEOUT"};
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
        unsetenv(env[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pc_config_free(&f->cfg);
    pc_secp_destroy(f->secp);
    pc_rpc_destroy(f->rpc);
    if (f->wrong_password_path[0])
        unlink(f->wrong_password_path);
    free(f);
    return 0;
}

/* Loads f->cfg from the NULL-terminated arguments (each copied into f->args). */
static void configure(fixture *f, ...)
{
    char *argv[18];
    int argc = 0;
    argv[argc++] = "paychand";
    va_list ap;
    va_start(ap, f);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL; argc++) {
        assert_true(argc <= 16);
        snprintf(f->args[argc - 1], sizeof(f->args[0]), "%s", a);
        argv[argc] = f->args[argc - 1];
    }
    va_end(ap);
    argv[argc] = NULL;
    pc_error err;
    pc_config_free(&f->cfg);
    if (pc_config_load(&f->cfg, argc, argv, &err) != 0)
        fail_msg("config: %s", err.message);
}

/* "KEYSTORE:PASSWORDFILE" of dev account `name`. */
static const char *dev_account(const char *name, const char *password_file)
{
    static char buf[8][512];
    static int next;
    char *out = buf[next++ % 8];
    snprintf(out, sizeof(buf[0]), "%s/keystores/%s.json:%s", DEV_DIR, name, password_file);
    return out;
}

static void expect_address(const pc_address *got, const char *expected_text)
{
    pc_address expected;
    assert_int_equal(pc_address_parse(expected_text, &expected), 0);
    char text[PC_ADDRESS_TEXT_LEN];
    pc_address_format_checksum(got, text);
    assert_string_equal(text, expected_text);
}

static void test_dev_keystores_match_accounts_json(void **state)
{
    fixture *f = *state;
    configure(f, "--account", dev_account(names[0], PASSWORD_FILE), "--account",
              dev_account(names[1], PASSWORD_FILE), "--account", dev_account(names[2], PASSWORD_FILE),
              "--account", dev_account(names[3], PASSWORD_FILE), "--account",
              dev_account(names[4], PASSWORD_FILE), "--account", dev_account(names[5], PASSWORD_FILE),
              "--receipt-timeout", "1234", (char *)NULL);
    pc_error err;
    pc_accounts *a = pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err);
    if (!a)
        fail_msg("load: %s", err.message);
    assert_int_equal(pc_accounts_count(a), N_NAMES);

    json_error_t jerr;
    json_t *doc = json_load_file(DEV_DIR "/accounts.json", 0, &jerr);
    assert_non_null(doc);
    json_t *accounts = json_object_get(doc, "accounts");
    for (size_t i = 0; i < N_NAMES; i++) {
        const char *text = json_string_value(json_object_get(json_object_get(accounts, names[i]),
                                                             "address"));
        assert_non_null(text);
        pc_wallet *w = pc_accounts_at(a, i); /* in configuration order */
        assert_non_null(w);
        expect_address(pc_wallet_address(w), text);
        assert_true(pc_wallet_chain_id(w) == CHAIN_ID);
        assert_ptr_equal(pc_wallet_rpc(w), f->rpc);
        pc_address addr;
        assert_int_equal(pc_address_parse(text, &addr), 0);
        assert_ptr_equal(pc_accounts_find(a, &addr), w);
    }
    json_decref(doc);
    assert_null(pc_accounts_at(a, N_NAMES));
    pc_address unknown;
    assert_int_equal(pc_address_parse(VECTOR_ADDRESS, &unknown), 0);
    assert_null(pc_accounts_find(a, &unknown));
    pc_accounts_free(a);
    pc_accounts_free(NULL);
}

static void test_wrong_password_names_the_file(void **state)
{
    fixture *f = *state;
    snprintf(f->wrong_password_path, sizeof(f->wrong_password_path), "/tmp/paychand-pw-XXXXXX");
    int fd = mkstemp(f->wrong_password_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not-the-password\n", 17), 17);
    close(fd);
    const char *bad = dev_account("persistence", f->wrong_password_path);
    configure(f, "--account", dev_account("consumer", PASSWORD_FILE), "--account", bad,
              (char *)NULL);
    pc_error err;
    assert_null(pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err));
    assert_int_equal(err.code, PC_ERR_KEYSTORE);
    assert_non_null(strstr(err.message, DEV_DIR "/keystores/persistence.json"));
    assert_null(strstr(err.message, "not-the-password"));

    /* A missing password file is named too. */
    configure(f, "--account", dev_account("random", "/nonexistent/random.pass"), (char *)NULL);
    assert_null(pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err));
    assert_int_equal(err.code, PC_ERR_KEYSTORE);
    assert_non_null(strstr(err.message, "/nonexistent/random.pass"));
}

static void test_duplicates_rejected(void **state)
{
    fixture *f = *state;
    const char *random = dev_account("random", PASSWORD_FILE);
    configure(f, "--account", random, "--account", dev_account("consumer", PASSWORD_FILE),
              "--account", random, (char *)NULL);
    pc_error err;
    assert_null(pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err));
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "0xbEaCE98fa56BD4449492Ef299252856683EAEBe5"));
    assert_non_null(strstr(err.message, "configured twice"));

    /* Two dev keys holding the same key. */
    configure(f, "--dev", "--dev-key", VECTOR_SECRET, "--dev-key", VECTOR_SECRET, (char *)NULL);
    assert_null(pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err));
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "configured twice (dev key #1 and dev key #2)"));
}

static void test_dev_key_in_dev_mode(void **state)
{
    fixture *f = *state;
    configure(f, "--dev", "--dev-key", VECTOR_SECRET, "--account",
              dev_account("consumer", PASSWORD_FILE), (char *)NULL);
    pc_error err;
    pc_accounts *a = pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err);
    if (!a)
        fail_msg("load: %s", err.message);
    assert_int_equal(pc_accounts_count(a), 2);
    pc_address addr;
    assert_int_equal(pc_address_parse(VECTOR_ADDRESS, &addr), 0);
    pc_wallet *w = pc_accounts_find(a, &addr);
    assert_non_null(w);
    /* The wallet signs with that key: the signature recovers to the address. */
    uint8_t digest[32];
    memset(digest, 0x5a, sizeof(digest));
    pc_signature sig;
    assert_int_equal(pc_wallet_sign_digest(w, digest, &sig), 0);
    pc_address signer;
    assert_int_equal(pc_ecdsa_recover(f->secp, digest, &sig, &signer), 0);
    assert_true(pc_address_equal(&signer, &addr));
    pc_accounts_free(a);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    pc_error err;
    /* No account at all. */
    configure(f, (char *)NULL);
    assert_null(pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err));
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "no account configured"));

    /* A raw key in a configuration that is not in dev mode (built by hand:
     * pc_config_load already refuses it). */
    configure(f, "--dev", "--dev-key", VECTOR_SECRET, (char *)NULL);
    f->cfg.dev_mode = 0;
    assert_null(pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err));
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "dev mode only"));
    assert_null(strstr(err.message, "7a28b5ba")); /* the key is never echoed */

    /* A key outside the curve order is refused by the wallet. */
    configure(f, "--dev", "--dev-key",
              "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", (char *)NULL);
    assert_null(pc_accounts_load(&f->cfg, f->rpc, f->secp, CHAIN_ID, &err));
    assert_int_not_equal(err.code, PC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dev_keystores_match_accounts_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_password_names_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_key_in_dev_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
