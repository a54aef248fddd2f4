/* live_pair.h: the set-up of the libpaychan tests against real Payment
 * Servers: anvil and the consumer's and provider's paychand (memory store)
 * of support/integration.h, and a libpaychan client of each party on its own. */
#ifndef PAYCHAN_TESTS_CLIENT_LIVE_PAIR_H
#define PAYCHAN_TESTS_CLIENT_LIVE_PAIR_H

#include "client/paychan.h"
#include "support/integration.h"

typedef struct live_pair {
    pc_itest *it;
    paychan_client *consumer, *provider;
} live_pair;

/* A client of party `who` (IT_CONSUMER, ...) at server, with a generous
 * timeout (CI runs on a loaded 2-core machine); fails the test on error. */
paychan_client *live_client(pc_itest *it, const pc_test_paychand *server, int who);

/* Starts the chain, both servers and both clients; 0, or -1 after printing why. */
int live_pair_start(live_pair *p);

/* Destroys the clients and stops the servers and the chain. */
void live_pair_stop(live_pair *p);

#endif
