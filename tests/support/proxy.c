/* proxy.c: see proxy.h. */
#include "support/proxy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>

#include <curl/curl.h>

#include "support/child.h"
#include "support/curl_body.h"

#define MAX_ARGS 64

/* 1 when 127.0.0.1:port accepts a connection. */
static int port_open(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Spawns argv (argv[0] from PATH) logging to p's log; waits for the port. */
static int start(pc_test_proc *p, char *const argv[])
{
    snprintf(p->log_path, sizeof p->log_path, "/tmp/pc-%s-XXXXXX", p->name);
    int log = mkstemp(p->log_path);
    if (log < 0)
        return -1;
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
    p->pid = pc_test_spawn(argv, NULL, log);
    close(log);
    for (int64_t end = pc_test_now_ms() + 10000; p->pid > 0 && pc_test_now_ms() < end;) {
        if (port_open(p->port))
            return 0;
        pc_test_sleep_ms(20);
    }
    fprintf(stderr, "%s did not start on port %d\n", p->name, p->port);
    pc_test_print_log_tail(p->name, p->log_path, 40);
    if (p->pid > 0)
        pc_test_kill_and_reap(p->pid, SIGKILL, 0);
    p->pid = -1;
    return -1;
}

int pc_test_upstream_start(pc_test_proc *p)
{
    char port[16];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "upstream");
    p->port = pc_test_free_port();
    snprintf(port, sizeof port, "%d", p->port);
    char *argv[] = {"python3", PAYCHAN_SOURCE_DIR "/tests/proxy/upstream.py", port, NULL};
    return start(p, argv);
}

int pc_test_python_service_start(pc_test_proc *p, const char *role, const char *persistence_url,
                                 const char *random_url)
{
    char port[16];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "py-%s", role);
    p->port = pc_test_free_port();
    snprintf(port, sizeof port, "%d", p->port);
    char *argv[] = {"python3", PAYCHAN_SOURCE_DIR "/examples/network-proxy/services.py",
                    (char *)role, port, (char *)persistence_url, (char *)random_url, NULL};
    return start(p, argv);
}

int pc_test_proxy_start(pc_test_proc *p, const char *binary, const char *name,
                        const char *const *args)
{
    char port[16], *argv[MAX_ARGS];
    size_t n = 0;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->port = pc_test_free_port();
    snprintf(port, sizeof port, "%d", p->port);
    argv[n++] = (char *)binary;
    argv[n++] = "--port";
    argv[n++] = port;
    for (size_t i = 0; args && args[i] && n + 1 < MAX_ARGS; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return start(p, argv);
}

int pc_test_proc_stop(pc_test_proc *p)
{
    if (p->pid <= 0)
        return -1;
    int status = pc_test_terminate(p->pid, p->name, 10000);
    p->pid = -1;
    if (status != 0)
        pc_test_print_log_tail(p->name, p->log_path, 40);
    return status;
}

int pc_test_proc_log_contains(const pc_test_proc *p, const char *needle)
{
    char *text = pc_test_read_file(p->log_path);
    int found = text && strstr(text, needle);
    free(text);
    return found;
}

int pc_test_proc_threads(const pc_test_proc *p)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)p->pid);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return d ? n : -1;
}

/* ---- one exchange ------------------------------------------------------------------------ */


void pc_test_exchange_send(const char *method, const char *url, const char *const *headers,
                           const char *body, size_t len, const char *proxy, long timeout_ms,
                           pc_test_exchange *x)
{
    pc_bytes h = {0}, b = {0};
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOBODY, (long)(strcmp(method, "HEAD") == 0));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_PROXY, proxy ? proxy : "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, proxy ? "" : "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* dot segments are sent as written */
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, pc_test_curl_collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, pc_test_curl_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    x->status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(list);
    for (size_t i = 0, in_name = 1; i < h.len; i++) { /* names only */
        in_name = h.data[i] == '\n' ? 1 : in_name && h.data[i] != ':';
        if (in_name)
            h.data[i] = (char)tolower((unsigned char)h.data[i]);
    }
    x->len = b.len;
    x->headers = pc_test_bytes_take_string(&h);
    x->body = pc_test_bytes_take_string(&b);
}

const char *pc_test_exchange_header(const pc_test_exchange *x, const char *name)
{
    static __thread char out[4][4096];
    static __thread int next;
    char key[128];
    snprintf(key, sizeof key, "\n%s:", name);
    const char *p = strstr(x->headers, key);
    if (!p)
        return NULL;
    p += strlen(key);
    p += strspn(p, " \t");
    size_t n = strcspn(p, "\r\n");
    char *o = out[next++ % 4];
    snprintf(o, sizeof out[0], "%.*s", (int)n, p);
    return o;
}

void pc_test_exchange_free(pc_test_exchange *x)
{
    free(x->headers);
    free(x->body);
    memset(x, 0, sizeof *x);
}

void pc_test_expect_json_error(const pc_test_exchange *x, long status, long code)
{
    if (x->status != status)
        fprintf(stderr, "status %ld, body %s\n", x->status, x->body);
    assert_int_equal(x->status, status);
    json_t *j = json_loads(x->body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "code")), code);
    assert_non_null(json_string_value(json_object_get(j, "name")));
    assert_non_null(json_string_value(json_object_get(j, "message")));
    json_decref(j);
}

void pc_test_dev_account_arg(const char *name, const unsigned char key[32], char *out,
                             size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "%s:0x", name);
    for (int i = 0; i < 32 && n + 2 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", key[i]);
}
