/* Upward rank, the order in which ready work is released.
 *
 * Among ready requirements of one type and priority, the scheduler releases
 * first the one with the most expected work waiting behind it: its upward
 * rank, the longest chain of expected durations from it to the end of the
 * roadmap (HEFT's rank_u, Topcuoglu et al. 2002, without communication
 * costs, since agents share the repository). Releasing by it is list
 * scheduling along the critical path: the chain that decides when the
 * roadmap can end starts as early as it can, and short side branches fill
 * the agents it leaves idle. Arrival order (the rule before) ignores the
 * graph; counting descendants (Airflow's downstream weight) prefers a wide
 * fan of short work over one long chain that will finish last.
 *
 * The rank of v depends only on the nodes that depend on v, so it is
 * computed from the ends of the graph backwards: Kahn's algorithm on the
 * reversed edges (a node is taken once all its dependents have their rank),
 * O(nodes + edges) with no recursion, so a chain of 100,000 requirements is
 * fine. Completing work does not change the rank of what remains (what
 * follows it is unchanged); adding a requirement or learning new durations
 * does, and the caller decides when to compute again.
 *
 * The descendant count for the Airflow rule is a union of sets, not a max,
 * so it is kept as one bitset per node, freed as soon as every node that
 * needs it is done: exact, n^2/8 bytes at worst, which is why it stops at
 * RANK_EXACT_MAX nodes and sums instead above it. */
#include "rank.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Nodes in an order where every node comes after all its dependents. */
static int *reverse_order(const dag *g, int n)
{
    int *left = xmalloc(sizeof(int) * (size_t)(n + 1));
    int *order = xmalloc(sizeof(int) * (size_t)(n + 1));
    int head = 0, tail = 0;

    for (int v = 0; v < n; v++) {
        left[v] = dag_ndependents(g, v);
        if (left[v] == 0)
            order[tail++] = v;
    }
    while (head < tail) {
        int v = order[head++];
        for (int k = 0; k < dag_ndeps(g, v); k++) {
            int d = dag_dep(g, v, k);
            if (--left[d] == 0)
                order[tail++] = d;
        }
    }
    free(left);
    return order; /* the dag rejects cycles, so tail == n */
}

void rank_upward(const dag *g, int64_t (*weight)(int node, void *arg), void *arg, int64_t *rank)
{
    int n = (int)dag_count(g);
    int *order = reverse_order(g, n);

    for (int k = 0; k < n; k++) {
        int v = order[k];
        int64_t after = 0;
        for (int j = 0; j < dag_ndependents(g, v); j++) {
            int64_t r = rank[dag_dependent(g, v, j)];
            if (r > after)
                after = r;
        }
        rank[v] = weight(v, arg) + after;
    }
    free(order);
}

void rank_downstream(const dag *g, int64_t *count)
{
    int n = (int)dag_count(g);
    int *order = reverse_order(g, n);

    if (n > RANK_EXACT_MAX) {
        for (int k = 0; k < n; k++) {
            int v = order[k];
            int64_t c = 1;
            for (int j = 0; j < dag_ndependents(g, v); j++) {
                c += count[dag_dependent(g, v, j)];
                if (c > INT64_MAX / 4)
                    c = INT64_MAX / 4;
            }
            count[v] = c;
        }
    } else {
        size_t words = ((size_t)n + 63) / 64;
        uint64_t **below = xcalloc((size_t)n + 1, sizeof(uint64_t *));
        int *users = xmalloc(sizeof(int) * (size_t)(n + 1)); /* dependencies still to read below[v] */
        for (int v = 0; v < n; v++)
            users[v] = dag_ndeps(g, v);
        for (int k = 0; k < n; k++) {
            int v = order[k];
            uint64_t *set = xcalloc(words ? words : 1, sizeof(uint64_t));
            int64_t c = 0;
            for (int j = 0; j < dag_ndependents(g, v); j++) {
                int d = dag_dependent(g, v, j);
                set[d / 64] |= 1ull << (d % 64);
                for (size_t w = 0; w < words; w++)
                    set[w] |= below[d][w];
                if (--users[d] == 0) {
                    free(below[d]);
                    below[d] = NULL;
                }
            }
            for (size_t w = 0; w < words; w++)
                c += __builtin_popcountll(set[w]);
            count[v] = c + 1;
            if (users[v] == 0)
                free(set);
            else
                below[v] = set;
        }
        free(users);
        free(below);
    }
    free(order);
}
