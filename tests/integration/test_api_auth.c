/* Integration: request authentication of paychand (docs/protocol.md §3) over real HTTP:
 * the timestamped scheme (window, replays, fractions of a second, both
 * spellings of v), every refusal with its code (200 bad signature, 201
 * missing signature, 202 missing sender, 203 unknown account, 204 stale or
 * malformed timestamp, 205 replayed, 206 unstamped while not allowed) on
 * every authenticated endpoint, and the original unstamped scheme accepted
 * only by a server started with --allow-unstamped-auth: in both forms of
 * protocol §3, the second checked with headers made by an independent
 * implementation (Node and ethers, original_client_sign.mjs), and said so
 * in the log and /status. A POST's body, Content-Type and method are
 * signed: a swapped body or a GET's signature never authorizes a POST. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support/integration.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 100, .redemption = 50};

typedef struct fixture {
    pc_itest *t;
    pc_address m;              /* a Mediator of the consumer, with a deposit */
    char funds[128];           /* its /funds target */
    pc_test_paychand *lenient; /* provider team, --allow-unstamped-auth --auth-window 5 */
    pc_test_paychand *lenient_consumer; /* consumer team, --allow-unstamped-auth */
    time_t started;            /* when the servers were up */
} fixture;

/* Sleeps until the servers have been up for `seconds`: stamps from before a
 * server's start are refused (it may have forgotten the requests it saw). */
static void wait_uptime(const fixture *f, long seconds)
{
    while (time(NULL) < f->started + seconds)
        pc_itest_sleep_ms(100);
}

/* Sends GET target from client c with auth; checks status and code (code -1 = 200). */
#define expect_auth(c, target, auth, code) \
    expect_auth_at((c), (target), (auth), (code), __FILE__, __LINE__)
static void expect_auth_at(pc_test_client *c, const char *target, const pc_test_auth *auth,
                           long code, const char *file, int line)
{
    pc_test_reply r;
    pc_test_request(c, "GET", target, auth, NULL, &r);
    if (code < 0)
        pc_itest_expect_ok_at(&r, file, line);
    else
        pc_itest_expect_error_at(&r, code == PC_ERR_NOT_FOUND ? 404 : 412, code, file, line);
    pc_test_reply_free(&r);
}

#define FORM "application/x-www-form-urlencoded"

/* Sends POST target with a body of `type` from client c with auth; checks
 * status and code (code -1 = 200). */
#define expect_post(c, target, auth, type, body, code) \
    expect_post_at((c), (target), (auth), (type), (body), (code), __FILE__, __LINE__)
static void expect_post_at(pc_test_client *c, const char *target, const pc_test_auth *auth,
                           const char *type, const char *body, long code, const char *file,
                           int line)
{
    pc_test_reply r;
    pc_test_request_body(c, "POST", target, auth, type, body, strlen(body), &r);
    if (code < 0)
        pc_itest_expect_ok_at(&r, file, line);
    else
        pc_itest_expect_error_at(&r, 412, code, file, line);
    pc_test_reply_free(&r);
}

/* ---- the timestamped scheme -------------------------------------------------------------- */

/* Identical calls within one second differ by the fraction: all accepted;
 * a timestamp inside the window is accepted. */
static void test_stamped_accepted(void **state)
{
    fixture *f = *state;
    pc_test_client *c = f->t->client[IT_CONSUMER];
    for (int i = 0; i < 5; i++)
        expect_auth(c, f->funds, NULL, -1);
    char stamp[40];
    wait_uptime(f, 4);
    pc_test_timestamp(-3, stamp);
    pc_test_auth a = {.timestamp = stamp};
    expect_auth(c, f->funds, &a, -1);
    pc_test_timestamp(50, stamp);
    expect_auth(c, f->funds, &a, -1);
    snprintf(stamp, sizeof stamp, "%lld", (long long)time(NULL)); /* no fraction at all */
    expect_auth(c, f->funds, &a, -1);
}

static void test_missing_sender_202(void **state)
{
    fixture *f = *state;
    pc_test_client *c = f->t->client[IT_CONSUMER];
    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE};
    const pc_test_auth no_sender = {.mode = PC_TEST_AUTH_NO_SENDER};
    const pc_test_auth not_address = {.sender = "nonsense"};
    expect_auth(c, f->funds, &none, PC_ERR_SENDER_MISSING);
    expect_auth(c, f->funds, &no_sender, PC_ERR_SENDER_MISSING);
    expect_auth(c, f->funds, &not_address, PC_ERR_SENDER_MISSING);
}

static void test_missing_signature_201(void **state)
{
    fixture *f = *state;
    const pc_test_auth no_sig = {.mode = PC_TEST_AUTH_NO_SIGNATURE};
    expect_auth(f->t->client[IT_CONSUMER], f->funds, &no_sig, PC_ERR_REQUEST_SIGNATURE_MISSING);
}

/* Corrupt, not hex, by another key, over another target: all 200. */
static void test_bad_signature_200(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_test_client *c = t->client[IT_CONSUMER];
    const pc_test_auth corrupt = {.mode = PC_TEST_AUTH_CORRUPT};
    const pc_test_auth not_hex = {.mode = PC_TEST_AUTH_NOT_HEX};
    const pc_test_auth other_key = {.signer_key = t->key[IT_CONSUMER2]};
    const pc_test_auth other_sender = {.sender = t->sender[IT_CONSUMER2]}; /* signed by 1 */
    char other_target[160];
    snprintf(other_target, sizeof other_target, "/contracts/%s/terminationStatus",
             pc_itest_addr(&f->m));
    const pc_test_auth other_target_auth = {.signed_target = other_target};
    expect_auth(c, f->funds, &corrupt, PC_ERR_REQUEST_SIGNATURE);
    expect_auth(c, f->funds, &not_hex, PC_ERR_REQUEST_SIGNATURE);
    expect_auth(c, f->funds, &other_key, PC_ERR_REQUEST_SIGNATURE);
    expect_auth(c, f->funds, &other_sender, PC_ERR_REQUEST_SIGNATURE);
    expect_auth(c, f->funds, &other_target_auth, PC_ERR_REQUEST_SIGNATURE);
}

/* A correctly signed request of an account the server does not serve. */
static void test_unknown_account_203(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_test_client *deployer = pc_itest_client(t, t->consumer_server, IT_DEPLOYER);
    expect_auth(deployer, f->funds, NULL, PC_ERR_UNKNOWN_ACCOUNT);
    pc_test_client_destroy(deployer);
    pc_test_client *provider_here = pc_itest_client(t, t->consumer_server, IT_PROVIDER);
    expect_auth(provider_here, f->funds, NULL, PC_ERR_UNKNOWN_ACCOUNT);
    pc_test_client_destroy(provider_here);
}

static void test_stale_timestamp_204(void **state)
{
    fixture *f = *state;
    pc_test_client *c = f->t->client[IT_CONSUMER];
    char past[40], future[40];
    pc_test_timestamp(-120, past);
    pc_test_timestamp(120, future);
    const char *bad[] = {past, future, "abc", "1764457272.", ".5", "-5", "1e9", "17644572721764457272",
                         "1764457272.12a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pc_test_auth a = {.timestamp = bad[i]};
        pc_test_reply r;
        pc_test_request(c, "GET", f->funds, &a, NULL, &r);
        if (r.status != 412 || pc_test_reply_code(&r) != PC_ERR_STALE_REQUEST)
            it_fail("timestamp \"%s\": expected 412 code 204, got %ld: %s", bad[i], r.status,
                    r.text);
        pc_test_reply_free(&r);
    }
}

/* The same signed request twice: the second is a replay (205), also with v
 * spelt 0/1 instead of 27/28; a refused replay does not act. */
static void test_replayed_205(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_test_client *c = t->client[IT_CONSUMER];
    char stamp[40], target[160];
    pc_test_timestamp(0, stamp);
    pc_test_auth once = {.timestamp = stamp};
    pc_test_auth v01 = {.mode = PC_TEST_AUTH_V01, .timestamp = stamp};
    expect_auth(c, f->funds, &once, -1);
    expect_auth(c, f->funds, &once, PC_ERR_REPLAYED_REQUEST);
    expect_auth(c, f->funds, &v01, PC_ERR_REPLAYED_REQUEST);

    snprintf(target, sizeof target, "/contracts/%s/createSignatureHeaders", pc_itest_addr(&f->m));
    pc_itest_token tok;
    it_headers(t, IT_CONSUMER, &f->m, &tok);
    uint64_t before = tok.count;
    pc_test_timestamp(0, stamp);
    expect_auth(c, target, &once, -1);
    expect_auth(c, target, &once, PC_ERR_REPLAYED_REQUEST);
    it_headers(t, IT_CONSUMER, &f->m, &tok);
    assert_int_equal(tok.count, before + 2); /* the replay took no count */
}

static void test_unstamped_refused_206(void **state)
{
    fixture *f = *state;
    const pc_test_auth unstamped = {.mode = PC_TEST_AUTH_UNSTAMPED};
    expect_auth(f->t->client[IT_CONSUMER], f->funds, &unstamped, PC_ERR_TIMESTAMP_MISSING);
    expect_auth(f->t->client[IT_PROVIDER], f->funds, &unstamped, PC_ERR_TIMESTAMP_MISSING);
}

/* ---- every authenticated endpoint ----------------------------------------------------------- */

/* Each endpoint refuses unauthenticated and badly signed calls before doing
 * anything: no Mediator deployed, no count taken, no deposit. */
static void test_every_endpoint_authenticated(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    const char *m = pc_itest_addr(&f->m);
    char targets[10][512];
    snprintf(targets[0], 512, "/useService?serviceProvider=%s", t->sender[IT_PROVIDER]);
    snprintf(targets[1], 512, "/contracts/%s/deposit/1000", m);
    snprintf(targets[2], 512, "/contracts/%s/createSignatureHeaders", m);
    snprintf(targets[3], 512,
             "/contracts/%s/validateToken?sender=%s&mediator=%s&signature=0x00&tokenId=1"
             "&reqCount=1&minCostPerRequest=1&terminationTimeout=100&tokenRedemptionTimeout=50",
             m, t->sender[IT_CONSUMER], m);
    snprintf(targets[4], 512, "/contracts/%s/redeemToken", m);
    snprintf(targets[5], 512, "/contracts/%s/payout", m);
    snprintf(targets[6], 512, "/contracts/%s/terminate", m);
    snprintf(targets[7], 512, "/contracts/%s/terminationStatus", m);
    snprintf(targets[8], 512, "/contracts/%s/funds", m);
    snprintf(targets[9], 512, "/createSignatureHeaders?mediators=%s,%s", m, m); /* extension */
    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE};
    const pc_test_auth corrupt = {.mode = PC_TEST_AUTH_CORRUPT};
    const pc_test_auth no_sig = {.mode = PC_TEST_AUTH_NO_SIGNATURE};
    const pc_test_auth bad_mac = {.mode = PC_TEST_AUTH_MAC_CORRUPT};
    uint64_t block = pc_itest_block(t);
    pc_itest_token before, after;
    it_headers(t, IT_CONSUMER, &f->m, &before);
    for (int i = 0; i < 10; i++) {
        const int callers[] = {IT_CONSUMER, IT_PROVIDER};
        for (int k = 0; k < 2; k++) {
            pc_test_client *c = t->client[callers[k]];
            expect_auth(c, targets[i], &none, PC_ERR_SENDER_MISSING);
            expect_auth(c, targets[i], &corrupt, PC_ERR_REQUEST_SIGNATURE);
            expect_auth(c, targets[i], &no_sig, PC_ERR_REQUEST_SIGNATURE_MISSING);
            expect_auth(c, targets[i], &bad_mac, PC_ERR_REQUEST_SIGNATURE);
        }
    }
    assert_int_equal(pc_itest_block(t), block); /* no transaction */
    it_headers(t, IT_CONSUMER, &f->m, &after);
    assert_int_equal(after.count, before.count + 1);
}

/* ---- the request MAC (our extension, auth.h) ------------------------------------------------ */

/* x-pay-mac instead of x-pay-signature: accepted when right (also on the
 * per-request endpoints, which run on the event loops), refused with the
 * signature's codes when wrong, and always stamped and claimed once. */
static void test_request_mac(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_test_client *c = t->client[IT_CONSUMER];
    char stamp[40], target[160], other_target[160];
    snprintf(target, sizeof target, "/contracts/%s/createSignatureHeaders", pc_itest_addr(&f->m));
    snprintf(other_target, sizeof other_target, "/contracts/%s/terminationStatus",
             pc_itest_addr(&f->m));
    const pc_test_auth mac = {.mode = PC_TEST_AUTH_MAC};
    pc_itest_token before, after;
    it_headers(t, IT_CONSUMER, &f->m, &before);
    expect_auth(c, f->funds, &mac, -1);
    expect_auth(c, target, &mac, -1);
    expect_auth(t->client[IT_PROVIDER], f->funds, &mac, -1);
    it_headers(t, IT_CONSUMER, &f->m, &after);
    assert_int_equal(after.count, before.count + 2);

    const pc_test_auth corrupt = {.mode = PC_TEST_AUTH_MAC_CORRUPT};
    const pc_test_auth other_key = {.mode = PC_TEST_AUTH_MAC, .signer_key = t->key[IT_CONSUMER2]};
    const pc_test_auth other_sender = {.mode = PC_TEST_AUTH_MAC,
                                       .sender = t->sender[IT_CONSUMER2]}; /* keyed by 1 */
    const pc_test_auth other_target_auth = {.mode = PC_TEST_AUTH_MAC,
                                            .signed_target = other_target};
    expect_auth(c, f->funds, &corrupt, PC_ERR_REQUEST_SIGNATURE);
    expect_auth(c, target, &corrupt, PC_ERR_REQUEST_SIGNATURE);
    expect_auth(c, f->funds, &other_key, PC_ERR_REQUEST_SIGNATURE);
    expect_auth(c, f->funds, &other_sender, PC_ERR_REQUEST_SIGNATURE);
    expect_auth(c, f->funds, &other_target_auth, PC_ERR_REQUEST_SIGNATURE);

    /* a MAC always needs a stamp, even where unstamped signatures are allowed */
    const pc_test_auth unstamped = {.mode = PC_TEST_AUTH_MAC_UNSTAMPED};
    expect_auth(c, f->funds, &unstamped, PC_ERR_TIMESTAMP_MISSING);
    pc_test_client *lenient = pc_itest_client(t, f->lenient, IT_PROVIDER);
    expect_auth(lenient, f->funds, &unstamped, PC_ERR_TIMESTAMP_MISSING);
    pc_test_client_destroy(lenient);

    /* an account served elsewhere: its MAC key is unknown here */
    pc_test_client *deployer = pc_itest_client(t, t->consumer_server, IT_DEPLOYER);
    expect_auth(deployer, f->funds, &mac, PC_ERR_UNKNOWN_ACCOUNT);
    pc_test_client_destroy(deployer);

    /* stale, and replayed: also with the MAC spelt in upper case without 0x */
    pc_test_timestamp(-120, stamp);
    const pc_test_auth stale = {.mode = PC_TEST_AUTH_MAC, .timestamp = stamp};
    expect_auth(c, f->funds, &stale, PC_ERR_STALE_REQUEST);
    pc_test_timestamp(0, stamp);
    const pc_test_auth once = {.mode = PC_TEST_AUTH_MAC, .timestamp = stamp};
    const pc_test_auth upper = {.mode = PC_TEST_AUTH_MAC_UPPER, .timestamp = stamp};
    expect_auth(c, target, &once, -1);
    expect_auth(c, target, &once, PC_ERR_REPLAYED_REQUEST);
    expect_auth(c, target, &upper, PC_ERR_REPLAYED_REQUEST);
    it_headers(t, IT_CONSUMER, &f->m, &before);
    assert_int_equal(before.count, after.count + 2); /* the replays took no count */
}

/* ---- the original scheme ------------------------------------------------------------------- */

/* With --allow-unstamped-auth the original scheme works (and, as in the
 * original, a captured call can be replayed); stamped calls keep their
 * window (5 s here) and replay protection; bad signatures still fail. */
static void test_unstamped_allowed(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_test_client *c = pc_itest_client(t, f->lenient, IT_PROVIDER);
    const pc_test_auth unstamped = {.mode = PC_TEST_AUTH_UNSTAMPED};
    expect_auth(c, f->funds, &unstamped, -1);
    expect_auth(c, f->funds, &unstamped, -1);
    pc_test_auth bad = {.mode = PC_TEST_AUTH_UNSTAMPED, .signer_key = t->key[IT_STRANGER]};
    expect_auth(c, f->funds, &bad, PC_ERR_REQUEST_SIGNATURE);
    const pc_test_auth no_sig = {.mode = PC_TEST_AUTH_NO_SIGNATURE};
    expect_auth(c, f->funds, &no_sig, PC_ERR_REQUEST_SIGNATURE_MISSING);

    char stamp[40];
    pc_test_timestamp(-10, stamp);
    pc_test_auth stale = {.timestamp = stamp};
    expect_auth(c, f->funds, &stale, PC_ERR_STALE_REQUEST);
    wait_uptime(f, 4);
    pc_test_timestamp(-3, stamp);
    expect_auth(c, f->funds, &stale, -1);
    pc_test_timestamp(0, stamp);
    expect_auth(c, f->funds, &stale, -1);
    expect_auth(c, f->funds, &stale, PC_ERR_REPLAYED_REQUEST);
    pc_test_client_destroy(c);
}

/* ---- POST bodies ---------------------------------------------------------------------------- */

/* Regression (issue 9, point 4): the signature covered the target but not
 * a POST's body, so a signature over /useService deployed towards whatever
 * serviceProvider the body named. A POST signs its method, Content-Type and
 * body digest (protocol §3): a swapped body, a body signed under another type,
 * or a GET's signature (never used) on a POST are refused with 200, by
 * signature and by MAC, and nothing is deployed; correctly signed POSTs work. */
static void test_post_body_signed(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_test_client *c = t->client[IT_CONSUMER];
    char body[256], evil[256];
    const char *terms = "&costPerRequest=1000&terminationTimeout=100&tokenRedemptionTimeout=50";
    snprintf(body, sizeof body, "serviceProvider=%s%s", t->sender[IT_PROVIDER], terms);
    snprintf(evil, sizeof evil, "serviceProvider=%s%s", t->sender[IT_STRANGER], terms);
    uint64_t block = pc_itest_block(t);
    const pc_test_auth swapped = {.signed_body = body};
    const pc_test_auth as_get = {.sign_as_get = 1};
    const pc_test_auth mac_swapped = {.mode = PC_TEST_AUTH_MAC, .signed_body = body};
    const pc_test_auth mac_as_get = {.mode = PC_TEST_AUTH_MAC, .sign_as_get = 1};
    expect_post(c, "/useService", &swapped, FORM, evil, PC_ERR_REQUEST_SIGNATURE);
    expect_post(c, "/useService", &as_get, FORM, evil, PC_ERR_REQUEST_SIGNATURE);
    expect_post(c, "/useService", &mac_swapped, FORM, evil, PC_ERR_REQUEST_SIGNATURE);
    expect_post(c, "/useService", &mac_as_get, FORM, evil, PC_ERR_REQUEST_SIGNATURE);
    /* the same bytes read as another type are another request */
    const pc_test_auth other_type = {.signed_type = "application/json"};
    expect_post(c, "/useService", &other_type, FORM, evil, PC_ERR_REQUEST_SIGNATURE);
    assert_int_equal(pc_itest_block(t), block);
    /* signed as sent: the body counts, by signature and by MAC */
    pc_test_reply r;
    pc_address m;
    pc_mediator_terms deployed;
    pc_test_request_body(c, "POST", "/useService", NULL, FORM, body, strlen(body), &r);
    it_expect_ok(&r);
    assert_int_equal(pc_address_parse(pc_test_reply_string(&r, "mediatorAddress"), &m), 0);
    pc_test_reply_free(&r);
    assert_int_equal(pc_mediator_read_terms(t->rpc, &m, &deployed, NULL), 0);
    assert_true(pc_address_equal(&deployed.provider, &t->addr[IT_PROVIDER]));
    const pc_test_auth mac = {.mode = PC_TEST_AUTH_MAC};
    expect_post(c, f->funds, &mac, "application/json", "{\"x\": 1}", -1);
    expect_post(c, f->funds, NULL, FORM, "", -1);
}

/* Regression (issue 9, point 4): with --allow-unstamped-auth a captured
 * unstamped GET deposit, replayed as a POST with autoFundingThreshold in
 * the body, was accepted, and every duty pass deposited again. A POST must
 * be stamped (206), and a stamped GET's signature does not cover a POST
 * (200). Nothing is deposited; the GET itself still works unstamped. */
static void test_get_replayed_as_post(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    pc_test_client *c = pc_itest_client(t, f->lenient_consumer, IT_CONSUMER);
    char deposit[128];
    const char *threshold = "autoFundingThreshold=1000000000000000000";
    snprintf(deposit, sizeof deposit, "/contracts/%s/deposit/1000", pc_itest_addr(&f->m));
    uint64_t block = pc_itest_block(t);
    const pc_test_auth unstamped_get = {.mode = PC_TEST_AUTH_UNSTAMPED, .sign_as_get = 1};
    const pc_test_auth stamped_get = {.sign_as_get = 1};
    const pc_test_auth unstamped_post = {.mode = PC_TEST_AUTH_UNSTAMPED};
    expect_post(c, deposit, &unstamped_get, FORM, threshold, PC_ERR_TIMESTAMP_MISSING);
    expect_post(c, deposit, &stamped_get, FORM, threshold, PC_ERR_REQUEST_SIGNATURE);
    expect_post(c, deposit, &unstamped_post, FORM, threshold, PC_ERR_TIMESTAMP_MISSING);
    pc_itest_sleep_ms(500);
    assert_int_equal(pc_itest_block(t), block);
    expect_auth(c, deposit, &unstamped_get, -1);
    pc_test_client_destroy(c);
}

/* ---- the original client's static digest ----------------------------------------------------- */

/* The headers of the original client library for `targets` of `who`'s key,
 * made by original_client_sign.mjs; a JSON array (caller frees). */
static json_t *original_client_headers(const pc_itest *t, int who, const char *const *targets,
                                       size_t n)
{
    char key[2 * 32 + 3], cmd[2048];
    pc_hex_encode(t->key[who], 32, key);
    int len = snprintf(cmd, sizeof cmd, "'%s' '%s/tests/integration/original_client_sign.mjs' %s",
                       PAYCHAN_NODE, PAYCHAN_SOURCE_DIR, key);
    for (size_t i = 0; i < n; i++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " '%s'", targets[i]);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t jerr;
    json_t *out = json_loadf(p, 0, &jerr);
    assert_int_equal(pclose(p), 0);
    assert_true(json_is_array(out) && json_array_size(out) == n);
    return out;
}

/* Regression (issue 9, point 6): the prototype's client library signs a
 * static per-sender digest (protocol §3), which no server accepted, so the
 * original client could not authenticate. With --allow-unstamped-auth its
 * headers, made by Node and ethers, are accepted for targets of both
 * parities; a strict server still answers 206; the mode says in /status
 * and in its log that it accepts a static, replayable credential. */
static void test_original_client_accepted(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    char status_target[160], even[160];
    snprintf(status_target, sizeof status_target, "/contracts/%s/terminationStatus",
             pc_itest_addr(&f->m));
    snprintf(even, sizeof even, "%s?x=12", f->funds);
    const char *targets[] = {f->funds, status_target, even};
    assert_int_equal((strlen(targets[0]) + strlen(targets[2])) % 2, 1); /* both parities */
    json_t *headers = original_client_headers(t, IT_PROVIDER, targets, 3);
    pc_test_client *lenient = pc_itest_client(t, f->lenient, IT_PROVIDER);
    for (size_t i = 0; i < 3; i++) {
        json_t *h = json_array_get(headers, i);
        pc_test_auth original = {
            .mode = PC_TEST_AUTH_UNSTAMPED,
            .sender = json_string_value(json_object_get(h, "x-pay-sender")),
            .signature = json_string_value(json_object_get(h, "x-pay-signature"))};
        expect_auth(lenient, targets[i], &original, -1);
        expect_auth(lenient, targets[i], &original, -1); /* replayable, as documented */
        expect_auth(t->client[IT_PROVIDER], targets[i], &original, PC_ERR_TIMESTAMP_MISSING);
    }
    json_decref(headers);
    pc_test_client_destroy(lenient);
    pc_test_reply r;
    pc_itest_status(f->lenient, &r);
    json_t *body = it_expect_ok(&r);
    const char *warning = json_string_value(json_object_get(body, "unstampedAuthWarning"));
    assert_true(json_is_true(json_object_get(body, "unstampedAuth")));
    assert_true(warning && strstr(warning, "static, replayable credential"));
    pc_test_reply_free(&r);
    pc_itest_status(t->provider_server, &r);
    body = it_expect_ok(&r);
    assert_true(json_is_false(json_object_get(body, "unstampedAuth")));
    assert_null(json_object_get(body, "unstampedAuthWarning"));
    pc_test_reply_free(&r);
    assert_true(pc_test_paychand_log_contains(f->lenient, "static, replayable credential"));
}

/* A captured request replayed after the server restarted is still refused
 * (as a replay, or as stamped before the start). Last: it restarts.
 *
 * Regression (fixed): with the SQLite and memory stores paychand keeps the
 * claimed request signatures in memory and, after a restart, refuses stamps
 * from before its start. It once compared whole seconds, so a request
 * stamped in the restart's second, before it, was accepted again. The
 * request is sent right after a second begins and the server restarted at
 * once, so this guards the comparison in microseconds. */
static void test_replay_after_restart(void **state)
{
    fixture *f = *state;
    pc_itest *t = f->t;
    char stamp[40];
    for (time_t now = time(NULL); time(NULL) == now;)
        pc_itest_sleep_ms(5); /* the start of a new second */
    pc_test_timestamp(0, stamp);
    pc_test_auth once = {.timestamp = stamp};
    expect_auth(t->client[IT_CONSUMER], f->funds, &once, -1);
    assert_int_equal(pc_test_paychand_stop(t->consumer_server), 0);
    assert_int_equal(pc_test_paychand_restart(t->consumer_server), 0);
    pc_test_reply r;
    pc_test_request(t->client[IT_CONSUMER], "GET", f->funds, &once, NULL, &r);
    long code = pc_test_reply_code(&r);
    if (r.status != 412 || (code != PC_ERR_REPLAYED_REQUEST && code != PC_ERR_STALE_REQUEST))
        it_fail("a replay after the restart: expected 412 with 205 or 204, got %ld: %s",
                r.status, r.text);
    pc_test_reply_free(&r);
    expect_auth(t->client[IT_CONSUMER], f->funds, NULL, -1); /* fresh requests work */
}

/* ---- set-up --------------------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f || !(f->t = pc_itest_start(NULL)))
        return -1;
    const char *lenient[] = {"--allow-unstamped-auth", "--auth-window", "5", NULL};
    f->lenient = pc_itest_start_provider_server(f->t, "lenient-provider", NULL, lenient);
    f->lenient_consumer =
        pc_itest_start_consumer_server(f->t, "lenient-consumer", NULL, lenient);
    if (!f->lenient || !f->lenient_consumer)
        return -1;
    pc_test_reply r;
    pc_itest_get(f->t, IT_CONSUMER, &r,
                 "/useService?serviceProvider=%s&costPerRequest=%llu&terminationTimeout=%llu"
                 "&tokenRedemptionTimeout=%llu",
                 f->t->sender[IT_PROVIDER], (unsigned long long)TERMS.cost,
                 (unsigned long long)TERMS.termination, (unsigned long long)TERMS.redemption);
    const char *m = pc_test_reply_string(&r, "mediatorAddress");
    int ok = r.status == 200 && m && pc_address_parse(m, &f->m) == 0;
    pc_test_reply_free(&r);
    if (!ok)
        return -1;
    snprintf(f->funds, sizeof f->funds, "/contracts/%s/funds", pc_itest_addr(&f->m));
    f->started = time(NULL);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        pc_test_paychand_free(f->lenient);
        pc_test_paychand_free(f->lenient_consumer);
        pc_itest_stop(f->t);
        free(f);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stamped_accepted),
        cmocka_unit_test(test_missing_sender_202),
        cmocka_unit_test(test_missing_signature_201),
        cmocka_unit_test(test_bad_signature_200),
        cmocka_unit_test(test_unknown_account_203),
        cmocka_unit_test(test_stale_timestamp_204),
        cmocka_unit_test(test_replayed_205),
        cmocka_unit_test(test_unstamped_refused_206),
        cmocka_unit_test(test_every_endpoint_authenticated),
        cmocka_unit_test(test_request_mac),
        cmocka_unit_test(test_unstamped_allowed),
        cmocka_unit_test(test_post_body_signed),
        cmocka_unit_test(test_get_replayed_as_post),
        cmocka_unit_test(test_original_client_accepted),
        cmocka_unit_test(test_replay_after_restart), /* last: it restarts the consumer's server */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
