/* agent-sim: plays one AI coding agent, for the demo and the tests.
 *
 * It takes work of its type from the seed's consumer (roy-backend, ...),
 * sends heartbeats while it works, makes a real commit in its own clone of
 * the demo repository, pushes it as refs/heads/req/<id>-a<attempt>, and
 * reports a result with that ref and the tokens it "used". Review agents
 * approve; release managers acknowledge merges.
 *
 * A requirement's metadata key "sim" (or the --mode option for every one)
 * picks a failure for its first attempt:
 *   broken     a build error; the retry reads lastFailureOutput and fixes it
 *   crash      the agent process exits without a result
 *   hang       the agent stops sending anything (no heartbeat, no result)
 *   transient  an error report with transient: true
 *   changes    (review agents) ask for changes once
 * The key "sim_clash" names a C function the first attempt also defines:
 * two requirements naming the same one each build alone and fail together
 * ("multiple definition" at link time); the retry leaves it out.
 * Work is acted on once: before acting, the agent claims it by creating
 * the key <type>.<message id> in KV orch_claims; a message delivered again
 * (an ack lost in a server failure) finds the claim and is skipped.
 *
 * An ack can be lost like any message: a server killed just after (or
 * while) it arrived forgets it, and the work, whose ack wait is half an
 * hour, would wait that long before it came back to be skipped as claimed.
 * So the agent keeps its last acks and, every ACK_CHECK_MS, sends again
 * those its consumer's ack floor has not passed (acking twice is harmless).
 *
 * Nothing from a message reaches a shell: git runs with argument vectors,
 * and the id only names a file after it passed the id check. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "cfg.h"
#include "claim.h"
#include "edge.h"
#include "names.h"
#include "nc.h"
#include "runner.h"
#include "strmap.h"
#include "svccfg.h"
#include "text.h"
#include "topology.h"

/* Set by the signal handler, read by the loop (lock-free, so safe in a
 * handler). */
static atomic_int stop;
static void on_signal(int s) { (void)s; atomic_store(&stop, 1); }

#define RECENT_ACKS 64
#define ACK_CHECK_MS 5000
#define ACK_SETTLE_MS 1000

typedef struct {
    char reply[256];   /* the message's ack subject; "" when free */
    uint64_t seq;      /* its stream sequence */
    long long at;      /* when it was sent (monotonic ms) */
} sent_ack;

typedef struct {
    Orchestrator__V1__AgentType type;
    const char *instance, *repo, *project, *workdir, *mode;
    long work_ms, heartbeat_ms;
    natsConnection *nc;
    jsCtx *js;
    char clone[600];
    strmap *unsure;   /* claims this process sent without learning whether they were stored */
    const char *consumer;
    natsSubscription *sub;        /* the consumer's pull subscription */
    sent_ack acks[RECENT_ACKS];   /* a ring: the last acks sent */
    int next_ack;
    long long last_ack_check;
    pb_requirement **taken;       /* the work the last message handed over, done after its ack */
    size_t n_taken;
} agent;

static void usage(FILE *o)
{
    fprintf(o, "Usage: agent-sim --type TYPE --instance ID --repo PATH [options]\n"
               "  --type T          backend, frontend, database, documentation, review, release\n"
               "  --instance ID     this agent's instance id (a subject token)\n"
               "  --repo PATH       the demo project's git repository (branches are pushed to it)\n"
               "  --project NAME    the project name the verifier knows it by (demo)\n"
               "  --work-ms N       how long one piece of work takes (800)\n"
               "  --heartbeat-ms N  heartbeat interval (500)\n"
               "  --workdir DIR     where the agent keeps its clone (/tmp)\n"
               "  --mode M          a failure for every first attempt: broken, crash, hang, transient\n"
               "  --config FILE     NATS settings (JSON: nats.url, nats.user, nats.password, ...), mode 0600\n"
               "                    when it holds a password; ORCH_NATS_* variables override it\n"
               "  --password-env V  the NATS password is in variable V (AGENT_{type}_PASS in the Host\n"
               "                    Listener's command); every AGENT_<type>_PASS and ORCH_NATS_PASSWORD\n"
               "                    is then removed from the environment\n");
}

static int git(agent *a, const char *const argv[], char **out)
{
    static const char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                                      "GIT_TERMINAL_PROMPT=0", NULL};
    run_spec s = {argv, a->clone, env, 60000, 1000, 16384, NULL, NULL, 0};
    run_result r;
    int rc = runner_run(&s, &r);
    if (rc != 0)
        fprintf(stderr, "agent-sim %s: %s %s failed: %s\n", a->instance, argv[0], argv[1], r.output);
    if (out)
        *out = r.output;
    else
        free(r.output);
    return rc;
}

/* Publishes what the agent has to say about r until JetStream stores it
 * (a server outage only delays it), with a message id of its own so that a
 * resend after a lost ack is dropped as a duplicate. */
static void publish(agent *a, const pb_requirement *r, const char *what, const char *subject, const char *json)
{
    char msg_id[200];
    jsPubOptions po;
    snprintf(msg_id, sizeof(msg_id), "%s-%s-%s-a%u", what, names_agent_type(a->type), r->id, r->attempt);
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = 5000;
    for (int tries = 1; !stop; tries++) {
        if (js_Publish(NULL, a->js, subject, json, (int)strlen(json), &po, NULL) == NATS_OK)
            return;
        fprintf(stderr, "agent-sim %s: publish %s (try %d): %s\n", a->instance, subject, tries,
                nats_GetLastError(NULL));
        if (tries == 120) {
            fprintf(stderr, "agent-sim %s: giving up on %s\n", a->instance, subject);
            return;
        }
        sleep(1);
    }
}

static void heartbeat(agent *a, const char *id, uint64_t tokens)
{
    char subj[160], *body;
    pb_heartbeat h;
    orchestrator__v1__heartbeat__init(&h);
    h.agent_type = a->type;
    h.instance = (char *)a->instance;
    h.requirement_id = (char *)(id ? id : "");
    h.tokens_used = tokens;
    h.state = id ? "working" : "idle";
    names_subject_typed(subj, sizeof(subj), NAMES_SUBJ_HEARTBEAT, (int)a->type, a->instance);
    body = edge_heartbeat_to_json(&h);
    natsConnection_PublishString(a->nc, subj, body);
    free(body);
}

/* While busy: what the consumer sent without being asked now goes back
 * at once, for an idle agent to take (nc_return_strays). */
static void busy_tick(agent *a)
{
    int back = a->sub ? nc_return_strays(a->sub) : 0;
    if (back) {
        printf("agent-sim %s: gave back %d message(s) delivered while busy\n", a->instance, back);
        fflush(stdout);
    }
}

static const char *sim_mode(agent *a, const pb_requirement *r)
{
    if (r->metadata)
        for (size_t i = 0; i < r->metadata->n_extra; i++)
            if (!strcmp(r->metadata->extra[i]->key, "sim"))
                return r->metadata->extra[i]->value;
    return a->mode ? a->mode : "";
}

/* The function named by metadata "sim_clash" when r's first attempt
 * defines one: a C identifier of at most 63 characters, else NULL. */
static const char *sim_clash(const pb_requirement *r)
{
    if (r->attempt > 1 || !r->metadata)
        return NULL;
    for (size_t i = 0; i < r->metadata->n_extra; i++) {
        const char *v = r->metadata->extra[i]->value;
        size_t k = 0;
        if (strcmp(r->metadata->extra[i]->key, "sim_clash") || !v)
            continue;
        while (v[k] && k < 64 && (v[k] == '_' || (v[k] >= 'a' && v[k] <= 'z') || (v[k] >= 'A' && v[k] <= 'Z') ||
                                  (k > 0 && v[k] >= '0' && v[k] <= '9')))
            k++;
        return k > 0 && k < 64 && !v[k] ? v : NULL;
    }
    return NULL;
}

/* The code change: a feature file; broken on purpose when asked. */
static int commit_work(agent *a, const pb_requirement *r, int broken, char *ref, size_t reflen)
{
    char path[800], msg[200], fname[120];
    FILE *f;
    snprintf(fname, sizeof(fname), "features/%s.c", r->id);
    {
        const char *fetch[] = {"git", "fetch", "-q", "origin", "main", NULL};
        const char *co[] = {"git", "checkout", "-q", "-B", "work", "FETCH_HEAD", NULL};
        if (git(a, fetch, NULL) != 0 || git(a, co, NULL) != 0)
            return -1;
    }
    snprintf(path, sizeof(path), "%s/features", a->clone);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s", a->clone, fname);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f, "/* %s (attempt %u) by %s */\n", r->id, r->attempt, a->instance);
    if (broken)
        fprintf(f, "int feature_done(void) { return undeclared_%u; }\n", r->attempt);
    else {
        char fn[80];
        size_t k;
        snprintf(fn, sizeof(fn), "%s", r->id);
        for (k = 0; fn[k]; k++)
            if (fn[k] == '-')
                fn[k] = '_';
        fprintf(f, "static int feature(void) { return %u; }\nint feature_%s(void) { return feature(); }\n",
                r->attempt, fn);
        if (sim_clash(r))
            fprintf(f, "int %s(void) { return %u; }\n", sim_clash(r), r->attempt);
    }
    fclose(f);
    snprintf(msg, sizeof(msg), "%s: %.120s", r->id, r->title);
    snprintf(ref, reflen, "refs/heads/req/%s-a%u", r->id, r->attempt);
    {
        char spec[200];
        const char *add[] = {"git", "add", fname, NULL};
        const char *ci[] = {"git", "-c", "user.email=agent@orchestrator.local", "-c", "user.name=agent-sim",
                            "commit", "-q", "-m", msg, NULL};
        const char *push[] = {"git", "push", "-q", "-f", "origin", spec, NULL};
        snprintf(spec, sizeof(spec), "HEAD:%s", ref);
        if (git(a, add, NULL) != 0 || git(a, ci, NULL) != 0 || git(a, push, NULL) != 0)
            return -1;
    }
    return 0;
}

static void work(agent *a, const pb_requirement *r)
{
    const char *mode = sim_mode(a, r);
    int first = r->attempt <= 1;
    char subj[160], ref[200];
    uint64_t total = r->estimated_tokens ? r->estimated_tokens * (50 + (unsigned)(r->id[strlen(r->id) - 1] % 40)) / 100
                                         : 1000;
    uint64_t spent = 0;
    long slices = a->work_ms / (a->heartbeat_ms > 0 ? a->heartbeat_ms : 1);
    pb_result res;
    char *json;

    printf("agent-sim %s: working on %s attempt %u%s%s\n", a->instance, r->id, r->attempt, *mode ? " mode " : "",
           mode);
    fflush(stdout);
    heartbeat(a, r->id, 0); /* taken: now everyone knows who has it */
    natsConnection_Flush(a->nc);
    if (first && !strcmp(mode, "crash")) {
        printf("agent-sim %s: crashing (simulated)\n", a->instance);
        fflush(stdout);
        _exit(3);
    }
    if (first && !strcmp(mode, "hang")) {
        printf("agent-sim %s: hanging (simulated)\n", a->instance);
        fflush(stdout);
        while (!stop) {
            busy_tick(a); /* a hung CLI, not a hung wrapper */
            sleep(1);
        }
        return;
    }
    if (slices < 1)
        slices = 1;
    for (long i = 0; i < slices && !stop; i++) {
        uint64_t part = total / (uint64_t)slices / 2;
        spent += part;
        heartbeat(a, r->id, part);
        busy_tick(a);
        usleep((useconds_t)(a->heartbeat_ms * 1000));
    }
    if (first && !strcmp(mode, "transient")) {
        pb_error e;
        orchestrator__v1__agent_error__init(&e);
        e.source = (char *)names_source_token(NAMES_SRC_AGENT);
        e.reason = "registry_timeout";
        e.requirement_id = r->id;
        e.attempt = r->attempt;
        e.agent_type = a->type;
        e.instance = (char *)a->instance;
        e.transient = 1;
        e.message = "npm ERR! network timeout fetching a package (simulated)";
        names_agent_error_subject(subj, sizeof(subj), a->type, r->id);
        json = edge_error_to_json(&e);
        publish(a, r, "error", subj, json);
        free(json);
        return;
    }
    {
        /* A broken build on the first attempt; the retry uses the error
         * text it was sent back to fix it. */
        int broken = first && !strcmp(mode, "broken");
        if (!first && *r->last_failure_output)
            printf("agent-sim %s: fixing after: %.100s\n", a->instance, r->last_failure_output);
        if (commit_work(a, r, broken, ref, sizeof(ref)) != 0)
            return;
    }
    orchestrator__v1__result__init(&res);
    res.requirement_id = r->id;
    res.attempt = r->attempt;
    res.agent_type = a->type;
    res.instance = (char *)a->instance;
    res.project = (char *)a->project;
    res.ref = ref;
    res.tokens_used = spent + total / 2;
    res.summary = "implemented (simulated)";
    json = edge_result_to_json(&res);
    names_subject_typed(subj, sizeof(subj), NAMES_SUBJ_RESULTS, (int)a->type, r->id);
    publish(a, r, "result", subj, json);
    free(json);
}

/* Remembers the ack about to be sent for m until the consumer's ack floor
 * passes it. */
static void remember_ack(agent *a, natsMsg *m)
{
    jsMsgMetaData *meta = NULL;
    const char *reply = natsMsg_GetReply(m);
    if (reply && natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        sent_ack *s = &a->acks[a->next_ack];
        snprintf(s->reply, sizeof(s->reply), "%s", reply);
        s->seq = meta->Sequence.Stream;
        s->at = text_mono_ms();
        a->next_ack = (a->next_ack + 1) % RECENT_ACKS;
        jsMsgMetaData_Destroy(meta);
    }
}

/* Sends again the acks the consumer does not have: those above its ack
 * floor while it counts unacknowledged messages, once they are older than
 * the server's own delay in applying an ack. */
static void ack_again(agent *a)
{
    jsConsumerInfo *ci = NULL;
    int again = 0;
    uint64_t floor;
    if (js_GetConsumerInfo(&ci, a->js, "REQUIREMENTS", a->consumer, NULL, NULL) != NATS_OK)
        return;
    floor = ci->AckFloor.Stream;
    for (int i = 0; i < RECENT_ACKS; i++) {
        sent_ack *s = &a->acks[i];
        if (!s->reply[0])
            continue;
        if (s->seq <= floor) {
            s->reply[0] = '\0';
        } else if (ci->NumAckPending > 0 && text_mono_ms() - s->at > ACK_SETTLE_MS) {
            natsConnection_PublishString(a->nc, s->reply, "+ACK");
            again++;
        }
    }
    if (again) {
        printf("agent-sim %s: %d ack(s) sent again: the consumer's ack floor is at %llu with %lld unacknowledged\n",
               a->instance, again, (unsigned long long)floor, (long long)ci->NumAckPending);
        fflush(stdout);
    }
    jsConsumerInfo_Destroy(ci);
}

/* One merge of the change onto main, for real: the author's branch
 * (req/<id>-a<attempt>, as commit_work names it) merged with --no-ff onto
 * main as fetched, pushed as a fast forward; a main moved meanwhile is
 * fetched and merged again (5 times at most). Without a repository (the
 * tests' bare agents) the merge is only reported. A conflict is refused as
 * orch-agent refuses it: errors.agent.release.<id>. */
static void merge(agent *a, const pb_requirement *r)
{
    char subj[160], ref[200], spec[260], title[200], sha[64] = "", *json, *out = NULL;
    const char *fail = NULL;
    pb_result res;
    snprintf(ref, sizeof(ref), "refs/heads/req/%s-a%u", r->id, r->attempt ? r->attempt : 1);
    snprintf(spec, sizeof(spec), "%s:refs/remotes/change", ref);
    snprintf(title, sizeof(title), "Merge %s: %.150s", r->id, r->title);
    for (int round = 0; a->repo && round < 5; round++) {
        const char *fetch[] = {"git", "fetch", "-q", "-f", "origin", "main", spec, NULL};
        const char *co[] = {"git", "checkout", "-q", "-f", "-B", "merge", "refs/remotes/origin/main", NULL};
        const char *mg[] = {"git", "-c", "user.email=release@orchestrator.local", "-c", "user.name=agent-sim",
                            "merge", "--no-ff", "--no-edit", "-m", title, "refs/remotes/change", NULL};
        const char *abort_mg[] = {"git", "merge", "--abort", NULL};
        const char *head[] = {"git", "rev-parse", "HEAD", NULL};
        const char *push[] = {"git", "push", "-q", "origin", "HEAD:refs/heads/main", NULL};
        free(out);
        out = NULL;
        fail = NULL;
        if (git(a, fetch, NULL) != 0 || git(a, co, NULL) != 0) {
            fail = "git_failed";
            continue;
        }
        if (git(a, mg, &out) != 0) {
            git(a, abort_mg, NULL);
            fail = "merge_conflict";
            break;
        }
        free(out);
        out = NULL;
        if (git(a, head, &out) == 0)
            snprintf(sha, sizeof(sha), "%.40s", out);
        if (git(a, push, NULL) == 0)
            break;
        fail = "base_moved";
    }
    if (fail) {
        pb_error e;
        char msg[600];
        orchestrator__v1__agent_error__init(&e);
        e.source = (char *)names_source_token(NAMES_SRC_AGENT);
        e.reason = (char *)fail;
        e.requirement_id = r->id;
        e.attempt = r->attempt;
        e.agent_type = a->type;
        e.instance = (char *)a->instance;
        e.transient = 0;
        snprintf(msg, sizeof(msg), "%s does not merge onto main: %.400s", ref, out ? out : fail);
        e.message = msg;
        names_agent_error_subject(subj, sizeof(subj), a->type, r->id);
        json = edge_error_to_json(&e);
        publish(a, r, "merge-error", subj, json);
        free(json);
        free(out);
        printf("agent-sim %s: could not merge %s (%s)\n", a->instance, r->id, fail);
        fflush(stdout);
        return;
    }
    free(out);
    if (a->repo) {
        /* merged: the work's branch goes, as orch-agent's release role does */
        char del[220];
        const char *push_del[] = {"git", "push", "-q", "origin", del, NULL};
        snprintf(del, sizeof(del), ":%s", ref);
        git(a, push_del, NULL);
    }
    orchestrator__v1__result__init(&res);
    res.requirement_id = r->id;
    res.attempt = r->attempt;
    res.agent_type = a->type;
    res.instance = (char *)a->instance;
    res.ref = "refs/heads/main";
    res.commit = sha;
    res.summary = a->repo ? "merged onto main" : "merged (no repository)";
    names_subject_typed(subj, sizeof(subj), NAMES_SUBJ_RESULTS, (int)res.agent_type, r->id);
    json = edge_result_to_json(&res);
    publish(a, r, "merge", subj, json);
    free(json);
    printf("agent-sim %s: merged %s%s%s\n", a->instance, r->id, *sha ? " as " : "", sha);
    fflush(stdout);
}

static void review_or_merge(agent *a, const pb_requirement *r)
{
    char subj[160], *body;
    pb_result res;
    const char *mode = sim_mode(a, r);
    int changes = a->type == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW && !strcmp(mode, "changes") &&
                  r->attempt <= 1;
    usleep((useconds_t)(a->work_ms * 500));
    if (a->type == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE) {
        merge(a, r);
        return;
    }
    /* A review costs a fraction of the work: within what the scheduler
     * lets one report charge (its token budget). */
    unsigned long long tokens = r->estimated_tokens ? r->estimated_tokens / 2 : 1500;
    orchestrator__v1__result__init(&res);
    res.requirement_id = r->id;
    res.attempt = r->attempt;
    res.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
    res.instance = (char *)a->instance;
    res.review = changes ? ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_CHANGES_REQUESTED
                         : ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
    res.tokens_used = tokens;
    res.summary = changes ? "please add a test for the empty case" : "looks good";
    names_subject_typed(subj, sizeof(subj), NAMES_SUBJ_RESULTS, (int)res.agent_type, r->id);
    body = edge_result_to_json(&res);
    publish(a, r, "review", subj, body);
    free(body);
    printf("agent-sim %s: reviewed %s: %s\n", a->instance, r->id, changes ? "changes requested" : "approved");
    fflush(stdout);
}

/* A dispatch: claimed (again later when the claim's fate is unknown), and
 * its work kept in a->taken to be done once the message is acked. */
static nc_settlement take(natsMsg *m, void *arg)
{
    agent *a = arg;
    edge_limits lim;
    char why[300], err[ERR_LEN] = "";
    int mine = claim_take(a->js, m, names_agent_type(a->type), a->instance, a->unsure, NULL, 0, why, sizeof(why));

    if (mine == CLAIM_UNSURE) {
        fprintf(stderr, "agent-sim %s: %s\n", a->instance, why);
        return nc_retry(1000);
    }
    remember_ack(a, m);
    if (mine == CLAIM_TAKEN) {
        printf("agent-sim %s: %s was claimed before; not acting on it twice\n", a->instance, natsMsg_GetSubject(m));
        fflush(stdout);
        return nc_ack();
    }
    edge_limits_default(&lim);
    if (edge_requirements_from_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &lim, &a->taken,
                                    &a->n_taken, err) != EDGE_OK || a->n_taken != 1)
        fprintf(stderr, "agent-sim %s: unreadable work: %s\n", a->instance, *err ? err : "not one requirement");
    return nc_ack();
}

/* The NATS password from the variable named, where a Host Listener that
 * starts every type passes each type its own (deploy/compose.yaml): this
 * process keeps its own and drops the others' and the listener's from its
 * environment, so nothing it starts inherits them. 0 when it is not set. */
static int take_password(svc_cfg *cfg, const char *var)
{
    const char *p = getenv(var);
    char name[64];
    if (!p || !*p) {
        fprintf(stderr, "agent-sim: --password-env %s: the variable is not set\n", var);
        return 0;
    }
    free(cfg->nats_password);
    cfg->nats_password = xstrdup(p);
    for (int i = 1; i < NAMES_AGENT_TYPES; i++) {
        snprintf(name, sizeof(name), "AGENT_%s_PASS", names_agent_type((Orchestrator__V1__AgentType)i));
        unsetenv(name);
    }
    unsetenv("ORCH_NATS_PASSWORD");
    return 1;
}

int main(int argc, char **argv)
{
    agent a;
    svc_cfg cfg;
    cfg_table t = {svc_cfg_entries, svc_cfg_count, &cfg};
    char err[ERR_LEN];
    natsSubscription *sub = NULL;
    jsOptions jo;
    const char *type = NULL, *config = NULL, *password_env = NULL;
    long long last_beat = 0;

    memset(&a, 0, sizeof(a));
    a.unsure = strmap_create();
    memset(&cfg, 0, sizeof(cfg));
    a.project = "demo";
    a.workdir = "/tmp";
    a.work_ms = 800;
    a.heartbeat_ms = 500;
    for (int i = 1; i < argc; i += 2) { /* option and value */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        if (!strcmp(argv[i], "--type")) type = v;
        else if (!strcmp(argv[i], "--instance")) a.instance = v;
        else if (!strcmp(argv[i], "--repo")) a.repo = v;
        else if (!strcmp(argv[i], "--project")) a.project = v;
        else if (!strcmp(argv[i], "--workdir")) a.workdir = v;
        else if (!strcmp(argv[i], "--mode")) a.mode = v;
        else if (!strcmp(argv[i], "--work-ms")) a.work_ms = atol(v);
        else if (!strcmp(argv[i], "--heartbeat-ms")) a.heartbeat_ms = atol(v);
        else if (!strcmp(argv[i], "--config")) config = v;
        else if (!strcmp(argv[i], "--password-env")) password_env = v;
        else {
            fprintf(stderr, "agent-sim: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!type || !(a.type = names_agent_parse(type)) || !a.instance || !text_id_valid(a.instance, 64, NULL, 0) ||
        (!a.repo && a.type != ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW &&
         a.type != ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE)) {
        usage(stderr);
        return 2;
    }
    if (cfg_load(&t, 1, config, err) != ORCH_OK) {
        fprintf(stderr, "agent-sim: %s\n", err);
        return 2;
    }
    if (password_env && !take_password(&cfg, password_env))
        return 2;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (a.repo) {
        const char *clone[] = {"git", "clone", "-q", a.repo, a.clone, NULL};
        const char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", NULL};
        run_spec s = {clone, a.workdir, env, 60000, 1000, 8192, NULL, NULL, 0};
        run_result r;
        snprintf(a.clone, sizeof(a.clone), "%s/agent-sim-%s", a.workdir, a.instance);
        if (access(a.clone, F_OK) != 0) {
            int rc = runner_run(&s, &r);
            if (rc != 0)
                fprintf(stderr, "agent-sim: cannot clone %s: %s\n", a.repo, r.output);
            free(r.output);
            if (rc != 0)
                return 1;
        }
    }
    jsOptions_Init(&jo);
    jo.Domain = cfg.js_domain; /* on an agent host's leaf node: the hub's */
    claim_use_domain(cfg.js_domain);
    if (nc_connect(&a.nc, &cfg, a.instance, NC_FAIL_FAST, err) != ORCH_OK ||
        natsConnection_JetStream(&a.js, a.nc, &jo) != NATS_OK) {
        fprintf(stderr, "agent-sim: %s\n", err);
        return 3;
    }
    a.consumer = names_agent_consumer(a.type);
    if (nc_pull_subscribe(a.js, "REQUIREMENTS", a.consumer, &sub, err) != ORCH_OK) {
        fprintf(stderr, "agent-sim: %s\n", err);
        return 3;
    }
    a.sub = sub;
    printf("agent-sim %s: ready for %s work\n", a.instance, names_agent_type(a.type));
    fflush(stdout);
    while (!stop) {
        if (text_mono_ms() - last_beat > a.heartbeat_ms * 4) {
            heartbeat(&a, NULL, 0);
            last_beat = text_mono_ms();
        }
        if (text_mono_ms() - a.last_ack_check > ACK_CHECK_MS) {
            ack_again(&a);
            a.last_ack_check = text_mono_ms();
        }
        nc_consume(sub, 1, 500, take, &a);
        if (a.n_taken == 1) {
            /* acked: the work is this agent's now; what came with it
             * is not */
            busy_tick(&a);
            if (a.type == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW ||
                a.type == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE)
                review_or_merge(&a, a.taken[0]);
            else
                work(&a, a.taken[0]);
        }
        edge_requirements_free(a.taken, a.n_taken);
        a.taken = NULL;
        a.n_taken = 0;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(a.js);
    nc_close(a.nc, 2000);
    strmap_destroy(a.unsure);
    cfg_free(&t, 1);
    nc_lib_close("agent-sim");
    return 0;
}
