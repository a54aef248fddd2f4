/* rpc.c: see rpc.h. The transport: client lifecycle, the pool of curl
 * handles, and one JSON-RPC request/answer exchange. Typed calls live in
 * rpc_types.c, the nonce tracker in nonce.c. */
#include "core/chain/rpc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core/chain/rpc_internal.h"
#include "core/runtime/curl_pool.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define DEFAULT_REQUEST_TIMEOUT_MS 10000L
#define DEFAULT_MAX_IDLE_HANDLES 8
#define DEFAULT_MAX_RESPONSE_BYTES ((size_t)4 << 20)

struct pc_rpc {
    char *url;
    long connect_timeout_ms;
    long request_timeout_ms;
    size_t max_response_bytes;
    struct curl_slist *headers; /* read-only after create, shared by all handles */
    atomic_uint_fast64_t next_id;
    pc_nonce_table *nonces;

    pc_curl_pool pool; /* idle handles, their options set (new_handle) */
    pc_rpc_observer observe; /* set before use (pc_rpc_set_observer); NULL: none */
    void *observe_ctx;
};

/* ---- process-wide curl initialisation ------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- per-thread deadlines ---------------------------------------------------- */

static _Thread_local uint64_t thread_deadline_ms; /* 0 = none */

uint64_t pc_rpc_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

uint64_t pc_rpc_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

uint64_t pc_rpc_set_thread_deadline(uint64_t deadline_ms)
{
    uint64_t previous = thread_deadline_ms;
    thread_deadline_ms = deadline_ms;
    return previous;
}

/* This request's time limit: the client's, or less when the thread's
 * deadline is nearer; 0 when the deadline has passed. */
static long request_limit_ms(const pc_rpc *rpc)
{
    if (!thread_deadline_ms)
        return rpc->request_timeout_ms;
    uint64_t now = pc_rpc_now_ms();
    if (now >= thread_deadline_ms)
        return 0;
    uint64_t left = thread_deadline_ms - now;
    return left < (uint64_t)rpc->request_timeout_ms ? (long)left : rpc->request_timeout_ms;
}

/* ---- errors ------------------------------------------------------------------ */

int pc_rpc_node_error(const pc_rpc *rpc, const char *method, pc_error *err, const char *fmt, ...)
{
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return pc_error_set(err, PC_ERR_NODE, "node %s: %s: %s", rpc->url, method, detail);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static long option_or(long value, long fallback)
{
    return value > 0 ? value : fallback;
}

pc_rpc *pc_rpc_create(const char *url, const pc_rpc_options *opts, pc_error *err)
{
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "node URL must start with http:// or https://");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK) {
        pc_error_set(err, PC_ERR_INTERNAL, "curl_global_init failed: %s",
                     curl_easy_strerror(curl_init_result));
        return NULL;
    }
    pc_rpc *rpc = calloc(1, sizeof *rpc);
    if (!rpc) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pc_rpc_options o = {0};
    if (opts)
        o = *opts;
    rpc->connect_timeout_ms = option_or(o.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS);
    rpc->request_timeout_ms = option_or(o.request_timeout_ms, DEFAULT_REQUEST_TIMEOUT_MS);
    if (rpc->connect_timeout_ms > rpc->request_timeout_ms)
        rpc->connect_timeout_ms = rpc->request_timeout_ms;
    rpc->max_response_bytes = o.max_response_bytes ? o.max_response_bytes
                                                   : DEFAULT_MAX_RESPONSE_BYTES;
    atomic_init(&rpc->next_id, 1);
    rpc->url = strdup(url);
    rpc->nonces = pc_nonce_table_new();
    /* "Expect:" stops curl from waiting for 100-continue on larger bodies. */
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h)
        rpc->headers = curl_slist_append(h, "Expect:");
    if (!rpc->headers)
        curl_slist_free_all(h);
    if (!rpc->url || !rpc->nonces || !rpc->headers
        || pc_curl_pool_init(&rpc->pool, o.max_idle_handles ? o.max_idle_handles
                                                            : DEFAULT_MAX_IDLE_HANDLES) != 0) {
        free(rpc->url);
        pc_nonce_table_free(rpc->nonces);
        curl_slist_free_all(rpc->headers);
        free(rpc);
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    return rpc;
}

void pc_rpc_destroy(pc_rpc *rpc)
{
    if (!rpc)
        return;
    pc_curl_pool_free(&rpc->pool);
    curl_slist_free_all(rpc->headers);
    pc_nonce_table_free(rpc->nonces);
    free(rpc->url);
    free(rpc);
}

const char *pc_rpc_url(const pc_rpc *rpc)
{
    return rpc->url;
}

pc_nonce_table *pc_rpc_nonce_table(pc_rpc *rpc)
{
    return rpc->nonces;
}

/* ---- handle pool ------------------------------------------------------------- */

/* Sets the options that stay the same for every request of this client. */
static CURL *new_handle(const pc_rpc *rpc)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, rpc->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, rpc->headers);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    /* Signals cannot be used for timeouts in a multi-threaded process. */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rpc->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rpc->request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* refused before reading when the node announces a longer body */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rpc->max_response_bytes);
    return h;
}

static CURL *checkout(pc_rpc *rpc)
{
    CURL *h = pc_curl_pool_take(&rpc->pool);
    return h ? h : new_handle(rpc);
}

/* ---- one HTTP exchange ---------------------------------------------------------- */

typedef struct sink {
    pc_bytes body;
    size_t max;
    int too_big;
    int no_memory;
} sink;

static size_t sink_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    sink *s = userdata;
    size_t n = size * nmemb;
    if (n > s->max - s->body.len) {
        s->too_big = 1;
        return 0; /* makes curl abort the transfer */
    }
    if (pc_bytes_append(&s->body, data, n) != 0) {
        s->no_memory = 1;
        return 0;
    }
    return n;
}

/* POSTs `request` and collects the body of a 200 answer into *out. */
static int http_post(pc_rpc *rpc, const char *method, const char *request, pc_bytes *out,
                     long *status, pc_error *err)
{
    long limit = request_limit_ms(rpc);
    if (limit == 0)
        return pc_rpc_node_error(rpc, method, err, "no time left: the node answered too slowly");
    CURL *h = checkout(rpc);
    if (!h)
        return pc_error_set(err, PC_ERR_INTERNAL, "curl_easy_init failed");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, limit);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     limit < rpc->connect_timeout_ms ? limit : rpc->connect_timeout_ms);
    sink s = {.body = {0}, .max = rpc->max_response_bytes};
    char curl_msg[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(request));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    /* Leave no pointers into this stack frame in a pooled handle. */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    pc_curl_pool_give(&rpc->pool, h);

    if (rc != CURLE_OK) {
        pc_bytes_free(&s.body);
        if (s.no_memory)
            return pc_error_set(err, PC_ERR_INTERNAL, "out of memory reading the answer");
        if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
            return pc_rpc_node_error(rpc, method, err, "answer larger than %zu bytes", s.max);
        return pc_rpc_node_error(rpc, method, err, "%s", curl_msg[0] ? curl_msg
                                                                      : curl_easy_strerror(rc));
    }
    *out = s.body;
    return 0;
}

/* ---- JSON-RPC framing ------------------------------------------------------------- */

static char *build_request(const char *method, json_t *params, uint64_t id)
{
    json_t *req = json_object();
    if (!req) {
        json_decref(params);
        return NULL;
    }
    json_object_set_new(req, "jsonrpc", json_string("2.0"));
    json_object_set_new(req, "id", json_integer((json_int_t)id));
    json_object_set_new(req, "method", json_string(method));
    json_object_set_new(req, "params", params ? params : json_array());
    char *text = json_object_size(req) == 4 ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    return text;
}

/* Checks an error object and fills *err with the node's code and message. */
static int describe_rpc_error(const pc_rpc *rpc, const char *method, json_t *error, pc_error *err)
{
    json_t *code = json_object_get(error, "code");
    json_t *message = json_object_get(error, "message");
    if (!json_is_object(error) || !json_is_integer(code) || !json_is_string(message))
        return pc_rpc_node_error(rpc, method, err, "malformed JSON-RPC error object");
    return pc_rpc_node_error(rpc, method, err, "error %lld: %s",
                             (long long)json_integer_value(code), json_string_value(message));
}

/* Parses a JSON-RPC 2.0 answer: 0 with *result, 1 with *rpc_error, or -1. */
static int parse_answer(const pc_rpc *rpc, const char *method, const pc_bytes *body, uint64_t id,
                        json_t **result, json_t **rpc_error, pc_error *err)
{
    json_error_t jerr;
    /* Nodes put revert reasons into error messages as text, raw bytes
     * included (anvil writes "\u0000" for the zero bytes of a custom error),
     * so strings with NULs must parse; they are only cut short when shown. */
    json_t *answer = json_loadb((const char *)body->data, body->len, JSON_ALLOW_NUL, &jerr);
    if (!answer)
        return pc_rpc_node_error(rpc, method, err, "answer is not JSON: %s", jerr.text);
    int ret = -1;
    json_t *jid = json_object_get(answer, "id");
    json_t *res = json_object_get(answer, "result");
    json_t *error = json_object_get(answer, "error");
    if (!json_is_object(answer)
        || !json_is_string(json_object_get(answer, "jsonrpc"))
        || strcmp(json_string_value(json_object_get(answer, "jsonrpc")), "2.0") != 0)
        pc_rpc_node_error(rpc, method, err, "answer is not a JSON-RPC 2.0 object");
    else if (!json_is_integer(jid) || (uint64_t)json_integer_value(jid) != id)
        pc_rpc_node_error(rpc, method, err, "answer has the wrong id");
    else if (error && res)
        pc_rpc_node_error(rpc, method, err, "answer has both result and error");
    else if (error) {
        describe_rpc_error(rpc, method, error, err);
        if (json_is_object(error) && rpc_error)
            *rpc_error = json_incref(error);
        ret = json_is_object(error) ? 1 : -1;
    } else if (!res)
        pc_rpc_node_error(rpc, method, err, "answer has neither result nor error");
    else {
        *result = json_incref(res);
        ret = 0;
    }
    json_decref(answer);
    return ret;
}

void pc_rpc_set_observer(pc_rpc *rpc, pc_rpc_observer observe, void *ctx)
{
    rpc->observe = observe;
    rpc->observe_ctx = ctx;
}

static int call_full(pc_rpc *rpc, const char *method, json_t *params, json_t **result,
                     json_t **rpc_error, pc_error *err);

int pc_rpc_call_full(pc_rpc *rpc, const char *method, json_t *params, json_t **result,
                     json_t **rpc_error, pc_error *err)
{
    if (!rpc->observe)
        return call_full(rpc, method, params, result, rpc_error, err);
    uint64_t start = pc_rpc_now_us();
    int ret = call_full(rpc, method, params, result, rpc_error, err);
    rpc->observe(rpc->observe_ctx, method, ret != -1, pc_rpc_now_us() - start);
    return ret;
}

static int call_full(pc_rpc *rpc, const char *method, json_t *params, json_t **result,
                     json_t **rpc_error, pc_error *err)
{
    *result = NULL;
    if (rpc_error)
        *rpc_error = NULL;
    if (params && !json_is_array(params)) {
        json_decref(params);
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "%s: params must be a JSON array",
                            method);
    }
    uint64_t id = atomic_fetch_add(&rpc->next_id, 1);
    char *request = build_request(method, params, id);
    if (!request)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory building %s", method);
    pc_bytes body = {0};
    long status = 0;
    int ret = http_post(rpc, method, request, &body, &status, err);
    free(request);
    if (ret != 0)
        return -1;
    ret = parse_answer(rpc, method, &body, id, result, rpc_error, err);
    /* A non-200 status is a failure even when the body parses; a JSON-RPC
     * error object in it still counts as the node's answer (some gateways
     * send reverts with 4xx/5xx). */
    if (status != 200 && ret != 1) {
        if (ret == 0) {
            json_decref(*result);
            *result = NULL;
        }
        ret = pc_rpc_node_error(rpc, method, err, "HTTP status %ld", status);
    }
    pc_bytes_free(&body);
    return ret;
}

int pc_rpc_call(pc_rpc *rpc, const char *method, json_t *params, json_t **result, pc_error *err)
{
    int ret = pc_rpc_call_full(rpc, method, params, result, NULL, err);
    return ret == 0 ? 0 : -1;
}
