#include "names.h"

#include <stdio.h>
#include <string.h>

#include "text.h"
#include "topology.h"

static const char *const priorities[] = {"UNSPECIFIED", "CRITICAL", "HIGH", "MEDIUM", "LOW"};

const char *names_priority(Orchestrator__V1__Priority p)
{
    return (unsigned)p < 5 ? priorities[p] : "UNSPECIFIED";
}

Orchestrator__V1__Priority names_priority_parse(const char *s)
{
    for (int i = 1; i < 5; i++)
        if (text_ieq(s, priorities[i]))
            return (Orchestrator__V1__Priority)i;
    if ((s[0] == 'P' || s[0] == 'p') && s[1] >= '0' && s[1] <= '3' && s[2] == '\0')
        return (Orchestrator__V1__Priority)(s[1] - '0' + 1);
    return ORCHESTRATOR__V1__PRIORITY__PRIORITY_UNSPECIFIED;
}

static const struct {
    const char *token, *persona, *alias;
} agents[] = {
    {"unknown", "unknown", ""},
    {"backend", "roy", "be"},
    {"frontend", "jen", "fe"},
    {"database", "database-agent", "db"},
    {"documentation", "documentation-agent", "docs"},
    {"review", "senior-review", "reviewer"},
    {"release", "release-manager", "releaser"},
};
#define N_AGENTS (sizeof(agents) / sizeof(agents[0]))
_Static_assert(N_AGENTS == NAMES_AGENT_TYPES, "names.h counts the agent types");

const char *names_agent_type(Orchestrator__V1__AgentType t)
{
    return (unsigned)t < N_AGENTS ? agents[t].token : "unknown";
}

const char *names_agent_persona(Orchestrator__V1__AgentType t)
{
    return (unsigned)t < N_AGENTS ? agents[t].persona : "unknown";
}

const char *names_agent_consumer(Orchestrator__V1__AgentType t)
{
    char filter[64];
    if (t <= 0 || (unsigned)t >= N_AGENTS)
        return "";
    names_subject(filter, sizeof(filter), NAMES_SUBJ_REQUIREMENTS, agents[t].token, ">");
    for (size_t i = 0; i < topo_consumer_count; i++)
        if (!strcmp(topo_consumers[i].stream, "REQUIREMENTS") && !strcmp(topo_consumers[i].filter, filter))
            return topo_consumers[i].durable;
    return "";
}

Orchestrator__V1__AgentType names_agent_parse(const char *s)
{
    for (size_t i = 1; i < N_AGENTS; i++)
        if (text_ieq(s, agents[i].token) || text_ieq(s, agents[i].persona) ||
            text_ieq(s, names_agent_consumer((Orchestrator__V1__AgentType)i)) || text_ieq(s, agents[i].alias))
            return (Orchestrator__V1__AgentType)i;
    return ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_UNSPECIFIED;
}

Orchestrator__V1__AgentType names_agent_from_subject(const char *subject, int index)
{
    char tok[32];
    const char *a = subject;
    size_t n;
    for (int i = 0; a && i < index; i++)
        if ((a = strchr(a, '.')))
            a++;
    if (!a)
        return ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_UNSPECIFIED;
    n = strcspn(a, ".");
    if (n >= sizeof(tok))
        return ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_UNSPECIFIED;
    memcpy(tok, a, n);
    tok[n] = '\0';
    return names_agent_parse(tok);
}

int names_error_is_agents(const char *subject)
{
    return names_source_of(subject) == NAMES_SRC_AGENT;
}

static const char *const families[NAMES_FAM_COUNT] = {
    [NAMES_FAM_INTAKE] = "intake",
    [NAMES_FAM_WORK] = "work.requirements",
    [NAMES_FAM_PLAN] = "plan.requirement",
    [NAMES_FAM_REQUIREMENTS] = "requirements",
    [NAMES_FAM_RESULTS] = "results",
    [NAMES_FAM_VERDICTS] = "verdicts",
    [NAMES_FAM_ERRORS] = "errors",
    [NAMES_FAM_INTEGRATION] = "integration",
    [NAMES_FAM_HEARTBEAT] = "agents.heartbeat",
    [NAMES_FAM_ALERTS] = "alerts",
    [NAMES_FAM_SPAWN] = "control.spawn",
    [NAMES_FAM_KILL] = "control.kill",
    [NAMES_FAM_DEADLETTER] = "deadletter",
    [NAMES_FAM_STATUS] = "orch.status",
    [NAMES_FAM_HOSTS] = "hosts",
};

const char *names_family_prefix(names_family f)
{
    return (unsigned)f < NAMES_FAM_COUNT ? families[f] : "";
}

const char *names_subject_rest(const char *subject, names_family f)
{
    const char *p = names_family_prefix(f);
    size_t n = strlen(p);
    if (!subject || !n || strncmp(subject, p, n) != 0 || subject[n] != '.' || subject[n + 1] == '\0')
        return NULL;
    return subject + n + 1;
}

static const char *const sources[NAMES_SRC_COUNT] = {"", "agent", "intake", "scheduler", "verifier", "monitor"};

const char *names_source_token(names_source s)
{
    return (unsigned)s < NAMES_SRC_COUNT ? sources[s] : "";
}

names_source names_source_of(const char *subject)
{
    const char *rest = names_subject_rest(subject, NAMES_FAM_ERRORS);
    size_t n;
    if (!rest)
        return NAMES_SRC_NONE;
    n = strcspn(rest, ".");
    for (int i = 1; i < NAMES_SRC_COUNT; i++)
        if (strlen(sources[i]) == n && !strncmp(rest, sources[i], n))
            return (names_source)i;
    return NAMES_SRC_NONE;
}

static const char *const requests[NAMES_REQ_COUNT] = {
    [NAMES_REQ_SCHEDULER_LIST] = "orch.scheduler.list",
    [NAMES_REQ_SCHEDULER_RETRY] = "orch.scheduler.retry",
    [NAMES_REQ_DASHBOARD] = "orch.dashboard",
    [NAMES_REQ_MONITOR_SILENCE] = "orch.monitor.silence",
    [NAMES_REQ_ROUTER_CLASSIFY] = "orch.router.classify",
    [NAMES_REQ_VERIFIER_STATS] = "orch.verifier.stats",
    [NAMES_REQ_DECIDE_PAUSE] = "orch.decide.pause",
    [NAMES_REQ_DECIDE_RESUME] = "orch.decide.resume",
    [NAMES_REQ_DECIDE_CANCEL] = "orch.decide.cancel",
    [NAMES_REQ_DECIDE_PRIORITY] = "orch.decide.priority",
};

const char *names_request_subject(names_request r)
{
    return (unsigned)r < NAMES_REQ_COUNT ? requests[r] : "";
}

static const char *const severities[] = {"", "info", "warning", "critical"};

const char *names_severity(Orchestrator__V1__Severity s)
{
    return (unsigned)s < 4 && s ? severities[s] : "unspecified";
}

int names_severity_parse(const char *s, Orchestrator__V1__Severity *out)
{
    for (int i = 1; s && i < 4; i++)
        if (text_ieq(s, severities[i])) {
            *out = (Orchestrator__V1__Severity)i;
            return 0;
        }
    return -1;
}

static const char *const wait_kinds[] = {"unspecified", "dependency", "budget", "conservation", "overlap",
                                         "window", "turn", "retry_backoff", "verifying", "review", "merge",
                                         "quiet_hours", "human", "agent", "cycle", "reserved", "dead_end",
                                         "paused", "cancelled"};

const char *names_wait_kind(Orchestrator__V1__WaitKind k)
{
    return (unsigned)k < sizeof(wait_kinds) / sizeof(wait_kinds[0]) ? wait_kinds[k] : "unspecified";
}

static const char *const statuses[] = {"UNSPECIFIED", "NEW", "CLASSIFIED", "BLOCKED", "READY",
                                       "DISPATCHED", "VERIFYING", "COMPLETE", "REJECTED", "ESCALATED",
                                       "REVIEWING", "MERGING"};
_Static_assert(sizeof(statuses) / sizeof(statuses[0]) == NAMES_STATUS_COUNT, "a name for every status");

const char *names_status(Orchestrator__V1__Status s)
{
    return (unsigned)s < NAMES_STATUS_COUNT ? statuses[s] : "UNSPECIFIED";
}

Orchestrator__V1__Status names_status_parse(const char *s)
{
    if (text_ieq(s, "PENDING"))
        return ORCHESTRATOR__V1__STATUS__STATUS_NEW;
    for (int i = 1; i < NAMES_STATUS_COUNT; i++)
        if (text_ieq(s, statuses[i]))
            return (Orchestrator__V1__Status)i;
    return ORCHESTRATOR__V1__STATUS__STATUS_UNSPECIFIED;
}

static const char *const complexities[] = {"UNSPECIFIED", "S", "M", "L", "XL"};

const char *names_complexity(Orchestrator__V1__Complexity c)
{
    return (unsigned)c < 5 ? complexities[c] : "UNSPECIFIED";
}

Orchestrator__V1__Complexity names_complexity_parse(const char *s)
{
    for (int i = 1; i < 5; i++)
        if (text_ieq(s, complexities[i]))
            return (Orchestrator__V1__Complexity)i;
    return ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_UNSPECIFIED;
}

static const char *const alert_kinds[NAMES_ALERT_COUNT] = {
    "stale", "stale_verifying", "queue_depth", "error_rate", "infra_errors", "budget", "service_down",
    "agent_table", "escalation", "charge_over_bound", "estimate_over_daily_limit", "unpublishable",
    "conservation", "topology_missing", "agent_crashloop", "leader_contested", "state_quarantined", "agent_killed",
    "merge_train_paused", "merge_train_resumed", "merge_train_unreadable", "base_fails", "host_lost",
    "no_host_room"};

const char *names_alert_kind_token(names_alert_kind k)
{
    return (unsigned)k < NAMES_ALERT_COUNT ? alert_kinds[k] : "";
}

names_alert_kind names_alert_kind_parse(const char *rule)
{
    for (int i = 0; rule && i < NAMES_ALERT_COUNT; i++)
        if (!strcmp(rule, alert_kinds[i]))
            return (names_alert_kind)i;
    return NAMES_ALERT_COUNT;
}

int names_alert_rule_known(const char *rule)
{
    return names_alert_kind_parse(rule) != NAMES_ALERT_COUNT;
}

int names_silence_matchers_ok(const char *m, char *err, size_t len)
{
    const char *p = m;
    int n = 0;

    if (!*m) {
        snprintf(err, len, "no matchers: give key=value pairs, comma separated (rule=stale,type=backend)");
        return 0;
    }
    while (*p) {
        const char *end = strchr(p, ','), *eq;
        size_t tok = end ? (size_t)(end - p) : strlen(p);
        char key[32], value[96];
        eq = memchr(p, '=', tok);
        if (!eq || eq == p || (size_t)(eq - p) >= sizeof(key) || tok - (size_t)(eq - p) - 1 >= sizeof(value) ||
            eq + 1 == p + tok) {
            snprintf(err, len, "matcher '%.*s' is not key=value", (int)(tok < 64 ? tok : 64), p);
            return 0;
        }
        snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
        snprintf(value, sizeof(value), "%.*s", (int)(tok - (size_t)(eq - p) - 1), eq + 1);
        if (!strcmp(key, "rule") && !names_alert_rule_known(value)) {
            size_t used = (size_t)snprintf(err, len, "no alert rule '%s' (known:", value);
            for (int k = 0; k < NAMES_ALERT_COUNT && used < len; k++)
                used += (size_t)snprintf(err + used, len - used, "%s %s", k ? "," : "", alert_kinds[k]);
            if (used < len)
                snprintf(err + used, len - used, ")");
            return 0;
        }
        if (!strcmp(key, "type") && !names_agent_parse(value)) {
            snprintf(err, len, "no agent type '%s' (known: %s)", value, NAMES_AGENT_LIST);
            return 0;
        }
        n++;
        if (!end)
            break;
        p = end + 1;
        if (!*p) {
            snprintf(err, len, "a matcher list does not end with ','");
            return 0;
        }
    }
    return n > 0;
}

const char *names_subject(char *out, size_t len, const char *family, const char *a, const char *b)
{
    if (b)
        snprintf(out, len, "%s.%s.%s", family, a, b);
    else
        snprintf(out, len, "%s.%s", family, a);
    return out;
}

const char *names_subject_typed(char *out, size_t len, const char *family, int type, const char *id)
{
    return names_subject(out, len, family, names_agent_type((Orchestrator__V1__AgentType)type), id);
}

const char *names_agent_error_subject(char *out, size_t len, int type, const char *id)
{
    snprintf(out, len, "%s.%s.%s.%s", NAMES_SUBJ_ERRORS, names_source_token(NAMES_SRC_AGENT),
             names_agent_type((Orchestrator__V1__AgentType)type), id);
    return out;
}

int names_agent_error_of(const char *subject, int *type, const char **id)
{
    const char *rest = names_subject_rest(subject, NAMES_FAM_ERRORS), *dot;
    *type = 0;
    *id = NULL;
    if (!names_error_is_agents(subject))
        return 0;
    rest += strlen(names_source_token(NAMES_SRC_AGENT));
    if (*rest++ != '.' || !*rest) { /* "errors.agent": names no work */
        *id = "";
        return 1;
    }
    dot = strchr(rest, '.');
    if (!dot) { /* the older errors.agent.<id> */
        *id = rest;
        return 1;
    }
    *type = (int)names_agent_from_subject(rest, 0);
    if (!*type || (size_t)(dot - rest) != strlen(names_agent_type((Orchestrator__V1__AgentType)*type)))
        *type = -1; /* a persona or alias is not the subject's spelling */
    *id = dot + 1;
    return 1;
}
