/* What the scheduler's decisions must write, in the order that keeps a crash
 * from losing or doubling a dispatch, as a pure plan (no NATS in here).
 *
 * The core records a decision before it is published: it saves a state
 * (DISPATCHED), asks for the publish (requirements.<type>.<id>), then saves
 * the state again ("published"). Paying a round trip for each of those was
 * what made the scheduler slow (docs/performance.md), so the adapter
 * collects a batch's writes here and flushes them in three phases, waiting
 * once per phase:
 *
 *   1. the latest value of every key, except that a key with publishes
 *      waiting is written as it was just before its latest publish was
 *      asked for (the decision, not yet "published");
 *   2. the publishes, in the order they were asked for, of keys whose
 *      decision is stored (and those tied to no key);
 *   3. the latest value of each key whose publishes were all stored in 2.
 *
 * Writes to one key coalesce: only its latest value is written. Whatever
 * fails stays in the outbox and the next flush tries it again, with the same
 * message ids, so JetStream drops a copy that was in fact stored.
 *
 * A publish that can never be stored (too large, a subject no stream takes)
 * must not stay for ever: it would hold back every batch after it. The
 * outbox cannot see why a publish failed, only whether, so it tells a
 * permanent failure from an outage by company: a message that failed
 * OUTBOX_GIVE_UP flushes while other publishes of the same phase were
 * stored is given up and listed by outbox_dropped() after that flush; its
 * key's later values are written as usual, so whoever reads the list must
 * act on it (the scheduler reports it; the monitor's stuck rule releases
 * work that never arrived). The list is read after the flush, not told
 * during it, so the reader may publish its report through the outbox.
 * In an outage everything fails and nothing is given up.
 * The scheduler checks what it knows to be too large before it asks for a
 * publish; this is the net under that. */
#ifndef SCHED_OUTBOX_H
#define SCHED_OUTBOX_H

#include <stddef.h>

typedef struct outbox outbox;

/* How a flush reaches the world; the adapter implements it with
 * asynchronous publishes, the unit tests with a recorder. Slots number the
 * operations of one phase from 0. */
typedef struct {
    void *ctx;
    void (*begin)(void *ctx, int n_slots);
    void (*write)(void *ctx, int slot, int bucket, const char *key, const void *data, size_t len);
    void (*publish)(void *ctx, int slot, const char *subject, const char *msg_id, const void *data, size_t len,
                    const char *content_type);
    void (*wait)(void *ctx);                 /* until every slot of the phase is resolved */
    int (*ok)(void *ctx, int slot);          /* after wait: 1 when stored */
} outbox_io;

/* A message a flush gave up (see the top). */
typedef struct {
    char *key;         /* the key it was tied to; NULL: none */
    char *subject;
    char *msg_id;      /* NULL: none */
    size_t len;        /* of its data */
} outbox_drop;

#define OUTBOX_GIVE_UP 8

outbox *outbox_create(void);
void outbox_destroy(outbox *o);

/* The new value of key in bucket (copied). */
void outbox_put(outbox *o, int bucket, const char *key, const void *data, size_t len);

/* A message to publish once key's current value is stored; key NULL: tied
 * to nothing. msg_id and content_type may be NULL. Copied. */
void outbox_publish(outbox *o, int bucket, const char *key, const char *subject, const char *msg_id,
                    const void *data, size_t len, const char *content_type);

/* Runs the three phases (a phase with nothing to do costs nothing). Returns
 * the number of keys and messages still waiting because something failed. */
int outbox_flush(outbox *o, const outbox_io *io);

/* Keys and messages waiting. */
int outbox_pending(const outbox *o);

/* The messages the last outbox_flush gave up, in the order they were asked
 * for, into *out (borrowed until the next flush or outbox_destroy; calls
 * that add to the outbox leave it alone). Returns how many; 0 before any
 * flush. */
int outbox_dropped(const outbox *o, const outbox_drop **out);

#endif
