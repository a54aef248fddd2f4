/* test_counter_window: the out-of-order count rule (counter_window.h),
 * against hand-worked cases and against a naive model that remembers every
 * count ever seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/counter_window.h"

#define W PC_COUNTER_WINDOW

static int offer(pc_counter_window *w, uint64_t count)
{
    return pc_counter_window_offer(w, count);
}

static void test_zero_is_always_replay(void **state)
{
    (void)state;
    pc_counter_window w = {0};
    assert_int_equal(offer(&w, 0), PC_WINDOW_REPLAY);
    assert_int_equal(w.highest, 0);
    assert_int_equal(offer(&w, 3), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, 0), PC_WINDOW_REPLAY);
}

static void test_in_order_then_replays(void **state)
{
    (void)state;
    pc_counter_window w = {0};
    for (uint64_t c = 1; c <= 5; c++) {
        assert_int_equal(offer(&w, c), PC_WINDOW_NEWEST);
        assert_int_equal(w.highest, c);
    }
    for (uint64_t c = 1; c <= 5; c++)
        assert_int_equal(offer(&w, c), PC_WINDOW_REPLAY);
    assert_int_equal(w.highest, 5);
}

static void test_skipped_counts_accepted_once(void **state)
{
    (void)state;
    pc_counter_window w = {0};
    assert_int_equal(offer(&w, 1), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, 5), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, 1), PC_WINDOW_REPLAY); /* the old highest is marked seen */
    assert_int_equal(offer(&w, 3), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, 3), PC_WINDOW_REPLAY);
    assert_int_equal(offer(&w, 2), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, 4), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, 4), PC_WINDOW_REPLAY);
    assert_int_equal(offer(&w, 5), PC_WINDOW_REPLAY);
    assert_int_equal(w.highest, 5);
    /* a skip followed by a jump keeps the skipped count open */
    assert_int_equal(offer(&w, 7), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, 9), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, 6), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, 8), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, 7), PC_WINDOW_REPLAY);
}

static void test_window_edge(void **state)
{
    (void)state;
    pc_counter_window w = {0};
    uint64_t h = 5000;
    assert_int_equal(offer(&w, h), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, h - W - 1), PC_WINDOW_REPLAY); /* just outside */
    assert_int_equal(offer(&w, h - W), PC_WINDOW_SKIPPED);    /* exactly at the edge */
    assert_int_equal(offer(&w, h - W), PC_WINDOW_REPLAY);
    assert_int_equal(offer(&w, h - 1), PC_WINDOW_SKIPPED);
    /* one step up pushes h - W out of the window: too old = replay */
    assert_int_equal(offer(&w, h + 1), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, h - W), PC_WINDOW_REPLAY);
    assert_int_equal(offer(&w, h + 1 - W), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, h), PC_WINDOW_REPLAY);
    assert_int_equal(offer(&w, h - 1), PC_WINDOW_REPLAY);
}

static void test_jump_of_exactly_the_window(void **state)
{
    (void)state;
    pc_counter_window w = {0};
    assert_int_equal(offer(&w, 10), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, 10 + W), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, 10), PC_WINDOW_REPLAY); /* the old highest, at bit W - 1 */
    assert_int_equal(offer(&w, 11), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, 9), PC_WINDOW_REPLAY); /* below the window */
}

static void test_jump_larger_than_window(void **state)
{
    (void)state;
    pc_counter_window w = {0};
    for (uint64_t c = 1; c <= 3; c++)
        assert_int_equal(offer(&w, c), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, 3 + W + 1), PC_WINDOW_NEWEST);
    for (size_t i = 0; i < sizeof w.seen; i++)
        assert_int_equal(w.seen[i], 0); /* nothing from before is inside the window */
    assert_int_equal(offer(&w, 4), PC_WINDOW_SKIPPED); /* highest - W exactly */
    assert_int_equal(offer(&w, 3), PC_WINDOW_REPLAY);
    assert_int_equal(offer(&w, UINT64_MAX), PC_WINDOW_NEWEST);
    assert_int_equal(offer(&w, UINT64_MAX - 1), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, UINT64_MAX), PC_WINDOW_REPLAY);
    assert_int_equal(offer(&w, UINT64_MAX - W), PC_WINDOW_SKIPPED);
    assert_int_equal(offer(&w, UINT64_MAX - W - 1), PC_WINDOW_REPLAY);
}

static void shuffle(uint64_t *v, size_t n, unsigned *seed)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)rand_r(seed) % (i + 1);
        uint64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* 1..W+1 in any order: every count is within the window of the final
 * highest, so each is accepted exactly once and then replays. */
static void test_random_order_accepted_once(void **state)
{
    (void)state;
    enum { N = W + 1 };
    uint64_t counts[N];
    for (unsigned seed = 1; seed <= 20; seed++) {
        for (size_t i = 0; i < N; i++)
            counts[i] = i + 1;
        unsigned s = seed;
        shuffle(counts, N, &s);
        pc_counter_window w = {0};
        uint64_t max = 0;
        for (size_t i = 0; i < N; i++) {
            int r = offer(&w, counts[i]);
            assert_int_equal(r, counts[i] > max ? PC_WINDOW_NEWEST : PC_WINDOW_SKIPPED);
            if (counts[i] > max)
                max = counts[i];
        }
        assert_int_equal(w.highest, N);
        shuffle(counts, N, &s);
        for (size_t i = 0; i < N; i++)
            assert_int_equal(offer(&w, counts[i]), PC_WINDOW_REPLAY);
    }
}

/* The naive model: remembers every count (up to a bound), never forgets. */
enum { MODEL_MAX = 1 << 20 };
typedef struct model {
    uint64_t highest;
    uint8_t seen[MODEL_MAX + 1];
} model;

static int model_offer(model *m, uint64_t count)
{
    if (count == 0)
        return PC_WINDOW_REPLAY;
    if (count > m->highest) {
        m->highest = count;
        m->seen[count] = 1;
        return PC_WINDOW_NEWEST;
    }
    if (m->seen[count] || m->highest - count > W)
        return PC_WINDOW_REPLAY;
    m->seen[count] = 1;
    return PC_WINDOW_SKIPPED;
}

/* Counts mostly near the highest (within 2W), sometimes jumps, sometimes 0. */
static uint64_t random_count(const model *m, unsigned *seed)
{
    int r = rand_r(seed) % 100;
    uint64_t h = m->highest;
    uint64_t c;
    if (r < 2)
        c = 0;
    else if (r < 30)
        c = h + 1 + (uint64_t)(rand_r(seed) % 20);
    else if (r < 31)
        c = h + (uint64_t)(rand_r(seed) % (2 * W)); /* sometimes beyond the window */
    else
        c = h > 2 * W ? h - (uint64_t)(rand_r(seed) % (2 * W)) : (uint64_t)(rand_r(seed) % (h + 2));
    return c > MODEL_MAX ? MODEL_MAX : c;
}

static void test_matches_naive_model(void **state)
{
    (void)state;
    static model m;
    for (unsigned seed = 1; seed <= 30; seed++) {
        memset(&m, 0, sizeof m);
        pc_counter_window w = {0};
        unsigned s = seed;
        int accepted = 0;
        for (int i = 0; i < 20000 && m.highest < MODEL_MAX; i++) {
            uint64_t c = random_count(&m, &s);
            int expect = model_offer(&m, c);
            int got = offer(&w, c);
            if (got != expect)
                fail_msg("seed %u step %d count %llu: got %d, model %d", seed, i,
                         (unsigned long long)c, got, expect);
            accepted += got != PC_WINDOW_REPLAY;
            assert_int_equal(w.highest, m.highest);
        }
        assert_true(accepted > 5000); /* the sequence really exercised acceptance */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_is_always_replay),
        cmocka_unit_test(test_in_order_then_replays),
        cmocka_unit_test(test_skipped_counts_accepted_once),
        cmocka_unit_test(test_window_edge),
        cmocka_unit_test(test_jump_of_exactly_the_window),
        cmocka_unit_test(test_jump_larger_than_window),
        cmocka_unit_test(test_random_order_accepted_once),
        cmocka_unit_test(test_matches_naive_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
