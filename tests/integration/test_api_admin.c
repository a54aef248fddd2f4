/* Integration: the admin API (issue 14, point 2) on real paychand
 * processes and a real anvil:
 *
 *  - a real channel seen from both ends: the consumer's server shows the
 *    counts it issued, the provider's the highest it validated, each with
 *    the value not yet redeemed, the chain state from the cache, the
 *    token ids, the accounts' gas and the newest transactions;
 *  - 10,000 records written straight into a server's SQLite store, paged
 *    through GET /admin/channels a thousand at a time: every record exactly
 *    once, in order, each page in bounded time; the role and account
 *    filters count right; /admin/accounts and /metrics stay usable;
 *  - --admin-token-file: its bearer token reads the /admin routes (GET)
 *    without a service key, and nothing else. */
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

#include "server/store/store.h"
#include "support/http_probe.h"
#include "support/integration.h"
#include "support/prom_text.h"

#define COST 1000000000000ULL /* 1000 gwei */
#define N_MEDIATORS 5000      /* each in both roles: 10,000 records */
#define PAGE 1000
#define PAGE_MS_MAX 5000      /* one page of a thousand, under the sanitizers on 2 busy cores */

static const pc_itest_terms TERMS = {.cost = COST, .termination = 100, .redemption = 3};

static const char *dec(uint64_t v)
{
    pc_u256 u = pc_u256_from_u64(v);
    return pc_itest_dec(&u);
}

static json_t *get_ok(pc_itest *t, int who, pc_test_reply *r, const char *target)
{
    pc_itest_get(t, who, r, "%s", target);
    return it_expect_ok(r);
}

static json_t *only_channel(json_t *body)
{
    it_check(json_integer_value(json_object_get(body, "total")) == 1);
    return json_array_get(json_object_get(body, "channels"), 0);
}

static void test_channel_both_ends(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_itest_token tok[3];
    pc_test_reply r;
    char target[200];
    it_open_channel(t, &TERMS, 10 * COST, &m, NULL);
    for (int i = 0; i < 3; i++)
        it_headers(t, IT_CONSUMER, &m, &tok[i]);
    it_validate_ok(t, &tok[0], &TERMS);
    it_validate_ok(t, &tok[2], &TERMS); /* a skipped count: the highest is 3 */

    snprintf(target, sizeof target, "/admin/channels?role=consumer&account=%s",
             t->sender[IT_CONSUMER]);
    json_t *c = only_channel(get_ok(t, IT_CONSUMER, &r, target));
    it_check(strcmp(json_string_value(json_object_get(c, "mediator")), pc_itest_addr(&m)) == 0);
    it_check(json_integer_value(json_object_get(c, "highestIssued")) == 3);
    it_check(json_is_null(json_object_get(c, "highestValidated")));
    it_check(strcmp(json_string_value(json_object_get(c, "unredeemedWei")), dec(3 * COST)) == 0);
    it_check(strcmp(json_string_value(json_object_get(c, "costPerRequest")), dec(COST)) == 0);
    it_check(strcmp(json_string_value(json_object_get(c, "consumerFunds")), dec(10 * COST)) == 0);
    it_check(strcmp(json_string_value(json_object_get(c, "state")), "open") == 0);
    it_check(strcmp(json_string_value(json_object_get(c, "activeTokenId")), tok[0].token_id) == 0);
    pc_test_reply_free(&r);

    json_t *p = only_channel(get_ok(t, IT_PROVIDER, &r, "/admin/channels?role=provider"));
    it_check(json_integer_value(json_object_get(p, "highestValidated")) == 3);
    it_check(strcmp(json_string_value(json_object_get(p, "unredeemedWei")), dec(3 * COST)) == 0);
    pc_test_reply_free(&r);

    snprintf(target, sizeof target, "/admin/channels/%s", pc_itest_addr(&m));
    json_t *one = get_ok(t, IT_PROVIDER, &r, target);
    json_t *token = json_array_get(json_object_get(one, "tokens"), 0);
    it_check(json_array_size(json_object_get(one, "roles")) == 1);
    it_check(strcmp(json_string_value(json_object_get(token, "tokenId")), tok[0].token_id) == 0);
    it_check(json_integer_value(json_object_get(token, "highestCount")) == 3);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_PROVIDER, &r, "/admin/channels?offset=1152921504606846976");
    it_expect_bad_param(&r, "offset");
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_PROVIDER, &r, "/admin/channels?limit=1001");
    it_expect_bad_param(&r, "limit");
    pc_test_reply_free(&r);
    snprintf(target, sizeof target, "/admin/channels/%s", t->sender[IT_STRANGER]);
    pc_itest_get(t, IT_PROVIDER, &r, "%s", target);
    it_expect_error(&r, 404, 404);
    pc_test_reply_free(&r);

    /* the consumer's account: its Mediators and the gas of its deploy and deposit */
    json_t *acct = json_object_get(json_object_get(get_ok(t, IT_CONSUMER, &r, "/admin/accounts"),
                                                   "accounts"),
                                   t->sender[IT_CONSUMER]);
    it_check(json_integer_value(json_object_get(json_object_get(acct, "roleCounts"), "consumer")) >= 1);
    it_check(json_integer_value(json_object_get(acct, "transactions")) >= 2);
    it_check(strcmp(json_string_value(json_object_get(acct, "gasFeeWei")), "0") != 0);
    pc_test_reply_free(&r);
    json_t *txs = json_object_get(get_ok(t, IT_CONSUMER, &r, "/admin/transactions?limit=2"),
                                  "transactions");
    it_check(json_array_size(txs) == 2);
    it_check(strcmp(json_string_value(json_object_get(json_array_get(txs, 0), "action")),
                    "deposit") == 0);
    it_check(strcmp(json_string_value(json_object_get(json_array_get(txs, 1), "action")),
                    "deploy") == 0);
    pc_test_reply_free(&r);
}

/* ---- 10,000 records --------------------------------------------------------------------- */

/* Mediator i's address: spread over the address space, so that insertion
 * order is not the answer's order. */
static pc_address fake_mediator(uint32_t i)
{
    pc_address a = {{0}};
    uint32_t x = i * 2654435761u + 12345u;
    memcpy(a.bytes, &x, 4);
    memcpy(a.bytes + 16, &i, 4); /* unique */
    return a;
}

static void fill_store(pc_itest *t, const char *data_dir)
{
    char path[4096];
    pc_error err;
    snprintf(path, sizeof path, "%s/paychan.sqlite", data_dir);
    pc_store_options o = {.backend = PC_STORE_SQLITE, .sqlite_path = path};
    pc_store *s = pc_store_open(&o, &err);
    assert_non_null(s);
    for (uint32_t i = 0; i < N_MEDIATORS; i++) {
        pc_mediator_record rec = {.mediator = fake_mediator(i), .created_at = 1};
        rec.role = PC_ROLE_CONSUMER;
        rec.account = t->addr[IT_STRANGER];
        rec.counterparty = t->addr[IT_PROVIDER];
        assert_int_equal(pc_store_put_mediator(s, &rec, &err), 0);
        rec.role = PC_ROLE_PROVIDER;
        rec.account = t->addr[IT_PROVIDER];
        rec.counterparty = t->addr[IT_CONSUMER];
        assert_int_equal(pc_store_put_mediator(s, &rec, &err), 0);
    }
    pc_store_close(s);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* One page: its channels follow *last (mediator text + role) in order. */
static size_t check_page(json_t *body, size_t offset, char last[64])
{
    json_t *list = json_object_get(body, "channels");
    it_check(json_integer_value(json_object_get(body, "total")) == 2 * N_MEDIATORS);
    it_check(json_integer_value(json_object_get(body, "offset")) == (json_int_t)offset);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *c = json_array_get(list, i);
        char key[64];
        snprintf(key, sizeof key, "%s:%s", json_string_value(json_object_get(c, "mediator")),
                 json_string_value(json_object_get(c, "role")));
        if (strcmp(last, key) >= 0)
            it_fail("out of order at %zu: %s after %s", offset + i, key, last);
        strcpy(last, key);
        it_check(strcmp(json_string_value(json_object_get(c, "state")), "unknown") == 0);
    }
    return json_array_size(list);
}

static json_t *timed_get(pc_test_client *c, pc_test_reply *r, const char *target, long *ms)
{
    long start = now_ms();
    pc_test_get(c, r, "%s", target);
    *ms = now_ms() - start;
    return it_expect_ok(r);
}

static void test_ten_thousand_records_paged(void **state)
{
    pc_itest *t = *state;
    static const char *const quiet[] = {"--duty-interval", "3600000", NULL};
    pc_test_paychand *p = pc_itest_start_provider_server(t, "many", NULL, quiet);
    assert_non_null(p);
    assert_int_equal(pc_test_paychand_stop(p), 0);
    long start = now_ms();
    fill_store(t, pc_test_paychand_data_dir(p));
    printf("# 10,000 records written in %ld ms\n", now_ms() - start);
    assert_int_equal(pc_test_paychand_restart(p), 0);
    pc_test_client *c = pc_itest_client(t, p, IT_PROVIDER);
    pc_test_reply r;
    char target[160], last[64] = "";
    size_t seen = 0;
    long ms, worst = 0, all = now_ms();
    for (size_t offset = 0; offset < 2 * N_MEDIATORS; offset += PAGE) {
        snprintf(target, sizeof target, "/admin/channels?offset=%zu&limit=%d", offset, PAGE);
        seen += check_page(timed_get(c, &r, target, &ms), offset, last);
        worst = ms > worst ? ms : worst;
        pc_test_reply_free(&r);
    }
    printf("# 10 pages of 1000: %ld ms in all, the slowest %ld ms\n", now_ms() - all, worst);
    it_check(seen == 2 * N_MEDIATORS);
    it_check(worst < PAGE_MS_MAX);

    snprintf(target, sizeof target, "/admin/channels?offset=9990&limit=1000");
    it_check(json_array_size(json_object_get(timed_get(c, &r, target, &ms), "channels")) == 10);
    pc_test_reply_free(&r);
    snprintf(target, sizeof target, "/admin/channels?role=provider&limit=1");
    it_check(json_integer_value(json_object_get(timed_get(c, &r, target, &ms), "total")) ==
             N_MEDIATORS);
    pc_test_reply_free(&r);
    snprintf(target, sizeof target, "/admin/channels?account=%s&limit=1", t->sender[IT_STRANGER]);
    it_check(json_integer_value(json_object_get(timed_get(c, &r, target, &ms), "total")) ==
             N_MEDIATORS);
    pc_test_reply_free(&r);

    json_t *accounts = json_object_get(timed_get(c, &r, "/admin/accounts", &ms), "accounts");
    printf("# /admin/accounts over 10,000 records: %ld ms\n", ms);
    json_t *roles = json_object_get(json_object_get(accounts, t->sender[IT_PROVIDER]), "roleCounts");
    it_check(json_integer_value(json_object_get(roles, "provider")) == N_MEDIATORS);
    it_check(ms < 4 * PAGE_MS_MAX);
    pc_test_reply_free(&r);

    pc_test_client_destroy(c);
    pc_test_paychand_free(p);
}

/* One request to server p with an optional Authorization header; the status. */
static long bearer_status(const pc_test_paychand *p, const char *method, const char *path,
                          const char *authorization)
{
    char url[256], header[200];
    snprintf(url, sizeof url, "%s%s", pc_test_paychand_url(p), path);
    snprintf(header, sizeof header, "Authorization: %s", authorization ? authorization : "");
    const char *headers[] = {header, NULL};
    pc_test_probe probe = {.method = method, .url = url, .headers = authorization ? headers : NULL,
                           .body = strcmp(method, "POST") == 0 ? "" : NULL};
    pc_test_reply r;
    it_check(pc_test_probe_send(&probe, &r, NULL) == 0);
    long status = r.status;
    pc_test_reply_free(&r);
    return status;
}

/* The operations view's token: GETs of the /admin routes with it answer 200; a wrong or
 * missing token, a POST, or any other route with it are refused. */
static void test_admin_token(void **state)
{
    pc_itest *t = *state;
    const char *token = "ops-view-token-0123456789";
    char path[] = "/tmp/paychan-admin-token-XXXXXX";
    int fd = mkstemp(path);
    it_check(fd >= 0 && write(fd, token, strlen(token)) == (ssize_t)strlen(token));
    close(fd);
    const char *more[] = {"--admin-token-file", path, NULL};
    pc_test_paychand *p = pc_itest_start_provider_server(t, "admin-token", NULL, more);
    it_check(p != NULL);
    char good[80];
    snprintf(good, sizeof good, "Bearer %s", token);
    it_check(bearer_status(p, "GET", "/admin/accounts", good) == 200);
    it_check(bearer_status(p, "GET", "/admin/channels?limit=5", good) == 200);
    it_check(bearer_status(p, "GET", "/admin/transactions", good) == 200);
    it_check(bearer_status(p, "GET", "/admin/accounts", "Bearer ops-view-token-012345678X") == 412);
    it_check(bearer_status(p, "GET", "/admin/accounts", NULL) == 412);
    it_check(bearer_status(p, "POST", "/admin/accounts", good) == 412);
    it_check(bearer_status(p, "GET", "/useService?serviceProvider=0x0000000000000000000000000000000000000001",
                           good) == 412);
    assert_int_equal(pc_test_paychand_stop(p), 0);
    pc_test_paychand_free(p);
    unlink(path);
}

static int setup(void **state)
{
    return pc_itest_group_setup(state, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_both_ends),
        cmocka_unit_test(test_ten_thousand_records_paged),
        cmocka_unit_test(test_admin_token),
    };
    return cmocka_run_group_tests(tests, setup, pc_itest_group_teardown);
}
