/* test_rpc_broken_node.c: the JSON-RPC client against nodes that fail: a
 * closed port, an unroutable address, and a tiny local socket server that
 * answers fixed bytes (malformed JSON-RPC, HTTP errors, bad fields) or hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/chain/rpc.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A one-connection server on 127.0.0.1 that reads the request and answers
 * fixed bytes (or nothing for hang_ms), then closes. */
typedef struct fake_server {
    int listen_fd;
    int port;
    const char *reply;
    int hang_ms;
    pthread_t thread;
} fake_server;

static void *fake_serve(void *arg)
{
    fake_server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n;
    /* The request body is one JSON object: read until its closing brace. */
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0 && buf[n - 1] != '}')
        ;
    if (s->hang_ms)
        usleep((useconds_t)s->hang_ms * 1000);
    else if (send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL) < 0)
        perror("fake server send");
    close(fd);
    return NULL;
}

static void fake_start(fake_server *s, const char *reply, int hang_ms)
{
    s->reply = reply;
    s->hang_ms = hang_ms;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s->listen_fd, 4), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&sa, &len), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, fake_serve, s), 0);
}

static void fake_stop(fake_server *s)
{
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

/* The calls a fake server is asked, each as (client, err) -> 0 / -1. */
typedef struct fake_call {
    const char *method;
    int (*run)(pc_rpc *r, pc_error *err);
} fake_call;

static int run_chain_id(pc_rpc *r, pc_error *err)
{
    uint64_t id;
    return pc_rpc_chain_id(r, &id, err);
}

static int run_receipt(pc_rpc *r, pc_error *err)
{
    uint8_t hash[32];
    memset(hash, 0x11, sizeof hash);
    pc_receipt receipt;
    int found;
    int ret = pc_rpc_get_receipt(r, hash, &receipt, &found, err);
    if (ret == 0 && found)
        pc_receipt_free(&receipt);
    return ret;
}

static int run_logs(pc_rpc *r, pc_error *err)
{
    pc_log *logs;
    size_t n;
    pc_log_filter f = {.to_block = PC_RPC_BLOCK_LATEST};
    int ret = pc_rpc_get_logs(r, &f, &logs, &n, err);
    if (ret == 0)
        pc_logs_free(logs, n);
    return ret;
}

static const fake_call chain_id_call = {"eth_chainId", run_chain_id};
static const fake_call receipt_call = {"eth_getTransactionReceipt", run_receipt};
static const fake_call logs_call = {"eth_getLogs", run_logs};

/* Makes `call` against a fake server answering `status` and `body` (or
 * hanging for hang_ms). Returns the call's result; *took = its duration. */
static int run_against_fake(const fake_call *call, const char *status, const char *body,
                            int hang_ms, char url[64], pc_error *err, int64_t *took)
{
    char reply[4096];
    snprintf(reply, sizeof reply,
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             status, strlen(body), body);
    fake_server s;
    fake_start(&s, reply, hang_ms);
    snprintf(url, 64, "http://127.0.0.1:%d", s.port);
    pc_rpc_options o = {.request_timeout_ms = 300};
    pc_rpc *r = pc_rpc_create(url, &o, err);
    assert_non_null(r);
    int64_t t0 = now_ms();
    int ret = call->run(r, err);
    *took = now_ms() - t0;
    pc_rpc_destroy(r);
    fake_stop(&s);
    return ret;
}

/* As run_against_fake, expecting PC_ERR_NODE naming the URL, the method and
 * `why`. Returns how long the call took in ms. */
static int64_t expect_error_of(const fake_call *call, const char *status, const char *body,
                               int hang_ms, const char *why)
{
    char url[64];
    pc_error err = {0};
    int64_t took;
    assert_int_equal(run_against_fake(call, status, body, hang_ms, url, &err, &took), -1);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_non_null(strstr(err.message, url));
    assert_non_null(strstr(err.message, call->method));
    if (!strstr(err.message, why))
        fail_msg("expected '%s' in: %s", why, err.message);
    return took;
}

static void expect_ok_of(const fake_call *call, const char *body)
{
    char url[64];
    pc_error err = {0};
    int64_t took;
    if (run_against_fake(call, "200 OK", body, 0, url, &err, &took) != 0)
        fail_msg("expected success: %s", err.message);
}

static int64_t expect_node_error(const char *status, const char *body, int hang_ms,
                                 const char *why)
{
    return expect_error_of(&chain_id_call, status, body, hang_ms, why);
}

/* A receipt answer with the field named like `field_json` (a "k":v pair)
 * replaced by it; NULL = all fields valid. */
static void receipt_answer(const char *field_json, char body[2048])
{
    static const char *const fields[] = {
        "\"transactionHash\":\"0x1111111111111111111111111111111111111111111111111111111111111111\"",
        "\"status\":\"0x1\"", "\"blockNumber\":\"0x5\"", "\"gasUsed\":\"0x5208\"",
        "\"effectiveGasPrice\":\"0x3b9aca00\"", "\"contractAddress\":null", "\"logs\":[]"};
    strcpy(body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{");
    size_t key_len = field_json ? (size_t)(strchr(field_json, ':') - field_json) : 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int replaced = field_json && strncmp(fields[i], field_json, key_len + 1) == 0;
        strcat(body, replaced ? field_json : fields[i]);
        strcat(body, i + 1 < sizeof fields / sizeof fields[0] ? "," : "}}");
    }
}

static void expect_bad_receipt(const char *field_json, const char *why)
{
    char body[2048];
    receipt_answer(field_json, body);
    expect_error_of(&receipt_call, "200 OK", body, 0, why);
}

static void test_malformed_receipts_and_logs(void **state)
{
    (void)state;
    char body[2048];
    receipt_answer(NULL, body);
    expect_ok_of(&receipt_call, body); /* the template itself is valid */
    expect_bad_receipt("\"status\":\"0x2\"", "bad receipt status");
    expect_bad_receipt("\"status\":1", "bad receipt status");
    expect_bad_receipt("\"transactionHash\":\"0x11\"", "bad receipt transactionHash");
    expect_bad_receipt("\"transactionHash\":"
                       "\"0x2222222222222222222222222222222222222222222222222222222222222222\"",
                       "another transaction");
    expect_bad_receipt("\"blockNumber\":null", "bad receipt blockNumber");
    expect_bad_receipt("\"gasUsed\":\"0x\"", "bad receipt gasUsed");
    expect_bad_receipt("\"effectiveGasPrice\":\"12\"", "bad receipt effectiveGasPrice");
    expect_bad_receipt("\"contractAddress\":\"0x1234\"", "bad receipt contractAddress");
    expect_bad_receipt("\"logs\":{}", "logs are not an array");
    expect_bad_receipt("\"logs\":[7]", "log is not an object");
    expect_error_of(&receipt_call, "200 OK", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}", 0,
                    "receipt is not an object");

    const char *log_head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{"
                           "\"address\":\"0x00000000000000000000000000000000000c0de1\",";
    const char *log_tail = "\"data\":\"0x\",\"blockNumber\":\"0x1\",\"logIndex\":\"0x0\","
                           "\"transactionHash\":"
                           "\"0x1111111111111111111111111111111111111111111111111111111111111111\"}]}";
    const char *t = "\"0x0000000000000000000000000000000000000000000000000000000000000001\"";
    snprintf(body, sizeof body, "%s\"topics\":[%s,%s,%s,%s],%s", log_head, t, t, t, t, log_tail);
    expect_ok_of(&logs_call, body); /* four topics are fine, five are not */
    snprintf(body, sizeof body, "%s\"topics\":[%s,%s,%s,%s,%s],%s", log_head, t, t, t, t, t,
             log_tail);
    expect_error_of(&logs_call, "200 OK", body, 0, "bad log topics");
    snprintf(body, sizeof body, "%s\"topics\":[\"0x01\"],%s", log_head, log_tail);
    expect_error_of(&logs_call, "200 OK", body, 0, "bad log topic");
    /* log_tail + 12 skips its leading "data":"0x", */
    snprintf(body, sizeof body, "%s\"topics\":[],\"data\":\"0x123\",%s", log_head, log_tail + 12);
    expect_error_of(&logs_call, "200 OK", body, 0, "bad log data");
    expect_error_of(&logs_call, "200 OK", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}", 0,
                    "logs are not an array");
}

static void test_malformed_answers(void **state)
{
    (void)state;
    const char *ok = "200 OK";
    expect_node_error(ok, "hello", 0, "not JSON");
    expect_node_error("500 Internal Server Error", "no", 0, "HTTP status 500");
    expect_node_error("500 Internal Server Error", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}",
                      0, "HTTP status 500");
    expect_node_error(ok, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0xzz\"}", 0,
                      "not a hex quantity");
    expect_node_error(ok, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":7}", 0, "not a hex quantity");
    expect_node_error(ok, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x10000000000000000\"}", 0,
                      "64 bits");
    expect_node_error(ok, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x1\"}", 0, "wrong id");
    expect_node_error(ok, "[]", 0, "not a JSON-RPC 2.0");
    expect_node_error(ok, "", 0, "not JSON");
    expect_node_error(ok, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"boom now\"}}",
                      0, "boom now");
    expect_node_error(ok, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"boom\"}", 0,
                      "malformed JSON-RPC error");
    /* anvil escapes the zero bytes of a custom error's data inside its message */
    expect_node_error(ok, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,"
                      "\"message\":\"execution reverted: reason\\u0000more\"}}",
                      0, "execution reverted: reason");
    expect_node_error(ok, "{\"jsonrpc\":\"2.0\",\"id\":1}", 0, "neither result nor error");
}

static void test_request_timeout_honoured(void **state)
{
    (void)state;
    /* The server hangs for 1.5 s; the client gives up after its 0.3 s. */
    int64_t took = expect_node_error("200 OK", "", 1500, "imed out");
    assert_true(took >= 290);
    assert_true(took < 1000);
}

static void test_node_down(void **state)
{
    (void)state;
    /* A port nobody listens on: bind it, then close it without listening. */
    fake_server s;
    fake_start(&s, "", 0);
    int port = s.port;
    shutdown(s.listen_fd, SHUT_RDWR);
    fake_stop(&s);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    pc_error err = {0};
    pc_rpc *r = pc_rpc_create(url, NULL, &err);
    assert_non_null(r);
    uint64_t n;
    int64_t t0 = now_ms();
    assert_int_equal(pc_rpc_block_number(r, &n, &err), -1);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(err.code, PC_ERR_NODE);
    assert_non_null(strstr(err.message, url));
    assert_non_null(strstr(err.message, "eth_blockNumber"));
    pc_rpc_destroy(r);

    /* An unroutable address: whether the network says "unreachable" at once
     * or drops the SYN, the 200 ms connect timeout bounds the wait. */
    pc_rpc_options o = {.connect_timeout_ms = 200};
    r = pc_rpc_create("http://10.255.255.1:8545", &o, &err);
    assert_non_null(r);
    t0 = now_ms();
    assert_int_equal(pc_rpc_block_number(r, &n, &err), -1);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(err.code, PC_ERR_NODE);
    pc_rpc_destroy(r);
}

static void test_create_rejects_bad_url(void **state)
{
    (void)state;
    pc_error err = {0};
    assert_null(pc_rpc_create("localhost:8545", NULL, &err));
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    assert_null(pc_rpc_create(NULL, NULL, &err));
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_answers),
        cmocka_unit_test(test_malformed_receipts_and_logs),
        cmocka_unit_test(test_request_timeout_honoured),
        cmocka_unit_test(test_node_down),
        cmocka_unit_test(test_create_rejects_bad_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
