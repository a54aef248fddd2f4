/* cli_run.h (test support): runs the `paychan` command-line tool as a real
 * process and captures what it printed and its exit status, for the CLI's
 * tests (tests/cli, tests/network/test_cli_call.c). */
#ifndef PAYCHAN_TESTS_SUPPORT_CLI_RUN_H
#define PAYCHAN_TESTS_SUPPORT_CLI_RUN_H

#include <jansson.h>

typedef struct pc_test_cli_result {
    int status;   /* exit status; 128 + signal when a signal ended it; -1 not run */
    char *out;    /* stdout, NUL-terminated ("" when nothing) */
    char *err;    /* stderr */
    json_t *json; /* stdout parsed as JSON, or NULL when it is not JSON */
} pc_test_cli_result;

/* Runs argv (argv[0] the binary's path, NULL-terminated) with the test's
 * environment and stdin from /dev/null; waits at most 300 s (then SIGKILL).
 * Fills *r (free with pc_test_cli_result_free). Returns r->status. */
int pc_test_cli_run(pc_test_cli_result *r, const char *const *argv);

/* The same with the arguments as a NULL-terminated list. */
int pc_test_cli(pc_test_cli_result *r, const char *binary, ...) __attribute__((sentinel));

/* Frees what *r holds. */
void pc_test_cli_result_free(pc_test_cli_result *r);

/* The string member `key` of r->json ("" when missing). */
const char *pc_test_cli_string(const pc_test_cli_result *r, const char *key);

#endif
