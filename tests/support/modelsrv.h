/* The scripted model server (tests/support/modelfake.js, run with node)
 * for tests that drive the real Claude Code and Codex CLIs: start it on a
 * free port with a script and a record file, wait for the port it chose,
 * point Codex at it, stop it. Needs $ORCH_SOURCE_DIR (where modelfake.js
 * is) and node on PATH. */
#ifndef MODELSRV_H
#define MODELSRV_H

#include <sys/types.h>

typedef struct {
    pid_t pid; /* 0 when not running */
    int port;  /* the port it listens on, on 127.0.0.1 */
} modelsrv;

/* Starts `node modelfake.js --script script --port-file dir/port --record
 * record` with its output in dir/modelfake.log, and waits up to bound_ms
 * for the port it writes. Returns 0 with m filled; -1 when it did not
 * start or wrote no port in time (it is stopped then, m->pid is 0). The
 * strings are borrowed for the call. */
int modelsrv_start(modelsrv *m, const char *script, const char *record, const char *dir, int bound_ms);

/* Codex's configuration in codex_home (created, mode 0700): the scripted
 * server as its model provider, the key from OPENAI_API_KEY, no retries.
 * Returns 0, or -1 when the directory or file cannot be written. */
int modelsrv_codex_home(const modelsrv *m, const char *codex_home);

/* Stops it (SIGTERM, then SIGKILL after grace_ms) when it runs; m->pid is
 * 0 afterwards. NULL-safe. */
void modelsrv_stop(modelsrv *m, int grace_ms);

#endif
