/* Classification of a requirement: agent type, priority, complexity and a
 * token estimate, with the reasons for each decision. Pure: no NATS, no
 * clock, no logging.
 *
 * How it matches. The rules (words, phrases, path prefixes) are compiled once
 * into a hash table keyed by a phrase's first word. Classifying tokenizes the
 * text once into words (runs of letters and digits; '-' joins words of a
 * phrase as a space would) and looks each word up once, so the cost is one
 * pass over the text whatever the number of rules. Matching is
 * case-insensitive on word boundaries: "UI" never matches inside "build" or
 * "guide", "view" never inside "review". A word glued to a path or file name
 * by '.', '/', '\\' or '_' ("index.html", "src/api") is not a word: "index" in
 * "index.html" is no database index. A plural 's' or 'es' is tolerated on
 * the last word of a phrase. Each rule counts once per requirement.
 *
 * File paths outweigh words (path weight 10 against 2 for a word, 3 for a
 * phrase, by default); for each file only the most specific (longest)
 * matching path rule counts, so src/db/migrations/ is database, not backend.
 * A directory rule (ending in '/') matches at the start of a path or after a
 * '/'; a file rule (README.md) matches the file's base name.
 *
 * Priority rules read sentences, which word the same emergency many ways
 * ("production is down", "checkout is down in production", "data is being
 * corrupted"). Two things let one rule cover them without matching
 * ordinary text: a word ending in '*' is a stem and matches any word it
 * begins ("corrupt*": corrupted, corrupts, corruption; never "incorrupt");
 * and between two words of a priority phrase up to three filler words may
 * stand (is, are, was, being, been, the, our, all, completely, ...: the
 * list is in classify.c), so "data corrupt*" matches "data is being
 * corrupted" but not "data export corrupted nothing". Type rules are
 * names and match as written (stems allowed). Phrases whose first word is
 * a stem cannot be found by hashing that word: they are kept in a short
 * list, tried at a word only when its first two letters are a stem's (a
 * 1024-bit filter), so the pass stays one lookup a word for most words. */
#ifndef ROUTER_CLASSIFY_H
#define ROUTER_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Agent types, numbered as in the protocol (AgentType). */
enum { CL_NONE = 0, CL_BACKEND, CL_FRONTEND, CL_DATABASE, CL_DOCUMENTATION, CL_REVIEW, CL_RELEASE, CL_NTYPES };
/* Priorities, numbered as in the protocol (Priority). */
enum { CL_PRIO_NONE = 0, CL_CRITICAL, CL_HIGH, CL_MEDIUM, CL_LOW };
/* Complexity, numbered as in the protocol. */
enum { CL_SIZE_NONE = 0, CL_S, CL_M, CL_L, CL_XL };

#define CL_MAX_REASONS 16
#define CL_RULE_LEN 64

typedef struct classifier classifier;

typedef struct {
    const char *title;
    const char *description;       /* may be NULL */
    const char *const *criteria;   /* acceptance criteria */
    size_t n_criteria;
    const char *const *files;
    size_t n_files;
} cl_input;

typedef struct {
    char rule[CL_RULE_LEN];        /* "word:api", "path:src/api/", "priority:outage" */
    int target;                    /* a type, or a priority for priority rules */
    int weight;
} cl_reason;

typedef struct {
    int type;                      /* winning type, or the default (reason "default:<type>") */
    float confidence;              /* 0..1 */
    int split;                     /* clearly both backend and frontend */
    int priority;                  /* from the priority rules; MEDIUM if none */
    int complexity;
    uint64_t tokens;               /* estimate for the whole requirement */
    int scores[CL_NTYPES];
    cl_reason reasons[CL_MAX_REASONS];
    int n_reasons;
} cl_result;

/* The size table: score = files*2 + criteria + words/20, then the bounds
 * below, then tokens by size, times a factor per type (percent). */
typedef struct {
    int s_max, m_max, l_max;       /* score bounds of S, M, L; above: XL */
    uint64_t tokens[5];            /* by complexity (index 1..4) */
    int type_percent[CL_NTYPES];   /* 100 = as is */
} cl_size_table;

/* S<=3, M<=8, L<=14; 10k, 40k, 80k, 150k tokens; documentation and review
 * 50%. */
void classify_size_default(cl_size_table *t);

/* The seed's routing and priority rules as a JSON rules document. */
extern const char classify_default_rules[];

/* Compiles a rules document (format in docs/router.md). default_type is
 * used when no rule matches. On error returns ORCH_ERR_INVALID with err
 * naming the key. *out: classify_destroy it. */
orch_status classify_create(classifier **out, const char *rules_json, size_t len, int default_type,
                            const cl_size_table *size, char err[ERR_LEN]);
void classify_destroy(classifier *c);

/* Classifies in; fills *out. Thread-safe (the classifier is read-only). */
void classify_run(const classifier *c, const cl_input *in, cl_result *out);

/* The type of the most specific path rule matching file, or CL_NONE. */
int classify_path_type(const classifier *c, const char *file);

/* The token estimate of a complexity (CL_S..CL_XL) for an agent type, from
 * the size table: what an explicit complexity costs. 0 for a value out of
 * range. */
uint64_t classify_estimate(const classifier *c, int complexity, int type);

/* Number of compiled word rules and path rules (for logs and tests). */
size_t classify_rule_count(const classifier *c);

#endif
