/* curl_body.h (test support): a libcurl answer (body or headers) collected
 * into a pc_bytes (core/encoding/bytes.h), and handed out as a C string. */
#ifndef PAYCHAN_TESTS_SUPPORT_CURL_BODY_H
#define PAYCHAN_TESTS_SUPPORT_CURL_BODY_H

#include <stddef.h>

#include "core/encoding/bytes.h"

/* A CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION: appends to the pc_bytes
 * given as its data (CURLOPT_WRITEDATA / HEADERDATA); 0 (curl then fails the
 * transfer) when out of memory. */
size_t pc_test_curl_collect(char *data, size_t size, size_t n, void *bytes);

/* What b holds as a malloc'ed, NUL-terminated string ("" when empty), owned
 * by the caller; b is left empty. NULL only when out of memory. */
char *pc_test_bytes_take_string(pc_bytes *b);

#endif
