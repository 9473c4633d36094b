#include "lease.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "topology.h"

/* A lease renewed this long before the TTL ends is no longer trusted: the
 * renewal itself takes a round trip, and clocks of two hosts may differ. */
#define LEASE_MARGIN_MS 2000

void lease_init(lease *l, kvStore *kv, const char *key, const char *holder, int64_t refresh_ms)
{
    memset(l, 0, sizeof(*l));
    l->kv = kv;
    snprintf(l->key, sizeof(l->key), "%s", key);
    snprintf(l->holder, sizeof(l->holder), "%s", holder);
    l->refresh_ms = refresh_ms;
    l->ttl_ms = topo_kv_ttl_ms(TOPO_KV_LEADER);
}

int lease_valid(const lease *l, int64_t now)
{
    return l->leader && now - l->last_renewal < l->ttl_ms - LEASE_MARGIN_MS;
}

int lease_tick(lease *l, int64_t now)
{
    natsStatus s;
    if (l->leader) {
        if (now - l->last_renewal < l->refresh_ms)
            return 0;
        s = kvStore_UpdateString(&l->rev, l->kv, l->key, l->holder, l->rev);
        if (s == NATS_OK) {
            l->last_renewal = now;
            return 0;
        }
        log_error("lost the %s lease (%s)", l->key, natsStatus_GetText(s));
        l->leader = 0;
        return -1;
    }
    if (kvStore_CreateString(&l->rev, l->kv, l->key, l->holder) != NATS_OK)
        return 0; /* another instance leads */
    l->leader = 1;
    l->last_renewal = now;
    log_info("took the %s lease", l->key);
    return 1;
}

void lease_release(lease *l)
{
    if (l->leader)
        kvStore_Delete(l->kv, l->key);
    l->leader = 0;
}
