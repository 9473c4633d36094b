#include "roadmap.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

static void add(char ***v, int *n, const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (!len || (len == 6 && !strncasecmp(s, "(none)", 6)) || (len == 4 && !strncasecmp(s, "none", 4)) ||
        (len == 1 && *s == '-'))
        return;
    *v = xrealloc(*v, sizeof(char *) * (size_t)(*n + 1));
    (*v)[(*n)++] = xstrndup(s, len);
}

static void add_list(char ***v, int *n, const char *s, size_t len)
{
    while (len) {
        const char *c = memchr(s, ',', len);
        size_t k = c ? (size_t)(c - s) : len;
        add(v, n, s, k);
        if (!c)
            break;
        len -= k + 1;
        s = c + 1;
    }
}

static void copy_value(char *dst, size_t cap, const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    snprintf(dst, cap, "%.*s", (int)len, s);
}

int roadmap_parse(const char *text, size_t len, roadmap *r, char *err, size_t errlen)
{
    size_t pos = 0;
    int lineno = 0, in_accept = 0;
    char phase[32] = "";
    rm_item *cur = NULL;

    memset(r, 0, sizeof(*r));
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        size_t content = ll;
        const char *p = line;
        lineno++;
        if (content && line[content - 1] == '\r')
            content--;
        if (!strncmp(line, "## ", 3) && strncmp(line, "### ", 4)) {
            const char *ph = strcasestr(line, "phase ");
            phase[0] = '\0';
            if (ph && ph < line + content) {
                size_t k = 0;
                ph += 6;
                while (ph + k < line + content && !isspace((unsigned char)ph[k]))
                    k++;
                snprintf(phase, sizeof(phase), "%.*s", (int)k, ph);
            }
            cur = NULL;
            in_accept = 0;
        } else if (!strncmp(line, "### ", 4)) {
            const char *h = line + 4;
            size_t idlen = 0;
            while (h + idlen < line + content && (isalnum((unsigned char)h[idlen]) || h[idlen] == '-' || h[idlen] == '_'))
                idlen++;
            r->items = xrealloc(r->items, sizeof(rm_item) * (size_t)(r->n + 1));
            cur = &r->items[r->n++];
            memset(cur, 0, sizeof(*cur));
            if (idlen == 0 || idlen > 64) {
                snprintf(err, errlen, "line %d: a requirement heading must start with its id (### REQ-042: Title)",
                         lineno);
                roadmap_free(r); /* what was parsed so far goes too */
                return -1;
            }
            snprintf(cur->id, sizeof(cur->id), "%.*s", (int)idlen, h);
            h += idlen;
            while (h < line + content && (*h == ':' || *h == ' ' || *h == '-'))
                h++;
            copy_value(cur->title, sizeof(cur->title), h, (size_t)(line + content - h));
            snprintf(cur->phase, sizeof(cur->phase), "%s", phase);
            in_accept = 0;
        } else if (cur) {
            while (p < line + content && (*p == ' ' || *p == '\t'))
                p++;
            if (p < line + content && (*p == '-' || *p == '*')) {
                const char *item = p + 1;
                const char *colon;
                size_t indent = (size_t)(p - line);
                while (item < line + content && *item == ' ')
                    item++;
                if (in_accept && indent >= 2) {
                    add(&cur->criteria, &cur->ncriteria, item, (size_t)(line + content - item));
                } else if ((colon = memchr(item, ':', (size_t)(line + content - item)))) {
                    size_t kl = (size_t)(colon - item);
                    const char *v = colon + 1;
                    size_t vl = (size_t)(line + content - v);
                    in_accept = 0;
                    if (kl == 6 && !strncasecmp(item, "Status", 6)) {
                        while (vl && *v == ' ') {
                            v++;
                            vl--;
                        }
                        cur->status_at = (size_t)(v - text);
                        cur->status_len = vl;
                        copy_value(cur->status, sizeof(cur->status), v, vl);
                    } else if (kl == 8 && !strncasecmp(item, "Priority", 8)) {
                        copy_value(cur->priority, sizeof(cur->priority), v, vl);
                    } else if ((kl == 5 && !strncasecmp(item, "Agent", 5)) ||
                               (kl == 14 && !strncasecmp(item, "Assigned agent", 14))) {
                        copy_value(cur->agent, sizeof(cur->agent), v, vl);
                    } else if ((kl == 10 && !strncasecmp(item, "Depends on", 10)) ||
                               (kl == 12 && !strncasecmp(item, "Dependencies", 12))) {
                        add_list(&cur->deps, &cur->ndeps, v, vl);
                    } else if (kl == 5 && !strncasecmp(item, "Files", 5)) {
                        add_list(&cur->files, &cur->nfiles, v, vl);
                    } else if (kl == 16 && !strncasecmp(item, "Estimated tokens", 16)) {
                        cur->est_tokens = strtoll(v, NULL, 10);
                    } else if (kl == 3 && !strncasecmp(item, "Sim", 3)) {
                        copy_value(cur->sim, sizeof(cur->sim), v, vl);
                    } else if ((kl == 10 && !strncasecmp(item, "Acceptance", 10)) ||
                               (kl == 19 && !strncasecmp(item, "Acceptance criteria", 19))) {
                        in_accept = 1;
                        add(&cur->criteria, &cur->ncriteria, v, vl);
                    }
                }
            }
        }
        pos += ll + (nl ? 1 : 0);
    }
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
        free_list(r->items[i].deps, r->items[i].ndeps);
        free_list(r->items[i].files, r->items[i].nfiles);
        free_list(r->items[i].criteria, r->items[i].ncriteria);
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

char *roadmap_pending_json(const roadmap *r)
{
    cJSON *a = cJSON_CreateArray();
    char *out;
    for (int i = 0; i < r->n; i++) {
        const rm_item *it = &r->items[i];
        cJSON *o, *m;
        if (strcasecmp(it->status, "pending") && strcasecmp(it->status, "new"))
            continue;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", it->id);
        cJSON_AddStringToObject(o, "title", it->title);
        if (*it->priority)
            cJSON_AddStringToObject(o, "priority", it->priority);
        if (*it->agent)
            cJSON_AddStringToObject(o, "assignedAgent", it->agent);
        if (it->est_tokens > 0)
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
        cJSON_AddItemToArray(a, o);
    }
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
