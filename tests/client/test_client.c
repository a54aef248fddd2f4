/* libpaychan without a chain: configuration, reading the x-pay-* headers of a
 * request, the 402 body, and what the library sends to a (fake) Payment
 * Server: targets and queries exactly as docs/protocol.md §4 names them, every call
 * authenticated (by default with the request MAC, checked with the MAC key
 * of the service's key; or signed as docs/protocol.md §3 says, checked by recovering
 * the signer), distinct stamps for identical calls, keep-alive
 * connections, many threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "client/client_internal.h"
#include "core/crypto/hash.h"
#include "core/crypto/request_auth.h"
#include "fake_server.h"

#define DEV_KEY_0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define DEV_ADDR_0 "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
#define DEV_ADDR_1 "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
#define MEDIATOR "0x5fbdb2315678afecb367f032d93f642f64180aa3"
#define SIG_HEX                                                                                    \
    "0x1111111111111111111111111111111111111111111111111111111111111111"                           \
    "22222222222222222222222222222222222222222222222222222222222222221b"

static paychan_client *client_with_auth(const char *url, int auth)
{
    paychan_config cfg = {
        .server_url = url, .dev_key_hex = DEV_KEY_0, .timeout_ms = 20000, .auth = auth};
    paychan_client *c = NULL;
    paychan_error err;
    if (paychan_client_create(&cfg, &c, &err) != 0)
        fail_msg("paychan_client_create: %d %s", err.code, err.message);
    return c;
}

static paychan_client *client_for(const char *url)
{
    return client_with_auth(url, PAYCHAN_AUTH_MAC);
}

/* ---- configuration ------------------------------------------------------------------------- */

static void expect_config_error(const paychan_config *cfg)
{
    paychan_client *c = (paychan_client *)1;
    paychan_error err;
    assert_int_equal(paychan_client_create(cfg, &c, &err), -1);
    assert_null(c);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    assert_true(err.message[0] != '\0');
}

static void test_create(void **state)
{
    (void)state;
    paychan_client *c = client_for("http://127.0.0.1:1/");
    assert_string_equal(paychan_client_address(c), DEV_ADDR_0);
    paychan_client_destroy(c);
    paychan_client_destroy(NULL);

    const char *dir = PAYCHAN_SOURCE_DIR "/tests/fixtures/keystore/";
    char ks[512], pw[512], wrong[512];
    snprintf(ks, sizeof ks, "%spbkdf2-sha256.json", dir);
    snprintf(pw, sizeof pw, "%spbkdf2-sha256.password", dir);
    snprintf(wrong, sizeof wrong, "%sethers-scrypt.password", dir);
    paychan_config cfg = {.server_url = "http://x", .keystore_path = ks, .password_path = pw};
    paychan_error err;
    assert_int_equal(paychan_client_create(&cfg, &c, &err), 0);
    assert_string_equal(paychan_client_address(c), "0x6c99b34e0dcefe48f3f6fa64544636b3758c6da9");
    paychan_client_destroy(c);

    cfg.password_path = wrong; /* wrong password */
    expect_config_error(&cfg);
    expect_config_error(&(paychan_config){.server_url = "http://x"}); /* no key */
    expect_config_error(&(paychan_config){.server_url = "ftp://x", .dev_key_hex = DEV_KEY_0});
    expect_config_error(&(paychan_config){.dev_key_hex = DEV_KEY_0});
    expect_config_error(&(paychan_config){.server_url = "http://x", .dev_key_hex = "0x12"});
    expect_config_error(&(paychan_config){.server_url = "http://x", .dev_key_hex = DEV_KEY_0,
                                          .keystore_path = ks, .password_path = pw});
    expect_config_error(&(paychan_config){.server_url = "http://x", .dev_key_hex = DEV_KEY_0,
                                          .timeout_ms = -1});
    expect_config_error(&(paychan_config){.server_url = "http://x", .dev_key_hex = DEV_KEY_0,
                                          .auth = 2});
    expect_config_error(&(paychan_config){
        .server_url = "http://x",
        .dev_key_hex = "0x0000000000000000000000000000000000000000000000000000000000000000"});
    expect_config_error(NULL);
}

static void test_add_target_checks(void **state)
{
    (void)state;
    paychan_client *c = client_for("http://127.0.0.1:1");
    paychan_error err;
    paychan_target_config t = {.name = "random", .provider = DEV_ADDR_1, .funding_wei = "1000"};
    assert_int_equal(paychan_add_target(c, &t, &err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(paychan_add_target(c, &t, &err), -1); /* same name */
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    const paychan_target_config bad[] = {
        {.name = "", .provider = DEV_ADDR_1},
        {.name = "a", .provider = "0x1234"},
        {.name = "b", .provider = DEV_ADDR_1, .funding_wei = "-5"},
        {.name = "c", .provider = DEV_ADDR_1, .cost_per_request_wei = "0"},
        {.name = "d", .provider = DEV_ADDR_1, .cost_per_request_wei = "0x10"},
        {.name = "e", .provider = DEV_ADDR_1, .auto_funding_threshold_wei = "1e9"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(paychan_add_target(c, &bad[i], &err), -1);
        assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    }
    assert_null(paychan_target_mediator(c, "random")); /* not initialised */
    assert_null(paychan_target_mediator(c, "nope"));
    paychan_payment_headers h;
    assert_int_equal(paychan_sign_request(c, "random", &h, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_UNKNOWN_TARGET);
    assert_int_equal(paychan_sign_request(c, "nope", &h, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_UNKNOWN_TARGET);
    paychan_client_destroy(c);
}

/* ---- reading the headers of an incoming request -------------------------------------------- */

static const char *const HEADER_NAMES[5] = {PAYCHAN_HEADER_SENDER, PAYCHAN_HEADER_MEDIATOR,
                                            PAYCHAN_HEADER_TOKEN_ID, PAYCHAN_HEADER_REQ_COUNT,
                                            PAYCHAN_HEADER_SIGNATURE};

/* A request's headers: values[i] for HEADER_NAMES[i] (NULL = absent). */
typedef struct fake_headers {
    const char *values[5];
    int asked[5];
} fake_headers;

static const char *get_header(void *ctx, const char *name)
{
    fake_headers *h = ctx;
    for (int i = 0; i < 5; i++)
        if (strcmp(name, HEADER_NAMES[i]) == 0) {
            h->asked[i]++;
            return h->values[i];
        }
    return NULL;
}

static fake_headers complete_headers(void)
{
    return (fake_headers){.values = {DEV_ADDR_0, MEDIATOR, "12345678901234567890", "7", SIG_HEX}};
}

static void test_read_headers(void **state)
{
    (void)state;
    fake_headers in = complete_headers();
    paychan_payment_headers h;
    paychan_error err;
    assert_int_equal(paychan_read_payment_headers(get_header, &in, &h, &err), 0);
    assert_int_equal(err.code, 0);
    assert_string_equal(h.sender, DEV_ADDR_0);
    assert_string_equal(h.mediator, MEDIATOR);
    assert_string_equal(h.token_id, "12345678901234567890");
    assert_string_equal(h.request_count, "7");
    assert_string_equal(h.signature, SIG_HEX);
    for (int i = 0; i < 5; i++)
        assert_int_equal(in.asked[i], 1); /* by their lowercase names */
}

/* Each header missing (absent, then empty) in turn: PAYMENT_MISSING naming it. */
static void test_read_headers_missing(void **state)
{
    (void)state;
    for (int missing = 0; missing < 5; missing++) {
        for (int empty = 0; empty < 2; empty++) {
            fake_headers in = complete_headers();
            in.values[missing] = empty ? "" : NULL;
            paychan_payment_headers h;
            paychan_error err;
            assert_int_equal(paychan_read_payment_headers(get_header, &in, &h, &err), -1);
            assert_int_equal(err.code, PAYCHAN_E_PAYMENT_MISSING);
            assert_int_equal(err.http_status, 0);
            assert_non_null(strstr(err.message, HEADER_NAMES[missing]));
            assert_string_equal(h.sender, ""); /* nothing half-filled */
        }
    }
    fake_headers none = {.values = {NULL}};
    paychan_payment_headers h;
    paychan_error err;
    assert_int_equal(paychan_read_payment_headers(get_header, &none, &h, &err), -1);
    assert_non_null(strstr(err.message, PAYCHAN_HEADER_SENDER)); /* the first one */
}

static void test_read_headers_too_long(void **state)
{
    (void)state;
    char long_count[64];
    memset(long_count, '9', sizeof long_count - 1);
    long_count[sizeof long_count - 1] = '\0';
    fake_headers in = complete_headers();
    in.values[3] = long_count;
    paychan_payment_headers h;
    paychan_error err;
    assert_int_equal(paychan_read_payment_headers(get_header, &in, &h, &err), -1);
    assert_int_equal(err.code, 300); /* malformed input (docs/protocol.md §4) */
    assert_non_null(strstr(err.message, PAYCHAN_HEADER_REQ_COUNT));
}

/* ---- the 402 body ------------------------------------------------------------------------------ */

static json_t *body_of(const paychan_client *c, const paychan_error *why)
{
    char *text = paychan_payment_required_body(c, why);
    assert_non_null(text);
    json_error_t jerr;
    json_t *body = json_loads(text, 0, &jerr);
    if (!body)
        fail_msg("402 body is not JSON: %s (%s)", text, jerr.text);
    free(text);
    return body;
}

static void test_402_body(void **state)
{
    (void)state;
    paychan_client *c = client_for("http://127.0.0.1:1");
    paychan_error err;
    paychan_provider_terms terms = {"2000000000", 20, 40};
    assert_int_equal(paychan_set_provider_terms(c, &terms, &err), 0);

    paychan_error why = {.code = 37, .http_status = 412, .message = "request count used"};
    json_t *body = body_of(c, &why);
    assert_string_equal(json_string_value(json_object_get(body, "name")), "RequestCountUsed");
    assert_int_equal(json_integer_value(json_object_get(body, "code")), 37);
    assert_string_equal(json_string_value(json_object_get(body, "message")),
                        "request count used");
    json_t *t = json_object_get(body, "terms");
    assert_int_equal(json_object_size(t), 4);
    assert_string_equal(json_string_value(json_object_get(t, "serviceProvider")), DEV_ADDR_0);
    assert_string_equal(json_string_value(json_object_get(t, "minCostPerRequest")), "2000000000");
    assert_int_equal(json_integer_value(json_object_get(t, "terminationTimeout")), 20);
    assert_int_equal(json_integer_value(json_object_get(t, "tokenRedemptionTimeout")), 40);
    json_decref(body);

    /* no reason given: payment missing */
    body = body_of(c, NULL);
    assert_int_equal(json_integer_value(json_object_get(body, "code")), PAYCHAN_E_PAYMENT_MISSING);
    assert_string_equal(json_string_value(json_object_get(body, "name")), "PaymentMissing");
    assert_true(strlen(json_string_value(json_object_get(body, "message"))) > 0);
    json_decref(body);

    /* a message cut inside a UTF-8 character still makes valid JSON */
    paychan_error cut = {.code = 4};
    memset(cut.message, 'x', sizeof cut.message - 2);
    cut.message[sizeof cut.message - 2] = '\xc3';
    cut.message[sizeof cut.message - 1] = '\0';
    body = body_of(c, &cut);
    assert_string_equal(json_string_value(json_object_get(body, "name")), "TokenSignatureInvalid");
    json_decref(body);

    /* bad terms are refused and the old ones kept */
    paychan_provider_terms bad = {"lots", 20, 40};
    assert_int_equal(paychan_set_provider_terms(c, &bad, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    paychan_client_destroy(c);

    /* before terms are set: the provider's address only */
    c = client_for("http://127.0.0.1:1");
    body = body_of(c, &why);
    assert_int_equal(json_object_size(json_object_get(body, "terms")), 1);
    json_decref(body);
    paychan_client_destroy(c);
}

/* ---- what goes over the wire --------------------------------------------------------------------- */

/* The request MAC of r checks with the MAC key of DEV_KEY_0 (the only key
 * these tests use), and no signature came with it. */
static void expect_mac(const fake_request *r)
{
    uint8_t key[32], mac_key[32];
    assert_int_equal(pc_hex_decode(DEV_KEY_0, key, 32), 0);
    pc_request_mac_key(key, mac_key);
    assert_string_equal(r->signature, "");
    assert_int_equal(strlen(r->mac), 66);
    assert_int_equal(pc_request_mac_check(mac_key, r->sender, r->target, r->timestamp, NULL, r->mac), 1);
}

/* Request i was authenticated by the client: with the request MAC, or
 * signed as docs/protocol.md §3 says (recovering the signature over sha256(sender +
 * target + "\n" + timestamp) gives its address). */
static void expect_signed(fake_server *f, size_t i, const char *address, const char *target)
{
    fake_request r;
    fake_request_at(f, i, &r);
    if (target)
        assert_string_equal(r.target, target);
    assert_string_equal(r.sender, address);
    size_t digits = strspn(r.timestamp, "0123456789");
    assert_true(digits >= 10 && r.timestamp[digits] == '.');
    assert_int_equal(strlen(r.timestamp + digits + 1), 6); /* microseconds */
    assert_int_equal(strspn(r.timestamp + digits + 1, "0123456789"), 6);
    if (r.mac[0]) {
        expect_mac(&r);
        return;
    }

    char text[4096];
    snprintf(text, sizeof text, "%s%s\n%s", r.sender, r.target, r.timestamp);
    uint8_t digest[32];
    pc_sha256((const uint8_t *)text, strlen(text), digest);
    pc_signature sig;
    pc_address signer, want;
    assert_int_equal(strlen(r.signature), 132);
    assert_int_equal(pc_signature_from_hex(r.signature, &sig), 0);
    assert_true(strcmp(r.signature + 130, "1b") == 0 || strcmp(r.signature + 130, "1c") == 0);
    pc_secp *secp = pc_secp_create();
    assert_int_equal(pc_ecdsa_recover(secp, digest, &sig, &signer), 0);
    pc_secp_destroy(secp);
    assert_int_equal(pc_address_parse(address, &want), 0);
    assert_true(pc_address_equal(&signer, &want));
}

#define FUNDS_JSON "{\"serviceConsumerFunds\":\"5000\",\"serviceProviderFunds\":\"12\"}"

/* Identical calls get distinct stamps and MACs (or signatures), all over one connection. */
static void signing_with(int auth)
{
    fake_server *f = fake_start();
    assert_non_null(f);
    fake_reply(f, "/contracts/", 200, FUNDS_JSON, 0);
    paychan_client *c = client_with_auth(fake_url(f), auth);
    paychan_error err;
    paychan_funds funds;
    const int n = 20;
    for (int i = 0; i < n; i++) {
        assert_int_equal(paychan_funds_of(c, MEDIATOR, &funds, &err), 0);
        assert_string_equal(funds.consumer_wei, "5000");
        assert_string_equal(funds.provider_wei, "12");
    }
    /* an EIP-55 spelling of the Mediator goes out lowercase */
    assert_int_equal(paychan_funds_of(c, "0x5FbDB2315678afecb367f032d93F642f64180aa3", &funds, &err),
                     0);
    assert_int_equal(fake_request_count(f), (size_t)n + 1);
    char prev_stamp[64] = "", prev_sig[160] = "";
    for (int i = 0; i <= n; i++) {
        expect_signed(f, (size_t)i, DEV_ADDR_0, "/contracts/" MEDIATOR "/funds");
        fake_request r;
        fake_request_at(f, (size_t)i, &r);
        const char *proof = auth == PAYCHAN_AUTH_MAC ? r.mac : r.signature;
        assert_string_equal(auth == PAYCHAN_AUTH_MAC ? r.signature : r.mac, ""); /* one only */
        assert_true(strcmp(r.timestamp, prev_stamp) > 0); /* same length: increasing */
        assert_string_not_equal(proof, prev_sig);
        snprintf(prev_stamp, sizeof prev_stamp, "%s", r.timestamp);
        snprintf(prev_sig, sizeof prev_sig, "%s", proof);
    }
    assert_int_equal(fake_connection_count(f), 1); /* keep-alive */

    /* a Mediator that is not an address is refused before anything is sent */
    assert_int_equal(paychan_funds_of(c, "0x12/../../status", &funds, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    assert_int_equal(fake_request_count(f), (size_t)n + 1);
    paychan_client_destroy(c);
    fake_stop(f);
}

static void test_signing_mac(void **state)
{
    (void)state;
    signing_with(PAYCHAN_AUTH_MAC);
}

static void test_signing_signature(void **state)
{
    (void)state;
    signing_with(PAYCHAN_AUTH_SIGNATURE);
}

#define HEADERS_JSON                                                                              \
    "{\"x-pay-sender\":\"" DEV_ADDR_0 "\",\"x-pay-mediator\":\"" MEDIATOR "\","                   \
    "\"x-pay-token-id\":\"987654321\",\"x-pay-req-count\":\"3\","                                  \
    "\"x-pay-signature\":\"" SIG_HEX "\"}"

/* As many names as one call takes (the sidecar's full batch): every
 * address goes out in the one request target (its buffer was 2 bytes
 * short of 16 addresses: a stack overflow), every answer comes back. */
static void sign_the_most_at_once(paychan_client *c, fake_server *f)
{
    enum { N = PAYCHAN_SIGN_MANY_MAX };
    char answer[16 + N * (sizeof HEADERS_JSON + 1)] = "{\"headers\":[";
    char want[64 + N * sizeof MEDIATOR] = "/createSignatureHeaders?mediators=";
    const char *names[N];
    paychan_payment_headers out[N];
    paychan_error err;
    for (int i = 0; i < N; i++) {
        names[i] = "random";
        strcat(answer, i ? "," HEADERS_JSON : HEADERS_JSON);
        strcat(want, i ? "," MEDIATOR : MEDIATOR);
    }
    strcat(answer, "]}");
    fake_reply(f, "/createSignatureHeaders", 200, answer, 1);
    assert_int_equal(paychan_sign_requests(c, names, N, out, &err), 0);
    assert_int_equal(fake_request_count(f), 8);
    expect_signed(f, 7, DEV_ADDR_0, want);
    for (int i = 0; i < N; i++)
        assert_string_equal(out[i].signature, SIG_HEX);
}

/* init sends useService with the target's terms and deposit with its
 * funding; sign_request turns createSignatureHeaders into the headers. */
static void test_consumer_calls(void **state)
{
    (void)state;
    fake_server *f = fake_start();
    fake_reply(f, "/useService", 200, "{\"mediatorAddress\":\"0x5FbDB2315678afecb367f032d93F642f64180aa3\"}", 0);
    fake_reply(f, "/contracts/" MEDIATOR "/deposit/", 200, "{}", 0);
    fake_reply(f, "/contracts/" MEDIATOR "/funds", 200,
               "{\"serviceConsumerFunds\":\"999\",\"serviceProviderFunds\":\"0\"}", 0);
    fake_reply(f, "/contracts/" MEDIATOR "/createSignatureHeaders", 200, HEADERS_JSON, 0);
    paychan_client *c = client_for(fake_url(f));
    paychan_error err;
    paychan_target_config t = {.name = "random",
                               .provider = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                               .funding_wei = "5000000000000000",
                               .auto_funding_threshold_wei = "1000",
                               .cost_per_request_wei = "1000000000",
                               .termination_timeout_s = 20,
                               .token_redemption_timeout_s = 40,
                               .reuse_existing_mediator = 1};
    paychan_target_config plain = {.name = "plain", .provider = DEV_ADDR_1};
    assert_int_equal(paychan_add_target(c, &t, &err), 0);
    assert_int_equal(paychan_add_target(c, &plain, &err), 0);
    if (paychan_init(c, &err) != 0)
        fail_msg("init: %d %s", err.code, err.message);
    assert_string_equal(paychan_target_mediator(c, "random"), MEDIATOR);
    assert_string_equal(paychan_target_mediator(c, "plain"), MEDIATOR);
    /* "plain" has no funding: no deposit; "random" (reused) holds less than its
     * threshold: topped up by the difference to its funding, and paychand told the
     * funding for its own top-ups */
    assert_int_equal(fake_request_count(f), 4);
    expect_signed(f, 0, DEV_ADDR_0,
                  "/useService?serviceProvider=" DEV_ADDR_1 "&costPerRequest=1000000000"
                  "&terminationTimeout=20&tokenRedemptionTimeout=40"
                  "&allowReuseExistingMediator=true");
    expect_signed(f, 1, DEV_ADDR_0, "/contracts/" MEDIATOR "/funds");
    expect_signed(f, 2, DEV_ADDR_0,
                  "/contracts/" MEDIATOR "/deposit/4999999999999001?autoFundingThreshold=1000"
                  "&autoFundingAmount=5000000000000000");
    expect_signed(f, 3, DEV_ADDR_0,
                  "/useService?serviceProvider=" DEV_ADDR_1 "&costPerRequest=1"
                  "&terminationTimeout=3600&tokenRedemptionTimeout=3600");

    paychan_payment_headers h;
    assert_int_equal(paychan_sign_request(c, "random", &h, &err), 0);
    expect_signed(f, 4, DEV_ADDR_0, "/contracts/" MEDIATOR "/createSignatureHeaders");
    assert_string_equal(h.sender, DEV_ADDR_0);
    assert_string_equal(h.mediator, MEDIATOR);
    assert_string_equal(h.token_id, "987654321");
    assert_string_equal(h.request_count, "3");
    assert_string_equal(h.signature, SIG_HEX);

    /* several at once: one call for all, answers in names order */
    fake_reply(f, "/createSignatureHeaders", 200, "{\"headers\":[" HEADERS_JSON "," HEADERS_JSON "]}",
               1);
    paychan_payment_headers two[2];
    const char *names[2] = {"random", "plain"};
    assert_int_equal(paychan_sign_requests(c, names, 2, two, &err), 0);
    assert_int_equal(fake_request_count(f), 6);
    expect_signed(f, 5, DEV_ADDR_0, "/createSignatureHeaders?mediators=" MEDIATOR "," MEDIATOR);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(two[i].mediator, MEDIATOR);
        assert_string_equal(two[i].request_count, "3");
        assert_string_equal(two[i].signature, SIG_HEX);
    }
    /* an answer with the wrong number of headers is not the API */
    fake_reply(f, "/createSignatureHeaders", 200, "{\"headers\":[" HEADERS_JSON "]}", 1);
    assert_int_equal(paychan_sign_requests(c, names, 2, two, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_BAD_ANSWER);
    assert_int_equal(fake_request_count(f), 7);
    /* an unknown target, or a count out of range: refused, nothing sent */
    const char *unknown[2] = {"random", "nope"};
    assert_int_equal(paychan_sign_requests(c, unknown, 2, two, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_UNKNOWN_TARGET);
    assert_int_equal(paychan_sign_requests(c, names, 0, two, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    assert_int_equal(paychan_sign_requests(c, names, PAYCHAN_SIGN_MANY_MAX + 1, two, &err), -1);
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    assert_int_equal(fake_request_count(f), 7);
    sign_the_most_at_once(c, f);
    paychan_client_destroy(c);
    fake_stop(f);
}

/* validateToken carries the headers and the provider's terms, encoded. */
static void test_provider_calls(void **state)
{
    (void)state;
    fake_server *f = fake_start();
    fake_reply(f, "/contracts/" MEDIATOR "/validateToken", 200, "{\"valid\":true}", 0);
    paychan_client *c = client_for(fake_url(f));
    paychan_error err;
    fake_headers in = complete_headers();
    in.values[2] = "12 34&x=1"; /* would break the query if not encoded */
    paychan_payment_headers h;
    assert_int_equal(paychan_read_payment_headers(get_header, &in, &h, &err), 0);
    assert_int_equal(paychan_validate_payment(c, &h, &err), -1); /* no terms yet */
    assert_int_equal(err.code, PAYCHAN_E_CONFIG);
    paychan_provider_terms terms = {"1000000000", 20, 40};
    assert_int_equal(paychan_set_provider_terms(c, &terms, &err), 0);
    assert_int_equal(paychan_validate_payment(c, &h, &err), 0);
    expect_signed(f, 0, DEV_ADDR_0,
                  "/contracts/" MEDIATOR "/validateToken?sender=" DEV_ADDR_0 "&mediator=" MEDIATOR
                  "&signature=" SIG_HEX "&tokenId=12%2034%26x%3D1&reqCount=7"
                  "&minCostPerRequest=1000000000&terminationTimeout=20"
                  "&tokenRedemptionTimeout=40");
    snprintf(h.mediator, sizeof h.mediator, "../status"); /* never into the path */
    assert_int_equal(paychan_validate_payment(c, &h, &err), -1);
    assert_int_equal(err.code, 300);
    assert_int_equal(fake_request_count(f), 1);
    paychan_client_destroy(c);
    fake_stop(f);
}

/* A refusal as replayed (205, another process stamped the same
 * microsecond) is retried once with a fresh stamp; a second one is final. */
static void test_replayed_stamp_retried(void **state)
{
    (void)state;
    fake_server *f = fake_start();
    const char *replayed = "{\"name\":\"ReplayedRequest\",\"code\":205,\"message\":\"used\"}";
    fake_reply(f, "/contracts/", 401, replayed, 1);
    fake_reply(f, "/contracts/", 200, FUNDS_JSON, 1);
    fake_reply(f, "/contracts/", 401, replayed, 2);
    paychan_client *c = client_for(fake_url(f));
    paychan_error err;
    paychan_funds funds;
    assert_int_equal(paychan_funds_of(c, MEDIATOR, &funds, &err), 0);
    assert_int_equal(fake_request_count(f), 2);
    fake_request a, b;
    fake_request_at(f, 0, &a);
    fake_request_at(f, 1, &b);
    assert_string_not_equal(a.timestamp, b.timestamp);
    assert_int_equal(paychan_funds_of(c, MEDIATOR, &funds, &err), -1);
    assert_int_equal(err.code, 205);
    assert_int_equal(err.http_status, 401);
    assert_int_equal(fake_request_count(f), 4);
    paychan_client_destroy(c);
    fake_stop(f);
}

/* ---- many threads on one client ---------------------------------------------------------------- */

enum { N_THREADS = 8, CALLS_PER_THREAD = 40 };

static void *hammer(void *arg)
{
    paychan_client *c = arg;
    long failures = 0;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        paychan_funds funds;
        paychan_error err;
        if (paychan_funds_of(c, MEDIATOR, &funds, &err) != 0 ||
            strcmp(funds.consumer_wei, "5000") != 0)
            failures++;
    }
    return (void *)failures;
}

static int compare_stamps(const void *a, const void *b)
{
    return strcmp(((const fake_request *)a)->timestamp, ((const fake_request *)b)->timestamp);
}

static void test_threads(void **state)
{
    (void)state;
    fake_server *f = fake_start();
    fake_reply(f, "/contracts/", 200, FUNDS_JSON, 0);
    paychan_client *c = client_for(fake_url(f));
    pthread_t threads[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, hammer, c), 0);
    for (int i = 0; i < N_THREADS; i++) {
        void *failures;
        pthread_join(threads[i], &failures);
        assert_int_equal((long)failures, 0);
    }
    size_t n = fake_request_count(f);
    assert_int_equal(n, N_THREADS * CALLS_PER_THREAD);
    fake_request *all = calloc(n, sizeof *all);
    assert_non_null(all);
    for (size_t i = 0; i < n; i++)
        fake_request_at(f, i, &all[i]);
    qsort(all, n, sizeof *all, compare_stamps);
    for (size_t i = 1; i < n; i++) /* no two calls share a stamp */
        assert_string_not_equal(all[i - 1].timestamp, all[i].timestamp);
    free(all);
    for (size_t i = 0; i < n; i += 37)
        expect_signed(f, i, DEV_ADDR_0, "/contracts/" MEDIATOR "/funds");
    /* connections are reused: at most one per concurrent call, not one per call */
    assert_true(fake_connection_count(f) <= N_THREADS);
    paychan_client_destroy(c);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_add_target_checks),
        cmocka_unit_test(test_read_headers),
        cmocka_unit_test(test_read_headers_missing),
        cmocka_unit_test(test_read_headers_too_long),
        cmocka_unit_test(test_402_body),
        cmocka_unit_test(test_signing_mac),
        cmocka_unit_test(test_signing_signature),
        cmocka_unit_test(test_consumer_calls),
        cmocka_unit_test(test_provider_calls),
        cmocka_unit_test(test_replayed_stamp_retried),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
