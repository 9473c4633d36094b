/* The chaos runs' judge, in the spirit of Jepsen's queue checker: from what
 * was submitted, what was stored on requirements.> and results.>, and the
 * scheduler's final word on each requirement, every submitted requirement
 * lands in exactly one class. Pure: the harness reads the streams and feeds
 * it; the unit tests feed it histories by hand.
 *
 *   duplicated  a dispatch stored twice (same message id, or the same type,
 *               id and attempt without one), or an agent's result for the
 *               same type, id and attempt stored twice: an agent got the
 *               same work twice and acted on it
 *   lost        submitted, but the scheduler has no state for it
 *   unknown     the scheduler knows it, but it is not COMPLETE or ESCALATED
 *   escalated   ESCALATED
 *   completed   COMPLETE
 *
 * The first that applies wins, in that order.
 *
 * Fencing: from the lease changes the harness watched in KV (who took or
 * renewed which lease, when) and the acts only a lease holder may do
 * (dispatch, kill, alert), each with the instance that did it and when, it
 * counts the acts done while another instance held that lease, or while
 * nobody did after a release. An act before the first lease event of its
 * key is not judged.
 *
 * Trust: every verdict stored is given with whether it was forged (the
 * harness's forger marks its own), and each requirement's final attempt and
 * the commit its state names. A COMPLETE requirement whose final attempt
 * has no genuine passing verdict, or whose state names a commit no genuine
 * passing verdict of that attempt named, was completed without its own
 * verified result (unverified). A dispatch of an id never submitted (a
 * forged state believed) is foreign. */
#ifndef CHAOS_CHECKER_H
#define CHAOS_CHECKER_H

#include <stdint.h>
#include <stdio.h>

typedef enum { CK_COMPLETED, CK_ESCALATED, CK_LOST, CK_DUPLICATED, CK_UNKNOWN, CK_CLASSES } ck_class;

typedef struct checker checker;

checker *ck_create(void);
void ck_destroy(checker *c);

void ck_submitted(checker *c, const char *id);
/* One stored message on requirements.<type>.<id>; msg_id may be NULL. */
void ck_dispatched(checker *c, const char *type, const char *id, unsigned attempt, const char *msg_id);
/* One stored result: the tokens the agent reported for that attempt. */
void ck_result(checker *c, const char *type, const char *id, unsigned attempt, uint64_t tokens);
/* The scheduler's status of id at the end ("COMPLETE", "ESCALATED", ...),
 * and the tokens its ledger charged for it. */
void ck_final(checker *c, const char *id, const char *status, uint64_t charged);
/* The final state's attempt and the commit its delivery names ("" none). */
void ck_final_attempt(checker *c, const char *id, unsigned attempt, const char *commit);
/* One stored verdict: pass or not, the commit it names, forged by the
 * harness's forger or not. */
void ck_verdict(checker *c, const char *id, unsigned attempt, int pass, const char *commit, int forged);

/* The lease key changed: holder took or renewed it ("" released it) at at_ms. */
void ck_lease(checker *c, const char *key, const char *holder, int64_t at_ms);
/* instance did what (a dispatch, kill or alert) under the lease key at at_ms. */
void ck_act(checker *c, const char *key, const char *instance, const char *what, int64_t at_ms);

typedef struct {
    long submitted;
    long n[CK_CLASSES];
    uint64_t tokens_reported;   /* per type, id and attempt the largest report, summed */
    long ledger_off;            /* requirements whose charge differs from their reports */
    long acts;                  /* acts judged for fencing */
    long unfenced;              /* of those, done while the instance did not hold the lease */
    long unverified;            /* COMPLETE without its own genuine passing verdict (see the top) */
    long foreign;               /* dispatches of ids never submitted */
    long forged_verdicts;       /* forged verdicts stored (what the run withstood) */
} ck_report;

/* Classifies every submitted requirement and judges every act; writes one
 * line per requirement that is not completed or escalated, or whose charge
 * differs from what its agents reported, and per unfenced act, to detail
 * (may be NULL). */
void ck_check(const checker *c, ck_report *r, FILE *detail);

const char *ck_class_name(ck_class k);

#endif
