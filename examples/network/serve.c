/* serve.c: the services' HTTP side on the shared HTTP layer (src/http, http.h)
 * and the /health and /ready endpoints every service has. See common.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "http/http.h"

#define WORKERS_PER_CORE 16 /* the workers wait on calls to other processes */

/* A request; begun ones (ex_service_def.begin) live on the heap until they are answered. */
struct ex_request {
    pc_http_request *http;
    ex_answer ans;  /* begun: the answer ex_request_finish handed over */
    int on_loop;    /* begun on an event loop that must not block */
    int in_begin;   /* the service's begin has not returned yet */
    int suspended;  /* a transfer started on the loop: the connection waits */
    int finished;
};

struct ex_server {
    pc_http *http;
};

const char *ex_request_method(const ex_request *req) { return pc_http_method(req->http); }
const char *ex_request_path(const ex_request *req) { return pc_http_path(req->http); }

const char *ex_request_param(const ex_request *req, const char *name)
{
    return pc_http_param(req->http, name);
}

const char *ex_request_header(const ex_request *req, const char *name)
{
    return pc_http_header(req->http, name);
}

const char *ex_header_getter(void *ctx, const char *name)
{
    return ex_request_header(ctx, name);
}

/* ---- /health and /ready ------------------------------------------------------------------- */

/* What the Payment Server's state adds to /ready: "paymentServer" in
 * missing when it is unreachable or says it is not ready. The detail (its
 * address, the connection error) goes to the log only. */
static void payment_server_readiness(ex_service *svc, json_t *missing, json_t *body)
{
    paychan_server_health h;
    paychan_error err = {0};
    int reachable = paychan_ping(svc->client, EX_READY_TIMEOUT_MS, &h, &err) == 0;
    if (reachable && h.ready)
        return;
    json_array_append_new(missing, json_string("paymentServer"));
    json_t *state = json_pack("{sbsb}", "reachable", reachable, "ready", 0);
    if (!reachable) {
        json_object_set_new(state, "code", json_integer(err.code));
        json_object_set_new(state, "message", json_string(paychan_error_public_message(&err)));
        ex_log_error("not ready: Payment Server unreachable: %s (code %d)", err.message,
                     err.code);
    } else {
        ex_log_error("not ready: the Payment Server is not ready: %s", h.detail);
    }
    json_object_set_new(body, "paymentServer", state);
}

/* 200 {"ready": true} when the service can do its job; else 503 {"ready":
 * false, "missing": [...]} (with payment on, a Payment Server that cannot
 * be reached or is not ready is missing; the service adds its own). */
static void answer_ready(ex_service *svc, ex_answer *ans)
{
    json_t *missing = json_array();
    json_t *body = json_object();
    if (svc->client)
        payment_server_readiness(svc, missing, body);
    if (svc->def->not_ready)
        svc->def->not_ready(svc, missing);
    int ready = json_array_size(missing) == 0;
    json_object_set_new(body, "ready", json_boolean(ready));
    json_object_set_new(body, "service", json_string(svc->def->name));
    if (ready)
        json_decref(missing);
    else
        json_object_set_new(body, "missing", missing);
    ex_answer_json(ans, ready ? 200 : 503, body);
}

/* ---- requests ------------------------------------------------------------------------------- */

/* The answer as JSON text (9 significant digits: trace times as 6.77, not
 * 6.7699999999999996), handed to the HTTP layer. */
static void to_http(ex_answer *ans, pc_http_answer *out)
{
    char *text = ans->text;
    if (!text)
        text = ans->body ? json_dumps(ans->body, JSON_COMPACT | JSON_REAL_PRECISION(9))
                         : strdup("{}");
    json_decref(ans->body);
    out->status = ans->status ? ans->status : 500;
    out->content_type = "application/json";
    out->body_raw = text;
    out->body_raw_len = text ? strlen(text) : 0;
    if (!text) { /* out of memory: an empty 500 */
        out->status = 500;
        out->body_raw = strdup("");
    }
}

/* ---- requests served without blocking ------------------------------------------------------ */

void ex_request_fetch(ex_request *req, CURL *easy, ex_fetched done, void *arg)
{
    if (!req->on_loop) { /* a worker, or a loop that may block: wait here */
        done(arg, easy, curl_easy_perform(easy));
        return;
    }
    if (pc_http_fetch(req->http, easy, done, arg) != 0) {
        done(arg, easy, CURLE_FAILED_INIT); /* out of memory: the call fails as such */
        return;
    }
    if (!req->suspended) { /* done runs on the loop only after the handler returned */
        pc_http_suspend(req->http);
        req->suspended = 1;
    }
}

/* Sends a begun request's answer and frees it. */
static void answer_begun(ex_request *req, pc_http_answer *out)
{
    ex_log_debug("%s %s -> %u", ex_request_method(req), ex_request_path(req), req->ans.status);
    to_http(&req->ans, out);
    free(req);
}

/* On the loop after pc_http_resume. */
static void resumed(void *arg, pc_http_request *r, pc_http_answer *out)
{
    (void)r;
    answer_begun(arg, out);
}

void ex_request_finish(ex_request *req, ex_answer *ans)
{
    req->ans = *ans;
    req->finished = 1;
    if (!req->in_begin) /* a done callback, suspended; else begin_request sends it */
        pc_http_resume(req->http, resumed, req);
}

/* Offers r to the service's begin; 1 when it took it (*step says what
 * follows), 0 when the service serves it otherwise. */
static int begin_request(ex_service *svc, pc_http_request *r, pc_http_answer *out,
                         pc_http_step *step)
{
    ex_request *req = calloc(1, sizeof *req);
    if (!req)
        return 0;
    *req = (ex_request){.http = r, .on_loop = pc_http_on_loop(r), .in_begin = 1};
    if (!svc->def->begin(svc, req)) {
        free(req);
        return 0;
    }
    req->in_begin = 0;
    if (!req->finished) { /* a transfer runs (suspended): a done callback finishes */
        *step = PC_HTTP_SUSPENDED;
        return 1;
    }
    answer_begun(req, out); /* answered at once, or on a worker after blocking calls */
    *step = PC_HTTP_ANSWERED;
    return 1;
}

static int is_path(const ex_request *req, const char *path)
{
    return strcmp(ex_request_path(req), path) == 0;
}

static pc_http_step on_request(void *ctx, pc_http_request *r, pc_http_answer *out)
{
    ex_service *svc = ctx;
    ex_request req = {.http = r};
    const char *method = ex_request_method(&req);
    ex_answer ans = {0};
    int allowed = strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ||
                  strcmp(method, "HEAD") == 0;
    pc_http_step step;
    if (allowed && svc->def->begin && begin_request(svc, r, out, &step))
        return step;
    int quick = !allowed || is_path(&req, "/health") ||
                (svc->def->quick && svc->def->quick(svc, &req));
    if (pc_http_on_loop(r) && !quick)
        return PC_HTTP_BLOCKS; /* to a worker: it may wait on another process */
    if (!allowed)
        ex_answer_error(&ans, 405, "method %s not allowed: use GET or POST", method);
    else if (is_path(&req, "/health"))
        ex_answer_json(&ans, 200, json_pack("{ssss}", "status", "serving", "service",
                                            svc->def->name));
    else if (is_path(&req, "/ready"))
        answer_ready(svc, &ans);
    else
        svc->def->handle(svc, &req, &ans);
    ex_log_debug("%s %s -> %u", method, ex_request_path(&req), ans.status);
    to_http(&ans, out);
    return PC_HTTP_ANSWERED;
}

/* ---- the server ----------------------------------------------------------------------------- */

ex_server *ex_server_start(ex_service *svc)
{
    const ex_config *cfg = &svc->cfg;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cfg->http_workers > 0 ? cfg->http_workers
                                        : WORKERS_PER_CORE * (cores > 0 ? (int)cores : 1);
    if (cfg->http_blocking_loops && threads > PC_HTTP_MAX_LOOPS)
        threads = PC_HTTP_MAX_LOOPS;
    /* One loop per core by default that never blocks: the paid hot paths
     * (ex_service_def.begin) run their calls to the Payment Server and the
     * providers on the loop's curl multi (ex_request_fetch); the rare calls
     * that block (/init, /status?funds, /ready, admin) go to the workers.
     * --http-blocking-loops restores --http-workers loops that may block
     * (every call then waits on its loop, docs/benchmarks.md). */
    pc_http_options opts = {
        .mode = PC_HTTP_POOL,
        .loops = cfg->http_blocking_loops ? threads : 0,
        .workers = threads,
        .loops_block = cfg->http_blocking_loops,
        .limits = {.max_connections = cfg->max_connections,
                   .max_per_client = cfg->max_connections_per_client},
    };
    ex_server *s = calloc(1, sizeof *s);
    pc_error err = {0};
    if (!s || !(s->http = pc_http_start(cfg->listen, cfg->port, &opts, on_request, svc, &err))) {
        ex_log_error("%s", s ? err.message : "out of memory");
        free(s);
        return NULL;
    }
    if (cfg->http_blocking_loops)
        ex_log_info("listening on http://%s:%d (%d event loops, blocking allowed)", cfg->listen,
                    pc_http_port(s->http), threads);
    else
        ex_log_info("listening on http://%s:%d (one event loop per core, %d workers for "
                    "blocking calls)", cfg->listen, pc_http_port(s->http), threads);
    return s;
}

void ex_server_stop(ex_server *s)
{
    if (!s)
        return;
    pc_http_stop(s->http);
    free(s);
}
