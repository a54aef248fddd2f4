/* payclient.c (test support): see payclient.h. */
#include "support/payclient.h"


#include <curl/curl.h>
#include <pthread.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crypto/ecdsa.h"
#include "core/crypto/request_auth.h"
#include "core/crypto/hash.h"
#include "support/curl_body.h"

struct pc_test_client {
    CURL *curl;
    pc_secp *secp;
    char base_url[128];
    int has_key;
    uint8_t key[32];
    pc_address address;
    char sender[PC_ADDRESS_TEXT_LEN];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

pc_test_client *pc_test_client_create(const char *base_url, const uint8_t key[32])
{
    pthread_once(&curl_once, curl_init_once);
    pc_test_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->base_url, sizeof c->base_url, "%s", base_url);
    c->curl = curl_easy_init();
    c->secp = pc_secp_create();
    if (key) {
        memcpy(c->key, key, 32);
        c->has_key = 1;
    }
    if (!c->curl || !c->secp || (key && pc_secret_to_address(c->secp, c->key, &c->address))) {
        pc_test_client_destroy(c);
        return NULL;
    }
    pc_address_format(&c->address, c->sender);
    return c;
}

void pc_test_client_destroy(pc_test_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    pc_secp_destroy(c->secp);
    pc_wipe(c->key, sizeof c->key);
    free(c);
}

const pc_address *pc_test_client_address(const pc_test_client *c)
{
    return &c->address;
}

const char *pc_test_client_sender(const pc_test_client *c)
{
    return c->sender;
}

void pc_test_timestamp(long offset, char out[40])
{
    static atomic_uint serial;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* microseconds, then a serial: distinct even for calls in the same microsecond */
    unsigned n = atomic_fetch_add(&serial, 1) % 1000u;
    snprintf(out, 40, "%lld.%06ld%03u", (long long)ts.tv_sec + offset, ts.tv_nsec / 1000, n);
}

/* ---- request headers ----------------------------------------------------------------- */

/* Appends "name: value" to *list. 0 or -1. */
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

static int is_mac_mode(pc_test_auth_mode m)
{
    return m == PC_TEST_AUTH_MAC || m == PC_TEST_AUTH_MAC_UNSTAMPED ||
           m == PC_TEST_AUTH_MAC_CORRUPT || m == PC_TEST_AUTH_MAC_UPPER;
}

/* x-pay-mac of the MAC modes: key derived from `key`; the stamp is signed
 * even when not sent (MAC_UNSTAMPED). */
static int mac_headers(const pc_test_auth *a, const uint8_t *key, const char *sender,
                       const char *target, const char *stamp, const pc_request_body *body,
                       struct curl_slist **list)
{
    uint8_t mac_key[32];
    char mac[PC_REQUEST_MAC_HEX_LEN];
    pc_request_mac_key(key, mac_key);
    pc_request_mac(mac_key, sender, target, stamp, body, mac);
    if (a->mode == PC_TEST_AUTH_MAC_CORRUPT)
        mac[20] = mac[20] == '0' ? '1' : '0';
    const char *value = mac;
    if (a->mode == PC_TEST_AUTH_MAC_UPPER) {
        for (char *p = mac + 2; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        value = mac + 2;
    }
    if (add_header(list, "x-pay-sender", sender) || add_header(list, "x-pay-mac", value))
        return -1;
    return a->mode == PC_TEST_AUTH_MAC_UNSTAMPED ? 0 : add_header(list, "x-pay-timestamp", stamp);
}

/* The x-pay-* headers of one request as `auth` asks (body: what a POST
 * signs, NULL for a GET). 0 or -1. */
static int auth_headers(const pc_test_client *c, const char *target, const pc_request_body *body,
                        const pc_test_auth *a, struct curl_slist **list)
{
    if (a->mode == PC_TEST_AUTH_NONE)
        return 0;
    const char *sender = a->sender ? a->sender : c->sender;
    const uint8_t *key = a->signer_key ? a->signer_key : c->key;
    char stamp[40], sig[PC_SIGNATURE_HEX_LEN];
    const char *timestamp = NULL;
    if (!c->has_key && !a->signer_key)
        return -1;
    if (is_mac_mode(a->mode)) {
        if (!a->timestamp)
            pc_test_timestamp(0, stamp);
        return mac_headers(a, key, sender, a->signed_target ? a->signed_target : target,
                           a->timestamp ? a->timestamp : stamp, body, list);
    }
    if (a->mode != PC_TEST_AUTH_UNSTAMPED) {
        if (!a->timestamp)
            pc_test_timestamp(0, stamp);
        timestamp = a->timestamp ? a->timestamp : stamp;
    }
    if (a->signature)
        snprintf(sig, sizeof sig, "%s", a->signature);
    else if (pc_request_auth_sign(c->secp, key, sender,
                                  a->signed_target ? a->signed_target : target, timestamp,
                                  timestamp ? body : NULL, sig) != 0)
        return -1;
    if (a->mode == PC_TEST_AUTH_CORRUPT)
        sig[2 + 64 + 10] = sig[2 + 64 + 10] == '0' ? '1' : '0'; /* a digit of s */
    if (a->mode == PC_TEST_AUTH_V01) /* "1b" / "1c" -> "00" / "01" */
        snprintf(sig + 130, 3, "%02x", (unsigned)(sig[131] == 'c'));
    if (a->mode == PC_TEST_AUTH_NOT_HEX)
        snprintf(sig, sizeof sig, "0xnothex");
    if ((a->mode != PC_TEST_AUTH_NO_SENDER && add_header(list, "x-pay-sender", sender)) ||
        (a->mode != PC_TEST_AUTH_NO_SIGNATURE && add_header(list, "x-pay-signature", sig)) ||
        (timestamp && add_header(list, "x-pay-timestamp", timestamp)))
        return -1;
    return 0;
}

/* ---- exchange ------------------------------------------------------------------------- */

/* What a POST signs: its Content-Type and body, or auth's signed_body. */
static pc_request_body signed_body(const pc_test_auth *a, const char *content_type,
                                   const char *body, size_t len)
{
    pc_request_body b = {.content_type = content_type, .data = (const uint8_t *)body, .len = len};
    if (a->signed_type)
        b.content_type = a->signed_type;
    if (a->signed_body) {
        b.data = (const uint8_t *)a->signed_body;
        b.len = strlen(a->signed_body);
    }
    return b;
}

int pc_test_request_body(pc_test_client *c, const char *method, const char *target,
                         const pc_test_auth *auth, const char *content_type, const char *body,
                         size_t len, pc_test_reply *out)
{
    static const pc_test_auth stamped = {.mode = PC_TEST_AUTH_STAMPED};
    struct curl_slist *headers = NULL;
    pc_bytes answer = {0};
    char url[2048];
    const pc_test_auth *a = auth ? auth : &stamped;
    int is_post = strcmp(method, "POST") == 0 && !a->sign_as_get;
    pc_request_body signed_part = signed_body(a, content_type, body, len);
    memset(out, 0, sizeof *out);
    snprintf(url, sizeof url, "%s%s", c->base_url, target);
    int rc = auth_headers(c, target, is_post ? &signed_part : NULL, a, &headers);
    /* "Content-Type:" with nothing after it makes curl send none */
    if (rc == 0)
        rc = add_header(&headers, "Content-Type", content_type ? content_type : "");
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, pc_test_curl_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* the target is sent exactly as signed */
    if (strcmp(method, "POST") == 0 || len > 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    }
    if (rc == 0 && curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    else
        rc = -1;
    curl_slist_free_all(headers);
    out->text = pc_test_bytes_take_string(&answer);
    if (out->text && *out->text)
        out->body = json_loads(out->text, 0, NULL);
    return rc;
}

int pc_test_request(pc_test_client *c, const char *method, const char *target,
                    const pc_test_auth *auth, const char *json_body, pc_test_reply *out)
{
    int is_post = strcmp(method, "POST") == 0;
    const char *type = json_body ? "application/json"
                       : is_post ? "application/x-www-form-urlencoded"
                                 : NULL;
    return pc_test_request_body(c, method, target, auth, type, json_body,
                                json_body ? strlen(json_body) : 0, out);
}

static int request_v(pc_test_client *c, const char *method, pc_test_reply *out, const char *fmt,
                     va_list ap)
{
    char target[1536];
    vsnprintf(target, sizeof target, fmt, ap);
    return pc_test_request(c, method, target, NULL, NULL, out);
}

int pc_test_get(pc_test_client *c, pc_test_reply *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = request_v(c, "GET", out, fmt, ap);
    va_end(ap);
    return rc;
}

int pc_test_post(pc_test_client *c, pc_test_reply *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = request_v(c, "POST", out, fmt, ap);
    va_end(ap);
    return rc;
}

void pc_test_reply_free(pc_test_reply *r)
{
    json_decref(r->body);
    free(r->text);
    memset(r, 0, sizeof *r);
}

const char *pc_test_reply_string(const pc_test_reply *r, const char *key)
{
    return r->body ? json_string_value(json_object_get(r->body, key)) : NULL;
}

long pc_test_reply_code(const pc_test_reply *r)
{
    json_t *code = r->body ? json_object_get(r->body, "code") : NULL;
    return json_is_integer(code) ? (long)json_integer_value(code) : -1;
}
