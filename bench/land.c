#include "land.h"

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
