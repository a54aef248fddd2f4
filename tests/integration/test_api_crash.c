/* Integration: crash safety of the provider's paychand with its SQLite store
 * (issue: "kill -9 the provider's paychand while it validates a stream of
 * tokens; after restart, the count it redeems is at least the highest count
 * it acknowledged"). Threads stream validateToken calls; the server is
 * killed -9 in the middle, several times, and restarted on the same data
 * directory: every count it ever acknowledged must be known afterwards
 * (refused as a replay), and the redemption finished by its timer must pay
 * at least the highest acknowledged count. Also: kill -9 right after a
 * redemption was started (the restarted server finishes it), and SIGTERM in
 * the middle of a stream (exit 0, nothing acknowledged lost); and on the
 * consumer's side, no count issued twice after a kill -9 that came before
 * the issued counts' fsync. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/integration.h"

#define COST 1000u
#define ROUND_COUNTS 4000 /* counts offered per round at most */
#define STREAMS 2         /* threads per round; thread k offers counts = k (mod STREAMS) */
#define EVENT_WAIT_MS 30000

static const pc_itest_terms QUICK = {.cost = COST, .termination = 100, .redemption = 4};

/* The counts of one token id and which of them the server acknowledged. */
typedef struct ledger {
    pc_itest *t;
    pc_address m;
    pc_u256 id;
    uint8_t acked[4 * ROUND_COUNTS + 1];
    _Atomic uint64_t highest_acked;
    atomic_int acks_this_round;
} ledger;

typedef struct stream {
    ledger *l;
    uint64_t first, last; /* offers first, first + STREAMS, ... up to last */
    int unexpected;       /* answers other than valid / no answer */
} stream;

/* Offers counts until the server stops answering (it was killed) or the range ends. */
static void *run_stream(void *arg)
{
    stream *s = arg;
    ledger *l = s->l;
    pc_test_client *c = pc_itest_client(l->t, l->t->provider_server, IT_PROVIDER);
    for (uint64_t count = s->first; count <= s->last; count += STREAMS) {
        pc_itest_token tok;
        pc_test_reply r;
        pc_itest_sign_token(l->t, IT_CONSUMER, IT_CONSUMER, &l->m, &l->id, count, &tok);
        pc_itest_validate(l->t, c, &tok, &QUICK, &r);
        int valid = r.status == 200 && json_is_true(json_object_get(r.body, "valid"));
        if (!valid && r.status != 0) {
            fprintf(stderr, "count %llu: %ld %s\n", (unsigned long long)count, r.status, r.text);
            s->unexpected++;
        }
        pc_test_reply_free(&r);
        if (!valid)
            break; /* no answer: the server is gone */
        l->acked[count] = 1;
        atomic_fetch_add(&l->acks_this_round, 1);
        uint64_t h = atomic_load(&l->highest_acked);
        while (count > h && !atomic_compare_exchange_weak(&l->highest_acked, &h, count)) {
        }
    }
    pc_test_client_destroy(c);
    return NULL;
}

/* Streams counts (base, base + ROUND_COUNTS] and stops the server with
 * `how` (kill -9 or SIGTERM) once `acks` of them were acknowledged; returns
 * the stop's exit status (-1 for kill -9). */
static int stream_and_stop(ledger *l, uint64_t base, int acks, int sigterm)
{
    pthread_t th[STREAMS];
    stream s[STREAMS];
    atomic_store(&l->acks_this_round, 0);
    for (int k = 0; k < STREAMS; k++) {
        s[k] = (stream){.l = l, .first = base + 1 + (uint64_t)k, .last = base + ROUND_COUNTS};
        assert_int_equal(pthread_create(&th[k], NULL, run_stream, &s[k]), 0);
    }
    for (int waited = 0; atomic_load(&l->acks_this_round) < acks; waited += 5) {
        it_check(waited < 60000);
        pc_itest_sleep_ms(5);
    }
    int status = -1;
    if (sigterm)
        status = pc_test_paychand_stop(l->t->provider_server);
    else
        pc_test_paychand_kill9(l->t->provider_server);
    for (int k = 0; k < STREAMS; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(s[k].unexpected, 0);
    }
    fprintf(stderr, "round after %llu: %d acknowledged, highest %llu\n",
            (unsigned long long)base, atomic_load(&l->acks_this_round),
            (unsigned long long)atomic_load(&l->highest_acked));
    return status;
}

/* After a restart every acknowledged count is refused as a replay, with an
 * actualCount at least the highest acknowledged. */
static void expect_all_remembered(ledger *l, uint64_t up_to)
{
    pc_itest *t = l->t;
    size_t checked = 0;
    for (uint64_t count = 1; count <= up_to; count++) {
        if (!l->acked[count])
            continue;
        pc_itest_token tok;
        pc_test_reply r;
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &l->m, &l->id, count, &tok);
        pc_itest_validate(t, NULL, &tok, &QUICK, &r);
        json_t *actual = json_object_get(json_object_get(r.body, "metadata"), "actualCount");
        if (r.status != 412 || pc_test_reply_code(&r) != PC_ERR_COUNT_USED ||
            json_integer_value(actual) < (json_int_t)atomic_load(&l->highest_acked))
            it_fail("acknowledged count %llu after the restart: %ld %s",
                    (unsigned long long)count, r.status, r.text);
        pc_test_reply_free(&r);
        checked++;
    }
    it_check(checked > 0);
}

static ledger *open_ledger(pc_itest *t)
{
    ledger *l = calloc(1, sizeof *l);
    pc_mediator_state st;
    assert_non_null(l);
    l->t = t;
    it_use_service(t, IT_CONSUMER, &QUICK, 0, &l->m);
    it_deposit(t, IT_CONSUMER, &l->m, 1000000000, 0);
    pc_itest_state(t, &l->m, &st);
    l->id = st.active_token_id;
    return l;
}

/* Starts the redemption and waits for the timer to finish it; returns the
 * redeemed count and checks that the provider got count * COST to the wei. */
static uint64_t redeem(pc_itest *t, const pc_address *m)
{
    pc_test_reply r;
    pc_mediator_event ev;
    uint64_t block = pc_itest_block(t), count;
    pc_u256 before = pc_itest_balance(t, IT_PROVIDER), after, fees, gained;
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    it_check(pc_itest_wait_events(t, m, PC_MEDIATOR_TOKEN_REDEEMED, 1, EVENT_WAIT_MS, &ev) == 1);
    it_check(pc_itest_wait_events(t, m, PC_MEDIATOR_PAID_OUT, 1, EVENT_WAIT_MS, NULL) == 1);
    assert_int_equal(pc_u256_to_u64(&ev.amount_a, &count), 0);
    fees = pc_itest_fees_since(t, IT_PROVIDER, block);
    after = pc_itest_balance(t, IT_PROVIDER);
    assert_int_equal(pc_u256_add(&after, &after, &fees), 0);
    assert_int_equal(pc_u256_sub(&gained, &after, &before), 0);
    assert_string_equal(pc_itest_dec(&gained), pc_itest_dec(&(pc_u256){{count * COST}}));
    return count;
}

/* ---- tests ----------------------------------------------------------------------------------- */

/* The provider's server keeps its state in SQLite under its data directory. */
static void test_sqlite_in_data_dir(void **state)
{
    pc_itest *t = *state;
    pc_test_reply r;
    char want[300];
    pc_itest_status(t->provider_server, &r);
    it_expect_ok(&r);
    snprintf(want, sizeof want, "sqlite:%s/", pc_test_paychand_data_dir(t->provider_server));
    const char *storage = pc_test_reply_string(&r, "storage");
    it_check(storage && strncmp(storage, want, strlen(want)) == 0);
    pc_test_reply_free(&r);
}

static void test_kill9_during_validation_stream(void **state)
{
    pc_itest *t = *state;
    ledger *l = open_ledger(t);
    const int kill_after[] = {30, 150, 400};
    uint64_t base = 0;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(stream_and_stop(l, base, kill_after[round], 0), -1);
        base += ROUND_COUNTS;
        assert_int_equal(pc_test_paychand_restart(t->provider_server), 0);
        expect_all_remembered(l, base);
    }
    uint64_t highest = atomic_load(&l->highest_acked);
    uint64_t redeemed = redeem(t, &l->m);
    fprintf(stderr, "highest acknowledged %llu, redeemed %llu\n", (unsigned long long)highest,
            (unsigned long long)redeemed);
    assert_true(redeemed >= highest);
    assert_true(redeemed <= base); /* never more than was offered */
    free(l);
}

/* SIGTERM in the middle of a stream: exit 0, every acknowledged count kept. */
static void test_sigterm_during_validation_stream(void **state)
{
    pc_itest *t = *state;
    ledger *l = open_ledger(t);
    assert_int_equal(stream_and_stop(l, 0, 100, 1), 0);
    assert_int_equal(pc_test_paychand_restart(t->provider_server), 0);
    expect_all_remembered(l, ROUND_COUNTS);
    free(l);
}

/* kill -9 right after a redemption was started: the restarted server
 * resumes it from its store and the chain and redeems the newest token. */
static void test_kill9_during_redemption(void **state)
{
    pc_itest *t = *state;
    ledger *l = open_ledger(t);
    for (uint64_t count = 1; count <= 5; count++) {
        pc_itest_token tok;
        pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &l->m, &l->id, count, &tok);
        it_validate_ok(t, &tok, &QUICK);
    }
    pc_test_reply r;
    pc_itest_get(t, IT_PROVIDER, &r, "/contracts/%s/redeemToken", pc_itest_addr(&l->m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    pc_test_paychand_kill9(t->provider_server);
    pc_itest_sleep_ms((long)QUICK.redemption * 1000 + 500); /* the grace period passes while down */
    assert_int_equal(pc_test_paychand_restart(t->provider_server), 0);
    pc_mediator_event ev;
    it_check(pc_itest_wait_events(t, &l->m, PC_MEDIATOR_TOKEN_REDEEMED, 1, EVENT_WAIT_MS, &ev) ==
             1);
    assert_string_equal(pc_itest_dec(&ev.amount_a), "5");
    it_check(pc_itest_wait_events(t, &l->m, PC_MEDIATOR_PAID_OUT, 1, EVENT_WAIT_MS, &ev) == 1);
    assert_string_equal(pc_itest_dec(&ev.amount_a), "5000");
    free(l);
}

/* The consumer's server hands out tokens before their counts are fsync'ed
 * (--count-sync-delay, 20 ms by default): a kill -9 right after a run of
 * tokens still loses none of their counts, so none is issued twice. */
static void test_kill9_after_tokens_issues_no_count_twice(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok;
    it_use_service(t, IT_CONSUMER, &QUICK, 0, &m);
    it_deposit(t, IT_CONSUMER, &m, 1000000000, 0);
    for (int round = 0; round < 3; round++) {
        uint64_t last = 0;
        for (int i = 0; i < 200; i++) {
            it_headers(t, IT_CONSUMER, &m, &tok);
            it_check(tok.count > last);
            last = tok.count;
        }
        pc_test_paychand_kill9(t->consumer_server); /* within 20 ms of the last token */
        assert_int_equal(pc_test_paychand_restart(t->consumer_server), 0);
        it_headers(t, IT_CONSUMER, &m, &tok);
        if (tok.count != last + 1)
            it_fail("round %d: %llu issued before the kill -9, %llu after it", round,
                    (unsigned long long)last, (unsigned long long)tok.count);
    }
}

/* kill -9 of the consumer's server while its termination timeout runs: the
 * restarted server resumes the Mediator from its store and finalizes it. */
static void test_consumer_restart_resumes_termination(void **state)
{
    pc_itest *t = *state;
    const pc_itest_terms closing = {.cost = COST, .termination = 6, .redemption = 3};
    pc_address m;
    pc_mediator_state st;
    pc_mediator_event ev;
    pc_test_reply r;
    it_use_service(t, IT_CONSUMER, &closing, 0, &m);
    it_deposit(t, IT_CONSUMER, &m, 50000, 0);
    pc_itest_state(t, &m, &st);
    pc_itest_token tok;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &st.active_token_id, 7, &tok);
    it_validate_ok(t, &tok, &closing);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/terminate", pc_itest_addr(&m));
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    pc_test_paychand_kill9(t->consumer_server);
    pc_itest_sleep_ms((long)closing.termination * 1000 + 500); /* the timeout passes while down */
    it_check(pc_itest_count_events(t, &m, PC_MEDIATOR_TERMINATED, NULL) == 0);
    assert_int_equal(pc_test_paychand_restart(t->consumer_server), 0);
    it_check(pc_itest_wait_events(t, &m, PC_MEDIATOR_TERMINATED, 1, EVENT_WAIT_MS, &ev) == 1);
    assert_true(pc_address_equal(&ev.party_a, &t->addr[IT_CONSUMER]));
    assert_string_equal(pc_itest_dec(&ev.amount_a), "43000"); /* 50000 - 7 * 1000 */
    it_check(pc_itest_count_events(t, &m, PC_MEDIATOR_TOKEN_REDEEMED, &ev) == 1);
    assert_string_equal(pc_itest_dec(&ev.amount_a), "7");
}

static int setup(void **state)
{
    static const char *args[] = {"--duty-interval", "200", NULL};
    pc_itest_options o = {.store = "sqlite", .args = args};
    *state = pc_itest_start(&o);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    pc_itest_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_in_data_dir),
        cmocka_unit_test(test_kill9_during_validation_stream),
        cmocka_unit_test(test_sigterm_during_validation_stream),
        cmocka_unit_test(test_kill9_during_redemption),
        cmocka_unit_test(test_consumer_restart_resumes_termination),
        cmocka_unit_test(test_kill9_after_tokens_issues_no_count_twice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
