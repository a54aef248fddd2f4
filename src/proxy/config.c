/* config.c: paychan-proxy's configuration (see config.h). One table of
 * options drives the file, the environment, the command line and --help;
 * defaults are parsed from the table's text by the same code as input. */
#include "proxy/config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef PAYCHAN_VERSION
#define PAYCHAN_VERSION "0.1.0"
#endif

typedef enum kind {
    K_CONFIG, K_STRING, K_URL, K_INT, K_MODE, K_UNKNOWN, K_FLAG, K_LOG, K_ACCOUNT, K_ROUTE,
    K_TARGET, K_N_KINDS
} kind;

typedef struct spec {
    const char *name;
    kind k;
    size_t off;
    int min, max;
    const char *metavar, *def, *help;
} spec;

#define OFF(f) offsetof(px_config, f)

static const spec specs[] = {
    {"config", K_CONFIG, OFF(config_path), 0, 0, "FILE", NULL,
     "read `key = value` lines from FILE (keys: the long options)"},
    {"mode", K_MODE, OFF(mode), 0, 0, "MODE", "provider",
     "provider: a reverse proxy in front of a service, charging per route;\n"
     "consumer: a sidecar that pays the calls a service makes"},
    {"listen", K_STRING, OFF(listen), 0, 0, "ADDRESS", "127.0.0.1", "IPv4 address to listen on"},
    {"port", K_INT, OFF(port), 1, 65535, "PORT", "8080", "port to listen on"},
    {"admin-port", K_INT, OFF(admin_port), 0, 65535, "PORT", "0",
     "serve /status, and /redeem, /payout, /terminate[?mediator=] (provider) or\n"
     "/terminate (consumer), on 127.0.0.1:PORT only (0 = not served)"},
    {"payment-server", K_URL, OFF(payment_server), 0, 0, "URL", NULL,
     "the team's Payment Server (paychand), e.g. http://127.0.0.1:3002"},
    {"upstream", K_URL, OFF(upstream), 0, 0, "URL", NULL,
     "provider: the service behind the proxy, e.g. http://127.0.0.1:9000"},
    {"account", K_ACCOUNT, 0, 0, 0, "NAME:KEYSTORE:PASSWORDFILE", NULL,
     "an account of the team, known to the Payment Server; repeatable.\n"
     "With --dev: NAME:0xHEXKEY. Consumer mode pays with the first one"},
    {"route", K_ROUTE, 0, 0, 0, "'METHOD PREFIX RULE'", NULL,
     "provider: requests whose method is METHOD (or any: *) and whose path\n"
     "starts with PREFIX follow RULE: `free`, `deny`, or\n"
     "`paid ACCOUNT COST_WEI [TERMINATION_S REDEMPTION_S]` (timeouts the\n"
     "paying Mediator must have; default 3600 3600). The longest matching\n"
     "prefix wins; repeatable"},
    {"unknown-routes", K_UNKNOWN, OFF(unknown), 0, 0, "RULE", "deny",
     "provider: requests no route matches: deny (404) or free"},
    {"target", K_TARGET, 0, 0, 0, "'NAME URL MAXCOST FUNDING THRESHOLD MAXSPEND'", NULL,
     "consumer: an allow-listed provider, reached as /NAME/... or by its\n"
     "absolute URL (forward proxy). Never pays more than MAXCOST wei per\n"
     "request; a Mediator it opens is funded to FUNDING wei, topped up\n"
     "below THRESHOLD, and deposits stop at MAXSPEND wei in total; repeatable"},
    {"dev", K_FLAG, OFF(dev), 0, 0, NULL, NULL, "development chains: allow raw keys in --account"},
    {"spare-tokens", K_INT, OFF(spare_tokens), 0, 1, "N", "1",
     "consumer: tokens each target keeps signed ahead (0 or 1), so that a\n"
     "request does not wait for the Payment Server; see docs/proxy.md"},
    {"payment-timeout", K_INT, OFF(payment_timeout_ms), 50, 600000, "MS", "2000",
     "longest wait on the Payment Server per call (then 503)"},
    {"upstream-connect-timeout", K_INT, OFF(connect_timeout_ms), 10, 600000, "MS", "2000",
     "longest wait to connect to the upstream (then 502)"},
    {"upstream-timeout", K_INT, OFF(header_timeout_ms), 10, 3600000, "MS", "30000",
     "longest wait for the upstream's answer header (then 504)"},
    {"upstream-idle-timeout", K_INT, OFF(idle_timeout_s), 1, 86400, "SECONDS", "30",
     "cut an answer body that stalls this long"},
    {"max-body", K_INT, OFF(max_body_kib), 1, 65536, "KIB", "64",
     "largest request body (buffered whole: it is signed and may be resent); 413 above"},
    {"max-connections", K_INT, OFF(threads), 1, 65536, "N", "1024",
     "open client connections at most"},
    {"http-loops", K_INT, OFF(http_loops), 0, 64, "N", "0",
     "event loops serving the clients; no request holds its loop while it\n"
     "waits on the Payment Server or the upstream (0 = one per core, at\n"
     "most 64)"},
    {"header-timeout", K_INT, OFF(request_header_timeout_s), 1, 3600, "SECONDS", "10",
     "a request's header must arrive within this"},
    {"body-timeout", K_INT, OFF(request_body_timeout_s), 1, 3600, "SECONDS", "30",
     "a request's body must arrive within this of its header"},
    {"log-level", K_LOG, OFF(log_level), 0, 0, "LEVEL", "info", "error, warn, info or debug"},
};

#define N_SPECS (sizeof specs / sizeof specs[0])

typedef struct loader {
    px_config *cfg;
    int list_level[K_N_KINDS]; /* the source of each list held (-1: none yet) */
    int level;                 /* 0 default, 1 file, 2 env, 3 command line */
} loader;

static int bad(pc_error *err, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(pc_error *err, const char *where, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "%s: %s", where, msg);
}

static int is_wei(const char *s)
{
    return s && *s && strlen(s) <= 78 && strspn(s, "0123456789") == strlen(s);
}

static int replace(char **slot, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return -1;
    free(*slot);
    *slot = c;
    return 0;
}

/* ---- the list kinds ------------------------------------------------------------------ */

static int add_account(px_config *c, const char *v, const char *where, pc_error *err)
{
    if (c->n_accounts == PX_MAX_ACCOUNTS)
        return bad(err, where, "more than %d accounts", PX_MAX_ACCOUNTS);
    const char *colon = strchr(v, ':');
    if (!colon || colon == v)
        return bad(err, where, "expected NAME:KEYSTORE:PASSWORDFILE or NAME:0xKEY");
    px_account *a = &c->accounts[c->n_accounts];
    const char *rest = colon + 1, *second = strchr(rest, ':');
    a->name = strndup(v, (size_t)(colon - v));
    if (strncmp(rest, "0x", 2) == 0 && !second) {
        if (!c->dev)
            return bad(err, where, "a raw key needs --dev (development chains only)");
        a->dev_key = strdup(rest);
    } else if (second && second > rest && second[1]) {
        a->keystore = strndup(rest, (size_t)(second - rest));
        a->password = strdup(second + 1);
    } else {
        return bad(err, where, "expected NAME:KEYSTORE:PASSWORDFILE or NAME:0xKEY");
    }
    if (px_config_account(c, a->name) >= 0)
        return bad(err, where, "account %s given twice", a->name);
    c->n_accounts++;
    return 0;
}

/* Splits v at white space into at most max words (copied into buf). */
static size_t words(const char *v, char *buf, size_t cap, char **w, size_t max)
{
    size_t n = 0;
    snprintf(buf, cap, "%s", v);
    for (char *save, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        if (n < max + 1)
            w[n++] = t;
    return n;
}

static int add_route(px_config *c, const char *v, const char *where, pc_error *err)
{
    char buf[1024], *w[8];
    size_t n = words(v, buf, sizeof buf, w, 7);
    if (c->n_routes == PX_MAX_ROUTES)
        return bad(err, where, "more than %d routes", PX_MAX_ROUTES);
    if (n < 3 || w[1][0] != '/')
        return bad(err, where, "expected METHOD /PREFIX free|deny|paid ACCOUNT COST");
    px_route r = {.termination_s = 3600, .redemption_s = 3600, .account = -1};
    if (strcmp(w[2], "free") == 0 && n == 3) {
        r.kind = PX_ROUTE_FREE;
    } else if (strcmp(w[2], "deny") == 0 && n == 3) {
        r.kind = PX_ROUTE_DENY;
    } else if (strcmp(w[2], "paid") == 0 && (n == 5 || n == 7)) {
        r.kind = PX_ROUTE_PAID;
        if ((r.account = px_config_account(c, w[3])) < 0)
            return bad(err, where, "no account %s (give --account before --route)", w[3]);
        if (!is_wei(w[4]) || strspn(w[4], "0") == strlen(w[4]))
            return bad(err, where, "cost must be a positive decimal number of wei");
        if (n == 7 && ((r.termination_s = strtoull(w[5], NULL, 10)) == 0 ||
                       (r.redemption_s = strtoull(w[6], NULL, 10)) == 0))
            return bad(err, where, "timeouts must be positive seconds");
        r.cost_wei = strdup(w[4]);
    } else {
        return bad(err, where, "rule must be free, deny or paid ACCOUNT COST [TT RT]");
    }
    r.method = strdup(w[0]);
    r.prefix = strdup(w[1]);
    c->routes[c->n_routes++] = r;
    return 0;
}

static int add_target(px_config *c, const char *v, const char *where, pc_error *err)
{
    char buf[1024], *w[8];
    size_t n = words(v, buf, sizeof buf, w, 6);
    if (c->n_targets == PX_MAX_TARGETS)
        return bad(err, where, "more than %d targets", PX_MAX_TARGETS);
    if (n != 6 || strncmp(w[1], "http://", 7) != 0 || strchr(w[0], '/'))
        return bad(err, where, "expected NAME http://HOST:PORT MAXCOST FUNDING THRESHOLD MAXSPEND");
    for (size_t i = 2; i < 6; i++)
        if (!is_wei(w[i]))
            return bad(err, where, "%s is not a decimal number of wei", w[i]);
    size_t len = strlen(w[1]);
    while (len > 7 && w[1][len - 1] == '/')
        w[1][--len] = '\0';
    px_target t = {strdup(w[0]), strdup(w[1]), strdup(w[2]), strdup(w[3]), strdup(w[4]),
                   strdup(w[5])};
    c->targets[c->n_targets++] = t;
    return 0;
}

static void clear_lists(px_config *c, kind k)
{
    for (size_t i = 0; k == K_ACCOUNT && i < c->n_accounts; i++) {
        px_account *a = &c->accounts[i];
        free(a->name), free(a->keystore), free(a->password), free(a->dev_key);
    }
    for (size_t i = 0; k == K_ROUTE && i < c->n_routes; i++)
        free(c->routes[i].method), free(c->routes[i].prefix), free(c->routes[i].cost_wei);
    for (size_t i = 0; k == K_TARGET && i < c->n_targets; i++) {
        px_target *t = &c->targets[i];
        free(t->name), free(t->base_url), free(t->max_cost), free(t->funding);
        free(t->threshold), free(t->max_spend);
    }
    if (k == K_ACCOUNT)
        memset(c->accounts, 0, sizeof c->accounts), c->n_accounts = 0;
    if (k == K_ROUTE)
        memset(c->routes, 0, sizeof c->routes), c->n_routes = 0;
    if (k == K_TARGET)
        memset(c->targets, 0, sizeof c->targets), c->n_targets = 0;
}

/* ---- one value ------------------------------------------------------------------------ */

static int apply_list(loader *l, const spec *s, const char *v, const char *where, pc_error *err)
{
    if (l->list_level[s->k] != l->level) /* a higher source replaces the list */
        clear_lists(l->cfg, s->k);
    l->list_level[s->k] = l->level;
    if (s->k == K_ACCOUNT)
        return add_account(l->cfg, v, where, err);
    return s->k == K_ROUTE ? add_route(l->cfg, v, where, err) : add_target(l->cfg, v, where, err);
}

static int apply(loader *l, const spec *s, const char *v, const char *where, pc_error *err)
{
    void *field = (char *)l->cfg + s->off;
    char *end;
    long n;
    switch (s->k) {
    case K_CONFIG:
    case K_STRING:
        return replace(field, v);
    case K_URL:
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            return bad(err, where, "not an http:// or https:// URL: %s", v);
        return replace(field, v);
    case K_INT:
        n = strtol(v, &end, 10);
        if (!*v || *end || n < s->min || n > s->max)
            return bad(err, where, "expected an integer in [%d, %d]", s->min, s->max);
        *(int *)field = (int)n;
        return 0;
    case K_MODE:
        if (strcmp(v, "provider") && strcmp(v, "consumer"))
            return bad(err, where, "expected provider or consumer");
        *(px_mode *)field = strcmp(v, "provider") == 0 ? PX_PROVIDER : PX_CONSUMER;
        return 0;
    case K_UNKNOWN:
        if (strcmp(v, "deny") && strcmp(v, "free"))
            return bad(err, where, "expected deny or free");
        *(px_route_kind *)field = strcmp(v, "deny") == 0 ? PX_ROUTE_DENY : PX_ROUTE_FREE;
        return 0;
    case K_FLAG:
        if (strcmp(v, "1") && strcmp(v, "0") && strcmp(v, "true") && strcmp(v, "false"))
            return bad(err, where, "expected true or false");
        *(int *)field = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
        return 0;
    case K_LOG:
        if (pc_logger_parse_level(v, field) != 0)
            return bad(err, where, "expected error, warn, info or debug");
        return 0;
    default:
        return apply_list(l, s, v, where, err);
    }
}

static const spec *find(const char *name)
{
    for (size_t i = 0; i < N_SPECS; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

/* ---- the sources --------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int load_file(loader *l, const char *path, pc_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return bad(err, path, "cannot read the config file");
    char line[2048], where[512];
    int rc = 0;
    for (int no = 1; rc == 0 && fgets(line, sizeof line, f); no++) {
        char *hash = strchr(line, '#'), *eq = strchr(line, '=');
        if (hash)
            *hash = '\0';
        char *key = trim(line);
        if (!*key)
            continue;
        snprintf(where, sizeof where, "%s:%d", path, no);
        if (!eq || (hash && hash < eq))
            rc = bad(err, where, "expected key = value");
        else {
            *eq = '\0';
            key = trim(line);
            const spec *s = find(key);
            rc = !s || s->k == K_CONFIG ? bad(err, where, "unknown key %s", key)
                                        : apply(l, s, trim(eq + 1), where, err);
        }
    }
    fclose(f);
    return rc;
}

/* PAYCHAN_PROXY_<KEY>: lists separated by ';'. */
static int load_env(loader *l, pc_error *err)
{
    for (size_t i = 0; i < N_SPECS; i++) {
        char var[96], *p;
        snprintf(var, sizeof var, "PAYCHAN_PROXY_%s", specs[i].name);
        for (p = var; *p; p++)
            *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        const char *v = getenv(var);
        if (!v || specs[i].k == K_CONFIG)
            continue;
        if (specs[i].k < K_ACCOUNT) {
            if (apply(l, &specs[i], v, var, err) != 0)
                return -1;
            continue;
        }
        char *copy = strdup(v), *save;
        int rc = copy ? 0 : -1;
        for (char *t = copy ? strtok_r(copy, ";", &save) : NULL; t && rc == 0;
             t = strtok_r(NULL, ";", &save))
            rc = apply(l, &specs[i], trim(t), var, err);
        free(copy);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int load_args(loader *l, int argc, char **argv, pc_error *err)
{
    struct option longs[N_SPECS + 3];
    for (size_t i = 0; i < N_SPECS; i++)
        longs[i] = (struct option){specs[i].name, specs[i].k == K_FLAG ? no_argument
                                                                       : required_argument,
                                   NULL, 1000 + (int)i};
    longs[N_SPECS] = (struct option){"help", no_argument, NULL, 'h'};
    longs[N_SPECS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    longs[N_SPECS + 2] = (struct option){0};
    optind = 1;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "hV", longs, NULL)) != -1) {
        char where[80];
        if (o == 'h')
            return px_config_usage(stdout), 1;
        if (o == 'V')
            return printf("paychan-proxy %s\n", PAYCHAN_VERSION), 1;
        if (o < 1000)
            return bad(err, argv[optind - 1], "unknown option (see --help)");
        const spec *s = &specs[o - 1000];
        snprintf(where, sizeof where, "--%s", s->name);
        if (s->k != K_CONFIG && apply(l, s, s->k == K_FLAG ? "1" : optarg, where, err) != 0)
            return -1;
    }
    if (optind < argc)
        return bad(err, argv[optind], "unexpected argument (see --help)");
    return 0;
}

/* The file named by --config (scanned first: the file is the lowest user level). */
static const char *config_arg(int argc, char **argv)
{
    const char *path = getenv("PAYCHAN_PROXY_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}

/* ---- checks --------------------------------------------------------------------------- */

static int check(const px_config *c, pc_error *err)
{
    int paid = 0;
    for (size_t i = 0; i < c->n_routes; i++)
        paid |= c->routes[i].kind == PX_ROUTE_PAID;
    if (c->mode == PX_PROVIDER && !c->upstream)
        return bad(err, "--upstream", "required in provider mode");
    if ((paid || c->mode == PX_CONSUMER) && !c->payment_server)
        return bad(err, "--payment-server", "required for paid routes and in consumer mode");
    if (c->mode == PX_CONSUMER && c->n_accounts == 0)
        return bad(err, "--account", "consumer mode pays with an account: give one");
    if (c->mode == PX_CONSUMER && c->n_targets == 0)
        return bad(err, "--target", "consumer mode needs at least one allow-listed target");
    return 0;
}

int px_config_load(px_config *cfg, int argc, char **argv, pc_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    loader l = {.cfg = cfg};
    for (int k = 0; k < K_N_KINDS; k++)
        l.list_level[k] = -1;
    for (size_t i = 0; i < N_SPECS; i++)
        if (specs[i].def && apply(&l, &specs[i], specs[i].def, "default", err) != 0)
            return -1;
    /* --dev first: raw keys in the file or environment are checked against it */
    for (int i = 1; i < argc; i++)
        cfg->dev |= strcmp(argv[i], "--dev") == 0;
    cfg->dev |= getenv("PAYCHAN_PROXY_DEV") && strcmp(getenv("PAYCHAN_PROXY_DEV"), "1") == 0;
    const char *path = config_arg(argc, argv);
    l.level = 1;
    if (path && (replace(&cfg->config_path, path) != 0 || load_file(&l, path, err) != 0))
        return -1;
    l.level = 2;
    if (load_env(&l, err) != 0)
        return -1;
    l.level = 3;
    int rc = load_args(&l, argc, argv, err);
    if (rc != 0)
        return rc;
    for (size_t n; cfg->upstream && (n = strlen(cfg->upstream)) > 8 && cfg->upstream[n - 1] == '/';)
        cfg->upstream[n - 1] = '\0'; /* the request target brings its own '/' */
    return check(cfg, err);
}

void px_config_free(px_config *cfg)
{
    clear_lists(cfg, K_ACCOUNT);
    clear_lists(cfg, K_ROUTE);
    clear_lists(cfg, K_TARGET);
    free(cfg->config_path), free(cfg->listen), free(cfg->payment_server), free(cfg->upstream);
    memset(cfg, 0, sizeof *cfg);
}

int px_config_account(const px_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_accounts; i++)
        if (cfg->accounts[i].name && strcmp(cfg->accounts[i].name, name) == 0)
            return (int)i;
    return -1;
}

void px_config_usage(FILE *out)
{
    fputs("NAME\n    paychan-proxy - get paid, or pay, per HTTP request with no code change\n\n"
          "SYNOPSIS\n    paychan-proxy --mode provider --upstream URL --payment-server URL\n"
          "                  --account NAME:KEYSTORE:PASSFILE --route 'METHOD PREFIX RULE'...\n"
          "    paychan-proxy --mode consumer --payment-server URL --account NAME:KS:PASS\n"
          "                  --target 'NAME URL MAXCOST FUNDING THRESHOLD MAXSPEND'...\n\n"
          "DESCRIPTION\n"
          "    Provider mode: a reverse proxy in front of a service. Paid routes answer 402\n"
          "    with the terms (JSON body and the x-paychan-terms header) unless the request\n"
          "    carries a valid payment token (x-pay-* headers), checked by the Payment\n"
          "    Server; paid requests go upstream without x-pay-* and with\n"
          "    x-paychan-consumer: <payer address>. 503 when the payment cannot be checked\n"
          "    (never forwarded unpaid), 502/504 when the upstream fails.\n"
          "    Consumer mode: a sidecar for a service's outgoing calls, by route\n"
          "    (http://127.0.0.1:PORT/NAME/path) or as an HTTP forward proxy (HTTP_PROXY).\n"
          "    It pays allow-listed targets only; on a first 402 it opens a channel per the\n"
          "    target's funding policy and retries once. See docs/proxy.md.\n\n"
          "OPTIONS (file key = option name; environment PAYCHAN_PROXY_<NAME>)\n", out);
    for (size_t i = 0; i < N_SPECS; i++) {
        const spec *s = &specs[i];
        fprintf(out, "    --%s%s%s\n        ", s->name, s->metavar ? " " : "",
                s->metavar ? s->metavar : "");
        for (const char *p = s->help; *p; p++)
            fputs(*p == '\n' ? "\n        " : (char[2]){*p, 0}, out);
        fprintf(out, s->def ? " (default %s)\n" : "\n", s->def);
    }
    fputs("    --help, --version\n\nSIGNALS\n    SIGTERM, SIGINT: stop accepting, finish the "
          "requests in flight, exit 0.\n\nEXIT STATUS\n    0 stopped cleanly; 1 bad "
          "configuration or cannot listen.\n", out);
}
