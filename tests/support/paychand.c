/* paychand.c (test support): see paychand.h. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH, environ */
#include "support/paychand.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/child.h"

#define READY_DEADLINE_MS 30000 /* sanitizer builds start slowly */
#define STOP_GRACE_MS 15000
#define START_ATTEMPTS 4
#define MAX_ARGS 64

extern char **environ;

struct pc_test_paychand {
    pid_t pid;
    int port;
    char name[32];
    char url[64];
    char port_text[16];
    char data_dir[256];
    int own_data_dir;
    char log_path[64];
    int exit_status; /* how it ended when it exited during start-up */
    char started_path[32]; /* GET path whose 200 means started */
    char *argv[MAX_ARGS]; /* argv[i] for the port points into port_text */
    char **envp;
    struct pc_test_paychand *next;
};

/* ---- the instances alive, for printing their logs --------------------- */

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static pc_test_paychand *all;

static void free_tracked(void *p)
{
    pc_test_paychand_free(p);
}

static void track(pc_test_paychand *p)
{
    pc_test_track(p, free_tracked);
    pthread_mutex_lock(&all_lock);
    p->next = all;
    all = p;
    pthread_mutex_unlock(&all_lock);
}

static void untrack(pc_test_paychand *p)
{
    pc_test_untrack(p);
    pthread_mutex_lock(&all_lock);
    for (pc_test_paychand **q = &all; *q; q = &(*q)->next) {
        if (*q == p) {
            *q = p->next;
            break;
        }
    }
    pthread_mutex_unlock(&all_lock);
}

/* ---- set-up ------------------------------------------------------------------------- */

/* Variables paychand reads as configuration: the child must not see the test's. */
static int is_config_variable(const char *entry)
{
    static const char *const seed[] = {"PORT=", "ETH_NODE_URL=", "REDIS_HOST=", "REDIS_PORT="};
    if (strncmp(entry, "PAYCHAN_", 8) == 0)
        return 1;
    for (size_t i = 0; i < sizeof seed / sizeof seed[0]; i++)
        if (strncmp(entry, seed[i], strlen(seed[i])) == 0)
            return 1;
    return 0;
}

static char **child_environment(void)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 1, sizeof *envp);
    if (!envp)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!is_config_variable(environ[i]))
            envp[k++] = environ[i]; /* borrowed: the test does not change its environment */
    return envp;
}

static const char *binary_path(const pc_test_paychand_options *o)
{
    const char *env = getenv("PAYCHAN_PAYCHAND");
    return env && *env ? env : o->binary;
}

/* Fills p->argv; the port argument points at p->port_text. 0 or -1. */
static int build_argv(pc_test_paychand *p, const pc_test_paychand_options *o)
{
    size_t n = 0;
    const char *fixed[] = {binary_path(o), "--node-url", o->node_url, "--port", NULL,
                           "--data-dir", p->data_dir};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        p->argv[n++] = fixed[i] ? strdup(fixed[i]) : p->port_text;
    for (size_t i = 0; o->args && o->args[i]; i++) {
        if (n + 1 >= MAX_ARGS)
            return -1;
        p->argv[n++] = strdup(o->args[i]);
    }
    p->argv[n] = NULL;
    for (size_t i = 0; i < n; i++)
        if (!p->argv[i])
            return -1;
    return 0;
}

static void free_argv(pc_test_paychand *p)
{
    for (size_t i = 0; i < MAX_ARGS && p->argv[i]; i++)
        if (p->argv[i] != p->port_text)
            free(p->argv[i]);
}

/* ---- process control ----------------------------------------------------------------- */

/* Forks and execs with stdout and stderr appended to the log. */
static pid_t spawn(pc_test_paychand *p)
{
    int log = open(p->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log < 0)
        return -1;
    pid_t pid = pc_test_spawn(p->argv, p->envp, log);
    close(log);
    return pid;
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

/* HTTP status of GET p->started_path, 0 when there is no answer. */
static long status_code(const pc_test_paychand *p)
{
    char url[128];
    long code = 0;
    snprintf(url, sizeof url, "%s%s", p->url, p->started_path);
    CURL *h = curl_easy_init();
    if (!h)
        return 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    return code;
}

/* 0 ready, 1 the process exited (retry), -1 not ready in time. */
static int wait_ready(pc_test_paychand *p)
{
    int64_t deadline = pc_test_now_ms() + READY_DEADLINE_MS;
    while (pc_test_now_ms() < deadline) {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            fprintf(stderr, "%s: paychand exited during start-up (status 0x%x)\n", p->name,
                    status);
            p->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            p->pid = -1;
            return 1;
        }
        if (status_code(p) == 200)
            return 0;
        pc_test_sleep_ms(50);
    }
    fprintf(stderr, "%s: paychand not ready within %d ms\n", p->name, READY_DEADLINE_MS);
    return -1;
}

/* Starts on p->port (new_port: on a fresh free port first). 0 or -1. */
static int launch(pc_test_paychand *p, int new_port)
{
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        if (new_port) {
            p->port = pc_test_free_port();
            if (p->port < 0)
                return -1;
        }
        snprintf(p->port_text, sizeof p->port_text, "%d", p->port);
        snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
        p->pid = spawn(p);
        if (p->pid < 0) {
            perror("paychand: fork");
            return -1;
        }
        int r = wait_ready(p);
        if (r == 0)
            return 0;
        if (r < 0) {
            pc_test_paychand_kill9(p);
            break;
        }
        pc_test_sleep_ms(200); /* the port may still be held a moment */
    }
    pc_test_paychand_print_log(p, 0);
    return -1;
}

pc_test_paychand *pc_test_paychand_start(const pc_test_paychand_options *opts)
{
    const char *bin = binary_path(opts);
    if (!bin || access(bin, X_OK) != 0 || !opts->node_url) {
        fprintf(stderr, "paychand binary %s not executable (set PAYCHAN_PAYCHAND)\n",
                bin ? bin : "(none)");
        return NULL;
    }
    pc_test_paychand *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->pid = -1;
    snprintf(p->name, sizeof p->name, "%s", opts->name ? opts->name : "paychand");
    snprintf(p->started_path, sizeof p->started_path, "%s",
             opts->started_path ? opts->started_path : "/status");
    snprintf(p->log_path, sizeof p->log_path, "/tmp/paychand-log-XXXXXX");
    int fd = mkstemp(p->log_path);
    if (fd >= 0)
        close(fd);
    if (opts->data_dir) {
        snprintf(p->data_dir, sizeof p->data_dir, "%s", opts->data_dir);
    } else {
        snprintf(p->data_dir, sizeof p->data_dir, "/tmp/paychand-data-XXXXXX");
        p->own_data_dir = mkdtemp(p->data_dir) != NULL;
    }
    p->envp = child_environment();
    track(p); /* from here on, free cleans up whatever exists */
    if (fd < 0 || (!opts->data_dir && !p->own_data_dir) || !p->envp || build_argv(p, opts) != 0 ||
        launch(p, 1) != 0) {
        fprintf(stderr, "%s: paychand did not start\n", p->name);
        pc_test_paychand_free(p);
        return NULL;
    }
    return p;
}

const char *pc_test_paychand_url(const pc_test_paychand *p)
{
    return p->url;
}

const char *pc_test_paychand_data_dir(const pc_test_paychand *p)
{
    return p->data_dir;
}

int pc_test_paychand_pid(const pc_test_paychand *p)
{
    return p->pid;
}

int pc_test_paychand_stop(pc_test_paychand *p)
{
    if (p->pid <= 0)
        return -1;
    char name[160];
    snprintf(name, sizeof name, "%s: paychand", p->name);
    int rc = pc_test_terminate(p->pid, name, STOP_GRACE_MS);
    p->pid = -1;
    return rc;
}

void pc_test_paychand_kill9(pc_test_paychand *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = -1;
}

int pc_test_paychand_restart(pc_test_paychand *p)
{
    if (p->pid > 0)
        return -1;
    return launch(p, 0);
}

int pc_test_paychand_set_node_url(pc_test_paychand *p, const char *node_url)
{
    char *url = strdup(node_url);
    if (!url)
        return -1;
    free(p->argv[2]); /* build_argv: binary, --node-url, URL, ... */
    p->argv[2] = url;
    return 0;
}

int pc_test_paychand_restart_expect_exit(pc_test_paychand *p)
{
    if (p->pid > 0 || (p->pid = spawn(p)) < 0)
        return -1;
    int r = wait_ready(p);
    if (r == 1)
        return p->exit_status;
    if (r < 0)
        pc_test_paychand_kill9(p);
    fprintf(stderr, "%s: paychand was expected to refuse to start\n", p->name);
    return -1;
}

int pc_test_paychand_wait_exit(pc_test_paychand *p, int ms)
{
    int status;
    for (int64_t end = pc_test_now_ms() + ms; p->pid > 0; pc_test_sleep_ms(20)) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (pc_test_now_ms() >= end)
            break;
    }
    return -1;
}

/* ---- logs --------------------------------------------------------------------------- */

char *pc_test_paychand_log_text(const pc_test_paychand *p)
{
    return pc_test_read_file(p->log_path);
}

int pc_test_paychand_log_contains(const pc_test_paychand *p, const char *needle)
{
    char *text = pc_test_paychand_log_text(p);
    int found = text && strstr(text, needle) != NULL;
    free(text);
    return found;
}

void pc_test_paychand_print_log(const pc_test_paychand *p, size_t max_lines)
{
    char title[160];
    snprintf(title, sizeof title, "%s (%s, pid %d)", p->name, p->url, (int)p->pid);
    pc_test_print_log_tail(title, p->log_path, max_lines);
}

void pc_test_paychand_print_all_logs(size_t max_lines)
{
    pthread_mutex_lock(&all_lock);
    for (pc_test_paychand *p = all; p; p = p->next)
        pc_test_paychand_print_log(p, max_lines);
    pthread_mutex_unlock(&all_lock);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void pc_test_paychand_free(pc_test_paychand *p)
{
    if (!p)
        return;
    untrack(p);
    if (p->pid > 0 && pc_test_paychand_stop(p) != 0)
        pc_test_paychand_kill9(p);
    if (p->own_data_dir)
        nftw(p->data_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    unlink(p->log_path);
    free_argv(p);
    free(p->envp);
    free(p);
}
