/* paychan.h: libpaychan, the library a microservice links to pay for
 * (consumer side) or get paid for (provider side) each HTTP request it
 * makes or serves, through its team's Payment Server (paychand).
 *
 * The service never talks to the chain. It talks to its Payment Server
 * over HTTP, authenticating every call with its own key (docs/protocol.md §3, the
 * replay-protected scheme); the Payment Server holds the same account's key
 * for the chain. Usage examples: docs/libpaychan.md.
 *
 * Threading: one paychan_client may be used from any number of threads at
 * once; it keeps keep-alive connections to the Payment Server.
 * Errors: every function that can fail returns 0 on success and -1 on
 * failure, filling *err (which may be NULL) with a code and a message. The
 * code is the Payment Server's (docs/protocol.md §4: 4 = token signature invalid, 37 =
 * request count used, ...) or one of the PAYCHAN_E_* codes below for
 * failures on the way there. Nothing here aborts the process. */
#ifndef PAYCHAN_H
#define PAYCHAN_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library-side failure codes (the protocol's codes stay below 600). */
#define PAYCHAN_E_SERVER_DOWN 600      /* no connection to the Payment Server */
#define PAYCHAN_E_SERVER_TIMEOUT 601   /* it did not answer in time */
#define PAYCHAN_E_BAD_ANSWER 602       /* it answered something that is not its API */
#define PAYCHAN_E_CONFIG 603           /* invalid configuration or argument */
#define PAYCHAN_E_PAYMENT_MISSING 604  /* a request arrived without (complete) x-pay-* headers */
#define PAYCHAN_E_UNKNOWN_TARGET 605   /* no target of that name, or not initialised */
#define PAYCHAN_E_NO_MEMORY 606

typedef struct paychan_error {
    int code;          /* 0 when there is no error */
    int http_status;   /* the Payment Server's HTTP status; 0 when it gave none */
    char message[256];
} paychan_error;

/* The payment headers of one request (docs/protocol.md §2), as NUL-terminated text. */
#define PAYCHAN_HEADER_SENDER "x-pay-sender"
#define PAYCHAN_HEADER_MEDIATOR "x-pay-mediator"
#define PAYCHAN_HEADER_TOKEN_ID "x-pay-token-id"
#define PAYCHAN_HEADER_REQ_COUNT "x-pay-req-count"
#define PAYCHAN_HEADER_SIGNATURE "x-pay-signature"

typedef struct paychan_payment_headers {
    char sender[43];        /* consumer address, lowercase 0x-hex */
    char mediator[43];      /* Mediator address, lowercase 0x-hex */
    char token_id[80];      /* decimal */
    char request_count[24]; /* decimal */
    char signature[133];    /* 0x + 130 hex digits */
} paychan_payment_headers;

typedef struct paychan_client paychan_client;

/* ---- set-up ---------------------------------------------------------------------- */

typedef struct paychan_config {
    const char *server_url;    /* the team's Payment Server, e.g. "http://127.0.0.1:3002" */
    const char *keystore_path; /* this service's V3 keystore ... */
    const char *password_path; /* ... and the file holding its password */
    const char *dev_key_hex;   /* instead: a raw 0x-hex key, for development chains only */
    long timeout_ms;           /* per call; 0 = 10000 (calls that send transactions - init,
                                  redeem, payout, terminate - wait 10 x that) */
    int auth;                  /* how calls are authenticated: PAYCHAN_AUTH_MAC (0, default)
                                  or PAYCHAN_AUTH_SIGNATURE */
} paychan_config;

/* Request authentication (docs/protocol.md §3). Both are stamped and accepted once.
 * PAYCHAN_AUTH_MAC: paychand's x-pay-mac extension, an HMAC-SHA256 keyed
 *   from the service's key (~1 us per call here, ~1 us to check);
 * PAYCHAN_AUTH_SIGNATURE: the protocol's ECDSA signature (~27 us here, a
 *   ~43 us recovery on the server), for Payment Servers without the MAC. */
#define PAYCHAN_AUTH_MAC 0
#define PAYCHAN_AUTH_SIGNATURE 1

/* Creates a client: unlocks the service's key (keystore, or the dev key)
 * and prepares the connections; sends nothing. Fails with
 * PAYCHAN_E_CONFIG for a missing URL, an unreadable keystore or a wrong
 * password. *out is NULL on failure. */
int paychan_client_create(const paychan_config *cfg, paychan_client **out, paychan_error *err);

/* Wipes the key and frees the client. No call may be running. NULL is a no-op. */
void paychan_client_destroy(paychan_client *c);

/* This service's address (lowercase 0x-hex), owned by the client. */
const char *paychan_client_address(const paychan_client *c);

/* ---- consumer side ------------------------------------------------------------------- */

/* A provider this service pays, with the terms of the Mediator to it.
 *
 * Funding (docs/libpaychan.md, "Funding"): funding_wei is the target
 * balance of the consumer funds in the Mediator, auto_funding_threshold_wei
 * the top-up threshold (at most funding_wei). paychan_init deposits nothing
 * while the funds are at or above the threshold (above funding_wei - 1 when
 * there is none), else exactly the difference up to funding_wei. paychand's
 * automatic top-ups deposit funding_wei whenever the funds fall below the
 * threshold (docs/protocol.md §7). The fields are those of earlier versions;
 * only init's deposit changed: it used to pay in funding_wei again whenever
 * the funds were below it. */
typedef struct paychan_target_config {
    const char *name;                       /* the caller's handle, e.g. "random" */
    const char *provider;                   /* the provider's address */
    const char *funding_wei;                /* target balance; NULL or "0": init deposits nothing */
    const char *auto_funding_threshold_wei; /* top up below this; NULL or "0": paychand never
                                               tops up, init tops up below funding_wei */
    const char *cost_per_request_wei;       /* NULL: "1" */
    uint64_t termination_timeout_s;         /* 0: 3600 */
    uint64_t token_redemption_timeout_s;    /* 0: 3600 */
    int reuse_existing_mediator;            /* 1: reuse a live Mediator with these terms */
} paychan_target_config;

/* Adds a target (copied). Names are unique per client. */
int paychan_add_target(paychan_client *c, const paychan_target_config *t, paychan_error *err);

/* For every target: has the Payment Server deploy (or reuse) its Mediator
 * and tops its consumer funds up to funding_wei when they are below the
 * threshold (see paychan_target_config), depositing only the difference.
 * Waits for the chain. Safe to call again: with reuse it keeps the
 * Mediators; a failed read of a reused Mediator's funds fails init rather
 * than deposit blindly. */
int paychan_init(paychan_client *c, paychan_error *err);

/* The Mediator address of target `name` after init, or NULL. */
const char *paychan_target_mediator(const paychan_client *c, const char *name);

/* The payment headers for the next request to target `name`: the Payment
 * Server takes the next request count and signs the token. */
int paychan_sign_request(paychan_client *c, const char *name, paychan_payment_headers *out,
                         paychan_error *err);

/* paychan_sign_request for n targets at once: out[i] for names[i], in one
 * call to the Payment Server (paychand's /createSignatureHeaders?mediators=
 * extension: one round trip and one durable write for all). 1 <= n <=
 * PAYCHAN_SIGN_MANY_MAX; a name may repeat (each gets its own count).
 * Nothing is sent unless every target is known and initialised, and the
 * Payment Server checks every Mediator before taking any count. Returns 0
 * when all were signed, else -1 with *err. */
#define PAYCHAN_SIGN_MANY_MAX 16
int paychan_sign_requests(paychan_client *c, const char *const *names, size_t n,
                          paychan_payment_headers *out, paychan_error *err);

/* Gives back the token h that paychan_sign_request(s) took and that was
 * never sent (say one signed ahead of need and unused when the service
 * stops), so that the consumer does not pay for it: paychand's returnCount
 * (our extension, docs/protocol.md §4.1). *returned = 1 when h's count was
 * the last one taken for its token id: the next paychan_sign_request for
 * that Mediator takes the same count again. *returned = 0 when a later
 * count was taken since (by any caller of this account): nothing changes,
 * and h is simply spent (a provider that gets it is paid for it).
 * Preconditions: h exactly as paychan_sign_request(s) filled it for this
 * client (else PAYCHAN_E_CONFIG, nothing sent); h was not sent, and is not
 * sent afterwards (a provider that saw it refuses the same count issued
 * again, code 37). Blocking (one call to the Payment Server, no chain
 * transaction); meant for shutdown. */
int paychan_return_request(paychan_client *c, const paychan_payment_headers *h, int *returned,
                           paychan_error *err);

/* ---- provider side ---------------------------------------------------------------------- */

/* The terms this provider requires of every Mediator that pays it. */
typedef struct paychan_provider_terms {
    const char *min_cost_per_request_wei;
    uint64_t termination_timeout_s;
    uint64_t token_redemption_timeout_s;
} paychan_provider_terms;

/* Sets (copies) the required terms; must be called before validating. */
int paychan_set_provider_terms(paychan_client *c, const paychan_provider_terms *t,
                               paychan_error *err);

/* Reads the five x-pay-* headers of an incoming request through `get`
 * (which returns a header's value by lowercase name, or NULL). Fails with
 * PAYCHAN_E_PAYMENT_MISSING naming the first missing header. */
typedef const char *(*paychan_header_getter)(void *ctx, const char *name);
int paychan_read_payment_headers(paychan_header_getter get, void *ctx,
                                 paychan_payment_headers *out, paychan_error *err);

/* Has the Payment Server validate (and durably record) the payment of one
 * incoming request. 0 = paid; -1 = refuse the request (answer 402 with
 * paychan_payment_required_body). */
int paychan_validate_payment(paychan_client *c, const paychan_payment_headers *h,
                             paychan_error *err);

/* Has the Payment Server validate n payments (1..PAYCHAN_VALIDATE_MANY_MAX)
 * in one call (POST /validateTokens: one round trip, one durable commit),
 * each exactly as paychan_validate_payment would, independently of the
 * others. Returns 0 when the call itself succeeded: then errs[i].code is 0
 * for a paid payment i, else its refusal (as paychan_validate_payment's
 * *err would be). -1 with *err when the call failed as a whole (no payment
 * is to be taken as paid; errs untouched). */
#define PAYCHAN_VALIDATE_MANY_MAX 16
int paychan_validate_payments(paychan_client *c, const paychan_payment_headers *h, size_t n,
                              paychan_error *errs, paychan_error *err);

/* The JSON body of a 402 Payment Required answer for the failure `why`
 * (docs/protocol.md §2): {"name", "code", "message", "terms":
 * {"serviceProvider", "minCostPerRequest", "terminationTimeout",
 * "tokenRedemptionTimeout"}}. "message" is paychan_error_public_message(why):
 * never a Payment Server's or node's address or connection error, which
 * belong in the provider's log. malloc'ed, free() it; NULL only when out of
 * memory. */
char *paychan_payment_required_body(const paychan_client *c, const paychan_error *why);

/* 1 when err is about the caller's payment or request (a missing or
 * malformed header, a bad signature, a replayed count, too little funds,
 * other terms, a closed Mediator, ...): refuse it with 402. 0 when the
 * payment could not be checked (the Payment Server or its node unreachable,
 * slow or failing, a configuration error): answer 503, try again later. */
int paychan_error_is_payment_fault(const paychan_error *err);

/* A message about err that may be shown to callers outside the service:
 * err->message for a payment fault (paychan_error_is_payment_fault), else a
 * short fixed reason that names no internal address ("the provider's
 * Payment Server is unreachable", ...); log err->message for the operator.
 * The string is err->message or a constant. */
const char *paychan_error_public_message(const paychan_error *err);

/* ---- non-blocking calls ----------------------------------------------------------------- */

/* The two calls of a paid request's hot path, for a service that runs its
 * own event loop: *_begin builds the call to the Payment Server into a
 * libcurl easy handle and sends nothing; the caller runs that handle on its
 * own curl multi (or with curl_easy_perform), then hands its result to
 * *_end, which reads the answer. Same checks, codes and messages as the
 * blocking forms, which are this code run with curl_easy_perform.
 *
 * The easy handle belongs to the call (and, between calls, to the client's
 * pool of idle handles, so connections and buffers are kept): do not clean
 * it up or change its options; CURLOPT_PRIVATE is the caller's. Remove it
 * from your multi before *_end or paychan_call_free. A call may begin on
 * one thread and end on another, but is used by one thread at a time; the
 * client must outlive its calls. */
typedef struct paychan_call paychan_call;

/* *_end's answer: the Payment Server refused the call's stamp as replayed
 * (205, another process stamped the same microsecond). The call is set up
 * again with a fresh stamp (once per call): run paychan_call_easy(call) again. */
#define PAYCHAN_CALL_AGAIN 1

/* paychan_sign_requests as a call; NULL with *err (nothing sent: an unknown
 * or uninitialised target, n out of range, out of memory). */
paychan_call *paychan_sign_requests_begin(paychan_client *c, const char *const *names, size_t n,
                                          paychan_error *err);

/* paychan_validate_payment as a call; NULL with *err (no terms, headers
 * that are not of their form, out of memory). */
paychan_call *paychan_validate_payment_begin(paychan_client *c, const paychan_payment_headers *h,
                                             paychan_error *err);

/* paychan_validate_payments as a call; NULL with *err (no terms, n out of
 * range, headers that are not of their form, out of memory). */
paychan_call *paychan_validate_payments_begin(paychan_client *c, const paychan_payment_headers *h,
                                              size_t n, paychan_error *err);

/* The handle to run; NULL for a NULL call. */
CURL *paychan_call_easy(paychan_call *call);

/* After the call's transfer ended with result (CURLMsg.data.result, or
 * curl_easy_perform's): 0 = signed, out[i] for names[i]; -1 = failed, *err
 * as paychan_sign_requests; PAYCHAN_CALL_AGAIN = re-armed, run it again.
 * The call is freed unless PAYCHAN_CALL_AGAIN is returned. */
int paychan_sign_requests_end(paychan_call *call, CURLcode result, paychan_payment_headers *out,
                              paychan_error *err);

/* The same for paychan_validate_payment: 0 = paid, -1 = refuse (*err),
 * PAYCHAN_CALL_AGAIN = run it again; freed unless PAYCHAN_CALL_AGAIN. */
int paychan_validate_payment_end(paychan_call *call, CURLcode result, paychan_error *err);

/* The same for paychan_validate_payments: 0 = answered, errs[i] for each
 * payment (code 0: paid); -1 = the call failed (*err); PAYCHAN_CALL_AGAIN =
 * run it again; freed unless PAYCHAN_CALL_AGAIN. */
int paychan_validate_payments_end(paychan_call *call, CURLcode result, paychan_error *errs,
                                  paychan_error *err);

/* Abandons a call that has not ended (its handle out of any multi). NULL is a no-op. */
void paychan_call_free(paychan_call *call);

/* ---- administration (either side, on one Mediator) ---------------------------------- */

/* Provider: start a two-phase redemption of the active token (the Payment
 * Server's timer finishes it after the grace period). */
int paychan_redeem(paychan_client *c, const char *mediator, paychan_error *err);

/* Provider: move the earned funds out of the Mediator. */
int paychan_payout(paychan_client *c, const char *mediator, paychan_error *err);

/* Either party: terminate (provider: at once; consumer: starts the
 * termination timeout). *terminated (may be NULL) = 1 if it is closed now. */
int paychan_terminate(paychan_client *c, const char *mediator, int *terminated,
                      paychan_error *err);

typedef struct paychan_termination {
    int terminated;
    int running;                /* consumer's termination timeout running */
    uint64_t will_terminate_at; /* unix seconds, when running */
} paychan_termination;

int paychan_termination_status(paychan_client *c, const char *mediator,
                               paychan_termination *out, paychan_error *err);

typedef struct paychan_funds {
    char consumer_wei[80];
    char provider_wei[80];
} paychan_funds;

int paychan_funds_of(paychan_client *c, const char *mediator, paychan_funds *out,
                     paychan_error *err);

/* The Payment Server's /status answer as JSON text (malloc'ed; free()). */
int paychan_status(paychan_client *c, char **json_out, paychan_error *err);

/* ---- readiness ------------------------------------------------------------------------ */

/* What paychan_ping learned of the Payment Server. */
typedef struct paychan_server_health {
    int ready;         /* it can serve: /ready answered 200; or, on a Payment Server
                          without /ready (404), /status answered with its Ethereum
                          node reachable */
    int http_status;   /* the status of the answer that decided */
    char detail[256];  /* when not ready: what the Payment Server said is missing */
} paychan_server_health;

/* Asks the Payment Server whether it is ready, waiting at most timeout_ms
 * (0 = 2000) for each of at most two calls: GET /ready, and GET /status when
 * /ready answers 404 (a Payment Server older than /ready). Unauthenticated.
 * Returns 0 when it answered (*out says whether it is ready), -1 when it
 * could not be reached or did not answer in time (PAYCHAN_E_SERVER_DOWN,
 * PAYCHAN_E_SERVER_TIMEOUT) or answered something else than HTTP
 * (PAYCHAN_E_BAD_ANSWER). For a service's own readiness endpoint. */
int paychan_ping(paychan_client *c, long timeout_ms, paychan_server_health *out,
                 paychan_error *err);

#ifdef __cplusplus
}
#endif

#endif
