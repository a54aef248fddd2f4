/* redis.c (test support): see redis.h. */
#include "support/redis.h"

#include <dirent.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/child.h"

#define READY_DEADLINE_MS 10000
#define STOP_GRACE_MS 3000
#define PORT_ATTEMPTS 5

struct pc_test_redis {
    pid_t pid;
    int port;
    int primary_port; /* a replica: its primary's port; else 0 */
    char dir[64];
};

/* ---- process control ----------------------------------------------------------------- */

static const char *server_path(void)
{
    const char *env = getenv("PAYCHAN_REDIS_SERVER");
    return env && *env ? env : "redis-server";
}

static int answers_ping(int port)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = 500000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    int ok = 0;
    if (c && !c->err) {
        redisReply *reply = redisCommand(c, "PING");
        ok = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
        freeReplyObject(reply);
    }
    redisFree(c);
    return ok;
}

/* 0 ready, 1 the server exited (maybe it lost the port), -1 timeout. */
static int wait_ready(pc_test_redis *r)
{
    int64_t deadline = pc_test_now_ms() + READY_DEADLINE_MS;
    while (pc_test_now_ms() < deadline) {
        if (answers_ping(r->port))
            return 0;
        if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
            r->pid = -1;
            return 1;
        }
        pc_test_sleep_ms(10);
    }
    fprintf(stderr, "redis-server on port %d not ready within %d ms\n", r->port, READY_DEADLINE_MS);
    return -1;
}

/* Starts the server on r->port in r->dir: 0 ready, 1 exited early, -1 failed. */
static int launch(pc_test_redis *r)
{
    char port[16], primary[16];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(primary, sizeof primary, "%d", r->primary_port);
    char *argv[] = {(char *)server_path(), "--port", port, "--bind", "127.0.0.1", "--dir", r->dir,
                    "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                    "--daemonize", "no", "--logfile", "", "--repl-diskless-sync-delay", "0",
                    r->primary_port ? "--replicaof" : NULL, "127.0.0.1", primary, NULL};
    r->pid = pc_test_spawn(argv, NULL, -1);
    if (r->pid < 0) {
        perror("redis-server: fork");
        return -1;
    }
    int ready = wait_ready(r);
    if (ready != 0 && r->pid > 0) {
        pc_test_kill_and_reap(r->pid, SIGKILL, STOP_GRACE_MS);
        r->pid = -1;
    }
    return ready;
}

/* Is the binary there at all? (execvp's failure would only show as an early exit.) */
static void stop_tracked(void *r)
{
    pc_test_redis_stop(r);
}

static int binary_found(void)
{
    const char *path = server_path();
    if (strchr(path, '/'))
        return access(path, X_OK) == 0;
    const char *dirs = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dirs ? dirs : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char full[4200];
        snprintf(full, sizeof full, "%s/%s", d, path);
        if (access(full, X_OK) == 0)
            return 1;
    }
    return 0;
}

pc_test_redis *pc_test_redis_start(void)
{
    return pc_test_redis_start_replica(NULL);
}

pc_test_redis *pc_test_redis_start_replica(const pc_test_redis *primary)
{
    if (!binary_found()) {
        fprintf(stderr, "%s not found (install it with scripts/install-deps.sh, or set "
                        "PAYCHAN_REDIS_SERVER)\n", server_path());
        return NULL;
    }
    pc_test_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->primary_port = primary ? primary->port : 0;
    snprintf(r->dir, sizeof r->dir, "/tmp/paychan-redis-XXXXXX");
    if (!mkdtemp(r->dir)) {
        perror("redis-server: mkdtemp");
        free(r);
        return NULL;
    }
    for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
        r->port = pc_test_free_port();
        int ready = r->port > 0 ? launch(r) : -1;
        if (ready == 0) {
            pc_test_track(r, stop_tracked);
            return r;
        }
        if (ready < 0)
            break;
    }
    fprintf(stderr, "redis-server (%s) did not start\n", server_path());
    rmdir(r->dir);
    free(r);
    return NULL;
}

/* ---- what the server says ------------------------------------------------------------- */

/* One INFO section of the server at port, or NULL (caller frees). */
static redisReply *info(int port, const char *section)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = 500000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = c && !c->err ? redisCommand(c, "INFO %s", section) : NULL;
    redisFree(c);
    if (r && r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        r = NULL;
    }
    return r;
}

/* Counts "state=online" in INFO replication: connected_slaves also counts
 * replicas still waiting for their snapshot, and Sentinel may promote
 * such an empty replica. */
int pc_test_redis_replicas_online(int port)
{
    redisReply *r = info(port, "replication");
    int n = 0;
    for (const char *p = r ? r->str : NULL; p && (p = strstr(p, "state=online")); p++)
        n++;
    freeReplyObject(r);
    return n;
}

/* 1 when n replicas acknowledge a write on the primary at port at once
 * (SET, then WAIT n 100): a replica counted online may not do so yet. */
static int replicas_acknowledge(int port, int n)
{
    struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *set = c && !c->err ? redisCommand(c, "SET paychan-test:probe 1") : NULL;
    redisReply *wait = set ? redisCommand(c, "WAIT %d 100", n) : NULL;
    int ok = wait && wait->type == REDIS_REPLY_INTEGER && wait->integer >= n;
    freeReplyObject(wait);
    freeReplyObject(set);
    redisFree(c);
    return ok;
}

int pc_test_redis_wait_replicas(const pc_test_redis *primary, int n, int timeout_ms)
{
    for (int64_t end = pc_test_now_ms() + timeout_ms; pc_test_now_ms() < end;
         pc_test_sleep_ms(50))
        if (pc_test_redis_replicas_online(primary->port) >= n &&
            replicas_acknowledge(primary->port, n))
            return 0;
    return -1;
}

long long pc_test_redis_calls(const pc_test_redis *r, const char *command)
{
    char key[64];
    snprintf(key, sizeof key, "cmdstat_%s:calls=", command);
    redisReply *stats = info(r->port, "commandstats");
    const char *at = stats ? strstr(stats->str, key) : NULL;
    long long calls = !stats ? -1 : at ? atoll(at + strlen(key)) : 0;
    freeReplyObject(stats);
    return calls;
}

const char *pc_test_redis_host(const pc_test_redis *r)
{
    (void)r;
    return "127.0.0.1";
}

int pc_test_redis_port(const pc_test_redis *r)
{
    return r->port;
}

void pc_test_redis_crash(pc_test_redis *r)
{
    if (r->pid > 0)
        pc_test_kill_and_reap(r->pid, SIGKILL, STOP_GRACE_MS);
    r->pid = -1;
}

int pc_test_redis_signal(pc_test_redis *r, int sig)
{
    return r->pid > 0 ? kill(r->pid, sig) : -1;
}

int pc_test_redis_restart(pc_test_redis *r)
{
    pc_test_redis_crash(r);
    for (int attempt = 0; attempt < 50; attempt++) { /* the old socket may linger briefly */
        int ready = launch(r);
        if (ready == 0)
            return 0;
        if (ready < 0)
            return -1;
        pc_test_sleep_ms(20);
    }
    return -1;
}

/* Removes dir and everything below it (redis writes appendonlydir/ there). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            struct stat st;
            if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(path);
            else
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

void pc_test_redis_stop(pc_test_redis *r)
{
    if (!r)
        return;
    pc_test_untrack(r);
    if (r->pid > 0)
        pc_test_kill_and_reap(r->pid, SIGTERM, STOP_GRACE_MS);
    remove_tree(r->dir);
    free(r);
}
