/* loop.c: see loop.h. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "http/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/runtime/logger.h"

/* What an epoll event is about: data.u64 = kind << 32 | descriptor. */
enum { EV_MHD = 1, EV_WAKE = 2, EV_CURL = 3 };
#define EV_TAG(kind, fd) (((uint64_t)(kind) << 32) | (uint32_t)(fd))

/* A socket the acceptor handed over, until the loop adds it. */
typedef struct pending_fd {
    int fd;
    socklen_t len;
    struct sockaddr_storage peer;
} pending_fd;

/* A transfer in flight on the multi handle. */
typedef struct fetch {
    CURL *easy;
    pc_loop_fetched done;
    void *arg;
    struct fetch *next;
} fetch;

struct pc_loop {
    pthread_t thread;
    struct MHD_Daemon *d;
    int ep;   /* epoll set: MHD's epoll fd, wake, curl's sockets */
    int wake; /* eventfd: something was queued, or stop */
    pc_loop_add_failed add_failed;
    void *ctx;
    /* queued by other threads, under lock */
    pthread_mutex_t lock;
    pending_fd *fds;
    size_t n_fds, cap_fds;
    pc_loop_waiter *resumes;
    int stopping;
    /* loop thread only */
    int again;            /* a callback resumed a connection: run MHD once more */
    CURLM *multi;         /* NULL until the first fetch */
    fetch *fetches;       /* in flight */
    int64_t curl_due_ms;  /* curl's deadline (monotonic ms), -1: none */
};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void wake(pc_loop *l)
{
    uint64_t one = 1;
    if (write(l->wake, &one, sizeof one) < 0 && errno != EAGAIN) /* EAGAIN: already awake */
        PC_LOG_E("http loop: eventfd write: %s", strerror(errno));
}

/* ---- what other threads queue ------------------------------------------------------------ */

void pc_loop_add(pc_loop *l, int fd, const struct sockaddr *peer, socklen_t len)
{
    pthread_mutex_lock(&l->lock);
    if (l->n_fds == l->cap_fds) {
        size_t cap = l->cap_fds ? 2 * l->cap_fds : 64;
        pending_fd *more = realloc(l->fds, cap * sizeof *more);
        if (!more) {
            pthread_mutex_unlock(&l->lock);
            close(fd);
            l->add_failed(l->ctx, peer);
            return;
        }
        l->fds = more;
        l->cap_fds = cap;
    }
    pending_fd *p = &l->fds[l->n_fds++];
    p->fd = fd;
    p->len = len <= sizeof p->peer ? len : sizeof p->peer;
    memcpy(&p->peer, peer, p->len);
    pthread_mutex_unlock(&l->lock);
    wake(l);
}

void pc_loop_resume(pc_loop *l, pc_loop_waiter *r, struct MHD_Connection *conn)
{
    if (pc_loop_is_current(l)) {
        MHD_resume_connection(conn);
        l->again = 1; /* MHD will not report it: run it in this pass */
        return;
    }
    r->conn = conn;
    pthread_mutex_lock(&l->lock);
    r->next = l->resumes;
    l->resumes = r;
    pthread_mutex_unlock(&l->lock);
    wake(l);
}

int pc_loop_is_current(const pc_loop *l)
{
    return pthread_equal(pthread_self(), l->thread);
}

/* Adds the queued sockets and resumes the queued connections, on the loop. */
static void take_queued(pc_loop *l)
{
    uint64_t n;
    if (read(l->wake, &n, sizeof n) < 0 && errno != EAGAIN)
        PC_LOG_E("http loop: eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&l->lock);
    pending_fd *fds = l->fds;
    size_t n_fds = l->n_fds;
    pc_loop_waiter *r = l->resumes;
    l->fds = NULL;
    l->n_fds = l->cap_fds = 0;
    l->resumes = NULL;
    pthread_mutex_unlock(&l->lock);
    for (size_t i = 0; i < n_fds; i++)
        if (MHD_add_connection(l->d, fds[i].fd, (struct sockaddr *)&fds[i].peer, fds[i].len) !=
            MHD_YES)
            l->add_failed(l->ctx, (struct sockaddr *)&fds[i].peer); /* MHD closed it */
    free(fds);
    for (pc_loop_waiter *next; r; r = next) {
        next = r->next; /* r may be freed once its connection runs */
        MHD_resume_connection(r->conn);
    }
}

/* ---- curl ---------------------------------------------------------------------------------- */

/* CURLMOPT_SOCKETFUNCTION: curl's sockets live in the loop's epoll set,
 * level-triggered like MHD's. socketp is non-NULL once the socket is in. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    pc_loop *l = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(l->ep, EPOLL_CTL_DEL, s, NULL); /* may be closed already: ENOENT/EBADF */
        return 0;
    }
    struct epoll_event e = {
        .events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u),
        .data.u64 = EV_TAG(EV_CURL, s),
    };
    if (epoll_ctl(l->ep, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &e) != 0 &&
        epoll_ctl(l->ep, socketp ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &e) != 0) {
        PC_LOG_E("http loop: epoll_ctl for a curl socket: %s", strerror(errno));
        return -1; /* curl fails that transfer */
    }
    curl_multi_assign(l->multi, s, l);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl's next deadline, -1 = none. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    pc_loop *l = userp;
    l->curl_due_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

static CURLM *multi_of(pc_loop *l)
{
    if (l->multi || !(l->multi = curl_multi_init()))
        return l->multi;
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    return l->multi;
}

int pc_loop_fetch(pc_loop *l, CURL *easy, pc_loop_fetched done, void *arg)
{
    fetch *f = malloc(sizeof *f);
    if (!pc_loop_is_current(l) || !f || !multi_of(l) ||
        curl_multi_add_handle(l->multi, easy) != CURLM_OK) {
        free(f);
        return -1;
    }
    *f = (fetch){easy, done, arg, l->fetches};
    l->fetches = f;
    return 0;
}

/* Takes the record of easy out of the list (NULL if not ours). */
static fetch *unlink_fetch(pc_loop *l, CURL *easy)
{
    for (fetch **p = &l->fetches; *p; p = &(*p)->next)
        if ((*p)->easy == easy) {
            fetch *f = *p;
            *p = f->next;
            return f;
        }
    return NULL;
}

/* Runs the callbacks of finished transfers (outside curl's own callbacks,
 * so they may start new fetches). */
static void finish_fetches(pc_loop *l)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(l->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode result = m->data.result; /* m is invalid after remove_handle */
        curl_multi_remove_handle(l->multi, easy);
        fetch *f = unlink_fetch(l, easy);
        if (f)
            f->done(f->arg, easy, result);
        free(f);
    }
}

/* Drives curl for the events of this pass and its deadline if due. */
static void drive_curl(pc_loop *l, const struct epoll_event *ev, int n)
{
    int running;
    if (!l->multi)
        return;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 >> 32 != EV_CURL)
            continue;
        int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                    (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(l->multi, (curl_socket_t)(uint32_t)ev[i].data.u64, flags,
                                 &running);
    }
    if (l->curl_due_ms >= 0 && now_ms() >= l->curl_due_ms) {
        l->curl_due_ms = -1; /* curl sets the next one */
        curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    finish_fetches(l);
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* How long epoll_wait may sleep: exactly MHD's timeout, capped by curl's
 * deadline; -1 = until an event (stop and queues write the eventfd). */
static int sleep_ms(pc_loop *l)
{
    MHD_UNSIGNED_LONG_LONG mhd;
    int64_t ms = MHD_get_timeout(l->d, &mhd) == MHD_YES ? (int64_t)(mhd > INT32_MAX ? INT32_MAX
                                                                                   : mhd)
                                                        : -1;
    if (l->curl_due_ms >= 0) {
        int64_t curl = l->curl_due_ms - now_ms();
        curl = curl < 0 ? 0 : curl;
        ms = ms < 0 || curl < ms ? curl : ms;
    }
    return (int)ms;
}

/* The loop may end: stop asked, nothing queued or in flight, MHD idle now. */
static int done_stopping(pc_loop *l, int sleep)
{
    pthread_mutex_lock(&l->lock);
    int idle = l->stopping && !l->n_fds && !l->resumes;
    pthread_mutex_unlock(&l->lock);
    return idle && !l->fetches && sleep != 0;
}

static void *loop_main(void *arg)
{
    pc_loop *l = arg;
    for (;;) {
        int sleep = sleep_ms(l);
        if (done_stopping(l, sleep))
            return NULL;
        struct epoll_event ev[64];
        int n = epoll_wait(l->ep, ev, 64, sleep);
        if (n < 0 && errno != EINTR)
            PC_LOG_E("http loop: epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++)
            if (ev[i].data.u64 >> 32 == EV_WAKE)
                take_queued(l);
        drive_curl(l, ev, n < 0 ? 0 : n);
        do { /* MHD last: it reports none of the work the resumes above made */
            l->again = 0;
            MHD_run(l->d);
        } while (l->again);
    }
}

static int watch(pc_loop *l, int fd, int kind)
{
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = EV_TAG(kind, fd)};
    return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &e);
}

pc_loop *pc_loop_start(struct MHD_Daemon *d, const char *name, pc_loop_add_failed failed,
                       void *ctx)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    pc_loop *l = calloc(1, sizeof *l);
    if (!l || !info)
        return free(l), NULL;
    *l = (pc_loop){.d = d, .add_failed = failed, .ctx = ctx, .curl_due_ms = -1};
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&l->lock, NULL);
    if (l->ep < 0 || l->wake < 0 || watch(l, info->epoll_fd, EV_MHD) != 0 ||
        watch(l, l->wake, EV_WAKE) != 0 || pthread_create(&l->thread, NULL, loop_main, l) != 0) {
        close(l->ep), close(l->wake);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return NULL;
    }
    pthread_setname_np(l->thread, name);
    return l;
}

void pc_loop_stop(pc_loop *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = 1;
    pthread_mutex_unlock(&l->lock);
    wake(l);
    pthread_join(l->thread, NULL);
    if (l->multi)
        curl_multi_cleanup(l->multi);
    free(l->fds);
    close(l->ep);
    close(l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
