/* orch-host-listener: the reference Host Listener, one per agent host. It
 * takes spawn and kill requests from the CONTROL stream through its own
 * durable consumer (host-listener-<host id>: every host sees every request)
 * and starts and stops agent processes from a command template: an argument
 * vector, never a shell, with {type} and {instance} filled in.
 *
 * The pool (docs/deployment.md, "A pool of agent hosts"): the host has an
 * id (listener.host_id, default the host name made a subject token) and a
 * capacity: listener.slots agents in all, listener.max_per_type of one type
 * (listener.type_caps for some types). Every listener.advert_ms it
 * advertises on hosts.<host id> (common/hostad.h): capacity, agents by
 * type, instance names and a nonce new at each start. It acts only on
 * control.spawn.<its id>.<type> (control.spawn.<type>, the one-machine
 * form, too) and on kills of its own instances; the rest is acked quietly.
 * Instance names are <type>-<host id>-<nonce>-<n>: unique across the pool
 * and across restarts. An agent that ends is
 * replaced; one that keeps exiting at once is replaced with a growing delay
 * and raises an alert (restart.c). A kill request is carried out only
 * within its type's bound (listener.kill_max in listener.kill_window_ms,
 * restart.h), and every one, carried out or refused, is logged and raises
 * agent_killed naming the instance and the reason given. Wiring and the
 * child bookkeeping are both here: it is a small tool. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>


#include "daemon.h"
#include "hostad.h"
#include "edge.h"
#include "log.h"
#include "names.h"
#include "nc.h"
#include "restart.h"
#include "text.h"
#include "topology.h"

typedef struct {
    cfg_list command;       /* argv template */
    long long max_per_type;
    cfg_list initial;       /* "backend=1,frontend=1" */
    char *log_dir;          /* children's output; NULL: inherit */
    long long min_uptime_ms, restart_base_ms, restart_max_ms, crash_alert_after;
    long long kill_max, kill_window_ms;
    char *host_id;          /* NULL: the host name, made a token */
    long long slots, memory_mb, advert_ms;
    cfg_list type_caps;     /* "backend=2,review=1" */
} listener_settings;

static listener_settings L;

#define F(x) offsetof(listener_settings, x)
static const cfg_entry entries[] = {
    {"listener.command", CFG_LIST, "agent-sim,--type,{type},--instance,{instance}", 0, 1024, F(command), NULL, 0,
     "the agent command as an argument vector; {type} and {instance} are filled in"},
    {"listener.max_per_type", CFG_INT, "5", 1, 1000, F(max_per_type), NULL, 0, "agents running per type at most"},
    {"listener.initial", CFG_LIST, NULL, 0, 64, F(initial), NULL, 0,
     "agents started at once, as type=count items (backend=1,frontend=1)"},
    {"listener.log_dir", CFG_STR, NULL, 0, 512, F(log_dir), NULL, 0, "where each agent's output goes (<instance>.log)"},
    {"listener.min_uptime_ms", CFG_INT, "10000", 0, 86400000, F(min_uptime_ms), NULL, 0,
     "an agent that ends sooner exited at once: its replacement waits"},
    {"listener.restart_base_ms", CFG_INT, "1000", 0, 3600000, F(restart_base_ms), NULL, 0,
     "the wait after the first quick exit; it doubles with each in a row"},
    {"listener.restart_max_ms", CFG_INT, "300000", 0, 86400000, F(restart_max_ms), NULL, 0,
     "the longest wait before a replacement"},
    {"listener.crash_alert_after", CFG_INT, "5", 1, 1000, F(crash_alert_after), NULL, 0,
     "quick exits in a row of one type before an agent_crashloop alert"},
    {"listener.kill_max", CFG_INT, "3", 0, KILL_GATE_MAX, F(kill_max), NULL, 0,
     "kill requests carried out per agent type within listener.kill_window_ms; more are refused (alerted)"},
    {"listener.kill_window_ms", CFG_INT, "600000", 1000, 86400000, F(kill_window_ms), NULL, 0,
     "the window of listener.kill_max"},
    {"listener.host_id", CFG_STR, NULL, 0, HOSTAD_ID_MAX, F(host_id), NULL, 0,
     "this agent host's id in the pool, a subject token (default: the host name, other characters as '-')"},
    /* 30: five of each of the six types, what one listener could run before it had slots */
    {"listener.slots", CFG_INT, "30", 1, HOSTAD_SLOTS_MAX, F(slots), NULL, 0, "agents this host runs at most, all types"},
    {"listener.type_caps", CFG_LIST, NULL, 0, 16, F(type_caps), NULL, 0,
     "bounds for some types below listener.max_per_type, as type=count items (review=1)"},
    {"listener.memory_mb", CFG_INT, "0", 0, 100000000, F(memory_mb), NULL, 0,
     "memory for agents, advertised for people (0: not said)"},
    {"listener.advert_ms", CFG_INT, "2000", 200, 60000, F(advert_ms), NULL, 0,
     "how often the host advertises itself on hosts.<host id>; keep it well under scheduler.host_lost_ms"},
};

#define MAX_CHILDREN 256

static struct {
    pid_t pid[MAX_CHILDREN];
    char instance[MAX_CHILDREN][64];
    int type[MAX_CHILDREN];
    int64_t started_ms[MAX_CHILDREN];
    int stopped[MAX_CHILDREN];      /* ended because we asked: not its fault */
    int n;
    restart_state restart[NAMES_AGENT_TYPES];
    restart_cfg rcfg;
    kill_gate kills[NAMES_AGENT_TYPES];
    daemon_ctx *d;
    unsigned serial;
    natsSubscription *sub;
    long long spawned, killed, kills_refused;
    char host[HOSTAD_ID_MAX + 1];
    char nonce[HOSTAD_NONCE_MAX + 1];
    char durable[64];
    int cap[NAMES_AGENT_TYPES];
    int64_t advert_at;
} H;

static int spawn(int type);

static int running_of(int type)
{
    int k = 0;
    for (int i = 0; i < H.n; i++)
        k += H.type[i] == type;
    return k;
}

static char *fill(const char *tmpl, const char *type, const char *instance)
{
    char out[1024];
    size_t o = 0;
    for (const char *p = tmpl; *p && o < sizeof(out) - 1;) {
        if (!strncmp(p, "{type}", 6)) {
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", type);
            p += 6;
        } else if (!strncmp(p, "{instance}", 10)) {
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", instance);
            p += 10;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < sizeof(out) ? o : sizeof(out) - 1] = '\0';
    return xstrdup(out);
}

static int spawn(int type)
{
    char instance[64], **argv;
    const char *tname = names_agent_type((Orchestrator__V1__AgentType)type);
    pid_t pid;

    if (H.n == MAX_CHILDREN || H.n >= L.slots || H.n >= HOSTAD_INSTANCES_MAX || running_of(type) >= H.cap[type])
        return -1;
    snprintf(instance, sizeof(instance), "%s-%s-%s-%u", tname, H.host, H.nonce, ++H.serial);
    argv = xcalloc((size_t)L.command.n + 1, sizeof(char *));
    for (int i = 0; i < L.command.n; i++)
        argv[i] = fill(L.command.v[i], tname, instance);
    pid = fork();
    if (pid == 0) {
        /* An agent ends with its listener: a listener started again has a
         * new nonce, the scheduler declares the former instances gone and
         * sends their work elsewhere, so one left running would do it twice. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (L.log_dir) {
            char path[700];
            FILE *f;
            snprintf(path, sizeof(path), "%s/%s.log", L.log_dir, instance);
            if ((f = freopen(path, "a", stdout)))
                dup2(fileno(f), 2);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot start %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < L.command.n; i++)
        free(argv[i]);
    free(argv);
    if (pid < 0)
        return -1;
    H.pid[H.n] = pid;
    H.type[H.n] = type;
    H.started_ms[H.n] = text_mono_ms();
    H.stopped[H.n] = 0;
    snprintf(H.instance[H.n], sizeof(H.instance[0]), "%s", instance);
    H.n++;
    H.spawned++;
    log_info("started %s (pid %d)", instance, (int)pid);
    return 0;
}

static void stop_child(int i, int sig)
{
    H.stopped[i] = 1;
    kill(H.pid[i], sig);
}

static int shutting_down;

/* An agent of this type ended: its replacement is owed, at once or after
 * the delay restart.c gives; a streak of quick exits raises one alert. */
static void owe_replacement(int type, int64_t ran_ms, const char *instance)
{
    int alert = 0;
    int64_t now = text_mono_ms();
    int64_t delay = restart_on_exit(&H.restart[type], &H.rcfg, ran_ms, now, &alert);
    const char *tname = names_agent_type((Orchestrator__V1__AgentType)type);

    if (delay > 0)
        log_warn("%s ran %lld ms: %d quick exits of %s agents in a row, the next starts in %lld ms", instance,
                 (long long)ran_ms, H.restart[type].quick_exits, tname, (long long)delay);
    if (alert && H.d) {
        char fp[96], summary[256];
        snprintf(fp, sizeof(fp), "agent_crashloop-%s", tname);
        snprintf(summary, sizeof(summary), "%s agents exit at once: %d quick exits in a row (last %s, after %lld ms)",
                 tname, H.restart[type].quick_exits, instance, (long long)ran_ms);
        nc_publish_alert(H.d->js, "warning", names_alert_kind_token(NAMES_ALERT_AGENT_CRASHLOOP), fp, summary,
                         "Each replacement now waits longer (listener.restart_max_ms at most); see the agent's log.",
                         "host-listener", H.d->cfg.instance, 2000);
    }
}

/* Starts the replacements that are due. */
static void replace_due(void)
{
    int64_t now = text_mono_ms();
    for (int t = 1; t < NAMES_AGENT_TYPES; t++) {
        for (int k = restart_due(&H.restart[t], now); k > 0; k--) {
            restart_started(&H.restart[t]);
            spawn(t);
        }
    }
}

/* Collects ended agents; while running, each is replaced, so a crash or a
 * kill never leaves a type without its agents. */
static void reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < H.n; i++) {
            int type;
            int64_t ran;
            char instance[64];
            if (H.pid[i] != pid)
                continue;
            type = H.type[i];
            /* Stopped on request (a stuck agent): not a quick exit. */
            ran = H.stopped[i] ? H.rcfg.min_uptime_ms : text_mono_ms() - H.started_ms[i];
            memcpy(instance, H.instance[i], sizeof(instance));
            log_info("%s ended (%s %d)", H.instance[i], WIFEXITED(status) ? "exit" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            H.n--;
            H.pid[i] = H.pid[H.n];
            H.type[i] = H.type[H.n];
            H.started_ms[i] = H.started_ms[H.n];
            H.stopped[i] = H.stopped[H.n];
            memcpy(H.instance[i], H.instance[H.n], sizeof(H.instance[0]));
            if (!shutting_down)
                owe_replacement(type, ran, instance);
            break;
        }
    }
    if (!shutting_down)
        replace_due();
}

/* What a kill request says of itself (reason, requirementId), printable and
 * short, into out: it is shown in the log and the alert. */
static void kill_says(natsMsg *m, char *out, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "requirementId");
    char raw[300];
    char *safe;
    snprintf(raw, sizeof(raw), "reason '%.160s'%s%.64s", cJSON_IsString(reason) ? reason->valuestring : "(none)",
             cJSON_IsString(req) ? ", requirement " : "", cJSON_IsString(req) ? req->valuestring : "");
    cJSON_Delete(j);
    safe = text_printable(raw);
    snprintf(out, len, "%s", safe);
    free(safe);
}

/* control.kill.<instance>: carried out within its type's bound, refused
 * past it; logged and alerted either way (agent_killed). */
static void kill_request(natsMsg *m, const char *who_raw)
{
    char says[400], summary[700], fp[200];
    char *who = text_printable(who_raw);
    int i, type, ok;
    for (i = 0; i < H.n && strcmp(H.instance[i], who_raw) != 0; i++)
        ;
    if (i == H.n) {
        log_info("kill request for %s ignored: no such agent here", who);
        free(who);
        return;
    }
    type = H.type[i];
    kill_says(m, says, sizeof(says));
    ok = kill_gate_admit(&H.kills[type], (int)L.kill_max, L.kill_window_ms, text_mono_ms());
    if (ok) {
        snprintf(summary, sizeof(summary), "agent %s stopped on request (%s)", who, says);
        snprintf(fp, sizeof(fp), "agent_killed-%.64s-%lld", who, (long long)text_now_ms());
    } else {
        H.kills_refused++;
        snprintf(summary, sizeof(summary),
                 "kill request for agent %s refused (%s): %lld %s agents were stopped on request within %lld s "
                 "(listener.kill_max); %lld refused so far",
                 who, says, L.kill_max, names_agent_type((Orchestrator__V1__AgentType)type), L.kill_window_ms / 1000,
                 H.kills_refused);
        /* one stored alert a minute per type: a stream of requests is one story */
        snprintf(fp, sizeof(fp), "agent_killed-refused-%d-%lld", type, (long long)(text_now_ms() / 60000));
    }
    nc_publish_alert(H.d->js, "warning", names_alert_kind_token(NAMES_ALERT_AGENT_KILLED), fp, summary,
                     "control.kill.<instance> stops an agent; who may publish it is limited by deploy/nats.conf "
                     "(docs/reliability.md, \"Kill requests\").",
                     "host-listener", H.d->cfg.instance, 2000);
    free(who);
    if (!ok)
        return;
    stop_child(i, SIGTERM);
    H.killed++;
    /* it gets the grace of the next step, then SIGKILL */
    usleep(500 * 1000);
    reap();
    for (int k = 0; k < H.n; k++)
        if (!strcmp(H.instance[k], who_raw))
            stop_child(k, SIGKILL);
    /* reap() starts its replacement */
}

/* A spawn request: control.spawn.<host>.<type> acted on by the named host
 * only, control.spawn.<type> (one machine) by any. */
static void spawn_request(natsMsg *m, const char *rest)
{
    const char *dot = strchr(rest, '.'), *type_tok = dot ? dot + 1 : rest;
    char subject[96], err[ERR_LEN];
    pb_spawn *sp = NULL;
    int started = 0;

    if (dot && ((size_t)(dot - rest) != strlen(H.host) || strncmp(rest, H.host, (size_t)(dot - rest)))) {
        log_debug("spawn request on %s: another host's", natsMsg_GetSubject(m));
        return;
    }
    /* the type as the one-machine subject names it, for the body's check */
    snprintf(subject, sizeof(subject), "%s.%.40s", NAMES_SUBJ_SPAWN, type_tok);
    if (strchr(type_tok, '.') ||
        edge_spawn_from_json(subject, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &sp, err) != EDGE_OK) {
        char *safe = text_printable(natsMsg_GetSubject(m));
        log_warn("spawn request on %s ignored: %s", safe, strchr(type_tok, '.') ? "not <host>.<type>" : err);
        free(safe);
        return;
    }
    for (uint32_t i = 0; i < sp->count; i++)
        started += spawn((int)sp->agent_type) == 0;
    log_info("spawn request for %u %s agents: started %d (slots %d of %lld used, %s cap %d)", sp->count,
             names_agent_type(sp->agent_type), started, H.n, L.slots, names_agent_type(sp->agent_type),
             H.cap[sp->agent_type]);
    orchestrator__v1__spawn_request__free_unpacked(sp, NULL);
}

/* control.spawn.* or control.kill.<instance>. Acked whatever it says: a
 * kill request for an instance of another host, or one that died
 * meanwhile, is a no-op here. */
static nc_settlement handle(natsMsg *m, void *arg)
{
    const char *subj = natsMsg_GetSubject(m), *rest, *who;
    (void)arg;
    if ((rest = names_subject_rest(subj, NAMES_FAM_SPAWN)))
        spawn_request(m, rest);
    else if ((who = names_subject_rest(subj, NAMES_FAM_KILL)))
        kill_request(m, who);
    return nc_ack();
}

/* hosts.<host id>: what this host holds and runs (hostad.h). */
static void advertise(void)
{
    hostad *a = xcalloc(1, sizeof(*a));
    char subject[96], *json;
    snprintf(a->host, sizeof(a->host), "%s", H.host);
    snprintf(a->nonce, sizeof(a->nonce), "%s", H.nonce);
    a->slots = (int)L.slots;
    a->memory_mb = L.memory_mb;
    for (int t = 1; t < NAMES_AGENT_TYPES; t++)
        a->cap[t] = H.cap[t] < L.slots ? H.cap[t] : 0;
    for (int i = 0; i < H.n && a->n_instances < HOSTAD_INSTANCES_MAX; i++) {
        a->running[H.type[i]]++;
        snprintf(a->instances[a->n_instances++], HOSTAD_INSTANCE_LEN, "%s", H.instance[i]);
    }
    json = hostad_to_json(a);
    snprintf(subject, sizeof(subject), "%s.%s", NAMES_SUBJ_HOSTS, H.host);
    if (json && natsConnection_PublishString(H.d->nc, subject, json) != NATS_OK)
        log_warn("advert on %s not sent: %s", subject, nats_GetLastError(NULL));
    free(json);
    free(a);
    H.advert_at = text_mono_ms();
}

/* The host's own consumer on CONTROL: every request, from the first one
 * after it was made (an old spawn is not carried out again by a new host). */
static orch_status subscribe_own(daemon_ctx *d, char err[ERR_LEN])
{
    const topo_consumer *c = topo_consumer_find("CONTROL", TOPO_DUR_HOST_LISTENER);
    jsSubOptions so;
    jsErrCode jerr = 0;
    snprintf(H.durable, sizeof(H.durable), "%s-%s", TOPO_DUR_HOST_LISTENER, H.host);
    jsSubOptions_Init(&so);
    so.Stream = "CONTROL";
    so.Config.Durable = H.durable;
    so.Config.DeliverPolicy = js_DeliverNew;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = (c ? c->ack_wait_ms : 30000) * 1000000LL;
    so.Config.MaxDeliver = c ? c->max_deliver : 10;
    so.Config.MaxAckPending = c ? c->max_ack_pending : 100;
    so.Config.FilterSubject = c ? c->filter : "control.>";
    if (js_PullSubscribe(&H.sub, d->js, so.Config.FilterSubject, H.durable, NULL, &so, &jerr) != NATS_OK) {
        snprintf(err, ERR_LEN, "pull subscribe CONTROL/%s: %s (%d)", H.durable, nats_GetLastError(NULL), (int)jerr);
        return ORCH_ERR_NATS;
    }
    return ORCH_OK;
}

/* type=count items (listener.initial, listener.type_caps) */
static int type_count(const char *item, int *type, int *count)
{
    char name[32];
    return sscanf(item, "%31[^=]=%d", name, count) == 2 && (*type = (int)names_agent_parse(name)) != 0 &&
           *count >= 0;
}

static orch_status start(daemon_ctx *d, char err[ERR_LEN])
{
    char hn[256] = "", why[128];
    H.d = d;
    H.rcfg.min_uptime_ms = L.min_uptime_ms;
    H.rcfg.base_ms = L.restart_base_ms;
    H.rcfg.max_ms = L.restart_max_ms;
    H.rcfg.alert_after = (int)L.crash_alert_after;
    if (L.command.n == 0) {
        snprintf(err, ERR_LEN, "key 'listener.command' is empty");
        return ORCH_ERR_INVALID;
    }
    if (L.host_id && *L.host_id) {
        if (!text_id_valid(L.host_id, HOSTAD_ID_MAX, why, sizeof(why))) {
            snprintf(err, ERR_LEN, "key 'listener.host_id': %s", why);
            return ORCH_ERR_INVALID;
        }
        snprintf(H.host, sizeof(H.host), "%s", L.host_id);
    } else {
        gethostname(hn, sizeof(hn) - 1);
        hostad_sanitise_id(hn, H.host);
    }
    /* new at each start: the time in ms, base 36 (8 characters until 2059) */
    {
        static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
        char rev[HOSTAD_NONCE_MAX + 1];
        int k = 0;
        for (uint64_t v = (uint64_t)text_now_ms(); v && k < HOSTAD_NONCE_MAX; v /= 36)
            rev[k++] = digits[v % 36];
        for (int i = 0; i < k; i++)
            H.nonce[i] = rev[k - 1 - i];
        H.nonce[k] = '\0';
    }
    for (int t = 1; t < NAMES_AGENT_TYPES; t++)
        H.cap[t] = (int)L.max_per_type;
    for (int i = 0; i < L.type_caps.n; i++) {
        int type = 0, count = 0;
        if (!type_count(L.type_caps.v[i], &type, &count) || count > L.max_per_type) {
            snprintf(err, ERR_LEN, "key 'listener.type_caps': '%s' is not type=count (count at most max_per_type)",
                     L.type_caps.v[i]);
            return ORCH_ERR_INVALID;
        }
        H.cap[type] = count;
    }
    if (subscribe_own(d, err) != ORCH_OK)
        return ORCH_ERR_NATS;
    for (int i = 0; i < L.initial.n; i++) {
        int count = 0, type = 0;
        if (!type_count(L.initial.v[i], &type, &count)) {
            snprintf(err, ERR_LEN, "key 'listener.initial': '%s' is not type=count", L.initial.v[i]);
            return ORCH_ERR_INVALID;
        }
        for (int k = 0; k < count; k++)
            spawn(type);
    }
    log_info("host %s (nonce %s): %lld slots, consumer %s, adverts every %lld ms", H.host, H.nonce, L.slots,
             H.durable, L.advert_ms);
    advertise();
    return ORCH_OK;
}

static void step(daemon_ctx *d)
{
    (void)d;
    reap();
    if (text_mono_ms() - H.advert_at >= L.advert_ms)
        advertise();
    nc_consume(H.sub, 10, 500, handle, NULL);
    if (text_mono_ms() - H.advert_at >= L.advert_ms)
        advertise();
}

static void stop_all(daemon_ctx *d)
{
    (void)d;
    shutting_down = 1;
    for (int i = 0; i < H.n; i++)
        stop_child(i, SIGTERM);
    for (int w = 0; w < 50 && H.n; w++) {
        usleep(100 * 1000);
        reap();
    }
    for (int i = 0; i < H.n; i++)
        stop_child(i, SIGKILL);
    reap();
    if (H.sub) {
        natsSubscription_Unsubscribe(H.sub);
        natsSubscription_Destroy(H.sub);
    }
}

int main(int argc, char **argv)
{
    daemon_spec spec = {
        .name = "host-listener",
        .description = "starts and stops this host's agent processes on control.spawn.<host>.<type> and control.kill.<instance>; advertises on hosts.<host>",
        .entries = entries,
        .n_entries = sizeof(entries) / sizeof(entries[0]),
        .settings = &L,
        .start = start,
        .step = step,
        .stop = stop_all,
    };
    return daemon_main(&spec, argc, argv);
}
