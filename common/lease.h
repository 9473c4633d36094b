/* A leader lease in a KV bucket whose TTL is the lease time: the key is
 * created only if absent (whoever creates it leads) and renewed by
 * compare-and-set on its revision; a dead leader stops renewing and the TTL
 * removes the key, so a standby's next create succeeds.
 *
 * Contested leases. An instance that follows these rules never writes a key
 * that exists and is not its own, so while a leader's lease is valid
 * (lease_valid: renewed less than the TTL minus a margin ago, so it cannot
 * have expired) nobody else may have written it. A renewal that finds the
 * key rewritten by another value, or deleted, in that time found a writer
 * that does not follow the rules (a plain put, a purge): the leader raises
 * the critical alert leader_contested at once (the key, what was written,
 * its own name), logs it, and takes the lease back by compare-and-set on the
 * revision it found, so a put every few seconds cannot leave the suite
 * without a leader. A renewal that fails once the lease is no longer valid
 * (the process was paused past it) is a lawful loss: the instance steps
 * down as before. */
#ifndef ORCH_LEASE_H
#define ORCH_LEASE_H

#include <nats/nats.h>
#include <stdint.h>

typedef struct {
    kvStore *kv;            /* borrowed */
    char key[64];
    char holder[80];
    uint64_t rev;
    int leader;
    int64_t last_renewal;   /* monotonic ms */
    int64_t refresh_ms;
    int64_t ttl_ms;         /* the bucket's TTL: a lapsed lease is someone else's */
    jsCtx *alert_js;        /* borrowed; NULL: contests are only logged */
    char source[32];        /* the alert's source label (the service) */
    int64_t contests;       /* times the lease was found written by someone else */
} lease;

void lease_init(lease *l, kvStore *kv, const char *key, const char *holder, int64_t refresh_ms);

/* Where a contested lease is alerted (leader_contested on alerts.critical,
 * source the service's name): js is borrowed and must outlive l. */
void lease_alert_to(lease *l, jsCtx *js, const char *source);

/* Renews or tries to take the lease. Returns +1 when it was just taken, -1
 * when it was just lost, 0 otherwise (also when a contested lease was taken
 * back: the instance leads on, see above). */
int lease_tick(lease *l, int64_t now_ms);

/* True while this instance leads and its last renewal is recent enough
 * that no standby can have taken over: less than the bucket's TTL minus a
 * safety margin ago, on the monotonic clock. A process that was paused
 * (SIGSTOP, a long GC-like stall, a VM freeze) past its lease wakes up with
 * leader still set but lease_valid false, so it must check this before any
 * act only a leader may do (dispatch, kill, alert) and step down instead.
 * Monotonic time keeps counting while a process is stopped. */
int lease_valid(const lease *l, int64_t now_ms);

/* Gives the lease up now, so a standby need not wait for the TTL. */
void lease_release(lease *l);

#endif
