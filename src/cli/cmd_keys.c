/* cmd_keys.c: `paychan keys new|import|list`: V3 keystores (scrypt,
 * AES-128-CTR, Keccak MAC, as geth writes them) for paychand's --account
 * KEYSTORE:PASSWORDFILE. Keys never appear on the command line or in the
 * output: they come from the OS's random source or a file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/crypto/keystore.h"
#include "core/crypto/keystore_write.h"

/* DIR/UTC--<time>--<address without 0x>, geth's name; created 0600, never overwritten. */
static int write_keystore(const char *dir, const pc_address *addr, const char *json, char *path,
                          size_t cap)
{
    char a[PC_ADDRESS_TEXT_LEN], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H-%M-%S.000000000Z", &tm);
    pc_address_format(addr, a);
    snprintf(path, cap, "%s/UTC--%s--%s", dir, stamp, a + 2);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return pc_cli_fail(PC_CLI_LOCAL, "cannot create %s: %s", dir, strerror(errno));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return pc_cli_fail(PC_CLI_LOCAL, "cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(json);
    int ok = write(fd, json, len) == (ssize_t)len && fsync(fd) == 0;
    if (close(fd) != 0 || !ok) {
        unlink(path);
        return pc_cli_fail(PC_CLI_LOCAL, "cannot write %s", path);
    }
    return PC_CLI_OK;
}

/* Encrypts key with the password file's password into a new file in dir, prints it. */
static int save_key(pc_cli *cli, const uint8_t key[32], const char *dir, const char *pw_path,
                    int light)
{
    pc_error err;
    size_t pw_len;
    char *pw = pc_keystore_read_secret_file(pw_path, &pw_len, &err), *json = NULL;
    if (!pw)
        return pc_cli_fail(PC_CLI_LOCAL, "--password-file: %s", err.message);
    pc_address addr;
    uint64_t n = light ? PC_KEYSTORE_SCRYPT_N_LIGHT : PC_KEYSTORE_SCRYPT_N_STANDARD;
    int rc = pc_keystore_encrypt_json(key, pw, pw_len, n, &json, &addr, &err) == 0
                 ? PC_CLI_OK
                 : pc_cli_fail(PC_CLI_LOCAL, "%s", err.message);
    pc_keystore_free_secret(pw);
    char path[4096], a[PC_ADDRESS_TEXT_LEN];
    if (rc == PC_CLI_OK)
        rc = write_keystore(dir, &addr, json, path, sizeof path);
    free(json);
    if (rc != PC_CLI_OK)
        return rc;
    pc_address_format_checksum(&addr, a);
    json_t *out = json_pack("{s:s, s:s, s:o}", "address", a, "keystore", path, "account",
                            json_sprintf("%s:%s", path, pw_path));
    rc = pc_cli_print(cli, out);
    json_decref(out);
    return rc;
}

/* Options shared by new and import. */
typedef struct key_opts {
    const char *dir, *pw, *key_file;
    int light;
} key_opts;

static int parse_key_opts(pc_cli *cli, int argc, char **argv, key_opts *o, int import)
{
    const pc_cli_opt opts[] = {{"dir", &o->dir, NULL},
                               {"password-file", &o->pw, NULL},
                               {"light", NULL, &o->light},
                               {0}};
    const char *pos[1] = {NULL};
    if (pc_cli_parse(cli, argc, argv, opts, pos, import, import) < 0)
        return PC_CLI_USAGE;
    o->key_file = pos[0];
    if (!o->dir || !o->pw)
        return pc_cli_fail(PC_CLI_USAGE, "--dir and --password-file are required");
    return PC_CLI_OK;
}

static int run_keys_new(pc_cli *cli, int argc, char **argv)
{
    key_opts o = {0};
    int rc = parse_key_opts(cli, argc, argv, &o, 0);
    if (rc != PC_CLI_OK)
        return rc;
    uint8_t key[32];
    pc_error err;
    if (pc_keystore_new_key(key, &err) != 0)
        return pc_cli_fail(PC_CLI_LOCAL, "%s", err.message);
    rc = save_key(cli, key, o.dir, o.pw, o.light);
    pc_wipe(key, sizeof key);
    return rc;
}

static int run_keys_import(pc_cli *cli, int argc, char **argv)
{
    key_opts o = {0};
    int rc = parse_key_opts(cli, argc, argv, &o, 1);
    if (rc != PC_CLI_OK)
        return rc;
    pc_error err;
    size_t len;
    char *text = pc_keystore_read_secret_file(o.key_file, &len, &err);
    if (!text)
        return pc_cli_fail(PC_CLI_LOCAL, "KEYFILE: %s", err.message);
    uint8_t key[32];
    const char *digits = strncmp(text, "0x", 2) == 0 ? text + 2 : text;
    if (strlen(digits) != 64 || pc_hex_decode(digits, key, sizeof key) != 0)
        rc = pc_cli_fail(PC_CLI_USAGE, "KEYFILE: expected a private key of 64 hex digits "
                                       "(0x optional)");
    pc_keystore_free_secret(text);
    if (rc == PC_CLI_OK)
        rc = save_key(cli, key, o.dir, o.pw, o.light);
    pc_wipe(key, sizeof key);
    return rc;
}

/* {"address": ..., "keystore": path} of a file that looks like a V3 keystore, else NULL. */
static json_t *keystore_entry(const char *path)
{
    json_t *doc = json_load_file(path, 0, NULL);
    const char *a = json_string_value(json_object_get(doc, "address"));
    pc_address addr;
    char text[PC_ADDRESS_TEXT_LEN + 2], out[PC_ADDRESS_TEXT_LEN];
    json_t *entry = NULL;
    snprintf(text, sizeof text, "%s%s", a && strncmp(a, "0x", 2) != 0 ? "0x" : "", a ? a : "");
    if (a && json_integer_value(json_object_get(doc, "version")) == 3 &&
        pc_address_parse(text, &addr) == 0) {
        pc_address_format_checksum(&addr, out);
        entry = json_pack("{s:s, s:s}", "address", out, "keystore", path);
    }
    json_decref(doc);
    return entry;
}

/* The keystores of dir, or (dir NULL) those of the configuration's accounts. */
static int list_keystores(pc_cli *cli, const char *dir, json_t *list)
{
    if (!dir) {
        int rc = pc_cli_config(cli);
        for (size_t i = 0; rc == PC_CLI_OK && i < cli->cfg.n_accounts; i++) {
            const char *p = cli->cfg.accounts[i].keystore_path;
            json_t *e = p ? keystore_entry(p) : NULL;
            if (p && !e)
                return pc_cli_fail(PC_CLI_LOCAL, "%s: not a V3 keystore with an address", p);
            if (e)
                json_array_append_new(list, e);
        }
        return rc;
    }
    DIR *d = opendir(dir);
    if (!d)
        return pc_cli_fail(PC_CLI_LOCAL, "cannot read %s: %s", dir, strerror(errno));
    char path[4096];
    for (struct dirent *e; (e = readdir(d));) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_t *entry = e->d_name[0] != '.' ? keystore_entry(path) : NULL;
        if (entry)
            json_array_append_new(list, entry);
    }
    closedir(d);
    return PC_CLI_OK;
}

static int run_keys_list(pc_cli *cli, int argc, char **argv)
{
    const char *pos[1] = {NULL};
    if (pc_cli_parse(cli, argc, argv, NULL, pos, 0, 1) < 0)
        return PC_CLI_USAGE;
    json_t *list = json_array();
    int rc = list_keystores(cli, pos[0], list);
    if (rc == PC_CLI_OK && cli->json) {
        json_t *out = json_pack("{s:O}", "keys", list);
        rc = pc_cli_print(cli, out);
        json_decref(out);
    } else if (rc == PC_CLI_OK) {
        for (size_t i = 0; i < json_array_size(list); i++)
            printf("%s  %s\n", json_string_value(json_object_get(json_array_get(list, i), "address")),
                   json_string_value(json_object_get(json_array_get(list, i), "keystore")));
    }
    json_decref(list);
    return rc;
}

const pc_cli_command pc_cli_keys_commands[] = {
    {"keys new", "--dir DIR --password-file FILE [--light]",
     "Makes a new random key and writes it to DIR as a V3 keystore (geth's format\n"
     "and file name; scrypt n=262144, or n=4096 with --light), encrypted with the\n"
     "password in FILE (whole content minus one trailing newline). Prints the\n"
     "address, the file and the --account value for paychand.\n", run_keys_new},
    {"keys import", "KEYFILE --dir DIR --password-file FILE [--light]",
     "Like keys new, for the private key in KEYFILE (64 hex digits, 0x optional;\n"
     "never on the command line, where other users could see it).\n", run_keys_import},
    {"keys list", "[DIR]",
     "Lists the V3 keystores in DIR (address and file), or without DIR those of the\n"
     "configured accounts (--account, config file, PAYCHAN_ACCOUNT). Nothing is\n"
     "decrypted.\n", run_keys_list},
    {0},
};
