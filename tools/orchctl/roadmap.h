/* A Markdown roadmap (docs/roadmap.md has the format and an example):
 *
 *   ## Phase 2.1 - Inventory
 *   ### REQ-042: Add inventory transaction API
 *   - Status: Pending
 *   - Priority: HIGH
 *   - Agent: roy
 *   - Depends on: REQ-041
 *   - Files: src/api/transactions.ts, tests/api/transactions.test.ts
 *   - Estimated tokens: 40000
 *   - Acceptance:
 *     - POST /api/transactions endpoint works
 *
 * Parsing keeps where each requirement's Status line is, so that writing the
 * statuses back changes those values and nothing else, byte for byte. Pure. */
#ifndef ORCHCTL_ROADMAP_H
#define ORCHCTL_ROADMAP_H

#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct {
    /* Every value as written, whole (malloc'd, "" when absent): nothing is
     * cut here; what is too long or not an id is refused at intake, naming
     * the field. */
    char *id, *title, *status, *priority, *agent, *phase, *sim;
    long long est_tokens;
    int has_est;                    /* an Estimated tokens line was read */
    char **deps, **files, **criteria;
    int ndeps, nfiles, ncriteria;
    size_t status_at, status_len;   /* where the Status value is in the text; len 0: no Status line */
    int line;                       /* of its heading, 1-based */
    /* Why the item cannot be submitted as written, naming the line and
     * the field (a NUL byte in a value, which would cut it short; an
     * estimate that is not a whole number); NULL when nothing is wrong.
     * The reason token for it is problem_reason. */
    char *problem;
    const char *problem_reason;
} rm_item;

typedef struct {
    rm_item *items;
    int n;
} roadmap;

/* Returns 0, or -1 with the line and problem in err. */
int roadmap_parse(const char *text, size_t len, roadmap *out, char *err, size_t errlen);
void roadmap_free(roadmap *r);

/* Whether the item is to be submitted: its status is Pending or New (any
 * case). */
int roadmap_item_pending(const rm_item *it);

/* The seed's JSON object for one item (malloc'd). */
char *roadmap_item_json(const rm_item *it);

/* The seed's JSON array of the pending items without a problem, for
 * intake; NULL when there are none. */
char *roadmap_pending_json(const roadmap *r);

/* text with each item's Status value replaced by status_of(id) (NULL keeps
 * it); everything else unchanged. malloc'd; *changed counts replacements. */
char *roadmap_with_status(const char *text, size_t len, const roadmap *r,
                          const char *(*status_of)(const char *id, void *arg), void *arg, int *changed);

/* The roadmap's word for a requirement's state, from orch.status's answer
 * (its "status" and "blockedBy"): Complete, In Progress, In Review,
 * Merging, Escalated, "Blocked by A, B", Ready; "" when it has no status.
 * A split requirement's word comes from its parts, which the caller reads.
 * Written into buf (len bytes); returns buf. */
const char *roadmap_state_word(const cJSON *status, char *buf, size_t len);

#endif
