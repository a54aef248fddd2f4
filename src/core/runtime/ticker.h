/* ticker.h: a thread that calls a function periodically until stopped (the
 * chain cache's refresh-ahead, the background duties). */
#ifndef PAYCHAN_CORE_TICKER_H
#define PAYCHAN_CORE_TICKER_H

#include "core/runtime/error.h"

typedef struct pc_ticker pc_ticker;

/* Starts a thread that calls fn(ctx) at once and then again interval_ms
 * after each call returned, until pc_ticker_stop. NULL + *err on failure. */
pc_ticker *pc_ticker_start(void (*fn)(void *ctx), void *ctx, long interval_ms, pc_error *err);

/* Lets the call in progress finish, stops the thread and frees. NULL is a no-op. */
void pc_ticker_stop(pc_ticker *t);

#endif
