/* The read side of the Mediator binding against a real anvil: terms, state
 * and single getters agree with what was deployed and done; used token ids;
 * the domain separator equals the one the consumer signs with; the event
 * decoder refuses logs that are not well-formed Mediator events; and reads
 * of an address without a Mediator, or from a node that is down, fail
 * cleanly with PC_ERR_NODE (transactions too, before anything is sent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/encoding/abi.h"
#include "core/crypto/eip712.h"
#include "mediator/mediator.h"
#include "support/mediator_fixture.h"

static void test_read_terms(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_mediator_terms terms, got;
    pc_u256 v;
    pc_error err;
    pc_test_default_terms(c, &terms);
    /* a cost wider than 64 bits, and timeouts that differ from each other */
    terms.cost_per_request = (pc_u256){{0x1234, 0x5, 0, 0}};
    terms.termination_timeout = 12345;
    terms.token_redemption_timeout = 678;
    pc_test_channel_open(c, &terms, 0, &ch);

    assert_ok(pc_mediator_read_terms(c->rpc, &ch.mediator, &got, &err), &err);
    assert_true(pc_address_equal(&got.consumer, &c->address[PC_TEST_CONSUMER]));
    assert_true(pc_address_equal(&got.provider, &c->address[PC_TEST_PROVIDER]));
    assert_u256_equal(&got.cost_per_request, &terms.cost_per_request);
    assert_int_equal(got.termination_timeout, 12345);
    assert_int_equal(got.token_redemption_timeout, 678);

    assert_ok(pc_mediator_get_u256(c->rpc, &ch.mediator, "costPerRequest", &v, &err), &err);
    assert_u256_equal(&v, &terms.cost_per_request);
    assert_ok(pc_mediator_get_u256(c->rpc, &ch.mediator, "tokenRedemptionTimeout", &v, &err),
              &err);
    assert_u256_u64(&v, 678);
}

/* read_state and the single getters must say the same. */
static void check_getters(const pc_test_channel *ch, const pc_mediator_state *st)
{
    static const char *const names[] = {"serviceConsumerFunds", "serviceProviderFunds",
                                        "activeTokenId",        "soonExpiringTokenId",
                                        "soonExpiringTokenIdTimeout", "terminationStartedAt"};
    const pc_u256 expect[] = {st->consumer_funds,
                              st->provider_funds,
                              st->active_token_id,
                              st->soon_expiring_token_id,
                              pc_u256_from_u64(st->soon_expiring_timeout),
                              pc_u256_from_u64(st->termination_started_at)};
    pc_error err;
    int terminated = -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pc_u256 v;
        assert_ok(pc_mediator_get_u256(ch->chain->rpc, &ch->mediator, names[i], &v, &err), &err);
        assert_u256_equal(&v, &expect[i]);
    }
    assert_ok(pc_mediator_is_terminated(ch->chain->rpc, &ch->mediator, &terminated, &err), &err);
    assert_int_equal(terminated, st->terminated);
}

static void test_read_state(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_mediator_state st;
    pc_error err;
    pc_test_channel_open(c, NULL, PC_TEST_DEPOSIT, &ch);

    pc_test_read_state(&ch, &st); /* fresh */
    assert_u256_u64(&st.consumer_funds, PC_TEST_DEPOSIT);
    assert_u256_u64(&st.provider_funds, 0);
    assert_u256_equal(&st.active_token_id, &ch.initial_token_id);
    assert_u256_u64(&st.soon_expiring_token_id, 0);
    assert_int_equal(st.soon_expiring_timeout, 0);
    assert_int_equal(st.termination_started_at, 0);
    assert_false(st.terminated);
    check_getters(&ch, &st);

    pc_u256 new_id = pc_test_start_redemption(&ch, NULL);
    uint64_t started = pc_test_now(c);
    assert_ok(pc_mediator_start_close(c->wallet[PC_TEST_CONSUMER], &ch.mediator, NULL, NULL, &err),
              &err);
    pc_test_read_state(&ch, &st); /* redemption running, termination started */
    assert_u256_equal(&st.active_token_id, &new_id);
    assert_u256_equal(&st.soon_expiring_token_id, &ch.initial_token_id);
    assert_int_equal(st.soon_expiring_timeout, started + PC_TEST_REDEMPTION_TIMEOUT);
    assert_int_equal(st.termination_started_at, pc_test_now(c));
    check_getters(&ch, &st);

    assert_ok(pc_mediator_close_by_provider(c->wallet[PC_TEST_PROVIDER], &ch.mediator, NULL, NULL,
                                            &err),
              &err);
    pc_test_read_state(&ch, &st); /* terminated */
    assert_true(st.terminated);
    assert_u256_u64(&st.consumer_funds, 0);
    check_getters(&ch, &st);
}

static void test_token_ids_used(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_error err;
    int used = -1;
    pc_u256 fresh = pc_test_next_token_id(c), zero = pc_u256_from_u64(0);
    pc_test_channel_open(c, NULL, 0, &ch);
    const struct {
        const pc_u256 *id;
        int used;
    } cases[] = {{&ch.initial_token_id, 1}, {&fresh, 0}, {&zero, 0}};
    for (size_t i = 0; i < 3; i++) {
        assert_ok(pc_mediator_is_token_id_used(c->rpc, &ch.mediator, cases[i].id, &used, &err),
                  &err);
        assert_int_equal(used, cases[i].used);
    }
}

/* The contract's separator is the one pc_eip712 computes (and differs per Mediator). */
static void test_domain_separator(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel a, b;
    uint8_t on_chain[32], local[32];
    pc_error err;
    pc_test_channel_open(c, NULL, 0, &a);
    pc_test_channel_open(c, NULL, 0, &b);
    assert_ok(pc_mediator_domain_separator(c->rpc, &a.mediator, on_chain, &err), &err);
    pc_eip712_domain_separator(c->chain_id, &a.mediator, local);
    assert_memory_equal(on_chain, local, 32);
    pc_eip712_domain_separator(c->chain_id, &b.mediator, local);
    assert_memory_not_equal(on_chain, local, 32);
    assert_ok(pc_mediator_domain_separator(c->rpc, &b.mediator, on_chain, &err), &err);
    assert_memory_equal(on_chain, local, 32);
}

/* Only a clone of our implementation opened by our factory, with the terms
 * it claims, passes; a contract whose getters could claim anything (here: a
 * Mediator's code copied to another address, which reads as empty storage,
 * or wrong terms) does not. */
static void test_verify_code(void **state)
{
    pc_test_chain *c = *state;
    pc_test_channel ch;
    pc_mediator_terms terms, other;
    pc_bytes code = {0};
    pc_address copy, eoa;
    int genuine = -1;
    pc_error err;
    pc_test_channel_open(c, NULL, 0, &ch);
    assert_ok(pc_mediator_read_terms(c->rpc, &ch.mediator, &terms, &err), &err);
    assert_ok(pc_mediator_verify_code(c->rpc, &ch.mediator, &terms, &genuine, &err), &err);
    assert_int_equal(genuine, 1);

    other = terms;
    pc_u256 one = pc_u256_from_u64(1);
    pc_u256_add(&other.cost_per_request, &other.cost_per_request, &one);
    assert_ok(pc_mediator_verify_code(c->rpc, &ch.mediator, &other, &genuine, &err), &err);
    assert_int_equal(genuine, 0);
    other = terms;
    other.token_redemption_timeout += 1;
    assert_ok(pc_mediator_verify_code(c->rpc, &ch.mediator, &other, &genuine, &err), &err);
    assert_int_equal(genuine, 0);

    /* the same clone code at another address (a clone of ours that our
     * factory did not create, so never initialized) does not verify */
    assert_ok(pc_rpc_get_code(c->rpc, &ch.mediator, &code, &err), &err);
    memset(copy.bytes, 0x61, sizeof copy.bytes);
    assert_int_equal(pc_test_anvil_set_code(c->anvil, &copy, code.data, code.len), 0);
    assert_ok(pc_mediator_verify_code(c->rpc, &copy, &terms, &genuine, &err), &err);
    assert_int_equal(genuine, 0);
    code.data[code.len / 2] ^= 0xff; /* a tampered copy does not verify */
    assert_int_equal(pc_test_anvil_set_code(c->anvil, &copy, code.data, code.len), 0);
    assert_ok(pc_mediator_verify_code(c->rpc, &copy, &terms, &genuine, &err), &err);
    assert_int_equal(genuine, 0);
    pc_bytes_free(&code);

    pc_test_dev_address(9, &eoa);
    assert_ok(pc_mediator_verify_code(c->rpc, &eoa, &terms, &genuine, &err), &err);
    assert_int_equal(genuine, 0);
}

/* ---- failures ------------------------------------------------------------------------ */

/* Every read of `addr` fails with PC_ERR_NODE. */
static void expect_reads_fail(pc_rpc *rpc, const pc_address *addr)
{
    pc_mediator_terms terms;
    pc_mediator_state st;
    pc_u256 v, id = pc_u256_from_u64(1);
    uint8_t sep[32];
    int flag;
    pc_error err;
    assert_int_equal(pc_mediator_read_terms(rpc, addr, &terms, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(pc_mediator_read_state(rpc, addr, &st, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(pc_mediator_get_u256(rpc, addr, "activeTokenId", &v, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(pc_mediator_is_terminated(rpc, addr, &flag, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(pc_mediator_is_token_id_used(rpc, addr, &id, &flag, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(pc_mediator_domain_separator(rpc, addr, sep, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
}

/* No code, code that stops at once (returns nothing), code that reverts. */
static void test_not_a_mediator(void **state)
{
    pc_test_chain *c = *state;
    pc_address eoa, stop, revert;
    static const uint8_t stop_code[] = {0x00};
    static const uint8_t revert_code[] = {0x60, 0x00, 0x60, 0x00, 0xfd};
    pc_test_dev_address(9, &eoa);
    memset(stop.bytes, 0x51, sizeof stop.bytes);
    memset(revert.bytes, 0x52, sizeof revert.bytes);
    assert_int_equal(pc_test_anvil_set_code(c->anvil, &stop, stop_code, sizeof stop_code), 0);
    assert_int_equal(pc_test_anvil_set_code(c->anvil, &revert, revert_code, sizeof revert_code), 0);
    expect_reads_fail(c->rpc, &eoa);
    expect_reads_fail(c->rpc, &stop);
    expect_reads_fail(c->rpc, &revert);
}

/* A transaction to an address without code is refused before anything is
 * sent: a deposit must not hand ether to whoever owns that address. */
static void test_transaction_to_non_contract(void **state)
{
    pc_test_chain *c = *state;
    pc_address eoa;
    pc_test_account consumer_before, eoa_before, consumer_after, eoa_after;
    pc_u256 amount = pc_u256_from_u64(5000), next = pc_u256_from_u64(77);
    pc_error err;
    pc_test_dev_address(9, &eoa);
    pc_test_account_read(c, &c->address[PC_TEST_CONSUMER], &consumer_before);
    pc_test_account_read(c, &eoa, &eoa_before);
    assert_int_equal(pc_mediator_deposit(c->wallet[PC_TEST_CONSUMER], &eoa, &amount, NULL, NULL,
                                         &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    assert_int_equal(pc_mediator_start_token_redemption(c->wallet[PC_TEST_PROVIDER], &eoa, &next,
                                                        NULL, NULL, &err), -1);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    pc_test_account_read(c, &c->address[PC_TEST_CONSUMER], &consumer_after);
    pc_test_account_read(c, &eoa, &eoa_after);
    assert_u256_equal(&consumer_after.balance, &consumer_before.balance);
    assert_int_equal(consumer_after.nonce, consumer_before.nonce);
    assert_u256_equal(&eoa_after.balance, &eoa_before.balance);
}

/* A URL on which nothing listens: a port the kernel just handed out and took back. */
static void closed_port_url(char *url, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    snprintf(url, cap, "http://127.0.0.1:%d", ntohs(sa.sin_port));
}

/* Transactions from `w` to `m` fail with PC_ERR_NODE. */
static void expect_transactions_fail(pc_wallet *w, const pc_address *m)
{
    pc_mediator_terms terms;
    pc_address deployed;
    pc_u256 one = pc_u256_from_u64(1);
    pc_error err;
    memset(&terms, 0, sizeof terms);
    memset(terms.provider.bytes, 0x77, sizeof terms.provider.bytes);
    terms.cost_per_request = one;
    terms.termination_timeout = terms.token_redemption_timeout = 1;
    assert_int_equal(pc_mediator_deploy(w, &terms, &one, &deployed, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(pc_mediator_deposit(w, m, &one, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(pc_mediator_start_token_redemption(w, m, &one, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_int_equal(pc_mediator_payout(w, m, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
}

static void test_node_unreachable(void **state)
{
    pc_test_chain *c = *state;
    char url[64];
    pc_error err;
    pc_rpc_options opts = {.connect_timeout_ms = 500, .request_timeout_ms = 2000};
    pc_mediator_event *ev = NULL;
    size_t n = 0;
    uint8_t key[32];
    pc_test_channel ch;
    pc_test_channel_open(c, NULL, 0, &ch); /* a real Mediator address, on another node */

    closed_port_url(url, sizeof url);
    pc_rpc *down = pc_rpc_create(url, &opts, &err);
    assert_non_null(down);
    expect_reads_fail(down, &ch.mediator);
    assert_int_equal(pc_mediator_get_events(down, &ch.mediator, 0, PC_RPC_BLOCK_LATEST, &ev, &n,
                                            &err),
                     -1);
    assert_int_equal(err.code, PC_ERR_NODE);

    pc_wallet_options wopts = {.chain_id = c->chain_id, .receipt_timeout_ms = 2000};
    pc_test_dev_key(PC_TEST_CONSUMER, key);
    pc_wallet *w = pc_wallet_create(down, c->secp, key, &wopts, &err);
    pc_wipe(key, sizeof key);
    assert_non_null(w);
    expect_transactions_fail(w, &ch.mediator);
    pc_wallet_destroy(w);
    pc_rpc_destroy(down);
}

/* A node that goes away after the Mediator was deployed on it. */
static void test_node_stops(void **state)
{
    (void)state;
    void *second = NULL;
    pc_test_channel ch;
    assert_int_equal(pc_test_chain_setup(&second), 0);
    pc_test_chain *c2 = second;
    pc_test_channel_open(c2, NULL, PC_TEST_DEPOSIT, &ch);
    pc_test_anvil_stop(c2->anvil);
    c2->anvil = NULL;
    expect_reads_fail(c2->rpc, &ch.mediator);
    expect_transactions_fail(c2->wallet[PC_TEST_CONSUMER], &ch.mediator);
    pc_test_chain_teardown(&second);
}

/* ---- event decoding -------------------------------------------------------------------- */

/* A Deposited log decodes only when it is complete and names its topic;
 * anything else is refused, never misread. */
static void test_decode_event_strict(void **state)
{
    pc_test_chain *c = *state;
    pc_log log;
    pc_mediator_event ev;
    pc_u256 amount = pc_u256_from_u64(42), funds = pc_u256_from_u64(4242);
    memset(&log, 0, sizeof log);
    memset(log.address.bytes, 0x33, sizeof log.address.bytes);
    pc_abi_topic("Deposited(address,uint256,uint256)", log.topics[0]);
    memcpy(log.topics[1] + 12, c->address[PC_TEST_CONSUMER].bytes, 20);
    log.n_topics = 2;
    assert_int_equal(pc_abi_append_u256(&log.data, &amount), 0);
    assert_int_equal(pc_mediator_decode_event(&log, &ev), -1); /* one word short */
    assert_int_equal(pc_abi_append_u256(&log.data, &funds), 0);

    assert_int_equal(pc_mediator_decode_event(&log, &ev), 0);
    assert_int_equal(ev.kind, PC_MEDIATOR_DEPOSITED);
    assert_true(pc_address_equal(&ev.mediator, &log.address));
    assert_true(pc_address_equal(&ev.party_a, &c->address[PC_TEST_CONSUMER]));
    assert_u256_equal(&ev.amount_a, &amount);
    assert_u256_equal(&ev.amount_b, &funds);

    log.n_topics = 1; /* the indexed consumer missing */
    assert_int_equal(pc_mediator_decode_event(&log, &ev), -1);
    log.n_topics = 2;
    log.topics[1][0] = 1; /* not an address */
    assert_int_equal(pc_mediator_decode_event(&log, &ev), -1);
    log.topics[1][0] = 0;
    pc_abi_topic("Transfer(address,address,uint256)", log.topics[0]); /* someone else's */
    assert_int_equal(pc_mediator_decode_event(&log, &ev), -1);
    log.n_topics = 0;
    assert_int_equal(pc_mediator_decode_event(&log, &ev), -1);
    pc_bytes_free(&log.data);
}

static void test_event_names(void **state)
{
    (void)state;
    static const char *const names[] = {"MediatorCreated", "Deposited", "TokenRedemptionStarted",
                                        "TokenRedeemed", "PaidOut", "TerminationStarted",
                                        "Terminated"};
    for (int k = PC_MEDIATOR_CREATED; k <= PC_MEDIATOR_TERMINATED; k++)
        assert_string_equal(pc_mediator_event_name((pc_mediator_event_kind)k), names[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_terms),
        cmocka_unit_test(test_read_state),
        cmocka_unit_test(test_token_ids_used),
        cmocka_unit_test(test_domain_separator),
        cmocka_unit_test(test_verify_code),
        cmocka_unit_test(test_not_a_mediator),
        cmocka_unit_test(test_transaction_to_non_contract),
        cmocka_unit_test(test_node_unreachable),
        cmocka_unit_test(test_node_stops),
        cmocka_unit_test(test_decode_event_strict),
        cmocka_unit_test(test_event_names),
    };
    return cmocka_run_group_tests(tests, pc_test_chain_setup, pc_test_chain_teardown);
}
