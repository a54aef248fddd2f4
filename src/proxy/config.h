/* config.h: paychan-proxy's configuration, from (in increasing precedence)
 * built-in defaults, a config file, the environment and the command line,
 * as paychand's (src/server/config.h). The file has one `key = value` per
 * line (`#` starts a comment); keys are the long options without "--":
 *
 *     mode = provider
 *     port = 8080
 *     upstream = http://127.0.0.1:9000
 *     payment-server = http://127.0.0.1:3002
 *     account = random:/etc/paychan/random.json:/etc/paychan/random.pass
 *     route = GET /health free
 *     route = * /v1/ paid random 1000
 *
 * Environment: PAYCHAN_PROXY_<KEY> (dashes as underscores, upper case;
 * a repeatable key takes a list separated by ';'), PAYCHAN_PROXY_CONFIG
 * names the file. A repeatable key given at a higher level replaces the
 * lower level's list. px_config_usage prints every option. */
#ifndef PAYCHAN_PROXY_CONFIG_H
#define PAYCHAN_PROXY_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/runtime/error.h"
#include "core/runtime/logger.h"

#define PX_MAX_ACCOUNTS 16
#define PX_MAX_ROUTES 64
#define PX_MAX_TARGETS 32

typedef enum px_mode { PX_PROVIDER, PX_CONSUMER } px_mode;

/* One account of the team: NAME:KEYSTORE:PASSWORDFILE, or NAME:0xKEY with --dev. */
typedef struct px_account {
    char *name, *keystore, *password, *dev_key;
} px_account;

/* What a route does with a request. */
typedef enum px_route_kind { PX_ROUTE_FREE, PX_ROUTE_PAID, PX_ROUTE_DENY } px_route_kind;

/* route = METHOD PREFIX free | deny | paid ACCOUNT COST_WEI [TERMINATION_S REDEMPTION_S] */
typedef struct px_route {
    char *method;           /* "GET", ..., or "*" */
    char *prefix;           /* path prefix, starts with '/' */
    px_route_kind kind;
    int account;            /* paid: index into accounts */
    char *cost_wei;         /* paid: decimal wei per request */
    uint64_t termination_s; /* paid: required Mediator timeouts */
    uint64_t redemption_s;
} px_route;

/* target = NAME BASE_URL MAX_COST_WEI FUNDING_WEI THRESHOLD_WEI MAX_SPEND_WEI */
typedef struct px_target {
    char *name;
    char *base_url;   /* scheme://host[:port][/base], no trailing '/' */
    char *max_cost;   /* never pay more per request */
    char *funding;    /* target balance of the consumer funds */
    char *threshold;  /* top up below this */
    char *max_spend;  /* total deposits at most this */
} px_target;

typedef struct px_config {
    char *config_path;
    px_mode mode;             /* --mode provider|consumer */
    char *listen;             /* --listen; default 127.0.0.1 */
    int port;                 /* --port; default 8080 */
    int admin_port;           /* --admin-port; 0 = none (127.0.0.1 only) */
    char *payment_server;     /* --payment-server URL */
    char *upstream;           /* --upstream URL (provider) */
    px_account accounts[PX_MAX_ACCOUNTS];
    size_t n_accounts;
    px_route routes[PX_MAX_ROUTES];
    size_t n_routes;
    px_route_kind unknown;    /* --unknown-routes deny|free; default deny (404) */
    px_target targets[PX_MAX_TARGETS];
    size_t n_targets;
    int dev;                  /* --dev: raw keys allowed */
    int spare_tokens;         /* --spare-tokens 0|1; default 1 */
    int payment_timeout_ms;   /* --payment-timeout; default 2000 */
    int connect_timeout_ms;   /* --upstream-connect-timeout; default 2000 */
    int header_timeout_ms;    /* --upstream-timeout; default 30000 */
    int idle_timeout_s;       /* --upstream-idle-timeout; default 30 */
    int max_body_kib;         /* --max-body KIB; default 64 */
    int threads;              /* --max-connections; default 1024 */
    int http_loops;           /* --http-loops; 0 = 16 per core (at most 64) */
    int request_header_timeout_s; /* --header-timeout; default 10 */
    int request_body_timeout_s;   /* --body-timeout; default 30 */
    pc_log_level log_level;
} px_config;

/* Fills *cfg from defaults, file, environment and argv. 0; 1 when --help
 * or --version was printed (exit 0); -1 with *err naming the source
 * ("proxy.conf:3: route", "--port") on anything invalid. Free with
 * px_config_free in every case. */
int px_config_load(px_config *cfg, int argc, char **argv, pc_error *err);

void px_config_free(px_config *cfg);

/* The --help text (man-page style) to out. */
void px_config_usage(FILE *out);

/* The index of the account or target named `name`, or -1. */
int px_config_account(const px_config *cfg, const char *name);

#endif
