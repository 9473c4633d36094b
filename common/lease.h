/* A leader lease in a KV bucket whose TTL is the lease time: the key is
 * created only if absent (whoever creates it leads) and renewed by
 * compare-and-set on its revision; a dead leader stops renewing and the TTL
 * removes the key, so a standby's next create succeeds. */
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
} lease;

void lease_init(lease *l, kvStore *kv, const char *key, const char *holder, int64_t refresh_ms);

/* Renews or tries to take the lease. Returns +1 when it was just taken, -1
 * when it was just lost, 0 otherwise. */
int lease_tick(lease *l, int64_t now_ms);

/* Gives the lease up now, so a standby need not wait for the TTL. */
void lease_release(lease *l);

#endif
