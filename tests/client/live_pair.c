/* live_pair.c: see live_pair.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "live_pair.h"

paychan_client *live_client(pc_itest *it, const pc_test_paychand *server, int who)
{
    char key[67];
    pc_hex_encode(it->key[who], 32, key);
    paychan_config cfg = {.server_url = pc_test_paychand_url(server), .dev_key_hex = key,
                          .timeout_ms = 30000};
    paychan_client *c = NULL;
    paychan_error err;
    if (paychan_client_create(&cfg, &c, &err) != 0)
        fail_msg("paychan_client_create: %d %s", err.code, err.message);
    return c;
}

int live_pair_start(live_pair *p)
{
    static const pc_itest_options opts = {.store = "memory"};
    if (!(p->it = pc_itest_start(&opts)))
        return -1;
    p->consumer = live_client(p->it, p->it->consumer_server, IT_CONSUMER);
    p->provider = live_client(p->it, p->it->provider_server, IT_PROVIDER);
    return 0;
}

void live_pair_stop(live_pair *p)
{
    paychan_client_destroy(p->consumer);
    paychan_client_destroy(p->provider);
    pc_itest_stop(p->it);
}
