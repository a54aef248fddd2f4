/* logger.c: see logger.h. One fprintf per line: stdio locks the stream, so
 * lines from different threads never interleave. */
#include "core/logger.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int current_level = PC_LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void pc_logger_set_level(pc_log_level level)
{
    atomic_store(&current_level, (int)level);
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
    fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, now.tv_nsec / 1000000L, level_names[level],
            message);
}
