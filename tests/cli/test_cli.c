/* test_cli.c: the `paychan` command-line tool against a real anvil and two
 * real paychand processes (integration.h: the consumer team's and the
 * provider team's). Keystores are made by the tool itself (keys import /
 * keys new) and then used with --account KEYSTORE:PASSWORDFILE as
 * paychand takes it; every command's output (--json) and exit code are
 * checked, and the chain is read directly to see that money moved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/crypto/keystore.h"
#include "support/child.h"
#include "support/cli_run.h"
#include "support/integration.h"

#define COST "1000"
#define DEPOSIT 100000u

static pc_itest *t;
static char dir[64];                      /* the test's temporary directory */
static char account[IT_N_ACCOUNTS][4200]; /* --account value per dev account (keys import) */
static char mediator[PC_ADDRESS_TEXT_LEN];

/* Runs the tool; fails the test with its output unless it exited `want`. */
#define cli_expect(r, want, ...) cli_expect_at((r), (want), __FILE__, __LINE__, __VA_ARGS__, NULL)
static void cli_expect_at(pc_test_cli_result *r, int want, const char *file, int line, ...)
{
    const char *argv[64];
    int n = 0;
    va_list ap;
    va_start(ap, line);
    argv[n++] = PAYCHAN_CLI;
    for (const char *a; n < 63 && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pc_test_cli_run(r, argv);
    if (r->status != want)
        pc_itest_fail_at(file, line, "paychan %s...: exit %d, expected %d\nstdout: %s\nstderr: %s",
                         argv[1], r->status, want, r->out, r->err);
}

/* Writes text to dir/name; returns the path (static buffer per call site's copy). */
static void write_file(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* keys import of dev account `who` into dir/keys: the --account value. */
static void import_account(int who, const char *pw_path)
{
    char hex[67], key_path[256], keys[128];
    pc_hex_encode(t->key[who], 32, hex);
    write_file(who == IT_CONSUMER ? "consumer.key" : "provider.key", hex, key_path,
               sizeof key_path);
    snprintf(keys, sizeof keys, "%s/keys", dir);
    pc_test_cli_result r;
    cli_expect(&r, 0, "--json", "keys", "import", key_path, "--dir", keys, "--password-file",
               pw_path, "--light");
    char want[PC_ADDRESS_TEXT_LEN];
    pc_address_format_checksum(&t->addr[who], want);
    it_check(strcmp(pc_test_cli_string(&r, "address"), want) == 0);
    snprintf(account[who], sizeof account[who], "%s", pc_test_cli_string(&r, "account"));
    /* core/keystore.h (what paychand uses) unlocks it to the same key. */
    uint8_t key[32];
    pc_error err;
    it_check(pc_keystore_load_file(pc_test_cli_string(&r, "keystore"), pw_path, key, NULL,
                                   &err) == 0);
    it_check(memcmp(key, t->key[who], 32) == 0);
    pc_test_cli_result_free(&r);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/paychan-cli.XXXXXX");
    if (!mkdtemp(dir) || !(t = pc_itest_start(NULL)))
        return -1;
    char pw[256];
    write_file("password", "correct horse\n", pw, sizeof pw);
    import_account(IT_CONSUMER, pw);
    import_account(IT_PROVIDER, pw);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pc_itest_stop(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *consumer_url(void) { return pc_test_paychand_url(t->consumer_server); }
static const char *provider_url(void) { return pc_test_paychand_url(t->provider_server); }

/* keys new makes a keystore that decrypts to a valid key; keys list shows every file. */
static void test_keys_new_and_list(void **state)
{
    (void)state;
    char pw[256], keys[128];
    pc_test_cli_result r;
    write_file("password", "correct horse\n", pw, sizeof pw);
    snprintf(keys, sizeof keys, "%s/keys", dir);
    cli_expect(&r, 0, "--json", "keys", "new", "--dir", keys, "--password-file", pw, "--light");
    pc_address addr;
    uint8_t key[32];
    pc_error err;
    it_check(pc_keystore_load_file(pc_test_cli_string(&r, "keystore"), pw, key, &addr, &err) == 0);
    char text[PC_ADDRESS_TEXT_LEN];
    pc_address_format_checksum(&addr, text);
    it_check(strcmp(text, pc_test_cli_string(&r, "address")) == 0);
    pc_test_cli_result_free(&r);
    cli_expect(&r, 0, "--json", "keys", "list", keys);
    it_check(json_array_size(json_object_get(r.json, "keys")) == 3);
    it_check(strstr(r.out, text) != NULL);
    pc_test_cli_result_free(&r);
    /* the configured accounts, without a directory */
    cli_expect(&r, 0, "--account", account[IT_CONSUMER], "keys", "list");
    char other[PC_ADDRESS_TEXT_LEN];
    pc_address_format_checksum(&t->addr[IT_CONSUMER], text);
    pc_address_format_checksum(&t->addr[IT_PROVIDER], other);
    it_check(strstr(r.out, text) != NULL && strstr(r.out, other) == NULL);
    pc_test_cli_result_free(&r);
    /* a wrong password file is a local failure, exit 5 */
    write_file("wrong", "nope\n", pw, sizeof pw);
    char wrong[4300];
    snprintf(wrong, sizeof wrong, "%.*s:%s", (int)strcspn(account[IT_CONSUMER], ":"),
             account[IT_CONSUMER], pw);
    cli_expect(&r, 5, "--url", consumer_url(), "--account", wrong, "token", "create",
               "0x0000000000000000000000000000000000000001");
    pc_test_cli_result_free(&r);
}

/* status by --url, and by paychand's own --port (as its config would give it); unreachable: 3. */
static void test_status(void **state)
{
    (void)state;
    pc_test_cli_result r;
    cli_expect(&r, 0, "--url", consumer_url(), "status", "--json");
    it_check((uint64_t)json_integer_value(json_object_get(r.json, "chainId")) == t->chain_id);
    pc_test_cli_result_free(&r);
    const char *port = strrchr(consumer_url(), ':') + 1;
    cli_expect(&r, 0, "--port", port, "status");
    it_check(strstr(r.out, "chainId: ") != NULL);
    pc_test_cli_result_free(&r);
    /* paychand's config file: its port and account, as paychand reads them */
    char conf[256], text[4400];
    snprintf(text, sizeof text, "port = %s\naccount = %s\n", port, account[IT_CONSUMER]);
    write_file("paychand.conf", text, conf, sizeof conf);
    cli_expect(&r, 0, "--config", conf, "--json", "keys", "list");
    it_check(json_array_size(json_object_get(r.json, "keys")) == 1);
    pc_test_cli_result_free(&r);
    cli_expect(&r, 0, "-c", conf, "status");
    pc_test_cli_result_free(&r);
    char closed[64];
    snprintf(closed, sizeof closed, "http://127.0.0.1:%d", pc_test_free_port());
    cli_expect(&r, 3, "--url", closed, "status");
    pc_test_cli_result_free(&r);
}

/* open = useService + deposit; deposit adds; the chain holds the money. */
static void test_open_and_deposit(void **state)
{
    (void)state;
    pc_test_cli_result r;
    char deposit[32];
    snprintf(deposit, sizeof deposit, "%u", DEPOSIT);
    cli_expect(&r, 0, "--url", consumer_url(), "--account", account[IT_CONSUMER], "--json",
               "open", t->sender[IT_PROVIDER], "--cost", COST, "--termination", "3600",
               "--redemption", "3600", "--deposit", deposit);
    snprintf(mediator, sizeof mediator, "%s", pc_test_cli_string(&r, "mediatorAddress"));
    pc_test_cli_result_free(&r);
    pc_address m;
    it_check(pc_address_parse(mediator, &m) == 0);
    pc_mediator_state st;
    pc_itest_state(t, &m, &st);
    char funds[PC_U256_DEC_LEN];
    pc_u256_to_dec(&st.consumer_funds, funds);
    it_check(strcmp(funds, deposit) == 0);
    cli_expect(&r, 0, "--url", consumer_url(), "--account", account[IT_CONSUMER], "deposit",
               mediator, "5000");
    pc_test_cli_result_free(&r);
    pc_itest_state(t, &m, &st);
    pc_u256_to_dec(&st.consumer_funds, funds);
    it_check(strcmp(funds, "105000") == 0);
}

/* token create at the consumer's server, token validate at the provider's; a replay is refused (1). */
static void test_tokens(void **state)
{
    (void)state;
    pc_test_cli_result tok, r;
    cli_expect(&tok, 0, "--url", consumer_url(), "--account", account[IT_CONSUMER], "--json",
               "token", "create", mediator);
    const char *v[4] = {pc_test_cli_string(&tok, "x-pay-sender"),
                        pc_test_cli_string(&tok, "x-pay-token-id"),
                        pc_test_cli_string(&tok, "x-pay-req-count"),
                        pc_test_cli_string(&tok, "x-pay-signature")};
    it_check(strcmp(v[2], "1") == 0);
    for (int round = 0; round < 2; round++) {
        cli_expect(&r, round == 0 ? 0 : 1, "--url", provider_url(), "--account",
                   account[IT_PROVIDER], "--json", "token", "validate", mediator, "--sender", v[0],
                   "--token-id", v[1], "--count", v[2], "--signature", v[3], "--min-cost", COST,
                   "--termination", "3600", "--redemption", "3600");
        if (round == 0)
            it_check(json_is_true(json_object_get(r.json, "valid")));
        else
            it_check(json_integer_value(json_object_get(r.json, "code")) == 37);
        pc_test_cli_result_free(&r);
    }
    pc_test_cli_result_free(&tok);
}

/* redeem and terminate by the provider; the consumer may not redeem (1, code 2). */
static void test_redeem_payout_terminate(void **state)
{
    (void)state;
    pc_test_cli_result r;
    cli_expect(&r, 1, "--url", consumer_url(), "--account", account[IT_CONSUMER], "--json",
               "redeem", mediator);
    it_check(json_integer_value(json_object_get(r.json, "code")) == 2);
    pc_test_cli_result_free(&r);
    cli_expect(&r, 0, "--url", provider_url(), "--account", account[IT_PROVIDER], "--json",
               "redeem", mediator);
    it_check(json_is_true(json_object_get(r.json, "started")));
    pc_test_cli_result_free(&r);
    /* payout answers {} or the protocol's refusal (nothing earned yet): never 3, 4 or 5 */
    pc_test_cli(&r, PAYCHAN_CLI, "--url", provider_url(), "--account", account[IT_PROVIDER],
                "--json", "payout", mediator, NULL);
    it_check(r.status == 0 || (r.status == 1 && json_integer_value(json_object_get(r.json,
                                                                                   "code")) < 600));
    pc_test_cli_result_free(&r);
    cli_expect(&r, 0, "--url", provider_url(), "--account", account[IT_PROVIDER], "--json",
               "terminate", mediator);
    it_check(json_is_true(json_object_get(r.json, "terminated")));
    pc_test_cli_result_free(&r);
    pc_address m;
    pc_mediator_state st;
    it_check(pc_address_parse(mediator, &m) == 0);
    pc_itest_state(t, &m, &st);
    it_check(st.terminated);
}

/* Usage errors exit 2; every command has its --help (exit 0). */
static void test_usage(void **state)
{
    (void)state;
    static const char *const commands[][2] = {
        {"status", NULL},   {"open", NULL},     {"deposit", NULL},  {"redeem", NULL},
        {"payout", NULL},   {"terminate", NULL}, {"token", "create"}, {"token", "validate"},
        {"channels", NULL}, {"channel", "show"}, {"keys", "new"},   {"keys", "import"},
        {"keys", "list"},   {"call", NULL}};
    pc_test_cli_result r;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (commands[i][1])
            cli_expect(&r, 0, commands[i][0], commands[i][1], "--help");
        else
            cli_expect(&r, 0, commands[i][0], "--help");
        it_check(strncmp(r.out, "Usage: paychan ", 15) == 0);
        pc_test_cli_result_free(&r);
    }
    cli_expect(&r, 0, "--help");
    it_check(strstr(r.out, "Exit status:") != NULL);
    pc_test_cli_result_free(&r);
    cli_expect(&r, 2, "nonsense");
    pc_test_cli_result_free(&r);
    cli_expect(&r, 2, "redeem", "not-an-address");
    pc_test_cli_result_free(&r);
    cli_expect(&r, 2, "deposit", mediator);
    pc_test_cli_result_free(&r);
    cli_expect(&r, 2, "--no-such-option", "status");
    pc_test_cli_result_free(&r);
    cli_expect(&r, 2, "status", "--bogus");
    pc_test_cli_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_new_and_list),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_open_and_deposit),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_redeem_payout_terminate),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
