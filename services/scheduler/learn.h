/* What completed work took, per agent type and size: how long (dispatch to
 * verified) and how many tokens. See learn.c for the estimator. Pure: no
 * NATS, no clock; serialised to JSON so that a new leader keeps what the old
 * one learned (the scheduler stores it in KV orch_counters, key
 * LEARN_KV_KEY). */
#ifndef SCHED_LEARN_H
#define SCHED_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "status.h"

#define LEARN_SIZES 5        /* Complexity values, UNSPECIFIED included */
#define LEARN_KEEP 64        /* most recent samples kept per type and size */
#define LEARN_POOL 10        /* weight, in samples, of the type's scaled prior beside a size's own mean */
#define LEARN_MIN 5          /* samples before a figure is used */
#define LEARN_JSON_MAX (256 * 1024)
#define LEARN_KV_KEY "scheduler.learned"

typedef struct {
    int64_t ms[LEARN_KEEP];      /* ring, oldest at next when full */
    uint64_t tokens[LEARN_KEEP];
    int n, next;
    uint64_t seen;               /* samples ever, kept or not */
    /* Cached from the samples on every change. */
    int64_t mean_ms, p90_ms;
    uint64_t mean_tokens;
    int n_tokens;                /* samples that reported tokens */
    int64_t told_ms;             /* mean_ms when learn_add last returned 1 */
    int64_t cap_ms;              /* LEARN_CUT x the median: no sample counts for more */
} learn_bucket;

typedef struct {
    learn_bucket b[NAMES_AGENT_TYPES][LEARN_SIZES];
    int64_t prior_ms[LEARN_SIZES];      /* the configured guesses, by size */
    /* What a type's samples took against their priors (x1000), and all
     * types': scales the prior of a size not learned yet (learn.c). 0: no
     * samples. */
    int64_t type_scale[NAMES_AGENT_TYPES];
    int64_t all_scale;
    int64_t type_raw[NAMES_AGENT_TYPES];   /* a type's mean / prior, before the pull */
    int type_n[NAMES_AGENT_TYPES];         /* its samples */
} learn;

/* Empty, with the guesses used until something is learned. */
void learn_init(learn *l, const int64_t prior_ms[LEARN_SIZES]);

/* One completed requirement of type and size (out-of-range values go to 0):
 * ms from dispatch to verification, tokens its attempts used (0: not
 * reported, counts for duration only). Returns 1 when the expected duration
 * of that type and size became usable, or moved by more than a tenth since
 * the last time it returned 1 (ranks built on it are stale), else 0. */
int learn_add(learn *l, int type, int size, int64_t ms, uint64_t tokens);

/* The tokens of a completed requirement whose result came after its
 * verdict (the two travel through different consumers): they go to the
 * newest sample of its type and size that has none. Returns 1 when one
 * was filled. */
int learn_add_tokens(learn *l, int type, int size, uint64_t tokens);

/* Samples held for type and size. */
int learn_count(const learn *l, int type, int size);

/* Expected duration. The prior scaled by what the type's samples took
 * against their priors (or all types', when the type has none), pulled
 * towards 1 while samples are few: see learn.c. Once the type and size has
 * LEARN_MIN samples, their cut mean, pooled with that scaled prior as if it
 * were LEARN_POOL more samples. *how (may be NULL) says which: 2 learned, 1
 * scaled, 0 the prior. */
int64_t learn_duration(const learn *l, int type, int size, int *how);

/* The pct-th percentile (1..100) of the type and size's samples once it
 * has LEARN_MIN, else twice the expected duration (a wide guess). */
int64_t learn_duration_pct(const learn *l, int type, int size, int pct);

/* What work of type and size that has run elapsed ms is still expected to
 * take: the mean of (sample - elapsed) over the samples longer than elapsed
 * (work that is late tends to be the long kind); with none, or too few
 * samples, the expected duration less elapsed, at least a quarter of it. */
int64_t learn_remaining(const learn *l, int type, int size, int64_t elapsed);

/* One random duration for work of type and size that has run elapsed ms
 * (0: not started), what is left of it: a sample of its own type and size
 * longer than elapsed, cut like the mean; with fewer than LEARN_MIN, a
 * sample of the type (else of any type) scaled by the ratio of the two
 * sizes' expected durations; with none at all, learn_remaining. *rng is a
 * xorshift state the caller seeds (never 0). For the forecast's Monte Carlo
 * runs (sim.c). */
int64_t learn_draw(const learn *l, int type, int size, int64_t elapsed, uint64_t *rng);

/* Expected tokens once LEARN_MIN samples reported them (returns 1 and
 * fills *tokens), else 0 and *tokens untouched. */
int learn_tokens(const learn *l, int type, int size, uint64_t *tokens);

/* JSON {"v":1,"buckets":[{"type","size","seen","ms":[..],"tokens":[..]}]},
 * samples oldest first. *out is malloc'd (caller frees). */
void learn_to_json(const learn *l, char **out, size_t *len);

/* Replaces what l learned with the JSON (the priors stay). Unknown types or
 * sizes are skipped; at most LEARN_KEEP samples a bucket, the newest.
 * ORCH_OK, or ORCH_ERR_TOO_BIG / ORCH_ERR_INVALID with err filled and l
 * unchanged. */
orch_status learn_from_json(learn *l, const char *text, size_t len, char err[ERR_LEN]);

#endif
