/* curl_pool.h: idle libcurl easy handles kept for the next call, so that
 * their kept-alive connections and buffers outlive one request. Every
 * client of ours has one: the node RPC client, libpaychan's calls to the
 * Payment Server, paychan-proxy's upstream calls, the example services'
 * outgoing calls. The lock guards only taking and giving a handle; no
 * lock is held while a handle is in use. */
#ifndef PAYCHAN_CORE_RUNTIME_CURL_POOL_H
#define PAYCHAN_CORE_RUNTIME_CURL_POOL_H

#include <pthread.h>
#include <stddef.h>

#include <curl/curl.h>

#define PC_CURL_POOL_MAX 256 /* idle handles kept at most */

typedef struct pc_curl_pool {
    pthread_mutex_t lock;
    CURL *idle[PC_CURL_POOL_MAX];
    size_t n_idle;
    size_t max_idle; /* <= PC_CURL_POOL_MAX */
} pc_curl_pool;

/* Sets up an empty pool keeping at most max_idle handles (cut to
 * PC_CURL_POOL_MAX). 0, or -1 when the lock cannot be made. */
int pc_curl_pool_init(pc_curl_pool *p, size_t max_idle);

/* Cleans up the idle handles. No handle taken from p may be in use. */
void pc_curl_pool_free(pc_curl_pool *p);

/* An idle handle, as its last user left it (options set stay set), or
 * NULL when none is idle: the caller then makes one. */
CURL *pc_curl_pool_take(pc_curl_pool *p);

/* Keeps h for a later pc_curl_pool_take, or cleans it up when max_idle
 * are idle already. h must not point into memory that goes away (error
 * buffers, header lists, write targets): reset those first. NULL is a no-op. */
void pc_curl_pool_give(pc_curl_pool *p, CURL *h);

#endif
