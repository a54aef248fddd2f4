/* fixtures.h: test helpers to find and read the committed fixture files under tests/fixtures. */
#ifndef PAYCHAN_TESTS_FIXTURES_H
#define PAYCHAN_TESTS_FIXTURES_H

#include <stddef.h>

/* Writes PAYCHAN_SOURCE_DIR "/tests/fixtures/" relative into out (size cap).
 * Returns out. */
char *pc_test_fixture_path(const char *relative, char *out, size_t cap);

/* Reads a whole fixture file into a NUL-terminated malloc'd buffer, or
 * returns NULL. *len (if not NULL) receives the size without the NUL. */
char *pc_test_read_fixture(const char *relative, size_t *len);

#endif
