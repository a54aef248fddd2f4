/* Unit: the Prometheus text writer (src/server/api/prom.h) and paychand's
 * metrics (src/server/api/metrics.h), read back with the strict reader of
 * tests/support/prom_text.h: families, labels with characters that need
 * escaping, cumulative histogram buckets, and counters that move by
 * exactly what was recorded, also from several threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/api/metrics.h"
#include "server/api/prom.h"
#include "support/prom_text.h"

static void parse_ok(const pc_prom *w, pc_test_prom *out)
{
    char why[300] = "";
    assert_false(w->failed);
    if (pc_test_prom_parse(w->buf, out, why, sizeof why) != 0)
        fail_msg("%s\n%s", why, w->buf);
}

static void test_samples_and_escaping(void **state)
{
    (void)state;
    pc_prom w = {0};
    pc_test_prom p;
    static const char *const names[] = {"path", "note"};
    static const char *const values[] = {"/a\\b", "say \"hi\"\nbye"};
    pc_prom_family(&w, "x_total", "counter", "An example.");
    pc_prom_sample_u64(&w, "x_total", NULL, 18446744073709551615ULL);
    pc_prom_sample_u64(&w, "x_total", &(pc_prom_labels){2, names, values}, 7);
    pc_prom_family(&w, "wei", "gauge", "A big one.");
    pc_prom_sample(&w, "wei", NULL, "115792089237316195423570985008687907853269984665640564039457");
    parse_ok(&w, &p);
    assert_int_equal(p.n, 3);
    assert_true(pc_test_prom_value(&p, "x_total", "", -1) > 1.8e19);
    assert_true(pc_test_prom_value(
                    &p, "x_total", "path=\"/a\\\\b\",note=\"say \\\"hi\\\"\\nbye\"", -1) == 7);
    assert_true(pc_test_prom_value(&p, "wei", "", -1) > 1e59);
    pc_test_prom_free(&p);
    pc_prom_free(&w);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    static const double bounds[] = {0.001, 0.01, 0.1};
    static const uint64_t counts[] = {2, 0, 3, 1}; /* the last: above 0.1 */
    pc_prom w = {0};
    pc_test_prom p;
    pc_prom_family(&w, "lat_seconds", "histogram", "Latency.");
    pc_prom_histogram(&w, "lat_seconds", NULL, bounds, counts, 3, 0.75);
    parse_ok(&w, &p);
    assert_true(pc_test_prom_value(&p, "lat_seconds_bucket", "le=\"0.001\"", -1) == 2);
    assert_true(pc_test_prom_value(&p, "lat_seconds_bucket", "le=\"0.01\"", -1) == 2);
    assert_true(pc_test_prom_value(&p, "lat_seconds_bucket", "le=\"0.1\"", -1) == 5);
    assert_true(pc_test_prom_value(&p, "lat_seconds_bucket", "le=\"+Inf\"", -1) == 6);
    assert_true(pc_test_prom_value(&p, "lat_seconds_count", "", -1) == 6);
    assert_true(pc_test_prom_value(&p, "lat_seconds_sum", "", -1) == 0.75);
    pc_test_prom_free(&p);
    pc_prom_free(&w);
}

static const char *const endpoints[] = {"/a", "/b"};

static void *record_many(void *arg)
{
    for (int i = 0; i < 10000; i++) {
        pc_metrics_request(arg, 1, 412, 37, 300);
        pc_metrics_token_rejected(arg, 37);
    }
    return NULL;
}

static void test_metrics_counters(void **state)
{
    (void)state;
    pc_metrics *m = pc_metrics_create(2);
    pc_metrics_now now = {.open_connections = 3, .transactions = 2, .gas_used = 90000};
    pthread_t threads[4];
    assert_non_null(m);
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, record_many, m);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    pc_metrics_request(m, 0, 200, 0, 50);   /* 50 us: the first bucket (100 us) */
    pc_metrics_request(m, 7, 999, 0, 9000000); /* no route, odd status, 9 s */
    pc_metrics_tokens_created(m, 5);
    pc_metrics_node_call(m, 0, 2000);
    pc_metrics_durable_write(m, 700); /* 0.7 ms: counted from the 1 ms bucket up */
    pc_prom w = {0};
    pc_test_prom p;
    pc_metrics_render(m, endpoints, &now, &w);
    parse_ok(&w, &p);
    assert_true(pc_test_prom_value(&p, "paychan_http_requests_total",
                                   "endpoint=\"/b\",status=\"412\"", -1) == 40000);
    assert_true(pc_test_prom_value(&p, "paychan_http_errors_total", "endpoint=\"/b\",code=\"37\"",
                                   -1) == 40000);
    assert_true(pc_test_prom_value(&p, "paychan_tokens_rejected_total", "code=\"37\"", -1) == 40000);
    assert_true(pc_test_prom_value(&p, "paychan_http_requests_total",
                                   "endpoint=\"other\",status=\"other\"", -1) == 1);
    assert_true(pc_test_prom_value(&p, "paychan_http_request_duration_seconds_bucket",
                                   "endpoint=\"/a\",le=\"0.0001\"", -1) == 1);
    assert_true(pc_test_prom_value(&p, "paychan_http_request_duration_seconds_bucket",
                                   "endpoint=\"other\",le=\"5\"", -1) == 0);
    assert_true(pc_test_prom_value(&p, "paychan_tokens_created_total", "", -1) == 5);
    assert_true(pc_test_prom_value(&p, "paychan_node_errors_total", "", -1) == 1);
    assert_true(pc_test_prom_value(&p, "paychan_store_write_duration_seconds_bucket",
                                   "le=\"0.0005\"", -1) == 0);
    assert_true(pc_test_prom_value(&p, "paychan_store_write_duration_seconds_bucket",
                                   "le=\"0.001\"", -1) == 1);
    assert_true(pc_test_prom_value(&p, "paychan_http_open_connections", "", -1) == 3);
    assert_true(pc_test_prom_value(&p, "paychan_gas_used_total", "", -1) == 90000);
    pc_test_prom_free(&p);
    pc_prom_free(&w);
    pc_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_and_escaping),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_metrics_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
