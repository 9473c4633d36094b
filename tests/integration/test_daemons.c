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
#include "pb.h"
#include "proc.h"
#include "provision.h"
#include "svcfix.h"
#include "topology.h"

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
    return svc_wait_ping(nc, name, id, 30000); /* a loaded machine under the sanitizers: as svc_start_ready */
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

/* orch-agent stopped by its settings (a projects file that is not there)
 * says that, not also that the NATS library's threads did not stop: it
 * never opened them. */
static void an_agent_stopped_by_its_settings_says_only_why(void **state)
{
    char bin[512], logpath[512], *text;
    const char *argv[] = {proc_bin("orch-agent", bin, sizeof(bin)), "--type", "backend", "--instance", "b-1", NULL};
    const char *env[] = {"ORCH_AGENT_PROJECTS_FILE=/nonexistent/projects.json", NULL};
    int status = 0;
    pid_t pid;
    (void)state;
    pid = proc_spawn(argv, env, fix.dir, "agent-bad.log");
    assert_int_equal(proc_wait(pid, 10000, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    snprintf(logpath, sizeof(logpath), "%s/agent-bad.log", fix.dir);
    text = proc_slurp(logpath);
    assert_non_null(text);
    if (!strstr(text, "/nonexistent/projects.json: cannot open") || strstr(text, "did not stop"))
        fail_msg("orch-agent said: %s", text);
    free(text);
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

/* --- the topology watch ------------------------------------------------------------------ */

#define WATCH_WAIT_MS 30000

/* Submits one requirement for a backend agent on intake.requirements (until
 * stored: the stream may be coming back) and returns 1 once the scheduler
 * dispatched it on requirements.backend.<id>. */
static int goes_through(natsConnection *c, jsCtx *js, const char *id, int timeout_ms)
{
    natsSubscription *sub = NULL;
    char body[256];
    jsPubOptions po;
    int stored = 0, seen = 0;
    long long t0 = now_ms();

    snprintf(body, sizeof(body),
             "[{\"id\": \"%s\", \"title\": \"Add a health endpoint\", \"assignedAgent\": \"backend\", "
             "\"estimatedTokens\": 400}]", id);
    assert_int_equal(natsConnection_SubscribeSync(&sub, c, "requirements.backend.>"), NATS_OK);
    natsConnection_Flush(c);
    jsPubOptions_Init(&po);
    po.MsgId = id;
    po.MaxWait = 1000;
    while (!stored && now_ms() - t0 < timeout_ms) {
        stored = js_Publish(NULL, js, "intake.requirements", body, (int)strlen(body), &po, NULL) == NATS_OK;
        if (!stored)
            usleep(200 * 1000);
    }
    while (stored && !seen && now_ms() - t0 < timeout_ms) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 500) != NATS_OK)
            continue;
        seen = strstr(natsMsg_GetSubject(m), id) != NULL;
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    if (!stored)
        print_message("requirement %s was never stored on INTAKE\n", id);
    return seen;
}

/* Waits until the server has every object of the topology again. */
static int topology_complete(jsCtx *js, int timeout_ms, provision_missing *m)
{
    char err[ERR_LEN];
    long long t0 = now_ms();
    do {
        if (provision_find_missing(js, 1000, m, err) == ORCH_OK && m->n == 0)
            return 1;
        usleep(250 * 1000);
    } while (now_ms() - t0 < timeout_ms);
    return 0;
}

/* The stored alerts of rule topology_missing, unpacked; their summaries
 * joined in text. */
static int stored_topology_alerts(jsCtx *js, char *text, size_t len)
{
    natsSubscription *sub = NULL;
    jsSubOptions so;
    int n = 0;
    size_t used = 0;
    jsSubOptions_Init(&so);
    so.Stream = "ALERTS";
    so.Ordered = true;
    text[0] = '\0';
    if (js_SubscribeSync(&sub, js, "alerts.critical.topology_missing", NULL, &so, NULL) != NATS_OK)
        return -1;
    for (;;) {
        natsMsg *m = NULL;
        char err[ERR_LEN];
        pb_alert *a;
        if (natsSubscription_NextMsg(&m, sub, 1000) != NATS_OK)
            break;
        a = (pb_alert *)pb_unpack(&orchestrator__v1__alert__descriptor, (const uint8_t *)natsMsg_GetData(m),
                                  (size_t)natsMsg_GetDataLength(m), PB_MAX_MSG, err);
        assert_non_null(a);
        assert_int_equal(a->severity, ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL);
        assert_string_equal(a->rule, "topology_missing");
        used += (size_t)snprintf(text + used, len - used, "%s\n", a->summary);
        if (used >= len)
            used = len - 1;
        orchestrator__v1__alert__free_unpacked(a, NULL);
        natsMsg_Destroy(m);
        n++;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return n;
}

/* 1 when the daemon's log (<dir>/<instance>.log) has a line with needle. */
static int logged(const natsfix *f, const char *instance, const char *needle)
{
    char path[400], line[1024];
    int found = 0;
    FILE *in;
    snprintf(path, sizeof(path), "%s/%s.log", f->dir, instance);
    if (!(in = fopen(path, "r")))
        return 0;
    while (!found && fgets(line, sizeof(line), in))
        found = strstr(line, needle) != NULL;
    fclose(in);
    return found;
}

/* Someone deletes the scheduler's consumer of PLAN under running services:
 * it is noticed, logged, raised as one alert, created again, and work
 * flows through it again. */
static void a_deleted_consumer_is_noticed_and_recreated(void **state)
{
    natsfix f = {0};
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    pid_t router, sched;
    provision_missing m;
    char alerts[2048];
    int n;
    (void)state;

    assert_int_equal(svc_env_start(&f, &c, &js), 0);
    router = svc_start_ready(c, &f, "router", "dc-router", NULL);
    sched = svc_start_ready(c, &f, "scheduler", "dc-scheduler", NULL);
    assert_true(goes_through(c, js, "DC-1", WATCH_WAIT_MS));

    assert_int_equal(js_DeleteConsumer(js, "PLAN", "scheduler-plan", NULL, NULL), NATS_OK);
    if (!topology_complete(js, WATCH_WAIT_MS, &m))
        fail_msg("%d object(s) still missing %d s after the delete, the first %s", m.n, WATCH_WAIT_MS / 1000,
                 m.n ? m.obj[0].name : "?");
    assert_true(goes_through(c, js, "DC-2", WATCH_WAIT_MS));

    /* Both daemons may have noticed; the loss is stored once. */
    n = stored_topology_alerts(js, alerts, sizeof(alerts));
    print_message("alerts: %s", alerts);
    assert_int_equal(n, 1);
    assert_non_null(strstr(alerts, "consumer PLAN/scheduler-plan"));
    assert_true(logged(&f, "dc-router", "consumer PLAN/scheduler-plan is missing") ||
                logged(&f, "dc-scheduler", "consumer PLAN/scheduler-plan is missing"));
    svc_stop(router);
    svc_stop(sched);
    svc_env_stop(&f, c, js);
}

/* With provisioning off a lost consumer is still noticed, logged and
 * alerted, but left for people to create. */
static void with_provisioning_off_a_loss_is_only_reported(void **state)
{
    natsfix f = {0};
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    const char *env[] = {"ORCH_JETSTREAM_PROVISION=false", NULL};
    provision_report rep;
    provision_missing m;
    char err[ERR_LEN], alerts[2048];
    pid_t router;
    int n = 0;
    long long t0;
    (void)state;

    assert_int_equal(svc_env_start(&f, &c, &js), 0);
    assert_int_equal(provision_all(js, 1, &rep, err), ORCH_OK);
    router = svc_start_ready(c, &f, "router", "off-router", env);
    assert_int_equal(js_DeleteConsumer(js, "PLAN", "scheduler-plan", NULL, NULL), NATS_OK);
    for (t0 = now_ms(); n == 0 && now_ms() - t0 < WATCH_WAIT_MS; usleep(250 * 1000))
        n = stored_topology_alerts(js, alerts, sizeof(alerts));
    assert_int_equal(n, 1);
    assert_non_null(strstr(alerts, "consumer PLAN/scheduler-plan"));
    assert_true(logged(&f, "off-router", "consumer PLAN/scheduler-plan is missing"));
    sleep(6); /* another round: still missing, not alerted again */
    assert_int_equal(provision_find_missing(js, 1000, &m, err), ORCH_OK);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.obj[0].name, "PLAN/scheduler-plan");
    assert_int_equal(stored_topology_alerts(js, alerts, sizeof(alerts)), 1);
    svc_stop(router);
    svc_env_stop(&f, c, js);
}

/* nats-server restarts on the same port with an empty store (a lost
 * volume): every daemon reconnects, the topology is provisioned again and
 * a requirement goes through as before. */
static void a_wiped_server_is_provisioned_again(void **state)
{
    natsfix f = {0};
    natsConnection *c = NULL, *c2 = NULL;
    jsCtx *js = NULL, *js2 = NULL;
    pid_t pids[4];
    provision_missing m;
    char alerts[2048], store[300];
    (void)state;

    assert_int_equal(svc_env_start(&f, &c, &js), 0);
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof(id), "wipe-%s", daemons[i]);
        pids[i] = svc_start_ready(c, &f, daemons[i], id, NULL);
    }
    assert_true(goes_through(c, js, "WIPE-1", WATCH_WAIT_MS));

    natsfix_kill(&f);
    snprintf(store, sizeof(store), "%s/js", f.dir);
    {
        const char *argv[] = {"rm", "-rf", store, NULL};
        int st = 0;
        assert_int_equal(proc_wait(proc_spawn(argv, NULL, NULL, NULL), 10000, &st), 0);
        assert_int_equal(st, 0);
    }
    assert_int_equal(natsfix_restart(&f), 0);
    assert_int_equal(natsConnection_ConnectTo(&c2, f.url), NATS_OK);
    assert_int_equal(natsConnection_JetStream(&js2, c2, NULL), NATS_OK);

    if (!topology_complete(js2, WATCH_WAIT_MS, &m))
        fail_msg("%d object(s) still missing %d s after the wiped restart, the first %s", m.n,
                 WATCH_WAIT_MS / 1000, m.n ? m.obj[0].name : "?");
    assert_true(goes_through(c2, js2, "WIPE-2", WATCH_WAIT_MS));
    assert_true(stored_topology_alerts(js2, alerts, sizeof(alerts)) >= 1);
    print_message("alerts: %s", alerts);
    assert_non_null(strstr(alerts, "JetStream lost"));
    for (int i = 0; i < 4; i++)
        svc_stop(pids[i]);
    jsCtx_Destroy(js2);
    natsConnection_Destroy(c2);
    svc_env_stop(&f, c, js);
}

/* An agent's ack lost on the way (the proxy drops it, as a server killed
 * before reading it would): agent-sim sends it again once its consumer
 * shows it missing, instead of leaving the work unacknowledged for the
 * consumer's 30 min ack wait. */
static void agent_sim_sends_a_lost_ack_again(void **state)
{
    natsfix f = {0};
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    natsfix_proxy *px;
    provision_report rep;
    char err[ERR_LEN], bin[512], url[128];
    const char *body = "{\"id\": \"R-1\", \"title\": \"Release R-1\", \"assignedAgent\": \"release\", "
                       "\"attempt\": 1}";
    jsPubOptions po;
    pid_t agent;
    int merged = 0, pending = -1;
    long long t0;
    (void)state;

    assert_int_equal(svc_env_start(&f, &c, &js), 0);
    assert_int_equal(provision_all(js, 1, &rep, err), ORCH_OK);
    px = natsfix_proxy_start(&f, "$JS.ACK.REQUIREMENTS.release-manager.", 1);
    assert_non_null(px);
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", natsfix_proxy_url(px));
    {
        const char *argv[] = {proc_bin("agent-sim", bin, sizeof(bin)), "--type", "release", "--instance", "rel-1",
                              "--work-ms", "0", NULL};
        const char *env[] = {url, NULL};
        agent = proc_spawn(argv, env, f.dir, "rel-1.log");
    }
    assert_true(agent > 0);
    jsPubOptions_Init(&po);
    po.MsgId = "release-R-1-a1";
    assert_int_equal(js_Publish(NULL, js, "requirements.release.R-1", body, (int)strlen(body), &po, NULL), NATS_OK);

    for (t0 = now_ms(); !merged && now_ms() - t0 < 10000; usleep(100 * 1000))
        merged = logged(&f, "rel-1", "merged R-1");
    assert_true(merged);
    assert_int_equal(natsfix_proxy_dropped(px), 1);
    for (t0 = now_ms(); pending != 0 && now_ms() - t0 < 20000; usleep(250 * 1000)) {
        jsConsumerInfo *ci = NULL;
        if (js_GetConsumerInfo(&ci, js, "REQUIREMENTS", "release-manager", NULL, NULL) == NATS_OK)
            pending = (int)ci->NumAckPending;
        jsConsumerInfo_Destroy(ci);
    }
    proc_stop(agent, 3000);
    natsfix_proxy_stop(px);
    if (pending != 0)
        fail_msg("the lost ack was not sent again: %d message(s) still unacknowledged after 20 s (log %s/rel-1.log)",
                 pending, f.dir);
    svc_env_stop(&f, c, js);
}

/* A pull request outlives the Fetch that sent it (it expires on the server
 * after the client stopped waiting, or stays outstanding when the Fetch was
 * answered from what was queued): work published meanwhile is delivered to
 * an agent already busy, or hung, with something else. The test sends such
 * a request in the hung agent's name, as its client would have, then
 * publishes R-2: the agent gives it back at once, and another agent (the
 * test's own fetch) gets it, instead of it waiting unstarted in the hung
 * agent's hands for the consumer's 30 min ack wait. */
static void a_busy_agent_gives_back_what_it_did_not_ask_for(void **state)
{
    natsfix f = {0};
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    natsSubscription *api = NULL, *pull = NULL;
    provision_report rep;
    char err[ERR_LEN], bin[512], inbox[256] = "", repo[400];
    const char *r1 = "{\"id\": \"R-1\", \"title\": \"Hangs\", \"assignedAgent\": \"backend\", \"attempt\": 1}";
    const char *r2 = "{\"id\": \"R-2\", \"title\": \"Waits\", \"assignedAgent\": \"backend\", \"attempt\": 1}";
    const char *next = "$JS.API.CONSUMER.MSG.NEXT.REQUIREMENTS.roy-backend";
    natsMsgList got = {0};
    jsPubOptions po;
    jsSubOptions so;
    pid_t agent;
    int hung = 0, back = 0;
    long long t0;
    (void)state;

    assert_int_equal(svc_env_start(&f, &c, &js), 0);
    assert_int_equal(provision_all(js, 1, &rep, err), ORCH_OK);
    assert_int_equal(natsConnection_SubscribeSync(&api, c, next), NATS_OK);
    snprintf(repo, sizeof(repo), "%s/repo", f.dir);
    {
        /* a repository to clone, with one commit on main */
        const char *init[] = {"git", "init", "-q", "-b", "main", repo, NULL};
        const char *ci[] = {"git", "-C", repo, "-c", "user.email=t@orchestrator.local", "-c", "user.name=t",
                            "commit", "-q", "--allow-empty", "-m", "start", NULL};
        int st = -1;
        assert_int_equal(proc_wait(proc_spawn(init, NULL, f.dir, "git.log"), 10000, &st), 0);
        assert_int_equal(proc_wait(proc_spawn(ci, NULL, f.dir, "git.log"), 10000, &st), 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    {
        const char *argv[] = {proc_bin("agent-sim", bin, sizeof(bin)), "--type", "backend", "--instance", "b-1",
                              "--repo", repo, "--workdir", f.dir, "--mode", "hang", "--work-ms", "100", NULL};
        char url[300];
        const char *env[] = {url, NULL};
        snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", f.url);
        agent = proc_spawn(argv, env, f.dir, "b-1.log");
    }
    assert_true(agent > 0);
    jsPubOptions_Init(&po);
    po.MsgId = "R-1-a1";
    assert_int_equal(js_Publish(NULL, js, "requirements.backend.R-1", r1, (int)strlen(r1), &po, NULL), NATS_OK);
    for (t0 = now_ms(); !hung && now_ms() - t0 < 15000; usleep(100 * 1000))
        hung = logged(&f, "b-1", "hanging (simulated)");
    assert_true(hung);
    {
        /* the inbox its pull requests name */
        natsMsg *m = NULL;
        while (natsSubscription_NextMsg(&m, api, 200) == NATS_OK) {
            if (natsMsg_GetReply(m))
                snprintf(inbox, sizeof(inbox), "%s", natsMsg_GetReply(m));
            natsMsg_Destroy(m);
        }
    }
    assert_true(inbox[0] != '\0');

    /* the request its client left outstanding, then R-2 */
    assert_int_equal(natsConnection_PublishRequestString(c, next, inbox, "{\"batch\":1,\"expires\":30000000000}"),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(c), NATS_OK);
    po.MsgId = "R-2-a1";
    assert_int_equal(js_Publish(NULL, js, "requirements.backend.R-2", r2, (int)strlen(r2), &po, NULL), NATS_OK);

    /* another backend agent asks: R-2 comes to it */
    jsSubOptions_Init(&so);
    so.Stream = "REQUIREMENTS";
    so.Consumer = "roy-backend";
    assert_int_equal(js_PullSubscribe(&pull, js, "requirements.backend.>", "roy-backend", NULL, &so, NULL), NATS_OK);
    for (t0 = now_ms(); got.Count == 0 && now_ms() - t0 < 15000;)
        if (natsSubscription_Fetch(&got, pull, 1, 1000, NULL) != NATS_OK)
            natsMsgList_Destroy(&got);
    for (t0 = now_ms(); !back && now_ms() - t0 < 5000; usleep(100 * 1000))
        back = logged(&f, "b-1", "gave back 1 message(s) delivered while busy");
    proc_stop(agent, 3000);
    if (got.Count != 1)
        fail_msg("R-2 never reached another agent within 15 s: it waits in the hung agent's hands (log %s/b-1.log)",
                 f.dir);
    assert_string_equal(natsMsg_GetSubject(got.Msgs[0]), "requirements.backend.R-2");
    assert_true(back);
    natsMsg_Ack(got.Msgs[0], NULL);
    natsMsgList_Destroy(&got);
    natsSubscription_Destroy(pull);
    natsSubscription_Destroy(api);
    svc_env_stop(&f, c, js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_daemon_answers_and_stops_on_sigterm),
        cmocka_unit_test(all_four_list_under_bare_ping),
        cmocka_unit_test(bad_config_exits_2_with_one_clear_line),
        cmocka_unit_test(an_agent_stopped_by_its_settings_says_only_why),
        cmocka_unit_test(help_and_version),
        cmocka_unit_test(daemon_waits_for_a_late_server),
        cmocka_unit_test(daemon_stops_promptly_when_its_server_is_gone),
        cmocka_unit_test(a_deleted_consumer_is_noticed_and_recreated),
        cmocka_unit_test(with_provisioning_off_a_loss_is_only_reported),
        cmocka_unit_test(a_wiped_server_is_provisioned_again),
        cmocka_unit_test(agent_sim_sends_a_lost_ack_again),
        cmocka_unit_test(a_busy_agent_gives_back_what_it_did_not_ask_for),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_Close();
    return rc;
}
