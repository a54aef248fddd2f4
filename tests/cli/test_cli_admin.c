/* test_cli_admin.c: `paychan channels` and `paychan channel show` against a
 * fake paychand (tests/client/fake_server.h) answering the admin API of the
 * agreed contract (GET /admin/channels, /admin/channels/M): the admin
 * routes are written in parallel on paychand, so this test checks what the
 * tool sends (path, query, request MAC) and how it shows the answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../client/fake_server.h"
#include "core/crypto/request_auth.h"
#include "support/cli_run.h"

#define KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define SENDER "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
#define M "0x5fbdb2315678afecb367f032d93f642f64180aa3"

static const char *CHANNEL =
    "{\"mediator\":\"" M "\",\"role\":\"provider\",\"account\":\"" SENDER "\","
    "\"counterparty\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"costPerRequest\":\"1000\","
    "\"consumerFunds\":\"99000\",\"providerFunds\":\"0\",\"activeTokenId\":\"77\","
    "\"highestIssued\":null,\"highestValidated\":42,\"unredeemedWei\":\"42000\","
    "\"lastRedemption\":null,\"nextDeadline\":{\"what\":\"redeem\",\"at\":1900000000},"
    "\"state\":\"open\"}";

static fake_server *fake;

static int setup(void **state)
{
    (void)state;
    return (fake = fake_start()) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fake_stop(fake);
    return 0;
}

/* The last request carried a valid request MAC of the dev key over its target. */
static void expect_mac_of_last(const char *want_target)
{
    fake_request req;
    uint8_t key[32], mac_key[32];
    fake_request_at(fake, fake_request_count(fake) - 1, &req);
    assert_string_equal(req.target, want_target);
    assert_string_equal(req.sender, SENDER);
    assert_int_equal(pc_hex_decode(KEY + 2, key, 32), 0);
    pc_request_mac_key(key, mac_key);
    assert_true(pc_request_mac_check(mac_key, req.sender, req.target, req.timestamp, NULL,
                                     req.mac));
}

static void test_channels_table_and_json(void **state)
{
    (void)state;
    char body[2048];
    snprintf(body, sizeof body, "{\"total\":1,\"offset\":0,\"channels\":[%s]}", CHANNEL);
    fake_reply(fake, "/admin/channels", 200, body, 2); /* the two calls below that send */
    pc_test_cli_result r;
    pc_test_cli(&r, PAYCHAN_CLI, "--url", fake_url(fake), "--dev", "--dev-key", KEY, "channels",
                "--role", "provider", "--limit", "10", NULL);
    assert_int_equal(r.status, 0);
    expect_mac_of_last("/admin/channels?limit=10&role=provider");
    assert_non_null(strstr(r.out, "MEDIATOR"));
    assert_non_null(strstr(r.out, M));
    assert_non_null(strstr(r.out, "42000"));      /* unredeemed wei */
    assert_non_null(strstr(r.out, "redeem@1900000000"));
    assert_non_null(strstr(r.out, "(1 of 1 from offset 0)"));
    pc_test_cli_result_free(&r);
    pc_test_cli(&r, PAYCHAN_CLI, "--url", fake_url(fake), "--dev", "--dev-key", KEY, "--json",
                "channels", NULL);
    assert_int_equal(r.status, 0);
    json_t *c = json_array_get(json_object_get(r.json, "channels"), 0);
    assert_int_equal(json_integer_value(json_object_get(c, "highestValidated")), 42);
    pc_test_cli_result_free(&r);
    pc_test_cli(&r, PAYCHAN_CLI, "--url", fake_url(fake), "--dev", "--dev-key", KEY, "channels",
                "--role", "both", NULL);
    assert_int_equal(r.status, 2);
    pc_test_cli_result_free(&r);
}

static void test_channel_show_and_unknown(void **state)
{
    (void)state;
    char body[2048];
    snprintf(body, sizeof body,
             "{\"mediator\":\"" M "\",\"roles\":[%s],\"tokens\":[{\"role\":\"provider\","
             "\"tokenId\":\"77\",\"highestCount\":42,\"unredeemedWei\":\"42000\"}]}",
             CHANNEL);
    fake_reply(fake, "/admin/channels/" M, 200, body, 1);
    pc_test_cli_result r;
    pc_test_cli(&r, PAYCHAN_CLI, "--url", fake_url(fake), "--dev", "--dev-key", KEY, "channel",
                "show", "0x5FbDB2315678afecb367f032d93F642f64180aa3", NULL);
    assert_int_equal(r.status, 0);
    expect_mac_of_last("/admin/channels/" M);
    assert_non_null(strstr(r.out, "tokens[0].highestCount: 42"));
    pc_test_cli_result_free(&r);
    fake_reply(fake, "/admin/channels/" M, 404,
               "{\"name\":\"NotFound\",\"code\":404,\"message\":\"unknown Mediator\"}", 1);
    pc_test_cli(&r, PAYCHAN_CLI, "--url", fake_url(fake), "--dev", "--dev-key", KEY, "--json",
                "channel", "show", M, NULL);
    assert_int_equal(r.status, 1);
    assert_int_equal(json_integer_value(json_object_get(r.json, "code")), 404);
    pc_test_cli_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channels_table_and_json),
        cmocka_unit_test(test_channel_show_and_unknown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
