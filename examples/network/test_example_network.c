/* test_example_network.c: the example network of docs/protocol.md §8 run for real, on
 * free ports, without payment (PAYMENT_INACTIVE): /action answers a number
 * that persistence-service saved; the services' endpoints, keep-alive,
 * --help and SIGTERM. Plus one provider with payment switched on and no
 * Payment Server reachable: requests without payment get 402, payments
 * that cannot be checked get 503; a Transfer-Encoding other than chunked
 * gets 501 at once. The paid network is tested end to end by
 * the integration tests. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "support/child.h"

enum { PERSISTENCE = 0, RANDOM = 1, PUBLIC = 2, PAID_RANDOM = 3, N_PROCS = 4 };

static const char *const binaries[N_PROCS] = {EX_PERSISTENCE_SERVICE, EX_RANDOM_NR_SERVICE,
                                               EX_PUBLIC_SERVICE, EX_RANDOM_NR_SERVICE};

typedef struct proc {
    pid_t pid;
    int port;
    char url[64];
} proc;

static proc procs[N_PROCS];
static CURL *curl;

/* ---- HTTP -------------------------------------------------------------------------------- */

typedef struct reply {
    long status;
    json_t *body;
    char text[4096];
    size_t len;
} reply;

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    size_t add = size * n;
    size_t room = sizeof r->text - 1 - r->len;
    memcpy(r->text + r->len, ptr, add < room ? add : room);
    r->len += add < room ? add : room;
    r->text[r->len] = '\0';
    return add;
}

/* GET base url + formatted path on the shared keep-alive handle, with
 * extra headers (NULL-terminated "name: value" list) if any. */
static reply get_with(const char *const *headers, const char *base, const char *fmt, ...)
{
    reply r = {0};
    char path[512], url[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    snprintf(url, sizeof url, "%s%s", base, path);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
        r.body = json_loads(r.text, 0, NULL);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    return r;
}

#define get(base, ...) get_with(NULL, base, __VA_ARGS__)

static long connects_of_last_call(void)
{
    long n = -1;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &n);
    return n;
}

/* ---- processes --------------------------------------------------------------------------- */

static int wait_ready(proc *p)
{
    int64_t deadline = pc_test_now_ms() + 15000;
    while (pc_test_now_ms() < deadline) {
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            return -1; /* died: most likely lost its port */
        }
        reply r = get(p->url, "/status");
        json_decref(r.body);
        if (r.status == 200)
            return 0;
        pc_test_sleep_ms(20);
    }
    return -1;
}

/* Starts binary on a free port (retrying when the port was taken meanwhile),
 * its log to log_fd (< 0: the test's stderr). */
static int start_logged(proc *p, const char *binary, int log_fd)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        p->port = pc_test_free_port();
        snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
        char port[16];
        snprintf(port, sizeof port, "%d", p->port);
        char *argv[] = {(char *)binary, "--port", port, NULL};
        p->pid = pc_test_spawn(argv, NULL, log_fd);
        if (p->pid > 0 && wait_ready(p) == 0)
            return 0;
        if (p->pid > 0)
            pc_test_kill_and_reap(p->pid, SIGKILL, 0);
        p->pid = 0;
    }
    return -1;
}

static int start(proc *p, const char *binary)
{
    return start_logged(p, binary, -1);
}

/* SIGTERM, and the exit status (-1 if it did not exit by itself in 10 s). */
static int stop(proc *p)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    int64_t deadline = pc_test_now_ms() + 10000;
    int status = 0;
    while (waitpid(p->pid, &status, WNOHANG) == 0) {
        if (pc_test_now_ms() > deadline) {
            pc_test_kill_and_reap(p->pid, SIGKILL, 0);
            p->pid = 0;
            return -1;
        }
        pc_test_sleep_ms(10);
    }
    p->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The paid provider's log (its Payment Server's address must appear only there). */
static char paid_log[] = "/tmp/paychan-paid-random-XXXXXX";
static char closed_url[64];

static int setup_network(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    /* The no-payment network, configured by environment; ports by flag. */
    setenv("PAYMENT_INACTIVE", "true", 1);
    setenv("LOG_LEVEL", "error", 1);
    if (start(&procs[PERSISTENCE], binaries[PERSISTENCE]) != 0 ||
        start(&procs[RANDOM], binaries[RANDOM]) != 0)
        return -1;
    setenv("PERSISTENCE_SERVICE_URL", procs[PERSISTENCE].url, 1);
    setenv("RANDOM_NR_SERVICE_URL", procs[RANDOM].url, 1);
    setenv("HTTP_WORKERS", "4", 1); /* test_connections_take_no_threads counts on it */
    if (start(&procs[PUBLIC], binaries[PUBLIC]) != 0)
        return -1;
    unsetenv("HTTP_WORKERS");
    /* A provider with payment on, its Payment Server a closed port; the
     * default dev keystore is found under the source tree. */
    unsetenv("PAYMENT_INACTIVE");
    snprintf(closed_url, sizeof closed_url, "http://127.0.0.1:%d", pc_test_free_port());
    setenv("PAYMENT_SERVER_URL", closed_url, 1);
    setenv("TIMEOUT_MS", "2000", 1);
    int log_fd = mkstemp(paid_log);
    if (log_fd < 0)
        return -1;
    int rc = start_logged(&procs[PAID_RANDOM], binaries[PAID_RANDOM], log_fd);
    close(log_fd);
    return rc;
}

static int teardown_network(void **state)
{
    (void)state;
    for (int i = 0; i < N_PROCS; i++)
        if (procs[i].pid > 0)
            pc_test_kill_and_reap(procs[i].pid, SIGKILL, 0);
    unlink(paid_log);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------- */

static json_int_t saved_count(void)
{
    reply r = get(procs[PERSISTENCE].url, "/numbers?last=0");
    assert_int_equal(r.status, 200);
    json_int_t n = json_integer_value(json_object_get(r.body, "count"));
    json_decref(r.body);
    return n;
}

static void assert_trace(json_t *trace)
{
    static const char *const steps[] = {"getRandomNumber", "saveNumber", "total"};
    assert_int_equal(json_array_size(trace), 3); /* no signing steps without payment */
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(trace, i);
        assert_string_equal(json_string_value(json_object_get(s, "step")), steps[i]);
        assert_true(json_is_real(json_object_get(s, "ms")));
        assert_true(json_real_value(json_object_get(s, "ms")) >= 0.0);
    }
}

static void test_action_answers_a_saved_number(void **state)
{
    (void)state;
    enum { N = 20 };
    json_int_t before = saved_count();
    json_int_t numbers[N];
    for (int i = 0; i < N; i++) {
        reply r = get(procs[PUBLIC].url, "/action");
        assert_int_equal(r.status, 200);
        json_t *n = json_object_get(r.body, "randomNumber");
        assert_true(json_is_integer(n));
        numbers[i] = json_integer_value(n);
        assert_true(numbers[i] >= 0 && numbers[i] < 1000000);
        assert_true(json_is_true(json_object_get(r.body, "saved")));
        assert_true(json_is_null(json_object_get(r.body, "tokenIds")));
        assert_true(json_is_null(json_object_get(r.body, "mediators")));
        assert_trace(json_object_get(r.body, "trace"));
        json_decref(r.body);
    }
    reply r = get(procs[PERSISTENCE].url, "/numbers?last=%d", N);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.body, "count")), before + N);
    json_t *saved = json_object_get(r.body, "numbers");
    assert_int_equal(json_array_size(saved), N);
    for (int i = 0; i < N; i++) /* one client, in order: the list is the answers' order */
        assert_int_equal(json_integer_value(json_array_get(saved, (size_t)i)), numbers[i]);
    json_decref(r.body);
}

static void test_connections_are_kept_alive(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        reply r = get(procs[RANDOM].url, "/randomNumber");
        assert_int_equal(r.status, 200);
        assert_true(json_is_integer(json_object_get(r.body, "randomNumber")));
        json_decref(r.body);
        if (i > 0)
            assert_int_equal(connects_of_last_call(), 0); /* the connection was reused */
    }
}

static void assert_status(const char *base, long status, const char *path)
{
    reply r = get(base, "%s", path);
    assert_int_equal(r.status, status);
    assert_non_null(r.body); /* every answer is JSON */
    json_decref(r.body);
}

static void test_endpoints_without_payment(void **state)
{
    (void)state;
    const char *ps = procs[PERSISTENCE].url, *pub = procs[PUBLIC].url;
    assert_status(ps, 400, "/save?nr=abc");
    assert_status(ps, 400, "/save");
    assert_status(ps, 400, "/numbers?last=-1");
    reply r = get(ps, "/save?nr=-42");
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.body, "saved")), -42);
    json_decref(r.body);
    for (int i = 0; i < 3; i++) {
        static const char *const admin[] = {"/redeem", "/payout", "/terminate"};
        assert_status(ps, 409, admin[i]);
        assert_status(procs[RANDOM].url, 409, admin[i]);
    }
    assert_status(ps, 404, "/nothing");
    assert_status(pub, 404, "/randomNumber");
    assert_status(pub, 409, "/terminate");
    r = get(pub, "/init");
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.body, "paymentActive")));
    json_decref(r.body);
    r = get(ps, "/status");
    assert_true(json_is_false(json_object_get(r.body, "paymentActive")));
    assert_true(json_is_null(json_object_get(r.body, "address")));
    json_decref(r.body);
}

static void test_paid_endpoint_refuses_missing_payment(void **state)
{
    (void)state;
    const char *paid = procs[PAID_RANDOM].url;
    reply r = get(paid, "/randomNumber");
    assert_int_equal(r.status, 402);
    assert_int_equal(json_integer_value(json_object_get(r.body, "code")), 604);
    json_t *terms = json_object_get(r.body, "terms");
    assert_string_equal(json_string_value(json_object_get(terms, "minCostPerRequest")),
                        "10000000000000");
    const char *provider = json_string_value(json_object_get(terms, "serviceProvider"));
    assert_non_null(provider);
    assert_int_equal(strcasecmp(provider, "0xbeace98fa56bd4449492ef299252856683eaebe5"), 0);
    json_decref(r.body);
    r = get(paid, "/status");
    assert_true(json_is_true(json_object_get(r.body, "paymentActive")));
    assert_int_equal(json_integer_value(json_object_get(r.body, "refused")), 1);
    assert_int_equal(json_integer_value(json_object_get(r.body, "served")), 0);
    json_decref(r.body);
}

static void test_paid_endpoint_unchecked_payment_is_503(void **state)
{
    (void)state;
    static const char *const headers[] = {
        "x-pay-sender: 0x1e9407b242dcda08b804627097fb9afc19abf4b8",
        "x-pay-mediator: 0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "x-pay-token-id: 12345",
        "x-pay-req-count: 1",
        "x-pay-signature: 0x"
        "1111111111111111111111111111111111111111111111111111111111111111"
        "2222222222222222222222222222222222222222222222222222222222222222" "1b",
        NULL};
    reply r = get_with(headers, procs[PAID_RANDOM].url, "/randomNumber");
    assert_int_equal(r.status, 503); /* the Payment Server is down: not the payer's fault */
    assert_int_equal(json_integer_value(json_object_get(r.body, "code")), 600);
    assert_null(json_object_get(r.body, "randomNumber"));
    /* a short reason for the outside caller; the address only in the provider's log */
    char port[32]; /* as libcurl's connection error names it */
    snprintf(port, sizeof port, "port %s", strrchr(closed_url, ':') + 1);
    assert_string_equal(json_string_value(json_object_get(r.body, "message")),
                        "the provider's Payment Server is unreachable");
    assert_null(strstr(r.text, "127.0.0.1"));
    assert_null(strstr(r.text, port));
    char *log = pc_test_read_file(paid_log);
    assert_non_null(log);
    assert_non_null(strstr(log, port));
    free(log);
    json_decref(r.body);
    r = get(procs[PAID_RANDOM].url, "/redeem"); /* no Mediator has paid it */
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.body, "count")), 0);
    json_decref(r.body);
}

/* /health: 200 while the process serves. /ready: 200 without payment (nothing
 * to wait for); 503 naming "paymentServer" when payment is on and its Payment
 * Server cannot be reached, without its address (that goes to the log). */
static void test_health_and_ready(void **state)
{
    (void)state;
    for (int i = 0; i < N_PROCS; i++) {
        reply r = get(procs[i].url, "/health");
        assert_int_equal(r.status, 200);
        json_decref(r.body);
    }
    for (int i = PERSISTENCE; i <= PUBLIC; i++) {
        reply r = get(procs[i].url, "/ready");
        assert_int_equal(r.status, 200);
        assert_true(json_is_true(json_object_get(r.body, "ready")));
        json_decref(r.body);
    }
    reply r = get(procs[PAID_RANDOM].url, "/ready");
    assert_int_equal(r.status, 503);
    assert_true(json_is_false(json_object_get(r.body, "ready")));
    json_t *missing = json_object_get(r.body, "missing");
    assert_int_equal(json_array_size(missing), 1);
    assert_string_equal(json_string_value(json_array_get(missing, 0)), "paymentServer");
    json_t *ps = json_object_get(r.body, "paymentServer");
    assert_true(json_is_false(json_object_get(ps, "reachable")));
    assert_int_equal(json_integer_value(json_object_get(ps, "code")), 600);
    assert_null(strstr(r.text, "127.0.0.1"));
    json_decref(r.body);
}

/* The threads of process pid (/proc), or -1. */
static long thread_count(pid_t pid)
{
    char path[64], line[256];
    long n = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0)
            n = strtol(line + 8, NULL, 10);
    if (f)
        fclose(f);
    return n;
}

/* A TCP connection to 127.0.0.1:port, or -1. */
static int connect_local(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* The client ends of TCP connections to local port `port` in any state
 * (TIME_WAIT included: the connections closed in the last minute). */
static int connections_to(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned local_port, remote_port, st;
        if (sscanf(line, " %*d: %*8x:%x %*8x:%x %x", &local_port, &remote_port, &st) == 3 &&
            (int)remote_port == port && st != 0x0A /* LISTEN */)
            n++;
    }
    if (f)
        fclose(f);
    return n;
}

/* Open connections cost a service no thread: they are served by its event
 * loops (a thread per connection made 64 idle ones 64 threads). And an
 * /action on a new connection each time reuses PublicService's kept-alive
 * connections to the providers (they were a curl handle per connection
 * thread, closed with it: 40 actions left 40 connections in TIME_WAIT): at
 * most one per worker, here 4. */
static void test_connections_take_no_threads(void **state)
{
    (void)state;
    enum { N = 64 };
    pid_t pid = procs[PUBLIC].pid;
    long before = thread_count(pid);
    int fds[N];
    for (int i = 0; i < N; i++)
        assert_true((fds[i] = connect_local(procs[PUBLIC].port)) >= 0);
    pc_test_sleep_ms(300); /* the acceptor hands them to the loops */
    long during = thread_count(pid);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    assert_true(before > 0);
    assert_true(during <= before + 2); /* not one per connection */
    for (int i = 0; i < 40; i++) {
        curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
        reply r = get(procs[PUBLIC].url, "/action");
        assert_int_equal(r.status, 200);
        json_decref(r.body);
    }
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 0L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 0L);
    int to_random = connections_to(procs[RANDOM].port);
    fprintf(stderr, "connections to random-nr-service: %d\n", to_random);
    assert_true(to_random <= 4 + 4); /* + this test's own, of earlier tests */
}

typedef struct name_count {
    const char *name;
    int n;
    long switches;
} name_count;

/* One thread's /proc status: counts it, and its context switches, when
 * its name starts with c->name. */
static void count_named(void *arg, const char *status)
{
    name_count *c = arg;
    char name[64] = "";
    long v;
    if (sscanf(status, "Name:\t%63s", name) != 1 || strncmp(name, c->name, strlen(c->name)) != 0)
        return;
    c->n++;
    for (const char *line = status; line; line = strchr(line + 1, '\n'))
        if (sscanf(line, "\nvoluntary_ctxt_switches: %ld", &v) == 1 ||
            sscanf(line, "\nnonvoluntary_ctxt_switches: %ld", &v) == 1)
            c->switches += v;
}

/* Threads of pid named name (/proc/PID/task/TID/status); their context
 * switches so far into *switches. */
static int threads_named(pid_t pid, const char *name, long *switches)
{
    name_count c = {name, 0, 0};
    pc_test_each_thread(pid, "status", count_named, &c);
    *switches = c.switches;
    return c.n;
}

/* The paid hot paths (/action's calls, a provider's paid endpoint) run on
 * the services' event loops without blocking: their outgoing calls go
 * through each loop's curl multi, and no request is handed from a loop to
 * a worker thread and back (two thread wake-ups per request, 40-80 µs of
 * each service's CPU per paid /action, docs/benchmarks.md). So the worker
 * threads, kept for the calls that block (/init, /ready, ...), are never
 * woken while /action is served: their context switches do not move. */
static void test_requests_run_on_the_loops(void **state)
{
    (void)state;
    long before[N_PROCS], after;
    for (int i = 0; i < N_PROCS; i++)
        assert_true(threads_named(procs[i].pid, "http-worker", &before[i]) > 0);
    for (int i = 0; i < 8; i++) {
        reply r = get(procs[PUBLIC].url, "/action");
        assert_int_equal(r.status, 200);
        json_decref(r.body);
    }
    for (int i = 0; i < N_PROCS; i++) {
        threads_named(procs[i].pid, "http-worker", &after);
        assert_int_equal(after, before[i]);
    }
}

/* Exit status of a service run with argv (stdout discarded). */
static int run_to_exit(char *const argv[])
{
    pid_t pid = pc_test_spawn(argv, NULL, -1);
    int status = 0;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A Transfer-Encoding other than chunked is answered 501 at once
 * (libmicrohttpd would read the undelimited body until the client closes). */
static void test_unsupported_transfer_encoding(void **state)
{
    (void)state;
    static const char *const gzip[] = {"Transfer-Encoding: gzip, chunked", NULL};
    int64_t start = pc_test_now_ms();
    reply r = get_with(gzip, procs[PERSISTENCE].url, "/status");
    assert_int_equal(r.status, 501);
    assert_non_null(r.body);
    json_decref(r.body);
    assert_true(pc_test_now_ms() - start < 5000);
}

static void test_help_and_bad_usage(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        char *help[] = {(char *)binaries[i], "--help", NULL};
        char *bad[] = {(char *)binaries[i], "--no-such-flag", NULL};
        char *bad_port[] = {(char *)binaries[i], "--port", "99999", NULL};
        assert_int_equal(run_to_exit(help), 0);
        assert_int_equal(run_to_exit(bad), 2);
        assert_int_equal(run_to_exit(bad_port), 2);
    }
}

static void test_sigterm_exits_0(void **state)
{
    (void)state;
    for (int i = N_PROCS - 1; i >= 0; i--)
        assert_int_equal(stop(&procs[i]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_answers_a_saved_number),
        cmocka_unit_test(test_connections_are_kept_alive),
        cmocka_unit_test(test_endpoints_without_payment),
        cmocka_unit_test(test_paid_endpoint_refuses_missing_payment),
        cmocka_unit_test(test_paid_endpoint_unchecked_payment_is_503),
        cmocka_unit_test(test_unsupported_transfer_encoding),
        cmocka_unit_test(test_health_and_ready),
        cmocka_unit_test(test_connections_take_no_threads),
        cmocka_unit_test(test_requests_run_on_the_loops),
        cmocka_unit_test(test_help_and_bad_usage),
        cmocka_unit_test(test_sigterm_exits_0),
    };
    return cmocka_run_group_tests(tests, setup_network, teardown_network);
}
