/* bytes.c: see bytes.h. */
#include "core/encoding/bytes.h"

#include <stdlib.h>
#include <string.h>

int pc_bytes_reserve(pc_bytes *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int pc_bytes_append(pc_bytes *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (pc_bytes_reserve(b, len) != 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int pc_bytes_push(pc_bytes *b, uint8_t byte)
{
    return pc_bytes_append(b, &byte, 1);
}

void pc_bytes_clear(pc_bytes *b)
{
    b->len = 0;
}

void pc_bytes_free(pc_bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
