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
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"

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

/* A stack of idle curl handles; the mutex guards only checkout and checkin. */
typedef struct pc_client_pool {
    pthread_mutex_t lock;
    CURL *idle[PC_CLIENT_POOL_MAX];
    size_t n_idle;
} pc_client_pool;

struct paychan_client {
    char *base_url;   /* without a trailing '/' */
    long timeout_ms;  /* per call */
    pc_secp *secp;    /* read-only after creation: shared by all threads */
    uint8_t key[32];
    uint8_t mac_key[32]; /* request MAC key (core/request_auth.h) */
    int auth;            /* PAYCHAN_AUTH_MAC or PAYCHAN_AUTH_SIGNATURE */
    char address[PC_ADDRESS_TEXT_LEN];
    pc_client_pool pool;

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

/* The authentication header of target sent at stamp: *name and value.
 * x-pay-mac (the request MAC over address + target + "\n" + stamp) or
 * x-pay-signature (ECDSA, r || s || v hex, v 27/28, over the sha256 of the
 * same text), as configured. Returns 0, or -1 when the key is unusable. */
int pc_client_auth_header(const paychan_client *c, const char *target, const char *stamp,
                          const char **name, char value[PC_SIGNATURE_HEX_LEN]);

/* ---- calls to the Payment Server -------------------------------------------------------- */

typedef enum pc_client_call_kind {
    PC_CALL_READ = 0,    /* authenticated, the configured timeout */
    PC_CALL_CHAIN,       /* authenticated, sends transactions: 10 x the timeout */
    PC_CALL_ANONYMOUS    /* /status: no x-pay-* headers */
} pc_client_call_kind;

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

/* Sets up / tears down the pool. */
int pc_client_pool_init(pc_client_pool *p);
void pc_client_pool_free(pc_client_pool *p);

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
