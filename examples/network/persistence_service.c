/* persistence_service.c: PersistenceService of the example network (docs/protocol.md
 * §8), port 8001. Stores numbers in memory for 20,000 gwei each.
 *
 *   /save?nr=N   paid: appends N to the list; {"saved": N, "count": total}
 *   /numbers     free: {"count": total, "numbers": [the newest, up to ?last=K (100)]}
 *   /redeem, /payout, /terminate, /status   see provider.h */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "provider.h"

#define DEFAULT_LAST 100
#define MAX_LAST 100000

typedef struct numbers {
    pthread_mutex_t lock;
    json_int_t *items;
    size_t len, cap;
} numbers;

typedef struct persistence {
    ex_provider *provider;
    numbers saved;
} persistence;

/* Appends n; returns the new count, or 0 when out of memory. */
static size_t numbers_append(numbers *l, json_int_t n)
{
    size_t count = 0;
    pthread_mutex_lock(&l->lock);
    if (l->len == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        json_int_t *grown = realloc(l->items, cap * sizeof *grown);
        if (grown) {
            l->items = grown;
            l->cap = cap;
        }
    }
    if (l->len < l->cap) {
        l->items[l->len++] = n;
        count = l->len;
    }
    pthread_mutex_unlock(&l->lock);
    return count;
}

/* A whole decimal integer (sign allowed), or -1. */
static int parse_number(const char *text, json_int_t *out)
{
    if (!text || !*text)
        return -1;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = (json_int_t)n;
    return 0;
}

/* /save, once paid. */
static void serve_save(ex_service *svc, const ex_request *req, ex_answer *ans)
{
    persistence *ps = svc->data;
    json_int_t n;
    if (parse_number(ex_request_param(req, "nr"), &n) != 0) {
        ex_answer_error(ans, 400, "nr must be an integer: /save?nr=N");
        return;
    }
    size_t count = numbers_append(&ps->saved, n);
    if (!count) {
        ex_answer_error(ans, 500, "out of memory");
        return;
    }
    ex_answer_json(ans, 200, json_pack("{sIsI}", "saved", n, "count", (json_int_t)count));
}

static void handle_numbers(persistence *ps, const ex_request *req, ex_answer *ans)
{
    json_int_t last = DEFAULT_LAST;
    const char *param = ex_request_param(req, "last");
    if (param && (parse_number(param, &last) != 0 || last < 0 || last > MAX_LAST)) {
        ex_answer_error(ans, 400, "last must be an integer from 0 to %d", MAX_LAST);
        return;
    }
    json_t *list = json_array();
    numbers *l = &ps->saved;
    pthread_mutex_lock(&l->lock);
    size_t from = l->len > (size_t)last ? l->len - (size_t)last : 0;
    for (size_t i = from; i < l->len; i++)
        json_array_append_new(list, json_integer(l->items[i]));
    size_t count = l->len;
    pthread_mutex_unlock(&l->lock);
    ex_answer_json(ans, 200, json_pack("{sIso}", "count", (json_int_t)count, "numbers", list));
}

/* The paid /save, without blocking. */
static int begin(ex_service *svc, ex_request *req)
{
    persistence *ps = svc->data;
    if (strcmp(ex_request_path(req), "/save") != 0)
        return 0;
    ex_provider_serve_paid(ps->provider, req, serve_save);
    return 1;
}

static void handle(ex_service *svc, const ex_request *req, ex_answer *ans)
{
    persistence *ps = svc->data;
    const char *path = ex_request_path(req);
    if (strcmp(path, "/numbers") == 0)
        handle_numbers(ps, req, ans);
    else if (!ex_provider_handle_common(ps->provider, req, ans))
        ex_answer_not_found(ans, req);
}

/* /numbers asks nobody: it runs on the event loop, as the provider's quick ones. */
static int quick(ex_service *svc, const ex_request *req)
{
    persistence *ps = svc->data;
    return strcmp(ex_request_path(req), "/numbers") == 0 || ex_provider_quick(ps->provider, req);
}

static int setup(ex_service *svc)
{
    persistence *ps = calloc(1, sizeof *ps);
    if (!ps)
        return -1;
    pthread_mutex_init(&ps->saved.lock, NULL);
    svc->data = ps;
    ps->provider = ex_provider_create(svc, EX_COST_PERSISTENCE_WEI);
    return ps->provider ? 0 : -1;
}

static void teardown(ex_service *svc)
{
    persistence *ps = svc->data;
    if (!ps)
        return;
    ex_provider_destroy(ps->provider);
    pthread_mutex_destroy(&ps->saved.lock);
    free(ps->saved.items);
    free(ps);
}

static const ex_service_def persistence_service = {
    .name = "persistence-service",
    .summary = "PersistenceService of the paychan example network: stores numbers in memory,\n"
               "paid per request (20,000 gwei) by its consumers through payment channels.",
    .endpoints = "  /save?nr=N   paid (20,000 gwei): stores N; {\"saved\": N, \"count\": total}\n"
                 "  /numbers     the newest numbers stored (?last=K, default 100)\n"
                 "  /redeem      start redeeming the newest token of every Mediator paying us\n"
                 "  /payout      move the earned funds out of those Mediators\n"
                 "  /terminate   close those Mediators at once\n"
                 "  /status      address, payment switch, Mediators, paid requests\n"
                 "               (?funds=true: with each Mediator's funds and termination state)",
    .default_port = 8001,
    .default_payment_server_url = "http://127.0.0.1:3001",
    .default_keystore = "devnet/dev-only/keystores/persistence.json",
    .setup = setup,
    .begin = begin,
    .handle = handle,
    .quick = quick,
    .teardown = teardown,
};

int main(int argc, char **argv)
{
    return ex_service_main(&persistence_service, argc, argv);
}
