/* api_endpoints.c: the endpoints of docs/protocol.md §4, one function each. Answers and
 * parameters go through api_internal.h; the protocol work through
 * payments.h (per request) and the Mediator binding (transactions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/runtime/logger.h"
#include "server/api/api_internal.h"
#include "server/auth.h"
#include "server/money/gas_ledger.h"
#include "server/payments.h"

/* ---- /status ---------------------------------------------------------------------------- */

/* {"mode", "connectionsPerLoop": [...]} (pool mode) for /status. */
static json_t *http_status(const pc_http_request *req)
{
    int open[64];
    int loops = pc_http_loop_connections(req, open, 64);
    json_t *per_loop = json_array();
    for (int i = 0; i < loops && i < 64; i++)
        json_array_append_new(per_loop, json_integer(open[i]));
    return json_pack("{ssso}", "mode", loops ? "pool" : "threads", "connectionsPerLoop",
                     per_loop);
}

/* {"ready", "missing": [...], "reasons": {item: why}} and, when not ready,
 * the protocol's error fields (code 101 while the node is missing, else
 * 103: the store cannot take counts); the HTTP status into *status. */
static json_t *readiness_json(pc_server *s, unsigned *status)
{
    pc_ready_report rep;
    int ready = pc_readiness_check(s->readiness, &rep);
    json_t *missing = json_array(), *reasons = json_object();
    for (size_t i = 0; i < rep.n_missing; i++) {
        json_array_append_new(missing, json_string(rep.missing[i]));
        json_object_set_new(reasons, rep.missing[i], json_string(rep.reason[i]));
    }
    json_t *body = json_pack("{sbsoso}", "ready", ready, "missing", missing, "reasons", reasons);
    *status = ready ? 200 : 503;
    if (!ready) {
        int code = strcmp(rep.missing[0], "node") == 0 ? PC_ERR_NODE : PC_ERR_STORAGE_NOT_DURABLE;
        json_object_set_new(body, "name", json_string(pc_error_code_name(code)));
        json_object_set_new(body, "code", json_integer(code));
        json_object_set_new(body, "message", json_string(rep.reason[0]));
    }
    return body;
}

void api_ready(pc_server *s, pc_http_answer *answer)
{
    answer->body = readiness_json(s, &answer->status);
}

void api_health(pc_http_answer *answer)
{
    answer->status = 200;
    answer->body = json_pack("{ss}", "status", "serving");
}

/* {address: balance wei or null} of the served accounts. */
static json_t *balances_json(pc_server *s, int chain_up)
{
    json_t *accounts = json_object();
    for (size_t i = 0; i < pc_accounts_count(s->accounts); i++) {
        char addr[PC_ADDRESS_TEXT_LEN], wei[PC_U256_DEC_LEN];
        pc_u256 balance;
        pc_address_format(pc_accounts_address(s->accounts, i), addr);
        if (chain_up && pc_chain_cache_balance(s->cache, i, &balance)) {
            pc_u256_to_dec(&balance, wei);
            json_object_set_new(accounts, addr, json_string(wei));
        } else {
            json_object_set_new(accounts, addr, json_null());
        }
    }
    return accounts;
}

/* Never waits on the node: the node's health and the balances are what the
 * starter or the chain cache's follower last saw (it asks once per follow
 * interval). Answers like /ready (200 or 503 with its fields) so that a
 * caller checking the status code is not told all is well while the node,
 * the store or the keys are missing; the body is the full status either way. */
void api_status(pc_server *s, const pc_http_request *req, pc_http_answer *answer)
{
    pc_node_status node;
    int up = pc_readiness_chain_up(s->readiness);
    pc_readiness_node_status(s->readiness, &node);
    int node_ok = node.checked && node.reachable;
    json_t *body = readiness_json(s, &answer->status);
    json_object_set_new(body, "web3ProviderHost", json_string(s->cfg->node_url));
    json_object_set_new(body, "chainId", up || s->cfg->chain_id
                                             ? json_integer((json_int_t)s->chain_id)
                                             : json_null());
    json_object_set_new(body, "ethereumNodeReachable", json_boolean(node_ok));
    json_object_set_new(body, "blockNumber",
                        node_ok && up ? json_integer((json_int_t)node.block) : json_null());
    if (node.checked && !node.reachable)
        json_object_set_new(body, "ethereumNodeError", json_string(node.error));
    json_object_set_new(body, "ethereumNodeCheckedAt",
                        node.checked ? json_integer((json_int_t)(node.checked_at_ms / 1000))
                                     : json_null());
    json_object_set_new(body, "accounts", balances_json(s, up));
    json_object_set_new(body, "storage", json_string(pc_store_describe(s->store)));
    json_object_set_new(body, "storageDurable", json_boolean(pc_store_durable(s->store)));
    json_object_set_new(body, "storageAcceptsDataLoss",
                        json_boolean(pc_store_accepts_data_loss(s->store)));
    json_object_set_new(body, "mediators",
                        json_pack("{sIsI}", "consumer",
                                  (json_int_t)pc_payment_registered_count(s, PC_ROLE_CONSUMER),
                                  "provider",
                                  (json_int_t)pc_payment_registered_count(s, PC_ROLE_PROVIDER)));
    json_object_set_new(body, "http", http_status(req));
    json_t *gas = pc_gas_ledger_status(s); /* the gas our accounts spent (gas_ledger.h) */
    json_object_set_new(body, "gas", gas ? gas : json_null());
    json_object_set_new(body, "unstampedAuth", json_boolean(s->cfg->allow_unstamped_auth));
    if (pc_auth_unstamped_warning(s->cfg))
        json_object_set_new(body, "unstampedAuthWarning",
                            json_string(pc_auth_unstamped_warning(s->cfg)));
    answer->body = body;
}

/* ---- /useService ---------------------------------------------------------------------- */

/* An existing live Mediator of (caller -> terms->provider) with these terms. */
static int find_reusable(call *c, const pc_mediator_terms *terms, pc_address *out)
{
    pc_mediator_record *recs = NULL;
    size_t n = 0;
    pc_error err;
    int found = 0;
    if (pc_store_list_mediators(c->s->store, &recs, &n, &err) != 0)
        return 0;
    for (size_t i = 0; i < n && !found; i++) {
        pc_mediator_view v;
        if (recs[i].role != PC_ROLE_CONSUMER || !pc_address_equal(&recs[i].account, &c->caller) ||
            !pc_address_equal(&recs[i].counterparty, &terms->provider) ||
            pc_chain_cache_get(c->s->cache, &recs[i].mediator, &v, &err) != 0)
            continue;
        found = !v.state.terminated && v.state.termination_started_at == 0 &&
                !pc_u256_is_zero(&v.state.active_token_id) &&
                pc_u256_cmp(&v.terms.cost_per_request, &terms->cost_per_request) == 0 &&
                v.terms.termination_timeout == terms->termination_timeout &&
                v.terms.token_redemption_timeout == terms->token_redemption_timeout;
        if (found)
            *out = recs[i].mediator;
    }
    free(recs);
    return found;
}

void api_use_service(call *c)
{
    pc_mediator_terms terms = {.consumer = c->caller};
    int reuse;
    if (api_param_address(c, "serviceProvider", &terms.provider) ||
        api_param_bool(c, "allowReuseExistingMediator", &reuse) ||
        api_param_u256(c, "costPerRequest", "1", &terms.cost_per_request) ||
        api_param_u64(c, "terminationTimeout", "3600", &terms.termination_timeout) ||
        api_param_u64(c, "tokenRedemptionTimeout", "3600", &terms.token_redemption_timeout))
        return;
    const char *bad = pc_address_is_zero(&terms.provider) ? "serviceProvider: the zero address"
                      : pc_address_equal(&terms.provider, &c->caller)
                          ? "serviceProvider: the consumer itself"
                      : pc_u256_is_zero(&terms.cost_per_request) ? "costPerRequest: must be positive"
                      : terms.termination_timeout == 0 ? "terminationTimeout: must be positive"
                      : terms.token_redemption_timeout == 0
                          ? "tokenRedemptionTimeout: must be positive"
                          : NULL;
    if (bad) {
        pc_error err;
        pc_error_set(&err, PC_ERR_INVALID_ARGUMENT, "parameter %s", bad);
        api_fail(c, &err, NULL);
        return;
    }
    pc_address mediator;
    if (reuse && find_reusable(c, &terms, &mediator)) {
        api_ok(c, json_pack("{so}", "mediatorAddress", api_address_json(&mediator)));
        return;
    }
    pc_error err;
    pc_u256 initial = pc_mediator_random_token_id();
    pc_wallet *w = pc_accounts_find(c->s->accounts, &c->caller);
    if (pc_mediator_deploy(w, &terms, &initial, &mediator, NULL, NULL, &err) != 0 ||
        pc_payment_register(c->s, &mediator, PC_ROLE_CONSUMER, &c->caller, &terms.provider,
                            &err) != 0) {
        api_fail(c, &err, NULL);
        return;
    }
    char addr[PC_ADDRESS_TEXT_LEN];
    pc_address_format(&mediator, addr);
    PC_LOG_I("deployed Mediator %s", addr);
    api_ok(c, json_pack("{ss}", "mediatorAddress", addr));
}

/* ---- consumer calls ---------------------------------------------------------------------- */

void api_deposit(call *c, const char *amount_text)
{
    pc_mediator_view v;
    pc_u256 amount, threshold = {{0}}, top_up;
    pc_error err;
    if (pc_u256_parse(amount_text, &amount) != 0 || pc_u256_is_zero(&amount)) {
        api_fail_code(c, PC_ERR_INVALID_ARGUMENT, "the amount must be a positive integer (wei)");
        return;
    }
    /* autoFundingAmount (our extension): what the automatic top-ups deposit,
     * when it is not this deposit's amount (libpaychan tops up by the
     * difference to its funding, and wants the funding remembered) */
    if (api_param_u256(c, "autoFundingThreshold", "0", &threshold) != 0 ||
        api_param_u256(c, "autoFundingAmount", amount_text, &top_up) != 0)
        return;
    pc_wallet *w = api_caller_view(c, &v);
    if (!w)
        return;
    if (!pc_address_equal(&v.terms.consumer, &c->caller)) {
        api_fail_code(c, PC_ERR_ONLY_CONSUMER, "only the consumer may deposit");
        return;
    }
    int rc = pc_mediator_deposit(w, &c->mediator, &amount, NULL, NULL, &err);
    api_changed(c);
    pc_mediator_record rec;
    int found = 0;
    if (rc == 0 && (pc_payment_register(c->s, &c->mediator, PC_ROLE_CONSUMER, &c->caller,
                                        &v.terms.provider, &err) != 0 ||
                    pc_store_get_mediator(c->s->store, &c->mediator, PC_ROLE_CONSUMER, &rec,
                                          &found, &err) != 0))
        rc = -1;
    if (rc == 0 && found) {
        rec.deposit_amount = top_up;
        rec.funding_threshold = threshold;
        rc = pc_store_put_mediator(c->s->store, &rec, &err);
    }
    if (rc != 0)
        api_fail(c, &err, NULL);
    else
        api_ok(c, json_object());
}

json_t *api_headers_json(const pc_payment_headers *h)
{
    char sig[PC_SIGNATURE_HEX_LEN], count[24];
    pc_signature_to_hex(&h->signature, sig);
    snprintf(count, sizeof(count), "%llu", (unsigned long long)h->request_count);
    /* header values: decimal numbers, lowercase 0x-hex addresses (docs/protocol.md §2) */
    return json_pack("{sososossss}", "x-pay-sender", api_address_json(&h->sender),
                     "x-pay-mediator", api_address_json(&h->mediator), "x-pay-token-id",
                     api_u256_json(&h->token_id), "x-pay-req-count", count, "x-pay-signature",
                     sig);
}

void api_answer_headers(call *c, const pc_payment_headers *h)
{
    api_ok(c, api_headers_json(h));
}

void api_create_signature_headers(call *c)
{
    pc_payment_headers h;
    pc_error err;
    /* old clients also send ?privateKey=...: it is ignored, and never logged */
    if (pc_payment_create(c->s, &c->caller, &c->mediator, &h, &err) != 0)
        api_fail(c, &err, NULL);
    else
        api_answer_headers(c, &h);
}

/* Every check for every Mediator first, so that a refusal takes no count. */
void api_create_signature_headers_many(call *c)
{
    pc_address m[API_MANY_MAX];
    pc_payment_headers h[API_MANY_MAX];
    size_t n;
    pc_error err;
    if (api_param_mediators(c, 1, m, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (pc_payment_create_begin(c->s, &c->caller, &m[i], &h[i], &err) != 0) {
            api_fail(c, &err, NULL);
            return;
        }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        if (pc_payment_create_finish(c->s, &h[i], &err) != 0) {
            json_decref(list);
            api_fail(c, &err, NULL);
            return;
        }
        json_array_append_new(list, api_headers_json(&h[i]));
    }
    api_ok(c, json_pack("{so}", "headers", list));
}

/* Our extension: a consumer gives back the last count it took and never
 * sent (a token signed ahead of need, unused when it stops), so that it
 * does not pay for it: the next createSignatureHeaders takes it again. */
void api_return_count(call *c)
{
    pc_u256 token_id;
    uint64_t count;
    int returned;
    pc_error err;
    if (api_param_u256(c, "tokenId", NULL, &token_id) ||
        api_param_u64(c, "reqCount", NULL, &count))
        return;
    if (count == 0 || count > PC_STORE_COUNT_MAX)
        api_fail_code(c, PC_ERR_INVALID_ARGUMENT,
                      "parameter reqCount: not a count paychand issues (1 to 2^53 - 1)");
    else if (pc_payment_return(c->s, &c->caller, &c->mediator, &token_id, count, &returned,
                               &err) != 0)
        api_fail(c, &err, NULL);
    else
        api_ok(c, json_pack("{sb}", "returned", returned));
}

/* ---- provider calls ---------------------------------------------------------------------- */

int api_validate_params(call *c, pc_payment_headers *t, pc_payment_terms *want)
{
    pc_address named;
    pc_error err;
    t->mediator = c->mediator;
    if (api_param_address(c, "sender", &t->sender) ||
        api_param_u256(c, "tokenId", NULL, &t->token_id) ||
        api_param_u64(c, "reqCount", NULL, &t->request_count))
        return -1;
    if (api_terms_read(c->req, want, &err) != 0) {
        api_fail(c, &err, NULL);
        return -1;
    }
    if (pc_http_param(c->req, "mediator") &&
        (api_param_address(c, "mediator", &named) != 0 ||
         !pc_address_equal(&named, &c->mediator))) {
        if (c->answer->status == 0)
            api_fail_code(c, PC_ERR_INVALID_ARGUMENT, "parameter mediator differs from the path");
        return -1;
    }
    if (api_value_signature(pc_http_param(c->req, "signature"), &t->signature, &err) != 0) {
        api_fail(c, &err, NULL);
        return -1;
    }
    return 0;
}

void api_validate_token(call *c)
{
    pc_payment_headers t;
    pc_payment_terms want;
    json_t *meta = NULL;
    pc_error err;
    if (api_validate_params(c, &t, &want) != 0)
        return;
    if (pc_payment_validate(c->s, &c->caller, &t, &want, &meta, &err) != 0)
        api_fail(c, &err, meta);
    else
        api_ok(c, json_pack("{sb}", "valid", 1));
}

/* The caller must be the provider of c->mediator; its wallet, or NULL after answering. */
static pc_wallet *provider_wallet(call *c, pc_mediator_view *v)
{
    pc_wallet *w = api_caller_view(c, v);
    if (w && !pc_address_equal(&v->terms.provider, &c->caller)) {
        api_fail_code(c, PC_ERR_ONLY_PROVIDER, "only the provider may do this");
        return NULL;
    }
    return w;
}

void api_redeem_token(call *c)
{
    pc_mediator_view v;
    pc_error err;
    pc_wallet *w = provider_wallet(c, &v);
    if (!w)
        return;
    pc_u256 next = pc_mediator_random_token_id();
    int rc = pc_payment_register(c->s, &c->mediator, PC_ROLE_PROVIDER, &c->caller,
                                 &v.terms.consumer, &err);
    if (rc == 0)
        rc = pc_mediator_start_token_redemption(w, &c->mediator, &next, NULL, NULL, &err);
    api_changed(c);
    if (rc != 0)
        api_fail(c, &err, NULL);
    else
        api_ok(c, json_pack("{sb}", "started", 1));
}

void api_payout(call *c)
{
    pc_mediator_view v;
    pc_error err;
    pc_wallet *w = provider_wallet(c, &v);
    if (!w)
        return;
    int rc = pc_mediator_payout(w, &c->mediator, NULL, NULL, &err);
    api_changed(c);
    if (rc != 0)
        api_fail(c, &err, NULL);
    else
        api_ok(c, json_object());
}

/* ---- either party ---------------------------------------------------------------------------- */

/* Current view of a Mediator the caller is a party of; 0, or -1 after answering. */
static int party_view(call *c, pc_mediator_view *v, pc_wallet **w)
{
    pc_error err;
    *w = pc_accounts_find(c->s->accounts, &c->caller);
    /* these calls report state: read it now; a failure leaves the cache as it was */
    if (pc_chain_cache_get_current(c->s->cache, &c->mediator, v, &err) != 0) {
        api_fail(c, &err, NULL);
        return -1;
    }
    if (!pc_address_equal(&v->terms.consumer, &c->caller) &&
        !pc_address_equal(&v->terms.provider, &c->caller)) {
        api_fail_code(c, PC_ERR_NOT_A_PARTY, "the sender is not a party of this Mediator");
        return -1;
    }
    return 0;
}

void api_terminate(call *c)
{
    pc_mediator_view v;
    pc_wallet *w;
    pc_error err;
    if (party_view(c, &v, &w) != 0)
        return;
    if (v.state.terminated) {
        api_ok(c, json_pack("{sb}", "terminated", 1));
        return;
    }
    int is_provider = pc_address_equal(&v.terms.provider, &c->caller);
    int rc = 0;
    if (is_provider)
        rc = pc_mediator_close_by_provider(w, &c->mediator, NULL, NULL, &err);
    else if (v.state.termination_started_at == 0)
        rc = pc_mediator_start_close(w, &c->mediator, NULL, NULL, &err);
    api_changed(c);
    if (rc != 0)
        api_fail(c, &err, NULL);
    else if (is_provider)
        api_ok(c, json_pack("{sb}", "terminated", 1));
    else
        api_ok(c, json_pack("{sbsb}", "terminated", 0, "terminationStarted", 1));
}

void api_termination_status(call *c)
{
    pc_mediator_view v;
    pc_wallet *w;
    if (party_view(c, &v, &w) != 0)
        return;
    if (v.state.terminated)
        api_ok(c, json_pack("{sb}", "terminated", 1));
    else if (v.state.termination_started_at != 0)
        api_ok(c, json_pack("{sbsbsI}", "terminated", 0, "terminationRunning", 1,
                            "willTerminateAt",
                            (json_int_t)(v.state.termination_started_at +
                                         v.terms.termination_timeout)));
    else
        api_ok(c, json_pack("{sb}", "terminated", 0));
}

void api_funds(call *c)
{
    pc_mediator_view v;
    pc_wallet *w;
    if (party_view(c, &v, &w) != 0)
        return;
    api_ok(c, json_pack("{soso}", "serviceConsumerFunds", api_u256_json(&v.state.consumer_funds),
                        "serviceProviderFunds", api_u256_json(&v.state.provider_funds)));
}
