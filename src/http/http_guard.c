/* http_guard.c: see http_guard.h.
 *
 * Every connection libmicrohttpd holds has a record indexed by its socket
 * descriptor. A record that is not busy sits in two lists ordered by the
 * time it entered its phase: the list of its phase (the deadline thread
 * only looks at their heads) and the list of its client address (where a
 * new connection of that address finds the one to shed). Lists link
 * records by descriptor, so the table can grow by realloc. */
#define _GNU_SOURCE
#include "http/http_guard.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/runtime/logger.h"
#include "core/runtime/ticker.h"

#define BUCKETS 4096
#define FD_RESERVE 512    /* descriptors kept for the node, the store, files */
#define MHD_MARGIN 1024   /* connections libmicrohttpd may still count after their close */
#define TICK_MS 100       /* how often the deadlines are checked */
#define WARN_EVERY_MS 10000
#define ADMIT_WAIT_MS 200 /* how long a new connection waits for sheds in flight */

enum { BY_PHASE, BY_ADDR };

typedef struct link {
    int prev, next; /* descriptors, -1 = none */
} link;

typedef struct list {
    int head, tail; /* oldest first */
} list;

typedef struct addr_entry {
    unsigned char key[16]; /* IPv6, or IPv4 mapped */
    int count;             /* admitted connections, pending and being shed included */
    int shedding;          /* shut down, close not reported yet */
    list idle;             /* its connections that may be shed */
    struct addr_entry *next;
} addr_entry;

typedef struct conn {
    addr_entry *addr;      /* NULL: no connection on this descriptor */
    int64_t since_ms;      /* when it entered its phase */
    unsigned char phase, shed;
    link links[2];         /* BY_PHASE, BY_ADDR */
} conn;

struct pc_http_guard {
    pthread_mutex_t lock;
    pthread_cond_t room;  /* a shed connection was closed */
    pc_ticker *reaper;    /* the deadlines */
    int max_total, max_per_client, slack;
    int64_t timeout_ms[PC_HTTP_BUSY]; /* per phase but busy */
    conn *conns;
    int n_conns;
    list phases[PC_HTTP_BUSY];
    addr_entry *buckets[BUCKETS];
    int total, shedding;     /* connections admitted; of them, being shed */
    unsigned long shed_recent; /* shed since the last warning */
    int64_t warned_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- lists of records ---------------------------------------------------------------- */

static link *link_of(pc_http_guard *g, int fd, int which)
{
    return &g->conns[fd].links[which];
}

static void list_push(pc_http_guard *g, list *l, int fd, int which)
{
    link *k = link_of(g, fd, which);
    k->prev = l->tail;
    k->next = -1;
    if (l->tail >= 0)
        link_of(g, l->tail, which)->next = fd;
    else
        l->head = fd;
    l->tail = fd;
}

static void list_remove(pc_http_guard *g, list *l, int fd, int which)
{
    link *k = link_of(g, fd, which);
    if (k->prev >= 0)
        link_of(g, k->prev, which)->next = k->next;
    else
        l->head = k->next;
    if (k->next >= 0)
        link_of(g, k->next, which)->prev = k->prev;
    else
        l->tail = k->prev;
}

/* Puts a record into (on = 1) or takes it out of (0) the lists of records
 * that may be shed: those that are neither busy nor shed already. */
static void tracking(pc_http_guard *g, int fd, int on)
{
    conn *c = &g->conns[fd];
    void (*op)(pc_http_guard *, list *, int, int) = on ? list_push : list_remove;
    if (c->phase == PC_HTTP_BUSY || c->shed)
        return;
    op(g, &g->phases[c->phase], fd, BY_PHASE);
    op(g, &c->addr->idle, fd, BY_ADDR);
}

/* ---- client addresses ---------------------------------------------------------------- */

static void key_of(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (sa && sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    } else if (sa && sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    }
}

static addr_entry **bucket_of(pc_http_guard *g, const unsigned char key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return &g->buckets[h % BUCKETS];
}

/* The entry of peer's address, created (count 0) if absent; NULL when out of memory. */
static addr_entry *addr_get(pc_http_guard *g, const struct sockaddr *peer)
{
    unsigned char key[16];
    key_of(peer, key);
    addr_entry **b = bucket_of(g, key);
    for (addr_entry *a = *b; a; a = a->next)
        if (memcmp(a->key, key, 16) == 0)
            return a;
    addr_entry *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    memcpy(a->key, key, 16);
    a->idle.head = a->idle.tail = -1;
    a->next = *b;
    *b = a;
    return a;
}

/* Frees a's entry once no connection of that address is counted. */
static void addr_release(pc_http_guard *g, addr_entry *a)
{
    if (a->count > 0)
        return;
    addr_entry **p = bucket_of(g, a->key);
    while (*p != a)
        p = &(*p)->next;
    *p = a->next;
    free(a);
}

static void uncount(pc_http_guard *g, addr_entry *a)
{
    a->count--;
    g->total--;
    addr_release(g, a);
}

/* ---- shedding ------------------------------------------------------------------------ */

static void warn_shed(pc_http_guard *g, const char *why)
{
    int64_t now = now_ms();
    if (now - g->warned_ms < WARN_EVERY_MS)
        return;
    PC_LOG_W("HTTP: %s; %lu connections shed in the last %d s, %d open", why, g->shed_recent,
             WARN_EVERY_MS / 1000, g->total);
    g->warned_ms = now;
    g->shed_recent = 0;
}

/* Closes the connection on fd: libmicrohttpd sees the shutdown, closes it
 * and reports the close (pc_http_guard_closed) before its close(fd), and
 * we hold the lock, so fd is still this connection's. */
static void shed(pc_http_guard *g, int fd)
{
    conn *c = &g->conns[fd];
    tracking(g, fd, 0);
    c->shed = 1;
    c->addr->shedding++;
    g->shedding++;
    g->shed_recent++;
    shutdown(fd, SHUT_RDWR);
}

/* The connection that has waited longest in a phase that may be shed, or -1. */
static int oldest(pc_http_guard *g)
{
    int best = -1;
    for (int p = 0; p < PC_HTTP_BUSY; p++) {
        int fd = g->phases[p].head;
        if (fd >= 0 && (best < 0 || g->conns[fd].since_ms < g->conns[best].since_ms))
            best = fd;
    }
    return best;
}

/* 1 if a connection fits under limit with in_use counted, shedding victim
 * (-1: none may be shed) if needed; 0 if it does not fit. */
static int make_room(pc_http_guard *g, int in_use, int limit, int victim)
{
    if (in_use < limit)
        return 1;
    if (victim < 0)
        return 0;
    shed(g, victim);
    return 1;
}

/* Sheds every connection past its phase's deadline (oldest first in each list). */
static void enforce_deadlines(void *ctx)
{
    pc_http_guard *g = ctx;
    pthread_mutex_lock(&g->lock);
    int64_t now = now_ms();
    for (int p = 0; p < PC_HTTP_BUSY; p++) {
        int fd;
        while ((fd = g->phases[p].head) >= 0 && now - g->conns[fd].since_ms >= g->timeout_ms[p])
            shed(g, fd);
    }
    if (g->shed_recent)
        warn_shed(g, "connections idle or slow past their deadline, or over a limit");
    pthread_mutex_unlock(&g->lock);
}

/* Waits (g->lock held) at most ms for a shed connection to be closed. */
static void wait_for_room(pc_http_guard *g, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&g->room, &g->lock, &until);
}


/* ---- the descriptor table -------------------------------------------------------------- */

/* Makes g->conns hold fd; 0, or -1 when out of memory. */
static int reserve(pc_http_guard *g, int fd)
{
    if (fd < g->n_conns)
        return 0;
    int n = g->n_conns ? g->n_conns : 1024;
    while (n <= fd)
        n *= 2;
    conn *grown = realloc(g->conns, (size_t)n * sizeof(*grown));
    if (!grown)
        return -1;
    memset(grown + g->n_conns, 0, (size_t)(n - g->n_conns) * sizeof(*grown));
    g->conns = grown;
    g->n_conns = n;
    return 0;
}

/* Drops the record on fd (its close, or a stale record whose close was never reported). */
static void forget(pc_http_guard *g, int fd)
{
    conn *c = &g->conns[fd];
    if (!c->addr)
        return;
    tracking(g, fd, 0);
    if (c->shed) {
        c->addr->shedding--;
        g->shedding--;
        pthread_cond_signal(&g->room);
    }
    uncount(g, c->addr);
    c->addr = NULL;
}

/* The descriptor limit, raised to the hard limit first (connections are
 * descriptors: a flood should meet our limits, not EMFILE). */
static int descriptor_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t soft = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = soft;
    }
    return rl.rlim_cur > (1u << 20) ? (1 << 20) : (int)rl.rlim_cur;
}

/* Fills the limits: explicit ones as given, the total from the
 * descriptors left after FD_RESERVE (a fifth of them kept as slack for
 * connections being shed). */
static void set_limits(pc_http_guard *g, const pc_http_limits *l)
{
    int fds = descriptor_limit() - FD_RESERVE;
    if (l && l->max_connections > 0) {
        g->max_total = l->max_connections;
        g->slack = l->max_connections / 4 + 16;
    } else {
        g->max_total = fds * 4 / 5 > 16 ? fds * 4 / 5 : 16;
        g->slack = fds / 5 > 16 ? fds / 5 : 16;
    }
    g->max_per_client = l && l->max_per_client > 0 ? l->max_per_client : g->max_total;
    g->timeout_ms[PC_HTTP_IDLE] = 1000 * (l && l->idle_timeout_s > 0 ? l->idle_timeout_s : 60);
    g->timeout_ms[PC_HTTP_HEADER] = 1000 * (l && l->header_timeout_s > 0 ? l->header_timeout_s : 10);
    g->timeout_ms[PC_HTTP_BODY] = 1000 * (l && l->body_timeout_s > 0 ? l->body_timeout_s : 30);
}

/* ---- public ------------------------------------------------------------------------------ */

pc_http_guard *pc_http_guard_create(const pc_http_limits *l)
{
    pc_http_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    set_limits(g, l);
    for (int p = 0; p < PC_HTTP_BUSY; p++)
        g->phases[p].head = g->phases[p].tail = -1;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->room, NULL);
    if (reserve(g, g->max_total + g->slack + FD_RESERVE) != 0 ||
        !(g->reaper = pc_ticker_start(enforce_deadlines, g, TICK_MS, NULL))) {
        pc_http_guard_destroy(g);
        return NULL;
    }
    PC_LOG_I("HTTP limits: %d connections, %d per client address; idle %llds, header %llds, "
             "body %llds", g->max_total, g->max_per_client,
             (long long)g->timeout_ms[PC_HTTP_IDLE] / 1000,
             (long long)g->timeout_ms[PC_HTTP_HEADER] / 1000,
             (long long)g->timeout_ms[PC_HTTP_BODY] / 1000);
    return g;
}

void pc_http_guard_destroy(pc_http_guard *g)
{
    if (!g)
        return;
    pc_ticker_stop(g->reaper);
    for (int i = 0; i < BUCKETS; i++)
        while (g->buckets[i]) {
            addr_entry *a = g->buckets[i];
            g->buckets[i] = a->next;
            free(a);
        }
    free(g->conns);
    pthread_cond_destroy(&g->room);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

unsigned pc_http_guard_mhd_limit(const pc_http_guard *g)
{
    return (unsigned)(g->max_total + g->slack + MHD_MARGIN);
}

int pc_http_guard_admit(pc_http_guard *g, const struct sockaddr *peer)
{
    pthread_mutex_lock(&g->lock);
    /* Too many sheds in flight (a burst of connects): hold the acceptor
     * back a little, new connections wait in the kernel's backlog meanwhile,
     * rather than refusing one. */
    for (int64_t until = now_ms() + ADMIT_WAIT_MS;
         g->total >= g->max_total + g->slack && now_ms() < until;)
        wait_for_room(g, 10);
    addr_entry *a = addr_get(g, peer);
    int ok = a && make_room(g, a->count - a->shedding, g->max_per_client, a->idle.head) &&
             make_room(g, g->total - g->shedding, g->max_total, oldest(g)) &&
             g->total < g->max_total + g->slack; /* sheds in flight are bounded too */
    if (ok) {
        a->count++;
        g->total++;
    } else {
        if (a)
            addr_release(g, a);
        g->shed_recent++;
        warn_shed(g, "connection refused: every connection is busy or being shed");
    }
    pthread_mutex_unlock(&g->lock);
    return ok;
}

void pc_http_guard_cancel(pc_http_guard *g, const struct sockaddr *peer)
{
    pthread_mutex_lock(&g->lock);
    addr_entry *a = addr_get(g, peer);
    if (a && a->count > 0)
        uncount(g, a);
    pthread_mutex_unlock(&g->lock);
}

void pc_http_guard_opened(pc_http_guard *g, int fd, const struct sockaddr *peer)
{
    pthread_mutex_lock(&g->lock);
    addr_entry *a = addr_get(g, peer);
    if (fd >= 0 && a && a->count > 0 && reserve(g, fd) == 0) {
        forget(g, fd); /* a record libmicrohttpd closed without telling us */
        conn *c = &g->conns[fd];
        memset(c, 0, sizeof(*c));
        c->addr = a;
        c->phase = PC_HTTP_IDLE;
        c->since_ms = now_ms();
        tracking(g, fd, 1);
    }
    pthread_mutex_unlock(&g->lock);
}

void pc_http_guard_closed(pc_http_guard *g, int fd)
{
    pthread_mutex_lock(&g->lock);
    if (fd >= 0 && fd < g->n_conns)
        forget(g, fd);
    pthread_mutex_unlock(&g->lock);
}

void pc_http_guard_phase(pc_http_guard *g, int fd, pc_http_phase p)
{
    pthread_mutex_lock(&g->lock);
    conn *c = fd >= 0 && fd < g->n_conns ? &g->conns[fd] : NULL;
    if (c && c->addr && !c->shed) {
        tracking(g, fd, 0);
        c->phase = (unsigned char)p;
        c->since_ms = now_ms();
        tracking(g, fd, 1);
    }
    pthread_mutex_unlock(&g->lock);
}
