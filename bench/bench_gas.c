/* bench_gas.c: the gas of every Mediator operation, measured on a private anvil
 * (tests/support/anvil.h) through the C binding, as paychand sends them.
 * Prints a Markdown table for docs/benchmarks.md.
 *
 *   build-asan/bench/bench_gas
 *
 * Gas used is what the receipt reports; it does not depend on the fee. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto/eip712.h"
#include "core/chain/wallet.h"
#include "mediator/mediator.h"
#include "support/anvil.h"

enum { CONSUMER = 1, PROVIDER = 2, N_WALLETS = 3 };

typedef struct bench {
    pc_test_anvil *anvil;
    pc_rpc *rpc;
    pc_secp *secp;
    uint64_t chain_id;
    pc_wallet *wallet[N_WALLETS];
    pc_address address[N_WALLETS];
    uint64_t next_id;
} bench;

static void die(const char *what, const pc_error *err)
{
    fprintf(stderr, "bench_gas: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

/* Prints one row and returns its gas; `rc` and `res` are a binding call's outcome. */
static uint64_t row(const char *op, int rc, pc_tx_result *res, const pc_error *err)
{
    if (rc != 0)
        die(op, err);
    uint64_t gas = res->gas_used;
    printf("| %s | %llu |\n", op, (unsigned long long)gas);
    pc_tx_result_free(res);
    return gas;
}

static pc_u256 fresh_id(bench *b)
{
    pc_u256 id = {{++b->next_id, 0x0123456789abcdefull, 0xfedcba9876543210ull, 1}};
    return id;
}

static void open_bench(bench *b)
{
    pc_error err;
    memset(b, 0, sizeof *b);
    pc_test_anvil_options o = {.without_factory = 1}; /* measured below */
    b->anvil = pc_test_anvil_start(&o);
    b->secp = pc_secp_create();
    if (!b->anvil || !b->secp)
        die("starting anvil", NULL);
    b->rpc = pc_rpc_create(pc_test_anvil_url(b->anvil), NULL, &err);
    if (!b->rpc || pc_rpc_chain_id(b->rpc, &b->chain_id, &err) != 0)
        die("rpc", &err);
    pc_wallet_options opts = {.chain_id = b->chain_id, .receipt_timeout_ms = 20000};
    for (int i = 0; i < N_WALLETS; i++) {
        uint8_t key[32];
        pc_test_dev_key(i, key);
        pc_test_dev_address(i, &b->address[i]);
        b->wallet[i] = pc_wallet_create(b->rpc, b->secp, key, &opts, &err);
        if (!b->wallet[i])
            die("wallet", &err);
    }
}

static void close_bench(bench *b)
{
    for (int i = 0; i < N_WALLETS; i++)
        pc_wallet_destroy(b->wallet[i]);
    pc_rpc_destroy(b->rpc);
    pc_secp_destroy(b->secp);
    pc_test_anvil_stop(b->anvil);
}

/* Opens a channel, funded with `deposit` wei in the same transaction unless 0; prints its gas
 * as `op` when op is not NULL. */
static pc_address open_funded(bench *b, const char *op, uint64_t deposit)
{
    pc_error err;
    pc_tx_result res;
    pc_address m;
    pc_mediator_terms t = {.provider = b->address[PROVIDER],
                           .cost_per_request = pc_u256_from_u64(1000000000u),
                           .termination_timeout = 3600,
                           .token_redemption_timeout = 60};
    pc_u256 id = fresh_id(b), wei = pc_u256_from_u64(deposit);
    int rc = pc_mediator_open(b->wallet[CONSUMER], &t, &id, &wei, &m, &res, NULL, &err);
    if (op)
        row(op, rc, &res, &err);
    else if (rc != 0)
        die("open", &err);
    else
        pc_tx_result_free(&res);
    return m;
}

static pc_address open_channel(bench *b, const char *op)
{
    return open_funded(b, op, 0);
}

static void deposit(bench *b, const pc_address *m, const char *op)
{
    pc_error err;
    pc_tx_result res;
    pc_u256 wei = pc_u256_from_u64(1000000000000000000ull); /* 1 ether */
    int rc = pc_mediator_deposit(b->wallet[CONSUMER], m, &wei, &res, NULL, &err);
    if (op)
        row(op, rc, &res, &err);
    else if (rc != 0)
        die("deposit", &err);
    else
        pc_tx_result_free(&res);
}

/* The consumer's token for (id, count) on Mediator m. */
static void sign_token(bench *b, const pc_address *m, const pc_u256 *id, uint64_t count,
                       pc_signature *sig)
{
    uint8_t key[32];
    pc_u256 n = pc_u256_from_u64(count);
    pc_test_dev_key(CONSUMER, key);
    if (pc_payment_token_sign(b->secp, key, b->chain_id, m, &b->address[CONSUMER], id, &n, sig))
        die("signing a token", NULL);
}

/* One redemption cycle of `count` requests in the three transactions of the
 * protocol (start, redeem after the grace period, payout). Prints each step
 * when `label` is not NULL; returns the cycle's total gas. */
static uint64_t cycle_three(bench *b, const pc_address *m, uint64_t count, const char *label)
{
    pc_error err;
    pc_tx_result res;
    pc_u256 old_id, next = fresh_id(b);
    pc_signature sig;
    char op[96];
    if (pc_mediator_get_u256(b->rpc, m, "activeTokenId", &old_id, &err) != 0)
        die("activeTokenId", &err);
    int rc = pc_mediator_start_token_redemption(b->wallet[PROVIDER], m, &next, &res, NULL, &err);
    snprintf(op, sizeof op, "start redemption%s", label ? label : "");
    uint64_t gas = row(op, rc, &res, &err);
    if (pc_test_anvil_increase_time(b->anvil, 61) != 0)
        die("evm_increaseTime", NULL);
    sign_token(b, m, &old_id, count, &sig);
    pc_u256 n = pc_u256_from_u64(count);
    rc = pc_mediator_redeem_token(b->wallet[PROVIDER], m, &n, &sig, &res, NULL, &err);
    snprintf(op, sizeof op, "redeem (%llu requests)%s", (unsigned long long)count,
             label ? label : "");
    gas += row(op, rc, &res, &err);
    rc = pc_mediator_payout(b->wallet[PROVIDER], m, &res, NULL, &err);
    snprintf(op, sizeof op, "payout%s", label ? label : "");
    gas += row(op, rc, &res, &err);
    return gas;
}

/* The redemption of the soon-expiring id with `count` requests after its grace period: with
 * redeemAndPayout, or (new_id not NULL) with redeemPayoutAndStartRedemption. Returns its gas. */
static uint64_t redeem_combined(bench *b, const pc_address *m, uint64_t count,
                                const pc_u256 *new_id, const char *op)
{
    pc_error err;
    pc_tx_result res;
    pc_u256 soon, n = pc_u256_from_u64(count);
    pc_signature sig;
    if (pc_mediator_get_u256(b->rpc, m, "soonExpiringTokenId", &soon, &err) != 0)
        die("soonExpiringTokenId", &err);
    if (pc_test_anvil_increase_time(b->anvil, 61) != 0)
        die("evm_increaseTime", NULL);
    sign_token(b, m, &soon, count, &sig);
    int rc = new_id ? pc_mediator_redeem_payout_and_start(b->wallet[PROVIDER], m, &n, &sig, new_id,
                                                          &res, NULL, &err)
                    : pc_mediator_redeem_and_payout(b->wallet[PROVIDER], m, &n, &sig, &res, NULL,
                                                    &err);
    return row(op, rc, &res, &err);
}

static void start(bench *b, const pc_address *m)
{
    pc_error err;
    pc_tx_result res;
    pc_u256 next = fresh_id(b);
    int rc = pc_mediator_start_token_redemption(b->wallet[PROVIDER], m, &next, &res, NULL, &err);
    row("start redemption", rc, &res, &err);
}

static void combined_rows(bench *b, const pc_address *m)
{
    char op[96];
    start(b, m);
    redeem_combined(b, m, 50, NULL, "redeemAndPayout (50 requests)");
    start(b, m);
    for (int i = 0; i < 2; i++) {
        pc_u256 next = fresh_id(b);
        snprintf(op, sizeof op, "redeemPayoutAndStartRedemption (50 requests, %s)",
                 i ? "again" : "first");
        redeem_combined(b, m, 50, &next, op);
    }
    redeem_combined(b, m, 50, NULL, "(redeemAndPayout: ends the chain of periods)");
}

/* Gas per redeemed request: the three-transaction cycle, the two-transaction one (start,
 * redeemAndPayout) and the one-transaction steady state (redeemPayoutAndStartRedemption). */
static void per_request_table(bench *b, const pc_address *m)
{
    static const uint64_t counts[] = {10, 100, 10000};
    uint64_t three[3], two[3], one[3];
    for (int i = 0; i < 3; i++)
        three[i] = cycle_three(b, m, counts[i], " (cycle)");
    for (int i = 0; i < 3; i++) {
        start(b, m);
        two[i] = 0; /* start is printed above; add it from the three-step row */
        two[i] = redeem_combined(b, m, counts[i], NULL, "redeemAndPayout (cycle)");
    }
    start(b, m);
    for (int i = 0; i < 3; i++) {
        pc_u256 next = fresh_id(b);
        one[i] = redeem_combined(b, m, counts[i], &next, "redeemPayoutAndStartRedemption (cycle)");
    }
    redeem_combined(b, m, 1, NULL, "(redeemAndPayout: ends the chain of periods)");
    printf("\n| requests per redemption | 3 transactions: start + redeem + payout | per request "
           "| redeemAndPayout (+ start) | 1 transaction: redeemPayoutAndStartRedemption | per "
           "request |\n|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < 3; i++)
        printf("| %llu | %llu | %.1f | %llu (+ start) | %llu | %.1f |\n",
               (unsigned long long)counts[i], (unsigned long long)three[i],
               (double)three[i] / (double)counts[i], (unsigned long long)two[i],
               (unsigned long long)one[i], (double)one[i] / (double)counts[i]);
}

static void close_rows(bench *b)
{
    pc_error err;
    pc_tx_result res;
    pc_address m = open_channel(b, NULL);
    deposit(b, &m, NULL);
    int rc = pc_mediator_start_close(b->wallet[CONSUMER], &m, &res, NULL, &err);
    uint64_t gas = row("consumer close: start", rc, &res, &err);
    if (pc_test_anvil_increase_time(b->anvil, 3601) != 0)
        die("evm_increaseTime", NULL);
    rc = pc_mediator_finalize_close(b->wallet[CONSUMER], &m, &res, NULL, &err);
    gas += row("consumer close: finalize", rc, &res, &err);
    printf("| consumer close: start + finalize | %llu |\n", (unsigned long long)gas);
    m = open_channel(b, NULL);
    deposit(b, &m, NULL);
    rc = pc_mediator_close_by_provider(b->wallet[PROVIDER], &m, &res, NULL, &err);
    row("provider close", rc, &res, &err);
}

int main(void)
{
    bench b;
    pc_error err;
    pc_tx_result res;
    open_bench(&b);
    printf("| operation | gas used |\n|---|---:|\n");
    int rc = pc_mediator_factory_ensure(b.wallet[0], &res, &err);
    row("deploy MediatorFactory + implementation (once per chain)", rc, &res, &err);
    open_channel(&b, "open a channel (first one on the chain)");
    pc_address m = open_channel(&b, "open a channel");
    open_funded(&b, "open a channel with a deposit in the same transaction", 1000000000u);
    deposit(&b, &m, "deposit (first)");
    deposit(&b, &m, "deposit (again)");
    cycle_three(&b, &m, 50, NULL);
    combined_rows(&b, &m);
    close_rows(&b);
    per_request_table(&b, &m);
    close_bench(&b);
    return 0;
}
