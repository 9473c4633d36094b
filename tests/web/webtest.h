/* Helpers of the web tests: HTTP against the endpoint (libcurl), the
 * browser script (node, tests/web/browser.js) as a child process, files. */
#ifndef WEBTEST_H
#define WEBTEST_H

#include <sys/types.h>

#include <cjson/cJSON.h>

/* GET base+path; returns the status (-1 when nothing answered) and the body
 * in *body (malloc'd, may be NULL) when body is not NULL. token may be NULL. */
long webtest_get(const char *base, const char *path, const char *token, char **body);

/* Polls GET base+path until it answers want, up to timeout_ms; 1 when it did. */
int webtest_wait_http(const char *base, const char *path, long want, int timeout_ms);

/* Starts tests/web/browser.js with these settings (NULL for none); its
 * output goes to <dir>/browser.log. node leads a process group of its own,
 * with the Chromium it launches; the whole group is killed and waited for
 * when the test program exits (passed or failed) or is killed, and before
 * the next browser starts. */
pid_t webtest_browser(const char *dir, const char *url, const char *token, const char *expect, const char *follow,
                      const char *mark, const char *shot, const char *out);

int webtest_wait_file(const char *path, int timeout_ms);
cJSON *webtest_read_json(const char *path);

/* Runs `promtool check metrics` on text; returns its exit status (0 clean)
 * and its words in out. */
int webtest_promtool(const char *text, char *out, size_t outlen);

/* Removes dir and the files in it (one level). */
void webtest_rmdir(const char *dir);

#endif
