/* api_metrics.c: what paychand observes of each request (http.h's
 * observer: metrics.h counters, the access log) and GET /metrics. */
#include "server/api/api.h"
#include "server/api/api_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/runtime/logger.h"
#include "server/api/metrics.h"

/* One access line per `every` requests (a relaxed counter: no lock). Only
 * the path is written, never the query or headers: a validateToken query
 * carries the token's signature, and the headers the request's MAC. */
static void access_log(pc_server *s, const pc_http_request *req, const pc_http_answer *a,
                       uint64_t micros)
{
    static uint64_t seen;
    int every = s->cfg->access_log_every;
    if (every <= 0 || __atomic_fetch_add(&seen, 1, __ATOMIC_RELAXED) % (uint64_t)every != 0)
        return;
    PC_LOG_I("access: %s %s %u code %d %llu us", pc_http_method(req), pc_http_path(req),
             a->status, a->code, (unsigned long long)micros);
}

/* The tokens an answer of route r carries: createSignatureHeaders' one or
 * its several-Mediators form's "headers". */
static size_t tokens_in(const pc_http_answer *a)
{
    json_t *many = json_object_get(a->body, "headers");
    return json_is_array(many) ? json_array_size(many) : 1;
}

/* The token counters of a validating route's answer: validateToken's one
 * token (200: accepted; else refused with the answer's code), or each of
 * validateTokens' "results" (a call refused as a whole counts as one
 * refusal, like validateToken's). */
static void count_validated(pc_metrics *m, const pc_http_answer *a)
{
    json_t *results = json_object_get(a->body, "results"), *r;
    size_t i;
    if (a->status != 200 || !json_is_array(results)) {
        if (a->status == 200)
            pc_metrics_tokens_validated(m, 1);
        else
            pc_metrics_token_rejected(m, a->code);
        return;
    }
    json_array_foreach(results, i, r) {
        if (json_is_true(json_object_get(r, "valid")))
            pc_metrics_tokens_validated(m, 1);
        else
            pc_metrics_token_rejected(m, (int)json_integer_value(json_object_get(r, "code")));
    }
}

void pc_api_observe(void *ctx, const pc_http_request *req, const pc_http_answer *a,
                    uint64_t micros)
{
    pc_server *s = ctx;
    int tokens = 0;
    size_t route = api_route_index(s, pc_http_path(req), &tokens);
    if (s->metrics) {
        pc_metrics_request(s->metrics, route, a->status, a->code, micros);
        if (tokens == API_TOKENS_CREATED && a->status == 200)
            pc_metrics_tokens_created(s->metrics, tokens_in(a));
        else if (tokens == API_TOKENS_VALIDATED)
            count_validated(s->metrics, a);
    }
    access_log(s, req, a, micros);
}

/* The values read at scrape time; a store fault leaves its values 0 (logged). */
static void read_now(pc_server *s, pc_metrics_now *now)
{
    pc_gas_total *gas = NULL;
    size_t n = 0;
    pc_error err;
    memset(now, 0, sizeof *now);
    pc_http *http = __atomic_load_n(&s->http, __ATOMIC_ACQUIRE); /* see start_http */
    now->open_connections = http ? pc_http_open_connections(http) : 0;
    now->suspended_requests = http ? pc_http_suspended(http) : 0;
    now->mediators[0] = pc_payment_registered_count(s, PC_ROLE_CONSUMER);
    now->mediators[1] = pc_payment_registered_count(s, PC_ROLE_PROVIDER);
    if (pc_store_gas_totals(s->store, PC_GAS_BY_ACCOUNT, &gas, &n, &err) != 0)
        PC_LOG_W("/metrics: reading the gas totals failed: %s", err.message);
    for (size_t i = 0; i < n; i++) {
        now->transactions += gas[i].txs;
        now->gas_used += gas[i].gas_used;
        pc_u256_add(&now->gas_fee_wei, &now->gas_fee_wei, &gas[i].fee);
    }
    free(gas);
    /* a running total (unredeemed.h): no store read per channel */
    now->unredeemed_wei = pc_unredeemed_total(s->unredeemed);
}

/* The bearer token of --metrics-token, when one is set: 0, or -1 after answering. */
static int check_token(call *c)
{
    const char *want = c->s->cfg->metrics_token;
    if (!want || api_bearer_is(c, want))
        return 0;
    api_fail_code(c, PC_ERR_REQUEST_SIGNATURE_MISSING,
                  "GET /metrics needs `Authorization: Bearer <the --metrics-token>`");
    return -1;
}

void api_metrics(call *c)
{
    pc_metrics_now now;
    pc_prom out = {0};
    if (check_token(c) != 0)
        return;
    if (!c->s->metrics) {
        api_fail_code(c, PC_ERR_INTERNAL, "metrics are not available");
        return;
    }
    read_now(c->s, &now);
    pc_metrics_render(c->s->metrics, api_route_names(), &now, &out);
    if (out.failed || !out.buf) {
        pc_prom_free(&out);
        api_fail_code(c, PC_ERR_INTERNAL, "out of memory writing the metrics");
        return;
    }
    c->answer->status = 200;
    c->answer->content_type = "text/plain; version=0.0.4; charset=utf-8";
    c->answer->body_raw = out.buf; /* the answer owns it now */
    c->answer->body_raw_len = out.len;
}
