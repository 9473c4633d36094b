/* The pool of agent hosts: adverts, placement and the loss rule
 * (services/scheduler/pool.c, common/hostad.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>

#include "hostad.h"
#include "pool.h"
#include "text.h"

#define BACKEND ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND
#define FRONTEND ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND

static hostad ad(const char *host, const char *nonce, int slots, int backends)
{
    hostad a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), "%s", host);
    snprintf(a.nonce, sizeof(a.nonce), "%s", nonce);
    a.slots = slots;
    a.running[BACKEND] = backends;
    for (int i = 0; i < backends; i++)
        snprintf(a.instances[a.n_instances++], HOSTAD_INSTANCE_LEN, "backend-%s-%s-%d", host, nonce, i + 1);
    return a;
}

static void an_empty_pool_places_nothing(void **state)
{
    pool *p = pool_create(15000);
    (void)state;
    assert_null(pool_place(p, BACKEND, 0));
    assert_int_equal(pool_room(p, BACKEND, 0), 0);
    assert_int_equal(pool_expire(p, 1000000, NULL, NULL), 0);
    assert_null(pool_place(p, 0, 0));
    assert_null(pool_place(p, NAMES_AGENT_TYPES, 0));
    pool_destroy(p);
    pool_destroy(NULL);
}

static void the_host_with_most_free_slots_is_chosen_then_fewest_of_the_type(void **state)
{
    pool *p = pool_create(15000);
    hostad a = ad("a", "n1", 4, 1), b = ad("b", "n1", 2, 0), c = ad("c", "n1", 3, 0);
    (void)state;
    c.running[FRONTEND] = 0;
    assert_int_equal(pool_advert(p, &a, 0, NULL), POOL_JOINED);
    assert_int_equal(pool_advert(p, &b, 0, NULL), POOL_JOINED);
    assert_int_equal(pool_advert(p, &c, 0, NULL), POOL_JOINED);
    /* a: 3 free, one backend; c: 3 free, none: c */
    assert_string_equal(pool_place(p, BACKEND, 1000), "c");
    /* a 3 free, c 2, b 2 */
    assert_string_equal(pool_place(p, BACKEND, 1000), "a");
    /* a 2 (two backends), b 2 (none), c 2 (one): b */
    assert_string_equal(pool_place(p, BACKEND, 1000), "b");
    assert_int_equal(pool_room(p, BACKEND, 1000), 2 + 1 + 2 - 0);
    pool_destroy(p);
}

static void a_full_host_or_a_type_at_its_bound_is_never_chosen(void **state)
{
    pool *p = pool_create(15000);
    hostad a = ad("a", "n1", 2, 2), b = ad("b", "n1", 5, 1);
    (void)state;
    b.cap[BACKEND] = 2;
    pool_advert(p, &a, 0, NULL);
    pool_advert(p, &b, 0, NULL);
    assert_string_equal(pool_place(p, BACKEND, 0), "b");
    assert_null(pool_place(p, BACKEND, 0)); /* b at its backend bound, a full */
    assert_string_equal(pool_place(p, FRONTEND, 0), "b");
    /* an advert soon after may not show the agent yet: the reservation holds */
    b = ad("b", "n1", 5, 1);
    b.cap[BACKEND] = 2;
    pool_advert(p, &b, 10, NULL);
    assert_null(pool_place(p, BACKEND, 10));
    /* later the adverts alone say what runs */
    pool_advert(p, &b, POOL_RESERVE_MS + 1, NULL);
    assert_string_equal(pool_place(p, BACKEND, POOL_RESERVE_MS + 1), "b");
    pool_destroy(p);
}

static void a_silent_host_is_not_chosen_and_is_lost_after_the_bound_once(void **state)
{
    pool *p = pool_create(15000);
    hostad a = ad("a", "n1", 4, 2), b = ad("b", "n1", 1, 0);
    int calls = 0;
    (void)state;
    pool_advert(p, &a, 0, NULL);
    pool_advert(p, &b, 7000, NULL);
    assert_string_equal(pool_place(p, BACKEND, 7000), "a");
    /* a silent 8 s (> half the bound): not chosen, b is */
    assert_string_equal(pool_place(p, BACKEND, 8000), "b");
    assert_null(pool_place(p, BACKEND, 8000));
    assert_int_equal(pool_expire(p, 15000, NULL, NULL), 0);  /* exactly the bound: not yet */
    assert_int_equal(pool_expire(p, 15001, NULL, NULL), 1);
    assert_int_equal(pool_expire(p, 16000, NULL, NULL), 0);  /* once */
    assert_int_equal(pool_at(p, 0)->lost, 1);
    assert_int_equal(pool_at(p, 0)->ad.n_instances, 2);      /* what the scheduler declares gone */
    assert_int_equal(pool_expire(p, 40000, NULL, &calls), 1); /* b in turn */
    pool_destroy(p);
}

static void count_lost(void *ctx, const pool_host *h)
{
    int *n = ctx;
    assert_string_equal(h->ad.host, "a");
    assert_string_equal(h->ad.instances[0], "backend-a-n1-1");
    (*n)++;
}

static void lost_hosts_are_reported_with_their_instances(void **state)
{
    pool *p = pool_create(5000);
    hostad a = ad("a", "n1", 4, 1);
    int n = 0;
    (void)state;
    pool_advert(p, &a, 0, NULL);
    assert_int_equal(pool_expire(p, 6000, count_lost, &n), 1);
    assert_int_equal(n, 1);
    assert_null(pool_place(p, BACKEND, 6000));
    pool_destroy(p);
}

static void a_lost_host_rejoins_and_a_restart_is_told_by_its_nonce(void **state)
{
    pool *p = pool_create(5000);
    hostad a = ad("a", "n1", 4, 1), a2 = ad("a", "n2", 4, 0), prev;
    (void)state;
    pool_advert(p, &a, 0, NULL);
    assert_int_equal(pool_advert(p, &a, 1000, NULL), POOL_UPDATED);
    assert_int_equal(pool_advert(p, &a2, 2000, &prev), POOL_RESTARTED);
    assert_string_equal(prev.nonce, "n1");
    assert_string_equal(prev.instances[0], "backend-a-n1-1");
    pool_expire(p, 8000, NULL, NULL);
    assert_int_equal(pool_advert(p, &a2, 9000, NULL), POOL_REJOINED);
    assert_int_equal(pool_at(p, 0)->lost, 0);
    assert_string_equal(pool_place(p, BACKEND, 9000), "a");
    pool_destroy(p);
}

static void the_table_has_a_bound(void **state)
{
    pool *p = pool_create(5000);
    (void)state;
    for (int i = 0; i < POOL_MAX_HOSTS; i++) {
        char name[16];
        hostad a;
        snprintf(name, sizeof(name), "h%d", i);
        a = ad(name, "n", 1, 0);
        assert_int_equal(pool_advert(p, &a, 0, NULL), POOL_JOINED);
    }
    {
        hostad x = ad("one-more", "n", 1, 0);
        assert_int_equal(pool_advert(p, &x, 0, NULL), POOL_NO_ROOM);
    }
    assert_int_equal(pool_count(p), POOL_MAX_HOSTS);
    pool_destroy(p);
}

static void an_advert_round_trips_and_its_owner_is_found(void **state)
{
    hostad a = ad("build-2", "m1x9qz", 4, 2), b;
    char err[128], *json;
    pool *p = pool_create(5000);
    (void)state;
    a.cap[FRONTEND] = 1;
    a.memory_mb = 16000;
    json = hostad_to_json(&a);
    assert_non_null(json);
    assert_int_equal(hostad_from_json(json, strlen(json), "build-2", &b, err, sizeof(err)), 0);
    assert_string_equal(b.host, "build-2");
    assert_int_equal(b.slots, 4);
    assert_int_equal(b.cap[FRONTEND], 1);
    assert_int_equal(b.running[BACKEND], 2);
    assert_int_equal(b.memory_mb, 16000);
    assert_int_equal(b.n_instances, 2);
    pool_advert(p, &b, 0, NULL);
    assert_string_equal(pool_owner(p, "backend-build-2-m1x9qz-2")->ad.host, "build-2");
    assert_null(pool_owner(p, "backend-1"));
    /* the subject must name the same host */
    assert_int_equal(hostad_from_json(json, strlen(json), "other", &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "subject"));
    free(json);
    pool_destroy(p);
}

static void forged_adverts_are_refused_with_a_reason(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"nonce\":\"n\",\"slots\":1}",
        "{\"host\":\"a.b\",\"nonce\":\"n\",\"slots\":1}",
        "{\"host\":\"a\",\"nonce\":\"n\",\"slots\":0}",
        "{\"host\":\"a\",\"nonce\":\"n\",\"slots\":1e18}",
        "{\"host\":\"a\",\"nonce\":\"n\",\"slots\":2,\"cap\":{\"wizard\":1}}",
        "{\"host\":\"a\",\"nonce\":\"n\",\"slots\":2,\"running\":{\"backend\":-1}}",
        "{\"host\":\"a\",\"nonce\":\"n\",\"slots\":2,\"instances\":[\"x y\"]}",
        "{\"host\":\"a\",\"nonce\":\"n\",\"slots\":2,\"instances\":\"x\"}",
        "{\"host\":\"a\",\"nonce\":\"n\",\"slots\":2,\"memoryMb\":\"lots\"}",
        "{\"host\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"nonce\":\"n\",\"slots\":2}",
    };
    hostad out;
    char err[128];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(hostad_from_json(bad[i], strlen(bad[i]), NULL, &out, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(hostad_from_json(NULL, 0, NULL, &out, err, sizeof(err)), -1);
    {
        /* more instances than the bound */
        size_t cap = 200000, o = 0;
        char *big = malloc(cap);
        o += (size_t)snprintf(big + o, cap - o, "{\"host\":\"a\",\"nonce\":\"n\",\"slots\":2,\"instances\":[");
        for (int i = 0; i < HOSTAD_INSTANCES_MAX + 1; i++)
            o += (size_t)snprintf(big + o, cap - o, "%s\"i%d\"", i ? "," : "", i);
        o += (size_t)snprintf(big + o, cap - o, "]}");
        assert_int_equal(hostad_from_json(big, o, NULL, &out, err, sizeof(err)), -1);
        free(big);
    }
}

static void host_ids_are_sanitised_to_a_token(void **state)
{
    char id[HOSTAD_ID_MAX + 1];
    (void)state;
    hostad_sanitise_id("build.example.com", id);
    assert_string_equal(id, "build-example-com");
    hostad_sanitise_id("", id);
    assert_string_equal(id, "host");
    hostad_sanitise_id(NULL, id);
    assert_string_equal(id, "host");
    hostad_sanitise_id("a*>b c0123456789012345678901234567890123", id);
    assert_int_equal(strlen(id), HOSTAD_ID_MAX);
    assert_true(text_id_valid(id, HOSTAD_ID_MAX, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_empty_pool_places_nothing),
        cmocka_unit_test(the_host_with_most_free_slots_is_chosen_then_fewest_of_the_type),
        cmocka_unit_test(a_full_host_or_a_type_at_its_bound_is_never_chosen),
        cmocka_unit_test(a_silent_host_is_not_chosen_and_is_lost_after_the_bound_once),
        cmocka_unit_test(lost_hosts_are_reported_with_their_instances),
        cmocka_unit_test(a_lost_host_rejoins_and_a_restart_is_told_by_its_nonce),
        cmocka_unit_test(the_table_has_a_bound),
        cmocka_unit_test(an_advert_round_trips_and_its_owner_is_found),
        cmocka_unit_test(forged_adverts_are_refused_with_a_reason),
        cmocka_unit_test(host_ids_are_sanitised_to_a_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
