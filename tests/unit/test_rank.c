/* rank.c: upward rank and the downstream count on small graphs, empty,
 * placeholders, a long chain, and the sum used above RANK_EXACT_MAX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dag.h"
#include "rank.h"
#include "text.h"

static void add(dag *g, const char *id, const char *d1, const char *d2)
{
    const char *deps[2] = {NULL, NULL}; /* dag_add reads none when n is 0 */
    int n = 0, node;
    char buf[256];
    if (d1)
        deps[n++] = d1;
    if (d2)
        deps[n++] = d2;
    assert_int_equal(dag_add(g, id, deps, n, &node, buf, sizeof(buf)), DAG_OK);
}

/* weight: 10 x the number after "R", so each node's weight is its own. */
static int64_t w_by_id(int node, void *arg)
{
    const dag *g = arg;
    return dag_known(g, node) ? 10 * atoi(dag_id(g, node) + 1) : 1000;
}

static int64_t at(const dag *g, const int64_t *r, const char *id) { return r[dag_find(g, id)]; }

static void test_empty(void **state)
{
    dag *g = dag_create();
    int64_t r[1] = {-7};
    (void)state;
    rank_upward(g, w_by_id, g, r);
    rank_downstream(g, r);
    assert_int_equal(r[0], -7); /* nothing written */
    dag_destroy(g);
}

/* R1 <- R2 <- R4 and R1 <- R3 <- R4: a diamond; R5 alone. */
static void test_diamond(void **state)
{
    dag *g = dag_create();
    int64_t r[8], c[8];
    (void)state;
    add(g, "R1", NULL, NULL);
    add(g, "R2", "R1", NULL);
    add(g, "R3", "R1", NULL);
    add(g, "R4", "R2", "R3");
    add(g, "R5", NULL, NULL);
    rank_upward(g, w_by_id, g, r);
    assert_int_equal(at(g, r, "R4"), 40);
    assert_int_equal(at(g, r, "R3"), 30 + 40);
    assert_int_equal(at(g, r, "R2"), 20 + 40);
    assert_int_equal(at(g, r, "R1"), 10 + 70); /* through the heavier branch */
    assert_int_equal(at(g, r, "R5"), 50);
    rank_downstream(g, c);
    assert_int_equal(at(g, c, "R1"), 4); /* itself, R2, R3, R4 once */
    assert_int_equal(at(g, c, "R2"), 2);
    assert_int_equal(at(g, c, "R4"), 1);
    assert_int_equal(at(g, c, "R5"), 1);
    dag_destroy(g);
}

/* A dependency on an id not known yet: the placeholder gets its guess. */
static void test_placeholder(void **state)
{
    dag *g = dag_create();
    int64_t r[4];
    (void)state;
    add(g, "R1", NULL, NULL);
    add(g, "R2", "R1", "X9");
    rank_upward(g, w_by_id, g, r);
    assert_int_equal(at(g, r, "X9"), 1000 + 20);
    assert_int_equal(at(g, r, "R1"), 10 + 20);
    dag_destroy(g);
}

static int64_t unit(int node, void *arg)
{
    (void)node;
    (void)arg;
    return 1;
}

/* Rank and the downstream count disagree: a long chain behind one node,
 * many short ones behind another. Upward rank prefers the chain. */
static void test_chain_against_fan(void **state)
{
    dag *g = dag_create();
    char id[16], dep[16];
    int64_t *r, *c;
    (void)state;
    add(g, "A", NULL, NULL);
    add(g, "B", NULL, NULL);
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "C%d", i);
        snprintf(dep, sizeof(dep), i ? "C%d" : "A", i - 1);
        add(g, id, dep, NULL);
    }
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "F%d", i);
        add(g, id, "B", NULL);
    }
    r = xmalloc(sizeof(int64_t) * dag_count(g));
    c = xmalloc(sizeof(int64_t) * dag_count(g));
    rank_upward(g, unit, NULL, r);
    rank_downstream(g, c);
    assert_int_equal(at(g, r, "A"), 4);
    assert_int_equal(at(g, r, "B"), 2);
    assert_int_equal(at(g, c, "A"), 4);
    assert_int_equal(at(g, c, "B"), 7);
    dag_destroy(g);
    free(r);
    free(c);
}

/* 100,000 in a chain: no recursion, exact; the count above RANK_EXACT_MAX
 * is the sum, which on a chain is exact too. */
static void test_long_chain(void **state)
{
    dag *g = dag_create();
    int n = 100000;
    char id[16], dep[16];
    int64_t *r = xmalloc(sizeof(int64_t) * (size_t)n), *c = xmalloc(sizeof(int64_t) * (size_t)n);
    (void)state;
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "N%d", i);
        snprintf(dep, sizeof(dep), "N%d", i - 1);
        add(g, id, i ? dep : NULL, NULL);
    }
    rank_upward(g, unit, NULL, r);
    assert_int_equal(r[dag_find(g, "N0")], n);
    assert_int_equal(r[dag_find(g, "N99999")], 1);
    rank_downstream(g, c);
    assert_int_equal(c[dag_find(g, "N0")], n);
    free(r);
    free(c);
    dag_destroy(g);
}

/* Above RANK_EXACT_MAX a shared descendant counts once per path. */
static void test_sum_above_exact(void **state)
{
    dag *g = dag_create();
    char id[16];
    int64_t *c;
    (void)state;
    add(g, "top", NULL, NULL);
    add(g, "L", "top", NULL);
    add(g, "R", "top", NULL);
    add(g, "J", "L", "R");
    for (int i = 0; dag_count(g) <= RANK_EXACT_MAX; i++) {
        snprintf(id, sizeof(id), "Z%d", i);
        add(g, id, NULL, NULL);
    }
    c = xmalloc(sizeof(int64_t) * dag_count(g));
    rank_downstream(g, c);
    assert_int_equal(at(g, c, "top"), 5); /* 1 + (1 + 1) + (1 + 1): J twice */
    free(c);
    dag_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_diamond),
        cmocka_unit_test(test_placeholder),
        cmocka_unit_test(test_chain_against_fan),
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_sum_above_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
