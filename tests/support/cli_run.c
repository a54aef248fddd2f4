/* cli_run.c (test support): see cli_run.h. */
#include "support/cli_run.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/child.h"

#define CLI_MAX_ARGS 64

/* A temporary file for one stream of the child, unlinked at once. */
static int temp_fd(void)
{
    char path[] = "/tmp/paychan-cli-test.XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static char *slurp(int fd)
{
    off_t len = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, len > 0 ? (size_t)len + 1 : 1);
    if (buf && len > 0 && pread(fd, buf, (size_t)len, 0) != len)
        buf[0] = '\0';
    close(fd);
    return buf;
}

/* Waits for pid at most 300 s; its exit status as pc_test_cli_result says. */
static int wait_child(pid_t pid)
{
    int st = 0;
    for (int64_t end = pc_test_now_ms() + 300000; waitpid(pid, &st, WNOHANG) == 0;) {
        if (pc_test_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        pc_test_sleep_ms(5);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int pc_test_cli_run(pc_test_cli_result *r, const char *const *argv)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    int out = temp_fd(), err = temp_fd(), in = open("/dev/null", O_RDONLY);
    pid_t pid = out >= 0 && err >= 0 && in >= 0 ? fork() : -1;
    if (pid == 0) {
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (in >= 0)
        close(in);
    if (pid > 0)
        r->status = wait_child(pid);
    r->out = out >= 0 ? slurp(out) : strdup("");
    r->err = err >= 0 ? slurp(err) : strdup("");
    r->json = r->out ? json_loads(r->out, JSON_DECODE_ANY, NULL) : NULL;
    return r->status;
}

int pc_test_cli(pc_test_cli_result *r, const char *binary, ...)
{
    const char *argv[CLI_MAX_ARGS + 1];
    int n = 0;
    va_list ap;
    va_start(ap, binary);
    argv[n++] = binary;
    for (const char *a; n < CLI_MAX_ARGS && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return pc_test_cli_run(r, argv);
}

void pc_test_cli_result_free(pc_test_cli_result *r)
{
    free(r->out);
    free(r->err);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

const char *pc_test_cli_string(const pc_test_cli_result *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    return s ? s : "";
}
