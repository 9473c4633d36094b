/* The pool of agent hosts on the bus (pool_nats.h). The pool has its own
 * lock: adverts arrive on the subscription's thread, spawns and the step
 * come from the scheduler's (which holds its own lock, taken first). */
#include "pool_nats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "claim.h"
#include "hostad.h"
#include "log.h"
#include "names.h"
#include "nc.h"
#include "pool.h"
#include "sched_hosts.h"
#include "text.h"

#define GONE_MAX 16   /* hosts whose agents wait to be declared gone */
#define NO_ROOM_SAY_MS 30000  /* "no host has room" said once in this, per type */

typedef struct {
    char host[HOSTAD_ID_MAX + 1];
    int restarted;    /* 1: came back with a new nonce; 0: silent past the bound */
    int n;
    char (*inst)[HOSTAD_INSTANCE_LEN];
} gone_host;

static struct {
    daemon_ctx *d;
    pool *p;
    pthread_mutex_t mu;
    natsSubscription *sub;
    int64_t lost_ms;
    gone_host gone[GONE_MAX];
    int n_gone;
    long long refused;
    unsigned long long spawns;            /* requests sent: part of each one's message id */
    int64_t no_room_said[NAMES_AGENT_TYPES];
    long long no_room_quiet[NAMES_AGENT_TYPES]; /* shortfalls not said since */
} P;

/* Called with P.mu held. */
static void note_gone(const hostad *ad, int restarted)
{
    gone_host *g;
    if (P.n_gone == GONE_MAX) {
        /* a standby sees restarts it does not act on (pool_nats_tick runs on
         * the leader): the oldest goes, the newest counts */
        log_warn("host %s: its former agents no longer wait to be declared gone (%d newer hosts do)",
                 P.gone[0].host, GONE_MAX);
        free(P.gone[0].inst);
        memmove(&P.gone[0], &P.gone[1], sizeof(P.gone[0]) * (GONE_MAX - 1));
        P.n_gone--;
    }
    g = &P.gone[P.n_gone++];
    snprintf(g->host, sizeof(g->host), "%s", ad->host);
    g->restarted = restarted;
    g->n = ad->n_instances;
    g->inst = g->n ? malloc(sizeof(*g->inst) * (size_t)g->n) : NULL;
    if (g->n && !g->inst) {
        g->n = 0;
        return;
    }
    memcpy(g->inst, ad->instances, sizeof(*g->inst) * (size_t)g->n);
}

static void on_advert(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    hostad *ad = malloc(sizeof(*ad)), *prev = malloc(sizeof(*prev));
    const char *host = names_subject_rest(natsMsg_GetSubject(m), NAMES_FAM_HOSTS);
    char err[160];
    (void)nc;
    (void)sub;
    (void)closure;
    if (!ad || !prev)
        goto out;
    if (hostad_from_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), host ? host : "", ad, err,
                         sizeof(err))) {
        char *safe = text_printable(natsMsg_GetSubject(m));
        if (P.refused++ % 100 == 0) /* a stream of forgeries is one line per hundred */
            log_warn("advert on %s refused: %s (%lld so far)", safe, err, P.refused);
        free(safe);
        goto out;
    }
    pthread_mutex_lock(&P.mu);
    switch (pool_advert(P.p, ad, text_now_ms(), prev)) {
    case POOL_JOINED:
        log_info("host %s joined the pool: %d slots, %d agents", ad->host, ad->slots, ad->n_instances);
        break;
    case POOL_REJOINED:
        log_info("host %s rejoined the pool: %d slots, %d agents", ad->host, ad->slots, ad->n_instances);
        break;
    case POOL_RESTARTED:
        log_warn("host %s restarted (nonce %s, was %s): its former agents are gone", ad->host, ad->nonce,
                 prev->nonce);
        note_gone(prev, 1);
        break;
    case POOL_NO_ROOM:
        log_warn("host %s not added: the pool holds %d hosts at most", ad->host, POOL_MAX_HOSTS);
        break;
    case POOL_UPDATED:
        break;
    }
    pthread_mutex_unlock(&P.mu);
out:
    free(ad);
    free(prev);
    natsMsg_Destroy(m);
}

orch_status pool_nats_start(daemon_ctx *d, int64_t lost_ms, char err[ERR_LEN])
{
    char subject[64];
    P.d = d;
    P.lost_ms = lost_ms;
    if (!(P.p = pool_create(lost_ms))) {
        snprintf(err, ERR_LEN, "out of memory for the pool of hosts");
        return ORCH_ERR_IO;
    }
    pthread_mutex_init(&P.mu, NULL);
    snprintf(subject, sizeof(subject), "%s.*", NAMES_SUBJ_HOSTS);
    if (natsConnection_Subscribe(&P.sub, d->nc, subject, on_advert, NULL) != NATS_OK) {
        snprintf(err, ERR_LEN, "subscribe %s: %s", subject, nats_GetLastError(NULL));
        return ORCH_ERR_NATS;
    }
    return ORCH_OK;
}

void pool_nats_stop(void)
{
    if (P.sub) {
        natsSubscription_Unsubscribe(P.sub);
        natsSubscription_Destroy(P.sub);
        P.sub = NULL;
    }
    if (P.p) {
        for (int i = 0; i < P.n_gone; i++)
            free(P.gone[i].inst);
        pool_destroy(P.p);
        P.p = NULL;
        pthread_mutex_destroy(&P.mu);
    }
}

int pool_nats_spawn(pb_spawn *sp, int64_t now_ms, pool_publish_fn publish)
{
    const char *tname = names_agent_type(sp->agent_type);
    char hosts[16][HOSTAD_ID_MAX + 1];
    uint32_t counts[16] = {0}, want = sp->count, placed = 0;
    int nh = 0;

    if (!P.p || (unsigned)sp->agent_type >= NAMES_AGENT_TYPES)
        return 0;
    pthread_mutex_lock(&P.mu);
    if (pool_count(P.p) == 0) {
        pthread_mutex_unlock(&P.mu);
        return 0;
    }
    for (uint32_t k = 0; k < want; k++) {
        const char *h = pool_place(P.p, (int)sp->agent_type, now_ms);
        int j;
        if (!h)
            break;
        for (j = 0; j < nh && strcmp(hosts[j], h); j++)
            ;
        if (j == nh) {
            if (nh == 16)
                break;
            snprintf(hosts[nh++], sizeof(hosts[0]), "%s", h);
        }
        counts[j]++;
        placed++;
    }
    pthread_mutex_unlock(&P.mu);
    for (int j = 0; j < nh; j++) {
        char subject[160], msg_id[160], *json;
        sp->count = counts[j];
        json = edge_spawn_to_json(sp);
        snprintf(subject, sizeof(subject), "%s.%s.%s", NAMES_SUBJ_SPAWN, hosts[j], tname);
        /* one id per request: two asks of one host within a second are two */
        snprintf(msg_id, sizeof(msg_id), "spawn-%s-%s-%lld-%llu", hosts[j], tname, (long long)now_ms, ++P.spawns);
        if (json)
            publish(NULL, subject, msg_id, json, (int)strlen(json), "application/json");
        free(json);
        log_info("asked host %s for %u more %s agents", hosts[j], counts[j], tname);
    }
    sp->count = want;
    if (placed < want && now_ms - P.no_room_said[sp->agent_type] < NO_ROOM_SAY_MS) {
        P.no_room_quiet[sp->agent_type]++;
    } else if (placed < want) {
        char summary[240], fp[96];
        snprintf(summary, sizeof(summary), "no host has room for %s: %u of %u agents asked for wait (%lld more such "
                 "asks in the last %d s)", tname, want - placed, want, P.no_room_quiet[sp->agent_type],
                 NO_ROOM_SAY_MS / 1000);
        P.no_room_said[sp->agent_type] = now_ms;
        P.no_room_quiet[sp->agent_type] = 0;
        /* one stored alert per type and ten minutes: a lasting shortage is one story */
        snprintf(fp, sizeof(fp), "no_host_room-%s-%lld", tname, (long long)(now_ms / 600000));
        nc_publish_alert(P.d->js, "warning", names_alert_kind_token(NAMES_ALERT_NO_HOST_ROOM), fp, summary,
                         "Every live agent host is full for this type: add a host or raise a host's slots "
                         "(listener.slots, listener.max_per_type); `orchctl hosts` shows the pool.",
                         "scheduler", P.d->cfg.instance, 2000);
    }
    return 1;
}

/* The instance holding the claim on st's current dispatch (KV orch_claims). */
static int holder(void *ctx, const pb_state *st, char *out, size_t len)
{
    char key[256];
    (void)ctx;
    out[0] = '\0';
    if (admit_claim_key(st, 0, 0, key, sizeof(key)) < 0)
        return 0;
    return claim_holder(P.d->js, key, out, len);
}

static void lost_cb(void *ctx, const pool_host *h)
{
    (void)ctx;
    note_gone(&h->ad, 0);
}

void pool_nats_tick(sched *s, const sched_clock *now)
{
    gone_host gone[GONE_MAX];
    int n;
    if (!P.p)
        return;
    pthread_mutex_lock(&P.mu);
    pool_expire(P.p, now->now_ms, lost_cb, NULL);
    n = P.n_gone;
    memcpy(gone, P.gone, sizeof(gone[0]) * (size_t)n);
    P.n_gone = 0;
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < n; i++) {
        const char **names = malloc(sizeof(char *) * (size_t)(gone[i].n + 1));
        char why[200], summary[300], fp[128];
        int back = 0;
        for (int k = 0; names && k < gone[i].n; k++)
            names[k] = gone[i].inst[k];
        snprintf(why, sizeof(why), "agent host %s %s: its agents are gone; the work goes to another agent",
                 gone[i].host, gone[i].restarted ? "restarted" : "was lost (no advert within the bound)");
        if (names)
            back = sched_agents_gone(s, names, gone[i].n, why, holder, NULL, now);
        snprintf(summary, sizeof(summary), "agent host %s %s: %d agents declared gone, %d requirements sent back",
                 gone[i].host, gone[i].restarted ? "restarted" : "lost", gone[i].n, back);
        snprintf(fp, sizeof(fp), "host_lost-%s-%lld", gone[i].host, (long long)now->now_ms);
        nc_publish_alert(P.d->js, gone[i].restarted ? "warning" : "critical",
                         names_alert_kind_token(NAMES_ALERT_HOST_LOST), fp, summary,
                         "The host stopped advertising (hosts.<host id>) for longer than scheduler.host_lost_ms; "
                         "its work was dispatched again, no attempt counted (docs/deployment.md).",
                         "scheduler", P.d->cfg.instance, 2000);
        free(names);
        free(gone[i].inst);
    }
}
