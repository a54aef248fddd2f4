/* metrics.h: paychand's counters and histograms for GET /metrics (written
 * in the Prometheus text format by prom.h). Recording is a few relaxed
 * atomic additions, no lock, so the hot path pays ~nothing; a scrape reads
 * the counters (each one atomically, not all at one instant: fine for
 * counters) and adds the values that are read when asked (connections,
 * suspended requests, gas totals from the store). */
#ifndef PAYCHAN_SERVER_METRICS_H
#define PAYCHAN_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/encoding/u256.h"
#include "server/api/prom.h"

typedef struct pc_metrics pc_metrics;

/* Counters for endpoints 0 .. n_endpoints - 1 (their names given at
 * render time) plus one more, n_endpoints, for requests no route serves.
 * NULL when out of memory. */
pc_metrics *pc_metrics_create(size_t n_endpoints);

/* NULL is a no-op. */
void pc_metrics_free(pc_metrics *m);

/* One answered request of `endpoint` (> n_endpoints counts as the extra
 * one): its HTTP status, the protocol's error code (0 for none) and the
 * microseconds from its request line to its answer. */
void pc_metrics_request(pc_metrics *m, size_t endpoint, unsigned status, int code,
                        uint64_t micros);

/* n payment tokens created (createSignatureHeaders) or accepted (validateToken). */
void pc_metrics_tokens_created(pc_metrics *m, uint64_t n);
void pc_metrics_tokens_validated(pc_metrics *m, uint64_t n);

/* A token refused by validateToken with the protocol's error code. */
void pc_metrics_token_rejected(pc_metrics *m, int code);

/* One Ethereum node call: ok = 0 when it failed; its duration. */
void pc_metrics_node_call(pc_metrics *m, int ok, uint64_t micros);

/* One durable write of the store (a commit or a script) and its duration. */
void pc_metrics_durable_write(pc_metrics *m, uint64_t micros);

/* The values read at scrape time. */
typedef struct pc_metrics_now {
    int open_connections;
    int suspended_requests;
    uint64_t transactions;   /* sent by our accounts, with a receipt (store totals) */
    uint64_t gas_used;
    pc_u256 gas_fee_wei;
    pc_u256 unredeemed_wei;  /* provider side, validated and not yet redeemed */
    uint64_t mediators[2];   /* records served per role: consumer, provider */
} pc_metrics_now;

/* Writes every metric into *out; endpoint_names has n_endpoints entries
 * (the extra endpoint is "other"). */
void pc_metrics_render(const pc_metrics *m, const char *const *endpoint_names,
                       const pc_metrics_now *now, pc_prom *out);

#endif
