/* cli.h: the `paychan` command-line tool's shared parts: the context of one
 * run (global options, paychand's configuration, the client), its exit
 * codes, a small option parser for subcommands, calls to paychand and
 * output (--json or text). Each cmd_*.c file holds a group of subcommands
 * and lists them in a pc_cli_command table (main.c dispatches). */
#ifndef PAYCHAN_CLI_CLI_H
#define PAYCHAN_CLI_CLI_H

#include <stddef.h>

#include <jansson.h>

#include "client/client_internal.h"
#include "server/config.h"

/* Exit codes (documented in `paychan --help` and the README). */
enum {
    PC_CLI_OK = 0,          /* done */
    PC_CLI_REFUSED = 1,     /* paychand answered with an error (its code is printed) */
    PC_CLI_USAGE = 2,       /* bad command line */
    PC_CLI_UNREACHABLE = 3, /* paychand (or `call`'s target) did not answer */
    PC_CLI_BAD_ANSWER = 4,  /* an answer that is not paychand's API */
    PC_CLI_LOCAL = 5,       /* local failure: configuration, keystore, file, memory */
    PC_CLI_HTTP_ERROR = 6   /* `call`: the target answered with an HTTP error status */
};

/* One run of the tool. */
typedef struct pc_cli {
    int json;               /* --json: machine-readable output */
    const char *url;        /* --url / PAYCHAN_URL; NULL = from the configuration */
    const char *from;       /* --from ADDRESS: which served account signs; NULL = the first */
    long timeout_ms;        /* --timeout MS; 0 = libpaychan's default */
    char **cfg_argv;        /* paychand's options given, passed to pc_config_load */
    int cfg_argc;
    int cfg_loaded;
    pc_config cfg;
    char base_url[256];
    paychan_client *client; /* made on first use */
} pc_cli;

/* A subcommand: `words` is its name ("channel show"), `usage` its
 * arguments, `help` the text of `paychan WORDS --help`. run gets the
 * arguments after the words and returns an exit code. */
typedef struct pc_cli_command {
    const char *words;
    const char *usage;
    const char *help;
    int (*run)(pc_cli *cli, int argc, char **argv);
} pc_cli_command;

/* The tables of the cmd_*.c files, each ended by an entry with words NULL. */
extern const pc_cli_command pc_cli_chain_commands[];
extern const pc_cli_command pc_cli_admin_commands[];
extern const pc_cli_command pc_cli_keys_commands[];
extern const pc_cli_command pc_cli_call_commands[];

/* ---- options of a subcommand -------------------------------------------------------- */

/* One option: --name VALUE (or --name=VALUE) stored in *value, or a flag
 * (value NULL) counted in *flag. */
typedef struct pc_cli_opt {
    const char *name;
    const char **value;
    int *flag;
} pc_cli_opt;

/* Parses argv: options of opts[] (ended by name NULL) and --json anywhere;
 * the other words go to pos[] (at most max_pos, exactly min_pos at least).
 * Returns the number of positional words, or -1 after printing the error
 * (the caller exits PC_CLI_USAGE). */
int pc_cli_parse(pc_cli *cli, int argc, char **argv, const pc_cli_opt *opts, const char **pos,
                 int min_pos, int max_pos);

/* ---- paychand ------------------------------------------------------------------------ */

/* Loads paychand's configuration (file, environment, options) once and
 * works out the server's URL. Returns PC_CLI_OK or an exit code (printed). */
int pc_cli_config(pc_cli *cli);

/* The client signing as the chosen account (made on first use: unlocks the
 * keystore). Returns PC_CLI_OK or an exit code after printing why. */
int pc_cli_connect(pc_cli *cli);

/* GET target from paychand (kind as for pc_client_get); on success *answer
 * holds the JSON object (caller decrefs). Returns an exit code; on failure
 * prints the error (--json: the protocol's error object on stdout). */
int pc_cli_get(pc_cli *cli, const char *target, pc_client_call_kind kind, json_t **answer);

/* pc_cli_get, then pc_cli_print of the answer: the end of most commands. */
int pc_cli_get_print(pc_cli *cli, const char *target, pc_client_call_kind kind);

/* The exit code of a libpaychan error, after printing it. */
int pc_cli_fail_error(pc_cli *cli, const paychan_error *err);

/* Prints a local failure ("paychan: ...") and returns code. */
int pc_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks that text is an address (for a path) and copies it lowercase into
 * out. Returns PC_CLI_OK or PC_CLI_USAGE after printing `what`. */
int pc_cli_address_arg(const char *text, const char *what, char out[PC_ADDRESS_TEXT_LEN]);

/* Checks a decimal integer argument (NULL passes). PC_CLI_OK or PC_CLI_USAGE. */
int pc_cli_number_arg(const char *text, const char *what);

/* Appends "&name=value" (or "?" first), percent-encoded, to target[cap];
 * value NULL appends nothing. Returns 0, or -1 when it does not fit. */
int pc_cli_query(char *target, size_t cap, const char *name, const char *value);

/* ---- output -------------------------------------------------------------------------- */

/* Prints answer: --json as JSON, else as "key: value" lines (nested keys
 * dotted). Returns PC_CLI_OK. */
int pc_cli_print(const pc_cli *cli, const json_t *answer);

#endif
