#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

static char service_name[32] = "orch";
static char instance_id[64] = "-";
/* Read by every thread that logs, set by the one that reloads the config. */
static atomic_int min_level = LOG_INFO;

void log_init(const char *service, const char *instance, log_level level)
{
    if (service)
        snprintf(service_name, sizeof(service_name), "%s", service);
    if (instance)
        snprintf(instance_id, sizeof(instance_id), "%s", instance);
    atomic_store(&min_level, (int)level);
}

void log_set_level(log_level level) { atomic_store(&min_level, (int)level); }

int log_enabled(log_level level) { return (int)level >= atomic_load(&min_level); }

void log_write(log_level level, const char *fmt, ...)
{
    char msg[2048];
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One event, one line: fold embedded newlines of quoted input. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "%s.%03ldZ %s %s[%s] %s\n", stamp, ts.tv_nsec / 1000000L,
            tags[level], service_name, instance_id, msg);
}
