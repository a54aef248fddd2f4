/* bench_wire: see bench_wire.h. */
#include "bench_wire.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

/* The parts of url that wire_resolve needs; 0 if it is http://HOST[:PORT]. */
static int url_parts(CURLU *u, const char *url, char **scheme, char **host, char **port,
                     char **path)
{
    return curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
                   curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
                   curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
                   curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
                   curl_url_get(u, CURLUPART_PATH, path, 0) != CURLUE_OK ||
                   strcmp(*scheme, "http") != 0 || strcmp(*path, "/") != 0
               ? -1
               : 0;
}

int wire_resolve(const char *url, wire_server *srv)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, name[256];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = -1;
    if (u && url_parts(u, url, &scheme, &host, &port, &path) == 0 && strlen(host) < sizeof(name)) {
        /* an IPv6 literal comes in brackets, which getaddrinfo does not take */
        size_t len = strlen(host);
        int bracketed = host[0] == '[' && len >= 2;
        snprintf(name, sizeof(name), "%.*s", (int)(bracketed ? len - 2 : len), host + bracketed);
        if (getaddrinfo(name, port, &hints, &ai) == 0) {
            memcpy(&srv->addr, ai->ai_addr, ai->ai_addrlen);
            srv->addr_len = ai->ai_addrlen;
            snprintf(srv->host, sizeof(srv->host), "%s:%s", host, port);
            freeaddrinfo(ai);
            rc = 0;
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

int wire_connect(const wire_server *srv, int ep, void *tag)
{
    int one = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    int fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addr_len) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int wire_send(int fd, const char *bytes, size_t len, size_t *sent)
{
    while (*sent < len) {
        ssize_t k = send(fd, bytes + *sent, len - *sent, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (k <= 0)
            return -1;
        *sent += (size_t)k;
    }
    return 0;
}

/* The value of a header line starting at line if its name is `name` (with
 * the colon, any case), past blanks; NULL otherwise. */
static const char *header_value(const char *line, const char *name)
{
    size_t n = strlen(name);
    if (strncasecmp(line, name, n) != 0)
        return NULL;
    return line + n + strspn(line + n, " \t");
}

int wire_read_head(const char *buf, size_t len, size_t cap, wire_head *h)
{
    const char *end = strstr(buf, "\r\n\r\n"), *v;
    long body = -1;
    if (!end)
        return len < cap ? 0 : -1;
    if (strncmp(buf, "HTTP/1.1 ", 9) != 0)
        return -1;
    h->status = strtol(buf + 9, NULL, 10);
    h->head_len = (size_t)(end - buf) + 4;
    h->close = 0;
    /* each header line follows a CRLF; the blank line at `end` ends them */
    for (const char *line = strstr(buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if ((v = header_value(line, "content-length:")) != NULL)
            body = strtol(v, NULL, 10);
        else if ((v = header_value(line, "connection:")) != NULL)
            h->close = strncasecmp(v, "close", 5) == 0;
    }
    if (body < 0 || h->head_len + (size_t)body > cap)
        return -1;
    h->total = h->head_len + (size_t)body;
    return len >= h->total;
}
