/* curl_body.c: see curl_body.h. */
#include "support/curl_body.h"

#include <stdint.h>
#include <stdlib.h>

size_t pc_test_curl_collect(char *data, size_t size, size_t n, void *bytes)
{
    return pc_bytes_append(bytes, data, size * n) == 0 ? size * n : 0;
}

char *pc_test_bytes_take_string(pc_bytes *b)
{
    if (pc_bytes_push(b, '\0') != 0) {
        pc_bytes_free(b);
        return NULL;
    }
    char *s = (char *)b->data;
    *b = (pc_bytes){0};
    return s;
}
