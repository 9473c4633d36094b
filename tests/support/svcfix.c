#include "svcfix.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge.h"
#include "pb.h"
#include "proc.h"

int svc_env_start(natsfix *f, natsConnection **nc, jsCtx **js)
{
    *nc = NULL;
    *js = NULL;
    if (natsfix_start(f, NULL) != 0 || natsConnection_ConnectTo(nc, f->url) != NATS_OK ||
        natsConnection_JetStream(js, *nc, NULL) != NATS_OK)
        return -1;
    return 0;
}

void svc_env_stop(natsfix *f, natsConnection *nc, jsCtx *js)
{
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsfix_stop(f);
}

int svc_env_setup(void **state)
{
    svc_env *e = calloc(1, sizeof(*e));
    if (!e || svc_env_start(&e->fix, &e->nc, &e->js) != 0) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

int svc_env_teardown(void **state)
{
    svc_env *e = *state;
    if (e)
        svc_env_stop(&e->fix, e->nc, e->js);
    free(e);
    return 0;
}

/* Which log each started daemon writes, so a stop that fails can show why
 * (an AddressSanitizer report, the watchdog's line) where CI prints it. */
static struct {
    pid_t pid;
    char path[512];
} started[64];

static void remember_log(pid_t pid, const char *dir, const char *log)
{
    int slot = 0;
    for (int i = 0; i < 64; i++)
        if (started[i].pid == 0 || started[i].pid == pid) {
            slot = i;
            break;
        }
    started[slot].pid = pid;
    snprintf(started[slot].path, sizeof(started[slot].path), "%s/%s", dir, log);
}

/* The last lines of pid's log on stderr. */
static void print_log_tail(pid_t pid)
{
    for (int i = 0; i < 64; i++)
        if (started[i].pid == pid) {
            char *text = proc_slurp(started[i].path);
            size_t len = text ? strlen(text) : 0;
            size_t from = len > 6000 ? len - 6000 : 0;
            fprintf(stderr, "--- the end of %s ---\n%s\n--- end ---\n", started[i].path, text ? text + from : "(none)");
            free(text);
            started[i].pid = 0;
            return;
        }
}

pid_t svc_start(const natsfix *f, const char *name, const char *instance, const char *const extra_env[])
{
    pid_t pid;
    char bin[512], exe[64], url[96], inst[96], log[96];
    const char *env[32];
    int n = 0;
    const char *argv[2];

    snprintf(exe, sizeof(exe), "orch-%s", name);
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", f->url);
    snprintf(inst, sizeof(inst), "ORCH_SERVICE_INSTANCE=%s", instance);
    snprintf(log, sizeof(log), "%s.log", instance);
    env[n++] = url;
    env[n++] = inst;
    /* bounded, with room for a loaded machine: under the sanitizers, with
     * the current server writing every KV update to disk, a stop's last
     * saves can take seconds */
    env[n++] = "ORCH_SHUTDOWN_TIMEOUT_MS=10000";
    for (int i = 0; extra_env && extra_env[i] && n < 31; i++)
        env[n++] = extra_env[i];
    env[n] = NULL;
    argv[0] = proc_bin(exe, bin, sizeof(bin));
    argv[1] = NULL;
    pid = proc_spawn(argv, env, f->dir, log);
    if (pid > 0)
        remember_log(pid, f->dir, log);
    return pid;
}

void svc_stop(pid_t pid)
{
    int st = proc_stop(pid, 12000);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        print_log_tail(pid);
        fail_msg("daemon %d did not exit cleanly: %s %d", (int)pid, WIFEXITED(st) ? "exit" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
}

cJSON *svc_request_json(natsConnection *nc, const char *subject, const char *body, int timeout_ms)
{
    natsMsg *reply = NULL;
    cJSON *j;
    if (natsConnection_RequestString(&reply, nc, subject, body ? body : "", timeout_ms) != NATS_OK)
        return NULL;
    j = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    return j;
}

cJSON *svc_wait_ping(natsConnection *nc, const char *name, const char *instance, int timeout_ms)
{
    char subj[160];
    snprintf(subj, sizeof(subj), "$SRV.PING.orch-%s.%s", name, instance);
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        cJSON *j = svc_request_json(nc, subj, "", 200);
        if (j)
            return j;
        usleep(100 * 1000);
    }
    return NULL;
}

pid_t svc_start_ready(natsConnection *nc, const natsfix *f, const char *name, const char *instance,
                      const char *const extra_env[])
{
    pid_t pid = svc_start(f, name, instance, extra_env);
    cJSON *j;
    assert_true(pid > 0);
    /* up to 30 s: under the sanitizers on a loaded machine, with the current
     * server syncing every write, provisioning the streams can take long */
    j = svc_wait_ping(nc, name, instance, 30000);
    if (!j) {
        proc_stop(pid, 1000);
        print_log_tail(pid);
        fail_msg("orch-%s %s did not answer $SRV.PING (log %s/%s.log)", name, instance, f->dir, instance);
    }
    cJSON_Delete(j);
    return pid;
}

int svc_orchctl(const natsfix *f, const char *const args[], char *out, size_t outlen)
{
    char bin[512], url[96], path[400];
    const char *argv[12] = {proc_bin("orchctl", bin, sizeof(bin))};
    int n = 1, st = 0;
    pid_t pid;
    FILE *o;

    for (int i = 0; args[i] && n < 11; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", f->url);
    snprintf(path, sizeof(path), "%s/orchctl.out", f->dir);
    unlink(path);
    pid = fork();
    if (pid == 0) {
        if (!freopen(path, "w", stdout))
            _exit(126);
        putenv(url);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(proc_wait(pid, 10000, &st), 0);
    out[0] = '\0';
    if ((o = fopen(path, "r"))) {
        size_t k = fread(out, 1, outlen - 1, o);
        out[k] = '\0';
        fclose(o);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int svc_orchctl_at(const natsfix *f, const char *url, const char *const args[], char *out, size_t len)
{
    char bin[512], var[300], path[400];
    const char *argv[16] = {proc_bin("orchctl", bin, sizeof(bin))};
    int n = 1, st = 0;
    pid_t pid;
    FILE *o;

    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(var, sizeof(var), "ORCH_NATS_URL=%s", url);
    snprintf(path, sizeof(path), "%s/orchctl.all", f->dir);
    pid = fork();
    if (pid == 0) {
        if (!freopen(path, "w", stdout) || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        putenv(var);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(proc_wait(pid, 30000, &st), 0);
    out[0] = '\0';
    if ((o = fopen(path, "r"))) {
        size_t k = fread(out, 1, len - 1, o);
        out[k] = '\0';
        fclose(o);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void svc_plan(jsCtx *js, const char *id, int type, int prio, uint64_t est, const char *deps, const char *files)
{
    pb_requirement r;
    char *dv[8], *fv[8], dbuf[256], fbuf[256], subj[128], *save, *tok;
    uint8_t *buf;
    size_t len;
    int nd = 0, nf = 0;

    orchestrator__v1__requirement__init(&r);
    r.id = (char *)id;
    r.title = (char *)id;
    r.type = (Orchestrator__V1__AgentType)type;
    r.priority = (Orchestrator__V1__Priority)prio;
    r.estimated_tokens = est;
    r.complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_M;
    r.status = ORCHESTRATOR__V1__STATUS__STATUS_CLASSIFIED;
    if (deps) {
        snprintf(dbuf, sizeof(dbuf), "%s", deps);
        for (tok = strtok_r(dbuf, ",", &save); tok && nd < 8; tok = strtok_r(NULL, ",", &save))
            dv[nd++] = tok;
    }
    if (files) {
        snprintf(fbuf, sizeof(fbuf), "%s", files);
        for (tok = strtok_r(fbuf, ",", &save); tok && nf < 8; tok = strtok_r(NULL, ",", &save))
            fv[nf++] = tok;
    }
    r.dependencies = dv;
    r.n_dependencies = (size_t)nd;
    r.files = fv;
    r.n_files = (size_t)nf;
    assert_int_equal(pb_pack(&r.base, &buf, &len), ORCH_OK);
    svc_issue_id(js, id);
    snprintf(subj, sizeof(subj), "plan.requirement.%s", id);
    assert_int_equal(js_Publish(NULL, js, subj, buf, (int)len, NULL, NULL), NATS_OK);
    free(buf);
}

void svc_issue_id(jsCtx *js, const char *id)
{
    kvStore *kv = NULL;
    uint64_t rev = 0;
    if (js_KeyValue(&kv, js, "orch_ids") != NATS_OK)
        return; /* no bucket (a test without provisioning): nothing checks */
    kvStore_CreateString(&rev, kv, id, "test");
    kvStore_Destroy(kv);
}

int svc_take(jsCtx *js, const char *consumer, const char *filter, int timeout_ms, svc_work *w)
{
    natsSubscription *sub = NULL;
    jsSubOptions so;
    natsMsgList list = {0};
    int got = 0;

    jsSubOptions_Init(&so);
    so.Stream = "REQUIREMENTS";
    so.Consumer = consumer;
    assert_int_equal(js_PullSubscribe(&sub, js, filter, consumer, NULL, &so, NULL), NATS_OK);
    if (natsSubscription_Fetch(&list, sub, 1, timeout_ms, NULL) == NATS_OK && list.Count == 1) {
        pb_requirement **r = NULL;
        size_t n = 0;
        edge_limits lim;
        char err[ERR_LEN];
        edge_limits_default(&lim);
        assert_int_equal(edge_requirements_from_json(natsMsg_GetData(list.Msgs[0]),
                                                     (size_t)natsMsg_GetDataLength(list.Msgs[0]), &lim, &r, &n, err),
                         EDGE_OK);
        snprintf(w->id, sizeof(w->id), "%s", r[0]->id);
        w->attempt = r[0]->attempt;
        snprintf(w->output, sizeof(w->output), "%s", r[0]->last_failure_output);
        snprintf(w->model_hint, sizeof(w->model_hint), "%s", r[0]->model_hint);
        snprintf(w->subject, sizeof(w->subject), "%s", natsMsg_GetSubject(list.Msgs[0]));
        edge_requirements_free(r, n);
        assert_int_equal(natsMsg_AckSync(list.Msgs[0], NULL, NULL), NATS_OK);
        got = 1;
    }
    natsMsgList_Destroy(&list);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return got;
}
