/* http_probe.c: see http_probe.h. */
#define _GNU_SOURCE
#include "support/http_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/encoding/hex.h"
#include "support/anvil.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int pc_test_probe_send(const pc_test_probe *p, pc_test_reply *out, double *elapsed_ms)
{
    struct curl_slist *headers = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *sink = open_memstream(&text, &len);
    CURL *h = curl_easy_init();
    memset(out, 0, sizeof *out);
    for (const char *const *l = p->headers; l && *l; l++)
        headers = curl_slist_append(headers, *l);
    curl_easy_setopt(h, CURLOPT_URL, p->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, p->method ? p->method : "GET");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink); /* libcurl's default writer: fwrite */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, p->timeout_ms ? p->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (p->source)
        curl_easy_setopt(h, CURLOPT_INTERFACE, p->source);
    if (p->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, p->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(p->body));
    }
    double start = now_ms();
    int rc = curl_easy_perform(h) == CURLE_OK ? 0 : -1;
    if (elapsed_ms)
        *elapsed_ms = now_ms() - start;
    if (rc == 0)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    fclose(sink);
    out->text = text ? text : strdup("");
    if (rc == 0 && out->text && *out->text)
        out->body = json_loads(out->text, 0, NULL);
    return rc;
}

pc_test_paychand *pc_test_probe_server_start(const char *binary, const char *name,
                                             const char *node_url, const char *const *more)
{
    uint8_t key[32];
    char key_hex[67];
    const char *args[32] = {"--dev", "--dev-key", key_hex};
    size_t n = 3;
    pc_test_dev_key(1, key);
    pc_hex_encode(key, 32, key_hex);
    for (; more && *more && n + 1 < sizeof args / sizeof args[0]; more++)
        args[n++] = *more;
    pc_test_paychand_options o = {.binary = binary, .name = name, .node_url = node_url,
                                  .args = args};
    return pc_test_paychand_start(&o);
}

long pc_test_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur > 1000000 ? 1000000 : (long)rl.rlim_cur;
}
