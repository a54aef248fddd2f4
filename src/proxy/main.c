/* main.c: paychan-proxy, the sidecar that makes a service get paid
 * (provider mode) or pay (consumer mode) per HTTP request with no change
 * to its code. Configuration: config.h; the two modes: provider_side.h,
 * consumer_side.h; docs/proxy.md. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/runtime/logger.h"
#include "core/runtime/stop_signals.h"
#include "http/http.h"
#include "proxy/config.h"
#include "proxy/consumer_side.h"
#include "proxy/provider_side.h"
#include "proxy/upstream.h"

/* Waits for SIGTERM or SIGINT (blocked in every thread: the HTTP threads
 * inherit the mask, so the signal is taken here only). */
/* The running sides (one of them), for the admin port. */
typedef struct sides {
    px_provider *provider;
    px_consumer *consumer;
} sides;

/* The admin port: /status, /redeem, /payout, /terminate (provider), /status,
 * /terminate (consumer); anything else 404. */
static pc_http_step on_admin(void *ctx, pc_http_request *req, pc_http_answer *a)
{
    sides *s = ctx;
    const char *path = pc_http_path(req), *action = path + 1;
    int known = strcmp(path, "/status") == 0 || strcmp(path, "/terminate") == 0 ||
                (s->provider && (strcmp(path, "/redeem") == 0 || strcmp(path, "/payout") == 0));
    if (!known) {
        a->status = 404;
        a->body = json_pack("{sssiss}", "name", "NotFound", "code", 404, "message",
                            "admin endpoints: /status, /terminate, and on a provider /redeem, "
                            "/payout");
    } else if (s->provider) {
        px_provider_admin(s->provider, action, pc_http_param(req, "mediator"), a);
    } else {
        px_consumer_admin(s->consumer, action, a);
    }
    return PC_HTTP_ANSWERED;
}

static pc_http *start_admin(const px_config *cfg, sides *s)
{
    pc_error err = {0};
    pc_http *h = pc_http_start("127.0.0.1", cfg->admin_port, NULL, on_admin, s, &err);
    if (!h)
        PC_LOG_E("admin port: %s", err.message);
    return h;
}

/* The event loops to serve on: --http-loops, or one per core (no request
 * blocks a loop: the calls to the Payment Server and the upstream run on
 * the loop's curl multi handle). */
static int http_loops(const px_config *cfg)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int loops = cfg->http_loops > 0 ? cfg->http_loops : cores > 0 ? (int)cores : 1;
    return loops < PC_HTTP_MAX_LOOPS ? loops : PC_HTTP_MAX_LOOPS;
}

/* Serves on event loops that never block (as the example services do): a
 * request runs to its end on its connection's loop, its calls on the
 * loop's curl multi handle, the upstream's answer streamed from there,
 * with no thread per connection and no hand-off. Opening or topping up a
 * channel (paychan_init, which waits for the chain) runs on a thread of
 * its own. */
static pc_http *start_http(const px_config *cfg, pc_http_handler handler, void *ctx)
{
    pc_http_options opts = {
        .mode = PC_HTTP_POOL,
        .loops = http_loops(cfg),
        .raw = 1,
        .max_body = (size_t)cfg->max_body_kib * 1024,
        .limits = {.max_connections = cfg->threads,
                   .header_timeout_s = cfg->request_header_timeout_s,
                   .body_timeout_s = cfg->request_body_timeout_s},
    };
    pc_error err = {0};
    pc_http *h = pc_http_start(cfg->listen, cfg->port, &opts, handler, ctx, &err);
    if (!h)
        PC_LOG_E("%s", err.message);
    return h;
}

int main(int argc, char **argv)
{
    px_config cfg;
    pc_error err = {0};
    int rc = px_config_load(&cfg, argc, argv, &err);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "paychan-proxy: %s\n", err.message);
        px_config_free(&cfg);
        return rc < 0 ? 1 : 0;
    }
    pc_logger_set_level(cfg.log_level);
    sigset_t set;
    pc_stop_signals_block(&set); /* before any thread starts */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pc_upstream *u = pc_upstream_create(cfg.connect_timeout_ms, cfg.header_timeout_ms,
                                        cfg.idle_timeout_s);
    sides s = {0};
    pc_http *h = NULL, *admin = NULL;
    if (u && cfg.mode == PX_PROVIDER && (s.provider = px_provider_create(&cfg, u, &err)))
        h = start_http(&cfg, px_provider_handle, s.provider);
    else if (u && cfg.mode == PX_CONSUMER && (s.consumer = px_consumer_create(&cfg, u, &err)))
        h = start_http(&cfg, px_consumer_handle, s.consumer);
    else
        PC_LOG_E("%s", u ? err.message : "out of memory");
    if (h && cfg.admin_port && !(admin = start_admin(&cfg, &s))) {
        pc_http_stop(h);
        h = NULL;
    }
    if (h) {
        PC_LOG_I("paychan-proxy (%s) listening on http://%s:%d", cfg.mode == PX_PROVIDER
                 ? "provider" : "consumer", cfg.listen, pc_http_port(h));
        int sig = pc_stop_signals_wait(&set);
        PC_LOG_I("signal %d: finishing the requests in flight", sig);
        pc_http_stop(admin);
        pc_http_stop(h);
    }
    px_provider_destroy(s.provider);
    px_consumer_destroy(s.consumer);
    pc_upstream_destroy(u);
    curl_global_cleanup();
    px_config_free(&cfg);
    return h ? 0 : 1;
}
