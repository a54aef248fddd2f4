/* http.c: see http.h. */
#define _GNU_SOURCE /* accept4 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "core/encoding/bytes.h"
#include "core/runtime/logger.h"
#include "http/loop.h"
#include "http/params.h"

#include "http/http_internal.h"

static int conn_fd(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(conn,
                                                                MHD_CONNECTION_INFO_CONNECTION_FD);
    return i ? i->connect_fd : -1;
}

/* The guard follows each connection from start to close; pool mode also
 * counts each loop's open connections, for the acceptor. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)socket_context;
    loop_ref *ref = cls;
    pc_http *h = ref->h;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *peer =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        pc_http_guard_opened(h->guard, conn_fd(conn), peer ? peer->client_addr : NULL);
        return;
    }
    pc_http_guard_closed(h->guard, conn_fd(conn));
    if (h->pool)
        __atomic_sub_fetch(&h->open[ref->index], 1, __ATOMIC_RELAXED);
}

/* Threads mode: libmicrohttpd asks before it takes a connection. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addrlen;
    pc_http *h = cls;
    return pc_http_guard_admit(h->guard, addr) ? MHD_YES : MHD_NO;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- per-request state --------------------------------------------------------------- */

static void free_headers(char **headers)
{
    for (size_t i = 0; headers && headers[i]; i++)
        free(headers[i]);
    free(headers);
}

/* Frees what an answer holds (one never sent, or the rest of one sent). */
static void answer_free(pc_http_answer *a)
{
    json_decref(a->body);
    free(a->body_raw);
    free_headers(a->headers);
    if (a->stream.read && a->stream.free)
        a->stream.free(a->stream.arg);
    memset(a, 0, sizeof *a);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    const loop_ref *ref = cls;
    pc_http_request *req = calloc(1, sizeof(*req));
    pc_http_guard_phase(ref->h->guard, conn_fd(conn), PC_HTTP_HEADER);
    if (req) {
        req->http = ref->h;
        req->loop = ref->index;
        req->conn = conn;
        req->target = strdup(uri ? uri : "");
        req->params = json_object();
        req->started_ns = now_ns();
    }
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    pc_http_guard_phase(((pc_http *)cls)->guard, conn_fd(conn), PC_HTTP_IDLE);
    pc_http_request *req = *con_cls;
    if (!req)
        return;
    if (req->then) { /* resumed, but the client left first: let it clean up */
        pc_http_answer dropped = {0};
        req->on_loop = req->abandoned = 1;
        req->then(req->then_arg, req, &dropped);
        answer_free(&dropped);
    }
    answer_free(&req->answer); /* an answer not sent (client gone) */
    json_decref(req->params);
    pc_bytes_free(&req->body);
    free(req->target);
    free(req);
    *con_cls = NULL;
}

/* ---- answering -------------------------------------------------------------------------- */

/* libmicrohttpd's side of a pc_http_stream. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    pc_http_stream *st = cls;
    long n = st->read(st->arg, pos, buf, max);
    if (n == PC_HTTP_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : (ssize_t)n;
}

static void stream_free(void *cls)
{
    pc_http_stream *st = cls;
    if (st->free)
        st->free(st->arg);
    free(st);
}

/* The response of a streamed answer; the stream is handed over either way. */
static struct MHD_Response *stream_response(pc_http_answer *a)
{
    pc_http_stream *st = malloc(sizeof *st);
    struct MHD_Response *resp = NULL;
    if (st) {
        *st = a->stream;
        resp = MHD_create_response_from_callback(
            a->stream.size == PC_HTTP_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : a->stream.size,
            32 * 1024, stream_read, st, stream_free);
    }
    if (!resp && st)
        stream_free(st);
    else if (!st && a->stream.free)
        a->stream.free(a->stream.arg);
    a->stream.read = NULL;
    return resp;
}

/* Queues *a as the response; the answer's body is consumed either way. */
static enum MHD_Result queue_answer(struct MHD_Connection *conn, pc_http_answer *a)
{
    struct MHD_Response *resp;
    int streamed = a->stream.read != NULL, raw = a->content_type || a->body_raw;
    if (streamed) {
        resp = stream_response(a);
    } else if (raw) {
        resp = MHD_create_response_from_buffer(a->body_raw_len, a->body_raw,
                                               MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(a->body_raw);
        a->body_raw = NULL;
    } else {
        char *text = a->body ? json_dumps(a->body, JSON_COMPACT) : strdup("{}");
        resp = text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
                    : NULL;
    }
    json_decref(a->body);
    a->body = NULL;
    if (!resp) {
        answer_free(a);
        return MHD_NO;
    }
    if (a->content_type || (!streamed && !raw))
        MHD_add_response_header(resp, "Content-Type",
                                a->content_type ? a->content_type : "application/json");
    for (size_t i = 0; a->headers && a->headers[i] && a->headers[i + 1]; i += 2)
        MHD_add_response_header(resp, a->headers[i], a->headers[i + 1]);
    free_headers(a->headers);
    a->headers = NULL;
    enum MHD_Result r = MHD_queue_response(conn, a->status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Tells the observer (before the body is consumed), then queues req's answer. */
static enum MHD_Result send_answer(pc_http_request *req)
{
    pc_http *h = req->http;
    if (h->observe)
        h->observe(h->observe_ctx, req, &req->answer, (now_ns() - req->started_ns) / 1000u);
    return queue_answer(req->conn, &req->answer);
}

static void error_answer(pc_http_answer *a, unsigned status, int code, const char *message)
{
    a->status = status;
    a->code = code;
    a->body = json_pack("{sssiss}", "name", pc_error_code_name(code), "code", code, "message",
                        message);
}

/* ---- requests refused as soon as their header is in ------------------------------------ */

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* Fills *a with the API's error for a request refused before its body, and
 * returns -1; 0 when it may go on. libmicrohttpd would wait for the end of
 * a body it cannot delimit (any Transfer-Encoding but chunked: until the
 * client closes), or answer its own HTML page once its buffer is full. */
static int refuse_early(pc_http_request *req, pc_http_answer *a)
{
    struct MHD_Connection *conn = req->conn;
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    size_t header = 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header_size, &header);
    if (te && strcasecmp(te, "chunked") != 0)
        error_answer(a, 501, PC_ERR_INVALID_ARGUMENT,
                     "unsupported Transfer-Encoding: only chunked is accepted");
    else if (strlen(req->target) > MAX_TARGET)
        error_answer(a, 414, PC_ERR_INVALID_ARGUMENT, "request target longer than 8 KiB");
    else if (header > MAX_HEADER)
        error_answer(a, 431, PC_ERR_INVALID_ARGUMENT, "request header longer than 16 KiB");
    else if (length && strtoull(length, NULL, 10) > req->http->max_body)
        error_answer(a, 413, PC_ERR_INVALID_ARGUMENT, "request body too large");
    else
        return 0;
    return -1;
}

/* Pool mode: hands a complete request to the workers, its connection
 * suspended until one has answered. 0 when queued; -1 when stopping (the
 * caller answers it on this thread: no connection may stay suspended
 * once the workers are gone). */
static int enqueue(pc_http *h, pc_http_request *req)
{
    pthread_mutex_lock(&h->qlock);
    if (h->stopping) {
        pthread_mutex_unlock(&h->qlock);
        return -1;
    }
    pc_http_suspend(req);
    req->next = NULL;
    if (h->tail)
        h->tail->next = req;
    else
        h->head = req;
    h->tail = req;
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->qlock);
    return 0;
}

static void *worker_main(void *arg)
{
    pc_http *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->qlock);
        while (!h->head && !h->stopping)
            pthread_cond_wait(&h->work, &h->qlock);
        pc_http_request *req = h->head;
        if (req && !(h->head = req->next))
            h->tail = NULL;
        pthread_mutex_unlock(&h->qlock);
        if (!req)
            return NULL; /* stopping, and the queue is empty */
        h->handler(h->ctx, req, &req->answer);
        pc_http_resume(req, NULL, NULL); /* the loop sends the answer */
    }
}

/* Decodes the query and body into req->params; -1 after filling the
 * error answer (malformed parameters are refused, never dropped). */
static int parse_params(pc_http_request *req)
{
    pc_error err;
    if (req->params_parsed++ || req->http->raw) /* once: a second pass would see every
                                                    name twice; raw: a proxy passes bodies */
        return 0;
    unsigned status = pc_params_parse(
        req->params, req->target, strcmp(req->method, "POST") == 0,
        pc_http_header(req, "Content-Type"), (const char *)req->body.data, req->body.len,
        req->http->structured_params, &err);
    if (status)
        error_answer(&req->answer, status, err.code, err.message);
    return status ? -1 : 0;
}

/* Takes one piece of the body (MHD calls with upload data until it is all in). */
static void take_body(pc_http_request *req, const char *data, size_t len)
{
    req->body_len += len;
    if (req->body_len > req->http->max_body)
        req->body_too_large = 1;
    else if (pc_bytes_append(&req->body, data, len) != 0)
        req->body_too_large = 1;
}

static enum MHD_Result suspended_by_handler(pc_http_request *req);

/* Runs the continuation pc_http_resume left (if any) and sends the
 * answer, unless the continuation suspended the request again. */
static enum MHD_Result answer_resumed(pc_http_request *req)
{
    pc_http_continue then = req->then;
    req->resumed = 0;
    req->then = NULL;
    if (then) {
        req->on_loop = req->in_handler = 1;
        then(req->then_arg, req, &req->answer);
        req->on_loop = req->in_handler = 0;
        if (req->suspend_deferred) /* it waits for something more */
            return suspended_by_handler(req);
    }
    return send_answer(req);
}

/* The handler (or a continuation) suspended the request on its loop (see
 * pc_http_suspend). */
static enum MHD_Result suspended_by_handler(pc_http_request *req)
{
    int deferred = req->suspend_deferred, inline_resume = req->resumed_in_handler;
    req->suspend_deferred = req->resumed_in_handler = 0;
    if (deferred && inline_resume)
        return answer_resumed(req);
    if (deferred)
        MHD_suspend_connection(req->conn);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    pc_http *h = cls;
    pc_http_request *req = *con_cls;
    if (!req)
        return MHD_NO;
    if (!req->started) {
        /* Answering on the first call would make MHD close the connection
         * (no keep-alive): wait for the body, even an empty one. */
        req->started = 1;
        req->method = method;
        req->path = url;
        pc_http_guard_phase(h->guard, conn_fd(conn), PC_HTTP_BODY);
        if (refuse_early(req, &req->answer) != 0)
            return send_answer(req);
        return MHD_YES;
    }
    if (*upload_data_size) {
        take_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->resumed) /* a worker answered, or a continuation answers now */
        return answer_resumed(req);
    pc_http_guard_phase(h->guard, conn_fd(conn), PC_HTTP_BUSY); /* complete: never shed now */
    if (req->body_too_large) {
        error_answer(&req->answer, 413, PC_ERR_INVALID_ARGUMENT, "request body too large");
        return send_answer(req);
    }
    if (parse_params(req) != 0)
        return send_answer(req);
    if (h->pool && !h->loops_block &&
        !__atomic_load_n(&h->stopping, __ATOMIC_ACQUIRE)) { /* set under qlock */
        req->on_loop = req->in_handler = 1;
        pc_http_step step = h->handler(h->ctx, req, &req->answer);
        req->on_loop = req->in_handler = 0;
        if (step == PC_HTTP_ANSWERED)
            return send_answer(req);
        if (step == PC_HTTP_SUSPENDED)
            return suspended_by_handler(req);
        if (enqueue(h, req) == 0)
            return MHD_YES;
    }
    h->handler(h->ctx, req, &req->answer); /* may block here: it answers */
    return send_answer(req);
}

/* ---- daemon ------------------------------------------------------------------------------ */

/* Threads mode: MHD listens on sa itself. Pool mode (sa NULL): the loops
 * listen on nothing; the acceptor hands them their connections. */
static struct MHD_Daemon *start_daemon(pc_http *h, unsigned flags, const struct sockaddr_in *sa,
                                       int index)
{
    h->refs[index] = (loop_ref){h, index};
    struct MHD_OptionItem where[] = {
        {sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, 0, (void *)sa},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(
        flags | MHD_USE_ERROR_LOG, sa ? ntohs(sa->sin_port) : 0,
        sa ? on_accept : NULL, h, /* pool mode: the acceptor admits */
        on_request, h,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &h->refs[index],
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, &h->refs[index],
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, /* inactivity, e.g. a client not reading */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MHD_BUFFER,
        MHD_OPTION_CONNECTION_LIMIT, pc_http_guard_mhd_limit(h->guard), /* never reached */
        MHD_OPTION_ARRAY, where,
        MHD_OPTION_END);
}

static int bound_port(struct MHD_Daemon *d, int fallback)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return info && info->port ? info->port : fallback;
}

/* Pool mode: the listening socket, or -1 (port taken). */
static int listen_on(const struct sockaddr_in *sa, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(bound.sin_port);
    return fd;
}

/* The loop with the fewest open connections. */
static int least_loaded(pc_http *h)
{
    int best = 0;
    for (int i = 1; i < h->n_daemons; i++)
        if (__atomic_load_n(&h->open[i], __ATOMIC_RELAXED) <
            __atomic_load_n(&h->open[best], __ATOMIC_RELAXED))
            best = i;
    return best;
}

/* Pool mode: accepts connections and gives each to the least loaded loop.
 * (Loops sharing the port through SO_REUSEPORT were loaded unevenly: the
 * kernel hashes connections onto them, and 32 connections often split
 * 20 / 12, so one core's requests waited while the other's idled.) */
static void *acceptor_main(void *arg)
{
    pc_http *h = arg;
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int fd = accept4(h->listen_fd, (struct sockaddr *)&peer, &len,
                         SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (__atomic_load_n(&h->closing, __ATOMIC_ACQUIRE))
                return NULL;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                PC_LOG_W("accept: %s; retrying in 50 ms", strerror(errno));
                usleep(50000);
            }
            continue; /* EINTR, ECONNABORTED, ... */
        }
        if (!pc_http_guard_admit(h->guard, (struct sockaddr *)&peer)) {
            close(fd);
            continue;
        }
        int loop = least_loaded(h);
        __atomic_add_fetch(&h->open[loop], 1, __ATOMIC_RELAXED); /* on_connection: -1 */
        pc_loop_add(h->loops[loop], fd, (struct sockaddr *)&peer, len); /* adds on its thread */
    }
}

/* A loop could not take a connection the acceptor gave it (MHD closed it). */
static void add_failed(void *ctx, const struct sockaddr *peer)
{
    loop_ref *ref = ctx;
    __atomic_sub_fetch(&ref->h->open[ref->index], 1, __ATOMIC_RELAXED);
    pc_http_guard_cancel(ref->h->guard, peer);
}

/* Pool mode: the workers, one epoll loop per core, and the acceptor. */
static int start_pool(pc_http *h, const pc_http_options *o, struct sockaddr_in *sa)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int loops = o->loops > 0 ? o->loops : (cores > 0 ? (int)cores : 1);
    if (loops > MAX_LOOPS)
        loops = MAX_LOOPS;
    int workers = o->loops_block ? 0 : o->workers > 0 ? o->workers : WORKERS_PER_LOOP * loops;
    h->pool = 1;
    h->loops_block = o->loops_block;
    if ((h->listen_fd = listen_on(sa, &h->port)) < 0)
        return -1;
    if (workers && !(h->workers = calloc((size_t)workers, sizeof(*h->workers))))
        return -1;
    for (; h->n_workers < workers; h->n_workers++) {
        if (pthread_create(&h->workers[h->n_workers], NULL, worker_main, h) != 0)
            return -1;
        pthread_setname_np(h->workers[h->n_workers], "http-worker"); /* for top -H */
    }
    /* our loops drive the daemons (loop.h): no MHD thread, no ITC (0.9.75 drops
     * it without one), no TURBO (its adds skip the epoll set) */
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) /* for pc_http_fetch; counted */
        return -1;
    h->curl_inited = 1;
    for (; h->n_daemons < loops; h->n_daemons++) {
        int i = h->n_daemons;
        if (!(h->daemons[i] = start_daemon(h, flags, NULL, i)))
            return -1;
        if (!(h->loops[i] = pc_loop_start(h->daemons[i], "http-loop", add_failed, &h->refs[i]))) {
            MHD_stop_daemon(h->daemons[i]);
            return -1;
        }
    }
    if (pthread_create(&h->acceptor, NULL, acceptor_main, h) != 0)
        return -1;
    pthread_setname_np(h->acceptor, "http-accept");
    h->acceptor_started = 1;
    PC_LOG_I("HTTP pool mode: %d event loops%s, %d workers", loops,
             h->loops_block ? " (handlers may block on them)" : "", workers);
    return 0;
}

/* Threads mode: MHD listens and runs a thread per connection (poll, not
 * select: select refuses descriptors past 1024). */
static int start_threads(pc_http *h, const struct sockaddr_in *sa)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL;
    if (!(h->daemons[0] = start_daemon(h, flags, sa, 0)))
        return -1;
    h->n_daemons = 1;
    h->port = bound_port(h->daemons[0], ntohs(sa->sin_port));
    return 0;
}

pc_http *pc_http_start(const char *address, int port, const pc_http_options *opts,
                       pc_http_handler handler, void *ctx, pc_error *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "not an IPv4 listen address: %s", address);
        return NULL;
    }
    pc_http *h = calloc(1, sizeof(*h));
    if (!h) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    h->handler = handler;
    h->ctx = ctx;
    h->raw = opts && opts->raw;
    h->max_body = opts && opts->max_body ? opts->max_body : MAX_BODY;
    if (opts) {
        h->observe = opts->observe;
        h->observe_ctx = opts->observe_ctx;
        h->structured_params = opts->structured_params;
    }
    pthread_mutex_init(&h->qlock, NULL);
    pthread_cond_init(&h->work, NULL);
    h->listen_fd = -1;
    int ok = (h->guard = pc_http_guard_create(opts ? &opts->limits : NULL)) != NULL;
    if (ok && opts && opts->mode == PC_HTTP_POOL)
        ok = start_pool(h, opts, &sa) == 0;
    else if (ok)
        ok = start_threads(h, &sa) == 0;
    if (!ok) {
        pc_error_set(err, PC_ERR_INTERNAL, "cannot listen on %s:%d (port in use?)", address, port);
        pc_http_stop(h);
        return NULL;
    }
    return h;
}

void pc_http_stop(pc_http *h)
{
    if (!h)
        return;
    if (h->acceptor_started) { /* no new connections: wake accept() and wait */
        __atomic_store_n(&h->closing, 1, __ATOMIC_RELEASE);
        shutdown(h->listen_fd, SHUT_RDWR);
        pthread_join(h->acceptor, NULL);
    }
    if (h->listen_fd >= 0)
        close(h->listen_fd);
    /* Pool: from now on requests are answered on their loop; the workers
     * finish the queue (resuming every suspended connection) and exit, so
     * no connection is suspended when the daemons stop, as MHD requires. */
    pthread_mutex_lock(&h->qlock);
    __atomic_store_n(&h->stopping, 1, __ATOMIC_RELEASE); /* also read without qlock */
    pthread_cond_broadcast(&h->work);
    pthread_mutex_unlock(&h->qlock);
    for (int i = 0; i < h->n_workers; i++)
        pthread_join(h->workers[i], NULL);
    /* handlers that suspended on a loop are resumed by whoever finishes
     * their work (the store's writer, still running): wait for them */
    while (__atomic_load_n(&h->suspended, __ATOMIC_ACQUIRE) > 0)
        usleep(1000);
    for (int i = 0; i < h->n_daemons; i++) {
        pc_loop_stop(h->loops[i]); /* after its queued resumes and fetches in flight */
        MHD_stop_daemon(h->daemons[i]);
    }
    if (h->curl_inited)
        curl_global_cleanup();
    pc_http_guard_destroy(h->guard); /* after the daemons: they report closes to it */
    free(h->workers);
    pthread_cond_destroy(&h->work);
    pthread_mutex_destroy(&h->qlock);
    free(h);
}

int pc_http_port(const pc_http *h)
{
    return h->port;
}

int pc_http_loop_connections(const pc_http_request *req, int *open, int max)
{
    const pc_http *h = req->http;
    if (!h->pool)
        return 0;
    for (int i = 0; i < h->n_daemons && i < max; i++)
        open[i] = __atomic_load_n(&h->open[i], __ATOMIC_RELAXED);
    return h->n_daemons;
}

int pc_http_open_connections(const pc_http *h)
{
    int n = 0;
    for (int i = 0; i < h->n_daemons; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(h->daemons[i], MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        n += info ? (int)info->num_connections : 0;
    }
    return n;
}

int pc_http_suspended(const pc_http *h)
{
    return __atomic_load_n(&h->suspended, __ATOMIC_RELAXED);
}
