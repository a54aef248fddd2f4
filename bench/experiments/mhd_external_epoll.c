/* mhd_external_epoll: libmicrohttpd daemons run from our own epoll loops.
 *
 * Experiment for docs/benchmarks.md, "the stall explained" (issue 11 point 2).
 * Not part of the product and not in the CMake build; build it with
 *
 *   cc -O2 -Wall -Wextra -o mhd_external_epoll bench/experiments/mhd_external_epoll.c \
 *      -lmicrohttpd -lcurl -lpthread
 *
 * Layout: one acceptor thread on a listen socket, N loop threads each with its
 * own MHD daemon in external epoll mode (MHD_USE_EPOLL, MHD_USE_NO_LISTEN_SOCKET,
 * MHD's epoll fd in the loop's own epoll set, the loop's timer at most 1 s), a
 * trivial handler, and a libcurl client doing sequential GETs on new
 * connections and on one kept-alive connection; prints p50/p99/max in ms.
 *
 * Flags choose the variants tested:
 *   --loops N        loop threads (default 2)
 *   --n N            requests per pattern (default 200)
 *   --add acceptor   MHD_add_connection on the acceptor thread (the failing setup)
 *   --add loop       the acceptor hands the fd over an eventfd-signalled queue and
 *                    the loop thread calls MHD_add_connection (default)
 *   --itc            MHD_USE_ITC
 *   --turbo          MHD_USE_TURBO
 *   --timer mhd|fixed  loop sleep: min(MHD_get_timeout, 1 s) (default) or always 1 s
 *   --suspend        the handler suspends on its final call and the loop resumes it
 *                    after MHD_run returns (what a curl multi completion would do);
 *                    the answer is queued on the resumed call
 *   --no-pass-again  with --suspend: do not run MHD again after resuming in the pass
 *   --delay-us N     the acceptor waits N µs before handing a socket over, so the
 *                    request is surely in the socket before MHD registers it
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOOPS 16
#define QUEUE 256
#define MAX_SLEEP_MS 1000

static struct {
    int loops, n, add_on_loop, itc, turbo, fixed_timer, suspend, pass_again, delay_us;
} opt = {2, 200, 1, 0, 0, 0, 0, 1, 0};

struct loop {
    pthread_t thread;
    struct MHD_Daemon *d;
    int ep;      /* the loop's own epoll set: MHD's epoll fd + the hand-over eventfd */
    int wake;    /* eventfd: new fds in the queue */
    pthread_mutex_t lock;
    int fds[QUEUE], nfds;
    struct MHD_Connection *suspended[QUEUE]; /* loop thread only */
    int nsusp;
};

static struct loop loops[MAX_LOOPS];
static volatile int stopping;

struct req {
    int calls;
    int resumed;
};

static enum MHD_Result answer(struct MHD_Connection *c)
{
    static const char body[] = "{\"ok\":true}";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                                             MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* First call: headers only (answering now would force Connection: close).
 * Final call: answer, or suspend and let the loop resume (--suspend). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *size, void **con_cls)
{
    (void)url, (void)method, (void)version, (void)data;
    struct loop *l = cls;
    struct req *q = *con_cls;
    if (!q) {
        *con_cls = calloc(1, sizeof *q);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    q->calls++;
    if (*size) {
        *size = 0;
        return MHD_YES;
    }
    if (!opt.suspend || q->resumed)
        return answer(c);
    MHD_suspend_connection(c);
    l->suspended[l->nsusp++] = c;
    q->resumed = 1;
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void add_pending(struct loop *l)
{
    uint64_t v;
    if (read(l->wake, &v, sizeof v) < 0 && errno != EAGAIN)
        perror("read eventfd");
    pthread_mutex_lock(&l->lock);
    int fds[QUEUE], n = l->nfds;
    memcpy(fds, l->fds, sizeof(int) * (size_t)n);
    l->nfds = 0;
    pthread_mutex_unlock(&l->lock);
    for (int i = 0; i < n; i++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        getpeername(fds[i], (struct sockaddr *)&peer, &len);
        if (MHD_add_connection(l->d, fds[i], (struct sockaddr *)&peer, len) != MHD_YES)
            fprintf(stderr, "MHD_add_connection failed\n");
    }
}

static int sleep_ms(struct loop *l)
{
    MHD_UNSIGNED_LONG_LONG t;
    if (opt.fixed_timer || MHD_get_timeout(l->d, &t) != MHD_YES || t > MAX_SLEEP_MS)
        return MAX_SLEEP_MS;
    return (int)t;
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    while (!stopping) {
        struct epoll_event ev[8];
        int n = epoll_wait(l->ep, ev, 8, sleep_ms(l));
        for (int i = 0; i < n; i++)
            if (ev[i].data.fd == l->wake)
                add_pending(l); /* on this thread, before the MHD_run below */
        MHD_run(l->d);
        if (l->nsusp) { /* a finished outgoing call would resume here */
            for (int i = 0; i < l->nsusp; i++)
                MHD_resume_connection(l->suspended[i]);
            l->nsusp = 0;
            if (opt.pass_again)
                MHD_run(l->d);
        }
    }
    return NULL;
}

static int start_loop(struct loop *l)
{
    unsigned flags = MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG |
                     (opt.suspend ? MHD_ALLOW_SUSPEND_RESUME : 0) |
                     (opt.itc ? MHD_USE_ITC : 0) | (opt.turbo ? MHD_USE_TURBO : 0);
    l->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
                            MHD_OPTION_END);
    if (!l->d)
        return -1;
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&l->lock, NULL);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = i->epoll_fd};
    epoll_ctl(l->ep, EPOLL_CTL_ADD, i->epoll_fd, &e);
    e.data.fd = l->wake;
    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &e);
    return pthread_create(&l->thread, NULL, loop_main, l);
}

static void hand_over(struct loop *l, int fd)
{
    if (opt.delay_us)
        usleep((useconds_t)opt.delay_us);
    if (!opt.add_on_loop) { /* the failing setup: add from this thread */
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        getpeername(fd, (struct sockaddr *)&peer, &len);
        if (MHD_add_connection(l->d, fd, (struct sockaddr *)&peer, len) != MHD_YES)
            fprintf(stderr, "MHD_add_connection failed\n");
        return;
    }
    pthread_mutex_lock(&l->lock);
    if (l->nfds < QUEUE)
        l->fds[l->nfds++] = fd;
    else
        close(fd);
    pthread_mutex_unlock(&l->lock);
    uint64_t one = 1;
    if (write(l->wake, &one, sizeof one) < 0)
        perror("write eventfd");
}

static void *acceptor_main(void *arg)
{
    int lfd = *(int *)arg;
    for (unsigned next = 0;; next++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue;
        hand_over(&loops[next % (unsigned)opt.loops], fd);
    }
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 128) ||
        getsockname(fd, (struct sockaddr *)&sa, &len))
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p, (void)u;
    return s * n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n sequential GETs; fresh: a new connection each (CURLOPT_FORBID_REUSE). */
static void pattern(const char *name, const char *url, int fresh)
{
    CURL *c = curl_easy_init();
    double *ms = calloc((size_t)opt.n, sizeof *ms);
    int slow = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, (long)fresh);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    for (int i = 0; i < opt.n; i++) {
        double t0 = now_ms();
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        ms[i] = now_ms() - t0;
        if (rc != CURLE_OK || status != 200)
            fprintf(stderr, "request %d: %s, status %ld\n", i, curl_easy_strerror(rc), status);
        slow += ms[i] > 100;
    }
    qsort(ms, (size_t)opt.n, sizeof *ms, cmp);
    printf("%-11s n=%d p50 %.3f ms  p99 %.3f ms  max %.3f ms  over 100 ms: %d\n", name, opt.n,
           ms[opt.n / 2], ms[(opt.n * 99) / 100 - 1], ms[opt.n - 1], slow);
    free(ms);
    curl_easy_cleanup(c);
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--loops") && ++i)
            opt.loops = atoi(v) < 1 ? 1 : atoi(v) > MAX_LOOPS ? MAX_LOOPS : atoi(v);
        else if (!strcmp(a, "--n") && ++i)
            opt.n = atoi(v) < 2 ? 2 : atoi(v);
        else if (!strcmp(a, "--add") && ++i)
            opt.add_on_loop = strcmp(v, "acceptor") != 0;
        else if (!strcmp(a, "--delay-us") && ++i)
            opt.delay_us = atoi(v) < 0 ? 0 : atoi(v);
        else if (!strcmp(a, "--timer") && ++i)
            opt.fixed_timer = !strcmp(v, "fixed");
        else if (!strcmp(a, "--itc"))
            opt.itc = 1;
        else if (!strcmp(a, "--turbo"))
            opt.turbo = 1;
        else if (!strcmp(a, "--suspend"))
            opt.suspend = 1;
        else if (!strcmp(a, "--no-pass-again"))
            opt.pass_again = 0;
        else {
            fprintf(stderr, "unknown flag %s (see the comment at the top)\n", a);
            exit(2);
        }
    }
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    int port, lfd = listen_any(&port);
    if (lfd < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    for (int i = 0; i < opt.loops; i++)
        if (start_loop(&loops[i]) != 0)
            return 1;
    pthread_t acc;
    pthread_create(&acc, NULL, acceptor_main, &lfd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/health", port);
    pattern("new-conn", url, 1);
    pattern("keep-alive", url, 0);
    stopping = 1; /* each loop sees it within its 1 s timer */
    for (int i = 0; i < opt.loops; i++) {
        pthread_join(loops[i].thread, NULL);
        MHD_stop_daemon(loops[i].d);
    }
    return 0; /* the acceptor dies with the process */
}
