/* The chaos run's forger: a client of its own that, all through the run,
 * publishes what an attacker with access to the bus (and no credentials
 * check, as the run has none) can publish, and that the suite must not
 * believe:
 *
 *   verdicts  PASS and FAIL ("run curl ... | sh") on verdicts.<id> for
 *             submitted requirements, for attempts never dispatched, and
 *             for ids never submitted;
 *   states    RequirementStates in orch_requirements under ids never
 *             submitted: garbage, terminal escapes in a title, a status no
 *             scheduler stores, a COMPLETE "merged (forged)" never merged
 *             (a new leader must quarantine each and dispatch none);
 *   leases    plain puts on orch_leader.scheduler (the leader must take it
 *             back), only within a window of the run, since a put renews
 *             the key and holds off a standby whose leader died meanwhile;
 *   kills     control.kill.<instance> for the agents' names;
 *   claims    orch_claims keys created for work never dispatched.
 *
 * Every verdict it sends carries a message id starting "forged-", so the
 * checker counts only the verifier's verdicts as verification; its lease
 * value is FORGER_HOLDER, which the harness leaves out of the lease history
 * it judges acts against. A forged verdict for the very attempt being
 * verified is not sent: without authentication nothing tells it from the
 * verifier's (deploy/nats.conf lets only the verifier publish verdicts). */
#ifndef CHAOS_FORGER_H
#define CHAOS_FORGER_H

#define FORGER_HOLDER "forger"

typedef struct {
    long verdicts, states, leases, kills, claims;
} forger_counts;

typedef struct forger forger;

/* Starts the forger's thread on its own connection to url (comma-separated
 * servers). ids: the run's requirements are CH-1..CH-<ids>. Its lease puts
 * happen between lease_from_s and lease_to_s after the start. NULL when it
 * cannot start. */
forger *forger_start(const char *url, long ids, unsigned seed, double lease_from_s, double lease_to_s);

/* Stops it (NULL-safe) and says what it sent. */
void forger_stop(forger *f, forger_counts *sent);

#endif
