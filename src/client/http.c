/* http.c: calls to the Payment Server over libcurl: request authentication
 * (docs/protocol.md §3, the timestamped scheme), a pool of keep-alive handles, and the
 * classification of every way a call can fail into a code and a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client_internal.h"
#include "core/crypto/request_auth.h"
#include "core/crypto/hash.h"

/* ---- request authentication -------------------------------------------------------------- */

void pc_client_stamp(char out[PC_CLIENT_STAMP_LEN])
{
    static _Atomic uint64_t last_us;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    uint64_t prev = atomic_load(&last_us), next;
    do /* the clock, or one microsecond past the last stamp handed out */
        next = now > prev ? now : prev + 1;
    while (!atomic_compare_exchange_weak(&last_us, &prev, next));
    snprintf(out, PC_CLIENT_STAMP_LEN, "%llu.%06llu", (unsigned long long)(next / 1000000u),
             (unsigned long long)(next % 1000000u));
}

int pc_client_auth_header(const paychan_client *c, const char *target, const char *stamp,
                          const pc_request_body *body, const char **name,
                          char value[PC_SIGNATURE_HEX_LEN])
{
    if (c->auth == PAYCHAN_AUTH_MAC) {
        *name = "x-pay-mac";
        pc_request_mac(c->mac_key, c->address, target, stamp, body, value);
        return 0;
    }
    *name = "x-pay-signature";
    return pc_request_auth_sign(c->secp, c->key, c->address, target, stamp, body, value);
}

/* ---- the pool ------------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in older libcurl: once per process. */
static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int pc_client_pool_init(pc_curl_pool *p)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return -1;
    return pc_curl_pool_init(p, PC_CLIENT_POOL_MAX);
}

/* An idle handle (with its open connection) or a new one; NULL when out of memory. */
static CURL *checkout(pc_curl_pool *p)
{
    CURL *h = pc_curl_pool_take(p);
    return h ? h : curl_easy_init();
}

/* ---- one exchange -------------------------------------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
    pc_client_sink *s = ctx;
    size_t add = size * n;
    if (s->len + add > PC_CLIENT_MAX_ANSWER) {
        s->too_large = 1;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    char *grown = realloc(s->data, s->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + s->len, data, add);
    s->len += add;
    grown[s->len] = '\0';
    s->data = grown;
    return add;
}

/* Appends "name: value"; 0 or -1. */
static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[256];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return -1;
    *list = l;
    return 0;
}

/* The x-pay-sender / -timestamp / -signature headers of the call (plus
 * Accept, and Content-Type for a POST, whose body they cover). */
static int auth_headers(const paychan_call *call, struct curl_slist **list)
{
    const paychan_client *c = call->c;
    pc_request_body body = {.content_type = PC_CLIENT_POST_TYPE,
                            .data = (const uint8_t *)call->post_body,
                            .len = call->post_body ? strlen(call->post_body) : 0};
    if (add_header(list, "Accept", "application/json") != 0 ||
        (call->post_body && add_header(list, "Content-Type", PC_CLIENT_POST_TYPE) != 0))
        return -1;
    if (call->kind == PC_CALL_ANONYMOUS)
        return 0;
    char stamp[PC_CLIENT_STAMP_LEN], value[PC_SIGNATURE_HEX_LEN];
    const char *name;
    pc_client_stamp(stamp);
    if (pc_client_auth_header(c, call->target, stamp, call->post_body ? &body : NULL, &name,
                              value) != 0 ||
        add_header(list, "x-pay-sender", c->address) != 0 ||
        add_header(list, "x-pay-timestamp", stamp) != 0 || add_header(list, name, value) != 0)
        return -1;
    return 0;
}

/* The failure of a transfer as our codes: no connection, no answer in time,
 * or something that is not an HTTP answer of the API. */
static int transfer_failure(CURLcode rc, const pc_client_sink *body, const char *detail,
                            long timeout_ms, paychan_error *err)
{
    const char *why = *detail ? detail : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return pc_client_fail(err, PAYCHAN_E_SERVER_TIMEOUT, 0,
                              "the Payment Server did not answer within %ld ms (%s)", timeout_ms,
                              why);
    case CURLE_WRITE_ERROR:
        if (body->too_large)
            return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 0,
                                  "the Payment Server's answer is larger than %d bytes",
                                  PC_CLIENT_MAX_ANSWER);
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory reading the answer");
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_PARTIAL_FILE:
    case CURLE_TOO_MANY_REDIRECTS:
        return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 0,
                              "the Payment Server answered something that is not HTTP (%s)", why);
    case CURLE_OUT_OF_MEMORY:
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory (%s)", why);
    case CURLE_URL_MALFORMAT:
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "bad Payment Server URL (%s)", why);
    default: /* refused, unreachable, reset, closed without an answer, TLS failures */
        return pc_client_fail(err, PAYCHAN_E_SERVER_DOWN, 0,
                              "no connection to the Payment Server (%s)", why);
    }
}

/* Copies at most 60 printable characters of text for a message. */
static void excerpt(const char *text, char out[64])
{
    size_t n = 0;
    for (; text && text[n] && n < 60; n++)
        out[n] = (text[n] >= 32 && text[n] < 127) ? text[n] : '?';
    out[n] = '\0';
}

/* An HTTP answer: a JSON object on 2xx, else the server's error object. */
static int read_answer(long status, const pc_client_sink *body, json_t **answer, paychan_error *err)
{
    char shown[64];
    json_t *obj = body->data ? json_loads(body->data, JSON_REJECT_DUPLICATES, NULL) : NULL;
    excerpt(body->data, shown);
    if (status >= 200 && status < 300) {
        if (json_is_object(obj)) {
            *answer = obj;
            return 0;
        }
        json_decref(obj);
        return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, (int)status,
                              "HTTP %ld answer is not a JSON object: \"%s\"", status, shown);
    }
    json_t *code = json_object_get(obj, "code");
    const char *message = json_string_value(json_object_get(obj, "message"));
    int rc;
    if (json_is_integer(code) && json_integer_value(code) > 0 &&
        json_integer_value(code) < PAYCHAN_E_SERVER_DOWN && message)
        rc = pc_client_fail(err, (int)json_integer_value(code), (int)status, "%s", message);
    else
        rc = pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, (int)status,
                            "HTTP %ld answer is not an error object: \"%s\"", status, shown);
    json_decref(obj);
    return rc;
}

/* Sets call->h (a pooled handle) up to GET call->target with a fresh stamp;
 * 0, or -1 with *err. */
static int transfer_setup(paychan_call *call, paychan_error *err)
{
    paychan_client *c = call->c;
    size_t url_len = strlen(c->base_url) + strlen(call->target) + 1;
    call->detail[0] = '\0';
    if (!(call->url = malloc(url_len)) || auth_headers(call, &call->headers) != 0)
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory building the request");
    snprintf(call->url, url_len, "%s%s", c->base_url, call->target);
    CURL *h = call->h;
    /* no curl_easy_reset (~10 us: it frees the handle's buffers): every
     * call sets the same options, all of them, below */
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    if (call->post_body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(call->post_body));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->post_body);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* also undoes a POST of the handle's last call */
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &call->body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->detail);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, call->timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, call->timeout);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);   /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* the target goes out exactly as signed */
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    /* the team's own Payment Server, reached directly: http_proxy in the
     * environment (e.g. a paychan-proxy sidecar's address, for a service's
     * other calls) must not carry it */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    return 0;
}

/* Frees what one transfer allocated (not the handle, not the target). */
static void transfer_clear(paychan_call *call)
{
    curl_easy_setopt(call->h, CURLOPT_ERRORBUFFER, NULL); /* the call may be freed next */
    curl_slist_free_all(call->headers);
    free(call->body.data);
    free(call->url);
    call->headers = NULL;
    call->body = (pc_client_sink){0};
    call->url = NULL;
}

paychan_call *pc_client_call_begin(paychan_client *c, const char *target,
                                   pc_client_call_kind kind, long timeout_ms, paychan_error *err)
{
    return pc_client_call_begin_post(c, target, NULL, kind, timeout_ms, err);
}

paychan_call *pc_client_call_begin_post(paychan_client *c, const char *target, char *body,
                                        pc_client_call_kind kind, long timeout_ms,
                                        paychan_error *err)
{
    paychan_call *call = calloc(1, sizeof *call);
    if (call)
        call->post_body = body; /* the call's from here on, freed with it */
    if (!call || !(call->target = strdup(target))) {
        free(body);
        free(call);
        pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory building the request");
        return NULL;
    }
    call->c = c;
    call->kind = kind;
    call->timeout = timeout_ms ? timeout_ms : kind == PC_CALL_CHAIN ? 10 * c->timeout_ms
                                                                    : c->timeout_ms;
    if (!(call->h = checkout(&c->pool))) {
        pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "cannot create a curl handle");
    } else if (transfer_setup(call, err) == 0) {
        return call;
    }
    paychan_call_free(call);
    return NULL;
}

int pc_client_call_end(paychan_call *call, CURLcode cc, json_t **answer, paychan_error *err)
{
    paychan_error why;
    long status = 0;
    int rc;
    *answer = NULL;
    if (cc != CURLE_OK) {
        rc = transfer_failure(cc, &call->body, call->detail, call->timeout, &why);
    } else {
        curl_easy_getinfo(call->h, CURLINFO_RESPONSE_CODE, &status);
        rc = read_answer(status, &call->body, answer, &why);
    }
    if (rc == 0)
        return 0;
    /* 205: the server refused before doing anything, so a fresh stamp is safe */
    if (why.code == 205 && !call->retried) {
        call->retried = 1;
        transfer_clear(call);
        if (transfer_setup(call, &why) == 0)
            return PAYCHAN_CALL_AGAIN;
    }
    call->retried = 1;
    if (err)
        *err = why;
    return -1;
}

CURL *paychan_call_easy(paychan_call *call)
{
    return call ? call->h : NULL;
}

void paychan_call_free(paychan_call *call)
{
    if (!call)
        return;
    if (call->h) {
        transfer_clear(call);
        pc_curl_pool_give(&call->c->pool, call->h);
    }
    free(call->target);
    free(call->post_body);
    free(call);
}

int pc_client_end_check(paychan_call *call, pc_client_call_job job, const char *begun_by,
                        int has_output, paychan_error *err)
{
    pc_client_clear(err);
    if (call && call->job == job && has_output)
        return 0;
    int right_call = call && call->job == job;
    paychan_call_free(call); /* freed all the same: the contract of every *_end */
    if (!right_call)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "not a %s call", begun_by);
    /* taken counts or recorded payments, but nowhere to put the outcome */
    return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no output");
}

int pc_client_call_perform(paychan_call *call, json_t **answer, paychan_error *err)
{
    int rc;
    do
        rc = pc_client_call_end(call, curl_easy_perform(call->h), answer, err);
    while (rc == PAYCHAN_CALL_AGAIN);
    return rc;
}

int pc_client_get(paychan_client *c, const char *target, pc_client_call_kind kind, json_t **answer,
                  paychan_error *err)
{
    return pc_client_get_within(c, target, kind, 0, answer, err);
}

/* Runs a call just begun (NULL: its begin failed, *err says why) to its
 * end on this thread, then frees it. */
static int perform_and_free(paychan_call *call, json_t **answer, paychan_error *err)
{
    *answer = NULL;
    if (!call)
        return -1;
    int rc = pc_client_call_perform(call, answer, err);
    paychan_call_free(call);
    return rc;
}

int pc_client_get_within(paychan_client *c, const char *target, pc_client_call_kind kind,
                         long timeout_ms, json_t **answer, paychan_error *err)
{
    return perform_and_free(pc_client_call_begin(c, target, kind, timeout_ms, err), answer, err);
}

int pc_client_post(paychan_client *c, const char *target, char *body, pc_client_call_kind kind,
                   json_t **answer, paychan_error *err)
{
    return perform_and_free(pc_client_call_begin_post(c, target, body, kind, 0, err), answer,
                            err);
}

/* ---- answers --------------------------------------------------------------------------------- */

int pc_client_answer_string(const json_t *obj, const char *what, const char *key, char *out,
                            size_t cap, paychan_error *err)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v || strlen(v) >= cap)
        return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200, "%s: \"%s\" %s", what, key,
                              v ? "is too long" : "missing or not a string");
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

int pc_client_answer_bool(const json_t *obj, const char *what, const char *key, int *out,
                          paychan_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_boolean(v))
        return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                              "%s: \"%s\" missing or not a boolean", what, key);
    *out = json_is_true(v);
    return 0;
}

int pc_client_mediator_path(const char *mediator, const char *action, char *out, size_t cap,
                            paychan_error *err)
{
    char m[PC_ADDRESS_TEXT_LEN];
    if (pc_client_address_text(mediator, m) != 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "the Mediator \"%.60s\" is not an address",
                              mediator ? mediator : "(null)");
    if ((size_t)snprintf(out, cap, "/contracts/%s/%s", m, action) >= cap)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "request target too long");
    return 0;
}
