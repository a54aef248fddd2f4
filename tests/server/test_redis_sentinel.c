/* The Sentinel half of the Redis store, without servers: the list of
 * sentinels (--redis-sentinels) is parsed or refused with a clear error,
 * the error replies that mean "not the primary (any more)" are told from
 * the others, and with no sentinel answering the store's open fails with
 * 103 naming every sentinel (so paychand says why it cannot start). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/child.h"
#include "server/store/redis/store_redis_sentinel.h"

static void test_parse(void **state)
{
    (void)state;
    pc_redis_sentinels s;
    pc_error err;
    assert_int_equal(pc_redis_sentinels_parse("127.0.0.1:26379,sentinel-b:26380", "m", &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.at[0].host, "127.0.0.1");
    assert_int_equal(s.at[0].port, 26379);
    assert_string_equal(s.at[1].host, "sentinel-b");
    assert_int_equal(s.at[1].port, 26380);
    assert_string_equal(s.master_name, "m");
    const char *bad[] = {"", "host", "host:", ":1", "h:0", "h:65536", "h:12x", "h:1,,h:2", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(pc_redis_sentinels_parse(bad[i], "m", &s, &err), -1);
        assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    }
    assert_int_equal(pc_redis_sentinels_parse("h:1", "", &s, &err), -1);
    assert_non_null(strstr(err.message, "master name"));
    assert_int_equal(pc_redis_sentinels_parse("a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9", "m", &s, &err),
                     -1);
}

static void test_moved_errors(void **state)
{
    (void)state;
    assert_true(pc_redis_error_means_moved("READONLY You can't write against a read only replica."));
    assert_true(pc_redis_error_means_moved("MASTERDOWN Link with MASTER is down"));
    assert_true(pc_redis_error_means_moved("LOADING Redis is loading the dataset in memory"));
    assert_false(pc_redis_error_means_moved("NOSCRIPT No matching script."));
    assert_false(pc_redis_error_means_moved("ERR wrong number of arguments"));
}

static void test_no_sentinel_answers(void **state)
{
    (void)state;
    char list[64], second[32], host[128];
    snprintf(second, sizeof second, "127.0.0.1:%d", pc_test_free_port());
    snprintf(list, sizeof list, "127.0.0.1:%d,%s", pc_test_free_port(), second);
    pc_redis_sentinels s;
    pc_error err;
    assert_int_equal(pc_redis_sentinels_parse(list, "m", &s, &err), 0);
    int port = 0, replicas = 0;
    assert_null(pc_redis_sentinel_connect(&s, 500, host, sizeof host, &port, &replicas, &err));
    assert_int_equal(err.code, PC_ERR_STORAGE_NOT_DURABLE);
    assert_non_null(strstr(err.message, "no primary for \"m\""));
    assert_non_null(strstr(err.message, second)); /* every sentinel's answer is named */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_moved_errors),
        cmocka_unit_test(test_no_sentinel_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
