#include "classify.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "names.h"
#include "text.h"

#define MAX_PHRASES 4096
#define MAX_TOKENS 4096     /* words scanned per requirement; the rest ignored */
#define MAX_WORD 64
#define STEM_LEAD_BITS 1024 /* a filter on a word's first two letters for the stems */

const char classify_default_rules[] =
    "{"
    "\"weights\": {\"word\": 2, \"phrase\": 3, \"path\": 10},"
    "\"types\": {"
    " \"backend\": {\"words\": [\"API\", \"endpoint\", \"GraphQL\", \"database query\", \"PostgreSQL\","
    "   \"business logic\", \"service\", \"NATS\", \"Kafka\", \"event\"],"
    "   \"paths\": [\"src/api/\", \"src/services/\", \"src/db/\"]},"
    " \"frontend\": {\"words\": [\"UI\", \"component\", \"page\", \"React\", \"Material-UI\", \"dashboard\","
    "   \"form\", \"view\", \"user experience\", \"responsive\"],"
    "   \"paths\": [\"src/components/\", \"src/pages/\"]},"
    " \"database\": {\"words\": [\"migration\", \"schema change\", \"table\", \"column\", \"index\","
    "   \"ALTER TABLE\", \"CREATE TABLE\"],"
    "   \"paths\": [\"src/db/migrations/\"]},"
    " \"documentation\": {\"words\": [\"documentation\", \"README\", \"API docs\", \"user guide\", \"CHANGELOG\","
    "   \"release notes\"],"
    "   \"paths\": [\"docs/\", \"README.md\", \"CHANGELOG.md\"]}"
    "},"
    "\"priorities\": {"
    " \"CRITICAL\": [\"production down\", \"prod down\", \"production outage\", \"down in production\","
    "   \"down in prod\", \"site down\", \"outage\", \"production crash*\", \"crash* in production\","
    "   \"crash* in prod\", \"data corrupt*\", \"corrupt* data\", \"corrupt* records\", \"database corrupt*\","
    "   \"corrupt* database\", \"data loss\", \"data lost\", \"lose data\", \"loses data\", \"losing data\","
    "   \"lost data\", \"security vulnerabilit*\","
    "   \"vulnerabilit*\", \"CVE\", \"SQL injection\", \"XSS\", \"security hole\", \"security breach\","
    "   \"data breach\"],"
    " \"HIGH\": [\"blocking\", \"blocker\", \"blocks\", \"user-facing\", \"user facing\", \"bug\", \"regress*\","
    "   \"breaking change\", \"breaks\", \"broke\", \"broken\", \"crash*\", \"fail* for users\"],"
    " \"MEDIUM\": [\"feature\", \"enhancement\", \"refactor\", \"refactoring\", \"implement\", \"add\", \"new\"],"
    " \"LOW\": [\"documentation\", \"docs\", \"README\", \"cleanup\", \"clean up\", \"typo\", \"typos\","
    "   \"nice to have\", \"nice-to-have\", \"cosmetic\", \"polish\"]"
    "}"
    "}";

typedef enum { K_TYPE = 0, K_PRIO } kind;

typedef struct {
    char rule[CL_RULE_LEN];
    kind kind;
    int target;
    int weight;
    int ntok;
    char **tok;       /* lower case */
    unsigned stem;    /* bit j: tok[j] is a stem ("corrupt*"), any word it begins */
} phrase;

typedef struct {
    char *key;        /* first word, lower case; NULL: empty slot */
    int *idx;         /* phrases starting with it */
    int nidx;
} slot;

typedef struct {
    char *prefix;     /* "src/api/" or "README.md" */
    size_t len;
    int is_dir;
    int type;
} path_rule;

struct classifier {
    phrase *phrases;
    int nphrases;
    slot *table;
    size_t cap;       /* power of two */
    int *stem_first;  /* phrases whose first word is a stem: tried at every word */
    int nstem_first;  /* that begins as one of them (stem_lead) */
    unsigned char stem_lead[STEM_LEAD_BITS / 8];
    path_rule *paths;
    int npaths;
    int w_word, w_phrase, w_path;
    int default_type;
    cl_size_table size;
};

_Static_assert(CL_NTYPES == NAMES_AGENT_TYPES, "the classifier's types are the protocol's agent types");
static const char *const prio_names[5] = {"", "CRITICAL", "HIGH", "MEDIUM", "LOW"};

void classify_size_default(cl_size_table *t)
{
    memset(t, 0, sizeof(*t));
    t->s_max = 3;
    t->m_max = 8;
    t->l_max = 14;
    t->tokens[CL_S] = 10000;
    t->tokens[CL_M] = 40000;
    t->tokens[CL_L] = 80000;
    t->tokens[CL_XL] = 150000;
    for (int i = 0; i < CL_NTYPES; i++)
        t->type_percent[i] = 100;
    t->type_percent[CL_DOCUMENTATION] = 50;
    t->type_percent[CL_REVIEW] = 50;
}

/* --- tokens -------------------------------------------------------------- */

typedef struct {
    const char *s;
    int len;
    int glued;        /* part of a path or file name */
} token;

static int is_word(char c) { return isalnum((unsigned char)c) != 0; }
static int is_glue(char c) { return c == '.' || c == '/' || c == '\\' || c == '_'; }

/* Splits text into words; returns how many were stored (at most max). */
static int tokenize(const char *text, token *out, int max)
{
    int n = 0;
    const char *p = text;

    while (*p && n < max) {
        const char *start;
        while (*p && !is_word(*p))
            p++;
        if (!*p)
            break;
        start = p;
        while (*p && is_word(*p))
            p++;
        out[n].s = start;
        out[n].len = (int)(p - start);
        out[n].glued = (start > text && is_glue(start[-1]) && start - 1 > text && is_word(start[-2])) ||
                       (is_glue(*p) && is_word(p[1]));
        n++;
    }
    return n;
}

static uint64_t hash_lower(const char *s, int len)
{
    uint64_t h = HASH_FNV1A64_INIT;
    for (int i = 0; i < len; i++)
        h = hash_fnv1a64_byte(h, (unsigned char)tolower((unsigned char)s[i]));
    return h;
}

static const slot *lookup(const classifier *c, const char *s, int len)
{
    size_t i = (size_t)hash_lower(s, len) & (c->cap - 1);
    for (;;) {
        const slot *sl = &c->table[i];
        if (!sl->key)
            return NULL;
        if ((int)strlen(sl->key) == len && strncasecmp(sl->key, s, (size_t)len) == 0)
            return sl;
        i = (i + 1) & (c->cap - 1);
    }
}

/* Equal ignoring case; plural: also when t is w + "s" or w + "es"; stem:
 * when t begins with w. */
static int word_eq(const token *t, const char *w, int plural, int stem)
{
    int wl = (int)strlen(w);
    if (stem)
        return t->len >= wl && strncasecmp(t->s, w, (size_t)wl) == 0;
    if (t->len == wl)
        return strncasecmp(t->s, w, (size_t)wl) == 0;
    if (!plural || strncasecmp(t->s, w, (size_t)wl) != 0)
        return 0;
    if (t->len == wl + 1)
        return tolower((unsigned char)t->s[wl]) == 's';
    if (t->len == wl + 2)
        return strncasecmp(t->s + wl, "es", 2) == 0;
    return 0;
}

/* Where a word's first two letters fall in the stems' filter (a one-letter
 * stem marks all of its first letter's: it is tried at every word). */
static unsigned stem_lead(const char *s, int len)
{
    unsigned a = (unsigned char)tolower((unsigned char)s[0]);
    unsigned b = len > 1 ? (unsigned char)tolower((unsigned char)s[1]) : 0;
    return (a * 37u + b) % STEM_LEAD_BITS;
}

/* --- compile --------------------------------------------------------------- */

static void table_insert(classifier *c, const char *key, int idx)
{
    int len = (int)strlen(key);
    size_t i = (size_t)hash_lower(key, len) & (c->cap - 1);
    for (;;) {
        slot *sl = &c->table[i];
        if (!sl->key) {
            sl->key = xstrdup(key);
        }
        if (strcmp(sl->key, key) == 0) {
            sl->idx = xrealloc(sl->idx, sizeof(int) * (size_t)(sl->nidx + 1));
            sl->idx[sl->nidx++] = idx;
            return;
        }
        i = (i + 1) & (c->cap - 1);
    }
}

static int add_phrase(classifier *c, const char *text, kind k, int target, char err[ERR_LEN], const char *where)
{
    token toks[17];
    int n = tokenize(text, toks, 17);
    phrase *p;

    if (n > 16 || strstr(text, "**")) {
        snprintf(err, ERR_LEN, "rules: %s: '%s' has more than 16 words or a '**'", where, text);
        return 0;
    }

    if (n == 0) {
        snprintf(err, ERR_LEN, "rules: %s: '%s' has no words", where, text);
        return 0;
    }
    if (c->nphrases == MAX_PHRASES) {
        snprintf(err, ERR_LEN, "rules: more than %d rules", MAX_PHRASES);
        return 0;
    }
    p = &c->phrases[c->nphrases];
    memset(p, 0, sizeof(*p));
    snprintf(p->rule, sizeof(p->rule), "%s:%s", k == K_TYPE ? (n > 1 ? "phrase" : "word") : "priority", text);
    p->kind = k;
    p->target = target;
    p->weight = k == K_PRIO ? 1 : (n > 1 ? c->w_phrase : c->w_word);
    p->ntok = n;
    p->tok = xcalloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        p->tok[i] = xstrndup(toks[i].s, (size_t)toks[i].len);
        for (char *q = p->tok[i]; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        if (toks[i].s[toks[i].len] == '*')
            p->stem |= 1u << i;
    }
    c->nphrases++;
    return 1;
}

static int type_from_name(const char *s)
{
    for (int i = 1; i < CL_NTYPES; i++)
        if (text_ieq(s, names_agent_type((Orchestrator__V1__AgentType)i)))
            return i;
    return 0;
}

static int read_weight(const cJSON *w, const char *key, int *out, char err[ERR_LEN])
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(w, key);
    if (!j)
        return 1;
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 1000) {
        snprintf(err, ERR_LEN, "rules: weights.%s must be a number 0..1000", key);
        return 0;
    }
    *out = (int)j->valuedouble;
    return 1;
}

static int read_strings(const cJSON *arr, const char *where, char err[ERR_LEN])
{
    const cJSON *it;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, ERR_LEN, "rules: %s must be a list of strings", where);
        return 0;
    }
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it) || !*it->valuestring || strlen(it->valuestring) > 200) {
            snprintf(err, ERR_LEN, "rules: %s must hold non-empty strings of at most 200 bytes", where);
            return 0;
        }
    }
    return 1;
}

orch_status classify_create(classifier **out, const char *rules_json, size_t len, int default_type,
                            const cl_size_table *size, char err[ERR_LEN])
{
    classifier *c = xcalloc(1, sizeof(*c));
    cJSON *root = cJSON_ParseWithLength(rules_json, len);
    const cJSON *types, *prios, *ty, *it;
    char where[96];

    *out = NULL;
    c->w_word = 2;
    c->w_phrase = 3;
    c->w_path = 10;
    c->default_type = default_type;
    if (size)
        c->size = *size;
    else
        classify_size_default(&c->size);
    c->phrases = xcalloc(MAX_PHRASES, sizeof(phrase));

    if (!root || !cJSON_IsObject(root)) {
        snprintf(err, ERR_LEN, "rules: not a JSON object");
        goto fail;
    }
    {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(root, "weights");
        if (w && (!read_weight(w, "word", &c->w_word, err) || !read_weight(w, "phrase", &c->w_phrase, err) ||
                  !read_weight(w, "path", &c->w_path, err)))
            goto fail;
    }
    types = cJSON_GetObjectItemCaseSensitive(root, "types");
    if (!cJSON_IsObject(types)) {
        snprintf(err, ERR_LEN, "rules: 'types' must be an object of agent types");
        goto fail;
    }
    cJSON_ArrayForEach(ty, types) {
        int t = type_from_name(ty->string);
        const cJSON *words = cJSON_GetObjectItemCaseSensitive(ty, "words");
        const cJSON *paths = cJSON_GetObjectItemCaseSensitive(ty, "paths");
        if (!t) {
            snprintf(err, ERR_LEN, "rules: unknown agent type 'types.%s'", ty->string);
            goto fail;
        }
        if (words) {
            snprintf(where, sizeof(where), "types.%s.words", ty->string);
            if (!read_strings(words, where, err))
                goto fail;
            cJSON_ArrayForEach(it, words) if (!add_phrase(c, it->valuestring, K_TYPE, t, err, where)) goto fail;
        }
        if (paths) {
            snprintf(where, sizeof(where), "types.%s.paths", ty->string);
            if (!read_strings(paths, where, err))
                goto fail;
            cJSON_ArrayForEach(it, paths) {
                path_rule *pr;
                c->paths = xrealloc(c->paths, sizeof(*c->paths) * (size_t)(c->npaths + 1));
                pr = &c->paths[c->npaths++];
                pr->prefix = xstrdup(it->valuestring);
                pr->len = strlen(pr->prefix);
                pr->is_dir = pr->prefix[pr->len - 1] == '/';
                pr->type = t;
            }
        }
    }
    prios = cJSON_GetObjectItemCaseSensitive(root, "priorities");
    if (prios) {
        if (!cJSON_IsObject(prios)) {
            snprintf(err, ERR_LEN, "rules: 'priorities' must be an object");
            goto fail;
        }
        cJSON_ArrayForEach(ty, prios) {
            int p = 0;
            for (int i = 1; i < 5; i++)
                if (text_ieq(ty->string, prio_names[i]))
                    p = i;
            if (!p) {
                snprintf(err, ERR_LEN, "rules: unknown priority 'priorities.%s'", ty->string);
                goto fail;
            }
            snprintf(where, sizeof(where), "priorities.%s", ty->string);
            if (!read_strings(ty, where, err))
                goto fail;
            cJSON_ArrayForEach(it, ty) if (!add_phrase(c, it->valuestring, K_PRIO, p, err, where)) goto fail;
        }
    }
    c->cap = 16;
    while (c->cap < (size_t)c->nphrases * 2 + 1)
        c->cap *= 2;
    c->table = xcalloc(c->cap, sizeof(slot));
    for (int i = 0; i < c->nphrases; i++) {
        if (c->phrases[i].stem & 1u) {
            unsigned lead = stem_lead(c->phrases[i].tok[0], (int)strlen(c->phrases[i].tok[0]));
            c->stem_first = xrealloc(c->stem_first, sizeof(int) * (size_t)(c->nstem_first + 1));
            c->stem_first[c->nstem_first++] = i;
            c->stem_lead[lead / 8] |= (unsigned char)(1u << (lead % 8));
            for (unsigned b = 0; !c->phrases[i].tok[0][1] && b < 256; b++) {
                lead = stem_lead((const char[]){c->phrases[i].tok[0][0], (char)b}, 2);
                c->stem_lead[lead / 8] |= (unsigned char)(1u << (lead % 8));
            }
        } else {
            table_insert(c, c->phrases[i].tok[0], i);
        }
    }
    cJSON_Delete(root);
    *out = c;
    return ORCH_OK;
fail:
    cJSON_Delete(root);
    classify_destroy(c);
    return ORCH_ERR_INVALID;
}

void classify_destroy(classifier *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nphrases; i++) {
        for (int k = 0; k < c->phrases[i].ntok; k++)
            free(c->phrases[i].tok[k]);
        free(c->phrases[i].tok);
    }
    free(c->phrases);
    for (size_t i = 0; c->table && i < c->cap; i++) {
        free(c->table[i].key);
        free(c->table[i].idx);
    }
    free(c->table);
    free(c->stem_first);
    for (int i = 0; i < c->npaths; i++)
        free(c->paths[i].prefix);
    free(c->paths);
    free(c);
}

size_t classify_rule_count(const classifier *c)
{
    return (size_t)c->nphrases + (size_t)c->npaths;
}

/* --- run ------------------------------------------------------------------- */

typedef struct {
    const classifier *c;
    cl_result *r;
    unsigned char seen[MAX_PHRASES / 8];
    int prio_hit[5];
    int words;
} run_state;

static void add_reason(cl_result *r, const char *rule, int target, int weight)
{
    if (r->n_reasons == CL_MAX_REASONS)
        return;
    snprintf(r->reasons[r->n_reasons].rule, CL_RULE_LEN, "%s", rule);
    r->reasons[r->n_reasons].target = target;
    r->reasons[r->n_reasons].weight = weight;
    r->n_reasons++;
}

static void hit(run_state *st, int idx)
{
    const phrase *p = &st->c->phrases[idx];
    if (st->seen[idx / 8] & (1u << (idx % 8)))
        return;
    st->seen[idx / 8] |= (unsigned char)(1u << (idx % 8));
    if (p->kind == K_PRIO) {
        st->prio_hit[p->target] = 1;
        add_reason(st->r, p->rule, p->target, 0);
        return;
    }
    st->r->scores[p->target] += p->weight;
    add_reason(st->r, p->rule, p->target, p->weight);
}

/* Words a sentence puts between the words of a priority phrase: "data is
 * being corrupted" says "data corrupt*", "production is completely down"
 * says "production down". Type rules name things and match as written. */
static const char *const fillers[] = {"is", "are", "was", "were", "be", "been", "being", "has", "have", "had",
                                      "got", "gets", "getting", "keeps", "still", "now", "currently", "completely",
                                      "totally", "fully", "partly", "all", "the", "our", "a", "an", "its", "their",
                                      "some", "again", NULL};
#define MAX_FILLERS 3   /* in a row, between two words of a phrase */

static int is_filler(const token *t)
{
    for (int i = 0; fillers[i]; i++)
        if ((int)strlen(fillers[i]) == t->len && strncasecmp(fillers[i], t->s, (size_t)t->len) == 0)
            return 1;
    return 0;
}

/* How many words phrase p covers when it matches at toks[i], fillers
 * included; 0 when it does not match there. */
static int match_at(const phrase *p, const token *toks, int n, int i)
{
    int at = i;
    for (int j = 0; j < p->ntok; j++) {
        int skipped = 0;
        for (;;) {
            if (at >= n || toks[at].glued)
                return 0;
            if (word_eq(&toks[at], p->tok[j], j == p->ntok - 1, (p->stem >> j) & 1u))
                break;
            if (j == 0 || p->kind != K_PRIO || skipped == MAX_FILLERS || !is_filler(&toks[at]))
                return 0;
            at++;
            skipped++;
        }
        at++;
    }
    return at - i;
}

/* The longest of the phrases idx[0..nidx) of kind want that matches at
 * toks[i], as a phrase index, its length in *len (only longer than *len
 * counts); -1 when none does. */
static int longest_at(const run_state *st, const token *toks, int n, int i, const int *idx, int nidx, kind want,
                      int *len)
{
    int best = -1;
    for (int k = 0; k < nidx; k++) {
        const phrase *p = &st->c->phrases[idx[k]];
        int m = p->kind == want ? match_at(p, toks, n, i) : 0;
        if (m > *len) {
            best = idx[k];
            *len = m;
        }
    }
    return best;
}

static int slot_longest(const run_state *st, const token *toks, int n, int i, const slot *sl, kind want, int *len)
{
    return sl ? longest_at(st, toks, n, i, sl->idx, sl->nidx, want, len) : -1;
}

/* The best phrase of one kind at toks[i], trying the plural-stripped word
 * too ("endpoints", "indexes"); its length in *len. */
static int best_at(const run_state *st, const token *toks, int n, int i, kind want, int *len)
{
    const token *t = &toks[i];
    int best = -1, b;

    *len = 0;
    if ((b = slot_longest(st, toks, n, i, lookup(st->c, t->s, t->len), want, len)) >= 0)
        best = b;
    if (t->len > 2 && tolower((unsigned char)t->s[t->len - 1]) == 's') {
        if ((b = slot_longest(st, toks, n, i, lookup(st->c, t->s, t->len - 1), want, len)) >= 0)
            best = b;
        if (t->len > 3 && tolower((unsigned char)t->s[t->len - 2]) == 'e' &&
            (b = slot_longest(st, toks, n, i, lookup(st->c, t->s, t->len - 2), want, len)) >= 0)
            best = b;
    }
    if (st->c->nstem_first) {
        unsigned lead = stem_lead(t->s, t->len);
        if ((st->c->stem_lead[lead / 8] & (1u << (lead % 8))) &&
            (b = longest_at(st, toks, n, i, st->c->stem_first, st->c->nstem_first, want, len)) >= 0)
            best = b;
    }
    return best;
}

/* Leftmost-longest, for type rules and priority rules separately (they may
 * share words, as "README" does): at each word the longest matching phrase
 * of a kind wins and uses its words up for that kind, so "API docs" is
 * documentation and not also "API". One pass over the words. */
static void scan(run_state *st, const char *text)
{
    token toks[MAX_TOKENS];
    int n, used_until[2] = {0, 0};

    if (!text)
        return;
    n = tokenize(text, toks, MAX_TOKENS);
    st->words += n;
    for (int i = 0; i < n; i++) {
        if (toks[i].glued || toks[i].len >= MAX_WORD)
            continue;
        for (int k = K_TYPE; k <= K_PRIO; k++) {
            int len, best;
            if (i < used_until[k])
                continue;
            best = best_at(st, toks, n, i, (kind)k, &len);
            if (best >= 0) {
                hit(st, best);
                used_until[k] = i + len;
            }
        }
    }
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The most specific path rule of one file, or NULL. */
static const path_rule *best_path(const classifier *c, const char *file)
{
    const path_rule *best = NULL;
    for (int i = 0; i < c->npaths; i++) {
        const path_rule *pr = &c->paths[i];
        int m;
        if (pr->is_dir) {
            const char *at = strstr(file, pr->prefix);
            m = at && (at == file || at[-1] == '/');
        } else {
            m = text_ieq(base_name(file), pr->prefix);
        }
        if (m && (!best || pr->len > best->len))
            best = pr;
    }
    return best;
}

int classify_path_type(const classifier *c, const char *file)
{
    const path_rule *pr = best_path(c, file);
    return pr ? pr->type : CL_NONE;
}

void classify_run(const classifier *c, const cl_input *in, cl_result *r)
{
    run_state st;
    int top = 0, total = 0, size_score;
    /* Ties go to the more specific type. */
    static const int order[] = {CL_DATABASE, CL_DOCUMENTATION, CL_FRONTEND, CL_BACKEND, CL_REVIEW, CL_RELEASE};

    memset(r, 0, sizeof(*r));
    memset(&st, 0, sizeof(st));
    st.c = c;
    st.r = r;

    for (size_t i = 0; i < in->n_files; i++) {
        const path_rule *pr = best_path(c, in->files[i]);
        if (pr) {
            char rule[CL_RULE_LEN];
            r->scores[pr->type] += c->w_path;
            snprintf(rule, sizeof(rule), "path:%s", pr->prefix);
            add_reason(r, rule, pr->type, c->w_path);
        }
    }
    scan(&st, in->title);
    scan(&st, in->description);
    for (size_t i = 0; i < in->n_criteria; i++)
        scan(&st, in->criteria[i]);

    r->type = 0;
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        total += r->scores[order[k]];
        if (r->scores[order[k]] > top) {
            top = r->scores[order[k]];
            r->type = order[k];
        }
    }
    if (!r->type) {
        char rule[CL_RULE_LEN];
        r->type = c->default_type;
        r->confidence = 0.1f;
        /* no rule matched: say so, so that no decision comes without a reason */
        snprintf(rule, sizeof(rule), "default:%s", names_agent_type((Orchestrator__V1__AgentType)r->type));
        add_reason(r, rule, r->type, 0);
    } else {
        float share = (float)top / (float)total;
        float strength = top >= 6 ? 1.0f : (float)top / 6.0f;
        r->confidence = share * strength;
    }
    {
        int be = r->scores[CL_BACKEND], fe = r->scores[CL_FRONTEND];
        int lo = be < fe ? be : fe, hi = be < fe ? fe : be;
        r->split = lo >= 4 && lo * 2 >= hi && r->scores[CL_DATABASE] <= lo && r->scores[CL_DOCUMENTATION] <= lo;
    }

    if (st.prio_hit[CL_CRITICAL])
        r->priority = CL_CRITICAL;
    else if (st.prio_hit[CL_HIGH])
        r->priority = CL_HIGH;
    else if (st.prio_hit[CL_LOW] || r->type == CL_DOCUMENTATION)
        r->priority = CL_LOW;
    else
        r->priority = CL_MEDIUM;

    size_score = (int)in->n_files * 2 + (int)in->n_criteria + st.words / 20;
    r->complexity = size_score <= c->size.s_max ? CL_S
                  : size_score <= c->size.m_max ? CL_M
                  : size_score <= c->size.l_max ? CL_L : CL_XL;
    r->tokens = classify_estimate(c, r->complexity, r->type);
}

uint64_t classify_estimate(const classifier *c, int complexity, int type)
{
    if (complexity < CL_S || complexity > CL_XL || type < 0 || type >= CL_NTYPES)
        return 0;
    return c->size.tokens[complexity] * (uint64_t)c->size.type_percent[type] / 100;
}
