/* A Host Listener's advert: what one agent host says of itself every few
 * seconds on hosts.<host id> (docs/deployment.md, "A pool of agent hosts").
 * The listener builds it, the scheduler's pool and `orchctl hosts` read it.
 * One wire format, here (JSON, cJSON):
 *
 *   {"host":"build-2","nonce":"m1x9qz","slots":4,"memoryMb":16000,
 *    "cap":{"backend":2},"running":{"backend":1},
 *    "instances":["backend-build-2-m1x9qz-1"]}
 *
 * host: the host id, a subject token (it is the last token of the subject
 * and must match it); nonce: new at each start of the listener, so a host
 * that restarted is told from one that only went quiet; slots: agents the
 * host runs at most; cap: a lower bound for some types (absent: slots);
 * running and instances: what runs now. Pure: the caller gives the bytes
 * and the time. Everything is bounded: a forged or huge advert is refused
 * with a reason, never trusted in part. */
#ifndef ORCH_HOSTAD_H
#define ORCH_HOSTAD_H

#include <stddef.h>

#include "names.h"

#define HOSTAD_ID_MAX 32        /* host id: 1..32 of [A-Za-z0-9_-] */
#define HOSTAD_NONCE_MAX 16
#define HOSTAD_SLOTS_MAX 1000
#define HOSTAD_INSTANCES_MAX 128
#define HOSTAD_INSTANCE_LEN 64  /* with the NUL */
#define HOSTAD_BYTES_MAX (16 << 10)
/* the subject: hosts.<host id> (names.h, NAMES_FAM_HOSTS) */

typedef struct {
    char host[HOSTAD_ID_MAX + 1];
    char nonce[HOSTAD_NONCE_MAX + 1];
    int slots;
    long long memory_mb;                    /* 0: not said */
    int cap[NAMES_AGENT_TYPES];             /* 0: no own bound (slots) */
    int running[NAMES_AGENT_TYPES];
    int n_instances;
    char instances[HOSTAD_INSTANCES_MAX][HOSTAD_INSTANCE_LEN];
} hostad;

/* The advert as JSON; the caller frees it. NULL only when out of memory. */
char *hostad_to_json(const hostad *a);

/* Reads an advert of len bytes into *out. subject_host, when not NULL, is
 * the host id the subject names: the body must name the same. Returns 0,
 * or -1 with the reason in err (len errlen). */
int hostad_from_json(const char *buf, size_t len, const char *subject_host, hostad *out, char *err, size_t errlen);

/* A host id from any text (a hostname): characters outside [A-Za-z0-9_-]
 * become '-', cut to HOSTAD_ID_MAX; "host" for an empty input. */
void hostad_sanitise_id(const char *in, char out[HOSTAD_ID_MAX + 1]);

#endif
