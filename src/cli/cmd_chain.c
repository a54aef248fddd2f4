/* cmd_chain.c: the `paychan` subcommands that call paychand's protocol
 * endpoints (docs/protocol.md section 4): status, open, deposit, redeem,
 * payout, terminate, token create, token validate. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int run_status(pc_cli *cli, int argc, char **argv)
{
    json_t *status = NULL, *accounts = NULL;
    if (pc_cli_parse(cli, argc, argv, NULL, NULL, 0, 0) < 0)
        return PC_CLI_USAGE;
    /* with an account configured, the money per account too (/admin/accounts),
     * asked first: the anonymous client of /status would be kept for it */
    int rc = pc_cli_config(cli);
    if (rc == PC_CLI_OK && cli->cfg.n_accounts > 0)
        rc = pc_cli_get(cli, "/admin/accounts", PC_CALL_READ, &accounts);
    if (rc == PC_CLI_OK)
        rc = pc_cli_get(cli, "/status", PC_CALL_ANONYMOUS, &status);
    if (rc == PC_CLI_OK && accounts)
        json_object_set(status, "money", json_object_get(accounts, "accounts"));
    if (rc == PC_CLI_OK)
        rc = pc_cli_print(cli, status);
    json_decref(accounts);
    json_decref(status);
    return rc;
}

/* The commands taking one Mediator and calling /contracts/M/ACTION. */
static int mediator_action(pc_cli *cli, int argc, char **argv, const char *action,
                           pc_client_call_kind kind)
{
    const char *pos[1];
    char m[PC_ADDRESS_TEXT_LEN], target[128];
    if (pc_cli_parse(cli, argc, argv, NULL, pos, 1, 1) < 0 ||
        pc_cli_address_arg(pos[0], "MEDIATOR", m) != PC_CLI_OK)
        return PC_CLI_USAGE;
    snprintf(target, sizeof target, "/contracts/%s/%s", m, action);
    return pc_cli_get_print(cli, target, kind);
}

static int run_redeem(pc_cli *cli, int argc, char **argv)
{
    return mediator_action(cli, argc, argv, "redeemToken", PC_CALL_CHAIN);
}

static int run_payout(pc_cli *cli, int argc, char **argv)
{
    return mediator_action(cli, argc, argv, "payout", PC_CALL_CHAIN);
}

static int run_terminate(pc_cli *cli, int argc, char **argv)
{
    return mediator_action(cli, argc, argv, "terminate", PC_CALL_CHAIN);
}

static int run_token_create(pc_cli *cli, int argc, char **argv)
{
    return mediator_action(cli, argc, argv, "createSignatureHeaders", PC_CALL_READ);
}

/* /contracts/M/deposit/AMOUNT[?autoFundingThreshold=&autoFundingAmount=] */
static int deposit(pc_cli *cli, const char *m, const char *amount, const char *threshold,
                   const char *top_up, json_t **answer)
{
    char target[512];
    if (pc_cli_number_arg(amount, "AMOUNT") || pc_cli_number_arg(threshold, "--threshold") ||
        pc_cli_number_arg(top_up, "--top-up"))
        return PC_CLI_USAGE;
    snprintf(target, sizeof target, "/contracts/%s/deposit/%s", m, amount);
    if (pc_cli_query(target, sizeof target, "autoFundingThreshold", threshold) != 0 ||
        pc_cli_query(target, sizeof target, "autoFundingAmount", top_up) != 0)
        return pc_cli_fail(PC_CLI_USAGE, "arguments too long");
    return pc_cli_get(cli, target, PC_CALL_CHAIN, answer);
}

static int run_deposit(pc_cli *cli, int argc, char **argv)
{
    const char *pos[2], *threshold = NULL, *top_up = NULL;
    const pc_cli_opt opts[] = {{"threshold", &threshold, NULL}, {"top-up", &top_up, NULL}, {0}};
    char m[PC_ADDRESS_TEXT_LEN];
    json_t *answer;
    if (pc_cli_parse(cli, argc, argv, opts, pos, 2, 2) < 0 ||
        pc_cli_address_arg(pos[0], "MEDIATOR", m) != PC_CLI_OK)
        return PC_CLI_USAGE;
    int rc = deposit(cli, m, pos[1], threshold, top_up, &answer);
    if (rc == PC_CLI_OK)
        rc = pc_cli_print(cli, answer);
    json_decref(answer);
    return rc;
}

/* useService's query from the options of `open`. */
static int use_service_target(const char *provider, const char *cost, const char *termination,
                              const char *redemption, int reuse, char *target, size_t cap)
{
    snprintf(target, cap, "/useService");
    if (pc_cli_number_arg(cost, "--cost") || pc_cli_number_arg(termination, "--termination") ||
        pc_cli_number_arg(redemption, "--redemption"))
        return PC_CLI_USAGE;
    if (pc_cli_query(target, cap, "serviceProvider", provider) != 0 ||
        pc_cli_query(target, cap, "costPerRequest", cost) != 0 ||
        pc_cli_query(target, cap, "terminationTimeout", termination) != 0 ||
        pc_cli_query(target, cap, "tokenRedemptionTimeout", redemption) != 0 ||
        pc_cli_query(target, cap, "allowReuseExistingMediator", reuse ? "true" : NULL) != 0)
        return pc_cli_fail(PC_CLI_USAGE, "arguments too long");
    return PC_CLI_OK;
}

static int run_open(pc_cli *cli, int argc, char **argv)
{
    const char *pos[1], *cost = NULL, *term = NULL, *redeem = NULL, *amount = NULL,
               *threshold = NULL, *top_up = NULL;
    int reuse = 0;
    const pc_cli_opt opts[] = {{"cost", &cost, NULL},         {"termination", &term, NULL},
                               {"redemption", &redeem, NULL}, {"deposit", &amount, NULL},
                               {"threshold", &threshold, NULL}, {"top-up", &top_up, NULL},
                               {"reuse", NULL, &reuse},       {0}};
    char provider[PC_ADDRESS_TEXT_LEN], target[512], m[PC_ADDRESS_TEXT_LEN];
    json_t *answer, *deposited = NULL;
    if (pc_cli_parse(cli, argc, argv, opts, pos, 1, 1) < 0 ||
        pc_cli_address_arg(pos[0], "PROVIDER", provider) != PC_CLI_OK ||
        use_service_target(provider, cost, term, redeem, reuse, target, sizeof target))
        return PC_CLI_USAGE;
    if (amount && pc_cli_number_arg(amount, "--deposit"))
        return PC_CLI_USAGE;
    int rc = pc_cli_get(cli, target, PC_CALL_CHAIN, &answer);
    if (rc != PC_CLI_OK)
        return rc;
    paychan_error err;
    if (pc_client_answer_string(answer, "useService", "mediatorAddress", m, sizeof m, &err) != 0)
        rc = pc_cli_fail_error(cli, &err);
    else if (amount)
        rc = deposit(cli, m, amount, threshold, top_up, &deposited);
    if (rc == PC_CLI_OK) {
        json_object_set_new(answer, "deposited", json_string(amount ? amount : "0"));
        rc = pc_cli_print(cli, answer);
    } else if (rc != PC_CLI_USAGE) {
        fprintf(stderr, "paychan: the Mediator %s was deployed; its deposit failed\n", m);
    }
    json_decref(deposited);
    json_decref(answer);
    return rc;
}

static int run_token_validate(pc_cli *cli, int argc, char **argv)
{
    const char *pos[1], *v[7] = {0};
    static const char *const names[7] = {"sender",   "signature",   "tokenId",
                                         "reqCount", "minCostPerRequest", "terminationTimeout",
                                         "tokenRedemptionTimeout"};
    const pc_cli_opt opts[] = {{"sender", &v[0], NULL},   {"signature", &v[1], NULL},
                               {"token-id", &v[2], NULL}, {"count", &v[3], NULL},
                               {"min-cost", &v[4], NULL}, {"termination", &v[5], NULL},
                               {"redemption", &v[6], NULL}, {0}};
    char m[PC_ADDRESS_TEXT_LEN], target[1024];
    if (pc_cli_parse(cli, argc, argv, opts, pos, 1, 1) < 0 ||
        pc_cli_address_arg(pos[0], "MEDIATOR", m) != PC_CLI_OK)
        return PC_CLI_USAGE;
    snprintf(target, sizeof target, "/contracts/%s/validateToken", m);
    for (int i = 0; i < 7; i++)
        if (pc_cli_query(target, sizeof target, names[i], v[i]) != 0)
            return pc_cli_fail(PC_CLI_USAGE, "arguments too long");
    return pc_cli_get_print(cli, target, PC_CALL_READ);
}

const pc_cli_command pc_cli_chain_commands[] = {
    {"status", "", "paychand's health and identity (GET /status, unauthenticated): node,\n"
                   "chain id, accounts and balances, storage, gas totals; with an account\n"
                   "configured also \"money\" per account (GET /admin/accounts: earned,\n"
                   "unredeemed, redeemed, paid out, spent, paid, refunded, gas, in wei). Exit 1\n"
                   "while paychand is not ready (503: what is missing is printed), so scripts\n"
                   "can wait on it.\n", run_status},
    {"open", "PROVIDER [--cost WEI] [--termination S] [--redemption S] [--deposit WEI]\n"
             "                   [--threshold WEI] [--top-up WEI] [--reuse]",
     "Opens a payment channel to PROVIDER: deploys a Mediator (useService; defaults\n"
     "1 wei per request, 3600 s timeouts; --reuse answers an existing live one of the\n"
     "same terms) and, with --deposit, deposits WEI into it (automatic top-ups below\n"
     "--threshold by --top-up). Prints mediatorAddress.\n", run_open},
    {"deposit", "MEDIATOR AMOUNT [--threshold WEI] [--top-up WEI]",
     "Deposits AMOUNT wei into MEDIATOR (the account must be its consumer); with\n"
     "--threshold, paychand tops it up by --top-up (default AMOUNT) when the funds\n"
     "fall below it.\n", run_deposit},
    {"redeem", "MEDIATOR", "Starts a two-phase redemption of MEDIATOR's active token (provider).\n",
     run_redeem},
    {"payout", "MEDIATOR", "Moves the provider's earned funds out of MEDIATOR (provider).\n",
     run_payout},
    {"terminate", "MEDIATOR",
     "Provider: closes MEDIATOR at once. Consumer: starts its termination timeout.\n",
     run_terminate},
    {"token create", "MEDIATOR",
     "Takes the next request count of MEDIATOR and prints the five x-pay-* headers\n"
     "(createSignatureHeaders; consumer; for debugging: the count is used up).\n",
     run_token_create},
    {"token validate", "MEDIATOR --sender ADDR --token-id ID --count N --signature SIG\n"
                       "                   --min-cost WEI --termination S --redemption S",
     "Asks paychand to validate a token (validateToken; provider): answers valid:\n"
     "true and records the count, or the protocol's refusal (exit 1).\n",
     run_token_validate},
    {0},
};
