/* What the router's integration tests (test_router, test_router_ids) share:
 * publishing intake, reading PLAN and the intake errors back, the router's
 * figures. Every helper fails the calling test (cmocka) on a broken step. */
#ifndef ROUTER_FIX_H
#define ROUTER_FIX_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "pb.h"
#include "svcfix.h"

typedef svc_env env;

/* Requirements read from PLAN (read_plan: through the scheduler's durable,
 * no scheduler running, until want messages or timeout_ms). */
typedef struct {
    pb_requirement **r;
    int n, cap;
} plan_list;

void intake(env *e, const char *subject, const void *data, int len, const char *ctype);

void intake_str(env *e, const char *text);

void plan_free(plan_list *p);

void read_plan(env *e, plan_list *p, int want, int timeout_ms);

const pb_requirement *find(const plan_list *p, const char *id);

int distinct_ids(const plan_list *p);

uint64_t stream_msgs(env *e, const char *stream);

/* The first few messages of stream on stderr: what a failed check saw. */
void print_stream(env *e, const char *stream, int max);

/* Acks are asynchronous: give the server a moment to apply them; after a
 * crash, the unacked batch comes back only after the consumer's ack wait
 * (10 s), so the caller says how long. */
void wait_intake_empty(env *e, int timeout_ms);

/* The next want reports on errors.> (through the monitor's durable, which
 * no monitor uses here), each as {"subject": ..., "report": {...}}. */
cJSON *read_errors(env *e, int want, int timeout_ms);

const char *report_str(const cJSON *x, const char *key);

/* The report for intake message seq, or a failed test. */
const cJSON *report_for(const cJSON *all, uint64_t seq);

void expect_report(const cJSON *all, uint64_t seq, const char *reason, const char *text);

void intake_pb(env *e, const pb_requirement *r);

int count_id(const plan_list *p, const char *id);

/* A figure from a router instance's $SRV.STATS ("messages": fetched,
 * redeliveries included; "accepted"). */
long long router_figure(env *e, const char *instance, const char *key);

/* A requirement's state as the scheduler stores it in KV orch_requirements:
 * id with status (Status enum) and dependencies deps (comma-separated, NULL:
 * none). */
void put_state(env *e, const char *id, int status, const char *deps);

/* n requirements; with given_every > 0, each given_every-th has an id of
 * its own ("K-<i>"), the rest get automatic ones. */
void publish_mixed(env *e, int from, int n, int given_every);

#endif
