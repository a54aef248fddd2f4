/* metrics.c: see metrics.h. Every counter is a uint64_t updated with
 * relaxed atomics: each is exact, and no ordering between them is needed. */
#include "server/api/metrics.h"

#include <stdio.h>
#include <stdlib.h>

/* The statuses paychand answers, counted one by one; others count as "other". */
static const unsigned statuses[] = {200, 400, 404, 405, 412, 413, 414, 431, 500, 501, 503};
#define N_STATUSES (sizeof statuses / sizeof statuses[0] + 1)

/* The protocol's error codes are below 512 (docs/protocol.md §7); larger count as 511. */
#define N_CODES 512

/* Latency bucket bounds in seconds, from 100 µs to 5 s. */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                0.025,  0.05,    0.1,    0.25,  1,      5};
#define N_BOUNDS (sizeof bounds / sizeof bounds[0])

typedef struct histogram {
    uint64_t counts[N_BOUNDS + 1];
    uint64_t sum_us;
} histogram;

typedef struct endpoint_counters {
    uint64_t by_status[N_STATUSES];
    uint64_t by_code[N_CODES];
    histogram latency;
} endpoint_counters;

struct pc_metrics {
    size_t n_endpoints; /* plus one for "other" */
    endpoint_counters *endpoints;
    uint64_t created, validated, rejected[N_CODES];
    uint64_t node_calls, node_errors;
    histogram node_latency;
    histogram write_latency;
};

#define ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

pc_metrics *pc_metrics_create(size_t n_endpoints)
{
    pc_metrics *m = calloc(1, sizeof *m);
    if (m && !(m->endpoints = calloc(n_endpoints + 1, sizeof *m->endpoints))) {
        free(m);
        return NULL;
    }
    if (m)
        m->n_endpoints = n_endpoints;
    return m;
}

void pc_metrics_free(pc_metrics *m)
{
    if (m)
        free(m->endpoints);
    free(m);
}

static void observe(histogram *h, uint64_t micros)
{
    size_t i = 0;
    while (i < N_BOUNDS && (double)micros > bounds[i] * 1e6)
        i++;
    ADD(h->counts[i], 1);
    ADD(h->sum_us, micros);
}

static size_t code_index(int code)
{
    return code < 0 ? 0 : code >= N_CODES ? N_CODES - 1 : (size_t)code;
}

void pc_metrics_request(pc_metrics *m, size_t endpoint, unsigned status, int code,
                        uint64_t micros)
{
    endpoint_counters *e = &m->endpoints[endpoint < m->n_endpoints ? endpoint : m->n_endpoints];
    size_t s = 0;
    while (s < N_STATUSES - 1 && statuses[s] != status)
        s++;
    ADD(e->by_status[s], 1);
    if (code)
        ADD(e->by_code[code_index(code)], 1);
    observe(&e->latency, micros);
}

void pc_metrics_tokens_created(pc_metrics *m, uint64_t n)
{
    ADD(m->created, n);
}

void pc_metrics_tokens_validated(pc_metrics *m, uint64_t n)
{
    ADD(m->validated, n);
}

void pc_metrics_token_rejected(pc_metrics *m, int code)
{
    ADD(m->rejected[code_index(code)], 1);
}

void pc_metrics_node_call(pc_metrics *m, int ok, uint64_t micros)
{
    ADD(m->node_calls, 1);
    if (!ok)
        ADD(m->node_errors, 1);
    observe(&m->node_latency, micros);
}

void pc_metrics_durable_write(pc_metrics *m, uint64_t micros)
{
    observe(&m->write_latency, micros);
}

/* ---- rendering --------------------------------------------------------------------------- */

static void render_histogram(pc_prom *out, const char *name, const pc_prom_labels *l,
                             const histogram *h)
{
    uint64_t counts[N_BOUNDS + 1];
    for (size_t i = 0; i <= N_BOUNDS; i++)
        counts[i] = LOAD(h->counts[i]);
    pc_prom_histogram(out, name, l, bounds, counts, N_BOUNDS, (double)LOAD(h->sum_us) / 1e6);
}

static const char *endpoint_name(const pc_metrics *m, const char *const *names, size_t i)
{
    return i < m->n_endpoints ? names[i] : "other";
}

/* The non-zero counters[0 .. n-1] of one endpoint as name{endpoint, label}:
 * the label is keys[k], or with keys NULL the index k; with keys the last
 * counter is "other" (statuses not listed). */
static void render_counts(pc_prom *out, const char *name, const char *label, const char *endpoint,
                          const uint64_t *counters, size_t n, const unsigned *keys)
{
    const char *const label_names[] = {"endpoint", label};
    for (size_t k = 0; k < n; k++) {
        uint64_t v = LOAD(counters[k]);
        char text[16];
        int other = keys && k == n - 1;
        if (!v)
            continue;
        snprintf(text, sizeof text, "%u", keys && !other ? keys[k] : (unsigned)k);
        const char *values[] = {endpoint, other ? "other" : text};
        pc_prom_sample_u64(out, name, &(pc_prom_labels){2, label_names, values}, v);
    }
}

static void render_requests(const pc_metrics *m, const char *const *names, pc_prom *out)
{
    pc_prom_family(out, "paychan_http_requests_total", "counter",
                   "Requests answered, by endpoint (route template) and HTTP status.");
    for (size_t i = 0; i <= m->n_endpoints; i++)
        render_counts(out, "paychan_http_requests_total", "status", endpoint_name(m, names, i),
                      m->endpoints[i].by_status, N_STATUSES, statuses);
    pc_prom_family(out, "paychan_http_errors_total", "counter",
                   "Error answers, by endpoint and the protocol's error code.");
    for (size_t i = 0; i <= m->n_endpoints; i++)
        render_counts(out, "paychan_http_errors_total", "code", endpoint_name(m, names, i),
                      m->endpoints[i].by_code, N_CODES, NULL);
    pc_prom_family(out, "paychan_http_request_duration_seconds", "histogram",
                   "Time from a request's first line to its answer, by endpoint.");
    static const char *const by_endpoint[] = {"endpoint"};
    for (size_t i = 0; i <= m->n_endpoints; i++) {
        const char *values[] = {endpoint_name(m, names, i)};
        if (LOAD(m->endpoints[i].latency.sum_us) || i < m->n_endpoints)
            render_histogram(out, "paychan_http_request_duration_seconds",
                             &(pc_prom_labels){1, by_endpoint, values}, &m->endpoints[i].latency);
    }
}

static void render_tokens(const pc_metrics *m, pc_prom *out)
{
    static const char *const by_code[] = {"code"};
    pc_prom_family(out, "paychan_tokens_created_total", "counter",
                   "Payment tokens created (createSignatureHeaders).");
    pc_prom_sample_u64(out, "paychan_tokens_created_total", NULL, LOAD(m->created));
    pc_prom_family(out, "paychan_tokens_validated_total", "counter",
                   "Payment tokens accepted by validateToken.");
    pc_prom_sample_u64(out, "paychan_tokens_validated_total", NULL, LOAD(m->validated));
    pc_prom_family(out, "paychan_tokens_rejected_total", "counter",
                   "Payment tokens refused by validateToken, by the protocol's error code.");
    for (size_t c = 0; c < N_CODES; c++) {
        char code[16];
        snprintf(code, sizeof code, "%zu", c);
        const char *values[] = {code};
        if (LOAD(m->rejected[c]))
            pc_prom_sample_u64(out, "paychan_tokens_rejected_total",
                               &(pc_prom_labels){1, by_code, values}, LOAD(m->rejected[c]));
    }
}

/* A family of one unlabelled sample. */
static void single(pc_prom *out, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    pc_prom_family(out, name, type, help);
    pc_prom_sample_u64(out, name, NULL, v);
}

static void render_now(const pc_metrics_now *now, pc_prom *out)
{
    char wei[PC_U256_DEC_LEN];
    single(out, "paychan_http_open_connections", "gauge", "HTTP connections open now.",
           (uint64_t)now->open_connections);
    single(out, "paychan_http_suspended_requests", "gauge",
           "Requests suspended on an event loop now (waiting for a durable write).",
           (uint64_t)now->suspended_requests);
    single(out, "paychan_transactions_total", "counter",
           "Transactions our accounts sent (with a receipt).", now->transactions);
    single(out, "paychan_gas_used_total", "counter", "Gas those transactions used.",
           now->gas_used);
    pc_prom_family(out, "paychan_gas_fee_wei_total", "counter",
                   "Fees paid for those transactions, in wei.");
    pc_u256_to_dec(&now->gas_fee_wei, wei);
    pc_prom_sample(out, "paychan_gas_fee_wei_total", NULL, wei);
    pc_prom_family(out, "paychan_unredeemed_wei", "gauge",
                   "Value of validated tokens not yet redeemed (provider side), in wei.");
    pc_u256_to_dec(&now->unredeemed_wei, wei);
    pc_prom_sample(out, "paychan_unredeemed_wei", NULL, wei);
    static const char *const by_role[] = {"role"};
    static const char *const roles[][1] = {{"consumer"}, {"provider"}};
    pc_prom_family(out, "paychan_mediators", "gauge", "Mediators served, by our role.");
    for (int r = 0; r < 2; r++)
        pc_prom_sample_u64(out, "paychan_mediators", &(pc_prom_labels){1, by_role, roles[r]},
                           now->mediators[r]);
}

void pc_metrics_render(const pc_metrics *m, const char *const *endpoint_names,
                       const pc_metrics_now *now, pc_prom *out)
{
    render_requests(m, endpoint_names, out);
    render_tokens(m, out);
    single(out, "paychan_node_calls_total", "counter", "JSON-RPC calls to the Ethereum node.",
           LOAD(m->node_calls));
    single(out, "paychan_node_errors_total", "counter",
           "Node calls that failed (no answer, HTTP error, malformed answer).",
           LOAD(m->node_errors));
    pc_prom_family(out, "paychan_node_call_duration_seconds", "histogram",
                   "Duration of one JSON-RPC call to the node.");
    render_histogram(out, "paychan_node_call_duration_seconds", NULL, &m->node_latency);
    pc_prom_family(out, "paychan_store_write_duration_seconds", "histogram",
                   "Duration of one durable write (SQLite: a group commit; Redis: a script, or a "
                   "pipeline of scripts).");
    render_histogram(out, "paychan_store_write_duration_seconds", NULL, &m->write_latency);
    render_now(now, out);
}
