/* payclient.h (test support): a small HTTP client of paychand's REST API
 * (docs/protocol.md §4) over libcurl, for the integration tests. It authenticates each
 * request as a microservice does (docs/protocol.md §3):
 *
 *   x-pay-sender     the service's address, lowercase 0x-hex
 *   x-pay-timestamp  unix seconds with a fraction ("1764457272.000042"),
 *                    unique per request, so identical calls within one
 *                    second still get distinct signatures
 *   x-pay-signature  the service's raw ECDSA signature, r || s || v hex, over
 *                    sha256(sender + target + "\n" + timestamp), plus for a
 *                    POST "\nPOST\n" + Content-Type + "\n" + hex(sha256(body))
 *
 * and can also send the original unstamped scheme (sha256(sender + target)),
 * the request MAC extension (x-pay-mac), and deliberately broken variants,
 * to test the server's refusals.
 *
 * One client holds one curl handle (keep-alive): use a client from one
 * thread at a time; make one client per thread for concurrent calls. */
#ifndef PAYCHAN_TESTS_SUPPORT_PAYCLIENT_H
#define PAYCHAN_TESTS_SUPPORT_PAYCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/encoding/hex.h"

typedef struct pc_test_client pc_test_client;

/* How a request is authenticated. */
typedef enum pc_test_auth_mode {
    PC_TEST_AUTH_STAMPED = 0,   /* the timestamped scheme (default) */
    PC_TEST_AUTH_UNSTAMPED,     /* the original scheme: no x-pay-timestamp */
    PC_TEST_AUTH_NONE,          /* no x-pay-* headers at all */
    PC_TEST_AUTH_NO_SENDER,     /* stamped, but without x-pay-sender */
    PC_TEST_AUTH_NO_SIGNATURE,  /* stamped, but without x-pay-signature */
    PC_TEST_AUTH_CORRUPT,       /* stamped, with one bit of s flipped in the signature */
    PC_TEST_AUTH_NOT_HEX,       /* stamped, with x-pay-signature "0xnothex" */
    PC_TEST_AUTH_V01,           /* stamped, v written 0/1 instead of 27/28 (same signature) */
    /* our extension: x-pay-mac (core/request_auth.h) instead of x-pay-signature */
    PC_TEST_AUTH_MAC,           /* stamped, with the request MAC */
    PC_TEST_AUTH_MAC_UNSTAMPED, /* the request MAC without x-pay-timestamp */
    PC_TEST_AUTH_MAC_CORRUPT,   /* stamped, one digit of the MAC changed */
    PC_TEST_AUTH_MAC_UPPER      /* stamped, the same MAC in upper case without 0x */
} pc_test_auth_mode;

typedef struct pc_test_auth {
    pc_test_auth_mode mode;
    const char *timestamp;      /* NULL = now with a fresh fraction; else sent (and signed) as is */
    const uint8_t *signer_key;  /* NULL = the client's key: sign with another key on purpose */
    const char *sender;         /* NULL = the client's address: claim another sender on purpose */
    const char *signed_target;  /* NULL = the target sent: sign another one on purpose */
    const char *signed_body;    /* POST: NULL = the body sent: sign another one on purpose */
    const char *signed_type;    /* POST: NULL = the Content-Type sent: sign another one */
    int sign_as_get;            /* POST: sign it as if it were a GET (no body part) */
    const char *signature;      /* NULL = sign; else sent as x-pay-signature as it is (a
                                   captured or independently made one) */
} pc_test_auth;

/* One answer. */
typedef struct pc_test_reply {
    long status;  /* HTTP status; 0 when no answer came (connection refused, reset, timeout) */
    json_t *body; /* the parsed JSON body, or NULL if the body is not JSON */
    char *text;   /* the raw body, NUL-terminated (never NULL after a call) */
} pc_test_reply;

/* A client of the server at base_url ("http://127.0.0.1:PORT") acting as the
 * service with secret key `key` (NULL = anonymous, for /status and
 * PC_TEST_AUTH_NONE). Returns NULL on failure. */
pc_test_client *pc_test_client_create(const char *base_url, const uint8_t key[32]);

/* Frees c. NULL is a no-op. */
void pc_test_client_destroy(pc_test_client *c);

/* The service's address, and its lowercase text (as sent in x-pay-sender). */
const pc_address *pc_test_client_address(const pc_test_client *c);
const char *pc_test_client_sender(const pc_test_client *c);

/* Sends `method` ("GET", "POST", ...) to `target` (path and query string,
 * sent exactly as given and signed as such), with `auth` (NULL = stamped,
 * the client's key) and, if json_body is not NULL, that body with
 * Content-Type application/json (a POST without one: an empty form body).
 * Fills *out (free with pc_test_reply_free). Returns 0 when an HTTP answer
 * came, -1 otherwise (out->status 0). Timeout 60 s. */
int pc_test_request(pc_test_client *c, const char *method, const char *target,
                    const pc_test_auth *auth, const char *json_body, pc_test_reply *out);

/* pc_test_request with any body: len bytes (NULs allowed) with Content-Type
 * content_type (NULL = no Content-Type header). */
int pc_test_request_body(pc_test_client *c, const char *method, const char *target,
                         const pc_test_auth *auth, const char *content_type, const char *body,
                         size_t len, pc_test_reply *out);

/* Stamped GET / POST of a printf-formatted target. */
int pc_test_get(pc_test_client *c, pc_test_reply *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int pc_test_post(pc_test_client *c, pc_test_reply *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Releases the reply's body and text and zeroes it. */
void pc_test_reply_free(pc_test_reply *r);

/* A string member of the body, or NULL. */
const char *pc_test_reply_string(const pc_test_reply *r, const char *key);

/* The body's "code" member (the protocol's error code), or -1 if there is none. */
long pc_test_reply_code(const pc_test_reply *r);

/* A fresh timestamp text: unix seconds `offset` from now, with a fraction
 * that is unique within this process. out needs 40 bytes. */
void pc_test_timestamp(long offset, char out[40]);

#endif
