/* paychand configuration (src/server/config.h): defaults, precedence of
 * file < environment < command line, strict parsing with messages naming
 * the source, repeatable accounts, dev keys only with --dev, --help. Every
 * test starts from an environment without paychand's variables, and the
 * loader runs many times in this one process (getopt must be reset). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/runtime/error.h"
#include "server/config.h"

#define MAX_ARGS 80

static const char *const env_vars[] = {
    "ETH_NODE_URL", "REDIS_HOST", "REDIS_PORT", "PORT", "PAYCHAN_CONFIG", "PAYCHAN_NODE_URL",
    "PAYCHAN_CHAIN_ID", "PAYCHAN_LISTEN", "PAYCHAN_PORT", "PAYCHAN_STORE", "PAYCHAN_DATA_DIR",
    "PAYCHAN_REDIS_HOST", "PAYCHAN_REDIS_PORT", "PAYCHAN_REDIS_PREFIX", "PAYCHAN_ACCOUNT",
    "PAYCHAN_DEV", "PAYCHAN_DEV_KEY", "PAYCHAN_ALLOW_UNSTAMPED_AUTH", "PAYCHAN_AUTH_WINDOW",
    "PAYCHAN_DUTY_INTERVAL", "PAYCHAN_REDEEM_AFTER", "PAYCHAN_RECEIPT_TIMEOUT",
    "PAYCHAN_LOG_LEVEL", "PAYCHAN_VISUALIZER", "PAYCHAN_HTTP_MODE",
    "PAYCHAN_HTTP_WORKERS", "PAYCHAN_HTTP_LOOPS"};

#define KEY_A "0x4C0883A69102937D6231471B5DBB6204FE5129617082792AE468D01A3F362318"
#define KEY_A_LOWER "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
#define KEY_B "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"

/* Temporary config files of the running test, removed by teardown. */
static char temp_paths[4][64];
static int n_temp;

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
    n_temp = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < n_temp; i++)
        unlink(temp_paths[i]);
    return setup(state);
}

/* Writes `content` to a new temporary file and returns its path. */
static const char *write_config(const char *content)
{
    assert_true(n_temp < 4);
    char *path = temp_paths[n_temp++];
    snprintf(path, 64, "/tmp/paychand-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

/* pc_config_load with argv = {"paychand", args..., NULL}; the NULL-ended
 * argument list must stay unchanged (GNU getopt permutes what it gets). */
static int load(pc_config *cfg, pc_error *err, ...)
{
    char *argv[MAX_ARGS + 2], *copy[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "paychand";
    va_list ap;
    va_start(ap, err);
    for (char *a; (a = va_arg(ap, char *)) != NULL;) {
        assert_true(argc <= MAX_ARGS);
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;
    memcpy(copy, argv, sizeof(argv));
    int rc = pc_config_load(cfg, argc, argv, err);
    assert_memory_equal(copy, argv, (size_t)(argc + 1) * sizeof(char *));
    return rc;
}

/* Expects pc_config_load to fail with PC_ERR_INVALID_ARGUMENT and exactly `message`. */
#define EXPECT_ERROR(msg_, ...)                                                                \
    do {                                                                                     \
        pc_config c_;                                                                        \
        pc_error e_;                                                                         \
        assert_int_equal(load(&c_, &e_, __VA_ARGS__, (char *)NULL), -1);                     \
        assert_int_equal(e_.code, PC_ERR_INVALID_ARGUMENT);                                  \
        assert_string_equal(e_.message, msg_);                                               \
        assert_null(c_.node_url); /* nothing left to free after a failure */                 \
        assert_int_equal(c_.n_accounts, 0);                                                  \
    } while (0)

/* ---- defaults and precedence ------------------------------------------------------ */

static void test_defaults(void **state)
{
    (void)state;
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, (char *)NULL), 0);
    assert_int_equal(err.code, PC_OK);
    assert_null(cfg.config_path);
    assert_string_equal(cfg.node_url, "http://127.0.0.1:8545");
    assert_true(cfg.chain_id == 0);
    assert_string_equal(cfg.listen_address, "127.0.0.1");
    assert_int_equal(cfg.port, 3000);
    assert_int_equal(cfg.store, PC_STORE_SQLITE);
    assert_string_equal(cfg.data_dir, "./paychan-data");
    assert_string_equal(cfg.redis_host, "127.0.0.1");
    assert_int_equal(cfg.redis_port, 6379);
    assert_string_equal(cfg.redis_prefix, "paychan:");
    assert_int_equal(cfg.n_accounts, 0);
    assert_int_equal(cfg.dev_mode, 0);
    assert_int_equal(cfg.allow_unstamped_auth, 0);
    assert_int_equal(cfg.auth_window_s, 60);
    assert_int_equal(cfg.duty_interval_ms, 2000);
    assert_true(cfg.redeem_after_s == 3600);
    assert_int_equal(cfg.receipt_timeout_ms, 60000);
    assert_int_equal(cfg.log_level, PC_LOG_INFO);
    assert_null(cfg.visualizer_dir);
    assert_int_equal(cfg.http_loops, 0);
    assert_int_equal(cfg.http_mode, PC_HTTP_POOL);
    pc_config_free(&cfg);
    pc_config_free(&cfg); /* zeroed: a second free is harmless */
}

static void test_precedence(void **state)
{
    (void)state;
    const char *path = write_config("# paychand test\n"
                                    "node-url = http://file:1\n"
                                    "port = 4000\n"
                                    "redis-host = file-redis\n"
                                    "redis-port = 1111\n"
                                    "store = memory\n"
                                    "chain-id = 1337\n"
                                    "log-level = warn\n"
                                    "auth-window = 10\n");
    setenv("ETH_NODE_URL", "http://env:2", 1);
    setenv("PORT", "5000", 1);
    setenv("REDIS_HOST", "env-redis", 1);
    setenv("PAYCHAN_LOG_LEVEL", "error", 1);
    setenv("PAYCHAN_AUTH_WINDOW", "20", 1);
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, "--config", path, "--port", "6000", "--log-level", "debug",
                          (char *)NULL),
                     0);
    assert_string_equal(cfg.config_path, path);
    assert_int_equal(cfg.port, 6000);                    /* default < file < env < CLI */
    assert_int_equal(cfg.log_level, PC_LOG_DEBUG);       /* file < env < CLI */
    assert_string_equal(cfg.node_url, "http://env:2");   /* file < env */
    assert_string_equal(cfg.redis_host, "env-redis");    /* file < env */
    assert_int_equal(cfg.auth_window_s, 20);             /* file < env */
    assert_int_equal(cfg.redis_port, 1111);              /* default < file */
    assert_int_equal(cfg.store, PC_STORE_MEMORY);        /* default < file */
    assert_true(cfg.chain_id == 1337);                   /* default < file */
    assert_int_equal(cfg.duty_interval_ms, 2000);        /* default */
    pc_config_free(&cfg);
}

static void test_paychan_env_beats_seed_env(void **state)
{
    (void)state;
    setenv("PORT", "5000", 1);
    setenv("PAYCHAN_PORT", "5001", 1);
    setenv("REDIS_PORT", "7000", 1);
    setenv("PAYCHAN_REDIS_HOST", "", 1); /* empty counts as unset */
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, (char *)NULL), 0);
    assert_int_equal(cfg.port, 5001);
    assert_int_equal(cfg.redis_port, 7000);
    assert_string_equal(cfg.redis_host, "127.0.0.1");
    pc_config_free(&cfg);
}

static void test_config_file_from_env_and_cli(void **state)
{
    (void)state;
    const char *env_file = write_config("port = 4100\n");
    const char *cli_file = write_config("port = 4200\n");
    setenv("PAYCHAN_CONFIG", env_file, 1);
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, (char *)NULL), 0);
    assert_int_equal(cfg.port, 4100);
    assert_string_equal(cfg.config_path, env_file);
    pc_config_free(&cfg);
    assert_int_equal(load(&cfg, &err, "-c", cli_file, (char *)NULL), 0);
    assert_int_equal(cfg.port, 4200);
    assert_string_equal(cfg.config_path, cli_file);
    pc_config_free(&cfg);
}

static void test_every_option_on_the_command_line(void **state)
{
    (void)state;
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, "--node-url", "https://node.example:8545", "--chain-id",
                          "18446744073709551615", "--listen", "0.0.0.0", "--port", "65535",
                          "--store=redis", "--data-dir", "/var/lib/p", "--redis-host", "r",
                          "--redis-port", "1", "--redis-prefix", "team-a:", "--account", "k.json:p.txt",
                          "--dev", "--dev-key", KEY_A, "--allow-unstamped-auth", "--auth-window",
                          "86400", "--duty-interval", "10", "--redeem-after", "1",
                          "--receipt-timeout", "3600000", "--log-level", "error", "--visualizer",
                          "/srv/vis", "--http-loops", "64", (char *)NULL),
                     0);
    assert_string_equal(cfg.node_url, "https://node.example:8545");
    assert_true(cfg.chain_id == UINT64_MAX);
    assert_string_equal(cfg.listen_address, "0.0.0.0");
    assert_int_equal(cfg.port, 65535);
    assert_int_equal(cfg.store, PC_STORE_REDIS);
    assert_string_equal(cfg.data_dir, "/var/lib/p");
    assert_string_equal(cfg.redis_host, "r");
    assert_int_equal(cfg.redis_port, 1);
    assert_string_equal(cfg.redis_prefix, "team-a:");
    assert_int_equal(cfg.n_accounts, 2);
    assert_string_equal(cfg.accounts[0].keystore_path, "k.json");
    assert_string_equal(cfg.accounts[0].password_path, "p.txt");
    assert_null(cfg.accounts[0].dev_key_hex);
    assert_null(cfg.accounts[1].keystore_path);
    assert_string_equal(cfg.accounts[1].dev_key_hex, KEY_A_LOWER); /* normalised */
    assert_int_equal(cfg.dev_mode, 1);
    assert_int_equal(cfg.allow_unstamped_auth, 1);
    assert_int_equal(cfg.auth_window_s, 86400);
    assert_int_equal(cfg.duty_interval_ms, 10);
    assert_true(cfg.redeem_after_s == 1);
    assert_int_equal(cfg.receipt_timeout_ms, 3600000);
    assert_int_equal(cfg.log_level, PC_LOG_ERROR);
    assert_string_equal(cfg.visualizer_dir, "/srv/vis");
    assert_int_equal(cfg.http_loops, 64);
    pc_config_free(&cfg);
}

static void test_file_syntax(void **state)
{
    (void)state;
    const char *path = write_config("\n   # comment line\n"
                                    "  port=4000   # trailing comment\n"
                                    "data-dir = /tmp/a#b\n"
                                    "allow-unstamped-auth = yes\n"
                                    "dev = on\n"
                                    "\t listen \t=\t::1\t\r\n");
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, "--config", path, (char *)NULL), 0);
    assert_int_equal(cfg.port, 4000);
    assert_string_equal(cfg.data_dir, "/tmp/a#b"); /* '#' inside a value is kept */
    assert_int_equal(cfg.allow_unstamped_auth, 1);
    assert_int_equal(cfg.dev_mode, 1);
    assert_string_equal(cfg.listen_address, "::1");
    pc_config_free(&cfg);
    setenv("PAYCHAN_DEV", "false", 1); /* the environment can switch a file's flag off */
    assert_int_equal(load(&cfg, &err, "--config", path, (char *)NULL), 0);
    assert_int_equal(cfg.dev_mode, 0);
    pc_config_free(&cfg);
}

/* ---- accounts and dev keys ---------------------------------------------------------- */

static void test_repeated_accounts(void **state)
{
    (void)state;
    const char *path = write_config("account = /k/a.json:/k/a.pass\n"
                                    "account = /k/b.json:/k/b.pass\n");
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, "--config", path, (char *)NULL), 0);
    assert_int_equal(cfg.n_accounts, 2);
    assert_string_equal(cfg.accounts[0].keystore_path, "/k/a.json");
    assert_string_equal(cfg.accounts[0].password_path, "/k/a.pass");
    assert_string_equal(cfg.accounts[1].keystore_path, "/k/b.json");
    assert_string_equal(cfg.accounts[1].password_path, "/k/b.pass");
    pc_config_free(&cfg);

    /* The environment's list replaces the file's... */
    setenv("PAYCHAN_ACCOUNT", "/e/c.json:/e/c.pass, /e/d.json:/e/d.pass", 1);
    assert_int_equal(load(&cfg, &err, "--config", path, (char *)NULL), 0);
    assert_int_equal(cfg.n_accounts, 2);
    assert_string_equal(cfg.accounts[0].keystore_path, "/e/c.json");
    assert_string_equal(cfg.accounts[1].keystore_path, "/e/d.json");
    assert_string_equal(cfg.accounts[1].password_path, "/e/d.pass");
    pc_config_free(&cfg);

    /* ...and the command line's replaces both; repeated options all count. */
    assert_int_equal(load(&cfg, &err, "--config", path, "--account", "x.json:x.pass", "--account",
                          "dir:with:colons/y.json:y.pass", (char *)NULL),
                     0);
    assert_int_equal(cfg.n_accounts, 2);
    assert_string_equal(cfg.accounts[0].keystore_path, "x.json");
    assert_string_equal(cfg.accounts[1].keystore_path, "dir:with:colons/y.json");
    assert_string_equal(cfg.accounts[1].password_path, "y.pass");
    pc_config_free(&cfg);
}

static void test_dev_keys_with_dev(void **state)
{
    (void)state;
    const char *path = write_config("dev = true\n"
                                    "account = /k/a.json:/k/a.pass\n"
                                    "dev-key = " KEY_A "\n");
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, "--config", path, (char *)NULL), 0);
    assert_int_equal(cfg.n_accounts, 2);
    assert_string_equal(cfg.accounts[1].dev_key_hex, KEY_A_LOWER);
    pc_config_free(&cfg);
    /* Dev keys on the command line replace the file's dev keys, not its keystores. */
    assert_int_equal(load(&cfg, &err, "--config", path, "--dev-key", KEY_B, (char *)NULL), 0);
    assert_int_equal(cfg.n_accounts, 2);
    assert_string_equal(cfg.accounts[0].keystore_path, "/k/a.json");
    assert_string_equal(cfg.accounts[1].dev_key_hex, "0x" KEY_B);
    pc_config_free(&cfg);
}

static void test_dev_key_without_dev_rejected(void **state)
{
    (void)state;
    EXPECT_ERROR("--dev-key: dev-key requires --dev (raw keys are for the development chain only)",
                 "--dev-key", KEY_A);
    const char *path = write_config("port = 4000\ndev-key = " KEY_A "\n");
    char expected[256];
    snprintf(expected, sizeof(expected),
             "%s:2: dev-key: dev-key requires --dev (raw keys are for the development chain only)",
             path);
    EXPECT_ERROR(expected, "--config", path);
    setenv("PAYCHAN_DEV_KEY", KEY_B, 1);
    EXPECT_ERROR("PAYCHAN_DEV_KEY: dev-key requires --dev (raw keys are for the development chain "
                 "only)",
                 "--port", "80");
    /* --dev given after the key, or by another source, is enough. */
    pc_config cfg;
    pc_error err;
    assert_int_equal(load(&cfg, &err, "--dev-key", KEY_A, "--dev", (char *)NULL), 0);
    assert_int_equal(cfg.n_accounts, 1);
    pc_config_free(&cfg);
}

static void test_account_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("--account: expected KEYSTORE:PASSWORDFILE, got 'foo.json'", "--account",
                 "foo.json");
    EXPECT_ERROR("--account: expected KEYSTORE:PASSWORDFILE, got 'foo.json:'", "--account",
                 "foo.json:");
    EXPECT_ERROR("--account: expected KEYSTORE:PASSWORDFILE, got ':p'", "--account", ":p");
    /* A malformed key is refused without being repeated in the message. */
    EXPECT_ERROR("--dev-key: expected a private key of 0x + 64 hex digits", "--dev", "--dev-key",
                 "0x1234");
    EXPECT_ERROR("--dev-key: expected a private key of 0x + 64 hex digits", "--dev", "--dev-key",
                 "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f36231z");
    /* At most PC_CONFIG_MAX_ACCOUNTS. */
    char *args[2 * (PC_CONFIG_MAX_ACCOUNTS + 1) + 2];
    int n = 0;
    args[n++] = "paychand";
    for (int i = 0; i <= PC_CONFIG_MAX_ACCOUNTS; i++) {
        args[n++] = "--account";
        args[n++] = "k.json:p.txt";
    }
    args[n] = NULL;
    pc_config cfg;
    pc_error err;
    assert_int_equal(pc_config_load(&cfg, n - 2, args, &err), 0);
    assert_int_equal(cfg.n_accounts, PC_CONFIG_MAX_ACCOUNTS);
    pc_config_free(&cfg);
    assert_int_equal(pc_config_load(&cfg, n, args, &err), -1);
    assert_string_equal(err.message, "--account: more than 32 accounts");
}

/* ---- every error path --------------------------------------------------------------- */

static void test_file_errors(void **state)
{
    (void)state;
    char expected[256];
    const char *path = write_config("port = 4000\nprot = 4001\n");
    snprintf(expected, sizeof(expected), "%s:2: unknown key 'prot'", path);
    EXPECT_ERROR(expected, "--config", path);

    path = write_config("port 4000\n");
    snprintf(expected, sizeof(expected), "%s:1: expected 'key = value'", path);
    EXPECT_ERROR(expected, "--config", path);

    path = write_config("# c\n\nport = 70000\n");
    snprintf(expected, sizeof(expected), "%s:3: port: not a port number: 70000", path);
    EXPECT_ERROR(expected, "--config", path);

    path = write_config("config = /etc/other.conf\n");
    snprintf(expected, sizeof(expected), "%s:1: 'config' cannot be set inside a config file",
             path);
    EXPECT_ERROR(expected, "--config", path);

    EXPECT_ERROR("/nonexistent/paychand.conf: cannot read config file: No such file or directory",
                 "--config", "/nonexistent/paychand.conf");
    setenv("PAYCHAN_CONFIG", "/nonexistent/env.conf", 1);
    EXPECT_ERROR("/nonexistent/env.conf: cannot read config file: No such file or directory",
                 "--port", "1");
    EXPECT_ERROR("--config: empty value", "--config", "");
}

static void test_env_errors(void **state)
{
    (void)state;
    setenv("PORT", "70000", 1);
    EXPECT_ERROR("PORT: not a port number: 70000", "--port", "80");
    unsetenv("PORT");
    setenv("REDIS_PORT", "0", 1);
    EXPECT_ERROR("REDIS_PORT: not a port number: 0", "--store", "redis");
    unsetenv("REDIS_PORT");
    setenv("ETH_NODE_URL", "ws://localhost:8546", 1);
    EXPECT_ERROR("ETH_NODE_URL: expected an http:// or https:// URL, got 'ws://localhost:8546'",
                 "--port", "80");
    unsetenv("ETH_NODE_URL");
    setenv("PAYCHAN_CHAIN_ID", "12x", 1);
    EXPECT_ERROR("PAYCHAN_CHAIN_ID: expected an integer in [0, 18446744073709551615], got '12x'",
                 "--port", "80");
    unsetenv("PAYCHAN_CHAIN_ID");
    setenv("PAYCHAN_DEV", "maybe", 1);
    EXPECT_ERROR("PAYCHAN_DEV: expected true or false, got 'maybe'", "--port", "80");
    unsetenv("PAYCHAN_DEV");
    setenv("PAYCHAN_STORE", "postgres", 1);
    EXPECT_ERROR("PAYCHAN_STORE: expected sqlite, redis or memory", "--port", "80");
}

static void test_command_line_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("--store: expected sqlite, redis or memory", "--store", "mysql");
    EXPECT_ERROR("--log-level: expected error, warn, info or debug", "--log-level", "verbose");
    EXPECT_ERROR("--node-url: expected an http:// or https:// URL, got 'localhost:8545'",
                 "--node-url", "localhost:8545");
    EXPECT_ERROR("--listen: empty value", "--listen", "");
    EXPECT_ERROR("unknown option '--prot'", "--prot", "80");
    EXPECT_ERROR("unknown option '-x'", "-x");
    EXPECT_ERROR("--port: missing argument", "--port");
    EXPECT_ERROR("unexpected argument 'extra'", "--port", "80", "extra");
    /* Flags take no value on the command line. */
    EXPECT_ERROR("--dev: takes no value", "--dev=1");
    EXPECT_ERROR("--help: takes no value", "--help=yes");
}

static void test_strict_numbers(void **state)
{
    (void)state;
    static const char *const bad_ports[] = {"0", "65536", "70000", "-1", "+80", " 80", "80 ",
                                            "80abc", "0x50", "", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
        char expected[128];
        snprintf(expected, sizeof(expected), "--port: not a port number: %s", bad_ports[i]);
        EXPECT_ERROR(expected, "--port", (char *)bad_ports[i]);
    }
    EXPECT_ERROR("--chain-id: expected an integer in [0, 18446744073709551615], got "
                 "'18446744073709551616'",
                 "--chain-id", "18446744073709551616");
    EXPECT_ERROR("--chain-id: expected an integer in [0, 18446744073709551615], got '-1'",
                 "--chain-id", "-1");
    EXPECT_ERROR("--auth-window: expected an integer in [1, 86400], got '0'", "--auth-window", "0");
    EXPECT_ERROR("--auth-window: expected an integer in [1, 86400], got '86401'", "--auth-window",
                 "86401");
    EXPECT_ERROR("--duty-interval: expected an integer in [10, 3600000], got '9'",
                 "--duty-interval", "9");
    EXPECT_ERROR("--redeem-after: expected an integer in [1, 315360000], got '0'",
                 "--redeem-after", "0");
    EXPECT_ERROR("--receipt-timeout: expected an integer in [100, 3600000], got '1e3'",
                 "--receipt-timeout", "1e3");
    EXPECT_ERROR("--http-loops: expected an integer in [0, 64], got '65'",
                 "--http-loops", "65");
    EXPECT_ERROR("--redis-port: not a port number: 6379.0", "--redis-port", "6379.0");
}

/* docs/paychand.conf.example names every key and, loaded as it is, gives
 * exactly the defaults (its active lines restate them). */
static void test_example_file(void **state)
{
    (void)state;
    const char *path = PAYCHAN_SOURCE_DIR "/docs/paychand.conf.example";
    pc_config def, ex;
    pc_error err;
    assert_int_equal(load(&def, &err, (char *)NULL), 0);
    if (load(&ex, &err, "--config", path, (char *)NULL) != 0)
        fail_msg("example: %s", err.message);
    assert_string_equal(ex.node_url, def.node_url);
    assert_true(ex.chain_id == def.chain_id);
    assert_string_equal(ex.listen_address, def.listen_address);
    assert_int_equal(ex.port, def.port);
    assert_int_equal(ex.store, def.store);
    assert_string_equal(ex.data_dir, def.data_dir);
    assert_string_equal(ex.redis_host, def.redis_host);
    assert_int_equal(ex.redis_port, def.redis_port);
    assert_string_equal(ex.redis_prefix, def.redis_prefix);
    assert_int_equal(ex.n_accounts, 0);
    assert_int_equal(ex.dev_mode, def.dev_mode);
    assert_int_equal(ex.allow_unstamped_auth, def.allow_unstamped_auth);
    assert_int_equal(ex.auth_window_s, def.auth_window_s);
    assert_int_equal(ex.duty_interval_ms, def.duty_interval_ms);
    assert_true(ex.redeem_after_s == def.redeem_after_s);
    assert_int_equal(ex.receipt_timeout_ms, def.receipt_timeout_ms);
    assert_int_equal(ex.log_level, def.log_level);
    assert_null(ex.visualizer_dir);
    assert_int_equal(ex.http_loops, def.http_loops);
    pc_config_free(&def);
    pc_config_free(&ex);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[16384];
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = '\0';
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++) {
        /* PAYCHAN_<KEY> back to the key: lower case, '-' for '_'. */
        if (strncmp(env_vars[i], "PAYCHAN_", 8) != 0 || strcmp(env_vars[i], "PAYCHAN_CONFIG") == 0)
            continue;
        char line[80];
        size_t n = (size_t)snprintf(line, sizeof(line), "\n");
        for (const char *p = env_vars[i] + 8; *p; p++)
            line[n++] = *p == '_' ? '-' : (char)(*p - 'A' + 'a');
        line[n] = '\0';
        snprintf(line + n, sizeof(line) - n, " = ");
        char commented[84];
        snprintf(commented, sizeof(commented), "\n#%s", line + 1);
        if (!strstr(text, line) && !strstr(text, commented))
            fail_msg("the example lacks \"%s\"", line + 1);
    }
}

/* ---- help and version --------------------------------------------------------------- */

static void test_help_and_version(void **state)
{
    (void)state;
    pc_config cfg;
    pc_error err;
    /* --help wins even over a broken value elsewhere: it is read before anything is applied. */
    assert_int_equal(load(&cfg, &err, "--port", "70000", "--help", (char *)NULL), 1);
    pc_config_free(&cfg);
    assert_int_equal(load(&cfg, &err, "-h", (char *)NULL), 1);
    pc_config_free(&cfg);
    assert_int_equal(load(&cfg, &err, "--version", (char *)NULL), 1);
    pc_config_free(&cfg);
    /* The loader still works after that (getopt state reset). */
    assert_int_equal(load(&cfg, &err, "--port", "81", (char *)NULL), 0);
    assert_int_equal(cfg.port, 81);
    pc_config_free(&cfg);
}

static void test_usage_documents_every_option(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    pc_config_usage(out);
    fclose(out);
    static const char *const expected[] = {
        "--config FILE", "PAYCHAN_CONFIG", "--node-url URL", "ETH_NODE_URL",
        "default: http://127.0.0.1:8545", "--chain-id ID", "PAYCHAN_CHAIN_ID", "--listen ADDRESS",
        "default: 127.0.0.1", "--port PORT", "env: PAYCHAN_PORT, PORT; default: 3000",
        "--store BACKEND", "default: sqlite", "--data-dir DIR", "default: ./paychan-data",
        "--redis-host HOST", "REDIS_HOST", "--redis-port PORT", "REDIS_PORT", "default: 6379",
        "--redis-prefix PREFIX", "default: paychan:", "--account KEYSTORE:PASSWORDFILE",
        "PAYCHAN_ACCOUNT", "--dev\n", "PAYCHAN_DEV;", "--dev-key HEX", "PAYCHAN_DEV_KEY",
        "--allow-unstamped-auth", "PAYCHAN_ALLOW_UNSTAMPED_AUTH", "--auth-window SECONDS",
        "default: 60\n", "--duty-interval MS", "default: 2000", "--redeem-after SECONDS",
        "default: 3600\n", "--receipt-timeout MS", "default: 60000", "--log-level LEVEL",
        "default: info", "--visualizer DIR", "PAYCHAN_VISUALIZER", "--http-loops N",
        "--help", "--version", "development chain only"};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        if (!strstr(text, expected[i]))
            fail_msg("usage lacks \"%s\"", expected[i]);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paychan_env_beats_seed_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_from_env_and_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_option_on_the_command_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_accounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_keys_with_dev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_key_without_dev_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_line_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_documents_every_option, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
