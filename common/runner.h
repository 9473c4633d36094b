/* Running a process to its end under a time limit (a verification step,
 * an agent's CLI run, git), and the verifier's HTTP smoke check.
 *
 * The process gets its own process group, a clean environment (only what
 * the caller lists: none of the verifier's own variables, so NATS
 * credentials and Matrix tokens stay out), /dev/null as stdin, and one pipe
 * for stdout and stderr together, so the output interleaves as a terminal
 * would show it. Output is captured bounded (outbuf.h). No shell is
 * involved: argv is executed as given.
 *
 * Every process a step starts ends with the step. Between the runner and
 * the step sits a keeper, a forked child that is a child subreaper
 * (PR_SET_CHILD_SUBREAPER): whatever the step forks, even after setsid or
 * a double fork, stays its descendant, because an orphan is reparented to
 * the keeper instead of init. The keeper enforces the timeout (SIGTERM to
 * every descendant, SIGKILL after the grace period), and when the step's
 * own process has ended it SIGKILLs and reaps every descendant left, found
 * by following parent links in /proc, until it has no child. Then it
 * reports the step's wait status on a second pipe and exits. One keeper per
 * step, so concurrent steps of one verifier never touch each other's
 * processes; if the verifier dies, the keeper gets SIGTERM (PDEATHSIG) and
 * ends the step the same way. The runner reads output until the keeper
 * reports (a second pipe, so no polling for its exit), then at most a
 * further half second, so a leftover writer cannot hold a verdict. */
#ifndef ORCH_RUNNER_H
#define ORCH_RUNNER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *const *argv;      /* argv[0] is looked up in env's PATH */
    const char *dir;              /* working directory */
    const char *const *env;       /* the whole environment, "K=V", NULL-terminated */
    int64_t timeout_ms;
    int64_t grace_ms;
    size_t output_limit;
    void (*tick)(void *arg);      /* called about every tick_ms while it runs (may be NULL) */
    void *tick_arg;
    int64_t tick_ms;
} run_spec;

typedef struct {
    int exit_code;                /* -1 when killed by a signal or not started */
    int signal;
    int timed_out;
    int start_failed;             /* could not fork or exec: exit 127 */
    int64_t duration_ms;
    char *output;                 /* malloc'd, bounded */
} run_result;

/* Runs a step to its end; returns 0 when it exited 0. */
int runner_run(const run_spec *s, run_result *r);

/* runner_run, and on_output(arg, data, n) sees the output as it arrives,
 * in pieces as read (a line may be split), whole even where the captured
 * output is cut; on the calling thread, like tick. on_output may be NULL. */
int runner_run_watch(const run_spec *s, run_result *r, void (*on_output)(void *arg, const char *data, size_t n),
                     void *arg);

/* GET url; passes when the status is want. Output says what happened. */
int runner_http(const char *url, long want, int64_t timeout_ms, run_result *r);

void run_result_free(run_result *r);

#endif
