/* bench_core: throughput of the core's hot operations on one core: the
 * per-request work of a Payment Server (EIP-712 digest, secp256k1 sign and
 * recover) and its building blocks. Not a test: run it and write the figures
 * into docs/benchmarks.md.
 *
 *   build/bench/bench_core [seconds-per-case]   (default 1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crypto/ecdsa.h"
#include "core/crypto/eip712.h"
#include "core/crypto/hash.h"
#include "core/encoding/rlp.h"
#include "core/chain/tx.h"

typedef struct bench_state {
    pc_secp *secp;
    uint8_t key[32];
    uint8_t digest[32];
    uint8_t domain[32];
    uint8_t input[104];
    pc_signature sig;
    pc_address mediator, consumer;
    pc_u256 token_id;
    uint64_t counter;
} bench_state;

typedef void (*bench_fn)(bench_state *s);

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void op_keccak(bench_state *s)
{
    pc_keccak256(s->input, sizeof(s->input), s->digest);
}

static void op_sign(bench_state *s)
{
    s->digest[0] = (uint8_t)s->counter++;
    pc_ecdsa_sign(s->secp, s->key, s->digest, &s->sig);
}

static void op_recover(bench_state *s)
{
    pc_address who;
    if (pc_ecdsa_recover(s->secp, s->digest, &s->sig, &who) != 0)
        abort();
}

static void op_token_digest(bench_state *s)
{
    pc_u256 count = pc_u256_from_u64(++s->counter);
    pc_eip712_payment_token_digest(s->domain, &s->consumer, &s->token_id, &count, s->digest);
}

/* What createSignatureHeaders costs in crypto: digest + sign. */
static void op_token_sign(bench_state *s)
{
    op_token_digest(s);
    pc_ecdsa_sign(s->secp, s->key, s->digest, &s->sig);
}

/* What validateToken costs in crypto: digest + recover + compare. */
static void op_token_verify(bench_state *s)
{
    pc_u256 count = pc_u256_from_u64(s->counter);
    pc_address who;
    pc_eip712_payment_token_digest(s->domain, &s->consumer, &s->token_id, &count, s->digest);
    if (pc_ecdsa_recover(s->secp, s->digest, &s->sig, &who) != 0 ||
        !pc_address_equal(&who, &s->consumer))
        abort();
}

static void op_tx_sign(bench_state *s)
{
    pc_bytes raw = {0};
    pc_tx tx = {.type = PC_TX_EIP1559, .chain_id = 31337, .nonce = s->counter++,
                .gas_limit = 100000, .has_to = 1, .to = s->mediator};
    tx.max_fee_per_gas = pc_u256_from_u64(2000000000);
    tx.max_priority_fee_per_gas = pc_u256_from_u64(1000000000);
    tx.data = s->input;
    tx.data_len = 100;
    if (pc_tx_sign(s->secp, &tx, s->key, &raw, NULL, NULL) != 0)
        abort();
    pc_bytes_free(&raw);
}

static void run(const char *name, bench_fn fn, bench_state *s, double seconds)
{
    for (int i = 0; i < 100; i++) /* warm up */
        fn(s);
    long n = 0;
    double start = now_s(), elapsed;
    do {
        for (int i = 0; i < 200; i++)
            fn(s);
        n += 200;
        elapsed = now_s() - start;
    } while (elapsed < seconds);
    printf("%-34s %12.0f ops/s %10.2f us/op\n", name, (double)n / elapsed, elapsed * 1e6 / (double)n);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    bench_state s = {0};
    s.secp = pc_secp_create();
    memset(s.key, 0x42, sizeof(s.key));
    memset(s.input, 0xab, sizeof(s.input));
    memset(s.mediator.bytes, 0x11, sizeof(s.mediator.bytes));
    pc_secret_to_address(s.secp, s.key, &s.consumer);
    s.token_id = pc_u256_from_u64(0x1234567890abcdefull);
    pc_eip712_domain_separator(31337, &s.mediator, s.domain);

    printf("bench_core: one thread, %.1f s per case\n", seconds);
    run("keccak256 (104 bytes)", op_keccak, &s, seconds);
    run("secp256k1 sign (RFC 6979)", op_sign, &s, seconds);
    run("secp256k1 recover", op_recover, &s, seconds);
    run("EIP-712 token digest", op_token_digest, &s, seconds);
    run("token sign (digest + sign)", op_token_sign, &s, seconds);
    run("token verify (digest + recover)", op_token_verify, &s, seconds);
    run("EIP-1559 tx sign (100 B data)", op_tx_sign, &s, seconds);
    pc_secp_destroy(s.secp);
    return 0;
}
