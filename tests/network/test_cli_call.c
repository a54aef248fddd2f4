/* test_cli_call.c: `paychan call URL`, a paid request through the team's
 * paychand, against the real example network (network.h): the tool acts
 * as public-service's account (its committed devnet keystore, through the
 * "public" paychand) and calls random-nr-service's paid /randomNumber,
 * whose own paychand validates the token. Without --mediator the tool finds
 * the Mediator from the service's 402 terms (useService reuse: the one
 * public-service's /init deployed and funded); with --mediator it pays
 * through that one directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/cli_run.h"
#include "support/network.h"

#define ACCOUNT PAYCHAN_SOURCE_DIR "/devnet/dev-only/keystores/consumer.json:" \
                PAYCHAN_SOURCE_DIR "/devnet/dev-only/password.txt"

static pc_test_network *net;
static char url[256];

static int setup(void **state)
{
    (void)state;
    if (!(net = pc_test_network_start_default()))
        return -1;
    pc_test_reply r;
    int rc = pc_test_network_get(net, PC_NET_PUBLIC, NULL, &r, "/init");
    rc = rc == 0 && r.status == 200 ? 0 : -1;
    pc_test_reply_free(&r);
    snprintf(url, sizeof url, "%s/randomNumber", pc_test_network_url(net, PC_NET_RANDOM));
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    return pc_test_network_stop(net) == 0 ? 0 : -1;
}

static void expect_paid(const pc_test_cli_result *r, const char *want_count)
{
    if (r->status != 0)
        fail_msg("paychan call: exit %d\nstdout: %s\nstderr: %s", r->status, r->out, r->err);
    assert_int_equal(json_integer_value(json_object_get(r->json, "status")), 200);
    if (want_count)
        assert_string_equal(pc_test_cli_string(r, "requestCount"), want_count);
    json_t *body = json_loads(pc_test_cli_string(r, "body"), 0, NULL);
    assert_true(json_is_integer(json_object_get(body, "randomNumber")));
    json_decref(body);
}

/* The unpaid request is answered 402; the tool pays and gets the number. */
static void test_call_discovers_mediator(void **state)
{
    (void)state;
    pc_test_cli_result r;
    pc_test_cli(&r, PAYCHAN_CLI, "--url", pc_test_paychand_url(net->public_server), "--account",
                ACCOUNT, "--json", "call", url, NULL);
    expect_paid(&r, NULL);
    char mediator[PC_ADDRESS_TEXT_LEN], count[24];
    snprintf(mediator, sizeof mediator, "%s", pc_test_cli_string(&r, "mediator"));
    unsigned long long n = strtoull(pc_test_cli_string(&r, "requestCount"), NULL, 10);
    pc_test_cli_result_free(&r);
    /* the same Mediator given: the next count of the same token */
    pc_test_cli(&r, PAYCHAN_CLI, "--url", pc_test_paychand_url(net->public_server), "--account",
                ACCOUNT, "--json", "call", url, "--mediator", mediator, NULL);
    snprintf(count, sizeof count, "%llu", n + 1);
    expect_paid(&r, count);
    assert_string_equal(pc_test_cli_string(&r, "mediator"), mediator);
    pc_test_cli_result_free(&r);
    /* text mode prints the body only */
    pc_test_cli(&r, PAYCHAN_CLI, "--url", pc_test_paychand_url(net->public_server), "--account",
                ACCOUNT, "call", url, "--mediator", mediator, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"randomNumber\""));
    pc_test_cli_result_free(&r);
}

/* A Mediator the target does not accept (random-nr-service's, sent to
 * persistence-service): the target's 402 with code 2 is exit 6. */
static void test_call_refused_by_target(void **state)
{
    (void)state;
    pc_test_cli_result r;
    char other[256], mediator[PC_ADDRESS_TEXT_LEN];
    pc_test_cli(&r, PAYCHAN_CLI, "--url", pc_test_paychand_url(net->public_server), "--account",
                ACCOUNT, "--json", "call", url, NULL);
    expect_paid(&r, NULL);
    snprintf(mediator, sizeof mediator, "%s", pc_test_cli_string(&r, "mediator"));
    pc_test_cli_result_free(&r);
    snprintf(other, sizeof other, "%s/save?nr=7", pc_test_network_url(net, PC_NET_PERSISTENCE));
    pc_test_cli(&r, PAYCHAN_CLI, "--url", pc_test_paychand_url(net->public_server), "--account",
                ACCOUNT, "--json", "call", other, "--mediator", mediator, NULL);
    assert_int_equal(r.status, 6);
    assert_int_equal(json_integer_value(json_object_get(r.json, "status")), 402);
    json_t *body = json_loads(pc_test_cli_string(&r, "body"), 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(body, "code")), 2);
    json_decref(body);
    pc_test_cli_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_discovers_mediator),
        cmocka_unit_test(test_call_refused_by_target),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
