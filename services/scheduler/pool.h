/* The pool of agent hosts, as the scheduler sees it: placement of spawns
 * and the loss rule. Pure: the adapter (pool_nats.c) feeds it the hosts'
 * adverts (hostad.h) and the time; it neither logs nor reads the clock.
 *
 * The scheduler decides when a type needs more agents as for one fleet
 * (queue depth, cooldown, cap per type: release_check_spawns); the pool
 * only says where they go.
 *
 * Placement, for one agent of type t: among the hosts that are live (not
 * lost) and have room for t (a free slot, and fewer agents of t than the
 * host's bound for t when it has one), the host with the most free slots;
 * on a tie the fewest agents of t; on a tie the smallest host id (so the
 * choice is the same on a standby). A placement counts against the host at
 * once (pool_place reserves the slot), so a request for several agents
 * spreads them. A reservation is held POOL_RESERVE_MS whatever adverts
 * come meanwhile (an advert sent before the agent started does not show
 * it), then the adverts alone say what runs: for those seconds a host may
 * look fuller than it is, never emptier, so no host is asked past its
 * slots. A full, lost or never-seen host is never chosen.
 *
 * The loss rule: a host whose last advert is older than lost_ms is lost:
 * pool_expire reports it once (its instances, for the scheduler to declare
 * its agents gone) and it keeps no capacity. An advert after that rejoins
 * it; a new nonce (the listener restarted) says its old instances are gone
 * too. A host never lost but silent for part of lost_ms is not chosen
 * either once silent longer than lost_ms / 2: a spawn to a host about to be
 * lost is a spawn lost. */
#ifndef ORCH_POOL_H
#define ORCH_POOL_H

#include <stdint.h>

#include "hostad.h"

#define POOL_MAX_HOSTS 64
#define POOL_DEF_LOST_MS 15000
#define POOL_RESERVE_MS 3000

typedef struct {
    hostad ad;              /* its last advert */
    int reserved[NAMES_AGENT_TYPES]; /* placements not yet older than POOL_RESERVE_MS */
    int64_t reserved_at[NAMES_AGENT_TYPES]; /* the latest of them */
    int64_t seen_ms;        /* when that advert came */
    int64_t joined_ms;
    int lost;               /* 1 once declared lost, until it advertises again */
} pool_host;

typedef struct pool pool;

typedef enum {
    POOL_JOINED = 0,   /* a host not known before */
    POOL_UPDATED,      /* a known, live host */
    POOL_REJOINED,     /* a lost host advertising again */
    POOL_RESTARTED,    /* a live host with a new nonce: its old instances are gone */
    POOL_NO_ROOM       /* the table is full (POOL_MAX_HOSTS): ignored */
} pool_event;

/* pool_create returns NULL only when out of memory; pool_destroy takes NULL. */
pool *pool_create(int64_t lost_ms);
void pool_destroy(pool *p);

/* An advert came at now_ms. For POOL_RESTARTED the host's previous advert
 * is copied into *previous (when not NULL) so the caller can declare its
 * instances gone. */
pool_event pool_advert(pool *p, const hostad *ad, int64_t now_ms, hostad *previous);

/* Chooses a host for one agent of type and reserves its slot. Returns the
 * host id (borrowed, valid until the next call that changes the pool), or
 * NULL when no host has room. */
const char *pool_place(pool *p, int type, int64_t now_ms);

/* Free slots for type across the live hosts (what pool_place could give). */
int pool_room(const pool *p, int type, int64_t now_ms);

/* Declares lost the hosts silent longer than lost_ms at now_ms: calls
 * lost(ctx, host) once for each (the host is borrowed for the call).
 * Returns how many. */
int pool_expire(pool *p, int64_t now_ms, void (*lost)(void *ctx, const pool_host *h), void *ctx);

/* The hosts known (lost ones included), for views: n and each by index. */
int pool_count(const pool *p);
const pool_host *pool_at(const pool *p, int i);

/* The host whose last advert names instance; NULL when none. */
const pool_host *pool_owner(const pool *p, const char *instance);

/* Slots a host uses now: its running agents and its reservations. */
int pool_host_used(const pool_host *h);

#endif
