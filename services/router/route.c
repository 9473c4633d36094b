#include "route.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

/* The type and id a work.requirements.<type>[.<id>] subject gives (*t 0
 * and *id "" on intake.*); EDGE_BAD_VALUE with err for an unknown type. */
static edge_reason subject_parts(const char *subject, Orchestrator__V1__AgentType *t, const char **id,
                                 char err[ERR_LEN])
{
    const char *type_tok;
    size_t tlen;

    *t = 0;
    *id = "";
    if (!subject || !(type_tok = names_subject_rest(subject, NAMES_FAM_WORK)))
        return EDGE_OK;
    tlen = strcspn(type_tok, ".");
    *id = type_tok[tlen] == '.' ? type_tok + tlen + 1 : "";
    if (!(*t = names_agent_from_subject(subject, 2))) {
        snprintf(err, ERR_LEN, "subject %.200s: '%.*s' is not an agent type (%s)", subject, (int)(tlen > 64 ? 64 : tlen),
                 type_tok, NAMES_AGENT_LIST);
        return EDGE_BAD_VALUE;
    }
    return EDGE_OK;
}

/* What the subject's type t and id say to item j of n. */
static edge_reason subject_item(Orchestrator__V1__AgentType t, const char *id, pb_requirement *r, size_t j, size_t n,
                                const edge_limits *l, char err[ERR_LEN])
{
    char which[32] = "";
    if (!t)
        return EDGE_OK;
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
        return edge_requirement_check(r, l, err);
    }
    return EDGE_OK;
}

/* Whether item j of n may enter as it is typed (route_intake_types). */
static edge_reason intake_type_item(const pb_requirement *r, size_t j, size_t n, const char *subject,
                                    char err[ERR_LEN])
{
    char which[32] = "";
    if (r->type != ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW &&
        r->type != ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE)
        return EDGE_OK;
    if (n > 1) /* which item, as every refusal of one item of a list says it */
        snprintf(which, sizeof(which), "[%zu]: ", j);
    if (subject && names_subject_rest(subject, NAMES_FAM_WORK))
        snprintf(err, ERR_LEN, "%ssubject %.200s: '%s'", which, subject, names_agent_type(r->type));
    else
        snprintf(err, ERR_LEN, "%sfield '%s': '%.64s'", which, *r->assigned_agent ? "assignedAgent" : "type",
                 *r->assigned_agent ? r->assigned_agent : names_agent_type(r->type));
    snprintf(err + strlen(err), ERR_LEN - strlen(err),
             " is not an intake type: reviews and merges are asked for by the scheduler once work is verified "
             "(intake types: backend, frontend, database, documentation)");
    return EDGE_BAD_VALUE;
}

edge_reason route_intake_types(pb_requirement *const *reqs, size_t n, const char *subject, char err[ERR_LEN])
{
    edge_reason e = EDGE_OK;
    for (size_t j = 0; j < n && e == EDGE_OK; j++)
        e = intake_type_item(reqs[j], j, n, subject, err);
    return e;
}

/* --- a message judged item by item -------------------------------------------- */

/* The items of a JSON array that parses: where each starts and ends in
 * buf. Returns how many (at most max; -1 beyond, or when buf is no array). */
static long json_items(const char *buf, size_t len, size_t *start, size_t *end, size_t max)
{
    size_t i = 0, count = 0;
    int depth = 0, in_str = 0;

    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    if (i == len || buf[i] != '[')
        return -1;
    for (; i < len; i++) {
        char ch = buf[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (depth == 1 && ch != '[' && ch != '{' && ch != ']' && ch != ',' && !isspace((unsigned char)ch)) {
            /* a scalar item: a string, or up to the next ',', ']' or space */
            if (count == max)
                return -1;
            start[count] = i;
            if (ch == '"') {
                for (i++; i < len && buf[i] != '"'; i++)
                    if (buf[i] == '\\')
                        i++;
            } else {
                while (i + 1 < len && buf[i + 1] != ',' && buf[i + 1] != ']' && !isspace((unsigned char)buf[i + 1]))
                    i++;
            }
            end[count++] = i + 1;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth == 2) {
                if (count == max)
                    return -1;
                start[count] = i;
            }
        } else if (ch == ']' || ch == '}') {
            if (depth == 2)
                end[count++] = i + 1;
            if (--depth == 0)
                return (long)count;
        }
    }
    return -1;
}

/* A refused item's stand-in: only its id, when it gave a readable one
 * (the report names it). */
static pb_requirement *stand_in(const char *item, size_t len, const edge_limits *l)
{
    pb_requirement *r = xmalloc(sizeof(*r));
    cJSON *o = cJSON_ParseWithLength(item, len);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
    char why[160];
    orchestrator__v1__requirement__init(r);
    if (id && text_id_valid(id, l->max_id, why, sizeof(why)))
        pb_set_str(&r->id, id);
    cJSON_Delete(o);
    return r;
}

static void item_refuse(route_items *x, size_t j, edge_reason why, const char *err)
{
    if (x->why[j] != EDGE_OK)
        return;
    x->why[j] = why;
    x->err[j] = xstrdup(err);
    x->n_refused++;
}

/* A JSON array refused as a whole for what one item holds: each item is
 * read on its own. Returns 0 when the message is at fault as a whole
 * (size, bytes, syntax, depth, number of items): then it stays refused. */
static int json_each_item(const char *data, size_t len, const edge_limits *l, route_items *x)
{
    size_t *start, *end, bad;
    long count;
    cJSON *root;

    if (len > l->max_payload || memchr(data, '\0', len) || !text_utf8_valid(data, len, &bad))
        return 0;
    if (!(root = cJSON_ParseWithLength(data, len)))
        return 0;
    cJSON_Delete(root);
    start = xcalloc(l->max_list + 1, sizeof(*start));
    end = xcalloc(l->max_list + 1, sizeof(*end));
    count = json_items(data, len, start, end, l->max_list);
    if (count > 0) {
        x->n = (size_t)count;
        x->reqs = xcalloc(x->n, sizeof(*x->reqs));
        x->why = xcalloc(x->n, sizeof(*x->why));
        x->err = xcalloc(x->n, sizeof(*x->err));
        for (size_t j = 0; j < x->n; j++) {
            const char *item = data + start[j];
            size_t ilen = end[j] - start[j];
            pb_requirement **one = NULL;
            size_t n1 = 0;
            char err[ERR_LEN], msg[ERR_LEN + 32];
            edge_reason e;

            if (*item != '{') {
                snprintf(msg, sizeof(msg), "[%zu]: expected a requirement object", j);
                x->reqs[j] = stand_in("{}", 2, l);
                item_refuse(x, j, EDGE_WRONG_TYPE, msg);
                continue;
            }
            e = route_decode(ROUTE_JSON, item, ilen, l, &one, &n1, err);
            if (e == EDGE_OK) {
                x->reqs[j] = one[0];
                free(one);
                continue;
            }
            x->reqs[j] = stand_in(item, ilen, l);
            snprintf(msg, sizeof(msg), "[%zu]: %s", j, err);
            item_refuse(x, j, e, msg);
        }
    }
    free(start);
    free(end);
    return count > 0;
}

edge_reason route_items_decode(route_format f, const char *subject, const char *data, size_t len,
                               const edge_limits *l, route_items *x, char err[ERR_LEN])
{
    edge_reason e;
    Orchestrator__V1__AgentType t;
    const char *id;

    memset(x, 0, sizeof(*x));
    if ((e = subject_parts(subject, &t, &id, err)) != EDGE_OK)
        return e;
    e = route_decode(f, data, len, l, &x->reqs, &x->n, err);
    if (e == EDGE_OK) {
        x->why = xcalloc(x->n, sizeof(*x->why));
        x->err = xcalloc(x->n, sizeof(*x->err));
    } else if (f != ROUTE_JSON || e == EDGE_TOO_DEEP || !json_each_item(data, len, l, x)) {
        return e;
    }
    for (size_t j = 0; j < x->n; j++) {
        char why[ERR_LEN];
        if (x->why[j] != EDGE_OK)
            continue;
        if ((e = subject_item(t, id, x->reqs[j], j, x->n, l, why)) == EDGE_OK)
            e = intake_type_item(x->reqs[j], j, x->n, subject, why);
        if (e != EDGE_OK)
            item_refuse(x, j, e, why);
    }
    if (x->n == 1 && x->n_refused) {
        /* one requirement: the message is what is refused */
        snprintf(err, ERR_LEN, "%s", x->err[0]);
        e = x->why[0];
        route_items_free(x);
        return e;
    }
    return EDGE_OK;
}

void route_items_free(route_items *x)
{
    for (size_t j = 0; x->err && j < x->n; j++)
        free(x->err[j]);
    free(x->err);
    free(x->why);
    edge_requirements_free(x->reqs, x->n);
    memset(x, 0, sizeof(*x));
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

size_t route_duplicates(pb_requirement *const *reqs, size_t n, const unsigned char *skip, long *first)
{
    size_t dups = 0;
    for (size_t j = 0; j < n; j++) {
        first[j] = -1;
        for (size_t k = 0; k < j && first[j] < 0 && *reqs[j]->id && !(skip && skip[j]); k++)
            if (!(skip && skip[k]) && strcmp(reqs[k]->id, reqs[j]->id) == 0)
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

/* --- structure: dependents and cycles ------------------------------------------ */

void route_count_dependents(pb_requirement *const *reqs, size_t n, const unsigned char *skip, size_t *count)
{
    for (size_t j = 0; j < n; j++) {
        count[j] = 0;
        if ((skip && skip[j]) || !*reqs[j]->id)
            continue;
        for (size_t k = 0; k < n; k++) {
            if (k == j || (skip && skip[k]))
                continue;
            for (size_t d = 0; d < reqs[k]->n_dependencies; d++)
                if (strcmp(reqs[k]->dependencies[d], reqs[j]->id) == 0) {
                    count[j]++;
                    break;
                }
        }
    }
}

void route_blocking(pb_requirement *r, size_t dependents)
{
    char rule[CL_RULE_LEN];
    if (r->priority_given || dependents < ROUTE_BLOCKING_DEPENDENTS ||
        (r->priority && r->priority <= ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH))
        return;
    r->priority = ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH;
    snprintf(rule, sizeof(rule), "structure:blocks %zu requirements", dependents);
    add_reason(r, rule, r->type, 0);
}

/* A depth-first walk from the newcomer's dependencies along the
 * dependencies the graph already holds, looking for the newcomer: found,
 * adding it would close a cycle. Each requirement is visited once; the
 * path to it is kept through its parent, to name the cycle. */
typedef struct {
    char *id;
    long parent;     /* index of the visit it was reached from; -1: a dependency of the newcomer */
    int expanded;
} visit;

static long visited(const visit *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* "A -> B -> ... -> A" for the newcomer id and the visit at found. */
static void name_cycle(const char *id, const visit *v, long found, char *buf, size_t len)
{
    long chain[64];
    int n = 0;
    size_t used;
    for (long at = found; at >= 0 && n < 64; at = v[at].parent)
        chain[n++] = at;
    used = (size_t)snprintf(buf, len, "%s", id);
    for (int i = n - 1; i >= 0 && used < len; i--)
        used += (size_t)snprintf(buf + used, len - used, " -> %s", v[chain[i]].id);
    if (n == 64 && used < len)
        snprintf(buf + used, len - used, " ...");
}

typedef struct {
    visit *v;
    size_t nv, max;
    long *stack;
    size_t top;
} walk;

/* Takes the dependencies next of the visit parent (-1: the newcomer's
 * own): 1 when one is the newcomer (the cycle named in buf), -1 when the
 * walk would grow past its bound, else 0 with the new ones to visit. */
static int reach(walk *w, const char *id, const char *const *next, size_t n_next, long parent, char *buf,
                 size_t len)
{
    for (size_t i = 0; i < n_next; i++) {
        if (strcmp(next[i], id) == 0) {
            size_t used;
            name_cycle(id, w->v, parent, buf, len);
            used = strlen(buf);
            if (used < len)
                snprintf(buf + used, len - used, " -> %s", id);
            return 1;
        }
        if (visited(w->v, w->nv, next[i]) >= 0)
            continue;
        if (w->nv == w->max)
            return -1;
        w->v[w->nv].id = xstrdup(next[i]);
        w->v[w->nv].parent = parent;
        w->stack[w->top++] = (long)w->nv++;
    }
    return 0;
}

int route_closes_cycle(const char *id, const char *const *deps, size_t n_deps, route_deps_fn fn, void *ctx,
                       size_t max_visits, char *buf, size_t len)
{
    walk w = {xcalloc(max_visits ? max_visits : 1, sizeof(visit)), 0, max_visits,
              xcalloc(max_visits ? max_visits : 1, sizeof(long)), 0};
    int rc = reach(&w, id, deps, n_deps, -1, buf, len);

    while (rc == 0 && w.top > 0) {
        long at = w.stack[--w.top];
        const char *const *next = NULL;
        size_t n_next = 0;
        if (w.v[at].expanded)
            continue;
        w.v[at].expanded = 1;
        if (fn(ctx, w.v[at].id, &next, &n_next) != 0)
            rc = -1; /* a dependency could not be read: not known either way */
        else
            rc = reach(&w, id, next, n_next, at, buf, len);
    }
    for (size_t i = 0; i < w.nv; i++)
        free(w.v[i].id);
    free(w.v);
    free(w.stack);
    return rc;
}
