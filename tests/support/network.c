/* network.c (test support): see network.h. */
#define _GNU_SOURCE /* environ */
#include "support/network.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/crypto/hash.h"
#include "core/crypto/keystore.h"
#include "support/child.h"

#define CHAIN_ID "31337"             /* pc_test_anvil's default */
#define READY_DEADLINE_MS 30000      /* sanitizer builds on a loaded 2-core machine */
#define STOP_GRACE_MS 15000
#define START_ATTEMPTS 4
#define REQUEST_TIMEOUT_MS 120000L
#define FUNDING_WEI_DEC "1000000000000000000000" /* 1000 ether for each dev account */
#define MAX_ENV 48                   /* our own variables per service */

extern char **environ;

static const char *const service_names[PC_NET_N_SERVICES] = {
    "persistence-service", "random-nr-service", "public-service"};
/* The devnet keystore of each network account, by pc_itest slot. */
static const struct {
    int slot;
    const char *keystore;
} dev_accounts[] = {
    {PC_NET_ACC_PUBLIC, "consumer.json"},
    {PC_NET_ACC_PERSISTENCE, "persistence.json"},
    {PC_NET_ACC_RANDOM, "random.json"},
};
#define KEYSTORE_DIR PAYCHAN_SOURCE_DIR "/devnet/dev-only/keystores/"
#define PASSWORD_FILE PAYCHAN_SOURCE_DIR "/devnet/dev-only/password.txt"

struct pc_net_process {
    pc_net_service which;
    pid_t pid;
    int port;
    char url[64];
    char log_path[64];
    const char *binary;
    char *env_own[MAX_ENV]; /* "NAME=value" strings we made */
    size_t n_own;
    char **envp;            /* the test's environment minus the services' settings, plus ours */
};

struct pc_net_http {
    CURL *curl;
};

/* ---- small helpers ---------------------------------------------------------------------- */

const char *pc_test_network_name(pc_net_service s)
{
    return s < PC_NET_N_SERVICES ? service_names[s] : "?";
}

const char *pc_test_network_url(const pc_test_network *n, pc_net_service s)
{
    return n->service[s] ? n->service[s]->url : "";
}

void pc_test_network_print_service_logs(const pc_test_network *n, size_t max_lines)
{
    for (int s = 0; s < PC_NET_N_SERVICES; s++)
        if (n->service[s])
            pc_test_print_log_tail(service_names[s], n->service[s]->log_path, max_lines);
}

/* ---- HTTP --------------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    FILE *mem = ctx;
    return fwrite(data, size, nmemb, mem) * size;
}

/* GET url with extra headers on handle h; fills *out. 0 or -1. */
static int http_get(CURL *h, const char *url, const char *const *headers, long timeout_ms,
                    pc_test_reply *out)
{
    memset(out, 0, sizeof *out);
    size_t len = 0;
    FILE *mem = open_memstream(&out->text, &len);
    if (!mem)
        return -1;
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    fclose(mem);
    if (!out->text)
        out->text = strdup("");
    if (rc != CURLE_OK) {
        out->status = 0;
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = json_loads(out->text, 0, NULL);
    return 0;
}

int pc_test_network_get(pc_test_network *n, pc_net_service s, const char *const *headers,
                        pc_test_reply *out, const char *fmt, ...)
{
    char target[2048], url[2200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(target, sizeof target, fmt, ap);
    va_end(ap);
    snprintf(url, sizeof url, "%s%s", pc_test_network_url(n, s), target);
    return http_get(n->http->curl, url, headers, REQUEST_TIMEOUT_MS, out);
}

/* HTTP status of GET url/status on a fresh connection (0 = no answer). */
static long status_of(const char *base)
{
    char url[96];
    pc_test_reply r;
    snprintf(url, sizeof url, "%s/status", base);
    CURL *h = curl_easy_init();
    if (!h)
        return 0;
    http_get(h, url, NULL, 2000L, &r);
    curl_easy_cleanup(h);
    long status = r.status;
    pc_test_reply_free(&r);
    return status;
}

/* ---- the chain ---------------------------------------------------------------------------- */

int pc_test_network_u256_at(pc_test_network *n, const pc_address *mediator, const char *getter,
                            uint64_t block, pc_u256 *out)
{
    char signature[96], block_tag[24];
    uint8_t hash[32];
    pc_bytes result = {0};
    pc_error err;
    snprintf(signature, sizeof signature, "%s()", getter);
    pc_keccak256((const uint8_t *)signature, strlen(signature), hash);
    snprintf(block_tag, sizeof block_tag, "0x%llx", (unsigned long long)block);
    pc_call call = {.to = mediator, .data = hash, .data_len = 4, .block = block_tag};
    int rc = pc_rpc_eth_call(n->chain.rpc, &call, &result, NULL, &err);
    if (rc == 0 && result.len == 32)
        pc_u256_from_be(out, result.data);
    else
        fprintf(stderr, "network: %s at block %s: %s\n", getter, block_tag,
                rc == 0 ? "not one word" : err.message);
    int ok = rc == 0 && result.len == 32;
    pc_bytes_free(&result);
    return ok ? 0 : -1;
}

/* Fills the pc_itest view's keys and addresses: devnet keystores for the
 * network's roles, anvil dev keys for the other slots. 0 or -1. */
static int load_accounts(pc_itest *t)
{
    for (int i = 0; i < IT_N_ACCOUNTS; i++) {
        pc_test_dev_key(i, t->key[i]);
        pc_test_dev_address(i, &t->addr[i]);
    }
    for (size_t i = 0; i < sizeof dev_accounts / sizeof dev_accounts[0]; i++) {
        char path[1024];
        pc_error err;
        int slot = dev_accounts[i].slot;
        snprintf(path, sizeof path, "%s%s", KEYSTORE_DIR, dev_accounts[i].keystore);
        if (pc_keystore_load_file(path, PASSWORD_FILE, t->key[slot], &t->addr[slot], &err) != 0) {
            fprintf(stderr, "network: keystore %s: %s\n", path, err.message);
            return -1;
        }
    }
    for (int i = 0; i < IT_N_ACCOUNTS; i++)
        pc_address_format(&t->addr[i], t->sender[i]);
    return 0;
}

/* Anvil, the node client, and ether for the devnet accounts. 0 or -1. */
static int start_chain(pc_itest *t)
{
    pc_error err;
    pc_u256 funding;
    t->anvil = pc_test_anvil_start(NULL);
    t->secp = pc_secp_create();
    if (!t->anvil || !t->secp || load_accounts(t) != 0)
        return -1;
    t->rpc = pc_rpc_create(pc_test_anvil_url(t->anvil), NULL, &err);
    if (!t->rpc || pc_rpc_chain_id(t->rpc, &t->chain_id, &err) != 0) {
        fprintf(stderr, "network: rpc: %s\n", err.message);
        return -1;
    }
    if (pc_u256_parse_dec(FUNDING_WEI_DEC, &funding) != 0)
        return -1;
    for (size_t i = 0; i < sizeof dev_accounts / sizeof dev_accounts[0]; i++)
        if (pc_test_anvil_set_balance(t->anvil, &t->addr[dev_accounts[i].slot], &funding) != 0)
            return -1;
    return 0;
}

/* ---- Payment Servers ------------------------------------------------------------------------ */

/* A paychand serving the devnet keystores named (NULL-terminated). */
static pc_test_paychand *start_paychand(pc_test_network *n, const char *binary, const char *name,
                                        const char *const *keystores, unsigned duty_ms)
{
    char duty[16], accounts[2][1200];
    const char *argv[16];
    size_t k = 0;
    snprintf(duty, sizeof duty, "%u", duty_ms);
    /* --redeem-gas-multiple 0: the final redemption at termination redeems the
     * 5 newer requests, worth less than its gas, as the protocol allows */
    const char *fixed[] = {"--chain-id", CHAIN_ID, "--duty-interval", duty, "--log-level", "info",
                           "--redeem-gas-multiple", "0"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[k++] = fixed[i];
    for (size_t i = 0; keystores[i] && i < 2; i++) {
        snprintf(accounts[i], sizeof accounts[i], "%s%s:%s", KEYSTORE_DIR, keystores[i],
                 PASSWORD_FILE);
        argv[k++] = "--account";
        argv[k++] = accounts[i];
    }
    argv[k] = NULL;
    pc_test_paychand_options o = {.binary = binary, .name = name,
                                  .node_url = pc_test_anvil_url(n->chain.anvil), .args = argv};
    return pc_test_paychand_start(&o);
}

/* ---- service processes ----------------------------------------------------------------------- */

/* The variables the services read as configuration (examples/network/README.md). */
static int is_service_setting(const char *entry)
{
    static const char *const names[] = {
        "PORT", "LISTEN", "PAYMENT_SERVER_URL", "KEYSTORE", "PASSWORD_FILE", "PAYMENT_INACTIVE",
        "TIMEOUT_MS", "TERMINATION_TIMEOUT", "TOKEN_REDEMPTION_TIMEOUT", "LOG_LEVEL",
        "PERSISTENCE_SERVICE_URL", "RANDOM_NR_SERVICE_URL", "PERSISTENCE_SERVICE_ADDRESS",
        "RANDOM_NR_SERVICE_ADDRESS"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(entry, names[i], len) == 0 && entry[len] == '=')
            return 1;
    }
    return 0;
}

/* Adds NAME=value to p's own variables. 0 or -1. */
static int set_env(pc_net_process *p, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_env(pc_net_process *p, const char *name, const char *fmt, ...)
{
    char value[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    if (p->n_own + 1 >= MAX_ENV || asprintf(&p->env_own[p->n_own], "%s=%s", name, value) < 0)
        return -1;
    p->n_own++;
    return 0;
}

/* The environment of service s (its settings, not yet the port). 0 or -1. */
static int service_settings(const pc_test_network *n, pc_net_process *p)
{
    static const char *const keystores[PC_NET_N_SERVICES] = {"persistence.json", "random.json",
                                                             "consumer.json"};
    const pc_test_paychand *server =
        p->which == PC_NET_PUBLIC ? n->public_server : n->providers_server;
    int rc = set_env(p, "LISTEN", "127.0.0.1") |
             set_env(p, "PAYMENT_SERVER_URL", "%s", pc_test_paychand_url(server)) |
             set_env(p, "KEYSTORE", "%s%s", KEYSTORE_DIR, keystores[p->which]) |
             set_env(p, "PASSWORD_FILE", "%s", PASSWORD_FILE) |
             set_env(p, "TERMINATION_TIMEOUT", "%llu",
                     (unsigned long long)n->termination_timeout_s) |
             set_env(p, "TOKEN_REDEMPTION_TIMEOUT", "%llu",
                     (unsigned long long)n->token_redemption_timeout_s) |
             set_env(p, "LOG_LEVEL", "info");
    if (p->which == PC_NET_PUBLIC)
        rc |= set_env(p, "PERSISTENCE_SERVICE_URL", "%s", n->service[PC_NET_PERSISTENCE]->url) |
              set_env(p, "RANDOM_NR_SERVICE_URL", "%s", n->service[PC_NET_RANDOM]->url);
    return rc ? -1 : 0;
}

/* envp = the test's environment minus service settings, then p's own ones
 * (the last being PORT, replaced per attempt). 0 or -1. */
static int build_envp(pc_net_process *p)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    p->envp = calloc(n + MAX_ENV + 1, sizeof *p->envp);
    if (!p->envp)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!is_service_setting(environ[i]))
            p->envp[k++] = environ[i]; /* borrowed: the test does not change its environment */
    for (size_t i = 0; i < p->n_own; i++)
        p->envp[k++] = p->env_own[i];
    return 0;
}

/* Waits for GET /status: 0 ready, 1 the process exited (retry), -1 not in time. */
static int wait_ready(pc_net_process *p)
{
    int64_t deadline = pc_test_now_ms() + READY_DEADLINE_MS;
    while (pc_test_now_ms() < deadline) {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            fprintf(stderr, "network: %s exited during start-up (status 0x%x)\n",
                    service_names[p->which], status);
            p->pid = -1;
            return 1;
        }
        if (status_of(p->url) == 200)
            return 0;
        pc_test_sleep_ms(50);
    }
    fprintf(stderr, "network: %s not ready within %d ms\n", service_names[p->which],
            READY_DEADLINE_MS);
    return -1;
}

/* Starts p on a free port, retrying on another one if it exits. 0 or -1. */
static int launch(pc_net_process *p)
{
    char *const argv[] = {(char *)p->binary, NULL};
    size_t port_slot = 0;
    while (p->envp[port_slot])
        port_slot++;
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        char *port_env = NULL;
        p->port = pc_test_free_port();
        snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
        if (p->port < 0 || asprintf(&port_env, "PORT=%d", p->port) < 0)
            return -1;
        p->envp[port_slot] = port_env;
        int log = open(p->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        p->pid = log >= 0 ? pc_test_spawn(argv, p->envp, log) : -1;
        if (log >= 0)
            close(log);
        p->envp[port_slot] = NULL;
        free(port_env); /* the child has its copy */
        if (p->pid < 0)
            return -1;
        int r = wait_ready(p);
        if (r == 0)
            return 0;
        if (r < 0)
            return -1;
        pc_test_sleep_ms(200);
    }
    return -1;
}

/* Stops p (SIGTERM, SIGKILL after a grace period); its exit status as
 * pc_test_network_stop counts it. */
static int stop_process(pc_net_process *p)
{
    if (p->pid <= 0)
        return 0;
    char name[64];
    snprintf(name, sizeof name, "network: %s", service_names[p->which]);
    int rc = pc_test_terminate(p->pid, name, STOP_GRACE_MS);
    p->pid = -1;
    return rc;
}

static void free_process(pc_net_process *p)
{
    if (!p)
        return;
    if (p->pid > 0)
        pc_test_kill_and_reap(p->pid, SIGKILL, 1000);
    unlink(p->log_path);
    for (size_t i = 0; i < p->n_own; i++)
        free(p->env_own[i]);
    free(p->envp);
    free(p);
}

/* Starts service s of n. 0 or -1 (the process is kept for its log). */
static int start_service(pc_test_network *n, pc_net_service s, const char *binary)
{
    pc_net_process *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    n->service[s] = p;
    p->which = s;
    p->pid = -1;
    p->binary = binary;
    snprintf(p->log_path, sizeof p->log_path, "/tmp/netsvc-log-XXXXXX");
    int fd = mkstemp(p->log_path);
    if (fd < 0)
        return -1;
    close(fd);
    if (!binary || access(binary, X_OK) != 0) {
        fprintf(stderr, "network: %s binary %s not executable\n", service_names[s],
                binary ? binary : "(none)");
        return -1;
    }
    if (service_settings(n, p) != 0 || build_envp(p) != 0 || launch(p) != 0) {
        fprintf(stderr, "network: %s did not start\n", service_names[s]);
        return -1;
    }
    return 0;
}

/* ---- the whole network ---------------------------------------------------------------------- */

static void stop_tracked(void *obj)
{
    pc_test_network_stop(obj);
}

/* The clients of the pc_itest view: each role to its team's Payment Server. */
static int make_clients(pc_test_network *n)
{
    pc_itest *t = &n->chain;
    t->client[PC_NET_ACC_PUBLIC] = pc_itest_client(t, n->public_server, PC_NET_ACC_PUBLIC);
    t->client[PC_NET_ACC_PERSISTENCE] =
        pc_itest_client(t, n->providers_server, PC_NET_ACC_PERSISTENCE);
    t->client[PC_NET_ACC_RANDOM] = pc_itest_client(t, n->providers_server, PC_NET_ACC_RANDOM);
    return t->client[PC_NET_ACC_PUBLIC] && t->client[PC_NET_ACC_PERSISTENCE] &&
                   t->client[PC_NET_ACC_RANDOM]
               ? 0
               : -1;
}

pc_test_network *pc_test_network_start(const pc_test_network_options *opts)
{
    static const char *const provider_keys[] = {"persistence.json", "random.json", NULL};
    static const char *const public_keys[] = {"consumer.json", NULL};
    pc_test_network *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    pc_test_track(n, stop_tracked);
    n->termination_timeout_s = opts->termination_timeout_s ? opts->termination_timeout_s : 8;
    n->token_redemption_timeout_s =
        opts->token_redemption_timeout_s ? opts->token_redemption_timeout_s : 4;
    unsigned duty_ms = opts->duty_interval_ms ? opts->duty_interval_ms : 200;
    n->chain.paychand = opts->paychand;
    n->http = calloc(1, sizeof *n->http);
    if (!n->http || !(n->http->curl = curl_easy_init()) || start_chain(&n->chain) != 0)
        goto fail;
    n->providers_server = start_paychand(n, opts->paychand, "paychand-providers", provider_keys,
                                         duty_ms);
    n->public_server = start_paychand(n, opts->paychand, "paychand-public", public_keys, duty_ms);
    if (!n->providers_server || !n->public_server)
        goto fail;
    n->chain.consumer_server = n->public_server;
    n->chain.provider_server = n->providers_server;
    if (make_clients(n) != 0)
        goto fail;
    for (int s = 0; s < PC_NET_N_SERVICES && !opts->chain_only; s++) /* providers first */
        if (start_service(n, (pc_net_service)s, opts->service[s]) != 0)
            goto fail;
    return n;
fail:
    fprintf(stderr, "network: start-up failed\n");
    pc_test_network_print_service_logs(n, 0);
    pc_test_paychand_print_all_logs(0);
    pc_test_network_stop(n);
    return NULL;
}

int pc_test_network_stop(pc_test_network *n)
{
    if (!n)
        return 0;
    pc_test_untrack(n);
    int first_bad = 0;
    for (int s = PC_NET_N_SERVICES - 1; s >= 0; s--) { /* the consumer first */
        if (!n->service[s])
            continue;
        int status = stop_process(n->service[s]);
        if (status != 0) {
            fprintf(stderr, "network: %s stopped with status %d\n", service_names[s], status);
            pc_test_print_log_tail(service_names[s], n->service[s]->log_path, 30);
            if (!first_bad)
                first_bad = status;
        }
        free_process(n->service[s]);
        n->service[s] = NULL;
    }
    pc_test_paychand *servers[] = {n->public_server, n->providers_server};
    for (size_t i = 0; i < 2; i++) {
        if (!servers[i] || pc_test_paychand_pid(servers[i]) <= 0)
            continue;
        int status = pc_test_paychand_stop(servers[i]);
        if (status != 0) {
            pc_test_paychand_print_log(servers[i], 30);
            if (!first_bad)
                first_bad = status;
        }
    }
    for (int i = 0; i < IT_N_ACCOUNTS; i++)
        pc_test_client_destroy(n->chain.client[i]);
    pc_test_paychand_free(n->public_server);
    pc_test_paychand_free(n->providers_server);
    pc_rpc_destroy(n->chain.rpc);
    pc_secp_destroy(n->chain.secp);
    pc_test_anvil_stop(n->chain.anvil);
    pc_wipe(n->chain.key, sizeof n->chain.key);
    if (n->http)
        curl_easy_cleanup(n->http->curl);
    free(n->http);
    free(n);
    return first_bad;
}
