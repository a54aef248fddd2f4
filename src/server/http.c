/* http.c: see http.h. */
#include "server/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "core/bytes.h"
#include "core/logger.h"

#define MAX_BODY (64 * 1024)

struct pc_http {
    struct MHD_Daemon *daemon;
    pc_http_handler handler;
    void *ctx;
    int port;
};

struct pc_http_request {
    struct MHD_Connection *conn;
    char *target;          /* raw request target */
    const char *method;
    const char *path;
    int started;           /* the access handler was called once */
    size_t body_len;       /* bytes received so far */
    int body_too_large;
    struct MHD_PostProcessor *form;
    pc_bytes json_body;    /* a JSON body, parsed once complete */
    json_t *body_params;   /* object: name -> string */
};

/* ---- per-request state --------------------------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    pc_http_request *req = calloc(1, sizeof(*req));
    if (req) {
        req->conn = conn;
        req->target = strdup(uri ? uri : "");
        req->body_params = json_object();
    }
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    pc_http_request *req = *con_cls;
    if (!req)
        return;
    if (req->form)
        MHD_destroy_post_processor(req->form);
    json_decref(req->body_params);
    pc_bytes_free(&req->json_body);
    free(req->target);
    free(req);
    *con_cls = NULL;
}

static enum MHD_Result on_form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *filename, const char *content_type,
                                     const char *transfer_encoding, const char *data,
                                     uint64_t off, size_t size)
{
    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    pc_http_request *req = cls;
    if (off > 0 || !key) /* parameters are short; a value split over calls is refused */
        return MHD_NO;
    json_object_set_new(req->body_params, key, json_stringn(data ? data : "", size));
    return MHD_YES;
}

/* Fields of a JSON object body: strings kept, numbers and booleans as text. */
static void parse_json_body(pc_http_request *req, const char *data, size_t len)
{
    json_t *doc = json_loadb(data, len, 0, NULL);
    const char *key;
    json_t *value;
    if (json_is_object(doc)) {
        json_object_foreach(doc, key, value) {
            if (json_is_string(value)) {
                json_object_set(req->body_params, key, value);
            } else if (json_is_integer(value) || json_is_boolean(value)) {
                char *text = json_dumps(value, JSON_ENCODE_ANY);
                if (text)
                    json_object_set_new(req->body_params, key, json_string(text));
                free(text);
            }
        }
    }
    json_decref(doc);
}

static int is_json(struct MHD_Connection *conn)
{
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    return type && strncasecmp(type, "application/json", 16) == 0;
}

/* ---- answering -------------------------------------------------------------------------- */

static enum MHD_Result send_answer(struct MHD_Connection *conn, pc_http_answer *a)
{
    struct MHD_Response *resp;
    if (a->content_type) {
        resp = MHD_create_response_from_buffer(a->body_raw_len, a->body_raw,
                                               MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(a->body_raw);
    } else {
        char *text = a->body ? json_dumps(a->body, JSON_COMPACT) : strdup("{}");
        resp = text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
                    : NULL;
    }
    json_decref(a->body);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            a->content_type ? a->content_type : "application/json");
    enum MHD_Result r = MHD_queue_response(conn, a->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static void error_answer(pc_http_answer *a, unsigned status, int code, const char *message)
{
    a->status = status;
    a->body = json_pack("{sssiss}", "name", pc_error_code_name(code), "code", code, "message",
                        message);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    pc_http *h = cls;
    pc_http_request *req = *con_cls;
    if (!req)
        return MHD_NO;
    if (!req->started) {
        /* Answering on the first call would make MHD close the connection
         * (no keep-alive): wait for the body, even an empty one. */
        req->started = 1;
        req->method = method;
        req->path = url;
        if (strcmp(method, "POST") == 0 && !is_json(conn))
            req->form = MHD_create_post_processor(conn, 4096, on_form_field, req);
        return MHD_YES;
    }
    if (*upload_data_size) {
        req->body_len += *upload_data_size;
        if (req->body_len > MAX_BODY) {
            req->body_too_large = 1;
        } else if (req->form) {
            MHD_post_process(req->form, upload_data, *upload_data_size);
        } else if (is_json(conn) &&
                   pc_bytes_append(&req->json_body, upload_data, *upload_data_size) != 0) {
            req->body_too_large = 1;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    pc_http_answer answer = {0};
    if (req->json_body.len)
        parse_json_body(req, (const char *)req->json_body.data, req->json_body.len);
    if (req->body_too_large)
        error_answer(&answer, 413, PC_ERR_INVALID_ARGUMENT, "request body too large");
    else
        h->handler(h->ctx, req, &answer);
    return send_answer(conn, &answer);
}

/* ---- request accessors ------------------------------------------------------------------ */

const char *pc_http_method(const pc_http_request *req) { return req->method; }
const char *pc_http_path(const pc_http_request *req) { return req->path; }
const char *pc_http_target(const pc_http_request *req) { return req->target; }

const char *pc_http_param(const pc_http_request *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v)
        return v;
    return json_string_value(json_object_get(req->body_params, name));
}

const char *pc_http_header(const pc_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* ---- daemon ------------------------------------------------------------------------------ */

pc_http *pc_http_start(const char *address, int port, pc_http_handler handler, void *ctx,
                       pc_error *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "not an IPv4 listen address: %s", address);
        return NULL;
    }
    pc_http *h = calloc(1, sizeof(*h));
    if (!h) {
        pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    h->handler = handler;
    h->ctx = ctx;
    h->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, on_request, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
        MHD_OPTION_END);
    if (!h->daemon) {
        pc_error_set(err, PC_ERR_INTERNAL, "cannot listen on %s:%d (port in use?)", address, port);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    return h;
}

void pc_http_stop(pc_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}

int pc_http_port(const pc_http *h)
{
    return h->port;
}
