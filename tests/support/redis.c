/* redis.c (test support): see redis.h. */
#include "support/redis.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_DEADLINE_MS 10000
#define STOP_GRACE_MS 3000
#define PORT_ATTEMPTS 5

struct pc_test_redis {
    pid_t pid;
    int port;
    char dir[64];
    struct pc_test_redis *next_running;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- stopping servers left running at exit ------------------------------------------ */

static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static pc_test_redis *running;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;
static pid_t atexit_owner; /* a forked child that exits must not stop our servers */

static void stop_all_at_exit(void)
{
    if (getpid() != atexit_owner)
        return;
    for (;;) {
        pthread_mutex_lock(&running_lock);
        pc_test_redis *r = running;
        pthread_mutex_unlock(&running_lock);
        if (!r)
            return;
        pc_test_redis_stop(r);
    }
}

static void register_atexit(void)
{
    atexit_owner = getpid();
    atexit(stop_all_at_exit);
}

static void track(pc_test_redis *r)
{
    pthread_once(&atexit_once, register_atexit);
    pthread_mutex_lock(&running_lock);
    r->next_running = running;
    running = r;
    pthread_mutex_unlock(&running_lock);
}

static void untrack(pc_test_redis *r)
{
    pthread_mutex_lock(&running_lock);
    for (pc_test_redis **p = &running; *p; p = &(*p)->next_running) {
        if (*p == r) {
            *p = r->next_running;
            break;
        }
    }
    pthread_mutex_unlock(&running_lock);
}

/* ---- process control ----------------------------------------------------------------- */

/* A port that was free a moment ago; redis may lose it before it binds, so callers retry. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0
        && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static const char *server_path(void)
{
    const char *env = getenv("PAYCHAN_REDIS_SERVER");
    return env && *env ? env : "redis-server";
}

/* Forks and execs redis-server; only async-signal-safe calls in the child. */
static pid_t spawn(char *const argv[])
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
    }
    execvp(argv[0], argv);
    _exit(127);
}

static void kill_and_reap(pid_t pid, int sig)
{
    kill(pid, sig);
    int64_t deadline = now_ms() + STOP_GRACE_MS;
    while (waitpid(pid, NULL, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return;
        }
        sleep_ms(5);
    }
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
    int64_t deadline = now_ms() + READY_DEADLINE_MS;
    while (now_ms() < deadline) {
        if (answers_ping(r->port))
            return 0;
        if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
            r->pid = -1;
            return 1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "redis-server on port %d not ready within %d ms\n", r->port, READY_DEADLINE_MS);
    return -1;
}

/* Starts the server on r->port in r->dir: 0 ready, 1 exited early, -1 failed. */
static int launch(pc_test_redis *r)
{
    char port[16];
    snprintf(port, sizeof port, "%d", r->port);
    char *argv[] = {(char *)server_path(), "--port", port, "--bind", "127.0.0.1", "--dir", r->dir,
                    "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                    "--daemonize", "no", "--logfile", "", NULL};
    r->pid = spawn(argv);
    if (r->pid < 0) {
        perror("redis-server: fork");
        return -1;
    }
    int ready = wait_ready(r);
    if (ready != 0 && r->pid > 0) {
        kill_and_reap(r->pid, SIGKILL);
        r->pid = -1;
    }
    return ready;
}

/* Is the binary there at all? (execvp's failure would only show as an early exit.) */
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
    if (!binary_found()) {
        fprintf(stderr, "%s not found (install it with scripts/install-deps.sh, or set "
                        "PAYCHAN_REDIS_SERVER)\n", server_path());
        return NULL;
    }
    pc_test_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->dir, sizeof r->dir, "/tmp/paychan-redis-XXXXXX");
    if (!mkdtemp(r->dir)) {
        perror("redis-server: mkdtemp");
        free(r);
        return NULL;
    }
    for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
        r->port = free_port();
        int ready = r->port > 0 ? launch(r) : -1;
        if (ready == 0) {
            track(r);
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
        kill_and_reap(r->pid, SIGKILL);
    r->pid = -1;
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
        sleep_ms(20);
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
    untrack(r);
    if (r->pid > 0)
        kill_and_reap(r->pid, SIGTERM);
    remove_tree(r->dir);
    free(r);
}
