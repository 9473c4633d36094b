#include "roadmap.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

/* The first problem an item has, kept: "line N: field 'F': ...". */
static void problem(rm_item *it, int lineno, const char *reason, const char *field, const char *what)
{
    char buf[300];
    if (it->problem)
        return;
    snprintf(buf, sizeof(buf), "line %d: field '%s' %s", lineno, field, what);
    it->problem = xstrdup(buf);
    it->problem_reason = reason;
}

/* s[0..len) trimmed of spaces at both ends. */
static const char *trim(const char *s, size_t *len)
{
    while (*len && isspace((unsigned char)*s)) {
        s++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)s[*len - 1]))
        (*len)--;
    return s;
}

/* A value of field, whole and trimmed (malloc'd). A NUL byte in it would
 * end the string there and cut the rest without a word: the item gets a
 * problem instead. */
static char *value(rm_item *it, int lineno, const char *field, const char *s, size_t len)
{
    s = trim(s, &len);
    if (memchr(s, '\0', len))
        problem(it, lineno, "control_character", field, "holds a NUL byte: refused rather than cut short");
    return xstrndup(s, len);
}

static void set(char **dst, rm_item *it, int lineno, const char *field, const char *s, size_t len)
{
    free(*dst);
    *dst = value(it, lineno, field, s, len);
}

static void add(rm_item *it, int lineno, const char *field, char ***v, int *n, const char *s, size_t len)
{
    s = trim(s, &len);
    if (!len || (len == 6 && !strncasecmp(s, "(none)", 6)) || (len == 4 && !strncasecmp(s, "none", 4)) ||
        (len == 1 && *s == '-'))
        return;
    *v = xrealloc(*v, sizeof(char *) * (size_t)(*n + 1));
    (*v)[(*n)++] = value(it, lineno, field, s, len);
}

static void add_list(rm_item *it, int lineno, const char *field, char ***v, int *n, const char *s, size_t len)
{
    while (len) {
        const char *c = memchr(s, ',', len);
        size_t k = c ? (size_t)(c - s) : len;
        add(it, lineno, field, v, n, s, k);
        if (!c)
            break;
        len -= k + 1;
        s = c + 1;
    }
}

/* "Estimated tokens": a whole number, as written; anything else ("40k",
 * "lots", a number past what a long long holds) is a problem, not 40 or 0. */
static void estimate(rm_item *it, int lineno, const char *s, size_t len)
{
    char buf[32], *end = NULL;
    long long v;
    s = trim(s, &len);
    it->has_est = 0;
    if (len == 0)
        return;
    if (len >= sizeof(buf) || memchr(s, '\0', len)) {
        problem(it, lineno, "bad_value", "Estimated tokens", "is not a whole number");
        return;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (end == buf || *end || errno == ERANGE) {
        char what[80];
        snprintf(what, sizeof(what), "'%.30s' is not a whole number of tokens", buf);
        problem(it, lineno, "bad_value", "Estimated tokens", what);
        return;
    }
    it->est_tokens = v;
    it->has_est = 1;
}

static void item_init(rm_item *it, int lineno)
{
    memset(it, 0, sizeof(*it));
    it->line = lineno;
    it->id = xstrdup("");
    it->title = xstrdup("");
    it->status = xstrdup("");
    it->priority = xstrdup("");
    it->agent = xstrdup("");
    it->phase = xstrdup("");
    it->sim = xstrdup("");
}

int roadmap_parse(const char *text, size_t len, roadmap *r, char *err, size_t errlen)
{
    size_t pos = 0;
    int lineno = 0, in_accept = 0;
    char *phase = xstrdup("");
    rm_item *cur = NULL;

    memset(r, 0, sizeof(*r));
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        size_t content = ll;
        const char *p = line, *eol;
        lineno++;
        if (content && line[content - 1] == '\r')
            content--;
        eol = line + content;
        if (content >= 3 && !strncmp(line, "## ", 3) && strncmp(line, "### ", 4)) {
            const char *ph = NULL;
            for (const char *q = line; q + 6 <= eol && !ph; q++)
                if (!strncasecmp(q, "phase ", 6))
                    ph = q + 6;
            free(phase);
            if (ph) {
                size_t k = 0;
                while (ph + k < eol && !isspace((unsigned char)ph[k]))
                    k++;
                phase = xstrndup(ph, k);
            } else {
                phase = xstrdup("");
            }
            cur = NULL;
            in_accept = 0;
        } else if (content >= 4 && !strncmp(line, "### ", 4)) {
            const char *h = line + 4;
            size_t idlen = 0;
            /* the id is all up to a space or a colon, whatever it holds:
             * "RH-ü" stays "RH-ü" and intake says what is wrong with it */
            while (h + idlen < eol && !isspace((unsigned char)h[idlen]) && h[idlen] != ':')
                idlen++;
            if (idlen == 0) {
                snprintf(err, errlen, "line %d: a requirement heading must start with its id (### REQ-042: Title)",
                         lineno);
                free(phase);
                roadmap_free(r); /* what was parsed so far goes too */
                return -1;
            }
            r->items = xrealloc(r->items, sizeof(rm_item) * (size_t)(r->n + 1));
            cur = &r->items[r->n++];
            item_init(cur, lineno);
            set(&cur->id, cur, lineno, "id", h, idlen);
            h += idlen;
            while (h < eol && (*h == ':' || *h == ' ' || *h == '-'))
                h++;
            set(&cur->title, cur, lineno, "title", h, (size_t)(eol - h));
            free(cur->phase);
            cur->phase = xstrdup(phase);
            in_accept = 0;
        } else if (cur) {
            while (p < eol && (*p == ' ' || *p == '\t'))
                p++;
            if (p < eol && (*p == '-' || *p == '*')) {
                const char *item = p + 1;
                const char *colon;
                size_t indent = (size_t)(p - line);
                while (item < eol && *item == ' ')
                    item++;
                if (in_accept && indent >= 2) {
                    add(cur, lineno, "Acceptance", &cur->criteria, &cur->ncriteria, item, (size_t)(eol - item));
                } else if ((colon = memchr(item, ':', (size_t)(eol - item)))) {
                    size_t kl = (size_t)(colon - item);
                    const char *v = colon + 1;
                    size_t vl = (size_t)(eol - v);
                    in_accept = 0;
                    if (kl == 6 && !strncasecmp(item, "Status", 6)) {
                        while (vl && *v == ' ') {
                            v++;
                            vl--;
                        }
                        cur->status_at = (size_t)(v - text);
                        cur->status_len = vl;
                        set(&cur->status, cur, lineno, "Status", v, vl);
                    } else if (kl == 8 && !strncasecmp(item, "Priority", 8)) {
                        set(&cur->priority, cur, lineno, "Priority", v, vl);
                    } else if ((kl == 5 && !strncasecmp(item, "Agent", 5)) ||
                               (kl == 14 && !strncasecmp(item, "Assigned agent", 14))) {
                        set(&cur->agent, cur, lineno, "Agent", v, vl);
                    } else if ((kl == 10 && !strncasecmp(item, "Depends on", 10)) ||
                               (kl == 12 && !strncasecmp(item, "Dependencies", 12))) {
                        add_list(cur, lineno, "Depends on", &cur->deps, &cur->ndeps, v, vl);
                    } else if (kl == 5 && !strncasecmp(item, "Files", 5)) {
                        add_list(cur, lineno, "Files", &cur->files, &cur->nfiles, v, vl);
                    } else if (kl == 16 && !strncasecmp(item, "Estimated tokens", 16)) {
                        estimate(cur, lineno, v, vl);
                    } else if (kl == 3 && !strncasecmp(item, "Sim", 3)) {
                        set(&cur->sim, cur, lineno, "Sim", v, vl);
                    } else if ((kl == 10 && !strncasecmp(item, "Acceptance", 10)) ||
                               (kl == 19 && !strncasecmp(item, "Acceptance criteria", 19))) {
                        in_accept = 1;
                        add(cur, lineno, "Acceptance", &cur->criteria, &cur->ncriteria, v, vl);
                    }
                }
            }
        }
        pos += ll + (nl ? 1 : 0);
    }
    free(phase);
    return 0;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void roadmap_free(roadmap *r)
{
    for (int i = 0; i < r->n; i++) {
        rm_item *it = &r->items[i];
        free_list(it->deps, it->ndeps);
        free_list(it->files, it->nfiles);
        free_list(it->criteria, it->ncriteria);
        free(it->id);
        free(it->title);
        free(it->status);
        free(it->priority);
        free(it->agent);
        free(it->phase);
        free(it->sim);
        free(it->problem);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static cJSON *strings(char **v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

int roadmap_item_pending(const rm_item *it)
{
    return !strcasecmp(it->status, "pending") || !strcasecmp(it->status, "new");
}

static cJSON *item_object(const rm_item *it)
{
    cJSON *o = cJSON_CreateObject(), *m;
    cJSON_AddStringToObject(o, "id", it->id);
    cJSON_AddStringToObject(o, "title", it->title);
    if (*it->priority)
        cJSON_AddStringToObject(o, "priority", it->priority);
    if (*it->agent)
        cJSON_AddStringToObject(o, "assignedAgent", it->agent);
    if (it->has_est)
        cJSON_AddNumberToObject(o, "estimatedTokens", (double)it->est_tokens);
    cJSON_AddItemToObject(o, "dependencies", strings(it->deps, it->ndeps));
    cJSON_AddItemToObject(o, "acceptanceCriteria", strings(it->criteria, it->ncriteria));
    cJSON_AddItemToObject(o, "files", strings(it->files, it->nfiles));
    m = cJSON_AddObjectToObject(o, "metadata");
    if (*it->phase)
        cJSON_AddStringToObject(m, "phase", it->phase);
    cJSON_AddStringToObject(m, "requestedBy", "roadmap");
    if (*it->sim)
        cJSON_AddStringToObject(m, "sim", it->sim);
    return o;
}

char *roadmap_item_json(const rm_item *it)
{
    cJSON *o = item_object(it);
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

char *roadmap_pending_json(const roadmap *r)
{
    cJSON *a = cJSON_CreateArray();
    char *out;
    for (int i = 0; i < r->n; i++)
        if (roadmap_item_pending(&r->items[i]) && !r->items[i].problem)
            cJSON_AddItemToArray(a, item_object(&r->items[i]));
    if (cJSON_GetArraySize(a) == 0) {
        cJSON_Delete(a);
        return NULL;
    }
    out = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return out;
}

char *roadmap_with_status(const char *text, size_t len, const roadmap *r,
                          const char *(*status_of)(const char *id, void *arg), void *arg, int *changed)
{
    size_t cap = len + 1, o = 0, pos = 0;
    char *out = xmalloc(cap);
    *changed = 0;
    /* items are in text order: copy up to each Status value, then the new one */
    for (int i = 0; i < r->n; i++) {
        const rm_item *it = &r->items[i];
        const char *now;
        size_t nl;
        if (!it->status_len || !(now = status_of(it->id, arg)))
            continue;
        nl = strlen(now);
        if (nl == it->status_len && !memcmp(text + it->status_at, now, nl))
            continue;
        cap += nl + 1;
        out = xrealloc(out, cap);
        memcpy(out + o, text + pos, it->status_at - pos);
        o += it->status_at - pos;
        memcpy(out + o, now, nl);
        o += nl;
        pos = it->status_at + it->status_len;
        (*changed)++;
    }
    memcpy(out + o, text + pos, len - pos);
    o += len - pos;
    out[o] = '\0';
    return out;
}

const char *roadmap_state_word(const cJSON *status, char *buf, size_t len)
{
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(status, "status"));
    if (!st)
        st = "";
    if (!strcmp(st, "COMPLETE"))
        snprintf(buf, len, "Complete");
    else if (!strcmp(st, "DISPATCHED") || !strcmp(st, "VERIFYING"))
        snprintf(buf, len, "In Progress");
    else if (!strcmp(st, "REVIEWING"))
        snprintf(buf, len, "In Review");
    else if (!strcmp(st, "MERGING"))
        snprintf(buf, len, "Merging");
    else if (!strcmp(st, "ESCALATED"))
        snprintf(buf, len, "Escalated");
    else if (!strcmp(st, "BLOCKED")) {
        const cJSON *b, *it;
        size_t used = (size_t)snprintf(buf, len, "Blocked by");
        b = cJSON_GetObjectItem(status, "blockedBy");
        cJSON_ArrayForEach(it, b) used += (size_t)snprintf(buf + used, len > used ? len - used : 0, "%s %s",
                                                           it == b->child ? "" : ",",
                                                           cJSON_IsString(it) ? it->valuestring : "?");
    } else if (*st)
        snprintf(buf, len, "Ready");
    else
        buf[0] = '\0';
    return buf;
}
