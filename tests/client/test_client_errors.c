/* libpaychan when the Payment Server fails: down (closed port: SERVER_DOWN,
 * fast), slow (accepts and never answers: SERVER_TIMEOUT within the
 * timeout), answering garbage (bytes that are not HTTP, HTTP 500 that is
 * not JSON, 200 with the wrong JSON: BAD_ANSWER), and its error objects
 * mapped to their code, message and HTTP status. Nothing aborts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client_internal.h"
#include "fake_server.h"

#define DEV_KEY_0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define MEDIATOR "0x5fbdb2315678afecb367f032d93f642f64180aa3"

static paychan_client *client_at(const char *url, long timeout_ms)
{
    paychan_config cfg = {.server_url = url, .dev_key_hex = DEV_KEY_0, .timeout_ms = timeout_ms};
    paychan_client *c = NULL;
    paychan_error err;
    if (paychan_client_create(&cfg, &c, &err) != 0)
        fail_msg("paychan_client_create: %d %s", err.code, err.message);
    return c;
}

static paychan_client *client_on_port(int port, long timeout_ms)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    return client_at(url, timeout_ms);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Every kind of call fails with `code` (and a message): the failure is the
 * library's, not the endpoint's. */
static void expect_every_call_fails(paychan_client *c, int code)
{
    paychan_error errs[6];
    paychan_funds funds;
    paychan_termination term;
    char *json = (char *)1;
    int terminated = -1;
    assert_int_equal(paychan_funds_of(c, MEDIATOR, &funds, &errs[0]), -1);
    assert_int_equal(paychan_status(c, &json, &errs[1]), -1);
    assert_null(json);
    assert_int_equal(paychan_termination_status(c, MEDIATOR, &term, &errs[2]), -1);
    assert_int_equal(paychan_terminate(c, MEDIATOR, &terminated, &errs[3]), -1);
    assert_int_equal(terminated, -1); /* untouched */
    assert_int_equal(paychan_redeem(c, MEDIATOR, &errs[4]), -1);
    assert_int_equal(paychan_payout(c, MEDIATOR, &errs[5]), -1);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(errs[i].code, code);
        assert_int_equal(errs[i].http_status, 0);
        assert_true(errs[i].message[0] != '\0');
    }
}

/* ---- down ----------------------------------------------------------------------------------- */

static void test_server_down(void **state)
{
    (void)state;
    int port = fake_closed_port();
    assert_true(port > 0);
    paychan_client *c = client_on_port(port, 30000);
    double start = now_ms();
    paychan_error err;
    paychan_payment_headers h = {.sender = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
                                 .mediator = MEDIATOR, .token_id = "1", .request_count = "1",
                                 .signature = "0x00"};
    paychan_provider_terms terms = {"1", 60, 60};
    assert_int_equal(paychan_set_provider_terms(c, &terms, &err), 0);
    assert_int_equal(paychan_validate_payment(c, &h, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_SERVER_DOWN);
    assert_int_equal(err.http_status, 0);
    assert_non_null(strstr(err.message, "Payment Server"));
    expect_every_call_fails(c, PAYCHAN_E_SERVER_DOWN);

    paychan_target_config t = {.name = "x", .provider = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                               .funding_wei = "1"};
    assert_int_equal(paychan_add_target(c, &t, &err), 0);
    assert_int_equal(paychan_init(c, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_SERVER_DOWN);
    assert_non_null(strstr(err.message, "target x")); /* names the target */
    assert_null(paychan_target_mediator(c, "x"));
    /* refused connections fail at once, not after the (30 s) timeout */
    assert_true(now_ms() - start < 10000);
    paychan_client_destroy(c);
}

/* ---- slow ----------------------------------------------------------------------------------- */

static void test_server_slow(void **state)
{
    (void)state;
    int port;
    int fd = fake_silent_listener(&port);
    assert_true(fd >= 0);
    const long timeout = 400;
    paychan_client *c = client_on_port(port, timeout);
    paychan_error err;
    paychan_funds funds;
    double start = now_ms();
    assert_int_equal(paychan_funds_of(c, MEDIATOR, &funds, &err), -1);
    double took = now_ms() - start;
    assert_int_equal(err.code, PAYCHAN_E_SERVER_TIMEOUT);
    assert_non_null(strstr(err.message, "400 ms"));
    assert_true(took >= timeout * 0.9);
    assert_true(took < timeout + 15000); /* generous: a loaded CI machine */

    /* calls that send transactions wait 10 x the timeout */
    start = now_ms();
    assert_int_equal(paychan_payout(c, MEDIATOR, &err), -1);
    took = now_ms() - start;
    assert_int_equal(err.code, PAYCHAN_E_SERVER_TIMEOUT);
    assert_true(took >= 10 * timeout * 0.9);
    assert_true(took < 10 * timeout + 15000);
    paychan_client_destroy(c);
    close(fd);
}

/* ---- garbage ------------------------------------------------------------------------------------- */

static void expect_bad_answer_from_raw(const char *bytes, size_t len)
{
    fake_raw *r = fake_raw_start(bytes, len);
    assert_non_null(r);
    paychan_client *c = client_on_port(fake_raw_port(r), 20000);
    paychan_error err;
    paychan_funds funds;
    assert_int_equal(paychan_funds_of(c, MEDIATOR, &funds, &err), -1);
    if (err.code != PAYCHAN_E_BAD_ANSWER)
        fail_msg("expected BAD_ANSWER, got %d: %s", err.code, err.message);
    char *json = NULL;
    assert_int_equal(paychan_status(c, &json, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
    paychan_client_destroy(c);
    fake_raw_stop(r);
}

static void test_server_garbage_bytes(void **state)
{
    (void)state;
    static const char noise[] = "\x00\x01\x02 this is not HTTP at all \xff\xfe\r\n\r\n";
    expect_bad_answer_from_raw(noise, sizeof noise - 1);
    static const char status_line[] = "HTTP/1.1 abc def\r\n\r\n";
    expect_bad_answer_from_raw(status_line, sizeof status_line - 1);
    static const char truncated[] = "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"serviceCon";
    expect_bad_answer_from_raw(truncated, sizeof truncated - 1);
}

/* HTTP answers that are not the API: each call fails with BAD_ANSWER. */
static void test_server_wrong_answers(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *body;
    } cases[] = {
        {500, "<html>Internal Server Error</html>"},
        {500, ""},
        {502, "{\"error\": \"bad gateway\"}"},              /* JSON, but no error object */
        {412, "{\"name\":\"X\",\"code\":\"37\",\"message\":\"m\"}"}, /* code not a number */
        {412, "{\"name\":\"X\",\"code\":0,\"message\":\"m\"}"},
        {200, "not json"},
        {200, "[1, 2, 3]"},
        {200, "{\"serviceConsumerFunds\": 5000, \"serviceProviderFunds\": \"1\"}"},
        {200, "{\"serviceConsumerFunds\": \"-5\", \"serviceProviderFunds\": \"1\"}"},
        {200, "{\"serviceProviderFunds\": \"1\"}"},
        {200, "{}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_server *f = fake_start();
        assert_non_null(f);
        fake_reply(f, "/", cases[i].status, cases[i].body, 0);
        paychan_client *c = client_at(fake_url(f), 20000);
        paychan_error err;
        paychan_funds funds;
        assert_int_equal(paychan_funds_of(c, MEDIATOR, &funds, &err), -1);
        if (err.code != PAYCHAN_E_BAD_ANSWER)
            fail_msg("case %zu (%d %s): got %d %s", i, cases[i].status, cases[i].body, err.code,
                     err.message);
        assert_int_equal(err.http_status, cases[i].status);
        paychan_client_destroy(c);
        fake_stop(f);
    }
}

/* Wrong answers to the calls that read particular members. */
static void test_wrong_members(void **state)
{
    (void)state;
    fake_server *f = fake_start();
    const char *m = "/contracts/" MEDIATOR;
    char path[256];
#define REPLY(action, body) \
    (snprintf(path, sizeof path, "%s/%s", m, action), fake_reply(f, path, 200, body, 0))
    REPLY("terminationStatus", "{\"terminated\": \"no\"}");
    REPLY("terminate", "{\"terminationStarted\": true}");
    REPLY("redeemToken", "{\"started\": false}");
    REPLY("validateToken", "{\"valid\": false}");
    REPLY("createSignatureHeaders", "{\"x-pay-sender\": \"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\"}");
#undef REPLY
    fake_reply(f, "/useService", 200, "{\"mediatorAddress\": \"" MEDIATOR "\"}", 1);
    fake_reply(f, "/useService", 200, "{\"mediatorAddress\": \"not an address\"}", 0);
    paychan_client *c = client_at(fake_url(f), 20000);
    paychan_error err;
    paychan_termination term;
    assert_int_equal(paychan_termination_status(c, MEDIATOR, &term, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
    assert_int_equal(paychan_terminate(c, MEDIATOR, NULL, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
    assert_int_equal(paychan_redeem(c, MEDIATOR, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
    paychan_provider_terms terms = {"1", 60, 60};
    paychan_payment_headers h = {.sender = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
                                 .mediator = MEDIATOR, .token_id = "1", .request_count = "1",
                                 .signature = "0x00"};
    assert_int_equal(paychan_set_provider_terms(c, &terms, &err), 0);
    assert_int_equal(paychan_validate_payment(c, &h, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);

    paychan_target_config t = {.name = "t", .provider = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"};
    assert_int_equal(paychan_add_target(c, &t, &err), 0);
    assert_int_equal(paychan_init(c, &err), 0); /* the first useService answer is right */
    paychan_payment_headers out;
    assert_int_equal(paychan_sign_request(c, "t", &out, &err), -1); /* four headers missing */
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
    assert_string_equal(out.sender, "");
    assert_int_equal(paychan_init(c, &err), -1); /* the second one is not an address */
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
    paychan_client_destroy(c);
    fake_stop(f);
}

/* createSignatureHeaders answers that must not reach another service's headers. */
static void test_bad_header_values(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        /* a header injection attempt in the token id */
        "{\"x-pay-sender\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"x-pay-mediator\":\"" MEDIATOR
        "\",\"x-pay-token-id\":\"1\\r\\nx-evil: 1\",\"x-pay-req-count\":\"1\",\"x-pay-signature\":"
        "\"0x11111111111111111111111111111111111111111111111111111111111111112222222222222222222222"
        "222222222222222222222222222222222222222222221b\"}",
        /* a signature that is not 65 bytes */
        "{\"x-pay-sender\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"x-pay-mediator\":\"" MEDIATOR
        "\",\"x-pay-token-id\":\"1\",\"x-pay-req-count\":\"1\",\"x-pay-signature\":\"0x1234\"}",
    };
    for (size_t i = 0; i < 2; i++) {
        json_t *obj = json_loads(bodies[i], 0, NULL);
        assert_non_null(obj);
        paychan_payment_headers h;
        paychan_error err;
        assert_int_equal(pc_client_headers_from_json(obj, &h, &err), -1);
        assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
        assert_string_equal(h.token_id, "");
        json_decref(obj);
    }
}

/* ---- the server's own errors ------------------------------------------------------------------ */

static void test_server_error_objects(void **state)
{
    (void)state;
    fake_server *f = fake_start();
    fake_reply(f, "/contracts/" MEDIATOR "/validateToken", 412,
               "{\"name\":\"RequestCountUsed\",\"code\":37,\"message\":\"request count 2 used "
               "before\",\"metadata\":{\"actualCount\":3}}",
               0);
    fake_reply(f, "/contracts/" MEDIATOR "/funds", 503,
               "{\"name\":\"EthereumNodeError\",\"code\":101,\"message\":\"node unreachable\"}", 0);
    fake_reply(f, "/status", 500, "{\"name\":\"InternalError\",\"code\":500,\"message\":\"bug\"}",
               0);
    paychan_client *c = client_at(fake_url(f), 20000);
    paychan_error err;
    paychan_provider_terms terms = {"1", 60, 60};
    paychan_payment_headers h = {.sender = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
                                 .mediator = MEDIATOR, .token_id = "1", .request_count = "2",
                                 .signature = "0x00"};
    assert_int_equal(paychan_set_provider_terms(c, &terms, &err), 0);
    assert_int_equal(paychan_validate_payment(c, &h, &err), -1);
    assert_int_equal(err.code, 37);
    assert_int_equal(err.http_status, 412);
    assert_string_equal(err.message, "request count 2 used before");

    char *body = paychan_payment_required_body(c, &err);
    assert_non_null(body);
    assert_non_null(strstr(body, "\"code\":37"));
    free(body);

    paychan_funds funds;
    assert_int_equal(paychan_funds_of(c, MEDIATOR, &funds, &err), -1);
    assert_int_equal(err.code, 101);
    assert_int_equal(err.http_status, 503);
    char *json = NULL;
    assert_int_equal(paychan_status(c, &json, &err), -1);
    assert_int_equal(err.code, 500);
    assert_int_equal(err.http_status, 500);
    /* an unknown endpoint: the fake's 404 error object */
    assert_int_equal(paychan_redeem(c, MEDIATOR, &err), -1);
    assert_int_equal(err.code, 404);
    assert_int_equal(err.http_status, 404);
    paychan_client_destroy(c);
    fake_stop(f);
}

/* An answer over the size limit is refused, not buffered without end. */
static void test_huge_answer(void **state)
{
    (void)state;
    size_t n = PC_CLIENT_MAX_ANSWER + 100;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    fake_server *f = fake_start();
    fake_reply(f, "/status", 200, big, 0);
    free(big);
    paychan_client *c = client_at(fake_url(f), 20000);
    paychan_error err;
    char *json = NULL;
    assert_int_equal(paychan_status(c, &json, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
    assert_non_null(strstr(err.message, "larger"));
    paychan_client_destroy(c);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_down),
        cmocka_unit_test(test_server_slow),
        cmocka_unit_test(test_server_garbage_bytes),
        cmocka_unit_test(test_server_wrong_answers),
        cmocka_unit_test(test_wrong_members),
        cmocka_unit_test(test_bad_header_values),
        cmocka_unit_test(test_server_error_objects),
        cmocka_unit_test(test_huge_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
