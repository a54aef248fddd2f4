/* fixtures.c: see fixtures.h. */
#include "support/fixtures.h"

#include <stdio.h>
#include <stdlib.h>

char *pc_test_fixture_path(const char *relative, char *out, size_t cap)
{
    snprintf(out, cap, "%s/tests/fixtures/%s", PAYCHAN_SOURCE_DIR, relative);
    return out;
}

char *pc_test_read_fixture(const char *relative, size_t *len)
{
    char path[4096];
    FILE *f = fopen(pc_test_fixture_path(relative, path, sizeof(path)), "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long size;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1)) != NULL) {
        if (fread(buf, 1, (size_t)size, f) == (size_t)size) {
            buf[size] = '\0';
            if (len)
                *len = (size_t)size;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}
