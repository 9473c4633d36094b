/* The dependency graph of all known requirements.
 *
 * Nodes are requirement ids; an edge A -> B means A depends on B. A
 * dependency on an id not yet known creates a placeholder node, which keeps
 * its dependents blocked until the id arrives (dag_add turns the
 * placeholder into a real node). Each node counts its unmet dependencies,
 * so completing a node walks only its own dependents and hands over those
 * whose count reached zero: release is event-driven, never a scan.
 *
 * Cycles. A brand-new id cannot close a cycle: nothing points to it yet. Only
 * a placeholder that already has dependents can, and then only if one of
 * the new node's dependencies is among those dependents' transitive
 * dependents. So the check walks the (usually short) dependents of the node
 * being added, not the whole graph, and a rejected node leaves the graph as
 * it was. The cycle is written out as "REQ-A -> REQ-B -> REQ-A" (A depends
 * on B, which depends on A).
 *
 * Longest paths (critical path, ETAs) use Kahn's topological order over the
 * nodes, O(nodes + edges), with no recursion, so a chain of 100,000 nodes is
 * fine. Pure: no NATS, no clock. */
#ifndef SCHED_DAG_H
#define SCHED_DAG_H

#include <stddef.h>
#include <stdint.h>

typedef struct dag dag;

enum { DAG_OK = 0, DAG_CYCLE, DAG_DUPLICATE };

dag *dag_create(void);
void dag_destroy(dag *g);

/* Adds id depending on deps. DAG_OK with *index; DAG_DUPLICATE when id is
 * already a real node (*index is it); DAG_CYCLE with the cycle in buf, and
 * nothing changed. */
int dag_add(dag *g, const char *id, const char *const *deps, int ndeps, int *index, char *buf, size_t len);

/* Adds one more dependency to an existing node (e.g. an alias on its parts).
 * Same results as dag_add. */
int dag_add_dep(dag *g, int node, const char *dep, char *buf, size_t len);

int dag_find(const dag *g, const char *id);      /* index or -1 */
const char *dag_id(const dag *g, int node);
int dag_known(const dag *g, int node);            /* 0: placeholder */
int dag_complete_p(const dag *g, int node);
int dag_unmet(const dag *g, int node);            /* dependencies not complete */
int dag_ndeps(const dag *g, int node);
int dag_dep(const dag *g, int node, int i);       /* i-th dependency's index */
int dag_ndependents(const dag *g, int node);
int dag_dependent(const dag *g, int node, int i);
size_t dag_count(const dag *g);

/* Marks node complete and calls ready(dep, arg) for every dependent whose
 * last unmet dependency this was. Idempotent. */
void dag_complete(dag *g, int node, void (*ready)(int node, void *arg), void *arg);

/* The ids node still waits on, "REQ-1, REQ-9 (unknown)", into buf. */
void dag_blockers(const dag *g, int node, char *buf, size_t len);

/* Earliest finish of every node: ef[i] = max(ef of its dependencies) +
 * weight(i). ef must hold dag_count entries. */
void dag_longest(const dag *g, int64_t (*weight)(int node, void *arg), void *arg, int64_t *ef);

/* The chain of nodes ending at the node with the largest ef, first node
 * first; returns its length (at most max). */
int dag_critical_path(const dag *g, const int64_t *ef, int *path, int max);

#endif
