/* cmd_admin.c: the `paychan` subcommands on paychand's admin API
 * (GET /admin/channels, /admin/channels/M): channels and channel show. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* A member as short text for the table: strings as they are, numbers, "-" for null. */
static const char *cell(const json_t *obj, const char *key, char *buf, size_t cap)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        return snprintf(buf, cap, "%lld", (long long)json_integer_value(v)), buf;
    return "-";
}

/* One channel: the consumer's funds (what backs the tokens, for either role: the
 * operations view's "funds low"), and the highest count of its role. */
static void print_channel_row(const json_t *c)
{
    char b[6][32], deadline[64] = "-";
    const json_t *next = json_object_get(c, "nextDeadline");
    int consumer = strcmp(cell(c, "role", b[0], 32), "consumer") == 0;
    if (json_is_object(next))
        snprintf(deadline, sizeof deadline, "%s@%s", cell(next, "what", b[1], 32),
                 cell(next, "at", b[2], 32));
    printf("%-42s %-8s %-42s %20s %20s %8s %20s %-28s %s\n", cell(c, "mediator", b[3], 32),
           cell(c, "role", b[0], 32), cell(c, "counterparty", b[4], 32),
           cell(c, "costPerRequest", b[5], 32),
           cell(c, "consumerFunds", b[1], 32),
           cell(c, consumer ? "highestIssued" : "highestValidated", b[2], 32),
           cell(c, "unredeemedWei", b[3], 32), deadline, cell(c, "state", b[4], 32));
}

static int print_channels(const pc_cli *cli, const json_t *answer)
{
    const json_t *list = json_object_get(answer, "channels");
    if (cli->json || !json_is_array(list))
        return pc_cli_print(cli, answer);
    printf("%-42s %-8s %-42s %20s %20s %8s %20s %-28s %s\n", "MEDIATOR", "ROLE", "COUNTERPARTY",
           "COST (WEI)", "CONSUMER FUNDS", "COUNT", "UNREDEEMED (WEI)", "NEXT DEADLINE", "STATE");
    for (size_t i = 0; i < json_array_size(list); i++)
        print_channel_row(json_array_get(list, i));
    json_int_t total = json_integer_value(json_object_get(answer, "total"));
    json_int_t offset = json_integer_value(json_object_get(answer, "offset"));
    printf("(%zu of %lld from offset %lld)\n", json_array_size(list), (long long)total,
           (long long)offset);
    return PC_CLI_OK;
}

static int run_channels(pc_cli *cli, int argc, char **argv)
{
    const char *offset = NULL, *limit = NULL, *role = NULL, *account = NULL;
    const pc_cli_opt opts[] = {{"offset", &offset, NULL}, {"limit", &limit, NULL},
                               {"role", &role, NULL},     {"account", &account, NULL},
                               {0}};
    char target[512] = "/admin/channels", acc[PC_ADDRESS_TEXT_LEN];
    if (pc_cli_parse(cli, argc, argv, opts, NULL, 0, 0) < 0 ||
        pc_cli_number_arg(offset, "--offset") || pc_cli_number_arg(limit, "--limit") ||
        (account && pc_cli_address_arg(account, "--account", acc)))
        return PC_CLI_USAGE;
    if (role && strcmp(role, "consumer") != 0 && strcmp(role, "provider") != 0)
        return pc_cli_fail(PC_CLI_USAGE, "--role: expected consumer or provider");
    if (pc_cli_query(target, sizeof target, "offset", offset) ||
        pc_cli_query(target, sizeof target, "limit", limit) ||
        pc_cli_query(target, sizeof target, "role", role) ||
        pc_cli_query(target, sizeof target, "account", account ? acc : NULL))
        return pc_cli_fail(PC_CLI_USAGE, "arguments too long");
    json_t *answer;
    int rc = pc_cli_get(cli, target, PC_CALL_READ, &answer);
    if (rc == PC_CLI_OK)
        rc = print_channels(cli, answer);
    json_decref(answer);
    return rc;
}

static int run_channel_show(pc_cli *cli, int argc, char **argv)
{
    const char *pos[1];
    char m[PC_ADDRESS_TEXT_LEN], target[128];
    if (pc_cli_parse(cli, argc, argv, NULL, pos, 1, 1) < 0 ||
        pc_cli_address_arg(pos[0], "MEDIATOR", m) != PC_CLI_OK)
        return PC_CLI_USAGE;
    snprintf(target, sizeof target, "/admin/channels/%s", m);
    return pc_cli_get_print(cli, target, PC_CALL_READ);
}

const pc_cli_command pc_cli_admin_commands[] = {
    {"channels", "[--role consumer|provider] [--account ADDR] [--offset N] [--limit M]",
     "Lists the payment channels paychand holds (GET /admin/channels, paged; limit\n"
     "default 100, max 1000): Mediator, role, counterparty, cost per request, the\n"
     "own side's funds, highest count issued (consumer) or validated (provider),\n"
     "unredeemed wei, next deadline and state.\n", run_channels},
    {"channel show", "MEDIATOR",
     "One channel in detail (GET /admin/channels/MEDIATOR): its roles and, per\n"
     "token id, the highest count and the unredeemed wei. Exit 1 (code 404) when\n"
     "paychand does not know it.\n", run_channel_show},
    {0},
};
