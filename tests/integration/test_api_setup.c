/* Integration: what a new user's first start of paychand meets (issue 10,
 * point 6). --data-dir with missing parents is created, every new level
 * with mode 0700, and the server serves from it; --visualizer naming a
 * directory that does not exist is refused at start with a message naming
 * the option, instead of being accepted and answering 404 for ever. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/child.h"
#include "support/integration.h"

static int group_setup(void **state)
{
    *state = pc_itest_start(NULL);
    return *state ? 0 : -1;
}

static int group_teardown(void **state)
{
    pc_itest_stop(*state);
    return 0;
}

static void expect_private_dir(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        it_fail("%s: not created", path);
    if ((st.st_mode & 0777) != 0700)
        it_fail("%s: mode %o, want 0700", path, (unsigned)(st.st_mode & 0777));
}

static void test_data_dir_parents_created(void **state)
{
    pc_itest *t = *state;
    char base[] = "/tmp/paychan-setup-XXXXXX", dir[64], level[128];
    it_check(mkdtemp(base) != NULL);
    snprintf(dir, sizeof dir, "%s/a/b/data", base);
    pc_test_paychand *p = pc_itest_start_provider_server(t, "nested", dir, NULL);
    if (!p)
        it_fail("paychand did not start with --data-dir %s", dir);
    pc_test_client *c = pc_itest_client(t, p, IT_PROVIDER);
    pc_test_reply r;
    it_check(pc_test_get(c, &r, "/status") == 0);
    it_expect_ok(&r);
    pc_test_reply_free(&r);
    snprintf(level, sizeof level, "%s/a", base);
    expect_private_dir(level);
    snprintf(level, sizeof level, "%s/a/b", base);
    expect_private_dir(level);
    expect_private_dir(dir);
    snprintf(level, sizeof level, "%s/paychan.sqlite", dir);
    it_check(access(level, F_OK) == 0);
    pc_test_client_destroy(c);
    pc_test_paychand_free(p);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    it_check(system(cmd) == 0);
}

/* Waits up to ms for pid to exit on its own; its exit status, or -1 (then it is stopped). */
static int exit_status_within(pid_t pid, int ms)
{
    int status;
    for (int64_t end = pc_test_now_ms() + ms; pc_test_now_ms() < end; pc_test_sleep_ms(20))
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pc_test_terminate(pid, "paychand", 5000);
    return -1;
}

static void test_missing_visualizer_refused(void **state)
{
    pc_itest *t = *state;
    char log[] = "/tmp/paychan-setup-log-XXXXXX", key[67], port[16], data[] = "/tmp/paychan-setup-XXXXXX";
    int fd = mkstemp(log);
    it_check(fd >= 0 && mkdtemp(data) != NULL);
    pc_hex_encode(t->key[IT_PROVIDER], 32, key);
    snprintf(port, sizeof port, "%d", pc_test_free_port());
    char *argv[] = {(char *)t->paychand, "--node-url", (char *)pc_test_anvil_url(t->anvil),
                    "--port", port, "--data-dir", data, "--dev", "--dev-key", key,
                    "--visualizer", "/nonexistent/visualizer", NULL};
    pid_t pid = pc_test_spawn(argv, NULL, fd);
    it_check(pid > 0);
    int status = exit_status_within(pid, 15000);
    close(fd);
    char *text = pc_test_read_file(log);
    unlink(log);
    rmdir(data);
    if (status != 1 || !text || !strstr(text, "--visualizer /nonexistent/visualizer"))
        it_fail("want exit 1 naming --visualizer, got %d with log:\n%s", status,
                text ? text : "(none)");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_dir_parents_created),
        cmocka_unit_test(test_missing_visualizer_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
