/* Daemons as processes for integration tests: start one against a natsfix
 * server with extra environment, wait until it answers $SRV.PING, ask it
 * JSON requests. */
#ifndef SVCFIX_H
#define SVCFIX_H

#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <stdint.h>
#include <sys/types.h>

#include "natsfix.h"

/* The usual start of an integration test: a server, a connection to it and
 * a JetStream context on that. 0 on success. svc_env_stop undoes it all
 * (NULL-safe). */
int svc_env_start(natsfix *f, natsConnection **nc, jsCtx **js);

/* The same as a cmocka setup and teardown: *state becomes a calloc'ed
 * svc_env (server, connection, JetStream), freed by svc_env_teardown. */
typedef struct {
    natsfix fix;
    natsConnection *nc;
    jsCtx *js;
} svc_env;
int svc_env_setup(void **state);
int svc_env_teardown(void **state);
void svc_env_stop(natsfix *f, natsConnection *nc, jsCtx *js);

/* Starts orch-<name> with ORCH_NATS_URL, ORCH_SERVICE_INSTANCE=instance and
 * extra_env ("K=V", NULL-terminated, may be NULL). Its log is
 * <fix dir>/<instance>.log. */
pid_t svc_start(const natsfix *f, const char *name, const char *instance, const char *const extra_env[]);

/* Polls $SRV.PING.orch-<name>.<instance> up to timeout_ms; returns the
 * parsed answer (cJSON_Delete it) or NULL. */
cJSON *svc_wait_ping(natsConnection *nc, const char *name, const char *instance, int timeout_ms);

/* Starts and waits; fails the test (cmocka) when it does not answer. */
pid_t svc_start_ready(natsConnection *nc, const natsfix *f, const char *name, const char *instance,
                      const char *const extra_env[]);

/* SIGTERM, and fails the test unless the daemon exits 0 within 5 s. Under
 * the sanitizers this is also where a leak or an error report shows: they
 * make the exit status non-zero. */
void svc_stop(pid_t pid);

/* A request whose answer is JSON; NULL on timeout or bad JSON. */
cJSON *svc_request_json(natsConnection *nc, const char *subject, const char *body, int timeout_ms);

/* Runs orchctl (from $ORCH_BIN_DIR) against f with args (NULL-terminated);
 * returns its exit code, its stdout in out (also left in <dir>/orchctl.out). */
int svc_orchctl(const natsfix *f, const char *const args[], char *out, size_t outlen);

/* Runs orchctl against url (a server that need not be f's, e.g. one that
 * is down) with its stdout and stderr both in out (also left in
 * <f's dir>/orchctl.all); returns its exit code. */
int svc_orchctl_at(const natsfix *f, const char *url, const char *const args[], char *out, size_t len);

/* A classified requirement on plan.requirement.<id>, as the router hands
 * it on: type and priority by their enum values, est tokens, size M; deps
 * and files comma-separated (NULL: none; up to 8 each). */
void svc_plan(jsCtx *js, const char *id, int type, int prio, uint64_t est, const char *deps, const char *files);

/* Records id in orch_ids as the router does when it hands a requirement
 * on (a new leader restores only the states of ids issued); svc_plan does
 * it for what it plans. An id there already is left as it is. */
void svc_issue_id(jsCtx *js, const char *id);

/* What an agent took from REQUIREMENTS: the seed's JSON read back. */
typedef struct {
    char id[64];
    unsigned attempt;
    char output[512];        /* lastFailureOutput, cut */
    char subject[128];
    char model_hint[16];
} svc_work;

/* An agent takes the next work from the seed consumer `consumer`
 * (filter: its subjects), acked (the server said so); 0 when none came
 * within timeout_ms. */
int svc_take(jsCtx *js, const char *consumer, const char *filter, int timeout_ms, svc_work *w);

#endif
