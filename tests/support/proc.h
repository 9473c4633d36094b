/* Child processes for tests: start with an argument vector (never a
 * shell), optional extra environment, output to a log file; wait with a
 * timeout; stop with SIGTERM then SIGKILL. Children die with the test
 * (PDEATHSIG). */
#ifndef PROC_H
#define PROC_H

#include <sys/types.h>

/* env: NULL-terminated "K=V" added to the environment (may be NULL).
 * dir/logname: where stdout and stderr go (NULL: /dev/null). */
pid_t proc_spawn(const char *const argv[], const char *const env[], const char *dir, const char *logname);

/* Waits up to timeout_ms. Returns 0 and the wait status when it exited,
 * -1 on timeout. */
int proc_wait(pid_t pid, int timeout_ms, int *status);

/* SIGTERM, wait up to grace_ms, then SIGKILL. Returns the wait status. */
int proc_stop(pid_t pid, int grace_ms);

/* 1 when pid runs: a zombie, which a parent such as a container's pid 1
 * may never reap, counts as gone. */
int proc_alive(long pid);

/* The whole of a file as a NUL-terminated string (free it); NULL when it
 * cannot be opened. */
char *proc_slurp(const char *path);
/* Path of a built binary: $ORCH_BIN_DIR/name. */
const char *proc_bin(const char *name, char *buf, size_t len);

#endif
