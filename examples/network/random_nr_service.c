/* random_nr_service.c: RandomNrService of the example network (docs/protocol.md §8),
 * port 8002. Sells random numbers for 10,000 gwei each.
 *
 *   /randomNumber   paid: {"randomNumber": n}, 0 <= n < 1000000
 *   /redeem, /payout, /terminate, /status   see provider.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common.h"
#include "provider.h"

#define RANDOM_RANGE 1000000u

/* A number from the kernel's generator (no shared state between threads).
 * The modulo bias (2^32 mod 10^6) is irrelevant for an example. */
static int random_number(json_int_t *out)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    *out = (json_int_t)(r % RANDOM_RANGE);
    return 0;
}

/* /randomNumber, once paid. */
static void serve_random(ex_service *svc, const ex_request *req, ex_answer *ans)
{
    (void)svc;
    (void)req;
    json_int_t n;
    if (random_number(&n) != 0) {
        ex_answer_error(ans, 500, "no random number available");
        return;
    }
    ex_answer_json(ans, 200, json_pack("{sI}", "randomNumber", n));
}

/* The paid /randomNumber, without blocking. */
static int begin(ex_service *svc, ex_request *req)
{
    if (strcmp(ex_request_path(req), "/randomNumber") != 0)
        return 0;
    ex_provider_serve_paid(svc->data, req, serve_random);
    return 1;
}

static void handle(ex_service *svc, const ex_request *req, ex_answer *ans)
{
    if (!ex_provider_handle_common(svc->data, req, ans))
        ex_answer_not_found(ans, req);
}

static int quick(ex_service *svc, const ex_request *req)
{
    return ex_provider_quick(svc->data, req);
}

static int setup(ex_service *svc)
{
    svc->data = ex_provider_create(svc, EX_COST_RANDOM_WEI);
    return svc->data ? 0 : -1;
}

static void teardown(ex_service *svc)
{
    ex_provider_destroy(svc->data);
}

static const ex_service_def random_nr_service = {
    .name = "random-nr-service",
    .summary = "RandomNrService of the paychan example network: sells random numbers,\n"
               "paid per request (10,000 gwei) by its consumers through payment channels.",
    .endpoints = "  /randomNumber  paid (10,000 gwei): {\"randomNumber\": n}\n"
                 "  /redeem        start redeeming the newest token of every Mediator paying us\n"
                 "  /payout        move the earned funds out of those Mediators\n"
                 "  /terminate     close those Mediators at once\n"
                 "  /status        address, payment switch, Mediators, paid requests\n"
                 "                 (?funds=true: with each Mediator's funds and termination state)",
    .default_port = 8002,
    .default_payment_server_url = "http://127.0.0.1:3001",
    .default_keystore = "devnet/dev-only/keystores/random.json",
    .setup = setup,
    .begin = begin,
    .handle = handle,
    .quick = quick,
    .teardown = teardown,
};

int main(int argc, char **argv)
{
    return ex_service_main(&random_nr_service, argc, argv);
}
