/* client.c: creating and destroying a client (unlocking its key), errors and
 * the small value conversions the other parts share. See paychan.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "core/crypto/keystore.h"
#include "core/crypto/request_auth.h"

/* ---- errors --------------------------------------------------------------------------- */

int pc_client_fail(paychan_error *err, int code, int http_status, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    err->http_status = http_status;
    return -1;
}

void pc_client_clear(paychan_error *err)
{
    if (err) {
        err->code = 0;
        err->http_status = 0;
        err->message[0] = '\0';
    }
}

/* ---- values ----------------------------------------------------------------------------- */

int pc_client_url_encode(const char *in, char *out, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;
        if (n + (plain ? 1 : 3) >= cap)
            return -1;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = digits[*p >> 4];
            out[n++] = digits[*p & 15];
        }
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    return 0;
}

int pc_client_wei(const char *text, const char *dflt, char out[PC_CLIENT_WEI_LEN])
{
    pc_u256 v;
    const char *t = text ? text : dflt;
    /* decimal only: "0x10" would be read as hex by pc_u256_parse */
    if (!t || !*t || strspn(t, "0123456789") != strlen(t) || pc_u256_parse_dec(t, &v) != 0)
        return -1;
    pc_u256_to_dec(&v, out);
    return 0;
}

int pc_client_address_text(const char *text, char out[PC_ADDRESS_TEXT_LEN])
{
    pc_address a;
    if (!text || pc_address_parse(text, &a) != 0)
        return -1;
    pc_address_format(&a, out);
    return 0;
}

/* ---- the client ------------------------------------------------------------------------- */

/* The 32-byte key of cfg (keystore or dev key) into key. 0, or -1 with CONFIG. */
static int load_key(const paychan_config *cfg, uint8_t key[32], paychan_error *err)
{
    int has_keystore = cfg->keystore_path || cfg->password_path;
    if (has_keystore == (cfg->dev_key_hex != NULL))
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "give either keystore_path and password_path or dev_key_hex");
    if (cfg->dev_key_hex) {
        if (pc_hex_decode(cfg->dev_key_hex, key, 32) != 0)
            return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                                  "dev_key_hex is not 32 bytes of hex");
        return 0;
    }
    if (!cfg->keystore_path || !cfg->password_path)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0,
                              "keystore_path and password_path go together");
    pc_error kerr;
    if (pc_keystore_load_file(cfg->keystore_path, cfg->password_path, key, NULL, &kerr) != 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "%s", kerr.message);
    return 0;
}

/* The server URL without trailing slashes, malloc'ed; NULL with CONFIG. */
static char *base_url(const char *url, paychan_error *err)
{
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "server_url must be an http:// or https:// URL");
        return NULL;
    }
    char *copy = strdup(url);
    if (!copy) {
        pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory");
        return NULL;
    }
    for (size_t n = strlen(copy); n > 0 && copy[n - 1] == '/'; n--)
        copy[n - 1] = '\0';
    return copy;
}

int paychan_client_create(const paychan_config *cfg, paychan_client **out, paychan_error *err)
{
    pc_client_clear(err);
    if (!out)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "out is NULL");
    *out = NULL;
    if (!cfg)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "no configuration");
    if (cfg->timeout_ms < 0)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "timeout_ms must not be negative");
    if (cfg->auth != PAYCHAN_AUTH_MAC && cfg->auth != PAYCHAN_AUTH_SIGNATURE)
        return pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "auth must be PAYCHAN_AUTH_MAC or "
                                                        "PAYCHAN_AUTH_SIGNATURE");
    paychan_client *c = calloc(1, sizeof *c);
    if (!c)
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "out of memory");
    c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
    c->auth = cfg->auth;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "cannot create a mutex");
    }
    if (pc_client_pool_init(&c->pool) != 0) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "cannot set up connections");
    }
    pc_address addr;
    int rc = (c->base_url = base_url(cfg->server_url, err)) ? 0 : -1;
    if (rc == 0 && !(c->secp = pc_secp_create()))
        rc = pc_client_fail(err, PAYCHAN_E_NO_MEMORY, 0, "cannot create a secp256k1 context");
    if (rc == 0)
        rc = load_key(cfg, c->key, err);
    if (rc == 0 && pc_secret_to_address(c->secp, c->key, &addr) != 0)
        rc = pc_client_fail(err, PAYCHAN_E_CONFIG, 0, "the key is not a valid secp256k1 key");
    if (rc != 0) {
        paychan_client_destroy(c);
        return -1;
    }
    pc_address_format(&addr, c->address);
    pc_request_mac_key(c->key, c->mac_key);
    *out = c;
    return 0;
}

void paychan_client_destroy(paychan_client *c)
{
    if (!c)
        return;
    pc_wipe(c->key, sizeof c->key);
    pc_wipe(c->mac_key, sizeof c->mac_key);
    pc_curl_pool_free(&c->pool);
    pc_secp_destroy(c->secp);
    for (size_t i = 0; i < c->n_targets; i++) {
        free(c->targets[i]->name);
        free(c->targets[i]);
    }
    free(c->targets);
    free(c->base_url);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const char *paychan_client_address(const paychan_client *c)
{
    return c ? c->address : NULL;
}
