#include "webtest.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "proc.h"
#include "text.h"

typedef struct {
    char *buf;
    size_t len;
} sink;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    sink *s = arg;
    s->buf = xrealloc(s->buf, s->len + sz * n + 1);
    memcpy(s->buf + s->len, p, sz * n);
    s->len += sz * n;
    s->buf[s->len] = '\0';
    return sz * n;
}

long webtest_get(const char *base, const char *path, const char *token, char **body)
{
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    sink s = {NULL, 0};
    char url[1024], auth[300];
    long code = -1;
    snprintf(url, sizeof(url), "%s%s", base, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    }
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (body)
        *body = s.buf;
    else
        free(s.buf);
    return code;
}

int webtest_wait_http(const char *base, const char *path, long want, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        if (webtest_get(base, path, NULL, NULL) == want)
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* The browser. puppeteer launches Chromium detached (a process group of
 * its own) and Chromium's crash handlers start sessions of their own, so
 * neither node's death (PDEATHSIG, a timeout) nor killing node's group
 * ends them: they would run on, reparented to init. So the pid handed to
 * the test is a keeper: a child that is the subreaper of everything node
 * starts (PR_SET_CHILD_SUBREAPER: orphans come back to it, whatever group
 * or session they made), runs node, and when node exits, when it is told
 * to stop (SIGTERM), or when the test program is gone (its parent pid
 * changes: a ctest timeout's SIGKILL), kills every process left below it
 * and reaps them all before it exits with node's status. Waiting for the
 * keeper is then waiting for the whole browser. At the program's exit, on
 * every path (passed, or failed by an assertion: atexit), a keeper still
 * running is stopped and waited for. */
static pid_t keeper;
static volatile sig_atomic_t keeper_stop;

static void on_keeper_term(int sig)
{
    (void)sig;
    keeper_stop = 1;
}

/* SIGKILL to every child of this process; returns how many. */
static int kill_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    long self = (long)getpid();
    int n = 0;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], buf[512], *cp;
        FILE *f;
        long ppid = 0;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        buf[0] = '\0';
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
        /* pid (comm) state ppid ...: comm may hold spaces */
        if ((cp = strrchr(buf, ')')) && sscanf(cp + 1, " %*c %ld", &ppid) == 1 && ppid == self) {
            kill((pid_t)atol(e->d_name), SIGKILL);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

static void keep(pid_t parent, const char *const argv[], const char *const env[], const char *dir)
{
    struct sigaction sa;
    pid_t node;
    int status = 0, node_done = 0, ending = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_keeper_term;
    sigaction(SIGTERM, &sa, NULL);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (getppid() != parent || (node = proc_spawn(argv, env, dir, "browser.log")) < 0)
        _exit(127);
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, WNOHANG);
        if (r == node) {
            status = st;
            node_done = 1;
        }
        if (r < 0 && errno == ECHILD)
            break; /* nothing left below */
        if (!ending && (node_done || keeper_stop || getppid() != parent)) {
            ending = 1;
            if (!node_done)
                status = W_EXITCODE(125, 0); /* stopped before node ended */
        }
        if (ending)
            kill_children();
        if (r <= 0)
            usleep(20 * 1000);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* Stops a keeper still running and waits for it (so for the browser). */
static void browser_end(void)
{
    if (keeper <= 0)
        return;
    if (proc_alive(keeper) && proc_stop(keeper, 10000) != 0 && proc_alive(keeper))
        fprintf(stderr, "webtest: the browser's keeper %d did not end\n", (int)keeper);
    waitpid(keeper, NULL, WNOHANG); /* reaped here unless the test did */
    keeper = 0;
}

pid_t webtest_browser(const char *dir, const char *url, const char *token, const char *expect, const char *follow,
                      const char *mark, const char *shot, const char *out)
{
    static char script[512], e[8][1200];
    static int registered;
    const char *src = getenv("ORCH_SOURCE_DIR");
    const char *argv[] = {"node", script, NULL};
    const char *env[9];
    pid_t parent = getpid();
    int n = 0;
    snprintf(script, sizeof(script), "%s/tests/web/browser.js", src ? src : ".");
#define SET(k, v)                                                    \
    if (v) {                                                         \
        snprintf(e[n], sizeof(e[n]), "%s=%s", k, v);                 \
        env[n] = e[n];                                               \
        n++;                                                         \
    }
    SET("ORCH_WEB_URL", url)
    SET("ORCH_WEB_TOKEN", token)
    SET("ORCH_WEB_EXPECT", expect)
    SET("ORCH_WEB_FOLLOW", follow)
    SET("ORCH_WEB_MARK", mark)
    SET("ORCH_WEB_SHOT", shot)
    SET("ORCH_WEB_OUT", out)
#undef SET
    env[n] = NULL;
    browser_end(); /* one browser at a time */
    if (!registered++)
        atexit(browser_end);
    fflush(NULL); /* nothing buffered is written twice */
    if ((keeper = fork()) == 0) {
        /* no descriptor of the test stays open in the keeper: a pipe's
         * write end (popen) would keep its reader from seeing the end */
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        keep(parent, argv, env, dir);
    }
    return keeper;
}

int webtest_wait_file(const char *path, int timeout_ms)
{
    struct stat st;
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (stat(path, &st) == 0)
            return 1;
        usleep(50 * 1000);
    }
    return 0;
}

cJSON *webtest_read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[1 << 16];
    size_t n;
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

int webtest_promtool(const char *text, char *out, size_t outlen)
{
    char path[] = "/tmp/orch-scrape-XXXXXX", cmd[256];
    int fd = mkstemp(path), rc;
    FILE *p;
    size_t n, len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        snprintf(out, outlen, "cannot write %s", path);
        return -1;
    }
    close(fd);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, outlen - 1, p) : 0;
    out[n] = '\0';
    rc = p ? pclose(p) : -1;
    unlink(path);
    return rc;
}

void webtest_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
