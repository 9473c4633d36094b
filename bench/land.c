#include "land.h"

void bench_verify(sched *s, const char *id, const char *instance, uint64_t tokens, const sched_clock *clk)
{
    pb_result r;
    pb_verdict v;
    const pb_state *st = sched_get(s, id);
    sched_from from = {st ? (int)st->requirement->type : 0, id, NULL, NULL, "results", NULL};
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.attempt = 1;
    r.instance = (char *)(instance ? instance : "");
    r.tokens_used = tokens;
    sched_result(s, &r, &from, clk);
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = (char *)id;
    v.attempt = 1;
    v.kind = ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS;
    sched_verdict(s, &v, clk);
}

void bench_land(sched *s, const char *id, const sched_clock *clk)
{
    pb_result r;
    const pb_state *st = sched_get(s, id);
    sched_from review = {ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, id, NULL, NULL, "results", NULL};
    sched_from release = {ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE, id, NULL, NULL, "results", NULL};
    if (!st || st->status != ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING)
        return;
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
    r.review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
    sched_result(s, &r, &review, clk);
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE;
    r.ref = "refs/heads/main";
    sched_result(s, &r, &release, clk);
}
