/* nonce_cache.h: request signatures already used (docs/protocol.md §3 replay
 * protection), in memory, for a single paychand instance. Sharded so
 * request threads rarely meet on a lock; entries expire with their
 * timestamp's window, so memory stays bounded by the request rate times the
 * window. (Instances sharing a Redis claim nonces in Redis instead.) */
#ifndef PAYCHAN_SERVER_NONCE_CACHE_H
#define PAYCHAN_SERVER_NONCE_CACHE_H

#include <stdint.h>

typedef struct pc_nonce_cache pc_nonce_cache;

/* NULL when out of memory. */
pc_nonce_cache *pc_nonce_cache_create(void);
void pc_nonce_cache_destroy(pc_nonce_cache *c);

/* Records nonce as used until unix time expires_at. Returns 1 if it was
 * fresh, 0 if it is recorded and not yet expired (a replay), -1 when out of
 * memory. `now` is the current unix time. */
int pc_nonce_cache_claim(pc_nonce_cache *c, const uint8_t nonce[32], uint64_t expires_at,
                         uint64_t now);

#endif
