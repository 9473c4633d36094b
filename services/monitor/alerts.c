#include "alerts.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "text.h"

typedef struct {
    char fp[AM_FP_LEN];
    rules_condition cond;
    int64_t started_ms;
    int64_t notified_ms;      /* last firing notification; 0 never */
    Orchestrator__V1__Severity notified_severity;   /* the severity that notification announced */
    int present;              /* seen in the last observation */
} alert;

typedef struct {
    char id[32];
    rules_condition match;    /* rule and labels to match ("" rule: any) */
    int64_t expires_ms;
    char comment[128];
} silence;

struct am {
    am_cfg cfg;
    alert *a;
    int n, cap;
    silence *s;
    int ns;
    unsigned next_silence;
};

static const char *const sev_names[] = {"", "INFO", "WARNING", "CRITICAL"};

/* A severity read back from the stored state: one of the proto's, else
 * unspecified (a stored number is not trusted as an index). */
static Orchestrator__V1__Severity severity_at(const cJSON *o, const char *key)
{
    double d = cJSON_GetNumberValue(cJSON_GetObjectItem(o, key));
    return d >= ORCHESTRATOR__V1__SEVERITY__SEVERITY_INFO && d <= ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL
               ? (Orchestrator__V1__Severity)(int)d
               : ORCHESTRATOR__V1__SEVERITY__SEVERITY_UNSPECIFIED;
}

am *am_create(const am_cfg *c)
{
    am *m = xcalloc(1, sizeof(*m));
    m->cfg = *c;
    return m;
}

void am_destroy(am *m)
{
    if (!m)
        return;
    free(m->a);
    free(m->s);
    free(m);
}

static alert *find(am *m, const char *fp)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->a[i].fp, fp))
            return &m->a[i];
    return NULL;
}

static void observe(am *m, const rules_condition *c, int n, int64_t now, int partial)
{
    for (int i = 0; i < m->n && !partial; i++)
        m->a[i].present = 0;
    for (int i = 0; i < n; i++) {
        char fp[AM_FP_LEN];
        alert *a;
        rules_fingerprint(&c[i], fp, sizeof(fp));
        if (!(a = find(m, fp))) {
            if (m->n == m->cap) {
                m->cap = m->cap ? m->cap * 2 : 16;
                m->a = xrealloc(m->a, sizeof(alert) * (size_t)m->cap);
            }
            a = &m->a[m->n++];
            memset(a, 0, sizeof(*a));
            snprintf(a->fp, sizeof(a->fp), "%s", fp);
            a->started_ms = now;
        }
        a->cond = c[i];
        a->present = 1;
    }
}

void am_observe(am *m, const rules_condition *c, int n, int64_t now) { observe(m, c, n, now, 0); }

void am_observe_partial(am *m, const rules_condition *c, int n, int64_t now) { observe(m, c, n, now, 1); }

/* Due as a new announcement: never announced and past the group wait, or
 * announced at a lower severity than it has now (a budget past 100%). */
static int fresh(const am *m, const alert *a, int64_t now)
{
    if (!a->notified_ms)
        return now - a->started_ms >= m->cfg.group_wait_ms;
    return a->present && a->cond.severity > a->notified_severity;
}

static const char *label_of(const rules_condition *c, const char *k)
{
    if (!strcmp(k, "rule"))
        return c->rule;
    for (int i = 0; i < c->nlabels; i++)
        if (!strcmp(c->keys[i], k))
            return c->values[i];
    return NULL;
}

static int silenced(const am *m, const alert *a, int64_t now)
{
    for (int i = 0; i < m->ns; i++) {
        const silence *s = &m->s[i];
        int all = s->expires_ms > now;
        for (int k = 0; all && k < s->match.nlabels; k++) {
            const char *v = label_of(&a->cond, s->match.keys[k]);
            all = v && !strcmp(v, s->match.values[k]);
        }
        if (all)
            return 1;
    }
    return 0;
}

static void line(am_notification *x, const alert *a, const char *prefix)
{
    size_t used = strlen(x->text);
    snprintf(x->text + used, sizeof(x->text) - used, "%s[%s] %s: %s\n", prefix, sev_names[a->cond.severity],
             a->cond.rule, a->cond.text);
}

static void begin(am_notification *x, const alert *a, int resolved)
{
    memset(x, 0, sizeof(*x));
    x->resolved = resolved;
    x->severity = a->cond.severity;
    snprintf(x->kind, sizeof(x->kind), "%s", a->cond.rule);
    snprintf(x->group, sizeof(x->group), "%s", a->cond.group);
}

static void add_member(am_notification *x, const alert *a)
{
    if (x->nmembers < AM_MAX_MEMBERS)
        snprintf(x->members[x->nmembers++], AM_FP_LEN, "%s", a->fp);
    if (a->cond.severity > x->severity)
        x->severity = a->cond.severity;
}

int am_due(am *m, int64_t now, am_notification *out, int max)
{
    int k = 0;

    /* Resolutions, one each; the resolved alerts leave the table. */
    for (int i = 0; i < m->n;) {
        alert *a = &m->a[i];
        if (a->present) {
            i++;
            continue;
        }
        if (a->notified_ms && !silenced(m, a, now) && k < max) {
            am_notification *x = &out[k++];
            begin(x, a, 1);
            add_member(x, a);
            snprintf(x->id, sizeof(x->id), "R-%016llx", (unsigned long long)hash_fnv1a64_str(hash_fnv1a64_str(HASH_FNV1A64_INIT, a->fp),
                                                                                 "resolved") ^ (uint64_t)a->started_ms);
            snprintf(x->summary, sizeof(x->summary), "RESOLVED %s: %.200s", a->cond.rule, a->cond.text);
            line(x, a, "resolved: ");
        } else if (a->notified_ms && !silenced(m, a, now)) {
            i++; /* no room this time: keep it for the next call */
            continue;
        }
        m->a[i] = m->a[--m->n];
    }

    /* New alerts by group, after the group wait; repeats after the interval. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < m->n && k < max; i++) {
            alert *lead = &m->a[i];
            am_notification *x;
            uint64_t h = HASH_FNV1A64_INIT;
            int due;
            if (silenced(m, lead, now))
                continue;
            due = pass == 0 ? fresh(m, lead, now) : (lead->notified_ms && now - lead->notified_ms >= m->cfg.repeat_ms);
            if (!due)
                continue;
            x = &out[k++];
            begin(x, lead, 0);
            for (int j = i; j < m->n; j++) {
                alert *a = &m->a[j];
                int same = !strcmp(a->cond.group, lead->cond.group) && !silenced(m, a, now) &&
                           (pass == 0 ? !a->notified_ms || fresh(m, a, now)
                                      : a->notified_ms && now - a->notified_ms >= m->cfg.repeat_ms);
                if (!same)
                    continue;
                add_member(x, a);
                line(x, a, "");
                h = (hash_fnv1a64_str(h, a->fp) ^ (uint64_t)a->started_ms) + (uint64_t)a->cond.severity;
                a->notified_ms = now;
                a->notified_severity = a->cond.severity;
            }
            if (pass == 1)
                h ^= (uint64_t)(now / (m->cfg.repeat_ms ? m->cfg.repeat_ms : 1));
            snprintf(x->id, sizeof(x->id), "%s-%016llx", pass == 0 ? "F" : "P", (unsigned long long)h);
            if (x->nmembers == 1)
                snprintf(x->summary, sizeof(x->summary), "%s %s: %.200s", sev_names[x->severity], x->kind,
                         lead->cond.text);
            else
                snprintf(x->summary, sizeof(x->summary), "%s %d %s alerts", sev_names[x->severity], x->nmembers,
                         x->group);
        }
    }
    return k;
}

int am_silence(am *m, const char *matchers, int64_t expires_ms, const char *comment, char *id, size_t idlen)
{
    silence s;
    char buf[512], *save, *tok;
    memset(&s, 0, sizeof(s));
    snprintf(buf, sizeof(buf), "%s", matchers);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1] || s.match.nlabels == RULES_MAX_LABELS)
            return -1;
        *eq = '\0';
        snprintf(s.match.keys[s.match.nlabels], sizeof(s.match.keys[0]), "%s", tok);
        snprintf(s.match.values[s.match.nlabels], sizeof(s.match.values[0]), "%s", eq + 1);
        s.match.nlabels++;
    }
    if (!s.match.nlabels)
        return -1;
    s.expires_ms = expires_ms;
    snprintf(s.comment, sizeof(s.comment), "%s", comment ? comment : "");
    snprintf(s.id, sizeof(s.id), "S%u", ++m->next_silence);
    m->s = xrealloc(m->s, sizeof(silence) * (size_t)(m->ns + 1));
    m->s[m->ns++] = s;
    snprintf(id, idlen, "%s", s.id);
    return 0;
}

int am_unsilence(am *m, const char *id)
{
    for (int i = 0; i < m->ns; i++)
        if (!strcmp(m->s[i].id, id)) {
            m->s[i] = m->s[--m->ns];
            return 0;
        }
    return -1;
}

int am_firing(const am *m)
{
    int k = 0;
    for (int i = 0; i < m->n; i++)
        k += m->a[i].present;
    return k;
}

int am_silences(const am *m, int64_t now)
{
    int k = 0;
    for (int i = 0; i < m->ns; i++)
        k += m->s[i].expires_ms > now;
    return k;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
    return v ? v : "";
}

static cJSON *cond_json(const rules_condition *c)
{
    cJSON *o = cJSON_CreateObject(), *l = cJSON_AddObjectToObject(o, "labels");
    cJSON_AddStringToObject(o, "rule", c->rule);
    cJSON_AddStringToObject(o, "group", c->group);
    cJSON_AddStringToObject(o, "text", c->text);
    cJSON_AddNumberToObject(o, "severity", c->severity);
    for (int i = 0; i < c->nlabels; i++)
        cJSON_AddStringToObject(l, c->keys[i], c->values[i]);
    return o;
}

static void cond_from(const cJSON *o, rules_condition *c)
{
    const cJSON *it;
    memset(c, 0, sizeof(*c));
    snprintf(c->rule, sizeof(c->rule), "%s", jstr(o, "rule"));
    snprintf(c->group, sizeof(c->group), "%s", jstr(o, "group"));
    snprintf(c->text, sizeof(c->text), "%s", jstr(o, "text"));
    c->severity = severity_at(o, "severity");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "labels")) {
        if (c->nlabels == RULES_MAX_LABELS || !cJSON_IsString(it))
            break;
        snprintf(c->keys[c->nlabels], sizeof(c->keys[0]), "%s", it->string);
        snprintf(c->values[c->nlabels], sizeof(c->values[0]), "%s", it->valuestring);
        c->nlabels++;
    }
}

char *am_save(const am *m)
{
    cJSON *o = cJSON_CreateObject(), *as = cJSON_AddArrayToObject(o, "alerts"),
          *ss = cJSON_AddArrayToObject(o, "silences");
    char *txt;
    cJSON_AddNumberToObject(o, "nextSilence", m->next_silence);
    for (int i = 0; i < m->n; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "fp", m->a[i].fp);
        cJSON_AddNumberToObject(a, "started", (double)m->a[i].started_ms);
        cJSON_AddNumberToObject(a, "notified", (double)m->a[i].notified_ms);
        cJSON_AddNumberToObject(a, "notifiedSeverity", m->a[i].notified_severity);
        cJSON_AddBoolToObject(a, "present", m->a[i].present);
        cJSON_AddItemToObject(a, "cond", cond_json(&m->a[i].cond));
        cJSON_AddItemToArray(as, a);
    }
    for (int i = 0; i < m->ns; i++) {
        cJSON *s = cond_json(&m->s[i].match);
        cJSON_AddStringToObject(s, "id", m->s[i].id);
        cJSON_AddNumberToObject(s, "expires", (double)m->s[i].expires_ms);
        cJSON_AddStringToObject(s, "comment", m->s[i].comment);
        cJSON_AddItemToArray(ss, s);
    }
    txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

int am_load(am *m, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *it;
    if (!o)
        return -1;
    m->n = 0;
    m->ns = 0;
    m->next_silence = (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "nextSilence"));
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "alerts")) {
        alert *a;
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 16;
            m->a = xrealloc(m->a, sizeof(alert) * (size_t)m->cap);
        }
        a = &m->a[m->n++];
        memset(a, 0, sizeof(*a));
        snprintf(a->fp, sizeof(a->fp), "%s", jstr(it, "fp"));
        a->started_ms = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "started"));
        a->notified_ms = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "notified"));
        a->notified_severity = severity_at(it, "notifiedSeverity");
        if (a->notified_ms && !a->notified_severity) /* saved before severities were kept */
            a->notified_severity = ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL;
        a->present = cJSON_IsTrue(cJSON_GetObjectItem(it, "present"));
        cond_from(cJSON_GetObjectItem(it, "cond"), &a->cond);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "silences")) {
        silence *s;
        m->s = xrealloc(m->s, sizeof(silence) * (size_t)(m->ns + 1));
        s = &m->s[m->ns++];
        memset(s, 0, sizeof(*s));
        cond_from(it, &s->match);
        snprintf(s->id, sizeof(s->id), "%s", jstr(it, "id"));
        s->expires_ms = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "expires"));
        snprintf(s->comment, sizeof(s->comment), "%s", jstr(it, "comment"));
    }
    cJSON_Delete(o);
    return 0;
}
