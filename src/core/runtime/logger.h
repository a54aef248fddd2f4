/* logger.h: leveled log lines to stderr, one line per event, safe from any
 * thread, as text: "2026-11-29T23:13:26.123Z INFO  redeemed 50 requests on 0x..."
 * or as one JSON object per line (pc_logger_set_json):
 * {"time":"2026-11-29T23:13:26.123Z","level":"info","msg":"redeemed 50 ..."}.
 * Never pass secrets (keys, passwords, MACs, request or token signatures) to it. */
#ifndef PAYCHAN_CORE_LOGGER_H
#define PAYCHAN_CORE_LOGGER_H

typedef enum pc_log_level {
    PC_LOG_ERROR = 0,
    PC_LOG_WARN = 1,
    PC_LOG_INFO = 2,
    PC_LOG_DEBUG = 3
} pc_log_level;

/* Sets the most verbose level that is written (default PC_LOG_INFO). */
void pc_logger_set_level(pc_log_level level);

/* 1: write every line as a JSON object (time, level, msg); 0 (default): text. */
void pc_logger_set_json(int json);

/* Parses "text" (0) or "json" (1) into *json. Returns 0, or -1 for other text. */
int pc_logger_parse_format(const char *text, int *json);

/* Parses "error", "warn", "info" or "debug". Returns 0, or -1 for other text. */
int pc_logger_parse_level(const char *text, pc_log_level *out);

/* 1 if lines of `level` are written (to skip building expensive messages). */
int pc_logger_enabled(pc_log_level level);

/* Writes one line (a trailing newline is added) if `level` is enabled. */
void pc_logf(pc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define PC_LOG_E(...) pc_logf(PC_LOG_ERROR, __VA_ARGS__)
#define PC_LOG_W(...) pc_logf(PC_LOG_WARN, __VA_ARGS__)
#define PC_LOG_I(...) pc_logf(PC_LOG_INFO, __VA_ARGS__)
#define PC_LOG_D(...) pc_logf(PC_LOG_DEBUG, __VA_ARGS__)

#endif
