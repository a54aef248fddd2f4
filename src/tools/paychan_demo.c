/* paychan-demo: one payment-channel round trip through the C core on a real
 * chain, printing what happens: the consumer deploys a Mediator and deposits,
 * signs a stream of per-request tokens that the provider checks off chain,
 * the provider redeems the newest token in two phases and pays out, and the
 * consumer closes the channel and gets the rest back.
 *
 * It is the README's main job until the Payment Server exists. Keys come from
 * V3 keystores (by default the dev-only ones in devnet/). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto/eip712.h"
#include "core/crypto/keystore.h"
#include "mediator/mediator.h"

typedef struct demo_options {
    const char *node_url;
    const char *consumer_keystore;
    const char *provider_keystore;
    const char *password_file;
    unsigned requests;
    pc_u256 cost;
    pc_u256 deposit;
    uint64_t redemption_timeout;
    uint64_t termination_timeout;
} demo_options;

typedef struct demo {
    demo_options opt;
    pc_rpc *rpc;
    pc_secp *secp;
    uint64_t chain_id;
    pc_wallet *consumer;
    pc_wallet *provider;
    pc_address mediator;
    pc_u256 consumer_fees, provider_fees; /* gas paid by each side, in wei */
} demo;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: paychan-demo [options]\n"
            "\n"
            "Runs one payment-channel round trip on an Ethereum node: deploy a Mediator,\n"
            "deposit, sign and check N request tokens, redeem the newest in two phases,\n"
            "pay out, and close the channel through the consumer.\n"
            "\n"
            "  --node URL                JSON-RPC URL (env ETH_NODE_URL; default http://127.0.0.1:8545)\n"
            "  --consumer-keystore FILE  consumer's V3 keystore (default devnet/dev-only/keystores/consumer.json)\n"
            "  --provider-keystore FILE  provider's V3 keystore (default devnet/dev-only/keystores/persistence.json)\n"
            "  --password-file FILE      password of both keystores (default devnet/dev-only/password.txt)\n"
            "  --requests N              paid requests to simulate (default 50)\n"
            "  --cost WEI                cost per request (default 2000000000, 2 gwei)\n"
            "  --deposit WEI             consumer deposit (default 5000000000000000, 5 finney)\n"
            "  --redemption-timeout S    token redemption grace period (default 2)\n"
            "  --termination-timeout S   consumer termination timeout (default 4)\n"
            "  -h, --help                this text\n");
}

static void die(const char *what, const pc_error *err)
{
    fprintf(stderr, "paychan-demo: %s: %s (code %d)\n", what, err->message, err->code);
    exit(1);
}

static uint64_t parse_u64_or_die(const char *name, const char *text)
{
    pc_u256 v;
    uint64_t out;
    if (pc_u256_parse_dec(text, &v) != 0 || pc_u256_to_u64(&v, &out) != 0) {
        fprintf(stderr, "paychan-demo: %s must be a decimal number, got '%s'\n", name, text);
        exit(2);
    }
    return out;
}

static void parse_options(int argc, char **argv, demo_options *o)
{
    static const struct option longopts[] = {
        {"node", required_argument, 0, 'n'},
        {"consumer-keystore", required_argument, 0, 'c'},
        {"provider-keystore", required_argument, 0, 'p'},
        {"password-file", required_argument, 0, 'w'},
        {"requests", required_argument, 0, 'r'},
        {"cost", required_argument, 0, 'C'},
        {"deposit", required_argument, 0, 'D'},
        {"redemption-timeout", required_argument, 0, 'R'},
        {"termination-timeout", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *env_url = getenv("ETH_NODE_URL");
    o->node_url = env_url && *env_url ? env_url : "http://127.0.0.1:8545";
    o->consumer_keystore = "devnet/dev-only/keystores/consumer.json";
    o->provider_keystore = "devnet/dev-only/keystores/persistence.json";
    o->password_file = "devnet/dev-only/password.txt";
    o->requests = 50;
    o->cost = pc_u256_from_u64(2000000000ull);
    o->deposit = pc_u256_from_u64(5000000000000000ull);
    o->redemption_timeout = 2;
    o->termination_timeout = 4;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': o->node_url = optarg; break;
        case 'c': o->consumer_keystore = optarg; break;
        case 'p': o->provider_keystore = optarg; break;
        case 'w': o->password_file = optarg; break;
        case 'r': o->requests = (unsigned)parse_u64_or_die("--requests", optarg); break;
        case 'C':
        case 'D':
            if (pc_u256_parse_dec(optarg, c == 'C' ? &o->cost : &o->deposit) != 0) {
                fprintf(stderr, "paychan-demo: amounts are decimal wei, got '%s'\n", optarg);
                exit(2);
            }
            break;
        case 'R': o->redemption_timeout = parse_u64_or_die("--redemption-timeout", optarg); break;
        case 'T': o->termination_timeout = parse_u64_or_die("--termination-timeout", optarg); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
}

static pc_wallet *unlock(demo *d, const char *keystore)
{
    uint8_t key[32];
    pc_error err;
    if (pc_keystore_load_file(keystore, d->opt.password_file, key, NULL, &err) != 0)
        die(keystore, &err);
    pc_wallet_options wo = {.chain_id = d->chain_id};
    pc_wallet *w = pc_wallet_create(d->rpc, d->secp, key, &wo, &err);
    pc_wipe(key, sizeof(key));
    if (!w)
        die(keystore, &err);
    return w;
}

static void connect_and_unlock(demo *d)
{
    pc_error err;
    d->secp = pc_secp_create();
    d->rpc = pc_rpc_create(d->opt.node_url, NULL, &err);
    if (!d->secp || !d->rpc)
        die("setup", &err);
    if (pc_rpc_chain_id(d->rpc, &d->chain_id, &err) != 0)
        die("connecting to the node", &err);
    d->consumer = unlock(d, d->opt.consumer_keystore);
    d->provider = unlock(d, d->opt.provider_keystore);
    printf("node %s, chain id %llu\n", d->opt.node_url, (unsigned long long)d->chain_id);
}

static const char *addr_text(const pc_address *a, char buf[PC_ADDRESS_TEXT_LEN])
{
    pc_address_format_checksum(a, buf);
    return buf;
}

static const char *wei_text(const pc_u256 *v, char buf[PC_U256_DEC_LEN])
{
    pc_u256_to_dec(v, buf);
    return buf;
}

static pc_u256 balance_of(demo *d, const pc_address *a)
{
    pc_u256 wei;
    pc_error err;
    if (pc_rpc_get_balance(d->rpc, a, &wei, &err) != 0)
        die("reading a balance", &err);
    return wei;
}

/* Adds a transaction's fee to a side's running gas total and frees the result. */
static void account_fee(pc_u256 *total, pc_tx_result *r)
{
    pc_u256_add(total, total, &r->fee);
    pc_tx_result_free(r);
}

static void open_channel(demo *d, pc_u256 *token_id)
{
    pc_error err;
    pc_tx_result r;
    char a[PC_ADDRESS_TEXT_LEN], w[PC_U256_DEC_LEN];
    pc_mediator_terms terms = {.provider = *pc_wallet_address(d->provider),
                               .cost_per_request = d->opt.cost,
                               .termination_timeout = d->opt.termination_timeout,
                               .token_redemption_timeout = d->opt.redemption_timeout};
    *token_id = pc_mediator_random_token_id();
    /* A chain without the MediatorFactory gets it from the consumer, once: its fee counts too. */
    if (pc_mediator_factory_ensure(d->consumer, &r, &err) != 0)
        die("deploying the MediatorFactory", &err);
    if (r.sent)
        printf("deployed the MediatorFactory (gas %llu, once per chain)\n",
               (unsigned long long)r.gas_used);
    account_fee(&d->consumer_fees, &r);
    if (pc_mediator_deploy(d->consumer, &terms, token_id, &d->mediator, &r, NULL, &err) != 0)
        die("deploying the Mediator", &err);
    printf("opened Mediator %s through the factory (gas %llu)\n", addr_text(&d->mediator, a),
           (unsigned long long)r.gas_used);
    account_fee(&d->consumer_fees, &r);
    if (pc_mediator_deposit(d->consumer, &d->mediator, &d->opt.deposit, &r, NULL, &err) != 0)
        die("depositing", &err);
    printf("consumer deposited %s wei\n", wei_text(&d->opt.deposit, w));
    account_fee(&d->consumer_fees, &r);
}

/* The consumer signs one token per request; the provider checks each one off
 * chain exactly as its Payment Server will: signer, and a rising count. */
static pc_signature pay_requests(demo *d, const pc_u256 *token_id)
{
    pc_signature sig = {0};
    uint8_t domain[32], digest[32];
    pc_eip712_domain_separator(d->chain_id, &d->mediator, domain);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned count = 1; count <= d->opt.requests; count++) {
        pc_u256 n = pc_u256_from_u64(count);
        pc_address signer;
        pc_eip712_payment_token_digest(domain, pc_wallet_address(d->consumer), token_id, &n,
                                       digest);
        if (pc_wallet_sign_digest(d->consumer, digest, &sig) != 0 ||
            pc_ecdsa_recover(d->secp, digest, &sig, &signer) != 0 ||
            !pc_address_equal(&signer, pc_wallet_address(d->consumer))) {
            fprintf(stderr, "paychan-demo: token %u did not verify\n", count);
            exit(1);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
    printf("consumer signed %u tokens, provider verified each (%.1f us per sign+recover)\n",
           d->opt.requests, d->opt.requests ? us / d->opt.requests : 0.0);
    return sig;
}

/* Sleeps until the chain's clock is past `deadline` (unix seconds). */
static void wait_for_chain_time(demo *d, uint64_t deadline, const char *what)
{
    printf("waiting for the %s to pass...\n", what);
    for (;;) {
        if ((uint64_t)time(NULL) > deadline) {
            uint64_t now = 0;
            pc_error err;
            if (pc_rpc_get_block_timestamp(d->rpc, &now, &err) != 0)
                die("reading the chain time", &err);
            /* With instant mining the next block takes the wall clock time. */
            if (now > deadline || (uint64_t)time(NULL) > deadline + 1)
                return;
        }
        usleep(200 * 1000);
    }
}

static void redeem_and_payout(demo *d, const pc_signature *newest)
{
    pc_error err;
    pc_tx_result r;
    pc_abi_revert rev;
    pc_mediator_state st;
    char w[PC_U256_DEC_LEN];
    pc_u256 next_id = pc_mediator_random_token_id(), count = pc_u256_from_u64(d->opt.requests);
    if (pc_mediator_start_token_redemption(d->provider, &d->mediator, &next_id, &r, NULL, &err))
        die("starting the redemption", &err);
    account_fee(&d->provider_fees, &r);
    if (pc_mediator_read_state(d->rpc, &d->mediator, &st, &err) != 0)
        die("reading the Mediator", &err);
    printf("provider started redeeming; grace period ends at %llu\n",
           (unsigned long long)st.soon_expiring_timeout);
    /* Redeeming early is refused by the contract (code 30), found by simulation, no gas spent. */
    if (pc_mediator_redeem_token(d->provider, &d->mediator, &count, newest, NULL, &rev, &err) == 0) {
        fprintf(stderr, "paychan-demo: redeeming inside the grace period succeeded\n");
        exit(1);
    }
    printf("early redeem refused as expected: code %d (%s)\n", err.code, err.message);
    wait_for_chain_time(d, st.soon_expiring_timeout, "redemption grace period");
    if (pc_mediator_redeem_token(d->provider, &d->mediator, &count, newest, &r, NULL, &err) != 0)
        die("redeeming", &err);
    account_fee(&d->provider_fees, &r);
    if (pc_mediator_read_state(d->rpc, &d->mediator, &st, &err) != 0)
        die("reading the Mediator", &err);
    printf("provider redeemed %u requests: provider funds %s wei\n", d->opt.requests,
           wei_text(&st.provider_funds, w));
    if (pc_mediator_payout(d->provider, &d->mediator, &r, NULL, &err) != 0)
        die("paying out", &err);
    account_fee(&d->provider_fees, &r);
    printf("provider paid out\n");
}

static void close_channel(demo *d)
{
    pc_error err;
    pc_tx_result r;
    pc_mediator_state st;
    if (pc_mediator_start_close(d->consumer, &d->mediator, &r, NULL, &err) != 0)
        die("starting the termination", &err);
    account_fee(&d->consumer_fees, &r);
    if (pc_mediator_read_state(d->rpc, &d->mediator, &st, &err) != 0)
        die("reading the Mediator", &err);
    printf("consumer started termination at %llu\n",
           (unsigned long long)st.termination_started_at);
    wait_for_chain_time(d, st.termination_started_at + d->opt.termination_timeout,
                        "termination timeout");
    if (pc_mediator_finalize_close(d->consumer, &d->mediator, &r, NULL, &err) != 0)
        die("finalizing the termination", &err);
    account_fee(&d->consumer_fees, &r);
    if (pc_mediator_is_terminated(d->rpc, &d->mediator, &st.terminated, &err) != 0 ||
        !st.terminated)
        die("checking the termination", &err);
    printf("Mediator terminated; remaining deposit returned to the consumer\n");
}

/* Prints a side's balance change and checks it to the wei: before + expected
 * - gas fees == after. */
static int report_side(const char *who, const pc_u256 *before, const pc_u256 *after,
                       const pc_u256 *earned, int earned_is_gain, const pc_u256 *fees)
{
    pc_u256 expected = *before;
    char a[PC_U256_DEC_LEN], b[PC_U256_DEC_LEN], e[PC_U256_DEC_LEN], f[PC_U256_DEC_LEN];
    if (earned_is_gain)
        pc_u256_add(&expected, &expected, earned);
    else
        pc_u256_sub(&expected, &expected, earned);
    pc_u256_sub(&expected, &expected, fees);
    int ok = pc_u256_cmp(&expected, after) == 0;
    printf("%-9s balance %s -> %s wei (%s %s wei for requests, %s wei gas) %s\n", who,
           wei_text(before, a), wei_text(after, b), earned_is_gain ? "earned" : "paid",
           wei_text(earned, e), wei_text(fees, f), ok ? "[exact]" : "[MISMATCH]");
    return ok;
}

int main(int argc, char **argv)
{
    demo d = {0};
    parse_options(argc, argv, &d.opt);
    connect_and_unlock(&d);
    const pc_address *consumer = pc_wallet_address(d.consumer);
    const pc_address *provider = pc_wallet_address(d.provider);
    pc_u256 consumer_before = balance_of(&d, consumer), provider_before = balance_of(&d, provider);

    pc_u256 token_id;
    open_channel(&d, &token_id);
    pc_signature newest = pay_requests(&d, &token_id);
    redeem_and_payout(&d, &newest);
    close_channel(&d);

    pc_u256 earned, count = pc_u256_from_u64(d.opt.requests);
    pc_u256_mul(&earned, &count, &d.opt.cost);
    pc_u256 consumer_after = balance_of(&d, consumer), provider_after = balance_of(&d, provider);
    int ok = report_side("consumer", &consumer_before, &consumer_after, &earned, 0, &d.consumer_fees);
    ok &= report_side("provider", &provider_before, &provider_after, &earned, 1, &d.provider_fees);

    pc_wallet_destroy(d.consumer);
    pc_wallet_destroy(d.provider);
    pc_rpc_destroy(d.rpc);
    pc_secp_destroy(d.secp);
    return ok ? 0 : 1;
}
