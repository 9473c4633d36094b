/* What the scheduler core's unit tests share (test_sched_harness.c): a
 * sched_out that records every decision in rec, a clock and settings reset
 * by setup() before each case, and helpers that send the core what agents,
 * the verifier and reviewers would. */
#ifndef TEST_SCHED_HARNESS_H
#define TEST_SCHED_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "learn.h"
#include "names.h"
#include "schedule.h"

enum { BE = 1, FE = 2, DB = 3, DOC = 4 };
enum { CRIT = 1, HIGH = 2, MED = 3, LOW = 4 };

typedef struct {
    char id[32];
    unsigned attempt;
    char msg_id[64];
    char output[256];
    char hint[16];
    uint64_t token_budget;
} sent;

typedef struct {
    sent d[64];
    int nd;
    char reviews[32][32];
    int nr;
    char merges[32][32];
    char merge_batch[32][16];
    int merge_size[32];
    int nm;
    char rejects[8][256];
    char reject_reason[8][32];
    int nrej;
    int spawn_type[8], spawn_count[8];
    int nspawn;
    char alerts[8][300];
    int nalert;
    /* saved states, packed, by id (last one wins) */
    char saved_id[64][32];
    uint8_t *saved[64];
    size_t saved_len[64];
    int nsaved;
    int fail_dispatch;
    int refuse_dispatch;       /* dispatches answer SCHED_REFUSED */
    char refusals[16][400];    /* "<key> <reason>: <text>" */
    int nrefusal;
    /* the merge train's asks: builds ("<project> <build> <base> <id>,<id>..."),
     * base moves ("<project> <from> <to> <id>,<id>..."), the last train saved */
    char builds[32][300];
    uint64_t build_no[32];
    int nbuild;
    char advances[16][300];
    int nadvance;
    char train_json[4096];
} recorder;

extern recorder rec;
extern const sched_out out;
extern sched_clock clk;
extern sched_cfg cfg;
extern char learned_json[LEARN_JSON_MAX];
extern size_t learned_len;
extern int learned_calls;

#define PASS ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS
#define FAIL ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL
#define INFRA ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_INFRASTRUCTURE_ERROR

#define KIND(x) ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_##x

#define RELEASE ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE
#define APPROVED ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED

#define SZ_M ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_M

/* Resets rec, the clock and cfg (window 100); each case's setup. */
int setup(void **state);
/* Frees what rec holds; main calls it at the end. */
void rec_free(void);






/* A requirement of type and priority estimated at est tokens, size M;
 * deps and files comma-separated (NULL: none). */
pb_requirement *req(const char *id, int type, int prio, uint64_t est, const char *deps, const char *files);

/* The verifier's verdict of kind (PASS, FAIL, INFRA) on attempt. */
void verdict(sched *s, const char *id, unsigned attempt, int kind, const char *output);

/* The type of id's work, as the subject of its own agents' reports says. */
int own_type(sched *s, const char *id);

/* A report on results.<type>.<id>. */
admit_code result_from(sched *s, int type, const pb_result *r);

/* A result of id's own type; review: a review agent's answer. */
admit_code result(sched *s, const char *id, unsigned attempt, uint64_t tokens);

void review(sched *s, const char *id, int outcome, const char *summary);

/* The release agent's result on results.release.<id>: merged. */
admit_code merged(sched *s, const char *id);

/* Verified (PASS), approved and merged: COMPLETE, what depends on it may go
 * (a merge waits for its dependencies' merges, as the scheduler does). */
void landed(sched *s, const char *id, unsigned attempt);

/* A heartbeat on agents.heartbeat.<type>.<instance>: the body's type, else
 * the type of the work it names. */
admit_code heartbeat(sched *s, const pb_heartbeat *h);

/* An error on errors.agent.<id>. */
admit_code agent_error(sched *s, const pb_error *e);

/* A heartbeat of "agent-1" on id: the work started. */
void started(sched *s, const char *id);

/* id's status and the reason it gives. */
int status(sched *s, const char *id);
const char *why(sched *s, const char *id);

/* The last state saved for id, unpacked (free it). */
pb_state *saved(const char *id);

/* The author's result (project, ref, summary, cost) and a passing verdict
 * that names the commit it verified. */
void delivered(sched *s, const char *id, unsigned attempt, uint64_t cost_micro_usd);

/* The release agent's error on id: the merge refused with message. */
admit_code release_error(sched *s, const char *id, unsigned attempt, const char *message);

/* A sched_out.learned that keeps the last figures in learned_json. */
void r_learned(void *ctx, const char *json, size_t len);

/* A new core from every saved state (and the learned figures, if json). */
sched *from_saved(const sched_out *o, const char *json, size_t len);

/* An idle instance's heartbeat, and one naming the work it started. */
void idle(sched *s, int type, const char *instance);

void started_by(sched *s, const char *id, const char *instance);

#endif
