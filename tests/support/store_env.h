/* store_env.h (test support): the three store backends as cmocka fixtures,
 * for the store suites (tests/server/test_store*.c): a suite runs once per
 * backend, each test on an empty store of its own: memory; SQLite (a fresh
 * file per test in a temporary directory of the group); Redis (a real
 * redis-server started for the group, a fresh key prefix per test). If
 * redis-server cannot be started, the Redis group fails. */
#ifndef PAYCHAN_TESTS_SUPPORT_STORE_ENV_H
#define PAYCHAN_TESTS_SUPPORT_STORE_ENV_H

#include <stddef.h>

#include "server/store/store.h"
#include "support/redis.h"

typedef struct pc_test_store_env {
    pc_store_backend backend;
    pc_test_redis *redis; /* Redis: the group's server */
    char dir[64];         /* SQLite: the group's directory */
    int serial;           /* the tests run so far in the group */
    char path[160];       /* SQLite: the test's file */
    char prefix[32];      /* Redis: the test's key prefix */
    pc_store *store;      /* the test's store */
} pc_test_store_env;

/* The test's store of e opened (again: a test closes it first to see what
 * survives); NULL after printing why. */
pc_store *pc_test_store_env_open(pc_test_store_env *e);

/* cmocka per-test fixtures (*state: the env): a new empty store in
 * e->store, and closed after the test. */
int pc_test_store_setup(void **state);
int pc_test_store_teardown(void **state);

/* Runs tests[0..n) once per backend, as the groups "<name>_memory",
 * "<name>_sqlite" and "<name>_redis" (initial_state set here to the
 * group's env; give each test the fixtures above). Returns the number of
 * groups that failed. */
struct CMUnitTest;
int pc_test_store_run_backends(const char *name, struct CMUnitTest *tests, size_t n);

#endif
