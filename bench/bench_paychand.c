/* bench_paychand: load generator for a running paychand (issue 3's benchmark).
 * Not a test: bench/run-paychand-bench.sh starts a dev chain and two
 * paychand processes and runs this against them.
 *
 *   bench_paychand call --url URL --keystore F --password-file P TARGET
 *       one authenticated GET (docs/protocol.md §3, timestamped) through libcurl; prints
 *       the body, exits 0 on HTTP 200. The script uses it for useService,
 *       deposit and to learn the active token id.
 *   bench_paychand load --url URL --keystore F --password-file P
 *       --endpoint validate|create --mediator M --connections N [...]
 *       ONE thread drives N keep-alive connections with epoll: each sends
 *       its next pre-built request as soon as the previous answer is
 *       complete, for --warmup + --duration seconds; prints throughput and
 *       latency percentiles of the requests completed after the warm-up.
 *
 * All request signatures (and, for validate, the payment tokens) are made
 * BEFORE the measurement, on all cores, and every request is rendered to its
 * exact bytes then, so the client's crypto and formatting are not measured;
 * the client's socket work (a few µs per request) still shares the machine
 * with the server. The load loop reads only what it must of paychand's
 * answers (status line, Content-Length, Connection: close) - it is not a
 * general HTTP client. Every answer is checked (200 and the expected body;
 * for create, every handed-out count must be distinct); any failure makes
 * the run invalid and the exit status 1. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_wire.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/request_auth.h"
#include "core/crypto/eip712.h"
#include "core/crypto/hash.h"
#include "core/crypto/keystore.h"
#include "core/encoding/u256.h"

#define MAX_CONNECTIONS 256
#define BODY_CAP 2048
#define WIRE_CAP 1024   /* one request's bytes (validate: ~760) */
#define ANSWER_CAP 4096 /* one answer's bytes, head and body (create: ~500) */
#define ERROR_SAMPLES 3
#define ANSWER_TIMEOUT_NS 10000000000ull

enum endpoint { EP_VALIDATE, EP_CREATE };

typedef struct key {
    uint8_t secret[32];
    pc_address address;
    char text[PC_ADDRESS_TEXT_LEN]; /* lowercase 0x form, as x-pay-sender */
    int use_mac;                    /* authenticate with x-pay-mac instead of a signature */
    uint8_t mac_key[32];
} key;

static int auth_with_mac; /* --auth mac */

typedef struct options {
    const char *url, *keystore, *password_file, *token_keystore, *token_password_file;
    const char *mediator_text, *token_id_text, *min_cost;
    enum endpoint endpoint;
    int connections, signers;
    double duration_s, warmup_s;
    size_t requests;
    uint64_t chain_id, first_count, termination_timeout, redemption_timeout;
} options;

/* One signed request: the URL and its three x-pay-* header lines. */
typedef struct request {
    char url[720];
    char sender[64];
    char stamp[80]; /* "x-pay-timestamp: " + a stamp of up to 47 characters */
    char signature[160];
} request;

/* The pre-built requests of a load run: request i is wire[i*WIRE_CAP ..]
 * of wire_len[i] bytes, exactly as sent. */
typedef struct pool {
    const options *o;
    const wire_server *srv;
    pc_secp *secp;
    key caller, token_signer;
    pc_address mediator;
    pc_u256 token_id;
    char mediator_text[PC_ADDRESS_TEXT_LEN], token_id_text[PC_U256_DEC_LEN];
    uint64_t stamp_base;
    unsigned run_tag;
    char *wire;
    uint16_t *wire_len;
    size_t n;
} pool;

/* Counters and the first error messages of a run. */
typedef struct tally {
    size_t sent, errors;
    long connects; /* connections opened (keep-alive: one per --connections) */
    char error_samples[ERROR_SAMPLES][256];
    size_t n_error_samples;
} tally;

/* One load run: pool index `next` is the next request to send; the
 * per-index arrays hold what came back. */
typedef struct run {
    pool *p;
    size_t next;   /* pool index of the next request to send */
    size_t active; /* connections with a request in flight */
    uint64_t warm_ns, end_ns;
    uint64_t exhausted_ns; /* when the pool ran out; 0 = it lasted */
    uint64_t *done_ns;     /* completion time of a correct answer, 0 = none */
    uint64_t *lat_ns;      /* its latency */
    uint64_t *counts;      /* create: the count handed out */
    tally t;
} run;

/* One keep-alive connection of the load loop, with at most one request in
 * flight (no pipelining: latency is send to complete answer). */
typedef struct conn {
    int fd;
    int want_out; /* EPOLLOUT registered: the request did not fit in one send */
    size_t idx;   /* pool index in flight, SIZE_MAX = none */
    uint64_t t0;  /* when its first byte was sent */
    size_t sent;  /* bytes of it sent so far */
    size_t len;   /* bytes of the answer read so far */
    char in[ANSWER_CAP + 1];
} conn;

/* What libcurl collects for `call`. */
typedef struct reply {
    char body[BODY_CAP];
    size_t body_len;
} reply;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_paychand: %s\n", what);
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        die("out of memory");
    return p;
}

static void load_key(const char *keystore, const char *password_file, key *k)
{
    pc_error err;
    if (!keystore || !password_file)
        die("a --keystore and its --password-file are needed");
    if (pc_keystore_load_file(keystore, password_file, k->secret, &k->address, &err) != 0) {
        fprintf(stderr, "bench_paychand: %s\n", err.message);
        exit(2);
    }
    pc_address_format(&k->address, k->text);
    k->use_mac = auth_with_mac;
    pc_request_mac_key(k->secret, k->mac_key);
}

/* ---- request authentication (protocol §3) --------------------------------------------- */

/* Fills the three header lines of an authenticated request for `target`:
 * signature over sha256(sender + target + "\n" + stamp), or with --auth mac
 * the request MAC over the same text. */
static void sign_request(const pc_secp *secp, const key *k, const char *target, const char *stamp,
                         request *out)
{
    char sig_hex[PC_SIGNATURE_HEX_LEN], mac_hex[PC_REQUEST_MAC_HEX_LEN];
    snprintf(out->sender, sizeof(out->sender), "x-pay-sender: %s", k->text);
    snprintf(out->stamp, sizeof(out->stamp), "x-pay-timestamp: %s", stamp);
    if (k->use_mac) {
        pc_request_mac(k->mac_key, k->text, target, stamp, NULL, mac_hex);
        snprintf(out->signature, sizeof(out->signature), "x-pay-mac: %s", mac_hex);
        return;
    }
    if (pc_request_auth_sign(secp, k->secret, k->text, target, stamp, NULL, sig_hex) != 0)
        die("signing failed (invalid key)");
    snprintf(out->signature, sizeof(out->signature), "x-pay-signature: %s", sig_hex);
}

/* Builds URL + target into out->url and signs it. */
static void make_request(const pc_secp *secp, const key *k, const char *base_url,
                         const char *target, const char *stamp, request *out)
{
    int n = snprintf(out->url, sizeof(out->url), "%s%s", base_url, target);
    if (n < 0 || (size_t)n >= sizeof(out->url))
        die("URL too long");
    sign_request(secp, k, target, stamp, out);
}

/* ---- one HTTP exchange through libcurl (call) ------------------------------------------- */

static size_t collect_body(char *data, size_t size, size_t nmemb, void *user)
{
    reply *w = user;
    size_t len = size * nmemb, room = BODY_CAP - 1 - w->body_len;
    size_t take = len < room ? len : room;
    memcpy(w->body + w->body_len, data, take);
    w->body_len += take;
    w->body[w->body_len] = '\0';
    return len;
}

/* Sends req once (a new handle; call makes one request). Returns the HTTP
 * status, or -1 on a transport error (its message in w->body). */
static long perform(reply *w, const request *req)
{
    struct curl_slist headers[3] = {{(char *)req->sender, &headers[1]},
                                    {(char *)req->stamp, &headers[2]},
                                    {(char *)req->signature, NULL}};
    long status = -1;
    CURL *h = curl_easy_init();
    if (!h)
        die("curl_easy_init failed");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    w->body_len = 0;
    w->body[0] = '\0';
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK)
        snprintf(w->body, BODY_CAP, "curl: %s", curl_easy_strerror(rc));
    else
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

/* ---- answer checks ------------------------------------------------------------------- */

/* Copies s without whitespace (the server's JSON spacing is not part of the contract). */
static void squeeze(const char *s, char *out, size_t cap)
{
    size_t j = 0;
    for (; *s && j + 1 < cap; s++)
        if (*s != ' ' && *s != '\n' && *s != '\r' && *s != '\t')
            out[j++] = *s;
    out[j] = '\0';
}

/* The value of "key":"..." in a squeezed JSON object, copied to out; 0 if found. */
static int json_string_field(const char *json, const char *name, char *out, size_t cap)
{
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "\"%s\":\"", name);
    const char *p = strstr(json, pattern);
    if (!p)
        return -1;
    p += strlen(pattern);
    size_t n = strcspn(p, "\"");
    if (p[n] != '"' || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* 0 if the answer is the expected one; for create, *count = the count handed out. */
static int check_answer(const pool *p, long status, const char *body, uint64_t *count)
{
    char json[BODY_CAP], field[PC_SIGNATURE_HEX_LEN + 2];
    if (status != 200)
        return -1;
    squeeze(body, json, sizeof(json));
    if (p->o->endpoint == EP_VALIDATE)
        return strcmp(json, "{\"valid\":true}") == 0 ? 0 : -1;
    pc_u256 c;
    if (json_string_field(json, "x-pay-sender", field, sizeof(field)) != 0 ||
        strcmp(field, p->caller.text) != 0 ||
        json_string_field(json, "x-pay-mediator", field, sizeof(field)) != 0 ||
        strcmp(field, p->mediator_text) != 0 ||
        json_string_field(json, "x-pay-token-id", field, sizeof(field)) != 0 ||
        json_string_field(json, "x-pay-signature", field, sizeof(field)) != 0 ||
        strlen(field) != PC_SIGNATURE_HEX_LEN - 1 ||
        json_string_field(json, "x-pay-req-count", field, sizeof(field)) != 0 ||
        pc_u256_parse_dec(field, &c) != 0 || pc_u256_to_u64(&c, count) != 0)
        return -1;
    return 0;
}

static void note_error(tally *t, long status, const char *what)
{
    t->errors++;
    if (t->n_error_samples < ERROR_SAMPLES)
        snprintf(t->error_samples[t->n_error_samples++], sizeof(t->error_samples[0]),
                 "HTTP %ld: %.200s", status, what);
}

/* ---- pre-signing ------------------------------------------------------------------------ */

static void build_one(pool *p, size_t i)
{
    const options *o = p->o;
    char target[600], stamp[48];
    /* the fraction makes every request's signed text unique (run tag + index) */
    snprintf(stamp, sizeof(stamp), "%llu.%04u%09zu", (unsigned long long)p->stamp_base,
             p->run_tag, i);
    if (o->endpoint == EP_CREATE) {
        snprintf(target, sizeof(target), "/contracts/%s/createSignatureHeaders", p->mediator_text);
    } else {
        pc_signature tok;
        char tok_hex[PC_SIGNATURE_HEX_LEN];
        uint64_t count = o->first_count + i;
        pc_u256 c = pc_u256_from_u64(count);
        if (pc_payment_token_sign(p->secp, p->token_signer.secret, o->chain_id, &p->mediator,
                                  &p->token_signer.address, &p->token_id, &c, &tok) != 0)
            die("token signing failed");
        pc_signature_to_hex(&tok, tok_hex);
        snprintf(target, sizeof(target),
                 "/contracts/%s/validateToken?sender=%s&mediator=%s&signature=%s&tokenId=%s"
                 "&reqCount=%llu&minCostPerRequest=%s&terminationTimeout=%llu"
                 "&tokenRedemptionTimeout=%llu",
                 p->mediator_text, p->token_signer.text, p->mediator_text, tok_hex,
                 p->token_id_text, (unsigned long long)count, o->min_cost,
                 (unsigned long long)o->termination_timeout,
                 (unsigned long long)o->redemption_timeout);
    }
    request req;
    sign_request(p->secp, &p->caller, target, stamp, &req);
    int n = snprintf(p->wire + i * WIRE_CAP, WIRE_CAP,
                     "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n%s\r\n%s\r\n\r\n", target,
                     p->srv->host, req.sender, req.stamp, req.signature);
    if (n < 0 || n >= WIRE_CAP)
        die("request too long");
    p->wire_len[i] = (uint16_t)n;
}

typedef struct signer_job {
    pool *p;
    size_t from, to;
    pthread_t thread;
} signer_job;

static void *signer_main(void *arg)
{
    signer_job *j = arg;
    for (size_t i = j->from; i < j->to; i++)
        build_one(j->p, i);
    return NULL;
}

static void presign(pool *p)
{
    int n_threads = p->o->signers;
    signer_job jobs[64];
    uint64_t t0 = now_ns();
    if (n_threads < 1 || n_threads > 64)
        die("--signers must be 1..64");
    p->wire = xcalloc(p->n, WIRE_CAP);
    p->wire_len = xcalloc(p->n, sizeof(uint16_t));
    for (int t = 0; t < n_threads; t++) {
        jobs[t] = (signer_job){.p = p, .from = p->n * (size_t)t / (size_t)n_threads,
                               .to = p->n * (size_t)(t + 1) / (size_t)n_threads};
        if (pthread_create(&jobs[t].thread, NULL, signer_main, &jobs[t]) != 0)
            die("pthread_create failed");
    }
    for (int t = 0; t < n_threads; t++)
        pthread_join(jobs[t].thread, NULL);
    fprintf(stderr, "bench_paychand: pre-signed %zu requests in %.1f s on %d threads\n", p->n,
            (double)(now_ns() - t0) / 1e9, n_threads);
}

/* ---- the load loop: N keep-alive connections, one thread, epoll ---------------------------- */

#define MAX_ERRORS 100 /* stop sending after this many: the run is invalid anyway */

/* Connects c and adds it to the loop. */
static void open_conn(run *r, conn *c, int ep)
{
    c->fd = wire_connect(r->p->srv, ep, c);
    if (c->fd < 0)
        die("cannot connect to --url");
    c->idx = SIZE_MAX;
    c->want_out = 0;
    r->t.connects++;
}

/* Sends what is left of the request in flight; asks for EPOLLOUT only while
 * some is left. 0, or -1 if the connection broke. */
static int send_more(run *r, conn *c, int ep)
{
    size_t len = r->p->wire_len[c->idx];
    if (wire_send(c->fd, r->p->wire + c->idx * WIRE_CAP, len, &c->sent) != 0)
        return -1;
    int want = c->sent < len;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
            return -1;
        c->want_out = want;
    }
    return 0;
}

static void start_next(run *r, conn *c, int ep);

/* c broke (or answered garbage): its request in flight is an error; a new
 * connection takes its place and goes on. */
static void reconnect(run *r, conn *c, int ep, const char *why)
{
    if (c->idx != SIZE_MAX) {
        note_error(&r->t, -1, why);
        c->idx = SIZE_MAX;
        r->active--;
    }
    close(c->fd);
    open_conn(r, c, ep);
    start_next(r, c, ep);
}

/* Sends the next pre-built request on c, unless the run is over. */
static void start_next(run *r, conn *c, int ep)
{
    uint64_t t0 = now_ns();
    if (t0 >= r->end_ns || r->t.errors >= MAX_ERRORS)
        return;
    if (r->next >= r->p->n) {
        if (!r->exhausted_ns)
            r->exhausted_ns = t0;
        return;
    }
    c->idx = r->next++;
    c->t0 = t0;
    c->sent = 0;
    c->len = 0;
    r->active++;
    r->t.sent++;
    if (send_more(r, c, ep) != 0)
        reconnect(r, c, ep, "send failed");
}

/* A complete answer on c at t1: checked and recorded; c is free again. */
static void finish(run *r, conn *c, const wire_head *h, uint64_t t1)
{
    uint64_t count = 0;
    const char *body = c->in + h->head_len;
    if (check_answer(r->p, h->status, body, &count) != 0) {
        note_error(&r->t, h->status, body);
    } else {
        r->done_ns[c->idx] = t1;
        r->lat_ns[c->idx] = t1 - c->t0;
        r->counts[c->idx] = count;
    }
    c->idx = SIZE_MAX;
    r->active--;
}

/* Reads what arrived on c; on a complete answer, sends c's next request. */
static void on_readable(run *r, conn *c, int ep)
{
    wire_head h;
    for (;;) {
        ssize_t k = recv(c->fd, c->in + c->len, ANSWER_CAP - c->len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k == 0 && c->idx == SIZE_MAX) { /* an idle connection closed: not needed any more */
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            return;
        }
        if (k <= 0 || c->idx == SIZE_MAX) {
            if (c->idx == SIZE_MAX) /* reconnect counts only a request in flight */
                note_error(&r->t, -1, "bytes while no request was in flight");
            reconnect(r, c, ep, k == 0 ? "connection closed before the answer" : "recv failed");
            return;
        }
        uint64_t t1 = now_ns();
        c->len += (size_t)k;
        c->in[c->len] = '\0';
        int got = wire_read_head(c->in, c->len, ANSWER_CAP, &h);
        if (got == 0)
            continue;
        if (got < 0 || c->len != h.total) {
            reconnect(r, c, ep, got < 0 ? "answer without Content-Length or too long"
                                        : "bytes after the answer");
            return;
        }
        finish(r, c, &h, t1);
        if (h.close) {
            close(c->fd);
            open_conn(r, c, ep);
        }
        start_next(r, c, ep);
        return;
    }
}

/* Answers older than ANSWER_TIMEOUT_NS are errors (the old client's libcurl timeout). */
static void expire(run *r, conn *cs, int n, int ep)
{
    uint64_t now = now_ns();
    for (int k = 0; k < n; k++)
        if (cs[k].idx != SIZE_MAX && now - cs[k].t0 > ANSWER_TIMEOUT_NS)
            reconnect(r, &cs[k], ep, "no answer within 10 s");
}

/* Runs the load on n connections until the end of the run (or the pool). */
static void drive(run *r, conn *cs, int n, const options *o)
{
    struct epoll_event ev[MAX_CONNECTIONS];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1 failed");
    for (int k = 0; k < n; k++)
        open_conn(r, &cs[k], ep);
    uint64_t start = now_ns(), last_expire = start;
    r->warm_ns = start + (uint64_t)(o->warmup_s * 1e9);
    r->end_ns = r->warm_ns + (uint64_t)(o->duration_s * 1e9);
    for (int k = 0; k < n; k++)
        start_next(r, &cs[k], ep);
    while (r->active > 0) {
        int got = epoll_wait(ep, ev, MAX_CONNECTIONS, 100);
        if (got < 0 && errno != EINTR)
            die("epoll_wait failed");
        for (int k = 0; k < got; k++) {
            conn *c = ev[k].data.ptr;
            if ((ev[k].events & EPOLLOUT) && c->idx != SIZE_MAX && send_more(r, c, ep) != 0)
                reconnect(r, c, ep, "send failed");
            else if (ev[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(r, c, ep); /* level-triggered: a skipped read comes next round */
        }
        if (now_ns() - last_expire > 100000000u) {
            expire(r, cs, n, ep);
            last_expire = now_ns();
        }
    }
    for (int k = 0; k < n; k++)
        close(cs[k].fd);
    close(ep);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_us(const uint64_t *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)sorted[k] / 1e3;
}

/* Counts handed out twice by createSignatureHeaders (each must be unique). */
static size_t duplicate_counts(const run *r, size_t n_sent)
{
    uint64_t *c = xcalloc(n_sent + 1, sizeof(uint64_t));
    size_t n = 0, dups = 0;
    for (size_t i = 0; i < n_sent; i++)
        if (r->done_ns[i])
            c[n++] = r->counts[i];
    qsort(c, n, sizeof(uint64_t), cmp_u64);
    for (size_t i = 1; i < n; i++)
        dups += c[i] == c[i - 1];
    free(c);
    return dups;
}

/* CPU seconds (user + system) this process has used so far. */
static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* Summarises the run; returns the process exit status (0 = valid run).
 * client_cpu_s: this process's CPU time while sending (the load it adds). */
static int report(const options *o, const run *r, double client_cpu_s)
{
    size_t errors = r->t.errors, n = 0, n_sent = r->next;
    uint64_t wend = r->exhausted_ns && r->exhausted_ns < r->end_ns ? r->exhausted_ns : r->end_ns;
    for (size_t k = 0; k < r->t.n_error_samples; k++)
        fprintf(stderr, "bench_paychand: error: %s\n", r->t.error_samples[k]);
    if (o->endpoint == EP_CREATE)
        errors += duplicate_counts(r, n_sent);
    uint64_t *lat = xcalloc(n_sent + 1, sizeof(uint64_t));
    for (size_t i = 0; i < n_sent; i++)
        if (r->done_ns[i] >= r->warm_ns && r->done_ns[i] <= wend)
            lat[n++] = r->lat_ns[i];
    qsort(lat, n, sizeof(uint64_t), cmp_u64);
    double window_s = wend > r->warm_ns ? (double)(wend - r->warm_ns) / 1e9 : 0;
    const char *ep = o->endpoint == EP_VALIDATE ? "validateToken" : "createSignatureHeaders";
    if (r->exhausted_ns && r->exhausted_ns < r->end_ns)
        fprintf(stderr, "bench_paychand: the %zu pre-signed requests ran out after %.2f s of the "
                "%.1f s window (raise --requests)\n", r->p->n, window_s, o->duration_s);
    printf("RESULT endpoint=%s connections=%d rps=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f "
           "max_us=%.0f measured=%zu window_s=%.2f sent=%zu errors=%zu connects=%ld "
           "client_cpu_us_per_req=%.1f\n",
           ep, o->connections, window_s > 0 ? (double)n / window_s : 0.0,
           percentile_us(lat, n, 0.50), percentile_us(lat, n, 0.90), percentile_us(lat, n, 0.99),
           n ? (double)lat[n - 1] / 1e3 : 0.0, n, window_s, r->t.sent, errors, r->t.connects,
           r->t.sent ? client_cpu_s * 1e6 / (double)r->t.sent : 0.0);
    free(lat);
    return errors == 0 && n > 0 && window_s > 0 ? 0 : 1;
}

static int load(const options *o)
{
    wire_server srv;
    pool p = {.o = o, .srv = &srv, .n = o->requests};
    if (!o->mediator_text || pc_address_parse(o->mediator_text, &p.mediator) != 0)
        die("--mediator must be an address");
    if (o->connections < 1 || o->connections > MAX_CONNECTIONS || p.n == 0)
        die("--connections must be 1..256 and --requests positive");
    p.secp = pc_secp_create();
    if (!p.secp)
        die("pc_secp_create failed");
    pc_address_format(&p.mediator, p.mediator_text);
    load_key(o->keystore, o->password_file, &p.caller);
    if (o->endpoint == EP_VALIDATE) {
        if (!o->token_id_text || pc_u256_parse_dec(o->token_id_text, &p.token_id) != 0)
            die("validate needs --token-id (decimal)");
        if (o->chain_id == 0 || o->first_count == 0)
            die("validate needs --chain-id and --first-count >= 1");
        pc_u256_to_dec(&p.token_id, p.token_id_text);
        load_key(o->token_keystore, o->token_password_file, &p.token_signer);
    }
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    p.stamp_base = (uint64_t)wall.tv_sec;
    p.run_tag = (unsigned)((uint64_t)wall.tv_nsec / 1000u % 10000u);
    if (wire_resolve(o->url, &srv) != 0)
        die("load needs --url http://HOST[:PORT] (no path) of a host that resolves");
    presign(&p);

    run r = {.p = &p};
    r.done_ns = xcalloc(p.n, sizeof(uint64_t));
    r.lat_ns = xcalloc(p.n, sizeof(uint64_t));
    r.counts = xcalloc(p.n, sizeof(uint64_t));
    conn *cs = xcalloc((size_t)o->connections, sizeof(conn));
    double cpu0 = cpu_seconds();
    drive(&r, cs, o->connections, o);
    int rc = report(o, &r, cpu_seconds() - cpu0);
    pc_wipe(p.caller.secret, sizeof(p.caller.secret));
    pc_wipe(p.token_signer.secret, sizeof(p.token_signer.secret));
    free(cs);
    free(r.done_ns);
    free(r.lat_ns);
    free(r.counts);
    free(p.wire);
    free(p.wire_len);
    pc_secp_destroy(p.secp);
    return rc;
}

/* ---- one call (set-up by the script) ------------------------------------------------------- */

static int call(const options *o, const char *target)
{
    key k;
    request *req = xcalloc(1, sizeof(request));
    reply *w = xcalloc(1, sizeof(reply));
    struct timespec wall;
    char stamp[48];
    pc_secp *secp = pc_secp_create();
    if (!secp)
        die("pc_secp_create failed");
    load_key(o->keystore, o->password_file, &k);
    clock_gettime(CLOCK_REALTIME, &wall);
    snprintf(stamp, sizeof(stamp), "%lld.%06ld", (long long)wall.tv_sec, wall.tv_nsec / 1000);
    make_request(secp, &k, o->url, target, stamp, req);
    long status = perform(w, req);
    printf("%s\n", w->body);
    if (status != 200)
        fprintf(stderr, "bench_paychand: %s answered HTTP %ld\n", target, status);
    pc_wipe(k.secret, sizeof(k.secret));
    pc_secp_destroy(secp);
    free(req);
    free(w);
    return status == 200 ? 0 : 1;
}

/* ---- command line ---------------------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "Usage: bench_paychand call --url URL --keystore F --password-file P TARGET\n"
            "       bench_paychand load --url URL --keystore F --password-file P\n"
            "                      --endpoint validate|create --mediator M [options]\n"
            "  --url URL                  paychand base URL, e.g. http://127.0.0.1:3000\n"
            "  --keystore F, --password-file P\n"
            "                             the calling service's key (V3 keystore): the request\n"
            "                             signer (provider for validate, consumer for create)\n"
            "  --connections N            concurrent keep-alive connections, all driven by one\n"
            "                             thread (default 1)\n"
            "  --warmup S, --duration S   seconds not measured, then measured (default 1, 5)\n"
            "  --requests N               requests to pre-sign (default 200000); the run ends\n"
            "                             early, with a warning, if they run out\n"
            "  --signers N                threads that pre-sign (default 2)\n"
            "  --auth signature|mac       request authentication: the protocol's ECDSA signature\n"
            "                             (default) or our request MAC (x-pay-mac)\n"
            "validate only:\n"
            "  --token-keystore F, --token-password-file P   the consumer's key (signs tokens)\n"
            "  --token-id ID              the Mediator's active token id (decimal)\n"
            "  --chain-id ID              chain id of the EIP-712 domain\n"
            "  --first-count N            count of the first token (default 1); counts run\n"
            "                             N, N+1, ... (the next run must start above them)\n"
            "  --min-cost WEI, --termination-timeout S, --redemption-timeout S\n"
            "                             the provider's terms (default 1, 3600, 3600)\n"
            "Prints a RESULT line (req/s, p50/p90/p99/max latency in us, errors); exit 0 only\n"
            "if every answer was 200 with the expected body.\n");
}

static double parse_seconds(const char *text)
{
    char *end;
    double v = strtod(text, &end);
    if (*end || v < 0 || v > 3600)
        die("seconds must be a number in 0..3600");
    return v;
}

static uint64_t parse_u64(const char *text)
{
    pc_u256 v;
    uint64_t out;
    if (pc_u256_parse_dec(text, &v) != 0 || pc_u256_to_u64(&v, &out) != 0)
        die("expected a decimal number");
    return out;
}

int main(int argc, char **argv)
{
    options o = {.endpoint = EP_VALIDATE, .connections = 1, .signers = 2, .duration_s = 5,
                 .warmup_s = 1, .requests = 200000, .first_count = 1, .min_cost = "1",
                 .termination_timeout = 3600, .redemption_timeout = 3600};
    static const struct option longs[] = {
        {"url", 1, 0, 'u'}, {"keystore", 1, 0, 'k'}, {"password-file", 1, 0, 'p'},
        {"token-keystore", 1, 0, 'K'}, {"token-password-file", 1, 0, 'P'},
        {"endpoint", 1, 0, 'e'}, {"mediator", 1, 0, 'm'}, {"connections", 1, 0, 'c'},
        {"warmup", 1, 0, 'w'}, {"duration", 1, 0, 'd'}, {"requests", 1, 0, 'n'},
        {"signers", 1, 0, 's'}, {"token-id", 1, 0, 't'}, {"chain-id", 1, 0, 'i'},
        {"first-count", 1, 0, 'f'}, {"min-cost", 1, 0, 'C'},
        {"termination-timeout", 1, 0, 'T'}, {"redemption-timeout", 1, 0, 'R'},
        {"auth", 1, 0, 'a'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *mode = argv[1];
    int opt;
    optind = 2;
    while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (opt) {
        case 'u': o.url = optarg; break;
        case 'k': o.keystore = optarg; break;
        case 'p': o.password_file = optarg; break;
        case 'K': o.token_keystore = optarg; break;
        case 'P': o.token_password_file = optarg; break;
        case 'e':
            if (strcmp(optarg, "validate") && strcmp(optarg, "create"))
                die("--endpoint must be validate or create");
            o.endpoint = strcmp(optarg, "validate") == 0 ? EP_VALIDATE : EP_CREATE;
            break;
        case 'm': o.mediator_text = optarg; break;
        case 'c': o.connections = (int)parse_u64(optarg); break;
        case 'w': o.warmup_s = parse_seconds(optarg); break;
        case 'd': o.duration_s = parse_seconds(optarg); break;
        case 'n': o.requests = (size_t)parse_u64(optarg); break;
        case 's': o.signers = (int)parse_u64(optarg); break;
        case 't': o.token_id_text = optarg; break;
        case 'i': o.chain_id = parse_u64(optarg); break;
        case 'f': o.first_count = parse_u64(optarg); break;
        case 'C': o.min_cost = optarg; break;
        case 'T': o.termination_timeout = parse_u64(optarg); break;
        case 'R': o.redemption_timeout = parse_u64(optarg); break;
        case 'a':
            if (strcmp(optarg, "signature") && strcmp(optarg, "mac"))
                die("--auth must be signature or mac");
            auth_with_mac = strcmp(optarg, "mac") == 0;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o.url)
        die("--url is required");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init failed");
    int rc;
    if (strcmp(mode, "call") == 0 && optind == argc - 1)
        rc = call(&o, argv[optind]);
    else if (strcmp(mode, "load") == 0 && optind == argc)
        rc = load(&o);
    else
        usage(stderr), rc = 2;
    curl_global_cleanup();
    return rc;
}
