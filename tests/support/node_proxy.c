/* node_proxy.c: see node_proxy.h. */
#include "support/node_proxy.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include "core/encoding/bytes.h"
#include "support/curl_body.h"

#define MAX_METHODS 64
#define MAX_BODY (1u << 20)
#define HANG_LIMIT_S 300 /* a hung request is released after this at the latest */

typedef struct method_count {
    char name[48];
    uint64_t n;
} method_count;

struct pc_test_node_proxy {
    char url[64];
    char upstream[256];
    struct MHD_Daemon *daemon;
    pthread_key_t curl_key; /* one curl handle per connection thread (keep-alive to the node) */
    pthread_mutex_t lock;   /* guards everything below */
    pthread_cond_t changed;
    pc_test_node_mode mode;
    char mode_method[48]; /* "" = every method */
    uint64_t arg;
    int stopping;
    method_count counts[MAX_METHODS];
    size_t n_counts;
    uint64_t total;
};

/* ---- counting and the mode ------------------------------------------------------------ */

static void count(pc_test_node_proxy *p, const char *method)
{
    pthread_mutex_lock(&p->lock);
    p->total++;
    size_t i = 0;
    while (i < p->n_counts && strcmp(p->counts[i].name, method) != 0)
        i++;
    if (i == p->n_counts && i < MAX_METHODS)
        snprintf(p->counts[p->n_counts++].name, sizeof p->counts[0].name, "%s", method);
    if (i < p->n_counts)
        p->counts[i].n++;
    pthread_mutex_unlock(&p->lock);
}

/* The mode that applies to `method` now (and its argument). */
static pc_test_node_mode mode_for(pc_test_node_proxy *p, const char *method, uint64_t *arg)
{
    pthread_mutex_lock(&p->lock);
    pc_test_node_mode m = p->mode;
    if (p->mode_method[0] && strcmp(p->mode_method, method) != 0)
        m = PC_TEST_NODE_PASS;
    *arg = p->arg;
    pthread_mutex_unlock(&p->lock);
    return m;
}

/* Holds a request while the proxy hangs (for `method`). */
static void hang(pc_test_node_proxy *p, const char *method)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HANG_LIMIT_S;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping && p->mode == PC_TEST_NODE_HANG &&
           (!p->mode_method[0] || strcmp(p->mode_method, method) == 0) &&
           pthread_cond_timedwait(&p->changed, &p->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&p->lock);
}

/* ---- answers ------------------------------------------------------------------------------ */

typedef struct huge_body {
    char head[96];
    size_t head_len, digits;
} huge_body;

/* Streams {"jsonrpc":"2.0","id":N,"result":"0x000..."} without a length. */
static ssize_t huge_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    huge_body *h = cls;
    uint64_t total = h->head_len + h->digits + 2;
    size_t n = 0;
    for (; n < max && pos + n < total; n++) {
        uint64_t at = pos + n;
        buf[n] = at < h->head_len ? h->head[at] : at < h->head_len + h->digits ? '0'
                 : at == total - 2 ? '"' : '}';
    }
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static struct MHD_Response *huge_answer(json_t *id, uint64_t bytes)
{
    huge_body *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->head_len = (size_t)snprintf(h->head, sizeof h->head,
                                   "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"0x",
                                   (long long)json_integer_value(id));
    h->digits = bytes;
    return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, huge_read, h, free);
}

/* Forwards body to the node; its answer (or a 502). */
static struct MHD_Response *forward(pc_test_node_proxy *p, const char *body, size_t len,
                                    unsigned *status)
{
    CURL *h = pthread_getspecific(p->curl_key);
    if (!h) {
        h = curl_easy_init();
        pthread_setspecific(p->curl_key, h);
    }
    pc_bytes answer = {0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, p->upstream);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, pc_test_curl_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long code = 502;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    *status = (unsigned)code;
    struct MHD_Response *r = MHD_create_response_from_buffer(answer.len, answer.data,
                                                             MHD_RESPMEM_MUST_COPY);
    pc_bytes_free(&answer);
    return r;
}

/* Answers one complete request body. */
static enum MHD_Result answer(pc_test_node_proxy *p, struct MHD_Connection *con,
                              const pc_bytes *body)
{
    json_t *req = json_loadb((const char *)body->data, body->len, 0, NULL);
    const char *method = json_string_value(json_object_get(req, "method"));
    method = method ? method : "(batch or malformed)";
    count(p, method);
    uint64_t arg;
    pc_test_node_mode mode = mode_for(p, method, &arg);
    if (mode == PC_TEST_NODE_HANG) {
        hang(p, method);
        json_decref(req);
        return MHD_NO; /* never forwarded late: the connection is dropped unanswered */
    }
    if (mode == PC_TEST_NODE_SLOW)
        usleep((useconds_t)(arg * 1000));
    unsigned status = 200;
    struct MHD_Response *r = mode == PC_TEST_NODE_HUGE
                                 ? huge_answer(json_object_get(req, "id"), arg)
                                 : forward(p, (const char *)body->data, body->len, &status);
    json_decref(req);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    pc_bytes *body = *con_cls;
    if (!body) {
        *con_cls = calloc(1, sizeof(pc_bytes));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        if (body->len + *upload_size > MAX_BODY ||
            pc_bytes_append(body, upload_data, *upload_size) != 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(cls, con, body);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)con;
    (void)why;
    pc_bytes *body = *con_cls;
    if (body) {
        pc_bytes_free(body);
        free(body);
    }
    *con_cls = NULL;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void free_curl(void *h)
{
    curl_easy_cleanup(h);
}

pc_test_node_proxy *pc_test_node_proxy_start(const char *upstream_url)
{
    pc_test_node_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->upstream, sizeof p->upstream, "%s", upstream_url);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    pthread_key_create(&p->curl_key, free_curl);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    p->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                                 0, NULL, NULL, on_request, p, MHD_OPTION_SOCK_ADDR, &sa,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, p, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        p->daemon ? MHD_get_daemon_info(p->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info) {
        fprintf(stderr, "node proxy: cannot start libmicrohttpd\n");
        pc_test_node_proxy_stop(p);
        return NULL;
    }
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%u", (unsigned)info->port);
    return p;
}

const char *pc_test_node_proxy_url(const pc_test_node_proxy *p)
{
    return p->url;
}

void pc_test_node_proxy_set(pc_test_node_proxy *p, pc_test_node_mode mode, const char *method,
                            uint64_t arg)
{
    pthread_mutex_lock(&p->lock);
    p->mode = mode;
    p->arg = arg;
    snprintf(p->mode_method, sizeof p->mode_method, "%s", method ? method : "");
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

uint64_t pc_test_node_proxy_count(pc_test_node_proxy *p, const char *method)
{
    uint64_t n = 0;
    pthread_mutex_lock(&p->lock);
    if (!method)
        n = p->total;
    for (size_t i = 0; method && i < p->n_counts; i++)
        if (strcmp(p->counts[i].name, method) == 0)
            n = p->counts[i].n;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void pc_test_node_proxy_reset_counts(pc_test_node_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    memset(p->counts, 0, sizeof p->counts);
    p->n_counts = 0;
    p->total = 0;
    pthread_mutex_unlock(&p->lock);
}

void pc_test_node_proxy_print_counts(pc_test_node_proxy *p, void *out_file)
{
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_counts; i++)
        fprintf(out_file, "%s %llu\n", p->counts[i].name, (unsigned long long)p->counts[i].n);
    pthread_mutex_unlock(&p->lock);
}

void pc_test_node_proxy_stop(pc_test_node_proxy *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    if (p->daemon)
        MHD_stop_daemon(p->daemon);
    pthread_key_delete(p->curl_key);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
