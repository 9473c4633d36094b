/* The monitor's table of agent instances: who spoke last when, of which
 * type, working on what. Pure: the time and what counts as "holding work"
 * are the caller's.
 *
 * Anyone may publish a heartbeat with a new instance name, so the table is
 * bounded (cap slots, set at creation) and no slot is kept forever:
 *
 *   - agents_sweep drops every instance silent for idle_ms that holds no
 *     work (the caller's holds() says whether the requirement an entry
 *     names is still in flight);
 *   - when the table is full and a new instance speaks, the idle instance
 *     heard longest ago gives way to it (AGENTS_EVICTED);
 *   - an instance that holds work is never dropped: when every slot holds
 *     work the newcomer is not tracked (AGENTS_FULL) and the caller says so.
 *
 * A flood of one-off names therefore costs the oldest idle entries, never
 * the agents doing the work, and never hides a real agent for good. The
 * cost is one linear scan of at most cap entries per call (512 by default:
 * a few microseconds), which keeps the table a plain array the dashboard
 * can read as it is. */
#ifndef MONITOR_AGENTS_H
#define MONITOR_AGENTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char instance[64];
    int type;
    int64_t last_seen_ms;
    char requirement[64];   /* what it works on, "" when idle */
} agent_entry;

typedef struct agents agents;

/* Whether requirement (never "") is work still in flight. */
typedef int (*agents_holds_fn)(const char *requirement, void *arg);

typedef enum {
    AGENTS_SEEN = 0,   /* an instance already tracked */
    AGENTS_ADDED,      /* a new one, in a free slot */
    AGENTS_EVICTED,    /* a new one, in the slot of an idle one (named in evicted) */
    AGENTS_FULL        /* a new one, not tracked: every slot holds work */
} agents_result;

/* cap >= 1 slots; idle_ms: how long an instance without work is kept. */
agents *agents_create(int cap, int64_t idle_ms);
void agents_destroy(agents *a);

/* Records that instance spoke at now; type 0 keeps the known type; a
 * requirement (NULL or "": none) replaces what it works on. holds may be
 * NULL (nothing is held). evicted (may be NULL) gets the instance that gave
 * way on AGENTS_EVICTED. */
agents_result agents_note(agents *a, const char *instance, int type, const char *requirement, int64_t now,
                          agents_holds_fn holds, void *arg, char *evicted, size_t len);

/* Marks instance as seen at now if it is tracked (no new entry). */
void agents_touch(agents *a, const char *instance, int64_t now);

/* Drops the instances silent for idle_ms that hold no work. Returns how
 * many were dropped. */
int agents_sweep(agents *a, int64_t now, agents_holds_fn holds, void *arg);

/* The tracked instances, in no particular order: borrowed until the next
 * call that changes the table. */
const agent_entry *agents_all(const agents *a, int *n);
/* The entry of instance, or NULL. Borrowed likewise. */
const agent_entry *agents_find(const agents *a, const char *instance);
int agents_cap(const agents *a);

#endif
