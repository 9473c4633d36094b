/* sched_release.c: the window and its CRITICAL slots, each release gate
 * (budget, overlap, conservation, reservation), turns, rank order, the
 * window narrowed when every agent is busy, and spawns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"

/* Agents are not counted here (agent_seen_ms < 0: one instance starts
 * everything), so the window is scheduler.window throughout; how it
 * narrows when every agent is busy: every_agent_busy_narrows_the_window. */
static void critical_overtakes_queued_medium_work(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 2;
    cfg.agent_seen_ms = -1;
    s = sched_create(&cfg, &out, &clk);
    sched_add(s, req("M1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M2", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M3", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M4", BE, LOW, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(why(s, "M3"), "window: 2 of 2 backend release slots taken");
    assert_int_equal(sched_get(s, "M3")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_WINDOW);
    assert_string_equal(why(s, "M4"), "window: 2 of 2 backend release slots taken"); /* all of the queue says so */
    sched_add(s, req("C1", BE, CRIT, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 3); /* the window full of MEDIUM work does not hold it */
    assert_string_equal(rec.d[2].id, "C1");
    sched_add(s, req("C2", BE, CRIT, 100, NULL, NULL), &clk);
    sched_add(s, req("C3", BE, CRIT, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 4); /* CRITICAL work has a window of its own */
    assert_string_equal(why(s, "C3"), "window: 2 of 2 CRITICAL backend release slots taken");
    started(s, "C1");
    assert_string_equal(rec.d[4].id, "C3");
    started(s, "M1");
    started(s, "M2");            /* C2 and C3 still hold the window */
    assert_int_equal(rec.nd, 5);
    started(s, "C2");
    assert_string_equal(rec.d[5].id, "M3");
    started(s, "C3");
    assert_string_equal(rec.d[6].id, "M4"); /* LOW last */
    sched_destroy(s);
}

/* One backend agent alive: M1 goes to it, M2 waits for it to be free (not
 * in its queue); K1, CRITICAL, goes at once; the agent, free again, gets K1
 * and then M2: M1, K1, M2, not M1, M2, K1. */
static void critical_reaches_the_agent_before_medium_work(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 2;
    s = sched_create(&cfg, &out, &clk);
    idle(s, BE, "be-1");
    idle(s, BE, "be-1");
    sched_add(s, req("M1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M2", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 1);
    started_by(s, "M1", "be-1");
    assert_int_equal(sched_get(s, "M2")->wait_kind, KIND(WINDOW));
    sched_add(s, req("K1", BE, CRIT, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "K1");
    result(s, "M1", 1, 10);
    assert_int_equal(rec.nd, 2); /* K1 is there for the agent */
    started_by(s, "K1", "be-1");
    result(s, "K1", 1, 10);
    assert_int_equal(rec.nd, 3);
    assert_string_equal(rec.d[2].id, "M2");
    sched_destroy(s);
}

/* The day's documentation budget spent: MEDIUM work waits for it, a
 * CRITICAL requirement goes anyway (the seed's light mode), with the
 * cheaper model hinted and one warning. */
static void critical_work_goes_over_a_spent_budget_with_the_cheaper_model(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    int alerts = 0;
    (void)state;
    sched_add(s, req("D1", DOC, MED, 45000, NULL, NULL), &clk);
    result(s, "D1", 1, 45000);
    verdict(s, "D1", 1, PASS, NULL); /* 45k of 50k used */
    sched_add(s, req("D2", DOC, MED, 20000, NULL, NULL), &clk);
    assert_int_equal(sched_get(s, "D2")->wait_kind, KIND(BUDGET));
    sched_add(s, req("K", DOC, CRIT, 20000, NULL, NULL), &clk);
    assert_int_equal(status(s, "K"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_string_equal(rec.d[rec.nd - 1].id, "K");
    assert_string_equal(rec.d[rec.nd - 1].hint, "cheap");
    for (int k = 0; k < rec.nalert; k++)
        alerts += strstr(rec.alerts[k], "warning/critical_over_budget: K is CRITICAL and went over the budget") != NULL;
    assert_int_equal(alerts, 1);
    assert_int_equal(status(s, "D2"), ORCHESTRATOR__V1__STATUS__STATUS_READY);
    sched_destroy(s);
}

static void budget_holds_then_releases(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("D1", DOC, MED, 40000, NULL, NULL), &clk);
    sched_add(s, req("D2", DOC, MED, 20000, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 1);
    assert_non_null(strstr(why(s, "D2"), "budget: needs 20000 tokens, documentation has 10000 left today"));
    assert_int_equal(sched_get(s, "D2")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_BUDGET);
    result(s, "D1", 1, 25000);   /* 25k used, 15k still reserved: 10k left */
    assert_int_equal(rec.nd, 1);
    verdict(s, "D1", 1, PASS, NULL); /* reservation freed: 25k left */
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "D2");
    assert_int_equal(sched_budget(s)->used[DOC], 25000);
    sched_destroy(s);
}

static void overlap_holds_the_second(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, "src/shared/util.ts,src/api/a.ts"), &clk);
    sched_add(s, req("B", FE, HIGH, 100, NULL, "src/shared/util.ts,src/pages/b.tsx"), &clk);
    sched_add(s, req("C", FE, MED, 100, NULL, "src/pages/c.tsx"), &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "C");
    assert_string_equal(why(s, "B"), "overlap: with A on src/shared/util.ts");
    assert_int_equal(sched_get(s, "B")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_OVERLAP);
    assert_int_equal(sched_get(s, "B")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "B")->wait_ids[0], "A");
    /* verified is not merged: B's change to util.ts would meet A's at the merge */
    verdict(s, "A", 1, PASS, NULL);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(why(s, "B"), "overlap: with A on src/shared/util.ts");
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(rec.nd, 2);
    merged(s, "A");
    assert_int_equal(rec.nd, 3);
    assert_string_equal(rec.d[2].id, "B");
    sched_destroy(s);
}

static void deep_queue_asks_for_agents_with_cooldown(void **state)
{
    sched *s;
    char id[16];
    (void)state;
    cfg.window = 1;
    s = sched_create(&cfg, &out, &clk);
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof(id), "B%d", i);
        sched_add(s, req(id, BE, MED, 100, NULL, NULL), &clk);
    }
    assert_int_equal(rec.nspawn, 1);      /* at the 7th waiting item */
    assert_int_equal(rec.spawn_type[0], BE);
    assert_int_equal(rec.spawn_count[0], 2);
    sched_add(s, req("B9", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nspawn, 1);      /* cooldown */
    clk.now_ms += 11 * 60 * 1000;
    clk.minute = 23 * 60;                 /* quiet hours */
    sched_tick(s, &clk);
    assert_int_equal(rec.nspawn, 1);
    clk.minute = 12 * 60;
    sched_tick(s, &clk);
    assert_int_equal(rec.nspawn, 2);
    sched_destroy(s);
}

static void conservation_holds_low_hints_small_and_alerts_once(void **state)
{
    sched *s;
    pb_heartbeat h;
    pb_requirement *small;
    (void)state;
    cfg.idle_day_percent = 100; /* idle agents may use a whole type's day here */
    s = sched_create(&cfg, &out, &clk);
    orchestrator__v1__heartbeat__init(&h);
    h.agent_type = (Orchestrator__V1__AgentType)FE;
    h.tokens_used = 290000;
    heartbeat(s, &h);
    h.agent_type = (Orchestrator__V1__AgentType)BE;
    heartbeat(s, &h);
    h.agent_type = (Orchestrator__V1__AgentType)5;
    h.tokens_used = 140000;
    heartbeat(s, &h);
    h.agent_type = (Orchestrator__V1__AgentType)3;
    h.tokens_used = 90000;
    heartbeat(s, &h); /* 810k of 1M */
    assert_true(sched_conservation(s));
    assert_int_equal(rec.nalert, 1);
    assert_non_null(strstr(rec.alerts[0], "warning/conservation"));
    sched_add(s, req("L", BE, LOW, 100, NULL, NULL), &clk);
    assert_non_null(strstr(why(s, "L"), "conservation: LOW work held back"));
    assert_int_equal(sched_get(s, "L")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_CONSERVATION);
    small = req("S", BE, MED, 100, NULL, NULL);
    small->complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_S;
    sched_add(s, small, &clk);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].hint, "cheap");
    h.tokens_used = 1000;
    heartbeat(s, &h);
    assert_int_equal(rec.nalert, 1); /* once */
    /* a new day: used resets, conservation ends, LOW goes */
    snprintf(clk.day, sizeof(clk.day), "2026-11-25");
    sched_tick(s, &clk);
    assert_false(sched_conservation(s));
    assert_int_equal(status(s, "L"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

static void turns_release_only_on_the_cadence(void **state)
{
    sched *s;
    (void)state;
    cfg.turn_minutes = 30;
    s = sched_create(&cfg, &out, &clk);
    clk.minute = 10 * 60 + 1;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 0);
    clk.minute = 10 * 60 + 10;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 0);
    clk.minute = 10 * 60 + 30;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 1);
    sched_destroy(s);
}

static void turns_are_staggered_by_type(void **state)
{
    sched_cfg c;
    (void)state;
    sched_cfg_default(&c);
    assert_false(sched_turn_due(&c, BE, 0)); /* continuous */
    assert_int_equal(sched_turn_next(&c, BE, 0), -1);
    c.turn_minutes = 30;
    assert_true(sched_turn_due(&c, BE, 0));
    assert_true(sched_turn_due(&c, FE, 30));
    assert_false(sched_turn_due(&c, FE, 5));
    assert_int_equal(sched_turn_next(&c, BE, 0), 30);
    assert_int_equal(sched_turn_next(&c, BE, 29), 30);
    assert_int_equal(sched_turn_next(&c, BE, 1439), 1440); /* tomorrow's first */
    for (int t = 1; t < NAMES_AGENT_TYPES; t++)
        c.turn_offset[t] = (t - 1) * 5;                      /* the seed's :00, :05, :10, ... */
    assert_true(sched_turn_due(&c, BE, 600));
    assert_false(sched_turn_due(&c, FE, 600));
    assert_true(sched_turn_due(&c, FE, 605));
    assert_true(sched_turn_due(&c, FE, 635));
    assert_true(sched_turn_due(&c, DB, 10));
    assert_false(sched_turn_due(&c, DB, 0));
    assert_true(sched_turn_due(&c, DOC, 1425));
    assert_int_equal(sched_turn_next(&c, FE, 600), 605);
    assert_int_equal(sched_turn_next(&c, FE, 605), 635);
    assert_int_equal(sched_turn_next(&c, DOC, 1436), 1440 + 15);
    c.turn_minutes = 7;                                   /* cycles that do not divide the day */
    c.turn_offset[FE] = 5;
    assert_int_equal(sched_turn_next(&c, FE, 1436), 1440 + 5); /* 1435 + 5 would be past midnight */
}

static void a_turn_releases_only_its_type_and_the_rest_say_when(void **state)
{
    sched *s;
    (void)state;
    cfg.turn_minutes = 30;
    cfg.turn_offset[FE] = 5;
    s = sched_create(&cfg, &out, &clk);
    clk.minute = 10 * 60 + 1;
    sched_add(s, req("B1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("F1", FE, MED, 100, NULL, NULL), &clk);
    assert_string_equal(why(s, "B1"), "turn: the next backend turn is at 10:30");
    assert_string_equal(why(s, "F1"), "turn: the next frontend turn is at 10:05");
    assert_int_equal(sched_get(s, "F1")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_TURN);
    clk.minute = 10 * 60 + 5;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "F1");
    assert_string_equal(why(s, "B1"), "turn: the next backend turn is at 10:30");
    sched_add(s, req("F2", FE, MED, 100, NULL, NULL), &clk);
    assert_string_equal(why(s, "F2"), "turn: the next frontend turn is at 10:35");
    clk.minute = 10 * 60 + 30;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "B1");
    sched_destroy(s);
}

/* Within a priority, ready work goes by how much expected work waits
 * behind it (upward rank), equal ranks by age; CRITICAL still first. */
static void ready_work_goes_by_rank_then_age(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 1;
    /* each started by an instance of its own, none seen twice: no agent
     * counted, the window is the setting's */
    s = sched_create(&cfg, &out, &clk);
    sched_add(s, req("X", BE, MED, 100, NULL, NULL), &clk); /* takes the window */
    sched_add(s, req("OLD", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("SHORT", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("HEAD", BE, MED, 100, NULL, NULL), &clk); /* the newest, with a chain behind it */
    sched_add(s, req("T1", FE, MED, 100, "HEAD", NULL), &clk);
    sched_add(s, req("T2", DB, MED, 100, "T1", NULL), &clk);
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 1);
    started_by(s, "X", "X");
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "HEAD");
    started_by(s, "HEAD", "HEAD");
    assert_string_equal(rec.d[2].id, "OLD"); /* equal ranks: the older */
    sched_add(s, req("CRIT", BE, CRIT, 100, NULL, NULL), &clk);
    sched_add(s, req("H2", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("U1", FE, MED, 100, "H2", NULL), &clk);
    sched_add(s, req("U2", FE, MED, 100, "U1", NULL), &clk);
    sched_add(s, req("U3", FE, MED, 100, "U2", NULL), &clk);
    sched_tick(s, &clk);
    started_by(s, "OLD", "OLD");
    assert_string_equal(rec.d[3].id, "CRIT"); /* before any rank */
    started_by(s, "CRIT", "CRIT");
    assert_string_equal(rec.d[4].id, "H2");
    started_by(s, "H2", "H2");
    assert_string_equal(rec.d[5].id, "SHORT");
    sched_destroy(s);
}

/* An idle instance that lives: two heartbeats, one a minute ago (one alone
 * does not count it, see one_heartbeat_of_nobody_does_not_narrow_the_window). */
static void alive(sched *s, int type, const char *instance)
{
    clk.now_ms -= 60 * 1000LL;
    idle(s, type, instance);
    clk.now_ms += 60 * 1000LL;
    idle(s, type, instance);
}

/* A with the frontend agent, 90 minutes to go; B (backend) waits only on
 * A, with C1..C4 behind it; X (backend, two hours) is ready. */
static sched *longer_path_ahead(void)
{
    sched *s = sched_create(&cfg, &out, &clk);
    alive(s, BE, "be-1");
    alive(s, FE, "fe-1");
    sched_add(s, req("A", FE, MED, 100, NULL, NULL), &clk);
    sched_tick(s, &clk);
    started_by(s, "A", "fe-1");
    clk.now_ms += 30 * 60 * 1000LL;
    alive(s, BE, "be-1"); /* idle agents say so every few minutes */
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    sched_add(s, req("C1", FE, MED, 100, "B", NULL), &clk);
    sched_add(s, req("C2", FE, MED, 100, "C1", NULL), &clk);
    sched_add(s, req("C3", FE, MED, 100, "C2", NULL), &clk);
    sched_add(s, req("C4", FE, MED, 100, "C3", NULL), &clk);
    sched_add(s, req("X", BE, MED, 100, NULL, NULL), &clk);
    return s;
}

/* One backend agent. B (backend) waits only on A, which a frontend agent
 * is working on and is expected to end in 90 minutes; four requirements
 * wait behind B. X, a two-hour backend requirement with nothing behind it,
 * would take the agent just before B is ready and hold it two hours: it is
 * kept back (RESERVED, naming B), while S, half an hour, ends in time and
 * goes. B goes as soon as A is done, X after it. */
static void the_agent_is_kept_for_the_longer_path_about_to_be_ready(void **state)
{
    sched *s = longer_path_ahead();
    pb_requirement *short_one = req("S", BE, MED, 100, NULL, NULL);
    (void)state;
    short_one->complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_S;
    sched_add(s, short_one, &clk);
    sched_tick(s, &clk);
    assert_int_equal(status(s, "S"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(status(s, "X"), ORCHESTRATOR__V1__STATUS__STATUS_READY);
    started_by(s, "S", "be-1");
    assert_int_equal(sched_get(s, "X")->wait_kind, KIND(WINDOW)); /* the one agent has S */
    clk.now_ms += 30 * 60 * 1000LL;
    alive(s, BE, "be-1"); /* done with S: its heartbeats name nothing now */
    result(s, "S", 1, 10);
    verdict(s, "S", 1, PASS, NULL);
    sched_tick(s, &clk);
    assert_int_equal(status(s, "X"), ORCHESTRATOR__V1__STATUS__STATUS_READY); /* B is still an hour away */
    assert_int_equal(sched_get(s, "X")->wait_kind, KIND(RESERVED));
    assert_int_equal(sched_get(s, "X")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "X")->wait_ids[0], "B");
    assert_non_null(strstr(why(s, "X"), "reserved: a backend agent is kept for B"));
    clk.now_ms += 60 * 60 * 1000LL;
    alive(s, BE, "be-1");
    result(s, "A", 1, 10);
    landed(s, "A", 1);
    sched_tick(s, &clk);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    started_by(s, "B", "be-1");
    sched_tick(s, &clk);
    assert_int_equal(sched_get(s, "X")->wait_kind, KIND(WINDOW)); /* the agent has B */
    result(s, "B", 1, 10);
    assert_int_equal(status(s, "X"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED); /* nothing claims the agent now */
    sched_destroy(s);
}

static void without_reservations_the_agent_is_not_kept(void **state)
{
    sched *s;
    (void)state;
    cfg.reserve = 0;
    s = longer_path_ahead();
    sched_tick(s, &clk);
    assert_int_equal(status(s, "X"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

/* Two backend agents, a window of 2: two requirements go (one for each
 * agent); with both agents given work, nothing more is released: what goes
 * next is chosen when an agent is free (a requirement released ahead would
 * be taken before CRITICAL work released after it). With no agent seen, the
 * window is the setting. */
static void every_agent_busy_narrows_the_window(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 2;
    s = sched_create(&cfg, &out, &clk);
    alive(s, BE, "be-1");
    alive(s, BE, "be-2");
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "W%d", i);
        sched_add(s, req(id, BE, MED, 100, NULL, NULL), &clk);
    }
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(why(s, "W2"), "window: 2 of 2 backend release slots taken");
    started_by(s, "W0", "be-1");
    started_by(s, "W1", "be-2");
    assert_int_equal(rec.nd, 2); /* nothing waits in the agents' queue */
    assert_string_equal(why(s, "W3"), "window: every backend agent has work (2 released to 2 alive); the next goes "
                                      "when one is free");
    result(s, "W0", 1, 10); /* be-1 is free */
    assert_int_equal(rec.nd, 3);
    assert_string_equal(rec.d[2].id, "W2");
    sched_destroy(s);

    setup(NULL);
    cfg.window = 2;
    cfg.agent_seen_ms = -1; /* no agent counted */
    s = sched_create(&cfg, &out, &clk);
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "W%d", i);
        sched_add(s, req(id, BE, MED, 100, NULL, NULL), &clk);
    }
    sched_tick(s, &clk);
    started(s, "W0");
    started(s, "W1");
    assert_int_equal(rec.nd, 4); /* the whole window */
    sched_destroy(s);
}

/* An instance whose circuit breaker opened says "stopped": it is not an
 * agent free to take work, and the window counts only the other. */
static void a_stopped_agent_is_not_counted(void **state)
{
    sched *s;
    pb_heartbeat h;
    (void)state;
    cfg.window = 3;
    s = sched_create(&cfg, &out, &clk);
    alive(s, BE, "be-1");
    alive(s, BE, "be-2");
    orchestrator__v1__heartbeat__init(&h);
    h.agent_type = (Orchestrator__V1__AgentType)BE;
    h.requirement_id = "";
    h.instance = "be-2";
    h.state = "stopped";
    heartbeat(s, &h);
    sched_add(s, req("W0", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("W1", BE, MED, 100, NULL, NULL), &clk);
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 1);
    started_by(s, "W0", "be-1");
    assert_non_null(strstr(why(s, "W1"), "(1 released to 1 alive)"));
    sched_destroy(s);
}

/* Anyone may publish a heartbeat in any name: one idle heartbeat of an
 * instance that does not exist does not count it as an agent for the
 * window (it would narrow the window to one, "every agent busy"). Its
 * second heartbeat does; once it is not heard of for agent_seen_ms it no
 * longer counts. */
static void one_heartbeat_of_nobody_does_not_narrow_the_window(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 2;
    s = sched_create(&cfg, &out, &clk);
    idle(s, BE, "ghost");
    sched_add(s, req("G0", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("G1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("G2", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("G3", BE, MED, 100, NULL, NULL), &clk);
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 2); /* the whole window */
    assert_null(strstr(why(s, "G2"), "every backend agent has work"));
    started(s, "G0");
    idle(s, BE, "ghost"); /* heard of again: it lives, and it is busy... */
    started(s, "G1");
    assert_int_equal(rec.nd, 3); /* G2 went while it was not counted; G3 waits for a free agent */
    assert_non_null(strstr(why(s, "G3"), "every backend agent has work"));
    clk.now_ms += cfg.agent_seen_ms + 1; /* not heard of since: gone */
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 4);
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(critical_overtakes_queued_medium_work, setup),
        cmocka_unit_test_setup(critical_reaches_the_agent_before_medium_work, setup),
        cmocka_unit_test_setup(critical_work_goes_over_a_spent_budget_with_the_cheaper_model, setup),
        cmocka_unit_test_setup(one_heartbeat_of_nobody_does_not_narrow_the_window, setup),
        cmocka_unit_test_setup(budget_holds_then_releases, setup),
        cmocka_unit_test_setup(overlap_holds_the_second, setup),
        cmocka_unit_test_setup(deep_queue_asks_for_agents_with_cooldown, setup),
        cmocka_unit_test_setup(conservation_holds_low_hints_small_and_alerts_once, setup),
        cmocka_unit_test_setup(turns_release_only_on_the_cadence, setup),
        cmocka_unit_test_setup(turns_are_staggered_by_type, setup),
        cmocka_unit_test_setup(a_turn_releases_only_its_type_and_the_rest_say_when, setup),
        cmocka_unit_test_setup(ready_work_goes_by_rank_then_age, setup),
        cmocka_unit_test_setup(the_agent_is_kept_for_the_longer_path_about_to_be_ready, setup),
        cmocka_unit_test_setup(without_reservations_the_agent_is_not_kept, setup),
        cmocka_unit_test_setup(every_agent_busy_narrows_the_window, setup),
        cmocka_unit_test_setup(a_stopped_agent_is_not_counted, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
