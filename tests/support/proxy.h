/* proxy.h (test support): the processes of paychan-proxy's tests - the
 * trivial Python upstream (tests/proxy/upstream.py) and paychan-proxy
 * itself, each on a free port with its output in a log file - and one HTTP
 * exchange that keeps the answer's status, headers and body as received. */
#ifndef PAYCHAN_TESTS_SUPPORT_PROXY_H
#define PAYCHAN_TESTS_SUPPORT_PROXY_H

#include <stddef.h>
#include <sys/types.h>

/* A started process: its pid, port and log. */
typedef struct pc_test_proc {
    pid_t pid;
    int port;
    char url[64];       /* "http://127.0.0.1:PORT" */
    char log_path[64];
    char name[32];
} pc_test_proc;

/* Starts the Python upstream; 0, or -1 after printing why. */
int pc_test_upstream_start(pc_test_proc *p);

/* Starts `binary` (paychan-proxy) with `--port P` and args (NULL-
 * terminated) and waits until its port accepts connections (10 s). 0, or
 * -1 after printing why and the log. */
int pc_test_proxy_start(pc_test_proc *p, const char *binary, const char *name,
                        const char *const *args);

/* Starts the example network's Python service (examples/network-proxy/
 * services.py) `role` on a free port; public gets the two provider URLs
 * (else NULL). 0, or -1 after printing why. */
int pc_test_python_service_start(pc_test_proc *p, const char *role, const char *persistence_url,
                                 const char *random_url);

/* SIGTERM; the exit status (pc_test_terminate), and the log is printed
 * when it is not 0. */
int pc_test_proc_stop(pc_test_proc *p);

/* 1 when p's log contains needle. */
int pc_test_proc_log_contains(const pc_test_proc *p, const char *needle);

/* The threads p runs now (/proc/PID/task), or -1. */
int pc_test_proc_threads(const pc_test_proc *p);

/* One HTTP exchange's result. */
typedef struct pc_test_exchange {
    long status;   /* 0: no answer */
    char *headers; /* the answer's header block as received (lower-cased) */
    char *body;    /* NUL-terminated (may also contain NULs: see len) */
    size_t len;
} pc_test_exchange;

/* Sends method url with header lines (NULL-terminated, may be NULL) and
 * body (len bytes; NULL = none), through proxy (an "http://host:port" to
 * use as HTTP proxy, or NULL), on a fresh connection. Always fills *x. */
void pc_test_exchange_send(const char *method, const char *url, const char *const *headers,
                           const char *body, size_t len, const char *proxy, long timeout_ms,
                           pc_test_exchange *x);

/* The value of answer header name (lower case) in x, in a static rotating
 * buffer, or NULL. */
const char *pc_test_exchange_header(const pc_test_exchange *x, const char *name);

void pc_test_exchange_free(pc_test_exchange *x);

/* Fails the running cmocka test unless x is HTTP status with the JSON error
 * shape {"name", "code": code, "message"}. */
void pc_test_expect_json_error(const pc_test_exchange *x, long status, long code);

/* "name:0x<64 hex digits of key>": an --account argument for a dev key. */
void pc_test_dev_account_arg(const char *name, const unsigned char key[32], char *out,
                             size_t cap);

#endif
