#include "rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define INFO ORCHESTRATOR__V1__SEVERITY__SEVERITY_INFO
#define WARNING ORCHESTRATOR__V1__SEVERITY__SEVERITY_WARNING
#define CRITICAL ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL

void rules_window_add(rules_window *w, int64_t t)
{
    w->t[w->head] = t;
    w->head = (w->head + 1) % 256;
    if (w->n < 256)
        w->n++;
}

int rules_window_count(const rules_window *w, int64_t now, int64_t span)
{
    int k = 0;
    for (int i = 0; i < w->n; i++) {
        int64_t t = w->t[(w->head + 256 - 1 - i) % 256];
        if (now - t <= span && t <= now)
            k++;
    }
    return k;
}

void rules_duration(char *buf, size_t len, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 60000)
        snprintf(buf, len, "%lld s", (long long)(ms / 1000));
    else
        snprintf(buf, len, "%lld min", (long long)(ms / 60000));
}

int rules_queue_depth(int ready, int released)
{
    return released < 0 ? -1 : ready + released;
}

static rules_condition *add(rules_condition *out, int *n, int max, const char *rule, Orchestrator__V1__Severity severity,
                            const char *group, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static rules_condition *add(rules_condition *out, int *n, int max, const char *rule, Orchestrator__V1__Severity severity,
                            const char *group, const char *fmt, ...)
{
    rules_condition *c;
    va_list ap;
    if (*n >= max)
        return NULL;
    c = &out[(*n)++];
    memset(c, 0, sizeof(*c));
    snprintf(c->rule, sizeof(c->rule), "%s", rule);
    snprintf(c->group, sizeof(c->group), "%s", group);
    c->severity = severity;
    va_start(ap, fmt);
    vsnprintf(c->text, sizeof(c->text), fmt, ap);
    va_end(ap);
    return c;
}

static void label(rules_condition *c, const char *k, const char *v)
{
    if (!c || c->nlabels >= RULES_MAX_LABELS)
        return;
    snprintf(c->keys[c->nlabels], sizeof(c->keys[0]), "%s", k);
    snprintf(c->values[c->nlabels], sizeof(c->values[0]), "%s", v);
    c->nlabels++;
}

static const char *tname(int t) { return names_agent_type((Orchestrator__V1__AgentType)t); }

int rules_eval(const rules_cfg *c, const rules_snapshot *s, int64_t now, rules_condition *out, int max,
               rules_kill *kills, int maxk, int *nkills)
{
    int n = 0;
    rules_condition *x;
    *nkills = 0;

    for (int i = 0; i < s->nwork; i++) {
        const rules_work *w = &s->work[i];
        int64_t last, idle;
        char span[32];
        if (w->verifying) {
            int64_t took = now - w->verifying_since_ms;
            if (w->verifying_since_ms && took >= c->verifying_ms) {
                char span[32], limit[32];
                rules_duration(span, sizeof(span), took);
                rules_duration(limit, sizeof(limit), c->verifying_ms);
                x = add(out, &n, max, "stale_verifying", WARNING, "stale",
                        "%s (%s) has been VERIFYING for %s (over %s): the verification is stuck or lost", w->id,
                        tname(w->type), span, limit);
                label(x, "id", w->id);
                label(x, "type", tname(w->type));
            }
            continue;
        }
        last = w->last_activity_ms > w->dispatched_ms ? w->last_activity_ms : w->dispatched_ms;
        idle = now - last;
        if (!w->started || idle < c->stale_ms)
            continue;
        rules_duration(span, sizeof(span), idle);
        x = add(out, &n, max, "stale", WARNING, "stale", "%s (%s) has shown no activity for %s%s%s", w->id,
                tname(w->type), span, *w->instance ? " on " : "", w->instance);
        label(x, "id", w->id);
        label(x, "type", tname(w->type));
        /* Past the kill threshold the work is released again even when no
         * instance is known to stop (an agent that never said a word). */
        if (idle >= c->kill_ms && *nkills < maxk) {
            rules_kill *k = &kills[(*nkills)++];
            snprintf(k->id, sizeof(k->id), "%s", w->id);
            snprintf(k->instance, sizeof(k->instance), "%s", w->instance);
            k->attempt = w->attempt;
        }
    }
    for (int t = 1; t < RULES_TYPES; t++) {
        int depth = rules_queue_depth(s->ready[t], s->depth[t]);
        if (depth > c->queue_depth) {
            x = add(out, &n, max, "queue_depth", WARNING, "queues",
                    "%s queue is %d deep (%d READY, %d released and not taken; over %lld)", tname(t), depth,
                    s->ready[t], s->depth[t], c->queue_depth);
            label(x, "type", tname(t));
        }
        if (s->errors) {
            int e = rules_window_count(&s->errors[t], now, c->error_window_ms);
            if (e >= c->error_count) {
                x = add(out, &n, max, "error_rate", WARNING, "errors", "%d %s errors in the last %lld min", e, tname(t),
                        (long long)(c->error_window_ms / 60000));
                label(x, "type", tname(t));
            }
        }
        if (s->limit[t] && s->used[t] > s->limit[t]) {
            x = add(out, &n, max, "budget", WARNING, "budget", "%s is over its daily budget: %llu of %llu tokens", tname(t),
                    (unsigned long long)s->used[t], (unsigned long long)s->limit[t]);
            label(x, "type", tname(t));
        }
    }
    if (s->infra) {
        int e = rules_window_count(s->infra, now, c->error_window_ms);
        if (e >= c->infra_count)
            add(out, &n, max, "infra_errors", CRITICAL, "verifier", "%d verifier infrastructure errors in the last %lld min",
                e, (long long)(c->error_window_ms / 60000));
    }
    if (s->limit_total && s->used_total * 100 >= s->limit_total * (uint64_t)c->warn_percent) {
        int over = s->used_total >= s->limit_total;
        x = add(out, &n, max, "budget", over ? 3 : 2, "budget", "%llu of %llu daily tokens used (%llu%%)",
                (unsigned long long)s->used_total, (unsigned long long)s->limit_total,
                (unsigned long long)(s->used_total * 100 / s->limit_total));
        label(x, "type", "total");
    }
    for (int i = 0; i < s->nservices; i++) {
        const rules_service *v = &s->services[i];
        int64_t since = v->last_seen_ms ? v->last_seen_ms : s->started_ms;
        if (now - since >= c->service_grace_ms) {
            x = add(out, &n, max, "service_down", CRITICAL, "services", "%s has not answered $SRV.PING for %lld s", v->name,
                    (long long)((now - since) / 1000));
            label(x, "service", v->name);
        }
    }
    return n;
}

void rules_fingerprint(const rules_condition *c, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "%s{", c->rule);
    for (int i = 0; i < c->nlabels && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", i ? "," : "", c->keys[i], c->values[i]);
    if (used < len)
        snprintf(buf + used, len - used, "}");
}
