/* Each daemon, as a process, against a real nats-server: it starts, answers
 * $SRV.PING under its name, and stops on SIGTERM with exit 0 within the
 * bound; a bad config or argument stops it at once with exit 2 and one
 * line naming the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include <nats/nats.h>

#include "natsfix.h"
#include "proc.h"
#include "svcfix.h"

#define STOP_BOUND_MS 5000

static natsfix fix;
static natsConnection *nc;
static const char *const daemons[] = {"router", "scheduler", "verifier", "monitor"};

static int group_setup(void **state)
{
    (void)state;
    if (natsfix_start(&fix, NULL) != 0)
        return -1;
    return natsConnection_ConnectTo(&nc, fix.url) == NATS_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    natsConnection_Destroy(nc);
    natsfix_stop(&fix);
    return 0;
}

static pid_t start_daemon(const char *name, const char *instance)
{
    return svc_start(&fix, name, instance, NULL);
}

static cJSON *wait_ping(const char *name, const char *id)
{
    return svc_wait_ping(nc, name, id, 10000);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void each_daemon_answers_and_stops_on_sigterm(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
        char id[32];
        pid_t pid;
        cJSON *j;
        int status = 0;
        long long t0;

        snprintf(id, sizeof(id), "t-%s", daemons[i]);
        pid = start_daemon(daemons[i], id);
        assert_true(pid > 0);
        j = wait_ping(daemons[i], id);
        if (!j) {
            proc_stop(pid, 1000);
            fail_msg("orch-%s did not answer $SRV.PING (log in %s/%s.log)", daemons[i], fix.dir, id);
        }
        assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "io.nats.micro.v1.ping_response");
        assert_non_null(strstr(cJSON_GetObjectItem(j, "name")->valuestring, daemons[i]));
        cJSON_Delete(j);

        t0 = now_ms();
        kill(pid, SIGTERM);
        if (proc_wait(pid, STOP_BOUND_MS, &status) != 0) {
            proc_stop(pid, 100);
            fail_msg("orch-%s did not stop within %d ms of SIGTERM", daemons[i], STOP_BOUND_MS);
        }
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        print_message("orch-%s stopped in %lld ms\n", daemons[i], now_ms() - t0);
    }
}

static void all_four_list_under_bare_ping(void **state)
{
    pid_t pids[4];
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    int seen = 0;
    (void)state;

    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof(id), "all-%s", daemons[i]);
        pids[i] = start_daemon(daemons[i], id);
        cJSON_Delete(wait_ping(daemons[i], id));
    }
    assert_int_equal(natsInbox_Create(&inbox), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, nc, inbox), NATS_OK);
    assert_int_equal(natsConnection_PublishRequestString(nc, "$SRV.PING", inbox, ""), NATS_OK);
    for (;;) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 500) != NATS_OK)
            break;
        if (strstr(natsMsg_GetData(m), "\"all-"))
            seen++;
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    for (int i = 0; i < 4; i++)
        svc_stop(pids[i]);
    assert_int_equal(seen, 4);
}

/* Runs the daemon with args and env, expecting exit 2 and needle in its
 * one-line stderr. */
static void expect_config_error(const char *const extra_argv[], const char *env1, const char *needle)
{
    char bin[512];
    char logpath[512];
    const char *argv[6] = {proc_bin("orch-router", bin, sizeof(bin))};
    const char *env[] = {env1, NULL};
    char text[2048] = "";
    int status = 0, n = 1;
    FILE *f;
    pid_t pid;

    for (int i = 0; extra_argv && extra_argv[i] && n < 5; i++)
        argv[n++] = extra_argv[i];
    argv[n] = NULL;
    snprintf(logpath, sizeof(logpath), "%s/bad.log", fix.dir);
    unlink(logpath);
    pid = proc_spawn(argv, env1 ? env : NULL, fix.dir, "bad.log");
    assert_int_equal(proc_wait(pid, 3000, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    f = fopen(logpath, "r");
    assert_non_null(f);
    n = (int)fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    if (!strstr(text, needle))
        fail_msg("stderr '%s' lacks '%s'", text, needle);
    assert_non_null(strchr(text, '\n'));
    assert_null(strchr(strchr(text, '\n') + 1, '\n'));
}

static void bad_config_exits_2_with_one_clear_line(void **state)
{
    char path[300];
    FILE *f;
    (void)state;

    snprintf(path, sizeof(path), "%s/bad.json", fix.dir);
    f = fopen(path, "w");
    fputs("{\"nats\": {\"reconnect_wait_ms\": 5}}", f);
    fclose(f);
    {
        const char *args[] = {"--config", path, NULL};
        expect_config_error(args, NULL, "key 'nats.reconnect_wait_ms': 5 is outside 10..60000");
    }
    {
        const char *args[] = {"--config", "/nonexistent.json", NULL};
        expect_config_error(args, NULL, "config /nonexistent.json: cannot open");
    }
    {
        const char *args[] = {"--frobnicate", NULL};
        expect_config_error(args, NULL, "unknown argument '--frobnicate'");
    }
    expect_config_error(NULL, "ORCH_SERVICE_INSTANCE=a.b", "key 'service.instance'");
}

static void help_and_version(void **state)
{
    char bin[512];
    int status = 0;
    (void)state;
    for (int i = 0; i < 4; i++) {
        char exe[64];
        snprintf(exe, sizeof(exe), "orch-%s", daemons[i]);
        {
            const char *argv[] = {proc_bin(exe, bin, sizeof(bin)), "--help", NULL};
            pid_t pid = proc_spawn(argv, NULL, NULL, NULL);
            assert_int_equal(proc_wait(pid, 3000, &status), 0);
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        {
            const char *argv[] = {proc_bin(exe, bin, sizeof(bin)), "--version", NULL};
            pid_t pid = proc_spawn(argv, NULL, NULL, NULL);
            assert_int_equal(proc_wait(pid, 3000, &status), 0);
            assert_int_equal(WEXITSTATUS(status), 0);
        }
    }
}

static void daemon_waits_for_a_late_server(void **state)
{
    char url[96], bin[512];
    pid_t pid;
    int port = natsfix_free_port();
    (void)state;

    /* The daemon starts first, pointed at a port nobody listens on yet. */
    snprintf(url, sizeof(url), "ORCH_NATS_URL=nats://127.0.0.1:%d", port);
    {
        const char *argv[] = {proc_bin("orch-monitor", bin, sizeof(bin)), NULL};
        const char *env[] = {url, "ORCH_SERVICE_INSTANCE=late", "ORCH_NATS_RECONNECT_MAX_WAIT_MS=200", NULL};
        pid = proc_spawn(argv, env, fix.dir, "late.log");
    }
    usleep(700 * 1000);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still running */
    assert_int_equal(kill(pid, SIGTERM), 0);
    {
        int st = 0;
        assert_int_equal(proc_wait(pid, STOP_BOUND_MS, &st), 0);
        assert_int_equal(WEXITSTATUS(st), 0);
    }
}

static void daemon_stops_promptly_when_its_server_is_gone(void **state)
{
    natsfix gone = {0};
    natsConnection *c2 = NULL;
    pid_t pid;
    int st = 0;
    long long t0;
    (void)state;

    assert_int_equal(natsfix_start(&gone, NULL), 0);
    assert_int_equal(natsConnection_ConnectTo(&c2, gone.url), NATS_OK);
    pid = svc_start_ready(c2, &gone, "router", "orphan", NULL);
    natsConnection_Destroy(c2);
    natsfix_kill(&gone); /* the server dies first */
    usleep(300 * 1000);
    t0 = now_ms();
    kill(pid, SIGTERM);
    if (proc_wait(pid, 3000, &st) != 0) {
        proc_stop(pid, 100);
        natsfix_stop(&gone);
        fail_msg("orch-router without a server did not stop within 3 s");
    }
    print_message("stopped without a server in %lld ms\n", now_ms() - t0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    natsfix_stop(&gone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_daemon_answers_and_stops_on_sigterm),
        cmocka_unit_test(all_four_list_under_bare_ping),
        cmocka_unit_test(bad_config_exits_2_with_one_clear_line),
        cmocka_unit_test(help_and_version),
        cmocka_unit_test(daemon_waits_for_a_late_server),
        cmocka_unit_test(daemon_stops_promptly_when_its_server_is_gone),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_Close();
    return rc;
}
