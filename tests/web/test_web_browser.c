/* The page in real headless Chromium (tests/web/browser.js, puppeteer-core
 * against Debian's chromium) over 5,000 made-up requirements (web_fake):
 * the page loads, shows the counts, draws a bounded graph and one page of
 * the list, and follows one requirement from READY to COMPLETE without a
 * reload as the test changes it. The live suite's version is test_web_live. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "natsfix.h"
#include "proc.h"
#include "webtest.h"

static void five_thousand_open_requirements(void **state)
{
    char bin[512], cmd[700], url[64], mark[256], shot[256], outp[256], dir[] = "/tmp/orch-web-XXXXXX";
    int port = natsfix_free_port();
    FILE *fake;
    pid_t node;
    cJSON *out;
    int status = -1;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(mark, sizeof(mark), "%s/ready.mark", dir);
    snprintf(shot, sizeof(shot), "%s/page.png", dir);
    snprintf(outp, sizeof(outp), "%s/seen.json", dir);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    proc_bin("web_fake", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd), "exec '%s' 5000 %d > %s/fake.log 2>&1", bin, port, dir);
    fake = popen(cmd, "w");   /* its stdin is our control line; nothing from outside reaches the shell */
    assert_non_null(fake);
    assert_true(webtest_wait_http(url, "/healthz", 200, 10000));

    node = webtest_browser(dir, url, NULL, "{\"total\":5000}", "REQ-0001", mark, shot, outp);
    assert_true(webtest_wait_file(mark, 60000));
    fprintf(fake, "status REQ-0001 DISPATCHED\n");
    fflush(fake);
    usleep(1500 * 1000);
    fprintf(fake, "status REQ-0001 COMPLETE\n");
    fflush(fake);
    assert_int_equal(proc_wait(node, 120000, &status), 0);
    out = webtest_read_json(outp);
    assert_non_null(out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the browser test failed: see %s/browser.log", dir);
    /* what the page showed */
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "counts"), "total")->valueint, 5000);
    assert_int_equal(cJSON_GetObjectItem(out, "listRows")->valueint, 50);
    assert_true(cJSON_GetObjectItem(out, "graphNodes")->valueint <= 200 + 50);
    assert_true(cJSON_GetObjectItem(out, "graphCritical")->valueint > 1);
    {
        /* no scheduler here: the roadmap's ETA is the monitor's, and says so */
        cJSON *re = cJSON_GetObjectItem(out, "roadmapEta");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(re, "source")), "monitor");
        assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(re, "text")), "monitor's estimate"));
    }
    {
        cJSON *seen = cJSON_GetObjectItem(out, "seen");
        int n = cJSON_GetArraySize(seen);
        assert_true(n >= 2);
        assert_string_equal(cJSON_GetArrayItem(seen, 0)->valuestring, "READY");
        assert_string_equal(cJSON_GetArrayItem(seen, n - 1)->valuestring, "COMPLETE");
    }
    printf("5,000 requirements: first data after %d ms, graph after %d ms\n",
           cJSON_GetObjectItem(out, "firstDataMs")->valueint, cJSON_GetObjectItem(out, "graphMs")->valueint);
    cJSON_Delete(out);
    pclose(fake);
    webtest_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(five_thousand_open_requirements)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
