/* bench_http: an ab-style HTTP load generator (issue 4's network benchmark).
 * Not a test: bench/run-network-bench.sh runs it against the example
 * network's /action with and without payment.
 *
 *   bench_http -n N -c C [-s SECONDS] [--trace] URL
 *
 * Sends N GET requests to URL with at most C in flight, like `ab -k -n N -c C`:
 * C keep-alive connections, each sending its next request as soon as the
 * previous answer is complete, all driven by ONE thread through libcurl's
 * multi interface. A request's latency is the time from handing it to libcurl
 * until its answer is complete, seen from this loop (so it includes the
 * client's own overhead, as ab's does; the first request on a connection
 * includes the TCP connect, as in ab). Throughput is N divided by the time
 * from the first request to the last answer.
 *
 * Every answer that is not HTTP 200 (or a transfer error or timeout) is a
 * failure; the first few are printed to stderr. Percentiles are over all N
 * requests. With --trace, each 200 answer is parsed as the example network's
 * /action answer and the "trace" steps ({"step", "ms"}) are summarised.
 *
 * Output: a human summary, then one machine-readable line
 *   RESULT n= c= ok= failed= seconds= rps= p50_ms= p90_ms= p99_ms= max_ms= mean_ms=
 *          connects= client_cpu_us_per_req=
 * and with --trace one line per step
 *   TRACE step= answers= mean_ms= p50_ms= p90_ms=
 * Exit status: 0 when every request answered 200, 1 when any failed, 2 on bad usage. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_CONCURRENCY 1000
#define BODY_CAP 65536 /* an answer's bytes kept (for --trace and error samples) */
#define MAX_STEPS 16
#define ERROR_SAMPLES 3

typedef struct options {
    const char *url;
    long n, c;
    long timeout_s;
    int trace;
} options;

/* One in-flight request: an easy handle reused for every request it sends. */
typedef struct slot {
    CURL *easy;
    double started_ms;
    char body[BODY_CAP];
    size_t body_len;
    int truncated;
} slot;

/* One step name of the /action trace and its time in every answer. */
typedef struct step {
    char name[48];
    double *ms;
    size_t n;
} step;

typedef struct run {
    const options *o;
    double *latency_ms; /* one per finished request, in finishing order */
    long finished, failed, started;
    long connects; /* new connections opened (ideally C: all others reused) */
    step steps[MAX_STEPS];
    int n_steps;
    int error_samples;
} run;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_http: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of memory");
    return p;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* CPU seconds (user + system) this process has used so far. */
static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1] of the SORTED values v[0..n). */
static double percentile(const double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)ceil(q * (double)n);
    return v[rank ? rank - 1 : 0];
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    slot *s = user;
    size_t len = size * nmemb, room = BODY_CAP - 1 - s->body_len;
    if (len > room)
        s->truncated = 1;
    size_t keep = len < room ? len : room;
    memcpy(s->body + s->body_len, data, keep);
    s->body_len += keep;
    s->body[s->body_len] = '\0';
    return len; /* the rest is read and dropped, not an error */
}

static void slot_init(slot *s, const options *o)
{
    s->easy = curl_easy_init();
    if (!s->easy)
        die("curl_easy_init failed");
    curl_easy_setopt(s->easy, CURLOPT_URL, o->url);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
}

static void slot_start(run *r, CURLM *m, slot *s)
{
    s->body_len = 0;
    s->body[0] = '\0';
    s->truncated = 0;
    s->started_ms = now_ms();
    r->started++;
    CURLMcode rc = curl_multi_add_handle(m, s->easy);
    if (rc != CURLM_OK)
        die("curl_multi_add_handle: %s", curl_multi_strerror(rc));
}

static step *step_named(run *r, const char *name)
{
    for (int i = 0; i < r->n_steps; i++)
        if (strcmp(r->steps[i].name, name) == 0)
            return &r->steps[i];
    if (r->n_steps == MAX_STEPS)
        return NULL;
    step *st = &r->steps[r->n_steps++];
    snprintf(st->name, sizeof st->name, "%s", name);
    st->ms = xcalloc((size_t)r->o->n, sizeof(double));
    return st;
}

/* Adds the "trace" steps of one /action answer to the run's step times. */
static void collect_trace(run *r, const slot *s)
{
    if (s->truncated)
        return;
    json_t *root = json_loadb(s->body, s->body_len, 0, NULL);
    json_t *trace = json_object_get(root, "trace"), *item;
    size_t i;
    json_array_foreach(trace, i, item) {
        const char *name = json_string_value(json_object_get(item, "step"));
        json_t *ms = json_object_get(item, "ms");
        step *st = name && json_is_number(ms) ? step_named(r, name) : NULL;
        if (st && st->n < (size_t)r->o->n)
            st->ms[st->n++] = json_number_value(ms);
    }
    json_decref(root);
}

/* Records a finished request; a failure is anything but a complete HTTP 200. */
static void finish(run *r, slot *s, CURLcode result)
{
    long status = 0, connects = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects);
    r->connects += connects;
    r->latency_ms[r->finished++] = now_ms() - s->started_ms;
    if (result == CURLE_OK && status == 200) {
        if (r->o->trace)
            collect_trace(r, s);
        return;
    }
    r->failed++;
    if (r->error_samples++ < ERROR_SAMPLES)
        fprintf(stderr, "bench_http: failure: %s, HTTP %ld: %.300s\n",
                result == CURLE_OK ? "answered" : curl_easy_strerror(result), status, s->body);
}

/* Reads the finished transfers; restarts their handles while requests remain. */
static void reap(run *r, CURLM *m)
{
    CURLMsg *msg;
    int queued;
    while ((msg = curl_multi_info_read(m, &queued))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        slot *s;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
        curl_multi_remove_handle(m, easy);
        finish(r, s, result);
        if (r->started < r->o->n)
            slot_start(r, m, s); /* the multi handle hands it a kept-alive connection */
    }
}

/* The load loop; returns the seconds from the first request to the last answer. */
static double drive(run *r, CURLM *m, slot *slots)
{
    double t0 = now_ms();
    for (long i = 0; i < r->o->c && r->started < r->o->n; i++)
        slot_start(r, m, &slots[i]);
    while (r->finished < r->o->n) {
        int running;
        CURLMcode rc = curl_multi_perform(m, &running);
        if (rc != CURLM_OK)
            die("curl_multi_perform: %s", curl_multi_strerror(rc));
        reap(r, m);
        if (r->finished < r->o->n && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
            die("curl_multi_poll failed");
    }
    return (now_ms() - t0) / 1e3;
}

static void report(run *r, double seconds, double client_cpu_s, long connects)
{
    const options *o = r->o;
    size_t n = (size_t)r->finished;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += r->latency_ms[i];
    qsort(r->latency_ms, n, sizeof(double), cmp_double);
    double rps = seconds > 0 ? (double)n / seconds : 0;
    double p50 = percentile(r->latency_ms, n, 0.50), p90 = percentile(r->latency_ms, n, 0.90),
           p99 = percentile(r->latency_ms, n, 0.99), max = n ? r->latency_ms[n - 1] : 0;
    printf("%s: %ld requests at concurrency %ld (keep-alive, %ld connections opened)\n",
           o->url, o->n, o->c, connects);
    printf("  %ld answered 200, %ld failed, in %.3f s: %.1f requests/s\n", r->finished - r->failed,
           r->failed, seconds, rps);
    printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n", p50, p90, p99, max,
           n ? sum / (double)n : 0.0);
    printf("RESULT n=%ld c=%ld ok=%ld failed=%ld seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f mean_ms=%.3f connects=%ld client_cpu_us_per_req=%.1f\n",
           o->n, o->c, r->finished - r->failed, r->failed, seconds, rps, p50, p90, p99, max,
           n ? sum / (double)n : 0.0, connects, n ? client_cpu_s * 1e6 / (double)n : 0.0);
    for (int i = 0; i < r->n_steps; i++) {
        step *st = &r->steps[i];
        double ssum = 0;
        for (size_t k = 0; k < st->n; k++)
            ssum += st->ms[k];
        qsort(st->ms, st->n, sizeof(double), cmp_double);
        printf("TRACE step=%s answers=%zu mean_ms=%.3f p50_ms=%.3f p90_ms=%.3f\n", st->name, st->n,
               st->n ? ssum / (double)st->n : 0.0, percentile(st->ms, st->n, 0.50),
               percentile(st->ms, st->n, 0.90));
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bench_http -n N -c C [-s SECONDS] [--trace] URL\n"
            "\n"
            "ab-style load: N GET requests to URL, at most C in flight over C keep-alive\n"
            "connections, driven by one thread (libcurl multi). Prints req/s and latency\n"
            "p50/p90/p99 (ms, over all N requests) and a RESULT line; non-200 answers,\n"
            "transfer errors and timeouts are failures.\n"
            "\n"
            "  -n N          requests in all (default 100)\n"
            "  -c C          concurrency, 1..%d (default 1)\n"
            "  -s SECONDS    timeout per request (default 30)\n"
            "  -k            accepted for ab compatibility (keep-alive is always on)\n"
            "  --trace       summarise the \"trace\" steps of each answer (example network /action)\n"
            "\n"
            "Exit status: 0 when every request answered 200, 1 when any failed, 2 on bad usage.\n",
            MAX_CONCURRENCY);
}

static long parse_long(const char *text, const char *what, long min, long max)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min || v > max)
        die("%s must be an integer in %ld..%ld, not '%s'", what, min, max, text);
    return v;
}

static void parse_options(int argc, char **argv, options *o)
{
    static const struct option longs[] = {{"trace", no_argument, NULL, 't'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    *o = (options){.n = 100, .c = 1, .timeout_s = 30};
    int ch;
    while ((ch = getopt_long(argc, argv, "n:c:s:kh", longs, NULL)) != -1) {
        switch (ch) {
        case 'n': o->n = parse_long(optarg, "-n", 1, 100000000); break;
        case 'c': o->c = parse_long(optarg, "-c", 1, MAX_CONCURRENCY); break;
        case 's': o->timeout_s = parse_long(optarg, "-s", 1, 3600); break;
        case 'k': break;
        case 't': o->trace = 1; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        exit(2);
    }
    o->url = argv[optind];
}

int main(int argc, char **argv)
{
    options o;
    parse_options(argc, argv, &o);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init failed");
    CURLM *m = curl_multi_init();
    if (!m)
        die("curl_multi_init failed");
    /* exactly C connections, all kept for reuse (ab -k -c C) */
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, o.c);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, o.c);
    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    long n_slots = o.c < o.n ? o.c : o.n;
    slot *slots = xcalloc((size_t)n_slots, sizeof(slot));
    for (long i = 0; i < n_slots; i++)
        slot_init(&slots[i], &o);
    run r = {.o = &o, .latency_ms = xcalloc((size_t)o.n, sizeof(double))};

    double cpu0 = cpu_seconds();
    double seconds = drive(&r, m, slots);
    double cpu = cpu_seconds() - cpu0;

    report(&r, seconds, cpu, r.connects);
    for (long i = 0; i < n_slots; i++)
        curl_easy_cleanup(slots[i].easy);
    for (int i = 0; i < r.n_steps; i++)
        free(r.steps[i].ms);
    free(slots);
    free(r.latency_ms);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return r.failed ? 1 : 0;
}
