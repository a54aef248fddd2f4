/* hexcheck.c: see hexcheck.h. */
#include "support/hexcheck.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "core/encoding/hex.h"

uint8_t *pc_test_unhex(const char *hex, size_t *len)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *tmp = malloc(cap);
    assert_non_null(tmp);
    ssize_t n = pc_hex_decode_var(hex, tmp, cap);
    assert_true(n >= 0);
    uint8_t *exact = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(exact);
    memcpy(exact, tmp, (size_t)n);
    free(tmp);
    *len = (size_t)n;
    return exact;
}

void pc_test_assert_hex(const uint8_t *bytes, size_t len, const char *hex)
{
    char *text = malloc(2 * len + 3);
    assert_non_null(text);
    pc_hex_encode(bytes, len, text);
    assert_string_equal(text, hex);
    free(text);
}
