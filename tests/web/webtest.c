#include "webtest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

pid_t webtest_browser(const char *dir, const char *url, const char *token, const char *expect, const char *follow,
                      const char *mark, const char *shot, const char *out)
{
    static char script[512], e[8][1200];
    const char *src = getenv("ORCH_SOURCE_DIR");
    const char *argv[] = {"node", script, NULL};
    const char *env[9];
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
    return proc_spawn(argv, env, dir, "browser.log");
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
