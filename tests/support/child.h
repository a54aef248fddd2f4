/* child.h (test support): the helper processes tests start (anvil,
 * redis-server, paychand): free ports, spawning with a death signal so a
 * crashed test leaves nothing behind, stopping and reaping, and stopping at
 * exit whatever a test left running. */
#ifndef PAYCHAN_TESTS_CHILD_H
#define PAYCHAN_TESTS_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic milliseconds, and a sleep that survives signals. */
int64_t pc_test_now_ms(void);
void pc_test_sleep_ms(long ms);

/* A loopback port that was free a moment ago (the kernel's pick for port
 * 0). The child may still lose it to another process: callers retry. */
int pc_test_free_port(void);

/* Forks and execs argv. envp NULL: the test's environment, argv[0] looked
 * up in PATH; else exactly envp and argv[0] as a path. log_fd < 0: stdout
 * to /dev/null, stderr shared with the test; else both appended to log_fd.
 * The child gets SIGKILL when the thread that started it exits (start
 * helpers from the main thread). Only async-signal-safe calls happen in the
 * child, as tests may already run threads. Returns the pid, or -1. */
pid_t pc_test_spawn(char *const argv[], char *const envp[], int log_fd);

/* Sends sig, waits up to grace_ms for the child to exit, then SIGKILLs it;
 * always reaps it. */
void pc_test_kill_and_reap(pid_t pid, int sig, int grace_ms);

/* Stops a server child cleanly: SIGTERM, then waits up to grace_ms. Returns
 * its exit status (128 + signal when a signal ended it); -1 when it ignored
 * SIGTERM, after saying so on stderr under `name` and SIGKILLing it. Always
 * reaps it. */
int pc_test_terminate(pid_t pid, const char *name, int grace_ms);

/* The whole file at path as a malloc'ed NUL-terminated string, or NULL. */
char *pc_test_read_file(const char *path);

/* Calls fn(arg, text) with the file `name` of every thread of pid
 * (/proc/PID/task/TID/NAME, e.g. "comm" or "status") read whole. Returns
 * the number of threads whose file was read. */
int pc_test_each_thread(pid_t pid, const char *name, void (*fn)(void *arg, const char *text),
                        void *arg);

/* Prints the last max_lines lines (0 = all) of the log file at path to
 * stderr, framed by `title` (e.g. a process's name). */
void pc_test_print_log_tail(const char *title, const char *path, size_t max_lines);

/* Registers obj so that stop(obj) runs at exit if the test did not stop it
 * (only in the process that registered it, not in forked children).
 * stop must call pc_test_untrack(obj). */
void pc_test_track(void *obj, void (*stop)(void *obj));
void pc_test_untrack(void *obj);

#endif
