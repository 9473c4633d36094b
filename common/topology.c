#include "topology.h"

#include <string.h>

#define DAY (24 * 3600)

/* Duplicate windows: long enough to cover a crashed service's restart and
 * redelivery (ack wait times max deliver), short enough to keep the
 * server's id table small. Dispatch does not rely on the window alone: the
 * scheduler also records the dispatched attempt in KV before it acks. */
const topo_stream topo_streams[] = {
    /* work.requirements.<type>.<id>: the seed's own way to hand in work,
     * with the agent type in the subject */
    {"INTAKE", {"intake.>", "work.requirements.>"}, TOPO_WORK_QUEUE, 7 * DAY, 600, 1 << 20,
     "requirements as people and tools send them; the router consumes"},
    {"PLAN", {"plan.>"}, TOPO_WORK_QUEUE, 30 * DAY, 600, 1 << 20,
     "classified requirements (protobuf) for the scheduler"},
    {"REQUIREMENTS", {"requirements.>"}, TOPO_LIMITS, 30 * DAY, 3600, 1 << 20,
     "work released to agents, by agent type"},
    {"RESULTS", {"results.>"}, TOPO_LIMITS, 90 * DAY, 600, 1 << 20,
     "agents' completion reports"},
    {"VERDICTS", {"verdicts.>"}, TOPO_LIMITS, 90 * DAY, 600, 4 << 20,
     "the verifier's build and test verdicts (protobuf)"},
    {"ERRORS", {"errors.>"}, TOPO_LIMITS, 30 * DAY, 600, 1 << 20,
     "agent failures and services' bad-input reports"},
    {"INTEGRATION", {"integration.>"}, TOPO_LIMITS, 30 * DAY, 120, 1 << 20,
     "agent-to-agent messages"},
    {"CONTROL", {"control.>"}, TOPO_LIMITS, 7 * DAY, 600, 64 << 10,
     "spawn and kill requests for the Host Listener"},
    {"ALERTS", {"alerts.>"}, TOPO_LIMITS, 30 * DAY, 600, 256 << 10,
     "alerts raised and resolved by the monitor"},
    {"DEADLETTER", {"deadletter.>"}, TOPO_LIMITS, 30 * DAY, 600, 2 << 20,
     "messages that hit their delivery limit, with the reason"},
    /* train.do.<project>: builds and base moves the scheduler asks of the
     * verifiers; train.done.<project>: what became of them */
    {"TRAIN", {"train.>"}, TOPO_LIMITS, 30 * DAY, 600, 4 << 20,
     "the merge train: candidate builds and base moves, and their outcomes (JSON)"},
};
const size_t topo_stream_count = sizeof(topo_streams) / sizeof(topo_streams[0]);

/* Ack waits are the longest a handler may hold a message without an
 * in-progress ack, and so also how long a message held by a service that
 * died waits before it is redelivered: short for the services that handle a
 * batch in milliseconds. Max deliver bounds redelivery of a poison message. */
const topo_consumer topo_consumers[] = {
    /* ">": both of INTAKE's subjects (a consumer has one filter in
     * nats.c 3.4.1) */
    {"INTAKE", TOPO_DUR_ROUTER, ">", 10000, 5, 1000, "shared by all router replicas"},
    {"PLAN", TOPO_DUR_SCHEDULER_PLAN, "plan.>", 10000, 10, 1000, "classified requirements"},
    {"RESULTS", TOPO_DUR_VERIFIER, "results.>", 20000, 5, 64, "shared by all verifier replicas (in-progress acks every 5 s)"},
    {"RESULTS", TOPO_DUR_SCHEDULER_RESULTS, "results.>", 10000, 10, 1000, "results move work to VERIFYING"},
    {"RESULTS", TOPO_DUR_MONITOR_RESULTS, "results.>", 10000, 10, 1000, "agent activity and token spend"},
    {"VERDICTS", TOPO_DUR_SCHEDULER_VERDICTS, "verdicts.>", 10000, 10, 1000, "verdicts complete or reject"},
    {"VERDICTS", TOPO_DUR_MONITOR_VERDICTS, "verdicts.>", 10000, 10, 1000, "acceptance metrics"},
    {"ERRORS", TOPO_DUR_SCHEDULER_ERRORS, "errors.>", 10000, 10, 1000, "retry or escalate"},
    {"ERRORS", TOPO_DUR_MONITOR_ERRORS, "errors.>", 10000, 10, 1000, "error rates"},
    {"INTEGRATION", TOPO_DUR_MONITOR_INTEGRATION, "integration.>", 10000, 10, 1000, "agent activity"},
    {"ALERTS", TOPO_DUR_MONITOR_MATRIX, "alerts.>", 20000, -1, 64, "delivery to Matrix (one attempt is bounded by matrix.timeout_ms)"},
    {"TRAIN", TOPO_DUR_VERIFIER_TRAIN, "train.do.>", 20000, 5, 64,
     "merge-train builds and base moves, shared by all verifier replicas (in-progress acks every 5 s)"},
    {"TRAIN", TOPO_DUR_SCHEDULER_TRAIN, "train.done.>", 10000, 10, 1000, "merge-train outcomes move the base"},
    {"CONTROL", TOPO_DUR_HOST_LISTENER, "control.>", 30000, 10, 100, "the Host Listener's spawn and kill requests"},
    /* The seed's own readers: `nats consumer next RESULTS orchestrator` and
     * `nats consumer next ERRORS orchestrator`. RESULTS and ERRORS keep
     * their messages (limits streams, each consumer sees everything), so
     * these take nothing from the services. No service reads them: their
     * pending count grows with the stream, and the stream's age limit is
     * what bounds it. No inactive threshold: the daemons provision what is
     * missing again and alert on it. No delivery limit: a message fetched
     * and never acked is offered again, not dead-lettered and alerted. */
    {"RESULTS", "orchestrator", "results.>", 30000, -1, 1000, "completions for a person reading them by hand"},
    {"ERRORS", "orchestrator", "errors.>", 30000, -1, 1000, "failures for a person reading them by hand"},
    /* The seed's agent consumers. */
    {"REQUIREMENTS", "roy-backend", "requirements.backend.>", 1800000, -1, 1000, "backend agents"},
    {"REQUIREMENTS", "jen-frontend", "requirements.frontend.>", 1800000, -1, 1000, "frontend agents"},
    {"REQUIREMENTS", "database-agent", "requirements.database.>", 1800000, -1, 1000, "database agents"},
    {"REQUIREMENTS", "documentation-agent", "requirements.documentation.>", 1800000, -1, 1000,
     "documentation agents"},
    {"REQUIREMENTS", "senior-review", "requirements.review.>", 1800000, -1, 1000, "review agents"},
    {"REQUIREMENTS", "release-manager", "requirements.release.>", 1800000, -1, 1000, "release manager"},
};
const size_t topo_consumer_count = sizeof(topo_consumers) / sizeof(topo_consumers[0]);

const topo_bucket topo_buckets[] = {
    {TOPO_KV_REQUIREMENTS, 5, 0, "requirement state, by id"},
    {TOPO_KV_BUDGETS, 1, 0, "token use per day and agent type"},
    {TOPO_KV_ACTIVITY, 1, 0, "last activity per agent instance"},
    {TOPO_KV_LEADER, 1, 10, "leader leases (the TTL is the lease time)"},
    {TOPO_KV_COUNTERS, 1, 0, "id counters"},
    {TOPO_KV_ALERTS, 1, 0, "alert state: fingerprints, Matrix event ids"},
    {TOPO_KV_INTAKE_IDS, 1, 86400, "ids assigned per intake message, so a redelivery gets the same"},
    {TOPO_KV_CLAIMS, 1, 86400, "<type>.<message id>: created by the agent that acts on that work, once"},
    {TOPO_KV_TRAINS, 1, 0, "the merge train of each project (JSON), kept by the scheduler's leader"},
    {TOPO_KV_DECISIONS, 1, 0, "decisions of people that outlive a leader: key pauses (JSON), kept by the "
                              "scheduler's leader"},
    {TOPO_KV_IDS, 1, 0, "every requirement id the router handed on, created once: seq-<S>-<i>, the intake item "
                        "that took it"},
};
const size_t topo_bucket_count = sizeof(topo_buckets) / sizeof(topo_buckets[0]);

int topo_kv_create_once(const char *bucket)
{
    return bucket && !strcmp(bucket, TOPO_KV_CLAIMS);
}

int64_t topo_kv_ttl_ms(const char *bucket)
{
    for (size_t i = 0; i < topo_bucket_count; i++)
        if (strcmp(topo_buckets[i].bucket, bucket) == 0)
            return topo_buckets[i].ttl_s * 1000;
    return 0;
}

const topo_consumer *topo_consumer_find(const char *stream, const char *durable)
{
    for (size_t i = 0; i < topo_consumer_count; i++)
        if ((!stream || strcmp(topo_consumers[i].stream, stream) == 0) && strcmp(topo_consumers[i].durable, durable) == 0)
            return &topo_consumers[i];
    return NULL;
}
