/* forward.c: see forward.h. */
#include "proxy/forward.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct collect {
    struct curl_slist *list;
    const char *connection; /* the request's Connection header */
    int failed, content_type, accept;
} collect;

/* 1 for a header the upstream must not get from the client. */
static int is_withheld(const char *name, const char *connection)
{
    return strncasecmp(name, "x-pay-", 6) == 0 || strcasecmp(name, "x-paychan-consumer") == 0 ||
           strcasecmp(name, "host") == 0 || strcasecmp(name, "expect") == 0 ||
           pc_proxy_header_is_hop_by_hop(name, connection);
}

static int append(collect *c, const char *name, const char *value)
{
    char line[16 * 1024 + 64];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(c->list, line);
    if (!l)
        return c->failed = 1;
    c->list = l;
    return 0;
}

static int add_one(void *ctx, const char *name, const char *value)
{
    collect *c = ctx;
    if (is_withheld(name, c->connection))
        return 0;
    c->content_type |= strcasecmp(name, "content-type") == 0;
    c->accept |= strcasecmp(name, "accept") == 0;
    return append(c, name, value);
}

struct curl_slist *px_upstream_headers(const pc_http_request *req, const char *const *extra)
{
    collect c = {.connection = pc_http_header(req, "Connection")};
    pc_http_each_header(req, add_one, &c);
    const char *host = pc_http_header(req, "Host");
    if (host && !c.failed)
        append(&c, "X-Forwarded-Host", host);
    /* "Name:" removes curl's own header of that name */
    static const char *const none[] = {"Expect:", "Content-Type:", "Accept:"};
    int blocked[] = {1, !c.content_type, !c.accept};
    for (size_t i = 0; i < 3 && !c.failed; i++) {
        struct curl_slist *l = blocked[i] ? curl_slist_append(c.list, none[i]) : c.list;
        c.failed |= !l;
        c.list = l ? l : c.list;
    }
    for (size_t i = 0; extra && extra[i] && !c.failed; i++) {
        struct curl_slist *l = curl_slist_append(c.list, extra[i]);
        c.failed |= !l;
        c.list = l ? l : c.list;
    }
    if (c.failed) {
        curl_slist_free_all(c.list);
        return NULL;
    }
    return c.list;
}

/* An upstream call in flight for a request. */
typedef struct forwarding {
    pc_http_request *req;
    pc_upstream_call *c;
    px_forwarded done;
    void *arg;
    const char *label;
} forwarding;

static void forwarded(void *arg, pc_http_request *req, pc_http_answer *a)
{
    forwarding f = *(forwarding *)arg;
    free(arg);
    if (pc_http_abandoned(req)) {
        pc_upstream_free(f.c);
        f.c = NULL;
    }
    if (f.done)
        f.done(f.arg, req, f.c, a);
    else if (f.c)
        px_forward_answer(req, f.c, f.label, a);
}

static void on_ready(void *arg, pc_upstream_call *c)
{
    (void)c;
    forwarding *f = arg;
    pc_http_resume(f->req, forwarded, f);
}

int px_forward(pc_upstream *u, pc_http_request *req, const char *url,
               struct curl_slist *headers, const char *label, px_forwarded done, void *arg,
               pc_http_answer *a)
{
    size_t len;
    const uint8_t *body = pc_http_body(req, &len);
    forwarding *f = malloc(sizeof *f);
    if (f) {
        *f = (forwarding){.req = req, .done = done, .arg = arg, .label = label};
        f->c = pc_upstream_start(u, req, pc_http_method(req), url, headers, body, len, on_ready,
                                 f);
    } else {
        curl_slist_free_all(headers);
    }
    if (f && f->c)
        return 0;
    free(f);
    px_error(a, 500, PC_ERR_INTERNAL, "InternalError", "out of memory");
    return -1;
}

void px_forward_answer(pc_http_request *req, pc_upstream_call *c, const char *label,
                       pc_http_answer *a)
{
    char why[256];
    unsigned status = pc_upstream_failed(c, why, sizeof why);
    if (!status) {
        pc_upstream_answer(c, pc_http_method(req), a);
        return;
    }
    pc_upstream_free(c);
    px_error(a, status, PX_E_UPSTREAM, status == 504 ? "UpstreamTimeout" : "UpstreamDown",
             "%s%s%s%s", label ? "target " : "", label ? label : "", label ? ": " : "", why);
}

static void answer_now(void *arg, pc_http_request *req, pc_http_answer *a)
{
    (void)req;
    *a = *(pc_http_answer *)arg; /* dropped by the server when the client is gone */
    free(arg);
}

void px_answer_later(pc_http_request *req, pc_http_answer *a)
{
    pc_http_answer *copy = malloc(sizeof *copy);
    if (copy) { /* else (out of memory) an empty answer: the connection is closed */
        *copy = *a;
        memset(a, 0, sizeof *a);
    }
    pc_http_resume(req, copy ? answer_now : NULL, copy);
}

void px_error(pc_http_answer *a, unsigned status, int code, const char *name,
              const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    a->status = status;
    a->body = json_pack("{sssiss}", "name", name, "code", code, "message", msg);
}

char **px_one_header(const char *name, const char *text)
{
    char **h = calloc(3, sizeof *h);
    if (h && (!(h[0] = strdup(name)) || !(h[1] = strdup(text ? text : "")))) {
        free(h[0]);
        free(h);
        return NULL;
    }
    return h;
}
