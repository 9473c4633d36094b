/* The Host Listener against a real nats-server: an agent that exits at once
 * is replaced with a growing delay (it was restarted about 8 times a second,
 * forever) and raises one agent_crashloop alert; a kill request still gets
 * its replacement at once; kill requests are alerted and bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <nats/nats.h>

#include "natsfix.h"
#include "svcfix.h"

static natsfix fix;
static natsConnection *nc;
static jsCtx *js;

static int setup(void **state)
{
    (void)state;
    return svc_env_start(&fix, &nc, &js);
}

static int teardown(void **state)
{
    (void)state;
    svc_env_stop(&fix, nc, js);
    return 0;
}

/* Lines of the listener's log that contain `what`. */
static int log_count(const char *instance, const char *what)
{
    char path[400], line[1024];
    int n = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s.log", fix.dir, instance);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, what) != NULL;
    fclose(f);
    return n;
}

/* The name of the listener's n-th agent, of type: <type>-<host id>-<nonce>-<n>,
 * the nonce as its log says it at start ("host hl (nonce X)"). Eight names
 * in turn in a static ring. */
static const char *inst(const char *log, const char *type, int n)
{
    static char ring[8][128];
    static int next;
    char path[400], line[1024], nonce[32] = "?";
    char *out = ring[next++ % 8];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s.log", fix.dir, log);
    if ((f = fopen(path, "r"))) {
        while (fgets(line, sizeof(line), f)) {
            const char *at = strstr(line, "host hl (nonce ");
            if (at)
                sscanf(at, "host hl (nonce %31[a-z0-9])", nonce);
        }
        fclose(f);
    }
    snprintf(out, 128, "%s-hl-%s-%d", type, nonce, n);
    return out;
}

/* A subject of family for the n-th agent of type. */
static const char *subj(const char *family, const char *log, const char *type, int n)
{
    static char ring[4][160];
    static int next;
    char *out = ring[next++ % 4];
    snprintf(out, 160, "%s.%s", family, inst(log, type, n));
    return out;
}

/* The log holds "<what> <the n-th agent of type><after>" how many times. */
static int log_count_of(const char *log, const char *what, const char *type, int n, const char *after)
{
    char line[300];
    snprintf(line, sizeof(line), "%s%s%s", what, inst(log, type, n), after);
    return log_count(log, line);
}

static void an_agent_that_exits_at_once_is_restarted_ever_more_slowly(void **state)
{
    natsSubscription *alerts = NULL;
    natsMsg *m = NULL;
    const char *env[] = {"ORCH_LISTENER_COMMAND=false", "ORCH_LISTENER_INITIAL=backend=1",
                         "ORCH_LISTENER_RESTART_BASE_MS=200", "ORCH_LISTENER_RESTART_MAX_MS=1600",
                         "ORCH_LISTENER_CRASH_ALERT_AFTER=3", NULL};
    pid_t p;
    int starts, alerts_seen = 0;
    (void)state;

    assert_int_equal(natsConnection_SubscribeSync(&alerts, nc, "alerts.warning.agent_crashloop"), NATS_OK);
    p = svc_start_ready(nc, &fix, "host-listener", "hl-crash", env);
    sleep(5);
    /* Waits of 200, 400, 800, 1600, 1600 ms: about 6 starts in 5 s; without
     * the backoff it was about 40. */
    starts = log_count("hl-crash", "started backend-");
    assert_true(starts >= 3); /* still replaced, only more slowly */
    assert_true(starts <= 10);
    while (natsSubscription_NextMsg(&m, alerts, 200) == NATS_OK) {
        alerts_seen++;
        natsMsg_Destroy(m);
    }
    assert_int_equal(alerts_seen, 1);
    assert_true(log_count("hl-crash", "quick exits of backend agents in a row") >= 3);
    svc_stop(p);
    natsSubscription_Destroy(alerts);
}

static void a_killed_agent_is_replaced_at_once(void **state)
{
    jsPubAck *pa = NULL;
    const char *env[] = {"ORCH_LISTENER_COMMAND=sleep,300", "ORCH_LISTENER_INITIAL=frontend=1",
                         "ORCH_LISTENER_RESTART_BASE_MS=30000", "ORCH_LISTENER_HOST_ID=hl", NULL};
    pid_t p;
    (void)state;

    p = svc_start_ready(nc, &fix, "host-listener", "hl-kill", env);
    assert_int_equal(log_count_of("hl-kill", "started ", "frontend", 1, " "), 1);
    assert_int_equal(js_Publish(&pa, js, subj("control.kill", "hl-kill", "frontend", 1), "{}", 2, NULL, NULL), NATS_OK);
    jsPubAck_Destroy(pa);
    for (int i = 0; i < 50 && log_count_of("hl-kill", "started ", "frontend", 2, " ") < 1; i++)
        usleep(100 * 1000);
    /* Stopped on request is not a quick exit: no 30 s wait. */
    assert_int_equal(log_count_of("hl-kill", "started ", "frontend", 2, " "), 1);
    assert_int_equal(log_count("hl-kill", "quick exits"), 0);
    svc_stop(p);
}

/* Waits up to 5 s until the log holds `what`. */
static void log_wait(const char *instance, const char *what)
{
    for (int i = 0; i < 50 && log_count(instance, what) < 1; i++)
        usleep(100 * 1000);
    if (log_count(instance, what) < 1)
        fail_msg("%s's log never said '%s'", instance, what);
}

/* The next agent_killed alert (10 s at most) holds want. */
static void expect_kill_alert(natsSubscription *alerts, const char *want)
{
    natsMsg *m = NULL;
    if (natsSubscription_NextMsg(&m, alerts, 10000) != NATS_OK)
        fail_msg("no agent_killed alert (wanted '%s')", want);
    if (!memmem(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), want, strlen(want)))
        fail_msg("the agent_killed alert does not say '%s'", want);
    natsMsg_Destroy(m);
}

/* Anyone may publish control.kill.<instance> (names are guessable): each
 * kill carried out raises agent_killed naming the instance and the reason
 * given, and past listener.kill_max in the window further requests are
 * refused (alerted), so a stream of them cannot keep a type's agents down. */
static void kill_requests_are_alerted_and_bounded(void **state)
{
    natsSubscription *alerts = NULL;
    jsPubAck *pa = NULL;
    const char *env[] = {"ORCH_LISTENER_COMMAND=sleep,300", "ORCH_LISTENER_INITIAL=frontend=1",
                         "ORCH_LISTENER_KILL_MAX=2", "ORCH_LISTENER_HOST_ID=hl", NULL};
    char want[200];
    const char *body = "{\"instance\":\"x\",\"reason\":\"forged\"}";
    pid_t p;
    (void)state;

    assert_int_equal(natsConnection_SubscribeSync(&alerts, nc, "alerts.warning.agent_killed"), NATS_OK);
    p = svc_start_ready(nc, &fix, "host-listener", "hl-kills", env);
    assert_int_equal(js_Publish(&pa, js, subj("control.kill", "hl-kills", "frontend", 1), body, (int)strlen(body), NULL,
                                NULL), NATS_OK);
    jsPubAck_Destroy(pa);
    snprintf(want, sizeof(want), "agent %s stopped on request (reason 'forged')", inst("hl-kills", "frontend", 1));
    expect_kill_alert(alerts, want);
    snprintf(want, sizeof(want), "started %s ", inst("hl-kills", "frontend", 2));
    log_wait("hl-kills", want);
    assert_int_equal(js_Publish(&pa, js, subj("control.kill", "hl-kills", "frontend", 2), body, (int)strlen(body), NULL,
                                NULL), NATS_OK);
    jsPubAck_Destroy(pa);
    snprintf(want, sizeof(want), "agent %s stopped on request", inst("hl-kills", "frontend", 2));
    expect_kill_alert(alerts, want);
    snprintf(want, sizeof(want), "started %s ", inst("hl-kills", "frontend", 3));
    log_wait("hl-kills", want);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(js_Publish(&pa, js, subj("control.kill", "hl-kills", "frontend", 3), body, (int)strlen(body),
                                    NULL, NULL), NATS_OK);
        jsPubAck_Destroy(pa);
    }
    snprintf(want, sizeof(want), "kill request for agent %s refused", inst("hl-kills", "frontend", 3));
    expect_kill_alert(alerts, want);
    for (int i = 0; i < 50 && log_count("hl-kills", want) < 5; i++)
        usleep(100 * 1000);
    assert_int_equal(log_count("hl-kills", want), 5);
    assert_int_equal(log_count_of("hl-kills", "", "frontend", 3, " ended"), 0);
    assert_int_equal(log_count_of("hl-kills", "started ", "frontend", 4, " "), 0);
    svc_stop(p);
    natsSubscription_Destroy(alerts);
}

static void spawn_requests_are_read_and_checked(void **state)
{
    jsPubAck *pa = NULL;
    const char *env[] = {"ORCH_LISTENER_COMMAND=sleep,300", NULL};
    const char *good = "{\"agentType\":\"database\",\"count\":2,\"reason\":\"queue deep\"}";
    const char *bad = "{\"count\":1000}";
    pid_t p;
    (void)state;

    p = svc_start_ready(nc, &fix, "host-listener", "hl-spawn", env);
    assert_int_equal(js_Publish(&pa, js, "control.spawn.database", good, (int)strlen(good), NULL, NULL), NATS_OK);
    jsPubAck_Destroy(pa);
    assert_int_equal(js_Publish(&pa, js, "control.spawn.database", bad, (int)strlen(bad), NULL, NULL), NATS_OK);
    jsPubAck_Destroy(pa);
    for (int i = 0; i < 50 && log_count("hl-spawn", "spawn request on control.spawn.database ignored") < 1; i++)
        usleep(100 * 1000);
    assert_int_equal(log_count("hl-spawn", "started database-"), 2);
    assert_int_equal(log_count("hl-spawn", "spawn request on control.spawn.database ignored"), 1);
    svc_stop(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_agent_that_exits_at_once_is_restarted_ever_more_slowly),
        cmocka_unit_test(a_killed_agent_is_replaced_at_once),
        cmocka_unit_test(spawn_requests_are_read_and_checked),
        cmocka_unit_test(kill_requests_are_alerted_and_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
