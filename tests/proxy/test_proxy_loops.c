/* paychan-proxy on event loops that never block, with real processes: the
 * Python upstream (tests/proxy/upstream.py) and a provider proxy with free
 * routes on ONE event loop (--http-loops 1), so that anything blocking
 * that loop shows:
 *  - a request waiting 1.5 s for a slow upstream does not delay another
 *    one on the same loop (with a loop that blocked, it waited 1.5 s);
 *  - an answer whose body trickles in (a piece every 300 ms) reaches the
 *    client whole, and the proxy spends little CPU meanwhile: its reader
 *    waits suspended instead of being called in a busy loop;
 *  - a client that stops reading a 40 MB answer: the proxy's memory stays
 *    bounded (the transfer pauses), and the body arrives whole once it
 *    reads again. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/child.h"
#include "support/proxy.h"

static pc_test_proc upstream, proxy;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* GET path on the proxy; the time it took in *secs (may be NULL). */
static void get(const char *path, pc_test_exchange *x, double *secs)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", proxy.url, path);
    double t0 = now_s();
    pc_test_exchange_send("GET", url, NULL, NULL, 0, NULL, 20000, x);
    if (secs)
        *secs = now_s() - t0;
}

/* A number from /proc/PID/<file>: the field after `key` (status), or the
 * sum of utime and stime in clock ticks (stat, key NULL). -1 if unread. */
static long proc_number(const char *file, const char *key)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)proxy.pid, file);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    if (key) {
        const char *at = strstr(text, key);
        return at ? atol(at + strlen(key)) : -1;
    }
    const char *end = strrchr(text, ')'); /* fields 14, 15 after "pid (comm)" */
    long utime = 0, stime = 0;
    if (!end || sscanf(end + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime,
                       &stime) != 2)
        return -1;
    return utime + stime;
}

static void *slow_request(void *arg)
{
    get("/slow?ms=1500", arg, NULL);
    return NULL;
}

static void test_slow_upstream_holds_no_loop(void **state)
{
    (void)state;
    pc_test_exchange slow, quick;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_request, &slow), 0);
    pc_test_sleep_ms(200); /* the slow request waits on the one loop now */
    double secs;
    get("/free/quick", &quick, &secs);
    pthread_join(t, NULL);
    fprintf(stderr, "a request next to one waiting 1.5 s upstream: %.3f s\n", secs);
    assert_int_equal(quick.status, 200);
    assert_int_equal(slow.status, 200);
    assert_true(secs < 0.5);
    pc_test_exchange_free(&quick);
    pc_test_exchange_free(&slow);
}

static void test_trickling_body_without_spinning(void **state)
{
    (void)state;
    long ticks = proc_number("stat", NULL), hz = sysconf(_SC_CLK_TCK);
    pc_test_exchange x;
    double secs;
    get("/big?n=262144&chunked=1&pause=300", &x, &secs); /* 5 pieces, ~1.2 s */
    double cpu = (double)(proc_number("stat", NULL) - ticks) / (double)hz;
    fprintf(stderr, "256 KiB in 5 pieces 300 ms apart: %.3f s, proxy CPU %.3f s\n", secs, cpu);
    assert_int_equal(x.status, 200);
    assert_int_equal(x.len, 262144);
    assert_true(secs >= 1.1);
    assert_true(cpu < 0.3); /* spinning took the whole 1.2 s */
    pc_test_exchange_free(&x);
}

/* A client connection to the proxy that sent `GET path`, or -1. */
static int send_get(const char *path)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)proxy.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0), rcv = 64 * 1024;
    char line[256];
    int n = snprintf(line, sizeof line, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     path);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, line, (size_t)n) != n) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void test_slow_client_bounded_memory(void **state)
{
    (void)state;
    enum { BODY = 40 * 1000 * 1000 };
    long rss_before = proc_number("status", "VmRSS:");
    int fd = send_get("/big?n=40000000");
    assert_true(fd >= 0);
    static char buf[64 * 1024];
    ssize_t got = read(fd, buf, sizeof buf); /* the header and a first piece, then nothing */
    assert_true(got > 0);
    pc_test_sleep_ms(1500);
    long rss_stalled = proc_number("status", "VmRSS:");
    size_t total = (size_t)got;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)n;
    close(fd);
    fprintf(stderr, "40 MB to a client that stopped reading: proxy RSS %ld -> %ld KiB; %zu "
            "bytes read in all\n", rss_before, rss_stalled, total);
    assert_true(rss_before > 0);
    assert_true(rss_stalled - rss_before < 16 * 1024); /* KiB: far below the 40 MB body */
    assert_true(total > BODY && total < BODY + 1024); /* the body and its header */
}

static int setup(void **state)
{
    (void)state;
    if (pc_test_upstream_start(&upstream) != 0)
        return -1;
    const char *args[] = {"--mode", "provider", "--upstream", upstream.url,
                          "--payment-server", "http://127.0.0.1:1", "--unknown-routes", "free",
                          "--http-loops", "1", NULL};
    return pc_test_proxy_start(&proxy, PAYCHAN_PROXY, "proxy-one-loop", args);
}

static int teardown(void **state)
{
    (void)state;
    int rc = pc_test_proc_stop(&proxy);
    pc_test_proc_stop(&upstream);
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_upstream_holds_no_loop),
        cmocka_unit_test(test_trickling_body_without_spinning),
        cmocka_unit_test(test_slow_client_bounded_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
