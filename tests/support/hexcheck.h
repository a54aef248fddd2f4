/* hexcheck.h: test helpers that turn hex text into bytes and compare bytes
 * with expected hex, failing the running cmocka test on any mismatch. */
#ifndef PAYCHAN_TESTS_HEXCHECK_H
#define PAYCHAN_TESTS_HEXCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Decodes hex ("0x" optional) into a malloc'd buffer of exactly the decoded
 * size (so AddressSanitizer catches any read past it); *len receives the
 * size. Fails the test on malformed hex. free() the result. */
uint8_t *pc_test_unhex(const char *hex, size_t *len);

/* Asserts that bytes[0..len) equal `hex` ("0x" + lowercase digits). */
void pc_test_assert_hex(const uint8_t *bytes, size_t len, const char *hex);

#endif
