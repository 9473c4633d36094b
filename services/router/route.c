#include "route.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "text.h"

route_format route_format_of(const char *ct, const char *data, size_t len)
{
    size_t i = 0;
    if (ct && *ct) {
        if (strstr(ct, "protobuf"))
            return ROUTE_PROTOBUF;
        if (strstr(ct, "json"))
            return ROUTE_JSON;
        if (strstr(ct, "text/"))
            return ROUTE_TEXT;
    }
    while (i < len && isspace((unsigned char)data[i]))
        i++;
    return i < len && (data[i] == '{' || data[i] == '[') ? ROUTE_JSON : ROUTE_TEXT;
}

/* The longest prefix of s no longer than max bytes that ends on a UTF-8
 * character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static edge_reason from_text(const char *data, size_t len, const edge_limits *l, pb_requirement ***out, size_t *n,
                             char err[ERR_LEN])
{
    size_t bad = 0, start = 0, end = len, line;
    pb_requirement *r;

    if (len > l->max_payload) {
        snprintf(err, ERR_LEN, "message is %zu bytes, at most %zu", len, l->max_payload);
        return EDGE_TOO_LARGE;
    }
    if (!text_utf8_valid(data, len, &bad)) {
        if (data[bad] == '\0') {
            snprintf(err, ERR_LEN, "text holds a NUL byte at byte %zu: refused rather than cut short (the title or "
                                   "description would end there)", bad);
            return EDGE_CONTROL_CHAR;
        }
        snprintf(err, ERR_LEN, "invalid UTF-8 at byte %zu", bad);
        return EDGE_INVALID_UTF8;
    }
    while (start < end && isspace((unsigned char)data[start]))
        start++;
    while (end > start && isspace((unsigned char)data[end - 1]))
        end--;
    if (start == end) {
        snprintf(err, ERR_LEN, "message is empty");
        return EDGE_EMPTY;
    }
    if (end - start > l->max_string) {
        snprintf(err, ERR_LEN, "text is %zu bytes, at most %zu", end - start, l->max_string);
        return EDGE_TOO_LONG;
    }
    for (line = start; line < end && data[line] != '\n' && data[line] != '\r'; line++)
        ;
    while (line > start && isspace((unsigned char)data[line - 1]))
        line--;
    r = xmalloc(sizeof(*r));
    orchestrator__v1__requirement__init(r);
    r->title = xstrndup(data + start, utf8_cut(data + start, line - start, l->max_title));
    if (line < end || line - start > l->max_title)
        r->description = xstrndup(data + start, end - start);
    *out = xcalloc(1, sizeof(**out));
    (*out)[0] = r;
    *n = 1;
    return EDGE_OK;
}

/* What routing adds to a requirement's JSON: an assigned id and its split
 * suffix, " (frontend)" on the title, originId, type, persona, status,
 * complexity, confidence, and at most CL_MAX_REASONS + 4 reasons of a rule
 * name (at most CL_RULE_LEN bytes, escaped at worst twice over) and a type. */
#define ROUTING_ALLOWANCE (16 * 1024)
_Static_assert((CL_MAX_REASONS + 4) * (2 * CL_RULE_LEN + 64) + 4 * 1024 < ROUTING_ALLOWANCE,
               "the routing allowance must cover what route_apply adds");

static edge_reason route_too_large(size_t i, size_t n, size_t size, const edge_limits *l, char err[ERR_LEN])
{
    char which[32] = "";
    if (n > 1)
        snprintf(which, sizeof(which), "[%zu]: ", i);
    snprintf(err, ERR_LEN,
             "%srequirement would be %zu bytes as JSON (what the scheduler publishes), more than the %zu allowed "
             "(%zu, less %d for what routing adds); control characters, quotes and backslashes count twice or more",
             which, size, l->max_rendered - ROUTING_ALLOWANCE, l->max_rendered, ROUTING_ALLOWANCE);
    return EDGE_TOO_LARGE;
}

edge_reason route_decode(route_format f, const char *data, size_t len, const edge_limits *l,
                         pb_requirement ***out, size_t *n, char err[ERR_LEN])
{
    edge_reason e;

    *out = NULL;
    *n = 0;
    if (f == ROUTE_JSON) {
        e = edge_requirements_from_json(data, len, l, out, n, err);
    } else if (f == ROUTE_TEXT) {
        if ((e = from_text(data, len, l, out, n, err)) == EDGE_OK)
            e = edge_requirement_check((*out)[0], l, err);
    } else {
        pb_requirement *r = NULL;
        if ((e = edge_requirement_from_protobuf(data, len, l, &r, err)) == EDGE_OK) {
            *out = xcalloc(1, sizeof(**out));
            (*out)[0] = r;
            *n = 1;
        }
    }
    for (size_t i = 0; e == EDGE_OK && i < *n; i++) {
        size_t size;
        edge_requirement_strip_internal((*out)[i]);
        size = edge_requirement_json_size((*out)[i]);
        if (size + ROUTING_ALLOWANCE > l->max_rendered)
            e = route_too_large(i, *n, size, l, err);
    }
    if (e != EDGE_OK) {
        edge_requirements_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

static void add_reason(pb_requirement *r, const char *rule, int type, int weight)
{
    pb_reason *x = xmalloc(sizeof(*x));
    orchestrator__v1__classify_reason__init(x);
    x->rule = xstrdup(rule);
    x->type = (Orchestrator__V1__AgentType)type;
    x->weight = weight;
    r->reasons = xrealloc(r->reasons, sizeof(*r->reasons) * (r->n_reasons + 1));
    r->reasons[r->n_reasons++] = x;
}

static pb_requirement *copy(const pb_requirement *r)
{
    uint8_t *buf;
    size_t len;
    pb_requirement *c;
    char err[ERR_LEN];
    if (pb_pack(&r->base, &buf, &len) != ORCH_OK)
        abort(); /* packing a well-formed message cannot fail */
    c = (pb_requirement *)pb_unpack(&orchestrator__v1__requirement__descriptor, buf, len, (size_t)-1, err);
    free(buf);
    if (!c)
        abort();
    return c;
}

static void clear_list(char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

/* Keeps in part only the files whose path rule is of type keep (files no
 * rule claims stay with the backend part). */
static void filter_files(const classifier *c, pb_requirement *part, int keep)
{
    char **files = part->files;
    size_t n = part->n_files;
    part->files = NULL;
    part->n_files = 0;
    for (size_t i = 0; i < n; i++) {
        int t = classify_path_type(c, files[i]);
        if (t == keep || (keep == CL_BACKEND && t != CL_FRONTEND))
            pb_add_str(&part->files, &part->n_files, files[i]);
    }
    clear_list(&files, &n);
}

static const char *const part_suffix[2] = {"BE", "FE"};

void route_part_id(const char *base, int part, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%s", base, part_suffix[part]);
}

/* The part's id, originId and title: "<title> (backend)", the title cut
 * on a character so that the whole stays within max_title (0: no limit);
 * the scheduler checks a plan message's title by that limit. */
static void rename_part(pb_requirement *p, const char *base_id, int part, const char *what, size_t max_title)
{
    char id[128];
    size_t n = strlen(p->title), suffix = strlen(what) + 3;
    char *title = xmalloc(n + suffix + 1);
    route_part_id(base_id, part, id, sizeof(id));
    if (max_title && n + suffix > max_title)
        n = utf8_cut(p->title, n, max_title > suffix ? max_title - suffix : 0);
    while (n && isspace((unsigned char)p->title[n - 1]))
        n--;
    sprintf(title, "%.*s (%s)", (int)n, p->title, what);
    pb_set_str(&p->id, id);
    pb_set_str(&p->origin_id, base_id);
    pb_set_str(&p->title, title);
    free(title);
}

static void classify_requirement(const classifier *c, const pb_requirement *r, cl_result *res)
{
    cl_input in;
    memset(&in, 0, sizeof(in));
    in.title = r->title;
    in.description = r->description;
    in.criteria = (const char *const *)r->acceptance_criteria;
    in.n_criteria = r->n_acceptance_criteria;
    in.files = (const char *const *)r->files;
    in.n_files = r->n_files;
    classify_run(c, &in, res);
}

/* The one rule for splitting, given the classification. A requirement that
 * names one of its own parts' ids as a dependency stays whole: split, that
 * part would depend on itself; so does one with a full list of
 * dependencies. */
static int splits(const route_opts *o, const pb_requirement *r, const cl_result *res, const char *id)
{
    if (r->type || !res->split || !o->allow_split || strlen(id) + 3 > o->max_id)
        return 0;
    if (o->max_list && r->n_dependencies + 1 > o->max_list)
        return 0; /* the frontend part's dependencies, with the backend part, would be one too many */
    for (int part = 0; part < 2; part++) {
        char pid[128];
        route_part_id(id, part, pid, sizeof(pid));
        for (size_t i = 0; i < r->n_dependencies; i++)
            if (strcmp(r->dependencies[i], pid) == 0)
                return 0;
    }
    return 1;
}

int route_will_split(const classifier *c, const route_opts *o, const pb_requirement *r, const char *id)
{
    cl_result res;
    if (r->type || !o->allow_split)
        return 0;
    classify_requirement(c, r, &res);
    return splits(o, r, &res, id);
}

edge_reason route_subject_apply(const char *subject, pb_requirement **reqs, size_t n, const edge_limits *l,
                                char err[ERR_LEN])
{
    const char *type_tok, *id;
    size_t tlen;
    Orchestrator__V1__AgentType t;
    edge_reason e = EDGE_OK;

    if (!(type_tok = names_subject_rest(subject, NAMES_FAM_WORK)))
        return EDGE_OK;
    tlen = strcspn(type_tok, ".");
    id = type_tok[tlen] == '.' ? type_tok + tlen + 1 : "";
    if (!(t = names_agent_from_subject(subject, 2))) {
        snprintf(err, ERR_LEN, "subject %.200s: '%.*s' is not an agent type (%s)", subject, (int)(tlen > 64 ? 64 : tlen),
                 type_tok, NAMES_AGENT_LIST);
        return EDGE_BAD_VALUE;
    }
    for (size_t j = 0; j < n && e == EDGE_OK; j++) {
        pb_requirement *r = reqs[j];
        char which[32] = "";
        if (n > 1)
            snprintf(which, sizeof(which), "[%zu]: ", j);
        if (r->type && r->type != t) {
            snprintf(err, ERR_LEN, "%sassignedAgent '%.64s' is not the subject's type '%s'", which, r->assigned_agent,
                     names_agent_type(t));
            return EDGE_BAD_VALUE;
        }
        r->type = t;
        if (n == 1 && *id && *r->id && strcmp(r->id, id) != 0) {
            snprintf(err, ERR_LEN, "id '%.64s' is not the subject's id '%.64s'", r->id, id);
            return EDGE_INVALID_ID;
        }
        if (n == 1 && *id && !*r->id) {
            pb_set_str(&r->id, id);
            e = edge_requirement_check(r, l, err);
        }
    }
    return e;
}

edge_reason route_intake_types(pb_requirement *const *reqs, size_t n, const char *subject, char err[ERR_LEN])
{
    for (size_t j = 0; j < n; j++) {
        const pb_requirement *r = reqs[j];
        char which[32] = "";
        if (r->type != ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW &&
            r->type != ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE)
            continue;
        if (n > 1)
            snprintf(which, sizeof(which), "[%zu].", j);
        if (subject && names_subject_rest(subject, NAMES_FAM_WORK))
            snprintf(err, ERR_LEN, "subject %.200s: '%s'", subject, names_agent_type(r->type));
        else
            snprintf(err, ERR_LEN, "field '%s%s': '%.64s'", which, *r->assigned_agent ? "assignedAgent" : "type",
                     *r->assigned_agent ? r->assigned_agent : names_agent_type(r->type));
        snprintf(err + strlen(err), ERR_LEN - strlen(err),
                 " is not an intake type: reviews and merges are asked for by the scheduler once work is verified "
                 "(intake types: backend, frontend, database, documentation)");
        return EDGE_BAD_VALUE;
    }
    return EDGE_OK;
}

void route_apply(const classifier *c, const route_opts *o, pb_requirement *r, pb_requirement **second)
{
    cl_result res;
    int explicit_type = r->type != 0;
    int split;

    *second = NULL;
    classify_requirement(c, r, &res);
    split = splits(o, r, &res, r->id);

    for (size_t i = r->n_reasons; i-- > 0;)
        orchestrator__v1__classify_reason__free_unpacked(r->reasons[i], NULL);
    free(r->reasons);
    r->reasons = NULL;
    r->n_reasons = 0;
    if (explicit_type) {
        add_reason(r, "explicit:assignedAgent", r->type, 0);
        r->confidence = 1.0f;
    } else {
        r->type = (Orchestrator__V1__AgentType)res.type;
        r->confidence = res.confidence;
    }
    for (int i = 0; i < res.n_reasons; i++)
        add_reason(r, res.reasons[i].rule, res.reasons[i].target, res.reasons[i].weight);
    if (!r->priority)
        r->priority = (Orchestrator__V1__Priority)res.priority;
    if (r->complexity)
        add_reason(r, "explicit:complexity", r->type, 0);
    else
        r->complexity = (Orchestrator__V1__Complexity)res.complexity;
    /* The size table's estimate for the size and the type as decided: an
     * explicit complexity or agent counts as much as a classified one. */
    if (!r->estimated_tokens)
        r->estimated_tokens = classify_estimate(c, r->complexity, r->type);
    r->status = ORCHESTRATOR__V1__STATUS__STATUS_CLASSIFIED;

    if (split) {
        int be = res.scores[CL_BACKEND], fe = res.scores[CL_FRONTEND];
        uint64_t total = r->estimated_tokens;
        char *base = xstrdup(r->id);
        pb_requirement *f = copy(r);

        rename_part(r, base, 0, "backend", o->max_title);
        r->type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
        r->estimated_tokens = total * (uint64_t)be / (uint64_t)(be + fe);
        filter_files(c, r, CL_BACKEND);

        rename_part(f, base, 1, "frontend", o->max_title);
        f->type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND;
        f->estimated_tokens = total - r->estimated_tokens;
        filter_files(c, f, CL_FRONTEND);
        pb_add_str(&f->dependencies, &f->n_dependencies, r->id);
        add_reason(r, "split:backend-then-frontend", CL_BACKEND, 0);
        add_reason(f, "split:backend-then-frontend", CL_FRONTEND, 0);
        free(base);
        *second = f;
    }
}

size_t route_duplicates(pb_requirement *const *reqs, size_t n, long *first)
{
    size_t dups = 0;
    for (size_t j = 0; j < n; j++) {
        first[j] = -1;
        for (size_t k = 0; k < j && first[j] < 0 && *reqs[j]->id; k++)
            if (strcmp(reqs[k]->id, reqs[j]->id) == 0)
                first[j] = (long)k;
        dups += first[j] >= 0;
    }
    return dups;
}

void route_owner(uint64_t seq, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "seq-%llu-%zu", (unsigned long long)seq, i);
}

void route_auto_id(const char *prefix, int digits, uint64_t number, char *buf, size_t len)
{
    snprintf(buf, len, "%s%0*llu", prefix, digits, (unsigned long long)number);
}

int route_recorded_ids(const char *value, size_t want, const char *prefix, int digits, char ***ids)
{
    char **v = xcalloc(want ? want : 1, sizeof(*v));
    size_t n = 0;
    const char *p = value;

    *ids = NULL;
    if (*value && strspn(value, "0123456789") == strlen(value)) {
        uint64_t first = strtoull(value, NULL, 10);
        char id[96];
        for (n = 0; n < want; n++) {
            route_auto_id(prefix, digits, first + n, id, sizeof(id));
            v[n] = xstrdup(id);
        }
        *ids = v;
        return 1;
    }
    while (*p && n < want) {
        size_t k = strcspn(p, ",");
        v[n++] = xstrndup(p, k);
        p += k;
        if (*p == ',')
            p++;
    }
    if (n != want || *p) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return 0;
    }
    *ids = v;
    return 1;
}

void route_describe(const pb_requirement *r, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "%s -> %s, %s, %s, %llu tokens (confidence %.2f;", r->id,
                                   names_agent_type(r->type), names_priority(r->priority),
                                   names_complexity(r->complexity), (unsigned long long)r->estimated_tokens,
                                   (double)r->confidence);
    for (size_t i = 0; i < r->n_reasons && used < len; i++) {
        if (r->reasons[i]->weight)
            used += (size_t)snprintf(buf + used, len - used, " %s %+d", r->reasons[i]->rule, r->reasons[i]->weight);
        else
            used += (size_t)snprintf(buf + used, len - used, " %s", r->reasons[i]->rule);
    }
    if (used < len)
        snprintf(buf + used, len - used, ")");
}
