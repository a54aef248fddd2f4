/* params.h: a request's parameters (protocol §4), decoded strictly from the
 * query string and a POST body into one JSON object, name -> string.
 *
 * Why strict, and why here: a parameter that is present but cannot be
 * decoded must be refused (400, code 300), never dropped; a dropped
 * costPerRequest silently became the default cost. libmicrohttpd's post
 * processor and query parser accept bad escapes as text, hand values out as
 * C strings (a decoded %00 cut "1%00x" down to "1") and undecodable values
 * were lost on the way into JSON; libcurl's unescape accepts bad escapes
 * too. So the application/x-www-form-urlencoded fields (name=value pairs
 * separated by '&', '+' for a space, %XX escapes) are decoded here, with
 * every rule checked. Only the percent escapes of a form are decoded: the
 * HTTP message itself is parsed by libmicrohttpd, JSON by jansson.
 *
 * Rules: a name or value that has a '%' not followed by two hex digits, a
 * raw '=' in a value, decodes to a NUL byte or is not UTF-8 is malformed;
 * so is an empty name, a name given twice (in the query, the body or both:
 * which one would count?) and a JSON body that is not one object of
 * strings, integers and booleans. Empty pieces ("a=1&&b=2") are skipped;
 * a name without '=' has the empty value.
 *
 * Structured members: the caller may name JSON body members that may also
 * hold an array or an object (`structured`, NULL-terminated, or NULL for
 * none; e.g. POST /validateTokens' "tokens"). Their value becomes the
 * member's compact JSON text, which the endpoint parses with jansson; an
 * array or object under any other name is still refused. */
#ifndef PAYCHAN_HTTP_PARAMS_H
#define PAYCHAN_HTTP_PARAMS_H

#include <stddef.h>

#include <jansson.h>

#include "core/runtime/error.h"

/* Adds the fields of form-encoded text (a query string without its '?', or
 * a form body; len bytes, NULs included) to params. 0, or -1 with err
 * (code 300, naming the field). */
int pc_params_add_form(json_t *params, const char *text, size_t len, pc_error *err);

/* Adds the members of a JSON object body (integers and booleans, and the
 * arrays and objects of the members named in `structured`, as their JSON
 * text). 0, or -1 with err (code 300). */
int pc_params_add_json(json_t *params, const char *text, size_t len,
                       const char *const *structured, pc_error *err);

/* Adds a POST body by its Content-Type (NULL when absent): form-encoded or
 * JSON; an empty body adds nothing whatever its type. Returns 0, or with
 * err (code 300) the HTTP status to answer: 400 for a malformed body, 415
 * for a non-empty body of another type. */
unsigned pc_params_add_body(json_t *params, const char *content_type, const char *body,
                            size_t len, const char *const *structured, pc_error *err);

/* Checks that a raw request path (up to its '?') has well-formed escapes
 * that decode to no NUL byte (libmicrohttpd decodes the path into a C
 * string: "/deposit/1%00x" would read as "/deposit/1"). 0, or -1 with err. */
int pc_params_check_path(const char *target, pc_error *err);

/* All parameters of a request: the query of its raw target and, for a POST,
 * its body (`structured` as above). Returns 0, or the HTTP status to answer
 * with err (as above). */
unsigned pc_params_parse(json_t *params, const char *target, int is_post,
                         const char *content_type, const char *body, size_t len,
                         const char *const *structured, pc_error *err);

#endif
