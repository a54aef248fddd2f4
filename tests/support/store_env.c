/* store_env.c (test support): see store_env.h. */
#include "support/store_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/store_check.h"

pc_store *pc_test_store_env_open(pc_test_store_env *e)
{
    pc_store_options o = {.backend = e->backend, .sqlite_path = e->path,
                          .redis_host = e->redis ? pc_test_redis_host(e->redis) : NULL,
                          .redis_port = e->redis ? pc_test_redis_port(e->redis) : 0,
                          .redis_prefix = e->prefix};
    pc_error err = {0};
    pc_store *s = pc_store_open(&o, &err);
    if (!s)
        fprintf(stderr, "pc_store_open: %s\n", err.message);
    return s;
}

static pc_test_store_env *current; /* cmocka hands group fixtures no state of ours */

static int group_setup(void **state)
{
    (void)state;
    pc_test_store_env *e = current;
    if (e->backend == PC_STORE_SQLITE) {
        snprintf(e->dir, sizeof e->dir, "/tmp/paychan-store-XXXXXX");
        return mkdtemp(e->dir) ? 0 : -1;
    }
    if (e->backend == PC_STORE_REDIS) {
        e->redis = pc_test_redis_start();
        return e->redis ? 0 : -1; /* no redis-server: the whole group fails */
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pc_test_store_env *e = current;
    for (int i = 1; e->backend == PC_STORE_SQLITE && i <= e->serial; i++) {
        snprintf(e->path, sizeof e->path, "%s/t%d.db", e->dir, i);
        pc_test_remove_sqlite(e->path);
    }
    if (e->backend == PC_STORE_SQLITE)
        rmdir(e->dir);
    pc_test_redis_stop(e->redis);
    e->redis = NULL;
    return 0;
}

/* Each test starts from an empty store: a new file, a new prefix. */
int pc_test_store_setup(void **state)
{
    pc_test_store_env *e = *state;
    e->serial++;
    snprintf(e->path, sizeof e->path, "%s/t%d.db", e->dir, e->serial);
    snprintf(e->prefix, sizeof e->prefix, "test%d:", e->serial);
    e->store = pc_test_store_env_open(e);
    return e->store ? 0 : -1;
}

int pc_test_store_teardown(void **state)
{
    pc_test_store_env *e = *state;
    pc_store_close(e->store);
    e->store = NULL;
    return 0;
}

static int run_group(const char *name, const char *backend, pc_test_store_env *e,
                     struct CMUnitTest *tests, size_t n)
{
    char group[64];
    snprintf(group, sizeof group, "%s_%s", name, backend);
    for (size_t i = 0; i < n; i++)
        tests[i].initial_state = e;
    current = e;
    return _cmocka_run_group_tests(group, tests, n, group_setup, group_teardown);
}

int pc_test_store_run_backends(const char *name, struct CMUnitTest *tests, size_t n)
{
    static pc_test_store_env memory = {.backend = PC_STORE_MEMORY},
                             sqlite = {.backend = PC_STORE_SQLITE},
                             redis = {.backend = PC_STORE_REDIS};
    int failed = 0;
    failed += run_group(name, "memory", &memory, tests, n) != 0;
    failed += run_group(name, "sqlite", &sqlite, tests, n) != 0;
    failed += run_group(name, "redis", &redis, tests, n) != 0;
    return failed;
}
