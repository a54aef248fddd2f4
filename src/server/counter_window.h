/* counter_window.h: the out-of-order request-count rule of docs/protocol.md §5 step 7
 * as a small fixed-size value, shared by every storage backend (the Redis
 * backend runs the same rule in Lua; tests check both agree).
 *
 * A count is accepted if it is above the highest seen, or if it is one of
 * the PC_COUNTER_WINDOW counts just below the highest that was skipped and
 * not seen yet. Anything else is a replay (or too old to tell, which is
 * treated as a replay: code 37). The window bounds memory per token id no
 * matter how far counts jump. */
#ifndef PAYCHAN_SERVER_COUNTER_WINDOW_H
#define PAYCHAN_SERVER_COUNTER_WINDOW_H

#include <stdint.h>

#define PC_COUNTER_WINDOW 1024 /* counts below the highest that may still arrive */

typedef struct pc_counter_window {
    uint64_t highest; /* 0 = nothing seen yet (counts start at 1) */
    /* bit i (byte i/8, bit i%8) set = count (highest - 1 - i) was seen */
    uint8_t seen[PC_COUNTER_WINDOW / 8];
} pc_counter_window;

/* Result of pc_counter_window_offer. */
#define PC_WINDOW_NEWEST 1   /* count > highest: accepted, now the highest */
#define PC_WINDOW_SKIPPED 2  /* a skipped count, accepted now */
#define PC_WINDOW_REPLAY 0   /* rejected: seen, zero, or older than the window */

/* Applies the rule to `count` and updates *w on acceptance. */
int pc_counter_window_offer(pc_counter_window *w, uint64_t count);

#endif
