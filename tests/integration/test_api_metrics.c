/* Integration: GET /metrics and the logs (issue 14, points 3 and 4), on real
 * paychand processes (both run with --log-level debug --log-format json
 * --access-log 1) and a real anvil:
 *
 *  - /metrics parses as the Prometheus text format (support/prom_text.h),
 *    and after known requests its counters moved by exactly those: tokens
 *    created, validated and rejected by code, requests by endpoint and
 *    status, the latency histograms' counts (requests, durable writes),
 *    node calls and transactions;
 *  - every line either server logged is one JSON object {time, level, msg},
 *    an access line was written per request, and no log holds any secret
 *    of the run: the services' keys, their request-MAC keys, the MACs and
 *    request signatures sent, or the payment tokens' signatures. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto/request_auth.h"
#include "support/integration.h"
#include "support/prom_text.h"

#define COST 1000000000000ULL

static const pc_itest_terms TERMS = {.cost = COST, .termination = 100, .redemption = 3};

/* The secrets used in the run, as lowercase hex without 0x. */
static char secrets[64][200];
static size_t n_secrets;

static void keep_secret(const char *text)
{
    const char *hex = strncmp(text, "0x", 2) == 0 ? text + 2 : text;
    assert_true(n_secrets < 64 && strlen(hex) < sizeof secrets[0]);
    for (size_t i = 0; hex[i]; i++)
        secrets[n_secrets][i] = (char)tolower((unsigned char)hex[i]);
    n_secrets++;
}

static void keep_secret_bytes(const uint8_t *b, size_t n)
{
    char hex[2 * 65 + 3];
    pc_hex_encode(b, n, hex);
    keep_secret(hex);
}

/* after - before of name{labels} (a missing sample counts 0). */
static double moved(const pc_test_prom *before, const pc_test_prom *after, const char *name,
                    const char *labels)
{
    return pc_test_prom_value(after, name, labels, 0) - pc_test_prom_value(before, name, labels, 0);
}

#define VALIDATE "endpoint=\"/contracts/{mediator}/validateToken\""

static void test_metrics_move(void **state)
{
    pc_itest *t = *state;
    pc_test_prom c0, c1, p0, p1;
    pc_address m;
    pc_itest_token tok[2];
    pc_test_reply r;
    it_open_channel(t, &TERMS, 10 * COST, &m, NULL);
    it_scrape(t->consumer_server, &c0);
    it_scrape(t->provider_server, &p0);
    for (int i = 0; i < 2; i++) {
        it_headers(t, IT_CONSUMER, &m, &tok[i]);
        keep_secret(tok[i].signature);
    }
    it_validate_ok(t, &tok[1], &TERMS);
    pc_itest_validate(t, NULL, &tok[1], &TERMS, &r); /* a replay */
    it_expect_error(&r, 412, 37);
    pc_test_reply_free(&r);
    it_scrape(t->consumer_server, &c1);
    it_scrape(t->provider_server, &p1);

    it_check(moved(&c0, &c1, "paychan_tokens_created_total", "") == 2);
    it_check(moved(&c0, &c1, "paychan_http_requests_total",
                   "endpoint=\"/contracts/{mediator}/createSignatureHeaders\",status=\"200\"") == 2);
    it_check(pc_test_prom_value(&c1, "paychan_transactions_total", "", 0) >= 2);
    it_check(pc_test_prom_value(&c1, "paychan_gas_used_total", "", 0) > 0);
    it_check(pc_test_prom_value(&c1, "paychan_mediators", "role=\"consumer\"", 0) >= 1);
    it_check(moved(&p0, &p1, "paychan_tokens_validated_total", "") == 1);
    it_check(moved(&p0, &p1, "paychan_tokens_rejected_total", "code=\"37\"") == 1);
    it_check(moved(&p0, &p1, "paychan_http_requests_total", VALIDATE ",status=\"200\"") == 1);
    it_check(moved(&p0, &p1, "paychan_http_requests_total", VALIDATE ",status=\"412\"") == 1);
    it_check(moved(&p0, &p1, "paychan_http_errors_total", VALIDATE ",code=\"37\"") == 1);
    it_check(moved(&p0, &p1, "paychan_http_request_duration_seconds_count", VALIDATE) == 2);
    it_check(moved(&p0, &p1, "paychan_http_requests_total",
                   "endpoint=\"/metrics\",status=\"200\"") == 1);
    it_check(pc_test_prom_value(&p1, "paychan_node_calls_total", "", 0) > 0);
    it_check(moved(&p0, &p1, "paychan_store_write_duration_seconds_count", "") >= 1);
    it_check(moved(&c0, &c1, "paychan_store_write_duration_seconds_count", "") >= 1);
    it_check(pc_test_prom_value(&p1, "paychan_unredeemed_wei", "", -1) >= (double)(2 * COST));
    it_check(pc_test_prom_value(&p1, "paychan_http_open_connections", "", -1) >= 1);
    pc_test_prom_free(&c0);
    pc_test_prom_free(&c1);
    pc_test_prom_free(&p0);
    pc_test_prom_free(&p1);
}

/* Requests whose authentication carries known secrets: a MAC (sent twice:
 * the replay is refused and logged) and a token's signature misused as a
 * request signature (refused and logged). */
static void send_known_macs(pc_itest *t)
{
    pc_test_client *c = t->client[IT_CONSUMER];
    uint8_t mac_key[32];
    char stamp[40], mac[PC_REQUEST_MAC_HEX_LEN];
    const char *target = "/admin/transactions?limit=1";
    pc_test_reply r;
    pc_request_mac_key(t->key[IT_CONSUMER], mac_key);
    keep_secret_bytes(mac_key, 32);
    pc_test_timestamp(0, stamp);
    pc_request_mac(mac_key, t->sender[IT_CONSUMER], target, stamp, NULL, mac);
    keep_secret(mac);
    pc_test_auth auth = {.mode = PC_TEST_AUTH_MAC, .timestamp = stamp};
    for (int i = 0; i < 2; i++) {
        pc_test_request(c, "GET", target, &auth, NULL, &r);
        it_check(r.status == (i ? 412 : 200));
        pc_test_reply_free(&r);
    }
    char sig[2 + sizeof secrets[0]] = "0x";
    strcat(sig, secrets[0]);
    pc_test_auth misused = {.signature = sig}; /* a token signature, as a request's */
    pc_test_request(c, "GET", target, &misused, NULL, &r);
    it_check(r.status == 412);
    pc_test_reply_free(&r);
}

/* Every line of p's log is a JSON object with time, level and msg; no
 * secret appears in it (its first 16 hex digits, in any case). */
static void check_log(const pc_test_paychand *p, size_t *access_lines)
{
    char *text = pc_test_paychand_log_text(p);
    assert_non_null(text);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        if (!json_is_string(json_object_get(o, "time")) ||
            !json_is_string(json_object_get(o, "level")) ||
            !json_is_string(json_object_get(o, "msg")))
            it_fail("not a JSON log line: %s", line);
        *access_lines += strncmp(json_string_value(json_object_get(o, "msg")), "access: ", 8) == 0;
        json_decref(o);
        for (char *q = line; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        for (size_t i = 0; i < n_secrets; i++) {
            char prefix[17];
            memcpy(prefix, secrets[i], 16); /* every secret has 64 hex digits or more */
            prefix[16] = '\0';
            if (strstr(line, prefix))
                it_fail("a secret (%s...) in the log: %s", prefix, line);
        }
    }
    free(text);
}

static void test_logs_json_without_secrets(void **state)
{
    pc_itest *t = *state;
    size_t access_lines = 0;
    for (int i = 1; i < IT_N_ACCOUNTS; i++) {
        uint8_t mac_key[32];
        keep_secret_bytes(t->key[i], 32);
        pc_request_mac_key(t->key[i], mac_key);
        keep_secret_bytes(mac_key, 32);
    }
    it_check(n_secrets > 2); /* the token signatures of the first test */
    send_known_macs(t);
    check_log(t->consumer_server, &access_lines);
    check_log(t->provider_server, &access_lines);
    it_check(pc_test_paychand_log_contains(t->provider_server, "\"level\":\"debug\""));
    it_check(pc_test_paychand_log_contains(
        t->provider_server, "access: GET /contracts/") &&
             pc_test_paychand_log_contains(t->provider_server, "/validateToken 412 code 37"));
    it_check(access_lines >= 10);
}

static int setup(void **state)
{
    static const char *const args[] = {"--log-level", "debug", "--log-format", "json",
                                       "--access-log", "1", NULL};
    return pc_itest_group_setup(state, args);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_move),
        cmocka_unit_test(test_logs_json_without_secrets),
    };
    return cmocka_run_group_tests(tests, setup, pc_itest_group_teardown);
}
