/* child.c (test support): see child.h. */
#include "support/child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t pc_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pc_test_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int pc_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

pid_t pc_test_spawn(char *const argv[], char *const envp[], int log_fd)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl */
        _exit(127);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    if (log_fd >= 0) {
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
    } else if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
    }
    if (envp)
        execve(argv[0], argv, envp);
    else
        execvp(argv[0], argv);
    _exit(127);
}

void pc_test_kill_and_reap(pid_t pid, int sig, int grace_ms)
{
    kill(pid, sig);
    int64_t deadline = pc_test_now_ms() + grace_ms;
    while (waitpid(pid, NULL, WNOHANG) == 0) {
        if (pc_test_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return;
        }
        pc_test_sleep_ms(5);
    }
}

int pc_test_terminate(pid_t pid, const char *name, int grace_ms)
{
    kill(pid, SIGTERM);
    int64_t deadline = pc_test_now_ms() + grace_ms;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (pc_test_now_ms() > deadline) {
            fprintf(stderr, "%s ignored SIGTERM for %d ms\n", name, grace_ms);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        pc_test_sleep_ms(10);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

char *pc_test_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL, buf[4096];
    size_t len = 0, got;
    FILE *mem = open_memstream(&text, &len);
    while (mem && (got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, mem);
    if (mem)
        fclose(mem);
    fclose(f);
    return text;
}

void pc_test_print_log_tail(const char *title, const char *path, size_t max_lines)
{
    char *text = pc_test_read_file(path);
    if (!text)
        return;
    const char *start = text + strlen(text);
    size_t lines = 0;
    while (start > text && (max_lines == 0 || lines <= max_lines))
        if (*--start == '\n')
            lines++;
    if (*start == '\n')
        start++;
    fprintf(stderr, "---- log of %s%s ----\n%s---- end of log of %s ----\n", title,
            start > text ? ", last lines" : "", start, title);
    free(text);
}

/* ---- stopping at exit what a test left running --------------------------------------- */

typedef struct tracked {
    void *obj;
    void (*stop)(void *obj);
    struct tracked *next;
} tracked;

static pthread_mutex_t tracked_lock = PTHREAD_MUTEX_INITIALIZER;
static tracked *running;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;
static pid_t atexit_owner; /* a forked child that exits must not stop our helpers */

static void stop_all_at_exit(void)
{
    if (getpid() != atexit_owner)
        return;
    for (;;) {
        pthread_mutex_lock(&tracked_lock);
        tracked *t = running;
        void *obj = t ? t->obj : NULL;
        void (*stop)(void *) = t ? t->stop : NULL;
        pthread_mutex_unlock(&tracked_lock);
        if (!t)
            return;
        stop(obj); /* untracks obj */
    }
}

static void register_atexit(void)
{
    atexit_owner = getpid();
    atexit(stop_all_at_exit);
}

void pc_test_track(void *obj, void (*stop)(void *obj))
{
    pthread_once(&atexit_once, register_atexit);
    tracked *t = malloc(sizeof *t);
    if (!t)
        abort();
    t->obj = obj;
    t->stop = stop;
    pthread_mutex_lock(&tracked_lock);
    t->next = running;
    running = t;
    pthread_mutex_unlock(&tracked_lock);
}

void pc_test_untrack(void *obj)
{
    pthread_mutex_lock(&tracked_lock);
    for (tracked **p = &running; *p; p = &(*p)->next) {
        if ((*p)->obj == obj) {
            tracked *t = *p;
            *p = t->next;
            free(t);
            break;
        }
    }
    pthread_mutex_unlock(&tracked_lock);
}

int pc_test_each_thread(pid_t pid, const char *name, void (*fn)(void *arg, const char *text),
                        void *arg)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s/%s", dir, e->d_name, name);
        char *text = e->d_name[0] != '.' ? pc_test_read_file(path) : NULL;
        if (text) {
            fn(arg, text);
            n++;
        }
        free(text);
    }
    if (d)
        closedir(d);
    return n;
}
