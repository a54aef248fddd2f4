/* flood.c: see flood.h. One thread polls every connection: it completes
 * connects, notices the server's closes, reopens within the budget, and
 * writes the slowloris lines when due. */
#define _GNU_SOURCE
#include "support/flood.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 50

typedef enum { CLOSED, CONNECTING, OPEN } slot_state;

typedef struct slot {
    int fd;
    slot_state state;
    int64_t next_line_ms; /* slowloris: when the next header line is due */
} slot;

struct pc_test_flood {
    pc_test_flood_options o;
    int n_sources;
    slot *slots;
    struct pollfd *pfds;
    pthread_t thread;
    pc_test_flood_stats stats; /* atomic: read by the test's thread */
    int stopping, next_source;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(pc_test_flood *f, long *counter, int open_delta)
{
    if (counter)
        __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&f->stats.open, open_delta, __ATOMIC_RELAXED);
}

/* Starts a non-blocking connect from the next source address. */
static void open_slot(pc_test_flood *f, slot *s)
{
    const char *src = f->o.sources ? f->o.sources[f->next_source++ % f->n_sources] : "127.0.0.1";
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
    int one = 1;
    inet_pton(AF_INET, src, &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons((uint16_t)f->o.port);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        count(f, &f->stats.failed, 0);
        return;
    }
    /* the port is chosen at connect, per destination: thousands fit */
    setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(s->fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        (connect(s->fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)) {
        close(s->fd);
        s->fd = -1;
        count(f, &f->stats.failed, 0);
        return;
    }
    s->state = CONNECTING;
}

static void close_slot(pc_test_flood *f, slot *s, long *counter)
{
    count(f, counter, s->state == OPEN ? -1 : 0);
    close(s->fd);
    s->fd = -1;
    s->state = CLOSED;
}

static void send_text(slot *s, const char *text)
{
    ssize_t ignored = send(s->fd, text, strlen(text), MSG_NOSIGNAL);
    (void)ignored; /* a failed send shows as a close at the next poll */
}

/* A connect finished: count it, and a slowloris starts its request. */
static void connected(pc_test_flood *f, slot *s)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        close_slot(f, s, &f->stats.failed);
        return;
    }
    s->state = OPEN;
    count(f, &f->stats.opened, 1);
    if (f->o.slowloris_ms) {
        send_text(s, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        s->next_line_ms = now_ms() + f->o.slowloris_ms;
    }
}

/* Something to read on an open connection: an answer (drained) or the close. */
static void readable(pc_test_flood *f, slot *s)
{
    char buf[4096];
    ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        close_slot(f, s, &f->stats.closed_by_server);
}

/* One round: events of every connection, due slowloris lines, reopens. */
static void round_trip(pc_test_flood *f, int *reopen_budget)
{
    int n = f->o.connections;
    for (int i = 0; i < n; i++) {
        f->pfds[i].fd = f->slots[i].fd;
        f->pfds[i].events = f->slots[i].state == CONNECTING ? POLLOUT : POLLIN;
        f->pfds[i].revents = 0;
    }
    poll(f->pfds, (nfds_t)n, TICK_MS);
    int64_t now = now_ms();
    for (int i = 0; i < n; i++) {
        slot *s = &f->slots[i];
        if (s->state == CONNECTING && f->pfds[i].revents)
            connected(f, s);
        else if (s->state == OPEN && f->pfds[i].revents)
            readable(f, s);
        if (s->state == OPEN && f->o.slowloris_ms && now >= s->next_line_ms) {
            send_text(s, "X-Slow: 1\r\n");
            s->next_line_ms = now + f->o.slowloris_ms;
        }
        if (s->state == CLOSED && *reopen_budget > 0) {
            (*reopen_budget)--;
            open_slot(f, s);
        }
    }
}

static void *flood_main(void *arg)
{
    pc_test_flood *f = arg;
    int64_t refill = now_ms();
    int budget = 0;
    while (!__atomic_load_n(&f->stopping, __ATOMIC_ACQUIRE)) {
        int64_t now = now_ms();
        if (now - refill >= 1000) { /* reopen_per_s per second, not saved up */
            budget = f->o.reopen_per_s;
            refill = now;
        }
        round_trip(f, &budget);
    }
    return NULL;
}

pc_test_flood *pc_test_flood_start(const pc_test_flood_options *o)
{
    pc_test_flood *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->o = *o;
    for (f->n_sources = 0; o->sources && o->sources[f->n_sources]; f->n_sources++)
        ;
    f->slots = calloc((size_t)o->connections, sizeof *f->slots);
    f->pfds = calloc((size_t)o->connections, sizeof *f->pfds);
    if (!f->slots || !f->pfds) {
        pc_test_flood_stop(f);
        return NULL;
    }
    for (int i = 0; i < o->connections; i++) {
        f->slots[i].fd = -1;
        open_slot(f, &f->slots[i]);
    }
    int none = 0;
    int64_t deadline = now_ms() + 30000;
    for (int pending = 1; pending && now_ms() < deadline;) { /* first connects only */
        round_trip(f, &none);
        pending = 0;
        for (int i = 0; i < o->connections; i++)
            pending |= f->slots[i].state == CONNECTING;
    }
    if (pthread_create(&f->thread, NULL, flood_main, f) != 0) {
        fprintf(stderr, "flood: no thread\n");
        pc_test_flood_stop(f);
        return NULL;
    }
    return f;
}

pc_test_flood_stats pc_test_flood_stats_now(pc_test_flood *f)
{
    pc_test_flood_stats s = {
        .open = __atomic_load_n(&f->stats.open, __ATOMIC_RELAXED),
        .opened = __atomic_load_n(&f->stats.opened, __ATOMIC_RELAXED),
        .closed_by_server = __atomic_load_n(&f->stats.closed_by_server, __ATOMIC_RELAXED),
        .failed = __atomic_load_n(&f->stats.failed, __ATOMIC_RELAXED),
    };
    return s;
}

void pc_test_flood_stop(pc_test_flood *f)
{
    if (!f)
        return;
    if (f->thread) {
        __atomic_store_n(&f->stopping, 1, __ATOMIC_RELEASE);
        pthread_join(f->thread, NULL);
    }
    for (int i = 0; f->slots && i < f->o.connections; i++)
        if (f->slots[i].state != CLOSED)
            close(f->slots[i].fd);
    free(f->slots);
    free(f->pfds);
    free(f);
}
