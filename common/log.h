/* Logging: one line per event to stderr, level checked before formatting.
 *
 *   2026-11-24T10:00:00.123Z INFO  router[r1] message
 *
 * Only adapters and main.c log; pure cores return errors instead. Never pass
 * a secret to these functions. Thread-safe (one fprintf per line). */
#ifndef ORCH_LOG_H
#define ORCH_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Level names in order, NULL-terminated ("debug", "info", ...). */
extern const char *const log_level_names[];

/* Sets the service name and instance id shown on every line (copied). */
void log_init(const char *service, const char *instance, log_level level);
void log_set_level(log_level level);
int log_enabled(log_level level);

void log_write(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  do { if (log_enabled(LOG_INFO))  log_write(LOG_INFO,  __VA_ARGS__); } while (0)
#define log_warn(...)  do { if (log_enabled(LOG_WARN))  log_write(LOG_WARN,  __VA_ARGS__); } while (0)
#define log_error(...) do { if (log_enabled(LOG_ERROR)) log_write(LOG_ERROR, __VA_ARGS__); } while (0)

#endif
