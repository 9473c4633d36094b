/* Reading a run's history back for the chaos checker (checker.h): every
 * dispatch stored on REQUIREMENTS, every result stored on RESULTS, every
 * verdict stored on VERDICTS (the chaos forger's told apart), and the
 * scheduler's final state and charge of each requirement in KV, as any
 * restarted leader would read them. Used by the chaos run (tests/chaos)
 * and the deployment test's judge (tests/deploy/judge.c). */
#ifndef DEPLOY_HISTORY_H
#define DEPLOY_HISTORY_H

#include <stdint.h>
#include <stdio.h>

#include <nats/nats.h>

#include "checker.h"

/* Feeds ck with every stored dispatch and result and every final state;
 * *ledger is the token ledger's total over every day in KV orch_budgets.
 * A review result that names no attempt is not given to the checker (it
 * keys results by attempt, so two reviews of two attempts would look like
 * one result stored twice); instead, per requirement, such results must be
 * as many as the attempts review was dispatched for: *reviews_off counts
 * the requirements where they are not, each with one line to detail (may
 * be NULL). Returns 0, or -1 when a stream or bucket could not be read
 * (the NATS error is in nats_GetLastError). */
int hist_collect(jsCtx *js, checker *ck, uint64_t *ledger, long *reviews_off, FILE *detail);

/* The instance holding the lease named role ("scheduler", "monitor") in KV
 * orch_leader, into holder; 0, or -1 when nobody holds it. */
int hist_leader(jsCtx *js, const char *role, char *holder, size_t len);

#endif
