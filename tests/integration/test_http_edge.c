/* Integration: HTTP edge cases of paychand (issue 9, points 7 and 13), in
 * both HTTP modes (pool and threads):
 *  - a FIFO in the /visualizer/ folder is not a file to serve: 404 at once,
 *    and SIGTERM still stops the server (it used to block a worker for
 *    ever in open());
 *  - a Transfer-Encoding other than chunked is answered 501 at once (it
 *    used to hang until the 60 s timeout);
 *  - a target over 8 KiB (414), a header over 16 KiB (431) and a declared
 *    body over 64 KiB (413) get the API's JSON error with code 300, not
 *    libmicrohttpd's HTML page (which remains past its 32 KiB buffer:
 *    libmicrohttpd 0.9.75 has no hook there);
 *  - a well-formed chunked body still works. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/anvil.h"
#include "support/http_probe.h"
#include "support/paychand.h"

enum { POOL, THREADS, N_MODES };
static const char *const mode_names[N_MODES] = {"pool", "threads"};

static pc_test_anvil *anvil;
static pc_test_paychand *servers[N_MODES];
static char site[] = "/tmp/paychan-edge-XXXXXX"; /* the visualizer folder */

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* The folder: index.html, app.js, and a FIFO named like a script. */
static int make_site(void)
{
    char fifo[256];
    if (!mkdtemp(site))
        return -1;
    snprintf(fifo, sizeof fifo, "%s/stuck.js", site);
    return write_file(site, "index.html", "<html>hi</html>") == 0 &&
                   write_file(site, "app.js", "export {};") == 0 && mkfifo(fifo, 0600) == 0
               ? 0
               : -1;
}

static pc_test_paychand *start_server(const char *mode)
{
    const char *const more[] = {"--visualizer", site, "--http-mode", mode, NULL};
    return pc_test_probe_server_start(PAYCHAN_PAYCHAND, mode, pc_test_anvil_url(anvil), more);
}

static int group_setup(void **state)
{
    (void)state;
    if (make_site() != 0 || !(anvil = pc_test_anvil_start(NULL)))
        return -1;
    for (int m = 0; m < N_MODES; m++)
        if (!(servers[m] = start_server(mode_names[m])))
            return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[300];
    for (int m = 0; m < N_MODES; m++)
        pc_test_paychand_free(servers[m]);
    pc_test_anvil_stop(anvil);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", site);
    return system(cmd) == 0 ? 0 : -1;
}

/* Sends q to the server of mode m (q->url is the target) and checks the
 * answer: HTTP status, and with code >= 0 the API's JSON error with that
 * code, within 3 s. */
static void expect_answer(int m, pc_test_probe q, long status, long code)
{
    char url[64 * 1024];
    pc_test_reply r;
    double ms = 0;
    snprintf(url, sizeof url, "%s%s", pc_test_paychand_url(servers[m]), q.url);
    q.url = url;
    q.timeout_ms = 5000;
    pc_test_probe_send(&q, &r, &ms);
    if (r.status != status || (code >= 0 && pc_test_reply_code(&r) != code) ||
        (code >= 0 && !json_is_string(json_object_get(r.body, "message"))) || ms > 3000) {
        pc_test_paychand_print_all_logs(20);
        fail_msg("%s: %s %.60s: expected %ld (code %ld), got %ld after %.0f ms: %.200s",
                 mode_names[m], q.method ? q.method : "GET", q.url, status, code, r.status, ms,
                 r.text);
    }
    pc_test_reply_free(&r);
}

/* A target, header or body of n bytes of 'a' after prefix (malloc'ed). */
static char *long_text(const char *prefix, size_t n)
{
    size_t len = strlen(prefix);
    char *s = malloc(len + n + 1);
    memcpy(s, prefix, len);
    memset(s + len, 'a', n);
    s[len + n] = '\0';
    return s;
}

static void test_fifo_is_not_served(void **state)
{
    (void)state;
    for (int m = 0; m < N_MODES; m++) {
        expect_answer(m, (pc_test_probe){.url = "/visualizer/stuck.js"}, 404, 404);
        expect_answer(m, (pc_test_probe){.url = "/visualizer/app.js"}, 200, -1);
        expect_answer(m, (pc_test_probe){.url = "/visualizer/"}, 200, -1);
        expect_answer(m, (pc_test_probe){.url = "/visualizer/stuck.js"}, 404, 404);
    }
}

static void test_unsupported_transfer_encoding(void **state)
{
    (void)state;
    static const char *const gzip_chunked[] = {"Transfer-Encoding: gzip, chunked", "Expect:",
                                               NULL};
    static const char *const gzip[] = {"Transfer-Encoding: gzip", "Expect:", NULL};
    for (int m = 0; m < N_MODES; m++) {
        expect_answer(m, (pc_test_probe){.method = "POST", .url = "/useService",
                                         .headers = gzip_chunked, .body = "{}"}, 501, 300);
        expect_answer(m, (pc_test_probe){.method = "POST", .url = "/useService",
                                         .headers = gzip, .body = "{}"}, 501, 300);
        expect_answer(m, (pc_test_probe){.url = "/status", .headers = gzip}, 501, 300);
    }
}

/* chunked alone is still read: the request reaches the API (its error for
 * an unauthenticated call, not 501). */
static void test_chunked_still_works(void **state)
{
    (void)state;
    static const char *const chunked[] = {"Transfer-Encoding: chunked",
                                          "Content-Type: application/json", "Expect:", NULL};
    for (int m = 0; m < N_MODES; m++)
        expect_answer(m, (pc_test_probe){.method = "POST", .url = "/useService",
                                         .headers = chunked, .body = "{\"a\":\"b\"}"},
                      412, 202);
}

/* Past libmicrohttpd's 32 KiB buffer, its own 414 (an HTML page) comes
 * before any callback of ours: the status at least, at once. */
static void test_long_target(void **state)
{
    (void)state;
    char *target = long_text("/status?x=", 12 * 1024);
    char *longer = long_text("/status?x=", 40 * 1024);
    for (int m = 0; m < N_MODES; m++) {
        expect_answer(m, (pc_test_probe){.url = target}, 414, 300);
        expect_answer(m, (pc_test_probe){.url = longer}, 414, -1);
        expect_answer(m, (pc_test_probe){.url = "/status?x=1"}, 200, -1);
    }
    free(target);
    free(longer);
}

static void test_long_header(void **state)
{
    (void)state;
    char *header = long_text("X-Long: ", 20 * 1024);
    const char *const headers[] = {header, NULL};
    for (int m = 0; m < N_MODES; m++)
        expect_answer(m, (pc_test_probe){.url = "/status", .headers = headers}, 431, 300);
    free(header);
}

static void test_large_declared_body(void **state)
{
    (void)state;
    char *body = long_text("", 100 * 1024);
    static const char *const json[] = {"Content-Type: application/json", "Expect:", NULL};
    for (int m = 0; m < N_MODES; m++)
        expect_answer(m, (pc_test_probe){.method = "POST", .url = "/useService",
                                         .headers = json, .body = body}, 413, 300);
    free(body);
}

/* Last: SIGTERM stops both servers cleanly although a FIFO was asked for. */
static void test_sigterm_after_all(void **state)
{
    (void)state;
    for (int m = 0; m < N_MODES; m++)
        assert_int_equal(pc_test_paychand_stop(servers[m]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_is_not_served),
        cmocka_unit_test(test_unsupported_transfer_encoding),
        cmocka_unit_test(test_chunked_still_works),
        cmocka_unit_test(test_long_target),
        cmocka_unit_test(test_long_header),
        cmocka_unit_test(test_large_declared_body),
        cmocka_unit_test(test_sigterm_after_all),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
