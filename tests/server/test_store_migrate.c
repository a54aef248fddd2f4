/* test_store_migrate: stores written by an earlier paychand, with one
 * Mediator record per Mediator (SQLite schema 1, Redis key layout 1), open
 * in the layout of one record per (Mediator, role) (issue 9, point 1): the
 * records keep their role, the counters stay, a second role can be added,
 * and forgetting one role's counters leaves the other's. The old layouts
 * are made by writing with this store and converting the result back, the
 * way the earlier version stored it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "server/store/store.h"
#include "support/redis.h"
#include "support/store_check.h"

static char dir[64] = "/tmp/paychan-migrate-XXXXXX";
static char db_path[160];
static pc_test_redis *redis;

static pc_store *open_store(pc_store_backend backend)
{
    pc_store_options o = {.backend = backend, .sqlite_path = db_path,
                          .redis_host = pc_test_redis_host(redis),
                          .redis_port = pc_test_redis_port(redis), .redis_prefix = "mig:"};
    pc_error err = {0};
    pc_store *s = pc_store_open(&o, &err);
    if (!s)
        fail_msg("pc_store_open: %s", err.message);
    return s;
}

static uint64_t next(pc_store *s, const pc_address *m, const pc_u256 *id)
{
    uint64_t c = 0;
    assert_int_equal(pc_store_next_count(s, m, id, &c, NULL), 0);
    return c;
}

static uint64_t best(pc_store *s, const pc_address *m, const pc_u256 *id)
{
    uint64_t count = 0;
    pc_signature sig;
    int found = 0;
    assert_int_equal(pc_store_best_token(s, m, id, &count, &sig, &found, NULL), 0);
    return found ? count : 0;
}

/* Writes what an earlier paychand serving m as consumer would have: its
 * record, two issued counts of id and (the old defect: the provider's key
 * in the same server) a validated count 3. */
static void write_old_data(pc_store *s, const pc_address *m, const pc_u256 *id)
{
    pc_mediator_record rec = {.mediator = *m, .role = PC_ROLE_CONSUMER, .created_at = 42};
    pc_signature sig;
    pc_count_verdict v;
    uint64_t h;
    pc_test_count_sig(3, &sig);
    assert_int_equal(pc_store_put_mediator(s, &rec, NULL), 0);
    next(s, m, id);
    next(s, m, id);
    assert_int_equal(pc_store_offer_count(s, m, id, 3, &sig, &v, &h, NULL), 0);
    pc_store_close(s);
}

/* After the migration: both roles work apart on the data of write_old_data. */
static void check_migrated(pc_store *s, const pc_address *m, const pc_u256 *id)
{
    pc_mediator_record got;
    int found = 0;
    assert_int_equal(pc_store_get_mediator(s, m, PC_ROLE_CONSUMER, &got, &found, NULL), 0);
    assert_int_equal(found, 1);
    assert_int_equal(got.created_at, 42);
    assert_int_equal(pc_store_get_mediator(s, m, PC_ROLE_PROVIDER, &got, &found, NULL), 0);
    assert_int_equal(found, 0);
    pc_mediator_record provider = {.mediator = *m, .role = PC_ROLE_PROVIDER, .created_at = 43};
    assert_int_equal(pc_store_put_mediator(s, &provider, NULL), 0);
    assert_int_equal(pc_store_get_mediator(s, m, PC_ROLE_CONSUMER, &got, &found, NULL), 0);
    assert_int_equal(found, 1); /* not replaced by the provider's */
    assert_int_equal(next(s, m, id), 3);
    assert_int_equal(best(s, m, id), 3);
    assert_int_equal(pc_store_delete_mediator(s, m, PC_ROLE_CONSUMER, NULL), 0);
    assert_int_equal(best(s, m, id), 3);
    assert_int_equal(next(s, m, id), 1);
    assert_int_equal(pc_store_delete_mediator(s, m, PC_ROLE_PROVIDER, NULL), 0);
    assert_int_equal(pc_store_forget_counters(s, m, PC_ROLE_CONSUMER, NULL), 0);
    assert_int_equal(best(s, m, id), 0);
    pc_mediator_record *list = NULL;
    size_t n = 9;
    assert_int_equal(pc_store_list_mediators(s, &list, &n, NULL), 0);
    assert_int_equal(n, 0);
    pc_store_close(s);
}

static void test_sqlite_schema_1(void **state)
{
    (void)state;
    pc_address m;
    pc_test_store_address(1, &m);
    pc_u256 id = pc_test_store_token_id(1);
    write_old_data(open_store(PC_STORE_SQLITE), &m, &id);
    sqlite3 *db; /* back to schema 1: the Mediator alone is the key */
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "BEGIN; CREATE TABLE m1(mediator BLOB PRIMARY KEY, role INTEGER NOT NULL,"
        " account BLOB NOT NULL, counterparty BLOB NOT NULL, deposit_amount BLOB NOT NULL,"
        " funding_threshold BLOB NOT NULL, token_active_since INTEGER NOT NULL,"
        " token_id BLOB NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO m1 SELECT * FROM mediators; DROP TABLE mediators;"
        "ALTER TABLE m1 RENAME TO mediators; DELETE FROM schema_version WHERE version > 1;"
        "COMMIT;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    check_migrated(open_store(PC_STORE_SQLITE), &m, &id);
}

/* Runs a command on the test's Redis; fails the test on an error answer. */
static void redis_do(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_true(r && r->type != REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static void test_redis_layout_1(void **state)
{
    (void)state;
    pc_address m;
    pc_test_store_address(2, &m);
    pc_u256 id = pc_test_store_token_id(2);
    write_old_data(open_store(PC_STORE_REDIS), &m, &id);
    char hex[PC_ADDRESS_TEXT_LEN], rec1[96], rec[96], member[64], ids[96], cids[96];
    pc_address_format(&m, hex); /* lowercase "0x..." */
    snprintf(rec1, sizeof rec1, "mig:med:%s:1", hex + 2);
    snprintf(rec, sizeof rec, "mig:med:%s", hex + 2);
    snprintf(member, sizeof member, "%s:1", hex + 2);
    snprintf(ids, sizeof ids, "mig:ids:%s", hex + 2);
    snprintf(cids, sizeof cids, "mig:cids:%s", hex + 2);
    redisContext *c = redisConnect(pc_test_redis_host(redis), pc_test_redis_port(redis));
    assert_true(c && !c->err); /* back to layout 1: one record, one id set */
    redis_do(c, "RENAME %s %s", rec1, rec);
    redis_do(c, "SREM mig:mediators %s", member);
    redis_do(c, "SADD mig:mediators %s", hex + 2);
    redis_do(c, "SUNIONSTORE %s %s %s", ids, ids, cids);
    redis_do(c, "DEL %s mig:schema", cids);
    check_migrated(open_store(PC_STORE_REDIS), &m, &id);
    redisReply *left = redisCommand(c, "KEYS mig:*"); /* nothing but the layout version */
    assert_true(left && left->type == REDIS_REPLY_ARRAY);
    assert_int_equal(left->elements, 1);
    assert_string_equal(left->element[0]->str, "mig:schema");
    freeReplyObject(left);
    redisFree(c);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(db_path, sizeof db_path, "%s/old.db", dir);
    redis = pc_test_redis_start();
    return redis ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pc_test_remove_sqlite(db_path);
    rmdir(dir);
    pc_test_redis_stop(redis);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_schema_1),
        cmocka_unit_test(test_redis_layout_1),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
