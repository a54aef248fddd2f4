/* upstream.c: see upstream.h. */
#include "proxy/upstream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PAUSE_AT (256 * 1024) /* bytes buffered before the transfer waits for the client */
#define MAX_HEADERS 128
#define WHOLE_MAX (16 * 1024) /* a body this small is awaited and sent with the header */
#define MAX_IDLE_CONNECTIONS 64 /* kept-alive connections of one idle handle pair */
#define MAX_IDLE_PAIRS 256       /* handle pairs kept between calls */

/* A call's curl handles, kept between calls with the connections they
 * hold open: creating a multi handle costs a socketpair and a few
 * allocations, a third of a pass-through's time. Each multi handle keeps
 * its own connections: a connection cache shared by every call (CURLSH)
 * made its lock the proxy's one contended mutex (curl searches the cache,
 * polling candidates, with it held), a futex wait per request or so at 20
 * clients. */
typedef struct handles {
    CURL *easy;
    CURLM *multi;
} handles;

struct pc_upstream {
    long connect_ms, header_ms, idle_s;
    pthread_mutex_t lock; /* the idle pairs */
    handles idle[MAX_IDLE_PAIRS];
    size_t n_idle;        /* the last one freed is taken first: its connections are warm */
};

struct pc_upstream_call {
    pc_upstream *u;
    CURL *easy;
    CURLM *multi;
    char *buf;             /* body bytes received and not yet taken */
    size_t len, off, cap;
    int paused;            /* the write callback paused the transfer */
    int headers_done, done;
    CURLcode result;
    char *headers[2 * MAX_HEADERS + 1]; /* the final answer's, name/value pairs */
    size_t n_headers;
    char *connection;      /* its Connection header */
    struct curl_slist *request_headers;
};

/* ---- the idle handle pairs ------------------------------------------------------------- */

static void free_pair(handles h)
{
    curl_easy_cleanup(h.easy);
    curl_multi_cleanup(h.multi);
}

pc_upstream *pc_upstream_create(long connect_ms, long header_ms, long idle_s)
{
    pc_upstream *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    pthread_mutex_init(&u->lock, NULL);
    u->connect_ms = connect_ms;
    u->header_ms = header_ms;
    u->idle_s = idle_s;
    return u;
}

void pc_upstream_destroy(pc_upstream *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n_idle; i++)
        free_pair(u->idle[i]);
    pthread_mutex_destroy(&u->lock);
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
    if (c->len - c->off >= PAUSE_AT) {
        c->paused = 1;
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
    return len;
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Drives the transfer until the header is in (want_header) or `bytes`
 * body bytes are buffered, or it ends. 0, or -1 past the deadline (0 = none). */
static int pump(pc_upstream_call *c, int want_header, size_t bytes, long deadline)
{
    for (;;) {
        int running = 0, left;
        curl_multi_perform(c->multi, &running);
        CURLMsg *m;
        while ((m = curl_multi_info_read(c->multi, &left)))
            if (m->msg == CURLMSG_DONE) {
                c->done = 1;
                c->result = m->data.result;
            }
        if (c->done || (want_header ? c->headers_done : c->len - c->off >= bytes))
            return 0;
        if (deadline && now_ms() >= deadline)
            return -1;
        curl_multi_poll(c->multi, NULL, 0, 200, NULL);
    }
}

static void set_request(pc_upstream_call *c, const char *method, const char *url,
                        const struct curl_slist *headers, const uint8_t *body, size_t len)
{
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->u->connect_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->u->idle_s);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HTTP_TRANSFER_DECODING, 1L); /* chunks in, chunks out */
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

/* An idle pair (with its open connections) or a new one. 0 or -1. */
static int take_handles(pc_upstream *u, pc_upstream_call *c)
{
    pthread_mutex_lock(&u->lock);
    if (u->n_idle) {
        handles h = u->idle[--u->n_idle];
        c->easy = h.easy;
        c->multi = h.multi;
    }
    pthread_mutex_unlock(&u->lock);
    if (c->easy)
        return 0;
    c->easy = curl_easy_init();
    c->multi = curl_multi_init();
    /* the multi handle's cache keeps 4 x its one easy handle by default:
     * a sidecar paying several targets would reconnect to some each call */
    if (c->multi)
        curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)MAX_IDLE_CONNECTIONS);
    return c->easy && c->multi ? 0 : -1;
}

/* Keeps the call's handles for the next call, or frees them when enough
 * are idle. */
static void return_handles(pc_upstream_call *c)
{
    handles h = {c->easy, c->multi};
    if (!h.easy || !h.multi) {
        free_pair(h);
        return;
    }
    /* no curl_easy_reset: it freed and reallocated the handle's buffers, ~10 us
     * a call here; set_request sets every option a call uses */
    pthread_mutex_lock(&c->u->lock);
    int kept = c->u->n_idle < MAX_IDLE_PAIRS;
    if (kept)
        c->u->idle[c->u->n_idle++] = h;
    pthread_mutex_unlock(&c->u->lock);
    if (!kept)
        free_pair(h);
}

pc_upstream_call *pc_upstream_start(pc_upstream *u, const char *method, const char *url,
                                    struct curl_slist *headers, const uint8_t *body,
                                    size_t len, unsigned *status, char *why, size_t why_len)
{
    pc_upstream_call *c = calloc(1, sizeof *c);
    *status = 502;
    if (c) {
        c->request_headers = headers;
        c->u = u;
    }
    if (!c || take_handles(u, c) != 0) {
        snprintf(why, why_len, "out of memory");
        if (!c)
            curl_slist_free_all(headers);
        pc_upstream_free(c);
        return NULL;
    }
    set_request(c, method, url, headers, body, len);
    curl_multi_add_handle(c->multi, c->easy);
    if (pump(c, 1, 0, now_ms() + u->header_ms) != 0) {
        *status = 504;
        snprintf(why, why_len, "the upstream did not answer within %ld ms", u->header_ms);
    } else if (!c->headers_done) {
        snprintf(why, why_len, "the upstream is unreachable or broke the connection (%s)",
                 curl_easy_strerror(c->result));
    } else {
        return c;
    }
    pc_upstream_free(c);
    return NULL;
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
        curl_easy_pause(c->easy, CURLPAUSE_CONT);
    }
    return n;
}

int pc_upstream_read_all(pc_upstream_call *c, size_t max, char **out, size_t *len)
{
    size_t cap = max + 1, n = 0;
    char *text = malloc(cap);
    while (text && pump(c, 0, 1, 0) == 0 && n < cap) {
        if (c->len == c->off && c->done)
            break;
        n += take(c, text + n, cap - n);
    }
    if (!text || n > max || c->result != CURLE_OK) {
        free(text);
        return -1;
    }
    text[n] = '\0';
    *out = text;
    *len = n;
    return 0;
}

static long stream_read(void *arg, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    pc_upstream_call *c = arg;
    if (c->len == c->off && !c->done)
        pump(c, 0, 1, 0); /* the low-speed limit ends a stalled transfer */
    if (c->len > c->off)
        return (long)take(c, buf, max);
    return c->result == CURLE_OK ? PC_HTTP_STREAM_END : PC_HTTP_STREAM_ERROR;
}

static void stream_free(void *arg)
{
    pc_upstream_free(arg);
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

/* Moves a body that is already in whole (the transfer is over) into *a
 * as a buffer, so that the server sends it with the header in one write:
 * streamed, it went as two, and the client often woke up twice. 1 when
 * done; 0 leaves the call as it was. */
static int whole_body(pc_upstream_call *c, curl_off_t length, pc_http_answer *a)
{
    /* a small body often follows its header in a second write (Python's
     * http.server): worth the wait, the client waits for it anyway */
    if (!c->done && length >= 0 && length <= WHOLE_MAX)
        pump(c, 0, (size_t)length, now_ms() + c->u->header_ms);
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
    if (!bodiless && whole_body(c, length, a)) {
        a->headers = end_to_end_headers(c);
        pc_upstream_free(c);
        return;
    }
    a->headers = end_to_end_headers(c);
    a->stream = (pc_http_stream){
        .read = stream_read, .free = stream_free, .arg = c,
        .size = bodiless ? 0 : length >= 0 ? (uint64_t)length : PC_HTTP_SIZE_UNKNOWN};
}

void pc_upstream_free(pc_upstream_call *c)
{
    if (!c)
        return;
    if (c->multi && c->easy)
        curl_multi_remove_handle(c->multi, c->easy);
    return_handles(c);
    drop_headers(c);
    curl_slist_free_all(c->request_headers);
    free(c->buf);
    free(c);
}
