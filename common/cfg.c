#include "cfg.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "text.h"

#define MAX_FILE_BYTES (1024 * 1024)
#define DEFAULT_MAX_LEN 4096

static void *field(const cfg_table *t, const cfg_entry *e)
{
    return (char *)t->base + e->offset;
}

void cfg_env_name(const char *key, char *buf, size_t len)
{
    size_t i = 0;
    int n = snprintf(buf, len, "ORCH_");
    if (n < 0 || (size_t)n >= len)
        return;
    i = (size_t)n;
    for (; *key && i + 1 < len; key++)
        buf[i++] = (*key == '.' || *key == '-') ? '_' : (char)toupper((unsigned char)*key);
    buf[i] = '\0';
}

static void list_free(cfg_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void entry_clear(const cfg_table *t, const cfg_entry *e)
{
    if (e->type == CFG_STR) {
        char **p = field(t, e);
        free(*p);
        *p = NULL;
    } else if (e->type == CFG_LIST) {
        list_free(field(t, e));
    }
}

static size_t max_len(const cfg_entry *e)
{
    return e->max > 0 ? (size_t)e->max : DEFAULT_MAX_LEN;
}

/* Sets one entry from text (a default or an environment value). */
static int set_text(const cfg_table *t, const cfg_entry *e, const char *v,
                    char *why, size_t whylen)
{
    switch (e->type) {
    case CFG_STR: {
        if (strlen(v) > max_len(e)) {
            snprintf(why, whylen, "longer than %zu characters", max_len(e));
            return 0;
        }
        entry_clear(t, e);
        *(char **)field(t, e) = xstrdup(v);
        return 1;
    }
    case CFG_INT: {
        char *end;
        long long x;
        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno || end == v || *end != '\0') {
            snprintf(why, whylen, "'%s' is not a whole number", v);
            return 0;
        }
        if (x < e->min || x > e->max) {
            snprintf(why, whylen, "%lld is outside %lld..%lld", x, e->min, e->max);
            return 0;
        }
        *(long long *)field(t, e) = x;
        return 1;
    }
    case CFG_BOOL:
        if (text_ieq(v, "true") || text_ieq(v, "yes") || strcmp(v, "1") == 0 || text_ieq(v, "on"))
            *(int *)field(t, e) = 1;
        else if (text_ieq(v, "false") || text_ieq(v, "no") || strcmp(v, "0") == 0 || text_ieq(v, "off"))
            *(int *)field(t, e) = 0;
        else {
            snprintf(why, whylen, "'%s' is not true or false", v);
            return 0;
        }
        return 1;
    case CFG_ENUM:
        for (int i = 0; e->choices[i]; i++) {
            if (text_ieq(v, e->choices[i])) {
                *(int *)field(t, e) = i;
                return 1;
            }
        }
        {
            size_t used = (size_t)snprintf(why, whylen, "'%s' is not one of", v);
            for (int i = 0; e->choices[i] && used < whylen; i++)
                used += (size_t)snprintf(why + used, whylen - used, "%s %s",
                                         i ? "," : "", e->choices[i]);
        }
        return 0;
    case CFG_LIST: {
        cfg_list *l = field(t, e);
        const char *p = v;
        entry_clear(t, e);
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            const char *s = p;
            while (n && isspace((unsigned char)*s)) {
                s++;
                n--;
            }
            while (n && isspace((unsigned char)s[n - 1]))
                n--;
            if (n > max_len(e)) {
                snprintf(why, whylen, "an item is longer than %zu characters", max_len(e));
                return 0;
            }
            if (n) {
                l->v = xrealloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
                l->v[l->n++] = xstrndup(s, n);
            }
            if (!comma)
                break;
            p = comma + 1;
        }
        return 1;
    }
    }
    return 0;
}

/* Sets one entry from a JSON value in the file. */
static int set_json(const cfg_table *t, const cfg_entry *e, const cJSON *j,
                    char *why, size_t whylen)
{
    char buf[64];

    switch (e->type) {
    case CFG_STR:
    case CFG_ENUM:
        if (!cJSON_IsString(j)) {
            snprintf(why, whylen, "expected a string");
            return 0;
        }
        return set_text(t, e, j->valuestring, why, whylen);
    case CFG_INT:
        /* range first: casting an out-of-range double is undefined */
        if (!cJSON_IsNumber(j) || j->valuedouble < -9.0e18 || j->valuedouble > 9.0e18 ||
            j->valuedouble != (double)(long long)j->valuedouble) {
            snprintf(why, whylen, "expected a whole number");
            return 0;
        }
        snprintf(buf, sizeof(buf), "%lld", (long long)j->valuedouble);
        return set_text(t, e, buf, why, whylen);
    case CFG_BOOL:
        if (!cJSON_IsBool(j)) {
            snprintf(why, whylen, "expected true or false");
            return 0;
        }
        *(int *)field(t, e) = cJSON_IsTrue(j);
        return 1;
    case CFG_LIST: {
        cfg_list *l = field(t, e);
        const cJSON *it;
        if (cJSON_IsString(j))
            return set_text(t, e, j->valuestring, why, whylen);
        if (!cJSON_IsArray(j)) {
            snprintf(why, whylen, "expected a list of strings");
            return 0;
        }
        entry_clear(t, e);
        cJSON_ArrayForEach(it, j) {
            if (!cJSON_IsString(it)) {
                snprintf(why, whylen, "item %d is not a string", l->n);
                return 0;
            }
            if (strlen(it->valuestring) > max_len(e)) {
                snprintf(why, whylen, "item %d is longer than %zu characters", l->n, max_len(e));
                return 0;
            }
            l->v = xrealloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
            l->v[l->n++] = xstrdup(it->valuestring);
        }
        return 1;
    }
    }
    return 0;
}

static int find(const cfg_table *tables, size_t nt, const char *key,
                const cfg_table **t, const cfg_entry **e)
{
    for (size_t i = 0; i < nt; i++)
        for (size_t k = 0; k < tables[i].n; k++)
            if (strcmp(tables[i].entries[k].name, key) == 0) {
                *t = &tables[i];
                *e = &tables[i].entries[k];
                return 1;
            }
    return 0;
}

/* Walks the file's objects; every leaf must name a known key. */
static int apply_object(const cfg_table *tables, size_t nt, const cJSON *obj,
                        const char *prefix, const char *path,
                        char err[ERR_LEN])
{
    const cJSON *it;

    cJSON_ArrayForEach(it, obj) {
        char key[256];
        const cfg_table *t;
        const cfg_entry *e;
        char why[256];

        if (it->string[0] == '_')
            continue; /* "_comment" and the like: notes for people */
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", it->string);
        if (find(tables, nt, key, &t, &e)) {
            if (!set_json(t, e, it, why, sizeof(why))) {
                snprintf(err, ERR_LEN, "config %s: key '%s': %s", path, key, why);
                return 0;
            }
            continue;
        }
        if (cJSON_IsObject(it)) {
            if (!apply_object(tables, nt, it, key, path, err))
                return 0;
            continue;
        }
        snprintf(err, ERR_LEN, "config %s: unknown key '%s'", path, key);
        return 0;
    }
    return 1;
}

static int is_set(const cfg_table *t, const cfg_entry *e)
{
    if (e->type == CFG_STR)
        return *(char **)field(t, e) != NULL;
    if (e->type == CFG_LIST)
        return ((cfg_list *)field(t, e))->n > 0;
    return 1;
}

orch_status cfg_load(const cfg_table *tables, size_t ntables, const char *path,
                     char err[ERR_LEN])
{
    orch_status st = ORCH_ERR_INVALID;
    char *text = NULL;
    cJSON *root = NULL;
    char why[256];

    err[0] = '\0';
    for (size_t i = 0; i < ntables; i++) {
        for (size_t k = 0; k < tables[i].n; k++) {
            const cfg_entry *e = &tables[i].entries[k];
            entry_clear(&tables[i], e);
            if (e->def && !set_text(&tables[i], e, e->def, why, sizeof(why))) {
                snprintf(err, ERR_LEN, "built-in default of '%s': %s", e->name, why);
                goto out;
            }
        }
    }

    if (path) {
        const char *end = NULL;
        char rerr[ERR_LEN];
        if (fileio_read(path, MAX_FILE_BYTES, &text, NULL, rerr) != ORCH_OK) {
            snprintf(err, ERR_LEN, "config %.480s", rerr);
            st = ORCH_ERR_IO;
            goto out;
        }
        root = cJSON_ParseWithOpts(text, &end, 1);
        if (!root) {
            const char *at = cJSON_GetErrorPtr();
            size_t off = at && at >= text ? (size_t)(at - text) : 0;
            snprintf(err, ERR_LEN, "config %s: invalid JSON near byte %zu", path, off);
            goto out;
        }
        if (!cJSON_IsObject(root)) {
            snprintf(err, ERR_LEN, "config %s: top level must be an object", path);
            goto out;
        }
        if (!apply_object(tables, ntables, root, "", path, err))
            goto out;
    }

    for (size_t i = 0; i < ntables; i++) {
        for (size_t k = 0; k < tables[i].n; k++) {
            const cfg_entry *e = &tables[i].entries[k];
            char var[128];
            const char *v;
            cfg_env_name(e->name, var, sizeof(var));
            v = getenv(var);
            if (v && !set_text(&tables[i], e, v, why, sizeof(why))) {
                snprintf(err, ERR_LEN, "environment %s (key '%s'): %s", var, e->name, why);
                goto out;
            }
        }
    }

    for (size_t i = 0; i < ntables; i++) {
        for (size_t k = 0; k < tables[i].n; k++) {
            const cfg_entry *e = &tables[i].entries[k];
            if ((e->flags & CFG_REQUIRED) && !is_set(&tables[i], e)) {
                char var[128];
                cfg_env_name(e->name, var, sizeof(var));
                snprintf(err, ERR_LEN, "config %s: key '%s' is required (or set %s)",
                         path ? path : "(none)", e->name, var);
                goto out;
            }
        }
    }
    st = ORCH_OK;
out:
    cJSON_Delete(root);
    free(text);
    return st;
}

void cfg_free(const cfg_table *tables, size_t ntables)
{
    if (!tables)
        return;
    for (size_t i = 0; i < ntables; i++)
        for (size_t k = 0; k < tables[i].n; k++)
            entry_clear(&tables[i], &tables[i].entries[k]);
}

void cfg_print_help(FILE *out, const cfg_table *tables, size_t ntables)
{
    static const char *const type_names[] = {"string", "int", "bool", "enum", "list"};
    fprintf(out, "Settings (JSON file key / environment variable [type] default):\n");
    for (size_t i = 0; i < ntables; i++) {
        for (size_t k = 0; k < tables[i].n; k++) {
            const cfg_entry *e = &tables[i].entries[k];
            char var[128];
            cfg_env_name(e->name, var, sizeof(var));
            fprintf(out, "  %-28s %-32s [%s]", e->name, var, type_names[e->type]);
            if (e->type == CFG_INT)
                fprintf(out, " %lld..%lld", e->min, e->max);
            if (e->type == CFG_ENUM) {
                fprintf(out, " one of");
                for (int c = 0; e->choices[c]; c++)
                    fprintf(out, "%s%s", c ? "|" : " ", e->choices[c]);
            }
            if (e->def && *e->def && !(e->flags & CFG_SECRET))
                fprintf(out, " default %s", e->def);
            if (e->flags & CFG_REQUIRED)
                fprintf(out, " (required)");
            fprintf(out, "\n      %s\n", e->help ? e->help : "");
        }
    }
}
