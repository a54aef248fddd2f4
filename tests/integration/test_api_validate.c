/* Integration: validateToken on the provider's paychand (docs/protocol.md §5) over real
 * HTTP against a real anvil, with tokens made by the consumer's paychand
 * (createSignatureHeaders) or forged in the test: in-order and out-of-order
 * counts, every refusal with its code and metadata, the order of the checks,
 * concurrent offers of the same counts, and acknowledged counts surviving a
 * restart.
 *
 * The storage backend is the program's argument: sqlite (default), redis
 * (a redis-server started here) or memory; CTest runs all three. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/integration.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

/* validateToken through client `who` (the provider by default) must fail with code. */
#define expect_refused(t, who, tok, terms, code) \
    expect_refused_at((t), (who), (tok), (terms), (code), __FILE__, __LINE__)
static void expect_refused_at(pc_itest *t, int who, const pc_itest_token *tok,
                              const pc_itest_terms *terms, long code, const char *file, int line)
{
    pc_test_reply r;
    pc_itest_validate(t, t->client[who], tok, terms, &r);
    pc_itest_expect_error_at(&r, 412, code, file, line);
    pc_test_reply_free(&r);
}

/* Refused with 37 and metadata actualCount = highest. */
#define expect_replay(t, tok, highest) expect_replay_at((t), (tok), (highest), __FILE__, __LINE__)
static void expect_replay_at(pc_itest *t, const pc_itest_token *tok, long long highest,
                             const char *file, int line)
{
    pc_test_reply r;
    pc_itest_validate(t, NULL, tok, &TERMS, &r);
    pc_itest_expect_error_at(&r, 412, PC_ERR_COUNT_USED, file, line);
    json_t *actual = json_object_get(json_object_get(r.body, "metadata"), "actualCount");
    if (!json_is_integer(actual) || json_integer_value(actual) != highest)
        pc_itest_fail_at(file, line, "expected metadata.actualCount %lld: %s", highest, r.text);
    pc_test_reply_free(&r);
}

/* The active token id of m as a u256. */
static pc_u256 active_id(pc_itest *t, const pc_address *m)
{
    pc_mediator_state st;
    pc_itest_state(t, m, &st);
    return st.active_token_id;
}

/* ---- acceptance ---------------------------------------------------------------------------- */

/* Both servers run the backend under test ("sqlite:PATH", "redis:HOST:PORT", "memory"). */
static void test_backend_in_use(void **state)
{
    pc_itest *t = *state;
    const pc_test_paychand *servers[] = {t->consumer_server, t->provider_server};
    for (int i = 0; i < 2; i++) {
        pc_test_reply r;
        pc_itest_status(servers[i], &r);
        it_expect_ok(&r);
        const char *storage = pc_test_reply_string(&r, "storage");
        assert_non_null(storage);
        assert_int_equal(strncmp(storage, t->opts.store, strlen(t->opts.store)), 0);
        pc_test_reply_free(&r);
    }
}

static void test_in_order_counts(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok[3];
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    for (int i = 0; i < 3; i++) {
        it_headers(t, IT_CONSUMER, &m, &tok[i]);
        assert_int_equal(tok[i].count, i + 1);
        it_validate_ok(t, &tok[i], &TERMS);
    }
    expect_replay(t, &tok[2], 3);
    expect_replay(t, &tok[0], 3);
    /* addresses as ethers and other clients print them: EIP-55 mixed case */
    pc_itest_token mixed;
    it_headers(t, IT_CONSUMER, &m, &mixed);
    pc_address_format_checksum(&t->addr[IT_CONSUMER], mixed.sender);
    pc_address_format_checksum(&m, mixed.mediator);
    it_validate_ok(t, &mixed, &TERMS);
}

/* Skipped counts are accepted once when they arrive late; replays are not. */
static void test_out_of_order_counts(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok[7];
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    for (int i = 1; i <= 6; i++)
        it_headers(t, IT_CONSUMER, &m, &tok[i]);
    const int order[] = {1, 4, 2, 6, 3, 5};
    for (int i = 0; i < 6; i++)
        it_validate_ok(t, &tok[order[i]], &TERMS);
    for (int i = 1; i <= 6; i++)
        expect_replay(t, &tok[i], 6);
    pc_u256 id = active_id(t, &m);
    pc_itest_token zero;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 0, &zero);
    expect_refused(t, IT_PROVIDER, &zero, &TERMS, PC_ERR_COUNT_USED);
    pc_itest_token far;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 100, &far); /* a jump is fine */
    it_validate_ok(t, &far, &TERMS);
    expect_replay(t, &tok[6], 100);
}

/* ---- refusals, one per check of protocol §5 -------------------------------------------------- */

static void test_forged_signature(void **state)
{
    pc_itest *t = *state;
    pc_address m, other;
    pc_itest_token tok;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    it_open_channel(t, &TERMS, 0, &other, NULL);
    pc_u256 id = active_id(t, &m);
    pc_itest_sign_token(t, IT_STRANGER, IT_CONSUMER, &m, &id, 1, &tok); /* wrong key */
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_TOKEN_SIGNATURE);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 2, &tok);
    tok.count = 3; /* a signature for another count */
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_TOKEN_SIGNATURE);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &other, &id, 4, &tok);
    pc_address_format(&m, tok.mediator); /* signed for another Mediator */
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_TOKEN_SIGNATURE);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 5, &tok);
    tok.signature[2 + 64 + 7] = tok.signature[2 + 64 + 7] == 'a' ? 'b' : 'a'; /* a bit of s */
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_TOKEN_SIGNATURE);
    snprintf(tok.signature, sizeof tok.signature, "0x1234");
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_TOKEN_SIGNATURE);
    /* none of them used a count: the genuine token of count 1 is still good */
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 1, &tok);
    it_validate_ok(t, &tok, &TERMS);
}

/* Another consumer's genuine signature does not pay for this Mediator. */
static void test_another_consumers_token(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    pc_u256 id = active_id(t, &m);
    pc_itest_sign_token(t, IT_CONSUMER2, IT_CONSUMER2, &m, &id, 1, &tok);
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_TOKEN_SIGNATURE);
    pc_address theirs; /* consumer 2's own Mediator to B, its token shown for m */
    it_use_service(t, IT_CONSUMER2, &TERMS, 0, &theirs);
    it_headers(t, IT_CONSUMER2, &theirs, &tok);
    pc_address_format(&m, tok.mediator);
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_TOKEN_SIGNATURE);
}

/* Only the Mediator's provider may validate its tokens. */
static void test_wrong_caller(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    it_headers(t, IT_CONSUMER, &m, &tok);
    expect_refused(t, IT_STRANGER, &tok, &TERMS, PC_ERR_ONLY_PROVIDER);
    expect_refused(t, IT_CONSUMER, &tok, &TERMS, PC_ERR_ONLY_PROVIDER);
    it_validate_ok(t, &tok, &TERMS); /* the refusals did not use the count */
}

static void test_terminated_mediator(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok;
    pc_test_reply r;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    it_headers(t, IT_CONSUMER, &m, &tok);
    it_validate_ok(t, &tok, &TERMS);
    it_headers(t, IT_CONSUMER, &m, &tok);
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/terminate", pc_itest_addr(&m));
    it_expect_ok(&r);
    assert_true(json_is_true(json_object_get(r.body, "terminated")));
    pc_test_reply_free(&r);
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_TERMINATED);
    /* (the consumer's server may cache the flag for a quarter of the
     * termination timeout: test_api_duties checks it refuses tokens after that) */
}

static void test_terms_mismatch(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    it_headers(t, IT_CONSUMER, &m, &tok);
    const pc_itest_terms wrong[] = {
        {TERMS.cost + 1, TERMS.termination, TERMS.redemption},
        {TERMS.cost, TERMS.termination + 1, TERMS.redemption},
        {TERMS.cost, TERMS.termination - 1, TERMS.redemption},
        {TERMS.cost, TERMS.termination, TERMS.redemption + 1},
        {TERMS.cost, TERMS.termination, TERMS.redemption - 1},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        expect_refused(t, IT_PROVIDER, &tok, &wrong[i], PC_ERR_TERMS_MISMATCH);
    const pc_itest_terms cheaper = {TERMS.cost - 1, TERMS.termination, TERMS.redemption};
    it_validate_ok(t, &tok, &cheaper); /* a Mediator paying more than asked is fine */
}

static void test_unknown_token_id(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok;
    pc_test_reply r;
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    pc_u256 id = active_id(t, &m);
    id.limb[0] ^= 0x5a5a; /* a neighbour of the active id, correctly signed */
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 1, &tok);
    pc_itest_validate(t, NULL, &tok, &TERMS, &r);
    it_expect_error(&r, 412, PC_ERR_UNKNOWN_TOKEN_ID);
    const char *named = json_string_value(
        json_object_get(json_object_get(r.body, "metadata"), "tokenID"));
    assert_non_null(named);
    assert_string_equal(named, pc_itest_dec(&id));
    pc_test_reply_free(&r);
}

static void test_insufficient_funds(void **state)
{
    pc_itest *t = *state;
    pc_address m, empty;
    pc_itest_token tok;
    it_open_channel(t, &TERMS, 5 * TERMS.cost, &m, NULL); /* covers exactly five requests */
    pc_u256 id = active_id(t, &m);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 6, &tok);
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_INSUFFICIENT_FUNDS);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 5, &tok);
    it_validate_ok(t, &tok, &TERMS);
    it_open_channel(t, &TERMS, 0, &empty, NULL);
    it_headers(t, IT_CONSUMER, &empty, &tok);
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_INSUFFICIENT_FUNDS);
}

/* Several failures at once answer the first in the order of docs/protocol.md §5:
 * signature 4 < caller 2 < terms 38 < token id 36 < funds 34 < count 37. */
static void test_order_of_checks(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok;
    it_open_channel(t, &TERMS, 3 * TERMS.cost, &m, NULL);
    pc_u256 id = active_id(t, &m), unknown = id;
    unknown.limb[1] ^= 1;
    const pc_itest_terms wrong = {TERMS.cost + 1, TERMS.termination, TERMS.redemption};
    pc_itest_sign_token(t, IT_STRANGER, IT_CONSUMER, &m, &unknown, 9, &tok);
    expect_refused(t, IT_STRANGER, &tok, &wrong, PC_ERR_TOKEN_SIGNATURE);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &unknown, 9, &tok);
    expect_refused(t, IT_STRANGER, &tok, &wrong, PC_ERR_ONLY_PROVIDER);
    expect_refused(t, IT_PROVIDER, &tok, &wrong, PC_ERR_TERMS_MISMATCH);
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_UNKNOWN_TOKEN_ID);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 2, &tok);
    it_validate_ok(t, &tok, &TERMS);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 9, &tok);
    expect_refused(t, IT_PROVIDER, &tok, &TERMS, PC_ERR_INSUFFICIENT_FUNDS);
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 2, &tok);
    expect_replay(t, &tok, 2);
}

/* ---- concurrency and durability --------------------------------------------------------------- */

#define OFFERS 40
#define OFFER_THREADS 4

typedef struct offerer {
    pc_itest *t;
    const pc_itest_token *tokens; /* [1..OFFERS] */
    int seed;
    int accepted[OFFERS + 1];
    int unexpected;
} offerer;

static void *offer_all(void *arg)
{
    offerer *o = arg;
    pc_test_client *c = pc_itest_client(o->t, o->t->provider_server, IT_PROVIDER);
    for (int i = 0; i < OFFERS; i++) {
        static const int step[OFFER_THREADS] = {1, 3, 7, 9}; /* coprime to OFFERS */
        int count = 1 + (i * step[o->seed] + o->seed) % OFFERS; /* a permutation per thread */
        pc_test_reply r;
        pc_itest_validate(o->t, c, &o->tokens[count], &TERMS, &r);
        if (r.status == 200 && json_is_true(json_object_get(r.body, "valid")))
            o->accepted[count]++;
        else if (r.status != 412 || pc_test_reply_code(&r) != PC_ERR_COUNT_USED)
            o->unexpected++;
        pc_test_reply_free(&r);
    }
    pc_test_client_destroy(c);
    return NULL;
}

/* Threads offering the same counts in different orders: each count is
 * accepted exactly once, every other offer is a replay (37). */
static void test_concurrent_offers(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    static pc_itest_token tokens[OFFERS + 1];
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    pc_u256 id = active_id(t, &m);
    for (int c = 1; c <= OFFERS; c++)
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, (uint64_t)c, &tokens[c]);
    offerer o[OFFER_THREADS];
    pthread_t th[OFFER_THREADS];
    for (int i = 0; i < OFFER_THREADS; i++) {
        memset(&o[i], 0, sizeof o[i]);
        o[i].t = t;
        o[i].tokens = tokens;
        o[i].seed = i;
        assert_int_equal(pthread_create(&th[i], NULL, offer_all, &o[i]), 0);
    }
    for (int i = 0; i < OFFER_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int c = 1; c <= OFFERS; c++) {
        int total = 0;
        for (int i = 0; i < OFFER_THREADS; i++)
            total += o[i].accepted[c];
        if (total != 1)
            it_fail("count %d accepted %d times", c, total);
    }
    for (int i = 0; i < OFFER_THREADS; i++)
        assert_int_equal(o[i].unexpected, 0);
}

/* SIGTERM exits 0; after the restart, acknowledged counts are still known
 * (replays refused with the right highest count) and new ones accepted. */
static void test_counts_survive_restart(void **state)
{
    pc_itest *t = *state;
    if (strcmp(t->opts.store, "memory") == 0) {
        skip(); /* the memory backend keeps nothing across restarts by design */
    }
    pc_address m;
    pc_itest_token tok[5];
    it_open_channel(t, &TERMS, 1000000, &m, NULL);
    for (int i = 1; i <= 4; i++)
        it_headers(t, IT_CONSUMER, &m, &tok[i]);
    it_validate_ok(t, &tok[1], &TERMS);
    it_validate_ok(t, &tok[3], &TERMS);
    assert_int_equal(pc_test_paychand_stop(t->provider_server), 0);
    assert_int_equal(pc_test_paychand_restart(t->provider_server), 0);
    expect_replay(t, &tok[1], 3);
    expect_replay(t, &tok[3], 3);
    it_validate_ok(t, &tok[2], &TERMS); /* skipped before the restart, still open */
    it_validate_ok(t, &tok[4], &TERMS);
    expect_replay(t, &tok[2], 4);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_in_use),
        cmocka_unit_test(test_in_order_counts),
        cmocka_unit_test(test_out_of_order_counts),
        cmocka_unit_test(test_forged_signature),
        cmocka_unit_test(test_another_consumers_token),
        cmocka_unit_test(test_wrong_caller),
        cmocka_unit_test(test_terminated_mediator),
        cmocka_unit_test(test_terms_mismatch),
        cmocka_unit_test(test_unknown_token_id),
        cmocka_unit_test(test_insufficient_funds),
        cmocka_unit_test(test_order_of_checks),
        cmocka_unit_test(test_concurrent_offers),
        cmocka_unit_test(test_counts_survive_restart),
    };
    return pc_itest_run_on_backend(argc, argv, "sqlite redis memory", tests);
}
