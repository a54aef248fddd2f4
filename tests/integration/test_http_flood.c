/* Integration: paychand under connection floods (issue 9, point 8). The
 * test itself opens thousands of TCP connections to a real paychand (pool
 * mode, its default) on 127.0.0.1 — idle connects, and slowloris ones
 * that send a header line every few seconds and never finish — while a
 * well-behaved client on 127.0.0.1 keeps asking GET /status on fresh
 * connections. The client must be answered during the flood, the server
 * must recover once the flood ends, and SIGTERM must stop it meanwhile
 * (one case in threads mode too).
 * Floods come from other source addresses (127.0.0.2..., bound before
 * connect: the per-address limit applies to them, not to the client) or
 * from 127.0.0.1 itself (the client's address: shedding must still let
 * the client in). The figures are printed (docs/benchmarks.md). */
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

#include "support/anvil.h"
#include "support/flood.h"
#include "support/http_probe.h"
#include "support/paychand.h"

#define FLOOD_SIZE 9000 /* past the 2 x 4096 of the loops' old limit */
#define FLOOD_S 8       /* how long the client is measured during a flood */

static pc_test_anvil *anvil;
static int flood_size;

/* 127.0.0.2 ... 127.0.0.19: 18 attackers of 500 connections each. */
static const char *const many_sources[] = {
    "127.0.0.2",  "127.0.0.3",  "127.0.0.4",  "127.0.0.5",  "127.0.0.6",  "127.0.0.7",
    "127.0.0.8",  "127.0.0.9",  "127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13",
    "127.0.0.14", "127.0.0.15", "127.0.0.16", "127.0.0.17", "127.0.0.18", "127.0.0.19", NULL};
static const char *const other_source[] = {"127.0.0.2", NULL};
static const char *const client_source[] = {"127.0.0.1", NULL};

static int group_setup(void **state)
{
    (void)state;
    long fds = pc_test_raise_fd_limit();
    /* this process and paychand each hold the flood, plus a margin */
    flood_size = fds - 1000 < FLOOD_SIZE ? (int)(fds - 1000) : FLOOD_SIZE;
    if (flood_size < FLOOD_SIZE)
        printf("# descriptor limit %ld: floods of %d connections only\n", fds, flood_size);
    anvil = pc_test_anvil_start(NULL);
    return anvil && flood_size > 100 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    pc_test_anvil_stop(anvil);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pc_test_paychand *start_server(const char *const *more)
{
    pc_test_paychand *p = pc_test_probe_server_start(PAYCHAN_PAYCHAND, "paychand",
                                                      pc_test_anvil_url(anvil), more);
    assert_non_null(p);
    return p;
}

/* One GET /status from 127.0.0.1 on a fresh connection: its latency in ms, or -1. */
static double probe_status(const pc_test_paychand *p, long timeout_ms)
{
    char url[128];
    pc_test_reply r;
    double ms;
    snprintf(url, sizeof url, "%s/status", pc_test_paychand_url(p));
    pc_test_probe q = {.url = url, .source = "127.0.0.1", .timeout_ms = timeout_ms};
    int ok = pc_test_probe_send(&q, &r, &ms) == 0 && r.status == 200 && r.body;
    if (!ok)
        printf("# GET /status failed after %.1f ms: HTTP %ld %s\n", ms, r.status, r.text);
    pc_test_reply_free(&r);
    return ok ? ms : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The well-behaved client for `seconds`, a request every 100 ms: asserts
 * that at least min_pct % were answered (within 5 s), and prints the figures. */
static void expect_served(const pc_test_paychand *p, pc_test_flood *f, const char *what,
                          double seconds, int min_pct)
{
    double lat[1000];
    int asked = 0, answered = 0;
    for (double end = now_s() + seconds; now_s() < end && asked < 1000; asked++) {
        double ms = probe_status(p, 5000);
        if (ms >= 0)
            lat[answered++] = ms;
        usleep(100000);
    }
    pc_test_flood_stats s = pc_test_flood_stats_now(f);
    qsort(lat, (size_t)answered, sizeof lat[0], cmp_double);
    printf("# %s: flood %d open (%ld opened, %ld closed by the server, %ld failed); client "
           "%d/%d answered, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           what, s.open, s.opened, s.closed_by_server, s.failed, answered, asked,
           answered ? lat[answered / 2] : -1.0, answered ? lat[answered * 99 / 100] : -1.0,
           answered ? lat[answered - 1] : -1.0);
    if (answered * 100 < asked * min_pct) {
        pc_test_paychand_print_all_logs(30);
        fail_msg("%s: only %d of %d requests answered during the flood", what, answered, asked);
    }
}

/* After the flood: seconds until the client is answered again, asserted
 * under 5 s; then 20 requests in a row must be answered. */
static void expect_recovered(const pc_test_paychand *p, const char *what)
{
    double start = now_s(), took = -1;
    while (now_s() - start < 5 && took < 0)
        if (probe_status(p, 1000) >= 0)
            took = now_s() - start;
    printf("# %s: answered again %.3f s after the flood ended\n", what, took);
    assert_true(took >= 0);
    for (int i = 0; i < 20; i++)
        assert_true(probe_status(p, 2000) >= 0);
}

/* SIGTERM stops the server promptly and cleanly. */
static void expect_clean_stop(pc_test_paychand *p, const char *what)
{
    double start = now_s();
    int status = pc_test_paychand_stop(p);
    printf("# %s: SIGTERM -> exit %d after %.2f s\n", what, status, now_s() - start);
    assert_int_equal(status, 0);
    assert_true(now_s() - start < 10);
}

/* A flood against a server started with `more`; the client is measured
 * during it and after; the flood ends, then SIGTERM (during the flood if
 * stop_during). Returns the flood's counters at the end of the measure. */
static pc_test_flood_stats run_flood(const char *what, const char *const *more,
                                     const pc_test_flood_options *o, int stop_during,
                                     int min_pct)
{
    pc_test_paychand *p = start_server(more);
    pc_test_flood_options fo = *o;
    fo.port = atoi(strrchr(pc_test_paychand_url(p), ':') + 1);
    double start = now_s();
    pc_test_flood *f = pc_test_flood_start(&fo);
    assert_non_null(f);
    printf("# %s: %d connections opened in %.2f s\n", what, fo.connections, now_s() - start);
    expect_served(p, f, what, FLOOD_S, min_pct);
    pc_test_flood_stats s = pc_test_flood_stats_now(f);
    if (stop_during) {
        expect_clean_stop(p, what);
        pc_test_flood_stop(f);
    } else {
        pc_test_flood_stop(f);
        expect_recovered(p, what);
        expect_clean_stop(p, what);
    }
    pc_test_paychand_free(p);
    return s;
}

/* One flood and what it must show. */
typedef struct flood_case {
    const char *what;
    const char *const *more;    /* paychand's extra arguments */
    const char *const *sources;
    int slowloris_ms, reopen_per_s;
    int stop_during;            /* SIGTERM while the flood is on */
    int all_closed;             /* each first connection must have been closed */
    int min_pct;                /* of the client's requests answered during the flood */
} flood_case;

static const char *const header_3s[] = {"--http-header-timeout", "3", NULL};
static const char *const total_2000[] = {"--http-max-connections", "2000", NULL};
static const char *const threads_mode[] = {"--http-mode", "threads", NULL};

/* A flood from the client's own address cannot be told from the client by
 * its address: a connection of the client's that waits on a busy loop
 * while over 1,023 newer ones arrive (2,000/s in bursts) is shed like
 * theirs. Seen: at most 1 request of 75 in such runs; 95 % is required. */
static const flood_case cases[] = {
    /* more idle connections than the old 2 x 4096 of the event loops
     * (which froze paychand for good), from 18 addresses: all are held */
    {"idle, 18 addresses", NULL, many_sources, 0, 0, 0, 0, 100},
    /* one other address: past --http-max-per-client its oldest idle
     * connections are shed; the attacker reconnects at 2,000/s */
    {"idle, from 127.0.0.2", NULL, other_source, 0, 2000, 0, 0, 100},
    /* the client's own address: shedding the oldest idle connection lets
     * new requests in */
    {"idle, from 127.0.0.1", NULL, client_source, 0, 2000, 0, 0, 95},
    /* slowloris (a header line every 5 s keeps libmicrohttpd's inactivity
     * timer happy): the header deadline closes each */
    {"slowloris, 18 addresses, header deadline 3 s", header_3s, many_sources, 5000, 2000, 0, 1,
     100},
    {"slowloris, from 127.0.0.1", NULL, client_source, 5000, 2000, 0, 0, 95},
    /* a total limit below the flood: the oldest idle connections are shed */
    {"idle, 18 addresses, --http-max-connections 2000", total_2000, many_sources, 0, 2000, 0, 0,
     100},
    {"slowloris, 18 addresses, SIGTERM during it", NULL, many_sources, 5000, 0, 1, 0, 100},
    /* the other HTTP mode, a thread per connection, has the same guard */
    {"slowloris, 18 addresses, --http-mode threads", threads_mode, many_sources, 5000, 2000, 0, 0,
     100},
};

static void test_flood(void **state)
{
    const flood_case *c = *state;
    pc_test_flood_options o = {.connections = flood_size, .sources = c->sources,
                               .slowloris_ms = c->slowloris_ms, .reopen_per_s = c->reopen_per_s};
    pc_test_flood_stats s = run_flood(c->what, c->more, &o, c->stop_during, c->min_pct);
    if (c->all_closed)
        assert_true(s.closed_by_server >= flood_size);
}

int main(void)
{
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        tests[i] = (struct CMUnitTest){.name = cases[i].what, .test_func = test_flood,
                                       .initial_state = (void *)&cases[i]};
    return _cmocka_run_group_tests("test_http_flood", tests, sizeof cases / sizeof cases[0],
                                   group_setup, group_teardown);
}
