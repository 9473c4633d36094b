#include "lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "nc.h"
#include "text.h"
#include "topology.h"

/* A lease renewed this long before the TTL ends is no longer trusted: the
 * renewal itself takes a round trip, and clocks of two hosts may differ. */
#define LEASE_MARGIN_MS 2000
/* What a forged value may show of itself in a log line and an alert. */
#define LEASE_SHOW_MAX 80

void lease_init(lease *l, kvStore *kv, const char *key, const char *holder, int64_t refresh_ms)
{
    memset(l, 0, sizeof(*l));
    l->kv = kv;
    snprintf(l->key, sizeof(l->key), "%s", key);
    snprintf(l->holder, sizeof(l->holder), "%s", holder);
    l->refresh_ms = refresh_ms;
    l->ttl_ms = topo_kv_ttl_ms(TOPO_KV_LEADER);
}

void lease_alert_to(lease *l, jsCtx *js, const char *source)
{
    l->alert_js = js;
    snprintf(l->source, sizeof(l->source), "%s", source ? source : "");
}

int lease_valid(const lease *l, int64_t now)
{
    return l->leader && now - l->last_renewal < l->ttl_ms - LEASE_MARGIN_MS;
}

/* Raises leader_contested: found is what the key held (NULL: deleted). One
 * alert a minute per lease and holder is stored (the fingerprint is the
 * message id); each contest is logged. */
static void contested(lease *l, const char *found)
{
    char shown[LEASE_SHOW_MAX + 1], summary[240], text[400], fp[200];
    char *safe;
    snprintf(shown, sizeof(shown), "%s", found ? found : "");
    safe = text_printable(shown);
    l->contests++;
    if (found)
        snprintf(text, sizeof(text),
                 "lease %s held by %s was overwritten with '%s' while valid: someone writes it outside the lease "
                 "rules; taken back (contest %lld)",
                 l->key, l->holder, safe, (long long)l->contests);
    else
        snprintf(text, sizeof(text),
                 "lease %s held by %s was deleted while valid: someone removes it outside the lease rules; taken back "
                 "(contest %lld)",
                 l->key, l->holder, (long long)l->contests);
    if (found)
        snprintf(summary, sizeof(summary), "%s lease contested: overwritten with '%s' while %s held it; taken back",
                 l->key, safe, l->holder);
    else
        snprintf(summary, sizeof(summary), "%s lease contested: deleted while %s held it; taken back", l->key,
                 l->holder);
    free(safe);
    snprintf(fp, sizeof(fp), "leader_contested.%s.%s.%lld", l->key, l->holder, (long long)(text_now_ms() / 60000));
    if (l->alert_js)
        nc_publish_alert(l->alert_js, "critical", names_alert_kind_token(NAMES_ALERT_LEADER_CONTESTED), fp, summary,
                         text, *l->source ? l->source : NULL, l->holder, 2000);
    else
        log_error("%s", text);
}

/* A renewal failed while the lease is valid: reads the key and, when it was
 * written (or deleted) by someone else, takes it back by compare-and-set.
 * A value equal to ours at another revision is our own write whose answer
 * was lost (or a copy of it): adopted. Returns 1 when the lease is ours
 * again. */
static int take_back(lease *l, int64_t now)
{
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, l->kv, l->key);
    int mine, ok;
    if (s == NATS_NOT_FOUND) {
        if (kvStore_CreateString(&l->rev, l->kv, l->key, l->holder) != NATS_OK)
            return 0; /* created by another instance meanwhile, lawfully: the key was free */
        contested(l, NULL);
        l->last_renewal = now;
        return 1;
    }
    if (s != NATS_OK)
        return 0;
    mine = kvEntry_ValueLen(e) == (int)strlen(l->holder) &&
           !memcmp(kvEntry_Value(e), l->holder, strlen(l->holder));
    ok = kvStore_UpdateString(&l->rev, l->kv, l->key, l->holder, kvEntry_Revision(e)) == NATS_OK;
    if (ok) {
        l->last_renewal = now;
        if (!mine) {
            char found[LEASE_SHOW_MAX + 1];
            int n = kvEntry_ValueLen(e) < LEASE_SHOW_MAX ? kvEntry_ValueLen(e) : LEASE_SHOW_MAX;
            memcpy(found, kvEntry_Value(e), (size_t)n);
            found[n] = '\0';
            contested(l, found);
        }
    }
    kvEntry_Destroy(e);
    return ok;
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
        /* a few tries: a forger's put may land between our read and our write */
        for (int k = 0; k < 3 && lease_valid(l, now); k++)
            if (take_back(l, now))
                return 0;
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
