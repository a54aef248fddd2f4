/* nonce_cache.c: see nonce_cache.h. Each shard is an open-addressing table
 * of (nonce, expiry); expired entries count as free slots, and a shard is
 * rebuilt without them when it fills up. */
#include "server/nonce_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N_SHARDS 16

typedef struct slot {
    uint8_t nonce[32];
    uint64_t expires_at; /* 0 = empty */
} slot;

typedef struct shard {
    pthread_mutex_t lock;
    slot *slots;
    size_t cap; /* power of two */
    size_t used;
} shard;

struct pc_nonce_cache {
    shard shards[N_SHARDS];
};

static uint64_t hash_of(const uint8_t nonce[32])
{
    uint64_t h;
    memcpy(&h, nonce + 8, sizeof(h)); /* nonces are hashes: any 8 bytes are uniform */
    return h;
}

/* Inserts without checking for a live duplicate; the caller knows there is none. */
static void put(shard *s, const uint8_t nonce[32], uint64_t expires_at)
{
    size_t i = hash_of(nonce) & (s->cap - 1);
    while (s->slots[i].expires_at)
        i = (i + 1) & (s->cap - 1);
    memcpy(s->slots[i].nonce, nonce, 32);
    s->slots[i].expires_at = expires_at;
    s->used++;
}

/* Rebuilds the shard with the live entries, doubling it if they fill half. */
static int rebuild(shard *s, uint64_t now)
{
    size_t live = 0;
    for (size_t i = 0; i < s->cap; i++)
        live += s->slots[i].expires_at > now;
    size_t cap = s->cap ? s->cap : 256;
    while (live * 2 >= cap)
        cap *= 2;
    slot *old = s->slots;
    size_t old_cap = s->cap;
    if (!(s->slots = calloc(cap, sizeof(slot)))) {
        s->slots = old;
        return -1;
    }
    s->cap = cap;
    s->used = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].expires_at > now)
            put(s, old[i].nonce, old[i].expires_at);
    free(old);
    return 0;
}

int pc_nonce_cache_claim(pc_nonce_cache *c, const uint8_t nonce[32], uint64_t expires_at,
                         uint64_t now)
{
    shard *s = &c->shards[nonce[0] % N_SHARDS];
    int rc = 1;
    pthread_mutex_lock(&s->lock);
    if ((s->used + 1) * 4 > s->cap * 3 && rebuild(s, now) != 0) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    size_t i = hash_of(nonce) & (s->cap - 1);
    for (; s->slots[i].expires_at; i = (i + 1) & (s->cap - 1)) {
        if (memcmp(s->slots[i].nonce, nonce, 32) == 0) {
            if (s->slots[i].expires_at > now)
                rc = 0; /* live: a replay */
            else
                s->slots[i].expires_at = expires_at; /* expired: fresh again */
            break;
        }
    }
    if (!s->slots[i].expires_at)
        put(s, nonce, expires_at);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

pc_nonce_cache *pc_nonce_cache_create(void)
{
    pc_nonce_cache *c = calloc(1, sizeof(*c));
    for (int i = 0; c && i < N_SHARDS; i++)
        pthread_mutex_init(&c->shards[i].lock, NULL);
    return c;
}

void pc_nonce_cache_destroy(pc_nonce_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < N_SHARDS; i++) {
        pthread_mutex_destroy(&c->shards[i].lock);
        free(c->shards[i].slots);
    }
    free(c);
}
