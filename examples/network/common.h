/* common.h: what the three services of the example network (docs/protocol.md §8)
 * share, so that each service file holds only its own endpoints:
 *
 *   - configuration from environment variables and flags, with --help;
 *   - the service's life: unlock its key with libpaychan (unless payment is
 *     switched off), listen, run until SIGTERM/SIGINT, shut down cleanly;
 *   - serving HTTP (serve.c) on the HTTP layer paychand uses (src/http,
 *     http.h): one event loop per core fed by an acceptor, keep-alive, GET
 *     and POST alike, the connection guard's limits and deadlines, strict
 *     parameters. The paid hot path a service begins (ex_service_def.begin)
 *     runs on its loop without blocking: its outgoing calls are easy
 *     handles run on the loop's curl multi (ex_request_fetch), each
 *     completion takes the next step, the last hands the answer over
 *     (ex_request_finish). A request the service declares quick
 *     (ex_service_def.quick) is answered on its loop; every other one (a
 *     blocking call to the Payment Server or another service: /init,
 *     /ready, ...) runs on a bounded pool of worker threads while its
 *     connection is suspended. No thread per connection;
 *   - /health (200 while the process serves) and /ready (200 when it can do
 *     its job, else 503 saying what is missing), answered for every service;
 *   - an outgoing HTTP client on libcurl that can attach the x-pay-*
 *     payment headers to a call: built into an easy handle (ex_call) that a
 *     loop runs without blocking, or run at once (ex_http_get); idle
 *     handles are kept per thread, so connections to the providers outlive
 *     the callers' own;
 *   - logging to stderr.
 *
 * These services are examples of how a microservice uses libpaychan: the
 * payment code itself lives in the service files and provider.c. */
#ifndef PAYCHAN_EXAMPLES_COMMON_H
#define PAYCHAN_EXAMPLES_COMMON_H

#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "paychan.h"

/* ---- the network's terms (protocol §8) -------------------------------------------- */

/* Prices at which a provider earns more than its gas (README "What the demo
 * earns"): a redemption (start, then redeem + payout in one call) takes ~150,000
 * gas, ~1.5-3e14
 * wei at the dev chain's ~1 gwei; 50 requests bring 5e14 / 1e15 wei, below
 * 10 x that gas, so paychand redeems them when asked (/redeem) rather than
 * by itself mid-demo. */
#define EX_COST_PERSISTENCE_WEI "20000000000000"   /* 20,000 gwei per /save */
#define EX_COST_RANDOM_WEI "10000000000000"        /* 10,000 gwei per /randomNumber */
#define EX_FUNDING_WEI "5000000000000000"          /* 5 finney per Mediator */
#define EX_AUTO_FUNDING_THRESHOLD_WEI "1000000000000000" /* top up below 1 finney */
/* The redemption grace period must be shorter than the termination timeout,
 * so that a provider can still redeem after the consumer starts terminating. */
#define EX_TERMINATION_TIMEOUT_S 40
#define EX_TOKEN_REDEMPTION_TIMEOUT_S 20

/* ---- configuration ------------------------------------------------------------------- */

/* Options a service uses beyond the common ones (listen, port, payment
 * server, keystore, password file, payment switch, timeouts, log level). */
#define EX_OPT_CALLS_PROVIDERS 1u /* the URLs and addresses of the two providers */

enum ex_log_level { EX_LOG_ERROR = 0, EX_LOG_INFO = 1, EX_LOG_DEBUG = 2 };

typedef struct ex_config {
    char listen[64];
    int port;
    char payment_server_url[512];
    char keystore[1024];
    char password_file[1024];
    int payment_inactive;
    long timeout_ms;                      /* Payment Server calls and calls to other services */
    uint64_t termination_timeout_s;
    uint64_t token_redemption_timeout_s;
    int log_level;
    /* EX_OPT_CALLS_PROVIDERS only */
    char persistence_url[512];
    char random_url[512];
    char persistence_address[64];         /* "" = ask the service's /status */
    char random_address[64];
    char funding_wei[80];                 /* deposit per Mediator (EX_FUNDING_WEI) */
    /* HTTP server (src/http): 0 = the layer's defaults */
    int http_workers;                     /* threads running requests that may block */
    int http_blocking_loops;              /* those threads are loops that may block */
    int max_connections;                  /* open connections in total */
    int max_connections_per_client;       /* per client IP address */
} ex_config;

/* ---- a service ------------------------------------------------------------------------ */

typedef struct ex_request ex_request;

/* An answer: an HTTP status and either a JSON body or a ready text body. */
typedef struct ex_answer {
    unsigned status;
    json_t *body; /* owned by the answer */
    char *text;   /* malloc'ed JSON text, sent instead of body when set; owned */
} ex_answer;

typedef struct ex_service ex_service;

typedef struct ex_service_def {
    const char *name;                       /* e.g. "persistence-service" */
    const char *summary;                    /* one paragraph for --help */
    const char *endpoints;                  /* the endpoint list for --help */
    int default_port;
    const char *default_payment_server_url;
    const char *default_keystore;           /* relative to the repository root */
    unsigned options;                       /* EX_OPT_* */
    /* After configuration and key unlocking, before listening. 0 = ok. */
    int (*setup)(ex_service *svc);
    /* One request; must fill *ans. Runs on many threads at once. */
    void (*handle)(ex_service *svc, const ex_request *req, ex_answer *ans);
    /* The service's paid hot path, served without blocking: starts req
     * (its outgoing calls through ex_request_fetch) and returns 1; req is
     * then the service's until it hands the answer to ex_request_finish.
     * 0 = not such a request (handle serves it). May run on an event loop
     * (then it must not block) or on a worker. NULL = none. */
    int (*begin)(ex_service *svc, ex_request *req);
    /* 1 when handle answers req without blocking (no call to the Payment
     * Server or another service, no lock held for long): it then runs on
     * the event loop, saving a hand-over to a worker. NULL = never. */
    int (*quick)(ex_service *svc, const ex_request *req);
    /* For /ready: adds to `missing` (a JSON array) the names of what this
     * service still lacks beyond its Payment Server, e.g. "mediators".
     * May block briefly. NULL = nothing more. */
    void (*not_ready)(ex_service *svc, json_t *missing);
    /* After the server stopped. May be NULL. */
    void (*teardown)(ex_service *svc);
} ex_service_def;

struct ex_service {
    const ex_service_def *def;
    ex_config cfg;
    paychan_client *client; /* NULL when payment is switched off */
    void *data;             /* the service's own state, set by setup */
};

/* The whole life of a service: parses the configuration (printing --help
 * and returning 0 when asked), creates the libpaychan client unless payment
 * is switched off, runs setup, serves until SIGTERM or SIGINT, then stops
 * the server, runs teardown and frees the client. Returns the process exit
 * status: 0 after a clean shutdown or --help, 2 on bad usage, 1 when the
 * service could not start. Call from main(), before starting threads. */
int ex_service_main(const ex_service_def *def, int argc, char **argv);

/* Parses env then flags (flags win) into *cfg. Returns 0 on success, 1
 * when --help was printed, -1 on bad usage (message printed). Exposed for
 * ex_service_main; services need not call it. */
int ex_config_parse(const ex_service_def *def, int argc, char **argv, ex_config *cfg);

/* ---- serving (serve.c) ------------------------------------------------------------------ */

typedef struct ex_server ex_server;

/* Starts serving svc on cfg.listen:cfg.port (logged with the bound port).
 * NULL on failure (logged). */
ex_server *ex_server_start(ex_service *svc);

/* Stops accepting, lets requests in flight finish, joins the threads. */
void ex_server_stop(ex_server *s);

/* How long /ready waits for the Payment Server. */
#define EX_READY_TIMEOUT_MS 2000

/* ---- logging (stderr) ------------------------------------------------------------------ */

void ex_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ex_log_error(...) ex_log(EX_LOG_ERROR, __VA_ARGS__)
#define ex_log_info(...) ex_log(EX_LOG_INFO, __VA_ARGS__)
#define ex_log_debug(...) ex_log(EX_LOG_DEBUG, __VA_ARGS__)

/* ---- reading a request (valid only during the handle call) ------------------------------- */

const char *ex_request_method(const ex_request *req);
/* The path, without the query string. */
const char *ex_request_path(const ex_request *req);
/* A parameter (query argument, or field of a form or JSON POST body), or NULL. */
const char *ex_request_param(const ex_request *req, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *ex_request_header(const ex_request *req, const char *name);
/* A paychan_header_getter over a request: pass the request as ctx. */
const char *ex_header_getter(void *ctx, const char *name);

/* ---- serving without blocking (serve.c) --------------------------------------------------- */

/* Called when an outgoing transfer of a begun request ended: result is
 * curl's. On the request's event loop (or at once on a worker). */
typedef void (*ex_fetched)(void *arg, CURL *easy, CURLcode result);

/* Runs easy for a begun request (ex_service_def.begin): on its event loop's
 * curl multi without blocking, then done(arg, easy, result) on that loop;
 * on a worker (or a loop that may block) with curl_easy_perform, done
 * called before this returns. done follows exactly once: at once with
 * CURLE_FAILED_INIT when the transfer cannot start. The easy handle must
 * carry CURLOPT_TIMEOUT_MS. */
void ex_request_fetch(ex_request *req, CURL *easy, ex_fetched done, void *arg);

/* Sends the answer of a begun request (takes *ans) and ends req's use: from
 * begin itself or from a done callback of ex_request_fetch. */
void ex_request_finish(ex_request *req, ex_answer *ans);

/* ---- answers ----------------------------------------------------------------------------- */

/* Sets a JSON answer; takes the reference to body. */
void ex_answer_json(ex_answer *ans, unsigned status, json_t *body);
/* {"error": message} */
void ex_answer_error(ex_answer *ans, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* {"error": what, "code": e->code, "message": paychan_error_public_message(e)};
 * logs e->message (which may name internal addresses) as an error. */
void ex_answer_paychan_error(ex_answer *ans, unsigned status, const char *what,
                             const paychan_error *e);
/* {"error": "no such endpoint", ...} with 404. */
void ex_answer_not_found(ex_answer *ans, const ex_request *req);

/* A libpaychan error as a JSON object {"code", "message"} (new reference), for
 * callers outside the service: the message is paychan_error_public_message(e). */
json_t *ex_paychan_error_json(const paychan_error *e);

/* What the Payment Server knows of one Mediator: {"funds": {"consumer",
 * "provider"}, "termination": {"terminated", "running", "willTerminateAt"}},
 * with {"error": {...}} in place of a part that could not be read. For the
 * /status?funds=true of the services. New reference. */
json_t *ex_mediator_state_json(paychan_client *c, const char *mediator);

/* ---- calling other services -------------------------------------------------------------- */

typedef struct ex_reply {
    long status;     /* HTTP status; 0 when no answer came */
    json_t *body;    /* the parsed JSON body, or NULL */
    char error[256]; /* why no answer came (status 0) */
} ex_reply;

/* One GET built into a libcurl easy handle (an idle one of this thread:
 * its connection and buffers are kept), with the payment headers of `pay`
 * unless it is NULL, waiting at most timeout_ms; NULL when out of memory.
 * Run ex_call_easy(call) (ex_request_fetch, or curl_easy_perform), then
 * ex_call_end, on the thread that began it. */
typedef struct ex_call ex_call;
ex_call *ex_call_begin(const char *url, const paychan_payment_headers *pay, long timeout_ms);
CURL *ex_call_easy(ex_call *call);

/* Reads the end of call's transfer (result: curl's) into *out and frees
 * the call (its handle back to this thread's idle ones). As ex_http_get:
 * 0 when an HTTP answer came, -1 otherwise; free *out with ex_reply_free. */
int ex_call_end(ex_call *call, CURLcode result, ex_reply *out);

/* GETs url on one of this thread's keep-alive handles, with the payment headers of
 * `pay` unless it is NULL, waiting at most timeout_ms. Returns 0 when an
 * HTTP answer came (of any status), -1 otherwise. Free *out with
 * ex_reply_free in both cases. */
int ex_http_get(const char *url, const paychan_payment_headers *pay, long timeout_ms,
                ex_reply *out);
void ex_reply_free(ex_reply *r);

/* ---- misc -------------------------------------------------------------------------------- */

/* Monotonic time in milliseconds, with fractions. */
double ex_now_ms(void);

/* 1 if s is a 0x-prefixed 40-hex-digit address. */
int ex_is_address(const char *s);

#endif
