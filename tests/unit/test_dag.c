/* The dependency graph: unknown ids, cycles written out, event-driven
 * release, the graph unchanged after a rejected node, longest paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dag.h"

#define DEPS(...) ((const char *const[]){__VA_ARGS__})

static int add(dag *g, const char *id, const char *const *deps, int n)
{
    int idx;
    char buf[256];
    return dag_add(g, id, deps, n, &idx, buf, sizeof(buf));
}

static char released[16][16];
static int nreleased;

static void on_ready(int node, void *arg)
{
    dag *g = arg;
    snprintf(released[nreleased++], 16, "%s", dag_id(g, node));
}

static void chain_releases_in_order(void **state)
{
    dag *g = dag_create();
    (void)state;
    nreleased = 0;
    assert_int_equal(add(g, "MIG", NULL, 0), DAG_OK);
    assert_int_equal(add(g, "API", DEPS("MIG"), 1), DAG_OK);
    assert_int_equal(add(g, "UI", DEPS("API"), 1), DAG_OK);
    assert_int_equal(dag_unmet(g, dag_find(g, "MIG")), 0);
    assert_int_equal(dag_unmet(g, dag_find(g, "UI")), 1);
    dag_complete(g, dag_find(g, "MIG"), on_ready, g);
    assert_int_equal(nreleased, 1);
    assert_string_equal(released[0], "API");
    dag_complete(g, dag_find(g, "MIG"), on_ready, g); /* idempotent */
    assert_int_equal(nreleased, 1);
    dag_complete(g, dag_find(g, "API"), on_ready, g);
    assert_string_equal(released[1], "UI");
    dag_destroy(g);
}

static void unknown_dependency_blocks_until_it_arrives(void **state)
{
    dag *g = dag_create();
    char buf[128];
    (void)state;
    nreleased = 0;
    assert_int_equal(add(g, "B", DEPS("A"), 1), DAG_OK);
    assert_false(dag_known(g, dag_find(g, "A")));
    dag_blockers(g, dag_find(g, "B"), buf, sizeof(buf));
    assert_string_equal(buf, "A (unknown)");
    assert_int_equal(add(g, "A", NULL, 0), DAG_OK);
    assert_true(dag_known(g, dag_find(g, "A")));
    dag_blockers(g, dag_find(g, "B"), buf, sizeof(buf));
    assert_string_equal(buf, "A");
    dag_complete(g, dag_find(g, "A"), on_ready, g);
    assert_int_equal(nreleased, 1);
    assert_string_equal(released[0], "B");
    dag_destroy(g);
}

static void cycles_are_rejected_and_written_out(void **state)
{
    dag *g = dag_create();
    int idx;
    char buf[256];
    (void)state;
    /* A waits on B (unknown yet); B arriving with a dependency on A closes it. */
    assert_int_equal(add(g, "REQ-A", DEPS("REQ-B"), 1), DAG_OK);
    assert_int_equal(dag_add(g, "REQ-B", DEPS("REQ-A"), 1, &idx, buf, sizeof(buf)), DAG_CYCLE);
    assert_string_equal(buf, "REQ-B -> REQ-A -> REQ-B");
    /* the rest of the graph is unaffected: B is still an unknown placeholder */
    assert_false(dag_known(g, dag_find(g, "REQ-B")));
    assert_int_equal(dag_unmet(g, dag_find(g, "REQ-A")), 1);
    /* longer: X -> Y -> Z, then Z arriving with a dependency on X */
    assert_int_equal(add(g, "X", DEPS("Y"), 1), DAG_OK);
    assert_int_equal(add(g, "Y", DEPS("Z"), 1), DAG_OK);
    assert_int_equal(dag_add(g, "Z", DEPS("X"), 1, &idx, buf, sizeof(buf)), DAG_CYCLE);
    assert_string_equal(buf, "Z -> X -> Y -> Z");
    /* self-dependency */
    assert_int_equal(dag_add(g, "S", DEPS("S"), 1, &idx, buf, sizeof(buf)), DAG_CYCLE);
    assert_string_equal(buf, "S -> S");
    /* a legal diamond is fine */
    assert_int_equal(add(g, "D1", NULL, 0), DAG_OK);
    assert_int_equal(add(g, "D2", DEPS("D1"), 1), DAG_OK);
    assert_int_equal(add(g, "D3", DEPS("D1"), 1), DAG_OK);
    assert_int_equal(add(g, "D4", DEPS("D2", "D3"), 2), DAG_OK);
    assert_int_equal(add(g, "D4", NULL, 0), DAG_DUPLICATE);
    dag_destroy(g);
}

static int64_t unit_weight(int node, void *arg)
{
    (void)node;
    (void)arg;
    return 10;
}

static void longest_path_and_critical_path(void **state)
{
    dag *g = dag_create();
    int64_t ef[16];
    int path[16], n;
    (void)state;
    add(g, "A", NULL, 0);
    add(g, "B", DEPS("A"), 1);
    add(g, "C", DEPS("B"), 1);
    add(g, "D", DEPS("A"), 1);
    add(g, "E", DEPS("C", "D"), 2);
    dag_longest(g, unit_weight, NULL, ef);
    assert_int_equal(ef[dag_find(g, "A")], 10);
    assert_int_equal(ef[dag_find(g, "E")], 40);
    n = dag_critical_path(g, ef, path, 16);
    assert_int_equal(n, 4);
    assert_string_equal(dag_id(g, path[0]), "A");
    assert_string_equal(dag_id(g, path[1]), "B");
    assert_string_equal(dag_id(g, path[2]), "C");
    assert_string_equal(dag_id(g, path[3]), "E");
    dag_destroy(g);
}

static void long_chain_has_no_recursion_limit(void **state)
{
    dag *g = dag_create();
    enum { N = 100000 };
    int64_t *ef = malloc(sizeof(int64_t) * N);
    char id[32], prev[32];
    (void)state;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "R%d", i);
        if (i == 0)
            add(g, id, NULL, 0);
        else
            add(g, id, DEPS(prev), 1);
        memcpy(prev, id, sizeof(id));
    }
    dag_longest(g, unit_weight, NULL, ef);
    assert_int_equal(ef[dag_find(g, prev)], (int64_t)N * 10);
    free(ef);
    dag_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_releases_in_order),
        cmocka_unit_test(unknown_dependency_blocks_until_it_arrives),
        cmocka_unit_test(cycles_are_rejected_and_written_out),
        cmocka_unit_test(longest_path_and_critical_path),
        cmocka_unit_test(long_chain_has_no_recursion_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
