/* logger.c: see logger.h. One fprintf per line: stdio locks the stream, so
 * lines from different threads never interleave. */
#include "core/runtime/logger.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

static atomic_int current_level = PC_LOG_INFO;
static atomic_int as_json;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void pc_logger_set_level(pc_log_level level)
{
    atomic_store(&current_level, (int)level);
}

void pc_logger_set_json(int json)
{
    atomic_store(&as_json, json != 0);
}

int pc_logger_parse_format(const char *text, int *json)
{
    if (!text || (strcmp(text, "text") != 0 && strcmp(text, "json") != 0))
        return -1;
    *json = text[0] == 'j';
    return 0;
}

int pc_logger_parse_level(const char *text, pc_log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (text && strcmp(text, names[i]) == 0) {
            *out = (pc_log_level)i;
            return 0;
        }
    }
    return -1;
}

int pc_logger_enabled(pc_log_level level)
{
    return (int)level <= atomic_load(&current_level);
}

/* One JSON object per line; jansson escapes the message (one that is not
 * UTF-8 is replaced by a note rather than dropped silently). */
static void write_json(const char *stamp, long millis, pc_log_level level, const char *message)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char when[48];
    snprintf(when, sizeof when, "%s.%03ldZ", stamp, millis);
    json_t *line = json_pack("{s:s, s:s, s:s?}", "time", when, "level", names[level], "msg",
                             message);
    if (!line) /* not UTF-8 */
        line = json_pack("{s:s, s:s, s:s}", "time", when, "level", names[level], "msg",
                         "(message not UTF-8)");
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (text)
        fprintf(stderr, "%s\n", text);
    free(text);
    json_decref(line);
}

void pc_logf(pc_log_level level, const char *fmt, ...)
{
    if (!pc_logger_enabled(level))
        return;
    char message[1024], stamp[32];
    struct timespec now;
    struct tm tm;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    if (atomic_load(&as_json)) {
        write_json(stamp, now.tv_nsec / 1000000L, level, message);
        return;
    }
    fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, now.tv_nsec / 1000000L, level_names[level],
            message);
}
