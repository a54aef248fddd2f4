/* The strict decoding of request parameters (server/params.h): form
 * encoding (query strings and form bodies) and JSON bodies. Every field
 * that is present but malformed is refused with code 300 naming it, never
 * dropped or cut short; well-formed ones decode as application/x-www-form-
 * urlencoded says ('+' a space, %XX escapes in either case). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/params.h"

/* Decodes text as a form; returns params (or NULL when refused, *err filled). */
static json_t *form(const char *text, size_t len, pc_error *err)
{
    json_t *p = json_object();
    if (pc_params_add_form(p, text, len, err) == 0)
        return p;
    json_decref(p);
    return NULL;
}

static void expect_param(json_t *p, const char *name, const char *value, size_t len)
{
    json_t *v = json_object_get(p, name);
    assert_non_null(v);
    assert_int_equal(json_string_length(v), len);
    assert_memory_equal(json_string_value(v), value, len);
}

static void test_form_decodes(void **state)
{
    (void)state;
    pc_error err;
    const char text[] = "a=1&b=x%2By+z&&c&d=&%65=%C3%A9&f=%3d%3D";
    json_t *p = form(text, strlen(text), &err);
    assert_non_null(p);
    expect_param(p, "a", "1", 1);
    expect_param(p, "b", "x+y z", 5);
    expect_param(p, "c", "", 0);
    expect_param(p, "d", "", 0);
    expect_param(p, "e", "\xc3\xa9", 2);
    expect_param(p, "f", "==", 2);
    assert_int_equal(json_object_size(p), 6);
    json_decref(p);
    p = form("", 0, &err);
    assert_int_equal(json_object_size(p), 0);
    json_decref(p);
}

/* Each text is refused, and the message names `named`. */
static void test_form_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len; /* 0 = strlen */
        const char *named;
    } bad[] = {
        {"costPerRequest=%ff", 0, "costPerRequest"},          /* not UTF-8 */
        {"costPerRequest=1%00x", 0, "costPerRequest"},        /* decodes to a NUL */
        {"costPerRequest=1\0x&b=2", 22, "costPerRequest"},    /* a raw NUL */
        {"a=b=c&costPerRequest=5", 0, "parameter a"},          /* a raw '=' in a value */
        {"costPerRequest=%", 0, "costPerRequest"},            /* escapes cut short */
        {"costPerRequest=%4", 0, "costPerRequest"},
        {"costPerRequest=%zz", 0, "costPerRequest"},
        {"costPerRequest=%+1", 0, "costPerRequest"},
        {"x=1&costPerRequest=1&costPerRequest=2", 0, "costPerRequest"}, /* twice */
        {"=5", 0, "name"},                                    /* empty name */
        {"%zz=5", 0, "%zz"},                                  /* bad name */
        {"a%00=5", 0, "a%00"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pc_error err = {0};
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        json_t *p = form(bad[i].text, len, &err);
        if (p || err.code != PC_ERR_INVALID_ARGUMENT || !strstr(err.message, bad[i].named))
            fail_msg("\"%s\": expected refusal naming %s, got %s (%d: %s)", bad[i].text,
                     bad[i].named, p ? "accepted" : "refused", err.code, err.message);
    }
}

/* Each of the n bodies is refused with code 300. */
static void expect_json_refused(const char *const *bad, size_t n, const char *const *structured)
{
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_object();
        pc_error err = {0};
        if (pc_params_add_json(p, bad[i], strlen(bad[i]), structured, &err) == 0 ||
            err.code != PC_ERR_INVALID_ARGUMENT)
            fail_msg("%s: expected a refusal with code 300", bad[i]);
        json_decref(p);
    }
}

static void test_json_body(void **state)
{
    (void)state;
    pc_error err;
    json_t *p = json_object();
    const char *ok = "{\"a\": \"0x12\", \"b\": 12, \"c\": true, \"d\": \"\\u00e9\"}";
    assert_int_equal(pc_params_add_json(p, ok, strlen(ok), NULL, &err), 0);
    expect_param(p, "a", "0x12", 4);
    expect_param(p, "b", "12", 2);
    expect_param(p, "c", "true", 4);
    expect_param(p, "d", "\xc3\xa9", 2);
    json_decref(p);
    const char *bad[] = {"{\"a\": 1.5}", "{\"a\": null}", "{\"a\": [1]}", "{\"a\": {}}",
                         "{\"a\": \"1\\u0000x\"}", "{\"a\": 1, \"a\": 2}", "[1]", "\"x\"",
                         "{", "{\"a\": 1e18}", "{\"a\": 123456789012345678901234567890}"};
    expect_json_refused(bad, sizeof bad / sizeof bad[0], NULL);
}

/* Members named structured may hold an array or an object: the parameter
 * is its compact JSON text. Under any other name they are still refused,
 * and a structured member keeps the other rules (not null, not a float). */
static void test_json_structured_members(void **state)
{
    (void)state;
    static const char *const structured[] = {"tokens", NULL};
    pc_error err;
    json_t *p = json_object();
    const char *ok = "{\"tokens\": [{\"a\": \"1\", \"b\": 2}, [ ]], \"n\": 3}";
    assert_int_equal(pc_params_add_json(p, ok, strlen(ok), structured, &err), 0);
    const char *text = "[{\"a\":\"1\",\"b\":2},[]]";
    expect_param(p, "tokens", text, strlen(text));
    expect_param(p, "n", "3", 1);
    json_decref(p);
    const char *bad[] = {"{\"other\": [1]}", "{\"tokens\": null}", "{\"tokens\": 1.5}",
                         "{\"tokens\": [], \"other\": {}}"};
    expect_json_refused(bad, sizeof bad / sizeof bad[0], structured);
}

/* pc_params_parse with no structured members. */
static unsigned parse(json_t *p, const char *target, int is_post, const char *type,
                      const char *body, size_t len, pc_error *err)
{
    return pc_params_parse(p, target, is_post, type, body, len, NULL, err);
}

/* Bodies by type; the query and the body share one namespace; paths. */
static void test_parse_request(void **state)
{
    (void)state;
    pc_error err;
    json_t *p = json_object();
    const char *f = "b=2";
    assert_int_equal(parse(p, "/x?a=1", 1, "application/x-www-form-urlencoded; charset=UTF-8",
                           f, strlen(f), &err), 0);
    expect_param(p, "a", "1", 1);
    expect_param(p, "b", "2", 1);
    json_decref(p);
    p = json_object();
    assert_int_equal(parse(p, "/x?a=1", 1, "application/json", "{\"a\":\"2\"}", 9, &err), 400);
    assert_non_null(strstr(err.message, "parameter a"));
    json_decref(p);
    p = json_object();
    assert_int_equal(parse(p, "/x", 1, "text/plain", "a=1", 3, &err), 415);
    assert_int_equal(parse(p, "/x", 1, NULL, "a=1", 3, &err), 415);
    assert_int_equal(parse(p, "/x", 1, "multipart/form-data; boundary=x", "a", 1, &err), 415);
    assert_int_equal(parse(p, "/x", 1, "text/plain", "", 0, &err), 0); /* empty: any type */
    assert_int_equal(parse(p, "/x", 0, "application/json", "{}", 2, &err), 400); /* GET */
    assert_int_equal(parse(p, "/contracts/0x12/deposit/1%00x", 0, NULL, NULL, 0, &err), 400);
    assert_int_equal(parse(p, "/contracts/0x12/deposit/1%zz", 0, NULL, NULL, 0, &err), 400);
    assert_int_equal(parse(p, "/a%2Fb%20c", 0, NULL, NULL, 0, &err), 0);
    assert_int_equal(parse(p, "/x?a=%", 0, NULL, NULL, 0, &err), 400);
    assert_int_equal(err.code, PC_ERR_INVALID_ARGUMENT);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_decodes),
        cmocka_unit_test(test_form_refuses),
        cmocka_unit_test(test_json_body),
        cmocka_unit_test(test_json_structured_members),
        cmocka_unit_test(test_parse_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
