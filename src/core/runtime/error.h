/* error.h: the error codes of the protocol (docs/protocol.md §4) and an error value that
 * carries a code plus a human-readable message through every layer.
 *
 * Functions that can fail for reasons a caller must report take a
 * `pc_error *err` (which may be NULL when the caller does not care) and
 * return 0 on success or -1 on failure, filling *err. */
#ifndef PAYCHAN_CORE_ERROR_H
#define PAYCHAN_CORE_ERROR_H

#include <stddef.h>

enum pc_error_code {
    PC_OK = 0,
    PC_ERR_TERMINATED = 1,            /* Mediator terminated, or last token redeemed */
    PC_ERR_ONLY_PROVIDER = 2,
    PC_ERR_ONLY_CONSUMER = 3,
    PC_ERR_TOKEN_SIGNATURE = 4,
    PC_ERR_REDEMPTION_TIMEOUT = 30,   /* redemption grace period not over yet */
    PC_ERR_TOKEN_ID_ACTIVE = 31,
    PC_ERR_REDEMPTION_RUNNING = 32,
    PC_ERR_TOKEN_ID_USED = 33,
    PC_ERR_INSUFFICIENT_FUNDS = 34,
    PC_ERR_UNKNOWN_TOKEN_ID = 36,
    PC_ERR_COUNT_USED = 37,
    PC_ERR_TERMS_MISMATCH = 38,
    PC_ERR_NO_REDEMPTION = 39,
    PC_ERR_TERMINATION_NOT_STARTED = 40,
    PC_ERR_TERMINATION_TIMEOUT = 41,
    PC_ERR_TERMINATION_STARTED = 42,  /* new: termination already started */
    PC_ERR_DEPLOYMENT = 50,
    PC_ERR_DEPOSIT = 60,
    PC_ERR_TRANSACTION = 100,
    PC_ERR_NODE = 101,
    PC_ERR_TRANSFER = 102,            /* new: an ether transfer out of the Mediator failed */
    PC_ERR_STORAGE_NOT_DURABLE = 103, /* new: the store cannot make a count durable now */
    PC_ERR_REQUEST_SIGNATURE = 200,
    PC_ERR_REQUEST_SIGNATURE_MISSING = 201,
    PC_ERR_SENDER_MISSING = 202,
    PC_ERR_UNKNOWN_ACCOUNT = 203,     /* new: the sender is not an account this server serves */
    PC_ERR_STALE_REQUEST = 204,       /* new: request timestamp outside the allowed window */
    PC_ERR_REPLAYED_REQUEST = 205,    /* new: this request signature was used before */
    PC_ERR_TIMESTAMP_MISSING = 206,   /* new: x-pay-timestamp required (unstamped scheme off) */
    PC_ERR_NOT_A_PARTY = 207,         /* new: the sender is neither consumer nor provider of M */
    PC_ERR_NOT_FOUND = 404,           /* new: no such endpoint */
    PC_ERR_INVALID_ARGUMENT = 300,    /* new: malformed parameter or input */
    PC_ERR_KEYSTORE = 301,            /* new: keystore unreadable, wrong password, bad MAC */
    PC_ERR_INTERNAL = 500             /* new: out of memory or a bug */
};

typedef struct pc_error {
    int code;            /* an enum pc_error_code value, PC_OK when no error */
    char message[256];   /* NUL-terminated, never contains secrets */
} pc_error;

/* Fills *err (if not NULL) with code and a printf-style message. Returns -1
 * so that callers can write `return pc_error_set(err, ...);`. */
int pc_error_set(pc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets *err (if not NULL) to PC_OK with an empty message. */
void pc_error_clear(pc_error *err);

/* Short fixed description of a protocol code (docs/protocol.md §4), "unknown error" for others. */
const char *pc_error_code_meaning(int code);

/* A CamelCase name of the code for JSON error answers ("TokenSignatureInvalid"). */
const char *pc_error_code_name(int code);

/* The HTTP status the REST API answers an error of this code with
 * (docs/protocol.md §4): 503 for the node or storage, 500 for our own
 * faults, 400 InvalidArgument, 404 NotFound, else 412. */
unsigned pc_error_http_status(int code);

#endif
