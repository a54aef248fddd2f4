/* upstream.c: see upstream.h. */
#include "proxy/upstream.h"
#include "core/runtime/curl_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PAUSE_AT (256 * 1024) /* bytes buffered before the transfer waits for the client */
#define MAX_HEADERS 128
#define WHOLE_MAX (16 * 1024) /* a body this small is awaited and sent with the header */
#define MAX_IDLE 256          /* easy handles kept between calls */

/* Easy handles are kept between calls (with their buffers; no
 * curl_easy_reset: it freed and reallocated them, ~10 us a call): the
 * connections themselves stay in each loop's curl multi handle. */
struct pc_upstream {
    long connect_ms, header_ms, idle_s;
    pc_curl_pool idle;
};

/* A call lives while its transfer runs (the loop's reference) and while
 * its owner holds it (the handler, then the streamed answer): refs. */
struct pc_upstream_call {
    pc_upstream *u;
    CURL *easy;
    pc_http_request *req;  /* whose loop runs the transfer; NULL once the answer is gone */
    pc_upstream_ready ready;
    void *ready_arg;
    int refs;
    char *buf;             /* body bytes received and not yet taken */
    size_t len, off, cap;
    int paused;            /* the write callback paused the transfer */
    int headers_done, whole, ready_fired, done, waiting, abandoned, timed_out;
    long header_due;       /* monotonic ms: the header must be in by then */
    CURLcode result;
    char *headers[2 * MAX_HEADERS + 1]; /* the final answer's, name/value pairs */
    size_t n_headers;
    char *connection;      /* its Connection header */
    struct curl_slist *request_headers;
};

pc_upstream *pc_upstream_create(long connect_ms, long header_ms, long idle_s)
{
    pc_upstream *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    if (pc_curl_pool_init(&u->idle, MAX_IDLE) != 0) {
        free(u);
        return NULL;
    }
    u->connect_ms = connect_ms;
    u->header_ms = header_ms;
    u->idle_s = idle_s;
    return u;
}

void pc_upstream_destroy(pc_upstream *u)
{
    if (!u)
        return;
    pc_curl_pool_free(&u->idle);
    free(u);
}

/* ---- hop-by-hop headers ----------------------------------------------------------------- */

/* 1 when `list` (a comma-separated header value) names `name`. */
static int list_names(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == n && strncasecmp(p, name, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

int pc_proxy_header_is_hop_by_hop(const char *name, const char *connection)
{
    static const char *const fixed[] = {"connection", "keep-alive", "proxy-connection",
                                        "proxy-authenticate", "proxy-authorization", "te",
                                        "trailer", "transfer-encoding", "upgrade",
                                        "content-length"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcasecmp(name, fixed[i]) == 0)
            return 1;
    return list_names(connection, name);
}

/* ---- one call ----------------------------------------------------------------------------- */

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* The owner learns that the answer can be handed over (once). */
static void fire_ready(pc_upstream_call *c)
{
    if (c->ready_fired)
        return;
    c->ready_fired = 1;
    c->ready(c->ready_arg, c);
}

/* The streamed answer waits for bytes that came: its reader runs again. */
static void wake(pc_upstream_call *c)
{
    if (c->waiting && c->req) {
        c->waiting = 0;
        pc_http_stream_wake(c->req);
    }
}

static void drop_headers(pc_upstream_call *c)
{
    for (size_t i = 0; i < 2 * c->n_headers; i++)
        free(c->headers[i]);
    c->n_headers = 0;
    free(c->connection);
    c->connection = NULL;
}

/* One header line of the answer (also of a 1xx answer before it, which
 * the status line resets). */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    pc_upstream_call *c = arg;
    size_t len = size * n;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        drop_headers(c);
        return len;
    }
    if (len <= 2) { /* the empty line: final unless the status was 1xx */
        long status = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        c->headers_done = status >= 200;
        curl_off_t length = -1;
        curl_easy_getinfo(c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        /* a small body often follows its header in a second write (Python's
         * http.server): worth the wait, the client waits for it anyway; a
         * 402's terms are read whole */
        c->whole = length >= 0 && length <= WHOLE_MAX;
        if (c->headers_done && !c->whole && status != 402)
            fire_ready(c); /* streamed: the owner answers now */
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon || c->n_headers >= MAX_HEADERS)
        return len; /* a folded line, or too many: not forwarded */
    const char *v = colon + 1, *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char *name = strndup(data, (size_t)(colon - data)), *value = strndup(v, (size_t)(end - v));
    if (name && value && strcasecmp(name, "connection") == 0 && !c->connection)
        c->connection = strdup(value);
    c->headers[2 * c->n_headers] = name;
    c->headers[2 * c->n_headers + 1] = value;
    c->n_headers++;
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    pc_upstream_call *c = arg;
    size_t len = size * n;
    if (c->abandoned)
        return 0; /* the client is gone: fails the transfer */
    if (c->len - c->off >= PAUSE_AT) {
        c->paused = 1;
        fire_ready(c); /* too long to wait for: streamed */
        return CURL_WRITEFUNC_PAUSE; /* delivered again once resumed */
    }
    if (c->off && c->off == c->len)
        c->off = c->len = 0;
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap : 16384;
        while (cap < c->len + len)
            cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b)
            return 0; /* fails the transfer */
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    wake(c);
    return len;
}

/* Cuts a transfer whose answer is gone, and one with no header in time. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    pc_upstream_call *c = arg;
    if (!c->headers_done && now_ms() >= c->header_due)
        c->timed_out = 1;
    return c->abandoned || c->timed_out;
}

static void set_request(pc_upstream_call *c, const char *method, const char *url,
                        const struct curl_slist *headers, const uint8_t *body, size_t len)
{
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* straight to the configured URL whatever http_proxy says: a sidecar
     * often shares the environment of the service it serves, whose
     * http_proxy names the sidecar itself */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->u->connect_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->u->idle_s);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HTTP_TRANSFER_DECODING, 1L); /* chunks in, chunks out */
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
    /* each branch sets the method over what the handle's last call left */
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    } else if (len || strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 0L); /* a HEAD's */
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    }
}

/* An idle easy handle or a new one. */
static CURL *take_handle(pc_upstream *u)
{
    CURL *e = pc_curl_pool_take(&u->idle);
    return e ? e : curl_easy_init();
}

static void destroy(pc_upstream_call *c)
{
    pc_curl_pool_give(&c->u->idle, c->easy);
    drop_headers(c);
    curl_slist_free_all(c->request_headers);
    free(c->buf);
    free(c);
}

/* Drops one reference: the transfer's, or the owner's (then a transfer
 * still running is cut: unpaused, its next write fails it). */
static void release(pc_upstream_call *c, int owner)
{
    if (owner) {
        c->req = NULL;
        c->abandoned = !c->done;
        if (c->abandoned && c->paused) {
            c->paused = 0;
            curl_easy_pause(c->easy, CURLPAUSE_CONT);
        }
    }
    if (--c->refs == 0)
        destroy(c);
}

static void on_done(void *arg, CURL *easy, CURLcode result)
{
    (void)easy;
    pc_upstream_call *c = arg;
    c->done = 1;
    c->result = result;
    if (c->req)
        fire_ready(c);
    wake(c);
    release(c, 0);
}

pc_upstream_call *pc_upstream_start(pc_upstream *u, pc_http_request *req, const char *method,
                                    const char *url, struct curl_slist *headers,
                                    const uint8_t *body, size_t len, pc_upstream_ready ready,
                                    void *arg)
{
    pc_upstream_call *c = calloc(1, sizeof *c);
    if (!c || !(c->easy = take_handle(u))) {
        curl_slist_free_all(headers);
        free(c);
        return NULL;
    }
    *c = (pc_upstream_call){.u = u, .easy = c->easy, .req = req, .ready = ready,
                            .ready_arg = arg, .refs = 2, .request_headers = headers,
                            .header_due = now_ms() + u->header_ms};
    set_request(c, method, url, headers, body, len);
    if (pc_http_fetch(req, c->easy, on_done, c) != 0) {
        destroy(c);
        return NULL;
    }
    return c;
}

unsigned pc_upstream_failed(const pc_upstream_call *c, char *why, size_t why_len)
{
    if (c->headers_done)
        return 0;
    if (c->timed_out) {
        snprintf(why, why_len, "the upstream did not answer within %ld ms", c->u->header_ms);
        return 504;
    }
    snprintf(why, why_len, "the upstream is unreachable or broke the connection (%s)",
             curl_easy_strerror(c->result));
    return 502;
}

unsigned pc_upstream_status(const pc_upstream_call *c)
{
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    return (unsigned)status;
}

/* Moves up to max buffered body bytes into out; resumes a paused transfer
 * once the buffer is empty. */
static size_t take(pc_upstream_call *c, char *out, size_t max)
{
    size_t n = c->len - c->off < max ? c->len - c->off : max;
    memcpy(out, c->buf + c->off, n);
    c->off += n;
    if (c->off == c->len && c->paused) {
        c->paused = 0;
        curl_easy_pause(c->easy, CURLPAUSE_CONT); /* on the loop: may write at once */
    }
    return n;
}

int pc_upstream_read_all(pc_upstream_call *c, size_t max, char **out, size_t *len)
{
    size_t n = c->len - c->off;
    char *text = c->done && c->result == CURLE_OK && n <= max ? malloc(n + 1) : NULL;
    if (!text)
        return -1;
    memcpy(text, c->buf + c->off, n);
    text[n] = '\0';
    *out = text;
    *len = n;
    return 0;
}

static long stream_read(void *arg, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    pc_upstream_call *c = arg;
    if (c->len > c->off)
        return (long)take(c, buf, max);
    if (c->done)
        return c->result == CURLE_OK ? PC_HTTP_STREAM_END : PC_HTTP_STREAM_ERROR;
    c->waiting = 1; /* on_body or on_done wakes it */
    pc_http_stream_wait(c->req);
    return 0;
}

static void stream_free(void *arg)
{
    release(arg, 1);
}

/* The answer's end-to-end headers as a pc_http_answer header list. */
static char **end_to_end_headers(pc_upstream_call *c)
{
    char **out = calloc(2 * c->n_headers + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; out && i < c->n_headers; i++) {
        char *name = c->headers[2 * i], *value = c->headers[2 * i + 1];
        if (!name || !value || pc_proxy_header_is_hop_by_hop(name, c->connection))
            continue;
        out[k++] = name;
        out[k++] = value;
        c->headers[2 * i] = c->headers[2 * i + 1] = NULL; /* moved */
    }
    return out;
}

/* Moves a body that is in whole (the transfer is over) into *a as a
 * buffer, so that the server sends it with the header in one write:
 * streamed, it went as two, and the client often woke up twice. 1 when
 * done; 0 leaves the call as it was. */
static int whole_body(pc_upstream_call *c, pc_http_answer *a)
{
    if (!c->done || c->result != CURLE_OK || c->paused)
        return 0;
    size_t n = c->len - c->off;
    char *body = c->buf ? c->buf : malloc(1);
    if (!body)
        return 0;
    memmove(body, body + c->off, n);
    c->buf = NULL;
    c->len = c->off = c->cap = 0;
    a->body_raw = body; /* content_type NULL: the upstream's is among the headers */
    a->body_raw_len = n;
    return 1;
}

void pc_upstream_answer(pc_upstream_call *c, const char *method, pc_http_answer *a)
{
    unsigned status = pc_upstream_status(c);
    curl_off_t length = -1;
    curl_easy_getinfo(c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    int bodiless = strcmp(method, "HEAD") == 0 || status == 204 || status == 304;
    a->status = status;
    a->content_type = NULL; /* the upstream's own Content-Type is among the headers */
    a->headers = end_to_end_headers(c);
    if (!bodiless && whole_body(c, a)) {
        pc_upstream_free(c);
        return;
    }
    a->stream = (pc_http_stream){
        .read = stream_read, .free = stream_free, .arg = c,
        .size = bodiless ? 0 : length >= 0 ? (uint64_t)length : PC_HTTP_SIZE_UNKNOWN};
}

void pc_upstream_free(pc_upstream_call *c)
{
    if (c)
        release(c, 1);
}
