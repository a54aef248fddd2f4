/* fake_server.c (client tests): see fake_server.h. */
#include "fake_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define FAKE_MAX_REPLIES 32
#define FAKE_MAX_REQUESTS 4096

typedef struct fake_canned {
    char prefix[256];
    int status;
    char *body;
    int times; /* 0 = always; else matches left; -1 = used up */
} fake_canned;

struct fake_server {
    struct MHD_Daemon *daemon;
    char url[64];
    pthread_mutex_t lock;
    fake_canned replies[FAKE_MAX_REPLIES];
    size_t n_replies;
    fake_request *requests;
    size_t n_requests;
    size_t n_connections;
};

/* The raw target (path and query as sent) becomes the request's context. */
static void *log_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)cls;
    (void)con;
    return strdup(uri);
}

static void completed(void *cls, struct MHD_Connection *con, void **ctx,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    free(*ctx);
    *ctx = NULL;
}

static void connection_event(void *cls, struct MHD_Connection *con, void **socket_ctx,
                             enum MHD_ConnectionNotificationCode toe)
{
    fake_server *f = cls;
    (void)con;
    (void)socket_ctx;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&f->lock);
        f->n_connections++;
        pthread_mutex_unlock(&f->lock);
    }
}

static void copy_header(struct MHD_Connection *con, const char *name, char *out, size_t cap)
{
    const char *v = MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
    snprintf(out, cap, "%s", v ? v : "");
}

/* Records the request and picks its reply (under f->lock). */
static void record(fake_server *f, struct MHD_Connection *con, const char *target, const char *url,
                   int *status, char **body)
{
    *status = 404;
    *body = strdup("{\"name\":\"NotFound\",\"code\":404,\"message\":\"no such endpoint\"}");
    pthread_mutex_lock(&f->lock);
    if (f->n_requests < FAKE_MAX_REQUESTS) {
        fake_request *r = &f->requests[f->n_requests++];
        snprintf(r->target, sizeof r->target, "%s", target);
        copy_header(con, "x-pay-sender", r->sender, sizeof r->sender);
        copy_header(con, "x-pay-timestamp", r->timestamp, sizeof r->timestamp);
        copy_header(con, "x-pay-signature", r->signature, sizeof r->signature);
        copy_header(con, "x-pay-mac", r->mac, sizeof r->mac);
    }
    for (size_t i = 0; i < f->n_replies; i++) {
        fake_canned *c = &f->replies[i];
        if (c->times < 0 || strncmp(url, c->prefix, strlen(c->prefix)) != 0)
            continue;
        *status = c->status;
        free(*body);
        *body = strdup(c->body);
        if (c->times > 0 && --c->times == 0)
            c->times = -1;
        break;
    }
    pthread_mutex_unlock(&f->lock);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **ctx)
{
    fake_server *f = cls;
    (void)method;
    (void)version;
    (void)upload;
    /* Queuing on the first call would close every connection (no keep-alive):
     * answer on the second one. The first is marked by the context's tag. */
    char *target = *ctx;
    if (target && target[0] != '\x01') {
        size_t n = strlen(target);
        char *tagged = malloc(n + 2);
        if (!tagged)
            return MHD_NO;
        tagged[0] = '\x01';
        memcpy(tagged + 1, target, n + 1);
        free(target);
        *ctx = tagged;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    int status;
    char *body;
    record(f, con, target ? target + 1 : url, url, &status, &body);
    if (!body)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(con, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

fake_server *fake_start(void)
{
    fake_server *f = calloc(1, sizeof *f);
    if (!f || !(f->requests = calloc(FAKE_MAX_REQUESTS, sizeof *f->requests))) {
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->lock, NULL);
    f->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handle, f, MHD_OPTION_URI_LOG_CALLBACK, log_uri, f,
        MHD_OPTION_NOTIFY_COMPLETED, completed, f, MHD_OPTION_NOTIFY_CONNECTION, connection_event,
        f, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        f->daemon ? MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info) {
        fake_stop(f);
        return NULL;
    }
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", (unsigned)info->port);
    return f;
}

const char *fake_url(const fake_server *f)
{
    return f->url;
}

void fake_reply(fake_server *f, const char *prefix, int status, const char *body, int times)
{
    pthread_mutex_lock(&f->lock);
    if (f->n_replies < FAKE_MAX_REPLIES) {
        fake_canned *c = &f->replies[f->n_replies++];
        snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
        c->status = status;
        c->body = strdup(body);
        c->times = times;
    }
    pthread_mutex_unlock(&f->lock);
}

size_t fake_request_count(fake_server *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->n_requests;
    pthread_mutex_unlock(&f->lock);
    return n;
}

size_t fake_connection_count(fake_server *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->n_connections;
    pthread_mutex_unlock(&f->lock);
    return n;
}

void fake_request_at(fake_server *f, size_t i, fake_request *out)
{
    pthread_mutex_lock(&f->lock);
    if (i < f->n_requests)
        *out = f->requests[i];
    else
        memset(out, 0, sizeof *out);
    pthread_mutex_unlock(&f->lock);
}

void fake_stop(fake_server *f)
{
    if (!f)
        return;
    if (f->daemon)
        MHD_stop_daemon(f->daemon);
    for (size_t i = 0; i < f->n_replies; i++)
        free(f->replies[i].body);
    pthread_mutex_destroy(&f->lock);
    free(f->requests);
    free(f);
}

/* ---- raw sockets -------------------------------------------------------------------------- */

/* A TCP socket bound to 127.0.0.1 on a free port, listening if backlog > 0. */
static int bound_socket(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        (backlog > 0 && listen(fd, backlog) != 0) ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int fake_closed_port(void)
{
    int port;
    int fd = bound_socket(0, &port);
    if (fd < 0)
        return -1;
    close(fd);
    return port;
}

int fake_silent_listener(int *port)
{
    return bound_socket(64, port);
}

struct fake_raw {
    int fd;
    int port;
    char *bytes;
    size_t len;
    pthread_t thread;
};

/* Reads the request head (up to its blank line; 5 s at most), answers the
 * bytes, and waits for the client to close before closing. */
static void serve_raw(const fake_raw *r, int con)
{
    struct timeval tv = {.tv_sec = 5};
    char head[8192];
    size_t n = 0;
    setsockopt(con, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (n + 1 < sizeof head) {
        ssize_t got = recv(con, head + n, sizeof head - 1 - n, 0);
        if (got <= 0)
            break;
        n += (size_t)got;
        head[n] = '\0';
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    if (send(con, r->bytes, r->len, MSG_NOSIGNAL) >= 0)
        shutdown(con, SHUT_WR);
    while (recv(con, head, sizeof head, 0) > 0) /* until the client closes */
        ;
    close(con);
}

static void *raw_loop(void *arg)
{
    fake_raw *r = arg;
    for (;;) {
        int con = accept(r->fd, NULL, NULL);
        if (con < 0)
            return NULL; /* shut down by fake_raw_stop */
        serve_raw(r, con);
    }
}

fake_raw *fake_raw_start(const char *bytes, size_t len)
{
    fake_raw *r = calloc(1, sizeof *r);
    if (!r || !(r->bytes = malloc(len ? len : 1))) {
        free(r);
        return NULL;
    }
    memcpy(r->bytes, bytes, len);
    r->len = len;
    if ((r->fd = bound_socket(16, &r->port)) < 0 ||
        pthread_create(&r->thread, NULL, raw_loop, r) != 0) {
        if (r->fd >= 0)
            close(r->fd);
        free(r->bytes);
        free(r);
        return NULL;
    }
    return r;
}

int fake_raw_port(const fake_raw *r)
{
    return r->port;
}

void fake_raw_stop(fake_raw *r)
{
    if (!r)
        return;
    shutdown(r->fd, SHUT_RDWR); /* wakes the blocked accept */
    pthread_join(r->thread, NULL);
    close(r->fd);
    free(r->bytes);
    free(r);
}
