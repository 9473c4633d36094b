/* Alert grouping, repetition, resolution and silences, in the manner of
 * Alertmanager. Pure: conditions and the time come in, notifications go out.
 *
 * Every evaluation hands over the conditions true now (rules.h). An alert is
 * identified by its fingerprint (rule and labels). A new alert waits
 * group_wait (30 s), so that the alerts of one group raised together go out
 * as one notification; a firing alert is announced again only after
 * repeat_ms (4 h), or at once when its severity rises above the one
 * announced (a budget going from 80% to 100%); when its condition is
 * gone, one resolved notification names it (the Matrix sender replies in
 * the thread of the announcement);
 * an alert resolved before it was ever announced is dropped quietly.
 * Silences (label matchers and an expiry) suppress notifications of the
 * alerts they match while they last.
 *
 * Notification ids are derived from what they announce (group, members,
 * start times), so a notification computed again after a crash has the same
 * id and is deduplicated downstream. The whole state serializes to JSON for
 * KV. */
#ifndef MONITOR_ALERTS_H
#define MONITOR_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define AM_FP_LEN 240
#define AM_MAX_MEMBERS 16

/* Filled by the monitor's settings table (monitor_nats.c). */
typedef struct {
    long long group_wait_ms;
    long long repeat_ms;
} am_cfg;

typedef struct {
    char id[64];
    int resolved;
    Orchestrator__V1__Severity severity;
    char kind[32];
    char group[64];
    char summary[300];
    char text[4096];
    char members[AM_MAX_MEMBERS][AM_FP_LEN];
    int nmembers;
} am_notification;

typedef struct am am;

am *am_create(const am_cfg *c);
void am_destroy(am *m);

/* The conditions true now: an alert not among them is resolved. */
void am_observe(am *m, const rules_condition *c, int n, int64_t now);
/* The conditions known true while the rules' inputs are not all in (just
 * after a restart): they fire, but an alert not among them is unknown, not
 * resolved. */
void am_observe_partial(am *m, const rules_condition *c, int n, int64_t now);

/* Notifications due now (at most max), marked as sent. */
int am_due(am *m, int64_t now, am_notification *out, int max);

/* A silence: "rule=stale,type=backend" matchers, until expires_ms. Returns
 * 0 with its id, or -1 when the matchers do not parse. */
int am_silence(am *m, const char *matchers, int64_t expires_ms, const char *comment, char *id, size_t idlen);
int am_unsilence(am *m, const char *id);

/* Alerts currently firing, and the number of active silences. */
int am_firing(const am *m);
int am_silences(const am *m, int64_t now);

/* State as JSON (malloc'd) and back. */
char *am_save(const am *m);
int am_load(am *m, const char *json);

#endif
