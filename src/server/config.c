/* config.c: paychand's configuration (see config.h).
 *
 * One table (options[]) describes every key: its long option, file key,
 * environment variable, default and help text. Defaults are applied by
 * parsing the table's default text with the same code that parses user
 * input, so the usage text and the real defaults cannot drift apart.
 * Every value goes through apply_value(), which names its source in error
 * messages: "paychand.conf:12: port", "PORT", "--port". */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto/ecdsa.h"
#include "core/encoding/hex.h"

#ifndef PAYCHAN_VERSION
#define PAYCHAN_VERSION "0.1.0"
#endif

typedef enum opt_kind {
    K_CONFIG,    /* the config file itself (command line / PAYCHAN_CONFIG only) */
    K_STRING,    /* non-empty text */
    K_URL,       /* http:// or https:// URL */
    K_INT,       /* int in [min, max] */
    K_U64,       /* uint64_t in [min, max] */
    K_PORT,      /* int in [1, 65535] */
    K_STORE,     /* sqlite | redis | memory */
    K_LOG_LEVEL, /* error | warn | info | debug */
    K_LOG_FORMAT, /* text | json */
    K_HTTP_MODE, /* threads | pool */
    K_FLAG,      /* boolean switch: no argument on the command line */
    K_ACCOUNT,   /* KEYSTORE:PASSWORDFILE, repeatable */
    K_DEV_KEY    /* raw hex key, repeatable, dev mode only */
} opt_kind;

typedef struct opt_spec {
    const char *name;     /* long option and file key */
    opt_kind kind;
    size_t offset;        /* of the field in pc_config (unused for lists) */
    uint64_t min, max;    /* K_INT, K_U64 */
    const char *seed_env; /* the seed's environment variable, or NULL */
    const char *metavar;  /* argument name in the usage text, NULL for flags */
    const char *def;      /* default as text (parsed at start), or NULL */
    const char *help;
} opt_spec;

#define OFF(field) offsetof(pc_config, field)

static const opt_spec options[] = {
    {"config", K_CONFIG, OFF(config_path), 0, 0, NULL, "FILE", NULL,
     "read `key = value` lines from FILE (keys are the long option names)"},
    {"node-url", K_URL, OFF(node_url), 0, 0, "ETH_NODE_URL", "URL", "http://127.0.0.1:8545",
     "JSON-RPC URL of the Ethereum node"},
    {"chain-id", K_U64, OFF(chain_id), 0, UINT64_MAX, NULL, "ID", "0",
     "expected chain id; paychand exits if the node's differs (checked when\n"
     "      the node first answers; the keys are then ready before it answers)\n"
     "      (0 = accept the node's, which is logged)"},
    {"listen", K_STRING, OFF(listen_address), 0, 0, NULL, "ADDRESS", "127.0.0.1",
     "address the HTTP API listens on"},
    {"port", K_PORT, OFF(port), 1, 65535, "PORT", "PORT", "3000", "HTTP port"},
    {"store", K_STORE, OFF(store), 0, 0, NULL, "BACKEND", "sqlite",
     "storage backend: sqlite, redis or memory (memory: for tests only)"},
    {"data-dir", K_STRING, OFF(data_dir), 0, 0, NULL, "DIR", "./paychan-data",
     "directory of the SQLite database (created with its parents, mode 0700)"},
    {"count-sync-delay", K_INT, OFF(count_sync_delay_ms), 0, 1000, NULL, "MS", "20",
     "SQLite store: a consumer's issued counts reach the disk (fsync) at most\n"
     "      MS later instead of before each token is returned (0: before). A crash\n"
     "      of paychand loses none; a power loss at most the last MS ms of them,\n"
     "      which providers then refuse once each (code 37): no money is lost.\n"
     "      Counts a provider validates are always on disk before \"valid\""},
    {"redis-host", K_STRING, OFF(redis_host), 0, 0, "REDIS_HOST", "HOST", "127.0.0.1",
     "Redis host (store redis)"},
    {"redis-port", K_PORT, OFF(redis_port), 1, 65535, "REDIS_PORT", "PORT", "6379",
     "Redis port (store redis)"},
    {"redis-prefix", K_STRING, OFF(redis_prefix), 0, 0, NULL, "PREFIX", "paychan:",
     "prefix of every Redis key (one team per prefix)"},
    {"redis-accept-data-loss", K_FLAG, OFF(redis_accept_data_loss), 0, 0, NULL, NULL, NULL,
     "run on a Redis that does not persist every write (appendonly yes +\n"
     "      appendfsync always are otherwise required): ACKNOWLEDGED COUNTS ARE LOST\n"
     "      when Redis stops (tokens then accepted or issued twice)"},
    {"redis-sentinels", K_STRING, OFF(redis_sentinels), 0, 0, "REDIS_SENTINELS", "HOST:PORT,...",
     NULL, "find the Redis primary through these Redis Sentinels (and follow a\n"
     "      failover); --redis-host/--redis-port are then unused"},
    {"redis-master-name", K_STRING, OFF(redis_master_name), 0, 0, "REDIS_MASTER_NAME", "NAME",
     "mymaster", "the master name the sentinels monitor"},
    {"redis-wait-replicas", K_INT, OFF(redis_wait_replicas), 0, 16, NULL, "N", NULL,
     "acknowledge a count only once N replicas have it too (WAIT); default 1\n"
     "      when the primary has replicas at start, else 0"},
    {"redis-wait-timeout", K_INT, OFF(redis_wait_timeout_ms), 1, 5000, NULL, "MS", "1000",
     "how long to WAIT for the replicas before refusing the count (503, 103)"},
    {"redis-command-timeout", K_INT, OFF(redis_command_timeout_ms), 500, 600000, NULL, "MS",
     "10000", "how long one Redis command may take before the connection is dropped\n"
     "      and the primary looked up again: bounds how long a hung or partitioned\n"
     "      primary holds requests (must exceed --redis-wait-timeout by 500 ms)"},
    {"redis-start-timeout", K_INT, OFF(redis_start_timeout_ms), 0, 600000, NULL, "MS", "30000",
     "at start, how long to keep trying a Redis (or its sentinels) that cannot\n"
     "      be reached before giving up (0: give up at once)"},
    {"account", K_ACCOUNT, 0, 0, 0, NULL, "KEYSTORE:PASSWORDFILE", NULL,
     "serve the account of this V3 keystore, unlocked with the password file\n"
     "      (whole content minus one trailing newline); repeatable; in the\n"
     "      environment a comma-separated list"},
    {"dev", K_FLAG, OFF(dev_mode), 0, 0, NULL, NULL, NULL,
     "development mode: allows --dev-key"},
    {"dev-key", K_DEV_KEY, 0, 0, 0, NULL, "HEX", NULL,
     "serve the account of this raw private key (0x + 64 hex digits);\n"
     "      repeatable; only with --dev: raw keys are for the development chain only"},
    {"allow-unstamped-auth", K_FLAG, OFF(allow_unstamped_auth), 0, 0, NULL, NULL, NULL,
     "also accept GET requests signed without x-pay-timestamp (the\n"
     "      original scheme of the first clients, including the prototype\n"
     "      library's static per-sender digest: a replayable credential)"},
    {"auth-window", K_INT, OFF(auth_window_s), 1, 86400, NULL, "SECONDS", "60",
     "largest accepted difference between x-pay-timestamp and the clock"},
    {"duty-interval", K_INT, OFF(duty_interval_ms), 10, 3600000, NULL, "MS", "2000",
     "period of the background duties (redemption, termination, top-up)"},
    {"redeem-after", K_U64, OFF(redeem_after_s), 1, 315360000, NULL, "SECONDS", "3600",
     "redeem a token once it is older than this (a deadline: even above\n"
     "      --max-fee-per-gas, if its value exceeds the gas)"},
    {"redeem-gas-multiple", K_U64, OFF(redeem_gas_multiple), 0, 1000000, NULL, "N", "10",
     "redeem once the unredeemed value reaches N x the gas cost of a\n"
     "      redemption at the current fee (10: gas at most ~10%); 0 = do not\n"
     "      weigh gas (redeem by age and on termination only, at any value)"},
    {"redemption-gas", K_U64, OFF(redemption_gas), 21000, 100000000, NULL, "GAS", "150000",
     "gas of one redemption cycle (start, then redeem and pay out in one\n"
     "      call: ~150,000 on the Mediator clones), for that cost"},
    {"max-fee-per-gas", K_U64, OFF(max_fee_per_gas), 0, UINT64_MAX, NULL, "WEI", "0",
     "above this fee per gas send only deadline-forced transactions\n"
     "      (termination, token age); 0 = no cap"},
    {"receipt-timeout", K_INT, OFF(receipt_timeout_ms), 100, 3600000, NULL, "MS", "60000",
     "how long to wait for a transaction's receipt"},
    {"log-level", K_LOG_LEVEL, OFF(log_level), 0, 0, NULL, "LEVEL", "info",
     "error, warn, info or debug (logs go to stderr)"},
    {"log-format", K_LOG_FORMAT, OFF(log_json), 0, 0, NULL, "FORMAT", "text",
     "text, or json: every log line one JSON object {time, level, msg}"},
    {"access-log", K_INT, OFF(access_log_every), 0, 1000000, NULL, "N", "0",
     "log one access line (method, path, status, code, microseconds) for\n"
     "      every Nth request: 0 = none, 1 = every request (a line costs ~3 us\n"
     "      as text, ~10 us as JSON, under one stderr lock; docs/benchmarks.md)"},
    {"metrics-token", K_STRING, OFF(metrics_token), 0, 0, NULL, "TOKEN", NULL,
     "require `Authorization: Bearer TOKEN` on GET /metrics (none: open)"},
    {"admin-token-file", K_STRING, OFF(admin_token_file), 0, 0, NULL, "FILE", NULL,
     "a file whose content is a bearer token that may read the /admin routes\n"
     "      (GET only) without a service key: for the Visualizer's operations\n"
     "      view (none: the admin routes need a service's credential)"},
    {"visualizer", K_STRING, OFF(visualizer_dir), 0, 0, NULL, "DIR", NULL,
     "serve the static visualizer in DIR at /visualizer/ (none: not served; DIR must exist)"},
    {"http-mode", K_HTTP_MODE, OFF(http_mode), 0, 0, NULL, "MODE", "pool",
     "pool (event loops serve the per-request endpoints, a few worker threads\n"
     "      the rest) or threads (one thread per connection)"},
    {"http-workers", K_INT, OFF(http_workers), 0, 1024, NULL, "N", "0",
     "http-mode pool: worker threads that run requests (0 = 4 per core)"},
    {"http-loops", K_INT, OFF(http_loops), 0, 64, NULL, "N", "0",
     "http-mode pool: event loops (0 = one per core)"},
    {"http-max-connections", K_INT, OFF(http_limits.max_connections), 0, 1 << 20, NULL, "N", "0",
     "open connections at most; past it the oldest idle or slow one is closed\n"
     "      (0 = four fifths of the descriptors left after 512)"},
    {"http-max-per-client", K_INT, OFF(http_limits.max_per_client), 1, 1 << 20, NULL, "N", "1024",
     "open connections per client IP address at most (same shedding)"},
    {"http-idle-timeout", K_INT, OFF(http_limits.idle_timeout_s), 1, 86400, NULL, "SECONDS", "60",
     "close a connection without a request under way after this"},
    {"http-header-timeout", K_INT, OFF(http_limits.header_timeout_s), 1, 3600, NULL, "SECONDS", "10",
     "a request's whole header must arrive within this of its request line"},
    {"http-body-timeout", K_INT, OFF(http_limits.body_timeout_s), 1, 3600, NULL, "SECONDS", "30",
     "a request's whole body must arrive within this of its header"},
    {"node-timeout", K_INT, OFF(node_timeout_ms), 100, 600000, NULL, "MS", "3000",
     "longest wait on one Ethereum node request, and on a read of one\n"
     "      Mediator as a whole; a call that needs the node fails after it\n"
     "      with 503 (code 101)"},
    {"node-max-answer", K_U64, OFF(node_max_answer), 4096, (uint64_t)1 << 32, NULL, "BYTES",
     "4194304", "largest node answer read; larger ones fail with 503 (code 101)"},
    {"follow-interval", K_INT, OFF(follow_interval_ms), 50, 600000, NULL, "MS", "1000",
     "how often the head block is asked for, to follow the Mediators' events"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* Precedence of the sources: a later one overrides an earlier one. */
enum { LEVEL_DEFAULT, LEVEL_FILE, LEVEL_ENV, LEVEL_CLI };

/* State of one pc_config_load call (no globals: it may run many times). */
typedef struct load_ctx {
    pc_config *cfg;
    int account_level;       /* source of the keystore accounts held, -1 none */
    int dev_key_level;       /* source of the dev keys held, -1 none */
    char dev_key_where[128]; /* where the first kept dev key came from */
} load_ctx;

/* ---- small helpers ------------------------------------------------------------------- */

static int fail(pc_error *err, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets PC_ERR_INVALID_ARGUMENT with "<where>: <message>". */
static int fail(pc_error *err, const char *where, const char *fmt, ...)
{
    char msg[sizeof(err->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "%s: %s", where, msg);
}

static int out_of_memory(pc_error *err)
{
    return pc_error_set(err, PC_ERR_INTERNAL, "config: out of memory");
}

/* Replaces the string at *slot with a copy of value. */
static int set_string(char **slot, const char *value, pc_error *err)
{
    char *copy = strdup(value);
    if (!copy)
        return out_of_memory(err);
    free(*slot);
    *slot = copy;
    return 0;
}

/* Strict unsigned decimal: digits only (no sign, space or junk), no overflow. */
static int parse_u64(const char *text, uint64_t *out)
{
    if (!text[0] || strlen(text) > 20)
        return -1;
    for (const char *p = text; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(text, yes[i]) == 0)
            return *out = 1, 0;
        if (strcmp(text, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static const opt_spec *find_option(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

/* ---- the account list -------------------------------------------------------------- */

static void free_account(pc_account_config *a)
{
    free(a->keystore_path);
    free(a->password_path);
    if (a->dev_key_hex) {
        pc_wipe(a->dev_key_hex, strlen(a->dev_key_hex));
        free(a->dev_key_hex);
    }
    memset(a, 0, sizeof(*a));
}

/* Removes the entries that are dev keys (dev != 0) or keystores (dev == 0),
 * keeping the order of the others. */
static void drop_accounts(pc_config *cfg, int dev)
{
    size_t kept = 0;
    for (size_t i = 0; i < cfg->n_accounts; i++) {
        if ((cfg->accounts[i].dev_key_hex != NULL) == (dev != 0))
            free_account(&cfg->accounts[i]);
        else
            cfg->accounts[kept++] = cfg->accounts[i];
    }
    for (size_t i = kept; i < cfg->n_accounts; i++)
        memset(&cfg->accounts[i], 0, sizeof(cfg->accounts[i]));
    cfg->n_accounts = kept;
}

/* A list given by a source replaces the list of a lower source, so that
 * e.g. --account on the command line overrides the file's accounts. */
static pc_account_config *new_account_slot(load_ctx *ctx, int *held_level, int level, int dev,
                                           const char *where, pc_error *err)
{
    pc_config *cfg = ctx->cfg;
    if (*held_level < level) {
        drop_accounts(cfg, dev);
        *held_level = level;
    }
    if (cfg->n_accounts >= PC_CONFIG_MAX_ACCOUNTS) {
        fail(err, where, "more than %d accounts", PC_CONFIG_MAX_ACCOUNTS);
        return NULL;
    }
    return &cfg->accounts[cfg->n_accounts];
}

static int add_account(load_ctx *ctx, const char *value, int level, const char *where,
                       pc_error *err)
{
    const char *colon = strrchr(value, ':');
    if (!colon || colon == value || !colon[1])
        return fail(err, where, "expected KEYSTORE:PASSWORDFILE, got '%.100s'", value);
    pc_account_config *a = new_account_slot(ctx, &ctx->account_level, level, 0, where, err);
    if (!a)
        return -1;
    a->keystore_path = strndup(value, (size_t)(colon - value));
    a->password_path = strdup(colon + 1);
    if (!a->keystore_path || !a->password_path) {
        free_account(a);
        return out_of_memory(err);
    }
    ctx->cfg->n_accounts++;
    return 0;
}

/* The key is checked and normalised to "0x" + 64 lowercase digits; error
 * messages never repeat it. */
static int add_dev_key(load_ctx *ctx, const char *value, int level, const char *where,
                       pc_error *err)
{
    uint8_t key[32];
    const char *digits = value;
    if (value[0] == '0' && (value[1] == 'x' || value[1] == 'X'))
        digits += 2;
    if (strlen(digits) != 64 || pc_hex_decode(digits, key, sizeof(key)) != 0)
        return fail(err, where, "expected a private key of 0x + 64 hex digits");
    if (ctx->dev_key_level < level)
        ctx->dev_key_where[0] = '\0'; /* the lower source's keys are dropped below */
    pc_account_config *a = new_account_slot(ctx, &ctx->dev_key_level, level, 1, where, err);
    char *text = a ? malloc(2 * sizeof(key) + 3) : NULL;
    if (text) {
        pc_hex_encode(key, sizeof(key), text);
        a->dev_key_hex = text;
        ctx->cfg->n_accounts++;
        if (!ctx->dev_key_where[0])
            snprintf(ctx->dev_key_where, sizeof(ctx->dev_key_where), "%s", where);
    }
    pc_wipe(key, sizeof(key));
    if (!a)
        return -1;
    return text ? 0 : out_of_memory(err);
}

/* ---- applying one value ------------------------------------------------------------ */

static int apply_number(pc_config *cfg, const opt_spec *o, const char *value, const char *where,
                        pc_error *err)
{
    uint64_t v;
    int ok = parse_u64(value, &v) == 0 && v >= o->min && v <= o->max;
    void *field = (char *)cfg + o->offset;
    if (o->kind == K_PORT) {
        if (!ok)
            return fail(err, where, "not a port number: %.64s", value);
        *(int *)field = (int)v;
    } else if (o->kind == K_INT) {
        if (!ok)
            return fail(err, where, "expected an integer in [%llu, %llu], got '%.64s'",
                        (unsigned long long)o->min, (unsigned long long)o->max, value);
        *(int *)field = (int)v;
    } else {
        if (!ok)
            return fail(err, where, "expected an integer in [%llu, %llu], got '%.64s'",
                        (unsigned long long)o->min, (unsigned long long)o->max, value);
        *(uint64_t *)field = v;
    }
    return 0;
}

static int apply_store(pc_config *cfg, const char *value, const char *where, pc_error *err)
{
    if (strcmp(value, "sqlite") == 0)
        cfg->store = PC_STORE_SQLITE;
    else if (strcmp(value, "redis") == 0)
        cfg->store = PC_STORE_REDIS;
    else if (strcmp(value, "memory") == 0)
        cfg->store = PC_STORE_MEMORY;
    else
        return fail(err, where, "expected sqlite, redis or memory");
    return 0;
}

/* Applies `value` of option o from a source of precedence `level`. value
 * is NULL only for a flag on the command line. */
static int apply_value(load_ctx *ctx, const opt_spec *o, const char *value, int level,
                       const char *where, pc_error *err)
{
    pc_config *cfg = ctx->cfg;
    void *field = (char *)cfg + o->offset;
    switch (o->kind) {
    case K_FLAG:
        if (!value)
            return *(int *)field = 1, 0;
        if (parse_bool(value, (int *)field) != 0)
            return fail(err, where, "expected true or false, got '%.64s'", value);
        return 0;
    case K_URL:
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
            return fail(err, where, "expected an http:// or https:// URL, got '%.100s'", value);
        return set_string((char **)field, value, err);
    case K_CONFIG:
    case K_STRING:
        if (!value[0])
            return fail(err, where, "empty value");
        return set_string((char **)field, value, err);
    case K_INT:
    case K_U64:
    case K_PORT:
        return apply_number(cfg, o, value, where, err);
    case K_STORE:
        return apply_store(cfg, value, where, err);
    case K_HTTP_MODE:
        if (strcmp(value, "threads") == 0 || strcmp(value, "pool") == 0)
            return cfg->http_mode = value[0] == 'p' ? PC_HTTP_POOL : PC_HTTP_THREADS, 0;
        return fail(err, where, "expected threads or pool");
    case K_LOG_LEVEL:
        if (pc_logger_parse_level(value, &cfg->log_level) != 0)
            return fail(err, where, "expected error, warn, info or debug");
        return 0;
    case K_LOG_FORMAT:
        if (pc_logger_parse_format(value, &cfg->log_json) != 0)
            return fail(err, where, "expected text or json");
        return 0;
    case K_ACCOUNT:
        return add_account(ctx, value, level, where, err);
    case K_DEV_KEY:
        return add_dev_key(ctx, value, level, where, err);
    }
    return pc_error_set(err, PC_ERR_INTERNAL, "config: unhandled option kind");
}

static int apply_defaults(load_ctx *ctx, pc_error *err)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].def &&
            apply_value(ctx, &options[i], options[i].def, LEVEL_DEFAULT, "default", err) != 0)
            return -1;
    return 0;
}

/* ---- the file ---------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Cuts a comment: '#' at the start of the line or after white space (so a
 * '#' inside a value such as a path is kept). */
static void cut_comment(char *line)
{
    for (char *p = line; *p; p++) {
        if (*p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

static int apply_file_line(load_ctx *ctx, const char *path, unsigned lineno, char *line,
                           pc_error *err)
{
    char where[512];
    cut_comment(line);
    char *text = trim(line);
    if (!text[0])
        return 0;
    char *eq = strchr(text, '=');
    snprintf(where, sizeof(where), "%s:%u", path, lineno);
    if (!eq)
        return fail(err, where, "expected 'key = value'");
    *eq = '\0';
    char *key = trim(text), *value = trim(eq + 1);
    const opt_spec *o = find_option(key);
    if (!o)
        return fail(err, where, "unknown key '%.64s'", key);
    if (o->kind == K_CONFIG)
        return fail(err, where, "'config' cannot be set inside a config file");
    snprintf(where, sizeof(where), "%s:%u: %s", path, lineno, key);
    return apply_value(ctx, o, value, LEVEL_FILE, where, err);
}

static int apply_file(load_ctx *ctx, const char *path, pc_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, path, "cannot read config file: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) != -1)
        rc = apply_file_line(ctx, path, ++lineno, line, err);
    if (rc == 0 && ferror(f))
        rc = fail(err, path, "cannot read config file: %s", strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

/* ---- the environment --------------------------------------------------------------- */

/* PAYCHAN_<KEY>: upper case, dashes as underscores. */
static void env_name(const opt_spec *o, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "PAYCHAN_");
    for (const char *p = o->name; *p && n + 1 < cap; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

/* Applies one variable; empty counts as unset (compose files often pass
 * "VAR=" through). Lists are comma-separated. */
static int apply_env_var(load_ctx *ctx, const opt_spec *o, const char *name, pc_error *err)
{
    const char *value = getenv(name);
    if (!value || !value[0])
        return 0;
    if (o->kind != K_ACCOUNT && o->kind != K_DEV_KEY)
        return apply_value(ctx, o, value, LEVEL_ENV, name, err);
    char *list = strdup(value), *save = NULL;
    if (!list)
        return out_of_memory(err);
    int rc = 0;
    for (char *item = strtok_r(list, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save))
        rc = apply_value(ctx, o, trim(item), LEVEL_ENV, name, err);
    pc_wipe(list, strlen(value));
    free(list);
    return rc;
}

/* The seed's names first, so that PAYCHAN_<KEY> wins when both are set. */
static int apply_env(load_ctx *ctx, pc_error *err)
{
    char name[64];
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_spec *o = &options[i];
        if (o->kind == K_CONFIG)
            continue; /* PAYCHAN_CONFIG was used to find the file */
        if (o->seed_env && apply_env_var(ctx, o, o->seed_env, err) != 0)
            return -1;
        env_name(o, name, sizeof(name));
        if (apply_env_var(ctx, o, name, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- the command line -------------------------------------------------------------- */

enum { OPT_HELP = 'h', OPT_VERSION = 'V', OPT_FIRST_TABLE = 256 };

/* One option as given on the command line, kept until the lower sources
 * have been applied. */
typedef struct cli_item {
    const opt_spec *spec;
    const char *value;
} cli_item;

static void build_long_options(struct option *out)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        out[i].name = options[i].name;
        out[i].has_arg = options[i].kind == K_FLAG ? no_argument : required_argument;
        out[i].flag = NULL;
        out[i].val = OPT_FIRST_TABLE + (int)i;
    }
    out[N_OPTIONS] = (struct option){"help", no_argument, NULL, OPT_HELP};
    out[N_OPTIONS + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    out[N_OPTIONS + 2] = (struct option){NULL, 0, NULL, 0};
}

/* getopt_long returned '?' after `arg`: an unknown option (optopt 0 for a
 * long one, the letter for a short one) or a value given to a flag
 * ("--dev=1": optopt is then the flag's val). */
static int bad_option(const char *arg, int opt, pc_error *err)
{
    if (strncmp(arg, "--", 2) != 0)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "unknown option '-%c'", opt);
    if (!opt)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "unknown option '%.100s'", arg);
    return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "%.*s: takes no value",
                        (int)strcspn(arg, "="), arg);
}

/* Runs getopt_long over a copy of argv (GNU getopt permutes the vector it
 * is given) and records the options in items[]. Returns 0, 1 for --help or
 * --version (handled), -1 on an error. */
static int scan_command_line(int argc, char **argv, cli_item *items, size_t *n_items,
                             pc_error *err)
{
    struct option longopts[N_OPTIONS + 3];
    build_long_options(longopts);
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args)
        return out_of_memory(err);
    memcpy(args, argv, (size_t)argc * sizeof(*args));
#ifdef __GLIBC__
    optind = 0; /* glibc: 0 re-initialises getopt's internal state */
#else
    optind = 1;
#endif
    opterr = 0;
    int rc = 0, c;
    *n_items = 0;
    while (rc == 0 && (c = getopt_long(argc, args, ":hVc:", longopts, NULL)) != -1) {
        if (c == OPT_HELP) {
            pc_config_usage(stdout);
            rc = 1;
        } else if (c == OPT_VERSION) {
            printf("paychand %s\n", PAYCHAN_VERSION);
            rc = 1;
        } else if (c == 'c') {
            items[(*n_items)++] = (cli_item){find_option("config"), optarg};
        } else if (c == ':') {
            rc = fail(err, args[optind - 1], "missing argument");
        } else if (c == '?') {
            rc = bad_option(args[optind - 1], optopt, err);
        } else {
            items[(*n_items)++] = (cli_item){&options[c - OPT_FIRST_TABLE], optarg};
        }
    }
    if (rc == 0 && optind < argc)
        rc = pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "unexpected argument '%.100s'",
                          args[optind]);
    free(args);
    return rc;
}

static int apply_command_line(load_ctx *ctx, const cli_item *items, size_t n, pc_error *err)
{
    char where[80];
    for (size_t i = 0; i < n; i++) {
        snprintf(where, sizeof(where), "--%s", items[i].spec->name);
        if (apply_value(ctx, items[i].spec, items[i].value, LEVEL_CLI, where, err) != 0)
            return -1;
    }
    return 0;
}

/* The config file: --config wins over PAYCHAN_CONFIG. NULL for none. */
static const char *config_file_path(const cli_item *items, size_t n)
{
    const char *path = NULL;
    for (size_t i = 0; i < n; i++)
        if (items[i].spec->kind == K_CONFIG)
            path = items[i].value;
    if (!path) {
        path = getenv("PAYCHAN_CONFIG");
        if (path && !path[0])
            path = NULL;
    }
    return path;
}

/* ---- public ------------------------------------------------------------------------ */

/* Checks that need every source applied first (--dev may come after a dev key). */
static int check_consistency(const load_ctx *ctx, pc_error *err)
{
    for (size_t i = 0; i < ctx->cfg->n_accounts && !ctx->cfg->dev_mode; i++)
        if (ctx->cfg->accounts[i].dev_key_hex)
            return fail(err, ctx->dev_key_where,
                        "dev-key requires --dev (raw keys are for the development chain only)");
    return 0;
}

/* Everything but argv scanning, in precedence order. */
static int load_sources(load_ctx *ctx, const cli_item *items, size_t n_items, pc_error *err)
{
    if (apply_defaults(ctx, err) != 0)
        return -1;
    const char *path = config_file_path(items, n_items);
    if (path && !path[0])
        return fail(err, "--config", "empty value");
    if (path && (set_string(&ctx->cfg->config_path, path, err) != 0 ||
                 apply_file(ctx, path, err) != 0))
        return -1;
    if (apply_env(ctx, err) != 0 || apply_command_line(ctx, items, n_items, err) != 0)
        return -1;
    return check_consistency(ctx, err);
}

int pc_config_load(pc_config *cfg, int argc, char **argv, pc_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->redis_wait_replicas = -1; /* unset: decided from the primary's replicas (store.h) */
    pc_error_clear(err);
    load_ctx ctx = {.cfg = cfg, .account_level = -1, .dev_key_level = -1};
    size_t n_items = 0;
    cli_item *items = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*items));
    if (!items)
        return out_of_memory(err);
    int rc = scan_command_line(argc, argv, items, &n_items, err);
    if (rc == 0)
        rc = load_sources(&ctx, items, n_items, err);
    else if (rc == 1)
        rc = apply_defaults(&ctx, err) == 0 ? 1 : -1;
    free(items);
    if (rc < 0)
        pc_config_free(cfg);
    return rc;
}

int pc_config_option_takes_value(const char *name)
{
    const opt_spec *o = find_option(name);
    return o ? o->kind != K_FLAG : -1;
}

static void print_option(FILE *out, const opt_spec *o)
{
    char env[64], head[96];
    env_name(o, env, sizeof(env));
    snprintf(head, sizeof(head), "--%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    fprintf(out, "  %s%s\n      %s\n      env: %s%s%s", o->kind == K_CONFIG ? "-c, " : "", head,
            o->help, env, o->seed_env ? ", " : "", o->seed_env ? o->seed_env : "");
    if (o->def)
        fprintf(out, "; default: %s\n", o->def);
    else
        fprintf(out, "; default: %s\n", o->kind == K_FLAG ? "off" : "none");
}

void pc_config_usage(FILE *out)
{
    fprintf(out,
            "Usage: paychand [OPTION]...\n"
            "Payment Server: holds the keys of a team's services, creates and validates\n"
            "payment tokens and redeems them through Mediator contracts.\n\n"
            "Sources, in increasing precedence: defaults, the config file (key = value\n"
            "lines, keys as the long options below), environment variables, the command\n"
            "line. When both PAYCHAN_<KEY> and a short name (e.g. PORT) are set,\n"
            "PAYCHAN_<KEY> wins; empty variables count as unset.\n"
            "A repeatable option given by a source replaces the list of lower sources.\n\n"
            "Options:\n");
    for (size_t i = 0; i < N_OPTIONS; i++)
        print_option(out, &options[i]);
    fprintf(out,
            "  -h, --help\n      print this help and exit\n"
            "  -V, --version\n      print the version and exit\n\n"
            "Keys: accounts are unlocked once at start-up from V3 keystores (geth, cast\n"
            "wallet, ethers) and stay in memory. Raw keys (--dev-key, --dev) are for the\n"
            "development chain only: never use them for keys that hold real value.\n");
}

void pc_config_free(pc_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_spec *o = &options[i];
        if (o->kind == K_CONFIG || o->kind == K_STRING || o->kind == K_URL)
            free(*(char **)((char *)cfg + o->offset));
    }
    for (size_t i = 0; i < cfg->n_accounts; i++)
        free_account(&cfg->accounts[i]);
    memset(cfg, 0, sizeof(*cfg));
}
