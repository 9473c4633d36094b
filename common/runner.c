#include "runner.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outbuf.h"
#include "text.h"

extern char **environ;

/* After the keeper exited, output still arriving is read for at most this
 * long: nothing of the step should hold the pipe any more, and a writer
 * that somehow does must not hold the verdict. */
#define DRAIN_MS 500
/* The keeper ends the step itself; the runner kills the keeper only if it
 * has not reported this long after the step's timeout and grace. */
#define KEEPER_SLACK_MS 10000
/* Bound on a parent chain followed through /proc. */
#define MAX_CHAIN 65536

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the keeper: everything below runs in a child of a threaded process
 * until exec, so it uses system calls only (no stdio, no malloc). */

typedef struct {
    int status;               /* the step's wait status */
    int timed_out;
    int started;              /* 0: fork failed */
} keeper_report;

static void step(const run_spec *s, int out)
{
    int nul = open("/dev/null", O_RDONLY);
    sigset_t none;
    setpgid(0, 0);
    if (nul >= 0)
        dup2(nul, 0);
    dup2(out, 1);
    dup2(out, 2);
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (s->dir && chdir(s->dir) != 0) {
        dprintf(2, "cannot enter %s: %s\n", s->dir, strerror(errno));
        _exit(127);
    }
    /* execvp searches the PATH of environ: make it the clean one. */
    environ = (char **)s->env;
    execvp(s->argv[0], (char *const *)s->argv);
    dprintf(2, "cannot run %s: %s\n", s->argv[0], strerror(errno));
    _exit(127);
}

/* The parent of pid from /proc/<pid>/stat ("pid (comm) S ppid ..."; comm
 * may hold ')' and spaces, so the last ')' is the end of it); -1 if gone. */
static long parent_of(long pid)
{
    char path[40], buf[512], *p = path + sizeof(path) - 1, *close_paren = NULL;
    const char *pre = "/proc/", *post = "/stat";
    ssize_t n;
    long ppid = 0;
    int fd;

    *p = '\0';
    for (const char *q = post + strlen(post); q > post;)
        *--p = *--q;
    do
        *--p = (char)('0' + pid % 10);
    while ((pid /= 10) > 0);
    for (const char *q = pre + strlen(pre); q > pre;)
        *--p = *--q;
    if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == ')')
            close_paren = c;
    if (!close_paren || close_paren[1] != ' ' || !close_paren[2] || close_paren[3] != ' ')
        return -1;
    for (p = close_paren + 4; *p >= '0' && *p <= '9'; p++)
        ppid = ppid * 10 + (*p - '0');
    return ppid;
}

static int descends_from(long pid, long ancestor)
{
    for (int hops = 0; hops < MAX_CHAIN && pid > 1; hops++) {
        long pp = parent_of(pid);
        if (pp == ancestor)
            return 1;
        pid = pp;
    }
    return 0;
}

/* Sends sig to every process whose parent chain leads to self: as a
 * subreaper, that is everything the step started, whatever session or
 * group it moved to. */
static void signal_descendants(long self, int sig)
{
    union {
        char bytes[8192];
        long align;
    } buf;
    int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long n;

    if (fd < 0)
        return;
    while ((n = syscall(SYS_getdents64, fd, buf.bytes, sizeof(buf.bytes))) > 0) {
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name */
            unsigned short reclen;
            const char *name = buf.bytes + off + 19;
            long pid = 0;
            memcpy(&reclen, buf.bytes + off + 16, sizeof(reclen));
            off += reclen;
            for (const char *c = name; *c; c++) {
                if (*c < '0' || *c > '9') {
                    pid = 0;
                    break;
                }
                pid = pid * 10 + (*c - '0');
            }
            if (pid > 1 && pid != self && descends_from(pid, self))
                kill((pid_t)pid, sig);
        }
    }
    close(fd);
}

/* The keeper: a subreaper between the runner and the step, so that every
 * process the step starts stays its descendant (an orphan is reparented to
 * it, not to init) and ends with the step. */
static void keeper(const run_spec *s, int out, int report)
{
    keeper_report rep = {0, 0, 0};
    sigset_t waitset;
    long self = (long)getpid();
    pid_t pid, w;
    int64_t start = mono_ms(), kill_at = 0;
    int reaped = 0, stopping = 0, st;

    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* the runner's thread gone (the verifier killed): end the step too */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&waitset);
    sigaddset(&waitset, SIGCHLD);
    sigaddset(&waitset, SIGTERM);
    sigprocmask(SIG_BLOCK, &waitset, NULL);

    if ((pid = fork()) == 0)
        step(s, out);
    close(out);
    if (pid < 0)
        goto report;
    rep.started = 1;
    setpgid(pid, pid); /* also here: no race with the step's own call */
    while (!reaped) {
        const struct timespec tick = {0, 100 * 1000 * 1000};
        int64_t now;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0)
            if (w == pid) {
                rep.status = st;
                reaped = 1;
            }
        if (reaped)
            break;
        now = mono_ms();
        if (!stopping && now - start >= s->timeout_ms) {
            rep.timed_out = 1;
            stopping = 1;
        }
        if (stopping == 1) {
            kill(-pid, SIGTERM);
            signal_descendants(self, SIGTERM);
            kill_at = now + s->grace_ms;
            stopping = 2;
        }
        if (kill_at && now >= kill_at) {
            kill(-pid, SIGKILL);
            signal_descendants(self, SIGKILL);
            kill_at = 0;
        }
        if (sigtimedwait(&waitset, NULL, &tick) == SIGTERM && !stopping)
            stopping = 1;
    }
    /* The step is over: whatever it left running goes with it. Every
     * descendant is a child of ours or below one; once none is left to
     * reap, none is left (and when the step left nothing, /proc is not
     * read at all). */
    for (;;) {
        w = waitpid(-1, &st, WNOHANG);
        if (w > 0)
            continue;
        if (w < 0)
            break; /* ECHILD */
        kill(-pid, SIGKILL);
        signal_descendants(self, SIGKILL);
        if (waitpid(-1, &st, 0) < 0 && errno != EINTR)
            break;
    }
report:
    if (write(report, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
        _exit(1);
    _exit(0);
}

/* --- the runner ---------------------------------------------------------------------- */

/* Who watches the output as it arrives (runner_run_watch). */
typedef struct {
    void (*fn)(void *arg, const char *data, size_t n);
    void *arg;
} watcher;

/* One read of the output pipe into ob, if it has something (or its end);
 * what was read is shown to w first. */
static void read_some(int fd, outbuf *ob, int *eof, const watcher *w)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
        if (w->fn)
            w->fn(w->arg, buf, (size_t)n);
        outbuf_add(ob, buf, (size_t)n);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        *eof = 1;
    }
}

int runner_run(const run_spec *s, run_result *r)
{
    return runner_run_watch(s, r, NULL, NULL);
}

int runner_run_watch(const run_spec *s, run_result *r, void (*on_output)(void *arg, const char *data, size_t n),
                     void *arg)
{
    const watcher w = {on_output, arg};
    int outp[2] = {-1, -1}, repp[2] = {-1, -1};
    pid_t pid = -1;
    outbuf ob;
    keeper_report rep;
    int64_t start = mono_ms(), last_tick = start, until;
    int eof = 0, killed = 0, reported = 0, have_report = 0;

    memset(r, 0, sizeof(*r));
    r->exit_code = -1;
    outbuf_init(&ob, s->output_limit);
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(repp, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
        for (int i = 0; i < 2; i++) {
            if (outp[i] >= 0)
                close(outp[i]);
            if (repp[i] >= 0)
                close(repp[i]);
        }
        r->start_failed = 1;
        r->exit_code = 127;
        r->output = xstrdup("cannot start the step: fork or pipe failed");
        outbuf_free(&ob);
        return -1;
    }
    if (pid == 0) {
        close(outp[0]);
        close(repp[0]);
        keeper(s, outp[1], repp[1]);
    }
    close(outp[1]);
    close(repp[1]);

    /* The keeper enforces the timeout and ends every process; this loop
     * only reads, ticks, and waits for its report (or its end: the report
     * pipe closes when it dies). */
    while (!reported) {
        struct pollfd p[2] = {{eof ? -1 : outp[0], POLLIN, 0}, {repp[0], POLLIN, 0}};
        int64_t now;
        if (poll(p, 2, 100) > 0) {
            if (p[0].revents)
                read_some(outp[0], &ob, &eof, &w);
            if (p[1].revents) {
                have_report = read(repp[0], &rep, sizeof(rep)) == (ssize_t)sizeof(rep);
                reported = 1;
            }
        }
        now = mono_ms();
        if (!killed && now - start > s->timeout_ms + s->grace_ms + KEEPER_SLACK_MS) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        if (s->tick && now - last_tick >= s->tick_ms) {
            s->tick(s->tick_arg);
            last_tick = now;
        }
    }
    waitpid(pid, NULL, 0);
    close(repp[0]);
    for (until = mono_ms() + DRAIN_MS; !eof && mono_ms() < until;) {
        struct pollfd p = {outp[0], POLLIN, 0};
        if (poll(&p, 1, 50) > 0)
            read_some(outp[0], &ob, &eof, &w);
    }
    close(outp[0]);
    if (!have_report) { /* the keeper was killed */
        rep.started = 1;
        rep.timed_out = 1;
        rep.status = SIGKILL; /* as a wait status: killed by SIGKILL */
    }

    r->duration_ms = mono_ms() - start;
    r->timed_out = rep.timed_out;
    if (!rep.started) {
        r->start_failed = 1;
        r->exit_code = 127;
        outbuf_add(&ob, "cannot start the step: fork failed\n", 35);
    } else if (WIFEXITED(rep.status)) {
        r->exit_code = WEXITSTATUS(rep.status);
        r->start_failed = r->exit_code == 127 && ob.total < 512 && !r->timed_out;
    } else if (WIFSIGNALED(rep.status)) {
        r->signal = WTERMSIG(rep.status);
    }
    r->output = outbuf_text(&ob);
    outbuf_free(&ob);
    return r->exit_code == 0 && !r->timed_out ? 0 : -1;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

int runner_http(const char *url, long want, int64_t timeout_ms, run_result *r)
{
    CURL *c = curl_easy_init();
    CURLcode rc;
    long status = 0;
    char buf[600];
    int64_t start = mono_ms();

    memset(r, 0, sizeof(*r));
    r->exit_code = 1;
    if (!c) {
        r->output = xstrdup("cannot start libcurl");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    r->duration_ms = mono_ms() - start;
    if (rc != CURLE_OK) {
        snprintf(buf, sizeof(buf), "GET %s failed: %s", url, curl_easy_strerror(rc));
        r->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    } else {
        snprintf(buf, sizeof(buf), "GET %s -> %ld (expected %ld)", url, status, want);
        if (status == want)
            r->exit_code = 0;
    }
    r->output = xstrdup(buf);
    return r->exit_code == 0 ? 0 : -1;
}

void run_result_free(run_result *r)
{
    free(r->output);
    r->output = NULL;
}
