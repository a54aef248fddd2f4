/* params.c: see params.h. */
#include "http/params.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/encoding/hex.h"

/* Percent-decodes text[0..len) into out (room for len + 1 bytes), '+' as a
 * space when plus_is_space. Returns the decoded length, or -1 for a '%'
 * without two hex digits or a decoded NUL byte. */
static long percent_decode(const char *text, size_t len, int plus_is_space, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '%') {
            int hi = i + 2 < len ? pc_hex_digit(text[i + 1]) : -1;
            int lo = hi >= 0 ? pc_hex_digit(text[i + 2]) : -1;
            if (lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0')
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return (long)n;
}

/* Up to 40 characters of raw text for a message, non-printables as '?'. */
static void shown(const char *text, size_t len, char out[44])
{
    size_t n = 0;
    for (; n < len && n < 40; n++)
        out[n] = text[n] > 32 && text[n] < 127 ? text[n] : '?';
    strcpy(out + n, n < len ? "..." : "");
}

/* Adds name = value (value: len bytes); refuses a name given before and a
 * value that is not UTF-8. */
static int add(json_t *params, const char *name, const char *value, size_t len, pc_error *err)
{
    if (json_object_get(params, name))
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter %s: given more than once",
                            name);
    json_t *v = json_stringn(value, len);
    if (!v)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter %s: not UTF-8", name);
    if (json_object_set_new(params, name, v) != 0)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    return 0;
}

/* One "name[=value]" piece of a form (len > 0); buf has room for len + 1. */
static int add_field(json_t *params, const char *piece, size_t len, char *buf, pc_error *err)
{
    char raw[44];
    const char *eq = memchr(piece, '=', len);
    size_t name_len = eq ? (size_t)(eq - piece) : len;
    const char *value = eq ? eq + 1 : piece + len;
    size_t value_len = len - name_len - (eq ? 1 : 0);
    shown(piece, name_len, raw);
    long n = percent_decode(piece, name_len, 1, buf);
    if (n <= 0)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter name \"%s\": %s", raw,
                            n == 0 ? "empty" : "malformed percent escape or NUL byte");
    char *name = strdup(buf);
    if (!name)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    const char *why = memchr(value, '=', value_len) ? "a raw '=' in the value (write %3D)"
                      : (n = percent_decode(value, value_len, 1, buf)) < 0
                          ? "malformed percent escape or NUL byte in the value"
                          : NULL;
    int rc = why ? pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "parameter %s: %s", name, why)
                 : add(params, name, buf, (size_t)n, err);
    free(name);
    return rc;
}

int pc_params_add_form(json_t *params, const char *text, size_t len, pc_error *err)
{
    char *buf = malloc(len + 1);
    if (!buf)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        const char *amp = memchr(text + at, '&', len - at);
        size_t piece = amp ? (size_t)(amp - (text + at)) : len - at;
        if (piece > 0)
            rc = add_field(params, text + at, piece, buf, err);
        at += piece + 1;
    }
    free(buf);
    return rc;
}

/* 1 when name is one of the NULL-terminated names (names may be NULL). */
static int named(const char *const *names, const char *name)
{
    for (size_t i = 0; names && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

int pc_params_add_json(json_t *params, const char *text, size_t len,
                       const char *const *structured, pc_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *value;
    int rc = 0;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "the body is not a JSON object%s%s",
                            doc ? "" : ": ", doc ? "" : jerr.text);
    }
    json_object_foreach(doc, key, value) {
        char *text_value = NULL;
        if (json_is_integer(value) || json_is_boolean(value) ||
            ((json_is_array(value) || json_is_object(value)) && named(structured, key)))
            text_value = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
        if (json_is_string(value))
            rc = add(params, key, json_string_value(value), json_string_length(value), err);
        else if (text_value)
            rc = add(params, key, text_value, strlen(text_value), err);
        else
            rc = pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                              "parameter %s: a JSON string, integer or boolean expected", key);
        free(text_value);
        if (rc != 0)
            break;
    }
    json_decref(doc);
    return rc;
}

/* 1 when content_type names `media` (case-insensitive, parameters such as
 * "; charset=utf-8" allowed after it). */
static int is_type(const char *content_type, const char *media)
{
    size_t n = strlen(media);
    return content_type && strncasecmp(content_type, media, n) == 0 &&
           (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

unsigned pc_params_add_body(json_t *params, const char *content_type, const char *body,
                            size_t len, const char *const *structured, pc_error *err)
{
    if (len == 0)
        return 0;
    if (is_type(content_type, "application/x-www-form-urlencoded"))
        return pc_params_add_form(params, body, len, err) == 0 ? 0 : 400;
    if (is_type(content_type, "application/json"))
        return pc_params_add_json(params, body, len, structured, err) == 0 ? 0 : 400;
    pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                 "a POST body must be application/x-www-form-urlencoded or application/json, "
                 "not %.60s", content_type ? content_type : "(no Content-Type)");
    return 415;
}

int pc_params_check_path(const char *target, pc_error *err)
{
    size_t len = strcspn(target, "?");
    char *buf = malloc(len + 1);
    if (!buf)
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    long n = percent_decode(target, len, 0, buf);
    free(buf);
    if (n < 0)
        return pc_error_set(err, PC_ERR_INVALID_ARGUMENT,
                            "the path has a malformed percent escape or a NUL byte");
    return 0;
}

unsigned pc_params_parse(json_t *params, const char *target, int is_post,
                         const char *content_type, const char *body, size_t len,
                         const char *const *structured, pc_error *err)
{
    const char *query = strchr(target, '?');
    if (pc_params_check_path(target, err) != 0 ||
        (query && pc_params_add_form(params, query + 1, strlen(query + 1), err) != 0))
        return 400;
    if (!is_post && len > 0) {
        pc_error_set(err, PC_ERR_INVALID_ARGUMENT, "a GET has no body: send parameters by POST");
        return 400;
    }
    return is_post ? pc_params_add_body(params, content_type, body, len, structured, err) : 0;
}
