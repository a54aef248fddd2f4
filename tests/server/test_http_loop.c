/* The HTTP layer's own event loops (src/http/loop.c) and pc_http_fetch, with
 * real servers on real sockets: a pool-mode front server whose handlers
 * fetch from a second pc_http server (threads mode, the upstream) on the
 * loop's curl multi handle, and libcurl clients on new connections.
 *  - a fetch then resume; two concurrent fetches for one request; a fetch
 *    started by the previous one's done callback;
 *  - upstream down: done gets CURLE_COULDNT_CONNECT; upstream slow: the
 *    easy handle's timeout (CURLE_OPERATION_TIMEDOUT);
 *  - the client gone mid-fetch: the continuation runs exactly once (its
 *    state freed: ASan's leak check at exit);
 *  - pc_http_stop with a fetch in flight: it completes and is answered;
 *  - a resume from a foreign thread with no other traffic is answered in
 *    < 50 ms (libmicrohttpd 0.9.75's external-loop stall took 1 s);
 *  - 200 sequential requests, each on a new connection: p99 < 50 ms;
 *  - a continuation that suspends again (a second wait) is answered once,
 *    by the second resume;
 *  - a streamed answer whose next bytes come 300 ms later: its reader waits
 *    (pc_http_stream_wait) and is called a few times, not in a busy loop. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "http/http.h"
#include "support/curl_body.h"
#include "support/http_probe.h"

static pc_http *upstream, *front;
static int dead_port; /* a port nobody listens on */
static int continued; /* continuations run (atomic) */

/* ---- the upstream: /fast answers, /slow?ms=N answers after N ms ---------------------- */

static pc_http_step upstream_handler(void *ctx, pc_http_request *req, pc_http_answer *a)
{
    (void)ctx;
    const char *ms = pc_http_param(req, "ms");
    if (ms)
        usleep((useconds_t)atoi(ms) * 1000u); /* threads mode: may block */
    a->status = 200;
    a->body = json_pack("{ss}", "from", pc_http_path(req));
    return PC_HTTP_ANSWERED;
}

/* ---- the front: handlers fetching from the upstream on their loop ------------------------ */

/* One request's fetches, until its continuation frees it. */
typedef struct job {
    pc_http_request *req;
    int pending;       /* fetches in flight */
    int chain;         /* fetches still to start one after another */
    int results[2];    /* curl results, in completion order */
    int n_results;
    char *bodies[2];
    long connects[2];  /* new connections each fetch opened (0: one kept alive) */
    int was_on_loop;   /* pc_http_on_loop(req) inside done */
} job;

static void answer_job(void *arg, pc_http_request *req, pc_http_answer *a)
{
    job *j = arg;
    __atomic_add_fetch(&continued, 1, __ATOMIC_ACQ_REL);
    a->status = 200;
    a->body = json_pack("{si si si ss ss si si}", "n", j->n_results, "r0", j->results[0],
                        "r1", j->results[1], "b0", j->bodies[0] ? j->bodies[0] : "", "b1",
                        j->bodies[1] ? j->bodies[1] : "", "on_loop",
                        j->was_on_loop && pc_http_on_loop(req), "c1", (int)j->connects[1]);
    free(j->bodies[0]);
    free(j->bodies[1]);
    free(j);
}

static int start_fetch(job *j, const char *url, long timeout_ms);

static void fetched(void *arg, CURL *easy, CURLcode result)
{
    job *j = arg;
    pc_bytes *body;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&body);
    j->was_on_loop = pc_http_on_loop(j->req);
    if (j->n_results < 2) {
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &j->connects[j->n_results]);
        j->bodies[j->n_results] = pc_test_bytes_take_string(body);
        j->results[j->n_results++] = (int)result;
    }
    pc_bytes_free(body);
    free(body);
    curl_easy_cleanup(easy);
    j->pending--;
    if (j->chain > 0 && j->chain--) {
        char url[96];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/second", pc_http_port(upstream));
        if (start_fetch(j, url, 5000) == 0)
            return;
    }
    if (j->pending == 0)
        pc_http_resume(j->req, answer_job, j);
}

static int start_fetch(job *j, const char *url, long timeout_ms)
{
    CURL *easy = curl_easy_init();
    pc_bytes *body = calloc(1, sizeof *body);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, pc_test_curl_collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, body);
    j->pending++;
    if (pc_http_fetch(j->req, easy, fetched, j) == 0)
        return 0;
    j->pending--;
    free(body);
    curl_easy_cleanup(easy);
    return -1;
}

/* A foreign thread (like the store's writer) resuming a request. */
typedef struct foreign {
    pc_http_request *req;
    useconds_t delay_us; /* 0: at once, racing the handler's return */
} foreign;

static void *resume_later(void *arg)
{
    foreign f = *(foreign *)arg;
    free(arg);
    if (f.delay_us)
        usleep(f.delay_us);
    pc_http_resume(f.req, answer_job, calloc(1, sizeof(job)));
    return NULL;
}

/* /twice: the first resume's continuation waits once more. */
static void wait_again(void *arg, pc_http_request *req, pc_http_answer *a)
{
    (void)a;
    if (pc_http_abandoned(req))
        return free(arg);
    pc_http_suspend(req);
    pthread_t t;
    pthread_create(&t, NULL, resume_later, arg); /* answers with answer_job */
    pthread_detach(t);
}

static void *resume_twice(void *arg)
{
    foreign *f = arg;
    usleep(f->delay_us);
    pc_http_resume(f->req, wait_again, f);
    return NULL;
}

/* /stream: "first," at once, "second" 300 ms later from another thread. */
typedef struct slow_stream {
    pc_http_request *req;
    int ready, sent, woken; /* ready: the second part is in (atomic) */
} slow_stream;
static int stream_reads; /* calls of slow_read (atomic) */

static void *feed_later(void *arg)
{
    slow_stream *s = arg;
    usleep(300000);
    __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
    pc_http_stream_wake(s->req);
    return NULL;
}

static long slow_read(void *arg, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    slow_stream *s = arg;
    __atomic_add_fetch(&stream_reads, 1, __ATOMIC_ACQ_REL);
    const char *part = s->sent == 0 ? "first," : "second";
    if (s->sent == 2)
        return PC_HTTP_STREAM_END;
    if (s->sent == 1 && !__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE)) {
        pc_http_stream_wait(s->req);
        if (!s->woken++) {
            pthread_t t;
            pthread_create(&t, NULL, feed_later, s);
            pthread_detach(t);
        }
        return 0;
    }
    s->sent++;
    size_t n = strlen(part) < max ? strlen(part) : max;
    memcpy(buf, part, n);
    return (long)n;
}

static pc_http_step stream_answer(pc_http_request *req, pc_http_answer *a)
{
    slow_stream *s = calloc(1, sizeof *s);
    s->req = req;
    a->status = 200;
    a->content_type = "text/plain";
    a->stream = (pc_http_stream){.read = slow_read, .free = free, .arg = s,
                                 .size = PC_HTTP_SIZE_UNKNOWN};
    return PC_HTTP_ANSWERED;
}

static pc_http_step front_handler(void *ctx, pc_http_request *req, pc_http_answer *a)
{
    (void)ctx;
    const char *path = pc_http_path(req);
    if (!strcmp(path, "/health") || !pc_http_on_loop(req)) {
        a->status = 200;
        a->body = json_pack("{sb}", "ok", 1);
        return PC_HTTP_ANSWERED;
    }
    if (!strcmp(path, "/stream"))
        return stream_answer(req, a);
    char url[96];
    int up = pc_http_port(upstream);
    job *j = calloc(1, sizeof *j);
    j->req = req;
    pc_http_suspend(req);
    if (!strcmp(path, "/inline")) { /* done while the handler runs: a store commit inline */
        pc_http_resume(req, answer_job, j);
        return PC_HTTP_SUSPENDED;
    }
    if (!strcmp(path, "/foreign") || !strcmp(path, "/race") || !strcmp(path, "/twice")) {
        free(j);
        foreign *f = malloc(sizeof *f);
        *f = (foreign){req, !strcmp(path, "/race") ? 0 : 5000};
        pthread_t t;
        pthread_create(&t, NULL, !strcmp(path, "/twice") ? resume_twice : resume_later, f);
        pthread_detach(t);
        return PC_HTTP_SUSPENDED;
    }
    const char *ms = pc_http_param(req, "ms"), *to = pc_http_param(req, "timeout");
    if (!strcmp(path, "/down"))
        snprintf(url, sizeof url, "http://127.0.0.1:%d/fast", dead_port);
    else if (ms)
        snprintf(url, sizeof url, "http://127.0.0.1:%d/slow?ms=%s", up, ms);
    else
        snprintf(url, sizeof url, "http://127.0.0.1:%d/fast", up);
    j->chain = !strcmp(path, "/chain");
    int fails = start_fetch(j, url, to ? atol(to) : 5000);
    if (!strcmp(path, "/two"))
        fails |= start_fetch(j, url, 5000);
    assert_int_equal(fails, 0);
    return PC_HTTP_SUSPENDED;
}

/* ---- the client ------------------------------------------------------------------------------ */

/* GET target from the front on a new connection; *reply owned by the caller. */
static double get(const char *target, long timeout_ms, pc_test_reply *reply)
{
    char url[256];
    double ms = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", pc_http_port(front), target);
    pc_test_probe p = {.url = url, .timeout_ms = timeout_ms};
    pc_test_probe_send(&p, reply, &ms);
    return ms;
}

static int body_int(const pc_test_reply *r, const char *name)
{
    return (int)json_integer_value(json_object_get(r->body, name));
}

static const char *body_str(const pc_test_reply *r, const char *name)
{
    return json_string_value(json_object_get(r->body, name));
}

static pc_http *start_front(void)
{
    pc_http_options o = {.mode = PC_HTTP_POOL, .loops = 2};
    pc_error err;
    return pc_http_start("127.0.0.1", 0, &o, front_handler, NULL, &err);
}

static int setup(void **state)
{
    (void)state;
    pc_error err;
    pc_http_options threads = {.mode = PC_HTTP_THREADS};
    upstream = pc_http_start("127.0.0.1", 0, &threads, upstream_handler, NULL, &err);
    pc_http *dead = pc_http_start("127.0.0.1", 0, &threads, upstream_handler, NULL, &err);
    if (!upstream || !dead)
        return -1;
    dead_port = pc_http_port(dead);
    pc_http_stop(dead);
    return (front = start_front()) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pc_http_stop(front);
    pc_http_stop(upstream);
    return 0;
}

/* ---- the tests -------------------------------------------------------------------------------- */

/* GETs target and checks the job's answer: n fetches ended, with curl
 * results r0, r1 and bodies b0, b1 (NULL: not checked), and
 * pc_http_on_loop was 1 in done and in the continuation. The time taken;
 * the answer in *out unless NULL (then freed). */
static double expect_job_reply(const char *target, int n, int r0, int r1, const char *b0,
                               const char *b1, pc_test_reply *out)
{
    pc_test_reply r;
    double ms = get(target, 5000, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(body_int(&r, "n"), n);
    assert_int_equal(body_int(&r, "r0"), r0);
    assert_int_equal(body_int(&r, "r1"), r1);
    if (b0)
        assert_string_equal(body_str(&r, "b0"), b0);
    if (b1)
        assert_string_equal(body_str(&r, "b1"), b1);
    assert_int_equal(body_int(&r, "on_loop"), 1);
    if (out)
        *out = r;
    else
        pc_test_reply_free(&r);
    return ms;
}

static double expect_job(const char *target, int n, int r0, int r1, const char *b0,
                         const char *b1)
{
    return expect_job_reply(target, n, r0, r1, b0, b1, NULL);
}

static void test_fetch_then_resume(void **state)
{
    (void)state;
    expect_job("/one", 1, CURLE_OK, 0, "{\"from\":\"/fast\"}", NULL);
}

static void test_two_concurrent_fetches(void **state)
{
    (void)state;
    double ms = expect_job("/two?ms=300", 2, CURLE_OK, CURLE_OK, "{\"from\":\"/slow\"}",
                           "{\"from\":\"/slow\"}");
    assert_true(ms < 550); /* side by side, not one after the other */
}

static void test_chained_fetch(void **state)
{
    (void)state;
    pc_test_reply r;
    expect_job_reply("/chain", 2, CURLE_OK, CURLE_OK, "{\"from\":\"/fast\"}",
                     "{\"from\":\"/second\"}", &r);
    assert_int_equal(body_int(&r, "c1"), 0); /* the loop kept the first one's connection */
    pc_test_reply_free(&r);
}

static void test_upstream_down(void **state)
{
    (void)state;
    expect_job("/down", 1, CURLE_COULDNT_CONNECT, 0, NULL, NULL);
}

static void test_upstream_slow_times_out(void **state)
{
    (void)state;
    double ms = expect_job("/slow?ms=2000&timeout=200", 1, CURLE_OPERATION_TIMEDOUT, 0, NULL,
                           NULL);
    assert_true(ms >= 190 && ms < 1500);
}

static void test_client_gone_mid_fetch(void **state)
{
    (void)state;
    pc_test_reply r;
    int before = __atomic_load_n(&continued, __ATOMIC_ACQUIRE);
    get("/gone?ms=400", 100, &r); /* the client gives up at 100 ms */
    assert_int_equal(r.status, 0);
    pc_test_reply_free(&r);
    for (int i = 0; i < 200 && __atomic_load_n(&continued, __ATOMIC_ACQUIRE) == before; i++)
        usleep(10000);
    usleep(200000); /* a second run would come now */
    assert_int_equal(__atomic_load_n(&continued, __ATOMIC_ACQUIRE), before + 1);
}

typedef struct bg_get {
    const char *target;
    pc_test_reply reply;
} bg_get;

static void *get_main(void *arg)
{
    bg_get *g = arg;
    get(g->target, 10000, &g->reply);
    return NULL;
}

static void test_stop_with_fetch_in_flight(void **state)
{
    (void)state;
    bg_get g = {.target = "/slow?ms=400"};
    pthread_t t;
    pthread_create(&t, NULL, get_main, &g);
    usleep(150000); /* the fetch is in flight */
    pc_http_stop(front);
    pthread_join(t, NULL);
    assert_int_equal(g.reply.status, 200);
    assert_int_equal(body_int(&g.reply, "r0"), CURLE_OK);
    assert_string_equal(body_str(&g.reply, "b0"), "{\"from\":\"/slow\"}");
    pc_test_reply_free(&g.reply);
    assert_non_null(front = start_front()); /* for the tests after */
}

static void test_foreign_resume_is_prompt(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        pc_test_reply r;
        double ms = get("/foreign", 5000, &r);
        assert_int_equal(r.status, 200);
        pc_test_reply_free(&r);
        assert_true(ms < 50); /* the thread resumes after 5 ms */
        usleep(20000);        /* no other traffic meanwhile */
    }
}

/* The suspended count once it settles: a foreign thread's resume lowers it
 * just after queuing the resume, so the answer may come first. */
static int settled_suspended(void)
{
    for (int i = 0; i < 100 && pc_http_suspended(front) > 0; i++)
        usleep(10000);
    return pc_http_suspended(front);
}

/* A handler whose work finished while it ran (the store committed inline)
 * is answered at once, its continuation run once; a foreign thread that
 * resumes while the handler returns (before MHD suspended the connection)
 * is answered too, promptly. */
static void test_resume_inside_the_handler(void **state)
{
    (void)state;
    int before = __atomic_load_n(&continued, __ATOMIC_ACQUIRE);
    for (int i = 0; i < 50; i++) {
        pc_test_reply r;
        get("/inline", 5000, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(body_int(&r, "on_loop"), 0); /* no fetch ran */
        pc_test_reply_free(&r);
    }
    assert_int_equal(__atomic_load_n(&continued, __ATOMIC_ACQUIRE), before + 50);
    for (int i = 0; i < 200; i++) {
        pc_test_reply r;
        double ms = get("/race", 5000, &r);
        assert_int_equal(r.status, 200);
        pc_test_reply_free(&r);
        assert_true(ms < 50);
    }
    assert_int_equal(__atomic_load_n(&continued, __ATOMIC_ACQUIRE), before + 250);
    assert_int_equal(settled_suspended(), 0);
}

static void test_continuation_suspends_again(void **state)
{
    (void)state;
    int before = __atomic_load_n(&continued, __ATOMIC_ACQUIRE);
    for (int i = 0; i < 20; i++) {
        pc_test_reply r;
        get("/twice", 5000, &r);
        assert_int_equal(r.status, 200); /* answer_job's, not an empty first answer */
        assert_int_equal(body_int(&r, "n"), 0);
        pc_test_reply_free(&r);
    }
    assert_int_equal(__atomic_load_n(&continued, __ATOMIC_ACQUIRE), before + 20);
    assert_int_equal(settled_suspended(), 0);
}

static void test_stream_waits_without_busy_loop(void **state)
{
    (void)state;
    __atomic_store_n(&stream_reads, 0, __ATOMIC_RELEASE);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/stream", pc_http_port(front));
    pc_bytes got = {0};
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, pc_test_curl_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    char *text = pc_test_bytes_take_string(&got);
    assert_string_equal(text, "first,second");
    free(text);
    int reads = __atomic_load_n(&stream_reads, __ATOMIC_ACQUIRE);
    printf("stream reads over a 300 ms wait: %d\n", reads);
    assert_true(reads <= 8); /* a busy reader ran thousands of times */
    assert_int_equal(settled_suspended(), 0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_new_connections_p99(void **state)
{
    (void)state;
    enum { N = 200 };
    double ms[N];
    for (int i = 0; i < N; i++) {
        pc_test_reply r;
        ms[i] = get(i % 2 ? "/health" : "/one", 5000, &r);
        assert_int_equal(r.status, 200);
        pc_test_reply_free(&r);
    }
    qsort(ms, N, sizeof ms[0], cmp_double);
    printf("new connections: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", ms[N / 2],
           ms[N * 99 / 100 - 1], ms[N - 1]);
    assert_true(ms[N * 99 / 100 - 1] < 50);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_then_resume),
        cmocka_unit_test(test_two_concurrent_fetches),
        cmocka_unit_test(test_chained_fetch),
        cmocka_unit_test(test_upstream_down),
        cmocka_unit_test(test_upstream_slow_times_out),
        cmocka_unit_test(test_client_gone_mid_fetch),
        cmocka_unit_test(test_stop_with_fetch_in_flight),
        cmocka_unit_test(test_foreign_resume_is_prompt),
        cmocka_unit_test(test_resume_inside_the_handler),
        cmocka_unit_test(test_new_connections_p99),
        cmocka_unit_test(test_continuation_suspends_again),
        cmocka_unit_test(test_stream_waits_without_busy_loop),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return failed;
}
