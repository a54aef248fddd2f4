/* cli_util.c: the `paychan` tool's option parser, configuration, calls to
 * paychand and output (see cli.h). */
#include "cli/cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pc_cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("paychan: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* ---- options ----------------------------------------------------------------------------- */

static const pc_cli_opt *find_opt(const pc_cli_opt *opts, const char *name, size_t len)
{
    for (; opts && opts->name; opts++)
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
            return opts;
    return NULL;
}

/* One "--name[=value]" at argv[*i]; consumes the value word when needed. */
static int parse_option(pc_cli *cli, int argc, char **argv, int *i, const pc_cli_opt *opts)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    if (len == 4 && strncmp(name, "json", 4) == 0 && !eq)
        return cli->json = 1, 0;
    const pc_cli_opt *o = find_opt(opts, name, len);
    if (!o)
        return pc_cli_fail(-1, "unknown option '%s' (see --help)", argv[*i]);
    if (!o->value) {
        if (eq)
            return pc_cli_fail(-1, "--%.*s takes no value", (int)len, name);
        return (*o->flag)++, 0;
    }
    if (eq)
        *o->value = eq + 1;
    else if (*i + 1 < argc)
        *o->value = argv[++*i];
    else
        return pc_cli_fail(-1, "--%s needs a value", o->name);
    return 0;
}

int pc_cli_parse(pc_cli *cli, int argc, char **argv, const pc_cli_opt *opts, const char **pos,
                 int min_pos, int max_pos)
{
    int n = 0, only_words = 0;
    for (int i = 0; i < argc; i++) {
        if (!only_words && strcmp(argv[i], "--") == 0) {
            only_words = 1;
        } else if (!only_words && strncmp(argv[i], "--", 2) == 0) {
            if (parse_option(cli, argc, argv, &i, opts) != 0)
                return -1;
        } else if (n < max_pos) {
            pos[n++] = argv[i];
        } else {
            return pc_cli_fail(-1, "unexpected argument '%s' (see --help)", argv[i]);
        }
    }
    if (n < min_pos)
        return pc_cli_fail(-1, "missing argument (see --help)");
    return n;
}

int pc_cli_address_arg(const char *text, const char *what, char out[PC_ADDRESS_TEXT_LEN])
{
    if (pc_client_address_text(text, out) != 0)
        return pc_cli_fail(PC_CLI_USAGE, "%s: not an address: '%.100s'", what, text);
    return PC_CLI_OK;
}

int pc_cli_number_arg(const char *text, const char *what)
{
    char wei[PC_CLIENT_WEI_LEN];
    if (text && pc_client_wei(text, NULL, wei) != 0)
        return pc_cli_fail(PC_CLI_USAGE, "%s: not a decimal integer: '%.100s'", what, text);
    return PC_CLI_OK;
}

int pc_cli_query(char *target, size_t cap, const char *name, const char *value)
{
    char enc[1024];
    if (!value)
        return 0;
    if (pc_client_url_encode(value, enc, sizeof enc) != 0)
        return -1;
    size_t len = strlen(target);
    int n = snprintf(target + len, cap - len, "%c%s=%s", strchr(target, '?') ? '&' : '?', name,
                     enc);
    return n < 0 || (size_t)n >= cap - len ? -1 : 0;
}

/* ---- configuration and the client ------------------------------------------------------ */

/* http://HOST:PORT of paychand's --listen/--port; a wildcard address means this host. */
static void url_from_config(pc_cli *cli)
{
    const char *host = cli->cfg.listen_address;
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        host = "127.0.0.1";
    const char *open = strchr(host, ':') ? "[" : "", *close = strchr(host, ':') ? "]" : "";
    snprintf(cli->base_url, sizeof cli->base_url, "http://%s%s%s:%d", open, host, close,
             cli->cfg.port);
}

int pc_cli_config(pc_cli *cli)
{
    if (cli->cfg_loaded)
        return PC_CLI_OK;
    pc_error err;
    if (pc_config_load(&cli->cfg, cli->cfg_argc, cli->cfg_argv, &err) != 0)
        return pc_cli_fail(PC_CLI_LOCAL, "configuration: %s", err.message);
    cli->cfg_loaded = 1;
    const char *url = cli->url ? cli->url : getenv("PAYCHAN_URL");
    if (url && url[0])
        snprintf(cli->base_url, sizeof cli->base_url, "%s", url);
    else
        url_from_config(cli);
    return PC_CLI_OK;
}

/* A client of account i of the configuration. */
static int client_of(pc_cli *cli, size_t i, paychan_client **out, paychan_error *err)
{
    const pc_account_config *a = &cli->cfg.accounts[i];
    paychan_config pc = {.server_url = cli->base_url, .keystore_path = a->keystore_path,
                         .password_path = a->password_path, .dev_key_hex = a->dev_key_hex,
                         .timeout_ms = cli->timeout_ms, .auth = PAYCHAN_AUTH_MAC};
    return paychan_client_create(&pc, out, err);
}

int pc_cli_connect(pc_cli *cli)
{
    if (cli->client)
        return PC_CLI_OK;
    int rc = pc_cli_config(cli);
    if (rc != PC_CLI_OK)
        return rc;
    if (cli->cfg.n_accounts == 0)
        return pc_cli_fail(PC_CLI_LOCAL, "no account: give --account KEYSTORE:PASSWORDFILE "
                                         "(or a config file / PAYCHAN_ACCOUNT)");
    char want[PC_ADDRESS_TEXT_LEN] = "";
    if (cli->from && pc_cli_address_arg(cli->from, "--from", want) != PC_CLI_OK)
        return PC_CLI_USAGE;
    for (size_t i = 0; i < cli->cfg.n_accounts; i++) {
        paychan_error err;
        paychan_client *c;
        if (client_of(cli, i, &c, &err) != 0)
            return pc_cli_fail(PC_CLI_LOCAL, "account %zu: %s", i + 1, err.message);
        if (!want[0] || strcmp(paychan_client_address(c), want) == 0)
            return cli->client = c, PC_CLI_OK;
        paychan_client_destroy(c);
    }
    return pc_cli_fail(PC_CLI_LOCAL, "--from %s: not one of the configured accounts", want);
}

int pc_cli_fail_error(pc_cli *cli, const paychan_error *err)
{
    int code = err->code;
    int rc = code == PAYCHAN_E_SERVER_DOWN || code == PAYCHAN_E_SERVER_TIMEOUT ? PC_CLI_UNREACHABLE
             : code == PAYCHAN_E_BAD_ANSWER                                   ? PC_CLI_BAD_ANSWER
             : code >= 600                                                    ? PC_CLI_LOCAL
                                                                              : PC_CLI_REFUSED;
    if (cli->json) {
        json_t *e = json_pack("{s:i, s:s, s:i}", "code", code, "message", err->message, "status",
                              err->http_status);
        json_dumpf(e, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(e);
    }
    fprintf(stderr, "paychan: %s (code %d%s)\n", err->message, code,
            rc == PC_CLI_REFUSED ? ", refused by paychand" : "");
    return rc;
}

int pc_cli_get(pc_cli *cli, const char *target, pc_client_call_kind kind, json_t **answer)
{
    *answer = NULL;
    int rc = kind == PC_CALL_ANONYMOUS ? pc_cli_config(cli) : pc_cli_connect(cli);
    if (rc != PC_CLI_OK)
        return rc;
    paychan_error err;
    if (kind == PC_CALL_ANONYMOUS && !cli->client) {
        /* /status needs no key: a keyless client (the dev-key path of a throwaway key). */
        paychan_config pc = {.server_url = cli->base_url, .timeout_ms = cli->timeout_ms,
                             .dev_key_hex = "0x0000000000000000000000000000000000000000000000"
                                            "000000000000000001"};
        if (paychan_client_create(&pc, &cli->client, &err) != 0)
            return pc_cli_fail_error(cli, &err);
    }
    if (pc_client_get(cli->client, target, kind, answer, &err) != 0)
        return pc_cli_fail_error(cli, &err);
    return PC_CLI_OK;
}

int pc_cli_get_print(pc_cli *cli, const char *target, pc_client_call_kind kind)
{
    json_t *answer;
    int rc = pc_cli_get(cli, target, kind, &answer);
    if (rc == PC_CLI_OK)
        rc = pc_cli_print(cli, answer);
    json_decref(answer);
    return rc;
}

/* ---- output ------------------------------------------------------------------------------- */

static void print_value(const char *key, const json_t *v);

static void print_members(const char *prefix, const json_t *obj)
{
    const char *k;
    json_t *v;
    char key[256];
    json_object_foreach((json_t *)obj, k, v) {
        snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", k);
        print_value(key, v);
    }
}

static void print_value(const char *key, const json_t *v)
{
    char sub[256];
    if (json_is_object(v)) {
        if (json_object_size(v) == 0)
            printf("%s: {}\n", key);
        print_members(key, v);
    } else if (json_is_array(v)) {
        if (json_array_size(v) == 0)
            printf("%s: []\n", key);
        for (size_t i = 0; i < json_array_size(v); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", key, i);
            print_value(sub, json_array_get(v, i));
        }
    } else if (json_is_string(v)) {
        printf("%s: %s\n", key, json_string_value(v));
    } else {
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        printf("%s: %s\n", key, text ? text : "?");
        free(text);
    }
}

int pc_cli_print(const pc_cli *cli, const json_t *answer)
{
    if (cli->json) {
        json_dumpf(answer, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
    } else if (json_object_size(answer) == 0) {
        printf("ok\n");
    } else {
        print_members("", answer);
    }
    return PC_CLI_OK;
}
