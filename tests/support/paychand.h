/* paychand.h (test support): runs a real paychand process for the
 * integration tests (tests/integration/): on a free local port, with its
 * SQLite data in a fresh temporary directory (unless one is given), its
 * stderr collected in a temporary log file, and a way to crash it (kill -9)
 * and start it again on the same port and data directory.
 *
 * The binary is taken from the environment variable PAYCHAN_PAYCHAND, else
 * from opts->binary (the tests pass the compile definition PAYCHAN_PAYCHAND).
 * The child gets the test's environment minus every variable paychand reads
 * as configuration (PAYCHAN_*, PORT, ETH_NODE_URL, REDIS_HOST, REDIS_PORT),
 * so only the command line configures it. A started paychand dies with the
 * test process even if the test crashes (PR_SET_PDEATHSIG); start it from
 * the main thread, since the death signal follows the starting thread.
 * Every instance not yet freed is stopped at exit. */
#ifndef PAYCHAN_TESTS_SUPPORT_PAYCHAND_H
#define PAYCHAN_TESTS_SUPPORT_PAYCHAND_H

#include <stddef.h>

typedef struct pc_test_paychand pc_test_paychand;

typedef struct pc_test_paychand_options {
    const char *binary;      /* NULL = only the environment variable PAYCHAN_PAYCHAND */
    const char *name;        /* label in printed logs, e.g. "provider" (NULL = "paychand") */
    const char *node_url;    /* --node-url (required) */
    const char *data_dir;    /* --data-dir; NULL = a fresh temporary directory, removed at free */
    const char *const *args; /* further arguments, NULL-terminated (NULL = none) */
    const char *started_path; /* the GET path whose 200 means started (NULL = "/status",
                                 which is 200 only once ready; "/health": serving) */
} pc_test_paychand_options;

/* Starts paychand with `--node-url U --port P --data-dir D` plus opts->args
 * and waits until GET opts->started_path answers 200 (at most 30 s). If the process
 * exits during start-up (e.g. it lost the port) it is retried on another
 * port a few times. Returns NULL after printing why and the log on failure. */
pc_test_paychand *pc_test_paychand_start(const pc_test_paychand_options *opts);

/* "http://127.0.0.1:PORT" (owned by p). */
const char *pc_test_paychand_url(const pc_test_paychand *p);

/* The data directory (owned by p). */
const char *pc_test_paychand_data_dir(const pc_test_paychand *p);

/* The process id, or -1 when it is not running. */
int pc_test_paychand_pid(const pc_test_paychand *p);

/* SIGTERM, then waits up to 15 s (SIGKILL after that). Returns the exit
 * status (0 = clean shutdown), 128 + signal if it died by a signal, or -1 if
 * it was not running or had to be killed. */
int pc_test_paychand_stop(pc_test_paychand *p);

/* SIGKILL and reap: a crash with no shutdown work. No-op if not running. */
void pc_test_paychand_kill9(pc_test_paychand *p);

/* Starts it again with the same arguments, port and data directory (after
 * stop or kill9) and waits until /status answers. Returns 0 or -1. */
int pc_test_paychand_restart(pc_test_paychand *p);

/* Makes later restarts use node_url as --node-url. Returns 0 or -1. */
int pc_test_paychand_set_node_url(pc_test_paychand *p, const char *node_url);

/* Starts it again (after stop or kill9) for a start-up that is expected to
 * fail: waits until the process exits (at most 30 s) and returns its exit
 * status, or -1 if it served /status instead (it then keeps running) or
 * did not exit in time (then it is killed). */
int pc_test_paychand_restart_expect_exit(pc_test_paychand *p);

/* Waits up to ms for a running p to exit on its own: its exit status (128 +
 * signal if killed), or -1 if it still runs (it is left running). */
int pc_test_paychand_wait_exit(pc_test_paychand *p, int ms);

/* The log collected so far (stderr), malloc'ed; NULL if unreadable. */
char *pc_test_paychand_log_text(const pc_test_paychand *p);
/* 1 if the log collected so far contains `needle`, else 0. */
int pc_test_paychand_log_contains(const pc_test_paychand *p, const char *needle);

/* Prints the last `max_lines` lines of p's log to stderr (0 = all). */
void pc_test_paychand_print_log(const pc_test_paychand *p, size_t max_lines);

/* pc_test_paychand_print_log for every instance not yet freed: tests call
 * it when an expectation fails, so the servers' side of the story is shown. */
void pc_test_paychand_print_all_logs(size_t max_lines);

/* Stops p if it runs, removes its log and its temporary data directory (if
 * it made one) and frees it. NULL is a no-op. */
void pc_test_paychand_free(pc_test_paychand *p);

#endif
