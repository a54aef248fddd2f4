/* admin.c: the administration calls of libpaychan on one Mediator (redeem,
 * payout, terminate, termination status, funds) and /status. See paychan.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"

/* GET /contracts/<mediator>/<action>; the answer object in *answer. */
static int mediator_call(paychan_client *c, const char *mediator, const char *action,
                         pc_client_call_kind kind, json_t **answer, paychan_error *err)
{
    char path[128];
    pc_client_clear(err);
    *answer = NULL;
    if (!c)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client");
    if (pc_client_mediator_path(mediator, action, path, sizeof path, err) != 0)
        return -1;
    return pc_client_get(c, path, kind, answer, err);
}

int paychan_redeem(paychan_client *c, const char *mediator, paychan_error *err)
{
    json_t *answer;
    int started = 0;
    if (mediator_call(c, mediator, "redeemToken", PC_CALL_CHAIN, &answer, err) != 0)
        return -1;
    int rc = pc_client_answer_bool(answer, "redeemToken", "started", &started, err);
    json_decref(answer);
    if (rc == 0 && !started)
        rc = pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                            "redeemToken answered started: false without an error");
    return rc;
}

int paychan_payout(paychan_client *c, const char *mediator, paychan_error *err)
{
    json_t *answer;
    if (mediator_call(c, mediator, "payout", PC_CALL_CHAIN, &answer, err) != 0)
        return -1;
    json_decref(answer);
    return 0;
}

int paychan_terminate(paychan_client *c, const char *mediator, int *terminated,
                      paychan_error *err)
{
    json_t *answer;
    int closed = 0;
    if (mediator_call(c, mediator, "terminate", PC_CALL_CHAIN, &answer, err) != 0)
        return -1;
    int rc = pc_client_answer_bool(answer, "terminate", "terminated", &closed, err);
    json_decref(answer);
    if (rc == 0 && terminated)
        *terminated = closed;
    return rc;
}

int paychan_termination_status(paychan_client *c, const char *mediator,
                               paychan_termination *out, paychan_error *err)
{
    json_t *answer;
    paychan_termination t = {0};
    if (!out)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no output");
    if (mediator_call(c, mediator, "terminationStatus", PC_CALL_READ, &answer, err) != 0)
        return -1;
    int rc = pc_client_answer_bool(answer, "terminationStatus", "terminated", &t.terminated, err);
    if (rc == 0 && json_object_get(answer, "terminationRunning"))
        rc = pc_client_answer_bool(answer, "terminationStatus", "terminationRunning", &t.running,
                                   err);
    if (rc == 0 && t.running) {
        json_t *at = json_object_get(answer, "willTerminateAt");
        if (json_is_integer(at) && json_integer_value(at) >= 0)
            t.will_terminate_at = (uint64_t)json_integer_value(at);
        else
            rc = pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200,
                                "terminationStatus: \"willTerminateAt\" missing or not a time");
    }
    json_decref(answer);
    if (rc == 0)
        *out = t;
    return rc;
}

/* A decimal wei member of a /funds answer. */
static int funds_member(const json_t *answer, const char *key, char out[80], paychan_error *err)
{
    if (pc_client_answer_string(answer, "funds", key, out, 80, err) != 0)
        return -1;
    char canonical[PC_CLIENT_WEI_LEN];
    if (pc_client_wei(out, NULL, canonical) != 0)
        return pc_client_fail(err, PAYCHAN_E_BAD_ANSWER, 200, "funds: \"%s\" is not decimal wei",
                              key);
    return 0;
}

int paychan_funds_of(paychan_client *c, const char *mediator, paychan_funds *out,
                     paychan_error *err)
{
    json_t *answer;
    paychan_funds f;
    if (!out)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no output");
    if (mediator_call(c, mediator, "funds", PC_CALL_READ, &answer, err) != 0)
        return -1;
    int rc = funds_member(answer, "serviceConsumerFunds", f.consumer_wei, err);
    if (rc == 0)
        rc = funds_member(answer, "serviceProviderFunds", f.provider_wei, err);
    json_decref(answer);
    if (rc == 0)
        *out = f;
    return rc;
}

int paychan_status(paychan_client *c, char **json_out, paychan_error *err)
{
    json_t *answer;
    pc_client_clear(err);
    if (!c || !json_out)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client or no output");
    *json_out = NULL;
    if (pc_client_get(c, "/status", PC_CALL_ANONYMOUS, &answer, err) != 0)
        return -1;
    *json_out = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    return *json_out ? 0 : pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory");
}

/* ---- readiness ------------------------------------------------------------------------ */

#define PING_TIMEOUT_MS 2000

/* 1 when err says the Payment Server gave no HTTP answer at all. */
static int unanswered(const paychan_error *err)
{
    return err->http_status == 0;
}

/* A Payment Server without /ready: ready when /status answers with its
 * Ethereum node reachable (a /status without that member counts as ready). */
static int ping_status(paychan_client *c, long timeout_ms, paychan_server_health *out,
                       paychan_error *err)
{
    json_t *answer;
    if (pc_client_get_within(c, "/status", PC_CALL_ANONYMOUS, timeout_ms, &answer, err) != 0) {
        if (unanswered(err))
            return -1;
        out->http_status = err->http_status;
        snprintf(out->detail, sizeof out->detail, "/status: %.240s", err->message);
        pc_client_clear(err);
        return 0;
    }
    json_t *node = json_object_get(answer, "ethereumNodeReachable");
    out->http_status = 200;
    out->ready = !json_is_false(node);
    if (!out->ready)
        snprintf(out->detail, sizeof out->detail, "ethereumNode");
    json_decref(answer);
    return 0;
}

int paychan_ping(paychan_client *c, long timeout_ms, paychan_server_health *out,
                 paychan_error *err)
{
    json_t *answer;
    pc_client_clear(err);
    if (!c || !out)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no client or no output");
    memset(out, 0, sizeof *out);
    if (timeout_ms <= 0)
        timeout_ms = PING_TIMEOUT_MS;
    paychan_error e;
    if (pc_client_get_within(c, "/ready", PC_CALL_ANONYMOUS, timeout_ms, &answer, &e) == 0) {
        json_decref(answer);
        out->ready = 1;
        out->http_status = 200;
        return 0;
    }
    if (unanswered(&e)) {
        if (err)
            *err = e;
        return -1;
    }
    if (e.http_status == 404)
        return ping_status(c, timeout_ms, out, err);
    out->http_status = e.http_status; /* e.g. 503 with what is missing */
    snprintf(out->detail, sizeof out->detail, "%s", e.message);
    return 0;
}
