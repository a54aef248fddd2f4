/* client_internal.h: the private parts of libpaychan shared by its source
 * files (and reached by its unit tests through the static paychan_client):
 * the client structure, error helpers, request authentication (docs/protocol.md §3),
 * the pool of keep-alive connections and the call to the Payment Server.
 * Nothing here is installed or exported from the shared library. */
#ifndef PAYCHAN_CLIENT_CLIENT_INTERNAL_H
#define PAYCHAN_CLIENT_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client/paychan.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/request_auth.h"
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"
#include "core/runtime/curl_pool.h"

/* Idle connections kept for reuse; more may be open while calls run. */
#define PC_CLIENT_POOL_MAX 32
/* Largest answer body accepted from the Payment Server. */
#define PC_CLIENT_MAX_ANSWER (1024 * 1024)
/* Wei amounts as decimal text (paychan_funds uses the same size). */
#define PC_CLIENT_WEI_LEN 80
/* Timestamp text: unix seconds, '.', six digits. */
#define PC_CLIENT_STAMP_LEN 32

/* One consumer target: configuration (immutable once added) and its Mediator. */
typedef struct pc_client_target {
    char *name;
    char provider[PC_ADDRESS_TEXT_LEN];
    char funding[PC_CLIENT_WEI_LEN];   /* "0": init deposits nothing */
    char threshold[PC_CLIENT_WEI_LEN];
    char cost[PC_CLIENT_WEI_LEN];
    uint64_t termination_timeout_s;
    uint64_t token_redemption_timeout_s;
    int reuse;
    char mediator[PC_ADDRESS_TEXT_LEN]; /* "" until init; written under the client's lock */
} pc_client_target;


struct paychan_client {
    char *base_url;   /* without a trailing '/' */
    long timeout_ms;  /* per call */
    pc_secp *secp;    /* read-only after creation: shared by all threads */
    uint8_t key[32];
    uint8_t mac_key[32]; /* request MAC key (core/request_auth.h) */
    int auth;            /* PAYCHAN_AUTH_MAC or PAYCHAN_AUTH_SIGNATURE */
    char address[PC_ADDRESS_TEXT_LEN];
    pc_curl_pool pool; /* idle handles to the Payment Server */

    pthread_mutex_t lock; /* the targets list, their Mediators, the provider terms */
    pc_client_target **targets; /* each allocated once: pointers stay valid */
    size_t n_targets, cap_targets;
    int has_terms;
    char min_cost[PC_CLIENT_WEI_LEN];
    uint64_t termination_timeout_s, token_redemption_timeout_s;
};

/* ---- errors --------------------------------------------------------------------------- */

/* Fills *err (if not NULL) with code, http_status and a printf-style message.
 * Returns -1 so that callers can write `return pc_client_fail(...)`. */
int pc_client_fail(paychan_error *err, int code, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Resets *err (if not NULL) to "no error". */
void pc_client_clear(paychan_error *err);

/* ---- values ----------------------------------------------------------------------------- */

/* Percent-encodes `in` for a query value (everything but RFC 3986 unreserved
 * characters) into out[cap]. Returns 0, or -1 if it does not fit. */
int pc_client_url_encode(const char *in, char *out, size_t cap);

/* Parses a decimal wei amount (NULL = dflt) into its canonical decimal text.
 * Returns 0, or -1 if it is not a decimal integer below 2^256. */
int pc_client_wei(const char *text, const char *dflt, char out[PC_CLIENT_WEI_LEN]);

/* Reads a 0x address (any case, EIP-55 checked when mixed) as lowercase text. 0 or -1. */
int pc_client_address_text(const char *text, char out[PC_ADDRESS_TEXT_LEN]);

/* ---- request authentication (protocol §3, timestamped) ---------------------------------- */

/* A fresh timestamp: unix seconds with a microsecond fraction, strictly
 * increasing within the process (so identical calls never repeat a
 * signature, even from many threads in one microsecond). */
void pc_client_stamp(char out[PC_CLIENT_STAMP_LEN]);

/* The authentication header of target sent at stamp (body: a POST's, else
 * NULL): *name and value.
 * x-pay-mac (the request MAC over address + target + "\n" + stamp [+ body]) or
 * x-pay-signature (ECDSA, r || s || v hex, v 27/28, over the sha256 of the
 * same text), as configured. Returns 0, or -1 when the key is unusable. */
int pc_client_auth_header(const paychan_client *c, const char *target, const char *stamp,
                          const pc_request_body *body, const char **name,
                          char value[PC_SIGNATURE_HEX_LEN]);

/* ---- calls to the Payment Server -------------------------------------------------------- */

typedef enum pc_client_call_kind {
    PC_CALL_READ = 0,    /* authenticated, the configured timeout */
    PC_CALL_CHAIN,       /* authenticated, sends transactions: 10 x the timeout */
    PC_CALL_ANONYMOUS    /* /status: no x-pay-* headers */
} pc_client_call_kind;

/* The answer body as it arrives; too_large once it passed PC_CLIENT_MAX_ANSWER. */
typedef struct pc_client_sink {
    char *data;
    size_t len;
    int too_large;
} pc_client_sink;

/* What a paychan_call (paychan.h) ends in: how its answer is read. */
typedef enum pc_client_call_job {
    PC_JOB_PLAIN = 0, /* the JSON object, for pc_client_get */
    PC_JOB_SIGN_MANY, /* paychan_sign_requests_end: headers for mediators[0..n) */
    PC_JOB_VALIDATE,  /* paychan_validate_payment_end: {"valid": true} */
    PC_JOB_VALIDATE_MANY /* paychan_validate_payments_end: {"results": [...]} for n */
} pc_client_call_job;

/* The Content-Type of libpaychan's POST bodies. */
#define PC_CLIENT_POST_TYPE "application/json"

/* One GET (or POST) to the Payment Server in flight: a pooled handle and
 * everything it points to until the transfer ends. Blocking and
 * non-blocking calls share it. */
struct paychan_call {
    paychan_client *c;
    CURL *h;
    char *target; /* kept to re-arm the call with a fresh stamp (205) */
    char *post_body; /* a POST's JSON body (NUL-terminated), else NULL */
    char *url;
    struct curl_slist *headers;
    char detail[CURL_ERROR_SIZE];
    pc_client_sink body;
    long timeout;
    pc_client_call_kind kind;
    int retried; /* the one 205 retry was taken */
    pc_client_call_job job;
    size_t n;    /* PC_JOB_SIGN_MANY, PC_JOB_VALIDATE_MANY */
    char mediators[PAYCHAN_SIGN_MANY_MAX][PC_ADDRESS_TEXT_LEN];
};

/* Begins a GET of target (see pc_client_get): takes a pooled handle and sets
 * it up with a fresh stamp, for the caller to run (curl_easy_perform or a
 * multi). timeout_ms 0 = as for kind. NULL with *err when out of memory. */
paychan_call *pc_client_call_begin(paychan_client *c, const char *target,
                                   pc_client_call_kind kind, long timeout_ms, paychan_error *err);

/* pc_client_call_begin for a POST of body (a JSON text, taken over by the
 * call: freed with it, or at once on failure), signed with it. */
paychan_call *pc_client_call_begin_post(paychan_client *c, const char *target, char *body,
                                        pc_client_call_kind kind, long timeout_ms,
                                        paychan_error *err);

/* Reads the end of call's transfer (cc: its curl result) as pc_client_get
 * does: 0 with *answer, -1 with *err, or PAYCHAN_CALL_AGAIN when the
 * Payment Server refused the stamp as replayed (205) for the first time:
 * the call is set up again with a fresh stamp, to be run once more. Never
 * frees the call (paychan_call_free does). */
int pc_client_call_end(paychan_call *call, CURLcode cc, json_t **answer, paychan_error *err);

/* The checks of every *_end before it reads its call: call was begun by
 * `begun_by` (so is of `job`) and has_output (the caller has somewhere to
 * put the outcome). 0; else the call is freed (*_end always frees it) and
 * -1 returned with PAYCHAN_E_CONFIG. */
int pc_client_end_check(paychan_call *call, pc_client_call_job job, const char *begun_by,
                        int has_output, paychan_error *err);

/* Runs call to its end on this thread (curl_easy_perform, and once more
 * after a 205): pc_client_call_end's 0 or -1, never PAYCHAN_CALL_AGAIN. */
int pc_client_call_perform(paychan_call *call, json_t **answer, paychan_error *err);

/* GETs base_url + target (path and query, sent exactly as signed). On a 2xx
 * answer with a JSON object body stores that object in *answer (the caller
 * json_decref's it) and returns 0. Otherwise returns -1 with *err:
 * PAYCHAN_E_SERVER_DOWN / _SERVER_TIMEOUT / _BAD_ANSWER, or the Payment
 * Server's own error code, message and HTTP status. A refusal as a replayed
 * request (205: another process stamped the same microsecond) is retried
 * once with a fresh stamp. Thread-safe. */
int pc_client_get(paychan_client *c, const char *target, pc_client_call_kind kind, json_t **answer,
                  paychan_error *err);

/* pc_client_get waiting at most timeout_ms (0 = as for kind). */
int pc_client_get_within(paychan_client *c, const char *target, pc_client_call_kind kind,
                         long timeout_ms, json_t **answer, paychan_error *err);

/* pc_client_get as a POST of body (a JSON text, taken over: freed in any
 * case), signed with it (docs/protocol.md §3.4). */
int pc_client_post(paychan_client *c, const char *target, char *body, pc_client_call_kind kind,
                   json_t **answer, paychan_error *err);

/* Sets up the pool (and curl, once per process); pc_curl_pool_free tears it down. */
int pc_client_pool_init(pc_curl_pool *p);

/* ---- answers ------------------------------------------------------------------------------ */

/* The string member `key` of obj copied into out[cap]; -1 (BAD_ANSWER in
 * *err, naming what) if it is missing, not a string or too long. */
int pc_client_answer_string(const json_t *obj, const char *what, const char *key, char *out,
                            size_t cap, paychan_error *err);

/* The boolean member `key`; -1 (BAD_ANSWER) if missing or not a boolean. */
int pc_client_answer_bool(const json_t *obj, const char *what, const char *key, int *out,
                          paychan_error *err);

/* The createSignatureHeaders answer (the five x-pay-* members as strings)
 * as headers, each checked for its form (addresses, decimals, signature).
 * Returns 0, or -1 with BAD_ANSWER. */
int pc_client_headers_from_json(const json_t *obj, paychan_payment_headers *out,
                                paychan_error *err);

/* "/contracts/<mediator lowercase>/<action>" for a Mediator address given
 * by the caller. Returns 0, or -1 (PAYCHAN_E_CONFIG) if it is no address. */
int pc_client_mediator_path(const char *mediator, const char *action, char *out, size_t cap,
                            paychan_error *err);

#endif
