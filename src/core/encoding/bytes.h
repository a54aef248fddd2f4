/* bytes.h: a growable byte buffer (calldata, RLP output, revert data, log data). */
#ifndef PAYCHAN_CORE_BYTES_H
#define PAYCHAN_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Zero-initialise (`pc_bytes b = {0};`) before first use; free with pc_bytes_free. */
typedef struct pc_bytes {
    uint8_t *data;
    size_t len;
    size_t cap;
} pc_bytes;

/* Makes room for `extra` more bytes. Returns 0, or -1 when out of memory
 * (the buffer is then unchanged). */
int pc_bytes_reserve(pc_bytes *b, size_t extra);

/* Appends len bytes (len may be 0). Returns 0 or -1 (out of memory). */
int pc_bytes_append(pc_bytes *b, const void *data, size_t len);

/* Appends one byte. Returns 0 or -1. */
int pc_bytes_push(pc_bytes *b, uint8_t byte);

/* Sets len to 0 and keeps the allocation. */
void pc_bytes_clear(pc_bytes *b);

/* Releases the allocation and zero-initialises *b. */
void pc_bytes_free(pc_bytes *b);

#endif
