/* main.c: `paychan`, the command-line tool of a team's Payment Server:
 * global options, paychand's configuration options passed through, the
 * subcommand tables and `--help`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#ifndef PAYCHAN_VERSION
#define PAYCHAN_VERSION "0.1.0"
#endif

static const pc_cli_command *const tables[] = {pc_cli_chain_commands, pc_cli_admin_commands,
                                               pc_cli_keys_commands, pc_cli_call_commands};
#define N_TABLES (sizeof tables / sizeof tables[0])

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: paychan [GLOBAL OPTION]... COMMAND [ARG]... [--json]\n"
            "Command-line tool of a team's Payment Server (paychand).\n\n"
            "Commands:\n");
    for (size_t t = 0; t < N_TABLES; t++)
        for (const pc_cli_command *c = tables[t]; c->words; c++)
            fprintf(out, "  %-16s %s\n", c->words, c->usage);
    fprintf(out,
            "\nGlobal options (before COMMAND):\n"
            "  --json              machine-readable output (also after COMMAND)\n"
            "  --url URL           paychand's URL (env PAYCHAN_URL; default: http://LISTEN:PORT\n"
            "                      of paychand's configuration)\n"
            "  --from ADDRESS      the configured account that signs (default: the first)\n"
            "  --timeout MS        per call (calls that send transactions wait 10 x)\n"
            "  -c, --config FILE, --account KEYSTORE:PASSWORDFILE, --port, --listen,\n"
            "  --dev, --dev-key, ... and every other paychand option: read exactly as\n"
            "                      paychand reads them, with its config file (PAYCHAN_CONFIG)\n"
            "                      and environment (PAYCHAN_<KEY>); see paychand --help\n"
            "  -h, --help          this help; `paychan COMMAND --help` for a command's\n"
            "  -V, --version\n\n"
            "Calls to paychand are authenticated with the request MAC of the account's\n"
            "key (docs/protocol.md section 3).\n\n"
            "Exit status:\n"
            "  0  done\n"
            "  1  refused by paychand (its error code and message are printed)\n"
            "  2  usage error\n"
            "  3  paychand (or call's target) unreachable or not answering in time\n"
            "  4  an answer that is not paychand's API\n"
            "  5  local failure: configuration, keystore, password, file\n"
            "  6  call: the target answered an HTTP error status\n");
}

/* The command whose words start argv; *used = how many words. */
static const pc_cli_command *find_command(int argc, char **argv, int *used)
{
    for (size_t t = 0; t < N_TABLES; t++) {
        for (const pc_cli_command *c = tables[t]; c->words; c++) {
            size_t first = strcspn(c->words, " ");
            if (strncmp(argv[0], c->words, first) != 0 || argv[0][first])
                continue;
            if (!c->words[first])
                return *used = 1, c;
            if (argc > 1 && strcmp(argv[1], c->words + first + 1) == 0)
                return *used = 2, c;
        }
    }
    return NULL;
}

/* Own global options, or paychand's (passed through with their value). */
static int global_option(pc_cli *cli, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *timeout = NULL;
    const char **slot = strcmp(a, "--url") == 0       ? &cli->url
                        : strcmp(a, "--from") == 0    ? &cli->from
                        : strcmp(a, "--timeout") == 0 ? &timeout
                                                      : NULL;
    if (strcmp(a, "--json") == 0)
        return cli->json = 1, 0;
    if (slot) {
        if (*i + 1 >= argc)
            return pc_cli_fail(-1, "%s needs a value", a);
        *slot = argv[++*i];
        if (timeout && (cli->timeout_ms = atol(timeout)) <= 0)
            return pc_cli_fail(-1, "--timeout: expected milliseconds > 0");
        return 0;
    }
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(a + 2, "="), a + 2);
    int takes = strcmp(a, "-c") == 0 ? 1 : strncmp(a, "--", 2) == 0
                                               ? pc_config_option_takes_value(name) : -1;
    if (takes < 0)
        return pc_cli_fail(-1, "unknown option '%s' (see paychan --help)", a);
    cli->cfg_argv[cli->cfg_argc++] = argv[*i];
    if (takes && !strchr(a, '=')) {
        if (*i + 1 >= argc)
            return pc_cli_fail(-1, "%s needs a value", a);
        cli->cfg_argv[cli->cfg_argc++] = argv[++*i];
    }
    return 0;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int run(pc_cli *cli, int argc, char **argv)
{
    int i = 1;
    cli->cfg_argv[cli->cfg_argc++] = "paychan";
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout), PC_CLI_OK;
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
            return printf("paychan %s\n", PAYCHAN_VERSION), PC_CLI_OK;
        if (global_option(cli, argc, argv, &i) != 0)
            return PC_CLI_USAGE;
    }
    if (i >= argc)
        return usage(stderr), PC_CLI_USAGE;
    int used = 0;
    const pc_cli_command *c = find_command(argc - i, argv + i, &used);
    if (!c)
        return pc_cli_fail(PC_CLI_USAGE, "unknown command '%s' (see paychan --help)", argv[i]);
    if (wants_help(argc - i - used, argv + i + used)) {
        printf("Usage: paychan %s %s\n\n%s", c->words, c->usage, c->help);
        return PC_CLI_OK;
    }
    return c->run(cli, argc - i - used, argv + i + used);
}

int main(int argc, char **argv)
{
    pc_cli cli = {0};
    cli.cfg_argv = calloc((size_t)argc + 1, sizeof *cli.cfg_argv);
    if (!cli.cfg_argv)
        return PC_CLI_LOCAL;
    int rc = run(&cli, argc, argv);
    paychan_client_destroy(cli.client);
    if (cli.cfg_loaded)
        pc_config_free(&cli.cfg);
    free(cli.cfg_argv);
    return rc;
}
