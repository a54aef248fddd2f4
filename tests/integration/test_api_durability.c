/* Integration: paychand acknowledges counts only while Redis persists every
 * write (issue 9, point 2), against a real redis-server whose persistence
 * the test turns off with CONFIG SET:
 *  - durability lost at run time (appendfsync everysec): createSignatureHeaders
 *    and validateToken answer 503 with code 103 instead of acknowledging a
 *    count, /status says so, and counts are accepted again once Redis
 *    persists every write again;
 *  - a Redis with AOF off: paychand refuses to start, saying why and naming
 *    the switch;
 *  - with --redis-accept-data-loss it starts, says so loudly in its log and
 *    in /status, and acknowledges counts.
 * Regression: paychand only logged a warning and acknowledged counts that a
 * crash of Redis lost (3,888 of them in the campaign of the issue). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "support/child.h"
#include "support/integration.h"

static const pc_itest_terms TERMS = {.cost = 1000, .termination = 3600, .redemption = 3600};
static pc_test_redis *redis;

/* CONFIG SET name value on the test's Redis. */
static void redis_config(const char *name, const char *value)
{
    redisContext *c = redisConnect(pc_test_redis_host(redis), pc_test_redis_port(redis));
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "CONFIG SET %s %s", name, value);
    assert_true(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(c);
}

/* /status of p has storageDurable == durable and storageAcceptsDataLoss ==
 * accepts; it answers 503 (not ready: store, code 103) when the store can
 * take no counts. */
static void expect_storage_status(const pc_test_paychand *p, int durable, int accepts)
{
    pc_test_reply r;
    pc_itest_status(p, &r);
    if (durable || accepts)
        it_expect_ok(&r);
    else
        it_expect_error(&r, 503, PC_ERR_STORAGE_NOT_DURABLE);
    json_t *body = r.body;
    if (json_is_true(json_object_get(body, "storageDurable")) != durable ||
        json_is_true(json_object_get(body, "storageAcceptsDataLoss")) != accepts)
        it_fail("/status: expected storageDurable %d, storageAcceptsDataLoss %d: %s", durable,
                accepts, r.text);
    pc_test_reply_free(&r);
}

/* The consumer's next token of m, validated at the provider: the answer's status. */
static long pay_once(pc_itest *t, const pc_address *m, const pc_u256 *id, uint64_t count,
                     pc_test_reply *r)
{
    pc_itest_token tok;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, m, id, count, &tok);
    pc_itest_validate(t, NULL, &tok, &TERMS, r);
    return r->status;
}

static void test_durability_lost_at_run_time(void **state)
{
    pc_itest *t = *state;
    pc_address m;
    pc_u256 id;
    pc_itest_token tok;
    pc_test_reply r;
    it_open_channel(t, &TERMS, 100000, &m, &id);
    it_headers(t, IT_CONSUMER, &m, &tok);
    it_validate_ok(t, &tok, &TERMS);
    expect_storage_status(t->provider_server, 1, 0);

    redis_config("appendfsync", "everysec");
    pc_itest_sleep_ms(2500); /* paychand checks once a second */
    pay_once(t, &m, &id, 2, &r);
    it_expect_error(&r, 503, PC_ERR_STORAGE_NOT_DURABLE);
    pc_test_reply_free(&r);
    pc_itest_get(t, IT_CONSUMER, &r, "/contracts/%s/createSignatureHeaders", pc_itest_addr(&m));
    it_expect_error(&r, 503, PC_ERR_STORAGE_NOT_DURABLE);
    pc_test_reply_free(&r);
    expect_storage_status(t->provider_server, 0, 0);
    expect_storage_status(t->consumer_server, 0, 0);

    redis_config("appendfsync", "always");
    pc_itest_sleep_ms(2500);
    pay_once(t, &m, &id, 2, &r); /* not acknowledged before: accepted now */
    it_expect_ok(&r);
    assert_true(json_is_true(json_object_get(r.body, "valid")));
    pc_test_reply_free(&r);
    it_headers(t, IT_CONSUMER, &m, &tok);
    assert_int_equal(tok.count, 2); /* the refused call issued nothing */
    expect_storage_status(t->provider_server, 1, 0);
}

/* Runs paychand on the test's Redis with `extra` (may be NULL) and no
 * Redis durability: it must exit within 20 s; returns its log. */
static char *run_refused_paychand(pc_itest *t, const char *extra)
{
    char port[16], redis_port[16], key[67], dir[] = "/tmp/paychan-durability-XXXXXX";
    char log_path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(port, sizeof port, "%d", pc_test_free_port());
    snprintf(redis_port, sizeof redis_port, "%d", pc_test_redis_port(redis));
    snprintf(log_path, sizeof log_path, "%s/log", dir);
    pc_hex_encode(t->key[IT_PROVIDER], 32, key);
    char *argv[] = {PAYCHAN_PAYCHAND, "--node-url", (char *)pc_test_anvil_url(t->anvil), "--port",
                    port, "--store", "redis", "--redis-port", redis_port, "--redis-prefix",
                    "refused:", "--dev", "--dev-key", key, (char *)extra, NULL};
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    pid_t pid = pc_test_spawn(argv, NULL, fd);
    close(fd);
    assert_true(pid > 0);
    int status = 0, exited = 0;
    for (int64_t end = pc_test_now_ms() + 20000; !exited && pc_test_now_ms() < end;)
        if (!(exited = waitpid(pid, &status, WNOHANG) == pid))
            pc_test_sleep_ms(50);
    if (!exited)
        pc_test_kill_and_reap(pid, 15, 5000);
    char *log = pc_test_read_file(log_path);
    unlink(log_path);
    rmdir(dir);
    if (!exited || !WIFEXITED(status) || WEXITSTATUS(status) == 0)
        it_fail("paychand started on a Redis without durability: %s", log ? log : "(no log)");
    return log;
}

static void test_start_refused_without_aof(void **state)
{
    pc_itest *t = *state;
    redis_config("appendonly", "no");
    char *log = run_refused_paychand(t, NULL);
    assert_non_null(log);
    if (!strstr(log, "does not persist every write (appendonly no") ||
        !strstr(log, "--redis-accept-data-loss"))
        it_fail("no clear reason in the log: %s", log);
    free(log);
}

static void test_accept_data_loss_switch(void **state)
{
    pc_itest *t = *state;
    const char *more[] = {"--redis-accept-data-loss", NULL};
    pc_test_paychand *p = pc_itest_start_provider_server(t, "accepts-loss", NULL, more);
    assert_non_null(p);
    assert_true(pc_test_paychand_log_contains(p, "WILL BE LOST"));
    expect_storage_status(p, 0, 1);
    pc_address m;
    pc_u256 id;
    pc_test_reply r;
    it_open_channel(t, &TERMS, 100000, &m, &id);
    pc_test_client *c = pc_itest_client(t, p, IT_PROVIDER);
    pc_itest_token tok;
    pc_itest_sign_token(t, IT_CONSUMER, IT_CONSUMER, &m, &id, 1, &tok);
    pc_itest_validate(t, c, &tok, &TERMS, &r);
    it_expect_ok(&r); /* acknowledged: the operator accepted the risk */
    pc_test_reply_free(&r);
    pc_test_client_destroy(c);
    pc_test_paychand_free(p);
}

static int setup(void **state)
{
    if (!(redis = pc_test_redis_start()))
        return -1;
    pc_itest_options o = {.store = "redis", .redis = redis};
    *state = pc_itest_start(&o);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    pc_itest_stop(*state);
    pc_test_redis_stop(redis);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durability_lost_at_run_time),
        /* these two leave the Redis without its append-only file */
        cmocka_unit_test(test_start_refused_without_aof),
        cmocka_unit_test(test_accept_data_loss_switch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
