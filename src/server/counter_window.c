/* counter_window.c: see counter_window.h. The Lua script of the Redis
 * backend (store_redis.c) mirrors this function line for line. */
#include "server/counter_window.h"

#include <string.h>

#define SEEN_BYTES (PC_COUNTER_WINDOW / 8)

static void set_bit(uint8_t *seen, uint64_t i)
{
    seen[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int bit_is_set(const uint8_t *seen, uint64_t i)
{
    return (seen[i / 8] >> (i % 8)) & 1;
}

/* Moves every bit i to i + k (bits pushed past the window are dropped). */
static void shift_up(uint8_t *seen, uint64_t k)
{
    if (k >= PC_COUNTER_WINDOW) {
        memset(seen, 0, SEEN_BYTES);
        return;
    }
    unsigned bytes = (unsigned)(k / 8), bits = (unsigned)(k % 8);
    for (int j = SEEN_BYTES - 1; j >= 0; j--) {
        int src = j - (int)bytes;
        unsigned v = 0;
        if (src >= 0) {
            v = (unsigned)seen[src] << bits;
            if (bits > 0 && src >= 1)
                v |= (unsigned)seen[src - 1] >> (8 - bits);
        }
        seen[j] = (uint8_t)v;
    }
}

int pc_counter_window_offer(pc_counter_window *w, uint64_t count)
{
    if (count == 0)
        return PC_WINDOW_REPLAY; /* counts start at 1 */
    if (count > w->highest) {
        uint64_t k = count - w->highest;
        shift_up(w->seen, k);
        /* The old highest is now k - 1 below the new one; 0 means none. */
        if (w->highest > 0 && k - 1 < PC_COUNTER_WINDOW)
            set_bit(w->seen, k - 1);
        w->highest = count;
        return PC_WINDOW_NEWEST;
    }
    /* count <= highest; written without highest - W to avoid underflow. */
    if (count < w->highest && w->highest - count <= PC_COUNTER_WINDOW) {
        uint64_t i = w->highest - 1 - count;
        if (!bit_is_set(w->seen, i)) {
            set_bit(w->seen, i);
            return PC_WINDOW_SKIPPED;
        }
    }
    return PC_WINDOW_REPLAY;
}
