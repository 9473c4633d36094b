/* Release keys for ready work: how much of the roadmap waits behind a
 * requirement. See rank.c for why upward rank, and what it costs. Pure: no
 * NATS, no clock. */
#ifndef SCHED_RANK_H
#define SCHED_RANK_H

#include <stdint.h>

#include "dag.h"

/* Graphs up to this many nodes get an exact descendant count from
 * rank_downstream (n^2 / 8 bytes of bitsets: 8 MB here); larger ones the
 * sum over dependents, which counts a shared descendant once per path. */
#define RANK_EXACT_MAX 8192

/* Upward rank of every node of g: rank[v] = weight(v) + the largest rank
 * among the nodes that depend on v (0 when none), i.e. the longest chain of
 * expected work that starts with v and runs to the end of the roadmap.
 * weight is called once per node (a placeholder too; return its guess) and
 * should return 0 for work that is done. rank must hold dag_count(g)
 * entries. O(nodes + edges), no recursion. */
void rank_upward(const dag *g, int64_t (*weight)(int node, void *arg), void *arg, int64_t *rank);

/* Airflow's priority_weight with weight_rule=downstream and weight 1: one
 * plus the number of nodes that depend on v directly or transitively, into
 * count (dag_count(g) entries). Exact up to RANK_EXACT_MAX nodes. */
void rank_downstream(const dag *g, int64_t *count);

#endif
