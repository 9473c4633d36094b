/* File overlap between requirements in flight.
 *
 * Two requirements overlap by |A∩B| / min(|A|,|B|), where a path of A counts
 * as shared with B when B has the same path, a directory of B (a path
 * ending in '/') covers it, or it is a directory covering a path of B. Above
 * the threshold (the seed's 20%) they must not be in flight together.
 *
 * An index keeps, for every in-flight path, who holds it, and for every
 * directory prefix of an in-flight path ("src/", "src/api/"), who holds
 * something under it. A candidate's paths are looked up there, so only the
 * requirements that share something are compared, never every pair. Pure. */
#ifndef SCHED_OVERLAP_H
#define SCHED_OVERLAP_H

#include <stddef.h>

typedef struct overlap overlap;

overlap *overlap_create(void);
void overlap_destroy(overlap *o);

/* Puts requirement req (a caller's index) in flight with these paths
 * (copied); replaces what it held before. */
void overlap_set(overlap *o, int req, const char *const *paths, int n);

/* Takes req out of flight. */
void overlap_clear(overlap *o, int req);

/* The in-flight requirement (other than self) that paths overlap by more
 * than threshold, the first found; -1 when none. The shared paths go to buf
 * ("src/api/a.ts, src/api/b.ts") and the ratio to *ratio (may be NULL). */
int overlap_find(const overlap *o, const char *const *paths, int n, double threshold, int self, char *buf,
                 size_t len, double *ratio);

/* The share of a's paths that b's cover, as above, over min(|a|,|b|). */
double overlap_ratio(const char *const *a, int na, const char *const *b, int nb);

#endif
