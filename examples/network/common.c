/* common.c: see common.h. */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/runtime/stop_signals.h"

/* ---- logging ----------------------------------------------------------------------------- */

static int g_log_level = EX_LOG_INFO;
static const char *g_log_name = "example";

void ex_log(int level, const char *fmt, ...)
{
    if (level > g_log_level)
        return;
    static const char *const names[] = {"error", "info", "debug"};
    struct timeval tv;
    struct tm tm;
    char stamp[32];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line, so lines of concurrent threads do not interleave. */
    fprintf(stderr, "%s.%03ldZ %s [%s] %s\n", stamp, (long)(tv.tv_usec / 1000), g_log_name,
            names[level], line);
}

/* ---- configuration ----------------------------------------------------------------------- */

enum opt_kind { OPT_STRING, OPT_INT, OPT_LONG, OPT_U64, OPT_BOOL, OPT_LEVEL, OPT_WEI };

typedef struct ex_option {
    const char *flag;
    const char *env;
    enum opt_kind kind;
    size_t offset;
    size_t size;    /* of a string field */
    unsigned needs; /* 0 = every service; else an EX_OPT_* bit */
    const char *arg;
    const char *help;
} ex_option;

#define FIELD(f) offsetof(ex_config, f), sizeof(((ex_config *)0)->f)

static const ex_option options[] = {
    {"--listen", "LISTEN", OPT_STRING, FIELD(listen), 0, "ADDR", "IPv4 address to listen on"},
    {"--port", "PORT", OPT_INT, FIELD(port), 0, "N", "port to listen on (0: any free port)"},
    {"--payment-server-url", "PAYMENT_SERVER_URL", OPT_STRING, FIELD(payment_server_url), 0,
     "URL", "this service's Payment Server (paychand)"},
    {"--keystore", "KEYSTORE", OPT_STRING, FIELD(keystore), 0, "FILE",
     "V3 keystore of this service's account"},
    {"--password-file", "PASSWORD_FILE", OPT_STRING, FIELD(password_file), 0, "FILE",
     "file holding the keystore's password"},
    {"--payment-inactive", "PAYMENT_INACTIVE", OPT_BOOL, FIELD(payment_inactive), 0, NULL,
     "switch payment off: no Payment Server, no x-pay-* headers sent or checked"},
    {"--timeout-ms", "TIMEOUT_MS", OPT_LONG, FIELD(timeout_ms), 0, "MS",
     "per call to the Payment Server or another service"},
    {"--termination-timeout", "TERMINATION_TIMEOUT", OPT_U64, FIELD(termination_timeout_s), 0,
     "S", "Mediator termination timeout, seconds (all services must agree)"},
    {"--token-redemption-timeout", "TOKEN_REDEMPTION_TIMEOUT", OPT_U64,
     FIELD(token_redemption_timeout_s), 0, "S",
     "Mediator token redemption timeout, seconds (all services must agree)"},
    {"--log-level", "LOG_LEVEL", OPT_LEVEL, FIELD(log_level), 0, "LEVEL",
     "error, info or debug (debug logs every request)"},
    {"--http-workers", "HTTP_WORKERS", OPT_INT, FIELD(http_workers), 0, "N",
     "threads running the requests that may block (0: 16 per core; at most 64 as loops)"},
    {"--http-blocking-loops", "HTTP_BLOCKING_LOOPS", OPT_BOOL, FIELD(http_blocking_loops), 0,
     NULL, "the --http-workers threads are event loops on which a request may wait for "
     "another process (default false: one loop per core runs the paid requests' calls "
     "without blocking and hands the other calls to workers)"},
    {"--max-connections", "MAX_CONNECTIONS", OPT_INT, FIELD(max_connections), 0, "N",
     "open connections in total; past it the oldest idle one is shed (0: from the "
     "descriptor limit)"},
    {"--max-connections-per-client", "MAX_CONNECTIONS_PER_CLIENT", OPT_INT,
     FIELD(max_connections_per_client), 0, "N",
     "open connections per client IP address (0: --max-connections)"},
    {"--persistence-service-url", "PERSISTENCE_SERVICE_URL", OPT_STRING, FIELD(persistence_url),
     EX_OPT_CALLS_PROVIDERS, "URL", "where persistence-service listens"},
    {"--random-nr-service-url", "RANDOM_NR_SERVICE_URL", OPT_STRING, FIELD(random_url),
     EX_OPT_CALLS_PROVIDERS, "URL", "where random-nr-service listens"},
    {"--persistence-service-address", "PERSISTENCE_SERVICE_ADDRESS", OPT_STRING,
     FIELD(persistence_address), EX_OPT_CALLS_PROVIDERS, "0xADDR",
     "persistence-service's account (default: asked from its /status at /init)"},
    {"--random-nr-service-address", "RANDOM_NR_SERVICE_ADDRESS", OPT_STRING,
     FIELD(random_address), EX_OPT_CALLS_PROVIDERS, "0xADDR",
     "random-nr-service's account (default: asked from its /status at /init)"},
    {"--funding-wei", "FUNDING_WEI", OPT_WEI, FIELD(funding_wei), EX_OPT_CALLS_PROVIDERS, "WEI",
     "deposit per Mediator at /init and per top-up (the top-up threshold stays 1 finney)"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static int applies(const ex_option *o, const ex_service_def *def)
{
    return o->needs == 0 || (def->options & o->needs) != 0;
}

/* A default file of the repository: relative to the working directory when
 * it is there (running from the repository root), else under the source
 * tree the binary was built from. */
static void default_repo_file(char *out, size_t size, const char *relative)
{
    snprintf(out, size, "%s", relative);
#ifdef PAYCHAN_EXAMPLES_REPO_ROOT
    if (access(relative, R_OK) != 0)
        snprintf(out, size, "%s/%s", PAYCHAN_EXAMPLES_REPO_ROOT, relative);
#endif
}

static void set_defaults(const ex_service_def *def, ex_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1");
    cfg->port = def->default_port;
    snprintf(cfg->payment_server_url, sizeof cfg->payment_server_url, "%s",
             def->default_payment_server_url);
    default_repo_file(cfg->keystore, sizeof cfg->keystore, def->default_keystore);
    default_repo_file(cfg->password_file, sizeof cfg->password_file,
                      "devnet/dev-only/password.txt");
    cfg->timeout_ms = 10000;
    cfg->termination_timeout_s = EX_TERMINATION_TIMEOUT_S;
    cfg->token_redemption_timeout_s = EX_TOKEN_REDEMPTION_TIMEOUT_S;
    cfg->log_level = EX_LOG_INFO;
    snprintf(cfg->persistence_url, sizeof cfg->persistence_url, "http://127.0.0.1:8001");
    snprintf(cfg->random_url, sizeof cfg->random_url, "http://127.0.0.1:8002");
    snprintf(cfg->funding_wei, sizeof cfg->funding_wei, "%s", EX_FUNDING_WEI);
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 0;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 0;
    return -1;
}

static int parse_level(const char *v, int *out)
{
    static const char *const names[] = {"error", "info", "debug"};
    for (int i = 0; i < 3; i++)
        if (strcasecmp(v, names[i]) == 0)
            return *out = i, 0;
    return -1;
}

/* Stores text v into the option's field. */
static int set_option(const ex_option *o, ex_config *cfg, const char *v)
{
    char *field = (char *)cfg + o->offset;
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case OPT_STRING:
        if (strlen(v) >= o->size)
            return -1;
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case OPT_INT: {
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < 0 || n > 65535)
            return -1;
        *(int *)(void *)field = (int)n;
        return 0;
    }
    case OPT_LONG: {
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n <= 0)
            return -1;
        *(long *)(void *)field = n;
        return 0;
    }
    case OPT_U64: {
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || end == v || *end || n == 0 || v[0] == '-')
            return -1;
        *(uint64_t *)(void *)field = n;
        return 0;
    }
    case OPT_BOOL:
        return parse_bool(v, (int *)(void *)field);
    case OPT_LEVEL:
        return parse_level(v, (int *)(void *)field);
    case OPT_WEI: /* a decimal amount; libpaychan checks its range */
        if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) >= o->size)
            return -1;
        memcpy(field, v, strlen(v) + 1);
        return 0;
    }
    return -1;
}

static void format_default(const ex_option *o, const ex_config *cfg, char *out, size_t size)
{
    const char *field = (const char *)cfg + o->offset;
    static const char *const levels[] = {"error", "info", "debug"};
    switch (o->kind) {
    case OPT_STRING:
    case OPT_WEI:
        snprintf(out, size, "%s", *field ? field : "(none)");
        break;
    case OPT_INT:
        snprintf(out, size, "%d", *(const int *)(const void *)field);
        break;
    case OPT_LONG:
        snprintf(out, size, "%ld", *(const long *)(const void *)field);
        break;
    case OPT_U64:
        snprintf(out, size, "%llu",
                 (unsigned long long)*(const uint64_t *)(const void *)field);
        break;
    case OPT_BOOL:
        snprintf(out, size, "%s", *(const int *)(const void *)field ? "true" : "false");
        break;
    case OPT_LEVEL:
        snprintf(out, size, "%s", levels[*(const int *)(const void *)field]);
        break;
    }
}

static void print_help(const ex_service_def *def, const ex_config *defaults)
{
    printf("Usage: %s [OPTIONS]\n\n%s\n\nEndpoints:\n%s\n%s", def->name, def->summary,
           def->endpoints,
           "  /health      200 while the process serves\n"
           "  /ready       200 when it can do its job, else 503 {\"missing\": [...]}\n"
           "               (\"paymentServer\": payment is on and its Payment Server is\n"
           "               unreachable or not ready; PublicService: \"mediators\" before /init)\n");
    printf("\nOptions (each also read from the environment variable named; flags win):\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const ex_option *o = &options[i];
        if (!applies(o, def))
            continue;
        char dflt[1100];
        format_default(o, defaults, dflt, sizeof dflt);
        printf("  %s%s%s  (env %s%s)\n      %s; default: %s\n", o->flag, o->arg ? " " : "",
               o->arg ? o->arg : "", o->env, o->kind == OPT_BOOL ? "=true" : "", o->help, dflt);
    }
    printf("  --help\n      this text\n\nLogs go to stderr. SIGTERM or SIGINT: clean exit 0.\n");
}

/* "--flag value" or "--flag=value"; bool flags take no value. */
static int parse_flags(const ex_service_def *def, int argc, char **argv, ex_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const ex_option *o = NULL;
        for (size_t k = 0; k < N_OPTIONS && !o; k++)
            if (applies(&options[k], def) && strlen(options[k].flag) == name_len &&
                strncmp(options[k].flag, arg, name_len) == 0)
                o = &options[k];
        if (!o) {
            fprintf(stderr, "%s: unknown option %s (see --help)\n", def->name, arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && o->kind == OPT_BOOL)
            value = "true";
        if (!value && i + 1 < argc)
            value = argv[++i];
        if (!value || set_option(o, cfg, value) != 0) {
            fprintf(stderr, "%s: bad value for %s (see --help)\n", def->name, o->flag);
            return -1;
        }
    }
    return 0;
}

int ex_config_parse(const ex_service_def *def, int argc, char **argv, ex_config *cfg)
{
    set_defaults(def, cfg);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(def, cfg);
            return 1;
        }
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *v = getenv(options[i].env);
        if (v && applies(&options[i], def) && set_option(&options[i], cfg, v) != 0) {
            fprintf(stderr, "%s: bad value in %s (see --help)\n", def->name, options[i].env);
            return -1;
        }
    }
    if (parse_flags(def, argc, argv, cfg) != 0)
        return -1;
    if (cfg->token_redemption_timeout_s >= cfg->termination_timeout_s)
        ex_log_info("warning: token redemption timeout %llu s is not below the termination "
                    "timeout %llu s; a provider may be unable to redeem during termination",
                    (unsigned long long)cfg->token_redemption_timeout_s,
                    (unsigned long long)cfg->termination_timeout_s);
    return 0;
}

/* ---- answers ----------------------------------------------------------------------------- */

void ex_answer_json(ex_answer *ans, unsigned status, json_t *body)
{
    ans->status = status;
    json_decref(ans->body);
    ans->body = body;
}

void ex_answer_error(ex_answer *ans, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ex_answer_json(ans, status, json_pack("{ss}", "error", msg));
}

json_t *ex_paychan_error_json(const paychan_error *e)
{
    return json_pack("{siss}", "code", e->code, "message", paychan_error_public_message(e));
}

void ex_answer_paychan_error(ex_answer *ans, unsigned status, const char *what,
                             const paychan_error *e)
{
    ex_log_error("%s: %s (code %d)", what, e->message, e->code); /* the detail stays here */
    json_t *body = ex_paychan_error_json(e);
    json_object_set_new(body, "error", json_string(what));
    ex_answer_json(ans, status, body);
}

void ex_answer_not_found(ex_answer *ans, const ex_request *req)
{
    ex_answer_error(ans, 404, "no such endpoint: %s", ex_request_path(req));
}

json_t *ex_mediator_state_json(paychan_client *c, const char *mediator)
{
    json_t *o = json_object();
    paychan_funds f;
    paychan_termination t;
    paychan_error err = {0};
    if (paychan_funds_of(c, mediator, &f, &err) == 0)
        json_object_set_new(o, "funds", json_pack("{ssss}", "consumer", f.consumer_wei,
                                                  "provider", f.provider_wei));
    else
        json_object_set_new(o, "funds", json_pack("{so}", "error", ex_paychan_error_json(&err)));
    if (paychan_termination_status(c, mediator, &t, &err) == 0)
        json_object_set_new(o, "termination",
                            json_pack("{sbsbsI}", "terminated", t.terminated, "running",
                                      t.running, "willTerminateAt",
                                      (json_int_t)t.will_terminate_at));
    else
        json_object_set_new(o, "termination",
                            json_pack("{so}", "error", ex_paychan_error_json(&err)));
    return o;
}

/* ---- outgoing calls (libcurl, idle handles kept per thread) ----------------------------- */

/* A thread's idle handles: their connections (with curl_easy_perform) and
 * buffers outlive a call. A loop ends its calls on its own thread, so a
 * handle never changes threads and the list needs no lock. */
#define IDLE_HANDLES_MAX 64
typedef struct idle_handles {
    CURL *h[IDLE_HANDLES_MAX];
    size_t n;
} idle_handles;

static pthread_key_t curl_key;
static pthread_once_t curl_key_once = PTHREAD_ONCE_INIT;

static void idle_handles_free(void *arg)
{
    idle_handles *idle = arg;
    while (idle->n > 0)
        curl_easy_cleanup(idle->h[--idle->n]);
    free(idle);
}

static void curl_key_create(void)
{
    pthread_key_create(&curl_key, idle_handles_free);
}

/* This thread's idle list, created on first use; NULL when out of memory. */
static idle_handles *thread_idle(void)
{
    pthread_once(&curl_key_once, curl_key_create);
    idle_handles *idle = pthread_getspecific(curl_key);
    if (!idle && (idle = calloc(1, sizeof *idle)) && pthread_setspecific(curl_key, idle) != 0) {
        free(idle);
        idle = NULL;
    }
    return idle;
}

/* An idle handle of this thread, or a new one; NULL when out of memory. */
static CURL *handle_take(void)
{
    idle_handles *idle = thread_idle();
    if (idle && idle->n > 0)
        return idle->h[--idle->n];
    CURL *h = curl_easy_init();
    if (h) {
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    }
    return h;
}

/* Keeps h for this thread's next call, or closes it when enough are idle. */
static void handle_give(CURL *h)
{
    idle_handles *idle = thread_idle();
    if (idle && idle->n < IDLE_HANDLES_MAX)
        idle->h[idle->n++] = h;
    else
        curl_easy_cleanup(h);
}

typedef struct body_buf {
    char *data;
    size_t len;
} body_buf;

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    body_buf *b = ud;
    size_t add = size * n;
    if (b->len + add > (1u << 20)) /* an answer of these services is small */
        return 0;
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, ptr, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* "name: value" into list; NULL list stays NULL on failure. */
static struct curl_slist *add_header(struct curl_slist *list, const char *name,
                                     const char *value)
{
    char line[256];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *next = curl_slist_append(list, line);
    if (!next)
        curl_slist_free_all(list);
    return next;
}

static struct curl_slist *payment_headers(const paychan_payment_headers *pay)
{
    struct curl_slist *l = add_header(NULL, PAYCHAN_HEADER_SENDER, pay->sender);
    if (l)
        l = add_header(l, PAYCHAN_HEADER_MEDIATOR, pay->mediator);
    if (l)
        l = add_header(l, PAYCHAN_HEADER_TOKEN_ID, pay->token_id);
    if (l)
        l = add_header(l, PAYCHAN_HEADER_REQ_COUNT, pay->request_count);
    if (l)
        l = add_header(l, PAYCHAN_HEADER_SIGNATURE, pay->signature);
    return l;
}

struct ex_call {
    CURL *h;
    struct curl_slist *headers;
    body_buf body;
    char error[CURL_ERROR_SIZE];
};

ex_call *ex_call_begin(const char *url, const paychan_payment_headers *pay, long timeout_ms)
{
    ex_call *call = calloc(1, sizeof *call);
    if (!call)
        return NULL;
    call->headers = pay ? payment_headers(pay) : NULL;
    if ((pay && !call->headers) || !(call->h = handle_take())) {
        curl_slist_free_all(call->headers);
        free(call);
        return NULL;
    }
    CURL *h = call->h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &call->body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->error);
    return call;
}

CURL *ex_call_easy(ex_call *call)
{
    return call->h;
}

int ex_call_end(ex_call *call, CURLcode result, ex_reply *out)
{
    memset(out, 0, sizeof *out);
    int rc = -1;
    if (result == CURLE_OK) {
        curl_easy_getinfo(call->h, CURLINFO_RESPONSE_CODE, &out->status);
        if (call->body.data)
            out->body = json_loadb(call->body.data, call->body.len, 0, NULL);
        rc = 0;
    } else {
        snprintf(out->error, sizeof out->error, "%s",
                 call->error[0] ? call->error : curl_easy_strerror(result));
    }
    /* the handle outlives the call: drop pointers into it */
    curl_easy_setopt(call->h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(call->h, CURLOPT_ERRORBUFFER, NULL);
    handle_give(call->h);
    curl_slist_free_all(call->headers);
    free(call->body.data);
    free(call);
    return rc;
}

int ex_http_get(const char *url, const paychan_payment_headers *pay, long timeout_ms,
                ex_reply *out)
{
    ex_call *call = ex_call_begin(url, pay, timeout_ms);
    if (!call) {
        memset(out, 0, sizeof *out);
        snprintf(out->error, sizeof out->error, "out of memory");
        return -1;
    }
    return ex_call_end(call, curl_easy_perform(call->h), out);
}

void ex_reply_free(ex_reply *r)
{
    json_decref(r->body);
    r->body = NULL;
}

/* ---- misc -------------------------------------------------------------------------------- */

double ex_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int ex_is_address(const char *s)
{
    if (!s || strlen(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return 0;
    return strspn(s + 2, "0123456789abcdefABCDEF") == 40;
}

/* ---- the service's life ------------------------------------------------------------------ */

static int create_client(ex_service *svc)
{
    paychan_config pc = {
        .server_url = svc->cfg.payment_server_url,
        .keystore_path = svc->cfg.keystore,
        .password_path = svc->cfg.password_file,
        .timeout_ms = svc->cfg.timeout_ms,
    };
    paychan_error err = {0};
    if (paychan_client_create(&pc, &svc->client, &err) != 0) {
        ex_log_error("cannot create the libpaychan client (keystore %s): %s (code %d)",
                     svc->cfg.keystore, err.message, err.code);
        return -1;
    }
    ex_log_info("account %s, Payment Server %s", paychan_client_address(svc->client),
                svc->cfg.payment_server_url);
    return 0;
}

/* Blocks until SIGTERM or SIGINT (core/stop_signals.h). */
static void wait_for_stop(const sigset_t *stop)
{
    ex_log_info("signal %d: shutting down", pc_stop_signals_wait(stop));
}

int ex_service_main(const ex_service_def *def, int argc, char **argv)
{
    ex_service svc = {.def = def};
    g_log_name = def->name;
    int parsed = ex_config_parse(def, argc, argv, &svc.cfg);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    g_log_level = svc.cfg.log_level;

    sigset_t stop;
    pc_stop_signals_block(&stop); /* before any thread starts */
    curl_global_init(CURL_GLOBAL_DEFAULT);

    int status = 1;
    ex_server *server = NULL;
    if (svc.cfg.payment_inactive)
        ex_log_info("payment is switched off (PAYMENT_INACTIVE)");
    else if (create_client(&svc) != 0)
        goto out;
    if (def->setup && def->setup(&svc) != 0)
        goto out;
    server = ex_server_start(&svc);
    if (!server)
        goto out;
    wait_for_stop(&stop);
    ex_server_stop(server); /* lets requests in flight finish, joins the threads */
    status = 0;
out:
    if (def->teardown)
        def->teardown(&svc);
    paychan_client_destroy(svc.client);
    curl_global_cleanup();
    if (status == 0)
        ex_log_info("stopped");
    return status;
}
