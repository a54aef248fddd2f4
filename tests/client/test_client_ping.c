/* paychan_ping: whether the Payment Server is reachable and ready, against a
 * real HTTP server playing it (fake_server.h): /ready 200 is ready; /ready
 * 503 is reachable and not ready, with what it said; a server without
 * /ready (404) is asked /status, ready when its Ethereum node is reachable;
 * a closed port fails at once (SERVER_DOWN), a server that never answers
 * within the ping's own short timeout, not the client's (SERVER_TIMEOUT).
 * paychand itself is pinged in tests/network/test_network_paid.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_server.h"
#include "paychan.h"

#define DEV_KEY_0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

static paychan_client *client_at(const char *url)
{
    paychan_config cfg = {.server_url = url, .dev_key_hex = DEV_KEY_0, .timeout_ms = 30000};
    paychan_client *c = NULL;
    paychan_error err;
    if (paychan_client_create(&cfg, &c, &err) != 0)
        fail_msg("paychan_client_create: %d %s", err.code, err.message);
    return c;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Pings a fake server set up by the caller; returns what it learned. */
static paychan_server_health ping_fake(fake_server *f)
{
    paychan_client *c = client_at(fake_url(f));
    paychan_server_health h;
    paychan_error err;
    memset(&h, 0xff, sizeof h);
    assert_int_equal(paychan_ping(c, 1000, &h, &err), 0);
    assert_int_equal(err.code, 0);
    paychan_client_destroy(c);
    return h;
}

static void test_ready_answers_200(void **state)
{
    (void)state;
    fake_server *f = fake_start();
    fake_reply(f, "/ready", 200, "{\"ready\":true}", 0);
    paychan_server_health h = ping_fake(f);
    assert_int_equal(h.ready, 1);
    assert_int_equal(h.http_status, 200);
    assert_int_equal(fake_request_count(f), 1); /* /status was not needed */
    fake_request r;
    fake_request_at(f, 0, &r);
    assert_string_equal(r.target, "/ready");
    assert_string_equal(r.mac, ""); /* unauthenticated */
    fake_stop(f);
}

static void test_ready_answers_503(void **state)
{
    (void)state;
    fake_server *f = fake_start();
    fake_reply(f, "/ready", 503,
               "{\"name\":\"SERVICE_UNAVAILABLE\",\"code\":103,\"message\":\"missing: ethereumNode\"}",
               0);
    paychan_server_health h = ping_fake(f);
    assert_int_equal(h.ready, 0);
    assert_int_equal(h.http_status, 503);
    assert_non_null(strstr(h.detail, "ethereumNode"));
    fake_stop(f);
}

/* A Payment Server older than /ready: its /status decides. */
static void test_no_ready_falls_back_to_status(void **state)
{
    (void)state;
    fake_server *f = fake_start(); /* no reply for /ready: 404 */
    fake_reply(f, "/status", 200, "{\"ethereumNodeReachable\":false}", 1);
    fake_reply(f, "/status", 200, "{\"ethereumNodeReachable\":true}", 1);
    paychan_server_health h = ping_fake(f);
    assert_int_equal(h.ready, 0);
    assert_int_equal(h.http_status, 200);
    assert_string_equal(h.detail, "ethereumNode");
    h = ping_fake(f);
    assert_int_equal(h.ready, 1);
    assert_int_equal(fake_request_count(f), 4); /* /ready, /status, twice */
    fake_request r;
    fake_request_at(f, 1, &r);
    assert_string_equal(r.target, "/status");
    fake_stop(f);
}

static void test_unreachable(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", fake_closed_port());
    paychan_client *c = client_at(url);
    paychan_server_health h;
    paychan_error err;
    assert_int_equal(paychan_ping(c, 1000, &h, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_SERVER_DOWN);
    assert_int_equal(h.ready, 0);
    paychan_client_destroy(c);

    int port = 0;
    int fd = fake_silent_listener(&port); /* accepts, never answers */
    assert_true(fd >= 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    c = client_at(url); /* the client's own timeout is 30 s */
    double start = now_ms();
    assert_int_equal(paychan_ping(c, 300, &h, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_SERVER_TIMEOUT);
    assert_true(now_ms() - start < 5000);
    paychan_client_destroy(c);
    close(fd);
    assert_int_equal(paychan_ping(NULL, 0, &h, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_answers_200),
        cmocka_unit_test(test_ready_answers_503),
        cmocka_unit_test(test_no_ready_falls_back_to_status),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
