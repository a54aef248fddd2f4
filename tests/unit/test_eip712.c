/* EIP-712 PaymentToken hashing and signing, checked byte for byte against an
 * independent implementation: tests/fixtures/eip712/payment-tokens.json was
 * written by ethers 6 (TypedDataEncoder.hashDomain / hashStruct / hash,
 * Wallet.signTypedData) through make-fixtures.mjs next to it. RFC 6979 makes
 * the signatures deterministic, so ours must equal ethers' exactly. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/crypto/ecdsa.h"
#include "core/crypto/eip712.h"
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"
#include "support/fixtures.h"

/* One fixture case, parsed. */
typedef struct token_case {
    const char *name;
    uint8_t seckey[32];
    pc_address signer, mediator, consumer;
    uint64_t chain_id;
    pc_u256 token_id, request_count;
    const char *domain_separator, *struct_hash, *digest, *signature; /* hex */
} token_case;

typedef struct fixture {
    json_t *root;
    token_case cases[16];
    size_t n;
    pc_secp *secp;
} fixture;

static const char *field(json_t *obj, const char *key)
{
    const char *text = json_string_value(json_object_get(obj, key));
    assert_non_null(text);
    return text;
}

static void parse_case(json_t *obj, token_case *c)
{
    pc_u256 chain;
    c->name = field(obj, "name");
    assert_int_equal(pc_hex_decode(field(obj, "secretKey"), c->seckey, 32), 0);
    assert_int_equal(pc_address_parse(field(obj, "signer"), &c->signer), 0);
    assert_int_equal(pc_address_parse(field(obj, "mediator"), &c->mediator), 0);
    assert_int_equal(pc_address_parse(field(obj, "consumer"), &c->consumer), 0);
    assert_int_equal(pc_u256_parse_dec(field(obj, "chainId"), &chain), 0);
    assert_int_equal(pc_u256_to_u64(&chain, &c->chain_id), 0);
    assert_int_equal(pc_u256_parse_dec(field(obj, "tokenId"), &c->token_id), 0);
    assert_int_equal(pc_u256_parse_dec(field(obj, "requestCount"), &c->request_count), 0);
    c->domain_separator = field(obj, "domainSeparator");
    c->struct_hash = field(obj, "structHash");
    c->digest = field(obj, "digest");
    c->signature = field(obj, "signature");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char *text = pc_test_read_fixture("eip712/payment-tokens.json", NULL);
    assert_non_null(text);
    json_error_t jerr;
    f->root = json_loads(text, 0, &jerr);
    free(text);
    assert_non_null(f->root);
    json_t *cases = json_object_get(f->root, "cases");
    f->n = json_array_size(cases);
    assert_true(f->n >= 5 && f->n <= sizeof f->cases / sizeof f->cases[0]);
    for (size_t i = 0; i < f->n; i++)
        parse_case(json_array_get(cases, i), &f->cases[i]);
    f->secp = pc_secp_create();
    assert_non_null(f->secp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pc_secp_destroy(f->secp);
    json_decref(f->root);
    free(f);
    return 0;
}

static void assert_hash(const uint8_t got[32], const char *expected_hex, const char *what,
                        const char *case_name)
{
    char text[67];
    pc_hex_encode(got, 32, text);
    if (strcmp(text, expected_hex) != 0)
        fail_msg("%s of \"%s\": got %s, ethers %s", what, case_name, text, expected_hex);
}

/* The constant type hashes are set up on first use; many threads racing to
 * be first must all get the same (correct) domain separator. */
typedef struct race_arg {
    const token_case *c;
    uint8_t out[32];
} race_arg;

static void *race(void *p)
{
    race_arg *a = p;
    pc_eip712_domain_separator(a->c->chain_id, &a->c->mediator, a->out);
    return NULL;
}

static void test_first_use_from_many_threads(void **state)
{
    fixture *f = *state;
    enum { N = 8 };
    pthread_t threads[N];
    race_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i].c = &f->cases[i % f->n];
        assert_int_equal(pthread_create(&threads[i], NULL, race, &args[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_hash(args[i].out, args[i].c->domain_separator, "domain separator", args[i].c->name);
    }
}

static void test_hashes_match_ethers(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        const token_case *c = &f->cases[i];
        uint8_t domain[32], token[32], digest[32];
        pc_eip712_domain_separator(c->chain_id, &c->mediator, domain);
        assert_hash(domain, c->domain_separator, "domain separator", c->name);
        pc_eip712_payment_token_hash(&c->consumer, &c->token_id, &c->request_count, token);
        assert_hash(token, c->struct_hash, "struct hash", c->name);
        pc_eip712_payment_token_digest(domain, &c->consumer, &c->token_id, &c->request_count,
                                       digest);
        assert_hash(digest, c->digest, "digest", c->name);
    }
}

static void test_signatures_match_ethers(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        const token_case *c = &f->cases[i];
        pc_signature sig;
        char hex[PC_SIGNATURE_HEX_LEN];
        assert_int_equal(pc_payment_token_sign(f->secp, c->seckey, c->chain_id, &c->mediator,
                                               &c->consumer, &c->token_id, &c->request_count,
                                               &sig),
                         0);
        pc_signature_to_hex(&sig, hex);
        if (strcmp(hex, c->signature) != 0)
            fail_msg("signature of \"%s\": got %s, ethers %s", c->name, hex, c->signature);
    }
}

static void test_recover_ethers_signatures(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        const token_case *c = &f->cases[i];
        pc_signature sig;
        pc_address signer;
        assert_int_equal(pc_signature_from_hex(c->signature, &sig), 0);
        assert_int_equal(pc_payment_token_recover(f->secp, c->chain_id, &c->mediator, &c->consumer,
                                                  &c->token_id, &c->request_count, &sig, &signer),
                         0);
        assert_true(pc_address_equal(&signer, &c->signer));
    }
}

/* 1 if sig over the given fields recovers to `who` (a failed recovery counts as no). */
static int recovers_to(const fixture *f, uint64_t chain_id, const pc_address *mediator,
                       const pc_address *consumer, const pc_u256 *token_id, const pc_u256 *count,
                       const pc_signature *sig, const pc_address *who)
{
    pc_address signer;
    if (pc_payment_token_recover(f->secp, chain_id, mediator, consumer, token_id, count, sig,
                                 &signer) != 0)
        return 0;
    return pc_address_equal(&signer, who);
}

/* A token is bound to its chain, Mediator and fields: changing any of them
 * makes the signature recover to somebody else. */
static void test_token_does_not_replay(void **state)
{
    fixture *f = *state;
    const token_case *c = &f->cases[0];
    assert_true(c->chain_id == 1);
    pc_signature sig;
    assert_int_equal(pc_signature_from_hex(c->signature, &sig), 0);
    assert_true(recovers_to(f, 1, &c->mediator, &c->consumer, &c->token_id, &c->request_count,
                            &sig, &c->signer));

    assert_false(recovers_to(f, 31337, &c->mediator, &c->consumer, &c->token_id,
                             &c->request_count, &sig, &c->signer));
    pc_address other_mediator = c->mediator;
    other_mediator.bytes[19] ^= 1;
    assert_false(recovers_to(f, 1, &other_mediator, &c->consumer, &c->token_id, &c->request_count,
                             &sig, &c->signer));
    pc_address other_consumer = c->consumer;
    other_consumer.bytes[0] ^= 0x80;
    assert_false(recovers_to(f, 1, &c->mediator, &other_consumer, &c->token_id, &c->request_count,
                             &sig, &c->signer));
    pc_u256 more = pc_u256_from_u64(2);
    assert_false(recovers_to(f, 1, &c->mediator, &c->consumer, &c->token_id, &more, &sig,
                             &c->signer));
    assert_false(recovers_to(f, 1, &c->mediator, &c->consumer, &more, &c->request_count, &sig,
                             &c->signer));
}

static void test_invalid_key_and_signature(void **state)
{
    fixture *f = *state;
    const token_case *c = &f->cases[0];
    uint8_t zero_key[32] = {0};
    pc_signature sig;
    assert_int_equal(pc_payment_token_sign(f->secp, zero_key, c->chain_id, &c->mediator,
                                           &c->consumer, &c->token_id, &c->request_count, &sig),
                     -1);
    /* r = 0 is no signature at all */
    assert_int_equal(pc_signature_from_hex(c->signature, &sig), 0);
    memset(sig.r, 0, sizeof sig.r);
    pc_address signer;
    assert_int_equal(pc_payment_token_recover(f->secp, c->chain_id, &c->mediator, &c->consumer,
                                              &c->token_id, &c->request_count, &sig, &signer),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_use_from_many_threads),
        cmocka_unit_test(test_hashes_match_ethers),
        cmocka_unit_test(test_signatures_match_ethers),
        cmocka_unit_test(test_recover_ethers_signatures),
        cmocka_unit_test(test_token_does_not_replay),
        cmocka_unit_test(test_invalid_key_and_signature),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
