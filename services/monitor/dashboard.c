#include "dashboard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "rules.h"
#include "text.h"

#define ST(x) ORCHESTRATOR__V1__STATUS__STATUS_##x

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 256;
        b->buf = xrealloc(b->buf, b->cap);
    }
}

static int terminal(int s) { return s == ST(COMPLETE) || s == ST(ESCALATED); }

/* "<label>$1.23" of type t (0: the total), " of $5 (24.6%)" where a dollar
 * limit is set, and a line end. */
static void put_usd(sbuf *b, const char *label, const dash_usd *u, int t)
{
    put(b, "%s$%.2f", label, (double)u->spent[t] / 1e6);
    if (u->limit[t])
        put(b, " of $%.0f (%.1f%%)", (double)u->limit[t] / 1e6, 100.0 * (double)u->spent[t] / (double)u->limit[t]);
    put(b, "\n");
}

void dash_hosts_json(cJSON *o, const dash_input *in)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "hosts");
    for (int i = 0; i < in->nhosts; i++) {
        const dash_host *h = &in->hosts[i];
        cJSON *x = cJSON_CreateObject(), *by = NULL;
        cJSON_AddStringToObject(x, "host", h->host);
        cJSON_AddNumberToObject(x, "slots", h->slots);
        cJSON_AddNumberToObject(x, "used", h->used);
        cJSON_AddNumberToObject(x, "free", h->slots > h->used ? h->slots - h->used : 0);
        by = cJSON_AddObjectToObject(x, "agents");
        for (int t = 1; t < DASH_TYPES; t++)
            if (h->running[t])
                cJSON_AddNumberToObject(by, names_agent_type((Orchestrator__V1__AgentType)t), h->running[t]);
        cJSON_AddNumberToObject(x, "lastSeenMs", (double)h->seen_ms);
        cJSON_AddItemToArray(arr, x);
    }
}

void dash_usd_json(cJSON *o, const dash_usd *u, int t)
{
    cJSON_AddNumberToObject(o, "costUsd", (double)u->spent[t] / 1e6);
    cJSON_AddNumberToObject(o, "costLimitUsd", (double)u->limit[t] / 1e6);
}

void dash_compute(const dash_input *in, dash_metrics *m)
{
    double sum[5] = {0};
    int cnt[5] = {0}, first = 0, blocked = 0, overlap = 0, day = 0;
    uint64_t tokens = 0, usd = 0, failed = 0;

    memset(m, 0, sizeof(*m));
    for (int i = 0; i < in->nitems; i++) {
        const pb_state *s = in->items[i].st;
        m->total++;
        blocked += in->items[i].ever_blocked;
        overlap += in->items[i].ever_overlap;
        /* the attempts before the current one failed; an escalated one's too */
        for (size_t a = 0; a < s->n_cost_by_attempt; a++)
            if (a + 1 < s->attempt || s->status == ST(ESCALATED))
                failed += s->cost_by_attempt[a];
        if (s->status == ST(COMPLETE)) {
            int c = s->requirement ? (int)s->requirement->complexity : 0;
            int64_t created = s->requirement ? s->requirement->created_at_ms : 0;
            m->complete++;
            first += s->attempt <= 1;
            tokens += s->tokens_used;
            usd += s->cost_micro_usd;
            if (in->now_ms - s->completed_at_ms <= 24 * 3600 * 1000LL)
                day++;
            if (c > 0 && c < 5 && created && s->completed_at_ms >= created) {
                sum[c] += (double)(s->completed_at_ms - created) / 60000.0;
                cnt[c]++;
            }
        } else if (s->status == ST(ESCALATED)) {
            m->escalated++;
        } else if (s->status == ST(DISPATCHED) || s->status == ST(VERIFYING) || s->status == ST(REVIEWING) ||
                   s->status == ST(MERGING)) {
            m->in_flight++;   /* work on it goes on: its agent, the verifier, its review or its merge */
        } else {
            m->waiting++;
        }
    }
    m->completed_per_day = day;
    for (int c = 0; c < 5; c++)
        m->avg_minutes[c] = cnt[c] ? sum[c] / cnt[c] : -1;
    m->first_time_acceptance = m->complete ? (double)first / m->complete : -1;
    m->blocker_rate = m->total ? (double)blocked / m->total : 0;
    m->conflict_rate = m->total ? (double)overlap / m->total : 0;
    m->tokens_per_requirement = m->complete ? (double)tokens / m->complete : -1;
    m->usd_per_requirement = m->complete ? (double)usd / 1e6 / m->complete : -1;
    m->usd_failed = (double)failed / 1e6;
    m->escalation_rate = m->complete + m->escalated ? (double)m->escalated / (m->complete + m->escalated) : -1;
    for (int i = 0; i < in->nagents; i++)
        if (dash_agent_active(in, &in->agents[i])) {
            m->agents_active++;
            m->agents_working += in->agents[i].requirement && *in->agents[i].requirement;
        }
    m->utilisation = m->agents_active ? (double)m->agents_working / m->agents_active : -1;
    /* the share of agents' reports that were errors: each run ends in a
     * result or an error */
    for (int t = 0; t < DASH_TYPES; t++)
        m->error_rate[t] = in->results[t] + in->errors[t]
                               ? (double)in->errors[t] / (double)(in->results[t] + in->errors[t])
                               : -1;
}

static const char *status_words(int s)
{
    switch (s) {
    case ST(DISPATCHED): return "Assigned, In Progress";
    case ST(VERIFYING): return "Verifying";
    case ST(REVIEWING): return "Verified, In Review";
    case ST(MERGING): return "Approved, Merging";
    case ST(BLOCKED): return "Pending";
    case ST(READY): return "Ready to assign";
    case ST(ESCALATED): return "Escalated";
    case ST(COMPLETE): return "Complete";
    default: return names_status((Orchestrator__V1__Status)s);
    }
}

static void thousands(uint64_t v, char *buf, size_t len)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
}

int dash_agent_active(const dash_input *in, const dash_agent *a)
{
    int64_t within = in->stale_ms > 0 && in->stale_ms < in->active_ms ? in->stale_ms : in->active_ms;
    return in->now_ms - a->last_seen_ms <= within;
}

/* What "Est. completion" says: "done" when nothing is left (a forecast
 * named a future time then), who it waits on when only escalated work is,
 * else the forecast. buf holds what is built. */
static const char *completion(const dash_input *in, char *buf, size_t len)
{
    int open = 0, escalated = 0;
    for (int i = 0; i < in->nitems; i++) {
        int s = in->items[i].st->status;
        escalated += s == ST(ESCALATED);
        open += s != ST(COMPLETE) && s != ST(ESCALATED) && s != ST(REJECTED);
    }
    if (in->nitems && !open && !escalated)
        return "done";
    if (in->nitems && !open) {
        snprintf(buf, len, "nothing in progress: %d escalated, waiting on a person", escalated);
        return buf;
    }
    return in->est_completion && *in->est_completion ? in->est_completion : "unknown";
}

static void rate(sbuf *b, const char *name, double v)
{
    if (v < 0)
        put(b, "- %s: n/a\n", name);
    else
        put(b, "- %s: %.1f%%\n", name, v * 100.0);
}

char *dash_markdown(const dash_input *in)
{
    sbuf b = {xmalloc(4096), 0, 4096};
    dash_metrics m;
    char left[32], total[32], when[96];
    int nactive = 0;
    uint64_t rem = in->limit_total > in->used_total ? in->limit_total - in->used_total : 0;

    b.buf[0] = '\0';
    dash_compute(in, &m);
    thousands(rem, left, sizeof(left));
    thousands(in->limit_total, total, sizeof(total));
    for (int i = 0; i < in->nagents; i++)
        nactive += dash_agent_active(in, &in->agents[i]);
    put(&b, "## Orchestrator - Work Distribution Status\n\n");
    put(&b, "**Mode:** %s%s\n", in->mode, in->conservation ? " - conservation mode (lower priorities held back)" : "");
    for (int i = 0; i < in->npaused; i++)
        put(&b, "%s%s%s", i ? "; " : "**Paused:** ", in->paused[i], i + 1 == in->npaused ? "\n" : "");
    put(&b, "**Token Budget:** %s / %s remaining (%.1f%%)\n", left, total,
        in->limit_total ? 100.0 * (double)rem / (double)in->limit_total : 0.0);
    put_usd(&b, "**Spent today:** ", &in->usd, 0);
    put(&b, "**Active Agents:** %d", nactive);
    for (int i = 0, k = 0; i < in->nagents; i++)
        if (dash_agent_active(in, &in->agents[i]))
            put(&b, "%s%s", k++ ? ", " : " (", in->agents[i].instance);
    put(&b, "%s\n", nactive ? ")" : "");
    if (in->firing_alerts)
        put(&b, "**Alerts firing:** %d\n", in->firing_alerts);
    put(&b, "**Est. completion:** %s\n", completion(in, when, sizeof(when)));
    put(&b, "**Next task:** %s\n", in->next_task && *in->next_task ? in->next_task : "none ready");
    if (in->next_review && *in->next_review)
        put(&b, "**Next Review:** %s\n", in->next_review);
    if (in->npath) {
        put(&b, "**Critical path:** ");
        for (int i = 0; i < in->npath; i++)
            put(&b, "%s%s", i ? " -> " : "", in->critical_path[i]);
        put(&b, "\n");
    }

    put(&b, "\n### Queue Status\n");
    for (int p = 1; p <= 4; p++) {
        int n = 0;
        for (int i = 0; i < in->nitems; i++) {
            const pb_state *s = in->items[i].st;
            n += !terminal(s->status) && s->requirement && (int)s->requirement->priority == p;
        }
        put(&b, "\n**%s:** %d item%s%s\n", names_priority((Orchestrator__V1__Priority)p), n, n == 1 ? "" : "s",
            n == 0 ? " ✅" : "");
        if (n)
            put(&b, "\n");
        for (int i = 0; i < in->nitems; i++) {
            const pb_state *s = in->items[i].st;
            if (terminal(s->status) || !s->requirement || (int)s->requirement->priority != p)
                continue;
            char span[32];
            rules_duration(span, sizeof(span), in->now_ms - s->dispatched_at_ms);
            if (s->status == ST(DISPATCHED) && !in->items[i].taken)
                put(&b, "- %s (%s) - Released, no agent took it yet (%s ago)", s->id,
                    names_agent_type(s->requirement->type), span);
            else if (s->status == ST(DISPATCHED) || s->status == ST(VERIFYING))
                put(&b, "- %s (%s) - %s (%s elapsed)", s->id, names_agent_type(s->requirement->type),
                    status_words(s->status), span);
            else if (*s->reason)
                put(&b, "- %s (%s) - %s (%s)", s->id, names_agent_type(s->requirement->type), status_words(s->status),
                    s->reason);
            else
                put(&b, "- %s (%s) - %s", s->id, names_agent_type(s->requirement->type), status_words(s->status));
            put(&b, "\n");
        }
    }

    put(&b, "\n### Agent Activity\n");
    for (int t = 1; t < DASH_TYPES; t++) {
        int working = 0, seen = 0, waiting = 0;
        const char *on = NULL;
        char used[32], lim[32];
        for (int i = 0; i < in->nagents; i++) {
            const dash_agent *a = &in->agents[i];
            if (a->type != t || !dash_agent_active(in, a))
                continue;
            seen++;
            if (a->requirement && *a->requirement) {
                working++;
                on = a->requirement;
            }
        }
        for (int i = 0; i < in->nitems; i++)
            waiting += in->items[i].st->requirement && (int)in->items[i].st->requirement->type == t &&
                       in->items[i].st->status == ST(BLOCKED);
        if (!seen && !in->used[t] && in->depth[t] <= 0 && !waiting)
            continue;
        thousands(in->used[t], used, sizeof(used));
        thousands(in->limit[t], lim, sizeof(lim));
        put(&b, "\n**%s:**\n\n", names_agent_type((Orchestrator__V1__AgentType)t));
        if (working)
            put(&b, "- Status: 🟢 ACTIVE (working on %s%s)\n", on, working > 1 ? " and more" : "");
        else if (waiting)
            put(&b, "- Status: 🟡 WAITING (%d blocked)\n", waiting);
        else
            put(&b, "- Status: 🟢 IDLE%s\n", seen ? "" : " (no agent seen)");
        put(&b, "- Token usage: %s / %s (%.1f%%)\n", used, lim,
            in->limit[t] ? 100.0 * (double)in->used[t] / (double)in->limit[t] : 0.0);
        put_usd(&b, "- Spent today: ", &in->usd, t);
        if (in->depth[t] >= 0)
            put(&b, "- Queue depth: %d\n", in->depth[t]);
    }

    if (in->nhosts) {
        put(&b, "\n### Agent hosts\n\n");
        for (int i = 0; i < in->nhosts; i++) {
            const dash_host *h = &in->hosts[i];
            int k = 0;
            put(&b, "- %s: %d of %d slots used, %d free", h->host, h->used, h->slots,
                h->slots > h->used ? h->slots - h->used : 0);
            for (int t = 1; t < DASH_TYPES; t++)
                if (h->running[t])
                    put(&b, "%s%s %d", k++ ? ", " : " (", names_agent_type((Orchestrator__V1__AgentType)t),
                        h->running[t]);
            put(&b, "%s; heard %llds ago\n", k ? ")" : "", (long long)((in->now_ms - h->seen_ms) / 1000));
        }
    }

    put(&b, "\n### Blockers\n\n");
    {
        int n = 0;
        for (int i = 0; i < in->nitems; i++) {
            const pb_state *s = in->items[i].st;
            if (in->items[i].blocker) {
                put(&b, "- %s: %s\n", s->id, s->reason);
                n++;
            }
        }
        if (!n)
            put(&b, "- None\n");
    }

    put(&b, "\n### Recent Completions (Last Hour)\n\n");
    {
        int n = 0;
        for (int i = 0; i < in->nitems; i++) {
            const pb_state *s = in->items[i].st;
            if (s->status != ST(COMPLETE) || in->now_ms - s->completed_at_ms > 3600 * 1000LL || !s->requirement)
                continue;
            put(&b, "%d. ✅ %s (%s) - %s\n", ++n, s->id, names_agent_type(s->requirement->type), s->requirement->title);
        }
        if (!n)
            put(&b, "- None\n");
    }

    put(&b, "\n### Success Metrics\n\n");
    put(&b, "- Requirements completed in the last 24 h: %.0f\n", m.completed_per_day);
    for (int c = 1; c < 5; c++)
        if (m.avg_minutes[c] >= 0)
            put(&b, "- Average time to completion (%s): %.0f min\n",
                names_complexity((Orchestrator__V1__Complexity)c), m.avg_minutes[c]);
    rate(&b, "First-time acceptance rate", m.first_time_acceptance);
    rate(&b, "Blocker rate", m.blocker_rate);
    for (int t = 1; t < DASH_TYPES; t++)
        if (m.error_rate[t] >= 0)
            put(&b, "- Error rate (%s): %.1f%% (%lld errors, %lld results)\n",
                names_agent_type((Orchestrator__V1__AgentType)t), m.error_rate[t] * 100.0, in->errors[t],
                in->results[t]);
    if (m.tokens_per_requirement >= 0)
        put(&b, "- Token cost per requirement: %.0f ($%.2f)\n", m.tokens_per_requirement, m.usd_per_requirement);
    if (m.usd_failed > 0)
        put(&b, "- Cost of failed attempts: $%.2f\n", m.usd_failed);
    rate(&b, "Conflict rate", m.conflict_rate);
    rate(&b, "Escalation rate", m.escalation_rate);
    if (m.utilisation >= 0)
        put(&b, "- Agent utilisation: %.1f%% (%d of %d active agents working)\n", m.utilisation * 100.0,
            m.agents_working, m.agents_active);
    else
        put(&b, "- Agent utilisation: n/a (no active agent)\n");
    return b.buf;
}

static void num_or_null(cJSON *o, const char *k, double v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, v);
}

cJSON *dash_json(const dash_input *in)
{
    cJSON *o = cJSON_CreateObject(), *q, *agents, *budget, *metrics, *by;
    dash_metrics m;

    dash_compute(in, &m);
    cJSON_AddStringToObject(o, "mode", in->mode);
    cJSON_AddBoolToObject(o, "conservation", in->conservation);
    {
        char when[96];
        const char *c = completion(in, when, sizeof(when));
        cJSON_AddStringToObject(o, "estCompletion", strcmp(c, "unknown") ? c : "");
    }
    {
        cJSON *pz = cJSON_AddArrayToObject(o, "paused");
        for (int i = 0; i < in->npaused; i++)
            cJSON_AddItemToArray(pz, cJSON_CreateString(in->paused[i]));
    }
    cJSON_AddStringToObject(o, "nextTask", in->next_task ? in->next_task : "");
    cJSON_AddStringToObject(o, "nextReview", in->next_review ? in->next_review : "");
    {
        cJSON *p = cJSON_AddArrayToObject(o, "criticalPath");
        for (int i = 0; i < in->npath; i++)
            cJSON_AddItemToArray(p, cJSON_CreateString(in->critical_path[i]));
    }
    budget = cJSON_AddObjectToObject(o, "budget");
    cJSON_AddNumberToObject(budget, "used", (double)in->used_total);
    cJSON_AddNumberToObject(budget, "limit", (double)in->limit_total);
    dash_usd_json(budget, &in->usd, 0);
    q = cJSON_AddObjectToObject(o, "queues");
    for (int p = 1; p <= 4; p++) {
        cJSON *arr = cJSON_AddArrayToObject(q, names_priority((Orchestrator__V1__Priority)p));
        for (int i = 0; i < in->nitems; i++) {
            const pb_state *s = in->items[i].st;
            cJSON *x;
            if (terminal(s->status) || !s->requirement || (int)s->requirement->priority != p)
                continue;
            x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "id", s->id);
            cJSON_AddStringToObject(x, "type", names_agent_type(s->requirement->type));
            cJSON_AddStringToObject(x, "status", names_status(s->status));
            cJSON_AddStringToObject(x, "reason", s->reason);
            if (s->status == ST(DISPATCHED))
                cJSON_AddBoolToObject(x, "taken", in->items[i].taken);
            cJSON_AddItemToArray(arr, x);
        }
    }
    agents = cJSON_AddObjectToObject(o, "agents");
    for (int t = 1; t < DASH_TYPES; t++) {
        cJSON *x = cJSON_AddObjectToObject(agents, names_agent_type((Orchestrator__V1__AgentType)t));
        cJSON *inst = cJSON_AddArrayToObject(x, "active");
        cJSON *on = cJSON_AddArrayToObject(x, "workingOn");
        for (int i = 0; i < in->nagents; i++)
            if (in->agents[i].type == t && dash_agent_active(in, &in->agents[i])) {
                cJSON_AddItemToArray(inst, cJSON_CreateString(in->agents[i].instance));
                if (in->agents[i].requirement && *in->agents[i].requirement)
                    cJSON_AddItemToArray(on, cJSON_CreateString(in->agents[i].requirement));
            }
        cJSON_AddNumberToObject(x, "tokensUsed", (double)in->used[t]);
        cJSON_AddNumberToObject(x, "tokenLimit", (double)in->limit[t]);
        dash_usd_json(x, &in->usd, t);
        cJSON_AddNumberToObject(x, "queueDepth", in->depth[t]);
    }
    dash_hosts_json(o, in);
    metrics = cJSON_AddObjectToObject(o, "metrics");
    cJSON_AddNumberToObject(metrics, "total", m.total);
    cJSON_AddNumberToObject(metrics, "complete", m.complete);
    cJSON_AddNumberToObject(metrics, "escalated", m.escalated);
    cJSON_AddNumberToObject(metrics, "inFlight", m.in_flight);
    cJSON_AddNumberToObject(metrics, "waiting", m.waiting);
    cJSON_AddNumberToObject(metrics, "completedPerDay", m.completed_per_day);
    by = cJSON_AddObjectToObject(metrics, "avgMinutesToComplete");
    for (int c = 1; c < 5; c++)
        num_or_null(by, names_complexity((Orchestrator__V1__Complexity)c), m.avg_minutes[c]);
    num_or_null(metrics, "firstTimeAcceptanceRate", m.first_time_acceptance);
    num_or_null(metrics, "blockerRate", m.blocker_rate);
    by = cJSON_AddObjectToObject(metrics, "errorRate");
    for (int t = 1; t < DASH_TYPES; t++)
        num_or_null(by, names_agent_type((Orchestrator__V1__AgentType)t), m.error_rate[t]);
    /* what the rates are made of: every result and agent error counted */
    by = cJSON_AddObjectToObject(metrics, "results");
    for (int t = 1; t < DASH_TYPES; t++)
        cJSON_AddNumberToObject(by, names_agent_type((Orchestrator__V1__AgentType)t), (double)in->results[t]);
    by = cJSON_AddObjectToObject(metrics, "errors");
    for (int t = 1; t < DASH_TYPES; t++)
        cJSON_AddNumberToObject(by, names_agent_type((Orchestrator__V1__AgentType)t), (double)in->errors[t]);
    num_or_null(metrics, "tokensPerRequirement", m.tokens_per_requirement);
    num_or_null(metrics, "usdPerRequirement", m.usd_per_requirement);
    cJSON_AddNumberToObject(metrics, "usdFailedAttempts", m.usd_failed);
    num_or_null(metrics, "conflictRate", m.conflict_rate);
    num_or_null(metrics, "escalationRate", m.escalation_rate);
    num_or_null(metrics, "agentUtilisation", m.utilisation);
    cJSON_AddNumberToObject(metrics, "agentsActive", m.agents_active);
    cJSON_AddNumberToObject(metrics, "agentsWorking", m.agents_working);
    cJSON_AddNumberToObject(o, "alertsFiring", in->firing_alerts);
    return o;
}
