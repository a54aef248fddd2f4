/* The in-memory store of used request signatures: a nonce is fresh once
 * until it expires, the table grows and sheds expired entries, and
 * concurrent claims of the same nonces succeed exactly once each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/crypto/hash.h"
#include "server/nonce_cache.h"

static void nonce_of(uint64_t i, uint8_t out[32])
{
    pc_keccak256((const uint8_t *)&i, sizeof(i), out);
}

static void test_fresh_once_until_expiry(void **state)
{
    (void)state;
    pc_nonce_cache *c = pc_nonce_cache_create();
    uint8_t n[32];
    nonce_of(1, n);
    assert_int_equal(pc_nonce_cache_claim(c, n, 160, 100), 1);
    assert_int_equal(pc_nonce_cache_claim(c, n, 160, 100), 0);
    assert_int_equal(pc_nonce_cache_claim(c, n, 170, 159), 0);
    assert_int_equal(pc_nonce_cache_claim(c, n, 220, 160), 1); /* expired: fresh again */
    assert_int_equal(pc_nonce_cache_claim(c, n, 220, 161), 0);
    pc_nonce_cache_destroy(c);
}

static void test_growth_and_expiry_sweep(void **state)
{
    (void)state;
    pc_nonce_cache *c = pc_nonce_cache_create();
    uint8_t n[32];
    for (uint64_t i = 0; i < 50000; i++) {
        nonce_of(i, n);
        assert_int_equal(pc_nonce_cache_claim(c, n, 1000 + i / 1000, 900), 1);
    }
    for (uint64_t i = 0; i < 50000; i += 97) {
        nonce_of(i, n);
        assert_int_equal(pc_nonce_cache_claim(c, n, 2000, 900), 0);
    }
    /* much later: all expired, each may be used again, and the table is rebuilt without them */
    for (uint64_t i = 0; i < 50000; i++) {
        nonce_of(i, n);
        assert_int_equal(pc_nonce_cache_claim(c, n, 9000, 5000), 1);
    }
    pc_nonce_cache_destroy(c);
}

#define N_THREADS 8
#define N_NONCES 5000

typedef struct claimer {
    pc_nonce_cache *c;
    int won;
} claimer;

static void *claim_all(void *arg)
{
    claimer *k = arg;
    uint8_t n[32];
    for (uint64_t i = 0; i < N_NONCES; i++) {
        nonce_of(i, n);
        k->won += pc_nonce_cache_claim(k->c, n, 200, 100) == 1;
    }
    return NULL;
}

static void test_concurrent_claims(void **state)
{
    (void)state;
    pc_nonce_cache *c = pc_nonce_cache_create();
    claimer k[N_THREADS];
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        k[i] = (claimer){c, 0};
        pthread_create(&t[i], NULL, claim_all, &k[i]);
    }
    int total = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        total += k[i].won;
    }
    assert_int_equal(total, N_NONCES);
    pc_nonce_cache_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_once_until_expiry),
        cmocka_unit_test(test_growth_and_expiry_sweep),
        cmocka_unit_test(test_concurrent_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
