/* integration.c (test support): see integration.h. */
#include "support/integration.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/crypto/eip712.h"

#define LOG_LINES_ON_FAILURE 40

/* ---- small helpers ------------------------------------------------------------------------ */

const char *pc_itest_backend_arg(int argc, char **argv, const char *allowed)
{
    const char *store = argc > 1 ? argv[1] : "sqlite";
    size_t n = strlen(store);
    for (const char *p = allowed; n > 0 && (p = strstr(p, store)) != NULL; p += n)
        if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return store;
    fprintf(stderr, "usage: %s [%s]\n", argv[0], allowed);
    return NULL;
}

void pc_itest_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static char *rotating_buffer(void)
{
    static _Thread_local char buf[8][PC_U256_DEC_LEN];
    static _Thread_local unsigned next;
    return buf[next++ % 8];
}

const char *pc_itest_addr(const pc_address *a)
{
    char *out = rotating_buffer();
    pc_address_format(a, out);
    return out;
}

const char *pc_itest_dec(const pc_u256 *v)
{
    char *out = rotating_buffer();
    pc_u256_to_dec(v, out);
    return out;
}

/* ---- expectations ------------------------------------------------------------------------ */

void pc_itest_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    char msg[2048];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pc_test_paychand_print_all_logs(LOG_LINES_ON_FAILURE);
    print_error("%s\n", msg);
    _fail(file, line);
    abort(); /* _fail does not return inside a test */
}

json_t *pc_itest_expect_ok_at(const pc_test_reply *r, const char *file, int line)
{
    if (r->status != 200 || !json_is_object(r->body))
        pc_itest_fail_at(file, line, "expected HTTP 200 with a JSON object, got %ld: %s",
                         r->status, r->text ? r->text : "(no body)");
    return r->body;
}

void pc_itest_expect_error_at(const pc_test_reply *r, long status, long code, const char *file,
                              int line)
{
    const char *message = pc_test_reply_string(r, "message");
    const char *name = pc_test_reply_string(r, "name");
    if (r->status != status || pc_test_reply_code(r) != code || !message || !*message || !name ||
        !*name)
        pc_itest_fail_at(file, line, "expected HTTP %ld with error code %ld, got %ld: %s",
                         status, code, r->status, r->text ? r->text : "(no body)");
}

void pc_itest_expect_bad_param_at(const pc_test_reply *r, const char *name, const char *file,
                                  int line)
{
    pc_itest_expect_error_at(r, 400, PC_ERR_INVALID_ARGUMENT, file, line);
    const char *message = pc_test_reply_string(r, "message");
    if (!strstr(message, name))
        pc_itest_fail_at(file, line, "the error message does not name parameter %s: %s", name,
                         r->text);
}

/* ---- set-up ------------------------------------------------------------------------------ */

/* Appends to argv (cap entries incl. the NULL) the server arguments of one team. */
static size_t team_args(pc_itest *t, const char **argv, size_t cap, const int accounts[2],
                        const char *team, char keys[2][67], char *prefix, size_t prefix_len,
                        char *redis_port)
{
    size_t n = 0;
    static char chain_id[24];
    snprintf(chain_id, sizeof chain_id, "%llu", (unsigned long long)t->chain_id);
    argv[n++] = "--dev";
    for (int i = 0; i < 2; i++) {
        pc_hex_encode(t->key[accounts[i]], 32, keys[i]);
        argv[n++] = "--dev-key";
        argv[n++] = keys[i];
    }
    const char *store = t->opts.store ? t->opts.store : "sqlite";
    /* Redemption is not weighed against gas (--redeem-gas-multiple 0): these
     * tests check the protocol's mechanics with costs of a few thousand wei,
     * which never pay for a redemption; test_api_gas weighs it (a later
     * argument wins). */
    const char *fixed[] = {"--chain-id", chain_id, "--store", store, "--log-level", "info",
                           "--redeem-gas-multiple", "0"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[n++] = fixed[i];
    if (strcmp(store, "redis") == 0 && t->opts.redis) {
        snprintf(redis_port, 16, "%d", pc_test_redis_port(t->opts.redis));
        if (t->opts.redis_prefix)
            snprintf(prefix, prefix_len, "%s%s:", t->opts.redis_prefix, team);
        else
            snprintf(prefix, prefix_len, "it-%d-%s:", (int)getpid(), team);
        const char *r[] = {"--redis-host", pc_test_redis_host(t->opts.redis), "--redis-port",
                           redis_port, "--redis-prefix", prefix};
        for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
            argv[n++] = r[i];
    }
    for (size_t i = 0; t->opts.args && t->opts.args[i] && n + 1 < cap; i++)
        argv[n++] = t->opts.args[i];
    argv[n] = NULL;
    return n;
}

/* Starts a server of one team, with `more` arguments after the common ones. */
static pc_test_paychand *start_team_server(pc_itest *t, const char *name, const int accounts[2],
                                           const char *team, const char *data_dir,
                                           const char *const *more)
{
    const char *argv[64];
    char keys[2][67], prefix[128], redis_port[16];
    size_t n = team_args(t, argv, 48, accounts, team, keys, prefix, sizeof prefix, redis_port);
    for (size_t i = 0; more && more[i] && n + 1 < 64; i++)
        argv[n++] = more[i];
    argv[n] = NULL;
    pc_test_paychand_options o = {.binary = t->paychand, .name = name,
                                  .node_url = pc_test_anvil_url(t->anvil), .data_dir = data_dir,
                                  .args = argv};
    pc_test_paychand *p = pc_test_paychand_start(&o);
    pc_wipe(keys, sizeof keys);
    return p;
}

static const int consumer_team[2] = {IT_CONSUMER, IT_CONSUMER2};
static const int provider_team[2] = {IT_PROVIDER, IT_STRANGER};

pc_test_paychand *pc_itest_start_provider_server(pc_itest *t, const char *name,
                                                 const char *data_dir, const char *const *more)
{
    return start_team_server(t, name, provider_team, "provider", data_dir, more);
}

pc_test_paychand *pc_itest_start_consumer_server(pc_itest *t, const char *name,
                                                 const char *data_dir, const char *const *more)
{
    return start_team_server(t, name, consumer_team, "consumer", data_dir, more);
}

pc_test_client *pc_itest_client(pc_itest *t, const pc_test_paychand *p, int who)
{
    return pc_test_client_create(pc_test_paychand_url(p), t->key[who]);
}

pc_itest *pc_itest_start_with(const pc_itest_options *opts, const char *paychand)
{
    pc_error err;
    pc_itest *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (opts)
        t->opts = *opts;
    t->paychand = paychand;
    for (int i = 0; i < IT_N_ACCOUNTS; i++) {
        pc_test_dev_key(i, t->key[i]);
        pc_test_dev_address(i, &t->addr[i]);
        pc_address_format(&t->addr[i], t->sender[i]);
    }
    t->anvil = pc_test_anvil_start(NULL);
    t->secp = pc_secp_create();
    if (!t->anvil || !t->secp)
        goto fail;
    t->rpc = pc_rpc_create(pc_test_anvil_url(t->anvil), NULL, &err);
    if (!t->rpc || pc_rpc_chain_id(t->rpc, &t->chain_id, &err) != 0) {
        fprintf(stderr, "integration: rpc: %s\n", err.message);
        goto fail;
    }
    t->consumer_server = start_team_server(t, "consumer-team", consumer_team, "consumer", NULL,
                                           NULL);
    t->provider_server = start_team_server(t, "provider-team", provider_team, "provider", NULL,
                                           NULL);
    if (!t->consumer_server || !t->provider_server)
        goto fail;
    for (int i = 1; i < IT_N_ACCOUNTS; i++) {
        int consumer_side = i == IT_CONSUMER || i == IT_CONSUMER2;
        t->client[i] = pc_itest_client(t, consumer_side ? t->consumer_server : t->provider_server,
                                       i);
        if (!t->client[i])
            goto fail;
    }
    return t;
fail:
    pc_itest_stop(t);
    return NULL;
}

void pc_itest_stop(pc_itest *t)
{
    if (!t)
        return;
    for (int i = 0; i < IT_N_ACCOUNTS; i++)
        pc_test_client_destroy(t->client[i]);
    pc_test_paychand_free(t->consumer_server);
    pc_test_paychand_free(t->provider_server);
    pc_rpc_destroy(t->rpc);
    pc_secp_destroy(t->secp);
    pc_test_anvil_stop(t->anvil);
    pc_wipe(t->key, sizeof t->key);
    free(t);
}

/* ---- API calls ------------------------------------------------------------------------------ */

void pc_itest_get(pc_itest *t, int who, pc_test_reply *r, const char *fmt, ...)
{
    char target[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(target, sizeof target, fmt, ap);
    va_end(ap);
    pc_test_request(t->client[who], "GET", target, NULL, NULL, r);
}

void pc_itest_use_service_at(pc_itest *t, int who, const pc_itest_terms *terms, int reuse,
                             pc_address *mediator, const char *file, int line)
{
    pc_test_reply r;
    pc_itest_get(t, who, &r,
                 "/useService?serviceProvider=%s&costPerRequest=%llu&terminationTimeout=%llu"
                 "&tokenRedemptionTimeout=%llu%s",
                 t->sender[IT_PROVIDER], (unsigned long long)terms->cost,
                 (unsigned long long)terms->termination, (unsigned long long)terms->redemption,
                 reuse ? "&allowReuseExistingMediator=true" : "");
    pc_itest_expect_ok_at(&r, file, line);
    const char *text = pc_test_reply_string(&r, "mediatorAddress");
    if (!text || pc_address_parse(text, mediator) != 0)
        pc_itest_fail_at(file, line, "useService: no mediatorAddress in %s", r.text);
    pc_test_reply_free(&r);
}

void pc_itest_deposit_at(pc_itest *t, int who, const pc_address *m, uint64_t amount,
                         uint64_t threshold, const char *file, int line)
{
    pc_test_reply r;
    if (threshold)
        pc_itest_get(t, who, &r, "/contracts/%s/deposit/%llu?autoFundingThreshold=%llu",
                     pc_itest_addr(m), (unsigned long long)amount, (unsigned long long)threshold);
    else
        pc_itest_get(t, who, &r, "/contracts/%s/deposit/%llu", pc_itest_addr(m),
                     (unsigned long long)amount);
    json_t *body = pc_itest_expect_ok_at(&r, file, line);
    if (json_object_size(body) != 0)
        pc_itest_fail_at(file, line, "deposit: expected {}, got %s", r.text);
    pc_test_reply_free(&r);
}

void pc_itest_open_channel_at(pc_itest *t, const pc_itest_terms *terms, uint64_t deposit,
                              pc_address *m, pc_u256 *active, const char *file, int line)
{
    pc_itest_use_service_at(t, IT_CONSUMER, terms, 0, m, file, line);
    if (deposit)
        pc_itest_deposit_at(t, IT_CONSUMER, m, deposit, 0, file, line);
    if (active) {
        pc_mediator_state st;
        pc_itest_state(t, m, &st);
        *active = st.active_token_id;
    }
}

void pc_itest_status(const pc_test_paychand *p, pc_test_reply *r)
{
    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE};
    pc_test_client *anon = pc_test_client_create(pc_test_paychand_url(p), NULL);
    if (!anon)
        it_fail("out of memory");
    pc_test_request(anon, "GET", "/status", &none, NULL, r);
    pc_test_client_destroy(anon);
}

void pc_itest_scrape_at(const pc_test_paychand *p, pc_test_prom *out, const char *file, int line)
{
    const pc_test_auth none = {.mode = PC_TEST_AUTH_NONE};
    pc_test_client *anon = pc_test_client_create(pc_test_paychand_url(p), NULL);
    pc_test_reply r;
    char why[300] = "";
    if (!anon)
        pc_itest_fail_at(file, line, "out of memory");
    pc_test_request(anon, "GET", "/metrics", &none, NULL, &r);
    pc_test_client_destroy(anon);
    if (r.status != 200 || pc_test_prom_parse(r.text, out, why, sizeof why) != 0)
        pc_itest_fail_at(file, line, "/metrics: %ld %s", r.status, why);
    pc_test_reply_free(&r);
}

/* Copies a string member of the headers answer into out (cap); fails if absent. */
static void header_field(const pc_test_reply *r, const char *key, char *out, size_t cap,
                         const char *file, int line)
{
    const char *v = pc_test_reply_string(r, key);
    if (!v || strlen(v) >= cap)
        pc_itest_fail_at(file, line, "createSignatureHeaders: bad or missing %s in %s", key,
                         r->text);
    snprintf(out, cap, "%s", v);
}

void pc_itest_headers_at(pc_itest *t, int who, const pc_address *m, pc_itest_token *tok,
                         const char *file, int line)
{
    pc_test_reply r;
    char count[24];
    pc_itest_get(t, who, &r, "/contracts/%s/createSignatureHeaders", pc_itest_addr(m));
    pc_itest_expect_ok_at(&r, file, line);
    header_field(&r, "x-pay-sender", tok->sender, sizeof tok->sender, file, line);
    header_field(&r, "x-pay-mediator", tok->mediator, sizeof tok->mediator, file, line);
    header_field(&r, "x-pay-token-id", tok->token_id, sizeof tok->token_id, file, line);
    header_field(&r, "x-pay-signature", tok->signature, sizeof tok->signature, file, line);
    header_field(&r, "x-pay-req-count", count, sizeof count, file, line);
    char *end;
    tok->count = strtoull(count, &end, 10);
    if (*end || json_object_size(r.body) != 5)
        pc_itest_fail_at(file, line, "createSignatureHeaders: not the five headers: %s", r.text);
    pc_test_reply_free(&r);
}

void pc_itest_sign_token(const pc_itest *t, int signer, int sender, const pc_address *m,
                         const pc_u256 *token_id, uint64_t count, pc_itest_token *tok)
{
    pc_signature sig;
    pc_u256 n = pc_u256_from_u64(count);
    if (pc_payment_token_sign(t->secp, t->key[signer], t->chain_id, m, &t->addr[sender],
                              token_id, &n, &sig) != 0)
        abort(); /* the dev keys are valid: a bug in the test */
    snprintf(tok->sender, sizeof tok->sender, "%s", t->sender[sender]);
    pc_address_format(m, tok->mediator);
    pc_u256_to_dec(token_id, tok->token_id);
    pc_signature_to_hex(&sig, tok->signature);
    tok->count = count;
}

void pc_itest_validate(pc_itest *t, pc_test_client *c, const pc_itest_token *tok,
                       const pc_itest_terms *terms, pc_test_reply *r)
{
    char target[1024];
    snprintf(target, sizeof target,
             "/contracts/%s/validateToken?sender=%s&mediator=%s&signature=%s&tokenId=%s"
             "&reqCount=%llu&minCostPerRequest=%llu&terminationTimeout=%llu"
             "&tokenRedemptionTimeout=%llu",
             tok->mediator, tok->sender, tok->mediator, tok->signature, tok->token_id,
             (unsigned long long)tok->count, (unsigned long long)terms->cost,
             (unsigned long long)terms->termination, (unsigned long long)terms->redemption);
    pc_test_request(c ? c : t->client[IT_PROVIDER], "GET", target, NULL, NULL, r);
}

void pc_itest_validate_ok_at(pc_itest *t, const pc_itest_token *tok, const pc_itest_terms *terms,
                             const char *file, int line)
{
    pc_test_reply r;
    pc_itest_validate(t, NULL, tok, terms, &r);
    json_t *body = pc_itest_expect_ok_at(&r, file, line);
    if (!json_is_true(json_object_get(body, "valid")) || json_object_size(body) != 1)
        pc_itest_fail_at(file, line, "validateToken count %llu: expected {\"valid\": true}: %s",
                         (unsigned long long)tok->count, r.text);
    pc_test_reply_free(&r);
}

/* ---- the chain ------------------------------------------------------------------------------ */

void pc_itest_state(pc_itest *t, const pc_address *m, pc_mediator_state *st)
{
    pc_error err;
    if (pc_mediator_read_state(t->rpc, m, st, &err) != 0)
        it_fail("reading the state of %s: %s", pc_itest_addr(m), err.message);
}

pc_u256 pc_itest_balance(pc_itest *t, int who)
{
    pc_u256 wei;
    pc_error err;
    if (pc_rpc_get_balance(t->rpc, &t->addr[who], &wei, &err) != 0)
        it_fail("balance of account %d: %s", who, err.message);
    return wei;
}

uint64_t pc_itest_block(pc_itest *t)
{
    uint64_t n;
    pc_error err;
    if (pc_rpc_block_number(t->rpc, &n, &err) != 0)
        it_fail("eth_blockNumber: %s", err.message);
    return n;
}

/* Adds the fee of transaction `hash` (0x-hex text) to *sum. */
static void add_fee(pc_itest *t, const char *hash, pc_u256 *sum)
{
    uint8_t h[32];
    pc_receipt rc;
    int found = 0;
    pc_error err;
    if (pc_hex_decode(hash, h, 32) != 0 || pc_rpc_get_receipt(t->rpc, h, &rc, &found, &err) != 0 ||
        !found)
        it_fail("receipt of %s missing", hash);
    pc_u256 gas = pc_u256_from_u64(rc.gas_used), fee;
    if (pc_u256_mul(&fee, &gas, &rc.effective_gas_price) || pc_u256_add(sum, sum, &fee))
        it_fail("fee overflow");
    pc_receipt_free(&rc);
}

pc_u256 pc_itest_fees_since(pc_itest *t, int who, uint64_t after_block)
{
    pc_u256 sum = {{0}};
    uint64_t last = pc_itest_block(t);
    for (uint64_t b = after_block + 1; b <= last; b++) {
        char number[24];
        json_t *block = NULL;
        pc_error err;
        snprintf(number, sizeof number, "0x%llx", (unsigned long long)b);
        if (pc_rpc_call(t->rpc, "eth_getBlockByNumber", json_pack("[sb]", number, 1), &block,
                        &err) != 0)
            it_fail("eth_getBlockByNumber %s: %s", number, err.message);
        size_t i;
        json_t *tx;
        json_array_foreach(json_object_get(block, "transactions"), i, tx) {
            pc_address from;
            const char *from_text = json_string_value(json_object_get(tx, "from"));
            if (from_text && pc_address_parse(from_text, &from) == 0 &&
                pc_address_equal(&from, &t->addr[who]))
                add_fee(t, json_string_value(json_object_get(tx, "hash")), &sum);
        }
        json_decref(block);
    }
    return sum;
}

size_t pc_itest_count_events(pc_itest *t, const pc_address *m, pc_mediator_event_kind kind,
                             pc_mediator_event *last)
{
    pc_mediator_event *ev = NULL;
    size_t n = 0, found = 0;
    pc_error err;
    if (pc_mediator_get_events(t->rpc, m, 0, PC_RPC_BLOCK_LATEST, &ev, &n, &err) != 0)
        it_fail("events of %s: %s", pc_itest_addr(m), err.message);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].kind != kind)
            continue;
        found++;
        if (last)
            *last = ev[i];
    }
    free(ev);
    return found;
}

size_t pc_itest_wait_events(pc_itest *t, const pc_address *m, pc_mediator_event_kind kind,
                            size_t n, int timeout_ms, pc_mediator_event *last)
{
    size_t found = 0;
    for (int waited = 0;; waited += 100) {
        found = pc_itest_count_events(t, m, kind, last);
        if (found >= n || waited >= timeout_ms)
            return found;
        pc_itest_sleep_ms(100);
    }
}

int pc_itest_group_setup_with(void **state, const char *const *args, const char *paychand)
{
    pc_itest_options o = {.args = args};
    *state = pc_itest_start_with(&o, paychand);
    return *state ? 0 : -1;
}

int pc_itest_group_teardown(void **state)
{
    pc_itest_stop(*state);
    return 0;
}

static pc_test_redis *backend_redis; /* the program's redis-server, for store "redis" */

int pc_itest_backend_setup_with(void **state, const char *store, const char *const *args,
                                const char *paychand)
{
    pc_itest_options o = {.store = store, .args = args};
    if (store && strcmp(store, "redis") == 0 && !(o.redis = backend_redis = pc_test_redis_start()))
        return -1;
    *state = pc_itest_start_with(&o, paychand);
    return *state ? 0 : -1;
}

int pc_itest_backend_teardown(void **state)
{
    pc_itest_stop(*state);
    pc_test_redis_stop(backend_redis);
    backend_redis = NULL;
    return 0;
}

static const char *backend_store, *backend_paychand; /* pc_itest_run_on_backend's */

static int backend_setup(void **state)
{
    return pc_itest_backend_setup_with(state, backend_store, NULL, backend_paychand);
}

int pc_itest_run_on_backend_with(int argc, char **argv, const char *allowed,
                                 const struct CMUnitTest *tests, size_t n, const char *paychand)
{
    if (!(backend_store = pc_itest_backend_arg(argc, argv, allowed)))
        return 2;
    fprintf(stderr, "storage backend: %s\n", backend_store);
    backend_paychand = paychand;
    return _cmocka_run_group_tests("tests", tests, n, backend_setup, pc_itest_backend_teardown);
}
