/* redis_sentinel.c (test support): see redis_sentinel.h. */
#include "support/redis_sentinel.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/child.h"

#define READY_DEADLINE_MS 20000
#define STOP_GRACE_MS 3000

struct pc_test_sentinels {
    char name[64];
    pid_t pid[PC_TEST_SENTINELS];
    int port[PC_TEST_SENTINELS];
    char dir[PC_TEST_SENTINELS][64];
    char list[PC_TEST_SENTINELS * 24];
};

static const char *sentinel_path(void)
{
    const char *env = getenv("PAYCHAN_REDIS_SENTINEL");
    return env && *env ? env : "redis-sentinel";
}

/* One command to 127.0.0.1:port; the reply (caller frees) or NULL. */
static redisReply *ask(int port, const char *fmt, const char *arg)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = 500000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = c && !c->err ? redisCommand(c, fmt, arg) : NULL;
    redisFree(c);
    return r;
}

/* The num-slaves a sentinel reports for the master, or -1. */
static int sentinel_knows(int port, const char *name)
{
    redisReply *r = ask(port, "SENTINEL master %s", name);
    int n = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[i]->str, "num-slaves") == 0)
            n = atoi(r->element[i + 1]->str);
    freeReplyObject(r);
    return n;
}

static int launch(pc_test_sentinels *s, int i, int primary_port)
{
    char conf[128];
    snprintf(s->dir[i], sizeof s->dir[i], "/tmp/paychan-sentinel-XXXXXX");
    if (!mkdtemp(s->dir[i]))
        return -1;
    snprintf(conf, sizeof conf, "%s/sentinel.conf", s->dir[i]);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    s->port[i] = pc_test_free_port();
    fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\nlogfile \"\"\n"
               "sentinel monitor %s 127.0.0.1 %d 2\n"
               "sentinel down-after-milliseconds %s 1000\n"
               "sentinel failover-timeout %s 3000\n"
               "sentinel parallel-syncs %s 1\n",
            s->port[i], s->dir[i], s->name, primary_port, s->name, s->name, s->name);
    fclose(f);
    char *argv[] = {(char *)sentinel_path(), conf, NULL};
    s->pid[i] = pc_test_spawn(argv, NULL, -1);
    return s->pid[i] > 0 ? 0 : -1;
}

static void stop_tracked(void *s)
{
    pc_test_sentinels_stop(s);
}

/* Polls until every sentinel knows `replicas` replicas; 0 or -1 at deadline. */
static int wait_known(const pc_test_sentinels *s, int replicas, int64_t deadline)
{
    for (int i = 0; i < PC_TEST_SENTINELS; i++)
        while (sentinel_knows(s->port[i], s->name) < replicas)
            if (pc_test_now_ms() > deadline)
                return -1;
            else
                pc_test_sleep_ms(50);
    return 0;
}

pc_test_sentinels *pc_test_sentinels_start(const pc_test_redis *primary, int replicas,
                                           const char *master_name)
{
    int64_t deadline = pc_test_now_ms() + READY_DEADLINE_MS;
    int pport = pc_test_redis_port(primary);
    while (pc_test_redis_replicas_online(pport) < replicas && pc_test_now_ms() < deadline)
        pc_test_sleep_ms(50);
    pc_test_sentinels *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", master_name);
    pc_test_track(s, stop_tracked);
    int ok = 1;
    for (int i = 0; i < PC_TEST_SENTINELS && ok; i++) {
        ok = launch(s, i, pport) == 0;
        size_t len = strlen(s->list);
        snprintf(s->list + len, sizeof s->list - len, "%s127.0.0.1:%d", i ? "," : "", s->port[i]);
    }
    if (!ok || wait_known(s, replicas, deadline) != 0) {
        fprintf(stderr, "%s: %d sentinels not ready with %d replicas within %d ms\n",
                sentinel_path(), PC_TEST_SENTINELS, replicas, READY_DEADLINE_MS);
        pc_test_sentinels_stop(s);
        return NULL;
    }
    return s;
}

const char *pc_test_sentinels_list(const pc_test_sentinels *s)
{
    return s->list;
}

int pc_test_sentinels_primary_port(const pc_test_sentinels *s)
{
    for (int i = 0; i < PC_TEST_SENTINELS; i++) {
        redisReply *r = ask(s->port[i], "SENTINEL get-master-addr-by-name %s", s->name);
        int port = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
                       ? atoi(r->element[1]->str) : -1;
        freeReplyObject(r);
        if (port > 0)
            return port;
    }
    return -1;
}

int pc_test_sentinels_wait_replicas(const pc_test_sentinels *s, int n, int timeout_ms)
{
    int64_t end = pc_test_now_ms() + timeout_ms;
    for (; pc_test_now_ms() < end; pc_test_sleep_ms(50)) {
        int port = pc_test_sentinels_primary_port(s);
        if (port > 0 && pc_test_redis_replicas_online(port) >= n)
            return 0;
    }
    return -1;
}

void pc_test_sentinels_stop(pc_test_sentinels *s)
{
    if (!s)
        return;
    pc_test_untrack(s);
    for (int i = 0; i < PC_TEST_SENTINELS; i++) {
        if (s->pid[i] > 0)
            pc_test_kill_and_reap(s->pid[i], SIGTERM, STOP_GRACE_MS);
        char conf[128];
        snprintf(conf, sizeof conf, "%s/sentinel.conf", s->dir[i]);
        unlink(conf);
        if (s->dir[i][0])
            rmdir(s->dir[i]);
    }
    free(s);
}
