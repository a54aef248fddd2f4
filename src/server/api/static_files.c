/* static_files.c: see static_files.h. */
#include "server/api/static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE (16 * 1024 * 1024)

static const char *content_type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},            {".svg", "image/svg+xml"},
        {".png", "image/png"},                    {".ico", "image/x-icon"},
        {".md", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static void not_found(pc_http_answer *a)
{
    a->status = 404;
    a->body = json_pack("{sssiss}", "name", "NotFound", "code", 404, "message", "no such file");
}

/* Reads the whole file into a malloc'ed buffer; NULL unless it is a regular
 * file. O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
 * writer for ever (a worker lost, and shutdown waiting on it); fstat then
 * refuses it, and devices, sockets and folders alike. */
static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    char *buf = NULL;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= MAX_FILE &&
        (buf = malloc((size_t)st.st_size + 1))) {
        size_t got = 0;
        ssize_t n;
        while (got < (size_t)st.st_size &&
               ((n = read(fd, buf + got, (size_t)st.st_size - got)) > 0 ||
                (n < 0 && errno == EINTR)))
            got += n > 0 ? (size_t)n : 0;
        *len = got;
    }
    close(fd);
    return buf;
}

void pc_static_serve(const char *root, const char *relative, pc_http_answer *answer)
{
    char wanted[PATH_MAX], real_root[PATH_MAX], real_file[PATH_MAX];
    size_t n = strlen(relative);
    const char *index = (n == 0 || relative[n - 1] == '/') ? "index.html" : "";
    if (snprintf(wanted, sizeof(wanted), "%s/%s%s", root, relative, index) >= (int)sizeof(wanted) ||
        !realpath(root, real_root) || !realpath(wanted, real_file)) {
        not_found(answer);
        return;
    }
    /* the resolved file must lie inside the resolved root */
    size_t rl = strlen(real_root);
    if (strncmp(real_file, real_root, rl) != 0 || real_file[rl] != '/') {
        not_found(answer);
        return;
    }
    size_t len = 0;
    char *body = read_file(real_file, &len);
    if (!body) {
        not_found(answer);
        return;
    }
    answer->status = 200;
    answer->content_type = content_type_of(real_file);
    answer->body_raw = body;
    answer->body_raw_len = len;
}
