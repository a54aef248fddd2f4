/* ticker.c: see ticker.h. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "core/runtime/ticker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct pc_ticker {
    void (*fn)(void *ctx);
    void *ctx;
    long interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping; /* under lock */
};

static struct timespec after_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static void *ticker_main(void *arg)
{
    pc_ticker *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        pthread_mutex_unlock(&t->lock);
        t->fn(t->ctx);
        pthread_mutex_lock(&t->lock);
        struct timespec until = after_ms(t->interval_ms);
        while (!t->stopping && pthread_cond_timedwait(&t->wake, &t->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

pc_ticker *pc_ticker_start(void (*fn)(void *ctx), void *ctx, long interval_ms, pc_error *err)
{
    pc_ticker *t = calloc(1, sizeof(*t));
    if (!t) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    t->fn = fn;
    t->ctx = ctx;
    t->interval_ms = interval_ms;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        pthread_mutex_destroy(&t->lock);
        pthread_cond_destroy(&t->wake);
        free(t);
        pc_error_set(err, PC_ERR_INTERNAL, "cannot start a thread");
        return NULL;
    }
    pthread_setname_np(t->thread, "ticker");
    return t;
}

void pc_ticker_stop(pc_ticker *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    free(t);
}
