#include "names.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

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
    const char *token, *persona, *consumer, *alias;
} agents[] = {
    {"unknown", "unknown", "", ""},
    {"backend", "roy", "roy-backend", "be"},
    {"frontend", "jen", "jen-frontend", "fe"},
    {"database", "database-agent", "database-agent", "db"},
    {"documentation", "documentation-agent", "documentation-agent", "docs"},
    {"review", "senior-review", "senior-review", "reviewer"},
    {"release", "release-manager", "release-manager", "releaser"},
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
    return (unsigned)t < N_AGENTS ? agents[t].consumer : "";
}

Orchestrator__V1__AgentType names_agent_parse(const char *s)
{
    for (size_t i = 1; i < N_AGENTS; i++)
        if (text_ieq(s, agents[i].token) || text_ieq(s, agents[i].persona) ||
            text_ieq(s, agents[i].consumer) || text_ieq(s, agents[i].alias))
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
    static const char prefix[] = "errors.agent";
    size_t n = sizeof(prefix) - 1;
    return subject && !strncmp(subject, prefix, n) && (subject[n] == '\0' || subject[n] == '.');
}

static const char *const wait_kinds[] = {"unspecified", "dependency", "budget", "conservation", "overlap",
                                         "window", "turn", "retry_backoff", "verifying", "review", "merge",
                                         "quiet_hours", "human", "agent", "cycle", "reserved"};

const char *names_wait_kind(Orchestrator__V1__WaitKind k)
{
    return (unsigned)k < sizeof(wait_kinds) / sizeof(wait_kinds[0]) ? wait_kinds[k] : "unspecified";
}

static const char *const statuses[] = {"UNSPECIFIED", "NEW", "CLASSIFIED", "BLOCKED", "READY",
                                       "DISPATCHED", "VERIFYING", "COMPLETE", "REJECTED", "ESCALATED"};

const char *names_status(Orchestrator__V1__Status s)
{
    return (unsigned)s < 10 ? statuses[s] : "UNSPECIFIED";
}

Orchestrator__V1__Status names_status_parse(const char *s)
{
    if (text_ieq(s, "PENDING"))
        return ORCHESTRATOR__V1__STATUS__STATUS_NEW;
    for (int i = 1; i < 10; i++)
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

static const char *const alert_rules[] = {"stale", "stale_verifying", "queue_depth", "error_rate", "infra_errors",
                                          "budget", "service_down", "agent_table", "escalation", "charge_over_bound",
                                          "estimate_over_daily_limit", "unpublishable", "conservation",
                                          "topology_missing", "agent_crashloop"};

int names_alert_rule_known(const char *rule)
{
    for (size_t i = 0; i < sizeof(alert_rules) / sizeof(alert_rules[0]); i++)
        if (!strcmp(rule, alert_rules[i]))
            return 1;
    return 0;
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
            snprintf(err, len, "no alert rule '%s' (known: %s)", value, NAMES_ALERT_RULES);
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
