/* curl_pool.c: see curl_pool.h. */
#include "core/runtime/curl_pool.h"

int pc_curl_pool_init(pc_curl_pool *p, size_t max_idle)
{
    p->n_idle = 0;
    p->max_idle = max_idle < PC_CURL_POOL_MAX ? max_idle : PC_CURL_POOL_MAX;
    return pthread_mutex_init(&p->lock, NULL) == 0 ? 0 : -1;
}

void pc_curl_pool_free(pc_curl_pool *p)
{
    while (p->n_idle > 0)
        curl_easy_cleanup(p->idle[--p->n_idle]);
    pthread_mutex_destroy(&p->lock);
}

CURL *pc_curl_pool_take(pc_curl_pool *p)
{
    CURL *h = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n_idle > 0)
        h = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->lock);
    return h;
}

void pc_curl_pool_give(pc_curl_pool *p, CURL *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->n_idle < p->max_idle) {
        p->idle[p->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (h)
        curl_easy_cleanup(h);
}
