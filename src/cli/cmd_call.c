/* cmd_call.c: `paychan call URL`, a paid HTTP request like curl: a token
 * from the team's paychand for the target's Mediator, sent in the x-pay-*
 * headers (docs/protocol.md section 2.2). Without --mediator the target is
 * asked first without payment; its 402 answer names its terms (section
 * 2.3), and useService with allowReuseExistingMediator=true answers the
 * account's live Mediator of exactly those terms (or deploys one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/encoding/bytes.h"

#define CALL_MAX_BODY (16 * 1024 * 1024)

typedef struct call_opts {
    const char *url, *mediator, *method, *data, *header;
    int include;
} call_opts;

/* The target's answer: status and body (bytes, not NUL-terminated). */
typedef struct call_answer {
    long status;
    pc_bytes body;
} call_answer;

/* curl's body callback: 0 (curl then fails the transfer) past CALL_MAX_BODY. */
static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    pc_bytes *b = userp;
    if (b->len + size * n > CALL_MAX_BODY || pc_bytes_append(b, data, size * n) != 0)
        return 0;
    return size * n;
}

/* The body as text for printing and JSON ("" when empty). */
static const char *body_text(call_answer *a)
{
    if (pc_bytes_push(&a->body, 0) != 0)
        return "";
    a->body.len--;
    return (const char *)a->body.data;
}

/* The request of o, with the payment headers pay (NULL: unpaid). */
static int send_request(const pc_cli *cli, const call_opts *o, const paychan_payment_headers *pay,
                        call_answer *a)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char line[256];
    if (!h)
        return pc_cli_fail(PC_CLI_LOCAL, "out of memory");
    if (pay) {
        const char *v[5] = {pay->sender, pay->mediator, pay->token_id, pay->request_count,
                            pay->signature};
        const char *k[5] = {PAYCHAN_HEADER_SENDER, PAYCHAN_HEADER_MEDIATOR,
                            PAYCHAN_HEADER_TOKEN_ID, PAYCHAN_HEADER_REQ_COUNT,
                            PAYCHAN_HEADER_SIGNATURE};
        for (int i = 0; i < 5; i++)
            snprintf(line, sizeof line, "%s: %s", k[i], v[i]), hdrs = curl_slist_append(hdrs, line);
    }
    if (o->header)
        hdrs = curl_slist_append(hdrs, o->header);
    curl_easy_setopt(h, CURLOPT_URL, o->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (o->data)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, o->data);
    if (o->method)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, o->method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cli->timeout_ms ? cli->timeout_ms : 30000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK)
        return pc_cli_fail(PC_CLI_UNREACHABLE, "%s: %s", o->url, curl_easy_strerror(rc));
    return PC_CLI_OK;
}

/* From the 402 answer's terms: the account's Mediator of those terms (useService, reuse). */
static int mediator_from_terms(pc_cli *cli, call_answer *a, char m[PC_ADDRESS_TEXT_LEN])
{
    json_t *body = json_loads(body_text(a), 0, NULL);
    json_t *t = json_object_get(body, "terms");
    char target[512] = "/useService", n1[24], n2[24];
    json_t *answer = NULL;
    snprintf(n1, sizeof n1, "%lld", (long long)json_integer_value(json_object_get(t, "terminationTimeout")));
    snprintf(n2, sizeof n2, "%lld",
             (long long)json_integer_value(json_object_get(t, "tokenRedemptionTimeout")));
    const char *provider = json_string_value(json_object_get(t, "serviceProvider"));
    const char *cost = json_string_value(json_object_get(t, "minCostPerRequest"));
    int rc = provider && cost ? PC_CLI_OK
                              : pc_cli_fail(PC_CLI_HTTP_ERROR, "the target answered 402 without "
                                                               "terms: %.200s", body_text(a));
    if (rc == PC_CLI_OK &&
        (pc_cli_query(target, sizeof target, "serviceProvider", provider) ||
         pc_cli_query(target, sizeof target, "costPerRequest", cost) ||
         pc_cli_query(target, sizeof target, "terminationTimeout", n1) ||
         pc_cli_query(target, sizeof target, "tokenRedemptionTimeout", n2) ||
         pc_cli_query(target, sizeof target, "allowReuseExistingMediator", "true")))
        rc = pc_cli_fail(PC_CLI_BAD_ANSWER, "the target's terms are too long");
    if (rc == PC_CLI_OK)
        rc = pc_cli_get(cli, target, PC_CALL_CHAIN, &answer);
    paychan_error err;
    if (rc == PC_CLI_OK && pc_client_answer_string(answer, "useService", "mediatorAddress", m,
                                                   PC_ADDRESS_TEXT_LEN, &err) != 0)
        rc = pc_cli_fail_error(cli, &err);
    json_decref(answer);
    json_decref(body);
    return rc;
}

static int print_answer(const pc_cli *cli, const call_opts *o, const char *m,
                        const paychan_payment_headers *pay, call_answer *a)
{
    if (cli->json) {
        json_t *out = json_pack("{s:I, s:s, s:s, s:s, s:s%}", "status", (json_int_t)a->status,
                                "mediator", m, "tokenId", pay->token_id, "requestCount",
                                pay->request_count, "body", body_text(a), a->body.len);
        pc_cli_print(cli, out);
        json_decref(out);
    } else {
        if (o->include)
            printf("HTTP %ld (paid: mediator %s token %s count %s)\n\n", a->status, m,
                   pay->token_id, pay->request_count);
        fwrite(body_text(a), 1, a->body.len, stdout);
    }
    if (a->status < 200 || a->status > 299)
        return pc_cli_fail(PC_CLI_HTTP_ERROR, "%s answered HTTP %ld", o->url, a->status);
    return PC_CLI_OK;
}

/* The Mediator to pay with: --mediator, or from the target's 402. *done is
 * set when the target answered without asking for payment (printed). */
static int find_mediator(pc_cli *cli, const call_opts *o, char m[PC_ADDRESS_TEXT_LEN], int *done)
{
    if (o->mediator)
        return pc_cli_address_arg(o->mediator, "--mediator", m);
    call_answer probe = {0};
    int rc = send_request(cli, o, NULL, &probe);
    if (rc == PC_CLI_OK && probe.status != 402) {
        *done = 1;
        fwrite(body_text(&probe), 1, probe.body.len, stdout);
        if (probe.status < 200 || probe.status > 299)
            rc = pc_cli_fail(PC_CLI_HTTP_ERROR, "%s answered HTTP %ld", o->url, probe.status);
    } else if (rc == PC_CLI_OK) {
        rc = mediator_from_terms(cli, &probe, m);
    }
    pc_bytes_free(&probe.body);
    return rc;
}

static int run_call(pc_cli *cli, int argc, char **argv)
{
    call_opts o = {0};
    const pc_cli_opt opts[] = {{"mediator", &o.mediator, NULL}, {"request", &o.method, NULL},
                               {"data", &o.data, NULL},         {"header", &o.header, NULL},
                               {"include", NULL, &o.include},   {0}};
    const char *pos[1];
    if (pc_cli_parse(cli, argc, argv, opts, pos, 1, 1) < 0)
        return PC_CLI_USAGE;
    o.url = pos[0];
    if (strncmp(o.url, "http://", 7) != 0 && strncmp(o.url, "https://", 8) != 0)
        return pc_cli_fail(PC_CLI_USAGE, "URL: expected http:// or https://");
    char m[PC_ADDRESS_TEXT_LEN], target[128];
    int done = 0, rc = pc_cli_connect(cli);
    if (rc == PC_CLI_OK)
        rc = find_mediator(cli, &o, m, &done);
    if (rc != PC_CLI_OK || done)
        return rc;
    json_t *answer;
    snprintf(target, sizeof target, "/contracts/%s/createSignatureHeaders", m);
    if ((rc = pc_cli_get(cli, target, PC_CALL_READ, &answer)) != PC_CLI_OK)
        return rc;
    paychan_payment_headers pay;
    paychan_error err;
    if (pc_client_headers_from_json(answer, &pay, &err) != 0)
        rc = pc_cli_fail_error(cli, &err);
    json_decref(answer);
    call_answer a = {0};
    if (rc == PC_CLI_OK && (rc = send_request(cli, &o, &pay, &a)) == PC_CLI_OK)
        rc = print_answer(cli, &o, m, &pay, &a);
    pc_bytes_free(&a.body);
    return rc;
}

const pc_cli_command pc_cli_call_commands[] = {
    {"call", "URL [--mediator M] [--request METHOD] [--data BODY] [--header 'K: V'] [--include]",
     "Makes a paid request to URL, like curl: takes a token (the next request\n"
     "count) from paychand for the Mediator M and sends it in the x-pay-* headers.\n"
     "Without --mediator, URL is first asked unpaid; if it answers 402 with its\n"
     "terms, paychand's live Mediator of exactly those terms to that provider is\n"
     "used (useService with allowReuseExistingMediator=true, which deploys one if\n"
     "there is none; fund it with `paychan deposit`). Prints the answer's body\n"
     "(--include: the status and the payment first; --json: status, mediator,\n"
     "token and body). Exit 6 when URL answers an HTTP error status.\n", run_call},
    {0},
};
