#include "runner.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outbuf.h"
#include "text.h"

extern char **environ;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child(const run_spec *s, int out)
{
    int nul = open("/dev/null", O_RDONLY);
    setpgid(0, 0);
    if (nul >= 0)
        dup2(nul, 0);
    dup2(out, 1);
    dup2(out, 2);
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    signal(SIGPIPE, SIG_DFL);
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

static void drain(int fd, outbuf *ob, int wait_ms)
{
    char buf[8192];
    struct pollfd p = {fd, POLLIN, 0};
    while (poll(&p, 1, wait_ms) > 0) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        outbuf_add(ob, buf, (size_t)n);
    }
}

int runner_run(const run_spec *s, run_result *r)
{
    int pipefd[2];
    pid_t pid;
    outbuf ob;
    int64_t start = mono_ms(), last_tick = start, kill_at = 0;
    int status = 0, exited = 0, eof = 0;

    memset(r, 0, sizeof(*r));
    r->exit_code = -1;
    outbuf_init(&ob, s->output_limit);
    if (pipe2(pipefd, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
        r->start_failed = 1;
        r->exit_code = 127;
        r->output = xstrdup("cannot start the step: fork or pipe failed");
        outbuf_free(&ob);
        return -1;
    }
    if (pid == 0)
        child(s, pipefd[1]);
    close(pipefd[1]);
    setpgid(pid, pid); /* also here: no race with the child's own call */

    while (!exited) {
        struct pollfd p = {pipefd[0], POLLIN, 0};
        int64_t now;
        if (!eof && poll(&p, 1, 100) > 0) {
            char buf[8192];
            ssize_t n = read(pipefd[0], buf, sizeof(buf));
            if (n > 0)
                outbuf_add(&ob, buf, (size_t)n);
            else if (n == 0)
                eof = 1;
        } else if (eof) {
            usleep(20 * 1000);
        }
        if (waitpid(pid, &status, WNOHANG) == pid)
            exited = 1;
        now = mono_ms();
        if (!exited && !r->timed_out && now - start > s->timeout_ms) {
            r->timed_out = 1;
            kill(-pid, SIGTERM);
            kill_at = now + s->grace_ms;
        }
        if (!exited && kill_at && now >= kill_at) {
            kill(-pid, SIGKILL);
            kill_at = 0;
        }
        if (s->tick && now - last_tick >= s->tick_ms) {
            s->tick(s->tick_arg);
            last_tick = now;
        }
    }
    /* Whatever the step left running in its group goes too. */
    kill(-pid, SIGKILL);
    drain(pipefd[0], &ob, 50);
    close(pipefd[0]);

    r->duration_ms = mono_ms() - start;
    if (WIFEXITED(status)) {
        r->exit_code = WEXITSTATUS(status);
        r->start_failed = r->exit_code == 127 && ob.total < 512 && !r->timed_out;
    } else if (WIFSIGNALED(status)) {
        r->signal = WTERMSIG(status);
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
