/* paychan-proxy, provider mode, with real processes: anvil, the provider
 * team's paychand, the Python upstream (tests/proxy/upstream.py) and the
 * proxy. Routes: /free free, /paid paid by the provider account (dev
 * account 2) at 10 wei, anything else 404. Checks what reaches the
 * upstream (payment headers never; the payer's address only when paid,
 * never a client's claim), the 402 terms, forged and replayed tokens,
 * hop-by-hop headers, streamed multi-MB answers, body and time limits,
 * and the Payment Server or the upstream down. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/tcp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/child.h"
#include "support/integration.h"
#include "support/proxy.h"

static const pc_itest_terms TERMS = {.cost = 10, .termination = 100, .redemption = 50};

typedef struct world {
    pc_itest *t;
    pc_test_proc upstream, proxy;
    char dev_account[128]; /* prov:0x<key of dev account 2> */
} world;

static world W;


/* Starts a provider proxy in front of `upstream` paying through `server`,
 * with the test's routes plus more (NULL-terminated, may be NULL). */
static int start_proxy(pc_test_proc *p, const char *name, const char *server,
                       const char *upstream, const char *const *more)
{
    const char *args[40] = {"--mode", "provider", "--dev", "--upstream", upstream,
                            "--payment-server", server, "--account", W.dev_account,
                            "--route", "* /free free", "--route", "GET /paid paid prov 10 100 50",
                            "--route", "* /echo free", "--route", "GET /big free",
                            "--route", "GET /hop free", "--route", "GET /hits free",
                            "--max-body", "64", "--header-timeout", "1",
                            "--payment-timeout", "700", "--log-level", "debug"};
    size_t n = 0;
    while (args[n])
        n++;
    for (size_t i = 0; more && more[i] && n + 1 < 40; i++)
        args[n++] = more[i];
    return pc_test_proxy_start(p, PAYCHAN_PROXY, name, args);
}

/* The upstream's count of requests (or, with connections, of connections accepted). */
static long upstream_count(const char *what)
{
    pc_test_exchange x;
    char url[128];
    snprintf(url, sizeof url, "%s/hits", W.upstream.url);
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 0, &x);
    json_t *j = json_loads(x.body, 0, NULL);
    long n = (long)json_integer_value(json_object_get(j, what));
    json_decref(j);
    pc_test_exchange_free(&x);
    return n;
}

static long upstream_hits(void)
{
    return upstream_count("hits");
}

/* GET/POST path on the main proxy. */
static void through(const char *method, const char *path, const char *const *headers,
                    const char *body, size_t len, pc_test_exchange *x)
{
    char url[8192];
    snprintf(url, sizeof url, "%s%s", W.proxy.url, path);
    pc_test_exchange_send(method, url, headers, body, len, NULL, 20000, x);
}

/* The upstream's echo: the headers it received. */
static json_t *echoed_headers(const pc_test_exchange *x, json_t **root)
{
    *root = json_loads(x->body, 0, NULL);
    assert_non_null(*root);
    return json_object_get(*root, "headers");
}


/* ---- free routes and headers -------------------------------------------------------------- */

static void test_free_route_strips_payment_and_hop_headers(void **state)
{
    (void)state;
    const char *const injected[] = {"x-pay-sender: 0x1111111111111111111111111111111111111111",
                                    "x-pay-signature: 0xfeed", "x-paychan-consumer: 0xevil",
                                    "Connection: x-hop", "X-Hop: 1", "Keep-Alive: timeout=9",
                                    "X-End: kept", NULL};
    pc_test_exchange x;
    through("GET", "/free/a%20b?q=1&r=%2F", injected, NULL, 0, &x);
    assert_int_equal(x.status, 200);
    json_t *root, *h = echoed_headers(&x, &root);
    assert_string_equal(json_string_value(json_object_get(root, "path")), "/free/a%20b?q=1&r=%2F");
    assert_null(json_object_get(h, "x-pay-sender"));
    assert_null(json_object_get(h, "x-pay-signature"));
    assert_null(json_object_get(h, "x-paychan-consumer"));
    assert_null(json_object_get(h, "x-hop"));
    assert_null(json_object_get(h, "keep-alive"));
    assert_string_equal(json_string_value(json_object_get(h, "x-end")), "kept");
    assert_string_equal(pc_test_exchange_header(&x, "x-upstream"), "echo");
    json_decref(root);
    pc_test_exchange_free(&x);
    /* and in the answer: the upstream's hop-by-hop headers stay behind */
    through("GET", "/hop", NULL, NULL, 0, &x);
    assert_int_equal(x.status, 200);
    assert_null(pc_test_exchange_header(&x, "x-secret"));
    assert_null(pc_test_exchange_header(&x, "keep-alive"));
    assert_string_equal(pc_test_exchange_header(&x, "x-kept"), "1");
    pc_test_exchange_free(&x);
}

static void test_unknown_route_and_dot_segments(void **state)
{
    (void)state;
    long before = upstream_hits();
    pc_test_exchange x;
    through("GET", "/nowhere", NULL, NULL, 0, &x);
    pc_test_expect_json_error(&x, 404, 404);
    pc_test_exchange_free(&x);
    through("POST", "/paid/x", NULL, "{}", 2, &x); /* /paid is GET only */
    pc_test_expect_json_error(&x, 404, 404);
    pc_test_exchange_free(&x);
    through("GET", "/free/../paid/x", NULL, NULL, 0, &x); /* a free prefix must not reach /paid */
    pc_test_expect_json_error(&x, 400, 300);
    pc_test_exchange_free(&x);
    static const char *const dotted[] = {"/free/%2e%2E/paid/x", "/free/..%2fpaid/x",
                                         "/free/.%2E%5Cpaid", "/free/..\\paid", "/free/."};
    for (size_t i = 0; i < sizeof dotted / sizeof dotted[0]; i++) {
        through("GET", dotted[i], NULL, NULL, 0, &x);
        pc_test_expect_json_error(&x, 400, 300);
        pc_test_exchange_free(&x);
    }
    assert_int_equal(upstream_hits(), before);
    through("GET", "/free/..data/.hidden/a.b", NULL, NULL, 0, &x); /* dots inside names: fine */
    assert_int_equal(x.status, 200);
    pc_test_exchange_free(&x);
}

/* ---- payment --------------------------------------------------------------------------------- */

static void test_paid_without_payment_gets_terms(void **state)
{
    (void)state;
    long before = upstream_hits();
    pc_test_exchange x;
    through("GET", "/paid/thing", NULL, NULL, 0, &x);
    pc_test_expect_json_error(&x, 402, 604);
    json_t *j = json_loads(x.body, 0, NULL), *terms = json_object_get(j, "terms");
    assert_string_equal(json_string_value(json_object_get(terms, "serviceProvider")),
                        W.t->sender[IT_PROVIDER]);
    assert_string_equal(json_string_value(json_object_get(terms, "minCostPerRequest")), "10");
    assert_int_equal(json_integer_value(json_object_get(terms, "terminationTimeout")), 100);
    assert_int_equal(json_integer_value(json_object_get(terms, "tokenRedemptionTimeout")), 50);
    assert_int_equal(json_integer_value(json_object_get(terms, "chainId")), W.t->chain_id);
    assert_int_equal(json_array_size(json_object_get(terms, "headers")), 5);
    const char *header = pc_test_exchange_header(&x, "x-paychan-terms");
    assert_non_null(header);
    json_t *ht = json_loads(header, 0, NULL);
    assert_true(json_equal(ht, terms));
    json_decref(ht);
    json_decref(j);
    pc_test_exchange_free(&x);
    assert_int_equal(upstream_hits(), before);
}

/* A new Mediator of the consumer to the provider (TERMS, 1000 wei) and its first token. */
typedef struct channel {
    pc_address m;
    pc_u256 active;
    pc_itest_token tok;
} channel;

static void fresh_channel(channel *c)
{
    it_open_channel(W.t, &TERMS, 1000, &c->m, &c->active);
    it_headers(W.t, IT_CONSUMER, &c->m, &c->tok);
}

/* The five x-pay-* lines of tok, plus an attacker's claim to be someone else. */
static void token_lines(const pc_itest_token *tok, char lines[7][200], const char *lie)
{
    snprintf(lines[0], 200, "x-pay-sender: %s", tok->sender);
    snprintf(lines[1], 200, "x-pay-mediator: %s", tok->mediator);
    snprintf(lines[2], 200, "x-pay-token-id: %s", tok->token_id);
    snprintf(lines[3], 200, "x-pay-req-count: %llu", (unsigned long long)tok->count);
    snprintf(lines[4], 200, "x-pay-signature: %s", tok->signature);
    snprintf(lines[5], 200, "x-paychan-consumer: %s", lie);
}

static void send_token(const pc_itest_token *tok, pc_test_exchange *x)
{
    char lines[7][200];
    token_lines(tok, lines, W.t->sender[IT_CONSUMER2]);
    const char *const h[] = {lines[0], lines[1], lines[2], lines[3], lines[4], lines[5], NULL};
    through("GET", "/paid/thing?x=1", h, NULL, 0, x);
}

static void test_paid_valid_replayed_forged(void **state)
{
    (void)state;
    pc_itest *t = W.t;
    channel c;
    fresh_channel(&c);
    long before = upstream_hits();
    pc_test_exchange x;
    send_token(&c.tok, &x);
    if (x.status != 200)
        fprintf(stderr, "%s\n", x.body);
    assert_int_equal(x.status, 200);
    json_t *root, *h = echoed_headers(&x, &root);
    /* the payer, as the Payment Server validated it: not the client's claim */
    assert_string_equal(json_string_value(json_object_get(h, "x-paychan-consumer")),
                        t->sender[IT_CONSUMER]);
    assert_null(json_object_get(h, "x-pay-sender"));
    assert_null(json_object_get(h, "x-pay-mediator"));
    assert_null(json_object_get(h, "x-pay-token-id"));
    assert_null(json_object_get(h, "x-pay-req-count"));
    assert_null(json_object_get(h, "x-pay-signature"));
    json_decref(root);
    pc_test_exchange_free(&x);
    /* the same token again: replayed */
    send_token(&c.tok, &x);
    pc_test_expect_json_error(&x, 402, 37);
    pc_test_exchange_free(&x);
    /* a token for the next count, signed by a stranger's key */
    pc_itest_token forged;
    pc_itest_sign_token(t, IT_STRANGER, IT_CONSUMER, &c.m, &c.active, c.tok.count + 1, &forged);
    send_token(&forged, &x);
    pc_test_expect_json_error(&x, 402, 4);
    assert_non_null(pc_test_exchange_header(&x, "x-paychan-terms"));
    pc_test_exchange_free(&x);
    assert_int_equal(upstream_hits(), before + 1);
}

/* One paid request sent from its own thread: its status and error code. */
typedef struct shot {
    const pc_itest_token *tok;
    pthread_t thread;
    long status;
    int code;
} shot;

static void *fire(void *arg)
{
    shot *s = arg;
    pc_test_exchange x;
    send_token(s->tok, &x);
    s->status = x.status;
    json_t *j = x.status == 200 ? NULL : json_loads(x.body, 0, NULL);
    s->code = (int)json_integer_value(json_object_get(j, "code"));
    json_decref(j);
    pc_test_exchange_free(&x);
    return NULL;
}

/* Sends n paid requests at once, one per thread; waits for all. */
static void fire_all(shot *shots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&shots[i].thread, NULL, fire, &shots[i]), 0);
    for (size_t i = 0; i < n; i++)
        pthread_join(shots[i].thread, NULL);
}

/* Paid requests in flight together share calls to the Payment Server (the
 * proxy's log says so), and each payment is still judged on its own: the
 * valid ones go upstream; a forged one and the second of two copies of one
 * token, in the same burst, get their own 402. */
static void test_concurrent_payments_checked_in_batches(void **state)
{
    (void)state;
    enum { N = 16, FORGED = 5, COPY = 9, ORIGINAL = 3 };
    int batched = 0;
    for (int round = 0; round < 5 && !batched; round++) {
        channel c;
        fresh_channel(&c);
        pc_itest_token toks[N];
        shot shots[N];
        toks[0] = c.tok;
        for (int i = 1; i < N; i++)
            it_headers(W.t, IT_CONSUMER, &c.m, &toks[i]);
        pc_itest_sign_token(W.t, IT_STRANGER, IT_CONSUMER, &c.m, &c.active, N + 1, &toks[FORGED]);
        toks[COPY] = toks[ORIGINAL];
        for (int i = 0; i < N; i++)
            shots[i] = (shot){.tok = &toks[i]};
        long before = upstream_hits();
        fire_all(shots, N);
        int passed = 0;
        for (int i = 0; i < N; i++) {
            if (i == FORGED || i == COPY || i == ORIGINAL)
                continue;
            if (shots[i].status != 200)
                fail_msg("round %d: request %d (count %llu): %ld code %d", round, i,
                         (unsigned long long)toks[i].count, shots[i].status, shots[i].code);
            passed++;
        }
        assert_int_equal(shots[FORGED].status, 402);
        assert_int_equal(shots[FORGED].code, 4);
        /* one of the two copies is paid, the other is a replay */
        long copy_status = shots[COPY].status, original_status = shots[ORIGINAL].status;
        assert_true((copy_status == 200) != (original_status == 200));
        assert_int_equal(copy_status == 200 ? shots[ORIGINAL].code : shots[COPY].code, 37);
        assert_int_equal(upstream_hits(), before + passed + 1);
        batched = pc_test_proc_log_contains(&W.proxy, "payment checks in one call (batched)");
    }
    assert_true(batched);
}

/* ---- bodies and limits ---------------------------------------------------------------------- */

static void test_bodies_and_size_limit(void **state)
{
    (void)state;
    size_t len = 60 * 1024;
    char *body = malloc(len);
    memset(body, 'b', len);
    const char *const type[] = {"Content-Type: application/octet-stream", NULL};
    pc_test_exchange x;
    through("PUT", "/echo/put", type, body, len, &x);
    assert_int_equal(x.status, 200);
    json_t *root;
    echoed_headers(&x, &root);
    assert_int_equal(json_integer_value(json_object_get(root, "bodyLength")), len);
    assert_string_equal(json_string_value(json_object_get(root, "method")), "PUT");
    json_decref(root);
    pc_test_exchange_free(&x);
    long before = upstream_hits();
    body = realloc(body, 200 * 1024);
    memset(body, 'b', 200 * 1024);
    through("POST", "/echo/big", type, body, 200 * 1024, &x);
    pc_test_expect_json_error(&x, 413, 300);
    pc_test_exchange_free(&x);
    free(body);
    assert_int_equal(upstream_hits(), before);
}

/* n bytes of the upstream's pattern, as sent. */
static void expect_pattern(const pc_test_exchange *x, size_t n)
{
    static const char pat[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    assert_int_equal(x->len, n);
    for (size_t i = 0; i < n; i += 4099)
        assert_int_equal(x->body[i], pat[(i % (64 * 1024 / 36 * 36)) % 36]);
}

static void test_large_answers_streamed(void **state)
{
    (void)state;
    pc_test_exchange x;
    through("GET", "/big?n=6000000", NULL, NULL, 0, &x);
    assert_int_equal(x.status, 200);
    assert_string_equal(pc_test_exchange_header(&x, "content-length"), "6000000");
    expect_pattern(&x, 6000000);
    pc_test_exchange_free(&x);
    through("GET", "/big?n=6000000&chunked=1", NULL, NULL, 0, &x);
    assert_int_equal(x.status, 200);
    assert_string_equal(pc_test_exchange_header(&x, "transfer-encoding"), "chunked");
    expect_pattern(&x, 6000000);
    pc_test_exchange_free(&x);
}

/* Clients in parallel, each request on a new client connection (a new
 * proxy thread): the upstream connections are kept alive and reused, not
 * opened per request (the shared cache once kept only 4). */
#define POOL_THREADS 8
#define POOL_REQUESTS 15

static void *pool_client(void *arg)
{
    long *failures = arg;
    for (int i = 0; i < POOL_REQUESTS; i++) {
        pc_test_exchange x;
        through("GET", "/free/x", NULL, NULL, 0, &x);
        *failures += x.status != 200;
        pc_test_exchange_free(&x);
    }
    return NULL;
}

static void test_upstream_connections_kept_alive(void **state)
{
    (void)state;
    pthread_t threads[POOL_THREADS];
    long failures[POOL_THREADS] = {0};
    long before = upstream_count("connections");
    for (int i = 0; i < POOL_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, pool_client, &failures[i]), 0);
    for (int i = 0; i < POOL_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(failures[i], 0);
    }
    long opened = upstream_count("connections") - before;
    fprintf(stderr, "%d requests, %ld upstream connections opened\n",
            POOL_THREADS * POOL_REQUESTS, opened);
    assert_true(opened <= 2 * POOL_THREADS);
}

/* A TCP connection to the main proxy, or -1. */
static int connect_proxy(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)W.proxy.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* The proxy serves on event loops: open connections cost it no thread (a
 * thread per connection made 64 idle ones 64 threads, and a thread switch
 * per hop), and requests are still answered while they are open. */
static void test_connections_take_no_threads(void **state)
{
    (void)state;
    enum { N = 64 };
    int before = pc_test_proc_threads(&W.proxy), fds[N];
    for (int i = 0; i < N; i++)
        assert_true((fds[i] = connect_proxy()) >= 0);
    pc_test_sleep_ms(300); /* the acceptor hands them to the loops */
    int during = pc_test_proc_threads(&W.proxy);
    pc_test_exchange x;
    through("GET", "/free/while-open", NULL, NULL, 0, &x);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    fprintf(stderr, "proxy threads: %d, with %d idle connections: %d\n", before, N, during);
    assert_int_equal(x.status, 200);
    pc_test_exchange_free(&x);
    assert_true(before > 0);
    assert_true(during <= before + 2);
}

/* Calls one after another reuse the same curl handles, which are not reset
 * between calls: each goes upstream with its own method and body only. */
static void test_methods_in_turn(void **state)
{
    (void)state;
    static const char *const methods[] = {"HEAD", "POST", "GET", "HEAD", "PUT", "GET"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        int body = strcmp(methods[i], "POST") == 0 || strcmp(methods[i], "PUT") == 0;
        pc_test_exchange x;
        through(methods[i], "/echo/turn", NULL, body ? "abc" : NULL, body ? 3 : 0, &x);
        assert_int_equal(x.status, 200);
        if (strcmp(methods[i], "HEAD") == 0) {
            assert_true(x.len == 0);
        } else {
            json_t *root = json_loads(x.body, 0, NULL);
            assert_string_equal(json_string_value(json_object_get(root, "method")), methods[i]);
            assert_int_equal(json_integer_value(json_object_get(root, "bodyLength")),
                             body ? 3 : 0);
            json_decref(root);
        }
        pc_test_exchange_free(&x);
    }
}

/* A connection to the main proxy on which text is sent, reads timing out
 * after timeout_s seconds. */
static int send_raw(const char *text, int timeout_s)
{
    int fd = connect_proxy();
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Reads one answer (header and Content-Length bytes of body) from fd into
 * buf[cap]; its length, or -1. */
static ssize_t read_answer(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            return -1;
        buf[n += (size_t)r] = '\0';
        const char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "content-length:");
        if (end && cl && n >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
            return (ssize_t)n;
    }
}

/* A small answer the upstream sent whole goes back header and body in one
 * TCP segment (streamed, they went as two writes, and a client such as the
 * sidecar woke up for each), with the upstream's Content-Type once. */
static void test_small_answer_in_one_segment(void **state)
{
    (void)state;
    int fd = send_raw("GET /free/one HTTP/1.1\r\nHost: one\r\n\r\n", 10);
    char buf[8192];
    ssize_t n = read_answer(fd, buf, sizeof buf);
    struct tcp_info ti = {0};
    socklen_t len = sizeof ti;
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    close(fd);
    assert_true(n > 0);
    assert_memory_equal(buf, "HTTP/1.1 200", 12);
    const char *ct = strcasestr(buf, "\r\ncontent-type:");
    assert_non_null(ct);
    assert_null(strcasestr(ct + 2, "\r\ncontent-type:"));
    fprintf(stderr, "answer of %zd bytes in %u data segments\n", n, ti.tcpi_data_segs_in);
    assert_int_equal(ti.tcpi_data_segs_in, 1);
}

/* A client that sends half a header and waits: cut after --header-timeout 1. */
static void test_slow_request_cut(void **state)
{
    (void)state;
    int fd = send_raw("GET /free/x HTTP/1.1\r\nHost: slow\r\n", 8);
    int64_t start = pc_test_now_ms();
    char buf[512];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        ;
    int64_t waited = pc_test_now_ms() - start;
    close(fd);
    assert_int_equal(n, 0); /* closed by the proxy, not our timeout */
    assert_true(waited < 5000);
}

/* ---- failures behind the proxy ------------------------------------------------------------- */

static void test_payment_server_down_or_slow(void **state)
{
    (void)state;
    channel c;
    fresh_channel(&c);
    char lines[7][200], down[64], slow[64];
    token_lines(&c.tok, lines, "0xevil");
    const char *const h[] = {lines[0], lines[1], lines[2], lines[3], lines[4], NULL};
    /* down: nothing listens; slow: a socket that listens and never answers */
    snprintf(down, sizeof down, "http://127.0.0.1:%d", pc_test_free_port());
    int quiet = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(quiet, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(quiet, 16), 0);
    getsockname(quiet, (struct sockaddr *)&a, &alen);
    snprintf(slow, sizeof slow, "http://127.0.0.1:%d", ntohs(a.sin_port));
    const char *servers[] = {down, slow};
    const long codes[] = {600, 601};
    long before = upstream_hits();
    for (int i = 0; i < 2; i++) {
        pc_test_proc p;
        assert_int_equal(start_proxy(&p, i ? "proxy-slow-ps" : "proxy-no-ps", servers[i],
                                     W.upstream.url, NULL), 0);
        char url[256];
        snprintf(url, sizeof url, "%s/paid/x", p.url);
        pc_test_exchange x;
        int64_t start = pc_test_now_ms();
        pc_test_exchange_send("GET", url, h, NULL, 0, NULL, 20000, &x);
        pc_test_expect_json_error(&x, 503, codes[i]);
        assert_true(pc_test_now_ms() - start < 5000);
        assert_null(strstr(x.body, "127.0.0.1")); /* no internal address to callers */
        pc_test_exchange_free(&x);
        assert_int_equal(pc_test_proc_stop(&p), 0);
    }
    close(quiet);
    assert_int_equal(upstream_hits(), before); /* never forwarded unpaid */
}

static void test_upstream_down_502(void **state)
{
    (void)state;
    char down[64];
    snprintf(down, sizeof down, "http://127.0.0.1:%d", pc_test_free_port());
    pc_test_proc p;
    assert_int_equal(start_proxy(&p, "proxy-no-upstream", pc_test_paychand_url(
                                     W.t->provider_server), down, NULL), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/free/x", p.url);
    pc_test_exchange x;
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 20000, &x);
    pc_test_expect_json_error(&x, 502, 610);
    pc_test_exchange_free(&x);
    assert_int_equal(pc_test_proc_stop(&p), 0);
}

static void test_unknown_routes_free_option(void **state)
{
    (void)state;
    const char *const more[] = {"--unknown-routes", "free", NULL};
    pc_test_proc p;
    assert_int_equal(start_proxy(&p, "proxy-open", pc_test_paychand_url(W.t->provider_server),
                                 W.upstream.url, more), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/elsewhere", p.url);
    pc_test_exchange x;
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 20000, &x);
    assert_int_equal(x.status, 200);
    assert_string_equal(x.body, "ok");
    pc_test_exchange_free(&x);
    assert_int_equal(pc_test_proc_stop(&p), 0); /* SIGTERM: a clean exit */
}

/* GET path on proxy p: the status. */
static long status_at(const pc_test_proc *p, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", p->url, path);
    pc_test_exchange x;
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 20000, &x);
    long status = x.status;
    pc_test_exchange_free(&x);
    return status;
}

/* The file, then the environment, then the command line: each overrides the one before. */
static void test_config_file_env_flags(void **state)
{
    (void)state;
    char path[] = "/tmp/pc-proxy-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# a config file\nmode = provider\nupstream = %s/\nroute = GET /free free\n"
               "unknown-routes = deny   # 404\nlog-level = warn\n", W.upstream.url);
    fclose(f);
    const char *const file_only[] = {"--config", path, NULL};
    pc_test_proc p;
    assert_int_equal(pc_test_proxy_start(&p, PAYCHAN_PROXY, "proxy-conf", file_only), 0);
    assert_int_equal(status_at(&p, "/free/x"), 200);
    assert_int_equal(status_at(&p, "/elsewhere"), 404);
    assert_int_equal(pc_test_proc_stop(&p), 0);
    setenv("PAYCHAN_PROXY_UNKNOWN_ROUTES", "free", 1);
    assert_int_equal(pc_test_proxy_start(&p, PAYCHAN_PROXY, "proxy-env", file_only), 0);
    assert_int_equal(status_at(&p, "/elsewhere"), 200);
    assert_int_equal(pc_test_proc_stop(&p), 0);
    const char *const flag[] = {"--config", path, "--unknown-routes", "deny", NULL};
    assert_int_equal(pc_test_proxy_start(&p, PAYCHAN_PROXY, "proxy-flag", flag), 0);
    unsetenv("PAYCHAN_PROXY_UNKNOWN_ROUTES");
    assert_int_equal(status_at(&p, "/elsewhere"), 404);
    assert_int_equal(pc_test_proc_stop(&p), 0);
    unlink(path);
}

/* Runs the proxy with args to the end: its exit status; its output in out. */
static int run_proxy(const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", PAYCHAN_PROXY, args);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_usage_and_bad_configuration(void **state)
{
    (void)state;
    static char out[64 * 1024];
    assert_int_equal(run_proxy("--help", out, sizeof out), 0);
    assert_non_null(strstr(out, "SYNOPSIS"));
    assert_non_null(strstr(out, "--route"));
    /* the documented example parses (--help after it: nothing starts) */
    if (run_proxy("--config " PAYCHAN_SOURCE_DIR "/docs/paychan-proxy.conf.example --help", out,
                  sizeof out) != 0)
        fail_msg("docs/paychan-proxy.conf.example: %s", out);
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"--upstream http://127.0.0.1:1 --route 'GET nope free'", "--route"},
        {"--upstream http://127.0.0.1:1 --route 'GET /x paid ghost 10'", "no account ghost"},
        {"--upstream http://127.0.0.1:1 --account a:0x01", "--dev"},
        {"--upstream ftp://x", "--upstream"},
        {"--mode consumer --payment-server http://127.0.0.1:1", "--account"},
        {"--port 70000", "--port"},
        {"--no-such-option", "unknown option"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status = run_proxy(bad[i].args, out, sizeof out);
        if (status != 1 || !strstr(out, bad[i].says))
            fail_msg("%s: exit %d, said: %s", bad[i].args, status, out);
    }
}

static int setup(void **state)
{
    (void)state;
    if (!(W.t = pc_itest_start(NULL)) || pc_test_upstream_start(&W.upstream) != 0)
        return -1;
    pc_test_dev_account_arg("prov", W.t->key[IT_PROVIDER], W.dev_account, sizeof W.dev_account);
    return start_proxy(&W.proxy, "proxy", pc_test_paychand_url(W.t->provider_server),
                       W.upstream.url, NULL);
}

static int teardown(void **state)
{
    (void)state;
    int rc = pc_test_proc_stop(&W.proxy);
    pc_test_proc_stop(&W.upstream);
    pc_itest_stop(W.t);
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_route_strips_payment_and_hop_headers),
        cmocka_unit_test(test_unknown_route_and_dot_segments),
        cmocka_unit_test(test_paid_without_payment_gets_terms),
        cmocka_unit_test(test_paid_valid_replayed_forged),
        cmocka_unit_test(test_concurrent_payments_checked_in_batches),
        cmocka_unit_test(test_bodies_and_size_limit),
        cmocka_unit_test(test_large_answers_streamed),
        cmocka_unit_test(test_upstream_connections_kept_alive),
        cmocka_unit_test(test_connections_take_no_threads),
        cmocka_unit_test(test_small_answer_in_one_segment),
        cmocka_unit_test(test_methods_in_turn),
        cmocka_unit_test(test_slow_request_cut),
        cmocka_unit_test(test_payment_server_down_or_slow),
        cmocka_unit_test(test_upstream_down_502),
        cmocka_unit_test(test_unknown_routes_free_option),
        cmocka_unit_test(test_config_file_env_flags),
        cmocka_unit_test(test_usage_and_bad_configuration),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
